/* bench federate: Prio3 reports prepared and sealed per second through the
 * public lv_fed_client_report (Sum, SumVec, Histogram), against a same-run
 * baseline of bare HPKE seals of a payload of the Sum report's input-share
 * size; then one timed lv_federate_upload of N consenting learners to a
 * mock Leader.  The Leader and Helper are in-process libmicrohttpd
 * daemons on 127.0.0.1 (ephemeral ports) serving the two DAP-09 routes a
 * Client uses, so the figures are the node's own work plus loopback HTTP.
 * No aggregation happens: the mock Leader checks each report's framing and
 * counts it. */
#include <arpa/inet.h>
#include <getopt.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>
#include <sodium.h>

#include "cli.h"
#include "learnvault/consent.h"
#include "learnvault/door.h"
#include "learnvault/federation.h"
#include "learnvault/query.h"
#include "learnvault/statements.h"
#include "learnvault/util.h"

#define MOCK_BODY_MAX (1u << 20)  /* bytes of one upload the mock takes (a report here is < 4 KiB) */
#define HPKE_TAG 16               /* AES-128-GCM */
#define AAD_FIXED (32 + 16 + 8 + 4) /* InputShareAad: task id, report id, time, public share's length */
#define MEAS_POOL 256             /* measurements drawn up front, cycled */
#define PER_BATCH_LEARNERS 100
#define STATEMENTS_PER_LEARNER 3
#define TIME_PRECISION_S 3600

static const char POLICY[] =
	"{\"id\":\"bench\",\"version\":1,\"title\":\"Benchmark\",\"description\":\"Federation benchmark.\","
	"\"controller\":{\"name\":\"Bench\",\"contact\":\"mailto:bench@example.org\"},"
	"\"legal_basis\":\"dpv:Consent\",\"purpose\":\"https://w3id.org/dpv#ImproveExistingProductsAndServices\","
	"\"data\":{\"verbs\":[\"http://adlnet.gov/expapi/verbs/answered\"],"
	"\"activity_types\":[\"http://adlnet.gov/expapi/activities/cmi.interaction\"],"
	"\"result_fields\":[\"result.score.scaled\"]},"
	"\"operations\":[\"sum\",\"mean\"],"
	"\"privacy\":{\"epsilon_per_query_max\":1,\"epsilon_budget\":100,\"budget_window_days\":30,\"min_cohort\":10},"
	"\"retention_days\":365,\"consent_valid_days\":365,\"guardian_below_age\":0,"
	"\"recipients\":[\"Bench\"],\"jurisdiction\":[\"US\"],\"withdrawal\":\"Any time.\"}";

/* ---- the mock aggregators ---- */

struct mock {
	struct MHD_Daemon *d;
	bool leader;
	char url[64];
	char reports_path[96];   /* /tasks/{task id}/reports */
	uint8_t config_id, other_id; /* its own and the other aggregator's */
	uint8_t list[64];        /* its HpkeConfigList, encoded */
	size_t list_len;
	uint8_t pk[32];
	/* written by the daemon's one thread; read with __atomic */
	unsigned long accepted, refused;
	double first_put_s, last_put_s;
};

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static size_t get16(const uint8_t *p)
{
	return (size_t)p[0] << 8 | p[1];
}

