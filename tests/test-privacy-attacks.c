/* The attacks of issue 10, kept running: each test plays an adversary
 * against a real node and asserts the guarantee docs/privacy.md states.
 *
 * - erasure and re-enrolment (HTTP): an LMS re-sending statements for an
 *   erased learner must not bring their consent back;
 * - differencing (HTTP): two answers either side of one withdrawal, or of
 *   a filter that isolates one learner, differ only in noised fields;
 * - re-signed logs: a compromised node signs whatever it likes with its own
 *   key; the offline verifier must still refuse every non-compliant shape;
 * - the empirical epsilon of a count release through the whole door
 *   (lv_aggregate), at a smaller N than the sampler tests' 10^6.
 * Each test runs in its own process on a fresh node. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "harness.h"
#include "http-client.h"
#include "learnvault/audit.h"
#include "learnvault/auditlog.h"
#include "learnvault/consent.h"
#include "learnvault/node.h"
#include "learnvault/query.h"
#include "learnvault/server.h"
#include "learnvault/util.h"

#define POLICY_ID "attack-study"
#define VERB_DONE "http://adlnet.gov/expapi/verbs/completed"
#define VERB_PASSED "http://adlnet.gov/expapi/verbs/passed"
#define VERB_FAILED "http://adlnet.gov/expapi/verbs/failed"
#define LESSON "http://adlnet.gov/expapi/activities/lesson"
#define NMAX 64

/* A policy an attacker would love: a large epsilon per query (answers are
 * nearly exact, so a leak shows at once), no minimum cohort to speak of,
 * and the guardian rule below 13. */
static const char POLICY_FMT[] =
	"{\"id\":\"" POLICY_ID "\",\"version\":%u,\"title\":\"Attack study\","
	"\"description\":\"A purpose for the adversarial tests.\",\"language\":\"en\","
	"\"controller\":{\"name\":\"Test\",\"contact\":\"mailto:t@example.com\"},"
	"\"legal_basis\":\"dpv:Consent\",\"purpose\":\"https://w3id.org/dpv#ResearchAndDevelopment\","
	"\"data\":{\"verbs\":[\"" VERB_DONE "\",\"" VERB_PASSED "\",\"" VERB_FAILED "\"],"
	"\"activity_types\":[\"" LESSON "\"],\"result_fields\":[\"result.score.scaled\"]},"
	"\"operations\":[\"count\",\"mean\",\"histogram\"],"
	"\"privacy\":{\"epsilon_per_query_max\":%g,\"epsilon_budget\":%g,\"budget_window_days\":%u,\"min_cohort\":1},"
	"\"retention_days\":365,\"consent_valid_days\":365,\"guardian_below_age\":13,\"recipients\":[\"test analysts\"],\"jurisdiction\":[\"US\"],"
	"\"withdrawal\":\"Withdraw at any time on the learner's door.\"}";

static struct {
	char base[512], dir[600];
	struct lv_node *node;
	struct lv_server *srv;
	struct hc hc;
	char key[LV_CRED_ID_LEN];
	char *secret;
	char analyst[160], auditor[160];
	char p[NMAX][LV_PSEUDONYM_LEN];   /* learner i's pseudonym */
	char tok[NMAX][160];              /* learner i's token (guardian's for a minor) */
	int n;
} F;

#define EXPECT_STATUS(r, s)                                                              \
	ck_assert_msg((r).status == (s), "expected HTTP %ld, got %ld (curl %d): %s", (long)(s), \
		      (r).status, (int)(r).rc, (r).body ? (r).body : "")

/* ---- fixture and helpers ---- */

static void load_policy(unsigned version, double eps_max, double budget, unsigned window)
{
	char text[2048], err[LV_POLICY_ERR_LEN], pid[LV_POLICY_ID_MAX + 1];
	uint32_t v;
	bool added;
	int len = snprintf(text, sizeof text, POLICY_FMT, version, eps_max, budget, window);
	enum lv_status st = lv_policy_load(F.node, text, (size_t)len, &added, pid, &v, err);
	ck_assert_msg(st == LV_OK, "policy: %s", err);
	ck_assert(added);
}

static void token(enum lv_role role, const char *learner, char *tok, size_t n)
{
	char id[LV_CRED_ID_LEN];
	char *secret = NULL;
	const char *purposes[] = {POLICY_ID};
	bool analyst = role == LV_ROLE_ANALYST;
	ck_assert_int_eq(lv_credential_add(F.node, role, learner, analyst ? purposes : NULL, analyst ? 1 : 0, NULL, id,
					   &secret), LV_OK);
	snprintf(tok, n, "%s.%s", id, secret);
	sodium_free(secret);
}

static void setup_node(bool server)
{
	char *vkey = NULL;
	snprintf(F.base, sizeof F.base, "%s", th_tmpdir());
	snprintf(F.dir, sizeof F.dir, "%s/node", F.base);
	ck_assert_int_eq(lv_node_init(F.dir, NULL, NULL, &vkey), LV_OK);
	free(vkey);
	ck_assert_int_eq(lv_node_open(F.dir, NULL, NULL, &F.node), LV_OK);
	ck_assert_int_eq(lv_credential_add(F.node, LV_ROLE_PROVIDER, NULL, NULL, 0, "LMS", F.key, &F.secret), LV_OK);
	if (server) {
		struct lv_server_options so = {.host = "127.0.0.1", .port = 0, .threads = 2};
		ck_assert_int_eq(lv_server_start(F.node, &so, &F.srv), LV_OK);
		ck_assert_int_eq(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
		hc_init(&F.hc, lv_server_port(F.srv));
	}
	token(LV_ROLE_ANALYST, NULL, F.analyst, sizeof F.analyst);
	token(LV_ROLE_AUDITOR, NULL, F.auditor, sizeof F.auditor);
}

static void setup_http(void) { setup_node(true); }
static void setup_local(void) { setup_node(false); }

static void teardown(void)
{
	if (F.srv) {
		hc_free(&F.hc);
		curl_global_cleanup();
		lv_server_destroy(F.srv);
	}
	lv_node_close(F.node);
	if (F.secret)
		sodium_free(F.secret);
	th_rmtree(F.base);
	memset(&F, 0, sizeof F);
}

static long call(const char *bearer, const char *method, const char *path, const char *body, struct hc_resp *r)
{
	struct hc_req rq = {.method = method, .path = path, .body = body, .no_version = true, .bearer = bearer};
	return hc_do(&F.hc, &rq, r);
}

/* The LMS sends one statement for learner "s<i>" with @verb, through HTTP
 * (which enrols the learner when new). */
static void lms_sends(int i, const char *verb)
{
	char body[768];
	snprintf(body, sizeof body,
		 "{\"actor\":{\"objectType\":\"Agent\",\"mbox\":\"mailto:s%d@example.com\"},"
		 "\"verb\":{\"id\":\"%s\"},\"object\":{\"objectType\":\"Activity\",\"id\":\"http://example.com/lesson/%d\","
		 "\"definition\":{\"type\":\"" LESSON "\"}},\"result\":{\"score\":{\"scaled\":0.5}}}",
		 i, verb, i);
	struct hc_req rq = {.method = "POST", .path = "/xapi/statements", .body = body, .user = F.key,
			    .pass = F.secret};
	struct hc_resp r;
	hc_do(&F.hc, &rq, &r);
	EXPECT_STATUS(r, 200);
	hc_resp_free(&r);
}

static void actor_of(int i, char *out, size_t n)
{
	snprintf(out, n, "{\"objectType\":\"Agent\",\"mbox\":\"mailto:s%d@example.com\"}", i);
}

/* Learner i: a statement from the LMS, a birth date (an adult, or a child
 * of 8 decided for by a guardian), a token, and a grant through the
 * learner's door. */
static void learner_consents(int i, bool minor)
{
	char actor[128];
	bool created;
	lms_sends(i, VERB_DONE);
	actor_of(i, actor, sizeof actor);
	ck_assert_int_eq(lv_learner_enrol(F.node, actor, F.p[i], &created), LV_OK);
	ck_assert(!created);
	ck_assert_int_eq(lv_learner_set_birth_date(F.node, F.p[i], minor ? "2018-06-01" : "2000-06-01"), LV_OK);
	token(minor ? LV_ROLE_GUARDIAN : LV_ROLE_LEARNER, F.p[i], F.tok[i], sizeof F.tok[i]);
	struct hc_resp r;
	call(F.tok[i], "POST", "/learner/consents", "{\"policy\":\"" POLICY_ID "\"}", &r);
	ck_assert_msg(r.status == 200 || r.status == 201, "grant: %ld %s", r.status, r.body);
	hc_resp_free(&r);
	if (i >= F.n)
		F.n = i + 1;
}

/* POST /aggregate as the analyst; returns the parsed answer (200) or NULL
 * with *@status set. */
static cJSON *ask(const char *query, long *status)
{
	struct hc_resp r;
	call(F.analyst, "POST", "/aggregate", query, &r);
	*status = r.status;
	cJSON *a = r.status == 200 ? cJSON_ParseWithLength(r.body, r.len) : NULL;
	if (r.status == 200)
		ck_assert_msg(a != NULL, "answer is not JSON: %s", r.body);
	hc_resp_free(&r);
	return a;
}

static double count_now(double eps)
{
	char q[256];
	long status;
	snprintf(q, sizeof q, "{\"purpose\":\"" POLICY_ID "\",\"metric\":\"count\",\"epsilon\":%g}", eps);
	cJSON *a = ask(q, &status);
	ck_assert_msg(a != NULL, "count: HTTP %ld", status);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(a, "noisy_learners");
	ck_assert(cJSON_IsNumber(v));
	double x = v->valuedouble;
	cJSON_Delete(a);
	return x;
}

/* The node's log, exported and verified offline with the node's key. */
static cJSON *export_verified(bool *ok, char **report)
{
	char *json = NULL, *vkey = NULL;
	ck_assert_int_eq(lv_audit_export(F.node, &json), LV_OK);
	ck_assert_int_eq(lv_audit_vkey(F.node, &vkey), LV_OK);
	*ok = lv_audit_verify_export(json, strlen(json), vkey, NULL, report) == LV_OK;
	cJSON *doc = cJSON_Parse(json);
	free(json);
	free(vkey);
	return doc;
}

/* ---- 1. erasure ends consent ---- */

START_TEST(erasure_ends_consent)
{
	/* 20 adults and 1 child (guardian's grant), all consenting. */
	load_policy(1, 30, 100, 90);
	for (int i = 0; i < 20; i++)
		learner_consents(i, false);
	learner_consents(20, true);
	ck_assert_double_eq(count_now(30), 21);
	/* Three adults erase themselves; the child's guardian erases the child. */
	int gone[] = {3, 7, 11, 20};
	for (size_t k = 0; k < 4; k++) {
		struct hc_resp r;
		call(F.tok[gone[k]], "DELETE", "/learner", NULL, &r);
		ck_assert_msg(r.status == 200 || r.status == 204, "erase: %ld %s", r.status, r.body);
		hc_resp_free(&r);
	}
	ck_assert_double_eq(count_now(30), 17);
	/* The LMS keeps sending for the same addresses: the learners come back
	 * under the same pseudonyms, with no consent. */
	for (size_t k = 0; k < 4; k++)
		lms_sends(gone[k], VERB_DONE);
	ck_assert_double_eq(count_now(30), 17);
	for (size_t k = 0; k < 4; k++) {
		char actor[128], p[LV_PSEUDONYM_LEN];
		bool created;
		actor_of(gone[k], actor, sizeof actor);
		ck_assert_int_eq(lv_learner_enrol(F.node, actor, p, &created), LV_OK);
		ck_assert_str_eq(p, F.p[gone[k]]);
		char *list = NULL;
		ck_assert_int_eq(lv_consent_list(F.node, p, util_now_ms(), &list), LV_OK);
		cJSON *l = cJSON_Parse(list);
		ck_assert_msg(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(l, "events")) == 0,
			      "a re-enrolled learner still shows pre-erasure consent: %s", list);
		cJSON_Delete(l);
		free(list);
		/* The old token died with the erasure. */
		struct hc_resp r;
		call(F.tok[gone[k]], "GET", "/learner/consents", NULL, &r);
		EXPECT_STATUS(r, 401);
		hc_resp_free(&r);
	}
	/* The log says so, and verifies. */
	bool ok;
	char *report = NULL;
	cJSON *doc = export_verified(&ok, &report);
	ck_assert_msg(ok, "honest log refused: %s", report);
	int erasures = 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(doc, "entries")) {
		cJSON *x = cJSON_Parse(e->valuestring);
		const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(x, "type"));
		if (type && strcmp(type, "erasure") == 0) {
			const cJSON *ended = cJSON_GetObjectItemCaseSensitive(x, "consents_ended");
			ck_assert_msg(cJSON_GetArraySize(ended) == 1, "erasure without its ended consent: %s",
				      e->valuestring);
			erasures++;
		}
		cJSON_Delete(x);
	}
	ck_assert_int_eq(erasures, 4);
	cJSON_Delete(doc);
	free(report);
}
END_TEST


