/* dp/ internals shared by rng.c, sampler.c and mechanism.c: the buffered
 * random source and the exact integer primitives the samplers are built
 * from.  No floating point here. */
#ifndef LV_DP_INT_H
#define LV_DP_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "learnvault/dp.h"

typedef unsigned __int128 dp_u128;

struct lv_dp_rng {
	lv_dp_fill_fn fill;
	void *ctx;
	size_t pos;     /* bytes of buf already used */
	uint64_t bits;  /* unused random bits for coin flips */
	unsigned nbits;
	unsigned char buf[LV_DP_RNG_BUFFER];
};

/* Refills the whole buffer (rng.c). */
void dp_refill(struct lv_dp_rng *rng);

static inline uint64_t dp_u64(struct lv_dp_rng *rng)
{
	if (rng->pos > sizeof rng->buf - 8)
		dp_refill(rng);
	uint64_t v;
	memcpy(&v, rng->buf + rng->pos, 8);
	rng->pos += 8;
	return v;
}

static inline uint32_t dp_u32(struct lv_dp_rng *rng)
{
	if (rng->pos > sizeof rng->buf - 4)
		dp_refill(rng);
	uint32_t v;
	memcpy(&v, rng->buf + rng->pos, 4);
	rng->pos += 4;
	return v;
}

/* One fair coin. */
static inline bool dp_bit(struct lv_dp_rng *rng)
{
	if (rng->nbits == 0) {
		rng->bits = dp_u64(rng);
		rng->nbits = 64;
	}
	bool b = rng->bits & 1;
	rng->bits >>= 1;
	rng->nbits--;
	return b;
}

/* Uniform in [0, n), n >= 1, unbiased: Lemire's multiply-shift with
 * rejection of the 2^w mod n low products that would over-represent some
 * outputs.  32-bit draws when n fits, to spend half the bytes. */
static inline uint64_t dp_below(struct lv_dp_rng *rng, uint64_t n)
{
	if (n <= UINT64_C(1) << 32) {
		if (n == 1)
			return 0;
		uint64_t m = (uint64_t)dp_u32(rng) * n;
		uint32_t l = (uint32_t)m;
		if (l < n) {
			uint32_t t = (uint32_t)((UINT64_C(1) << 32) % n);
			while (l < t) {
				m = (uint64_t)dp_u32(rng) * n;
				l = (uint32_t)m;
			}
		}
		return m >> 32;
	}
	dp_u128 m = (dp_u128)dp_u64(rng) * n;
	uint64_t l = (uint64_t)m;
	if (l < n) {
		uint64_t t = -n % n;
		while (l < t) {
			m = (dp_u128)dp_u64(rng) * n;
			l = (uint64_t)m;
		}
	}
	return (uint64_t)(m >> 64);
}

/* Uniform in [0, n), n >= 1, for 128-bit n (sampler.c). */
dp_u128 dp_below128(struct lv_dp_rng *rng, dp_u128 n);

/* Bernoulli(exp(-1)) exactly. */
bool dp_bern_exp1(struct lv_dp_rng *rng);

/* Bernoulli(exp(-num/den)) exactly, den >= 1 (CKS20 Algorithm 1). */
bool dp_bern_exp(struct lv_dp_rng *rng, dp_u128 num, dp_u128 den);

#endif
