/* http/ internals: one request as the route handlers see it. */
#ifndef LV_HTTP_HTTP_H
#define LV_HTTP_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "learnvault/node.h"
#include "learnvault/statements.h"
#include "learnvault/util.h"
#include "learnvault/xapi.h"

#define HTTP_MAX_PARAMS 64

struct http_param {
	char *name;
	char *value;
};

struct http_req {
	struct lv_server *srv;
	struct lv_node *node;
	struct MHD_Connection *conn;
	const char *method;       /* effective method (alternate syntax applied) */
	char *path;               /* URL path */
	struct buf body;          /* request body (capped) */
	bool too_large;
	bool replied;             /* a reply is queued: ignore further body */
	unsigned retry_after;     /* > 0: authentication throttled (429) */
	bool alternate;           /* xAPI alternate request syntax */
	struct http_param params[HTTP_MAX_PARAMS];
	size_t nparams;
	bool params_overflow;
	bool params_duplicate;
	bool params_unclean;       /* a name or value with NUL, a control character or not UTF-8 */
	struct http_param form_headers[16]; /* alternate syntax header fields */
	size_t nform_headers;
	const unsigned char *content;  /* effective body */
	size_t content_len;
	struct lv_principal who;
	bool authenticated;
	bool by_session;          /* @who comes from the lv_session cookie */
	bool cookie_seen;         /* an lv_session cookie came, valid or not */
	char csrf[44];            /* by_session: the session's CSRF token */
	char set_cookie[160];     /* a Set-Cookie value for the reply, "" for none */
	const char *wire_method;  /* the method on the wire (before alternate syntax) */
	bool consistent_through;  /* add X-Experience-API-Consistent-Through */
	/* The xAPI version the request speaks (xapi_routes.c); its name is
	 * the response's X-Experience-API-Version (NULL: "1.0.3"). */
	enum lv_xapi_version xapi;
	const char *xapi_version;
	size_t max_body;          /* this request's body cap */
	const char *cors_origin;  /* an allowed Origin (cors.c), borrowed from MHD; NULL: no CORS */
	/* The request log (reqlog.c): set by the router and the replies. */
	const char *route;        /* route template ("/learner/consents/{id}"),
				   * static storage; NULL: no route matched */
	int64_t start_ms;         /* when the request's headers arrived */
	unsigned log_status;      /* status of the reply queued, 0: none */
	size_t log_bytes;         /* its body bytes */
	char log_error[48];       /* a 4xx/5xx body's "error" code, "" */
	char log_credential[LV_CRED_ID_LEN]; /* the last credential that passed
				   * http_credential_check ("" none): a /session
				   * login's too, which r->who does not hold */
	enum lv_role log_role;
};

#define DEFAULT_MAX_BODY (16u << 20)

struct session_store;
struct limits;
struct throttle;

struct lv_server {
	struct MHD_Daemon *daemon;
	struct lv_node *node;
	size_t max_body;          /* fixed by the options; 0: the node's setting */
	uint16_t port;
	int64_t started_ms;       /* when lv_server_start ran (GET /admin/status) */
	struct session_store *sessions;  /* the web door's browser sessions */
	bool secure_cookies;
	int64_t clock_skew_ms;    /* added to the sessions' clock; tests only (atomic) */
	struct limits *limits;    /* request deadline and body rate */
	struct throttle *throttle; /* failed authentication */
	char *cors_origins;       /* the setting cors_origins at start (cors.c); NULL: none */
	bool tls;                 /* HTTPS (tls.c holds the credentials) */
};

/* The sessions' clock: now, plus the skew a test set. */
int64_t http_now_ms(const struct lv_server *srv);
/* Test hook: moves the sessions' clock @ms forward, so a test sees idle
 * and absolute expiry without waiting for them. */
void http_server_advance_clock(struct lv_server *srv, int64_t ms);

/* Checks @secret for credential @id (@idlen bytes as sent, not
 * NUL-terminated) unless the client is throttled (then r->retry_after > 0
 * and false); a failure is counted and logged, never the secret.  Fills
 * @who on success (clear with lv_principal_clear), zeroes it otherwise. */
bool http_credential_check(struct http_req *r, const char *id, size_t idlen, const char *secret,
			   struct lv_principal *who) __attribute__((warn_unused_result));
/* 429 with Retry-After: r->retry_after. */
enum MHD_Result reply_throttled(struct http_req *r);
/* Failed authentications and 429s since the server started (GET /admin/status). */
void http_auth_counts(struct lv_server *srv, uint64_t *failures, uint64_t *throttled);

/* Parameter lookup (query string, or the form body in alternate syntax). */
const char *req_param(const struct http_req *r, const char *name);
/* Header lookup (alternate syntax: form fields override). */
const char *req_header(const struct http_req *r, const char *name);

/* Responses.  Each queues the reply and returns the MHD result. */
enum MHD_Result reply_error(struct http_req *r, unsigned status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
enum MHD_Result reply_status(struct http_req *r, enum lv_status st, const char *message);
/* Takes ownership of @json; adds @extra headers ("Name", "value", ..., NULL). */
enum MHD_Result reply_json(struct http_req *r, unsigned status, cJSON *json, ...);
/* Copies @data. @extra: NULL-terminated name/value pairs. */
enum MHD_Result reply_bytes(struct http_req *r, unsigned status, const char *content_type,
			    const void *data, size_t len, const char *const *extra);
/* A reply of @size bytes that MHD pulls from @read in blocks (a body never
 * held whole); @done(@ctx) runs when it is sent or abandoned, and at once
 * if the reply cannot be made. */
enum MHD_Result reply_stream(struct http_req *r, unsigned status, const char *content_type, uint64_t size,
			     MHD_ContentReaderCallback read, void *ctx, MHD_ContentReaderFreeCallback done,
			     const char *const *extra);

/* Route handlers (http/xapi_*.c). */
enum MHD_Result xapi_route(struct http_req *r);
enum MHD_Result policies_route(struct http_req *r);
enum MHD_Result audit_route(struct http_req *r);
enum MHD_Result learner_route(struct http_req *r);
enum MHD_Result aggregate_route(struct http_req *r);
enum MHD_Result admin_route(struct http_req *r);
/* admin_api.c (the role is checked by admin_route): @rest is what follows
 * the collection's path, "" or "/{member}...". */
enum MHD_Result admin_status(struct http_req *r);
enum MHD_Result admin_learners(struct http_req *r, const char *rest);
enum MHD_Result admin_credentials(struct http_req *r, const char *rest);
enum MHD_Result admin_policies(struct http_req *r);
enum MHD_Result admin_settings(struct http_req *r, const char *rest);
/* personal_routes.c: GET /learner/next|mastery|reviews (@sub: the part after /learner). */
enum MHD_Result personal_route(struct http_req *r, const char *sub);

/* The front-end files embedded at build time (web_assets.c, generated by
 * src/web/embed.py).  Static storage, terminated by a row of NULLs. */
struct web_asset {
	const char *path;          /* URL path: "/" + path under src/web */
	const char *content_type;
	const unsigned char *data;
	size_t len;
	const char *etag;          /* strong, quoted: "\"<hex SHA-256 prefix>\"" */
};
extern const struct web_asset web_assets[];
extern const size_t web_assets_count;

/* session_routes.c: POST|GET|DELETE /session. */
enum MHD_Result session_route(struct http_req *r);
/* session_routes.c: authenticates @r by its lv_session cookie, if any.
 * Sets r->who, r->authenticated, r->by_session and r->csrf. */
void session_authenticate(struct http_req *r);
/* The X-CSRF-Token header of @r equals its session's token (constant time). */
bool session_csrf_ok(const struct http_req *r);

/* static_routes.c: the embedded asset at @path ("/" is index.html), NULL if none. */
const struct web_asset *static_find(const char *path);
/* GET/HEAD of an embedded asset (304 on a matching If-None-Match). */
enum MHD_Result static_route(struct http_req *r, const struct web_asset *a);

#endif
