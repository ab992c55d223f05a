/* The web door's sessions over HTTP (docs/running.md, "Browser sessions"):
 *   POST   /session  {"token": "<id>.<secret>"}  opens one, sets the cookie
 *   GET    /session                              the session's own view
 *   DELETE /session  (X-CSRF-Token)              ends it, clears the cookie
 * and the cookie authentication every other route gets through
 * session_authenticate().  The token is checked like a Bearer token and
 * then forgotten: neither it nor the cookie value is stored or logged,
 * only the cookie's hash (session.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "http.h"
#include "session.h"

#define COOKIE "lv_session"
#define TOKEN_MAX 256
#define IDLE_MIN_DEFAULT 30
#define MAX_HOURS_DEFAULT 12

int64_t http_now_ms(const struct lv_server *srv)
{
	return util_now_ms() + __atomic_load_n(&srv->clock_skew_ms, __ATOMIC_RELAXED);
}

void http_server_advance_clock(struct lv_server *srv, int64_t ms)
{
	__atomic_add_fetch(&srv->clock_skew_ms, ms, __ATOMIC_RELAXED);
}

/* A numeric node setting, or @dflt when unset or unreadable (the setter
 * validated its range: node.c). */
static int64_t setting_or(struct lv_node *node, const char *name, int64_t dflt)
{
	char *v = NULL;
	int64_t n = dflt;
	if (lv_node_setting_get(node, name, &v) == LV_OK) {
		char *end = NULL;
		long long x = strtoll(v, &end, 10);
		if (*v && !*end && x > 0)
			n = x;
	}
	free(v);
	return n;
}

void session_authenticate(struct http_req *r)
{
	const char *id = MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, COOKIE);
	if (!id)
		return;
	r->cookie_seen = true;
	struct session_info info;
	if (session_use(r->srv->sessions, id, http_now_ms(r->srv), &info) != LV_OK)
		return;
	/* Revoking the credential (CLI, admin API, erasure) ends its sessions
	 * here, at their next request. */
	enum lv_status st = lv_credential_active(r->node, info.who.id);
	if (st != LV_OK) {
		if (st == LV_ERR_NOT_FOUND)
			session_end_credential(r->srv->sessions, info.who.id);
		session_info_clear(&info);
		return;
	}
	lv_principal_clear(&r->who);
	r->who = info.who;
	memset(&info.who, 0, sizeof info.who);  /* moved into r->who */
	memcpy(r->csrf, info.csrf, sizeof r->csrf);
	r->authenticated = true;
	r->by_session = true;
	session_info_clear(&info);
}

static cJSON *session_json(const struct session_info *info)
{
	char t[UTIL_TIME_LEN];
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "role", lv_role_str(info->who.role));
	if (info->who.role == LV_ROLE_LEARNER || info->who.role == LV_ROLE_GUARDIAN)
		cJSON_AddStringToObject(o, "learner", info->who.learner);
	if (info->who.role == LV_ROLE_ANALYST) {
		cJSON *p = cJSON_AddArrayToObject(o, "purposes");
		for (size_t i = 0; i < info->who.npurposes; i++)
			cJSON_AddItemToArray(p, cJSON_CreateString(info->who.purposes[i]));
	}
	cJSON_AddStringToObject(o, "csrf", info->csrf);
	util_time_format(info->idle_expires, t);
	cJSON_AddStringToObject(o, "idle_expires", t);
	util_time_format(info->expires, t);
	cJSON_AddStringToObject(o, "expires", t);
	return o;
}

static void cookie_header(const struct http_req *r, const char *value, bool clear, char *out, size_t n)
{
	snprintf(out, n, COOKIE "=%s; Path=/;%s HttpOnly; SameSite=Strict%s", value, clear ? " Max-Age=0;" : "",
		 r->srv->secure_cookies ? "; Secure" : "");
}

/* The token of a {"token": "<id>.<secret>"} body, checked as a Bearer
 * token would be.  The body is wiped once read. */
