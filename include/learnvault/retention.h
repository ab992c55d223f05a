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

/* struct lv_retention_report and the store's part, lv_store_retention_apply:
 * learnvault/store.h. */

/* ---- the use case (door/retention.c) ---- */

/* Applies the rule above at time @now_ms (util_now_ms() in production)
 * with every policy version loaded in the node.  *@rep is filled.  @err
 * gets a sentence on failure. */
LV_EXPORT enum lv_status lv_retention_run(struct lv_node *n, int64_t now_ms, bool dry_run,
					  struct lv_retention_report *rep, char err[LV_ERR_LEN]) LV_WARN_UNUSED;

/* The server's schedule: a thread that runs lv_retention_run
 * LV_RETENTION_FIRST_RUN_S after start (or @interval_s, if shorter) and
 * then every @interval_s seconds, logging each run's counts on stderr.
 * Stop it with lv_retention_schedule_stop (joins; a run in progress ends
 * before its next batch of learners).
 * @interval_s 0: no thread (*@out NULL). */
#define LV_RETENTION_INTERVAL_DEFAULT_S 86400u
#define LV_RETENTION_FIRST_RUN_S 600u
struct lv_retention_schedule;
LV_EXPORT enum lv_status lv_retention_schedule_start(struct lv_node *n, unsigned interval_s,
						     struct lv_retention_schedule **out) LV_WARN_UNUSED;
LV_EXPORT void lv_retention_schedule_stop(struct lv_retention_schedule *s);

#endif
