/* learnvault — consent policies.
 *
 * A policy file (policies/<id>.json) states, for one purpose, who the
 * controller is, what learner data the purpose may touch, which aggregate
 * operations it may run, its differential-privacy parameters, and the age,
 * retention and re-consent rules.  The full field reference is
 * docs/policies.md; this header is the contract of the parser.
 *
 * Parsing is strict: every field is checked for type, range and form,
 * unknown and duplicate fields are rejected (the message names the field),
 * and sizes are capped (LV_POLICY_MAX_TEXT, LV_POLICY_MAX_ITEMS,
 * LV_POLICY_MAX_STRING).
 *
 * Canonical text and digest.  A consent grant binds to
 * SHA-256(canonical text).  The canonical text is the parsed policy
 * re-serialised as JSON with
 *   - the members of every object sorted by key, byte-wise (all keys are
 *     ASCII, so this is also code-point and UTF-16 order);
 *   - no whitespace outside strings;
 *   - arrays kept in their input order (order is significant);
 *   - strings as cJSON prints them: UTF-8 as is, with only '"', '\\',
 *     '\b', '\f', '\n', '\r', '\t' and other C0 controls escaped
 *     (the parser admits none of the latter except '\n');
 *   - numbers as cJSON 1.7 prints them ("%1.15g", or "%1.17g" when that
 *     does not read back as the same double); -0 is normalised to 0.
 * It therefore does not depend on the input's key order, whitespace,
 * string escapes ("\u00e9" and "é" are the same) or number spelling
 * ("0.50", "5e-1" and "0.5" are the same).  Changing any value, or the
 * order of any array, changes it.
 *
 * A parsed policy is immutable: every accessor may be called from several
 * threads at once.  Strings returned by accessors are owned by the policy
 * and live until lv_policy_destroy().
 */
#ifndef LEARNVAULT_POLICY_H
#define LEARNVAULT_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "learnvault/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LV_POLICY_ERR_LEN LV_ERR_LEN          /* size of the parser's message buffer */
#define LV_POLICY_MAX_TEXT (64 * 1024) /* bytes of policy JSON */
#define LV_POLICY_MAX_ITEMS 64         /* items in any array */
#define LV_POLICY_MAX_STRING 4096      /* bytes in any string */
#define LV_POLICY_ID_MAX 64            /* bytes in an id: [a-z0-9-]{1,64} */
#define LV_POLICY_DIGEST_LEN 32        /* SHA-256 */
#define LV_POLICY_DIGEST_HEX_LEN 65    /* 64 lower-case hex digits + NUL */

struct lv_policy;

/* The aggregate operations a policy may allow (field "operations"). */
enum lv_policy_op {
	LV_POLICY_OP_COUNT = 0,
	LV_POLICY_OP_SUM = 1,
	LV_POLICY_OP_MEAN = 2,
	LV_POLICY_OP_HISTOGRAM = 3,
	LV_POLICY_OP_QUANTILE = 4,
};

/* The JSON name of @op ("count", "sum", ...); NULL when @op is not one of
 * the enum's values.  The string is static. */
LV_EXPORT const char *lv_policy_op_str(enum lv_policy_op op);

/* Looks up the operation named @name (exact, lower-case).  Returns false,
 * leaving *@op unchanged, when @name is NULL or names no operation. */
LV_EXPORT bool lv_policy_op_parse(const char *name, enum lv_policy_op *op) LV_WARN_UNUSED;

/* Parses and validates the policy JSON in @text (@len bytes, need not be
 * NUL-terminated; borrowed for the call only).
 *
 * On success returns LV_OK and *@out owns a new policy; release it with
 * lv_policy_destroy().  On failure *@out is NULL and, when @err is not NULL,
 * @err holds a one-line, NUL-terminated message naming the offending field
 * ("privacy.epsilon_budget: must be a number greater than 0 and at most
 * 100"); on success @err is set to "".
 *
 * Errors: LV_ERR_INVALID for any rule broken (syntax, unknown, duplicate or
 * missing field, type, range, form); LV_ERR_TOO_LARGE when @text exceeds
 * LV_POLICY_MAX_TEXT, an array LV_POLICY_MAX_ITEMS items or a string
 * LV_POLICY_MAX_STRING bytes; LV_ERR_NOMEM. */
LV_EXPORT enum lv_status lv_policy_parse(const char *text, size_t len, struct lv_policy **out,
					 char err[LV_POLICY_ERR_LEN]) LV_WARN_UNUSED;

/* Frees @p and every string obtained from it.  NULL is a no-op. */
LV_EXPORT void lv_policy_destroy(struct lv_policy *p);

/* ---- canonical form and digest (see the top of this file) ---- */

/* The canonical text, NUL-terminated, in a new malloc'd buffer the caller
 * frees with free().  NULL when allocation fails. */
LV_EXPORT char *lv_policy_canonical_text(const struct lv_policy *p) LV_WARN_UNUSED;

