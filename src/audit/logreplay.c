/* The replay: every rule the node enforces, re-applied to the log in
 * order with one state per learner and per (learner, policy), so that a
 * log a compromised node re-signed is refused as surely as a changed
 * byte.  The rules themselves are the node's own functions
 * (lv_consent_evaluate, lv_consent_decider_ok, lv_dp_budget_*); this file
 * only keeps the state they need and says which rule failed, where. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "learnvault/dp.h"
#include "logverify.h"

#define BIRTH_LEN 11 /* YYYY-MM-DD */

struct learner {
	const char *name;      /* the table's copy of the pseudonym */
	char birth[BIRTH_LEN]; /* "": unknown */
	bool erased;
	uint32_t epoch;        /* erasures so far: a grant from an older epoch counts for nothing */
};

struct grant {
	struct lv_store_consent_event ev; /* the latest consent event */
	uint32_t epoch;
};

/* ε booked per day on one key (a purpose, or a learner and purpose),
 * sorted by day, with running sums: a window's total is one search. */
struct day_sum {
	int64_t day;
	uint64_t cum; /* micro-ε of this day and every earlier one */
};
struct spend {
	UTIL_ARRAY(struct day_sum) d;
};

/* An aggregate access waiting for its release. */
struct pending {
	uint64_t entry;
	size_t learner;
	uint64_t micro;
	char qid[LV_RECEIPT_FIELD_MAX + 1];
	char purpose[LV_POLICY_ID_MAX + 1];
};

struct logreplay {
	struct logtab ltab, gtab, stab;
	UTIL_ARRAY(struct learner) learners;
	UTIL_ARRAY(struct grant) grants;
	UTIL_ARRAY(struct spend) spends;
	UTIL_ARRAY(struct pending) pending;
	UTIL_ARRAY(const char *) items; /* scratch: an access's scope lists */
	int64_t last_time;
	uint64_t entries, access, checked, consents, releases, aggregate, erasures, births, retention_runs;
	long long bad;
	bool tampered;
	char why[LV_ERR_LEN];
};

enum lv_status logreplay_create(struct logreplay **out)
{
	*out = calloc(1, sizeof **out);
	if (!*out)
		return LV_ERR_NOMEM;
	(*out)->bad = -1;
	return LV_OK;
}

void logreplay_destroy(struct logreplay *r)
{
	if (!r)
		return;
	for (size_t k = 0; k < r->spends.n; k++)
		free(r->spends.v[k].d.v);
	free(r->spends.v);
	free(r->learners.v);
	free(r->grants.v);
	free(r->pending.v);
	free(r->items.v);
	logtab_free(&r->ltab);
	logtab_free(&r->gtab);
	logtab_free(&r->stab);
	free(r);
}

/* Records the first failure (entry @i); later ones are not looked for. */
static void __attribute__((format(printf, 3, 4))) bad(struct logreplay *r, long long i, const char *fmt, ...)
{
	if (r->bad >= 0 || r->why[0])
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->why, sizeof r->why, fmt, ap);
	va_end(ap);
	r->bad = i;
}

static const char *str(const cJSON *o, const char *name)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, name));
}

/* The state of learner @name (created empty on first sight), or NULL
 * after recording why not. */
static struct learner *learner_of(struct logreplay *r, const char *name, uint64_t i, size_t *at)
{
	bool found;
	const char *copy;
	if (!name || strlen(name) >= LOGV_KEY_LEN / 2) {
		bad(r, (long long)i, "an entry names no readable learner");
		return NULL;
	}
	if (util_array_room(&r->learners, LOGV_MAX_ITEMS) != LV_OK ||
	    logtab_get(&r->ltab, name, r->learners.n, at, &found, &copy) != LV_OK) {
		bad(r, (long long)i, "out of memory");
		return NULL;
	}
	if (!found)
		r->learners.v[r->learners.n++] = (struct learner){.name = copy};
	return &r->learners.v[*at];
}

/* The (learner, policy) grant slot, created empty when @create. */
static struct grant *grant_of(struct logreplay *r, const char *learner, const char *policy, bool create, uint64_t i)
{
	char key[LOGV_KEY_LEN];
	size_t at;
	bool found;
	if (!policy || !logtab_key2(key, learner, policy)) {
		bad(r, (long long)i, "an entry names no readable policy");
		return NULL;
	}
	if (!create)
		return logtab_find(&r->gtab, key, &at) ? &r->grants.v[at] : NULL;
	if (util_array_room(&r->grants, LOGV_MAX_ITEMS) != LV_OK ||
	    logtab_get(&r->gtab, key, r->grants.n, &at, &found, NULL) != LV_OK) {
		bad(r, (long long)i, "out of memory");
		return NULL;
	}
	if (!found)
		r->grants.v[r->grants.n++] = (struct grant){0};
	return &r->grants.v[at];
}

/* ---- budgets ---- */

static struct spend *spend_of(struct logreplay *r, const char *a, const char *b, uint64_t i)
{
	char key[LOGV_KEY_LEN];
	size_t at;
	bool found;
	if (!logtab_key2(key, a, b) || util_array_room(&r->spends, LOGV_MAX_ITEMS) != LV_OK ||
	    logtab_get(&r->stab, key, r->spends.n, &at, &found, NULL) != LV_OK) {
		bad(r, (long long)i, "out of memory");
		return NULL;
	}
	if (!found)
		r->spends.v[r->spends.n++] = (struct spend){0};
	return &r->spends.v[at];
}

/* The first index whose day is >= @day (binary search). */
static size_t spend_pos(const struct spend *s, int64_t day)
{
	size_t lo = 0, hi = s->d.n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->d.v[mid].day < day)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Micro-ε booked on days >= @from_day (later days included, as the
 * node's ledger sums them). */
static uint64_t spend_since(const struct spend *s, int64_t from_day)
{
	if (!s->d.n)
		return 0;
	size_t p = spend_pos(s, from_day);
	return s->d.v[s->d.n - 1].cum - (p ? s->d.v[p - 1].cum : 0);
}

/* Books @micro on @day.  Days arrive in order but for one step back
 * (phase 3 begun before midnight), so the shift is short. */
static enum lv_status spend_add(struct spend *s, int64_t day, uint64_t micro)
{
	size_t p = spend_pos(s, day);
	if (p == s->d.n || s->d.v[p].day != day) {
		enum lv_status st = util_array_room(&s->d, LOGV_MAX_ITEMS);
		if (st != LV_OK)
			return st;
		memmove(&s->d.v[p + 1], &s->d.v[p], (s->d.n - p) * sizeof *s->d.v);
		s->d.v[p] = (struct day_sum){.day = day, .cum = p ? s->d.v[p - 1].cum : 0};
		s->d.n++;
	}
	for (size_t k = p; k < s->d.n; k++)
		s->d.v[k].cum += micro;
	return LV_OK;
}

/* ---- entries ---- */

static void on_policy(struct logreplay *r, struct logpol *ps, const cJSON *ej, uint64_t i)
{
	const char *why = logpol_load(ps, str(ej, "policy"), cJSON_GetObjectItemCaseSensitive(ej, "version"),
				      str(ej, "sha256"), i);
	if (why) {
		bad(r, (long long)i, "%s", why);
		r->tampered = true;
	}
}

static bool known_event(const char *ev)
{
	static const char *const EV[] = {LV_CONSENT_GIVEN, LV_CONSENT_RENEWED, LV_CONSENT_REFUSED,
					 LV_CONSENT_WITHDRAWN, LV_CONSENT_EXPIRED};
	for (size_t k = 0; ev && k < sizeof EV / sizeof *EV; k++)
		if (strcmp(ev, EV[k]) == 0)
			return true;
	return false;
}

/* Who made a consent event and whether the guardian rule let them. */
static bool consent_actor_ok(struct logreplay *r, const struct logpol_text *t, const struct learner *l,
			     const char *ev, const char *role, int64_t now, uint64_t i)
{
	if (role && strcmp(role, "system") == 0 && strcmp(ev, LV_CONSENT_EXPIRED) == 0)
		return true;
	if (!role || (strcmp(role, "learner") != 0 && strcmp(role, "guardian") != 0)) {
		bad(r, (long long)i, "a consent event's actor role is not learner or guardian (system only for an expiry)");
		return false;
	}
	bool guardian = strcmp(role, "guardian") == 0;
	if (!lv_consent_decider_ok(t->p, l->birth[0] ? l->birth : NULL, guardian, now)) {
		bad(r, (long long)i, guardian ? "a guardian decided for a learner at or above the policy's guardian_below_age"
			: "a learner decided while below the policy's guardian_below_age (or with no birth date logged)");
		return false;
	}
	return true;
}

static void on_consent(struct logreplay *r, struct logpol *ps, const cJSON *ej, const char *who, int64_t now,
		       uint64_t i)
{
	size_t li;
	const char *pol = str(ej, "policy"), *ev = str(ej, "event"), *sha = str(ej, "policy_sha256");
	const char *role = str(ej, "actor_role"), *rec = str(ej, "record_id"), *until = str(ej, "valid_until");
	const cJSON *ver = cJSON_GetObjectItemCaseSensitive(ej, "policy_version");
	r->consents++;
	struct learner *l = learner_of(r, who, i, &li);
	if (!l)
		return;
	if (!known_event(ev)) {
		bad(r, (long long)i, "a consent entry carries no known event");
		return;
	}
	const struct logpol_text *t = cJSON_IsNumber(ver) ? logpol_get(ps, pol, ver->valuedouble) : NULL;
	if (!t) {
		bad(r, (long long)i, "a consent event names a policy version that was not loaded before it");
		return;
	}
	if (!sha || strcmp(sha, t->sha) != 0) {
		bad(r, (long long)i, "a consent event's policy_sha256 differs from the logged load of that version");
		return;
	}
	if (!consent_actor_ok(r, t, l, ev, role, now, i))
		return;
	struct grant *g = grant_of(r, who, pol, true, i);
	if (!g)
		return;
	memset(g, 0, sizeof *g);
	snprintf(g->ev.event, sizeof g->ev.event, "%s", ev);
	g->ev.policy_version = lv_policy_version(t->p);
	snprintf(g->ev.policy_sha256, sizeof g->ev.policy_sha256, "%s", t->sha);
	snprintf(g->ev.record_id, sizeof g->ev.record_id, "%s", rec ? rec : "");
	snprintf(g->ev.actor_role, sizeof g->ev.actor_role, "%s", role);
	if (until && !util_time_parse(until, &g->ev.valid_until))
		g->ev.valid_until = 0;
	g->epoch = l->epoch;
}

static void on_birth_date(struct logreplay *r, const cJSON *ej, const char *who, uint64_t i)
{
	size_t li;
	const char *d = str(ej, "birth_date");
	int y, m, day;
	char rest;
	struct learner *l = learner_of(r, who, i, &li);
	if (!l)
		return;
	r->births++;
	if (!d || strlen(d) != BIRTH_LEN - 1 || sscanf(d, "%4d-%2d-%2d%c", &y, &m, &day, &rest) != 3) {
		bad(r, (long long)i, "a birth_date entry carries no YYYY-MM-DD date");
		return;
	}
	memcpy(l->birth, d, BIRTH_LEN);
}

static void on_erasure(struct logreplay *r, const char *who, uint64_t i, bool erase)
{
	size_t li;
	struct learner *l = learner_of(r, who, i, &li);
	if (!l)
		return;
	if (!erase) {
		l->erased = false;
		return;
	}
	/* Every grant ends, whatever consents_ended lists; the birth date
	 * is erased with the learner. */
	r->erasures++;
	l->erased = true;
	l->birth[0] = '\0';
	l->epoch++;
}

/* The scope an access entry recorded, as lv_consent_scope (strings
 * borrowed from @ej; lists in r->items).  False: malformed. */
static bool entry_scope(struct logreplay *r, const cJSON *ej, struct lv_consent_scope *sc)
{
	static const char *const LISTS[] = {"verbs", "activity_types", "result_fields"};
	size_t n[3] = {0}, total = 0;
	const char *op = str(ej, "operation");
	const cJSON *scope = cJSON_GetObjectItemCaseSensitive(ej, "scope"), *it;
	memset(sc, 0, sizeof *sc);
	if (op && !(sc->has_op = lv_policy_op_parse(op, &sc->op)))
		return false;
	for (size_t k = 0; k < 3; k++)
		total += (size_t)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(scope, LISTS[k]));
	r->items.n = 0;
	if (util_array_reserve(&r->items, total, LOGV_MAX_ITEMS) != LV_OK)
		return false;
	for (size_t k = 0; k < 3; k++) {
		cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(scope, LISTS[k])) {
			if (!cJSON_IsString(it))
				return false;
			r->items.v[r->items.n++] = it->valuestring;
			n[k]++;
		}
	}
	sc->verbs = r->items.v;
	sc->nverbs = n[0];
	sc->activity_types = r->items.v + n[0];
	sc->ntypes = n[1];
	sc->result_fields = r->items.v + n[0] + n[1];
	sc->nfields = n[2];
	return true;
}

/* A built-in purpose: only for its roles. */
static bool builtin(struct logreplay *r, const char *purpose, const char *role, uint64_t i)
{
	static const struct {
		const char *purpose, *role1, *role2;
	} B[] = {{LV_PURPOSE_SELF, "learner", "guardian"},
		 {LV_PURPOSE_OPERATOR_REQUEST, "admin", "admin"},
		 {LV_PURPOSE_PROVIDER_READBACK, "provider", "provider"}};
	for (size_t k = 0; k < sizeof B / sizeof *B; k++) {
		if (strcmp(purpose, B[k].purpose) != 0)
			continue;
		if (!role || (strcmp(role, B[k].role1) != 0 && strcmp(role, B[k].role2) != 0))
			bad(r, (long long)i, "the built-in purpose %s was used by role %s, which it does not belong to",
			    purpose, role ? role : "(none)");
		return true;
	}
	return false;
}

/* An allowed access for a policy purpose: the learner's latest decision
 * must be a live grant for the newest loaded version, named by the entry,
 * passing the guardian rule at the entry's time, with the scope inside
 * the policy — all decided by lv_consent_evaluate. */
static void purpose_access(struct logreplay *r, struct logpol *ps, const cJSON *ej, const char *who,
			   const struct learner *l, const char *purpose, int64_t now, uint64_t i)
{
	const struct logpol_text *t = logpol_newest(ps, purpose);
	const cJSON *ver = cJSON_GetObjectItemCaseSensitive(ej, "policy_version");
	const char *rec = str(ej, "consent_record");
	r->checked++;
	if (!t) {
		bad(r, (long long)i, "an access was allowed for a purpose whose policy was never loaded");
		return;
	}
	uint32_t newest = lv_policy_version(t->p);
	if (!cJSON_IsNumber(ver) || ver->valuedouble != (double)newest) {
		bad(r, (long long)i, "an access rests on policy version %g after version %u was loaded (re-consent rule)",
		    cJSON_IsNumber(ver) ? ver->valuedouble : 0.0, (unsigned)newest);
		return;
	}
	struct lv_consent_scope sc;
	if (!entry_scope(r, ej, &sc)) {
		bad(r, (long long)i, "an access entry's operation or scope is malformed");
		return;
	}
	const struct grant *g = grant_of(r, who, purpose, false, i);
	struct lv_policy_loaded pl = {.version = newest, .policy = t->p};
	memcpy(pl.sha256, t->sha, sizeof pl.sha256);
	struct lv_consent_decision d;
	bool expired;
	lv_consent_evaluate(&pl, g && g->epoch == l->epoch ? &g->ev : NULL, l->birth[0] ? l->birth : NULL, &sc, now,
			    &d, &expired);
	if (!d.allow)
		bad(r, (long long)i, "an access was allowed without a live grant for its purpose (%s)", d.reason);
	else if (!rec || strcmp(rec, d.record_id) != 0)
		bad(r, (long long)i, "an access names a consent record that is not the learner's latest grant");
}

