/* learnvault — learner models for personalisation: Bayesian Knowledge
 * Tracing (BKT), Elo ability/difficulty, and the knowledge-tracing
 * evaluation harness (metrics, response CSVs, one-step-ahead evaluation).
 * FSRS: see fsrs.h.
 *
 * These are models, not privacy mechanisms: plain doubles, deterministic
 * given a seed, no secrets.  Nothing here touches a node; callers feed
 * responses they have read from a learner's own vault (or a data set), and
 * parameters from a parameter file.  docs/personalization.md describes the
 * formulas in words.
 *
 * Conventions: output parameters come last and are cleared (zeroed / set to
 * NULL) when a call fails; LV_ERR_INVALID for arguments that break the
 * contract; LV_ERR_NOMEM when an allocation fails.  A response is "correct"
 * (1) or not (0); any other byte in an observation array is LV_ERR_INVALID.
 */
#ifndef LEARNVAULT_PERSONAL_H
#define LEARNVAULT_PERSONAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "learnvault/status.h"

#ifdef __cplusplus
extern "C" {
#endif

struct lv_node;

/* Size of the error-message buffers filled by the parsers below. */
#define LV_PERSONAL_ERR_LEN LV_ERR_LEN

/* ======================================================================
 * BKT: a two-state hidden Markov model per skill (unknown, known).
 * ====================================================================== */

/* P(known) at or above which a skill counts as mastered. */
#define LV_BKT_MASTERY 0.95
/* Fitting keeps every probability in [LV_BKT_P_MIN, 1 - LV_BKT_P_MIN] and
 * guess and slip at or below LV_BKT_GS_MAX, so that "known" stays the state
 * that answers correctly (identifiability). */
#define LV_BKT_P_MIN 1e-6
#define LV_BKT_GS_MAX 0.4999

/* prior: P(known) before the first response; learn: P(unknown -> known)
 * after each response; forget: P(known -> unknown) (usually 0); guess:
 * P(correct | unknown); slip: P(wrong | known). */
struct lv_bkt_params {
	double prior, learn, guess, slip, forget;
};

/* The library's fallback parameters (prior 0.2, learn 0.1, guess 0.2,
 * slip 0.1, forget 0), used where neither a file nor a fit says more. */
LV_EXPORT void lv_bkt_params_default(struct lv_bkt_params *out);

/* True when every field is finite and in [0, 1] and guess + slip < 1 (a
 * correct answer is then evidence of knowing).  NULL is not valid. */
LV_EXPORT bool lv_bkt_params_valid(const struct lv_bkt_params *p);

/* The filter, the trace and the E-step use guess and slip clamped to
 * [1e-10, 1 - 1e-10], so that no response sequence has probability 0
 * (the vectors' values are far from these bounds). */

/* P(correct) of the next response when P(known) is @known:
 * known (1 - slip) + (1 - known) guess. */
LV_EXPORT double lv_bkt_p_correct(const struct lv_bkt_params *p, double known);

/* One filter step: P(known) after observing @correct (Bayes), then the
 * learn/forget transition.  Returns P(known) before the next response;
 * *@posterior (may be NULL) gets P(known | this response). */
LV_EXPORT double lv_bkt_step(const struct lv_bkt_params *p, double known, bool correct, double *posterior);

/* One row of a trace: the state before response t, the prediction made
 * from it, and the posterior after seeing response t. */
struct lv_bkt_trace_row {
	double known;     /* P(known) before response t */
	double p_correct; /* predicted P(correct) for response t */
	double posterior; /* P(known | responses 0..t) */
};

/* Runs the filter over @obs[0..@n) from P(known) = prior.  @rows (n
 * entries, caller's memory; may be NULL) receives one row per response;
 * *@known_next (may be NULL) the P(known) after the last transition (=
 * the mastery estimate for the next response); *@loglik (may be NULL) the
 * sequence log-likelihood sum log P(o_t | o_<t).  LV_ERR_INVALID for
 * invalid @p or an observation other than 0/1. */
LV_EXPORT enum lv_status lv_bkt_trace(const struct lv_bkt_params *p, const uint8_t *obs, size_t n,
				      struct lv_bkt_trace_row *rows, double *known_next,
				      double *loglik) LV_WARN_UNUSED;

/* Expected sufficient statistics of one or more sequences (the E-step of
 * Baum-Welch).  All fields but loglik are non-negative; for one sequence
 * capped at L responses, sequences = 1, known0 <= 1 and every other field
 * except loglik is <= L, so per-learner contributions are bounded and can
 * be summed (later: through a DP aggregate) before lv_bkt_mstep().  loglik
 * is for convergence checks only: it is unbounded and must not leave the
 * learner's device. */
struct lv_bkt_counts {
	double sequences;       /* number of sequences */
	double known0;          /* sum of P(known at the first response) */
	double unknown_trans;   /* sum over transitions of P(unknown before) */
	double learned;         /* sum over transitions of P(unknown -> known) */
	double known_trans;     /* sum over transitions of P(known before) */
	double forgot;          /* sum over transitions of P(known -> unknown) */
	double unknown_obs;     /* sum over responses of P(unknown) */
	double unknown_correct; /* ... of P(unknown) on correct responses */
	double known_obs;       /* sum over responses of P(known) */
	double known_wrong;     /* ... of P(known) on wrong responses */
	double responses;       /* responses counted */
	double loglik;          /* log-likelihood under the given parameters */
};

/* E-step for one skill's sequence @obs[0..@n) of one learner under @p:
 * forward-backward posteriors summed into a fresh *@out.  Only the first
 * @max_len responses are used when @max_len > 0 (the bound above); 0 means
 * all.  @n = 0 gives all-zero counts.  LV_ERR_INVALID for invalid @p or an
 * observation other than 0/1; LV_ERR_NOMEM for long sequences whose work
 * space cannot be allocated. */
LV_EXPORT enum lv_status lv_bkt_estep(const struct lv_bkt_params *p, const uint8_t *obs, size_t n,
				      size_t max_len, struct lv_bkt_counts *out) LV_WARN_UNUSED;

/* *@acc += *@c, field by field. */
LV_EXPORT void lv_bkt_counts_add(struct lv_bkt_counts *acc, const struct lv_bkt_counts *c);

/* M-step: the parameters maximising the expected log-likelihood given the
 * summed counts (prior = known0/sequences, learn = learned/unknown_trans,
 * forget = forgot/known_trans if @fit_forget else @fallback->forget,
 * guess = unknown_correct/unknown_obs, slip = known_wrong/known_obs), each
 * clamped to [LV_BKT_P_MIN, 1 - LV_BKT_P_MIN] and guess/slip to
 * LV_BKT_GS_MAX.  A field whose denominator is (nearly) zero keeps
 * @fallback's value.  @out may alias @fallback. */
LV_EXPORT void lv_bkt_mstep(const struct lv_bkt_counts *sum, bool fit_forget,
			    const struct lv_bkt_params *fallback, struct lv_bkt_params *out);

/* EM options.  Defaults (lv_bkt_fit_opts_init) follow pyBKT: 5 restarts,
 * at most 100 iterations, stop when the total log-likelihood changes by
 * <= 1e-3, starts prior~U(0,1) learn~U(0,0.4) guess~U(0,0.4)
 * slip~U(0,0.3) (forget~U(0,0.2) when fitted, else 0), seed 42, forget not
 * fitted, threads 0 (= the number of online CPUs, at most 8). */
struct lv_bkt_fit_opts {
	unsigned restarts;  /* >= 1 */
	unsigned max_iter;  /* >= 1 */
	double tol;         /* >= 0 */
	uint64_t seed;      /* makes the restarts reproducible */
	bool fit_forget;    /* fit forget too; otherwise it stays 0 */
	/* When non-NULL, restart 0 starts here instead of at a random point
	 * (borrowed for the call). */
	const struct lv_bkt_params *start;
	unsigned threads;   /* lv_bkt_fit_data only; 0 = automatic */
};
LV_EXPORT void lv_bkt_fit_opts_init(struct lv_bkt_fit_opts *o);

/* One response sequence of one learner on one skill, in time order, with a
 * multiplicity (identical sequences may be passed once with their count). */
struct lv_bkt_seq {
	const uint8_t *obs;
	size_t len;
	double weight; /* >= 0 */
};

/* What a fit did. */
struct lv_bkt_fit_info {
	double loglik;        /* weighted log-likelihood of the result */
	unsigned iterations;  /* EM iterations of the best restart */
	unsigned restart;     /* index of the best restart */
};

/* Fits one skill's parameters by EM (Baum-Welch) over @seqs[0..@n):
 * @opts->restarts runs from the starts above, each iterating E-step (sum of
 * lv_bkt_estep over the sequences) and M-step until the log-likelihood
 * changes by <= tol or max_iter is reached; the restart with the highest
 * log-likelihood wins.  Deterministic for a given seed.  @info may be NULL.
 * LV_ERR_INVALID for bad options, a bad observation or no responses at
 * all. */
LV_EXPORT enum lv_status lv_bkt_fit(const struct lv_bkt_seq *seqs, size_t n, const struct lv_bkt_fit_opts *opts,
				    struct lv_bkt_params *out, struct lv_bkt_fit_info *info) LV_WARN_UNUSED;

/* ---- global parameters through differential privacy (bkt_dp.c) ----
 *
 * One parameter set shared by all skills (the parameter file's defaults),
 * learned by EM whose E-step is a DP sum over learners.  A learner's
 * contribution is the ten summed E-step fields (sequences, known0,
 * unknown_trans, learned, known_trans, forgot, unknown_obs,
 * unknown_correct, known_obs, known_wrong) of at most @max_skills of their
 * skill sequences (the longest), each cut to @max_len responses, in
 * fixed point (1/1000, floored).  Its L1 norm is at most
 * lv_bkt_dp_sensitivity() = 4000 * max_skills * max_len.  Each of the
 * @iterations steps spends epsilon / iterations (basic composition). */
#define LV_BKT_DP_FIELDS 10
struct lv_bkt_dp_opts {
	double epsilon;      /* total, (0, 100] */
	unsigned iterations; /* EM steps, 1..100 (default 5) */
	unsigned max_skills; /* sequences counted per learner, 1..1000 (default 10) */
	unsigned max_len;    /* responses counted per sequence, 1..1000 (default 20) */
	bool fit_forget;
};
LV_EXPORT void lv_bkt_dp_opts_init(struct lv_bkt_dp_opts *o);
/* The L1 sensitivity of one contribution, in 1/1000 units. */
LV_EXPORT uint64_t lv_bkt_dp_sensitivity(const struct lv_bkt_dp_opts *o);
/* One learner's contribution under @p from their sequences @seqs[0..@n)
 * (weights ignored).  @out is zeroed on failure. */
LV_EXPORT enum lv_status lv_bkt_dp_contribution(const struct lv_bkt_params *p, const struct lv_bkt_seq *seqs,
						size_t n, const struct lv_bkt_dp_opts *o,
						int64_t out[LV_BKT_DP_FIELDS]) LV_WARN_UNUSED;
struct lv_dp_rng;
/* One DP-EM step: @sum (of contributions) plus exact discrete Laplace noise
 * into @noisy -- eps_micro / 10^6 split in three equal parts: the sequence
 * fields (L1 bound 2m), the transition fields (2m(l-1)) and the response
 * fields (2ml), each noised at scale bound / its part -- then the
 * M-step from the noisy sums (negative values read as 0) starting from
 * @cur into @next (may alias @cur).  @rng NULL: no noise (the non-private
 * fit with the same clipping, for comparison only). */
LV_EXPORT enum lv_status lv_bkt_dp_step(struct lv_dp_rng *rng, const int64_t sum[LV_BKT_DP_FIELDS],
					uint64_t eps_micro, const struct lv_bkt_dp_opts *o,
					const struct lv_bkt_params *cur, struct lv_bkt_params *next,
					int64_t noisy[LV_BKT_DP_FIELDS]) LV_WARN_UNUSED;

/* ---- parameter sets and the parameter file ---- */

/* Caps of the parameter file. */
#define LV_BKT_PARAMS_MAX_BYTES (8u << 20)
#define LV_BKT_PARAMS_MAX_SKILLS 100000u
#define LV_PERSONAL_NAME_MAX 256 /* bytes of a learner or skill id */

/* Defaults plus per-skill parameters, keyed by skill id. */
struct lv_bkt_paramset;

/* A set with @defaults (NULL: lv_bkt_params_default) and no skills.
 * Destroy with lv_bkt_paramset_destroy(). */
LV_EXPORT enum lv_status lv_bkt_paramset_create(const struct lv_bkt_params *defaults,
						struct lv_bkt_paramset **out) LV_WARN_UNUSED;
LV_EXPORT void lv_bkt_paramset_destroy(struct lv_bkt_paramset *ps);

/* Sets (or replaces) the parameters of @skill (copied; 1..LV_PERSONAL_NAME_MAX
 * bytes).  LV_ERR_INVALID for invalid params or id, LV_ERR_TOO_LARGE past
 * LV_BKT_PARAMS_MAX_SKILLS. */
LV_EXPORT enum lv_status lv_bkt_paramset_set(struct lv_bkt_paramset *ps, const char *skill,
					     const struct lv_bkt_params *p) LV_WARN_UNUSED;
/* Replaces the defaults (LV_ERR_INVALID if invalid). */
LV_EXPORT enum lv_status lv_bkt_paramset_set_defaults(struct lv_bkt_paramset *ps,
						      const struct lv_bkt_params *p) LV_WARN_UNUSED;
/* The parameters for @skill into *@out: the skill's own if set (returns
 * true), else the defaults (returns false). */
LV_EXPORT bool lv_bkt_paramset_get(const struct lv_bkt_paramset *ps, const char *skill, struct lv_bkt_params *out);
LV_EXPORT void lv_bkt_paramset_defaults(const struct lv_bkt_paramset *ps, struct lv_bkt_params *out);
/* Number of skills with their own parameters, and the @i-th (insertion
 * order): returns its id (owned by the set, valid until the set changes or
 * is destroyed) and fills *@out, or NULL when @i is out of range. */
LV_EXPORT size_t lv_bkt_paramset_count(const struct lv_bkt_paramset *ps);
LV_EXPORT const char *lv_bkt_paramset_skill(const struct lv_bkt_paramset *ps, size_t i, struct lv_bkt_params *out);

/* Parses a parameter file:
 *   {"format": "learnvault-bkt-params", "version": 1,
 *    "defaults": {"prior": p, "learn": p, "guess": p, "slip": p, "forget": p},
 *    "skills": {"<skill id>": {<any subset of the five>}, ...}}
 * "defaults" needs all five fields except forget (0 when absent); a skill
 * entry overrides the fields it names and inherits the rest from defaults;
 * "skills" is optional.  Every resulting parameter set must be valid
 * (lv_bkt_params_valid).  Unknown keys, duplicate keys, wrong types and
 * more than LV_BKT_PARAMS_MAX_BYTES / _MAX_SKILLS are rejected with a
 * reason in @err.  The set is the caller's (lv_bkt_paramset_destroy). */
LV_EXPORT enum lv_status lv_bkt_paramset_parse(const char *text, size_t len, struct lv_bkt_paramset **out,
					       char err[LV_PERSONAL_ERR_LEN]) LV_WARN_UNUSED;
/* lv_bkt_paramset_parse() of the file at @path (LV_ERR_IO if unreadable,
 * LV_ERR_TOO_LARGE over the cap). */
LV_EXPORT enum lv_status lv_bkt_paramset_load(const char *path, struct lv_bkt_paramset **out,
					      char err[LV_PERSONAL_ERR_LEN]) LV_WARN_UNUSED;
/* The set in the file format above (all five fields for every skill),
 * pretty-printed; *@json is malloc'd, the caller frees it. */
LV_EXPORT enum lv_status lv_bkt_paramset_json(const struct lv_bkt_paramset *ps, char **json) LV_WARN_UNUSED;
/* Writes lv_bkt_paramset_json() to @path atomically (mode 0644). */
LV_EXPORT enum lv_status lv_bkt_paramset_save(const struct lv_bkt_paramset *ps, const char *path) LV_WARN_UNUSED;

/* ======================================================================
 * Elo: learner ability theta, item difficulty b.
 * ====================================================================== */

/* Two update rules (Pelanek 2016; Pelanek et al. 2017):
 *  - LV_ELO_BASIC: P = g + (1 - g) sigmoid(theta - b); after every answer
 *    y in {0,1}: theta += K(n_l)(y - P), b -= K(n_i)(y - P), then both
 *    counts grow by one.  K(n) = alpha / (1 + beta n).
 *  - LV_ELO_PRIOR_CURRENT ("prior + current knowledge"): theta and b are
 *    the prior knowledge and are updated as above but only on a learner's
 *    first answer to an item; each (learner, item) pair also has a current
 *    skill c, starting at theta - b (before that first update) and moved
 *    after every answer by +pfae_good (1 - P) when correct, -pfae_bad P when
 *    wrong.  P = g + (1 - g) sigmoid(c + time_shift / dt) where dt is the
 *    seconds since the pair's previous answer (the term is dropped when
 *    either time is unknown or on the first answer).
 * g is the guessing floor: 1/k for an item with k >= 2 options, else 0. */
enum lv_elo_mode {
	LV_ELO_BASIC = 0,
	LV_ELO_PRIOR_CURRENT = 1,
};

struct lv_elo_config {
	enum lv_elo_mode mode;
	double alpha, beta;          /* K(n) = alpha / (1 + beta n); 0.8, 0.05 */
	double pfae_good, pfae_bad;  /* current-skill steps; 3.4, 0.3 */
	double time_shift;           /* seconds; 80 */
	bool freeze_items;           /* answers never change b or item counts */
};
/* Defaults: LV_ELO_PRIOR_CURRENT with the values above, items not frozen. */
LV_EXPORT void lv_elo_config_default(struct lv_elo_config *c);

/* The step size alpha / (1 + beta n). */
LV_EXPORT double lv_elo_k(double alpha, double beta, uint32_t n);
/* g + (1 - g) sigmoid(@x) with g = 1/@options for @options >= 2, else 0. */
LV_EXPORT double lv_elo_prob(double x, unsigned options);

/* Learners and items, keyed by id (1..LV_PERSONAL_NAME_MAX bytes, copied).
 * Unknown learners and items start at 0 with count 0. */
struct lv_elo;
LV_EXPORT enum lv_status lv_elo_create(const struct lv_elo_config *c, struct lv_elo **out) LV_WARN_UNUSED;
LV_EXPORT void lv_elo_destroy(struct lv_elo *e);

/* Sets an item's difficulty, answer count and number of options (0 or 1:
 * open answer, no guessing floor).  LV_ERR_INVALID for a non-finite @b. */
LV_EXPORT enum lv_status lv_elo_item_set(struct lv_elo *e, const char *item, double b, uint32_t n,
					 unsigned options) LV_WARN_UNUSED;
/* Reads an item / a learner; false (and zeros) when never seen. */
LV_EXPORT bool lv_elo_item_get(const struct lv_elo *e, const char *item, double *b, uint32_t *n);
LV_EXPORT bool lv_elo_learner_get(const struct lv_elo *e, const char *learner, double *theta, uint32_t *n);

/* Predicted P(correct) of @learner on @item at time @now (seconds, any
 * epoch; NAN when unknown).  Changes nothing. */
LV_EXPORT enum lv_status lv_elo_predict(const struct lv_elo *e, const char *learner, const char *item,
					double now, double *p) LV_WARN_UNUSED;
/* Records an answer: predicts as above (into *@p_before, may be NULL),
 * then applies the update of the configured mode. */
LV_EXPORT enum lv_status lv_elo_answer(struct lv_elo *e, const char *learner, const char *item, bool correct,
				       double now, double *p_before) LV_WARN_UNUSED;

/* Orders candidate items for practice: @order (caller's, @n entries)
 * receives the indices 0..@n-1 of @items sorted by |P(correct) - @target|
 * (ties: lower index first), so order[0..k) are the k items nearest the
 * target success rate.  @target in (0, 1); LV_ELO_TARGET is the usual
 * choice. */
#define LV_ELO_TARGET 0.75
LV_EXPORT enum lv_status lv_elo_pick(const struct lv_elo *e, const char *learner, const char *const *items,
				     size_t n, double target, double now, size_t *order) LV_WARN_UNUSED;

/* ======================================================================
 * Knowledge-tracing data and evaluation.
 * ====================================================================== */

/* Response CSV: one response per line, "learner,skill,correct[,time]",
 * each learner's rows in time order (learners may interleave).  An
 * optional first line "learner,skill,correct" or "learner,skill,correct,time"
 * is a header.  Ids are 1..LV_PERSONAL_NAME_MAX bytes without commas,
 * quotes or control characters; correct is 0 or 1; time (seconds, a
 * decimal number) is on every row or on none and never decreases within a
 * learner.  Lines end in LF or CRLF and hold at most LV_KT_LINE_MAX bytes. */
#define LV_KT_LINE_MAX 1024
#define LV_KT_MAX_ROWS_DEFAULT 20000000u

struct lv_kt_data;
/* An empty data set (destroy with lv_kt_data_destroy). */
LV_EXPORT enum lv_status lv_kt_data_create(struct lv_kt_data **out) LV_WARN_UNUSED;
LV_EXPORT void lv_kt_data_destroy(struct lv_kt_data *d);
/* Appends a response (ids copied).  @time is NAN for none.  LV_ERR_INVALID
 * for a bad id, a time that breaks the rules above; LV_ERR_TOO_LARGE past
 * LV_KT_MAX_ROWS_DEFAULT rows. */
LV_EXPORT enum lv_status lv_kt_data_add(struct lv_kt_data *d, const char *learner, const char *skill, bool correct,
					double time) LV_WARN_UNUSED;
/* Parses CSV text / a CSV file into a new data set; at most @max_rows rows
 * (0: LV_KT_MAX_ROWS_DEFAULT; more is LV_ERR_TOO_LARGE).  On error @err says
 * what and on which line ("line 7: correct must be 0 or 1"). */
LV_EXPORT enum lv_status lv_kt_data_parse_csv(const char *text, size_t len, size_t max_rows,
					      struct lv_kt_data **out, char err[LV_PERSONAL_ERR_LEN]) LV_WARN_UNUSED;
LV_EXPORT enum lv_status lv_kt_data_load_csv(const char *path, size_t max_rows, struct lv_kt_data **out,
					     char err[LV_PERSONAL_ERR_LEN]) LV_WARN_UNUSED;
/* Writes the data set as CSV with a header (time column when it has times). */
LV_EXPORT enum lv_status lv_kt_data_write_csv(const struct lv_kt_data *d, FILE *f) LV_WARN_UNUSED;
LV_EXPORT size_t lv_kt_data_rows(const struct lv_kt_data *d);
LV_EXPORT size_t lv_kt_data_learners(const struct lv_kt_data *d);
LV_EXPORT size_t lv_kt_data_skills(const struct lv_kt_data *d);

/* Synthetic responses from known BKT parameters @p (the same for every
 * skill): @learners learners ("L1".."Ln") each answer @responses items on
 * each of @skills skills ("S1".."Sk"); each learner's skills interleave in
 * a random order.  Deterministic for a seed. */
LV_EXPORT enum lv_status lv_kt_synth_bkt(const struct lv_bkt_params *p, size_t learners, size_t skills,
					 size_t responses, uint64_t seed, struct lv_kt_data **out) LV_WARN_UNUSED;

/* Fits BKT per skill of @d (each learner's responses on the skill, in
 * order, are one sequence; identical sequences are merged with a weight)
 * with lv_bkt_fit, skills spread over @opts->threads threads.  Each skill's
 * restarts are seeded from @opts->seed and the skill id, so a skill's fit
 * does not depend on the other skills.  The defaults of the result are the
 * response-weighted means of the skills' parameters.  @opts NULL: defaults. */
LV_EXPORT enum lv_status lv_bkt_fit_data(const struct lv_kt_data *d, const struct lv_bkt_fit_opts *opts,
					 struct lv_bkt_paramset **out) LV_WARN_UNUSED;

/* DP-EM over a data set, each learner one contribution (the simulation of
 * what `learnvault personal fit-global` does on a node): from the default
 * parameters, @o->iterations steps.  @private_release false: the same
 * clipped EM without noise.  LV_ERR_INVALID for bad options or no data. */
LV_EXPORT enum lv_status lv_bkt_dp_fit_data(const struct lv_kt_data *d, const struct lv_bkt_dp_opts *o,
					    bool private_release, struct lv_bkt_params *out) LV_WARN_UNUSED;

/* Metrics of predictions @p against outcomes @y (0/1), @n >= 1:
 * auc exact (rank-based, tied predictions share their mean rank; NAN when
 * only one class occurs), rmse, and log loss with p clipped to
 * [LV_KT_LOGLOSS_EPS, 1 - LV_KT_LOGLOSS_EPS]. */
#define LV_KT_LOGLOSS_EPS 1e-15
struct lv_kt_metrics {
	double auc, rmse, log_loss;
	size_t n;
};
LV_EXPORT enum lv_status lv_kt_metrics(const double *p, const uint8_t *y, size_t n,
				       struct lv_kt_metrics *out) LV_WARN_UNUSED;

/* One-step-ahead evaluation of three predictors:
 *  - bkt: per-skill parameters fitted on @train (lv_bkt_fit_data); each
 *    test (learner, skill) starts at the skill's prior and is filtered over
 *    that learner's earlier test responses on the skill.  Skills unseen in
 *    training use the set's defaults.
 *  - elo: item = skill; difficulties learned by one pass over @train (in
 *    row order), then frozen; every test learner starts at theta 0 and
 *    updates on their own earlier test responses.
 *  - hybrid: logistic regression on (logit p_bkt, logit p_elo, 1), weights
 *    fitted by Newton's method on the training responses (BKT filtered with
 *    the fitted parameters, Elo from its training pass).
 * Each test response is predicted before it is used. */
enum lv_kt_model {
	LV_KT_BKT = 0,
	LV_KT_ELO = 1,
	LV_KT_HYBRID = 2,
};
#define LV_KT_NMODELS 3

struct lv_kt_eval_opts {
	struct lv_bkt_fit_opts fit;
	struct lv_elo_config elo; /* freeze_items is set by the harness */
};
/* Defaults: lv_bkt_fit_opts_init, and lv_elo_config_default but with
 * mode LV_ELO_BASIC (items are skills answered many times; see
 * docs/personalization.md). */
LV_EXPORT void lv_kt_eval_opts_init(struct lv_kt_eval_opts *o);

struct lv_kt_eval_result {
	struct lv_kt_metrics m[LV_KT_NMODELS]; /* indexed by enum lv_kt_model */
	double hybrid_w[3];                    /* weights of logit bkt, logit elo, bias */
	double fit_seconds;                    /* wall time of the BKT fit */
	size_t train_rows, skills;
};

/* Runs the evaluation.  *@params (may be NULL) receives the fitted BKT
 * set (caller destroys).  LV_ERR_INVALID when either set is empty. */
LV_EXPORT enum lv_status lv_kt_eval(const struct lv_kt_data *train, const struct lv_kt_data *test,
				    const struct lv_kt_eval_opts *opts, struct lv_kt_eval_result *out,
				    struct lv_bkt_paramset **params) LV_WARN_UNUSED;

/* The learner's model state is checkpointed in their vault about every
 * this many responses; reads apply newer statements in memory. */
#define LV_PERSONAL_CHECKPOINT_EVERY 64

/* The ingest hook (struct lv_store_hooks): updates learner @learner's model
 * state (BKT, FSRS, Elo) for @statement, just stored as @seq in their
 * vault, inside the store's open vault transaction.  @ctx unused.  Lock
 * held. */
LV_EXPORT enum lv_status lv_personal_statement_stored(void *ctx, struct lv_node *n, const char *learner,
						      const cJSON *statement, int64_t seq) LV_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif
