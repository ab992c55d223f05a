/* Every public header compiles alone, as a user of the library would
 * include it: C17, pedantic, all warnings as errors.  And the include
 * rules of the layering hold in the sources (the build's per-module
 * include paths enforce them too; this names the offending line). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "harness.h"

static int compile_alone(const char *header, const char *errf)
{
	char cmd[4096];
	snprintf(cmd, sizeof cmd,
		 "printf '#include \"learnvault/%s\"\\n' | ${CC:-cc} -x c -std=c17 -pedantic -Wall -Wextra -Werror "
		 "-fsyntax-only -I'%s' - 2>'%s'",
		 header, th_src("include"), errf);
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

START_TEST(public_headers_compile_alone)
{
	DIR *d = opendir(th_src("include/learnvault"));
	ck_assert_ptr_nonnull(d);
	const char *tmp = th_tmpdir();
	char errf[600];
	snprintf(errf, sizeof errf, "%s/cc.err", tmp);
	struct dirent *e;
	int n = 0;
	while ((e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);
		if (len < 3 || strcmp(e->d_name + len - 2, ".h") != 0)
			continue;
		int rc = compile_alone(e->d_name, errf);
		char *msg = NULL;
		size_t mlen = 0;
		FILE *f = fopen(errf, "r");
		if (f) {
			msg = calloc(1, 2048);
			mlen = fread(msg, 1, 2047, f);
			fclose(f);
		}
		ck_assert_msg(rc == 0, "%s does not compile alone: %.*s", e->d_name, (int)mlen, msg ? msg : "");
		free(msg);
		n++;
	}
	closedir(d);
	ck_assert_int_ge(n, 10);
	th_rmtree(tmp);
}
END_TEST

/* The compiler check really checks: a header that needs what it does not
 * include is refused. */
START_TEST(compile_check_catches_a_broken_header)
{
	const char *tmp = th_tmpdir();
	char dir[600], path[700], errf[700], cmd[2048];
	snprintf(dir, sizeof dir, "%s/learnvault", tmp);
	snprintf(cmd, sizeof cmd, "mkdir -p '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
	snprintf(path, sizeof path, "%s/broken.h", dir);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("size_t lv_broken(void);\n", f); /* no <stddef.h> */
	fclose(f);
	snprintf(errf, sizeof errf, "%s/cc.err", tmp);
	snprintf(cmd, sizeof cmd,
		 "printf '#include \"learnvault/broken.h\"\\n' | ${CC:-cc} -x c -std=c17 -pedantic -Wall -Wextra -Werror "
		 "-fsyntax-only -I'%s' - 2>'%s'", tmp, errf);
	int st = system(cmd);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) != 0);
	th_rmtree(tmp);
}
END_TEST

Suite *lv_test_suite(void)
{
	Suite *s = suite_create("headers");
	TCase *tc = tcase_create("public headers");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, public_headers_compile_alone);
	tcase_add_test(tc, compile_check_catches_a_broken_header);
	suite_add_tcase(s, tc);
	return s;
}
