/* Retention (include/learnvault/retention.h, docs/privacy.md): statements
 * of various ages under policies of various scopes and retentions; a dry
 * run counts and deletes nothing; a real run deletes exactly the expired
 * statements from the vaults, the index and the facts, audits counts only,
 * and the log still verifies.  "Various ages" are made by running the rule
 * at a later time than the statements were stored (lv_retention_run takes
 * the time), since the store stamps every statement with the real time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "learnvault/audit.h"
#include "learnvault/auditlog.h"
#include "learnvault/consent.h"
#include "learnvault/door.h"
#include "learnvault/retention.h"
#include "learnvault/statements.h"
#include "store/store.h"

#define NL 3
#define SHAPES 5
#define V_COMPLETED "http://adlnet.gov/expapi/verbs/completed"
#define V_PASSED "http://adlnet.gov/expapi/verbs/passed"
#define V_EXPERIENCED "http://adlnet.gov/expapi/verbs/experienced"
#define T_LESSON "http://adlnet.gov/expapi/activities/lesson"
#define T_ASSESSMENT "http://adlnet.gov/expapi/activities/assessment"

static char dir[512];
static struct lv_node *node;
static char learners[NL][LV_PSEUDONYM_LEN];
/* ids[phase][learner][shape]: phase 0 stored before t_mid, phase 1 after. */
static char ids[2][NL][SHAPES][37];
static int64_t t_mid;

/* Shapes: 0 completed+lesson (policy "short", 30 then 60 days), 1
 * completed+assessment ("long", 365 days), 2 passed+lesson (no policy
 * has both), 3 experienced without a type (never in scope), 4
 * passed+assessment ("long"). */
static const struct {
	const char *verb, *type;
} SHAPE[SHAPES] = {
	{V_COMPLETED, T_LESSON}, {V_COMPLETED, T_ASSESSMENT}, {V_PASSED, T_LESSON}, {V_EXPERIENCED, NULL},
	{V_PASSED, T_ASSESSMENT},
};

static void load_policy(const char *id, int version, int days, const char *const *verbs, const char *const *types)
{
	char *text = NULL, err[LV_POLICY_ERR_LEN], pid[LV_POLICY_ID_MAX + 1];
	size_t len;
	uint32_t v;
	bool added;
	ck_assert_int_eq(util_read_file(th_src("policies/course-improvement.json"), 65536, &text, &len), LV_OK);
	cJSON *p = cJSON_Parse(text);
	free(text);
	cJSON_ReplaceItemInObjectCaseSensitive(p, "id", cJSON_CreateString(id));
	cJSON_ReplaceItemInObjectCaseSensitive(p, "version", cJSON_CreateNumber(version));
	cJSON_ReplaceItemInObjectCaseSensitive(p, "retention_days", cJSON_CreateNumber(days));
	cJSON *data = cJSON_GetObjectItemCaseSensitive(p, "data");
	cJSON *va = cJSON_CreateArray(), *ta = cJSON_CreateArray();
	for (; *verbs; verbs++)
		cJSON_AddItemToArray(va, cJSON_CreateString(*verbs));
	for (; *types; types++)
		cJSON_AddItemToArray(ta, cJSON_CreateString(*types));
	cJSON_ReplaceItemInObjectCaseSensitive(data, "verbs", va);
	cJSON_ReplaceItemInObjectCaseSensitive(data, "activity_types", ta);
	text = cJSON_Print(p);
	cJSON_Delete(p);
	ck_assert_msg(lv_policy_load(node, text, strlen(text), &added, pid, &v, err) == LV_OK, "%s", err);
	free(text);
}

static void put(int phase, int l, int shape)
{
	char body[1024], type[160] = "";
	util_uuid_v4(ids[phase][l][shape]);
	if (SHAPE[shape].type)
		snprintf(type, sizeof type, ",\"definition\":{\"type\":\"%s\"}", SHAPE[shape].type);
	snprintf(body, sizeof body,
		 "[{\"id\":\"%s\",\"actor\":{\"mbox\":\"mailto:r%d@school.example\"},\"verb\":{\"id\":\"%s\"},"
		 "\"object\":{\"id\":\"http://example.com/act-%d\"%s}}]",
		 ids[phase][l][shape], l, SHAPE[shape].verb, shape, type);
	cJSON *arr = cJSON_Parse(body);
	ck_assert_ptr_nonnull(arr);
	struct lv_principal provider = {.role = LV_ROLE_PROVIDER, .id = "lms"};
	char err[LV_ERR_TEXT];
	ck_assert_msg(lv_ingest(node, &provider, arr, NULL, 0, err) == LV_OK, "%s", err);
	cJSON_Delete(arr);
}

static void setup(void)
{
	char *vk = NULL;
	snprintf(dir, sizeof dir, "%s/node", th_tmpdir());
	ck_assert_int_eq(lv_node_init(dir, NULL, NULL, &vk), LV_OK);
	free(vk);
	ck_assert_int_eq(lv_node_open(dir, NULL, NULL, &node), LV_OK);
	load_policy("short", 1, 30, (const char *const[]){V_COMPLETED, NULL}, (const char *const[]){T_LESSON, NULL});
	/* A later version keeps longer: the longest covering version counts. */
	load_policy("short", 2, 60, (const char *const[]){V_COMPLETED, NULL}, (const char *const[]){T_LESSON, NULL});
	load_policy("long", 1, 365, (const char *const[]){V_COMPLETED, V_PASSED, NULL},
		    (const char *const[]){T_ASSESSMENT, NULL});
	for (int l = 0; l < NL; l++)
		for (int s = 0; s < SHAPES; s++)
			put(0, l, s);
	usleep(5000);
	t_mid = util_now_ms();
	usleep(5000);
	for (int l = 0; l < NL; l++)
		for (int s = 0; s < SHAPES; s++)
			put(1, l, s);
	for (int l = 0; l < NL; l++) {
		char actor[96];
		bool created = true;
		snprintf(actor, sizeof actor, "{\"mbox\":\"mailto:r%d@school.example\"}", l);
		ck_assert_int_eq(lv_learner_enrol(node, actor, learners[l], &created), LV_OK);
		ck_assert(!created);
	}
}

static void teardown(void)
{
	lv_node_close(node);
	node = NULL;
	th_rmtree(dir);
}

/* Rows of statement @id in the index (0 or 1). */
static int indexed(const char *id)
{
	sqlite3_stmt *s = NULL;
	ck_assert_int_eq(lv_store_lock(node), LV_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(node->db, "SELECT count(*) FROM statements WHERE id = ?", -1, &s, NULL),
			 SQLITE_OK);
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
	int n = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	lv_store_unlock(node);
	return n;
}

/* Rows in learner @l's vault. */
static int vault_rows(int l)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	ck_assert_int_eq(lv_store_lock(node), LV_OK);
	ck_assert_int_eq(vault_get(node, learners[l], false, &db), LV_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT count(*) FROM statements", -1, &s, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
	int n = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	lv_store_unlock(node);
	return n;
}

static bool count_all(void *ctx, const struct lv_fact *f)
{
	(void)f;
	(*(int *)ctx)++;
	return false;
}

/* Fact records of every learner (a dry walk that expires nothing). */
static int facts(void)
{
	int n = 0;
	struct lv_retention_report rep;
	ck_assert_int_eq(lv_store_retention_apply(node, count_all, NULL, &n, true, NULL, &rep), LV_OK);
	ck_assert_int_eq(rep.examined, (uint64_t)n);
	return n;
}

static int total_rows(void)
{
	int n = 0;
	for (int l = 0; l < NL; l++)
		n += vault_rows(l);
	return n;
}

/* The log verifies offline, and its last entry is a retention entry
 * with @deleted statements and no learner. */
static void assert_log(uint64_t deleted, uint64_t learners_hit)
{
	char *json = NULL, *vkey = NULL, *report = NULL;
	ck_assert_int_eq(lv_audit_export(node, &json), LV_OK);
	ck_assert_int_eq(lv_audit_vkey(node, &vkey), LV_OK);
	enum lv_status st = lv_audit_verify_export(json, strlen(json), vkey, NULL, &report);
	ck_assert_msg(st == LV_OK, "audit verify: %s", report ? report : "");
	cJSON *log = cJSON_Parse(json);
	const cJSON *entries = cJSON_GetObjectItemCaseSensitive(log, "entries");
	cJSON *last = cJSON_Parse(cJSON_GetArrayItem(entries, cJSON_GetArraySize(entries) - 1)->valuestring);
	ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(last, "type")->valuestring, "retention");
	ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(last, "statements")->valuedouble, (double)deleted);
	ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(last, "learners")->valuedouble, (double)learners_hit);
	ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(last, "learner"));
	for (int l = 0; l < NL; l++)
		ck_assert_ptr_null(strstr(cJSON_GetArrayItem(entries, cJSON_GetArraySize(entries) - 1)->valuestring,
					  learners[l]));
	cJSON *rep = cJSON_Parse(report);
	ck_assert_int_ge(cJSON_GetObjectItemCaseSensitive(rep, "retention_entries")->valueint, 1);
	cJSON_Delete(rep);
	cJSON_Delete(last);
	cJSON_Delete(log);
	free(json);
	free(vkey);
	free(report);
}

START_TEST(dry_run_counts_and_deletes_nothing)
{
	struct lv_retention_report rep;
	char err[LV_ERR_LEN];
	uint64_t size = lv_audit_size(node);
	/* Now: nothing is old. */
	ck_assert_int_eq(lv_retention_run(node, util_now_ms(), true, &rep, err), LV_OK);
	ck_assert_int_eq(rep.examined, 2 * NL * SHAPES);
	ck_assert_int_eq(rep.expired, 0);
	ck_assert_int_eq(rep.policies, 3);
	/* 60 days after t_mid: phase 0's shape 0 is past both versions of "short". */
	ck_assert_int_eq(lv_retention_run(node, t_mid + 60 * UTIL_DAY_MS, true, &rep, err), LV_OK);
	ck_assert_int_eq(rep.expired, NL);
	ck_assert_int_eq(rep.learners, NL);
	ck_assert_int_eq(rep.audit_entries, 0);
	/* Nothing changed. */
	ck_assert_uint_eq(lv_audit_size(node), size);
	ck_assert_int_eq(total_rows(), 2 * NL * SHAPES);
	ck_assert_int_eq(facts(), 2 * NL * SHAPES);
	for (int l = 0; l < NL; l++)
		ck_assert_int_eq(indexed(ids[0][l][0]), 1);
}
END_TEST

START_TEST(a_run_deletes_exactly_the_expired)
{
	struct lv_retention_report rep;
	char err[LV_ERR_LEN];
	/* 31 days on, version 1 of "short" alone would expire shape 0;
	 * version 2 (60 days) still covers it: nothing goes. */
	ck_assert_int_eq(lv_retention_run(node, t_mid + 31 * UTIL_DAY_MS, false, &rep, err), LV_OK);
	ck_assert_int_eq(rep.expired, 0);
	ck_assert_int_eq(rep.audit_entries, 1);
	assert_log(0, 0);
	/* 60 days on: phase 0's shape 0 goes, from the vault, index and facts. */
	ck_assert_int_eq(lv_retention_run(node, t_mid + 60 * UTIL_DAY_MS, false, &rep, err), LV_OK);
	ck_assert_int_eq(rep.expired, NL);
	ck_assert_int_eq(rep.learners, NL);
	for (int l = 0; l < NL; l++) {
		ck_assert_int_eq(vault_rows(l), 2 * SHAPES - 1);
		for (int p = 0; p < 2; p++)
			for (int s = 0; s < SHAPES; s++)
				ck_assert_msg(indexed(ids[p][l][s]) == !(p == 0 && s == 0), "phase %d shape %d", p, s);
	}
	ck_assert_int_eq(facts(), 2 * NL * SHAPES - NL);
	assert_log(NL, NL);
	/* 365 days on: phase 0's shapes 1 and 4 ("long") and phase 1's shape 0
	 * ("short"); shapes 2 and 3 are in no policy's scope and stay. */
	ck_assert_int_eq(lv_retention_run(node, t_mid + 365 * UTIL_DAY_MS, false, &rep, err), LV_OK);
	ck_assert_int_eq(rep.expired, 3 * NL);
	for (int l = 0; l < NL; l++) {
		ck_assert_int_eq(vault_rows(l), 2 * SHAPES - 4);
		ck_assert_int_eq(indexed(ids[0][l][2]) + indexed(ids[0][l][3]) + indexed(ids[1][l][1]) +
					 indexed(ids[1][l][2]) + indexed(ids[1][l][3]) + indexed(ids[1][l][4]),
				 6);
		ck_assert_int_eq(indexed(ids[0][l][1]) + indexed(ids[0][l][4]) + indexed(ids[1][l][0]), 0);
	}
	ck_assert_int_eq(facts(), NL * (2 * SHAPES - 4));
	assert_log(3 * NL, NL);
	/* The statements that remain still read back in full. */
	struct lv_principal provider = {.role = LV_ROLE_PROVIDER, .id = "lms"};
	cJSON *st = NULL;
	ck_assert_int_eq(lv_readback_statement(node, &provider, ids[1][0][4], false, &st), LV_OK);
	ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(st, "id")->valuestring, ids[1][0][4]);
	cJSON_Delete(st);
	/* Far later, the rest of "long" goes; the out-of-scope ones never. */
	ck_assert_int_eq(lv_retention_run(node, t_mid + 3660 * UTIL_DAY_MS, false, &rep, err), LV_OK);
	ck_assert_int_eq(rep.expired, 2 * NL);
	ck_assert_int_eq(total_rows(), 4 * NL);
}
END_TEST

/* A real run needs the vaults: the CLI is refused (naming the holder)
 * while this process owns them; a dry run works beside it. */
START_TEST(cli_refuses_while_the_vaults_are_held)
{
	char args[1024], errf[600], *out = NULL;
	snprintf(errf, sizeof errf, "%s.err", dir);
	snprintf(args, sizeof args, "retention run --data %s", dir);
	ck_assert_int_eq(th_run_cli(args, &out, errf), 1);
	free(out);
	ck_assert(th_file_contains(errf, "in use by"));
	ck_assert(th_file_contains(errf, "nothing was changed"));
	snprintf(args, sizeof args, "retention run --data %s --dry-run --as-of 2999-01-01T00:00:00Z", dir);
	ck_assert_int_eq(th_run_cli(args, &out, errf), 0);
	cJSON *o = cJSON_Parse(out);
	free(out);
	ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(o, "would_delete")->valueint, 6 * NL);
	ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(o, "examined")->valueint, 2 * NL * SHAPES);
	cJSON_Delete(o);
	ck_assert_int_eq(total_rows(), 2 * NL * SHAPES);
	/* --as-of looks ahead only in a dry run. */
	snprintf(args, sizeof args, "retention run --data %s --as-of 2999-01-01T00:00:00Z", dir);
	ck_assert_int_eq(th_run_cli(args, &out, errf), 2);
	free(out);
	unlink(errf);
}
END_TEST

/* The server's schedule runs on its own and audits each run. */
START_TEST(the_schedule_runs)
{
	struct lv_retention_schedule *s = NULL;
	uint64_t size = lv_audit_size(node);
	ck_assert_int_eq(lv_retention_schedule_start(node, 1, &s), LV_OK);
	for (int i = 0; i < 100 && lv_audit_size(node) < size + 2; i++)
		usleep(50000);
	lv_retention_schedule_stop(s);
	ck_assert_uint_ge(lv_audit_size(node), size + 2);
	assert_log(0, 0); /* nothing is old yet */
	ck_assert_int_eq(lv_retention_schedule_start(node, 0, &s), LV_OK);
	ck_assert_ptr_null(s);
}
END_TEST

Suite *lv_test_suite(void)
{
	Suite *s = suite_create("retention");
	TCase *tc = tcase_create("retention");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, dry_run_counts_and_deletes_nothing);
	tcase_add_test(tc, a_run_deletes_exactly_the_expired);
	tcase_add_test(tc, cli_refuses_while_the_vaults_are_held);
	tcase_add_test(tc, the_schedule_runs);
	suite_add_tcase(s, tc);
	return s;
}