/* An allowed aggregate access: held until its release. */
static void aggregate_access(struct logreplay *r, const cJSON *ej, size_t li, const char *purpose,
			     uint64_t i)
{
	const char *qid = str(ej, "query_id");
	const cJSON *eps = cJSON_GetObjectItemCaseSensitive(ej, "epsilon");
	r->aggregate++;
	if (!qid || strlen(qid) > LV_RECEIPT_FIELD_MAX || strlen(purpose) > LV_POLICY_ID_MAX) {
		bad(r, (long long)i, "an aggregate access carries no readable query_id");
		return;
	}
	if (!cJSON_IsNumber(eps) || !(eps->valuedouble > 0 && eps->valuedouble <= 1e6)) {
		bad(r, (long long)i, "an aggregate access carries no epsilon in (0, 10^6]");
		return;
	}
	if (util_array_room(&r->pending, LOGV_MAX_ITEMS) != LV_OK) {
		bad(r, (long long)i, "out of memory");
		return;
	}
	struct pending *p = &r->pending.v[r->pending.n++];
	p->entry = i;
	p->learner = li;
	p->micro = (uint64_t)llround(eps->valuedouble * 1e6);
	snprintf(p->qid, sizeof p->qid, "%s", qid);
	snprintf(p->purpose, sizeof p->purpose, "%s", purpose);
}

static void on_access(struct logreplay *r, struct logpol *ps, const cJSON *ej, const char *who, int64_t now,
		      uint64_t i)
{
	const char *decision = str(ej, "decision"), *purpose = str(ej, "purpose"), *role = str(ej, "role");
	const char *resource = str(ej, "resource");
	size_t li;
	r->access++;
	if (!decision || strcmp(decision, "allow") != 0)
		return;
	struct learner *l = learner_of(r, who, i, &li);
	if (!l)
		return;
	if (!purpose) {
		bad(r, (long long)i, "an allowed access names no purpose");
		return;
	}
	if (l->erased) {
		bad(r, (long long)i, "an access was allowed after the learner's erasure (before a new enrolment)");
		return;
	}
	if (builtin(r, purpose, role, i))
		return;
	purpose_access(r, ps, ej, who, l, purpose, now, i);
	if (cJSON_GetObjectItemCaseSensitive(ej, "query_id"))
		aggregate_access(r, ej, li, purpose, i);
	else if (resource && strcmp(resource, "aggregate") == 0)
		bad(r, (long long)i, "an aggregate access carries no query_id (it would escape its release's accounting)");
}

/* The release's own fields, read and range-checked. */
struct release {
	const char *qid, *purpose;
	const struct logpol_text *t;
	uint64_t included, micro, budget;
	int64_t day, from_day;
};

