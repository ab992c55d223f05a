/* Knowledge-tracing evaluation: metrics, the whole-data-set BKT fit
 * (threads over skills) and the one-step-ahead comparison of BKT, Elo and
 * their logistic combination. */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "personal_int.h"
#include "learnvault/util.h"

/* ---- metrics ---- */

struct scored {
	double p;
	uint8_t y;
};

static int scored_cmp(const void *a, const void *b)
{
	double x = ((const struct scored *)a)->p, y = ((const struct scored *)b)->p;
	return (x > y) - (x < y);
}

enum lv_status lv_kt_metrics(const double *p, const uint8_t *y, size_t n, struct lv_kt_metrics *out)
{
	memset(out, 0, sizeof *out);
	if (!n || !p || !y)
		return LV_ERR_INVALID;
	for (size_t i = 0; i < n; i++)
		if (y[i] > 1 || !(p[i] >= 0.0 && p[i] <= 1.0))
			return LV_ERR_INVALID;
	struct scored *s = malloc(n * sizeof *s);
	if (!s)
		return LV_ERR_NOMEM;
	double se = 0.0, ll = 0.0;
	size_t pos = 0;
	for (size_t i = 0; i < n; i++) {
		s[i] = (struct scored){.p = p[i], .y = y[i]};
		double d = p[i] - y[i];
		se += d * d;
		double c = p[i] < LV_KT_LOGLOSS_EPS ? LV_KT_LOGLOSS_EPS
			   : p[i] > 1.0 - LV_KT_LOGLOSS_EPS ? 1.0 - LV_KT_LOGLOSS_EPS : p[i];
		ll -= y[i] ? log(c) : log(1.0 - c);
		pos += y[i];
	}
	/* Mann-Whitney: AUC = (rank sum of positives - P(P+1)/2) / (P N),
	 * with 1-based ranks and tied predictions given their mean rank. */
	qsort(s, n, sizeof *s, scored_cmp);
	double rank_sum = 0.0;
	for (size_t i = 0; i < n;) {
		size_t j = i, npos = 0;
		while (j < n && s[j].p == s[i].p)
			npos += s[j++].y;
		double mean_rank = ((double)i + 1.0 + (double)j) / 2.0;
		rank_sum += mean_rank * (double)npos;
		i = j;
	}
	free(s);
	size_t neg = n - pos;
	out->auc = pos && neg ? (rank_sum - (double)pos * ((double)pos + 1.0) / 2.0) / ((double)pos * (double)neg)
			      : NAN;
	out->rmse = sqrt(se / (double)n);
	out->log_loss = ll / (double)n;
	out->n = n;
	return LV_OK;
}

/* ---- fitting a whole data set ---- */

struct seqref {
	const uint8_t *obs;
	size_t len;
};

static int seqref_cmp(const void *a, const void *b)
{
	const struct seqref *x = a, *y = b;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return memcmp(x->obs, y->obs, x->len);
}

struct fit_job {
	const struct lv_kt_data *d;
	const struct lv_bkt_fit_opts *opts;
	const uint32_t *order;
	const size_t *off;
	struct lv_bkt_params *result; /* per skill */
	atomic_size_t next;
	atomic_int status;
};

/* Fits skill @s: its rows are order[off[s]..off[s+1]), grouped by learner. */
static enum lv_status fit_skill(struct fit_job *job, size_t s, struct personal_bkt_work *w)
{
	const struct lv_kt_data *d = job->d;
	size_t lo = job->off[s], n = job->off[s + 1] - lo;
	uint8_t *obs = malloc(n);
	struct seqref *refs = malloc(n * sizeof *refs);
	struct lv_bkt_seq *seqs = malloc(n * sizeof *seqs);
	enum lv_status st = LV_ERR_NOMEM;
	if (!obs || !refs || !seqs)
		goto out;
	size_t nref = 0;
	for (size_t k = 0; k < n; k++) {
		uint32_t row = job->order[lo + k];
		obs[k] = d->correct[row];
		if (k == 0 || d->learner[row] != d->learner[job->order[lo + k - 1]])
			refs[nref++] = (struct seqref){.obs = obs + k, .len = 0};
		refs[nref - 1].len++;
	}
	/* Identical sequences (common among short ones) are fitted once
	 * with their count as weight: same likelihood, less work. */
	qsort(refs, nref, sizeof *refs, seqref_cmp);
	size_t nseq = 0;
	for (size_t k = 0; k < nref; k++) {
		if (nseq && seqref_cmp(&refs[k], &refs[k - 1]) == 0) {
			seqs[nseq - 1].weight += 1.0;
			continue;
		}
		seqs[nseq++] = (struct lv_bkt_seq){.obs = refs[k].obs, .len = refs[k].len, .weight = 1.0};
	}
	uint64_t seed = personal_mix(job->opts->seed, util_fnv1a(d->skills.names[s]));
	st = personal_bkt_fit_seqs(seqs, nseq, job->opts, seed, w, &job->result[s], NULL);
out:
	free(obs);
	free(refs);
	free(seqs);
	return st;
}

static void *fit_worker(void *arg)
{
	struct fit_job *job = arg;
	struct personal_bkt_work w = {0};
	for (;;) {
		size_t s = atomic_fetch_add(&job->next, 1);
		if (s >= job->d->skills.n || atomic_load(&job->status) != LV_OK)
			break;
		enum lv_status st = fit_skill(job, s, &w);
		if (st != LV_OK) {
			int expect = LV_OK;
			atomic_compare_exchange_strong(&job->status, &expect, (int)st);
		}
	}
	personal_bkt_work_free(&w);
	return NULL;
}

static unsigned thread_count(unsigned asked, size_t skills)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned t = asked ? asked : (unsigned)(cpus > 0 ? (cpus < 8 ? cpus : 8) : 1);
	if (t > 64)
		t = 64;
	if (t > skills)
		t = (unsigned)skills;
	return t ? t : 1;
}

enum lv_status lv_bkt_fit_data(const struct lv_kt_data *d, const struct lv_bkt_fit_opts *opts,
			       struct lv_bkt_paramset **out)
{
	*out = NULL;
	struct lv_bkt_fit_opts def;
	if (!opts) {
		lv_bkt_fit_opts_init(&def);
		opts = &def;
	}
	if (!d || !d->n || opts->restarts < 1 || opts->max_iter < 1 || !(opts->tol >= 0.0) ||
	    (opts->start && !lv_bkt_params_valid(opts->start)))
		return LV_ERR_INVALID;
	size_t ns = d->skills.n;
	struct fit_job job = {.d = d, .opts = opts};
	atomic_init(&job.next, 0);
	atomic_init(&job.status, LV_OK);
	uint32_t *order = NULL;
	size_t *off = NULL;
	struct lv_bkt_paramset *ps = NULL;
	enum lv_status st = LV_ERR_NOMEM;
	job.result = calloc(ns, sizeof *job.result);
	if (!job.result || !personal_order_by_skill(d, &order, &off))
		goto out;
	job.order = order;
	job.off = off;
	unsigned nt = thread_count(opts->threads, ns);
	pthread_t tid[64];
	unsigned started = 0;
	for (; started + 1 < nt; started++)
		if (pthread_create(&tid[started], NULL, fit_worker, &job) != 0)
			break;
	fit_worker(&job); /* this thread works too */
	for (unsigned i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
	st = (enum lv_status)atomic_load(&job.status);
	if (st != LV_OK)
		goto out;

	/* Defaults: response-weighted mean of the skills' parameters. */
	struct lv_bkt_params mean = {0};
	for (size_t s = 0; s < ns; s++) {
		double w = (double)(off[s + 1] - off[s]) / (double)d->n;
		mean.prior += w * job.result[s].prior;
		mean.learn += w * job.result[s].learn;
		mean.guess += w * job.result[s].guess;
		mean.slip += w * job.result[s].slip;
		mean.forget += w * job.result[s].forget;
	}
	st = lv_bkt_paramset_create(lv_bkt_params_valid(&mean) ? &mean : NULL, &ps);
	for (size_t s = 0; st == LV_OK && s < ns; s++)
		st = lv_bkt_paramset_set(ps, d->skills.names[s], &job.result[s]);
out:
	free(job.result);
	free(order);
	free(off);
	if (st != LV_OK) {
		lv_bkt_paramset_destroy(ps);
		return st;
	}
	*out = ps;
	return LV_OK;
}

/* ---- one-step-ahead evaluation ---- */

void lv_kt_eval_opts_init(struct lv_kt_eval_opts *o)
{
	lv_bkt_fit_opts_init(&o->fit);
	lv_elo_config_default(&o->elo);
	/* Items here are skills, answered many times each.  The
	 * prior+current constants (pfae 3.4/0.3) were tuned on items answered
	 * about once; on ASSISTments 2009 the basic rule predicts better
	 * (docs/personalization.md), so it is the harness's default. */
	o->elo.mode = LV_ELO_BASIC;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Features of the combination are logits of predictions kept away from 0
 * and 1 so that one overconfident model cannot dominate. */
#define FEATURE_P_MIN 1e-4

static double logit_c(double p)
{
	if (p < FEATURE_P_MIN)
		p = FEATURE_P_MIN;
	if (p > 1.0 - FEATURE_P_MIN)
		p = 1.0 - FEATURE_P_MIN;
	return log(p / (1.0 - p));
}

static double sigmoid(double x)
{
	return x >= 0 ? 1.0 / (1.0 + exp(-x)) : exp(x) / (1.0 + exp(x));
}

/* BKT one-step-ahead predictions for every row of @d: each (learner,
 * skill) starts at the prior of @bp[skill]. */
static enum lv_status bkt_predict(const struct lv_kt_data *d, const struct lv_bkt_params *bp, double *pred)
{
	struct personal_u64map idx;
	personal_u64map_init(&idx);
	double *known = malloc((d->n ? d->n : 1) * sizeof *known);
	size_t npairs = 0;
	enum lv_status st = LV_ERR_NOMEM;
	if (!known)
		goto out;
	for (size_t i = 0; i < d->n; i++) {
		uint64_t key = (uint64_t)d->learner[i] << 32 | d->skill[i];
		const struct lv_bkt_params *p = &bp[d->skill[i]];
		uint32_t v;
		if (!personal_u64map_get(&idx, key, &v)) {
			v = (uint32_t)npairs++;
			if (!personal_u64map_put(&idx, key, v))
				goto out;
			known[v] = p->prior;
		}
		pred[i] = lv_bkt_p_correct(p, known[v]);
		known[v] = lv_bkt_step(p, known[v], d->correct[i], NULL);
	}
	st = LV_OK;
out:
	personal_u64map_free(&idx);
	free(known);
	return st;
}

/* Elo one-step-ahead predictions for every row of @d with @e, which is
 * updated as it goes. */
static enum lv_status elo_predict(const struct lv_kt_data *d, struct lv_elo *e, double *pred)
{
	for (size_t i = 0; i < d->n; i++) {
		double t = d->timed == 1 ? d->time[i] : NAN;
		enum lv_status st = lv_elo_answer(e, d->learners.names[d->learner[i]], d->skills.names[d->skill[i]],
						  d->correct[i], t, &pred[i]);
		if (st != LV_OK)
			return st;
	}
	return LV_OK;
}

/* Solves the 3x3 system H x = g by Gaussian elimination with partial
 * pivoting; false when singular. */
static bool solve3(double H[3][3], const double g[3], double x[3])
{
	double a[3][4];
	for (int i = 0; i < 3; i++) {
		for (int j = 0; j < 3; j++)
			a[i][j] = H[i][j];
		a[i][3] = g[i];
	}
	for (int c = 0; c < 3; c++) {
		int piv = c;
		for (int r = c + 1; r < 3; r++)
			if (fabs(a[r][c]) > fabs(a[piv][c]))
				piv = r;
		if (fabs(a[piv][c]) < 1e-300)
			return false;
		if (piv != c)
			for (int j = 0; j < 4; j++) {
				double t = a[c][j];
				a[c][j] = a[piv][j];
				a[piv][j] = t;
			}
		for (int r = c + 1; r < 3; r++) {
			double f = a[r][c] / a[c][c];
			for (int j = c; j < 4; j++)
				a[r][j] -= f * a[c][j];
		}
	}
	for (int i = 2; i >= 0; i--) {
		double s = a[i][3];
		for (int j = i + 1; j < 3; j++)
			s -= a[i][j] * x[j];
		x[i] = s / a[i][i];
	}
	return true;
}

static double hybrid_loss(const double *f1, const double *f2, const uint8_t *y, size_t n, const double w[3])
{
	double l = 0.0;
	for (size_t i = 0; i < n; i++) {
		double z = w[0] * f1[i] + w[1] * f2[i] + w[2];
		/* log(1 + e^z) - y z, computed without overflow */
		l += (z > 0 ? z + log1p(exp(-z)) : log1p(exp(z))) - (y[i] ? z : 0.0);
	}
	return l;
}

/* Logistic regression of @y on (f1, f2, 1) by Newton's method with step
 * halving; a tiny ridge keeps the Hessian invertible. */
static void hybrid_fit(const double *f1, const double *f2, const uint8_t *y, size_t n, double w[3])
{
	w[0] = 0.5;
	w[1] = 0.5;
	w[2] = 0.0;
	const double ridge = 1e-6 * (double)n;
	double loss = hybrid_loss(f1, f2, y, n, w);
	for (int it = 0; it < 50; it++) {
		double g[3] = {0}, H[3][3] = {{0}};
		for (size_t i = 0; i < n; i++) {
			double x[3] = {f1[i], f2[i], 1.0};
			double p = sigmoid(w[0] * x[0] + w[1] * x[1] + w[2]);
			double r = p - y[i], v = p * (1.0 - p);
			for (int a = 0; a < 3; a++) {
				g[a] += r * x[a];
				for (int b = 0; b < 3; b++)
					H[a][b] += v * x[a] * x[b];
			}
		}
		for (int a = 0; a < 3; a++) {
			g[a] += ridge * w[a];
			H[a][a] += ridge;
		}
		double step[3];
		if (!solve3(H, g, step))
			return;
		double t = 1.0, cand[3], cl = loss;
		for (int h = 0; h < 30; h++, t /= 2) {
			for (int a = 0; a < 3; a++)
				cand[a] = w[a] - t * step[a];
			cl = hybrid_loss(f1, f2, y, n, cand);
			if (cl <= loss)
				break;
		}
		if (!(cl <= loss))
			return;
		double moved = 0.0;
		for (int a = 0; a < 3; a++) {
			moved = fmax(moved, fabs(cand[a] - w[a]));
			w[a] = cand[a];
		}
		loss = cl;
		if (moved < 1e-9)
			return;
	}
}

/* Scratch of one evaluation: per-skill BKT parameters of each set, the
 * training rows' feature logits, the test rows' predictions per model and
 * the two Elo models. */
struct eval_work {
	struct lv_bkt_params *bp_train, *bp_test;
	double *ptr_b, *ptr_e, *pte[LV_KT_NMODELS];
	struct lv_elo *etrain, *etest;
};

static enum lv_status eval_work_alloc(struct eval_work *w, const struct lv_kt_data *train,
				      const struct lv_kt_data *test)
{
	w->bp_train = malloc(train->skills.n * sizeof *w->bp_train);
	w->bp_test = malloc((test->skills.n ? test->skills.n : 1) * sizeof *w->bp_test);
	w->ptr_b = malloc(train->n * sizeof *w->ptr_b);
	w->ptr_e = malloc(train->n * sizeof *w->ptr_e);
	for (int m = 0; m < LV_KT_NMODELS; m++)
		w->pte[m] = malloc(test->n * sizeof *w->pte[m]);
	if (!w->bp_train || !w->bp_test || !w->ptr_b || !w->ptr_e || !w->pte[0] || !w->pte[1] || !w->pte[2])
		return LV_ERR_NOMEM;
	return LV_OK;
}

static void eval_work_free(struct eval_work *w)
{
	lv_elo_destroy(w->etrain);
	lv_elo_destroy(w->etest);
	free(w->bp_train);
	free(w->bp_test);
	free(w->ptr_b);
	free(w->ptr_e);
	for (int m = 0; m < LV_KT_NMODELS; m++)
		free(w->pte[m]);
}

/* The combination weights @hw, from both models' training-set
 * predictions; the Elo model trained here is kept in @w->etrain. */
static enum lv_status eval_fit_hybrid(const struct lv_kt_data *train, struct lv_elo_config ec,
				      struct eval_work *w, double hw[3])
{
	enum lv_status st = bkt_predict(train, w->bp_train, w->ptr_b);
	if (st != LV_OK)
		return st;
	ec.freeze_items = false;
	if ((st = lv_elo_create(&ec, &w->etrain)) != LV_OK || (st = elo_predict(train, w->etrain, w->ptr_e)) != LV_OK)
		return st;
	for (size_t i = 0; i < train->n; i++) {
		w->ptr_b[i] = logit_c(w->ptr_b[i]);
		w->ptr_e[i] = logit_c(w->ptr_e[i]);
	}
	hybrid_fit(w->ptr_b, w->ptr_e, train->correct, train->n, hw);
	return LV_OK;
}

/* The test-set Elo model: difficulties from training, frozen; learners
 * start fresh. */
static enum lv_status eval_test_elo(struct lv_elo_config ec, struct eval_work *w)
{
	enum lv_status st;
	ec.freeze_items = true;
	if ((st = lv_elo_create(&ec, &w->etest)) != LV_OK)
		return st;
	for (size_t i = 0; i < w->etrain->item_ids.n; i++) {
		const struct personal_elo_item *it = &w->etrain->items[i];
		if ((st = lv_elo_item_set(w->etest, w->etrain->item_ids.names[i], it->b, it->n, it->options)) != LV_OK)
			return st;
	}
	return LV_OK;
}

/* Every model's test-set predictions, scored into @out->m. */
static enum lv_status eval_test(const struct lv_kt_data *test, struct eval_work *w, struct lv_kt_eval_result *out)
{
	enum lv_status st;
	double **pte = w->pte;
	if ((st = bkt_predict(test, w->bp_test, pte[LV_KT_BKT])) != LV_OK ||
	    (st = elo_predict(test, w->etest, pte[LV_KT_ELO])) != LV_OK)
		return st;
	const double *hw = out->hybrid_w;
	for (size_t i = 0; i < test->n; i++)
		pte[LV_KT_HYBRID][i] = sigmoid(hw[0] * logit_c(pte[LV_KT_BKT][i]) +
					       hw[1] * logit_c(pte[LV_KT_ELO][i]) + hw[2]);
	for (int m = 0; m < LV_KT_NMODELS; m++)
		if ((st = lv_kt_metrics(pte[m], test->correct, test->n, &out->m[m])) != LV_OK)
			return st;
	return LV_OK;
}

enum lv_status lv_kt_eval(const struct lv_kt_data *train, const struct lv_kt_data *test,
			  const struct lv_kt_eval_opts *opts, struct lv_kt_eval_result *out,
			  struct lv_bkt_paramset **params)
{
	memset(out, 0, sizeof *out);
	if (params)
		*params = NULL;
	if (!train || !test || !train->n || !test->n)
		return LV_ERR_INVALID;
	struct lv_kt_eval_opts def;
	if (!opts) {
		lv_kt_eval_opts_init(&def);
		opts = &def;
	}
	struct lv_bkt_paramset *ps = NULL;
	struct eval_work w = {0};
	enum lv_status st;

	double t0 = now_s();
	st = lv_bkt_fit_data(train, &opts->fit, &ps);
	if (st != LV_OK)
		goto out;
	out->fit_seconds = now_s() - t0;
	out->train_rows = train->n;
	out->skills = train->skills.n;

	if ((st = eval_work_alloc(&w, train, test)) != LV_OK)
		goto out;
	for (size_t s = 0; s < train->skills.n; s++)
		lv_bkt_paramset_get(ps, train->skills.names[s], &w.bp_train[s]);
	for (size_t s = 0; s < test->skills.n; s++)
		lv_bkt_paramset_get(ps, test->skills.names[s], &w.bp_test[s]);
	st = eval_fit_hybrid(train, opts->elo, &w, out->hybrid_w);
	if (st == LV_OK)
		st = eval_test_elo(opts->elo, &w);
	if (st == LV_OK)
		st = eval_test(test, &w, out);
out:
	eval_work_free(&w);
	if (st != LV_OK) {
		lv_bkt_paramset_destroy(ps);
		memset(out, 0, sizeof *out);
		return st;
	}
	if (params)
		*params = ps;
	else
		lv_bkt_paramset_destroy(ps);
	return LV_OK;
}
