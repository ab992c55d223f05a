/* Permute-and-flip, the error and calibration helpers (post-processing,
 * floating point allowed) and the exact decimal parser. */
#include <math.h>
#include <stdlib.h>

#include "dp_int.h"

enum lv_status lv_dp_permute_and_flip(struct lv_dp_rng *rng, const int64_t *utility, size_t n, uint64_t eps_num,
				      uint64_t eps_den, uint64_t sens, size_t *choice)
{
	if (!choice)
		return LV_ERR_INVALID;
	*choice = 0;
	if (!rng || !utility || n == 0 || eps_num == 0 || eps_den == 0 || sens == 0)
		return LV_ERR_INVALID;
	if (n > LV_DP_PF_MAX_CANDIDATES)
		return LV_ERR_TOO_LARGE;
	/* Acceptance exponent eps (u_max - u_i) / (2 sens)
	 * = eps_num (u_max - u_i) / (2 sens eps_den): the numerator is a
	 * 64x64-bit product, the denominator must fit 128 bits. */
	dp_u128 den;
	if (__builtin_mul_overflow((dp_u128)sens * 2, (dp_u128)eps_den, &den))
		return LV_ERR_UNSUPPORTED;
	int64_t umax = utility[0];
	for (size_t i = 1; i < n; i++)
		if (utility[i] > umax)
			umax = utility[i];
	size_t *perm = malloc(n * sizeof *perm);
	if (!perm)
		return LV_ERR_NOMEM;
	for (size_t i = 0; i < n; i++)
		perm[i] = i;
	enum lv_status st = LV_ERR_INTERNAL;
	/* Fisher-Yates, one position at a time: the walk stops at the first
	 * accepted candidate, so the rest of the permutation is never drawn. */
	for (size_t i = 0; i < n; i++) {
		size_t j = i + (size_t)dp_below(rng, n - i);
		size_t c = perm[j];
		perm[j] = perm[i];
		perm[i] = c;
		/* u_max >= u_i, so the difference fits uint64 even when the
		 * int64 subtraction would not. */
		uint64_t gap = (uint64_t)umax - (uint64_t)utility[c];
		if (dp_bern_exp(rng, (dp_u128)eps_num * gap, den)) {
			*choice = c;
			st = LV_OK;
			break;
		}
	}
	free(perm);
	return st; /* LV_ERR_INTERNAL only if the best was refused: a bug */
}

/* ---- post-processing ---- */

static bool bad_alpha(double alpha)
{
	return !(alpha > 0 && alpha < 1);
}

int64_t lv_dp_laplace_halfwidth(double scale, double alpha)
{
	if (!(scale > 0) || !isfinite(scale) || bad_alpha(alpha))
		return -1;
	/* P(X = x) = (1-q)/(1+q) q^|x|, q = e^{-1/t}, so
	 * P(|X| > k) = 2 q^{k+1} / (1+q). */
	long double t = scale, q = expl(-1.0L / t), c = 2.0L / (1.0L + q);
	long double kf = ceill(t * logl(c / alpha)) - 1.0L;
	if (kf > 4e18L)
		return INT64_MAX;
	int64_t k = kf < 0 ? 0 : (int64_t)kf;
	/* The closed form may be one off after rounding: settle on the
	 * tail itself. */
	while (k > 0 && c * expl(-(long double)k / t) <= alpha)
		k--;
	while (c * expl(-(long double)(k + 1) / t) > alpha)
		k++;
	return k;
}

double lv_dp_laplace_mae(double scale)
{
	if (!(scale > 0) || !isfinite(scale))
		return -1;
	double q = exp(-1.0 / scale);
	return 2.0 * q / -expm1(-2.0 / scale);
}

