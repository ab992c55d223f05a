/* learnvault — personalisation on a learner's own data: skills of
 * statements, the learner's model state kept in their vault, and
 * recommendations for the learner's door.
 *
 * Three layers:
 *  - Node configuration (not learner data): a curriculum (activity id ->
 *    skills, skill -> prerequisites and display name) and a BKT parameter
 *    file (personal.h).  Both are stored in node.db and loaded with
 *    lv_personal_curriculum_load() / lv_personal_params_load(); without
 *    them the library defaults apply and skills come only from statements.
 *  - The state: per learner, inside that learner's vault (tables
 *    personal_learner, personal_skills, personal_items), updated on ingest
 *    in the same vault transaction as the statements (see
 *    docs/personalization.md: BKT P(known) per skill, FSRS-6 memory state
 *    per activity, Elo ability of the learner and the learner's own view of
 *    each item's difficulty).  It is recomputed from the vault only when
 *    the configuration changed since it was built, when one of the
 *    learner's statements was voided, or on lv_personal_rebuild().
 *  - Reads (lv_personal_next/_mastery/_reviews): computed from the state,
 *    then decided and logged through lv_access_authorize() before anything
 *    is returned.
 *
 * Conventions: output parameters come last and are cleared (NULL / zeroed)
 * on failure; every buffer filled from outside has a cap; strings returned
 * inside JSON are the caller's with the JSON (cJSON_Delete).
 */
#ifndef LEARNVAULT_RECOMMEND_H
#define LEARNVAULT_RECOMMEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "learnvault/node.h"
#include "learnvault/personal.h"
#include "learnvault/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The activity-definition extension naming an activity's skills: its value
 * is an array of 1..LV_ACTIVITY_SKILLS_MAX distinct skill id strings, e.g.
 *   "definition": {"extensions": {
 *       "https://w3id.org/learnvault/xapi/skills": ["fractions"]}} */
#define LV_SKILLS_EXTENSION "https://w3id.org/learnvault/xapi/skills"

/* Caps of the curriculum file and of skill lists. */
#define LV_CURRICULUM_MAX_BYTES (4u << 20)
#define LV_CURRICULUM_MAX_SKILLS 10000u
#define LV_CURRICULUM_MAX_ACTIVITIES 100000u
#define LV_ACTIVITY_SKILLS_MAX 16u    /* skills of one activity */
#define LV_SKILL_PREREQS_MAX 32u      /* prerequisites of one skill */
#define LV_ACTIVITY_ID_MAX 2048u      /* bytes of an activity IRI */
#define LV_SKILL_NAME_MAX 256u        /* bytes of a display name */

/* Defaults, each overridable in the curriculum file. */
#define LV_CORRECT_THRESHOLD 0.6   /* result.score.scaled >= this counts as correct */
#define LV_TARGET_RETENTION 0.9    /* a review is due when predicted recall < this */
/* (target success for practice items: LV_ELO_TARGET, 0.75, personal.h;
 *  mastery: LV_BKT_MASTERY, 0.95) */

/* FSRS grade from a correct response's result.score.scaled. */
#define LV_GRADE_HARD_BELOW 0.7    /* correct with scaled < 0.7: Hard (2) */
#define LV_GRADE_EASY_FROM 0.95    /* correct with scaled >= 0.95: Easy (4) */

/* ---- the curriculum ---------------------------------------------------- */

/* A parsed curriculum (opaque).  File format (strict: unknown or duplicate
 * keys, wrong types, undefined or cyclic prerequisites are rejected):
 *   {"format": "learnvault-curriculum", "version": 1,
 *    "correct_threshold": 0.6,        optional, (0, 1]
 *    "target_retention": 0.9,         optional, (0, 1)
 *    "target_success": 0.75,          optional, (0, 1)
 *    "skills": {"<skill id>": {"name": "...", "prerequisites": ["<id>", ...]},
 *               ...},                 both fields optional; file order is
 *                                     the order new skills are offered in
 *    "activities": {"<activity IRI>": ["<skill id>", ...], ...}}
 * Skill ids follow the parameter file's rule (1..256 bytes, no comma,
 * quote or control character); every skill an activity or a prerequisite
 * names must be defined under "skills". */
struct lv_curriculum;

/* Parses @len bytes of @text.  *@out is the caller's
 * (lv_curriculum_destroy); on failure it is NULL and @err says why
 * (LV_ERR_INVALID, LV_ERR_TOO_LARGE over a cap, LV_ERR_NOMEM). */
LV_EXPORT enum lv_status lv_curriculum_parse(const char *text, size_t len, struct lv_curriculum **out,
					     char err[LV_PERSONAL_ERR_LEN]) LV_WARN_UNUSED;
LV_EXPORT void lv_curriculum_destroy(struct lv_curriculum *c);

/* Number of skills / activities. */
LV_EXPORT size_t lv_curriculum_skills(const struct lv_curriculum *c);
LV_EXPORT size_t lv_curriculum_activities(const struct lv_curriculum *c);
/* The skills activity @iri teaches: their number (0 when @c does not list
 * it) and in *@skills their indices (below lv_curriculum_skills), borrowed
 * from @c (NULL when none). */
LV_EXPORT size_t lv_curriculum_activity_skills(const struct lv_curriculum *c, const char *iri,
					       const uint32_t **skills);
/* The scaled score from which a response without "success" is correct
 * (LV_CORRECT_THRESHOLD for a NULL @c). */
LV_EXPORT double lv_curriculum_correct_threshold(const struct lv_curriculum *c);

/* ---- one statement as a response -------------------------------------- */

/* What a statement says for the models.  Pointers are borrowed from the
 * statement and the curriculum passed to lv_statement_response(); valid
 * while both live unchanged. */
struct lv_response {
	const char *activity;  /* object.id */
	bool correct;
	int grade;             /* FSRS grade 1..4 */
	int64_t time_ms;       /* timestamp (else stored), ms since the epoch */
	size_t nskills;
	const char *skills[LV_ACTIVITY_SKILLS_MAX];
	bool skills_from_curriculum; /* else from LV_SKILLS_EXTENSION (or none) */
};

/* Reads statement @st (stored form) as a response.  LV_OK when it is one:
 * an Activity object and a result with "success" (boolean) or, failing
 * that, "score.scaled" (correct when >= the curriculum's correct_threshold,
 * default LV_CORRECT_THRESHOLD).  Grade: 1 (Again) when wrong; when
 * correct 2 (Hard) if scaled < LV_GRADE_HARD_BELOW, 4 (Easy) if scaled >=
 * LV_GRADE_EASY_FROM, else 3 (Good; also when there is no score).  Skills:
 * the curriculum's for the activity when it lists it, else the statement's
 * LV_SKILLS_EXTENSION (ignored unless it is a valid list), else none.
 * LV_ERR_NOT_FOUND when the statement is not a response (no usable result,
 * not an Activity, a voiding statement, no parsable time); *@out is then
 * zeroed.  @c may be NULL. */
LV_EXPORT enum lv_status lv_statement_response(const struct lv_curriculum *c, const cJSON *st,
					       struct lv_response *out) LV_WARN_UNUSED;

/* ---- node configuration ------------------------------------------------ */

/* Validates curriculum text @text (lv_curriculum_parse) and stores it in
 * node.db, replacing the previous one; the change is written to the audit
 * log.  Learners' states built under another configuration are rebuilt at
 * their next read.  A node serving elsewhere picks the change up at its
 * next personalisation read.  Errors as lv_curriculum_parse (with @err). */
LV_EXPORT enum lv_status lv_personal_curriculum_load(struct lv_node *node, const char *text, size_t len,
						     char err[LV_PERSONAL_ERR_LEN]) LV_WARN_UNUSED;

/* The same for a BKT parameter file (lv_bkt_paramset_parse). */
LV_EXPORT enum lv_status lv_personal_params_load(struct lv_node *node, const char *text, size_t len,
						 char err[LV_PERSONAL_ERR_LEN]) LV_WARN_UNUSED;

/* What is loaded: {"config_id", "curriculum": {"skills", "activities"} or
 * null, "bkt_params": {"skills"} or null}.  *@out is the caller's. */
LV_EXPORT enum lv_status lv_personal_config(struct lv_node *node, cJSON **out) LV_WARN_UNUSED;

/* The curriculum loaded on @node, re-read first when another process
 * changed it: *@out is borrowed while the node lock is held, NULL when
 * none is loaded (or on failure).  Lock held (learnvault/store.h). */
LV_EXPORT enum lv_status lv_personal_curriculum_locked(struct lv_node *node,
						       const struct lv_curriculum **out) LV_WARN_UNUSED;

/* ---- the learner's state and the reads --------------------------------- */

/* Recomputes learner @learner's state from every indexed, non-voided
 * statement in their vault (in stored order), in one vault transaction.
 * Releases nothing.  LV_ERR_NOT_FOUND for an unknown learner. */
LV_EXPORT enum lv_status lv_personal_rebuild(struct lv_node *node, const char *learner) LV_WARN_UNUSED;

#define LV_NEXT_LIMIT_DEFAULT 10u
#define LV_NEXT_LIMIT_MAX 100u
#define LV_REVIEWS_LIMIT_MAX 500u

/* The reads below compute their answer from learner @learner's state at
 * time @now_ms, then ask lv_access_authorize(@who, @learner, @purpose) --
 * LV_PURPOSE_SELF on the learner's door, LV_PURPOSE_OPERATOR_REQUEST from
 * the CLI -- which decides and writes the access entry (resource
 * "personal-next" / "personal-mastery" / "personal-reviews", count = items
 * returned).  LV_ERR_FORBIDDEN when denied (nothing returned),
 * LV_ERR_NOT_FOUND for an unknown learner.  *@out is the caller's
 * (cJSON_Delete).  Deterministic for a given state and @now_ms. */

/* The learner's views, computed from their model state (no consent
 * check, no audit entry: the learner's door, lv_learner_next & co. in
 * learnvault/door.h, decides and logs before it releases them).  *@out is
 * the caller's (cJSON_Delete); *@count is how many items it holds (what
 * the access entry records).  @limit as the door functions say.  Lock not
 * held (taken inside).  LV_ERR_INVALID for a string that is not a
 * pseudonym. */
enum lv_personal_view_kind {
	LV_PERSONAL_VIEW_NEXT = 0,
	LV_PERSONAL_VIEW_MASTERY = 1,
	LV_PERSONAL_VIEW_REVIEWS = 2,
};
LV_EXPORT enum lv_status lv_personal_view(struct lv_node *node, const char *learner, enum lv_personal_view_kind kind,
					  unsigned limit, int64_t now_ms, cJSON **out, size_t *count) LV_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif
