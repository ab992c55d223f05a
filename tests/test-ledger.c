/* The consent ledger and the access check. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "harness.h"
#include "learnvault/audit.h"
#include "learnvault/auditlog.h"
#include "learnvault/consent.h"
#include "learnvault/door.h"
#include "store/store.h"

#define DAY (86400LL * 1000)

static char dir[512];
static struct lv_node *node;
static char learner[LV_PSEUDONYM_LEN];
static struct lv_principal self, guardian, admin, analyst;

static void load(const char *file, const char *from, const char *to)
{
	char *text = NULL, err[LV_POLICY_ERR_LEN], id[LV_POLICY_ID_MAX + 1];
	size_t len;
	uint32_t version;
	bool added;
	ck_assert_int_eq(util_read_file(th_src(file), 65536, &text, &len), LV_OK);
	if (from) {
		char *p = strstr(text, from);
		ck_assert_ptr_nonnull(p);
		ck_assert_uint_eq(strlen(from), strlen(to));
		memcpy(p, to, strlen(to));
	}
	ck_assert_msg(lv_policy_load(node, text, len, &added, id, &version, err) == LV_OK, "%s", err);
	free(text);
}

static void setup(void)
{
	char *vkey = NULL;
	bool created;
	snprintf(dir, sizeof dir, "%s/node", th_tmpdir());
	ck_assert_int_eq(lv_node_init(dir, NULL, NULL, &vkey), LV_OK);
	free(vkey);
	ck_assert_int_eq(lv_node_open(dir, NULL, NULL, &node), LV_OK);
	ck_assert_int_eq(lv_learner_enrol(node, "{\"mbox\":\"mailto:kim@x.org\"}", learner, &created), LV_OK);
	load("policies/course-improvement.json", NULL, NULL); /* guardian below 13 */
	self = (struct lv_principal){.role = LV_ROLE_LEARNER, .id = "self"};
	memcpy(self.learner, learner, LV_PSEUDONYM_LEN);
	guardian = self;
	guardian.role = LV_ROLE_GUARDIAN;
	snprintf(guardian.id, sizeof guardian.id, "parent");
	admin = (struct lv_principal){.role = LV_ROLE_ADMIN, .id = "admin"};
	analyst = (struct lv_principal){.role = LV_ROLE_ANALYST, .id = "analyst"};
}

static void teardown(void)
{
	lv_node_close(node);
	node = NULL;
	th_rmtree(dir);
}

static bool allowed(const char *policy, const struct lv_consent_scope *sc, int64_t now, char *reason, size_t n)
{
	struct lv_consent_decision d;
	ck_assert_int_eq(lv_access_authorize(node, &analyst, learner, policy, sc, 1, now, &d), LV_OK);
	if (reason)
		snprintf(reason, n, "%s", d.reason);
	ck_assert_int_eq(d.allow, d.record_id[0] != '\0');
	return d.allow;
}

START_TEST(default_deny_then_grant_then_withdraw)
{
	char rid[LV_RECORD_ID_LEN], err[LV_CONSENT_ERR_LEN], reason[200];
	int64_t now = util_now_ms();
	ck_assert(!allowed("course-improvement", NULL, now, reason, sizeof reason));
	ck_assert_ptr_nonnull(strstr(reason, "default deny"));
	ck_assert(!allowed("no-such-policy", NULL, now, NULL, 0));
	ck_assert_int_eq(lv_learner_set_birth_date(node, learner, "2005-03-01"), LV_OK);
	ck_assert_int_eq(lv_consent_decide(node, &self, LV_ROLE_NONE, learner, "course-improvement", 0, true, rid, err), LV_OK);
	ck_assert(util_uuid_valid(rid));
	ck_assert(allowed("course-improvement", NULL, util_now_ms(), NULL, 0));
	/* Granting again while live is a renewal. */
	char rid2[LV_RECORD_ID_LEN];
	ck_assert_int_eq(lv_consent_decide(node, &self, LV_ROLE_NONE, learner, "course-improvement", 0, true, rid2, err), LV_OK);
	ck_assert_str_ne(rid, rid2);
	ck_assert_int_eq(lv_consent_withdraw(node, &self, LV_ROLE_NONE, learner, "course-improvement", rid, err), LV_OK);
	ck_assert(!allowed("course-improvement", NULL, util_now_ms(), reason, sizeof reason));
	ck_assert_ptr_nonnull(strstr(reason, "ConsentWithdrawn"));
	/* A refusal is a decision too, and denies. */
	ck_assert_int_eq(lv_consent_decide(node, &self, LV_ROLE_NONE, learner, "course-improvement", 0, false, rid, err), LV_OK);
	ck_assert(!allowed("course-improvement", NULL, util_now_ms(), NULL, 0));
	char *json = NULL;
	ck_assert_int_eq(lv_consent_list(node, learner, util_now_ms(), &json), LV_OK);
	ck_assert_ptr_nonnull(strstr(json, "\"RenewedConsentGiven\""));
	ck_assert_ptr_nonnull(strstr(json, "\"ConsentRefused\""));
	/* Each event carries its receipt: the notice's hash, basis, recipients. */
	ck_assert_ptr_nonnull(strstr(json, "\"evidence_hash\""));
	ck_assert_ptr_nonnull(strstr(json, "\"legal_basis\":\"dpv:Consent\""));
	ck_assert_ptr_nonnull(strstr(json, "\"recipients\""));
	ck_assert_ptr_nonnull(strstr(json, "electronic, authenticated"));
	ck_assert_ptr_nonnull(strstr(json, "\"allowed\":false"));
	free(json);
	/* Someone else cannot decide for this learner. */
	struct lv_principal other = self;
	snprintf(other.learner, sizeof other.learner, "0123456789abcdef0123456789abcdef");
	ck_assert_int_eq(lv_consent_decide(node, &other, LV_ROLE_NONE, learner, "course-improvement", 0, true, rid, err), LV_ERR_FORBIDDEN);
	ck_assert_int_eq(lv_consent_decide(node, &analyst, LV_ROLE_NONE, learner, "course-improvement", 0, true, rid, err), LV_ERR_FORBIDDEN);
}
END_TEST

START_TEST(new_version_needs_new_consent)
{
	char rid[LV_RECORD_ID_LEN], err[LV_CONSENT_ERR_LEN], reason[200];
	ck_assert_int_eq(lv_learner_set_birth_date(node, learner, "2001-01-01"), LV_OK);
	ck_assert_int_eq(lv_consent_decide(node, &self, LV_ROLE_NONE, learner, "course-improvement", 0, true, rid, err), LV_OK);
	ck_assert(allowed("course-improvement", NULL, util_now_ms(), NULL, 0));
	load("policies/course-improvement.json", "\"version\": 1,", "\"version\": 2,");
	ck_assert(!allowed("course-improvement", NULL, util_now_ms(), reason, sizeof reason));
	ck_assert_ptr_nonnull(strstr(reason, "version 2 needs new consent"));
	ck_assert_int_eq(lv_consent_decide(node, &self, LV_ROLE_NONE, learner, "course-improvement", 0, true, rid, err), LV_OK);
	ck_assert(allowed("course-improvement", NULL, util_now_ms(), NULL, 0));
}
END_TEST

START_TEST(guardian_rule)
{
	char rid[LV_RECORD_ID_LEN], err[LV_CONSENT_ERR_LEN];
	/* No birth date: counts as below the age (fails closed). */
	ck_assert_int_eq(lv_consent_decide(node, &self, LV_ROLE_NONE, learner, "course-improvement", 0, true, rid, err), LV_ERR_FORBIDDEN);
	ck_assert_ptr_nonnull(strstr(err, "guardian"));
	/* Ten years old: the guardian decides, the learner cannot. */
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	char bd[32];
	snprintf(bd, sizeof bd, "%04d-01-01", tm.tm_year + 1900 - 10);
	ck_assert_int_eq(lv_learner_set_birth_date(node, learner, bd), LV_OK);
	ck_assert_int_eq(lv_consent_decide(node, &self, LV_ROLE_NONE, learner, "course-improvement", 0, true, rid, err), LV_ERR_FORBIDDEN);
	ck_assert(!allowed("course-improvement", NULL, util_now_ms(), NULL, 0));
	ck_assert_int_eq(lv_consent_decide(node, &guardian, LV_ROLE_NONE, learner, "course-improvement", 0, true, rid, err), LV_OK);
	ck_assert(allowed("course-improvement", NULL, util_now_ms(), NULL, 0));
	/* An admin records a paper form, saying who signed it. */
	ck_assert_int_eq(lv_consent_decide(node, &admin, LV_ROLE_NONE, learner, "course-improvement", 0, true, rid, err), LV_ERR_INVALID);
	ck_assert_int_eq(lv_consent_decide(node, &admin, LV_ROLE_GUARDIAN, learner, "course-improvement", 0, true, rid, err), LV_OK);
	/* Twenty: the learner decides; a guardian no longer can. */
	snprintf(bd, sizeof bd, "%04d-01-01", tm.tm_year + 1900 - 20);
	ck_assert_int_eq(lv_learner_set_birth_date(node, learner, bd), LV_OK);
	ck_assert_int_eq(lv_consent_decide(node, &guardian, LV_ROLE_NONE, learner, "course-improvement", 0, true, rid, err), LV_ERR_FORBIDDEN);
	ck_assert_int_eq(lv_consent_decide(node, &self, LV_ROLE_NONE, learner, "course-improvement", 0, true, rid, err), LV_OK);
	ck_assert_int_eq(lv_learner_set_birth_date(node, learner, "2020-13-01"), LV_ERR_INVALID);
}
END_TEST

START_TEST(expiry_and_scope)
{
	char rid[LV_RECORD_ID_LEN], err[LV_CONSENT_ERR_LEN], reason[200];
	ck_assert_int_eq(lv_learner_set_birth_date(node, learner, "2001-01-01"), LV_OK);
	ck_assert_int_eq(lv_consent_decide(node, &self, LV_ROLE_NONE, learner, "course-improvement", 0, true, rid, err), LV_OK);
	const char *in_verbs[] = {"http://adlnet.gov/expapi/verbs/completed"};
	const char *out_verbs[] = {"http://adlnet.gov/expapi/verbs/answered"};
	const char *out_fields[] = {"result.response"};
	struct lv_consent_scope ok = {.has_op = true, .op = LV_POLICY_OP_MEAN, .verbs = in_verbs, .nverbs = 1};
	struct lv_consent_scope bad_op = {.has_op = true, .op = LV_POLICY_OP_QUANTILE};
	struct lv_consent_scope bad_verb = {.verbs = out_verbs, .nverbs = 1};
	struct lv_consent_scope bad_field = {.result_fields = out_fields, .nfields = 1};
	int64_t now = util_now_ms();
	ck_assert(allowed("course-improvement", &ok, now, NULL, 0));
	ck_assert(!allowed("course-improvement", &bad_op, now, reason, sizeof reason));
	ck_assert_ptr_nonnull(strstr(reason, "quantile"));
	ck_assert(!allowed("course-improvement", &bad_verb, now, NULL, 0));
	ck_assert(!allowed("course-improvement", &bad_field, now, NULL, 0));
	/* A year and a day later (consent_valid_days 365): expired, recorded. */
	ck_assert(!allowed("course-improvement", &ok, now + 366 * DAY, reason, sizeof reason));
	ck_assert_ptr_nonnull(strstr(reason, "expired"));
	char *json = NULL;
	ck_assert_int_eq(lv_consent_list(node, learner, now + 366 * DAY, &json), LV_OK);
	ck_assert_ptr_nonnull(strstr(json, "\"ConsentExpired\""));
	free(json);
}
END_TEST

START_TEST(every_check_is_audited_and_fails_closed)
{
	char rid[LV_RECORD_ID_LEN], err[LV_CONSENT_ERR_LEN];
	ck_assert_int_eq(lv_learner_set_birth_date(node, learner, "2001-01-01"), LV_OK);
	ck_assert_int_eq(lv_consent_decide(node, &self, LV_ROLE_NONE, learner, "course-improvement", 0, true, rid, err), LV_OK);
	uint64_t before = lv_audit_size(node);
	struct lv_consent_decision d;
	ck_assert_int_eq(lv_access_authorize(node, &analyst, learner, "course-improvement", NULL, 7, util_now_ms(), &d), LV_OK);
	ck_assert(d.allow);
	ck_assert_uint_eq(d.audit_index, before);
	ck_assert_uint_eq(lv_audit_size(node), before + 1);
	cJSON *arr = NULL;
	ck_assert_int_eq(lv_audit_entries(node, before, before + 1, &arr), LV_OK);
	const char *e = cJSON_GetArrayItem(arr, 0)->valuestring;
	ck_assert_ptr_nonnull(strstr(e, "\"type\":\"access\""));
	ck_assert_ptr_nonnull(strstr(e, "\"decision\":\"allow\""));
	ck_assert_ptr_nonnull(strstr(e, rid));
	ck_assert_ptr_nonnull(strstr(e, "\"count\":7"));
	cJSON_Delete(arr);
	/* The consent events are in the log too. */
	ck_assert_int_eq(lv_audit_entries(node, 0, before, &arr), LV_OK);
	bool seen = false;
	const cJSON *it;
	cJSON_ArrayForEach(it, arr)
		seen |= strstr(it->valuestring, "\"event\":\"ConsentGiven\"") != NULL;
	ck_assert(seen);
	cJSON_Delete(arr);
	/* If the audit entry cannot be written, nothing is released. */
	ck_assert_int_eq(sqlite3_exec(node->db, "DROP TABLE audit_log", NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_ne(lv_access_authorize(node, &analyst, learner, "course-improvement", NULL, 1, util_now_ms(), &d), LV_OK);
	ck_assert(!d.allow);
	ck_assert_str_eq(d.record_id, "");
}
END_TEST

START_TEST(real_export_is_compliant)
{
	char rid[LV_RECORD_ID_LEN], err[LV_CONSENT_ERR_LEN];
	ck_assert_int_eq(lv_learner_set_birth_date(node, learner, "2001-01-01"), LV_OK);
	ck_assert_int_eq(lv_consent_decide(node, &self, LV_ROLE_NONE, learner, "course-improvement", 0, true, rid, err), LV_OK);
	const char *verbs[] = {"http://adlnet.gov/expapi/verbs/passed"};
	const char *fields[] = {"result.score.scaled"};
	struct lv_consent_scope sc = {.has_op = true, .op = LV_POLICY_OP_MEAN, .verbs = verbs, .nverbs = 1,
				      .result_fields = fields, .nfields = 1};
	ck_assert(allowed("course-improvement", &sc, util_now_ms(), NULL, 0));
	ck_assert_int_eq(lv_consent_withdraw(node, &self, LV_ROLE_NONE, learner, "course-improvement", rid, err), LV_OK);
	ck_assert(!allowed("course-improvement", NULL, util_now_ms(), NULL, 0));
	char *json = NULL, *vkey = NULL, *report = NULL;
	ck_assert_int_eq(lv_audit_export(node, &json), LV_OK);
	ck_assert_int_eq(lv_audit_vkey(node, &vkey), LV_OK);
	ck_assert_int_eq(lv_audit_verify_export(json, strlen(json), vkey, NULL, &report), LV_OK);
	ck_assert_ptr_nonnull(strstr(report, "\"access_entries\":2"));
	ck_assert_ptr_nonnull(strstr(report, "\"access_checked_against_consent\":1"));
	free(json);
	free(vkey);
	free(report);
}
END_TEST

/* ---- erasure ends consent (issue 10, item 1) ---- */

#define ER_N 20

/* The members of the newest version of @policy's cohort at @now. */
static size_t cohort_size(const char *policy, int64_t now)
{
	struct lv_tx *tx;
	struct lv_consent_member *m = NULL;
	size_t n = 0;
	ck_assert_int_eq(lv_tx_begin(node, &tx), LV_OK);
	ck_assert_int_eq(lv_tx_end(tx, lv_consent_cohort_locked(node, policy, now, &m, &n)), LV_OK);
	free(m);
	return n;
}

/* A birth date @years before today (January 1st): that age all year. */
static void born_years_ago(char bd[16], int years)
{
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	snprintf(bd, 16, "%04d-01-01", tm.tm_year + 1900 - years);
}

/* The newest entry of @type about @learner, parsed (the caller deletes it). */
static cJSON *last_entry(const char *type, const char *learner_p)
{
	cJSON *arr = NULL, *found = NULL;
	ck_assert_int_eq(lv_audit_entries(node, 0, lv_audit_size(node), &arr), LV_OK);
	const cJSON *it;
	cJSON_ArrayForEach(it, arr) {
		cJSON *e = cJSON_Parse(it->valuestring);
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(e, "type");
		const cJSON *l = cJSON_GetObjectItemCaseSensitive(e, "learner");
		if (cJSON_IsString(t) && strcmp(t->valuestring, type) == 0 && cJSON_IsString(l) &&
		    strcmp(l->valuestring, learner_p) == 0) {
			cJSON_Delete(found);
			found = e;
		} else {
			cJSON_Delete(e);
		}
	}
	cJSON_Delete(arr);
	return found;
}

/* The erasure entry's consents_ended, as "policy=record_id;..." in order. */
static void ended_text(const char *learner_p, char *out, size_t n)
{
	cJSON *e = last_entry("erasure", learner_p);
	ck_assert_ptr_nonnull(e);
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(e, "consents_ended");
	ck_assert(cJSON_IsArray(arr));
	out[0] = '\0';
	const cJSON *g;
	cJSON_ArrayForEach(g, arr) {
		size_t used = strlen(out);
		snprintf(out + used, n - used, "%s=%s;", cJSON_GetObjectItemCaseSensitive(g, "policy")->valuestring,
			 cJSON_GetObjectItemCaseSensitive(g, "record_id")->valuestring);
	}
	cJSON_Delete(e);
}

/* No event and no live status for @p: a fresh start. */
static void no_consent_on_record(const char *p)
{
	char *json = NULL, reason[200];
	ck_assert_int_eq(lv_consent_list(node, p, util_now_ms(), &json), LV_OK);
	ck_assert_str_eq(json, "{\"events\":[],\"status\":{}}");
	free(json);
	struct lv_consent_decision d;
	ck_assert_int_eq(lv_access_authorize(node, &analyst, p, "course-improvement", NULL, 1, util_now_ms(), &d), LV_OK);
	ck_assert(!d.allow);
	snprintf(reason, sizeof reason, "%s", d.reason);
	ck_assert_ptr_nonnull(strstr(reason, "default deny"));
}

/* The attack of issue 10 item 1, as one story (longer than a function
 * should be, so that each step reads in the order it happens): 20
 * consenting learners, 3 erased, the same identifiers back. */
START_TEST(erasure_ends_consent_and_reenrolment_starts_without)
{
	char p[ER_N][LV_PSEUDONYM_LEN], rid[ER_N][LV_RECORD_ID_LEN], err[LV_CONSENT_ERR_LEN], mbox[64], actor[96];
	char adult[16], child[16], other[LV_RECORD_ID_LEN], text[512], want[512];
	bool created;
	born_years_ago(adult, 20);
	born_years_ago(child, 10);
	load("policies/tutoring-personalisation.json", NULL, NULL);
	/* 0..16 adults granting themselves; 17..19 children whose guardian
	 * granted (an operator recording the guardian's form). */
	for (int i = 0; i < ER_N; i++) {
		snprintf(actor, sizeof actor, "{\"mbox\":\"mailto:er%02d@x.org\"}", i);
		ck_assert_int_eq(lv_learner_enrol(node, actor, p[i], &created), LV_OK);
		ck_assert_int_eq(lv_learner_set_birth_date(node, p[i], i < 17 ? adult : child), LV_OK);
		ck_assert_int_eq(lv_consent_decide(node, &admin, i < 17 ? LV_ROLE_LEARNER : LV_ROLE_GUARDIAN, p[i],
						   "course-improvement", 0, true, rid[i], err), LV_OK);
	}
	/* Learner 0 renewed (the renewal is what ends); learner 1 also
	 * granted, then withdrew, another policy (nothing live to end). */
	ck_assert_int_eq(lv_consent_decide(node, &admin, LV_ROLE_LEARNER, p[0], "course-improvement", 0, true, rid[0],
					   err), LV_OK);
	ck_assert_int_eq(lv_consent_decide(node, &admin, LV_ROLE_LEARNER, p[1], "tutoring-personalisation", 0, true,
					   other, err), LV_OK);
	ck_assert_int_eq(lv_consent_withdraw(node, &admin, LV_ROLE_LEARNER, p[1], "tutoring-personalisation", other, err),
			 LV_OK);
	/* Learner 0 has spent budget: accounting that survives erasure. */
	struct lv_tx *tx;
	const char *charged[] = {p[0]};
	int64_t day = util_now_ms() / DAY;
	ck_assert_int_eq(lv_tx_begin(node, &tx), LV_OK);
	ck_assert_int_eq(lv_tx_end(tx, lv_store_budget_charge(node, "course-improvement", day, day - 30, charged, 1,
							       250000)), LV_OK);
	ck_assert_uint_eq(cohort_size("course-improvement", util_now_ms()), ER_N);

	int erased[3] = {0, 1, 18};
	for (int k = 0; k < 3; k++)
		ck_assert_int_eq(lv_learner_erase(node, p[erased[k]]), LV_OK);
	ck_assert_uint_eq(cohort_size("course-improvement", util_now_ms()), ER_N - 3);
	/* The log names the grants each erasure ended. */
	for (int k = 0; k < 3; k++) {
		ended_text(p[erased[k]], text, sizeof text);
		snprintf(want, sizeof want, "course-improvement=%s;", rid[erased[k]]);
		ck_assert_str_eq(text, want);
	}

	/* The same identifiers come back: learner 0 through an LMS statement
	 * (auto-enrolment), 1 and 18 as `learner add` does. */
	struct lv_principal prov = {.role = LV_ROLE_PROVIDER, .id = "lms"};
	cJSON *batch = cJSON_Parse("[{\"id\":\"55555555-5555-4555-8555-555555555555\",\"actor\":{\"mbox\":"
				   "\"mailto:er00@x.org\"},\"verb\":{\"id\":\"http://adlnet.gov/expapi/verbs/completed\"},"
				   "\"object\":{\"id\":\"http://x.org/quiz\"}}]");
	char ierr[LV_ERR_LEN];
	ck_assert_int_eq(lv_ingest(node, &prov, batch, NULL, 0, ierr), LV_OK);
	cJSON_Delete(batch);
	ck_assert(lv_store_lock(node) == LV_OK);
	bool back = lv_store_learner_exists(node, p[0]);
	lv_store_unlock(node);
	ck_assert(back); /* the same pseudonym */
	for (int k = 1; k < 3; k++) {
		char again[LV_PSEUDONYM_LEN];
		snprintf(mbox, sizeof mbox, "{\"mbox\":\"mailto:er%02d@x.org\"}", erased[k]);
		ck_assert_int_eq(lv_learner_enrol(node, mbox, again, &created), LV_OK);
		ck_assert(created);
		ck_assert_str_eq(again, p[erased[k]]);
	}
	ck_assert_int_eq(lv_learner_set_birth_date(node, p[18], child), LV_OK);
	ck_assert_int_eq(lv_learner_set_birth_date(node, p[1], adult), LV_OK);
	ck_assert_uint_eq(cohort_size("course-improvement", util_now_ms()), ER_N - 3);
	for (int k = 0; k < 3; k++)
		no_consent_on_record(p[erased[k]]);
	/* The budget already spent by that pseudonym still counts. */
	uint64_t spent = 0;
	const char *who[] = {p[0]};
	ck_assert_int_eq(lv_tx_begin(node, &tx), LV_OK);
	ck_assert_int_eq(lv_tx_end(tx, lv_store_budget_learners_spent(node, "course-improvement", day - 30, who, 1,
								      &spent)), LV_OK);
	ck_assert_uint_eq(spent, 250000);
	/* A new grant after re-enrolment counts again, as a new record. */
	char fresh[LV_RECORD_ID_LEN];
	ck_assert_int_eq(lv_consent_decide(node, &admin, LV_ROLE_GUARDIAN, p[18], "course-improvement", 0, true, fresh,
					   err), LV_OK);
	ck_assert_str_ne(fresh, rid[18]);
	ck_assert_uint_eq(cohort_size("course-improvement", util_now_ms()), ER_N - 2);
	/* An erasure with nothing live to end says so. */
	ck_assert_int_eq(lv_learner_erase(node, p[1]), LV_OK);
	ended_text(p[1], text, sizeof text);
	ck_assert_str_eq(text, "");
}
END_TEST

/* ---- the guardian's grant ends at the age (issue 10, item 6) ---- */

START_TEST(guardian_grant_stops_counting_at_the_age)
{
	char rid[LV_RECORD_ID_LEN], err[LV_CONSENT_ERR_LEN], reason[200], bd[16];
	/* Thirteen (course-improvement's guardian_below_age) ten days from now. */
	int64_t now = util_now_ms();
	time_t t = (time_t)((now + 10 * DAY) / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	snprintf(bd, sizeof bd, "%04d-%02d-%02d", tm.tm_year + 1900 - 13, tm.tm_mon + 1, tm.tm_mday);
	ck_assert_int_eq(lv_learner_set_birth_date(node, learner, bd), LV_OK);
	ck_assert_int_eq(lv_consent_decide(node, &guardian, LV_ROLE_NONE, learner, "course-improvement", 0, true, rid, err),
			 LV_OK);
	ck_assert(allowed("course-improvement", NULL, now, NULL, 0));
	ck_assert_uint_eq(cohort_size("course-improvement", now), 1);
	ck_assert(allowed("course-improvement", NULL, now + 9 * DAY, NULL, 0));
	/* On the birthday and after: the guardian's grant no longer counts,
	 * in the single check and in the cohort alike. */
	ck_assert(!allowed("course-improvement", NULL, now + 11 * DAY, reason, sizeof reason));
	ck_assert_ptr_nonnull(strstr(reason, "reached age 13"));
	ck_assert_uint_eq(cohort_size("course-improvement", now + 11 * DAY), 0);
	char *json = NULL;
	ck_assert_int_eq(lv_consent_list(node, learner, now + 11 * DAY, &json), LV_OK);
	ck_assert_ptr_nonnull(strstr(json, "\"allowed\":false"));
	ck_assert_ptr_nonnull(strstr(json, "reached age 13"));
	free(json);
}
END_TEST

/* ---- birth dates are logged with the change ---- */

START_TEST(birth_date_is_logged_in_its_transaction)
{
	uint64_t before = lv_audit_size(node);
	ck_assert_int_eq(lv_learner_set_birth_date(node, learner, "2009-04-30"), LV_OK);
	ck_assert_uint_eq(lv_audit_size(node), before + 1);
	cJSON *e = last_entry("birth_date", learner);
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(e, "birth_date")->valuestring, "2009-04-30");
	ck_assert_uint_eq((uint64_t)cJSON_GetObjectItemCaseSensitive(e, "index")->valuedouble, before);
	cJSON_Delete(e);
	/* A change the node refuses writes nothing, to node.db or to the log. */
	static const char *const BAD[] = {"2020-13-01", "1899-12-31", "2009-4-30", "2009-04-30x", ""};
	for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++)
		ck_assert_int_eq(lv_learner_set_birth_date(node, learner, BAD[i]), LV_ERR_INVALID);
	ck_assert_int_eq(lv_learner_set_birth_date(node, "0123456789abcdef0123456789abcdef", "2009-04-30"),
			 LV_ERR_NOT_FOUND);
	ck_assert_uint_eq(lv_audit_size(node), before + 1);
	char bd[LV_STORE_BIRTH_DATE_LEN];
	ck_assert(lv_store_lock(node) == LV_OK);
	enum lv_status st = lv_store_learner_birth_date(node, learner, bd);
	lv_store_unlock(node);
	ck_assert_int_eq(st, LV_OK);
	ck_assert_str_eq(bd, "2009-04-30");
	/* If the entry cannot be written, the change does not stay either. */
	ck_assert_int_eq(sqlite3_exec(node->db, "DROP TABLE audit_log", NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_ne(lv_learner_set_birth_date(node, learner, "2001-02-03"), LV_OK);
	ck_assert(lv_store_lock(node) == LV_OK);
	st = lv_store_learner_birth_date(node, learner, bd);
	lv_store_unlock(node);
	ck_assert_int_eq(st, LV_OK);
	ck_assert_str_eq(bd, "2009-04-30");
}
END_TEST

Suite *lv_test_suite(void)
{
	Suite *s = suite_create("ledger");
	TCase *tc = tcase_create("consent");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, default_deny_then_grant_then_withdraw);
	tcase_add_test(tc, new_version_needs_new_consent);
	tcase_add_test(tc, guardian_rule);
	tcase_add_test(tc, expiry_and_scope);
	tcase_add_test(tc, every_check_is_audited_and_fails_closed);
	tcase_add_test(tc, real_export_is_compliant);
	tcase_add_test(tc, erasure_ends_consent_and_reenrolment_starts_without);
	tcase_add_test(tc, guardian_grant_stops_counting_at_the_age);
	tcase_add_test(tc, birth_date_is_logged_in_its_transaction);
	suite_add_tcase(s, tc);
	return s;
}
