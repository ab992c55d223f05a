/* http/ internals: a deadline and a minimum rate for each request, on top
 * of libmicrohttpd's own idle timeout (which every received byte resets,
 * so a client trickling one byte at a time would hold a slot forever).
 *
 * Every connection is tracked from MHD's NOTIFY_CONNECTION callback.  A
 * reaper thread looks at them a few times a second and shuts down the
 * socket of one that is still receiving its request (headers or body)
 * past the deadline, or whose body arrives slower than the minimum rate
 * after a grace period.  shutdown() wakes the worker thread that owns
 * the connection; MHD then closes it as it would any dropped peer.  A
 * request being served (handler running, reply going out) is never cut:
 * slow readers are MHD's idle timeout's business. */
#ifndef LV_HTTP_LIMITS_H
#define LV_HTTP_LIMITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

#include "learnvault/status.h"

struct limits_config {
	unsigned deadline_ms;     /* headers and body of one request; > 0 */
	unsigned min_rate;        /* body bytes per second; 0: no minimum */
	unsigned grace_ms;        /* the body's rate is judged after this long */
};

struct limits;

/* Starts the reaper.  On success *@out owns it; free with limits_free
 * after MHD_stop_daemon (no connection may be left).  *@out is NULL on
 * failure. */
enum lv_status limits_new(const struct limits_config *cfg, struct limits **out) __attribute__((warn_unused_result));
/* Stops the reaper and frees.  NULL is a no-op. */
void limits_free(struct limits *l);

/* MHD_OPTION_NOTIFY_CONNECTION's callback (@cls: the struct limits). */
void limits_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
		   enum MHD_ConnectionNotificationCode code);

/* The request on @conn has been received and goes to its handler: the
 * deadline no longer applies to it. */
void limits_serving(struct MHD_Connection *conn);
/* The request on @conn is over (MHD's NOTIFY_COMPLETED): the next one on
 * the same connection starts its own deadline now. */
void limits_request_done(struct MHD_Connection *conn);
/* @conn is answered before its body was read to the end (413, 408): when
 * MHD closes it, its socket is kept a little longer (a dup, at most 2 s
 * and 4 MiB, 64 sockets at once) to read and drop what the client still
 * sends, so that the client reads the reply instead of a reset. */
void limits_linger(struct MHD_Connection *conn);
/* @n more body bytes arrived on @conn. */
void limits_body_bytes(struct MHD_Connection *conn, size_t n);
/* The request on @conn is past its deadline (checked when bytes arrive,
 * so a reply can still say 408 before the reaper cuts the socket). */
bool limits_past_deadline(struct MHD_Connection *conn);
/* Connections cut so far (deadline or rate). */
uint64_t limits_cut_count(const struct limits *l);

#endif
