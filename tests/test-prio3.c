/* prio3: the FLP and Prio3 of VDAF-08 against the official vectors
 * (tests/vectors/vdaf-08, both the 2-share _0 and the 3-share _1 files),
 * replayed end to end: shard, prep_init, prep_shares_to_prep, prep_next,
 * aggregate, unshard, every intermediate byte compared.  Then the
 * refusals: measurements out of range, tampered shares, bad parameters,
 * and the circuits deciding against invalid encodings. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "federation/flp.h"
#include "federation/prio3.h"
#include "federation/versions.h"
#include "harness.h"
#include "learnvault/util.h"

#define MAX_SHARES 3
#define BUF_CAP (1u << 20)

/* ---- helpers ---- */

static cJSON *load_vector(const char *name)
{
	char rel[256];
	snprintf(rel, sizeof rel, "tests/vectors/vdaf-08/%s.json", name);
	FILE *f = fopen(th_src(rel), "rb");
	ck_assert_msg(f != NULL, "cannot open %s", th_src(rel));
	struct buf b;
	buf_init(&b, 1u << 24);
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		ck_assert_int_eq(buf_append(&b, chunk, n), LV_OK);
	fclose(f);
	cJSON *j = cJSON_Parse(b.data);
	buf_free(&b);
	ck_assert_msg(j != NULL, "%s does not parse", name);
	return j;
}

/* Hex string of @j's @key into @out (malloc'd); returns its length. */
static size_t hex_field(const cJSON *j, const char *key, uint8_t **out)
{
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(j, key);
	ck_assert_msg(cJSON_IsString(s), "missing %s", key);
	size_t len = strlen(s->valuestring) / 2, got = 0;
	*out = malloc(len + 1);
	ck_assert_int_eq(sodium_hex2bin(*out, len + 1, s->valuestring, strlen(s->valuestring), NULL, &got, NULL), 0);
	ck_assert_uint_eq(got, len);
	return len;
}

static void assert_hex(const struct buf *b, const char *want, const char *what)
{
	char *hex = malloc(2 * b->len + 1);
	sodium_bin2hex(hex, 2 * b->len + 1, (const unsigned char *)(b->data ? b->data : ""), b->len);
	/* Check caps its messages: show the first difference, not all. */
	size_t d = 0;
	while (hex[d] && hex[d] == want[d])
		d++;
	ck_assert_msg(hex[d] == '\0' && want[d] == '\0', "%s differs at hex digit %zu (of %zu, want %zu): got %.40s, want %.40s",
	              what, d, strlen(hex), strlen(want), hex + d, want + d);
	free(hex);
}

static uint32_t json_u32(const cJSON *j, const char *key)
{
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(j, key);
	return cJSON_IsNumber(n) ? (uint32_t)n->valuedouble : 0;
}

static void bufs_init(struct buf *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf_init(&b[i], BUF_CAP);
}

static void bufs_free(struct buf *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf_free(&b[i]);
}

/* ---- the official vectors ---- */

static const struct {
	const char *name;
	enum fed_prio3_kind kind;
	uint32_t id;
} vectors[] = {
	{ "Prio3Count_0", FED_PRIO3_COUNT, FED_PRIO3_COUNT_ID },
	{ "Prio3Count_1", FED_PRIO3_COUNT, FED_PRIO3_COUNT_ID },
	{ "Prio3Sum_0", FED_PRIO3_SUM, FED_PRIO3_SUM_ID },
	{ "Prio3Sum_1", FED_PRIO3_SUM, FED_PRIO3_SUM_ID },
	{ "Prio3SumVec_0", FED_PRIO3_SUMVEC, FED_PRIO3_SUMVEC_ID },
	{ "Prio3SumVec_1", FED_PRIO3_SUMVEC, FED_PRIO3_SUMVEC_ID },
	{ "Prio3Histogram_0", FED_PRIO3_HISTOGRAM, FED_PRIO3_HISTOGRAM_ID },
	{ "Prio3Histogram_1", FED_PRIO3_HISTOGRAM, FED_PRIO3_HISTOGRAM_ID },
};
#define NUM_VECTORS (sizeof vectors / sizeof vectors[0])

