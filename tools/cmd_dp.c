/* dp sample: draws exact discrete Laplace / Gaussian noise. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "learnvault/dp.h"

#define DP_MAX_N UINT64_C(1000000000)
#define DP_OUT_BUF (64 * 1024)

enum mech { MECH_LAPLACE, MECH_GAUSSIAN };

/* Appends @v and a newline at @p; returns the new end.  The digits are
 * written backwards into a scratch array: no printf per sample. */
static char *put_i64(char *p, int64_t v)
{
	char tmp[24];
	int n = 0;
	uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;
	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*p++ = '-';
	while (n)
		*p++ = tmp[--n];
	*p++ = '\n';
	return p;
}

static int sample(enum mech m, uint64_t num, uint64_t den, uint64_t count)
{
	struct lv_dp_rng *rng = NULL;
	static char out[DP_OUT_BUF];
	size_t len = 0;
	int rc = 0;
	enum lv_status st = lv_dp_rng_create(&rng);
	if (st != LV_OK)
		return cli_fail("dp sample: %s", lv_status_str(st));
	for (uint64_t i = 0; i < count; i++) {
		int64_t z;
		st = m == MECH_LAPLACE ? lv_dp_discrete_laplace(rng, num, den, &z)
				       : lv_dp_discrete_gaussian(rng, num, den, &z);
		if (st != LV_OK) {
			rc = cli_fail("dp sample: %s", lv_status_str(st));
			goto out;
		}
		if (len > sizeof out - 24) {
			if (fwrite(out, 1, len, stdout) != len) {
				rc = cli_fail("dp sample: write error");
				goto out;
			}
			len = 0;
		}
		len = (size_t)(put_i64(out + len, z) - out);
	}
	if ((len && fwrite(out, 1, len, stdout) != len) || fflush(stdout) != 0)
		rc = cli_fail("dp sample: write error");
out:
	lv_dp_rng_destroy(rng);
	return rc;
}

/* A count: decimal digits only, at most DP_MAX_N. */
static bool parse_count(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > DP_MAX_N)
			return false;
	}
	*out = v;
	return true;
}

int cmd_dp(int argc, char **argv)
{
	const char *mech_s = NULL, *scale_s = NULL, *sigma2_s = NULL, *n_s = NULL;
	const struct cli_opt opts[] = {
		{"mechanism", true, &mech_s}, {"scale", true, &scale_s}, {"sigma2", true, &sigma2_s},
		{"n", true, &n_s}, {0, false, NULL}};
	if (argc < 2 || strcmp(argv[1], "sample") != 0)
		return cli_fail("dp: sample --mechanism discrete-laplace|discrete-gaussian (--scale S | --sigma2 V) --n N") + 1;
	int first = cli_parse(argc, argv, 2, opts);
	if (first < 0)
		return 2;
	if (first < argc)
		return cli_fail("dp sample: unexpected argument '%s'", argv[first]) + 1;
	enum mech m;
	const char *param, *pname;
	if (mech_s && strcmp(mech_s, "discrete-laplace") == 0) {
		m = MECH_LAPLACE;
		param = scale_s;
		pname = "--scale";
		if (sigma2_s)
			return cli_fail("dp sample: discrete-laplace takes --scale, not --sigma2") + 1;
	} else if (mech_s && strcmp(mech_s, "discrete-gaussian") == 0) {
		m = MECH_GAUSSIAN;
		param = sigma2_s;
		pname = "--sigma2";
		if (scale_s)
			return cli_fail("dp sample: discrete-gaussian takes --sigma2, not --scale") + 1;
	} else {
		return cli_fail("dp sample: --mechanism discrete-laplace|discrete-gaussian") + 1;
	}
	if (!param)
		return cli_fail("dp sample: %s is required", pname) + 1;
	uint64_t num, den, count;
	if (lv_dp_parse_decimal(param, &num, &den) != LV_OK || num == 0)
		return cli_fail("dp sample: %s must be a positive decimal like 10, 2.5 or 0.3 "
				"(at most 12 significant digits, no sign or exponent): '%s'", pname, param) + 1;
	if ((m == MECH_LAPLACE && num > (unsigned __int128)den * LV_DP_LAPLACE_MAX_SCALE) ||
	    (m == MECH_GAUSSIAN && num > (unsigned __int128)den * LV_DP_GAUSSIAN_MAX_SIGMA2))
		return cli_fail("dp sample: %s %s is too large", pname, param) + 1;
	if (!n_s || !parse_count(n_s, &count))
		return cli_fail("dp sample: --n N, an integer from 0 to %llu", (unsigned long long)DP_MAX_N) + 1;
	return sample(m, num, den, count);
}
