/* The learner's model state, kept in their vault: a checkpoint of BKT,
 * FSRS and Elo over the learner's statements up to a sequence number,
 * advanced on ingest inside the vault transaction that stores the
 * statements (every PERSONAL_FOLD_EVERY statements), completed in memory by
 * the newer statements at read time, and rebuilt from the vault's
 * statements when it no longer matches the node's configuration or a
 * statement was voided. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recommend_int.h"
#include "store/store.h"
#include "util/util.h"

#define SKILLS_TEXT_MAX (LV_ACTIVITY_SKILLS_MAX * (LV_PERSONAL_NAME_MAX + 1))

/* ---- the models, one response at a time ---- */

/* Elo (basic rule: both estimates move on every answer, K from counts
 * before the answer), FSRS-6 for the activity as a card, BKT for each
 * skill.  Shared by ingest and rebuild, so both give the same numbers. */
static enum lv_status apply_response(const struct personal_cfg *cfg, struct personal_learner *l,
				     struct personal_item *it, struct personal_skill **sk, size_t nsk,
				     const struct lv_response *r)
{
	double y = r->correct ? 1.0 : 0.0;
	double p = lv_elo_prob(l->theta - it->b, 0);
	double theta = l->theta + lv_elo_k(cfg->elo.alpha, cfg->elo.beta, l->answers) * (y - p);
	double b = it->b - lv_elo_k(cfg->elo.alpha, cfg->elo.beta, it->answers) * (y - p);

	struct lv_fsrs_state m;
	enum lv_status st;
	if (!it->has_memory) {
		st = lv_fsrs_init(&cfg->fsrs, r->grade, &m);
	} else {
		/* Whole days since the latest review; an attempt stamped before
		 * it (late delivery) counts as a same-day review. */
		double days = r->time_ms > it->last_review_ms ? floor((double)(r->time_ms - it->last_review_ms) / (double)UTIL_DAY_MS)
							      : 0.0;
		struct lv_fsrs_state cur = {.stability = it->stability, .difficulty = it->difficulty};
		st = lv_fsrs_next(&cfg->fsrs, &cur, days, r->grade, &m);
	}
	if (st != LV_OK || !isfinite(theta) || !isfinite(b))
		return LV_ERR_INTERNAL;
	if (it->has_memory && r->grade == LV_FSRS_AGAIN)
		it->lapses++;
	if (!it->has_memory || r->time_ms > it->last_review_ms)
		it->last_review_ms = r->time_ms;
	it->has_memory = true;
	it->stability = m.stability;
	it->difficulty = m.difficulty;
	it->reviews++;
	it->last_grade = r->grade;
	it->b = b;
	it->answers++;
	l->theta = theta;
	l->answers++;

	for (size_t i = 0; i < nsk; i++) {
		struct lv_bkt_params bp;
		lv_bkt_paramset_get(cfg->params, sk[i]->skill, &bp);
		sk[i]->known = lv_bkt_step(&bp, sk[i]->known, r->correct, NULL);
		sk[i]->responses++;
		sk[i]->correct += r->correct ? 1 : 0;
		if (sk[i]->responses == 1 || r->time_ms > sk[i]->updated_ms)
			sk[i]->updated_ms = r->time_ms;
	}
	return LV_OK;
}

/* The skills response @r counts for: the curriculum's, or the statement's
 * extension (remembered on the item, since later statements often omit
 * the definition), or what the item remembers.  @buf holds the split copy
 * of a remembered list.  Updates it->skills (owned) when the statement
 * names skills. */
static enum lv_status resolve_skills(const struct lv_response *r, struct personal_item *it,
				     const char *out[LV_ACTIVITY_SKILLS_MAX], size_t *n, char buf[SKILLS_TEXT_MAX])
{
	*n = 0;
	if (r->skills_from_curriculum || r->nskills) {
		for (size_t i = 0; i < r->nskills; i++)
			out[i] = r->skills[i];
		*n = r->nskills;
		if (r->skills_from_curriculum)
			return LV_OK;
		/* Skill ids hold no commas (personal_name_ok). */
		struct buf b;
		buf_init(&b, SKILLS_TEXT_MAX);
		enum lv_status st = LV_OK;
		for (size_t i = 0; i < r->nskills && st == LV_OK; i++) {
			if (i)
				st = buf_append_str(&b, ",");
			if (st == LV_OK)
				st = buf_append_str(&b, r->skills[i]);
		}
		if (st != LV_OK) {
			buf_free(&b);
			return st;
		}
		if (!it->skills || strcmp(it->skills, b.data) != 0) {
			free(it->skills);
			it->skills = buf_steal(&b);
			if (!it->skills)
				return LV_ERR_NOMEM;
		}
		buf_free(&b);
		return LV_OK;
	}
	size_t len = it->skills ? strlen(it->skills) : 0;
	if (!it->skills || len >= SKILLS_TEXT_MAX)
		return LV_OK;
	memcpy(buf, it->skills, len + 1); /* length checked above */
	for (char *p = buf, *save = NULL, *t; *n < LV_ACTIVITY_SKILLS_MAX && (t = strtok_r(p, ",", &save)); p = NULL)
		out[(*n)++] = t;
	return LV_OK;
}