/* SHA-256 of the canonical text (computed once, at parse time). */
LV_EXPORT void lv_policy_digest(const struct lv_policy *p, unsigned char out[LV_POLICY_DIGEST_LEN]);

/* The same digest as 64 lower-case hex digits. */
LV_EXPORT void lv_policy_digest_hex(const struct lv_policy *p, char out[LV_POLICY_DIGEST_HEX_LEN]);

/* ---- identity and notice (strings owned by @p) ---- */

LV_EXPORT const char *lv_policy_id(const struct lv_policy *p);          /* [a-z0-9-]{1,64} */
LV_EXPORT uint32_t lv_policy_version(const struct lv_policy *p);        /* >= 1 */
LV_EXPORT const char *lv_policy_title(const struct lv_policy *p);
LV_EXPORT const char *lv_policy_description(const struct lv_policy *p);
LV_EXPORT const char *lv_policy_controller_name(const struct lv_policy *p);
/* A mailto:, https: or tel: URI. */
LV_EXPORT const char *lv_policy_controller_contact(const struct lv_policy *p);
/* The controller's postal address; NULL when the policy gives none. */
LV_EXPORT const char *lv_policy_controller_address(const struct lv_policy *p);
/* A compact term from the set in docs/policies.md ("dpv:Consent",
 * "eu-gdpr:A6-1-a", ...). */
LV_EXPORT const char *lv_policy_legal_basis(const struct lv_policy *p);
/* An absolute IRI under https://w3id.org/dpv (core or an extension such as
 * https://w3id.org/dpv/sector/education#). */
LV_EXPORT const char *lv_policy_purpose(const struct lv_policy *p);
LV_EXPORT const char *lv_policy_withdrawal(const struct lv_policy *p);
/* BCP 47 language tag of the text fields; NULL when the policy gives none. */
LV_EXPORT const char *lv_policy_language(const struct lv_policy *p);

/* Recipients (plain-language names) and jurisdictions (ISO 3166 codes such
 * as "US", "US-CA", "IE", or "EU"), in policy order.  Index out of range:
 * NULL. */
LV_EXPORT size_t lv_policy_recipient_count(const struct lv_policy *p);
LV_EXPORT const char *lv_policy_recipient(const struct lv_policy *p, size_t i);
LV_EXPORT size_t lv_policy_jurisdiction_count(const struct lv_policy *p);
LV_EXPORT const char *lv_policy_jurisdiction(const struct lv_policy *p, size_t i);

/* ---- privacy parameters ---- */

/* The most ε one query may spend: 0 < ε <= epsilon_budget. */
LV_EXPORT double lv_policy_epsilon_per_query_max(const struct lv_policy *p);
/* ε each learner may spend per window, per (purpose, learner): 0 < ε <= 100. */
LV_EXPORT double lv_policy_epsilon_budget(const struct lv_policy *p);
LV_EXPORT uint32_t lv_policy_budget_window_days(const struct lv_policy *p);
/* Releases whose noisy cohort count is below this are suppressed (>= 1). */
LV_EXPORT uint32_t lv_policy_min_cohort(const struct lv_policy *p);

/* ---- time and age rules ---- */

/* Statements older than this (by their stored time) are outside the
 * policy's scope; results are kept no longer than this. */
LV_EXPORT uint32_t lv_policy_retention_days(const struct lv_policy *p);
/* A grant expires this many days after it was given. */
LV_EXPORT uint32_t lv_policy_consent_valid_days(const struct lv_policy *p);
/* Learners younger than this need a guardian's grant (0: never). 0..21. */
LV_EXPORT uint32_t lv_policy_guardian_below_age(const struct lv_policy *p);

/* ---- scope checks (exact, case-sensitive comparison; NULL: false) ---- */

LV_EXPORT bool lv_policy_allows_operation(const struct lv_policy *p, enum lv_policy_op op);
/* @iri is an xAPI verb id. */
LV_EXPORT bool lv_policy_covers_verb(const struct lv_policy *p, const char *iri);
/* @iri is an xAPI activity type (object.definition.type).  A statement
 * whose activity has no type is never covered. */
LV_EXPORT bool lv_policy_covers_activity_type(const struct lv_policy *p, const char *iri);
/* @field is a dotted result path such as "result.score.scaled". */
LV_EXPORT bool lv_policy_covers_result_field(const struct lv_policy *p, const char *field);

/* The scope lists themselves, in policy order.  Index out of range: NULL. */
LV_EXPORT size_t lv_policy_verb_count(const struct lv_policy *p);
LV_EXPORT const char *lv_policy_verb(const struct lv_policy *p, size_t i);
LV_EXPORT size_t lv_policy_activity_type_count(const struct lv_policy *p);
LV_EXPORT const char *lv_policy_activity_type(const struct lv_policy *p, size_t i);
LV_EXPORT size_t lv_policy_result_field_count(const struct lv_policy *p);
LV_EXPORT const char *lv_policy_result_field(const struct lv_policy *p, size_t i);

#ifdef __cplusplus
}
#endif
#endif
