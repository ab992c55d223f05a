/* Retention: the rule of include/learnvault/retention.h over the loaded
 * policies, applied through the store (store/retention.c), by hand
 * (`learnvault retention run`) or on the server's schedule.
 *
 * Every loaded version counts, not only the newest: a grant given under
 * an older version still lets that version's purpose use what it covers,
 * for as long as that version's retention says.  The scope test is the
 * aggregate door's (query/plan.c): verb and activity type, by term id. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "learnvault/policy.h"
#include "learnvault/retention.h"
#include "learnvault/util.h"

#define POLICIES_MAX 4096
#define TERMS_MAX 4096 /* verbs or types of one policy */

struct rpol {
	uint32_t *verbs, *types; /* term ids of the scope (IRIs never stored are left out) */
	size_t nverbs, ntypes;
	int64_t keep_from_ms;    /* statements stored before this are past its retention */
};

struct rule {
	UTIL_ARRAY(struct rpol) pols;
	cJSON *names; /* "id/version" of every policy version applied */
	int64_t now_ms;
	struct lv_retention_schedule *sched; /* the server's, or NULL */
};

static bool schedule_stopping(struct lv_retention_schedule *s);

static bool stopped(void *ctx)
{
	const struct rule *r = ctx;
	return r->sched && schedule_stopping(r->sched);
}

static bool has(const uint32_t *v, size_t n, uint32_t id)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == id)
			return true;
	return false;
}

static bool expired(void *ctx, const struct lv_fact *f)
{
	const struct rule *r = ctx;
	bool covered = false;
	for (size_t i = 0; i < r->pols.n; i++) {
		const struct rpol *p = &r->pols.v[i];
		if (!f->verb || !f->type || !has(p->verbs, p->nverbs, f->verb) || !has(p->types, p->ntypes, f->type))
			continue;
		if (f->stored_ms >= p->keep_from_ms)
			return false; /* some covering policy may still use it */
		covered = true;
	}
	return covered;
}

/* The term ids of @count IRIs @iri(p, i); unknown IRIs are skipped (no
 * stored statement names them).  Lock held. */
static enum lv_status terms_of(struct lv_node *n, const struct lv_policy *p, size_t count,
			       const char *(*iri)(const struct lv_policy *, size_t), uint32_t **out, size_t *nout)
{
	*out = calloc(count ? count : 1, sizeof **out);
	*nout = 0;
	if (!*out)
		return LV_ERR_NOMEM;
	if (count > TERMS_MAX)
		return LV_ERR_TOO_LARGE;
	for (size_t i = 0; i < count; i++) {
		uint32_t id = 0;
		enum lv_status st = lv_store_term_find(n, iri(p, i), &id);
		if (st == LV_ERR_NOT_FOUND || (st == LV_OK && id == 0))
			continue;
		if (st != LV_OK)
			return st;
		(*out)[(*nout)++] = id;
	}
	return LV_OK;
}

struct walk {
	struct lv_node *n;
	struct rule *r;
};

static enum lv_status add_policy(void *ctx, const struct lv_store_policy_row *row)
{
	struct walk *w = ctx;
	struct lv_policy *p = NULL;
	char perr[LV_POLICY_ERR_LEN];
	/* A stored policy passed the same parse when it was loaded. */
	enum lv_status st = lv_policy_parse(row->text, strlen(row->text), &p, perr);
	if (st == LV_OK)
		st = util_array_room(&w->r->pols, POLICIES_MAX);
	if (st == LV_OK) {
		struct rpol *rp = &w->r->pols.v[w->r->pols.n++];
		memset(rp, 0, sizeof *rp);
		rp->keep_from_ms = w->r->now_ms - (int64_t)lv_policy_retention_days(p) * UTIL_DAY_MS;
		st = terms_of(w->n, p, lv_policy_verb_count(p), lv_policy_verb, &rp->verbs, &rp->nverbs);
		if (st == LV_OK)
			st = terms_of(w->n, p, lv_policy_activity_type_count(p), lv_policy_activity_type, &rp->types,
				      &rp->ntypes);
		char name[96];
		snprintf(name, sizeof name, "%s/%u", row->id, (unsigned)row->version);
		cJSON_AddItemToArray(w->r->names, cJSON_CreateString(name));
	}
	lv_policy_destroy(p);
	return st;
}

static void rule_free(struct rule *r)
{
	for (size_t i = 0; i < r->pols.n; i++) {
		free(r->pols.v[i].verbs);
		free(r->pols.v[i].types);
	}
	free(r->pols.v);
	cJSON_Delete(r->names);
}

/* lv_retention_run, stopping between batches when @sched is stopping. */
static enum lv_status retention_run(struct lv_node *n, int64_t now_ms, bool dry_run, struct lv_retention_schedule *sched,
				    struct lv_retention_report *rep, char err[LV_ERR_LEN])
{
	struct rule r = {.now_ms = now_ms, .names = cJSON_CreateArray(), .sched = sched};
	struct walk w = {n, &r};
	memset(rep, 0, sizeof *rep);
	err[0] = '\0';
	enum lv_status st = lv_store_lock(n);
	if (st == LV_OK)
		st = lv_store_policies_each(n, add_policy, &w);
	lv_store_unlock(n);
	if (st != LV_OK) {
		snprintf(err, LV_ERR_LEN, "cannot read the loaded policies: %s", lv_status_str(st));
		rule_free(&r);
		return st;
	}
	cJSON *extra = cJSON_CreateObject();
	cJSON_AddItemReferenceToObject(extra, "policies", r.names);
	st = lv_store_retention_apply(n, expired, stopped, &r, dry_run, extra, rep);
	rep->policies = r.pols.n;
	if (st == LV_ERR_IN_USE)
		snprintf(err, LV_ERR_LEN, "the vaults are held by another process (the server runs retention itself)");
	else if (st == LV_ERR_BUSY)
		snprintf(err, LV_ERR_LEN, "stopped with the server, part-way (what was committed stays deleted and audited)");
	else if (st != LV_OK)
		snprintf(err, LV_ERR_LEN, "retention stopped part-way: %s (what was committed stays deleted and audited)",
			 lv_status_str(st));
	cJSON_Delete(extra);
	rule_free(&r);
	return st;
}

enum lv_status lv_retention_run(struct lv_node *n, int64_t now_ms, bool dry_run, struct lv_retention_report *rep,
				char err[LV_ERR_LEN])
{
	return retention_run(n, now_ms, dry_run, NULL, rep, err);
}

/* ---- the server's schedule ---- */

struct lv_retention_schedule {
	struct lv_node *n;
	unsigned interval_s;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;
};

static bool schedule_stopping(struct lv_retention_schedule *s)
{
	pthread_mutex_lock(&s->mu);
	bool stop = s->stop;
	pthread_mutex_unlock(&s->mu);
	return stop;
}

/* Waits @s seconds or until stopped; true when stopped. */
static bool wait_or_stop(struct lv_retention_schedule *s, unsigned secs)
{
	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += secs;
	pthread_mutex_lock(&s->mu);
	while (!s->stop && pthread_cond_timedwait(&s->cv, &s->mu, &until) != ETIMEDOUT) {
	}
	bool stop = s->stop;
	pthread_mutex_unlock(&s->mu);
	return stop;
}

static void *schedule_main(void *arg)
{
	struct lv_retention_schedule *s = arg;
	/* The first run soon after start (a node restarted every day still
	 * runs it), then one per interval. */
	unsigned wait = s->interval_s < LV_RETENTION_FIRST_RUN_S ? s->interval_s : LV_RETENTION_FIRST_RUN_S;
	while (!wait_or_stop(s, wait)) {
		struct lv_retention_report rep;
		char err[LV_ERR_LEN];
		enum lv_status st = retention_run(s->n, util_now_ms(), false, s, &rep, err);
		if (st == LV_OK)
			fprintf(stderr, "learnvault: retention: %llu of %llu statements past retention deleted "
					"(%llu learners, %llu policy versions)\n",
				(unsigned long long)rep.expired, (unsigned long long)rep.examined,
				(unsigned long long)rep.learners, (unsigned long long)rep.policies);
		else
			fprintf(stderr, "learnvault: retention: %s\n", err);
		wait = s->interval_s;
	}
	return NULL;
}

enum lv_status lv_retention_schedule_start(struct lv_node *n, unsigned interval_s, struct lv_retention_schedule **out)
{
	*out = NULL;
	if (interval_s == 0)
		return LV_OK;
	struct lv_retention_schedule *s = calloc(1, sizeof *s);
	if (!s)
		return LV_ERR_NOMEM;
	s->n = n;
	s->interval_s = interval_s;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&s->thread, NULL, schedule_main, s) != 0) {
		pthread_cond_destroy(&s->cv);
		pthread_mutex_destroy(&s->mu);
		free(s);
		return LV_ERR_NOMEM;
	}
	*out = s;
	return LV_OK;
}

void lv_retention_schedule_stop(struct lv_retention_schedule *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	s->stop = true;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->thread, NULL);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s);
}
