#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/mman.h>
#include <sys/wait.h>

#include <sodium.h>

#include "harness.h"
#include "learnvault/util.h"

const char *th_tmpdir(void)
{
	static char path[512];
	const char *t = getenv("TMPDIR");
	snprintf(path, sizeof path, "%s/lvtest.XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(path)) {
		perror("mkdtemp");
		abort();
	}
	return path;
}

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	return remove(p);
}

void th_rmtree(const char *path)
{
	nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

const char *th_bin(void)
{
	const char *b = getenv("LV_TEST_BIN");
	return b ? b : "learnvault";
}

const char *th_src(const char *rel)
{
	static char path[1024];
	const char *r = getenv("LV_SOURCE_ROOT");
	snprintf(path, sizeof path, "%s/%s", r ? r : ".", rel);
	return path;
}

int th_run_cli(const char *args, char **out, const char *errf)
{
	char cmd[4096];
	snprintf(cmd, sizeof cmd, "'%s' %s 2>'%s'", th_bin(), args, errf);
	FILE *f = popen(cmd, "r");
	ck_assert_ptr_nonnull(f);
	size_t cap = 1 << 16, len = 0, k;
	*out = malloc(cap);
	ck_assert_ptr_nonnull(*out);
	while ((k = fread(*out + len, 1, cap - 1 - len, f)) > 0)
		len += k;
	(*out)[len] = 0;
	int st = pclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

bool th_file_contains(const char *path, const char *needle)
{
	char *text = NULL;
	size_t len = 0;
	if (util_read_file(path, 1 << 20, &text, &len) != LV_OK)
		return false;
	bool r = strstr(text, needle) != NULL;
	free(text);
	return r;
}

/* Skip count, in a shared mapping: Check runs each test in a forked child
 * (unless CK_FORK=no), and the count must reach main() either way. */
static unsigned *skips;

void th_skip(const char *why)
{
	if (skips)
		__atomic_fetch_add(skips, 1, __ATOMIC_SEQ_CST);
	/* Straight to the descriptor, not through stdio: in a forked child the
	 * stdio buffer may still hold the parent's unflushed output, which
	 * would then be printed twice.  stdout, because meson's testlog.json
	 * keeps stdout under "stdout" whether or not stderr is split off. */
	dprintf(STDOUT_FILENO, "SKIP %s: %s\n", tcase_name(), why);
}

int main(void)
{
	if (sodium_init() < 0)
		return 2;
	skips = mmap(NULL, sizeof *skips, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (skips == MAP_FAILED)
		return 2;
	SRunner *sr = srunner_create(lv_test_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	int run = srunner_ntests_run(sr);
	srunner_free(sr);
	unsigned k = __atomic_load_n(skips, __ATOMIC_SEQ_CST);
	munmap(skips, sizeof *skips);
	skips = NULL;
	/* Check counts a skipped test as passed; this line lets the summary
	 * of `tools/dev test` tell them apart. */
	if (k)
		printf("Skipped: %u of %d checks\n", k, run);
	if (failed)
		return 1;
	/* 77: meson's code for a test binary that skipped as a whole. */
	return run > 0 && k >= (unsigned)run ? 77 : 0;
}
