/* The offline verifier replays every rule (issue 10): synthetic logs,
 * built and signed here with a test key, one honest and one for each
 * non-compliant shape a compromised node could re-sign. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "harness.h"
#include "learnvault/audit.h"
#include "learnvault/policy.h"
#include "learnvault/util.h"

#define ORIGIN "test.example/log"
#define T0 1767225600000LL /* 2026-01-01T00:00:00Z */
#define DAY UTIL_DAY_MS
#define PID "course-improvement"
#define REQ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define ANSWER "{\"count\":12,\"ci95\":[10,14]}"

static unsigned char pk[32], sk[64];
static char *vk;

/* A log being built: entry bodies (without index and time), their times,
 * and the policy texts the export ships. */
struct lg {
	UTIL_ARRAY(char *) body;
	UTIL_ARRAY(int64_t) t;
	UTIL_ARRAY(char *) texts;
};

static void put(struct lg *g, int64_t t, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void put(struct lg *g, int64_t t, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	ck_assert(n > 0 && (size_t)n < sizeof buf);
	ck_assert_int_eq(util_array_room(&g->body, 1 << 24), LV_OK);
	ck_assert_int_eq(util_array_room(&g->t, 1 << 24), LV_OK);
	g->body.v[g->body.n++] = strdup(buf);
	g->t.v[g->t.n++] = t;
}

static void ship(struct lg *g, char *text)
{
	ck_assert_int_eq(util_array_room(&g->texts, 1 << 24), LV_OK);
	g->texts.v[g->texts.n++] = text;
}

static void lg_free(struct lg *g)
{
	for (size_t i = 0; i < g->body.n; i++)
		free(g->body.v[i]);
	for (size_t i = 0; i < g->texts.n; i++)
		free(g->texts.v[i]);
	free(g->body.v);
	free(g->t.v);
	free(g->texts.v);
	memset(g, 0, sizeof *g);
}

/* The canonical text of course-improvement changed to @id, @version,
 * guardian age @age; its digest into @sha. */
static char *ptext(const char *id, int version, int age, char sha[LV_POLICY_DIGEST_HEX_LEN])
{
	char *raw = NULL, err[LV_POLICY_ERR_LEN];
	size_t len;
	ck_assert_int_eq(util_read_file(th_src("policies/course-improvement.json"), 65536, &raw, &len), LV_OK);
	cJSON *o = cJSON_Parse(raw);
	free(raw);
	cJSON_ReplaceItemInObject(o, "id", cJSON_CreateString(id));
	cJSON_ReplaceItemInObject(o, "version", cJSON_CreateNumber(version));
	cJSON_ReplaceItemInObject(o, "guardian_below_age", cJSON_CreateNumber(age));
	char *text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	struct lv_policy *p = NULL;
	ck_assert_int_eq(lv_policy_parse(text, strlen(text), &p, err), LV_OK);
	free(text);
	char *canon = lv_policy_canonical_text(p);
	lv_policy_digest_hex(p, sha);
	lv_policy_destroy(p);
	return canon;
}

/* The signed export of @g (origin ORIGIN, key sk). */
static char *lg_export(const struct lg *g)
{
	size_t n = g->body.n;
	unsigned char *leaves = malloc((n ? n : 1) * 32);
	cJSON *doc = cJSON_CreateObject(), *arr;
	cJSON_AddStringToObject(doc, "format", "learnvault-audit-log");
	cJSON_AddNumberToObject(doc, "version", 1);
	arr = cJSON_AddArrayToObject(doc, "policies");
	for (size_t i = 0; i < g->texts.n; i++)
		cJSON_AddItemToArray(arr, cJSON_CreateString(g->texts.v[i]));
	arr = cJSON_AddArrayToObject(doc, "entries");
	for (size_t i = 0; i < n; i++) {
		char t[UTIL_TIME_LEN], *e = malloc(strlen(g->body.v[i]) + 128);
		util_time_format(g->t.v[i], t);
		sprintf(e, "{\"index\":%zu,\"time\":\"%s\",%s}", i, t, g->body.v[i]);
		lv_merkle_hash_leaf(e, strlen(e), leaves + 32 * i);
		cJSON_AddItemToArray(arr, cJSON_CreateString(e));
		free(e);
	}
	struct lv_merkle *m = NULL;
	unsigned char root[32];
	char *note = NULL;
	size_t nl;
	ck_assert_int_eq(lv_merkle_create_from_leaves(leaves, n, &m), LV_OK);
	ck_assert_int_eq(lv_merkle_root_at(m, n, root), LV_OK);
	ck_assert_int_eq(lv_checkpoint_sign(ORIGIN, n, root, sk, &note, &nl), LV_OK);
	cJSON_AddStringToObject(doc, "checkpoint", note);
	char *out = cJSON_PrintUnformatted(doc);
	cJSON_Delete(doc);
	free(note);
	free(leaves);
	lv_merkle_destroy(m);
	return out;
}

/* Verifies @g (with @receipts); the report's "error" into @error, its
 * "entry" (-1: none) into *@entry; returns the status.  *@rep (may be
 * NULL) gets the parsed report (caller deletes). */
static enum lv_status check_log(const struct lg *g, const char *const *receipts, size_t nr, char error[256],
				long long *entry, cJSON **rep)
{
	char *json = lg_export(g), *report = NULL;
	enum lv_status st = lv_audit_verify_export_receipts(json, strlen(json), vk, NULL, receipts, nr, &report);
	free(json);
	ck_assert_ptr_nonnull(report);
	cJSON *r = cJSON_Parse(report);
	free(report);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(cJSON_IsTrue(cJSON_GetObjectItem(r, "ok")), st == LV_OK);
	const cJSON *e = cJSON_GetObjectItem(r, "error"), *i = cJSON_GetObjectItem(r, "entry");
	snprintf(error, 256, "%s", cJSON_IsString(e) ? e->valuestring : "");
	*entry = cJSON_IsNumber(i) ? (long long)i->valuedouble : -1;
	if (rep)
		*rep = r;
	else
		cJSON_Delete(r);
	return st;
}

/* Asserts @g is refused at entry @at (-1: no entry) with @needle in the
 * error. */
static void refused(const struct lg *g, long long at, const char *needle)
{
	char error[256];
	long long entry;
	enum lv_status st = check_log(g, NULL, 0, error, &entry, NULL);
	ck_assert_msg(st == LV_ERR_CRYPTO, "accepted (status %d), expected \"%s\"", st, needle);
	ck_assert_msg(strstr(error, needle), "error \"%s\" does not say \"%s\"", error, needle);
	ck_assert_msg(entry == at, "error \"%s\" at entry %lld, expected %lld", error, entry, at);
}

static void accepted(const struct lg *g)
{
	char error[256];
	long long entry;
	enum lv_status st = check_log(g, NULL, 0, error, &entry, NULL);
	ck_assert_msg(st == LV_OK, "refused at entry %lld: %s", entry, error);
}

static char sha1[LV_POLICY_DIGEST_HEX_LEN];

static void load(struct lg *g, int64_t t, const char *id, int version, const char *sha)
{
	put(g, t, "\"type\":\"policy\",\"action\":\"load\",\"policy\":\"%s\",\"version\":%d,\"sha256\":\"%s\"", id,
	    version, sha);
}

static void consent(struct lg *g, int64_t t, const char *event, const char *rec, const char *learner, int version,
		    const char *sha, const char *role)
{
	char until[UTIL_TIME_LEN];
	util_time_format(t + 365 * DAY, until);
	put(g, t, "\"type\":\"consent\",\"event\":\"%s\",\"record_id\":\"%s\",\"learner\":\"%s\",\"policy\":\"" PID "\","
	    "\"policy_version\":%d,\"policy_sha256\":\"%s\",\"actor_role\":\"%s\",\"actor\":\"cli\",\"valid_until\":\"%s\"",
	    event, rec, learner, version, sha, role, until);
}

static void acc(struct lg *g, int64_t t, const char *learner, const char *rec, int version)
{
	put(g, t, "\"type\":\"access\",\"decision\":\"allow\",\"role\":\"analyst\",\"actor\":\"an1\",\"purpose\":\"" PID "\","
	    "\"policy_version\":%d,\"consent_record\":\"%s\",\"learner\":\"%s\",\"operation\":\"count\","
	    "\"scope\":{\"verbs\":[\"http://adlnet.gov/expapi/verbs/completed\"],\"activity_types\":[],\"result_fields\":[]},"
	    "\"count\":1",
	    version, rec, learner);
}

static void agg(struct lg *g, int64_t t, const char *learner, const char *rec, const char *qid, double eps)
{
	put(g, t, "\"type\":\"access\",\"decision\":\"allow\",\"role\":\"analyst\",\"actor\":\"an1\",\"purpose\":\"" PID "\","
	    "\"policy_version\":1,\"consent_record\":\"%s\",\"learner\":\"%s\",\"resource\":\"aggregate\","
	    "\"operation\":\"count\",\"count\":1,\"query_id\":\"%s\",\"epsilon\":%g",
	    rec, learner, qid, eps);
}

static void release(struct lg *g, int64_t t, const char *qid, int included, double eps, long long day)
{
	put(g, t, "\"type\":\"release\",\"role\":\"analyst\",\"actor\":\"an1\",\"purpose\":\"" PID "\",\"policy_version\":1,"
	    "\"query_id\":\"%s\",\"request_sha256\":\"" REQ "\",\"learners_included\":%d,\"answer\":" ANSWER ","
	    "\"epsilon\":%g,\"budget_day\":%lld",
	    qid, included, eps, day);
}

/* The honest log every shape starts from (13 entries):
 *  0 load v1; 1 enrol A; 2 A born 2000; 3 A grants (learner); 4 access A;
 *  5 A reads own data; 6 enrol B (no birth date: a minor); 7 B's guardian
 *  grants; 8, 9 aggregate accesses of A, B for q1; 10 release q1;
 *  11 erasure of B; 12 B enrolled again. */
static void honest(struct lg *g)
{
	int64_t t = T0 + 3600000;
	ship(g, ptext(PID, 1, 13, sha1));
	load(g, t, PID, 1, sha1);
	put(g, t + 1, "\"type\":\"enrolment\",\"learner\":\"A\"");
	put(g, t + 2, "\"type\":\"birth_date\",\"learner\":\"A\",\"birth_date\":\"2000-05-01\"");
	consent(g, t + 3, "ConsentGiven", "rA", "A", 1, sha1, "learner");
	acc(g, t + 4, "A", "rA", 1);
	put(g, t + 5, "\"type\":\"access\",\"decision\":\"allow\",\"role\":\"learner\",\"actor\":\"c1\","
	    "\"purpose\":\"learner-right-of-access\",\"learner\":\"A\",\"resource\":\"statements\",\"count\":3");
	put(g, t + 6, "\"type\":\"enrolment\",\"learner\":\"B\"");
	consent(g, t + 7, "ConsentGiven", "rB", "B", 1, sha1, "guardian");
	agg(g, t + 8, "A", "rA", "q1", 0.5);
	agg(g, t + 8, "B", "rB", "q1", 0.5);
	release(g, t + 9, "q1", 2, 0.5, (t + 9) / DAY);
	put(g, t + 10, "\"type\":\"erasure\",\"learner\":\"B\",\"consents_ended\":[{\"policy\":\"" PID "\",\"record_id\":\"rB\"}]");
	put(g, t + 11, "\"type\":\"enrolment\",\"learner\":\"B\"");
}

#define T1 (T0 + 2 * DAY) /* after the honest log */

static void setup(void)
{
	crypto_sign_keypair(pk, sk);
	ck_assert_int_eq(lv_note_vkey(ORIGIN, pk, &vk), LV_OK);
}

static void teardown(void)
{
	sodium_memzero(sk, sizeof sk);
	free(vk);
	vk = NULL;
}

START_TEST(honest_log_passes_with_counts)
{
	struct lg g = {0};
	honest(&g);
	char error[256];
	long long entry;
	cJSON *rep = NULL;
	ck_assert_int_eq(check_log(&g, NULL, 0, error, &entry, &rep), LV_OK);
	ck_assert_int_eq(cJSON_GetObjectItem(rep, "access_entries")->valueint, 4);
	ck_assert_int_eq(cJSON_GetObjectItem(rep, "access_checked_against_consent")->valueint, 3);
	ck_assert_int_eq(cJSON_GetObjectItem(rep, "releases_checked")->valueint, 1);
	ck_assert_int_eq(cJSON_GetObjectItem(rep, "consent_entries")->valueint, 2);
	ck_assert_int_eq(cJSON_GetObjectItem(rep, "erasures")->valueint, 1);
	const cJSON *pols = cJSON_GetObjectItem(rep, "policies");
	ck_assert_int_eq(cJSON_GetArraySize(pols), 1);
	const cJSON *p0 = cJSON_GetArrayItem(pols, 0);
	ck_assert_str_eq(cJSON_GetObjectItem(p0, "policy")->valuestring, PID);
	ck_assert_str_eq(cJSON_GetObjectItem(p0, "sha256")->valuestring, sha1);
	ck_assert_int_eq(cJSON_GetObjectItem(p0, "entry")->valueint, 0);
	cJSON_Delete(rep);
	lg_free(&g);
}
END_TEST

START_TEST(builtin_purposes_only_for_their_roles)
{
	static const char *const shapes[][2] = {{"learner-right-of-access", "analyst"},
						{"learner-request-by-operator", "analyst"},
						{"learner-request-by-operator", "learner"},
						{"xapi-provider-readback", "admin"}};
	for (size_t k = 0; k < 4; k++) {
		struct lg g = {0};
		honest(&g);
		put(&g, T1, "\"type\":\"access\",\"decision\":\"allow\",\"role\":\"%s\",\"actor\":\"x\",\"purpose\":\"%s\","
		    "\"learner\":\"A\",\"count\":1", shapes[k][1], shapes[k][0]);
		refused(&g, 13, "which it does not belong to");
		lg_free(&g);
	}
	/* The same entries with their own roles pass. */
	struct lg g = {0};
	honest(&g);
	put(&g, T1, "\"type\":\"access\",\"decision\":\"allow\",\"role\":\"admin\",\"actor\":\"cli\","
	    "\"purpose\":\"learner-request-by-operator\",\"learner\":\"A\",\"count\":1");
	put(&g, T1, "\"type\":\"access\",\"decision\":\"allow\",\"role\":\"provider\",\"actor\":\"p\","
	    "\"purpose\":\"xapi-provider-readback\",\"learner\":\"A\",\"count\":1");
	accepted(&g);
	lg_free(&g);
}
END_TEST

START_TEST(access_on_an_older_version_after_a_newer_load)
{
	char sha2[LV_POLICY_DIGEST_HEX_LEN];
	struct lg g = {0};
	honest(&g);
	ship(&g, ptext(PID, 2, 13, sha2));
	load(&g, T1, PID, 2, sha2);
	acc(&g, T1 + 1, "A", "rA", 1);
	refused(&g, 14, "re-consent rule");
	lg_free(&g);
	/* Resting on the old grant while naming the new version: no grant. */
	honest(&g);
	ship(&g, ptext(PID, 2, 13, sha2));
	load(&g, T1, PID, 2, sha2);
	acc(&g, T1 + 1, "A", "rA", 2);
	refused(&g, 14, "without a live grant");
	lg_free(&g);
	/* After consenting to version 2: fine. */
	honest(&g);
	ship(&g, ptext(PID, 2, 13, sha2));
	load(&g, T1, PID, 2, sha2);
	consent(&g, T1 + 1, "ConsentGiven", "rA2", "A", 2, sha2, "learner");
	acc(&g, T1 + 2, "A", "rA2", 2);
	accepted(&g);
	lg_free(&g);
}
END_TEST

START_TEST(time_never_goes_backwards)
{
	struct lg g = {0};
	honest(&g);
	put(&g, T0, "\"type\":\"enrolment\",\"learner\":\"C\"");
	refused(&g, 13, "time goes backwards");
	lg_free(&g);
	/* Equal times are fine (the node writes max(now, last)). */
	honest(&g);
	put(&g, g.t.v[g.t.n - 1], "\"type\":\"enrolment\",\"learner\":\"C\"");
	accepted(&g);
	lg_free(&g);
}
END_TEST

START_TEST(consent_digest_and_actor_role)
{
	char other[LV_POLICY_DIGEST_HEX_LEN];
	memset(other, 'b', 64);
	other[64] = '\0';
	struct lg g = {0};
	honest(&g);
	consent(&g, T1, "ConsentWithdrawn", "rA9", "A", 1, other, "learner");
	refused(&g, 13, "policy_sha256 differs from the logged load");
	lg_free(&g);
	honest(&g);
	consent(&g, T1, "ConsentWithdrawn", "rA9", "A", 1, sha1, "admin");
	refused(&g, 13, "actor role is not learner or guardian");
	lg_free(&g);
	honest(&g);
	consent(&g, T1, "ConsentGiven", "rA9", "A", 1, sha1, "system");
	refused(&g, 13, "actor role is not learner or guardian");
	lg_free(&g);
	/* system, for an expiry: fine. */
	honest(&g);
	consent(&g, T1, "ConsentExpired", "rA9", "A", 1, sha1, "system");
	accepted(&g);
	lg_free(&g);
	/* A version never loaded, or loaded only later. */
	honest(&g);
	consent(&g, T1, "ConsentGiven", "rA9", "A", 3, sha1, "learner");
	refused(&g, 13, "not loaded before it");
	lg_free(&g);
}
END_TEST

START_TEST(guardian_rule_for_deciders_and_accesses)
{
	struct lg g = {0};
	/* B has no birth date: only a guardian decides. */
	honest(&g);
	consent(&g, T1, "ConsentGiven", "rB2", "B", 1, sha1, "learner");
	refused(&g, 13, "a learner decided while below");
	lg_free(&g);
	/* A is an adult: a guardian may not decide. */
	honest(&g);
	consent(&g, T1, "ConsentWithdrawn", "rA9", "A", 1, sha1, "guardian");
	refused(&g, 13, "a guardian decided for a learner at or above");
	lg_free(&g);
	/* A's logged birth date changes to a minor's: A's own grant no longer
	 * counts at the next access (lv_consent_evaluate). */
	honest(&g);
	put(&g, T1, "\"type\":\"birth_date\",\"learner\":\"A\",\"birth_date\":\"2020-01-01\"");
	acc(&g, T1 + 1, "A", "rA", 1);
	refused(&g, 14, "guardian");
	lg_free(&g);
}
END_TEST


/* A guardian's grant stops counting the day the learner reaches the
 * policy's age: C turns 13 on 2026-01-06 (T0 + 5 days). */
START_TEST(guardian_grant_ends_at_the_age)
{
	struct lg g = {0};
	honest(&g);
	put(&g, T1, "\"type\":\"enrolment\",\"learner\":\"C\"");
	put(&g, T1, "\"type\":\"birth_date\",\"learner\":\"C\",\"birth_date\":\"2013-01-06\"");
	consent(&g, T1 + 1, "ConsentGiven", "rC", "C", 1, sha1, "guardian");
	acc(&g, T1 + 2, "C", "rC", 1);
	accepted(&g);
	acc(&g, T0 + 6 * DAY, "C", "rC", 1);
	refused(&g, 17, "reached age 13");
	lg_free(&g);
}
END_TEST

/* After the first violation a later policy load is still matched to its
 * text: the report names the violation, not "a text no load vouches for". */
START_TEST(first_violation_named_before_later_loads)
{
	char sha2[LV_POLICY_DIGEST_HEX_LEN];
	struct lg g = {0};
	honest(&g);
	acc(&g, T1, "A", "r-no-such-grant", 1);
	ship(&g, ptext(PID, 2, 13, sha2));
	load(&g, T1 + 1, PID, 2, sha2);
	refused(&g, 13, "not the learner's latest grant");
	lg_free(&g);
	/* A later load whose text is missing still proves tampering, and that
	 * outranks the rule violation before it. */
	honest(&g);
	acc(&g, T1, "A", "r-no-such-grant", 1);
	load(&g, T1 + 1, PID, 2, sha1);
	refused(&g, 14, "no matching text");
	lg_free(&g);
}
END_TEST

START_TEST(no_access_after_erasure)
{
	struct lg g = {0};
	/* B was erased at 11 and enrolled again at 12: the old grant is gone. */
	honest(&g);
	acc(&g, T1, "B", "rB", 1);
	refused(&g, 13, "without a live grant");
	lg_free(&g);
	/* Between erasure and re-enrolment, nothing at all is allowed. */
	honest(&g);
	put(&g, T1, "\"type\":\"erasure\",\"learner\":\"A\",\"consents_ended\":[]");
	put(&g, T1, "\"type\":\"access\",\"decision\":\"allow\",\"role\":\"admin\",\"actor\":\"cli\","
	    "\"purpose\":\"learner-request-by-operator\",\"learner\":\"A\",\"count\":1");
	refused(&g, 14, "after the learner's erasure");
	lg_free(&g);
	/* An erasure whose consents_ended leaves a grant out ends it all the same. */
	honest(&g);
	put(&g, T1, "\"type\":\"erasure\",\"learner\":\"A\",\"consents_ended\":[]");
	put(&g, T1, "\"type\":\"enrolment\",\"learner\":\"A\"");
	acc(&g, T1 + 1, "A", "rA", 1);
	refused(&g, 15, "without a live grant");
	lg_free(&g);
	/* A denial after erasure is no violation; a new guardian grant (the
	 * birth date was erased too) makes a new access compliant. */
	honest(&g);
	put(&g, T1, "\"type\":\"access\",\"decision\":\"deny\",\"role\":\"analyst\",\"actor\":\"an1\",\"purpose\":\"" PID "\","
	    "\"learner\":\"B\",\"count\":0");
	consent(&g, T1 + 1, "ConsentGiven", "rB2", "B", 1, sha1, "guardian");
	acc(&g, T1 + 2, "B", "rB2", 1);
	accepted(&g);
	lg_free(&g);
}
END_TEST

START_TEST(releases_match_their_accesses)
{
	long long day = T1 / DAY;
	struct lg g = {0};
	/* learners_included says 3, two accesses. */
	honest(&g);
	agg(&g, T1, "A", "rA", "q2", 0.5);
	release(&g, T1, "q2", 3, 0.5, day);
	refused(&g, 14, "learners_included (3) differs");
	lg_free(&g);
	/* A release with learners but no access entries. */
	honest(&g);
	release(&g, T1, "q2", 4, 0.5, day);
	refused(&g, 13, "has no access entries");
	lg_free(&g);
	/* Accesses whose release never comes. */
	honest(&g);
	agg(&g, T1, "A", "rA", "q2", 0.5);
	put(&g, T1, "\"type\":\"enrolment\",\"learner\":\"C\"");
	refused(&g, 13, "never released");
	lg_free(&g);
	/* ... or another release comes first. */
	honest(&g);
	agg(&g, T1, "A", "rA", "q2", 0.5);
	release(&g, T1, "q3", 0, 0.5, day);
	refused(&g, 13, "never released");
	lg_free(&g);
	/* An access's ε differs from its release's. */
	honest(&g);
	agg(&g, T1, "A", "rA", "q2", 0.25);
	release(&g, T1, "q2", 1, 0.5, day);
	refused(&g, 13, "epsilon differs");
	lg_free(&g);
	/* An aggregate access with no query id escapes the accounting. */
	honest(&g);
	put(&g, T1, "\"type\":\"access\",\"decision\":\"allow\",\"role\":\"analyst\",\"actor\":\"an1\",\"purpose\":\"" PID "\","
	    "\"policy_version\":1,\"consent_record\":\"rA\",\"learner\":\"A\",\"resource\":\"aggregate\",\"count\":1");
	refused(&g, 13, "no query_id");
	lg_free(&g);
}
END_TEST

START_TEST(release_epsilon_and_budget_day)
{
	long long day = T1 / DAY;
	struct lg g = {0};
	/* ε above epsilon_per_query_max (1). */
	honest(&g);
	agg(&g, T1, "A", "rA", "q2", 1.5);
	release(&g, T1, "q2", 1, 1.5, day);
	refused(&g, 14, "epsilon_per_query_max");
	lg_free(&g);
	/* A budget day two days back, or ahead. */
	honest(&g);
	release(&g, T1, "q2", 0, 0.5, day - 2);
	refused(&g, 13, "budget_day");
	lg_free(&g);
	honest(&g);
	release(&g, T1, "q2", 0, 0.5, day + 1);
	refused(&g, 13, "budget_day");
	lg_free(&g);
	/* No ε at all (a node before this issue): refused. */
	honest(&g);
	put(&g, T1, "\"type\":\"release\",\"role\":\"analyst\",\"actor\":\"an1\",\"purpose\":\"" PID "\","
	    "\"policy_version\":1,\"query_id\":\"q2\",\"request_sha256\":\"" REQ "\",\"learners_included\":0,\"answer\":{}");
	refused(&g, 13, "no epsilon");
	lg_free(&g);
	/* The day before (phase 3 began before midnight): fine. */
	honest(&g);
	release(&g, T1, "q2", 0, 0.5, day - 1);
	accepted(&g);
	lg_free(&g);
}
END_TEST

START_TEST(purpose_and_learner_budgets)
{
	/* Budget 4 over 90 days: the honest log spent 0.5; seven releases of
	 * 0.5 fit exactly, the eighth overruns. */
	struct lg g = {0};
	honest(&g);
	for (int k = 0; k < 7; k++)
		release(&g, T1 + k * DAY, "qp", 0, 0.5, (T1 + k * DAY) / DAY);
	accepted(&g);
	release(&g, T1 + 7 * DAY, "qp", 0, 0.5, (T1 + 7 * DAY) / DAY);
	refused(&g, 20, "overruns the purpose's epsilon budget");
	lg_free(&g);
	/* Outside the window the old spend no longer counts. */
	honest(&g);
	for (int k = 0; k < 7; k++)
		release(&g, T1 + k * DAY, "qp", 0, 0.5, (T1 + k * DAY) / DAY);
	int64_t later = T1 + 100 * DAY;
	release(&g, later, "qp", 0, 1, later / DAY);
	accepted(&g);
	lg_free(&g);
	/* A learner counted twice in each release: the purpose spends 1 a
	 * release, A spends 2; A's budget (4, of which 0.5 spent) overruns
	 * in the second release's second access. */
	honest(&g);
	for (int k = 0; k < 2; k++) {
		int64_t t = T1 + k * DAY;
		char qid[8];
		snprintf(qid, sizeof qid, "d%d", k);
		agg(&g, t, "A", "rA", qid, 1);
		agg(&g, t, "A", "rA", qid, 1);
		release(&g, t, qid, 2, 1, t / DAY);
	}
	refused(&g, 17, "overruns the learner's epsilon budget");
	lg_free(&g);
}
END_TEST

START_TEST(policy_texts_match_loads)
{
	char sha2[LV_POLICY_DIGEST_HEX_LEN];
	/* A text no load vouches for (appended). */
	struct lg g = {0};
	honest(&g);
	ship(&g, ptext(PID, 2, 13, sha2));
	refused(&g, -1, "a policy text in the export matches no logged load");
	lg_free(&g);
	/* A load whose text was removed. */
	honest(&g);
	free(g.texts.v[0]);
	g.texts.n = 0;
	refused(&g, 0, "no matching text");
	lg_free(&g);
	/* An edited text (guardian age 10 instead of 13): the load's digest
	 * no longer matches, so the export is tampered, not non-compliant. */
	honest(&g);
	free(g.texts.v[0]);
	char shax[LV_POLICY_DIGEST_HEX_LEN];
	g.texts.v[0] = ptext(PID, 1, 10, shax);
	refused(&g, 0, "no matching text");
	lg_free(&g);
}
END_TEST

/* @np policies with @nv versions each, all loaded and shipped. */
static void many_policies(int np, int nv)
{
	struct lg g = {0};
	int64_t t = T0;
	for (int p = 0; p < np; p++)
		for (int v = 1; v <= nv; v++) {
			char id[32], sha[LV_POLICY_DIGEST_HEX_LEN];
			snprintf(id, sizeof id, "policy-%d", p);
			ship(&g, ptext(id, v, 13, sha));
			load(&g, t++, id, v, sha);
		}
	char error[256];
	long long entry;
	cJSON *rep = NULL;
	ck_assert_msg(check_log(&g, NULL, 0, error, &entry, &rep) == LV_OK, "%s", error);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(rep, "policies")), np * nv);
	cJSON_Delete(rep);
	lg_free(&g);
}

