/* Global BKT parameters learned across learners through the aggregate door
 * (`learnvault personal fit-global`): the consenting cohort's sealed facts
 * become per-skill response sequences (the curriculum maps activities to
 * skills), each learner contributes bounded E-step counts, and every EM
 * step releases their sum with DP noise (personal/bkt_dp.c).
 *
 * The whole job is one release under the purpose, in the aggregate door's
 * three phases (query.h): the cohort is fixed and the sequences read from
 * a snapshot with no lock held, the EM runs with no lock held, and then
 * each learner still in the cohort is charged the total epsilon and gets
 * one access entry, and the result (the fitted parameters and the noisy
 * sums) is logged and cached like any other release, all in one node.db
 * transaction before anything is returned. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "learnvault/audit.h"
#include "learnvault/dp.h"
#include "learnvault/personal.h"
#include "learnvault/query.h"
#include "learnvault/recommend.h"
#include "learnvault/store.h"
#include "query.h"
#include "learnvault/util.h"

/* Per term id: the skills of that activity (curriculum indices). */
struct term_skills {
	uint32_t *off;   /* per term: start in skills[], off[nterms] = end */
	uint32_t *skills;
	size_t nterms;
};

/* The terms of the curriculum's activities that teach skills. */
struct term_hit {
	uint32_t id;
	const uint32_t *skills;             /* the activity's, borrowed from the curriculum */
	size_t nskills;
};
struct term_map {
	const struct lv_curriculum *cur;
	size_t cap;                         /* term ids are below it */
	UTIL_ARRAY(struct term_hit) hits;   /* in id order */
	size_t nskills;                     /* theirs, in total */
};

static enum lv_status map_term(void *ctx, uint32_t id, const char *iri)
{
	struct term_map *m = ctx;
	const uint32_t *skills;
	size_t ns = lv_curriculum_activity_skills(m->cur, iri, &skills);
	if (!ns || id >= m->cap)
		return LV_OK; /* terms without skills take no room */
	enum lv_status st = util_array_room(&m->hits, m->cap);
	if (st != LV_OK)
		return st;
	m->hits.v[m->hits.n++] = (struct term_hit){id, skills, ns};
	m->nskills += ns;
	return LV_OK;
}

static enum lv_status map_terms(struct lv_node *n, const struct lv_curriculum *cur, struct term_skills *ts)
{
	struct term_map m = {.cur = cur};
	uint32_t max_id;
	size_t nsk = 0;
	memset(ts, 0, sizeof *ts);
	enum lv_status st = lv_store_term_max_id(n, &max_id);
	if (st != LV_OK)
		return st;
	m.cap = (size_t)max_id + 1;
	ts->off = calloc(m.cap + 1, sizeof *ts->off);
	if (!ts->off)
		return LV_ERR_NOMEM;
	ts->nterms = m.cap;
	st = lv_store_terms_each(n, map_term, &m);
	if (st == LV_OK && !(ts->skills = malloc((m.nskills ? m.nskills : 1) * sizeof *ts->skills)))
		st = LV_ERR_NOMEM;
	size_t h = 0;
	for (uint32_t id = 0; st == LV_OK && id < m.cap; id++) {
		ts->off[id] = (uint32_t)nsk;
		if (h < m.hits.n && m.hits.v[h].id == id) {
			for (size_t k = 0; k < m.hits.v[h].nskills; k++)
				ts->skills[nsk++] = m.hits.v[h].skills[k];
			h++;
		}
	}
	ts->off[m.cap] = (uint32_t)nsk;
	free(m.hits.v);
	return st;
}

/* One learner's sequences: responses per skill in time order. */
struct learner_seqs {
	uint8_t *obs;             /* all responses, grouped by skill */
	size_t nobs;
	struct lv_bkt_seq *seqs;
	size_t nseqs;
};

struct resp {
	int64_t ts, seq;
	uint32_t skill;
	uint8_t correct;
};

static int cmp_resp(const void *a, const void *b)
{
	const struct resp *x = a, *y = b;
	if (x->skill != y->skill)
		return x->skill < y->skill ? -1 : 1;
	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

struct fit_ctx {
	const struct term_skills *ts;
	struct idset_lite {
		uint32_t *v;
		size_t n;
	} verbs, types;
	int64_t retention_from_ms;
	const struct door *door;  /* the voided statements */
	double threshold;
	struct learner_seqs *ls; /* per included learner */
	size_t nls;
};

static bool in_lite(const struct idset_lite *s, uint32_t id)
{
	return id && bsearch(&id, s->v, s->n, sizeof *s->v, util_cmp_u32);
}

/* Builds a learner's sequences from their @nfacts @facts. */
static enum lv_status sequences(struct fit_ctx *c, const struct lv_fact *facts, size_t nfacts, struct learner_seqs *out)
{
	size_t cap = (nfacts ? nfacts : 1) * LV_ACTIVITY_SKILLS_MAX;
	struct resp *r = malloc(cap * sizeof *r);
	size_t nr = 0;
	memset(out, 0, sizeof *out);
	if (!r)
		return LV_ERR_NOMEM;
	for (size_t i = 0; i < nfacts; i++) {
		const struct lv_fact *f = &facts[i];
		if (!in_lite(&c->verbs, f->verb) || !in_lite(&c->types, f->type) || f->stored_ms < c->retention_from_ms)
			continue;
		if (door_voided(c->door, f->seq))
			continue;
		int correct = f->success >= 0 ? f->success
			      : f->score_e6 != LV_FACT_NO_SCORE ? (f->score_e6 >= c->threshold * 1e6) : -1;
		if (correct < 0 || f->object >= c->ts->nterms)
			continue;
		for (uint32_t k = c->ts->off[f->object]; k < c->ts->off[f->object + 1] && nr < cap; k++)
			r[nr++] = (struct resp){f->timestamp_ms, f->seq, c->ts->skills[k], (uint8_t)correct};
	}
	qsort(r, nr, sizeof *r, cmp_resp);
	out->obs = malloc(nr ? nr : 1);
	out->seqs = malloc((nr ? nr : 1) * sizeof *out->seqs);
	if (!out->obs || !out->seqs) {
		free(r);
		return LV_ERR_NOMEM;
	}
	for (size_t i = 0; i < nr;) {
		size_t j = i;
		while (j < nr && r[j].skill == r[i].skill) {
			out->obs[j] = r[j].correct;
			j++;
		}
		out->seqs[out->nseqs++] = (struct lv_bkt_seq){out->obs + i, j - i, 1};
		i = j;
	}
	out->nobs = nr;
	sodium_memzero(r, cap * sizeof *r);
	free(r);
	return LV_OK;
}

static enum lv_status resolve_lite(struct lv_node *n, const struct lv_policy *p, bool verbs, struct idset_lite *out)
{
	size_t cnt = verbs ? lv_policy_verb_count(p) : lv_policy_activity_type_count(p);
	out->v = calloc(cnt ? cnt : 1, sizeof *out->v);
	out->n = 0;
	if (!out->v)
		return LV_ERR_NOMEM;
	for (size_t i = 0; i < cnt; i++) {
		uint32_t id;
		enum lv_status st = lv_store_term_find(n, verbs ? lv_policy_verb(p, i) : lv_policy_activity_type(p, i), &id);
		if (st != LV_OK)
			return st;
		if (id)
			out->v[out->n++] = id;
	}
	qsort(out->v, out->n, sizeof *out->v, util_cmp_u32);
	return LV_OK;
}

static void free_ctx(struct fit_ctx *c)
{
	for (size_t i = 0; i < c->nls; i++) {
		if (c->ls[i].obs)
			sodium_memzero(c->ls[i].obs, c->ls[i].nobs);
		free(c->ls[i].obs);
		free(c->ls[i].seqs);
	}
	free(c->ls);
	free(c->verbs.v);
	free(c->types.v);
}

static enum lv_status learner_sequences(void *ctx, size_t i, const struct lv_fact *facts, size_t nfacts)
{
	struct fit_ctx *c = ctx;
	if (!nfacts)
		return LV_OK; /* an included learner without records: no sequences */
	return sequences(c, facts, nfacts, &c->ls[i]);
}

/* Phase 2: the included learners' sequences, c->ls[i] for @inc[i], from
 * the snapshot (no lock held). */
static enum lv_status load_cohort_sequences(struct lv_node *n, struct fit_ctx *c, const char *const *inc, size_t ninc)
{
	c->ls = calloc(ninc ? ninc : 1, sizeof *c->ls);
	if (!c->ls)
		return LV_ERR_NOMEM;
	c->nls = ninc;
	return lv_store_snapshot_facts(n, inc, ninc, learner_sequences, c);
}

/* ---- the three phases (query.h) ---- */

/* One fit across its phases. */
struct fit {
	const struct lv_principal *who;
	const char *purpose;
	const struct lv_bkt_dp_opts *o;
	int64_t now;               /* the caller's clock */
	double mono0;              /* when phase 1 began */
	uint32_t quantum;          /* ms: door_wait_quantum */
	struct door d1;            /* phase 1's cohort: the sequences are theirs */
	struct term_skills ts;
	struct fit_ctx c;          /* c.ls[i]: d1.inc[i]'s sequences */
	size_t *sel, nsel;         /* the learners (indices into d1.inc) the EM runs over */
	struct lv_bkt_params p;    /* the EM's result over sel */
	int64_t noisy[LV_BKT_DP_FIELDS];
	bool again;                /* phase 3 found fewer of sel: run the EM again */
	char **answer;
	char *err;
};

static const char *const FIT_FIELDS[] = {"result.success", "result.score.scaled"};
static const struct lv_consent_scope FIT_SCOPE = {.resource = "aggregate", .has_op = true, .op = LV_POLICY_OP_SUM,
						 .result_fields = FIT_FIELDS, .nfields = 2};

/* Phase 1 (lock held, in a transaction): the curriculum, the facts
 * journal folded, the policy, the cohort, the terms of the curriculum. */
static enum lv_status prepare_locked(struct lv_node *n, void *ctx)
{
	struct fit *f = ctx;
	struct door *d = &f->d1;
	const struct lv_curriculum *cur;
	f->quantum = door_quantum_locked(n);
	enum lv_status st = lv_personal_curriculum_locked(n, &cur);
	if (st != LV_OK || (st = lv_store_facts_fold(n)) != LV_OK)
		return st;
	if (!cur) {
		snprintf(f->err, LV_QUERY_ERR_LEN, "no curriculum is loaded: fit-global maps activities to skills with it");
		return LV_ERR_PRECONDITION;
	}
	if ((st = door_policy_locked(n, d, f->err)) != LV_OK)
		return st;
	static const char *const FIELDS[] = {"result.success", "result.score.scaled"};
	const struct lv_consent_scope need = {.has_op = true, .op = LV_POLICY_OP_SUM, .result_fields = FIELDS,
					      .nfields = 2};
	if (!lv_consent_scope_check(d->pol.p, &need, NULL)) {
		snprintf(f->err, LV_QUERY_ERR_LEN, "policy %s must allow the operation sum over result.success and"
			 " result.score.scaled", f->purpose);
		return LV_ERR_FORBIDDEN;
	}
	if ((double)d->eps_ceil > floor(lv_policy_epsilon_per_query_max(d->pol.p) * 1e6 + 1e-6)) {
		snprintf(f->err, LV_QUERY_ERR_LEN, "epsilon %g exceeds the policy's epsilon_per_query_max %g",
			 f->o->epsilon, lv_policy_epsilon_per_query_max(d->pol.p));
		return LV_ERR_FORBIDDEN;
	}
	if ((st = door_cohort_locked(n, d, f->err)) != LV_OK)
		return st;
	/* Everything phase 2 needs from node state (the curriculum may be
	 * replaced meanwhile): the term -> skill map and the threshold. */
	if ((st = map_terms(n, cur, &f->ts)) != LV_OK)
		return st;
	f->c.ts = &f->ts;
	f->c.door = d;
	f->c.threshold = lv_curriculum_correct_threshold(cur);
	f->c.retention_from_ms = f->now - (int64_t)lv_policy_retention_days(d->pol.p) * UTIL_DAY_MS;
	if ((st = resolve_lite(n, d->pol.p, true, &f->c.verbs)) != LV_OK ||
	    (st = resolve_lite(n, d->pol.p, false, &f->c.types)) != LV_OK || (st = door_voided_locked(n, d)) != LV_OK)
		return st;
	if (!(f->sel = malloc((d->ninc ? d->ninc : 1) * sizeof *f->sel)))
		return LV_ERR_NOMEM;
	for (size_t i = 0; i < d->ninc; i++)
		f->sel[i] = i;
	f->nsel = d->ninc;
	return LV_OK;
}

static enum lv_status snapshot_locked(struct lv_node *n, void *ctx)
{
	struct fit *f = ctx;
	enum lv_status st = door_hold(n, &f->d1);
	return st != LV_OK ? st : lv_store_snapshot_begin_locked(n);
}

/* DP-EM from the library defaults over the learners of f->sel (no lock:
 * the sequences are in memory).  The noise of a run that phase 3 then
 * discards never leaves this process. */
static enum lv_status em(struct fit *f)
{
	struct lv_dp_rng *rng = NULL;
	const struct lv_bkt_dp_opts *o = f->o;
	enum lv_status st = lv_dp_rng_create(&rng);
	uint64_t eps_it = (uint64_t)floor(o->epsilon * 1e6 / o->iterations);
	lv_bkt_params_default(&f->p);
	memset(f->noisy, 0, sizeof f->noisy);
	for (unsigned it = 0; it < o->iterations && st == LV_OK; it++) {
		int64_t sum[LV_BKT_DP_FIELDS] = {0}, one[LV_BKT_DP_FIELDS];
		for (size_t k = 0; k < f->nsel && st == LV_OK; k++) {
			const struct learner_seqs *ls = &f->c.ls[f->sel[k]];
			st = lv_bkt_dp_contribution(&f->p, ls->seqs, ls->nseqs, o, one);
			for (int j = 0; j < LV_BKT_DP_FIELDS; j++)
				sum[j] += one[j];
		}
		if (st == LV_OK)
			st = lv_bkt_dp_step(rng, sum, eps_it, o, &f->p, &f->p, f->noisy);
	}
	lv_dp_rng_destroy(rng);
	return st;
}

/* Keeps in @d (phase 3's cohort, already restricted to phase 1's, @from
 * into phase 1's) only the learners of f->sel; true when that is all of
 * f->sel.  Otherwise f->sel becomes what is left: it only ever shrinks. */
static bool keep_selected(struct fit *f, struct door *d, size_t *from)
{
	size_t j = 0, k = 0;
	for (size_t i = 0; i < d->ninc; i++) {
		while (j < f->nsel && f->sel[j] < from[i])
			j++;
		if (j < f->nsel && f->sel[j] == from[i]) {
			d->inc[k] = d->inc[i];
			d->incm[k] = d->incm[i];
			from[k++] = from[i];
		}
	}
	d->ninc = k;
	if (k == f->nsel)
		return true;
	memcpy(f->sel, from, k * sizeof *from);
	f->nsel = k;
	return false;
}

static cJSON *fit_answer(const struct fit *f, const struct door *d)
{
	const struct lv_bkt_dp_opts *o = f->o;
	cJSON *ans = cJSON_CreateObject();
	cJSON_AddStringToObject(ans, "query_id", d->qid);
	cJSON_AddStringToObject(ans, "purpose", f->purpose);
	cJSON_AddNumberToObject(ans, "policy_version", d->pol.version);
	cJSON_AddStringToObject(ans, "metric", "bkt-global-parameters");
	cJSON *pj = cJSON_AddObjectToObject(ans, "value");
	cJSON_AddNumberToObject(pj, "prior", f->p.prior);
	cJSON_AddNumberToObject(pj, "learn", f->p.learn);
	cJSON_AddNumberToObject(pj, "guess", f->p.guess);
	cJSON_AddNumberToObject(pj, "slip", f->p.slip);
	cJSON_AddNumberToObject(pj, "forget", f->p.forget);
	/* The last step's noisy sequence count stands for the cohort size. */
	cJSON_AddNumberToObject(ans, "noisy_sequences", (double)f->noisy[0] / 1000);
	cJSON_AddNumberToObject(ans, "epsilon", (double)d->eps_ceil / 1e6);
	cJSON_AddNumberToObject(ans, "iterations", o->iterations);
	cJSON_AddNumberToObject(ans, "max_skills", o->max_skills);
	cJSON_AddNumberToObject(ans, "max_len", o->max_len);
	cJSON_AddStringToObject(ans, "mechanism", "discrete-laplace");
	/* As phase 1 read it (aggregate.c, answer_fields, says why). */
	cJSON_AddNumberToObject(ans, "budget_remaining", (double)(f->d1.budget - f->d1.used - d->eps_ceil) / 1e6);
	return ans;
}

/* Phase 3 (lock held, in a transaction): the cohort again.  When the EM
 * ran over exactly the learners still in it, their access entries,
 * charges and the release; otherwise nothing but the expiries found, and
 * f->again. */
static enum lv_status release_locked(struct lv_node *n, void *ctx)
{
	struct fit *f = ctx;
	struct door d = {.purpose = f->purpose, .qid = f->d1.qid, .sha = f->d1.sha, .eps_ceil = f->d1.eps_ceil,
			 .now = door_now(f->now, f->mono0), .actor = f->d1.actor, .question = f->d1.question,
			 .hold = f->d1.hold};
	cJSON *ans = NULL;
	size_t *from = NULL;
	enum lv_status st;
	if ((st = door_recheck_locked(n, &d, &f->d1, &from, f->err)) != LV_OK)
		goto out;
	if (!(f->again = !keep_selected(f, &d, from)) && (st = door_access_locked(n, f->who, &d, &FIT_SCOPE)) == LV_OK) {
		ans = fit_answer(f, &d);
		st = door_release_locked(n, f->who, &d, ans, f->answer);
	}
out:
	/* Unless the EM runs again, the job is over (aggregate.c says why
	 * here, under the lock). */
	if (st != LV_OK || !f->again)
		lv_store_budget_unhold(n, f->d1.hold);
	cJSON_Delete(ans);
	free(from);
	door_free(&d);
	return st;
}

static void fit_free(struct fit *f)
{
	free_ctx(&f->c);
	free(f->ts.off);
	free(f->ts.skills);
	free(f->sel);
	door_free(&f->d1);
}

/* The three phases; only phases 1 and 3 take the node lock.  Phase 3
 * sends the EM back when learners left the cohort meanwhile: the
 * selection shrinks each time, so this ends. */
static enum lv_status run_phases(struct lv_node *n, struct fit *f)
{
	lv_store_snapshot_acquire(n);
	enum lv_status st = door_tx(n, prepare_locked, snapshot_locked, f);
	if (st == LV_OK && query_test_hook)
		query_test_hook(n, QUERY_STAGE_COMPUTING);
	if (st == LV_OK)
		st = load_cohort_sequences(n, &f->c, f->d1.inc, f->d1.ninc);
	lv_store_snapshot_release(n);
	do {
		f->again = false;
		if (st == LV_OK)
			st = em(f);
		if (st == LV_OK && query_test_hook)
			query_test_hook(n, QUERY_STAGE_RELEASING);
		if (st == LV_OK)
			st = door_tx(n, release_locked, NULL, f);
	} while (st == LV_OK && f->again);
	lv_store_budget_unhold(n, f->d1.hold); /* failed before phase 3's step */
	return st;
}

/* The job's question as the release entry records it (compact JSON,
 * malloc'd), and its SHA-256 into @sha: the request digest. */
static char *fit_question(const char *purpose, const struct lv_bkt_dp_opts *o, char sha[65])
{
	cJSON *q = cJSON_CreateObject();
	cJSON_AddStringToObject(q, "purpose", purpose);
	cJSON_AddStringToObject(q, "metric", "bkt-global-parameters");
	cJSON_AddNumberToObject(q, "epsilon", o->epsilon);
	cJSON_AddNumberToObject(q, "iterations", o->iterations);
	cJSON_AddNumberToObject(q, "max_skills", o->max_skills);
	cJSON_AddNumberToObject(q, "max_len", o->max_len);
	cJSON_AddBoolToObject(q, "fit_forget", o->fit_forget);
	return query_question_text(q, sha);
}

enum lv_status lv_personal_fit_global(struct lv_node *n, const struct lv_principal *who, const char *purpose,
				      const struct lv_bkt_dp_opts *o, int64_t now, char **answer,
				      char err[LV_QUERY_ERR_LEN])
{
	*answer = NULL;
	err[0] = '\0';
	if (!purpose || !o || !(o->epsilon >= 0.001 && o->epsilon <= 100) || o->iterations < 1 || o->iterations > 100 ||
	    o->max_skills < 1 || o->max_skills > 1000 || o->max_len < 1 || o->max_len > 1000 ||
	    o->epsilon * 1e6 / o->iterations < 3) {
		snprintf(err, LV_QUERY_ERR_LEN, "fit-global: epsilon 0.001..100, iterations 1..100, max-skills and"
			 " max-len 1..1000");
		return LV_ERR_INVALID;
	}
	if (!query_bound_to(who, purpose)) {
		snprintf(err, LV_QUERY_ERR_LEN, "this credential is not bound to the purpose %s", purpose);
		return LV_ERR_FORBIDDEN;
	}
	/* A fresh id per job: the fit is not a question one asks twice. */
	char qid[UTIL_UUID_LEN + 16], sha[65];
	util_uuid_v4(qid + snprintf(qid, sizeof qid, "fit-global:"));
	char *question = fit_question(purpose, o, sha);
	if (!question)
		return LV_ERR_NOMEM;
	struct fit f = {.who = who, .purpose = purpose, .o = o, .now = now, .mono0 = util_mono_s(),
			.quantum = DOOR_QUANTUM_DEFAULT_MS, .answer = answer, .err = err};
	f.d1 = (struct door){.purpose = purpose, .qid = qid, .sha = sha, .now = now,
			     .eps_ceil = (uint64_t)ceil(o->epsilon * 1e6 - 1e-6),
			     .actor = who->role == LV_ROLE_ADMIN ? "operator" : who->id, .question = question};
	enum lv_status st = run_phases(n, &f);
	fit_free(&f);
	free(question);
	door_wait_quantum(f.mono0, f.quantum); /* no lock held; errors too */
	if (st != LV_OK) {
		free(*answer);
		*answer = NULL;
		if (!err[0])
			snprintf(err, LV_QUERY_ERR_LEN, "the fit could not be released (%s); nothing was released",
				 lv_status_str(st));
	}
	return st;
}
