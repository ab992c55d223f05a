/* Shared test harness: each tests/test-<area>.c defines lv_test_suite(). */
#ifndef LV_TEST_HARNESS_H
#define LV_TEST_HARNESS_H
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
#endif
