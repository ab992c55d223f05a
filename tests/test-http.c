/* The xAPI server over loopback HTTP: a real lv_server on 127.0.0.1, port
 * chosen by the kernel, spoken to with libcurl.  One TCase per feature. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "harness.h"
#include "learnvault/audit.h"
#include "learnvault/auditlog.h"
#include "learnvault/consent.h"
#include "learnvault/util.h"
#include "http-client.h"
#include "learnvault/node.h"
#include "learnvault/server.h"
#include "learnvault/statements.h"
#include "learnvault/vault.h"

#define VERB(v) "http://adlnet.gov/expapi/verbs/" v
#define ACT(a) "http://example.com/act/" a

/* The node and server of the running test (each test runs in its own
 * process: CK_FORK). */
static struct {
	char base[512];
	char dir[600];
	struct lv_node *node;
	struct lv_server *srv;
	struct hc hc;
	char key[LV_CRED_ID_LEN];
	char *secret;
} F;

static void start(size_t max_body)
{
	char *vkey = NULL;
	snprintf(F.base, sizeof F.base, "%s", th_tmpdir());
	snprintf(F.dir, sizeof F.dir, "%s/node", F.base);
	ck_assert_int_eq(lv_node_init(F.dir, NULL, NULL, &vkey), LV_OK);
	free(vkey);
	ck_assert_int_eq(lv_node_open(F.dir, NULL, NULL, &F.node), LV_OK);
	ck_assert_int_eq(lv_credential_add(F.node, LV_ROLE_PROVIDER, NULL, NULL, 0, "LMS A", F.key,
					   &F.secret), LV_OK);
	struct lv_server_options so = {.host = "127.0.0.1", .port = 0, .threads = 2,
				       .max_body_bytes = max_body};
	ck_assert_int_eq(lv_server_start(F.node, &so, &F.srv), LV_OK);
	ck_assert_uint_ne(lv_server_port(F.srv), 0);
	ck_assert_int_eq(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
	hc_init(&F.hc, lv_server_port(F.srv));
	ck_assert_ptr_nonnull(F.hc.curl);
}

static void setup(void)
{
	start(0);
}

static void setup_small_cap(void)
{
	start(4096);
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

#define EXPECT_STATUS(r, s)                                                              \
	ck_assert_msg((r).status == (s), "expected HTTP %ld, got %ld (curl %d): %s", (long)(s), \
		      (r).status, (int)(r).rc, (r).body ? (r).body : "")

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

/* A statement: actor mailto:<who>@example.com, verb VERB(<verb>), object
 * ACT(<act>).  @id NULL: no id.  Caller cJSON_Deletes. */
static cJSON *stmt_json(const char *id, const char *who, const char *verb, const char *act)
{
	char buf[256];
	cJSON *s = cJSON_CreateObject();
	if (id)
		cJSON_AddStringToObject(s, "id", id);
	cJSON *a = cJSON_AddObjectToObject(s, "actor");
	cJSON_AddStringToObject(a, "objectType", "Agent");
	snprintf(buf, sizeof buf, "mailto:%s@example.com", who);
	cJSON_AddStringToObject(a, "mbox", buf);
	cJSON *v = cJSON_AddObjectToObject(s, "verb");
	snprintf(buf, sizeof buf, VERB("%s"), verb);
	cJSON_AddStringToObject(v, "id", buf);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(v, "display"), "en-US", verb);
	cJSON *o = cJSON_AddObjectToObject(s, "object");
	cJSON_AddStringToObject(o, "objectType", "Activity");
	snprintf(buf, sizeof buf, ACT("%s"), act);
	cJSON_AddStringToObject(o, "id", buf);
	return s;
}

static char *json_text(cJSON *j)
{
	char *t = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	ck_assert_ptr_nonnull(t);
	return t;
}

static char *stmt(const char *id, const char *who, const char *verb, const char *act)
{
	return json_text(stmt_json(id, who, verb, act));
}

/* As provider A unless @user is given. */
static long call_as(const char *user, const char *pass, const char *method, const char *path,
		    const char *body, struct hc_resp *r)
{
	struct hc_req rq = {.method = method, .path = path, .body = body, .user = user, .pass = pass};
	return hc_do(&F.hc, &rq, r);
}

static long call(const char *method, const char *path, const char *body, struct hc_resp *r)
{
	return call_as(F.key, F.secret, method, path, body, r);
}

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

/* POSTs @body (JSON text, freed) as provider A; asserts 200 and returns the
 * id array. */
static cJSON *post_ok(char *body)
{
	struct hc_resp r;
	call("POST", "/xapi/statements", body, &r);
	free(body);
	EXPECT_STATUS(r, 200);
	cJSON *ids = body_json(&r);
	ck_assert(cJSON_IsArray(ids));
	hc_resp_free(&r);
	return ids;
}

/* GET ?statementId=@id (or voidedStatementId) as @user; returns the status
 * and, on 200, the statement in *@out (may be NULL). */
static long get_by_id_as(const char *user, const char *pass, const char *id, bool voided, cJSON **out)
{
	char path[256];
	struct hc_resp r;
	snprintf(path, sizeof path, "/xapi/statements?%s=%s", voided ? "voidedStatementId" : "statementId", id);
	long s = call_as(user, pass, "GET", path, NULL, &r);
	ck_assert_msg(r.rc == CURLE_OK, "GET %s: curl %d", path, (int)r.rc);
	if (s == 200) {
		cJSON *j = body_json(&r);
		const cJSON *jid = cJSON_GetObjectItemCaseSensitive(j, "id");
		ck_assert(cJSON_IsString(jid));
		ck_assert_str_eq(jid->valuestring, id);
		if (out)
			*out = j;
		else
			cJSON_Delete(j);
	} else {
		assert_error(&r, s, NULL);
	}
	hc_resp_free(&r);
	return s;
}

static long get_by_id(const char *id, bool voided, cJSON **out)
{
	return get_by_id_as(F.key, F.secret, id, voided, out);
}

static const char *str_at(const cJSON *o, const char *a, const char *b)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, a);
	if (b)
		x = cJSON_GetObjectItemCaseSensitive(x, b);
	return cJSON_IsString(x) ? x->valuestring : NULL;
}

/* Runs GET /xapi/statements?@params as @user and returns the statements
 * array (caller deletes); asserts 200 and an empty "more". */
static cJSON *query_as(const char *user, const char *pass, const char *params)
{
	char path[4096];
	struct hc_resp r;
	snprintf(path, sizeof path, "/xapi/statements%s%s", params[0] ? "?" : "", params);
	call_as(user, pass, "GET", path, NULL, &r);
	EXPECT_STATUS(r, 200);
	cJSON *res = body_json(&r);
	const cJSON *more = cJSON_GetObjectItemCaseSensitive(res, "more");
	ck_assert_msg(cJSON_IsString(more) && more->valuestring[0] == '\0', "unexpected more in %s", r.body);
	cJSON *arr = cJSON_DetachItemFromObjectCaseSensitive(res, "statements");
	ck_assert(cJSON_IsArray(arr));
	cJSON_Delete(res);
	hc_resp_free(&r);
	return arr;
}

/* Asserts that the query returns exactly the statements named by the ids
 * in @expected (NULL-terminated), in any order. */
static void assert_query(const char *params, const char *const *expected)
{
	cJSON *arr = query_as(F.key, F.secret, params);
	size_t n = 0;
	while (expected[n])
		n++;
	ck_assert_msg((size_t)cJSON_GetArraySize(arr) == n, "query '%s': %d statements, expected %zu",
		      params, cJSON_GetArraySize(arr), n);
	const cJSON *s;
	cJSON_ArrayForEach(s, arr) {
		const char *id = str_at(s, "id", NULL);
		ck_assert_ptr_nonnull(id);
		bool found = false;
		for (size_t i = 0; i < n; i++)
			found |= strcmp(expected[i], id) == 0;
		ck_assert_msg(found, "query '%s' returned unexpected statement %s", params, id);
	}
	cJSON_Delete(arr);
}

/* "name=value&" with value percent-encoded, appended to @out. */
static void param(char *out, size_t len, const char *name, const char *value)
{
	char *e = hc_escape(value);
	ck_assert_ptr_nonnull(e);
	size_t l = strlen(out);
	snprintf(out + l, len - l, "%s%s=%s", l ? "&" : "", name, e);
	curl_free(e);
}

static int64_t learners(void)
{
	int64_t n = -1;
	ck_assert_int_eq(lv_learner_count(F.node, &n), LV_OK);
	return n;
}

/* Vault files (vaults/<pseudonym>.db) present in the node directory. */
static int vault_files(void)
{
	char p[700];
	snprintf(p, sizeof p, "%s/vaults", F.dir);
	DIR *d = opendir(p);
	ck_assert_ptr_nonnull(d);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (l > 3 && strcmp(e->d_name + l - 3, ".db") == 0)
			n++;
	}
	closedir(d);
	return n;
}

/* ---- round trips ---- */

START_TEST(post_one_and_get_it)
{
	struct hc_resp r;
	char *body = stmt(NULL, "alice", "experienced", "intro");
	call("POST", "/xapi/statements", body, &r);
	free(body);
	EXPECT_STATUS(r, 200);
	ck_assert_str_eq(r.version, "1.0.3");
	cJSON *ids = body_json(&r);
	hc_resp_free(&r);
	ck_assert_int_eq(cJSON_GetArraySize(ids), 1);
	const cJSON *id = cJSON_GetArrayItem(ids, 0);
	ck_assert(cJSON_IsString(id));
	ck_assert_uint_eq(strlen(id->valuestring), 36);

	cJSON *s = NULL;
	ck_assert_int_eq(get_by_id(id->valuestring, false, &s), 200);
	const char *stored = str_at(s, "stored", NULL);
	ck_assert_ptr_nonnull(stored);
	ck_assert_int_eq(stored[strlen(stored) - 1], 'Z');
	ck_assert_ptr_nonnull(str_at(s, "timestamp", NULL));
	const char *version = str_at(s, "version", NULL);
	ck_assert_ptr_nonnull(version);
	ck_assert_int_eq(strncmp(version, "1.0", 3), 0);
	const cJSON *auth = cJSON_GetObjectItemCaseSensitive(s, "authority");
	ck_assert(cJSON_IsObject(auth));
	ck_assert_str_eq(str_at(auth, "objectType", NULL), "Agent");
	ck_assert_str_eq(str_at(cJSON_GetObjectItemCaseSensitive(auth, "account"), "name", NULL), F.key);
	ck_assert_str_eq(str_at(s, "actor", "mbox"), "mailto:alice@example.com");
	ck_assert_str_eq(str_at(s, "verb", "id"), VERB("experienced"));
	ck_assert_str_eq(str_at(s, "object", "id"), ACT("intro"));
	cJSON_Delete(s);
	cJSON_Delete(ids);
}
END_TEST

START_TEST(put_with_statement_id)
{
	char id[37], path[128];
	struct hc_resp r;
	uuid(id);
	snprintf(path, sizeof path, "/xapi/statements?statementId=%s", id);
	char *body = stmt(NULL, "alice", "completed", "intro");
	call("PUT", path, body, &r);
	EXPECT_STATUS(r, 204);
	ck_assert_uint_eq(r.len, 0);
	hc_resp_free(&r);
	cJSON *s = NULL;
	ck_assert_int_eq(get_by_id(id, false, &s), 200);
	ck_assert_str_eq(str_at(s, "verb", "id"), VERB("completed"));
	ck_assert_str_eq(str_at(cJSON_GetObjectItemCaseSensitive(s, "authority"), "account", "name"), F.key);
	cJSON_Delete(s);
	/* The same statement again is accepted and not stored twice. */
	call("PUT", path, body, &r);
	EXPECT_STATUS(r, 204);
	hc_resp_free(&r);
	free(body);
	cJSON *all = query_as(F.key, F.secret, "");
	ck_assert_int_eq(cJSON_GetArraySize(all), 1);
	cJSON_Delete(all);
	/* PUT without statementId is refused. */
	body = stmt(NULL, "alice", "completed", "intro");
	call("PUT", "/xapi/statements", body, &r);
	free(body);
	assert_error(&r, 400, NULL);
	hc_resp_free(&r);
}
END_TEST

START_TEST(post_batch_of_three)
{
	cJSON *batch = cJSON_CreateArray();
	cJSON_AddItemToArray(batch, stmt_json(NULL, "alice", "attempted", "b1"));
	cJSON_AddItemToArray(batch, stmt_json(NULL, "bob", "attempted", "b2"));
	cJSON_AddItemToArray(batch, stmt_json(NULL, "carol", "attempted", "b3"));
	cJSON *ids = post_ok(json_text(batch));
	ck_assert_int_eq(cJSON_GetArraySize(ids), 3);
	const char *who[] = {"mailto:alice@example.com", "mailto:bob@example.com", "mailto:carol@example.com"};
	for (int i = 0; i < 3; i++) {
		const char *id = cJSON_GetArrayItem(ids, i)->valuestring;
		for (int k = 0; k < i; k++)
			ck_assert_str_ne(id, cJSON_GetArrayItem(ids, k)->valuestring);
		cJSON *s = NULL;
		ck_assert_int_eq(get_by_id(id, false, &s), 200);
		ck_assert_str_eq(str_at(s, "actor", "mbox"), who[i]);
		cJSON_Delete(s);
	}
	cJSON_Delete(ids);

	/* Ids given by the client come back in batch order. */
	char a[37], b[37], c[37];
	uuid(a), uuid(b), uuid(c);
	batch = cJSON_CreateArray();
	cJSON_AddItemToArray(batch, stmt_json(a, "alice", "passed", "b1"));
	cJSON_AddItemToArray(batch, stmt_json(b, "alice", "passed", "b2"));
	cJSON_AddItemToArray(batch, stmt_json(c, "alice", "passed", "b3"));
	ids = post_ok(json_text(batch));
	ck_assert_int_eq(cJSON_GetArraySize(ids), 3);
	ck_assert_str_eq(cJSON_GetArrayItem(ids, 0)->valuestring, a);
	ck_assert_str_eq(cJSON_GetArrayItem(ids, 1)->valuestring, b);
	ck_assert_str_eq(cJSON_GetArrayItem(ids, 2)->valuestring, c);
	cJSON_Delete(ids);
}
END_TEST

START_TEST(query_filters)
{
	char id[6][37];
	for (int i = 0; i < 6; i++)
		uuid(id[i]);
	cJSON *batch = cJSON_CreateArray();
	cJSON_AddItemToArray(batch, stmt_json(id[0], "alice", "experienced", "intro"));
	cJSON_AddItemToArray(batch, stmt_json(id[1], "alice", "completed", "intro"));
	cJSON_AddItemToArray(batch, stmt_json(id[2], "bob", "experienced", "intro"));
	cJSON_AddItemToArray(batch, stmt_json(id[3], "bob", "completed", "other"));
	/* carol's statement names intro only as its parent context. */
	cJSON *c = stmt_json(id[4], "carol", "attempted", "other");
	cJSON *parent = cJSON_CreateArray();
	cJSON *pa = cJSON_CreateObject();
	cJSON_AddStringToObject(pa, "id", ACT("intro"));
	cJSON_AddItemToArray(parent, pa);
	cJSON_AddItemToObject(cJSON_AddObjectToObject(cJSON_AddObjectToObject(c, "context"),
						      "contextActivities"), "parent", parent);
	cJSON_AddItemToArray(batch, c);
	cJSON_Delete(post_ok(json_text(batch)));
	/* Written by another provider: never in A's results. */
	char bkey[LV_CRED_ID_LEN], *bsecret = NULL;
	ck_assert_int_eq(lv_credential_add(F.node, LV_ROLE_PROVIDER, NULL, NULL, 0, "LMS B", bkey, &bsecret), LV_OK);
	struct hc_resp r;
	char *body = stmt(id[5], "alice", "experienced", "intro");
	call_as(bkey, bsecret, "POST", "/xapi/statements", body, &r);
	free(body);
	sodium_free(bsecret);
	EXPECT_STATUS(r, 200);
	hc_resp_free(&r);

	char q[2048] = "";
	assert_query("", (const char *[]){id[0], id[1], id[2], id[3], id[4], NULL});
	param(q, sizeof q, "agent", "{\"mbox\":\"mailto:alice@example.com\"}");
	assert_query(q, (const char *[]){id[0], id[1], NULL});
	q[0] = 0;
	param(q, sizeof q, "verb", VERB("completed"));
	assert_query(q, (const char *[]){id[1], id[3], NULL});
	q[0] = 0;
	param(q, sizeof q, "activity", ACT("other"));
	assert_query(q, (const char *[]){id[3], id[4], NULL});
	q[0] = 0;
	param(q, sizeof q, "activity", ACT("intro"));
	assert_query(q, (const char *[]){id[0], id[1], id[2], NULL});
	param(q, sizeof q, "related_activities", "true");
	assert_query(q, (const char *[]){id[0], id[1], id[2], id[4], NULL});
	q[0] = 0;
	param(q, sizeof q, "agent", "{\"objectType\":\"Agent\",\"mbox\":\"mailto:bob@example.com\"}");
	param(q, sizeof q, "verb", VERB("experienced"));
	assert_query(q, (const char *[]){id[2], NULL});
	q[0] = 0;
	param(q, sizeof q, "agent", "{\"mbox\":\"mailto:alice@example.com\"}");
	param(q, sizeof q, "activity", ACT("other"));
	assert_query(q, (const char *[]){NULL});
	q[0] = 0;
	param(q, sizeof q, "agent", "{\"mbox\":\"mailto:nobody@example.com\"}");
	assert_query(q, (const char *[]){NULL});
}
END_TEST

/* Follows "more" from @first; every id of @ids (n of them) must appear
 * exactly once, in @ids order when @in_order.  Returns the page count. */
static int page_through(const char *first, char (*ids)[37], int n, bool in_order)
{
	int seen[64] = {0};
	ck_assert_int_le(n, 64);
	char path[8192];
	snprintf(path, sizeof path, "%s", first);
	int pages = 0, got = 0;
	while (path[0]) {
		ck_assert_int_lt(++pages, 40);
		struct hc_resp r;
		call("GET", path, NULL, &r);
		EXPECT_STATUS(r, 200);
		cJSON *res = body_json(&r);
		hc_resp_free(&r);
		const cJSON *arr = cJSON_GetObjectItemCaseSensitive(res, "statements");
		const cJSON *more = cJSON_GetObjectItemCaseSensitive(res, "more");
		ck_assert(cJSON_IsArray(arr));
		ck_assert(cJSON_IsString(more));
		const cJSON *s;
		cJSON_ArrayForEach(s, arr) {
			const char *id = str_at(s, "id", NULL);
			int k = 0;
			while (k < n && strcmp(ids[k], id) != 0)
				k++;
			ck_assert_msg(k < n, "paging returned a statement not in the set: %s", id);
			ck_assert_msg(seen[k] == 0, "paging returned %s twice", id);
			if (in_order)
				ck_assert_msg(k == got, "statement %d came as number %d", k, got);
			seen[k] = 1;
			got++;
		}
		if (more->valuestring[0]) {
			ck_assert_msg(strncmp(more->valuestring, "/xapi/statements?", 17) == 0,
				      "more is not relative to the server root: %s", more->valuestring);
			ck_assert_msg(cJSON_GetArraySize(arr) > 0, "an empty page with a more link");
		}
		snprintf(path, sizeof path, "%s", more->valuestring);
		cJSON_Delete(res);
	}
	ck_assert_int_eq(got, n);
	return pages;
}

START_TEST(query_paging)
{
	char ids[23][37];
	char alice[12][37];
	int na = 0;
	for (int b = 0, i = 0; b < 3; b++) {
		cJSON *batch = cJSON_CreateArray();
		for (int k = 0; k < (b < 2 ? 10 : 3); k++, i++) {
			uuid(ids[i]);
			if (i % 2 == 0)
				memcpy(alice[na++], ids[i], 37);
			cJSON_AddItemToArray(batch, stmt_json(ids[i], i % 2 ? "bob" : "alice", "experienced", "page"));
		}
		cJSON_Delete(post_ok(json_text(batch)));
	}
	ck_assert_int_eq(na, 12);
	ck_assert_int_eq(page_through("/xapi/statements?limit=5", ids, 23, false), 5);
	ck_assert_int_eq(page_through("/xapi/statements?limit=5&ascending=true", ids, 23, true), 5);
	char q[1024] = "/xapi/statements?";
	char p[1024] = "";
	param(p, sizeof p, "agent", "{\"mbox\":\"mailto:alice@example.com\"}");
	param(p, sizeof p, "ascending", "true");
	param(p, sizeof p, "limit", "4");
	strcat(q, p);
	ck_assert_int_eq(page_through(q, alice, 12, true), 3);
	/* One page when the limit covers everything. */
	ck_assert_int_eq(page_through("/xapi/statements?limit=23", ids, 23, false), 1);
}
END_TEST

START_TEST(voiding)
{
	char target[37], voider[37];
	uuid(target);
	uuid(voider);
	cJSON_Delete(post_ok(stmt(target, "alice", "passed", "exam")));
	cJSON *v = stmt_json(voider, "alice", "voided", "x");
	cJSON *obj = cJSON_CreateObject();
	cJSON_AddStringToObject(obj, "objectType", "StatementRef");
	cJSON_AddStringToObject(obj, "id", target);
	cJSON_ReplaceItemInObjectCaseSensitive(v, "object", obj);
	cJSON_Delete(post_ok(json_text(v)));

	ck_assert_int_eq(get_by_id(target, false, NULL), 404);
	cJSON *s = NULL;
	ck_assert_int_eq(get_by_id(target, true, &s), 200);
	ck_assert_str_eq(str_at(s, "verb", "id"), VERB("passed"));
	cJSON_Delete(s);
	ck_assert_int_eq(get_by_id(voider, false, NULL), 200);
	ck_assert_int_eq(get_by_id(voider, true, NULL), 404);
	assert_query("", (const char *[]){voider, NULL});
	char q[512] = "";
	param(q, sizeof q, "verb", VERB("passed"));
	assert_query(q, (const char *[]){voider, NULL});
}
END_TEST

START_TEST(state_document)
{
	char base[1024] = "/xapi/activities/state?", p[1024] = "", path[1200];
	struct hc_resp r;
	param(p, sizeof p, "activityId", ACT("intro"));
	param(p, sizeof p, "agent", "{\"objectType\":\"Agent\",\"mbox\":\"mailto:alice@example.com\"}");
	strcat(base, p);
	snprintf(path, sizeof path, "%s&stateId=bookmark", base);

	call("GET", path, NULL, &r);
	assert_error(&r, 404, NULL);
	hc_resp_free(&r);
	call("PUT", path, "{\"page\":3}", &r);
	EXPECT_STATUS(r, 204);
	hc_resp_free(&r);
	call("GET", path, NULL, &r);
	EXPECT_STATUS(r, 200);
	ck_assert_str_eq(r.body, "{\"page\":3}");
	ck_assert_msg(r.etag[0], "no ETag on a document GET");
	char etag1[128];
	snprintf(etag1, sizeof etag1, "%s", r.etag);
	hc_resp_free(&r);

	struct hc_req rq = {.method = "PUT", .path = path, .body = "{\"page\":9}", .user = F.key,
			    .pass = F.secret, .if_match = "\"0000000000000000000000000000000000000000\""};
	hc_do(&F.hc, &rq, &r);
	assert_error(&r, 412, NULL);
	hc_resp_free(&r);
	rq.if_match = NULL;
	rq.if_none_match = "*";
	hc_do(&F.hc, &rq, &r);
	assert_error(&r, 412, NULL);
	hc_resp_free(&r);
	rq.if_none_match = NULL;
	rq.if_match = etag1;
	rq.body = "{\"page\":4}";
	hc_do(&F.hc, &rq, &r);
	EXPECT_STATUS(r, 204);
	hc_resp_free(&r);

	call("GET", path, NULL, &r);
	EXPECT_STATUS(r, 200);
	ck_assert_str_eq(r.body, "{\"page\":4}");
	ck_assert_str_ne(r.etag, etag1);
	hc_resp_free(&r);
	call("GET", base, NULL, &r);
	EXPECT_STATUS(r, 200);
	ck_assert_str_eq(r.body, "[\"bookmark\"]");
	hc_resp_free(&r);

	call("DELETE", path, NULL, &r);
	EXPECT_STATUS(r, 204);
	hc_resp_free(&r);
	call("GET", path, NULL, &r);
	assert_error(&r, 404, NULL);
	hc_resp_free(&r);
}
END_TEST

START_TEST(about_without_auth)
{
	struct hc_resp r;
	struct hc_req rq = {.path = "/xapi/about", .no_version = true};
	hc_do(&F.hc, &rq, &r);
	EXPECT_STATUS(r, 200);
	cJSON *j = body_json(&r);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "version");
	ck_assert(cJSON_IsArray(v));
	bool has = false;
	const cJSON *it;
	cJSON_ArrayForEach(it, v)
		has |= cJSON_IsString(it) && strcmp(it->valuestring, "1.0.3") == 0;
	ck_assert_msg(has, "about lists no 1.0.3: %s", r.body);
	cJSON_Delete(j);
	hc_resp_free(&r);
}
END_TEST

/* A statement about ACT(@act) whose definition names it @name. */
static char *stmt_named(const char *act, const char *name)
{
	cJSON *s = stmt_json(NULL, "alice", "experienced", act);
	cJSON *def = cJSON_AddObjectToObject(cJSON_GetObjectItemCaseSensitive(s, "object"), "definition");
	cJSON_AddStringToObject(cJSON_AddObjectToObject(def, "name"), "en-US", name);
	return json_text(s);
}

/* The en-US name of the canonical Activity ACT(@act). */
static char *activity_name(const char *act)
{
	char path[512] = "/xapi/activities?";
	struct hc_resp r;
	param(path + strlen(path), sizeof path - strlen(path), "activityId", act);
	call("GET", path, NULL, &r);
	EXPECT_STATUS(r, 200);
	cJSON *a = body_json(&r);
	hc_resp_free(&r);
	const char *n = str_at(cJSON_GetObjectItemCaseSensitive(a, "definition"), "name", "en-US");
	char *copy = n ? strdup(n) : NULL;
	cJSON_Delete(a);
	return copy;
}

START_TEST(activity_definition_last_writer_wins)
{
	/* Data 2.4.4.1 / this LRS's rule: the canonical definition takes each
	 * property from the latest statement that defines it. */
	const char *names[] = {"One", "Two", "One", "Three", "Two"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		cJSON_Delete(post_ok(stmt_named("canon", names[i])));
		char *n = activity_name(ACT("canon"));
		ck_assert_msg(n && strcmp(n, names[i]) == 0,
			      "after statement %zu (name '%s') the canonical name is '%s'", i, names[i],
			      n ? n : "(none)");
		free(n);
	}
}
END_TEST

/* ---- errors ---- */

START_TEST(error_malformed_json)
{
	struct hc_resp r;
	call("POST", "/xapi/statements", "{\"actor\": {\"mbox\": ", &r);
	assert_error(&r, 400, "invalid_json");
	hc_resp_free(&r);
	call("POST", "/xapi/statements", "[{},]", &r);
	assert_error(&r, 400, NULL);
	hc_resp_free(&r);
}
END_TEST

/* Issue 13, strict input: a statement whose strings are not UTF-8, carry a
 * raw control character or \u0000, or a number with a leading zero, is
 * refused with 400 and writes nothing (no learner, no vault). */
START_TEST(error_not_strict_json)
{
	char id[37];
	uuid(id);
	char *good = stmt(id, "strict", "http://adlnet.gov/expapi/verbs/completed", "http://example.com/act/strict");
	size_t glen = strlen(good);
	ck_assert(glen > 2 && good[glen - 1] == '}');
	/* Free text (result.response) takes any string, so only the JSON
	 * text's own rules can refuse these. */
	const char *results[] = {"\"response\":\"caf\xff\"", "\"response\":\"a\x01z\"", "\"response\":\"a\\u0000b\"",
				 "\"score\":{\"raw\":05,\"min\":0,\"max\":10}"};
	int64_t before = learners();
	int vaults = vault_files();
	for (size_t i = 0; i < sizeof results / sizeof results[0]; i++) {
		char body[2048];
		snprintf(body, sizeof body, "%.*s,\"result\":{%s}}", (int)(glen - 1), good, results[i]);
		struct hc_resp r;
		call("POST", "/xapi/statements", body, &r);
		ck_assert_msg(r.status == 400, "case %zu: %ld %s", i, r.status, r.body ? r.body : "");
		assert_error(&r, 400, NULL);
		hc_resp_free(&r);
	}
	ck_assert_int_eq(learners(), before);
	ck_assert_int_eq(vault_files(), vaults);
	ck_assert_int_eq(get_by_id(id, false, NULL), 404);
	/* Exact media types: a look-alike of application/json is refused. */
	struct hc_req rq = {.method = "POST", .path = "/xapi/statements", .body = good, .content_type = "application/jsonxyz",
			    .user = F.key, .pass = F.secret};
	struct hc_resp r;
	ck_assert_int_eq(hc_do(&F.hc, &rq, &r), 400);
	hc_resp_free(&r);
	rq.content_type = "Application/JSON ; charset=utf-8"; /* the same type, parameters apart */
	ck_assert_int_eq(hc_do(&F.hc, &rq, &r), 200);
	hc_resp_free(&r);
	/* The same statement with a valid response is stored too (another id). */
	uuid(id);
	free(good);
	good = stmt(id, "strict", "http://adlnet.gov/expapi/verbs/completed", "http://example.com/act/strict");
	glen = strlen(good);
	char body[2048];
	snprintf(body, sizeof body, "%.*s,\"result\":{\"response\":\"caf\xc3\xa9\"}}", (int)(glen - 1), good);
	cJSON_Delete(post_ok(strdup(body)));
	free(good);
}
END_TEST

/* Issue 13, strict input: an identifier in the URL with a NUL (%00), a
 * control character or bytes that are not UTF-8 is refused (a C string
 * would cut "a%00b" to "a", the same document as "a"). */
START_TEST(error_unclean_url_parameter)
{
	const char *bad[] = {"/xapi/activities/state?activityId=http%3A%2F%2Fx.org%2Fa&agent=%7B%22mbox%22%3A%22mailto%3Aa%40b.c%22%7D&stateId=a%00b",
			     "/xapi/statements?statementId=a%00b", "/xapi/statements?verb=http%3A%2F%2Fx.org%2Fv%01",
			     "/xapi/statements?verb=http%3A%2F%2Fx.org%2F%FF"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct hc_resp r;
		call("GET", bad[i], NULL, &r);
		ck_assert_msg(r.status == 400, "%s: %ld", bad[i], r.status);
		ck_assert_ptr_nonnull(strstr(r.body, "URL parameter"));
		hc_resp_free(&r);
	}
	/* UTF-8 is fine where an IRI or an id may carry it. */
	struct hc_resp r;
	call("GET", "/xapi/statements?verb=http%3A%2F%2Fx.org%2Fcaf%C3%A9", NULL, &r);
	ck_assert_int_eq(r.status, 200);
	hc_resp_free(&r);
}
END_TEST

START_TEST(error_schema_violation)
{
	struct hc_resp r;
	cJSON *s = stmt_json(NULL, "alice", "experienced", "intro");
	cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(s, "actor"), "mbox",
					       cJSON_CreateString("alice@example.com"));
	char *body = json_text(s);
	call("POST", "/xapi/statements", body, &r);
	free(body);
	assert_error(&r, 400, "invalid_statement");
	hc_resp_free(&r);
	ck_assert_int_eq(learners(), 0);
}
END_TEST

START_TEST(error_conflict)
{
	char id[37], path[128];
	struct hc_resp r;
	uuid(id);
	cJSON_Delete(post_ok(stmt(id, "alice", "experienced", "intro")));
	/* Equivalent content is no conflict. */
	cJSON_Delete(post_ok(stmt(id, "alice", "experienced", "intro")));
	char *body = stmt(id, "alice", "completed", "intro");
	call("POST", "/xapi/statements", body, &r);
	free(body);
	assert_error(&r, 409, "conflict");
	hc_resp_free(&r);
	snprintf(path, sizeof path, "/xapi/statements?statementId=%s", id);
	body = stmt(NULL, "alice", "completed", "intro");
	call("PUT", path, body, &r);
	free(body);
	assert_error(&r, 409, "conflict");
	hc_resp_free(&r);
	cJSON *s = NULL;
	ck_assert_int_eq(get_by_id(id, false, &s), 200);
	ck_assert_str_eq(str_at(s, "verb", "id"), VERB("experienced"));
	cJSON_Delete(s);
}
END_TEST

START_TEST(error_missing_credentials)
{
	struct hc_resp r;
	char *body = stmt(NULL, "alice", "experienced", "intro");
	struct hc_req rq = {.path = "/xapi/statements", .body = body};
	hc_do(&F.hc, &rq, &r);
	assert_error(&r, 401, "unauthorized");
	ck_assert_msg(r.www_authenticate[0], "401 without WWW-Authenticate");
	hc_resp_free(&r);
	rq.body = NULL;
	hc_do(&F.hc, &rq, &r);
	assert_error(&r, 401, "unauthorized");
	hc_resp_free(&r);
	free(body);
	ck_assert_int_eq(learners(), 0);
}
END_TEST

START_TEST(error_wrong_password)
{
	struct hc_resp r;
	char *body = stmt(NULL, "alice", "experienced", "intro");
	call_as(F.key, "not-the-secret", "POST", "/xapi/statements", body, &r);
	assert_error(&r, 401, "unauthorized");
	hc_resp_free(&r);
	call_as("no-such-credential", F.secret, "POST", "/xapi/statements", body, &r);
	assert_error(&r, 401, "unauthorized");
	hc_resp_free(&r);
	/* A provider secret presented as a bearer token is not a credential. */
	char tok[512];
	snprintf(tok, sizeof tok, "%s.%s-x", F.key, F.secret);
	struct hc_req rq = {.path = "/xapi/statements", .body = body, .bearer = tok};
	hc_do(&F.hc, &rq, &r);
	assert_error(&r, 401, "unauthorized");
	hc_resp_free(&r);
	free(body);
	ck_assert_int_eq(learners(), 0);
}
END_TEST

START_TEST(error_not_a_provider)
{
	char id[LV_CRED_ID_LEN], tok[512];
	char *secret = NULL;
	struct hc_resp r;
	ck_assert_int_eq(lv_credential_add(F.node, LV_ROLE_AUDITOR, NULL, NULL, 0, "auditor", id, &secret), LV_OK);
	snprintf(tok, sizeof tok, "%s.%s", id, secret);
	sodium_free(secret);
	char *body = stmt(NULL, "alice", "experienced", "intro");
	struct hc_req rq = {.path = "/xapi/statements", .body = body, .bearer = tok};
	hc_do(&F.hc, &rq, &r);
	assert_error(&r, 403, "forbidden");
	hc_resp_free(&r);
	rq.body = NULL;
	hc_do(&F.hc, &rq, &r);
	assert_error(&r, 403, "forbidden");
	hc_resp_free(&r);
	free(body);
	ck_assert_int_eq(learners(), 0);
}
END_TEST

START_TEST(error_unknown_route)
{
	struct hc_resp r;
	call("GET", "/xapi/no-such-resource", NULL, &r);
	assert_error(&r, 404, "not_found");
	hc_resp_free(&r);
	call("GET", "/no-such-place", NULL, &r);
	assert_error(&r, 404, "not_found");
	hc_resp_free(&r);
}
END_TEST

START_TEST(error_missing_version)
{
	struct hc_resp r;
	char *body = stmt(NULL, "alice", "experienced", "intro");
	struct hc_req rq = {.path = "/xapi/statements", .body = body, .user = F.key, .pass = F.secret,
			    .no_version = true};
	hc_do(&F.hc, &rq, &r);
	assert_error(&r, 400, NULL);
	hc_resp_free(&r);
	rq.body = NULL;
	hc_do(&F.hc, &rq, &r);
	assert_error(&r, 400, NULL);
	hc_resp_free(&r);
	free(body);
	ck_assert_int_eq(learners(), 0);
}
END_TEST

/* ---- body cap (server started with max_body_bytes = 4096) ---- */

/* A valid statement whose JSON text is at least @min_len bytes. */
static char *big_statement(size_t min_len)
{
	char *pad = malloc(min_len + 1);
	ck_assert_ptr_nonnull(pad);
	memset(pad, 'x', min_len);
	pad[min_len] = 0;
	cJSON *s = stmt_json(NULL, "alice", "experienced", "intro");
	cJSON_AddStringToObject(cJSON_AddObjectToObject(s, "result"), "response", pad);
	free(pad);
	return json_text(s);
}

START_TEST(error_body_too_large)
{
	struct hc_resp r;
	char *body = big_statement((size_t)1 << 20);
	call("POST", "/xapi/statements", body, &r);
	assert_error(&r, 413, "too_large");
	hc_resp_free(&r);
	/* Without Content-Length the cap applies while reading. */
	struct hc_req rq = {.path = "/xapi/statements", .body = body, .user = F.key, .pass = F.secret,
			    .chunked = true};
	hc_do(&F.hc, &rq, &r);
	assert_error(&r, 413, "too_large");
	hc_resp_free(&r);
	free(body);
	ck_assert_int_eq(learners(), 0);
	/* A body under the cap still goes through. */
	cJSON_Delete(post_ok(stmt(NULL, "alice", "experienced", "intro")));
}
END_TEST

/* ---- batch atomicity ---- */

START_TEST(batch_invalid_third)
{
	char id[3][37];
	struct hc_resp r;
	for (int i = 0; i < 3; i++)
		uuid(id[i]);
	cJSON *batch = cJSON_CreateArray();
	cJSON_AddItemToArray(batch, stmt_json(id[0], "alice", "experienced", "a1"));
	cJSON_AddItemToArray(batch, stmt_json(id[1], "bob", "experienced", "a2"));
	cJSON *bad = stmt_json(id[2], "carol", "experienced", "a3");
	cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(bad, "actor"), "mbox",
					       cJSON_CreateString("carol@example.com"));
	cJSON_AddItemToArray(batch, bad);
	char *body = json_text(batch);
	call("POST", "/xapi/statements", body, &r);
	free(body);
	assert_error(&r, 400, NULL);
	hc_resp_free(&r);
	for (int i = 0; i < 3; i++)
		ck_assert_msg(get_by_id(id[i], false, NULL) == 404, "statement %d of a refused batch is stored", i);
	assert_query("", (const char *[]){NULL});
	ck_assert_int_eq(learners(), 0);
}
END_TEST

START_TEST(batch_conflict_second)
{
	char stored[37], first[37], third[37];
	struct hc_resp r;
	uuid(stored), uuid(first), uuid(third);
	cJSON_Delete(post_ok(stmt(stored, "alice", "experienced", "a1")));
	int64_t before = learners();
	int files = vault_files();
	ck_assert_int_eq(before, 1);

	/* dave is new: his enrolment must go with the failed batch. */
	cJSON *batch = cJSON_CreateArray();
	cJSON_AddItemToArray(batch, stmt_json(first, "dave", "experienced", "a2"));
	cJSON_AddItemToArray(batch, stmt_json(stored, "alice", "completed", "a1"));
	cJSON_AddItemToArray(batch, stmt_json(third, "alice", "experienced", "a3"));
	char *body = json_text(batch);
	call("POST", "/xapi/statements", body, &r);
	free(body);
	assert_error(&r, 409, "conflict");
	hc_resp_free(&r);
	ck_assert_msg(get_by_id(first, false, NULL) == 404, "the 1st statement of a refused batch is stored");
	ck_assert_msg(get_by_id(third, false, NULL) == 404, "the 3rd statement of a refused batch is stored");
	cJSON *s = NULL;
	ck_assert_int_eq(get_by_id(stored, false, &s), 200);
	ck_assert_str_eq(str_at(s, "verb", "id"), VERB("experienced"));
	cJSON_Delete(s);
	assert_query("", (const char *[]){stored, NULL});
	ck_assert_int_eq(learners(), before);
	ck_assert_int_eq(vault_files(), files);

	/* The same first statement alone is then stored normally. */
	cJSON_Delete(post_ok(stmt(first, "dave", "experienced", "a2")));
	ck_assert_int_eq(get_by_id(first, false, NULL), 200);
	ck_assert_int_eq(learners(), before + 1);
}
END_TEST

/* ---- provider isolation ---- */

START_TEST(providers_isolated)
{
	char bkey[LV_CRED_ID_LEN], *bsec = NULL, id[37];
	struct hc_resp r;
	ck_assert_int_eq(lv_credential_add(F.node, LV_ROLE_PROVIDER, NULL, NULL, 0, "LMS B", bkey, &bsec), LV_OK);
	uuid(id);
	cJSON_Delete(post_ok(stmt(id, "alice", "experienced", "intro")));

	ck_assert_int_eq(get_by_id(id, false, NULL), 200);
	ck_assert_int_eq(get_by_id_as(bkey, bsec, id, false, NULL), 404);
	ck_assert_int_eq(get_by_id_as(bkey, bsec, id, true, NULL), 404);
	cJSON *arr = query_as(bkey, bsec, "");
	ck_assert_int_eq(cJSON_GetArraySize(arr), 0);
	cJSON_Delete(arr);
	char q[512] = "";
	param(q, sizeof q, "agent", "{\"mbox\":\"mailto:alice@example.com\"}");
	arr = query_as(bkey, bsec, q);
	ck_assert_int_eq(cJSON_GetArraySize(arr), 0);
	cJSON_Delete(arr);
	q[0] = 0;
	param(q, sizeof q, "activity", ACT("intro"));
	arr = query_as(bkey, bsec, q);
	ck_assert_int_eq(cJSON_GetArraySize(arr), 0);
	cJSON_Delete(arr);
	assert_query("", (const char *[]){id, NULL});

	/* B's own statement about the same learner stays B's. */
	char bid[37];
	uuid(bid);
	char *body = stmt(bid, "alice", "completed", "intro");
	call_as(bkey, bsec, "POST", "/xapi/statements", body, &r);
	free(body);
	EXPECT_STATUS(r, 200);
	hc_resp_free(&r);
	ck_assert_int_eq(get_by_id(bid, false, NULL), 404);
	arr = query_as(bkey, bsec, "");
	ck_assert_int_eq(cJSON_GetArraySize(arr), 1);
	ck_assert_str_eq(str_at(cJSON_GetArrayItem(arr, 0), "id", NULL), bid);
	cJSON_Delete(arr);
	assert_query("", (const char *[]){id, NULL});

	/* Documents too. */
	char path[1024] = "/xapi/activities/state?", p[1024] = "";
	param(p, sizeof p, "activityId", ACT("intro"));
	param(p, sizeof p, "agent", "{\"mbox\":\"mailto:alice@example.com\"}");
	param(p, sizeof p, "stateId", "s1");
	strcat(path, p);
	call("PUT", path, "{\"a\":1}", &r);
	EXPECT_STATUS(r, 204);
	hc_resp_free(&r);
	call_as(bkey, bsec, "GET", path, NULL, &r);
	assert_error(&r, 404, NULL);
	hc_resp_free(&r);
	sodium_free(bsec);
}
END_TEST

/* ---- auto-enrolment off ---- */

START_TEST(auto_enrol_off)
{
	char id[37], id2[37], id3[37], p[LV_PSEUDONYM_LEN];
	bool created = false;
	struct hc_resp r;
	ck_assert_int_eq(lv_node_setting_set(F.node, "auto_enrol", "off"), LV_OK);
	uuid(id), uuid(id2), uuid(id3);

	char *body = stmt(id, "erin", "experienced", "intro");
	call("POST", "/xapi/statements", body, &r);
	free(body);
	assert_error(&r, 403, "forbidden");
	hc_resp_free(&r);
	ck_assert_int_eq(get_by_id(id, false, NULL), 404);
	ck_assert_int_eq(learners(), 0);
	ck_assert_int_eq(vault_files(), 0);

	ck_assert_int_eq(lv_learner_enrol(F.node, "{\"mbox\":\"mailto:frank@example.com\"}", p, &created), LV_OK);
	ck_assert(created);
	cJSON_Delete(post_ok(stmt(id2, "frank", "experienced", "intro")));
	ck_assert_int_eq(get_by_id(id2, false, NULL), 200);

	/* One unenrolled actor sinks the whole batch. */
	cJSON *batch = cJSON_CreateArray();
	cJSON_AddItemToArray(batch, stmt_json(id3, "frank", "completed", "intro"));
	cJSON_AddItemToArray(batch, stmt_json(id, "erin", "experienced", "intro"));
	body = json_text(batch);
	call("POST", "/xapi/statements", body, &r);
	free(body);
	assert_error(&r, 403, "forbidden");
	hc_resp_free(&r);
	ck_assert_int_eq(get_by_id(id3, false, NULL), 404);
	ck_assert_int_eq(get_by_id(id, false, NULL), 404);
	ck_assert_int_eq(learners(), 1);

	ck_assert_int_eq(lv_node_setting_set(F.node, "auto_enrol", "on"), LV_OK);
	cJSON_Delete(post_ok(stmt(id, "erin", "experienced", "intro")));
	ck_assert_int_eq(learners(), 2);
}
END_TEST

START_TEST(policies_listed)
{
	struct hc_resp r = {0};
	/* Empty at first; a public notice, so no credentials needed. */
	ck_assert_int_eq(call_as(NULL, NULL, "GET", "/policies", NULL, &r), 200);
	cJSON *j = body_json(&r);
	ck_assert(cJSON_IsArray(j));
	ck_assert_int_eq(cJSON_GetArraySize(j), 0);
	cJSON_Delete(j);
	hc_resp_free(&r);
	const char *files[] = {"policies/course-improvement.json", "policies/research-study.json"};
	for (size_t i = 0; i < 2; i++) {
		char *text = NULL;
		size_t len = 0;
		char err[LV_POLICY_ERR_LEN], id[LV_POLICY_ID_MAX + 1];
		uint32_t version;
		bool added;
		ck_assert_int_eq(util_read_file(th_src(files[i]), 65536, &text, &len), LV_OK);
		ck_assert_int_eq(lv_policy_load(F.node, text, len, &added, id, &version, err), LV_OK);
		ck_assert(added);
		free(text);
	}
	ck_assert_int_eq(call_as(NULL, NULL, "GET", "/policies", NULL, &r), 200);
	j = body_json(&r);
	ck_assert_int_eq(cJSON_GetArraySize(j), 2);
	const cJSON *first = cJSON_GetArrayItem(j, 0);
	ck_assert_str_eq(cJSON_GetObjectItem(first, "id")->valuestring, "course-improvement");
	ck_assert_uint_eq(strlen(cJSON_GetObjectItem(first, "sha256")->valuestring), 64);
	ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(first, "policy"), "title")->valuestring,
			 "Help improve our courses");
	cJSON_Delete(j);
	hc_resp_free(&r);
	ck_assert_int_eq(call_as(NULL, NULL, "POST", "/policies", "{}", &r), 405);
	assert_error(&r, 405, NULL);
	hc_resp_free(&r);
}
END_TEST

static long audit_get(const char *bearer, const char *path, struct hc_resp *r)
{
	struct hc_req rq = {.method = "GET", .path = path, .bearer = bearer, .no_version = true};
	return hc_do(&F.hc, &rq, r);
}

START_TEST(auditor_door)
{
	char id[LV_CRED_ID_LEN], tok[128];
	char *secret = NULL;
	ck_assert_int_eq(lv_credential_add(F.node, LV_ROLE_AUDITOR, NULL, NULL, 0, NULL, id, &secret), LV_OK);
	snprintf(tok, sizeof tok, "%s.%s", id, secret);
	sodium_free(secret);
	struct hc_resp r = {0};
	ck_assert_int_eq(audit_get(tok, "/audit/key", &r), 200);
	ck_assert_ptr_nonnull(strstr(r.body, "learnvault.local/node+"));
	hc_resp_free(&r);
	ck_assert_int_eq(audit_get(tok, "/audit/checkpoint", &r), 200);
	ck_assert_ptr_nonnull(strstr(r.body, "\xe2\x80\x94 learnvault.local/node ")); /* signature line */
	hc_resp_free(&r);
	/* Entries: the provider and auditor credentials were logged. */
	ck_assert_int_eq(audit_get(tok, "/audit/entries?start=0&end=2", &r), 200);
	cJSON *j = body_json(&r);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "entries")), 2);
	ck_assert_ptr_nonnull(strstr(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "entries"), 0)->valuestring,
				     "\"type\":\"credential\""));
	cJSON_Delete(j);
	hc_resp_free(&r);
	ck_assert_int_eq(audit_get(tok, "/audit/proof/inclusion?index=0&size=2", &r), 200);
	j = body_json(&r);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "proof")), 1);
	cJSON_Delete(j);
	hc_resp_free(&r);
	ck_assert_int_eq(audit_get(tok, "/audit/proof/consistency?first=1&second=2", &r), 200);
	hc_resp_free(&r);
	ck_assert_int_eq(audit_get(tok, "/audit/proof/consistency?first=0&second=2", &r), 400);
	assert_error(&r, 400, NULL);
	hc_resp_free(&r);
	/* End past the log: what exists (issue 14); a start past it is out of range. */
	ck_assert_int_eq(audit_get(tok, "/audit/entries?start=0&end=99", &r), 200);
	j = body_json(&r);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "entries")), (int)lv_audit_size(F.node));
	cJSON_Delete(j);
	hc_resp_free(&r);
	ck_assert_int_eq(audit_get(tok, "/audit/entries?start=99&end=100", &r), 400);
	hc_resp_free(&r);
	ck_assert_int_eq(audit_get(tok, "/audit/entries?start=x&end=1", &r), 400);
	hc_resp_free(&r);
	/* Only auditors: none, a provider, a wrong token. */
	ck_assert_int_eq(audit_get(NULL, "/audit/key", &r), 401);
	hc_resp_free(&r);
	ck_assert_int_eq(call("GET", "/audit/key", NULL, &r), 403);
	assert_error(&r, 403, "forbidden");
	hc_resp_free(&r);
	tok[strlen(tok) - 1] ^= 1;
	ck_assert_int_eq(audit_get(tok, "/audit/checkpoint", &r), 401);
	hc_resp_free(&r);
}
END_TEST

static void token_for(enum lv_role role, const char *learner, char *tok, size_t n)
{
	char id[LV_CRED_ID_LEN];
	char *secret = NULL;
	ck_assert_int_eq(lv_credential_add(F.node, role, learner, NULL, 0, NULL, id, &secret), LV_OK);
	snprintf(tok, n, "%s.%s", id, secret);
	sodium_free(secret);
}

static long learner_call(const char *bearer, const char *method, const char *path, const char *body,
			 struct hc_resp *r)
{
	struct hc_req rq = {.method = method, .path = path, .body = body, .bearer = bearer, .no_version = true};
	return hc_do(&F.hc, &rq, r);
}

START_TEST(learner_consents)
{
	char *text = NULL, err[LV_POLICY_ERR_LEN], pid[LV_POLICY_ID_MAX + 1];
	size_t len;
	uint32_t version;
	bool added, created;
	ck_assert_int_eq(util_read_file(th_src("policies/course-improvement.json"), 65536, &text, &len), LV_OK);
	ck_assert_int_eq(lv_policy_load(F.node, text, len, &added, pid, &version, err), LV_OK);
	free(text);
	char adult[LV_PSEUDONYM_LEN], child[LV_PSEUDONYM_LEN];
	ck_assert_int_eq(lv_learner_enrol(F.node, "{\"mbox\":\"mailto:adult@x.org\"}", adult, &created), LV_OK);
	ck_assert_int_eq(lv_learner_enrol(F.node, "{\"mbox\":\"mailto:child@x.org\"}", child, &created), LV_OK);
	ck_assert_int_eq(lv_learner_set_birth_date(F.node, adult, "1990-01-01"), LV_OK);
	ck_assert_int_eq(lv_learner_set_birth_date(F.node, child, "2020-01-01"), LV_OK);
	char ta[160], tc[160], tg[160];
	token_for(LV_ROLE_LEARNER, adult, ta, sizeof ta);
	token_for(LV_ROLE_LEARNER, child, tc, sizeof tc);
	token_for(LV_ROLE_GUARDIAN, child, tg, sizeof tg);
	struct hc_resp r = {0};
	const char *grant = "{\"policy\":\"course-improvement\"}";
	ck_assert_int_eq(learner_call(ta, "POST", "/learner/consents", grant, &r), 201);
	hc_resp_free(&r);
	ck_assert_int_eq(learner_call(ta, "GET", "/learner/consents", NULL, &r), 200);
	ck_assert_ptr_nonnull(strstr(r.body, "\"allowed\":true"));
	hc_resp_free(&r);
	ck_assert_int_eq(learner_call(ta, "DELETE", "/learner/consents/course-improvement", NULL, &r), 200);
	hc_resp_free(&r);
	ck_assert_int_eq(learner_call(ta, "GET", "/learner/consents", NULL, &r), 200);
	ck_assert_ptr_nonnull(strstr(r.body, "\"allowed\":false"));
	ck_assert_ptr_nonnull(strstr(r.body, "ConsentWithdrawn"));
	hc_resp_free(&r);
	/* Guardian rule over HTTP. */
	ck_assert_int_eq(learner_call(tc, "POST", "/learner/consents", grant, &r), 403);
	assert_error(&r, 403, "forbidden");
	hc_resp_free(&r);
	ck_assert_int_eq(learner_call(tg, "POST", "/learner/consents", grant, &r), 201);
	hc_resp_free(&r);
	/* Bad input and other roles. */
	ck_assert_int_eq(learner_call(ta, "POST", "/learner/consents", "{\"policy\":1}", &r), 400);
	assert_error(&r, 400, "invalid");
	hc_resp_free(&r);
	ck_assert_int_eq(learner_call(ta, "POST", "/learner/consents", "{\"policy\":\"x\",\"extra\":1}", &r), 400);
	hc_resp_free(&r);
	ck_assert_int_eq(learner_call(ta, "POST", "/learner/consents", "{\"policy\":\"nope\"}", &r), 404);
	hc_resp_free(&r);
	ck_assert_int_eq(learner_call(NULL, "GET", "/learner/consents", NULL, &r), 401);
	hc_resp_free(&r);
	ck_assert_int_eq(call("GET", "/learner/consents", NULL, &r), 403); /* a provider */
	hc_resp_free(&r);
	char tau[160];
	token_for(LV_ROLE_AUDITOR, NULL, tau, sizeof tau);
	ck_assert_int_eq(learner_call(tau, "GET", "/learner/consents", NULL, &r), 403);
	hc_resp_free(&r);
}
END_TEST

START_TEST(learner_door)
{
	/* Five statements for one learner from the provider, one for another. */
	char ids[5][37];
	for (int i = 0; i < 5; i++) {
		uuid(ids[i]);
		cJSON_Delete(post_ok(stmt(ids[i], "lee", "completed", "door")));
	}
	char other_id[37];
	uuid(other_id);
	cJSON_Delete(post_ok(stmt(other_id, "max", "completed", "door")));
	char lee[LV_PSEUDONYM_LEN], max[LV_PSEUDONYM_LEN], tl[160], tm[160];
	bool created;
	ck_assert_int_eq(lv_learner_enrol(F.node, "{\"mbox\":\"mailto:lee@example.com\"}", lee, &created), LV_OK);
	ck_assert(!created);
	ck_assert_int_eq(lv_learner_enrol(F.node, "{\"mbox\":\"mailto:max@example.com\"}", max, &created), LV_OK);
	token_for(LV_ROLE_LEARNER, lee, tl, sizeof tl);
	token_for(LV_ROLE_LEARNER, max, tm, sizeof tm);
	/* Own statements, paged; each page logged before it is sent. */
	struct hc_resp r = {0};
	char path[256] = "/learner/statements?limit=2";
	int seen = 0, pages = 0;
	while (path[0] && pages < 10) {
		ck_assert_int_eq(learner_call(tl, "GET", path, NULL, &r), 200);
		cJSON *j = body_json(&r);
		const cJSON *st;
		cJSON_ArrayForEach(st, cJSON_GetObjectItem(j, "statements")) {
			ck_assert_str_eq(str_at(st, "id", NULL), ids[seen]);
			seen++;
		}
		snprintf(path, sizeof path, "%s", cJSON_GetObjectItem(j, "more")->valuestring);
		cJSON_Delete(j);
		hc_resp_free(&r);
		pages++;
	}
	ck_assert_int_eq(seen, 5);
	ck_assert_int_eq(pages, 3);
	/* The other learner sees only their own. */
	ck_assert_int_eq(learner_call(tm, "GET", "/learner/statements", NULL, &r), 200);
	cJSON *j = body_json(&r);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "statements")), 1);
	ck_assert_str_eq(str_at(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "statements"), 0), "id", NULL), other_id);
	cJSON_Delete(j);
	hc_resp_free(&r);
	/* Access report: enrolment and the three reads, each provable. */
	ck_assert_int_eq(learner_call(tl, "GET", "/learner/access-report", NULL, &r), 200);
	j = body_json(&r);
	const char *note = cJSON_GetObjectItem(j, "checkpoint")->valuestring;
	char *vkey = NULL;
	struct lv_checkpoint cp;
	ck_assert_int_eq(lv_audit_vkey(F.node, &vkey), LV_OK);
	ck_assert_int_eq(lv_checkpoint_open(note, strlen(note), vkey, NULL, &cp), LV_OK);
	free(vkey);
	int reads = 0, n = 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, cJSON_GetObjectItem(j, "entries")) {
		const char *text = cJSON_GetObjectItem(e, "entry")->valuestring;
		ck_assert_ptr_nonnull(strstr(text, lee));
		ck_assert_ptr_null(strstr(text, "lee@example.com"));
		reads += strstr(text, "\"resource\":\"statements\"") != NULL;
		struct lv_merkle_proof pr = {0};
		const cJSON *h;
		size_t blen;
		cJSON_ArrayForEach(h, cJSON_GetObjectItem(e, "proof"))
			ck_assert_int_eq(sodium_base642bin(pr.hash[pr.len++], 32, h->valuestring, strlen(h->valuestring), NULL,
							   &blen, NULL, sodium_base64_VARIANT_ORIGINAL), 0);
		unsigned char leaf[32];
		lv_merkle_hash_leaf(text, strlen(text), leaf);
		ck_assert_int_eq(lv_merkle_verify_inclusion((uint64_t)cJSON_GetObjectItem(e, "index")->valuedouble, cp.size,
							    leaf, &pr, cp.root), LV_OK);
		n++;
	}
	ck_assert_int_eq(reads, 3);
	ck_assert_int_ge(n, 4);
	cJSON_Delete(j);
	hc_resp_free(&r);
	/* Export: one document with statements, consents and the report. */
	ck_assert_int_eq(learner_call(tl, "GET", "/learner/export", NULL, &r), 200);
	j = body_json(&r);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "statements")), 5);
	ck_assert_ptr_nonnull(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "consents"), "events"));
	ck_assert_ptr_nonnull(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "access_report"), "checkpoint"));
	cJSON_Delete(j);
	hc_resp_free(&r);
	/* Providers and analysts never reach the learner's door. */
	ck_assert_int_eq(call("GET", "/learner/statements", NULL, &r), 403);
	hc_resp_free(&r);
	char ta[160];
	token_for(LV_ROLE_ANALYST, NULL, ta, sizeof ta);
	ck_assert_int_eq(learner_call(ta, "GET", "/learner/export", NULL, &r), 403);
	hc_resp_free(&r);
	/* Erasure by the learner: gone, and the token with it. */
	ck_assert_int_eq(learner_call(tl, "DELETE", "/learner", NULL, &r), 200);
	hc_resp_free(&r);
	ck_assert_int_eq(learner_call(tl, "GET", "/learner/statements", NULL, &r), 401);
	hc_resp_free(&r);
	cJSON *got = NULL;
	ck_assert_int_eq(get_by_id(ids[0], false, &got), 404);
	ck_assert_int_eq(learner_call(tm, "GET", "/learner/statements", NULL, &r), 200);
	hc_resp_free(&r);
}
END_TEST

START_TEST(learner_vault_export)
{
	char ids[2][37];
	for (int i = 0; i < 2; i++) {
		uuid(ids[i]);
		cJSON_Delete(post_ok(stmt(ids[i], "lee", "completed", "vault")));
	}
	char lee[LV_PSEUDONYM_LEN], tl[160];
	bool created;
	ck_assert_int_eq(lv_learner_enrol(F.node, "{\"mbox\":\"mailto:lee@example.com\"}", lee, &created), LV_OK);
	token_for(LV_ROLE_LEARNER, lee, tl, sizeof tl);
	struct hc_resp r = {0};
	const char *body = "{\"passphrase\":\"a long enough passphrase\"}";
	ck_assert_int_eq(learner_call(tl, "POST", "/learner/export/vault", body, &r), 200);
	ck_assert_str_eq(r.content_type, "application/octet-stream");
	char *json = NULL;
	ck_assert_int_eq(lv_vault_open_file((const unsigned char *)r.body, r.len, "a long enough passphrase", 24, &json),
			 LV_OK);
	hc_resp_free(&r);
	cJSON *j = cJSON_Parse(json);
	free(json);
	const cJSON *arr = cJSON_GetObjectItem(j, "statements");
	ck_assert_int_eq(cJSON_GetArraySize(arr), 2);
	for (int i = 0; i < 2; i++)
		ck_assert_str_eq(str_at(cJSON_GetArrayItem(arr, i), "id", NULL), ids[i]);
	cJSON_Delete(j);
	/* Logged as the learner's own access. */
	cJSON *rep = NULL;
	ck_assert_int_eq(lv_audit_report(F.node, lee, &rep), LV_OK);
	char *text = cJSON_PrintUnformatted(rep);
	ck_assert_ptr_nonnull(strstr(text, "vault-export"));
	free(text);
	cJSON_Delete(rep);
	/* Refusals: short passphrase, bad body, GET, a provider. */
	ck_assert_int_eq(learner_call(tl, "POST", "/learner/export/vault", "{\"passphrase\":\"short\"}", &r), 400);
	assert_error(&r, 400, "invalid");
	hc_resp_free(&r);
	ck_assert_int_eq(learner_call(tl, "POST", "/learner/export/vault", "{\"pass\":\"a long enough passphrase\"}", &r),
			 400);
	hc_resp_free(&r);
	ck_assert_int_eq(learner_call(tl, "GET", "/learner/export/vault", NULL, &r), 405);
	hc_resp_free(&r);
	ck_assert_int_eq(call("POST", "/learner/export/vault", body, &r), 403);
	hc_resp_free(&r);
}
END_TEST

START_TEST(provider_readback_is_logged)
{
	char a1[37], a2[37], b1[37];
	uuid(a1);
	uuid(a2);
	uuid(b1);
	cJSON_Delete(post_ok(stmt(a1, "ann", "completed", "rb")));
	cJSON_Delete(post_ok(stmt(a2, "ann", "completed", "rb")));
	cJSON_Delete(post_ok(stmt(b1, "bob", "completed", "rb")));
	uint64_t before = lv_audit_size(F.node);
	cJSON *q = query_as(F.key, F.secret, "activity=" "http%3A%2F%2Fexample.com%2Fact%2Frb");
	ck_assert_int_eq(cJSON_GetArraySize(q), 3);
	cJSON_Delete(q);
	/* One entry per learner whose statements left, with its count. */
	uint64_t after = lv_audit_size(F.node);
	ck_assert_uint_eq(after, before + 2);
	cJSON *arr = NULL;
	ck_assert_int_eq(lv_audit_entries(F.node, before, after, &arr), LV_OK);
	int total = 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, arr) {
		cJSON *j = cJSON_Parse(e->valuestring);
		ck_assert_str_eq(cJSON_GetObjectItem(j, "purpose")->valuestring, "xapi-provider-readback");
		ck_assert_str_eq(cJSON_GetObjectItem(j, "actor")->valuestring, F.key);
		total += (int)cJSON_GetObjectItem(j, "count")->valuedouble;
		cJSON_Delete(j);
	}
	ck_assert_int_eq(total, 3);
	cJSON_Delete(arr);
	/* A single GET by id is logged too, and the log still verifies. */
	cJSON *got = NULL;
	ck_assert_int_eq(get_by_id(a1, false, &got), 200);
	cJSON_Delete(got);
	ck_assert_uint_eq(lv_audit_size(F.node), after + 1);
	char *json = NULL, *vkey = NULL, *report = NULL;
	ck_assert_int_eq(lv_audit_export(F.node, &json), LV_OK);
	ck_assert_int_eq(lv_audit_vkey(F.node, &vkey), LV_OK);
	ck_assert_int_eq(lv_audit_verify_export(json, strlen(json), vkey, NULL, &report), LV_OK);
	free(json);
	free(vkey);
	free(report);
}
END_TEST

/* ---- xAPI 2.0.0 beside 1.0.3 (issue 14) ---- */

/* As provider A, with X-Experience-API-Version @version (NULL: none). */
static long call_v(const char *version, const char *method, const char *path, const char *body,
		   struct hc_resp *r)
{
	struct hc_req rq = {.method = method, .path = path, .body = body, .user = F.key, .pass = F.secret,
			    .version = version, .no_version = version == NULL};
	return hc_do(&F.hc, &rq, r);
}

static bool lists_version(const cJSON *about, const char *v)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(about, "version"))
		if (cJSON_IsString(it) && strcmp(it->valuestring, v) == 0)
			return true;
	return false;
}

START_TEST(version_negotiation)
{
	struct hc_resp r;
	call_v(NULL, "GET", "/xapi/about", NULL, &r);
	EXPECT_STATUS(r, 200);
	ck_assert_str_eq(r.version, "1.0.3");
	cJSON *j = body_json(&r);
	ck_assert(lists_version(j, "2.0.0"));
	ck_assert(lists_version(j, "1.0.3"));
	cJSON_Delete(j);
	hc_resp_free(&r);
	call_v("2.0.0", "GET", "/xapi/about", NULL, &r);
	ck_assert_str_eq(r.version, "2.0.0");
	hc_resp_free(&r);

	/* The response speaks the request's version. */
	static const struct { const char *sent, *answered; } ok[] = {
		{"1.0.3", "1.0.3"}, {"1.0", "1.0.3"}, {"1.0.1", "1.0.3"},
		{"2.0.0", "2.0.0"}, {"2.0", "2.0.0"}, {"2.0.3", "2.0.0"},
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		call_v(ok[i].sent, "GET", "/xapi/statements?limit=1", NULL, &r);
		EXPECT_STATUS(r, 200);
		ck_assert_msg(strcmp(r.version, ok[i].answered) == 0, "%s answered as %s", ok[i].sent, r.version);
		hc_resp_free(&r);
	}
	/* Anything else is 400, answered in the node's default version. */
	static const char *const bad[] = {"3.0.0", "2.1.0", "1.1", "0.95", "2.0.0.0"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		call_v(bad[i], "GET", "/xapi/statements?limit=1", NULL, &r);
		assert_error(&r, 400, "invalid_version");
		ck_assert_str_eq(r.version, "1.0.3");
		hc_resp_free(&r);
	}
	call_v(NULL, "POST", "/xapi/statements", "[]", &r);
	assert_error(&r, 400, "invalid_version");
	ck_assert_str_eq(r.version, "1.0.3");
	hc_resp_free(&r);

	ck_assert_int_eq(lv_node_setting_set(F.node, "xapi_default_version", "2.0"), LV_ERR_INVALID);
	ck_assert_int_eq(lv_node_setting_set(F.node, "xapi_default_version", "2.0.0"), LV_OK);
	call_v(NULL, "GET", "/xapi/statements?limit=1", NULL, &r);
	assert_error(&r, 400, "invalid_version");
	ck_assert_str_eq(r.version, "2.0.0");
	hc_resp_free(&r);
	call_v(NULL, "GET", "/xapi/about", NULL, &r);
	EXPECT_STATUS(r, 200);
	ck_assert_str_eq(r.version, "2.0.0");
	hc_resp_free(&r);
	/* A versioned request still gets its own version. */
	call_v("1.0.3", "GET", "/xapi/statements?limit=1", NULL, &r);
	EXPECT_STATUS(r, 200);
	ck_assert_str_eq(r.version, "1.0.3");
	hc_resp_free(&r);
}
END_TEST

/* A statement by @who whose context names mailto:@agent@example.com in
 * contextAgents (2.0.0 only). */
static char *stmt_context_agent(const char *id, const char *who, const char *agent)
{
	char mbox[128];
	cJSON *s = stmt_json(id, who, "experienced", "ctx");
	cJSON *ca = cJSON_AddArrayToObject(cJSON_AddObjectToObject(s, "context"), "contextAgents");
	cJSON *e = cJSON_CreateObject();
	cJSON_AddStringToObject(e, "objectType", "contextAgent");
	snprintf(mbox, sizeof mbox, "mailto:%s@example.com", agent);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(e, "agent"), "mbox", mbox);
	cJSON *types = cJSON_AddArrayToObject(e, "relevantTypes");
	cJSON_AddItemToArray(types, cJSON_CreateString("https://example.com/types/coach"));
	cJSON_AddItemToArray(ca, e);
	return json_text(s);
}

/* GET ?statementId=@id with version @version: the statement's "version". */
static char *stored_version(const char *version, const char *id)
{
	char path[128];
	struct hc_resp r;
	snprintf(path, sizeof path, "/xapi/statements?statementId=%s", id);
	call_v(version, "GET", path, NULL, &r);
	EXPECT_STATUS(r, 200);
	ck_assert_str_eq(r.version, version);
	cJSON *j = body_json(&r);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "version");
	ck_assert(cJSON_IsString(v));
	char *out = strdup(v->valuestring);
	cJSON_Delete(j);
	hc_resp_free(&r);
	return out;
}

START_TEST(statements_2_0)
{
	struct hc_resp r;
	char id1[37], id2[37], id3[37];
	uuid(id1);
	uuid(id2);
	uuid(id3);
	/* contextAgents: stored from a 2.0 request, refused in a 1.0.3 one. */
	char *body = stmt_context_agent(id1, "alice", "coach");
	call_v("1.0.3", "POST", "/xapi/statements", body, &r);
	assert_error(&r, 400, "invalid_statement");
	hc_resp_free(&r);
	call_v("2.0.0", "POST", "/xapi/statements", body, &r);
	EXPECT_STATUS(r, 200);
	ck_assert_str_eq(r.version, "2.0.0");
	hc_resp_free(&r);
	free(body);

	/* Statements keep the version they came with, whoever reads them. */
	char *v = stored_version("1.0.3", id1);
	ck_assert_str_eq(v, "2.0.0");
	free(v);
	body = stmt(id2, "alice", "experienced", "old");
	call_v("1.0.3", "POST", "/xapi/statements", body, &r);
	EXPECT_STATUS(r, 200);
	hc_resp_free(&r);
	free(body);
	v = stored_version("2.0.0", id2);
	ck_assert_str_eq(v, "1.0.0");
	free(v);
	cJSON *s = stmt_json(id3, "alice", "experienced", "new");
	cJSON_AddStringToObject(s, "version", "2.0.0");
	body = json_text(s);
	call_v("1.0.3", "POST", "/xapi/statements", body, &r);
	assert_error(&r, 400, "invalid_statement");
	hc_resp_free(&r);
	call_v("2.0.0", "POST", "/xapi/statements", body, &r);
	EXPECT_STATUS(r, 200);
	hc_resp_free(&r);
	free(body);

	/* related_agents finds a statement by its context agent. */
	char q[512], agent[] = "{\"mbox\":\"mailto:coach@example.com\"}";
	char *e = hc_escape(agent);
	snprintf(q, sizeof q, "/xapi/statements?agent=%s&related_agents=true", e);
	curl_free(e);
	call_v("2.0.0", "GET", q, NULL, &r);
	EXPECT_STATUS(r, 200);
	cJSON *res = body_json(&r);
	cJSON *list = cJSON_GetObjectItemCaseSensitive(res, "statements");
	ck_assert_int_eq(cJSON_GetArraySize(list), 1);
	ck_assert_str_eq(str_at(cJSON_GetArrayItem(list, 0), "id", NULL), id1);
	cJSON_Delete(res);
	hc_resp_free(&r);
}
END_TEST

START_TEST(alternate_syntax_not_in_2_0)
{
	struct hc_resp r;
	struct hc_req rq = {.method = "POST", .path = "/xapi/statements?method=GET", .user = F.key,
			    .pass = F.secret, .content_type = "application/x-www-form-urlencoded",
			    .body = "X-Experience-API-Version=1.0.3&limit=1"};
	hc_do(&F.hc, &rq, &r);
	EXPECT_STATUS(r, 200);
	ck_assert_str_eq(r.version, "1.0.3");
	hc_resp_free(&r);
	/* The form's version is the request's. */
	rq.body = "X-Experience-API-Version=2.0.0&limit=1";
	hc_do(&F.hc, &rq, &r);
	assert_error(&r, 400, "invalid");
	ck_assert_str_eq(r.version, "2.0.0");
	hc_resp_free(&r);
	/* Without one in the form, the header's counts. */
	rq.body = "limit=1";
	rq.version = "2.0.0";
	hc_do(&F.hc, &rq, &r);
	assert_error(&r, 400, "invalid");
	hc_resp_free(&r);
	rq.version = "1.0.3";
	hc_do(&F.hc, &rq, &r);
	EXPECT_STATUS(r, 200);
	hc_resp_free(&r);
}
END_TEST

/* ---- CORS, ETags, document concurrency (issue 14) ---- */

/* A reply with every header line kept (lower-cased names), for the CORS
 * checks that hc_do does not capture. */
struct raw_resp {
	long status;
	char headers[8192];
	size_t hlen;
	char body[4096];
	size_t blen;
};

static size_t raw_header_cb(char *line, size_t size, size_t nmemb, void *ud)
{
	struct raw_resp *r = ud;
	size_t n = size * nmemb;
	for (size_t i = 0; i < n && r->hlen + 1 < sizeof r->headers; i++) {
		char c = line[i];
		/* names lower-cased up to the first ':' of the line */
		bool in_name = memchr(line, ':', i) == NULL;
		r->headers[r->hlen++] = in_name && c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
	}
	r->headers[r->hlen] = 0;
	return n;
}

static size_t raw_body_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct raw_resp *r = ud;
	size_t n = size * nmemb;
	for (size_t i = 0; i < n && r->blen + 1 < sizeof r->body; i++)
		r->body[r->blen++] = ptr[i];
	r->body[r->blen] = 0;
	return n;
}

/* @method @path with the header lines @hdrs (NULL-terminated) and no
 * credentials unless a line carries them; returns the status. */
static long raw_call(const char *method, const char *path, const char *const *hdrs, const char *body,
		     struct raw_resp *r)
{
	char url[2048];
	memset(r, 0, sizeof *r);
	CURL *cu = F.hc.curl;
	struct curl_slist *h = NULL;
	curl_easy_reset(cu);
	snprintf(url, sizeof url, "http://127.0.0.1:%u%s", (unsigned)F.hc.port, path);
	curl_easy_setopt(cu, CURLOPT_URL, url);
	curl_easy_setopt(cu, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(cu, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(cu, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(cu, CURLOPT_HEADERFUNCTION, raw_header_cb);
	curl_easy_setopt(cu, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(cu, CURLOPT_WRITEFUNCTION, raw_body_cb);
	curl_easy_setopt(cu, CURLOPT_WRITEDATA, r);
	if (body)
		curl_easy_setopt(cu, CURLOPT_POSTFIELDS, body);
	h = curl_slist_append(h, "Expect:");
	for (size_t i = 0; hdrs && hdrs[i]; i++)
		h = curl_slist_append(h, hdrs[i]);
	curl_easy_setopt(cu, CURLOPT_HTTPHEADER, h);
	if (curl_easy_perform(cu) == CURLE_OK)
		curl_easy_getinfo(cu, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(h);
	return r->status;
}

/* Whether the reply has the header line "name: value" (name lower case). */
static bool has_header(const struct raw_resp *r, const char *name, const char *value)
{
	char want[512];
	snprintf(want, sizeof want, "\n%s: %s\r\n", name, value);
	return strstr(r->headers, want) != NULL;
}

static bool has_header_name(const struct raw_resp *r, const char *name)
{
	char want[256];
	snprintf(want, sizeof want, "\n%s:", name);
	return strstr(r->headers, want) != NULL;
}

/* Restarts the server so that it reads the node's settings again. */
static void restart_server(void)
{
	hc_free(&F.hc);
	lv_server_destroy(F.srv);
	struct lv_server_options so = {.host = "127.0.0.1", .port = 0, .threads = 2};
	ck_assert_int_eq(lv_server_start(F.node, &so, &F.srv), LV_OK);
	hc_init(&F.hc, lv_server_port(F.srv));
}

static void basic_header(char *out, size_t n)
{
	char cred[256], b64[400];
	snprintf(cred, sizeof cred, "%s:%s", F.key, F.secret);
	sodium_bin2base64(b64, sizeof b64, (const unsigned char *)cred, strlen(cred),
			  sodium_base64_VARIANT_ORIGINAL);
	snprintf(out, n, "Authorization: Basic %s", b64);
}

START_TEST(cors_origin_syntax)
{
	ck_assert(util_origin_list_valid(""));
	ck_assert(util_origin_list_valid("http://localhost:* https://lms.example.org, http://[::1]:8080"));
	ck_assert(!util_origin_list_valid("*"));
	ck_assert(!util_origin_list_valid("null"));
	ck_assert(!util_origin_list_valid("http://lms.example.org/"));
	ck_assert(!util_origin_list_valid("ftp://lms.example.org"));
	ck_assert(!util_origin_list_valid("http://*.example.org"));
	ck_assert(!util_origin_list_valid("http://lms.example.org:0"));
	const char *list = "http://localhost:* https://LMS.example.org";
	ck_assert(util_origin_allowed(list, "http://localhost:5173"));
	ck_assert(util_origin_allowed(list, "http://localhost"));
	ck_assert(util_origin_allowed(list, "https://lms.example.org"));
	ck_assert(util_origin_allowed(list, "https://lms.example.org:443"));
	ck_assert(!util_origin_allowed(list, "https://lms.example.org:8443"));
	ck_assert(!util_origin_allowed(list, "http://lms.example.org"));
	ck_assert(!util_origin_allowed(list, "https://localhost:5173"));
	ck_assert(!util_origin_allowed(list, "http://localhost.evil.example"));
	ck_assert(!util_origin_allowed(list, "null"));
	ck_assert(!util_origin_allowed(NULL, "http://localhost"));
	/* The node refuses a malformed setting; a valid one is kept. */
	ck_assert_int_eq(lv_node_setting_set(F.node, "cors_origins", "*"), LV_ERR_INVALID);
	ck_assert_int_eq(lv_node_setting_set(F.node, "cors_origins", list), LV_OK);
}
END_TEST

/* Without the setting: no CORS at all, and a preflight is refused. */
START_TEST(cors_off_by_default)
{
	struct raw_resp r;
	const char *pre[] = {"Origin: http://localhost:5173", "Access-Control-Request-Method: POST", NULL};
	ck_assert_int_eq(raw_call("OPTIONS", "/xapi/statements", pre, NULL, &r), 403);
	ck_assert(!has_header_name(&r, "access-control-allow-origin"));
	/* No Origin: the door answers as it always did. */
	const char *plain[] = {"X-Experience-API-Version: 1.0.3", NULL};
	ck_assert_int_eq(raw_call("GET", "/xapi/about", plain, NULL, &r), 200);
	ck_assert(!has_header_name(&r, "access-control-allow-origin"));
	/* The server's own origin (its Host) is not a cross-origin call. */
	char own[64];
	snprintf(own, sizeof own, "Origin: http://127.0.0.1:%u", (unsigned)F.hc.port);
	const char *same[] = {own, NULL};
	ck_assert_int_eq(raw_call("GET", "/xapi/about", same, NULL, &r), 200);
	ck_assert(!has_header_name(&r, "access-control-allow-origin"));
	/* Another origin, not a preflight: refused before any route runs. */
	const char *other[] = {"Origin: http://localhost:5173", NULL};
	ck_assert_int_eq(raw_call("GET", "/xapi/about", other, NULL, &r), 403);
}
END_TEST

START_TEST(cors_preflight_and_replies)
{
	ck_assert_int_eq(lv_node_setting_set(F.node, "cors_origins", "https://lms.example.org http://localhost:*"),
			 LV_OK);
	restart_server();
	struct raw_resp r;
	/* A preflight: no credentials, no version header. */
	const char *pre[] = {"Origin: http://localhost:5173", "Access-Control-Request-Method: PUT",
			     "Access-Control-Request-Headers: authorization,content-type,if-match,x-experience-api-version",
			     NULL};
	ck_assert_int_eq(raw_call("OPTIONS", "/xapi/activities/state", pre, NULL, &r), 204);
	ck_assert_msg(has_header(&r, "access-control-allow-origin", "http://localhost:5173"), "%s", r.headers);
	ck_assert(strstr(r.headers, "access-control-allow-methods: ") && strstr(r.headers, "PUT"));
	ck_assert_msg(has_header(&r, "access-control-allow-headers",
				 "Authorization, X-Experience-API-Version, Content-Type, If-Match, If-None-Match"),
		      "%s", r.headers);
	ck_assert(has_header_name(&r, "access-control-max-age"));
	ck_assert(has_header(&r, "vary", "Origin"));
	ck_assert(!has_header_name(&r, "access-control-allow-credentials"));
	ck_assert_int_eq(raw_call("OPTIONS", "/xapi/about", pre, NULL, &r), 204);
	/* Another origin: 403 and no CORS header. */
	const char *evil[] = {"Origin: https://evil.example", "Access-Control-Request-Method: POST", NULL};
	ck_assert_int_eq(raw_call("OPTIONS", "/xapi/statements", evil, NULL, &r), 403);
	ck_assert(!has_header_name(&r, "access-control-allow-origin"));

	/* An actual request from an allowed origin carries Allow-Origin and
	 * exposes the headers a client reads. */
	char auth[512], path[600];
	basic_header(auth, sizeof auth);
	char *st = stmt(NULL, "cors", "experienced", "cors");
	const char *post[] = {"Origin: https://lms.example.org", auth, "X-Experience-API-Version: 1.0.3",
			      "Content-Type: application/json", NULL};
	ck_assert_int_eq(raw_call("POST", "/xapi/statements", post, st, &r), 200);
	free(st);
	ck_assert_msg(has_header(&r, "access-control-allow-origin", "https://lms.example.org"), "%s", r.headers);
	ck_assert(has_header(&r, "access-control-expose-headers",
			     "ETag, Last-Modified, X-Experience-API-Consistent-Through, X-Experience-API-Version"));
	/* A form POST in the alternate syntax is a "simple request" a
	 * browser sends without asking: from another origin it changes
	 * nothing. */
	char id[37];
	uuid(id);
	snprintf(path, sizeof path, "/xapi/statements?method=PUT");
	char *one = stmt(id, "cors", "experienced", "cors");
	char *enc = curl_easy_escape(F.hc.curl, one, 0);
	char *ecred = curl_easy_escape(F.hc.curl, auth + strlen("Authorization: "), 0);
	char form[8192];
	snprintf(form, sizeof form, "statementId=%s&Authorization=%s&X-Experience-API-Version=1.0.3"
		 "&Content-Type=application%%2Fjson&content=%s", id, ecred, enc);
	curl_free(enc);
	curl_free(ecred);
	free(one);
	const char *simple[] = {"Origin: https://evil.example", "Content-Type: application/x-www-form-urlencoded",
				NULL};
	ck_assert_int_eq(raw_call("POST", path, simple, form, &r), 403);
	ck_assert(!has_header_name(&r, "access-control-allow-origin"));
	cJSON *got = NULL;
	ck_assert_int_eq(get_by_id(id, false, &got), 404);
	/* The same form from an allowed origin is stored. */
	const char *simple_ok[] = {"Origin: http://localhost:8000", "Content-Type: application/x-www-form-urlencoded",
				   NULL};
	ck_assert_int_eq(raw_call("POST", path, simple_ok, form, &r), 204);
	ck_assert_int_eq(get_by_id(id, false, &got), 200);
	cJSON_Delete(got);
}
END_TEST

static void doc_path(char *out, size_t n, const char *resource, const char *params, const char *doc)
{
	snprintf(out, n, "/xapi/%s?%s%s%s", resource, params, doc ? "&" : "", doc ? doc : "");
}

static void quoted_sha1(const char *text, char out[44])
{
	char hex[41];
	lv_document_etag(text, strlen(text), hex);
	snprintf(out, 44, "\"%s\"", hex);
}

START_TEST(document_etags)
{
	char p[1024] = "", path[1200], list[1200], et[44], weak[48];
	struct hc_resp r;
	param(p, sizeof p, "activityId", ACT("etags"));
	param(p, sizeof p, "agent", "{\"objectType\":\"Agent\",\"mbox\":\"mailto:etag@example.com\"}");
	doc_path(path, sizeof path, "activities/state", p, "stateId=s1");
	doc_path(list, sizeof list, "activities/state", p, NULL);
	call("PUT", path, "{\"page\":3}", &r);
	EXPECT_STATUS(r, 204);
	hc_resp_free(&r);
	/* The ETag is the SHA-1 of the content (a known answer). */
	call("GET", path, NULL, &r);
	EXPECT_STATUS(r, 200);
	ck_assert_str_eq(r.etag, "\"025053693d40cee617c43cdc7718f2b1da59b94a\"");
	hc_resp_free(&r);
	quoted_sha1("{\"page\":3}", et);
	snprintf(weak, sizeof weak, "W/%s", et);
	/* If-Match compares strongly: a weak tag never matches. */
	struct hc_req rq = {.method = "PUT", .path = path, .body = "{\"page\":4}", .user = F.key,
			    .pass = F.secret, .if_match = weak};
	hc_do(&F.hc, &rq, &r);
	assert_error(&r, 412, NULL);
	hc_resp_free(&r);
	/* If-None-Match on a GET: 304, no body, the ETag. */
	struct hc_req g = {.path = path, .user = F.key, .pass = F.secret, .if_none_match = et};
	hc_do(&F.hc, &g, &r);
	EXPECT_STATUS(r, 304);
	ck_assert_uint_eq(r.len, 0);
	ck_assert_str_eq(r.etag, et);
	hc_resp_free(&r);
	g.if_none_match = weak; /* weak comparison for If-None-Match */
	hc_do(&F.hc, &g, &r);
	EXPECT_STATUS(r, 304);
	hc_resp_free(&r);
	g.if_none_match = "\"0000000000000000000000000000000000000000\"";
	hc_do(&F.hc, &g, &r);
	EXPECT_STATUS(r, 200);
	hc_resp_free(&r);
	rq.if_match = et;
	hc_do(&F.hc, &rq, &r);
	EXPECT_STATUS(r, 204);
	hc_resp_free(&r);
	/* The id list carries an ETag too: the SHA-1 of the list sent. */
	call("GET", list, NULL, &r);
	EXPECT_STATUS(r, 200);
	ck_assert_str_eq(r.body, "[\"s1\"]");
	quoted_sha1("[\"s1\"]", et);
	ck_assert_str_eq(r.etag, et);
	hc_resp_free(&r);
	g.path = list;
	g.if_none_match = et;
	hc_do(&F.hc, &g, &r);
	EXPECT_STATUS(r, 304);
	hc_resp_free(&r);
}
END_TEST

/* xAPI 1.0.3 Part Three §3.1: a profile PUT without If-Match or
 * If-None-Match is 409 onto an existing document and 400 onto none (the
 * client MUST send one: §3.1.s3.b1, the ADL 1.0.3 suite's XAPI-00273);
 * State in 1.0.3 is overwritten.  2.0 creates a new document without a
 * header and makes State like the profiles: pending the version
 * negotiation of issue 14 item 1, which refuses 2.0 today. */
START_TEST(profile_put_without_precondition)
{
	char p[1024] = "", a[1024] = "", s[1024] = "", path[1200];
	struct hc_resp r;
	param(p, sizeof p, "activityId", ACT("profiled"));
	param(a, sizeof a, "agent", "{\"objectType\":\"Agent\",\"mbox\":\"mailto:prof@example.com\"}");
	const char *res[] = {"activities/profile", "agents/profile"};
	const char *par[] = {p, a};
	for (int i = 0; i < 2; i++) {
		doc_path(path, sizeof path, res[i], par[i], "profileId=settings");
		call("PUT", path, "{\"v\":1}", &r);
		assert_error(&r, 400, NULL);
		hc_resp_free(&r);
		struct hc_req rq = {.method = "PUT", .path = path, .body = "{\"v\":1}", .user = F.key,
				    .pass = F.secret, .if_none_match = "*"};
		hc_do(&F.hc, &rq, &r);
		EXPECT_STATUS(r, 204);
		hc_resp_free(&r);
		call("PUT", path, "{\"v\":2}", &r);
		assert_error(&r, 409, NULL);
		hc_resp_free(&r);
		call("GET", path, NULL, &r);
		ck_assert_str_eq(r.body, "{\"v\":1}");
		hc_resp_free(&r);
		/* POST merges without a precondition, as before. */
		call("POST", path, "{\"w\":2}", &r);
		EXPECT_STATUS(r, 204);
		hc_resp_free(&r);
	}
	snprintf(s, sizeof s, "%s&%s", p, a);
	doc_path(path, sizeof path, "activities/state", s, "stateId=st");
	call("PUT", path, "{\"v\":1}", &r);
	EXPECT_STATUS(r, 204);
	hc_resp_free(&r);
	call("PUT", path, "{\"v\":2}", &r);
	EXPECT_STATUS(r, 204);
	hc_resp_free(&r);
}
END_TEST

/* The 2.0 rule at the store (the door reaches it once version
 * negotiation lands): with may_create a PUT without a header creates a
 * new document and is 409 onto an existing one, State included. */
START_TEST(document_may_create)
{
	struct lv_principal who;
	char err[LV_ERR_TEXT];
	ck_assert_int_eq(lv_credential_check(F.node, F.key, F.secret, &who), LV_OK);
	cJSON *agent = cJSON_Parse("{\"objectType\":\"Agent\",\"mbox\":\"mailto:v2@example.com\"}");
	const struct lv_doc_key keys[] = {
		{.kind = LV_DOC_STATE, .activity = ACT("v2"), .agent = agent, .doc_id = "s"},
		{.kind = LV_DOC_ACTIVITY_PROFILE, .activity = ACT("v2"), .doc_id = "p"},
		{.kind = LV_DOC_AGENT_PROFILE, .agent = agent, .doc_id = "p"},
	};
	const struct lv_doc_precondition v2 = {.required = true, .may_create = true};
	const struct lv_doc_precondition v1 = {.required = true};
	for (size_t i = 0; i < 3; i++) {
		const unsigned char body[] = "{\"a\":1}";
		ck_assert_int_eq(lv_document_put(F.node, &who, &keys[i], "application/json", body, 7, false, &v1, err),
				 LV_ERR_INVALID);
		ck_assert_int_eq(lv_document_put(F.node, &who, &keys[i], "application/json", body, 7, false, &v2, err),
				 LV_OK);
		ck_assert_int_eq(lv_document_put(F.node, &who, &keys[i], "application/json", body, 7, false, &v2, err),
				 LV_ERR_CONFLICT);
		struct lv_document d;
		ck_assert_int_eq(lv_document_get(F.node, &who, &keys[i], &d), LV_OK);
		ck_assert_str_eq(d.etag, "9f89c740ceb46d7418c924a78ac57941d5e96520"); /* SHA-1 of the body */
		lv_document_clear(&d);
	}
	cJSON_Delete(agent);
	lv_principal_clear(&who);
}
END_TEST

/* A returned attachment part says the statement's contentType for it,
 * whichever statement uploaded the same bytes last. */
static long post_with_attachment(const char *id, const char *ctype, struct hc_resp *r)
{
	const char *data = "hello, attachment";
	unsigned char h[32];
	char sha[65], body[4096];
	crypto_hash_sha256(h, (const unsigned char *)data, strlen(data));
	sodium_bin2hex(sha, sizeof sha, h, 32);
	cJSON *st = stmt_json(id, "att", "experienced", "att");
	cJSON *arr = cJSON_AddArrayToObject(st, "attachments");
	cJSON *at = cJSON_CreateObject();
	cJSON_AddStringToObject(at, "usageType", "http://example.com/usage/notes");
	cJSON *d = cJSON_AddObjectToObject(at, "display");
	cJSON_AddStringToObject(d, "en-US", "notes");
	cJSON_AddStringToObject(at, "contentType", ctype);
	cJSON_AddNumberToObject(at, "length", (double)strlen(data));
	cJSON_AddStringToObject(at, "sha2", sha);
	cJSON_AddItemToArray(arr, at);
	char *text = json_text(st);
	snprintf(body, sizeof body,
		 "--xyzzy\r\nContent-Type: application/json\r\n\r\n%s\r\n"
		 "--xyzzy\r\nContent-Type: %s\r\nContent-Transfer-Encoding: binary\r\n"
		 "X-Experience-API-Hash: %s\r\n\r\n%s\r\n--xyzzy--\r\n", text, ctype, sha, data);
	free(text);
	struct hc_req rq = {.method = "POST", .path = "/xapi/statements", .body = body, .user = F.key,
			    .pass = F.secret, .content_type = "multipart/mixed; boundary=xyzzy"};
	return hc_do(&F.hc, &rq, r);
}

START_TEST(attachment_part_content_type)
{
	char id1[37], id2[37], path[256];
	struct hc_resp r;
	uuid(id1);
	uuid(id2);
	post_with_attachment(id1, "text/plain", &r);
	EXPECT_STATUS(r, 200);
	hc_resp_free(&r);
	post_with_attachment(id2, "application/x-notes", &r);
	EXPECT_STATUS(r, 200);
	hc_resp_free(&r);
	snprintf(path, sizeof path, "/xapi/statements?statementId=%s&attachments=true", id1);
	call("GET", path, NULL, &r);
	EXPECT_STATUS(r, 200);
	ck_assert_msg(strstr(r.body, "Content-Type: text/plain") != NULL, "%s", r.body);
	ck_assert_msg(strstr(r.body, "application/x-notes") == NULL, "%s", r.body);
	hc_resp_free(&r);
}
END_TEST

static TCase *tcase(Suite *s, const char *name, void (*setup_fn)(void))
{
	TCase *tc = tcase_create(name);
	tcase_add_checked_fixture(tc, setup_fn, teardown);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return tc;
}

Suite *lv_test_suite(void)
{
	Suite *s = suite_create("http");
	TCase *tc = tcase(s, "roundtrip", setup);
	tcase_add_test(tc, post_one_and_get_it);
	tcase_add_test(tc, put_with_statement_id);
	tcase_add_test(tc, post_batch_of_three);
	tc = tcase(s, "query", setup);
	tcase_add_test(tc, query_filters);
	tcase_add_test(tc, query_paging);
	tc = tcase(s, "learner", setup);
	tcase_add_test(tc, learner_consents);
	tcase_add_test(tc, learner_door);
	tcase_add_test(tc, learner_vault_export);
	tc = tcase(s, "audit", setup);
	tcase_add_test(tc, auditor_door);
	tcase_add_test(tc, provider_readback_is_logged);
	tc = tcase(s, "policies", setup);
	tcase_add_test(tc, policies_listed);
	tc = tcase(s, "voiding", setup);
	tcase_add_test(tc, voiding);
	tc = tcase(s, "documents", setup);
	tcase_add_test(tc, state_document);
	tcase_add_test(tc, document_etags);
	tcase_add_test(tc, profile_put_without_precondition);
	tcase_add_test(tc, document_may_create);
	tc = tcase(s, "cors", setup);
	tcase_add_test(tc, cors_origin_syntax);
	tcase_add_test(tc, cors_off_by_default);
	tcase_add_test(tc, cors_preflight_and_replies);
	tc = tcase(s, "attachments", setup);
	tcase_add_test(tc, attachment_part_content_type);
	tc = tcase(s, "activities", setup);
	tcase_add_test(tc, activity_definition_last_writer_wins);
	tc = tcase(s, "about", setup);
	tcase_add_test(tc, about_without_auth);
	tc = tcase(s, "versions", setup);
	tcase_add_test(tc, version_negotiation);
	tcase_add_test(tc, statements_2_0);
	tcase_add_test(tc, alternate_syntax_not_in_2_0);
	tc = tcase(s, "errors", setup);
	tcase_add_test(tc, error_malformed_json);
	tcase_add_test(tc, error_not_strict_json);
	tcase_add_test(tc, error_unclean_url_parameter);
	tcase_add_test(tc, error_schema_violation);
	tcase_add_test(tc, error_conflict);
	tcase_add_test(tc, error_missing_credentials);
	tcase_add_test(tc, error_wrong_password);
	tcase_add_test(tc, error_not_a_provider);
	tcase_add_test(tc, error_unknown_route);
	tcase_add_test(tc, error_missing_version);
	tc = tcase(s, "body_cap", setup_small_cap);
	tcase_add_test(tc, error_body_too_large);
	tc = tcase(s, "atomicity", setup);
	tcase_add_test(tc, batch_invalid_third);
	tcase_add_test(tc, batch_conflict_second);
	tc = tcase(s, "isolation", setup);
	tcase_add_test(tc, providers_isolated);
	tc = tcase(s, "auto_enrol", setup);
	tcase_add_test(tc, auto_enrol_off);
	return s;
}
