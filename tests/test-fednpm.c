/* fednpm: learnvault's C federation code (through tests/fedtool) against the
 * pinned npm packages a Janus-compatible client uses (@divviup/prio3 0.8.0,
 * @divviup/dap 0.9.1, hpke-js), and a smoke test of the mock DAP
 * aggregators of tests/federation.
 *
 * The node scripts do the comparing; each Check test runs one case and
 * fails with the script's own message.  The npm packages are test tooling
 * that `tools/dev test` installs into a cache outside the repository and
 * names in LV_NPM_DIR; without it every test here reports SKIP (never a
 * pass).  LV_FEDTOOL (set by tests/meson.build) is the fedtool binary. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "fedmock.h"
#include "harness.h"
#include "http-client.h"
#include "learnvault/util.h"

static const char *fedtool(void)
{
	const char *p = getenv("LV_FEDTOOL");
	ck_assert_msg(p && *p, "LV_FEDTOOL unset (tests/meson.build sets it)");
	return p;
}

/* One case of crosscheck.mjs: must exit 0 and say "ok: ". */
static void crosscheck(const char *kase, const char *arg)
{
	char *js = fm_script("crosscheck.mjs");
	char *args[8] = {"node", js, (char *)kase};
	int n = 3;
	if (arg)
		args[n++] = (char *)arg;
	args[n++] = "--fedtool";
	args[n++] = (char *)fedtool();
	args[n] = NULL;
	char *out, *err;
	int rc = fm_run_node(args, &out, &err);
	ck_assert_msg(rc == 0, "crosscheck %s %s (exit %d): %s", kase, arg ? arg : "", rc, err);
	ck_assert_msg(strncmp(out, "ok: ", 4) == 0, "crosscheck %s %s printed: %s", kase, arg ? arg : "", out);
	free(out);
	free(err);
	free(js);
}

#define XCHECK(name, kase, arg)                                                                                        \
	START_TEST(name)                                                                                               \
	{                                                                                                              \
		if (!fm_have_npm())                                                                                       \
			return;                                                                                        \
		crosscheck(kase, arg);                                                                                 \
	}                                                                                                              \
	END_TEST

/* Byte-identical shards, C vs @divviup/prio3, for the same inputs. */
XCHECK(shard_count, "shard", "Count")
XCHECK(shard_sum, "shard", "Sum")
XCHECK(shard_sumvec, "shard", "SumVec")
XCHECK(shard_sumvec_chunk12, "shard", "SumVec12")
XCHECK(shard_histogram, "shard", "Histogram")
/* C's shares prepare and aggregate with @divviup/prio3 (a flipped proof
 * byte is rejected). */
XCHECK(prep_count, "prep", "Count")
XCHECK(prep_sum, "prep", "Sum")
XCHECK(prep_sumvec, "prep", "SumVec")
XCHECK(prep_sumvec_chunk12, "prep", "SumVec12")
XCHECK(prep_histogram, "prep", "Histogram")
/* HPKE both ways. */
XCHECK(hpke_c_seals_npm_opens, "hpke-c2npm", NULL)
XCHECK(hpke_npm_seals_c_opens, "hpke-npm2c", NULL)
/* DAP-09 reports both ways. */
XCHECK(report_c_to_dap_histogram, "report-c2npm", "Histogram")
XCHECK(report_c_to_dap_sumvec, "report-c2npm", "SumVec")
XCHECK(report_dap_to_c_sum, "report-npm2c", "Sum")
XCHECK(report_dap_to_c_count, "report-npm2c", "Count")

/* ---- the mock aggregators (fedmock.c) ---- */

/* crosscheck.mjs CASE against the mocks with measurements @meas (NULL-
 * terminated); returns its exit status, stderr in *@err (caller frees). */
static int mock_case(const char *kase, const char *via, const struct mock *leader, const struct mock *helper,
		     const char *tasks, const char *task_id, const char *const *meas, char **err)
{
	char *js = fm_script("crosscheck.mjs");
	char *args[32] = {"node", js, (char *)kase, "--fedtool", (char *)fedtool(), "--leader", (char *)leader->url,
			  "--helper", (char *)helper->url, "--tasks", (char *)tasks, "--task-id", (char *)task_id};
	int n = 13;
	if (via) {
		args[n++] = "--via";
		args[n++] = (char *)via;
	}
	for (int i = 0; meas[i] && n < 31; i++)
		args[n++] = (char *)meas[i];
	args[n] = NULL;
	char *out;
	int rc = fm_run_node(args, &out, err);
	free(out);
	free(js);
	return rc;
}

static void mock_ok(const char *kase, const char *via, const struct mock *l, const struct mock *h, const char *tasks,
		    const char *tid, const char *const *meas)
{
	char *err;
	int rc = mock_case(kase, via, l, h, tasks, tid, meas, &err);
	ck_assert_msg(rc == 0, "crosscheck %s %s against the mocks (exit %d): %s", kase, via ? via : "", rc, err);
	free(err);
}

/* Reports from @divviup/dap's client and from C reach the mock leader,
 * prepare with the helper and collect to the exact sum; the bad uploads
 * (replay, damaged leader share, truncated, future, unknown task) are
 * refused, and the damaged helper share is rejected at prep. */
START_TEST(mock_smoke)
{
	if (!fm_have_npm())
		return;
	char *dir = strdup(th_tmpdir()), tasks[600], tid[64];
	snprintf(tasks, sizeof tasks, "%s/tasks.json", dir);
	fm_write_tasks(tasks, "{\"type\":\"Prio3Sum\",\"bits\":8}", tid);
	struct mock helper = {0}, leader = {0};
	fm_mock_start(&helper, (char *[]){"--role", "helper", "--port", "0", "--tasks", tasks, NULL});
	fm_mock_start(&leader, (char *[]){"--role", "leader", "--port", "0", "--tasks", tasks, "--helper", helper.url, NULL});

	mock_ok("upload", "dap", &leader, &helper, tasks, tid, (const char *[]){"17", "200", "3", NULL});
	mock_ok("upload", "fedtool", &leader, &helper, tasks, tid, (const char *[]){"255", "0", "41", NULL});
	mock_ok("bad-uploads", NULL, &leader, &helper, tasks, tid, (const char *[]){"9", NULL});

	cJSON *c = fm_collect(&leader, tasks, tid);
	ck_assert_int_eq(fm_jint(c, "result", NULL), 17 + 200 + 3 + 255 + 0 + 41 + 9);
	ck_assert_int_eq(fm_jint(c, "report_count", NULL), 7);
	ck_assert_int_eq(fm_jint(c, "rejected", NULL), 1); /* the damaged helper share */
	cJSON_Delete(c);

	cJSON *s = fm_stats(&leader);
	ck_assert_int_eq(fm_jint(s, "accepted", NULL), 8);
	ck_assert_int_eq(fm_jint(s, "rejected", "reportRejected"), 2);
	ck_assert_int_eq(fm_jint(s, "rejected_detail", "replayed"), 1);
	ck_assert_int_eq(fm_jint(s, "rejected_detail", "undecryptable"), 1);
	ck_assert_int_eq(fm_jint(s, "rejected", "invalidMessage"), 1);
	ck_assert_int_eq(fm_jint(s, "rejected", "reportTooEarly"), 1);
	cJSON_Delete(s);
	fm_mock_stop(&leader);
	fm_mock_stop(&helper);
	th_rmtree(dir);
	free(dir);
}
END_TEST

/* --fail-first answers 503 (the dap client gives up, a later upload
 * passes); --outdated-config makes a report sealed to the first config
 * get outdatedConfig, and the dap client's refetch-and-retry succeeds. */
START_TEST(mock_failure_modes)
{
	if (!fm_have_npm())
		return;
	char *dir = strdup(th_tmpdir()), tasks[600], tid[64];
	snprintf(tasks, sizeof tasks, "%s/tasks.json", dir);
	fm_write_tasks(tasks, "{\"type\":\"Prio3Histogram\",\"length\":10,\"chunk_length\":4}", tid);
	struct mock helper = {0}, flaky = {0}, rotating = {0};
	fm_mock_start(&helper, (char *[]){"--role", "helper", "--port", "0", "--tasks", tasks, NULL});
	fm_mock_start(&flaky, (char *[]){"--role", "leader", "--port", "0", "--tasks", tasks, "--helper", helper.url,
				      "--fail-first", "2", NULL});
	fm_mock_start(&rotating, (char *[]){"--role", "leader", "--port", "0", "--tasks", tasks, "--helper", helper.url,
					 "--outdated-config", NULL});
	char *err;
	for (int i = 0; i < 2; i++) {
		ck_assert_int_ne(mock_case("upload", "dap", &flaky, &helper, tasks, tid, (const char *[]){"5", NULL}, &err), 0);
		ck_assert_msg(strstr(err, "report upload failed"), "expected the 503 to fail the upload: %s", err);
		free(err);
	}
	mock_ok("upload", "dap", &flaky, &helper, tasks, tid, (const char *[]){"5", NULL});
	cJSON *s = fm_stats(&flaky);
	ck_assert_int_eq(fm_jint(s, "unavailable", NULL), 2);
	ck_assert_int_eq(fm_jint(s, "accepted", NULL), 1);
	cJSON_Delete(s);

	mock_ok("upload", "dap", &rotating, &helper, tasks, tid, (const char *[]){"6", NULL});
	s = fm_stats(&rotating);
	ck_assert_int_eq(fm_jint(s, "rejected", "outdatedConfig"), 1);
	ck_assert_int_eq(fm_jint(s, "hpke_config_fetches", NULL), 2);
	ck_assert_int_eq(fm_jint(s, "accepted", NULL), 1);
	cJSON_Delete(s);

	cJSON *c = fm_collect(&rotating, tasks, tid);
	const cJSON *r = cJSON_GetObjectItemCaseSensitive(c, "result");
	ck_assert_msg(cJSON_IsArray(r) && cJSON_GetArraySize(r) == 10, "histogram result");
	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(cJSON_GetArrayItem(r, i)->valueint, i == 6);
	cJSON_Delete(c);
	fm_mock_stop(&rotating);
	fm_mock_stop(&flaky);
	fm_mock_stop(&helper);
	th_rmtree(dir);
	free(dir);
}
END_TEST

Suite *lv_test_suite(void)
{
	Suite *s = suite_create("fednpm");
	struct {
		const char *name;
		const TTest *t;
	} tests[] = {
		{"shard_count", shard_count},
		{"shard_sum", shard_sum},
		{"shard_sumvec", shard_sumvec},
		{"shard_sumvec_chunk12", shard_sumvec_chunk12},
		{"shard_histogram", shard_histogram},
		{"prep_count", prep_count},
		{"prep_sum", prep_sum},
		{"prep_sumvec", prep_sumvec},
		{"prep_sumvec_chunk12", prep_sumvec_chunk12},
		{"prep_histogram", prep_histogram},
		{"hpke_c_seals_npm_opens", hpke_c_seals_npm_opens},
		{"hpke_npm_seals_c_opens", hpke_npm_seals_c_opens},
		{"report_c_to_dap_histogram", report_c_to_dap_histogram},
		{"report_c_to_dap_sumvec", report_c_to_dap_sumvec},
		{"report_dap_to_c_sum", report_dap_to_c_sum},
		{"report_dap_to_c_count", report_dap_to_c_count},
		{"mock_smoke", mock_smoke},
		{"mock_failure_modes", mock_failure_modes},
	};
	for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
		TCase *tc = tcase_create(tests[i].name);
		tcase_set_timeout(tc, 300);
		tcase_add_test(tc, tests[i].t);
		suite_add_tcase(s, tc);
	}
	return s;
}
