/* The question resolved against this node (query.h, "plan.c"): term
 * ids for the filters and the policy's data scope, which records match,
 * and one learner's bounded contribution from their facts.  Shared by
 * the aggregate door (aggregate.c) and the federated upload
 * (federate.c), so both measure a learner the same way. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "learnvault/store.h"
#include "query.h"
#include "learnvault/util.h"

/* ---- small sorted sets of term ids ---- */


static bool in_set(const struct idset *s, uint32_t id)
{
	return id && bsearch(&id, s->v, s->n, sizeof s->v[0], util_cmp_u32) != NULL;
}

/* Resolves IRIs to term ids; unknown IRIs match nothing (and say nothing). */
static enum lv_status resolve(struct lv_node *n, char *const *iris, size_t count, struct idset *out)
{
	out->n = 0;
	for (size_t i = 0; i < count; i++) {
		uint32_t id;
		enum lv_status st = lv_store_term_find(n, iris[i], &id);
		if (st != LV_OK)
			return st;
		if (id && out->n < sizeof out->v / sizeof out->v[0])
			out->v[out->n++] = id;
	}
	qsort(out->v, out->n, sizeof out->v[0], util_cmp_u32);
	return LV_OK;
}

/* ---- the question, resolved against this node ---- */


static bool fact_matches(const struct plan *pl, const struct lv_fact *f)
{
	const struct query_spec *q = pl->q;
	if (door_voided(pl->door, f->seq))
		return false;
	if (!in_set(&pl->pverbs, f->verb) || !in_set(&pl->ptypes, f->type) || f->stored_ms < pl->retention_from_ms)
		return false;
	if (q->nverbs && !in_set(&pl->verbs, f->verb))
		return false;
	if (q->ntypes && !in_set(&pl->types, f->type))
		return false;
	if (q->nactivities) {
		bool hit = in_set(&pl->acts, f->object);
		for (unsigned i = 0; !hit && i < f->nctx; i++)
			hit = in_set(&pl->acts, f->ctx[i]);
		if (!hit)
			return false;
	}
	if (q->has_registration && (!f->has_registration || memcmp(f->registration, q->registration, 16) != 0))
		return false;
	if (q->has_since && f->timestamp_ms < q->since_ms)
		return false;
	if (q->has_until && f->timestamp_ms >= q->until_ms)
		return false;
	return true;
}

/* The field's value of one record, in the field's natural unit. */
static bool fact_value(enum q_field field, const struct lv_fact *f, double *v)
{
	switch (field) {
	case F_SCORE:
		if (f->score_e6 == LV_FACT_NO_SCORE)
			return false;
		*v = f->score_e6 / 1e6;
		return true;
	case F_SUCCESS:
		if (f->success < 0)
			return false;
		*v = f->success;
		return true;
	case F_COMPLETION:
		if (f->completion < 0)
			return false;
		*v = f->completion;
		return true;
	case F_DURATION:
		if (f->duration_ms < 0)
			return false;
		*v = f->duration_ms / 1000.0;
		return true;
	default:
		return false;
	}
}

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}


static int64_t to_units(double v, enum q_field field)
{
	double u = v / query_field_unit(field);
	if (!(u > -9e15 && u < 9e15))
		return u < 0 ? -(int64_t)9e15 : (int64_t)9e15;
	return (int64_t)llround(u);
}

void query_contribution(const struct plan *pl, const struct lv_fact *facts, size_t nfacts, struct contrib *c)
{
	const struct query_spec *q = pl->q;
	memset(c, 0, sizeof *c);
	size_t nmatch = 0, nval = 0;
	double acc = 0, best = 0;
	int64_t best_ts = 0, best_seq = 0;
	uint32_t key_hits[Q_MAX_KEYS] = {0};
	for (size_t i = 0; i < nfacts; i++) {
		const struct lv_fact *f = &facts[i];
		if (!fact_matches(pl, f))
			continue;
		nmatch++;
		if (q->metric == Q_HISTOGRAM && q->by != H_VALUE) {
			for (size_t k = 0; k < q->nkeys; k++) {
				uint32_t key = pl->keys[k];
				bool hit = key && (q->by == H_VERB ? f->verb == key : f->object == key);
				for (unsigned j = 0; !hit && key && q->by == H_ACTIVITY && j < f->nctx; j++)
					hit = f->ctx[j] == key;
				if (hit)
					key_hits[k]++;
			}
			continue;
		}
		double v;
		if (q->field == F_NONE || q->field == F_STATEMENTS || !fact_value(q->field, f, &v))
			continue;
		bool later = nval == 0 || f->timestamp_ms > best_ts || (f->timestamp_ms == best_ts && f->seq > best_seq);
		bool earlier = nval == 0 || f->timestamp_ms < best_ts || (f->timestamp_ms == best_ts && f->seq < best_seq);
		switch (q->per) {
		case P_MEAN:
		case P_SUM: acc += v; break;
		case P_MAX: best = nval == 0 || v > best ? v : best; break;
		case P_MIN: best = nval == 0 || v < best ? v : best; break;
		case P_FIRST:
			if (earlier) {
				best = v;
				best_ts = f->timestamp_ms;
				best_seq = f->seq;
			}
			break;
		case P_LAST:
			if (later) {
				best = v;
				best_ts = f->timestamp_ms;
				best_seq = f->seq;
			}
			break;
		}
		nval++;
	}
	c->matched = nmatch > 0;
	if (q->metric == Q_COUNT)
		return;
	if (q->metric == Q_HISTOGRAM && q->by != H_VALUE) {
		/* Keep the learner's max_keys most-used keys (ties: key order). */
		c->has_value = nmatch > 0;
		for (unsigned kept = 0; kept < q->max_keys; kept++) {
			size_t bi = SIZE_MAX;
			for (size_t k = 0; k < q->nkeys; k++)
				if (key_hits[k] && !(c->keys >> k & 1) && (bi == SIZE_MAX || key_hits[k] > key_hits[bi]))
					bi = k;
			if (bi == SIZE_MAX)
				break;
			c->keys |= 1ULL << bi;
		}
		return;
	}
	if (q->field == F_STATEMENTS) {
		c->has_value = nmatch > 0;
		c->value_u = clamp64((int64_t)nmatch, q->lo_u, q->hi_u);
		return;
	}
	if (nval == 0)
		return;
	double v = q->per == P_MEAN ? acc / (double)nval : q->per == P_SUM ? acc : best;
	c->has_value = true;
	c->value_u = clamp64(to_units(v, q->field), q->lo_u, q->hi_u);
}


/* Policy rules that depend on the question only, never on data: the
 * consent module's scope rule (the one every access uses), then the
 * privacy parameters only a query has. */
enum lv_status query_check_policy(const struct query_spec *q, const struct lv_consent_scope *scope,
				   const struct lv_policy *p, char err[LV_QUERY_ERR_LEN])
{
	struct lv_consent_scope_miss m;
	bool inside = lv_consent_scope_check(p, scope, &m);
	if (m.operation) {
		snprintf(err, LV_QUERY_ERR_LEN, "policy %s does not allow the operation %s", q->purpose,
			 lv_policy_op_str(q->op));
		return LV_ERR_FORBIDDEN;
	}
	double max = lv_policy_epsilon_per_query_max(p);
	if ((double)q->eps_micro_ceil > floor(max * 1e6 + 1e-6)) {
		snprintf(err, LV_QUERY_ERR_LEN, "epsilon %g exceeds the policy's epsilon_per_query_max %g", q->epsilon, max);
		return LV_ERR_FORBIDDEN;
	}
	if (!inside) {
		if (m.result_field)
			snprintf(err, LV_QUERY_ERR_LEN, "the field %s is outside the policy's data scope", m.result_field);
		else if (m.verb)
			snprintf(err, LV_QUERY_ERR_LEN, "the verb %.160s is outside the policy's data scope", m.verb);
		else
			snprintf(err, LV_QUERY_ERR_LEN, "the activity type %.160s is outside the policy's data scope",
				 m.activity_type ? m.activity_type : "");
		return LV_ERR_FORBIDDEN;
	}
	if (q->metric == Q_HISTOGRAM && q->by == H_VERB) {
		struct lv_consent_scope keys = {.verbs = (const char *const *)q->keys, .nverbs = q->nkeys};
		if (!lv_consent_scope_check(p, &keys, &m)) {
			snprintf(err, LV_QUERY_ERR_LEN, "the key %.160s is outside the policy's data scope", m.verb);
			return LV_ERR_FORBIDDEN;
		}
	}
	return LV_OK;
}

/* The question against this node's terms (the term cache is node state). */
enum lv_status query_plan_locked(struct lv_node *n, struct plan *pl, const struct lv_policy *p, int64_t now)
{
	const struct query_spec *q = pl->q;
	pl->retention_from_ms = now - (int64_t)lv_policy_retention_days(p) * UTIL_DAY_MS;
	char *pv[LV_POLICY_MAX_ITEMS], *pt[LV_POLICY_MAX_ITEMS];
	size_t npv = lv_policy_verb_count(p), npt = lv_policy_activity_type_count(p);
	for (size_t i = 0; i < npv && i < LV_POLICY_MAX_ITEMS; i++)
		pv[i] = (char *)lv_policy_verb(p, i);
	for (size_t i = 0; i < npt && i < LV_POLICY_MAX_ITEMS; i++)
		pt[i] = (char *)lv_policy_activity_type(p, i);
	enum lv_status st;
	if ((st = resolve(n, pv, npv, &pl->pverbs)) != LV_OK || (st = resolve(n, pt, npt, &pl->ptypes)) != LV_OK ||
	    (st = resolve(n, q->verbs, q->nverbs, &pl->verbs)) != LV_OK ||
	    (st = resolve(n, q->activities, q->nactivities, &pl->acts)) != LV_OK ||
	    (st = resolve(n, q->types, q->ntypes, &pl->types)) != LV_OK)
		return st;
	for (size_t k = 0; k < q->nkeys; k++)
		if ((st = lv_store_term_find(n, q->keys[k], &pl->keys[k])) != LV_OK)
			return st;
	return LV_OK;
}

struct contributions_ctx {
	const struct plan *pl;
	struct contrib *out;
};

static enum lv_status contribute(void *ctx, size_t i, const struct lv_fact *facts, size_t nfacts)
{
	struct contributions_ctx *cc = ctx;
	query_contribution(cc->pl, facts, nfacts, &cc->out[i]);
	return LV_OK;
}

enum lv_status query_contributions(struct lv_node *n, const struct plan *pl, const char *const *inc, size_t ninc,
				   struct contrib *out)
{
	struct contributions_ctx cc = {pl, out};
	return lv_store_snapshot_facts(n, inc, ninc, contribute, &cc);
}
