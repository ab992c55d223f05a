/* FSRS-6: upstream vectors (fsrs-rs, ts-fsrs, py-fsrs semantics), review-log
 * parsing, evaluation metrics, the optimiser, and `learnvault eval fsrs` on
 * the shared review log.  Vectors: tests/vectors/fsrs-bkt-elo.txt (copied from
 * its sources, see tests/vectors/README.md); the review log stays outside the
 * repository, in ../shared/data/fsrs-revlog, and its tests skip without it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "harness.h"
#include "learnvault/fsrs.h"
#include "personal/fsrs_internal.h"
#include "learnvault/util.h"

/* The vectors file: fsrs-rs asserts ~1e-4 absolute (f32); ts-fsrs and the
 * DERIVED blocks are good to 5e-5; large values compare relatively (1e-6). */
#define TOL_RS 1e-4
#define TOL_TS 5e-5

static void near(double got, double want, double abs_tol, const char *what)
{
	double tol = fmax(abs_tol, 1e-6 * fabs(want));
	ck_assert_msg(fabs(got - want) <= tol, "%s: got %.9g, want %.9g (tol %.2g)", what, got, want, tol);
}

static const double W6[21] = {0.212, 1.2931, 2.3065, 8.2956, 6.4133, 0.8334, 3.0194, 0.001, 1.8722, 0.1666, 0.796,
			      1.4835, 0.0614, 0.2629, 1.6483, 0.6014, 1.8729, 0.5425, 0.0912, 0.0658, 0.1542};

static const double P19[19] = {0.6845422, 1.6790825, 4.7349424, 10.042885, 7.4410233, 0.64219797, 1.071918,
			       0.0025195254, 1.432437, 0.1544, 0.8692766, 2.0696752, 0.0953, 0.2975, 2.4691248,
			       0.19542035, 3.201072, 0.18046261, 0.121442534};

static const double W5[19] = {0.40255, 1.18385, 3.173, 15.69105, 7.1949, 0.5345, 1.4604, 0.0046, 1.54575, 0.1192,
			      1.01925, 1.9395, 0.11, 0.29605, 2.2698, 0.2315, 2.9898, 0.51655, 0.6621};

/* py-fsrs test_optimizer.py TEST_OPTIMAL */
static const double TEST_OPTIMAL[21] = {
	0.12340357383516173, 1.2931, 2.397673571899466, 8.2956, 6.686820427099132, 0.45021679958387956,
	3.077875127553957, 0.053520395733247045, 1.6539992229052127, 0.1466206769107436, 0.6300772488850335,
	1.611965002575047, 0.012840136810798864, 0.34853762746216305, 1.8878958285806287, 0.8546376191171063,
	1.8729, 0.6748536823468675, 0.20451266082721842, 0.22622814695113844, 0.46030603398979064};

static struct lv_fsrs_params defaults(void)
{
	struct lv_fsrs_params p;
	lv_fsrs_params_default(&p);
	return p;
}

static struct lv_fsrs_params from(const double *w, size_t n)
{
	struct lv_fsrs_params p;
	ck_assert_int_eq(lv_fsrs_params_convert(w, n, &p), LV_OK);
	return p;
}

/* Replays (grade, days) pairs; the first pair's days are ignored. */
static struct lv_fsrs_state replay(const struct lv_fsrs_params *p, const int *g, const double *t, size_t n)
{
	struct lv_fsrs_review r[16];
	struct lv_fsrs_state s;
	ck_assert_uint_le(n, 16);
	for (size_t i = 0; i < n; i++)
		r[i] = (struct lv_fsrs_review){g[i], t[i]};
	ck_assert_int_eq(lv_fsrs_replay(p, r, n, &s, NULL), LV_OK);
	return s;
}

/* ---- vectors ---------------------------------------------------------- */

/* Checks that the line "@name = v0 v1 ..." of the vectors file holds exactly
 * the @n values of @want.  Both sides are decimal literals parsed to the
 * nearest double, so they compare exactly. */
static void file_params(const char *text, const char *name, const double *want, size_t n)
{
	char key[32];
	snprintf(key, sizeof key, "\n%s = ", name);
	const char *p = strstr(text, key);
	ck_assert_msg(p != NULL, "%s not in the vectors file", name);
	p += strlen(key);
	for (size_t i = 0; i < n; i++) {
		char *end;
		double v = strtod(p, &end);
		ck_assert_msg(end != p, "%s: the file has %zu values, want %zu", name, i, n);
		ck_assert_msg(v == want[i], "%s[%zu]: file %.17g, test %.17g", name, i, v, want[i]);
		p = end;
	}
	p += strspn(p, " \t\r");
	ck_assert_msg(*p == '\n' || *p == '\0', "%s: the file has more than %zu values", name, n);
}

/* The parameter vectors this file uses are transcribed from the vectors
 * file; a typo in one would otherwise only show as a far-off mismatch. */
START_TEST(vectors_file_params)
{
	const char *path = th_src("tests/vectors/fsrs-bkt-elo.txt");
	char *text;
	size_t len;
	enum lv_status st = util_read_file(path, 1 << 20, &text, &len);
	ck_assert_msg(st == LV_OK, "cannot read %s: %s", path, lv_status_str(st));
	file_params(text, "W_FSRS6", W6, 21);
	file_params(text, "P19", P19, 19);
	file_params(text, "W_FSRS5", W5, 19);
	file_params(text, "TEST_OPTIMAL", TEST_OPTIMAL, 21);
	free(text);
}
END_TEST

START_TEST(default_params)
{
	struct lv_fsrs_params p = defaults(), lo, hi;
	for (int i = 0; i < 21; i++)
		ck_assert_double_eq(p.w[i], W6[i]);
	ck_assert_int_eq(lv_fsrs_params_check(&p), LV_OK);
	lv_fsrs_params_bounds(&lo, &hi);
	/* spot checks of the py-fsrs 6.3.1 bounds */
	ck_assert_double_eq(lo.w[0], 0.001);
	ck_assert_double_eq(hi.w[0], 100.0);
	ck_assert_double_eq(hi.w[7], 0.75);
	ck_assert_double_eq(lo.w[20], 0.1);
	ck_assert_double_eq(hi.w[20], 0.8);
	p.w[20] = 0.05;
	ck_assert_int_eq(lv_fsrs_params_check(&p), LV_ERR_INVALID);
	p.w[20] = NAN;
	ck_assert_int_eq(lv_fsrs_params_check(&p), LV_ERR_INVALID);
}
END_TEST

/* V-RS-1 test_power_forgetting_curve */
START_TEST(vrs1_forgetting_curve)
{
	struct lv_fsrs_params p = defaults();
	const double t[] = {0, 1, 2, 3, 4, 5}, s[] = {1, 2, 3, 4, 4, 2};
	const double want[] = {1.0, 0.9403443, 0.9253786, 0.9185229, 0.9, 0.8261359};
	for (int i = 0; i < 6; i++)
		near(lv_fsrs_retrievability(&p, t[i], s[i]), want[i], TOL_RS, "R(t,S)");
}
END_TEST

