/* The vault as a portable encrypted file: export, offline open, tampering,
 * and the operator's CLI path (audited). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "learnvault/door.h"
#include "harness.h"
#include "learnvault/auditlog.h"
#include "learnvault/node.h"
#include "learnvault/statements.h"
#include "learnvault/vault.h"
#include "learnvault/util.h"

#define MARKER "zebra-marker-7731"
#define PASS "correct horse battery staple"

static char base[512], dir[600];
static struct lv_node *node;
static char learner[LV_PSEUDONYM_LEN];
static const char *const IDS[3] = {
	"11111111-1111-4111-8111-111111111111",
	"22222222-2222-4222-8222-222222222222",
	"33333333-3333-4333-8333-333333333333",
};

static cJSON *stmt(const char *id, const char *mbox, const char *obj)
{
	char text[1024];
	snprintf(text, sizeof text,
		 "{\"id\":\"%s\",\"actor\":{\"mbox\":\"%s\"},\"verb\":{\"id\":\"http://x.org/v\"},"
		 "\"object\":{\"id\":\"http://x.org/" MARKER "/%s\"}}", id, mbox, obj);
	return cJSON_Parse(text);
}

static void setup(void)
{
	char *vkey = NULL;
	snprintf(base, sizeof base, "%s", th_tmpdir());
	snprintf(dir, sizeof dir, "%s/node", base);
	ck_assert_int_eq(lv_node_init(dir, NULL, NULL, &vkey), LV_OK);
	free(vkey);
	ck_assert_int_eq(lv_node_open(dir, NULL, NULL, &node), LV_OK);
	struct lv_principal prov = {.role = LV_ROLE_PROVIDER, .id = "p1"};
	char err[LV_ERR_TEXT];
	cJSON *b = cJSON_CreateArray();
	for (int i = 0; i < 3; i++)
		cJSON_AddItemToArray(b, stmt(IDS[i], "mailto:v@x.org", i == 0 ? "a" : i == 1 ? "b" : "c"));
	cJSON_AddItemToArray(b, stmt("44444444-4444-4444-8444-444444444444", "mailto:other@x.org", "d"));
	ck_assert_int_eq(lv_ingest(node, &prov, b, NULL, 0, err), LV_OK);
	cJSON_Delete(b);
	bool created = true;
	ck_assert_int_eq(lv_learner_enrol(node, "{\"mbox\":\"mailto:v@x.org\"}", learner, &created), LV_OK);
	ck_assert(!created);
}

static void teardown(void)
{
	lv_node_close(node);
	node = NULL;
	th_rmtree(base);
}

static void assert_three(const char *json)
{
	cJSON *j = cJSON_Parse(json);
	ck_assert_ptr_nonnull(j);
	const cJSON *arr = cJSON_GetObjectItem(j, "statements");
	ck_assert_int_eq(cJSON_GetArraySize(arr), 3);
	for (int i = 0; i < 3; i++)
		ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(arr, i), "id")->valuestring, IDS[i]);
	ck_assert_int_eq(cJSON_GetObjectItem(j, "documents")->valueint, 0);
	cJSON_Delete(j);
}

/* Entries in the node directory other than the node's own files. */
static int stray_entries(void)
{
	DIR *d = opendir(dir);
	ck_assert_ptr_nonnull(d);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		n += strncmp(e->d_name, "lv-vault-export", 15) == 0;
	closedir(d);
	return n;
}

START_TEST(export_and_open)
{
	unsigned char *file = NULL;
	size_t len = 0;
	ck_assert_int_eq(lv_vault_export(node, learner, PASS, strlen(PASS), &file, &len), LV_OK);
	ck_assert_uint_gt(len, LV_VAULT_HEADER_LEN + 4096);
	ck_assert_int_eq(memcmp(file, "LVVAULT1", 8), 0);
	/* Ciphertext from the first byte of the body; no statement text. */
	ck_assert_int_ne(memcmp(file + LV_VAULT_HEADER_LEN, "SQLite format 3", 15), 0);
	ck_assert_ptr_null(memmem(file, len, MARKER, strlen(MARKER)));
	ck_assert_ptr_null(memmem(file, len, "v@x.org", 7));
	ck_assert_int_eq(stray_entries(), 0);
	/* Offline: no node needed. */
	lv_node_close(node);
	node = NULL;
	char *json = NULL;
	ck_assert_int_eq(lv_vault_open_file(file, len, PASS, strlen(PASS), &json), LV_OK);
	assert_three(json);
	ck_assert_ptr_null(strstr(json, "44444444-4444"));
	free(json);
	free(file);
}
END_TEST

