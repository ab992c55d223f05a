/* Aggregate facts (facts.c): per-learner records the aggregate door
 * computes on, sealed under a key derived from the learner's vault key. */
#ifndef LV_STORE_FACTS_H
#define LV_STORE_FACTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "learnvault/node.h"
#include "learnvault/status.h"
#include "learnvault/store.h"

#define FACTS_VERSION "2" /* record format; older ones are rebuilt on open */
/* struct lv_fact, LV_FACT_NO_SCORE and LV_FACT_MAX_CTX: learnvault/store.h (the
 * aggregate door reads the records through the store's interface). */

struct fact_vec {
	struct lv_fact *f;
	size_t n, cap;
};
/* Wipes and frees the records; the vector is empty afterwards. */
void fact_vec_free(struct fact_vec *v);

struct lv_node;
/* The facts key of a vault key (crypto_kdf, context "lvfacts1", id 1). */
void facts_key_derive(const unsigned char *vault_key, unsigned char *out);
/* Unwraps learner @p's vault key from its learners.wrapped_key @wrapped
 * into @scratch and derives the facts key into @out (both 32 bytes of the
 * caller's secure memory; @scratch is wiped). */
enum lv_status facts_key_unwrap(struct lv_node *n, const char *p, const void *wrapped, size_t len,
				unsigned char *scratch, unsigned char *out) LV_WARN_UNUSED;
/* The facts key of learner @p from the open vault cache (opening the
 * vault); borrowed while the lock is held. */
enum lv_status vault_facts_key(struct lv_node *n, const char *p, const unsigned char **key) LV_WARN_UNUSED;

/* The term cache: forget it after a rollback (ids may be gone); free it
 * before node.db closes. */
void facts_terms_forget(struct lv_node *n);
void facts_terms_free(struct lv_node *n);
/* The term id of @iri (0 for NULL).  @create false: 0 when unknown. */
enum lv_status facts_term(struct lv_node *n, const char *iri, bool create, uint32_t *id) LV_WARN_UNUSED;
/* The record of a stored statement (terms are created as needed). Lock held. */
enum lv_status facts_from_statement(struct lv_node *n, const cJSON *stmt, int64_t seq, int64_t stored_ms,
				    struct lv_fact *f) LV_WARN_UNUSED;
/* Adds @nf records to learner @p's facts, as one new segment in the
 * journal, inside the caller's node.db transaction.  Lock held. */
enum lv_status facts_append_locked(struct lv_node *n, const char *p, const unsigned char *key,
				   const struct lv_fact *f, size_t nf) LV_WARN_UNUSED;
/* Moves the journal's segments into learner_facts (sorted, in one pass)
 * and merges the segments of learners who now have many.  Every reader of
 * learner_facts calls it first, in its own transaction.  Lock held. */
enum lv_status facts_fold_locked(struct lv_node *n) LV_WARN_UNUSED;
/* Folds when ingest has appended many segments since the last fold, so
 * the fold a query pays stays bounded.  Lock held, in a transaction. */
enum lv_status facts_fold_if_due_locked(struct lv_node *n) LV_WARN_UNUSED;
/* Opens one sealed segment, appending its records to @v.  LV_ERR_CRYPTO
 * when it does not authenticate. */
enum lv_status facts_open_segment(const unsigned char *key, const char *p, int64_t seg, const void *blob,
				  size_t len, struct fact_vec *v) LV_WARN_UNUSED;
/* Builds the facts of learners who have statements but none (nodes made
 * before facts existed).  Lock held, inside a transaction. */
enum lv_status facts_backfill_locked(struct lv_node *n) LV_WARN_UNUSED;

#endif
