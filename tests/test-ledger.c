/* The consent ledger and the access check. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "harness.h"
#include "learnvault/audit.h"
#include "learnvault/auditlog.h"
#include "learnvault/consent.h"
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
	suite_add_tcase(s, tc);
	return s;
}
