/* The aggregate door: cohort, budget, cache, suppression, filters, noise
 * calibration, the audit trail, and the HTTP route with every role. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <sodium.h>

#include "learnvault/door.h"
#include "harness.h"
#include "http-client.h"
#include "learnvault/audit.h"
#include "learnvault/auditlog.h"
#include "learnvault/consent.h"
#include "learnvault/personal.h"
#include "learnvault/query.h"
#include "learnvault/recommend.h"
#include "learnvault/server.h"
#include "learnvault/statements.h"
#include "query/query.h"
#include "store/store.h"

#define NL 40          /* learners */
#define NCONSENT 30    /* of whom consent */
#define POLICY "agg-test"
#define V_COMPLETED "http://adlnet.gov/expapi/verbs/completed"
#define V_PASSED "http://adlnet.gov/expapi/verbs/passed"
#define V_EXPERIENCED "http://adlnet.gov/expapi/verbs/experienced"
#define T_ASSESSMENT "http://adlnet.gov/expapi/activities/assessment"
#define T_MEETING "http://adlnet.gov/expapi/activities/meeting"
#define COURSE "http://example.com/course/fractions"
#define REG "ec531277-b57b-4c15-8d91-d292c5b2b8f7"

static char dir[512];
static struct lv_node *node;
static char learners[NL][LV_PSEUDONYM_LEN];
static struct lv_principal provider, admin, analyst, other_analyst;
static char vkey[256];

/* A policy allowing every operation, eps_max @eps_max, budget @budget. */
static void load_policy(const char *id, double eps_max, double budget, int min_cohort)
{
	char *text = NULL, err[LV_POLICY_ERR_LEN], pid[LV_POLICY_ID_MAX + 1];
	size_t len;
	uint32_t version;
	bool added;
	ck_assert_int_eq(util_read_file(th_src("policies/course-improvement.json"), 65536, &text, &len), LV_OK);
	cJSON *p = cJSON_Parse(text);
	free(text);
	cJSON_ReplaceItemInObjectCaseSensitive(p, "id", cJSON_CreateString(id));
	cJSON_ReplaceItemInObjectCaseSensitive(p, "guardian_below_age", cJSON_CreateNumber(0));
	cJSON *ops = cJSON_CreateArray();
	const char *names[] = {"count", "sum", "mean", "histogram", "quantile"};
	for (int i = 0; i < 5; i++)
		cJSON_AddItemToArray(ops, cJSON_CreateString(names[i]));
	cJSON_ReplaceItemInObjectCaseSensitive(p, "operations", ops);
	cJSON *priv = cJSON_GetObjectItemCaseSensitive(p, "privacy");
	cJSON_ReplaceItemInObjectCaseSensitive(priv, "epsilon_per_query_max", cJSON_CreateNumber(eps_max));
	cJSON_ReplaceItemInObjectCaseSensitive(priv, "epsilon_budget", cJSON_CreateNumber(budget));
	cJSON_ReplaceItemInObjectCaseSensitive(priv, "min_cohort", cJSON_CreateNumber(min_cohort));
	cJSON_ReplaceItemInObjectCaseSensitive(priv, "budget_window_days", cJSON_CreateNumber(30));
	text = cJSON_Print(p);
	cJSON_Delete(p);
	ck_assert_msg(lv_policy_load(node, text, strlen(text), &added, pid, &version, err) == LV_OK, "%s", err);
	free(text);
}

/* Stores one statement for learner @i. @score < -1: no score. */
static void put(int i, const char *verb, const char *activity, const char *type, double score, int success,
		const char *extra_context, const char *timestamp, char id_out[37])
{
	char body[2048], score_s[64] = "", succ_s[32] = "", ts[96] = "", id[37];
	util_uuid_v4(id);
	if (score >= -1)
		snprintf(score_s, sizeof score_s, "\"score\":{\"scaled\":%.4f},", score);
	if (success >= 0)
		snprintf(succ_s, sizeof succ_s, "\"success\":%s,", success ? "true" : "false");
	if (timestamp)
		snprintf(ts, sizeof ts, "\"timestamp\":\"%s\",", timestamp);
	snprintf(body, sizeof body,
		 "{\"id\":\"%s\",%s\"actor\":{\"mbox\":\"mailto:l%d@school.example\"},"
		 "\"verb\":{\"id\":\"%s\"},\"object\":{\"id\":\"%s\",\"definition\":{\"type\":\"%s\"}},"
		 "\"result\":{%s%s\"duration\":\"PT%dM\"}%s%s}",
		 id, ts, i, verb, activity, type, score_s, succ_s, 10 + i, extra_context ? "," : "",
		 extra_context ? extra_context : "");
	cJSON *b = cJSON_Parse(body);
	ck_assert_ptr_nonnull(b);
	cJSON *arr = cJSON_CreateArray();
	cJSON_AddItemToArray(arr, b);
	char err[LV_ERR_TEXT];
	ck_assert_msg(lv_ingest(node, &provider, arr, NULL, 0, err) == LV_OK, "%s", err);
	cJSON_Delete(arr);
	if (id_out)
		memcpy(id_out, id, 37);
}

static void grant(int i, const char *policy)
{
	char rid[LV_RECORD_ID_LEN], err[LV_CONSENT_ERR_LEN];
	ck_assert_msg(lv_consent_decide(node, &admin, LV_ROLE_LEARNER, learners[i], policy, 0, true, rid, err) == LV_OK,
		      "%s", err);
}

static void setup(void)
{
	char *vk = NULL;
	snprintf(dir, sizeof dir, "%s/node", th_tmpdir());
	ck_assert_int_eq(lv_node_init(dir, NULL, NULL, &vk), LV_OK);
	snprintf(vkey, sizeof vkey, "%s", vk);
	free(vk);
	ck_assert_int_eq(lv_node_open(dir, NULL, NULL, &node), LV_OK);
	provider = (struct lv_principal){.role = LV_ROLE_PROVIDER, .id = "lms"};
	admin = (struct lv_principal){.role = LV_ROLE_ADMIN, .id = "admin"};
	analyst = (struct lv_principal){.role = LV_ROLE_ANALYST, .id = "analyst-1", .npurposes = 2};
	analyst.purposes[0] = POLICY;
	analyst.purposes[1] = "agg-precise";
	other_analyst = (struct lv_principal){.role = LV_ROLE_ANALYST, .id = "analyst-2", .npurposes = 1};
	other_analyst.purposes[0] = "course-improvement";
	/* Many queries run here: no time quantum (one test sets it). */
	ck_assert_int_eq(lv_node_setting_set(node, "aggregate_time_quantum_ms", "0"), LV_OK);
	load_policy(POLICY, 1, 100, 20);
	load_policy("agg-precise", 20, 100, 1);
	/* Learner i: one assessment "completed" in the course, score (i % 10) / 10,
	 * success i % 2. */
	for (int i = 0; i < NL; i++) {
		char ctx[256], actor[96];
		snprintf(ctx, sizeof ctx, "\"context\":{\"contextActivities\":{\"parent\":[{\"id\":\"%s\"}]}}", COURSE);
		put(i, V_COMPLETED, "http://example.com/quiz/1", T_ASSESSMENT, (i % 10) / 10.0, i % 2, ctx, NULL, NULL);
		snprintf(actor, sizeof actor, "{\"mbox\":\"mailto:l%d@school.example\"}", i);
		bool created;
		ck_assert_int_eq(lv_learner_enrol(node, actor, learners[i], &created), LV_OK);
		ck_assert(!created);
		if (i < NCONSENT) {
			grant(i, POLICY);
			grant(i, "agg-precise");
		}
	}
}

static void teardown(void)
{
	query_test_hook = NULL;
	lv_node_close(node);
	node = NULL;
	th_rmtree(dir);
}

/* Runs a query; returns the parsed answer (LV_OK expected). */
static cJSON *ask(const struct lv_principal *who, const char *q)
{
	char *ans = NULL, err[LV_QUERY_ERR_LEN];
	enum lv_status st = lv_aggregate(node, who, q, strlen(q), util_now_ms(), &ans, err);
	ck_assert_msg(st == LV_OK, "query %s: %s (%s)", q, err, lv_status_str(st));
	cJSON *a = cJSON_Parse(ans);
	free(ans);
	ck_assert_ptr_nonnull(a);
	return a;
}

static enum lv_status ask_fail(const struct lv_principal *who, const char *q, char err[LV_QUERY_ERR_LEN])
{
	char *ans = NULL;
	enum lv_status st = lv_aggregate(node, who, q, strlen(q), util_now_ms(), &ans, err);
	ck_assert_ptr_null(ans);
	ck_assert_int_ne(st, LV_OK);
	ck_assert(err[0] != '\0');
	return st;
}

static double num(const cJSON *a, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(a, k);
	ck_assert_msg(cJSON_IsNumber(v), "%s is not a number", k);
	return v->valuedouble;
}

/* Precise counts: at epsilon 20 the discrete Laplace noise of a count is
 * non-zero with probability 2e^-20/(1+e^-20) < 5e-9. */
static double precise_count(const char *filters)
{
	char q[2048];
	snprintf(q, sizeof q, "{\"purpose\":\"agg-precise\",\"metric\":\"count\",\"epsilon\":20%s%s%s}",
		 filters ? ",\"filters\":" : "", filters ? filters : "", "");
	cJSON *a = ask(&analyst, q);
	double v = num(a, "noisy_learners"); /* the value itself, even when suppressed */
	cJSON_Delete(a);
	/* Each precise query spends 20 of the 100: start every check afresh. */
	ck_assert_int_eq(db_exec(node->db, "DELETE FROM dp_releases; DELETE FROM dp_spend;"), LV_OK);
	return v;
}

/* The audit entries of one query: access entries (learners) and releases. */
static void audit_counts(const char *query_id, int *access, int *releases, const char *learner, bool *learner_seen)
{
	char *json = NULL;
	ck_assert_int_eq(lv_audit_export(node, &json), LV_OK);
	cJSON *log = cJSON_Parse(json);
	free(json);
	*access = *releases = 0;
	if (learner_seen)
		*learner_seen = false;
	const cJSON *e;
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(log, "entries")) {
		cJSON *j = cJSON_Parse(e->valuestring);
		const char *qid = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "query_id"));
		const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "type"));
		if (qid && strcmp(qid, query_id) == 0) {
			if (strcmp(type, "access") == 0) {
				(*access)++;
				const char *l = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "learner"));
				if (learner && l && strcmp(l, learner) == 0)
					*learner_seen = true;
				ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "resource")), "aggregate");
			} else if (strcmp(type, "release") == 0) {
				(*releases)++;
			}
		}
		cJSON_Delete(j);
	}
	cJSON_Delete(log);
}

/* The release entry of @qid in the log, parsed (caller deletes). */
static cJSON *release_entry(const char *qid)
{
	char *json = NULL;
	cJSON *found = NULL;
	ck_assert_int_eq(lv_audit_export(node, &json), LV_OK);
	cJSON *log = cJSON_Parse(json);
	free(json);
	const cJSON *e;
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(log, "entries")) {
		cJSON *j = cJSON_Parse(e->valuestring);
		const char *q = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "query_id"));
		const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "type"));
		if (q && strcmp(q, qid) == 0 && strcmp(type, "release") == 0) {
			ck_assert_ptr_null(found);
			found = j;
		} else {
			cJSON_Delete(j);
		}
	}
	cJSON_Delete(log);
	ck_assert_msg(found != NULL, "no release entry for %s", qid);
	return found;
}

/* The node's log, exported, verifies offline (every rule replayed). */
static void audit_verifies(void)
{
	char *json = NULL, *report = NULL;
	ck_assert_int_eq(lv_audit_export(node, &json), LV_OK);
	enum lv_status st = lv_audit_verify_export(json, strlen(json), vkey, NULL, &report);
	ck_assert_msg(st == LV_OK, "%s", report);
	free(json);
	free(report);
}

START_TEST(only_consenting_learners_are_included_and_logged)
{
	cJSON *a = ask(&analyst, "{\"id\":\"q-count-1\",\"purpose\":\"" POLICY "\",\"metric\":\"count\",\"epsilon\":1}");
	/* 30 consenting learners; noise at epsilon 1 beyond 11 has probability < 1e-4. */
	ck_assert(fabs(num(a, "value") - NCONSENT) <= 11);
	ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a, "mechanism")), "discrete-laplace");
	ck_assert(num(a, "epsilon") == 1);
	ck_assert(num(a, "budget_remaining") == 99);
	ck_assert(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(a, "suppressed")));
	const cJSON *ci = cJSON_GetObjectItemCaseSensitive(a, "ci95");
	ck_assert_int_eq(cJSON_GetArraySize(ci), 2);
	/* The 95% half-width of a count at epsilon 1 is 3 (DP.md). */
	ck_assert(cJSON_GetArrayItem(ci, 1)->valuedouble - num(a, "value") == 3);
	int access, rel;
	bool seen;
	audit_counts("q-count-1", &access, &rel, learners[NCONSENT], &seen);
	ck_assert_int_eq(access, NCONSENT);
	ck_assert_int_eq(rel, 1);
	ck_assert(!seen); /* a learner without consent is not touched */
	ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(a, "audit_index"));
	cJSON_Delete(a);
	/* The log still verifies offline, consent compliance included. */
	audit_verifies();
}
END_TEST

START_TEST(withdrawal_and_erasure_take_effect)
{
	char rid[LV_RECORD_ID_LEN], err[LV_CONSENT_ERR_LEN];
	ck_assert(precise_count(NULL) == NCONSENT);
	ck_assert_int_eq(lv_consent_withdraw(node, &admin, LV_ROLE_LEARNER, learners[0], "agg-precise", rid, err), LV_OK);
	ck_assert(precise_count(NULL) == NCONSENT - 1);
	ck_assert_int_eq(lv_learner_erase(node, learners[1]), LV_OK);
	ck_assert(precise_count(NULL) == NCONSENT - 2);
	/* Erasure removed the sealed facts with the key. */
	sqlite3_stmt *s;
	ck_assert_int_eq(sqlite3_prepare_v2(node->db, "SELECT (SELECT count(*) FROM learner_facts WHERE learner = ?1)"
					    " + (SELECT count(*) FROM facts_journal WHERE learner = ?1)", -1, &s, NULL), SQLITE_OK);
	sqlite3_bind_text(s, 1, learners[1], -1, SQLITE_STATIC);
	ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
	ck_assert_int_eq(sqlite3_column_int(s, 0), 0);
	sqlite3_finalize(s);
}
END_TEST

START_TEST(filters_and_policy_scope)
{
	char id[37];
	/* Learners 0-4 also passed a second quiz in a registration. */
	for (int i = 0; i < 5; i++)
		put(i, V_PASSED, "http://example.com/quiz/2", T_ASSESSMENT, 0.9, 1,
		    "\"context\":{\"registration\":\"" REG "\"}", "2026-01-10T10:00:00Z", NULL);
	/* Learners 5-9 experienced something outside the policy's verbs, and
	 * learners 10-14 completed a meeting (a type outside its scope). */
	for (int i = 5; i < 10; i++)
		put(i, V_EXPERIENCED, "http://example.com/video/1", T_ASSESSMENT, -2, -1, NULL, NULL, NULL);
	for (int i = 10; i < 15; i++)
		put(i, V_COMPLETED, "http://example.com/meeting/1", T_MEETING, -2, -1, NULL, NULL, NULL);
	ck_assert(precise_count("{\"verb\":\"" V_PASSED "\"}") == 5);
	ck_assert(precise_count("{\"registration\":\"" REG "\"}") == 5);
	ck_assert(precise_count("{\"activity\":\"http://example.com/quiz/2\"}") == 5);
	/* An activity's descendants: quiz 1 sits under the course. */
	ck_assert(precise_count("{\"activity\":\"" COURSE "\"}") == NCONSENT);
	ck_assert(precise_count("{\"activity\":\"http://example.com/video/1\"}") == 0);
	ck_assert(precise_count("{\"activity\":\"http://example.com/meeting/1\"}") == 0);
	ck_assert(precise_count("{\"since\":\"2026-01-01T00:00:00Z\",\"until\":\"2026-02-01T00:00:00Z\"}") == 5);
	ck_assert(precise_count("{\"activity\":\"http://never.example/seen\"}") == 0);
	/* Voiding removes a statement from every aggregate. */
	put(20, V_PASSED, "http://example.com/quiz/3", T_ASSESSMENT, 0.5, 1, NULL, NULL, id);
	ck_assert(precise_count("{\"activity\":\"http://example.com/quiz/3\"}") == 1);
	char body[512];
	snprintf(body, sizeof body, "[{\"actor\":{\"mbox\":\"mailto:teacher@school.example\"},"
		 "\"verb\":{\"id\":\"http://adlnet.gov/expapi/verbs/voided\"},"
		 "\"object\":{\"objectType\":\"StatementRef\",\"id\":\"%s\"}}]", id);
	cJSON *b = cJSON_Parse(body);
	char err[LV_ERR_TEXT];
	ck_assert_int_eq(lv_ingest(node, &provider, b, NULL, 0, err), LV_OK);
	cJSON_Delete(b);
	ck_assert(precise_count("{\"activity\":\"http://example.com/quiz/3\"}") == 0);
	/* A statement naming an activity without its type takes the type
	 * from the activity's stored definition. */
	b = cJSON_Parse("[{\"actor\":{\"mbox\":\"mailto:l25@school.example\"},\"verb\":{\"id\":\"" V_PASSED "\"},"
			"\"object\":{\"id\":\"http://example.com/quiz/2\"}}]");
	ck_assert_int_eq(lv_ingest(node, &provider, b, NULL, 0, err), LV_OK);
	cJSON_Delete(b);
	ck_assert(precise_count("{\"activity\":\"http://example.com/quiz/2\"}") == 6);
	/* Asking for something outside the policy is refused up front. */
	char e[LV_QUERY_ERR_LEN];
	ck_assert_int_eq(ask_fail(&analyst, "{\"purpose\":\"agg-precise\",\"metric\":\"count\",\"epsilon\":1,"
				  "\"filters\":{\"verb\":\"" V_EXPERIENCED "\"}}", e), LV_ERR_FORBIDDEN);
	ck_assert_int_eq(ask_fail(&analyst, "{\"purpose\":\"agg-precise\",\"metric\":\"count\",\"epsilon\":1,"
				  "\"filters\":{\"activity_type\":\"" T_MEETING "\"}}", e), LV_ERR_FORBIDDEN);
}
END_TEST

START_TEST(budget_is_charged_per_learner_and_per_purpose)
{
	char e[LV_QUERY_ERR_LEN];
	/* Learner 3 already spent 99.5 of 100 today: a query at 1 leaves them out. */
	char sql[256];
	snprintf(sql, sizeof sql, "INSERT INTO dp_spend VALUES('" POLICY "', '%s', %lld, 99500000)", learners[3],
		 (long long)(util_now_ms() / 86400000));
	ck_assert_int_eq(db_exec(node->db, sql), LV_OK);
	/* A charge from before the window no longer counts for learner 4. */
	snprintf(sql, sizeof sql, "INSERT INTO dp_spend VALUES('" POLICY "', '%s', %lld, 99500000)", learners[4],
		 (long long)(util_now_ms() / 86400000 - 31));
	ck_assert_int_eq(db_exec(node->db, sql), LV_OK);
	cJSON *a = ask(&analyst, "{\"id\":\"b1\",\"purpose\":\"" POLICY "\",\"metric\":\"count\",\"epsilon\":1}");
	cJSON_Delete(a);
	int access, rel;
	bool seen;
	audit_counts("b1", &access, &rel, learners[3], &seen);
	ck_assert_int_eq(access, NCONSENT - 1);
	ck_assert(!seen);
	audit_counts("b1", &access, &rel, learners[4], &seen);
	ck_assert(seen);
	/* The same id again: the cached release, no new charge, no new entries. */
	sqlite3_stmt *s;
	ck_assert_int_eq(sqlite3_prepare_v2(node->db, "SELECT sum(micro_eps) FROM dp_spend", -1, &s, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
	int64_t before = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	cJSON *x = ask(&analyst, "{\"id\":\"b1\",\"purpose\":\"" POLICY "\",\"metric\":\"count\",\"epsilon\":1}");
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(x, "cached")));
	ck_assert(num(x, "budget_remaining") == 99);
	cJSON_Delete(x);
	ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
	ck_assert_int_eq(sqlite3_column_int64(s, 0), before);
	sqlite3_finalize(s);
	audit_counts("b1", &access, &rel, NULL, NULL);
	ck_assert_int_eq(rel, 1);
	/* The same id for another question is a conflict; another analyst has its own ids. */
	ck_assert_int_eq(ask_fail(&analyst, "{\"id\":\"b1\",\"purpose\":\"" POLICY "\",\"metric\":\"count\",\"epsilon\":0.5}", e),
			 LV_ERR_CONFLICT);
	/* The purpose-wide cap: 99 left, then 0.5 at a time. */
	ck_assert_int_eq(db_exec(node->db, "UPDATE dp_releases SET micro_eps = 99000000"), LV_OK);
	cJSON_Delete(ask(&analyst, "{\"purpose\":\"" POLICY "\",\"metric\":\"count\",\"epsilon\":0.5}"));
	cJSON_Delete(ask(&analyst, "{\"purpose\":\"" POLICY "\",\"metric\":\"count\",\"epsilon\":0.5}"));
	ck_assert_int_eq(ask_fail(&analyst, "{\"purpose\":\"" POLICY "\",\"metric\":\"count\",\"epsilon\":0.5}", e),
			 LV_ERR_BUDGET);
	ck_assert_ptr_nonnull(strstr(e, "budget"));
}
END_TEST

START_TEST(small_cohorts_are_suppressed)
{
	/* min_cohort 20; only learner 0 passed quiz 9. */
	put(0, V_PASSED, "http://example.com/quiz/9", T_ASSESSMENT, 0.5, 1, NULL, NULL, NULL);
	cJSON *a = ask(&analyst, "{\"purpose\":\"" POLICY "\",\"metric\":\"count\",\"epsilon\":1,"
				 "\"filters\":{\"activity\":\"http://example.com/quiz/9\"}}");
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(a, "suppressed")));
	ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(a, "value")));
	ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(a, "ci95")));
	cJSON_Delete(a);
	a = ask(&analyst, "{\"purpose\":\"" POLICY "\",\"metric\":\"mean\",\"field\":\"result.score.scaled\","
			  "\"bounds\":[0,1],\"epsilon\":1,\"filters\":{\"activity\":\"http://example.com/quiz/9\"}}");
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(a, "suppressed")));
	ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(a, "value")));
	cJSON_Delete(a);
}
END_TEST

/* The true mean score of the consenting learners: learner i scored (i % 10) / 10. */
static double true_mean(void)
{
	double s = 0;
	for (int i = 0; i < NCONSENT; i++)
		s += (i % 10) / 10.0;
	return s / NCONSENT;
}

START_TEST(intervals_cover_the_truth)
{
	/* (min_cohort 1: no release is suppressed.)  60 releases of each kind at epsilon 0.5: a 95% interval that covers
	 * the truth in fewer than 50 (p < 1e-4 when calibrated) is wrong. */
	int cover_mean = 0, cover_count = 0, cover_sum = 0, valid_mean = 0, valid_count = 0, valid_sum = 0;
	double tm = true_mean(), err_sum = 0;
	for (int k = 0; k < 60; k++) {
		cJSON *a = ask(&analyst, "{\"purpose\":\"agg-precise\",\"metric\":\"mean\",\"field\":\"result.score.scaled\","
					 "\"bounds\":[0,1],\"epsilon\":0.5}");
		/* A release is suppressed (no interval) when the noisy count of 30
		 * falls below 1: rare (p ~ 3e-4 each), and not a coverage failure. */
		const cJSON *ci = cJSON_GetObjectItemCaseSensitive(a, "ci95");
		if (cJSON_IsArray(ci)) {
			double lo = cJSON_GetArrayItem(ci, 0)->valuedouble, hi = cJSON_GetArrayItem(ci, 1)->valuedouble;
			double v = num(a, "value");
			ck_assert(v >= 0 && v <= 1 && lo <= v && v <= hi);
			cover_mean += lo <= tm && tm <= hi;
			err_sum += fabs(v - tm);
			valid_mean++;
		}
		cJSON_Delete(a);
		a = ask(&analyst, "{\"purpose\":\"agg-precise\",\"metric\":\"count\",\"epsilon\":0.5}");
		ci = cJSON_GetObjectItemCaseSensitive(a, "ci95");
		if (cJSON_IsArray(ci)) {
			valid_count++;
			cover_count += cJSON_GetArrayItem(ci, 0)->valuedouble <= NCONSENT &&
				       NCONSENT <= cJSON_GetArrayItem(ci, 1)->valuedouble;
		}
		cJSON_Delete(a);
		a = ask(&analyst, "{\"purpose\":\"agg-precise\",\"metric\":\"sum\",\"field\":\"result.success\","
				  "\"epsilon\":0.5}");
		ci = cJSON_GetObjectItemCaseSensitive(a, "ci95");
		if (cJSON_IsArray(ci)) {
			valid_sum++;
			cover_sum += cJSON_GetArrayItem(ci, 0)->valuedouble <= NCONSENT / 2.0 + 1e-9 &&
				     NCONSENT / 2.0 - 1e-9 <= cJSON_GetArrayItem(ci, 1)->valuedouble;
		}
		cJSON_Delete(a);
		ck_assert_int_eq(db_exec(node->db, "DELETE FROM dp_releases; DELETE FROM dp_spend;"), LV_OK);
	}
	ck_assert(valid_mean >= 55 && valid_count >= 55 && valid_sum >= 55);
	ck_assert_msg(cover_mean >= valid_mean - 10, "mean covered %d/%d", cover_mean, valid_mean);
	ck_assert_msg(cover_count >= valid_count - 10, "count covered %d/%d", cover_count, valid_count);
	ck_assert_msg(cover_sum >= valid_sum - 10, "sum covered %d/%d", cover_sum, valid_sum);
	/* And the mean is useful: 30 learners at epsilon 0.5 land near the truth. */
	ck_assert_msg(err_sum / valid_mean < 0.2, "mean abs error %.3f", err_sum / valid_mean);
}
END_TEST

START_TEST(histogram_and_quantile)
{
	cJSON *a = ask(&analyst, "{\"purpose\":\"agg-precise\",\"metric\":\"histogram\",\"field\":\"result.score.scaled\","
				 "\"histogram\":{\"by\":\"value\",\"buckets\":[0,0.5,1]},\"epsilon\":20}");
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(a, "value");
	ck_assert_int_eq(cJSON_GetArraySize(v), 2);
	/* Scores 0.0-0.4 (15 learners) and 0.5-0.9 (15); noise scale 0.1. */
	ck_assert(fabs(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(v, 0), "count")->valuedouble - 15) <= 1);
	ck_assert(fabs(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(v, 1), "count")->valuedouble - 15) <= 1);
	cJSON_Delete(a);
	ck_assert_int_eq(db_exec(node->db, "DELETE FROM dp_releases; DELETE FROM dp_spend;"), LV_OK);
	a = ask(&analyst, "{\"purpose\":\"agg-precise\",\"metric\":\"histogram\","
			  "\"histogram\":{\"by\":\"verb\",\"keys\":[\"" V_COMPLETED "\",\"" V_PASSED "\"]},\"epsilon\":20}");
	v = cJSON_GetObjectItemCaseSensitive(a, "value");
	ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(v, 0), "key")->valuestring, V_COMPLETED);
	ck_assert(fabs(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(v, 0), "count")->valuedouble - NCONSENT) <= 2);
	ck_assert(fabs(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(v, 1), "count")->valuedouble) <= 2);
	cJSON_Delete(a);
	ck_assert_int_eq(db_exec(node->db, "DELETE FROM dp_releases; DELETE FROM dp_spend;"), LV_OK);
	/* The median score of 0.0..0.9 (three learners each) is about 0.4-0.5. */
	a = ask(&analyst, "{\"purpose\":\"agg-precise\",\"metric\":\"quantile\",\"field\":\"result.score.scaled\","
			  "\"bounds\":[0,1],\"quantile\":0.5,\"candidates\":11,\"epsilon\":20}");
	double med = num(a, "value");
	ck_assert_msg(med >= 0.35 && med <= 0.55, "median %g", med);
	ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(a, "ci95")));
	ck_assert(num(a, "rank_error95") > 0);
	cJSON_Delete(a);
	ck_assert_int_eq(db_exec(node->db, "DELETE FROM dp_releases; DELETE FROM dp_spend;"), LV_OK);
	/* Gaussian noise for a count. */
	a = ask(&analyst, "{\"purpose\":\"agg-precise\",\"metric\":\"count\",\"epsilon\":20,"
			  "\"mechanism\":\"discrete-gaussian\"}");
	ck_assert(fabs(num(a, "value") - NCONSENT) <= 3);
	ck_assert(num(a, "delta") == 1e-6);
	cJSON_Delete(a);
}
END_TEST

START_TEST(bad_queries_are_refused_without_release)
{
	char e[LV_QUERY_ERR_LEN];
	static const struct {
		const char *q;
		enum lv_status st;
	} cases[] = {
		{"[]", LV_ERR_INVALID},
		{"{\"purpose\":\"" POLICY "\",\"metric\":\"count\"}", LV_ERR_INVALID},                 /* no epsilon */
		{"{\"purpose\":\"" POLICY "\",\"metric\":\"median\",\"epsilon\":1}", LV_ERR_INVALID},
		{"{\"purpose\":\"" POLICY "\",\"metric\":\"count\",\"epsilon\":1,\"extra\":1}", LV_ERR_INVALID},
		{"{\"purpose\":\"" POLICY "\",\"metric\":\"sum\",\"field\":\"result.duration\",\"epsilon\":1}", LV_ERR_INVALID},
		{"{\"purpose\":\"" POLICY "\",\"metric\":\"mean\",\"field\":\"result.score.scaled\",\"bounds\":[1,0],\"epsilon\":1}", LV_ERR_INVALID},
		{"{\"purpose\":\"" POLICY "\",\"metric\":\"mean\",\"field\":\"result.score.scaled\",\"bounds\":[0,1],\"epsilon\":1,"
		 "\"mechanism\":\"discrete-gaussian\"}", LV_ERR_INVALID},
		{"{\"purpose\":\"" POLICY "\",\"metric\":\"count\",\"epsilon\":1.5}", LV_ERR_FORBIDDEN}, /* over the max */
		{"{\"purpose\":\"course-improvement\",\"metric\":\"count\",\"epsilon\":1}", LV_ERR_FORBIDDEN}, /* not bound */
		{"{\"id\":\"bad id!\",\"purpose\":\"" POLICY "\",\"metric\":\"count\",\"epsilon\":1}", LV_ERR_INVALID},
		{"{\"purpose\":\"" POLICY "\",\"metric\":\"count\",\"epsilon\":1,\"filters\":{\"since\":\"yesterday\"}}", LV_ERR_INVALID},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		ck_assert_msg(ask_fail(&analyst, cases[i].q, e) == cases[i].st, "case %zu: %s", i, e);
	/* Not loaded at all (the operator may name any purpose). */
	ck_assert_int_eq(ask_fail(&admin, "{\"purpose\":\"nope\",\"metric\":\"count\",\"epsilon\":1}", e), LV_ERR_NOT_FOUND);
	/* Learners and providers have no aggregate door. */
	struct lv_principal l = {.role = LV_ROLE_LEARNER};
	ck_assert_int_eq(ask_fail(&l, "{\"purpose\":\"" POLICY "\",\"metric\":\"count\",\"epsilon\":1}", e), LV_ERR_FORBIDDEN);
	ck_assert_int_eq(ask_fail(&provider, "{\"purpose\":\"" POLICY "\",\"metric\":\"count\",\"epsilon\":1}", e), LV_ERR_FORBIDDEN);
	/* None of that spent anything. */
	sqlite3_stmt *s;
	ck_assert_int_eq(sqlite3_prepare_v2(node->db, "SELECT (SELECT count(*) FROM dp_releases) + (SELECT count(*) FROM dp_spend)",
					    -1, &s, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
	ck_assert_int_eq(sqlite3_column_int(s, 0), 0);
	sqlite3_finalize(s);
}
END_TEST

START_TEST(tampered_facts_fail_closed)
{
	/* Flip a byte of one learner's sealed segment: the query must fail and
	 * release nothing.  (A first query folds the ingest journal into
	 * learner_facts.) */
	ck_assert(precise_count(NULL) == NCONSENT);
	char sql[256];
	snprintf(sql, sizeof sql, "UPDATE learner_facts SET data = (substr(data, 1, 30) || x'ff' || substr(data, 32))"
		 " WHERE learner = '%s'", learners[2]);
	ck_assert_int_eq(db_exec(node->db, sql), LV_OK);
	char e[LV_QUERY_ERR_LEN];
	ck_assert_int_eq(ask_fail(&analyst, "{\"id\":\"t1\",\"purpose\":\"" POLICY "\",\"metric\":\"count\",\"epsilon\":1}", e),
			 LV_ERR_CRYPTO);
	ck_assert_ptr_null(strstr(e, learners[2]));
	int access, rel;
	audit_counts("t1", &access, &rel, NULL, NULL);
	ck_assert_int_eq(access + rel, 0);
	sqlite3_stmt *s;
	ck_assert_int_eq(sqlite3_prepare_v2(node->db, "SELECT count(*) FROM dp_spend", -1, &s, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
	ck_assert_int_eq(sqlite3_column_int(s, 0), 0);
	sqlite3_finalize(s);
}
END_TEST

START_TEST(journal_fold_merges_segments)
{
	/* 20 batches for learner 0: 20 journal segments, folded and merged
	 * into one by the next query, with nothing lost. */
	for (int k = 0; k < 20; k++)
		put(0, V_PASSED, "http://example.com/quiz/7", T_ASSESSMENT, 0.5, 1, NULL, NULL, NULL);
	sqlite3_stmt *s;
	ck_assert_int_eq(sqlite3_prepare_v2(node->db, "SELECT (SELECT count(*) FROM facts_journal WHERE learner = ?1),"
					    " (SELECT count(*) FROM learner_facts WHERE learner = ?1)", -1, &s, NULL), SQLITE_OK);
	sqlite3_bind_text(s, 1, learners[0], -1, SQLITE_STATIC);
	ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
	ck_assert_int_eq(sqlite3_column_int(s, 0), 21); /* the fixture's statement too */
	ck_assert_int_eq(sqlite3_column_int(s, 1), 0);
	sqlite3_reset(s);
	ck_assert(precise_count("{\"activity\":\"http://example.com/quiz/7\"}") == 1);
	ck_assert(precise_count("{\"activity\":\"http://example.com/quiz/1\"}") == NCONSENT);
	ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
	ck_assert_int_eq(sqlite3_column_int(s, 0), 0);
	ck_assert_int_eq(sqlite3_column_int(s, 1), 1);
	sqlite3_finalize(s);
}
END_TEST

START_TEST(facts_are_rebuilt_for_older_nodes)
{
	/* A node from before the facts: none stored, no marker.  Opening it
	 * builds them from the vaults. */
	ck_assert_int_eq(db_exec(node->db, "DELETE FROM learner_facts; DELETE FROM facts_journal;"
					   " DELETE FROM meta WHERE k = 'facts_version';"), LV_OK);
	ck_assert(precise_count(NULL) == 0);
	lv_node_close(node);
	ck_assert_int_eq(lv_node_open(dir, NULL, NULL, &node), LV_OK);
	ck_assert(precise_count(NULL) == NCONSENT);
	ck_assert(precise_count("{\"activity\":\"" COURSE "\"}") == NCONSENT);
}
END_TEST

/* ---- global BKT parameters through the DP door ---- */

#define FIT_RESP 8
static const char *const FIT_ACTS[3] = {"https://courses.example.org/math/whole-numbers/quiz-1",
					"https://courses.example.org/math/decimals/quiz-1",
					"https://courses.example.org/math/ratios/quiz-1"};

/* The curriculum, a policy "agg-fit" and, for every learner, 8 answers on
 * each of 3 skills simulated from known BKT parameters with a fixed
 * generator (into @obs); the first NCONSENT learners consent. */
static void fit_fixture(uint8_t obs[NL][3][FIT_RESP])
{
	char *text = NULL, perr[LV_PERSONAL_ERR_LEN];
	size_t len;
	ck_assert_int_eq(util_read_file(th_src("examples/curriculum.json"), 65536, &text, &len), LV_OK);
	ck_assert_msg(lv_personal_curriculum_load(node, text, len, perr) == LV_OK, "%s", perr);
	free(text);
	load_policy("agg-fit", 100, 100, 1);
	const struct lv_bkt_params truth = {.prior = 0.3, .learn = 0.2, .guess = 0.2, .slip = 0.1};
	uint64_t x = 12345;
	for (int i = 0; i < NL; i++) {
		cJSON *arr = cJSON_CreateArray();
		for (int k = 0; k < 3; k++) {
			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
			bool known = (double)(x >> 11) / 9007199254740992.0 < truth.prior;
			for (int r = 0; r < FIT_RESP; r++) {
				x = x * 6364136223846793005ULL + 1442695040888963407ULL;
				double u = (double)(x >> 11) / 9007199254740992.0;
				obs[i][k][r] = known ? u >= truth.slip : u < truth.guess;
				x = x * 6364136223846793005ULL + 1442695040888963407ULL;
				if (!known && (double)(x >> 11) / 9007199254740992.0 < truth.learn)
					known = true;
				char body[1024], id[37];
				util_uuid_v4(id);
				snprintf(body, sizeof body,
					 "{\"id\":\"%s\",\"timestamp\":\"2026-03-%02dT10:%02d:00Z\","
					 "\"actor\":{\"mbox\":\"mailto:l%d@school.example\"},\"verb\":{\"id\":\"" V_COMPLETED "\"},"
					 "\"object\":{\"id\":\"%s\",\"definition\":{\"type\":\"" T_ASSESSMENT "\"}},"
					 "\"result\":{\"success\":%s}}",
					 id, 1 + k, r, i, FIT_ACTS[k], obs[i][k][r] ? "true" : "false");
				cJSON_AddItemToArray(arr, cJSON_Parse(body));
			}
		}
		char err[LV_ERR_TEXT];
		ck_assert_msg(lv_ingest(node, &provider, arr, NULL, 0, err) == LV_OK, "%s", err);
		cJSON_Delete(arr);
		if (i < NCONSENT)
			grant(i, "agg-fit");
	}
}

START_TEST(fit_global_bkt_through_the_door)
{
	static uint8_t obs[NL][3][FIT_RESP];
	fit_fixture(obs);
	/* What the same clipped EM gives without noise, on the consenting 30. */
	struct lv_bkt_dp_opts o;
	lv_bkt_dp_opts_init(&o);
	o.epsilon = 100;
	o.iterations = 1;
	o.max_skills = 4;
	o.max_len = FIT_RESP;
	struct lv_bkt_params np;
	lv_bkt_params_default(&np);
	for (unsigned it = 0; it < o.iterations; it++) {
		int64_t sum[LV_BKT_DP_FIELDS] = {0}, one[LV_BKT_DP_FIELDS], noisy[LV_BKT_DP_FIELDS];
		for (int i = 0; i < NCONSENT; i++) {
			/* Learner 0..29 also hold the single quiz-1 statement of the
			 * fixture, whose activity is in no curriculum: no sequence. */
			struct lv_bkt_seq seqs[3];
			for (int k = 0; k < 3; k++)
				seqs[k] = (struct lv_bkt_seq){obs[i][k], FIT_RESP, 1};
			ck_assert_int_eq(lv_bkt_dp_contribution(&np, seqs, 3, &o, one), LV_OK);
			for (int f = 0; f < LV_BKT_DP_FIELDS; f++)
				sum[f] += one[f];
		}
		ck_assert_int_eq(lv_bkt_dp_step(NULL, sum, 100000000, &o, &np, &np, noisy), LV_OK);
	}
	char *ans = NULL, err[LV_QUERY_ERR_LEN];
	ck_assert_msg(lv_personal_fit_global(node, &admin, "agg-fit", &o, util_now_ms(), &ans, err) == LV_OK, "%s", err);
	cJSON *a = cJSON_Parse(ans);
	free(ans);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(a, "value");
	/* Noise at epsilon 100 (a third per field group) is small next to 30
	 * learners' counts: a few counts on sums of hundreds. */
	ck_assert_msg(fabs(num(v, "prior") - np.prior) < 0.08, "prior %g vs %g", num(v, "prior"), np.prior);
	ck_assert_msg(fabs(num(v, "learn") - np.learn) < 0.08, "learn %g vs %g", num(v, "learn"), np.learn);
	ck_assert_msg(fabs(num(v, "guess") - np.guess) < 0.08, "guess %g vs %g", num(v, "guess"), np.guess);
	ck_assert_msg(fabs(num(v, "slip") - np.slip) < 0.08, "slip %g vs %g", num(v, "slip"), np.slip);
	const char *qid = cJSON_GetObjectItemCaseSensitive(a, "query_id")->valuestring;
	int access, rel;
	bool seen;
	audit_counts(qid, &access, &rel, learners[NCONSENT], &seen);
	ck_assert_int_eq(access, NCONSENT);
	ck_assert_int_eq(rel, 1);
	ck_assert(!seen);
	/* No log index in it; a receipt over the release entry's answer; the
	 * job's parameters recorded as the question. */
	ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(a, "audit_index"));
	const char *receipt = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a, "receipt"));
	struct lv_release_receipt rr;
	ck_assert_ptr_nonnull(receipt);
	ck_assert_int_eq(lv_release_receipt_open(receipt, strlen(receipt), vkey, &rr), LV_OK);
	ck_assert_str_eq(rr.query_id, qid);
	cJSON *re = release_entry(qid);
	char *logged = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(re, "answer"));
	char hex[65];
	lv_release_answer_sha256(logged, strlen(logged), hex);
	ck_assert_str_eq(hex, rr.answer_sha256);
	free(logged);
	const cJSON *qj = cJSON_GetObjectItemCaseSensitive(re, "query");
	ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(qj, "metric")), "bkt-global-parameters");
	ck_assert(num(qj, "iterations") == 1);
	char *qt = cJSON_PrintUnformatted(qj);
	unsigned char h[32];
	crypto_hash_sha256(h, (const unsigned char *)qt, strlen(qt));
	sodium_bin2hex(hex, sizeof hex, h, sizeof h);
	ck_assert_str_eq(hex, rr.request_sha256);
	free(qt);
	ck_assert(num(re, "epsilon") == 100);
	cJSON_Delete(re);
	cJSON_Delete(a);
	/* The whole budget went on that one fit: the purpose answers no more. */
	ck_assert_int_eq(lv_personal_fit_global(node, &admin, "agg-fit", &o, util_now_ms(), &ans, err), LV_ERR_BUDGET);
	ck_assert_ptr_null(ans);
	/* An analyst not bound to the purpose gets nothing. */
	ck_assert_int_eq(lv_personal_fit_global(node, &analyst, "agg-fit", &o, util_now_ms(), &ans, err), LV_ERR_FORBIDDEN);
}
END_TEST

/* ---- the node goes on while a release computes ---- */

/* Another thread's operation, run from the door's test hook at one stage
 * of one release: the hook waits for it a bounded time and records
 * whether it finished meanwhile. */
static struct {
	pthread_mutex_t m;
	pthread_cond_t c;
	pthread_t t;
	bool started, done, in_time;
	int calls;
	int wait_s;
	enum query_stage stage;
	enum lv_status (*op)(void);
	enum lv_status st;
} bg = {.m = PTHREAD_MUTEX_INITIALIZER, .c = PTHREAD_COND_INITIALIZER};

static void *bg_main(void *arg)
{
	(void)arg;
	enum lv_status st = bg.op();
	pthread_mutex_lock(&bg.m);
	bg.st = st;
	bg.done = true;
	pthread_cond_signal(&bg.c);
	pthread_mutex_unlock(&bg.m);
	return NULL;
}

static void bg_hook(struct lv_node *n, enum query_stage stage)
{
	(void)n;
	/* Once, at the chosen stage: a release the operation itself makes
	 * passes through here too. */
	if (stage != bg.stage || __atomic_fetch_add(&bg.calls, 1, __ATOMIC_SEQ_CST) != 0)
		return;
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += bg.wait_s; /* the old door held the lock here: the operation waited for the release */
	pthread_mutex_lock(&bg.m);
	bg.started = pthread_create(&bg.t, NULL, bg_main, NULL) == 0;
	while (bg.started && !bg.done && pthread_cond_timedwait(&bg.c, &bg.m, &until) == 0) {
	}
	bg.in_time = bg.done;
	pthread_mutex_unlock(&bg.m);
}

/* Arms the hook: @op runs at @stage of the next release, which waits for
 * it up to @wait_s seconds. */
static void bg_arm(enum query_stage stage, enum lv_status (*op)(void), int wait_s)
{
	bg.stage = stage;
	bg.op = op;
	bg.wait_s = wait_s;
	query_test_hook = bg_hook;
}

/* After the release: the operation ran, finished while the release was
 * at the stage (when @in_time), and returned @want. */
static void bg_check_status(bool in_time, enum lv_status want)
{
	query_test_hook = NULL;
	ck_assert_msg(bg.started, "the release never reached the stage");
	pthread_join(bg.t, NULL);
	ck_assert_int_eq(bg.st, want);
	ck_assert_msg(bg.in_time == in_time, in_time ? "the operation waited for the release to finish"
						     : "the operation finished before it should have");
}

static void bg_check(bool in_time)
{
	bg_check_status(in_time, LV_OK);
}

static enum lv_status op_store(void)
{
	/* A batch for a learner outside the cohort, as an LMS would post. */
	cJSON *arr = cJSON_Parse("[{\"actor\":{\"mbox\":\"mailto:l35@school.example\"},\"verb\":{\"id\":\"" V_PASSED "\"},"
				 "\"object\":{\"id\":\"http://example.com/quiz/5\",\"definition\":{\"type\":\"" T_ASSESSMENT "\"}}}]");
	char err[LV_ERR_TEXT];
	enum lv_status st = lv_ingest(node, &provider, arr, NULL, 0, err);
	cJSON_Delete(arr);
	return st;
}

static const char *withdraw_from;
static enum lv_status op_withdraw(void)
{
	char rid[LV_RECORD_ID_LEN], err[LV_CONSENT_ERR_LEN];
	return lv_consent_withdraw(node, &admin, LV_ROLE_LEARNER, learners[0], withdraw_from, rid, err);
}

static enum lv_status op_erase(void)
{
	return lv_learner_erase(node, learners[1]);
}

static enum lv_status op_query_b(void)
{
	char *ans = NULL, err[LV_QUERY_ERR_LEN];
	const char *q = "{\"id\":\"cap-b\",\"purpose\":\"agg-cap\",\"metric\":\"count\",\"epsilon\":0.6}";
	enum lv_status st = lv_aggregate(node, &admin, q, strlen(q), util_now_ms(), &ans, err);
	free(ans);
	return st;
}

static int64_t charged(const char *purpose, const char *learner)
{
	sqlite3_stmt *s;
	ck_assert_int_eq(sqlite3_prepare_v2(node->db, "SELECT coalesce(sum(micro_eps), 0) FROM dp_spend"
					    " WHERE purpose = ? AND (?2 IS NULL OR learner = ?2)", -1, &s, NULL), SQLITE_OK);
	sqlite3_bind_text(s, 1, purpose, -1, SQLITE_STATIC);
	if (learner)
		sqlite3_bind_text(s, 2, learner, -1, SQLITE_STATIC);
	ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
	int64_t v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

START_TEST(node_is_not_blocked_while_a_release_computes)
{
	/* While the contributions are computed, an ingest batch for another
	 * learner goes through: the release does not hold the node lock. */
	bg_arm(QUERY_STAGE_COMPUTING, op_store, 10);
	cJSON *a = ask(&analyst, "{\"id\":\"nb1\",\"purpose\":\"agg-precise\",\"metric\":\"count\",\"epsilon\":20}");
	bg_check(true);
	ck_assert(num(a, "noisy_learners") == NCONSENT);
	cJSON_Delete(a);
	/* The statement is stored, and the node answers the next question
	 * over it. */
	ck_assert_int_eq(db_exec(node->db, "DELETE FROM dp_releases; DELETE FROM dp_spend;"), LV_OK);
	ck_assert(precise_count("{\"activity\":\"http://example.com/quiz/5\"}") == 0); /* learner 35 did not consent */
	grant(35, "agg-precise");
	ck_assert(precise_count("{\"activity\":\"http://example.com/quiz/5\"}") == 1);
}
END_TEST

START_TEST(withdrawal_while_a_release_computes)
{
	/* Learner 0 withdraws after the cohort was fixed and before the
	 * release: their contribution was computed, and is not released. */
	withdraw_from = "agg-precise";
	bg_arm(QUERY_STAGE_COMPUTING, op_withdraw, 10);
	cJSON *a = ask(&analyst, "{\"id\":\"wd1\",\"purpose\":\"agg-precise\",\"metric\":\"count\",\"epsilon\":20}");
	bg_check(true);
	ck_assert(num(a, "noisy_learners") == NCONSENT - 1);
	/* The answer has exactly the fields of any count: nothing says a
	 * learner left meanwhile. */
	cJSON *b = ask(&analyst, "{\"id\":\"wd2\",\"purpose\":\"agg-precise\",\"metric\":\"count\",\"epsilon\":20}");
	ck_assert_int_eq(cJSON_GetArraySize(a), cJSON_GetArraySize(b));
	for (const cJSON *f = a->child, *g = b->child; f && g; f = f->next, g = g->next)
		ck_assert_str_eq(f->string, g->string);
	cJSON_Delete(a);
	cJSON_Delete(b);
	/* No access entry, no charge for them; everyone else has both. */
	int access, rel;
	bool seen;
	audit_counts("wd1", &access, &rel, learners[0], &seen);
	ck_assert_int_eq(access, NCONSENT - 1);
	ck_assert_int_eq(rel, 1);
	ck_assert(!seen);
	ck_assert_int_eq(charged("agg-precise", learners[0]), 0);
	ck_assert_int_eq(charged("agg-precise", learners[1]), 2 * 20000000);
	ck_assert_int_eq(charged("agg-precise", NULL), (int64_t)(NCONSENT - 1) * 2 * 20000000);
	/* The log, the withdrawal between the cohort and the release
	 * included, still verifies offline with consent compliance. */
	audit_verifies();
}
END_TEST

START_TEST(erasure_while_a_release_computes)
{
	/* Learner 1 is erased while the contributions are computed from a
	 * snapshot that still holds their facts and key.  The erasure does
	 * not wait for that read (its WAL truncation would, for the busy
	 * timeout of 5 s, with the node lock held: the read's end does it
	 * instead), and the release leaves learner 1 out. */
	bg_arm(QUERY_STAGE_COMPUTING, op_erase, 3);
	cJSON *a = ask(&analyst, "{\"id\":\"er1\",\"purpose\":\"agg-precise\",\"metric\":\"count\",\"epsilon\":20}");
	bg_check(true);
	ck_assert(num(a, "noisy_learners") == NCONSENT - 1);
	cJSON_Delete(a);
	int access, rel;
	bool seen;
	audit_counts("er1", &access, &rel, learners[1], &seen);
	ck_assert_int_eq(access, NCONSENT - 1);
	ck_assert(!seen);
	ck_assert_int_eq(charged("agg-precise", learners[1]), 0);
	audit_verifies();
	/* The snapshot read is over, its deferred truncation done: a node
	 * closed and opened again is whole, learner 1 gone. */
	lv_node_close(node);
	ck_assert_int_eq(lv_node_open(dir, NULL, NULL, &node), LV_OK);
	ck_assert(precise_count(NULL) == NCONSENT - 1);
}
END_TEST

START_TEST(concurrent_releases_keep_the_purpose_cap)
{
	/* Budget 1 for the purpose: two releases at 0.6 cannot both go out.
	 * B arrives while A, admitted, waits to release.  A holds its 0.6
	 * from admission, so B is refused at once (what B is told depends on
	 * A having been received first, not on which of the two would finish
	 * its work first), and A is released. */
	load_policy("agg-cap", 1, 1, 1);
	for (int i = 0; i < NCONSENT; i++)
		grant(i, "agg-cap");
	bg_arm(QUERY_STAGE_RELEASING, op_query_b, 10);
	char *ans = NULL, err[LV_QUERY_ERR_LEN];
	const char *q = "{\"id\":\"cap-a\",\"purpose\":\"agg-cap\",\"metric\":\"count\",\"epsilon\":0.6}";
	enum lv_status st = lv_aggregate(node, &admin, q, strlen(q), util_now_ms(), &ans, err);
	bg_check_status(true, LV_ERR_BUDGET); /* B refused while A was still working */
	ck_assert_msg(st == LV_OK, "%s", err);
	cJSON *a = cJSON_Parse(ans);
	ck_assert_double_eq_tol(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(a, "budget_remaining")), 0.4, 1e-9);
	cJSON_Delete(a);
	free(ans);
	ans = NULL;
	sqlite3_stmt *s;
	ck_assert_int_eq(sqlite3_prepare_v2(node->db, "SELECT count(*), sum(micro_eps) FROM dp_releases WHERE purpose = 'agg-cap'",
					    -1, &s, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
	ck_assert_int_eq(sqlite3_column_int(s, 0), 1);
	ck_assert_int_eq(sqlite3_column_int64(s, 1), 600000);
	sqlite3_finalize(s);
	/* B left nothing behind: no access entry, no charge beyond A's. */
	int access, rel;
	audit_counts("cap-b", &access, &rel, NULL, NULL);
	ck_assert_int_eq(access + rel, 0);
	audit_counts("cap-a", &access, &rel, NULL, NULL);
	ck_assert_int_eq(access, NCONSENT);
	ck_assert_int_eq(charged("agg-cap", NULL), (int64_t)NCONSENT * 600000);
	/* A's hold ended with its release (not counted twice): 0.4 is left
	 * and can be spent, and then nothing. */
	const char *c = "{\"id\":\"cap-c\",\"purpose\":\"agg-cap\",\"metric\":\"count\",\"epsilon\":0.4}";
	ck_assert_msg(lv_aggregate(node, &admin, c, strlen(c), util_now_ms(), &ans, err) == LV_OK, "%s", err);
	free(ans);
	ans = NULL;
	const char *d = "{\"id\":\"cap-d\",\"purpose\":\"agg-cap\",\"metric\":\"count\",\"epsilon\":0.1}";
	ck_assert_int_eq(lv_aggregate(node, &admin, d, strlen(d), util_now_ms(), &ans, err), LV_ERR_BUDGET);
	ck_assert_int_eq(lv_store_budget_held(node, "agg-cap", 0), 0);
	audit_verifies();
}
END_TEST

START_TEST(fit_global_leaves_out_who_withdrew)
{
	static uint8_t obs[NL][3][FIT_RESP];
	fit_fixture(obs);
	struct lv_bkt_dp_opts o;
	lv_bkt_dp_opts_init(&o);
	o.epsilon = 100;
	o.iterations = 1;
	o.max_skills = 4;
	o.max_len = FIT_RESP;
	/* Learner 0 withdraws after the EM ran over the 30: the release
	 * waits for an EM over the 29 still in the cohort. */
	withdraw_from = "agg-fit";
	bg_arm(QUERY_STAGE_RELEASING, op_withdraw, 10);
	char *ans = NULL, err[LV_QUERY_ERR_LEN];
	ck_assert_msg(lv_personal_fit_global(node, &admin, "agg-fit", &o, util_now_ms(), &ans, err) == LV_OK, "%s", err);
	bg_check(true);
	cJSON *a = cJSON_Parse(ans);
	free(ans);
	/* 3 sequences a learner; at epsilon 100 the count's noise is a
	 * fraction of one sequence. */
	ck_assert_msg(fabs(num(a, "noisy_sequences") - 3 * (NCONSENT - 1)) < 1.5, "%g sequences",
		      num(a, "noisy_sequences"));
	const char *qid = cJSON_GetObjectItemCaseSensitive(a, "query_id")->valuestring;
	int access, rel;
	bool seen;
	audit_counts(qid, &access, &rel, learners[0], &seen);
	ck_assert_int_eq(access, NCONSENT - 1);
	ck_assert_int_eq(rel, 1);
	ck_assert(!seen);
	cJSON_Delete(a);
	ck_assert_int_eq(charged("agg-fit", learners[0]), 0);
	ck_assert_int_eq(charged("agg-fit", NULL), (int64_t)(NCONSENT - 1) * 100000000);
	audit_verifies();
}
END_TEST

/* ---- issue 10: nothing un-noised leaves the door; receipts; the question
 * recorded; releases in the learner's access report ---- */

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0)
		;
}

static long hook_sleep_ms;
static enum query_stage hook_sleep_stage;
static void sleeping_hook(struct lv_node *n, enum query_stage stage)
{
	(void)n;
	if (stage == hook_sleep_stage)
		sleep_ms(hook_sleep_ms);
}

/* Loads version 2 of POLICY while the query runs. */
static void new_version_hook(struct lv_node *n, enum query_stage stage)
{
	if (stage != QUERY_STAGE_RELEASING)
		return;
	char *text = NULL, err[LV_POLICY_ERR_LEN], pid[LV_POLICY_ID_MAX + 1];
	size_t len;
	uint32_t version;
	bool added;
	ck_assert_int_eq(util_read_file(th_src("policies/course-improvement.json"), 65536, &text, &len), LV_OK);
	cJSON *p = cJSON_Parse(text);
	free(text);
	cJSON_ReplaceItemInObjectCaseSensitive(p, "id", cJSON_CreateString(POLICY));
	cJSON_ReplaceItemInObjectCaseSensitive(p, "version", cJSON_CreateNumber(2));
	text = cJSON_Print(p);
	cJSON_Delete(p);
	ck_assert_msg(lv_policy_load(n, text, strlen(text), &added, pid, &version, err) == LV_OK, "%s", err);
	ck_assert_uint_eq(version, 2);
	free(text);
}

static void quantum(const char *ms)
{
	ck_assert_int_eq(lv_node_setting_set(node, "aggregate_time_quantum_ms", ms), LV_OK);
}

/* Two answers to the same question a withdrawal apart: every field that
 * is not noise is the same (budget_remaining falls by the epsilon of the
 * one release between them, whatever the cohort), so nothing un-noised
 * tells the analyst the cohort shrank by one. */
START_TEST(answers_a_withdrawal_apart_differ_only_in_noise)
{
	/* suppressed: whether noisy_learners is below min_cohort. */
	static const char *const NOISY[] = {"query_id", "value", "ci95", "noisy_learners", "suppressed", "receipt",
					    "budget_remaining"};
	static const char *const METRICS[] = {
		"\"metric\":\"count\"",
		"\"metric\":\"mean\",\"field\":\"result.score.scaled\",\"bounds\":[0,1]",
		"\"metric\":\"histogram\",\"field\":\"result.score.scaled\",\"histogram\":{\"by\":\"value\","
		"\"buckets\":[0,0.5,1]}",
		"\"metric\":\"quantile\",\"field\":\"result.score.scaled\",\"bounds\":[0,1],\"quantile\":0.5",
	};
	char rid[LV_RECORD_ID_LEN], err[LV_CONSENT_ERR_LEN];
	/* Phase 3 comes well after the question was received. */
	hook_sleep_ms = 30;
	hook_sleep_stage = QUERY_STAGE_RELEASING;
	query_test_hook = sleeping_hook;
	int64_t now = util_now_ms();
	char t_now[UTIL_TIME_LEN];
	util_time_format(now, t_now);
	for (size_t m = 0; m < sizeof METRICS / sizeof METRICS[0]; m++) {
		cJSON *a[2];
		for (int k = 0; k < 2; k++) {
			char q[512], *ans = NULL, e[LV_QUERY_ERR_LEN];
			snprintf(q, sizeof q, "{\"id\":\"w-%zu-%d\",\"purpose\":\"" POLICY "\",%s,\"epsilon\":0.5}", m, k,
				 METRICS[m]);
			ck_assert_msg(lv_aggregate(node, &analyst, q, strlen(q), now, &ans, e) == LV_OK, "%s", e);
			a[k] = cJSON_Parse(ans);
			free(ans);
			if (k == 0)
				ck_assert_int_eq(lv_consent_withdraw(node, &admin, LV_ROLE_LEARNER, learners[m], POLICY,
								     rid, err), LV_OK);
		}
		ck_assert_int_eq(cJSON_GetArraySize(a[0]), cJSON_GetArraySize(a[1]));
		for (const cJSON *f = a[0]->child; f; f = f->next) {
			bool noisy = false;
			for (size_t i = 0; i < sizeof NOISY / sizeof NOISY[0]; i++)
				noisy |= strcmp(f->string, NOISY[i]) == 0;
			const cJSON *g = cJSON_GetObjectItemCaseSensitive(a[1], f->string);
			ck_assert_msg(g != NULL, "%s missing from the second answer", f->string);
			if (noisy)
				continue;
			char *x = cJSON_PrintUnformatted(f), *y = cJSON_PrintUnformatted(g);
			ck_assert_msg(strcmp(x, y) == 0, "metric %zu: %s differs: %s vs %s", m, f->string, x, y);
			free(x);
			free(y);
		}
		ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(a[0], "audit_index"));
		/* The time the question was received, not the release's. */
		ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a[0], "released")), t_now);
		ck_assert(fabs(num(a[0], "budget_remaining") - num(a[1], "budget_remaining") - 0.5) < 1e-9);
		/* The kept release carries no index either. */
		cJSON *rel = release_entry(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a[1], "query_id")));
		ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(rel, "answer"),
								     "audit_index"));
		cJSON_Delete(rel);
		cJSON_Delete(a[0]);
		cJSON_Delete(a[1]);
	}
}
END_TEST

/* The answer carries a receipt signed with the log key over the release
 * entry's answer; a cached answer repeats it; the release entry records
 * the question, its epsilon and the day it was booked. */
START_TEST(receipt_and_recorded_question)
{
	int64_t now = util_now_ms();
	const char *q = "{\"id\":\"rc-1\",\"purpose\":\"" POLICY "\",\"metric\":\"mean\",\"field\":\"result.score.scaled\","
			"\"bounds\":[0,1],\"epsilon\":0.75,\"filters\":{\"verb\":\"" V_COMPLETED "\"}}";
	char *ans = NULL, e[LV_QUERY_ERR_LEN];
	ck_assert_msg(lv_aggregate(node, &analyst, q, strlen(q), now, &ans, e) == LV_OK, "%s", e);
	cJSON *a = cJSON_Parse(ans);
	free(ans);
	const char *receipt = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a, "receipt"));
	ck_assert_ptr_nonnull(receipt);
	struct lv_release_receipt r;
	ck_assert_int_eq(lv_release_receipt_open(receipt, strlen(receipt), vkey, &r), LV_OK);
	ck_assert_str_eq(r.actor, "analyst-1");
	ck_assert_str_eq(r.query_id, "rc-1");
	/* The release entry it names: the same request, the same answer. */
	cJSON *rel = release_entry("rc-1");
	ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rel, "request_sha256")), r.request_sha256);
	char *logged = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(rel, "answer"));
	char hex[65];
	lv_release_answer_sha256(logged, strlen(logged), hex);
	ck_assert_str_eq(hex, r.answer_sha256);
	/* What the analyst got, less "cached" and "receipt", is that answer. */
	cJSON *mine = cJSON_Duplicate(a, true);
	cJSON_DeleteItemFromObjectCaseSensitive(mine, "cached");
	cJSON_DeleteItemFromObjectCaseSensitive(mine, "receipt");
	char *mt = cJSON_PrintUnformatted(mine);
	ck_assert_str_eq(mt, logged);
	free(mt);
	cJSON_Delete(mine);
	free(logged);
	/* The question, its epsilon and its budget day. */
	ck_assert(num(rel, "epsilon") == 0.75);
	ck_assert(num(rel, "budget_day") == (double)(now / UTIL_DAY_MS));
	const cJSON *qj = cJSON_GetObjectItemCaseSensitive(rel, "query");
	ck_assert(cJSON_IsObject(qj));
	ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(qj, "purpose")), POLICY);
	ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(qj, "metric")), "mean");
	ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(qj, "field")), "result.score.scaled");
	ck_assert_str_eq(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(qj, "verbs"), 0)->valuestring, V_COMPLETED);
	/* request_sha256 is the digest of exactly that object. */
	char *qt = cJSON_PrintUnformatted(qj);
	unsigned char h[32];
	crypto_hash_sha256(h, (const unsigned char *)qt, strlen(qt));
	sodium_bin2hex(hex, sizeof hex, h, sizeof h);
	ck_assert_str_eq(hex, r.request_sha256);
	free(qt);
	cJSON_Delete(rel);
	/* Asked again: the cached answer carries the same receipt. */
	cJSON *b = ask(&analyst, q);
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(b, "cached")));
	ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(b, "receipt")), receipt);
	cJSON_DeleteItemFromObjectCaseSensitive(a, "cached");
	cJSON_DeleteItemFromObjectCaseSensitive(b, "cached");
	char *x = cJSON_PrintUnformatted(a), *y = cJSON_PrintUnformatted(b);
	ck_assert_str_eq(x, y);
	free(x);
	free(y);
	cJSON_Delete(a);
	cJSON_Delete(b);
	/* The log still verifies offline. */
	audit_verifies();
}
END_TEST

/* Milliseconds @who's query @q takes. */
static double timed_ask(const struct lv_principal *who, const char *q)
{
	double t0 = util_mono_s();
	cJSON_Delete(ask(who, q));
	return (util_mono_s() - t0) * 1000;
}

/* With a quantum of 200 ms an answer comes at a multiple of 200 ms after
 * the question, whatever the cohort and however long the work took. */
START_TEST(answers_come_at_multiples_of_the_quantum)
{
	char e[LV_QUERY_ERR_LEN];
	ck_assert_int_eq(lv_node_setting_set(node, "aggregate_time_quantum_ms", "-1"), LV_ERR_INVALID);
	ck_assert_int_eq(lv_node_setting_set(node, "aggregate_time_quantum_ms", "2x"), LV_ERR_INVALID);
	ck_assert_int_eq(lv_node_setting_set(node, "aggregate_time_quantum_ms", "600001"), LV_ERR_INVALID);
	quantum("200");
	const char *q = "{\"purpose\":\"" POLICY "\",\"metric\":\"count\",\"epsilon\":0.1}";
	double t = timed_ask(&analyst, q);
	ck_assert_msg(t >= 200 && t < 290, "%.1f ms", t);
	/* A cached answer too. */
	t = timed_ask(&analyst, "{\"id\":\"tq\",\"purpose\":\"" POLICY "\",\"metric\":\"count\",\"epsilon\":0.1}");
	ck_assert_msg(t >= 200 && t < 290, "%.1f ms", t);
	t = timed_ask(&analyst, "{\"id\":\"tq\",\"purpose\":\"" POLICY "\",\"metric\":\"count\",\"epsilon\":0.1}");
	ck_assert_msg(t >= 200 && t < 290, "%.1f ms", t);
	/* Work that takes 250 ms is answered at 400. */
	hook_sleep_ms = 250;
	hook_sleep_stage = QUERY_STAGE_COMPUTING;
	query_test_hook = sleeping_hook;
	t = timed_ask(&analyst, q);
	ck_assert_msg(t >= 400 && t < 490, "%.1f ms", t);
	/* An error after the cohort was read as well (a policy version
	 * changed while the query ran). */
	query_test_hook = new_version_hook;
	double t0 = util_mono_s();
	ck_assert_int_eq(ask_fail(&analyst, q, e), LV_ERR_CONFLICT);
	t = (util_mono_s() - t0) * 1000;
	ck_assert_msg(t >= 200 && t < 290, "%.1f ms", t);
	query_test_hook = NULL;
	/* The failed query's hold on the budget ended with it. */
	ck_assert_int_eq(lv_store_budget_held(node, POLICY, 0), 0);
	/* 0 turns it off. */
	quantum("0");
	t = timed_ask(&analyst, q);
	ck_assert_msg(t < 200, "%.1f ms", t);
}
END_TEST

/* The learner's access report shows each release the learner was in,
 * with a proof against the report's checkpoint; a learner left out sees
 * none. */
START_TEST(access_report_shows_releases)
{
	cJSON_Delete(ask(&analyst, "{\"id\":\"ar-1\",\"purpose\":\"" POLICY "\",\"metric\":\"count\",\"epsilon\":0.5}"));
	cJSON_Delete(ask(&analyst, "{\"id\":\"ar-2\",\"purpose\":\"" POLICY "\",\"metric\":\"count\",\"epsilon\":0.5}"));
	/* Another analyst may use the same id: a different release. */
	cJSON *rep = NULL;
	ck_assert_int_eq(lv_learner_access_report(node, learners[2], &rep), LV_OK);
	struct lv_checkpoint cp;
	const char *note = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rep, "checkpoint"));
	ck_assert_int_eq(lv_checkpoint_open(note, strlen(note), vkey, NULL, &cp), LV_OK);
	const cJSON *rels = cJSON_GetObjectItemCaseSensitive(rep, "releases");
	ck_assert_int_eq(cJSON_GetArraySize(rels), 2);
	int k = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, rels) {
		const char *text = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "entry"));
		cJSON *ent = cJSON_Parse(text);
		ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ent, "type")), "release");
		ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ent, "query_id")),
				 k == 0 ? "ar-1" : "ar-2");
		ck_assert(num(it, "index") == num(ent, "index"));
		cJSON_Delete(ent);
		struct lv_merkle_proof p = {0};
		const cJSON *h;
		cJSON_ArrayForEach(h, cJSON_GetObjectItemCaseSensitive(it, "proof")) {
			size_t len;
			ck_assert(sodium_base642bin(p.hash[p.len++], LV_MERKLE_HASH_LEN, h->valuestring, strlen(h->valuestring),
						    NULL, &len, NULL, sodium_base64_VARIANT_ORIGINAL) == 0);
		}
		unsigned char leaf[LV_MERKLE_HASH_LEN];
		lv_merkle_hash_leaf(text, strlen(text), leaf);
		ck_assert_int_eq(lv_merkle_verify_inclusion((uint64_t)num(it, "index"), cp.size, leaf, &p, cp.root), LV_OK);
		k++;
	}
	cJSON_Delete(rep);
	/* A learner who never consented was in no release. */
	ck_assert_int_eq(lv_learner_access_report(node, learners[NCONSENT], &rep), LV_OK);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(rep, "releases")), 0);
	cJSON_Delete(rep);
	/* Learner 2 withdraws: the next release is not in their report. */
	char rid[LV_RECORD_ID_LEN], err[LV_CONSENT_ERR_LEN];
	ck_assert_int_eq(lv_consent_withdraw(node, &admin, LV_ROLE_LEARNER, learners[2], POLICY, rid, err), LV_OK);
	cJSON_Delete(ask(&analyst, "{\"id\":\"ar-3\",\"purpose\":\"" POLICY "\",\"metric\":\"count\",\"epsilon\":0.5}"));
	ck_assert_int_eq(lv_learner_access_report(node, learners[2], &rep), LV_OK);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(rep, "releases")), 2);
	cJSON_Delete(rep);
	ck_assert_int_eq(lv_learner_access_report(node, learners[3], &rep), LV_OK);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(rep, "releases")), 3);
	cJSON_Delete(rep);
	/* A node.db from before the index it uses gains it at the next open. */
	ck_assert_int_eq(db_exec(node->db, "DROP INDEX audit_log_unsubjected"), LV_OK);
	lv_node_close(node);
	ck_assert_int_eq(lv_node_open(dir, NULL, NULL, &node), LV_OK);
	ck_assert_int_eq(lv_learner_access_report(node, learners[3], &rep), LV_OK);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(rep, "releases")), 3);
	cJSON_Delete(rep);
}
END_TEST

/* ---- HTTP: the route with every role ---- */

START_TEST(http_aggregate_route)
{
	struct lv_server *srv = NULL;
	struct lv_server_options so = {.host = "127.0.0.1", .port = 0, .threads = 2};
	ck_assert_int_eq(lv_server_start(node, &so, &srv), LV_OK);
	ck_assert_int_eq(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
	struct hc hc;
	hc_init(&hc, lv_server_port(srv));
	char tok_an[256], tok_l[256], tok_aud[256], tok_adm[256], id[LV_CRED_ID_LEN];
	char *secret = NULL;
	const char *purposes[] = {POLICY};
	ck_assert_int_eq(lv_credential_add(node, LV_ROLE_ANALYST, NULL, purposes, 1, NULL, id, &secret), LV_OK);
	snprintf(tok_an, sizeof tok_an, "%s.%s", id, secret);
	sodium_free(secret);
	ck_assert_int_eq(lv_credential_add(node, LV_ROLE_LEARNER, learners[0], NULL, 0, NULL, id, &secret), LV_OK);
	snprintf(tok_l, sizeof tok_l, "%s.%s", id, secret);
	sodium_free(secret);
	ck_assert_int_eq(lv_credential_add(node, LV_ROLE_AUDITOR, NULL, NULL, 0, NULL, id, &secret), LV_OK);
	snprintf(tok_aud, sizeof tok_aud, "%s.%s", id, secret);
	sodium_free(secret);
	ck_assert_int_eq(lv_credential_add(node, LV_ROLE_ADMIN, NULL, NULL, 0, NULL, id, &secret), LV_OK);
	snprintf(tok_adm, sizeof tok_adm, "%s.%s", id, secret);
	sodium_free(secret);
	const char *q = "{\"purpose\":\"" POLICY "\",\"metric\":\"count\",\"epsilon\":1}";
	struct hc_resp r;
	struct hc_req rq = {.method = "POST", .path = "/aggregate", .body = q, .no_version = true, .bearer = tok_an};
	ck_assert_int_eq(hc_do(&hc, &rq, &r), 200);
	cJSON *a = cJSON_Parse(r.body);
	ck_assert(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(a, "value")));
	ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(a, "audit_index"));
	const char *receipt = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a, "receipt"));
	struct lv_release_receipt rr;
	ck_assert_ptr_nonnull(receipt);
	ck_assert_int_eq(lv_release_receipt_open(receipt, strlen(receipt), vkey, &rr), LV_OK);
	ck_assert_str_eq(rr.query_id, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a, "query_id")));
	cJSON_Delete(a);
	hc_resp_free(&r);
	/* Learner 0 was included: their access report shows the release. */
	struct hc_req lr = {.method = "GET", .path = "/learner/access-report", .no_version = true, .bearer = tok_l};
	ck_assert_int_eq(hc_do(&hc, &lr, &r), 200);
	a = cJSON_Parse(r.body);
	const cJSON *rels = cJSON_GetObjectItemCaseSensitive(a, "releases");
	ck_assert_msg(cJSON_GetArraySize(rels) == 1, "%s", r.body);
	ck_assert_ptr_nonnull(strstr(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rels->child, "entry")),
				     rr.query_id));
	cJSON_Delete(a);
	hc_resp_free(&r);
	/* Every other role is refused; errors are JSON. */
	const char *toks[] = {NULL, tok_l, tok_aud, tok_adm, "nope.nope"};
	const long want[] = {401, 403, 403, 403, 401};
	for (int i = 0; i < 5; i++) {
		rq.bearer = toks[i];
		ck_assert_int_eq(hc_do(&hc, &rq, &r), want[i]);
		cJSON *e = cJSON_Parse(r.body);
		ck_assert_msg(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(e, "error")), "%s", r.body);
		cJSON_Delete(e);
		hc_resp_free(&r);
	}
	/* The analyst token: GET is not a query, a bad body is 400, a purpose
	 * not bound is 403, an exhausted budget 429. */
	rq.bearer = tok_an;
	rq.method = "GET";
	rq.body = NULL;
	ck_assert_int_eq(hc_do(&hc, &rq, &r), 405);
	hc_resp_free(&r);
	rq.method = "POST";
	rq.body = "{\"purpose\":";
	ck_assert_int_eq(hc_do(&hc, &rq, &r), 400);
	hc_resp_free(&r);
	rq.body = "{\"purpose\":\"agg-precise\",\"metric\":\"count\",\"epsilon\":1}";
	ck_assert_int_eq(hc_do(&hc, &rq, &r), 403);
	hc_resp_free(&r);
	ck_assert_int_eq(db_exec(node->db, "UPDATE dp_releases SET micro_eps = 100000000"), LV_OK);
	rq.body = q;
	ck_assert_int_eq(hc_do(&hc, &rq, &r), 429);
	ck_assert_ptr_nonnull(strstr(r.body, "budget_exhausted"));
	hc_resp_free(&r);
	/* Nothing else opens to an analyst: raw statements, a learner's door,
	 * the audit door, policies' writes. */
	static const char *const paths[][2] = {
		{"GET", "/xapi/statements"}, {"GET", "/learner/statements"}, {"GET", "/learner/export"},
		{"GET", "/audit/log"}, {"GET", "/audit/checkpoint"}, {"DELETE", "/learner"},
		{"POST", "/learner/consents"},
	};
	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
		struct hc_req o = {.method = paths[i][0], .path = paths[i][1], .bearer = tok_an,
				   .no_version = strncmp(paths[i][1], "/xapi", 5) != 0};
		long st = hc_do(&hc, &o, &r);
		ck_assert_msg(st == 401 || st == 403, "%s %s gave %ld", paths[i][0], paths[i][1], st);
		hc_resp_free(&r);
	}
	hc_free(&hc);
	lv_server_destroy(srv);
}
END_TEST

START_TEST(cli_query)
{
	/* The operator's door: the CLI needs the node closed (it holds vaults). */
	lv_node_close(node);
	node = NULL;
	char qf[600], cmd[2048];
	snprintf(qf, sizeof qf, "%s/q.json", th_tmpdir());
	FILE *f = fopen(qf, "w");
	fputs("{\"id\":\"cli-1\",\"purpose\":\"" POLICY "\",\"metric\":\"mean\",\"field\":\"result.score.scaled\","
	      "\"bounds\":[0,1],\"epsilon\":1}", f);
	fclose(f);
	snprintf(cmd, sizeof cmd, "%s query --data %s %s 2>/dev/null", th_bin(), dir, qf);
	FILE *p = popen(cmd, "r");
	char out[4096] = "";
	size_t n = fread(out, 1, sizeof out - 1, p);
	out[n] = '\0';
	ck_assert_int_eq(pclose(p), 0);
	cJSON *a = cJSON_Parse(out);
	ck_assert_msg(a != NULL, "%s", out);
	ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(a, "query_id")->valuestring, "cli-1");
	ck_assert(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(a, "value")));
	cJSON_Delete(a);
	/* A bad query file: non-zero exit, nothing printed on stdout. */
	f = fopen(qf, "w");
	fputs("{\"purpose\":\"" POLICY "\",\"metric\":\"count\"}", f);
	fclose(f);
	p = popen(cmd, "r");
	n = fread(out, 1, sizeof out - 1, p);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_ne(pclose(p), 0);
	ck_assert_int_eq(lv_node_open(dir, NULL, NULL, &node), LV_OK);
}
END_TEST

Suite *lv_test_suite(void)
{
	Suite *s = suite_create("query");
	TCase *t = tcase_create("aggregate");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_set_timeout(t, 120);
	tcase_add_test(t, only_consenting_learners_are_included_and_logged);
	tcase_add_test(t, withdrawal_and_erasure_take_effect);
	tcase_add_test(t, filters_and_policy_scope);
	tcase_add_test(t, budget_is_charged_per_learner_and_per_purpose);
	tcase_add_test(t, small_cohorts_are_suppressed);
	tcase_add_test(t, intervals_cover_the_truth);
	tcase_add_test(t, histogram_and_quantile);
	tcase_add_test(t, bad_queries_are_refused_without_release);
	tcase_add_test(t, tampered_facts_fail_closed);
	tcase_add_test(t, facts_are_rebuilt_for_older_nodes);
	tcase_add_test(t, journal_fold_merges_segments);
	tcase_add_test(t, fit_global_bkt_through_the_door);
	tcase_add_test(t, node_is_not_blocked_while_a_release_computes);
	tcase_add_test(t, withdrawal_while_a_release_computes);
	tcase_add_test(t, erasure_while_a_release_computes);
	tcase_add_test(t, concurrent_releases_keep_the_purpose_cap);
	tcase_add_test(t, fit_global_leaves_out_who_withdrew);
	tcase_add_test(t, answers_a_withdrawal_apart_differ_only_in_noise);
	tcase_add_test(t, receipt_and_recorded_question);
	tcase_add_test(t, answers_come_at_multiples_of_the_quantum);
	tcase_add_test(t, access_report_shows_releases);
	tcase_add_test(t, http_aggregate_route);
	tcase_add_test(t, cli_query);
	suite_add_tcase(s, t);
	return s;
}
