/* The command line's own rules (issue 13 item 8): numeric flags refuse
 * what is not a whole number in range, with a message and exit 2; serve
 * warns when it would listen beyond this machine without TLS; an
 * oversized Group is refused naming the cap.  Every case runs the real
 * binary (th_run_cli); none starts a server: each serve below is given a
 * node directory that does not exist, so it stops after its checks. */
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "learnvault/util.h"
#include "learnvault/xapi.h"

/* Runs @args; returns the exit status, stderr in @errf. */
static int run(const char *args, const char *errf)
{
	char *out = NULL;
	int rc = th_run_cli(args, &out, errf);
	free(out);
	return rc;
}

static const struct {
	const char *args;
	const char *says; /* on stderr */
} refused[] = {
	/* Before: strtoul took "abc" as 0 and "-1" as 4294967295. */
	{"serve --data /nonexistent/lv --threads abc", "serve --threads takes a whole number from 1 to 256, not \"abc\""},
	{"serve --data /nonexistent/lv --threads -1", "not \"-1\""},
	{"serve --data /nonexistent/lv --threads 0", "not \"0\""},
	{"serve --data /nonexistent/lv --threads 4x", "not \"4x\""},
	{"serve --data /nonexistent/lv --threads ' 4'", "not \" 4\""},
	{"serve --data /nonexistent/lv --threads 99999999999999999999999", "from 1 to 256"},
	{"consent grant --data /nonexistent/lv --learner x --policy p --version abc",
	 "consent --version takes a whole number from 1 to 4294967295"},
	{"consent grant --data /nonexistent/lv --learner x --policy p --version 4294967296", "4294967296"},
	{"recommend --data /nonexistent/lv --learner x --limit -5", "recommend --limit takes a whole number"},
	{"bench ingest --connections 17", "bench ingest --connections takes a whole number from 1 to 16"},
	{"bench ingest --statements lots", "bench ingest --statements"},
	{"bench aggregate --learners abc", "bench aggregate --learners"},
	{"bench audit --entries 1e6", "bench audit --entries"},
	{"bench federate --seconds abc", "bench federate --seconds takes a number from 0.1 to 600"},
	{"bench federate --seconds 1000", "not \"1000\""},
	{"bench personal --skills 0", "bench personal --skills"},
	{"personal fit-global --data /nonexistent/lv --purpose p --epsilon abc", "personal fit-global --epsilon"},
	{"personal fit-global --data /nonexistent/lv --purpose p --epsilon 1 --iterations -3",
	 "personal fit-global --iterations takes a whole number from 1 to 1000"},
	{"eval synth-bkt --learners abc --skills 1 --responses 1 --prior .1 --learn .1 --guess .1 --slip .1"
	 " --out /nonexistent/lv", "--learners, --skills and --responses must be positive whole numbers"},
	{"eval bkt-dp --data /nonexistent/lv --runs x", "eval bkt-dp: --runs 1..1000"},
};

START_TEST(numeric_flags_refused)
{
	char errf[600];
	snprintf(errf, sizeof errf, "%s/err", th_tmpdir());
	const char *args = refused[_i].args;
	ck_assert_msg(run(args, errf) == 2, "%s: exit status", args);
	ck_assert_msg(th_file_contains(errf, refused[_i].says), "%s: message", args);
}
END_TEST

/* A value in range passes the check: serve goes on to open the node
 * (which does not exist: exit 1, no word about --threads). */
START_TEST(numeric_flag_in_range_accepted)
{
	char errf[600];
	snprintf(errf, sizeof errf, "%s/err", th_tmpdir());
	ck_assert_int_eq(run("serve --data /nonexistent/lv --threads 2", errf), 1);
	ck_assert(!th_file_contains(errf, "--threads"));
	ck_assert(th_file_contains(errf, "cannot open the node"));
}
END_TEST

START_TEST(listen_beyond_loopback_warns)
{
	char errf[600];
	snprintf(errf, sizeof errf, "%s/err", th_tmpdir());
	static const char warn[] = "not a loopback address and the node has no TLS";
	ck_assert_int_eq(run("serve --data /nonexistent/lv --listen 0.0.0.0:0", errf), 1);
	ck_assert(th_file_contains(errf, "0.0.0.0 is not a loopback address"));
	ck_assert(th_file_contains(errf, "TLS-terminating proxy"));
	ck_assert_int_eq(run("serve --data /nonexistent/lv --listen '[::]:0'", errf), 1);
	ck_assert(th_file_contains(errf, warn));
	ck_assert_int_eq(run("serve --data /nonexistent/lv --listen 192.0.2.1:8080", errf), 1);
	ck_assert(th_file_contains(errf, warn));
	/* Loopback, or behind a TLS proxy (--secure-cookies): no warning. */
	const char *quiet[] = {"serve --data /nonexistent/lv --listen 127.0.0.1:0",
			       "serve --data /nonexistent/lv --listen 127.1.2.3:0",
			       "serve --data /nonexistent/lv --listen '[::1]:0'",
			       "serve --data /nonexistent/lv --listen localhost:0",
			       "serve --data /nonexistent/lv", /* default 127.0.0.1:8080 */
			       "serve --data /nonexistent/lv --listen 0.0.0.0:0 --secure-cookies"};
	for (size_t i = 0; i < sizeof quiet / sizeof *quiet; i++) {
		ck_assert_int_eq(run(quiet[i], errf), 1);
		ck_assert_msg(!th_file_contains(errf, "warning"), "%s", quiet[i]);
		ck_assert(th_file_contains(errf, "cannot open the node"));
	}
}
END_TEST

/* --listen values refused before anything is opened: exit 2 and what is
 * accepted (an unbracketed IPv6 address cannot be told from its port). */
START_TEST(listen_malformed_refused)
{
	char errf[600], args[256];
	snprintf(errf, sizeof errf, "%s/err", th_tmpdir());
	const char *bad[] = {"8080", "::1:8080", "127.0.0.1:65536", "127.0.0.1:", "'[::1]:8x'", ":8080", "'[]:80'",
			     "127.0.0.1:-1", "'127.0.0.1: 80'"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		snprintf(args, sizeof args, "serve --data /nonexistent/lv --listen %s", bad[i]);
		ck_assert_msg(run(args, errf) == 2, "%s: exit status", args);
		/* Said by the configuration's check (tools/config.c) or by
		 * cli_listen_parse, whichever sees it first. */
		ck_assert_msg(th_file_contains(errf, "serve --listen takes HOST:PORT") ||
				      th_file_contains(errf, "serve --listen wants HOST:PORT"), "%s: message", args);
		ck_assert_msg(th_file_contains(errf, "[::1]:8080"), "%s: names the IPv6 form", args);
	}
	ck_assert_int_eq(run("serve --data /nonexistent/lv --listen no-such-host.invalid:8080", errf), 1);
	ck_assert(th_file_contains(errf, "serve --listen: cannot resolve \"no-such-host.invalid\""));
}
END_TEST

/* Runs `serve --listen @listen` on the node in @dir until it prints where
 * it listens; connects there; stops it.  With @ipv6, false (after
 * th_skip) when the address cannot be bound here (no IPv6 loopback). */
static bool serve_once(const char *dir, const char *listen, bool ipv6, char *json, size_t jlen, const char *errf)
{
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		int e = open(errf, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(e, 2);
		execl(th_bin(), th_bin(), "serve", "--data", dir, "--listen", listen, "--threads", "1", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	FILE *f = fdopen(p[0], "r");
	bool got = fgets(json, (int)jlen, f) != NULL;
	fclose(f);
	if (got) {
		char host[64] = "";
		unsigned port = 0;
		const char *h = strstr(json, "\"listening\":\""), *q = strstr(json, "\"port\":");
		ck_assert(h && q);
		sscanf(h + 13, "%63[^\"]", host);
		sscanf(q + 7, "%u", &port);
		/* It listens where it says. */
		struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST}, *ai = NULL;
		char ps[8];
		snprintf(ps, sizeof ps, "%u", port);
		ck_assert_int_eq(getaddrinfo(host, ps, &hints, &ai), 0);
		int s = socket(ai->ai_family, SOCK_STREAM, 0);
		ck_assert_msg(connect(s, ai->ai_addr, ai->ai_addrlen) == 0, "%s: nothing listens on %s port %u", listen,
			      host, port);
		close(s);
		freeaddrinfo(ai);
	}
	kill(pid, SIGTERM);
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	if (!got && ipv6 && th_file_contains(errf, "cannot listen")) {
		th_skip("cannot listen on ::1 here (no IPv6 loopback)");
		return false;
	}
	ck_assert_msg(got, "serve --listen %s printed nothing", listen);
	return true;
}

/* A host name is resolved before the server starts (lv_server_start takes
 * numeric addresses) and an IPv6 address prints a bracketed URL. */
START_TEST(listen_names_and_ipv6)
{
	const char *tmp = th_tmpdir();
	char dir[600], errf[600], args[1024], json[256], url[64];
	snprintf(dir, sizeof dir, "%s/node", tmp);
	snprintf(errf, sizeof errf, "%s/err", tmp);
	snprintf(args, sizeof args, "init --data '%s'", dir);
	ck_assert_int_eq(run(args, errf), 0);
	ck_assert(serve_once(dir, "localhost:0", false, json, sizeof json, errf));
	ck_assert_msg(strstr(json, "\"listening\":\"127.0.0.1\""), "%s", json);
	snprintf(url, sizeof url, "on http://127.0.0.1:%u/", (unsigned)atoi(strstr(json, "\"port\":") + 7));
	ck_assert_msg(th_file_contains(errf, url), "no %s", url);
	if (serve_once(dir, "[::1]:0", true, json, sizeof json, errf)) {
		ck_assert_msg(strstr(json, "\"listening\":\"::1\""), "%s", json);
		snprintf(url, sizeof url, "on http://[::1]:%u/", (unsigned)atoi(strstr(json, "\"port\":") + 7));
		ck_assert_msg(th_file_contains(errf, url), "no %s", url);
	}
	th_rmtree(dir);
}
END_TEST

/* A statement whose actor is a Group of @n members, as JSON text. */
static char *group_statement(int n)
{
	struct buf b;
	buf_init(&b, 1 << 20);
	ck_assert_int_eq(buf_append_str(&b, "{\"actor\":{\"objectType\":\"Group\",\"member\":["), LV_OK);
	for (int i = 0; i < n; i++)
		ck_assert_int_eq(buf_printf(&b, "%s{\"mbox\":\"mailto:m%d@example.org\"}", i ? "," : "", i), LV_OK);
	ck_assert_int_eq(buf_append_str(&b, "]},\"verb\":{\"id\":\"http://x.org/v\"},"
					    "\"object\":{\"id\":\"http://x.org/a\"}}"), LV_OK);
	return buf_steal(&b);
}

/* Before: 5,000 members got "actor has no identifier" from the store. */
START_TEST(oversized_group_names_the_cap)
{
	const char *tmp = th_tmpdir();
	char dir[600], errf[600], file[600], args[2048];
	snprintf(dir, sizeof dir, "%s/node", tmp);
	snprintf(errf, sizeof errf, "%s/err", tmp);
	snprintf(file, sizeof file, "%s/group.json", tmp);
	snprintf(args, sizeof args, "init --data '%s'", dir);
	ck_assert_int_eq(run(args, errf), 0);
	const int sizes[] = {LV_XAPI_GROUP_MEMBERS_MAX + 1, 5000};
	for (size_t k = 0; k < 2; k++) {
		char *st = group_statement(sizes[k]);
		ck_assert_int_eq(util_write_file(file, st, strlen(st), 0600, false), LV_OK);
		free(st);
		snprintf(args, sizeof args, "ingest --data '%s' '%s'", dir, file);
		ck_assert_int_eq(run(args, errf), 1);
		char want[128];
		snprintf(want, sizeof want, "a Group has at most %d members, not %d", LV_XAPI_GROUP_MEMBERS_MAX,
			 sizes[k]);
		ck_assert_msg(th_file_contains(errf, want), "%d members", sizes[k]);
		ck_assert(th_file_contains(errf, "nothing was stored"));
	}
	/* At the cap: stored. */
	char *st = group_statement(LV_XAPI_GROUP_MEMBERS_MAX);
	ck_assert_int_eq(util_write_file(file, st, strlen(st), 0600, false), LV_OK);
	free(st);
	ck_assert_int_eq(run(args, errf), 0);
	th_rmtree(dir);
}
END_TEST

/* Every command path of the binary (tools/learnvault.c and the cmd_*.c
 * dispatchers), written out here rather than read from the help table,
 * so a command left out of the table fails below. */
static const char *const paths[] = {
	"init", "serve", "credential add", "credential list", "credential revoke", "learner add", "ingest",
	"setting get", "setting set", "policy load", "policy list", "consent grant", "consent refuse",
	"consent withdraw", "consent list", "audit export", "audit checkpoint", "audit verify", "vault export",
	"vault open", "export", "query", "federate task add", "federate task list", "federate upload", "erase",
	"key rotate", "bench ingest", "bench audit", "bench aggregate", "bench personal", "bench federate",
	"eval bkt", "eval fit-bkt", "eval synth-bkt", "eval bkt-dp", "eval fsrs", "dp sample", "recommend",
	"curriculum load", "curriculum show", "personal params", "personal fit-global", "demo-seed", "version",
	"help", "config check", "backup", "restore", "retention run"};
#define NPATHS (int)(sizeof paths / sizeof *paths)

/* `learnvault PATH --help` and `-h`: exit 0, the command's own usage on
 * stdout, its options listed. */
START_TEST(every_command_answers_help)
{
	char errf[600], args[256], want[256];
	snprintf(errf, sizeof errf, "%s/err", th_tmpdir());
	snprintf(want, sizeof want, "usage: learnvault %s", paths[_i]);
	const char *flags[] = {"--help", "-h"};
	for (int k = 0; k < 2; k++) {
		char *out = NULL;
		snprintf(args, sizeof args, "%s %s", paths[_i], flags[k]);
		ck_assert_msg(th_run_cli(args, &out, errf) == 0, "%s: exit status", args);
		ck_assert_msg(strncmp(out, want, strlen(want)) == 0, "%s: printed %.80s", args, out);
		ck_assert_msg(strstr(out, "-h, --help"), "%s: no options list", args);
		free(out);
	}
}
END_TEST

/* Each option a command's help lists is one the command accepts (the
 * help table cannot drift from the parsers): PATH OPTION [VALUE]... is
 * never "unrecognized".  Values name a path that cannot exist, so nothing
 * is made; a bench option that would start the benchmark is left out. */
START_TEST(help_options_are_accepted)
{
	char errf[600], args[1024];
	snprintf(errf, sizeof errf, "%s/err", th_tmpdir());
	const char *path = paths[_i];
	char *help = NULL;
	snprintf(args, sizeof args, "%s --help", path);
	ck_assert_int_eq(th_run_cli(args, &help, errf), 0);
	int checked = 0;
	for (char *line = strstr(help, "\n  --"); line; line = strstr(line + 1, "\n  --")) {
		char flag[29], opt[64];
		snprintf(flag, sizeof flag, "%s", line + 3);
		flag[strcspn(flag, "\n")] = 0;
		int values = 0;
		for (char *w = flag; (w = strchr(w, ' ')) && w[1] && w[1] != ' '; w++)
			values++;
		snprintf(opt, sizeof opt, "%.*s", (int)strcspn(flag, " "), flag);
		if (strncmp(path, "bench ", 6) == 0 && (values == 0 || strcmp(opt, "--dir") == 0))
			continue;
		int n = snprintf(args, sizeof args, "%s %s", path, opt);
		for (int v = 0; v < values; v++)
			n += snprintf(args + n, sizeof args - (size_t)n, " /nonexistent/lv/x");
		run(args, errf);
		ck_assert_msg(!th_file_contains(errf, "unrecognized option") && !th_file_contains(errf, "requires an argument") &&
				      !th_file_contains(errf, "doesn't allow an argument"),
			      "%s: its help lists an option it refuses", args);
		checked++;
	}
	free(help);
	ck_assert_msg(checked > 0 || strncmp(path, "bench ", 6) == 0 || strcmp(path, "version") == 0 ||
			      strcmp(path, "config check") == 0,
		      "%s: no option checked", path);
}
END_TEST

/* --help among a command's options (cli_parse) answers before anything
 * is opened: the node directory is not created. */
START_TEST(help_among_options)
{
	const char *tmp = th_tmpdir();
	char errf[600], args[1024], dir[600];
	snprintf(errf, sizeof errf, "%s/err", tmp);
	snprintf(dir, sizeof dir, "%s/never", tmp);
	const char *cases[] = {"init --data '%s' --help", "init --data '%s' -h", "query --data '%s' q.json --help",
			       "consent grant --data '%s' --learner x --help", "federate task list --data '%s' -h",
			       /* commands that run getopt themselves */
			       "credential add --data '%s' --role admin --help", "learner add --data '%s' -h",
			       "learner add --data '%s' --account http://x.org ada --help",
			       "bench ingest --dir '%s' --statements 2000 --help"};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char *out = NULL;
		snprintf(args, sizeof args, cases[i], dir);
		ck_assert_msg(th_run_cli(args, &out, errf) == 0, "%s", args);
		ck_assert_msg(strstr(out, "usage: learnvault "), "%s", args);
		free(out);
		ck_assert_msg(access(dir, F_OK) != 0, "%s made the directory", args);
	}
	/* A value that reads "-h" is a value, not a request for help. */
	ck_assert_int_eq(run("credential add --data /nonexistent/lv --role admin --label -h", errf), 1);
	ck_assert(th_file_contains(errf, "cannot open the node"));
	ck_assert_int_eq(run("learner add --data /nonexistent/lv --account http://x.org -h", errf), 1);
	ck_assert(th_file_contains(errf, "cannot open the node"));
	char *out = NULL;
	snprintf(args, sizeof args, "init --data '%s' --origin -h", dir);
	ck_assert_int_eq(th_run_cli(args, &out, errf), 0);
	ck_assert(!strstr(out, "usage:"));
	free(out);
	ck_assert_int_eq(access(dir, F_OK), 0);
	th_rmtree(dir);
}
END_TEST

/* The top-level usage (learnvault help, and on stderr with no command)
 * names every command path; a group lists its members. */
START_TEST(usage_lists_every_command)
{
	char errf[600], line[128];
	snprintf(errf, sizeof errf, "%s/err", th_tmpdir());
	char *out = NULL;
	ck_assert_int_eq(th_run_cli("help", &out, errf), 0);
	char *none = NULL;
	ck_assert_int_eq(th_run_cli("", &none, errf), 2);
	for (int i = 0; i < NPATHS; i++) {
		snprintf(line, sizeof line, "\n  %s", paths[i]);
		ck_assert_msg(strstr(out, line), "help omits %s", paths[i]);
		ck_assert_msg(th_file_contains(errf, line), "bare usage omits %s", paths[i]);
	}
	free(out);
	free(none);
	ck_assert_int_eq(th_run_cli("federate task --help", &out, errf), 0);
	ck_assert(strstr(out, "federate task add") && strstr(out, "federate task list") && !strstr(out, "upload"));
	free(out);
	ck_assert_int_eq(th_run_cli("help credential add", &out, errf), 0);
	ck_assert(strncmp(out, "usage: learnvault credential add --data DIR --role ROLE", 55) == 0);
	free(out);
	ck_assert_int_eq(th_run_cli("help no-such-command", &out, errf), 2);
	ck_assert(th_file_contains(errf, "no command 'no-such-command'"));
	free(out);
}
END_TEST