START_TEST(wrong_passphrase_and_tampering)
{
	unsigned char *file = NULL;
	size_t len = 0;
	char *json = NULL;
	ck_assert_int_eq(lv_vault_export(node, learner, PASS, strlen(PASS), &file, &len), LV_OK);
	ck_assert_int_eq(lv_vault_open_file(file, len, "correct horse battery stapler", 29, &json), LV_ERR_CRYPTO);
	ck_assert_ptr_null(json);
	/* One flipped bit anywhere: the salt, the limits' neighbour (body
	 * hash), the nonce, the wrapped key, or the body. */
	const size_t at[] = {20, 60, 90, 130, LV_VAULT_HEADER_LEN + 10, len / 2, len - 1};
	for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
		file[at[i]] ^= 0x04;
		ck_assert_msg(lv_vault_open_file(file, len, PASS, strlen(PASS), &json) != LV_OK, "flip at %zu", at[i]);
		ck_assert_ptr_null(json);
		file[at[i]] ^= 0x04;
	}
	/* A changed version or magic is refused before any derivation. */
	file[11] ^= 1;
	ck_assert_int_eq(lv_vault_open_file(file, len, PASS, strlen(PASS), &json), LV_ERR_INVALID);
	file[11] ^= 1;
	file[0] ^= 1;
	ck_assert_int_eq(lv_vault_open_file(file, len, PASS, strlen(PASS), &json), LV_ERR_INVALID);
	file[0] ^= 1;
	/* Truncated. */
	ck_assert_int_ne(lv_vault_open_file(file, len - 1, PASS, strlen(PASS), &json), LV_OK);
	ck_assert_int_eq(lv_vault_open_file(file, LV_VAULT_HEADER_LEN, PASS, strlen(PASS), &json), LV_ERR_INVALID);
	/* Intact again: opens. */
	ck_assert_int_eq(lv_vault_open_file(file, len, PASS, strlen(PASS), &json), LV_OK);
	assert_three(json);
	free(json);
	free(file);
}
END_TEST

START_TEST(refusals)
{
	unsigned char dummy = 0, *file = &dummy;
	size_t len = 7;
	ck_assert_int_eq(lv_vault_export(node, learner, "short pass!", 11, &file, &len), LV_ERR_INVALID);
	ck_assert_ptr_null(file);
	ck_assert_uint_eq(len, 0);
	ck_assert_int_eq(lv_vault_export(node, "0123456789abcdef0123456789abcdef", PASS, strlen(PASS), &file, &len),
			 LV_ERR_NOT_FOUND);
	ck_assert_int_eq(lv_vault_export(node, "../../etc/passwd", PASS, strlen(PASS), &file, &len), LV_ERR_INVALID);
	ck_assert_int_eq(stray_entries(), 0);
	/* Two exports of the same vault share nothing: fresh key, salt, nonce. */
	unsigned char *f1 = NULL, *f2 = NULL;
	size_t l1 = 0, l2 = 0;
	ck_assert_int_eq(lv_vault_export(node, learner, PASS, strlen(PASS), &f1, &l1), LV_OK);
	ck_assert_int_eq(lv_vault_export(node, learner, PASS, strlen(PASS), &f2, &l2), LV_OK);
	ck_assert_int_ne(memcmp(f1 + 16, f2 + 16, 16), 0);
	ck_assert_int_ne(memcmp(f1 + LV_VAULT_HEADER_LEN, f2 + LV_VAULT_HEADER_LEN, 64), 0);
	free(f1);
	free(f2);
}
END_TEST

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

START_TEST(cli_export_is_audited)
{
	char pf[700], out[700], js[700], cmd[4096];
	snprintf(pf, sizeof pf, "%s/pass", base);
	snprintf(out, sizeof out, "%s/vault.lvv", base);
	snprintf(js, sizeof js, "%s/vault.json", base);
	write_text(pf, PASS "\n");
	uint64_t before = lv_audit_size(node);
	lv_node_close(node); /* the CLI opens the node itself */
	node = NULL;
	snprintf(cmd, sizeof cmd, "'%s' vault export --data '%s' --learner %s --passphrase-file '%s' --out '%s'",
		 th_bin(), dir, learner, pf, out);
	ck_assert_int_eq(system(cmd), 0);
	/* Refuses to overwrite. */
	ck_assert_int_ne(system(cmd), 0);
	snprintf(cmd, sizeof cmd, "'%s' vault open '%s' --passphrase-file '%s' > '%s'", th_bin(), out, pf, js);
	ck_assert_int_eq(system(cmd), 0);
	char *text = NULL;
	ck_assert_int_eq(util_read_file(js, 1 << 20, &text, NULL), LV_OK);
	assert_three(text);
	free(text);
	/* The export was logged as an access by the operator. */
	ck_assert_int_eq(lv_node_open(dir, NULL, NULL, &node), LV_OK);
	uint64_t after = lv_audit_size(node);
	ck_assert_uint_ge(after, before + 1);
	cJSON *entries = NULL;
	ck_assert_int_eq(lv_audit_entries(node, before, after, &entries), LV_OK);
	int found = 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, entries) {
		const char *t = e->valuestring;
		found += strstr(t, "\"resource\":\"vault-export\"") && strstr(t, learner) && strstr(t, "\"actor\":\"cli\"") &&
			 strstr(t, "\"role\":\"admin\"");
	}
	ck_assert_int_eq(found, 1);
	cJSON_Delete(entries);
	/* A wrong passphrase file: non-zero exit, nothing on stdout. */
	write_text(pf, "not the passphrase at all\n");
	ck_assert_int_ne(system(cmd), 0);
}
END_TEST

Suite *lv_test_suite(void)
{
	Suite *s = suite_create("vault");
	TCase *tc = tcase_create("export");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, export_and_open);
	tcase_add_test(tc, wrong_passphrase_and_tampering);
	tcase_add_test(tc, refusals);
	suite_add_tcase(s, tc);
	tc = tcase_create("cli");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, cli_export_is_audited);
	suite_add_tcase(s, tc);
	return s;
}
