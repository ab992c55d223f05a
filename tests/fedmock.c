/* The npm test tooling from C (fedmock.h). */
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

#include <sodium.h>

#include "fedmock.h"
#include "harness.h"
#include "http-client.h"
#include "learnvault/util.h"

extern char **environ;

#define OUT_MAX ((size_t)1 << 20)

/* True when LV_NPM_DIR names an installed copy of the packages; otherwise
 * the calling test reports SKIP and must return. */
bool fm_have_npm(void)
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

/* The path of tests/federation/@name, copied out of th_src's static buffer. */
char *fm_script(const char *name)
{
	char rel[128];
	snprintf(rel, sizeof rel, "tests/federation/%s", name);
	char *p = strdup(th_src(rel));
	ck_assert_ptr_nonnull(p);
	return p;
}

char *fm_slurp(const char *path)
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
int fm_run_node(char *const *args, char **out, char **err)
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
	*out = fm_slurp(o);
	*err = fm_slurp(e);
	th_rmtree(dir);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}


/* Starts tests/federation/mock-aggregator.mjs with @argv_tail (NULL-
 * terminated) after the script; waits for its "listening <port>" line. */
void fm_mock_start(struct mock *m, char *const *argv_tail)
{
	char *js = fm_script("mock-aggregator.mjs");
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

void fm_mock_stop(struct mock *m)
{
	if (m->pid > 0) {
		kill(m->pid, SIGTERM);
		while (waitpid(m->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	m->pid = 0;
}

/* A task file with one task of @vdaf_json; its id in @task_id. */
void fm_write_tasks(const char *path, const char *vdaf_json, char task_id[64])
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

/* collect.mjs: the parsed {"result", "report_count", "rejected"} line. */
cJSON *fm_collect(const struct mock *leader, const char *tasks, const char *task_id)
{
	char *js = fm_script("collect.mjs");
	char *args[] = {"node", js, "--leader", (char *)leader->url, "--task", (char *)tasks, "--task-id",
			(char *)task_id, NULL};
	char *out, *err;
	int rc = fm_run_node(args, &out, &err);
	ck_assert_msg(rc == 0, "collect.mjs (exit %d): %s", rc, err);
	cJSON *j = cJSON_Parse(out);
	ck_assert_msg(j != NULL, "collect.mjs printed: %s", out);
	free(out);
	free(err);
	free(js);
	return j;
}

int fm_jint(const cJSON *o, const char *path1, const char *path2)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, path1);
	if (path2)
		v = cJSON_GetObjectItemCaseSensitive(v, path2);
	return cJSON_IsNumber(v) ? v->valueint : -1;
}

cJSON *fm_stats(const struct mock *m)
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