/* ---- 2. differencing: nothing un-noised in an answer ---- */

/* Members an answer may carry whose value depends on the noise draw or on
 * the request itself (never on un-noised data): they may differ between
 * two answers; every other member must be identical. */
static bool noised_or_per_request(const char *k)
{
	static const char *const K[] = {"value", "ci95", "noisy_learners", "query_id", "receipt", "released",
					"budget_remaining", "rank_error95", "suppressed"};
	for (size_t i = 0; i < sizeof K / sizeof *K; i++)
		if (strcmp(k, K[i]) == 0)
			return true;
	return false;
}

/* Two answers to the same question on neighbouring data: the same
 * members, equal wherever the value is not noised, no log position, and a
 * receipt the node's key verifies. */
static void assert_indistinct(const cJSON *a, const cJSON *b, const char *what)
{
	char *vkey = NULL;
	ck_assert_int_eq(lv_audit_vkey(F.node, &vkey), LV_OK);
	ck_assert_int_eq(cJSON_GetArraySize(a), cJSON_GetArraySize(b));
	const cJSON *x;
	cJSON_ArrayForEach(x, a) {
		const cJSON *y = cJSON_GetObjectItemCaseSensitive(b, x->string);
		ck_assert_msg(y != NULL, "%s: member %s only in one answer", what, x->string);
		ck_assert_msg(strcmp(x->string, "audit_index") != 0, "%s: the answer carries the log position", what);
		if (!noised_or_per_request(x->string))
			ck_assert_msg(cJSON_Compare(x, y, true), "%s: un-noised member %s differs", what, x->string);
	}
	const cJSON *ans[2] = {a, b};
	for (int i = 0; i < 2; i++) {
		const char *rc = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ans[i], "receipt"));
		ck_assert_msg(rc != NULL, "%s: no receipt", what);
		struct lv_release_receipt r;
		ck_assert_int_eq(lv_release_receipt_open(rc, strlen(rc), vkey, &r), LV_OK);
		ck_assert_str_eq(r.query_id, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ans[i], "query_id")));
	}
	free(vkey);
}

START_TEST(differencing_reveals_nothing_exact)
{
	load_policy(1, 1, 100, 90);
	for (int i = 0; i < 12; i++)
		learner_consents(i, false);
	/* Only learner 0 ever passed: a filter on "passed" is a group of one,
	 * a filter on "failed" a group of none. */
	lms_sends(0, VERB_PASSED);
	static const char *const Q[] = {
		"{\"purpose\":\"" POLICY_ID "\",\"metric\":\"count\",\"epsilon\":0.5}",
		"{\"purpose\":\"" POLICY_ID "\",\"metric\":\"mean\",\"field\":\"result.score.scaled\","
		"\"bounds\":[0,1],\"epsilon\":0.5}",
		"{\"purpose\":\"" POLICY_ID "\",\"metric\":\"histogram\",\"field\":\"result.score.scaled\","
		"\"histogram\":{\"by\":\"value\",\"buckets\":[0,0.25,0.5,0.75,1]},\"epsilon\":0.5}",
	};
	cJSON *before[3], *after[3];
	long st;
	for (int k = 0; k < 3; k++) {
		before[k] = ask(Q[k], &st);
		ck_assert_msg(before[k] != NULL, "query %d: HTTP %ld", k, st);
	}
	/* One learner withdraws: the classic differencing pair. */
	struct hc_resp r;
	call(F.tok[5], "DELETE", "/learner/consents/" POLICY_ID, NULL, &r);
	EXPECT_STATUS(r, 200);
	hc_resp_free(&r);
	for (int k = 0; k < 3; k++) {
		after[k] = ask(Q[k], &st);
		ck_assert_msg(after[k] != NULL, "query %d: HTTP %ld", k, st);
		assert_indistinct(before[k], after[k], Q[k]);
		cJSON_Delete(before[k]);
		cJSON_Delete(after[k]);
	}
	/* Filters isolating one learner against filters matching no one. */
	cJSON *one = ask("{\"purpose\":\"" POLICY_ID "\",\"metric\":\"count\",\"epsilon\":0.5,"
			 "\"filters\":{\"verb\":\"" VERB_PASSED "\"}}", &st);
	ck_assert_msg(one != NULL, "HTTP %ld", st);
	cJSON *none = ask("{\"purpose\":\"" POLICY_ID "\",\"metric\":\"count\",\"epsilon\":0.5,"
			  "\"filters\":{\"verb\":\"" VERB_FAILED "\"}}", &st);
	ck_assert_msg(none != NULL, "HTTP %ld", st);
	/* The filters themselves are the question, not data: compare the rest. */
	cJSON_DeleteItemFromObjectCaseSensitive(one, "filters");
	cJSON_DeleteItemFromObjectCaseSensitive(none, "filters");
	assert_indistinct(one, none, "group of one vs none");
	cJSON_Delete(one);
	cJSON_Delete(none);
}
END_TEST


/* ---- 3. re-signed logs: what a compromised node could sign ---- */

/* A compromised node: it holds a signing key and signs whatever log it
 * likes.  The test plays it with a key of its own. */
static struct {
	unsigned char pk[32];
	unsigned char *sk;
	char *vkey;
	char origin[LV_CHECKPOINT_MAX_ORIGIN + 1];
} K;

static cJSON *entry_at(cJSON *entries, int i)
{
	return cJSON_GetArrayItem(entries, i);
}

static const char *str_of(const cJSON *o, const char *k)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
}

/* The export @doc with @entries (parsed objects, renumbered here) signed
 * by the compromised node's key; verified offline.  Returns whether the
 * verifier accepted it; *@report is the verifier's report. */
static bool resign_verify(const cJSON *doc, cJSON *entries, const cJSON *policies, char **report)
{
	int n = cJSON_GetArraySize(entries);
	unsigned char *leaves = malloc((size_t)(n ? n : 1) * LV_MERKLE_HASH_LEN);
	ck_assert_ptr_nonnull(leaves);
	cJSON *out = cJSON_CreateObject();
	cJSON_AddStringToObject(out, "format", "learnvault-audit-log");
	cJSON_AddNumberToObject(out, "version", 1);
	cJSON *texts = cJSON_AddArrayToObject(out, "entries");
	for (int i = 0; i < n; i++) {
		cJSON *e = entry_at(entries, i);
		cJSON_ReplaceItemInObjectCaseSensitive(e, "index", cJSON_CreateNumber(i));
		char *t = cJSON_PrintUnformatted(e);
		lv_merkle_hash_leaf(t, strlen(t), leaves + (size_t)i * LV_MERKLE_HASH_LEN);
		cJSON_AddItemToArray(texts, cJSON_CreateString(t));
		free(t);
	}
	struct lv_merkle *m = NULL;
	unsigned char root[LV_MERKLE_HASH_LEN];
	char *note = NULL;
	size_t nl;
	ck_assert_int_eq(lv_merkle_create_from_leaves(leaves, (uint64_t)n, &m), LV_OK);
	ck_assert_int_eq(lv_merkle_root_at(m, (uint64_t)n, root), LV_OK);
	ck_assert_int_eq(lv_checkpoint_sign(K.origin, (uint64_t)n, root, K.sk, &note, &nl), LV_OK);
	cJSON_AddStringToObject(out, "checkpoint", note);
	cJSON_AddItemToObject(out, "policies", cJSON_Duplicate(policies, true));
	(void)doc;
	char *json = cJSON_PrintUnformatted(out);
	*report = NULL;
	bool ok = lv_audit_verify_export(json, strlen(json), K.vkey, NULL, report) == LV_OK;
	free(json);
	free(note);
	free(leaves);
	lv_merkle_destroy(m);
	cJSON_Delete(out);
	return ok;
}

/* The index of the first entry at or after @from whose @key is @val (and,
 * when @key2, whose @key2 is @val2); -1 when none. */
static int find_entry(cJSON *entries, int from, const char *key, const char *val, const char *key2, const char *val2)
{
	for (int i = from; i < cJSON_GetArraySize(entries); i++) {
		const cJSON *e = entry_at(entries, i);
		const char *v = str_of(e, key);
		if (v && strcmp(v, val) == 0 && (!key2 || (str_of(e, key2) && strcmp(str_of(e, key2), val2) == 0)))
			return i;
	}
	return -1;
}

/* An allowed access for @learner under @purpose, as the node writes one,
 * with the time of entry @like. */
static cJSON *forged_access(cJSON *entries, int like, const char *role, const char *purpose, const char *learner,
			    unsigned version, const char *record)
{
	cJSON *e = cJSON_CreateObject();
	cJSON_AddNumberToObject(e, "index", 0);
	cJSON_AddStringToObject(e, "time", str_of(entry_at(entries, like), "time"));
	cJSON_AddStringToObject(e, "type", "access");
	cJSON_AddStringToObject(e, "decision", "allow");
	cJSON_AddStringToObject(e, "role", role);
	cJSON_AddStringToObject(e, "actor", "cr_forged");
	cJSON_AddStringToObject(e, "purpose", purpose);
	if (version) {
		cJSON_AddNumberToObject(e, "policy_version", version);
		cJSON_AddStringToObject(e, "consent_record", record);
	}
	cJSON_AddStringToObject(e, "learner", learner);
	cJSON_AddStringToObject(e, "resource", "statements");
	cJSON_AddNumberToObject(e, "count", 1);
	return e;
}

/* Puts @item at position @at of @arr, the later items shifted right.
 * (Debian 12's cJSON 1.7.15-1+deb12u4 returns false from
 * cJSON_InsertItemInArray and leaves the array unchanged.) */
static void insert_entry(cJSON *arr, int at, cJSON *item)
{
	int n = cJSON_GetArraySize(arr);
	ck_assert_int_le(at, n);
	cJSON *tail = cJSON_CreateArray();
	ck_assert_ptr_nonnull(tail);
	while (cJSON_GetArraySize(arr) > at)
		cJSON_AddItemToArray(tail, cJSON_DetachItemFromArray(arr, at));
	cJSON_AddItemToArray(arr, item);
	while (cJSON_GetArraySize(tail) > 0)
		cJSON_AddItemToArray(arr, cJSON_DetachItemFromArray(tail, 0));
	cJSON_Delete(tail);
	ck_assert_int_eq(cJSON_GetArraySize(arr), n + 1);
	ck_assert_ptr_eq(cJSON_GetArrayItem(arr, at), item);
}

/* The entries of @doc, parsed. */
static cJSON *parsed_entries(const cJSON *doc)
{
	cJSON *arr = cJSON_CreateArray();
	const cJSON *t;
	cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(doc, "entries"))
		cJSON_AddItemToArray(arr, cJSON_Parse(t->valuestring));
	return arr;
}

/* Expects the verifier to refuse @entries (freed here) for the rule whose
 * message contains @want. */
static void expect_refused(const cJSON *doc, cJSON *entries, const cJSON *policies, const char *shape,
			   const char *want)
{
	char *report = NULL;
	bool ok = resign_verify(doc, entries, policies, &report);
	ck_assert_msg(!ok, "re-signed log accepted (%s): %s", shape, report);
	cJSON *r = cJSON_Parse(report);
	ck_assert_msg(str_of(r, "error") != NULL, "no error named (%s): %s", shape, report);
	ck_assert_msg(strstr(str_of(r, "error"), want) != NULL, "refused for another reason (%s): %s", shape, report);
	cJSON_Delete(r);
	free(report);
	cJSON_Delete(entries);
}

START_TEST(resigned_logs_refused)
{
	/* An honest history: policy v1; six adults and one child consent; a
	 * release; learner 3 erased; a learner reads her own data; policy v2;
	 * learner 0 consents to v2. */
	load_policy(1, 1, 2, 90);
	for (int i = 0; i < 6; i++)
		learner_consents(i, false);
	learner_consents(6, true);
	ck_assert(count_now(1) >= 0);
	struct hc_resp r;
	call(F.tok[3], "DELETE", "/learner", NULL, &r);
	EXPECT_STATUS(r, 200);
	hc_resp_free(&r);
	call(F.tok[1], "GET", "/learner/statements", NULL, &r);
	EXPECT_STATUS(r, 200);
	hc_resp_free(&r);
	load_policy(2, 1, 2, 90);
	call(F.tok[0], "POST", "/learner/consents", "{\"policy\":\"" POLICY_ID "\",\"version\":2}", &r);
	ck_assert_msg(r.status == 200 || r.status == 201, "%ld %s", r.status, r.body);
	hc_resp_free(&r);

	bool ok;
	char *report = NULL;
	cJSON *doc = export_verified(&ok, &report);
	ck_assert_msg(ok, "honest log refused: %s", report);
	free(report);
	struct lv_checkpoint cp;
	char *node_vkey = NULL;
	ck_assert_int_eq(lv_audit_vkey(F.node, &node_vkey), LV_OK);
	const char *note = str_of(doc, "checkpoint");
	ck_assert_int_eq(lv_checkpoint_open(note, strlen(note), node_vkey, NULL, &cp), LV_OK);
	free(node_vkey);
	snprintf(K.origin, sizeof K.origin, "%s", cp.origin);
	K.sk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
	ck_assert_ptr_nonnull(K.sk);
	crypto_sign_keypair(K.pk, K.sk);
	ck_assert_int_eq(lv_note_vkey(K.origin, K.pk, &K.vkey), LV_OK);
	const cJSON *pol = cJSON_GetObjectItemCaseSensitive(doc, "policies");
	ck_assert_int_eq(cJSON_GetArraySize(pol), 2);

	/* The honest entries, re-signed, still pass: the refusals below are
	 * the shapes', not the re-signing's. */
	cJSON *E = parsed_entries(doc);
	ck_assert_msg(resign_verify(doc, E, pol, &report), "re-signed honest log refused: %s", report);
	free(report);
	cJSON_Delete(E);

	const char *p0 = F.p[0], *p1 = F.p[1], *p2 = F.p[2], *p3 = F.p[3];
	/* a. A built-in purpose used by a role it does not belong to. */
	E = parsed_entries(doc);
	cJSON_AddItemToArray(E, forged_access(E, cJSON_GetArraySize(E) - 1, "analyst", "learner-right-of-access", p1,
					      0, NULL));
	expect_refused(doc, E, pol, "learner-right-of-access used by an analyst", "does not belong to");
	E = parsed_entries(doc);
	cJSON_AddItemToArray(E, forged_access(E, cJSON_GetArraySize(E) - 1, "analyst", "learner-request-by-operator",
					      p1, 0, NULL));
	expect_refused(doc, E, pol, "learner-request-by-operator used by an analyst", "does not belong to");
	/* b. An access on learner 1's v1 grant after v2 was loaded. */
	E = parsed_entries(doc);
	int g1 = find_entry(E, 0, "type", "consent", "learner", p1);
	ck_assert_int_ge(g1, 0);
	cJSON_AddItemToArray(E, forged_access(E, cJSON_GetArraySize(E) - 1, "analyst", POLICY_ID, p1, 1,
					      str_of(entry_at(E, g1), "record_id")));
	expect_refused(doc, E, pol, "access on an older version's grant", "re-consent rule");
	/* c. Time going backwards. */
	E = parsed_entries(doc);
	cJSON_ReplaceItemInObjectCaseSensitive(entry_at(E, cJSON_GetArraySize(E) - 1), "time",
					       cJSON_CreateString("2001-01-01T00:00:00.000Z"));
	expect_refused(doc, E, pol, "time going backwards", "goes backwards");
	/* d. A consent event whose policy digest is not the loaded text's. */
	E = parsed_entries(doc);
	int g2 = find_entry(E, 0, "type", "consent", "learner", p2);
	ck_assert_int_ge(g2, 0);
	char zeros[65];
	memset(zeros, '0', 64);
	zeros[64] = '\0';
	cJSON_ReplaceItemInObjectCaseSensitive(entry_at(E, g2), "policy_sha256", cJSON_CreateString(zeros));
	expect_refused(doc, E, pol, "consent digest of no loaded policy", "policy_sha256 differs");
	/* e. A consent event decided by a role that never decides. */
	E = parsed_entries(doc);
	cJSON_ReplaceItemInObjectCaseSensitive(entry_at(E, g2), "actor_role", cJSON_CreateString("admin"));
	expect_refused(doc, E, pol, "consent decided by an admin", "actor role is not learner or guardian");
	/* f. An adult's consent recorded as a guardian's. */
	E = parsed_entries(doc);
	cJSON_ReplaceItemInObjectCaseSensitive(entry_at(E, g2), "actor_role", cJSON_CreateString("guardian"));
	expect_refused(doc, E, pol, "a guardian deciding for an adult", "a guardian decided for a learner at or above");
	/* g. The adult's birth date left out: the log no longer shows she
	 * could decide herself. */
	E = parsed_entries(doc);
	int b2 = find_entry(E, 0, "type", "birth_date", "learner", p2);
	ck_assert_msg(b2 >= 0, "no birth_date entry for a learner whose birth date was set");
	cJSON_DeleteItemFromArray(E, b2);
	expect_refused(doc, E, pol, "birth date entry removed", "or with no birth date logged");
	/* h. An access to an erased learner, right after the erasure. */
	E = parsed_entries(doc);
	int g3 = find_entry(E, 0, "type", "consent", "learner", p3);
	int er = find_entry(E, 0, "type", "erasure", "learner", p3);
	ck_assert_int_ge(g3, 0);
	ck_assert_int_ge(er, 0);
	insert_entry(E, er + 1, forged_access(E, er, "analyst", POLICY_ID, p3, 1, str_of(entry_at(E, g3), "record_id")));
	expect_refused(doc, E, pol, "access after erasure", "after the learner's erasure");
	/* i-k. The release: its count, its access entries, its budget. */
	E = parsed_entries(doc);
	int rel = find_entry(E, 0, "type", "release", NULL, NULL);
	ck_assert_int_ge(rel, 0);
	const cJSON *inc = cJSON_GetObjectItemCaseSensitive(entry_at(E, rel), "learners_included");
	ck_assert(cJSON_IsNumber(inc) && inc->valuedouble >= 1);
	cJSON_ReplaceItemInObjectCaseSensitive(entry_at(E, rel), "learners_included",
					       cJSON_CreateNumber(inc->valuedouble + 1));
	expect_refused(doc, E, pol, "learners_included differs from the access entries", "learners_included (8) differs");
	E = parsed_entries(doc);
	const char *qid = str_of(entry_at(E, rel), "query_id");
	char qid_copy[128];
	snprintf(qid_copy, sizeof qid_copy, "%s", qid);
	for (int i = rel - 1; i >= 0; i--) {
		const char *q = str_of(entry_at(E, i), "query_id");
		if (q && strcmp(q, qid_copy) == 0)
			cJSON_DeleteItemFromArray(E, i);
	}
	expect_refused(doc, E, pol, "a release with no access entries", "has no access entries");
	/* The same release block twice more under new ids: 3 epsilon of a
	 * budget of 2. */
	E = parsed_entries(doc);
	int first = rel;
	while (first > 0 && str_of(entry_at(E, first - 1), "query_id") &&
	       strcmp(str_of(entry_at(E, first - 1), "query_id"), qid_copy) == 0)
		first--;
	int at = rel + 1;
	for (int copy = 0; copy < 2; copy++) {
		char nid[160];
		snprintf(nid, sizeof nid, "%s-again-%d", qid_copy, copy);
		for (int i = first; i <= rel; i++) {
			cJSON *d = cJSON_Duplicate(entry_at(E, i), true);
			cJSON_ReplaceItemInObjectCaseSensitive(d, "query_id", cJSON_CreateString(nid));
			/* At the release's time: entry times never go back. */
			cJSON_ReplaceItemInObjectCaseSensitive(d, "time",
							       cJSON_CreateString(str_of(entry_at(E, rel), "time")));
			insert_entry(E, at++, d);
		}
	}
	expect_refused(doc, E, pol, "budget overrun", "overruns the purpose's epsilon budget");
	/* l. Policy texts: an edited text, a removed one, an extra one. */
	E = parsed_entries(doc);
	cJSON *pe = cJSON_Duplicate(pol, true);
	char *t2 = strdup(cJSON_GetArrayItem(pe, 1)->valuestring);
	char *w = strstr(t2, "Attack study");
	ck_assert_ptr_nonnull(w);
	w[0] = 'a';
	cJSON_ReplaceItemInArray(pe, 1, cJSON_CreateString(t2));
	free(t2);
	expect_refused(doc, E, pe, "an edited policy text", "no matching text");
	cJSON_Delete(pe);
	E = parsed_entries(doc);
	pe = cJSON_Duplicate(pol, true);
	cJSON_DeleteItemFromArray(pe, 1);
	expect_refused(doc, E, pe, "a logged policy load without its text", "no matching text");
	cJSON_Delete(pe);
	E = parsed_entries(doc);
	pe = cJSON_Duplicate(pol, true);
	char extra[2048];
	snprintf(extra, sizeof extra, POLICY_FMT, 3u, 1.0, 2.0, 90u);
	cJSON_AddItemToArray(pe, cJSON_CreateString(extra));
	expect_refused(doc, E, pe, "a policy text no load vouches for", "matches no logged load");
	cJSON_Delete(pe);
	(void)p0;

	cJSON_Delete(doc);
	free(K.vkey);
	sodium_free(K.sk);
	memset(&K, 0, sizeof K);
}
END_TEST

