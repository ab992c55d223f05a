/* The storage personal/ stands on (include/learnvault/store.h, section
 * "personal"): its settings in node.db, the voided statements of the
 * index, a walk over a learner's vault statements, and the learner's model
 * state in their vault.  The point reads and the writes of the model state
 * use the statements vault.c prepares once per open vault (VAULT_P_*): the
 * ingest hook runs them for every statement that completes a checkpoint
 * step. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

/* ---- node.db ---- */

enum lv_status lv_store_settings_get(struct lv_node *n, const char *name, char **value)
{
	store_assert_locked(n);
	return node_setting_get_locked(n, name, value);
}

enum lv_status lv_store_settings_put(struct lv_tx *tx, const char *name, const char *value)
{
	sqlite3_stmt *s = NULL;
	store_assert_locked(tx->node);
	enum lv_status st = db_status(sqlite3_prepare_v2(tx->node->db,
							 "INSERT OR REPLACE INTO settings(name, value) VALUES(?, ?)", -1,
							 &s, NULL));
	if (st != LV_OK)
		return st;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, value, -1, SQLITE_STATIC);
	st = db_status(sqlite3_step(s));
	sqlite3_finalize(s);
	return st;
}

/* The partial index statements_voided keeps this a short range scan. */
enum lv_status lv_store_statements_count_voided(struct lv_node *n, const char *learner, int64_t *count)
{
	sqlite3_stmt *s = NULL;
	*count = 0;
	store_assert_locked(n);
	enum lv_status st = db_status(sqlite3_prepare_v2(
		n->db, "SELECT count(*) FROM statements WHERE learner = ? AND voided = 1", -1, &s, NULL));
	if (st != LV_OK)
		return st;
	sqlite3_bind_text(s, 1, learner, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*count = sqlite3_column_int64(s, 0);
	else
		st = db_status(rc);
	sqlite3_finalize(s);
	return st;
}

enum lv_status lv_store_vault_statements_each(struct lv_node *n, const char *learner, int64_t after_seq,
					      enum lv_status (*fn)(void *ctx, int64_t seq, const char *body, size_t len),
					      void *ctx)
{
	sqlite3 *v = NULL;
	sqlite3_stmt *rows = NULL, *idx = NULL;
	store_assert_locked(n);
	enum lv_status st = vault_get(n, learner, false, &v);
	if (st == LV_OK)
		st = db_status(sqlite3_prepare_v2(v, "SELECT seq, body FROM statements WHERE seq > ? ORDER BY seq", -1,
						  &rows, NULL));
	if (st == LV_OK)
		st = db_status(sqlite3_prepare_v2(n->db, "SELECT learner, voided FROM statements WHERE seq = ?", -1, &idx,
						  NULL));
	if (st == LV_OK)
		sqlite3_bind_int64(rows, 1, after_seq);
	int rc = SQLITE_DONE;
	while (st == LV_OK && (rc = sqlite3_step(rows)) == SQLITE_ROW) {
		int64_t seq = sqlite3_column_int64(rows, 0);
		sqlite3_reset(idx);
		sqlite3_bind_int64(idx, 1, seq);
		int irc = sqlite3_step(idx);
		if (irc != SQLITE_ROW && irc != SQLITE_DONE) {
			st = db_status(irc);
			break;
		}
		/* A vault row the index does not hold for this learner is the
		 * leftover of a batch that failed after its vault commit. */
		bool live = irc == SQLITE_ROW && sqlite3_column_int(idx, 1) == 0 &&
			    strcmp((const char *)sqlite3_column_text(idx, 0), learner) == 0;
		if (live) {
			const char *body = (const char *)sqlite3_column_text(rows, 1);
			st = fn(ctx, seq, body, (size_t)sqlite3_column_bytes(rows, 1));
		} else {
			st = fn(ctx, seq, NULL, 0);
		}
	}
	if (st == LV_OK && rc != SQLITE_DONE)
		st = db_status(rc);
	sqlite3_finalize(rows);
	sqlite3_finalize(idx);
	return st;
}

/* ---- the learner's vault ---- */

enum lv_status lv_store_vault_tx(struct lv_node *n, const char *learner, enum lv_status (*fn)(void *ctx), void *ctx)
{
	sqlite3 *v = NULL;
	store_assert_locked(n);
	enum lv_status st = vault_get(n, learner, false, &v);
	if (st != LV_OK)
		return st;
	if ((st = db_exec(v, "BEGIN;")) != LV_OK)
		return st;
	st = fn(ctx);
	if (st == LV_OK)
		st = db_exec(v, "COMMIT;");
	if (st != LV_OK) {
		if (db_exec(v, "ROLLBACK;") != LV_OK) { /* the handle is evicted below */ }
		vault_evict(n, learner);
	}
	return st;
}

/* ---- the model state: rows ---- */

static void learner_from(sqlite3_stmt *s, struct lv_store_personal_learner *l)
{
	l->theta = sqlite3_column_double(s, 0);
	l->answers = (uint32_t)sqlite3_column_int64(s, 1);
	l->last_seq = sqlite3_column_int64(s, 2);
	snprintf(l->config, sizeof l->config, "%s", (const char *)sqlite3_column_text(s, 3));
	l->voided = sqlite3_column_int64(s, 4);
}

static enum lv_status learner_bind_put(sqlite3_stmt *s, const struct lv_store_personal_learner *l)
{
	sqlite3_bind_double(s, 1, l->theta);
	sqlite3_bind_int64(s, 2, l->answers);
	sqlite3_bind_int64(s, 3, l->last_seq);
	sqlite3_bind_text(s, 4, l->config, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, l->voided);
	enum lv_status st = db_status(sqlite3_step(s));
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return st;
}

/* Columns from @c on: stability, difficulty, last_review, reviews, lapses,
 * last_grade, b, answers, skills.  it->skills is malloc'd or NULL. */
static enum lv_status item_from(sqlite3_stmt *s, int c, struct lv_store_personal_item *it)
{
	it->has_memory = sqlite3_column_type(s, c) != SQLITE_NULL;
	it->stability = sqlite3_column_double(s, c);
	it->difficulty = sqlite3_column_double(s, c + 1);
	it->last_review_ms = sqlite3_column_int64(s, c + 2);
	it->reviews = (uint32_t)sqlite3_column_int64(s, c + 3);
	it->lapses = (uint32_t)sqlite3_column_int64(s, c + 4);
	it->last_grade = sqlite3_column_int(s, c + 5);
	it->b = sqlite3_column_double(s, c + 6);
	it->answers = (uint32_t)sqlite3_column_int64(s, c + 7);
	it->skills = NULL;
	if (sqlite3_column_type(s, c + 8) != SQLITE_NULL &&
	    !(it->skills = strdup((const char *)sqlite3_column_text(s, c + 8))))
		return LV_ERR_NOMEM;
	return LV_OK;
}

static enum lv_status item_bind_put(sqlite3_stmt *s, const struct lv_store_personal_item *it)
{
	sqlite3_bind_text(s, 1, it->activity, -1, SQLITE_STATIC);
	if (it->has_memory) {
		sqlite3_bind_double(s, 2, it->stability);
		sqlite3_bind_double(s, 3, it->difficulty);
		sqlite3_bind_int64(s, 4, it->last_review_ms);
	}
	sqlite3_bind_int64(s, 5, it->reviews);
	sqlite3_bind_int64(s, 6, it->lapses);
	sqlite3_bind_int(s, 7, it->last_grade);
	sqlite3_bind_double(s, 8, it->b);
	sqlite3_bind_int64(s, 9, it->answers);
	if (it->skills)
		sqlite3_bind_text(s, 10, it->skills, -1, SQLITE_STATIC);
	enum lv_status st = db_status(sqlite3_step(s));
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return st;
}

static void skill_from(sqlite3_stmt *s, int c, struct lv_store_personal_skill *k)
{
	k->known = sqlite3_column_double(s, c);
	k->responses = (uint32_t)sqlite3_column_int64(s, c + 1);
	k->correct = (uint32_t)sqlite3_column_int64(s, c + 2);
	k->updated_ms = sqlite3_column_int64(s, c + 3);
}

static enum lv_status skill_bind_put(sqlite3_stmt *s, const struct lv_store_personal_skill *k)
{
	sqlite3_bind_text(s, 1, k->skill, -1, SQLITE_STATIC);
	sqlite3_bind_double(s, 2, k->known);
	sqlite3_bind_int64(s, 3, k->responses);
	sqlite3_bind_int64(s, 4, k->correct);
	sqlite3_bind_int64(s, 5, k->updated_ms);
	enum lv_status st = db_status(sqlite3_step(s));
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return st;
}

/* ---- the model state: reads ---- */

enum lv_status lv_store_personal_learner_get(struct lv_node *n, const char *learner,
					     struct lv_store_personal_learner *out, bool *have, int64_t *pending)
{
	sqlite3_stmt *s = NULL;
	memset(out, 0, sizeof *out);
	*have = false;
	*pending = 0;
	store_assert_locked(n);
	enum lv_status st = vault_stmt(n, learner, VAULT_P_LEARNER_GET, &s);
	if (st != LV_OK)
		return st;
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*have = sqlite3_column_int(s, 5) != 0;
		if (*have)
			learner_from(s, out);
		*pending = sqlite3_column_int64(s, 6);
	} else {
		st = db_status(rc);
	}
	sqlite3_reset(s);
	return st;
}

/* One row by key through prepared statement @which: @read fills it from
 * the row; *@found says whether there was one. */
static enum lv_status row_get(struct lv_node *n, const char *learner, enum vault_stmt_id which, const char *key,
			      enum lv_status (*read)(sqlite3_stmt *s, const char *key, void *out), void *out,
			      bool *found)
{
	sqlite3_stmt *s = NULL;
	*found = false;
	store_assert_locked(n);
	enum lv_status st = vault_stmt(n, learner, which, &s);
	if (st != LV_OK)
		return st;
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		st = read(s, key, out);
		*found = st == LV_OK;
	} else if (rc != SQLITE_DONE) {
		st = db_status(rc);
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return st;
}

static enum lv_status item_read(sqlite3_stmt *s, const char *key, void *out)
{
	struct lv_store_personal_item *it = out;
	it->activity = key;
	return item_from(s, 0, it);
}

static enum lv_status skill_read(sqlite3_stmt *s, const char *key, void *out)
{
	struct lv_store_personal_skill *k = out;
	k->skill = key;
	skill_from(s, 0, k);
	return LV_OK;
}

enum lv_status lv_store_personal_item_get(struct lv_node *n, const char *learner, const char *activity,
					  struct lv_store_personal_item *out, bool *found)
{
	memset(out, 0, sizeof *out);
	enum lv_status st = row_get(n, learner, VAULT_P_ITEM_GET, activity, item_read, out, found);
	if (st != LV_OK)
		memset(out, 0, sizeof *out);
	return st;
}

