/* Storage for the aggregate door (include/learnvault/store.h, "the
 * aggregate door"): the newest policy text, the kept releases, the voided
 * statements, term ids, and the cohort's sealed facts read from the
 * snapshot connection (snapshot.c).  Nothing here decides who is in a
 * cohort or what may be released: query/ does, through these. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "facts.h"
#include "store.h"

#define VOIDED_MAX ((size_t)1 << 32) /* voided statements of one node */

/* A copy of column @col of @s's current row; NULL when the column is. */
static char *column_dup(sqlite3_stmt *s, int col)
{
	const char *t = (const char *)sqlite3_column_text(s, col);
	return t ? strdup(t) : NULL;
}

enum lv_status lv_store_policy_newest(struct lv_node *n, const char *id, uint32_t *version,
				      char sha256[LV_STORE_SHA256_HEX_LEN], char **text)
{
	sqlite3_stmt *s = NULL;
	*version = 0;
	*text = NULL;
	if (sha256)
		sha256[0] = '\0';
	store_assert_locked(n);
	enum lv_status st = db_status(sqlite3_prepare_v2(n->db,
		"SELECT version, sha256, text FROM policies WHERE id = ? ORDER BY version DESC LIMIT 1", -1, &s, NULL));
	if (st != LV_OK)
		return st;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		if (sqlite3_column_type(s, 2) == SQLITE_NULL)
			st = LV_ERR_DB;
		else if (!(*text = column_dup(s, 2)))
			st = LV_ERR_NOMEM;
		if (st == LV_OK) {
			*version = (uint32_t)sqlite3_column_int64(s, 0);
			if (sha256)
				snprintf(sha256, LV_STORE_SHA256_HEX_LEN, "%s", (const char *)sqlite3_column_text(s, 1));
		}
	} else {
		st = rc == SQLITE_DONE ? LV_ERR_NOT_FOUND : db_status(rc);
	}
	sqlite3_finalize(s);
	return st;
}

enum lv_status lv_store_release_get(struct lv_node *n, const char *actor, const char *query_id,
				    char **request_sha256, char **answer)
{
	sqlite3_stmt *s = NULL;
	*request_sha256 = NULL;
	*answer = NULL;
	store_assert_locked(n);
	enum lv_status st = db_status(sqlite3_prepare_v2(n->db,
		"SELECT request_sha256, answer FROM dp_releases WHERE actor = ? AND query_id = ?", -1, &s, NULL));
	if (st != LV_OK)
		return st;
	sqlite3_bind_text(s, 1, actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, query_id, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		if (sqlite3_column_type(s, 0) == SQLITE_NULL || sqlite3_column_type(s, 1) == SQLITE_NULL)
			st = LV_ERR_DB;
		else if (!(*request_sha256 = column_dup(s, 0)) || !(*answer = column_dup(s, 1)))
			st = LV_ERR_NOMEM;
	} else {
		st = rc == SQLITE_DONE ? LV_ERR_NOT_FOUND : db_status(rc);
	}
	sqlite3_finalize(s);
	if (st != LV_OK) {
		free(*request_sha256);
		free(*answer);
		*request_sha256 = *answer = NULL;
	}
	return st;
}

enum lv_status lv_store_release_put(struct lv_node *n, const struct lv_store_release *r)
{
	sqlite3_stmt *s = NULL;
	store_assert_locked(n);
	enum lv_status st = db_status(sqlite3_prepare_v2(n->db,
		"INSERT INTO dp_releases(actor, query_id, purpose, request_sha256, day, micro_eps, answer, created)"
		" VALUES(?, ?, ?, ?, ?, ?, ?, ?)", -1, &s, NULL));
	if (st == LV_OK) {
		sqlite3_bind_text(s, 1, r->actor, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, r->query_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 3, r->purpose, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 4, r->request_sha256, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 5, r->day);
		sqlite3_bind_int64(s, 6, (int64_t)r->micro_eps);
		sqlite3_bind_text(s, 7, r->answer, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 8, r->created_ms);
		st = db_status(sqlite3_step(s));
	}
	sqlite3_finalize(s);
	return st;
}

enum lv_status lv_store_statements_voided(struct lv_node *n, int64_t **seqs, size_t *count)
{
	sqlite3_stmt *s = NULL;
	UTIL_ARRAY(int64_t) v = {0};
	int rc = SQLITE_DONE;
	*seqs = NULL;
	*count = 0;
	store_assert_locked(n);
	/* Without ORDER BY the planner reads the small partial index
	 * statements_voided; with it, it scans the whole table (10^6 rows at
	 * 10^4 learners, half a second) to skip a sort of a few numbers. */
	enum lv_status st = db_status(sqlite3_prepare_v2(n->db, "SELECT seq FROM statements WHERE voided = 1",
							 -1, &s, NULL));
	while (st == LV_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		if ((st = util_array_room(&v, VOIDED_MAX)) == LV_OK)
			v.v[v.n++] = sqlite3_column_int64(s, 0);
	}
	if (st == LV_OK && rc != SQLITE_DONE)
		st = db_status(rc);
	sqlite3_finalize(s);
	if (st != LV_OK) {
		free(v.v);
		return st;
	}
	if (v.n)
		qsort(v.v, v.n, sizeof *v.v, util_cmp_i64);
	*seqs = v.v;
	*count = v.n;
	return LV_OK;
}

enum lv_status lv_store_term_find(struct lv_node *n, const char *iri, uint32_t *id)
{
	store_assert_locked(n);
	return facts_term(n, iri, false, id);
}

enum lv_status lv_store_term_max_id(struct lv_node *n, uint32_t *max_id)
{
	sqlite3_stmt *s = NULL;
	*max_id = 0;
	store_assert_locked(n);
	enum lv_status st = db_status(sqlite3_prepare_v2(n->db, "SELECT coalesce(max(id), 0) FROM terms", -1, &s, NULL));
	if (st == LV_OK) {
		int rc = sqlite3_step(s);
		if (rc == SQLITE_ROW)
			*max_id = (uint32_t)sqlite3_column_int64(s, 0);
		else
			st = db_status(rc);
	}
	sqlite3_finalize(s);
	return st;
}

enum lv_status lv_store_terms_each(struct lv_node *n, enum lv_status (*each)(void *ctx, uint32_t id, const char *iri),
				   void *ctx)
{
	sqlite3_stmt *s = NULL;
	int rc = SQLITE_DONE;
	store_assert_locked(n);
	enum lv_status st = db_status(sqlite3_prepare_v2(n->db, "SELECT id, iri FROM terms ORDER BY id", -1, &s, NULL));
	while (st == LV_OK && (rc = sqlite3_step(s)) == SQLITE_ROW)
		st = each(ctx, (uint32_t)sqlite3_column_int64(s, 0), (const char *)sqlite3_column_text(s, 1));
	if (st == LV_OK && rc != SQLITE_DONE)
		st = db_status(rc);
	sqlite3_finalize(s);
	return st;
}

enum lv_status lv_store_facts_fold(struct lv_node *n)
{
	store_assert_locked(n);
	return facts_fold_locked(n);
}

/* ---- the cohort's facts, from the snapshot ---- */

/* One pass over every learner's segments on the snapshot connection, in
 * (learner, segment) order, merged with the sorted list of the learners
 * asked for: the facts of learners not asked for are never opened. */
struct facts_read {
	const char *const *inc;
	size_t ninc;
	enum lv_status (*each)(void *ctx, size_t i, const struct lv_fact *facts, size_t nfacts);
	void *ctx;
	size_t next;          /* the first learner not handed out yet */
	size_t at;            /* the learner whose segments are being opened */
	bool have;            /* at is being read */
	struct fact_vec fv;   /* at's facts so far */
	unsigned char *key;   /* at's facts key, then scratch (sodium_malloc) */
};

/* Hands out the learner being read, then those before learner @l (or all
 * that are left, @l NULL) who have no facts. */
static enum lv_status hand_out_before(struct facts_read *r, const char *l)
{
	enum lv_status st = LV_OK;
	if (r->have) {
		st = r->each(r->ctx, r->at, r->fv.f, r->fv.n);
		r->fv.n = 0;
		r->have = false;
	}
	for (; st == LV_OK && r->next < r->ninc && (!l || strcmp(r->inc[r->next], l) < 0); r->next++)
		st = r->each(r->ctx, r->next, NULL, 0);
	return st;
}

/* One row: (learner, seg, data, wrapped_key). */
static enum lv_status read_row(struct lv_node *n, struct facts_read *r, sqlite3_stmt *s, char cur[LV_PSEUDONYM_LEN])
{
	const char *l = (const char *)sqlite3_column_text(s, 0);
	enum lv_status st = LV_OK;
	if (strcmp(l, cur) != 0) {
		snprintf(cur, LV_PSEUDONYM_LEN, "%s", l);
		st = hand_out_before(r, l);
		if (st == LV_OK && r->next < r->ninc && strcmp(r->inc[r->next], l) == 0) {
			r->at = r->next++;
			r->have = true;
			st = facts_key_unwrap(n, l, sqlite3_column_blob(s, 3), (size_t)sqlite3_column_bytes(s, 3),
					      r->key + KEY_LEN, r->key);
		}
	}
	if (r->have && st == LV_OK)
		st = facts_open_segment(r->key, l, sqlite3_column_int64(s, 1), sqlite3_column_blob(s, 2),
					(size_t)sqlite3_column_bytes(s, 2), &r->fv);
	return st;
}

enum lv_status lv_store_snapshot_facts(struct lv_node *n, const char *const *learners, size_t count,
				       enum lv_status (*each)(void *ctx, size_t i, const struct lv_fact *facts,
							      size_t nfacts),
				       void *ctx)
{
	struct facts_read r = {.inc = learners, .ninc = count, .each = each, .ctx = ctx};
	sqlite3_stmt *s = NULL;
	char cur[LV_PSEUDONYM_LEN] = "";
	int rc = SQLITE_DONE;
	/* The snapshot's user holds snap_lock: nobody else changes these. */
	if (!n->snap_db || !n->snap_reading)
		return LV_ERR_INTERNAL;
	if (!(r.key = sodium_malloc(2 * KEY_LEN)))
		return LV_ERR_NOMEM;
	enum lv_status st = db_status(sqlite3_prepare_v2(n->snap_db,
		"SELECT f.learner, f.seg, f.data, l.wrapped_key FROM learner_facts f"
		" JOIN learners l ON l.pseudonym = f.learner ORDER BY f.learner, f.seg", -1, &s, NULL));
	while (st == LV_OK && (rc = sqlite3_step(s)) == SQLITE_ROW)
		st = read_row(n, &r, s, cur);
	if (st == LV_OK && rc != SQLITE_DONE)
		st = db_status(rc);
	if (st == LV_OK)
		st = hand_out_before(&r, NULL);
	sqlite3_finalize(s);
	fact_vec_free(&r.fv);
	sodium_free(r.key);
	return st;
}
