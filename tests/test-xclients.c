/* Real xAPI clients against the real server (issue 14 item 5): @xapi/xapi
 * 3.0.3, TinCanJS 0.50.0 and adl-xapiwrapper 0.2.3 in node, and a page of
 * another origin in headless Chromium posting with @xapi/xapi and TinCanJS
 * (tests/web/xclients.mjs does the driving and checking; each Check test
 * runs one case and fails with the script's own message).
 *
 * Each test starts its own node and lv_server on loopback, with a provider
 * credential and the node setting cors_origins = "http://localhost:*" (the
 * browser case's allowed page is http://localhost:PORT, its refused one
 * the same page as http://127.0.0.1:PORT).  The npm packages are test
 * tooling that `tools/dev test` installs outside the repository and names
 * in LV_WEB_NPM_DIR; without them, node or (for the browser case) chromium
 * a test reports SKIP, never a pass. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "fedmock.h"
#include "harness.h"
#include "http-client.h"
#include "learnvault/node.h"
#include "learnvault/server.h"
#include "learnvault/statements.h"

static struct {
	char base[512];
	char dir[600];
	struct lv_node *node;
	struct lv_server *srv;
	char url[64];
	char key[LV_CRED_ID_LEN];
	char *secret;
} F;

static bool npm_has(const char *rel)
{
	const char *d = getenv("LV_WEB_NPM_DIR");
	char p[1024];
	struct stat st;
	if (!d || !*d)
		return false;
	snprintf(p, sizeof p, "%s/%s", d, rel);
	return stat(p, &st) == 0;
}

/* True when node and the three clients are installed (and chromium with
 * playwright-core when @browser); otherwise the test is marked skipped,
 * saying what is missing, and the caller returns. */
static bool have_tools(bool browser)
{
	if (!npm_has("@xapi/xapi/package.json") || !npm_has("tincanjs/package.json") ||
	    !npm_has("adl-xapiwrapper/package.json")) {
		th_skip("LV_WEB_NPM_DIR unset or without @xapi/xapi, tincanjs and adl-xapiwrapper "
			"(tools/dev test installs the web test tooling)");
		return false;
	}
	if (system("node --version >/dev/null 2>&1") != 0) {
		th_skip("no node on PATH");
		return false;
	}
	const char *c = getenv("LV_CHROMIUM");
	if (browser && (!npm_has("playwright-core/package.json") || access(c && *c ? c : "/usr/bin/chromium", X_OK) != 0)) {
		th_skip("no chromium at /usr/bin/chromium (or LV_CHROMIUM) or no playwright-core");
		return false;
	}
	return true;
}

static void start(void)
{
	char *vkey = NULL;
	snprintf(F.base, sizeof F.base, "%s", th_tmpdir());
	snprintf(F.dir, sizeof F.dir, "%s/node", F.base);
	ck_assert_int_eq(lv_node_init(F.dir, NULL, NULL, &vkey), LV_OK);
	free(vkey);
	ck_assert_int_eq(lv_node_open(F.dir, NULL, NULL, &F.node), LV_OK);
	ck_assert_int_eq(lv_credential_add(F.node, LV_ROLE_PROVIDER, NULL, NULL, 0, "clients", F.key, &F.secret),
			 LV_OK);
	ck_assert_int_eq(lv_node_setting_set(F.node, "cors_origins", "http://localhost:*"), LV_OK);
	struct lv_server_options so = {.host = "127.0.0.1", .port = 0, .threads = 4};
	ck_assert_int_eq(lv_server_start(F.node, &so, &F.srv), LV_OK);
	snprintf(F.url, sizeof F.url, "http://127.0.0.1:%u", (unsigned)lv_server_port(F.srv));
}

static void stop(void)
{
	lv_server_destroy(F.srv);
	lv_node_close(F.node);
	if (F.secret)
		sodium_free(F.secret);
	th_rmtree(F.base);
	memset(&F, 0, sizeof F);
}

/* Whether the server's /about lists @version. */
static bool about_lists(const char *version)
{
	struct hc c;
	struct hc_resp r;
	struct hc_req rq = {.path = "/xapi/about", .no_version = true};
	curl_global_init(CURL_GLOBAL_DEFAULT);
	hc_init(&c, lv_server_port(F.srv));
	char want[48];
	snprintf(want, sizeof want, "\"%s\"", version);
	bool yes = hc_do(&c, &rq, &r) == 200 && strstr(r.body, want) != NULL;
	hc_resp_free(&r);
	hc_free(&c);
	curl_global_cleanup();
	return yes;
}

/* Runs xclients.mjs @kase against the running server. */
static void run_case(const char *kase, const char *version)
{
	char *js = strdup(th_src("tests/web/xclients.mjs"));
	ck_assert_ptr_nonnull(js);
	const char *c = getenv("LV_CHROMIUM");
	char *args[] = {"node", js, (char *)kase, "--base", F.url, "--key", F.key, "--secret", F.secret,
			"--version", (char *)version, "--chromium", (char *)(c && *c ? c : "/usr/bin/chromium"), NULL};
	char *out, *err;
	int rc = fm_run_node(args, &out, &err);
	printf("xclients %s %s (exit %d):\n%s", kase, version, rc, out);
	fflush(stdout);
	ck_assert_msg(rc == 0, "xclients.mjs %s %s failed (exit %d):\n%s", kase, version, rc, err);
	ck_assert_msg(strncmp(out, "ok: ", 4) == 0, "xclients.mjs %s printed no check: %s", kase, out);
	free(out);
	free(err);
	free(js);
}

static void client_test(const char *kase, const char *version, bool browser)
{
	if (!have_tools(browser))
		return;
	start();
	run_case(kase, version);
	stop();
}

START_TEST(xapi_js_1_0_3) { client_test("xapi", "1.0.3", false); }
END_TEST

/* @xapi/xapi speaks 2.0.0 when told; the store answers it once version
 * negotiation lands (issue 14 item 1, another branch): until /about lists
 * 2.0.0 this reports SKIP. */
START_TEST(xapi_js_2_0_0)
{
	if (!have_tools(false))
		return;
	start();
	if (about_lists("2.0.0"))
		run_case("xapi", "2.0.0");
	else
		th_skip("the store does not list xAPI 2.0.0 in /about yet (issue 14 item 1, version negotiation)");
	stop();
}
END_TEST

START_TEST(tincanjs) { client_test("tincan", "1.0.3", false); }
END_TEST

START_TEST(adl_xapiwrapper) { client_test("wrapper", "1.0.3", false); }
END_TEST

START_TEST(browser_cross_origin) { client_test("browser", "1.0.3", true); }
END_TEST

Suite *lv_test_suite(void)
{
	Suite *s = suite_create("xclients");
	const struct {
		const char *name;
		const TTest *fn;
	} tests[] = {
		{"xapi-js-1.0.3", xapi_js_1_0_3},
		{"xapi-js-2.0.0", xapi_js_2_0_0},
		{"tincanjs", tincanjs},
		{"adl-xapiwrapper", adl_xapiwrapper},
		{"browser-cross-origin", browser_cross_origin},
	};
	signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
		TCase *tc = tcase_create(tests[i].name);
		tcase_set_timeout(tc, 300);
		tcase_add_test(tc, tests[i].fn);
		suite_add_tcase(s, tc);
	}
	return s;
}
