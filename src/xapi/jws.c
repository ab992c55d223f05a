/* xAPI 1.0.3 §2.6 signed statements: JWS compact serialization (RFC 7515)
 * with RS256/RS384/RS512 (RFC 7518 §3.3).  All cryptography is OpenSSL's
 * EVP layer; base64 is libsodium's constant-time, strict decoder. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "xapi_int.h"

/* A JWS is one statement plus a few KiB; the request body cap already
 * bounds it, this bounds the copies made here independently. */
#define JWS_MAX_LEN ((size_t)8 << 20)
#define CERT_MAX_LEN ((size_t)64 << 10)
/* RFC 7518 §3.3: keys of 2048 bits or larger MUST be used. */
#define RSA_MIN_BITS 2048

/* Decodes @n characters of base64 (@variant a sodium_base64_VARIANT_*)
 * into a new NUL-terminated buffer.  Padding, whitespace and stray
 * characters are errors in the unpadded variant, as RFC 7515 §2 wants. */
static enum lv_status b64_decode(const char *s, size_t n, int variant, unsigned char **out, size_t *out_len)
{
	*out = NULL;
	*out_len = 0;
	size_t cap = n / 4 * 3 + 3 + 1;
	unsigned char *bin = malloc(cap);
	if (!bin)
		return LV_ERR_NOMEM;
	size_t bl = 0;
	if (n && sodium_base642bin(bin, cap - 1, s, n, NULL, &bl, NULL, variant) != 0) {
		free(bin);
		return LV_ERR_INVALID;
	}
	bin[bl] = '\0';
	*out = bin;
	*out_len = bl;
	return LV_OK;
}

/* Parses decoded bytes as one JSON object; embedded NULs and trailing
 * bytes are errors. */
static cJSON *parse_object(const unsigned char *d, size_t n)
{
	if (strlen((const char *)d) != n)
		return NULL;
	const char *end = NULL;
	cJSON *j = cJSON_ParseWithOpts((const char *)d, &end, 1);
	if (j && !cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}

static const EVP_MD *alg_md(const char *alg)
{
	if (strcmp(alg, "RS256") == 0)
		return EVP_sha256();
	if (strcmp(alg, "RS384") == 0)
		return EVP_sha384();
	if (strcmp(alg, "RS512") == 0)
		return EVP_sha512();
	return NULL;
}

/* Verifies @sig over @input with the first certificate of @x5c. */
static enum lv_status verify_x5c(const cJSON *x5c, const EVP_MD *md, const char *input, size_t input_len,
				 const unsigned char *sig, size_t sig_len, char err[LV_XAPI_ERR_LEN])
{
	enum lv_status st = LV_ERR_INVALID;
	unsigned char *der = NULL;
	size_t der_len = 0;
	X509 *cert = NULL;
	EVP_PKEY *pkey = NULL;
	EVP_MD_CTX *mctx = NULL;
	EVP_PKEY_CTX *pctx = NULL;

	const cJSON *first = cJSON_IsArray(x5c) ? cJSON_GetArrayItem(x5c, 0) : NULL;
	if (!cJSON_IsString(first)) {
		util_errf(err, "x5c must be a non-empty array of strings");
		goto out;
	}
	size_t cl = strlen(first->valuestring);
	if (cl > CERT_MAX_LEN) {
		util_errf(err, "x5c certificate too large");
		goto out;
	}
	/* RFC 7515 §4.1.6: x5c entries are base64, not base64url. */
	st = b64_decode(first->valuestring, cl, sodium_base64_VARIANT_ORIGINAL, &der, &der_len);
	if (st != LV_OK) {
		util_errf(err, "x5c certificate is not valid base64");
		goto out;
	}
	st = LV_ERR_INVALID;
	const unsigned char *p = der;
	cert = d2i_X509(NULL, &p, (long)der_len);
	if (!cert || p != der + der_len) {
		util_errf(err, "x5c certificate is not a DER X.509 certificate");
		goto out;
	}
	pkey = X509_get_pubkey(cert);
	if (!pkey || EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA) {
		util_errf(err, "x5c certificate key is not RSA");
		goto out;
	}
	if (EVP_PKEY_get_bits(pkey) < RSA_MIN_BITS) {
		util_errf(err, "x5c RSA key shorter than %d bits", RSA_MIN_BITS);
		goto out;
	}
	mctx = EVP_MD_CTX_new();
	if (!mctx) {
		st = LV_ERR_NOMEM;
		util_errf(err, "out of memory");
		goto out;
	}
	/* pctx belongs to mctx.  RS* is RSASSA-PKCS1-v1_5; set it rather than
	 * rely on the default. */
	if (EVP_DigestVerifyInit(mctx, &pctx, md, NULL, pkey) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) {
		st = LV_ERR_CRYPTO;
		util_errf(err, "cannot set up signature verification");
		goto out;
	}
	if (EVP_DigestVerify(mctx, sig, sig_len, (const unsigned char *)input, input_len) != 1) {
		util_errf(err, "JWS signature does not verify with the x5c certificate");
		goto out;
	}
	st = LV_OK;
out:
	/* Leave no stale entries in this thread's OpenSSL error queue for
	 * an unrelated caller to misread. */
	ERR_clear_error();
	EVP_MD_CTX_free(mctx);
	EVP_PKEY_free(pkey);
	X509_free(cert);
	free(der);
	return st;
}

/* Removes signature attachments, and the attachments array if that
 * empties it: the payload is the statement before the signature was
 * attached. */
static void strip_signatures(cJSON *st)
{
	cJSON *atts = cJSON_GetObjectItemCaseSensitive(st, "attachments");
	if (!cJSON_IsArray(atts))
		return;
	cJSON *a = atts->child;
	while (a) {
		cJSON *next = a->next;
		const cJSON *u = cJSON_GetObjectItemCaseSensitive(a, "usageType");
		if (cJSON_IsString(u) && strcmp(u->valuestring, XAPI_SIGNATURE_USAGE) == 0)
			cJSON_Delete(cJSON_DetachItemViaPointer(atts, a));
		a = next;
	}
	if (!atts->child)
		cJSON_DeleteItemFromObjectCaseSensitive(st, "attachments");
}

static void drop_both(cJSON *a, cJSON *b, const char *key)
{
	cJSON_DeleteItemFromObjectCaseSensitive(a, key);
	cJSON_DeleteItemFromObjectCaseSensitive(b, key);
}

/* Data 4.6 (1.0.3 and 2.0.0 alike): precision beyond 0.01 s does not
 * count when durations are compared.  When the result durations of @a and
 * @b (statements or SubStatements) are equal at that precision, both are
 * dropped, so that the deep comparison does not see the difference. */
static void durations_match(cJSON *a, cJSON *b)
{
	cJSON *ra = cJSON_GetObjectItemCaseSensitive(a, "result");
	cJSON *rb = cJSON_GetObjectItemCaseSensitive(b, "result");
	const cJSON *da = cJSON_GetObjectItemCaseSensitive(ra, "duration");
	const cJSON *db = cJSON_GetObjectItemCaseSensitive(rb, "duration");
	if (!cJSON_IsString(da) || !cJSON_IsString(db))
		return;
	char na[80], nb[80];
	xapi_duration_norm(da->valuestring, na, sizeof na);
	xapi_duration_norm(db->valuestring, nb, sizeof nb);
	if (xapi_duration_valid(da->valuestring) && strcmp(na, nb) == 0)
		drop_both(ra, rb, "duration");
}

/* Statement equivalence for signatures: deep equality (object member
 * order ignored) after removing what an LRS adds or may rewrite; stricter
 * than lv_xapi_statements_equivalent, which also ignores the case of ids
 * and IRIs. */
static enum lv_status payload_matches(const cJSON *payload, const cJSON *statement, char err[LV_XAPI_ERR_LEN])
{
	enum lv_status st = LV_ERR_NOMEM;
	cJSON *a = cJSON_Duplicate(payload, 1);
	cJSON *b = cJSON_Duplicate(statement, 1);
	if (!a || !b) {
		util_errf(err, "out of memory");
		goto out;
	}
	drop_both(a, b, "authority");
	drop_both(a, b, "stored");
	drop_both(a, b, "version");
	strip_signatures(a);
	strip_signatures(b);

	const cJSON *ia = cJSON_GetObjectItemCaseSensitive(a, "id");
	const cJSON *ib = cJSON_GetObjectItemCaseSensitive(b, "id");
	if (!ia)
		cJSON_DeleteItemFromObjectCaseSensitive(b, "id"); /* the LRS may have assigned it */
	else if (cJSON_IsString(ia) && cJSON_IsString(ib) && strcasecmp(ia->valuestring, ib->valuestring) == 0)
		drop_both(a, b, "id"); /* UUIDs compare without case */

	const cJSON *ta = cJSON_GetObjectItemCaseSensitive(a, "timestamp");
	const cJSON *tb = cJSON_GetObjectItemCaseSensitive(b, "timestamp");
	int64_t ma, mb;
	if (cJSON_IsString(ta) && cJSON_IsString(tb) && util_time_parse(ta->valuestring, &ma) &&
	    util_time_parse(tb->valuestring, &mb) && ma == mb)
		drop_both(a, b, "timestamp");
	durations_match(a, b);
	durations_match(cJSON_GetObjectItemCaseSensitive(a, "object"),
			cJSON_GetObjectItemCaseSensitive(b, "object"));

	if (!cJSON_Compare(a, b, 1)) {
		st = LV_ERR_INVALID;
		util_errf(err, "JWS payload differs from the statement");
		goto out;
	}
	st = LV_OK;
out:
	cJSON_Delete(a);
	cJSON_Delete(b);
	return st;
}

/* xapi_jws_verify; *@keyed tells whether the header's x5c key was
 * checked (meaningful on LV_OK only). */
static enum lv_status jws_verify(const char *jws, size_t len, const cJSON *statement, bool *keyed,
				 char err[LV_XAPI_ERR_LEN])
{
	enum lv_status st = LV_ERR_INVALID;
	unsigned char *hdr = NULL, *pl = NULL, *sig = NULL;
	size_t hdr_len = 0, pl_len = 0, sig_len = 0;
	cJSON *header = NULL, *payload = NULL;

	err[0] = '\0';
	*keyed = false;
	if (!jws || !cJSON_IsObject(statement)) {
		util_errf(err, "no JWS or no statement");
		goto out;
	}
	if (len > JWS_MAX_LEN) {
		util_errf(err, "JWS longer than %zu bytes", JWS_MAX_LEN);
		goto out;
	}
	const char *d1 = memchr(jws, '.', len);
	const char *d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - jws)) : NULL;
	if (!d2 || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - jws))) {
		util_errf(err, "JWS must have three dot-separated parts");
		goto out;
	}
	size_t h_n = (size_t)(d1 - jws), p_n = (size_t)(d2 - d1 - 1), s_n = len - (size_t)(d2 + 1 - jws);
	const int v = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
	if ((st = b64_decode(jws, h_n, v, &hdr, &hdr_len)) != LV_OK ||
	    (st = b64_decode(d1 + 1, p_n, v, &pl, &pl_len)) != LV_OK ||
	    (st = b64_decode(d2 + 1, s_n, v, &sig, &sig_len)) != LV_OK) {
		util_errf(err, st == LV_ERR_NOMEM ? "out of memory" : "JWS part is not valid base64url");
		goto out;
	}
	st = LV_ERR_INVALID;
	header = parse_object(hdr, hdr_len);
	if (!header) {
		util_errf(err, "JWS header is not a JSON object");
		goto out;
	}
	const cJSON *alg = cJSON_GetObjectItemCaseSensitive(header, "alg");
	const EVP_MD *md = cJSON_IsString(alg) ? alg_md(alg->valuestring) : NULL;
	if (!md) {
		/* xAPI §2.6 allows only RS256/RS384/RS512: "none" would make
		 * the signature meaningless and HS* would need a shared secret. */
		util_errf(err, "JWS alg must be RS256, RS384 or RS512");
		goto out;
	}
	if (cJSON_GetObjectItemCaseSensitive(header, "crit")) {
		/* RFC 7515 §4.1.11: unknown critical extensions must fail. */
		util_errf(err, "JWS crit header is not supported");
		goto out;
	}
	if (sig_len == 0) {
		util_errf(err, "JWS signature is empty");
		goto out;
	}
	const cJSON *x5c = cJSON_GetObjectItemCaseSensitive(header, "x5c");
	if (x5c) {
		st = verify_x5c(x5c, md, jws, (size_t)(d2 - jws), sig, sig_len, err);
		if (st != LV_OK)
			goto out;
		*keyed = true;
		st = LV_ERR_INVALID;
	}
	payload = parse_object(pl, pl_len);
	if (!payload) {
		util_errf(err, "JWS payload is not a JSON object");
		goto out;
	}
	st = payload_matches(payload, statement, err);
out:
	cJSON_Delete(header);
	cJSON_Delete(payload);
	free(hdr);
	free(pl);
	free(sig);
	return st;
}

enum lv_status xapi_jws_verify(const char *jws, size_t len, const cJSON *statement, char err[LV_XAPI_ERR_LEN])
{
	bool keyed;
	return jws_verify(jws, len, statement, &keyed, err);
}

/* The first signature attachment of @statement, or NULL. */
static const cJSON *signature_attachment(const cJSON *statement)
{
	const cJSON *atts = cJSON_GetObjectItemCaseSensitive(statement, "attachments");
	const cJSON *a;
	if (!cJSON_IsArray(atts))
		return NULL;
	cJSON_ArrayForEach(a, atts) {
		const char *u = util_json_str(a, "usageType", NULL);
		if (u && strcmp(u, XAPI_SIGNATURE_USAGE) == 0)
			return a;
	}
	return NULL;
}

enum lv_xapi_signature lv_xapi_signature_state(const cJSON *statement, const struct lv_attachment *atts,
					       size_t natts)
{
	const cJSON *sig = cJSON_IsObject(statement) ? signature_attachment(statement) : NULL;
	if (!sig)
		return LV_XAPI_SIG_NONE;
	const char *sha2 = util_json_str(sig, "sha2", NULL);
	for (size_t i = 0; sha2 && atts && i < natts; i++) {
		if (!atts[i].sha2 || strcasecmp(atts[i].sha2, sha2) != 0)
			continue;
		/* Verified again rather than trusted from the request's
		 * validation: the store may be handed statements that never went
		 * through it, and one JWS checks in well under a millisecond. */
		char err[LV_XAPI_ERR_LEN];
		bool keyed = false;
		if (jws_verify((const char *)atts[i].data, atts[i].len, statement, &keyed, err) == LV_OK && keyed)
			return LV_XAPI_SIG_VERIFIED;
		break;
	}
	return LV_XAPI_SIG_UNVERIFIABLE;
}
