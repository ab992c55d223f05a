/* http/ internals: throttling failed authentication.
 *
 * Failures are counted per client address and per credential id (the
 * Basic user or the token's id) in a window that starts at the first
 * failure.  Once an address has @max_failures failures in its window,
 * every request from it that carries credentials is refused (429) until
 * the window ends.  Once a credential id has @max_failures failures (from
 * any mix of addresses), attempts on that id are refused from every
 * address that has itself failed in its window; an address with no
 * recent failure (the credential's owner) is unaffected, so an attacker
 * cannot lock a user out.  Memory is bounded: fixed tables, keyed by a
 * secret hash (no flooding one bucket), the stalest entry evicted. */
#ifndef LV_HTTP_THROTTLE_H
#define LV_HTTP_THROTTLE_H

#include <stdint.h>

#include "learnvault/status.h"

struct throttle_config {
	unsigned max_failures;   /* > 0 */
	unsigned window_s;       /* > 0 */
};

struct throttle;

/* On success *@out owns the tables; free with throttle_free.  NULL on failure. */
enum lv_status throttle_new(const struct throttle_config *cfg, struct throttle **out) __attribute__((warn_unused_result));
void throttle_free(struct throttle *t);

/* 0: @addr may try credential @id (NULL: none named); otherwise the
 * seconds until it may (Retry-After), and the attempt counts as throttled. */
unsigned throttle_check(struct throttle *t, const char *addr, const char *id);
/* Records a failure of @addr on @id (NULL: none named); returns the
 * address's failures in its window. */
unsigned throttle_failed(struct throttle *t, const char *addr, const char *id);
/* Totals since start: failed attempts, and attempts refused with 429. */
void throttle_counts(struct throttle *t, uint64_t *failures, uint64_t *throttled);

#endif
