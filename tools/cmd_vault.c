/* vault export (operator, audited) and vault open (offline). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"
#include "learnvault/consent.h"
#include "learnvault/door.h"
#include "learnvault/vault.h"
#include "learnvault/util.h"

static int vault_open(int argc, char **argv)
{
	const char *pass_file = NULL;
	const struct cli_opt opts[] = {
		{"passphrase-file", true, &pass_file},
		{0, false, NULL}};
	if (cli_parse(argc, argv, 2, opts) < 0)
		return 2;
	if (optind + 1 != argc || !pass_file)
		return cli_fail("vault open: FILE --passphrase-file F");
	char *data = NULL, *pass = NULL, *json = NULL;
	size_t len = 0, plen = 0;
	int rc = 1;
	enum lv_status st = util_read_file(argv[optind], LV_VAULT_FILE_MAX, &data, &len);
	if (st != LV_OK) {
		cli_fail("vault open: cannot read %s: %s", argv[optind], lv_status_str(st));
		goto out;
	}
	if (cli_read_passphrase(pass_file, &pass, &plen) != 0)
		goto out;
	st = lv_vault_open_file((const unsigned char *)data, len, pass, plen, &json);
	if (st != LV_OK) {
		cli_fail("vault open: %s", st == LV_ERR_CRYPTO ? "wrong passphrase or altered file" :
			 st == LV_ERR_INVALID ? "not a learnvault vault file" : lv_status_str(st));
		goto out;
	}
	puts(json);
	fflush(stdout);
	rc = 0;
out:
	free(json);
	free(data);
	if (pass)
		sodium_free(pass);
	return rc;
}

static int vault_export(int argc, char **argv)
{
	const char *dir = NULL, *node_pass_file = NULL, *pass_file = NULL, *learner = NULL, *out_path = NULL;
	const struct cli_opt opts[] = {
		{"data", true, &dir},
		{"node-passphrase-file", true, &node_pass_file},
		{"learner", true, &learner},
		{"passphrase-file", true, &pass_file},
		{"out", true, &out_path},
		{0, false, NULL}};
	if (cli_parse(argc, argv, 2, opts) < 0)
		return 2;
	if (!learner || !pass_file || !out_path || optind != argc)
		return cli_fail("vault export: --data DIR --learner P --passphrase-file F --out FILE");
	struct lv_node *node = NULL;
	char *pass = NULL;
	unsigned char *file = NULL;
	size_t plen = 0, len = 0;
	int rc = 1;
	enum lv_status st;
	/* Checked first so that a refusal logs no access (util_write_file
	 * below still refuses to overwrite, without a race). */
	if (access(out_path, F_OK) == 0)
		return cli_fail("vault export: %s exists", out_path);
	if (cli_read_passphrase(pass_file, &pass, &plen) != 0)
		goto out;
	if (plen < LV_VAULT_PASSPHRASE_MIN) {
		cli_fail("vault export: the passphrase must be at least %d bytes", LV_VAULT_PASSPHRASE_MIN);
		goto out;
	}
	if (cli_open_vaults(dir, node_pass_file, "vault export", &node) != 0)
		goto out;
	/* The operator's access is logged before the file leaves the door. */
	struct lv_principal admin = {.role = LV_ROLE_ADMIN, .id = "cli"};
	char err[LV_ERR_LEN];
	st = lv_learner_vault_export(node, &admin, learner, LV_PURPOSE_OPERATOR_REQUEST, pass, plen, &file, &len, err);
	if (st != LV_OK) {
		cli_fail("vault export: %s", err);
		goto out;
	}
	st = util_write_file(out_path, file, len, 0600, true);
	if (st != LV_OK) {
		cli_fail("vault export: cannot write %s: %s", out_path,
			 st == LV_ERR_EXISTS ? "it exists" : lv_status_str(st));
		goto out;
	}
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "learner", learner);
	cJSON_AddStringToObject(o, "out", out_path);
	cJSON_AddNumberToObject(o, "bytes", (double)len);
	rc = cli_print(o);
out:
	free(file);
	if (pass)
		sodium_free(pass);
	lv_node_close(node);
	return rc;
}

int cmd_vault(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "open") == 0)
		return vault_open(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "export") == 0)
		return vault_export(argc, argv);
	return cli_fail("vault: export --data DIR --learner P --passphrase-file F --out FILE | "
			"open FILE --passphrase-file F");
}
