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

/* ---- consent: policies, the consent ledger, learner facts (store/consent_repo.c) ----
 * Storage only: consent/ decides what the rows mean (lv_consent_evaluate).
 * Strings in the rows passed to a callback are borrowed for that call. */

#define LV_RECORD_ID_LEN 37          /* a consent record id: a UUID + NUL */
#define LV_STORE_SHA256_HEX_LEN 65   /* 64 lower-case hex digits + NUL */
#define LV_STORE_BIRTH_DATE_LEN 16   /* "YYYY-MM-DD" + NUL, with room to spare */

/* One row of table policies (a loaded policy version in canonical text). */
struct lv_store_policy_row {
	const char *id;
	uint32_t version;
	const char *sha256;
	int64_t loaded_ms;
	const char *text;
};
/* The newest loaded version of policy @id: *@version, @sha256 and *@text
 * (malloc'd canonical text, the caller free()s it).  LV_ERR_NOT_FOUND
 * when none is loaded; on failure *@text is NULL.  Lock held. */
LV_EXPORT enum lv_status lv_store_policy_newest(struct lv_node *n, const char *id, uint32_t *version,
						char sha256[LV_STORE_SHA256_HEX_LEN], char **text) LV_WARN_UNUSED;
/* Version @version of policy @id, as lv_store_policy_newest (@version 0
 * names no version: LV_ERR_NOT_FOUND). */
LV_EXPORT enum lv_status lv_store_policy_get(struct lv_node *n, const char *id, uint32_t version,
					     char sha256[LV_STORE_SHA256_HEX_LEN], char **text) LV_WARN_UNUSED;
/* Only the digest of (@id, @version); LV_ERR_NOT_FOUND when not loaded.
 * Lock held. */
LV_EXPORT enum lv_status lv_store_policy_sha256(struct lv_node *n, const char *id, uint32_t version,
						char sha256[LV_STORE_SHA256_HEX_LEN]) LV_WARN_UNUSED;
/* Adds a policy version; (id, version) is unique, so the caller asks
 * lv_store_policy_sha256 first (a duplicate fails).  In @tx. */
LV_EXPORT enum lv_status lv_store_policy_insert(struct lv_tx *tx, const char *id, uint32_t version,
						const char *sha256, const char *text, int64_t loaded_ms) LV_WARN_UNUSED;
/* Calls @fn for every loaded policy version, by id then version; a status
 * other than LV_OK from @fn ends the walk and is returned.  Lock held. */
LV_EXPORT enum lv_status lv_store_policies_each(struct lv_node *n,
						enum lv_status (*fn)(void *ctx, const struct lv_store_policy_row *row),
						void *ctx) LV_WARN_UNUSED;

/* The latest consent event of a learner for a policy (table
 * consent_events), as the access check needs it. */
struct lv_store_consent_event {
	char event[32];                          /* a DPV status (learnvault/consent.h) */
	uint32_t policy_version;
	char policy_sha256[LV_STORE_SHA256_HEX_LEN];
	char record_id[LV_RECORD_ID_LEN];
	char actor_role[16];                     /* "learner", "guardian", "system" */
	int64_t valid_until;                     /* ms; 0: none */
};
/* One whole row of consent_events.  For lv_store_consent_put every field
 * is required except those marked optional; valid_until is stored only
 * when has_valid_until (else NULL). */
struct lv_store_consent_row {
	const char *record_id, *learner, *policy_id;
	uint32_t policy_version;
	const char *policy_sha256, *event, *actor_role;
	const char *actor;                       /* NULL in lv_store_consent_each's rows */
	int64_t time_ms;
	bool has_valid_until;
	int64_t valid_until;
	const char *supersedes;                  /* optional: NULL */
	const char *details;                     /* optional: NULL (the receipt, JSON text) */
};
/* @learner's latest event for @policy_id into *@out; LV_ERR_NOT_FOUND
 * when there is none (*@out zeroed, as on failure).  Lock held. */
LV_EXPORT enum lv_status lv_store_consent_last(struct lv_node *n, const char *learner, const char *policy_id,
					       struct lv_store_consent_event *out) LV_WARN_UNUSED;
/* Appends event @row (rows are immutable).  In @tx (LV_ERR_INTERNAL, and
 * nothing written, without an active one). */
LV_EXPORT enum lv_status lv_store_consent_put(struct lv_tx *tx, const struct lv_store_consent_row *row) LV_WARN_UNUSED;
/* Calls @fn for each of @learner's events, oldest first (row->actor is
 * NULL); a status other than LV_OK from @fn ends the walk and is returned.
 * @fn may call other functions of this section.  Lock held. */
LV_EXPORT enum lv_status lv_store_consent_each(struct lv_node *n, const char *learner,
					       enum lv_status (*fn)(void *ctx, const struct lv_store_consent_row *row),
					       void *ctx) LV_WARN_UNUSED;
/* Calls @fn, by pseudonym, for every enrolled learner with an event for
 * @policy_id, with their latest event and their birth date (NULL: none on
 * record); a status other than LV_OK from @fn ends the walk and is
 * returned.  @fn must not touch node.db.  Lock held. */
LV_EXPORT enum lv_status lv_store_consent_cohort_each(struct lv_node *n, const char *policy_id,
						      enum lv_status (*fn)(void *ctx, const char *learner,
									   const struct lv_store_consent_event *ev,
									   const char *birth_date),
						      void *ctx) LV_WARN_UNUSED;

/* True when @learner (a pseudonym) is enrolled; false also when the read
 * fails.  Lock held. */
LV_EXPORT bool lv_store_learner_exists(struct lv_node *n, const char *learner);
/* @learner's birth date as stored (YYYY-MM-DD); LV_ERR_NOT_FOUND when
 * none is on record (@date is "" then, and on failure).  Lock held. */
LV_EXPORT enum lv_status lv_store_learner_birth_date(struct lv_node *n, const char *learner,
						     char date[LV_STORE_BIRTH_DATE_LEN]) LV_WARN_UNUSED;
/* Sets (replacing) @learner's birth date, unchecked: consent/ validates
 * it.  One statement, committed by itself.  Lock held, no transaction
 * needed. */
LV_EXPORT enum lv_status lv_store_learner_birth_date_set(struct lv_node *n, const char *learner,
							 const char *date) LV_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif
