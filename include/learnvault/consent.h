/* learnvault — consent on a node: the registry of loaded policies, the
 * consent ledger (grants, refusals, withdrawals, renewals, expiries), the
 * one pure evaluator of the consent rules, and the access check. */
#ifndef LEARNVAULT_CONSENT_H
#define LEARNVAULT_CONSENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "learnvault/node.h"
#include "learnvault/policy.h"
#include "learnvault/status.h"
#include "learnvault/store.h"

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

/* ---- the consent ledger ---- */

/* The DPV consent statuses recorded as immutable events (LV_CONSENT_GIVEN,
 * _RENEWED, _REFUSED, _WITHDRAWN, _EXPIRED) are in learnvault/store.h:
 * they are the values of the ledger's rows, and the erasure, which ends
 * every grant, is the store's. */

/* LV_RECORD_ID_LEN, the size of a consent record id, is in learnvault/store.h. */
#define LV_CONSENT_ERR_LEN LV_ERR_LEN

/* Records learner @learner's decision on policy @policy_id (@version 0: the
 * newest loaded version) made by @actor: a learner credential bound to
 * @learner, a guardian credential bound to @learner, or an admin (CLI, with
 * @on_behalf LV_ROLE_LEARNER or LV_ROLE_GUARDIAN saying who decided).  @give
 * false records a refusal.  A grant binds to the policy's (id, version,
 * SHA-256) and lasts consent_valid_days; a grant while one is live is a
 * renewal.  Guardian rule: below the policy's guardian_below_age (an
 * unknown birth date counts as below) only a guardian decides; at or above
 * it only the learner (and a guardian's earlier grant no longer counts:
 * lv_consent_evaluate).  The event and its audit entry commit together.
 * LV_ERR_FORBIDDEN (with @err) when the actor may not decide,
 * LV_ERR_NOT_FOUND for an unknown learner or policy. */
LV_EXPORT enum lv_status lv_consent_decide(struct lv_node *node, const struct lv_principal *actor,
					   enum lv_role on_behalf, const char *learner, const char *policy_id,
					   uint32_t version, bool give, char record_id[LV_RECORD_ID_LEN],
					   char err[LV_CONSENT_ERR_LEN]) LV_WARN_UNUSED;

/* Withdraws the learner's consent to @policy_id (every version): effective
 * for every later access.  Same actor rules as lv_consent_decide. */
LV_EXPORT enum lv_status lv_consent_withdraw(struct lv_node *node, const struct lv_principal *actor,
					     enum lv_role on_behalf, const char *learner, const char *policy_id,
					     char record_id[LV_RECORD_ID_LEN],
					     char err[LV_CONSENT_ERR_LEN]) LV_WARN_UNUSED;

/* The learner's consent events (oldest first) and, per policy, the current
 * status: {"events":[...], "status":{"<policy>":{"allowed","version","reason"}}}. */
LV_EXPORT enum lv_status lv_consent_list(struct lv_node *node, const char *learner, int64_t now_ms,
					 char **json) LV_WARN_UNUSED;

/* True when @date is a birth date lv_learner_set_birth_date accepts, so a
 * caller can refuse bad input before it changes anything else. */
LV_EXPORT bool lv_birth_date_valid(const char *date);

/* Sets the learner's birth date (YYYY-MM-DD, year 1900 or later) for the
 * guardian rule, and logs it ({"type":"birth_date","learner","birth_date"})
 * in the same transaction, so that an auditor can replay the rule.
 * LV_ERR_INVALID (nothing written, nothing logged) for a malformed date,
 * LV_ERR_NOT_FOUND for an unknown learner. */
LV_EXPORT enum lv_status lv_learner_set_birth_date(struct lv_node *node, const char *learner,
						   const char *date) LV_WARN_UNUSED;

/* What an access would touch.  NULL arrays / has_op false: not asked. */
struct lv_consent_scope {
	const char *resource; /* what is read ("statements", "export", ...); may be NULL */
	bool has_op;
	enum lv_policy_op op;
	const char *const *verbs;
	size_t nverbs;
	const char *const *activity_types;
	size_t ntypes;
	const char *const *result_fields;
	size_t nfields;
};

struct lv_consent_decision {
	bool allow;
	char reason[160];                 /* why, in plain words; never data */
	char record_id[LV_RECORD_ID_LEN]; /* the grant relied on ("" on deny) */
	uint32_t policy_version;
	uint64_t audit_index;             /* the access entry written */
};

/* Built-in purposes that rest on no policy. */
#define LV_PURPOSE_SELF "learner-right-of-access"          /* the learner or guardian, own data */
#define LV_PURPOSE_PROVIDER_READBACK "xapi-provider-readback" /* a provider, what it sent */
#define LV_PURPOSE_OPERATOR_REQUEST "learner-request-by-operator" /* the local operator (CLI) fulfilling
								     * a learner's request */

/* ---- the consent rules: one pure evaluator ----
 * No storage, no clock, no logging.  Its callers read what it needs (the
 * access check and the lists here, the aggregate door's cohort, the
 * query's scope check, the offline verifier's scope replay) and act on
 * what it answers. */

/* A loaded policy version as node.db holds it, parsed. */
struct lv_policy_loaded {
	uint32_t version;
	char sha256[LV_POLICY_DIGEST_HEX_LEN]; /* recorded at load: what a grant binds to */
	struct lv_policy *policy;              /* owned: lv_policy_loaded_clear */
};
/* Version @version of policy @id (0: the newest loaded) into *@out.
 * LV_ERR_NOT_FOUND when it is not loaded; the parser's status if the
 * stored text no longer parses.  On failure *@out is zeroed.  The caller
 * releases it with lv_policy_loaded_clear.  Lock held. */
LV_EXPORT enum lv_status lv_policy_loaded_get_locked(struct lv_node *node, const char *id, uint32_t version,
						     struct lv_policy_loaded *out) LV_WARN_UNUSED;
/* Frees what *@pl owns and zeroes it; NULL or zeroed: a no-op. */
LV_EXPORT void lv_policy_loaded_clear(struct lv_policy_loaded *pl);

/* The parts of a scope a policy leaves out (lv_consent_scope_check).
 * The strings are borrowed from the scope checked. */
struct lv_consent_scope_miss {
	bool operation;            /* scope->op is not among the policy's operations */
	const char *verb;          /* the first verb outside data.verbs, or NULL */
	const char *activity_type; /* the first outside data.activity_types, or NULL */
	const char *result_field;  /* the first outside data.result_fields, or NULL */
};
/* True when every part @scope asks (its operation when has_op, each verb,
 * activity type and result field) is inside @policy; a NULL @scope asks
 * nothing.  *@miss (may be NULL) is cleared, then names every part
 * outside, so that each caller words and orders its refusal as it needs:
 * lv_consent_evaluate names the operation, then a verb, an activity type,
 * a result field.  Pure. */
LV_EXPORT bool lv_consent_scope_check(const struct lv_policy *policy, const struct lv_consent_scope *scope,
				      struct lv_consent_scope_miss *miss) LV_WARN_UNUSED;

/* THE consent rule for a policy purpose: may data in @scope (NULL: not
 * asked) be used at @now_ms under @policy, the newest loaded version of
 * the purpose's policy, given @latest, the learner's latest consent event
 * for that policy id (NULL: none on record), and @birth_date, the
 * learner's birth date as stored ("YYYY-MM-DD"; NULL or unreadable:
 * unknown, which the guardian rule counts as below any age)?
 * Allows only when @latest is a grant or renewal for that version and
 * SHA-256, still valid at @now_ms, given by the right person at @now_ms
 * under the policy's guardian_below_age A > 0 (below A, or with the birth
 * date unknown: a guardian; at or above A: the learner, so a guardian's
 * grant stops counting on the learner's birthday A), and @scope is inside
 * the policy (lv_consent_scope_check).  *@out is filled: allow, reason,
 * policy_version (@policy's), record_id (the grant relied on; "" on deny),
 * audit_index 0.  *@expired is true when the only thing wrong is that the
 * grant has run out (the caller records a ConsentExpired event).  Pure:
 * no storage, no clock, no logging. */
