/* Durability and encryption at rest, end to end: the real `learnvault`
 * binary (th_bin()) is initialised, served, SIGKILLed mid-stream and
 * restarted on the same data directory; every statement whose POST was
 * acknowledged must survive, and no file of the node may hold plaintext. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "harness.h"
#include "http-client.h"

#define NBATCH 50
#define BATCH 20
#define NACTORS 7
#define TOTAL (NBATCH * BATCH)

static struct {
	char base[512];
	char data[600];   /* the node's data directory */
	char log[600];    /* the server's stderr, outside the data directory */
	char key[64];
	char secret[256];
	char marker[64];  /* in every statement; must never reach a file in clear */
	char ids[NBATCH][BATCH][37];
	bool acked[NBATCH];
	pid_t pid;        /* the running server, 0 when none */
	uint16_t port;
} D;

static void msleep(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static void uuid(char out[37])
{
	unsigned char b[16];
	randombytes_buf(b, sizeof b);
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
		 b[13], b[14], b[15]);
}

/* Child side of fork: stdout to @out_fd (-1: the log), stderr to the log. */
static void child_io(int out_fd)
{
	int log = open(D.log, O_WRONLY | O_CREAT | O_APPEND, 0644);
	int null = open("/dev/null", O_RDONLY);
	if (log < 0 || null < 0)
		_exit(126);
	dup2(null, 0);
	dup2(out_fd >= 0 ? out_fd : log, 1);
	dup2(log, 2);
}

/* Runs the CLI with @args (NULL-terminated, without argv[0]); stdout into
 * @out (NUL-terminated).  Returns the exit status, -1 if it did not exit. */
static int run_cli(const char *const *args, char *out, size_t outlen)
{
	const char *argv[16] = {th_bin()};
	size_t n = 1;
	for (; args[n - 1] && n < 15; n++)
		argv[n] = args[n - 1];
	argv[n] = NULL;
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(p[0]);
		child_io(p[1]);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	size_t len = 0;
	ssize_t r;
	while ((r = read(p[0], out + len, outlen - 1 - len)) > 0 || (r < 0 && errno == EINTR))
		if (r > 0)
			len += (size_t)r;
	out[len] = 0;
	close(p[0]);
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
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

/* Starts `learnvault serve` and waits until /xapi/about answers. */
static void server_start(void)
{
	for (int attempt = 0; attempt < 5; attempt++) {
		char listen[64];
		D.port = free_port();
		snprintf(listen, sizeof listen, "127.0.0.1:%u", (unsigned)D.port);
		const char *argv[] = {th_bin(), "serve", "--data", D.data, "--listen", listen,
				      "--threads", "2", NULL};
		pid_t parent = getpid();
		pid_t pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			/* Never outlive a test process that failed half-way. */
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() != parent)
				_exit(125);
			child_io(-1);
			execvp(argv[0], (char *const *)argv);
			_exit(127);
		}
		struct hc c;
		hc_init(&c, D.port);
		bool up = false, exited = false;
		for (int i = 0; i < 600 && !up && !exited; i++) {
			int status;
			if (waitpid(pid, &status, WNOHANG) == pid) {
				exited = true;
				break;
			}
			struct hc_req rq = {.path = "/xapi/about", .no_version = true};
			struct hc_resp r;
			up = hc_do(&c, &rq, &r) == 200;
			hc_resp_free(&r);
			if (!up)
				msleep(50);
		}
		hc_free(&c);
		if (up) {
			D.pid = pid;
			return;
		}
		if (!exited) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			ck_abort_msg("the server did not answer within 30 s (log: %s)", D.log);
		}
		/* Most likely the port was taken meanwhile: try another. */
	}
	ck_abort_msg("the server would not start (log: %s)", D.log);
}

static void server_kill(void)
{
	int status;
	ck_assert_int_eq(kill(D.pid, SIGKILL), 0);
	ck_assert_int_eq(waitpid(D.pid, &status, 0), D.pid);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	D.pid = 0;
}

static void server_stop(void)
{
	int status;
	ck_assert_int_eq(kill(D.pid, SIGTERM), 0);
	ck_assert_int_eq(waitpid(D.pid, &status, 0), D.pid);
	D.pid = 0;
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "serve did not exit cleanly on SIGTERM (status 0x%x, log: %s)", status, D.log);
}

static void setup(void)
{
	char out[4096];
	memset(&D, 0, sizeof D);
	snprintf(D.base, sizeof D.base, "%s", th_tmpdir());
	snprintf(D.data, sizeof D.data, "%s/data", D.base);
	snprintf(D.log, sizeof D.log, "%s/server.log", D.base);
	unsigned char r[8];
	char hex[17];
	randombytes_buf(r, sizeof r);
	sodium_bin2hex(hex, sizeof hex, r, sizeof r);
	snprintf(D.marker, sizeof D.marker, "zebra-durability-marker-%s", hex);
	for (int b = 0; b < NBATCH; b++)
		for (int k = 0; k < BATCH; k++)
			uuid(D.ids[b][k]);
	signal(SIGPIPE, SIG_IGN);
	ck_assert_int_eq(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);

	ck_assert_msg(run_cli((const char *[]){"init", "--data", D.data, NULL}, out, sizeof out) == 0,
		      "learnvault init failed (log: %s)", D.log);
	ck_assert_msg(run_cli((const char *[]){"credential", "add", "--data", D.data, "--role", "provider",
					       NULL}, out, sizeof out) == 0,
		      "learnvault credential add failed (log: %s)", D.log);
	cJSON *j = cJSON_Parse(out);
	ck_assert_msg(j != NULL, "credential add printed no JSON: %s", out);
	const cJSON *k = cJSON_GetObjectItemCaseSensitive(j, "key");
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "secret");
	ck_assert(cJSON_IsString(k) && cJSON_IsString(s));
	snprintf(D.key, sizeof D.key, "%s", k->valuestring);
	snprintf(D.secret, sizeof D.secret, "%s", s->valuestring);
	cJSON_Delete(j);
}

static void teardown(void)
{
	if (D.pid > 0) {
		kill(D.pid, SIGKILL);
		waitpid(D.pid, NULL, 0);
	}
	curl_global_cleanup();
	th_rmtree(D.base);
}

/* ---- statements ---- */

/* NACTORS regulars share most statements; the last statement of each
 * batch is a newcomer's, so a kill often lands in an enrolment. */
static void actor_mbox(int b, int k, char *out, size_t len)
{
	if (k == BATCH - 1)
		snprintf(out, len, "mailto:newcomer-%d@example.com", b);
	else
		snprintf(out, len, "mailto:learner-%d@example.com", (b * BATCH + k) % NACTORS);
}

static char *batch_text(int b)
{
	char buf[512];
	cJSON *arr = cJSON_CreateArray();
	for (int k = 0; k < BATCH; k++) {
		int n = b * BATCH + k;
		cJSON *s = cJSON_CreateObject();
		cJSON_AddStringToObject(s, "id", D.ids[b][k]);
		cJSON *a = cJSON_AddObjectToObject(s, "actor");
		cJSON_AddStringToObject(a, "objectType", "Agent");
		cJSON_AddStringToObject(a, "name", D.marker);
		actor_mbox(b, k, buf, sizeof buf);
		cJSON_AddStringToObject(a, "mbox", buf);
		cJSON *v = cJSON_AddObjectToObject(s, "verb");
		cJSON_AddStringToObject(v, "id", "http://adlnet.gov/expapi/verbs/experienced");
		cJSON_AddStringToObject(cJSON_AddObjectToObject(v, "display"), "en-US", "experienced");
		cJSON *o = cJSON_AddObjectToObject(s, "object");
		cJSON_AddStringToObject(o, "objectType", "Activity");
		snprintf(buf, sizeof buf, "http://example.com/%s/activity-%d", D.marker, n % 13);
		cJSON_AddStringToObject(o, "id", buf);
		cJSON *d = cJSON_AddObjectToObject(o, "definition");
		cJSON_AddStringToObject(cJSON_AddObjectToObject(d, "name"), "en-US", D.marker);
		cJSON_AddStringToObject(cJSON_AddObjectToObject(s, "result"), "response", D.marker);
		cJSON_AddItemToArray(arr, s);
	}
	char *t = cJSON_PrintUnformatted(arr);
	cJSON_Delete(arr);
	return t;
}

/* POSTs batch @b; true when acknowledged (200 and the batch's ids). */
static bool post_batch(struct hc *c, int b)
{
	char *body = batch_text(b);
	if (!body)
		return false;
	struct hc_req rq = {.path = "/xapi/statements", .body = body, .user = D.key, .pass = D.secret};
	struct hc_resp r;
	bool ok = hc_do(c, &rq, &r) == 200;
	free(body);
	if (ok) {
		cJSON *ids = cJSON_ParseWithLength(r.body, r.len);
		ok = cJSON_GetArraySize(ids) == BATCH;
		for (int k = 0; ok && k < BATCH; k++) {
			const cJSON *id = cJSON_GetArrayItem(ids, k);
			ok = cJSON_IsString(id) && strcmp(id->valuestring, D.ids[b][k]) == 0;
		}
		cJSON_Delete(ids);
	}
	hc_resp_free(&r);
	return ok;
}

/* The poster thread: batches in order until one is not acknowledged. */
struct poster {
	uint16_t port;
	int first;
	atomic_int acked;      /* batches acknowledged by this thread */
	atomic_int stopped_at; /* the first batch not acknowledged, -1 while running */
};

static void *poster_run(void *arg)
{
	struct poster *p = arg;
	struct hc c;
	hc_init(&c, p->port);
	int b = p->first;
	for (; b < NBATCH; b++) {
		if (!post_batch(&c, b))
			break;
		D.acked[b] = true; /* read by the main thread only after the join */
		atomic_fetch_add(&p->acked, 1);
	}
	hc_free(&c);
	atomic_store(&p->stopped_at, b);
	return NULL;
}

/* Every acknowledged statement is retrievable by id, with its content. */
static int verify_acked(void)
{
	struct hc c;
	hc_init(&c, D.port);
	char path[128], mbox[128];
	int n = 0;
	for (int b = 0; b < NBATCH; b++) {
		if (!D.acked[b])
			continue;
		for (int k = 0; k < BATCH; k++) {
			snprintf(path, sizeof path, "/xapi/statements?statementId=%s", D.ids[b][k]);
			struct hc_req rq = {.path = path, .user = D.key, .pass = D.secret};
			struct hc_resp r;
			hc_do(&c, &rq, &r);
			ck_assert_msg(r.status == 200, "acknowledged statement %s (batch %d) lost: HTTP %ld %s",
				      D.ids[b][k], b, r.status, r.body);
			cJSON *s = cJSON_ParseWithLength(r.body, r.len);
			ck_assert_ptr_nonnull(s);
			actor_mbox(b, k, mbox, sizeof mbox);
			const cJSON *m = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(s, "actor"), "mbox");
			ck_assert(cJSON_IsString(m));
			ck_assert_str_eq(m->valuestring, mbox);
			const cJSON *resp = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(s, "result"), "response");
			ck_assert(cJSON_IsString(resp));
			ck_assert_str_eq(resp->valuestring, D.marker);
			cJSON_Delete(s);
			hc_resp_free(&r);
			n++;
		}
	}
	hc_free(&c);
	return n;
}

/* How many statements of batch @b GET ?statementId finds. */
static int retrievable(int b)
{
	struct hc c;
	hc_init(&c, D.port);
	char path[128];
	int n = 0;
	for (int k = 0; k < BATCH; k++) {
		snprintf(path, sizeof path, "/xapi/statements?statementId=%s", D.ids[b][k]);
		struct hc_req rq = {.path = path, .user = D.key, .pass = D.secret};
		struct hc_resp r;
		long st = hc_do(&c, &rq, &r);
		ck_assert_msg(st == 200 || st == 404, "GET %s: HTTP %ld %s", path, st, r.body);
		n += st == 200;
		hc_resp_free(&r);
	}
	hc_free(&c);
	return n;
}

