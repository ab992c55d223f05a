/* TurboSHAKE128 (RFC 9861 section 2): Keccak-p[1600, 12] with rate 168.
 * Lanes are little-endian 64-bit words, so byte i of the rate lives in
 * lane i / 8 at bit 8 * (i % 8); the byte-at-a-time paths below use that
 * directly and the whole-block path reads lanes with a portable
 * little-endian load. */
#include "turboshake.h"

#include <assert.h>
#include <string.h>

#include <openssl/crypto.h>

#define ROTL64(v, r) (((v) << (r)) | ((v) >> ((64 - (r)) & 63)))

/* Round constants of Keccak-f[1600] rounds 12..23: Keccak-p[1600, 12] is
 * the last twelve rounds (FIPS 202 section 3.3, ir from 12 to 23).  The
 * test suite recomputes them from the LFSR rc(t) of FIPS 202 Algorithm 5. */
static const uint64_t keccak_rc12[12] = {
	0x000000008000808BULL, 0x800000000000008BULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
	0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800AULL, 0x800000008000000AULL,
	0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL,
};

/* rho offsets per lane index x + 5y (FIPS 202 Table 2). */
static const unsigned keccak_rho[25] = {
	0, 1, 62, 28, 27, 36, 44, 6, 55, 20, 3, 10, 43, 25, 39, 41, 45, 15, 21, 8, 18, 2, 61, 56, 14,
};

/* pi moves lane (x, y) to (y, 2x + 3y mod 5); indexed by source lane. */
static const unsigned keccak_pi_dst[25] = {
	0, 10, 20, 5, 15, 16, 1, 11, 21, 6, 7, 17, 2, 12, 22, 23, 8, 18, 3, 13, 14, 24, 9, 19, 4,
};

void fed_keccak_p1600_12(uint64_t s[25])
{
	uint64_t c[5], d[5], b[25];

	for (unsigned r = 0; r < 12; r++) {
		for (unsigned x = 0; x < 5; x++)
			c[x] = s[x] ^ s[x + 5] ^ s[x + 10] ^ s[x + 15] ^ s[x + 20];
		for (unsigned x = 0; x < 5; x++)
			d[x] = c[(x + 4) % 5] ^ ROTL64(c[(x + 1) % 5], 1);
		for (unsigned i = 0; i < 25; i++)
			b[keccak_pi_dst[i]] = ROTL64(s[i] ^ d[i % 5], keccak_rho[i]);
		for (unsigned y = 0; y < 25; y += 5)
			for (unsigned x = 0; x < 5; x++)
				s[y + x] = b[y + x] ^ (~b[y + (x + 1) % 5] & b[y + (x + 2) % 5]);
		s[0] ^= keccak_rc12[r];
	}
}

static inline void lane_xor_byte(uint64_t s[25], size_t pos, uint8_t v)
{
	s[pos / 8] ^= (uint64_t)v << (8 * (pos % 8));
}

static inline uint8_t lane_byte(const uint64_t s[25], size_t pos)
{
	return (uint8_t)(s[pos / 8] >> (8 * (pos % 8)));
}

static inline uint64_t load_le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

void fed_turboshake128_init(struct fed_turboshake *t, uint8_t domain)
{
	assert(domain >= 0x01 && domain <= 0x7F);
	memset(t->s, 0, sizeof t->s);
	t->pos = 0;
	t->domain = domain;
	t->squeezing = 0;
}

void fed_turboshake128_absorb(struct fed_turboshake *t, const uint8_t *in, size_t n)
{
	assert(!t->squeezing);
	/* Finish a partial block byte by byte, then take whole blocks a lane
	 * at a time (the XOF and the Prio3 proofs absorb little, but the
	 * RFC vectors absorb up to 17^6 bytes). */
	while (n > 0 && (t->pos != 0 || n < FED_TURBOSHAKE128_RATE)) {
		lane_xor_byte(t->s, t->pos++, *in++);
		n--;
		if (t->pos == FED_TURBOSHAKE128_RATE) {
			fed_keccak_p1600_12(t->s);
			t->pos = 0;
		}
	}
	while (n >= FED_TURBOSHAKE128_RATE) {
		for (unsigned i = 0; i < FED_TURBOSHAKE128_RATE / 8; i++)
			t->s[i] ^= load_le64(in + 8 * i);
		fed_keccak_p1600_12(t->s);
		in += FED_TURBOSHAKE128_RATE;
		n -= FED_TURBOSHAKE128_RATE;
	}
	while (n > 0) {
		lane_xor_byte(t->s, t->pos++, *in++);
		n--;
	}
}

void fed_turboshake128_squeeze(struct fed_turboshake *t, uint8_t *out, size_t n)
{
	if (!t->squeezing) {
		/* RFC 9861 section 2.2: M || D, pad10*1 to the rate; D's top
		 * bit is 0, so D and the final 0x80 never collide even when D
		 * lands on the last byte. */
		lane_xor_byte(t->s, t->pos, t->domain);
		lane_xor_byte(t->s, FED_TURBOSHAKE128_RATE - 1, 0x80);
		fed_keccak_p1600_12(t->s);
		t->pos = 0;
		t->squeezing = 1;
	}
	while (n > 0) {
		if (t->pos == FED_TURBOSHAKE128_RATE) {
			fed_keccak_p1600_12(t->s);
			t->pos = 0;
		}
		*out++ = lane_byte(t->s, t->pos++);
		n--;
	}
}

void fed_turboshake128(const uint8_t *in, size_t n, uint8_t domain, uint8_t *out, size_t out_len)
{
	struct fed_turboshake t;

	fed_turboshake128_init(&t, domain);
	fed_turboshake128_absorb(&t, in, n);
	fed_turboshake128_squeeze(&t, out, out_len);
	fed_turboshake128_wipe(&t);
}

void fed_turboshake128_wipe(struct fed_turboshake *t)
{
	OPENSSL_cleanse(t, sizeof *t);
}
