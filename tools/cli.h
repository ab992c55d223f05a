/* learnvault CLI: shared helpers of the subcommands. */
#ifndef LV_TOOLS_CLI_H
#define LV_TOOLS_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <getopt.h>

#include <cjson/cJSON.h>

#include "learnvault/node.h"

/* One long option: its argument is stored in *@out (a flag, @has_arg
 * false, stores ""); an option not given leaves *@out, its default, alone. */
struct cli_opt {
	const char *name;
	bool has_arg;
	const char **out;
};
#define CLI_MAX_OPTS 16

/* Parses the options in argv[@first..] against @opts (ended by a zero
 * entry).  Returns the index of the first operand, or -1 after getopt has
 * said what was wrong (the command then exits 2). */
int cli_parse(int argc, char **argv, int first, const struct cli_opt *opts);

/* Prints "learnvault: <msg>" on stderr and returns 1 (usage: 2). */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A numeric option's value @s, for @what (e.g. "serve --threads"):
 * digits only (strtoull would take "abc" as 0, "-1" as its maximum and
 * " 7" or "7x" as 7), within [@min, @max].  Returns 0 with *@out set, or
 * 2 (the usage exit code) after saying on stderr what is accepted. */
int cli_uint(const char *what, const char *s, unsigned long long min, unsigned long long max,
	     unsigned long long *out);
/* The same for a finite decimal number within [@min, @max]. */
int cli_real(const char *what, const char *s, double min, double max, double *out);
/* A --listen value @s ("serve --listen" is @what): HOST:PORT with HOST a
 * name (resolved with getaddrinfo: its first IPv4 address, else its first
 * IPv6 one), an IPv4 address or an IPv6 address in brackets ([::1]:8080).
 * Writes the numeric address (what lv_server_start takes; an IPv6 one
 * without brackets) to @host (@hlen bytes) and the port to *@port.
 * Returns 0, or the exit code after saying why on stderr: 2 when @s is
 * malformed, 1 when the name does not resolve; on failure @host is "" and
 * *@port 0. */
int cli_listen_parse(const char *what, const char *s, char *host, size_t hlen, uint16_t *port);
/* Prints @o as one line of JSON on stdout and frees it; returns 0. */
int cli_print(cJSON *o);
/* Opens the node in @dir, reading the passphrase from @pass_file if set,
 * beside whatever else has it open (a running server): node.db only. */
int cli_open(const char *dir, const char *pass_file, struct lv_node **node);
/* The same for a @command that reads or writes learners' vaults: it owns
 * them while it runs, and is refused (changing nothing, naming the
 * holder) while a server or another such command does. */
int cli_open_vaults(const char *dir, const char *pass_file, const char *command, struct lv_node **node);
/* Reads a passphrase file (first line) into sodium_malloc memory. */
int cli_read_passphrase(const char *path, char **pass, size_t *len);

int cmd_init(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_config(int argc, char **argv); /* cmd_config.c: config check [FILE] */
int cmd_credential(int argc, char **argv);
int cmd_learner(int argc, char **argv);
int cmd_ingest(int argc, char **argv);
int cmd_setting(int argc, char **argv);
int cmd_demo_seed(int argc, char **argv);
int cmd_bench(int argc, char **argv);

/* A benchmark's scratch directory: @keep (the --dir option, kept after)
 * or a fresh /tmp/lvbench.XXXXXX (removed by bench_scratch_close), with
 * the node's directory inside it. */
struct bench_scratch {
	char dir[4096];
	char node_dir[4200];
	bool keep;
};
/* 0, or 1 after saying why (@area names the bench). */
int bench_scratch_open(const char *area, const char *keep, struct bench_scratch *s);
void bench_scratch_close(const char *area, const struct bench_scratch *s);
int cmd_erase(int argc, char **argv);
int cmd_key(int argc, char **argv);
int cmd_policy(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_consent(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_vault(int argc, char **argv);
int cmd_query(int argc, char **argv);
int cmd_federate(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_eval_fsrs(int argc, char **argv); /* argv[0] == "fsrs" */
int cmd_dp(int argc, char **argv);
int cmd_backup(int argc, char **argv);
int cmd_restore(int argc, char **argv);
int cmd_retention(int argc, char **argv);
int cmd_recommend(int argc, char **argv); int cmd_curriculum(int argc, char **argv); int cmd_personal(int argc, char **argv);

/* Validates and stores a JSON statement or array as provider @provider_id.
 * Returns 0, or 1 after printing why on stderr. *ids gets the stored ids. */
int cli_ingest_text(struct lv_node *node, const char *provider_id, const char *text, size_t len,
		    cJSON **ids);

#endif
