/* learnvault — FSRS-6 spaced-review memory model, its local optimiser and
 * one-step-ahead evaluation.
 *
 * FSRS models one learner's memory of one item ("card": here, one activity
 * attempted repeatedly) with two numbers: stability S (days until recall
 * probability falls to 90 %) and difficulty D in [1, 10].  Before a review
 * after t days the probability of recall is the retrievability R(t, S).  The
 * review's grade then moves S and D.  Grades are 1 Again (forgotten),
 * 2 Hard, 3 Good, 4 Easy; "recalled" means grade > 1.
 *
 * Conventions (see docs/personalization.md for the reasons):
 *  - Formulas and the default 21-parameter vector are FSRS-6 as in fsrs-rs
 *    6.x / py-fsrs 6.3 / ts-fsrs 5.4.  Everything is double precision.
 *  - Stability is clamped to [LV_FSRS_S_MIN, LV_FSRS_S_MAX] and difficulty
 *    to [LV_FSRS_D_MIN, LV_FSRS_D_MAX] after every update (fsrs-rs).
 *  - Elapsed time is counted in whole days by the caller.  A review fewer
 *    than one day after the previous one is a same-day (short-term) review.
 *    In a same-day review the growth factor is floored at 1 for Hard, Good
 *    and Easy (fsrs-rs; py-fsrs floors Good and Easy only).
 *  - The evaluation functions count days as py-fsrs does: the number of
 *    whole 24-hour periods between two review instants (LV_FSRS_DAYS_ELAPSED).
 *    Anki-style calendar days with a day-start hour are offered as
 *    LV_FSRS_DAYS_CALENDAR.
 *
 * Plain data (struct lv_fsrs_params, struct lv_fsrs_state) is owned by the
 * caller.  The only handle is struct lv_fsrs_log (a review log), created by
 * lv_fsrs_log_create() or lv_fsrs_log_parse_csv() and destroyed by
 * lv_fsrs_log_destroy().  No function keeps a pointer to its arguments.
 * All functions are thread-safe on distinct objects; a log may be read by
 * several threads at once.
 */
#ifndef LEARNVAULT_FSRS_H
#define LEARNVAULT_FSRS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "learnvault/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LV_FSRS_NPARAMS 21
#define LV_FSRS_S_MIN 0.001
#define LV_FSRS_S_MAX 36500.0
#define LV_FSRS_D_MIN 1.0
#define LV_FSRS_D_MAX 10.0

enum lv_fsrs_grade {
	LV_FSRS_AGAIN = 1,
	LV_FSRS_HARD = 2,
	LV_FSRS_GOOD = 3,
	LV_FSRS_EASY = 4,
};

/* The model parameters w0..w20: w0..w3 initial stability per grade, w4..w7
 * difficulty, w8..w10 stability after success, w11..w14 after a lapse, w15
 * Hard penalty, w16 Easy bonus, w17..w19 same-day reviews, w20 decay. */
struct lv_fsrs_params {
	double w[LV_FSRS_NPARAMS];
};

/* A memory state. */
struct lv_fsrs_state {
	double stability;  /* days */
	double difficulty; /* 1..10 */
};

/* Fills @out with the FSRS-6 default parameters. */
LV_EXPORT void lv_fsrs_params_default(struct lv_fsrs_params *out);

/* Fills @lo and @hi with the bounds the optimiser clips to (py-fsrs 6.3.1
 * LOWER/UPPER_BOUNDS_PARAMETERS, equal to fsrs-rs clip_parameters with at
 * most one relearning step).  Either pointer may be NULL. */
LV_EXPORT void lv_fsrs_params_bounds(struct lv_fsrs_params *lo, struct lv_fsrs_params *hi);

/* LV_OK when every parameter is finite and within lv_fsrs_params_bounds();
 * LV_ERR_INVALID otherwise.  The other functions assume checked parameters:
 * outside the bounds their results are unspecified (but never UB). */
LV_EXPORT enum lv_status lv_fsrs_params_check(const struct lv_fsrs_params *p) LV_WARN_UNUSED;

/* Converts an older parameter vector of @n values to FSRS-6: n = 21 is
 * copied; n = 19 (FSRS-5) is padded with w19 = 0, w20 = 0.5; n = 17
 * (FSRS-4.5) is converted as fsrs-rs does (w4 += 2·w5, w5 = ln(1+3·w5)/3,
 * w6 += 0.5, then w17 = w18 = w19 = 0, w20 = 0.5).  LV_ERR_INVALID for any
 * other @n or a non-finite value; @out is then zeroed. */
LV_EXPORT enum lv_status lv_fsrs_params_convert(const double *w, size_t n,
						struct lv_fsrs_params *out) LV_WARN_UNUSED;

/* ---- the model -------------------------------------------------------- */

/* Probability of recall @t_days after the last review of a card with
 * @stability: (1 + F·t/S)^(−w20) with F = 0.9^(−1/w20) − 1, so R(S, S) = 0.9.
 * Negative @t_days count as 0; @stability is clamped to [S_MIN, S_MAX]. */
LV_EXPORT double lv_fsrs_retrievability(const struct lv_fsrs_params *p, double t_days, double stability);

/* The real-valued interval (days) after which R falls to @retention:
 * S/F · (retention^(−1/w20) − 1).  LV_ERR_INVALID unless 0 < retention <= 1
 * and @stability is finite and > 0; *days is then 0. */
LV_EXPORT enum lv_status lv_fsrs_interval(const struct lv_fsrs_params *p, double stability, double retention,
					  double *days) LV_WARN_UNUSED;

/* The interval in whole days as schedulers use it: lv_fsrs_interval()
 * rounded half away from zero, at least 1, and at most @max_days unless
 * @max_days is 0 (py-fsrs caps at 36500).  Same errors; *days is 0 then. */
LV_EXPORT enum lv_status lv_fsrs_interval_days(const struct lv_fsrs_params *p, double stability, double retention,
					       uint32_t max_days, uint32_t *days) LV_WARN_UNUSED;

/* The state after a card's first review with @grade: S = w[grade−1],
 * D = w4 − e^(w5·(grade−1)) + 1, both clamped.  LV_ERR_INVALID for a grade
 * outside 1..4 (@out zeroed). */
LV_EXPORT enum lv_status lv_fsrs_init(const struct lv_fsrs_params *p, int grade,
				      struct lv_fsrs_state *out) LV_WARN_UNUSED;

/* The state after a later review with @grade, @elapsed_days (whole days,
 * as the caller counts them) after the previous review of the card in state
 * @s.  elapsed_days < 1: same-day review (short-term stability, difficulty
 * update).  Otherwise R = R(elapsed_days, S) and S follows the success
 * (grade > 1) or lapse formula; D is updated with mean reversion.  @out may
 * alias @s.  LV_ERR_INVALID for a bad grade, negative or non-finite
 * elapsed_days or a non-finite state (@out zeroed unless it aliases @s,
 * which is then left unchanged). */
LV_EXPORT enum lv_status lv_fsrs_next(const struct lv_fsrs_params *p, const struct lv_fsrs_state *s,
				      double elapsed_days, int grade,
				      struct lv_fsrs_state *out) LV_WARN_UNUSED;

/* The pieces of lv_fsrs_next(), unclamped, for schedulers and for testing
 * against upstream vectors.  @grade must be 1..4 (NaN otherwise).
 *  - next_difficulty: D' = D + (10 − D)·(−w6·(grade − 3))/9, then
 *    w7·D0(4) + (1 − w7)·D' with D0(4) unclamped, then clamped to [1, 10]
 *    (this one is clamped, as in every implementation).
 *  - stability_after_success: S·(1 + e^w8·(11 − D)·S^−w9·(e^(w10·(1−R)) − 1)
 *    ·(w15 if Hard)·(w16 if Easy)).
 *  - stability_after_failure: min(w11·D^−w12·((S+1)^w13 − 1)·e^(w14·(1−R)),
 *    S / e^(w17·w18)).
 *  - stability_short_term: S·max(e^(w17·(grade − 3 + w18))·S^−w19, 1) with the
 *    floor only for grade >= 2. */
LV_EXPORT double lv_fsrs_next_difficulty(const struct lv_fsrs_params *p, double difficulty, int grade);
LV_EXPORT double lv_fsrs_stability_after_success(const struct lv_fsrs_params *p, double stability,
						 double difficulty, double r, int grade);
LV_EXPORT double lv_fsrs_stability_after_failure(const struct lv_fsrs_params *p, double stability,
						 double difficulty, double r);
LV_EXPORT double lv_fsrs_stability_short_term(const struct lv_fsrs_params *p, double stability, int grade);

/* One review of a card's history: its grade and the whole days since the
 * card's previous review (ignored for the first review). */
struct lv_fsrs_review {
	int grade;
	double elapsed_days;
};

/* Replays a card's whole history @revs[0..n) (n >= 1) from a new card and
 * writes the final state to @out.  If @r_pred is not NULL it receives n
 * values: r_pred[i] is the retrievability predicted just before review i
 * (r_pred[0] = 0: a new card has no memory yet, as in py-fsrs).
 * LV_ERR_INVALID for n = 0 or any invalid review (@out zeroed; @r_pred then
 * holds unspecified values). */
LV_EXPORT enum lv_status lv_fsrs_replay(const struct lv_fsrs_params *p, const struct lv_fsrs_review *revs, size_t n,
					struct lv_fsrs_state *out, double *r_pred) LV_WARN_UNUSED;

/* ---- review logs ------------------------------------------------------ */

/* Caps on a review log read from outside. */
#define LV_FSRS_LOG_MAX_REVIEWS 4000000u /* reviews per log */
#define LV_FSRS_CSV_MAX_BYTES (256u << 20)  /* CSV text */
#define LV_FSRS_CSV_MAX_LINE 512u            /* bytes per CSV line */
#define LV_FSRS_ERR_LEN LV_ERR_LEN                  /* error message buffer */

/* A set of reviews of many cards by one learner (opaque). */
struct lv_fsrs_log;

/* Creates an empty log; destroy it with lv_fsrs_log_destroy().
 * LV_ERR_NOMEM (and *out = NULL) when allocation fails. */
LV_EXPORT enum lv_status lv_fsrs_log_create(struct lv_fsrs_log **out) LV_WARN_UNUSED;

/* Frees @log and everything it holds; NULL is ignored. */
LV_EXPORT void lv_fsrs_log_destroy(struct lv_fsrs_log *log);

/* Instants a log accepts: 0000-01-01T00:00:00Z .. 9999-12-31T23:59:59.999Z. */
#define LV_FSRS_TIME_MIN (-62167219200000LL)
#define LV_FSRS_TIME_MAX 253402300799999LL

/* Adds one review: @card_id (any value but UINT64_MAX), @grade 1..4, the
 * review instant @time_ms (milliseconds since the Unix epoch, UTC, within
 * LV_FSRS_TIME_MIN..MAX).  Order does not matter.
 * LV_ERR_INVALID for a bad grade, id or time, LV_ERR_TOO_LARGE past
 * LV_FSRS_LOG_MAX_REVIEWS, LV_ERR_NOMEM; the log is unchanged on failure. */
LV_EXPORT enum lv_status lv_fsrs_log_add(struct lv_fsrs_log *log, uint64_t card_id, int grade,
					 int64_t time_ms) LV_WARN_UNUSED;

/* Parses a review log in the py-fsrs CSV format: the exact header
 * "card_id,review_rating,review_time,review_duration", then one review per
 * line: card_id an unsigned decimal integer (< 2^63), review_rating 1..4,
 * review_time an RFC 3339 instant (fraction truncated to milliseconds),
 * review_duration empty or milliseconds 0..2^31−1 (checked, not used).
 * Lines end in LF or CRLF; a final empty line is allowed, no other empty
 * lines, no quoting.  @len bytes of @csv are read (no NUL needed).
 * On failure *out is NULL and @err holds "line N: reason":
 * LV_ERR_INVALID, LV_ERR_TOO_LARGE (text, line or review-count cap),
 * LV_ERR_NOMEM.  On success the caller destroys *out. */
LV_EXPORT enum lv_status lv_fsrs_log_parse_csv(const char *csv, size_t len, struct lv_fsrs_log **out,
					       char err[LV_FSRS_ERR_LEN]) LV_WARN_UNUSED;

/* Number of reviews / distinct cards in @log. */
LV_EXPORT size_t lv_fsrs_log_reviews(const struct lv_fsrs_log *log);
LV_EXPORT size_t lv_fsrs_log_cards(const struct lv_fsrs_log *log);

/* The instant such that a @fraction (0 < fraction < 1) of the log's reviews,
 * ordered by time, lie strictly before it: the time of the review at index
 * ceil(fraction·n) in time order.  Used for time-ordered train/test splits.
 * LV_ERR_INVALID for a bad fraction, LV_ERR_NOT_FOUND when the split would
 * leave one side empty; *time_ms is 0 then. */
LV_EXPORT enum lv_status lv_fsrs_log_split_time(const struct lv_fsrs_log *log, double fraction,
						int64_t *time_ms) LV_WARN_UNUSED;

/* ---- evaluation ------------------------------------------------------- */

enum lv_fsrs_days {
	/* whole 24-hour periods between the two review instants (py-fsrs:
	 * (t1 − t0).days) */
	LV_FSRS_DAYS_ELAPSED = 0,
	/* difference of calendar day numbers, a day starting at
	 * @day_start_hour local time with a fixed @utc_offset_min (Anki,
	 * fsrs-rs) */
	LV_FSRS_DAYS_CALENDAR = 1,
};

/* Which reviews a replay sees and which it scores.  Each card's reviews are
 * replayed in time order (ties keep insertion order).  Review 0 of a card
 * starts it and is never scored; review i > 0 is scored when its elapsed
 * days are > 0 and score_from_ms <= time < until_ms (py-fsrs and
 * srs-benchmark score only reviews on a later day than the previous one). */
struct lv_fsrs_eval_opts {
	enum lv_fsrs_days days;
	int32_t utc_offset_min;  /* calendar days only, -1440 < x < 1440 */
	uint32_t day_start_hour; /* calendar days only, 0..23 (Anki default 4) */
	uint32_t max_seq_len;    /* use each card's first N reviews; 0 = all (py-fsrs: 64) */
	int64_t score_from_ms;   /* reviews before this are replayed, not scored */
	int64_t until_ms;        /* reviews at or after this are ignored entirely */
};

/* Defaults: py-fsrs conventions (ELAPSED days, max_seq_len 64, everything
 * scored: score_from_ms = INT64_MIN, until_ms = INT64_MAX). */
LV_EXPORT void lv_fsrs_eval_opts_default(struct lv_fsrs_eval_opts *o);

/* Metrics of one-step-ahead recall prediction over the scored reviews. */
struct lv_fsrs_metrics {
	size_t n;         /* scored reviews */
	double log_loss;  /* mean binary cross-entropy, each log term floored at -100 (as torch) */
	double rmse_bins; /* srs-benchmark RMSE(bins), see below */
	double auc;       /* ROC AUC of R for recall, ties averaged; NaN if one class is absent */
};

/* Replays every card of @log with @p under @o and scores the predictions.
 * rmse_bins groups scored reviews by (elapsed-days bin, review-count bin,
 * lapse bin) as srs-benchmark / fsrs-rs do: dt bin = round(2.48·3.62^
 * floor(log_3.62 dt), 2), count bin over 1 + the number of reviews so far
 * (this one included) with elapsed days > 0 = round(1.99·1.89^floor(log_1.89
 * n)), lapse bin over earlier reviews graded Again with elapsed days > 0 =
 * 0 or round(1.65·1.73^floor(log_1.73 k)); then sqrt(Σ n_b (mean R_b −
 * recall rate_b)² / Σ n_b).  LV_ERR_INVALID for bad params or options,
 * LV_ERR_NOT_FOUND when no review is scored, LV_ERR_NOMEM; @out is zeroed
 * on failure. */
LV_EXPORT enum lv_status lv_fsrs_evaluate(const struct lv_fsrs_log *log, const struct lv_fsrs_params *p,
					  const struct lv_fsrs_eval_opts *o,
					  struct lv_fsrs_metrics *out) LV_WARN_UNUSED;

/* ---- optimiser -------------------------------------------------------- */

struct lv_fsrs_opt_config {
	unsigned epochs;      /* 5 */
	unsigned batch_size;  /* 512 scored reviews per Adam step */
	double learning_rate; /* 4e-2, cosine-annealed to 0 over all steps */
	double gamma;         /* strength of the L2 pull toward the defaults (1.0); 0 = none */
	uint64_t seed;        /* card-order shuffle (deterministic) */
	size_t min_reviews;   /* fewer scored reviews: keep the defaults (512, as py-fsrs) */
	struct lv_fsrs_eval_opts data; /* which reviews are trained on (scored ones) */
};

/* Defaults listed above; data = lv_fsrs_eval_opts_default(). */
LV_EXPORT void lv_fsrs_opt_config_default(struct lv_fsrs_opt_config *c);

struct lv_fsrs_opt_report {
	size_t n;              /* scored (training) reviews */
	bool kept_defaults;    /* n < min_reviews: nothing was fitted */
	unsigned steps;        /* Adam steps taken */
	unsigned best_epoch;   /* 1-based epoch whose parameters were kept (0 if none) */
	double loss_default;   /* training log loss with the defaults */
	double loss_fitted;    /* training log loss with the returned parameters */
};

/* Fits the parameters to the reviews of @log selected by cfg->data: minimises
 * the summed cross-entropy of R for recall (grade > 1) over mini-batches of
 * scored reviews in a seeded random card order, with exact gradients
 * (forward-mode differentiation through each card's recurrence), Adam,
 * cosine learning-rate decay, clipping to lv_fsrs_params_bounds() after
 * every step, plus gamma·Σ((w − w_default)/σ)² spread over the batches
 * (fsrs-rs's pull toward the defaults, σ from fsrs-rs PARAMS_STDDEV: it
 * matters when the history is short and fades as it grows).  The
 * parameters at the end of the epoch with the lowest training loss are
 * kept, as py-fsrs does.  Starts from the defaults.  @report may be NULL.
 * LV_ERR_INVALID for a bad config, LV_ERR_NOMEM; on failure @out holds the
 * defaults.  Deterministic for a given log, config and platform libm. */
LV_EXPORT enum lv_status lv_fsrs_optimize(const struct lv_fsrs_log *log, const struct lv_fsrs_opt_config *cfg,
					  struct lv_fsrs_params *out,
					  struct lv_fsrs_opt_report *report) LV_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif
