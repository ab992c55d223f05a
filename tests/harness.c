#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/wait.h>

#include <sodium.h>

#include "harness.h"
#include "util/util.h"

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

int main(void)
{
	if (sodium_init() < 0)
		return 2;
	SRunner *sr = srunner_create(lv_test_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
