/* Shared pieces of the xAPI routes. */
#ifndef LV_HTTP_XAPI_HTTP_H
#define LV_HTTP_XAPI_HTTP_H

#include <stdint.h>

#include "http.h"

/* RFC 7231 IMF-fixdate of @ms into @out (at least 30 bytes). */
void xapi_http_date(int64_t ms, char out[64]);
/* Percent-encodes everything but RFC 3986 unreserved characters. malloc'd. */
char *xapi_url_encode(const char *s);

/* Whether Content-Type @ct names the media type @type exactly (case
 * apart), with or without parameters: "application/json; charset=utf-8"
 * is application/json, "application/jsonxyz" is not (issue 13). */
bool xapi_media_is(const char *ct, const char *type);

/* Whether @r is an xAPI 2.0 request (X-Experience-API-Version 2.0.x). */
bool xapi_request_is_v2(const struct http_req *r);

enum MHD_Result xapi_statements_write(struct http_req *r, bool put);
enum MHD_Result xapi_statements_get(struct http_req *r);
enum MHD_Result xapi_documents(struct http_req *r, enum lv_doc_kind kind);
enum MHD_Result xapi_activities_get(struct http_req *r);
enum MHD_Result xapi_agents_get(struct http_req *r);

#endif
