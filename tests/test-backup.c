/* Backup and restore, end to end with the real binary (docs/backup.md):
 * a backup taken while a server ingests restores to a node holding every
 * statement acknowledged before the backup began, whole batches only, with
 * a log that verifies; a backup killed half-way leaves the node serving and
 * no archive under its name. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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
#include "learnvault/node.h"

#define NBATCH 400
#define BATCH 10
#define NACTORS 40

static struct {
	char base[512];
	char data[600];     /* the served node */
	char restored[600]; /* where backups are restored */
	char log[600];      /* every child's stderr */
	char key[64], secret[256];
	char marker[64];    /* in every statement; never in an archive in clear */
	char ids[NBATCH][BATCH][37];
	atomic_bool acked[NBATCH];
} D;

struct server {
	pid_t pid;
	uint16_t port;
};

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

static pid_t spawn(const char *const *args, int out_fd)
{
	const char *argv[20] = {th_bin()};
	size_t n = 1;
	for (; args[n - 1] && n < 19; n++)
		argv[n] = args[n - 1];
	argv[n] = NULL;
	pid_t parent = getpid();
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(125);
		child_io(out_fd);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

/* Runs the CLI; stdout into @out.  Returns the exit status. */
static int run_cli(const char *const *args, char *out, size_t outlen)
{
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	pid_t pid = spawn(args, p[1]);
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

static bool answers(uint16_t port)
{
	struct hc c;
	hc_init(&c, port);
	struct hc_req rq = {.path = "/xapi/about", .no_version = true};
	struct hc_resp r;
	bool up = hc_do(&c, &rq, &r) == 200;
	hc_resp_free(&r);
	hc_free(&c);
	return up;
}

static struct server server_start(const char *data)
{
	for (int attempt = 0; attempt < 5; attempt++) {
		char listen[64];
		struct server s = {.port = free_port()};
		snprintf(listen, sizeof listen, "127.0.0.1:%u", (unsigned)s.port);
		s.pid = spawn((const char *[]){"serve", "--data", data, "--listen", listen, "--threads", "2", NULL}, -1);
		for (int i = 0; i < 600; i++) {
			int status;
			if (waitpid(s.pid, &status, WNOHANG) == s.pid)
				break;
			if (answers(s.port))
				return s;
			msleep(50);
		}
		kill(s.pid, SIGKILL);
		waitpid(s.pid, NULL, 0);
	}
	ck_abort_msg("the server would not start (log: %s)", D.log);
	return (struct server){0};
}

static void server_stop(struct server *s)
{
	int status;
	ck_assert_int_eq(kill(s->pid, SIGTERM), 0);
	ck_assert_int_eq(waitpid(s->pid, &status, 0), s->pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "serve did not stop cleanly (log: %s)", D.log);
	s->pid = 0;
}

static void setup(void)
{
	char out[4096];
	memset(&D, 0, sizeof D);
	snprintf(D.base, sizeof D.base, "%s", th_tmpdir());
	snprintf(D.data, sizeof D.data, "%s/data", D.base);
	snprintf(D.restored, sizeof D.restored, "%s/restored", D.base);
	snprintf(D.log, sizeof D.log, "%s/children.log", D.base);
	unsigned char r[8];
	char hex[17];
	randombytes_buf(r, sizeof r);
	sodium_bin2hex(hex, sizeof hex, r, sizeof r);
	snprintf(D.marker, sizeof D.marker, "okapi-backup-marker-%s", hex);
	for (int b = 0; b < NBATCH; b++)
		for (int k = 0; k < BATCH; k++)
			uuid(D.ids[b][k]);
	signal(SIGPIPE, SIG_IGN);
	ck_assert_int_eq(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
	ck_assert_int_eq(run_cli((const char *[]){"init", "--data", D.data, NULL}, out, sizeof out), 0);
	ck_assert_int_eq(run_cli((const char *[]){"credential", "add", "--data", D.data, "--role", "provider", NULL},
				 out, sizeof out), 0);
	cJSON *j = cJSON_Parse(out);
	ck_assert_ptr_nonnull(j);
	snprintf(D.key, sizeof D.key, "%s", cJSON_GetObjectItemCaseSensitive(j, "key")->valuestring);
	snprintf(D.secret, sizeof D.secret, "%s", cJSON_GetObjectItemCaseSensitive(j, "secret")->valuestring);
	cJSON_Delete(j);
}

static void teardown(void)
{
	curl_global_cleanup();
	th_rmtree(D.base);
}

/* Regulars, and one newcomer per batch (a vault made during the backup). */
static void actor_mbox(int b, int k, char *out, size_t len)
{
	if (k == BATCH - 1)
		snprintf(out, len, "mailto:newcomer-%d@example.com", b);
	else
		snprintf(out, len, "mailto:learner-%d@example.com", (b * BATCH + k) % NACTORS);
}

static bool post_batch(struct hc *c, int b)
{
	char buf[256];
	cJSON *arr = cJSON_CreateArray();
	for (int k = 0; k < BATCH; k++) {
		cJSON *s = cJSON_CreateObject();
		cJSON_AddStringToObject(s, "id", D.ids[b][k]);
		actor_mbox(b, k, buf, sizeof buf);
		cJSON_AddStringToObject(cJSON_AddObjectToObject(s, "actor"), "mbox", buf);
		cJSON_AddStringToObject(cJSON_AddObjectToObject(s, "verb"), "id", "http://adlnet.gov/expapi/verbs/experienced");
		snprintf(buf, sizeof buf, "http://example.com/activity-%d", b % 7);
		cJSON_AddStringToObject(cJSON_AddObjectToObject(s, "object"), "id", buf);
		cJSON_AddStringToObject(cJSON_AddObjectToObject(s, "result"), "response", D.marker);
		cJSON_AddItemToArray(arr, s);
	}
	char *body = cJSON_PrintUnformatted(arr);
	cJSON_Delete(arr);
	struct hc_req rq = {.path = "/xapi/statements", .body = body, .user = D.key, .pass = D.secret};
	struct hc_resp r;
	bool ok = hc_do(c, &rq, &r) == 200;
	free(body);
	hc_resp_free(&r);
	return ok;
}

struct poster {
	uint16_t port;
	atomic_bool stop;
	atomic_int acked; /* batches 0..acked-1 are acknowledged */
};

static void *poster_run(void *arg)
{
	struct poster *p = arg;
	struct hc c;
	hc_init(&c, p->port);
	for (int b = 0; b < NBATCH && !atomic_load(&p->stop); b++) {
		if (!post_batch(&c, b))
			break;
		atomic_store(&D.acked[b], true);
		atomic_fetch_add(&p->acked, 1);
	}
	hc_free(&c);
	return NULL;
}

/* How many statements of batch @b the server on @port finds by id. */
static int retrievable(uint16_t port, int b)
{
	struct hc c;
	hc_init(&c, port);
	char path[128], mbox[128];
	int n = 0;
	for (int k = 0; k < BATCH; k++) {
		snprintf(path, sizeof path, "/xapi/statements?statementId=%s", D.ids[b][k]);
		struct hc_req rq = {.path = path, .user = D.key, .pass = D.secret};
		struct hc_resp r;
		long st = hc_do(&c, &rq, &r);
		ck_assert_msg(st == 200 || st == 404, "GET %s: HTTP %ld %s", path, st, r.body);
		if (st == 200) {
			cJSON *s = cJSON_ParseWithLength(r.body, r.len);
			const cJSON *m = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(s, "actor"), "mbox");
			actor_mbox(b, k, mbox, sizeof mbox);
			ck_assert(cJSON_IsString(m));
			ck_assert_str_eq(m->valuestring, mbox);
			cJSON_Delete(s);
			n++;
		}
		hc_resp_free(&r);
	}
	hc_free(&c);
	return n;
}

/* `audit export` of @data (beside its server, if any) verifies. */
static void assert_log_verifies(const char *data)
{
	char out[4096], file[700];
	snprintf(file, sizeof file, "%s/audit-%ld.json", D.base, (long)randombytes_random());
	ck_assert_msg(run_cli((const char *[]){"audit", "export", "--data", data, "--out", file, NULL}, out, sizeof out) == 0,
		      "audit export of %s failed (log: %s)", data, D.log);
	char *text = NULL;
	FILE *f = fopen(file, "rb");
	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	long len = ftell(f);
	rewind(f);
	text = malloc((size_t)len + 1);
	ck_assert_int_eq(fread(text, 1, (size_t)len, f), (size_t)len);
	text[len] = 0;
	fclose(f);
	cJSON *j = cJSON_Parse(text);
	free(text);
	const cJSON *vkey = cJSON_GetObjectItemCaseSensitive(j, "vkey");
	ck_assert(cJSON_IsString(vkey));
	int rc = run_cli((const char *[]){"audit", "verify", "--log", file, "--key", vkey->valuestring, NULL}, out,
			 sizeof out);
	cJSON_Delete(j);
	ck_assert_msg(rc == 0, "audit verify of %s failed: %s (log: %s)", data, out, D.log);
}

/* The archive holds no plaintext: no statement text, no SQLite header. */
static void assert_archive_encrypted(const char *path)
{
	FILE *f = fopen(path, "rb");
	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	long len = ftell(f);
	rewind(f);
	char *data = malloc((size_t)len);
	ck_assert_int_eq(fread(data, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	ck_assert_ptr_null(memmem(data, (size_t)len, D.marker, strlen(D.marker)));
	ck_assert_ptr_null(memmem(data, (size_t)len, "SQLite format 3", 15));
	ck_assert_ptr_null(memmem(data, (size_t)len, "learner-1@example.com", 21));
	/* It is a tar whose first member is node.json. */
	ck_assert_int_eq(memcmp(data, "node.json", 10), 0);
	free(data);
}

START_TEST(backup_during_ingest_restores_every_acknowledged_statement)
{
	char out[8192], archive[700], keyfile[700];
	struct server s = server_start(D.data);
	struct poster p = {.port = s.port};
	pthread_t t;
	ck_assert_int_eq(pthread_create(&t, NULL, poster_run, &p), 0);
	while (atomic_load(&p.acked) < 30)
		msleep(5);
	/* Every batch below this count was acknowledged before the backup. */
	int before = atomic_load(&p.acked);
	snprintf(archive, sizeof archive, "%s/node.backup", D.base);
	int rc = run_cli((const char *[]){"backup", "--data", D.data, "--out", archive, NULL}, out, sizeof out);
	int during = atomic_load(&p.acked) - before;
	atomic_store(&p.stop, true);
	pthread_join(t, NULL);
	ck_assert_msg(rc == 0, "backup failed while serving (log: %s)", D.log);
	ck_assert_msg(during > 0, "no batch was acknowledged while the backup ran: not a concurrent test");
	cJSON *rep = cJSON_Parse(out);
	ck_assert_ptr_nonnull(rep);
	ck_assert_int_ge(cJSON_GetObjectItemCaseSensitive(rep, "vaults")->valueint, NACTORS);
	ck_assert(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(rep, "node_key")));
	cJSON_Delete(rep);
	assert_archive_encrypted(archive);
	server_stop(&s);

	/* Without the key the restore puts the files down but cannot open them;
	 * a non-empty directory is refused. */
	snprintf(keyfile, sizeof keyfile, "%s/node.key", D.data);
	ck_assert_int_ne(run_cli((const char *[]){"restore", "--from", archive, "--data", D.data, "--key", keyfile, NULL},
				 out, sizeof out), 0);
	ck_assert(th_file_contains(D.log, "not empty"));
	ck_assert_int_eq(run_cli((const char *[]){"restore", "--from", archive, "--data", D.restored, "--key", keyfile,
						  NULL}, out, sizeof out), 0);
	struct server r = server_start(D.restored);
	for (int b = 0; b < before; b++)
		ck_assert_msg(retrievable(r.port, b) == BATCH, "batch %d, acknowledged before the backup, is not whole", b);
	/* Batches acknowledged during the backup: all or nothing. */
	int later = 0;
	for (int b = before; b < NBATCH && atomic_load(&D.acked[b]); b++) {
		int n = retrievable(r.port, b);
		ck_assert_msg(n == 0 || n == BATCH, "batch %d is torn in the backup: %d of %d", b, n, BATCH);
		later += n == BATCH;
	}
	server_stop(&r);
	assert_log_verifies(D.restored);
	fprintf(stderr, "backup: %d batches before, %d during, %d of those in the backup\n", before, during, later);
}
END_TEST

/* The backup's temporary archive beside @archive, if one exists. */
static bool tmp_exists(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	ck_assert_ptr_nonnull(d);
	struct dirent *e;
	bool found = false;
	while (!found && (e = readdir(d)) != NULL)
		found = strncmp(e->d_name, prefix, strlen(prefix)) == 0 && strstr(e->d_name, ".tmp.");
	closedir(d);
	return found;
}

START_TEST(kill9_during_backup_leaves_the_node_and_no_archive)
{
	char out[8192], archive[700], name[64];
	struct server s = server_start(D.data);
	struct hc c;
	hc_init(&c, s.port);
	int posted = 0;
	for (; posted < 60; posted++)
		ck_assert(post_batch(&c, posted));
	hc_free(&c);
	bool killed = false;
	for (int attempt = 0; attempt < 10 && !killed; attempt++) {
		snprintf(name, sizeof name, "kill-%d.backup", attempt);
		snprintf(archive, sizeof archive, "%s/%s", D.base, name);
		pid_t pid = spawn((const char *[]){"backup", "--data", D.data, "--out", archive, NULL}, -1);
		/* Kill it as soon as it has begun writing its archive. */
		int status;
		bool done = false;
		while (!tmp_exists(D.base, name) && !(done = waitpid(pid, &status, WNOHANG) == pid))
			usleep(200);
		if (done)
			continue; /* finished before we saw it: too fast, try again */
		usleep(randombytes_uniform(20000));
		ck_assert_int_eq(kill(pid, SIGKILL), 0);
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		killed = WIFSIGNALED(status);
		struct stat sb;
		ck_assert_msg(stat(archive, &sb) != 0, "a killed backup left %s", archive);
	}
	ck_assert_msg(killed, "no backup could be killed half-way in 10 attempts");
	/* The node goes on: it answers, takes statements, and its log verifies. */
	ck_assert(answers(s.port));
	hc_init(&c, s.port);
	ck_assert(post_batch(&c, posted));
	hc_free(&c);
	for (int b = 0; b <= posted; b += 7)
		ck_assert_int_eq(retrievable(s.port, b), BATCH);
	assert_log_verifies(D.data);
	/* And the next backup is whole. */
	snprintf(archive, sizeof archive, "%s/after.backup", D.base);
	ck_assert_int_eq(run_cli((const char *[]){"backup", "--data", D.data, "--out", archive, "--include-key", NULL},
				 out, sizeof out), 0);
	server_stop(&s);
	ck_assert_int_eq(run_cli((const char *[]){"restore", "--from", archive, "--data", D.restored, NULL}, out,
				 sizeof out), 0);
	struct server r = server_start(D.restored);
	ck_assert_int_eq(retrievable(r.port, posted), BATCH);
	server_stop(&r);
}
END_TEST

/* A damaged archive restores nothing. */
START_TEST(a_damaged_archive_is_refused)
{
	char out[8192], archive[700];
	snprintf(archive, sizeof archive, "%s/b.backup", D.base);
	ck_assert_int_eq(run_cli((const char *[]){"backup", "--data", D.data, "--out", archive, "--include-key", NULL},
				 out, sizeof out), 0);
	/* A second backup to the same name is refused. */
	ck_assert_int_ne(run_cli((const char *[]){"backup", "--data", D.data, "--out", archive, NULL}, out, sizeof out), 0);
	FILE *f = fopen(archive, "r+b");
	ck_assert_ptr_nonnull(f);
	fseek(f, 3000, SEEK_SET); /* inside node.db (node.json, node.key and its header come first) */
	int ch = fgetc(f);
	fseek(f, 3000, SEEK_SET);
	fputc(ch ^ 1, f);
	fclose(f);
	ck_assert_int_ne(run_cli((const char *[]){"restore", "--from", archive, "--data", D.restored, NULL}, out,
				 sizeof out), 0);
	ck_assert(th_file_contains(D.log, "does not match its manifest"));
	DIR *d = opendir(D.restored);
	int entries = 0;
	if (d) {
		while (readdir(d))
			entries++;
		closedir(d);
	}
	ck_assert_msg(entries <= 2, "a refused restore left files in %s", D.restored);
}
END_TEST


/* A learner erased after a backup comes back with a restore of it, unless
 * the restore re-applies the later erasures from an audit export of this
 * node (and only of this node). */
START_TEST(a_restore_reapplies_later_erasures)
{
	char out[8192], archive[700], exp[700], other[700], otherexp[700], r2[700], path[800];
	char gone[LV_PSEUDONYM_LEN], kept[LV_PSEUDONYM_LEN];
	const char *mbox[2] = {"mailto:erased@example.com", "mailto:kept@example.com"};
	char *who[2] = {gone, kept};
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(run_cli((const char *[]){"learner", "add", "--data", D.data, "--mbox", mbox[i], NULL}, out,
					 sizeof out), 0);
		cJSON *j = cJSON_Parse(out);
		snprintf(who[i], LV_PSEUDONYM_LEN, "%s", cJSON_GetObjectItemCaseSensitive(j, "learner")->valuestring);
		cJSON_Delete(j);
	}
	snprintf(archive, sizeof archive, "%s/e.backup", D.base);
	ck_assert_int_eq(run_cli((const char *[]){"backup", "--data", D.data, "--out", archive, "--include-key", NULL},
				 out, sizeof out), 0);
	ck_assert_int_eq(run_cli((const char *[]){"erase", "--data", D.data, "--learner", gone, NULL}, out, sizeof out), 0);
	snprintf(exp, sizeof exp, "%s/later-audit.json", D.base);
	ck_assert_int_eq(run_cli((const char *[]){"audit", "export", "--data", D.data, "--out", exp, NULL}, out,
				 sizeof out), 0);
	/* Plain restore: the erased learner is back, and the restore says so. */
	ck_assert_int_eq(run_cli((const char *[]){"restore", "--from", archive, "--data", D.restored, NULL}, out,
				 sizeof out), 0);
	ck_assert(th_file_contains(D.log, "learners erased after this backup was taken are back"));
	snprintf(path, sizeof path, "%s/vaults/%s.db", D.restored, gone);
	ck_assert_int_eq(access(path, F_OK), 0);
	/* With an export of another node: refused, nothing re-applied. */
	snprintf(other, sizeof other, "%s/other", D.base);
	snprintf(otherexp, sizeof otherexp, "%s/other-audit.json", D.base);
	snprintf(r2, sizeof r2, "%s/restored2", D.base);
	ck_assert_int_eq(run_cli((const char *[]){"init", "--data", other, NULL}, out, sizeof out), 0);
	ck_assert_int_eq(run_cli((const char *[]){"audit", "export", "--data", other, "--out", otherexp, NULL}, out,
				 sizeof out), 0);
	ck_assert_int_ne(run_cli((const char *[]){"restore", "--from", archive, "--data", r2, "--erasures-from", otherexp,
						  NULL}, out, sizeof out), 0);
	ck_assert(th_file_contains(D.log, "is not a verified audit export of this node"));
	th_rmtree(r2);
	/* With this node's later export: erased again, the other learner kept. */
	ck_assert_int_eq(run_cli((const char *[]){"restore", "--from", archive, "--data", r2, "--erasures-from", exp, NULL},
				 out, sizeof out), 0);
	cJSON *rep = cJSON_Parse(out);
	const cJSON *again = cJSON_GetObjectItemCaseSensitive(rep, "erased_again");
	ck_assert_int_eq(cJSON_GetArraySize(again), 1);
	ck_assert_str_eq(cJSON_GetArrayItem(again, 0)->valuestring, gone);
	cJSON_Delete(rep);
	snprintf(path, sizeof path, "%s/vaults/%s.db", r2, gone);
	ck_assert_int_ne(access(path, F_OK), 0);
	snprintf(path, sizeof path, "%s/vaults/%s.db", r2, kept);
	ck_assert_int_eq(access(path, F_OK), 0);
	assert_log_verifies(r2);
}
END_TEST

Suite *lv_test_suite(void)
{
	Suite *s = suite_create("backup");
	TCase *tc = tcase_create("backup");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, backup_during_ingest_restores_every_acknowledged_statement);
	tcase_add_test(tc, kill9_during_backup_leaves_the_node_and_no_archive);
	tcase_add_test(tc, a_damaged_archive_is_refused);
	tcase_add_test(tc, a_restore_reapplies_later_erasures);
	suite_add_tcase(s, tc);
	return s;
}
