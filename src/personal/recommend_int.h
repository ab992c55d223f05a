/* Internals of personalisation on the node (skills.c, state.c,
 * recommend.c).  Prefix: personal_. */
#ifndef LV_PERSONAL_RECOMMEND_INT_H
#define LV_PERSONAL_RECOMMEND_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "learnvault/fsrs.h"
#include "learnvault/personal.h"
#include "learnvault/recommend.h"
#include "learnvault/store.h"
#include "personal_int.h"

struct lv_node;

/* ---- the curriculum (skills.c) ---- */
struct personal_skill_def {
	char *name;          /* display name, NULL: the id */
	uint32_t *prereq;    /* skill indices */
	size_t nprereq;
	uint32_t *acts;      /* activity indices teaching it, by activity id */
	size_t nacts;
};

struct lv_curriculum {
	struct personal_strtab skill_ids;    /* index = file order */
	struct personal_skill_def *skills;
	struct personal_strtab act_ids;
	uint32_t (*act_skills)[LV_ACTIVITY_SKILLS_MAX];
	uint8_t *act_nskills;
	double correct_threshold, target_retention, target_success;
};

/* ---- node configuration, cached on the node (skills.c) ---- */
#define PERSONAL_CONFIG_ID_LEN LV_STORE_CONFIG_ID_LEN /* 32 hex + NUL, as learner rows keep it */
struct personal_cfg {
	char id[PERSONAL_CONFIG_ID_LEN]; /* of the stored texts */
	struct lv_curriculum *cur;       /* NULL: none loaded */
	struct lv_bkt_paramset *params;  /* never NULL */
	bool params_loaded;
	struct lv_fsrs_params fsrs;
	struct lv_elo_config elo;        /* alpha, beta of the basic rule */
	double correct_threshold, target_retention, target_success;
	/* Responses ingested per learner since their last checkpoint step, by
	 * hash slot of the pseudonym: a hint that spares a query per
	 * statement (shared slots only make a learner look sooner). */
	uint8_t *hint;                   /* PERSONAL_HINT_SLOTS */
};
#define PERSONAL_HINT_SLOTS 65536u
/* The node's configuration, loaded from node.db on first use.  @refresh:
 * re-read the stored config id first and reload when another process
 * changed it.  The pointer is valid while the node lock is held.  Lock held. */
enum lv_status personal_cfg_get_locked(struct lv_node *n, bool refresh,
				       const struct personal_cfg **out) LV_WARN_UNUSED;
/* lv_statement_response() with the thresholds of @cfg. */
enum lv_status personal_response(const struct personal_cfg *cfg, const cJSON *st,
				 struct lv_response *out) LV_WARN_UNUSED;

/* ---- the state (state.c) ---- */

/* The stored state is a checkpoint: it covers the learner's statements up
 * to last_seq.  Ingest advances it once about PERSONAL_FOLD_EVERY
 * statements have accumulated after it (in the vault transaction of the
 * statement that completes the step); reads apply the newer ones in
 * memory.  Writing the state for every statement would add two encrypted
 * WAL pages to every vault transaction (measured: ~20% of ingest
 * throughput). */
#define PERSONAL_FOLD_EVERY LV_PERSONAL_CHECKPOINT_EVERY

struct personal_item {
	char *activity;
	bool has_memory;         /* FSRS state present (at least one review) */
	double stability, difficulty;
	int64_t last_review_ms;
	uint32_t reviews, lapses;
	int last_grade;
	double b;                /* Elo difficulty, this learner's view */
	uint32_t answers;        /* Elo count of the item */
	char *skills;            /* from the skills extension, comma-joined; NULL */
	bool dirty;              /* changed since loaded */
};

struct personal_skill {
	char *skill;
	double known;            /* BKT P(known) before the next response */
	uint32_t responses, correct;
	int64_t updated_ms;      /* time of the latest response */
	bool dirty;
};

/* The learner row is the store's (struct lv_store_personal_learner): Elo
 * ability and count, the checkpoint's last seq, the configuration id it
 * was built under and the voided count it has seen. */
struct personal_state {
	struct lv_store_personal_learner l;
	struct personal_item *items;   /* by activity id */
	size_t nitems;
	struct personal_skill *skills; /* by skill id */
	size_t nskills;
};
void personal_state_free(struct personal_state *s);

/* Learner @learner's state, rebuilt first when stale (configuration
 * changed, a statement voided, or never built over existing statements).
 * Lock held.  LV_ERR_NOT_FOUND for an unknown learner. */
enum lv_status personal_state_load_locked(struct lv_node *n, const char *learner, const struct personal_cfg *cfg,
					  struct personal_state *out) LV_WARN_UNUSED;

/* Finds an item / a skill in a loaded state (binary search); NULL if none. */
const struct personal_item *personal_state_item(const struct personal_state *s, const char *activity);
const struct personal_skill *personal_state_skill(const struct personal_state *s, const char *skill);

#endif