static void skill_fresh(const struct personal_cfg *cfg, const char *id, struct personal_skill *s)
{
	struct lv_bkt_params bp;
	memset(s, 0, sizeof *s);
	lv_bkt_paramset_get(cfg->params, id, &bp);
	s->known = bp.prior;
}

/* ---- rows ---- */

static void learner_from(sqlite3_stmt *s, struct personal_learner *l)
{
	l->theta = sqlite3_column_double(s, 0);
	l->answers = (uint32_t)sqlite3_column_int64(s, 1);
	l->last_seq = sqlite3_column_int64(s, 2);
	snprintf(l->config, sizeof l->config, "%s", (const char *)sqlite3_column_text(s, 3));
	l->voided = sqlite3_column_int64(s, 4);
}

static enum lv_status learner_bind_put(sqlite3_stmt *s, const struct personal_learner *l)
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
 * last_grade, b, answers, skills. */
static enum lv_status item_from(sqlite3_stmt *s, int c, struct personal_item *it)
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

static enum lv_status item_bind_put(sqlite3_stmt *s, const struct personal_item *it)
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

static void skill_from(sqlite3_stmt *s, int c, struct personal_skill *k)
{
	k->known = sqlite3_column_double(s, c);
	k->responses = (uint32_t)sqlite3_column_int64(s, c + 1);
	k->correct = (uint32_t)sqlite3_column_int64(s, c + 2);
	k->updated_ms = sqlite3_column_int64(s, c + 3);
}

static enum lv_status skill_bind_put(sqlite3_stmt *s, const struct personal_skill *k)
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

/* The learner row (*@have false when none yet) and the number of the
 * vault's statements after its checkpoint. */
static enum lv_status learner_get(struct lv_node *n, const char *learner, struct personal_learner *l, bool *have,
				  int64_t *pending)
{
	sqlite3_stmt *s = NULL;
	memset(l, 0, sizeof *l);
	*have = false;
	*pending = 0;
	enum lv_status st = vault_stmt(n, learner, VAULT_P_LEARNER_GET, &s);
	if (st != LV_OK)
		return st;
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*have = sqlite3_column_int(s, 5) != 0;
		if (*have)
			learner_from(s, l);
		*pending = sqlite3_column_int64(s, 6);
	} else {
		st = db_status(rc);
	}
	sqlite3_reset(s);
	return st;
}

/* Voided statements of @learner per the index (partial index
 * statements_voided keeps this a short range scan). */
static enum lv_status voided_count(struct lv_node *n, const char *learner, int64_t *count)
{
	sqlite3_stmt *s = NULL;
	*count = 0;
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

/* ---- the model state in memory ---- */

struct mstate {
	struct personal_strtab item_ids, skill_ids;
	struct personal_item *items;   /* items[i].activity borrows item_ids.names[i] */
	struct personal_skill *skills; /* skills[i].skill borrows skill_ids.names[i] */
	size_t icap, scap;
	struct personal_learner l;
	/* lazy: rows not yet in memory are read from this learner's vault on
	 * first use (else they start fresh). */
	bool lazy;
	struct lv_node *n;
	const char *learner;
};

static void ms_free(struct mstate *ms)
{
	for (size_t i = 0; ms->items && i < ms->item_ids.n; i++)
		free(ms->items[i].skills);
	free(ms->items);
	free(ms->skills);
	personal_strtab_free(&ms->item_ids);
	personal_strtab_free(&ms->skill_ids);
	memset(ms, 0, sizeof *ms);
}

/* Index of @id in @t, adding it (and growing @arr of @size-byte elements)
 * when new; -1 when out of memory.  *@added tells which. */
static long intern_grow(struct personal_strtab *t, const char *id, void **arr, size_t *cap, size_t size, bool *added)
{
	size_t before = t->n;
	long k = personal_strtab_intern(t, id);
	*added = k >= 0 && t->n != before;
	if (!*added)
		return k;
	if (t->n > *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		void *na = realloc(*arr, nc * size);
		if (!na)
			return -1;
		*arr = na;
		*cap = nc;
	}
	memset((char *)*arr + (size_t)k * size, 0, size);
	return k;
}

/* The item of @activity: in memory, else its row (lazy), else fresh. */
static enum lv_status ms_item(struct mstate *ms, const char *activity, long *out)
{
	bool added;
	long i = intern_grow(&ms->item_ids, activity, (void **)&ms->items, &ms->icap, sizeof *ms->items, &added);
	if (i < 0)
		return LV_ERR_NOMEM;
	*out = i;
	struct personal_item *it = &ms->items[i];
	it->activity = ms->item_ids.names[i];
	if (!added || !ms->lazy)
		return LV_OK;
	sqlite3_stmt *s = NULL;
	enum lv_status st = vault_stmt(ms->n, ms->learner, VAULT_P_ITEM_GET, &s);
	if (st != LV_OK)
		return st;
	sqlite3_bind_text(s, 1, activity, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		st = item_from(s, 0, it);
	else if (rc != SQLITE_DONE)
		st = db_status(rc);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return st;
}

/* The skill @id: in memory, else its row (lazy), else at its prior. */
static enum lv_status ms_skill(struct mstate *ms, const struct personal_cfg *cfg, const char *id, long *out)
{
	bool added;
	long k = intern_grow(&ms->skill_ids, id, (void **)&ms->skills, &ms->scap, sizeof *ms->skills, &added);
	if (k < 0)
		return LV_ERR_NOMEM;
	*out = k;
	if (!added)
		return LV_OK;
	struct personal_skill *sk = &ms->skills[k];
	skill_fresh(cfg, id, sk);
	sk->skill = ms->skill_ids.names[k];
	if (!ms->lazy)
		return LV_OK;
	sqlite3_stmt *s = NULL;
	enum lv_status st = vault_stmt(ms->n, ms->learner, VAULT_P_SKILL_GET, &s);
	if (st != LV_OK)
		return st;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		skill_from(s, 0, sk);
	else if (rc != SQLITE_DONE)
		st = db_status(rc);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return st;
}

/* Every stored row into @ms. */
static enum lv_status ms_load_all(struct mstate *ms, sqlite3 *v)
{
	sqlite3_stmt *s = NULL;
	long k;
	bool added;
	enum lv_status st = db_status(sqlite3_prepare_v2(v,
		"SELECT activity, stability, difficulty, last_review, reviews, lapses, last_grade, b, answers, skills"
		" FROM personal_items", -1, &s, NULL));
	int rc = SQLITE_DONE;
	while (st == LV_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		k = intern_grow(&ms->item_ids, (const char *)sqlite3_column_text(s, 0), (void **)&ms->items, &ms->icap,
				sizeof *ms->items, &added);
		if (k < 0) {
			st = LV_ERR_NOMEM;
			break;
		}
		ms->items[k].activity = ms->item_ids.names[k];
		st = item_from(s, 1, &ms->items[k]);
	}
	if (st == LV_OK && rc != SQLITE_DONE)
		st = db_status(rc);
	sqlite3_finalize(s);
	s = NULL;
	if (st == LV_OK)
		st = db_status(sqlite3_prepare_v2(v, "SELECT skill, known, responses, correct, updated FROM personal_skills",
						  -1, &s, NULL));
	while (st == LV_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		k = intern_grow(&ms->skill_ids, (const char *)sqlite3_column_text(s, 0), (void **)&ms->skills, &ms->scap,
				sizeof *ms->skills, &added);
		if (k < 0) {
			st = LV_ERR_NOMEM;
			break;
		}
		ms->skills[k].skill = ms->skill_ids.names[k];
		skill_from(s, 1, &ms->skills[k]);
	}
	if (st == LV_OK && rc != SQLITE_DONE)
		st = db_status(rc);
	sqlite3_finalize(s);
	return st;
}

static enum lv_status replay_one(struct mstate *ms, const struct personal_cfg *cfg, const cJSON *stmt)
{
	struct lv_response r;
	const char *ids[LV_ACTIVITY_SKILLS_MAX];
	char buf[SKILLS_TEXT_MAX];
	long idx[LV_ACTIVITY_SKILLS_MAX], i;
	size_t nids = 0;
	if (personal_response(cfg, stmt, &r) != LV_OK)
		return LV_OK; /* not a response: nothing to learn from */
	enum lv_status st = ms_item(ms, r.activity, &i);
	if (st == LV_OK)
		st = resolve_skills(&r, &ms->items[i], ids, &nids, buf);
	for (size_t k = 0; k < nids && st == LV_OK; k++)
		st = ms_skill(ms, cfg, ids[k], &idx[k]);
	if (st != LV_OK)
		return st;
	/* Pointers only once both arrays stopped growing. */
	struct personal_skill *sk[LV_ACTIVITY_SKILLS_MAX];
	for (size_t k = 0; k < nids; k++) {
		sk[k] = &ms->skills[idx[k]];
		sk[k]->dirty = true;
	}
	ms->items[i].dirty = true;
	return apply_response(cfg, &ms->l, &ms->items[i], sk, nids, &r);
}

/* Applies the vault's statements after @after_seq, in seq order, that the
 * index holds for @learner and has not voided.  ms->l.last_seq becomes the
 * last seq examined.  Lock held. */
static enum lv_status replay(struct lv_node *n, const char *learner, sqlite3 *v, const struct personal_cfg *cfg,
			     struct mstate *ms, int64_t after_seq)
{
	sqlite3_stmt *rows = NULL, *idx = NULL;
	enum lv_status st = db_status(sqlite3_prepare_v2(v, "SELECT seq, body FROM statements WHERE seq > ? ORDER BY seq",
							 -1, &rows, NULL));
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
		/* A vault row the index does not hold for this learner is the
		 * leftover of a batch that failed after its vault commit. */
		bool visible = irc == SQLITE_ROW && sqlite3_column_int(idx, 1) == 0 &&
			       strcmp((const char *)sqlite3_column_text(idx, 0), learner) == 0;
		if (irc != SQLITE_ROW && irc != SQLITE_DONE)
			st = db_status(irc);
		if (st == LV_OK && visible) {
			cJSON *body = cJSON_ParseWithLength((const char *)sqlite3_column_text(rows, 1),
							    (size_t)sqlite3_column_bytes(rows, 1));
			st = body ? replay_one(ms, cfg, body) : LV_ERR_INTERNAL;
			cJSON_Delete(body);
		}
		ms->l.last_seq = seq;
	}
	if (st == LV_OK && rc != SQLITE_DONE)
		st = db_status(rc);
	sqlite3_finalize(rows);
	sqlite3_finalize(idx);
	return st;
}

/* Writes the rows changed in @ms (@all: every row) and the learner row. */
static enum lv_status ms_write(struct lv_node *n, const char *learner, const struct mstate *ms, bool all)
{
	sqlite3_stmt *put = NULL;
	enum lv_status st = vault_stmt(n, learner, VAULT_P_ITEM_PUT, &put);
	for (size_t i = 0; st == LV_OK && i < ms->item_ids.n; i++)
		if (all || ms->items[i].dirty)
			st = item_bind_put(put, &ms->items[i]);
	if (st == LV_OK)
		st = vault_stmt(n, learner, VAULT_P_SKILL_PUT, &put);
	for (size_t i = 0; st == LV_OK && i < ms->skill_ids.n; i++)
		if (all || ms->skills[i].dirty)
			st = skill_bind_put(put, &ms->skills[i]);
	if (st == LV_OK)
		st = vault_stmt(n, learner, VAULT_P_LEARNER_PUT, &put);
	if (st == LV_OK)
		st = learner_bind_put(put, &ms->l);
	return st;
}

/* ---- rebuild ---- */

/* Recomputes the state from every statement of the vault and replaces the
 * stored one.  Inside the caller's vault transaction; lock held. */
static enum lv_status rebuild_in_tx(struct lv_node *n, const char *learner, sqlite3 *v,
				    const struct personal_cfg *cfg, int64_t voided)
{
	struct mstate ms;
	memset(&ms, 0, sizeof ms);
	snprintf(ms.l.config, sizeof ms.l.config, "%s", cfg->id);
	ms.l.voided = voided;
	enum lv_status st = replay(n, learner, v, cfg, &ms, 0);
	if (st == LV_OK)
		st = db_exec(v, "DELETE FROM personal_items; DELETE FROM personal_skills; DELETE FROM personal_learner;");
	if (st == LV_OK)
		st = ms_write(n, learner, &ms, true);
	ms_free(&ms);
	return st;
}

/* Runs @fn(@ctx) in its own vault transaction; on failure the handle is
 * rolled back and dropped from the cache. */
static enum lv_status in_vault_tx(struct lv_node *n, const char *learner,
				  enum lv_status (*fn)(struct lv_node *, const char *, sqlite3 *, void *), void *ctx)
{
	sqlite3 *v = NULL;
	enum lv_status st = vault_get(n, learner, false, &v);
	if (st != LV_OK)
		return st;
	if ((st = db_exec(v, "BEGIN;")) != LV_OK)
		return st;
	st = fn(n, learner, v, ctx);
	if (st == LV_OK)
		st = db_exec(v, "COMMIT;");
	if (st != LV_OK) {
		if (db_exec(v, "ROLLBACK;") != LV_OK) { /* the handle is evicted below */ }
		vault_evict(n, learner);
	}
	return st;
}

static enum lv_status rebuild_fn(struct lv_node *n, const char *learner, sqlite3 *v, void *ctx)
{
	int64_t voided = 0;
	enum lv_status st = voided_count(n, learner, &voided);
	return st == LV_OK ? rebuild_in_tx(n, learner, v, ctx, voided) : st;
}

enum lv_status lv_personal_rebuild(struct lv_node *n, const char *learner)
{
	const struct personal_cfg *cfg;
	if (!learner || strlen(learner) != LV_PSEUDONYM_LEN - 1)
		return LV_ERR_INVALID;
	enum lv_status st = lv_store_lock(n);
	if (st == LV_OK)
		st = personal_cfg_get_locked(n, true, &cfg);
	if (st == LV_OK)
		st = in_vault_tx(n, learner, rebuild_fn, (void *)cfg);
	lv_store_unlock(n);
	return st;
}

/* ---- ingest ---- */

/* A state with no row yet starts empty under the current configuration;
 * its voided count is what the index says now (replays skip those). */
static enum lv_status ms_start(struct lv_node *n, const char *learner, const struct personal_cfg *cfg,
			       const struct personal_learner *l, bool have, struct mstate *ms)
{
	if (have) {
		ms->l = *l;
		return LV_OK;
	}
	memset(&ms->l, 0, sizeof ms->l);
	snprintf(ms->l.config, sizeof ms->l.config, "%s", cfg->id);
	return voided_count(n, learner, &ms->l.voided);
}

enum lv_status lv_personal_statement_stored(void *ctx, struct lv_node *n, const char *learner, const cJSON *stmt,
					    int64_t seq)
{
	(void)ctx;
	const struct personal_cfg *cfg;
	struct lv_response r;
	struct personal_learner l;
	struct mstate ms;
	sqlite3 *v = NULL;
	bool have;
	int64_t pending;
	(void)seq;
	enum lv_status st = personal_cfg_get_locked(n, false, &cfg);
	if (st != LV_OK)
		return st;
	/* Statements that are not responses never complete a step. */
	if (personal_response(cfg, stmt, &r) != LV_OK)
		return LV_OK;
	uint8_t *hint = &cfg->hint[util_fnv1a(learner) & (PERSONAL_HINT_SLOTS - 1)];
	if (++*hint < PERSONAL_FOLD_EVERY)
		return LV_OK;
	if ((st = learner_get(n, learner, &l, &have, &pending)) != LV_OK)
		return st;
	if (pending < PERSONAL_FOLD_EVERY) {
		*hint = (uint8_t)pending;
		return LV_OK;
	}
	*hint = 0;
	/* Advance the checkpoint over the accumulated statements (this one
	 * included: its vault row is already written), reading only the rows
	 * they touch. */
	memset(&ms, 0, sizeof ms);
	ms.lazy = true;
	ms.n = n;
	ms.learner = learner;
	st = vault_get(n, learner, false, &v);
	if (st == LV_OK)
		st = ms_start(n, learner, cfg, &l, have, &ms);
	if (st == LV_OK)
		st = replay(n, learner, v, cfg, &ms, ms.l.last_seq);
	if (st == LV_OK)
		st = ms_write(n, learner, &ms, false);
	ms_free(&ms);
	return st;
}

/* ---- reading the whole state ---- */

void personal_state_free(struct personal_state *s)
{
	for (size_t i = 0; s->items && i < s->nitems; i++) {
		free(s->items[i].activity);
		free(s->items[i].skills);
	}
	for (size_t i = 0; s->skills && i < s->nskills; i++)
		free(s->skills[i].skill);
	free(s->items);
	free(s->skills);
	memset(s, 0, sizeof *s);
}

static int cmp_item(const void *a, const void *b)
{
	return strcmp(((const struct personal_item *)a)->activity, ((const struct personal_item *)b)->activity);
}

static int cmp_skill(const void *a, const void *b)
{
	return strcmp(((const struct personal_skill *)a)->skill, ((const struct personal_skill *)b)->skill);
}

/* Moves @ms into @out as sorted arrays with owned strings. */
static enum lv_status ms_export(struct mstate *ms, struct personal_state *out)
{
	out->l = ms->l;
	out->items = calloc(ms->item_ids.n ? ms->item_ids.n : 1, sizeof *out->items);
	out->skills = calloc(ms->skill_ids.n ? ms->skill_ids.n : 1, sizeof *out->skills);
	if (!out->items || !out->skills)
		return LV_ERR_NOMEM;
	for (size_t i = 0; i < ms->item_ids.n; i++, out->nitems++) {
		out->items[i] = ms->items[i];
		ms->items[i].skills = NULL;
		if (!(out->items[i].activity = strdup(ms->item_ids.names[i])))
			return LV_ERR_NOMEM;
	}
	for (size_t i = 0; i < ms->skill_ids.n; i++, out->nskills++) {
		out->skills[i] = ms->skills[i];
		if (!(out->skills[i].skill = strdup(ms->skill_ids.names[i])))
			return LV_ERR_NOMEM;
	}
	if (out->nitems)
		qsort(out->items, out->nitems, sizeof *out->items, cmp_item);
	if (out->nskills)
		qsort(out->skills, out->nskills, sizeof *out->skills, cmp_skill);
	return LV_OK;
}

static enum lv_status fold_fn(struct lv_node *n, const char *learner, sqlite3 *v, void *ctx)
{
	(void)v;
	return ms_write(n, learner, ctx, false);
}

enum lv_status personal_state_load_locked(struct lv_node *n, const char *learner, const struct personal_cfg *cfg,
					  struct personal_state *out)
{
	sqlite3 *v = NULL;
	struct personal_learner l;
	struct mstate ms;
	bool have = false;
	int64_t voided = 0, pending = 0;
	memset(out, 0, sizeof *out);
	memset(&ms, 0, sizeof ms);
	enum lv_status st = vault_get(n, learner, false, &v);
	if (st == LV_OK)
		st = learner_get(n, learner, &l, &have, &pending);
	if (st == LV_OK)
		st = voided_count(n, learner, &voided);
	if (st != LV_OK)
		return st;
	/* Built under another configuration, or a statement was voided since:
	 * recomputed from the vault (once; stored). */
	if (have && (strcmp(l.config, cfg->id) != 0 || l.voided != voided)) {
		if ((st = in_vault_tx(n, learner, rebuild_fn, (void *)cfg)) != LV_OK ||
		    (st = vault_get(n, learner, false, &v)) != LV_OK ||
		    (st = learner_get(n, learner, &l, &have, &pending)) != LV_OK)
			return st;
	}
	st = ms_load_all(&ms, v);
	if (st == LV_OK)
		st = ms_start(n, learner, cfg, &l, have, &ms);
	/* The statements after the checkpoint, in memory; a long tail (a
	 * vault older than this code) is stored so it is read only once. */
	if (st == LV_OK && pending)
		st = replay(n, learner, v, cfg, &ms, ms.l.last_seq);
	if (st == LV_OK && pending >= PERSONAL_FOLD_EVERY)
		st = in_vault_tx(n, learner, fold_fn, &ms);
	if (st == LV_OK)
		st = ms_export(&ms, out);
	ms_free(&ms);
	if (st != LV_OK)
		personal_state_free(out);
	return st;
}

const struct personal_item *personal_state_item(const struct personal_state *s, const char *activity)
{
	size_t lo = 0, hi = s->nitems;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(s->items[mid].activity, activity);
		if (c == 0)
			return &s->items[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct personal_skill *personal_state_skill(const struct personal_state *s, const char *skill)
{
	size_t lo = 0, hi = s->nskills;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(s->skills[mid].skill, skill);
		if (c == 0)
			return &s->skills[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}
