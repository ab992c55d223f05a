/* The ingest use case: the store keeps the statements, the personal
 * module's hook keeps the learner's model state in the same vault
 * transaction. */
#include "learnvault/door.h"
#include "learnvault/personal.h"
#include "learnvault/statements.h"
#include "learnvault/store.h"

enum lv_status lv_ingest(struct lv_node *n, const struct lv_principal *prov, cJSON *batch,
			 const struct lv_attachment *atts, size_t natts, char err[LV_ERR_LEN])
{
	static const struct lv_store_hooks hooks = {.statement_stored = lv_personal_statement_stored};
	return lv_statements_store(n, prov, batch, atts, natts, &hooks, err);
}