START_TEST(no_cap_on_policy_texts)
{
	many_policies(13, 5);
	many_policies(60, 5);
}
END_TEST

/* A receipt note for (@actor, @qid, @req, @answer) signed with the test key. */
static char *receipt(const char *origin, const char *actor, const char *qid, const char *req, const char *answer)
{
	struct lv_release_receipt r = {0};
	snprintf(r.origin, sizeof r.origin, "%s", origin);
	snprintf(r.actor, sizeof r.actor, "%s", actor);
	snprintf(r.query_id, sizeof r.query_id, "%s", qid);
	snprintf(r.request_sha256, sizeof r.request_sha256, "%s", req);
	lv_release_answer_sha256(answer, strlen(answer), r.answer_sha256);
	char *note = NULL;
	size_t len;
	ck_assert_int_eq(lv_release_receipt_sign(&r, sk, &note, &len), LV_OK);
	return note;
}

static void receipt_refused(const struct lg *g, char *note, const char *needle)
{
	char error[256];
	long long entry;
	const char *rs[] = {note};
	ck_assert_int_eq(check_log(g, rs, 1, error, &entry, NULL), LV_ERR_CRYPTO);
	ck_assert_msg(strstr(error, needle), "error \"%s\" does not say \"%s\"", error, needle);
	free(note);
}

START_TEST(receipts_name_one_release)
{
	struct lg g = {0};
	honest(&g);
	char *good = receipt(ORIGIN, "an1", "q1", REQ, ANSWER);
	const char *rs[] = {good};
	char error[256];
	long long entry;
	cJSON *rep = NULL;
	ck_assert_msg(check_log(&g, rs, 1, error, &entry, &rep) == LV_OK, "%s", error);
	const cJSON *r0 = cJSON_GetArrayItem(cJSON_GetObjectItem(rep, "receipts"), 0);
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(r0, "ok")));
	ck_assert_int_eq(cJSON_GetObjectItem(r0, "entry")->valueint, 10);
	cJSON_Delete(rep);
	receipt_refused(&g, receipt(ORIGIN, "an1", "q1", REQ, "{\"count\":13,\"ci95\":[10,14]}"), "answer");
	receipt_refused(&g, receipt(ORIGIN, "an1", "q1",
				    "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", ANSWER),
			"request_sha256");
	receipt_refused(&g, receipt(ORIGIN, "an2", "q1", REQ, ANSWER), "no release entry");
	receipt_refused(&g, receipt("other.example/log", "an1", "q1", REQ, ANSWER), "does not verify");
	/* Two release entries for one receipt. */
	release(&g, T1, "q1", 0, 0.5, T1 / DAY);
	const char *again[] = {good};
	ck_assert_int_eq(check_log(&g, again, 1, error, &entry, NULL), LV_ERR_CRYPTO);
	ck_assert_ptr_nonnull(strstr(error, "more than one"));
	free(good);
	lg_free(&g);
}
END_TEST

/* 10^5 learners, each enrolled, granting and read once: the replay keeps
 * O(1) work per entry (a run well inside the test timeout). */
START_TEST(large_log)
{
	struct lg g = {0};
	int64_t t = T0 + 3600000;
	ship(&g, ptext(PID, 1, 0, sha1));
	load(&g, t, PID, 1, sha1);
	for (int k = 0; k < 50000; k++) {
		char who[16], rec[16];
		snprintf(who, sizeof who, "L%d", k);
		snprintf(rec, sizeof rec, "r%d", k);
		put(&g, t, "\"type\":\"enrolment\",\"learner\":\"%s\"", who);
		consent(&g, t, "ConsentGiven", rec, who, 1, sha1, "learner");
		acc(&g, t, who, rec, 1);
		agg(&g, t, who, rec, "big", 0.5);
	}
	release(&g, t, "big", 50000, 0.5, t / DAY);
	accepted(&g);
	lg_free(&g);
}
END_TEST

Suite *lv_test_suite(void)
{
	Suite *s = suite_create("logverify");
	TCase *tc = tcase_create("replay");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, honest_log_passes_with_counts);
	tcase_add_test(tc, builtin_purposes_only_for_their_roles);
	tcase_add_test(tc, access_on_an_older_version_after_a_newer_load);
	tcase_add_test(tc, time_never_goes_backwards);
	tcase_add_test(tc, consent_digest_and_actor_role);
	tcase_add_test(tc, guardian_rule_for_deciders_and_accesses);
	tcase_add_test(tc, guardian_grant_ends_at_the_age);
	tcase_add_test(tc, first_violation_named_before_later_loads);
	tcase_add_test(tc, no_access_after_erasure);
	tcase_add_test(tc, releases_match_their_accesses);
	tcase_add_test(tc, release_epsilon_and_budget_day);
	tcase_add_test(tc, purpose_and_learner_budgets);
	suite_add_tcase(s, tc);
	tc = tcase_create("policies");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, policy_texts_match_loads);
	tcase_add_test(tc, no_cap_on_policy_texts);
	suite_add_tcase(s, tc);
	tc = tcase_create("receipts");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, receipts_name_one_release);
	suite_add_tcase(s, tc);
	tc = tcase_create("scale");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, large_log);
	suite_add_tcase(s, tc);
	return s;
}
