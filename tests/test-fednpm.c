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
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "harness.h"
#include "http-client.h"
#include "learnvault/util.h"

extern char **environ;

#define OUT_MAX ((size_t)1 << 20)

/* True when LV_NPM_DIR names an installed copy of the packages; otherwise
 * the calling test reports SKIP and must return. */
static bool have_npm(void)
{
	const char *d = getenv("LV_NPM_DIR");
	char p[1024];
	struct stat st;
	if (d && *d) {
		snprintf(p, sizeof p, "%s/@divviup/dap/package.json", d);
		if (stat(p, &st) == 0)
			return true;
	}
	th_skip("LV_NPM_DIR unset or without @divviup/dap (tools/dev test installs the npm test tooling)");
	return false;
}

static const char *fedtool(void)
{
	const char *p = getenv("LV_FEDTOOL");
	ck_assert_msg(p && *p, "LV_FEDTOOL unset (tests/meson.build sets it)");
	return p;
}

/* The path of tests/federation/@name, copied out of th_src's static buffer. */
static char *script(const char *name)
{
	char rel[128];
	snprintf(rel, sizeof rel, "tests/federation/%s", name);
	char *p = strdup(th_src(rel));
	ck_assert_ptr_nonnull(p);
	return p;
}

static char *slurp(const char *path)
{
	char *text = NULL;
	size_t len = 0;
	if (util_read_file(path, OUT_MAX, &text, &len) != LV_OK)
		return strdup("");
	return text;
}

/* Runs `node ARGS...` (@args NULL-terminated, args[0] is "node") to
 * completion; its stdout and stderr come back in *@out and *@err
 * (malloc'd).  Returns the exit status, -1 when it did not exit. */
static int run_node(char *const *args, char **out, char **err)
{
	char dir[512], o[600], e[600];
	snprintf(dir, sizeof dir, "%s", th_tmpdir());
	snprintf(o, sizeof o, "%s/out", dir);
	snprintf(e, sizeof e, "%s/err", dir);
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, o, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, e, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	pid_t pid;
	int rc = posix_spawnp(&pid, "node", &fa, NULL, args, environ);
	posix_spawn_file_actions_destroy(&fa);
	ck_assert_msg(rc == 0, "cannot start node: %s", strerror(rc));
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	*out = slurp(o);
	*err = slurp(e);
	th_rmtree(dir);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* One case of crosscheck.mjs: must exit 0 and say "ok: ". */
static void crosscheck(const char *kase, const char *arg)
{
	char *js = script("crosscheck.mjs");
	char *args[8] = {"node", js, (char *)kase};
	int n = 3;
	if (arg)
		args[n++] = (char *)arg;
	args[n++] = "--fedtool";
	args[n++] = (char *)fedtool();
	args[n] = NULL;
	char *out, *err;
	int rc = run_node(args, &out, &err);
	ck_assert_msg(rc == 0, "crosscheck %s %s (exit %d): %s", kase, arg ? arg : "", rc, err);
	ck_assert_msg(strncmp(out, "ok: ", 4) == 0, "crosscheck %s %s printed: %s", kase, arg ? arg : "", out);
	free(out);
	free(err);
	free(js);
}

#define XCHECK(name, kase, arg)                                                                                        \
	START_TEST(name)                                                                                               \
	{                                                                                                              \
		if (!have_npm())                                                                                       \
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

/* ---- the mock aggregators ---- */

struct mock {
	pid_t pid;
	unsigned port;
	char url[64];
};

/* Starts tests/federation/mock-aggregator.mjs with @argv_tail (NULL-
 * terminated) after the script; waits for its "listening <port>" line. */
static void mock_start(struct mock *m, char *const *argv_tail)
{
	char *js = script("mock-aggregator.mjs");
	char ppid[32];
	snprintf(ppid, sizeof ppid, "%ld", (long)getpid());
	char *args[24] = {"node", js};
	int n = 2;
	for (int i = 0; argv_tail[i] && n < 20; i++)
		args[n++] = argv_tail[i];
	args[n++] = "--parent-pid";
	args[n++] = ppid;
	args[n] = NULL;
	int fds[2];
	ck_assert_int_eq(pipe(fds), 0);
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
	posix_spawn_file_actions_addclose(&fa, fds[0]);
	posix_spawn_file_actions_addclose(&fa, fds[1]);
	int rc = posix_spawnp(&m->pid, "node", &fa, NULL, args, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	ck_assert_msg(rc == 0, "cannot start node: %s", strerror(rc));
	char line[128] = {0};
	size_t len = 0;
	struct pollfd p = {.fd = fds[0], .events = POLLIN};
	while (len < sizeof line - 1 && !strchr(line, '\n') && poll(&p, 1, 30000) > 0) {
		ssize_t k = read(fds[0], line + len, sizeof line - 1 - len);
		if (k <= 0)
			break;
		len += (size_t)k;
	}
	close(fds[0]);
	ck_assert_msg(sscanf(line, "listening %u", &m->port) == 1 && m->port > 0,
		      "mock-aggregator did not report its port (got \"%s\")", line);
	snprintf(m->url, sizeof m->url, "http://127.0.0.1:%u/", m->port);
	free(js);
}

static void mock_stop(struct mock *m)
{
	if (m->pid > 0) {
		kill(m->pid, SIGTERM);
		while (waitpid(m->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	m->pid = 0;
}

/* A task file with one task of @vdaf_json; its id in @task_id. */
static void write_tasks(const char *path, const char *vdaf_json, char task_id[64])
{
	unsigned char id[32], vk[16];
	char vkhex[33];
	randombytes_buf(id, sizeof id);
	randombytes_buf(vk, sizeof vk);
	sodium_bin2base64(task_id, 64, id, sizeof id, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_bin2hex(vkhex, sizeof vkhex, vk, sizeof vk);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "[{\"task_id\":\"%s\",\"vdaf\":%s,\"time_precision\":300,\"verify_key\":\"%s\"}]\n", task_id,
		vdaf_json, vkhex);
	ck_assert_int_eq(fclose(f), 0);
}

/* crosscheck.mjs CASE against the mocks with measurements @meas (NULL-
 * terminated); returns its exit status, stderr in *@err (caller frees). */
static int mock_case(const char *kase, const char *via, const struct mock *leader, const struct mock *helper,
		     const char *tasks, const char *task_id, const char *const *meas, char **err)
{
	char *js = script("crosscheck.mjs");
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
	int rc = run_node(args, &out, err);
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

/* collect.mjs: the parsed {"result", "report_count", "rejected"} line. */
static cJSON *collect(const struct mock *leader, const char *tasks, const char *task_id)
{
	char *js = script("collect.mjs");
	char *args[] = {"node", js, "--leader", (char *)leader->url, "--task", (char *)tasks, "--task-id",
			(char *)task_id, NULL};
	char *out, *err;
	int rc = run_node(args, &out, &err);
	ck_assert_msg(rc == 0, "collect.mjs (exit %d): %s", rc, err);
	cJSON *j = cJSON_Parse(out);
	ck_assert_msg(j != NULL, "collect.mjs printed: %s", out);
	free(out);
	free(err);
	free(js);
	return j;
}

static int jint(const cJSON *o, const char *path1, const char *path2)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, path1);
	if (path2)
		v = cJSON_GetObjectItemCaseSensitive(v, path2);
	return cJSON_IsNumber(v) ? v->valueint : -1;
}

static cJSON *stats(const struct mock *m)
{
	struct hc c;
	struct hc_resp r;
	hc_init(&c, (uint16_t)m->port);
	struct hc_req rq = {.path = "/mock/stats", .no_version = true};
	ck_assert_int_eq(hc_do(&c, &rq, &r), 200);
	cJSON *j = cJSON_Parse(r.body);
	ck_assert_msg(j != NULL, "stats: %s", r.body);
	hc_resp_free(&r);
	hc_free(&c);
	return j;
}

/* Reports from @divviup/dap's client and from C reach the mock leader,
 * prepare with the helper and collect to the exact sum; the bad uploads
 * (replay, damaged leader share, truncated, future, unknown task) are
 * refused, and the damaged helper share is rejected at prep. */
START_TEST(mock_smoke)
{
	if (!have_npm())
		return;
	char *dir = strdup(th_tmpdir()), tasks[600], tid[64];
	snprintf(tasks, sizeof tasks, "%s/tasks.json", dir);
	write_tasks(tasks, "{\"type\":\"Prio3Sum\",\"bits\":8}", tid);
	struct mock helper = {0}, leader = {0};
	mock_start(&helper, (char *[]){"--role", "helper", "--port", "0", "--tasks", tasks, NULL});
	mock_start(&leader, (char *[]){"--role", "leader", "--port", "0", "--tasks", tasks, "--helper", helper.url, NULL});

	mock_ok("upload", "dap", &leader, &helper, tasks, tid, (const char *[]){"17", "200", "3", NULL});
	mock_ok("upload", "fedtool", &leader, &helper, tasks, tid, (const char *[]){"255", "0", "41", NULL});
	mock_ok("bad-uploads", NULL, &leader, &helper, tasks, tid, (const char *[]){"9", NULL});

	cJSON *c = collect(&leader, tasks, tid);
	ck_assert_int_eq(jint(c, "result", NULL), 17 + 200 + 3 + 255 + 0 + 41 + 9);
	ck_assert_int_eq(jint(c, "report_count", NULL), 7);
	ck_assert_int_eq(jint(c, "rejected", NULL), 1); /* the damaged helper share */
	cJSON_Delete(c);

	cJSON *s = stats(&leader);
	ck_assert_int_eq(jint(s, "accepted", NULL), 8);
	ck_assert_int_eq(jint(s, "rejected", "reportRejected"), 2);
	ck_assert_int_eq(jint(s, "rejected_detail", "replayed"), 1);
	ck_assert_int_eq(jint(s, "rejected_detail", "undecryptable"), 1);
	ck_assert_int_eq(jint(s, "rejected", "invalidMessage"), 1);
	ck_assert_int_eq(jint(s, "rejected", "reportTooEarly"), 1);
	cJSON_Delete(s);
	mock_stop(&leader);
	mock_stop(&helper);
	th_rmtree(dir);
	free(dir);
}
END_TEST

/* --fail-first answers 503 (the dap client gives up, a later upload
 * passes); --outdated-config makes a report sealed to the first config
 * get outdatedConfig, and the dap client's refetch-and-retry succeeds. */
START_TEST(mock_failure_modes)
{
	if (!have_npm())
		return;
	char *dir = strdup(th_tmpdir()), tasks[600], tid[64];
	snprintf(tasks, sizeof tasks, "%s/tasks.json", dir);
	write_tasks(tasks, "{\"type\":\"Prio3Histogram\",\"length\":10,\"chunk_length\":4}", tid);
	struct mock helper = {0}, flaky = {0}, rotating = {0};
	mock_start(&helper, (char *[]){"--role", "helper", "--port", "0", "--tasks", tasks, NULL});
	mock_start(&flaky, (char *[]){"--role", "leader", "--port", "0", "--tasks", tasks, "--helper", helper.url,
				      "--fail-first", "2", NULL});
	mock_start(&rotating, (char *[]){"--role", "leader", "--port", "0", "--tasks", tasks, "--helper", helper.url,
					 "--outdated-config", NULL});
	char *err;
	for (int i = 0; i < 2; i++) {
		ck_assert_int_ne(mock_case("upload", "dap", &flaky, &helper, tasks, tid, (const char *[]){"5", NULL}, &err), 0);
		ck_assert_msg(strstr(err, "report upload failed"), "expected the 503 to fail the upload: %s", err);
		free(err);
	}
	mock_ok("upload", "dap", &flaky, &helper, tasks, tid, (const char *[]){"5", NULL});
	cJSON *s = stats(&flaky);
	ck_assert_int_eq(jint(s, "unavailable", NULL), 2);
	ck_assert_int_eq(jint(s, "accepted", NULL), 1);
	cJSON_Delete(s);

	mock_ok("upload", "dap", &rotating, &helper, tasks, tid, (const char *[]){"6", NULL});
	s = stats(&rotating);
	ck_assert_int_eq(jint(s, "rejected", "outdatedConfig"), 1);
	ck_assert_int_eq(jint(s, "hpke_config_fetches", NULL), 2);
	ck_assert_int_eq(jint(s, "accepted", NULL), 1);
	cJSON_Delete(s);

	cJSON *c = collect(&rotating, tasks, tid);
	const cJSON *r = cJSON_GetObjectItemCaseSensitive(c, "result");
	ck_assert_msg(cJSON_IsArray(r) && cJSON_GetArraySize(r) == 10, "histogram result");
	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(cJSON_GetArrayItem(r, i)->valueint, i == 6);
	cJSON_Delete(c);
	mock_stop(&rotating);
	mock_stop(&flaky);
	mock_stop(&helper);
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
