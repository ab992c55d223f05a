/* dp/ internals: the privacy budget ledger in node.db.
 *
 * Amounts are integers in micro-epsilon.  A query charges its epsilon,
 * rounded up, to every learner it includes, per (purpose, learner, day);
 * the window of a policy with W days is the days d >= today - W, i.e. at
 * least W whole days (rounded toward more loss).  Every function runs with
 * the node lock held, inside the caller's node.db transaction. */
#ifndef LV_DP_BUDGET_H
#define LV_DP_BUDGET_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define BUDGET_DAY_MS (86400LL * 1000)

/* The first day still inside a @window_days window ending on @now_ms's day. */
int64_t budget_window_start(int64_t now_ms, uint32_t window_days);

/* Micro-epsilon the purpose released in total since @from_day. */
enum lv_status budget_purpose_spent(struct lv_node *n, const char *purpose, int64_t from_day,
				    uint64_t *micro) LV_WARN_UNUSED;

/* For each of @count learners (sorted by pseudonym, strcmp order), the
 * micro-epsilon charged to them under @purpose since @from_day, into
 * @spent[i]. */
enum lv_status budget_learners_spent(struct lv_node *n, const char *purpose, int64_t from_day,
				     const char *const *learners, size_t count, uint64_t *spent) LV_WARN_UNUSED;

/* Charges @micro to each learner for @day, and forgets charges older than
 * @from_day (outside every window). */
enum lv_status budget_charge(struct lv_node *n, const char *purpose, int64_t day, int64_t from_day,
			     const char *const *learners, size_t count, uint64_t micro) LV_WARN_UNUSED;

#endif
