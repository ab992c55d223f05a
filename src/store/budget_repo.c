/* The privacy-budget ledger in node.db (include/learnvault/store.h,
 * "the aggregate door"): what each release charged, per purpose and per
 * (purpose, learner, day).  The arithmetic of windows and limits is dp/'s;
 * this file only reads and writes the rows. */
#include <stdlib.h>
#include <string.h>

#include "store.h"

enum lv_status lv_store_budget_purpose_spent(struct lv_node *n, const char *purpose, int64_t from_day, uint64_t *micro)
{
	sqlite3_stmt *s = NULL;
	*micro = 0;
	store_assert_locked(n);
	enum lv_status st = db_status(sqlite3_prepare_v2(n->db,
		"SELECT coalesce(sum(micro_eps), 0) FROM dp_releases WHERE purpose = ? AND day >= ?", -1, &s, NULL));
	if (st != LV_OK)
		return st;
	sqlite3_bind_text(s, 1, purpose, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, from_day);
	if (sqlite3_step(s) == SQLITE_ROW)
		*micro = (uint64_t)sqlite3_column_int64(s, 0);
	else
		st = LV_ERR_DB;
	sqlite3_finalize(s);
	return st;
}

enum lv_status lv_store_budget_learners_spent(struct lv_node *n, const char *purpose, int64_t from_day,
					      const char *const *learners, size_t count, uint64_t *spent)
{
	sqlite3_stmt *s = NULL;
	memset(spent, 0, count * sizeof *spent);
	store_assert_locked(n);
	enum lv_status st = db_status(sqlite3_prepare_v2(n->db,
		"SELECT learner, sum(micro_eps) FROM dp_spend WHERE purpose = ? AND day >= ?"
		" GROUP BY learner ORDER BY learner", -1, &s, NULL));
	if (st != LV_OK)
		return st;
	sqlite3_bind_text(s, 1, purpose, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, from_day);
	size_t i = 0;
	int rc;
	/* Both sides are sorted by pseudonym: one merge pass. */
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *l = (const char *)sqlite3_column_text(s, 0);
		while (i < count && strcmp(learners[i], l) < 0)
			i++;
		if (i < count && strcmp(learners[i], l) == 0)
			spent[i] = (uint64_t)sqlite3_column_int64(s, 1);
	}
	if (rc != SQLITE_DONE)
		st = db_status(rc);
	sqlite3_finalize(s);
	return st;
}

/* Adds @micro to each learner's row of @day, inserting the rows that are
 * not there. */
static enum lv_status charge_rows(struct lv_node *n, const char *purpose, int64_t day, const char *const *learners,
				  size_t count, uint64_t micro)
{
	sqlite3_stmt *up = NULL, *ins = NULL;
	/* SQLCipher 3.4 predates UPSERT: update, insert when nothing was there. */
	enum lv_status st = db_status(sqlite3_prepare_v2(n->db,
		"UPDATE dp_spend SET micro_eps = micro_eps + ?4 WHERE purpose = ?1 AND learner = ?2 AND day = ?3",
		-1, &up, NULL));
	if (st == LV_OK)
		st = db_status(sqlite3_prepare_v2(n->db,
			"INSERT INTO dp_spend(purpose, learner, day, micro_eps) VALUES(?1, ?2, ?3, ?4)", -1, &ins, NULL));
	for (size_t i = 0; i < count && st == LV_OK; i++) {
		sqlite3_stmt *q = up;
		for (int k = 0; k < 2 && st == LV_OK; k++, q = ins) {
			sqlite3_reset(q);
			sqlite3_bind_text(q, 1, purpose, -1, SQLITE_STATIC);
			sqlite3_bind_text(q, 2, learners[i], -1, SQLITE_STATIC);
			sqlite3_bind_int64(q, 3, day);
			sqlite3_bind_int64(q, 4, (int64_t)micro);
			st = db_status(sqlite3_step(q));
			if (k == 0 && sqlite3_changes(n->db) > 0)
				break;
		}
	}
	sqlite3_finalize(up);
	sqlite3_finalize(ins);
	return st;
}

enum lv_status lv_store_budget_charge(struct lv_node *n, const char *purpose, int64_t day, int64_t from_day,
				      const char *const *learners, size_t count, uint64_t micro)
{
	sqlite3_stmt *s = NULL;
	store_assert_locked(n);
	enum lv_status st = charge_rows(n, purpose, day, learners, count, micro);
	if (st != LV_OK)
		return st;
	st = db_status(sqlite3_prepare_v2(n->db, "DELETE FROM dp_spend WHERE purpose = ? AND day < ?", -1, &s, NULL));
	if (st == LV_OK) {
		sqlite3_bind_text(s, 1, purpose, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 2, from_day);
		st = db_status(sqlite3_step(s));
	}
	sqlite3_finalize(s);
	return st;
}

/* ---- holds (memory only) ---- */

/* Concurrent aggregates: a node's worker threads, far below this. */
#define HOLDS_MAX 4096

enum lv_status lv_store_budget_hold(struct lv_node *n, const char *purpose, uint64_t micro, uint64_t *hold)
{
	*hold = 0;
	char *p = strdup(purpose);
	if (!p)
		return LV_ERR_NOMEM;
	pthread_mutex_lock(&n->hold_lock);
	enum lv_status st = util_array_room(&n->holds, HOLDS_MAX);
	if (st == LV_OK) {
		n->holds.v[n->holds.n++] = (struct budget_hold){.id = ++n->hold_next, .micro = micro, .purpose = p};
		*hold = n->hold_next;
		p = NULL;
	}
	pthread_mutex_unlock(&n->hold_lock);
	free(p);
	return st;
}

void lv_store_budget_unhold(struct lv_node *n, uint64_t hold)
{
	if (!hold)
		return;
	pthread_mutex_lock(&n->hold_lock);
	for (size_t i = 0; i < n->holds.n; i++) {
		if (n->holds.v[i].id != hold)
			continue;
		free(n->holds.v[i].purpose);
		n->holds.v[i] = n->holds.v[--n->holds.n];
		break;
	}
	pthread_mutex_unlock(&n->hold_lock);
}

uint64_t lv_store_budget_held(struct lv_node *n, const char *purpose, uint64_t except)
{
	uint64_t sum = 0;
	pthread_mutex_lock(&n->hold_lock);
	for (size_t i = 0; i < n->holds.n; i++)
		if (n->holds.v[i].id != except && strcmp(n->holds.v[i].purpose, purpose) == 0)
			sum += n->holds.v[i].micro;
	pthread_mutex_unlock(&n->hold_lock);
	return sum;
}