static size_t get32(const uint8_t *p)
{
	return (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
}

/* A Report's framing (DAP-09 §4.4.2): what the mock checks and what the
 * baseline sizes itself on. */
struct report_shape {
	size_t public_share, leader_payload, helper_payload;
	uint8_t leader_id, helper_id;
};

/* One HpkeCiphertext at @b[*at]: config id, enc<1..2^16-1>, payload<1..2^32-1>. */
static bool ciphertext_shape(const uint8_t *b, size_t n, size_t *at, uint8_t *id, size_t *payload)
{
	if (n - *at < 3)
		return false;
	*id = b[*at];
	size_t enc = get16(b + *at + 1);
	*at += 3;
	if (enc != 32 || n - *at < enc + 4)
		return false;
	*at += enc;
	*payload = get32(b + *at);
	*at += 4;
	if (*payload == 0 || n - *at < *payload)
		return false;
	*at += *payload;
	return true;
}

static bool report_shape(const uint8_t *b, size_t n, struct report_shape *s)
{
	size_t at = 16 + 8; /* report id, time */
	if (n < at + 4)
		return false;
	s->public_share = get32(b + at);
	at += 4;
	if (n - at < s->public_share)
		return false;
	at += s->public_share;
	return ciphertext_shape(b, n, &at, &s->leader_id, &s->leader_payload) &&
	       ciphertext_shape(b, n, &at, &s->helper_id, &s->helper_payload) && at == n;
}

static enum MHD_Result respond(struct MHD_Connection *conn, unsigned status, const char *ctype, const void *body,
			       size_t len)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	if (ctype)
		MHD_add_response_header(r, "Content-Type", ctype);
	if (status == 200) /* the configuration: cache it for the run */
		MHD_add_response_header(r, "Cache-Control", "max-age=86400");
	enum MHD_Result ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result problem(struct MHD_Connection *conn, const char *token)
{
	char body[160];
	int n = snprintf(body, sizeof body, "{\"type\":\"urn:ietf:params:ppm:dap:error:%s\",\"status\":400}", token);
	return respond(conn, 400, "application/problem+json", body, (size_t)n);
}

/* The Leader's upload route, once the body is in: framing and config ids
 * checked, then counted. */
static enum MHD_Result mock_report(struct mock *m, struct MHD_Connection *conn, const char *url,
				   const struct buf *body)
{
	const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
	struct report_shape s;
	double now = util_mono_s();
	double first;
	__atomic_load(&m->first_put_s, &first, __ATOMIC_RELAXED);
	if (first == 0) /* the first since timed_upload cleared it */
		__atomic_store(&m->first_put_s, &now, __ATOMIC_RELAXED);
	__atomic_store(&m->last_put_s, &now, __ATOMIC_RELAXED);
	if (strcmp(url, m->reports_path) != 0 || !ct || strcmp(ct, "application/dap-report") != 0 ||
	    !report_shape((const uint8_t *)body->data, body->len, &s) || s.leader_id != m->config_id ||
	    s.helper_id != m->other_id) {
		__atomic_add_fetch(&m->refused, 1, __ATOMIC_RELAXED);
		return problem(conn, "invalidMessage");
	}
	__atomic_add_fetch(&m->accepted, 1, __ATOMIC_RELAXED);
	return respond(conn, 201, NULL, "", 0);
}

static enum MHD_Result mock_handler(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
				    const char *version, const char *upload_data, size_t *upload_size, void **con_cls)
{
	(void)version;
	struct mock *m = cls;
	if (strcmp(method, "GET") == 0 && strcmp(url, "/hpke_config") == 0)
		return respond(conn, 200, "application/dap-hpke-config-list", m->list, m->list_len);
	if (!m->leader || strcmp(method, "PUT") != 0)
		return respond(conn, 404, "text/plain", "no", 2);
	struct buf *body = *con_cls;
	if (!body) {
		if (!(body = malloc(sizeof *body)))
			return MHD_NO;
		buf_init(body, MOCK_BODY_MAX);
		*con_cls = body;
		return MHD_YES;
	}
	if (*upload_size) {
		if (buf_append(body, upload_data, *upload_size) != LV_OK)
			return MHD_NO;
		*upload_size = 0;
		return MHD_YES;
	}
	return mock_report(m, conn, url, body);
}

static void mock_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode t)
{
	(void)cls, (void)conn, (void)t;
	struct buf *body = *con_cls;
	if (body) {
		buf_free(body);
		free(body);
	}
	*con_cls = NULL;
}

/* The configuration list: one HpkeConfig with a fresh X25519 key (its
 * private half is not kept: nothing here opens a share). */
static void mock_config(struct mock *m)
{
	uint8_t sk[32], *p = m->list + 2;
	randombytes_buf(sk, sizeof sk);
	crypto_scalarmult_base(m->pk, sk);
	sodium_memzero(sk, sizeof sk);
	*p++ = m->config_id;
	put16(p, 0x0020), p += 2; /* DHKEM(X25519, HKDF-SHA256) */
	put16(p, 0x0001), p += 2; /* HKDF-SHA256 */
	put16(p, 0x0001), p += 2; /* AES-128-GCM */
	put16(p, sizeof m->pk), p += 2;
	memcpy(p, m->pk, sizeof m->pk);
	p += sizeof m->pk;
	m->list_len = (size_t)(p - m->list);
	put16(m->list, (unsigned)(m->list_len - 2));
}

/* Starts @m on 127.0.0.1 with an ephemeral port.  0, or 1 after saying why. */
static int mock_start(struct mock *m, bool leader, const char *task_b64)
{
	*m = (struct mock){.leader = leader, .config_id = leader ? 1 : 2, .other_id = leader ? 2 : 1};
	snprintf(m->reports_path, sizeof m->reports_path, "/tasks/%s/reports", task_b64);
	mock_config(m);
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = 0};
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* One thread: the node uploads from one thread, one request at a time. */
	m->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO, 0, NULL, NULL, mock_handler, m,
				MHD_OPTION_SOCK_ADDR, &sin, MHD_OPTION_NOTIFY_COMPLETED, mock_completed, NULL,
				MHD_OPTION_END);
	const union MHD_DaemonInfo *di = m->d ? MHD_get_daemon_info(m->d, MHD_DAEMON_INFO_BIND_PORT) : NULL;
	if (!di || !di->port)
		return cli_fail("bench federate: cannot start the mock %s", leader ? "Leader" : "Helper");
	snprintf(m->url, sizeof m->url, "http://127.0.0.1:%u", (unsigned)di->port);
	return 0;
}

static void mock_stop(struct mock *m)
{
	if (m->d)
		MHD_stop_daemon(m->d);
	m->d = NULL;
}

/* ---- reports per second ---- */

struct env {
	struct mock leader, helper;
	uint8_t task[LV_FED_TASK_ID_LEN];
	char task_b64[LV_FED_TASK_ID_B64_LEN];
	double seconds;          /* per rate measurement */
};

/* A ready client of the mock pair for @v.  0, or 1 after saying why. */
static int client_for(const struct env *e, const struct lv_fed_vdaf_params *v, struct lv_fed_client **c)
{
	struct lv_fed_client_opts o = {.leader = e->leader.url, .helper = e->helper.url, .vdaf = *v,
				       .time_precision_s = TIME_PRECISION_S};
	char err[LV_ERR_LEN];
	memcpy(o.task_id, e->task, sizeof o.task_id);
	if (lv_fed_client_create(&o, c, err) != LV_OK || lv_fed_client_ready(*c, err) != LV_OK)
		return cli_fail("bench federate: client: %s", err);
	return 0;
}

/* Measurements in range for @v: MEAS_POOL of them, @n integers each. */
static uint64_t *measurements(const struct lv_fed_vdaf_params *v, size_t *n)
{
	*n = lv_fed_vdaf_measurement_len(v);
	uint64_t *m = malloc(MEAS_POOL * *n * sizeof *m);
	uint32_t bound = v->type == LV_FED_PRIO3_HISTOGRAM ? v->length
			 : v->type == LV_FED_PRIO3_COUNT   ? 2
							   : 1u << v->bits;
	for (size_t i = 0; m && i < MEAS_POOL * *n; i++)
		m[i] = randombytes_uniform(bound);
	return m;
}

/* Reports of @v made back to back for e->seconds; *@per_s, and the last
 * report into @sample (the caller's initialised buf).  0, or 1 after
 * saying why. */
static int report_rate(const struct env *e, const char *name, const struct lv_fed_vdaf_params *v, double *per_s,
		       struct buf *sample)
{
	struct lv_fed_client *c = NULL;
	size_t n;
	uint64_t *meas = measurements(v, &n);
	int rc = 1;
	if (!meas || client_for(e, v, &c) != 0)
		goto out;
	int64_t now = util_now_ms();
	unsigned long k = 0;
	double t0 = util_mono_s(), t = t0;
	while (t - t0 < e->seconds) {
		char err[LV_ERR_LEN];
		if (lv_fed_client_report(c, meas + (k % MEAS_POOL) * n, n, now, sample, err) != LV_OK) {
			cli_fail("bench federate: %s report: %s", name, err);
			goto out;
		}
		if (++k % 8 == 0)
			t = util_mono_s();
	}
	*per_s = (double)k / (t - t0);
	fprintf(stderr, "bench federate: %s: %lu reports in %.2f s, %.0f/s (%zu bytes each)\n", name, k, t - t0,
		*per_s, sample->len);
	rc = 0;
out:
	lv_fed_client_destroy(c);
	free(meas);
	return rc;
}

/* The baseline: bare HPKE seals (lv_fed_hpke_seal_bench) of what a Sum
 * report's Leader seal encrypts, with an AAD of its size, for e->seconds.
 * 0, or 1 after saying why. */
static int seal_rate(const struct env *e, const struct report_shape *s, double *per_s)
{
	size_t pt_len = s->leader_payload - HPKE_TAG, aad_len = AAD_FIXED + s->public_share;
	uint8_t *pt = malloc(pt_len), *aad = malloc(aad_len), enc[32];
	struct buf ct;
	buf_init(&ct, 1 << 16);
	int rc = 1;
	if (!pt || !aad)
		goto out;
	randombytes_buf(pt, pt_len);
	randombytes_buf(aad, aad_len);
	unsigned long k = 0;
	double t0 = util_mono_s(), t = t0;
	while (t - t0 < e->seconds) {
		if (lv_fed_hpke_seal_bench(e->leader.pk, aad, aad_len, pt, pt_len, enc, &ct) != LV_OK) {
			cli_fail("bench federate: HPKE seal failed");
			goto out;
		}
		if (++k % 8 == 0)
			t = util_mono_s();
	}
	*per_s = (double)k / (t - t0);
	fprintf(stderr, "bench federate: bare HPKE seal of %zu bytes (aad %zu): %lu in %.2f s, %.0f/s\n", pt_len,
		aad_len, k, t - t0, *per_s);
	rc = 0;
out:
	buf_free(&ct);
	free(pt);
	free(aad);
	return rc;
}

/* Bare uploads of @report (a Sum report) to the mock Leader through
 * lv_fed_client_upload for e->seconds: the HTTP part of an upload's send
 * phase, without the outbox.  0, or 1 after saying why. */
static int put_rate(const struct env *e, const struct buf *report, double *per_s)
{
	const struct lv_fed_vdaf_params sum = {.type = LV_FED_PRIO3_SUM, .bits = 8};
	struct lv_fed_client *c = NULL;
	int rc = 1;
	if (client_for(e, &sum, &c) != 0)
		goto out;
	unsigned long k = 0;
	double t0 = util_mono_s(), t = t0;
	while (t - t0 < e->seconds) {
		char err[LV_ERR_LEN];
		if (lv_fed_client_upload(c, (const uint8_t *)report->data, report->len, err) != LV_OK) {
			cli_fail("bench federate: bare upload: %s", err);
			goto out;
		}
		k++;
		t = util_mono_s();
	}
	*per_s = (double)k / (t - t0);
	fprintf(stderr, "bench federate: bare PUT of a Sum report to the mock Leader: %lu in %.2f s, %.0f/s\n", k,
		t - t0, *per_s);
	rc = 0;
out:
	lv_fed_client_destroy(c);
	return rc;
}

struct rates {
	double sum, sumvec, hist, seal, put;
	size_t sum_report_bytes, sum_sealed_bytes;
};

/* The three VDAFs' rates and the baseline.  0, or 1 after saying why. */
static int rates(const struct env *e, struct rates *r)
{
	const struct lv_fed_vdaf_params sum = {.type = LV_FED_PRIO3_SUM, .bits = 8};
	const struct lv_fed_vdaf_params sumvec = {.type = LV_FED_PRIO3_SUMVEC, .length = 10, .bits = 8,
						  .chunk_length = 4};
	const struct lv_fed_vdaf_params hist = {.type = LV_FED_PRIO3_HISTOGRAM, .length = 10, .chunk_length = 4};
	struct buf sample;
	struct report_shape s;
	int rc = 1;
	buf_init(&sample, MOCK_BODY_MAX);
	if (report_rate(e, "Prio3Sum bits 8", &sum, &r->sum, &sample) != 0)
		goto out;
	if (!report_shape((const uint8_t *)sample.data, sample.len, &s) || s.leader_payload <= HPKE_TAG) {
		cli_fail("bench federate: a Sum report does not have a Report's shape");
		goto out;
	}
	r->sum_report_bytes = sample.len;
	r->sum_sealed_bytes = s.leader_payload - HPKE_TAG;
	if (seal_rate(e, &s, &r->seal) != 0 || put_rate(e, &sample, &r->put) != 0 ||
	    report_rate(e, "Prio3SumVec length 10 bits 8 chunk_length 4", &sumvec, &r->sumvec, &sample) != 0 ||
	    report_rate(e, "Prio3Histogram length 10 chunk_length 4", &hist, &r->hist, &sample) != 0)
		goto out;
	rc = 0;
out:
	buf_free(&sample);
	return rc;
}

/* ---- the upload of N learners ---- */

/* Statements for learners [l0, l0 + k), STATEMENTS_PER_LEARNER each. */
static int store_batch(struct lv_node *node, const struct lv_principal *prov, unsigned l0, unsigned k)
{
	cJSON *arr = cJSON_CreateArray();
	for (unsigned l = l0; l < l0 + k; l++)
		for (unsigned j = 0; j < STATEMENTS_PER_LEARNER; j++) {
			char id[UTIL_UUID_LEN], body[768];
			util_uuid_v4(id);
			snprintf(body, sizeof body,
				 "{\"id\":\"%s\",\"actor\":{\"mbox\":\"mailto:learner%06u@school.example.org\"},"
				 "\"verb\":{\"id\":\"http://adlnet.gov/expapi/verbs/answered\"},"
				 "\"object\":{\"id\":\"https://courses.example.org/math/q-%u\",\"definition\":"
				 "{\"type\":\"http://adlnet.gov/expapi/activities/cmi.interaction\"}},"
				 "\"result\":{\"score\":{\"scaled\":%.2f}}}",
				 id, l, j, randombytes_uniform(101) / 100.0);
			cJSON_AddItemToArray(arr, cJSON_Parse(body));
		}
	char err[LV_ERR_TEXT];
	enum lv_status st = lv_ingest(node, prov, arr, NULL, 0, err);
	cJSON_Delete(arr);
	return st == LV_OK ? 0 : cli_fail("bench federate: store: %s", err);
}

/* A node in @node_dir with @learners learners, each with a few statements
 * and a live consent to the bench policy.  0, or 1 after saying why. */
