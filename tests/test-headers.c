/* Every public header compiles alone, as a user of the library would
 * include it: C17, pedantic, all warnings as errors.  And the include
 * rules of the layering hold in the sources (the build's per-module
 * include paths enforce them too; this names the offending line). */
#include <dirent.h>
#include <stdbool.h>
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

/* Which module owns each public header (docs/internals.md). */
static const struct {
	const char *header, *module;
} OWNER[] = {
	{"util.h", "util"},       {"status.h", "util"},     {"xapi.h", "xapi"},         {"audit.h", "audit"},
	{"store.h", "store"},     {"node.h", "store"},      {"statements.h", "store"},  {"vault.h", "store"},
	{"auditlog.h", "store"},  {"consent.h", "consent"}, {"policy.h", "consent"},    {"dp.h", "dp"},
	{"personal.h", "personal"}, {"fsrs.h", "personal"}, {"recommend.h", "personal"}, {"query.h", "query"},
	{"door.h", "door"},       {"server.h", "http"},     {"federation.h", "federation"},
	{"backup.h", "store"},    {"retention.h", "door"},
};

/* The modules each module may include, itself included: the layers. */
static const struct {
	const char *module, *may;
} MAY[] = {
	{"util", " util "},
	{"xapi", " util xapi "},
	{"audit", " util audit "},
	{"store", " util xapi audit store "},
	{"consent", " util xapi audit store consent "},
	{"dp", " util dp "},
	{"personal", " util xapi audit store dp personal "},
	{"federation", " util federation "},
	{"query", " util xapi audit store consent dp personal federation query "},
	{"door", " util xapi audit store consent dp personal federation query door "},
	{"http", " util xapi audit store consent dp personal federation query door http "},
};

static const char *owner_of(const char *header)
{
	for (size_t i = 0; i < sizeof OWNER / sizeof OWNER[0]; i++)
		if (strcmp(OWNER[i].header, header) == 0)
			return OWNER[i].module;
	return NULL;
}

/* Checks every `#include "learnvault/X.h"` of the files in src/@module
 * against the layers; the offline verifier (src/audit/log*.c, its own
 * library lv_audit_verify in src/meson.build) links one layer up, above
 * consent and dp, and may include theirs and the store's. */
static void check_module(const char *module, const char *may, int *checked)
{
	char dir[512];
	snprintf(dir, sizeof dir, "src/%s", module);
	DIR *d = opendir(th_src(dir));
	ck_assert_ptr_nonnull(d);
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);
		if (len < 3 || (strcmp(e->d_name + len - 2, ".c") != 0 && strcmp(e->d_name + len - 2, ".h") != 0))
			continue;
		char rel[700], line[1024];
		snprintf(rel, sizeof rel, "src/%s/%s", module, e->d_name);
		FILE *f = fopen(th_src(rel), "r");
		ck_assert_ptr_nonnull(f);
		bool verifier = strncmp(rel, "src/audit/log", strlen("src/audit/log")) == 0;
		for (int ln = 1; fgets(line, sizeof line, f); ln++) {
			char h[128];
			if (sscanf(line, "#include \"learnvault/%127[^\"]\"", h) != 1)
				continue;
			const char *own = owner_of(h);
			ck_assert_msg(own != NULL, "%s:%d: learnvault/%s has no owner in this test's table", rel, ln, h);
			char word[64];
			snprintf(word, sizeof word, " %s ", own);
			bool ok = strstr(may, word) != NULL ||
				  (verifier && (strcmp(own, "consent") == 0 || strcmp(own, "store") == 0 ||
					       strcmp(own, "dp") == 0));
			ck_assert_msg(ok, "%s:%d: module %s includes learnvault/%s of %s, a layer above it", rel, ln,
				      module, h, own);
			(*checked)++;
		}
		fclose(f);
	}
	closedir(d);
}

START_TEST(modules_include_only_the_layers_below)
{
	int checked = 0;
	for (size_t i = 0; i < sizeof MAY / sizeof MAY[0]; i++)
		check_module(MAY[i].module, MAY[i].may, &checked);
	ck_assert_int_ge(checked, 100);
	/* Every public header has an owner. */
	DIR *d = opendir(th_src("include/learnvault"));
	ck_assert_ptr_nonnull(d);
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (strlen(e->d_name) > 2 && strcmp(e->d_name + strlen(e->d_name) - 2, ".h") == 0)
			ck_assert_msg(owner_of(e->d_name), "include/learnvault/%s has no owning module", e->d_name);
	closedir(d);
}
END_TEST

Suite *lv_test_suite(void)
{
	Suite *s = suite_create("headers");
	TCase *tc = tcase_create("public headers");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, public_headers_compile_alone);
	tcase_add_test(tc, compile_check_catches_a_broken_header);
	tcase_add_test(tc, modules_include_only_the_layers_below);
	suite_add_tcase(s, tc);
	return s;
}
