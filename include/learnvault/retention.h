/* Retention enforcement (docs/privacy.md, "How long records are kept").
 *
 * The rule: a stored statement is deleted when at least one loaded policy
 * version covers it (its verb and its activity type are both in the
 * policy's data scope, as the aggregate door decides) and its stored time
 * is older than the longest retention_days among the policy versions that
 * cover it.  No policy can use it any more: the aggregate door already
 * leaves out what is older than a policy's retention.  A statement no
 * policy covers is kept (no purpose names it; the learner's and the
 * provider's doors still read it). */
#ifndef LEARNVAULT_RETENTION_H
#define LEARNVAULT_RETENTION_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "learnvault/node.h"
#include "learnvault/status.h"
#include "learnvault/store.h"

struct lv_retention_report {
	uint64_t examined;   /* statements looked at */
	uint64_t expired;    /* statements past retention (deleted unless a dry run) */
	uint64_t learners;   /* learners with at least one expired statement */
	uint64_t policies;   /* policy versions applied */
	uint64_t audit_entries; /* "retention" entries written (0 for a dry run) */
};

/* ---- the store's part (store/retention.c) ---- */

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
 * gets the counts of what was done, also after a failure part-way. */
LV_EXPORT enum lv_status lv_store_retention_apply(struct lv_node *n, lv_retention_expired_fn expired, void *ctx,
						  bool dry_run, const cJSON *entry_extra,
						  struct lv_retention_report *rep) LV_WARN_UNUSED;

/* ---- the use case (door/retention.c) ---- */

/* Applies the rule above at time @now_ms (util_now_ms() in production)
 * with every policy version loaded in the node.  *@rep is filled.  @err
 * gets a sentence on failure. */
LV_EXPORT enum lv_status lv_retention_run(struct lv_node *n, int64_t now_ms, bool dry_run,
					  struct lv_retention_report *rep, char err[LV_ERR_LEN]) LV_WARN_UNUSED;

/* The server's schedule: a thread that runs lv_retention_run
 * LV_RETENTION_FIRST_RUN_S after start (or @interval_s, if shorter) and
 * then every @interval_s seconds, logging each run's counts on stderr.  Stop it with lv_retention_schedule_stop (joins).
 * @interval_s 0: no thread (*@out NULL). */
#define LV_RETENTION_INTERVAL_DEFAULT_S 86400u
#define LV_RETENTION_FIRST_RUN_S 600u
struct lv_retention_schedule;
LV_EXPORT enum lv_status lv_retention_schedule_start(struct lv_node *n, unsigned interval_s,
						     struct lv_retention_schedule **out) LV_WARN_UNUSED;
LV_EXPORT void lv_retention_schedule_stop(struct lv_retention_schedule *s);

#endif
