/* audit export | verify | checkpoint. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "learnvault/audit.h"
#include "learnvault/auditlog.h"
#include "learnvault/util.h"

/* A vkey on the command line, or the first line of a file holding one. */
static char *read_vkey(const char *arg)
{
	char *text = NULL;
	size_t len = 0;
	if (strchr(arg, '+'))
		return strdup(arg);
	if (util_read_file(arg, 4096, &text, &len) != LV_OK)
		return NULL;
	text[strcspn(text, "\r\n")] = 0;
	return text;
}

#define VERIFY_USAGE "audit verify: --log FILE --key VKEY|FILE [--previous CHECKPOINT_FILE] [--receipt FILE]..."

/* The receipt files named by every --receipt (getopt keeps only the
 * last), read.  False after saying what could not be read. */
static bool read_receipts(int argc, char **argv, char ***out, size_t *n)
{
	*out = NULL;
	*n = 0;
	for (int i = 2; i < argc; i++) {
		const char *f = NULL;
		if (strcmp(argv[i], "--receipt") == 0 && i + 1 < argc)
			f = argv[++i];
		else if (strncmp(argv[i], "--receipt=", 10) == 0)
			f = argv[i] + 10;
		if (!f)
			continue;
		char **grown = realloc(*out, (*n + 1) * sizeof **out);
		if (!grown)
			return cli_fail("audit verify: out of memory") == 0;
		*out = grown;
		if (util_read_file(f, LV_NOTE_MAX_LEN, &(*out)[*n], NULL) != LV_OK)
			return cli_fail("audit verify: cannot read the receipt %s", f) == 0;
		(*n)++;
	}
	return true;
}

/* Prints the report and, on failure, the first failure on stderr. */
static int verify_verdict(enum lv_status st, const char *report)
{
	if (report)
		puts(report);
	if (st == LV_OK) {
		fprintf(stderr, "learnvault: audit log verified\n");
		return 0;
	}
	cJSON *r = report ? cJSON_Parse(report) : NULL;
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(r, "error");
	const cJSON *ent = cJSON_GetObjectItemCaseSensitive(r, "entry");
	if (cJSON_IsNumber(ent))
		cli_fail("audit verify: FAILED at entry %.0f: %s", ent->valuedouble,
			 cJSON_IsString(err) ? err->valuestring : lv_status_str(st));
	else
		cli_fail("audit verify: FAILED: %s", cJSON_IsString(err) ? err->valuestring : lv_status_str(st));
	cJSON_Delete(r);
	return 1;
}

static int audit_verify(int argc, char **argv)
{
	const char *log = NULL, *key = NULL, *prev_file = NULL, *receipt = NULL;
	const struct cli_opt opts[] = {
		{"log", true, &log},
		{"key", true, &key},
		{"previous", true, &prev_file},
		{"receipt", true, &receipt},
		{0, false, NULL}};
	if (cli_parse(argc, argv, 2, opts) < 0)
		return 2;
	if (!log || !key)
		return cli_fail(VERIFY_USAGE);
	char *vkey = read_vkey(key), *text = NULL, *prev = NULL, *report = NULL, **receipts = NULL;
	size_t len = 0, nreceipts = 0;
	int rc = 1;
	if (!vkey) {
		cli_fail("audit verify: cannot read the key");
		goto out;
	}
	if (util_read_file(log, (size_t)1 << 30, &text, &len) != LV_OK) {
		cli_fail("audit verify: cannot read %s", log);
		goto out;
	}
	if (prev_file && util_read_file(prev_file, 65536, &prev, NULL) != LV_OK) {
		cli_fail("audit verify: cannot read %s", prev_file);
		goto out;
	}
	if (!read_receipts(argc, argv, &receipts, &nreceipts))
		goto out;
	enum lv_status st = lv_audit_verify_export_receipts(text, len, vkey, prev, (const char *const *)receipts,
							    nreceipts, &report);
	rc = verify_verdict(st, report);
out:
	for (size_t i = 0; i < nreceipts; i++)
		free(receipts[i]);
	free(receipts);
	free(vkey);
	free(text);
	free(prev);
	free(report);
	return rc;
}

int cmd_audit(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "verify") == 0)
		return audit_verify(argc, argv);
	const char *dir = NULL, *pass_file = NULL, *out = NULL;
	const struct cli_opt opts[] = {
		{"data", true, &dir},
		{"passphrase-file", true, &pass_file},
		{"out", true, &out},
		{0, false, NULL}};
	if (argc < 2 || (strcmp(argv[1], "export") != 0 && strcmp(argv[1], "checkpoint") != 0))
		return cli_fail("audit: export --data DIR --out FILE | checkpoint --data DIR | verify --log FILE --key VKEY"
				" [--previous FILE] [--receipt FILE]...");
	bool exp = strcmp(argv[1], "export") == 0;
	if (cli_parse(argc, argv, 2, opts) < 0)
		return 2;
	if (exp && !out)
		return cli_fail("audit export: --out FILE is required");
	struct lv_node *node = NULL;
	if (cli_open(dir, pass_file, &node) != 0)
		return 1;
	char *text = NULL;
	int rc = 1;
	enum lv_status st = exp ? lv_audit_export(node, &text) : lv_audit_checkpoint(node, &text);
	if (st != LV_OK) {
		cli_fail("audit %s: %s", argv[1], st == LV_ERR_CRYPTO ?
			 "the stored log disagrees with a checkpoint this node signed: refusing to sign" : lv_status_str(st));
	} else if (exp) {
		st = util_write_file(out, text, strlen(text), 0644, false);
		if (st != LV_OK) {
			cli_fail("audit export: cannot write %s", out);
		} else {
			cJSON *o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "exported", out);
			cJSON_AddNumberToObject(o, "entries", (double)lv_audit_size(node));
			rc = cli_print(o);
		}
	} else {
		fputs(text, stdout);
		rc = 0;
	}
	free(text);
	lv_node_close(node);
	return rc;
}
