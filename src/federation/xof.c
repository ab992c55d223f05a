/* VDAF-08 XofTurboShake128 (draft-irtf-cfrg-vdaf-08 section 6.2.1, poc/xof.py).
 * The reference precomputes a fixed-length output buffer; reading the
 * sponge incrementally gives the same bytes (the stream is a prefix-
 * consistent XOF) without its length limit. */
#include "xof.h"

#include <assert.h>

#include <openssl/crypto.h>

#include "versions.h"

void fed_xof_init(struct fed_xof *x, const uint8_t seed[FED_XOF_SEED_SIZE], const uint8_t *dst, size_t dst_len,
		  const uint8_t *binder, size_t binder_len)
{
	uint8_t len_byte = (uint8_t)dst_len;

	assert(dst_len <= FED_XOF_DST_MAX);
	fed_turboshake128_init(&x->ts, FED_XOF_TURBOSHAKE_DOMAIN);
	fed_turboshake128_absorb(&x->ts, &len_byte, 1);
	fed_turboshake128_absorb(&x->ts, dst, dst_len);
	fed_turboshake128_absorb(&x->ts, seed, FED_XOF_SEED_SIZE);
	if (binder_len > 0)
		fed_turboshake128_absorb(&x->ts, binder, binder_len);
}

void fed_xof_next(struct fed_xof *x, uint8_t *out, size_t n)
{
	fed_turboshake128_squeeze(&x->ts, out, n);
}

void fed_xof_derive_seed(const uint8_t seed[16], const uint8_t *dst, size_t dst_len, const uint8_t *binder,
			 size_t binder_len, uint8_t out[16])
{
	struct fed_xof x;

	/* init has absorbed seed before out is written, so out may alias it. */
	fed_xof_init(&x, seed, dst, dst_len, binder, binder_len);
	fed_xof_next(&x, out, FED_XOF_SEED_SIZE);
	fed_xof_wipe(&x);
}

void fed_xof_wipe(struct fed_xof *x)
{
	fed_turboshake128_wipe(&x->ts);
}

void fed_vdaf_dst(uint8_t algo_class, uint32_t algo, uint16_t usage, uint8_t out[8])
{
	out[0] = FED_VDAF_VERSION;
	out[1] = algo_class;
	out[2] = (uint8_t)(algo >> 24);
	out[3] = (uint8_t)(algo >> 16);
	out[4] = (uint8_t)(algo >> 8);
	out[5] = (uint8_t)algo;
	out[6] = (uint8_t)(usage >> 8);
	out[7] = (uint8_t)usage;
}
