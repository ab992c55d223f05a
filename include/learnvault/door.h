/* learnvault — the use cases: each runs consent -> storage read -> audit
 * entry -> release (or, for writes, validate -> store with the derived
 * state), so that the HTTP routes and the CLI stay thin and no door can
 * be bypassed.
 *
 * Conventions (as in audit.h): out-parameters are cleared on failure;
 * returned text is malloc'd and owned by the caller. */
#ifndef LEARNVAULT_DOOR_H
#define LEARNVAULT_DOOR_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "learnvault/node.h"
#include "learnvault/status.h"
#include "learnvault/xapi.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Ingest: stores a validated batch (what lv_xapi_request_validate
 * returned) as provider @provider, with the derived state every stored
 * statement updates inside its vault transaction (the learner's model
 * state).  All or nothing, as lv_statements_store; @err says why.
 * @batch is completed in place (id, stored, authority...). */
LV_EXPORT enum lv_status lv_ingest(struct lv_node *node, const struct lv_principal *provider, cJSON *batch,
				   const struct lv_attachment *atts, size_t natts, char err[LV_ERR_LEN]) LV_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif
