/* FSRS internals shared by fsrs.c, fsrs_eval.c and fsrs_opt.c. */
#ifndef LV_PERSONAL_FSRS_INTERNAL_H
#define LV_PERSONAL_FSRS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "learnvault/fsrs.h"

/* F = 0.9^(−1/w20) − 1, so that R(S, S) = 0.9. */
double fsrs_factor(const struct lv_fsrs_params *p);
/* w4 − e^(w5·(grade − 1)) + 1, unclamped (mean reversion uses it so). */
double fsrs_init_difficulty_raw(const struct lv_fsrs_params *p, int grade);

/* One review as the model sees it after the log was grouped by card. */
struct fsrs_item {
	uint32_t days;  /* whole days since the card's previous review (0 for the first) */
	uint8_t grade;  /* 1..4 */
	uint8_t scored; /* 1: predicted and counted (never the first review of a card) */
};

/* A log grouped by card (cards in ascending id, reviews in time order) and
 * filtered/scored by a struct lv_fsrs_eval_opts. */
struct fsrs_view {
	struct fsrs_item *items;
	size_t n;
	size_t *card_off; /* ncards + 1 offsets into items */
	size_t ncards;
	size_t nscored;
};

enum lv_status fsrs_view_build(const struct lv_fsrs_log *log, const struct lv_fsrs_eval_opts *o,
			       struct fsrs_view *v) LV_WARN_UNUSED;
void fsrs_view_free(struct fsrs_view *v);
/* LV_OK when @o is usable. */
enum lv_status fsrs_opts_check(const struct lv_fsrs_eval_opts *o) LV_WARN_UNUSED;
/* Mean log loss over the scored items of @v (plain replay; no metrics
 * beyond the loss). NaN when nothing is scored. */
double fsrs_view_loss(const struct fsrs_view *v, const struct lv_fsrs_params *p);
/* Same as fsrs_view_loss, plus the exact gradient of the mean loss with
 * respect to each parameter (forward-mode; fsrs_opt.c). */
double fsrs_view_loss_grad(const struct fsrs_view *v, const struct lv_fsrs_params *p,
			   double grad[LV_FSRS_NPARAMS]);
/* −[y·ln r + (1 − y)·ln(1 − r)] with each log floored at −100 (torch BCELoss). */
double fsrs_bce(double r, int y);

#endif
