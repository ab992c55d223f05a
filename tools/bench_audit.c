/* bench audit: append rate, proof generation and full verification at
 * 10^6 entries, each beside a same-run baseline. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"
#include "learnvault/audit.h"
#include "learnvault/consent.h"
#include "learnvault/auditlog.h"
#include "learnvault/store.h"
#include "learnvault/util.h"

#include <sqlcipher/sqlite3.h>

#define BENCH_LEARNERS 1000

/* A realistic log: the first BENCH_LEARNERS entries enrol learners,
 * every later one a provider's read-back of one of them (the entries that
 * grow a log fastest), in the form the offline verifier replays. */
static cJSON *access_entry(uint64_t i)
{
	char p[LV_PSEUDONYM_LEN];
	uint64_t l = i % BENCH_LEARNERS;
	snprintf(p, sizeof p, "%032llx", (unsigned long long)(l * 2654435761u));
	cJSON *e = cJSON_CreateObject();
	if (i < BENCH_LEARNERS) {
		cJSON_AddStringToObject(e, "type", "enrolment");
		cJSON_AddStringToObject(e, "learner", p);
		return e;
	}
	cJSON_AddStringToObject(e, "type", "access");
	cJSON_AddStringToObject(e, "decision", "allow");
	cJSON_AddStringToObject(e, "role", "provider");
	cJSON_AddStringToObject(e, "actor", "bench-provider-credential");
	cJSON_AddStringToObject(e, "purpose", LV_PURPOSE_PROVIDER_READBACK);
	cJSON_AddStringToObject(e, "resource", "statements");
	cJSON_AddStringToObject(e, "learner", p);
	cJSON_AddNumberToObject(e, "count", 1);
	return e;
}

static double append(struct lv_node *n, uint64_t start, uint64_t count, unsigned per_tx)
{
	double t0 = util_mono_s();
	for (uint64_t i = 0; i < count; i += per_tx) {
		struct lv_tx *tx;
		enum lv_status st = lv_tx_begin(n, &tx);
		if (st != LV_OK)
			break;
		for (uint64_t k = i; k < i + per_tx && k < count && st == LV_OK; k++)
			st = lv_tx_audit(tx, access_entry(start + k), NULL);
		if (lv_tx_end(tx, st) != LV_OK)
			break;
		if ((i / per_tx) % 2000 == 0 && i)
			fprintf(stderr, "bench audit: %llu entries\n", (unsigned long long)(start + i));
	}
	return (double)count / (util_mono_s() - t0);
}

/* The same rows into a plaintext SQLite table, same batching. */
static double baseline_append(const char *dir, uint64_t count, unsigned per_tx)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/baseline-%u.db", dir, per_tx);
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	sqlite3_open(path, &db);
	sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
			 "CREATE TABLE log(idx INTEGER PRIMARY KEY, entry TEXT, leaf BLOB, subject TEXT);", NULL, NULL, NULL);
	sqlite3_prepare_v2(db, "INSERT INTO log(idx, entry, leaf, subject) VALUES(?, ?, ?, ?)", -1, &s, NULL);
	double t0 = util_mono_s();
	for (uint64_t i = 0; i < count; i += per_tx) {
		sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
		for (uint64_t k = i; k < i + per_tx && k < count; k++) {
			cJSON *e = access_entry(k);
			char *text = cJSON_PrintUnformatted(e);
			unsigned char leaf[32] = {0};
			sqlite3_reset(s);
			sqlite3_bind_int64(s, 1, (sqlite3_int64)k);
			sqlite3_bind_text(s, 2, text, -1, SQLITE_TRANSIENT);
			sqlite3_bind_blob(s, 3, leaf, 32, SQLITE_TRANSIENT);
			sqlite3_bind_text(s, 4, "x", -1, SQLITE_STATIC);
			sqlite3_step(s);
			free(text);
			cJSON_Delete(e);
		}
		sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	}
	double rate = (double)count / (util_mono_s() - t0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return rate;
}

/* Reads --entries into *@entries.  Returns 0, or the exit code. */
static int audit_args(int argc, char **argv, uint64_t *entries)
{
	static const struct option opts[] = {{"entries", required_argument, 0, 'n'}, {0, 0, 0, 0}};
	int c;
	*entries = 1000000;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'n')
			return 2;
		unsigned long long v;
		if (cli_uint("bench audit --entries", optarg, 10000, 100000000, &v) != 0)
			return 2;
		*entries = v;
	}
	return 0;
}

/* The measured figures, each beside its baseline. */
struct audit_figures {
	double r_single, b_single;         /* appends/s, one entry per transaction */
	double r_batch, b_batch;           /* appends/s, 1000 per transaction */
	double proof_ms, hash_path_ms;     /* one inclusion proof */
	double verify_s, parse_hash_s;     /* the whole exported log */
	double open_ms, open_small_ms;     /* lv_node_open at @entries, and of a node of one entry */
	double open_rss_mb, open_small_rss_mb; /* resident memory the open added */
};

/* Resident memory of this process, MiB. */
static double rss_mb(void)
{
	long pages = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (f && fscanf(f, "%ld %ld", &pages, &resident) != 2)
		resident = 0;
	if (f)
		fclose(f);
	return (double)resident * (double)sysconf(_SC_PAGESIZE) / (1024.0 * 1024.0);
}

/* Opens @dir, timing it and the memory it adds; closes it again.
 * Returns 0, or 1 after saying why. */
static int timed_open(const char *dir, double *ms, double *mb)
{
	struct lv_node *n = NULL;
	double m0 = rss_mb(), t0 = util_mono_s();
	if (lv_node_open(dir, NULL, NULL, &n) != LV_OK)
		return cli_fail("bench audit: cannot open %s", dir);
	*ms = (util_mono_s() - t0) * 1000;
	*mb = rss_mb() - m0;
	lv_node_close(n);
	return 0;
}

/* Opening the node whose log has @entries entries, against opening a node
 * whose log has one (the baseline, in the same process, opened first and
 * twice so that what any open loads once is loaded): the node keeps the
 * tree's nodes in node.db and reads only its right edge, so both should
 * take the same time and memory.  *@node is closed and reopened.  Returns
 * 0, or 1 after saying why. */
static int time_open(struct lv_node **node, const char *dir, const char *node_dir, struct audit_figures *f)
{
	char small[4200], *vkey = NULL;
	struct lv_node *s = NULL;
	snprintf(small, sizeof small, "%s/small", dir);
	int rc = lv_node_init(small, NULL, NULL, &vkey) == LV_OK && lv_node_open(small, NULL, NULL, &s) == LV_OK ? 0 : 1;
	free(vkey);
	if (rc == 0)
		rc = append(s, 0, 1, 1) > 0 ? 0 : 1;
	lv_node_close(s);
	if (rc != 0)
		return cli_fail("bench audit: cannot create the baseline node");
	lv_node_close(*node);
	*node = NULL;
	fprintf(stderr, "bench audit: opening the node\n");
	double ms, mb;
	if (timed_open(small, &ms, &mb) != 0 || timed_open(small, &f->open_small_ms, &f->open_small_rss_mb) != 0 ||
	    timed_open(node_dir, &f->open_ms, &f->open_rss_mb) != 0)
		return 1;
	return lv_node_open(node_dir, NULL, NULL, node) == LV_OK ? 0 : cli_fail("bench audit: cannot reopen the node");
}

/* One entry per transaction (an event with its entry), then batches of
 * 1000 (many accesses answered together) up to @entries.  Returns 0, or
 * 1 after saying why. */
static int time_appends(struct lv_node *node, const char *dir, uint64_t entries, struct audit_figures *f)
{
	uint64_t single = 10000;
	fprintf(stderr, "bench audit: %llu single-entry transactions\n", (unsigned long long)single);
	f->r_single = append(node, 0, single, 1);
	f->b_single = baseline_append(dir, single, 1);
	fprintf(stderr, "bench audit: appending to %llu entries in batches of 1000\n", (unsigned long long)entries);
	f->r_batch = append(node, single, entries - single, 1000);
	f->b_batch = baseline_append(dir, entries - single, 1000);
	if (lv_audit_size(node) != entries)
		return cli_fail("bench audit: the log has %llu entries, expected %llu",
				(unsigned long long)lv_audit_size(node), (unsigned long long)entries);
	return 0;
}

/* Inclusion proofs at full size, random leaves.  Returns 0, or 1 after
 * saying why. */
static int time_proofs(struct lv_node *node, uint64_t entries, struct audit_figures *f)
{
	const unsigned proofs = 2000;
	double t0 = util_mono_s();
	for (unsigned i = 0; i < proofs; i++) {
		cJSON *p = NULL;
		if (lv_audit_inclusion(node, randombytes_uniform((uint32_t)entries), entries, &p) != LV_OK)
			return cli_fail("bench audit: proof failed");
		cJSON_Delete(p);
	}
	f->proof_ms = (util_mono_s() - t0) * 1000 / proofs;
	/* Baseline: the bare hashing a proof's path needs (log2 n node hashes). */
	unsigned char h[64] = {0}, outh[32];
	t0 = util_mono_s();
	for (unsigned i = 0; i < proofs * 20; i++)
		crypto_hash_sha256(outh, h, sizeof h);
	f->hash_path_ms = (util_mono_s() - t0) * 1000 / proofs;
	return 0;
}

/* Full offline verification of the exported log.  Returns 0, or 1 after
 * saying why. */
static int time_verify(struct lv_node *node, uint64_t entries, struct audit_figures *f)
{
	char *json = NULL, *vkey = NULL, *report = NULL;
	unsigned char outh[32];
	int rc = 1;
	fprintf(stderr, "bench audit: exporting and verifying %llu entries\n", (unsigned long long)entries);
	if (lv_audit_export(node, &json) != LV_OK || lv_audit_vkey(node, &vkey) != LV_OK) {
		cli_fail("bench audit: export failed");
		goto out;
	}
	double t0 = util_mono_s();
	enum lv_status vst = lv_audit_verify_export(json, strlen(json), vkey, NULL, &report);
	f->verify_s = util_mono_s() - t0;
	if (vst != LV_OK) {
		cli_fail("bench audit: verification failed: %s", report ? report : "");
		goto out;
	}
	/* Baseline: parsing the export and hashing every entry, nothing else. */
	t0 = util_mono_s();
	cJSON *doc = cJSON_Parse(json);
	const cJSON *e;
	cJSON_ArrayForEach(e, cJSON_GetObjectItem(doc, "entries"))
		lv_merkle_hash_leaf(e->valuestring, strlen(e->valuestring), outh);
	cJSON_Delete(doc);
	f->parse_hash_s = util_mono_s() - t0;
	rc = 0;
out:
	free(json);
	free(vkey);
	free(report);
	return rc;
}

/* @x rounded down to 1/@scale; 0 for a figure that is not a number (a
 * phase too short to time gives 0/0, and casting NaN is undefined). */
static double trunc_to(double x, double scale)
{
	return isfinite(x) ? (double)(long)(x * scale) / scale : 0;
}

static cJSON *result_json(uint64_t entries, const struct audit_figures *f)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "bench", "audit");
	cJSON_AddNumberToObject(o, "entries", (double)entries);
	cJSON_AddNumberToObject(o, "appends_per_s_one_per_tx", (double)(long)f->r_single);
	cJSON_AddNumberToObject(o, "baseline_rows_per_s_one_per_tx", (double)(long)f->b_single);
	cJSON_AddNumberToObject(o, "ratio_one_per_tx", trunc_to(f->r_single / f->b_single, 1000));
	cJSON_AddNumberToObject(o, "appends_per_s_batched", (double)(long)f->r_batch);
	cJSON_AddNumberToObject(o, "baseline_rows_per_s_batched", (double)(long)f->b_batch);
	cJSON_AddNumberToObject(o, "ratio_batched", trunc_to(f->r_batch / f->b_batch, 1000));
	cJSON_AddNumberToObject(o, "inclusion_proof_ms", trunc_to(f->proof_ms, 10000));
	cJSON_AddNumberToObject(o, "baseline_path_hash_ms", trunc_to(f->hash_path_ms, 10000));
	cJSON_AddNumberToObject(o, "verify_s", trunc_to(f->verify_s, 1000));
	cJSON_AddNumberToObject(o, "baseline_parse_and_hash_s", trunc_to(f->parse_hash_s, 1000));
	cJSON_AddNumberToObject(o, "verify_ratio", trunc_to(f->verify_s / f->parse_hash_s, 100));
	cJSON_AddNumberToObject(o, "open_ms", trunc_to(f->open_ms, 100));
	cJSON_AddNumberToObject(o, "baseline_open_one_entry_ms", trunc_to(f->open_small_ms, 100));
	cJSON_AddNumberToObject(o, "open_ratio", trunc_to(f->open_ms / f->open_small_ms, 100));
	cJSON_AddNumberToObject(o, "open_rss_mb", trunc_to(f->open_rss_mb, 100));
	cJSON_AddNumberToObject(o, "baseline_open_one_entry_rss_mb", trunc_to(f->open_small_rss_mb, 100));
	return o;
}

int bench_audit(int argc, char **argv)
{
	uint64_t entries;
	int rc = audit_args(argc, argv, &entries);
	if (rc != 0)
		return rc;
	char tmpl[] = "/tmp/lvbench-audit.XXXXXX";
	char *dir = mkdtemp(tmpl);
	char node_dir[4096];
	if (!dir)
		return cli_fail("bench audit: no scratch directory");
	snprintf(node_dir, sizeof node_dir, "%s/node", dir);
	struct lv_node *node = NULL;
	char *vkey = NULL;
	struct audit_figures f = {0};
	rc = 1;
	if (lv_node_init(node_dir, NULL, NULL, &vkey) != LV_OK || lv_node_open(node_dir, NULL, NULL, &node) != LV_OK) {
		cli_fail("bench audit: cannot create the node");
		goto out;
	}
	if (time_appends(node, dir, entries, &f) != 0 || time_open(&node, dir, node_dir, &f) != 0 ||
	    time_proofs(node, entries, &f) != 0 || time_verify(node, entries, &f) != 0)
		goto out;
	rc = cli_print(result_json(entries, &f));
out:
	lv_node_close(node);
	free(vkey);
	char cmd[4200];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench audit: could not remove %s\n", dir);
	return rc;
}
