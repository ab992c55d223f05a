/* CORS for the xAPI door (issue 14): which web origins may call /xapi/
 * from a browser, and the headers that say so.  The allowed origins are
 * the node setting "cors_origins" (syntax: util_origin_list_valid), read
 * when the server starts; unset or empty: no CORS. */
#ifndef LV_HTTP_CORS_H
#define LV_HTTP_CORS_H

#include <stdbool.h>

#include "http.h"

/* The setting's value for @node, malloc'd (caller frees); NULL when unset,
 * empty or unreadable, which means no origin is allowed. */
char *cors_origins_load(struct lv_node *node);

/* The hook at the top of the /xapi dispatch, before the version and
 * credential checks.  With no Origin header, or the server's own origin,
 * it does nothing (false).  From an allowed origin it records the origin
 * for the reply's CORS headers and answers a preflight OPTIONS itself
 * (204, true).  From any other origin it answers 403 without CORS headers
 * (true), before anything can change: a form POST in the alternate
 * syntax is a CORS "simple request" that a browser sends unasked. */
bool cors_xapi(struct http_req *r, enum MHD_Result *ret);

/* Adds the CORS headers of a reply to @r: none unless cors_xapi recorded
 * an allowed origin. */
void cors_reply_headers(const struct http_req *r, struct MHD_Response *resp);

#endif
