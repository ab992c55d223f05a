/* learnvault — one binary, subcommands.  Human text goes to stderr; machine
 * output is one JSON object on stdout. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cli.h"
#include "usage.h"
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

/* The command being run (main found it), for cli_parse's --help. */
static const struct cli_usage *running;
static void usage(FILE *f);

int cli_parse(int argc, char **argv, int first, const struct cli_opt *opts)
{
	struct option lo[CLI_MAX_OPTS + 2];
	size_t n = 0;
	for (; opts[n].name && n < CLI_MAX_OPTS; n++)
		lo[n] = (struct option){opts[n].name, opts[n].has_arg ? required_argument : no_argument, NULL, (int)n};
	/* -h and --help, anywhere among the options: the running command's
	 * help, before anything is opened or read (hence exit here). */
	lo[n] = (struct option){"help", no_argument, NULL, 'h'};
	lo[n + 1] = (struct option){0, 0, 0, 0};
	int c;
	optind = first;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		if (c == 'h') {
			if (running)
				cli_usage_print(stdout, running);
			else
				usage(stdout);
			exit(fflush(stdout) == 0 ? 0 : 1);
		}
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

/* A DNS name's longest form: the cap on the host of a --listen value. */
#define CLI_HOST_MAX 253

/* The strict port of a --listen value: digits only, 0 to 65535. */
static bool listen_port(const char *s, uint16_t *port)
{
	unsigned long v = 0;
	if (!*s || strlen(s) > 5)
		return false;
	for (; *s; s++) {
		if (!isdigit((unsigned char)*s))
			return false;
		v = v * 10 + (unsigned long)(*s - '0');
	}
	*port = (uint16_t)v;
	return v <= 65535;
}

int cli_listen_parse(const char *what, const char *s, char *host, size_t hlen, uint16_t *port)
{
	const char *colon = strrchr(s, ':');
	size_t n = colon ? (size_t)(colon - s) : 0;
	const char *h = s;
	host[0] = 0;
	*port = 0;
	bool bracketed = n >= 2 && s[0] == '[' && s[n - 1] == ']';
	if (bracketed) {
		h++;
		n -= 2;
	}
	/* An unbracketed IPv6 address cannot be told from its port. */
	if (!colon || n == 0 || n > CLI_HOST_MAX || memchr(h, bracketed ? ']' : ':', n) || !listen_port(colon + 1, port)) {
		*port = 0;
		cli_fail("%s wants HOST:PORT, PORT from 0 to 65535: a name (localhost:8080), an IPv4 address"
			 " (127.0.0.1:8080) or an IPv6 address in brackets ([::1]:8080), not \"%.*s\"", what,
			 CLI_ECHO_MAX, s);
		return 2;
	}
	char name[CLI_HOST_MAX + 1];
	memcpy(name, h, n);
	name[n] = 0;
	/* The server binds numeric addresses only: names are resolved here. */
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_family = bracketed ? AF_INET6 : AF_UNSPEC,
				 .ai_flags = bracketed ? AI_NUMERICHOST : 0};
	struct addrinfo *res = NULL, *pick = NULL;
	int e = getaddrinfo(name, NULL, &hints, &res);
	if (e != 0) {
		*port = 0;
		return cli_fail("%s: cannot resolve \"%s\": %s", what, name, gai_strerror(e));
	}
	/* A name with both families (localhost): IPv4 first, as printed URLs
	 * and clients such as curl reach it either way. */
	for (struct addrinfo *a = res; a; a = a->ai_next) {
		if (a->ai_family == AF_INET) {
			pick = a;
			break;
		}
		if (a->ai_family == AF_INET6 && !pick)
			pick = a;
	}
	e = pick ? getnameinfo(pick->ai_addr, pick->ai_addrlen, host, (socklen_t)hlen, NULL, 0, NI_NUMERICHOST)
		 : EAI_FAMILY;
	freeaddrinfo(res);
	if (e != 0) {
		host[0] = 0;
		*port = 0;
		return cli_fail("%s: \"%s\" has no usable address: %s", what, name, gai_strerror(e));
	}
	return 0;
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

static void usage(FILE *f)
{
	fputs("usage: learnvault COMMAND [options]\n", f);
	cli_usage_list(f, NULL, 0);
	fputs("learnvault COMMAND --help prints a command's options; learnvault help --man, the manual.\n", f);
}

static bool is_help(const char *arg)
{
	return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

/* The help of the @nwords words of a command path: its own, or the list
 * of a group ("bench", "federate task").  0, or 2 when no command starts
 * so. */
static int help_for(int nwords, char *const *words)
{
	int n = 0;
	const struct cli_usage *u = cli_usage_find(nwords, words, &n);
	if (u && n == nwords) {
		cli_usage_print(stdout, u);
	} else if (!u && n == nwords) {
		fputs("usage:\n", stdout);
		cli_usage_list(stdout, words, nwords);
		fputs("learnvault COMMAND --help prints a command's options.\n", stdout);
	} else {
		usage(stderr);
		return cli_fail("help: no command '%s'", words[n]) + 1;
	}
	return fflush(stdout) == 0 ? 0 : 1;
}

/* Whether argv[@first..] asks for help, read as getopt would with @u's
 * options: a value (even one that reads "-h") is skipped, as many words as
 * the option's flag names ("--account HOMEPAGE NAME": two); "--" ends
 * the options. */
static bool help_requested(const struct cli_usage *u, int argc, char **argv, int first)
{
	for (int i = first; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0)
			return false;
		if (is_help(a))
			return true;
		if (strncmp(a, "--", 2) != 0 || strchr(a, '='))
			continue;
		for (const struct cli_usage_opt *o = u->opts; o->flag; o++) {
			size_t n = strcspn(o->flag, " ");
			if (strncmp(o->flag, a, n) != 0 || a[n] != 0)
				continue;
			for (const char *p = o->flag + n; *p; p++)
				i += *p == ' ';
			break;
		}
	}
	return false;
}

/* learnvault help [COMMAND... | --man] */
static int cmd_help(int argc, char **argv)
{
	if (argc == 1) {
		usage(stdout);
		return fflush(stdout) == 0 ? 0 : 1;
	}
	if (argc == 2 && is_help(argv[1]))
		return help_for(1, argv);
	if (argc == 2 && strcmp(argv[1], "--man") == 0) {
		cli_usage_man(stdout);
		return fflush(stdout) == 0 ? 0 : 1;
	}
	return help_for(argc - 1, argv + 1);
}

int main(int argc, char **argv)
{
	if (sodium_init() < 0)
		return cli_fail("libsodium failed to initialise");
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "help") == 0 || is_help(argv[1]))
		return cmd_help(argc - 1, argv + 1);
	/* `learnvault PATH --help`, PATH a command or a group, or --help
	 * among a command's options (also those that parse their own). */
	int words = 0;
	running = cli_usage_find(argc - 1, argv + 1, &words);
	if (words > 0 && 1 + words < argc && is_help(argv[1 + words]))
		return help_for(words, argv + 1);
	if (running && help_requested(running, argc, argv, 1 + words))
		return help_for(words, argv + 1);
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
		if (argc > 2) {
			usage(stderr);
			return cli_fail("version takes no arguments") + 1;
		}
		puts("learnvault " LV_VERSION);
		return fflush(stdout) == 0 ? 0 : 1;
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
		{"config", cmd_config},
	};
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].fn(argc - 1, argv + 1);
	usage(stderr);
	return cli_fail("unknown command '%s'", argv[1]) + 1;
}
