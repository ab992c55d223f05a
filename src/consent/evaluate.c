/* The consent rules, written once.  Every caller (the access check, the
 * consent list's status, the aggregate door's cohort, the query's scope
 * check, the offline verifier) reads what they need from wherever it is
 * kept and asks here; nothing here reads storage, the clock or logs. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "learnvault/consent.h"
#include "evaluate.h"

_Static_assert(LV_STORE_SHA256_HEX_LEN == LV_POLICY_DIGEST_HEX_LEN, "a stored digest is a policy digest");

bool consent_below_age(const char *birth_date, uint32_t age, int64_t now_ms)
{
	int y, m, d;
	if (age == 0)
		return false;
	if (!birth_date || sscanf(birth_date, "%4d-%2d-%2d", &y, &m, &d) != 3)
		return true;
	time_t t = (time_t)(now_ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	int years = tm.tm_year + 1900 - y;
	if (tm.tm_mon + 1 < m || (tm.tm_mon + 1 == m && tm.tm_mday < d))
		years--;
	return years < (int)age;
}

/* The first of @items (@n) that @covers rejects, or NULL. */
static const char *first_outside(const struct lv_policy *p, const char *const *items, size_t n,
				 bool (*covers)(const struct lv_policy *, const char *))
{
	for (size_t i = 0; i < n; i++)
		if (!covers(p, items[i]))
			return items[i];
	return NULL;
}

bool lv_consent_scope_check(const struct lv_policy *policy, const struct lv_consent_scope *scope,
			    struct lv_consent_scope_miss *miss)
{
	struct lv_consent_scope_miss m = {0};
	if (scope) {
		m.operation = scope->has_op && !lv_policy_allows_operation(policy, scope->op);
		m.verb = first_outside(policy, scope->verbs, scope->nverbs, lv_policy_covers_verb);
		m.activity_type = first_outside(policy, scope->activity_types, scope->ntypes,
						lv_policy_covers_activity_type);
		m.result_field = first_outside(policy, scope->result_fields, scope->nfields,
					       lv_policy_covers_result_field);
	}
	if (miss)
		*miss = m;
	return !m.operation && !m.verb && !m.activity_type && !m.result_field;
}

bool consent_is_grant(const char *event)
{
	return strcmp(event, LV_CONSENT_GIVEN) == 0 || strcmp(event, LV_CONSENT_RENEWED) == 0;
}

/* The reason a scope is refused: the operation, then a verb, an activity
 * type, a result field (the elements themselves are not named). */
static void scope_reason(const struct lv_consent_scope *sc, const struct lv_consent_scope_miss *m,
			 struct lv_consent_decision *out)
{
	if (m->operation)
		snprintf(out->reason, sizeof out->reason, "operation %s not allowed by the policy", lv_policy_op_str(sc->op));
	else if (m->verb)
		snprintf(out->reason, sizeof out->reason, "a verb outside the policy's data scope");
	else if (m->activity_type)
		snprintf(out->reason, sizeof out->reason, "an activity type outside the policy's data scope");
	else
		snprintf(out->reason, sizeof out->reason, "a result field outside the policy's data scope");
}

void lv_consent_evaluate(const struct lv_policy_loaded *policy, const struct lv_store_consent_event *latest,
			 const char *birth_date, const struct lv_consent_scope *scope, int64_t now_ms,
			 struct lv_consent_decision *out, bool *expired)
{
	struct lv_consent_scope_miss miss;
	memset(out, 0, sizeof *out);
	*expired = false;
	out->policy_version = policy->version;
	if (!latest) {
		snprintf(out->reason, sizeof out->reason, "no consent on record (default deny)");
		return;
	}
	if (!consent_is_grant(latest->event)) {
		snprintf(out->reason, sizeof out->reason, "latest decision: %s", latest->event);
		return;
	}
	if (latest->policy_version != policy->version || strcmp(latest->policy_sha256, policy->sha256) != 0) {
		snprintf(out->reason, sizeof out->reason, "consent was for version %u; version %u needs new consent",
			 (unsigned)latest->policy_version, (unsigned)policy->version);
		return;
	}
	if (latest->valid_until <= now_ms) {
		snprintf(out->reason, sizeof out->reason, "consent expired");
		*expired = true;
		return;
	}
	/* Who decides is judged at @now_ms, not when the grant was given: a
	 * guardian's grant for a child stops counting on the day the learner
	 * reaches the age, and from then on only their own grant counts. */
	uint32_t age = lv_policy_guardian_below_age(policy->policy);
	bool by_guardian = strcmp(latest->actor_role, "guardian") == 0;
	bool below = consent_below_age(birth_date, age, now_ms);
	if (below && !by_guardian) {
		snprintf(out->reason, sizeof out->reason, "below age %u a guardian's consent is needed", (unsigned)age);
		return;
	}
	if (!below && age > 0 && by_guardian) {
		snprintf(out->reason, sizeof out->reason, "the learner has reached age %u: only their own consent counts",
			 (unsigned)age);
		return;
	}
	if (!lv_consent_scope_check(policy->policy, scope, &miss)) {
		scope_reason(scope, &miss, out);
		return;
	}
	out->allow = true;
	snprintf(out->record_id, sizeof out->record_id, "%s", latest->record_id);
	snprintf(out->reason, sizeof out->reason, "covered by consent record %s", latest->record_id);
}

bool lv_consent_decider_ok(const struct lv_policy *policy, const char *birth_date, bool by_guardian, int64_t now_ms)
{
	return consent_below_age(birth_date, lv_policy_guardian_below_age(policy), now_ms) == by_guardian;
}
