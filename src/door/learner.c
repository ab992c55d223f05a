/* The learner's door reads: own statements and the access report. */
#include "door_int.h"
#include "learnvault/auditlog.h"
#include "learnvault/consent.h"
#include "learnvault/door.h"
#include "learnvault/store.h"

enum lv_status lv_learner_statements(struct lv_node *n, const struct lv_principal *who, const char *learner,
				     int64_t after_seq, unsigned limit, cJSON **result, int64_t *next_seq)
{
	*result = NULL;
	*next_seq = 0;
	cJSON *arr = NULL;
	int64_t next = 0;
	enum lv_status st = lv_store_lock(n);
	if (st == LV_OK)
		st = lv_store_statements_learner_page(n, learner, after_seq, 0, limit, &arr, &next);
	/* The page is logged, with its size, before it is sent; if the entry
	 * cannot be written nothing is sent. */
	if (st == LV_OK)
		st = door_authorize_locked(n, who, learner, LV_PURPOSE_SELF, "statements",
					   (uint64_t)cJSON_GetArraySize(arr));
	lv_store_unlock(n);
	if (st != LV_OK) {
		cJSON_Delete(arr);
		return st;
	}
	*result = arr;
	*next_seq = next;
	return LV_OK;
}

enum lv_status lv_learner_access_report(struct lv_node *n, const char *learner, cJSON **report)
{
	return lv_audit_report(n, learner, report);
}
