/* federate: the node as a DAP client, from the local CLI as the node
 * operator (docs/federation.md).
 *   federate task add --data DIR FILE.json
 *   federate task list --data DIR
 *   federate upload --data DIR --task ID   (progress on stderr, one JSON line) */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "learnvault/query.h"
#include "learnvault/util.h"

static const char USAGE[] = "federate task add --data DIR FILE.json | federate task list --data DIR |"
			    " federate upload --data DIR --task ID";

static struct lv_principal operator_principal(void)
{
	/* The operator holds the node key: it acts as the node's admin. */
	struct lv_principal op = {.role = LV_ROLE_ADMIN};
	snprintf(op.id, sizeof op.id, "operator");
	return op;
}

/* Prints a JSON text of the library's (freed) as one line. */
static int print_text(char *text)
{
	cJSON *o = cJSON_Parse(text);
	free(text);
	if (!o)
		return cli_fail("federate: out of memory");
	return cli_print(o);
}

static int task_add(int argc, char **argv)
{
	const char *dir = NULL, *pass_file = NULL;
	const struct cli_opt opts[] = {{"data", true, &dir}, {"passphrase-file", true, &pass_file}, {0, false, NULL}};
	if (cli_parse(argc, argv, 2, opts) < 0)
		return 2;
	if (optind != argc - 1)
		return cli_fail("federate task add --data DIR FILE.json (one task file)") + 1;
	char *text = NULL, *task = NULL, err[LV_QUERY_ERR_LEN];
	size_t len = 0;
	enum lv_status st = util_read_file(argv[optind], LV_QUERY_MAX_TEXT + 1, &text, &len);
	if (st != LV_OK)
		return cli_fail("federate task add: cannot read %s: %s", argv[optind], lv_status_str(st));
	struct lv_node *node = NULL;
	if (cli_open(dir, pass_file, &node) != 0) {
		free(text);
		return 1;
	}
	struct lv_principal op = operator_principal();
	st = lv_federate_task_add(node, &op, text, len, util_now_ms(), &task, err);
	free(text);
	lv_node_close(node);
	if (st == LV_ERR_EXISTS) {
		fprintf(stderr, "learnvault: %s (nothing changed)\n", err);
		return print_text(task);
	}
	if (st != LV_OK)
		return cli_fail("federate task add: %s", err);
	return print_text(task);
}

static int task_list(int argc, char **argv)
{
	const char *dir = NULL, *pass_file = NULL;
	const struct cli_opt opts[] = {{"data", true, &dir}, {"passphrase-file", true, &pass_file}, {0, false, NULL}};
	if (cli_parse(argc, argv, 2, opts) < 0)
		return 2;
	if (optind != argc)
		return cli_fail("federate task list --data DIR") + 1;
	struct lv_node *node = NULL;
	if (cli_open(dir, pass_file, &node) != 0)
		return 1;
	struct lv_principal op = operator_principal();
	char *tasks = NULL;
	enum lv_status st = lv_federate_task_list(node, &op, &tasks);
	lv_node_close(node);
	if (st != LV_OK)
		return cli_fail("federate task list: %s", lv_status_str(st));
	return print_text(tasks);
}

static void on_progress(void *ctx, const char *stage, size_t done, size_t total)
{
	(void)ctx;
	if (total)
		fprintf(stderr, "federate: %s %zu/%zu\n", stage, done, total);
	else
		fprintf(stderr, "federate: %s %zu\n", stage, done);
}

static int upload(int argc, char **argv)
{
	const char *dir = NULL, *pass_file = NULL, *task = NULL;
	const struct cli_opt opts[] = {
		{"data", true, &dir}, {"passphrase-file", true, &pass_file}, {"task", true, &task}, {0, false, NULL}};
	if (cli_parse(argc, argv, 2, opts) < 0)
		return 2;
	if (optind != argc || !task)
		return cli_fail("federate upload --data DIR --task ID") + 1;
	struct lv_node *node = NULL;
	if (cli_open(dir, pass_file, &node) != 0)
		return 1;
	struct lv_principal op = operator_principal();
	struct lv_federate_progress prog = {on_progress, NULL};
	char *summary = NULL, err[LV_QUERY_ERR_LEN];
	enum lv_status st = lv_federate_upload(node, &op, task, util_now_ms(), &prog, &summary, err);
	lv_node_close(node);
	if (st != LV_OK)
		return cli_fail("federate upload: %s", err);
	return print_text(summary);
}

int cmd_federate(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "task") == 0 && strcmp(argv[2], "add") == 0)
		return task_add(argc - 1, argv + 1);
	if (argc >= 3 && strcmp(argv[1], "task") == 0 && strcmp(argv[2], "list") == 0)
		return task_list(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "upload") == 0)
		return upload(argc, argv);
	return cli_fail("usage: learnvault %s", USAGE) + 1;
}
