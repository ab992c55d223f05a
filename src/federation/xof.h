/* VDAF-08 XofTurboShake128 (draft-irtf-cfrg-vdaf-08 section 6.2.1) and
 * the domain separation tags of section 6.2 (format_dst).
 *
 * The XOF stream for (seed, dst, binder) is
 *   TurboSHAKE128(len(dst) as one byte || dst || seed || binder, D = 1)
 * read from its start; fed_xof_next continues where the previous call
 * stopped.  dst is at most 255 bytes (its length is one byte on the
 * wire); longer is a caller bug (asserted).
 *
 * All state is in caller-owned values; seeds are often secret (sharding
 * randomness), so wipe a struct fed_xof with fed_xof_wipe when done. */
#ifndef LV_FEDERATION_XOF_H
#define LV_FEDERATION_XOF_H

#include <stddef.h>
#include <stdint.h>

#include "turboshake.h"

#define FED_XOF_SEED_SIZE 16
/* TurboSHAKE128 domain byte XofTurboShake128 uses. */
#define FED_XOF_TURBOSHAKE_DOMAIN 1
#define FED_XOF_DST_MAX 255
#define FED_VDAF_DST_SIZE 8

struct fed_xof {
	struct fed_turboshake ts;
};

/* Starts the stream for (@seed, @dst, @binder).  @binder may be NULL when
 * @binder_len is 0. */
void fed_xof_init(struct fed_xof *x, const uint8_t seed[FED_XOF_SEED_SIZE], const uint8_t *dst, size_t dst_len,
		  const uint8_t *binder, size_t binder_len);
/* The next @n bytes of the stream. */
void fed_xof_next(struct fed_xof *x, uint8_t *out, size_t n);
/* Xof.derive_seed: the first FED_XOF_SEED_SIZE bytes of the stream for
 * (@seed, @dst, @binder).  @out may alias @seed. */
void fed_xof_derive_seed(const uint8_t seed[16], const uint8_t *dst, size_t dst_len, const uint8_t *binder,
			 size_t binder_len, uint8_t out[16]);
/* Zeroes the XOF state. */
void fed_xof_wipe(struct fed_xof *x);

/* VDAF-08 format_dst(algo_class, algo, usage): writes the 8-byte tag
 * VERSION (FED_VDAF_VERSION) || algo_class || algo (big-endian u32) ||
 * usage (big-endian u16). */
void fed_vdaf_dst(uint8_t algo_class, uint32_t algo, uint16_t usage, uint8_t out[8]);

#endif
