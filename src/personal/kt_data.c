/* Knowledge-tracing data sets: the response CSV (strict reader and
 * writer), synthetic BKT data, and the per-skill ordering used by the fit. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "personal_int.h"
#include "learnvault/util.h"

enum lv_status lv_kt_data_create(struct lv_kt_data **out)
{
	*out = NULL;
	struct lv_kt_data *d = calloc(1, sizeof *d);
	if (!d)
		return LV_ERR_NOMEM;
	d->max_rows = LV_KT_MAX_ROWS_DEFAULT;
	d->timed = -1;
	personal_strtab_init(&d->learners);
	personal_strtab_init(&d->skills);
	*out = d;
	return LV_OK;
}

void lv_kt_data_destroy(struct lv_kt_data *d)
{
	if (!d)
		return;
	free(d->learner);
	free(d->skill);
	free(d->correct);
	free(d->time);
	free(d->last_time);
	personal_strtab_free(&d->learners);
	personal_strtab_free(&d->skills);
	free(d);
}

size_t lv_kt_data_rows(const struct lv_kt_data *d)
{
	return d->n;
}

size_t lv_kt_data_learners(const struct lv_kt_data *d)
{
	return d->learners.n;
}

size_t lv_kt_data_skills(const struct lv_kt_data *d)
{
	return d->skills.n;
}

static bool reserve_rows(struct lv_kt_data *d, size_t need)
{
	if (need <= d->cap)
		return true;
	/* The row arrays are parallel: the first grows as a typed array (from
	 * 1024 rows, doubling), the others follow to its capacity; d->cap
	 * moves only once all have. */
	size_t nc = d->cap;
	if (util_array_grow((void **)&d->learner, sizeof *d->learner, &nc, need < 1024 ? 1024 : need, SIZE_MAX) !=
	    LV_OK)
		return false;
	uint32_t *s = realloc(d->skill, nc * sizeof *s);
	if (!s)
		return false;
	d->skill = s;
	uint8_t *c = realloc(d->correct, nc);
	if (!c)
		return false;
	d->correct = c;
	if (d->timed == 1) {
		double *t = realloc(d->time, nc * sizeof *t);
		if (!t)
			return false;
		d->time = t;
	}
	d->cap = nc;
	return true;
}

/* lv_kt_data_add with a reason for rejections. */
static enum lv_status data_add(struct lv_kt_data *d, const char *learner, const char *skill, bool correct,
			       double time, char *err)
{
	if (!personal_name_ok(learner)) {
		util_errf(err, "bad learner id (1..%d bytes, no comma, quote or control character)",
			LV_PERSONAL_NAME_MAX);
		return LV_ERR_INVALID;
	}
	if (!personal_name_ok(skill)) {
		util_errf(err, "bad skill id (1..%d bytes, no comma, quote or control character)",
			LV_PERSONAL_NAME_MAX);
		return LV_ERR_INVALID;
	}
	bool has_time = !isnan(time);
	if (has_time && !isfinite(time)) {
		util_errf(err, "time must be finite");
		return LV_ERR_INVALID;
	}
	if (d->timed >= 0 && d->timed != (int)has_time) {
		util_errf(err, has_time ? "time given here but not on earlier rows" : "time missing (earlier rows have one)");
		return LV_ERR_INVALID;
	}
	if (d->n >= d->max_rows) {
		util_errf(err, "more than %zu rows", d->max_rows);
		return LV_ERR_TOO_LARGE;
	}
	if (d->timed < 0) {
		d->timed = has_time;
		if (has_time && d->cap) {
			double *t = malloc(d->cap * sizeof *t);
			if (!t)
				goto nomem;
			d->time = t;
		}
	}
	if (!reserve_rows(d, d->n + 1))
		goto nomem;
	long li = personal_strtab_find(&d->learners, learner);
	if (has_time && li >= 0 && time < d->last_time[li]) {
		util_errf(err, "time goes backwards for learner %.64s (rows must be in time order)", learner);
		return LV_ERR_INVALID;
	}
	long si = personal_strtab_intern(&d->skills, skill);
	if (si < 0)
		goto nomem;
	if (li < 0) {
		size_t need = d->learners.n + 1;
		if (util_array_grow((void **)&d->last_time, sizeof *d->last_time, &d->last_time_cap,
				    need < 256 ? 256 : need, SIZE_MAX) != LV_OK)
			goto nomem;
		li = personal_strtab_intern(&d->learners, learner);
		if (li < 0)
			goto nomem;
	}
	d->last_time[li] = has_time ? time : 0.0;
	d->learner[d->n] = (uint32_t)li;
	d->skill[d->n] = (uint32_t)si;
	d->correct[d->n] = correct ? 1 : 0;
	if (has_time)
		d->time[d->n] = time;
	d->n++;
	return LV_OK;
nomem:
	util_errf(err, "out of memory");
	return LV_ERR_NOMEM;
}

enum lv_status lv_kt_data_add(struct lv_kt_data *d, const char *learner, const char *skill, bool correct,
			      double time)
{
	return data_add(d, learner, skill, correct, time, NULL);
}

/* Reads one line of at most LV_KT_LINE_MAX bytes (without its LF or
 * CRLF).  Returns 1 for a line, 0 at end of input, -1 when too long, -2
 * for a NUL byte or a lone CR. */
static int read_line(FILE *f, char *buf, size_t *len)
{
	size_t n = 0;
	int c;
	while ((c = getc_unlocked(f)) != EOF) {
		if (c == '\n')
			break;
		if (c == 0)
			return -2;
		if (n >= LV_KT_LINE_MAX + 1)
			return -1; /* room for a CR before the LF */
		buf[n++] = (char)c;
	}
	if (c == EOF && n == 0)
		return 0;
	if (n && buf[n - 1] == '\r')
		n--;
	if (n > LV_KT_LINE_MAX)
		return -1;
	if (memchr(buf, '\r', n))
		return -2;
	buf[n] = 0;
	*len = n;
	return 1;
}

static bool parse_time(const char *s, double *t)
{
	if (!*s)
		return false;
	for (const char *p = s; *p; p++)
		if (!strchr("0123456789.eE+-", *p))
			return false;
	char *end;
	*t = strtod(s, &end);
	return *end == 0 && isfinite(*t);
}

/* Splits @buf at its commas in place into at most 5 fields; returns how
 * many (5 means "too many"). */
static int split_fields(char *buf, char *field[5])
{
	int nf = 0;
	field[nf++] = buf;
	for (char *p = buf; *p; p++) {
		if (*p != ',')
			continue;
		*p = 0;
		if (nf == 5)
			break;
		field[nf++] = p + 1;
	}
	return nf;
}

/* One data line (@len bytes in @buf, cut up in place) added to @d;
 * @ncols is 0 until a header or the first row fixes it. */
static enum lv_status parse_row(struct lv_kt_data *d, char *buf, size_t len, size_t lineno, int *ncols, char *err)
{
	if (len == 0) {
		util_errf(err, "line %zu: empty line", lineno);
		return LV_ERR_INVALID;
	}
	char *field[5];
	int nf = split_fields(buf, field);
	if (nf < 3 || nf > 4) {
		util_errf(err, "line %zu: expected learner,skill,correct[,time] (%d fields)", lineno, nf);
		return LV_ERR_INVALID;
	}
	if (*ncols && nf != *ncols) {
		util_errf(err, "line %zu: %d fields where earlier lines have %d", lineno, nf, *ncols);
		return LV_ERR_INVALID;
	}
	*ncols = nf;
	if (strcmp(field[2], "0") != 0 && strcmp(field[2], "1") != 0) {
		util_errf(err, "line %zu: correct must be 0 or 1", lineno);
		return LV_ERR_INVALID;
	}
	double t = NAN;
	if (nf == 4 && !parse_time(field[3], &t)) {
		util_errf(err, "line %zu: time must be a finite decimal number (seconds)", lineno);
		return LV_ERR_INVALID;
	}
	char why[LV_PERSONAL_ERR_LEN];
	enum lv_status st = data_add(d, field[0], field[1], field[2][0] == '1', t, why);
	if (st != LV_OK)
		util_errf(err, "line %zu: %s", lineno, why);
	return st;
}

/* Every line of @f into @d: an optional header, then data rows. */
static enum lv_status parse_lines(FILE *f, struct lv_kt_data *d, char *err)
{
	char buf[LV_KT_LINE_MAX + 2];
	size_t len, lineno = 0;
	int ncols = 0; /* 0 until the first row fixes it */
	for (;;) {
		int r = read_line(f, buf, &len);
		if (r == 0)
			break;
		lineno++;
		if (r == -1) {
			util_errf(err, "line %zu: longer than %d bytes", lineno, LV_KT_LINE_MAX);
			return LV_ERR_TOO_LARGE;
		}
		if (r == -2) {
			util_errf(err, "line %zu: NUL byte or stray carriage return", lineno);
			return LV_ERR_INVALID;
		}
		if (lineno == 1 && (strcmp(buf, "learner,skill,correct") == 0 ||
				    strcmp(buf, "learner,skill,correct,time") == 0)) {
			ncols = strcmp(buf, "learner,skill,correct") == 0 ? 3 : 4;
			continue;
		}
		enum lv_status st = parse_row(d, buf, len, lineno, &ncols, err);
		if (st != LV_OK)
			return st;
	}
	if (ferror(f)) {
		util_errf(err, "read error");
		return LV_ERR_IO;
	}
	return LV_OK;
}

static enum lv_status parse_stream(FILE *f, size_t max_rows, struct lv_kt_data **out, char *err)
{
	struct lv_kt_data *d = NULL;
	enum lv_status st = lv_kt_data_create(&d);
	if (st != LV_OK) {
		util_errf(err, "out of memory");
		return st;
	}
	d->max_rows = max_rows ? max_rows : LV_KT_MAX_ROWS_DEFAULT;
	st = parse_lines(f, d, err);
	if (st != LV_OK) {
		lv_kt_data_destroy(d);
		return st;
	}
	*out = d;
	return LV_OK;
}

enum lv_status lv_kt_data_parse_csv(const char *text, size_t len, size_t max_rows, struct lv_kt_data **out,
				    char err[LV_PERSONAL_ERR_LEN])
{
	*out = NULL;
	err[0] = 0;
	if (!text && len) {
		util_errf(err, "no text");
		return LV_ERR_INVALID;
	}
	if (len == 0) {
		/* fmemopen refuses a zero-size buffer; an empty text is an
		 * empty data set. */
		enum lv_status st = lv_kt_data_create(out);
		if (st == LV_OK)
			(*out)->max_rows = max_rows ? max_rows : LV_KT_MAX_ROWS_DEFAULT;
		return st;
	}
	FILE *f = fmemopen((void *)text, len, "r");
	if (!f) {
		util_errf(err, "cannot read the text");
		return LV_ERR_NOMEM;
	}
	enum lv_status st = parse_stream(f, max_rows, out, err);
	fclose(f);
	return st;
}

enum lv_status lv_kt_data_load_csv(const char *path, size_t max_rows, struct lv_kt_data **out,
				   char err[LV_PERSONAL_ERR_LEN])
{
	*out = NULL;
	err[0] = 0;
	FILE *f = fopen(path, "r");
	if (!f) {
		util_errf(err, "cannot open (%s)", strerror(errno));
		return LV_ERR_IO;
	}
	enum lv_status st = parse_stream(f, max_rows, out, err);
	fclose(f);
	return st;
}

enum lv_status lv_kt_data_write_csv(const struct lv_kt_data *d, FILE *f)
{
	bool timed = d->timed == 1;
	if (fputs(timed ? "learner,skill,correct,time\n" : "learner,skill,correct\n", f) < 0)
		return LV_ERR_IO;
	for (size_t i = 0; i < d->n; i++) {
		int r = timed ? fprintf(f, "%s,%s,%u,%.17g\n", d->learners.names[d->learner[i]],
					d->skills.names[d->skill[i]], d->correct[i], d->time[i])
			      : fprintf(f, "%s,%s,%u\n", d->learners.names[d->learner[i]],
					d->skills.names[d->skill[i]], d->correct[i]);
		if (r < 0)
			return LV_ERR_IO;
	}
	return fflush(f) == 0 ? LV_OK : LV_ERR_IO;
}

enum lv_status lv_kt_synth_bkt(const struct lv_bkt_params *p, size_t learners, size_t skills, size_t responses,
			       uint64_t seed, struct lv_kt_data **out)
{
	*out = NULL;
	if (!lv_bkt_params_valid(p) || !learners || !skills || !responses)
		return LV_ERR_INVALID;
	if (skills > SIZE_MAX / responses || learners > SIZE_MAX / (skills * responses) ||
	    learners * skills * responses > LV_KT_MAX_ROWS_DEFAULT)
		return LV_ERR_TOO_LARGE;
	size_t per = skills * responses;
	uint32_t *slots = malloc(per * sizeof *slots);
	uint8_t *known = malloc(skills);
	struct lv_kt_data *d = NULL;
	enum lv_status st = LV_ERR_NOMEM;
	if (!slots || !known)
		goto out;
	st = lv_kt_data_create(&d);
	if (st != LV_OK)
		goto out;
	uint64_t rng = seed;
	char lname[32], sname[32];
	for (size_t l = 0; l < learners; l++) {
		snprintf(lname, sizeof lname, "L%zu", l + 1);
		for (size_t s = 0; s < skills; s++)
			known[s] = personal_rng_uniform(&rng) < p->prior;
		for (size_t k = 0; k < per; k++)
			slots[k] = (uint32_t)(k / responses);
		/* Fisher-Yates: a random interleaving of the learner's skills. */
		for (size_t k = per; k > 1; k--) {
			size_t j = (size_t)(personal_rng_uniform(&rng) * (double)k);
			uint32_t t = slots[k - 1];
			slots[k - 1] = slots[j];
			slots[j] = t;
		}
		for (size_t k = 0; k < per; k++) {
			uint32_t s = slots[k];
			double u = personal_rng_uniform(&rng);
			bool correct = known[s] ? u >= p->slip : u < p->guess;
			double v = personal_rng_uniform(&rng);
			known[s] = known[s] ? v >= p->forget : v < p->learn;
			snprintf(sname, sizeof sname, "S%u", (unsigned)s + 1);
			st = lv_kt_data_add(d, lname, sname, correct, NAN);
			if (st != LV_OK)
				goto out;
		}
	}
	st = LV_OK;
out:
	free(slots);
	free(known);
	if (st != LV_OK) {
		lv_kt_data_destroy(d);
		return st;
	}
	*out = d;
	return LV_OK;
}

bool personal_order_by_skill(const struct lv_kt_data *d, uint32_t **order, size_t **skill_off)
{
	*order = NULL;
	*skill_off = NULL;
	size_t n = d->n, nl = d->learners.n, ns = d->skills.n;
	uint32_t *tmp = malloc((n ? n : 1) * sizeof *tmp), *ord = malloc((n ? n : 1) * sizeof *ord);
	size_t *lcount = calloc(nl + 1, sizeof *lcount), *off = calloc(ns + 1, sizeof *off);
	if (!tmp || !ord || !lcount || !off) {
		free(tmp);
		free(ord);
		free(lcount);
		free(off);
		return false;
	}
	/* Two stable counting sorts: by learner, then by skill. */
	for (size_t i = 0; i < n; i++)
		lcount[d->learner[i] + 1]++;
	for (size_t l = 0; l < nl; l++)
		lcount[l + 1] += lcount[l];
	for (size_t i = 0; i < n; i++)
		tmp[lcount[d->learner[i]]++] = (uint32_t)i;
	for (size_t i = 0; i < n; i++)
		off[d->skill[i] + 1]++;
	for (size_t s = 0; s < ns; s++)
		off[s + 1] += off[s];
	free(lcount);
	size_t *pos = malloc((ns + 1) * sizeof *pos);
	if (!pos) {
		free(tmp);
		free(ord);
		free(off);
		return false;
	}
	memcpy(pos, off, (ns + 1) * sizeof *pos);
	for (size_t k = 0; k < n; k++) {
		uint32_t i = tmp[k];
		ord[pos[d->skill[i]]++] = i;
	}
	free(pos);
	free(tmp);
	*order = ord;
	*skill_off = off;
	return true;
}
