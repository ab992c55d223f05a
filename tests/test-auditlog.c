/* The node's audit log: entries with events, checkpoints, offline
 * verification, and every tamper case the consent issue lists. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "harness.h"
#include "learnvault/audit.h"
#include "learnvault/auditlog.h"
#include "learnvault/consent.h"
#include "learnvault/door.h"
#include "learnvault/statements.h"
#include "learnvault/policy.h"
#include "store/store.h"

static char dir[512];
static struct lv_node *node;
static char *vkey;

static void setup(void)
{
	snprintf(dir, sizeof dir, "%s/node", th_tmpdir());
	ck_assert_int_eq(lv_node_init(dir, NULL, "school.example/node-1", &vkey), LV_OK);
	ck_assert_int_eq(lv_node_open(dir, NULL, NULL, &node), LV_OK);
	/* Events that write entries: enrolment, credentials, a policy. */
	char p[LV_PSEUDONYM_LEN], id[LV_CRED_ID_LEN], err[LV_POLICY_ERR_LEN], pid[LV_POLICY_ID_MAX + 1];
	char *secret = NULL, *text = NULL;
	bool created, added;
	size_t len;
	uint32_t version;
	ck_assert_int_eq(lv_learner_enrol(node, "{\"mbox\":\"mailto:a@x.org\"}", p, &created), LV_OK);
	ck_assert_int_eq(lv_credential_add(node, LV_ROLE_LEARNER, p, NULL, 0, NULL, id, &secret), LV_OK);
	sodium_free(secret);
	ck_assert_int_eq(lv_credential_revoke(node, id), LV_OK);
	ck_assert_int_eq(util_read_file(th_src("policies/research-study.json"), 65536, &text, &len), LV_OK);
	ck_assert_int_eq(lv_policy_load(node, text, len, &added, pid, &version, err), LV_OK);
	free(text);
}

static void teardown(void)
{
	lv_node_close(node);
	node = NULL;
	free(vkey);
	vkey = NULL;
	th_rmtree(dir);
}

static char *export_text(void)
{
	char *json = NULL;
	ck_assert_int_eq(lv_audit_export(node, &json), LV_OK);
	return json;
}

/* Verifies @json and returns the status; the report must be JSON with
 * "ok" matching the status. */
static enum lv_status verify(const char *json, const char *key, const char *prev, char *error_out, size_t n)
{
	char *report = NULL;
	enum lv_status st = lv_audit_verify_export(json, strlen(json), key, prev, &report);
	ck_assert_ptr_nonnull(report);
	cJSON *r = cJSON_Parse(report);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(cJSON_IsTrue(cJSON_GetObjectItem(r, "ok")), st == LV_OK);
	const cJSON *e = cJSON_GetObjectItem(r, "error");
	if (error_out)
		snprintf(error_out, n, "%s", cJSON_IsString(e) ? e->valuestring : "");
	cJSON_Delete(r);
	free(report);
	return st;
}

/* Applies @edit to the export's entry array and re-serialises. */
static char *edited(const char *json, void (*edit)(cJSON *entries))
{
	cJSON *doc = cJSON_Parse(json);
	edit(cJSON_GetObjectItem(doc, "entries"));
	char *out = cJSON_Print(doc);
	cJSON_Delete(doc);
	return out;
}

static void change_one(cJSON *e)
{
	cJSON *it = cJSON_GetArrayItem(e, 1);
	char *s = strdup(it->valuestring);
	char *p = strstr(s, "\"time\":\"2");
	ck_assert_ptr_nonnull(p);
	p[8] = p[8] == '1' ? '2' : '1'; /* backdate the entry by a millennium */
	cJSON_ReplaceItemInArray(e, 1, cJSON_CreateString(s));
	free(s);
}
static void delete_one(cJSON *e) { cJSON_DeleteItemFromArray(e, 1); }
static void reorder(cJSON *e)
{
	cJSON *a = cJSON_Duplicate(cJSON_GetArrayItem(e, 1), true);
	cJSON *b = cJSON_Duplicate(cJSON_GetArrayItem(e, 2), true);
	ck_assert(cJSON_ReplaceItemInArray(e, 1, b));
	ck_assert(cJSON_ReplaceItemInArray(e, 2, a));
}
static void append_one(cJSON *e)
{
	char text[128];
	snprintf(text, sizeof text, "{\"index\":%d,\"time\":\"2026-01-01T00:00:00.000Z\",\"type\":\"forged\"}",
		 cJSON_GetArraySize(e));
	cJSON_AddItemToArray(e, cJSON_CreateString(text));
}
static void truncate_last(cJSON *e) { cJSON_DeleteItemFromArray(e, cJSON_GetArraySize(e) - 1); }

