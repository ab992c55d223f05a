/* FSRS review logs (building, strict CSV parsing) and one-step-ahead
 * evaluation: log loss, srs-benchmark RMSE(bins), AUC. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "learnvault/fsrs.h"
#include "fsrs_internal.h"
#include "learnvault/util.h"


struct rec {
	uint64_t card;
	int64_t t_ms;
	uint32_t seq; /* insertion order: ties in time keep it */
	uint8_t grade;
};

struct lv_fsrs_log {
	struct rec *r;
	size_t n, cap;
	/* Open-addressing set of card ids (UINT64_MAX = empty slot) so that
	 * the number of cards is known without sorting a const log. */
	uint64_t *ids;
	size_t ids_cap, ncards;
};

enum lv_status lv_fsrs_log_create(struct lv_fsrs_log **out)
{
	*out = calloc(1, sizeof **out);
	return *out ? LV_OK : LV_ERR_NOMEM;
}

void lv_fsrs_log_destroy(struct lv_fsrs_log *log)
{
	if (!log)
		return;
	free(log->r);
	free(log->ids);
	free(log);
}

static size_t id_slot(const uint64_t *ids, size_t cap, uint64_t id)
{
	/* splitmix64 finaliser: card ids are often timestamps, which cluster. */
	uint64_t h = id + 0x9e3779b97f4a7c15ULL;
	h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
	h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
	h ^= h >> 31;
	size_t i = (size_t)(h & (cap - 1));
	while (ids[i] != UINT64_MAX && ids[i] != id)
		i = (i + 1) & (cap - 1);
	return i;
}

/* Makes room for one more card id (load factor <= 1/2). */
static enum lv_status ids_reserve(struct lv_fsrs_log *log)
{
	if ((log->ncards + 1) * 2 <= log->ids_cap)
		return LV_OK;
	size_t ncap = log->ids_cap ? log->ids_cap * 2 : 64;
	uint64_t *n = malloc(ncap * sizeof *n);
	if (!n)
		return LV_ERR_NOMEM;
	memset(n, 0xff, ncap * sizeof *n);
	for (size_t i = 0; i < log->ids_cap; i++)
		if (log->ids[i] != UINT64_MAX)
			n[id_slot(n, ncap, log->ids[i])] = log->ids[i];
	free(log->ids);
	log->ids = n;
	log->ids_cap = ncap;
	return LV_OK;
}

enum lv_status lv_fsrs_log_add(struct lv_fsrs_log *log, uint64_t card_id, int grade, int64_t time_ms)
{
	/* The time range keeps every difference of two instants (plus a
	 * day-start shift) far from int64 overflow. */
	if (grade < LV_FSRS_AGAIN || grade > LV_FSRS_EASY || card_id == UINT64_MAX || time_ms < LV_FSRS_TIME_MIN ||
	    time_ms > LV_FSRS_TIME_MAX)
		return LV_ERR_INVALID;
	if (log->n >= LV_FSRS_LOG_MAX_REVIEWS)
		return LV_ERR_TOO_LARGE;
	/* First room for 256 reviews. */
	if (util_array_grow((void **)&log->r, sizeof *log->r, &log->cap, log->n < 256 ? 256 : log->n + 1,
			    LV_FSRS_LOG_MAX_REVIEWS) != LV_OK)
		return LV_ERR_NOMEM;
	if (ids_reserve(log) != LV_OK)
		return LV_ERR_NOMEM;
	size_t slot = id_slot(log->ids, log->ids_cap, card_id);
	if (log->ids[slot] == UINT64_MAX) {
		log->ids[slot] = card_id;
		log->ncards++;
	}
	log->r[log->n] = (struct rec){.card = card_id, .t_ms = time_ms, .seq = (uint32_t)log->n,
				      .grade = (uint8_t)grade};
	log->n++;
	return LV_OK;
}

size_t lv_fsrs_log_reviews(const struct lv_fsrs_log *log)
{
	return log->n;
}

size_t lv_fsrs_log_cards(const struct lv_fsrs_log *log)
{
	return log->ncards;
}

/* ---- CSV -------------------------------------------------------------- */

static const char csv_header[] = "card_id,review_rating,review_time,review_duration";

static enum lv_status csv_err(char err[LV_FSRS_ERR_LEN], enum lv_status st, size_t line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static enum lv_status csv_err(char err[LV_FSRS_ERR_LEN], enum lv_status st, size_t line, const char *fmt, ...)
{
	va_list ap;
	int k = snprintf(err, LV_FSRS_ERR_LEN, "line %zu: ", line);
	if (k < 0 || k >= LV_FSRS_ERR_LEN)
		return st;
	va_start(ap, fmt);
	vsnprintf(err + k, LV_FSRS_ERR_LEN - (size_t)k, fmt, ap);
	va_end(ap);
	return st;
}

/* Unsigned decimal digits only, at most @max; no sign, no spaces. */
static bool parse_uint(const char *s, size_t len, uint64_t max, uint64_t *v)
{
	if (len == 0 || len > 20)
		return false;
	uint64_t x = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		unsigned d = (unsigned)(s[i] - '0');
		if (d > max || x > (max - d) / 10)
			return false;
		x = x * 10 + d;
	}
	*v = x;
	return true;
}

/* One data line (without its terminator). */
static enum lv_status csv_line(struct lv_fsrs_log *log, const char *s, size_t len, size_t lineno,
			       char err[LV_FSRS_ERR_LEN])
{
	const char *f[4];
	size_t fl[4], nf = 0;
	const char *start = s;
	for (size_t i = 0; i <= len; i++) {
		if (i == len || s[i] == ',') {
			if (nf == 4)
				return csv_err(err, LV_ERR_INVALID, lineno, "more than 4 fields");
			f[nf] = start;
			fl[nf] = (size_t)(s + i - start);
			nf++;
			start = s + i + 1;
		}
	}
	if (nf != 4)
		return csv_err(err, LV_ERR_INVALID, lineno, "expected 4 fields, got %zu", nf);
	uint64_t card, rating, dur;
	if (!parse_uint(f[0], fl[0], (uint64_t)INT64_MAX, &card))
		return csv_err(err, LV_ERR_INVALID, lineno, "card_id is not an unsigned integer below 2^63");
	if (!parse_uint(f[1], fl[1], 4, &rating) || rating < 1)
		return csv_err(err, LV_ERR_INVALID, lineno, "review_rating must be 1, 2, 3 or 4");
	char tbuf[64];
	int64_t t_ms;
	if (fl[2] == 0 || fl[2] >= sizeof tbuf)
		return csv_err(err, LV_ERR_INVALID, lineno, "review_time is not an RFC 3339 timestamp");
	memcpy(tbuf, f[2], fl[2]);
	tbuf[fl[2]] = 0;
	if (!util_time_parse(tbuf, &t_ms))
		return csv_err(err, LV_ERR_INVALID, lineno, "review_time is not an RFC 3339 timestamp");
	if (fl[3] != 0 && !parse_uint(f[3], fl[3], INT32_MAX, &dur))
		return csv_err(err, LV_ERR_INVALID, lineno, "review_duration must be empty or 0..2147483647 ms");
	enum lv_status st = lv_fsrs_log_add(log, card, (int)rating, t_ms);
	if (st == LV_ERR_TOO_LARGE)
		return csv_err(err, st, lineno, "more than %u reviews", LV_FSRS_LOG_MAX_REVIEWS);
	if (st != LV_OK)
		return csv_err(err, st, lineno, "%s", lv_status_str(st));
	return LV_OK;
}

enum lv_status lv_fsrs_log_parse_csv(const char *csv, size_t len, struct lv_fsrs_log **out,
				     char err[LV_FSRS_ERR_LEN])
{
	struct lv_fsrs_log *log = NULL;
	enum lv_status st;
	*out = NULL;
	err[0] = 0;
	if (len > LV_FSRS_CSV_MAX_BYTES) {
		st = csv_err(err, LV_ERR_TOO_LARGE, 0, "input over %u bytes", LV_FSRS_CSV_MAX_BYTES);
		goto out;
	}
	st = lv_fsrs_log_create(&log);
	if (st != LV_OK) {
		csv_err(err, st, 0, "out of memory");
		goto out;
	}
	size_t pos = 0, lineno = 0;
	while (pos < len) {
		lineno++;
		const char *nl = memchr(csv + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - csv) : len;
		size_t l = end - pos;
		if (l > 0 && csv[pos + l - 1] == '\r')
			l--;
		if (l > LV_FSRS_CSV_MAX_LINE) {
			st = csv_err(err, LV_ERR_TOO_LARGE, lineno, "longer than %u bytes", LV_FSRS_CSV_MAX_LINE);
			goto out;
		}
		if (memchr(csv + pos, 0, l) || memchr(csv + pos, '\r', l)) {
			st = csv_err(err, LV_ERR_INVALID, lineno, "stray NUL or CR byte");
			goto out;
		}
		if (lineno == 1) {
			if (l != sizeof csv_header - 1 || memcmp(csv + pos, csv_header, l) != 0) {
				st = csv_err(err, LV_ERR_INVALID, 1, "header must be \"%s\"", csv_header);
				goto out;
			}
		} else if (l == 0) {
			/* "...\n" at the end of the text is no line at all; an
			 * empty line anywhere is a damaged file. */
			st = csv_err(err, LV_ERR_INVALID, lineno, "empty line");
			goto out;
		} else {
			st = csv_line(log, csv + pos, l, lineno, err);
			if (st != LV_OK)
				goto out;
		}
		pos = end + 1;
	}
	if (lineno == 0) {
		st = csv_err(err, LV_ERR_INVALID, 1, "empty input (no header)");
		goto out;
	}
	st = LV_OK;
out:
	if (st == LV_OK) {
		*out = log;
	} else {
		lv_fsrs_log_destroy(log);
		if (!err[0])
			csv_err(err, st, 0, "%s", lv_status_str(st));
	}
	return st;
}

/* ---- grouping --------------------------------------------------------- */

static int cmp_card_time(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;
	if (x->card != y->card)
		return x->card < y->card ? -1 : 1;
	if (x->t_ms != y->t_ms)
		return x->t_ms < y->t_ms ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

void lv_fsrs_eval_opts_default(struct lv_fsrs_eval_opts *o)
{
	*o = (struct lv_fsrs_eval_opts){.days = LV_FSRS_DAYS_ELAPSED,
					.utc_offset_min = 0,
					.day_start_hour = 4,
					.max_seq_len = 64,
					.score_from_ms = INT64_MIN,
					.until_ms = INT64_MAX};
}

enum lv_status fsrs_opts_check(const struct lv_fsrs_eval_opts *o)
{
	if (o->days != LV_FSRS_DAYS_ELAPSED && o->days != LV_FSRS_DAYS_CALENDAR)
		return LV_ERR_INVALID;
	if (o->utc_offset_min <= -1440 || o->utc_offset_min >= 1440 || o->day_start_hour > 23)
		return LV_ERR_INVALID;
	return LV_OK;
}

/* Whole days from @t0 to @t1 (t0 <= t1) under @o. */
static uint32_t days_between(const struct lv_fsrs_eval_opts *o, int64_t t0, int64_t t1)
{
	int64_t d;
	if (o->days == LV_FSRS_DAYS_ELAPSED) {
		d = (t1 - t0) / UTIL_DAY_MS;
	} else {
		int64_t shift = (int64_t)o->utc_offset_min * 60000 - (int64_t)o->day_start_hour * 3600000;
		d = floor_div(t1 + shift, UTIL_DAY_MS) - floor_div(t0 + shift, UTIL_DAY_MS);
	}
	return d > (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)d;
}

void fsrs_view_free(struct fsrs_view *v)
{
	free(v->items);
	free(v->card_off);
	memset(v, 0, sizeof *v);
}

enum lv_status fsrs_view_build(const struct lv_fsrs_log *log, const struct lv_fsrs_eval_opts *o,
			       struct fsrs_view *v)
{
	enum lv_status st = LV_ERR_NOMEM;
	struct rec *sorted = NULL;
	memset(v, 0, sizeof *v);
	if (fsrs_opts_check(o) != LV_OK)
		return LV_ERR_INVALID;
	size_t n = log->n;
	sorted = malloc((n ? n : 1) * sizeof *sorted);
	v->items = malloc((n ? n : 1) * sizeof *v->items);
	v->card_off = malloc((log->ncards + 1) * sizeof *v->card_off);
	if (!sorted || !v->items || !v->card_off)
		goto out;
	if (n)
		memcpy(sorted, log->r, n * sizeof *sorted);
	qsort(sorted, n, sizeof *sorted, cmp_card_time);
	size_t i = 0;
	while (i < n) {
		size_t j = i, used = 0;
		size_t start = v->n;
		int64_t prev = 0;
		for (; j < n && sorted[j].card == sorted[i].card; j++) {
			const struct rec *r = &sorted[j];
			if (r->t_ms >= o->until_ms || (o->max_seq_len && used >= o->max_seq_len))
				continue;
			struct fsrs_item *it = &v->items[v->n++];
			it->grade = r->grade;
			it->days = used ? days_between(o, prev, r->t_ms) : 0;
			it->scored = used && it->days > 0 && r->t_ms >= o->score_from_ms;
			v->nscored += it->scored;
			prev = r->t_ms;
			used++;
		}
		if (v->n > start)
			v->card_off[v->ncards++] = start;
		i = j;
	}
	v->card_off[v->ncards] = v->n;
	st = LV_OK;
out:
	free(sorted);
	if (st != LV_OK)
		fsrs_view_free(v);
	return st;
}

enum lv_status lv_fsrs_log_split_time(const struct lv_fsrs_log *log, double fraction, int64_t *time_ms)
{
	*time_ms = 0;
	if (!(fraction > 0.0 && fraction < 1.0))
		return LV_ERR_INVALID;
	size_t n = log->n;
	size_t k = (size_t)ceil(fraction * (double)n);
	if (n == 0 || k == 0 || k >= n)
		return LV_ERR_NOT_FOUND;
	int64_t *t = malloc(n * sizeof *t);
	if (!t)
		return LV_ERR_NOMEM;
	for (size_t i = 0; i < n; i++)
		t[i] = log->r[i].t_ms;
	qsort(t, n, sizeof *t, util_cmp_i64);
	int64_t cut = t[k];
	/* With ties at the cut everything at that instant goes to the test
	 * side; it must still leave a training side. */
	bool empty_train = t[0] >= cut;
	free(t);
	if (empty_train)
		return LV_ERR_NOT_FOUND;
	*time_ms = cut;
	return LV_OK;
}

/* ---- metrics ---------------------------------------------------------- */

double fsrs_bce(double r, int y)
{
	/* torch.nn.BCELoss clamps each log at −100, which keeps one confident
	 * miss (R rounding to 1) from making the mean infinite. */
	double l = y ? log(r) : log1p(-r);
	if (!(l >= -100.0))
		l = -100.0;
	return -l;
}

double fsrs_view_loss(const struct fsrs_view *v, const struct lv_fsrs_params *p)
{
	double sum = 0;
	for (size_t c = 0; c < v->ncards; c++) {
		const struct fsrs_item *it = v->items + v->card_off[c];
		size_t len = v->card_off[c + 1] - v->card_off[c];
		struct lv_fsrs_state s;
		if (lv_fsrs_init(p, it[0].grade, &s) != LV_OK)
			return NAN;
		for (size_t i = 1; i < len; i++) {
			if (it[i].scored)
				sum += fsrs_bce(lv_fsrs_retrievability(p, it[i].days, s.stability), it[i].grade > 1);
			if (lv_fsrs_next(p, &s, it[i].days, it[i].grade, &s) != LV_OK)
				return NAN;
		}
	}
	return v->nscored ? sum / (double)v->nscored : NAN;
}

struct pred {
	double r;
	int y;
	uint32_t dt_bin, len_bin, lapse_bin;
};

/* srs-benchmark rmse_matrix / fsrs-rs FSRSItem::r_matrix_index bins. */
static uint32_t log_bin(double x, double scale, double base, double mult)
{
	return (uint32_t)llround(scale * pow(base, floor(log(x) / log(base))) * mult);
}

static int cmp_bins(const void *a, const void *b)
{
	const struct pred *x = a, *y = b;
	if (x->dt_bin != y->dt_bin)
		return x->dt_bin < y->dt_bin ? -1 : 1;
	if (x->len_bin != y->len_bin)
		return x->len_bin < y->len_bin ? -1 : 1;
	return x->lapse_bin < y->lapse_bin ? -1 : x->lapse_bin > y->lapse_bin;
}

static int cmp_r(const void *a, const void *b)
{
	const struct pred *x = a, *y = b;
	return x->r < y->r ? -1 : x->r > y->r;
}

static double rmse_bins(struct pred *p, size_t n)
{
	qsort(p, n, sizeof *p, cmp_bins);
	double num = 0;
	for (size_t i = 0; i < n;) {
		size_t j = i;
		double sr = 0, sy = 0;
		for (; j < n && cmp_bins(&p[i], &p[j]) == 0; j++) {
			sr += p[j].r;
			sy += p[j].y;
		}
		double cnt = (double)(j - i), d = sr / cnt - sy / cnt;
		num += cnt * d * d;
		i = j;
	}
	return sqrt(num / (double)n);
}

/* Mann–Whitney form of the ROC AUC; tied predictions share their mean rank. */
static double auc(struct pred *p, size_t n)
{
	qsort(p, n, sizeof *p, cmp_r);
	double rank_sum = 0, npos = 0;
	for (size_t i = 0; i < n;) {
		size_t j = i;
		double pos = 0;
		for (; j < n && p[j].r == p[i].r; j++)
			pos += p[j].y;
		double mean_rank = ((double)i + 1 + (double)j) / 2.0;
		rank_sum += pos * mean_rank;
		npos += pos;
		i = j;
	}
	double nneg = (double)n - npos;
	if (npos == 0 || nneg == 0)
		return NAN;
	return (rank_sum - npos * (npos + 1) / 2.0) / (npos * nneg);
}

enum lv_status lv_fsrs_evaluate(const struct lv_fsrs_log *log, const struct lv_fsrs_params *p,
				const struct lv_fsrs_eval_opts *o, struct lv_fsrs_metrics *out)
{
	struct fsrs_view v;
	struct pred *pr = NULL;
	enum lv_status st;
	memset(out, 0, sizeof *out);
	if (lv_fsrs_params_check(p) != LV_OK)
		return LV_ERR_INVALID;
	st = fsrs_view_build(log, o, &v);
	if (st != LV_OK)
		return st;
	st = LV_ERR_NOT_FOUND;
	if (v.nscored == 0)
		goto out;
	st = LV_ERR_NOMEM;
	pr = malloc(v.nscored * sizeof *pr);
	if (!pr)
		goto out;
	size_t k = 0;
	double loss = 0;
	for (size_t c = 0; c < v.ncards; c++) {
		const struct fsrs_item *it = v.items + v.card_off[c];
		size_t len = v.card_off[c + 1] - v.card_off[c];
		struct lv_fsrs_state s;
		uint32_t long_term = 0, lapses = 0;
		st = lv_fsrs_init(p, it[0].grade, &s);
		if (st != LV_OK)
			goto out;
		for (size_t i = 1; i < len; i++) {
			if (it[i].days > 0)
				long_term++;
			if (it[i].scored) {
				double r = lv_fsrs_retrievability(p, it[i].days, s.stability);
				int y = it[i].grade > 1;
				loss += fsrs_bce(r, y);
				pr[k++] = (struct pred){
					.r = r,
					.y = y,
					.dt_bin = log_bin(it[i].days, 2.48, 3.62, 100.0),
					.len_bin = log_bin(long_term + 1.0, 1.99, 1.89, 1.0),
					.lapse_bin = lapses ? log_bin(lapses, 1.65, 1.73, 1.0) : 0,
				};
			}
			if (it[i].grade == LV_FSRS_AGAIN && it[i].days > 0)
				lapses++;
			st = lv_fsrs_next(p, &s, it[i].days, it[i].grade, &s);
			if (st != LV_OK)
				goto out;
		}
	}
	out->n = k;
	out->log_loss = loss / (double)k;
	out->rmse_bins = rmse_bins(pr, k);
	out->auc = auc(pr, k);
	st = LV_OK;
out:
	free(pr);
	fsrs_view_free(&v);
	if (st != LV_OK)
		memset(out, 0, sizeof *out);
	return st;
}
