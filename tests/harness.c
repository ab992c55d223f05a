#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "harness.h"

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
