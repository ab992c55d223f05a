/* The ingest use case: the store keeps the statements, the personal
 * module's hook keeps the learner's model state in the same vault
 * transaction. */
#include <stdlib.h>
#include <string.h>

#include "learnvault/door.h"
#include "learnvault/personal.h"
#include "learnvault/statements.h"
#include "learnvault/store.h"
#include "learnvault/xapi.h"

enum lv_status lv_ingest(struct lv_node *n, const struct lv_principal *prov, cJSON *batch,
			 const struct lv_attachment *atts, size_t natts, char err[LV_ERR_LEN])
{
	static const struct lv_store_hooks hooks = {.statement_stored = lv_personal_statement_stored};
	return lv_statements_store(n, prov, batch, atts, natts, &hooks, err);
}

enum lv_status lv_ingest_learner_count(const cJSON *batch, size_t *count)
{
	*count = 0;
	size_t n = (size_t)cJSON_GetArraySize(batch), k = 0;
	char **ids = calloc(n ? n : 1, sizeof *ids);
	enum lv_status st = ids ? LV_OK : LV_ERR_NOMEM;
	const cJSON *it;
	cJSON_ArrayForEach(it, batch) {
		char *id = NULL;
		if (st == LV_OK)
			st = lv_xapi_actor_identity(cJSON_GetObjectItemCaseSensitive(it, "actor"), 8192, &id);
		if (st != LV_OK)
			break;
		bool seen = false;
		for (size_t i = 0; i < k && !seen; i++)
			seen = strcmp(ids[i], id) == 0;
		if (seen)
			free(id);
		else
			ids[k++] = id;
	}
	for (size_t i = 0; i < k; i++)
		free(ids[i]);
	free(ids);
	if (st == LV_OK)
		*count = k;
	return st == LV_ERR_NOMEM ? st : st != LV_OK ? LV_ERR_INVALID : LV_OK;
}
