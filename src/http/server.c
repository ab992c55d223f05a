/* The libmicrohttpd daemon, request lifecycle, parameters, auth and
 * replies.  Business logic lives in the route files. */
#include <arpa/inet.h>
#include <sys/socket.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "cors.h"
#include "http.h"
#include "learnvault/server.h"
#include "limits.h"
#include "reqlog.h"
#include "session.h"
#include "throttle.h"
#include "tls.h"

#define XAPI_VERSION "1.0.3"

/* ---- parameters and headers ---- */

static void param_add(struct http_req *r, const char *name, const char *value, size_t vlen)
{
	for (size_t i = 0; i < r->nparams; i++)
		if (strcmp(r->params[i].name, name) == 0)
			r->params_duplicate = true;
	if (r->nparams == HTTP_MAX_PARAMS) {
		r->params_overflow = true;
		return;
	}
	r->params[r->nparams].name = strdup(name);
	r->params[r->nparams].value = strndup(value ? value : "", value ? vlen : 0);
	r->nparams++;
}

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size,
				   const char *value, size_t value_size)
{
	struct http_req *r = cls;
	(void)kind;
	/* The sizes are the decoded ones: "a%00b" is three bytes with a NUL,
	 * which a C string would cut to "a" (issue 13, strict input). */
	if (!util_text_clean(key, key_size) || (value && !util_text_clean(value, value_size)))
		r->params_unclean = true;
	param_add(r, key, value, value ? value_size : 0);
	return MHD_YES;
}

const char *req_param(const struct http_req *r, const char *name)
{
	for (size_t i = 0; i < r->nparams; i++)
		if (strcmp(r->params[i].name, name) == 0)
			return r->params[i].value;
	return NULL;
}

const char *req_header(const struct http_req *r, const char *name)
{
	if (r->alternate) {
		for (size_t i = 0; i < r->nform_headers; i++)
			if (strcasecmp(r->form_headers[i].name, name) == 0)
				return r->form_headers[i].value;
		/* The real Content-Type is the form's; the content is JSON
		 * unless the form says otherwise. */
		if (strcasecmp(name, "Content-Type") == 0)
			return "application/json";
	}
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

static void req_free(struct http_req *r)
{
	for (size_t i = 0; i < r->nparams; i++) {
		free(r->params[i].name);
		free(r->params[i].value);
	}
	for (size_t i = 0; i < r->nform_headers; i++) {
		free(r->form_headers[i].name);
		free(r->form_headers[i].value);
	}
	buf_free(&r->body);
	free(r->path);
	lv_principal_clear(&r->who);
	sodium_memzero(r->csrf, sizeof r->csrf);
	free(r);
}

/* ---- replies ---- */

/* The web door's policy, on every response (pages, JSON, errors, xAPI):
 * nothing runs but our own files, nothing frames us, no referrer leaks a
 * URL.  No 'unsafe-inline': the pages carry no inline script or style. */
#define CSP "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " \
	    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; " \
	    "frame-ancestors 'none'"

/* @cache_control: NULL for the API's "no-store".  @xapi_version: the
 * version the xAPI door negotiated (xapi_routes.c), NULL elsewhere. */
static void common_headers(struct MHD_Response *resp, const char *cache_control, const char *xapi_version)
{
	MHD_add_response_header(resp, "X-Experience-API-Version", xapi_version ? xapi_version : XAPI_VERSION);
	MHD_add_response_header(resp, "Cache-Control", cache_control ? cache_control : "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Content-Security-Policy", CSP);
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
}

/* Adds the common and @extra headers to @resp, queues it and releases it. */
static enum MHD_Result reply_queue(struct http_req *r, unsigned status, const char *content_type,
				   struct MHD_Response *resp, const char *const *extra)
{
	/* An extra Cache-Control replaces the default: MHD would send both. */
	const char *cache_control = NULL;
	for (size_t i = 0; extra && extra[i] && extra[i + 1]; i += 2)
		if (strcasecmp(extra[i], "Cache-Control") == 0)
			cache_control = extra[i + 1];
	common_headers(resp, cache_control, r->xapi_version);
	if (content_type)
		MHD_add_response_header(resp, "Content-Type", content_type);
	if (r->consistent_through) {
		char t[UTIL_TIME_LEN];
		util_time_format(lv_statements_consistent_through(r->node), t);
		MHD_add_response_header(resp, "X-Experience-API-Consistent-Through", t);
	}
	for (size_t i = 0; extra && extra[i] && extra[i + 1]; i += 2)
		if (strcasecmp(extra[i], "Cache-Control") != 0)
			MHD_add_response_header(resp, extra[i], extra[i + 1]);
	if (r->set_cookie[0])
		MHD_add_response_header(resp, "Set-Cookie", r->set_cookie);
	cors_reply_headers(r, resp);
	enum MHD_Result ret = MHD_queue_response(r->conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

enum MHD_Result reply_bytes(struct http_req *r, unsigned status, const char *content_type,
			    const void *data, size_t len, const char *const *extra)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	reqlog_note_reply(r, status, data, len);
	return reply_queue(r, status, content_type, resp, extra);
}

enum MHD_Result reply_stream(struct http_req *r, unsigned status, const char *content_type, uint64_t size,
			     MHD_ContentReaderCallback read, void *ctx, MHD_ContentReaderFreeCallback done,
			     const char *const *extra)
{
	struct MHD_Response *resp = MHD_create_response_from_callback(size, 64 * 1024, read, ctx, done);
	if (!resp) {
		done(ctx);
		return MHD_NO;
	}
	reqlog_note_reply(r, status, NULL, size == MHD_SIZE_UNKNOWN ? 0 : (size_t)size);
	return reply_queue(r, status, content_type, resp, extra);
}

enum MHD_Result reply_json(struct http_req *r, unsigned status, cJSON *json, ...)
{
	const char *extra[17] = {0};
	va_list ap;
	va_start(ap, json);
	for (size_t i = 0; i < 16; i++) {
		const char *s = va_arg(ap, const char *);
		if (!s)
			break;
		extra[i] = s;
	}
	va_end(ap);
	char *text = cJSON_PrintUnformatted(json);
	cJSON_Delete(json);
	if (!text)
		return reply_error(r, 500, "out_of_memory", "could not build the response");
	enum MHD_Result ret = reply_bytes(r, status, "application/json", text, strlen(text), extra);
	free(text);
	return ret;
}

enum MHD_Result reply_error(struct http_req *r, unsigned status, const char *code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	snprintf(r->log_error, sizeof r->log_error, "%s", code);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "error", code);
	cJSON_AddStringToObject(o, "message", msg);
	char *text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	const char *extra[] = {NULL, NULL, NULL};
	if (status == 401) {
		/* A Basic challenge makes a browser pop up its own login box over
		 * the page: the web door's requests (a session cookie, or
		 * /session itself) get the Bearer challenge only. */
		extra[0] = "WWW-Authenticate";
		extra[1] = r->cookie_seen || strcmp(r->path, "/session") == 0 ? "Bearer"
									     : "Basic realm=\"learnvault\", Bearer";
	}
	enum MHD_Result ret = reply_bytes(r, status, "application/json", text ? text : "{}",
					  text ? strlen(text) : 2, extra);
	free(text);
	return ret;
}

enum MHD_Result reply_status(struct http_req *r, enum lv_status st, const char *message)
{
	return reply_error(r, lv_status_http(st), lv_status_str(st), "%s",
			   message && *message ? message : lv_status_str(st));
}

/* ---- authentication ---- */

/* The client's numeric address, "?" when MHD cannot say. */
static void client_address(struct MHD_Connection *conn, char out[INET6_ADDRSTRLEN])
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;
	const void *a = NULL;
	if (sa && sa->sa_family == AF_INET)
		a = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	else if (sa && sa->sa_family == AF_INET6)
		a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
	if (!a || !inet_ntop(sa->sa_family, a, out, INET6_ADDRSTRLEN))
		snprintf(out, INET6_ADDRSTRLEN, "?");
}

/* The credential id as the client sent it, safe for a log line: printable
 * ASCII only, capped (it is the client's text, not a known id). */
static void loggable_id(const char *id, size_t n, char out[LV_CRED_ID_LEN + 8])
{
	size_t j = 0;
	for (size_t i = 0; i < n && j < LV_CRED_ID_LEN + 4; i++)
		out[j++] = id[i] > 0x20 && id[i] < 0x7f ? id[i] : '?';
	out[j] = 0;
}

bool http_credential_check(struct http_req *r, const char *id, size_t idlen, const char *secret,
			   struct lv_principal *who)
{
	char addr[INET6_ADDRSTRLEN], lid[LV_CRED_ID_LEN + 8];
	bool ok = false;
	memset(who, 0, sizeof *who);
	client_address(r->conn, addr);
	loggable_id(id, idlen, lid);
	r->retry_after = throttle_check(r->srv->throttle, addr, lid);
	if (r->retry_after)
		return false;
	char sid[LV_CRED_ID_LEN];
	if (idlen > 0 && idlen < sizeof sid) {
		memcpy(sid, id, idlen);
		sid[idlen] = 0;
		ok = lv_credential_check(r->node, sid, secret, who) == LV_OK;
	}
	if (ok) {
		memcpy(r->log_credential, who->id, sizeof r->log_credential);
		r->log_role = who->role;
		return true;
	}
	unsigned n = throttle_failed(r->srv->throttle, addr, lid);
	const struct lv_log_field f[] = {{"address", addr, 0}, {"credential", lid[0] ? lid : "-", 0},
					 {"count", NULL, n}};
	lv_log_fields(LV_LOG_WARN, "auth-failure", f, 3);
	return false;
}

static void check_credential(struct http_req *r, const char *id, size_t idlen, const char *secret)
{
	r->authenticated = http_credential_check(r, id, idlen, secret, &r->who);
}

/* An Authorization header decides alone (a bad one is not rescued by a
 * cookie); without one, the lv_session cookie may authenticate.  A
 * malformed header counts as a failure too. */
static void authenticate(struct http_req *r)
{
	const char *h = req_header(r, "Authorization");
	if (!h) {
		session_authenticate(r);
		return;
	}
	if (strncasecmp(h, "Basic ", 6) == 0) {
		const char *b64 = h + 6;
		size_t n = strlen(b64);
		unsigned char raw[400];
		size_t len = 0;
		if (n > 512 || sodium_base642bin(raw, sizeof raw - 1, b64, n, " ", &len, NULL,
						 sodium_base64_VARIANT_ORIGINAL) != 0) {
			check_credential(r, "", 0, "");
			return;
		}
		raw[len] = 0;
		char *colon = memchr(raw, ':', len);
		if (colon)
			*colon = 0;
		check_credential(r, (const char *)raw, colon ? (size_t)(colon - (char *)raw) : 0,
				 colon ? colon + 1 : "");
		sodium_memzero(raw, sizeof raw);
	} else if (strncasecmp(h, "Bearer ", 7) == 0) {
		const char *tok = h + 7;
		const char *dot = strchr(tok, '.');
		check_credential(r, tok, dot ? (size_t)(dot - tok) : 0, dot ? dot + 1 : "");
	} else {
		check_credential(r, "", 0, "");
	}
}

/* ---- alternate request syntax (xAPI 1.0.3 Communication §1.3) ---- */

static const char *const FORM_HEADERS[] = {"Authorization", "X-Experience-API-Version", "Content-Type",
					   "Content-Length", "If-Match", "If-None-Match", NULL};

struct form_ctx {
	struct http_req *r;
	struct buf content;
	bool error;
};

/* The post processor hands long values over in pieces: append one, capped. */
static bool append_value(struct http_param *p, const char *data, size_t size, size_t cap)
{
	size_t ol = strlen(p->value);
	if (ol + size > cap)
		return false;
	char *nv = realloc(p->value, ol + size + 1);
	if (!nv)
		return false;
	memcpy(nv + ol, data, size);
	nv[ol + size] = 0;
	p->value = nv;
	return true;
}

static enum MHD_Result form_field(void *cls, enum MHD_ValueKind kind, const char *key,
				  const char *filename, const char *content_type,
				  const char *transfer_encoding, const char *data, uint64_t off, size_t size)
{
	(void)kind; (void)filename; (void)content_type; (void)transfer_encoding;
	struct form_ctx *c = cls;
	struct http_req *r = c->r;
	if (strcmp(key, "content") == 0) {
		if (buf_append(&c->content, data, size) != LV_OK)
			c->error = true;
		return MHD_YES;
	}
	for (size_t i = 0; FORM_HEADERS[i]; i++) {
		if (strcasecmp(key, FORM_HEADERS[i]) != 0)
			continue;
		if (off > 0 && r->nform_headers > 0 &&
		    strcasecmp(r->form_headers[r->nform_headers - 1].name, key) == 0) {
			if (!append_value(&r->form_headers[r->nform_headers - 1], data, size, 8192))
				c->error = true;
		} else if (r->nform_headers < sizeof r->form_headers / sizeof r->form_headers[0]) {
			r->form_headers[r->nform_headers].name = strdup(key);
			r->form_headers[r->nform_headers].value = strndup(data, size);
			r->nform_headers++;
		}
		return MHD_YES;
	}
	if (off > 0 && r->nparams > 0 && strcmp(r->params[r->nparams - 1].name, key) == 0) {
		if (!append_value(&r->params[r->nparams - 1], data, size, 65536))
			c->error = true;
		return MHD_YES;
	}
	param_add(r, key, data, size);
	return MHD_YES;
}

/* Returns false (and replies) when the alternate request is malformed. */
static bool apply_alternate(struct http_req *r, enum MHD_Result *ret)
{
	const char *m = req_param(r, "method");
	if (!m)
		return true;
	if (strcmp(r->method, "POST") != 0) {
		*ret = reply_error(r, 400, "invalid", "the method parameter needs a POST request");
		return false;
	}
	if (r->nparams != 1) {
		*ret = reply_error(r, 400, "invalid",
				   "alternate request syntax allows no query parameter but 'method'");
		return false;
	}
	static const char *const ALLOWED[] = {"GET", "PUT", "POST", "DELETE"};
	const char *eff = NULL;
	for (size_t i = 0; i < 4; i++)
		if (strcmp(m, ALLOWED[i]) == 0)
			eff = ALLOWED[i];
	if (!eff) {
		*ret = reply_error(r, 400, "invalid", "unsupported method in the method parameter");
		return false;
	}
	const char *ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Content-Type");
	if (!ct || strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0) {
		*ret = reply_error(r, 400, "invalid", "alternate request syntax needs a form-encoded body");
		return false;
	}
	free(r->params[0].name);
	free(r->params[0].value);
	r->nparams = 0;
	r->alternate = true;
	r->method = eff;
	struct form_ctx c = {.r = r};
	buf_init(&c.content, r->max_body);
	struct MHD_PostProcessor *pp = MHD_create_post_processor(r->conn, 65536, form_field, &c);
	if (!pp || MHD_post_process(pp, r->body.data ? r->body.data : "", r->body.len) != MHD_YES || c.error) {
		if (pp)
			MHD_destroy_post_processor(pp);
		buf_free(&c.content);
		*ret = reply_error(r, 400, "invalid", "malformed form body");
		return false;
	}
	MHD_destroy_post_processor(pp);
	/* The content replaces the form body as the request's content. */
	buf_free(&r->body);
	r->body = c.content;
	return true;
}

/* ---- dispatch ---- */

/* The methods some route implements; anything else is 501 (outside the
 * xAPI, whose routes keep their own answers). */
static bool method_known(const char *m)
{
	static const char *const KNOWN[] = {"GET", "HEAD", "POST", "PUT", "DELETE", NULL};
	for (size_t i = 0; KNOWN[i]; i++)
		if (strcmp(m, KNOWN[i]) == 0)
			return true;
	return false;
}

enum MHD_Result reply_throttled(struct http_req *r)
{
	char secs[16];
	snprintf(secs, sizeof secs, "%u", r->retry_after);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "error", "too_many_requests");
	cJSON_AddStringToObject(o, "message", "too many failed authentication attempts; retry later");
	return reply_json(r, 429, o, "Retry-After", secs, NULL);
}

static enum MHD_Result dispatch(struct http_req *r)
{
	enum MHD_Result ret;
	r->replied = true;
	if (r->too_large)
		return reply_error(r, 413, "too_large", "request body exceeds %zu bytes", r->max_body);
	bool xapi = strcmp(r->path, "/xapi") == 0 || strncmp(r->path, "/xapi/", 6) == 0;
	if (!xapi && !method_known(r->wire_method))
		return reply_error(r, 501, "not_implemented", "method %.32s is not implemented", r->wire_method);
	if (r->params_overflow)
		return reply_error(r, 400, "invalid", "too many parameters");
	if (r->params_unclean)
		return reply_error(r, 400, "invalid",
				   "a URL parameter holds a NUL, a control character or bytes that are not UTF-8");
	if (!apply_alternate(r, &ret))
		return ret;
	r->content = (const unsigned char *)(r->body.data ? r->body.data : "");
	r->content_len = r->body.len;
	authenticate(r);
	if (r->retry_after)
		return reply_throttled(r);
	/* HEAD is GET without a body; libmicrohttpd drops the body. */
	if (strcmp(r->method, "HEAD") == 0)
		r->method = "GET";
	if (strcmp(r->path, "/session") == 0) {
		r->route = "/session";
		return session_route(r);
	}
	/* A cookie is sent by the browser whoever made the page that asks:
	 * a state-changing request must also prove it read the session's
	 * CSRF token, before any route runs (the wire method counts: the
	 * xAPI alternate syntax turns a POST into a GET). */
	if (r->by_session && strcmp(r->wire_method, "GET") != 0 && strcmp(r->wire_method, "HEAD") != 0 &&
	    !session_csrf_ok(r))
		return reply_error(r, 403, "csrf", "the X-CSRF-Token header is missing or wrong");
	/* Each door's router names the route it matched (r->route); until
	 * it does, the log says which door, never the rest of the path. */
	if (xapi) {
		r->route = "/xapi/*";
		return xapi_route(r);
	}
	if (strcmp(r->path, "/learner") == 0 || strncmp(r->path, "/learner/", 9) == 0) {
		r->route = "/learner/*";
		return learner_route(r);
	}
	if (strncmp(r->path, "/audit/", 7) == 0) {
		r->route = "/audit/*";
		return audit_route(r);
	}
	if (strcmp(r->path, "/policies") == 0) {
		r->route = "/policies";
		return policies_route(r);
	}
	if (strcmp(r->path, "/aggregate") == 0) {
		r->route = "/aggregate";
		return aggregate_route(r);
	}
	if (strncmp(r->path, "/admin/", 7) == 0) {
		r->route = "/admin/*";
		return admin_route(r);
	}
	if (strcmp(r->path, "/health") == 0) {
		r->route = "/health";
		if (strcmp(r->method, "GET") != 0)
			return reply_error(r, 405, "method_not_allowed", "health supports GET only");
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "status", "ok");
		return reply_json(r, 200, o, NULL);
	}
	const struct web_asset *a = static_find(r->path);
	if (a) {
		r->route = a->path; /* the embedded table's, not the URL's */
		return static_route(r, a);
	}
	return reply_error(r, 404, "not_found", "no such resource");
}

/* Answers a request whose body is still arriving, written straight to
 * the socket: libmicrohttpd 0.9.75 queues no response between the first
 * and the last call of a request (MHD_queue_response fails), and reading
 * the rest first is what an endless upload exploits.  Nothing else is
 * being written on the connection then (the previous reply is complete,
 * a 100 Continue went out before the body).  The caller returns MHD_NO so
 * MHD closes the connection; limits_linger keeps it readable a little
 * longer so that the client reads this reply instead of a reset. */
static enum MHD_Result reply_cut(struct http_req *r, unsigned status, const char *reason, const char *code,
				 const char *msg)
{
	char body[256], head[1024];
	int bl = snprintf(body, sizeof body, "{\"error\":\"%s\",\"message\":\"%s\"}", code, msg);
	int hl = snprintf(head, sizeof head,
			  "HTTP/1.1 %u %s\r\nConnection: close\r\nContent-Type: application/json\r\n"
			  "Content-Length: %d\r\nX-Experience-API-Version: " XAPI_VERSION "\r\n"
			  "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
			  "Content-Security-Policy: " CSP "\r\nReferrer-Policy: no-referrer\r\n"
			  "X-Frame-Options: DENY\r\n\r\n%s", status, reason, bl, body);
	const union MHD_ConnectionInfo *fi = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	r->replied = true;
	r->log_status = status;
	r->log_bytes = bl > 0 ? (size_t)bl : 0;
	snprintf(r->log_error, sizeof r->log_error, "%s", code);
	/* Under TLS the socket carries records, not text: the client only
	 * sees the connection close. */
	if (fi && !r->srv->tls && hl > 0 && (size_t)hl < sizeof head) {
		limits_linger(r->conn);
		/* A few hundred bytes into an idle send buffer: one call; if it
		 * does not all fit, the client sees the connection close. */
		(void)!send(fi->connect_fd, head, (size_t)hl, MSG_NOSIGNAL | MSG_DONTWAIT);
	}
	return MHD_NO;
}

/* A body piece: kept up to the cap; past the cap or the deadline the
 * request is answered at once (reply_cut), so an endless chunked upload
 * is not read to its end. */
static enum MHD_Result on_upload(struct http_req *r, const char *data, size_t *size)
{
	size_t n = *size;
	*size = 0;
	if (r->replied)
		return MHD_NO;
	limits_body_bytes(r->conn, n);
	if (buf_append(&r->body, data, n) != LV_OK) {
		char msg[64];
		snprintf(msg, sizeof msg, "request body exceeds %zu bytes", r->max_body);
		return reply_cut(r, 413, "Content Too Large", "too_large", msg);
	}
	if (limits_past_deadline(r->conn))
		return reply_cut(r, 408, "Request Timeout", "request_timeout",
				 "the request took longer than allowed to arrive");
	return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	(void)version;
	struct lv_server *srv = cls;
	struct http_req *r = *con_cls;
	if (!r) {
		r = calloc(1, sizeof *r);
		if (!r)
			return MHD_NO;
		r->srv = srv;
		r->node = srv->node;
		r->conn = conn;
		r->method = method;
		r->wire_method = method;
		r->path = strdup(url);
		r->start_ms = util_now_ms();
		r->max_body = srv->max_body ? srv->max_body : lv_node_max_body(srv->node);
		if (!r->max_body)
			r->max_body = DEFAULT_MAX_BODY;
		buf_init(&r->body, r->max_body);
		*con_cls = r;
		const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
		if (cl && strtoull(cl, NULL, 10) > r->max_body) {
			/* Refuse before reading it: the connection is closed. */
			r->too_large = true;
			limits_linger(conn);
			return dispatch(r);
		}
		/* Answering now would force Connection: close (MHD 0.9.75). */
		return MHD_YES;
	}
	if (*upload_data_size)
		return on_upload(r, upload_data, upload_data_size);
	if (r->replied)
		return MHD_YES;
	limits_serving(conn);
	MHD_get_connection_values_n(conn, MHD_GET_ARGUMENT_KIND, collect_arg, r);
	return dispatch(r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	(void)cls; (void)toe;
	limits_request_done(conn);
	if (*con_cls) {
		reqlog_request(*con_cls);
		req_free(*con_cls);
	}
	*con_cls = NULL;
}

/* A limit: the option when set, else the node's setting (read at start:
 * a change takes effect when the server restarts), else @dflt. */
static unsigned limit_of(struct lv_node *node, unsigned opt_value, const char *setting, unsigned dflt)
{
	if (opt_value)
		return opt_value;
	char *v = NULL;
	unsigned n = dflt;
	if (lv_node_setting_get(node, setting, &v) == LV_OK) {
		char *end = NULL;
		unsigned long x = strtoul(v, &end, 10);
		if (*v >= '0' && *v <= '9' && !*end && x > 0 && x <= 1000000)
			n = (unsigned)x;
	}
	free(v);
	return n;
}

#define OPT_OR(field, setting, dflt) limit_of(node, opt ? opt->field : 0, setting, dflt)

/* Frees what lv_server_start built (the daemon must be stopped). */
static void server_free(struct lv_server *srv)
{
	if (srv->tls)
		tls_release();
	limits_free(srv->limits);
	throttle_free(srv->throttle);
	session_store_free(srv->sessions);
	free(srv->cors_origins);
	free(srv);
}

/* Loads and installs the options' certificate and key (srv->tls set on
 * success: server_free releases them). */
static enum lv_status server_tls_start(struct lv_server *srv, const struct lv_server_options *opt)
{
	if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES ||
	    MHD_is_feature_supported(MHD_FEATURE_HTTPS_CERT_CALLBACK) != MHD_YES)
		return LV_ERR_UNSUPPORTED;
	struct tls_pair *p = NULL;
	enum lv_status st = tls_pair_load(opt->tls_cert_pem, opt->tls_cert_len, opt->tls_key_pem,
					  opt->tls_key_len, &p);
	if (st == LV_OK)
		st = tls_install(p, true);
	srv->tls = st == LV_OK;
	return st;
}

/* Fills @ss from the numeric @host and @port; false when @host is not one. */
static bool listen_address(const char *host, uint16_t port, struct sockaddr_storage *ss, unsigned *flags)
{
	memset(ss, 0, sizeof *ss);
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(port);
		return true;
	}
	if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(port);
		*flags |= MHD_USE_IPv6;
		return true;
	}
	return false;
}

