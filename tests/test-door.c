/* The read doors (include/learnvault/door.h): each decides and logs the
 * access before it releases anything, and releases nothing when the
 * decision is a denial or the audit entry cannot be written. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "harness.h"
#include "learnvault/util.h"
#include "learnvault/auditlog.h"
#include "learnvault/consent.h"
#include "learnvault/door.h"
#include "learnvault/statements.h"
#include "store/store.h"

static char dir[512];
static struct lv_node *node;
static const struct lv_principal prov = {.role = LV_ROLE_PROVIDER, .id = "p1"};
static char ann[LV_PSEUDONYM_LEN], bob[LV_PSEUDONYM_LEN];

static cJSON *stmt(const char *id, const char *who)
{
	char text[512];
	snprintf(text, sizeof text,
		 "{\"id\":\"%s\",\"actor\":{\"mbox\":\"mailto:%s@x.org\"},\"verb\":{\"id\":\"http://x.org/v\"},"
		 "\"object\":{\"id\":\"http://x.org/door\"}}", id, who);
	return cJSON_Parse(text);
}

/* ann, bob, ann: three statements of provider p1, stored in that order. */
static void setup(void)
{
	snprintf(dir, sizeof dir, "%s/node", th_tmpdir());
	char *vkey = NULL;
	ck_assert_int_eq(lv_node_init(dir, NULL, "school.example/node-1", &vkey), LV_OK);
	free(vkey);
	ck_assert_int_eq(lv_node_open(dir, NULL, NULL, &node), LV_OK);
	cJSON *b = cJSON_CreateArray();
	cJSON_AddItemToArray(b, stmt("aaaaaaaa-0000-4000-8000-000000000001", "ann"));
	cJSON_AddItemToArray(b, stmt("bbbbbbbb-0000-4000-8000-000000000002", "bob"));
	cJSON_AddItemToArray(b, stmt("aaaaaaaa-0000-4000-8000-000000000003", "ann"));
	char err[LV_ERR_LEN];
	ck_assert_int_eq(lv_ingest(node, &prov, b, NULL, 0, err), LV_OK);
	cJSON_Delete(b);
	bool created;
	ck_assert_int_eq(lv_learner_enrol(node, "{\"mbox\":\"mailto:ann@x.org\"}", ann, &created), LV_OK);
	ck_assert(!created);
	ck_assert_int_eq(lv_learner_enrol(node, "{\"mbox\":\"mailto:bob@x.org\"}", bob, &created), LV_OK);
	ck_assert(!created);
}

static void teardown(void)
{
	lv_node_close(node);
	node = NULL;
	th_rmtree(dir);
}

/* Entry @i (from @start) parsed; the caller deletes it. */
static cJSON *entry(uint64_t start, uint64_t i)
{
	cJSON *arr = NULL;
	ck_assert_int_eq(lv_audit_entries(node, start + i, start + i + 1, &arr), LV_OK);
	cJSON *e = cJSON_Parse(cJSON_GetArrayItem(arr, 0)->valuestring);
	cJSON_Delete(arr);
	ck_assert_ptr_nonnull(e);
	return e;
}

static void assert_access(cJSON *e, const char *decision, const char *purpose, const char *resource,
			  const char *learner, int count)
{
	ck_assert_str_eq(cJSON_GetObjectItem(e, "type")->valuestring, "access");
	ck_assert_str_eq(cJSON_GetObjectItem(e, "decision")->valuestring, decision);
	ck_assert_str_eq(cJSON_GetObjectItem(e, "purpose")->valuestring, purpose);
	ck_assert_str_eq(cJSON_GetObjectItem(e, "resource")->valuestring, resource);
	ck_assert_str_eq(cJSON_GetObjectItem(e, "learner")->valuestring, learner);
	ck_assert_int_eq((int)cJSON_GetObjectItem(e, "count")->valuedouble, count);
	cJSON_Delete(e);
}

START_TEST(readback_logs_each_learner_once_in_order)
{
	struct lv_statement_query q = {.since_ms = INT64_MIN, .until_ms = INT64_MAX, .ascending = true};
	cJSON *arr = NULL;
	int64_t next = -1;
	uint64_t before = lv_audit_size(node);
	ck_assert_int_eq(lv_readback_statements(node, &prov, &q, &arr, &next), LV_OK);
	ck_assert_int_eq(cJSON_GetArraySize(arr), 3);
	ck_assert_int_eq(next, 0);
	cJSON_Delete(arr);
	/* ann first (two rows), then bob. */
	ck_assert_uint_eq(lv_audit_size(node), before + 2);
	assert_access(entry(before, 0), "allow", LV_PURPOSE_PROVIDER_READBACK, "xapi-statements", ann, 2);
	assert_access(entry(before, 1), "allow", LV_PURPOSE_PROVIDER_READBACK, "xapi-statements", bob, 1);
	/* A page of one row: one entry, and the cursor of the next page. */
	q.limit = 1;
	before = lv_audit_size(node);
	ck_assert_int_eq(lv_readback_statements(node, &prov, &q, &arr, &next), LV_OK);
	ck_assert_int_eq(cJSON_GetArraySize(arr), 1);
	ck_assert_int_gt(next, 0);
	cJSON_Delete(arr);
	ck_assert_uint_eq(lv_audit_size(node), before + 1);
	assert_access(entry(before, 0), "allow", LV_PURPOSE_PROVIDER_READBACK, "xapi-statements", ann, 1);
	/* Another provider's page is empty and logs nothing. */
	struct lv_principal p2 = {.role = LV_ROLE_PROVIDER, .id = "p2"};
	before = lv_audit_size(node);
	ck_assert_int_eq(lv_readback_statements(node, &p2, &q, &arr, &next), LV_OK);
	ck_assert_int_eq(cJSON_GetArraySize(arr), 0);
	cJSON_Delete(arr);
	ck_assert_uint_eq(lv_audit_size(node), before);
	/* One statement by id: one entry for its learner. */
	cJSON *one = NULL;
	ck_assert_int_eq(lv_readback_statement(node, &prov, "bbbbbbbb-0000-4000-8000-000000000002", false, &one), LV_OK);
	ck_assert_str_eq(cJSON_GetObjectItem(one, "id")->valuestring, "bbbbbbbb-0000-4000-8000-000000000002");
	cJSON_Delete(one);
	ck_assert_uint_eq(lv_audit_size(node), before + 1);
	assert_access(entry(before, 0), "allow", LV_PURPOSE_PROVIDER_READBACK, "xapi-statements", bob, 1);
	ck_assert_int_eq(lv_readback_statement(node, &prov, "bbbbbbbb-0000-4000-8000-000000000002", true, &one),
			 LV_ERR_NOT_FOUND);
	ck_assert_ptr_null(one);
}
END_TEST

/* A page ends at the byte cap (max_page_bytes), one statement at least;
 * "more" leads to the rest, each statement once.  Before the cap, a page
 * of ten 8 MiB statements was 84 MB. */
START_TEST(readback_page_capped_in_bytes)
{
	enum { N = 10, PAD = 200000 };
	char *pad = malloc(PAD + 1);
	memset(pad, 'x', PAD);
	pad[PAD] = 0;
	cJSON *b = cJSON_CreateArray();
	for (int i = 0; i < N; i++) {
		char id[64];
		snprintf(id, sizeof id, "cccccccc-0000-4000-8000-%012d", i);
		cJSON *st = stmt(id, "cap");
		cJSON *res = cJSON_AddObjectToObject(st, "result");
		cJSON_AddStringToObject(res, "response", pad);
		cJSON_AddItemToArray(b, st);
	}
	free(pad);
	char err[LV_ERR_LEN];
	ck_assert_msg(lv_ingest(node, &prov, b, NULL, 0, err) == LV_OK, "%s", err);
	cJSON_Delete(b);
	ck_assert_int_eq(lv_node_setting_set(node, "max_page_bytes", "100"), LV_ERR_INVALID);
	ck_assert_int_eq(lv_node_setting_set(node, "max_page_bytes", "1000000"), LV_OK);
	struct lv_statement_query q = {.since_ms = INT64_MIN, .until_ms = INT64_MAX, .ascending = true, .limit = 50};
	bool seen[N] = {false};
	int pages = 0, total = 0;
	int64_t next = 0;
	do {
		cJSON *arr = NULL, *it;
		q.after_seq = next;
		ck_assert_int_eq(lv_readback_statements(node, &prov, &q, &arr, &next), LV_OK);
		char *text = cJSON_PrintUnformatted(arr);
		/* Five statements of 200 KB reach 1 MB; the sixth starts a page. */
		ck_assert_uint_lt(strlen(text), 1000000 + 2 * PAD);
		free(text);
		cJSON_ArrayForEach(it, arr) {
			const char *id = cJSON_GetObjectItem(it, "id")->valuestring;
			if (strncmp(id, "cccccccc", 8) != 0)
				continue;
			int k = atoi(id + 24);
			ck_assert(!seen[k]);
			seen[k] = true;
			total++;
		}
		cJSON_Delete(arr);
		pages++;
	} while (next && pages < 20);
	ck_assert_int_eq(total, N);
	ck_assert_int_ge(pages, 2);
	/* Newest first, one 200 KB statement passes a 1 KiB cap alone. */
	ck_assert_int_eq(lv_node_setting_set(node, "max_page_bytes", "1024"), LV_OK);
	q.after_seq = 0;
	q.ascending = false;
	cJSON *arr = NULL;
	ck_assert_int_eq(lv_readback_statements(node, &prov, &q, &arr, &next), LV_OK);
	ck_assert_int_eq(cJSON_GetArraySize(arr), 1);
	ck_assert_int_gt(next, 0);
	cJSON_Delete(arr);
}
END_TEST

/* The export streamed in pieces is the export's document: the same
 * statements in the same order, a page per piece, and only those stored
 * before it was opened (its access entry counts them). */
START_TEST(export_streamed_in_pieces)
{
	struct lv_principal self = {.role = LV_ROLE_LEARNER, .id = "ann-token"};
	snprintf(self.learner, sizeof self.learner, "%s", ann);
	cJSON *b = cJSON_CreateArray();
	for (int i = 0; i < 40; i++) {
		char id[64];
		snprintf(id, sizeof id, "dddddddd-0000-4000-8000-%012d", i);
		cJSON_AddItemToArray(b, stmt(id, "ann"));
	}
	char err[LV_ERR_LEN];
	ck_assert_msg(lv_ingest(node, &prov, b, NULL, 0, err) == LV_OK, "%s", err);
	cJSON_Delete(b);
	cJSON *whole = NULL;
	ck_assert_int_eq(lv_learner_export(node, &self, ann, LV_PURPOSE_SELF, &whole), LV_OK);
	ck_assert_int_eq(lv_node_setting_set(node, "max_page_bytes", "1024"), LV_OK);
	struct lv_learner_export *x = NULL;
	uint64_t before = lv_audit_size(node);
	ck_assert_int_eq(lv_learner_export_open(node, &self, ann, LV_PURPOSE_SELF, &x), LV_OK);
	/* Stored after the export was opened: not in it. */
	b = cJSON_CreateArray();
	cJSON_AddItemToArray(b, stmt("eeeeeeee-0000-4000-8000-000000000001", "ann"));
	ck_assert_msg(lv_ingest(node, &prov, b, NULL, 0, err) == LV_OK, "%s", err);
	cJSON_Delete(b);
	struct buf text;
	buf_init(&text, (size_t)1 << 30);
	int pieces = 0;
	char *chunk = NULL;
	for (;;) {
		ck_assert_int_eq(lv_learner_export_next(x, &chunk), LV_OK);
		if (!chunk)
			break;
		ck_assert_int_eq(buf_append_str(&text, chunk), LV_OK);
		free(chunk);
		pieces++;
	}
	lv_learner_export_destroy(x);
	ck_assert_int_gt(pieces, 4); /* head, pages of a few statements, tail */
	cJSON *got = cJSON_Parse(text.data);
	buf_free(&text);
	ck_assert_ptr_nonnull(got);
	cJSON *ws = cJSON_GetObjectItem(whole, "statements"), *gs = cJSON_GetObjectItem(got, "statements");
	ck_assert_int_eq(cJSON_GetArraySize(gs), 42); /* ann's two from setup and the 40 */
	ck_assert(cJSON_Compare(ws, gs, true));
	ck_assert_str_eq(cJSON_GetObjectItem(got, "format")->valuestring, "learnvault-learner-export");
	ck_assert_ptr_nonnull(cJSON_GetObjectItem(got, "access_report"));
	ck_assert_ptr_nonnull(cJSON_GetObjectItem(got, "consents"));
	assert_access(entry(before, 0), "allow", LV_PURPOSE_SELF, "export", ann, 42);
	cJSON_Delete(got);
	cJSON_Delete(whole);
}
END_TEST

START_TEST(readback_refused_to_a_non_provider)
{
	struct lv_principal analyst = {.role = LV_ROLE_ANALYST, .id = "an"};
	struct lv_statement_query q = {.since_ms = INT64_MIN, .until_ms = INT64_MAX};
	cJSON *got = (cJSON *)1;
	int64_t next = -1;
	uint64_t before = lv_audit_size(node);
	/* Rows are selected by credential id: give the analyst the provider's. */
	snprintf(analyst.id, sizeof analyst.id, "%s", prov.id);
	ck_assert_int_eq(lv_readback_statements(node, &analyst, &q, &got, &next), LV_ERR_FORBIDDEN);
	ck_assert_ptr_null(got);
	ck_assert_int_eq(next, 0);
	got = (cJSON *)1;
	ck_assert_int_eq(lv_readback_statement(node, &analyst, "aaaaaaaa-0000-4000-8000-000000000001", false, &got),
			 LV_ERR_FORBIDDEN);
	ck_assert_ptr_null(got);
	/* All or nothing: the page's transaction is rolled back. */
	ck_assert_uint_eq(lv_audit_size(node), before);
}
END_TEST

START_TEST(learner_statements_logged_and_own_only)
{
	struct lv_principal self = {.role = LV_ROLE_LEARNER, .id = "me"};
	memcpy(self.learner, ann, sizeof self.learner);
	cJSON *arr = NULL;
	int64_t next = -1;
	uint64_t before = lv_audit_size(node);
	ck_assert_int_eq(lv_learner_statements(node, &self, ann, 0, 1, &arr, &next), LV_OK);
	ck_assert_int_eq(cJSON_GetArraySize(arr), 1);
	ck_assert_int_gt(next, 0);
	cJSON_Delete(arr);
	ck_assert_int_eq(lv_learner_statements(node, &self, ann, next, 0, &arr, &next), LV_OK);
	ck_assert_int_eq(cJSON_GetArraySize(arr), 1);
	ck_assert_int_eq(next, 0);
	cJSON_Delete(arr);
	/* Past the end: an empty page, logged all the same. */
	ck_assert_int_eq(lv_learner_statements(node, &self, ann, INT64_MAX - 1, 0, &arr, &next), LV_OK);
	ck_assert_int_eq(cJSON_GetArraySize(arr), 0);
	cJSON_Delete(arr);
	ck_assert_uint_eq(lv_audit_size(node), before + 3);
	assert_access(entry(before, 0), "allow", LV_PURPOSE_SELF, "statements", ann, 1);
	assert_access(entry(before, 2), "allow", LV_PURPOSE_SELF, "statements", ann, 0);
	/* Bob's statements to ann's credential: refused, and the denial is logged. */
	arr = (cJSON *)1;
	before = lv_audit_size(node);
	ck_assert_int_eq(lv_learner_statements(node, &self, bob, 0, 0, &arr, &next), LV_ERR_FORBIDDEN);
	ck_assert_ptr_null(arr);
	ck_assert_int_eq(next, 0);
	ck_assert_uint_eq(lv_audit_size(node), before + 1);
	assert_access(entry(before, 0), "deny", LV_PURPOSE_SELF, "statements", bob, 1);
}
END_TEST

