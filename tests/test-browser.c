/* The web door in a real browser: each test starts its own node (CLI init,
 * policies, curriculum, demo-seed, `learnvault serve` on loopback) and runs
 * one flow of tests/web/flows.mjs in Debian's headless chromium through
 * playwright-core, with axe-core on every page.  The flows and what each
 * asserts: tests/web/README.md.  Without the npm tooling (LV_WEB_NPM_DIR,
 * installed by `tools/dev test`), node or chromium every test reports SKIP,
 * never a pass. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fedmock.h"
#include "harness.h"
#include "http-client.h"

/* One node under test: its directory, the server's process and address. */
struct node {
	char base[512];
	char data[600];
	char log[600];  /* the server's stdout and stderr */
	char demo[600]; /* demo-seed's output: the tokens of every role */
	pid_t pid;
	uint16_t port;
	char url[64];
};

static void msleep(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static const char *chromium(void)
{
	const char *c = getenv("LV_CHROMIUM");
	return c && *c ? c : "/usr/bin/chromium";
}

static bool file_exists(const char *dir, const char *rel)
{
	char p[1024];
	struct stat st;
	snprintf(p, sizeof p, "%s/%s", dir, rel);
	return stat(p, &st) == 0;
}

/* True when node, chromium and the pinned npm packages are all there;
 * otherwise the test is marked skipped (saying what is missing) and the
 * caller returns. */
static bool have_tools(void)
{
	const char *d = getenv("LV_WEB_NPM_DIR");
	if (!d || !*d || !file_exists(d, "playwright-core/package.json") ||
	    !file_exists(d, "@axe-core/playwright/package.json")) {
		th_skip("LV_WEB_NPM_DIR unset or without playwright-core and @axe-core/playwright "
			"(tools/dev test installs the browser test tooling)");
		return false;
	}
	if (access(chromium(), X_OK) != 0) {
		th_skip("no chromium at /usr/bin/chromium (or LV_CHROMIUM): tools/dev test installs Debian's chromium");
		return false;
	}
	if (system("node --version >/dev/null 2>&1") != 0) {
		th_skip("no node on PATH");
		return false;
	}
	return true;
}

/* Runs the CLI with @args (shell words, paths quoted by the caller); its
 * stdout goes to @out_file when given.  Fails the test on a non-zero exit. */
static void cli(const struct node *n, const char *args, const char *out_file)
{
	char cmd[8192], err[700];
	snprintf(err, sizeof err, "%s/cli.err", n->base);
	snprintf(cmd, sizeof cmd, "'%s' %s >'%s' 2>>'%s'", th_bin(), args, out_file ? out_file : "/dev/null", err);
	int st = system(cmd);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "learnvault %s failed (see %s)", args, err);
}

/* A port that was free a moment ago. */
static uint16_t free_port(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(s, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(s, (struct sockaddr *)&a, sizeof a), 0);
	socklen_t l = sizeof a;
	ck_assert_int_eq(getsockname(s, (struct sockaddr *)&a, &l), 0);
	close(s);
	return ntohs(a.sin_port);
}

/* Forks `learnvault serve` on a fresh port; true once GET /xapi/about
 * answers, false when the server exited (most likely the port was taken
 * meanwhile). */
static bool serve_once(struct node *n)
{
	char listen[64];
	n->port = free_port();
	snprintf(listen, sizeof listen, "127.0.0.1:%u", (unsigned)n->port);
	const char *argv[] = {th_bin(), "serve", "--data", n->data, "--listen", listen, "--threads", "4", NULL};
	pid_t parent = getpid();
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* Never outlive a test that failed half-way. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(125);
		int log = open(n->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		int null = open("/dev/null", O_RDONLY);
		if (log < 0 || null < 0)
			_exit(126);
		dup2(null, 0);
		dup2(log, 1);
		dup2(log, 2);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	struct hc c;
	hc_init(&c, n->port);
	bool up = false;
	for (int i = 0; i < 600 && !up; i++) {
		if (waitpid(pid, NULL, WNOHANG) == pid) {
			hc_free(&c);
			return false;
		}
		struct hc_req rq = {.path = "/xapi/about", .no_version = true};
		struct hc_resp r;
		up = hc_do(&c, &rq, &r) == 200;
		hc_resp_free(&r);
		if (!up)
			msleep(50);
	}
	hc_free(&c);
	if (!up) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		ck_abort_msg("the server did not answer within 30 s (log: %s)", n->log);
	}
	n->pid = pid;
	snprintf(n->url, sizeof n->url, "http://127.0.0.1:%u", (unsigned)n->port);
	return true;
}

/* A demo node as `tools/dev demo` makes it, with the node settings
 * @settings ("name=value" strings, NULL-terminated; may be NULL) set before
 * it serves. */
static void node_start(struct node *n, const char *const *settings)
{
	memset(n, 0, sizeof *n);
	snprintf(n->base, sizeof n->base, "%s", th_tmpdir());
	snprintf(n->data, sizeof n->data, "%s/data", n->base);
	snprintf(n->log, sizeof n->log, "%s/server.log", n->base);
	snprintf(n->demo, sizeof n->demo, "%s/demo.json", n->base);
	char args[4096];
	snprintf(args, sizeof args, "init --data '%s'", n->data);
	cli(n, args, NULL);
	/* The shell expands the glob, as tools/dev demo does. */
	snprintf(args, sizeof args, "policy load --data '%s' '%s'/*.json", n->data, th_src("policies"));
	cli(n, args, NULL);
	snprintf(args, sizeof args, "curriculum load --data '%s' '%s'", n->data, th_src("examples/curriculum.json"));
	cli(n, args, NULL);
	snprintf(args, sizeof args, "demo-seed --data '%s' --examples '%s'", n->data, th_src("examples"));
	cli(n, args, n->demo);
	for (size_t i = 0; settings && settings[i]; i++) {
		char name[64];
		const char *eq = strchr(settings[i], '=');
		ck_assert_ptr_nonnull(eq);
		snprintf(name, sizeof name, "%.*s", (int)(eq - settings[i]), settings[i]);
		snprintf(args, sizeof args, "setting set --data '%s' %s '%s'", n->data, name, eq + 1);
		cli(n, args, NULL);
	}
	for (int attempt = 0; attempt < 5; attempt++)
		if (serve_once(n))
			return;
	ck_abort_msg("the server would not start (log: %s)", n->log);
}

/* SIGTERM; the server must exit cleanly (no sanitizer report). */
static void node_stop(struct node *n)
{
	int status;
	ck_assert_int_eq(kill(n->pid, SIGTERM), 0);
	ck_assert_int_eq(waitpid(n->pid, &status, 0), n->pid);
	n->pid = 0;
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "serve did not exit cleanly on SIGTERM (status 0x%x, log: %s)", status, n->log);
	th_rmtree(n->base);
}

/* Where the screenshots of @flow go: $LV_SCREENSHOT_DIR/<flow> (meson sets
 * it to the build's meson-logs/screenshots), else under the node's dir. */
static void shots_dir(const struct node *n, const char *flow, char *out, size_t len)
{
	const char *d = getenv("LV_SCREENSHOT_DIR");
	if (d && *d)
		snprintf(out, len, "%s/%s", d, flow);
	else
		snprintf(out, len, "%s/screenshots/%s", n->base, flow);
}

/* Starts a node with @settings, runs `node tests/web/flows.mjs @flow` against
 * it and fails with the flow's own report when it exits non-zero. */
static void run_flow(const char *flow, const char *const *settings)
{
	if (!have_tools())
		return;
	struct node n;
	node_start(&n, settings);
	char *js = strdup(th_src("tests/web/flows.mjs"));
	ck_assert_ptr_nonnull(js);
	char shots[1024], ppid[32];
	shots_dir(&n, flow, shots, sizeof shots);
	snprintf(ppid, sizeof ppid, "%ld", (long)getpid());
	char *args[] = {"node", js, (char *)flow, "--base", n.url, "--demo", n.demo, "--shots", shots,
			"--chromium", (char *)chromium(), "--bin", (char *)th_bin(), "--parent-pid", ppid, NULL};
	char *out, *err;
	int rc = fm_run_node(args, &out, &err);
	/* The flow's progress lines, kept in the test log either way. */
	printf("flow %s (exit %d):\n%s", flow, rc, out);
	fflush(stdout);
	ck_assert_msg(rc == 0, "flow %s failed (exit %d); screenshots in %s; server log %s:\n%s", flow, rc,
		      shots, n.log, err);
	free(out);
	free(err);
	free(js);
	node_stop(&n);
}

START_TEST(login) { run_flow("login", NULL); }
END_TEST

START_TEST(consent_withdraw) { run_flow("consent-withdraw", NULL); }
END_TEST

START_TEST(guardian_grant) { run_flow("guardian-grant", NULL); }
END_TEST

START_TEST(export_erase) { run_flow("export-erase", NULL); }
END_TEST

START_TEST(analyst_question) { run_flow("analyst-question", NULL); }
END_TEST

START_TEST(auditor_verify) { run_flow("auditor-verify", NULL); }
END_TEST

START_TEST(admin_live) { run_flow("admin-live", NULL); }
END_TEST

START_TEST(xss_text) { run_flow("xss", NULL); }
END_TEST

START_TEST(csp_blocks_inline) { run_flow("csp", NULL); }
END_TEST

START_TEST(cookie_httponly) { run_flow("cookie", NULL); }
END_TEST

START_TEST(csrf_cross_site) { run_flow("csrf", NULL); }
END_TEST

START_TEST(session_expiry)
{
	/* The shortest idle expiry the node allows: the flow waits it out. */
	const char *const settings[] = {"session_idle_minutes=1", NULL};
	run_flow("session-expiry", settings);
}
END_TEST

Suite *lv_test_suite(void)
{
	Suite *s = suite_create("browser");
	/* Not static: START_TEST's names are pointer variables, not constants. */
	const struct {
		const char *name;
		const TTest *fn;
		int timeout;
	} tests[] = {
		{"login", login, 300},
		{"consent-withdraw", consent_withdraw, 300},
		{"guardian-grant", guardian_grant, 300},
		{"export-erase", export_erase, 300},
		{"analyst-question", analyst_question, 300},
		{"auditor-verify", auditor_verify, 300},
		{"admin-live", admin_live, 300},
		{"xss", xss_text, 300},
		{"csp", csp_blocks_inline, 300},
		{"cookie", cookie_httponly, 300},
		{"csrf", csrf_cross_site, 300},
		{"session-expiry", session_expiry, 420},
	};
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
		TCase *tc = tcase_create(tests[i].name);
		tcase_set_timeout(tc, tests[i].timeout);
		tcase_add_test(tc, tests[i].fn);
		suite_add_tcase(s, tc);
	}
	return s;
}
