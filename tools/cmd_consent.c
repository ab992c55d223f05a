/* policy load | list. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "learnvault/consent.h"
#include "learnvault/util.h"

int cmd_policy(int argc, char **argv)
{
	const char *dir = NULL, *pass_file = NULL;
	const struct cli_opt opts[] = {
		{"data", true, &dir},
		{"passphrase-file", true, &pass_file},
		{0, false, NULL}};
	if (argc < 2 || (strcmp(argv[1], "load") != 0 && strcmp(argv[1], "list") != 0))
		return cli_fail("policy: load --data DIR FILE... | list --data DIR");
	bool load = strcmp(argv[1], "load") == 0;
	if (cli_parse(argc, argv, 2, opts) < 0)
		return 2;
	if (load && optind >= argc)
		return cli_fail("policy load: name at least one policy file");
	struct lv_node *node = NULL;
	if (cli_open(dir, pass_file, &node) != 0)
		return 1;
	int rc = 0;
	cJSON *out = cJSON_CreateObject();
	if (!load) {
		char *json = NULL;
		enum lv_status st = lv_policy_list(node, &json);
		if (st != LV_OK) {
			rc = cli_fail("policy list: %s", lv_status_str(st));
		} else {
			cJSON_AddItemToObject(out, "policies", cJSON_Parse(json));
		}
		free(json);
	} else {
		cJSON *arr = cJSON_AddArrayToObject(out, "loaded");
		/* Each file stands alone: a bad one is reported and the rest
		 * still load (each load is its own transaction). */
		for (int i = optind; i < argc; i++) {
			char *text = NULL;
			size_t len = 0;
			char err[LV_POLICY_ERR_LEN], id[LV_POLICY_ID_MAX + 1];
			uint32_t version = 0;
			bool added = false;
			enum lv_status st = util_read_file(argv[i], LV_POLICY_MAX_TEXT + 1, &text, &len);
			if (st == LV_OK)
				st = lv_policy_load(node, text, len, &added, id, &version, err);
			else
				snprintf(err, sizeof err, "cannot read the file (%s)", lv_status_str(st));
			free(text);
			if (st != LV_OK) {
				rc = cli_fail("policy load: %s: %s", argv[i], err);
				continue;
			}
			fprintf(stderr, "learnvault: %s: policy %s version %u %s\n", argv[i], id, (unsigned)version,
				added ? "loaded" : "already loaded, unchanged");
			cJSON *o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "id", id);
			cJSON_AddNumberToObject(o, "version", version);
			cJSON_AddBoolToObject(o, "added", added);
			cJSON_AddItemToArray(arr, o);
		}
	}
	lv_node_close(node);
	if (rc == 0)
		return cli_print(out);
	cJSON_Delete(out);
	return rc;
}

int cmd_consent(int argc, char **argv)
{
	const char *dir = NULL, *pass_file = NULL, *learner = NULL, *policy = NULL, *as = "learner";
	const char *version_s = NULL;
	const struct cli_opt opts[] = {
		{"data", true, &dir}, {"passphrase-file", true, &pass_file}, {"learner", true, &learner},
		{"policy", true, &policy}, {"version", true, &version_s}, {"as", true, &as}, {0, false, NULL}};
	if (argc < 2)
		return cli_fail("consent: grant|refuse|withdraw|list --data DIR --learner P [--policy ID] [--as learner|guardian]");
	const char *verb = argv[1];
	if (cli_parse(argc, argv, 2, opts) < 0)
		return 2;
	unsigned long long version = 0; /* 0: the policy's current version */
	if (version_s && cli_uint("consent --version", version_s, 1, UINT32_MAX, &version) != 0)
		return 2;
	bool list = strcmp(verb, "list") == 0;
	bool grant = strcmp(verb, "grant") == 0, refuse = strcmp(verb, "refuse") == 0;
	if (!list && !grant && !refuse && strcmp(verb, "withdraw") != 0)
		return cli_fail("consent: grant|refuse|withdraw|list");
	if (!learner || (!list && !policy))
		return cli_fail("consent %s: --learner P%s is required", verb, list ? "" : " and --policy ID");
	enum lv_role on_behalf = lv_role_parse(as);
	if (on_behalf != LV_ROLE_LEARNER && on_behalf != LV_ROLE_GUARDIAN)
		return cli_fail("consent: --as learner|guardian (who decided, e.g. on a signed form)");
	struct lv_node *node = NULL;
	if (cli_open(dir, pass_file, &node) != 0)
		return 1;
	int rc;
	if (list) {
		char *json = NULL;
		enum lv_status st = lv_consent_list(node, learner, util_now_ms(), &json);
		rc = st == LV_OK ? (puts(json), 0) : cli_fail("consent list: %s", lv_status_str(st));
		free(json);
	} else {
		/* The CLI is the node operator recording a decision made elsewhere. */
		struct lv_principal admin = {.role = LV_ROLE_ADMIN, .id = "cli"};
		char rid[LV_RECORD_ID_LEN], err[LV_CONSENT_ERR_LEN];
		enum lv_status st = grant || refuse
			? lv_consent_decide(node, &admin, on_behalf, learner, policy, (uint32_t)version, grant, rid, err)
			: lv_consent_withdraw(node, &admin, on_behalf, learner, policy, rid, err);
		if (st != LV_OK) {
			rc = cli_fail("consent %s: %s", verb, err);
		} else {
			cJSON *o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "record_id", rid);
			cJSON_AddStringToObject(o, "learner", learner);
			cJSON_AddStringToObject(o, "policy", policy);
			rc = cli_print(o);
		}
	}
	lv_node_close(node);
	return rc;
}
