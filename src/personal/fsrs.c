/* FSRS-6 memory model: parameters, retrievability, intervals, state updates.
 *
 * The formulas are the published FSRS-6 ones (fsrs-rs src/model.rs,
 * py-fsrs fsrs/scheduler.py, ts-fsrs algorithm.ts); this is an independent
 * double-precision implementation checked against their unit-test vectors
 * (tests/test-fsrs.c).  fsrs_opt.c differentiates the same recurrence and
 * its tests check that both agree. */
#include <math.h>
#include <string.h>

#include "learnvault/fsrs.h"
#include "fsrs_internal.h"

/* fsrs-rs src/inference.rs DEFAULT_PARAMETERS (= py-fsrs 6.3.1). */
static const double default_w[LV_FSRS_NPARAMS] = {
	0.212, 1.2931, 2.3065, 8.2956, 6.4133, 0.8334, 3.0194, 0.001, 1.8722, 0.1666, 0.796,
	1.4835, 0.0614, 0.2629, 1.6483, 0.6014, 1.8729, 0.5425, 0.0912, 0.0658, 0.1542,
};

/* py-fsrs 6.3.1 fsrs/scheduler.py LOWER_BOUNDS_PARAMETERS /
 * UPPER_BOUNDS_PARAMETERS; fsrs-rs src/parameter_clipper.rs has the same
 * ranges when the card has at most one relearning step (we do not know the
 * learner's steps, so w17, w18 keep the plain 2.0 ceiling). */
static const double lower_w[LV_FSRS_NPARAMS] = {
	LV_FSRS_S_MIN, LV_FSRS_S_MIN, LV_FSRS_S_MIN, LV_FSRS_S_MIN, 1.0, 0.001, 0.001, 0.001, 0.0, 0.0, 0.001,
	0.001, 0.001, 0.001, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.1,
};
static const double upper_w[LV_FSRS_NPARAMS] = {
	100.0, 100.0, 100.0, 100.0, 10.0, 4.0, 4.0, 0.75, 4.5, 0.8, 3.5,
	5.0, 0.25, 0.9, 4.0, 1.0, 6.0, 2.0, 2.0, 0.8, 0.8,
};

void lv_fsrs_params_default(struct lv_fsrs_params *out)
{
	memcpy(out->w, default_w, sizeof default_w);
}

void lv_fsrs_params_bounds(struct lv_fsrs_params *lo, struct lv_fsrs_params *hi)
{
	if (lo)
		memcpy(lo->w, lower_w, sizeof lower_w);
	if (hi)
		memcpy(hi->w, upper_w, sizeof upper_w);
}

enum lv_status lv_fsrs_params_check(const struct lv_fsrs_params *p)
{
	for (int i = 0; i < LV_FSRS_NPARAMS; i++)
		if (!isfinite(p->w[i]) || p->w[i] < lower_w[i] || p->w[i] > upper_w[i])
			return LV_ERR_INVALID;
	return LV_OK;
}

enum lv_status lv_fsrs_params_convert(const double *w, size_t n, struct lv_fsrs_params *out)
{
	memset(out, 0, sizeof *out);
	if (n != 17 && n != 19 && n != LV_FSRS_NPARAMS)
		return LV_ERR_INVALID;
	for (size_t i = 0; i < n; i++)
		if (!isfinite(w[i]))
			return LV_ERR_INVALID;
	memcpy(out->w, w, n * sizeof *w);
	if (n == 17) {
		/* FSRS-4.5 → FSRS-5: D0 changed from w4 − w5·(g − 3) to
		 * w4 − e^(w5·(g − 1)) + 1; these keep D0(1) and D0(4) close and
		 * the difficulty step comparable (fsrs-rs convert_parameters). */
		out->w[4] = w[5] * 2.0 + w[4];
		out->w[5] = log(w[5] * 3.0 + 1.0) / 3.0;
		out->w[6] = w[6] + 0.5;
	}
	if (n < LV_FSRS_NPARAMS) {
		/* No same-day terms before FSRS-5, no S^-w19 before FSRS-6, and
		 * the fixed FSRS-4.5/5 decay of 0.5. */
		for (size_t i = n; i < 20; i++)
			out->w[i] = 0.0;
		out->w[20] = 0.5;
	}
	return LV_OK;
}

static double clamp(double x, double lo, double hi)
{
	return x < lo ? lo : x > hi ? hi : x;
}

static bool grade_ok(int g)
{
	return g >= LV_FSRS_AGAIN && g <= LV_FSRS_EASY;
}

double fsrs_factor(const struct lv_fsrs_params *p)
{
	return pow(0.9, -1.0 / p->w[20]) - 1.0;
}

double lv_fsrs_retrievability(const struct lv_fsrs_params *p, double t_days, double stability)
{
	double t = t_days > 0 ? t_days : 0.0;
	double s = clamp(stability, LV_FSRS_S_MIN, LV_FSRS_S_MAX);
	return pow(1.0 + fsrs_factor(p) * t / s, -p->w[20]);
}

enum lv_status lv_fsrs_interval(const struct lv_fsrs_params *p, double stability, double retention, double *days)
{
	*days = 0;
	if (!(retention > 0.0 && retention <= 1.0) || !isfinite(stability) || !(stability > 0.0))
		return LV_ERR_INVALID;
	*days = stability / fsrs_factor(p) * (pow(retention, -1.0 / p->w[20]) - 1.0);
	return LV_OK;
}

enum lv_status lv_fsrs_interval_days(const struct lv_fsrs_params *p, double stability, double retention,
				     uint32_t max_days, uint32_t *days)
{
	double exact;
	*days = 0;
	enum lv_status st = lv_fsrs_interval(p, stability, retention, &exact);
	if (st != LV_OK)
		return st;
	/* round() is half away from zero, like Python's round() except at
	 * exact .5 (banker's rounding there); intervals are never negative and
	 * an exact .5 in double is vanishingly rare. */
	double r = round(exact);
	double cap = max_days ? (double)max_days : (double)UINT32_MAX;
	*days = (uint32_t)clamp(r, 1.0, cap);
	return LV_OK;
}

double fsrs_init_difficulty_raw(const struct lv_fsrs_params *p, int grade)
{
	return p->w[4] - exp(p->w[5] * (grade - 1)) + 1.0;
}

enum lv_status lv_fsrs_init(const struct lv_fsrs_params *p, int grade, struct lv_fsrs_state *out)
{
	memset(out, 0, sizeof *out);
	if (!grade_ok(grade))
		return LV_ERR_INVALID;
	out->stability = clamp(p->w[grade - 1], LV_FSRS_S_MIN, LV_FSRS_S_MAX);
	out->difficulty = clamp(fsrs_init_difficulty_raw(p, grade), LV_FSRS_D_MIN, LV_FSRS_D_MAX);
	return LV_OK;
}

double lv_fsrs_next_difficulty(const struct lv_fsrs_params *p, double difficulty, int grade)
{
	if (!grade_ok(grade))
		return NAN;
	/* Linear damping: steps shrink as D approaches 10, so difficulty
	 * cannot run away after repeated lapses. */
	double delta = -p->w[6] * (grade - 3);
	double d1 = difficulty + (10.0 - difficulty) * delta / 9.0;
	/* Mean reversion toward the (unclamped) initial difficulty of Easy. */
	double d2 = p->w[7] * fsrs_init_difficulty_raw(p, LV_FSRS_EASY) + (1.0 - p->w[7]) * d1;
	return clamp(d2, LV_FSRS_D_MIN, LV_FSRS_D_MAX);
}

double lv_fsrs_stability_after_success(const struct lv_fsrs_params *p, double stability, double difficulty,
				       double r, int grade)
{
	if (!grade_ok(grade))
		return NAN;
	const double *w = p->w;
	double hard = grade == LV_FSRS_HARD ? w[15] : 1.0;
	double easy = grade == LV_FSRS_EASY ? w[16] : 1.0;
	return stability * (1.0 + exp(w[8]) * (11.0 - difficulty) * pow(stability, -w[9]) *
				  (exp(w[10] * (1.0 - r)) - 1.0) * hard * easy);
}

double lv_fsrs_stability_after_failure(const struct lv_fsrs_params *p, double stability, double difficulty,
				       double r)
{
	const double *w = p->w;
	double long_term = w[11] * pow(difficulty, -w[12]) * (pow(stability + 1.0, w[13]) - 1.0) *
			   exp(w[14] * (1.0 - r));
	/* A lapse may not leave S above what the same-day Again path would
	 * give (FSRS-6: S / e^(w17·w18)). */
	double short_term = stability / exp(w[17] * w[18]);
	return long_term < short_term ? long_term : short_term;
}

double lv_fsrs_stability_short_term(const struct lv_fsrs_params *p, double stability, int grade)
{
	if (!grade_ok(grade))
		return NAN;
	const double *w = p->w;
	double inc = exp(w[17] * (grade - 3 + w[18])) * pow(stability, -w[19]);
	/* fsrs-rs: a same-day success never lowers stability; the floor
	 * covers Hard too (py-fsrs floors only Good and Easy). */
	if (grade >= LV_FSRS_HARD && inc < 1.0)
		inc = 1.0;
	return stability * inc;
}

enum lv_status lv_fsrs_next(const struct lv_fsrs_params *p, const struct lv_fsrs_state *s, double elapsed_days,
			    int grade, struct lv_fsrs_state *out)
{
	double S = s->stability, D = s->difficulty;
	if (!grade_ok(grade) || !isfinite(elapsed_days) || elapsed_days < 0 || !isfinite(S) || !isfinite(D)) {
		if (out != s)
			memset(out, 0, sizeof *out);
		return LV_ERR_INVALID;
	}
	S = clamp(S, LV_FSRS_S_MIN, LV_FSRS_S_MAX);
	D = clamp(D, LV_FSRS_D_MIN, LV_FSRS_D_MAX);
	double ns;
	if (elapsed_days < 1.0) {
		ns = lv_fsrs_stability_short_term(p, S, grade);
	} else {
		double r = lv_fsrs_retrievability(p, elapsed_days, S);
		ns = grade == LV_FSRS_AGAIN ? lv_fsrs_stability_after_failure(p, S, D, r)
					    : lv_fsrs_stability_after_success(p, S, D, r, grade);
	}
	out->stability = clamp(ns, LV_FSRS_S_MIN, LV_FSRS_S_MAX);
	out->difficulty = lv_fsrs_next_difficulty(p, D, grade);
	return LV_OK;
}

enum lv_status lv_fsrs_replay(const struct lv_fsrs_params *p, const struct lv_fsrs_review *revs, size_t n,
			      struct lv_fsrs_state *out, double *r_pred)
{
	struct lv_fsrs_state st;
	enum lv_status rc = LV_ERR_INVALID;
	if (n == 0)
		goto out;
	rc = lv_fsrs_init(p, revs[0].grade, &st);
	if (rc != LV_OK)
		goto out;
	if (r_pred)
		r_pred[0] = 0.0;
	for (size_t i = 1; i < n; i++) {
		if (r_pred)
			r_pred[i] = lv_fsrs_retrievability(p, revs[i].elapsed_days, st.stability);
		rc = lv_fsrs_next(p, &st, revs[i].elapsed_days, revs[i].grade, &st);
		if (rc != LV_OK)
			goto out;
	}
out:
	if (rc == LV_OK)
		*out = st;
	else
		memset(out, 0, sizeof *out);
	return rc;
}
