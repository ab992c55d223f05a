/* retention run: delete what every covering policy's retention has
 * passed (the rule: include/learnvault/retention.h; docs/privacy.md). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "learnvault/retention.h"
#include "learnvault/util.h"

#define RETENTION_USAGE "retention run --data DIR [--dry-run [--as-of TIME]] [--passphrase-file F]"

int cmd_retention(int argc, char **argv)
{
	const char *dir = NULL, *pass_file = NULL, *dry = NULL, *as_of = NULL;
	const struct cli_opt opts[] = {
		{"data", true, &dir},
		{"passphrase-file", true, &pass_file},
		{"dry-run", false, &dry},
		{"as-of", true, &as_of},
		{0, false, NULL}};
	if (argc < 2 || strcmp(argv[1], "run") != 0)
		return cli_fail(RETENTION_USAGE) + 1;
	if (cli_parse(argc, argv, 2, opts) < 0)
		return 2;
	if (optind != argc)
		return cli_fail(RETENTION_USAGE) + 1;
	int64_t now = util_now_ms();
	/* Looking ahead ("what will have expired by then") changes nothing,
	 * so only a dry run may do it. */
	if (as_of && (!dry || !util_time_parse(as_of, &now)))
		return cli_fail("retention run: --as-of takes an RFC 3339 time and only goes with --dry-run") + 1;
	struct lv_node *node = NULL;
	/* A dry run only reads node.db: beside a server too.  A real run owns
	 * the vaults, and is refused (naming the holder) while a server runs:
	 * the server applies retention on its own schedule. */
	if ((dry ? cli_open(dir, pass_file, &node) : cli_open_vaults(dir, pass_file, "retention run", &node)) != 0)
		return 1;
	struct lv_retention_report rep;
	char err[LV_ERR_LEN];
	enum lv_status st = lv_retention_run(node, now, dry != NULL, &rep, err);
	lv_node_close(node);
	if (st != LV_OK)
		return cli_fail("retention run: %s", err);
	fprintf(stderr, "learnvault: retention%s: %llu of %llu statements past retention %s (%llu learners, "
			"%llu policy versions)\n", dry ? " (dry run)" : "", (unsigned long long)rep.expired,
		(unsigned long long)rep.examined, dry ? "would be deleted" : "deleted", (unsigned long long)rep.learners,
		(unsigned long long)rep.policies);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "dry_run", dry != NULL);
	cJSON_AddNumberToObject(o, "examined", (double)rep.examined);
	cJSON_AddNumberToObject(o, dry ? "would_delete" : "deleted", (double)rep.expired);
	cJSON_AddNumberToObject(o, "learners", (double)rep.learners);
	cJSON_AddNumberToObject(o, "policies", (double)rep.policies);
	cJSON_AddNumberToObject(o, "audit_entries", (double)rep.audit_entries);
	return cli_print(o);
}
