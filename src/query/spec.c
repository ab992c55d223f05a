/* Aggregate query specifications: strict parsing and a canonical digest. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "query.h"
#include "learnvault/util.h"

static enum lv_status fail(char err[LV_QUERY_ERR_LEN], const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static enum lv_status fail(char err[LV_QUERY_ERR_LEN], const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, LV_QUERY_ERR_LEN, fmt, ap);
	va_end(ap);
	return LV_ERR_INVALID;
}

static const char *const METRICS[] = {"count", "sum", "mean", "histogram", "quantile"};
static const char *const FIELDS[] = {"", "statements", "result.score.scaled", "result.success",
				     "result.completion", "result.duration"};
static const char *const PERS[] = {"mean", "sum", "max", "min", "first", "last"};
static const char *const BYS[] = {"value", "verb", "activity"};

const char *query_metric_str(enum q_metric m) { return METRICS[m]; }
const char *query_field_str(enum q_field f) { return FIELDS[f]; }

double query_field_unit(enum q_field f)
{
	switch (f) {
	case F_SCORE:
	case F_SUCCESS:
	case F_COMPLETION:
		return 1e-4;
	case F_DURATION:
		return 1; /* seconds */
	default:
		return 1;
	}
}

const char *query_field_policy_name(enum q_field f)
{
	return f == F_NONE || f == F_STATEMENTS ? NULL : FIELDS[f];
}

static int lookup(const char *s, const char *const *names, size_t n)
{
	for (size_t i = 0; s && i < n; i++)
		if (strcmp(s, names[i]) == 0)
			return (int)i;
	return -1;
}

static bool id_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > LV_QUERY_ID_MAX)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      *s == '.' || *s == '_' || *s == ':' || *s == '-'))
			return false;
	return true;
}

static bool purpose_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > LV_POLICY_ID_MAX)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
			return false;
	return true;
}

/* A string or an array of strings (IRIs) into @out. */
static enum lv_status iri_list(const cJSON *v, const char *name, char **out, size_t *n, size_t max,
			       char err[LV_QUERY_ERR_LEN])
{
	if (cJSON_IsString(v)) {
		if (!*v->valuestring || strlen(v->valuestring) > 2048)
			return fail(err, "%s: must be an IRI", name);
		out[0] = strdup(v->valuestring);
		*n = 1;
		return out[0] ? LV_OK : LV_ERR_NOMEM;
	}
	if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) == 0)
		return fail(err, "%s: must be a string or a non-empty array of strings", name);
	if ((size_t)cJSON_GetArraySize(v) > max)
		return fail(err, "%s: at most %zu items", name, max);
	const cJSON *it;
	cJSON_ArrayForEach(it, v) {
		if (!cJSON_IsString(it) || !*it->valuestring || strlen(it->valuestring) > 2048)
			return fail(err, "%s: every item must be a non-empty string", name);
		for (size_t k = 0; k < *n; k++)
			if (strcmp(out[k], it->valuestring) == 0)
				return fail(err, "%s: '%s' appears twice", name, it->valuestring);
		if (!(out[*n] = strdup(it->valuestring)))
			return LV_ERR_NOMEM;
		(*n)++;
	}
	return LV_OK;
}

static bool uuid16(const char *s, unsigned char out[16])
{
	if (!util_uuid_valid(s))
		return false;
	size_t k = 0;
	for (; *s; s++) {
		if (*s == '-')
			continue;
		int h = *s <= '9' ? *s - '0' : (*s | 32) - 'a' + 10;
		if (k % 2 == 0)
			out[k / 2] = (unsigned char)(h << 4);
		else
			out[k / 2] |= (unsigned char)h;
		k++;
	}
	return k == 32;
}

static enum lv_status parse_filters(const cJSON *f, struct query_spec *q, char err[LV_QUERY_ERR_LEN])
{
	static const char *const KEYS[] = {"verb", "activity", "activity_type", "registration", "since", "until"};
	enum lv_status st = LV_OK;
	if (!cJSON_IsObject(f))
		return fail(err, "filters: must be an object");
	const cJSON *it;
	cJSON_ArrayForEach(it, f) {
		int k = lookup(it->string, KEYS, 6);
		if (k < 0)
			return fail(err, "filters: unknown field '%.64s'", it->string);
		for (const cJSON *j = f->child; j != it; j = j->next)
			if (strcmp(j->string, it->string) == 0)
				return fail(err, "filters: field '%s' appears twice", it->string);
		switch (k) {
		case 0: st = iri_list(it, "filters.verb", q->verbs, &q->nverbs, Q_MAX_LIST, err); break;
		case 1: st = iri_list(it, "filters.activity", q->activities, &q->nactivities, Q_MAX_LIST, err); break;
		case 2: st = iri_list(it, "filters.activity_type", q->types, &q->ntypes, Q_MAX_LIST, err); break;
		case 3:
			if (!cJSON_IsString(it) || !uuid16(it->valuestring, q->registration))
				return fail(err, "filters.registration: must be a UUID");
			q->has_registration = true;
			break;
		case 4:
		case 5: {
			int64_t ms;
			if (!cJSON_IsString(it) || !util_time_parse(it->valuestring, &ms))
				return fail(err, "filters.%s: must be an RFC 3339 timestamp", it->string);
			if (k == 4) {
				q->has_since = true;
				q->since_ms = ms;
			} else {
				q->has_until = true;
				q->until_ms = ms;
			}
			break;
		}
		}
		if (st != LV_OK)
			return st;
	}
	if (q->has_since && q->has_until && q->since_ms >= q->until_ms)
		return fail(err, "filters: since must be before until");
	return LV_OK;
}

/* Converts a bound to field units, rounding inward. */
static bool to_units(double v, double unit, bool up, int64_t *out)
{
	double u = v / unit;
	u = up ? ceil(u - 1e-9) : floor(u + 1e-9);
	if (!(fabs(u) <= (double)Q_UNIT_MAX))
		return false;
	*out = (int64_t)u;
	return true;
}

static enum lv_status parse_bounds(const cJSON *b, struct query_spec *q, char err[LV_QUERY_ERR_LEN])
{
	if (!cJSON_IsArray(b) || cJSON_GetArraySize(b) != 2 || !cJSON_IsNumber(b->child) ||
	    !cJSON_IsNumber(b->child->next))
		return fail(err, "bounds: must be [lo, hi], two numbers");
	q->lo = b->child->valuedouble;
	q->hi = b->child->next->valuedouble;
	q->has_bounds = true;
	return LV_OK;
}

static enum lv_status check_bounds(struct query_spec *q, char err[LV_QUERY_ERR_LEN])
{
	double min = 0, max = 1e9;
	if (q->field == F_SCORE)
		min = -1, max = 1;
	else if (q->field == F_SUCCESS || q->field == F_COMPLETION)
		min = 0, max = 1;
	if (!q->has_bounds) {
		if (q->field != F_SUCCESS && q->field != F_COMPLETION)
			return fail(err, "bounds: required for %s of %s", METRICS[q->metric], FIELDS[q->field]);
		q->lo = 0;
		q->hi = 1;
	}
	if (!(q->lo < q->hi) || q->lo < min || q->hi > max)
		return fail(err, "bounds: need lo < hi within [%g, %g] for %s", min, max, FIELDS[q->field]);
	double unit = query_field_unit(q->field);
	if (!to_units(q->lo, unit, true, &q->lo_u) || !to_units(q->hi, unit, false, &q->hi_u) || q->lo_u >= q->hi_u)
		return fail(err, "bounds: too narrow or too wide for the field's resolution (%g)", unit);
	return LV_OK;
}

static enum lv_status parse_histogram(const cJSON *h, struct query_spec *q, char err[LV_QUERY_ERR_LEN])
{
	if (!cJSON_IsObject(h))
		return fail(err, "histogram: must be an object");
	static const char *const KEYS[] = {"by", "keys", "buckets", "max_keys_per_learner"};
	const cJSON *it;
	const cJSON *keys = NULL, *buckets = NULL, *maxk = NULL;
	int by = -1;
	cJSON_ArrayForEach(it, h) {
		int k = lookup(it->string, KEYS, 4);
		if (k < 0)
			return fail(err, "histogram: unknown field '%.64s'", it->string);
		for (const cJSON *j = h->child; j != it; j = j->next)
			if (strcmp(j->string, it->string) == 0)
				return fail(err, "histogram: field '%s' appears twice", it->string);
		if (k == 0 && (by = lookup(cJSON_GetStringValue(it), BYS, 3)) < 0)
			return fail(err, "histogram.by: must be value, verb or activity");
		if (k == 1)
			keys = it;
		if (k == 2)
			buckets = it;
		if (k == 3)
			maxk = it;
	}
	if (by < 0)
		return fail(err, "histogram.by: required");
	q->by = (enum q_by)by;
	if (q->by == H_VALUE) {
		if (keys || maxk)
			return fail(err, "histogram: by value takes buckets, not keys");
		if (!cJSON_IsArray(buckets) || cJSON_GetArraySize(buckets) < 2 ||
		    cJSON_GetArraySize(buckets) > Q_MAX_KEYS + 1)
			return fail(err, "histogram.buckets: 2 to %d increasing edges", Q_MAX_KEYS + 1);
		cJSON_ArrayForEach(it, buckets) {
			if (!cJSON_IsNumber(it))
				return fail(err, "histogram.buckets: edges must be numbers");
			q->edges[q->nedges++] = it->valuedouble;
		}
		return LV_OK;
	}
	if (buckets)
		return fail(err, "histogram: by %s takes keys, not buckets", BYS[by]);
	if (!keys)
		return fail(err, "histogram.keys: required (the known keys; unknown keys are never released)");
	enum lv_status st = iri_list(keys, "histogram.keys", q->keys, &q->nkeys, Q_MAX_KEYS, err);
	if (st != LV_OK)
		return st;
	q->max_keys = (unsigned)q->nkeys;
	if (maxk) {
		if (!cJSON_IsNumber(maxk) || maxk->valuedouble != floor(maxk->valuedouble) || maxk->valuedouble < 1 ||
		    maxk->valuedouble > (double)q->nkeys)
			return fail(err, "histogram.max_keys_per_learner: an integer from 1 to the number of keys");
		q->max_keys = (unsigned)maxk->valuedouble;
	}
	return LV_OK;
}

static void add_list(cJSON *o, const char *name, char *const *v, size_t n)
{
	if (!n)
		return;
	cJSON *a = cJSON_AddArrayToObject(o, name);
	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
}

/* The canonical question: the parsed query (not its spelling), without
 * the id, as q->canonical; q->sha256 is the SHA-256 of exactly that text.
 * The release entry records this text as its "query" member (door.c), so
 * an auditor can read the question and recompute request_sha256 from it.
 * Its members and their order are fixed: changing them would change the
 * digest of every question and make a kept release's id look reused. */
static enum lv_status digest(struct query_spec *q)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "purpose", q->purpose);
	cJSON_AddStringToObject(o, "metric", METRICS[q->metric]);
	cJSON_AddStringToObject(o, "field", FIELDS[q->field]);
	cJSON_AddStringToObject(o, "per", PERS[q->per]);
	cJSON_AddNumberToObject(o, "lo_u", (double)q->lo_u);
	cJSON_AddNumberToObject(o, "hi_u", (double)q->hi_u);
	add_list(o, "verbs", q->verbs, q->nverbs);
	add_list(o, "activities", q->activities, q->nactivities);
	add_list(o, "types", q->types, q->ntypes);
	if (q->has_registration) {
		char hex[33];
		sodium_bin2hex(hex, sizeof hex, q->registration, 16);
		cJSON_AddStringToObject(o, "registration", hex);
	}
	if (q->has_since)
		cJSON_AddNumberToObject(o, "since", (double)q->since_ms);
	if (q->has_until)
		cJSON_AddNumberToObject(o, "until", (double)q->until_ms);
	cJSON_AddNumberToObject(o, "eps", (double)q->eps_micro_floor);
	cJSON_AddNumberToObject(o, "mech", q->mech);
	cJSON_AddNumberToObject(o, "delta", q->delta);
	cJSON_AddNumberToObject(o, "by", q->by);
	add_list(o, "keys", q->keys, q->nkeys);
	cJSON *e = cJSON_AddArrayToObject(o, "edges");
	for (size_t i = 0; i < q->nedges; i++)
		cJSON_AddItemToArray(e, cJSON_CreateNumber((double)q->edges_u[i]));
	cJSON_AddNumberToObject(o, "max_keys", q->max_keys);
	cJSON_AddNumberToObject(o, "q", q->q_milli);
	cJSON_AddNumberToObject(o, "cand", q->ncand);
	q->canonical = query_question_text(o, q->sha256);
	return q->canonical ? LV_OK : LV_ERR_NOMEM;
}

char *query_question_text(cJSON *o, char sha[65])
{
	char *text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!text)
		return NULL;
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, (const unsigned char *)text, strlen(text));
	sodium_bin2hex(sha, 65, h, sizeof h);
	return text;
}

/* The query's top-level fields, by position. */
static const char *const KEYS[] = {"id", "purpose", "metric", "field", "per_learner", "bounds", "filters",
				   "histogram", "quantile", "candidates", "epsilon", "mechanism", "delta"};
enum { K_ID, K_PURPOSE, K_METRIC, K_FIELD, K_PER, K_BOUNDS, K_FILTERS, K_HIST, K_QUANT, K_CAND, K_EPS,
       K_MECH, K_DELTA, K_N };

/* Each known field of @root into v[K_*]: unknown and repeated ones refused. */
static enum lv_status collect_fields(const cJSON *root, const cJSON *v[K_N], char err[LV_QUERY_ERR_LEN])
{
	const cJSON *it;
	cJSON_ArrayForEach(it, root) {
		int k = lookup(it->string, KEYS, K_N);
		if (k < 0)
			return fail(err, "unknown field '%.64s'", it->string);
		if (v[k])
			return fail(err, "field '%s' appears twice", it->string);
		v[k] = it;
	}
	return LV_OK;
}

/* id, purpose, metric, and the histogram a histogram needs. */
static enum lv_status parse_head(const cJSON *const v[K_N], struct query_spec *q, char err[LV_QUERY_ERR_LEN])
{
	if (v[K_ID]) {
		if (!cJSON_IsString(v[K_ID]) || !id_ok(v[K_ID]->valuestring))
			return fail(err, "id: 1 to %d characters from A-Z a-z 0-9 . _ : -", LV_QUERY_ID_MAX);
		snprintf(q->id, sizeof q->id, "%s", v[K_ID]->valuestring);
		q->id_given = true;
	}
	if (!cJSON_IsString(v[K_PURPOSE]) || !purpose_ok(v[K_PURPOSE]->valuestring))
		return fail(err, "purpose: required, a policy id");
	snprintf(q->purpose, sizeof q->purpose, "%s", v[K_PURPOSE]->valuestring);
	int m = lookup(cJSON_GetStringValue(v[K_METRIC]), METRICS, 5);
	if (m < 0)
		return fail(err, "metric: required, one of count, sum, mean, histogram, quantile");
	q->metric = (enum q_metric)m;
	q->op = (enum lv_policy_op)m; /* same order as enum lv_policy_op */
	enum lv_status st;
	if (v[K_HIST] && (st = parse_histogram(v[K_HIST], q, err)) != LV_OK)
		return st;
	if (q->metric == Q_HISTOGRAM && !v[K_HIST])
		return fail(err, "histogram: required for metric histogram");
	if (q->metric != Q_HISTOGRAM && v[K_HIST])
		return fail(err, "histogram: only for metric histogram");
	return LV_OK;
}

static bool metric_needs_field(const struct query_spec *q)
{
	return q->metric == Q_SUM || q->metric == Q_MEAN || q->metric == Q_QUANTILE ||
	       (q->metric == Q_HISTOGRAM && q->by == H_VALUE);
}

/* field and per_learner. */
static enum lv_status parse_field(const cJSON *const v[K_N], struct query_spec *q, char err[LV_QUERY_ERR_LEN])
{
	bool needs_field = metric_needs_field(q);
	if (v[K_FIELD]) {
		int f = lookup(cJSON_GetStringValue(v[K_FIELD]), FIELDS + 1, 5);
		if (f < 0)
			return fail(err, "field: one of statements, result.score.scaled, result.success,"
					 " result.completion, result.duration");
		q->field = (enum q_field)(f + 1);
	}
	if (needs_field && q->field == F_NONE)
		return fail(err, "field: required for %s", METRICS[q->metric]);
	if (!needs_field && q->field != F_NONE)
		return fail(err, "field: not used by %s%s", METRICS[q->metric],
			    q->metric == Q_HISTOGRAM ? " by verb or activity" : "");
	q->per = q->field == F_DURATION ? P_SUM : P_MEAN;
	if (v[K_PER]) {
		int p = lookup(cJSON_GetStringValue(v[K_PER]), PERS, 6);
		if (p < 0 || q->field == F_NONE || q->field == F_STATEMENTS)
			return fail(err, "per_learner: one of mean, sum, max, min, first, last, for a result field");
		q->per = (enum q_per)p;
	}
	return LV_OK;
}

/* bounds, or a histogram's bucket edges as the clamping range, in units. */
static enum lv_status parse_range(const cJSON *const v[K_N], struct query_spec *q, char err[LV_QUERY_ERR_LEN])
{
	enum lv_status st;
	bool by_value = q->metric == Q_HISTOGRAM && q->by == H_VALUE;
	if (v[K_BOUNDS] && (st = parse_bounds(v[K_BOUNDS], q, err)) != LV_OK)
		return st;
	if (by_value) {
		/* The bucket edges are the clamping range. */
		if (v[K_BOUNDS])
			return fail(err, "bounds: not used by a histogram by value (its buckets are the range)");
		q->lo = q->edges[0];
		q->hi = q->edges[q->nedges - 1];
		q->has_bounds = true;
	}
	if (metric_needs_field(q)) {
		if ((st = check_bounds(q, err)) != LV_OK)
			return st;
	} else if (v[K_BOUNDS]) {
		return fail(err, "bounds: not used by %s", METRICS[q->metric]);
	}
	if (!by_value)
		return LV_OK;
	double unit = query_field_unit(q->field);
	for (size_t i = 0; i < q->nedges; i++)
		if (!to_units(q->edges[i], unit, true, &q->edges_u[i]) || (i && q->edges_u[i] <= q->edges_u[i - 1]))
			return fail(err, "histogram.buckets: edges must increase (at the field's resolution %g)", unit);
	/* The buckets are the clamping range. */
	q->lo_u = q->edges_u[0];
	q->hi_u = q->edges_u[q->nedges - 1];
	return LV_OK;
}

/* quantile and candidates (only for metric quantile). */
static enum lv_status parse_quantile(const cJSON *const v[K_N], struct query_spec *q, char err[LV_QUERY_ERR_LEN])
{
	if ((v[K_QUANT] || v[K_CAND]) && q->metric != Q_QUANTILE)
		return fail(err, "quantile and candidates: only for metric quantile");
	if (q->metric != Q_QUANTILE)
		return LV_OK;
	double qq = cJSON_IsNumber(v[K_QUANT]) ? v[K_QUANT]->valuedouble : -1;
	if (!(qq > 0 && qq < 1) || fabs(qq * 1000 - round(qq * 1000)) > 1e-9)
		return fail(err, "quantile: required, in (0, 1) with at most 3 decimals");
	q->q_milli = (uint32_t)round(qq * 1000);
	q->ncand = 101;
	if (v[K_CAND]) {
		double c = cJSON_IsNumber(v[K_CAND]) ? v[K_CAND]->valuedouble : 0;
		if (c != floor(c) || c < 2 || c > Q_MAX_CANDIDATES)
			return fail(err, "candidates: an integer from 2 to %d", Q_MAX_CANDIDATES);
		q->ncand = (unsigned)c;
	}
	return LV_OK;
}

/* epsilon (in micro-epsilon, rounded both ways), mechanism and delta. */
static enum lv_status parse_privacy(const cJSON *const v[K_N], struct query_spec *q, char err[LV_QUERY_ERR_LEN])
{
	double eps = cJSON_IsNumber(v[K_EPS]) ? v[K_EPS]->valuedouble : -1;
	if (!(eps >= Q_EPS_MIN_MICRO / 1e6 && eps <= 100))
		return fail(err, "epsilon: required, from 0.001 to 100");
	q->epsilon = eps;
	q->eps_micro_floor = (uint64_t)floor(eps * 1e6 + 1e-6);
	q->eps_micro_ceil = (uint64_t)ceil(eps * 1e6 - 1e-6);
	if ((double)q->eps_micro_floor > eps * 1e6)
		q->eps_micro_floor--; /* never more epsilon than asked */
	if ((double)q->eps_micro_ceil < eps * 1e6)
		q->eps_micro_ceil++;
	q->mech = M_LAPLACE;
	if (v[K_MECH]) {
		const char *mech = cJSON_GetStringValue(v[K_MECH]);
		if (mech && strcmp(mech, "discrete-gaussian") == 0)
			q->mech = M_GAUSSIAN;
		else if (!mech || strcmp(mech, "discrete-laplace") != 0)
			return fail(err, "mechanism: discrete-laplace or discrete-gaussian");
	}
	if (q->mech == M_GAUSSIAN && q->metric != Q_COUNT && q->metric != Q_SUM && q->metric != Q_HISTOGRAM)
		return fail(err, "mechanism: discrete-gaussian answers count, sum and histogram only");
	if (v[K_DELTA]) {
		if (q->mech != M_GAUSSIAN || !cJSON_IsNumber(v[K_DELTA]) || !(v[K_DELTA]->valuedouble > 0) ||
		    v[K_DELTA]->valuedouble > 1e-4)
			return fail(err, "delta: only with discrete-gaussian, in (0, 1e-4]");
		q->delta = v[K_DELTA]->valuedouble;
	} else if (q->mech == M_GAUSSIAN) {
		q->delta = 1e-6;
	}
	return LV_OK;
}

enum lv_status query_parse(const char *text, size_t len, struct query_spec *q, char err[LV_QUERY_ERR_LEN])
{
	const cJSON *v[K_N] = {0};
	enum lv_status st;
	memset(q, 0, sizeof *q);
	err[0] = '\0';
	if (len > LV_QUERY_MAX_TEXT) {
		snprintf(err, LV_QUERY_ERR_LEN, "query exceeds %d bytes", LV_QUERY_MAX_TEXT);
		return LV_ERR_TOO_LARGE;
	}
	cJSON *root = util_json_parse(text, len);
	if (!root || !cJSON_IsObject(root))
		st = fail(err, "the query must be a JSON object");
	else if ((st = collect_fields(root, v, err)) == LV_OK && (st = parse_head(v, q, err)) == LV_OK &&
		 (st = parse_field(v, q, err)) == LV_OK && (st = parse_range(v, q, err)) == LV_OK &&
		 (!v[K_FILTERS] || (st = parse_filters(v[K_FILTERS], q, err)) == LV_OK) &&
		 (st = parse_quantile(v, q, err)) == LV_OK && (st = parse_privacy(v, q, err)) == LV_OK)
		st = digest(q);
	cJSON_Delete(root);
	if (st != LV_OK)
		query_spec_free(q);
	return st;
}

void query_spec_free(struct query_spec *q)
{
	for (size_t i = 0; i < q->nverbs; i++)
		free(q->verbs[i]);
	for (size_t i = 0; i < q->nactivities; i++)
		free(q->activities[i]);
	for (size_t i = 0; i < q->ntypes; i++)
		free(q->types[i]);
	for (size_t i = 0; i < q->nkeys; i++)
		free(q->keys[i]);
	q->nverbs = q->nactivities = q->ntypes = q->nkeys = 0;
	free(q->canonical);
	q->canonical = NULL;
}
