/* bench personal: (a) latency of GET /learner/next over loopback HTTP for
 * one learner with 10^4 statements, against GET /xapi/about in the same
 * run; (b) the BKT fit of 4,000 learners x 110 skills (lv_bkt_fit_data,
 * i.e. lv_bkt_fit's EM per skill) on synthetic data from known
 * parameters.  Progress on stderr, one JSON line on stdout. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <sodium.h>

#include "cli.h"
#include "learnvault/door.h"
#include "learnvault/consent.h"
#include "learnvault/personal.h"
#include "learnvault/recommend.h"
#include "learnvault/server.h"
#include "learnvault/util.h"

#define BENCH_BATCH 500
#define BENCH_ACTOR "mailto:bench-learner@school.example.org"

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

/* splitmix64: reproducible synthetic data (not security relevant). */
static double uniform(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	return (double)(z >> 11) / 9007199254740992.0;
}

/* Skills S1..Sk in chains of five (each needs the previous one), and
 * activities A1..An spread over the skills round-robin. */
static char *curriculum_text(unsigned skills, unsigned acts)
{
	struct buf b;
	buf_init(&b, (size_t)64 << 20);
	enum lv_status st = buf_append_str(&b, "{\"format\":\"learnvault-curriculum\",\"version\":1,\"skills\":{");
	for (unsigned s = 1; s <= skills && st == LV_OK; s++) {
		if ((s - 1) % 5 == 0)
			st = buf_printf(&b, "%s\"S%u\":{\"name\":\"Skill %u\"}", s > 1 ? "," : "", s, s);
		else
			st = buf_printf(&b, ",\"S%u\":{\"name\":\"Skill %u\",\"prerequisites\":[\"S%u\"]}", s, s, s - 1);
	}
	if (st == LV_OK)
		st = buf_append_str(&b, "},\"activities\":{");
	for (unsigned a = 1; a <= acts && st == LV_OK; a++)
		st = buf_printf(&b, "%s\"https://courses.example.org/bench/activity-%u\":[\"S%u\"]", a > 1 ? "," : "", a,
				(a - 1) % skills + 1);
	if (st == LV_OK)
		st = buf_append_str(&b, "}}");
	if (st != LV_OK) {
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b);
}

/* The learner's history: uniform activities, spread over the last 120
 * days, answered as a BKT learner would (learn .15, guess .2, slip .1). */
static int ingest_history(struct lv_node *node, const char *provider, unsigned n, unsigned skills, unsigned acts,
			  int64_t now)
{
	bool *known = calloc(skills, sizeof *known);
	if (!known)
		return -1;
	int rc = 0;
	int64_t span = 120 * UTIL_DAY_MS;
	for (unsigned first = 0; first < n && rc == 0; first += BENCH_BATCH) {
		struct buf b;
		buf_init(&b, (size_t)BENCH_BATCH * 2048);
		enum lv_status st = buf_append_str(&b, "[");
		for (unsigned i = first; i < n && i < first + BENCH_BATCH && st == LV_OK; i++) {
			unsigned a = 1 + (unsigned)(uniform() * acts) % acts;
			unsigned s = (a - 1) % skills;
			bool correct = known[s] ? uniform() >= 0.1 : uniform() < 0.2;
			if (!known[s] && uniform() < 0.15)
				known[s] = true;
			char ts[UTIL_TIME_LEN];
			util_time_format(now - span + (int64_t)((double)span * i / n), ts);
			st = buf_printf(&b,
				"%s{\"actor\":{\"objectType\":\"Agent\",\"mbox\":\"" BENCH_ACTOR "\"},"
				"\"verb\":{\"id\":\"http://adlnet.gov/expapi/verbs/answered\"},"
				"\"object\":{\"objectType\":\"Activity\",\"id\":\"https://courses.example.org/bench/activity-%u\"},"
				"\"result\":{\"success\":%s,\"score\":{\"scaled\":%s}},\"timestamp\":\"%s\"}",
				i > first ? "," : "", a, correct ? "true" : "false", correct ? "0.9" : "0.2", ts);
		}
		if (st == LV_OK)
			st = buf_append_str(&b, "]");
		cJSON *ids = NULL;
		if (st != LV_OK || cli_ingest_text(node, provider, b.data, b.len, &ids) != 0)
			rc = -1;
		cJSON_Delete(ids);
		buf_free(&b);
	}
	free(known);
	return rc;
}

