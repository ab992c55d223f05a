/* The steps every release of the aggregate door shares (aggregate.c,
 * fit_global.c): the policy, the purpose's cap, the cohort with budget
 * left and its access entries, the voided statements, and at the end the
 * charges, the release entry and the kept release. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp/budget.h"
#include "learnvault/audit.h"
#include "query.h"

#define DAY_MS (86400LL * 1000)

enum lv_status door_policy_locked(struct lv_node *n, struct door *d, char err[LV_QUERY_ERR_LEN])
{
	enum lv_status st = query_policy_newest(n, d->purpose, &d->pol);
	if (st == LV_ERR_NOT_FOUND)
		snprintf(err, LV_QUERY_ERR_LEN, "no policy %s is loaded", d->purpose);
	if (st != LV_OK)
		return st;
	d->day = d->now / DAY_MS;
	d->from_day = budget_window_start(d->now, lv_policy_budget_window_days(d->pol.p));
	d->budget = (uint64_t)floor(lv_policy_epsilon_budget(d->pol.p) * 1e6 + 1e-6);
	return LV_OK;
}

enum lv_status door_cohort_locked(struct lv_node *n, const struct lv_principal *who, struct door *d,
				  const struct lv_consent_scope *scope, char err[LV_QUERY_ERR_LEN])
{
	const char **all = NULL;
	uint64_t *spent = NULL;
	enum lv_status st = budget_purpose_spent(n, d->purpose, d->from_day, &d->used);
	if (st != LV_OK)
		return st;
	if (d->used + d->eps_ceil > d->budget) {
		snprintf(err, LV_QUERY_ERR_LEN, "the purpose %s has %.6g of its epsilon budget %.6g left in this %u-day window",
			 d->purpose, (double)(d->budget - (d->used < d->budget ? d->used : d->budget)) / 1e6,
			 (double)d->budget / 1e6, (unsigned)lv_policy_budget_window_days(d->pol.p));
		return LV_ERR_BUDGET;
	}
	/* Live consent, then budget left. */
	if ((st = consent_cohort_locked(n, d->purpose, d->now, &d->members, &d->nmembers)) != LV_OK)
		return st;
	all = calloc(d->nmembers ? d->nmembers : 1, sizeof *all);
	d->inc = calloc(d->nmembers ? d->nmembers : 1, sizeof *d->inc);
	spent = calloc(d->nmembers ? d->nmembers : 1, sizeof *spent);
	if (!all || !d->inc || !spent) {
		st = LV_ERR_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < d->nmembers; i++)
		all[i] = d->members[i].learner;
	if ((st = budget_learners_spent(n, d->purpose, d->from_day, all, d->nmembers, spent)) != LV_OK)
		goto out;
	/* Each included learner's access is logged before anything is read. */
	for (size_t i = 0; i < d->nmembers; i++) {
		if (spent[i] + d->eps_ceil > d->budget)
			continue; /* left out, without a trace in the answer */
		cJSON *extra = cJSON_CreateObject();
		cJSON_AddStringToObject(extra, "query_id", d->qid);
		cJSON_AddNumberToObject(extra, "epsilon", (double)d->eps_ceil / 1e6);
		uint64_t idx;
		if ((st = access_log_member_locked(n, who, d->purpose, &d->members[i], scope, extra, &idx)) != LV_OK)
			goto out;
		d->inc[d->ninc++] = d->members[i].learner;
	}
out:
	free(all);
	free(spent);
	return st;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

bool door_voided(const struct door *d, int64_t seq)
{
	return d->nvoided && bsearch(&seq, d->voided, d->nvoided, sizeof *d->voided, cmp_i64);
}

enum lv_status door_voided_locked(struct lv_node *n, struct door *d)
{
	sqlite3_stmt *s = NULL;
	size_t cap = 0;
	enum lv_status st = db_status(sqlite3_prepare_v2(n->db, "SELECT seq FROM statements WHERE voided = 1 ORDER BY seq",
							 -1, &s, NULL));
	while (st == LV_OK && sqlite3_step(s) == SQLITE_ROW) {
		if (d->nvoided == cap) {
			size_t nc = cap ? cap * 2 : 64;
			int64_t *nv = realloc(d->voided, nc * sizeof *nv);
			if (!nv) {
				st = LV_ERR_NOMEM;
				break;
			}
			d->voided = nv;
			cap = nc;
		}
		d->voided[d->nvoided++] = sqlite3_column_int64(s, 0);
	}
	sqlite3_finalize(s);
	return st;
}

enum lv_status door_release_locked(struct lv_node *n, const struct lv_principal *who, struct door *d, cJSON *ans,
				   char **text)
{
	*text = NULL;
	enum lv_status st = budget_charge(n, d->purpose, d->day, d->from_day, d->inc, d->ninc, d->eps_ceil);
	if (st != LV_OK)
		return st;
	cJSON *e = cJSON_CreateObject();
	cJSON_AddStringToObject(e, "type", "release");
	cJSON_AddStringToObject(e, "role", lv_role_str(who->role));
	cJSON_AddStringToObject(e, "actor", d->actor);
	cJSON_AddStringToObject(e, "purpose", d->purpose);
	cJSON_AddNumberToObject(e, "policy_version", d->pol.version);
	cJSON_AddStringToObject(e, "query_id", d->qid);
	cJSON_AddStringToObject(e, "request_sha256", d->sha);
	cJSON_AddNumberToObject(e, "learners_included", (double)d->ninc);
	cJSON_AddItemToObject(e, "answer", cJSON_Duplicate(ans, true));
	uint64_t index;
	if ((st = auditlog_append_locked(n, e, &index)) != LV_OK)
		return st;
	cJSON_AddNumberToObject(ans, "audit_index", (double)index);
	cJSON_AddFalseToObject(ans, "cached");
	char *t = cJSON_PrintUnformatted(ans);
	sqlite3_stmt *s = NULL;
	if (!t)
		return LV_ERR_NOMEM;
	st = db_status(sqlite3_prepare_v2(n->db,
		"INSERT INTO dp_releases(actor, query_id, purpose, request_sha256, day, micro_eps, answer, created)"
		" VALUES(?, ?, ?, ?, ?, ?, ?, ?)", -1, &s, NULL));
	if (st == LV_OK) {
		sqlite3_bind_text(s, 1, d->actor, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, d->qid, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 3, d->purpose, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 4, d->sha, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 5, d->day);
		sqlite3_bind_int64(s, 6, (int64_t)d->eps_ceil);
		sqlite3_bind_text(s, 7, t, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 8, d->now);
		st = db_status(sqlite3_step(s));
	}
	sqlite3_finalize(s);
	if (st == LV_OK)
		*text = t;
	else
		free(t);
	return st;
}

void door_free(struct door *d)
{
	lv_policy_destroy(d->pol.p);
	free(d->members);
	free(d->inc);
	free(d->voided);
	memset(d, 0, sizeof *d);
}