enum lv_status lv_server_start(struct lv_node *node, const struct lv_server_options *opt,
			       struct lv_server **out)
{
	*out = NULL;
	struct lv_server *srv = calloc(1, sizeof *srv);
	if (!srv)
		return LV_ERR_NOMEM;
	srv->node = node;
	srv->started_ms = util_now_ms();
	/* A Secure cookie is the only kind an HTTPS node should set. */
	srv->secure_cookies = opt && (opt->secure_cookies || opt->tls_cert_pem);
	srv->cors_origins = cors_origins_load(node);
	unsigned deadline_ms = opt && opt->request_deadline_ms
				       ? opt->request_deadline_ms
				       : limit_of(node, 0, "request_deadline_seconds", 30u) * 1000u;
	struct limits_config lc = {.deadline_ms = deadline_ms, .grace_ms = 5000,
				   .min_rate = OPT_OR(min_body_rate, "min_body_rate", 1024u)};
	struct throttle_config tc = {.max_failures = OPT_OR(auth_max_failures, "auth_max_failures", 20u),
				     .window_s = OPT_OR(auth_window_s, "auth_window_seconds", 60u)};
	enum lv_status st = session_store_new(SESSION_MAX_LIVE, &srv->sessions);
	if (st == LV_OK)
		st = limits_new(&lc, &srv->limits);
	if (st == LV_OK)
		st = throttle_new(&tc, &srv->throttle);
	if (st == LV_OK && opt && (opt->tls_cert_pem || opt->tls_key_pem))
		st = server_tls_start(srv, opt);
	if (st != LV_OK) {
		server_free(srv);
		return st;
	}
	/* 0: the node's setting, read per request so that `learnvault
	 * setting set` on the running node takes effect at once. */
	srv->max_body = opt && opt->max_body_bytes ? opt->max_body_bytes : 0;
	const char *host = opt && opt->host ? opt->host : "127.0.0.1";
	uint16_t port = opt ? opt->port : 0;
	unsigned threads = opt && opt->threads ? opt->threads : (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
	if (threads < 1)
		threads = 1;
	struct sockaddr_storage ss;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC;
	if (!listen_address(host, port, &ss, &flags)) {
		server_free(srv);
		return LV_ERR_INVALID;
	}
	/* HTTPS: the certificate comes from tls.c at each handshake (so that
	 * a reload needs no restart), the protocols and ciphers from
	 * LV_TLS_PRIORITIES.  Without TLS the array is empty. */
	struct MHD_OptionItem tls_opts[] = {
		{MHD_OPTION_HTTPS_CERT_CALLBACK, 0, (void *)(uintptr_t)tls_retrieve},
		{MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)(uintptr_t)LV_TLS_PRIORITIES},
		{MHD_OPTION_END, 0, NULL}};
	if (srv->tls)
		flags |= MHD_USE_TLS;
	else
		tls_opts[0].option = MHD_OPTION_END;
	/* The idle timeout stays for replies going out to a slow reader; the
	 * request's own deadline is the reaper's (limits.c). */
	srv->daemon = MHD_start_daemon(flags, port, NULL, NULL, on_request, srv,
				       MHD_OPTION_ARRAY, tls_opts,
				       MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				       MHD_OPTION_THREAD_POOL_SIZE, threads,
				       MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
				       MHD_OPTION_NOTIFY_CONNECTION, limits_notify, srv->limits,
				       MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
				       MHD_OPTION_CONNECTION_LIMIT, OPT_OR(max_connections, "max_connections", 1000u),
				       MHD_OPTION_PER_IP_CONNECTION_LIMIT,
				       OPT_OR(max_connections_per_ip, "max_connections_per_ip", 64u),
				       MHD_OPTION_END);
	if (!srv->daemon) {
		server_free(srv);
		return LV_ERR_IO;
	}
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
	srv->port = di ? di->port : port;
	*out = srv;
	return LV_OK;
}

void http_auth_counts(struct lv_server *srv, uint64_t *failures, uint64_t *throttled)
{
	throttle_counts(srv->throttle, failures, throttled);
}

bool lv_server_tls(const struct lv_server *srv)
{
	return srv->tls;
}

enum lv_status lv_server_tls_reload(struct lv_server *srv, const char *cert_pem, size_t cert_len,
				    const char *key_pem, size_t key_len)
{
	if (!srv->tls)
		return LV_ERR_UNSUPPORTED;
	struct tls_pair *p = NULL;
	enum lv_status st = tls_pair_load(cert_pem, cert_len, key_pem, key_len, &p);
	return st == LV_OK ? tls_install(p, false) : st;
}

uint16_t lv_server_port(const struct lv_server *srv)
{
	return srv->port;
}

void lv_server_destroy(struct lv_server *srv)
{
	if (!srv)
		return;
	/* Stop accepting first; MHD_stop_daemon then lets running handlers
	 * finish before it joins the worker threads. */
	MHD_socket s = MHD_quiesce_daemon(srv->daemon);
	if (s != MHD_INVALID_SOCKET)
		close(s);
	MHD_stop_daemon(srv->daemon);
	server_free(srv);
}