/* Pages through every statement: each of the TOTAL ids exactly once. */
static void verify_all_once(void)
{
	static bool seen[NBATCH][BATCH];
	memset(seen, 0, sizeof seen);
	struct hc c;
	hc_init(&c, D.port);
	char path[4096] = "/xapi/statements?limit=300";
	int got = 0, pages = 0;
	while (path[0]) {
		ck_assert_int_lt(++pages, 20);
		struct hc_req rq = {.path = path, .user = D.key, .pass = D.secret};
		struct hc_resp r;
		hc_do(&c, &rq, &r);
		ck_assert_msg(r.status == 200, "query: HTTP %ld %s", r.status, r.body);
		cJSON *res = cJSON_ParseWithLength(r.body, r.len);
		hc_resp_free(&r);
		ck_assert_ptr_nonnull(res);
		const cJSON *s;
		cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(res, "statements")) {
			const char *id = cJSON_GetObjectItemCaseSensitive(s, "id")->valuestring;
			bool found = false;
			for (int b = 0; b < NBATCH && !found; b++)
				for (int k = 0; k < BATCH && !found; k++)
					if (strcmp(D.ids[b][k], id) == 0) {
						ck_assert_msg(!seen[b][k], "statement %s listed twice", id);
						seen[b][k] = found = true;
					}
			ck_assert_msg(found, "unknown statement %s", id);
			got++;
		}
		const cJSON *more = cJSON_GetObjectItemCaseSensitive(res, "more");
		ck_assert(cJSON_IsString(more));
		snprintf(path, sizeof path, "%s", more->valuestring);
		cJSON_Delete(res);
	}
	hc_free(&c);
	ck_assert_int_eq(got, TOTAL);
}

/* ---- files at rest ---- */

static const char *scan_marker;
static char scan_hit[4096];
static int scan_files, scan_vaults, scan_plain_sqlite;

static int scan_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)ftw;
	if (flag != FTW_F || !S_ISREG(sb->st_mode))
		return 0;
	FILE *f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot read %s", path);
	size_t cap = (size_t)sb->st_size + 1, len = 0;
	unsigned char *data = malloc(cap);
	ck_assert_ptr_nonnull(data);
	size_t r;
	while (len < cap && (r = fread(data + len, 1, cap - len, f)) > 0)
		len += r;
	fclose(f);
	scan_files++;
	size_t pl = strlen(path);
	bool is_db = pl > 3 && strcmp(path + pl - 3, ".db") == 0;
	if (is_db && strstr(path, "/vaults/"))
		scan_vaults++;
	if (is_db && len >= 16 && memcmp(data, "SQLite format 3", 16) == 0) {
		scan_plain_sqlite++;
		snprintf(scan_hit, sizeof scan_hit, "%s is a plaintext SQLite database", path);
	}
	if (memmem(data, len, scan_marker, strlen(scan_marker)))
		snprintf(scan_hit, sizeof scan_hit, "%s holds the marker in clear", path);
	free(data);
	return 0;
}

/* Scans every file under @dir byte-wise; returns the first problem found
 * ("" when none). */
static const char *scan(const char *dir, const char *marker)
{
	scan_marker = marker;
	scan_hit[0] = 0;
	scan_files = scan_vaults = scan_plain_sqlite = 0;
	ck_assert_int_eq(nftw(dir, scan_cb, 16, FTW_PHYS), 0);
	return scan_hit;
}

static void assert_encrypted_at_rest(int vaults)
{
	char p[700];
	struct stat sb;
	/* The scanner itself sees a marker and a plaintext database. */
	char probe[600];
	snprintf(probe, sizeof probe, "%s/probe", D.base);
	ck_assert_int_eq(mkdir(probe, 0700), 0);
	snprintf(p, sizeof p, "%s/x.db", probe);
	FILE *f = fopen(p, "wb");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "SQLite format 3%c....%s....", 0, D.marker);
	fclose(f);
	ck_assert_str_ne(scan(probe, D.marker), "");
	ck_assert_int_eq(scan_plain_sqlite, 1);
	th_rmtree(probe);

	const char *hit = scan(D.data, D.marker);
	ck_assert_msg(hit[0] == 0, "%s", hit);
	ck_assert_int_eq(scan_plain_sqlite, 0);
	ck_assert_int_eq(scan_vaults, vaults);
	ck_assert_int_gt(scan_files, NACTORS + 2);
	snprintf(p, sizeof p, "%s/node.key", D.data);
	ck_assert_int_eq(stat(p, &sb), 0);
	ck_assert_msg((sb.st_mode & 07777) == 0600, "node.key has mode %o", (unsigned)(sb.st_mode & 07777));
	ck_assert_int_eq(sb.st_size, 32);
}

START_TEST(sigkill_loses_no_acknowledged_statement)
{
	server_start();

	/* Phase 1: a second thread posts while the server is killed under it. */
	int k1 = 6 + (int)randombytes_uniform(15);
	struct poster p = {.port = D.port, .first = 0};
	atomic_init(&p.acked, 0);
	atomic_init(&p.stopped_at, -1);
	pthread_t t;
	ck_assert_int_eq(pthread_create(&t, NULL, poster_run, &p), 0);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (atomic_load(&p.acked) < k1 && atomic_load(&p.stopped_at) < 0)
		usleep(200);
	/* Somewhere inside the next batch: up to 1.5 times a batch's time. */
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long batch_us = ((t1.tv_sec - t0.tv_sec) * 1000000L + (t1.tv_nsec - t0.tv_nsec) / 1000) / k1;
	usleep((useconds_t)randombytes_uniform((uint32_t)(batch_us * 3 / 2 + 1)));
	server_kill();
	pthread_join(t, NULL);
	int stop1 = atomic_load(&p.stopped_at);
	ck_assert_int_ge(atomic_load(&p.acked), k1);
	ck_assert_msg(stop1 < NBATCH, "every batch went through before the kill");

	server_start();
	ck_assert_int_eq(verify_acked(), atomic_load(&p.acked) * BATCH);
	/* The batch in flight at the kill is all there or not at all. */
	int partial = retrievable(stop1);
	ck_assert_msg(partial == 0 || partial == BATCH,
		      "%d of the %d statements of the batch in flight survived", partial, BATCH);

	/* Phase 2: resend the batch that was in flight, go on, and kill
	 * right after an acknowledgement. */
	int k2 = stop1 + 5 + (int)randombytes_uniform(10);
	if (k2 > NBATCH - 5)
		k2 = NBATCH - 5;
	struct hc c;
	hc_init(&c, D.port);
	int b = stop1;
	for (; b < k2; b++) {
		ck_assert_msg(post_batch(&c, b), "batch %d refused after a restart", b);
		D.acked[b] = true;
	}
	hc_free(&c);
	server_kill();
	/* Files as a crash leaves them (write-ahead logs full). */
	assert_encrypted_at_rest(NACTORS + k2);

	server_start();
	ck_assert_int_eq(verify_acked(), k2 * BATCH);
	hc_init(&c, D.port);
	for (; b < NBATCH; b++) {
		ck_assert_msg(post_batch(&c, b), "batch %d refused", b);
		D.acked[b] = true;
	}
	hc_free(&c);
	ck_assert_int_eq(verify_acked(), TOTAL);
	verify_all_once();

	/* And as a clean stop leaves them. */
	server_stop();
	assert_encrypted_at_rest(NACTORS + NBATCH);
	server_start();
	verify_all_once();
	server_stop();
}
END_TEST

Suite *lv_test_suite(void)
{
	Suite *s = suite_create("durability");
	TCase *tc = tcase_create("sigkill");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, sigkill_loses_no_acknowledged_statement);
	suite_add_tcase(s, tc);
	return s;
}
