/* The DAP-09 upload client on libcurl's easy interface. */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <sodium.h>

#include "dap_client.h"

#define MAX_BODY (64u << 10)    /* config lists and problem documents */
#define MAX_ENDPOINT 2048
#define MAX_CACHE 64
#define MAX_TOKEN 4096
/* A config is never trusted for longer than this, whatever max-age says:
 * a rotated key must reach us within a week. */
#define MAX_AGE_CAP_S (7 * 86400ull)

struct cache_entry {
	char *endpoint; /* normalised */
	uint8_t task_id[FED_DAP_TASK_ID_LEN];
	uint8_t config_id;
	uint8_t pk[FED_HPKE_NPK];
	double expires; /* util_mono_s() */
};

struct fed_dap_client {
	CURL *h;
	struct fed_dap_client_options opt;
	char *token; /* sodium_malloc'd, NULL when none */
	UTIL_ARRAY(struct cache_entry) cache;
};

struct http_resp {
	long status;
	CURLcode cc;
	struct buf body;
	char ctype[128];
	bool has_max_age;
	uint64_t max_age;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void res_clear(struct fed_dap_result *res)
{
	memset(res, 0, sizeof *res);
}

const char *fed_dap_error_str(enum fed_dap_error e)
{
	switch (e) {
	case FED_DAP_E_NONE: return "ok";
	case FED_DAP_E_TRANSPORT: return "transport";
	case FED_DAP_E_SERVER: return "server";
	case FED_DAP_E_HTTP: return "http";
	case FED_DAP_E_BAD_RESPONSE: return "badResponse";
	case FED_DAP_E_NO_SUITE: return "noSupportedConfig";
	case FED_DAP_E_INVALID_MESSAGE: return FED_DAP_ERR_INVALID_MESSAGE;
	case FED_DAP_E_UNRECOGNIZED_TASK: return FED_DAP_ERR_UNRECOGNIZED_TASK;
	case FED_DAP_E_OUTDATED_CONFIG: return FED_DAP_ERR_OUTDATED_CONFIG;
	case FED_DAP_E_REPORT_REJECTED: return FED_DAP_ERR_REPORT_REJECTED;
	case FED_DAP_E_REPORT_TOO_EARLY: return FED_DAP_ERR_REPORT_TOO_EARLY;
	case FED_DAP_E_UNAUTHORIZED: return FED_DAP_ERR_UNAUTHORIZED_REQUEST;
	case FED_DAP_E_MISSING_TASK_ID: return FED_DAP_ERR_MISSING_TASK_ID;
	case FED_DAP_E_OTHER_PROBLEM: return "otherProblem";
	}
	return "unknown";
}

/* ---- lifecycle ------------------------------------------------------- */

static bool token_ok(const char *t)
{
	size_t n = strnlen(t, MAX_TOKEN + 1);
	if (n == 0 || n > MAX_TOKEN)
		return false;
	for (size_t i = 0; i < n; i++) /* visible ASCII: nothing can split the header */
		if (t[i] < 0x21 || t[i] > 0x7e)
			return false;
	return true;
}

enum lv_status fed_dap_client_create(const struct fed_dap_client_options *opt, struct fed_dap_client **out)
{
	*out = NULL;
	pthread_once(&curl_once, curl_init);
	if (curl_init_rc != CURLE_OK)
		return LV_ERR_INTERNAL;
	if (opt && opt->bearer_token && !token_ok(opt->bearer_token))
		return LV_ERR_INVALID;
	struct fed_dap_client *c = calloc(1, sizeof *c);
	if (!c)
		return LV_ERR_NOMEM;
	if (opt)
		c->opt = *opt;
	c->opt.bearer_token = NULL; /* the copy below is the only one we keep */
	if (!c->opt.connect_timeout_ms)
		c->opt.connect_timeout_ms = 5000;
	if (!c->opt.total_timeout_ms)
		c->opt.total_timeout_ms = 30000;
	if (!c->opt.tries)
		c->opt.tries = 3;
	if (!c->opt.backoff_ms)
		c->opt.backoff_ms = 100;
	if (!c->opt.backoff_max_ms)
		c->opt.backoff_max_ms = 400;
	if (!c->opt.default_max_age_s)
		c->opt.default_max_age_s = 3600;
	if (opt && opt->bearer_token) {
		size_t n = strlen(opt->bearer_token) + 1;
		if (!(c->token = sodium_malloc(n)))
			goto nomem;
		memcpy(c->token, opt->bearer_token, n);
	}
	if (!(c->h = curl_easy_init()))
		goto nomem;
	*out = c;
	return LV_OK;
nomem:
	fed_dap_client_destroy(c);
	return LV_ERR_NOMEM;
}

void fed_dap_client_forget_configs(struct fed_dap_client *c)
{
	for (size_t i = 0; i < c->cache.n; i++)
		free(c->cache.v[i].endpoint);
	c->cache.n = 0;
}

void fed_dap_client_destroy(struct fed_dap_client *c)
{
	if (!c)
		return;
	fed_dap_client_forget_configs(c);
	free(c->cache.v);
	if (c->token)
		sodium_free(c->token); /* wipes */
	if (c->h)
		curl_easy_cleanup(c->h);
	free(c);
}

/* ---- HTTP ------------------------------------------------------------ */

/* @ep without trailing slashes into @out, or LV_ERR_INVALID unless it is
 * an http(s) URL of printable ASCII (libcurl also refuses any other
 * protocol: CURLOPT_PROTOCOLS_STR). */
static enum lv_status endpoint_normalize(const char *ep, struct buf *out)
{
	size_t n = ep ? strnlen(ep, MAX_ENDPOINT + 1) : 0;
	buf_reset(out);
	if (n == 0 || n > MAX_ENDPOINT)
		return LV_ERR_INVALID;
	if (strncasecmp(ep, "http://", 7) != 0 && strncasecmp(ep, "https://", 8) != 0)
		return LV_ERR_INVALID;
	for (size_t i = 0; i < n; i++)
		if (ep[i] < 0x21 || ep[i] > 0x7e)
			return LV_ERR_INVALID;
	while (n > 8 && ep[n - 1] == '/')
		n--;
	return buf_append(out, ep, n);
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
	struct buf *b = ud;
	size_t n = size * nmemb;
	return buf_append(b, p, n) == LV_OK ? n : 0; /* 0: over the cap, abort */
}

/* Cache-Control: max-age=N (no-store / no-cache: 0). */
static void parse_cache_control(CURL *h, struct http_resp *r)
{
	struct curl_header *hd = NULL;
	if (curl_easy_header(h, "Cache-Control", 0, CURLH_HEADER, -1, &hd) != CURLHE_OK || !hd)
		return;
	const char *v = hd->value;
	for (const char *p = v; *p; p++) {
		if (strncasecmp(p, "no-store", 8) == 0 || strncasecmp(p, "no-cache", 8) == 0) {
			r->has_max_age = true;
			r->max_age = 0;
			return;
		}
	}
	for (const char *p = v; *p; p++) {
		if (strncasecmp(p, "max-age=", 8) != 0 || (p > v && (isalnum((unsigned char)p[-1]) || p[-1] == '-')))
			continue;
		p += 8;
		if (!isdigit((unsigned char)*p))
			return;
		uint64_t a = 0;
		for (; isdigit((unsigned char)*p); p++)
			a = a > MAX_AGE_CAP_S ? a : a * 10 + (uint64_t)(*p - '0');
		r->has_max_age = true;
		r->max_age = a < MAX_AGE_CAP_S ? a : MAX_AGE_CAP_S;
		return;
	}
}

/* One request; the handle is reset first so nothing leaks between calls
 * (libcurl keeps the connection cache across resets). */
static void http_once(struct fed_dap_client *c, const char *method, const char *url, struct curl_slist *hdrs,
		      const struct buf *body, struct http_resp *r)
{
	CURL *h = c->h;
	buf_reset(&r->body);
	r->status = 0;
	r->ctype[0] = '\0';
	r->has_max_age = false;
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->opt.connect_timeout_ms);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->opt.total_timeout_ms);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &r->body);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	if (body) {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body->data);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->len);
	}
	r->cc = curl_easy_perform(h);
	if (r->cc != CURLE_OK)
		return;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
	char *ct = NULL;
	if (curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct)
		snprintf(r->ctype, sizeof r->ctype, "%s", ct);
	parse_cache_control(h, r);
}

