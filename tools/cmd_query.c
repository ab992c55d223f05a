/* query: the aggregate door from the local CLI, as the node operator. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "learnvault/query.h"
#include "learnvault/util.h"

int cmd_query(int argc, char **argv)
{
	const char *dir = NULL, *pass_file = NULL;
	const struct cli_opt opts[] = {
		{"data", true, &dir},
		{"passphrase-file", true, &pass_file},
		{0, false, NULL}};
	if (cli_parse(argc, argv, 1, opts) < 0)
		return 2;
	if (optind != argc - 1)
		return cli_fail("query: --data DIR FILE.json (one query file)") + 1;
	char *text = NULL, *answer = NULL, err[LV_QUERY_ERR_LEN];
	size_t len = 0;
	enum lv_status st = util_read_file(argv[optind], LV_QUERY_MAX_TEXT + 1, &text, &len);
	if (st != LV_OK)
		return cli_fail("query: cannot read %s: %s", argv[optind], lv_status_str(st));
	struct lv_node *node = NULL;
	if (cli_open(dir, pass_file, &node) != 0) {
		free(text);
		return 1;
	}
	/* The operator holds the node key: it answers as the node, under the
	 * same consent, budget, cache and audit rules as an analyst. */
	struct lv_principal op = {.role = LV_ROLE_ADMIN};
	snprintf(op.id, sizeof op.id, "operator");
	st = lv_aggregate(node, &op, text, len, util_now_ms(), &answer, err);
	free(text);
	lv_node_close(node);
	if (st != LV_OK)
		return cli_fail("query: %s", err);
	cJSON *o = cJSON_Parse(answer);
	free(answer);
	return cli_print(o);
}