/* The measurement of one prep entry: a number or an array of numbers. */
static size_t vector_measurement(const cJSON *prep, uint64_t *meas, size_t cap)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(prep, "measurement");
	if (cJSON_IsNumber(m)) {
		meas[0] = (uint64_t)m->valuedouble;
		return 1;
	}
	size_t n = 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, m)
	{
		ck_assert_uint_lt(n, cap);
		meas[n++] = (uint64_t)e->valuedouble;
	}
	return n;
}

/* The concatenation of a JSON array of hex strings. */
static char *hex_concat(const cJSON *arr)
{
	struct buf b;
	buf_init(&b, BUF_CAP);
	const cJSON *e;
	cJSON_ArrayForEach(e, arr) ck_assert_int_eq(buf_append_str(&b, e->valuestring), LV_OK);
	return buf_steal(&b);
}

/* One report of a vector, from shard to output shares; the output shares
 * are appended to out_shares[agg][*n_out]. */
static void replay_report(const struct fed_prio3 *v, const cJSON *prep, const uint8_t *verify_key, uint8_t shares,
                          struct buf out_shares[][8], size_t n_out)
{
	uint64_t meas[64];
	size_t meas_len = vector_measurement(prep, meas, 64);
	uint8_t *nonce, *rand;
	ck_assert_uint_eq(hex_field(prep, "nonce", &nonce), 16);
	size_t rand_len = hex_field(prep, "rand", &rand);
	ck_assert_uint_eq(rand_len, fed_prio3_rand_size(v));

	struct buf pub, in[MAX_SHARES], ps[MAX_SHARES], msg, out;
	buf_init(&pub, BUF_CAP);
	buf_init(&msg, BUF_CAP);
	buf_init(&out, BUF_CAP);
	bufs_init(in, MAX_SHARES);
	bufs_init(ps, MAX_SHARES);
	ck_assert_int_eq(fed_prio3_shard(v, meas, meas_len, nonce, rand, rand_len, &pub, in), LV_OK);
	assert_hex(&pub, cJSON_GetObjectItemCaseSensitive(prep, "public_share")->valuestring, "public share");
	const cJSON *want_in = cJSON_GetObjectItemCaseSensitive(prep, "input_shares");
	const cJSON *want_ps = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(prep, "prep_shares"), 0);
	const cJSON *want_out = cJSON_GetObjectItemCaseSensitive(prep, "out_shares");
	ck_assert_int_eq(cJSON_GetArraySize(want_in), shares);

	struct fed_prio3_prep_state st[MAX_SHARES];
	for (uint8_t i = 0; i < shares; i++) {
		assert_hex(&in[i], cJSON_GetArrayItem(want_in, i)->valuestring, "input share");
		ck_assert_uint_eq(in[i].len, fed_prio3_input_share_len(v, i));
		ck_assert_int_eq(fed_prio3_prep_init(v, verify_key, i, nonce, (const uint8_t *)pub.data, pub.len,
		                                     (const uint8_t *)in[i].data, in[i].len, &st[i], &ps[i]),
		                 LV_OK);
		assert_hex(&ps[i], cJSON_GetArrayItem(want_ps, i)->valuestring, "prep share");
	}
	ck_assert_int_eq(fed_prio3_prep_shares_to_prep(v, ps, &msg), LV_OK);
	assert_hex(&msg, cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(prep, "prep_messages"), 0)->valuestring,
	           "prep message");
	for (uint8_t i = 0; i < shares; i++) {
		ck_assert_int_eq(fed_prio3_prep_next(v, &st[i], (const uint8_t *)msg.data, msg.len, &out), LV_OK);
		char *want = hex_concat(cJSON_GetArrayItem(want_out, i));
		assert_hex(&out, want, "out share");
		free(want);
		ck_assert_int_eq(buf_append(&out_shares[i][n_out], out.data, out.len), LV_OK);
		fed_prio3_prep_state_clear(&st[i]);
	}
	free(nonce);
	free(rand);
	buf_free(&pub);
	buf_free(&msg);
	buf_free(&out);
	bufs_free(in, MAX_SHARES);
	bufs_free(ps, MAX_SHARES);
}

static void check_agg_result(const struct fed_prio3 *v, const cJSON *want, const fed_elem *got)
{
	if (cJSON_IsNumber(want)) {
		ck_assert_uint_eq(fed_prio3_output_len(v), 1);
		ck_assert_uint_eq((uint64_t)got[0], (uint64_t)want->valuedouble);
		ck_assert(got[0] >> 64 == 0);
		return;
	}
	ck_assert_uint_eq(fed_prio3_output_len(v), (size_t)cJSON_GetArraySize(want));
	for (int i = 0; i < cJSON_GetArraySize(want); i++) {
		ck_assert_uint_eq((uint64_t)got[i], (uint64_t)cJSON_GetArrayItem(want, i)->valuedouble);
		ck_assert(got[i] >> 64 == 0);
	}
}

START_TEST(official_vectors)
{
	cJSON *j = load_vector(vectors[_i].name);
	struct fed_prio3_params p = { .kind = vectors[_i].kind, .bits = json_u32(j, "bits"),
		                      .length = json_u32(j, "length"), .chunk_length = json_u32(j, "chunk_length"),
		                      .num_shares = (uint8_t)json_u32(j, "shares") };
	ck_assert(p.num_shares >= 2 && p.num_shares <= MAX_SHARES);
	struct fed_prio3 *v;
	ck_assert_int_eq(fed_prio3_create(&p, &v), LV_OK);
	ck_assert_uint_eq(fed_prio3_algorithm_id(v), vectors[_i].id);
	uint8_t *verify_key;
	ck_assert_uint_eq(hex_field(j, "verify_key", &verify_key), FED_PRIO3_VERIFY_KEY_SIZE);

	const cJSON *preps = cJSON_GetObjectItemCaseSensitive(j, "prep");
	size_t reports = (size_t)cJSON_GetArraySize(preps);
	ck_assert(reports >= 1 && reports <= 8);
	struct buf out_shares[MAX_SHARES][8];
	for (size_t i = 0; i < MAX_SHARES; i++)
		bufs_init(out_shares[i], 8);
	for (size_t r = 0; r < reports; r++)
		replay_report(v, cJSON_GetArrayItem(preps, (int)r), verify_key, p.num_shares, out_shares, r);

	const cJSON *want_agg = cJSON_GetObjectItemCaseSensitive(j, "agg_shares");
	struct buf agg[MAX_SHARES];
	bufs_init(agg, MAX_SHARES);
	for (uint8_t i = 0; i < p.num_shares; i++) {
		ck_assert_int_eq(fed_prio3_aggregate(v, out_shares[i], reports, &agg[i]), LV_OK);
		assert_hex(&agg[i], cJSON_GetArrayItem(want_agg, i)->valuestring, "aggregate share");
	}
	fed_elem result[64];
	ck_assert_uint_le(fed_prio3_output_len(v), 64);
	ck_assert_int_eq(fed_prio3_unshard(v, agg, reports, result), LV_OK);
	check_agg_result(v, cJSON_GetObjectItemCaseSensitive(j, "agg_result"), result);

	for (size_t i = 0; i < MAX_SHARES; i++)
		bufs_free(out_shares[i], 8);
	bufs_free(agg, MAX_SHARES);
	free(verify_key);
	fed_prio3_destroy(v);
	cJSON_Delete(j);
}
END_TEST

/* ---- refusals ---- */

static struct fed_prio3 *make(enum fed_prio3_kind kind, uint32_t bits, uint32_t length, uint32_t chunk,
                              uint8_t shares)
{
	struct fed_prio3_params p = { kind, bits, length, chunk, shares };
	struct fed_prio3 *v = NULL;
	ck_assert_int_eq(fed_prio3_create(&p, &v), LV_OK);
	return v;
}

static const uint8_t nonce16[16] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };
static const uint8_t key16[16] = { 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };

/* Aggregates one report across all aggregators: the status of the first
 * step that fails (LV_OK when every step passed), the output shares'
 * sum in *@total when it passed. */
static enum lv_status prep_all(const struct fed_prio3 *v, const struct buf *pub, const struct buf *in,
                               fed_elem *total)
{
	uint8_t shares = fed_prio3_num_shares(v);
	struct buf ps[MAX_SHARES], msg, out[MAX_SHARES];
	struct fed_prio3_prep_state st[MAX_SHARES];
	memset(st, 0, sizeof st);
	bufs_init(ps, MAX_SHARES);
	bufs_init(out, MAX_SHARES);
	buf_init(&msg, BUF_CAP);
	enum lv_status rc = LV_OK;
	for (uint8_t i = 0; rc == LV_OK && i < shares; i++)
		rc = fed_prio3_prep_init(v, key16, i, nonce16, (const uint8_t *)pub->data, pub->len,
		                         (const uint8_t *)in[i].data, in[i].len, &st[i], &ps[i]);
	if (rc == LV_OK)
		rc = fed_prio3_prep_shares_to_prep(v, ps, &msg);
	for (uint8_t i = 0; rc == LV_OK && i < shares; i++)
		rc = fed_prio3_prep_next(v, &st[i], (const uint8_t *)msg.data, msg.len, &out[i]);
	if (rc == LV_OK)
		rc = fed_prio3_unshard(v, out, 1, total);
	for (uint8_t i = 0; i < shares; i++)
		fed_prio3_prep_state_clear(&st[i]);
	bufs_free(ps, MAX_SHARES);
	bufs_free(out, MAX_SHARES);
	buf_free(&msg);
	return rc;
}

static void shard_fixed(const struct fed_prio3 *v, const uint64_t *meas, size_t n, struct buf *pub,
                        struct buf *in)
{
	uint8_t rand[4096];
	ck_assert_uint_le(fed_prio3_rand_size(v), sizeof rand);
	for (size_t i = 0; i < fed_prio3_rand_size(v); i++)
		rand[i] = (uint8_t)(i * 7 + 3);
	ck_assert_int_eq(fed_prio3_shard(v, meas, n, nonce16, rand, fed_prio3_rand_size(v), pub, in), LV_OK);
}

/* Shards @meas, expects LV_ERR_INVALID and every output empty (the
 * buffers start non-empty, so clearing is checked). */
static void expect_refused(const struct fed_prio3 *v, const uint64_t *meas, size_t n)
{
	struct buf pub, in[MAX_SHARES];
	buf_init(&pub, BUF_CAP);
	bufs_init(in, MAX_SHARES);
	ck_assert_int_eq(buf_append_str(&pub, "stale"), LV_OK);
	ck_assert_int_eq(buf_append_str(&in[0], "stale"), LV_OK);
	ck_assert_int_eq(fed_prio3_shard_random(v, meas, n, nonce16, &pub, in), LV_ERR_INVALID);
	ck_assert_uint_eq(pub.len, 0);
	for (size_t i = 0; i < fed_prio3_num_shares(v); i++)
		ck_assert_uint_eq(in[i].len, 0);
	buf_free(&pub);
	bufs_free(in, MAX_SHARES);
}

START_TEST(out_of_range_refused)
{
	struct fed_prio3 *v = make(FED_PRIO3_COUNT, 0, 0, 0, 2);
	expect_refused(v, (uint64_t[]){ 2 }, 1);
	expect_refused(v, (uint64_t[]){ 1, 1 }, 2);
	fed_prio3_destroy(v);
	v = make(FED_PRIO3_SUM, 8, 0, 0, 2);
	expect_refused(v, (uint64_t[]){ 256 }, 1);
	expect_refused(v, (uint64_t[]){ UINT64_MAX }, 1);
	expect_refused(v, NULL, 0);
	fed_prio3_destroy(v);
	v = make(FED_PRIO3_SUMVEC, 4, 3, 2, 2);
	expect_refused(v, (uint64_t[]){ 1, 16, 2 }, 3);
	expect_refused(v, (uint64_t[]){ 1, 2 }, 2);
	fed_prio3_destroy(v);
	v = make(FED_PRIO3_HISTOGRAM, 0, 4, 2, 2);
	expect_refused(v, (uint64_t[]){ 4 }, 1);
	fed_prio3_destroy(v);

	/* Wrong randomness length. */
	v = make(FED_PRIO3_SUM, 8, 0, 0, 2);
	uint8_t rand[256] = { 0 };
	struct buf pub, in[2];
	buf_init(&pub, BUF_CAP);
	bufs_init(in, 2);
	ck_assert_int_eq(fed_prio3_shard(v, (uint64_t[]){ 1 }, 1, nonce16, rand, fed_prio3_rand_size(v) - 1, &pub, in),
	                 LV_ERR_INVALID);
	/* A cap too small for the leader's share. */
	in[0].max = 16;
	ck_assert_int_eq(fed_prio3_shard(v, (uint64_t[]){ 1 }, 1, nonce16, rand, fed_prio3_rand_size(v), &pub, in),
	                 LV_ERR_TOO_LARGE);
	ck_assert_uint_eq(pub.len + in[0].len + in[1].len, 0);
	buf_free(&pub);
	bufs_free(in, 2);
	fed_prio3_destroy(v);
}
END_TEST

/* Every kind, 2 and 3 shares: honest reports pass and sum right; each
 * tampering of the proof share (leader: one flipped bit in its proof;
 * helper: one flipped bit in its proof seed) makes prep reject. */
static const struct {
	enum fed_prio3_kind kind;
	uint32_t bits, length, chunk;
	uint64_t meas[3];
	size_t n;
	fed_elem sum0; /* first output element */
} cases[] = {
	{ FED_PRIO3_COUNT, 0, 0, 0, { 1 }, 1, 1 },
	{ FED_PRIO3_SUM, 8, 0, 0, { 200 }, 1, 200 },
	{ FED_PRIO3_SUM, 64, 0, 0, { UINT64_MAX }, 1, UINT64_MAX },
	{ FED_PRIO3_SUMVEC, 5, 3, 4, { 31, 0, 7 }, 3, 31 },
	{ FED_PRIO3_HISTOGRAM, 0, 5, 2, { 0 }, 1, 1 },
};
#define NUM_CASES (sizeof cases / sizeof cases[0])

START_TEST(tampered_shares_rejected)
{
	for (uint8_t shares = 2; shares <= 3; shares++) {
		const __typeof__(cases[0]) *c = &cases[_i];
		struct fed_prio3 *v = make(c->kind, c->bits, c->length, c->chunk, shares);
		struct buf pub, in[MAX_SHARES];
		buf_init(&pub, BUF_CAP);
		bufs_init(in, MAX_SHARES);
		shard_fixed(v, c->meas, c->n, &pub, in);
		fed_elem total[8];
		ck_assert_int_eq(prep_all(v, &pub, in, total), LV_OK);
		ck_assert(total[0] == c->sum0);

		/* The leader's proof starts after its measurement share; flip the
		 * low bit of a proof element (little-endian: its first byte). */
		size_t proof_at = fed_prio3_input_share_len(v, 0) - (pub.len ? 16 : 0);
		size_t es = c->kind == FED_PRIO3_COUNT ? 8 : 16;
		for (size_t at = proof_at - es; at >= proof_at - 4 * es && at > 0; at -= es) {
			/* walk back from the last proof element over a few of them */
			in[0].data[at] ^= 1;
			ck_assert_int_eq(prep_all(v, &pub, in, total), LV_ERR_CRYPTO);
			in[0].data[at] ^= 1;
		}
		/* A helper's proof-share seed. */
		in[1].data[16] ^= 0x80;
		ck_assert_int_eq(prep_all(v, &pub, in, total), LV_ERR_CRYPTO);
		in[1].data[16] ^= 0x80;
		/* A helper's measurement-share seed: the measurement it now
		 * holds is garbage, which the proof does not cover. */
		in[1].data[0] ^= 0x01;
		ck_assert_int_eq(prep_all(v, &pub, in, total), LV_ERR_CRYPTO);
		in[1].data[0] ^= 0x01;
		if (pub.len) {
			/* A joint randomness part in the public share. */
			pub.data[20] ^= 0x01;
			ck_assert_int_eq(prep_all(v, &pub, in, total), LV_ERR_CRYPTO);
			pub.data[20] ^= 0x01;
		}
		ck_assert_int_eq(prep_all(v, &pub, in, total), LV_OK);
		buf_free(&pub);
		bufs_free(in, MAX_SHARES);
		fed_prio3_destroy(v);
	}
}
END_TEST

START_TEST(malformed_shares_refused)
{
	struct fed_prio3 *v = make(FED_PRIO3_SUM, 8, 0, 0, 2);
	struct buf pub, in[2], ps;
	buf_init(&pub, BUF_CAP);
	buf_init(&ps, BUF_CAP);
	bufs_init(in, 2);
	shard_fixed(v, (uint64_t[]){ 5 }, 1, &pub, in);
	struct fed_prio3_prep_state st;
	const uint8_t *p = (const uint8_t *)pub.data, *l = (const uint8_t *)in[0].data;
	ck_assert_int_eq(fed_prio3_prep_init(v, key16, 0, nonce16, p, pub.len, l, in[0].len - 1, &st, &ps),
	                 LV_ERR_INVALID);
	ck_assert_int_eq(fed_prio3_prep_init(v, key16, 0, nonce16, p, pub.len - 1, l, in[0].len, &st, &ps),
	                 LV_ERR_INVALID);
	ck_assert_int_eq(fed_prio3_prep_init(v, key16, 2, nonce16, p, pub.len, l, in[0].len, &st, &ps),
	                 LV_ERR_INVALID);
	ck_assert(st.out_share == NULL);
	ck_assert_uint_eq(ps.len, 0);
	/* A leader's element >= p: all-ones is 2^128 - 1. */
	memset(in[0].data, 0xff, 16);
	ck_assert_int_eq(fed_prio3_prep_init(v, key16, 0, nonce16, p, pub.len, l, in[0].len, &st, &ps),
	                 LV_ERR_INVALID);
	/* The wrong number of bytes in a prep share. */
	struct buf two[2];
	bufs_init(two, 2);
	ck_assert_int_eq(buf_append_str(&two[0], "short"), LV_OK);
	ck_assert_int_eq(buf_append_str(&two[1], "short"), LV_OK);
	ck_assert_int_eq(fed_prio3_prep_shares_to_prep(v, two, &ps), LV_ERR_INVALID);
	bufs_free(two, 2);
	buf_free(&pub);
	buf_free(&ps);
	bufs_free(in, 2);
	fed_prio3_destroy(v);
}
END_TEST

START_TEST(params_validated)
{
	static const struct fed_prio3_params bad[] = {
		{ FED_PRIO3_COUNT, 0, 0, 0, 1 },    { FED_PRIO3_COUNT, 0, 0, 0, 0 },
		{ FED_PRIO3_SUM, 0, 0, 0, 2 },      { FED_PRIO3_SUM, 65, 0, 0, 2 },
		{ FED_PRIO3_SUMVEC, 0, 3, 1, 2 },   { FED_PRIO3_SUMVEC, 8, 0, 1, 2 },
		{ FED_PRIO3_SUMVEC, 8, 3, 0, 2 },   { FED_PRIO3_SUMVEC, 64, 1u << 20, 1, 2 },
		{ FED_PRIO3_HISTOGRAM, 0, 0, 1, 2 }, { FED_PRIO3_HISTOGRAM, 0, 4, 0, 2 },
		{ FED_PRIO3_HISTOGRAM, 0, (1u << 20) + 1, 1, 2 },
		{ FED_PRIO3_HISTOGRAM, 0, 1u << 20, 1, 2 }, /* within the length cap, over the scratch cap */
		{ (enum fed_prio3_kind)4, 8, 4, 1, 2 },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct fed_prio3 *v = (struct fed_prio3 *)&v;
		ck_assert_msg(fed_prio3_create(&bad[i], &v) == LV_ERR_INVALID, "bad[%zu] accepted", i);
		ck_assert(v == NULL);
	}
	/* The sizes the vectors imply: Sum(8) with 2 shares takes 5 seeds
	 * (helper meas, proof, blind; leader blind; prove), Count 3. */
	struct fed_prio3 *v = make(FED_PRIO3_SUM, 8, 0, 0, 2);
	ck_assert_uint_eq(fed_prio3_rand_size(v), 80);
	ck_assert_uint_eq(fed_prio3_measurement_len(v), 1);
	ck_assert_uint_eq(fed_prio3_public_share_len(v), 32);
	ck_assert_uint_eq(fed_prio3_algorithm_id(v), FED_PRIO3_SUM_ID);
	fed_prio3_destroy(v);
	v = make(FED_PRIO3_COUNT, 0, 0, 0, 3);
	ck_assert_uint_eq(fed_prio3_rand_size(v), 80);
	ck_assert_uint_eq(fed_prio3_public_share_len(v), 0);
	fed_prio3_destroy(v);
	v = make(FED_PRIO3_SUMVEC, 8, 10, 9, 2);
	ck_assert_uint_eq(fed_prio3_measurement_len(v), 10);
	ck_assert_uint_eq(fed_prio3_output_len(v), 10);
	fed_prio3_destroy(v);
	fed_prio3_destroy(NULL);
}
END_TEST

/* Fresh randomness: two shards of one measurement differ, both verify,
 * and the aggregate of many is their sum. */
START_TEST(random_shards)
{
	struct fed_prio3 *v = make(FED_PRIO3_HISTOGRAM, 0, 7, 3, 2);
	struct buf pub[2], in[2][2];
	fed_elem hist[7] = { 0 };
	for (int k = 0; k < 2; k++) {
		buf_init(&pub[k], BUF_CAP);
		bufs_init(in[k], 2);
		ck_assert_int_eq(fed_prio3_shard_random(v, (uint64_t[]){ 3 }, 1, nonce16, &pub[k], in[k]), LV_OK);
		fed_elem one[7];
		ck_assert_int_eq(prep_all(v, &pub[k], in[k], one), LV_OK);
		for (int b = 0; b < 7; b++)
			hist[b] += one[b];
	}
	ck_assert(pub[0].len == pub[1].len && memcmp(pub[0].data, pub[1].data, pub[0].len) != 0);
	ck_assert(memcmp(in[0][0].data, in[1][0].data, in[0][0].len) != 0);
	for (int b = 0; b < 7; b++)
		ck_assert(hist[b] == (b == 3 ? 2 : 0));
	for (int k = 0; k < 2; k++) {
		buf_free(&pub[k]);
		bufs_free(in[k], 2);
	}
	fed_prio3_destroy(v);
}
END_TEST

/* ---- the FLP alone (one share): valid encodings accepted, invalid ones
 * (which the client API would never produce) rejected ---- */

