/* bench aggregate: count, mean and a 10-key histogram over N learners with
 * M statements each (all consenting), against a same-run baseline: the
 * equivalent GROUP BY queries on one plaintext SQLite table.  With
 * --concurrent-ingest, also the latency of ingest batches with and without
 * aggregates running meanwhile. */
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlcipher/sqlite3.h>

#include "learnvault/door.h"
#include "cli.h"
#include "learnvault/consent.h"
#include "learnvault/query.h"
#include "learnvault/statements.h"
#include "learnvault/util.h"

#define PER_BATCH_LEARNERS 5
#define NACT 10

static const char POLICY[] =
	"{\"id\":\"bench\",\"version\":1,\"title\":\"Benchmark\",\"description\":\"Aggregate benchmark.\","
	"\"controller\":{\"name\":\"Bench\",\"contact\":\"mailto:bench@example.org\"},"
	"\"legal_basis\":\"dpv:Consent\",\"purpose\":\"https://w3id.org/dpv#ImproveExistingProductsAndServices\","
	"\"data\":{\"verbs\":[\"http://adlnet.gov/expapi/verbs/answered\"],"
	"\"activity_types\":[\"http://adlnet.gov/expapi/activities/cmi.interaction\"],"
	"\"result_fields\":[\"result.score.scaled\",\"result.success\"]},"
	"\"operations\":[\"count\",\"mean\",\"histogram\"],"
	"\"privacy\":{\"epsilon_per_query_max\":1,\"epsilon_budget\":100,\"budget_window_days\":30,\"min_cohort\":10},"
	"\"retention_days\":365,\"consent_valid_days\":365,\"guardian_below_age\":0,"
	"\"recipients\":[\"Bench\"],\"jurisdiction\":[\"US\"],\"withdrawal\":\"Any time.\"}";

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median3(double *v)
{
	qsort(v, 3, sizeof *v, cmp_d);
	return v[1];
}

/* Stores M statements for each of learners [l0, l0 + k) in one batch (and
 * the same rows in the baseline table @base, when not NULL). */
static int store_batch(struct lv_node *node, const struct lv_principal *prov, unsigned l0, unsigned k, unsigned m,
		       sqlite3_stmt *base)
{
	cJSON *arr = cJSON_CreateArray();
	for (unsigned l = l0; l < l0 + k; l++) {
		for (unsigned j = 0; j < m; j++) {
			char id[UTIL_UUID_LEN], body[1024];
			util_uuid_v4(id);
			unsigned a = randombytes_uniform(NACT);
			unsigned succ = randombytes_uniform(2);
			double score = randombytes_uniform(101) / 100.0;
			snprintf(body, sizeof body,
				 "{\"id\":\"%s\",\"actor\":{\"mbox\":\"mailto:learner%06u@school.example.org\"},"
				 "\"verb\":{\"id\":\"http://adlnet.gov/expapi/verbs/answered\"},"
				 "\"object\":{\"id\":\"https://courses.example.org/math/q-%u\",\"definition\":"
				 "{\"type\":\"http://adlnet.gov/expapi/activities/cmi.interaction\"}},"
				 "\"result\":{\"success\":%s,\"score\":{\"scaled\":%.2f},\"duration\":\"PT%uS\"},"
				 "\"context\":{\"contextActivities\":{\"parent\":[{\"id\":\"https://courses.example.org/math\"}]}}}",
				 id, l, a, succ ? "true" : "false", score, 5 + randombytes_uniform(100));
			cJSON_AddItemToArray(arr, cJSON_Parse(body));
			if (!base)
				continue;
			sqlite3_reset(base);
			sqlite3_bind_int(base, 1, (int)l);
			sqlite3_bind_int(base, 2, (int)a);
			sqlite3_bind_double(base, 3, score);
			sqlite3_bind_int(base, 4, (int)succ);
			sqlite3_step(base);
		}
	}
	char err[LV_ERR_TEXT];
	enum lv_status st = lv_ingest(node, prov, arr, NULL, 0, err);
	cJSON_Delete(arr);
	if (st != LV_OK)
		return cli_fail("bench aggregate: store: %s", err);
	return 0;
}