START_TEST(access_report_writes_no_entry)
{
	struct lv_principal self = {.role = LV_ROLE_LEARNER, .id = "me"};
	memcpy(self.learner, ann, sizeof self.learner);
	cJSON *arr = NULL;
	int64_t next;
	ck_assert_int_eq(lv_learner_statements(node, &self, ann, 0, 0, &arr, &next), LV_OK);
	cJSON_Delete(arr);
	uint64_t before = lv_audit_size(node);
	cJSON *rep = NULL;
	ck_assert_int_eq(lv_learner_access_report(node, ann, &rep), LV_OK);
	ck_assert_uint_eq(lv_audit_size(node), before);
	ck_assert_str_eq(cJSON_GetObjectItem(rep, "learner")->valuestring, ann);
	/* The read just made is in it (with the enrolment). */
	int reads = 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, cJSON_GetObjectItem(rep, "entries"))
		reads += strstr(cJSON_GetObjectItem(e, "entry")->valuestring, "\"resource\":\"statements\"") != NULL;
	ck_assert_int_eq(reads, 1);
	/* No aggregate included Ann: the releases she was in are none. */
	const cJSON *rels = cJSON_GetObjectItem(rep, "releases");
	ck_assert(cJSON_IsArray(rels));
	ck_assert_int_eq(cJSON_GetArraySize(rels), 0);
	cJSON_Delete(rep);
}
END_TEST

START_TEST(export_counts_every_statement)
{
	struct lv_principal admin = {.role = LV_ROLE_ADMIN, .id = "cli"};
	cJSON *doc = NULL;
	uint64_t before = lv_audit_size(node);
	ck_assert_int_eq(lv_learner_export(node, &admin, ann, LV_PURPOSE_OPERATOR_REQUEST, &doc), LV_OK);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "statements")), 2);
	ck_assert_str_eq(cJSON_GetObjectItem(doc, "learner")->valuestring, ann);
	/* The report was read after the entry was written: it holds it. */
	char *text = cJSON_PrintUnformatted(cJSON_GetObjectItem(doc, "access_report"));
	ck_assert_ptr_nonnull(strstr(text, "\\\"resource\\\":\\\"export\\\""));
	free(text);
	cJSON_Delete(doc);
	ck_assert_uint_eq(lv_audit_size(node), before + 1);
	assert_access(entry(before, 0), "allow", LV_PURPOSE_OPERATOR_REQUEST, "export", ann, 2);
}
END_TEST

/* If the audit entry cannot be written, no door releases anything. */
START_TEST(fail_closed_when_the_log_cannot_be_written)
{
	struct lv_principal self = {.role = LV_ROLE_LEARNER, .id = "me"};
	memcpy(self.learner, ann, sizeof self.learner);
	struct lv_statement_query q = {.since_ms = INT64_MIN, .until_ms = INT64_MAX};
	ck_assert_int_eq(sqlite3_exec(node->db, "DROP TABLE audit_log", NULL, NULL, NULL), SQLITE_OK);
	cJSON *got = NULL;
	int64_t next = -1;
	ck_assert_int_ne(lv_readback_statements(node, &prov, &q, &got, &next), LV_OK);
	ck_assert_ptr_null(got);
	ck_assert_int_eq(next, 0);
	ck_assert_int_ne(lv_readback_statement(node, &prov, "aaaaaaaa-0000-4000-8000-000000000001", false, &got),
			 LV_OK);
	ck_assert_ptr_null(got);
	next = -1;
	ck_assert_int_ne(lv_learner_statements(node, &self, ann, 0, 0, &got, &next), LV_OK);
	ck_assert_ptr_null(got);
	ck_assert_int_eq(next, 0);
	ck_assert_int_ne(lv_learner_export(node, &self, ann, LV_PURPOSE_SELF, &got), LV_OK);
	ck_assert_ptr_null(got);
	unsigned char *file = NULL;
	size_t len = 1;
	char err[LV_ERR_LEN];
	const char *pass = "a long enough passphrase";
	ck_assert_int_ne(lv_learner_vault_export(node, &self, ann, LV_PURPOSE_SELF, pass, strlen(pass), &file, &len, err),
			 LV_OK);
	ck_assert_ptr_null(file);
	ck_assert_uint_eq(len, 0);
	ck_assert_ptr_nonnull(strstr(err, "cannot log the access"));
}
END_TEST

START_TEST(vault_export_names_the_failed_step)
{
	struct lv_principal admin = {.role = LV_ROLE_ADMIN, .id = "cli"};
	struct lv_principal analyst = {.role = LV_ROLE_ANALYST, .id = "an"};
	const char *pass = "a long enough passphrase";
	unsigned char *file = NULL;
	size_t len = 1;
	char err[LV_ERR_LEN];
	char nobody[LV_PSEUDONYM_LEN];
	memset(nobody, 'a', LV_PSEUDONYM_LEN - 1);
	nobody[LV_PSEUDONYM_LEN - 1] = '\0';
	ck_assert_int_eq(lv_learner_vault_export(node, &admin, nobody, LV_PURPOSE_OPERATOR_REQUEST, pass, strlen(pass),
						 &file, &len, err), LV_ERR_NOT_FOUND);
	ck_assert_str_eq(err, "no such learner");
	ck_assert_ptr_null(file);
	ck_assert_uint_eq(len, 0);
	/* The copy is made, the access refused (and logged): nothing leaves. */
	uint64_t before = lv_audit_size(node);
	ck_assert_int_eq(lv_learner_vault_export(node, &analyst, ann, LV_PURPOSE_OPERATOR_REQUEST, pass, strlen(pass),
						 &file, &len, err), LV_ERR_FORBIDDEN);
	ck_assert_ptr_null(file);
	ck_assert_uint_eq(len, 0);
	ck_assert_str_eq(err, "cannot log the access, nothing written: forbidden");
	ck_assert_uint_eq(lv_audit_size(node), before + 1);
	assert_access(entry(before, 0), "deny", LV_PURPOSE_OPERATOR_REQUEST, "vault-export", ann, 1);
	ck_assert_int_eq(lv_learner_vault_export(node, &admin, ann, LV_PURPOSE_OPERATOR_REQUEST, pass, strlen(pass),
						 &file, &len, err), LV_OK);
	ck_assert_ptr_nonnull(file);
	ck_assert_uint_gt(len, 0);
	free(file);
	assert_access(entry(before, 1), "allow", LV_PURPOSE_OPERATOR_REQUEST, "vault-export", ann, 1);
}
END_TEST

/* Attachment bodies stored with a batch come back for the statements the
 * read-back door released. */
START_TEST(attachments_of_released_statements)
{
	static const char body[] = "attachment body";
	unsigned char h[crypto_hash_sha256_BYTES];
	char sha[2 * sizeof h + 1];
	crypto_hash_sha256(h, (const unsigned char *)body, sizeof body - 1);
	sodium_bin2hex(sha, sizeof sha, h, sizeof h);
	cJSON *s = stmt("cccccccc-0000-4000-8000-000000000004", "bob");
	cJSON *al = cJSON_AddArrayToObject(s, "attachments");
	cJSON *a = cJSON_CreateObject();
	cJSON_AddStringToObject(a, "usageType", "http://x.org/att");
	cJSON_AddStringToObject(a, "contentType", "text/plain");
	cJSON_AddNumberToObject(a, "length", sizeof body - 1);
	cJSON_AddStringToObject(a, "sha2", sha);
	cJSON_AddItemToArray(al, a);
	cJSON *b = cJSON_CreateArray();
	cJSON_AddItemToArray(b, s);
	struct lv_attachment att = {.sha2 = sha, .content_type = "text/plain", .data = (const unsigned char *)body,
				    .len = sizeof body - 1};
	char err[LV_ERR_LEN];
	ck_assert_int_eq(lv_ingest(node, &prov, b, &att, 1, err), LV_OK);
	cJSON_Delete(b);
	cJSON *got = NULL;
	ck_assert_int_eq(lv_readback_statement(node, &prov, "cccccccc-0000-4000-8000-000000000004", false, &got), LV_OK);
	cJSON *arr = cJSON_CreateArray();
	cJSON_AddItemToArray(arr, got);
	struct lv_attachment *out = NULL;
	size_t n = 0;
	ck_assert_int_eq(lv_statement_attachments(node, prov.id, arr, &out, &n), LV_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(out[0].sha2, sha);
	ck_assert_str_eq(out[0].content_type, "text/plain");
	ck_assert_uint_eq(out[0].len, sizeof body - 1);
	ck_assert_int_eq(memcmp(out[0].data, body, sizeof body - 1), 0);
	lv_attachments_free(out, n);
	/* Statements without attachments: none. */
	cJSON *none = cJSON_CreateArray();
	cJSON_AddItemToArray(none, stmt("dddddddd-0000-4000-8000-000000000005", "ann"));
	ck_assert_int_eq(lv_statement_attachments(node, prov.id, none, &out, &n), LV_OK);
	ck_assert_uint_eq(n, 0);
	lv_attachments_free(out, n);
	cJSON_Delete(none);
	cJSON_Delete(arr);
}
END_TEST

/* Issue 13, provider isolation: a provider whose own statement names
 * another provider's attachment by hash (with a fileUrl, so without
 * sending the body) does not get that provider's body back. */
START_TEST(attachments_only_of_their_sender)
{
	static const char body[] = "a learner's essay";
	unsigned char h[crypto_hash_sha256_BYTES];
	char sha[2 * sizeof h + 1], err[LV_ERR_LEN];
	crypto_hash_sha256(h, (const unsigned char *)body, sizeof body - 1);
	sodium_bin2hex(sha, sizeof sha, h, sizeof h);
	const struct lv_principal prov2 = {.role = LV_ROLE_PROVIDER, .id = "p2"};
	const char *ids[2] = {"eeeeeeee-0000-4000-8000-000000000006", "ffffffff-0000-4000-8000-000000000007"};
	for (int k = 0; k < 2; k++) {
		cJSON *s = stmt(ids[k], "bob");
		cJSON *a = cJSON_CreateObject();
		cJSON_AddStringToObject(a, "usageType", "http://x.org/att");
		cJSON_AddItemToObject(a, "display", cJSON_Parse("{\"en-US\":\"essay\"}"));
		cJSON_AddStringToObject(a, "contentType", "text/plain");
		cJSON_AddNumberToObject(a, "length", sizeof body - 1);
		cJSON_AddStringToObject(a, "sha2", sha);
		if (k == 1)
			cJSON_AddStringToObject(a, "fileUrl", "http://p2.example/essay.txt");
		cJSON_AddItemToArray(cJSON_AddArrayToObject(s, "attachments"), a);
		cJSON *b = cJSON_CreateArray();
		cJSON_AddItemToArray(b, s);
		struct lv_attachment att = {.sha2 = sha, .content_type = "text/plain",
					    .data = (const unsigned char *)body, .len = sizeof body - 1};
		/* p1 sends the body; p2 only names it. */
		ck_assert_msg(lv_ingest(node, k ? &prov2 : &prov, b, k ? NULL : &att, k ? 0 : 1, err) == LV_OK, "%s", err);
		cJSON_Delete(b);
	}
	for (int k = 0; k < 2; k++) {
		const struct lv_principal *who = k ? &prov2 : &prov;
		cJSON *got = NULL;
		ck_assert_int_eq(lv_readback_statement(node, who, ids[k], false, &got), LV_OK);
		cJSON *arr = cJSON_CreateArray();
		cJSON_AddItemToArray(arr, got);
		struct lv_attachment *out = NULL;
		size_t n = 0;
		ck_assert_int_eq(lv_statement_attachments(node, who->id, arr, &out, &n), LV_OK);
		ck_assert_uint_eq(n, k ? 0 : 1);
		lv_attachments_free(out, n);
		cJSON_Delete(arr);
	}
}
END_TEST

Suite *lv_test_suite(void)
{
	Suite *s = suite_create("door");
	TCase *tc = tcase_create("readback");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, readback_logs_each_learner_once_in_order);
	tcase_add_test(tc, readback_refused_to_a_non_provider);
	tcase_add_test(tc, attachments_of_released_statements);
	tcase_add_test(tc, attachments_only_of_their_sender);
	suite_add_tcase(s, tc);
	tc = tcase_create("learner");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, learner_statements_logged_and_own_only);
	tcase_add_test(tc, access_report_writes_no_entry);
	tcase_add_test(tc, export_counts_every_statement);
	tcase_add_test(tc, readback_page_capped_in_bytes);
	tcase_add_test(tc, export_streamed_in_pieces);
	tcase_add_test(tc, vault_export_names_the_failed_step);
	suite_add_tcase(s, tc);
	tc = tcase_create("fail-closed");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, fail_closed_when_the_log_cannot_be_written);
	suite_add_tcase(s, tc);
	return s;
}
