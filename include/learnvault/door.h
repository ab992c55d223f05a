/* learnvault — the use cases: each runs consent -> storage read -> audit
 * entry -> release (or, for writes, validate -> store with the derived
 * state), so that the HTTP routes and the CLI stay thin and no door can
 * be bypassed.
 *
 * Conventions (as in audit.h): out-parameters are cleared on failure;
 * returned text is malloc'd and owned by the caller. */
#ifndef LEARNVAULT_DOOR_H
#define LEARNVAULT_DOOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "learnvault/node.h"
#include "learnvault/recommend.h"
#include "learnvault/statements.h"
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

/* The number of distinct learners (actor identities) @batch writes to:
 * each costs the node lock a vault transaction (and a new learner its
 * enrolment), so the provider door bounds it per request (setting
 * max_batch_learners).  LV_ERR_INVALID for a statement whose actor has no
 * identity (a batch lv_xapi_request_validate did not pass). */
LV_EXPORT enum lv_status lv_ingest_learner_count(const cJSON *batch, size_t *count) LV_WARN_UNUSED;

/* ---- reads: each asks consent and writes its access entries (one
 * node.db transaction, through lv_access_authorize's rules) before it
 * releases anything; when the decision is a denial or the entry cannot be
 * written, nothing is released (fail closed) and the out-parameters stay
 * cleared.  The read that counts what would be released runs first, under
 * the same lock, so that each entry carries its count. ---- */

/* Provider read-back of one statement (xAPI statementId /
 * voidedStatementId): @voided false finds it only when not voided, true
 * only when voided; only statements @provider wrote.  One access entry
 * (purpose LV_PURPOSE_PROVIDER_READBACK, resource "xapi-statements",
 * count 1) for the learner it belongs to.  *@result is the caller's
 * (cJSON_Delete).  LV_ERR_NOT_FOUND when there is no such statement,
 * LV_ERR_FORBIDDEN when the access is refused. */
LV_EXPORT enum lv_status lv_readback_statement(struct lv_node *node, const struct lv_principal *provider,
					       const char *id, bool voided, cJSON **result) LV_WARN_UNUSED;

/* Provider read-back of one page of @q over what @provider wrote (voided
 * statements excluded).  One access entry per learner whose statements are
 * on the page (with how many), in order of first appearance, all in one
 * transaction; an empty page logs nothing.  *@result is a JSON array of the
 * stored statements (the caller's); *@next_seq the cursor of the next page,
 * 0 when none. */
LV_EXPORT enum lv_status lv_readback_statements(struct lv_node *node, const struct lv_principal *provider,
						const struct lv_statement_query *q, cJSON **result,
						int64_t *next_seq) LV_WARN_UNUSED;

/* The learner's door: learner @learner's own statements (all providers,
 * voided ones included) in stored order after cursor @after_seq, at most
 * @limit (0: the server maximum), for @who (purpose LV_PURPOSE_SELF: only a
 * learner or guardian credential bound to @learner is allowed).  One access
 * entry (resource "statements", count = the page's size), also for an empty
 * page.  *@result is a JSON array (the caller's); *@next_seq the cursor of
 * the next page, 0 when none. */
LV_EXPORT enum lv_status lv_learner_statements(struct lv_node *node, const struct lv_principal *who,
					       const char *learner, int64_t after_seq, unsigned limit,
					       cJSON **result, int64_t *next_seq) LV_WARN_UNUSED;

/* Learner @learner's export, for the learner's door (@purpose
 * LV_PURPOSE_SELF) or the operator acting on the learner's request
 * (LV_PURPOSE_OPERATOR_REQUEST, an admin principal):
 * {"format":"learnvault-learner-export","version":1,"learner",
 * "statements":[every statement],"consents":{lv_consent_list},
 * "access_report":{lv_learner_access_report}}.  One access entry (resource
 * "export", count = the statements); the access report is read after it,
 * so it includes it.  *@out is the caller's (cJSON_Delete).
 * LV_ERR_FORBIDDEN when refused (the refusal is logged). */
LV_EXPORT enum lv_status lv_learner_export(struct lv_node *node, const struct lv_principal *who,
					   const char *learner, const char *purpose, cJSON **out) LV_WARN_UNUSED;

/* The same document as text in pieces, never whole in memory: the
 * decision, its access entry (counting the statements that will be sent:
 * those stored before the call) and the access report are made by
 * lv_learner_export_open; each lv_learner_export_next gives the next piece
 * (the head, a page of statements, the tail) in *@chunk (malloc'd, the
 * caller's), NULL once all was given.  The pieces concatenated are the
 * JSON text of lv_learner_export's document.  Each page is read under the
 * node lock, which is not held between pieces.  *@out is the caller's
 * (lv_learner_export_destroy). */
struct lv_learner_export;
LV_EXPORT enum lv_status lv_learner_export_open(struct lv_node *node, const struct lv_principal *who,
						const char *learner, const char *purpose,
						struct lv_learner_export **out) LV_WARN_UNUSED;
LV_EXPORT enum lv_status lv_learner_export_next(struct lv_learner_export *x, char **chunk) LV_WARN_UNUSED;
LV_EXPORT void lv_learner_export_destroy(struct lv_learner_export *x);

/* Learner @learner's vault as a portable file under @passphrase
 * (lv_vault_export), for @who under @purpose as lv_learner_export.  One
 * access entry (resource "vault-export", count 1) once the file is made;
 * without it the file is destroyed.  *@file (malloc'd, the caller's) and
 * *@file_len are cleared on failure.  @err (LV_ERR_LEN bytes, may be NULL)
 * says which step failed: "no such learner" (LV_ERR_NOT_FOUND), "not a
 * learner pseudonym" (LV_ERR_INVALID), another status of the copy, or
 * "cannot log the access, nothing written: <status>". */
LV_EXPORT enum lv_status lv_learner_vault_export(struct lv_node *node, const struct lv_principal *who,
						 const char *learner, const char *purpose, const char *passphrase,
						 size_t passphrase_len, unsigned char **file, size_t *file_len,
						 char err[LV_ERR_LEN]) LV_WARN_UNUSED;
/* The same as a file to be sent in blocks (lv_vault_export_file): never
 * held in memory whole.  *@file is the caller's (lv_vault_file_destroy). */
struct lv_vault_file;
LV_EXPORT enum lv_status lv_learner_vault_export_file(struct lv_node *node, const struct lv_principal *who,
						      const char *learner, const char *purpose, const char *passphrase,
						      size_t passphrase_len, struct lv_vault_file **file,
						      char err[LV_ERR_LEN]) LV_WARN_UNUSED;

/* Learner @learner's access report (lv_audit_report): every audit entry
 * about the learner, and every release entry they were included in, with
 * inclusion proofs.  It holds audit entries, not
 * the learner's data, so reading it writes no access entry (the caller
 * has authenticated the learner, their guardian or the operator).
 * *@report is the caller's (cJSON_Delete). */
LV_EXPORT enum lv_status lv_learner_access_report(struct lv_node *node, const char *learner,
						  cJSON **report) LV_WARN_UNUSED;

/* ---- the learner's personalisation views (door/personal.c) ----
 * Each computes the view (lv_personal_view), then decides and logs the
 * access through consent (@purpose: LV_PURPOSE_SELF for the learner's own
 * door, a policy purpose otherwise) and releases nothing unless both
 * succeed (LV_ERR_FORBIDDEN on a denial).  *@out is the caller's. */
/* Ordered advice, at most @limit items (0: LV_NEXT_LIMIT_DEFAULT; capped at
 * LV_NEXT_LIMIT_MAX): {"generated", "target_retention", "mastery_threshold",
 * "target_success", "items": [{"activity", "skill"?, "kind", "reason",
 * "score", ...}]}.  Kinds, in this order: "review" (FSRS recall now below
 * the target retention; lowest recall first), "practice" (a skill with
 * responses, not mastered, every prerequisite mastered; lowest mastery
 * first; the skill's activity whose Elo-predicted success is nearest the
 * target success), "new" (a curriculum skill without responses whose
 * prerequisites are mastered; curriculum order).  An activity appears once. */
LV_EXPORT enum lv_status lv_learner_next(struct lv_node *node, const struct lv_principal *who,
					  const char *learner, const char *purpose, unsigned limit,
					  int64_t now_ms, cJSON **out) LV_WARN_UNUSED;

/* Mastery per skill: {"generated", "mastery_threshold", "ability":
 * {"theta", "answers"}, "skills": [{"skill", "name", "mastery", "mastered",
 * "p_correct", "responses", "correct", "last_response"|null,
 * "prerequisites", "prerequisites_mastered"}]}: curriculum skills in file
 * order (mastery = prior when no response yet), then other skills seen in
 * statements, by id. */
LV_EXPORT enum lv_status lv_learner_mastery(struct lv_node *node, const struct lv_principal *who,
					     const char *learner, const char *purpose, int64_t now_ms,
					     cJSON **out) LV_WARN_UNUSED;

/* Due reviews, earliest due first (at most @limit; 0 or more than
 * LV_REVIEWS_LIMIT_MAX: LV_REVIEWS_LIMIT_MAX): {"generated",
 * "target_retention", "reviews": [{"activity", "due", "recall",
 * "stability", "difficulty", "reviews", "lapses", "last_review",
 * "last_grade"}], "next_due": RFC 3339 of the earliest item not yet due, or
 * null}.  "due" is the instant the predicted recall falls to the target
 * retention (RFC 3339, UTC, milliseconds). */
LV_EXPORT enum lv_status lv_learner_reviews(struct lv_node *node, const struct lv_principal *who,
					     const char *learner, const char *purpose, unsigned limit,
					     int64_t now_ms, cJSON **out) LV_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif
