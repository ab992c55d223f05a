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
/* Caps node.db's page cache of this process at @kib KiB (store/cache_limit.c):
 * for a command that must stay within a memory bound. */
LV_EXPORT enum lv_status lv_store_cache_limit(struct lv_node *n, unsigned kib) LV_WARN_UNUSED;
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
/* Signs @r (its origin is set to the node's) with the node's log key as
 * a release receipt (lv_release_receipt_sign, learnvault/audit.h); *@note
 * is the caller's (free()).  Lock held. */
struct lv_release_receipt;
LV_EXPORT enum lv_status lv_store_release_receipt_sign_locked(struct lv_node *n, struct lv_release_receipt *r,
							      char **note) LV_WARN_UNUSED;


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
 * stored order after cursor @after_seq and up to @until_seq (0: no bound),
 * at most @limit (0 or more than
 * LV_QUERY_MAX_LIMIT: that maximum).  *@statements is a JSON array (the
 * caller's); *@next_seq the cursor of the next page, 0 when none.  Lock
 * held. */
LV_EXPORT enum lv_status lv_store_statements_learner_page(struct lv_node *n, const char *learner, int64_t after_seq,
							 int64_t until_seq, unsigned limit, cJSON **statements,
							 int64_t *next_seq) LV_WARN_UNUSED;
/* How many statements learner @learner has, and the last one's sequence
 * number (0 when none).  Lock held. */
LV_EXPORT enum lv_status lv_store_learner_statements_span(struct lv_node *n, const char *learner, int64_t *count,
							  int64_t *last_seq) LV_WARN_UNUSED;
/* The signed statements of @learner: *@out is a JSON object (the
 * caller's) mapping each one's id to "verified" or "unverifiable" (enum
 * lv_xapi_signature, as recorded when it was stored); unsigned statements
 * are absent.  Lock held. */
LV_EXPORT enum lv_status lv_store_statement_signatures(struct lv_node *n, const char *learner,
						       cJSON **out) LV_WARN_UNUSED;

/* ---- the aggregate door (query/, dp/) ----
 * Storage only: policy texts, kept releases, the privacy-budget ledger,
 * the voided statements, term ids, and a cohort's sealed facts read from
 * a snapshot.  These decide nothing and log nothing: the use case that
 * calls them checks consent and writes the audit entries. */

#define LV_STORE_SHA256_HEX_LEN 65 /* 64 hex digits + NUL */

/* The newest loaded version of policy @id: *@version, its digest
 * @sha256 (may be NULL) and *@text, the policy as loaded (malloc'd: the
 * caller frees it).  LV_ERR_NOT_FOUND when none is loaded.  Lock held. */
LV_EXPORT enum lv_status lv_store_policy_newest(struct lv_node *n, const char *id, uint32_t *version,
						char sha256[LV_STORE_SHA256_HEX_LEN], char **text) LV_WARN_UNUSED;

/* A kept release: the answer given to (actor, query_id). */
struct lv_store_release {
	const char *actor, *query_id, *purpose;
	const char *request_sha256; /* of the canonical question */
	int64_t day;                /* of the release, in days since the epoch */
	uint64_t micro_eps;         /* charged */
	const char *answer;         /* JSON text */
	int64_t created_ms;
};
/* The release kept for (@actor, @query_id): *@request_sha256 and
 * *@answer (both malloc'd: the caller frees them).  LV_ERR_NOT_FOUND when
 * none.  Lock held. */
LV_EXPORT enum lv_status lv_store_release_get(struct lv_node *n, const char *actor, const char *query_id,
					      char **request_sha256, char **answer) LV_WARN_UNUSED;
/* Keeps @r (its strings are copied).  Lock held, in a transaction. */
LV_EXPORT enum lv_status lv_store_release_put(struct lv_node *n, const struct lv_store_release *r) LV_WARN_UNUSED;

/* The privacy-budget ledger, in micro-epsilon per (purpose, learner, day).
 * Lock held, in a transaction, for all three. */
/* *@micro: what the releases of @purpose charged in total since @from_day. */
LV_EXPORT enum lv_status lv_store_budget_purpose_spent(struct lv_node *n, const char *purpose, int64_t from_day,
						       uint64_t *micro) LV_WARN_UNUSED;
/* @spent[i]: what was charged to @learners[i] (@count of them, sorted by
 * pseudonym in strcmp order) under @purpose since @from_day. */
LV_EXPORT enum lv_status lv_store_budget_learners_spent(struct lv_node *n, const char *purpose, int64_t from_day,
							const char *const *learners, size_t count,
							uint64_t *spent) LV_WARN_UNUSED;
/* Charges @micro to each of @learners for @day under @purpose, and
 * forgets the purpose's charges before @from_day. */
LV_EXPORT enum lv_status lv_store_budget_charge(struct lv_node *n, const char *purpose, int64_t day, int64_t from_day,
						const char *const *learners, size_t count,
						uint64_t micro) LV_WARN_UNUSED;

/* Holds: the ε of aggregates admitted but not yet released, in this
 * process's memory only (a crash loses them with the queries they held
 * for).  A query holds its ε from admission until its release commits or
 * fails, so whether a purpose's cap admits it is decided once, at
 * admission, and never by which of two concurrent releases commits first
 * (that order follows how long each took over its cohort).  Thread-safe;
 * callable with or without the lock. */
/* Holds @micro against @purpose (copied): *@hold is its id (never 0;
 * 0 on failure). */
LV_EXPORT enum lv_status lv_store_budget_hold(struct lv_node *n, const char *purpose, uint64_t micro,
					      uint64_t *hold) LV_WARN_UNUSED;
/* Ends hold @hold (0, or an id already ended: nothing). */
LV_EXPORT void lv_store_budget_unhold(struct lv_node *n, uint64_t hold);
/* The micro-ε held against @purpose by every hold but @except (0: none). */
LV_EXPORT uint64_t lv_store_budget_held(struct lv_node *n, const char *purpose, uint64_t except);

/* ---- federation (query/federate.c) ----
 * Storage only: DAP tasks, who was uploaded per task and batch interval,
 * and the outbox of sealed reports.  Lock held for all. */
/* Adds task @task_id with @spec (canonical JSON).  LV_ERR_EXISTS when
 * the same task is there with the same spec (nothing changes),
 * LV_ERR_CONFLICT when with another.  In a transaction. */
LV_EXPORT enum lv_status lv_store_fed_task_put(struct lv_node *n, const char *task_id, const char *spec,
					       int64_t now_ms) LV_WARN_UNUSED;
/* *@spec: task @task_id's spec (malloc'd, the caller frees it);
 * LV_ERR_NOT_FOUND when none. */
LV_EXPORT enum lv_status lv_store_fed_task_get(struct lv_node *n, const char *task_id, char **spec) LV_WARN_UNUSED;
/* *@tasks: a JSON array of {"task_id", "added", "spec": {...}, "outbox": n}
 * in task id order (the caller's). */
LV_EXPORT enum lv_status lv_store_fed_task_list(struct lv_node *n, cJSON **tasks) LV_WARN_UNUSED;
/* @uploaded[i]: whether @learners[i] (@count) was uploaded for @task_id
 * in batch interval @interval. */
LV_EXPORT enum lv_status lv_store_fed_uploaded(struct lv_node *n, const char *task_id, int64_t interval,
					       const char *const *learners, size_t count,
					       bool *uploaded) LV_WARN_UNUSED;
/* Records @learners (@count) as uploaded for (@task_id, @interval).  In
 * a transaction. */
LV_EXPORT enum lv_status lv_store_fed_mark_uploaded(struct lv_node *n, const char *task_id, int64_t interval,
						    const char *const *learners, size_t count) LV_WARN_UNUSED;
/* Appends a sealed report to @task_id's outbox.  In a transaction. */
LV_EXPORT enum lv_status lv_store_fed_outbox_put(struct lv_node *n, const char *task_id, const unsigned char *report,
						 size_t len, int64_t now_ms) LV_WARN_UNUSED;
/* One outbox entry. */
struct lv_store_fed_report {
	int64_t id;
	unsigned char *report; /* malloc'd */
	size_t len;
};
/* *@items: up to @max of @task_id's oldest outbox entries with id >
 * @after, in id order (*@count of them; free with
 * lv_store_fed_reports_free). */
LV_EXPORT enum lv_status lv_store_fed_outbox_batch(struct lv_node *n, const char *task_id, int64_t after, size_t max,
						   struct lv_store_fed_report **items, size_t *count) LV_WARN_UNUSED;
LV_EXPORT void lv_store_fed_reports_free(struct lv_store_fed_report *items, size_t count);
/* Removes the outbox entries @ids (@count): delivered, or refused for
 * good.  In a transaction. */
LV_EXPORT enum lv_status lv_store_fed_outbox_delete(struct lv_node *n, const int64_t *ids,
						    size_t count) LV_WARN_UNUSED;

/* The index sequence numbers of the voided statements, ascending:
 * *@seqs is malloc'd (the caller frees it; NULL when *@count is 0).
 * Lock held. */
LV_EXPORT enum lv_status lv_store_statements_voided(struct lv_node *n, int64_t **seqs, size_t *count) LV_WARN_UNUSED;

/* Terms: the node's small integer ids of IRIs (IRIs are not learner
 * data).  *@id is 0 for NULL or an IRI the node never stored.  Lock held. */
LV_EXPORT enum lv_status lv_store_term_find(struct lv_node *n, const char *iri, uint32_t *id) LV_WARN_UNUSED;
/* *@max_id: the largest term id (0: none).  Lock held. */
LV_EXPORT enum lv_status lv_store_term_max_id(struct lv_node *n, uint32_t *max_id) LV_WARN_UNUSED;
/* Calls @each(@ctx, id, iri) for every term in id order (@iri borrowed
 * for the call), stopping at the first failure it returns.  Lock held. */
LV_EXPORT enum lv_status lv_store_terms_each(struct lv_node *n,
					     enum lv_status (*each)(void *ctx, uint32_t id, const char *iri),
					     void *ctx) LV_WARN_UNUSED;

/* One statement as the aggregate door sees it (the record the store keeps
 * beside each stored statement).  IRIs are term ids (0: none); tri-states
 * are -1 (absent), 0, 1. */
#define LV_FACT_NO_SCORE INT32_MIN
#define LV_FACT_MAX_CTX 8 /* context activities kept per statement */
struct lv_fact {
	int64_t seq;           /* index sequence number (voiding is checked against it) */
	int64_t stored_ms;
	int64_t timestamp_ms;
	int64_t duration_ms;   /* -1: absent */
	int32_t score_e6;      /* result.score.scaled x 10^6, LV_FACT_NO_SCORE when absent */
	uint32_t verb, object, type;
	int8_t success, completion;
	uint8_t nctx, has_registration;
	unsigned char registration[16];
	uint32_t ctx[LV_FACT_MAX_CTX];
};

/* Moves the facts that ingest journaled into the per-learner table; every
 * reader of the facts calls it first.  Lock held, in a transaction. */
LV_EXPORT enum lv_status lv_store_facts_fold(struct lv_node *n) LV_WARN_UNUSED;

/* The snapshot: node.db as committed at one instant, read with no lock
 * held while the node goes on writing (one user at a time).
 * lv_store_snapshot_acquire takes it, waiting while another user holds
 * it; never with the lock held.  lv_store_snapshot_begin_locked starts
 * the read: lock held, snapshot acquired, no transaction open (what is
 * not committed is not seen); on failure no read is open.
 * lv_store_snapshot_release ends the read if one was begun and gives the
 * snapshot up; not with the lock held. */
LV_EXPORT void lv_store_snapshot_acquire(struct lv_node *n);
LV_EXPORT enum lv_status lv_store_snapshot_begin_locked(struct lv_node *n) LV_WARN_UNUSED;
LV_EXPORT void lv_store_snapshot_release(struct lv_node *n);
/* Opens the sealed facts of @learners (@count, sorted by pseudonym in
 * strcmp order) as the snapshot sees them and calls @each(@ctx, i, facts,
 * nfacts) once for each learner, in order, with learner i's facts in
 * stored order (nfacts 0 for a learner without any).  @facts is borrowed
 * for the call (the store wipes it when the read ends).  Stops at the first failure, @each's
 * included; LV_ERR_CRYPTO when a segment does not authenticate.  No lock
 * held: between a successful lv_store_snapshot_begin_locked and
 * lv_store_snapshot_release. */
LV_EXPORT enum lv_status lv_store_snapshot_facts(struct lv_node *n, const char *const *learners, size_t count,
						 enum lv_status (*each)(void *ctx, size_t i, const struct lv_fact *facts,
									size_t nfacts),
						 void *ctx) LV_WARN_UNUSED;

/* ---- consent: policies, the consent ledger, learner facts (store/consent_repo.c) ----
 * Storage only: consent/ decides what the rows mean (lv_consent_evaluate).
 * Strings in the rows passed to a callback are borrowed for that call. */

#define LV_RECORD_ID_LEN 37          /* a consent record id: a UUID + NUL */
/* DPV consent statuses, the values of a consent event row.  The first two
 * grant (consent/: consent_is_grant); the erasure ends a grant by deleting
 * every row (lv_store_consent_erase). */
#define LV_CONSENT_GIVEN "ConsentGiven"
#define LV_CONSENT_RENEWED "RenewedConsentGiven"
#define LV_CONSENT_REFUSED "ConsentRefused"
#define LV_CONSENT_WITHDRAWN "ConsentWithdrawn"
#define LV_CONSENT_EXPIRED "ConsentExpired"
#define LV_STORE_BIRTH_DATE_LEN 16   /* "YYYY-MM-DD" + NUL, with room to spare */

/* One row of table policies (a loaded policy version in canonical text). */
struct lv_store_policy_row {
	const char *id;
	uint32_t version;
	const char *sha256;
	int64_t loaded_ms;
	const char *text;
};
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
 * it.  In @tx (LV_ERR_INTERNAL, and nothing written, without an active
 * one), so that the change commits with its audit entry. */
LV_EXPORT enum lv_status lv_store_learner_birth_date_set(struct lv_tx *tx, const char *learner,
							 const char *date) LV_WARN_UNUSED;
/* The erasure's part of the ledger: appends to the JSON array @ended, for
 * each policy whose latest event of @learner is a grant (LV_CONSENT_GIVEN
 * or LV_CONSENT_RENEWED), {"policy": ID, "record_id": RID} by policy id,
 * then deletes every consent event row of @learner, so that a later
 * enrolment of the same identifier starts with none (the audit log keeps
 * the history).  In @tx. */
LV_EXPORT enum lv_status lv_store_consent_erase(struct lv_tx *tx, const char *learner,
						cJSON *ended) LV_WARN_UNUSED;

/* ---- retention (store/retention.c; the rule: learnvault/retention.h) ---- */

struct lv_retention_report {
	uint64_t examined;   /* statements looked at */
	uint64_t expired;    /* statements past retention (deleted unless a dry run) */
	uint64_t learners;   /* learners with at least one expired statement */
	uint64_t policies;   /* policy versions applied */
	uint64_t audit_entries; /* "retention" entries written (0 for a dry run) */
};

/* Whether the statement of record @f is past retention. */
typedef bool (*lv_retention_expired_fn)(void *ctx, const struct lv_fact *f);

/* Walks every learner's aggregate facts (the record kept beside each
 * statement) and, for those @expired says are past retention, deletes
 * the statement from the learner's vault, from the index (statements,
 * statement_keys) and from the facts.  A batch of learners is one node.db
 * transaction with one audit entry {"type":"retention", "statements",
 * "learners", "run", "policies"} (@entry_extra's members are copied into
 * it; counts only, never a learner); the vault rows go right after its
 * commit.  A run that deletes nothing writes one entry with zero counts.
 * @dry_run: counts only, changes nothing, and works beside a server; a
 * real run needs the vaults (LV_ERR_IN_USE otherwise).  @rep (may be NULL)
 * gets the counts of what was done, also after a failure part-way.
 * @stopped (may be NULL), asked before each batch: true ends the run
 * there with LV_ERR_BUSY (what was committed stays, audited). */
LV_EXPORT enum lv_status lv_store_retention_apply(struct lv_node *n, lv_retention_expired_fn expired,
						  bool (*stopped)(void *ctx), void *ctx, bool dry_run,
						  const cJSON *entry_extra, struct lv_retention_report *rep) LV_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif
