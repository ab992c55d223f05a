/* The command line's own rules (issue 13 item 8): numeric flags refuse
 * what is not a whole number in range, with a message and exit 2; serve
 * warns when it would listen beyond this machine without TLS; an
 * oversized Group is refused naming the cap.  Every case runs the real
 * binary (th_run_cli); none starts a server: each serve below is given a
 * node directory that does not exist, so it stops after its checks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

Suite *lv_test_suite(void)
{
	Suite *s = suite_create("cli");
	TCase *tc = tcase_create("flags");
	tcase_add_loop_test(tc, numeric_flags_refused, 0, (int)(sizeof refused / sizeof *refused));
	tcase_add_test(tc, numeric_flag_in_range_accepted);
	tcase_add_test(tc, listen_beyond_loopback_warns);
	suite_add_tcase(s, tc);
	tc = tcase_create("groups");
	tcase_add_test(tc, oversized_group_names_the_cap);
	suite_add_tcase(s, tc);
	return s;
}
