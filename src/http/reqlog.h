/* http/ internals: the request log line, written when libmicrohttpd says a
 * request is over (MHD_OPTION_NOTIFY_COMPLETED).  The logger itself
 * (levels, formats, lv_log_*) is public: include/learnvault/server.h. */
#ifndef LV_HTTP_REQLOG_H
#define LV_HTTP_REQLOG_H

#include "http.h"

/* Logs @r: its wire method, its route template (r->route, set by the
 * router; "-" when no route matched: the raw path is never logged), the
 * status and body bytes of its reply, the milliseconds since it arrived,
 * the credential id and role when it authenticated, and for a 4xx/5xx
 * the error code of its JSON body.  5xx at error, 4xx at warn, the rest
 * at info.  A request that got no reply (the client went away) is logged
 * at debug with status 0. */
void reqlog_request(const struct http_req *r);

/* Records on @r the error code of a JSON error body (@data, @len): the
 * "error" member, when @status >= 400 and no code was recorded yet. */
void reqlog_note_reply(struct http_req *r, unsigned status, const void *data, size_t len);

#endif
