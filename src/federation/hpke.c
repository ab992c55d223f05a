/* RFC 9180 base mode for DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 /
 * AES-128-GCM, composed from libcrypto primitives (X25519 derive, the
 * HKDF EVP_KDF in extract-only and expand-only modes, AES-128-GCM). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <sodium.h>

#include "hpke.h"
#include "versions.h"

#define LABEL_V1 "HPKE-v1"
#define LABEL_V1_LEN 7
/* "KEM" || kem_id (5 bytes) or "HPKE" || kem || kdf || aead (10 bytes). */
#define SUITE_MAX 10
/* Room for a labelled input: length prefix, "HPKE-v1", suite id, the
 * longest label ("shared_secret", 13), and a capped caller string. */
#define LABELED_MAX (2 + LABEL_V1_LEN + SUITE_MAX + 16 + FED_HPKE_MAX_INFO + 2 * FED_HPKE_NENC)

struct suite {
	uint8_t id[SUITE_MAX];
	size_t len;
};

static const struct suite kem_suite = {
	{'K', 'E', 'M', FED_HPKE_KEM_X25519_SHA256 >> 8, FED_HPKE_KEM_X25519_SHA256 & 0xff}, 5};
static const struct suite hpke_suite = {
	{'H', 'P', 'K', 'E', FED_HPKE_KEM_X25519_SHA256 >> 8, FED_HPKE_KEM_X25519_SHA256 & 0xff,
	 FED_HPKE_KDF_HKDF_SHA256 >> 8, FED_HPKE_KDF_HKDF_SHA256 & 0xff, FED_HPKE_AEAD_AES128GCM >> 8,
	 FED_HPKE_AEAD_AES128GCM & 0xff},
	10};

/* Fetching the KDF implementation costs a provider lookup; once per
 * process is enough (the object is immutable and shared by threads). */
static EVP_KDF *hkdf_impl;
static pthread_once_t hkdf_once = PTHREAD_ONCE_INIT;

static void hkdf_fetch(void)
{
	hkdf_impl = EVP_KDF_fetch(NULL, "HKDF", NULL);
}

/* One HKDF call: @mode is EXTRACT_ONLY (key = ikm, salt) or EXPAND_ONLY
 * (key = prk, info). */
static enum lv_status hkdf(int mode, const uint8_t *key, size_t key_len, const uint8_t *salt_or_info,
			   size_t sl, uint8_t *out, size_t out_len)
{
	pthread_once(&hkdf_once, hkdf_fetch);
	if (!hkdf_impl)
		return LV_ERR_CRYPTO;
	EVP_KDF_CTX *kctx = EVP_KDF_CTX_new(hkdf_impl);
	if (!kctx)
		return LV_ERR_NOMEM;
	OSSL_PARAM params[5], *p = params;
	*p++ = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)key, key_len);
	/* An absent salt is the RFC 5869 default (HashLen zeros, the same
	 * HMAC key as an empty one); OpenSSL rejects a zero-length param. */
	if (sl)
		*p++ = OSSL_PARAM_construct_octet_string(
			mode == EVP_KDF_HKDF_MODE_EXTRACT_ONLY ? OSSL_KDF_PARAM_SALT : OSSL_KDF_PARAM_INFO,
			(void *)salt_or_info, sl);
	*p = OSSL_PARAM_construct_end();
	int ok = EVP_KDF_derive(kctx, out, out_len, params);
	EVP_KDF_CTX_free(kctx);
	return ok == 1 ? LV_OK : LV_ERR_CRYPTO;
}

/* LabeledExtract(salt, label, ikm) = Extract(salt, "HPKE-v1" || suite ||
 * label || ikm); @ikm may be the concatenation of two parts. */
static enum lv_status labeled_extract(const struct suite *s, const uint8_t *salt, size_t salt_len, const char *label,
				      const uint8_t *ikm, size_t ikm_len, uint8_t out[FED_HPKE_NH])
{
	uint8_t in[LABELED_MAX];
	size_t ll = strlen(label), n = 0;
	if (ikm_len > FED_HPKE_MAX_INFO + 2 * FED_HPKE_NENC)
		return LV_ERR_TOO_LARGE;
	memcpy(in, LABEL_V1, LABEL_V1_LEN), n += LABEL_V1_LEN;
	memcpy(in + n, s->id, s->len), n += s->len;
	memcpy(in + n, label, ll), n += ll;
	if (ikm_len)
		memcpy(in + n, ikm, ikm_len), n += ikm_len;
	enum lv_status st = hkdf(EVP_KDF_HKDF_MODE_EXTRACT_ONLY, in, n, salt, salt_len, out, FED_HPKE_NH);
	OPENSSL_cleanse(in, n);
	return st;
}

/* LabeledExpand(prk, label, info, L) = Expand(prk, I2OSP(L, 2) ||
 * "HPKE-v1" || suite || label || info, L). */
static enum lv_status labeled_expand(const struct suite *s, const uint8_t prk[FED_HPKE_NH], const char *label,
				     const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len)
{
	uint8_t in[LABELED_MAX];
	size_t ll = strlen(label), n = 0;
	if (info_len > FED_HPKE_MAX_INFO + 2 * FED_HPKE_NENC || out_len > 255 * FED_HPKE_NH)
		return LV_ERR_TOO_LARGE;
	in[n++] = (uint8_t)(out_len >> 8);
	in[n++] = (uint8_t)out_len;
	memcpy(in + n, LABEL_V1, LABEL_V1_LEN), n += LABEL_V1_LEN;
	memcpy(in + n, s->id, s->len), n += s->len;
	memcpy(in + n, label, ll), n += ll;
	if (info_len)
		memcpy(in + n, info, info_len), n += info_len;
	enum lv_status st = hkdf(EVP_KDF_HKDF_MODE_EXPAND_ONLY, prk, FED_HPKE_NH, in, n, out, out_len);
	OPENSSL_cleanse(in, n);
	return st;
}

static EVP_PKEY *x25519_key(const uint8_t sk[FED_HPKE_NSK], uint8_t pk[FED_HPKE_NPK]);

enum lv_status fed_hpke_public_key(const uint8_t sk[FED_HPKE_NSK], uint8_t pk[FED_HPKE_NPK])
{
	EVP_PKEY *k = x25519_key(sk, pk);
	if (!k) {
		memset(pk, 0, FED_HPKE_NPK);
		return LV_ERR_CRYPTO;
	}
	EVP_PKEY_free(k);
	return LV_OK;
}

enum lv_status fed_hpke_keygen(uint8_t sk[FED_HPKE_NSK], uint8_t pk[FED_HPKE_NPK])
{
	randombytes_buf(sk, FED_HPKE_NSK);
	enum lv_status st = fed_hpke_public_key(sk, pk);
	if (st != LV_OK)
		sodium_memzero(sk, FED_HPKE_NSK);
	return st;
}

enum lv_status fed_hpke_derive_keypair(const uint8_t *ikm, size_t ikm_len, uint8_t sk[FED_HPKE_NSK],
				       uint8_t pk[FED_HPKE_NPK])
{
	uint8_t prk[FED_HPKE_NH];
	enum lv_status st = ikm_len > FED_HPKE_MAX_INFO ? LV_ERR_TOO_LARGE
							 : labeled_extract(&kem_suite, NULL, 0, "dkp_prk", ikm, ikm_len, prk);
	if (st == LV_OK)
		st = labeled_expand(&kem_suite, prk, "sk", NULL, 0, sk, FED_HPKE_NSK);
	if (st == LV_OK)
		st = fed_hpke_public_key(sk, pk);
	sodium_memzero(prk, sizeof prk);
	if (st != LV_OK) {
		sodium_memzero(sk, FED_HPKE_NSK);
		memset(pk, 0, FED_HPKE_NPK);
	}
	return st;
}

/* X25519(priv, pk) into @dh; refuses the all-zero result of a low-order
 * point (RFC 9180 §7.1.4). */
static enum lv_status x25519(EVP_PKEY *priv, const uint8_t pk[FED_HPKE_NPK], uint8_t dh[FED_HPKE_NSECRET])
{
	enum lv_status st = LV_ERR_CRYPTO;
	EVP_PKEY *peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, pk, FED_HPKE_NPK);
	EVP_PKEY_CTX *pctx = priv ? EVP_PKEY_CTX_new(priv, NULL) : NULL;
	size_t len = FED_HPKE_NSECRET;
	if (!pctx || !peer)
		goto out;
	if (EVP_PKEY_derive_init(pctx) != 1 || EVP_PKEY_derive_set_peer(pctx, peer) != 1 ||
	    EVP_PKEY_derive(pctx, dh, &len) != 1 || len != FED_HPKE_NSECRET)
		goto out;
	static const uint8_t zero[FED_HPKE_NSECRET];
	if (sodium_memcmp(dh, zero, FED_HPKE_NSECRET) != 0)
		st = LV_OK;
out:
	EVP_PKEY_CTX_free(pctx);
	EVP_PKEY_free(peer);
	if (st != LV_OK)
		sodium_memzero(dh, FED_HPKE_NSECRET);
	return st;
}

/* The X25519 key of @sk (building it computes its public key, one scalar
 * multiplication: done once per key, not once per use) and that public
 * key into @pk.  NULL on failure. */
static EVP_PKEY *x25519_key(const uint8_t sk[FED_HPKE_NSK], uint8_t pk[FED_HPKE_NPK])
{
	EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, sk, FED_HPKE_NSK);
	size_t len = FED_HPKE_NPK;
	if (k && (EVP_PKEY_get_raw_public_key(k, pk, &len) != 1 || len != FED_HPKE_NPK)) {
		EVP_PKEY_free(k);
		k = NULL;
	}
	return k;
}

/* ExtractAndExpand(dh, enc || pkR) of DHKEM. */
static enum lv_status kem_shared_secret(const uint8_t dh[FED_HPKE_NSECRET], const uint8_t enc[FED_HPKE_NENC],
					const uint8_t pk_r[FED_HPKE_NPK], uint8_t ss[FED_HPKE_NSECRET])
{
	uint8_t kem_context[FED_HPKE_NENC + FED_HPKE_NPK], prk[FED_HPKE_NH];
	memcpy(kem_context, enc, FED_HPKE_NENC);
	memcpy(kem_context + FED_HPKE_NENC, pk_r, FED_HPKE_NPK);
	enum lv_status st = labeled_extract(&kem_suite, NULL, 0, "eae_prk", dh, FED_HPKE_NSECRET, prk);
	if (st == LV_OK)
		st = labeled_expand(&kem_suite, prk, "shared_secret", kem_context, sizeof kem_context, ss,
				    FED_HPKE_NSECRET);
	sodium_memzero(prk, sizeof prk);
	return st;
}

enum lv_status fed_hpke_encap(const uint8_t pk_r[FED_HPKE_NPK], const uint8_t *sk_e,
			      uint8_t shared_secret[FED_HPKE_NSECRET], uint8_t enc[FED_HPKE_NENC])
{
	uint8_t eph[FED_HPKE_NSK], dh[FED_HPKE_NSECRET];
	enum lv_status st;
	if (sk_e)
		memcpy(eph, sk_e, FED_HPKE_NSK);
	else
		randombytes_buf(eph, sizeof eph);
	EVP_PKEY *ke = x25519_key(eph, enc);
	st = ke ? x25519(ke, pk_r, dh) : LV_ERR_CRYPTO;
	if (st == LV_OK)
		st = kem_shared_secret(dh, enc, pk_r, shared_secret);
	EVP_PKEY_free(ke);
	sodium_memzero(eph, sizeof eph);
	sodium_memzero(dh, sizeof dh);
	if (st != LV_OK) {
		sodium_memzero(shared_secret, FED_HPKE_NSECRET);
		memset(enc, 0, FED_HPKE_NENC);
	}
	return st;
}

enum lv_status fed_hpke_decap(const uint8_t enc[FED_HPKE_NENC], const uint8_t sk_r[FED_HPKE_NSK],
			      uint8_t shared_secret[FED_HPKE_NSECRET])
{
	uint8_t pk_r[FED_HPKE_NPK], dh[FED_HPKE_NSECRET];
	EVP_PKEY *kr = x25519_key(sk_r, pk_r);
	enum lv_status st = kr ? x25519(kr, enc, dh) : LV_ERR_CRYPTO;
	if (st == LV_OK)
		st = kem_shared_secret(dh, enc, pk_r, shared_secret);
	EVP_PKEY_free(kr);
	sodium_memzero(dh, sizeof dh);
	if (st != LV_OK)
		sodium_memzero(shared_secret, FED_HPKE_NSECRET);
	return st;
}

