/* BKT: filter, E-step, M-step and EM fitting (see learnvault/personal.h).
 *
 * The E-step is the scaled forward-backward algorithm on the two-state HMM
 * (state 0 unknown, 1 known).  The forward pass keeps, per response, the
 * normalised forward probabilities and the scale factor; the backward pass
 * then yields the state posteriors (gamma) and pair posteriors (xi) without
 * storing beta.  Work per response is a handful of multiplications, which
 * is what makes the fit of a whole ASSISTments-sized data set fast. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "personal_int.h"
#include "learnvault/util.h"

/* Guess and slip are used clamped to this range in the filter and the
 * E-step so that no response sequence has probability zero (a zero scale
 * factor would divide by zero). */
#define EMIT_MIN 1e-10
/* Denominators below this keep the fallback value in the M-step. */
#define DENOM_MIN 1e-12

void lv_bkt_params_default(struct lv_bkt_params *out)
{
	*out = (struct lv_bkt_params){.prior = 0.2, .learn = 0.1, .guess = 0.2, .slip = 0.1, .forget = 0.0};
}

static bool prob_ok(double x)
{
	return isfinite(x) && x >= 0.0 && x <= 1.0;
}

bool lv_bkt_params_valid(const struct lv_bkt_params *p)
{
	return p && prob_ok(p->prior) && prob_ok(p->learn) && prob_ok(p->guess) && prob_ok(p->slip) &&
	       prob_ok(p->forget) && p->guess + p->slip < 1.0;
}

static double clamp(double x, double lo, double hi)
{
	return x < lo ? lo : x > hi ? hi : x;
}

double lv_bkt_p_correct(const struct lv_bkt_params *p, double known)
{
	return known * (1.0 - p->slip) + (1.0 - known) * p->guess;
}

double lv_bkt_step(const struct lv_bkt_params *p, double known, bool correct, double *posterior)
{
	double g = clamp(p->guess, EMIT_MIN, 1.0 - EMIT_MIN), s = clamp(p->slip, EMIT_MIN, 1.0 - EMIT_MIN);
	double k = correct ? known * (1.0 - s) : known * s;
	double u = correct ? (1.0 - known) * g : (1.0 - known) * (1.0 - g);
	double post = k / (k + u);
	if (posterior)
		*posterior = post;
	return post * (1.0 - p->forget) + (1.0 - post) * p->learn;
}

static bool obs_ok(const uint8_t *obs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (obs[i] > 1)
			return false;
	return true;
}

enum lv_status lv_bkt_trace(const struct lv_bkt_params *p, const uint8_t *obs, size_t n,
			    struct lv_bkt_trace_row *rows, double *known_next, double *loglik)
{
	if (known_next)
		*known_next = 0.0;
	if (loglik)
		*loglik = 0.0;
	if (!lv_bkt_params_valid(p) || (n && !obs) || !obs_ok(obs, n))
		return LV_ERR_INVALID;
	double known = p->prior, ll = 0.0;
	for (size_t t = 0; t < n; t++) {
		double pc = lv_bkt_p_correct(p, known), post;
		double next = lv_bkt_step(p, known, obs[t], &post);
		double pc_c = clamp(pc, EMIT_MIN, 1.0 - EMIT_MIN);
		ll += log(obs[t] ? pc_c : 1.0 - pc_c);
		if (rows)
			rows[t] = (struct lv_bkt_trace_row){.known = known, .p_correct = pc, .posterior = post};
		known = next;
	}
	if (known_next)
		*known_next = known;
	if (loglik)
		*loglik = ll;
	return LV_OK;
}

/* Forward-backward over one sequence; adds @w times its expected counts to
 * *@acc.  @buf holds 3 T doubles.  Parameters must be valid. */
static void estep_core(const struct lv_bkt_params *p, const uint8_t *obs, size_t T, double w, double *buf,
		       struct lv_bkt_counts *acc)
{
	if (T == 0)
		return;
	double g = clamp(p->guess, EMIT_MIN, 1.0 - EMIT_MIN), s = clamp(p->slip, EMIT_MIN, 1.0 - EMIT_MIN);
	double L = p->learn, F = p->forget;
	const double e0[2] = {1.0 - g, g}; /* P(obs | unknown) */
	const double e1[2] = {s, 1.0 - s}; /* P(obs | known) */
	double *A0 = buf, *A1 = buf + T, *C = buf + 2 * T;

	double a0 = (1.0 - p->prior) * e0[obs[0]], a1 = p->prior * e1[obs[0]];
	double c = a0 + a1, ll = log(c);
	A0[0] = a0 / c;
	A1[0] = a1 / c;
	C[0] = c;
	for (size_t t = 1; t < T; t++) {
		double q0 = A0[t - 1] * (1.0 - L) + A1[t - 1] * F;
		double q1 = A0[t - 1] * L + A1[t - 1] * (1.0 - F);
		a0 = q0 * e0[obs[t]];
		a1 = q1 * e1[obs[t]];
		c = a0 + a1;
		ll += log(c);
		A0[t] = a0 / c;
		A1[t] = a1 / c;
		C[t] = c;
	}

	struct lv_bkt_counts k = {0};
	/* The last response's posterior is the forward one. */
	double g0 = A0[T - 1], g1 = A1[T - 1];
	k.unknown_obs += g0;
	k.known_obs += g1;
	if (obs[T - 1])
		k.unknown_correct += g0;
	else
		k.known_wrong += g1;
	double b0 = 1.0, b1 = 1.0;
	for (size_t t = T - 1; t-- > 0;) {
		uint8_t o = obs[t + 1];
		double f0 = e0[o] * b0 / C[t + 1], f1 = e1[o] * b1 / C[t + 1];
		double x00 = A0[t] * (1.0 - L) * f0, x01 = A0[t] * L * f1;
		double x10 = A1[t] * F * f0, x11 = A1[t] * (1.0 - F) * f1;
		b0 = (1.0 - L) * f0 + L * f1;
		b1 = F * f0 + (1.0 - F) * f1;
		/* gamma_t = sum of xi_t over the next state; renormalising
		 * removes rounding drift over long sequences. */
		double z = x00 + x01 + x10 + x11;
		g0 = (x00 + x01) / z;
		g1 = (x10 + x11) / z;
		k.unknown_trans += g0;
		k.learned += x01 / z;
		k.known_trans += g1;
		k.forgot += x10 / z;
		k.unknown_obs += g0;
		k.known_obs += g1;
		if (obs[t])
			k.unknown_correct += g0;
		else
			k.known_wrong += g1;
	}
	k.known0 = g1;
	k.sequences = 1.0;
	k.responses = (double)T;
	k.loglik = ll;

	acc->sequences += w * k.sequences;
	acc->known0 += w * k.known0;
	acc->unknown_trans += w * k.unknown_trans;
	acc->learned += w * k.learned;
	acc->known_trans += w * k.known_trans;
	acc->forgot += w * k.forgot;
	acc->unknown_obs += w * k.unknown_obs;
	acc->unknown_correct += w * k.unknown_correct;
	acc->known_obs += w * k.known_obs;
	acc->known_wrong += w * k.known_wrong;
	acc->responses += w * k.responses;
	acc->loglik += w * k.loglik;
}

/* Log-likelihood only (forward pass, no storage). */
static double loglik_core(const struct lv_bkt_params *p, const uint8_t *obs, size_t T)
{
	double g = clamp(p->guess, EMIT_MIN, 1.0 - EMIT_MIN), s = clamp(p->slip, EMIT_MIN, 1.0 - EMIT_MIN);
	double L = p->learn, F = p->forget, known = p->prior, ll = 0.0;
	for (size_t t = 0; t < T; t++) {
		double k = obs[t] ? known * (1.0 - s) : known * s;
		double u = obs[t] ? (1.0 - known) * g : (1.0 - known) * (1.0 - g);
		ll += log(k + u);
		double post = k / (k + u);
		known = post * (1.0 - F) + (1.0 - post) * L;
	}
	return ll;
}

/* Room for @T responses of 3 doubles each; at least 256 once any. */
static bool work_reserve(struct personal_bkt_work *w, size_t T)
{
	if (T <= w->cap) /* the hot path: called once per sequence per EM pass */
		return true;
	size_t need = T < 256 ? 256 : T;
	return util_array_grow((void **)&w->buf, 3 * sizeof(double), &w->cap, need, SIZE_MAX) == LV_OK;
}

void personal_bkt_work_free(struct personal_bkt_work *w)
{
	free(w->buf);
	w->buf = NULL;
	w->cap = 0;
}

enum lv_status lv_bkt_estep(const struct lv_bkt_params *p, const uint8_t *obs, size_t n, size_t max_len,
			    struct lv_bkt_counts *out)
{
	memset(out, 0, sizeof *out);
	if (!lv_bkt_params_valid(p) || (n && !obs))
		return LV_ERR_INVALID;
	if (max_len && n > max_len)
		n = max_len;
	if (!obs_ok(obs, n))
		return LV_ERR_INVALID;
	if (n == 0)
		return LV_OK;
	double stackbuf[3 * 128];
	struct personal_bkt_work w = {0};
	double *buf = stackbuf;
	if (n > 128) {
		if (!work_reserve(&w, n))
			return LV_ERR_NOMEM;
		buf = w.buf;
	}
	estep_core(p, obs, n, 1.0, buf, out);
	personal_bkt_work_free(&w);
	return LV_OK;
}

void lv_bkt_counts_add(struct lv_bkt_counts *acc, const struct lv_bkt_counts *c)
{
	acc->sequences += c->sequences;
	acc->known0 += c->known0;
	acc->unknown_trans += c->unknown_trans;
	acc->learned += c->learned;
	acc->known_trans += c->known_trans;
	acc->forgot += c->forgot;
	acc->unknown_obs += c->unknown_obs;
	acc->unknown_correct += c->unknown_correct;
	acc->known_obs += c->known_obs;
	acc->known_wrong += c->known_wrong;
	acc->responses += c->responses;
	acc->loglik += c->loglik;
}

static double ratio_or(double num, double den, double fallback, double hi)
{
	if (!(den > DENOM_MIN) || !isfinite(num))
		return fallback;
	return clamp(num / den, LV_BKT_P_MIN, hi);
}

void lv_bkt_mstep(const struct lv_bkt_counts *sum, bool fit_forget, const struct lv_bkt_params *fallback,
		  struct lv_bkt_params *out)
{
	struct lv_bkt_params f = *fallback, r;
	const double hi = 1.0 - LV_BKT_P_MIN;
	r.prior = ratio_or(sum->known0, sum->sequences, f.prior, hi);
	r.learn = ratio_or(sum->learned, sum->unknown_trans, f.learn, hi);
	r.forget = fit_forget ? ratio_or(sum->forgot, sum->known_trans, f.forget, hi) : f.forget;
	r.guess = ratio_or(sum->unknown_correct, sum->unknown_obs, f.guess, LV_BKT_GS_MAX);
	r.slip = ratio_or(sum->known_wrong, sum->known_obs, f.slip, LV_BKT_GS_MAX);
	*out = r;
}

void lv_bkt_fit_opts_init(struct lv_bkt_fit_opts *o)
{
	*o = (struct lv_bkt_fit_opts){.restarts = 5, .max_iter = 100, .tol = 1e-3, .seed = 42,
				      .fit_forget = false, .start = NULL, .threads = 0};
}

static bool opts_ok(const struct lv_bkt_fit_opts *o)
{
	return o && o->restarts >= 1 && o->max_iter >= 1 && isfinite(o->tol) && o->tol >= 0.0 &&
	       (!o->start || lv_bkt_params_valid(o->start));
}

enum lv_status personal_bkt_fit_seqs(const struct lv_bkt_seq *seqs, size_t n, const struct lv_bkt_fit_opts *o,
				     uint64_t seed, struct personal_bkt_work *w, struct lv_bkt_params *out,
				     struct lv_bkt_fit_info *info)
{
	size_t maxlen = 0;
	double responses = 0.0;
	for (size_t i = 0; i < n; i++) {
		if (seqs[i].len && (!seqs[i].obs || !obs_ok(seqs[i].obs, seqs[i].len)))
			return LV_ERR_INVALID;
		if (!isfinite(seqs[i].weight) || seqs[i].weight < 0.0)
			return LV_ERR_INVALID;
		if (seqs[i].len > maxlen)
			maxlen = seqs[i].len;
		responses += seqs[i].weight * (double)seqs[i].len;
	}
	if (!(responses > 0.0))
		return LV_ERR_INVALID;
	if (!work_reserve(w, maxlen))
		return LV_ERR_NOMEM;

	uint64_t rng = seed;
	double best_ll = -INFINITY;
	struct lv_bkt_params best = {0};
	unsigned best_iter = 0, best_restart = 0;
	for (unsigned r = 0; r < o->restarts; r++) {
		struct lv_bkt_params p;
		p.prior = personal_rng_uniform(&rng);
		p.learn = 0.4 * personal_rng_uniform(&rng);
		p.guess = 0.4 * personal_rng_uniform(&rng);
		p.slip = 0.3 * personal_rng_uniform(&rng);
		p.forget = 0.2 * personal_rng_uniform(&rng);
		if (!o->fit_forget)
			p.forget = 0.0;
		if (r == 0 && o->start)
			p = *o->start;
		double prev = 0.0;
		unsigned it = 0;
		while (it < o->max_iter) {
			struct lv_bkt_counts sum = {0};
			for (size_t i = 0; i < n; i++)
				if (seqs[i].len && seqs[i].weight > 0.0)
					estep_core(&p, seqs[i].obs, seqs[i].len, seqs[i].weight, w->buf, &sum);
			lv_bkt_mstep(&sum, o->fit_forget, &p, &p);
			it++;
			if (it > 1 && fabs(sum.loglik - prev) <= o->tol)
				break;
			prev = sum.loglik;
		}
		double ll = 0.0;
		for (size_t i = 0; i < n; i++)
			if (seqs[i].len && seqs[i].weight > 0.0)
				ll += seqs[i].weight * loglik_core(&p, seqs[i].obs, seqs[i].len);
		if (ll > best_ll || r == 0) {
			best_ll = ll;
			best = p;
			best_iter = it;
			best_restart = r;
		}
	}
	*out = best;
	if (info)
		*info = (struct lv_bkt_fit_info){.loglik = best_ll, .iterations = best_iter, .restart = best_restart};
	return LV_OK;
}

enum lv_status lv_bkt_fit(const struct lv_bkt_seq *seqs, size_t n, const struct lv_bkt_fit_opts *opts,
			  struct lv_bkt_params *out, struct lv_bkt_fit_info *info)
{
	memset(out, 0, sizeof *out);
	if (info)
		memset(info, 0, sizeof *info);
	if (!opts_ok(opts) || (n && !seqs))
		return LV_ERR_INVALID;
	struct personal_bkt_work w = {0};
	enum lv_status st = personal_bkt_fit_seqs(seqs, n, opts, opts->seed, &w, out, info);
	personal_bkt_work_free(&w);
	if (st != LV_OK) {
		memset(out, 0, sizeof *out);
		if (info)
			memset(info, 0, sizeof *info);
	}
	return st;
}
