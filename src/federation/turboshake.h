/* TurboSHAKE128 (RFC 9861): the Keccak-p[1600, n_r = 12] sponge with a
 * rate of 168 bytes and a caller-chosen domain separation byte.  Written
 * for VDAF-08's XofTurboShake128; usable as a general XOF.
 *
 * The state is a plain value the caller owns (stack or heap); nothing is
 * allocated.  When the input is secret, wipe the state after use
 * (fed_turboshake128_wipe). */
#ifndef LV_FEDERATION_TURBOSHAKE_H
#define LV_FEDERATION_TURBOSHAKE_H

#include <stddef.h>
#include <stdint.h>

#define FED_TURBOSHAKE128_RATE 168

struct fed_turboshake {
	uint64_t s[25];  /* Keccak lanes, lane (x, y) at s[x + 5 * y] */
	size_t pos;      /* byte offset into the rate part */
	uint8_t domain;  /* D, 0x01..0x7F */
	int squeezing;   /* 0 while absorbing; padding happens on the switch */
};

/* Starts an empty sponge with domain byte @domain (0x01..0x7F; RFC 9861
 * section 2.2).  Any other value is a caller bug (asserted). */
void fed_turboshake128_init(struct fed_turboshake *t, uint8_t domain);
/* Absorbs @n bytes of @in.  Only before the first squeeze (asserted). */
void fed_turboshake128_absorb(struct fed_turboshake *t, const uint8_t *in, size_t n);
/* Writes the next @n bytes of output to @out.  The first call pads the
 * input; later calls continue the same stream, so squeezing 10 then 22
 * bytes gives the same 32 bytes as squeezing 32 at once. */
void fed_turboshake128_squeeze(struct fed_turboshake *t, uint8_t *out, size_t n);
/* One-shot TurboSHAKE128(M = @in, D = @domain, L = @out_len). */
void fed_turboshake128(const uint8_t *in, size_t n, uint8_t domain, uint8_t *out, size_t out_len);
/* Zeroes the state (it held key or share material). */
void fed_turboshake128_wipe(struct fed_turboshake *t);

/* The bare permutation Keccak-p[1600, 12], exposed for the tests. */
void fed_keccak_p1600_12(uint64_t s[25]);

#endif
