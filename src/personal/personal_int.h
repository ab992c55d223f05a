/* Internals shared by the BKT, Elo and evaluation files of the personal
 * module (not FSRS).  Prefix: personal_. */
#ifndef LV_PERSONAL_INT_H
#define LV_PERSONAL_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "learnvault/personal.h"

/* ---- small deterministic PRNG (splitmix64): restarts and synthetic
 * data only, never anything security relevant ---- */
uint64_t personal_rng_next(uint64_t *state);
/* Uniform in [0, 1) with 53 random bits. */
double personal_rng_uniform(uint64_t *state);
/* A well-mixed function of two words (splitmix64 finaliser). */
uint64_t personal_mix(uint64_t a, uint64_t b);

/* ---- interned strings: id <-> dense index 0..n-1 ---- */
struct personal_strtab {
	char **names;     /* names[i], owned */
	size_t n, cap;    /* names used / allocated */
	uint32_t *slots;  /* open addressing, index + 1, 0 = empty */
	size_t nslots;    /* power of two */
};
void personal_strtab_init(struct personal_strtab *t);
void personal_strtab_free(struct personal_strtab *t);
/* Index of @s, or -1 when absent. */
long personal_strtab_find(const struct personal_strtab *t, const char *s);
/* Index of @s, added (copied) when absent; -1 when out of memory. */
long personal_strtab_intern(struct personal_strtab *t, const char *s);

/* ---- uint64 -> uint32 map ---- */
struct personal_u64map {
	uint64_t *keys;
	uint32_t *vals;   /* value + 1, 0 = empty */
	size_t n, nslots; /* nslots: power of two or 0 */
};
void personal_u64map_init(struct personal_u64map *m);
void personal_u64map_free(struct personal_u64map *m);
/* Pointer to the value slot of @key or NULL when absent. */
bool personal_u64map_get(const struct personal_u64map *m, uint64_t key, uint32_t *val);
/* Inserts or replaces; false when out of memory. */
bool personal_u64map_put(struct personal_u64map *m, uint64_t key, uint32_t val);

/* True when @s is a valid learner/skill/item id: 1..LV_PERSONAL_NAME_MAX
 * bytes, no comma, quote or control character. */
bool personal_name_ok(const char *s);

/* ---- data sets ---- */
struct lv_kt_data {
	size_t n, cap, max_rows;
	uint32_t *learner, *skill; /* per row: interned indices */
	uint8_t *correct;
	double *time;               /* per row; NULL until the first timed row */
	int timed;                  /* -1 unknown (no rows), 0 no times, 1 times */
	double *last_time;          /* per learner, for the order check */
	size_t last_time_cap;
	struct personal_strtab learners, skills;
};

/* Row indices of @d ordered by (skill, learner, row) — every learner's
 * responses on a skill form one run, in time order.  *@order is
 * malloc'd (n entries); *@skill_off (skills + 1 entries) gives each skill's
 * range.  false when out of memory. */
bool personal_order_by_skill(const struct lv_kt_data *d, uint32_t **order, size_t **skill_off);

/* ---- EM core, used by lv_bkt_fit and lv_bkt_fit_data ---- */
/* Work space for sequences up to @cap responses (3 doubles each). */
struct personal_bkt_work {
	double *buf;
	size_t cap;
};
void personal_bkt_work_free(struct personal_bkt_work *w);
enum lv_status personal_bkt_fit_seqs(const struct lv_bkt_seq *seqs, size_t n, const struct lv_bkt_fit_opts *o,
				     uint64_t seed, struct personal_bkt_work *w, struct lv_bkt_params *out,
				     struct lv_bkt_fit_info *info);

/* ---- Elo internals (the evaluation copies trained items) ---- */
struct personal_elo_item {
	double b;
	uint32_t n;
	unsigned options;
};
struct personal_elo_learner {
	double theta;
	uint32_t n;
};
struct personal_elo_pair {
	double current;
	double last_time; /* NAN when unknown */
};
struct lv_elo {
	struct lv_elo_config cfg;
	struct personal_strtab learner_ids, item_ids;
	struct personal_elo_learner *learners;
	struct personal_elo_item *items;
	size_t learners_cap, items_cap;
	struct personal_u64map pair_index; /* (learner << 32 | item) -> pairs[] */
	struct personal_elo_pair *pairs;
	size_t npairs, pairs_cap;
};

#endif