/* V-RS-2 test_next_difficulty (before mean reversion: w7 = 0 makes the
 * reversion the identity) */
START_TEST(vrs2_difficulty)
{
	struct lv_fsrs_params p = defaults();
	const double after[] = {8.341763, 6.6659956, 4.990228, 3.3144615};
	const double before[] = {8.354889, 6.6774445, 5.0, 3.3225555};
	for (int g = 1; g <= 4; g++)
		near(lv_fsrs_next_difficulty(&p, 5.0, g), after[g - 1], TOL_RS, "D after mean reversion");
	p.w[7] = 0.0;
	for (int g = 1; g <= 4; g++)
		near(lv_fsrs_next_difficulty(&p, 5.0, g), before[g - 1], TOL_RS, "D before mean reversion");
	ck_assert(isnan(lv_fsrs_next_difficulty(&p, 5.0, 5)));
}
END_TEST

/* V-RS-3 test_next_stability (the test passes the rating as the difficulty) */
START_TEST(vrs3_stability)
{
	struct lv_fsrs_params p = defaults();
	const double r[] = {0.9, 0.8, 0.7, 0.6};
	const double succ[] = {25.602541, 28.226582, 58.656002, 127.226685};
	const double fail[] = {1.0525396, 1.1894329, 1.3680838, 1.584989};
	const double shrt[] = {1.596818, 5.0, 5.0, 8.12961};
	for (int g = 1; g <= 4; g++) {
		near(lv_fsrs_stability_after_success(&p, 5.0, g, r[g - 1], g), succ[g - 1], TOL_RS, "success");
		near(lv_fsrs_stability_after_failure(&p, 5.0, g, r[g - 1]), fail[g - 1], TOL_RS, "failure");
		near(lv_fsrs_stability_short_term(&p, 5.0, g), shrt[g - 1], TOL_RS, "short-term");
	}
}
END_TEST

/* V-RS-4 test_convert_parameters, and the 19-parameter padding */
START_TEST(vrs4_convert)
{
	const double in[17] = {0.4, 0.6, 2.4, 5.8, 4.93, 0.94, 0.86, 0.01, 1.49, 0.14, 0.94, 2.18, 0.05, 0.34, 1.26, 0.29, 2.61};
	const double want[21] = {0.4, 0.6, 2.4, 5.8, 6.81, 0.44675013, 1.36, 0.01, 1.49, 0.14, 0.94,
				 2.18, 0.05, 0.34, 1.26, 0.29, 2.61, 0.0, 0.0, 0.0, 0.5};
	struct lv_fsrs_params p = from(in, 17);
	for (int i = 0; i < 21; i++)
		near(p.w[i], want[i], TOL_RS, "converted w");
	ck_assert_int_eq(lv_fsrs_params_check(&p), LV_OK);
	p = from(P19, 19);
	for (int i = 0; i < 19; i++)
		ck_assert_double_eq(p.w[i], P19[i]);
	ck_assert_double_eq(p.w[19], 0.0);
	ck_assert_double_eq(p.w[20], 0.5);
	ck_assert_int_eq(lv_fsrs_params_convert(in, 18, &p), LV_ERR_INVALID);
	ck_assert_double_eq(p.w[0], 0.0);
}
END_TEST

/* V-RS-5 test_memory_state, V-TS-3 (same history, plus a per-step trace) */
START_TEST(vrs5_memory_state)
{
	struct lv_fsrs_params p = defaults();
	const int g[] = {1, 3, 3, 3, 3, 3};
	const double t[] = {0, 0, 1, 3, 8, 21};
	struct lv_fsrs_state s = replay(&p, g, t, 6);
	near(s.stability, 53.62691, TOL_RS, "S");
	near(s.difficulty, 6.3574867, TOL_RS, "D");
	/* V-TS-3 per-step trace (ts-fsrs 5.4.2) */
	const double ts[6][2] = {{0.212, 6.4133},           {0.24668919, 6.40211507}, {2.02147724, 6.39094132},
				 {7.86369875, 6.37977875},  {21.91771334, 6.36862734}, {53.62690465, 6.35748708}};
	for (size_t n = 1; n <= 6; n++) {
		s = replay(&p, g, t, n);
		near(s.stability, ts[n - 1][0], TOL_TS, "trace S");
		near(s.difficulty, ts[n - 1][1], TOL_TS, "trace D");
	}
	/* "freeze short term": w17 = w18 = w19 = 0 */
	p.w[17] = p.w[18] = p.w[19] = 0.0;
	s = replay(&p, g, t, 6);
	near(s.stability, 53.335106, TOL_RS, "S frozen");
	near(s.difficulty, 6.3574867, TOL_RS, "D frozen");
}
END_TEST

/* V-RS-6 test_next_interval: S = 1, r = 0.1..1.0, rounded, at least 1 */
START_TEST(vrs6_interval)
{
	struct lv_fsrs_params p = defaults();
	const double want[] = {3116766, 34793, 2508, 387, 90, 27, 9, 3, 1, 1};
	for (int i = 0; i < 10; i++) {
		uint32_t d;
		ck_assert_int_eq(lv_fsrs_interval_days(&p, 1.0, (i + 1) / 10.0, 0, &d), LV_OK);
		near(d, want[i], 0.5, "interval");
	}
	double x;
	ck_assert_int_eq(lv_fsrs_interval(&p, 121.01552, 0.9, &x), LV_OK);
	near(x, 121.01551, TOL_RS, "interval at 0.9 is S");
	uint32_t d = 7;
	ck_assert_int_eq(lv_fsrs_interval_days(&p, 1.0, 0.1, 36500, &d), LV_OK);
	ck_assert_uint_eq(d, 36500);
	ck_assert_int_eq(lv_fsrs_interval_days(&p, 1.0, 0.0, 0, &d), LV_ERR_INVALID);
	ck_assert_uint_eq(d, 0);
	ck_assert_int_eq(lv_fsrs_interval(&p, -1.0, 0.9, &x), LV_ERR_INVALID);
	ck_assert_int_eq(lv_fsrs_interval(&p, 1.0, 1.5, &x), LV_ERR_INVALID);
}
END_TEST

/* V-RS-7 test_memo_state and V-RS-8 test_next_states (19-parameter P19) */
START_TEST(vrs7_vrs8_p19)
{
	struct lv_fsrs_params p = from(P19, 19);
	const int g[] = {1, 3, 3, 3, 3};
	const double t[] = {0, 1, 3, 8, 21};
	struct lv_fsrs_state s = replay(&p, g, t, 5), n;
	near(s.stability, 31.722992, TOL_RS, "V-RS-7 S");
	near(s.difficulty, 7.382128, TOL_RS, "V-RS-7 D");
	struct lv_fsrs_state s0 = {20.925528, 7.005062};
	ck_assert_int_eq(lv_fsrs_next(&p, &s0, 21, 3, &n), LV_OK);
	near(n.stability, 40.87456, TOL_RS, "V-RS-7 next S");
	near(n.difficulty, 6.9913807, TOL_RS, "V-RS-7 next D");

	s = replay(&p, g, t, 4);
	const double ws[] = {2.9691455, 17.091452, 31.722992, 71.7502};
	const double wd[] = {8.000659, 7.6913934, 7.382128, 7.0728626};
	for (int k = 1; k <= 4; k++) {
		double ivl;
		ck_assert_int_eq(lv_fsrs_next(&p, &s, 21, k, &n), LV_OK);
		near(n.stability, ws[k - 1], TOL_RS, "V-RS-8 S");
		near(n.difficulty, wd[k - 1], TOL_RS, "V-RS-8 D");
		ck_assert_int_eq(lv_fsrs_interval(&p, n.stability, 0.9, &ivl), LV_OK);
		near(ivl, ws[k - 1], TOL_RS, "V-RS-8 interval");
	}
}
END_TEST

/* V-TS-1: first repeat of a new card with each grade */
START_TEST(vts1_first_repeat)
{
	struct lv_fsrs_params p = defaults();
	const double ws[] = {0.212, 1.2931, 2.3065, 8.2956}, wd[] = {6.4133, 5.11217071, 2.11810397, 1};
	for (int g = 1; g <= 4; g++) {
		struct lv_fsrs_state s;
		ck_assert_int_eq(lv_fsrs_init(&p, g, &s), LV_OK);
		near(s.stability, ws[g - 1], TOL_TS, "S0");
		near(s.difficulty, wd[g - 1], TOL_TS, "D0");
	}
	/* Easy leaves the learning steps at once: scheduled_days 8 */
	uint32_t d;
	ck_assert_int_eq(lv_fsrs_interval_days(&p, 8.2956, 0.9, 36500, &d), LV_OK);
	ck_assert_uint_eq(d, 8);
	struct lv_fsrs_state s;
	ck_assert_int_eq(lv_fsrs_init(&p, 0, &s), LV_ERR_INVALID);
	ck_assert_int_eq(lv_fsrs_init(&p, 5, &s), LV_ERR_INVALID);
}
END_TEST

/* The scheduler of ts-fsrs / py-fsrs around the memory model: learning steps
 * [1 min, 10 min], relearning [10 min], each review exactly when due.  Only
 * enough of it to walk V-TS-2; returns the whole days scheduled each time. */
static void walk_scheduler(const struct lv_fsrs_params *p, const int *grades, size_t n, uint32_t *ivl)
{
	enum { NEW, LEARNING, REVIEW, RELEARNING } state = NEW;
	int step = 0;
	struct lv_fsrs_state s;
	uint32_t elapsed = 0; /* whole days since the previous review */
	for (size_t i = 0; i < n; i++) {
		int g = grades[i];
		if (state == NEW) {
			ck_assert_int_eq(lv_fsrs_init(p, g, &s), LV_OK);
			state = LEARNING;
		} else {
			ck_assert_int_eq(lv_fsrs_next(p, &s, elapsed, g, &s), LV_OK);
		}
		bool to_review = false;
		if (state == LEARNING) {
			if (g == 1)
				step = 0;
			else if (g == 4 || (g == 3 && step + 1 == 2))
				to_review = true;
			else if (g == 3)
				step++;
		} else if (state == RELEARNING) {
			if (g == 1)
				step = 0;
			else if (g >= 3)
				to_review = true;
		} else if (g == 1) {
			state = RELEARNING;
			step = 0;
		} else {
			to_review = true;
		}
		if (to_review) {
			state = REVIEW;
			ck_assert_int_eq(lv_fsrs_interval_days(p, s.stability, 0.9, 36500, &ivl[i]), LV_OK);
		} else {
			ivl[i] = 0; /* minutes: same day */
		}
		elapsed = ivl[i];
	}
}

/* V-TS-2 ivl_history (FSRS-6) and its FSRS-5 twin, plus FSRS-5 memory and
 * first-repeat vectors */
START_TEST(vts2_ivl_history)
{
	const int g[13] = {3, 3, 3, 3, 3, 3, 1, 1, 3, 3, 3, 3, 3};
	const uint32_t want6[13] = {0, 2, 11, 46, 163, 498, 0, 0, 2, 4, 7, 12, 21};
	const uint32_t want5[13] = {0, 4, 14, 44, 125, 328, 0, 0, 7, 16, 34, 71, 142};
	uint32_t ivl[13];
	struct lv_fsrs_params p = defaults();
	walk_scheduler(&p, g, 13, ivl);
	for (int i = 0; i < 13; i++)
		ck_assert_msg(ivl[i] == want6[i], "FSRS-6 ivl[%d] = %u, want %u", i, ivl[i], want6[i]);
	p = from(W5, 19);
	walk_scheduler(&p, g, 13, ivl);
	for (int i = 0; i < 13; i++)
		ck_assert_msg(ivl[i] == want5[i], "FSRS-5 ivl[%d] = %u, want %u", i, ivl[i], want5[i]);

	const double ws[] = {0.40255, 1.18385, 3.173, 15.69105}, wd[] = {7.1949, 6.48830527, 5.28243442, 3.22450159};
	for (int k = 1; k <= 4; k++) {
		struct lv_fsrs_state s;
		ck_assert_int_eq(lv_fsrs_init(&p, k, &s), LV_OK);
		near(s.stability, ws[k - 1], TOL_TS, "FSRS-5 S0");
		near(s.difficulty, wd[k - 1], TOL_TS, "FSRS-5 D0");
	}
	uint32_t d;
	ck_assert_int_eq(lv_fsrs_interval_days(&p, 15.69105, 0.9, 36500, &d), LV_OK);
	ck_assert_uint_eq(d, 16);
	const int mg[] = {1, 3, 3, 3, 3, 3};
	const double mt[] = {0, 0, 1, 3, 8, 21};
	struct lv_fsrs_state s = replay(&p, mg, mt, 6);
	near(s.stability, 48.26549438, TOL_TS, "FSRS-5 S short-term");
	near(s.difficulty, 7.10441712, TOL_TS, "FSRS-5 D");
	p.w[17] = p.w[18] = 0.0; /* short-term off */
	s = replay(&p, mg, mt, 6);
	near(s.stability, 48.065163, TOL_TS, "FSRS-5 S long-term");
	near(s.difficulty, 7.10441712, TOL_TS, "FSRS-5 D long-term");
}
END_TEST