/* --version and version print meson's project() version. */
START_TEST(version_is_the_project_version)
{
	char errf[600], path[600], want[64];
	snprintf(errf, sizeof errf, "%s/err", th_tmpdir());
	snprintf(path, sizeof path, "%s/meson.build", getenv("LV_SOURCE_ROOT"));
	char *meson = NULL;
	ck_assert_int_eq(util_read_file(path, 1 << 20, &meson, NULL), LV_OK);
	const char *v = strstr(meson, "version : '");
	ck_assert_ptr_nonnull(v);
	v += strlen("version : '");
	snprintf(want, sizeof want, "learnvault %.*s\n", (int)strcspn(v, "'"), v);
	free(meson);
	const char *forms[] = {"--version", "version"};
	for (int k = 0; k < 2; k++) {
		char *out = NULL;
		ck_assert_int_eq(th_run_cli(forms[k], &out, errf), 0);
		ck_assert_str_eq(out, want);
		free(out);
	}
}
END_TEST

/* learnvault(1), as the build renders it (help --man), formats without
 * a groff warning and has a section per command. */
START_TEST(man_page_renders)
{
	const char *tmp = th_tmpdir();
	char errf[600], man[600], txt[600], cmd[2048];
	snprintf(errf, sizeof errf, "%s/err", tmp);
	snprintf(man, sizeof man, "%s/learnvault.1", tmp);
	snprintf(txt, sizeof txt, "%s/learnvault.txt", tmp);
	if (system("command -v groff >/dev/null 2>&1") != 0) {
		th_skip("groff is not installed (Debian: groff-base; tools/dev test installs it)");
		return;
	}
	char *roff = NULL;
	ck_assert_int_eq(th_run_cli("help --man", &roff, errf), 0);
	ck_assert_int_eq(util_write_file(man, roff, strlen(roff), 0600, false), LV_OK);
	free(roff);
	snprintf(cmd, sizeof cmd, "groff -man -Tascii -ww -b -P-bou '%s' >'%s' 2>'%s'", man, txt, errf);
	ck_assert_int_eq(system(cmd), 0);
	char *err = NULL, *text = NULL;
	ck_assert_int_eq(util_read_file(errf, 1 << 20, &err, NULL), LV_OK);
	ck_assert_msg(err[0] == 0, "groff warns: %s", err);
	free(err);
	ck_assert_int_eq(util_read_file(txt, 1 << 22, &text, NULL), LV_OK);
	ck_assert(strstr(text, "LEARNVAULT(1)"));
	for (int i = 0; i < NPATHS; i++) {
		char head[128];
		snprintf(head, sizeof head, "\n   %s\n", paths[i]);
		ck_assert_msg(strstr(text, head), "the man page has no section %s", paths[i]);
	}
	free(text);
}
END_TEST

Suite *lv_test_suite(void)
{
	Suite *s = suite_create("cli");
	TCase *tc = tcase_create("flags");
	tcase_add_loop_test(tc, numeric_flags_refused, 0, (int)(sizeof refused / sizeof *refused));
	tcase_add_test(tc, numeric_flag_in_range_accepted);
	tcase_add_test(tc, listen_beyond_loopback_warns);
	tcase_add_test(tc, listen_malformed_refused);
	tcase_add_test(tc, listen_names_and_ipv6);
	suite_add_tcase(s, tc);
	tc = tcase_create("help");
	tcase_add_loop_test(tc, every_command_answers_help, 0, NPATHS);
	tcase_add_test(tc, help_among_options);
	tcase_add_loop_test(tc, help_options_are_accepted, 0, NPATHS);
	tcase_add_test(tc, usage_lists_every_command);
	tcase_add_test(tc, version_is_the_project_version);
	tcase_add_test(tc, man_page_renders);
	suite_add_tcase(s, tc);
	tc = tcase_create("groups");
	tcase_add_test(tc, oversized_group_names_the_cap);
	suite_add_tcase(s, tc);
	return s;
}
