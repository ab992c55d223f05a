/* xAPI 1.0.3 data rules: validation, actor identity, index keys.
 * Pure functions over cJSON trees; no storage, no I/O. */
#ifndef LV_STORE_XAPI_H
#define LV_STORE_XAPI_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "learnvault/status.h"
#include "util/util.h"

#define XAPI_ERR_LEN 256

/* Validates one statement as received from a client (xAPI 1.0.3 §2.2–2.4,
 * the rules the ADL conformance suite checks).  The statement may or may
 * not carry id/stored/authority/version.  Returns LV_OK, or LV_ERR_INVALID
 * with a one-line reason in @err (never containing statement values longer
 * than a property name). */
enum lv_status xapi_validate_statement(const cJSON *st, char err[XAPI_ERR_LEN]) LV_WARN_UNUSED;

/* Validates an Agent or Group object (as in statements, and as the `agent`
 * query / document parameter).  @allow_group false rejects Groups. */
enum lv_status xapi_validate_agent(const cJSON *agent, bool allow_group, char err[XAPI_ERR_LEN]) LV_WARN_UNUSED;

/* True when @s is an absolute IRI as xAPI needs it (scheme ":" rest). */
bool xapi_iri_valid(const char *s);

/* Writes the canonical identity of an Agent or Group into @out:
 *   "mbox:mailto:a@b", "mbox_sha1sum:<hex lower>", "openid:<uri>",
 *   "account:<homePage>|<name>", with the prefix "group/" for an
 *   identified Group; an anonymous Group is "anon-group:" followed by
 *   its members' identities sorted and joined by ",".
 * The agent must already be valid.  LV_ERR_INVALID if it has no IFI. */
enum lv_status xapi_actor_identity(const cJSON *actor, struct buf *out) LV_WARN_UNUSED;

/* Index keys of one (valid) statement, for the GET filters.
 * Callback kinds: */
enum xapi_key_kind {
	XAPI_KEY_AGENT,          /* actor, or object when it is an Agent/Group */
	XAPI_KEY_AGENT_RELATED,  /* authority, instructor, team, context/substatement agents, group members */
	XAPI_KEY_ACTIVITY,       /* object when it is an Activity */
	XAPI_KEY_ACTIVITY_RELATED, /* context activities, substatement object/context activities */
};
/* Calls @cb once per (kind, value) pair; value is an actor identity as
 * xapi_actor_identity() writes it, or an activity id.  Duplicates may be
 * reported more than once.  Stops and returns the first non-LV_OK status
 * from @cb. */
typedef enum lv_status (*xapi_key_cb)(void *ctx, enum xapi_key_kind kind, const char *value);
enum lv_status xapi_statement_keys(const cJSON *st, xapi_key_cb cb, void *ctx) LV_WARN_UNUSED;

/* Formats: returns a new statement tree for GET ?format=ids|exact|canonical.
 * "exact" is a deep copy; "ids" keeps only identifying properties of
 * actors, verb, object and activities (xAPI §2.1.3 Statement Format);
 * "canonical" keeps one language entry per language map, chosen from
 * @accept_language (may be NULL).  Caller owns the result (cJSON_Delete). */
cJSON *xapi_format_statement(const cJSON *st, const char *format, const char *accept_language);

/* Statement equivalence for a re-sent statement id (xAPI §2.2.4 "same
 * statement"): true when @a and @b are the same ignoring id, authority,
 * stored, timestamp, version and case of ids/IRIs. */
bool xapi_statements_equivalent(const cJSON *a, const cJSON *b);

#endif