/* KeySchedule(mode_base, shared_secret, info, psk = "", psk_id = ""). */
static enum lv_status key_schedule(const uint8_t ss[FED_HPKE_NSECRET], const uint8_t *info, size_t info_len,
				   struct fed_hpke_ctx *ctx)
{
	uint8_t ksc[1 + 2 * FED_HPKE_NH], secret[FED_HPKE_NH];
	enum lv_status st;
	if (info_len > FED_HPKE_MAX_INFO)
		return LV_ERR_TOO_LARGE;
	ksc[0] = 0x00; /* mode_base */
	st = labeled_extract(&hpke_suite, NULL, 0, "psk_id_hash", NULL, 0, ksc + 1);
	if (st == LV_OK)
		st = labeled_extract(&hpke_suite, NULL, 0, "info_hash", info, info_len, ksc + 1 + FED_HPKE_NH);
	if (st == LV_OK) /* the psk is empty in base mode */
		st = labeled_extract(&hpke_suite, ss, FED_HPKE_NSECRET, "secret", NULL, 0, secret);
	if (st == LV_OK)
		st = labeled_expand(&hpke_suite, secret, "key", ksc, sizeof ksc, ctx->key, FED_HPKE_NK);
	if (st == LV_OK)
		st = labeled_expand(&hpke_suite, secret, "base_nonce", ksc, sizeof ksc, ctx->base_nonce, FED_HPKE_NN);
	if (st == LV_OK)
		st = labeled_expand(&hpke_suite, secret, "exp", ksc, sizeof ksc, ctx->exporter_secret, FED_HPKE_NH);
	ctx->seq = 0;
	sodium_memzero(secret, sizeof secret);
	if (st != LV_OK)
		sodium_memzero(ctx, sizeof *ctx);
	return st;
}

static enum lv_status setup_s(const uint8_t pk_r[FED_HPKE_NPK], const uint8_t *info, size_t info_len,
			      const uint8_t *sk_e, uint8_t enc[FED_HPKE_NENC], struct fed_hpke_ctx *ctx)
{
	uint8_t ss[FED_HPKE_NSECRET];
	enum lv_status st = info_len > FED_HPKE_MAX_INFO ? LV_ERR_TOO_LARGE : fed_hpke_encap(pk_r, sk_e, ss, enc);
	if (st == LV_OK)
		st = key_schedule(ss, info, info_len, ctx);
	sodium_memzero(ss, sizeof ss);
	if (st != LV_OK)
		memset(enc, 0, FED_HPKE_NENC);
	return st;
}

static enum lv_status setup_r(const uint8_t enc[FED_HPKE_NENC], const uint8_t sk_r[FED_HPKE_NSK],
			      const uint8_t *info, size_t info_len, struct fed_hpke_ctx *ctx)
{
	uint8_t ss[FED_HPKE_NSECRET];
	enum lv_status st = info_len > FED_HPKE_MAX_INFO ? LV_ERR_TOO_LARGE : fed_hpke_decap(enc, sk_r, ss);
	if (st == LV_OK)
		st = key_schedule(ss, info, info_len, ctx);
	sodium_memzero(ss, sizeof ss);
	return st;
}

enum lv_status fed_hpke_setup_base_s(const uint8_t pk_r[FED_HPKE_NPK], const uint8_t *info, size_t info_len,
				     const uint8_t *sk_e, uint8_t enc[FED_HPKE_NENC], struct fed_hpke_ctx **ctx)
{
	*ctx = NULL;
	struct fed_hpke_ctx *c = sodium_malloc(sizeof *c);
	if (!c) {
		memset(enc, 0, FED_HPKE_NENC);
		return LV_ERR_NOMEM;
	}
	enum lv_status st = setup_s(pk_r, info, info_len, sk_e, enc, c);
	if (st != LV_OK)
		sodium_free(c);
	else
		*ctx = c;
	return st;
}

enum lv_status fed_hpke_setup_base_r(const uint8_t enc[FED_HPKE_NENC], const uint8_t sk_r[FED_HPKE_NSK],
				     const uint8_t *info, size_t info_len, struct fed_hpke_ctx **ctx)
{
	*ctx = NULL;
	struct fed_hpke_ctx *c = sodium_malloc(sizeof *c);
	if (!c)
		return LV_ERR_NOMEM;
	enum lv_status st = setup_r(enc, sk_r, info, info_len, c);
	if (st != LV_OK)
		sodium_free(c);
	else
		*ctx = c;
	return st;
}

void fed_hpke_ctx_free(struct fed_hpke_ctx *ctx)
{
	if (ctx)
		sodium_free(ctx); /* sodium_free wipes before unmapping */
}

/* base_nonce XOR I2OSP(seq, Nn). */
static void ctx_nonce(const struct fed_hpke_ctx *ctx, uint8_t nonce[FED_HPKE_NN])
{
	memcpy(nonce, ctx->base_nonce, FED_HPKE_NN);
	for (int i = 0; i < 8; i++)
		nonce[FED_HPKE_NN - 1 - i] ^= (uint8_t)(ctx->seq >> (8 * i));
}

/* AES-128-GCM encrypt (@enc) or decrypt-and-verify into @out, which has
 * room for @in_len bytes; the tag follows the ciphertext. */
static enum lv_status aead(int encrypt, const uint8_t key[FED_HPKE_NK], const uint8_t nonce[FED_HPKE_NN],
			   const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t in_len, uint8_t *out,
			   uint8_t tag[FED_HPKE_NT])
{
	enum lv_status st = LV_ERR_CRYPTO;
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n = 0;
	if (!c)
		return LV_ERR_NOMEM;
	if (in_len > INT32_MAX || aad_len > INT32_MAX)
		goto out;
	if (EVP_CipherInit_ex(c, EVP_aes_128_gcm(), NULL, NULL, NULL, encrypt) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, FED_HPKE_NN, NULL) != 1 ||
	    EVP_CipherInit_ex(c, NULL, NULL, key, nonce, encrypt) != 1)
		goto out;
	if (aad_len && EVP_CipherUpdate(c, NULL, &n, aad, (int)aad_len) != 1)
		goto out;
	if (in_len && EVP_CipherUpdate(c, out, &n, in, (int)in_len) != 1)
		goto out;
	if (!encrypt && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, FED_HPKE_NT, tag) != 1)
		goto out;
	if (EVP_CipherFinal_ex(c, out + n, &n) != 1)
		goto out; /* for decryption: the tag did not verify */
	if (encrypt && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, FED_HPKE_NT, tag) != 1)
		goto out;
	st = LV_OK;
out:
	EVP_CIPHER_CTX_free(c);
	return st;
}

enum lv_status fed_hpke_ctx_seal(struct fed_hpke_ctx *ctx, const uint8_t *aad, size_t aad_len, const uint8_t *pt,
				 size_t pt_len, struct buf *ct)
{
	uint8_t nonce[FED_HPKE_NN], tag[FED_HPKE_NT];
	uint8_t *tmp = NULL;
	enum lv_status st;
	buf_reset(ct);
	if (pt_len > FED_HPKE_MAX_MSG || aad_len > FED_HPKE_MAX_MSG)
		return LV_ERR_TOO_LARGE;
	if (ctx->seq == UINT64_MAX)
		return LV_ERR_TOO_LARGE; /* MessageLimitReachedError */
	tmp = malloc(pt_len + 1);
	if (!tmp)
		return LV_ERR_NOMEM;
	ctx_nonce(ctx, nonce);
	st = aead(1, ctx->key, nonce, aad, aad_len, pt, pt_len, tmp, tag);
	if (st == LV_OK)
		st = buf_append(ct, tmp, pt_len);
	if (st == LV_OK)
		st = buf_append(ct, tag, FED_HPKE_NT);
	if (st == LV_OK)
		ctx->seq++;
	else
		buf_reset(ct);
	free(tmp);
	return st;
}

