/* ingest: offline import with the same validation as HTTP. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "http/multipart.h"
#include "learnvault/statements.h"
#include "store/xapi.h"

int cli_ingest_text(struct lv_node *node, const char *provider_id, const char *text, size_t len,
		    cJSON **ids)
{
	*ids = NULL;
	char err[MP_ERR_LEN > XAPI_ERR_LEN ? MP_ERR_LEN : XAPI_ERR_LEN];
	cJSON *doc = util_json_parse(text, len);
	if (!doc)
		return cli_fail("ingest: the file is not valid JSON");
	cJSON *batch = doc;
	if (cJSON_IsObject(doc)) {
		batch = cJSON_CreateArray();
		cJSON_AddItemToArray(batch, doc);
	} else if (!cJSON_IsArray(doc)) {
		cJSON_Delete(doc);
		return cli_fail("ingest: expected a statement or an array of statements");
	}
	int rc = 1;
	size_t i = 0;
	cJSON *st;
	cJSON_ArrayForEach(st, batch) {
		if (xapi_validate_statement(st, err) != LV_OK) {
			cli_fail("ingest: statement %zu: %s; nothing was stored", i, err);
			goto out;
		}
		i++;
	}
	if (multipart_check_attachments(batch, NULL, err) != LV_OK) {
		cli_fail("ingest: %s; nothing was stored", err);
		goto out;
	}
	struct lv_principal prov = {.role = LV_ROLE_PROVIDER};
	snprintf(prov.id, sizeof prov.id, "%s", provider_id);
	char serr[LV_ERR_TEXT];
	enum lv_status s = lv_statements_store(node, &prov, batch, NULL, 0, serr);
	if (s != LV_OK) {
		cli_fail("ingest: %s; nothing was stored", serr);
		goto out;
	}
	*ids = cJSON_CreateArray();
	cJSON_ArrayForEach(st, batch)
		cJSON_AddItemToArray(*ids, cJSON_CreateString(cJSON_GetObjectItemCaseSensitive(st, "id")->valuestring));
	rc = 0;
out:
	cJSON_Delete(batch);
	return rc;
}

int cmd_ingest(int argc, char **argv)
{
	const char *dir = NULL, *pass_file = NULL, *provider = "local-ingest";
	const struct cli_opt opts[] = {
		{"data", true, &dir},
		{"passphrase-file", true, &pass_file},
		{"provider", true, &provider},
		{0, false, NULL}};
	if (cli_parse(argc, argv, 1, opts) < 0)
		return 2;
	if (optind + 1 != argc)
		return cli_fail("ingest: one FILE.json");
	if (strlen(provider) >= LV_CRED_ID_LEN)
		return cli_fail("ingest: --provider is a credential id (at most %d characters)", LV_CRED_ID_LEN - 1);
	char *text = NULL;
	size_t len = 0;
	enum lv_status st = util_read_file(argv[optind], 256u << 20, &text, &len);
	if (st != LV_OK)
		return cli_fail("ingest: cannot read %s: %s", argv[optind], lv_status_str(st));
	struct lv_node *node = NULL;
	if (cli_open_vaults(dir, pass_file, "ingest", &node) != 0) {
		free(text);
		return 1;
	}
	cJSON *ids = NULL;
	int rc = cli_ingest_text(node, provider, text, len, &ids);
	free(text);
	if (rc == 0) {
		fprintf(stderr, "learnvault: stored %d statements\n", cJSON_GetArraySize(ids));
		cJSON *o = cJSON_CreateObject();
		cJSON_AddItemToObject(o, "stored", ids);
		rc = cli_print(o);
	}
	lv_node_close(node);
	return rc;
}
