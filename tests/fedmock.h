/* The npm test tooling from C (tests/federation): whether it is
 * installed, running its node scripts, and the mock DAP aggregators.
 * Shared by test-fednpm (cross-checks) and test-federation (end to end). */
#ifndef LV_TESTS_FEDMOCK_H
#define LV_TESTS_FEDMOCK_H

#include <stdbool.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

struct mock {
	pid_t pid;
	unsigned port;
	char url[64];
};

/* True when LV_NPM_DIR names an installed copy of the packages; otherwise
 * the calling test has reported SKIP (th_skip) and must return. */
bool fm_have_npm(void);
/* The path of tests/federation/@name (malloc'd). */
char *fm_script(const char *name);
/* A file's text (malloc'd; "" when unreadable). */
char *fm_slurp(const char *path);
/* Runs `node ARGS...` (NULL-terminated, args[0] "node") to completion;
 * stdout and stderr in *@out and *@err (malloc'd).  The exit status, -1
 * when it did not exit. */
int fm_run_node(char *const *args, char **out, char **err);
/* Starts mock-aggregator.mjs with @argv_tail (NULL-terminated); waits for
 * its "listening <port>" line.  fm_mock_stop ends it. */
void fm_mock_start(struct mock *m, char *const *argv_tail);
void fm_mock_stop(struct mock *m);
/* A mock task file with one task of @vdaf_json, a random id (in
 * @task_id) and verify key, time precision 300 s. */
void fm_write_tasks(const char *path, const char *vdaf_json, char task_id[64]);
/* collect.mjs: the parsed {"result", "report_count", "rejected"} line. */
cJSON *fm_collect(const struct mock *leader, const char *tasks, const char *task_id);
/* @o[@path1][@path2] as an int (-1 when absent). */
int fm_jint(const cJSON *o, const char *path1, const char *path2);
/* GET /mock/stats of @m, parsed. */
cJSON *fm_stats(const struct mock *m);

#endif
