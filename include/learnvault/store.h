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

/* ---- statement reads for the doors (door/: provider read-back, the
 * learner's door, exports) ----
 * Storage only: these decide nothing and log nothing.  The door that
 * calls them asks consent and writes the access entries before it
 * releases anything they returned. */
struct lv_statement_query; /* learnvault/statements.h */

/* Statement @id as provider @provider (a credential id) wrote it: with
 * @voided false only when it is not voided, with @voided true only when it
 * is.  *@statement (the exact stored form) is the caller's (cJSON_Delete);
 * @learner receives the pseudonym of the vault it came from.
 * LV_ERR_NOT_FOUND when there is no such statement of that provider.
 * Lock held. */
LV_EXPORT enum lv_status lv_store_statements_get(struct lv_node *n, const char *provider, const char *id,
						 bool voided, cJSON **statement,
						 char learner[LV_PSEUDONYM_LEN]) LV_WARN_UNUSED;
/* One page of @q over what provider @provider wrote (voided statements
 * excluded).  *@statements is a JSON array of stored statements and
 * *@learners a malloc'd array with the vault pseudonym of each of them,
 * row i's at index i (both the caller's: cJSON_Delete, free); *@next_seq
 * the cursor of the next page, 0 when none.  Lock held. */
LV_EXPORT enum lv_status lv_store_statements_query(struct lv_node *n, const char *provider,
						   const struct lv_statement_query *q, cJSON **statements,
						   char (**learners)[LV_PSEUDONYM_LEN],
						   int64_t *next_seq) LV_WARN_UNUSED;
/* Learner @learner's statements (all providers, voided ones included) in
 * stored order after cursor @after_seq, at most @limit (0 or more than
 * LV_QUERY_MAX_LIMIT: that maximum).  *@statements is a JSON array (the
 * caller's); *@next_seq the cursor of the next page, 0 when none.  Lock
 * held. */
LV_EXPORT enum lv_status lv_store_statements_learner_page(struct lv_node *n, const char *learner,
							  int64_t after_seq, unsigned limit, cJSON **statements,
							  int64_t *next_seq) LV_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif
