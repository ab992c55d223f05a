/* One statement request, judged whole: JSON, statements, attachments and
 * signatures, the PUT id rule.  The HTTP door and `learnvault ingest` both
 * come through here, so both apply the same rules in the same order. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "xapi_int.h"

static enum lv_status reject(struct lv_xapi_error *err, enum lv_status st, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static enum lv_status reject(struct lv_xapi_error *err, enum lv_status st, const char *code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof err->message, fmt, ap);
	va_end(ap);
	/* Running out of memory is not the client's fault, whatever step it
	 * happened in. */
	err->code = st == LV_ERR_NOMEM ? "out_of_memory" : code;
	return st;
}

/* Parses the JSON into an array of statements (one object becomes a
 * one-element array).  On failure *@batch is NULL. */
static enum lv_status parse_batch(const struct lv_xapi_request *req, cJSON **batch, struct lv_xapi_error *err)
{
	*batch = NULL;
	cJSON *doc = util_json_parse(req->json, req->json_len);
	if (!doc)
		return reject(err, LV_ERR_INVALID, "invalid_json", "the body is not valid JSON");
	if (cJSON_IsArray(doc)) {
		if (req->statement_id) {
			cJSON_Delete(doc);
			return reject(err, LV_ERR_INVALID, "invalid", "PUT takes one statement, not an array");
		}
		*batch = doc;
		return LV_OK;
	}
	if (!cJSON_IsObject(doc)) {
		cJSON_Delete(doc);
		return reject(err, LV_ERR_INVALID, "invalid",
			      "the body must be a statement or an array of statements");
	}
	cJSON *arr = cJSON_CreateArray();
	if (!arr || !cJSON_AddItemToArray(arr, doc)) {
		cJSON_Delete(arr);
		cJSON_Delete(doc);
		return reject(err, LV_ERR_NOMEM, NULL, "out of memory");
	}
	*batch = arr;
	return LV_OK;
}

static enum lv_status validate_statements(const cJSON *batch, enum lv_xapi_version rules,
					  struct lv_xapi_error *err)
{
	char serr[LV_XAPI_ERR_LEN];
	size_t i = 0;
	const cJSON *st;
	cJSON_ArrayForEach(st, batch) {
		enum lv_status s = lv_xapi_validate_statement_as(st, rules, serr);
		if (s != LV_OK)
			return reject(err, s, "invalid_statement", "statement %zu: %s", i, serr);
		i++;
	}
	return LV_OK;
}

/* The attachment parts as the store takes them, borrowing from @req. */
static enum lv_status attachments_of(const struct lv_xapi_request *req, struct lv_xapi_batch *out,
				     struct lv_xapi_error *err)
{
	if (!req->parts || req->nparts < 2)
		return LV_OK;
	size_t n = req->nparts - 1;
	out->attachments = calloc(n, sizeof *out->attachments);
	if (!out->attachments)
		return reject(err, LV_ERR_NOMEM, NULL, "out of memory");
	for (size_t k = 0; k < n; k++) {
		const struct lv_xapi_part *p = &req->parts[k + 1];
		out->attachments[k].sha2 = p->sha2;
		out->attachments[k].content_type = p->content_type;
		out->attachments[k].data = p->body;
		out->attachments[k].len = p->len;
	}
	out->nattachments = n;
	return LV_OK;
}

/* PUT: the one statement's id, when it has one, is the statementId
 * (UUIDs compare without case); without one it takes the statementId.
 * Applied after the attachment rules, which judge the statement exactly
 * as received. */
static enum lv_status apply_statement_id(const char *sid, cJSON *batch, struct lv_xapi_error *err)
{
	cJSON *st = cJSON_GetArrayItem(batch, 0);
	const char *id = util_json_str(st, "id", NULL);
	if (id) {
		if (strcasecmp(id, sid) != 0)
			return reject(err, LV_ERR_INVALID, "invalid", "the statement id differs from statementId");
		return LV_OK;
	}
	if (!cJSON_AddStringToObject(st, "id", sid))
		return reject(err, LV_ERR_NOMEM, NULL, "out of memory");
	return LV_OK;
}

/* 2.0.0 (Data 2.4.10): a statement that does not say its version is a
 * 2.0.0 statement.  1.0.3 requests leave it to the store ("1.0.0").
 * Applied last, like the PUT id: the signature rules judged the
 * statements as received. */
static enum lv_status apply_version(enum lv_xapi_version rules, cJSON *batch, struct lv_xapi_error *err)
{
	if (rules != LV_XAPI_V2_0_0)
		return LV_OK;
	cJSON *st;
	cJSON_ArrayForEach(st, batch) {
		if (cJSON_GetObjectItemCaseSensitive(st, "version"))
			continue;
		if (!cJSON_AddStringToObject(st, "version", lv_xapi_version_name(rules)))
			return reject(err, LV_ERR_NOMEM, NULL, "out of memory");
	}
	return LV_OK;
}

void lv_xapi_batch_clear(struct lv_xapi_batch *b)
{
	if (!b)
		return;
	cJSON_Delete(b->statements);
	free(b->attachments);
	b->statements = NULL;
	b->attachments = NULL;
	b->nattachments = 0;
}

enum lv_status lv_xapi_request_validate(const struct lv_xapi_request *req, struct lv_xapi_batch *out,
					struct lv_xapi_error *err)
{
	struct lv_xapi_batch b = {NULL, NULL, 0};
	char aerr[LV_XAPI_ERR_LEN];
	enum lv_status st;

	out->statements = NULL;
	out->attachments = NULL;
	out->nattachments = 0;
	err->code = NULL;
	err->message[0] = '\0';
	st = parse_batch(req, &b.statements, err);
	if (st == LV_OK)
		st = validate_statements(b.statements, req->version, err);
	if (st == LV_OK) {
		st = xapi_check_attachments(b.statements, req->parts, req->nparts, aerr);
		if (st != LV_OK)
			reject(err, st, "invalid_attachment", "%s", aerr);
	}
	if (st == LV_OK)
		st = attachments_of(req, &b, err);
	if (st == LV_OK && req->statement_id)
		st = apply_statement_id(req->statement_id, b.statements, err);
	if (st == LV_OK)
		st = apply_version(req->version, b.statements, err);
	if (st != LV_OK) {
		lv_xapi_batch_clear(&b);
		return st;
	}
	*out = b;
	return LV_OK;
}
