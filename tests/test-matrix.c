/* Every role against every door: who may use what (docs/running.md). */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "harness.h"
#include "http-client.h"
#include "learnvault/consent.h"
#include "learnvault/server.h"
#include "util/util.h"

enum who { NONE, BAD, PROVIDER, LEARNER_A, GUARDIAN_A, LEARNER_B, ANALYST, AUDITOR, ADMIN, NWHO };
static const char *const WHO_NAME[NWHO] = {"none", "wrong token", "provider", "learner A", "guardian of A",
					   "learner B", "analyst", "auditor", "admin"};

static struct {
	char dir[600];
	struct lv_node *node;
	struct lv_server *srv;
	struct hc hc;
	char key[LV_CRED_ID_LEN];
	char *secret;
	char tok[NWHO][160];
	char a[LV_PSEUDONYM_LEN], b[LV_PSEUDONYM_LEN];
} F;

static void token(enum who w, enum lv_role role, const char *learner)
{
	char id[LV_CRED_ID_LEN];
	char *secret = NULL;
	ck_assert_int_eq(lv_credential_add(F.node, role, learner, NULL, 0, NULL, id, &secret), LV_OK);
	snprintf(F.tok[w], sizeof F.tok[w], "%s.%s", id, secret);
	sodium_free(secret);
}

static void setup(void)
{
	char *vkey = NULL, *text = NULL, err[LV_POLICY_ERR_LEN], pid[LV_POLICY_ID_MAX + 1];
	size_t len;
	uint32_t version;
	bool added, created;
	snprintf(F.dir, sizeof F.dir, "%s/node", th_tmpdir());
	ck_assert_int_eq(lv_node_init(F.dir, NULL, NULL, &vkey), LV_OK);
	free(vkey);
	ck_assert_int_eq(lv_node_open(F.dir, NULL, NULL, &F.node), LV_OK);
	ck_assert_int_eq(lv_credential_add(F.node, LV_ROLE_PROVIDER, NULL, NULL, 0, NULL, F.key, &F.secret), LV_OK);
	ck_assert_int_eq(util_read_file(th_src("policies/course-improvement.json"), 65536, &text, &len), LV_OK);
	ck_assert_int_eq(lv_policy_load(F.node, text, len, &added, pid, &version, err), LV_OK);
	free(text);
	ck_assert_int_eq(lv_learner_enrol(F.node, "{\"mbox\":\"mailto:a@x.org\"}", F.a, &created), LV_OK);
	ck_assert_int_eq(lv_learner_enrol(F.node, "{\"mbox\":\"mailto:b@x.org\"}", F.b, &created), LV_OK);
	/* A is 10 (a guardian decides), B is adult. */
	ck_assert_int_eq(lv_learner_set_birth_date(F.node, F.a, "2016-06-01"), LV_OK);
	ck_assert_int_eq(lv_learner_set_birth_date(F.node, F.b, "1990-06-01"), LV_OK);
	token(LEARNER_A, LV_ROLE_LEARNER, F.a);
	token(GUARDIAN_A, LV_ROLE_GUARDIAN, F.a);
	token(LEARNER_B, LV_ROLE_LEARNER, F.b);
	token(ANALYST, LV_ROLE_ANALYST, NULL);
	token(AUDITOR, LV_ROLE_AUDITOR, NULL);
	token(ADMIN, LV_ROLE_ADMIN, NULL);
	snprintf(F.tok[BAD], sizeof F.tok[BAD], "%s", F.tok[AUDITOR]);
	F.tok[BAD][strlen(F.tok[BAD]) - 1] ^= 1;
	struct lv_server_options so = {.host = "127.0.0.1", .threads = 2};
	ck_assert_int_eq(lv_server_start(F.node, &so, &F.srv), LV_OK);
	ck_assert_int_eq(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
	hc_init(&F.hc, lv_server_port(F.srv));
}

static void teardown(void)
{
	hc_free(&F.hc);
	curl_global_cleanup();
	lv_server_destroy(F.srv);
	lv_node_close(F.node);
	sodium_free(F.secret);
	th_rmtree(F.dir);
	memset(&F, 0, sizeof F);
}

static long send_as(enum who w, const char *method, const char *path, const char *body, struct hc_resp *r)
{
	struct hc_req rq = {.method = method, .path = path, .body = body};
	if (w == PROVIDER) {
		rq.user = F.key;
		rq.pass = F.secret;
	} else if (w != NONE) {
		rq.bearer = F.tok[w];
	}
	return hc_do(&F.hc, &rq, r);
}

struct row {
	const char *method, *path, *body;
	long expect[NWHO]; /* none, wrong, provider, A, guardian A, B, analyst, auditor, admin */
};

#define L 401
#define F4 403
/* Every door but the xAPI one and /policies refuses the wrong roles. */
static const struct row ROWS[] = {
	{"GET", "/policies", NULL, {200, 200, 200, 200, 200, 200, 200, 200, 200}},
	{"GET", "/xapi/statements", NULL, {L, L, 200, F4, F4, F4, F4, F4, F4}},
	{"GET", "/learner/statements", NULL, {L, L, F4, 200, 200, 200, F4, F4, F4}},
	{"GET", "/learner/consents", NULL, {L, L, F4, 200, 200, 200, F4, F4, F4}},
	/* Guardian rule: for A (10) only the guardian grants; B (adult) grants. */
	{"POST", "/learner/consents", "{\"policy\":\"course-improvement\"}", {L, L, F4, F4, 201, 201, F4, F4, F4}},
	/* Withdrawal obeys the same rule: A's guardian, or adult B. */
	{"DELETE", "/learner/consents/course-improvement", NULL, {L, L, F4, F4, 200, 200, F4, F4, F4}},
	{"GET", "/learner/access-report", NULL, {L, L, F4, 200, 200, 200, F4, F4, F4}},
	{"GET", "/learner/export", NULL, {L, L, F4, 200, 200, 200, F4, F4, F4}},
	{"POST", "/learner/export/vault", "{\"passphrase\":\"a long enough passphrase\"}", {L, L, F4, 200, 200, 200, F4, F4, F4}},
	{"GET", "/audit/key", NULL, {L, L, F4, F4, F4, F4, F4, 200, F4}},
	{"GET", "/audit/checkpoint", NULL, {L, L, F4, F4, F4, F4, F4, 200, F4}},
	{"GET", "/audit/entries?start=0&end=1", NULL, {L, L, F4, F4, F4, F4, F4, 200, F4}},
	{"GET", "/audit/proof/inclusion?index=0&size=1", NULL, {L, L, F4, F4, F4, F4, F4, 200, F4}},
	{"GET", "/audit/proof/consistency?first=1&second=1", NULL, {L, L, F4, F4, F4, F4, F4, 200, F4}},
};

START_TEST(every_role_at_every_door)
{
	/* Some data for the doors to serve: 2 statements for A, 1 for B. */
	const char *post = "[{\"actor\":{\"mbox\":\"mailto:a@x.org\"},\"verb\":{\"id\":\"http://x.org/v\"},\"object\":{\"id\":\"http://x.org/1\"}},"
			   "{\"actor\":{\"mbox\":\"mailto:a@x.org\"},\"verb\":{\"id\":\"http://x.org/v\"},\"object\":{\"id\":\"http://x.org/2\"}},"
			   "{\"actor\":{\"mbox\":\"mailto:b@x.org\"},\"verb\":{\"id\":\"http://x.org/v\"},\"object\":{\"id\":\"http://x.org/3\"}}]";
	struct hc_resp r = {0};
	ck_assert_int_eq(send_as(PROVIDER, "POST", "/xapi/statements", post, &r), 200);
	cJSON *ids = cJSON_ParseWithLength(r.body, r.len);
	hc_resp_free(&r);
	for (size_t i = 0; i < sizeof ROWS / sizeof ROWS[0]; i++) {
		for (int w = 0; w < NWHO; w++) {
			long got = send_as((enum who)w, ROWS[i].method, ROWS[i].path, ROWS[i].body, &r);
			ck_assert_msg(got == ROWS[i].expect[w], "%s %s as %s: got %ld, expected %ld (%s)", ROWS[i].method,
				      ROWS[i].path, WHO_NAME[w], got, ROWS[i].expect[w], r.body ? r.body : "");
			if (got >= 400) {
				/* Every refusal is a JSON error body. */
				cJSON *j = cJSON_ParseWithLength(r.body, r.len);
				ck_assert_msg(cJSON_IsString(cJSON_GetObjectItem(j, "error")) &&
					      cJSON_IsString(cJSON_GetObjectItem(j, "message")),
					      "%s %s as %s: not a JSON error: %s", ROWS[i].method, ROWS[i].path, WHO_NAME[w], r.body);
				cJSON_Delete(j);
			}
			hc_resp_free(&r);
		}
	}
	/* Isolation: B never sees A's statements, nor A's entries in its report. */
	ck_assert_int_eq(send_as(LEARNER_B, "GET", "/learner/statements", NULL, &r), 200);
	ck_assert_ptr_null(strstr(r.body, cJSON_GetArrayItem(ids, 0)->valuestring));
	ck_assert_ptr_null(strstr(r.body, cJSON_GetArrayItem(ids, 1)->valuestring));
	ck_assert_ptr_nonnull(strstr(r.body, cJSON_GetArrayItem(ids, 2)->valuestring));
	hc_resp_free(&r);
	ck_assert_int_eq(send_as(LEARNER_B, "GET", "/learner/access-report", NULL, &r), 200);
	ck_assert_ptr_null(strstr(r.body, F.a));
	hc_resp_free(&r);
	/* Erasure: only the learner (or guardian) of that learner; A last. */
	static const long erase_expect[NWHO] = {L, L, F4, 200, 0, 0, F4, F4, F4};
	for (int w = 0; w < NWHO; w++) {
		if (!erase_expect[w] || w == LEARNER_A)
			continue;
		ck_assert_msg(send_as((enum who)w, "DELETE", "/learner", NULL, &r) == erase_expect[w],
			      "DELETE /learner as %s", WHO_NAME[w]);
		hc_resp_free(&r);
	}
	ck_assert_int_eq(send_as(LEARNER_A, "DELETE", "/learner", NULL, &r), 200);
	hc_resp_free(&r);
	ck_assert_int_eq(send_as(LEARNER_B, "GET", "/learner/statements", NULL, &r), 200);
	hc_resp_free(&r);
	cJSON_Delete(ids);
}
END_TEST

Suite *lv_test_suite(void)
{
	Suite *s = suite_create("matrix");
	TCase *tc = tcase_create("roles");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, every_role_at_every_door);
	suite_add_tcase(s, tc);
	return s;
}