/* An honest node with many policy versions (13 policies x 5 versions)
 * verifies: the verifier has no fixed cap on policy texts. */
START_TEST(many_policy_texts_verify)
{
	static const char FMT[] =
		"{\"id\":\"p%02d\",\"version\":%d,\"title\":\"P\",\"description\":\"D\",\"language\":\"en\","
		"\"controller\":{\"name\":\"T\",\"contact\":\"mailto:t@example.com\"},\"legal_basis\":\"dpv:Consent\","
		"\"purpose\":\"https://w3id.org/dpv#ResearchAndDevelopment\",\"data\":{\"verbs\":[\"" VERB_DONE "\"],"
		"\"activity_types\":[\"" LESSON "\"],\"result_fields\":[]},\"operations\":[\"count\"],"
		"\"privacy\":{\"epsilon_per_query_max\":1,\"epsilon_budget\":2,\"budget_window_days\":30,\"min_cohort\":1},"
		"\"retention_days\":30,\"consent_valid_days\":30,\"guardian_below_age\":0,"
		"\"recipients\":[\"r\"],\"jurisdiction\":[\"US\"],\"withdrawal\":\"w\"}";
	for (int id = 0; id < 13; id++)
		for (int v = 1; v <= 5; v++) {
			char text[2048], err[LV_POLICY_ERR_LEN], pid[LV_POLICY_ID_MAX + 1];
			uint32_t ver;
			bool added;
			int len = snprintf(text, sizeof text, FMT, id, v);
			enum lv_status st = lv_policy_load(F.node, text, (size_t)len, &added, pid, &ver, err);
			ck_assert_msg(st == LV_OK, "policy: %s", err);
		}
	bool ok;
	char *report = NULL;
	cJSON *doc = export_verified(&ok, &report);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(doc, "policies")), 65);
	ck_assert_msg(ok, "an honest node with 65 policy texts is refused: %s", report);
	free(report);
	cJSON_Delete(doc);
}
END_TEST


/* ---- 4. the empirical epsilon of a count, through the whole door ---- */

/* K noisy counts of the policy's cohort through lv_aggregate, the clock
 * moved on two days per hundred answers so the one-day budget window
 * never runs out (the budget is not what this test measures). */
#define EMP_K 2000
static void counts(int64_t *now, int64_t *out)
{
	struct lv_principal op = {.role = LV_ROLE_ADMIN, .id = "operator"};
	const char *q = "{\"purpose\":\"" POLICY_ID "\",\"metric\":\"count\",\"epsilon\":1}";
	for (int k = 0; k < EMP_K; k++) {
		if (k % 100 == 0)
			*now += 2 * UTIL_DAY_MS;
		char *answer = NULL, err[LV_QUERY_ERR_LEN];
		enum lv_status st = lv_aggregate(F.node, &op, q, strlen(q), *now, &answer, err);
		ck_assert_msg(st == LV_OK, "aggregate %d: %s", k, err);
		cJSON *a = cJSON_Parse(answer);
		out[k] = (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(a, "noisy_learners"));
		cJSON_Delete(a);
		free(answer);
	}
}

START_TEST(empirical_epsilon_of_a_count)
{
	/* The answers' time quantum is a timing defence this test does not
	 * measure; 4,000 answers padded to 200 ms would take 13 minutes. */
	ck_assert_int_eq(lv_node_setting_set(F.node, "aggregate_time_quantum_ms", "0"), LV_OK);
	load_policy(1, 1, 100, 1);
	for (int i = 0; i < 10; i++)
		learner_consents(i, false);
	int64_t now = util_now_ms();
	int64_t *with = malloc(EMP_K * sizeof *with), *without = malloc(EMP_K * sizeof *without);
	ck_assert(with && without);
	counts(&now, with);
	/* The neighbouring dataset: learner 4 withdraws. */
	struct lv_principal op = {.role = LV_ROLE_ADMIN, .id = "operator"};
	char rid[LV_RECORD_ID_LEN], err[LV_CONSENT_ERR_LEN];
	ck_assert_int_eq(lv_consent_withdraw(F.node, &op, LV_ROLE_LEARNER, F.p[4], POLICY_ID, rid, err), LV_OK);
	counts(&now, without);
	/* For every event {X >= t} and {X <= t} seen at least 200 times in
	 * both runs, P[with]/P[without] and its inverse stay within e^eps,
	 * with a factor 1.5 for sampling error (about 5 standard errors of the
	 * log ratio at 200 samples).  Exact answers, or noise for a larger
	 * epsilon (e^2 = 7.4 in the tails), fail here. */
	int checked = 0;
	for (int t = -5; t <= 25; t++) {
		for (int dir = 0; dir < 2; dir++) {
			int a = 0, b = 0;
			for (int k = 0; k < EMP_K; k++) {
				a += dir ? with[k] <= t : with[k] >= t;
				b += dir ? without[k] <= t : without[k] >= t;
			}
			if (a < 200 || b < 200 || a == EMP_K || b == EMP_K)
				continue;
			double ratio = (double)a / b;
			ck_assert_msg(ratio <= exp(1.0) * 1.5 && 1 / ratio <= exp(1.0) * 1.5,
				      "P[X %s %d]: %d vs %d of %d: the ratio %.3f is outside e^1", dir ? "<=" : ">=", t, a,
				      b, EMP_K, ratio);
			checked++;
		}
	}
	ck_assert_int_ge(checked, 4);
	/* The two runs do differ (the true counts are 10 and 9). */
	double ma = 0, mb = 0;
	for (int k = 0; k < EMP_K; k++) {
		ma += (double)with[k] / EMP_K;
		mb += (double)without[k] / EMP_K;
	}
	ck_assert_msg(fabs(ma - 10) < 0.3 && fabs(mb - 9) < 0.3, "means %.3f and %.3f", ma, mb);
	free(with);
	free(without);
}
END_TEST

Suite *lv_test_suite(void)
{
	Suite *s = suite_create("privacy-attacks");
	TCase *tc = tcase_create("http");
	tcase_add_checked_fixture(tc, setup_http, teardown);
	tcase_add_test(tc, erasure_ends_consent);
	tcase_add_test(tc, differencing_reveals_nothing_exact);
	tcase_add_test(tc, resigned_logs_refused);
	tcase_add_test(tc, empirical_epsilon_of_a_count);
	tcase_set_timeout(tc, 300);
	suite_add_tcase(s, tc);
	tc = tcase_create("local");
	tcase_add_checked_fixture(tc, setup_local, teardown);
	tcase_add_test(tc, many_policy_texts_verify);
	tcase_set_timeout(tc, 300);
	suite_add_tcase(s, tc);
	return s;
}
