/* The learner's export: one JSON document with every statement, the
 * consent history and the access report, behind the access check. */
#include <stdlib.h>
#include <string.h>

#include "learnvault/auditlog.h"
#include "learnvault/consent.h"
#include "learnvault/statements.h"
#include "store.h"

enum lv_status lv_learner_export(struct lv_node *n, const struct lv_principal *who, const char *learner,
				 const char *purpose, cJSON **out)
{
	cJSON *all = cJSON_CreateArray(), *page = NULL, *report = NULL, *consents = NULL;
	char *json = NULL;
	int64_t cursor = 0, next = 0;
	enum lv_status st;
	*out = NULL;
	do {
		st = lv_learner_statements(n, learner, cursor, 0, &page, &next);
		if (st != LV_OK)
			break;
		cJSON *it;
		while ((it = cJSON_DetachItemFromArray(page, 0)))
			cJSON_AddItemToArray(all, it);
		cJSON_Delete(page);
		page = NULL;
		cursor = next;
	} while (next);
	if (st == LV_OK)
		st = lv_consent_list(n, learner, util_now_ms(), &json);
	if (st == LV_OK)
		consents = util_json_parse(json, strlen(json));
	if (st == LV_OK) {
		/* Decided and logged before anything is released. */
		struct lv_consent_decision d;
		struct lv_consent_scope sc = {.resource = "export"};
		st = lv_access_authorize(n, who, learner, purpose, &sc, (uint64_t)cJSON_GetArraySize(all),
					 util_now_ms(), &d);
		if (st == LV_OK && !d.allow)
			st = LV_ERR_FORBIDDEN;
	}
	if (st == LV_OK)
		st = lv_audit_report(n, learner, &report);
	free(json);
	if (st != LV_OK) {
		cJSON_Delete(all);
		cJSON_Delete(consents);
		return st;
	}
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "format", "learnvault-learner-export");
	cJSON_AddNumberToObject(o, "version", 1);
	cJSON_AddStringToObject(o, "learner", learner);
	cJSON_AddItemToObject(o, "statements", all);
	cJSON_AddItemToObject(o, "consents", consents ? consents : cJSON_CreateNull());
	cJSON_AddItemToObject(o, "access_report", report);
	*out = o;
	return LV_OK;
}