static double time_query(struct lv_node *node, const struct lv_principal *op, const char *q)
{
	char *ans = NULL, err[LV_QUERY_ERR_LEN];
	double t0 = util_mono_s();
	enum lv_status st = lv_aggregate(node, op, q, strlen(q), util_now_ms(), &ans, err);
	double dt = util_mono_s() - t0;
	if (st != LV_OK) {
		fprintf(stderr, "bench aggregate: %s\n", err);
		return -1;
	}
	fprintf(stderr, "bench aggregate: %.3f s  %s\n", dt, ans);
	free(ans);
	return dt;
}

static double time_sql(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *s = NULL;
	double t0 = util_mono_s();
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		return -1;
	while (sqlite3_step(s) == SQLITE_ROW) {
	}
	sqlite3_finalize(s);
	return util_mono_s() - t0;
}

/* ---- --concurrent-ingest: batch latency while aggregates run ---- */

#define INGEST_THREADS 2    /* as bench ingest's two connections */
#define INGEST_BATCHES 300  /* per thread and condition */
#define INGEST_POOL 500     /* learners per thread: the batches stay within the vault cache */

struct ingester {
	pthread_t th;
	struct lv_node *node;
	const struct lv_principal *prov;
	unsigned first;          /* its learners: [first, first + INGEST_POOL) */
	double lat[INGEST_BATCHES];
	int failed;
};

/* Batches of 100 statements, one for each of 100 consecutive learners, as
 * an LMS posts them. */
static void *ingest_run(void *arg)
{
	struct ingester *in = arg;
	for (unsigned k = 0; k < INGEST_BATCHES; k++) {
		unsigned l0 = in->first + k % (INGEST_POOL / 100) * 100;
		double t0 = util_mono_s();
		if (store_batch(in->node, in->prov, l0, 100, 1, NULL) != 0)
			in->failed++;
		in->lat[k] = util_mono_s() - t0;
	}
	return NULL;
}

struct aggregator {
	pthread_t th;
	struct lv_node *node;
	const struct lv_principal *op;
	int stop;                /* atomic */
	unsigned runs;
	double dur[1024];
	int failed;
};

/* Means at 10^-2, back to back, until told to stop. */
static void *aggregate_run(void *arg)
{
	struct aggregator *ag = arg;
	while (!__atomic_load_n(&ag->stop, __ATOMIC_SEQ_CST) && ag->runs < 1024) {
		char q[256], *ans = NULL, err[LV_QUERY_ERR_LEN];
		snprintf(q, sizeof q, "{\"id\":\"during-ingest-%u\",\"purpose\":\"bench\",\"metric\":\"mean\","
			 "\"field\":\"result.score.scaled\",\"bounds\":[0,1],\"epsilon\":0.01}", ag->runs);
		double t0 = util_mono_s();
		if (lv_aggregate(ag->node, ag->op, q, strlen(q), util_now_ms(), &ans, err) != LV_OK) {
			fprintf(stderr, "bench aggregate: during ingest: %s\n", err);
			ag->failed++;
			break;
		}
		ag->dur[ag->runs++] = util_mono_s() - t0;
		free(ans);
	}
	return NULL;
}

static double quantile(double *v, size_t n, double q)
{
	qsort(v, n, sizeof *v, cmp_d);
	size_t k = (size_t)ceil(q * (double)n);
	return v[k ? k - 1 : 0];
}

/* INGEST_THREADS ingest threads, each INGEST_BATCHES batches; with
 * @aggregate, aggregates run back to back until the last batch is in.
 * @lat gets every batch's latency in seconds. */
static int ingest_round(struct lv_node *node, const struct lv_principal *prov, const struct lv_principal *op,
			bool aggregate, double *lat, struct aggregator *ag)
{
	static struct ingester in[INGEST_THREADS];
	int failed = 0;
	*ag = (struct aggregator){.node = node, .op = op};
	if (aggregate && pthread_create(&ag->th, NULL, aggregate_run, ag) != 0)
		return cli_fail("bench aggregate: cannot start a thread");
	for (unsigned i = 0; i < INGEST_THREADS; i++) {
		in[i] = (struct ingester){.node = node, .prov = prov, .first = i * INGEST_POOL};
		if (pthread_create(&in[i].th, NULL, ingest_run, &in[i]) != 0)
			return cli_fail("bench aggregate: cannot start a thread");
	}
	for (unsigned i = 0; i < INGEST_THREADS; i++) {
		pthread_join(in[i].th, NULL);
		failed += in[i].failed;
		memcpy(lat + i * INGEST_BATCHES, in[i].lat, sizeof in[i].lat);
	}
	if (aggregate) {
		__atomic_store_n(&ag->stop, 1, __ATOMIC_SEQ_CST);
		pthread_join(ag->th, NULL);
		failed += ag->failed;
	}
	return failed ? cli_fail("bench aggregate: %d batches or aggregates failed", failed) : 0;
}

