/* backup | restore (docs/backup.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "learnvault/audit.h"
#include "learnvault/auditlog.h"
#include "learnvault/backup.h"
#include "learnvault/util.h"

#define BACKUP_USAGE "backup --data DIR --out FILE [--include-key] [--passphrase-file F]"
#define RESTORE_USAGE "restore --from FILE --data DIR [--key FILE] [--passphrase-file F] [--erasures-from AUDIT_EXPORT]"

int cmd_backup(int argc, char **argv)
{
	const char *dir = NULL, *pass_file = NULL, *out = NULL, *with_key = NULL;
	const struct cli_opt opts[] = {
		{"data", true, &dir},
		{"passphrase-file", true, &pass_file},
		{"out", true, &out},
		{"include-key", false, &with_key},
		{0, false, NULL}};
	if (cli_parse(argc, argv, 1, opts) < 0)
		return 2;
	if (!out || optind != argc)
		return cli_fail(BACKUP_USAGE);
	/* Shared, like any reader beside the server: the vaults stay the
	 * server's, and the shared node lock keeps a key rotation out. */
	struct lv_node *node = NULL;
	if (cli_open(dir, pass_file, &node) != 0)
		return 1;
	struct lv_backup_options opt = {.include_key = with_key != NULL};
	struct lv_backup_report rep;
	char err[LV_ERR_LEN];
	enum lv_status st = lv_backup_create(node, out, &opt, &rep, err);
	lv_node_close(node);
	if (st != LV_OK)
		return cli_fail("backup: %s; no archive was written", err[0] ? err : lv_status_str(st));
	if (rep.passphrase)
		fprintf(stderr, "learnvault: backup written; it opens only with the node's passphrase\n");
	else if (!rep.has_key)
		fprintf(stderr, "learnvault: backup written without node.key: keep a copy of node.key apart "
				"(restore --key FILE)\n");
	else
		fprintf(stderr, "learnvault: backup written WITH node.key: anyone holding this file can read it\n");
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "backup", out);
	cJSON_AddNumberToObject(o, "vaults", (double)rep.vaults);
	cJSON_AddNumberToObject(o, "audit_entries", (double)rep.audit_size);
	cJSON_AddNumberToObject(o, "bytes", (double)rep.bytes);
	cJSON_AddBoolToObject(o, "node_key", rep.has_key);
	return cli_print(o);
}

/* The pseudonyms erased in @export (a later `audit export` of this node,
 * checked against the restored node's key) at or after entry @from. */
static int later_erasures(struct lv_node *node, const char *export_file, uint64_t from, cJSON **out)
{
	*out = NULL;
	char *text = NULL, *vkey = NULL, *report = NULL;
	size_t len = 0;
	int rc = 1;
	cJSON *log = NULL;
	if (util_read_file(export_file, (size_t)1 << 30, &text, &len) != LV_OK) {
		cli_fail("restore: cannot read %s", export_file);
		goto out;
	}
	if (lv_audit_vkey(node, &vkey) != LV_OK ||
	    lv_audit_verify_export(text, len, vkey, NULL, &report) != LV_OK) {
		cli_fail("restore: %s is not a verified audit export of this node; no erasure was re-applied", export_file);
		goto out;
	}
	log = cJSON_Parse(text);
	*out = cJSON_CreateArray();
	const cJSON *e;
	uint64_t i = 0;
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(log, "entries")) {
		cJSON *entry = cJSON_IsString(e) ? cJSON_Parse(e->valuestring) : NULL;
		const cJSON *type = cJSON_GetObjectItemCaseSensitive(entry, "type");
		const cJSON *who = cJSON_GetObjectItemCaseSensitive(entry, "learner");
		if (i >= from && cJSON_IsString(type) && strcmp(type->valuestring, "erasure") == 0 && cJSON_IsString(who))
			cJSON_AddItemToArray(*out, cJSON_CreateString(who->valuestring));
		cJSON_Delete(entry);
		i++;
	}
	rc = 0;
out:
	cJSON_Delete(log);
	free(text);
	free(vkey);
	free(report);
	return rc;
}

/* Opens the restored node (proving the key opens it) and erases again the
 * learners erased after the backup was taken. */
static int restore_finish(const char *dir, const char *pass_file, const char *erasures, uint64_t audit_size,
			  cJSON *o)
{
	struct lv_node *node = NULL;
	if (cli_open_vaults(dir, pass_file, "restore", &node) != 0)
		return cli_fail("restore: the files are in %s but the node does not open with this key or passphrase",
				dir);
	cJSON *gone = NULL;
	int rc = erasures ? later_erasures(node, erasures, audit_size, &gone) : 0;
	cJSON *done = cJSON_AddArrayToObject(o, "erased_again");
	const cJSON *p;
	cJSON_ArrayForEach(p, gone) {
		if (rc != 0)
			break;
		enum lv_status st = lv_learner_erase(node, p->valuestring);
		if (st == LV_OK)
			cJSON_AddItemToArray(done, cJSON_CreateString(p->valuestring));
		else if (st != LV_ERR_NOT_FOUND) /* not found: enrolled after the backup, or erased in it */
			rc = cli_fail("restore: erasing %s again failed: %s", p->valuestring, lv_status_str(st));
	}
	cJSON_AddNumberToObject(o, "audit_entries", (double)lv_audit_size(node));
	cJSON_Delete(gone);
	lv_node_close(node);
	return rc;
}

int cmd_restore(int argc, char **argv)
{
	const char *dir = NULL, *pass_file = NULL, *from = NULL, *key = NULL, *erasures = NULL;
	const struct cli_opt opts[] = {
		{"data", true, &dir},
		{"passphrase-file", true, &pass_file},
		{"from", true, &from},
		{"key", true, &key},
		{"erasures-from", true, &erasures},
		{0, false, NULL}};
	if (cli_parse(argc, argv, 1, opts) < 0)
		return 2;
	if (!from || !dir || optind != argc)
		return cli_fail(RESTORE_USAGE);
	struct lv_backup_report rep;
	char err[LV_ERR_LEN];
	enum lv_status st = lv_backup_restore(from, dir, key, &rep, err);
	if (st != LV_OK)
		return cli_fail("restore: %s", err[0] ? err : lv_status_str(st));
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "restored", dir);
	cJSON_AddNumberToObject(o, "vaults", (double)rep.vaults);
	cJSON_AddNumberToObject(o, "backup_audit_entries", (double)rep.audit_size);
	if (rep.passphrase && !pass_file) {
		cJSON_Delete(o);
		return cli_fail("restore: the files are in %s, but the archive has no node.key: copy node.key into it "
				"(mode 0600; or restore again with --key FILE), or for a passphrase node give "
				"--passphrase-file F", dir);
	}
	if (restore_finish(dir, pass_file, erasures, rep.audit_size, o) != 0) {
		cJSON_Delete(o);
		return 1;
	}
	if (!erasures)
		fprintf(stderr, "learnvault: restored; learners erased after this backup was taken are back: "
				"re-apply their erasures (restore --erasures-from, docs/backup.md)\n");
	return cli_print(o);
}