static enum lv_status token_check(struct http_req *r, struct lv_principal *who)
{
	enum lv_status st = LV_ERR_UNAUTHORIZED;
	memset(who, 0, sizeof *who);
	cJSON *body = util_json_parse((const char *)r->content, r->content_len);
	const cJSON *tok = cJSON_GetObjectItemCaseSensitive(body, "token");
	if (!cJSON_IsObject(body) || !cJSON_IsString(tok) || cJSON_GetArraySize(body) != 1) {
		st = LV_ERR_INVALID;
		goto out;
	}
	const char *t = tok->valuestring, *dot = strchr(t, '.');
	if (strlen(t) > TOKEN_MAX)
		goto out;
	/* Throttled, counted and logged as an Authorization header is. */
	st = http_credential_check(r, t, dot ? (size_t)(dot - t) : 0, dot ? dot + 1 : "", who) ? LV_OK
											: LV_ERR_UNAUTHORIZED;
out:
	if (cJSON_IsString(tok))
		sodium_memzero(tok->valuestring, strlen(tok->valuestring));
	cJSON_Delete(body);
	if (r->body.data)
		sodium_memzero(r->body.data, r->body.len);
	return st;
}

static enum MHD_Result session_post(struct http_req *r)
{
	struct lv_principal who;
	enum lv_status st = token_check(r, &who);
	if (st == LV_ERR_INVALID)
		return reply_error(r, 400, "invalid", "body: {\"token\": \"<id>.<secret>\"}");
	if (r->retry_after)
		return reply_throttled(r);
	if (st != LV_OK)
		return reply_error(r, 401, "unauthorized", "the token is not valid");
	if (who.role == LV_ROLE_PROVIDER || who.role == LV_ROLE_NONE) {
		lv_principal_clear(&who);
		return reply_error(r, 403, "forbidden", "provider credentials cannot open a browser session");
	}
	int64_t idle = setting_or(r->node, "session_idle_minutes", IDLE_MIN_DEFAULT) * 60000;
	int64_t max = setting_or(r->node, "session_max_hours", MAX_HOURS_DEFAULT) * 3600000;
	char id[SESSION_ID_LEN];
	struct session_info info;
	st = session_open(r->srv->sessions, &who, http_now_ms(r->srv), idle, max, id, &info);
	lv_principal_clear(&who);
	if (st != LV_OK)
		return reply_status(r, st, "the session could not be opened");
	cookie_header(r, id, false, r->set_cookie, sizeof r->set_cookie);
	sodium_memzero(id, sizeof id);
	enum MHD_Result ret = reply_json(r, 200, session_json(&info), NULL);
	sodium_memzero(r->set_cookie, sizeof r->set_cookie);
	session_info_clear(&info);
	return ret;
}

/* The CSRF token of @r's session is in its X-CSRF-Token header. */
bool session_csrf_ok(const struct http_req *r)
{
	const char *h = req_header(r, "X-CSRF-Token");
	return h && r->by_session && strlen(h) == strlen(r->csrf) &&
	       sodium_memcmp(h, r->csrf, strlen(r->csrf)) == 0;
}

enum MHD_Result session_route(struct http_req *r)
{
	if (r->nparams)
		return reply_error(r, 400, "invalid", "/session takes no URL parameters");
	if (strcmp(r->method, "POST") == 0)
		return session_post(r);
	if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "DELETE") != 0)
		return reply_error(r, 405, "method_not_allowed", "POST, GET or DELETE /session");
	const char *id = MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, COOKIE);
	if (!r->by_session) {
		/* A stale cookie is cleared; a Bearer header is no session. */
		if (r->cookie_seen)
			cookie_header(r, "", true, r->set_cookie, sizeof r->set_cookie);
		return reply_error(r, 401, "unauthorized", "no session");
	}
	if (strcmp(r->method, "DELETE") == 0) {
		if (!session_csrf_ok(r))
			return reply_error(r, 403, "csrf", "the X-CSRF-Token header is missing or wrong");
		session_end(r->srv->sessions, id);
		cookie_header(r, "", true, r->set_cookie, sizeof r->set_cookie);
		return reply_bytes(r, 204, NULL, "", 0, NULL);
	}
	/* session_authenticate used the session a moment ago; this reads its
	 * view (times included) once more rather than carrying it along. */
	struct session_info info;
	if (session_use(r->srv->sessions, id, http_now_ms(r->srv), &info) != LV_OK)
		return reply_error(r, 401, "unauthorized", "no session");
	enum MHD_Result ret = reply_json(r, 200, session_json(&info), NULL);
	session_info_clear(&info);
	return ret;
}
