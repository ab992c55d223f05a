/* http/ internals: the web door's browser sessions, in server memory.
 *
 * A session maps a random id (the lv_session cookie) to the principal of
 * the credential that opened it.  The store keeps only a BLAKE2b hash of
 * each id, so a memory dump does not hand out live cookies, and compares
 * hashes in constant time.  Idle and absolute expiry are checked on every
 * lookup; an expired session is removed when it is met.  The number of
 * live sessions is capped: opening one more evicts the oldest.  Every
 * function takes the store's own mutex (the server runs worker threads);
 * none of them takes the node's lock.
 *
 * Out-parameters are cleared on failure. */
#ifndef LV_HTTP_SESSION_H
#define LV_HTTP_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "learnvault/node.h"
#include "learnvault/status.h"

#define SESSION_ID_LEN 44        /* base64url of 32 random bytes (43) + NUL */
#define SESSION_CSRF_LEN 44      /* the same for the CSRF token */
#define SESSION_MAX_LIVE 10000   /* default cap on live sessions */

struct session_store;

/* What a session says about its holder.  @who owns its strings: release
 * with session_info_clear. */
struct session_info {
	struct lv_principal who;
	char csrf[SESSION_CSRF_LEN];
	int64_t idle_expires;    /* ms since the epoch: last use + idle limit (at most @expires) */
	int64_t expires;         /* ms since the epoch: opened + absolute limit */
};
void session_info_clear(struct session_info *info);

/* A store holding at most @cap live sessions (0: SESSION_MAX_LIVE).  On
 * success *@out owns it; free with session_store_free. */
enum lv_status session_store_new(size_t cap, struct session_store **out);
/* Wipes and frees every session.  NULL is a no-op. */
void session_store_free(struct session_store *s);

/* Opens a session for @who (copied) at @now, idle limit @idle_ms, absolute
 * limit @max_ms (both > 0).  @id receives the cookie value, @info (may be
 * NULL) the session's view; the oldest session is evicted if the store is
 * full.  LV_ERR_NOMEM, LV_ERR_INVALID. */
enum lv_status session_open(struct session_store *s, const struct lv_principal *who, int64_t now,
			    int64_t idle_ms, int64_t max_ms, char id[SESSION_ID_LEN],
			    struct session_info *info) __attribute__((warn_unused_result));

/* The session whose cookie value is @id, used at @now: its idle clock
 * restarts.  LV_ERR_UNAUTHORIZED when there is none or it expired (then it
 * is removed).  *@info is filled on success (may be NULL to only touch). */
enum lv_status session_use(struct session_store *s, const char *id, int64_t now,
			   struct session_info *info) __attribute__((warn_unused_result));

/* Ends the session @id.  False when there was none. */
bool session_end(struct session_store *s, const char *id);

/* Ends every session opened with credential @cred_id; returns how many. */
size_t session_end_credential(struct session_store *s, const char *cred_id);

/* Live sessions (expired ones not yet met count too). */
size_t session_count(struct session_store *s);

#endif
