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
	bool alternate;           /* xAPI alternate request syntax */
	struct http_param params[HTTP_MAX_PARAMS];
	size_t nparams;
	bool params_overflow;
	bool params_duplicate;
	struct http_param form_headers[16]; /* alternate syntax header fields */
	size_t nform_headers;
	const unsigned char *content;  /* effective body */
	size_t content_len;
	struct lv_principal who;
	bool authenticated;
	bool consistent_through;  /* add X-Experience-API-Consistent-Through */
	size_t max_body;          /* this request's body cap */
};

#define DEFAULT_MAX_BODY (16u << 20)

struct lv_server {
	struct MHD_Daemon *daemon;
	struct lv_node *node;
	size_t max_body;          /* fixed by the options; 0: the node's setting */
	uint16_t port;
	int64_t started_ms;       /* when lv_server_start ran (GET /admin/status) */
};

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

#endif
