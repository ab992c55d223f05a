/* learnvault — exact noise samplers for differential privacy.
 *
 * Every sampler here draws with integer arithmetic only, from rational
 * parameters num/den (uint64), following Canonne, Kamath and Steinke 2020,
 * "The Discrete Gaussian for Differential Privacy" (arXiv:2004.00010),
 * Algorithms 1-3: Bernoulli(num/den) from unbiased uniform integers,
 * Bernoulli(exp(-num/den)), the discrete Laplace and the discrete Gaussian.
 * No floating point is used to draw: a float sampler leaks the value it
 * hides (Mironov, CCS 2012).  Intermediates are 128-bit and overflow
 * checked; a parameter too large for them is refused with
 * LV_ERR_UNSUPPORTED, never wrapped.  Fractions are reduced by their gcd
 * before the range checks, so 10/4 and 5/2 are the same parameter.
 *
 * Randomness comes from a struct lv_dp_rng: libsodium's randombytes_buf
 * read through a 4 KiB buffer in production, or any byte source a test
 * plugs in.  An rng is not thread-safe: use one per thread.
 *
 * Timing: the samplers loop a random number of times, more often for
 * larger noise, so their running time says something about the noise drawn
 * (never about the data it is added to).  Draw noise off the release path
 * or release on a schedule if that matters.
 *
 * Errors common to every function returning enum lv_status: LV_ERR_INVALID
 * for a NULL rng/output, a zero denominator or a parameter out of its
 * stated range; LV_ERR_UNSUPPORTED for a parameter beyond the documented
 * caps of the exact arithmetic.  On any failure the output parameters are
 * cleared (0 / false).
 */
#ifndef LEARNVAULT_DP_H
#define LEARNVAULT_DP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "learnvault/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A source of random bytes, buffered.  Opaque. */
struct lv_dp_rng;

/* Fills @buf with @n random bytes.  Must not fail (a source that can fail
 * should abort).  @ctx is the pointer given to lv_dp_rng_create_custom. */
typedef void (*lv_dp_fill_fn)(void *ctx, unsigned char *buf, size_t n);

/* Size of the internal buffer; a custom source is always asked for exactly
 * this many bytes at a time. */
#define LV_DP_RNG_BUFFER 4096

/* Creates an rng reading libsodium randombytes_buf (cryptographically
 * secure) through a 4 KiB buffer.  Calls sodium_init() if needed
 * (LV_ERR_INTERNAL if that fails).  The caller destroys *@out with
 * lv_dp_rng_destroy.  Errors: LV_ERR_NOMEM. */
LV_EXPORT enum lv_status lv_dp_rng_create(struct lv_dp_rng **out) LV_WARN_UNUSED;

/* Creates an rng drawing its bytes from @fill(@ctx, ...), for tests and
 * reproducible experiments.  @ctx is borrowed: it must outlive the rng.
 * The caller destroys *@out with lv_dp_rng_destroy.  Never use a
 * predictable source for released noise; a degenerate one (e.g. only zero
 * bytes) can keep the rejection loops from ever ending. */
LV_EXPORT enum lv_status lv_dp_rng_create_custom(lv_dp_fill_fn fill, void *ctx, struct lv_dp_rng **out)
	LV_WARN_UNUSED;

/* Wipes the buffered randomness (sodium_memzero) and frees @rng.  NULL is
 * a no-op. */
LV_EXPORT void lv_dp_rng_destroy(struct lv_dp_rng *rng);

/* A uniform integer in [0, @n), @n >= 1, by rejection (unbiased; Lemire's
 * multiply-and-reject).  @n == 1 gives 0 and draws nothing. */
LV_EXPORT enum lv_status lv_dp_uniform(struct lv_dp_rng *rng, uint64_t n, uint64_t *out) LV_WARN_UNUSED;

/* Bernoulli(@num / @den): *@out is true with probability num/den exactly.
 * Requires den >= 1 and num <= den.  0/den is always false and den/den
 * always true, without drawing. */
LV_EXPORT enum lv_status lv_dp_bernoulli(struct lv_dp_rng *rng, uint64_t num, uint64_t den, bool *out)
	LV_WARN_UNUSED;

/* Bernoulli(exp(-@num / @den)), exactly (CKS20 Algorithm 1): any num >= 0,
 * den >= 1.  0/den is always true. */
LV_EXPORT enum lv_status lv_dp_bernoulli_exp(struct lv_dp_rng *rng, uint64_t num, uint64_t den, bool *out)
	LV_WARN_UNUSED;

/* Largest discrete Laplace scale accepted (after reduction): 2^48. */
#define LV_DP_LAPLACE_MAX_SCALE (UINT64_C(1) << 48)

/* Discrete Laplace: P(x) proportional to exp(-|x| / t) over all integers,
 * t = @scale_num / @scale_den > 0 (CKS20 Algorithm 2).  Adding it with
 * t = sensitivity / epsilon to an integer query gives epsilon-DP.
 * Errors: LV_ERR_INVALID for a zero num or den; LV_ERR_UNSUPPORTED for
 * t > LV_DP_LAPLACE_MAX_SCALE, or if a draw does not fit an int64 (it
 * needs |x| > 2^63 and so has probability below exp(-2^15)). */
LV_EXPORT enum lv_status lv_dp_discrete_laplace(struct lv_dp_rng *rng, uint64_t scale_num, uint64_t scale_den,
						 int64_t *out) LV_WARN_UNUSED;

/* Largest discrete Gaussian variance accepted (after reduction): 2^40. */
#define LV_DP_GAUSSIAN_MAX_SIGMA2 (UINT64_C(1) << 40)

/* Discrete Gaussian: P(x) proportional to exp(-x^2 / (2 sigma2)) over all
 * integers, sigma2 = @sigma2_num / @sigma2_den > 0 (CKS20 Algorithm 3).
 * With L2 sensitivity D it gives rho = D^2 / (2 sigma2) zero-concentrated
 * DP.  Errors: LV_ERR_INVALID for a zero num or den; LV_ERR_UNSUPPORTED
 * for sigma2 > LV_DP_GAUSSIAN_MAX_SIGMA2 or when 2 * num * den * t^2
 * (t = floor(sqrt(sigma2)) + 1) exceeds 2^119 -- reduce the fraction or
 * round it to a smaller denominator.  A candidate so far out that its
 * acceptance exponent does not fit 128 bits is rejected through 512 exact
 * Bernoulli(exp(-1)) trials (its exponent is >= 512); only if all 512
 * succeed (probability < exp(-512)) is LV_ERR_UNSUPPORTED returned. */
LV_EXPORT enum lv_status lv_dp_discrete_gaussian(struct lv_dp_rng *rng, uint64_t sigma2_num, uint64_t sigma2_den,
						  int64_t *out) LV_WARN_UNUSED;

/* Most candidates lv_dp_permute_and_flip accepts: 2^24. */
#define LV_DP_PF_MAX_CANDIDATES ((size_t)1 << 24)

/* Permute-and-flip (McKenna & Sheldon 2020) over @n candidates with
 * integer utilities @utility[0..n) (higher is better; borrowed, read
 * only), sensitivity @sens (an integer >= 1) and epsilon =
 * @eps_num / @eps_den > 0: walks a uniformly random permutation and
 * accepts candidate i with probability
 * exp(-eps * (u_max - u_i) / (2 * sens)), exactly.  The best candidate is
 * always accepted when reached, so it ends within n steps.  epsilon-DP.
 * *@choice gets the chosen index.  Errors: LV_ERR_INVALID for n == 0,
 * NULL arrays, eps_num, eps_den or sens zero; LV_ERR_TOO_LARGE for
 * n > LV_DP_PF_MAX_CANDIDATES; LV_ERR_UNSUPPORTED if 2 * sens * eps_den
 * overflows 128 bits; LV_ERR_NOMEM. */
LV_EXPORT enum lv_status lv_dp_permute_and_flip(struct lv_dp_rng *rng, const int64_t *utility, size_t n,
						 uint64_t eps_num, uint64_t eps_den, uint64_t sens, size_t *choice)
	LV_WARN_UNUSED;

/* ---- post-processing helpers ----
 * Floating point is fine here: these use no data and draw no noise. */

/* Smallest k >= 0 with P(|X| > k) <= @alpha for X discrete Laplace of
 * scale @scale, i.e. the (1 - alpha) half-width (alpha 0.05: 95%).
 * Returns -1 for scale <= 0 or not finite, or alpha outside (0, 1). */
LV_EXPORT int64_t lv_dp_laplace_halfwidth(double scale, double alpha);

/* Mean absolute error E|X| = 2 e^{-1/t} / (1 - e^{-2/t}) of the discrete
 * Laplace of scale t = @scale.  Returns -1 for scale <= 0 or not finite. */
LV_EXPORT double lv_dp_laplace_mae(double scale);

/* Smallest k >= 0 with P(|X| > k) <= @alpha for X discrete Gaussian with
 * variance parameter @sigma2, summed from the exact pmf (long double).
 * Returns -1 for sigma2 <= 0, sigma2 > LV_DP_GAUSSIAN_MAX_SIGMA2 or not
 * finite, or alpha outside (0, 1). */
LV_EXPORT int64_t lv_dp_gaussian_halfwidth(double sigma2, double alpha);

/* The variance *@sigma2_num / *@sigma2_den that makes the discrete
 * Gaussian (eps, delta)-DP for L2 sensitivity @sens, through
 * rho = sens^2 / (2 sigma2) zCDP and eps = rho + 2 sqrt(rho ln(1/delta)).
 * The fraction is rounded up (toward more noise), with a denominator of at
 * most 10^6, and checked against the formula after rounding.
 * Errors: LV_ERR_INVALID for eps <= 0 or not finite, delta outside
 * (0, 1), sens == 0 or NULL outputs; LV_ERR_UNSUPPORTED when sigma2 would
 * exceed LV_DP_GAUSSIAN_MAX_SIGMA2.  The result is always accepted by
 * lv_dp_discrete_gaussian. */
LV_EXPORT enum lv_status lv_dp_gaussian_sigma2(double eps, double delta, uint64_t sens, uint64_t *sigma2_num,
						uint64_t *sigma2_den) LV_WARN_UNUSED;

/* Parses a plain decimal "123", "2.5", "0.3" exactly into the reduced
 * fraction *@num / *@den ("0.3" -> 3/10).  Accepted: ASCII digits, then
 * optionally '.' and at least one digit; at most 12 significant digits
 * and at most 12 digits after the point.  Refused (LV_ERR_INVALID): signs,
 * exponents, spaces, empty strings, ".5", "5.", anything else.  Zero
 * parses as 0/1 (callers that need a positive value check num). */
LV_EXPORT enum lv_status lv_dp_parse_decimal(const char *s, uint64_t *num, uint64_t *den) LV_WARN_UNUSED;

/* ---- the privacy budget's arithmetic ----
 * Amounts are integers in micro-epsilon, composed by simple addition
 * (basic composition).  A release charges its epsilon, rounded up, per
 * (purpose, learner, day); the ledger itself is the store's
 * (learnvault/store.h, lv_store_budget_*). */

/* The first day (days since the epoch) inside a window of @window_days
 * ending on @now_ms's day: the days d >= today - W, i.e. at least W whole
 * days (rounded toward more loss). */
LV_EXPORT int64_t lv_dp_budget_window_start(int64_t now_ms, uint32_t window_days);

/* True when charging @charge on top of @spent stays within @budget. */
LV_EXPORT bool lv_dp_budget_fits(uint64_t spent, uint64_t charge, uint64_t budget);

#ifdef __cplusplus
}
#endif
#endif
