/* CORS for /xapi/ (issue 14).  Browsers send no credentials and no custom
 * header on a preflight, so the preflight is answered here, before the
 * version and credential checks.  The allowed origin is echoed, never
 * "*", and no Access-Control-Allow-Credentials is sent: the xAPI clients
 * send their Authorization header themselves, and cookies (the web door's
 * session) stay out of cross-origin calls. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cors.h"

#define ALLOW_METHODS "GET, HEAD, PUT, POST, DELETE, OPTIONS"
#define ALLOW_HEADERS "Authorization, X-Experience-API-Version, Content-Type, If-Match, If-None-Match"
#define EXPOSE_HEADERS "ETag, Last-Modified, X-Experience-API-Consistent-Through, X-Experience-API-Version"
/* Chromium caps a preflight's cache at two hours; ten minutes keeps a
 * changed setting from lingering long in browsers. */
#define MAX_AGE "600"

char *cors_origins_load(struct lv_node *node)
{
	char *v = NULL;
	if (lv_node_setting_get(node, "cors_origins", &v) != LV_OK || !v || !*v ||
	    !util_origin_list_valid(v)) {
		free(v);
		return NULL;
	}
	return v;
}

/* Whether @origin names this server as the request reached it: the
 * Origin's host[:port] is the Host header.  Such a request is not
 * cross-origin and needs no permission. */
static bool same_origin(const struct http_req *r, const char *origin)
{
	const char *host = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Host");
	const char *sep = strstr(origin, "://");
	return host && sep && strcasecmp(sep + 3, host) == 0;
}

bool cors_xapi(struct http_req *r, enum MHD_Result *ret)
{
	const char *origin = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Origin");
	bool preflight = strcmp(r->wire_method, "OPTIONS") == 0;
	if (!origin || (!preflight && same_origin(r, origin)))
		return false;
	if (!util_origin_allowed(r->srv->cors_origins, origin)) {
		*ret = reply_error(r, 403, "cors_origin", "origin not allowed: see the node setting cors_origins");
		return true;
	}
	r->cors_origin = origin;
	if (!preflight)
		return false;
	const char *extra[] = {"Access-Control-Allow-Methods", ALLOW_METHODS,
			       "Access-Control-Allow-Headers", ALLOW_HEADERS,
			       "Access-Control-Max-Age", MAX_AGE, NULL};
	*ret = reply_bytes(r, 204, NULL, "", 0, extra);
	return true;
}

void cors_reply_headers(const struct http_req *r, struct MHD_Response *resp)
{
	if (!r->cors_origin)
		return;
	MHD_add_response_header(resp, "Access-Control-Allow-Origin", r->cors_origin);
	MHD_add_response_header(resp, "Access-Control-Expose-Headers", EXPOSE_HEADERS);
	MHD_add_response_header(resp, "Vary", "Origin");
}
