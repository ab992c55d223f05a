/* The admin API over loopback HTTP (docs/running.md, "HTTP"): status,
 * learners, tokens, credentials, policies and settings on a live node,
 * each resource's success path and its failures.  Every test runs in its
 * own process (CK_FORK) on a fresh node served on 127.0.0.1 port 0, with
 * the node open in the test as `learnvault serve` holds it. */
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

static struct {
	char base[512];
	char dir[600];
	struct lv_node *node;
	struct lv_server *srv;
	struct hc hc;
	char adm[160], aud[160], lrn[160]; /* bearer tokens */
	char key[LV_CRED_ID_LEN];          /* provider */
	char *secret;
	char learner[LV_PSEUDONYM_LEN];    /* bound to lrn */
} F;

#define EXPECT_STATUS(r, s)                                                              \
	ck_assert_msg((r).status == (s), "expected HTTP %ld, got %ld (curl %d): %s", (long)(s), \
		      (r).status, (int)(r).rc, (r).body ? (r).body : "")

static void token_for(enum lv_role role, const char *learner, char *tok, size_t n)
{
	char id[LV_CRED_ID_LEN];
	char *secret = NULL;
	ck_assert_int_eq(lv_credential_add(F.node, role, learner, NULL, 0, NULL, id, &secret), LV_OK);
	snprintf(tok, n, "%s.%s", id, secret);
	sodium_free(secret);
}

static void setup(void)
{
	char *vkey = NULL;
	bool created;
	snprintf(F.base, sizeof F.base, "%s", th_tmpdir());
	snprintf(F.dir, sizeof F.dir, "%s/node", F.base);
	ck_assert_int_eq(lv_node_init(F.dir, NULL, NULL, &vkey), LV_OK);
	free(vkey);
	ck_assert_int_eq(lv_node_open(F.dir, NULL, NULL, &F.node), LV_OK);
	ck_assert_int_eq(lv_credential_add(F.node, LV_ROLE_PROVIDER, NULL, NULL, 0, "LMS", F.key, &F.secret), LV_OK);
	ck_assert_int_eq(lv_learner_enrol(F.node, "{\"mbox\":\"mailto:alice@example.com\"}", F.learner, &created),
			 LV_OK);
	token_for(LV_ROLE_ADMIN, NULL, F.adm, sizeof F.adm);
	token_for(LV_ROLE_AUDITOR, NULL, F.aud, sizeof F.aud);
	token_for(LV_ROLE_LEARNER, F.learner, F.lrn, sizeof F.lrn);
	struct lv_server_options so = {.host = "127.0.0.1", .port = 0, .threads = 2};
	ck_assert_int_eq(lv_server_start(F.node, &so, &F.srv), LV_OK);
	ck_assert_int_eq(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
	hc_init(&F.hc, lv_server_port(F.srv));
	ck_assert_ptr_nonnull(F.hc.curl);
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

/* ---- helpers ---- */

/* One request with bearer @tok (NULL: none); returns the status. */
static long call(const char *tok, const char *method, const char *path, const char *body, struct hc_resp *r)
{
	struct hc_req rq = {.method = method, .path = path, .body = body, .no_version = true, .bearer = tok};
	return hc_do(&F.hc, &rq, r);
}

/* As the admin. */
static long adm(const char *method, const char *path, const char *body, struct hc_resp *r)
{
	return call(F.adm, method, path, body, r);
}

static cJSON *body_json(const struct hc_resp *r)
{
	cJSON *j = cJSON_ParseWithLength(r->body, r->len);
	ck_assert_msg(j != NULL, "response is not JSON: %s", r->body);
	return j;
}

/* Asserts an error reply: @status, JSON {"error": @code (unless NULL),
 * "message": non-empty}; frees @r. */
static void assert_error(struct hc_resp *r, long status, const char *code)
{
	EXPECT_STATUS(*r, status);
	ck_assert_msg(strncmp(r->content_type, "application/json", 16) == 0, "Content-Type '%s'", r->content_type);
	cJSON *j = body_json(r);
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "message");
	ck_assert_msg(cJSON_IsString(e) && cJSON_IsString(m) && m->valuestring[0], "not an error: %s", r->body);
	if (code)
		ck_assert_str_eq(e->valuestring, code);
	cJSON_Delete(j);
	hc_resp_free(r);
}

/* Expects @method @path @body as the admin to fail with @status. */
static void admin_fails(const char *method, const char *path, const char *body, long status)
{
	struct hc_resp r;
	adm(method, path, body, &r);
	assert_error(&r, status, NULL);
}

static const char *str(const cJSON *o, const char *name)
{
	const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, name));
	ck_assert_msg(s != NULL, "no string %s", name);
	return s;
}

static int64_t learners(void)
{
	int64_t n = 0;
	ck_assert_int_eq(lv_learner_count(F.node, &n), LV_OK);
	return n;
}

static int64_t credentials(void)
{
	int64_t n = 0;
	ck_assert_int_eq(lv_credential_count(F.node, &n), LV_OK);
	return n;
}

/* The newest audit entry's text (static storage). */
static const char *last_entry(void)
{
	static char text[4096];
	cJSON *arr = NULL;
	uint64_t n = lv_audit_size(F.node);
	ck_assert_uint_gt(n, 0);
	ck_assert_int_eq(lv_audit_entries(F.node, n - 1, n, &arr), LV_OK);
	snprintf(text, sizeof text, "%s", cJSON_GetStringValue(cJSON_GetArrayItem(arr, 0)));
	cJSON_Delete(arr);
	return text;
}

/* True when no audit entry contains @needle. */
static bool log_lacks(const char *needle)
{
	cJSON *arr = NULL;
	uint64_t n = lv_audit_size(F.node);
	const cJSON *it;
	bool lacks = true;
	ck_assert_int_eq(lv_audit_entries(F.node, 0, n, &arr), LV_OK);
	cJSON_ArrayForEach(it, arr)
		lacks = lacks && !strstr(cJSON_GetStringValue(it), needle);
	cJSON_Delete(arr);
	return lacks;
}

/* Enrols @body over HTTP expecting @status; the pseudonym into @p. */
static void enrol_http(const char *body, long status, char p[LV_PSEUDONYM_LEN])
{
	struct hc_resp r;
	adm("POST", "/admin/learners", body, &r);
	EXPECT_STATUS(r, status);
	cJSON *j = body_json(&r);
	snprintf(p, LV_PSEUDONYM_LEN, "%s", str(j, "learner"));
	ck_assert(util_pseudonym_valid(p));
	ck_assert(cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(j, "created")));
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "created")) == (status == 201));
	cJSON_Delete(j);
	hc_resp_free(&r);
}

/* POSTs @body to @path as the admin expecting 201 and a presentation
 * with string @field; copies it into @out. */
static void issue_http(const char *path, const char *body, const char *field, char *out, size_t n)
{
	struct hc_resp r;
	adm("POST", path, body, &r);
	EXPECT_STATUS(r, 201);
	cJSON *j = body_json(&r);
	snprintf(out, n, "%s", str(j, field));
	cJSON_Delete(j);
	hc_resp_free(&r);
}

/* ---- authentication and roles ---- */

START_TEST(only_admins)
{
	static const char *const routes[][3] = {
		{"GET", "/admin/status", NULL},
		{"POST", "/admin/learners", "{\"mbox\":\"mailto:x@example.com\"}"},
		{"PUT", "/admin/learners/00000000000000000000000000000000/birth-date", "{\"birth_date\":\"2000-01-01\"}"},
		{"POST", "/admin/learners/00000000000000000000000000000000/tokens", "{\"role\":\"learner\"}"},
		{"GET", "/admin/credentials", NULL},
		{"POST", "/admin/credentials", "{\"role\":\"admin\"}"},
		{"DELETE", "/admin/credentials/nope", NULL},
		{"GET", "/admin/policies", NULL},
		{"POST", "/admin/policies", "{}"},
		{"GET", "/admin/settings", NULL},
		{"PUT", "/admin/settings/auto_enrol", "{\"value\":\"off\"}"},
	};
	int64_t nl = learners(), nc = credentials();
	uint64_t na = lv_audit_size(F.node);
	struct hc_resp r;
	for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
		const char *m = routes[i][0], *p = routes[i][1], *b = routes[i][2];
		call(NULL, m, p, b, &r);
		ck_assert_str_eq(r.www_authenticate[0] ? "set" : "", "set");
		assert_error(&r, 401, "unauthorized");
		call("AAAAAAAAAAAAAAAAAAAAAAAA.wrong", m, p, b, &r);
		assert_error(&r, 401, "unauthorized");
		call(F.lrn, m, p, b, &r);
		assert_error(&r, 403, "forbidden");
		call(F.aud, m, p, b, &r);
		assert_error(&r, 403, "forbidden");
		struct hc_req rq = {.method = m, .path = p, .body = b, .no_version = true, .user = F.key, .pass = F.secret};
		hc_do(&F.hc, &rq, &r);
		assert_error(&r, 403, "forbidden");
	}
	/* Nothing ran. */
	ck_assert_int_eq(learners(), nl);
	ck_assert_int_eq(credentials(), nc);
	ck_assert_uint_eq(lv_audit_size(F.node), na);
	char *v = NULL;
	ck_assert_int_eq(lv_node_setting_get(F.node, "auto_enrol", &v), LV_OK);
	ck_assert_str_eq(v, "on");
	free(v);
	admin_fails("GET", "/admin/nothing", NULL, 404);
	admin_fails("GET", "/admin/status?x=1", NULL, 400);
}
END_TEST

