/* The xAPI 1.0.3 attachment rules (Communication §1.5.2, Data §2.4.11,
 * §2.6): which attachments of a statement request need a part, how parts
 * and sha2 values match, and signed statements.  The parts come already
 * split from the multipart body (HTTP's job); this file only judges them. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "xapi_int.h"

#define SHA256_HEX_LEN (crypto_hash_sha256_BYTES * 2)

static void sha256_hex(const unsigned char *d, size_t n, char hex[SHA256_HEX_LEN + 1])
{
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, d, n);
	sodium_bin2hex(hex, SHA256_HEX_LEN + 1, h, sizeof h);
}

/* sha2 is hex; clients differ in letter case. */
static bool sha2_eq(const char *a, const char *b)
{
	return a && b && strcasecmp(a, b) == 0;
}

/* Calls @fn for every attachment of every statement. */
typedef enum lv_status (*att_fn)(void *ctx, const cJSON *st, const cJSON *att, size_t si, size_t ai,
				 char err[LV_XAPI_ERR_LEN]);

static enum lv_status for_each_attachment(const cJSON *statements, att_fn fn, void *ctx,
					  char err[LV_XAPI_ERR_LEN])
{
	const cJSON *st;
	size_t si = 0;
	bool single = cJSON_IsObject(statements);
	if (!single && !cJSON_IsArray(statements)) {
		util_errf(err, "statements must be an object or an array");
		return LV_ERR_INVALID;
	}
	for (st = single ? statements : statements->child; st; st = single ? NULL : st->next, si++) {
		if (!cJSON_IsObject(st)) {
			util_errf(err, "statement %zu is not an object", si);
			return LV_ERR_INVALID;
		}
		const cJSON *atts = cJSON_GetObjectItemCaseSensitive(st, "attachments");
		if (!atts)
			continue;
		if (!cJSON_IsArray(atts)) {
			util_errf(err, "statement %zu: attachments is not an array", si);
			return LV_ERR_INVALID;
		}
		const cJSON *att;
		size_t ai = 0;
		cJSON_ArrayForEach(att, atts) {
			if (!cJSON_IsObject(att) || !util_json_str(att, "sha2", NULL)) {
				util_errf(err, "statement %zu: attachment %zu needs a sha2 string", si, ai);
				return LV_ERR_INVALID;
			}
			enum lv_status s = fn(ctx, st, att, si, ai, err);
			if (s != LV_OK)
				return s;
			ai++;
		}
	}
	return LV_OK;
}

struct check_ctx {
	const struct lv_xapi_part *parts;
	size_t nparts;
	bool *referenced; /* per part, index 0 unused */
};

/* The attachment part (index 1 or more) whose hash is @sha2, or NULL. */
static const struct lv_xapi_part *find_part(const struct check_ctx *c, const char *sha2, size_t *idx)
{
	for (size_t i = 1; i < c->nparts; i++) {
		if (sha2_eq(c->parts[i].sha2, sha2)) {
			*idx = i;
			return &c->parts[i];
		}
	}
	return NULL;
}

static enum lv_status check_one(void *vctx, const cJSON *st, const cJSON *att, size_t si, size_t ai,
				char err[LV_XAPI_ERR_LEN])
{
	struct check_ctx *c = vctx;
	size_t idx = 0;
	const struct lv_xapi_part *part = find_part(c, util_json_str(att, "sha2", NULL), &idx);
	if (part)
		c->referenced[idx] = true;
	bool has_url = cJSON_GetObjectItemCaseSensitive(att, "fileUrl") != NULL;
	const char *usage = util_json_str(att, "usageType", NULL);
	bool signature = usage && strcmp(usage, XAPI_SIGNATURE_USAGE) == 0;

	if (!signature) {
		if (!part && !has_url) {
			util_errf(err, "statement %zu: attachment %zu has neither fileUrl nor a part", si, ai);
			return LV_ERR_INVALID;
		}
		return LV_OK;
	}
	/* xAPI §2.6: the JWS travels as an application/octet-stream part;
	 * anything else under the signature usageType is a malformed
	 * signature, not an ordinary attachment. */
	if (!xapi_media_type_is(util_json_str(att, "contentType", NULL), "application/octet-stream")) {
		util_errf(err, "statement %zu: signature attachment must be application/octet-stream", si);
		return LV_ERR_INVALID;
	}
	if (!part) {
		util_errf(err, "statement %zu: signature attachment has no part", si);
		return LV_ERR_INVALID;
	}
	char jerr[LV_XAPI_ERR_LEN];
	enum lv_status s = xapi_jws_verify((const char *)part->body, part->len, st, jerr);
	if (s != LV_OK) {
		util_errf(err, "statement %zu: signature: %s", si, jerr);
		return s;
	}
	return LV_OK;
}

/* The rules on the parts alone: the statement part first, then every
 * attachment part with a hash that matches its bytes and no other part. */
static enum lv_status check_parts(const struct lv_xapi_part *parts, size_t nparts, char err[LV_XAPI_ERR_LEN])
{
	if (!xapi_media_type_is(parts[0].content_type, "application/json")) {
		util_errf(err, "first part must have Content-Type application/json");
		return LV_ERR_INVALID;
	}
	for (size_t i = 1; i < nparts; i++) {
		const struct lv_xapi_part *p = &parts[i];
		if (!p->sha2) {
			util_errf(err, "part %zu has no X-Experience-API-Hash", i);
			return LV_ERR_INVALID;
		}
		if (!p->transfer_encoding || strcasecmp(p->transfer_encoding, "binary") != 0) {
			util_errf(err, "part %zu: Content-Transfer-Encoding must be binary", i);
			return LV_ERR_INVALID;
		}
		char hex[SHA256_HEX_LEN + 1];
		sha256_hex(p->body, p->len, hex);
		if (!sha2_eq(hex, p->sha2)) {
			util_errf(err, "part %zu: X-Experience-API-Hash does not match its content", i);
			return LV_ERR_INVALID;
		}
		for (size_t j = 1; j < i; j++) {
			if (sha2_eq(parts[j].sha2, p->sha2)) {
				util_errf(err, "parts %zu and %zu have the same hash", j, i);
				return LV_ERR_INVALID;
			}
		}
	}
	return LV_OK;
}

enum lv_status xapi_check_attachments(const cJSON *statements, const struct lv_xapi_part *parts,
				      size_t nparts, char err[LV_XAPI_ERR_LEN])
{
	enum lv_status st = LV_OK;
	struct check_ctx c = {parts, parts ? nparts : 0, NULL};

	err[0] = '\0';
	if (c.nparts > 0) {
		st = check_parts(parts, c.nparts, err);
		if (st != LV_OK)
			return st;
		c.referenced = calloc(c.nparts, sizeof *c.referenced);
		if (!c.referenced) {
			util_errf(err, "out of memory");
			return LV_ERR_NOMEM;
		}
	}
	st = for_each_attachment(statements, check_one, &c, err);
	if (st != LV_OK)
		goto out;
	for (size_t i = 1; i < c.nparts; i++) {
		if (!c.referenced[i]) {
			util_errf(err, "part %zu is not referenced by any attachment sha2", i);
			st = LV_ERR_INVALID;
			goto out;
		}
	}
out:
	free(c.referenced);
	return st;
}