static int seed_node(const char *node_dir, unsigned learners, const struct lv_principal *op, struct lv_node **node,
		     char **vkey)
{
	struct lv_principal prov = {.role = LV_ROLE_PROVIDER, .id = "bench-lms"};
	char perr[LV_POLICY_ERR_LEN], pid[LV_POLICY_ID_MAX + 1];
	uint32_t pver;
	bool added;
	if (lv_node_init(node_dir, NULL, NULL, vkey) != LV_OK || lv_node_open(node_dir, NULL, NULL, node) != LV_OK)
		return cli_fail("bench federate: cannot create the node in %s", node_dir);
	if (lv_policy_load(*node, POLICY, strlen(POLICY), &added, pid, &pver, perr) != LV_OK)
		return cli_fail("bench federate: policy: %s", perr);
	double t0 = util_mono_s();
	for (unsigned l = 0; l < learners; l += PER_BATCH_LEARNERS) {
		unsigned k = learners - l < PER_BATCH_LEARNERS ? learners - l : PER_BATCH_LEARNERS;
		if (store_batch(*node, &prov, l, k) != 0)
			return 1;
		if (l % 2000 == 0)
			fprintf(stderr, "bench federate: %u / %u learners stored (%.0f s)\n", l, learners,
				util_mono_s() - t0);
	}
	fprintf(stderr, "bench federate: consent for %u learners\n", learners);
	for (unsigned l = 0; l < learners; l++) {
		char actor[128], p[LV_PSEUDONYM_LEN], rid[LV_RECORD_ID_LEN], err[LV_CONSENT_ERR_LEN];
		bool created;
		snprintf(actor, sizeof actor, "{\"mbox\":\"mailto:learner%06u@school.example.org\"}", l);
		if (lv_learner_enrol(*node, actor, p, &created) != LV_OK ||
		    lv_consent_decide(*node, op, LV_ROLE_LEARNER, p, "bench", 0, true, rid, err) != LV_OK)
			return cli_fail("bench federate: consent failed");
	}
	return 0;
}

/* The task: a Prio3Sum of 14 bits over each learner's mean scaled score in
 * [0, 1] (10^4 field units < 2^14), to the mock pair.  0, or 1 after
 * saying why. */
static int add_task(struct lv_node *node, const struct lv_principal *op, const struct env *e)
{
	char text[1024], *task = NULL, err[LV_QUERY_ERR_LEN];
	snprintf(text, sizeof text,
		 "{\"task_id\":\"%s\",\"leader\":\"%s\",\"helper\":\"%s\","
		 "\"vdaf\":{\"type\":\"Prio3Sum\",\"bits\":14},\"time_precision\":%d,\"min_batch_size\":100,"
		 "\"purpose\":\"bench\",\"metric\":\"sum\",\"field\":\"result.score.scaled\",\"per_learner\":\"mean\","
		 "\"bounds\":[0,1],\"epsilon\":0.5}",
		 e->task_b64, e->leader.url, e->helper.url, TIME_PRECISION_S);
	if (lv_federate_task_add(node, op, text, strlen(text), util_now_ms(), &task, err) != LV_OK)
		return cli_fail("bench federate: task add: %s", err);
	free(task);
	return 0;
}

/* When each stage of the upload was first and last reported. */
struct stages {
	double t0;
	double configs, cohort, reports_first, reports_last, upload_last;
};

static void on_progress(void *ctx, const char *stage, size_t done, size_t total)
{
	struct stages *s = ctx;
	double t = util_mono_s() - s->t0;
	if (strcmp(stage, "configs") == 0 && done == total)
		s->configs = t;
	else if (strcmp(stage, "cohort") == 0)
		s->cohort = t;
	else if (strcmp(stage, "reports") == 0) {
		if (!s->reports_first)
			s->reports_first = t;
		s->reports_last = t;
	} else if (strcmp(stage, "upload") == 0)
		s->upload_last = t;
	if (done == total || done % 2048 == 0)
		fprintf(stderr, "bench federate: %.3f s  %s %zu/%zu\n", t, stage, done, total);
}

struct upload_result {
	double seconds, setup_s;
	double included, sent, rejected, pending;
	struct stages st;
	double first_put, last_put; /* at the mock Leader, from the upload's start */
};

static double member(const cJSON *o, const char *name)
{
	return cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, name));
}

/* The timed upload and what the summary and the mock Leader say of it.
 * 0, or 1 after saying why (also when the Leader's count and the summary
 * disagree). */
static int timed_upload(struct lv_node *node, const struct lv_principal *op, struct env *e, struct upload_result *u)
{
	struct lv_federate_progress prog = {on_progress, &u->st};
	char *summary = NULL, err[LV_QUERY_ERR_LEN];
	unsigned long before = __atomic_load_n(&e->leader.accepted, __ATOMIC_RELAXED);
	double zero = 0;
	__atomic_store(&e->leader.first_put_s, &zero, __ATOMIC_RELAXED);
	u->st.t0 = util_mono_s();
	enum lv_status st = lv_federate_upload(node, op, e->task_b64, util_now_ms(), &prog, &summary, err);
	u->seconds = util_mono_s() - u->st.t0;
	if (st != LV_OK)
		return cli_fail("bench federate: upload: %s", err);
	fprintf(stderr, "bench federate: upload %.3f s  %s\n", u->seconds, summary);
	cJSON *o = cJSON_Parse(summary);
	free(summary);
	if (!o)
		return cli_fail("bench federate: out of memory");
	u->included = member(o, "learners_included");
	u->sent = member(o, "reports_sent");
	u->rejected = member(o, "reports_rejected");
	u->pending = member(o, "reports_pending");
	cJSON_Delete(o);
	unsigned long got = __atomic_load_n(&e->leader.accepted, __ATOMIC_RELAXED) - before;
	__atomic_load(&e->leader.first_put_s, &u->first_put, __ATOMIC_RELAXED);
	__atomic_load(&e->leader.last_put_s, &u->last_put, __ATOMIC_RELAXED);
	u->first_put -= u->st.t0;
	u->last_put -= u->st.t0;
	if ((double)got != u->sent || __atomic_load_n(&e->leader.refused, __ATOMIC_RELAXED))
		return cli_fail("bench federate: the Leader accepted %lu reports (%lu refused), the summary says %.0f sent",
				got, __atomic_load_n(&e->leader.refused, __ATOMIC_RELAXED), u->sent);
	return 0;
}

static int upload_bench(struct env *e, unsigned learners, const char *keep, struct upload_result *u)
{
	struct bench_scratch sc;
	if (bench_scratch_open("federate", keep, &sc) != 0)
		return 1;
	struct lv_node *node = NULL;
	char *vkey = NULL;
	struct lv_principal op = {.role = LV_ROLE_ADMIN, .id = "operator"};
	double t0 = util_mono_s();
	int rc = seed_node(sc.node_dir, learners, &op, &node, &vkey);
	if (rc == 0)
		rc = add_task(node, &op, e);
	u->setup_s = util_mono_s() - t0;
	if (rc == 0) {
		fprintf(stderr, "bench federate: setup %.1f s; uploading %u learners\n", u->setup_s, learners);
		rc = timed_upload(node, &op, e, u);
	}
	lv_node_close(node);
	free(vkey);
	bench_scratch_close("federate", &sc);
	return rc;
}

/* ---- the command ---- */

struct federate_opts {
	unsigned learners;
	double seconds;
	const char *keep;
};

static int federate_args(int argc, char **argv, struct federate_opts *fo)
{
	static const struct option opts[] = {{"learners", required_argument, 0, 'l'},
					     {"seconds", required_argument, 0, 's'},
					     {"dir", required_argument, 0, 'd'}, {0, 0, 0, 0}};
	int ch;
	unsigned long long v;
	*fo = (struct federate_opts){.learners = 10000, .seconds = 2};
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'l':
			if (cli_uint("bench federate --learners", optarg, 100, 1000000, &v) != 0)
				return 2;
			fo->learners = (unsigned)v;
			break;
		case 's':
			if (cli_real("bench federate --seconds", optarg, 0.1, 600, &fo->seconds) != 0)
				return 2;
			break;
		case 'd': fo->keep = optarg; break;
		default: return 2;
		}
	}
	if (optind != argc)
		return cli_fail("bench federate [--learners 100..10^6] [--seconds 0.1..600 per rate] [--dir KEEP]") + 1;
	return 0;
}

static double r2(double x, double scale)
{
	return round(x * scale) / scale;
}

static cJSON *result_json(const struct federate_opts *fo, const struct rates *r, const struct upload_result *u)
{
	cJSON *o = cJSON_CreateObject(), *ph = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "area", "federate");
	cJSON_AddNumberToObject(o, "seconds_per_rate", fo->seconds);
	cJSON_AddNumberToObject(o, "sum_reports_per_s", round(r->sum));
	cJSON_AddNumberToObject(o, "sumvec_reports_per_s", round(r->sumvec));
	cJSON_AddNumberToObject(o, "histogram_reports_per_s", round(r->hist));
	cJSON_AddNumberToObject(o, "hpke_seals_per_s", round(r->seal));
	cJSON_AddNumberToObject(o, "sum_vs_seal_ratio", r2(r->sum / r->seal, 1000));
	cJSON_AddNumberToObject(o, "leader_puts_per_s", round(r->put));
	cJSON_AddNumberToObject(o, "sum_report_bytes", (double)r->sum_report_bytes);
	cJSON_AddNumberToObject(o, "sealed_bytes", (double)r->sum_sealed_bytes);
	cJSON_AddNumberToObject(o, "upload_learners", fo->learners);
	cJSON_AddNumberToObject(o, "upload_setup_s", r2(u->setup_s, 10));
	cJSON_AddNumberToObject(o, "upload_s", r2(u->seconds, 1000));
	cJSON_AddNumberToObject(o, "upload_included", u->included);
	cJSON_AddNumberToObject(o, "upload_reports_sent", u->sent);
	cJSON_AddNumberToObject(o, "upload_reports_rejected", u->rejected);
	cJSON_AddNumberToObject(o, "upload_reports_pending", u->pending);
	/* Stage boundaries from the progress calls and the mock Leader's
	 * clock, seconds from the upload's start. */
	cJSON_AddNumberToObject(ph, "configs", r2(u->st.configs, 1000));
	cJSON_AddNumberToObject(ph, "cohort", r2(u->st.cohort, 1000));
	cJSON_AddNumberToObject(ph, "first_reports_progress", r2(u->st.reports_first, 1000));
	cJSON_AddNumberToObject(ph, "reports_sealed", r2(u->st.reports_last, 1000));
	cJSON_AddNumberToObject(ph, "first_put", r2(u->first_put, 1000));
	cJSON_AddNumberToObject(ph, "last_put", r2(u->last_put, 1000));
	cJSON_AddNumberToObject(ph, "last_upload_progress", r2(u->st.upload_last, 1000));
	cJSON_AddItemToObject(o, "upload_timeline_s", ph);
	return o;
}

int bench_federate(int argc, char **argv)
{
	struct federate_opts fo;
	int rc = federate_args(argc, argv, &fo);
	if (rc != 0)
		return rc;
	struct env e = {.seconds = fo.seconds};
	struct rates r = {0};
	struct upload_result u = {0};
	randombytes_buf(e.task, sizeof e.task);
	sodium_bin2base64(e.task_b64, sizeof e.task_b64, e.task, sizeof e.task, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	rc = 1;
	if (mock_start(&e.leader, true, e.task_b64) != 0 || mock_start(&e.helper, false, e.task_b64) != 0 ||
	    rates(&e, &r) != 0 || upload_bench(&e, fo.learners, fo.keep, &u) != 0)
		goto out;
	rc = cli_print(result_json(&fo, &r, &u));
out:
	mock_stop(&e.leader);
	mock_stop(&e.helper);
	return rc;
}