/* ---- status ---- */

static cJSON *status(void)
{
	struct hc_resp r;
	adm("GET", "/admin/status", NULL, &r);
	EXPECT_STATUS(r, 200);
	cJSON *j = body_json(&r);
	hc_resp_free(&r);
	return j;
}

static double num(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	ck_assert_msg(cJSON_IsNumber(v), "no number %s", name);
	return v->valuedouble;
}

START_TEST(status_counts_move)
{
	cJSON *a = status();
	ck_assert_str_eq(str(a, "origin"), lv_node_origin(F.node));
	ck_assert_str_eq(str(a, "origin"), "learnvault.local/node");
	ck_assert_uint_gt(strlen(str(a, "version")), 0);
	int64_t ms = 0;
	ck_assert(util_time_parse(str(a, "started"), &ms));
	ck_assert(ms > 0 && ms <= util_now_ms());
	ck_assert(num(a, "learners") == 1);
	ck_assert(num(a, "credentials") == 4); /* provider, admin, auditor, learner */
	ck_assert(num(a, "policies") == 0);
	ck_assert(num(a, "audit_size") == (double)lv_audit_size(F.node));

	char p[LV_PSEUDONYM_LEN], tok[160], text_id[64];
	enrol_http("{\"mbox\":\"mailto:bob@example.com\"}", 201, p);
	issue_http("/admin/credentials", "{\"role\":\"auditor\"}", "id", text_id, sizeof text_id);
	char *text = NULL;
	size_t len = 0;
	ck_assert_int_eq(util_read_file(th_src("policies/course-improvement.json"), 65536, &text, &len), LV_OK);
	issue_http("/admin/policies", text, "id", tok, sizeof tok);
	free(text);
	cJSON *b = status();
	ck_assert(num(b, "learners") == 2);
	ck_assert(num(b, "credentials") == 5);
	ck_assert(num(b, "policies") == 1);
	/* Enrolment, credential and policy are each logged. */
	ck_assert(num(b, "audit_size") >= num(a, "audit_size") + 3);
	ck_assert(num(b, "audit_size") == (double)lv_audit_size(F.node));
	ck_assert_str_eq(str(b, "started"), str(a, "started"));
	/* A revoked credential no longer counts. */
	struct hc_resp r;
	char path[128];
	snprintf(path, sizeof path, "/admin/credentials/%s", text_id);
	adm("DELETE", path, NULL, &r);
	EXPECT_STATUS(r, 204);
	hc_resp_free(&r);
	cJSON *c = status();
	ck_assert(num(c, "credentials") == 4);
	cJSON_Delete(a);
	cJSON_Delete(b);
	cJSON_Delete(c);
	admin_fails("POST", "/admin/status", "{}", 405);
}
END_TEST

/* ---- learners ---- */