/* Adds the idle and during-aggregate batch latencies to @o. */
static int concurrent_ingest(struct lv_node *node, const struct lv_principal *prov, const struct lv_principal *op,
			     cJSON *o)
{
	static double idle[INGEST_THREADS * INGEST_BATCHES], during[INGEST_THREADS * INGEST_BATCHES];
	struct aggregator ag;
	const size_t n = INGEST_THREADS * INGEST_BATCHES;
	fprintf(stderr, "bench aggregate: ingest alone, %u threads x %u batches of 100\n", INGEST_THREADS, INGEST_BATCHES);
	if (ingest_round(node, prov, op, false, idle, &ag) != 0)
		return 1;
	fprintf(stderr, "bench aggregate: ingest with aggregates running back to back\n");
	if (ingest_round(node, prov, op, true, during, &ag) != 0)
		return 1;
	double p99_idle = quantile(idle, n, 0.99), p99_during = quantile(during, n, 0.99);
	cJSON_AddNumberToObject(o, "ingest_batches", (double)n);
	cJSON_AddNumberToObject(o, "ingest_idle_p50_ms", round(quantile(idle, n, 0.5) * 1e4) / 10);
	cJSON_AddNumberToObject(o, "ingest_idle_p99_ms", round(p99_idle * 1e4) / 10);
	cJSON_AddNumberToObject(o, "ingest_during_p50_ms", round(quantile(during, n, 0.5) * 1e4) / 10);
	cJSON_AddNumberToObject(o, "ingest_during_p99_ms", round(p99_during * 1e4) / 10);
	cJSON_AddNumberToObject(o, "ingest_p99_ratio", round(p99_during / p99_idle * 100) / 100);
	cJSON_AddNumberToObject(o, "aggregates_during", ag.runs);
	if (ag.runs)
		cJSON_AddNumberToObject(o, "aggregate_during_s", round(quantile(ag.dur, ag.runs, 0.5) * 1e4) / 1e4);
	return 0;
}

struct aggregate_opts {
	unsigned learners, per;    /* statements per learner */
	const char *keep;          /* --dir: kept afterwards */
	bool with_ingest;
};

/* Reads the options into @ao.  Returns 0, or the exit code. */
static int aggregate_args(int argc, char **argv, struct aggregate_opts *ao)
{
	static const struct option opts[] = {
		{"learners", required_argument, 0, 'l'}, {"statements", required_argument, 0, 's'},
		{"dir", required_argument, 0, 'd'}, {"concurrent-ingest", no_argument, 0, 'i'}, {0, 0, 0, 0}};
	int ch;
	unsigned long long v;
	*ao = (struct aggregate_opts){.learners = 10000, .per = 100};
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'l':
			if (cli_uint("bench aggregate --learners", optarg, 10, 1000000, &v) != 0)
				return 2;
			ao->learners = (unsigned)v;
			break;
		case 's':
			if (cli_uint("bench aggregate --statements (per learner)", optarg, 1, 10000, &v) != 0)
				return 2;
			ao->per = (unsigned)v;
			break;
		case 'd': ao->keep = optarg; break;
		case 'i': ao->with_ingest = true; break;
		default: return 2;
		}
	}
	if (ao->with_ingest && ao->learners < INGEST_THREADS * INGEST_POOL)
		return cli_fail("bench aggregate: --concurrent-ingest needs --learners >= %d", INGEST_THREADS * INGEST_POOL);
	return 0;
}

/* A fresh node in @node_dir with the bench policy.  *@node and *@vkey are
 * the caller's to release, also on failure.  Returns 0, or 1 after saying
 * why. */
static int aggregate_node(const char *node_dir, struct lv_node **node, char **vkey)
{
	char perr[LV_POLICY_ERR_LEN], pid[LV_POLICY_ID_MAX + 1];
	uint32_t pver;
	bool added;
	if (lv_node_init(node_dir, NULL, NULL, vkey) != LV_OK || lv_node_open(node_dir, NULL, NULL, node) != LV_OK)
		return cli_fail("bench aggregate: cannot create the node in %s", node_dir);
	if (lv_policy_load(*node, POLICY, strlen(POLICY), &added, pid, &pver, perr) != LV_OK)
		return cli_fail("bench aggregate: policy: %s", perr);
	/* The bench times the work, not the answer's time quantum. */
	if (lv_node_setting_set(*node, "aggregate_time_quantum_ms", "0") != LV_OK)
		return cli_fail("bench aggregate: cannot turn the time quantum off");
	return 0;
}

/* The baseline table in @path, a transaction open, and its insert.  *@db
 * and *@ins are the caller's to release, also on failure.  Returns 0, or
 * 1 after saying why. */
static int baseline_open(const char *path, sqlite3 **db, sqlite3_stmt **ins)
{
	if (sqlite3_open(path, db) != SQLITE_OK ||
	    sqlite3_exec(*db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
			      "CREATE TABLE st(learner INTEGER NOT NULL, activity INTEGER NOT NULL, score REAL,"
			      " success INTEGER); BEGIN;", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(*db, "INSERT INTO st VALUES(?, ?, ?, ?)", -1, ins, NULL) != SQLITE_OK)
		return cli_fail("bench aggregate: baseline database");
	return 0;
}

/* Every learner's statements into the node and the baseline (committed);
 * *@build_s: how long the node took.  Returns 0, or 1 after saying why. */
static int store_all(struct lv_node *node, const struct lv_principal *prov, const struct aggregate_opts *ao,
		     sqlite3 *base, sqlite3_stmt *ins, double *build_s)
{
	double t0 = util_mono_s();
	for (unsigned l = 0; l < ao->learners; l += PER_BATCH_LEARNERS) {
		unsigned k = ao->learners - l < PER_BATCH_LEARNERS ? ao->learners - l : PER_BATCH_LEARNERS;
		if (store_batch(node, prov, l, k, ao->per, ins) != 0)
			return 1;
		if (l % 1000 == 0)
			fprintf(stderr, "bench aggregate: %u / %u learners stored (%.0f s)\n", l, ao->learners,
				util_mono_s() - t0);
	}
	*build_s = util_mono_s() - t0;
	sqlite3_exec(base, "COMMIT;", NULL, NULL, NULL);
	return 0;
}

/* Enrols every learner and records their consent to the bench purpose.
 * Returns 0, or 1 after saying why. */
static int consent_all(struct lv_node *node, const struct lv_principal *op, unsigned learners)
{
	fprintf(stderr, "bench aggregate: consent for %u learners\n", learners);
	for (unsigned l = 0; l < learners; l++) {
		char actor[128], p[LV_PSEUDONYM_LEN], rid[LV_RECORD_ID_LEN], err[LV_CONSENT_ERR_LEN];
		bool created;
		snprintf(actor, sizeof actor, "{\"mbox\":\"mailto:learner%06u@school.example.org\"}", l);
		if (lv_learner_enrol(node, actor, p, &created) != LV_OK ||
		    lv_consent_decide(node, op, LV_ROLE_LEARNER, p, "bench", 0, true, rid, err) != LV_OK)
			return cli_fail("bench aggregate: consent failed");
	}
	return 0;
}

/* The three questions (count, mean, histogram), each with a distinct id
 * per run so none is served from the cache, and their baseline SQL. */
static const char *const QUERY[3] = {
	"{\"id\":\"count-%d\",\"purpose\":\"bench\",\"metric\":\"count\",\"epsilon\":0.1}",
	"{\"id\":\"mean-%d\",\"purpose\":\"bench\",\"metric\":\"mean\",\"field\":\"result.score.scaled\","
	"\"bounds\":[0,1],\"epsilon\":0.1}",
	"{\"id\":\"hist-%d\",\"purpose\":\"bench\",\"metric\":\"histogram\",\"histogram\":{\"by\":\"activity\","
	"\"keys\":[\"https://courses.example.org/math/q-0\",\"https://courses.example.org/math/q-1\","
	"\"https://courses.example.org/math/q-2\",\"https://courses.example.org/math/q-3\","
	"\"https://courses.example.org/math/q-4\",\"https://courses.example.org/math/q-5\","
	"\"https://courses.example.org/math/q-6\",\"https://courses.example.org/math/q-7\","
	"\"https://courses.example.org/math/q-8\",\"https://courses.example.org/math/q-9\"]},\"epsilon\":0.1}",
};
static const char *const BASE_SQL[3] = {
	"SELECT count(*) FROM (SELECT learner FROM st GROUP BY learner)",
	"SELECT avg(m) FROM (SELECT learner, avg(score) AS m FROM st GROUP BY learner)",
	"SELECT activity, count(*) FROM (SELECT DISTINCT learner, activity FROM st) GROUP BY activity",
};
static const char *const METRIC[3] = {"count", "mean", "histogram"};

/* Three runs of each question, ours and the baseline's; medians (seconds)
 * into @ours and @theirs.  Returns 0, or 1 when a run failed. */
static int time_queries(struct lv_node *node, const struct lv_principal *op, sqlite3 *base, double ours[3],
			double theirs[3])
{
	for (int k = 0; k < 3; k++) {
		double a[3], b[3];
		for (int r = 0; r < 3; r++) {
			char q[2048];
			snprintf(q, sizeof q, QUERY[k], r);
			a[r] = time_query(node, op, q);
			b[r] = time_sql(base, BASE_SQL[k]);
			if (a[r] < 0 || b[r] < 0)
				return 1;
		}
		ours[k] = median3(a);
		theirs[k] = median3(b);
		fprintf(stderr, "bench aggregate: %s %.3f s (baseline GROUP BY %.3f s)\n", METRIC[k], ours[k], theirs[k]);
	}
	return 0;
}

static cJSON *result_json(const struct aggregate_opts *ao, double build_s, const double ours[3],
			  const double theirs[3])
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "area", "aggregate");
	cJSON_AddNumberToObject(o, "learners", ao->learners);
	cJSON_AddNumberToObject(o, "statements_per_learner", ao->per);
	cJSON_AddNumberToObject(o, "build_s", round(build_s * 10) / 10);
	for (int k = 0; k < 3; k++) {
		char key[64];
		snprintf(key, sizeof key, "%s_s", METRIC[k]);
		cJSON_AddNumberToObject(o, key, round(ours[k] * 1e4) / 1e4);
	}
	for (int k = 0; k < 3; k++) {
		char key[64];
		snprintf(key, sizeof key, "baseline_%s_s", METRIC[k]);
		cJSON_AddNumberToObject(o, key, round(theirs[k] * 1e4) / 1e4);
	}
	for (int k = 0; k < 3; k++) {
		char key[64];
		snprintf(key, sizeof key, "ratio_%s", METRIC[k]);
		cJSON_AddNumberToObject(o, key, round(ours[k] / theirs[k] * 100) / 100);
	}
	return o;
}

int bench_aggregate(int argc, char **argv)
{
	struct aggregate_opts ao;
	int rc = aggregate_args(argc, argv, &ao);
	if (rc != 0)
		return rc;
	struct bench_scratch sc;
	if (bench_scratch_open("aggregate", ao.keep, &sc) != 0)
		return 1;
	const char *dir = sc.dir, *node_dir = sc.node_dir;
	char base_path[4096 + 32];
	snprintf(base_path, sizeof base_path, "%s/baseline.db", dir);
	rc = 1;
	struct lv_node *node = NULL;
	sqlite3 *base = NULL;
	sqlite3_stmt *ins = NULL;
	char *vkey = NULL;
	struct lv_principal prov = {.role = LV_ROLE_PROVIDER, .id = "bench-lms"};
	struct lv_principal op = {.role = LV_ROLE_ADMIN, .id = "operator"};
	double build_s, ours[3], theirs[3];
	if (aggregate_node(node_dir, &node, &vkey) != 0 || baseline_open(base_path, &base, &ins) != 0 ||
	    store_all(node, &prov, &ao, base, ins, &build_s) != 0 || consent_all(node, &op, ao.learners) != 0 ||
	    time_queries(node, &op, base, ours, theirs) != 0)
		goto out;
	cJSON *o = result_json(&ao, build_s, ours, theirs);
	if (ao.with_ingest && concurrent_ingest(node, &prov, &op, o) != 0) {
		cJSON_Delete(o);
		goto out;
	}
	rc = cli_print(o);
out:
	sqlite3_finalize(ins);
	sqlite3_close(base);
	lv_node_close(node);
	free(vkey);
	bench_scratch_close("aggregate", &sc);
	return rc;
}
