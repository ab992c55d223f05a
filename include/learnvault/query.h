/* learnvault — the aggregate door: differentially private answers about
 * cohorts of learners.
 *
 * A query is a JSON object (docs/queries.md is the field reference):
 *   {"id", "purpose", "metric": "count"|"sum"|"mean"|"histogram"|"quantile",
 *    "field", "per_learner", "bounds": [lo, hi], "filters": {...},
 *    "histogram": {...}, "quantile": q, "epsilon", "mechanism", "delta"}
 * Each learner who consented to the purpose (newest policy version, scope
 * covering the query) and has budget left contributes one clamped value or
 * vector computed from their own records; the sum is released with exact
 * discrete Laplace (or Gaussian) noise, calibrated to the bounds.  Every
 * included learner's access entry, the budget charge and the release entry
 * commit in one node.db transaction before the answer is returned; if any
 * of them fails nothing is released.
 */
#ifndef LEARNVAULT_QUERY_H
#define LEARNVAULT_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "learnvault/node.h"
#include "learnvault/personal.h"
#include "learnvault/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LV_QUERY_ERR_LEN LV_ERR_LEN
#define LV_QUERY_MAX_TEXT (64 * 1024) /* bytes of query JSON */
#define LV_QUERY_ID_MAX 64            /* [A-Za-z0-9._:-]{1,64} */

/* Answers the aggregate query @text (@len bytes, borrowed) as @who: an
 * analyst credential bound to the query's purpose, or the node operator
 * (LV_ROLE_ADMIN, the local CLI) for any loaded purpose.
 *
 * On LV_OK *@answer is a malloc'd JSON object the caller frees:
 *   {"query_id", "purpose", "metric", "value", "ci95", "epsilon", "delta",
 *    "mechanism", "noisy_learners", "suppressed", "budget_remaining",
 *    "released", "cached", "receipt", ...}
 * Nothing in it depends on un-noised data: no log index, "released" is
 * @now_ms (when the question was received), "receipt" a note signed with
 * the log key over the release entry's answer (lv_release_receipt_open,
 * learnvault/audit.h).  A query id answered before for the same actor
 * returns the stored release unchanged, receipt included ("cached": true),
 * and costs nothing.  The call returns no earlier than the node's
 * aggregate_time_quantum_ms after it began, at a multiple of it (errors
 * found after the cohort was read too), so its duration does not follow
 * the cohort below that resolution.
 *
 * Errors (with a one-line message in @err that never depends on a
 * learner's data): LV_ERR_INVALID (the query breaks a rule),
 * LV_ERR_FORBIDDEN (purpose not bound to the credential, operation, scope
 * or epsilon not allowed by the policy), LV_ERR_NOT_FOUND (no such
 * policy), LV_ERR_CONFLICT (the id was used for a different query),
 * LV_ERR_BUDGET (the purpose's budget for the window is spent),
 * LV_ERR_TOO_LARGE, or a storage error (nothing released). */
LV_EXPORT enum lv_status lv_aggregate(struct lv_node *node, const struct lv_principal *who, const char *text,
				      size_t len, int64_t now_ms, char **answer,
				      char err[LV_QUERY_ERR_LEN]) LV_WARN_UNUSED;

/* Global BKT parameters learned through the aggregate door from the
 * learners who consented to @purpose (a policy allowing "sum" over
 * result.success and result.score.scaled): each included learner's
 * sequences (from their sealed facts, skills from the node's curriculum)
 * contribute bounded E-step counts to @o->iterations DP-EM steps
 * (lv_bkt_dp_step).  One release: every included learner is charged
 * @o->epsilon and logged, the purpose's budget applies, the answer
 * ({"value": {"prior","learn","guess","slip","forget"}, "noisy_sequences",
 * "epsilon", ..., "receipt"}) is logged and kept; the release entry
 * records the job's parameters as its "query".  Timed as lv_aggregate.  LV_ERR_PRECONDITION without a
 * curriculum; other errors as lv_aggregate.  *@answer: malloc'd JSON. */
LV_EXPORT enum lv_status lv_personal_fit_global(struct lv_node *node, const struct lv_principal *who,
						const char *purpose, const struct lv_bkt_dp_opts *o, int64_t now_ms,
						char **answer, char err[LV_QUERY_ERR_LEN]) LV_WARN_UNUSED;

/* ---- federation: the node as a DAP client (docs/federation.md) ----
 * Admin only: the node operator (the local CLI) or an admin credential;
 * LV_ERR_FORBIDDEN for anyone else. */

/* Adds the federation task in @text (@len bytes of JSON, borrowed): the
 * DAP task (task_id, leader, helper, vdaf, time_precision,
 * min_batch_size) and the question in the aggregate door's vocabulary
 * (purpose, metric, field, per_learner, bounds, filters, histogram,
 * epsilon).  *@task: the canonical task (malloc'd JSON).  LV_ERR_INVALID
 * for a bad task, LV_ERR_NOT_FOUND when the purpose is not a loaded
 * policy, LV_ERR_FORBIDDEN when the policy does not allow the question,
 * LV_ERR_EXISTS when the same task is there already, LV_ERR_CONFLICT when
 * its id names another. */
LV_EXPORT enum lv_status lv_federate_task_add(struct lv_node *node, const struct lv_principal *who, const char *text,
					      size_t len, int64_t now_ms, char **task,
					      char err[LV_QUERY_ERR_LEN]) LV_WARN_UNUSED;
/* *@tasks: a JSON array of the node's tasks (malloc'd), each
 * {"task_id", "added", "spec", "outbox"}. */
LV_EXPORT enum lv_status lv_federate_task_list(struct lv_node *node, const struct lv_principal *who,
					       char **tasks) LV_WARN_UNUSED;

/* Progress of an upload: @stage ("configs", "cohort", "reports",
 * "upload"), @done of @total.  Called with no lock held. */
struct lv_federate_progress {
	void (*fn)(void *ctx, const char *stage, size_t done, size_t total);
	void *ctx;
};
/* One upload of task @task_id (base64url) for the batch interval that
 * holds @now_ms.  The aggregators' HPKE configurations first (nothing is
 * charged when they cannot be reached); then, as the aggregate door does,
 * the learners with a live consent to the task's purpose and budget left
 * who were not uploaded for this task and interval yet, each one's
 * bounded measurement from their own records; then, in one node.db
 * transaction, each included learner's access entry, their charges of
 * the task's epsilon, the release entry (the task as its question), the
 * learners marked uploaded and their sealed reports put in the outbox;
 * only then are the outbox's reports sent to the Leader.  A report the
 * Leader could not take now stays in the outbox for the next upload.
 * *@summary (malloc'd JSON): {"task_id", "interval_start", "release_id",
 * "learners_included", "learners_excluded": {"no_consent", "no_budget",
 * "already_uploaded", "no_value", "changed_during_upload"},
 * "epsilon_charged", "reports_sent", "reports_rejected",
 * "reports_pending"}.  Errors as lv_aggregate's, and LV_ERR_IO /
 * LV_ERR_BUSY / LV_ERR_UNSUPPORTED when the aggregators' configurations
 * cannot be had (nothing charged). */
LV_EXPORT enum lv_status lv_federate_upload(struct lv_node *node, const struct lv_principal *who, const char *task_id,
					    int64_t now_ms, const struct lv_federate_progress *progress, char **summary,
					    char err[LV_QUERY_ERR_LEN]) LV_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif
