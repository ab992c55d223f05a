/* eval: offline evaluation of the learner models on response data.
 *   eval bkt --train F --test F    one-step-ahead BKT / Elo / hybrid
 *   eval fit-bkt --data F          fit BKT per skill, report the fit
 *   eval synth-bkt ... --out F     synthetic responses from known BKT params
 *   eval fsrs ...                  FSRS (tools/cmd_eval_fsrs.c) */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "learnvault/personal.h"

#define EVAL_USAGE                                                                                  \
	"eval bkt --train F --test F [--model bkt|elo|hybrid|all] [--forget] [--seed N]\n"         \
	"         [--threads N] [--elo basic|prior-current] [--elo-alpha A] [--elo-beta B]\n"         \
	"         [--pfae-good G] [--pfae-bad B] [--time-shift S] [--save-params F]\n"             \
	"  eval fit-bkt --data F [--forget] [--seed N] [--threads N] [--save-params F]\n"           \
	"         [--prior P --learn P --guess P --slip P [--true-forget P]]  (truth: report errors)\n" \
	"  eval synth-bkt --learners N --skills K --responses R --prior P --learn P --guess P\n"   \
	"         --slip P [--forget P] [--seed N] --out F\n"                                        \
	"  eval bkt-dp --data F [--epsilon E] [--iterations T] [--max-skills M] [--max-len L] [--runs R]\n" \
	"  eval fsrs ..."

static bool parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	if (!s || !*s || *s == '-' || *s == '+')
		return false;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return false;
	*out = v;
	return true;
}

static bool parse_prob(const char *s, double *out)
{
	char *end;
	if (!s || !*s)
		return false;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || *end || !isfinite(v) || v < 0.0 || v > 1.0)
		return false;
	*out = v;
	return true;
}

static bool parse_nonneg(const char *s, double *out)
{
	char *end;
	if (!s || !*s)
		return false;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || *end || !isfinite(v) || v < 0.0)
		return false;
	*out = v;
	return true;
}

static cJSON *params_json(const struct lv_bkt_params *p)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "prior", p->prior);
	cJSON_AddNumberToObject(o, "learn", p->learn);
	cJSON_AddNumberToObject(o, "guess", p->guess);
	cJSON_AddNumberToObject(o, "slip", p->slip);
	cJSON_AddNumberToObject(o, "forget", p->forget);
	return o;
}

static cJSON *metrics_json(const struct lv_kt_metrics *m)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "auc", m->auc); /* NaN prints as null */
	cJSON_AddNumberToObject(o, "rmse", m->rmse);
	cJSON_AddNumberToObject(o, "log_loss", m->log_loss);
	cJSON_AddNumberToObject(o, "n", (double)m->n);
	return o;
}

static int load(const char *what, const char *path, struct lv_kt_data **d)
{
	char err[LV_PERSONAL_ERR_LEN];
	enum lv_status st = lv_kt_data_load_csv(path, 0, d, err);
	if (st != LV_OK)
		return cli_fail("eval: %s %s: %s", what, path, err);
	return 0;
}

/* Fit options shared by bkt and fit-bkt. */
static int fit_options(const char *cmd, const char *seed_s, const char *threads_s, const char *forget,
		       struct lv_bkt_fit_opts *fo)
{
	uint64_t u;
	lv_bkt_fit_opts_init(fo);
	if (seed_s) {
		if (!parse_u64(seed_s, UINT64_MAX, &u))
			return cli_fail("eval %s: --seed must be a whole number", cmd) + 1;
		fo->seed = u;
	}
	if (threads_s) {
		if (!parse_u64(threads_s, 64, &u))
			return cli_fail("eval %s: --threads must be 0..64 (0: automatic)", cmd) + 1;
		fo->threads = (unsigned)u;
	}
	fo->fit_forget = forget != NULL;
	return 0;
}

static int save_params(const char *cmd, const struct lv_bkt_paramset *ps, const char *path)
{
	enum lv_status st = lv_bkt_paramset_save(ps, path);
	if (st != LV_OK)
		return cli_fail("eval %s: cannot write %s: %s", cmd, path, lv_status_str(st));
	return 0;
}

static int eval_bkt(int argc, char **argv)
{
	const char *train_p = NULL, *test_p = NULL, *model = "bkt", *save = NULL, *seed_s = NULL;
	const char *threads_s = NULL, *forget = NULL, *elo_s = NULL, *ek_s[5] = {NULL};
	const struct cli_opt opts[] = {
		{"train", true, &train_p},    {"test", true, &test_p},         {"model", true, &model},
		{"save-params", true, &save}, {"seed", true, &seed_s},         {"threads", true, &threads_s},
		{"forget", false, &forget},   {"elo", true, &elo_s},           {"elo-alpha", true, &ek_s[0]},
		{"elo-beta", true, &ek_s[1]}, {"pfae-good", true, &ek_s[2]},   {"pfae-bad", true, &ek_s[3]},
		{"time-shift", true, &ek_s[4]}, {0, false, NULL}};
	if (cli_parse(argc, argv, 2, opts) < 0)
		return 2;
	if (optind != argc || !train_p || !test_p)
		return cli_fail("usage: " EVAL_USAGE);
	int which = strcmp(model, "bkt") == 0 ? LV_KT_BKT : strcmp(model, "elo") == 0 ? LV_KT_ELO
		    : strcmp(model, "hybrid") == 0 ? LV_KT_HYBRID : strcmp(model, "all") == 0 ? -1 : -2;
	if (which == -2)
		return cli_fail("eval bkt: --model bkt|elo|hybrid|all");
	struct lv_kt_eval_opts eo;
	lv_kt_eval_opts_init(&eo);
	int frc = fit_options("bkt", seed_s, threads_s, forget, &eo.fit);
	if (frc != 0)
		return frc;
	if (elo_s && strcmp(elo_s, "prior-current") == 0)
		eo.elo.mode = LV_ELO_PRIOR_CURRENT;
	else if (elo_s && strcmp(elo_s, "basic") != 0)
		return cli_fail("eval bkt: --elo basic|prior-current");
	double *ek[5] = {&eo.elo.alpha, &eo.elo.beta, &eo.elo.pfae_good, &eo.elo.pfae_bad, &eo.elo.time_shift};
	for (int i = 0; i < 5; i++)
		if (ek_s[i] && !parse_nonneg(ek_s[i], ek[i]))
			return cli_fail("eval bkt: Elo settings must be non-negative numbers") + 1;

	struct lv_kt_data *train = NULL, *test = NULL;
	struct lv_bkt_paramset *ps = NULL;
	int rc = 1;
	if (load("--train", train_p, &train) != 0 || load("--test", test_p, &test) != 0)
		goto out;
	struct lv_kt_eval_result r;
	enum lv_status st = lv_kt_eval(train, test, &eo, &r, &ps);
	if (st != LV_OK) {
		rc = cli_fail("eval bkt: %s", st == LV_ERR_INVALID ? "the training and test sets must not be empty"
								   : lv_status_str(st));
		goto out;
	}
	if (save && save_params("bkt", ps, save) != 0)
		goto out;
	static const char *const names[LV_KT_NMODELS] = {"bkt", "elo", "hybrid"};
	cJSON *o;
	if (which >= 0) {
		o = metrics_json(&r.m[which]);
		cJSON_AddStringToObject(o, "model", names[which]);
	} else {
		o = cJSON_CreateObject();
		for (int m = 0; m < LV_KT_NMODELS; m++)
			cJSON_AddItemToObject(o, names[m], metrics_json(&r.m[m]));
	}
	cJSON_AddNumberToObject(o, "train_rows", (double)r.train_rows);
	cJSON_AddNumberToObject(o, "skills", (double)r.skills);
	cJSON_AddNumberToObject(o, "fit_seconds", r.fit_seconds);
	cJSON_AddBoolToObject(o, "forget", eo.fit.fit_forget);
	cJSON_AddStringToObject(o, "elo_rule", eo.elo.mode == LV_ELO_BASIC ? "basic" : "prior-current");
	if (which == LV_KT_HYBRID || which < 0)
		cJSON_AddItemToObject(o, "hybrid_weights", cJSON_CreateDoubleArray(r.hybrid_w, 3));
	rc = cli_print(o);
out:
	lv_bkt_paramset_destroy(ps);
	lv_kt_data_destroy(train);
	lv_kt_data_destroy(test);
	return rc;
}

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int eval_fit(int argc, char **argv)
{
	const char *data_p = NULL, *save = NULL, *seed_s = NULL, *threads_s = NULL, *forget = NULL;
	const char *t_s[5] = {NULL};
	const struct cli_opt opts[] = {
		{"data", true, &data_p},   {"save-params", true, &save}, {"seed", true, &seed_s},
		{"threads", true, &threads_s}, {"forget", false, &forget}, {"prior", true, &t_s[0]},
		{"learn", true, &t_s[1]},  {"guess", true, &t_s[2]},     {"slip", true, &t_s[3]},
		{"true-forget", true, &t_s[4]}, {0, false, NULL}};
	if (cli_parse(argc, argv, 2, opts) < 0)
		return 2;
	if (optind != argc || !data_p)
		return cli_fail("usage: " EVAL_USAGE);
	int given = 0;
	double truth[5] = {0};
	if (t_s[4] && !parse_prob(t_s[4], &truth[4]))
		return cli_fail("eval fit-bkt: --true-forget must be a number in [0, 1]") + 1;
	for (int i = 0; i < 4; i++) {
		if (!t_s[i])
			continue;
		if (!parse_prob(t_s[i], &truth[i]))
			return cli_fail("eval fit-bkt: the true parameters must be numbers in [0, 1]") + 1;
		given++;
	}
	if (given != 0 && given != 4)
		return cli_fail("eval fit-bkt: give all of --prior --learn --guess --slip, or none");
	struct lv_bkt_fit_opts fo;
	int frc = fit_options("fit-bkt", seed_s, threads_s, forget, &fo);
	if (frc != 0)
		return frc;
	struct lv_kt_data *d = NULL;
	struct lv_bkt_paramset *ps = NULL;
	int rc = 1;
	if (load("--data", data_p, &d) != 0)
		goto out;
	double t0 = mono();
	enum lv_status st = lv_bkt_fit_data(d, &fo, &ps);
	double secs = mono() - t0;
	if (st != LV_OK) {
		rc = cli_fail("eval fit-bkt: %s", lv_status_str(st));
		goto out;
	}
	if (save && save_params("fit-bkt", ps, save) != 0)
		goto out;
	/* Unweighted mean over skills, and (with the truth) the largest
	 * error of any skill's fitted parameter, per parameter. */
	struct lv_bkt_params mean = {0}, p, def, maxerr = {0};
	size_t k = lv_bkt_paramset_count(ps);
	for (size_t i = 0; i < k; i++) {
		lv_bkt_paramset_skill(ps, i, &p);
		mean.prior += p.prior / (double)k;
		mean.learn += p.learn / (double)k;
		mean.guess += p.guess / (double)k;
		mean.slip += p.slip / (double)k;
		mean.forget += p.forget / (double)k;
		maxerr.prior = fmax(maxerr.prior, fabs(p.prior - truth[0]));
		maxerr.learn = fmax(maxerr.learn, fabs(p.learn - truth[1]));
		maxerr.guess = fmax(maxerr.guess, fabs(p.guess - truth[2]));
		maxerr.slip = fmax(maxerr.slip, fabs(p.slip - truth[3]));
		maxerr.forget = fmax(maxerr.forget, fabs(p.forget - truth[4]));
	}
	lv_bkt_paramset_defaults(ps, &def);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "rows", (double)lv_kt_data_rows(d));
	cJSON_AddNumberToObject(o, "learners", (double)lv_kt_data_learners(d));
	cJSON_AddNumberToObject(o, "skills", (double)k);
	cJSON_AddNumberToObject(o, "fit_seconds", secs);
	cJSON_AddItemToObject(o, "defaults", params_json(&def));
	cJSON_AddItemToObject(o, "mean", params_json(&mean));
	if (given)
		cJSON_AddItemToObject(o, "max_abs_error", params_json(&maxerr));
	rc = cli_print(o);
out:
	lv_bkt_paramset_destroy(ps);
	lv_kt_data_destroy(d);
	return rc;
}

static int eval_synth(int argc, char **argv)
{
	const char *l_s = NULL, *k_s = NULL, *r_s = NULL, *seed_s = NULL, *out_p = NULL;
	const char *p_s[5] = {NULL};
	const struct cli_opt opts[] = {
		{"learners", true, &l_s}, {"skills", true, &k_s},  {"responses", true, &r_s},
		{"prior", true, &p_s[0]}, {"learn", true, &p_s[1]}, {"guess", true, &p_s[2]},
		{"slip", true, &p_s[3]},  {"forget", true, &p_s[4]}, {"seed", true, &seed_s},
		{"out", true, &out_p},    {0, false, NULL}};
	if (cli_parse(argc, argv, 2, opts) < 0)
		return 2;
	if (optind != argc || !l_s || !k_s || !r_s || !p_s[0] || !p_s[1] || !p_s[2] || !p_s[3] || !out_p)
		return cli_fail("usage: " EVAL_USAGE);
	uint64_t nl, nk, nr, seed = 1;
	if (!parse_u64(l_s, 10000000, &nl) || !parse_u64(k_s, 100000, &nk) || !parse_u64(r_s, 100000, &nr) ||
	    !nl || !nk || !nr)
		return cli_fail("eval synth-bkt: --learners, --skills and --responses must be positive whole numbers") + 1;
	if (seed_s && !parse_u64(seed_s, UINT64_MAX, &seed))
		return cli_fail("eval synth-bkt: --seed must be a whole number") + 1;
	struct lv_bkt_params p = {0};
	double *f[5] = {&p.prior, &p.learn, &p.guess, &p.slip, &p.forget};
	for (int i = 0; i < 5; i++)
		if (p_s[i] && !parse_prob(p_s[i], f[i]))
			return cli_fail("eval synth-bkt: parameters must be numbers in [0, 1]") + 1;
	if (!lv_bkt_params_valid(&p))
		return cli_fail("eval synth-bkt: guess + slip must be below 1");
	struct lv_kt_data *d = NULL;
	enum lv_status st = lv_kt_synth_bkt(&p, nl, nk, nr, seed, &d);
	if (st != LV_OK)
		return cli_fail("eval synth-bkt: %s", st == LV_ERR_TOO_LARGE ? "more rows than a data set may hold"
									  : lv_status_str(st));
	int rc = 1;
	FILE *f_out = fopen(out_p, "w");
	if (!f_out) {
		rc = cli_fail("eval synth-bkt: cannot create %s", out_p);
		goto out;
	}
	st = lv_kt_data_write_csv(d, f_out);
	if (fclose(f_out) != 0 && st == LV_OK)
		st = LV_ERR_IO;
	if (st != LV_OK) {
		rc = cli_fail("eval synth-bkt: cannot write %s", out_p);
		goto out;
	}
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "out", out_p);
	cJSON_AddNumberToObject(o, "rows", (double)lv_kt_data_rows(d));
	cJSON_AddNumberToObject(o, "learners", (double)lv_kt_data_learners(d));
	cJSON_AddNumberToObject(o, "skills", (double)lv_kt_data_skills(d));
	cJSON_AddItemToObject(o, "params", params_json(&p));
	rc = cli_print(o);
out:
	lv_kt_data_destroy(d);
	return rc;
}

/* eval bkt-dp: the global parameters as `personal fit-global` would learn
 * them through the DP door, on a CSV data set, against the same clipped EM
 * without noise (and the usual per-skill fit's defaults). */
static int eval_dp(int argc, char **argv)
{
	const char *data_p = NULL, *eps_s = NULL, *it_s = NULL, *m_s = NULL, *l_s = NULL, *runs_s = NULL;
	const struct cli_opt opts[] = {
		{"data", true, &data_p}, {"epsilon", true, &eps_s}, {"iterations", true, &it_s},
		{"max-skills", true, &m_s}, {"max-len", true, &l_s}, {"runs", true, &runs_s}, {0, false, NULL}};
	if (cli_parse(argc, argv, 2, opts) < 0)
		return 2;
	if (optind != argc || !data_p)
		return cli_fail("usage: " EVAL_USAGE);
	struct lv_bkt_dp_opts o;
	lv_bkt_dp_opts_init(&o);
	uint64_t u, runs = 5;
	if (eps_s && (!parse_nonneg(eps_s, &o.epsilon) || o.epsilon <= 0 || o.epsilon > 100))
		return cli_fail("eval bkt-dp: --epsilon in (0, 100]") + 1;
	if (it_s && (!parse_u64(it_s, 100, &u) || u < 1 || !(o.iterations = (unsigned)u)))
		return cli_fail("eval bkt-dp: --iterations 1..100") + 1;
	if (m_s && (!parse_u64(m_s, 1000, &u) || u < 1 || !(o.max_skills = (unsigned)u)))
		return cli_fail("eval bkt-dp: --max-skills 1..1000") + 1;
	if (l_s && (!parse_u64(l_s, 1000, &u) || u < 1 || !(o.max_len = (unsigned)u)))
		return cli_fail("eval bkt-dp: --max-len 1..1000") + 1;
	if (runs_s && (!parse_u64(runs_s, 1000, &runs) || runs < 1))
		return cli_fail("eval bkt-dp: --runs 1..1000") + 1;
	struct lv_kt_data *d = NULL;
	if (load("--data", data_p, &d) != 0)
		return 1;
	int rc = 1;
	struct lv_bkt_params np, dp;
	enum lv_status st = lv_bkt_dp_fit_data(d, &o, false, &np);
	if (st != LV_OK) {
		rc = cli_fail("eval bkt-dp: %s", lv_status_str(st));
		goto out;
	}
	cJSON *res = cJSON_CreateObject();
	cJSON_AddNumberToObject(res, "learners", (double)lv_kt_data_learners(d));
	cJSON_AddNumberToObject(res, "epsilon", o.epsilon);
	cJSON_AddNumberToObject(res, "iterations", o.iterations);
	cJSON_AddNumberToObject(res, "max_skills", o.max_skills);
	cJSON_AddNumberToObject(res, "max_len", o.max_len);
	cJSON_AddNumberToObject(res, "sensitivity", (double)lv_bkt_dp_sensitivity(&o) / 1000);
	const char *names[] = {"prior", "learn", "guess", "slip"};
	cJSON *a = cJSON_AddObjectToObject(res, "non_private");
	double nv[4] = {np.prior, np.learn, np.guess, np.slip};
	for (int k = 0; k < 4; k++)
		cJSON_AddNumberToObject(a, names[k], nv[k]);
	cJSON *arr = cJSON_AddArrayToObject(res, "dp_runs");
	double maxdiff = 0, sumdiff = 0;
	for (uint64_t r = 0; r < runs; r++) {
		if ((st = lv_bkt_dp_fit_data(d, &o, true, &dp)) != LV_OK) {
			cJSON_Delete(res);
			rc = cli_fail("eval bkt-dp: %s", lv_status_str(st));
			goto out;
		}
		cJSON *x = cJSON_CreateObject();
		double dv[4] = {dp.prior, dp.learn, dp.guess, dp.slip};
		for (int k = 0; k < 4; k++) {
			cJSON_AddNumberToObject(x, names[k], dv[k]);
			double df = fabs(dv[k] - nv[k]);
			maxdiff = df > maxdiff ? df : maxdiff;
			sumdiff += df;
		}
		cJSON_AddItemToArray(arr, x);
	}
	cJSON_AddNumberToObject(res, "max_abs_diff", maxdiff);
	cJSON_AddNumberToObject(res, "mean_abs_diff", sumdiff / (4.0 * (double)runs));
	rc = cli_print(res);
out:
	lv_kt_data_destroy(d);
	return rc;
}

int cmd_eval(int argc, char **argv)
{
	if (argc < 2)
		return cli_fail("usage: " EVAL_USAGE);
	if (strcmp(argv[1], "fsrs") == 0)
		return cmd_eval_fsrs(argc - 1, argv + 1);
	if (strcmp(argv[1], "bkt") == 0)
		return eval_bkt(argc, argv);
	if (strcmp(argv[1], "fit-bkt") == 0)
		return eval_fit(argc, argv);
	if (strcmp(argv[1], "synth-bkt") == 0)
		return eval_synth(argc, argv);
	if (strcmp(argv[1], "bkt-dp") == 0)
		return eval_dp(argc, argv);
	return cli_fail("usage: " EVAL_USAGE);
}
