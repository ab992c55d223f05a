/* eval fsrs: one-step-ahead recall prediction of FSRS-6 on a review log,
 * with the default parameters and, with --optimize, with parameters fitted
 * to the log itself (on all of it, and on the first part of a time split). */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "learnvault/fsrs.h"
#include "learnvault/util.h"

#define EVAL_FSRS_USAGE                                                                                  \
	"eval fsrs --revlog FILE [--optimize] [--split F] [--retention R] [--max-seq-len N]\n"          \
	"          [--days elapsed|calendar] [--day-start H] [--utc-offset MIN] [--seed N] [--gamma G]"

static bool parse_double(const char *s, double lo, double hi, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

static bool parse_ulong(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;
	if (!*s || *s == '-' || *s == '+')
		return false;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return false;
	*out = v;
	return true;
}

/* NaN (AUC with one class only) is not JSON: null. */
static void add_num(cJSON *o, const char *k, double v)
{
	if (isfinite(v))
		cJSON_AddNumberToObject(o, k, v);
	else
		cJSON_AddNullToObject(o, k);
}

static cJSON *metrics_json(const struct lv_fsrs_metrics *m)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "n", (double)m->n);
	add_num(o, "log_loss", m->log_loss);
	add_num(o, "rmse_bins", m->rmse_bins);
	add_num(o, "auc", m->auc);
	return o;
}

static cJSON *params_json(const struct lv_fsrs_params *p)
{
	cJSON *a = cJSON_CreateArray();
	for (int i = 0; i < LV_FSRS_NPARAMS; i++)
		cJSON_AddItemToArray(a, cJSON_CreateNumber(p->w[i]));
	return a;
}

/* Fits on the reviews selected by @train, evaluates on @test, and reports
 * both the metrics and how the fit went under key @key of @parent. */
static int fit_and_eval(const struct lv_fsrs_log *log, const struct lv_fsrs_opt_config *cfg,
			const struct lv_fsrs_eval_opts *test, cJSON *parent, const char *key,
			struct lv_fsrs_params *w, struct lv_fsrs_metrics *m)
{
	struct lv_fsrs_opt_report rep;
	double t0 = util_mono_s();
	enum lv_status st = lv_fsrs_optimize(log, cfg, w, &rep);
	double secs = util_mono_s() - t0;
	if (st != LV_OK)
		return cli_fail("eval fsrs: optimiser: %s", lv_status_str(st));
	st = lv_fsrs_evaluate(log, w, test, m);
	if (st != LV_OK)
		return cli_fail("eval fsrs: evaluating fitted parameters: %s", lv_status_str(st));
	cJSON *o = metrics_json(m);
	cJSON_AddNumberToObject(o, "train_n", (double)rep.n);
	cJSON_AddBoolToObject(o, "kept_defaults", rep.kept_defaults);
	cJSON_AddNumberToObject(o, "steps", rep.steps);
	cJSON_AddNumberToObject(o, "best_epoch", rep.best_epoch);
	add_num(o, "train_log_loss", rep.loss_fitted);
	cJSON_AddNumberToObject(o, "seconds", round(secs * 1000.0) / 1000.0);
	cJSON_AddItemToObject(parent, key, o);
	return 0;
}

/* The honest variant: fit on the reviews before the instant splitting the
 * log at @fraction (by time) and predict only the later ones, each card
 * replayed through its whole history with the frozen parameters. */
static int split_eval(const struct lv_fsrs_log *log, const struct lv_fsrs_opt_config *cfg,
		      const struct lv_fsrs_eval_opts *eo, double fraction, cJSON *parent)
{
	int64_t cut;
	cJSON *sp = cJSON_AddObjectToObject(parent, "split");
	cJSON_AddNumberToObject(sp, "train_fraction", fraction);
	enum lv_status st = lv_fsrs_log_split_time(log, fraction, &cut);
	struct lv_fsrs_eval_opts te = *eo;
	struct lv_fsrs_metrics sd, sf;
	struct lv_fsrs_params def, sw;
	if (st == LV_OK) {
		char ts[UTIL_TIME_LEN];
		util_time_format(cut, ts);
		cJSON_AddStringToObject(sp, "cutoff", ts);
		te.score_from_ms = cut;
		lv_fsrs_params_default(&def);
		st = lv_fsrs_evaluate(log, &def, &te, &sd);
	}
	if (st != LV_OK) {
		cJSON_AddStringToObject(sp, "skipped", st == LV_ERR_NOT_FOUND ? "too few reviews on one side of the split"
									      : lv_status_str(st));
		return 0;
	}
	cJSON_AddItemToObject(sp, "default", metrics_json(&sd));
	struct lv_fsrs_opt_config tc = *cfg;
	tc.data.until_ms = cut;
	return fit_and_eval(log, &tc, &te, sp, "optimized", &sw, &sf);
}

/* The command line, read. */
struct eval_fsrs_args {
	const char *revlog;
	bool optimize;
	double retention, split;
	struct lv_fsrs_eval_opts eo;
	struct lv_fsrs_opt_config cfg;
};

/* --max-seq-len, --days, --day-start and --utc-offset (how reviews are
 * replayed) into @eo.  Returns 0, or 1 after saying why. */
static int replay_opts(const char *msl_s, const char *days_s, const char *hour_s, const char *off_s,
		       struct lv_fsrs_eval_opts *eo)
{
	unsigned long long u;
	double d;
	if (msl_s) {
		if (!parse_ulong(msl_s, UINT32_MAX, &u))
			return cli_fail("eval fsrs: --max-seq-len must be a whole number (0: all reviews)") + 1;
		eo->max_seq_len = (uint32_t)u;
	}
	if (days_s) {
		if (strcmp(days_s, "elapsed") == 0)
			eo->days = LV_FSRS_DAYS_ELAPSED;
		else if (strcmp(days_s, "calendar") == 0)
			eo->days = LV_FSRS_DAYS_CALENDAR;
		else
			return cli_fail("eval fsrs: --days elapsed|calendar");
	}
	if (hour_s) {
		if (!parse_ulong(hour_s, 23, &u))
			return cli_fail("eval fsrs: --day-start must be an hour 0..23") + 1;
		eo->day_start_hour = (uint32_t)u;
	}
	if (off_s) {
		if (!parse_double(off_s, -1439, 1439, &d) || d != floor(d))
			return cli_fail("eval fsrs: --utc-offset must be whole minutes in -1439..1439") + 1;
		eo->utc_offset_min = (int32_t)d;
	}
	return 0;
}

/* Reads the options into @a.  Returns 0, or the exit code. */
static int eval_fsrs_args(int argc, char **argv, struct eval_fsrs_args *a)
{
	const char *optimize = NULL, *split_s = NULL, *ret_s = NULL, *msl_s = NULL;
	const char *days_s = NULL, *hour_s = NULL, *off_s = NULL, *seed_s = NULL, *gamma_s = NULL;
	a->revlog = NULL;
	const struct cli_opt opts[] = {
		{"revlog", true, &a->revlog},    {"optimize", false, &optimize}, {"split", true, &split_s},
		{"retention", true, &ret_s},     {"max-seq-len", true, &msl_s},  {"days", true, &days_s},
		{"day-start", true, &hour_s},    {"utc-offset", true, &off_s},   {"seed", true, &seed_s},
		{"gamma", true, &gamma_s},       {0, false, NULL}};
	if (cli_parse(argc, argv, 1, opts) < 0)
		return 2;
	if (optind != argc || !a->revlog)
		return cli_fail("usage: " EVAL_FSRS_USAGE);

	lv_fsrs_eval_opts_default(&a->eo);
	lv_fsrs_opt_config_default(&a->cfg);
	a->optimize = optimize != NULL;
	a->retention = 0.9;
	a->split = 0.8;
	unsigned long long u;
	if (ret_s && !(parse_double(ret_s, 0.0, 1.0, &a->retention) && a->retention > 0.0 && a->retention < 1.0))
		return cli_fail("eval fsrs: --retention must be a number in (0, 1)") + 1;
	if (split_s && !(parse_double(split_s, 0.0, 1.0, &a->split) && a->split < 1.0))
		return cli_fail("eval fsrs: --split must be in [0, 1) (0: no split evaluation)") + 1;
	int rc = replay_opts(msl_s, days_s, hour_s, off_s, &a->eo);
	if (rc != 0)
		return rc;
	if (seed_s) {
		if (!parse_ulong(seed_s, UINT64_MAX, &u))
			return cli_fail("eval fsrs: --seed must be a whole number") + 1;
		a->cfg.seed = u;
	}
	if (gamma_s && !parse_double(gamma_s, 0.0, 1e6, &a->cfg.gamma))
		return cli_fail("eval fsrs: --gamma must be a number >= 0") + 1;
	a->cfg.data = a->eo;
	return 0;
}

/* Reads and parses the review log @revlog; *@text (free()) and *@log
 * (lv_fsrs_log_destroy) are the caller's, also on failure.  Returns 0, or
 * 1 after saying why. */
static int load_log(const char *revlog, char **text, struct lv_fsrs_log **log)
{
	size_t len = 0;
	char err[LV_FSRS_ERR_LEN];
	enum lv_status st = util_read_file(revlog, LV_FSRS_CSV_MAX_BYTES, text, &len);
	if (st != LV_OK)
		return cli_fail("eval fsrs: cannot read %s: %s", revlog,
				st == LV_ERR_TOO_LARGE ? "larger than the 256 MiB cap" : lv_status_str(st));
	st = lv_fsrs_log_parse_csv(*text, len, log, err);
	if (st != LV_OK)
		return cli_fail("eval fsrs: %s: %s", revlog, err);
	return 0;
}

/* Evaluates the default parameters and, with --optimize, fitted ones (and
 * the time split); each section goes into @sections.  *@chosen and *@mm:
 * the parameters reported and their metrics.  Returns 0, or 1 after
 * saying why. */
static int evaluate(const struct eval_fsrs_args *a, const struct lv_fsrs_log *log, cJSON *sections,
		    struct lv_fsrs_params *chosen, struct lv_fsrs_metrics *mm)
{
	struct lv_fsrs_params def, fitted;
	struct lv_fsrs_metrics m_def = {0}, m_fit = {0};
	lv_fsrs_params_default(&def);
	enum lv_status st = lv_fsrs_evaluate(log, &def, &a->eo, &m_def);
	if (st != LV_OK)
		return cli_fail("eval fsrs: %s: %s", a->revlog,
				st == LV_ERR_NOT_FOUND ? "no review to predict (each card needs a review on a later day)"
						       : lv_status_str(st));
	*chosen = def;
	*mm = m_def;
	cJSON_AddItemToObject(sections, "default", metrics_json(&m_def));
	if (!a->optimize)
		return 0;
	if (fit_and_eval(log, &a->cfg, &a->eo, sections, "optimized", &fitted, &m_fit) != 0)
		return 1;
	*chosen = fitted;
	*mm = m_fit;
	if (a->split > 0.0 && split_eval(log, &a->cfg, &a->eo, a->split, sections) != 0)
		return 1;
	return 0;
}

/* The printed object: the main numbers first, then @sections (emptied
 * into it), the parameters and the retention. */
static cJSON *result_json(const struct eval_fsrs_args *a, const struct lv_fsrs_log *log,
			  const struct lv_fsrs_params *chosen, const struct lv_fsrs_metrics *mm, cJSON *sections)
{
	cJSON *out = cJSON_CreateObject();
	cJSON_AddNumberToObject(out, "n", (double)mm->n);
	add_num(out, "log_loss", mm->log_loss);
	add_num(out, "rmse_bins", mm->rmse_bins);
	add_num(out, "auc", mm->auc);
	cJSON_AddStringToObject(out, "params_source", a->optimize ? "optimized" : "default");
	cJSON_AddNumberToObject(out, "reviews", (double)lv_fsrs_log_reviews(log));
	cJSON_AddNumberToObject(out, "cards", (double)lv_fsrs_log_cards(log));
	while (sections->child) {
		cJSON *c = cJSON_DetachItemViaPointer(sections, sections->child);
		char *key = c->string;
		c->string = NULL;
		cJSON_AddItemToObject(out, key, c);
		cJSON_free(key);
	}
	cJSON_AddItemToObject(out, "params", params_json(chosen));
	cJSON_AddNumberToObject(out, "retention", a->retention);
	return out;
}

/* What the parameters mean for scheduling: whole days until the next
 * review after a new card's first grade, at the desired retention.
 * Returns 0, or 1 after saying why. */
static int add_first_intervals(cJSON *out, const struct lv_fsrs_params *chosen, double retention)
{
	cJSON *iv = cJSON_AddArrayToObject(out, "first_intervals");
	for (int g = LV_FSRS_AGAIN; g <= LV_FSRS_EASY; g++) {
		struct lv_fsrs_state s0;
		uint32_t days = 0;
		if (lv_fsrs_init(chosen, g, &s0) != LV_OK ||
		    lv_fsrs_interval_days(chosen, s0.stability, retention, 36500, &days) != LV_OK)
			return cli_fail("eval fsrs: internal error computing intervals");
		cJSON_AddItemToArray(iv, cJSON_CreateNumber(days));
	}
	return 0;
}

int cmd_eval_fsrs(int argc, char **argv)
{
	struct eval_fsrs_args a;
	int rc = eval_fsrs_args(argc, argv, &a);
	if (rc != 0)
		return rc;
	rc = 1;
	char *text = NULL;
	struct lv_fsrs_log *log = NULL;
	struct lv_fsrs_params chosen;
	struct lv_fsrs_metrics mm = {0};
	/* Sections are built apart and assembled at the end so that the main
	 * numbers come first in the printed object. */
	cJSON *out = NULL, *sections = cJSON_CreateObject();
	if (load_log(a.revlog, &text, &log) != 0 || evaluate(&a, log, sections, &chosen, &mm) != 0)
		goto out;
	out = result_json(&a, log, &chosen, &mm, sections);
	if (add_first_intervals(out, &chosen, a.retention) != 0)
		goto out;
	rc = cli_print(out);
	out = NULL;
out:
	cJSON_Delete(sections);
	cJSON_Delete(out);
	lv_fsrs_log_destroy(log);
	free(text);
	return rc;
}
