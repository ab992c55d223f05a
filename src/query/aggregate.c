/* The aggregate door: consent cohort -> budget -> audited access ->
 * per-learner bounded contributions -> exact integer noise -> release.
 *
 * The contributions are computed with no lock held, on a snapshot of
 * node.db (query.h, "door.c"): the node lock is taken only to fix the
 * cohort and the plan before, and to release after.  The access entries,
 * the budget charges and the release entry commit together, in one
 * transaction, or nothing is released. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "learnvault/audit.h"
#include "learnvault/dp.h"
#include "learnvault/store.h"
#include "query.h"
#include "learnvault/util.h"

/* ---- totals over the cohort ---- */

struct totals {
	int64_t matched;                 /* learners with a matching record */
	int64_t cohort;                  /* learners with a value */
	int64_t sum;                     /* sum of values, or of 2x - lo - hi for mean */
	int64_t hist[Q_MAX_KEYS];
	UTIL_ARRAY(int64_t) values;      /* quantile */
	size_t max_values;               /* the cohort's size */
};

static enum lv_status add(const struct query_spec *q, const struct contrib *c, struct totals *t)
{
	if (c->matched)
		t->matched++;
	if (!c->has_value)
		return LV_OK;
	t->cohort++;
	switch (q->metric) {
	case Q_SUM: t->sum += c->value_u; break;
	case Q_MEAN: t->sum += 2 * c->value_u - q->lo_u - q->hi_u; break;
	case Q_HISTOGRAM:
		if (q->by == H_VALUE) {
			size_t b = 0;
			while (b + 2 < q->nedges && c->value_u >= q->edges_u[b + 1])
				b++;
			t->hist[b]++;
		} else {
			for (size_t k = 0; k < q->nkeys; k++)
				t->hist[k] += (int64_t)(c->keys >> k & 1);
		}
		break;
	case Q_QUANTILE: {
		enum lv_status st = util_array_room(&t->values, t->max_values);
		if (st != LV_OK)
			return st;
		t->values.v[t->values.n++] = c->value_u;
		break;
	}
	default:
		break;
	}
	return LV_OK;
}

/* ---- noise ---- */

struct noisy {
	int64_t value;
	int64_t half;   /* 95% (or the requested level's) half-width */
	double scale;   /* Laplace scale or Gaussian sigma^2, for the record */
};

/* Adds noise for L1 sensitivity @l1 / L2^2 sensitivity @l2sq at @eps_micro to @v.
 * @alpha: the tail mass the half-width leaves out. */
static enum lv_status noise(struct lv_dp_rng *rng, const struct query_spec *q, int64_t v, uint64_t l1, uint64_t l2sq,
			    uint64_t eps_micro, double alpha, struct noisy *out)
{
	int64_t z;
	enum lv_status st;
	if (q->mech == M_LAPLACE) {
		/* scale t = l1 / eps = l1 * 10^6 / eps_micro, exactly. */
		st = lv_dp_discrete_laplace(rng, l1 * 1000000u, eps_micro, &z);
		out->scale = (double)l1 * 1e6 / (double)eps_micro;
		out->half = lv_dp_laplace_halfwidth(out->scale, alpha);
	} else {
		uint64_t num, den;
		st = lv_dp_gaussian_sigma2((double)eps_micro / 1e6, q->delta, 1, &num, &den);
		if (st == LV_OK && num > UINT64_MAX / l2sq)
			st = LV_ERR_UNSUPPORTED;
		if (st == LV_OK)
			st = lv_dp_discrete_gaussian(rng, num * l2sq, den, &z);
		out->scale = (double)num * (double)l2sq / (double)den;
		out->half = lv_dp_gaussian_halfwidth(out->scale, alpha);
	}
	if (st != LV_OK)
		return st;
	if ((z > 0 && v > INT64_MAX - z) || (z < 0 && v < INT64_MIN - z))
		return LV_ERR_INTERNAL;
	out->value = v + z;
	return LV_OK;
}

static cJSON *num_or_null(bool ok, double v)
{
	return ok ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

static cJSON *interval(double lo, double hi)
{
	cJSON *a = cJSON_CreateArray();
	cJSON_AddItemToArray(a, cJSON_CreateNumber(lo));
	cJSON_AddItemToArray(a, cJSON_CreateNumber(hi));
	return a;
}

/* The count metric: the noisy count of learners with a matching record is
 * the answer and the cohort size at once. */
static enum lv_status release_count(struct lv_dp_rng *rng, const struct query_spec *q, const struct totals *t,
				    uint32_t min_cohort, cJSON *ans)
{
	struct noisy nc;
	uint64_t eps = q->eps_micro_floor;
	enum lv_status st = noise(rng, q, t->matched, 1, 1, eps, 0.05, &nc);
	if (st != LV_OK)
		return st;
	bool sup = nc.value < (int64_t)min_cohort;
	cJSON_AddItemToObject(ans, "value", num_or_null(!sup, (double)nc.value));
	cJSON_AddItemToObject(ans, "ci95", sup ? cJSON_CreateNull()
					       : interval((double)(nc.value - nc.half), (double)(nc.value + nc.half)));
	cJSON_AddNumberToObject(ans, "noisy_learners", (double)nc.value);
	cJSON_AddBoolToObject(ans, "suppressed", sup);
	cJSON *sp = cJSON_AddObjectToObject(ans, "split");
	cJSON_AddNumberToObject(sp, "count_epsilon", eps / 1e6);
	return LV_OK;
}

static enum lv_status release_sum(struct lv_dp_rng *rng, const struct query_spec *q, const struct totals *t,
				  uint64_t eps_m, bool sup, cJSON *ans)
{
	double unit = query_field_unit(q->field);
	uint64_t bound = (uint64_t)(llabs(q->lo_u) > llabs(q->hi_u) ? llabs(q->lo_u) : llabs(q->hi_u));
	struct noisy ns;
	enum lv_status st = noise(rng, q, t->sum, bound, bound * bound, eps_m, 0.05, &ns);
	if (st != LV_OK)
		return st;
	cJSON_AddItemToObject(ans, "value", num_or_null(!sup, (double)ns.value * unit));
	cJSON_AddItemToObject(ans, "ci95", sup ? cJSON_CreateNull()
		: interval((double)(ns.value - ns.half) * unit, (double)(ns.value + ns.half) * unit));
	return LV_OK;
}

/* @nc: the noisy cohort count, the mean's denominator. */
static enum lv_status release_mean(struct lv_dp_rng *rng, const struct query_spec *q, const struct totals *t,
				   const struct noisy *nc, uint64_t eps_m, bool sup, cJSON *ans)
{
	double unit = query_field_unit(q->field);
	struct noisy ns;
	/* Sum of 2x - lo - hi: each term within +-(hi - lo). */
	uint64_t d = (uint64_t)(q->hi_u - q->lo_u);
	enum lv_status st = noise(rng, q, t->sum, d, d * d, eps_m, 0.025, &ns);
	if (st != LV_OK)
		return st;
	double mid = (double)(q->lo_u + q->hi_u) / 2, lo = (double)q->lo_u, hi = (double)q->hi_u;
	double cnt = nc->value < 1 ? 1 : (double)nc->value;
	double mean = fmin(hi, fmax(lo, mid + (double)ns.value / 2 / cnt));
	/* 95% by a union bound: both noises inside their 97.5% half-widths
	 * put the true mean inside the extremes of (sum / count) over that
	 * rectangle. */
	double c_lo = fmax(1, (double)(nc->value - nc->half)), c_hi = fmax(1, (double)(nc->value + nc->half));
	double s_lo = (double)(ns.value - ns.half) / 2, s_hi = (double)(ns.value + ns.half) / 2;
	double cand[4] = {s_lo / c_lo, s_lo / c_hi, s_hi / c_lo, s_hi / c_hi};
	double mn = cand[0], mx = cand[0];
	for (int k = 1; k < 4; k++) {
		mn = fmin(mn, cand[k]);
		mx = fmax(mx, cand[k]);
	}
	cJSON_AddItemToObject(ans, "value", num_or_null(!sup, mean * unit));
	cJSON_AddItemToObject(ans, "ci95", sup ? cJSON_CreateNull()
		: interval(fmax(lo, mid + mn) * unit, fmin(hi, mid + mx) * unit));
	return LV_OK;
}

static enum lv_status release_histogram(struct lv_dp_rng *rng, const struct query_spec *q, const struct totals *t,
					uint64_t eps_m, bool sup, cJSON *ans)
{
	size_t nb = q->by == H_VALUE ? q->nedges - 1 : q->nkeys;
	uint64_t l1 = q->by == H_VALUE ? 1 : q->max_keys;
	cJSON *vals = cJSON_CreateArray(), *cis = cJSON_CreateArray();
	for (size_t b = 0; b < nb; b++) {
		struct noisy ns;
		enum lv_status st = noise(rng, q, t->hist[b], l1, l1, eps_m, 0.05, &ns);
		if (st != LV_OK) {
			cJSON_Delete(vals);
			cJSON_Delete(cis);
			return st;
		}
		cJSON *e = cJSON_CreateObject();
		if (q->by == H_VALUE) {
			cJSON_AddItemToObject(e, "bucket", interval(q->edges[b], q->edges[b + 1]));
		} else {
			cJSON_AddStringToObject(e, "key", q->keys[b]);
		}
		cJSON_AddNumberToObject(e, "count", (double)ns.value);
		cJSON_AddItemToArray(vals, e);
		cJSON_AddItemToArray(cis, interval((double)(ns.value - ns.half), (double)(ns.value + ns.half)));
	}
	if (sup) {
		cJSON_Delete(vals);
		cJSON_Delete(cis);
		cJSON_AddNullToObject(ans, "value");
		cJSON_AddNullToObject(ans, "ci95");
	} else {
		cJSON_AddItemToObject(ans, "value", vals);
		cJSON_AddItemToObject(ans, "ci95", cis);
	}
	return LV_OK;
}

/* Sorts t->values (the quantile's only use of them). */
static enum lv_status release_quantile(struct lv_dp_rng *rng, const struct query_spec *q, struct totals *t,
				       uint64_t eps_m, bool sup, cJSON *ans)
{
	/* Permute-and-flip over evenly spaced candidates; utility
	 * -|1000 * #{x <= c} - q_milli * n| has sensitivity 1000. */
	int64_t *util = malloc(q->ncand * sizeof *util);
	int64_t *cands = malloc(q->ncand * sizeof *cands);
	const int64_t *vals = t->values.v;
	size_t nvals = t->values.n;
	if (!util || !cands) {
		free(util);
		free(cands);
		return LV_ERR_NOMEM;
	}
	if (nvals)
		qsort(t->values.v, nvals, sizeof *vals, util_cmp_i64);
	size_t below = 0;
	for (unsigned k = 0; k < q->ncand; k++) {
		cands[k] = q->lo_u + (int64_t)((__int128)(q->hi_u - q->lo_u) * k / (q->ncand - 1));
		while (below < nvals && vals[below] <= cands[k])
			below++;
		int64_t u = 1000 * (int64_t)below - (int64_t)q->q_milli * (int64_t)nvals;
		util[k] = -(u < 0 ? -u : u);
	}
	size_t choice = 0;
	enum lv_status st = lv_dp_permute_and_flip(rng, util, q->ncand, eps_m, 1000000, 1000, &choice);
	double v = (double)cands[choice] * query_field_unit(q->field);
	free(util);
	free(cands);
	if (st != LV_OK)
		return st;
	cJSON_AddItemToObject(ans, "value", num_or_null(!sup, v));
	cJSON_AddNullToObject(ans, "ci95");
	/* With probability >= 0.95 the released candidate's rank is
	 * within this many learners of the best candidate's. */
	cJSON_AddNumberToObject(ans, "rank_error95", ceil(2.0 / ((double)eps_m / 1e6) * log((double)q->ncand / 0.05)));
	return LV_OK;
}

/* Noises the totals and writes value, ci95, noisy_learners, suppressed
 * into @ans.  @min_cohort from the policy.
 *
 * Nothing written here is un-noised (issue 10, reviewed field by field):
 * every value is a noisy total or permute-and-flip's choice; every ci95 is
 * a noisy value plus or minus a half-width computed from the scale, which
 * follows from the bounds and epsilon only; the mean divides by the noisy
 * count; suppressed compares the noisy count with the policy's min_cohort;
 * histogram buckets and keys are the question's own (a key unknown to the
 * node is released as noise around 0, like a known key nobody used);
 * quantile candidates are spaced over the bounds and rank_error95 follows
 * from epsilon and their number.  The errors: noise() fails only on an
 * int64 overflow of true total plus noise (|total| <= 10^6 * 2 * 10^9,
 * the noise's scale at most 2 * 10^9 / 0.0005 = 4 * 10^15: probability
 * below e^-2000) or on Gaussian parameters the question alone
 * determines. */
static enum lv_status release(struct lv_dp_rng *rng, const struct query_spec *q, struct totals *t,
			      uint32_t min_cohort, cJSON *ans)
{
	if (q->metric == Q_COUNT)
		return release_count(rng, q, t, min_cohort, ans);
	/* Every other metric: half the epsilon counts the cohort (for the
	 * suppression rule and the answer's noisy_learners), half answers. */
	uint64_t eps = q->eps_micro_floor;
	uint64_t eps_c = eps / 2, eps_m = eps - eps / 2;
	double alpha_c = q->metric == Q_MEAN ? 0.025 : 0.05;
	struct noisy nc;
	enum lv_status st = noise(rng, q, t->cohort, 1, 1, eps_c, alpha_c, &nc);
	if (st != LV_OK)
		return st;
	bool sup = nc.value < (int64_t)min_cohort;
	cJSON_AddNumberToObject(ans, "noisy_learners", (double)nc.value);
	cJSON *sp = cJSON_AddObjectToObject(ans, "split");
	cJSON_AddNumberToObject(sp, "count_epsilon", eps_c / 1e6);
	cJSON_AddNumberToObject(sp, q->metric == Q_QUANTILE ? "quantile_epsilon" : q->metric == Q_HISTOGRAM
				? "histogram_epsilon" : "sum_epsilon", eps_m / 1e6);
	switch (q->metric) {
	case Q_SUM: st = release_sum(rng, q, t, eps_m, sup, ans); break;
	case Q_MEAN: st = release_mean(rng, q, t, &nc, eps_m, sup, ans); break;
	case Q_HISTOGRAM: st = release_histogram(rng, q, t, eps_m, sup, ans); break;
	case Q_QUANTILE: st = release_quantile(rng, q, t, eps_m, sup, ans); break;
	default: st = LV_ERR_INTERNAL; break;
	}
	if (st != LV_OK)
		return st;
	cJSON_AddBoolToObject(ans, "suppressed", sup);
	return LV_OK;
}

/* ---- the door ---- */

/* A release already made under (actor, id): LV_OK with *@answer, or
 * LV_ERR_NOT_FOUND, or LV_ERR_CONFLICT when it was another question. */
static enum lv_status cached(struct lv_node *n, const char *actor, const struct query_spec *q, char **answer)
{
	char *sha = NULL, *text = NULL;
	*answer = NULL;
	enum lv_status st = lv_store_release_get(n, actor, q->id, &sha, &text);
	if (st != LV_OK)
		return st;
	if (strcmp(sha, q->sha256) != 0) {
		st = LV_ERR_CONFLICT;
	} else {
		cJSON *a = cJSON_Parse(text);
		if (a) {
			cJSON_ReplaceItemInObjectCaseSensitive(a, "cached", cJSON_CreateTrue());
			*answer = cJSON_PrintUnformatted(a);
			cJSON_Delete(a);
		}
		st = *answer ? LV_OK : LV_ERR_NOMEM;
	}
	free(sha);
	free(text);
	return st;
}

/* ---- the three phases (query.h) ---- */

/* One question across its phases. */
struct agg {
	const struct lv_principal *who;
	const struct query_spec *q;
	int64_t now;               /* the caller's clock */
	double mono0;              /* when phase 1 began */
	uint32_t quantum;          /* ms: door_wait_quantum */
	const char *fname;         /* the field's policy name, or NULL */
	struct lv_consent_scope scope;
	struct door d1;            /* phase 1's cohort: the contributions are theirs */
	struct plan pl;
	struct contrib *c;         /* per d1.inc[i] */
	char **answer;
	char *err;
};

/* The cached release of the same (actor, id), if any: LV_OK with
 * *a->answer; LV_ERR_NOT_FOUND to go on; anything else fails. */
static enum lv_status cached_or_go_on(struct lv_node *n, struct agg *a, const char *actor)
{
	enum lv_status st = cached(n, actor, a->q, a->answer);
	if (st == LV_ERR_CONFLICT)
		snprintf(a->err, LV_QUERY_ERR_LEN, "query id %s was already used for a different query", a->q->id);
	return st;
}

/* Phase 1 (lock held, in a transaction): the cached answer, the facts
 * journal folded, the policy and its scope, the cohort, the plan. */
static enum lv_status prepare_locked(struct lv_node *n, void *ctx)
{
	struct agg *a = ctx;
	a->quantum = door_quantum_locked(n);
	enum lv_status st = cached_or_go_on(n, a, a->d1.actor);
	if (st != LV_ERR_NOT_FOUND)
		return st;
	if ((st = lv_store_facts_fold(n)) != LV_OK || (st = door_policy_locked(n, &a->d1, a->err)) != LV_OK ||
	    (st = query_check_policy(a->q, &a->scope, a->d1.pol.p, a->err)) != LV_OK || (st = door_cohort_locked(n, &a->d1, a->err)) != LV_OK ||
	    (st = query_plan_locked(n, &a->pl, a->d1.pol.p, a->now)) != LV_OK || (st = door_voided_locked(n, &a->d1)) != LV_OK)
		return st;
	a->c = calloc(a->d1.ninc ? a->d1.ninc : 1, sizeof *a->c);
	return a->c ? LV_OK : LV_ERR_NOMEM;
}

/* After phase 1's commit, under the same lock: the query's hold on the
 * purpose's budget, and the snapshot phase 2 reads. */
static enum lv_status snapshot_locked(struct lv_node *n, void *ctx)
{
	struct agg *a = ctx;
	if (*a->answer)
		return LV_OK;
	enum lv_status st = door_hold(n, &a->d1);
	return st != LV_OK ? st : lv_store_snapshot_begin_locked(n);
}

/* The answer's fields besides the noised ones: the question's, the
 * policy's (the version phase 3 checked is phase 1's), and two that must
 * not tell when phase 3 ran (its time follows the cohort's size and
 * records): "released" is the time the question was received, and
 * "budget_remaining" the purpose's budget left in the window when phase 1
 * read it, less this query's epsilon (phase 3's window may have moved
 * past midnight meanwhile, and other releases may have committed). */
static void answer_fields(const struct agg *a, const struct door *d, cJSON *ans, bool head)
{
	const struct query_spec *q = a->q;
	const struct door *d1 = &a->d1;
	if (head) {
		cJSON_AddStringToObject(ans, "query_id", q->id);
		cJSON_AddStringToObject(ans, "purpose", q->purpose);
		cJSON_AddNumberToObject(ans, "policy_version", d->pol.version);
		cJSON_AddStringToObject(ans, "metric", query_metric_str(q->metric));
		if (q->field != F_NONE)
			cJSON_AddStringToObject(ans, "field", query_field_str(q->field));
		return;
	}
	cJSON_AddNumberToObject(ans, "epsilon", (double)q->eps_micro_ceil / 1e6);
	cJSON_AddNumberToObject(ans, "delta", q->mech == M_GAUSSIAN ? q->delta : 0);
	cJSON_AddStringToObject(ans, "mechanism", q->mech == M_GAUSSIAN ? "discrete-gaussian" : "discrete-laplace");
	cJSON_AddNumberToObject(ans, "min_cohort", lv_policy_min_cohort(d->pol.p));
	cJSON_AddNumberToObject(ans, "budget_remaining", (double)(d1->budget - d1->used - q->eps_micro_ceil) / 1e6);
	cJSON_AddNumberToObject(ans, "budget_window_days", lv_policy_budget_window_days(d->pol.p));
	char t_asked[UTIL_TIME_LEN];
	util_time_format(a->now, t_asked);
	cJSON_AddStringToObject(ans, "released", t_asked);
}

/* Phase 3 (lock held, in a transaction): the cohort again; the release
 * over the learners of both cohorts, whose contributions alone are
 * totalled; their access entries, charges, the release entry. */
static enum lv_status release_locked(struct lv_node *n, void *ctx)
{
	struct agg *a = ctx;
	const struct query_spec *q = a->q;
	struct door d = {.purpose = q->purpose, .qid = q->id, .sha = q->sha256, .eps_ceil = q->eps_micro_ceil,
			 .now = door_now(a->now, a->mono0), .actor = a->d1.actor, .question = q->canonical,
			 .hold = a->d1.hold};
	struct totals t = {0};
	struct lv_dp_rng *rng = NULL;
	cJSON *ans = NULL;
	size_t *from = NULL;
	/* The same id may have been answered meanwhile. */
	enum lv_status st = cached_or_go_on(n, a, d.actor);
	if (st != LV_ERR_NOT_FOUND)
		return st;
	if ((st = door_recheck_locked(n, &d, &a->d1, &from, a->err)) != LV_OK)
		goto out;
	t.max_values = d.ninc;
	for (size_t k = 0; k < d.ninc && st == LV_OK; k++)
		st = add(q, &a->c[from[k]], &t);
	if (st != LV_OK || (st = door_access_locked(n, a->who, &d, &a->scope)) != LV_OK ||
	    (st = lv_dp_rng_create(&rng)) != LV_OK)
		goto out;
	ans = cJSON_CreateObject();
	answer_fields(a, &d, ans, true);
	if ((st = release(rng, q, &t, lv_policy_min_cohort(d.pol.p), ans)) != LV_OK)
		goto out;
	answer_fields(a, &d, ans, false);
	/* Charges, the release entry, the kept release: then the answer. */
	st = door_release_locked(n, a->who, &d, ans, a->answer);
out:
	/* Committed or failed, the query is over: under the lock, so no
	 * other query sees both the charge and the hold. */
	lv_store_budget_unhold(n, a->d1.hold);
	lv_dp_rng_destroy(rng);
	cJSON_Delete(ans);
	free(from);
	door_free(&d);
	if (t.values.v) {
		sodium_memzero(t.values.v, t.values.cap * sizeof *t.values.v);
		free(t.values.v);
	}
	sodium_memzero(&t, sizeof t);
	return st;
}

static void agg_free(struct agg *a)
{
	if (a->c) {
		sodium_memzero(a->c, (a->d1.ninc ? a->d1.ninc : 1) * sizeof *a->c);
		free(a->c);
	}
	door_free(&a->d1);
}

/* The three phases; only phases 1 and 3 take the node lock. */
static enum lv_status run_phases(struct lv_node *n, struct agg *a)
{
	lv_store_snapshot_acquire(n);
	enum lv_status st = door_tx(n, prepare_locked, snapshot_locked, a);
	bool go_on = st == LV_OK && !*a->answer;
	if (go_on && query_test_hook)
		query_test_hook(n, QUERY_STAGE_COMPUTING);
	if (go_on)
		st = query_contributions(n, &a->pl, a->d1.inc, a->d1.ninc, a->c);
	lv_store_snapshot_release(n);
	if (go_on && st == LV_OK && query_test_hook)
		query_test_hook(n, QUERY_STAGE_RELEASING);
	if (go_on && st == LV_OK)
		st = door_tx(n, release_locked, NULL, a);
	lv_store_budget_unhold(n, a->d1.hold); /* phase 2 or 3 failed before phase 3's step */
	return st;
}

enum lv_status lv_aggregate(struct lv_node *n, const struct lv_principal *who, const char *text, size_t len,
			    int64_t now, char **answer, char err[LV_QUERY_ERR_LEN])
{
	struct query_spec q;
	*answer = NULL;
	err[0] = '\0';
	enum lv_status st = query_parse(text, len, &q, err);
	if (st != LV_OK)
		return st;
	if (!query_bound_to(who, q.purpose)) {
		snprintf(err, LV_QUERY_ERR_LEN, "this credential is not bound to the purpose %s", q.purpose);
		query_spec_free(&q);
		return LV_ERR_FORBIDDEN;
	}
	if (!q.id_given) {
		char u[UTIL_UUID_LEN];
		util_uuid_v4(u);
		snprintf(q.id, sizeof q.id, "%s", u);
	}
	struct agg a = {.who = who, .q = &q, .now = now, .mono0 = util_mono_s(), .quantum = DOOR_QUANTUM_DEFAULT_MS,
			.answer = answer, .err = err};
	a.d1 = (struct door){.purpose = q.purpose, .qid = q.id, .sha = q.sha256, .eps_ceil = q.eps_micro_ceil,
			     .now = now, .actor = who->role == LV_ROLE_ADMIN ? "operator" : who->id,
			     .question = q.canonical};
	a.pl = (struct plan){.q = &q, .door = &a.d1};
	a.fname = query_field_policy_name(q.field);
	a.scope = (struct lv_consent_scope){
		.resource = "aggregate", .has_op = true, .op = q.op,
		.verbs = (const char *const *)q.verbs, .nverbs = q.nverbs,
		.activity_types = (const char *const *)q.types, .ntypes = q.ntypes,
		.result_fields = a.fname ? &a.fname : NULL, .nfields = a.fname ? 1 : 0,
	};
	st = run_phases(n, &a);
	agg_free(&a);
	/* No lock is held here; the wait covers errors too (a 409 after phase
	 * 3 began took as long as the work before it). */
	door_wait_quantum(a.mono0, a.quantum);
	if (st != LV_OK) {
		free(*answer);
		*answer = NULL;
		if (!err[0]) /* never a detail that could depend on a learner's data */
			snprintf(err, LV_QUERY_ERR_LEN, "the aggregate could not be answered (%s); nothing was released",
				 lv_status_str(st));
	}
	query_spec_free(&q);
	return st;
}