static bool release_fields(struct logreplay *r, struct logpol *ps, const cJSON *ej, int64_t now, uint64_t i,
			   struct release *rl)
{
	const cJSON *ver = cJSON_GetObjectItemCaseSensitive(ej, "policy_version");
	const cJSON *inc = cJSON_GetObjectItemCaseSensitive(ej, "learners_included");
	const cJSON *eps = cJSON_GetObjectItemCaseSensitive(ej, "epsilon");
	const cJSON *day = cJSON_GetObjectItemCaseSensitive(ej, "budget_day");
	rl->qid = str(ej, "query_id");
	rl->purpose = str(ej, "purpose");
	if (!rl->qid || !rl->purpose || !cJSON_IsNumber(inc) || !(inc->valuedouble >= 0 && inc->valuedouble < 1e15)) {
		bad(r, (long long)i, "a release entry lacks query_id, purpose or learners_included");
		return false;
	}
	rl->included = (uint64_t)inc->valuedouble;
	if (!(rl->t = cJSON_IsNumber(ver) ? logpol_get(ps, rl->purpose, ver->valuedouble) : NULL)) {
		bad(r, (long long)i, "a release names a policy version that was not loaded before it");
		return false;
	}
	if (!cJSON_IsNumber(eps) || !(eps->valuedouble > 0 && eps->valuedouble <= 1e6)) {
		bad(r, (long long)i, "a release carries no epsilon in (0, 10^6]");
		return false;
	}
	if (!cJSON_IsNumber(day) || day->valuedouble != floor(day->valuedouble) ||
	    (day->valuedouble != (double)(now / UTIL_DAY_MS) && day->valuedouble != (double)(now / UTIL_DAY_MS - 1))) {
		bad(r, (long long)i, "a release's budget_day is not its own day or the day before");
		return false;
	}
	const struct lv_policy *p = rl->t->p;
	rl->micro = (uint64_t)llround(eps->valuedouble * 1e6);
	rl->day = (int64_t)day->valuedouble;
	rl->from_day = lv_dp_budget_window_start(rl->day * UTIL_DAY_MS, lv_policy_budget_window_days(p));
	/* The node's rounding: the budget down, the charge already a ceiling. */
	rl->budget = (uint64_t)floor(lv_policy_epsilon_budget(p) * 1e6 + 1e-6);
	if (rl->micro > (uint64_t)floor(lv_policy_epsilon_per_query_max(p) * 1e6 + 1e-6)) {
		bad(r, (long long)i, "a release's epsilon exceeds the policy's epsilon_per_query_max");
		return false;
	}
	return true;
}

/* The release's access entries: all of them carry its query id, purpose
 * and ε, and there are exactly learners_included of them. */
static bool release_accesses(struct logreplay *r, const struct release *rl, uint64_t i)
{
	for (size_t k = 0; k < r->pending.n; k++) {
		const struct pending *p = &r->pending.v[k];
		if (strcmp(p->qid, rl->qid) != 0) {
			bad(r, (long long)p->entry, "an aggregate access's query_id was never released");
			return false;
		}
		if (strcmp(p->purpose, rl->purpose) != 0 || p->micro != rl->micro) {
			bad(r, (long long)p->entry, "an aggregate access's purpose or epsilon differs from its release's");
			return false;
		}
	}
	if (rl->included > 0 && r->pending.n == 0) {
		bad(r, (long long)i, "a release with learners included has no access entries");
		return false;
	}
	if (rl->included != r->pending.n) {
		bad(r, (long long)i, "a release's learners_included (%llu) differs from its access entries (%zu)",
		    (unsigned long long)rl->included, r->pending.n);
		return false;
	}
	return true;
}

/* Books the release on its purpose and on each included learner, each
 * within the policy's budget over its window (lv_dp_budget_*). */
static void release_budgets(struct logreplay *r, const struct release *rl, uint64_t i)
{
	struct spend *s = spend_of(r, "", rl->purpose, i);
	if (!s)
		return;
	if (!lv_dp_budget_fits(spend_since(s, rl->from_day), rl->micro, rl->budget)) {
		bad(r, (long long)i, "a release overruns the purpose's epsilon budget in its window");
		return;
	}
	if (spend_add(s, rl->day, rl->micro) != LV_OK) {
		bad(r, (long long)i, "out of memory");
		return;
	}
	for (size_t k = 0; k < r->pending.n; k++) {
		const struct pending *p = &r->pending.v[k];
		if (!(s = spend_of(r, r->learners.v[p->learner].name, rl->purpose, p->entry)))
			return;
		if (!lv_dp_budget_fits(spend_since(s, rl->from_day), rl->micro, rl->budget)) {
			bad(r, (long long)p->entry, "an aggregate access overruns the learner's epsilon budget in its window");
			return;
		}
		if (spend_add(s, rl->day, rl->micro) != LV_OK) {
			bad(r, (long long)p->entry, "out of memory");
			return;
		}
	}
}

static void on_release(struct logreplay *r, struct logpol *ps, const cJSON *ej, int64_t now, uint64_t i)
{
	struct release rl;
	r->releases++;
	if (release_fields(r, ps, ej, now, i, &rl) && release_accesses(r, &rl, i))
		release_budgets(r, &rl, i);
	r->pending.n = 0;
}

/* After the first violation the rules are no longer replayed, but the
 * policy loads are still matched to their texts, so the report names that
 * violation and not the texts of loads that come after it.  A load that
 * proves the export tampered outranks it. */
static void after_violation(struct logreplay *r, struct logpol *ps, const cJSON *ej, uint64_t i)
{
	const char *type = str(ej, "type");
	if (r->tampered || !type || strcmp(type, "policy") != 0)
		return;
	const char *why = logpol_load(ps, str(ej, "policy"), cJSON_GetObjectItemCaseSensitive(ej, "version"),
				      str(ej, "sha256"), i);
	if (why) {
		snprintf(r->why, sizeof r->why, "%s", why);
		r->bad = (long long)i;
		r->tampered = true;
	}
}

/* A retention run's entry: counts only.  A learner in it would be
 * learner data the run promised not to log. */
static void on_retention(struct logreplay *r, const cJSON *ej, const char *who, uint64_t i)
{
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(ej, "statements");
	if (who || cJSON_GetObjectItemCaseSensitive(ej, "learner")) {
		bad(r, (long long)i, "a retention entry names a learner");
		return;
	}
	if (!cJSON_IsNumber(n) || n->valuedouble < 0) {
		bad(r, (long long)i, "a retention entry carries no statement count");
		return;
	}
	r->retention_runs++;
}

void logreplay_entry(struct logreplay *r, struct logpol *ps, const cJSON *ej, uint64_t i)
{
	if (r->bad >= 0 || r->why[0]) {
		after_violation(r, ps, ej, i);
		return;
	}
	r->entries++;
	const char *type = str(ej, "type"), *who = str(ej, "learner"), *when = str(ej, "time");
	int64_t now = 0;
	if (!when || !util_time_parse(when, &now)) {
		bad(r, (long long)i, "an entry has no readable time");
		return;
	}
	if (i > 0 && now < r->last_time) {
		bad(r, (long long)i, "entry time goes backwards");
		return;
	}
	r->last_time = now;
	if (!type)
		return;
	if (strcmp(type, "policy") == 0)
		on_policy(r, ps, ej, i);
	else if (strcmp(type, "consent") == 0)
		on_consent(r, ps, ej, who, now, i);
	else if (strcmp(type, "birth_date") == 0)
		on_birth_date(r, ej, who, i);
	else if (strcmp(type, "erasure") == 0 || strcmp(type, "enrolment") == 0)
		on_erasure(r, who, i, strcmp(type, "erasure") == 0);
	else if (strcmp(type, "access") == 0)
		on_access(r, ps, ej, who, now, i);
	else if (strcmp(type, "release") == 0)
		on_release(r, ps, ej, now, i);
	else if (strcmp(type, "retention") == 0)
		on_retention(r, ej, who, i);
}

void logreplay_finish(struct logreplay *r)
{
	if (r->pending.n)
		bad(r, (long long)r->pending.v[0].entry, "an aggregate access's query_id was never released");
}

const char *logreplay_failure(const struct logreplay *r, long long *entry, bool *tampered)
{
	*entry = r->bad;
	*tampered = r->tampered;
	return r->why[0] ? r->why : NULL;
}

void logreplay_report(const struct logreplay *r, cJSON *rep)
{
	cJSON_AddNumberToObject(rep, "access_entries", (double)r->access);
	cJSON_AddNumberToObject(rep, "access_checked_against_consent", (double)r->checked);
	cJSON_AddNumberToObject(rep, "aggregate_access_entries", (double)r->aggregate);
	cJSON_AddNumberToObject(rep, "consent_entries", (double)r->consents);
	cJSON_AddNumberToObject(rep, "releases_checked", (double)r->releases);
	cJSON_AddNumberToObject(rep, "erasures", (double)r->erasures);
	cJSON_AddNumberToObject(rep, "birth_dates", (double)r->births);
	cJSON_AddNumberToObject(rep, "retention_entries", (double)r->retention_runs);
	cJSON_AddNumberToObject(rep, "learners", (double)r->learners.n);
}
