/* learnvault — one binary, subcommands.  Human text goes to stderr; machine
 * output is one JSON object on stdout. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cli.h"
#include "learnvault/util.h"

int cli_fail(const char *fmt, ...)
{
	va_list ap;
	fputs("learnvault: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

/* Values are quoted in the message only up to this many characters. */
#define CLI_ECHO_MAX 40

int cli_uint(const char *what, const char *s, unsigned long long min, unsigned long long max,
	     unsigned long long *out)
{
	char *end = NULL;
	unsigned long long v = 0;
	bool ok = s && isdigit((unsigned char)s[0]);
	if (ok) {
		errno = 0;
		v = strtoull(s, &end, 10);
		ok = errno == 0 && *end == '\0' && v >= min && v <= max;
	}
	if (!ok) {
		cli_fail("%s takes a whole number from %llu to %llu, not \"%.*s\"", what, min, max, CLI_ECHO_MAX,
			 s ? s : "");
		return 2;
	}
	*out = v;
	return 0;
}

int cli_real(const char *what, const char *s, double min, double max, double *out)
{
	char *end = NULL;
	double v = 0;
	bool ok = s && (isdigit((unsigned char)s[0]) || s[0] == '.' || s[0] == '-');
	if (ok) {
		errno = 0;
		v = strtod(s, &end);
		ok = errno == 0 && end != s && *end == '\0' && isfinite(v) && v >= min && v <= max;
	}
	if (!ok) {
		cli_fail("%s takes a number from %g to %g, not \"%.*s\"", what, min, max, CLI_ECHO_MAX, s ? s : "");
		return 2;
	}
	*out = v;
	return 0;
}

int cli_parse(int argc, char **argv, int first, const struct cli_opt *opts)
{
	struct option lo[CLI_MAX_OPTS + 1];
	size_t n = 0;
	for (; opts[n].name && n < CLI_MAX_OPTS; n++)
		lo[n] = (struct option){opts[n].name, opts[n].has_arg ? required_argument : no_argument, NULL, (int)n};
	lo[n] = (struct option){0, 0, 0, 0};
	int c;
	optind = first;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (c < 0 || (size_t)c >= n)
			return -1;
		*opts[c].out = optarg ? optarg : "";
	}
	return optind;
}

int cli_print(cJSON *o)
{
	char *t = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!t)
		return cli_fail("out of memory");
	puts(t);
	fflush(stdout);
	free(t);
	return 0;
}

int cli_read_passphrase(const char *path, char **pass, size_t *len)
{
	char *raw = NULL;
	size_t n = 0;
	*pass = NULL;
	*len = 0;
	if (util_read_file(path, 4096, &raw, &n) != LV_OK)
		return cli_fail("cannot read the passphrase file");
	size_t l = strcspn(raw, "\r\n");
	if (l == 0) {
		sodium_memzero(raw, n);
		free(raw);
		return cli_fail("the passphrase file is empty");
	}
	*pass = sodium_malloc(l + 1);
	if (*pass) {
		memcpy(*pass, raw, l);
		(*pass)[l] = 0;
		*len = l;
	}
	sodium_memzero(raw, n);
	free(raw);
	return *pass ? 0 : cli_fail("out of memory");
}

static int open_node(const char *dir, const char *pass_file, const char *vaults_for, struct lv_node **node)
{
	struct lv_node_keysource ks = {0};
	char *pass = NULL;
	if (!dir)
		return cli_fail("--data DIR is required");
	if (pass_file && cli_read_passphrase(pass_file, &pass, &ks.passphrase_len) != 0)
		return 1;
	ks.passphrase = pass;
	char holder[LV_NODE_HOLDER_LEN];
	snprintf(holder, sizeof holder, "learnvault %s", vaults_for ? vaults_for : "");
	struct lv_node_options opt = {.access = vaults_for ? LV_NODE_OWN_VAULTS : LV_NODE_SHARED, .holder = holder};
	enum lv_status st = lv_node_open(dir, &ks, &opt, node);
	if (pass)
		sodium_free(pass);
	if (st == LV_ERR_IN_USE) {
		char who[LV_NODE_HOLDER_LEN];
		if (lv_node_holder(dir, who) != LV_OK)
			snprintf(who, sizeof who, "another process");
		if (vaults_for && strcmp(vaults_for, "serve") == 0)
			return cli_fail("serve: the node in %s is already served by %s; one server per data directory", dir, who);
		if (vaults_for)
			return cli_fail("%s: the node in %s is in use by %s, which holds the learners' vaults; "
					"nothing was changed: stop it first (a running server offers this through its HTTP API)",
					vaults_for, dir, who);
		return cli_fail("the node in %s is held exclusively by %s (a key rotation); nothing was changed: "
				"try again when it has finished", dir, who);
	}
	if (st != LV_OK)
		return cli_fail("cannot open the node in %s: %s", dir, lv_status_str(st));
	return 0;
}

int cli_open(const char *dir, const char *pass_file, struct lv_node **node)
{
	return open_node(dir, pass_file, NULL, node);
}

int cli_open_vaults(const char *dir, const char *pass_file, const char *command, struct lv_node **node)
{
	return open_node(dir, pass_file, command, node);
}

static void usage(void)
{
	fputs("usage: learnvault COMMAND [options]\n"
	      "  init --data DIR [--passphrase-file F] [--origin NAME]\n"
	      "  serve --data DIR [--listen HOST:PORT] [--threads N] [--passphrase-file F] [--secure-cookies]\n"
	      "  credential add --data DIR --role provider|learner|analyst|auditor|admin\n"
	      "                 [--learner ID] [--purpose P]... [--label TEXT]\n"
	      "  credential list --data DIR | credential revoke --data DIR ID\n"
	      "  learner add --data DIR (--mbox mailto:... | --account HOMEPAGE NAME) [--name NAME]\n"
	      "              [--birth-date YYYY-MM-DD]\n"
	      "  ingest --data DIR [--provider ID] [--ids FILE] [--resume PROGRESS_FILE] FILE.json|FILE.ndjson|-\n"
	      "  setting get|set --data DIR NAME [VALUE]\n"
	      "  policy load --data DIR FILE... | policy list --data DIR\n"
	      "  consent grant|refuse|withdraw --data DIR --learner P --policy ID [--as learner|guardian]\n"
	      "  consent list --data DIR --learner P\n"
	      "  audit export --data DIR --out FILE | audit checkpoint --data DIR\n"
	      "  audit verify --log FILE --key VKEY|FILE [--previous CHECKPOINT_FILE] [--receipt FILE]...\n"
	      "  vault export --data DIR --learner P --passphrase-file F --out FILE [--node-passphrase-file G]\n"
	      "  vault open FILE --passphrase-file F\n"
	      "  export --data DIR --learner PSEUDONYM --out FILE [--access-report]\n"
	      "  query --data DIR FILE.json   (an aggregate query, answered as the operator)\n"
	      "  federate task add --data DIR FILE.json | federate task list --data DIR\n"
	      "  federate upload --data DIR --task ID   (a DAP upload: docs/federation.md)\n"
	      "  erase --data DIR --learner PSEUDONYM\n"
	      "  backup --data DIR --out FILE [--include-key] | restore --from FILE --data DIR [--key FILE]\n"
	      "         [--erasures-from AUDIT_EXPORT]   (docs/backup.md)\n"
	      "  retention run --data DIR [--dry-run [--as-of TIME]]   (docs/privacy.md)\n"
	      "  key rotate --data DIR [--passphrase-file F] [--new-passphrase-file G]\n"
	      "  bench ingest [--statements N] [--learners N] | bench audit [--entries N]\n"
	      "  bench aggregate [--learners N] [--statements PER_LEARNER]\n"
	      "  eval bkt|fit-bkt|synth-bkt|fsrs ...   (learner models offline; eval with no args: usage)\n"
	      "  dp sample --mechanism discrete-laplace|discrete-gaussian (--scale S | --sigma2 V) --n N\n"
	      "  recommend --data DIR --learner P [--limit N] [--view next|mastery|reviews] [--rebuild]\n"
	      "  curriculum load|show --data DIR [FILE.json] | personal params --data DIR FILE.json\n"
	      "  bench personal | bench federate [--learners N] [--seconds S] [--dir KEEP]\n"
	      "  demo-seed --data DIR --examples DIR\n", stderr);
}

int main(int argc, char **argv)
{
	if (sodium_init() < 0)
		return cli_fail("libsodium failed to initialise");
	if (argc < 2) {
		usage();
		return 2;
	}
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = {
		{"init", cmd_init}, {"serve", cmd_serve}, {"credential", cmd_credential},
		{"learner", cmd_learner}, {"ingest", cmd_ingest}, {"setting", cmd_setting},
		{"demo-seed", cmd_demo_seed}, {"bench", cmd_bench}, {"erase", cmd_erase},
		{"key", cmd_key}, {"policy", cmd_policy},
		{"eval", cmd_eval},
		{"audit", cmd_audit}, {"consent", cmd_consent},
		{"export", cmd_export}, {"vault", cmd_vault}, {"query", cmd_query},
		{"federate", cmd_federate},
		{"dp", cmd_dp},
		{"backup", cmd_backup}, {"restore", cmd_restore}, {"retention", cmd_retention},
		{"recommend", cmd_recommend}, {"curriculum", cmd_curriculum}, {"personal", cmd_personal},
	};
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].fn(argc - 1, argv + 1);
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
		usage();
		return 0;
	}
	usage();
	return cli_fail("unknown command '%s'", argv[1]) + 1;
}