static bool flp_accepts(const struct fed_valid *c, const fed_elem *meas)
{
	const struct fed_field *f = c->field;
	fed_elem *prove_rand = calloc(c->prove_rand_len, sizeof(fed_elem));
	fed_elem *proof = calloc(c->proof_len, sizeof(fed_elem));
	fed_elem *verifier = calloc(c->verifier_len, sizeof(fed_elem));
	fed_elem *work = calloc(c->work_len, sizeof(fed_elem));
	fed_elem joint_rand[2] = { fed_field_from_u64(f, 0x1234567), fed_field_from_u64(f, 0x7654321) };
	fed_elem query_rand[1] = { fed_field_from_u64(f, 0xabcdef) };
	for (size_t i = 0; i < c->prove_rand_len; i++)
		prove_rand[i] = fed_field_from_u64(f, 1000 + i * 77);
	fed_flp_prove(c, meas, prove_rand, joint_rand, proof, work);
	ck_assert_int_eq(fed_flp_query(c, meas, proof, query_rand, joint_rand, 1, verifier, work), LV_OK);
	bool ok = fed_flp_decide(c, verifier);
	free(prove_rand);
	free(proof);
	free(verifier);
	free(work);
	return ok;
}

START_TEST(circuits_decide)
{
	struct fed_valid c;
	fed_elem m[16];
	ck_assert_int_eq(fed_valid_init(&c, FED_CIRCUIT_COUNT, 0, 0, 0), LV_OK);
	m[0] = 1;
	ck_assert(flp_accepts(&c, m));
	m[0] = 2;
	ck_assert(!flp_accepts(&c, m));
	fed_valid_free(&c);

	ck_assert_int_eq(fed_valid_init(&c, FED_CIRCUIT_SUM, 4, 0, 0), LV_OK);
	ck_assert_int_eq(fed_valid_encode(&c, (uint64_t[]){ 9 }, 1, m), LV_OK);
	ck_assert(flp_accepts(&c, m));
	m[1] = 2; /* "bit" 1 is 2 */
	ck_assert(!flp_accepts(&c, m));
	fed_valid_free(&c);

	ck_assert_int_eq(fed_valid_init(&c, FED_CIRCUIT_HISTOGRAM, 0, 5, 2), LV_OK);
	ck_assert_int_eq(fed_valid_encode(&c, (uint64_t[]){ 4 }, 1, m), LV_OK);
	ck_assert(flp_accepts(&c, m));
	m[0] = 1; /* two buckets */
	ck_assert(!flp_accepts(&c, m));
	memset(m, 0, sizeof m); /* none */
	ck_assert(!flp_accepts(&c, m));
	fed_valid_free(&c);

	ck_assert_int_eq(fed_valid_init(&c, FED_CIRCUIT_SUMVEC, 3, 2, 4), LV_OK);
	ck_assert_int_eq(fed_valid_encode(&c, (uint64_t[]){ 7, 5 }, 2, m), LV_OK);
	ck_assert(flp_accepts(&c, m));
	fed_elem out[2];
	fed_valid_truncate(&c, m, out);
	ck_assert(out[0] == 7 && out[1] == 5);
	m[5] = fed_field_sub(c.field, 0, 1); /* -1 as a bit */
	ck_assert(!flp_accepts(&c, m));
	fed_valid_free(&c);
}
END_TEST

Suite *lv_test_suite(void)
{
	Suite *s = suite_create("prio3");
	TCase *tc = tcase_create("vectors");
	tcase_add_loop_test(tc, official_vectors, 0, NUM_VECTORS);
	suite_add_tcase(s, tc);
	tc = tcase_create("refusals");
	tcase_add_test(tc, out_of_range_refused);
	tcase_add_loop_test(tc, tampered_shares_rejected, 0, NUM_CASES);
	tcase_add_test(tc, malformed_shares_refused);
	tcase_add_test(tc, params_validated);
	suite_add_tcase(s, tc);
	tc = tcase_create("flp");
	tcase_add_test(tc, random_shards);
	tcase_add_test(tc, circuits_decide);
	suite_add_tcase(s, tc);
	return s;
}
