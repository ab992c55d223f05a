/* Consent policies: parsing rules, canonical form and digest, scope checks;
 * the consent rules' pure evaluator (lv_consent_evaluate).  Example
 * policies are read from policies/ in the source tree. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "harness.h"
#include "learnvault/consent.h"
#include "learnvault/policy.h"
#include "learnvault/util.h"

/* A small, valid policy using every field, including the optional ones. */
static const char BASE[] =
	"{\"id\":\"base-policy\",\"version\":1,\"title\":\"Test policy\","
	"\"description\":\"Used by the tests: \\\"quotes\\\", a slash /, caf\\u00e9,\\nand a second line.\","
	"\"language\":\"en-GB\","
	"\"controller\":{\"name\":\"Test School\",\"contact\":\"mailto:privacy@school.example\","
	"\"address\":\"1 Test Road\"},"
	"\"legal_basis\":\"dpv:Consent\",\"purpose\":\"https://w3id.org/dpv#ServiceOptimisation\","
	"\"data\":{\"verbs\":[\"http://adlnet.gov/expapi/verbs/completed\","
	"\"http://adlnet.gov/expapi/verbs/passed\"],"
	"\"activity_types\":[\"http://adlnet.gov/expapi/activities/assessment\"],"
	"\"result_fields\":[\"result.score.scaled\",\"result.success\"]},"
	"\"operations\":[\"count\",\"mean\"],"
	"\"privacy\":{\"epsilon_per_query_max\":0.5,\"epsilon_budget\":2,\"budget_window_days\":30,"
	"\"min_cohort\":10},"
	"\"retention_days\":365,\"consent_valid_days\":180,\"guardian_below_age\":13,"
	"\"recipients\":[\"Test School teachers (noisy group results only)\"],"
	"\"jurisdiction\":[\"GB\",\"EU\"],\"withdrawal\":\"Email privacy@school.example.\"}";

/* BASE in canonical form and its SHA-256, both computed independently with
 * Python: json.dumps(json.loads(BASE), sort_keys=True, separators=(',', ':'),
 * ensure_ascii=False) and hashlib.sha256. */
static const char BASE_CANONICAL[] =
	"{\"consent_valid_days\":180,\"controller\":{\"address\":\"1 Test Road\","
	"\"contact\":\"mailto:privacy@school.example\",\"name\":\"Test School\"},"
	"\"data\":{\"activity_types\":[\"http://adlnet.gov/expapi/activities/assessment\"],"
	"\"result_fields\":[\"result.score.scaled\",\"result.success\"],"
	"\"verbs\":[\"http://adlnet.gov/expapi/verbs/completed\",\"http://adlnet.gov/expapi/verbs/passed\"]},"
	"\"description\":\"Used by the tests: \\\"quotes\\\", a slash /, caf\xc3\xa9"
	",\\nand a second line.\",\"guardian_below_age\":13,\"id\":\"base-policy\","
	"\"jurisdiction\":[\"GB\",\"EU\"],\"language\":\"en-GB\",\"legal_basis\":\"dpv:Consent\","
	"\"operations\":[\"count\",\"mean\"],\"privacy\":{\"budget_window_days\":30,\"epsilon_budget\":2,"
	"\"epsilon_per_query_max\":0.5,\"min_cohort\":10},"
	"\"purpose\":\"https://w3id.org/dpv#ServiceOptimisation\","
	"\"recipients\":[\"Test School teachers (noisy group results only)\"],\"retention_days\":365,"
	"\"title\":\"Test policy\",\"version\":1,\"withdrawal\":\"Email privacy@school.example.\"}";
static const char BASE_SHA256[] = "f1356d2b4016a786664a47c9d23a426ab70dccba69d75386ef9167ef04b8519f";

static const char *const EXAMPLES[] = {"course-improvement", "research-study", "tutoring-personalisation"};

/* ---- helpers ---- */

static struct lv_policy *parse_ok(const char *text, size_t len)
{
	struct lv_policy *p = NULL;
	char err[LV_POLICY_ERR_LEN];
	enum lv_status st = lv_policy_parse(text, len, &p, err);
	ck_assert_msg(st == LV_OK, "parse failed (%s): %s", lv_status_str(st), err);
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(err, "");
	return p;
}

static struct lv_policy *parse_str_ok(const char *text)
{
	return parse_ok(text, strlen(text));
}

/* Expects @text to be rejected with @want and a message containing @msg. */
static void expect_reject(const char *text, size_t len, enum lv_status want, const char *msg)
{
	struct lv_policy *p = (struct lv_policy *)&p; /* must be cleared */
	char err[LV_POLICY_ERR_LEN];
	enum lv_status st = lv_policy_parse(text, len, &p, err);
	ck_assert_msg(st == want, "want %s, got %s (%s)", lv_status_str(want), lv_status_str(st), err);
	ck_assert_ptr_null(p);
	ck_assert_msg(strstr(err, msg) != NULL, "message \"%s\" lacks \"%s\"", err, msg);
}

/* BASE with the member at dotted @path replaced by the JSON @value (added
 * when absent), or removed when @value is NULL.  Caller frees with free(). */
static char *mutate(const char *path, const char *value)
{
	char name[128];
	cJSON *root = cJSON_Parse(BASE);
	cJSON *obj = root;
	char *part = name;
	char *dot;
	ck_assert_ptr_nonnull(root);
	ck_assert_uint_lt(strlen(path), sizeof name);
	memcpy(name, path, strlen(path) + 1);
	while ((dot = strchr(part, '.')) != NULL) {
		*dot = '\0';
		obj = cJSON_GetObjectItemCaseSensitive(obj, part);
		ck_assert_ptr_nonnull(obj);
		part = dot + 1;
	}
	if (!value) {
		ck_assert_ptr_nonnull(cJSON_GetObjectItemCaseSensitive(obj, part));
		cJSON_DeleteItemFromObjectCaseSensitive(obj, part);
	} else {
		cJSON *v = cJSON_Parse(value);
		ck_assert_msg(v != NULL, "test value %s is not JSON", value);
		if (cJSON_GetObjectItemCaseSensitive(obj, part))
			ck_assert(cJSON_ReplaceItemInObjectCaseSensitive(obj, part, v));
		else
			ck_assert(cJSON_AddItemToObject(obj, part, v));
	}
	char *printed = cJSON_PrintUnformatted(root);
	ck_assert_ptr_nonnull(printed);
	char *out = strdup(printed);
	ck_assert_ptr_nonnull(out);
	cJSON_free(printed);
	cJSON_Delete(root);
	return out;
}

/* @text with the first @from replaced by @to.  Caller frees. */
static char *replace(const char *text, const char *from, const char *to)
{
	const char *at = strstr(text, from);
	ck_assert_msg(at != NULL, "\"%s\" not in text", from);
	size_t head = (size_t)(at - text);
	size_t n = strlen(text) - strlen(from) + strlen(to);
	char *out = malloc(n + 1);
	ck_assert_ptr_nonnull(out);
	memcpy(out, text, head);
	memcpy(out + head, to, strlen(to));
	memcpy(out + head + strlen(to), at + strlen(from), strlen(at + strlen(from)) + 1);
	return out;
}

static void digest_of(const char *text, unsigned char out[LV_POLICY_DIGEST_LEN])
{
	struct lv_policy *p = parse_str_ok(text);
	lv_policy_digest(p, out);
	lv_policy_destroy(p);
}

static char *read_src(const char *rel, size_t *len)
{
	char *data = NULL;
	enum lv_status st = util_read_file(th_src(rel), LV_POLICY_MAX_TEXT, &data, len);
	ck_assert_msg(st == LV_OK, "cannot read %s: %s", th_src(rel), lv_status_str(st));
	return data;
}

/* ---- examples ---- */

START_TEST(example_parses)
{
	char rel[128];
	size_t len;
	snprintf(rel, sizeof rel, "policies/%s.json", EXAMPLES[_i]);
	char *text = read_src(rel, &len);
	struct lv_policy *p = parse_ok(text, len);

	/* what the project promises of its shipped examples */
	ck_assert_str_eq(lv_policy_id(p), EXAMPLES[_i]);
	ck_assert_uint_ge(lv_policy_version(p), 1);
	ck_assert(lv_policy_epsilon_per_query_max(p) >= 0.5 && lv_policy_epsilon_per_query_max(p) <= 1);
	ck_assert(lv_policy_epsilon_budget(p) >= 2 && lv_policy_epsilon_budget(p) <= 5);
	ck_assert(lv_policy_budget_window_days(p) >= 30 && lv_policy_budget_window_days(p) <= 90);
	ck_assert(lv_policy_min_cohort(p) >= 10 && lv_policy_min_cohort(p) <= 20);
	ck_assert(lv_policy_guardian_below_age(p) >= 13);
	ck_assert(strncmp(lv_policy_purpose(p), "https://w3id.org/dpv", 20) == 0);
	ck_assert(strncmp(lv_policy_controller_contact(p), "mailto:", 7) == 0);
	ck_assert_ptr_nonnull(lv_policy_language(p));
	ck_assert_ptr_nonnull(lv_policy_controller_address(p));
	ck_assert_uint_ge(lv_policy_recipient_count(p), 1);
	ck_assert_uint_ge(lv_policy_verb_count(p), 1);
	ck_assert(lv_policy_allows_operation(p, LV_POLICY_OP_COUNT));
	ck_assert(strstr(lv_policy_withdrawal(p), "Withdraw") != NULL);

	/* the canonical text is itself a policy with the same digest */
	unsigned char d1[LV_POLICY_DIGEST_LEN], d2[LV_POLICY_DIGEST_LEN];
	char *canon = lv_policy_canonical_text(p);
	ck_assert_ptr_nonnull(canon);
	ck_assert_uint_lt(strlen(canon), len); /* whitespace went */
	lv_policy_digest(p, d1);
	digest_of(canon, d2);
	ck_assert_mem_eq(d1, d2, sizeof d1);
	free(canon);
	lv_policy_destroy(p);
	free(text);
}
END_TEST

START_TEST(every_file_in_policies_parses)
{
	DIR *d = opendir(th_src("policies"));
	struct dirent *e;
	unsigned found = 0;
	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);
		char rel[512];
		size_t len;
		if (n <= 5 || strcmp(e->d_name + n - 5, ".json") != 0)
			continue;
		snprintf(rel, sizeof rel, "policies/%s", e->d_name);
		char *text = read_src(rel, &len);
		struct lv_policy *p = parse_ok(text, len);
		/* policies/<id>.json */
		ck_assert_uint_eq(strlen(lv_policy_id(p)), n - 5);
		ck_assert(strncmp(lv_policy_id(p), e->d_name, n - 5) == 0);
		lv_policy_destroy(p);
		free(text);
		found++;
	}
	closedir(d);
	ck_assert_uint_ge(found, 3);
}
END_TEST

/* ---- rules: one failing case per rule ---- */

struct bad_case {
	const char *path;
	const char *value; /* JSON; NULL removes the field */
	enum lv_status want;
	const char *msg;
};

static const struct bad_case BAD[] = {
	/* unknown fields, named; keys are case-sensitive */
	{"extra", "1", LV_ERR_INVALID, "unknown field \"extra\""},
	{"ID", "\"base-policy\"", LV_ERR_INVALID, "unknown field \"ID\""},
	{"controller.phone", "\"+1 555 0100\"", LV_ERR_INVALID, "controller: unknown field \"phone\""},
	{"data.statements", "[]", LV_ERR_INVALID, "data: unknown field \"statements\""},
	{"privacy.delta", "0.000001", LV_ERR_INVALID, "privacy: unknown field \"delta\""},
	/* wrong types */
	{"id", "1", LV_ERR_INVALID, "id: must be a string"},
	{"version", "\"1\"", LV_ERR_INVALID, "version: must be an integer"},
	{"title", "5", LV_ERR_INVALID, "title: must be a string"},
	{"description", "[\"a\"]", LV_ERR_INVALID, "description: must be a string"},
	{"language", "1", LV_ERR_INVALID, "language: must be a string"},
	{"controller", "\"Test School\"", LV_ERR_INVALID, "controller: must be an object"},
	{"controller.name", "null", LV_ERR_INVALID, "controller.name: must be a string"},
	{"legal_basis", "[\"dpv:Consent\"]", LV_ERR_INVALID, "legal_basis: must be a string"},
	{"purpose", "{}", LV_ERR_INVALID, "purpose: must be a string"},
	{"data", "[]", LV_ERR_INVALID, "data: must be an object"},
	{"data.verbs", "\"http://adlnet.gov/expapi/verbs/completed\"", LV_ERR_INVALID, "data.verbs: must be an array"},
	{"data.verbs", "[1]", LV_ERR_INVALID, "data.verbs[0]: must be a string"},
	{"operations", "\"count\"", LV_ERR_INVALID, "operations: must be an array"},
	{"privacy", "[]", LV_ERR_INVALID, "privacy: must be an object"},
	{"privacy.min_cohort", "\"10\"", LV_ERR_INVALID, "privacy.min_cohort: must be an integer"},
	{"privacy.epsilon_budget", "\"2\"", LV_ERR_INVALID, "privacy.epsilon_budget: must be a number"},
	{"retention_days", "true", LV_ERR_INVALID, "retention_days: must be an integer"},
	{"recipients", "\"Test School\"", LV_ERR_INVALID, "recipients: must be an array"},
	{"jurisdiction", "\"US\"", LV_ERR_INVALID, "jurisdiction: must be an array"},
	{"withdrawal", "false", LV_ERR_INVALID, "withdrawal: must be a string"},
	/* id form */
	{"id", "\"Base-Policy\"", LV_ERR_INVALID, "id: must match [a-z0-9-]{1,64}"},
	{"id", "\"base_policy\"", LV_ERR_INVALID, "id: must match"},
	{"id", "\"base policy\"", LV_ERR_INVALID, "id: must match"},
	{"id", "\"../etc\"", LV_ERR_INVALID, "id: must match"},
	{"id", "\"\"", LV_ERR_INVALID, "id: must not be empty"},
	{"id", "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"", LV_ERR_INVALID, "id: must match"},
	/* version */
	{"version", "0", LV_ERR_INVALID, "version: must be an integer from 1 to 2147483647"},
	{"version", "-1", LV_ERR_INVALID, "version: must be an integer"},
	{"version", "1.5", LV_ERR_INVALID, "version: must be an integer"},
	{"version", "2147483648", LV_ERR_INVALID, "version: must be an integer"},
	/* text */
	{"title", "\"\"", LV_ERR_INVALID, "title: must not be empty"},
	{"title", "\"   \"", LV_ERR_INVALID, "title: must not be empty"},
	{"title", "\"two\\nlines\"", LV_ERR_INVALID, "title: control characters"},
	{"description", "\"a\\tb\"", LV_ERR_INVALID, "description: control characters"},
	{"description", "\"a\\u007fb\"", LV_ERR_INVALID, "description: control characters"},
	{"withdrawal", "\"bad \xff byte\"", LV_ERR_INVALID, "withdrawal: not valid UTF-8"},
	{"withdrawal", "\"surrogate \xed\xa0\x80\"", LV_ERR_INVALID, "withdrawal: not valid UTF-8"},
	{"withdrawal", "\"overlong \xc0\xaf\"", LV_ERR_INVALID, "withdrawal: not valid UTF-8"},
	{"recipients", "[\"\"]", LV_ERR_INVALID, "recipients[0]: must not be empty"},
	{"recipients", "[]", LV_ERR_INVALID, "recipients: must have at least 1 item"},
	{"recipients", "[\"A\",\"A\"]", LV_ERR_INVALID, "recipients[1]: repeats item 0"},
	/* language */
	{"language", "\"english\"", LV_ERR_INVALID, "language: must be a BCP 47"},
	{"language", "\"en_US\"", LV_ERR_INVALID, "language: must be a BCP 47"},
	{"language", "\"en-\"", LV_ERR_INVALID, "language: must be a BCP 47"},
	/* controller */
	{"controller.contact", "\"privacy@school.example\"", LV_ERR_INVALID, "controller.contact: must be a mailto:"},
	{"controller.contact", "\"http://school.example/privacy\"", LV_ERR_INVALID, "controller.contact: must be"},
	{"controller.contact", "\"mailto:school.example\"", LV_ERR_INVALID, "controller.contact: must be"},
	{"controller.contact", "\"tel:call-us\"", LV_ERR_INVALID, "controller.contact: must be"},
	{"controller.contact", "\"https://\"", LV_ERR_INVALID, "controller.contact: must be"},
	{"controller.name", "\"\"", LV_ERR_INVALID, "controller.name: must not be empty"},
	/* legal basis */
	{"legal_basis", "\"consent\"", LV_ERR_INVALID, "legal_basis: not a known legal basis"},
	{"legal_basis", "\"dpv:consent\"", LV_ERR_INVALID, "legal_basis: not a known legal basis"},
	{"legal_basis", "\"eu-gdpr:A6-1-g\"", LV_ERR_INVALID, "legal_basis: not a known legal basis"},
	/* purpose */
	{"purpose", "\"https://example.org/purposes#Analytics\"", LV_ERR_INVALID, "purpose: must be a DPV term IRI"},
	{"purpose", "\"http://w3id.org/dpv#ServiceOptimisation\"", LV_ERR_INVALID, "purpose: must be a DPV term IRI"},
	{"purpose", "\"https://w3id.org/dpv#\"", LV_ERR_INVALID, "purpose: must be a DPV term IRI"},
	{"purpose", "\"https://w3id.org/dpvx#Thing\"", LV_ERR_INVALID, "purpose: must be a DPV term IRI"},
	{"purpose", "\"https://w3id.org/dpv/sector/education#\"", LV_ERR_INVALID, "purpose: must be a DPV term IRI"},
	{"purpose", "\"dpv:ServiceOptimisation\"", LV_ERR_INVALID, "purpose: must be a DPV term IRI"},
	/* IRIs in the data scope */
	{"data.verbs", "[\"completed\"]", LV_ERR_INVALID, "data.verbs[0]: must be an absolute IRI"},
	{"data.verbs", "[\"http://\"]", LV_ERR_INVALID, "data.verbs[0]: must be an absolute IRI"},
	{"data.verbs", "[\"http:\"]", LV_ERR_INVALID, "data.verbs[0]: must be an absolute IRI"},
	{"data.verbs", "[\"1http://x.example/v\"]", LV_ERR_INVALID, "data.verbs[0]: must be an absolute IRI"},
	{"data.verbs", "[\"http://adlnet.gov/expapi/verbs/com pleted\"]", LV_ERR_INVALID, "must be an absolute IRI"},
	{"data.verbs", "[\"http://x.example/%zz\"]", LV_ERR_INVALID, "data.verbs[0]: must be an absolute IRI"},
	{"data.verbs", "[\"http://x.example/<v>\"]", LV_ERR_INVALID, "data.verbs[0]: must be an absolute IRI"},
	{"data.verbs", "[]", LV_ERR_INVALID, "data.verbs: must have at least 1 item"},
	{"data.verbs", "[\"http://x.example/v\",\"http://x.example/v\"]", LV_ERR_INVALID, "data.verbs[1]: repeats item 0"},
	{"data.activity_types", "[\"/activities/assessment\"]", LV_ERR_INVALID, "data.activity_types[0]: must be an absolute IRI"},
	{"data.activity_types", "[]", LV_ERR_INVALID, "data.activity_types: must have at least 1 item"},
	/* result fields and operations */
	{"data.result_fields", "[\"result.response\"]", LV_ERR_INVALID, "data.result_fields[0]: not a known result field"},
	{"data.result_fields", "[\"result.score\"]", LV_ERR_INVALID, "not a known result field"},
	{"data.result_fields", "[\"result.success\",\"result.success\"]", LV_ERR_INVALID, "data.result_fields[1]: repeats"},
	{"operations", "[\"count\",\"median\"]", LV_ERR_INVALID, "operations[1]: not a known operation"},
	{"operations", "[\"COUNT\"]", LV_ERR_INVALID, "operations[0]: not a known operation"},
	{"operations", "[]", LV_ERR_INVALID, "operations: must have at least 1 item"},
	{"operations", "[\"mean\",\"mean\"]", LV_ERR_INVALID, "operations[1]: repeats item 0"},
	/* epsilon rules */
	{"privacy.epsilon_per_query_max", "0", LV_ERR_INVALID, "privacy.epsilon_per_query_max: must be a number greater than 0"},
	{"privacy.epsilon_per_query_max", "-0.5", LV_ERR_INVALID, "privacy.epsilon_per_query_max: must be a number greater than 0"},
	{"privacy.epsilon_budget", "0", LV_ERR_INVALID, "privacy.epsilon_budget: must be a number greater than 0"},
	{"privacy.epsilon_budget", "100.5", LV_ERR_INVALID, "privacy.epsilon_budget: must be a number greater than 0 and at most 100"},
	{"privacy.epsilon_per_query_max", "2.5", LV_ERR_INVALID, "privacy.epsilon_per_query_max: must not exceed privacy.epsilon_budget"},
	/* cohort, windows, days, ages */
	{"privacy.min_cohort", "0", LV_ERR_INVALID, "privacy.min_cohort: must be an integer from 1"},
	{"privacy.min_cohort", "-10", LV_ERR_INVALID, "privacy.min_cohort: must be an integer from 1"},
	{"privacy.min_cohort", "9.5", LV_ERR_INVALID, "privacy.min_cohort: must be an integer"},
	{"privacy.budget_window_days", "0", LV_ERR_INVALID, "privacy.budget_window_days: must be an integer from 1 to 3660"},
	{"privacy.budget_window_days", "3661", LV_ERR_INVALID, "privacy.budget_window_days: must be an integer"},
	{"retention_days", "0", LV_ERR_INVALID, "retention_days: must be an integer from 1 to 3660"},
	{"retention_days", "3661", LV_ERR_INVALID, "retention_days: must be an integer"},
	{"consent_valid_days", "0", LV_ERR_INVALID, "consent_valid_days: must be an integer from 1 to 1830"},
	{"consent_valid_days", "1831", LV_ERR_INVALID, "consent_valid_days: must be an integer"},
	{"guardian_below_age", "-1", LV_ERR_INVALID, "guardian_below_age: must be an integer from 0 to 21"},
	{"guardian_below_age", "22", LV_ERR_INVALID, "guardian_below_age: must be an integer from 0 to 21"},
	{"guardian_below_age", "12.5", LV_ERR_INVALID, "guardian_below_age: must be an integer"},
	/* jurisdiction */
	{"jurisdiction", "[\"usa\"]", LV_ERR_INVALID, "jurisdiction[0]: must be an ISO 3166 code"},
	{"jurisdiction", "[\"us\"]", LV_ERR_INVALID, "jurisdiction[0]: must be an ISO 3166 code"},
	{"jurisdiction", "[\"US-\"]", LV_ERR_INVALID, "jurisdiction[0]: must be an ISO 3166 code"},
	{"jurisdiction", "[\"US-CALI\"]", LV_ERR_INVALID, "jurisdiction[0]: must be an ISO 3166 code"},
	{"jurisdiction", "[]", LV_ERR_INVALID, "jurisdiction: must have at least 1 item"},
};

START_TEST(rule_rejects)
{
	const struct bad_case *c = &BAD[_i];
	char *text = mutate(c->path, c->value);
	expect_reject(text, strlen(text), c->want, c->msg);
	free(text);
}
END_TEST

static const char *const REQUIRED[] = {
	"id", "version", "title", "description", "controller", "controller.name", "controller.contact",
	"legal_basis", "purpose", "data", "data.verbs", "data.activity_types", "data.result_fields",
	"operations", "privacy", "privacy.epsilon_per_query_max", "privacy.epsilon_budget",
	"privacy.budget_window_days", "privacy.min_cohort", "retention_days", "consent_valid_days",
	"guardian_below_age", "recipients", "jurisdiction", "withdrawal",
};

START_TEST(required_field_missing)
{
	char msg[128];
	char *text = mutate(REQUIRED[_i], NULL);
	snprintf(msg, sizeof msg, "missing required field \"%s\"", REQUIRED[_i]);
	expect_reject(text, strlen(text), LV_ERR_INVALID, msg);
	free(text);
}
END_TEST

/* Values at the edge of each range, and optional fields left out, parse. */
struct good_case {
	const char *path;
	const char *value;
};

static const struct good_case GOOD[] = {
	{"language", NULL},
	{"controller.address", NULL},
	{"data.result_fields", "[]"},
	{"privacy.epsilon_per_query_max", "2"},
	{"privacy.epsilon_budget", "100"},
	{"privacy.epsilon_per_query_max", "0.000001"},
	{"privacy.min_cohort", "1"},
	{"privacy.budget_window_days", "3660"},
	{"retention_days", "1"},
	{"consent_valid_days", "1830"},
	{"guardian_below_age", "0"},
	{"guardian_below_age", "21"},
	{"version", "2147483647"},
	{"id", "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\""},
	{"legal_basis", "\"eu-gdpr:A6-1-a\""},
	{"legal_basis", "\"dpv:PublicInterest\""},
	{"purpose", "\"https://w3id.org/dpv/sector/education#SomeEducationPurpose\""},
	{"controller.contact", "\"https://school.example/privacy\""},
	{"controller.contact", "\"tel:+1-555-0100\""},
	{"jurisdiction", "[\"US-CA\",\"GB-SCT\",\"EU\"]"},
	{"language", "\"pt-BR\""},
	{"data.verbs", "[\"urn:x-school:verb:reviewed\",\"https://x.example/v%C3%A9rb\",\"https://x.example/vérb\"]"},
	{"operations", "[\"quantile\",\"histogram\",\"sum\",\"mean\",\"count\"]"},
};

START_TEST(rule_edges_accepted)
{
	char *text = mutate(GOOD[_i].path, GOOD[_i].value);
	struct lv_policy *p = parse_str_ok(text);
	lv_policy_destroy(p);
	free(text);
}
END_TEST

/* Rules the JSON layer enforces: only a strict reading of the text. */
START_TEST(raw_text_rejects)
{
	char *t;
	expect_reject("", 0, LV_ERR_INVALID, "not valid JSON");
	expect_reject("[]", 2, LV_ERR_INVALID, "must be a JSON object");
	expect_reject("null", 4, LV_ERR_INVALID, "must be a JSON object");
	expect_reject("{\"id\":", 6, LV_ERR_INVALID, "not valid JSON");

	/* anything after the object */
	size_t n = strlen(BASE);
	t = malloc(n + 3);
	ck_assert_ptr_nonnull(t);
	snprintf(t, n + 3, "%s x", BASE);
	expect_reject(t, n + 2, LV_ERR_INVALID, "not valid JSON");
	snprintf(t, n + 3, "%s{}", BASE);
	expect_reject(t, n + 2, LV_ERR_INVALID, "not valid JSON");
	free(t);

	/* duplicate fields, top level and nested */
	t = replace(BASE, "{\"id\":\"base-policy\"", "{\"id\":\"base-policy\",\"id\":\"other\"");
	expect_reject(t, strlen(t), LV_ERR_INVALID, "id: field given twice");
	free(t);
	t = replace(BASE, "\"min_cohort\":10", "\"min_cohort\":10,\"min_cohort\":1");
	expect_reject(t, strlen(t), LV_ERR_INVALID, "privacy.min_cohort: field given twice");
	free(t);

	/* numbers outside RFC 8259 that cJSON would accept */
	t = replace(BASE, "\"version\":1", "\"version\":01");
	expect_reject(t, strlen(t), LV_ERR_INVALID, "malformed number");
	free(t);
	t = replace(BASE, "\"version\":1", "\"version\":1.");
	expect_reject(t, strlen(t), LV_ERR_INVALID, "malformed number");
	free(t);
	t = replace(BASE, "\"epsilon_budget\":2", "\"epsilon_budget\":2e");
	expect_reject(t, strlen(t), LV_ERR_INVALID, "malformed number");
	free(t);
	t = replace(BASE, "\"epsilon_budget\":2", "\"epsilon_budget\":1e400");
	expect_reject(t, strlen(t), LV_ERR_INVALID, "privacy.epsilon_budget: must be a number");
	free(t);

	/* strings: NUL, \u0000 (cJSON would cut the string there), raw controls */
	t = replace(BASE, "Test policy", "Test\\u0000policy");
	expect_reject(t, strlen(t), LV_ERR_INVALID, "\\u0000");
	free(t);
	t = replace(BASE, "a second line", "a second\nline");
	expect_reject(t, strlen(t), LV_ERR_INVALID, "raw control character");
	free(t);
	t = replace(BASE, "Test policy", "Test#policy");
	t[strstr(t, "Test#policy") - t + 4] = '\0';
	expect_reject(t, strlen(BASE), LV_ERR_INVALID, "NUL byte");
	free(t);

	/* what cJSON lets through and tests/fuzz found in util_json_parse: a
	 * malformed \u escape read as U+0000 (the title would be cut to
	 * "Test"), and a control byte taken for whitespace between tokens */
	t = replace(BASE, "Test policy", "Test\\u00zzpolicy");
	expect_reject(t, strlen(t), LV_ERR_INVALID, "without four hex digits");
	free(t);
	t = replace(BASE, "Test policy", "Test\\u12");
	expect_reject(t, strlen(t), LV_ERR_INVALID, "without four hex digits");
	free(t);
	t = replace(BASE, "{\"id\":", "{\x10\"id\":");
	expect_reject(t, strlen(t), LV_ERR_INVALID, "a control character");
	free(t);

	/* escaped quote and backslash do not confuse the scanner */
	t = replace(BASE, "Test policy", "Test \\\\\\\"policy\\\\");
	struct lv_policy *p = parse_str_ok(t);
	ck_assert_str_eq(lv_policy_title(p), "Test \\\"policy\\");
	lv_policy_destroy(p);
	free(t);
}
END_TEST

START_TEST(null_and_no_err_buffer)
{
	struct lv_policy *p = (struct lv_policy *)&p;
	char err[LV_POLICY_ERR_LEN];
	ck_assert_int_eq(lv_policy_parse(NULL, 0, &p, err), LV_ERR_INVALID);
	ck_assert_ptr_null(p);
	/* a NULL message buffer is allowed */
	ck_assert_int_eq(lv_policy_parse("[]", 2, &p, NULL), LV_ERR_INVALID);
	ck_assert_ptr_null(p);
	ck_assert_int_eq(lv_policy_parse(BASE, strlen(BASE), &p, NULL), LV_OK);
	ck_assert_ptr_nonnull(p);
	lv_policy_destroy(p);
	lv_policy_destroy(NULL);
}
END_TEST

/* ---- size caps ---- */

START_TEST(oversize_text)
{
	size_t base = strlen(BASE);
	char *t = malloc(LV_POLICY_MAX_TEXT + 2);
	ck_assert_ptr_nonnull(t);
	memcpy(t, BASE, base);
	/* exactly at the cap (trailing whitespace) is fine */
	memset(t + base, ' ', LV_POLICY_MAX_TEXT - base);
	struct lv_policy *p = parse_ok(t, LV_POLICY_MAX_TEXT);
	lv_policy_destroy(p);
	/* one byte over is not */
	t[LV_POLICY_MAX_TEXT] = ' ';
	expect_reject(t, LV_POLICY_MAX_TEXT + 1, LV_ERR_TOO_LARGE, "longer than 65536 bytes");
	free(t);
}
END_TEST

static char *verb_array(unsigned n)
{
	struct buf b;
	buf_init(&b, 1 << 20);
	ck_assert_int_eq(buf_append_str(&b, "["), LV_OK);
	for (unsigned i = 0; i < n; i++)
		ck_assert_int_eq(buf_printf(&b, "%s\"http://x.example/verbs/v%u\"", i ? "," : "", i), LV_OK);
	ck_assert_int_eq(buf_append_str(&b, "]"), LV_OK);
	return buf_steal(&b);
}

START_TEST(oversize_array)
{
	char *arr = verb_array(LV_POLICY_MAX_ITEMS);
	char *t = mutate("data.verbs", arr);
	struct lv_policy *p = parse_str_ok(t);
	ck_assert_uint_eq(lv_policy_verb_count(p), LV_POLICY_MAX_ITEMS);
	ck_assert(lv_policy_covers_verb(p, "http://x.example/verbs/v63"));
	lv_policy_destroy(p);
	free(t);
	free(arr);

	arr = verb_array(LV_POLICY_MAX_ITEMS + 1);
	t = mutate("data.verbs", arr);
	expect_reject(t, strlen(t), LV_ERR_TOO_LARGE, "data.verbs: more than 64 items");
	free(t);
	free(arr);
}
END_TEST

static char *json_string_of(char fill, size_t n)
{
	char *s = malloc(n + 3);
	ck_assert_ptr_nonnull(s);
	s[0] = '"';
	memset(s + 1, fill, n);
	s[n + 1] = '"';
	s[n + 2] = '\0';
	return s;
}

START_TEST(oversize_string)
{
	char *v = json_string_of('a', LV_POLICY_MAX_STRING);
	char *t = mutate("description", v);
	struct lv_policy *p = parse_str_ok(t);
	lv_policy_destroy(p);
	free(t);
	free(v);

	v = json_string_of('a', LV_POLICY_MAX_STRING + 1);
	t = mutate("description", v);
	expect_reject(t, strlen(t), LV_ERR_TOO_LARGE, "description: longer than 4096 bytes");
	free(t);
	free(v);

	/* an IRI may be long, but not longer than any string */
	char *iri = malloc(LV_POLICY_MAX_STRING + 32);
	ck_assert_ptr_nonnull(iri);
	memcpy(iri, "[\"http://x.example/", 19);
	memset(iri + 19, 'v', LV_POLICY_MAX_STRING);
	memcpy(iri + 19 + LV_POLICY_MAX_STRING, "\"]", 3);
	t = mutate("data.verbs", iri);
	expect_reject(t, strlen(t), LV_ERR_TOO_LARGE, "data.verbs[0]: longer than 4096 bytes");
	free(t);
	free(iri);

	/* one-line fields have a tighter, plain-language limit */
	v = json_string_of('a', 257);
	t = mutate("title", v);
	expect_reject(t, strlen(t), LV_ERR_INVALID, "title: longer than 256 bytes");
	free(t);
	free(v);
}
END_TEST

/* ---- canonical form and digest ---- */

START_TEST(canonical_known_answer)
{
	struct lv_policy *p = parse_str_ok(BASE);
	char hex[LV_POLICY_DIGEST_HEX_LEN];
	unsigned char d[LV_POLICY_DIGEST_LEN], want[LV_POLICY_DIGEST_LEN];
	char *canon = lv_policy_canonical_text(p);
	ck_assert_ptr_nonnull(canon);
	ck_assert_str_eq(canon, BASE_CANONICAL);
	lv_policy_digest_hex(p, hex);
	ck_assert_str_eq(hex, BASE_SHA256);
	lv_policy_digest(p, d);
	crypto_hash_sha256(want, (const unsigned char *)BASE_CANONICAL, strlen(BASE_CANONICAL));
	ck_assert_mem_eq(d, want, sizeof d);
	free(canon);
	lv_policy_destroy(p);
}
END_TEST

/* Reverses the members of every object, recursively. */
static void reverse_members(cJSON *node)
{
	if (cJSON_IsObject(node)) {
		cJSON *rev = NULL;
		cJSON *c = node->child;
		while (c) {
			cJSON *next = c->next;
			c->next = rev;
			rev = c;
			c = next;
		}
		node->child = rev;
		cJSON *last = rev;
		cJSON *prev = NULL;
		for (c = rev; c; prev = c, c = c->next) {
			c->prev = prev;
			last = c;
		}
		if (rev)
			rev->prev = last;
	}
	for (cJSON *c = node->child; c; c = c->next)
		reverse_members(c);
}

START_TEST(canonical_ignores_order_and_whitespace)
{
	unsigned char d0[LV_POLICY_DIGEST_LEN], d1[LV_POLICY_DIGEST_LEN];
	digest_of(BASE, d0);

	/* every object's members reversed, pretty-printed with tabs and newlines */
	cJSON *root = cJSON_Parse(BASE);
	ck_assert_ptr_nonnull(root);
	reverse_members(root);
	char *pretty = cJSON_Print(root);
	ck_assert_ptr_nonnull(pretty);
	ck_assert(strncmp(pretty, "{\n\t\"withdrawal\"", 15) == 0);
	digest_of(pretty, d1);
	ck_assert_mem_eq(d0, d1, sizeof d0);

	struct lv_policy *p = parse_str_ok(pretty);
	char *canon = lv_policy_canonical_text(p);
	ck_assert_str_eq(canon, BASE_CANONICAL);
	free(canon);
	lv_policy_destroy(p);
	cJSON_free(pretty);
	cJSON_Delete(root);

	/* other spellings of the same numbers and strings */
	static const char *const SAME[][2] = {
		{"\"epsilon_per_query_max\":0.5", "\"epsilon_per_query_max\":5e-1"},
		{"\"epsilon_per_query_max\":0.5", "\"epsilon_per_query_max\":0.50"},
		{"\"epsilon_budget\":2", "\"epsilon_budget\":2.0"},
		{"\"epsilon_budget\":2", "\"epsilon_budget\":0.2E+1"},
		{"\"version\":1", "\"version\":1.0"},
		{"\"version\":1", "\"version\":1e0"},
		{"\"guardian_below_age\":13", "\"guardian_below_age\":1.3e1"},
		{"caf\\u00e9", "caf\xc3\xa9"},
		{"caf\\u00e9", "caf\\u00E9"},
		{"Test policy", "\\u0054est policy"},
		{"a slash /", "a slash \\/"},
		{"{\"id\"", " \r\n\t{ \"id\" "},
	};
	for (size_t i = 0; i < sizeof SAME / sizeof SAME[0]; i++) {
		char *t = replace(BASE, SAME[i][0], SAME[i][1]);
		digest_of(t, d1);
		ck_assert_msg(memcmp(d0, d1, sizeof d0) == 0, "digest changed by %s -> %s", SAME[i][0], SAME[i][1]);
		free(t);
	}

	/* -0 is 0 */
	char *zero = mutate("guardian_below_age", "0");
	char *negzero = replace(zero, "\"guardian_below_age\":0", "\"guardian_below_age\":-0");
	digest_of(zero, d0);
	digest_of(negzero, d1);
	ck_assert_mem_eq(d0, d1, sizeof d0);
	free(zero);
	free(negzero);
}
END_TEST

/* Any change of value, and any reordering of an array, changes the digest. */
static const struct good_case CHANGES[] = {
	{"id", "\"base-policy-2\""},
	{"version", "2"},
	{"title", "\"Test policy.\""},
	{"description", "\"Used by the tests.\""},
	{"language", "\"en-US\""},
	{"language", NULL},
	{"controller.name", "\"Test School 2\""},
	{"controller.contact", "\"mailto:dpo@school.example\""},
	{"controller.address", "\"2 Test Road\""},
	{"controller.address", NULL},
	{"legal_basis", "\"eu-gdpr:A6-1-a\""},
	{"purpose", "\"https://w3id.org/dpv#ServicePersonalisation\""},
	{"data.verbs", "[\"http://adlnet.gov/expapi/verbs/completed\"]"},
	{"data.verbs", "[\"http://adlnet.gov/expapi/verbs/passed\",\"http://adlnet.gov/expapi/verbs/completed\"]"},
	{"data.activity_types", "[\"http://adlnet.gov/expapi/activities/course\"]"},
	{"data.result_fields", "[\"result.score.scaled\"]"},
	{"data.result_fields", "[]"},
	{"operations", "[\"count\"]"},
	{"operations", "[\"mean\",\"count\"]"},
	{"privacy.epsilon_per_query_max", "0.25"},
	{"privacy.epsilon_per_query_max", "0.5000001"},
	{"privacy.epsilon_budget", "3"},
	{"privacy.budget_window_days", "31"},
	{"privacy.min_cohort", "11"},
	{"retention_days", "364"},
	{"consent_valid_days", "181"},
	{"guardian_below_age", "16"},
	{"recipients", "[\"Test School teachers\"]"},
	{"jurisdiction", "[\"EU\",\"GB\"]"},
	{"jurisdiction", "[\"GB\"]"},
	{"withdrawal", "\"Email privacy@school.example\""},
};

START_TEST(canonical_changes_with_any_value)
{
	unsigned char d0[LV_POLICY_DIGEST_LEN], d1[LV_POLICY_DIGEST_LEN];
	digest_of(BASE, d0);
	char *t = mutate(CHANGES[_i].path, CHANGES[_i].value);
	digest_of(t, d1);
	ck_assert_msg(memcmp(d0, d1, sizeof d0) != 0, "digest unchanged by %s", CHANGES[_i].path);
	free(t);
}
END_TEST

START_TEST(canonical_text_is_a_copy)
{
	struct lv_policy *p = parse_str_ok(BASE);
	char *a = lv_policy_canonical_text(p);
	char *b = lv_policy_canonical_text(p);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_ne(a, b);
	ck_assert_str_eq(a, b);
	a[0] = 'x';
	free(a);
	char *c = lv_policy_canonical_text(p);
	ck_assert_str_eq(c, b);
	free(b);
	free(c);
	lv_policy_destroy(p);
}
END_TEST

/* ---- accessors and scope checks ---- */

START_TEST(accessors)
{
	struct lv_policy *p = parse_str_ok(BASE);
	ck_assert_str_eq(lv_policy_id(p), "base-policy");
	ck_assert_uint_eq(lv_policy_version(p), 1);
	ck_assert_str_eq(lv_policy_title(p), "Test policy");
	ck_assert_str_eq(lv_policy_description(p),
			 "Used by the tests: \"quotes\", a slash /, caf\xc3\xa9,\nand a second line.");
	ck_assert_str_eq(lv_policy_language(p), "en-GB");
	ck_assert_str_eq(lv_policy_controller_name(p), "Test School");
	ck_assert_str_eq(lv_policy_controller_contact(p), "mailto:privacy@school.example");
	ck_assert_str_eq(lv_policy_controller_address(p), "1 Test Road");
	ck_assert_str_eq(lv_policy_legal_basis(p), "dpv:Consent");
	ck_assert_str_eq(lv_policy_purpose(p), "https://w3id.org/dpv#ServiceOptimisation");
	ck_assert_str_eq(lv_policy_withdrawal(p), "Email privacy@school.example.");
	ck_assert(lv_policy_epsilon_per_query_max(p) == 0.5);
	ck_assert(lv_policy_epsilon_budget(p) == 2.0);
	ck_assert_uint_eq(lv_policy_budget_window_days(p), 30);
	ck_assert_uint_eq(lv_policy_min_cohort(p), 10);
	ck_assert_uint_eq(lv_policy_retention_days(p), 365);
	ck_assert_uint_eq(lv_policy_consent_valid_days(p), 180);
	ck_assert_uint_eq(lv_policy_guardian_below_age(p), 13);

	ck_assert_uint_eq(lv_policy_recipient_count(p), 1);
	ck_assert_str_eq(lv_policy_recipient(p, 0), "Test School teachers (noisy group results only)");
	ck_assert_ptr_null(lv_policy_recipient(p, 1));
	ck_assert_uint_eq(lv_policy_jurisdiction_count(p), 2);
	ck_assert_str_eq(lv_policy_jurisdiction(p, 0), "GB");
	ck_assert_str_eq(lv_policy_jurisdiction(p, 1), "EU");
	ck_assert_ptr_null(lv_policy_jurisdiction(p, 2));
	ck_assert_uint_eq(lv_policy_verb_count(p), 2);
	ck_assert_str_eq(lv_policy_verb(p, 1), "http://adlnet.gov/expapi/verbs/passed");
	ck_assert_ptr_null(lv_policy_verb(p, 2));
	ck_assert_uint_eq(lv_policy_activity_type_count(p), 1);
	ck_assert_str_eq(lv_policy_activity_type(p, 0), "http://adlnet.gov/expapi/activities/assessment");
	ck_assert_ptr_null(lv_policy_activity_type(p, 1));
	ck_assert_uint_eq(lv_policy_result_field_count(p), 2);
	ck_assert_str_eq(lv_policy_result_field(p, 0), "result.score.scaled");
	ck_assert_ptr_null(lv_policy_result_field(p, (size_t)-1));
	lv_policy_destroy(p);

	/* optional fields absent */
	char *t = mutate("language", NULL);
	char *t2 = replace(t, ",\"address\":\"1 Test Road\"", "");
	p = parse_str_ok(t2);
	ck_assert_ptr_null(lv_policy_language(p));
	ck_assert_ptr_null(lv_policy_controller_address(p));
	lv_policy_destroy(p);
	free(t);
	free(t2);
}
END_TEST

START_TEST(scope_checks)
{
	struct lv_policy *p = parse_str_ok(BASE);
	/* verbs: exact, case-sensitive, no prefix or normalisation */
	ck_assert(lv_policy_covers_verb(p, "http://adlnet.gov/expapi/verbs/completed"));
	ck_assert(lv_policy_covers_verb(p, "http://adlnet.gov/expapi/verbs/passed"));
	ck_assert(!lv_policy_covers_verb(p, "http://adlnet.gov/expapi/verbs/failed"));
	ck_assert(!lv_policy_covers_verb(p, "http://adlnet.gov/expapi/verbs/Completed"));
	ck_assert(!lv_policy_covers_verb(p, "http://adlnet.gov/expapi/verbs/completed/"));
	ck_assert(!lv_policy_covers_verb(p, "https://adlnet.gov/expapi/verbs/completed"));
	ck_assert(!lv_policy_covers_verb(p, "http://adlnet.gov/expapi/verbs/"));
	ck_assert(!lv_policy_covers_verb(p, ""));
	ck_assert(!lv_policy_covers_verb(p, NULL));
	/* activity types */
	ck_assert(lv_policy_covers_activity_type(p, "http://adlnet.gov/expapi/activities/assessment"));
	ck_assert(!lv_policy_covers_activity_type(p, "http://adlnet.gov/expapi/activities/course"));
	ck_assert(!lv_policy_covers_activity_type(p, "http://adlnet.gov/expapi/verbs/completed"));
	ck_assert(!lv_policy_covers_activity_type(p, NULL));
	/* result fields */
	ck_assert(lv_policy_covers_result_field(p, "result.score.scaled"));
	ck_assert(lv_policy_covers_result_field(p, "result.success"));
	ck_assert(!lv_policy_covers_result_field(p, "result.score.raw"));
	ck_assert(!lv_policy_covers_result_field(p, "result.duration"));
	ck_assert(!lv_policy_covers_result_field(p, "result.response"));
	ck_assert(!lv_policy_covers_result_field(p, "result.score"));
	ck_assert(!lv_policy_covers_result_field(p, NULL));
	/* a verb is not a result field and vice versa */
	ck_assert(!lv_policy_covers_result_field(p, "http://adlnet.gov/expapi/verbs/completed"));
	ck_assert(!lv_policy_covers_verb(p, "result.success"));
	lv_policy_destroy(p);

	char *t = mutate("data.result_fields", "[]");
	p = parse_str_ok(t);
	ck_assert(!lv_policy_covers_result_field(p, "result.score.scaled"));
	ck_assert(lv_policy_covers_verb(p, "http://adlnet.gov/expapi/verbs/completed"));
	lv_policy_destroy(p);
	free(t);
}
END_TEST

START_TEST(operation_checks)
{
	struct lv_policy *p = parse_str_ok(BASE);
	ck_assert(lv_policy_allows_operation(p, LV_POLICY_OP_COUNT));
	ck_assert(lv_policy_allows_operation(p, LV_POLICY_OP_MEAN));
	ck_assert(!lv_policy_allows_operation(p, LV_POLICY_OP_SUM));
	ck_assert(!lv_policy_allows_operation(p, LV_POLICY_OP_HISTOGRAM));
	ck_assert(!lv_policy_allows_operation(p, LV_POLICY_OP_QUANTILE));
	ck_assert(!lv_policy_allows_operation(p, (enum lv_policy_op)5));
	ck_assert(!lv_policy_allows_operation(p, (enum lv_policy_op)-1));
	lv_policy_destroy(p);

	char *t = mutate("operations", "[\"quantile\",\"histogram\"]");
	p = parse_str_ok(t);
	ck_assert(!lv_policy_allows_operation(p, LV_POLICY_OP_COUNT));
	ck_assert(!lv_policy_allows_operation(p, LV_POLICY_OP_MEAN));
	ck_assert(lv_policy_allows_operation(p, LV_POLICY_OP_HISTOGRAM));
	ck_assert(lv_policy_allows_operation(p, LV_POLICY_OP_QUANTILE));
	lv_policy_destroy(p);
	free(t);

	/* names */
	enum lv_policy_op op = LV_POLICY_OP_COUNT;
	static const char *const NAMES[] = {"count", "sum", "mean", "histogram", "quantile"};
	for (unsigned i = 0; i < 5; i++) {
		ck_assert(lv_policy_op_parse(NAMES[i], &op));
		ck_assert_int_eq(op, (int)i);
		ck_assert_str_eq(lv_policy_op_str(op), NAMES[i]);
	}
	op = LV_POLICY_OP_SUM;
	ck_assert(!lv_policy_op_parse("median", &op));
	ck_assert(!lv_policy_op_parse("Count", &op));
	ck_assert(!lv_policy_op_parse(NULL, &op));
	ck_assert_int_eq(op, LV_POLICY_OP_SUM);
	ck_assert_ptr_null(lv_policy_op_str((enum lv_policy_op)5));
}
END_TEST

/* ---- the consent rules: lv_consent_evaluate, lv_consent_scope_check ---- */

#define EV_NOW 1798761600000LL /* 2027-01-01T00:00:00Z */
#define EV_DAY 86400000LL
#define V_COMPLETED "http://adlnet.gov/expapi/verbs/completed"
#define V_ANSWERED "http://adlnet.gov/expapi/verbs/answered"
#define T_ASSESSMENT "http://adlnet.gov/expapi/activities/assessment"
#define T_MEETING "http://adlnet.gov/expapi/activities/meeting"

/* BASE as a node holds it: version 1, its digest; guardian below 13. */
static struct lv_policy_loaded base_loaded(void)
{
	struct lv_policy_loaded pl = {.version = 1};
	pl.policy = parse_str_ok(BASE);
	snprintf(pl.sha256, sizeof pl.sha256, "%s", BASE_SHA256);
	return pl;
}

/* A grant of BASE version 1 by @role, valid for a day after EV_NOW. */
static struct lv_store_consent_event base_grant(const char *event, const char *role)
{
	struct lv_store_consent_event ev = {.policy_version = 1, .valid_until = EV_NOW + EV_DAY};
	snprintf(ev.event, sizeof ev.event, "%s", event);
	snprintf(ev.policy_sha256, sizeof ev.policy_sha256, "%s", BASE_SHA256);
	snprintf(ev.record_id, sizeof ev.record_id, "%s", "0b5c1d2e-0000-4000-8000-000000000001");
	snprintf(ev.actor_role, sizeof ev.actor_role, "%s", role);
	return ev;
}

/* Evaluates @ev for an adult (born 2000) with no scope. */
static bool adult_allowed(const struct lv_policy_loaded *pl, const struct lv_store_consent_event *ev,
			  struct lv_consent_decision *d, bool *expired)
{
	lv_consent_evaluate(pl, ev, "2000-05-01", NULL, EV_NOW, d, expired);
	return d->allow;
}

START_TEST(evaluate_live_grant_allows)
{
	struct lv_policy_loaded pl = base_loaded();
	struct lv_consent_decision d;
	bool expired = true;
	struct lv_store_consent_event ev = base_grant(LV_CONSENT_GIVEN, "learner");
	memset(&d, 0x55, sizeof d); /* every field is the evaluator's to set */
	ck_assert(adult_allowed(&pl, &ev, &d, &expired));
	ck_assert(!expired);
	ck_assert_str_eq(d.record_id, ev.record_id);
	ck_assert_uint_eq(d.policy_version, 1);
	ck_assert_uint_eq(d.audit_index, 0);
	ck_assert_ptr_nonnull(strstr(d.reason, ev.record_id));
	ev = base_grant(LV_CONSENT_RENEWED, "learner");
	ck_assert(adult_allowed(&pl, &ev, &d, &expired));
	/* One millisecond before the end still counts. */
	ev.valid_until = EV_NOW + 1;
	ck_assert(adult_allowed(&pl, &ev, &d, &expired));
	lv_policy_loaded_clear(&pl);
	ck_assert_ptr_null(pl.policy);
	lv_policy_loaded_clear(&pl); /* twice: a no-op */
	lv_policy_loaded_clear(NULL);
}
END_TEST

START_TEST(evaluate_denies_by_default)
{
	struct lv_policy_loaded pl = base_loaded();
	struct lv_consent_decision d;
	bool expired;
	lv_consent_evaluate(&pl, NULL, "2000-05-01", NULL, EV_NOW, &d, &expired);
	ck_assert(!d.allow);
	ck_assert(!expired);
	ck_assert_ptr_nonnull(strstr(d.reason, "default deny"));
	ck_assert_uint_eq(d.policy_version, 1);
	ck_assert_str_eq(d.record_id, "");
	static const char *const NOT_GRANTS[] = {LV_CONSENT_REFUSED, LV_CONSENT_WITHDRAWN, LV_CONSENT_EXPIRED};
	for (size_t i = 0; i < 3; i++) {
		struct lv_store_consent_event ev = base_grant(NOT_GRANTS[i], "learner");
		ev.valid_until = EV_NOW - EV_DAY; /* not a grant: its end is not an expiry */
		ck_assert(!adult_allowed(&pl, &ev, &d, &expired));
		ck_assert(!expired);
		ck_assert_ptr_nonnull(strstr(d.reason, NOT_GRANTS[i]));
		ck_assert_str_eq(d.record_id, "");
	}
	/* A grant for version 1 authorises nothing once version 2 is the newest. */
	struct lv_store_consent_event ev = base_grant(LV_CONSENT_GIVEN, "learner");
	pl.version = 2;
	ck_assert(!adult_allowed(&pl, &ev, &d, &expired));
	ck_assert_ptr_nonnull(strstr(d.reason, "version 2 needs new consent"));
	ck_assert_uint_eq(d.policy_version, 2);
	/* Nor does one bound to another text under the same version. */
	pl.version = 1;
	ev.policy_sha256[0] = ev.policy_sha256[0] == '0' ? '1' : '0';
	ck_assert(!adult_allowed(&pl, &ev, &d, &expired));
	ck_assert(!expired);
	lv_policy_loaded_clear(&pl);
}
END_TEST

START_TEST(evaluate_expiry_is_reported)
{
	struct lv_policy_loaded pl = base_loaded();
	struct lv_consent_decision d;
	bool expired = false;
	struct lv_store_consent_event ev = base_grant(LV_CONSENT_GIVEN, "learner");
	ev.valid_until = EV_NOW; /* the end itself is past */
	ck_assert(!adult_allowed(&pl, &ev, &d, &expired));
	ck_assert(expired);
	ck_assert_ptr_nonnull(strstr(d.reason, "expired"));
	ck_assert_str_eq(d.record_id, "");
	ev.valid_until = 0; /* none recorded */
	ck_assert(!adult_allowed(&pl, &ev, &d, &expired));
	ck_assert(expired);
	/* An expired grant of an older version needs new consent, not an expiry. */
	pl.version = 2;
	ck_assert(!adult_allowed(&pl, &ev, &d, &expired));
	ck_assert(!expired);
	lv_policy_loaded_clear(&pl);
}
END_TEST

START_TEST(evaluate_guardian_rule)
{
	struct lv_policy_loaded pl = base_loaded();
	struct lv_consent_decision d;
	bool expired;
	struct lv_store_consent_event own = base_grant(LV_CONSENT_GIVEN, "learner");
	struct lv_store_consent_event guardian = base_grant(LV_CONSENT_GIVEN, "guardian");
	/* 13 on EV_NOW exactly: the learner's own grant counts. */
	lv_consent_evaluate(&pl, &own, "2014-01-01", NULL, EV_NOW, &d, &expired);
	ck_assert(d.allow);
	/* A day younger: 12, a guardian's grant is needed. */
	lv_consent_evaluate(&pl, &own, "2014-01-02", NULL, EV_NOW, &d, &expired);
	ck_assert(!d.allow);
	ck_assert(!expired);
	ck_assert_ptr_nonnull(strstr(d.reason, "below age 13"));
	lv_consent_evaluate(&pl, &guardian, "2014-01-02", NULL, EV_NOW, &d, &expired);
	ck_assert(d.allow);
	/* No birth date, or one that does not read: counted as below. */
	static const char *const UNKNOWN[] = {NULL, "", "unknown", "14-01"};
	for (size_t i = 0; i < 4; i++) {
		lv_consent_evaluate(&pl, &own, UNKNOWN[i], NULL, EV_NOW, &d, &expired);
		ck_assert(!d.allow);
		lv_consent_evaluate(&pl, &guardian, UNKNOWN[i], NULL, EV_NOW, &d, &expired);
		ck_assert(d.allow);
	}
	lv_policy_loaded_clear(&pl);
	/* guardian_below_age 0: the rule never applies. */
	char *t = mutate("guardian_below_age", "0");
	pl = base_loaded();
	lv_policy_destroy(pl.policy);
	pl.policy = parse_str_ok(t);
	lv_consent_evaluate(&pl, &own, NULL, NULL, EV_NOW, &d, &expired);
	ck_assert(d.allow);
	lv_policy_loaded_clear(&pl);
	free(t);
}
END_TEST

/* Issue 10, item 6: who decides is judged at the time of use, so a
 * guardian's grant ends on the learner's birthday at guardian_below_age. */
START_TEST(evaluate_guardian_grant_ends_at_the_age)
{
	struct lv_policy_loaded pl = base_loaded();
	struct lv_consent_decision d;
	bool expired;
	struct lv_store_consent_event own = base_grant(LV_CONSENT_GIVEN, "learner");
	struct lv_store_consent_event guardian = base_grant(LV_CONSENT_RENEWED, "guardian");
	/* Born 2014-01-01: 12 the day before EV_NOW, 13 on it. */
	lv_consent_evaluate(&pl, &guardian, "2014-01-01", NULL, EV_NOW - EV_DAY, &d, &expired);
	ck_assert(d.allow);
	lv_consent_evaluate(&pl, &guardian, "2014-01-01", NULL, EV_NOW, &d, &expired);
	ck_assert(!d.allow);
	ck_assert(!expired);
	ck_assert_str_eq(d.record_id, "");
	ck_assert_str_eq(d.reason, "the learner has reached age 13: only their own consent counts");
	lv_consent_evaluate(&pl, &guardian, "2000-05-01", NULL, EV_NOW, &d, &expired);
	ck_assert(!d.allow);
	/* The learner's own grant is what counts from then on. */
	lv_consent_evaluate(&pl, &own, "2014-01-01", NULL, EV_NOW, &d, &expired);
	ck_assert(d.allow);
	lv_policy_loaded_clear(&pl);
}
END_TEST

START_TEST(scope_check_names_every_part_outside)
{
	struct lv_policy *p = parse_str_ok(BASE);
	struct lv_consent_scope_miss m;
	const char *verbs[] = {V_COMPLETED, V_ANSWERED};
	const char *types[] = {T_ASSESSMENT, T_MEETING};
	const char *fields[] = {"result.success", "result.duration"};
	struct lv_consent_scope in = {.has_op = true, .op = LV_POLICY_OP_MEAN, .verbs = verbs, .nverbs = 1,
				      .activity_types = types, .ntypes = 1, .result_fields = fields, .nfields = 1};
	memset(&m, 0x55, sizeof m);
	ck_assert(lv_consent_scope_check(p, &in, &m));
	ck_assert(!m.operation);
	ck_assert_ptr_null(m.verb);
	ck_assert_ptr_null(m.activity_type);
	ck_assert_ptr_null(m.result_field);
	ck_assert(lv_consent_scope_check(p, NULL, &m));
	ck_assert(lv_consent_scope_check(p, &in, NULL));
	struct lv_consent_scope out = {.has_op = true, .op = LV_POLICY_OP_QUANTILE, .verbs = verbs, .nverbs = 2,
				       .activity_types = types, .ntypes = 2, .result_fields = fields, .nfields = 2};
	ck_assert(!lv_consent_scope_check(p, &out, &m));
	ck_assert(m.operation);
	ck_assert_ptr_eq(m.verb, verbs[1]);
	ck_assert_ptr_eq(m.activity_type, types[1]);
	ck_assert_ptr_eq(m.result_field, fields[1]);
	ck_assert(!lv_consent_scope_check(p, &out, NULL));
	/* has_op false: the operation is not asked. */
	struct lv_consent_scope no_op = {.op = LV_POLICY_OP_QUANTILE};
	ck_assert(lv_consent_scope_check(p, &no_op, &m));
	lv_policy_destroy(p);
}
END_TEST

START_TEST(evaluate_refuses_a_scope_in_a_fixed_order)
{
	struct lv_policy_loaded pl = base_loaded();
	struct lv_store_consent_event ev = base_grant(LV_CONSENT_GIVEN, "learner");
	struct lv_consent_decision d;
	bool expired;
	const char *bad_verb[] = {V_ANSWERED};
	const char *bad_type[] = {T_MEETING};
	const char *bad_field[] = {"result.duration"};
	struct lv_consent_scope sc = {.has_op = true, .op = LV_POLICY_OP_SUM, .verbs = bad_verb, .nverbs = 1,
				      .activity_types = bad_type, .ntypes = 1, .result_fields = bad_field, .nfields = 1};
	static const char *const REASONS[] = {"operation sum not allowed", "a verb outside", "an activity type outside",
					      "a result field outside"};
	for (int step = 0; step < 4; step++) {
		lv_consent_evaluate(&pl, &ev, "2000-05-01", &sc, EV_NOW, &d, &expired);
		ck_assert(!d.allow);
		ck_assert(!expired);
		ck_assert_str_eq(d.record_id, "");
		ck_assert_msg(strstr(d.reason, REASONS[step]), "step %d: %s", step, d.reason);
		/* Mend the part just named: the next one is named. */
		if (step == 0)
			sc.op = LV_POLICY_OP_COUNT;
		else if (step == 1)
			sc.nverbs = 0;
		else if (step == 2)
			sc.ntypes = 0;
		else
			sc.nfields = 0;
	}
	lv_consent_evaluate(&pl, &ev, "2000-05-01", &sc, EV_NOW, &d, &expired);
	ck_assert(d.allow);
	/* The grant is checked before the scope. */
	lv_consent_evaluate(&pl, NULL, "2000-05-01", &(struct lv_consent_scope){.has_op = true,
						.op = LV_POLICY_OP_SUM}, EV_NOW, &d, &expired);
	ck_assert_ptr_nonnull(strstr(d.reason, "default deny"));
	lv_policy_loaded_clear(&pl);
}
END_TEST

#define N_OF(a) ((int)(sizeof(a) / sizeof((a)[0])))

Suite *lv_test_suite(void)
{
	Suite *s = suite_create("consent");
	TCase *tc = tcase_create("examples");
	tcase_add_loop_test(tc, example_parses, 0, N_OF(EXAMPLES));
	tcase_add_test(tc, every_file_in_policies_parses);
	suite_add_tcase(s, tc);

	tc = tcase_create("rules");
	tcase_add_loop_test(tc, rule_rejects, 0, N_OF(BAD));
	tcase_add_loop_test(tc, required_field_missing, 0, N_OF(REQUIRED));
	tcase_add_loop_test(tc, rule_edges_accepted, 0, N_OF(GOOD));
	tcase_add_test(tc, raw_text_rejects);
	tcase_add_test(tc, null_and_no_err_buffer);
	suite_add_tcase(s, tc);

	tc = tcase_create("caps");
	tcase_add_test(tc, oversize_text);
	tcase_add_test(tc, oversize_array);
	tcase_add_test(tc, oversize_string);
	suite_add_tcase(s, tc);

	tc = tcase_create("canonical");
	tcase_add_test(tc, canonical_known_answer);
	tcase_add_test(tc, canonical_ignores_order_and_whitespace);
	tcase_add_loop_test(tc, canonical_changes_with_any_value, 0, N_OF(CHANGES));
	tcase_add_test(tc, canonical_text_is_a_copy);
	suite_add_tcase(s, tc);

	tc = tcase_create("scope");
	tcase_add_test(tc, accessors);
	tcase_add_test(tc, scope_checks);
	tcase_add_test(tc, operation_checks);
	suite_add_tcase(s, tc);

	tc = tcase_create("evaluate");
	tcase_add_test(tc, evaluate_live_grant_allows);
	tcase_add_test(tc, evaluate_denies_by_default);
	tcase_add_test(tc, evaluate_expiry_is_reported);
	tcase_add_test(tc, evaluate_guardian_rule);
	tcase_add_test(tc, evaluate_guardian_grant_ends_at_the_age);
	tcase_add_test(tc, scope_check_names_every_part_outside);
	tcase_add_test(tc, evaluate_refuses_a_scope_in_a_fixed_order);
	suite_add_tcase(s, tc);
	return s;
}
