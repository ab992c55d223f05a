/* ingest: offline import through the same request validation as HTTP
 * (lv_xapi_request_validate). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "learnvault/door.h"
#include "cli.h"
#include "learnvault/statements.h"
#include "learnvault/xapi.h"
#include "learnvault/util.h"

int cli_ingest_text(struct lv_node *node, const char *provider_id, const char *text, size_t len,
		    cJSON **ids)
{
	*ids = NULL;
	/* A file holds JSON only: attachments must come with a fileUrl. */
	const struct lv_xapi_request req = {.json = text, .json_len = len};
	struct lv_xapi_batch batch;
	struct lv_xapi_error err;
	if (lv_xapi_request_validate(&req, &batch, &err) != LV_OK) {
		/* The request texts speak of an HTTP body; a file keeps its own
		 * words (without a statementId, "invalid" is only the shape). */
		if (strcmp(err.code, "invalid_json") == 0)
			return cli_fail("ingest: the file is not valid JSON");
		if (strcmp(err.code, "invalid") == 0)
			return cli_fail("ingest: expected a statement or an array of statements");
		return cli_fail("ingest: %s; nothing was stored", err.message);
	}
	int rc = 1;
	struct lv_principal prov = {.role = LV_ROLE_PROVIDER};
	snprintf(prov.id, sizeof prov.id, "%s", provider_id);
	char serr[LV_ERR_TEXT];
	enum lv_status s = lv_ingest(node, &prov, batch.statements, NULL, 0, serr);
	if (s != LV_OK) {
		cli_fail("ingest: %s; nothing was stored", serr);
		goto out;
	}
	*ids = cJSON_CreateArray();
	const cJSON *st;
	cJSON_ArrayForEach(st, batch.statements)
		cJSON_AddItemToArray(*ids, cJSON_CreateString(cJSON_GetObjectItemCaseSensitive(st, "id")->valuestring));
	rc = 0;
out:
	lv_xapi_batch_clear(&batch);
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
