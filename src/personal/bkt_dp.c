/* BKT parameters learned across learners through differential privacy:
 * EM where each E-step is a DP sum of bounded per-learner expected counts.
 *
 * Each learner contributes the summed E-step counts of at most max_skills
 * of their skill sequences (the longest), each cut to max_len responses,
 * floored to 1/1000 (so contributions and sums are integers).  Per
 * learner, sequences + known0 <= 2m, the four transition fields <= 2m(l-1)
 * and the four response fields <= 2ml, so the L1 norm of a contribution is
 * at most 4ml (m = max_skills, l = max_len).  Each iteration releases the
 * ten-field sum with discrete Laplace noise, eps_i = eps / iterations
 * (basic composition), split in three equal parts over the field groups
 * by their own bounds (see lv_bkt_dp_step), and runs the M-step on it. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "learnvault/dp.h"
#include "personal_int.h"

void lv_bkt_dp_opts_init(struct lv_bkt_dp_opts *o)
{
	o->epsilon = 1.0;
	o->iterations = 5;
	o->max_skills = 10;
	o->max_len = 20;
	o->fit_forget = false;
}

static bool opts_ok(const struct lv_bkt_dp_opts *o)
{
	return o->epsilon > 0 && o->epsilon <= 100 && o->iterations >= 1 && o->iterations <= 100 &&
	       o->max_skills >= 1 && o->max_skills <= 1000 && o->max_len >= 1 && o->max_len <= 1000;
}

uint64_t lv_bkt_dp_sensitivity(const struct lv_bkt_dp_opts *o)
{
	return 4000u * (uint64_t)o->max_skills * o->max_len;
}

static void to_fields(const struct lv_bkt_counts *c, double f[LV_BKT_DP_FIELDS])
{
	f[0] = c->sequences;
	f[1] = c->known0;
	f[2] = c->unknown_trans;
	f[3] = c->learned;
	f[4] = c->known_trans;
	f[5] = c->forgot;
	f[6] = c->unknown_obs;
	f[7] = c->unknown_correct;
	f[8] = c->known_obs;
	f[9] = c->known_wrong;
}

static int cmp_len_desc(const void *a, const void *b)
{
	const struct lv_bkt_seq *x = a, *y = b;
	return x->len < y->len ? 1 : x->len > y->len ? -1 : 0;
}

enum lv_status lv_bkt_dp_contribution(const struct lv_bkt_params *p, const struct lv_bkt_seq *seqs, size_t n,
				      const struct lv_bkt_dp_opts *o, int64_t out[LV_BKT_DP_FIELDS])
{
	memset(out, 0, LV_BKT_DP_FIELDS * sizeof *out);
	if (!opts_ok(o) || !lv_bkt_params_valid(p))
		return LV_ERR_INVALID;
	struct lv_bkt_seq *s = malloc((n ? n : 1) * sizeof *s);
	if (!s)
		return LV_ERR_NOMEM;
	memcpy(s, seqs, n * sizeof *s);
	/* The longest sequences first (stable for equal lengths: qsort is not,
	 * so equal lengths keep no promised order; any choice is bounded). */
	qsort(s, n, sizeof *s, cmp_len_desc);
	struct lv_bkt_counts sum = {0};
	enum lv_status st = LV_OK;
	for (size_t i = 0; i < n && i < o->max_skills && st == LV_OK; i++) {
		struct lv_bkt_counts c;
		if (s[i].len == 0)
			continue;
		st = lv_bkt_estep(p, s[i].obs, s[i].len, o->max_len, &c);
		if (st == LV_OK)
			lv_bkt_counts_add(&sum, &c);
	}
	free(s);
	if (st != LV_OK)
		return st;
	double f[LV_BKT_DP_FIELDS];
	to_fields(&sum, f);
	for (int k = 0; k < LV_BKT_DP_FIELDS; k++)
		out[k] = f[k] > 0 ? (int64_t)floor(f[k] * 1000) : 0;
	return LV_OK;
}

enum lv_status lv_bkt_dp_step(struct lv_dp_rng *rng, const int64_t sum[LV_BKT_DP_FIELDS], uint64_t eps_micro,
			      const struct lv_bkt_dp_opts *o, const struct lv_bkt_params *cur,
			      struct lv_bkt_params *next, int64_t noisy[LV_BKT_DP_FIELDS])
{
	if (!opts_ok(o) || eps_micro == 0)
		return LV_ERR_INVALID;
	/* Three groups, each with its own L1 bound and a third of the epsilon
	 * (basic composition): the sequence fields (<= 2m), the transition
	 * fields (<= 2m(l-1)) and the response fields (<= 2ml), in 1/1000.
	 * The small sequence fields then get small noise. */
	uint64_t m = o->max_skills, l = o->max_len;
	const uint64_t delta[3] = {2000 * m, 2000 * m * (l - 1), 2000 * m * l};
	static const int group[LV_BKT_DP_FIELDS] = {0, 0, 1, 1, 1, 1, 2, 2, 2, 2};
	uint64_t eps_g = eps_micro / 3;
	if (rng && eps_g == 0)
		return LV_ERR_INVALID;
	for (int k = 0; k < LV_BKT_DP_FIELDS; k++) {
		int64_t z = 0;
		uint64_t d = delta[group[k]];
		if (rng && d) {
			/* scale = d / eps_g = d * 10^6 / (eps_g * 10^6 / 10^6), exactly */
			enum lv_status st = lv_dp_discrete_laplace(rng, d * 1000000u, eps_g, &z);
			if (st != LV_OK)
				return st;
		}
		noisy[k] = sum[k] + z;
	}
	struct lv_bkt_counts c = {0};
	double f[LV_BKT_DP_FIELDS];
	for (int k = 0; k < LV_BKT_DP_FIELDS; k++)
		f[k] = noisy[k] > 0 ? (double)noisy[k] / 1000 : 0; /* post-processing */
	c.sequences = f[0];
	c.known0 = fmin(f[1], f[0]);
	c.unknown_trans = f[2];
	c.learned = fmin(f[3], f[2]);
	c.known_trans = f[4];
	c.forgot = fmin(f[5], f[4]);
	c.unknown_obs = f[6];
	c.unknown_correct = fmin(f[7], f[6]);
	c.known_obs = f[8];
	c.known_wrong = fmin(f[9], f[8]);
	lv_bkt_mstep(&c, o->fit_forget, cur, next);
	return LV_OK;
}

/* ---- offline: a whole data set, one contribution per learner ---- */

struct lseq {
	uint32_t learner, skill;
	size_t row;
};

static int cmp_lseq(const void *a, const void *b)
{
	const struct lseq *x = a, *y = b;
	if (x->learner != y->learner)
		return x->learner < y->learner ? -1 : 1;
	if (x->skill != y->skill)
		return x->skill < y->skill ? -1 : 1;
	return x->row < y->row ? -1 : x->row > y->row;
}

enum lv_status lv_bkt_dp_fit_data(const struct lv_kt_data *d, const struct lv_bkt_dp_opts *o, bool private_release,
				  struct lv_bkt_params *out)
{
	enum lv_status st = LV_OK;
	struct lseq *rows = NULL;
	uint8_t *obs = NULL;
	struct lv_bkt_seq *seqs = NULL;
	struct lv_dp_rng *rng = NULL;
	lv_bkt_params_default(out);
	if (!opts_ok(o) || !d || d->n == 0)
		return LV_ERR_INVALID;
	rows = malloc(d->n * sizeof *rows);
	obs = malloc(d->n);
	seqs = malloc(d->n * sizeof *seqs);
	if (!rows || !obs || !seqs) {
		st = LV_ERR_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < d->n; i++)
		rows[i] = (struct lseq){d->learner[i], d->skill[i], i};
	qsort(rows, d->n, sizeof *rows, cmp_lseq);
	for (size_t i = 0; i < d->n; i++)
		obs[i] = d->correct[rows[i].row];
	if (private_release && (st = lv_dp_rng_create(&rng)) != LV_OK)
		goto out;
	uint64_t eps_micro = (uint64_t)floor(o->epsilon * 1e6 / o->iterations);
	if (eps_micro == 0) {
		st = LV_ERR_INVALID;
		goto out;
	}
	struct lv_bkt_params cur;
	lv_bkt_params_default(&cur);
	for (unsigned it = 0; it < o->iterations && st == LV_OK; it++) {
		int64_t sum[LV_BKT_DP_FIELDS] = {0}, noisy[LV_BKT_DP_FIELDS];
		for (size_t i = 0; i < d->n && st == LV_OK;) {
			/* One learner: their per-skill sequences. */
			size_t j = i, ns = 0;
			while (j < d->n && rows[j].learner == rows[i].learner) {
				size_t k = j;
				while (k < d->n && rows[k].learner == rows[j].learner && rows[k].skill == rows[j].skill)
					k++;
				seqs[ns++] = (struct lv_bkt_seq){obs + j, k - j, 1};
				j = k;
			}
			int64_t c[LV_BKT_DP_FIELDS];
			st = lv_bkt_dp_contribution(&cur, seqs, ns, o, c);
			for (int k = 0; k < LV_BKT_DP_FIELDS; k++)
				sum[k] += c[k];
			i = j;
		}
		if (st == LV_OK)
			st = lv_bkt_dp_step(rng, sum, eps_micro, o, &cur, &cur, noisy);
	}
	if (st == LV_OK)
		*out = cur;
out:
	lv_dp_rng_destroy(rng);
	free(rows);
	free(obs);
	free(seqs);
	return st;
}
