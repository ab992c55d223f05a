/* Field64 and Field128 of VDAF-08 (poc/field.py at draft-irtf-cfrg-vdaf-08).
 *
 * Both moduli have a special form that makes reduction a few folds:
 *   Field64:  p = 2^64 - 2^32 + 1, so 2^64 = 2^32 - 1 and 2^96 = -1 (mod p);
 *   Field128: p = 2^128 - 28 * 2^64 + 1, so 2^128 = 28 * 2^64 - 1 and
 *             2^192 = 783 * 2^64 - 28 (mod p).
 * Elements stay in canonical form (no Montgomery domain), so callers can
 * build them from integers and compare them directly.  Final corrections
 * are mask selects, not branches, so add/sub/mul do not branch on values. */
#include "field.h"

#include <assert.h>
#include <string.h>

#include <openssl/crypto.h>

struct fed_field {
	enum fed_field_id id;
	size_t encoded_size;
	fed_elem p;
	/* field.py: gen() = GEN_BASE^GEN_COFACTOR, of order 2^GEN_ORDER_LOG2,
	 * with p - 1 = GEN_COFACTOR * 2^GEN_ORDER_LOG2. */
	unsigned bits; /* bit length of p: Xof.next_vec masks to it */
	uint64_t gen_base;
	uint64_t gen_cofactor;
	unsigned gen_order_log2;
};

#define P64 ((((fed_elem)1) << 64) - (((fed_elem)1) << 32) + 1)
#define P128 ((fed_elem)0 - (((fed_elem)28) << 64) + 1)

static const struct fed_field field64 = {
	.id = FED_FIELD64,
	.encoded_size = 8,
	.p = P64,
	.bits = 64,
	.gen_base = 7,
	.gen_cofactor = 4294967295u,
	.gen_order_log2 = 32,
};

static const struct fed_field field128 = {
	.id = FED_FIELD128,
	.encoded_size = 16,
	.p = P128,
	.bits = 128,
	.gen_base = 7,
	.gen_cofactor = 4611686018427387897u,
	.gen_order_log2 = 66,
};

const struct fed_field *fed_field_get(enum fed_field_id id)
{
	switch (id) {
	case FED_FIELD64:
		return &field64;
	case FED_FIELD128:
		return &field128;
	}
	return NULL;
}

enum fed_field_id fed_field_id(const struct fed_field *f)
{
	return f->id;
}

size_t fed_field_encoded_size(const struct fed_field *f)
{
	return f->encoded_size;
}

fed_elem fed_field_modulus(const struct fed_field *f)
{
	return f->p;
}

unsigned fed_field_gen_order_log2(const struct fed_field *f)
{
	return f->gen_order_log2;
}

/* All ones when @c is 1, zero when 0. */
static inline fed_elem mask_of(unsigned c)
{
	return (fed_elem)0 - (fed_elem)c;
}

static inline fed_elem select_elem(fed_elem m, fed_elem a, fed_elem b)
{
	return (a & m) | (b & ~m);
}

/* r - m when r >= m, else r. */
static inline fed_elem cond_sub(fed_elem r, fed_elem m)
{
	return select_elem(mask_of(r >= m), r - m, r);
}

fed_elem fed_field_add(const struct fed_field *f, fed_elem a, fed_elem b)
{
	/* Field128 sums can pass 2^128: then the true sum minus p is the
	 * wrapped s - p. */
	fed_elem s = a + b;
	unsigned carry = s < a;
	unsigned ge = s >= f->p;

	return select_elem(mask_of(carry | ge), s - f->p, s);
}

fed_elem fed_field_sub(const struct fed_field *f, fed_elem a, fed_elem b)
{
	fed_elem d = a - b;

	return d + (f->p & mask_of(a < b));
}

fed_elem fed_field_neg(const struct fed_field *f, fed_elem a)
{
	return fed_field_sub(f, 0, a);
}

static fed_elem mul64(fed_elem a, fed_elem b)
{
	fed_elem x = (fed_elem)(uint64_t)a * (uint64_t)b;
	uint64_t lo = (uint64_t)x, hi = (uint64_t)(x >> 64);
	uint64_t hh = hi >> 32, hl = hi & 0xffffffffu;
	/* x = lo + hl * 2^64 + hh * 2^96 = lo + hl * (2^32 - 1) - hh; adding p
	 * keeps it non-negative, and the total stays below 3p. */
	fed_elem v = (fed_elem)lo + (fed_elem)hl * 0xffffffffu + (P64 - hh);

	v = cond_sub(v, 2 * P64);
	return cond_sub(v, P64);
}

/* One fold of v = lo + hi * 2^64 where lo may be negative (as a wrapped
 * 128-bit value): moves the borrow into hi.  The arithmetic right shift
 * of a negative __int128 is what GCC and Clang define. */
static inline void carry_down(fed_elem lo, fed_elem *hi, uint64_t *low)
{
	*low = (uint64_t)lo;
	*hi += (fed_elem)((__int128)lo >> 64);
}

static fed_elem reduce128(uint64_t t0, uint64_t t1, uint64_t t2, uint64_t t3)
{
	fed_elem hi, lo;
	uint64_t l, h0, h1;

	/* t2 * 2^128 + t3 * 2^192 = (28 t2 + 783 t3) * 2^64 - t2 - 28 t3: the
	 * value becomes hi * 2^64 + lo with hi < 812 * 2^64 and lo in
	 * (-29 * 2^64, 2^64); hi stays >= 0 after the borrow because any
	 * borrow comes with t2 or t3 non-zero. */
	lo = (fed_elem)t0 - t2 - (fed_elem)28 * t3;
	hi = (fed_elem)t1 + (fed_elem)28 * t2 + (fed_elem)783 * t3;
	carry_down(lo, &hi, &l);

	/* Fold the part of hi above 2^64 (h1 < 812) with 2^128 = 28 * 2^64 - 1:
	 * hi drops below 2^64 + 2^15; a third fold (h1 now 0 or 1) brings the
	 * value below 2^128 < 2p. */
	for (int i = 0; i < 2; i++) {
		h0 = (uint64_t)hi;
		h1 = (uint64_t)(hi >> 64);
		lo = (fed_elem)l - h1;
		hi = (fed_elem)h0 + (fed_elem)28 * h1;
		carry_down(lo, &hi, &l);
	}
	return cond_sub((hi << 64) | l, P128);
}

static fed_elem mul128(fed_elem a, fed_elem b)
{
	uint64_t a0 = (uint64_t)a, a1 = (uint64_t)(a >> 64);
	uint64_t b0 = (uint64_t)b, b1 = (uint64_t)(b >> 64);
	fed_elem p00 = (fed_elem)a0 * b0, p01 = (fed_elem)a0 * b1;
	fed_elem p10 = (fed_elem)a1 * b0, p11 = (fed_elem)a1 * b1;
	fed_elem mid = (p00 >> 64) + (uint64_t)p01 + (uint64_t)p10;
	fed_elem mid2 = (mid >> 64) + (p01 >> 64) + (p10 >> 64) + (uint64_t)p11;
	uint64_t t3 = (uint64_t)(p11 >> 64) + (uint64_t)(mid2 >> 64);

	return reduce128((uint64_t)p00, (uint64_t)mid, (uint64_t)mid2, t3);
}

fed_elem fed_field_mul(const struct fed_field *f, fed_elem a, fed_elem b)
{
	assert(a < f->p && b < f->p);
	return f->id == FED_FIELD64 ? mul64(a, b) : mul128(a, b);
}

fed_elem fed_field_pow(const struct fed_field *f, fed_elem a, fed_elem e)
{
	fed_elem r = 1;
	int top = 127;

	/* Left to right from the exponent's top bit: the exponent is public
	 * (p - 2 for inv, powers of two for roots), so skipping its leading
	 * zeros leaks nothing and halves Field64's inversions. */
	while (top >= 0 && ((e >> top) & 1) == 0)
		top--;
	for (int i = top; i >= 0; i--) {
		r = fed_field_mul(f, r, r);
		if ((e >> i) & 1)
			r = fed_field_mul(f, r, a);
	}
	return r;
}

fed_elem fed_field_inv(const struct fed_field *f, fed_elem a)
{
	return fed_field_pow(f, a, f->p - 2);
}

fed_elem fed_field_from_u64(const struct fed_field *f, uint64_t v)
{
	return cond_sub(v, f->p);
}

fed_elem fed_field_root(const struct fed_field *f, uint64_t n)
{
	unsigned k = 0;
	fed_elem r;

	if (n == 0 || (n & (n - 1)) != 0)
		return 0;
	while (((uint64_t)1 << k) != n)
		k++;
	if (k > f->gen_order_log2)
		return 0;
	/* gen^(2^(GEN_ORDER_LOG2 - k)) has order exactly 2^k. */
	r = fed_field_pow(f, f->gen_base, f->gen_cofactor);
	for (unsigned i = k; i < f->gen_order_log2; i++)
		r = fed_field_mul(f, r, r);
	return r;
}

void fed_field_encode_vec(const struct fed_field *f, const fed_elem *v, size_t n, uint8_t *out)
{
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < f->encoded_size; j++)
			*out++ = (uint8_t)(v[i] >> (8 * j));
}

static fed_elem load_le(const uint8_t *in, size_t size)
{
	fed_elem x = 0;

	for (size_t j = 0; j < size; j++)
		x |= (fed_elem)in[j] << (8 * j);
	return x;
}

enum lv_status fed_field_decode_vec(const struct fed_field *f, const uint8_t *in, size_t len, fed_elem *out,
				    size_t n)
{
	size_t size = f->encoded_size;

	if (n > SIZE_MAX / size || len != n * size)
		goto invalid;
	for (size_t i = 0; i < n; i++) {
		out[i] = load_le(in + i * size, size);
		if (out[i] >= f->p)
			goto invalid;
	}
	return LV_OK;
invalid:
	if (n > 0 && n <= SIZE_MAX / sizeof *out)
		memset(out, 0, n * sizeof *out);
	return LV_ERR_INVALID;
}

void fed_xof_next_vec(const struct fed_field *f, struct fed_xof *x, fed_elem *out, size_t n)
{
	/* next_power_of_2(p) - 1.  Both moduli fill their encodings, so it
	 * masks nothing today; kept to the letter of the spec. */
	fed_elem m = ~(fed_elem)0 >> (128 - f->bits);
	uint8_t buf[16];
	size_t got = 0;

	while (got < n) {
		fed_elem v;

		fed_xof_next(x, buf, f->encoded_size);
		v = load_le(buf, f->encoded_size) & m;
		if (v < f->p)
			out[got++] = v;
	}
	OPENSSL_cleanse(buf, sizeof buf);
}

void fed_field_expand_vec(const struct fed_field *f, const uint8_t seed[16], const uint8_t *dst, size_t dst_len,
			  const uint8_t *binder, size_t binder_len, fed_elem *out, size_t n)
{
	struct fed_xof x;

	fed_xof_init(&x, seed, dst, dst_len, binder, binder_len);
	fed_xof_next_vec(f, &x, out, n);
	fed_xof_wipe(&x);
}
