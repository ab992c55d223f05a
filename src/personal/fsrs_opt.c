/* FSRS-6 parameter optimiser.
 *
 * Training follows py-fsrs 6.3.1 fsrs/optimizer.py (facts used, no code):
 * cards in a seeded random order each epoch, one Adam step per 512 scored
 * reviews (the loss of a batch is the sum of its cross-entropies), learning
 * rate 4e-2 cosine-annealed over ceil(n/512)·epochs steps, parameters
 * clamped to the bounds after each step, the end-of-epoch parameters with the
 * lowest training loss kept.  A card split across two batches continues
 * with the new parameters from its current state, whose dependence on the
 * old parameters is dropped (py-fsrs detaches it).
 *
 * Added from fsrs-rs src/training.rs (facts used, no code): an L2 pull
 * toward the defaults, gamma·Σ((w_i − d_i)/σ_i)² per epoch spread over the
 * batches in proportion to their size, with σ = fsrs-rs PARAMS_STDDEV.
 * Against a summed loss over n reviews its relative weight falls as 1/n:
 * strong on a short history, negligible on a long one.
 *
 * Gradients are exact: every quantity of the recurrence is carried as a
 * dual number (value + derivative with respect to each of the 21
 * parameters), i.e. forward-mode differentiation.  A card's state has two
 * such numbers, so one pass over the reviews gives the gradient without
 * storing the history; on 12,580 reviews an epoch takes a few milliseconds.
 * Clamps have zero derivative where they bind, as in torch. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "learnvault/fsrs.h"
#include "fsrs_internal.h"

#define NP LV_FSRS_NPARAMS

/* fsrs-rs src/training.rs PARAMS_STDDEV (spread of fitted parameters
 * across users): the scale of each parameter's pull toward its default. */
static const double params_stddev[NP] = {
	6.43, 9.66, 17.58, 27.85, 0.57, 0.28, 0.6, 0.12, 0.39, 0.18, 0.33,
	0.3, 0.09, 0.16, 0.57, 0.25, 1.03, 0.31, 0.32, 0.14, 0.27,
};

struct dual {
	double v;
	double d[NP];
};

static struct dual d_const(double v)
{
	struct dual r;
	memset(&r, 0, sizeof r);
	r.v = v;
	return r;
}

static struct dual d_param(const struct lv_fsrs_params *p, int i)
{
	struct dual r = d_const(p->w[i]);
	r.d[i] = 1.0;
	return r;
}

static struct dual d_add(struct dual a, struct dual b)
{
	a.v += b.v;
	for (int i = 0; i < NP; i++)
		a.d[i] += b.d[i];
	return a;
}

static struct dual d_sub(struct dual a, struct dual b)
{
	a.v -= b.v;
	for (int i = 0; i < NP; i++)
		a.d[i] -= b.d[i];
	return a;
}

static struct dual d_mul(struct dual a, struct dual b)
{
	struct dual r;
	r.v = a.v * b.v;
	for (int i = 0; i < NP; i++)
		r.d[i] = a.d[i] * b.v + b.d[i] * a.v;
	return r;
}

static struct dual d_div(struct dual a, struct dual b)
{
	struct dual r;
	r.v = a.v / b.v;
	for (int i = 0; i < NP; i++)
		r.d[i] = (a.d[i] - r.v * b.d[i]) / b.v;
	return r;
}

/* a·k + c for constants k, c. */
static struct dual d_affine(struct dual a, double k, double c)
{
	a.v = a.v * k + c;
	for (int i = 0; i < NP; i++)
		a.d[i] *= k;
	return a;
}

/* Applies f with value @fv and derivative @fd at a.v (chain rule). */
static struct dual d_apply(struct dual a, double fv, double fd)
{
	a.v = fv;
	for (int i = 0; i < NP; i++)
		a.d[i] *= fd;
	return a;
}

static struct dual d_exp(struct dual a)
{
	double e = exp(a.v);
	return d_apply(a, e, e);
}

static struct dual d_log(struct dual a)
{
	return d_apply(a, log(a.v), 1.0 / a.v);
}

/* a^b for a > 0. */
static struct dual d_pow(struct dual a, struct dual b)
{
	return d_exp(d_mul(b, d_log(a)));
}

