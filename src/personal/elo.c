/* Elo learner/item model (see learnvault/personal.h for the two rules).
 * Learners and items are interned to dense indices; the per-(learner,
 * item) current skill of the prior+current rule lives in a side table
 * keyed by the index pair. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "personal_int.h"
#include "learnvault/util.h"

void lv_elo_config_default(struct lv_elo_config *c)
{
	*c = (struct lv_elo_config){.mode = LV_ELO_PRIOR_CURRENT, .alpha = 0.8, .beta = 0.05,
				    .pfae_good = 3.4, .pfae_bad = 0.3, .time_shift = 80.0,
				    .freeze_items = false};
}

double lv_elo_k(double alpha, double beta, uint32_t n)
{
	return alpha / (1.0 + beta * (double)n);
}

double lv_elo_prob(double x, unsigned options)
{
	double g = options >= 2 ? 1.0 / (double)options : 0.0;
	/* Written so that neither branch overflows exp(). */
	double s = x >= 0 ? 1.0 / (1.0 + exp(-x)) : exp(x) / (1.0 + exp(x));
	return g + (1.0 - g) * s;
}

static bool config_ok(const struct lv_elo_config *c)
{
	return c && (c->mode == LV_ELO_BASIC || c->mode == LV_ELO_PRIOR_CURRENT) && isfinite(c->alpha) &&
	       c->alpha >= 0 && isfinite(c->beta) && c->beta >= 0 && isfinite(c->pfae_good) &&
	       c->pfae_good >= 0 && isfinite(c->pfae_bad) && c->pfae_bad >= 0 && isfinite(c->time_shift) &&
	       c->time_shift >= 0;
}

enum lv_status lv_elo_create(const struct lv_elo_config *c, struct lv_elo **out)
{
	*out = NULL;
	if (!config_ok(c))
		return LV_ERR_INVALID;
	struct lv_elo *e = calloc(1, sizeof *e);
	if (!e)
		return LV_ERR_NOMEM;
	e->cfg = *c;
	personal_strtab_init(&e->learner_ids);
	personal_strtab_init(&e->item_ids);
	personal_u64map_init(&e->pair_index);
	*out = e;
	return LV_OK;
}

void lv_elo_destroy(struct lv_elo *e)
{
	if (!e)
		return;
	personal_strtab_free(&e->learner_ids);
	personal_strtab_free(&e->item_ids);
	personal_u64map_free(&e->pair_index);
	free(e->learners);
	free(e->items);
	free(e->pairs);
	free(e);
}

/* Room for @need elements of @size bytes; at least 64 once any. */
static bool grow(void **arr, size_t *cap, size_t need, size_t size)
{
	return util_array_grow(arr, size, cap, need && need < 64 ? 64 : need, SIZE_MAX) == LV_OK;
}

/* Index of @item, added at b = 0 when new; -1 on allocation failure. */
static long item_intern(struct lv_elo *e, const char *item)
{
	long i = personal_strtab_find(&e->item_ids, item);
	if (i >= 0)
		return i;
	if (!grow((void **)&e->items, &e->items_cap, e->item_ids.n + 1, sizeof *e->items))
		return -1;
	i = personal_strtab_intern(&e->item_ids, item);
	if (i >= 0)
		e->items[i] = (struct personal_elo_item){0};
	return i;
}

static long learner_intern(struct lv_elo *e, const char *learner)
{
	long i = personal_strtab_find(&e->learner_ids, learner);
	if (i >= 0)
		return i;
	if (!grow((void **)&e->learners, &e->learners_cap, e->learner_ids.n + 1, sizeof *e->learners))
		return -1;
	i = personal_strtab_intern(&e->learner_ids, learner);
	if (i >= 0)
		e->learners[i] = (struct personal_elo_learner){0};
	return i;
}

enum lv_status lv_elo_item_set(struct lv_elo *e, const char *item, double b, uint32_t n, unsigned options)
{
	if (!personal_name_ok(item) || !isfinite(b))
		return LV_ERR_INVALID;
	long i = item_intern(e, item);
	if (i < 0)
		return LV_ERR_NOMEM;
	e->items[i] = (struct personal_elo_item){.b = b, .n = n, .options = options};
	return LV_OK;
}

bool lv_elo_item_get(const struct lv_elo *e, const char *item, double *b, uint32_t *n)
{
	long i = item ? personal_strtab_find(&e->item_ids, item) : -1;
	*b = i >= 0 ? e->items[i].b : 0.0;
	*n = i >= 0 ? e->items[i].n : 0;
	return i >= 0;
}

bool lv_elo_learner_get(const struct lv_elo *e, const char *learner, double *theta, uint32_t *n)
{
	long i = learner ? personal_strtab_find(&e->learner_ids, learner) : -1;
	*theta = i >= 0 ? e->learners[i].theta : 0.0;
	*n = i >= 0 ? e->learners[i].n : 0;
	return i >= 0;
}

static uint64_t pair_key(long l, long i)
{
	return (uint64_t)l << 32 | (uint64_t)(uint32_t)i;
}

/* The prediction for learner index @l / item index @i (either may be -1:
 * unseen); *@pair gets the pair's slot or -1. */
static double predict_idx(const struct lv_elo *e, long l, long i, double now, long *pair)
{
	double theta = l >= 0 ? e->learners[l].theta : 0.0;
	double b = i >= 0 ? e->items[i].b : 0.0;
	unsigned options = i >= 0 ? e->items[i].options : 0;
	*pair = -1;
	if (e->cfg.mode == LV_ELO_PRIOR_CURRENT && l >= 0 && i >= 0) {
		uint32_t v;
		if (personal_u64map_get(&e->pair_index, pair_key(l, i), &v)) {
			const struct personal_elo_pair *pp = &e->pairs[v];
			double x = pp->current;
			if (e->cfg.time_shift > 0 && isfinite(now) && isfinite(pp->last_time)) {
				double dt = now - pp->last_time;
				x += e->cfg.time_shift / (dt > 0.001 ? dt : 0.001);
			}
			*pair = (long)v;
			return lv_elo_prob(x, options);
		}
	}
	return lv_elo_prob(theta - b, options);
}

enum lv_status lv_elo_predict(const struct lv_elo *e, const char *learner, const char *item, double now,
			      double *p)
{
	*p = 0.0;
	if (!personal_name_ok(learner) || !personal_name_ok(item))
		return LV_ERR_INVALID;
	long l = personal_strtab_find(&e->learner_ids, learner), i = personal_strtab_find(&e->item_ids, item), pr;
	*p = predict_idx(e, l, i, now, &pr);
	return LV_OK;
}

enum lv_status lv_elo_answer(struct lv_elo *e, const char *learner, const char *item, bool correct, double now,
			     double *p_before)
{
	if (p_before)
		*p_before = 0.0;
	if (!personal_name_ok(learner) || !personal_name_ok(item))
		return LV_ERR_INVALID;
	/* Reserve everything first so that a failed call changes nothing
	 * but possibly interning the two ids at their neutral start. */
	long l = learner_intern(e, learner), i = l >= 0 ? item_intern(e, item) : -1;
	if (l < 0 || i < 0)
		return LV_ERR_NOMEM;
	long pr;
	double p = predict_idx(e, l, i, now, &pr);
	double y = correct ? 1.0 : 0.0;
	struct personal_elo_learner *L = &e->learners[l];
	struct personal_elo_item *I = &e->items[i];
	bool first = true;
	if (e->cfg.mode == LV_ELO_PRIOR_CURRENT) {
		first = pr < 0;
		if (first) {
			if (!grow((void **)&e->pairs, &e->pairs_cap, e->npairs + 1, sizeof *e->pairs) ||
			    !personal_u64map_put(&e->pair_index, pair_key(l, i), (uint32_t)e->npairs))
				return LV_ERR_NOMEM;
			pr = (long)e->npairs++;
			/* The current skill starts from the prior knowledge as
			 * it was before this answer updates it. */
			e->pairs[pr] = (struct personal_elo_pair){.current = L->theta - I->b, .last_time = NAN};
		}
	}
	if (first) {
		/* basic: every answer; prior+current: first answers only, so
		 * that repeated practice on one item does not inflate theta. */
		double d = y - p;
		L->theta += lv_elo_k(e->cfg.alpha, e->cfg.beta, L->n) * d;
		if (L->n < UINT32_MAX)
			L->n++;
		if (!e->cfg.freeze_items) {
			I->b -= lv_elo_k(e->cfg.alpha, e->cfg.beta, I->n) * d;
			if (I->n < UINT32_MAX)
				I->n++;
		}
	}
	if (e->cfg.mode == LV_ELO_PRIOR_CURRENT) {
		struct personal_elo_pair *pp = &e->pairs[pr];
		pp->current += correct ? e->cfg.pfae_good * (1.0 - p) : -e->cfg.pfae_bad * p;
		pp->last_time = now;
	}
	if (p_before)
		*p_before = p;
	return LV_OK;
}

struct pick {
	double dist;
	size_t idx;
};

static int pick_cmp(const void *a, const void *b)
{
	const struct pick *x = a, *y = b;
	if (x->dist != y->dist)
		return x->dist < y->dist ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

enum lv_status lv_elo_pick(const struct lv_elo *e, const char *learner, const char *const *items, size_t n,
			   double target, double now, size_t *order)
{
	if (!personal_name_ok(learner) || !(target > 0.0 && target < 1.0) || (n && (!items || !order)))
		return LV_ERR_INVALID;
	for (size_t k = 0; k < n; k++)
		if (!personal_name_ok(items[k]))
			return LV_ERR_INVALID;
	if (n == 0)
		return LV_OK;
	struct pick *pk = malloc(n * sizeof *pk);
	if (!pk)
		return LV_ERR_NOMEM;
	long l = personal_strtab_find(&e->learner_ids, learner);
	for (size_t k = 0; k < n; k++) {
		long pr;
		double p = predict_idx(e, l, personal_strtab_find(&e->item_ids, items[k]), now, &pr);
		pk[k] = (struct pick){.dist = fabs(p - target), .idx = k};
	}
	qsort(pk, n, sizeof *pk, pick_cmp);
	for (size_t k = 0; k < n; k++)
		order[k] = pk[k].idx;
	free(pk);
	return LV_OK;
}