START_TEST(learners_enrol)
{
	char p[LV_PSEUDONYM_LEN], q[LV_PSEUDONYM_LEN], s[LV_PSEUDONYM_LEN];
	enrol_http("{\"mbox\":\"mailto:bob@example.com\",\"name\":\"Bob\"}", 201, p);
	ck_assert_str_ne(p, F.learner);
	/* The same identifier again: the same learner, 200. */
	enrol_http("{\"mbox\":\"mailto:bob@example.com\"}", 200, q);
	ck_assert_str_eq(p, q);
	enrol_http("{\"mbox\":\"mailto:alice@example.com\"}", 200, q);
	ck_assert_str_eq(q, F.learner);
	enrol_http("{\"account\":{\"homePage\":\"https://lms.example.org\",\"name\":\"u42\"}}", 201, q);
	ck_assert_str_ne(q, p);
	/* With a birth date: set, and logged as the CLI logs it. */
	enrol_http("{\"mbox\":\"mailto:carol@example.com\",\"birth_date\":\"2012-05-01\"}", 201, s);
	const char *e = last_entry();
	ck_assert_msg(strstr(e, "\"birth_date\"") && strstr(e, s) && strstr(e, "2012-05-01"), "%s", e);
	ck_assert_int_eq(learners(), 4);

	/* Bad input changes nothing. */
	uint64_t na = lv_audit_size(F.node);
	static const char *const bad[] = {
		"{\"mbox\":",                                                      /* not JSON */
		"[]",                                                              /* not an object */
		"{}",                                                              /* no identifier */
		"{\"mbox\":\"mailto:d@example.com\",\"account\":{\"homePage\":\"https://x.example\",\"name\":\"d\"}}",
		"{\"mbox\":\"d@example.com\"}",                                    /* not mailto: */
		"{\"mbox\":42}",
		"{\"account\":{\"homePage\":\"https://x.example\"}}",
		"{\"mbox\":\"mailto:d@example.com\",\"role\":\"admin\"}",          /* unknown field */
		"{\"mbox\":\"mailto:d@example.com\",\"birth_date\":\"2012-13-01\"}", /* bad date: no enrolment */
		"{\"mbox\":\"mailto:d@example.com\",\"birth_date\":\"1.1.2012\"}",
		"{\"mbox\":\"mailto:d@example.com\",\"name\":7}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		admin_fails("POST", "/admin/learners", bad[i], 400);
	ck_assert_int_eq(learners(), 4);
	ck_assert_uint_eq(lv_audit_size(F.node), na);
	admin_fails("GET", "/admin/learners", NULL, 405);
}
END_TEST

START_TEST(learners_birth_date)
{
	char path[160];
	struct hc_resp r;
	snprintf(path, sizeof path, "/admin/learners/%s/birth-date", F.learner);
	adm("PUT", path, "{\"birth_date\":\"2011-02-03\"}", &r);
	EXPECT_STATUS(r, 204);
	ck_assert_uint_eq(r.len, 0);
	hc_resp_free(&r);
	const char *e = last_entry();
	ck_assert_msg(strstr(e, "\"type\":\"birth_date\"") && strstr(e, F.learner) && strstr(e, "2011-02-03"), "%s", e);
	uint64_t na = lv_audit_size(F.node);
	admin_fails("PUT", path, "{\"birth_date\":\"2011-02-30x\"}", 400);
	admin_fails("PUT", path, "{\"birth_date\":\"1899-12-31\"}", 400);
	admin_fails("PUT", path, "{\"birth_date\":20110203}", 400);
	admin_fails("PUT", path, "{\"birth_date\":\"2011-02-03\",\"x\":1}", 400);
	admin_fails("PUT", path, "{", 400);
	admin_fails("PUT", path, "{}", 400);
	admin_fails("POST", path, "{\"birth_date\":\"2011-02-03\"}", 405);
	admin_fails("PUT", "/admin/learners/0123456789abcdef0123456789abcdef/birth-date",
		    "{\"birth_date\":\"2011-02-03\"}", 404);
	admin_fails("PUT", "/admin/learners/not-a-pseudonym/birth-date", "{\"birth_date\":\"2011-02-03\"}", 404);
	snprintf(path, sizeof path, "/admin/learners/%s/other", F.learner);
	admin_fails("PUT", path, "{\"birth_date\":\"2011-02-03\"}", 404);
	ck_assert_uint_eq(lv_audit_size(F.node), na);
}
END_TEST

/* A learner enrolled over HTTP, a token issued over HTTP: the provider's
 * statements reach them, and the token opens their door. */
START_TEST(learner_tokens_work)
{
	char p[LV_PSEUDONYM_LEN], path[160], tok[160], gtok[160];
	enrol_http("{\"mbox\":\"mailto:dora@example.com\"}", 201, p);
	snprintf(path, sizeof path, "/admin/learners/%s/tokens", p);
	struct hc_resp r;
	adm("POST", path, "{\"role\":\"learner\",\"label\":\"Dora's laptop\"}", &r);
	EXPECT_STATUS(r, 201);
	cJSON *j = body_json(&r);
	ck_assert_int_eq(cJSON_GetArraySize(j), 2);
	snprintf(tok, sizeof tok, "%s", str(j, "token"));
	const char *id = str(j, "id");
	ck_assert(strncmp(tok, id, strlen(id)) == 0 && tok[strlen(id)] == '.');
	/* Logged as the CLI logs it; the secret never. */
	const char *e = last_entry();
	ck_assert_msg(strstr(e, "\"credential\"") && strstr(e, id) && strstr(e, p), "%s", e);
	ck_assert(log_lacks(tok + strlen(id) + 1));
	cJSON_Delete(j);
	hc_resp_free(&r);
	issue_http(path, "{\"role\":\"guardian\"}", "token", gtok, sizeof gtok);

	char stmt[512];
	snprintf(stmt, sizeof stmt,
		 "{\"actor\":{\"objectType\":\"Agent\",\"mbox\":\"mailto:dora@example.com\"},"
		 "\"verb\":{\"id\":\"http://adlnet.gov/expapi/verbs/completed\",\"display\":{\"en-US\":\"completed\"}},"
		 "\"object\":{\"objectType\":\"Activity\",\"id\":\"http://example.com/act/admin\"}}");
	struct hc_req rq = {.path = "/xapi/statements", .body = stmt, .user = F.key, .pass = F.secret};
	ck_assert_int_eq(hc_do(&F.hc, &rq, &r), 200);
	hc_resp_free(&r);
	ck_assert_int_eq(call(tok, "GET", "/learner/statements", NULL, &r), 200);
	j = body_json(&r);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "statements")), 1);
	cJSON_Delete(j);
	hc_resp_free(&r);
	ck_assert_int_eq(call(tok, "GET", "/learner/consents", NULL, &r), 200);
	hc_resp_free(&r);
	ck_assert_int_eq(call(gtok, "GET", "/learner/consents", NULL, &r), 200);
	hc_resp_free(&r);
	/* A learner token is not an admin's. */
	call(tok, "GET", "/admin/status", NULL, &r);
	assert_error(&r, 403, "forbidden");

	int64_t nc = credentials();
	admin_fails("POST", path, "{\"role\":\"admin\"}", 400);
	admin_fails("POST", path, "{\"role\":\"wizard\"}", 400);
	admin_fails("POST", path, "{}", 400);
	admin_fails("POST", path, "{\"role\":\"learner\",\"purposes\":[\"x\"]}", 400);
	admin_fails("POST", path, "{\"role\":", 400);
	admin_fails("POST", "/admin/learners/0123456789abcdef0123456789abcdef/tokens", "{\"role\":\"learner\"}", 404);
	admin_fails("GET", path, NULL, 405);
	ck_assert_int_eq(credentials(), nc);
}
END_TEST

/* ---- credentials ---- */

/* The entry of credential @id in GET /admin/credentials (a copy). */
static cJSON *listed(const char *id)
{
	struct hc_resp r;
	adm("GET", "/admin/credentials", NULL, &r);
	EXPECT_STATUS(r, 200);
	cJSON *arr = body_json(&r), *it, *found = NULL;
	ck_assert(cJSON_IsArray(arr));
	cJSON_ArrayForEach(it, arr)
		if (strcmp(str(it, "id"), id) == 0)
			found = cJSON_Duplicate(it, true);
	ck_assert_ptr_null(strstr(r.body, "secret"));
	cJSON_Delete(arr);
	hc_resp_free(&r);
	return found;
}

START_TEST(credentials_add_and_list)
{
	struct hc_resp r;
	adm("POST", "/admin/credentials",
	    "{\"role\":\"analyst\",\"purposes\":[\"course-improvement\"],\"label\":\"school analyst\"}", &r);
	EXPECT_STATUS(r, 201);
	cJSON *j = body_json(&r);
	ck_assert_str_eq(str(j, "role"), "analyst");
	char id[LV_CRED_ID_LEN], tok[160];
	snprintf(id, sizeof id, "%s", str(j, "id"));
	snprintf(tok, sizeof tok, "%s", str(j, "token"));
	cJSON_Delete(j);
	hc_resp_free(&r);
	cJSON *l = listed(id);
	ck_assert_ptr_nonnull(l);
	ck_assert_str_eq(str(l, "role"), "analyst");
	ck_assert_str_eq(str(l, "label"), "school analyst");
	ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(l, "purposes"), 0)),
			 "course-improvement");
	cJSON_Delete(l);
	ck_assert(log_lacks(strchr(tok, '.') + 1));
	/* The analyst token authenticates: the aggregate door answers it
	 * (not 401), and the admin door refuses it. */
	ck_assert_int_ne(call(tok, "POST", "/aggregate", "{}", &r), 401);
	hc_resp_free(&r);
	call(tok, "GET", "/admin/credentials", NULL, &r);
	assert_error(&r, 403, "forbidden");

	/* A provider: key and secret for HTTP Basic. */
	adm("POST", "/admin/credentials", "{\"role\":\"provider\",\"label\":\"LMS 2\"}", &r);
	EXPECT_STATUS(r, 201);
	j = body_json(&r);
	ck_assert_str_eq(str(j, "id"), str(j, "key"));
	ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(j, "token"));
	hc_resp_free(&r);
	struct hc_req rq = {.path = "/xapi/statements", .user = str(j, "key"), .pass = str(j, "secret")};
	ck_assert_int_eq(hc_do(&F.hc, &rq, &r), 200);
	hc_resp_free(&r);
	cJSON_Delete(j);
	/* A learner credential bound to an enrolled learner; an admin. */
	char lt[160], at[160];
	char body[128];
	snprintf(body, sizeof body, "{\"role\":\"learner\",\"learner\":\"%s\"}", F.learner);
	issue_http("/admin/credentials", body, "token", lt, sizeof lt);
	ck_assert_int_eq(call(lt, "GET", "/learner/consents", NULL, &r), 200);
	hc_resp_free(&r);
	issue_http("/admin/credentials", "{\"role\":\"admin\"}", "token", at, sizeof at);
	ck_assert_int_eq(call(at, "GET", "/admin/status", NULL, &r), 200);
	hc_resp_free(&r);

	int64_t nc = credentials();
	uint64_t na = lv_audit_size(F.node);
	snprintf(body, sizeof body, "{\"role\":\"auditor\",\"learner\":\"%s\"}", F.learner);
	static const char *const bad[] = {
		"{\"role\":", "\"admin\"", "{}", "{\"role\":\"wizard\"}", "{\"role\":5}",
		"{\"role\":\"learner\"}",                                  /* unbound */
		"{\"role\":\"auditor\",\"purposes\":[\"course-improvement\"]}",
		"{\"role\":\"analyst\",\"purposes\":\"course-improvement\"}",
		"{\"role\":\"analyst\",\"purposes\":[1]}",
		"{\"role\":\"admin\",\"secret\":\"mine\"}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		admin_fails("POST", "/admin/credentials", bad[i], 400);
	admin_fails("POST", "/admin/credentials", body, 400);
	char label[300];
	memset(label, 'x', 250);
	label[250] = 0;
	char big[400];
	snprintf(big, sizeof big, "{\"role\":\"admin\",\"label\":\"%s\"}", label);
	admin_fails("POST", "/admin/credentials", big, 400);
	admin_fails("POST", "/admin/credentials", "{\"role\":\"guardian\",\"learner\":\"0123456789abcdef0123456789abcdef\"}", 404);
	admin_fails("POST", "/admin/credentials", "{\"role\":\"learner\",\"learner\":\"nobody\"}", 404);
	admin_fails("PUT", "/admin/credentials", "{}", 405);
	ck_assert_int_eq(credentials(), nc);
	ck_assert_uint_eq(lv_audit_size(F.node), na);
}
END_TEST

START_TEST(credentials_revoke)
{
	char id[LV_CRED_ID_LEN], tok[160], path[96];
	struct hc_resp r;
	adm("POST", "/admin/credentials", "{\"role\":\"auditor\"}", &r);
	EXPECT_STATUS(r, 201);
	cJSON *j = body_json(&r);
	snprintf(id, sizeof id, "%s", str(j, "id"));
	snprintf(tok, sizeof tok, "%s", str(j, "token"));
	cJSON_Delete(j);
	hc_resp_free(&r);
	ck_assert_int_eq(call(tok, "GET", "/audit/key", NULL, &r), 200);
	hc_resp_free(&r);
	snprintf(path, sizeof path, "/admin/credentials/%s", id);
	adm("DELETE", path, NULL, &r);
	EXPECT_STATUS(r, 204);
	hc_resp_free(&r);
	const char *e = last_entry();
	ck_assert_msg(strstr(e, "\"revoke\"") && strstr(e, id), "%s", e);
	/* It stops working at once, and the list says so. */
	call(tok, "GET", "/audit/key", NULL, &r);
	assert_error(&r, 401, "unauthorized");
	cJSON *l = listed(id);
	ck_assert_ptr_nonnull(cJSON_GetObjectItemCaseSensitive(l, "revoked"));
	cJSON_Delete(l);
	/* Twice, unknown, too long: 404; the other credentials still work. */
	admin_fails("DELETE", path, NULL, 404);
	admin_fails("DELETE", "/admin/credentials/AAAAAAAAAAAAAAAAAAAAAAAA", NULL, 404);
	admin_fails("DELETE", "/admin/credentials/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NULL, 404);
	admin_fails("GET", path, NULL, 405);
	admin_fails("DELETE", "/admin/credentials/x/y", NULL, 404);
	ck_assert_int_eq(call(F.aud, "GET", "/audit/key", NULL, &r), 200);
	hc_resp_free(&r);
}
END_TEST

/* ---- policies ---- */

START_TEST(policies_load)
{
	char *text = NULL;
	size_t len = 0;
	struct hc_resp r;
	ck_assert_int_eq(util_read_file(th_src("policies/course-improvement.json"), 65536, &text, &len), LV_OK);
	adm("GET", "/admin/policies", NULL, &r);
	EXPECT_STATUS(r, 200);
	ck_assert_str_eq(r.body, "[]");
	hc_resp_free(&r);
	adm("POST", "/admin/policies", text, &r);
	EXPECT_STATUS(r, 201);
	cJSON *j = body_json(&r);
	ck_assert_str_eq(str(j, "id"), "course-improvement");
	ck_assert(num(j, "version") == 1);
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "added")));
	cJSON_Delete(j);
	hc_resp_free(&r);
	ck_assert_ptr_nonnull(strstr(last_entry(), "course-improvement"));
	/* Public at /policies, and in the admin's list. */
	ck_assert_int_eq(call(NULL, "GET", "/policies", NULL, &r), 200);
	j = body_json(&r);
	ck_assert_int_eq(cJSON_GetArraySize(j), 1);
	ck_assert_str_eq(str(cJSON_GetArrayItem(j, 0), "id"), "course-improvement");
	cJSON_Delete(j);
	hc_resp_free(&r);
	adm("GET", "/admin/policies", NULL, &r);
	EXPECT_STATUS(r, 200);
	ck_assert_ptr_nonnull(strstr(r.body, "course-improvement"));
	hc_resp_free(&r);
	/* The same file again: 200, unchanged. */
	uint64_t na = lv_audit_size(F.node);
	adm("POST", "/admin/policies", text, &r);
	EXPECT_STATUS(r, 200);
	j = body_json(&r);
	ck_assert(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(j, "added")));
	cJSON_Delete(j);
	hc_resp_free(&r);
	/* Another text under the same version: 409; not a policy: 400. */
	char *changed = strdup(text);
	char *t = strstr(changed, "Help improve our courses");
	ck_assert_ptr_nonnull(t);
	t[0] = 'h';
	admin_fails("POST", "/admin/policies", changed, 409);
	admin_fails("POST", "/admin/policies", "{\"id\":", 400);
	admin_fails("POST", "/admin/policies", "{\"id\":\"x\"}", 400);
	admin_fails("POST", "/admin/policies", "", 400);
	admin_fails("DELETE", "/admin/policies", NULL, 405);
	admin_fails("GET", "/admin/policies/course-improvement", NULL, 404);
	ck_assert_uint_eq(lv_audit_size(F.node), na);
	ck_assert_int_eq(call(NULL, "GET", "/policies", NULL, &r), 200);
	ck_assert_ptr_null(strstr(r.body, "help improve"));
	hc_resp_free(&r);
	free(changed);
	free(text);
}
END_TEST

/* ---- settings ---- */

static cJSON *settings(void)
{
	struct hc_resp r;
	adm("GET", "/admin/settings", NULL, &r);
	EXPECT_STATUS(r, 200);
	cJSON *j = body_json(&r);
	ck_assert(cJSON_IsObject(j));
	hc_resp_free(&r);
	return j;
}

START_TEST(settings_set_and_read_back)
{
	cJSON *s = settings();
	ck_assert_str_eq(str(s, "auto_enrol"), "on");
	ck_assert_str_eq(str(s, "max_body_bytes"), "16777216");
	ck_assert_str_eq(str(s, "origin"), "learnvault.local/node");
	ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(s, "aggregate_time_quantum_ms"));
	cJSON_Delete(s);
	struct hc_resp r;
	adm("PUT", "/admin/settings/aggregate_time_quantum_ms", "{\"value\":\"0\"}", &r);
	EXPECT_STATUS(r, 204);
	hc_resp_free(&r);
	adm("PUT", "/admin/settings/auto_enrol", "{\"value\":\"off\"}", &r);
	EXPECT_STATUS(r, 204);
	hc_resp_free(&r);
	s = settings();
	ck_assert_str_eq(str(s, "aggregate_time_quantum_ms"), "0");
	ck_assert_str_eq(str(s, "auto_enrol"), "off");
	cJSON_Delete(s);
	char *v = NULL;
	ck_assert_int_eq(lv_node_setting_get(F.node, "auto_enrol", &v), LV_OK);
	ck_assert_str_eq(v, "off");
	free(v);
	/* It takes effect on the live node: an unknown actor is refused. */
	const char *stmt = "{\"actor\":{\"mbox\":\"mailto:eve@example.com\"},"
			   "\"verb\":{\"id\":\"http://adlnet.gov/expapi/verbs/completed\"},"
			   "\"object\":{\"id\":\"http://example.com/act/admin\"}}";
	struct hc_req rq = {.path = "/xapi/statements", .body = stmt, .user = F.key, .pass = F.secret};
	ck_assert_int_eq(hc_do(&F.hc, &rq, &r), 403);
	hc_resp_free(&r);

	admin_fails("PUT", "/admin/settings/auto_enrol", "{\"value\":\"maybe\"}", 400);
	admin_fails("PUT", "/admin/settings/max_body_bytes", "{\"value\":\"12\"}", 400);
	admin_fails("PUT", "/admin/settings/origin", "{\"value\":\"elsewhere\"}", 400);
	admin_fails("PUT", "/admin/settings/no_such_setting", "{\"value\":\"1\"}", 400);
	admin_fails("PUT", "/admin/settings/auto_enrol", "{\"value\":true}", 400);
	admin_fails("PUT", "/admin/settings/auto_enrol", "{\"value\":\"on\",\"x\":1}", 400);
	admin_fails("PUT", "/admin/settings/auto_enrol", "{\"value\"", 400);
	admin_fails("PUT", "/admin/settings/auto_enrol", "{}", 400);
	admin_fails("GET", "/admin/settings/auto_enrol", NULL, 405);
	admin_fails("PUT", "/admin/settings", "{\"auto_enrol\":\"on\"}", 405);
	admin_fails("PUT", "/admin/settings/auto_enrol/x", "{\"value\":\"on\"}", 404);
	s = settings();
	ck_assert_str_eq(str(s, "auto_enrol"), "off");
	ck_assert_str_eq(str(s, "max_body_bytes"), "16777216");
	ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(s, "no_such_setting"));
	ck_assert_str_eq(str(s, "origin"), "learnvault.local/node");
	cJSON_Delete(s);
}
END_TEST

Suite *lv_test_suite(void)
{
	Suite *s = suite_create("admin");
	struct {
		const char *name;
		const TTest *test;
	} cases[] = {
		{"roles", only_admins},
		{"status", status_counts_move},
		{"learners", learners_enrol},
		{"birth_date", learners_birth_date},
		{"tokens", learner_tokens_work},
		{"credentials", credentials_add_and_list},
		{"revoke", credentials_revoke},
		{"policies", policies_load},
		{"settings", settings_set_and_read_back},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		TCase *tc = tcase_create(cases[i].name);
		tcase_add_checked_fixture(tc, setup, teardown);
		tcase_set_timeout(tc, 120);
		tcase_add_test(tc, cases[i].test);
		suite_add_tcase(s, tc);
	}
	return s;
}
