/* federation: TurboSHAKE128, the VDAF-08 XOF and the fields Field64 and
 * Field128.
 *
 * Known answers come from tests/vectors/rfc9861 (RFC 9861 section 5) and
 * tests/vectors/vdaf-08 (the draft's own vectors).  Field arithmetic is
 * compared with a slow reference written here from the definitions
 * (double-and-add modulo p on plain integers), on edge values and on a
 * fixed pseudo-random stream, and the permutation with one written here
 * from FIPS 202's step definitions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "federation/field.h"
#include "federation/turboshake.h"
#include "federation/versions.h"
#include "federation/xof.h"
#include "harness.h"

/* ---- helpers ---- */

static char *slurp(const char *rel)
{
	FILE *fp = fopen(th_src(rel), "rb");
	char *s;
	long n;

	ck_assert_msg(fp != NULL, "cannot open %s", rel);
	ck_assert_int_eq(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	ck_assert_int_ge(n, 0);
	rewind(fp);
	s = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(fread(s, 1, (size_t)n, fp), (size_t)n);
	s[n] = '\0';
	fclose(fp);
	return s;
}

/* Decodes hex @h into a malloc'd buffer; *@n gets its length. */
static uint8_t *unhex(const char *h, size_t *n)
{
	size_t len = strlen(h);
	uint8_t *out;

	ck_assert_uint_eq(len % 2, 0);
	out = malloc(len / 2 + 1);
	ck_assert_ptr_nonnull(out);
	for (size_t i = 0; i < len / 2; i++) {
		unsigned v;
		ck_assert_int_eq(sscanf(h + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	*n = len / 2;
	return out;
}

/* splitmix64: a fixed stream of test inputs, reproducible run to run. */
static uint64_t next_u64(uint64_t *st)
{
	uint64_t z = (*st += 0x9E3779B97F4A7C15ULL);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

/* ---- Keccak-p[1600, 12] from FIPS 202's definitions ---- */

/* rc(t) of FIPS 202 Algorithm 5: the LFSR x^8 + x^6 + x^5 + x^4 + 1. */
static int ref_rc(unsigned t)
{
	unsigned r = 1; /* bit i is R[i] */

	for (unsigned i = 1; i <= t % 255; i++) {
		unsigned r8;
		r <<= 1;
		r8 = (r >> 8) & 1;
		r ^= r8 | (r8 << 4) | (r8 << 5) | (r8 << 6);
		r &= 0xff;
	}
	return r & 1;
}

static uint64_t ref_rotl(uint64_t v, unsigned r)
{
	r %= 64;
	return r ? (v << r) | (v >> (64 - r)) : v;
}

/* Lanes a[x][y] as s[x + 5y]; rounds ir = 12 .. 23 (n_r = 12). */
static void ref_keccak_p12(uint64_t s[25])
{
	for (unsigned ir = 12; ir < 24; ir++) {
		uint64_t c[5], a[25], b[25];
		unsigned x, y, t;

		for (x = 0; x < 5; x++)
			c[x] = s[x] ^ s[x + 5] ^ s[x + 10] ^ s[x + 15] ^ s[x + 20];
		for (x = 0; x < 5; x++)
			for (y = 0; y < 5; y++)
				a[x + 5 * y] = s[x + 5 * y] ^ c[(x + 4) % 5] ^ ref_rotl(c[(x + 1) % 5], 1);
		/* rho: walk (x, y) -> (y, 2x + 3y) from (1, 0), offset (t+1)(t+2)/2. */
		x = 1, y = 0;
		for (t = 0; t < 24; t++) {
			unsigned nx = y, ny = (2 * x + 3 * y) % 5;
			a[x + 5 * y] = ref_rotl(a[x + 5 * y], ((t + 1) * (t + 2) / 2) % 64);
			x = nx, y = ny;
		}
		/* pi: A'[x, y] = A[(x + 3y) mod 5, x]. */
		for (x = 0; x < 5; x++)
			for (y = 0; y < 5; y++)
				b[x + 5 * y] = a[(x + 3 * y) % 5 + 5 * x];
		for (x = 0; x < 5; x++)
			for (y = 0; y < 5; y++)
				s[x + 5 * y] = b[x + 5 * y] ^ (~b[(x + 1) % 5 + 5 * y] & b[(x + 2) % 5 + 5 * y]);
		for (unsigned j = 0; j <= 6; j++)
			s[0] ^= (uint64_t)ref_rc(j + 7 * ir) << ((1u << j) - 1);
	}
}

START_TEST(keccak_matches_fips202_steps)
{
	uint64_t st = 1, a[25], b[25];

	for (int round = 0; round < 50; round++) {
		for (int i = 0; i < 25; i++)
			a[i] = b[i] = round == 0 ? 0 : next_u64(&st);
		fed_keccak_p1600_12(a);
		ref_keccak_p12(b);
		ck_assert_mem_eq(a, b, sizeof a);
	}
}
END_TEST

/* ---- TurboSHAKE128: RFC 9861 section 5 ---- */

static uint8_t *make_message(const char *kind, size_t n)
{
	uint8_t *m = malloc(n ? n : 1);

	ck_assert_ptr_nonnull(m);
	for (size_t i = 0; i < n; i++)
		m[i] = strcmp(kind, "ptn") == 0 ? (uint8_t)(i % 251) : 0xFF;
	return m;
}

START_TEST(turboshake_rfc9861_vectors)
{
	char *text = slurp("tests/vectors/rfc9861/turboshake128.txt");
	char *save = NULL;
	int count = 0;

	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char kind[8], hex[2100];
		size_t n, len, off, elen;
		unsigned d;
		uint8_t *msg, *out, *want;

		if (line[0] == '#' || line[0] == '\0')
			continue;
		ck_assert_int_eq(sscanf(line, "%7s %zu %x %zu %zu %2099s", kind, &n, &d, &len, &off, hex), 6);
		ck_assert(strcmp(kind, "ptn") == 0 || strcmp(kind, "ff") == 0);
		want = unhex(hex, &elen);
		ck_assert_uint_eq(elen, len - off);
		msg = make_message(kind, n);
		out = malloc(len);
		ck_assert_ptr_nonnull(out);
		fed_turboshake128(msg, n, (uint8_t)d, out, len);
		ck_assert_msg(memcmp(out + off, want, elen) == 0, "vector %s %zu D=%02x L=%zu", kind, n, d, len);
		free(out);
		free(msg);
		free(want);
		count++;
	}
	/* The section's 16 TurboSHAKE128 cases: a truncated file fails here. */
	ck_assert_int_eq(count, 16);
	free(text);
}
END_TEST

/* Absorbing and squeezing in uneven pieces (across the 168-byte rate)
 * gives the one-shot output. */
START_TEST(turboshake_streaming)
{
	static const size_t pieces[] = {1, 7, 160, 168, 169, 335, 3, 1000};
	size_t n = 4913, len = 1200;
	uint8_t *msg = make_message("ptn", n), *one = malloc(len), *inc = malloc(len);
	struct fed_turboshake t;
	size_t at = 0;

	fed_turboshake128(msg, n, 0x1F, one, len);
	fed_turboshake128_init(&t, 0x1F);
	for (size_t i = 0; at < n; i = (i + 1) % 8) {
		size_t k = pieces[i] < n - at ? pieces[i] : n - at;
		fed_turboshake128_absorb(&t, msg + at, k);
		at += k;
	}
	at = 0;
	for (size_t i = 0; at < len; i = (i + 1) % 8) {
		size_t k = pieces[(i + 3) % 8] < len - at ? pieces[(i + 3) % 8] : len - at;
		fed_turboshake128_squeeze(&t, inc + at, k);
		at += k;
	}
	ck_assert_mem_eq(one, inc, len);
	/* A different domain byte gives a different stream. */
	fed_turboshake128(msg, n, 0x1E, inc, len);
	ck_assert(memcmp(one, inc, 32) != 0);
	fed_turboshake128_wipe(&t);
	free(msg);
	free(one);
	free(inc);
}
END_TEST

/* ---- the VDAF-08 XOF ---- */

struct xof_vec {
	cJSON *root;
	uint8_t *seed, *dst, *binder, *derived, *expanded;
	size_t seed_len, dst_len, binder_len, derived_len, expanded_len;
	int length;
};

static const char *jstr(cJSON *o, const char *k)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	ck_assert_msg(cJSON_IsString(v), "missing %s", k);
	return v->valuestring;
}

static void xof_vec_load(struct xof_vec *v)
{
	char *text = slurp("tests/vectors/vdaf-08/XofTurboShake128.json");
	cJSON *len;

	v->root = cJSON_Parse(text);
	free(text);
	ck_assert_ptr_nonnull(v->root);
	v->seed = unhex(jstr(v->root, "seed"), &v->seed_len);
	v->dst = unhex(jstr(v->root, "dst"), &v->dst_len);
	v->binder = unhex(jstr(v->root, "binder"), &v->binder_len);
	v->derived = unhex(jstr(v->root, "derived_seed"), &v->derived_len);
	v->expanded = unhex(jstr(v->root, "expanded_vec_field128"), &v->expanded_len);
	len = cJSON_GetObjectItemCaseSensitive(v->root, "length");
	ck_assert(cJSON_IsNumber(len));
	v->length = len->valueint;
	ck_assert_uint_eq(v->seed_len, FED_XOF_SEED_SIZE);
	ck_assert_uint_eq(v->derived_len, FED_XOF_SEED_SIZE);
}

static void xof_vec_free(struct xof_vec *v)
{
	free(v->seed);
	free(v->dst);
	free(v->binder);
	free(v->derived);
	free(v->expanded);
	cJSON_Delete(v->root);
}

START_TEST(xof_vdaf08_derive_seed)
{
	struct xof_vec v;
	uint8_t out[16], alias[16];

	xof_vec_load(&v);
	fed_xof_derive_seed(v.seed, v.dst, v.dst_len, v.binder, v.binder_len, out);
	ck_assert_mem_eq(out, v.derived, 16);
	memcpy(alias, v.seed, 16);
	fed_xof_derive_seed(alias, v.dst, v.dst_len, v.binder, v.binder_len, alias);
	ck_assert_mem_eq(alias, v.derived, 16);
	/* Without the binder the seed differs. */
	fed_xof_derive_seed(v.seed, v.dst, v.dst_len, NULL, 0, out);
	ck_assert(memcmp(out, v.derived, 16) != 0);
	xof_vec_free(&v);
}
END_TEST

START_TEST(xof_vdaf08_expand_into_vec)
{
	const struct fed_field *f = fed_field_get(FED_FIELD128);
	struct xof_vec v;
	fed_elem *vec;
	uint8_t *enc;

	xof_vec_load(&v);
	ck_assert_int_eq(v.length, 40);
	ck_assert_uint_eq(v.expanded_len, (size_t)v.length * 16);
	vec = calloc((size_t)v.length, sizeof *vec);
	enc = malloc(v.expanded_len);
	fed_field_expand_vec(f, v.seed, v.dst, v.dst_len, v.binder, v.binder_len, vec, (size_t)v.length);
	fed_field_encode_vec(f, vec, (size_t)v.length, enc);
	ck_assert_mem_eq(enc, v.expanded, v.expanded_len);
	free(vec);
	free(enc);
	xof_vec_free(&v);
}
END_TEST

/* Xof.next continues the stream across calls: no element of this vector
 * was rejected (all are < p), so the stream's first 640 bytes are the
 * encoded vector, and its first 16 the derived seed. */
START_TEST(xof_vdaf08_next)
{
	struct xof_vec v;
	struct fed_xof x;
	uint8_t *stream;
	size_t at = 0, step = 1;

	xof_vec_load(&v);
	stream = malloc(v.expanded_len);
	fed_xof_init(&x, v.seed, v.dst, v.dst_len, v.binder, v.binder_len);
	while (at < v.expanded_len) {
		size_t k = step < v.expanded_len - at ? step : v.expanded_len - at;
		fed_xof_next(&x, stream + at, k);
		at += k;
		step = step * 3 + 1;
	}
	ck_assert_mem_eq(stream, v.derived, 16);
	ck_assert_mem_eq(stream, v.expanded, v.expanded_len);
	fed_xof_wipe(&x);
	free(stream);
	xof_vec_free(&v);
}
END_TEST

START_TEST(vdaf_dst_format)
{
	uint8_t dst[8];
	static const uint8_t want[8] = {FED_VDAF_VERSION, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x02};
	static const uint8_t want2[8] = {FED_VDAF_VERSION, 0x01, 0xA1, 0xB2, 0xC3, 0xD4, 0xE5, 0xF6};

	ck_assert_int_eq(FED_VDAF_VERSION, 8);
	fed_vdaf_dst(FED_VDAF_ALGO_CLASS_VDAF, FED_PRIO3_SUM_ID, 2, dst);
	ck_assert_mem_eq(dst, want, 8);
	fed_vdaf_dst(1, 0xA1B2C3D4u, 0xE5F6, dst);
	ck_assert_mem_eq(dst, want2, 8);
}
END_TEST

/* ---- fields ---- */

/* Reference arithmetic on plain integers below p. */
static fed_elem ref_add(fed_elem p, fed_elem a, fed_elem b)
{
	return a >= p - b ? a - (p - b) : a + b;
}

static fed_elem ref_sub(fed_elem p, fed_elem a, fed_elem b)
{
	return a >= b ? a - b : a + (p - b);
}

static fed_elem ref_mul(fed_elem p, fed_elem a, fed_elem b)
{
	fed_elem r = 0;

	for (int i = 127; i >= 0; i--) {
		r = ref_add(p, r, r);
		if ((b >> i) & 1)
			r = ref_add(p, r, a);
	}
	return r;
}

static const char *u128_str(fed_elem v)
{
	static char buf[40];
	snprintf(buf, sizeof buf, "%016llx%016llx", (unsigned long long)(uint64_t)(v >> 64),
		 (unsigned long long)(uint64_t)v);
	return buf;
}

static const enum fed_field_id field_ids[] = {FED_FIELD64, FED_FIELD128};

/* Edge values first (0, 1, 2, p-1, p-2, limb and half-way boundaries),
 * then pseudo-random values below p, some with many high bits set. */
static fed_elem sample(const struct fed_field *f, uint64_t *st, int i)
{
	fed_elem p = fed_field_modulus(f);
	fed_elem edges[] = {0, 1, 2, p - 1, p - 2, p / 2, p / 2 + 1, ((fed_elem)1 << 32) - 1, (fed_elem)1 << 32,
			    ((fed_elem)1 << 63), (fed_elem)UINT64_MAX, ((fed_elem)1 << 64) % p,
			    ((fed_elem)1 << 127) % p, p - ((fed_elem)1 << 64)};
	int ne = (int)(sizeof edges / sizeof edges[0]);
	fed_elem v;

	if (i < ne)
		return edges[i] % p;
	v = ((fed_elem)next_u64(st) << 64) | next_u64(st);
	if (fed_field_encoded_size(f) == 8)
		v = (uint64_t)v;
	if (i % 3 == 0)
		v |= fed_field_encoded_size(f) == 8 ? (fed_elem)0xffffffff00000000ULL : ~(fed_elem)0 << 70;
	return v % p;
}

START_TEST(field_constants)
{
	const struct fed_field *f64 = fed_field_get(FED_FIELD64), *f128 = fed_field_get(FED_FIELD128);
	/* field.py: MODULUS = 2^32 * 4294967295 + 1 and 2^66 * 4611686018427387897 + 1. */
	fed_elem p64 = ((fed_elem)1 << 32) * 4294967295u + 1;
	fed_elem p128 = ((fed_elem)1 << 66) * 4611686018427387897u + 1;

	ck_assert(fed_field_modulus(f64) == p64);
	ck_assert(fed_field_modulus(f128) == p128);
	ck_assert_uint_eq(fed_field_encoded_size(f64), 8);
	ck_assert_uint_eq(fed_field_encoded_size(f128), 16);
	ck_assert_uint_eq(fed_field_gen_order_log2(f64), 32);
	ck_assert_uint_eq(fed_field_gen_order_log2(f128), 66);
	ck_assert(fed_field_id(f64) == FED_FIELD64 && fed_field_id(f128) == FED_FIELD128);
	ck_assert_ptr_null(fed_field_get((enum fed_field_id)7));
}
END_TEST

/* gen() = 7^4294967295 (Field64) and 7^4611686018427387897 (Field128),
 * values computed outside this code with Python's pow(); roots of order
 * n are gen()^(GEN_ORDER / n). */
START_TEST(field_roots)
{
	const struct fed_field *f64 = fed_field_get(FED_FIELD64), *f128 = fed_field_get(FED_FIELD128);
	fed_elem g64 = 0x185629dcda58878cULL;
	fed_elem g128 = ((fed_elem)0x6d278fbf4f60228bULL << 64) | 0x1f9b2759c5109f06ULL;

	ck_assert(fed_field_root(f64, (uint64_t)1 << 32) == g64);
	ck_assert(fed_field_pow(f128, 7, 4611686018427387897u) == g128);
	/* Field128's GEN_ORDER 2^66 exceeds a uint64_t n: check 2^63 = gen^8. */
	ck_assert(fed_field_root(f128, (uint64_t)1 << 63) == fed_field_pow(f128, g128, 8));
	for (size_t k = 0; k < 2; k++) {
		const struct fed_field *f = fed_field_get(field_ids[k]);
		fed_elem p = fed_field_modulus(f);
		unsigned maxlog = fed_field_gen_order_log2(f) < 63 ? fed_field_gen_order_log2(f) : 63;

		ck_assert(fed_field_root(f, 1) == 1);
		for (unsigned l = 1; l <= maxlog; l++) {
			fed_elem r = fed_field_root(f, (uint64_t)1 << l);
			ck_assert_msg(fed_field_pow(f, r, (fed_elem)1 << l) == 1, "order 2^%u", l);
			ck_assert_msg(fed_field_pow(f, r, (fed_elem)1 << (l - 1)) == p - 1, "primitive 2^%u", l);
		}
		ck_assert(fed_field_root(f, 0) == 0);
		ck_assert(fed_field_root(f, 3) == 0);
		ck_assert(fed_field_root(f, 12) == 0);
	}
	ck_assert(fed_field_root(f64, (uint64_t)1 << 33) == 0);
}
END_TEST

START_TEST(field_matches_reference)
{
	const struct fed_field *f = fed_field_get(field_ids[_i]);
	fed_elem p = fed_field_modulus(f);
	uint64_t st = 42 + (uint64_t)_i;

	for (int i = 0; i < 3000; i++) {
		fed_elem a = sample(f, &st, i % 400), b = sample(f, &st, (i * 7 + 3) % 400);

		ck_assert_msg(fed_field_mul(f, a, b) == ref_mul(p, a, b), "mul %s", u128_str(a));
		ck_assert_msg(fed_field_add(f, a, b) == ref_add(p, a, b), "add %s", u128_str(a));
		ck_assert_msg(fed_field_sub(f, a, b) == ref_sub(p, a, b), "sub %s", u128_str(a));
		ck_assert(fed_field_neg(f, a) == ref_sub(p, 0, a));
	}
	/* Every pair of edge values. */
	for (int i = 0; i < 14; i++)
		for (int j = 0; j < 14; j++) {
			fed_elem a = sample(f, &st, i), b = sample(f, &st, j);
			ck_assert_msg(fed_field_mul(f, a, b) == ref_mul(p, a, b), "mul edge %d %d", i, j);
			ck_assert(fed_field_add(f, a, b) == ref_add(p, a, b));
			ck_assert(fed_field_sub(f, a, b) == ref_sub(p, a, b));
		}
	ck_assert(fed_field_mul(f, p - 1, p - 1) == 1);
	ck_assert(fed_field_add(f, p - 1, 1) == 0);
	ck_assert(fed_field_sub(f, 0, 1) == p - 1);
	ck_assert(fed_field_neg(f, 0) == 0);
}
END_TEST

START_TEST(field_laws)
{
	const struct fed_field *f = fed_field_get(field_ids[_i]);
	fed_elem p = fed_field_modulus(f);
	uint64_t st = 7 + (uint64_t)_i;

	for (int i = 0; i < 300; i++) {
		fed_elem a = sample(f, &st, i), b = sample(f, &st, i + 5), c = sample(f, &st, i + 9);

		ck_assert(fed_field_mul(f, a, b) == fed_field_mul(f, b, a));
		ck_assert(fed_field_mul(f, fed_field_mul(f, a, b), c) == fed_field_mul(f, a, fed_field_mul(f, b, c)));
		ck_assert(fed_field_mul(f, a, fed_field_add(f, b, c)) ==
			  fed_field_add(f, fed_field_mul(f, a, b), fed_field_mul(f, a, c)));
		ck_assert(fed_field_add(f, a, fed_field_neg(f, a)) == 0);
		ck_assert(fed_field_sub(f, fed_field_add(f, a, b), b) == a);
		if (a != 0) {
			ck_assert(fed_field_mul(f, a, fed_field_inv(f, a)) == 1);
			if (i < 40)
				ck_assert(fed_field_pow(f, a, p - 1) == 1);
		}
		ck_assert(fed_field_pow(f, a, 3) == fed_field_mul(f, a, fed_field_mul(f, a, a)));
	}
	ck_assert(fed_field_pow(f, 5, 0) == 1);
	ck_assert(fed_field_inv(f, 1) == 1);
	ck_assert(fed_field_inv(f, p - 1) == p - 1);
	ck_assert(fed_field_from_u64(f, 12345) == 12345);
	ck_assert(fed_field_from_u64(f, UINT64_MAX) == (fed_elem)UINT64_MAX % p);
}
END_TEST

START_TEST(field_encoding)
{
	const struct fed_field *f = fed_field_get(field_ids[_i]);
	fed_elem p = fed_field_modulus(f);
	size_t sz = fed_field_encoded_size(f);
	fed_elem v[4] = {0, 1, p - 1, 0x0102030405060708ULL}, back[4];
	uint8_t enc[64], bad[64];

	fed_field_encode_vec(f, v, 4, enc);
	/* Little-endian: the last element's low byte comes first. */
	ck_assert_uint_eq(enc[3 * sz], 0x08);
	ck_assert_uint_eq(enc[3 * sz + 7], 0x01);
	ck_assert_uint_eq(enc[sz], 0x01);
	ck_assert_int_eq(fed_field_decode_vec(f, enc, 4 * sz, back, 4), LV_OK);
	ck_assert_mem_eq(back, v, sizeof v);
	/* Wrong lengths. */
	ck_assert_int_eq(fed_field_decode_vec(f, enc, 4 * sz - 1, back, 4), LV_ERR_INVALID);
	ck_assert_int_eq(fed_field_decode_vec(f, enc, 3 * sz, back, 4), LV_ERR_INVALID);
	ck_assert_int_eq(fed_field_decode_vec(f, enc, 0, back, 0), LV_OK);
	/* p itself, and all ones, are refused; the output is cleared.  The
	 * low byte of p - 1 is 00 in both fields, so setting it to 01 makes p. */
	memcpy(bad, enc, sizeof enc);
	ck_assert_uint_eq(enc[2 * sz], 0x00);
	memcpy(bad + sz, enc + 2 * sz, sz);
	bad[sz] = 0x01;
	ck_assert_int_eq(fed_field_decode_vec(f, bad + sz, sz, back, 1), LV_ERR_INVALID);
	bad[sz] = 0x00;
	ck_assert_int_eq(fed_field_decode_vec(f, bad + sz, sz, back, 1), LV_OK);
	ck_assert(back[0] == p - 1);
	bad[sz] = 0x01;
	ck_assert_int_eq(fed_field_decode_vec(f, bad, 4 * sz, back, 4), LV_ERR_INVALID);
	for (int i = 0; i < 4; i++)
		ck_assert(back[i] == 0);
	memset(bad, 0xff, sizeof bad);
	ck_assert_int_eq(fed_field_decode_vec(f, bad, sz, back, 1), LV_ERR_INVALID);
}
END_TEST

Suite *lv_test_suite(void)
{
	Suite *s = suite_create("fedxof");
	TCase *tc;

	tc = tcase_create("keccak");
	tcase_add_test(tc, keccak_matches_fips202_steps);
	suite_add_tcase(s, tc);

	tc = tcase_create("turboshake");
	tcase_add_test(tc, turboshake_rfc9861_vectors);
	tcase_add_test(tc, turboshake_streaming);
	suite_add_tcase(s, tc);

	tc = tcase_create("xof");
	tcase_add_test(tc, xof_vdaf08_derive_seed);
	tcase_add_test(tc, xof_vdaf08_expand_into_vec);
	tcase_add_test(tc, xof_vdaf08_next);
	tcase_add_test(tc, vdaf_dst_format);
	suite_add_tcase(s, tc);

	tc = tcase_create("field");
	tcase_add_test(tc, field_constants);
	tcase_add_test(tc, field_roots);
	tcase_add_loop_test(tc, field_matches_reference, 0, 2);
	tcase_add_loop_test(tc, field_laws, 0, 2);
	tcase_add_loop_test(tc, field_encoding, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}
