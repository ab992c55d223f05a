/* Role x endpoint matrix over loopback HTTP: for every door that is not the
 * xAPI resource set (/policies, /learner/..., /audit/...) every role is tried
 * on every route, plus the xAPI door's role gate on GET /xapi/statements.
 * The expected statuses are the ones docs/running.md ("HTTP") documents.
 * One TCase, one test per door; each test runs in its own process (CK_FORK)
 * on a fresh node. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "harness.h"
#include "http-client.h"
#include "learnvault/auditlog.h"
#include "learnvault/consent.h"
#include "learnvault/node.h"
#include "learnvault/server.h"
#include "learnvault/util.h"

/* ---- the roles (the matrix's columns) ---- */

enum role {
	NONE,        /* no Authorization header */
	WRONG,       /* a bearer token with a real id and a wrong secret */
	PROVIDER,    /* HTTP Basic key:secret */
	ANALYST,
	AUDITOR,
	ADMIN,
	LEARNER_A,   /* learner token bound to A (born 1990: decides on consent herself) */
	GUARDIAN_A,  /* guardian token bound to A */
	LEARNER_B,   /* learner token bound to B (no birth date: counts as a minor) */
	LEARNER_C,   /* learner token bound to C, dedicated to DELETE /learner */
	GUARDIAN_D,  /* guardian token bound to D (born 2020), dedicated to DELETE /learner */
	NROLES
};

static const char *const ROLE_NAME[NROLES] = {
	"none", "wrong-token", "provider", "analyst", "auditor", "admin",
	"learner-A", "guardian-of-A", "learner-B", "learner-C", "guardian-of-D",
};

#define ACTOR_A "{\"mbox\":\"mailto:alice@example.com\"}"
#define ACTOR_B "{\"mbox\":\"mailto:bob@example.com\"}"
#define ACTOR_C "{\"mbox\":\"mailto:carol@example.com\"}"
#define ACTOR_D "{\"mbox\":\"mailto:dan@example.com\"}"

static struct {
	char base[512];
	char dir[600];
	struct lv_node *node;
	struct lv_server *srv;
	struct hc hc;
	char key[LV_CRED_ID_LEN];      /* provider */
	char *secret;
	char tok[NROLES][160];         /* bearer tokens; "" for NONE and PROVIDER */
	char a[LV_PSEUDONYM_LEN], b[LV_PSEUDONYM_LEN], c[LV_PSEUDONYM_LEN], d[LV_PSEUDONYM_LEN];
	char a_ids[2][37], b_id[37];   /* statements posted through the provider */
} F;

/* ---- helpers (as in test-http.c) ---- */

#define EXPECT_STATUS(r, s)                                                              \
	ck_assert_msg((r).status == (s), "expected HTTP %ld, got %ld (curl %d): %s", (long)(s), \
		      (r).status, (int)(r).rc, (r).body ? (r).body : "")

static cJSON *body_json(const struct hc_resp *r)
{
	cJSON *j = cJSON_ParseWithLength(r->body, r->len);
	ck_assert_msg(j != NULL, "response is not JSON: %s", r->body);
	return j;
}

/* Asserts an error reply: status @status, a JSON object whose "error" and
 * "message" are strings (error == @code unless @code is NULL). */
static void assert_error(const struct hc_resp *r, long status, const char *code)
{
	EXPECT_STATUS(*r, status);
	ck_assert_msg(strncmp(r->content_type, "application/json", 16) == 0,
		      "error reply Content-Type is '%s'", r->content_type);
	cJSON *j = body_json(r);
	ck_assert(cJSON_IsObject(j));
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "message");
	ck_assert_msg(cJSON_IsString(e), "no string 'error' in %s", r->body);
	ck_assert_msg(cJSON_IsString(m), "no string 'message' in %s", r->body);
	ck_assert_msg(m->valuestring[0] != '\0', "empty message in %s", r->body);
	if (code)
		ck_assert_str_eq(e->valuestring, code);
	cJSON_Delete(j);
}

static void uuid(char out[37])
{
	unsigned char b[16];
	randombytes_buf(b, sizeof b);
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
		 b[13], b[14], b[15]);
}

static void token_for(enum lv_role role, const char *learner, char *tok, size_t n)
{
	char id[LV_CRED_ID_LEN];
	char *secret = NULL;
	/* The analyst is bound to the loaded purpose: the aggregate door opens. */
	const char *purposes[] = {"course-improvement"};
	bool analyst = role == LV_ROLE_ANALYST;
	ck_assert_int_eq(lv_credential_add(F.node, role, learner, analyst ? purposes : NULL, analyst ? 1 : 0, NULL,
					   id, &secret), LV_OK);
	snprintf(tok, n, "%s.%s", id, secret);
	sodium_free(secret);
}

/* One request as @who.  The version header is sent only on the xAPI door
 * (@xapi): the other doors do not need it. */
static long call_as(enum role who, const char *method, const char *path, const char *body, bool xapi,
		    struct hc_resp *r)
{
	struct hc_req rq = {.method = method, .path = path, .body = body, .no_version = !xapi};
	if (who == PROVIDER) {
		rq.user = F.key;
		rq.pass = F.secret;
	} else if (who != NONE) {
		rq.bearer = F.tok[who];
	}
	return hc_do(&F.hc, &rq, r);
}

/* POSTs one statement for @mbox_user as the provider, with id @id. */
static void post_statement(const char *id, const char *mbox_user)
{
	char body[512];
	snprintf(body, sizeof body,
		 "{\"id\":\"%s\",\"actor\":{\"objectType\":\"Agent\",\"mbox\":\"mailto:%s@example.com\"},"
		 "\"verb\":{\"id\":\"http://adlnet.gov/expapi/verbs/completed\",\"display\":{\"en-US\":\"completed\"}},"
		 "\"object\":{\"objectType\":\"Activity\",\"id\":\"http://example.com/act/roles\"}}",
		 id, mbox_user);
	struct hc_resp r;
	call_as(PROVIDER, "POST", "/xapi/statements", body, true, &r);
	EXPECT_STATUS(r, 200);
	hc_resp_free(&r);
}

static void enrol(const char *actor, char out[LV_PSEUDONYM_LEN])
{
	bool created;
	ck_assert_int_eq(lv_learner_enrol(F.node, actor, out, &created), LV_OK);
}

/* ---- fixture ---- */

static void setup(void)
{
	char *vkey = NULL;
	snprintf(F.base, sizeof F.base, "%s", th_tmpdir());
	snprintf(F.dir, sizeof F.dir, "%s/node", F.base);
	ck_assert_int_eq(lv_node_init(F.dir, NULL, NULL, &vkey), LV_OK);
	free(vkey);
	ck_assert_int_eq(lv_node_open(F.dir, NULL, NULL, &F.node), LV_OK);
	ck_assert_int_eq(lv_credential_add(F.node, LV_ROLE_PROVIDER, NULL, NULL, 0, "LMS", F.key, &F.secret), LV_OK);
	struct lv_server_options so = {.host = "127.0.0.1", .port = 0, .threads = 2};
	ck_assert_int_eq(lv_server_start(F.node, &so, &F.srv), LV_OK);
	ck_assert_uint_ne(lv_server_port(F.srv), 0);
	ck_assert_int_eq(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
	hc_init(&F.hc, lv_server_port(F.srv));
	ck_assert_ptr_nonnull(F.hc.curl);

	/* The consent policy (guardian_below_age 13). */
	char *text = NULL, err[LV_POLICY_ERR_LEN], pid[LV_POLICY_ID_MAX + 1];
	size_t len = 0;
	uint32_t version;
	bool added;
	ck_assert_int_eq(util_read_file(th_src("policies/course-improvement.json"), 65536, &text, &len), LV_OK);
	ck_assert_int_eq(lv_policy_load(F.node, text, len, &added, pid, &version, err), LV_OK);
	free(text);

	/* Two statements for A, one for B, through the provider (auto-enrols). */
	uuid(F.a_ids[0]);
	uuid(F.a_ids[1]);
	uuid(F.b_id);
	post_statement(F.a_ids[0], "alice");
	post_statement(F.a_ids[1], "alice");
	post_statement(F.b_id, "bob");
	enrol(ACTOR_A, F.a);
	enrol(ACTOR_B, F.b);
	enrol(ACTOR_C, F.c);
	enrol(ACTOR_D, F.d);
	ck_assert_int_eq(lv_learner_set_birth_date(F.node, F.a, "1990-01-01"), LV_OK);  /* adult */
	ck_assert_int_eq(lv_learner_set_birth_date(F.node, F.d, "2020-01-01"), LV_OK);  /* child */

	token_for(LV_ROLE_ANALYST, NULL, F.tok[ANALYST], sizeof F.tok[ANALYST]);
	token_for(LV_ROLE_AUDITOR, NULL, F.tok[AUDITOR], sizeof F.tok[AUDITOR]);
	token_for(LV_ROLE_ADMIN, NULL, F.tok[ADMIN], sizeof F.tok[ADMIN]);
	token_for(LV_ROLE_LEARNER, F.a, F.tok[LEARNER_A], sizeof F.tok[LEARNER_A]);
	token_for(LV_ROLE_GUARDIAN, F.a, F.tok[GUARDIAN_A], sizeof F.tok[GUARDIAN_A]);
	token_for(LV_ROLE_LEARNER, F.b, F.tok[LEARNER_B], sizeof F.tok[LEARNER_B]);
	token_for(LV_ROLE_LEARNER, F.c, F.tok[LEARNER_C], sizeof F.tok[LEARNER_C]);
	token_for(LV_ROLE_GUARDIAN, F.d, F.tok[GUARDIAN_D], sizeof F.tok[GUARDIAN_D]);
	/* Wrong: the analyst's real credential id with a different secret. */
	snprintf(F.tok[WRONG], sizeof F.tok[WRONG], "%s", F.tok[ANALYST]);
	size_t n = strlen(F.tok[WRONG]);
	F.tok[WRONG][n - 1] = F.tok[WRONG][n - 1] == 'A' ? 'B' : 'A';
}

static void teardown(void)
{
	hc_free(&F.hc);
	curl_global_cleanup();
	lv_server_destroy(F.srv);
	lv_node_close(F.node);
	if (F.secret)
		sodium_free(F.secret);
	th_rmtree(F.base);
	memset(&F, 0, sizeof F);
}

/* ---- the matrix ---- */

/* One route, and the status each role must get there.  0: not tried (see
 * the table's comment).  The roles are tried left to right. */
struct route {
	const char *method, *path, *body;
	long expect[NROLES];
};

#define GRANT "{\"policy\":\"course-improvement\"}"
#define VAULT "{\"passphrase\":\"a long enough passphrase\"}"

/* Runs @routes: every role on every route, in order.  An error reply (>= 400)
 * must be the JSON error object, with "unauthorized" for 401 and
 * "forbidden" for 403; a 401 also carries WWW-Authenticate.  A JSON success
 * reply must parse. */
static void run_matrix(const struct route *routes, size_t nroutes, bool xapi)
{
	for (size_t i = 0; i < nroutes; i++) {
		const struct route *rt = &routes[i];
		for (int who = 0; who < NROLES; who++) {
			long want = rt->expect[who];
			if (!want)
				continue;
			struct hc_resp r;
			long got = call_as((enum role)who, rt->method, rt->path, rt->body, xapi, &r);
			ck_assert_msg(got == want, "%s %s as %s: expected %ld, got %ld (curl %d): %s", rt->method,
				      rt->path, ROLE_NAME[who], want, got, (int)r.rc, r.body ? r.body : "");
			if (got >= 400) {
				assert_error(&r, got, got == 401 ? "unauthorized" : got == 403 ? "forbidden" : NULL);
				if (got == 401)
					ck_assert_msg(r.www_authenticate[0], "401 without WWW-Authenticate on %s %s",
						      rt->method, rt->path);
			} else if (strncmp(r.content_type, "application/json", 16) == 0) {
				cJSON_Delete(body_json(&r));
			}
			hc_resp_free(&r);
		}
	}
}

#define NR(a) (sizeof(a) / sizeof((a)[0]))

START_TEST(policies_door)
{
	/* A public notice: everyone, credentials or not, good or bad. */
	static const struct route routes[] = {
		/*                              none wrong prov anl  aud  adm  A    gA   B    C    gD */
		{"GET", "/policies", NULL, {200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200}},
	};
	run_matrix(routes, NR(routes), false);
}
END_TEST

START_TEST(xapi_door_gate)
{
	/* Provider (Basic) only: every bearer role is authenticated but the
	 * wrong role (403); no or bad credentials 401. */
	static const struct route routes[] = {
		/*                                     none wrong prov anl  aud  adm  A    gA   B    C    gD */
		{"GET", "/xapi/statements", NULL, {401, 401, 200, 403, 403, 403, 403, 403, 403, 403, 403}},
	};
	run_matrix(routes, NR(routes), true);
}
END_TEST

START_TEST(learner_door)
{
	/* Learner or guardian of the bound learner: 2xx on their own learner;
	 * every other role 403; no or wrong credentials 401.
	 *
	 * Consent decisions (POST, DELETE /consents/...) also obey the guardian
	 * rule of course-improvement (guardian_below_age 13; an unknown birth
	 * date counts as below), answered 403 "forbidden" with a JSON error:
	 *   A (born 1990) decides herself: learner-A 201/200, guardian-of-A 403;
	 *   B and C (no birth date) count as minors: their learner tokens 403;
	 *   D (born 2020) is a minor: guardian-of-D 201/200.
	 *
	 * DELETE /learner erases the caller's own learner, so it is tried only
	 * with the dedicated C and D (A, guardian-of-A and B: 0, not tried),
	 * and comes last. */
	static const struct route routes[] = {
		/*                                                          none wrong prov anl  aud  adm  A    gA   B    C    gD */
		{"GET",    "/learner/consents",                    NULL,  {401, 401, 403, 403, 403, 403, 200, 200, 200, 200, 200}},
		{"POST",   "/learner/consents",                    GRANT, {401, 401, 403, 403, 403, 403, 201, 403, 403, 403, 201}},
		{"DELETE", "/learner/consents/course-improvement", NULL,  {401, 401, 403, 403, 403, 403, 200, 403, 403, 403, 200}},
		{"GET",    "/learner/statements",                  NULL,  {401, 401, 403, 403, 403, 403, 200, 200, 200, 200, 200}},
		{"GET",    "/learner/access-report",               NULL,  {401, 401, 403, 403, 403, 403, 200, 200, 200, 200, 200}},
		{"GET",    "/learner/export",                      NULL,  {401, 401, 403, 403, 403, 403, 200, 200, 200, 200, 200}},
		{"POST",   "/learner/export/vault",                VAULT, {401, 401, 403, 403, 403, 403, 200, 200, 200, 200, 200}},
		{"DELETE", "/learner",                             NULL,  {401, 401, 403, 403, 403, 403,   0,   0,   0, 200, 200}},
	};
	run_matrix(routes, NR(routes), false);

	/* The erasures took: C's and D's credentials went with them, A and B
	 * are untouched. */
	static const struct route after[] = {
		/*                                         none wrong prov anl  aud  adm  A    gA   B    C    gD */
		{"GET", "/learner/statements", NULL, {  0,   0,   0,   0,   0,   0, 200, 200, 200, 401, 401}},
	};
	run_matrix(after, NR(after), false);
	int64_t count = 0;
	ck_assert_int_eq(lv_learner_count(F.node, &count), LV_OK);
	ck_assert_int_eq(count, 2);
	/* A resource that exists, asked with another method: 405 (issue 13). */
	static const struct route methods[] = {
		/*                                         none wrong prov anl  aud  adm  A    gA   B    C    gD */
		{"PUT", "/learner/statements", "{}", {  0,   0,   0,   0,   0,   0, 405,   0,   0,   0,   0}},
		{"POST", "/learner/export", "{}",   {  0,   0,   0,   0,   0,   0, 405,   0,   0,   0,   0}},
		{"DELETE", "/learner/access-report", NULL, {0, 0,  0,   0,   0,   0, 405,   0,   0,   0,   0}},
		{"GET", "/learner", NULL,           {  0,   0,   0,   0,   0,   0, 405,   0,   0,   0,   0}},
	};
	run_matrix(methods, NR(methods), false);
}
END_TEST

#define COUNT_QUERY "{\"purpose\":\"course-improvement\",\"metric\":\"count\",\"epsilon\":0.5}"

START_TEST(aggregate_door)
{
	/* Analyst only (bound to the purpose); no other role, not even the
	 * admin's token, gets an aggregate over HTTP. */
	static const struct route routes[] = {
		/*                                     none wrong prov anl  aud  adm  A    gA   B    C    gD */
		{"POST", "/aggregate", COUNT_QUERY, {401, 401, 403, 200, 403, 403, 403, 403, 403, 403, 403}},
		{"GET",  "/aggregate", NULL,        {401, 401, 403, 405, 403, 403, 403, 403, 403, 403, 403}},
		{"POST", "/aggregate", "{}",        {  0,   0,   0, 400,   0,   0,   0,   0,   0,   0,   0}},
	};
	run_matrix(routes, NR(routes), false);
}
END_TEST

START_TEST(audit_door)
{
	/* Auditor only: every other authenticated role 403; no or wrong
	 * credentials 401. */
	static const struct route routes[] = {
		/*                                                            none wrong prov anl  aud  adm  A    gA   B    C    gD */
		{"GET", "/audit/key",                                  NULL, {401, 401, 403, 403, 200, 403, 403, 403, 403, 403, 403}},
		{"GET", "/audit/checkpoint",                           NULL, {401, 401, 403, 403, 200, 403, 403, 403, 403, 403, 403}},
		{"GET", "/audit/entries?start=0&end=1",                NULL, {401, 401, 403, 403, 200, 403, 403, 403, 403, 403, 403}},
		{"GET", "/audit/proof/inclusion?index=0&size=1",       NULL, {401, 401, 403, 403, 200, 403, 403, 403, 403, 403, 403}},
		{"GET", "/audit/proof/consistency?first=1&second=1",   NULL, {401, 401, 403, 403, 200, 403, 403, 403, 403, 403, 403}},
	};
	run_matrix(routes, NR(routes), false);
}
END_TEST

/* The statement ids in GET /learner/statements as @who (one page holds all
 * three). */
static cJSON *statements_of(enum role who)
{
	struct hc_resp r;
	ck_assert_int_eq(call_as(who, "GET", "/learner/statements", NULL, false, &r), 200);
	cJSON *j = body_json(&r);
	hc_resp_free(&r);
	ck_assert_str_eq(cJSON_GetObjectItem(j, "more")->valuestring, "");
	cJSON *arr = cJSON_DetachItemFromObject(j, "statements");
	cJSON_Delete(j);
	ck_assert(cJSON_IsArray(arr));
	return arr;
}

static bool has_id(const cJSON *arr, const char *id)
{
	const cJSON *s;
	cJSON_ArrayForEach(s, arr) {
		const cJSON *sid = cJSON_GetObjectItemCaseSensitive(s, "id");
		if (cJSON_IsString(sid) && strcmp(sid->valuestring, id) == 0)
			return true;
	}
	return false;
}

/* Asserts no entry of @who's access report names @other. */
static void report_excludes(enum role who, const char *self, const char *other)
{
	struct hc_resp r;
	ck_assert_int_eq(call_as(who, "GET", "/learner/access-report", NULL, false, &r), 200);
	cJSON *j = body_json(&r);
	hc_resp_free(&r);
	int n = 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, cJSON_GetObjectItem(j, "entries")) {
		const cJSON *text = cJSON_GetObjectItem(e, "entry");
		ck_assert(cJSON_IsString(text));
		ck_assert_msg(strstr(text->valuestring, other) == NULL, "%s's report names %s: %s", ROLE_NAME[who],
			      other, text->valuestring);
		ck_assert_ptr_nonnull(strstr(text->valuestring, self));
		n++;
	}
	ck_assert_int_gt(n, 0);
	cJSON_Delete(j);
}

START_TEST(isolation)
{
	/* B reads first, so B's own accesses are in the log beside A's. */
	cJSON *b = statements_of(LEARNER_B);
	ck_assert_int_eq(cJSON_GetArraySize(b), 1);
	ck_assert(has_id(b, F.b_id));
	for (int i = 0; i < 2; i++)
		ck_assert_msg(!has_id(b, F.a_ids[i]), "learner B sees A's statement %s", F.a_ids[i]);
	cJSON_Delete(b);
	for (int who = LEARNER_A; who <= GUARDIAN_A; who++) {
		cJSON *a = statements_of((enum role)who);
		ck_assert_int_eq(cJSON_GetArraySize(a), 2);
		ck_assert(has_id(a, F.a_ids[0]) && has_id(a, F.a_ids[1]));
		ck_assert(!has_id(a, F.b_id));
		cJSON_Delete(a);
	}
	report_excludes(LEARNER_A, F.a, F.b);
	report_excludes(GUARDIAN_A, F.a, F.b);
	report_excludes(LEARNER_B, F.b, F.a);
	/* The export, too, holds only A's statements. */
	struct hc_resp r;
	ck_assert_int_eq(call_as(LEARNER_A, "GET", "/learner/export", NULL, false, &r), 200);
	cJSON *j = body_json(&r);
	hc_resp_free(&r);
	const cJSON *st = cJSON_GetObjectItem(j, "statements");
	ck_assert_int_eq(cJSON_GetArraySize(st), 2);
	ck_assert(!has_id(st, F.b_id));
	ck_assert_str_eq(cJSON_GetObjectItem(j, "learner")->valuestring, F.a);
	cJSON_Delete(j);
}
END_TEST

/* ---- provider x provider (issue 13): what a provider cannot read, it
 * cannot void or probe ---- */

/* One xAPI request as the second provider (@key2/@secret2). */
static long call_p2(const char *key2, const char *secret2, const char *method, const char *path, const char *body,
		    struct hc_resp *r)
{
	struct hc_req rq = {.method = method, .path = path, .body = body, .user = key2, .pass = secret2};
	return hc_do(&F.hc, &rq, r);
}

static void voiding_body(char *out, size_t n, const char *id, const char *target)
{
	snprintf(out, n,
		 "{\"id\":\"%s\",\"actor\":{\"mbox\":\"mailto:admin@example.com\"},"
		 "\"verb\":{\"id\":\"http://adlnet.gov/expapi/verbs/voided\"},"
		 "\"object\":{\"objectType\":\"StatementRef\",\"id\":\"%s\"}}",
		 id, target);
}

START_TEST(provider_isolation)
{
	char key2[LV_CRED_ID_LEN], *secret2 = NULL, body[1024], path[256], vid[37];
	ck_assert_int_eq(lv_credential_add(F.node, LV_ROLE_PROVIDER, NULL, NULL, 0, "other LMS", key2, &secret2),
			 LV_OK);
	struct hc_resp r;
	/* The second provider cannot read A's statement ... */
	snprintf(path, sizeof path, "/xapi/statements?statementId=%s", F.a_ids[0]);
	ck_assert_int_eq(call_p2(key2, secret2, "GET", path, NULL, &r), 404);
	hc_resp_free(&r);
	/* ... so its voiding statement is stored like one for an unknown id,
	 * and voids nothing: the first provider and the learner still see it. */
	uuid(vid);
	voiding_body(body, sizeof body, vid, F.a_ids[0]);
	ck_assert_int_eq(call_p2(key2, secret2, "POST", "/xapi/statements", body, &r), 200);
	hc_resp_free(&r);
	ck_assert_int_eq(call_as(PROVIDER, "GET", path, NULL, true, &r), 200);
	hc_resp_free(&r);
	cJSON *mine = statements_of(LEARNER_A);
	ck_assert(has_id(mine, F.a_ids[0]));
	cJSON_Delete(mine);
	/* A PUT of another provider's id: the same answer, byte for byte,
	 * whether the content matches or not (no confirmation of a result). */
	char same[1024], other[1024], put[256];
	snprintf(same, sizeof same,
		 "{\"id\":\"%s\",\"actor\":{\"objectType\":\"Agent\",\"mbox\":\"mailto:alice@example.com\"},"
		 "\"verb\":{\"id\":\"http://adlnet.gov/expapi/verbs/completed\",\"display\":{\"en-US\":\"completed\"}},"
		 "\"object\":{\"objectType\":\"Activity\",\"id\":\"http://example.com/act/roles\"}}",
		 F.a_ids[1]);
	snprintf(other, sizeof other, "%s", same);
	char *act = strstr(other, "act/roles");
	memcpy(act, "act/ROLES", 9);
	snprintf(put, sizeof put, "/xapi/statements?statementId=%s", F.a_ids[1]);
	struct hc_resp r1, r2;
	ck_assert_int_eq(call_p2(key2, secret2, "PUT", put, same, &r1), 409);
	ck_assert_int_eq(call_p2(key2, secret2, "PUT", put, other, &r2), 409);
	ck_assert_str_eq(r1.body, r2.body);
	hc_resp_free(&r1);
	hc_resp_free(&r2);
	/* The owner: the same content is accepted again, another is a conflict. */
	ck_assert_int_eq(call_as(PROVIDER, "PUT", put, same, true, &r), 204);
	hc_resp_free(&r);
	ck_assert_int_eq(call_as(PROVIDER, "PUT", put, other, true, &r), 409);
	hc_resp_free(&r);
	/* The owner voids its own statement; the second provider voiding that
	 * voiding statement is treated as an unknown target (200), while the
	 * owner doing it is refused (400: a voiding statement cannot be
	 * voided). */
	char own_void[37], p2_void[37], p1_void2[37];
	uuid(own_void);
	voiding_body(body, sizeof body, own_void, F.a_ids[1]);
	ck_assert_int_eq(call_as(PROVIDER, "POST", "/xapi/statements", body, true, &r), 200);
	hc_resp_free(&r);
	snprintf(path, sizeof path, "/xapi/statements?voidedStatementId=%s", F.a_ids[1]);
	ck_assert_int_eq(call_as(PROVIDER, "GET", path, NULL, true, &r), 200);
	hc_resp_free(&r);
	uuid(p2_void);
	voiding_body(body, sizeof body, p2_void, own_void);
	ck_assert_int_eq(call_p2(key2, secret2, "POST", "/xapi/statements", body, &r), 200);
	hc_resp_free(&r);
	uuid(p1_void2);
	voiding_body(body, sizeof body, p1_void2, own_void);
	ck_assert_int_eq(call_as(PROVIDER, "POST", "/xapi/statements", body, true, &r), 400);
	hc_resp_free(&r);
	sodium_free(secret2);
}
END_TEST

Suite *lv_test_suite(void)
{
	Suite *s = suite_create("roles");
	TCase *tc = tcase_create("matrix");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, policies_door);
	tcase_add_test(tc, xapi_door_gate);
	tcase_add_test(tc, learner_door);
	tcase_add_test(tc, audit_door);
	tcase_add_test(tc, aggregate_door);
	tcase_add_test(tc, isolation);
	tcase_add_test(tc, provider_isolation);
	suite_add_tcase(s, tc);
	return s;
}
