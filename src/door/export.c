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
		st = lv_store_statements_learner_page(n, learner, cursor, 0, &page, &next);
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
	size_t len = (size_t)lv_vault_file_size(f), got = 0;
	unsigned char *b = malloc(len);
	st = b ? lv_vault_file_read(f, 0, b, len, &got) : LV_ERR_NOMEM;
	if (st == LV_OK && got != len)
		st = LV_ERR_IO;
	lv_vault_file_destroy(f);
	if (st != LV_OK) {
		free(b);
		if (err)
			util_errf(err, "%s", lv_status_str(st));
		return st;
	}
	*file = b;
	*file_len = len;
	return LV_OK;
}
