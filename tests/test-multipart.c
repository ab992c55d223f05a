/* multipart/mixed parsing and building (src/http/multipart.c), and the
 * xAPI attachment rules and JWS signed statements they feed
 * (src/xapi/attachments.c, src/xapi/jws.c).  Keys and certificates are
 * generated at test time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "harness.h"
#include "http/multipart.h"
#include "learnvault/consent.h"
#include "learnvault/door.h"
#include "learnvault/node.h"
#include "learnvault/util.h"
#include "xapi/xapi_int.h"

#define B "-------314159265358979323846"
#define CT "multipart/mixed; boundary=" B
#define SIG_USAGE "http://adlnet.gov/expapi/attachments/signature"

static const char TEXT1[] = "here is a simple attachment";
static const char TEXT2[] = "here is another simple attachment";

static const char STMT_CORE[] =
	"\"actor\":{\"objectType\":\"Agent\",\"mbox\":\"mailto:learner@example.com\"},"
	"\"verb\":{\"id\":\"http://adlnet.gov/expapi/verbs/attended\",\"display\":{\"en-US\":\"attended\"}},"
	"\"object\":{\"id\":\"http://www.example.com/meetings/34534\"},"
	"\"timestamp\":\"2013-05-18T05:32:34.804Z\"";
#define STMT_ID "fd41c918-b88b-4b20-a0a5-a4c32391aaa0"

/* ---- helpers ---------------------------------------------------------- */

static void sha_hex(const void *d, size_t n, char hex[65])
{
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, d, n);
	sodium_bin2hex(hex, 65, h, sizeof h);
}

static char *b64(const void *d, size_t n, int variant)
{
	size_t cap = sodium_base64_ENCODED_LEN(n, variant);
	char *s = malloc(cap);
	ck_assert_ptr_nonnull(s);
	sodium_bin2base64(s, cap, d, n, variant);
	return s;
}

static void app(struct buf *b, const char *s)
{
	ck_assert_int_eq(buf_append_str(b, s), LV_OK);
}

/* Appends an attachment part the way the ADL suite writes one. */
static void app_part(struct buf *b, const char *ct, const char *cte, const char *hash, const char *body)
{
	app(b, "--" B "\r\n");
	if (ct) {
		app(b, "Content-Type: ");
		app(b, ct);
		app(b, "\r\n");
	}
	if (cte) {
		app(b, "Content-Transfer-Encoding: ");
		app(b, cte);
		app(b, "\r\n");
	}
	if (hash) {
		app(b, "X-Experience-API-Hash: ");
		app(b, hash);
		app(b, "\r\n");
	}
	app(b, "\r\n");
	app(b, body);
	app(b, "\r\n");
}

/* A statement with the attachment objects given as JSON text. */
static char *statement_with(const char *attachments)
{
	struct buf b;
	buf_init(&b, 1 << 20);
	ck_assert_int_eq(buf_printf(&b, "{\"id\":\"%s\",%s%s%s}", STMT_ID, STMT_CORE,
				    attachments ? ",\"attachments\":" : "", attachments ? attachments : ""),
			 LV_OK);
	return buf_steal(&b);
}

static char *text_attachment(const char *hash, const char *file_url)
{
	struct buf b;
	buf_init(&b, 4096);
	ck_assert_int_eq(buf_printf(&b,
				    "{\"usageType\":\"http://example.com/attachment-usage/test\","
				    "\"display\":{\"en-US\":\"A test attachment\"},\"contentType\":\"text/plain\","
				    "\"length\":27,\"sha2\":\"%s\"%s%s%s}",
				    hash, file_url ? ",\"fileUrl\":\"" : "", file_url ? file_url : "",
				    file_url ? "\"" : ""),
			 LV_OK);
	return buf_steal(&b);
}

/* Parses @body and runs the attachment rules on its first part. */
static enum lv_status parse_and_check(const char *ct, const char *body, size_t len)
{
	struct mp_list l;
	struct lv_xapi_part *parts = NULL;
	char err[MP_ERR_LEN];
	enum lv_status st = multipart_parse(ct, (const unsigned char *)body, len, &l, err);
	if (st != LV_OK)
		return st;
	ck_assert_uint_ge(l.n, 1);
	ck_assert_int_eq(multipart_xapi_parts(&l, &parts), LV_OK);
	/* The conversion borrows every header and body from the list. */
	for (size_t i = 0; i < l.n; i++) {
		ck_assert_ptr_eq(parts[i].content_type, l.parts[i].content_type);
		ck_assert_ptr_eq(parts[i].transfer_encoding, l.parts[i].transfer_encoding);
		ck_assert_ptr_eq(parts[i].sha2, l.parts[i].sha2);
		ck_assert_ptr_eq(parts[i].body, l.parts[i].body);
		ck_assert_uint_eq(parts[i].len, l.parts[i].len);
	}
	cJSON *j = cJSON_ParseWithLength((const char *)l.parts[0].body, l.parts[0].len);
	if (!j) {
		free(parts);
		multipart_free(&l);
		return LV_ERR_INVALID;
	}
	char xerr[LV_XAPI_ERR_LEN];
	st = xapi_check_attachments(j, parts, l.n, xerr);
	if (st != LV_OK)
		ck_assert_str_ne(xerr, ""); /* a rejection always says why */
	cJSON_Delete(j);
	free(parts);
	multipart_free(&l);
	return st;
}

/* ---- keys ------------------------------------------------------------- */

static EVP_PKEY *key_a, *key_b, *key_small;
static char *cert_a, *cert_small; /* base64 DER */

static char *self_signed(EVP_PKEY *k)
{
	X509 *x = X509_new();
	ck_assert_ptr_nonnull(x);
	ck_assert_int_eq(X509_set_version(x, 2), 1);
	ck_assert_int_eq(ASN1_INTEGER_set(X509_get_serialNumber(x), 1), 1);
	ck_assert_ptr_nonnull(X509_gmtime_adj(X509_getm_notBefore(x), 0));
	ck_assert_ptr_nonnull(X509_gmtime_adj(X509_getm_notAfter(x), 3600));
	ck_assert_int_eq(X509_set_pubkey(x, k), 1);
	X509_NAME *n = X509_get_subject_name(x);
	ck_assert_int_eq(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
						    (const unsigned char *)"learnvault test", -1, -1, 0), 1);
	ck_assert_int_eq(X509_set_issuer_name(x, n), 1);
	ck_assert_int_gt(X509_sign(x, k, EVP_sha256()), 0);
	int dl = i2d_X509(x, NULL);
	ck_assert_int_gt(dl, 0);
	unsigned char *der = malloc((size_t)dl), *p = der;
	ck_assert_int_eq(i2d_X509(x, &p), dl);
	char *s = b64(der, (size_t)dl, sodium_base64_VARIANT_ORIGINAL);
	free(der);
	X509_free(x);
	return s;
}

static void keys_setup(void)
{
	key_a = EVP_RSA_gen(2048);
	key_b = EVP_RSA_gen(2048);
	key_small = EVP_RSA_gen(1024);
	if (!key_a || !key_b || !key_small)
		abort();
	cert_a = self_signed(key_a);
	cert_small = self_signed(key_small);
}

static void keys_teardown(void)
{
	EVP_PKEY_free(key_a);
	EVP_PKEY_free(key_b);
	EVP_PKEY_free(key_small);
	free(cert_a);
	free(cert_small);
}

/* Builds header.payload.signature.  @key NULL with @hmac false leaves the
 * signature as @raw_sig (may be ""). */
static char *make_jws(const char *header, const char *payload, EVP_PKEY *key, const EVP_MD *md, bool hmac,
		      const char *raw_sig)
{
	const int v = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
	char *h = b64(header, strlen(header), v);
	char *p = b64(payload, strlen(payload), v);
	struct buf in;
	buf_init(&in, 1 << 20);
	ck_assert_int_eq(buf_printf(&in, "%s.%s", h, p), LV_OK);
	free(h);
	free(p);
	unsigned char sig[1024];
	size_t sl = 0;
	if (key) {
		EVP_MD_CTX *c = EVP_MD_CTX_new();
		sl = sizeof sig;
		ck_assert_int_eq(EVP_DigestSignInit(c, NULL, md, NULL, key), 1);
		ck_assert_int_eq(EVP_DigestSign(c, sig, &sl, (unsigned char *)in.data, in.len), 1);
		EVP_MD_CTX_free(c);
	} else if (hmac) {
		unsigned int ml = 0;
		ck_assert_ptr_nonnull(HMAC(EVP_sha256(), "secret", 6, (unsigned char *)in.data, in.len, sig, &ml));
		sl = ml;
	}
	if (key || hmac) {
		char *s = b64(sig, sl, v);
		ck_assert_int_eq(buf_printf(&in, ".%s", s), LV_OK);
		free(s);
	} else {
		ck_assert_int_eq(buf_printf(&in, ".%s", raw_sig), LV_OK);
	}
	return buf_steal(&in);
}

static char *rs_header(const char *alg, const char *cert)
{
	struct buf b;
	buf_init(&b, 1 << 16);
	if (cert)
		ck_assert_int_eq(buf_printf(&b, "{\"alg\":\"%s\",\"x5c\":[\"%s\"]}", alg, cert), LV_OK);
	else
		ck_assert_int_eq(buf_printf(&b, "{\"alg\":\"%s\"}", alg), LV_OK);
	return buf_steal(&b);
}

/* The statement as posted: payload plus the signature attachment. */
static cJSON *posted(const char *payload, const char *jws)
{
	cJSON *st = cJSON_Parse(payload);
	ck_assert_ptr_nonnull(st);
	char hash[65];
	sha_hex(jws, strlen(jws), hash);
	cJSON *atts = cJSON_AddArrayToObject(st, "attachments");
	cJSON *a = cJSON_CreateObject();
	cJSON_AddStringToObject(a, "usageType", SIG_USAGE);
	cJSON *d = cJSON_AddObjectToObject(a, "display");
	cJSON_AddStringToObject(d, "en-US", "Signed");
	cJSON_AddStringToObject(a, "contentType", "application/octet-stream");
	cJSON_AddNumberToObject(a, "length", (double)strlen(jws));
	cJSON_AddStringToObject(a, "sha2", hash);
	cJSON_AddItemToArray(atts, a);
	return st;
}

static enum lv_status verify(const char *jws, const cJSON *st)
{
	char err[LV_XAPI_ERR_LEN];
	enum lv_status r = xapi_jws_verify(jws, strlen(jws), st, err);
	if (r != LV_OK)
		ck_assert_str_ne(err, "");
	return r;
}

/* ---- parsing ---------------------------------------------------------- */

static char *good_body(char hash1[65])
{
	sha_hex(TEXT1, strlen(TEXT1), hash1);
	char *att = text_attachment(hash1, NULL);
	struct buf a;
	buf_init(&a, 4096);
	ck_assert_int_eq(buf_printf(&a, "[%s]", att), LV_OK);
	char *st = statement_with(a.data);
	struct buf b;
	buf_init(&b, 1 << 20);
	app(&b, "--" B "\r\nContent-Type: application/json\r\n\r\n");
	app(&b, st);
	app(&b, "\r\n");
	app_part(&b, "text/plain", "binary", hash1, TEXT1);
	app(&b, "--" B "--\r\n");
	free(att);
	free(st);
	buf_free(&a);
	return buf_steal(&b);
}

START_TEST(parse_good_body)
{
	char hash[65], err[MP_ERR_LEN];
	char *body = good_body(hash);
	struct mp_list l;
	ck_assert_int_eq(multipart_parse(CT, (unsigned char *)body, strlen(body), &l, err), LV_OK);
	ck_assert_uint_eq(l.n, 2);
	ck_assert_str_eq(l.parts[0].content_type, "application/json");
	ck_assert_ptr_null(l.parts[0].sha2);
	ck_assert_int_eq(l.parts[0].body[0], '{');
	ck_assert_int_eq(l.parts[0].body[l.parts[0].len - 1], '}');
	ck_assert_str_eq(l.parts[1].content_type, "text/plain");
	ck_assert_str_eq(l.parts[1].transfer_encoding, "binary");
	ck_assert_str_eq(l.parts[1].sha2, hash);
	ck_assert_uint_eq(l.parts[1].len, strlen(TEXT1));
	ck_assert_int_eq(memcmp(l.parts[1].body, TEXT1, strlen(TEXT1)), 0);
	multipart_free(&l);
	ck_assert_int_eq(parse_and_check(CT, body, strlen(body)), LV_OK);
	free(body);
}
END_TEST

/* Quoted boundary with a space, extra parameter, lower-case header names
 * without a space after the colon, a CRLF preamble and no CRLF after the
 * close delimiter (what the ADL suite's signed-statement helper sends). */
START_TEST(parse_quoted_boundary)
{
	const char *body = "\r\n--a b:c\r\ncontent-type:application/json\r\n\r\n{}"
			   "\r\n--a b:c\r\nCONTENT-TYPE:\ttext/plain \r\nx-experience-api-hash:ABC\r\n"
			   "X-Other: ignored\r\n\r\nx\r\ny\r\n--a b:c--";
	char err[MP_ERR_LEN];
	struct mp_list l;
	ck_assert_int_eq(multipart_parse("Multipart/Mixed; charset=utf-8; BOUNDARY=\"a b:c\"",
					 (const unsigned char *)body, strlen(body), &l, err), LV_OK);
	ck_assert_uint_eq(l.n, 2);
	ck_assert_str_eq(l.parts[0].content_type, "application/json");
	ck_assert_uint_eq(l.parts[0].len, 2);
	ck_assert_str_eq(l.parts[1].content_type, "text/plain");
	ck_assert_str_eq(l.parts[1].sha2, "ABC");
	ck_assert_ptr_null(l.parts[1].transfer_encoding);
	ck_assert_uint_eq(l.parts[1].len, 4);
	ck_assert_int_eq(memcmp(l.parts[1].body, "x\r\ny", 4), 0);
	multipart_free(&l);
	/* Unquoted, with characters outside RFC 2045 tokens. */
	const char *b2 = "--a=b:c\r\nContent-Type: application/json\r\n\r\n{}\r\n--a=b:c--\r\n";
	ck_assert_int_eq(multipart_parse("multipart/mixed;boundary=a=b:c", (const unsigned char *)b2,
					 strlen(b2), &l, err), LV_OK);
	ck_assert_uint_eq(l.n, 1);
	multipart_free(&l);
	ck_assert_int_eq(multipart_parse("multipart/mixed; boundary=a<b", (const unsigned char *)b2,
					 strlen(b2), &l, err), LV_ERR_INVALID);
}
END_TEST

START_TEST(parse_missing_boundary)
{
	char hash[65], err[MP_ERR_LEN];
	char *body = good_body(hash);
	struct mp_list l;
	const char *bad[] = { "multipart/mixed;", "multipart/mixed", "multipart/form-data; boundary=" B,
			      "application/json", "multipart/mixed; boundary=", "multipart/mixed; boundary=\"\"",
			      "multipart/mixed; boundary=\"unterminated",
			      "multipart/mixed; boundary=" B "; boundary=" B };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = '\0';
		ck_assert_int_eq(multipart_parse(bad[i], (unsigned char *)body, strlen(body), &l, err),
				 LV_ERR_INVALID);
		ck_assert_ptr_null(l.parts);
		ck_assert_uint_eq(l.n, 0);
		ck_assert_str_ne(err, "");
	}
	ck_assert_int_eq(multipart_parse(NULL, (unsigned char *)body, strlen(body), &l, err), LV_ERR_INVALID);
	/* A boundary over 70 characters. */
	char ct[160];
	snprintf(ct, sizeof ct, "multipart/mixed; boundary=%071d", 0);
	ck_assert_int_eq(multipart_parse(ct, (unsigned char *)body, strlen(body), &l, err), LV_ERR_INVALID);
	/* Boundary in the header but not in the body (ADL XAPI-00131). */
	ck_assert_int_eq(multipart_parse("multipart/mixed; boundary=other", (unsigned char *)body,
					 strlen(body), &l, err), LV_ERR_INVALID);
	free(body);
}
END_TEST

START_TEST(parse_truncated)
{
	char hash[65], err[MP_ERR_LEN];
	char *body = good_body(hash);
	size_t full = strlen(body);
	struct mp_list l;
	/* Every prefix that stops before the close delimiter is complete
	 * must fail; the trailing CRLF is epilogue and optional. */
	for (size_t n = 0; n < full - 2; n++) {
		enum lv_status st = multipart_parse(CT, (unsigned char *)body, n, &l, err);
		if (st != LV_ERR_INVALID)
			ck_abort_msg("prefix of %zu bytes accepted", n);
	}
	ck_assert_int_eq(multipart_parse(CT, (unsigned char *)body, full - 2, &l, err), LV_OK);
	multipart_free(&l);
	free(body);
}
END_TEST

START_TEST(parse_missing_final_boundary)
{
	char err[MP_ERR_LEN];
	struct mp_list l;
	const char *body = "--" B "\r\nContent-Type: application/json\r\n\r\n{}\r\n--" B
			   "\r\nContent-Type: text/plain\r\n\r\nabc\r\n";
	ck_assert_int_eq(multipart_parse(CT, (const unsigned char *)body, strlen(body), &l, err), LV_ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(err, "final boundary"));
	/* Only a close delimiter: no parts. */
	body = "--" B "--\r\n";
	ck_assert_int_eq(multipart_parse(CT, (const unsigned char *)body, strlen(body), &l, err), LV_ERR_INVALID);
}
END_TEST

static char *n_parts(size_t n)
{
	struct buf b;
	buf_init(&b, 1 << 20);
	for (size_t i = 0; i < n; i++)
		app(&b, "--" B "\r\nContent-Type: text/plain\r\n\r\nx\r\n");
	app(&b, "--" B "--\r\n");
	return buf_steal(&b);
}

START_TEST(parse_too_many_parts)
{
	char err[MP_ERR_LEN];
	struct mp_list l;
	char *ok = n_parts(MP_MAX_PARTS), *bad = n_parts(MP_MAX_PARTS + 1);
	ck_assert_int_eq(multipart_parse(CT, (unsigned char *)ok, strlen(ok), &l, err), LV_OK);
	ck_assert_uint_eq(l.n, MP_MAX_PARTS);
	multipart_free(&l);
	ck_assert_int_eq(multipart_parse(CT, (unsigned char *)bad, strlen(bad), &l, err), LV_ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(err, "parts"));
	free(ok);
	free(bad);
}
END_TEST

START_TEST(parse_malformed_parts)
{
	char err[MP_ERR_LEN];
	struct mp_list l;
	const char *bad[] = {
		/* no blank line between headers and body */
		"--" B "\r\nContent-Type: text/plain\r\n--" B "--",
		/* repeated hash header */
		"--" B "\r\nX-Experience-API-Hash: a\r\nX-Experience-API-Hash: b\r\n\r\nx\r\n--" B "--",
		/* folded header line */
		"--" B "\r\nContent-Type: text/plain\r\n ; charset=x\r\n\r\nx\r\n--" B "--",
		/* header line without a colon */
		"--" B "\r\nContent-Type text/plain\r\n\r\nx\r\n--" B "--",
		/* the boundary followed by junk inside content */
		"--" B "\r\nContent-Type: text/plain\r\n\r\nx\r\n--" B "junk\r\n--" B "--",
		/* delimiter lines back to back: an empty part */
		"--" B "\r\n--" B "--",
		/* LF-only line endings */
		"--" B "\nContent-Type: text/plain\n\nx\n--" B "--\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (multipart_parse(CT, (const unsigned char *)bad[i], strlen(bad[i]), &l, err) != LV_ERR_INVALID)
			ck_abort_msg("malformed body %zu accepted", i);
	}
	/* Header line cap. */
	struct buf b;
	buf_init(&b, 1 << 16);
	app(&b, "--" B "\r\nX-Long: ");
	for (int i = 0; i < MP_MAX_HEADER_LINE; i++)
		app(&b, "a");
	app(&b, "\r\n\r\nx\r\n--" B "--");
	ck_assert_int_eq(multipart_parse(CT, (unsigned char *)b.data, b.len, &l, err), LV_ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(err, "longer"));
	buf_free(&b);
}
END_TEST

/* ---- attachment rules ------------------------------------------------- */

/* Body: statement with @natt text attachments (TEXT1, TEXT2), then the
 * parts listed in @parts ("1", "2", "3" = TEXT1/TEXT2/other text). */
static char *att_body(int natt, const char *parts, const char *first_ct, const char *cte, bool bad_hash)
{
	char h1[65], h2[65], h3[65];
	sha_hex(TEXT1, strlen(TEXT1), h1);
	sha_hex(TEXT2, strlen(TEXT2), h2);
	sha_hex("other", 5, h3);
	char *a1 = text_attachment(h1, NULL), *a2 = text_attachment(h2, NULL);
	struct buf a;
	buf_init(&a, 1 << 16);
	ck_assert_int_eq(buf_printf(&a, "[%s%s%s]", a1, natt > 1 ? "," : "", natt > 1 ? a2 : ""), LV_OK);
	char *st = statement_with(a.data);
	struct buf b;
	buf_init(&b, 1 << 20);
	app(&b, "--" B "\r\nContent-Type: ");
	app(&b, first_ct);
	app(&b, "\r\n\r\n");
	app(&b, st);
	app(&b, "\r\n");
	for (const char *p = parts; *p; p++) {
		if (*p == '1')
			app_part(&b, "text/plain", cte, bad_hash ? h2 : h1, TEXT1);
		else if (*p == '2')
			app_part(&b, "text/plain", cte, h2, TEXT2);
		else if (*p == '3')
			app_part(&b, "text/plain", cte, h3, "other");
		else if (*p == 'x') /* TEXT1's hash over other bytes */
			app_part(&b, "text/plain", cte, h1, "here is a simple attachmenT");
		else if (*p == 'n') /* no hash header */
			app_part(&b, "text/plain", cte, NULL, TEXT1);
		else if (*p == 'j') /* a second statement part */
			app_part(&b, "application/json", NULL, NULL, st);
	}
	app(&b, "--" B "--\r\n");
	free(a1);
	free(a2);
	free(st);
	buf_free(&a);
	return buf_steal(&b);
}

static enum lv_status att_case(int natt, const char *parts, const char *first_ct, const char *cte, bool bad_hash)
{
	char *body = att_body(natt, parts, first_ct, cte, bad_hash);
	enum lv_status st = parse_and_check(CT, body, strlen(body));
	free(body);
	return st;
}

START_TEST(attachments_match)
{
	ck_assert_int_eq(att_case(1, "1", "application/json", "binary", false), LV_OK);
	ck_assert_int_eq(att_case(2, "21", "application/json; charset=utf-8", "Binary", false), LV_OK);
}
END_TEST

START_TEST(attachments_hash_mismatch)
{
	/* Header and sha2 agree, the bytes do not (one letter changed). */
	ck_assert_int_eq(att_case(1, "x", "application/json", "binary", false), LV_ERR_INVALID);
	/* Header says TEXT2's hash over TEXT1's bytes. */
	ck_assert_int_eq(att_case(2, "12", "application/json", "binary", true), LV_ERR_INVALID);
	/* Hash missing entirely (XAPI-00132). */
	ck_assert_int_eq(att_case(1, "n", "application/json", "binary", false), LV_ERR_INVALID);
}
END_TEST

START_TEST(attachments_unreferenced_part)
{
	/* XAPI-00128: a third part no attachment names. */
	ck_assert_int_eq(att_case(2, "123", "application/json", "binary", false), LV_ERR_INVALID);
	/* The same part twice. */
	ck_assert_int_eq(att_case(1, "11", "application/json", "binary", false), LV_ERR_INVALID);
	/* XAPI-00133: statements split over two parts. */
	ck_assert_int_eq(att_case(1, "j1", "application/json", "binary", false), LV_ERR_INVALID);
}
END_TEST

START_TEST(attachments_missing_part)
{
	/* XAPI-00129: two raw attachments, one part. */
	ck_assert_int_eq(att_case(2, "1", "application/json", "binary", false), LV_ERR_INVALID);
	ck_assert_int_eq(att_case(1, "", "application/json", "binary", false), LV_ERR_INVALID);
}
END_TEST

START_TEST(attachments_encoding_and_first_part)
{
	/* XAPI-00135 */
	ck_assert_int_eq(att_case(1, "1", "application/json", "base64", false), LV_ERR_INVALID);
	ck_assert_int_eq(att_case(1, "1", "application/json", NULL, false), LV_ERR_INVALID);
	/* XAPI-00134 */
	ck_assert_int_eq(att_case(1, "1", "text/plain", "binary", false), LV_ERR_INVALID);
}
END_TEST

START_TEST(attachments_file_url_only)
{
	char err[LV_XAPI_ERR_LEN], h1[65];
	sha_hex(TEXT1, strlen(TEXT1), h1);
	char *a = text_attachment(h1, "http://over.there.com/file.txt");
	struct buf arr;
	buf_init(&arr, 1 << 16);
	ck_assert_int_eq(buf_printf(&arr, "[%s]", a), LV_OK);
	char *s = statement_with(arr.data);
	cJSON *j = cJSON_Parse(s);
	ck_assert_ptr_nonnull(j);
	/* application/json request: no parts at all. */
	struct lv_xapi_part none[1] = {{0}};
	ck_assert_int_eq(xapi_check_attachments(j, none, 0, err), LV_OK);
	ck_assert_int_eq(xapi_check_attachments(j, NULL, 0, err), LV_OK);
	/* An array of statements too. */
	cJSON *arr_j = cJSON_CreateArray();
	cJSON_AddItemToArray(arr_j, cJSON_Duplicate(j, 1));
	cJSON_AddItemToArray(arr_j, cJSON_Duplicate(j, 1));
	ck_assert_int_eq(xapi_check_attachments(arr_j, NULL, 0, err), LV_OK);
	/* The raw attachment without fileUrl in a JSON request is missing. */
	char *raw = text_attachment(h1, NULL);
	buf_reset(&arr);
	ck_assert_int_eq(buf_printf(&arr, "[%s]", raw), LV_OK);
	char *s2 = statement_with(arr.data);
	cJSON *j2 = cJSON_Parse(s2);
	ck_assert_int_eq(xapi_check_attachments(j2, NULL, 0, err), LV_ERR_INVALID);
	/* fileUrl and a part with its bytes is fine (ADL sends this). */
	struct buf b;
	buf_init(&b, 1 << 20);
	app(&b, "--" B "\r\nContent-Type: application/json\r\n\r\n");
	app(&b, s);
	app(&b, "\r\n");
	app_part(&b, "text/plain", "binary", h1, TEXT1);
	app(&b, "--" B "--\r\n");
	ck_assert_int_eq(parse_and_check(CT, b.data, b.len), LV_OK);
	/* Not an object or array. */
	cJSON *num = cJSON_CreateNumber(1);
	ck_assert_int_eq(xapi_check_attachments(num, NULL, 0, err), LV_ERR_INVALID);
	cJSON_Delete(num);
	buf_free(&b);
	cJSON_Delete(j);
	cJSON_Delete(j2);
	cJSON_Delete(arr_j);
	free(s);
	free(s2);
	free(a);
	free(raw);
	buf_free(&arr);
}
END_TEST

/* ---- JWS -------------------------------------------------------------- */

static char *payload_text(void)
{
	return statement_with(NULL);
}

START_TEST(jws_valid_rs256_rs384_rs512)
{
	char *pl = payload_text();
	const char *algs[] = { "RS256", "RS384", "RS512" };
	const EVP_MD *mds[] = { EVP_sha256(), EVP_sha384(), EVP_sha512() };
	for (int i = 0; i < 3; i++) {
		char *h = rs_header(algs[i], cert_a);
		char *jws = make_jws(h, pl, key_a, mds[i], false, NULL);
		cJSON *st = posted(pl, jws);
		ck_assert_int_eq(verify(jws, st), LV_OK);
		cJSON_Delete(st);
		free(jws);
		free(h);
	}
	free(pl);
}
END_TEST

START_TEST(jws_without_x5c_accepted)
{
	/* The ADL suite signs with {"alg":"RS256"} only and expects 200. */
	char *pl = payload_text(), *h = rs_header("RS256", NULL);
	char *jws = make_jws(h, pl, key_b, EVP_sha256(), false, NULL);
	cJSON *st = posted(pl, jws);
	ck_assert_int_eq(verify(jws, st), LV_OK);
	cJSON_Delete(st);
	free(jws);
	free(h);
	free(pl);
}
END_TEST

START_TEST(jws_lrs_properties_ignored)
{
	/* Payload without id; the LRS added id, authority, stored, version
	 * and wrote the timestamp with an offset. */
	char *pl = payload_text();
	cJSON *p = cJSON_Parse(pl);
	cJSON_DeleteItemFromObject(p, "id");
	char *pl2 = cJSON_PrintUnformatted(p);
	char *h = rs_header("RS256", cert_a);
	char *jws = make_jws(h, pl2, key_a, EVP_sha256(), false, NULL);
	cJSON *st = posted(pl, jws);
	cJSON_AddStringToObject(st, "stored", "2020-01-01T00:00:00.000Z");
	cJSON_AddStringToObject(st, "version", "1.0.3");
	cJSON *auth = cJSON_AddObjectToObject(st, "authority");
	cJSON_AddStringToObject(auth, "mbox", "mailto:lrs@example.com");
	cJSON_ReplaceItemInObject(st, "timestamp", cJSON_CreateString("2013-05-18T07:32:34.804+02:00"));
	ck_assert_int_eq(verify(jws, st), LV_OK);
	/* ... but a different actor is not equivalent. */
	cJSON *actor = cJSON_GetObjectItem(st, "actor");
	cJSON_ReplaceItemInObject(actor, "mbox", cJSON_CreateString("mailto:other@example.com"));
	ck_assert_int_eq(verify(jws, st), LV_ERR_INVALID);
	cJSON_Delete(st);
	cJSON_Delete(p);
	free(jws);
	free(h);
	free(pl2);
	free(pl);
}
END_TEST

START_TEST(jws_tampered_payload)
{
	char *pl = payload_text(), *h = rs_header("RS256", cert_a);
	char *jws = make_jws(h, pl, key_a, EVP_sha256(), false, NULL);
	/* Replace the payload segment with another statement's, keeping the
	 * signature: the statement matches the new payload, the signature
	 * does not. */
	char *other = statement_with(NULL);
	char *at = strstr(other, "attended\"}}");
	ck_assert_ptr_nonnull(at);
	at[0] = 'A';
	char *pb = b64(other, strlen(other), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	char *d1 = strchr(jws, '.'), *d2 = strrchr(jws, '.');
	struct buf t;
	buf_init(&t, 1 << 20);
	ck_assert_int_eq(buf_append(&t, jws, (size_t)(d1 - jws) + 1), LV_OK);
	app(&t, pb);
	app(&t, d2);
	cJSON *st = posted(other, t.data);
	ck_assert_int_eq(verify(t.data, st), LV_ERR_INVALID);
	cJSON_Delete(st);
	/* Flipping one signature character fails too. */
	char *flip = strdup(jws);
	char *last = flip + strlen(flip) - 5;
	*last = *last == 'A' ? 'B' : 'A';
	st = posted(pl, flip);
	ck_assert_int_eq(verify(flip, st), LV_ERR_INVALID);
	cJSON_Delete(st);
	free(flip);
	buf_free(&t);
	free(pb);
	free(other);
	free(jws);
	free(h);
	free(pl);
}
END_TEST

START_TEST(jws_payload_differs_from_statement)
{
	char *pl = payload_text(), *h = rs_header("RS512", cert_a);
	char *jws = make_jws(h, pl, key_a, EVP_sha512(), false, NULL);
	char *other = statement_with(NULL);
	char *at = strstr(other, "meetings");
	at[0] = 'M';
	cJSON *st = posted(other, jws);
	ck_assert_int_eq(verify(jws, st), LV_ERR_INVALID);
	cJSON_Delete(st);
	/* A different id in the statement. */
	st = posted(pl, jws);
	cJSON_ReplaceItemInObject(st, "id", cJSON_CreateString("00000000-0000-4000-8000-000000000000"));
	ck_assert_int_eq(verify(jws, st), LV_ERR_INVALID);
	cJSON_Delete(st);
	free(other);
	free(jws);
	free(h);
	free(pl);
}
END_TEST

START_TEST(jws_wrong_key)
{
	/* Certificate of key A, signature by key B. */
	char *pl = payload_text(), *h = rs_header("RS256", cert_a);
	char *jws = make_jws(h, pl, key_b, EVP_sha256(), false, NULL);
	cJSON *st = posted(pl, jws);
	ck_assert_int_eq(verify(jws, st), LV_ERR_INVALID);
	cJSON_Delete(st);
	free(jws);
	free(h);
	/* A 1024-bit key is too short even when the signature is right. */
	h = rs_header("RS256", cert_small);
	jws = make_jws(h, pl, key_small, EVP_sha256(), false, NULL);
	st = posted(pl, jws);
	ck_assert_int_eq(verify(jws, st), LV_ERR_INVALID);
	cJSON_Delete(st);
	free(jws);
	free(h);
	/* x5c that is not a certificate. */
	h = rs_header("RS256", "AAAA");
	jws = make_jws(h, pl, key_a, EVP_sha256(), false, NULL);
	st = posted(pl, jws);
	ck_assert_int_eq(verify(jws, st), LV_ERR_INVALID);
	cJSON_Delete(st);
	free(jws);
	free(h);
	free(pl);
}
END_TEST

START_TEST(jws_bad_algs)
{
	char *pl = payload_text();
	char *jws = make_jws("{\"alg\":\"none\"}", pl, NULL, NULL, false, "");
	cJSON *st = posted(pl, jws);
	ck_assert_int_eq(verify(jws, st), LV_ERR_INVALID);
	cJSON_Delete(st);
	free(jws);
	jws = make_jws("{\"alg\":\"HS256\"}", pl, NULL, NULL, true, NULL);
	st = posted(pl, jws);
	ck_assert_int_eq(verify(jws, st), LV_ERR_INVALID);
	cJSON_Delete(st);
	free(jws);
	/* A real RS256 signature under a lying or missing alg. */
	const char *hdrs[] = { "{\"alg\":\"rs256\"}", "{\"alg\":\"PS256\"}", "{}", "{\"alg\":256}",
			       "{\"alg\":\"RS256\",\"crit\":[\"exp\"],\"exp\":1}" };
	for (size_t i = 0; i < sizeof hdrs / sizeof hdrs[0]; i++) {
		jws = make_jws(hdrs[i], pl, key_a, EVP_sha256(), false, NULL);
		st = posted(pl, jws);
		if (verify(jws, st) != LV_ERR_INVALID)
			ck_abort_msg("header %s accepted", hdrs[i]);
		cJSON_Delete(st);
		free(jws);
	}
	free(pl);
}
END_TEST

START_TEST(jws_bad_encoding)
{
	char *pl = payload_text(), *h = rs_header("RS256", cert_a);
	char *good = make_jws(h, pl, key_a, EVP_sha256(), false, NULL);
	cJSON *st = posted(pl, good);
	ck_assert_int_eq(verify(good, st), LV_OK);
	struct buf t;
	buf_init(&t, 1 << 20);
	/* Invalid base64url character in the payload segment. */
	app(&t, good);
	char *d1 = strchr(t.data, '.');
	d1[3] = '*';
	ck_assert_int_eq(verify(t.data, st), LV_ERR_INVALID);
	/* Padding is not allowed in JWS. */
	buf_reset(&t);
	app(&t, good);
	app(&t, "==");
	ck_assert_int_eq(verify(t.data, st), LV_ERR_INVALID);
	/* Two segments, four segments, empty. */
	buf_reset(&t);
	ck_assert_int_eq(buf_append(&t, good, (size_t)(strrchr(good, '.') - good)), LV_OK);
	ck_assert_int_eq(verify(t.data, st), LV_ERR_INVALID);
	buf_reset(&t);
	app(&t, good);
	app(&t, ".AAAA");
	ck_assert_int_eq(verify(t.data, st), LV_ERR_INVALID);
	ck_assert_int_eq(verify("", st), LV_ERR_INVALID);
	ck_assert_int_eq(verify("..", st), LV_ERR_INVALID);
	/* Payload that is not JSON (the ADL suite's breakJson), signed. */
	char *broken = strdup(pl);
	broken[1] = '\'';
	char *bj = make_jws(h, broken, key_a, EVP_sha256(), false, NULL);
	ck_assert_int_eq(verify(bj, st), LV_ERR_INVALID);
	free(bj);
	free(broken);
	buf_free(&t);
	cJSON_Delete(st);
	free(good);
	free(h);
	free(pl);
}
END_TEST

/* The whole signed-statement request as the ADL suite sends it. */
static char *signed_body(const char *jws, const char *att_ct, bool file_url_only, cJSON **stmt_out)
{
	char *pl = payload_text();
	cJSON *st = posted(pl, jws);
	cJSON *a = cJSON_GetArrayItem(cJSON_GetObjectItem(st, "attachments"), 0);
	cJSON_ReplaceItemInObject(a, "contentType", cJSON_CreateString(att_ct));
	if (file_url_only)
		cJSON_AddStringToObject(a, "fileUrl", "http://example.com/sig");
	char *sj = cJSON_PrintUnformatted(st);
	const char *hash = cJSON_GetObjectItem(a, "sha2")->valuestring;
	struct buf b;
	buf_init(&b, 1 << 20);
	ck_assert_int_eq(buf_printf(&b, "\r\n--" B "\r\nContent-Type:application/json\r\n\r\n%s", sj), LV_OK);
	if (!file_url_only)
		ck_assert_int_eq(buf_printf(&b,
					    "\r\n--" B "\r\nContent-Type:%s\r\nContent-Transfer-Encoding:binary\r\n"
					    "X-Experience-API-Hash:%s\r\n\r\n%s",
					    att_ct, hash, jws), LV_OK);
	app(&b, "\r\n--" B "--");
	*stmt_out = st;
	free(sj);
	free(pl);
	return buf_steal(&b);
}

START_TEST(jws_through_multipart)
{
	char *pl = payload_text(), *h = rs_header("RS256", cert_a);
	char *jws = make_jws(h, pl, key_a, EVP_sha256(), false, NULL);
	cJSON *st;
	char *body = signed_body(jws, "application/octet-stream", false, &st);
	ck_assert_int_eq(parse_and_check(CT, body, strlen(body)), LV_OK);
	free(body);
	cJSON_Delete(st);
	/* Signature attachment declared text/plain (ADL "bad content type"). */
	body = signed_body(jws, "text/plain; charset=ascii", false, &st);
	ck_assert_int_eq(parse_and_check(CT, body, strlen(body)), LV_ERR_INVALID);
	free(body);
	cJSON_Delete(st);
	/* Signature only by fileUrl: nothing to verify. */
	body = signed_body(jws, "application/octet-stream", true, &st);
	ck_assert_int_eq(parse_and_check(CT, body, strlen(body)), LV_ERR_INVALID);
	free(body);
	cJSON_Delete(st);
	/* HS256 in an otherwise well-formed request. */
	char *hs = make_jws("{\"alg\":\"HS256\"}", pl, NULL, NULL, true, NULL);
	body = signed_body(hs, "application/octet-stream", false, &st);
	ck_assert_int_eq(parse_and_check(CT, body, strlen(body)), LV_ERR_INVALID);
	free(body);
	cJSON_Delete(st);
	free(hs);
	free(jws);
	free(h);
	free(pl);
}
END_TEST

/* ---- the signature state the store records ---------------------------- */

/* Validates @jws-signed statement @json as one request (parts: the JSON,
 * then the JWS) and stores it as provider p1. */
static void store_signed(struct lv_node *node, const char *json, const char *jws)
{
	char hash[65];
	sha_hex(jws, strlen(jws), hash);
	struct lv_xapi_part parts[2] = {
		{.content_type = "application/json", .body = (const unsigned char *)json, .len = strlen(json)},
		{.content_type = "application/octet-stream", .transfer_encoding = "binary", .sha2 = hash,
		 .body = (const unsigned char *)jws, .len = strlen(jws)},
	};
	struct lv_xapi_request req = {.json = json, .json_len = strlen(json), .parts = parts, .nparts = 2};
	struct lv_xapi_batch b;
	struct lv_xapi_error e;
	ck_assert_msg(lv_xapi_request_validate(&req, &b, &e) == LV_OK, "%s", e.message);
	const struct lv_principal prov = {.role = LV_ROLE_PROVIDER, .id = "p1"};
	char err[LV_ERR_LEN];
	ck_assert_msg(lv_ingest(node, &prov, b.statements, b.attachments, b.nattachments, err) == LV_OK, "%s", err);
	lv_xapi_batch_clear(&b);
}

/* @payload_text with its id replaced by @id. */
static char *with_id(const char *text, const char *id)
{
	cJSON *j = cJSON_Parse(text);
	ck_assert_ptr_nonnull(j);
	cJSON_ReplaceItemInObject(j, "id", cJSON_CreateString(id));
	char *out = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	return out;
}

/* The JWS @jws with its payload segment replaced by @other's, the
 * signature kept. */
static char *swap_payload(const char *jws, const char *other)
{
	char *pb = b64(other, strlen(other), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	const char *d1 = strchr(jws, '.'), *d2 = strrchr(jws, '.');
	struct buf t;
	buf_init(&t, 1 << 20);
	ck_assert_int_eq(buf_append(&t, jws, (size_t)(d1 - jws) + 1), LV_OK);
	app(&t, pb);
	app(&t, d2);
	free(pb);
	return buf_steal(&t);
}

#define SIG_OK_ID "11111111-0000-4000-8000-000000000001"
#define SIG_BARE_ID "22222222-0000-4000-8000-000000000002"
#define SIG_NONE_ID "33333333-0000-4000-8000-000000000003"

START_TEST(jws_signature_recorded)
{
	char dir[512];
	snprintf(dir, sizeof dir, "%s/node", th_tmpdir());
	char *vkey = NULL;
	ck_assert_int_eq(lv_node_init(dir, NULL, "school.example/node-1", &vkey), LV_OK);
	free(vkey);
	struct lv_node *node = NULL;
	ck_assert_int_eq(lv_node_open(dir, NULL, NULL, &node), LV_OK);

	/* Signed with x5c: verified. */
	char *pl = payload_text();
	char *ok = with_id(pl, SIG_OK_ID);
	char *h = rs_header("RS256", cert_a);
	char *jws = make_jws(h, ok, key_a, EVP_sha256(), false, NULL);
	cJSON *st = posted(ok, jws);
	char *json = cJSON_PrintUnformatted(st);
	store_signed(node, json, jws);
	free(json);
	cJSON_Delete(st);
	free(jws);
	free(h);

	/* Without x5c, the payload swapped for another statement's and the
	 * signature kept: the signature cannot be checked, the statement is
	 * stored and recorded as unverifiable. */
	char *bare = with_id(pl, SIG_BARE_ID);
	h = rs_header("RS256", NULL);
	jws = make_jws(h, ok, key_b, EVP_sha256(), false, NULL);
	char *tampered = swap_payload(jws, bare);
	st = posted(bare, tampered);
	json = cJSON_PrintUnformatted(st);
	store_signed(node, json, tampered);
	free(json);
	cJSON_Delete(st);
	free(tampered);
	free(jws);
	free(h);

	/* Not signed: not in the map. */
	char *none = with_id(pl, SIG_NONE_ID);
	const struct lv_principal prov = {.role = LV_ROLE_PROVIDER, .id = "p1"};
	cJSON *b = cJSON_CreateArray();
	cJSON_AddItemToArray(b, cJSON_Parse(none));
	char err[LV_ERR_LEN];
	ck_assert_int_eq(lv_ingest(node, &prov, b, NULL, 0, err), LV_OK);
	cJSON_Delete(b);

	char learner[LV_PSEUDONYM_LEN];
	bool created = true;
	ck_assert_int_eq(lv_learner_enrol(node, "{\"mbox\":\"mailto:learner@example.com\"}", learner, &created),
			 LV_OK);
	ck_assert(!created);
	const struct lv_principal admin = {.role = LV_ROLE_ADMIN, .id = "cli"};
	cJSON *doc = NULL;
	ck_assert_int_eq(lv_learner_export(node, &admin, learner, LV_PURPOSE_OPERATOR_REQUEST, &doc), LV_OK);
	const cJSON *sigs = cJSON_GetObjectItem(doc, "signatures");
	ck_assert(cJSON_IsObject(sigs));
	ck_assert_int_eq(cJSON_GetArraySize(sigs), 2);
	ck_assert_str_eq(cJSON_GetObjectItem(sigs, SIG_OK_ID)->valuestring, "verified");
	ck_assert_str_eq(cJSON_GetObjectItem(sigs, SIG_BARE_ID)->valuestring, "unverifiable");
	ck_assert_ptr_null(cJSON_GetObjectItem(sigs, SIG_NONE_ID));
	/* The statements themselves carry nothing of it. */
	const cJSON *all = cJSON_GetObjectItem(doc, "statements");
	ck_assert_int_eq(cJSON_GetArraySize(all), 3);
	char *text = cJSON_PrintUnformatted(all);
	ck_assert_ptr_null(strstr(text, "verified"));
	free(text);
	cJSON_Delete(doc);

	lv_node_close(node);
	th_rmtree(dir);
	free(none);
	free(bare);
	free(ok);
	free(pl);
}
END_TEST

START_TEST(jws_signature_state_direct)
{
	/* Outside any request: a JWS that does not verify, or no part at all,
	 * is unverifiable, never verified. */
	char *pl = payload_text(), *h = rs_header("RS256", cert_a);
	char *jws = make_jws(h, pl, key_b, EVP_sha256(), false, NULL); /* not cert_a's key */
	cJSON *st = posted(pl, jws);
	char hash[65];
	sha_hex(jws, strlen(jws), hash);
	struct lv_attachment att = {.sha2 = hash, .content_type = "application/octet-stream",
				    .data = (const unsigned char *)jws, .len = strlen(jws)};
	ck_assert_int_eq(lv_xapi_signature_state(st, &att, 1), LV_XAPI_SIG_UNVERIFIABLE);
	ck_assert_int_eq(lv_xapi_signature_state(st, NULL, 0), LV_XAPI_SIG_UNVERIFIABLE);
	cJSON_Delete(st);
	free(jws);
	jws = make_jws(h, pl, key_a, EVP_sha256(), false, NULL);
	st = posted(pl, jws);
	sha_hex(jws, strlen(jws), hash);
	att.data = (const unsigned char *)jws;
	att.len = strlen(jws);
	ck_assert_int_eq(lv_xapi_signature_state(st, &att, 1), LV_XAPI_SIG_VERIFIED);
	cJSON_Delete(st);
	cJSON *plain = cJSON_Parse(pl);
	ck_assert_int_eq(lv_xapi_signature_state(plain, &att, 1), LV_XAPI_SIG_NONE);
	cJSON_Delete(plain);
	free(jws);
	free(h);
	free(pl);
}
END_TEST

/* ---- building --------------------------------------------------------- */

static size_t count(const char *hay, size_t n, const char *needle)
{
	size_t c = 0, nl = strlen(needle);
	for (const char *p = hay; (p = memmem(p, n - (size_t)(p - hay), needle, nl)); p += nl)
		c++;
	return c;
}

START_TEST(build_roundtrip)
{
	char h1[65], h2[65], err[MP_ERR_LEN], bnd[MP_BOUNDARY_LEN];
	sha_hex(TEXT1, strlen(TEXT1), h1);
	sha_hex(TEXT2, strlen(TEXT2), h2);
	char *a1 = text_attachment(h1, NULL), *a2 = text_attachment(h2, NULL);
	struct buf arr;
	buf_init(&arr, 1 << 16);
	ck_assert_int_eq(buf_printf(&arr, "[%s,%s]", a1, a2), LV_OK);
	char *json = statement_with(arr.data);
	struct mp_part parts[3] = {
		{ .content_type = "text/plain", .sha2 = h1, .body = (const unsigned char *)TEXT1, .len = strlen(TEXT1) },
		{ .content_type = NULL, .sha2 = h2, .body = (const unsigned char *)TEXT2, .len = strlen(TEXT2) },
		{ .content_type = "text/plain", .sha2 = h1, .body = (const unsigned char *)TEXT1, .len = strlen(TEXT1) },
	};
	struct buf out;
	buf_init(&out, 1 << 20);
	app(&out, "X"); /* built output is appended */
	ck_assert_int_eq(multipart_build(json, strlen(json), parts, 3, &out, bnd), LV_OK);
	ck_assert_uint_eq(strlen(bnd), 32);
	ck_assert_int_eq(out.data[0], 'X');
	/* Each hash once in the JSON and once as a part header (the ADL
	 * suite counts exactly two). */
	ck_assert_uint_eq(count(out.data, out.len, h1), 2);
	ck_assert_uint_eq(count(out.data, out.len, h2), 2);
	char ct[128];
	snprintf(ct, sizeof ct, "multipart/mixed; boundary=%s", bnd);
	struct mp_list l;
	ck_assert_int_eq(multipart_parse(ct, (unsigned char *)out.data + 1, out.len - 1, &l, err), LV_OK);
	ck_assert_uint_eq(l.n, 3);
	ck_assert_uint_eq(l.parts[0].len, strlen(json));
	ck_assert_int_eq(memcmp(l.parts[0].body, json, strlen(json)), 0);
	ck_assert_str_eq(l.parts[2].content_type, "application/octet-stream");
	ck_assert_str_eq(l.parts[1].transfer_encoding, "binary");
	multipart_free(&l);
	ck_assert_int_eq(parse_and_check(ct, out.data + 1, out.len - 1), LV_OK);

	/* Over the cap: failure leaves @out as it was. */
	struct buf small;
	buf_init(&small, 64);
	app(&small, "keep");
	ck_assert_int_eq(multipart_build(json, strlen(json), parts, 3, &small, bnd), LV_ERR_TOO_LARGE);
	ck_assert_str_eq(small.data, "keep");
	ck_assert_str_eq(bnd, "");
	/* Header injection through a content type. */
	struct mp_part evil = { .content_type = "text/plain\r\nX-Evil: 1", .sha2 = h1,
				.body = (const unsigned char *)TEXT1, .len = strlen(TEXT1) };
	ck_assert_int_eq(multipart_build(json, strlen(json), &evil, 1, &small, bnd), LV_ERR_INVALID);
	ck_assert_str_eq(small.data, "keep");
	buf_free(&small);
	buf_free(&out);
	buf_free(&arr);
	free(json);
	free(a1);
	free(a2);
}
END_TEST

Suite *lv_test_suite(void)
{
	Suite *s = suite_create("multipart");
	TCase *tc = tcase_create("parse");
	tcase_add_test(tc, parse_good_body);
	tcase_add_test(tc, parse_quoted_boundary);
	tcase_add_test(tc, parse_missing_boundary);
	tcase_add_test(tc, parse_truncated);
	tcase_add_test(tc, parse_missing_final_boundary);
	tcase_add_test(tc, parse_too_many_parts);
	tcase_add_test(tc, parse_malformed_parts);
	suite_add_tcase(s, tc);

	tc = tcase_create("attachments");
	tcase_add_test(tc, attachments_match);
	tcase_add_test(tc, attachments_hash_mismatch);
	tcase_add_test(tc, attachments_unreferenced_part);
	tcase_add_test(tc, attachments_missing_part);
	tcase_add_test(tc, attachments_encoding_and_first_part);
	tcase_add_test(tc, attachments_file_url_only);
	suite_add_tcase(s, tc);

	tc = tcase_create("jws");
	/* RSA key generation is slow: once, in the parent, before forking. */
	tcase_add_unchecked_fixture(tc, keys_setup, keys_teardown);
	tcase_add_test(tc, jws_valid_rs256_rs384_rs512);
	tcase_add_test(tc, jws_without_x5c_accepted);
	tcase_add_test(tc, jws_lrs_properties_ignored);
	tcase_add_test(tc, jws_tampered_payload);
	tcase_add_test(tc, jws_payload_differs_from_statement);
	tcase_add_test(tc, jws_wrong_key);
	tcase_add_test(tc, jws_bad_algs);
	tcase_add_test(tc, jws_bad_encoding);
	tcase_add_test(tc, jws_through_multipart);
	tcase_add_test(tc, jws_signature_recorded);
	tcase_add_test(tc, jws_signature_state_direct);
	suite_add_tcase(s, tc);

	tc = tcase_create("build");
	tcase_add_test(tc, build_roundtrip);
	suite_add_tcase(s, tc);
	return s;
}
