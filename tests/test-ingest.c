/* Streaming ingest (tools/cmd_ingest.c) with the real binary: a large
 * generated file in bounded memory (the child's peak resident size),
 * progress and a one-line summary, a kill half-way and a resumed run that
 * stores every statement exactly once, and the splitter's edge cases.
 *
 * Sizes: 100,000 statements in a plain build; under AddressSanitizer,
 * where storing is several times slower, 20,000.  The memory bound is
 * also checked relative to a run of a quarter of the size, so that it does
 * not rest on the file being larger than the cap.  ASan's quarantine of
 * freed memory (256 MiB by default) is turned off for the measured child:
 * it would count freed memory as resident. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "learnvault/util.h"
#include "store/store.h"

#if defined(__SANITIZE_ADDRESS__)
#define ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ASAN 1
#endif
#endif
#ifdef ASAN
#define N_LARGE 20000
#define N_RESUME 4000
#else
#define N_LARGE 100000
#define N_RESUME 20000
#endif
#define NL 200
#define RSS_CAP_KB (64 * 1024)

static char base[512];

struct child {
	int status;
	long maxrss_kb;
	char out[8192];
};

/* The peak resident size of process @pid since its exec (VmHWM: the
 * rusage of a child would also count the memory of this test process,
 * which the child shared between fork and exec), 0 when gone. */
static long peak_rss_kb(pid_t pid)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
	FILE *f = fopen(path, "r");
	long kb = 0;
	bool execd = false; /* before its exec, the child is a copy of this process */
	if (!f)
		return 0;
	while (fgets(line, sizeof line, f)) {
		if (strncmp(line, "Name:", 5) == 0)
			execd = strstr(line, "learnvault") != NULL;
		if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
			break;
	}
	fclose(f);
	return execd ? kb : 0;
}

/* Runs learnvault @args (NULL-terminated) to completion; stdout into
 * c->out, stderr into @errf.  @kill_when: if set, polled every 20 ms
 * while the child runs; the child is SIGKILLed when it returns true. */
static void run(const char *const *args, const char *errf, struct child *c, bool (*kill_when)(void))
{
	char outf[600];
	snprintf(outf, sizeof outf, "%s/stdout", base);
	const char *argv[20] = {th_bin()};
	size_t n = 1;
	for (; args[n - 1] && n < 19; n++)
		argv[n] = args[n - 1];
	argv[n] = NULL;
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int o = open(outf, O_WRONLY | O_CREAT | O_TRUNC, 0600), e = open(errf, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (o < 0 || e < 0)
			_exit(126);
		dup2(o, 1);
		dup2(e, 2);
		char opts[512];
		const char *old = getenv("ASAN_OPTIONS");
		snprintf(opts, sizeof opts, "%s%squarantine_size_mb=0", old ? old : "", old && *old ? ":" : "");
		setenv("ASAN_OPTIONS", opts, 1);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	memset(c, 0, sizeof *c);
	for (;;) {
		pid_t w = waitpid(pid, &c->status, WNOHANG);
		if (w == pid)
			break;
		ck_assert_int_eq(w, 0);
		long hwm = peak_rss_kb(pid);
		if (hwm > c->maxrss_kb)
			c->maxrss_kb = hwm;
		if (kill_when && kill_when())
			kill(pid, SIGKILL);
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	FILE *f = fopen(outf, "r");
	ck_assert_ptr_nonnull(f);
	size_t len = fread(c->out, 1, sizeof c->out - 1, f);
	c->out[len] = 0;
	fclose(f);
}

static void node_init(const char *dir)
{
	struct child c;
	char errf[600];
	snprintf(errf, sizeof errf, "%s/init.err", base);
	run((const char *[]){"init", "--data", dir, NULL}, errf, &c, NULL);
	ck_assert(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 0);
}

/* The id of statement @i when it carries one (even @i), else NULL. */
static void explicit_id(int i, char out[37])
{
	snprintf(out, 37, "%08x-0000-4000-8000-%012d", 0x1d5, i);
}

/* Writes @n statements to @path: a JSON array (@ndjson false, spread over
 * lines with spaces) or one per line.  Texts hold quotes, backslashes and
 * brackets, so a splitter that ignored strings would cut them wrong. */
static void gen(const char *path, int n, bool ndjson)
{
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	if (!ndjson)
		fputs("[\n", f);
	for (int i = 0; i < n; i++) {
		char id[64] = "";
		if (i % 2 == 0) {
			char u[37];
			explicit_id(i, u);
			snprintf(id, sizeof id, "\"id\": \"%s\", ", u);
		}
		if (!ndjson && i)
			fputs(" ,\n", f);
		fprintf(f,
			"{%s\"actor\": {\"mbox\": \"mailto:learner-%d@school.example\", \"name\": \"A \\\"quoted\\\" ]} name\"},"
			" \"verb\": {\"id\": \"http://adlnet.gov/expapi/verbs/experienced\"},"
			" \"object\": {\"id\": \"http://example.com/activity/%d\", \"definition\": {\"name\": {\"en-US\":"
			" \"Lesson %d: {braces} [brackets] \\\\ back\\\\slash, \\\"q\\\"\"}}},"
			" \"result\": {\"response\": \"answer %d \\u00e9 ,]}\"}}",
			id, i % NL, i % 97, i, i);
		if (ndjson)
			fputc('\n', f);
	}
	if (!ndjson)
		fputs("\n]\n", f);
	fclose(f);
}

/* Statements in the index, and that every learner's vault holds exactly
 * as many rows as the index gives it; for a @generated file, that its
 * explicit ids are all there. */
static long stored_once(const char *dir, bool generated)
{
	struct lv_node *node = NULL;
	ck_assert_int_eq(lv_node_open(dir, NULL, NULL, &node), LV_OK);
	ck_assert_int_eq(lv_store_lock(node), LV_OK);
	sqlite3_stmt *s = NULL;
	ck_assert_int_eq(sqlite3_prepare_v2(node->db, "SELECT learner, count(*) FROM statements GROUP BY learner", -1, &s,
					    NULL), SQLITE_OK);
	long total = 0;
	while (sqlite3_step(s) == SQLITE_ROW) {
		char p[LV_PSEUDONYM_LEN];
		snprintf(p, sizeof p, "%s", (const char *)sqlite3_column_text(s, 0));
		long n = sqlite3_column_int64(s, 1);
		sqlite3 *v = NULL;
		sqlite3_stmt *q = NULL;
		ck_assert_int_eq(vault_get(node, p, false, &v), LV_OK);
		ck_assert_int_eq(sqlite3_prepare_v2(v, "SELECT count(*) FROM statements", -1, &q, NULL), SQLITE_OK);
		ck_assert_int_eq(sqlite3_step(q), SQLITE_ROW);
		ck_assert_int_eq(sqlite3_column_int64(q, 0), n);
		sqlite3_finalize(q);
		total += n;
	}
	sqlite3_finalize(s);
	/* Every explicit id of the file is there. */
	ck_assert_int_eq(sqlite3_prepare_v2(node->db, "SELECT count(*) FROM statements WHERE id LIKE '000001d5-%'", -1,
					    &s, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
	long explicit_n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	lv_store_unlock(node);
	lv_node_close(node);
	if (generated) /* statements 0..total-1 of a generated file */
		ck_assert_int_eq(explicit_n, (total + 1) / 2);
	return total;
}

static long num(const char *json, const char *key)
{
	cJSON *o = cJSON_Parse(json);
	ck_assert_msg(o != NULL, "not JSON: %s", json);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	ck_assert_msg(cJSON_IsNumber(v), "no %s in %s", key, json);
	long n = (long)v->valuedouble;
	cJSON_Delete(o);
	return n;
}

static void setup(void)
{
	snprintf(base, sizeof base, "%s", th_tmpdir());
}

static void teardown(void)
{
	th_rmtree(base);
}

static long ingest_rss(int n, const char *name, bool with_ids)
{
	char file[600], dir[600], errf[600], ids[600];
	snprintf(file, sizeof file, "%s/%s.json", base, name);
	snprintf(dir, sizeof dir, "%s/%s", base, name);
	snprintf(errf, sizeof errf, "%s/%s.err", base, name);
	snprintf(ids, sizeof ids, "%s/%s.ids", base, name);
	gen(file, n, false);
	node_init(dir);
	struct child c;
	if (with_ids)
		run((const char *[]){"ingest", "--data", dir, "--ids", ids, file, NULL}, errf, &c, NULL);
	else
		run((const char *[]){"ingest", "--data", dir, file, NULL}, errf, &c, NULL);
	ck_assert_msg(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 0, "ingest failed (stderr: %s)", errf);
	ck_assert_int_eq(num(c.out, "accepted"), n);
	ck_assert_int_eq(num(c.out, "duplicates"), 0);
	ck_assert_int_eq(num(c.out, "rejected"), 0);
	/* One line of output, no ids in it. */
	ck_assert_ptr_eq(strchr(c.out, '\n'), c.out + strlen(c.out) - 1);
	ck_assert_ptr_null(strstr(c.out, "000001d5-"));
	ck_assert(th_file_contains(errf, "elements read"));
	char want[128];
	snprintf(want, sizeof want, "ingest: %d stored, 0 duplicates (already stored), 0 rejected\n", n);
	ck_assert_msg(th_file_contains(errf, want), "no summary line in %s", errf);
	ck_assert_int_eq(stored_once(dir, true), n);
	if (with_ids) {
		FILE *f = fopen(ids, "r");
		ck_assert_ptr_nonnull(f);
		int lines = 0, ch;
		while ((ch = fgetc(f)) != EOF)
			lines += ch == '\n';
		fclose(f);
		ck_assert_int_eq(lines, n);
	}
	th_rmtree(dir);
	unlink(file);
	return c.maxrss_kb;
}

START_TEST(a_large_file_in_bounded_memory)
{
	long small = ingest_rss(N_LARGE / 4, "small", false);
	long large = ingest_rss(N_LARGE, "large", true);
	fprintf(stderr, "ingest: peak RSS %ld KiB for %d statements, %ld KiB for %d\n", large, N_LARGE, small,
		N_LARGE / 4);
	ck_assert_msg(large <= RSS_CAP_KB, "peak RSS %ld KiB for %d statements is over 64 MiB", large, N_LARGE);
	/* Four times the statements, not four times the memory: what may
	 * still fill is the caches (node.db's 8 MiB, 32 vaults of 256 KiB),
	 * plus 2 MiB.  Holding the file, as ingest did before, costs ~19
	 * times its size (issue 15: 790 MB for 42 MB). */
	ck_assert_msg(large - small <= 18 * 1024, "peak RSS grew from %ld to %ld KiB with the file", small, large);
}
END_TEST

static char progress_path[600];
static int kill_at;

/* True once the progress file records at least kill_at elements. */
static bool progress_reached(void)
{
	char *text = NULL;
	if (util_read_file(progress_path, 65536, &text, NULL) != LV_OK)
		return false;
	cJSON *o = cJSON_Parse(text);
	free(text);
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, "elements");
	bool reached = cJSON_IsNumber(e) && e->valuedouble >= kill_at;
	cJSON_Delete(o);
	return reached;
}

START_TEST(killed_then_resumed_stores_each_statement_once)
{
	char file[600], dir[600], errf[600];
	snprintf(file, sizeof file, "%s/resume.ndjson", base);
	snprintf(dir, sizeof dir, "%s/node", base);
	snprintf(errf, sizeof errf, "%s/resume.err", base);
	snprintf(progress_path, sizeof progress_path, "%s/resume.progress", base);
	gen(file, N_RESUME, true);
	node_init(dir);
	kill_at = N_RESUME / 3;
	struct child c;
	run((const char *[]){"ingest", "--data", dir, "--resume", progress_path, file, NULL}, errf, &c, progress_reached);
	ck_assert_msg(WIFSIGNALED(c.status), "the ingest was not killed half-way (status 0x%x)", c.status);
	long before = stored_once(dir, true);
	ck_assert_int_ge(before, kill_at);
	ck_assert_int_lt(before, N_RESUME);
	run((const char *[]){"ingest", "--data", dir, "--resume", progress_path, file, NULL}, errf, &c, NULL);
	ck_assert_msg(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 0, "the resumed ingest failed (%s)", errf);
	ck_assert(th_file_contains(errf, "resuming after element"));
	/* Only the batch in flight at the kill can come again. */
	ck_assert_int_le(num(c.out, "duplicates"), 500);
	ck_assert_int_eq(num(c.out, "accepted") + before, N_RESUME);
	ck_assert_int_eq(stored_once(dir, true), N_RESUME);
	struct stat sb;
	ck_assert_int_ne(stat(progress_path, &sb), 0); /* done: removed */
}
END_TEST

/* Without a progress file a re-run stores nothing twice either: ids are
 * the file's, or derived from it. */
START_TEST(a_rerun_is_idempotent)
{
	char file[600], dir[600], errf[600];
	snprintf(file, sizeof file, "%s/again.json", base);
	snprintf(dir, sizeof dir, "%s/node", base);
	snprintf(errf, sizeof errf, "%s/again.err", base);
	gen(file, 600, false);
	node_init(dir);
	struct child c;
	for (int round = 0; round < 2; round++) {
		run((const char *[]){"ingest", "--data", dir, file, NULL}, errf, &c, NULL);
		ck_assert_int_eq(WEXITSTATUS(c.status), 0);
		ck_assert_int_eq(num(c.out, "accepted"), round ? 0 : 600);
		ck_assert_int_eq(num(c.out, "duplicates"), round ? 600 : 0);
	}
	ck_assert_int_eq(stored_once(dir, true), 600);
}
END_TEST

static void write_text(const char *path, const char *text)
{
	ck_assert_int_eq(util_write_file(path, text, strlen(text), 0600, false), LV_OK);
}

#define ST(id, who) "{\"id\":\"" id "\",\"actor\":{\"mbox\":\"mailto:" who "@x.example\"},\"verb\":{\"id\":" \
		    "\"http://adlnet.gov/expapi/verbs/experienced\"},\"object\":{\"id\":\"http://x.example/a\"}}"
#define ID1 "00000001-0000-4000-8000-000000000001"
#define ID2 "00000001-0000-4000-8000-000000000002"
#define ID3 "00000001-0000-4000-8000-000000000003"

START_TEST(rejections_are_counted_and_syntax_errors_stop)
{
	char file[600], dir[600], errf[600];
	snprintf(file, sizeof file, "%s/e.json", base);
	snprintf(dir, sizeof dir, "%s/node", base);
	snprintf(errf, sizeof errf, "%s/e.err", base);
	node_init(dir);
	struct child c;
	/* A byte order mark, an empty object, a scalar, a statement without a
	 * verb, the same id with other content twice: counted by reason; the
	 * good ones are stored and the exit status says something was left
	 * out. */
	write_text(file, "\xEF\xBB\xBF [ " ST(ID1, "a") ", {}, 42, \"text, ]\", "
			 "{\"actor\":{\"mbox\":\"mailto:b@x.example\"},\"object\":{\"id\":\"http://x.example/a\"}},"
			 ST(ID2, "b") "," ST(ID1, "c") " ]  \n");
	run((const char *[]){"ingest", "--data", dir, file, NULL}, errf, &c, NULL);
	ck_assert_int_eq(WEXITSTATUS(c.status), 1);
	ck_assert_int_eq(num(c.out, "elements"), 7);
	ck_assert_int_eq(num(c.out, "accepted"), 2);
	ck_assert_int_eq(num(c.out, "rejected"), 5);
	ck_assert_ptr_nonnull(strstr(c.out, "\"complete\":true"));
	ck_assert(th_file_contains(errf, "not a statement (each element must be one JSON object) (2)"));
	ck_assert(th_file_contains(errf, "id already used with other content or by another provider (1)"));
	ck_assert(th_file_contains(errf, "\"verb\" is required"));
	/* An empty array, and an empty file. */
	write_text(file, " [ ] ");
	run((const char *[]){"ingest", "--data", dir, file, NULL}, errf, &c, NULL);
	ck_assert_int_eq(WEXITSTATUS(c.status), 0);
	ck_assert_int_eq(num(c.out, "elements"), 0);
	write_text(file, "");
	run((const char *[]){"ingest", "--data", dir, file, NULL}, errf, &c, NULL);
	ck_assert_int_eq(WEXITSTATUS(c.status), 1);
	ck_assert(th_file_contains(errf, "the file is empty"));
	/* A truncated array: what came before is stored, the run says where
	 * it stopped and how to go on. */
	write_text(file, "[" ST(ID3, "d") ", {\"actor\": {\"mbox\": \"mailto:e@x.example\"");
	run((const char *[]){"ingest", "--data", dir, file, NULL}, errf, &c, NULL);
	ck_assert_int_eq(WEXITSTATUS(c.status), 1);
	ck_assert(th_file_contains(errf, "the file ends inside an element"));
	ck_assert_ptr_nonnull(strstr(c.out, "\"complete\":false"));
	ck_assert_int_eq(num(c.out, "accepted"), 1);
	/* Garbage between elements. */
	write_text(file, "[" ST(ID3, "d") " x " ST(ID2, "b") "]");
	run((const char *[]){"ingest", "--data", dir, file, NULL}, errf, &c, NULL);
	ck_assert_int_eq(WEXITSTATUS(c.status), 1);
	ck_assert(th_file_contains(errf, "expected ',' or ']'"));
	/* NDJSON with blank lines and CRLF. */
	write_text(file, ST(ID3, "d") "\r\n\r\n" ST(ID2, "b") "\r\n");
	run((const char *[]){"ingest", "--data", dir, file, NULL}, errf, &c, NULL);
	ck_assert_int_eq(WEXITSTATUS(c.status), 0);
	ck_assert_int_eq(num(c.out, "duplicates"), 2);
	ck_assert_int_eq(stored_once(dir, false), 3);
}
END_TEST

Suite *lv_test_suite(void)
{
	Suite *s = suite_create("ingest");
	TCase *tc = tcase_create("ingest");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 540);
	tcase_add_test(tc, rejections_are_counted_and_syntax_errors_stop);
	tcase_add_test(tc, a_rerun_is_idempotent);
	tcase_add_test(tc, killed_then_resumed_stores_each_statement_once);
	tcase_add_test(tc, a_large_file_in_bounded_memory);
	suite_add_tcase(s, tc);
	return s;
}