/* V-TS-4: R at the due date after a first Easy review */
START_TEST(vts4_retrievability_at_due)
{
	struct lv_fsrs_params p = defaults();
	struct lv_fsrs_state s;
	uint32_t d;
	ck_assert_int_eq(lv_fsrs_init(&p, 4, &s), LV_OK);
	ck_assert_int_eq(lv_fsrs_interval_days(&p, s.stability, 0.9, 36500, &d), LV_OK);
	near(lv_fsrs_retrievability(&p, d, s.stability), 0.9024733, TOL_TS, "R at due");
}
END_TEST

/* DERIVED: one step from (S=5, D=6), short-term on (C and ts-fsrs agree to 1e-7) */
START_TEST(derived_one_step)
{
	static const double rows[12][5] = {
		{0, 1, 1, 1.596818, 8.67045557},
		{0, 2, 1, 5, 7.32984197},
		{0, 3, 1, 5, 5.98922837},
		{0, 4, 1, 8.12960956, 4.64861477},
		{1, 1, 0.97276956, 0.83631146, 8.67045557},
		{1, 2, 0.97276956, 6.63841591, 7.32984197},
		{1, 3, 0.97276956, 7.72433639, 5.98922837},
		{1, 4, 0.97276956, 10.10240963, 4.64861477},
		{21, 1, 0.77743460, 1.15397954, 8.67045557},
		{21, 2, 0.77743460, 19.49272121, 7.32984197},
		{21, 3, 0.77743460, 29.09830597, 5.98922837},
		{21, 4, 0.77743460, 50.13371725, 4.64861477},
	};
	struct lv_fsrs_params p = defaults();
	const struct lv_fsrs_state s = {5.0, 6.0};
	for (int i = 0; i < 12; i++) {
		struct lv_fsrs_state n;
		near(lv_fsrs_retrievability(&p, rows[i][0], s.stability), rows[i][2], 1e-6, "R");
		ck_assert_int_eq(lv_fsrs_next(&p, &s, rows[i][0], (int)rows[i][1], &n), LV_OK);
		near(n.stability, rows[i][3], 1e-6, "S'");
		near(n.difficulty, rows[i][4], 1e-6, "D'");
	}
}
END_TEST

START_TEST(next_rejects_and_clamps)
{
	struct lv_fsrs_params p = defaults();
	struct lv_fsrs_state s = {5, 6}, n = {1, 1};
	ck_assert_int_eq(lv_fsrs_next(&p, &s, -1, 3, &n), LV_ERR_INVALID);
	ck_assert_double_eq(n.stability, 0);
	ck_assert_int_eq(lv_fsrs_next(&p, &s, NAN, 3, &n), LV_ERR_INVALID);
	ck_assert_int_eq(lv_fsrs_next(&p, &s, 1, 0, &s), LV_ERR_INVALID);
	ck_assert_double_eq(s.stability, 5); /* aliased output left alone */
	/* very long success streaks stay at S_MAX; lapses keep D <= 10 */
	s = (struct lv_fsrs_state){30000, 1};
	ck_assert_int_eq(lv_fsrs_next(&p, &s, 30000, 4, &n), LV_OK);
	ck_assert_double_eq(n.stability, LV_FSRS_S_MAX);
	s = (struct lv_fsrs_state){1, 9.99};
	for (int i = 0; i < 20; i++)
		ck_assert_int_eq(lv_fsrs_next(&p, &s, 3, 1, &s), LV_OK);
	ck_assert(s.difficulty <= LV_FSRS_D_MAX && s.difficulty > 9.9);
	ck_assert(s.stability >= LV_FSRS_S_MIN);
	struct lv_fsrs_review r[2] = {{3, 0}, {3, 2}};
	double rp[2];
	ck_assert_int_eq(lv_fsrs_replay(&p, r, 2, &s, rp), LV_OK);
	ck_assert_double_eq(rp[0], 0.0);
	near(rp[1], lv_fsrs_retrievability(&p, 2, W6[2]), 1e-12, "replay R");
	ck_assert_int_eq(lv_fsrs_replay(&p, r, 0, &s, NULL), LV_ERR_INVALID);
}
END_TEST

/* ---- logs and CSV ----------------------------------------------------- */

#define HDR "card_id,review_rating,review_time,review_duration\n"

static enum lv_status parse(const char *text, char err[LV_FSRS_ERR_LEN], struct lv_fsrs_log **log)
{
	return lv_fsrs_log_parse_csv(text, strlen(text), log, err);
}

static void parse_fails(const char *text, enum lv_status want, const char *msg_part)
{
	char err[LV_FSRS_ERR_LEN];
	struct lv_fsrs_log *log = (struct lv_fsrs_log *)1;
	ck_assert_int_eq(parse(text, err, &log), want);
	ck_assert_ptr_null(log);
	ck_assert_msg(strstr(err, msg_part) != NULL, "error \"%s\" lacks \"%s\"", err, msg_part);
}

START_TEST(csv_accepts)
{
	char err[LV_FSRS_ERR_LEN];
	struct lv_fsrs_log *log;
	ck_assert_int_eq(parse(HDR "1,3,2024-03-29T20:32:32.250000+00:00,25060\r\n"
				   "1,1,2024-03-31T20:32:32+00:00,\n"
				   "2,4,2024-04-01T00:00:00Z,0",
			       err, &log),
			 LV_OK);
	ck_assert_uint_eq(lv_fsrs_log_reviews(log), 3);
	ck_assert_uint_eq(lv_fsrs_log_cards(log), 2);
	lv_fsrs_log_destroy(log);
	ck_assert_int_eq(parse(HDR, err, &log), LV_OK);
	ck_assert_uint_eq(lv_fsrs_log_reviews(log), 0);
	lv_fsrs_log_destroy(log);
}
END_TEST

START_TEST(csv_rejects)
{
	parse_fails("", LV_ERR_INVALID, "line 1");
	parse_fails("card_id,rating,review_time,review_duration\n", LV_ERR_INVALID, "line 1: header");
	parse_fails(HDR "1,3,2024-03-29T20:32:32Z\n", LV_ERR_INVALID, "line 2: expected 4 fields");
	parse_fails(HDR "1,3,2024-03-29T20:32:32Z,1,\n", LV_ERR_INVALID, "line 2: more than 4");
	parse_fails(HDR "1,3,2024-03-29T20:32:32Z,1\n1,5,2024-03-29T20:32:32Z,1\n", LV_ERR_INVALID,
		    "line 3: review_rating");
	parse_fails(HDR "1,0,2024-03-29T20:32:32Z,1\n", LV_ERR_INVALID, "line 2: review_rating");
	parse_fails(HDR "-1,3,2024-03-29T20:32:32Z,1\n", LV_ERR_INVALID, "line 2: card_id");
	parse_fails(HDR "9223372036854775808,3,2024-03-29T20:32:32Z,1\n", LV_ERR_INVALID, "line 2: card_id");
	parse_fails(HDR " 1,3,2024-03-29T20:32:32Z,1\n", LV_ERR_INVALID, "line 2: card_id");
	parse_fails(HDR "1,3,2024-03-29 20:32:32Z,1\n", LV_ERR_INVALID, "line 2: review_time");
	parse_fails(HDR "1,3,2024-03-29T20:32:32,1\n", LV_ERR_INVALID, "line 2: review_time");
	parse_fails(HDR "1,3,2024-03-29T20:32:32Z,-5\n", LV_ERR_INVALID, "line 2: review_duration");
	parse_fails(HDR "1,3,2024-03-29T20:32:32Z,1\n\n1,3,2024-03-29T20:32:32Z,1\n", LV_ERR_INVALID,
		    "line 3: empty line");
	parse_fails(HDR "1,3,2024-03-29T20:32:32Z,1\r\r\n", LV_ERR_INVALID, "line 2: stray");
	char big[LV_FSRS_CSV_MAX_LINE + 200];
	snprintf(big, sizeof big, HDR "1,3,2024-03-29T20:32:32Z,%0*d\n", LV_FSRS_CSV_MAX_LINE, 1);
	parse_fails(big, LV_ERR_TOO_LARGE, "line 2: longer than");
	/* the byte cap is checked before anything is read */
	char err[LV_FSRS_ERR_LEN];
	struct lv_fsrs_log *log;
	ck_assert_int_eq(lv_fsrs_log_parse_csv(HDR, (size_t)LV_FSRS_CSV_MAX_BYTES + 1, &log, err), LV_ERR_TOO_LARGE);
	ck_assert_ptr_null(log);
	/* an embedded NUL is not a line terminator */
	const char nul[] = HDR "1,3,2024-03-29T20:32:32Z,1\0\n";
	ck_assert_int_eq(lv_fsrs_log_parse_csv(nul, sizeof nul - 1, &log, err), LV_ERR_INVALID);
}
END_TEST

START_TEST(log_add_and_split)
{
	struct lv_fsrs_log *log;
	int64_t cut;
	ck_assert_int_eq(lv_fsrs_log_create(&log), LV_OK);
	ck_assert_int_eq(lv_fsrs_log_add(log, 1, 0, 0), LV_ERR_INVALID);
	ck_assert_int_eq(lv_fsrs_log_add(log, 1, 3, INT64_MAX), LV_ERR_INVALID);
	ck_assert_int_eq(lv_fsrs_log_add(log, UINT64_MAX, 3, 0), LV_ERR_INVALID);
	ck_assert_uint_eq(lv_fsrs_log_reviews(log), 0);
	ck_assert_int_eq(lv_fsrs_log_split_time(log, 0.8, &cut), LV_ERR_NOT_FOUND);
	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(lv_fsrs_log_add(log, (uint64_t)(i % 3), 3, (int64_t)(9 - i) * 1000), LV_OK);
	ck_assert_uint_eq(lv_fsrs_log_reviews(log), 10);
	ck_assert_uint_eq(lv_fsrs_log_cards(log), 3);
	/* times 0..9 s: 8 reviews before 8 s */
	ck_assert_int_eq(lv_fsrs_log_split_time(log, 0.8, &cut), LV_OK);
	ck_assert_int_eq(cut, 8000);
	ck_assert_int_eq(lv_fsrs_log_split_time(log, 0.75, &cut), LV_OK);
	ck_assert_int_eq(cut, 8000);
	ck_assert_int_eq(lv_fsrs_log_split_time(log, 1.0, &cut), LV_ERR_INVALID);
	ck_assert_int_eq(lv_fsrs_log_split_time(log, 0.95, &cut), LV_ERR_NOT_FOUND);
	lv_fsrs_log_destroy(log);
}
END_TEST

/* ---- evaluation ------------------------------------------------------- */

#define DAY 86400000LL
#define HOUR 3600000LL

/* Two cards whose predictions are worked out by hand from the model. */
START_TEST(evaluate_by_hand)
{
	struct lv_fsrs_log *lg;
	struct lv_fsrs_params p = defaults();
	struct lv_fsrs_eval_opts o;
	struct lv_fsrs_metrics m;
	lv_fsrs_eval_opts_default(&o);
	ck_assert_int_eq(lv_fsrs_log_create(&lg), LV_OK);
	int64_t t0 = 1700000000000LL;
	/* card 7: Good; 23 h later Good (same day: not scored); 3 days later
	 * Again (scored, t = 3); 1 day later Good (scored, t = 1) */
	ck_assert_int_eq(lv_fsrs_log_add(lg, 7, 3, t0 + 23 * HOUR), LV_OK); /* added out of order */
	ck_assert_int_eq(lv_fsrs_log_add(lg, 7, 3, t0), LV_OK);
	ck_assert_int_eq(lv_fsrs_log_add(lg, 7, 1, t0 + 23 * HOUR + 3 * DAY + HOUR), LV_OK);
	ck_assert_int_eq(lv_fsrs_log_add(lg, 7, 3, t0 + 23 * HOUR + 4 * DAY + 2 * HOUR), LV_OK);
	/* card 2: Again; 2.5 days later Good (scored, t = 2) */
	ck_assert_int_eq(lv_fsrs_log_add(lg, 2, 1, t0), LV_OK);
	ck_assert_int_eq(lv_fsrs_log_add(lg, 2, 3, t0 + 60 * HOUR), LV_OK);

	struct lv_fsrs_review c7[] = {{3, 0}, {3, 0}, {1, 3}, {3, 1}}, c2[] = {{1, 0}, {3, 2}};
	double r7[4], r2[2];
	struct lv_fsrs_state s;
	ck_assert_int_eq(lv_fsrs_replay(&p, c7, 4, &s, r7), LV_OK);
	ck_assert_int_eq(lv_fsrs_replay(&p, c2, 2, &s, r2), LV_OK);
	double want = (-log(1 - r7[2]) - log(r7[3]) - log(r2[1])) / 3;
	ck_assert_int_eq(lv_fsrs_evaluate(lg, &p, &o, &m), LV_OK);
	ck_assert_uint_eq(m.n, 3);
	near(m.log_loss, want, 1e-12, "lg loss");
	/* AUC: the one miss (r7[2]) against the two recalls */
	double auc = ((r7[2] < r7[3]) + (r7[2] < r2[1])) / 2.0;
	near(m.auc, auc, 1e-12, "auc");
	/* bins (dt, count, lapses): r7[2] has dt 3, 1 long-term review so far
	 * -> count 2, no lapse; r2[1] dt 2, count 2, no lapse; r7[3] dt 1,
	 * count 3, one lapse.  dt 1..3 share the bin 248 and counts 2..3 the
	 * bin 4 (1.99·1.89 rounded); lapse 1 is bin 2.  So r7[2] and r2[1] form
	 * one bin and r7[3] another. */
	double e1 = r7[2] - 0, e2 = r7[3] - 1, e3 = r2[1] - 1;
	double g1 = (e1 + e3) / 2;
	double rmse = sqrt((2 * g1 * g1 + e2 * e2) / 3);
	near(m.rmse_bins, rmse, 1e-12, "rmse_bins");

	/* calendar days starting at midnight UTC: card 7's second review (23 h
	 * after the first) is scored exactly when a midnight falls between */
	o.days = LV_FSRS_DAYS_CALENDAR;
	o.day_start_hour = 0;
	ck_assert_int_eq(lv_fsrs_evaluate(lg, &p, &o, &m), LV_OK);
	int64_t d0 = t0 / DAY, d1 = (t0 + 23 * HOUR) / DAY;
	ck_assert_uint_eq(m.n, d0 != d1 ? 4 : 3);

	/* a time window: score only what happens from day 4 on */
	lv_fsrs_eval_opts_default(&o);
	o.score_from_ms = t0 + 23 * HOUR + 4 * DAY;
	ck_assert_int_eq(lv_fsrs_evaluate(lg, &p, &o, &m), LV_OK);
	ck_assert_uint_eq(m.n, 1);
	near(m.log_loss, -log(r7[3]), 1e-12, "windowed loss");
	ck_assert(isnan(m.auc));
	/* until: later reviews do not exist at all */
	lv_fsrs_eval_opts_default(&o);
	o.until_ms = t0 + 2 * DAY;
	ck_assert_int_eq(lv_fsrs_evaluate(lg, &p, &o, &m), LV_ERR_NOT_FOUND);
	ck_assert_uint_eq(m.n, 0);
	/* max_seq_len 2: card 7 keeps its first two (unscored), card 2 both */
	lv_fsrs_eval_opts_default(&o);
	o.max_seq_len = 2;
	ck_assert_int_eq(lv_fsrs_evaluate(lg, &p, &o, &m), LV_OK);
	ck_assert_uint_eq(m.n, 1);
	p.w[20] = 5;
	ck_assert_int_eq(lv_fsrs_evaluate(lg, &p, &o, &m), LV_ERR_INVALID);
	lv_fsrs_log_destroy(lg);
}
END_TEST

/* ---- optimiser -------------------------------------------------------- */

static uint64_t rng_state;
static double urand(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return (double)((z ^ (z >> 31)) >> 11) / 9007199254740992.0;
}

/* Parameters that differ clearly from the defaults, inside the bounds. */
static struct lv_fsrs_params truth(void)
{
	struct lv_fsrs_params p = defaults();
	p.w[0] = 0.8;
	p.w[2] = 4.0;
	p.w[8] = 1.4;
	p.w[10] = 1.2;
	p.w[11] = 0.9;
	p.w[20] = 0.45;
	return p;
}

/* A learner simulated from @p: reviews scheduled at a random retention
 * with jitter, recall drawn from the model's R, grades mostly Good/Again,
 * and a same-day relearning review after most lapses. */
static struct lv_fsrs_log *synth(const struct lv_fsrs_params *p, uint64_t seed, int cards, int reviews)
{
	struct lv_fsrs_log *log;
	rng_state = seed;
	ck_assert_int_eq(lv_fsrs_log_create(&log), LV_OK);
	for (int c = 0; c < cards; c++) {
		int64_t t = 1700000000000LL + (int64_t)(urand() * 30) * DAY;
		int g = urand() < 0.3 ? 1 : 3;
		struct lv_fsrs_state s;
		ck_assert_int_eq(lv_fsrs_init(p, g, &s), LV_OK);
		ck_assert_int_eq(lv_fsrs_log_add(log, (uint64_t)c, g, t), LV_OK);
		for (int i = 1; i < reviews; i++) {
			double days;
			ck_assert_int_eq(lv_fsrs_interval(p, s.stability, 0.6 + 0.35 * urand(), &days), LV_OK);
			uint32_t d = (uint32_t)fmax(1.0, round(days * (0.5 + urand())));
			if (d > 3650)
				d = 3650;
			t += (int64_t)d * DAY + (int64_t)(urand() * 4 * HOUR);
			bool ok = urand() < lv_fsrs_retrievability(p, d, s.stability);
			double u = urand();
			g = !ok ? 1 : u < 0.08 ? 2 : u < 0.9 ? 3 : 4;
			ck_assert_int_eq(lv_fsrs_next(p, &s, d, g, &s), LV_OK);
			ck_assert_int_eq(lv_fsrs_log_add(log, (uint64_t)c, g, t), LV_OK);
			if (g == 1 && urand() < 0.7) {
				t += 10 * 60000;
				ck_assert_int_eq(lv_fsrs_next(p, &s, 0, 3, &s), LV_OK);
				ck_assert_int_eq(lv_fsrs_log_add(log, (uint64_t)c, 3, t), LV_OK);
			}
		}
	}
	return log;
}

/* The forward-mode gradient against central differences of the loss. */
START_TEST(gradient_matches_finite_differences)
{
	struct lv_fsrs_params tp = truth(), p = defaults();
	struct lv_fsrs_log *log = synth(&tp, 11, 60, 8);
	struct lv_fsrs_eval_opts o;
	struct fsrs_view v;
	double g[LV_FSRS_NPARAMS];
	lv_fsrs_eval_opts_default(&o);
	ck_assert_int_eq(fsrs_view_build(log, &o, &v), LV_OK);
	ck_assert_uint_gt(v.nscored, 100);
	p.w[7] = 0.05; /* off its lower bound so that both sides are in range */
	double l = fsrs_view_loss_grad(&v, &p, g);
	near(l, fsrs_view_loss(&v, &p), 1e-12, "dual value = plain value");
	int nonzero = 0;
	for (int i = 0; i < LV_FSRS_NPARAMS; i++) {
		struct lv_fsrs_params a = p, b = p;
		double h = 1e-6 * fmax(1.0, fabs(p.w[i]));
		a.w[i] += h;
		b.w[i] -= h;
		double fd = (fsrs_view_loss(&v, &a) - fsrs_view_loss(&v, &b)) / (2 * h);
		ck_assert_msg(fabs(fd - g[i]) <= 1e-5 + 1e-4 * fabs(fd), "w%d: forward-mode %.9g, differences %.9g", i,
			      g[i], fd);
		nonzero += fabs(g[i]) > 1e-6;
	}
	/* most parameters matter on this log (w1 only through Hard first
	 * ratings, which synth() never makes) */
	ck_assert_int_ge(nonzero, 17);
	fsrs_view_free(&v);
	lv_fsrs_log_destroy(log);
}
END_TEST

START_TEST(optimizer_learns_synthetic_learner)
{
	struct lv_fsrs_params tp = truth(), def = defaults(), fit, fit2;
	struct lv_fsrs_log *train = synth(&tp, 1, 600, 15), *test = synth(&tp, 2, 300, 15);
	struct lv_fsrs_opt_config cfg;
	struct lv_fsrs_opt_report rep;
	struct lv_fsrs_metrics m_true, m_def, m_fit;
	lv_fsrs_opt_config_default(&cfg);
	ck_assert_int_eq(lv_fsrs_optimize(train, &cfg, &fit, &rep), LV_OK);
	ck_assert(!rep.kept_defaults);
	ck_assert_uint_gt(rep.n, 2000);
	ck_assert_uint_eq(rep.steps, cfg.epochs * ((rep.n + 511) / 512));
	ck_assert(rep.best_epoch >= 1 && rep.best_epoch <= 5);
	ck_assert_msg(rep.loss_fitted < rep.loss_default - 0.005, "training loss %.5f -> %.5f", rep.loss_default,
		      rep.loss_fitted);
	ck_assert_int_eq(lv_fsrs_params_check(&fit), LV_OK);
	/* held-out learner: the fit closes most of the gap to the truth */
	ck_assert_int_eq(lv_fsrs_evaluate(test, &tp, &cfg.data, &m_true), LV_OK);
	ck_assert_int_eq(lv_fsrs_evaluate(test, &def, &cfg.data, &m_def), LV_OK);
	ck_assert_int_eq(lv_fsrs_evaluate(test, &fit, &cfg.data, &m_fit), LV_OK);
	ck_assert_msg(m_fit.log_loss - m_true.log_loss < 0.5 * (m_def.log_loss - m_true.log_loss),
		      "held-out loss: truth %.5f default %.5f fitted %.5f", m_true.log_loss, m_def.log_loss,
		      m_fit.log_loss);
	ck_assert(m_fit.rmse_bins < m_def.rmse_bins);
	/* the decay went most of the way from 0.1542 to the truth, 0.45 */
	ck_assert_msg(fit.w[20] > 0.35 && fit.w[20] < 0.55, "w20 = %.4f", fit.w[20]);
	/* deterministic */
	ck_assert_int_eq(lv_fsrs_optimize(train, &cfg, &fit2, NULL), LV_OK);
	ck_assert_mem_eq(&fit, &fit2, sizeof fit);
	/* the pull toward the defaults: a huge gamma keeps them */
	cfg.gamma = 1e6;
	ck_assert_int_eq(lv_fsrs_optimize(train, &cfg, &fit2, NULL), LV_OK);
	for (int i = 0; i < LV_FSRS_NPARAMS; i++)
		ck_assert_msg(fabs(fit2.w[i] - def.w[i]) < 0.02 * fmax(1.0, def.w[i]), "w%d moved to %.4f", i,
			      fit2.w[i]);
	lv_fsrs_log_destroy(train);
	lv_fsrs_log_destroy(test);
}
END_TEST

START_TEST(optimizer_short_history_and_config)
{
	struct lv_fsrs_params tp = truth(), fit;
	struct lv_fsrs_log *log = synth(&tp, 3, 20, 6);
	struct lv_fsrs_opt_config cfg;
	struct lv_fsrs_opt_report rep;
	lv_fsrs_opt_config_default(&cfg);
	ck_assert_int_eq(lv_fsrs_optimize(log, &cfg, &fit, &rep), LV_OK);
	ck_assert(rep.kept_defaults);
	ck_assert_uint_lt(rep.n, 512);
	ck_assert_uint_eq(rep.steps, 0);
	ck_assert_double_eq(fit.w[20], W6[20]);
	cfg.batch_size = 0;
	ck_assert_int_eq(lv_fsrs_optimize(log, &cfg, &fit, &rep), LV_ERR_INVALID);
	lv_fsrs_opt_config_default(&cfg);
	cfg.learning_rate = NAN;
	ck_assert_int_eq(lv_fsrs_optimize(log, &cfg, &fit, &rep), LV_ERR_INVALID);
	lv_fsrs_log_destroy(log);
}
END_TEST

/* ---- the shared review log and the CLI -------------------------------- */

static const char *shared_log(void)
{
	const char *path =
		th_src("../shared/data/fsrs-revlog/review_logs_josh_1711744352250_to_1728234780857.csv");
	return access(path, R_OK) == 0 ? path : NULL;
}

/* Runs the binary with @args; returns its exit status, its stdout in *out
 * and its stderr in *err (both free()d by the caller). */
static int run(const char *args, char **out, char **err)
{
	char cmd[2048], errf[] = "/tmp/lvtest-fsrs-XXXXXX";
	int fd = mkstemp(errf);
	ck_assert_int_ge(fd, 0);
	close(fd);
	snprintf(cmd, sizeof cmd, "'%s' %s 2>'%s'", th_bin(), args, errf);
	FILE *f = popen(cmd, "r");
	ck_assert_ptr_nonnull(f);
	struct buf b;
	buf_init(&b, 1 << 20);
	char chunk[4096];
	size_t k;
	while ((k = fread(chunk, 1, sizeof chunk, f)) > 0)
		ck_assert_int_eq(buf_append(&b, chunk, k), LV_OK);
	int st = pclose(f);
	size_t elen;
	if (util_read_file(errf, 1 << 16, err, &elen) != LV_OK)
		*err = strdup("");
	unlink(errf);
	*out = b.data ? buf_steal(&b) : strdup("");
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static double num(const cJSON *o, const char *path)
{
	char tmp[128];
	snprintf(tmp, sizeof tmp, "%s", path);
	const cJSON *x = o;
	for (char *save = NULL, *k = strtok_r(tmp, ".", &save); k; k = strtok_r(NULL, ".", &save))
		x = cJSON_GetObjectItemCaseSensitive(x, k);
	ck_assert_msg(cJSON_IsNumber(x), "%s missing", path);
	return x->valuedouble;
}

/* Library level: py-fsrs semantics reproduce the published numbers. */
START_TEST(shared_log_library)
{
	const char *path = shared_log();
	if (!path) {
		th_skip("../shared/data/fsrs-revlog not found beside the repository");
		return;
	}
	char *text, err[LV_FSRS_ERR_LEN];
	size_t len;
	struct lv_fsrs_log *log;
	ck_assert_int_eq(util_read_file(path, LV_FSRS_CSV_MAX_BYTES, &text, &len), LV_OK);
	ck_assert_msg(lv_fsrs_log_parse_csv(text, len, &log, err) == LV_OK, "%s", err);
	free(text);
	ck_assert_uint_eq(lv_fsrs_log_reviews(log), 12580);
	ck_assert_uint_eq(lv_fsrs_log_cards(log), 1205);
	struct lv_fsrs_params p = defaults();
	struct lv_fsrs_eval_opts o;
	struct lv_fsrs_metrics m;
	lv_fsrs_eval_opts_default(&o);
	ck_assert_int_eq(lv_fsrs_evaluate(log, &p, &o, &m), LV_OK);
	ck_assert_uint_eq(m.n, 5329);
	near(m.log_loss, 0.458662, 1e-6, "default log loss");
	p = from(TEST_OPTIMAL, 21);
	ck_assert_int_eq(lv_fsrs_evaluate(log, &p, &o, &m), LV_OK);
	near(m.log_loss, 0.438675, 1e-6, "TEST_OPTIMAL log loss");
	lv_fsrs_log_destroy(log);
}
END_TEST

START_TEST(cli_eval_fsrs)
{
	const char *path = shared_log();
	if (!path) {
		th_skip("../shared/data/fsrs-revlog not found beside the repository");
		return;
	}
	char args[1200], *out, *err;
	snprintf(args, sizeof args, "eval fsrs --revlog '%s' --optimize", path);
	ck_assert_msg(run(args, &out, &err) == 0, "learnvault failed: %s", err);
	free(err);
	cJSON *j = cJSON_Parse(out);
	ck_assert_msg(j != NULL, "not JSON: %s", out);
	free(out);
	ck_assert_double_eq(num(j, "n"), 5329);
	near(num(j, "default.log_loss"), 0.4587, 0.001, "default log loss");
	ck_assert_double_le(num(j, "optimized.log_loss"), 0.4387);
	ck_assert_double_eq(num(j, "log_loss"), num(j, "optimized.log_loss"));
	ck_assert_double_lt(num(j, "optimized.rmse_bins"), num(j, "default.rmse_bins"));
	ck_assert(num(j, "auc") > 0.5 && num(j, "auc") < 1.0);
	/* time split: both scored on the same later 20 %, fitted on the rest */
	ck_assert_double_eq(num(j, "split.default.n"), num(j, "split.optimized.n"));
	ck_assert_double_gt(num(j, "split.optimized.train_n"), 0);
	ck_assert_double_lt(num(j, "split.optimized.train_n") + num(j, "split.optimized.n"), 5329 + 1);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "params")), 21);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "first_intervals")), 4);
	cJSON_Delete(j);

	snprintf(args, sizeof args, "eval fsrs --revlog '%s' --retention 0.8", path);
	ck_assert_msg(run(args, &out, &err) == 0, "learnvault failed: %s", err);
	free(err);
	j = cJSON_Parse(out);
	free(out);
	ck_assert_ptr_nonnull(j);
	near(num(j, "log_loss"), 0.458662, 1e-6, "default-only log loss");
	ck_assert_ptr_null(cJSON_GetObjectItem(j, "optimized"));
	/* Easy first: S0 = 8.2956 at retention 0.8 */
	double ivl;
	struct lv_fsrs_params p = defaults();
	ck_assert_int_eq(lv_fsrs_interval(&p, 8.2956, 0.8, &ivl), LV_OK);
	ck_assert_double_eq(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "first_intervals"), 3)->valuedouble,
			    round(ivl));
	cJSON_Delete(j);
}
END_TEST

START_TEST(cli_errors)
{
	char dir[512], file[600], args[800], *out, *err;
	snprintf(dir, sizeof dir, "%s", th_tmpdir());
	snprintf(file, sizeof file, "%s/bad.csv", dir);
	const char bad[] = HDR "1,3,2024-03-29T20:32:32Z,1\n1,7,2024-03-30T20:32:32Z,1\n";
	ck_assert_int_eq(util_write_file(file, bad, sizeof bad - 1, 0600, false), LV_OK);
	snprintf(args, sizeof args, "eval fsrs --revlog '%s'", file);
	ck_assert_int_ne(run(args, &out, &err), 0);
	ck_assert_msg(strstr(err, "line 3: review_rating") != NULL, "got: %s", err);
	ck_assert_str_eq(out, "");
	free(out);
	free(err);
	snprintf(args, sizeof args, "eval fsrs --revlog '%s/none.csv'", dir);
	ck_assert_int_ne(run(args, &out, &err), 0);
	ck_assert_msg(strstr(err, "cannot read") != NULL, "got: %s", err);
	free(out);
	free(err);
	snprintf(args, sizeof args, "eval fsrs --revlog '%s' --retention 1.5", file);
	ck_assert_int_ne(run(args, &out, &err), 0);
	ck_assert_msg(strstr(err, "--retention") != NULL, "got: %s", err);
	free(out);
	free(err);
	/* parses, but no card has a review on a later day */
	const char one[] = HDR "1,3,2024-03-29T20:32:32Z,1\n1,3,2024-03-29T21:32:32Z,1\n";
	ck_assert_int_eq(util_write_file(file, one, sizeof one - 1, 0600, false), LV_OK);
	snprintf(args, sizeof args, "eval fsrs --revlog '%s'", file);
	ck_assert_int_ne(run(args, &out, &err), 0);
	ck_assert_msg(strstr(err, "no review to predict") != NULL, "got: %s", err);
	free(out);
	free(err);
	th_rmtree(dir);
}
END_TEST

Suite *lv_test_suite(void)
{
	Suite *s = suite_create("fsrs");
	TCase *tc = tcase_create("vectors");
	tcase_add_test(tc, vectors_file_params);
	tcase_add_test(tc, default_params);
	tcase_add_test(tc, vrs1_forgetting_curve);
	tcase_add_test(tc, vrs2_difficulty);
	tcase_add_test(tc, vrs3_stability);
	tcase_add_test(tc, vrs4_convert);
	tcase_add_test(tc, vrs5_memory_state);
	tcase_add_test(tc, vrs6_interval);
	tcase_add_test(tc, vrs7_vrs8_p19);
	tcase_add_test(tc, vts1_first_repeat);
	tcase_add_test(tc, vts2_ivl_history);
	tcase_add_test(tc, vts4_retrievability_at_due);
	tcase_add_test(tc, derived_one_step);
	tcase_add_test(tc, next_rejects_and_clamps);
	suite_add_tcase(s, tc);
	tc = tcase_create("log");
	tcase_add_test(tc, csv_accepts);
	tcase_add_test(tc, csv_rejects);
	tcase_add_test(tc, log_add_and_split);
	suite_add_tcase(s, tc);
	tc = tcase_create("evaluate");
	tcase_add_test(tc, evaluate_by_hand);
	tcase_add_test(tc, shared_log_library);
	suite_add_tcase(s, tc);
	tc = tcase_create("optimize");
	tcase_add_test(tc, gradient_matches_finite_differences);
	tcase_add_test(tc, optimizer_learns_synthetic_learner);
	tcase_add_test(tc, optimizer_short_history_and_config);
	suite_add_tcase(s, tc);
	tc = tcase_create("cli");
	tcase_add_test(tc, cli_eval_fsrs);
	tcase_add_test(tc, cli_errors);
	suite_add_tcase(s, tc);
	return s;
}
