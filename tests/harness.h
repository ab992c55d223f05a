/* Shared test harness: each tests/test-<area>.c defines lv_test_suite(). */
#ifndef LV_TEST_HARNESS_H
#define LV_TEST_HARNESS_H
#include <stdbool.h>

#include <check.h>

Suite *lv_test_suite(void);

/* A fresh empty directory under $TMPDIR; the returned path is static
 * storage valid until the next call. */
const char *th_tmpdir(void);
/* Removes a directory tree (test cleanup). */
void th_rmtree(const char *path);
/* Absolute path of the learnvault binary under test. */
const char *th_bin(void);
/* Path of a file relative to the source root. */
const char *th_src(const char *rel);
/* Runs the learnvault binary with @args (shell words), stderr to file
 * @errf; returns its exit status and its stdout in *@out (malloc'd, at
 * most 64 KiB; caller frees). */
int th_run_cli(const char *args, char **out, const char *errf);
/* True when the file at @path contains @needle. */
bool th_file_contains(const char *path, const char *needle);
/* Marks the running test as skipped, for @why (say what is missing).  The
 * caller returns from the test right after; a test that skips must not
 * also assert.  Prints "SKIP <test>: <why>" on stdout; main() prints
 * "Skipped: K of N checks" after Check's summary, which `tools/dev test`
 * subtracts from the passes, and exits 77 (meson's "skipped") when every
 * test of the binary skipped. */
void th_skip(const char *why);
#endif
