/* HPKE (RFC 9180) base mode, X25519 / HKDF-SHA256 / AES-128-GCM: every
 * value of the suite's official vector (tests/vectors/rfc9180/, read at
 * run time; a missing file fails), seal/open round trips, and tampering
 * (a flipped byte anywhere, a wrong key, info or aad) refused with
 * LV_ERR_CRYPTO. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "federation/hpke.h"
#include "harness.h"
#include "learnvault/util.h"

#define VEC_REL "tests/vectors/rfc9180/base-x25519-sha256-aes128gcm.json"

static cJSON *vec;

static const cJSON *vec_load(void)
{
	if (vec)
		return vec;
	char *text = NULL;
	size_t len = 0;
	enum lv_status st = util_read_file(th_src(VEC_REL), 1 << 20, &text, &len);
	ck_assert_msg(st == LV_OK, "cannot read %s: %s", VEC_REL, lv_status_str(st));
	vec = util_json_parse(text, len);
	free(text);
	ck_assert_msg(vec != NULL, "%s is not JSON", VEC_REL);
	return vec;
}

/* Hex field @name of @o decoded into @out (exactly @want bytes unless
 * @want is 0); returns the length. */
static size_t hexf(const cJSON *o, const char *name, uint8_t *out, size_t cap, size_t want)
{
	const char *h = util_json_str(o, name, NULL);
	ck_assert_msg(h != NULL, "vector field %s missing", name);
	size_t n = 0;
	ck_assert_int_eq(sodium_hex2bin(out, cap, h, strlen(h), NULL, &n, NULL), 0);
	if (want)
		ck_assert_uint_eq(n, want);
	return n;
}

START_TEST(vector_suite_is_ours)
{
	const cJSON *v = vec_load();
	ck_assert_int_eq(cJSON_GetObjectItem(v, "mode")->valueint, 0);
	ck_assert_int_eq(cJSON_GetObjectItem(v, "kem_id")->valueint, 0x20);
	ck_assert_int_eq(cJSON_GetObjectItem(v, "kdf_id")->valueint, 1);
	ck_assert_int_eq(cJSON_GetObjectItem(v, "aead_id")->valueint, 1);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(v, "encryptions")), 6);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(v, "exports")), 3);
}
END_TEST

START_TEST(vector_derive_keypair)
{
	const cJSON *v = vec_load();
	uint8_t ikm[64], want_sk[32], want_pk[32], sk[32], pk[32];
	const char *ikms[] = {"ikmE", "ikmR"}, *sks[] = {"skEm", "skRm"}, *pks[] = {"pkEm", "pkRm"};
	for (int i = 0; i < 2; i++) {
		size_t n = hexf(v, ikms[i], ikm, sizeof ikm, 0);
		hexf(v, sks[i], want_sk, 32, 32);
		hexf(v, pks[i], want_pk, 32, 32);
		ck_assert_int_eq(fed_hpke_derive_keypair(ikm, n, sk, pk), LV_OK);
		ck_assert_mem_eq(sk, want_sk, 32);
		ck_assert_mem_eq(pk, want_pk, 32);
		ck_assert_int_eq(fed_hpke_public_key(want_sk, pk), LV_OK);
		ck_assert_mem_eq(pk, want_pk, 32);
	}
}
END_TEST

START_TEST(vector_kem)
{
	const cJSON *v = vec_load();
	uint8_t sk_e[32], sk_r[32], pk_r[32], want_enc[32], want_ss[32], ss[32], enc[32];
	hexf(v, "skEm", sk_e, 32, 32);
	hexf(v, "skRm", sk_r, 32, 32);
	hexf(v, "pkRm", pk_r, 32, 32);
	hexf(v, "enc", want_enc, 32, 32);
	hexf(v, "shared_secret", want_ss, 32, 32);
	ck_assert_int_eq(fed_hpke_encap(pk_r, sk_e, ss, enc), LV_OK);
	ck_assert_mem_eq(enc, want_enc, 32);
	ck_assert_mem_eq(ss, want_ss, 32);
	memset(ss, 0, sizeof ss);
	ck_assert_int_eq(fed_hpke_decap(enc, sk_r, ss), LV_OK);
	ck_assert_mem_eq(ss, want_ss, 32);
}
END_TEST

/* The context values, from both sides. */
START_TEST(vector_key_schedule)
{
	const cJSON *v = vec_load();
	uint8_t info[64], sk_e[32], sk_r[32], pk_r[32], enc[32], want_enc[32], key[16], nonce[12], exp[32];
	size_t info_len = hexf(v, "info", info, sizeof info, 0);
	hexf(v, "skEm", sk_e, 32, 32);
	hexf(v, "skRm", sk_r, 32, 32);
	hexf(v, "pkRm", pk_r, 32, 32);
	hexf(v, "enc", want_enc, 32, 32);
	hexf(v, "key", key, 16, 16);
	hexf(v, "base_nonce", nonce, 12, 12);
	hexf(v, "exporter_secret", exp, 32, 32);
	struct fed_hpke_ctx *s = NULL, *r = NULL;
	ck_assert_int_eq(fed_hpke_setup_base_s(pk_r, info, info_len, sk_e, enc, &s), LV_OK);
	ck_assert_mem_eq(enc, want_enc, 32);
	ck_assert_int_eq(fed_hpke_setup_base_r(enc, sk_r, info, info_len, &r), LV_OK);
	const struct fed_hpke_ctx *both[] = {s, r};
	for (int i = 0; i < 2; i++) {
		ck_assert_mem_eq(both[i]->key, key, 16);
		ck_assert_mem_eq(both[i]->base_nonce, nonce, 12);
		ck_assert_mem_eq(both[i]->exporter_secret, exp, 32);
		ck_assert_uint_eq(both[i]->seq, 0);
	}
	fed_hpke_ctx_free(s);
	fed_hpke_ctx_free(r);
}
END_TEST

/* Every listed encryption: sealing in order from a fresh sender context
 * (so seq 0..256 are all used, the listed ones compared) and opening
 * each with a receiver context set to its sequence number. */
START_TEST(vector_encryptions)
{
	const cJSON *v = vec_load();
	uint8_t info[64], sk_e[32], sk_r[32], pk_r[32], enc[32];
	size_t info_len = hexf(v, "info", info, sizeof info, 0);
	hexf(v, "skEm", sk_e, 32, 32);
	hexf(v, "skRm", sk_r, 32, 32);
	hexf(v, "pkRm", pk_r, 32, 32);
	struct fed_hpke_ctx *s = NULL, *r = NULL;
	ck_assert_int_eq(fed_hpke_setup_base_s(pk_r, info, info_len, sk_e, enc, &s), LV_OK);
	ck_assert_int_eq(fed_hpke_setup_base_r(enc, sk_r, info, info_len, &r), LV_OK);
	struct buf out;
	buf_init(&out, 1 << 16);
	const cJSON *e;
	unsigned checked = 0;
	cJSON_ArrayForEach(e, cJSON_GetObjectItem(v, "encryptions")) {
		uint64_t seq = (uint64_t)cJSON_GetObjectItem(e, "sequence_number")->valuedouble;
		uint8_t pt[256], aad[64], ct[256];
		size_t pt_len = hexf(e, "pt", pt, sizeof pt, 0), aad_len = hexf(e, "aad", aad, sizeof aad, 0);
		size_t ct_len = hexf(e, "ct", ct, sizeof ct, 0);
		ck_assert_uint_eq(ct_len, pt_len + FED_HPKE_NT);
		ck_assert_uint_le(s->seq, seq);
		while (s->seq < seq) { /* the unlisted sequence numbers */
			ck_assert_int_eq(fed_hpke_ctx_seal(s, aad, aad_len, pt, pt_len, &out), LV_OK);
		}
		ck_assert_int_eq(fed_hpke_ctx_seal(s, aad, aad_len, pt, pt_len, &out), LV_OK);
		ck_assert_uint_eq(out.len, ct_len);
		ck_assert_mem_eq(out.data, ct, ct_len);
		r->seq = seq;
		ck_assert_int_eq(fed_hpke_ctx_open(r, aad, aad_len, ct, ct_len, &out), LV_OK);
		ck_assert_uint_eq(out.len, pt_len);
		ck_assert_mem_eq(out.data, pt, pt_len);
		ck_assert_uint_eq(r->seq, seq + 1);
		/* The same ciphertext at another sequence number is refused. */
		r->seq = seq + 1;
		ck_assert_int_eq(fed_hpke_ctx_open(r, aad, aad_len, ct, ct_len, &out), LV_ERR_CRYPTO);
		ck_assert_uint_eq(out.len, 0);
		ck_assert_uint_eq(r->seq, seq + 1);
		checked++;
	}
	ck_assert_uint_eq(checked, 6);
	ck_assert_uint_eq(s->seq, 257);
	buf_free(&out);
	fed_hpke_ctx_free(s);
	fed_hpke_ctx_free(r);
}
END_TEST

START_TEST(vector_exports)
{
	const cJSON *v = vec_load();
	uint8_t info[64], sk_r[32], enc[32];
	size_t info_len = hexf(v, "info", info, sizeof info, 0);
	hexf(v, "skRm", sk_r, 32, 32);
	hexf(v, "enc", enc, 32, 32);
	struct fed_hpke_ctx *r = NULL;
	ck_assert_int_eq(fed_hpke_setup_base_r(enc, sk_r, info, info_len, &r), LV_OK);
	const cJSON *e;
	unsigned checked = 0;
	cJSON_ArrayForEach(e, cJSON_GetObjectItem(v, "exports")) {
		uint8_t c[64], want[64], got[64];
		size_t cl = hexf(e, "exporter_context", c, sizeof c, 0);
		size_t L = (size_t)cJSON_GetObjectItem(e, "L")->valueint;
		hexf(e, "exported_value", want, sizeof want, L);
		ck_assert_int_eq(fed_hpke_export(r, c, cl, got, L), LV_OK);
		ck_assert_mem_eq(got, want, L);
		checked++;
	}
	ck_assert_uint_eq(checked, 3);
	fed_hpke_ctx_free(r);
}
END_TEST

/* The single-shot API reproduces the first encryption of the vector. */
START_TEST(vector_single_shot)
{
	const cJSON *v = vec_load();
	uint8_t info[64], sk_e[32], sk_r[32], pk_r[32], enc[32], want_enc[32], pt[256], aad[64], ct[256];
	size_t info_len = hexf(v, "info", info, sizeof info, 0);
	hexf(v, "skEm", sk_e, 32, 32);
	hexf(v, "skRm", sk_r, 32, 32);
	hexf(v, "pkRm", pk_r, 32, 32);
	hexf(v, "enc", want_enc, 32, 32);
	const cJSON *e0 = cJSON_GetArrayItem(cJSON_GetObjectItem(v, "encryptions"), 0);
	ck_assert_int_eq(cJSON_GetObjectItem(e0, "sequence_number")->valueint, 0);
	size_t pt_len = hexf(e0, "pt", pt, sizeof pt, 0), aad_len = hexf(e0, "aad", aad, sizeof aad, 0);
	size_t ct_len = hexf(e0, "ct", ct, sizeof ct, 0);
	struct buf out;
	buf_init(&out, 1 << 16);
	ck_assert_int_eq(fed_hpke_seal_eph(pk_r, sk_e, info, info_len, aad, aad_len, pt, pt_len, enc, &out), LV_OK);
	ck_assert_mem_eq(enc, want_enc, 32);
	ck_assert_uint_eq(out.len, ct_len);
	ck_assert_mem_eq(out.data, ct, ct_len);
	ck_assert_int_eq(fed_hpke_open(sk_r, enc, info, info_len, aad, aad_len, ct, ct_len, &out), LV_OK);
	ck_assert_uint_eq(out.len, pt_len);
	ck_assert_mem_eq(out.data, pt, pt_len);
	buf_free(&out);
}
END_TEST

START_TEST(round_trip_random_keys)
{
	uint8_t *sk = sodium_malloc(32), pk[32], enc[32], enc2[32];
	ck_assert_ptr_nonnull(sk);
	ck_assert_int_eq(fed_hpke_keygen(sk, pk), LV_OK);
	static const uint8_t info[] = "dap-09 input share\x01\x02";
	uint8_t pt[1000];
	randombytes_buf(pt, sizeof pt);
	struct buf ct, ct2, out;
	buf_init(&ct, 1 << 16);
	buf_init(&ct2, 1 << 16);
	buf_init(&out, 1 << 16);
	size_t lens[] = {0, 1, 15, 16, 17, 1000};
	for (size_t i = 0; i < sizeof lens / sizeof *lens; i++) {
		ck_assert_int_eq(fed_hpke_seal(pk, info, sizeof info - 1, (const uint8_t *)"aad", 3, pt, lens[i], enc, &ct),
				 LV_OK);
		ck_assert_uint_eq(ct.len, lens[i] + FED_HPKE_NT);
		ck_assert_int_eq(fed_hpke_open(sk, enc, info, sizeof info - 1, (const uint8_t *)"aad", 3,
					       (const uint8_t *)ct.data, ct.len, &out),
				 LV_OK);
		ck_assert_uint_eq(out.len, lens[i]);
		if (lens[i])
			ck_assert_mem_eq(out.data, pt, lens[i]);
	}
	/* Fresh ephemeral keys: two seals of the same message differ. */
	ck_assert_int_eq(fed_hpke_seal(pk, info, sizeof info - 1, NULL, 0, pt, 32, enc, &ct), LV_OK);
	ck_assert_int_eq(fed_hpke_seal(pk, info, sizeof info - 1, NULL, 0, pt, 32, enc2, &ct2), LV_OK);
	ck_assert(memcmp(enc, enc2, 32) != 0);
	ck_assert(memcmp(ct.data, ct2.data, ct.len) != 0);
	buf_free(&ct);
	buf_free(&ct2);
	buf_free(&out);
	sodium_free(sk);
}
END_TEST

/* Every single flipped bit of enc or ciphertext, and a wrong key, info or
 * aad, makes open fail with LV_ERR_CRYPTO and an empty output. */
START_TEST(tamper_refused)
{
	uint8_t sk[32], pk[32], sk2[32], pk2[32], enc[32], pt[40];
	ck_assert_int_eq(fed_hpke_keygen(sk, pk), LV_OK);
	ck_assert_int_eq(fed_hpke_keygen(sk2, pk2), LV_OK);
	randombytes_buf(pt, sizeof pt);
	const uint8_t info[] = {'i', 'n', 'f', 'o'}, aad[] = {'a', 'a', 'd'};
	struct buf ct, out;
	buf_init(&ct, 1 << 16);
	buf_init(&out, 1 << 16);
	ck_assert_int_eq(fed_hpke_seal(pk, info, 4, aad, 3, pt, sizeof pt, enc, &ct), LV_OK);
	uint8_t *c = (uint8_t *)ct.data;
	for (size_t i = 0; i < ct.len; i++) {
		c[i] ^= 0x01;
		ck_assert_int_eq(fed_hpke_open(sk, enc, info, 4, aad, 3, c, ct.len, &out), LV_ERR_CRYPTO);
		ck_assert_uint_eq(out.len, 0);
		c[i] ^= 0x01;
	}
	for (size_t i = 0; i < 32; i++) {
		enc[i] ^= 0x80;
		ck_assert_int_ne(fed_hpke_open(sk, enc, info, 4, aad, 3, c, ct.len, &out), LV_OK);
		ck_assert_uint_eq(out.len, 0);
		enc[i] ^= 0x80;
	}
	ck_assert_int_eq(fed_hpke_open(sk2, enc, info, 4, aad, 3, c, ct.len, &out), LV_ERR_CRYPTO);
	ck_assert_int_eq(fed_hpke_open(sk, enc, info, 3, aad, 3, c, ct.len, &out), LV_ERR_CRYPTO);
	ck_assert_int_eq(fed_hpke_open(sk, enc, info, 4, aad, 2, c, ct.len, &out), LV_ERR_CRYPTO);
	ck_assert_int_eq(fed_hpke_open(sk, enc, info, 4, aad, 3, c, ct.len - 1, &out), LV_ERR_CRYPTO);
	ck_assert_int_eq(fed_hpke_open(sk, enc, info, 4, aad, 3, c, 15, &out), LV_ERR_CRYPTO);
	/* and the untouched message still opens */
	ck_assert_int_eq(fed_hpke_open(sk, enc, info, 4, aad, 3, c, ct.len, &out), LV_OK);
	ck_assert_mem_eq(out.data, pt, sizeof pt);
	buf_free(&ct);
	buf_free(&out);
	sodium_memzero(sk, sizeof sk);
	sodium_memzero(sk2, sizeof sk2);
}
END_TEST

/* A low-order public key (all zero) gives an all-zero X25519 result,
 * which RFC 9180 §7.1.4 requires refusing; oversized info is refused. */
START_TEST(bad_inputs)
{
	uint8_t zero[32] = {0}, ss[32], enc[32], sk[32], pk[32];
	ck_assert_int_eq(fed_hpke_encap(zero, NULL, ss, enc), LV_ERR_CRYPTO);
	ck_assert_int_eq(fed_hpke_keygen(sk, pk), LV_OK);
	ck_assert_int_eq(fed_hpke_decap(zero, sk, ss), LV_ERR_CRYPTO);
	static uint8_t big[FED_HPKE_MAX_INFO + 1];
	struct buf ct;
	buf_init(&ct, 1 << 16);
	ck_assert_int_eq(fed_hpke_seal(pk, big, sizeof big, NULL, 0, big, 4, enc, &ct), LV_ERR_TOO_LARGE);
	ck_assert_uint_eq(ct.len, 0);
	ck_assert_int_eq(fed_hpke_seal(pk, big, FED_HPKE_MAX_INFO, NULL, 0, big, 4, enc, &ct), LV_OK);
	/* an output cap smaller than the ciphertext */
	struct buf small;
	buf_init(&small, 8);
	ck_assert_int_eq(fed_hpke_seal(pk, NULL, 0, NULL, 0, big, 4, enc, &small), LV_ERR_TOO_LARGE);
	ck_assert_uint_eq(small.len, 0);
	buf_free(&small);
	buf_free(&ct);
}
END_TEST

Suite *lv_test_suite(void)
{
	Suite *s = suite_create("hpke");
	TCase *tc = tcase_create("vectors");
	tcase_add_test(tc, vector_suite_is_ours);
	tcase_add_test(tc, vector_derive_keypair);
	tcase_add_test(tc, vector_kem);
	tcase_add_test(tc, vector_key_schedule);
	tcase_add_test(tc, vector_encryptions);
	tcase_add_test(tc, vector_exports);
	tcase_add_test(tc, vector_single_shot);
	suite_add_tcase(s, tc);
	tc = tcase_create("seal_open");
	tcase_add_test(tc, round_trip_random_keys);
	tcase_add_test(tc, tamper_refused);
	tcase_add_test(tc, bad_inputs);
	suite_add_tcase(s, tc);
	return s;
}