static struct dual d_clamp(struct dual a, double lo, double hi)
{
	if (a.v < lo)
		return d_const(lo);
	if (a.v > hi)
		return d_const(hi);
	return a;
}

static void d_detach(struct dual *a)
{
	memset(a->d, 0, sizeof a->d);
}

/* The model of fsrs.c, differentiated. */
struct dstate {
	struct dual s, d;
};

static struct dual dm_retrievability(const struct lv_fsrs_params *p, uint32_t t, struct dual s)
{
	if (t == 0)
		return d_const(1.0);
	struct dual w20 = d_param(p, 20);
	/* F = e^(−ln 0.9 / w20) − 1 */
	struct dual f = d_affine(d_exp(d_div(d_const(-log(0.9)), w20)), 1.0, -1.0);
	struct dual x = d_affine(d_div(f, s), (double)t, 1.0); /* 1 + F·t/S */
	return d_exp(d_mul(d_affine(w20, -1.0, 0.0), d_log(x)));
}

static struct dual dm_init_difficulty_raw(const struct lv_fsrs_params *p, int g)
{
	/* w4 − e^(w5·(g − 1)) + 1 */
	return d_affine(d_sub(d_param(p, 4), d_exp(d_affine(d_param(p, 5), g - 1.0, 0.0))), 1.0, 1.0);
}

static void dm_init(const struct lv_fsrs_params *p, int g, struct dstate *st)
{
	st->s = d_clamp(d_param(p, g - 1), LV_FSRS_S_MIN, LV_FSRS_S_MAX);
	st->d = d_clamp(dm_init_difficulty_raw(p, g), LV_FSRS_D_MIN, LV_FSRS_D_MAX);
}

static struct dual dm_next_difficulty(const struct lv_fsrs_params *p, struct dual d, int g)
{
	struct dual delta = d_affine(d_param(p, 6), -(g - 3.0), 0.0);
	struct dual d1 = d_add(d, d_affine(d_mul(d_affine(d, -1.0, 10.0), delta), 1.0 / 9.0, 0.0));
	struct dual w7 = d_param(p, 7);
	struct dual d2 = d_add(d_mul(w7, dm_init_difficulty_raw(p, LV_FSRS_EASY)),
			       d_mul(d_affine(w7, -1.0, 1.0), d1));
	return d_clamp(d2, LV_FSRS_D_MIN, LV_FSRS_D_MAX);
}

static void dm_next(const struct lv_fsrs_params *p, struct dstate *st, uint32_t t, int g)
{
	struct dual s = st->s, d = st->d, ns;
	if (t == 0) {
		struct dual inc = d_mul(d_exp(d_mul(d_param(p, 17), d_affine(d_param(p, 18), 1.0, g - 3.0))),
					d_pow(s, d_affine(d_param(p, 19), -1.0, 0.0)));
		if (g >= LV_FSRS_HARD && inc.v < 1.0)
			inc = d_const(1.0);
		ns = d_mul(s, inc);
	} else {
		struct dual r = dm_retrievability(p, t, s);
		struct dual one_minus_r = d_affine(r, -1.0, 1.0);
		if (g == LV_FSRS_AGAIN) {
			struct dual lt = d_mul(d_mul(d_param(p, 11), d_pow(d, d_affine(d_param(p, 12), -1.0, 0.0))),
					       d_mul(d_affine(d_pow(d_affine(s, 1.0, 1.0), d_param(p, 13)), 1.0, -1.0),
						     d_exp(d_mul(d_param(p, 14), one_minus_r))));
			struct dual stt = d_div(s, d_exp(d_mul(d_param(p, 17), d_param(p, 18))));
			ns = lt.v < stt.v ? lt : stt;
		} else {
			struct dual inc = d_mul(d_mul(d_exp(d_param(p, 8)), d_affine(d, -1.0, 11.0)),
						d_mul(d_pow(s, d_affine(d_param(p, 9), -1.0, 0.0)),
						      d_affine(d_exp(d_mul(d_param(p, 10), one_minus_r)), 1.0, -1.0)));
			if (g == LV_FSRS_HARD)
				inc = d_mul(inc, d_param(p, 15));
			if (g == LV_FSRS_EASY)
				inc = d_mul(inc, d_param(p, 16));
			ns = d_mul(s, d_affine(inc, 1.0, 1.0));
		}
	}
	st->s = d_clamp(ns, LV_FSRS_S_MIN, LV_FSRS_S_MAX);
	st->d = dm_next_difficulty(p, d, g);
}

/* d/dR of fsrs_bce(R, y); zero where its −100 floor binds. */
static double bce_slope(double r, int y)
{
	if (y)
		return r > exp(-100.0) ? -1.0 / r : 0.0;
	return 1.0 - r > exp(-100.0) ? 1.0 / (1.0 - r) : 0.0;
}

/* Full-batch mean loss and its exact gradient (no batches, no detaching):
 * what the tests compare with finite differences. */
double fsrs_view_loss_grad(const struct fsrs_view *v, const struct lv_fsrs_params *p, double grad[LV_FSRS_NPARAMS])
{
	double sum = 0;
	memset(grad, 0, NP * sizeof *grad);
	for (size_t c = 0; c < v->ncards; c++) {
		const struct fsrs_item *it = v->items + v->card_off[c];
		size_t len = v->card_off[c + 1] - v->card_off[c];
		struct dstate st;
		dm_init(p, it[0].grade, &st);
		for (size_t i = 1; i < len; i++) {
			if (it[i].scored) {
				struct dual r = dm_retrievability(p, it[i].days, st.s);
				int y = it[i].grade > 1;
				sum += fsrs_bce(r.v, y);
				double dl = bce_slope(r.v, y);
				for (int j = 0; j < NP; j++)
					grad[j] += dl * r.d[j];
			}
			dm_next(p, &st, it[i].days, it[i].grade);
		}
	}
	if (v->nscored == 0)
		return NAN;
	for (int j = 0; j < NP; j++)
		grad[j] /= (double)v->nscored;
	return sum / (double)v->nscored;
}

/* ---- training loop ---------------------------------------------------- */

void lv_fsrs_opt_config_default(struct lv_fsrs_opt_config *c)
{
	memset(c, 0, sizeof *c);
	c->epochs = 5;
	c->batch_size = 512;
	c->learning_rate = 4e-2;
	c->gamma = 1.0;
	c->seed = 42;
	c->min_reviews = 512;
	lv_fsrs_eval_opts_default(&c->data);
}

/* splitmix64: small, seedable, and the same on every platform. */
static uint64_t rng_next(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [0, n) without modulo bias. */
static uint64_t rng_below(uint64_t *x, uint64_t n)
{
	uint64_t limit = UINT64_MAX - UINT64_MAX % n;
	uint64_t r;
	do
		r = rng_next(x);
	while (r >= limit);
	return r % n;
}

struct trainer {
	const struct lv_fsrs_opt_config *cfg;
	struct lv_fsrs_params w, w0, lo, hi;
	double m[NP], v[NP];
	double grad[NP];
	size_t in_batch; /* scored reviews in the current batch */
	size_t n;        /* scored reviews per epoch */
	unsigned steps, total_steps;
};

static void adam_step(struct trainer *t)
{
	const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
	double scale = t->cfg->gamma * (double)t->in_batch / (double)t->n;
	double lr = t->cfg->learning_rate * 0.5 * (1.0 + cos(M_PI * t->steps / t->total_steps));
	t->steps++;
	double bc1 = 1.0 - pow(b1, t->steps), bc2 = 1.0 - pow(b2, t->steps);
	for (int i = 0; i < NP; i++) {
		double g = t->grad[i];
		double z = (t->w.w[i] - t->w0.w[i]) / params_stddev[i];
		g += 2.0 * scale * z / params_stddev[i];
		/* A non-finite gradient (an overflow in some corner of the
		 * bounds) must not poison the moments for the rest of the run. */
		if (!isfinite(g))
			g = 0.0;
		t->m[i] = b1 * t->m[i] + (1.0 - b1) * g;
		t->v[i] = b2 * t->v[i] + (1.0 - b2) * g * g;
		double step = lr * (t->m[i] / bc1) / (sqrt(t->v[i] / bc2) + eps);
		double x = t->w.w[i] - step;
		t->w.w[i] = x < t->lo.w[i] ? t->lo.w[i] : x > t->hi.w[i] ? t->hi.w[i] : x;
		t->grad[i] = 0.0;
	}
	t->in_batch = 0;
}

/* One epoch over the cards in @order. */
static void run_epoch(struct trainer *t, const struct fsrs_view *v, const size_t *order)
{
	for (size_t k = 0; k < v->ncards; k++) {
		size_t c = order[k];
		const struct fsrs_item *it = v->items + v->card_off[c];
		size_t len = v->card_off[c + 1] - v->card_off[c];
		struct dstate st;
		dm_init(&t->w, it[0].grade, &st);
		for (size_t i = 1; i < len; i++) {
			if (it[i].scored) {
				struct dual r = dm_retrievability(&t->w, it[i].days, st.s);
				double dl = bce_slope(r.v, it[i].grade > 1);
				for (int j = 0; j < NP; j++)
					t->grad[j] += dl * r.d[j];
				t->in_batch++;
			}
			dm_next(&t->w, &st, it[i].days, it[i].grade);
			if (t->in_batch == t->cfg->batch_size) {
				adam_step(t);
				d_detach(&st.s);
				d_detach(&st.d);
			}
		}
	}
	if (t->in_batch > 0)
		adam_step(t);
}

static bool config_ok(const struct lv_fsrs_opt_config *c)
{
	return c->epochs >= 1 && c->epochs <= 1000 && c->batch_size >= 1 && isfinite(c->learning_rate) &&
	       c->learning_rate > 0 && isfinite(c->gamma) && c->gamma >= 0 && fsrs_opts_check(&c->data) == LV_OK;
}

enum lv_status lv_fsrs_optimize(const struct lv_fsrs_log *log, const struct lv_fsrs_opt_config *cfg,
				struct lv_fsrs_params *out, struct lv_fsrs_opt_report *report)
{
	struct fsrs_view v = {0};
	struct lv_fsrs_opt_report rep = {0};
	struct trainer *t = NULL;
	size_t *order = NULL;
	enum lv_status st = LV_ERR_INVALID;
	lv_fsrs_params_default(out);
	if (!config_ok(cfg))
		goto out;
	st = fsrs_view_build(log, &cfg->data, &v);
	if (st != LV_OK)
		goto out;
	rep.n = v.nscored;
	rep.loss_default = rep.loss_fitted = fsrs_view_loss(&v, out);
	if (v.nscored < cfg->min_reviews || v.nscored == 0) {
		rep.kept_defaults = true;
		st = LV_OK;
		goto out;
	}
	st = LV_ERR_NOMEM;
	t = calloc(1, sizeof *t);
	order = malloc(v.ncards * sizeof *order);
	if (!t || !order)
		goto out;
	t->cfg = cfg;
	lv_fsrs_params_default(&t->w0);
	t->w = t->w0;
	lv_fsrs_params_bounds(&t->lo, &t->hi);
	t->n = v.nscored;
	t->total_steps = (unsigned)((v.nscored + cfg->batch_size - 1) / cfg->batch_size) * cfg->epochs;
	for (size_t i = 0; i < v.ncards; i++)
		order[i] = i;
	uint64_t rng = cfg->seed;
	double best = INFINITY;
	for (unsigned e = 1; e <= cfg->epochs; e++) {
		for (size_t i = v.ncards; i > 1; i--) {
			size_t j = (size_t)rng_below(&rng, i);
			size_t tmp = order[i - 1];
			order[i - 1] = order[j];
			order[j] = tmp;
		}
		run_epoch(t, &v, order);
		double loss = fsrs_view_loss(&v, &t->w);
		if (loss < best) {
			best = loss;
			*out = t->w;
			rep.best_epoch = e;
		}
	}
	rep.steps = t->steps;
	if (rep.best_epoch)
		rep.loss_fitted = best;
	st = LV_OK;
out:
	free(order);
	free(t);
	fsrs_view_free(&v);
	if (st != LV_OK) {
		lv_fsrs_params_default(out);
		memset(&rep, 0, sizeof rep);
	}
	if (report)
		*report = rep;
	return st;
}