static bool transient_cc(CURLcode cc)
{
	switch (cc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_SSL_CONNECT_ERROR:
		return true;
	default:
		return false;
	}
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
	}
}

/* The request with up to opt.tries attempts: connect errors, timeouts,
 * 5xx and 429 are retried after a doubling, capped pause. */
static void http_request(struct fed_dap_client *c, const char *method, const char *url, struct curl_slist *hdrs,
			 const struct buf *body, struct http_resp *r, struct fed_dap_result *res)
{
	unsigned pause = c->opt.backoff_ms;
	for (unsigned attempt = 0;; attempt++) {
		http_once(c, method, url, hdrs, body, r);
		res->requests++;
		res->http_status = r->status;
		bool transient = r->cc != CURLE_OK ? transient_cc(r->cc) : (r->status >= 500 || r->status == 429);
		if (!transient || attempt + 1 >= c->opt.tries)
			return;
		res->retries++;
		sleep_ms(pause);
		pause = pause * 2 > c->opt.backoff_max_ms ? c->opt.backoff_max_ms : pause * 2;
	}
}

/* ---- answers --------------------------------------------------------- */

static bool media_is(const char *ctype, const char *media)
{
	size_t n = strlen(media);
	return strncasecmp(ctype, media, n) == 0 && (ctype[n] == '\0' || ctype[n] == ';' || ctype[n] == ' ');
}

static const struct {
	const char *token;
	enum fed_dap_error e;
} problem_types[] = {
	{FED_DAP_ERR_INVALID_MESSAGE, FED_DAP_E_INVALID_MESSAGE},
	{FED_DAP_ERR_UNRECOGNIZED_TASK, FED_DAP_E_UNRECOGNIZED_TASK},
	{FED_DAP_ERR_OUTDATED_CONFIG, FED_DAP_E_OUTDATED_CONFIG},
	{FED_DAP_ERR_REPORT_REJECTED, FED_DAP_E_REPORT_REJECTED},
	{FED_DAP_ERR_REPORT_TOO_EARLY, FED_DAP_E_REPORT_TOO_EARLY},
	{FED_DAP_ERR_UNAUTHORIZED_REQUEST, FED_DAP_E_UNAUTHORIZED},
	{FED_DAP_ERR_MISSING_TASK_ID, FED_DAP_E_MISSING_TASK_ID},
};

/* Maps a failed response (transport error, status, problem document) into
 * @res; @who names the peer in the message ("leader", "aggregator"). */
static void classify_failure(const struct http_resp *r, const char *who, struct fed_dap_result *res)
{
	if (r->cc != CURLE_OK) {
		res->error = FED_DAP_E_TRANSPORT;
		util_errf(res->message, "%s: %s after %u request(s)", who, curl_easy_strerror(r->cc), res->requests);
		return;
	}
	res->error = r->status >= 500 || r->status == 429 ? FED_DAP_E_SERVER : FED_DAP_E_HTTP;
	cJSON *doc = media_is(r->ctype, "application/problem+json") ? util_json_parse(r->body.data, r->body.len)
								      : NULL;
	const char *type = doc ? util_json_str(doc, "type", NULL) : NULL;
	if (type) {
		/* Kept for messages: printable ASCII only, truncated. */
		size_t i = 0;
		for (; type[i] && i + 1 < sizeof res->type; i++)
			res->type[i] = type[i] >= 0x20 && type[i] < 0x7f ? type[i] : '?';
		res->type[i] = '\0';
		size_t pl = sizeof FED_DAP_ERROR_PREFIX - 1;
		if (strncmp(type, FED_DAP_ERROR_PREFIX, pl) == 0) {
			res->error = FED_DAP_E_OTHER_PROBLEM;
			for (size_t k = 0; k < sizeof problem_types / sizeof *problem_types; k++)
				if (strcmp(type + pl, problem_types[k].token) == 0)
					res->error = problem_types[k].e;
		}
	}
	cJSON_Delete(doc);
	util_errf(res->message, "%s answered HTTP %ld%s%s", who, r->status, res->type[0] ? ": " : "", res->type);
}

static enum lv_status status_of(enum fed_dap_error e, long http)
{
	switch (e) {
	case FED_DAP_E_NONE: return LV_OK;
	case FED_DAP_E_TRANSPORT: return LV_ERR_IO;
	case FED_DAP_E_SERVER: return LV_ERR_BUSY;
	case FED_DAP_E_UNRECOGNIZED_TASK: return LV_ERR_NOT_FOUND;
	case FED_DAP_E_UNAUTHORIZED: return LV_ERR_UNAUTHORIZED;
	case FED_DAP_E_REPORT_TOO_EARLY: return LV_ERR_PRECONDITION;
	case FED_DAP_E_NO_SUITE: return LV_ERR_UNSUPPORTED;
	case FED_DAP_E_HTTP: return http == 401 || http == 403 ? LV_ERR_UNAUTHORIZED : LV_ERR_INVALID;
	default: return LV_ERR_INVALID;
	}
}

/* ---- HPKE configurations --------------------------------------------- */

static struct cache_entry *cache_find(struct fed_dap_client *c, const char *ep, const uint8_t *task_id)
{
	for (size_t i = 0; i < c->cache.n; i++)
		if (strcmp(c->cache.v[i].endpoint, ep) == 0 &&
		    memcmp(c->cache.v[i].task_id, task_id, FED_DAP_TASK_ID_LEN) == 0)
			return &c->cache.v[i];
	return NULL;
}

/* Stores a config, replacing the entry for the same key or, when full,
 * the one that expires first. */
static enum lv_status cache_put(struct fed_dap_client *c, const char *ep, const uint8_t *task_id,
				const struct fed_hpke_config *cfg, uint64_t max_age)
{
	struct cache_entry *e = cache_find(c, ep, task_id);
	if (!e && c->cache.n == MAX_CACHE) {
		e = &c->cache.v[0];
		for (size_t i = 1; i < c->cache.n; i++)
			if (c->cache.v[i].expires < e->expires)
				e = &c->cache.v[i];
	}
	if (!e) {
		if (util_array_room(&c->cache, MAX_CACHE) != LV_OK)
			return LV_ERR_NOMEM;
		e = &c->cache.v[c->cache.n++];
		e->endpoint = NULL;
	}
	char *dup = strdup(ep);
	if (!dup)
		return LV_ERR_NOMEM;
	free(e->endpoint);
	e->endpoint = dup;
	memcpy(e->task_id, task_id, FED_DAP_TASK_ID_LEN);
	e->config_id = cfg->id;
	memcpy(e->pk, cfg->public_key, FED_HPKE_NPK);
	e->expires = util_mono_s() + (double)max_age;
	return LV_OK;
}

/* GET {ep}/hpke_config?task_id=..., decode, select, cache. */
static enum lv_status fetch_config(struct fed_dap_client *c, const char *ep, const uint8_t *task_id,
				   struct cache_entry **out, struct fed_dap_result *res)
{
	char b64[FED_DAP_TASK_ID_B64_LEN];
	struct buf url;
	struct http_resp r = {0};
	struct curl_slist *hdrs = NULL;
	struct fed_hpke_config_list *list = NULL;
	const struct fed_hpke_config *cfg;
	enum lv_status st;
	buf_init(&url, MAX_ENDPOINT + 128);
	buf_init(&r.body, MAX_BODY);
	fed_dap_task_id_b64(task_id, b64);
	st = buf_printf(&url, "%s/%s%s", ep, FED_DAP_PATH_HPKE_CONFIG, b64);
	if (st != LV_OK)
		goto out;
	if (!(hdrs = curl_slist_append(NULL, "Accept: " FED_DAP_MEDIA_HPKE_CONFIG_LIST))) {
		st = LV_ERR_NOMEM;
		goto out;
	}
	http_request(c, "GET", url.data, hdrs, NULL, &r, res);
	if (r.cc != CURLE_OK || r.status != 200) {
		if (r.cc == CURLE_WRITE_ERROR) { /* body over the cap */
			res->error = FED_DAP_E_BAD_RESPONSE;
			util_errf(res->message, "aggregator's hpke_config answer exceeds %u bytes", MAX_BODY);
		} else {
			classify_failure(&r, "aggregator (hpke_config)", res);
		}
		st = status_of(res->error, r.status);
		goto out;
	}
	st = media_is(r.ctype, FED_DAP_MEDIA_HPKE_CONFIG_LIST)
		     ? fed_dap_hpke_config_list_decode((const uint8_t *)r.body.data, r.body.len, &list)
		     : LV_ERR_INVALID;
	if (st != LV_OK) {
		res->error = FED_DAP_E_BAD_RESPONSE;
		util_errf(res->message, "aggregator's hpke_config answer is not a valid %s",
			  FED_DAP_MEDIA_HPKE_CONFIG_LIST);
		st = LV_ERR_INVALID;
		goto out;
	}
	if ((st = fed_dap_hpke_config_select(list, &cfg)) != LV_OK) {
		res->error = FED_DAP_E_NO_SUITE;
		util_errf(res->message, "aggregator offers no HPKE config with X25519/HKDF-SHA256/AES-128-GCM");
		goto out;
	}
	st = cache_put(c, ep, task_id, cfg, r.has_max_age ? r.max_age : c->opt.default_max_age_s);
	if (st == LV_OK)
		*out = cache_find(c, ep, task_id);
out:
	fed_dap_hpke_config_list_free(list);
	curl_slist_free_all(hdrs);
	buf_free(&r.body);
	buf_free(&url);
	return st;
}

/* The fresh cached config for (@ep, @task_id), fetching when needed. */
static enum lv_status get_config(struct fed_dap_client *c, const char *ep, const uint8_t *task_id,
				 struct cache_entry *copy, struct fed_dap_result *res)
{
	struct cache_entry *e = cache_find(c, ep, task_id);
	enum lv_status st = LV_OK;
	if (!e || util_mono_s() >= e->expires)
		st = fetch_config(c, ep, task_id, &e, res);
	if (st == LV_OK)
		*copy = *e; /* by value: a later cache_put may move the array */
	return st;
}

enum lv_status fed_dap_client_hpke_config(struct fed_dap_client *c, const char *endpoint,
					  const uint8_t task_id[FED_DAP_TASK_ID_LEN], uint8_t *config_id,
					  uint8_t pk[FED_HPKE_NPK], struct fed_dap_result *res)
{
	struct fed_dap_result local;
	struct cache_entry e;
	struct buf ep;
	if (!res)
		res = &local;
	res_clear(res);
	*config_id = 0;
	memset(pk, 0, FED_HPKE_NPK);
	buf_init(&ep, MAX_ENDPOINT);
	enum lv_status st = endpoint_normalize(endpoint, &ep);
	if (st != LV_OK)
		util_errf(res->message, "aggregator endpoint is not an http(s) URL");
	else
		st = get_config(c, ep.data, task_id, &e, res);
	if (st == LV_OK) {
		*config_id = e.config_id;
		memcpy(pk, e.pk, FED_HPKE_NPK);
	}
	buf_free(&ep);
	return st;
}

/* ---- upload ---------------------------------------------------------- */

/* Both configs (fetched if needed), then the encoded report. */
static enum lv_status build_report(struct fed_dap_client *c, const struct fed_dap_upload *u, const char *leader,
				   const char *helper, struct buf *report, struct fed_dap_result *res)
{
	struct cache_entry le, he;
	enum lv_status st = get_config(c, leader, u->task_id, &le, res);
	if (st == LV_OK)
		st = get_config(c, helper, u->task_id, &he, res);
	if (st != LV_OK)
		return st;
	const struct fed_hpke_config lc = {le.config_id, FED_HPKE_KEM_X25519_SHA256, FED_HPKE_KDF_HKDF_SHA256,
					   FED_HPKE_AEAD_AES128GCM, le.pk, FED_HPKE_NPK};
	const struct fed_hpke_config hc = {he.config_id, FED_HPKE_KEM_X25519_SHA256, FED_HPKE_KDF_HKDF_SHA256,
					   FED_HPKE_AEAD_AES128GCM, he.pk, FED_HPKE_NPK};
	const struct fed_dap_report_input in = {
		u->task_id, u->report_id, u->time, u->public_share, u->public_share_len, u->leader_share,
		u->leader_share_len, u->helper_share, u->helper_share_len, &lc, &hc};
	st = fed_dap_report_build(&in, report);
	if (st != LV_OK)
		util_errf(res->message, "cannot build the report: %s", lv_status_str(st));
	return st;
}

/* The headers of the upload; the token ones only when configured. */
static enum lv_status upload_headers(const struct fed_dap_client *c, struct curl_slist **out)
{
	struct curl_slist *l = NULL, *t;
	const char *fixed[] = {"Content-Type: " FED_DAP_MEDIA_REPORT, "Expect:"};
	*out = NULL;
	for (size_t i = 0; i < 2; i++) {
		if (!(t = curl_slist_append(l, fixed[i])))
			goto nomem;
		l = t;
	}
	if (c->token) {
		const char *names[] = {"Authorization: Bearer ", "DAP-Auth-Token: "};
		for (size_t i = 0; i < 2; i++) {
			size_t n = strlen(names[i]) + strlen(c->token) + 1;
			char *line = sodium_malloc(n);
			if (!line)
				goto nomem;
			snprintf(line, n, "%s%s", names[i], c->token);
			t = curl_slist_append(l, line); /* libcurl keeps its own copy */
			sodium_free(line);
			if (!t)
				goto nomem;
			l = t;
		}
	}
	*out = l;
	return LV_OK;
nomem:
	curl_slist_free_all(l);
	return LV_ERR_NOMEM;
}

/* One build-and-PUT; *@outdated says the Leader answered outdatedConfig. */
static enum lv_status upload_once(struct fed_dap_client *c, const struct fed_dap_upload *u, const char *leader,
				  const char *helper, struct curl_slist *hdrs, struct fed_dap_result *res)
{
	char b64[FED_DAP_TASK_ID_B64_LEN];
	struct buf report, url;
	struct http_resp r = {0};
	buf_init(&report, FED_DAP_MAX_REPORT);
	buf_init(&url, MAX_ENDPOINT + 128);
	buf_init(&r.body, MAX_BODY);
	fed_dap_task_id_b64(u->task_id, b64);
	enum lv_status st = build_report(c, u, leader, helper, &report, res);
	if (st == LV_OK)
		st = buf_printf(&url, "%s/%s%s%s", leader, FED_DAP_PATH_TASKS, b64, FED_DAP_PATH_REPORTS);
	if (st != LV_OK)
		goto out;
	http_request(c, FED_DAP_UPLOAD_METHOD, url.data, hdrs, &report, &r, res);
	if (r.cc == CURLE_OK && r.status >= 200 && r.status < 300) {
		res->error = FED_DAP_E_NONE;
		res->message[0] = '\0';
		goto out;
	}
	classify_failure(&r, "leader (upload)", res);
	st = status_of(res->error, r.status);
out:
	buf_free(&r.body);
	buf_free(&url);
	buf_free(&report);
	return st;
}

enum lv_status fed_dap_client_upload(struct fed_dap_client *c, const struct fed_dap_upload *u,
				     struct fed_dap_result *res)
{
	struct fed_dap_result local;
	struct buf leader, helper;
	struct curl_slist *hdrs = NULL;
	if (!res)
		res = &local;
	res_clear(res);
	buf_init(&leader, MAX_ENDPOINT);
	buf_init(&helper, MAX_ENDPOINT);
	enum lv_status st = endpoint_normalize(u->leader, &leader);
	if (st == LV_OK)
		st = endpoint_normalize(u->helper, &helper);
	if (st != LV_OK) {
		util_errf(res->message, "leader or helper endpoint is not an http(s) URL");
		goto out;
	}
	if ((st = upload_headers(c, &hdrs)) != LV_OK)
		goto out;
	st = upload_once(c, u, leader.data, helper.data, hdrs, res);
	if (res->error == FED_DAP_E_OUTDATED_CONFIG) {
		/* DAP-09 §4.4.2: drop the cached configs, retry once. */
		fed_dap_client_forget_configs(c);
		res->config_refetched = true;
		res->type[0] = '\0';
		st = upload_once(c, u, leader.data, helper.data, hdrs, res);
	}
out:
	curl_slist_free_all(hdrs);
	buf_free(&helper);
	buf_free(&leader);
	return st;
}
