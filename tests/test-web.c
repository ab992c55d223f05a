/* The web door over loopback HTTP against the real server: the embedded
 * static files (ETag, 304, HEAD), the security headers on every kind of
 * response, browser sessions (login per role, cookie flags, cookie
 * authentication with the same statuses as Bearer, CSRF, logout, idle and
 * absolute expiry, revocation), and that Bearer and Basic are unchanged.
 * Plus the session store itself (cap and eviction) without HTTP.  Each
 * test runs in its own process (CK_FORK) on a fresh node. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <sodium.h>

#include "harness.h"
#include "http/http.h"
#include "http/session.h"
#include "learnvault/consent.h"
#include "learnvault/node.h"
#include "learnvault/server.h"
#include "learnvault/util.h"

#define CSP "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " \
	    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
#define POLICY "course-improvement"
#define GRANT "{\"policy\":\"" POLICY "\"}"
#define COUNT_QUERY "{\"purpose\":\"" POLICY "\",\"metric\":\"count\",\"epsilon\":0.5}"
#define MIN_MS 60000LL
#define HOUR_MS 3600000LL

enum role { LEARNER, GUARDIAN, ANALYST, AUDITOR, ADMIN, NROLES };
static const enum lv_role LV_ROLES[NROLES] = {LV_ROLE_LEARNER, LV_ROLE_GUARDIAN, LV_ROLE_ANALYST,
					      LV_ROLE_AUDITOR, LV_ROLE_ADMIN};
static const char *const ROLE_NAME[NROLES] = {"learner", "guardian", "analyst", "auditor", "admin"};

static struct {
	char base[512];
	char dir[600];
	struct lv_node *node;
	struct lv_server *srv;
	CURL *curl;
	char learner[LV_PSEUDONYM_LEN];    /* an adult: decides on consent herself */
	char tok[NROLES][160];             /* "<id>.<secret>" */
	char cred[NROLES][LV_CRED_ID_LEN];
	char prov_key[LV_CRED_ID_LEN];
	char *prov_secret;
} F;

/* ---- a small client: any header out, every header back ---- */

struct wreq {
	const char *method;        /* default GET, POST with a body */
	const char *path;
	const char *body;
	const char *cookie;        /* lv_session value */
	const char *csrf;          /* X-CSRF-Token */
	const char *bearer;
	const char *user, *pass;   /* Basic */
	const char *if_none_match;
	bool xapi;                 /* send X-Experience-API-Version */
	const char *content_type;
};

struct wresp {
	long status;
	char *body;
	size_t len;
	char *headers;             /* every header line of the reply, as received */
	size_t hlen;
};

static size_t append(char **buf, size_t *len, const char *p, size_t n)
{
	char *nb = realloc(*buf, *len + n + 1);
	ck_assert_ptr_nonnull(nb);
	memcpy(nb + *len, p, n);
	*len += n;
	nb[*len] = '\0';
	*buf = nb;
	return n;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct wresp *r = ud;
	return append(&r->body, &r->len, p, size * n);
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	struct wresp *r = ud;
	return append(&r->headers, &r->hlen, p, size * n);
}

static void wresp_free(struct wresp *r)
{
	free(r->body);
	free(r->headers);
	memset(r, 0, sizeof *r);
}

static long wdo(const struct wreq *q, struct wresp *out)
{
	char url[1024], h[512];
	struct curl_slist *hl = NULL;
	memset(out, 0, sizeof *out);
	out->body = calloc(1, 1);
	out->headers = calloc(1, 1);
	curl_easy_reset(F.curl);
	snprintf(url, sizeof url, "http://127.0.0.1:%u%s", (unsigned)lv_server_port(F.srv), q->path);
	curl_easy_setopt(F.curl, CURLOPT_URL, url);
	curl_easy_setopt(F.curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(F.curl, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(F.curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(F.curl, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(F.curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(F.curl, CURLOPT_HEADERDATA, out);
	const char *method = q->method ? q->method : q->body ? "POST" : "GET";
	if (q->body) {
		curl_easy_setopt(F.curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(q->body));
		curl_easy_setopt(F.curl, CURLOPT_POSTFIELDS, q->body);
		snprintf(h, sizeof h, "Content-Type: %s", q->content_type ? q->content_type : "application/json");
		hl = curl_slist_append(hl, h);
	}
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(F.curl, CURLOPT_NOBODY, 1L);
	else if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
		curl_easy_setopt(F.curl, CURLOPT_CUSTOMREQUEST, method);
	hl = curl_slist_append(hl, "Expect:");
	if (q->xapi)
		hl = curl_slist_append(hl, "X-Experience-API-Version: 1.0.3");
	if (q->cookie) {
		snprintf(h, sizeof h, "lv_session=%s", q->cookie);
		curl_easy_setopt(F.curl, CURLOPT_COOKIE, h);
	}
	if (q->csrf) {
		snprintf(h, sizeof h, "X-CSRF-Token: %s", q->csrf);
		hl = curl_slist_append(hl, h);
	}
	if (q->bearer) {
		snprintf(h, sizeof h, "Authorization: Bearer %s", q->bearer);
		hl = curl_slist_append(hl, h);
	}
	if (q->user) {
		curl_easy_setopt(F.curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(F.curl, CURLOPT_USERNAME, q->user);
		curl_easy_setopt(F.curl, CURLOPT_PASSWORD, q->pass);
	}
	if (q->if_none_match) {
		snprintf(h, sizeof h, "If-None-Match: %s", q->if_none_match);
		hl = curl_slist_append(hl, h);
	}
	curl_easy_setopt(F.curl, CURLOPT_HTTPHEADER, hl);
	CURLcode rc = curl_easy_perform(F.curl);
	ck_assert_msg(rc == CURLE_OK, "%s %s: %s", method, q->path, curl_easy_strerror(rc));
	curl_easy_getinfo(F.curl, CURLINFO_RESPONSE_CODE, &out->status);
	curl_slist_free_all(hl);
	return out->status;
}

/* Header @name's value in @r (the first one), "" when absent.  Static
 * storage: valid until the next call. */
static const char *hdr(const struct wresp *r, const char *name)
{
	static char v[1024];
	size_t nl = strlen(name);
	v[0] = '\0';
	for (const char *l = r->headers; l && *l;) {
		const char *eol = strchr(l, '\n');
		size_t n = eol ? (size_t)(eol - l) : strlen(l);
		if (n > nl && strncasecmp(l, name, nl) == 0 && l[nl] == ':') {
			const char *s = l + nl + 1;
			while (*s == ' ')
				s++;
			size_t k = (size_t)(l + n - s);
			while (k && (s[k - 1] == '\r' || s[k - 1] == ' '))
				k--;
			if (k >= sizeof v)
				k = sizeof v - 1;
			memcpy(v, s, k);
			v[k] = '\0';
			return v;
		}
		l = eol ? eol + 1 : l + n;
	}
	return v;
}

static cJSON *json_of(const struct wresp *r)
{
	cJSON *j = cJSON_Parse(r->body);
	ck_assert_msg(j != NULL, "not JSON: %s", r->body);
	return j;
}

static const char *jstr(const cJSON *o, const char *name)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, name));
}

/* The four headers of the contract, exactly. */
static void assert_security_headers(const struct wresp *r, const char *what)
{
	ck_assert_msg(strcmp(hdr(r, "Content-Security-Policy"), CSP) == 0, "%s: CSP '%s'", what,
		      hdr(r, "Content-Security-Policy"));
	ck_assert_msg(strcmp(hdr(r, "X-Content-Type-Options"), "nosniff") == 0, "%s: nosniff", what);
	ck_assert_msg(strcmp(hdr(r, "Referrer-Policy"), "no-referrer") == 0, "%s: Referrer-Policy", what);
	ck_assert_msg(strcmp(hdr(r, "X-Frame-Options"), "DENY") == 0, "%s: X-Frame-Options", what);
}

static void assert_error(const struct wresp *r, long status, const char *code)
{
	ck_assert_msg(r->status == status, "expected %ld, got %ld: %s", status, r->status, r->body);
	cJSON *j = json_of(r);
	ck_assert_str_eq(jstr(j, "error"), code);
	ck_assert_ptr_nonnull(jstr(j, "message"));
	cJSON_Delete(j);
}

/* ---- fixture ---- */

static void start_server(bool secure)
{
	struct lv_server_options so = {.host = "127.0.0.1", .port = 0, .threads = 2, .secure_cookies = secure};
	ck_assert_int_eq(lv_server_start(F.node, &so, &F.srv), LV_OK);
}

static void setup(void)
{
	char *vkey = NULL;
	snprintf(F.base, sizeof F.base, "%s", th_tmpdir());
	snprintf(F.dir, sizeof F.dir, "%s/node", F.base);
	ck_assert_int_eq(lv_node_init(F.dir, NULL, NULL, &vkey), LV_OK);
	free(vkey);
	ck_assert_int_eq(lv_node_open(F.dir, NULL, NULL, &F.node), LV_OK);
	char *text = NULL, err[LV_POLICY_ERR_LEN], pid[LV_POLICY_ID_MAX + 1];
	size_t len = 0;
	uint32_t version;
	bool added, created;
	ck_assert_int_eq(util_read_file(th_src("policies/course-improvement.json"), 65536, &text, &len), LV_OK);
	ck_assert_int_eq(lv_policy_load(F.node, text, len, &added, pid, &version, err), LV_OK);
	free(text);
	ck_assert_int_eq(lv_learner_enrol(F.node, "{\"mbox\":\"mailto:alice@example.com\"}", F.learner, &created),
			 LV_OK);
	ck_assert_int_eq(lv_learner_set_birth_date(F.node, F.learner, "1990-01-01"), LV_OK);
	for (int i = 0; i < NROLES; i++) {
		char *secret = NULL;
		const char *purposes[] = {POLICY};
		bool bound = LV_ROLES[i] == LV_ROLE_LEARNER || LV_ROLES[i] == LV_ROLE_GUARDIAN;
		bool an = LV_ROLES[i] == LV_ROLE_ANALYST;
		ck_assert_int_eq(lv_credential_add(F.node, LV_ROLES[i], bound ? F.learner : NULL, an ? purposes : NULL,
						   an ? 1 : 0, NULL, F.cred[i], &secret), LV_OK);
		snprintf(F.tok[i], sizeof F.tok[i], "%s.%s", F.cred[i], secret);
		sodium_free(secret);
	}
	ck_assert_int_eq(lv_credential_add(F.node, LV_ROLE_PROVIDER, NULL, NULL, 0, "LMS", F.prov_key, &F.prov_secret),
			 LV_OK);
	ck_assert_int_eq(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
	F.curl = curl_easy_init();
	ck_assert_ptr_nonnull(F.curl);
	start_server(false);
}

static void teardown(void)
{
	curl_easy_cleanup(F.curl);
	curl_global_cleanup();
	lv_server_destroy(F.srv);
	lv_node_close(F.node);
	if (F.prov_secret)
		sodium_free(F.prov_secret);
	th_rmtree(F.base);
	memset(&F, 0, sizeof F);
}

/* Logs in with @token; asserts 200 and fills @cookie (the lv_session value)
 * and @csrf.  Returns the reply's JSON (caller deletes). */
static cJSON *login(const char *token, char cookie[SESSION_ID_LEN], char csrf[SESSION_CSRF_LEN])
{
	char body[256];
	snprintf(body, sizeof body, "{\"token\":\"%s\"}", token);
	struct wresp r;
	wdo(&(struct wreq){.path = "/session", .body = body}, &r);
	ck_assert_msg(r.status == 200, "login: %ld %s", r.status, r.body);
	const char *sc = hdr(&r, "Set-Cookie");
	ck_assert_msg(strncmp(sc, "lv_session=", 11) == 0, "Set-Cookie '%s'", sc);
	size_t n = strcspn(sc + 11, ";");
	ck_assert_uint_eq(n, SESSION_ID_LEN - 1);
	memcpy(cookie, sc + 11, n);
	cookie[n] = '\0';
	cJSON *j = json_of(&r);
	ck_assert_ptr_nonnull(jstr(j, "csrf"));
	ck_assert_uint_eq(strlen(jstr(j, "csrf")), SESSION_CSRF_LEN - 1);
	memcpy(csrf, jstr(j, "csrf"), SESSION_CSRF_LEN);
	wresp_free(&r);
	return j;
}

static long get_with_cookie(const char *cookie, const char *path)
{
	struct wresp r;
	long s = wdo(&(struct wreq){.path = path, .cookie = cookie}, &r);
	wresp_free(&r);
	return s;
}

/* ---- static files ---- */

START_TEST(static_index)
{
	char *want = NULL;
	size_t wlen = 0;
	ck_assert_int_eq(util_read_file(th_src("src/web/index.html"), 1 << 20, &want, &wlen), LV_OK);
	struct wresp r, h;
	wdo(&(struct wreq){.path = "/"}, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(hdr(&r, "Content-Type"), "text/html; charset=utf-8");
	ck_assert_str_eq(hdr(&r, "Cache-Control"), "no-cache");
	ck_assert_uint_eq(r.len, wlen);
	ck_assert(memcmp(r.body, want, wlen) == 0);
	char etag[128];
	snprintf(etag, sizeof etag, "%s", hdr(&r, "ETag"));
	ck_assert_msg(strlen(etag) == 34 && etag[0] == '"' && etag[33] == '"', "ETag %s", etag);
	/* The same file under its own name, same tag. */
	wdo(&(struct wreq){.path = "/index.html"}, &h);
	ck_assert_int_eq(h.status, 200);
	ck_assert_str_eq(hdr(&h, "ETag"), etag);
	wresp_free(&h);
	/* HEAD: the headers, no body. */
	wdo(&(struct wreq){.method = "HEAD", .path = "/"}, &h);
	ck_assert_int_eq(h.status, 200);
	ck_assert_uint_eq(h.len, 0);
	ck_assert_str_eq(hdr(&h, "ETag"), etag);
	ck_assert_str_eq(hdr(&h, "Content-Type"), "text/html; charset=utf-8");
	char cl[32];
	snprintf(cl, sizeof cl, "%zu", wlen);
	ck_assert_str_eq(hdr(&h, "Content-Length"), cl);
	wresp_free(&h);
	/* Revalidation: a matching tag (strong, weak, in a list, or *) is 304
	 * with no body; another tag gets the file. */
	char weak[160], list[200];
	snprintf(weak, sizeof weak, "W/%s", etag);
	snprintf(list, sizeof list, "\"0123\", %s", etag);
	const char *match[] = {etag, weak, list, "*"};
	for (int i = 0; i < 4; i++) {
		wdo(&(struct wreq){.path = "/", .if_none_match = match[i]}, &h);
		ck_assert_msg(h.status == 304, "If-None-Match %s: %ld", match[i], h.status);
		ck_assert_uint_eq(h.len, 0);
		ck_assert_str_eq(hdr(&h, "ETag"), etag);
		assert_security_headers(&h, "304");
		wresp_free(&h);
	}
	wdo(&(struct wreq){.path = "/", .if_none_match = "\"0123456789abcdef0123456789abcdef\""}, &h);
	ck_assert_int_eq(h.status, 200);
	ck_assert_uint_eq(h.len, wlen);
	wresp_free(&h);
	/* Unknown paths stay JSON 404s; a static file takes no POST. */
	wdo(&(struct wreq){.path = "/no-such-page.html"}, &h);
	assert_error(&h, 404, "not_found");
	wresp_free(&h);
	wdo(&(struct wreq){.path = "/", .body = "x"}, &h);
	assert_error(&h, 405, "method_not_allowed");
	wresp_free(&h);
	wresp_free(&r);
	free(want);
}
END_TEST

/* Every embedded file is served under its path with its type and bytes,
 * whatever the other pages' authors add. */
START_TEST(static_every_asset)
{
	ck_assert_uint_ge(web_assets_count, 1);
	for (size_t i = 0; i < web_assets_count; i++) {
		const struct web_asset *a = &web_assets[i];
		struct wresp r;
		wdo(&(struct wreq){.path = a->path}, &r);
		ck_assert_msg(r.status == 200, "%s: %ld", a->path, r.status);
		ck_assert_str_eq(hdr(&r, "Content-Type"), a->content_type);
		ck_assert_str_eq(hdr(&r, "ETag"), a->etag);
		ck_assert_uint_eq(r.len, a->len);
		ck_assert(memcmp(r.body, a->data, a->len) == 0);
		/* The bytes are the file's in src/web. */
		char rel[600], *file = NULL;
		size_t flen = 0;
		snprintf(rel, sizeof rel, "src/web%s", a->path);
		ck_assert_int_eq(util_read_file(th_src(rel), 64 << 20, &file, &flen), LV_OK);
		ck_assert_uint_eq(flen, a->len);
		ck_assert(memcmp(file, a->data, flen) == 0);
		free(file);
		wresp_free(&r);
	}
	ck_assert_ptr_null(web_assets[web_assets_count].path);
	ck_assert_ptr_null(static_find("/embed.py"));
	ck_assert_ptr_null(static_find("/README.md"));
	ck_assert_ptr_eq(static_find("/"), static_find("/index.html"));
}
END_TEST

/* ---- security headers ---- */

START_TEST(security_headers_everywhere)
{
	char cookie[SESSION_ID_LEN], csrf[SESSION_CSRF_LEN];
	cJSON_Delete(login(F.tok[LEARNER], cookie, csrf));
	char etag[128];
	struct wresp r;
	wdo(&(struct wreq){.path = "/"}, &r);
	snprintf(etag, sizeof etag, "%s", hdr(&r, "ETag"));
	wresp_free(&r);
	const struct wreq reqs[] = {
		{.path = "/"},
		{.method = "HEAD", .path = "/"},
		{.path = "/", .if_none_match = etag},
		{.path = "/health"},
		{.path = "/nope"},
		{.path = "/policies"},
		{.path = "/xapi/about", .xapi = true},
		{.path = "/xapi/statements", .xapi = true},                                  /* 401 */
		{.path = "/xapi/statements", .xapi = true, .user = F.prov_key, .pass = F.prov_secret},
		{.path = "/learner/consents", .bearer = F.tok[LEARNER]},
		{.path = "/learner/consents", .cookie = cookie},
		{.path = "/learner/consents", .cookie = cookie, .body = GRANT},              /* 403 csrf */
		{.path = "/audit/checkpoint", .bearer = F.tok[LEARNER]},                     /* 403 */
		{.path = "/session", .body = "{\"token\":\"x.y\"}"},                         /* 401 */
		{.path = "/session", .cookie = cookie},
	};
	for (size_t i = 0; i < sizeof reqs / sizeof reqs[0]; i++) {
		wdo(&reqs[i], &r);
		char what[128];
		snprintf(what, sizeof what, "%s %s -> %ld", reqs[i].method ? reqs[i].method : "GET/POST",
			 reqs[i].path, r.status);
		assert_security_headers(&r, what);
		wresp_free(&r);
	}
}
END_TEST

/* ---- sessions ---- */

/* Every role that may log in gets a session with the right view and cookie
 * flags; the token shows nowhere in the reply. */
START_TEST(session_login_roles)
{
	char cookies[NROLES][SESSION_ID_LEN];
	for (int i = 0; i < NROLES; i++) {
		char body[256], csrf[SESSION_CSRF_LEN];
		snprintf(body, sizeof body, "{\"token\":\"%s\"}", F.tok[i]);
		struct wresp r;
		wdo(&(struct wreq){.path = "/session", .body = body}, &r);
		ck_assert_msg(r.status == 200, "%s: %ld %s", ROLE_NAME[i], r.status, r.body);
		const char *sc = hdr(&r, "Set-Cookie");
		ck_assert_msg(strstr(sc, "; Path=/") && strstr(sc, "; HttpOnly") && strstr(sc, "; SameSite=Strict") &&
			      !strstr(sc, "Secure") && !strstr(sc, "Max-Age"), "%s: Set-Cookie %s", ROLE_NAME[i], sc);
		size_t n = strcspn(sc + 11, ";");
		ck_assert_uint_eq(n, 43);
		for (size_t k = 0; k < n; k++)
			ck_assert(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", sc[11 + k]));
		memcpy(cookies[i], sc + 11, n);
		cookies[i][n] = '\0';
		const char *secret = strchr(F.tok[i], '.') + 1;
		ck_assert_ptr_null(strstr(r.body, secret));
		ck_assert_ptr_null(strstr(r.headers, secret));
		cJSON *j = json_of(&r);
		ck_assert_str_eq(jstr(j, "role"), ROLE_NAME[i]);
		bool bound = i == LEARNER || i == GUARDIAN;
		if (bound)
			ck_assert_str_eq(jstr(j, "learner"), F.learner);
		else
			ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(j, "learner"));
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(j, "purposes");
		if (i == ANALYST) {
			ck_assert_int_eq(cJSON_GetArraySize(p), 1);
			ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetArrayItem(p, 0)), POLICY);
		} else {
			ck_assert_ptr_null(p);
		}
		ck_assert_ptr_nonnull(jstr(j, "idle_expires"));
		ck_assert_ptr_nonnull(jstr(j, "expires"));
		ck_assert_int_lt(strcmp(jstr(j, "idle_expires"), jstr(j, "expires")), 0);
		snprintf(csrf, sizeof csrf, "%s", jstr(j, "csrf"));
		ck_assert_str_ne(csrf, cookies[i]);
		cJSON_Delete(j);
		wresp_free(&r);
		/* GET /session: the same view, the session's own CSRF token. */
		wdo(&(struct wreq){.path = "/session", .cookie = cookies[i]}, &r);
		ck_assert_int_eq(r.status, 200);
		j = json_of(&r);
		ck_assert_str_eq(jstr(j, "role"), ROLE_NAME[i]);
		ck_assert_str_eq(jstr(j, "csrf"), csrf);
		ck_assert_ptr_null(strstr(r.body, secret));
		cJSON_Delete(j);
		wresp_free(&r);
		for (int k = 0; k < i; k++)
			ck_assert_str_ne(cookies[k], cookies[i]);
	}
	ck_assert_uint_eq(session_count(F.srv->sessions), NROLES);
}
END_TEST

START_TEST(session_login_refused)
{
	struct wresp r;
	char body[256];
	/* A provider's key and secret as a token: a real credential, refused. */
	snprintf(body, sizeof body, "{\"token\":\"%s.%s\"}", F.prov_key, F.prov_secret);
	wdo(&(struct wreq){.path = "/session", .body = body}, &r);
	assert_error(&r, 403, "forbidden");
	ck_assert_str_eq(hdr(&r, "Set-Cookie"), "");
	ck_assert_ptr_null(strstr(r.body, F.prov_secret));
	wresp_free(&r);
	/* A wrong secret, an unknown id, no dot: 401, nothing set, and the
	 * challenge a browser does not answer with its own login box. */
	char wrong[160];
	snprintf(wrong, sizeof wrong, "%s", F.tok[LEARNER]);
	wrong[strlen(wrong) - 1] = wrong[strlen(wrong) - 1] == 'A' ? 'B' : 'A';
	const char *bad[] = {wrong, "AAAAAAAAAAAAAAAAAAAAAAAA.secret", "nodot", ""};
	for (int i = 0; i < 4; i++) {
		snprintf(body, sizeof body, "{\"token\":\"%s\"}", bad[i]);
		wdo(&(struct wreq){.path = "/session", .body = body}, &r);
		assert_error(&r, 401, "unauthorized");
		ck_assert_str_eq(hdr(&r, "Set-Cookie"), "");
		ck_assert_str_eq(hdr(&r, "WWW-Authenticate"), "Bearer");
		if (bad[i][0])
			ck_assert_ptr_null(strstr(r.body, bad[i]));
		wresp_free(&r);
	}
	/* Not the expected body: 400; no session for a Bearer header either. */
	const char *malformed[] = {"{}", "{\"token\":1}", "[]", "{\"token\":\"a.b\",\"x\":1}", "not json"};
	for (int i = 0; i < 5; i++) {
		wdo(&(struct wreq){.path = "/session", .body = malformed[i]}, &r);
		assert_error(&r, 400, "invalid");
		ck_assert_str_eq(hdr(&r, "Set-Cookie"), "");
		wresp_free(&r);
	}
	wdo(&(struct wreq){.path = "/session", .bearer = F.tok[LEARNER]}, &r);
	assert_error(&r, 401, "unauthorized");
	wresp_free(&r);
	ck_assert_uint_eq(session_count(F.srv->sessions), 0);
}
END_TEST

START_TEST(session_secure_cookies)
{
	lv_server_destroy(F.srv);
	start_server(true);
	char cookie[SESSION_ID_LEN], csrf[SESSION_CSRF_LEN], body[256];
	snprintf(body, sizeof body, "{\"token\":\"%s\"}", F.tok[ADMIN]);
	struct wresp r;
	wdo(&(struct wreq){.path = "/session", .body = body}, &r);
	ck_assert_int_eq(r.status, 200);
	const char *sc = hdr(&r, "Set-Cookie");
	ck_assert_msg(strstr(sc, "; HttpOnly") && strstr(sc, "; SameSite=Strict") && strstr(sc, "; Secure"), "%s", sc);
	size_t n = strcspn(sc + 11, ";");
	memcpy(cookie, sc + 11, n);
	cookie[n] = '\0';
	cJSON *j = json_of(&r);
	snprintf(csrf, sizeof csrf, "%s", jstr(j, "csrf"));
	cJSON_Delete(j);
	wresp_free(&r);
	wdo(&(struct wreq){.method = "DELETE", .path = "/session", .cookie = cookie, .csrf = csrf}, &r);
	ck_assert_int_eq(r.status, 204);
	sc = hdr(&r, "Set-Cookie");
	ck_assert_msg(strstr(sc, "Max-Age=0") && strstr(sc, "; Secure"), "%s", sc);
	wresp_free(&r);
}
END_TEST

/* A cookie opens exactly the doors the same credential's Bearer token
 * opens, with the same statuses (writes carrying the CSRF token). */
START_TEST(session_same_statuses_as_bearer)
{
	static const struct { const char *method, *path, *body; bool xapi; } routes[] = {
		{"GET", "/learner/consents", NULL, false},
		{"GET", "/learner/statements", NULL, false},
		{"GET", "/learner/access-report", NULL, false},
		{"GET", "/learner/mastery", NULL, false},
		{"GET", "/audit/key", NULL, false},
		{"GET", "/audit/checkpoint", NULL, false},
		{"GET", "/audit/entries?start=0&end=1", NULL, false},
		{"GET", "/policies", NULL, false},
		{"GET", "/admin/federation/tasks", NULL, false},
		{"GET", "/aggregate", NULL, false},
		{"POST", "/aggregate", COUNT_QUERY, false},
		{"GET", "/xapi/statements", NULL, true},
		{"POST", "/xapi/statements", "[]", true},
	};
	char cookie[NROLES][SESSION_ID_LEN], csrf[NROLES][SESSION_CSRF_LEN];
	for (int i = 0; i < NROLES; i++)
		cJSON_Delete(login(F.tok[i], cookie[i], csrf[i]));
	int opened = 0;
	for (size_t k = 0; k < sizeof routes / sizeof routes[0]; k++) {
		for (int i = 0; i < NROLES; i++) {
			struct wresp b, c;
			struct wreq q = {.method = routes[k].method, .path = routes[k].path, .body = routes[k].body,
					 .xapi = routes[k].xapi, .bearer = F.tok[i]};
			wdo(&q, &b);
			q.bearer = NULL;
			q.cookie = cookie[i];
			q.csrf = csrf[i];
			wdo(&q, &c);
			ck_assert_msg(b.status == c.status, "%s %s as %s: Bearer %ld, cookie %ld (%s)", routes[k].method,
				      routes[k].path, ROLE_NAME[i], b.status, c.status, c.body);
			if (c.status < 300)
				opened++;
			wresp_free(&b);
			wresp_free(&c);
		}
	}
	/* Not a matrix of refusals: the learner, auditor, admin and analyst
	 * doors each opened (learner and guardian 4 each, auditor 3, analyst 1
	 * aggregate, admin 1, /policies for all 5). */
	ck_assert_int_ge(opened, 4 + 4 + 3 + 1 + 1 + 5);
	/* An analyst's aggregate through the cookie is a real answer. */
	struct wresp r;
	wdo(&(struct wreq){.path = "/aggregate", .body = COUNT_QUERY, .cookie = cookie[ANALYST], .csrf = csrf[ANALYST]},
	    &r);
	ck_assert_int_eq(r.status, 200);
	cJSON *j = json_of(&r);
	ck_assert_ptr_nonnull(cJSON_GetObjectItemCaseSensitive(j, "epsilon"));
	cJSON_Delete(j);
	wresp_free(&r);
	/* And no session ever opens the provider's door: not even reading. */
	wdo(&(struct wreq){.path = "/xapi/statements", .xapi = true, .cookie = cookie[ADMIN]}, &r);
	ck_assert_int_ge(r.status, 401);
	ck_assert_int_le(r.status, 403);
	wresp_free(&r);
}
END_TEST

static int consent_events(const char *cookie)
{
	struct wresp r;
	wdo(&(struct wreq){.path = "/learner/consents", .cookie = cookie}, &r);
	ck_assert_int_eq(r.status, 200);
	cJSON *j = json_of(&r);
	int n = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "events"));
	cJSON_Delete(j);
	wresp_free(&r);
	return n;
}

START_TEST(session_csrf)
{
	char cookie[SESSION_ID_LEN], csrf[SESSION_CSRF_LEN], other_cookie[SESSION_ID_LEN], other_csrf[SESSION_CSRF_LEN];
	cJSON_Delete(login(F.tok[LEARNER], cookie, csrf));
	cJSON_Delete(login(F.tok[LEARNER], other_cookie, other_csrf));
	ck_assert_str_ne(csrf, other_csrf);
	ck_assert_int_eq(consent_events(cookie), 0);
	char wrong[SESSION_CSRF_LEN];
	snprintf(wrong, sizeof wrong, "%s", csrf);
	wrong[0] = wrong[0] == 'A' ? 'B' : 'A';
	char shorter[SESSION_CSRF_LEN];
	snprintf(shorter, sizeof shorter, "%.*s", (int)strlen(csrf) - 1, csrf);
	/* No header, a wrong one, a prefix, another session's: refused, nothing done. */
	const char *bad[] = {NULL, wrong, shorter, other_csrf, ""};
	struct wresp r;
	for (int i = 0; i < 5; i++) {
		wdo(&(struct wreq){.path = "/learner/consents", .body = GRANT, .cookie = cookie, .csrf = bad[i]}, &r);
		assert_error(&r, 403, "csrf");
		wresp_free(&r);
		wdo(&(struct wreq){.method = "DELETE", .path = "/learner/consents/" POLICY, .cookie = cookie,
				   .csrf = bad[i]}, &r);
		assert_error(&r, 403, "csrf");
		wresp_free(&r);
		wdo(&(struct wreq){.method = "DELETE", .path = "/learner", .cookie = cookie, .csrf = bad[i]}, &r);
		assert_error(&r, 403, "csrf");
		wresp_free(&r);
	}
	ck_assert_int_eq(consent_events(cookie), 0);
	int64_t count = 0;
	ck_assert_int_eq(lv_learner_count(F.node, &count), LV_OK);
	ck_assert_int_eq(count, 1);
	/* The xAPI alternate syntax turns a POST into a GET: the wire method
	 * decides, so it needs the token too. */
	wdo(&(struct wreq){.path = "/xapi/statements?method=GET", .body = "limit=1",
			   .content_type = "application/x-www-form-urlencoded", .cookie = cookie, .xapi = true}, &r);
	assert_error(&r, 403, "csrf");
	wresp_free(&r);
	/* With its own token the write happens. */
	wdo(&(struct wreq){.path = "/learner/consents", .body = GRANT, .cookie = cookie, .csrf = csrf}, &r);
	ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
	wresp_free(&r);
	ck_assert_int_eq(consent_events(cookie), 1);
	wdo(&(struct wreq){.method = "DELETE", .path = "/learner/consents/" POLICY, .cookie = other_cookie,
			   .csrf = other_csrf}, &r);
	ck_assert_msg(r.status < 300, "%ld %s", r.status, r.body);
	wresp_free(&r);
	ck_assert_int_eq(consent_events(cookie), 2);
	/* Bearer clients never needed the header and still do not. */
	wdo(&(struct wreq){.path = "/learner/consents", .body = GRANT, .bearer = F.tok[LEARNER]}, &r);
	ck_assert_int_eq(r.status, 201);
	wresp_free(&r);
	ck_assert_int_eq(consent_events(cookie), 3);
}
END_TEST

START_TEST(session_logout)
{
	char cookie[SESSION_ID_LEN], csrf[SESSION_CSRF_LEN], other[SESSION_ID_LEN], other_csrf[SESSION_CSRF_LEN];
	cJSON_Delete(login(F.tok[AUDITOR], cookie, csrf));
	cJSON_Delete(login(F.tok[AUDITOR], other, other_csrf));
	ck_assert_int_eq(get_with_cookie(cookie, "/audit/checkpoint"), 200);
	struct wresp r;
	/* Logging out is a write: it needs the token. */
	wdo(&(struct wreq){.method = "DELETE", .path = "/session", .cookie = cookie}, &r);
	assert_error(&r, 403, "csrf");
	wresp_free(&r);
	ck_assert_int_eq(get_with_cookie(cookie, "/audit/checkpoint"), 200);
	wdo(&(struct wreq){.method = "DELETE", .path = "/session", .cookie = cookie, .csrf = csrf}, &r);
	ck_assert_int_eq(r.status, 204);
	ck_assert_uint_eq(r.len, 0);
	const char *sc = hdr(&r, "Set-Cookie");
	ck_assert_msg(strncmp(sc, "lv_session=;", 12) == 0 && strstr(sc, "Max-Age=0") && strstr(sc, "Path=/"), "%s", sc);
	wresp_free(&r);
	/* Ended on the server: the old cookie is worth nothing now. */
	wdo(&(struct wreq){.path = "/audit/checkpoint", .cookie = cookie}, &r);
	assert_error(&r, 401, "unauthorized");
	ck_assert_str_eq(hdr(&r, "WWW-Authenticate"), "Bearer");
	wresp_free(&r);
	wdo(&(struct wreq){.path = "/session", .cookie = cookie}, &r);
	assert_error(&r, 401, "unauthorized");
	ck_assert_msg(strstr(hdr(&r, "Set-Cookie"), "Max-Age=0"), "stale cookie not cleared");
	wresp_free(&r);
	/* The other session of the same credential lives on. */
	ck_assert_int_eq(get_with_cookie(other, "/audit/checkpoint"), 200);
	ck_assert_uint_eq(session_count(F.srv->sessions), 1);
}
END_TEST

START_TEST(session_idle_expiry)
{
	char cookie[SESSION_ID_LEN], csrf[SESSION_CSRF_LEN];
	cJSON_Delete(login(F.tok[LEARNER], cookie, csrf));
	/* Default 30 minutes idle: each use restarts the clock. */
	for (int i = 0; i < 3; i++) {
		http_server_advance_clock(F.srv, 29 * MIN_MS);
		ck_assert_int_eq(get_with_cookie(cookie, "/learner/consents"), 200);
	}
	http_server_advance_clock(F.srv, 30 * MIN_MS + 1000);
	ck_assert_int_eq(get_with_cookie(cookie, "/learner/consents"), 401);
	ck_assert_uint_eq(session_count(F.srv->sessions), 0);
	/* The setting, read when a session opens. */
	ck_assert_int_eq(lv_node_setting_set(F.node, "session_idle_minutes", "2"), LV_OK);
	cJSON *j = login(F.tok[LEARNER], cookie, csrf);
	cJSON_Delete(j);
	http_server_advance_clock(F.srv, 119 * 1000);
	ck_assert_int_eq(get_with_cookie(cookie, "/learner/consents"), 200);
	http_server_advance_clock(F.srv, 121 * 1000);
	ck_assert_int_eq(get_with_cookie(cookie, "/session"), 401);
	ck_assert_uint_eq(session_count(F.srv->sessions), 0);
	/* Out of range is refused. */
	ck_assert_int_eq(lv_node_setting_set(F.node, "session_idle_minutes", "0"), LV_ERR_INVALID);
	ck_assert_int_eq(lv_node_setting_set(F.node, "session_idle_minutes", "1441"), LV_ERR_INVALID);
	ck_assert_int_eq(lv_node_setting_set(F.node, "session_idle_minutes", "-5"), LV_ERR_INVALID);
	ck_assert_int_eq(lv_node_setting_set(F.node, "session_idle_minutes", "1440"), LV_OK);
}
END_TEST

START_TEST(session_absolute_expiry)
{
	char cookie[SESSION_ID_LEN], csrf[SESSION_CSRF_LEN];
	cJSON_Delete(login(F.tok[ANALYST], cookie, csrf));
	/* Used every 20 minutes it never idles out, but lives 12 hours at most. */
	int64_t t = 0;
	while (t + 20 * MIN_MS < 12 * HOUR_MS) {
		http_server_advance_clock(F.srv, 20 * MIN_MS);
		t += 20 * MIN_MS;
		ck_assert_msg(get_with_cookie(cookie, "/session") == 200, "gone after %lld min", (long long)(t / MIN_MS));
	}
	http_server_advance_clock(F.srv, 12 * HOUR_MS - t);
	ck_assert_int_eq(get_with_cookie(cookie, "/session"), 401);
	ck_assert_uint_eq(session_count(F.srv->sessions), 0);
	/* The setting: one hour. */
	ck_assert_int_eq(lv_node_setting_set(F.node, "session_max_hours", "1"), LV_OK);
	cJSON_Delete(login(F.tok[ANALYST], cookie, csrf));
	http_server_advance_clock(F.srv, 25 * MIN_MS);
	ck_assert_int_eq(get_with_cookie(cookie, "/session"), 200);
	http_server_advance_clock(F.srv, 25 * MIN_MS);
	ck_assert_int_eq(get_with_cookie(cookie, "/session"), 200);
	http_server_advance_clock(F.srv, 11 * MIN_MS);
	ck_assert_int_eq(get_with_cookie(cookie, "/session"), 401);
	ck_assert_int_eq(lv_node_setting_set(F.node, "session_max_hours", "169"), LV_ERR_INVALID);
	ck_assert_int_eq(lv_node_setting_set(F.node, "session_max_hours", "168"), LV_OK);
}
END_TEST

START_TEST(session_revoked_credential)
{
	char cookie[SESSION_ID_LEN], csrf[SESSION_CSRF_LEN], adm[SESSION_ID_LEN], adm_csrf[SESSION_CSRF_LEN];
	cJSON_Delete(login(F.tok[GUARDIAN], cookie, csrf));
	cJSON_Delete(login(F.tok[ADMIN], adm, adm_csrf));
	ck_assert_int_eq(get_with_cookie(cookie, "/learner/consents"), 200);
	ck_assert_int_eq(lv_credential_active(F.node, F.cred[GUARDIAN]), LV_OK);
	ck_assert_int_eq(lv_credential_revoke(F.node, F.cred[GUARDIAN]), LV_OK);
	ck_assert_int_eq(lv_credential_active(F.node, F.cred[GUARDIAN]), LV_ERR_NOT_FOUND);
	ck_assert_int_eq(lv_credential_active(F.node, "no-such-credential"), LV_ERR_NOT_FOUND);
	ck_assert_int_eq(get_with_cookie(cookie, "/learner/consents"), 401);
	ck_assert_uint_eq(session_count(F.srv->sessions), 1);
	ck_assert_int_eq(get_with_cookie(adm, "/admin/federation/tasks"), 200);
	/* A revoked credential cannot open a new one either. */
	char body[256];
	snprintf(body, sizeof body, "{\"token\":\"%s\"}", F.tok[GUARDIAN]);
	struct wresp r;
	wdo(&(struct wreq){.path = "/session", .body = body}, &r);
	assert_error(&r, 401, "unauthorized");
	wresp_free(&r);
}
END_TEST

/* Bearer and Basic decide as before; an Authorization header is never
 * rescued (nor overridden) by a cookie. */
START_TEST(bearer_and_basic_unchanged)
{
	char cookie[SESSION_ID_LEN], csrf[SESSION_CSRF_LEN];
	cJSON_Delete(login(F.tok[ADMIN], cookie, csrf));
	struct wresp r;
	wdo(&(struct wreq){.path = "/audit/checkpoint", .bearer = F.tok[AUDITOR], .cookie = cookie}, &r);
	ck_assert_int_eq(r.status, 200);
	wresp_free(&r);
	wdo(&(struct wreq){.path = "/admin/federation/tasks", .bearer = F.tok[AUDITOR], .cookie = cookie}, &r);
	assert_error(&r, 403, "forbidden");
	wresp_free(&r);
	wdo(&(struct wreq){.path = "/admin/federation/tasks", .bearer = "nope.nope", .cookie = cookie}, &r);
	assert_error(&r, 401, "unauthorized");
	wresp_free(&r);
	wdo(&(struct wreq){.path = "/xapi/statements", .xapi = true, .user = F.prov_key, .pass = F.prov_secret}, &r);
	ck_assert_int_eq(r.status, 200);
	wresp_free(&r);
	/* Without a cookie, a 401 keeps its Basic challenge (xAPI clients). */
	wdo(&(struct wreq){.path = "/xapi/statements", .xapi = true}, &r);
	assert_error(&r, 401, "unauthorized");
	ck_assert_str_eq(hdr(&r, "WWW-Authenticate"), "Basic realm=\"learnvault\", Bearer");
	ck_assert_str_eq(hdr(&r, "Cache-Control"), "no-store");
	wresp_free(&r);
	/* A cookie that is no session is no authentication. */
	wdo(&(struct wreq){.path = "/admin/federation/tasks", .cookie = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}, &r);
	assert_error(&r, 401, "unauthorized");
	wresp_free(&r);
	wdo(&(struct wreq){.path = "/admin/federation/tasks", .cookie = "short"}, &r);
	assert_error(&r, 401, "unauthorized");
	wresp_free(&r);
}
END_TEST

/* ---- the store itself ---- */

START_TEST(store_cap_and_eviction)
{
	struct session_store *s = NULL;
	ck_assert_int_eq(session_store_new(3, &s), LV_OK);
	struct lv_principal who = {.role = LV_ROLE_ANALYST, .id = "cred-a"};
	char *purpose = strdup("p1");
	who.purposes[0] = purpose;
	who.npurposes = 1;
	char ids[4][SESSION_ID_LEN];
	struct session_info info;
	for (int i = 0; i < 4; i++) {
		if (i == 3)
			memcpy(who.id, "cred-b", 7);
		ck_assert_int_eq(session_open(s, &who, 1000 + i, MIN_MS, HOUR_MS, ids[i], &info), LV_OK);
		ck_assert_uint_eq(strlen(ids[i]), 43);
		ck_assert_str_ne(info.csrf, ids[i]);
		ck_assert_str_eq(info.who.purposes[0], "p1");
		ck_assert_ptr_ne(info.who.purposes[0], purpose);
		ck_assert_int_eq(info.expires, 1000 + i + HOUR_MS);
		session_info_clear(&info);
	}
	/* Full at 3: the oldest went. */
	ck_assert_uint_eq(session_count(s), 3);
	ck_assert_int_eq(session_use(s, ids[0], 2000, &info), LV_ERR_UNAUTHORIZED);
	for (int i = 1; i < 4; i++) {
		ck_assert_int_eq(session_use(s, ids[i], 2000, &info), LV_OK);
		ck_assert_int_eq(info.idle_expires, 2000 + MIN_MS);
		session_info_clear(&info);
	}
	/* Idle: expired at exactly the limit, and removed. */
	ck_assert_int_eq(session_use(s, ids[1], 2000 + MIN_MS - 1, NULL), LV_OK);
	ck_assert_int_eq(session_use(s, ids[1], 2000 + 2 * MIN_MS - 1, NULL), LV_ERR_UNAUTHORIZED);
	ck_assert_uint_eq(session_count(s), 2);
	/* By credential, and one by one. */
	ck_assert_uint_eq(session_end_credential(s, "cred-a"), 1);
	ck_assert_uint_eq(session_count(s), 1);
	ck_assert(!session_end(s, ids[2]));
	ck_assert(session_end(s, ids[3]));
	ck_assert(!session_end(s, ids[3]));
	ck_assert_uint_eq(session_count(s), 0);
	ck_assert_int_eq(session_open(s, &who, 0, 0, HOUR_MS, ids[0], NULL), LV_ERR_INVALID);
	ck_assert_str_eq(ids[0], "");
	free(purpose);
	session_store_free(s);
}
END_TEST

START_TEST(store_default_cap)
{
	struct session_store *s = NULL;
	ck_assert_int_eq(session_store_new(0, &s), LV_OK);
	struct lv_principal who = {.role = LV_ROLE_AUDITOR, .id = "c"};
	char first[SESSION_ID_LEN], id[SESSION_ID_LEN];
	ck_assert_int_eq(session_open(s, &who, 0, HOUR_MS, HOUR_MS, first, NULL), LV_OK);
	for (int i = 1; i < SESSION_MAX_LIVE; i++)
		ck_assert_int_eq(session_open(s, &who, i, HOUR_MS, HOUR_MS, id, NULL), LV_OK);
	ck_assert_uint_eq(session_count(s), SESSION_MAX_LIVE);
	ck_assert_int_eq(session_use(s, first, SESSION_MAX_LIVE, NULL), LV_OK);
	ck_assert_int_eq(session_open(s, &who, SESSION_MAX_LIVE, HOUR_MS, HOUR_MS, id, NULL), LV_OK);
	ck_assert_uint_eq(session_count(s), SESSION_MAX_LIVE);
	/* Oldest by opening, not by use: the first went although just used. */
	ck_assert_int_eq(session_use(s, first, SESSION_MAX_LIVE, NULL), LV_ERR_UNAUTHORIZED);
	ck_assert_int_eq(session_use(s, id, SESSION_MAX_LIVE, NULL), LV_OK);
	session_store_free(s);
}
END_TEST

Suite *lv_test_suite(void)
{
	Suite *s = suite_create("web");
	TCase *t = tcase_create("static");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, static_index);
	tcase_add_test(t, static_every_asset);
	tcase_add_test(t, security_headers_everywhere);
	suite_add_tcase(s, t);
	t = tcase_create("sessions");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_set_timeout(t, 300);
	tcase_add_test(t, session_login_roles);
	tcase_add_test(t, session_login_refused);
	tcase_add_test(t, session_secure_cookies);
	tcase_add_test(t, session_same_statuses_as_bearer);
	tcase_add_test(t, session_csrf);
	tcase_add_test(t, session_logout);
	tcase_add_test(t, session_idle_expiry);
	tcase_add_test(t, session_absolute_expiry);
	tcase_add_test(t, session_revoked_credential);
	tcase_add_test(t, bearer_and_basic_unchanged);
	suite_add_tcase(s, t);
	t = tcase_create("store");
	tcase_add_test(t, store_cap_and_eviction);
	tcase_add_test(t, store_default_cap);
	suite_add_tcase(s, t);
	return s;
}