int64_t lv_dp_gaussian_halfwidth(double sigma2, double alpha)
{
	if (!(sigma2 > 0) || !(sigma2 <= (double)LV_DP_GAUSSIAN_MAX_SIGMA2) || bad_alpha(alpha))
		return -1;
	/* Weights w(x) = exp(-x^2 / (2 sigma2)) up to where they fall below
	 * e^{-50} alpha: what lies beyond cannot move the answer.  Successive
	 * ratios w(x+1)/w(x) = e^{-(2x+1)/(2 sigma2)} shrink by e^{-1/sigma2}
	 * each step, so there is no exp per term. */
	long double s2 = sigma2, r2 = expl(-1.0L / s2);
	int64_t xmax = (int64_t)ceill(sqrtl(2.0L * s2 * (50.0L - logl(alpha)))) + 1;
	long double w = 1.0L, ratio = expl(-1.0L / (2.0L * s2)), half = 0.0L; /* sum over x >= 1 */
	for (int64_t x = 1; x <= xmax; x++) {
		w *= ratio;
		ratio *= r2;
		half += w;
	}
	long double z = 1.0L + 2.0L * half;
	/* P(|X| > k) = 2 T(k) / z with T(k) = sum_{x > k} w(x).  Walk down
	 * from the far tail so that the small terms are added first; going
	 * down, w(k-1) = w(k) e^{(2k-1)/(2 sigma2)} and that factor shrinks
	 * by e^{-1/sigma2} per step. */
	long double target = (long double)alpha * z / 2.0L, tail = 0.0L;
	long double kl = (long double)xmax;
	long double wk = expl(-kl * kl / (2.0L * s2)), up = expl((2.0L * kl - 1.0L) / (2.0L * s2));
	/* For a short walk (small sigma2) the factor can overflow: there,
	 * compute each weight directly. */
	bool direct = xmax <= 4096;
	for (int64_t k = xmax; k > 0; k--) {
		if (tail + wk > target)
			return k;
		tail += wk;
		if (direct) {
			long double km = (long double)(k - 1);
			wk = expl(-km * km / (2.0L * s2));
		} else {
			wk *= up;
			up *= r2;
		}
	}
	return 0;
}

/* eps of the (eps, delta) conversion of rho-zCDP. */
static double zcdp_eps(double rho, double log_inv_delta)
{
	return rho + 2.0 * sqrt(rho * log_inv_delta);
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

enum lv_status lv_dp_gaussian_sigma2(double eps, double delta, uint64_t sens, uint64_t *sigma2_num,
				     uint64_t *sigma2_den)
{
	if (!sigma2_num || !sigma2_den)
		return LV_ERR_INVALID;
	*sigma2_num = 0;
	*sigma2_den = 0;
	if (!(eps > 0) || !isfinite(eps) || !(delta > 0 && delta < 1) || sens == 0)
		return LV_ERR_INVALID;
	double l = -log(delta);
	/* sqrt(rho) solves r^2 + 2 r sqrt(l) - eps = 0; this form of the
	 * root does not cancel. */
	double r = eps / (sqrt(l + eps) + sqrt(l));
	double s = (double)sens;
	double sigma2 = s * s / (2.0 * r * r);
	if (!(sigma2 <= (double)LV_DP_GAUSSIAN_MAX_SIGMA2))
		return LV_ERR_UNSUPPORTED;
	/* A denominator of 10^6 keeps the numerator below 2^60 for
	 * sigma2 <= 2^40; the relative margin covers the rounding of the
	 * floating point above before the check below confirms it. */
	uint64_t den = 1000000;
	uint64_t num = (uint64_t)ceil(sigma2 * (1.0 + 1e-12) * (double)den);
	if (num == 0)
		num = 1;
	while (zcdp_eps(s * s * (double)den / (2.0 * (double)num), l) > eps)
		num++;
	if ((dp_u128)num > (dp_u128)den * LV_DP_GAUSSIAN_MAX_SIGMA2)
		return LV_ERR_UNSUPPORTED;
	uint64_t g = gcd64(num, den);
	*sigma2_num = num / g;
	*sigma2_den = den / g;
	return LV_OK;
}

#define DEC_MAX_DIGITS 12

enum lv_status lv_dp_parse_decimal(const char *s, uint64_t *num, uint64_t *den)
{
	if (!num || !den)
		return LV_ERR_INVALID;
	*num = 0;
	*den = 0;
	if (!s)
		return LV_ERR_INVALID;
	uint64_t n = 0, d = 1;
	unsigned sig = 0, frac = 0, ipart = 0;
	bool point = false;
	for (const char *p = s; *p; p++) {
		if (*p == '.') {
			if (point || ipart == 0)
				return LV_ERR_INVALID;
			point = true;
			continue;
		}
		if (*p < '0' || *p > '9')
			return LV_ERR_INVALID;
		if (point) {
			if (++frac > DEC_MAX_DIGITS)
				return LV_ERR_INVALID;
			d *= 10;
		} else {
			ipart++;
		}
		/* Leading zeros are not significant; n stays 0 through them. */
		if (n != 0 || *p != '0')
			if (++sig > DEC_MAX_DIGITS)
				return LV_ERR_INVALID;
		n = n * 10 + (uint64_t)(*p - '0'); /* < 10^12: no overflow */
	}
	if (ipart == 0 || (point && frac == 0))
		return LV_ERR_INVALID;
	if (n == 0) {
		d = 1;
	} else {
		uint64_t g = gcd64(n, d);
		n /= g;
		d /= g;
	}
	*num = n;
	*den = d;
	return LV_OK;
}
