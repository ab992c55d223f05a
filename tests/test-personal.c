/* BKT, Elo and the knowledge-tracing evaluation harness. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cjson/cJSON.h>

#include "harness.h"
#include "learnvault/personal.h"
#include "learnvault/util.h"

#define ck_near(a, b, tol)                                                                              \
	do {                                                                                           \
		double a_ = (a), b_ = (b);                                                             \
		ck_assert_msg(fabs(a_ - b_) <= (tol), "%s = %.12g, expected %.12g (tol %g)", #a, a_, b_, \
			      (double)(tol));                                                          \
	} while (0)

/* ---- BKT filter: tests/vectors/fsrs-bkt-elo.txt "DERIVED: BKT forward filter" ---- */

static const struct lv_bkt_params VEC = {.prior = 0.1, .learn = 0.3, .guess = 0.1, .slip = 0.03, .forget = 0.01};
static const uint8_t VEC_OBS[7] = {1, 0, 1, 0, 1, 1, 1};

START_TEST(bkt_filter_vector)
{
	static const double want[7][3] = {
		{0.1000000000, 0.1870000000, 0.5187165775}, {0.6579144385, 0.6723855615, 0.0602459197},
		{0.3415696846, 0.3971656256, 0.8342176984}, {0.8756102119, 0.8617808843, 0.1900482884},
		{0.4311333190, 0.4750859875, 0.8802602695}, {0.9073795860, 0.8894202398, 0.9895864283},
		{0.9828146356, 0.9550487329, 0.9982005772},
	};
	struct lv_bkt_trace_row rows[7];
	double next, ll;
	ck_assert_int_eq(lv_bkt_trace(&VEC, VEC_OBS, 7, rows, &next, &ll), LV_OK);
	/* The vectors are printed with 10 decimals (two implementations
	 * agree to 1e-10). */
	for (int t = 0; t < 7; t++) {
		ck_near(rows[t].known, want[t][0], 1e-9);
		ck_near(rows[t].p_correct, want[t][1], 1e-9);
		ck_near(rows[t].posterior, want[t][2], 1e-9);
	}
	ck_near(next, 0.9887583983, 1e-9);
	ck_near(ll, -6.6023192872, 1e-9);
	ck_assert(next >= LV_BKT_MASTERY);

	/* The single-step API gives the same numbers. */
	double known = VEC.prior, post;
	for (int t = 0; t < 7; t++) {
		ck_near(lv_bkt_p_correct(&VEC, known), want[t][1], 1e-9);
		known = lv_bkt_step(&VEC, known, VEC_OBS[t], &post);
		ck_near(post, want[t][2], 1e-9);
	}
	/* The E-step's forward pass has the same likelihood. */
	struct lv_bkt_counts c;
	ck_assert_int_eq(lv_bkt_estep(&VEC, VEC_OBS, 7, 0, &c), LV_OK);
	ck_near(c.loglik, -6.6023192872, 1e-9);
}
END_TEST

START_TEST(bkt_rejects_bad_input)
{
	uint8_t bad[3] = {1, 2, 0};
	double next = 5;
	ck_assert_int_eq(lv_bkt_trace(&VEC, bad, 3, NULL, &next, NULL), LV_ERR_INVALID);
	ck_assert(next == 0.0);
	struct lv_bkt_params p = VEC;
	p.guess = 0.6;
	p.slip = 0.5; /* guess + slip >= 1 */
	ck_assert(!lv_bkt_params_valid(&p));
	ck_assert_int_eq(lv_bkt_trace(&p, VEC_OBS, 7, NULL, NULL, NULL), LV_ERR_INVALID);
	p = VEC;
	p.prior = NAN;
	ck_assert(!lv_bkt_params_valid(&p));
	struct lv_bkt_counts c;
	ck_assert_int_eq(lv_bkt_estep(&VEC, bad, 3, 0, &c), LV_ERR_INVALID);
	ck_assert_int_eq(lv_bkt_estep(&VEC, bad, 3, 1, &c), LV_OK); /* the cap excludes the 2 */
	ck_assert(c.responses == 1.0);
}
END_TEST

/* Expected counts by brute force over all 2^T hidden paths. */
static void brute_counts(const struct lv_bkt_params *p, const uint8_t *o, int T, struct lv_bkt_counts *c)
{
	memset(c, 0, sizeof *c);
	double total = 0.0;
	struct lv_bkt_counts acc = {0};
	for (unsigned h = 0; h < (1u << T); h++) {
		double pr = 1.0;
		for (int t = 0; t < T; t++) {
			int s = (h >> t) & 1;
			if (t == 0)
				pr *= s ? p->prior : 1.0 - p->prior;
			else {
				int q = (h >> (t - 1)) & 1;
				pr *= q ? (s ? 1.0 - p->forget : p->forget) : (s ? p->learn : 1.0 - p->learn);
			}
			double pc = s ? 1.0 - p->slip : p->guess;
			pr *= o[t] ? pc : 1.0 - pc;
		}
		total += pr;
		acc.known0 += pr * (h & 1);
		for (int t = 0; t < T; t++) {
			int s = (h >> t) & 1;
			acc.unknown_obs += pr * !s;
			acc.known_obs += pr * s;
			acc.unknown_correct += pr * (!s && o[t]);
			acc.known_wrong += pr * (s && !o[t]);
			if (t + 1 < T) {
				int s2 = (h >> (t + 1)) & 1;
				acc.unknown_trans += pr * !s;
				acc.known_trans += pr * s;
				acc.learned += pr * (!s && s2);
				acc.forgot += pr * (s && !s2);
			}
		}
	}
	c->sequences = 1;
	c->responses = T;
	c->loglik = log(total);
	c->known0 = acc.known0 / total;
	c->unknown_obs = acc.unknown_obs / total;
	c->known_obs = acc.known_obs / total;
	c->unknown_correct = acc.unknown_correct / total;
	c->known_wrong = acc.known_wrong / total;
	c->unknown_trans = acc.unknown_trans / total;
	c->known_trans = acc.known_trans / total;
	c->learned = acc.learned / total;
	c->forgot = acc.forgot / total;
}

START_TEST(bkt_estep_matches_brute_force)
{
	const uint8_t o[8] = {0, 1, 0, 0, 1, 1, 0, 1};
	struct lv_bkt_params ps[2] = {VEC, {.prior = 0.45, .learn = 0.12, .guess = 0.3, .slip = 0.2, .forget = 0.07}};
	for (int k = 0; k < 2; k++) {
		for (int T = 1; T <= 8; T++) {
			struct lv_bkt_counts c, b;
			ck_assert_int_eq(lv_bkt_estep(&ps[k], o, (size_t)T, 0, &c), LV_OK);
			brute_counts(&ps[k], o, T, &b);
			const double *x = &c.sequences, *y = &b.sequences;
			for (size_t f = 0; f < sizeof c / sizeof(double); f++)
				ck_assert_msg(fabs(x[f] - y[f]) < 1e-12, "T=%d field %zu: %.15g vs %.15g", T, f, x[f],
					      y[f]);
		}
	}
	/* max_len bounds a learner's contribution: the counts are those of
	 * the prefix, every field at most max_len. */
	struct lv_bkt_counts c, pre;
	ck_assert_int_eq(lv_bkt_estep(&ps[1], o, 8, 5, &c), LV_OK);
	ck_assert_int_eq(lv_bkt_estep(&ps[1], o, 5, 0, &pre), LV_OK);
	ck_assert(memcmp(&c, &pre, sizeof c) == 0);
	ck_assert(c.sequences == 1.0 && c.known0 <= 1.0 && c.responses == 5.0);
	ck_assert(c.unknown_obs + c.known_obs <= 5.0 + 1e-12);
	ck_assert(c.unknown_trans + c.known_trans <= 4.0 + 1e-12);
}
END_TEST

/* Synthetic sequences: @n learners x @len responses on one skill. */
static uint8_t *synth_seqs(const struct lv_bkt_params *p, size_t n, size_t len, uint64_t seed, struct lv_bkt_seq *seqs)
{
	uint8_t *obs = malloc(n * len);
	uint64_t s = seed;
	for (size_t i = 0; i < n; i++) {
		/* a small LCG is enough for the test's own data */
		s = s * 6364136223846793005ull + 1442695040888963407ull;
		bool known = (double)(s >> 11) * 0x1.0p-53 < p->prior;
		for (size_t t = 0; t < len; t++) {
			s = s * 6364136223846793005ull + 1442695040888963407ull;
			double u = (double)(s >> 11) * 0x1.0p-53;
			obs[i * len + t] = known ? u >= p->slip : u < p->guess;
			s = s * 6364136223846793005ull + 1442695040888963407ull;
			double v = (double)(s >> 11) * 0x1.0p-53;
			known = known ? v >= p->forget : v < p->learn;
		}
		seqs[i] = (struct lv_bkt_seq){.obs = obs + i * len, .len = len, .weight = 1.0};
	}
	return obs;
}

START_TEST(bkt_em_equals_estep_sum_plus_mstep)
{
	const struct lv_bkt_params truth = {.prior = 0.3, .learn = 0.2, .guess = 0.15, .slip = 0.1, .forget = 0.0};
	struct lv_bkt_seq seqs[200];
	uint8_t *obs = synth_seqs(&truth, 200, 12, 7, seqs);
	const struct lv_bkt_params start = {.prior = 0.5, .learn = 0.1, .guess = 0.3, .slip = 0.2, .forget = 0.0};
	struct lv_bkt_fit_opts o;
	lv_bkt_fit_opts_init(&o);
	o.restarts = 1;
	o.start = &start;

	/* By hand: per-learner E-steps, summed, M-step on the sums. */
	struct lv_bkt_params p = start;
	double prev = 0;
	unsigned it = 0;
	while (it < o.max_iter) {
		struct lv_bkt_counts sum = {0}, c;
		for (int i = 0; i < 200; i++) {
			ck_assert_int_eq(lv_bkt_estep(&p, seqs[i].obs, seqs[i].len, 0, &c), LV_OK);
			lv_bkt_counts_add(&sum, &c);
		}
		lv_bkt_mstep(&sum, false, &p, &p);
		it++;
		if (it > 1 && fabs(sum.loglik - prev) <= o.tol)
			break;
		prev = sum.loglik;
	}
	struct lv_bkt_params fit;
	struct lv_bkt_fit_info info;
	ck_assert_int_eq(lv_bkt_fit(seqs, 200, &o, &fit, &info), LV_OK);
	ck_assert_uint_eq(info.iterations, it);
	ck_assert_uint_gt(it, 2);
	ck_near(fit.prior, p.prior, 1e-9);
	ck_near(fit.learn, p.learn, 1e-9);
	ck_near(fit.guess, p.guess, 1e-9);
	ck_near(fit.slip, p.slip, 1e-9);
	ck_assert(fit.forget == 0.0);

	/* Weights are multiplicities: one sequence with weight 2 fits like
	 * the same sequence given twice. */
	struct lv_bkt_seq two[2] = {seqs[0], seqs[0]}, one = seqs[0];
	one.weight = 2.0;
	struct lv_bkt_params a, b;
	ck_assert_int_eq(lv_bkt_fit(two, 2, &o, &a, NULL), LV_OK);
	ck_assert_int_eq(lv_bkt_fit(&one, 1, &o, &b, NULL), LV_OK);
	ck_near(a.prior, b.prior, 1e-12);
	ck_near(a.learn, b.learn, 1e-12);
	ck_near(a.slip, b.slip, 1e-12);

	/* Deterministic for a seed; restarts explore. */
	o.start = NULL;
	o.restarts = 5;
	ck_assert_int_eq(lv_bkt_fit(seqs, 200, &o, &a, &info), LV_OK);
	ck_assert_int_eq(lv_bkt_fit(seqs, 200, &o, &b, NULL), LV_OK);
	ck_assert(memcmp(&a, &b, sizeof a) == 0);
	ck_assert(a.guess <= LV_BKT_GS_MAX && a.slip <= LV_BKT_GS_MAX);

	struct lv_bkt_seq none = {.obs = NULL, .len = 0, .weight = 1};
	ck_assert_int_eq(lv_bkt_fit(&none, 1, &o, &a, NULL), LV_ERR_INVALID);
	o.restarts = 0;
	ck_assert_int_eq(lv_bkt_fit(seqs, 200, &o, &a, NULL), LV_ERR_INVALID);
	free(obs);
}
END_TEST

START_TEST(bkt_em_recovers_synthetic)
{
	/* 1,000 learners x 20 responses on each of 3 skills, truth as in
	 * the vectors file's recovery example; every skill's fit must land
	 * within 0.05 of the truth. */
	const struct lv_bkt_params truth = {.prior = 0.2, .learn = 0.15, .guess = 0.2, .slip = 0.1, .forget = 0.0};
	struct lv_kt_data *d = NULL;
	ck_assert_int_eq(lv_kt_synth_bkt(&truth, 1000, 3, 20, 2024, &d), LV_OK);
	ck_assert_uint_eq(lv_kt_data_rows(d), 60000);
	ck_assert_uint_eq(lv_kt_data_skills(d), 3);
	struct lv_bkt_fit_opts o;
	lv_bkt_fit_opts_init(&o);
	o.threads = 2;
	struct lv_bkt_paramset *ps = NULL;
	ck_assert_int_eq(lv_bkt_fit_data(d, &o, &ps), LV_OK);
	ck_assert_uint_eq(lv_bkt_paramset_count(ps), 3);
	for (size_t i = 0; i < 3; i++) {
		struct lv_bkt_params p;
		const char *id = lv_bkt_paramset_skill(ps, i, &p);
		ck_assert_ptr_nonnull(id);
		ck_near(p.prior, truth.prior, 0.05);
		ck_near(p.learn, truth.learn, 0.05);
		ck_near(p.guess, truth.guess, 0.05);
		ck_near(p.slip, truth.slip, 0.05);
		ck_assert(p.forget == 0.0);
	}
	/* A skill's fit does not depend on the thread count. */
	struct lv_bkt_paramset *ps1 = NULL;
	o.threads = 1;
	ck_assert_int_eq(lv_bkt_fit_data(d, &o, &ps1), LV_OK);
	struct lv_bkt_params a, b;
	ck_assert(lv_bkt_paramset_get(ps, "S2", &a));
	ck_assert(lv_bkt_paramset_get(ps1, "S2", &b));
	ck_assert(memcmp(&a, &b, sizeof a) == 0);
	lv_bkt_paramset_destroy(ps1);
	lv_bkt_paramset_destroy(ps);
	lv_kt_data_destroy(d);
}
END_TEST

START_TEST(bkt_em_recovers_forget)
{
	const struct lv_bkt_params truth = {.prior = 0.3, .learn = 0.2, .guess = 0.15, .slip = 0.1, .forget = 0.05};
	struct lv_kt_data *d = NULL;
	ck_assert_int_eq(lv_kt_synth_bkt(&truth, 1500, 1, 25, 99, &d), LV_OK);
	struct lv_bkt_fit_opts o;
	lv_bkt_fit_opts_init(&o);
	o.fit_forget = true;
	struct lv_bkt_paramset *ps = NULL;
	ck_assert_int_eq(lv_bkt_fit_data(d, &o, &ps), LV_OK);
	struct lv_bkt_params p;
	ck_assert(lv_bkt_paramset_get(ps, "S1", &p));
	ck_near(p.prior, truth.prior, 0.05);
	ck_near(p.learn, truth.learn, 0.05);
	ck_near(p.guess, truth.guess, 0.05);
	ck_near(p.slip, truth.slip, 0.05);
	ck_near(p.forget, truth.forget, 0.05);
	ck_assert(p.forget > 0.0);
	lv_bkt_paramset_destroy(ps);
	lv_kt_data_destroy(d);
}
END_TEST

/* ---- Elo: tests/vectors/fsrs-bkt-elo.txt "DERIVED: Elo prior + current" ---- */

START_TEST(elo_prior_current_vector)
{
	struct lv_elo_config c;
	lv_elo_config_default(&c);
	ck_assert_int_eq(c.mode, LV_ELO_PRIOR_CURRENT);
	struct lv_elo *e = NULL;
	ck_assert_int_eq(lv_elo_create(&c, &e), LV_OK);
	double p, theta, b;
	uint32_t n;
	/* first answer, new user & item, 4 options, correct */
	ck_assert_int_eq(lv_elo_item_set(e, "q1", 0.0, 0, 4), LV_OK);
	ck_assert_int_eq(lv_elo_answer(e, "u", "q1", true, 1000.0, &p), LV_OK);
	ck_near(p, 0.625, 1e-12);
	ck_assert(lv_elo_learner_get(e, "u", &theta, &n));
	ck_near(theta, 0.3, 1e-12);
	ck_assert_uint_eq(n, 1);
	ck_assert(lv_elo_item_get(e, "q1", &b, &n));
	ck_near(b, -0.3, 1e-12);
	/* current skill 1.275: visible through a prediction without time */
	ck_assert_int_eq(lv_elo_predict(e, "u", "q1", NAN, &p), LV_OK);
	ck_near(p, lv_elo_prob(1.275, 4), 1e-12);
	/* same item 60 s later, incorrect */
	ck_assert_int_eq(lv_elo_answer(e, "u", "q1", false, 1060.0, &p), LV_OK);
	ck_near(p, 0.9485469827, 1e-9);
	ck_assert_int_eq(lv_elo_predict(e, "u", "q1", NAN, &p), LV_OK);
	ck_near(p, lv_elo_prob(0.9904359052, 4), 1e-9);
	/* repeated answers leave the prior knowledge alone */
	ck_assert(lv_elo_learner_get(e, "u", &theta, &n));
	ck_near(theta, 0.3, 1e-12);
	ck_assert_uint_eq(n, 1);
	/* new item (d=0, 10 prior first answers), open question, user n=1 */
	ck_assert_int_eq(lv_elo_item_set(e, "q2", 0.0, 10, 0), LV_OK);
	ck_assert_int_eq(lv_elo_answer(e, "u", "q2", true, NAN, &p), LV_OK);
	ck_near(p, 0.5744425168, 1e-9);
	ck_assert(lv_elo_learner_get(e, "u", &theta, &n));
	ck_near(theta, 0.6242342729, 1e-9);
	ck_assert(lv_elo_item_get(e, "q2", &b, &n));
	ck_near(b, -0.2269639910, 1e-9);
	ck_assert_uint_eq(n, 11);
	lv_elo_destroy(e);
}
END_TEST

START_TEST(elo_basic_and_pick)
{
	struct lv_elo_config c;
	lv_elo_config_default(&c);
	c.mode = LV_ELO_BASIC;
	struct lv_elo *e = NULL;
	ck_assert_int_eq(lv_elo_create(&c, &e), LV_OK);
	double p, theta, b;
	uint32_t n;
	ck_near(lv_elo_k(0.8, 0.05, 0), 0.8, 1e-15);
	ck_near(lv_elo_k(0.8, 0.05, 10), 0.8 / 1.5, 1e-15);
	ck_assert_int_eq(lv_elo_answer(e, "u", "i", true, NAN, &p), LV_OK);
	ck_near(p, 0.5, 1e-15);
	/* basic: every answer moves theta and b, with K shrinking */
	ck_assert_int_eq(lv_elo_answer(e, "u", "i", false, NAN, &p), LV_OK);
	ck_near(p, 1.0 / (1.0 + exp(-0.8)), 1e-12);
	ck_assert(lv_elo_learner_get(e, "u", &theta, &n));
	ck_near(theta, 0.4 - 0.8 / 1.05 * p, 1e-12);
	ck_assert_uint_eq(n, 2);
	ck_assert(lv_elo_item_get(e, "i", &b, &n));
	ck_near(b, -0.4 + 0.8 / 1.05 * p, 1e-12);
	lv_elo_destroy(e);

	/* pick: a fresh learner (theta 0) against items of known difficulty;
	 * P = sigmoid(-b), so b = -logit(0.75) = -1.0986 is the nearest. */
	lv_elo_config_default(&c);
	ck_assert_int_eq(lv_elo_create(&c, &e), LV_OK);
	const char *items[5] = {"hard", "easy", "target", "mid", "unknown"};
	const double bs[4] = {2.0, -4.0, -1.1, -0.5};
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(lv_elo_item_set(e, items[i], bs[i], 5, 0), LV_OK);
	size_t order[5];
	ck_assert_int_eq(lv_elo_pick(e, "new-learner", items, 5, LV_ELO_TARGET, NAN, order), LV_OK);
	/* |P - .75|: target .0008, mid .128, easy .232, unknown(.5) .25, hard .631 */
	ck_assert_uint_eq(order[0], 2);
	ck_assert_uint_eq(order[1], 3);
	ck_assert_uint_eq(order[2], 1);
	ck_assert_uint_eq(order[3], 4);
	ck_assert_uint_eq(order[4], 0);
	/* a guessing floor raises P: with 2 options "hard" is .5 + .5*.119 */
	ck_assert_int_eq(lv_elo_item_set(e, "hard", 2.0, 5, 2), LV_OK);
	ck_assert_int_eq(lv_elo_predict(e, "new-learner", "hard", NAN, &p), LV_OK);
	ck_near(p, 0.5 + 0.5 / (1.0 + exp(2.0)), 1e-12);
	ck_assert_int_eq(lv_elo_pick(e, "x", items, 5, 1.5, NAN, order), LV_ERR_INVALID);
	ck_assert_int_eq(lv_elo_answer(e, "", "hard", true, NAN, &p), LV_ERR_INVALID);
	/* frozen items do not move */
	lv_elo_destroy(e);
	c.freeze_items = true;
	ck_assert_int_eq(lv_elo_create(&c, &e), LV_OK);
	ck_assert_int_eq(lv_elo_item_set(e, "i", 1.0, 3, 0), LV_OK);
	ck_assert_int_eq(lv_elo_answer(e, "u", "i", true, NAN, &p), LV_OK);
	ck_assert(lv_elo_item_get(e, "i", &b, &n));
	ck_assert(b == 1.0 && n == 3);
	ck_assert(lv_elo_learner_get(e, "u", &theta, &n));
	ck_assert(theta > 0.0);
	lv_elo_destroy(e);
}
END_TEST

/* ---- metrics ---- */

START_TEST(metrics_hand_computed)
{
	struct lv_kt_metrics m;
	const double p1[4] = {0.1, 0.4, 0.35, 0.8};
	const uint8_t y1[4] = {0, 0, 1, 1};
	ck_assert_int_eq(lv_kt_metrics(p1, y1, 4, &m), LV_OK);
	ck_near(m.auc, 0.75, 1e-15);
	ck_near(m.rmse, sqrt((0.01 + 0.16 + 0.4225 + 0.04) / 4), 1e-15);
	ck_near(m.log_loss, -(log(0.9) + log(0.6) + log(0.35) + log(0.8)) / 4, 1e-15);
	ck_assert_uint_eq(m.n, 4);
	/* ties: positives at .5 and .9, negatives at .5 and .5: the two
	 * tied pairs count 1/2 each -> (1/2 + 1/2 + 1 + 1) / 4 */
	const double p2[4] = {0.5, 0.5, 0.5, 0.9};
	const uint8_t y2[4] = {0, 1, 0, 1};
	ck_assert_int_eq(lv_kt_metrics(p2, y2, 4, &m), LV_OK);
	ck_near(m.auc, 0.75, 1e-15);
	const double p3[5] = {0.3, 0.3, 0.3, 0.3, 0.3};
	const uint8_t y3[5] = {1, 0, 1, 1, 0};
	ck_assert_int_eq(lv_kt_metrics(p3, y3, 5, &m), LV_OK);
	ck_near(m.auc, 0.5, 1e-15);
	/* perfectly wrong ranking */
	const double p4[4] = {0.9, 0.8, 0.2, 0.1};
	const uint8_t y4[4] = {0, 0, 1, 1};
	ck_assert_int_eq(lv_kt_metrics(p4, y4, 4, &m), LV_OK);
	ck_near(m.auc, 0.0, 1e-15);
	/* log loss clipping: p = 0 for a correct answer costs -log(1e-15) */
	const double p5[2] = {0.0, 1.0};
	const uint8_t y5[2] = {1, 1};
	ck_assert_int_eq(lv_kt_metrics(p5, y5, 2, &m), LV_OK);
	ck_assert(isfinite(m.log_loss));
	ck_near(m.log_loss, (-log(LV_KT_LOGLOSS_EPS) - log1p(-LV_KT_LOGLOSS_EPS)) / 2, 1e-12);
	ck_near(m.rmse, sqrt(0.5), 1e-15);
	ck_assert(isnan(m.auc)); /* one class only */
	const double bad[2] = {0.5, 1.5};
	ck_assert_int_eq(lv_kt_metrics(bad, y5, 2, &m), LV_ERR_INVALID);
	ck_assert_int_eq(lv_kt_metrics(p1, y1, 0, &m), LV_ERR_INVALID);
}
END_TEST

/* ---- CSV ---- */

static enum lv_status parse(const char *text, size_t max_rows, struct lv_kt_data **d, char *err)
{
	return lv_kt_data_parse_csv(text, strlen(text), max_rows, d, err);
}

START_TEST(csv_accepts_valid)
{
	struct lv_kt_data *d = NULL;
	char err[LV_PERSONAL_ERR_LEN];
	ck_assert_int_eq(parse("learner,skill,correct\na,s1,1\nb,s1,0\r\na,s2,0\n", 0, &d, err), LV_OK);
	ck_assert_uint_eq(lv_kt_data_rows(d), 3);
	ck_assert_uint_eq(lv_kt_data_learners(d), 2);
	ck_assert_uint_eq(lv_kt_data_skills(d), 2);
	lv_kt_data_destroy(d);
	ck_assert_int_eq(parse("a,s1,1\na,s1,0", 0, &d, err), LV_OK); /* no header, no final newline */
	ck_assert_uint_eq(lv_kt_data_rows(d), 2);
	lv_kt_data_destroy(d);
	ck_assert_int_eq(parse("learner,skill,correct,time\na,s,1,10\nb,s,0,5\na,s,1,10.5\n", 0, &d, err), LV_OK);
	ck_assert_uint_eq(lv_kt_data_rows(d), 3);
	/* written back as CSV with the time column, re-read identically */
	char *buf = NULL;
	size_t blen = 0;
	FILE *f = open_memstream(&buf, &blen);
	ck_assert_int_eq(lv_kt_data_write_csv(d, f), LV_OK);
	fclose(f);
	ck_assert_str_eq(buf, "learner,skill,correct,time\na,s,1,10\nb,s,0,5\na,s,1,10.5\n");
	free(buf);
	lv_kt_data_destroy(d);
	ck_assert_int_eq(parse("", 0, &d, err), LV_OK);
	ck_assert_uint_eq(lv_kt_data_rows(d), 0);
	lv_kt_data_destroy(d);
}
END_TEST

START_TEST(csv_rejects_bad)
{
	static const struct {
		const char *text;
		enum lv_status st;
		const char *msg;
	} cases[] = {
		{"a,s,1\na,s,2\n", LV_ERR_INVALID, "line 2: correct must be 0 or 1"},
		{"a,s,1\na,s,yes\n", LV_ERR_INVALID, "line 2: correct"},
		{"learner,skill,correct\na,s,1,5\n", LV_ERR_INVALID, "line 2: 4 fields"},
		{"a,s,1\na,s,1,5\n", LV_ERR_INVALID, "line 2: 4 fields"},
		{"a,s\n", LV_ERR_INVALID, "line 1: expected"},
		{"a,s,1,2,3\n", LV_ERR_INVALID, "line 1: expected"},
		{"a,s,1\n\na,s,1\n", LV_ERR_INVALID, "line 2: empty line"},
		{"a,,1\n", LV_ERR_INVALID, "line 1: bad skill id"},
		{",s,1\n", LV_ERR_INVALID, "line 1: bad learner id"},
		{"a\"b,s,1\n", LV_ERR_INVALID, "line 1: bad learner id"},
		{"a,s,1,10\na,s,1,9\n", LV_ERR_INVALID, "line 2: time goes backwards"},
		{"a,s,1,ten\n", LV_ERR_INVALID, "line 1: time"},
		{"a,s,1,inf\n", LV_ERR_INVALID, "line 1: time"},
		{"a,s,1,1e999\n", LV_ERR_INVALID, "line 1: time"},
		{"a,s,1\rb,s,1\n", LV_ERR_INVALID, "line 1: NUL byte or stray carriage return"},
		{"a,s,1\nb,s,1\nc,s,0\n", LV_ERR_TOO_LARGE, "line 3: more than 2 rows"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct lv_kt_data *d = (struct lv_kt_data *)1;
		char err[LV_PERSONAL_ERR_LEN];
		enum lv_status st = parse(cases[i].text, 2, &d, err);
		ck_assert_msg(st == cases[i].st, "case %zu: status %d", i, st);
		ck_assert_ptr_null(d);
		ck_assert_msg(strstr(err, cases[i].msg), "case %zu: '%s' lacks '%s'", i, err, cases[i].msg);
	}
	/* a line over the cap */
	size_t n = LV_KT_LINE_MAX + 10;
	char *longline = malloc(n + 8);
	memset(longline, 'x', n);
	memcpy(longline + n, ",s,1\n", 6);
	struct lv_kt_data *d = NULL;
	char err[LV_PERSONAL_ERR_LEN];
	ck_assert_int_eq(lv_kt_data_parse_csv(longline, strlen(longline), 0, &d, err), LV_ERR_TOO_LARGE);
	ck_assert(strstr(err, "line 1: longer than"));
	free(longline);
	/* an embedded NUL */
	ck_assert_int_eq(lv_kt_data_parse_csv("a,s,1\na\0,s,1\n", 13, 0, &d, err), LV_ERR_INVALID);
	ck_assert(strstr(err, "line 2"));
	/* lv_kt_data_add keeps the same rules */
	ck_assert_int_eq(lv_kt_data_create(&d), LV_OK);
	ck_assert_int_eq(lv_kt_data_add(d, "a", "s", true, NAN), LV_OK);
	ck_assert_int_eq(lv_kt_data_add(d, "a", "s", true, 5.0), LV_ERR_INVALID);
	ck_assert_int_eq(lv_kt_data_add(d, "a,b", "s", true, NAN), LV_ERR_INVALID);
	ck_assert_uint_eq(lv_kt_data_rows(d), 1);
	lv_kt_data_destroy(d);
}
END_TEST

/* ---- parameter file ---- */

static bool params_eq(const struct lv_bkt_params *a, const struct lv_bkt_params *b)
{
	return a->prior == b->prior && a->learn == b->learn && a->guess == b->guess && a->slip == b->slip &&
	       a->forget == b->forget;
}

START_TEST(params_round_trip)
{
	const struct lv_bkt_params d = {0.21, 0.13, 0.19, 0.087, 0.0};
	const struct lv_bkt_params s1 = {0.123456789012345678, 1.0 / 3.0, 0.2, 0.1, 0.01};
	const struct lv_bkt_params s2 = {0.9, 0.05, 0.4999, 0.3, 0.0};
	struct lv_bkt_paramset *ps = NULL, *back = NULL;
	ck_assert_int_eq(lv_bkt_paramset_create(&d, &ps), LV_OK);
	ck_assert_int_eq(lv_bkt_paramset_set(ps, "http://example.org/skill/fractions", &s1), LV_OK);
	ck_assert_int_eq(lv_bkt_paramset_set(ps, "S2", &s2), LV_OK);
	char *json = NULL;
	ck_assert_int_eq(lv_bkt_paramset_json(ps, &json), LV_OK);
	char err[LV_PERSONAL_ERR_LEN];
	ck_assert_int_eq(lv_bkt_paramset_parse(json, strlen(json), &back, err), LV_OK);
	ck_assert_uint_eq(lv_bkt_paramset_count(back), 2);
	struct lv_bkt_params p;
	ck_assert(lv_bkt_paramset_get(back, "http://example.org/skill/fractions", &p));
	ck_assert(params_eq(&p, &s1)); /* exact: doubles survive the text */
	ck_assert(lv_bkt_paramset_get(back, "S2", &p));
	ck_assert(params_eq(&p, &s2));
	ck_assert(!lv_bkt_paramset_get(back, "other", &p));
	ck_assert(params_eq(&p, &d));
	free(json);
	lv_bkt_paramset_destroy(back);

	/* save + load through a file */
	char path[512];
	snprintf(path, sizeof path, "%s/params.json", th_tmpdir());
	ck_assert_int_eq(lv_bkt_paramset_save(ps, path), LV_OK);
	ck_assert_int_eq(lv_bkt_paramset_load(path, &back, err), LV_OK);
	ck_assert(lv_bkt_paramset_get(back, "S2", &p));
	ck_assert(params_eq(&p, &s2));
	lv_bkt_paramset_destroy(back);
	lv_bkt_paramset_destroy(ps);

	/* a skill entry overrides what it names and inherits the rest */
	const char *partial = "{\"format\":\"learnvault-bkt-params\",\"version\":1,"
			      "\"defaults\":{\"prior\":0.3,\"learn\":0.1,\"guess\":0.2,\"slip\":0.1},"
			      "\"skills\":{\"k\":{\"learn\":0.4}}}";
	ck_assert_int_eq(lv_bkt_paramset_parse(partial, strlen(partial), &back, err), LV_OK);
	ck_assert(lv_bkt_paramset_get(back, "k", &p));
	const struct lv_bkt_params want = {0.3, 0.4, 0.2, 0.1, 0.0};
	ck_assert(params_eq(&p, &want));
	lv_bkt_paramset_destroy(back);
}
END_TEST

START_TEST(params_rejects_bad)
{
#define HEAD "{\"format\":\"learnvault-bkt-params\",\"version\":1,"
#define DEF "\"defaults\":{\"prior\":0.3,\"learn\":0.1,\"guess\":0.2,\"slip\":0.1}"
	static const struct {
		const char *text;
		enum lv_status st;
		const char *msg;
	} cases[] = {
		{"[]", LV_ERR_INVALID, "must be a JSON object"},
		{HEAD DEF "} x", LV_ERR_INVALID, "not a single valid JSON value"},
		{"{\"format\":\"other\",\"version\":1," DEF "}", LV_ERR_INVALID, "\"format\""},
		{HEAD "\"extra\":1," DEF "}", LV_ERR_INVALID, "unknown key \"extra\""},
		{"{\"format\":\"learnvault-bkt-params\",\"version\":2," DEF "}", LV_ERR_UNSUPPORTED, "version"},
		{HEAD "\"skills\":{}}", LV_ERR_INVALID, "\"defaults\" is required"},
		{HEAD "\"defaults\":{\"prior\":0.3,\"learn\":0.1,\"guess\":0.2}}", LV_ERR_INVALID, "required"},
		{HEAD "\"defaults\":{\"prior\":1.5,\"learn\":0.1,\"guess\":0.2,\"slip\":0.1}}", LV_ERR_INVALID,
		 "prior must be a number in [0, 1]"},
		{HEAD "\"defaults\":{\"prior\":\"0.3\",\"learn\":0.1,\"guess\":0.2,\"slip\":0.1}}", LV_ERR_INVALID,
		 "prior must be a number"},
		{HEAD "\"defaults\":{\"prior\":0.3,\"prior\":0.3,\"learn\":0.1,\"guess\":0.2,\"slip\":0.1}}",
		 LV_ERR_INVALID, "duplicate key \"prior\""},
		{HEAD "\"defaults\":{\"prior\":0.3,\"learn\":0.1,\"guess\":0.6,\"slip\":0.4}}", LV_ERR_INVALID,
		 "guess + slip"},
		{HEAD DEF ",\"skills\":{\"a\":{\"slip\":0.9}}}", LV_ERR_INVALID, "skill \"a\": guess + slip"},
		{HEAD DEF ",\"skills\":{\"a\":{\"learn\":0.2},\"a\":{\"learn\":0.3}}}", LV_ERR_INVALID,
		 "duplicate skill \"a\""},
		{HEAD DEF ",\"skills\":{\"a\":{\"lern\":0.2}}}", LV_ERR_INVALID, "unknown key \"lern\""},
		{HEAD DEF ",\"skills\":{\"a,b\":{}}}", LV_ERR_INVALID, "bad skill id"},
		{HEAD DEF ",\"skills\":[]}", LV_ERR_INVALID, "\"skills\" must be an object"},
		{HEAD DEF ",\"defaults\":{}}", LV_ERR_INVALID, "duplicate key \"defaults\""},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct lv_bkt_paramset *ps = (struct lv_bkt_paramset *)1;
		char err[LV_PERSONAL_ERR_LEN];
		enum lv_status st = lv_bkt_paramset_parse(cases[i].text, strlen(cases[i].text), &ps, err);
		ck_assert_msg(st == cases[i].st, "case %zu: status %d (%s)", i, st, err);
		ck_assert_ptr_null(ps);
		ck_assert_msg(strstr(err, cases[i].msg), "case %zu: '%s' lacks '%s'", i, err, cases[i].msg);
	}
	/* over the size cap, before any parsing */
	size_t big = LV_BKT_PARAMS_MAX_BYTES + 1;
	char *text = malloc(big);
	memset(text, ' ', big);
	struct lv_bkt_paramset *ps = NULL;
	char err[LV_PERSONAL_ERR_LEN];
	ck_assert_int_eq(lv_bkt_paramset_parse(text, big, &ps, err), LV_ERR_TOO_LARGE);
	free(text);
	ck_assert_int_eq(lv_bkt_paramset_load("/nonexistent/params.json", &ps, err), LV_ERR_IO);
#undef HEAD
#undef DEF
}
END_TEST

/* ---- the harness end to end, in the library and through the CLI ---- */

START_TEST(eval_library)
{
	const struct lv_bkt_params truth = {.prior = 0.3, .learn = 0.15, .guess = 0.2, .slip = 0.1, .forget = 0.0};
	struct lv_kt_data *train = NULL, *test = NULL;
	ck_assert_int_eq(lv_kt_synth_bkt(&truth, 300, 5, 10, 1, &train), LV_OK);
	ck_assert_int_eq(lv_kt_synth_bkt(&truth, 100, 5, 10, 2, &test), LV_OK);
	struct lv_kt_eval_opts o;
	lv_kt_eval_opts_init(&o);
	struct lv_kt_eval_result r;
	struct lv_bkt_paramset *ps = NULL;
	ck_assert_int_eq(lv_kt_eval(train, test, &o, &r, &ps), LV_OK);
	ck_assert_ptr_nonnull(ps);
	ck_assert_uint_eq(r.train_rows, 15000);
	ck_assert_uint_eq(r.skills, 5);
	for (int m = 0; m < LV_KT_NMODELS; m++) {
		ck_assert_uint_eq(r.m[m].n, 5000);
		ck_assert(r.m[m].auc > 0.5 && r.m[m].auc < 1.0);
		ck_assert(r.m[m].rmse > 0.0 && r.m[m].rmse < 0.5);
	}
	/* Data drawn from BKT: BKT with the fitted parameters is the right
	 * model; its predictions must carry real signal. */
	ck_assert(r.m[LV_KT_BKT].auc > 0.7);
	/* The combination is fitted on training data, so it may not beat
	 * BKT on test, but it must not be much worse. */
	ck_assert(r.m[LV_KT_HYBRID].log_loss < r.m[LV_KT_BKT].log_loss + 0.01);
	ck_assert(r.hybrid_w[0] > 0.0);
	lv_bkt_paramset_destroy(ps);
	struct lv_kt_data *empty = NULL;
	ck_assert_int_eq(lv_kt_data_create(&empty), LV_OK);
	ck_assert_int_eq(lv_kt_eval(train, empty, &o, &r, NULL), LV_ERR_INVALID);
	lv_kt_data_destroy(empty);
	lv_kt_data_destroy(train);
	lv_kt_data_destroy(test);
}
END_TEST



START_TEST(eval_cli)
{
	const char *dir = th_tmpdir();
	char args[2048], errf[600], *out = NULL;
	snprintf(errf, sizeof errf, "%s/stderr", dir);
	snprintf(args, sizeof args,
		 "eval synth-bkt --learners 200 --skills 4 --responses 10 --prior .3 --learn .15 --guess .2 "
		 "--slip .1 --seed 5 --out '%s/train.csv'", dir);
	ck_assert_int_eq(th_run_cli(args, &out, errf), 0);
	cJSON *j = cJSON_Parse(out);
	ck_assert_ptr_nonnull(j);
	ck_assert_int_eq(cJSON_GetObjectItem(j, "rows")->valueint, 8000);
	cJSON_Delete(j);
	free(out);
	snprintf(args, sizeof args,
		 "eval synth-bkt --learners 80 --skills 4 --responses 10 --prior .3 --learn .15 --guess .2 "
		 "--slip .1 --seed 6 --out '%s/test.csv'", dir);
	ck_assert_int_eq(th_run_cli(args, &out, errf), 0);
	free(out);

	snprintf(args, sizeof args, "eval bkt --train '%s/train.csv' --test '%s/test.csv' --save-params '%s/p.json'",
		 dir, dir, dir);
	ck_assert_int_eq(th_run_cli(args, &out, errf), 0);
	j = cJSON_Parse(out);
	ck_assert_ptr_nonnull(j);
	const char *keys[4] = {"auc", "rmse", "log_loss", "n"};
	for (int k = 0; k < 4; k++)
		ck_assert_msg(cJSON_IsNumber(cJSON_GetObjectItem(j, keys[k])), "missing %s in %s", keys[k], out);
	ck_assert_str_eq(cJSON_GetObjectItem(j, "model")->valuestring, "bkt");
	double auc = cJSON_GetObjectItem(j, "auc")->valuedouble;
	ck_assert_msg(auc > 0.7 && auc < 1.0, "auc %g", auc);
	ck_assert_int_eq(cJSON_GetObjectItem(j, "n")->valueint, 3200);
	cJSON_Delete(j);
	free(out);
	char path[700], err[LV_PERSONAL_ERR_LEN];
	snprintf(path, sizeof path, "%s/p.json", dir);
	struct lv_bkt_paramset *ps = NULL;
	ck_assert_int_eq(lv_bkt_paramset_load(path, &ps, err), LV_OK);
	ck_assert_uint_eq(lv_bkt_paramset_count(ps), 4);
	lv_bkt_paramset_destroy(ps);

	snprintf(args, sizeof args, "eval bkt --train '%s/train.csv' --test '%s/test.csv' --model all", dir, dir);
	ck_assert_int_eq(th_run_cli(args, &out, errf), 0);
	j = cJSON_Parse(out);
	ck_assert_ptr_nonnull(j);
	const char *models[3] = {"bkt", "elo", "hybrid"};
	for (int m = 0; m < 3; m++) {
		cJSON *o = cJSON_GetObjectItem(j, models[m]);
		ck_assert_msg(cJSON_IsObject(o), "no %s in %s", models[m], out);
		for (int k = 0; k < 4; k++)
			ck_assert(cJSON_IsNumber(cJSON_GetObjectItem(o, keys[k])));
		double a = cJSON_GetObjectItem(o, "auc")->valuedouble;
		ck_assert_msg(a > 0.55 && a < 1.0, "%s auc %g", models[m], a);
	}
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "hybrid_weights")), 3);
	cJSON_Delete(j);
	free(out);

	/* errors: a bad row is reported with its line, exit status non-zero */
	char bad[700];
	snprintf(bad, sizeof bad, "%s/bad.csv", dir);
	FILE *f = fopen(bad, "w");
	fputs("learner,skill,correct\na,s,1\na,s,x\n", f);
	fclose(f);
	snprintf(args, sizeof args, "eval bkt --train '%s' --test '%s/test.csv'", bad, dir);
	ck_assert_int_ne(th_run_cli(args, &out, errf), 0);
	ck_assert_str_eq(out, "");
	free(out);
	ck_assert(th_file_contains(errf, "line 3: correct must be 0 or 1"));
	snprintf(args, sizeof args, "eval bkt --train '%s/train.csv' --test '%s/test.csv' --model nope", dir, dir);
	ck_assert_int_ne(th_run_cli(args, &out, errf), 0);
	free(out);
	ck_assert_int_ne(th_run_cli("eval synth-bkt --learners 0 --skills 1 --responses 1 --prior .1 --learn .1 --guess .1 "
			     "--slip .1 --out /dev/null", &out, errf), 0);
	free(out);
	th_rmtree(dir);
}
END_TEST

Suite *lv_test_suite(void)
{
	Suite *s = suite_create("personal");
	TCase *tc = tcase_create("bkt");
	tcase_add_test(tc, bkt_filter_vector);
	tcase_add_test(tc, bkt_rejects_bad_input);
	tcase_add_test(tc, bkt_estep_matches_brute_force);
	tcase_add_test(tc, bkt_em_equals_estep_sum_plus_mstep);
	tcase_add_test(tc, bkt_em_recovers_synthetic);
	tcase_add_test(tc, bkt_em_recovers_forget);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	tc = tcase_create("elo");
	tcase_add_test(tc, elo_prior_current_vector);
	tcase_add_test(tc, elo_basic_and_pick);
	suite_add_tcase(s, tc);
	tc = tcase_create("metrics");
	tcase_add_test(tc, metrics_hand_computed);
	suite_add_tcase(s, tc);
	tc = tcase_create("csv");
	tcase_add_test(tc, csv_accepts_valid);
	tcase_add_test(tc, csv_rejects_bad);
	suite_add_tcase(s, tc);
	tc = tcase_create("params");
	tcase_add_test(tc, params_round_trip);
	tcase_add_test(tc, params_rejects_bad);
	suite_add_tcase(s, tc);
	tc = tcase_create("eval");
	tcase_add_test(tc, eval_library);
	tcase_add_test(tc, eval_cli);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	return s;
}