static size_t discard(char *p, size_t s, size_t n, void *u)
{
	(void)p;
	(void)u;
	return s * n;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double pct(const double *sorted, size_t n, double q)
{
	size_t i = (size_t)ceil(q * (double)n);
	return sorted[i ? i - 1 : 0];
}

/* @n GETs of @url, latencies (ms) into @ms, sorted; -1 if any failed. */
static int timed_gets(CURL *h, const char *url, struct curl_slist *hdr, unsigned n, double *ms)
{
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	for (unsigned i = 0; i < n; i++) {
		long code = 0;
		double t0 = util_mono_s();
		if (curl_easy_perform(h) != CURLE_OK || curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK ||
		    code != 200)
			return -1;
		ms[i] = (util_mono_s() - t0) * 1000.0;
	}
	qsort(ms, n, sizeof *ms, cmp_double);
	return 0;
}

static cJSON *latency_json(const double *ms, unsigned n)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "p50_ms", round(pct(ms, n, 0.50) * 1000) / 1000);
	cJSON_AddNumberToObject(o, "p99_ms", round(pct(ms, n, 0.99) * 1000) / 1000);
	cJSON_AddNumberToObject(o, "max_ms", round(ms[n - 1] * 1000) / 1000);
	return o;
}

/* (b): seconds of lv_bkt_fit_data, or a negative value on failure. */
static double bkt_fit_bench(unsigned learners, unsigned skills, unsigned responses, cJSON *out)
{
	struct lv_bkt_params truth = {.prior = 0.2, .learn = 0.15, .guess = 0.2, .slip = 0.1, .forget = 0};
	struct lv_kt_data *d = NULL;
	struct lv_bkt_paramset *ps = NULL;
	fprintf(stderr, "bench personal: synthetic BKT data, %u learners x %u skills x %u responses\n", learners,
		skills, responses);
	if (lv_kt_synth_bkt(&truth, learners, skills, responses, 11, &d) != LV_OK)
		return -1;
	struct lv_bkt_fit_opts fo;
	lv_bkt_fit_opts_init(&fo);
	double t0 = util_mono_s();
	enum lv_status st = lv_bkt_fit_data(d, &fo, &ps);
	double dt = util_mono_s() - t0;
	if (st != LV_OK) {
		lv_kt_data_destroy(d);
		return -1;
	}
	double maxerr = 0;
	for (size_t i = 0; i < lv_bkt_paramset_count(ps); i++) {
		struct lv_bkt_params p;
		lv_bkt_paramset_skill(ps, i, &p);
		double e[4] = {fabs(p.prior - truth.prior), fabs(p.learn - truth.learn), fabs(p.guess - truth.guess),
			       fabs(p.slip - truth.slip)};
		for (size_t k = 0; k < 4; k++)
			maxerr = e[k] > maxerr ? e[k] : maxerr;
	}
	cJSON_AddNumberToObject(out, "learners", learners);
	cJSON_AddNumberToObject(out, "skills", skills);
	cJSON_AddNumberToObject(out, "responses_per_skill", responses);
	cJSON_AddNumberToObject(out, "rows", (double)lv_kt_data_rows(d));
	cJSON_AddNumberToObject(out, "seconds", round(dt * 1000) / 1000);
	cJSON_AddNumberToObject(out, "target_s", 2);
	cJSON_AddNumberToObject(out, "max_param_error", round(maxerr * 10000) / 10000);
	lv_bkt_paramset_destroy(ps);
	lv_kt_data_destroy(d);
	return dt;
}

/* What to measure: counts from the command line. */
struct personal_opts {
	unsigned nst, nact, nsk, nreq;                  /* (a) */
	unsigned fit_learners, fit_skills, fit_responses; /* (b) */
	const char *keep;                               /* --dir: kept afterwards */
};

/* Reads the options into @po.  Returns 0, or the exit code. */
static int personal_args(int argc, char **argv, struct personal_opts *po)
{
	const char *n_s = NULL, *a_s = NULL, *k_s = NULL, *r_s = NULL, *l_s = NULL, *fk_s = NULL, *resp_s = NULL;
	const struct cli_opt opts[] = {
		{"statements", true, &n_s}, {"activities", true, &a_s}, {"skills", true, &k_s},
		{"requests", true, &r_s},   {"fit-learners", true, &l_s}, {"fit-skills", true, &fk_s},
		{"fit-responses", true, &resp_s}, {"dir", true, &po->keep}, {0, false, NULL}};
	po->keep = NULL;
	if (cli_parse(argc, argv, 1, opts) != argc)
		return 2;
	unsigned long long v[7] = {10000, 200, 40, 1000, 4000, 110, 10};
	const char *s[7] = {n_s, a_s, k_s, r_s, l_s, fk_s, resp_s};
	static const char *const names[7] = {"bench personal --statements", "bench personal --activities",
		"bench personal --skills", "bench personal --requests", "bench personal --fit-learners",
		"bench personal --fit-skills", "bench personal --fit-responses"};
	for (size_t i = 0; i < 7; i++) {
		if (s[i] && cli_uint(names[i], s[i], 1, 10000000, &v[i]) != 0)
			return 2;
	}
	po->nst = (unsigned)v[0];
	po->nact = (unsigned)v[1];
	po->nsk = (unsigned)v[2];
	po->nreq = (unsigned)v[3];
	po->fit_learners = (unsigned)v[4];
	po->fit_skills = (unsigned)v[5];
	po->fit_responses = (unsigned)v[6];
	if (po->nsk > po->nact || po->nsk > LV_CURRICULUM_MAX_SKILLS || po->nact > LV_CURRICULUM_MAX_ACTIVITIES)
		return cli_fail("bench personal: --skills <= --activities <= %u", LV_CURRICULUM_MAX_ACTIVITIES);
	return 0;
}

/* The node under test and what the run made in it. */
struct personal_run {
	const struct personal_opts *po;
	struct lv_node *node;
	char *vkey, *cur;                 /* the audit verifier key text; the curriculum text */
	char *psecret, *lsecret;          /* sodium_malloc: provider's and learner's secrets */
	char pid[LV_CRED_ID_LEN], lid[LV_CRED_ID_LEN], learner[LV_PSEUDONYM_LEN];
	double ingest_s;
};

/* A fresh node in @node_dir with the curriculum and a provider
 * credential.  Returns 0, or 1 after saying why. */
static int node_setup(struct personal_run *pr, const char *node_dir)
{
	char err[LV_PERSONAL_ERR_LEN] = "";
	if (lv_node_init(node_dir, NULL, NULL, &pr->vkey) != LV_OK ||
	    lv_node_open(node_dir, NULL, NULL, &pr->node) != LV_OK)
		return cli_fail("bench personal: cannot create the node in %s", node_dir);
	if (!(pr->cur = curriculum_text(pr->po->nsk, pr->po->nact)) ||
	    lv_personal_curriculum_load(pr->node, pr->cur, strlen(pr->cur), err) != LV_OK)
		return cli_fail("bench personal: curriculum: %s", err);
	if (lv_credential_add(pr->node, LV_ROLE_PROVIDER, NULL, NULL, 0, "bench", pr->pid, &pr->psecret) != LV_OK)
		return cli_fail("bench personal: cannot add a credential");
	return 0;
}

/* The learner's history (timed), enrolment and token, then the statements
 * that leave the stored state lagging.  Returns 0, or 1 after saying why. */
static int learner_setup(struct personal_run *pr)
{
	const struct personal_opts *po = pr->po;
	fprintf(stderr, "bench personal: ingesting %u statements (%u activities, %u skills) for one learner\n",
		po->nst, po->nact, po->nsk);
	int64_t now = util_now_ms();
	double t0 = util_mono_s();
	if (ingest_history(pr->node, pr->pid, po->nst, po->nsk, po->nact, now) != 0)
		return cli_fail("bench personal: ingest failed");
	pr->ingest_s = util_mono_s() - t0;
	bool created;
	if (lv_learner_enrol(pr->node, "{\"mbox\":\"" BENCH_ACTOR "\"}", pr->learner, &created) != LV_OK ||
	    lv_credential_add(pr->node, LV_ROLE_LEARNER, pr->learner, NULL, 0, "bench", pr->lid, &pr->lsecret) !=
		    LV_OK)
		return cli_fail("bench personal: cannot make the learner's token");
	/* The slowest steady state for a read: the stored state lags by one
	 * statement less than a step (all answers so far were responses, so
	 * the checkpoint advanced at every multiple of the step). */
	unsigned tail = LV_PERSONAL_CHECKPOINT_EVERY - 1 - po->nst % LV_PERSONAL_CHECKPOINT_EVERY;
	for (unsigned i = 0; i < tail; i++) {
		char text[512];
		cJSON *ids = NULL;
		snprintf(text, sizeof text,
			 "{\"actor\":{\"mbox\":\"" BENCH_ACTOR "\"},\"verb\":{\"id\":"
			 "\"http://adlnet.gov/expapi/verbs/experienced\"},\"object\":{\"id\":"
			 "\"https://courses.example.org/bench/video-%u\"}}", i);
		if (cli_ingest_text(pr->node, pr->pid, text, strlen(text), &ids) != 0)
			return cli_fail("bench personal: ingest failed");
		cJSON_Delete(ids);
	}
	return 0;
}

static void run_free(struct personal_run *pr)
{
	lv_node_close(pr->node);
	free(pr->cur);
	free(pr->vkey);
	if (pr->psecret)
		sodium_free(pr->psecret);
	if (pr->lsecret)
		sodium_free(pr->lsecret);
}

/* The HTTP client side of (a). */
struct personal_http {
	CURL *h;
	struct curl_slist *hdr;  /* the learner's bearer token */
	struct curl_slist *xhdr; /* the xAPI version header */
	unsigned port;
	double *ms;              /* po->nreq latencies */
};

/* Returns 0, or 1 after saying why. */
static int http_setup(const struct personal_run *pr, const struct lv_server *srv, struct personal_http *ph)
{
	char auth[256];
	ph->h = curl_easy_init();
	snprintf(auth, sizeof auth, "Authorization: Bearer %s.%s", pr->lid, pr->lsecret);
	ph->hdr = curl_slist_append(ph->hdr, auth);
	ph->xhdr = curl_slist_append(ph->xhdr, "X-Experience-API-Version: 1.0.3");
	if (!ph->h || !ph->hdr || !ph->xhdr)
		return cli_fail("bench personal: out of memory");
	ph->port = lv_server_port(srv);
	return 0;
}

static void http_free(struct personal_http *ph)
{
	curl_slist_free_all(ph->hdr);
	curl_slist_free_all(ph->xhdr);
	if (ph->h)
		curl_easy_cleanup(ph->h);
}

/* One answer, to report what is being timed: how many items of each kind
 * (review, practice, new) it holds.  Returns 0, or 1 after saying why. */
static int next_items_mix(const struct personal_run *pr, unsigned kinds[3])
{
	cJSON *sample = NULL;
	struct lv_principal self = {.role = LV_ROLE_LEARNER};
	snprintf(self.learner, sizeof self.learner, "%s", pr->learner);
	snprintf(self.id, sizeof self.id, "%s", pr->lid);
	if (lv_learner_next(pr->node, &self, pr->learner, LV_PURPOSE_SELF, 0, util_now_ms(), &sample) != LV_OK)
		return cli_fail("bench personal: lv_personal_next failed");
	cJSON *its = cJSON_GetObjectItemCaseSensitive(sample, "items");
	const cJSON *it;
	cJSON_ArrayForEach(it, its) {
		const char *k = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "kind"));
		kinds[k && !strcmp(k, "review") ? 0 : k && !strcmp(k, "practice") ? 1 : 2]++;
	}
	cJSON_Delete(sample);
	return 0;
}

/* The run's sizes and ingest rate, and the item mix, into @o. */
static void add_run_fields(const struct personal_run *pr, const unsigned kinds[3], cJSON *o)
{
	const struct personal_opts *po = pr->po;
	cJSON_AddItemToObject(o, "bench", cJSON_CreateString("personal"));
	cJSON_AddNumberToObject(o, "statements", po->nst);
	cJSON_AddNumberToObject(o, "activities", po->nact);
	cJSON_AddNumberToObject(o, "skills", po->nsk);
	cJSON_AddNumberToObject(o, "ingest_statements_per_s", (double)(long)(po->nst / pr->ingest_s));
	cJSON_AddNumberToObject(o, "pending_at_read", LV_PERSONAL_CHECKPOINT_EVERY - 1);
	cJSON_AddNumberToObject(o, "requests", po->nreq);
	cJSON *mix = cJSON_AddObjectToObject(o, "next_items");
	cJSON_AddNumberToObject(mix, "review", kinds[0]);
	cJSON_AddNumberToObject(mix, "practice", kinds[1]);
	cJSON_AddNumberToObject(mix, "new", kinds[2]);
}

/* (a): GET /learner/next, with the longest limit, and GET /xapi/about,
 * each timed po->nreq times; the figures into @o after the run's fields.
 * Returns 0, or 1 after saying why. */
static int latencies(const struct personal_run *pr, struct personal_http *ph, const unsigned kinds[3], cJSON *o)
{
	unsigned nreq = pr->po->nreq;
	char url[160];
	double warm[20];
	fprintf(stderr, "bench personal: %u x GET /learner/next, %u x GET /learner/next?limit=%u, %u x GET /xapi/about\n",
		nreq, nreq, LV_NEXT_LIMIT_MAX, nreq);
	snprintf(url, sizeof url, "http://127.0.0.1:%u/learner/next", ph->port);
	if (timed_gets(ph->h, url, ph->hdr, 20, warm) != 0 || timed_gets(ph->h, url, ph->hdr, nreq, ph->ms) != 0)
		return cli_fail("bench personal: GET /learner/next failed");
	cJSON *next = latency_json(ph->ms, nreq);
	add_run_fields(pr, kinds, o);
	cJSON_AddItemToObject(o, "next", next);
	/* The most work one request can ask for: every stage to its end. */
	snprintf(url, sizeof url, "http://127.0.0.1:%u/learner/next?limit=%u", ph->port, LV_NEXT_LIMIT_MAX);
	if (timed_gets(ph->h, url, ph->hdr, nreq, ph->ms) != 0)
		return cli_fail("bench personal: GET /learner/next?limit=%u failed", LV_NEXT_LIMIT_MAX);
	cJSON_AddItemToObject(o, "next_limit_100", latency_json(ph->ms, nreq));
	snprintf(url, sizeof url, "http://127.0.0.1:%u/xapi/about", ph->port);
	if (timed_gets(ph->h, url, ph->xhdr, 20, warm) != 0 || timed_gets(ph->h, url, ph->xhdr, nreq, ph->ms) != 0)
		return cli_fail("bench personal: GET /xapi/about failed");
	cJSON *about = latency_json(ph->ms, nreq);
	double next_p99 = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(next, "p99_ms"));
	double next100_p99 = cJSON_GetNumberValue(
		cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "next_limit_100"), "p99_ms"));
	cJSON_AddItemToObject(o, "baseline_xapi_about", about);
	cJSON_AddNumberToObject(o, "target_next_p99_ms", 20);
	cJSON_AddBoolToObject(o, "next_target_met", next_p99 <= 20 && next100_p99 <= 20);
	return 0;
}

/* A full recomputation for reference, as after a configuration change,
 * then (b).  Returns 0, or 1 after saying why. */
static int rebuild_and_fit(const struct personal_run *pr, cJSON *o)
{
	double t0 = util_mono_s();
	if (lv_personal_rebuild(pr->node, pr->learner) != LV_OK)
		return cli_fail("bench personal: rebuild failed");
	cJSON_AddNumberToObject(o, "rebuild_ms", round((util_mono_s() - t0) * 1e6) / 1000);
	cJSON *fit = cJSON_AddObjectToObject(o, "bkt_fit");
	double fit_s = bkt_fit_bench(pr->po->fit_learners, pr->po->fit_skills, pr->po->fit_responses, fit);
	if (fit_s < 0)
		return cli_fail("bench personal: the BKT fit failed");
	cJSON_AddBoolToObject(fit, "target_met", fit_s <= 2);
	return 0;
}

int bench_personal(int argc, char **argv)
{
	struct personal_opts po;
	int rc = personal_args(argc, argv, &po);
	if (rc != 0)
		return rc;
	struct bench_scratch sc;
	if (bench_scratch_open("personal", po.keep, &sc) != 0)
		return 1;
	const char *node_dir = sc.node_dir;
	rc = 1;
	struct personal_run pr = {.po = &po};
	struct personal_http ph = {.ms = calloc(po.nreq, sizeof *ph.ms)};
	struct lv_server *srv = NULL;
	unsigned kinds[3] = {0};
	cJSON *o = cJSON_CreateObject();
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (!ph.ms) {
		cli_fail("bench personal: cannot create the node in %s", node_dir);
		goto out;
	}
	if (node_setup(&pr, node_dir) != 0 || learner_setup(&pr) != 0)
		goto out;
	struct lv_server_options so = {.host = "127.0.0.1", .port = 0, .threads = 2};
	if (lv_server_start(pr.node, &so, &srv) != LV_OK) {
		cli_fail("bench personal: cannot start the server");
		goto out;
	}
	if (http_setup(&pr, srv, &ph) != 0 || next_items_mix(&pr, kinds) != 0 || latencies(&pr, &ph, kinds, o) != 0)
		goto out;
	lv_server_destroy(srv);
	srv = NULL;
	if (rebuild_and_fit(&pr, o) != 0)
		goto out;
	rc = 0;
	cli_print(o);
	o = NULL;
out:
	cJSON_Delete(o);
	http_free(&ph);
	lv_server_destroy(srv);
	run_free(&pr);
	free(ph.ms);
	curl_global_cleanup();
	bench_scratch_close("personal", &sc);
	return rc;
}
