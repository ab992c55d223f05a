/* The exports: the learner's JSON document (statements, consent history,
 * access report) and the portable vault file, for the learner's door or
 * the operator acting on the learner's request. */
#include <stdlib.h>
#include <string.h>

#include "door_int.h"
#include "learnvault/auditlog.h"
#include "learnvault/consent.h"
#include "learnvault/door.h"
#include "learnvault/store.h"
#include "learnvault/vault.h"
#include "learnvault/util.h"

/* Every statement of @learner, all pages, in stored order, and what is
 * known of their signatures (lv_store_statement_signatures). */
static enum lv_status all_statements(struct lv_node *n, const char *learner, cJSON **out, cJSON **sigs)
{
	cJSON *all = cJSON_CreateArray(), *page = NULL;
	int64_t cursor = 0, next = 0;
	*out = NULL;
	*sigs = NULL;
	if (!all)
		return LV_ERR_NOMEM;
	enum lv_status st = lv_store_lock(n);
	if (st == LV_OK)
		st = lv_store_statement_signatures(n, learner, sigs);
	while (st == LV_OK) {
		st = lv_store_statements_learner_page(n, learner, cursor, 0, 0, &page, &next);
		if (st != LV_OK)
			break;
		cJSON *it;
		while ((it = cJSON_DetachItemFromArray(page, 0)))
			cJSON_AddItemToArray(all, it);
		cJSON_Delete(page);
		page = NULL;
		if (!next)
			break;
		cursor = next;
	}
	lv_store_unlock(n);
	if (st != LV_OK) {
		cJSON_Delete(all);
		cJSON_Delete(*sigs);
		*sigs = NULL;
		return st;
	}
	*out = all;
	return LV_OK;
}

enum lv_status lv_learner_export(struct lv_node *n, const struct lv_principal *who, const char *learner,
				 const char *purpose, cJSON **out)
{
	cJSON *all = NULL, *sigs = NULL, *report = NULL, *consents = NULL;
	char *json = NULL;
	*out = NULL;
	enum lv_status st = all_statements(n, learner, &all, &sigs);
	if (st == LV_OK)
		st = lv_consent_list(n, learner, util_now_ms(), &json);
	if (st == LV_OK)
		consents = util_json_parse(json, strlen(json));
	/* Decided and logged before anything is released; the report is read
	 * after, so it holds this access too. */
	if (st == LV_OK)
		st = door_authorize(n, who, learner, purpose, "export", (uint64_t)cJSON_GetArraySize(all));
	if (st == LV_OK)
		st = lv_audit_report(n, learner, &report);
	free(json);
	if (st != LV_OK) {
		cJSON_Delete(all);
		cJSON_Delete(sigs);
		cJSON_Delete(consents);
		return st;
	}
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "format", "learnvault-learner-export");
	cJSON_AddNumberToObject(o, "version", 1);
	cJSON_AddStringToObject(o, "learner", learner);
	cJSON_AddItemToObject(o, "statements", all);
	/* Beside the statements, never in them: a stored statement stays
	 * exactly as the provider sent it (docs/xapi.md, signed statements). */
	cJSON_AddItemToObject(o, "signatures", sigs);
	cJSON_AddItemToObject(o, "consents", consents ? consents : cJSON_CreateNull());
	cJSON_AddItemToObject(o, "access_report", report);
	*out = o;
	return LV_OK;
}

/* ---- the same document, streamed ---- */

struct lv_learner_export {
	struct lv_node *n;
	char learner[LV_PSEUDONYM_LEN];
	int64_t cursor, last_seq;   /* statements after cursor, up to last_seq, are still to send */
	bool started;               /* a statement was sent */
	char *head, *tail;          /* the JSON text before and after the statements */
};

void lv_learner_export_destroy(struct lv_learner_export *x)
{
	if (!x)
		return;
	free(x->head);
	free(x->tail);
	free(x);
}

/* The text around the statements: the document's other members printed
 * as lv_learner_export prints them, split where "statements" goes. */
static enum lv_status export_frame(struct lv_learner_export *x, cJSON *sigs, cJSON *consents, cJSON *report)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "format", "learnvault-learner-export");
	cJSON_AddNumberToObject(o, "version", 1);
	cJSON_AddStringToObject(o, "learner", x->learner);
	cJSON_AddItemToObject(o, "statements", cJSON_CreateArray());
	cJSON_AddItemToObject(o, "signatures", sigs);
	cJSON_AddItemToObject(o, "consents", consents ? consents : cJSON_CreateNull());
	cJSON_AddItemToObject(o, "access_report", report);
	char *text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	const char *cut = text ? strstr(text, "\"statements\":[]") : NULL;
	if (!cut) {
		free(text);
		return LV_ERR_NOMEM;
	}
	size_t at = (size_t)(cut - text) + strlen("\"statements\":[");
	x->head = strndup(text, at);
	x->tail = strdup(text + at);
	free(text);
	return x->head && x->tail ? LV_OK : LV_ERR_NOMEM;
}

enum lv_status lv_learner_export_open(struct lv_node *n, const struct lv_principal *who, const char *learner,
				      const char *purpose, struct lv_learner_export **out)
{
	cJSON *sigs = NULL, *report = NULL, *consents = NULL;
	char *json = NULL;
	int64_t count = 0;
	*out = NULL;
	struct lv_learner_export *x = calloc(1, sizeof *x);
	if (!x)
		return LV_ERR_NOMEM;
	x->n = n;
	snprintf(x->learner, sizeof x->learner, "%s", learner);
	enum lv_status st = lv_store_lock(n);
	if (st == LV_OK)
		st = lv_store_statement_signatures(n, learner, &sigs);
	if (st == LV_OK)
		st = lv_store_learner_statements_span(n, learner, &count, &x->last_seq);
	lv_store_unlock(n);
	if (st == LV_OK)
		st = lv_consent_list(n, learner, util_now_ms(), &json);
	if (st == LV_OK)
		consents = util_json_parse(json, strlen(json));
	free(json);
	/* Logged before anything is released, with the count of what will
	 * be: the statements up to last_seq. */
	if (st == LV_OK)
		st = door_authorize(n, who, learner, purpose, "export", (uint64_t)count);
	if (st == LV_OK)
		st = lv_audit_report(n, learner, &report);
	if (st == LV_OK) {
		st = export_frame(x, sigs, consents, report);
		sigs = consents = report = NULL;
	}
	cJSON_Delete(sigs);
	cJSON_Delete(consents);
	cJSON_Delete(report);
	if (st != LV_OK) {
		lv_learner_export_destroy(x);
		return st;
	}
	*out = x;
	return LV_OK;
}

/* The next page of statements as JSON text (comma-led after the first);
 * an empty text when none are left. */
static enum lv_status export_page(struct lv_learner_export *x, char **text)
{
	cJSON *page = NULL, *it;
	int64_t next = 0;
	struct buf b;
	*text = NULL;
	if (x->cursor >= x->last_seq)
		return (*text = strdup("")) ? LV_OK : LV_ERR_NOMEM;
	enum lv_status st = lv_store_lock(x->n);
	if (st == LV_OK)
		st = lv_store_statements_learner_page(x->n, x->learner, x->cursor, x->last_seq, 0, &page, &next);
	lv_store_unlock(x->n);
	if (st != LV_OK)
		return st;
	buf_init(&b, (size_t)1 << 31); /* a page is bounded by max_page_bytes and one statement */
	cJSON_ArrayForEach(it, page) {
		char *one = cJSON_PrintUnformatted(it);
		if (!one || (x->started && buf_append(&b, ",", 1) != LV_OK) || buf_append(&b, one, strlen(one)) != LV_OK)
			st = LV_ERR_NOMEM;
		free(one);
		x->started = true;
		if (st != LV_OK)
			break;
	}
	cJSON_Delete(page);
	x->cursor = next ? next : x->last_seq;
	if (st == LV_OK)
		*text = b.data ? buf_steal(&b) : strdup("");
	buf_free(&b);
	return st != LV_OK ? st : *text ? LV_OK : LV_ERR_NOMEM;
}

enum lv_status lv_learner_export_next(struct lv_learner_export *x, char **chunk)
{
	*chunk = NULL;
	if (x->head) {
		*chunk = x->head;
		x->head = NULL;
		return LV_OK;
	}
	while (x->cursor < x->last_seq) {
		enum lv_status st = export_page(x, chunk);
		if (st != LV_OK || **chunk)
			return st;
		free(*chunk);
		*chunk = NULL;
	}
	*chunk = x->tail;
	x->tail = NULL;
	return LV_OK;
}

/* Why a vault export failed, into @err (may be NULL). */
static void vault_export_err(char err[LV_ERR_LEN], enum lv_status st, bool logging)
{
	if (!err)
		return;
	if (logging)
		util_errf(err, "cannot log the access, nothing written: %s", lv_status_str(st));
	else
		util_errf(err, "%s", st == LV_ERR_NOT_FOUND ? "no such learner" :
			  st == LV_ERR_INVALID ? "not a learner pseudonym" : lv_status_str(st));
}

enum lv_status lv_learner_vault_export_file(struct lv_node *n, const struct lv_principal *who, const char *learner,
					    const char *purpose, const char *passphrase, size_t passphrase_len,
					    struct lv_vault_file **file, char err[LV_ERR_LEN])
{
	struct lv_vault_file *f = NULL;
	*file = NULL;
	if (err)
		err[0] = '\0';
	enum lv_status st = lv_vault_export_file(n, learner, passphrase, passphrase_len, &f);
	if (st != LV_OK) {
		vault_export_err(err, st, false);
		return st;
	}
	/* The access is logged before the file leaves the door. */
	st = door_authorize(n, who, learner, purpose, "vault-export", 1);
	if (st != LV_OK) {
		vault_export_err(err, st, true);
		lv_vault_file_destroy(f);
		return st;
	}
	*file = f;
	return LV_OK;
}

enum lv_status lv_learner_vault_export(struct lv_node *n, const struct lv_principal *who, const char *learner,
				       const char *purpose, const char *passphrase, size_t passphrase_len,
				       unsigned char **file, size_t *file_len, char err[LV_ERR_LEN])
{
	struct lv_vault_file *f = NULL;
	*file = NULL;
	*file_len = 0;
	enum lv_status st = lv_learner_vault_export_file(n, who, learner, purpose, passphrase, passphrase_len, &f, err);
	if (st != LV_OK)
		return st;
	st = lv_vault_file_read_all(f, file, file_len);
	lv_vault_file_destroy(f);
	if (st != LV_OK && err)
		util_errf(err, "%s", lv_status_str(st));
	return st;
}