START_TEST(events_are_logged_without_identities)
{
	ck_assert_uint_ge(lv_audit_size(node), 4); /* enrolment, credential add + revoke, policy */
	cJSON *arr = NULL;
	ck_assert_int_eq(lv_audit_entries(node, 0, lv_audit_size(node), &arr), LV_OK);
	struct buf b;
	buf_init(&b, 1 << 20);
	const cJSON *it;
	cJSON_ArrayForEach(it, arr)
		ck_assert_int_eq(buf_append_str(&b, it->valuestring), LV_OK);
	char *all = buf_steal(&b);
	ck_assert_ptr_nonnull(strstr(all, "\"type\":\"enrolment\""));
	ck_assert_ptr_nonnull(strstr(all, "\"action\":\"revoke\""));
	ck_assert_ptr_nonnull(strstr(all, "\"type\":\"policy\""));
	/* Pseudonyms only: no address, no secret. */
	ck_assert_ptr_null(strstr(all, "a@x.org"));
	ck_assert_ptr_null(strstr(all, "secret"));
	free(all);
	cJSON_Delete(arr);
	ck_assert_int_eq(lv_audit_entries(node, 2, 1, &arr), LV_ERR_INVALID);
	ck_assert_int_eq(lv_audit_entries(node, 0, 999999, &arr), LV_ERR_INVALID);
}
END_TEST

START_TEST(export_verifies_and_proofs_check)
{
	char *json = export_text();
	ck_assert_int_eq(verify(json, vkey, NULL, NULL, 0), LV_OK);
	/* Server-side proofs agree with the offline verifier's arithmetic. */
	uint64_t size = lv_audit_size(node);
	cJSON *inc = NULL;
	ck_assert_int_eq(lv_audit_inclusion(node, 1, size, &inc), LV_OK);
	struct lv_merkle_proof proof = {0};
	unsigned char root[32], leaf[32];
	size_t blen;
	const cJSON *h;
	cJSON_ArrayForEach(h, cJSON_GetObjectItem(inc, "proof")) {
		ck_assert_int_eq(sodium_base642bin(proof.hash[proof.len++], 32, h->valuestring, strlen(h->valuestring),
						   NULL, &blen, NULL, sodium_base64_VARIANT_ORIGINAL), 0);
	}
	const char *r64 = cJSON_GetObjectItem(inc, "root")->valuestring;
	const char *l64 = cJSON_GetObjectItem(inc, "leaf")->valuestring;
	ck_assert_int_eq(sodium_base642bin(root, 32, r64, strlen(r64), NULL, &blen, NULL, sodium_base64_VARIANT_ORIGINAL), 0);
	ck_assert_int_eq(sodium_base642bin(leaf, 32, l64, strlen(l64), NULL, &blen, NULL, sodium_base64_VARIANT_ORIGINAL), 0);
	ck_assert_int_eq(lv_merkle_verify_inclusion(1, size, leaf, &proof, root), LV_OK);
	leaf[0] ^= 1;
	ck_assert_int_eq(lv_merkle_verify_inclusion(1, size, leaf, &proof, root), LV_ERR_CRYPTO);
	cJSON_Delete(inc);
	cJSON *con = NULL;
	ck_assert_int_eq(lv_audit_consistency(node, 2, size, &con), LV_OK);
	cJSON_Delete(con);
	ck_assert_int_eq(lv_audit_consistency(node, 0, size, &con), LV_ERR_INVALID);
	ck_assert_int_eq(lv_audit_consistency(node, 1, size + 5, &con), LV_ERR_NOT_FOUND);
	free(json);
}
END_TEST

START_TEST(tampering_is_detected)
{
	char *json = export_text();
	void (*edits[])(cJSON *) = {change_one, delete_one, reorder, append_one, truncate_last};
	const char *names[] = {"change", "delete", "reorder", "append", "truncate"};
	for (size_t i = 0; i < 5; i++) {
		char *bad = edited(json, edits[i]);
		char error[256];
		ck_assert_msg(verify(bad, vkey, NULL, error, sizeof error) == LV_ERR_CRYPTO,
			      "%s was not detected", names[i]);
		ck_assert_msg(error[0], "%s: no reason given", names[i]);
		free(bad);
	}
	/* A checkpoint signed by another key: forged. */
	unsigned char pk[32], sk[64];
	char *other = NULL;
	crypto_sign_keypair(pk, sk);
	ck_assert_int_eq(lv_note_vkey("school.example/node-1", pk, &other), LV_OK);
	ck_assert_int_eq(verify(json, other, NULL, NULL, 0), LV_ERR_CRYPTO);
	cJSON *doc = cJSON_Parse(json);
	unsigned char root[32] = {0};
	char *forged = NULL;
	size_t flen;
	ck_assert_int_eq(lv_checkpoint_sign("school.example/node-1", (uint64_t)cJSON_GetArraySize(cJSON_GetObjectItem(doc, "entries")),
					    root, sk, &forged, &flen), LV_OK);
	cJSON_ReplaceItemInObject(doc, "checkpoint", cJSON_CreateString(forged));
	char *bad = cJSON_Print(doc);
	ck_assert_int_eq(verify(bad, vkey, NULL, NULL, 0), LV_ERR_CRYPTO);
	free(bad);
	free(forged);
	free(other);
	cJSON_Delete(doc);
	sodium_memzero(sk, sizeof sk);
	free(json);
}
END_TEST

START_TEST(rollback_and_fork_against_a_previous_checkpoint)
{
	char *old_export = export_text();
	char *seen = NULL;
	ck_assert_int_eq(lv_audit_checkpoint(node, &seen), LV_OK);
	/* More history: the new export is consistent with what was seen. */
	ck_assert_int_eq(lv_learner_erase(node, "0123456789abcdef0123456789abcdef"), LV_ERR_NOT_FOUND);
	char p[LV_PSEUDONYM_LEN];
	bool created;
	ck_assert_int_eq(lv_learner_enrol(node, "{\"mbox\":\"mailto:b@x.org\"}", p, &created), LV_OK);
	ck_assert_int_eq(lv_learner_erase(node, p), LV_OK);
	char *new_export = export_text();
	ck_assert_int_eq(verify(new_export, vkey, seen, NULL, 0), LV_OK);
	/* Rolled back: an export older than a checkpoint already seen. */
	char *newer = NULL;
	ck_assert_int_eq(lv_audit_checkpoint(node, &newer), LV_OK);
	char error[256];
	ck_assert_int_eq(verify(old_export, vkey, newer, error, sizeof error), LV_ERR_CRYPTO);
	ck_assert_ptr_nonnull(strstr(error, "rollback"));
	free(old_export);
	free(new_export);
	free(newer);
	free(seen);
}
END_TEST

/* An insider rewrites entry 1 in node.db, entry text and leaf. */
static void rewrite_entry_1(void)
{
	const char *fake = "{\"index\":1,\"time\":\"2026-01-01T00:00:00.000Z\",\"type\":\"nothing\"}";
	unsigned char leaf[32];
	lv_merkle_hash_leaf(fake, strlen(fake), leaf);
	sqlite3_stmt *s = NULL;
	ck_assert_int_eq(sqlite3_prepare_v2(node->db, "UPDATE audit_log SET entry = ?, leaf = ? WHERE idx = 1", -1, &s, NULL), SQLITE_OK);
	sqlite3_bind_text(s, 1, fake, -1, SQLITE_STATIC);
	sqlite3_bind_blob(s, 2, leaf, 32, SQLITE_STATIC);
	ck_assert_int_eq(sqlite3_step(s), SQLITE_DONE);
	sqlite3_finalize(s);
}

START_TEST(node_refuses_to_serve_a_rewritten_entry)
{
	char *cp = NULL, *json = NULL;
	cJSON *o = NULL;
	ck_assert_int_eq(lv_audit_checkpoint(node, &cp), LV_OK);
	free(cp);
	/* The control: entry 1's proof and the export are served. */
	ck_assert_int_eq(lv_audit_inclusion(node, 1, lv_audit_size(node), &o), LV_OK);
	cJSON_Delete(o);
	ck_assert_int_eq(lv_audit_export(node, &json), LV_OK);
	free(json);
	rewrite_entry_1();
	lv_node_close(node);
	ck_assert_int_eq(lv_node_open(dir, NULL, NULL, &node), LV_OK);
	char p[LV_PSEUDONYM_LEN];
	bool created;
	ck_assert_int_eq(lv_learner_enrol(node, "{\"mbox\":\"mailto:c@x.org\"}", p, &created), LV_OK);
	/* The tree's stored nodes still commit to the true history, so what
	 * the node signs is that history; the rewritten entry is not served
	 * with a proof, and the export refuses it. */
	ck_assert_int_eq(lv_audit_inclusion(node, 1, lv_audit_size(node), &o), LV_ERR_CRYPTO);
	ck_assert_ptr_null(o);
	ck_assert_int_eq(lv_audit_export(node, &json), LV_ERR_CRYPTO);
	ck_assert_ptr_null(json);
	/* A deleted row leaves a gap: the export refuses it too. */
	ck_assert_int_eq(sqlite3_exec(node->db, "DELETE FROM audit_log WHERE idx = 0", NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(lv_audit_export(node, &json), LV_ERR_CRYPTO);
	ck_assert_int_eq(lv_audit_inclusion(node, 0, lv_audit_size(node), &o), LV_ERR_CRYPTO);
}
END_TEST

/* A node whose log predates the stored tree (no audit_tree rows, no
 * meta flag) gains it at its next open, with the root it signed before. */
START_TEST(node_tree_migrates_once)
{
	char *cp = NULL, *again = NULL, *json = NULL;
	ck_assert_int_eq(lv_audit_checkpoint(node, &cp), LV_OK);
	uint64_t size = lv_audit_size(node);
	ck_assert_uint_gt(size, 1);
	ck_assert_int_eq(sqlite3_exec(node->db, "DELETE FROM audit_tree; DELETE FROM meta WHERE k = 'audit_tree'",
				      NULL, NULL, NULL), SQLITE_OK);
	lv_node_close(node);
	ck_assert_int_eq(lv_node_open(dir, NULL, NULL, &node), LV_OK);
	sqlite3_stmt *s = NULL;
	ck_assert_int_eq(sqlite3_prepare_v2(node->db, "SELECT count(*) FROM audit_tree", -1, &s, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
	/* Every complete subtree above the leaves: size minus its set bits. */
	ck_assert_int_eq(sqlite3_column_int64(s, 0), (sqlite3_int64)(size - (uint64_t)__builtin_popcountll(size)));
	sqlite3_finalize(s);
	ck_assert_uint_eq(lv_audit_size(node), size);
	/* The same size, the same root: the note signed before comes back. */
	ck_assert_int_eq(lv_audit_checkpoint(node, &again), LV_OK);
	ck_assert_str_eq(again, cp);
	ck_assert_int_eq(lv_audit_export(node, &json), LV_OK);
	free(json);
	free(again);
	free(cp);
}
END_TEST

START_TEST(node_refuses_to_sign_a_rewritten_history)
{
	char *cp = NULL;
	ck_assert_int_eq(lv_audit_checkpoint(node, &cp), LV_OK);
	free(cp);
	/* The insider rewrites entry 1 and rebuilds the tree's nodes from the
	 * rewritten leaves (the one-time migration of a node whose log
	 * predates them does exactly that): the root at the size signed
	 * before differs, and the node signs nothing more. */
	rewrite_entry_1();
	ck_assert_int_eq(sqlite3_exec(node->db, "DELETE FROM audit_tree; DELETE FROM meta WHERE k = 'audit_tree'",
				      NULL, NULL, NULL), SQLITE_OK);
	lv_node_close(node);
	ck_assert_int_eq(lv_node_open(dir, NULL, NULL, &node), LV_OK);
	char p[LV_PSEUDONYM_LEN];
	bool created;
	ck_assert_int_eq(lv_learner_enrol(node, "{\"mbox\":\"mailto:c@x.org\"}", p, &created), LV_OK);
	ck_assert_int_eq(lv_audit_checkpoint(node, &cp), LV_ERR_CRYPTO);
	ck_assert_ptr_null(cp);
	char *json = NULL;
	ck_assert_int_eq(lv_audit_export(node, &json), LV_ERR_CRYPTO);
	/* A deleted row leaves a gap: a node whose tree must be rebuilt from
	 * its leaves does not open at all. */
	ck_assert_int_eq(sqlite3_exec(node->db, "DELETE FROM audit_log WHERE idx = 0; DELETE FROM audit_tree;"
				      " DELETE FROM meta WHERE k = 'audit_tree'", NULL, NULL, NULL), SQLITE_OK);
	lv_node_close(node);
	node = NULL;
	ck_assert_int_eq(lv_node_open(dir, NULL, NULL, &node), LV_ERR_CRYPTO);
	ck_assert_ptr_null(node);
}
END_TEST

/* A correctly signed export of @entries (origin "test.example/log"),
 * shipping @policy_text (may be NULL) as its only policy. */
static char *signed_export_with(const char *const *entries, size_t n, const char *policy_text, char **vk)
{
	unsigned char pk[32], sk[64];
	crypto_sign_keypair(pk, sk);
	ck_assert_int_eq(lv_note_vkey("test.example/log", pk, vk), LV_OK);
	unsigned char *leaves = malloc(n * 32);
	for (size_t i = 0; i < n; i++)
		lv_merkle_hash_leaf(entries[i], strlen(entries[i]), leaves + 32 * i);
	struct lv_merkle *m = NULL;
	unsigned char root[32];
	ck_assert_int_eq(lv_merkle_create_from_leaves(leaves, n, &m), LV_OK);
	ck_assert_int_eq(lv_merkle_root_at(m, n, root), LV_OK);
	char *note = NULL;
	size_t nl;
	ck_assert_int_eq(lv_checkpoint_sign("test.example/log", n, root, sk, &note, &nl), LV_OK);
	cJSON *doc = cJSON_CreateObject();
	cJSON_AddStringToObject(doc, "format", "learnvault-audit-log");
	cJSON_AddNumberToObject(doc, "version", 1);
	cJSON_AddStringToObject(doc, "checkpoint", note);
	cJSON *pols = cJSON_AddArrayToObject(doc, "policies");
	if (policy_text)
		cJSON_AddItemToArray(pols, cJSON_CreateString(policy_text));
	cJSON *arr = cJSON_AddArrayToObject(doc, "entries");
	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(arr, cJSON_CreateString(entries[i]));
	char *out = cJSON_Print(doc);
	cJSON_Delete(doc);
	free(note);
	free(leaves);
	lv_merkle_destroy(m);
	sodium_memzero(sk, sizeof sk);
	return out;
}


/* The canonical text of course-improvement and its digest. */
static char *course_text(char sha[LV_POLICY_DIGEST_HEX_LEN])
{
	char *text = NULL, err[LV_POLICY_ERR_LEN];
	size_t len;
	struct lv_policy *p = NULL;
	ck_assert_int_eq(util_read_file(th_src("policies/course-improvement.json"), 65536, &text, &len), LV_OK);
	ck_assert_int_eq(lv_policy_parse(text, len, &p, err), LV_OK);
	free(text);
	char *canon = lv_policy_canonical_text(p);
	lv_policy_digest_hex(p, sha);
	lv_policy_destroy(p);
	return canon;
}

/* A signed log: the load of course-improvement (entry 0), then @n
 * entries built from @fmts, each formatted with (index, sha). */
static char *compliance_log(const char *const *fmts, size_t n, char **vk)
{
	char sha[LV_POLICY_DIGEST_HEX_LEN], buf[8][768];
	char *text = course_text(sha);
	const char *entries[8];
	ck_assert_uint_le(n, 7);
	snprintf(buf[0], sizeof buf[0], "{\"index\":0,\"time\":\"2026-01-01T00:00:00.000Z\",\"type\":\"policy\","
		 "\"action\":\"load\",\"policy\":\"course-improvement\",\"version\":1,\"sha256\":\"%s\"}", sha);
	entries[0] = buf[0];
	for (size_t i = 0; i < n; i++) {
		snprintf(buf[i + 1], sizeof buf[i + 1], fmts[i], (int)i + 1, sha);
		entries[i + 1] = buf[i + 1];
	}
	char *out = signed_export_with(entries, n + 1, text, vk);
	free(text);
	return out;
}

/* A guardian's grant (the learner's birth date is not logged: below the
 * policy's guardian age, only a guardian decides). */
#define GRANT "{\"index\":%d,\"time\":\"2026-01-01T00:00:00.000Z\",\"type\":\"consent\",\"event\":\"ConsentGiven\"," \
	"\"record_id\":\"r1\",\"learner\":\"L\",\"policy\":\"course-improvement\",\"policy_version\":1," \
	"\"policy_sha256\":\"%s\",\"actor_role\":\"guardian\",\"valid_until\":\"2027-01-01T00:00:00.000Z\"}"
#define WITHDRAW "{\"index\":%d,\"time\":\"2026-02-01T00:00:00.000Z\",\"type\":\"consent\",\"event\":\"ConsentWithdrawn\"," \
	"\"record_id\":\"r2\",\"learner\":\"L\",\"policy\":\"course-improvement\",\"policy_version\":1," \
	"\"policy_sha256\":\"%s\",\"actor_role\":\"guardian\"}"
#define ACCESS(when) "{\"index\":%d,\"time\":\"" when "\",\"type\":\"access\",\"decision\":\"allow\"," \
	"\"purpose\":\"course-improvement\",\"policy_version\":1,\"consent_record\":\"r1\",\"learner\":\"L\",\"count\":1}"

START_TEST(consent_compliance_is_checked)
{
	char *vk = NULL, error[256];
	/* Access while the grant is live: compliant. */
	const char *good[] = {GRANT, ACCESS("2026-01-15T00:00:00.000Z")};
	char *json = compliance_log(good, 2, &vk);
	ck_assert_int_eq(verify(json, vk, NULL, error, sizeof error), LV_OK);
	free(json);
	free(vk);
	/* Access after a withdrawal, signed and self-consistent: caught. */
	const char *after_withdrawal[] = {GRANT, WITHDRAW, ACCESS("2026-02-15T00:00:00.000Z")};
	json = compliance_log(after_withdrawal, 3, &vk);
	ck_assert_int_eq(verify(json, vk, NULL, error, sizeof error), LV_ERR_CRYPTO);
	ck_assert_ptr_nonnull(strstr(error, "without a live grant"));
	free(json);
	free(vk);
	/* Access after expiry: caught. */
	const char *expired[] = {GRANT, ACCESS("2027-03-01T00:00:00.000Z")};
	json = compliance_log(expired, 2, &vk);
	ck_assert_int_eq(verify(json, vk, NULL, NULL, 0), LV_ERR_CRYPTO);
	free(json);
	free(vk);
	/* Access with no grant at all: caught. */
	const char *none[] = {ACCESS("2026-01-15T00:00:00.000Z")};
	json = compliance_log(none, 1, &vk);
	ck_assert_int_eq(verify(json, vk, NULL, NULL, 0), LV_ERR_CRYPTO);
	free(json);
	free(vk);
}
END_TEST

/* Builds a log: load of course-improvement (with @sha), a grant, and an
 * allowed access asking for @verb; returns the signed export. */
static char *scoped_log(const char *text, const char *sha, const char *verb, char **vk)
{
	char load[512], grant[512], access[768];
	snprintf(load, sizeof load, "{\"index\":0,\"time\":\"2026-01-01T00:00:00.000Z\",\"type\":\"policy\",\"action\":\"load\","
		 "\"policy\":\"course-improvement\",\"version\":1,\"sha256\":\"%s\"}", sha);
	snprintf(grant, sizeof grant, "{\"index\":1,\"time\":\"2026-01-02T00:00:00.000Z\",\"type\":\"consent\",\"event\":\"ConsentGiven\","
		 "\"record_id\":\"r1\",\"learner\":\"L\",\"policy\":\"course-improvement\",\"policy_version\":1,"
		 "\"policy_sha256\":\"%s\",\"actor_role\":\"guardian\",\"valid_until\":\"2027-01-01T00:00:00.000Z\"}", sha);
	snprintf(access, sizeof access, "{\"index\":2,\"time\":\"2026-01-03T00:00:00.000Z\",\"type\":\"access\",\"decision\":\"allow\","
		 "\"purpose\":\"course-improvement\",\"policy_version\":1,\"consent_record\":\"r1\",\"learner\":\"L\","
		 "\"operation\":\"mean\",\"scope\":{\"verbs\":[\"%s\"],\"activity_types\":[],\"result_fields\":[\"result.score.scaled\"]},"
		 "\"count\":1}", verb);
	const char *entries[] = {load, grant, access};
	return signed_export_with(entries, 3, text, vk);
}

START_TEST(scope_is_checked_against_the_logged_policy)
{
	char *text = NULL, *canon = NULL, *vk = NULL, error[256];
	char err[LV_POLICY_ERR_LEN], sha[LV_POLICY_DIGEST_HEX_LEN];
	size_t len;
	struct lv_policy *p = NULL;
	ck_assert_int_eq(util_read_file(th_src("policies/course-improvement.json"), 65536, &text, &len), LV_OK);
	ck_assert_int_eq(lv_policy_parse(text, len, &p, err), LV_OK);
	canon = lv_policy_canonical_text(p);
	lv_policy_digest_hex(p, sha);
	/* In scope: passes. */
	char *json = scoped_log(canon, sha, "http://adlnet.gov/expapi/verbs/completed", &vk);
	ck_assert_int_eq(verify(json, vk, NULL, error, sizeof error), LV_OK);
	free(json);
	free(vk);
	/* A verb the policy does not cover: caught. */
	json = scoped_log(canon, sha, "http://adlnet.gov/expapi/verbs/answered", &vk);
	ck_assert_int_eq(verify(json, vk, NULL, error, sizeof error), LV_ERR_CRYPTO);
	ck_assert_ptr_nonnull(strstr(error, "without a live grant"));
	free(json);
	free(vk);
	/* A shipped text that is not the one the log loaded vouches for nothing. */
	char wrong[LV_POLICY_DIGEST_HEX_LEN];
	memcpy(wrong, sha, sizeof wrong);
	wrong[0] = wrong[0] == 'a' ? 'b' : 'a';
	json = scoped_log(canon, wrong, "http://adlnet.gov/expapi/verbs/completed", &vk);
	ck_assert_int_eq(verify(json, vk, NULL, NULL, 0), LV_ERR_CRYPTO);
	free(json);
	free(vk);
	free(canon);
	free(text);
	lv_policy_destroy(p);
}
END_TEST

START_TEST(learner_export_goes_through_the_check)
{
	char p[LV_PSEUDONYM_LEN];
	bool created;
	ck_assert_int_eq(lv_learner_enrol(node, "{\"mbox\":\"mailto:a@x.org\"}", p, &created), LV_OK);
	struct lv_principal admin = {.role = LV_ROLE_ADMIN, .id = "cli"};
	struct lv_principal analyst = {.role = LV_ROLE_ANALYST, .id = "an"};
	struct lv_principal self = {.role = LV_ROLE_LEARNER, .id = "me"};
	memcpy(self.learner, p, sizeof self.learner);
	cJSON *doc = NULL;
	ck_assert_int_eq(lv_learner_export(node, &analyst, p, LV_PURPOSE_OPERATOR_REQUEST, &doc), LV_ERR_FORBIDDEN);
	ck_assert_int_eq(lv_learner_export(node, &analyst, p, LV_PURPOSE_SELF, &doc), LV_ERR_FORBIDDEN);
	ck_assert_ptr_null(doc);
	ck_assert_int_eq(lv_learner_export(node, &self, p, LV_PURPOSE_SELF, &doc), LV_OK);
	cJSON_Delete(doc);
	ck_assert_int_eq(lv_learner_export(node, &admin, p, LV_PURPOSE_OPERATOR_REQUEST, &doc), LV_OK);
	char *text = cJSON_PrintUnformatted(cJSON_GetObjectItem(doc, "access_report"));
	/* The denied attempts are in the log too, as denials. */
	ck_assert_ptr_nonnull(strstr(text, "learner-request-by-operator"));
	ck_assert_ptr_nonnull(strstr(text, "\\\"decision\\\":\\\"deny\\\""));
	free(text);
	cJSON_Delete(doc);
}
END_TEST

Suite *lv_test_suite(void)
{
	Suite *s = suite_create("auditlog");
	TCase *tc = tcase_create("log");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, events_are_logged_without_identities);
	tcase_add_test(tc, export_verifies_and_proofs_check);
	tcase_add_test(tc, tampering_is_detected);
	tcase_add_test(tc, rollback_and_fork_against_a_previous_checkpoint);
	tcase_add_test(tc, node_refuses_to_sign_a_rewritten_history);
	tcase_add_test(tc, node_refuses_to_serve_a_rewritten_entry);
	tcase_add_test(tc, node_tree_migrates_once);
	tcase_add_test(tc, learner_export_goes_through_the_check);
	suite_add_tcase(s, tc);
	tc = tcase_create("compliance");
	tcase_add_test(tc, consent_compliance_is_checked);
	tcase_add_test(tc, scope_is_checked_against_the_logged_policy);
	suite_add_tcase(s, tc);
	return s;
}
