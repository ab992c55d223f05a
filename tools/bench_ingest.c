/* bench ingest: HTTP ingest into a fresh node with 1,000 learners, against
 * a same-run baseline of the same rows in one plaintext SQLite table. */
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>
#include <sqlcipher/sqlite3.h>

#include "cli.h"
#include "learnvault/server.h"
#include "learnvault/statements.h"
#include "learnvault/util.h"

#define BATCH 100

struct corpus {
	size_t n;
	char **bodies;     /* one statement each, as JSON */
	char **learner;    /* actor mbox, for the baseline's learner column */
	char **ids;
	char **batches;    /* JSON arrays of BATCH statements */
	size_t nbatches;
};

static void corpus_free(struct corpus *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->bodies[i]);
		free(c->learner[i]);
		free(c->ids[i]);
	}
	for (size_t i = 0; i < c->nbatches; i++)
		free(c->batches[i]);
	free(c->bodies);
	free(c->learner);
	free(c->ids);
	free(c->batches);
}

/* ~600-byte statements, a realistic quiz answer with context. */
static int corpus_make(struct corpus *c, size_t n, unsigned learners)
{
	memset(c, 0, sizeof *c);
	c->n = n;
	c->bodies = calloc(n, sizeof *c->bodies);
	c->learner = calloc(n, sizeof *c->learner);
	c->ids = calloc(n, sizeof *c->ids);
	c->nbatches = (n + BATCH - 1) / BATCH;
	c->batches = calloc(c->nbatches, sizeof *c->batches);
	if (!c->bodies || !c->learner || !c->ids || !c->batches)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char id[UTIL_UUID_LEN];
		util_uuid_v4(id);
		unsigned l = (unsigned)(randombytes_uniform(learners));
		unsigned q = randombytes_uniform(40);
		char mbox[96];
		snprintf(mbox, sizeof mbox, "mailto:learner%04u@school.example.org", l);
		struct buf b;
		buf_init(&b, 4096);
		if (buf_printf(&b,
			"{\"id\":\"%s\",\"actor\":{\"objectType\":\"Agent\",\"name\":\"Learner %u\",\"mbox\":\"%s\"},"
			"\"verb\":{\"id\":\"http://adlnet.gov/expapi/verbs/answered\",\"display\":{\"en-US\":\"answered\"}},"
			"\"object\":{\"objectType\":\"Activity\",\"id\":\"https://courses.example.org/math/unit-%u/question-%u\","
			"\"definition\":{\"name\":{\"en-US\":\"Question %u\"},\"type\":\"http://adlnet.gov/expapi/activities/cmi.interaction\","
			"\"interactionType\":\"choice\"}},"
			"\"result\":{\"success\":%s,\"completion\":true,\"score\":{\"scaled\":%.2f},\"duration\":\"PT%uS\",\"response\":\"b\"},"
			"\"context\":{\"registration\":\"6f2d3a5e-1c1b-4a7e-9d2c-0a1b2c3d4e5f\",\"platform\":\"quiz-engine\","
			"\"contextActivities\":{\"parent\":[{\"id\":\"https://courses.example.org/math/unit-%u\"}]}},"
			"\"timestamp\":\"2026-11-23T10:%02u:%02u.000Z\"}",
			id, l, mbox, q / 10, q, q, randombytes_uniform(2) ? "true" : "false",
			randombytes_uniform(101) / 100.0, 5 + randombytes_uniform(120), q / 10,
			(unsigned)(i / 60 % 60), (unsigned)(i % 60)) != LV_OK)
			return -1;
		c->bodies[i] = buf_steal(&b);
		c->learner[i] = strdup(mbox);
		c->ids[i] = strdup(id);
	}
	for (size_t k = 0; k < c->nbatches; k++) {
		struct buf b;
		buf_init(&b, (size_t)BATCH * 4096);
		enum lv_status st = buf_append_str(&b, "[");
		for (size_t i = k * BATCH; i < n && i < (k + 1) * BATCH && st == LV_OK; i++) {
			if (i > k * BATCH)
				st = buf_append_str(&b, ",");
			if (st == LV_OK)
				st = buf_append_str(&b, c->bodies[i]);
		}
		if (st == LV_OK)
			st = buf_append_str(&b, "]");
		if (st != LV_OK)
			return -1;
		c->batches[k] = buf_steal(&b);
	}
	return 0;
}

struct client {
	pthread_t th;
	const struct corpus *c;
	const char *url;
	const char *userpwd;
	size_t first, step;   /* batches first, first+step, ... */
	size_t acked;
	int failed;
};

static size_t discard(char *p, size_t s, size_t n, void *u)
{
	(void)p; (void)u;
	return s * n;
}

static void *client_run(void *arg)
{
	struct client *cl = arg;
	CURL *h = curl_easy_init();
	struct curl_slist *hdr = NULL;
	hdr = curl_slist_append(hdr, "Content-Type: application/json");
	hdr = curl_slist_append(hdr, "X-Experience-API-Version: 1.0.3");
	hdr = curl_slist_append(hdr, "Expect:");
	curl_easy_setopt(h, CURLOPT_URL, cl->url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_USERPWD, cl->userpwd);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	for (size_t k = cl->first; k < cl->c->nbatches; k += cl->step) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, cl->c->batches[k]);
		long code = 0;
		if (curl_easy_perform(h) != CURLE_OK ||
		    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK || code != 200) {
			cl->failed++;
			continue;
		}
		size_t in = k + 1 == cl->c->nbatches ? cl->c->n - k * BATCH : BATCH;
		cl->acked += in;
	}
	curl_slist_free_all(hdr);
	curl_easy_cleanup(h);
	return NULL;
}

/* The physical limit: the same rows into one plaintext SQLite table (no
 * key: SQLCipher is then plain SQLite), two indexes, WAL, synchronous
 * NORMAL, a commit per batch, as the node does per vault. */
static double baseline(const char *dir, const struct corpus *c)
{
	char path[4096 + 32];
	snprintf(path, sizeof path, "%s/baseline.db", dir);
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	if (sqlite3_open(path, &db) != SQLITE_OK)
		return -1;
	sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
			 "CREATE TABLE st(id TEXT PRIMARY KEY, learner TEXT NOT NULL, stored INTEGER NOT NULL,"
			 " body TEXT NOT NULL); CREATE INDEX st_learner ON st(learner, stored);", NULL, NULL, NULL);
	sqlite3_prepare_v2(db, "INSERT INTO st(id, learner, stored, body) VALUES(?, ?, ?, ?)", -1, &s, NULL);
	double t0 = util_mono_s();
	for (size_t i = 0; i < c->n; i++) {
		if (i % BATCH == 0)
			sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
		sqlite3_reset(s);
		sqlite3_bind_text(s, 1, c->ids[i], -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, c->learner[i], -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 3, util_now_ms());
		sqlite3_bind_text(s, 4, c->bodies[i], -1, SQLITE_STATIC);
		sqlite3_step(s);
		if (i % BATCH == BATCH - 1 || i + 1 == c->n)
			sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	}
	double dt = util_mono_s() - t0;
	sqlite3_finalize(s);
	sqlite3_close(db);
	return (double)c->n / dt;
}

struct ingest_opts {
	size_t n;                  /* statements */
	unsigned learners, conns;
	const char *keep;          /* --dir: kept afterwards */
};

/* Reads the options into @io.  Returns 0, or the exit code. */
static int ingest_args(int argc, char **argv, struct ingest_opts *io)
{
	static const struct option opts[] = {
		{"statements", required_argument, 0, 'n'}, {"learners", required_argument, 0, 'l'},
		{"connections", required_argument, 0, 'c'}, {"dir", required_argument, 0, 'd'},
		{0, 0, 0, 0}};
	int ch;
	unsigned long long v;
	*io = (struct ingest_opts){.n = 20000, .learners = 1000, .conns = 2};
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			if (cli_uint("bench ingest --statements", optarg, BATCH, 100000000, &v) != 0)
				return 2;
			io->n = v;
			break;
		case 'l':
			if (cli_uint("bench ingest --learners", optarg, 1, 10000000, &v) != 0)
				return 2;
			io->learners = (unsigned)v;
			break;
		case 'c':
			if (cli_uint("bench ingest --connections", optarg, 1, 16, &v) != 0)
				return 2;
			io->conns = (unsigned)v;
			break;
		case 'd': io->keep = optarg; break;
		default: return 2;
		}
	}
	return 0;
}

/* A fresh node in @node_dir with @learners enrolled and a provider
 * credential (@id, *@secret).  *@node, *@vkey and *@secret are the
 * caller's to release, also on failure.  Returns 0, or 1 after saying
 * why. */
static int ingest_node(const char *node_dir, unsigned learners, struct lv_node **node, char **vkey,
		       char id[LV_CRED_ID_LEN], char **secret)
{
	if (lv_node_init(node_dir, NULL, NULL, vkey) != LV_OK || lv_node_open(node_dir, NULL, NULL, node) != LV_OK)
		return cli_fail("bench ingest: cannot create the node in %s", node_dir);
	fprintf(stderr, "bench ingest: enrolling %u learners\n", learners);
	for (unsigned l = 0; l < learners; l++) {
		char actor[160], p[LV_PSEUDONYM_LEN];
		bool created;
		snprintf(actor, sizeof actor, "{\"mbox\":\"mailto:learner%04u@school.example.org\"}", l);
		if (lv_learner_enrol(*node, actor, p, &created) != LV_OK)
			return cli_fail("bench ingest: enrolment failed");
	}
	if (lv_credential_add(*node, LV_ROLE_PROVIDER, NULL, NULL, 0, "bench", id, secret) != LV_OK)
		return cli_fail("bench ingest: cannot add a credential");
	return 0;
}

/* What the clients achieved. */
struct ingest_result {
	size_t acked;
	int failed;                /* batches */
	double http_s;
};

/* Posts every batch of @c to @url over @conns connections at once. */
static void post_all(const struct corpus *c, const char *url, const char *userpwd, unsigned conns,
		     struct ingest_result *res)
{
	struct client cl[16];
	memset(cl, 0, sizeof cl);
	double t0 = util_mono_s();
	for (unsigned i = 0; i < conns; i++) {
		cl[i] = (struct client){.c = c, .url = url, .userpwd = userpwd, .first = i, .step = conns};
		pthread_create(&cl[i].th, NULL, client_run, &cl[i]);
	}
	res->acked = 0;
	res->failed = 0;
	for (unsigned i = 0; i < conns; i++) {
		pthread_join(cl[i].th, NULL);
		res->acked += cl[i].acked;
		res->failed += cl[i].failed;
	}
	res->http_s = util_mono_s() - t0;
}

static cJSON *result_json(const struct ingest_opts *io, const struct ingest_result *res, double base)
{
	double rate = (double)res->acked / res->http_s;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "bench", "ingest");
	cJSON_AddNumberToObject(o, "statements", (double)io->n);
	cJSON_AddNumberToObject(o, "learners", io->learners);
	cJSON_AddNumberToObject(o, "batch", BATCH);
	cJSON_AddNumberToObject(o, "connections", io->conns);
	cJSON_AddNumberToObject(o, "acknowledged", (double)res->acked);
	cJSON_AddNumberToObject(o, "failed_batches", res->failed);
	cJSON_AddNumberToObject(o, "seconds", res->http_s);
	cJSON_AddNumberToObject(o, "statements_per_s", (double)(long)rate);
	cJSON_AddNumberToObject(o, "baseline_rows_per_s", (double)(long)base);
	cJSON_AddNumberToObject(o, "ratio", (double)(long)(rate / base * 1000) / 1000);
	return o;
}

int bench_ingest(int argc, char **argv)
{
	struct ingest_opts io;
	int rc = ingest_args(argc, argv, &io);
	if (rc != 0)
		return rc;
	struct bench_scratch sc;
	if (bench_scratch_open("ingest", io.keep, &sc) != 0)
		return 1;
	const char *dir = sc.dir, *node_dir = sc.node_dir;
	rc = 1;
	struct lv_node *node = NULL;
	struct lv_server *srv = NULL;
	struct corpus c;
	char *vkey = NULL, *secret = NULL;
	char id[LV_CRED_ID_LEN];
	memset(&c, 0, sizeof c);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (ingest_node(node_dir, io.learners, &node, &vkey, id, &secret) != 0)
		goto out;
	fprintf(stderr, "bench ingest: building %zu statements\n", io.n);
	if (corpus_make(&c, io.n, io.learners) != 0) {
		cli_fail("bench ingest: out of memory");
		goto out;
	}
	struct lv_server_options so = {.host = "127.0.0.1", .port = 0, .threads = 2};
	if (lv_server_start(node, &so, &srv) != LV_OK) {
		cli_fail("bench ingest: cannot start the server");
		goto out;
	}
	char url[128], userpwd[256];
	snprintf(url, sizeof url, "http://127.0.0.1:%u/xapi/statements", lv_server_port(srv));
	snprintf(userpwd, sizeof userpwd, "%s:%s", id, secret);
	fprintf(stderr, "bench ingest: posting %zu batches of %d over %u connections\n", c.nbatches, BATCH, io.conns);
	struct ingest_result res;
	post_all(&c, url, userpwd, io.conns, &res);
	lv_server_destroy(srv);
	srv = NULL;
	fprintf(stderr, "bench ingest: %zu acknowledged in %.2f s (%d failed batches); baseline...\n",
		res.acked, res.http_s, res.failed);
	double base = baseline(dir, &c);
	rc = res.failed ? 1 : 0;
	cli_print(result_json(&io, &res, base));
out:
	lv_server_destroy(srv);
	lv_node_close(node);
	corpus_free(&c);
	free(vkey);
	if (secret)
		sodium_free(secret);
	curl_global_cleanup();
	bench_scratch_close("ingest", &sc);
	return rc;
}
