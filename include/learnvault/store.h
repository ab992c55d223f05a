/* learnvault — the storage layer's interface for the modules above it
 * (consent, dp, query, personal, door, http, tools).
 *
 * Conventions (as in audit.h): out-parameters are cleared on failure;
 * borrowed pointers are valid until the call named with them.
 *
 * The node lock serialises every storage operation of a process; several
 * processes share a node through SQLite's own locking and the refresh
 * described at lv_store_lock.  Nothing above the store touches SQL, a
 * database handle or the lock itself: it calls the functions here, inside
 * an lv_store_lock section (reads) or an lv_tx (writes). */
#ifndef LEARNVAULT_STORE_H
#define LEARNVAULT_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "learnvault/node.h"
#include "learnvault/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A node.db write transaction, owned by the node (one at a time, under
 * the lock). */
struct lv_tx;

/* ---- the lock and the transaction ---- */
/* Takes the node lock and brings what this process keeps in memory up to
 * date with what other processes committed.  The lock is taken whatever
 * it returns (release it with lv_store_unlock); on failure the caller must
 * not use the node's state. */
LV_EXPORT enum lv_status lv_store_lock(struct lv_node *n) LV_WARN_UNUSED;
LV_EXPORT void lv_store_unlock(struct lv_node *n);
/* True when the calling thread holds @n's lock (for assertions). */
LV_EXPORT bool lv_store_lock_held(const struct lv_node *n);
/* Lock, BEGIN IMMEDIATE, refresh: *@out is the node's transaction,
 * borrowed until lv_tx_end.  On failure nothing is held. */
LV_EXPORT enum lv_status lv_tx_begin(struct lv_node *n, struct lv_tx **out) LV_WARN_UNUSED;
/* @st == LV_OK: COMMIT (its failure is returned); otherwise ROLLBACK,
 * drop the vaults the transaction created and the caches it may have
 * filled.  The audit entries join the tree only when committed.  Unlocks.
 * Returns the final status. */
LV_EXPORT enum lv_status lv_tx_end(struct lv_tx *tx, enum lv_status st);
/* The same two without taking or releasing the lock (the caller holds it
 * around more than the transaction). */
LV_EXPORT enum lv_status lv_tx_open_locked(struct lv_node *n, struct lv_tx **out) LV_WARN_UNUSED;
LV_EXPORT enum lv_status lv_tx_close_locked(struct lv_tx *tx, enum lv_status st);
/* Appends @entry (taken: always freed) to the audit log in @tx; *@index
 * (may be NULL) gets the new entry's index. */
LV_EXPORT enum lv_status lv_tx_audit(struct lv_tx *tx, cJSON *entry, uint64_t *index) LV_WARN_UNUSED;
/* The node's open transaction, or NULL.  Lock held. */
LV_EXPORT struct lv_tx *lv_tx_current(struct lv_node *n);


/* ---- hooks the use cases pass down ---- */

/* Run by lv_statements_store for each statement it stores, inside the
 * learner's vault transaction (a failure rolls the batch back).  The
 * store calls nothing above it; the ingest use case (door/) passes these. */
struct lv_store_hooks {
	enum lv_status (*statement_stored)(void *ctx, struct lv_node *n, const char *learner,
					   const cJSON *statement, int64_t seq);
	void *ctx;
};

/* ---- caches of the modules above, kept on the node ---- */

/* One slot per module that keeps derived state on the node (rebuilt from
 * node.db on demand).  The store drops a slot (calling its destructor)
 * when another process committed, when a transaction rolls back, and at
 * close.  Lock held for get and set. */
enum lv_node_cache {
	LV_CACHE_PERSONAL = 0, /* personal/: curriculum and model parameters */
	LV_CACHE_COUNT,
};
LV_EXPORT void *lv_node_cache_get(struct lv_node *n, enum lv_node_cache slot);
/* Replaces the slot's value (the old one is destroyed); @destroy may be NULL. */
LV_EXPORT void lv_node_cache_set(struct lv_node *n, enum lv_node_cache slot, void *value, void (*destroy)(void *));

#ifdef __cplusplus
}
#endif
#endif