LV_EXPORT void lv_consent_evaluate(const struct lv_policy_loaded *policy, const struct lv_store_consent_event *latest,
				   const char *birth_date, const struct lv_consent_scope *scope, int64_t now_ms,
				   struct lv_consent_decision *out, bool *expired);

/* The guardian rule for who decides: true when a decision made by a
 * guardian (@by_guardian) or by the learner (false) is the one that counts
 * under @policy at @now_ms, for a learner born on @birth_date (NULL or
 * unreadable: unknown, counted as below any age).  Below the policy's
 * guardian_below_age only a guardian decides; at or above it only the
 * learner.  Pure: the node's ledger and the offline verifier both ask. */
LV_EXPORT bool lv_consent_decider_ok(const struct lv_policy *policy, const char *birth_date, bool by_guardian,
				     int64_t now_ms) LV_WARN_UNUSED;

/* THE access check: every read of learner data goes through here, for a
 * policy purpose or one of the built-in purposes above.  Default deny.  Allows only when the newest loaded version of
 * @policy_id has a live grant from this learner (or their guardian, per
 * the guardian rule as of @now_ms), not withdrawn, not expired, and the
 * scope is inside the policy's data scope and operations.  LV_PURPOSE_SELF
 * allows only a learner or guardian credential bound to @learner;
 * LV_PURPOSE_PROVIDER_READBACK only a provider.  In one node.db
 * transaction it records an expiry it discovers and appends the audit
 * entry (who, role, purpose, consent record, scope, @count, decision);
 * if that write fails the answer is deny.  Returns LV_OK with *@out filled
 * (allow or deny), or an error (then out->allow is false). */
LV_EXPORT enum lv_status lv_access_authorize(struct lv_node *node, const struct lv_principal *who,
					     const char *learner, const char *policy_id,
					     const struct lv_consent_scope *scope, uint64_t count, int64_t now_ms,
					     struct lv_consent_decision *out) LV_WARN_UNUSED;


/* ---- consent's lock-held calls for the doors (door/, query/) ----
 * Run inside the caller's node.db transaction (include/learnvault/store.h:
 * lv_tx_open_locked), so a use case can decide and log several accesses
 * and release nothing unless all of them committed. */

/* lv_access_authorize inside the caller's open node.db transaction (the
 * read-back and learner doors call it for each learner whose data they
 * are about to release).  Lock held. */
enum lv_status lv_access_authorize_locked(struct lv_node *node, const struct lv_principal *who, const char *learner,
				       const char *purpose, const struct lv_consent_scope *scope, uint64_t count,
				       int64_t now_ms, struct lv_consent_decision *out) LV_WARN_UNUSED;

/* consent/ledger.c, for the aggregate door.  A learner whose consent to
 * the newest version of a policy is live (grant or renewal for that
 * version and SHA-256, not expired, guardian rule met). */
struct lv_consent_member {
	char learner[LV_PSEUDONYM_LEN];
	char record_id[LV_RECORD_ID_LEN];
	uint32_t policy_version;
};
/* Every such learner of @policy_id at @now, by pseudonym; expiries it
 * finds are recorded as events.  *@out is malloc'd (caller frees).  Lock
 * held, inside a node.db transaction.  LV_ERR_NOT_FOUND: no such policy. */
enum lv_status lv_consent_cohort_locked(struct lv_node *node, const char *policy_id, int64_t now_ms,
				     struct lv_consent_member **out, size_t *count) LV_WARN_UNUSED;
/* Appends the access entry of a cohort member whose data is about to be
 * used (decision allow, count 1, @extra's members merged in; @extra is
 * taken).  *@index gets the entry's index.  Lock held, in a transaction. */
enum lv_status lv_access_log_member_locked(struct lv_node *node, const struct lv_principal *who, const char *purpose,
					const struct lv_consent_member *m, const struct lv_consent_scope *scope,
					cJSON *extra, uint64_t *index) LV_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif
