/* Exact samplers of Canonne, Kamath and Steinke 2020 (arXiv:2004.00010),
 * Algorithms 1-3, in integer arithmetic. */
#include "dp_int.h"

bool dp_bern_exp1(struct lv_dp_rng *rng)
{
	/* Algorithm 1 with gamma = 1: the first Bernoulli(gamma/1) always
	 * succeeds, then K grows while Bernoulli(1/K) succeeds; exp(-1) is
	 * the probability that K stops at an odd value. */
	if (!dp_bit(rng))
		return false; /* K stops at 2 */
	uint64_t k = 3;
	while (dp_below(rng, k) == 0)
		k++;
	return k & 1;
}

/* Bernoulli(r / (den * k)), exactly, whatever the sizes. */
static bool bern_frac_k(struct lv_dp_rng *rng, dp_u128 r, dp_u128 den, uint64_t k)
{
	dp_u128 dk;
	if (!__builtin_mul_overflow(den, (dp_u128)k, &dk))
		return dk <= UINT64_MAX ? dp_below(rng, (uint64_t)dk) < r : dp_below128(rng, dk) < r;
	/* den * k does not fit: Bernoulli(r/den) and, independently,
	 * Bernoulli(1/k) -- the product of the probabilities is the same. */
	return dp_below128(rng, den) < r && dp_below(rng, k) == 0;
}

/* Bernoulli(exp(-r/den)) for 0 <= r < den: K = 1, 2, ... while
 * Bernoulli(r/(den K)) succeeds; true iff K stops odd.  The stopping
 * probabilities are the terms of the series of exp(-r/den). */
static bool bern_exp_frac(struct lv_dp_rng *rng, dp_u128 r, dp_u128 den)
{
	if (r == 0)
		return true;
	uint64_t k = 1;
	if (den <= UINT64_MAX) {
		/* The common case: den * k fits 64 bits for small k. */
		uint64_t d = (uint64_t)den, rr = (uint64_t)r;
		while (k < UINT64_MAX / d && dp_below(rng, d * k) < rr)
			k++;
		if (k < UINT64_MAX / d)
			return k & 1;
		/* Fell out of 64 bits still succeeding: continue in 128. */
	}
	while (bern_frac_k(rng, r, den, k))
		k++;
	return k & 1;
}

bool dp_bern_exp(struct lv_dp_rng *rng, dp_u128 num, dp_u128 den)
{
	if (num == 0)
		return true;
	dp_u128 q, r;
	if (num <= UINT64_MAX && den <= UINT64_MAX) {
		q = (uint64_t)num / (uint64_t)den;
		r = (uint64_t)num % (uint64_t)den;
	} else {
		q = num / den;
		r = num % den;
	}
	/* exp(-gamma) = exp(-1)^floor(gamma) * exp(-frac(gamma)); the loop
	 * stops at the first failure, after 1.6 trials on average. */
	for (dp_u128 i = 0; i < q; i++)
		if (!dp_bern_exp1(rng))
			return false;
	return bern_exp_frac(rng, r, den);
}

static uint64_t gcd64(uint64_t a, uint64_t b)
{
	while (b) {
		uint64_t t = a % b;
		a = b;
		b = t;
	}
	return a;
}

enum lv_status lv_dp_bernoulli_exp(struct lv_dp_rng *rng, uint64_t num, uint64_t den, bool *out)
{
	if (!out)
		return LV_ERR_INVALID;
	*out = false;
	if (!rng || den == 0)
		return LV_ERR_INVALID;
	if (num != 0) {
		uint64_t g = gcd64(num, den);
		num /= g;
		den /= g;
	}
	*out = dp_bern_exp(rng, num, den);
	return LV_OK;
}

/* Discrete Laplace of scale t/s (Algorithm 2), t, s >= 1, t/s <= 2^48.
 * X = U + tV with U uniform below t (thinned by exp(-U/t)) and V
 * geometric with ratio exp(-1) is geometric with ratio exp(-1/t); Y =
 * floor(X/s) is then geometric with ratio exp(-s/t).  A random sign, with
 * "-0" rejected so that 0 is not counted twice, makes it two-sided. */
static enum lv_status laplace(struct lv_dp_rng *rng, uint64_t t, uint64_t s, int64_t *out)
{
	for (;;) {
		uint64_t u = dp_below(rng, t);
		if (!bern_exp_frac(rng, u, t))
			continue;
		uint64_t v = 0;
		while (dp_bern_exp1(rng))
			v++;
		dp_u128 x = (dp_u128)t * v + u;
		dp_u128 y = s == 1 ? x : x / s;
		bool neg = dp_bit(rng);
		if (neg && y == 0)
			continue;
		/* y > 2^63 - 1 needs v > 2^15 for t/s <= 2^48: probability
		 * below exp(-2^15), but refuse rather than wrap. */
		if (y > INT64_MAX)
			return LV_ERR_UNSUPPORTED;
		*out = neg ? -(int64_t)y : (int64_t)y;
		return LV_OK;
	}
}

enum lv_status lv_dp_discrete_laplace(struct lv_dp_rng *rng, uint64_t scale_num, uint64_t scale_den, int64_t *out)
{
	if (!out)
		return LV_ERR_INVALID;
	*out = 0;
	if (!rng || scale_num == 0 || scale_den == 0)
		return LV_ERR_INVALID;
	uint64_t g = gcd64(scale_num, scale_den);
	uint64_t t = scale_num / g, s = scale_den / g;
	if ((dp_u128)t > (dp_u128)s * LV_DP_LAPLACE_MAX_SCALE)
		return LV_ERR_UNSUPPORTED;
	int64_t v = 0;
	enum lv_status st = laplace(rng, t, s, &v);
	if (st == LV_OK)
		*out = v;
	return st;
}

/* floor(sqrt(v)), bit by bit. */
static uint64_t isqrt64(uint64_t v)
{
	uint64_t r = 0, bit = UINT64_C(1) << 62;
	while (bit > v)
		bit >>= 2;
	while (bit) {
		if (v >= r + bit) {
			v -= r + bit;
			r = (r >> 1) + bit;
		} else {
			r >>= 1;
		}
		bit >>= 2;
	}
	return r;
}

/* The acceptance exponent of Algorithm 3 is
 *   (|Y| - sigma2/t)^2 / (2 sigma2) = (|Y| b t - a)^2 / (2 a b t^2)
 * for sigma2 = a/b: numerator and denominator are integers.  The
 * denominator is capped at 2^119 so that a numerator root of 2^64 or more
 * (which would not square into 128 bits) means an exponent >= 2^9. */
#define GAUSS_MAX_DEN ((dp_u128)1 << 119)
#define GAUSS_FAR_TRIALS 512

enum lv_status lv_dp_discrete_gaussian(struct lv_dp_rng *rng, uint64_t sigma2_num, uint64_t sigma2_den, int64_t *out)
{
	if (!out)
		return LV_ERR_INVALID;
	*out = 0;
	if (!rng || sigma2_num == 0 || sigma2_den == 0)
		return LV_ERR_INVALID;
	uint64_t g = gcd64(sigma2_num, sigma2_den);
	uint64_t a = sigma2_num / g, b = sigma2_den / g;
	if ((dp_u128)a > (dp_u128)b * LV_DP_GAUSSIAN_MAX_SIGMA2)
		return LV_ERR_UNSUPPORTED;
	/* floor(sqrt(a/b)) = floor(sqrt(floor(a/b))); t <= 2^20 + 1. */
	uint64_t t = isqrt64(a / b) + 1;
	dp_u128 den;
	if (__builtin_mul_overflow((dp_u128)a * b, (dp_u128)2 * t * t, &den) || den > GAUSS_MAX_DEN)
		return LV_ERR_UNSUPPORTED;
	dp_u128 bt = (dp_u128)b * t; /* < 2^85 */
	for (;;) {
		int64_t y;
		enum lv_status st = laplace(rng, t, 1, &y);
		if (st != LV_OK)
			return st;
		uint64_t mag = y < 0 ? -(uint64_t)y : (uint64_t)y;
		dp_u128 p, x;
		bool far = __builtin_mul_overflow(bt, (dp_u128)mag, &p);
		if (!far) {
			x = p >= a ? p - a : a - p;
			far = x > UINT64_MAX;
		}
		if (far) {
			/* x >= 2^64 (x < a <= 2^64 is impossible here), so the
			 * exponent is >= 2^128 / 2^119: its first 512 whole
			 * units decide, except with probability exp(-512). */
			int i = 0;
			while (i < GAUSS_FAR_TRIALS && dp_bern_exp1(rng))
				i++;
			if (i < GAUSS_FAR_TRIALS)
				continue;
			return LV_ERR_UNSUPPORTED;
		}
		if (dp_bern_exp(rng, x * x, den)) {
			*out = y;
			return LV_OK;
		}
	}
}
