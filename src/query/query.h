/* query/ internals: a parsed aggregate query. */
#ifndef LV_QUERY_QUERY_H
#define LV_QUERY_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "learnvault/consent.h"
#include "learnvault/federation.h"
#include "learnvault/policy.h"
#include "learnvault/query.h"
#include "learnvault/store.h"

#define Q_MAX_LIST 32      /* IRIs in one filter */
#define Q_MAX_KEYS 64      /* histogram keys / buckets */
#define Q_MAX_CANDIDATES 1001
#define Q_UNIT_MAX 1000000000LL /* |bound| in field units: sums of 10^6 learners fit int64 */
#define Q_EPS_MIN_MICRO 1000    /* epsilon >= 0.001 */

enum q_metric { Q_COUNT, Q_SUM, Q_MEAN, Q_HISTOGRAM, Q_QUANTILE };
enum q_field { F_NONE, F_STATEMENTS, F_SCORE, F_SUCCESS, F_COMPLETION, F_DURATION };
enum q_per { P_MEAN, P_SUM, P_MAX, P_MIN, P_FIRST, P_LAST };
enum q_by { H_VALUE, H_VERB, H_ACTIVITY };
enum q_mech { M_LAPLACE, M_GAUSSIAN };

struct query_spec {
	char id[LV_QUERY_ID_MAX + 1];
	bool id_given;
	char purpose[LV_POLICY_ID_MAX + 1];
	enum q_metric metric;
	enum lv_policy_op op;
	enum q_field field;
	enum q_per per;
	bool has_bounds;
	double lo, hi;          /* as given */
	int64_t lo_u, hi_u;     /* in field units (lo_u < hi_u) */
	/* filters (owned strings) */
	char *verbs[Q_MAX_LIST];
	size_t nverbs;
	char *activities[Q_MAX_LIST];
	size_t nactivities;
	char *types[Q_MAX_LIST];
	size_t ntypes;
	bool has_registration;
	unsigned char registration[16];
	bool has_since, has_until;
	int64_t since_ms, until_ms;
	/* privacy */
	uint64_t eps_micro_floor; /* what the mechanism uses (less epsilon: more noise) */
	uint64_t eps_micro_ceil;  /* what the budget is charged (more loss) */
	double epsilon;
	enum q_mech mech;
	double delta;
	/* histogram */
	enum q_by by;
	char *keys[Q_MAX_KEYS];
	size_t nkeys;
	int64_t edges_u[Q_MAX_KEYS + 1];
	double edges[Q_MAX_KEYS + 1];
	size_t nedges;
	unsigned max_keys;
	/* quantile */
	uint32_t q_milli;
	unsigned ncand;
	char *canonical;        /* the canonical query, without "id" (compact JSON, owned) */
	char sha256[65];        /* of canonical */
};

/* The size of one field unit (score and fractions 10^-4, duration 1 s,
 * statements 1). */
double query_field_unit(enum q_field f);
/* The policy's name for a field ("result.score.scaled"); NULL for none. */
const char *query_field_policy_name(enum q_field f);
const char *query_metric_str(enum q_metric m);
const char *query_field_str(enum q_field f);

/* Parses and validates @text into @q (cleared first).  On error fills @err. */
enum lv_status query_parse(const char *text, size_t len, struct query_spec *q,
			   char err[LV_QUERY_ERR_LEN]) LV_WARN_UNUSED;
void query_spec_free(struct query_spec *q);
/* A question's recorded text: @o (consumed) printed compactly, malloc'd
 * (NULL when out of memory), and its SHA-256 in hex into @sha, the
 * release's request_sha256. */
char *query_question_text(cJSON *o, char sha[65]);

struct lv_node;
struct lv_principal;
/* The newest loaded version of a policy, parsed (p: door_free destroys it). */
struct policy_now {
	uint32_t version;
	struct lv_policy *p;
};

/* ---- plan.c: the question resolved against this node ---- */

/* A small sorted set of term ids. */
struct idset {
	uint32_t v[LV_POLICY_MAX_ITEMS + Q_MAX_KEYS];
	size_t n;
};

struct door;
/* The question against this node's terms; q and door set by the caller. */
struct plan {
	const struct query_spec *q;
	struct idset pverbs, ptypes;       /* the policy's data scope */
	struct idset verbs, acts, types;   /* the query's filters */
	uint32_t keys[Q_MAX_KEYS];         /* histogram keys by verb/activity (0: unknown) */
	int64_t retention_from_ms;
	const struct door *door;           /* the voided statements */
};

/* One learner's contribution. */
struct contrib {
	bool matched;        /* at least one matching record */
	bool has_value;      /* in the cohort of a non-count metric */
	int64_t value_u;     /* clamped, in field units */
	uint64_t keys;       /* histogram: bit i set when key i counts */
};

/* Policy rules that depend on the question only, never on data: the
 * consent module's scope rule (the one every access uses), then the
 * privacy parameters only a query has.  LV_ERR_FORBIDDEN with @err. */
enum lv_status query_check_policy(const struct query_spec *q, const struct lv_consent_scope *scope,
				  const struct lv_policy *p, char err[LV_QUERY_ERR_LEN]) LV_WARN_UNUSED;
/* Fills @pl (pl->q and pl->door set) for policy @p at @now: the term ids
 * of the filters and of the policy's scope, the retention cut.  Lock
 * held (the term cache is node state). */
enum lv_status query_plan_locked(struct lv_node *n, struct plan *pl, const struct lv_policy *p,
				 int64_t now) LV_WARN_UNUSED;
/* The contributions of @inc (@ninc learners), @out[i] for the i-th; the
 * store hands out each one's facts from the snapshot (no lock held, a
 * snapshot begun).  Nothing about one learner leaves the door: the
 * contributions are kept only until phase 3 totals or seals them. */
enum lv_status query_contributions(struct lv_node *n, const struct plan *pl, const char *const *inc, size_t ninc,
				   struct contrib *out) LV_WARN_UNUSED;
/* One learner's contribution from their @facts (from the snapshot). */
void query_contribution(const struct plan *pl, const struct lv_fact *facts, size_t nfacts, struct contrib *c);

/* ---- fed_task.c: a federation task (docs/federation.md) ---- */
struct fed_task {
	char id_b64[LV_FED_TASK_ID_B64_LEN];
	uint8_t id[LV_FED_TASK_ID_LEN];
	char leader[LV_FED_URL_MAX], helper[LV_FED_URL_MAX];
	struct lv_fed_vdaf_params vdaf;
	uint64_t time_precision;   /* seconds: a batch interval */
	uint64_t min_batch;        /* the aggregators' minimum batch size */
	struct query_spec q;       /* the question each learner answers */
	bool q_parsed;
	char *spec;                /* the canonical task (compact JSON, owned) */
};
/* Parses and checks a task file (@len bytes of JSON): its members, the
 * question (as query_parse reads it), whether the VDAF carries the
 * metric.  On error fills @err; @t is cleared either way first. */
enum lv_status fed_task_parse(const char *text, size_t len, struct fed_task *t,
			      char err[LV_QUERY_ERR_LEN]) LV_WARN_UNUSED;
void fed_task_free(struct fed_task *t);
/* The Prio3 measurement of one learner's contribution: @m (*@n integers;
 * room for 2); false when the learner has nothing to report (no value
 * for a sum, mean or histogram). */
bool fed_measurement(const struct fed_task *t, const struct contrib *c, uint64_t m[2], size_t *n);

/* ---- door.c: the steps every release shares ----
 *
 * aggregate.c and fit_global.c call door.c; door.c calls neither.  It
 * reaches storage through learnvault/store.h and consent through
 * learnvault/consent.h.
 *
 * A release runs in three phases.  1, under the node lock in one
 * transaction: the policy, the cohort, what the question means on this
 * node; after the commit, still under the lock, a read snapshot begins
 * (lv_store_snapshot_begin_locked).  2, with no lock: each cohort
 * member's bounded contribution, from the snapshot's facts
 * (lv_store_snapshot_facts).  3, under the lock in one transaction: the
 * cohort again, the release over the learners of both cohorts only, their
 * access entries, their charges, the release entry, the kept release.
 * Phase 1 and 2 of two releases never overlap (the snapshot has one user
 * at a time). */

/* An analyst bound to @purpose, or the operator. */
bool query_bound_to(const struct lv_principal *who, const char *purpose);

struct door {
	/* set by the caller; question: the canonical question (compact JSON)
	 * whose SHA-256 is sha */
	const char *purpose, *qid, *sha, *actor, *question;
	uint64_t eps_ceil;            /* micro-epsilon charged */
	int64_t now;
	/* door_policy_locked */
	struct policy_now pol;
	uint64_t budget, used;        /* micro-epsilon of the window; used: door_cohort_locked, what the
				       * releases spent plus what other admitted queries hold */
	uint64_t hold;                /* this query's hold on the purpose's budget (door_hold; 0: none):
				       * phase 3 passes phase 1's, which its purpose check leaves out */
	int64_t day, from_day;
	/* door_cohort_locked: the included learners, sorted (point into members) */
	struct lv_consent_member *members;
	size_t nmembers;
	const char **inc;
	const struct lv_consent_member **incm; /* inc[i]'s consent */
	size_t ninc;
	/* door_voided_locked */
	int64_t *voided;
	size_t nvoided;
};
/* The newest policy of d->purpose, and the budget window. */
enum lv_status door_policy_locked(struct lv_node *n, struct door *d, char err[LV_QUERY_ERR_LEN]) LV_WARN_UNUSED;
/* Phase 3: LV_ERR_CONFLICT (with @err) unless @d's policy is still the
 * version @before used. */
enum lv_status door_same_policy(const struct door *d, const struct door *before,
				char err[LV_QUERY_ERR_LEN]) LV_WARN_UNUSED;
/* The purpose's cap (LV_ERR_BUDGET: what releases spent in the window,
 * plus what every other admitted query holds, plus d->eps_ceil, above
 * the budget), then the learners with live consent at d->now and budget
 * left (d->inc).  Writes nothing but the expiries it finds. */
enum lv_status door_cohort_locked(struct lv_node *n, struct door *d, char err[LV_QUERY_ERR_LEN]) LV_WARN_UNUSED;
/* Phase 3: keeps in d->inc only the learners @before included too, under
 * the same consent record (a learner who withdrew and consented again
 * meanwhile is left out).  @from[k] gets the index in before->inc of the
 * k-th learner kept (room for before->ninc). */
void door_keep_only(struct door *d, const struct door *before, size_t *from);
/* Phase 3's first steps, shared by every release: the policy again (still
 * @before's version), the cohort again, kept to the learners @before
 * included (door_keep_only); *@from (malloc'd, the caller frees it; NULL
 * on failure) maps them to @before's indices. */
enum lv_status door_recheck_locked(struct lv_node *n, struct door *d, const struct door *before, size_t **from,
				   char err[LV_QUERY_ERR_LEN]) LV_WARN_UNUSED;
/* Each included learner's access entry, with @scope. */
enum lv_status door_access_locked(struct lv_node *n, const struct lv_principal *who, const struct door *d,
				  const struct lv_consent_scope *scope) LV_WARN_UNUSED;
/* The voided statements' sequence numbers (d->voided, sorted), and a
 * lookup. */
enum lv_status door_voided_locked(struct lv_node *n, struct door *d) LV_WARN_UNUSED;
bool door_voided(const struct door *d, int64_t seq);
/* Charges the included learners, appends the release entry (the
 * question, its epsilon and budget day, @ans), adds "cached": false and
 * "receipt" (lv_release_receipt_sign over @ans as the entry holds it) to
 * @ans and keeps the release with them; *@text: the answer as kept
 * (caller frees).  Nothing in it depends on the log's size. */
enum lv_status door_release_locked(struct lv_node *n, const struct lv_principal *who, struct door *d, cJSON *ans,
				   char **text) LV_WARN_UNUSED;
void door_free(struct door *d);
/* Admission (issue 10): right after phase 1 commits, under the same lock
 * as its purpose check, the query holds its epsilon (d->hold) until phase
 * 3 commits or the query fails (lv_store_budget_unhold).  So a query phase
 * 1 admitted is never refused for the purpose's budget at phase 3 because
 * another release committed first, an order that follows how long each
 * took over its cohort: a 429 depends only on the releases and holds of
 * queries received before it.  (Only a release committed meanwhile by
 * another process on the same directory can still make phase 3 refuse;
 * the cap holds regardless.) */
enum lv_status door_hold(struct lv_node *n, struct door *d) LV_WARN_UNUSED;

/* The time quantum (issue 10): an answer, cached or not, and an error
 * found after phase 1 began, leave the use case no earlier than this many
 * milliseconds after it began, and at a multiple of it when the work took
 * longer, so the time an analyst waits does not follow the cohort's size
 * or its records below that resolution.  200 ms by default: a release
 * over 10^4 learners of 100 statements takes about 0.65 s
 * (docs/performance.md) and the time grows with the cohort, so 200 ms
 * covers cohorts up to a few thousand learners, while an analyst at a
 * prompt barely notices it; above it only the number of quanta shows.  A
 * node with larger cohorts sets it above its longest release.  Node
 * setting aggregate_time_quantum_ms (0 turns it off, at most
 * DOOR_QUANTUM_MAX_MS). */
#define DOOR_QUANTUM_DEFAULT_MS 200
#define DOOR_QUANTUM_MAX_MS 600000
/* The node's quantum in ms.  Lock held. */
uint32_t door_quantum_locked(struct lv_node *n);
/* Sleeps (no lock may be held) until @quantum_ms after @mono0
 * (util_mono_s()), or the next multiple of it when that is past. */
void door_wait_quantum(double mono0, uint32_t quantum_ms);

/* One node.db write transaction under the node lock: BEGIN IMMEDIATE,
 * @step(n, @ctx), COMMIT (ROLLBACK when anything failed), the audit log
 * told which, and then, only after a commit and still under the lock,
 * @after(n, @ctx) when not NULL.  Returns the first failure. */
enum lv_status door_tx(struct lv_node *n, enum lv_status (*step)(struct lv_node *, void *),
		       enum lv_status (*after)(struct lv_node *, void *), void *ctx) LV_WARN_UNUSED;

/* The moment phase 3 stands for: @now (the caller's clock) advanced by
 * the time since @mono0 (util_mono_s() when phase 1 began). */
int64_t door_now(int64_t now, double mono0);

/* Tests only (NULL otherwise): called with no lock held, at
 * QUERY_STAGE_COMPUTING while phase 2 reads the snapshot and at
 * QUERY_STAGE_RELEASING just before phase 3 takes the lock, so a test can
 * run another operation at that point. */
enum query_stage { QUERY_STAGE_COMPUTING, QUERY_STAGE_RELEASING };
extern void (*query_test_hook)(struct lv_node *n, enum query_stage stage);

#endif
