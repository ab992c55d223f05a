/* learnvault — consent on a node: the registry of loaded policies.
 * (Grants, withdrawals and the access check come with the consent ledger.) */
#ifndef LEARNVAULT_CONSENT_H
#define LEARNVAULT_CONSENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "learnvault/node.h"
#include "learnvault/policy.h"
#include "learnvault/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Loads policy text @text into the node.  The policy is validated
 * (lv_policy_parse) and stored in canonical form with its SHA-256.  Loading
 * the same (id, version) again with the same canonical text changes
 * nothing (*@added false); with a different text it is refused with
 * LV_ERR_CONFLICT: a change needs a new version, and a new version carries
 * no grants over.  @id receives the policy id, *@version its version. */
LV_EXPORT enum lv_status lv_policy_load(struct lv_node *node, const char *text, size_t len, bool *added,
					char id[LV_POLICY_ID_MAX + 1], uint32_t *version,
					char err[LV_POLICY_ERR_LEN]) LV_WARN_UNUSED;

/* The loaded policies as a JSON array, newest version of each id last:
 * [{"id", "version", "sha256", "loaded", "policy": {...}}].  *@json is
 * malloc'd (caller frees). */
LV_EXPORT enum lv_status lv_policy_list(struct lv_node *node, char **json) LV_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif
