/* The steps every release of the aggregate door shares (aggregate.c,
 * fit_global.c): who may ask, the policy, the purpose's cap, the cohort
 * with budget left, the voided statements, and at the end the cohort's
 * access entries, the charges, the release entry and the kept release;
 * the transaction they run in; the phases are described in query.h.
 * Storage is reached through the store's interface only
 * (learnvault/store.h); this file calls nothing else in query/. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "learnvault/audit.h"
#include "learnvault/dp.h"
#include "learnvault/store.h"
#include "query.h"
#include "learnvault/util.h"

bool query_bound_to(const struct lv_principal *who, const char *purpose)
{
	if (who->role == LV_ROLE_ADMIN)
		return true;
	if (who->role != LV_ROLE_ANALYST)
		return false;
	for (size_t i = 0; i < who->npurposes; i++)
		if (who->purposes[i] && strcmp(who->purposes[i], purpose) == 0)
			return true;
	return false;
}

/* The newest loaded version of policy @id, parsed. */
static enum lv_status policy_newest_locked(struct lv_node *n, const char *id, struct policy_now *out)
{
	struct lv_policy_loaded pl;
	memset(out, 0, sizeof *out);
	/* Consent's loader: the one every access check uses. */
	enum lv_status st = lv_policy_loaded_get_locked(n, id, 0, &pl);
	if (st == LV_OK) {
		out->version = pl.version;
		out->p = pl.policy;
		pl.policy = NULL;
	}
	lv_policy_loaded_clear(&pl);
	return st;
}

enum lv_status door_policy_locked(struct lv_node *n, struct door *d, char err[LV_QUERY_ERR_LEN])
{
	enum lv_status st = policy_newest_locked(n, d->purpose, &d->pol);
	if (st == LV_ERR_NOT_FOUND)
		snprintf(err, LV_QUERY_ERR_LEN, "no policy %s is loaded", d->purpose);
	if (st != LV_OK)
		return st;
	d->day = d->now / UTIL_DAY_MS;
	d->from_day = lv_dp_budget_window_start(d->now, lv_policy_budget_window_days(d->pol.p));
	d->budget = (uint64_t)floor(lv_policy_epsilon_budget(d->pol.p) * 1e6 + 1e-6);
	return LV_OK;
}

enum lv_status door_same_policy(const struct door *d, const struct door *before, char err[LV_QUERY_ERR_LEN])
{
	if (d->pol.version == before->pol.version)
		return LV_OK;
	/* The contributions were computed under the older version's scope
	 * and its consents: none of them may be released under the newer. */
	snprintf(err, LV_QUERY_ERR_LEN, "policy %s changed to version %u while the query ran; nothing was released,"
		 " ask again", d->purpose, (unsigned)d->pol.version);
	return LV_ERR_CONFLICT;
}

enum lv_status door_cohort_locked(struct lv_node *n, struct door *d, char err[LV_QUERY_ERR_LEN])
{
	const char **all = NULL;
	uint64_t *spent = NULL;
	enum lv_status st = lv_store_budget_purpose_spent(n, d->purpose, d->from_day, &d->used);
	if (st != LV_OK)
		return st;
	d->used += lv_store_budget_held(n, d->purpose, d->hold);
	if (!lv_dp_budget_fits(d->used, d->eps_ceil, d->budget)) {
		snprintf(err, LV_QUERY_ERR_LEN, "the purpose %s has %.6g of its epsilon budget %.6g left in this %u-day window",
			 d->purpose, (double)(d->budget - (d->used < d->budget ? d->used : d->budget)) / 1e6,
			 (double)d->budget / 1e6, (unsigned)lv_policy_budget_window_days(d->pol.p));
		return LV_ERR_BUDGET;
	}
	/* Live consent, then budget left. */
	if ((st = lv_consent_cohort_locked(n, d->purpose, d->now, &d->members, &d->nmembers)) != LV_OK)
		return st;
	all = calloc(d->nmembers ? d->nmembers : 1, sizeof *all);
	d->inc = calloc(d->nmembers ? d->nmembers : 1, sizeof *d->inc);
	d->incm = calloc(d->nmembers ? d->nmembers : 1, sizeof *d->incm);
	spent = calloc(d->nmembers ? d->nmembers : 1, sizeof *spent);
	if (!all || !d->inc || !d->incm || !spent) {
		st = LV_ERR_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < d->nmembers; i++)
		all[i] = d->members[i].learner;
	if ((st = lv_store_budget_learners_spent(n, d->purpose, d->from_day, all, d->nmembers, spent)) != LV_OK)
		goto out;
	for (size_t i = 0; i < d->nmembers; i++) {
		if (!lv_dp_budget_fits(spent[i], d->eps_ceil, d->budget))
			continue; /* left out, without a trace in the answer */
		d->incm[d->ninc] = &d->members[i];
		d->inc[d->ninc++] = d->members[i].learner;
	}
out:
	free(all);
	free(spent);
	return st;
}

void door_keep_only(struct door *d, const struct door *before, size_t *from)
{
	size_t j = 0, k = 0;
	/* Both sorted by pseudonym: one merge pass. */
	for (size_t i = 0; i < d->ninc; i++) {
		while (j < before->ninc && strcmp(before->inc[j], d->inc[i]) < 0)
			j++;
		if (j < before->ninc && strcmp(before->inc[j], d->inc[i]) == 0 &&
		    strcmp(before->incm[j]->record_id, d->incm[i]->record_id) == 0) {
			from[k] = j;
			d->inc[k] = d->inc[i];
			d->incm[k] = d->incm[i];
			k++;
		}
	}
	d->ninc = k;
}

enum lv_status door_recheck_locked(struct lv_node *n, struct door *d, const struct door *before, size_t **from,
				   char err[LV_QUERY_ERR_LEN])
{
	enum lv_status st;
	*from = NULL;
	if ((st = door_policy_locked(n, d, err)) != LV_OK || (st = door_same_policy(d, before, err)) != LV_OK ||
	    (st = door_cohort_locked(n, d, err)) != LV_OK)
		return st;
	if (!(*from = malloc((before->ninc ? before->ninc : 1) * sizeof **from)))
		return LV_ERR_NOMEM;
	door_keep_only(d, before, *from);
	return LV_OK;
}

enum lv_status door_access_locked(struct lv_node *n, const struct lv_principal *who, const struct door *d,
				  const struct lv_consent_scope *scope)
{
	/* Each included learner's access is logged in the transaction that
	 * releases, before anything leaves. */
	for (size_t i = 0; i < d->ninc; i++) {
		cJSON *extra = cJSON_CreateObject();
		cJSON_AddStringToObject(extra, "query_id", d->qid);
		cJSON_AddNumberToObject(extra, "epsilon", (double)d->eps_ceil / 1e6);
		uint64_t idx;
		enum lv_status st = lv_access_log_member_locked(n, who, d->purpose, d->incm[i], scope, extra, &idx);
		if (st != LV_OK)
			return st;
	}
	return LV_OK;
}

bool door_voided(const struct door *d, int64_t seq)
{
	return d->nvoided && bsearch(&seq, d->voided, d->nvoided, sizeof *d->voided, util_cmp_i64);
}

enum lv_status door_voided_locked(struct lv_node *n, struct door *d)
{
	return lv_store_statements_voided(n, &d->voided, &d->nvoided);
}

/* The release entry (taken by lv_tx_audit): who asked which question
 * under which policy version, how many learners were included, the
 * epsilon charged and the day it was booked on, the question itself
 * (its canonical text, whose digest is request_sha256) and @ans. */
static cJSON *release_entry(const struct lv_principal *who, const struct door *d, const cJSON *ans)
{
	cJSON *q = cJSON_Parse(d->question);
	if (!q)
		return NULL;
	cJSON *e = cJSON_CreateObject();
	cJSON_AddStringToObject(e, "type", "release");
	cJSON_AddStringToObject(e, "role", lv_role_str(who->role));
	cJSON_AddStringToObject(e, "actor", d->actor);
	cJSON_AddStringToObject(e, "purpose", d->purpose);
	cJSON_AddNumberToObject(e, "policy_version", d->pol.version);
	cJSON_AddStringToObject(e, "query_id", d->qid);
	cJSON_AddStringToObject(e, "request_sha256", d->sha);
	cJSON_AddNumberToObject(e, "learners_included", (double)d->ninc);
	/* The same number each included learner's access entry carries. */
	cJSON_AddNumberToObject(e, "epsilon", (double)d->eps_ceil / 1e6);
	cJSON_AddNumberToObject(e, "budget_day", (double)d->day);
	cJSON_AddItemToObject(e, "query", q);
	cJSON_AddItemToObject(e, "answer", cJSON_Duplicate(ans, true));
	return e;
}

/* The receipt over @ans as the release entry prints it: *@note (caller
 * frees).  Lock held. */
static enum lv_status receipt_locked(struct lv_node *n, const struct door *d, const cJSON *ans, char **note)
{
	struct lv_release_receipt r = {0};
	/* The entry's "answer" member prints exactly as this: cJSON prints a
	 * nested object the way it prints it alone. */
	char *t = cJSON_PrintUnformatted(ans);
	*note = NULL;
	if (!t)
		return LV_ERR_NOMEM;
	lv_release_answer_sha256(t, strlen(t), r.answer_sha256);
	free(t);
	snprintf(r.actor, sizeof r.actor, "%s", d->actor);
	snprintf(r.query_id, sizeof r.query_id, "%s", d->qid);
	snprintf(r.request_sha256, sizeof r.request_sha256, "%s", d->sha);
	return lv_store_release_receipt_sign_locked(n, &r, note);
}

enum lv_status door_release_locked(struct lv_node *n, const struct lv_principal *who, struct door *d, cJSON *ans,
				   char **text)
{
	char *note = NULL, *t = NULL;
	*text = NULL;
	enum lv_status st = lv_store_budget_charge(n, d->purpose, d->day, d->from_day, d->inc, d->ninc, d->eps_ceil);
	if (st != LV_OK)
		return st;
	cJSON *e = release_entry(who, d, ans);
	if (!e)
		return LV_ERR_NOMEM;
	/* The entry's index is not given out: it is the log's size plus the
	 * cohort's, exactly (issue 10).  The receipt names the entry instead. */
	if ((st = lv_tx_audit(lv_tx_current(n), e, NULL)) != LV_OK || (st = receipt_locked(n, d, ans, &note)) != LV_OK)
		return st;
	cJSON_AddFalseToObject(ans, "cached");
	cJSON_AddStringToObject(ans, "receipt", note);
	free(note);
	if (!(t = cJSON_PrintUnformatted(ans)))
		return LV_ERR_NOMEM;
	/* Kept with its receipt: a cached answer repeats this one exactly. */
	struct lv_store_release r = {.actor = d->actor, .query_id = d->qid, .purpose = d->purpose,
				     .request_sha256 = d->sha, .day = d->day, .micro_eps = d->eps_ceil,
				     .answer = t, .created_ms = d->now};
	st = lv_store_release_put(n, &r);
	if (st == LV_OK)
		*text = t;
	else
		free(t);
	return st;
}

uint32_t door_quantum_locked(struct lv_node *n)
{
	char *v = NULL, *end = NULL;
	uint32_t q = DOOR_QUANTUM_DEFAULT_MS;
	if (lv_store_settings_get(n, "aggregate_time_quantum_ms", &v) == LV_OK) {
		unsigned long x = strtoul(v, &end, 10);
		/* lv_node_setting_set checked it; anything else keeps the default. */
		if (*v >= '0' && *v <= '9' && !*end && x <= DOOR_QUANTUM_MAX_MS)
			q = (uint32_t)x;
	}
	free(v);
	return q;
}

void door_wait_quantum(double mono0, uint32_t quantum_ms)
{
	if (!quantum_ms)
		return;
	double q = quantum_ms / 1000.0, took = util_mono_s() - mono0;
	double k = took > q ? ceil(took / q) : 1;
	double left = k * q - took;
	if (!(left > 0))
		return;
	struct timespec ts = {(time_t)left, (long)((left - floor(left)) * 1e9)};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

enum lv_status door_hold(struct lv_node *n, struct door *d)
{
	return lv_store_budget_hold(n, d->purpose, d->eps_ceil, &d->hold);
}

void door_free(struct door *d)
{
	lv_policy_destroy(d->pol.p);
	free(d->members);
	free(d->inc);
	free(d->incm);
	free(d->voided);
	memset(d, 0, sizeof *d);
}

enum lv_status door_tx(struct lv_node *n, enum lv_status (*step)(struct lv_node *, void *),
		       enum lv_status (*after)(struct lv_node *, void *), void *ctx)
{
	struct lv_tx *tx;
	enum lv_status st = lv_tx_begin(n, &tx);
	if (st != LV_OK)
		return st;
	st = lv_tx_close_locked(tx, step(n, ctx));
	if (st == LV_OK && after)
		st = after(n, ctx);
	lv_store_unlock(n);
	return st;
}

int64_t door_now(int64_t now, double mono0)
{
	double dt = util_mono_s() - mono0;
	return now + (dt > 0 ? (int64_t)(dt * 1000) : 0);
}

void (*query_test_hook)(struct lv_node *n, enum query_stage stage);
