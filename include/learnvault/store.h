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
#include <stddef.h>
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

/* ---- personal: what personal/ keeps and reads (store/personal_repo.c) ---- */

/* node.db settings.  Setting @name: *@value is malloc'd (the caller
 * free()s it); LV_ERR_NOT_FOUND when absent.  Lock held. */
LV_EXPORT enum lv_status lv_store_settings_get(struct lv_node *n, const char *name, char **value) LV_WARN_UNUSED;
/* Stores setting @name = @value (replacing it), unchecked: the caller owns
 * what its settings mean.  In @tx. */
LV_EXPORT enum lv_status lv_store_settings_put(struct lv_tx *tx, const char *name, const char *value) LV_WARN_UNUSED;

/* The statement index: how many of @learner's statements are voided.
 * Lock held. */
LV_EXPORT enum lv_status lv_store_statements_count_voided(struct lv_node *n, const char *learner,
							  int64_t *count) LV_WARN_UNUSED;
/* Walks @learner's vault statements with seq > @after_seq in seq order.
 * @fn gets each one's seq and, when the index holds it for @learner and
 * not voided, its body (@len bytes, borrowed for the call); otherwise
 * @body is NULL (a voided statement, or the leftover of a batch that
 * failed after its vault commit).  A status other than LV_OK from @fn
 * ends the walk and is returned.  Lock held. */
LV_EXPORT enum lv_status lv_store_vault_statements_each(struct lv_node *n, const char *learner, int64_t after_seq,
							enum lv_status (*fn)(void *ctx, int64_t seq, const char *body,
									     size_t len),
							void *ctx) LV_WARN_UNUSED;

/* Runs @fn(@ctx) in a transaction of @learner's vault: COMMIT when it
 * returns LV_OK, else ROLLBACK and the vault's cached handle is closed.
 * Returns @fn's status or the failure of BEGIN/COMMIT.  Lock held, not
 * inside another transaction of that vault. */
LV_EXPORT enum lv_status lv_store_vault_tx(struct lv_node *n, const char *learner, enum lv_status (*fn)(void *ctx),
					   void *ctx) LV_WARN_UNUSED;

/* The learner's model state in their vault (tables personal_learner,
 * personal_items, personal_skills).  A put only reads the rows it is
 * given.  Every function: lock held; writes belong in the vault
 * transaction of an ingest hook or of lv_store_vault_tx. */
#define LV_STORE_CONFIG_ID_LEN 33 /* a configuration id: 32 hex + NUL */
struct lv_store_personal_learner {
	double theta;           /* Elo ability */
	uint32_t answers;
	int64_t last_seq;       /* highest statement seq the state covers */
	char config[LV_STORE_CONFIG_ID_LEN]; /* configuration it was built under */
	int64_t voided;         /* voided statements known when built */
};
struct lv_store_personal_item {
	const char *activity;
	bool has_memory;        /* false: stability, difficulty, last_review_ms not stored (read as 0) */
	double stability, difficulty;
	int64_t last_review_ms;
	uint32_t reviews, lapses;
	int last_grade;
	double b;
	uint32_t answers;
	char *skills;           /* comma-joined skill ids, or NULL */
};
struct lv_store_personal_skill {
	const char *skill;
	double known;
	uint32_t responses, correct;
	int64_t updated_ms;
};
/* The learner row (*@have false and *@out zeroed when there is none yet)
 * and *@pending, the number of vault statements after its last_seq.
 * LV_ERR_NOT_FOUND for an unknown learner. */
LV_EXPORT enum lv_status lv_store_personal_learner_get(struct lv_node *n, const char *learner,
						       struct lv_store_personal_learner *out, bool *have,
						       int64_t *pending) LV_WARN_UNUSED;
/* The row of @activity, *@found false (and *@out zeroed) when none.  On
 * success out->skills is malloc'd or NULL (the caller frees it) and
 * out->activity is @activity. */
LV_EXPORT enum lv_status lv_store_personal_item_get(struct lv_node *n, const char *learner, const char *activity,
						    struct lv_store_personal_item *out, bool *found) LV_WARN_UNUSED;
/* The row of @skill, *@found false (and *@out zeroed) when none;
 * out->skill is @skill. */
LV_EXPORT enum lv_status lv_store_personal_skill_get(struct lv_node *n, const char *learner, const char *skill,
						     struct lv_store_personal_skill *out, bool *found) LV_WARN_UNUSED;
/* Calls @fn for every item row / every skill row of the vault; a status
 * other than LV_OK from @fn ends the walk and is returned.  An item row's
 * skills (malloc'd or NULL) become @fn's, whatever it returns; its other
 * strings are borrowed for the call. */
LV_EXPORT enum lv_status lv_store_personal_items_each(struct lv_node *n, const char *learner,
						      enum lv_status (*fn)(void *ctx,
									   const struct lv_store_personal_item *row),
						      void *ctx) LV_WARN_UNUSED;
LV_EXPORT enum lv_status lv_store_personal_skills_each(struct lv_node *n, const char *learner,
						       enum lv_status (*fn)(void *ctx,
									    const struct lv_store_personal_skill *row),
						       void *ctx) LV_WARN_UNUSED;
/* Writes (replacing) @nitems item rows, @nskills skill rows and the
 * learner row @l, in that order; stops at the first failure. */
LV_EXPORT enum lv_status lv_store_personal_put(struct lv_node *n, const char *learner,
					       const struct lv_store_personal_item *items, size_t nitems,
					       const struct lv_store_personal_skill *skills, size_t nskills,
					       const struct lv_store_personal_learner *l) LV_WARN_UNUSED;
/* Deletes every row of the model state (before a rebuild writes it anew). */
LV_EXPORT enum lv_status lv_store_personal_clear(struct lv_node *n, const char *learner) LV_WARN_UNUSED;

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
