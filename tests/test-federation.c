/* Federation end to end: learnvault nodes upload DAP-09 reports to two
 * mock aggregators (tests/federation/mock-aggregator.mjs, on
 * @divviup/prio3), and the collector's total is checked exactly (the mocks
 * add no noise).  Also: who is left out (no consent, erased, uploaded
 * already), the budgets, the audit trail, the learner's access report,
 * the admin route over HTTP, and reports the aggregators must refuse
 * (replayed, tampered, out of range).  Without the npm test tooling
 * (LV_NPM_DIR, installed by tools/dev test) every test reports SKIP. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>

#include "federation/dap_client.h"
#include "federation/prio3.h"
#include "fedmock.h"
#include "harness.h"
#include "http-client.h"
#include "learnvault/audit.h"
#include "learnvault/auditlog.h"
#include "learnvault/consent.h"
#include "learnvault/door.h"
#include "learnvault/federation.h"
#include "learnvault/query.h"
#include "learnvault/server.h"
#include "learnvault/store.h"

#define POLICY "fed-test"
#define NMAX 500
#define V_COMPLETED "http://adlnet.gov/expapi/verbs/completed"
#define T_ASSESSMENT "http://adlnet.gov/expapi/activities/assessment"

static const struct lv_principal ADMIN = {.role = LV_ROLE_ADMIN, .id = "operator"};

/* A node of @n learners; learner i of node k has two quiz scores, a and b
 * hundredths, so their per-learner mean is (a + b) * 50 field units
 * (10^-4) exactly. */
struct fnode {
	char dir[512];
	struct lv_node *n;
	char vkey[256];
	int k, nl;
	char learners[NMAX][LV_PSEUDONYM_LEN];
	bool consent[NMAX], erased[NMAX];
	int64_t units[NMAX];
};

static int score_a(int k, int i) { return (k * 7919 + i * 37) % 101; }
static int score_b(int k, int i) { return (k * 104729 + i * 53) % 101; }

static void load_policy(struct fnode *f)
{
	char *text = NULL, err[LV_POLICY_ERR_LEN], pid[LV_POLICY_ID_MAX + 1];
	size_t len;
	uint32_t version;
	bool added;
	ck_assert_int_eq(util_read_file(th_src("policies/course-improvement.json"), 65536, &text, &len), LV_OK);
	cJSON *p = cJSON_Parse(text);
	free(text);
	cJSON_ReplaceItemInObjectCaseSensitive(p, "id", cJSON_CreateString(POLICY));
	cJSON_ReplaceItemInObjectCaseSensitive(p, "guardian_below_age", cJSON_CreateNumber(0));
	const char *ops[] = {"count", "sum", "mean", "histogram"};
	cJSON_ReplaceItemInObjectCaseSensitive(p, "operations", cJSON_CreateStringArray(ops, 4));
	cJSON *priv = cJSON_GetObjectItemCaseSensitive(p, "privacy");
	cJSON_ReplaceItemInObjectCaseSensitive(priv, "epsilon_per_query_max", cJSON_CreateNumber(1));
	cJSON_ReplaceItemInObjectCaseSensitive(priv, "epsilon_budget", cJSON_CreateNumber(10));
	cJSON_ReplaceItemInObjectCaseSensitive(priv, "min_cohort", cJSON_CreateNumber(10));
	text = cJSON_Print(p);
	cJSON_Delete(p);
	ck_assert_msg(lv_policy_load(f->n, text, strlen(text), &added, pid, &version, err) == LV_OK, "%s", err);
	free(text);
}

static cJSON *statement(int k, int i, int hundredths)
{
	char id[UTIL_UUID_LEN], body[1024];
	util_uuid_v4(id);
	snprintf(body, sizeof body,
		 "{\"id\":\"%s\",\"actor\":{\"mbox\":\"mailto:n%dl%d@school.example\"},\"verb\":{\"id\":\"" V_COMPLETED
		 "\"},\"object\":{\"id\":\"http://example.com/quiz/%d\",\"definition\":{\"type\":\"" T_ASSESSMENT
		 "\"}},\"result\":{\"score\":{\"scaled\":%d.%02d}}}",
		 id, k, i, i % 3, hundredths / 100, hundredths % 100);
	cJSON *s = cJSON_Parse(body);
	ck_assert_ptr_nonnull(s);
	return s;
}

/* Node @k with @nl learners: every fifth refuses (no consent), and of
 * those who consent, every seventh (i % 7 == 3) is erased afterwards. */
static void node_make(struct fnode *f, int k, int nl)
{
	char *vk = NULL, err[LV_ERR_TEXT];
	memset(f, 0, sizeof *f);
	f->k = k;
	f->nl = nl;
	snprintf(f->dir, sizeof f->dir, "%s/node%d", th_tmpdir(), k);
	ck_assert_int_eq(lv_node_init(f->dir, NULL, NULL, &vk), LV_OK);
	snprintf(f->vkey, sizeof f->vkey, "%s", vk);
	free(vk);
	ck_assert_int_eq(lv_node_open(f->dir, NULL, NULL, &f->n), LV_OK);
	load_policy(f);
	struct lv_principal prov = {.role = LV_ROLE_PROVIDER, .id = "lms"};
	for (int i0 = 0; i0 < nl; i0 += 100) {
		cJSON *batch = cJSON_CreateArray();
		for (int i = i0; i < nl && i < i0 + 100; i++) {
			cJSON_AddItemToArray(batch, statement(k, i, score_a(k, i)));
			cJSON_AddItemToArray(batch, statement(k, i, score_b(k, i)));
		}
		ck_assert_msg(lv_ingest(f->n, &prov, batch, NULL, 0, err) == LV_OK, "%s", err);
		cJSON_Delete(batch);
	}
	for (int i = 0; i < nl; i++) {
		char actor[96], rid[LV_RECORD_ID_LEN], cerr[LV_CONSENT_ERR_LEN];
		bool created;
		snprintf(actor, sizeof actor, "{\"mbox\":\"mailto:n%dl%d@school.example\"}", k, i);
		ck_assert_int_eq(lv_learner_enrol(f->n, actor, f->learners[i], &created), LV_OK);
		f->units[i] = (int64_t)(score_a(k, i) + score_b(k, i)) * 50;
		f->consent[i] = i % 5 != 0;
		if (f->consent[i])
			ck_assert_msg(lv_consent_decide(f->n, &ADMIN, LV_ROLE_LEARNER, f->learners[i], POLICY, 0, true,
							rid, cerr) == LV_OK, "%s", cerr);
	}
	for (int i = 0; i < nl; i++)
		if (f->consent[i] && i % 7 == 3) {
			ck_assert_int_eq(lv_learner_erase(f->n, f->learners[i]), LV_OK);
			f->erased[i] = true;
		}
}

static void node_free(struct fnode *f)
{
	lv_node_close(f->n);
	f->n = NULL;
}

static int included(const struct fnode *f)
{
	int c = 0;
	for (int i = 0; i < f->nl; i++)
		c += f->consent[i] && !f->erased[i];
	return c;
}

static int64_t expected_sum(const struct fnode *f)
{
	int64_t s = 0;
	for (int i = 0; i < f->nl; i++)
		if (f->consent[i] && !f->erased[i])
			s += f->units[i];
	return s;
}

/* The learnvault task file for mock task @tid. */
static char *task_json(const char *tid, const struct mock *leader, const struct mock *helper, const char *vdaf,
		       const char *question)
{
	char *t = malloc(4096);
	ck_assert_ptr_nonnull(t);
	snprintf(t, 4096,
		 "{\"task_id\":\"%s\",\"leader\":\"%s\",\"helper\":\"%s\",\"vdaf\":%s,\"time_precision\":300,"
		 "\"min_batch_size\":10,\"purpose\":\"" POLICY "\",%s,\"epsilon\":0.5}",
		 tid, leader->url, helper->url, vdaf, question);
	return t;
}

static void task_add(struct fnode *f, const char *task)
{
	char *out = NULL, err[LV_QUERY_ERR_LEN];
	enum lv_status st = lv_federate_task_add(f->n, &ADMIN, task, strlen(task), util_now_ms(), &out, err);
	ck_assert_msg(st == LV_OK, "task add: %s", err);
	free(out);
}

/* The uploads of one test run at one moment (its first upload's, after
 * every consent), so that a test crossing the end of a 300 s batch
 * interval is not split in two; with less than 45 s of the interval left,
 * the test waits for the next one. */
static int64_t test_now(void)
{
	static int64_t now;
	if (!now) {
		int64_t left = 300 - (util_now_ms() / 1000) % 300;
		if (left < 45)
			sleep((unsigned)left + 1);
		now = util_now_ms();
	}
	return now;
}

static cJSON *upload(struct fnode *f, const char *tid)
{
	char *out = NULL, err[LV_QUERY_ERR_LEN];
	enum lv_status st = lv_federate_upload(f->n, &ADMIN, tid, test_now(), NULL, &out, err);
	ck_assert_msg(st == LV_OK, "upload: %s (%s)", err, lv_status_str(st));
	cJSON *s = cJSON_Parse(out);
	ck_assert_ptr_nonnull(s);
	free(out);
	return s;
}

static double num(const cJSON *o, const char *a, const char *b)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, a);
	if (b)
		v = cJSON_GetObjectItemCaseSensitive(v, b);
	ck_assert_msg(cJSON_IsNumber(v), "%s%s%s is not a number", a, b ? "." : "", b ? b : "");
	return v->valuedouble;
}

/* Micro-epsilon charged to learner @i of @f under the policy. */
static uint64_t charged(struct fnode *f, int i)
{
	uint64_t spent = 0;
	const char *l = f->learners[i];
	ck_assert_int_eq(lv_store_lock(f->n), LV_OK);
	ck_assert_int_eq(lv_store_budget_learners_spent(f->n, POLICY, 0, &l, 1, &spent), LV_OK);
	lv_store_unlock(f->n);
	return spent;
}

/* The audit log: entries whose query_id is @qid (accesses, and the
 * release, counted apart); whether any access names an erased learner;
 * and the log verifies offline. */
static void audit_check(struct fnode *f, const char *qid, int want_access)
{
	char *json = NULL, *report = NULL;
	ck_assert_int_eq(lv_audit_export(f->n, &json), LV_OK);
	enum lv_status st = lv_audit_verify_export(json, strlen(json), f->vkey, NULL, &report);
	ck_assert_msg(st == LV_OK, "%s", report);
	free(report);
	cJSON *doc = cJSON_Parse(json);
	free(json);
	const cJSON *e, *entries = cJSON_GetObjectItemCaseSensitive(doc, "entries");
	int access = 0, releases = 0;
	cJSON_ArrayForEach(e, entries)
	{
		const cJSON *ej = cJSON_IsString(e) ? NULL : e;
		cJSON *parsed = NULL;
		if (cJSON_IsString(e))
			ej = parsed = cJSON_Parse(e->valuestring);
		const cJSON *entry = cJSON_GetObjectItemCaseSensitive(ej, "entry");
		if (entry)
			ej = cJSON_IsString(entry) ? (parsed = cJSON_Parse(entry->valuestring)) : entry;
		const char *q = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ej, "query_id"));
		const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ej, "type"));
		if (q && type && strcmp(q, qid) == 0) {
			if (strcmp(type, "release") == 0)
				releases++;
			else
				access++;
			const char *subj = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ej, "subject"));
			for (int i = 0; subj && i < f->nl; i++)
				ck_assert_msg(!(f->erased[i] && strcmp(subj, f->learners[i]) == 0),
					      "an erased learner's access entry");
		}
		cJSON_Delete(parsed);
	}
	cJSON_Delete(doc);
	ck_assert_int_eq(access, want_access);
	ck_assert_int_eq(releases, 1);
}

/* Adds 1 to the first Field128 element of @share (little-endian): for a
 * Prio3Sum that turns a bit of the measurement into 2 (or 1 into 2 for a
 * 0 bit's share sum), a value out of the circuit's range. */
static void bump(struct buf *share)
{
	for (size_t i = 0; i < 16; i++)
		if (++((unsigned char *)share->data)[i] != 0)
			break;
}

/* A report of Prio3Sum(bits 14) whose shares sum to an invalid encoding,
 * sealed to the mocks' configurations. */
static void craft_out_of_range(const char *tid, const struct mock *leader, const struct mock *helper,
			       struct buf *report)
{
	struct fed_prio3_params pp = {.kind = FED_PRIO3_SUM, .bits = 14, .num_shares = 2};
	struct fed_prio3 *v = NULL;
	struct fed_dap_client *dc = NULL;
	uint8_t task_id[32], rid[16], lid, hid, lpk[32], hpk[32];
	ck_assert(lv_fed_task_id_parse(tid, task_id));
	ck_assert_int_eq(fed_prio3_create(&pp, &v), LV_OK);
	struct buf pub, shares[2];
	buf_init(&pub, 1 << 20);
	buf_init(&shares[0], 1 << 20);
	buf_init(&shares[1], 1 << 20);
	randombytes_buf(rid, sizeof rid);
	uint64_t m = 7;
	ck_assert_int_eq(fed_prio3_shard_random(v, &m, 1, rid, &pub, shares), LV_OK);
	bump(&shares[0]);
	ck_assert_int_eq(fed_dap_client_create(NULL, &dc), LV_OK);
	ck_assert_int_eq(fed_dap_client_hpke_config(dc, leader->url, task_id, &lid, lpk, NULL), LV_OK);
	ck_assert_int_eq(fed_dap_client_hpke_config(dc, helper->url, task_id, &hid, hpk, NULL), LV_OK);
	struct fed_hpke_config lc = {lid, FED_HPKE_KEM_X25519_SHA256, FED_HPKE_KDF_HKDF_SHA256, FED_HPKE_AEAD_AES128GCM,
				     lpk, 32};
	struct fed_hpke_config hc = {hid, FED_HPKE_KEM_X25519_SHA256, FED_HPKE_KDF_HKDF_SHA256, FED_HPKE_AEAD_AES128GCM,
				     hpk, 32};
	uint64_t t = (uint64_t)(util_now_ms() / 1000);
	struct fed_dap_report_input in = {task_id, rid, t - t % 300, (const uint8_t *)pub.data, pub.len,
					  (const uint8_t *)shares[0].data, shares[0].len,
					  (const uint8_t *)shares[1].data, shares[1].len, &lc, &hc};
	ck_assert_int_eq(fed_dap_report_build(&in, report), LV_OK);
	fed_dap_client_destroy(dc);
	fed_prio3_destroy(v);
	buf_free(&pub);
	buf_free(&shares[0]);
	buf_free(&shares[1]);
}

/* Reports the Leader must refuse at upload (a replay, a tampered
 * ciphertext) and one the aggregators must reject at preparation (out of
 * range, or the Helper's share tampered with); the client refuses an
 * out-of-range measurement itself. */
static void hostile_reports(const char *tid, const struct mock *leader, const struct mock *helper)
{
	struct lv_fed_client_opts o = {.leader = leader->url, .helper = helper->url, .time_precision_s = 300,
				       .vdaf = {.type = LV_FED_PRIO3_SUM, .bits = 14}};
	ck_assert(lv_fed_task_id_parse(tid, o.task_id));
	struct lv_fed_client *c = NULL;
	char err[LV_ERR_LEN];
	ck_assert_int_eq(lv_fed_client_create(&o, &c, err), LV_OK);
	ck_assert_int_eq(lv_fed_client_ready(c, err), LV_OK);
	struct buf r;
	buf_init(&r, 1 << 22);
	uint64_t big = 1u << 14, m = 100;
	ck_assert_int_eq(lv_fed_client_report(c, &big, 1, util_now_ms(), &r, err), LV_ERR_INVALID);
	ck_assert_int_eq(lv_fed_client_report(c, &m, 1, util_now_ms(), &r, err), LV_OK);
	ck_assert_int_eq(lv_fed_client_upload(c, (const uint8_t *)r.data, r.len, err), LV_OK);
	ck_assert_int_eq(lv_fed_client_upload(c, (const uint8_t *)r.data, r.len, err), LV_ERR_INVALID); /* replay */
	ck_assert_ptr_nonnull(strstr(err, "reportRejected"));
	/* The Leader's ciphertext tampered with: it does not open. */
	ck_assert_int_eq(lv_fed_client_report(c, &m, 1, util_now_ms(), &r, err), LV_OK);
	r.data[r.len - 200] ^= 1;
	ck_assert_int_eq(lv_fed_client_upload(c, (const uint8_t *)r.data, r.len, err), LV_ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(err, "reportRejected"));
	/* The Helper's: the Leader cannot tell; preparation rejects it. */
	ck_assert_int_eq(lv_fed_client_report(c, &m, 1, util_now_ms(), &r, err), LV_OK);
	r.data[r.len - 1] ^= 1;
	ck_assert_int_eq(lv_fed_client_upload(c, (const uint8_t *)r.data, r.len, err), LV_OK);
	buf_reset(&r);
	craft_out_of_range(tid, leader, helper, &r);
	ck_assert_int_eq(lv_fed_client_upload(c, (const uint8_t *)r.data, r.len, err), LV_OK);
	buf_free(&r);
	lv_fed_client_destroy(c);
}

START_TEST(two_nodes_one_exact_sum)
{
	if (!fm_have_npm())
		return;
	static struct fnode a, b;
	char tasks[600], tid[64];
	snprintf(tasks, sizeof tasks, "%s/mock-tasks.json", th_tmpdir());
	fm_write_tasks(tasks, "{\"type\":\"Prio3Sum\",\"bits\":14}", tid);
	struct mock leader, helper;
	fm_mock_start(&helper, (char *[]){"--role", "helper", "--port", "0", "--tasks", tasks, NULL});
	fm_mock_start(&leader, (char *[]){"--role", "leader", "--port", "0", "--tasks", tasks, "--helper", helper.url, NULL});
	node_make(&a, 0, NMAX);
	node_make(&b, 1, NMAX);
	char *task = task_json(tid, &leader, &helper, "{\"type\":\"Prio3Sum\",\"bits\":14}",
			       "\"metric\":\"sum\",\"field\":\"result.score.scaled\",\"per_learner\":\"mean\","
			       "\"bounds\":[0,1]");
	task_add(&a, task);
	task_add(&b, task);
	cJSON *sa = upload(&a, tid), *sb = upload(&b, tid);
	ck_assert_int_eq((int)num(sa, "learners_included", NULL), included(&a));
	ck_assert_int_eq((int)num(sb, "learners_included", NULL), included(&b));
	ck_assert_int_eq((int)num(sa, "reports_sent", NULL), included(&a));
	ck_assert_int_eq((int)num(sa, "learners_excluded", "no_consent"), NMAX / 5);
	ck_assert_int_eq((int)num(sa, "reports_pending", NULL), 0);
	ck_assert(num(sa, "epsilon_charged", NULL) == 0.5);
	/* The collector's total is exactly the included learners' values. */
	cJSON *c = fm_collect(&leader, tasks, tid);
	ck_assert_int_eq(fm_jint(c, "report_count", NULL), included(&a) + included(&b));
	ck_assert_int_eq((int64_t)num(c, "result", NULL), expected_sum(&a) + expected_sum(&b));
	ck_assert_int_eq(fm_jint(c, "rejected", NULL), 0);
	cJSON_Delete(c);
	/* Budgets: charged for the included, nothing for anyone else. */
	for (int i = 0; i < NMAX; i++)
		if (!a.erased[i])
			ck_assert_int_eq(charged(&a, i), a.consent[i] ? 500000 : 0);
	/* One access entry per included learner and the release, none for
	 * an erased learner; the log verifies offline. */
	const char *qa = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(sa, "release_id"));
	ck_assert_ptr_nonnull(qa);
	audit_check(&a, qa, included(&a));
	/* Once per task and interval: a second upload includes nobody. */
	cJSON *again = upload(&a, tid);
	ck_assert_int_eq((int)num(again, "learners_included", NULL), 0);
	ck_assert_int_eq((int)num(again, "learners_excluded", "already_uploaded"), included(&a));
	ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(again, "release_id")));
	ck_assert(num(again, "epsilon_charged", NULL) == 0);
	for (int i = 0; i < NMAX; i++)
		if (!a.erased[i])
			ck_assert_int_eq(charged(&a, i), a.consent[i] ? 500000 : 0);
	/* Hostile reports: refused at upload, or rejected at preparation;
	 * the total does not move but for the one honest report (100). */
	hostile_reports(tid, &leader, &helper);
	c = fm_collect(&leader, tasks, tid);
	ck_assert_int_eq((int64_t)num(c, "result", NULL), expected_sum(&a) + expected_sum(&b) + 100);
	ck_assert_int_eq(fm_jint(c, "rejected", NULL), 2); /* the Helper's share tampered; out of range */
	ck_assert_int_eq(fm_jint(c, "report_count", NULL), included(&a) + included(&b) + 1);
	cJSON_Delete(c);
	cJSON *st = fm_stats(&leader);
	ck_assert_int_eq(fm_jint(st, "rejected", "reportRejected"), 2); /* the replay; the Leader's share tampered */
	cJSON_Delete(st);
	cJSON_Delete(sa);
	cJSON_Delete(sb);
	cJSON_Delete(again);
	free(task);
	node_free(&a);
	node_free(&b);
	fm_mock_stop(&leader);
	fm_mock_stop(&helper);
	th_rmtree(th_tmpdir());
}
END_TEST

/* A count (every cohort member reports 0 or 1) and a mean as SumVec
 * [value - lo, 1]; an unreachable Leader charges nothing. */
START_TEST(count_and_mean_and_unreachable)
{
	if (!fm_have_npm())
		return;
	static struct fnode f;
	char tasks_c[600], tasks_m[600], tid_c[64], tid_m[64];
	snprintf(tasks_c, sizeof tasks_c, "%s/count.json", th_tmpdir());
	snprintf(tasks_m, sizeof tasks_m, "%s/mean.json", th_tmpdir());
	fm_write_tasks(tasks_c, "{\"type\":\"Prio3Count\"}", tid_c);
	const char *sv = "{\"type\":\"Prio3SumVec\",\"length\":2,\"bits\":14,\"chunk_length\":6}";
	fm_write_tasks(tasks_m, sv, tid_m);
	struct mock lc, hc, lm, hm;
	fm_mock_start(&hc, (char *[]){"--role", "helper", "--port", "0", "--tasks", tasks_c, NULL});
	fm_mock_start(&lc, (char *[]){"--role", "leader", "--port", "0", "--tasks", tasks_c, "--helper", hc.url, NULL});
	fm_mock_start(&hm, (char *[]){"--role", "helper", "--port", "0", "--tasks", tasks_m, NULL});
	fm_mock_start(&lm, (char *[]){"--role", "leader", "--port", "0", "--tasks", tasks_m, "--helper", hm.url, NULL});
	node_make(&f, 2, 60);
	/* The count: learners with a matching record on quiz 1. */
	char *tc = task_json(tid_c, &lc, &hc, "{\"type\":\"Prio3Count\"}",
			     "\"metric\":\"count\",\"filters\":{\"activity\":\"http://example.com/quiz/1\"}");
	task_add(&f, tc);
	cJSON *s = upload(&f, tid_c);
	ck_assert_int_eq((int)num(s, "learners_included", NULL), included(&f));
	cJSON_Delete(s);
	int want = 0;
	for (int i = 0; i < f.nl; i++)
		want += f.consent[i] && !f.erased[i] && i % 3 == 1;
	cJSON *c = fm_collect(&lc, tasks_c, tid_c);
	ck_assert_int_eq(fm_jint(c, "result", NULL), want);
	ck_assert_int_eq(fm_jint(c, "report_count", NULL), included(&f));
	cJSON_Delete(c);
	/* The mean: [sum of values, count]. */
	char *tm = task_json(tid_m, &lm, &hm, sv,
			     "\"metric\":\"mean\",\"field\":\"result.score.scaled\",\"bounds\":[0,1]");
	task_add(&f, tm);
	s = upload(&f, tid_m);
	cJSON_Delete(s);
	c = fm_collect(&lm, tasks_m, tid_m);
	const cJSON *res = cJSON_GetObjectItemCaseSensitive(c, "result");
	ck_assert_int_eq(cJSON_GetArraySize(res), 2);
	ck_assert_int_eq((int64_t)cJSON_GetArrayItem(res, 0)->valuedouble, expected_sum(&f));
	ck_assert_int_eq(cJSON_GetArrayItem(res, 1)->valueint, included(&f));
	cJSON_Delete(c);
	/* Each upload charged its own epsilon: 0.5 + 0.5. */
	for (int i = 0; i < f.nl; i++)
		if (!f.erased[i])
			ck_assert_int_eq(charged(&f, i), f.consent[i] ? 1000000 : 0);
	/* A third task whose Leader is gone: refused before anything is
	 * charged or logged. */
	fm_mock_stop(&lm);
	char tid3[64], tasks3[600];
	snprintf(tasks3, sizeof tasks3, "%s/gone.json", th_tmpdir());
	fm_write_tasks(tasks3, sv, tid3);
	char *t3 = task_json(tid3, &lm, &hm, sv, "\"metric\":\"mean\",\"field\":\"result.score.scaled\",\"bounds\":[0,1]");
	task_add(&f, t3);
	char *out = NULL, err[LV_QUERY_ERR_LEN];
	uint64_t before_size = lv_audit_size(f.n);
	enum lv_status st = lv_federate_upload(f.n, &ADMIN, tid3, util_now_ms(), NULL, &out, err);
	ck_assert_msg(st == LV_ERR_IO || st == LV_ERR_BUSY, "%s", lv_status_str(st));
	ck_assert_ptr_null(out);
	ck_assert_int_eq(lv_audit_size(f.n), before_size);
	for (int i = 0; i < f.nl; i++)
		if (!f.erased[i])
			ck_assert_int_eq(charged(&f, i), f.consent[i] ? 1000000 : 0);
	free(tc);
	free(tm);
	free(t3);
	node_free(&f);
	fm_mock_stop(&lc);
	fm_mock_stop(&hc);
	fm_mock_stop(&hm);
	th_rmtree(th_tmpdir());
}
END_TEST

/* Tasks that must be refused, and nothing stored for them. */
START_TEST(bad_tasks_are_refused)
{
	static struct fnode f;
	node_make(&f, 3, 20);
	const char *tid = "8BY0RzZMzxvA46_8ymhzycOB9krN-QIGYvg_RsByGec";
	const char *base = "\"task_id\":\"%s\",\"leader\":\"http://127.0.0.1:1/\",\"helper\":\"http://127.0.0.1:2/\","
			   "\"time_precision\":300,\"min_batch_size\":10,\"purpose\":\"" POLICY "\",\"epsilon\":0.5";
	const char *cases[][2] = {
		{"{\"type\":\"Prio3Sum\",\"bits\":8}", "\"metric\":\"sum\",\"field\":\"result.score.scaled\",\"bounds\":[0,1]"},
		{"{\"type\":\"Prio3Count\"}", "\"metric\":\"mean\",\"field\":\"result.score.scaled\",\"bounds\":[0,1]"},
		{"{\"type\":\"Prio3SumVec\",\"length\":2,\"bits\":14}", "\"metric\":\"mean\",\"field\":\"result.score.scaled\",\"bounds\":[0,1]"},
		{"{\"type\":\"Prio3Histogram\",\"length\":3,\"chunk_length\":1}", "\"metric\":\"quantile\",\"field\":\"result.score.scaled\",\"bounds\":[0,1],\"quantile\":0.5"},
		{"{\"type\":\"Prio3Count\"}", "\"metric\":\"count\",\"verbs\":1"},
		{"{\"type\":\"Prio5\"}", "\"metric\":\"count\""},
	};
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		char head[1024], text[2048], *out = NULL, err[LV_QUERY_ERR_LEN];
		snprintf(head, sizeof head, base, tid);
		snprintf(text, sizeof text, "{%s,\"vdaf\":%s,%s}", head, cases[k][0], cases[k][1]);
		enum lv_status st = lv_federate_task_add(f.n, &ADMIN, text, strlen(text), util_now_ms(), &out, err);
		ck_assert_msg(st == LV_ERR_INVALID, "case %zu: %s (%s)", k, lv_status_str(st), err);
		ck_assert_ptr_null(out);
	}
	/* Endpoints, ids, and the policy's rules. */
	const char *bad[] = {
		"{\"task_id\":\"short\",\"leader\":\"http://a/\",\"helper\":\"http://b/\",\"vdaf\":{\"type\":\"Prio3Count\"},"
		"\"time_precision\":300,\"min_batch_size\":10,\"purpose\":\"" POLICY "\",\"metric\":\"count\",\"epsilon\":0.5}",
		"{\"task_id\":\"8BY0RzZMzxvA46_8ymhzycOB9krN-QIGYvg_RsByGec\",\"leader\":\"ftp://a/\",\"helper\":\"http://b/\","
		"\"vdaf\":{\"type\":\"Prio3Count\"},\"time_precision\":300,\"min_batch_size\":10,\"purpose\":\"" POLICY "\","
		"\"metric\":\"count\",\"epsilon\":0.5}",
		"{\"task_id\":\"8BY0RzZMzxvA46_8ymhzycOB9krN-QIGYvg_RsByGec\",\"leader\":\"http://a/?x=1\",\"helper\":\"http://b/\","
		"\"vdaf\":{\"type\":\"Prio3Count\"},\"time_precision\":300,\"min_batch_size\":10,\"purpose\":\"" POLICY "\","
		"\"metric\":\"count\",\"epsilon\":0.5}",
		"{\"task_id\":\"8BY0RzZMzxvA46_8ymhzycOB9krN-QIGYvg_RsByGec\",\"leader\":\"http://a/\",\"helper\":\"http://b/\","
		"\"vdaf\":{\"type\":\"Prio3Count\"},\"time_precision\":0,\"min_batch_size\":10,\"purpose\":\"" POLICY "\","
		"\"metric\":\"count\",\"epsilon\":0.5}",
	};
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		char *out = NULL, err[LV_QUERY_ERR_LEN];
		ck_assert_int_eq(lv_federate_task_add(f.n, &ADMIN, bad[k], strlen(bad[k]), util_now_ms(), &out, err),
				 LV_ERR_INVALID);
	}
	/* The policy caps epsilon at 1; "course-improvement" is not loaded. */
	char text[2048], head[1024], *out = NULL, err[LV_QUERY_ERR_LEN];
	snprintf(head, sizeof head, base, tid);
	snprintf(text, sizeof text, "{%s,\"vdaf\":{\"type\":\"Prio3Count\"},\"metric\":\"count\"}", head);
	char *eps2 = strstr(text, "\"epsilon\":0.5");
	memcpy(eps2, "\"epsilon\":2.0", 13);
	ck_assert_int_eq(lv_federate_task_add(f.n, &ADMIN, text, strlen(text), util_now_ms(), &out, err),
			 LV_ERR_FORBIDDEN);
	/* Batches smaller than the policy's min_cohort (10). */
	memcpy(eps2, "\"epsilon\":0.5", 13);
	char *mb = strstr(text, "\"min_batch_size\":10");
	memcpy(mb, "\"min_batch_size\": 5", 19);
	ck_assert_int_eq(lv_federate_task_add(f.n, &ADMIN, text, strlen(text), util_now_ms(), &out, err),
			 LV_ERR_FORBIDDEN);
	ck_assert_ptr_nonnull(strstr(err, "min_cohort"));
	memcpy(mb, "\"min_batch_size\":10", 19);
	/* An analyst is not the admin. */
	struct lv_principal an = {.role = LV_ROLE_ANALYST, .id = "a1", .npurposes = 1};
	an.purposes[0] = POLICY;
	memcpy(eps2, "\"epsilon\":0.5", 13);
	ck_assert_int_eq(lv_federate_task_add(f.n, &an, text, strlen(text), util_now_ms(), &out, err), LV_ERR_FORBIDDEN);
	/* The good one, twice: the second changes nothing. */
	ck_assert_int_eq(lv_federate_task_add(f.n, &ADMIN, text, strlen(text), util_now_ms(), &out, err), LV_OK);
	free(out);
	ck_assert_int_eq(lv_federate_task_add(f.n, &ADMIN, text, strlen(text), util_now_ms(), &out, err), LV_ERR_EXISTS);
	free(out);
	char *list = NULL;
	ck_assert_int_eq(lv_federate_task_list(f.n, &ADMIN, &list), LV_OK);
	cJSON *l = cJSON_Parse(list);
	ck_assert_int_eq(cJSON_GetArraySize(l), 1);
	cJSON_Delete(l);
	free(list);
	ck_assert_int_eq(lv_federate_upload(f.n, &ADMIN, "nope", util_now_ms(), NULL, &out, err), LV_ERR_NOT_FOUND);
	node_free(&f);
	th_rmtree(th_tmpdir());
}
END_TEST

/* The admin route over HTTP, and the upload in a learner's access report. */
START_TEST(http_admin_route)
{
	if (!fm_have_npm())
		return;
	static struct fnode f;
	char tasks[600], tid[64];
	snprintf(tasks, sizeof tasks, "%s/mock-tasks.json", th_tmpdir());
	fm_write_tasks(tasks, "{\"type\":\"Prio3Count\"}", tid);
	struct mock leader, helper;
	fm_mock_start(&helper, (char *[]){"--role", "helper", "--port", "0", "--tasks", tasks, NULL});
	fm_mock_start(&leader, (char *[]){"--role", "leader", "--port", "0", "--tasks", tasks, "--helper", helper.url, NULL});
	node_make(&f, 4, 30);
	struct lv_server *srv = NULL;
	struct lv_server_options so = {.host = "127.0.0.1", .port = 0, .threads = 2};
	ck_assert_int_eq(lv_server_start(f.n, &so, &srv), LV_OK);
	ck_assert_int_eq(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
	struct hc hc;
	hc_init(&hc, lv_server_port(srv));
	char tok_adm[256], tok_an[256], tok_l[256], id[LV_CRED_ID_LEN];
	char *secret = NULL;
	const char *purposes[] = {POLICY};
	ck_assert_int_eq(lv_credential_add(f.n, LV_ROLE_ADMIN, NULL, NULL, 0, NULL, id, &secret), LV_OK);
	snprintf(tok_adm, sizeof tok_adm, "%s.%s", id, secret);
	sodium_free(secret);
	ck_assert_int_eq(lv_credential_add(f.n, LV_ROLE_ANALYST, NULL, purposes, 1, NULL, id, &secret), LV_OK);
	snprintf(tok_an, sizeof tok_an, "%s.%s", id, secret);
	sodium_free(secret);
	ck_assert_int_eq(lv_credential_add(f.n, LV_ROLE_LEARNER, f.learners[1], NULL, 0, NULL, id, &secret), LV_OK);
	snprintf(tok_l, sizeof tok_l, "%s.%s", id, secret);
	sodium_free(secret);
	char *task = task_json(tid, &leader, &helper, "{\"type\":\"Prio3Count\"}", "\"metric\":\"count\"");
	struct hc_resp r;
	struct hc_req rq = {.method = "POST", .path = "/admin/federation/tasks", .body = task, .no_version = true};
	ck_assert_int_eq(hc_do(&hc, &rq, &r), 401);
	hc_resp_free(&r);
	rq.bearer = tok_an;
	ck_assert_int_eq(hc_do(&hc, &rq, &r), 403);
	hc_resp_free(&r);
	rq.bearer = tok_adm;
	ck_assert_int_eq(hc_do(&hc, &rq, &r), 201);
	hc_resp_free(&r);
	ck_assert_int_eq(hc_do(&hc, &rq, &r), 200); /* the same task again: nothing changes */
	hc_resp_free(&r);
	struct hc_req bad = {.method = "POST", .path = "/admin/federation/tasks", .body = "{\"task_id\":1}",
			     .no_version = true, .bearer = tok_adm};
	ck_assert_int_eq(hc_do(&hc, &bad, &r), 400);
	ck_assert_ptr_nonnull(strstr(r.body, "\"error\""));
	hc_resp_free(&r);
	struct hc_req ls = {.method = "GET", .path = "/admin/federation/tasks", .no_version = true, .bearer = tok_adm};
	ck_assert_int_eq(hc_do(&hc, &ls, &r), 200);
	ck_assert_ptr_nonnull(strstr(r.body, tid));
	hc_resp_free(&r);
	char path[256];
	snprintf(path, sizeof path, "/admin/federation/tasks/%s/upload", tid);
	struct hc_req up = {.method = "POST", .path = path, .body = "", .no_version = true, .bearer = tok_adm};
	ck_assert_int_eq(hc_do(&hc, &up, &r), 200);
	cJSON *s = cJSON_Parse(r.body);
	hc_resp_free(&r);
	ck_assert_int_eq((int)num(s, "learners_included", NULL), included(&f));
	ck_assert_int_eq((int)num(s, "reports_sent", NULL), included(&f));
	char qid[LV_QUERY_ID_MAX + 1];
	snprintf(qid, sizeof qid, "%s", cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "release_id")));
	cJSON_Delete(s);
	struct hc_req get_up = {.method = "GET", .path = path, .no_version = true, .bearer = tok_adm};
	ck_assert_int_eq(hc_do(&hc, &get_up, &r), 405);
	hc_resp_free(&r);
	/* Learner 1 consented: the upload is in their access report. */
	struct hc_req lr = {.method = "GET", .path = "/learner/access-report", .no_version = true, .bearer = tok_l};
	ck_assert_int_eq(hc_do(&hc, &lr, &r), 200);
	ck_assert_msg(strstr(r.body, qid) != NULL, "the release %s is not in the learner's access report", qid);
	hc_resp_free(&r);
	hc_free(&hc);
	lv_server_destroy(srv);
	free(task);
	node_free(&f);
	fm_mock_stop(&leader);
	fm_mock_stop(&helper);
	th_rmtree(th_tmpdir());
}
END_TEST

Suite *lv_test_suite(void)
{
	Suite *s = suite_create("federation");
	TCase *tc = tcase_create("federation");
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, bad_tasks_are_refused);
	tcase_add_test(tc, two_nodes_one_exact_sum);
	tcase_add_test(tc, count_and_mean_and_unreachable);
	tcase_add_test(tc, http_admin_route);
	suite_add_tcase(s, tc);
	return s;
}