enum lv_status lv_store_personal_skill_get(struct lv_node *n, const char *learner, const char *skill,
					   struct lv_store_personal_skill *out, bool *found)
{
	memset(out, 0, sizeof *out);
	return row_get(n, learner, VAULT_P_SKILL_GET, skill, skill_read, out, found);
}

enum lv_status lv_store_personal_items_each(struct lv_node *n, const char *learner,
					    enum lv_status (*fn)(void *ctx, const struct lv_store_personal_item *row),
					    void *ctx)
{
	sqlite3 *v = NULL;
	sqlite3_stmt *s = NULL;
	store_assert_locked(n);
	enum lv_status st = vault_get(n, learner, false, &v);
	if (st == LV_OK)
		st = db_status(sqlite3_prepare_v2(v,
			"SELECT activity, stability, difficulty, last_review, reviews, lapses, last_grade, b, answers, skills"
			" FROM personal_items", -1, &s, NULL));
	int rc = SQLITE_DONE;
	while (st == LV_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct lv_store_personal_item row = {.activity = (const char *)sqlite3_column_text(s, 0)};
		st = item_from(s, 1, &row);
		if (st == LV_OK)
			st = fn(ctx, &row);
	}
	if (st == LV_OK && rc != SQLITE_DONE)
		st = db_status(rc);
	sqlite3_finalize(s);
	return st;
}

enum lv_status lv_store_personal_skills_each(struct lv_node *n, const char *learner,
					     enum lv_status (*fn)(void *ctx, const struct lv_store_personal_skill *row),
					     void *ctx)
{
	sqlite3 *v = NULL;
	sqlite3_stmt *s = NULL;
	store_assert_locked(n);
	enum lv_status st = vault_get(n, learner, false, &v);
	if (st == LV_OK)
		st = db_status(sqlite3_prepare_v2(v, "SELECT skill, known, responses, correct, updated FROM personal_skills",
						  -1, &s, NULL));
	int rc = SQLITE_DONE;
	while (st == LV_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct lv_store_personal_skill row = {.skill = (const char *)sqlite3_column_text(s, 0)};
		skill_from(s, 1, &row);
		st = fn(ctx, &row);
	}
	if (st == LV_OK && rc != SQLITE_DONE)
		st = db_status(rc);
	sqlite3_finalize(s);
	return st;
}

/* ---- the model state: writes ---- */

enum lv_status lv_store_personal_put(struct lv_node *n, const char *learner, const struct lv_store_personal_item *items,
				     size_t nitems, const struct lv_store_personal_skill *skills, size_t nskills,
				     const struct lv_store_personal_learner *l)
{
	sqlite3_stmt *put = NULL;
	store_assert_locked(n);
	enum lv_status st = vault_stmt(n, learner, VAULT_P_ITEM_PUT, &put);
	for (size_t i = 0; st == LV_OK && i < nitems; i++)
		st = item_bind_put(put, &items[i]);
	if (st == LV_OK)
		st = vault_stmt(n, learner, VAULT_P_SKILL_PUT, &put);
	for (size_t i = 0; st == LV_OK && i < nskills; i++)
		st = skill_bind_put(put, &skills[i]);
	if (st == LV_OK)
		st = vault_stmt(n, learner, VAULT_P_LEARNER_PUT, &put);
	if (st == LV_OK)
		st = learner_bind_put(put, l);
	return st;
}

enum lv_status lv_store_personal_clear(struct lv_node *n, const char *learner)
{
	sqlite3 *v = NULL;
	store_assert_locked(n);
	enum lv_status st = vault_get(n, learner, false, &v);
	if (st == LV_OK)
		st = db_exec(v, "DELETE FROM personal_items; DELETE FROM personal_skills; DELETE FROM personal_learner;");
	return st;
}
