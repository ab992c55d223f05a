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

#include "learnvault/store.h"
#include "recommend_int.h"
#include "learnvault/util.h"

#define SKILLS_TEXT_MAX (LV_ACTIVITY_SKILLS_MAX * (LV_PERSONAL_NAME_MAX + 1))

/* ---- the models, one response at a time ---- */

/* Elo (basic rule: both estimates move on every answer, K from counts
 * before the answer), FSRS-6 for the activity as a card, BKT for each
 * skill.  Shared by ingest and rebuild, so both give the same numbers. */
static enum lv_status apply_response(const struct personal_cfg *cfg, struct lv_store_personal_learner *l,
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

/* ---- the model state in memory ---- */

struct mstate {
	struct personal_strtab item_ids, skill_ids;
	struct personal_item *items;   /* items[i].activity borrows item_ids.names[i] */
	struct personal_skill *skills; /* skills[i].skill borrows skill_ids.names[i] */
	size_t icap, scap;
	struct lv_store_personal_learner l;
	struct lv_node *n;
	const char *learner;
	const struct personal_cfg *cfg;
	/* lazy: rows not yet in memory are read from this learner's vault on
	 * first use (else they start fresh). */
	bool lazy;
};

static void ms_init(struct mstate *ms, struct lv_node *n, const char *learner, const struct personal_cfg *cfg,
		    bool lazy)
{
	memset(ms, 0, sizeof *ms);
	ms->n = n;
	ms->learner = learner;
	ms->cfg = cfg;
	ms->lazy = lazy;
}

static void ms_free(struct mstate *ms)
{
	/* icap: an id interned just before its array failed to grow has no
	 * element. */
	for (size_t i = 0; ms->items && i < ms->item_ids.n && i < ms->icap; i++)
		free(ms->items[i].skills);
	free(ms->items);
	free(ms->skills);
	personal_strtab_free(&ms->item_ids);
	personal_strtab_free(&ms->skill_ids);
	memset(ms, 0, sizeof *ms);
}

/* Index of @id in @t, adding it (and growing @arr of @size-byte elements,
 * first to 64: about what one checkpoint step touches) when new; -1 when
 * out of memory.  *@added tells which. */
static long intern_grow(struct personal_strtab *t, const char *id, void **arr, size_t *cap, size_t size, bool *added)
{
	size_t before = t->n;
	long k = personal_strtab_intern(t, id);
	*added = k >= 0 && t->n != before;
	if (!*added)
		return k;
	if (util_array_grow(arr, size, cap, t->n < 64 ? 64 : t->n, UINT32_MAX) != LV_OK)
		return -1;
	memset((char *)*arr + (size_t)k * size, 0, size);
	return k;
}

/* A stored item row into @it (its activity stays); takes r->skills. */
static void item_set(struct personal_item *it, const struct lv_store_personal_item *r)
{
	it->has_memory = r->has_memory;
	it->stability = r->stability;
	it->difficulty = r->difficulty;
	it->last_review_ms = r->last_review_ms;
	it->reviews = r->reviews;
	it->lapses = r->lapses;
	it->last_grade = r->last_grade;
	it->b = r->b;
	it->answers = r->answers;
	free(it->skills);
	it->skills = r->skills;
}

static struct lv_store_personal_item item_row(const struct personal_item *it)
{
	return (struct lv_store_personal_item){
		.activity = it->activity, .has_memory = it->has_memory, .stability = it->stability,
		.difficulty = it->difficulty, .last_review_ms = it->last_review_ms, .reviews = it->reviews,
		.lapses = it->lapses, .last_grade = it->last_grade, .b = it->b, .answers = it->answers,
		.skills = it->skills,
	};
}

static void skill_set(struct personal_skill *k, const struct lv_store_personal_skill *r)
{
	k->known = r->known;
	k->responses = r->responses;
	k->correct = r->correct;
	k->updated_ms = r->updated_ms;
}

/* The item of @activity: in memory, else its row (lazy), else fresh. */
static enum lv_status ms_item(struct mstate *ms, const char *activity, long *out)
{
	bool added, found;
	long i = intern_grow(&ms->item_ids, activity, (void **)&ms->items, &ms->icap, sizeof *ms->items, &added);
	if (i < 0)
		return LV_ERR_NOMEM;
	*out = i;
	struct personal_item *it = &ms->items[i];
	it->activity = ms->item_ids.names[i];
	if (!added || !ms->lazy)
		return LV_OK;
	struct lv_store_personal_item row;
	enum lv_status st = lv_store_personal_item_get(ms->n, ms->learner, activity, &row, &found);
	if (st == LV_OK && found)
		item_set(it, &row);
	return st;
}

/* The skill @id: in memory, else its row (lazy), else at its prior. */
static enum lv_status ms_skill(struct mstate *ms, const char *id, long *out)
{
	bool added, found;
	long k = intern_grow(&ms->skill_ids, id, (void **)&ms->skills, &ms->scap, sizeof *ms->skills, &added);
	if (k < 0)
		return LV_ERR_NOMEM;
	*out = k;
	if (!added)
		return LV_OK;
	struct personal_skill *sk = &ms->skills[k];
	skill_fresh(ms->cfg, id, sk);
	sk->skill = ms->skill_ids.names[k];
	if (!ms->lazy)
		return LV_OK;
	struct lv_store_personal_skill row;
	enum lv_status st = lv_store_personal_skill_get(ms->n, ms->learner, id, &row, &found);
	if (st == LV_OK && found)
		skill_set(sk, &row);
	return st;
}

static enum lv_status load_item(void *ctx, const struct lv_store_personal_item *row)
{
	struct mstate *ms = ctx;
	bool added;
	long k = intern_grow(&ms->item_ids, row->activity, (void **)&ms->items, &ms->icap, sizeof *ms->items, &added);
	if (k < 0) {
		free(row->skills);
		return LV_ERR_NOMEM;
	}
	ms->items[k].activity = ms->item_ids.names[k];
	item_set(&ms->items[k], row);
	return LV_OK;
}

static enum lv_status load_skill(void *ctx, const struct lv_store_personal_skill *row)
{
	struct mstate *ms = ctx;
	bool added;
	long k = intern_grow(&ms->skill_ids, row->skill, (void **)&ms->skills, &ms->scap, sizeof *ms->skills, &added);
	if (k < 0)
		return LV_ERR_NOMEM;
	ms->skills[k].skill = ms->skill_ids.names[k];
	skill_set(&ms->skills[k], row);
	return LV_OK;
}

/* Every stored row into @ms. */
static enum lv_status ms_load_all(struct mstate *ms)
{
	enum lv_status st = lv_store_personal_items_each(ms->n, ms->learner, load_item, ms);
	return st == LV_OK ? lv_store_personal_skills_each(ms->n, ms->learner, load_skill, ms) : st;
}

static enum lv_status replay_one(struct mstate *ms, const cJSON *stmt)
{
	const struct personal_cfg *cfg = ms->cfg;
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
		st = ms_skill(ms, ids[k], &idx[k]);
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

/* One statement of the walk: applied when live; the checkpoint covers it
 * either way. */
static enum lv_status replay_row(void *ctx, int64_t seq, const char *body, size_t len)
{
	struct mstate *ms = ctx;
	enum lv_status st = LV_OK;
	if (body) {
		cJSON *stmt = cJSON_ParseWithLength(body, len);
		st = stmt ? replay_one(ms, stmt) : LV_ERR_INTERNAL;
		cJSON_Delete(stmt);
	}
	ms->l.last_seq = seq;
	return st;
}

/* Applies the vault's statements after @after_seq, in seq order, that the
 * index holds for the learner and has not voided.  ms->l.last_seq becomes
 * the last seq examined.  Lock held. */
static enum lv_status replay(struct mstate *ms, int64_t after_seq)
{
	return lv_store_vault_statements_each(ms->n, ms->learner, after_seq, replay_row, ms);
}

/* Writes the rows changed in @ms (@all: every row) and the learner row. */
static enum lv_status ms_write(const struct mstate *ms, bool all)
{
	size_t ni = 0, nk = 0;
	struct lv_store_personal_item *items = malloc((ms->item_ids.n ? ms->item_ids.n : 1) * sizeof *items);
	struct lv_store_personal_skill *skills = malloc((ms->skill_ids.n ? ms->skill_ids.n : 1) * sizeof *skills);
	enum lv_status st = items && skills ? LV_OK : LV_ERR_NOMEM;
	for (size_t i = 0; st == LV_OK && i < ms->item_ids.n; i++)
		if (all || ms->items[i].dirty)
			items[ni++] = item_row(&ms->items[i]);
	for (size_t i = 0; st == LV_OK && i < ms->skill_ids.n; i++)
		if (all || ms->skills[i].dirty)
			skills[nk++] = (struct lv_store_personal_skill){
				.skill = ms->skills[i].skill, .known = ms->skills[i].known,
				.responses = ms->skills[i].responses, .correct = ms->skills[i].correct,
				.updated_ms = ms->skills[i].updated_ms,
			};
	if (st == LV_OK)
		st = lv_store_personal_put(ms->n, ms->learner, items, ni, skills, nk, &ms->l);
	free(items);
	free(skills);
	return st;
}

/* ---- rebuild ---- */

/* Recomputes the state from every statement of the vault and replaces the
 * stored one (@ctx: a fresh, not lazy mstate).  Inside the vault
 * transaction; lock held. */
static enum lv_status rebuild_fn(void *ctx)
{
	struct mstate *ms = ctx;
	int64_t voided = 0;
	enum lv_status st = lv_store_statements_count_voided(ms->n, ms->learner, &voided);
	if (st != LV_OK)
		return st;
	snprintf(ms->l.config, sizeof ms->l.config, "%s", ms->cfg->id);
	ms->l.voided = voided;
	st = replay(ms, 0);
	if (st == LV_OK)
		st = lv_store_personal_clear(ms->n, ms->learner);
	if (st == LV_OK)
		st = ms_write(ms, true);
	return st;
}

/* Rebuilds in its own vault transaction.  Lock held. */
static enum lv_status rebuild(struct lv_node *n, const char *learner, const struct personal_cfg *cfg)
{
	struct mstate ms;
	ms_init(&ms, n, learner, cfg, false);
	enum lv_status st = lv_store_vault_tx(n, learner, rebuild_fn, &ms);
	ms_free(&ms);
	return st;
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
		st = rebuild(n, learner, cfg);
	lv_store_unlock(n);
	return st;
}

/* ---- ingest ---- */

/* A state with no row yet starts empty under the current configuration;
 * its voided count is what the index says now (replays skip those). */
static enum lv_status ms_start(struct mstate *ms, const struct lv_store_personal_learner *l, bool have)
{
	if (have) {
		ms->l = *l;
		return LV_OK;
	}
	memset(&ms->l, 0, sizeof ms->l);
	snprintf(ms->l.config, sizeof ms->l.config, "%s", ms->cfg->id);
	return lv_store_statements_count_voided(ms->n, ms->learner, &ms->l.voided);
}

enum lv_status lv_personal_statement_stored(void *ctx, struct lv_node *n, const char *learner, const cJSON *stmt,
					    int64_t seq)
{
	(void)ctx;
	const struct personal_cfg *cfg;
	struct lv_response r;
	struct lv_store_personal_learner l;
	struct mstate ms;
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
	if ((st = lv_store_personal_learner_get(n, learner, &l, &have, &pending)) != LV_OK)
		return st;
	if (pending < PERSONAL_FOLD_EVERY) {
		*hint = (uint8_t)pending;
		return LV_OK;
	}
	*hint = 0;
	/* Advance the checkpoint over the accumulated statements (this one
	 * included: its vault row is already written), reading only the rows
	 * they touch. */
	ms_init(&ms, n, learner, cfg, true);
	st = ms_start(&ms, &l, have);
	if (st == LV_OK)
		st = replay(&ms, ms.l.last_seq);
	if (st == LV_OK)
		st = ms_write(&ms, false);
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

static enum lv_status fold_fn(void *ctx)
{
	return ms_write(ctx, false);
}

enum lv_status personal_state_load_locked(struct lv_node *n, const char *learner, const struct personal_cfg *cfg,
					  struct personal_state *out)
{
	struct lv_store_personal_learner l;
	struct mstate ms;
	bool have = false;
	int64_t voided = 0, pending = 0;
	memset(out, 0, sizeof *out);
	ms_init(&ms, n, learner, cfg, false);
	enum lv_status st = lv_store_personal_learner_get(n, learner, &l, &have, &pending);
	if (st == LV_OK)
		st = lv_store_statements_count_voided(n, learner, &voided);
	if (st != LV_OK)
		return st;
	/* Built under another configuration, or a statement was voided since:
	 * recomputed from the vault (once; stored). */
	if (have && (strcmp(l.config, cfg->id) != 0 || l.voided != voided)) {
		if ((st = rebuild(n, learner, cfg)) != LV_OK ||
		    (st = lv_store_personal_learner_get(n, learner, &l, &have, &pending)) != LV_OK)
			return st;
	}
	st = ms_load_all(&ms);
	if (st == LV_OK)
		st = ms_start(&ms, &l, have);
	/* The statements after the checkpoint, in memory; a long tail (a
	 * vault older than this code) is stored so it is read only once. */
	if (st == LV_OK && pending)
		st = replay(&ms, ms.l.last_seq);
	if (st == LV_OK && pending >= PERSONAL_FOLD_EVERY)
		st = lv_store_vault_tx(n, learner, fold_fn, &ms);
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