enum lv_status fed_hpke_ctx_open(struct fed_hpke_ctx *ctx, const uint8_t *aad, size_t aad_len, const uint8_t *ct,
				 size_t ct_len, struct buf *pt)
{
	uint8_t nonce[FED_HPKE_NN], tag[FED_HPKE_NT];
	uint8_t *tmp = NULL;
	enum lv_status st;
	buf_reset(pt);
	if (ct_len < FED_HPKE_NT)
		return LV_ERR_CRYPTO;
	if (ct_len > FED_HPKE_MAX_MSG + FED_HPKE_NT || aad_len > FED_HPKE_MAX_MSG)
		return LV_ERR_TOO_LARGE;
	if (ctx->seq == UINT64_MAX)
		return LV_ERR_TOO_LARGE;
	size_t n = ct_len - FED_HPKE_NT;
	tmp = malloc(n + 1);
	if (!tmp)
		return LV_ERR_NOMEM;
	memcpy(tag, ct + n, FED_HPKE_NT);
	ctx_nonce(ctx, nonce);
	st = aead(0, ctx->key, nonce, aad, aad_len, ct, n, tmp, tag);
	if (st == LV_OK)
		st = buf_append(pt, tmp, n);
	if (st == LV_OK)
		ctx->seq++;
	else
		buf_reset(pt);
	/* A failed open may have written unauthenticated plaintext. */
	OPENSSL_cleanse(tmp, n);
	free(tmp);
	return st;
}

enum lv_status fed_hpke_export(const struct fed_hpke_ctx *ctx, const uint8_t *exporter_context, size_t ctx_len,
			       uint8_t *out, size_t out_len)
{
	if (ctx_len > FED_HPKE_MAX_INFO || out_len > 255 * FED_HPKE_NH)
		return LV_ERR_TOO_LARGE;
	enum lv_status st =
		labeled_expand(&hpke_suite, ctx->exporter_secret, "sec", exporter_context, ctx_len, out, out_len);
	if (st != LV_OK)
		sodium_memzero(out, out_len);
	return st;
}

/* SealBase with @sk_e (NULL: a fresh ephemeral key). */
static enum lv_status seal_base(const uint8_t pk_r[FED_HPKE_NPK], const uint8_t *sk_e, const uint8_t *info,
				size_t info_len, const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t pt_len,
				uint8_t enc[FED_HPKE_NENC], struct buf *ct)
{
	/* A stack context, wiped here: sodium_malloc per report would cost
	 * three system calls for a context that lives a few microseconds. */
	struct fed_hpke_ctx c;
	buf_reset(ct);
	enum lv_status st = setup_s(pk_r, info, info_len, sk_e, enc, &c);
	if (st == LV_OK)
		st = fed_hpke_ctx_seal(&c, aad, aad_len, pt, pt_len, ct);
	sodium_memzero(&c, sizeof c);
	if (st != LV_OK)
		memset(enc, 0, FED_HPKE_NENC);
	return st;
}

enum lv_status fed_hpke_seal(const uint8_t pk_r[FED_HPKE_NPK], const uint8_t *info, size_t info_len,
			     const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t pt_len,
			     uint8_t enc[FED_HPKE_NENC], struct buf *ct)
{
	return seal_base(pk_r, NULL, info, info_len, aad, aad_len, pt, pt_len, enc, ct);
}

enum lv_status fed_hpke_seal_eph(const uint8_t pk_r[FED_HPKE_NPK], const uint8_t sk_e[FED_HPKE_NSK],
				 const uint8_t *info, size_t info_len, const uint8_t *aad, size_t aad_len,
				 const uint8_t *pt, size_t pt_len, uint8_t enc[FED_HPKE_NENC], struct buf *ct)
{
	return seal_base(pk_r, sk_e, info, info_len, aad, aad_len, pt, pt_len, enc, ct);
}

enum lv_status fed_hpke_open(const uint8_t sk_r[FED_HPKE_NSK], const uint8_t enc[FED_HPKE_NENC],
			     const uint8_t *info, size_t info_len, const uint8_t *aad, size_t aad_len,
			     const uint8_t *ct, size_t ct_len, struct buf *pt)
{
	struct fed_hpke_ctx c;
	buf_reset(pt);
	enum lv_status st = setup_r(enc, sk_r, info, info_len, &c);
	if (st == LV_OK)
		st = fed_hpke_ctx_open(&c, aad, aad_len, ct, ct_len, pt);
	sodium_memzero(&c, sizeof c);
	return st;
}
