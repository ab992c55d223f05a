/* A federation task as a node serves it (query.h, "fed_task.c"): the DAP
 * task (id, Leader, Helper, VDAF, time precision, minimum batch size) and
 * the question each learner's measurement answers, in the aggregate
 * door's vocabulary (purpose, metric, field, per_learner, bounds,
 * filters, histogram, epsilon).  Which metric goes with which VDAF, and
 * how a learner's contribution becomes a Prio3 measurement, is decided
 * here; docs/federation.md tells the collector how to read the result. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query.h"
#include "learnvault/util.h"

/* The task file's members: the DAP task's, then the question's. */
static const char *const TASK_KEYS[] = {"task_id", "leader", "helper", "vdaf", "time_precision", "min_batch_size"};
static const char *const QUESTION_KEYS[] = {"purpose", "metric", "field", "per_learner", "bounds",
					    "filters", "histogram", "epsilon"};
#define NKEYS(a) (sizeof(a) / sizeof(a)[0])
#define TIME_PRECISION_MAX (366u * 86400u) /* a year: longer batches say nothing useful */
#define MIN_BATCH_MAX 1000000000u

static bool key_known(const char *k, const char *const *keys, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(k, keys[i]) == 0)
			return true;
	return false;
}

/* A whole number in [lo, hi] at @o's member @name. */
static bool member_uint(const cJSON *o, const char *name, uint64_t lo, uint64_t hi, uint64_t *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	if (!cJSON_IsNumber(v) || !(v->valuedouble >= (double)lo && v->valuedouble <= (double)hi) ||
	    v->valuedouble != floor(v->valuedouble))
		return false;
	*out = (uint64_t)v->valuedouble;
	return true;
}

/* The question's members of @o, as an aggregate query (without id). */
static enum lv_status question_parse(const cJSON *o, struct query_spec *q, char err[LV_QUERY_ERR_LEN])
{
	cJSON *qo = cJSON_CreateObject();
	if (!qo)
		return LV_ERR_NOMEM;
	for (size_t i = 0; i < NKEYS(QUESTION_KEYS); i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, QUESTION_KEYS[i]);
		if (v)
			cJSON_AddItemToObject(qo, QUESTION_KEYS[i], cJSON_Duplicate(v, true));
	}
	char *text = cJSON_PrintUnformatted(qo);
	cJSON_Delete(qo);
	if (!text)
		return LV_ERR_NOMEM;
	enum lv_status st = query_parse(text, strlen(text), q, err);
	free(text);
	return st;
}

/* Whether @t's VDAF can carry @t's metric (fed_measurement says how). */
static enum lv_status vdaf_fits(const struct fed_task *t, char err[LV_QUERY_ERR_LEN])
{
	const struct query_spec *q = &t->q;
	const struct lv_fed_vdaf_params *v = &t->vdaf;
	/* Sum and mean carry value - lo in field units: the range must fit. */
	uint64_t range = (uint64_t)(q->hi_u - q->lo_u);
	bool fits_bits = v->bits >= 64 || range <= (((uint64_t)1 << v->bits) - 1);
	switch (q->metric) {
	case Q_COUNT:
		if (v->type == LV_FED_PRIO3_COUNT || (v->type == LV_FED_PRIO3_HISTOGRAM && v->length == 2))
			return LV_OK;
		snprintf(err, LV_QUERY_ERR_LEN, "a count is carried by Prio3Count or a Prio3Histogram of length 2");
		return LV_ERR_INVALID;
	case Q_SUM:
		if ((v->type == LV_FED_PRIO3_SUM || (v->type == LV_FED_PRIO3_SUMVEC && v->length == 1)) && fits_bits)
			return LV_OK;
		snprintf(err, LV_QUERY_ERR_LEN, "a sum is carried by Prio3Sum or a Prio3SumVec of length 1, with bits"
			 " covering the bounds' range (%llu field units)", (unsigned long long)range);
		return LV_ERR_INVALID;
	case Q_MEAN:
		if (v->type == LV_FED_PRIO3_SUMVEC && v->length == 2 && fits_bits)
			return LV_OK;
		snprintf(err, LV_QUERY_ERR_LEN, "a mean is carried by a Prio3SumVec of length 2 ([value - lo, 1]), with"
			 " bits covering the bounds' range (%llu field units)", (unsigned long long)range);
		return LV_ERR_INVALID;
	case Q_HISTOGRAM:
		if (q->by != H_VALUE) {
			snprintf(err, LV_QUERY_ERR_LEN, "a federated histogram is by value");
			return LV_ERR_INVALID;
		}
		if (v->type == LV_FED_PRIO3_HISTOGRAM && v->length == q->nedges - 1)
			return LV_OK;
		snprintf(err, LV_QUERY_ERR_LEN, "a histogram of %zu buckets is carried by a Prio3Histogram of length %zu",
			 q->nedges - 1, q->nedges - 1);
		return LV_ERR_INVALID;
	default:
		snprintf(err, LV_QUERY_ERR_LEN, "a federated task's metric is count, sum, mean or histogram");
		return LV_ERR_INVALID;
	}
}

/* The DAP task's members of @o into @t. */
static enum lv_status task_members(const cJSON *o, struct fed_task *t, char err[LV_QUERY_ERR_LEN])
{
	const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "task_id"));
	const char *leader = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "leader"));
	const char *helper = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "helper"));
	if (!id || strlen(id) >= sizeof t->id_b64 || !lv_fed_task_id_parse(id, t->id)) {
		snprintf(err, LV_QUERY_ERR_LEN, "task_id must be a DAP task id: 32 bytes in base64url without padding");
		return LV_ERR_INVALID;
	}
	snprintf(t->id_b64, sizeof t->id_b64, "%s", id);
	if (!leader || !helper || !lv_fed_endpoint_valid(leader) || !lv_fed_endpoint_valid(helper)) {
		snprintf(err, LV_QUERY_ERR_LEN, "leader and helper must be http or https URLs of the aggregators"
			 " (no user, query or fragment)");
		return LV_ERR_INVALID;
	}
	if (strcmp(leader, helper) == 0) {
		snprintf(err, LV_QUERY_ERR_LEN, "the leader and the helper must be two different aggregators");
		return LV_ERR_INVALID;
	}
	snprintf(t->leader, sizeof t->leader, "%s", leader);
	snprintf(t->helper, sizeof t->helper, "%s", helper);
	if (!member_uint(o, "time_precision", 1, TIME_PRECISION_MAX, &t->time_precision)) {
		snprintf(err, LV_QUERY_ERR_LEN, "time_precision must be whole seconds in [1, %u]", TIME_PRECISION_MAX);
		return LV_ERR_INVALID;
	}
	if (!member_uint(o, "min_batch_size", 1, MIN_BATCH_MAX, &t->min_batch)) {
		snprintf(err, LV_QUERY_ERR_LEN, "min_batch_size must be a whole number in [1, %u]", MIN_BATCH_MAX);
		return LV_ERR_INVALID;
	}
	const cJSON *vdaf = cJSON_GetObjectItemCaseSensitive(o, "vdaf");
	if (!cJSON_IsObject(vdaf)) {
		snprintf(err, LV_QUERY_ERR_LEN, "vdaf must be an object such as {\"type\": \"Prio3Sum\", \"bits\": 8}");
		return LV_ERR_INVALID;
	}
	return lv_fed_vdaf_parse(vdaf, &t->vdaf, err);
}

/* The canonical task: its DAP members, then the question's as given,
 * each in a fixed order (the question's meaning is query_parse's, which
 * reads them again at every upload). */
static enum lv_status task_canonical(const cJSON *in, struct fed_task *t)
{
	cJSON *o = cJSON_CreateObject(), *vdaf = lv_fed_vdaf_json(&t->vdaf);
	enum lv_status st = LV_ERR_NOMEM;
	if (!o || !vdaf)
		goto out;
	cJSON_AddStringToObject(o, "task_id", t->id_b64);
	cJSON_AddStringToObject(o, "leader", t->leader);
	cJSON_AddStringToObject(o, "helper", t->helper);
	cJSON_AddItemToObject(o, "vdaf", vdaf);
	vdaf = NULL;
	cJSON_AddNumberToObject(o, "time_precision", (double)t->time_precision);
	cJSON_AddNumberToObject(o, "min_batch_size", (double)t->min_batch);
	for (size_t i = 0; i < NKEYS(QUESTION_KEYS); i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(in, QUESTION_KEYS[i]);
		if (v)
			cJSON_AddItemToObject(o, QUESTION_KEYS[i], cJSON_Duplicate(v, true));
	}
	if ((t->spec = cJSON_PrintUnformatted(o)))
		st = LV_OK;
out:
	cJSON_Delete(o);
	cJSON_Delete(vdaf);
	return st;
}

enum lv_status fed_task_parse(const char *text, size_t len, struct fed_task *t, char err[LV_QUERY_ERR_LEN])
{
	memset(t, 0, sizeof *t);
	err[0] = '\0';
	if (len > LV_QUERY_MAX_TEXT) {
		snprintf(err, LV_QUERY_ERR_LEN, "a task file is at most %d bytes", LV_QUERY_MAX_TEXT);
		return LV_ERR_TOO_LARGE;
	}
	cJSON *o = util_json_parse(text, len);
	enum lv_status st = LV_ERR_INVALID;
	if (!cJSON_IsObject(o)) {
		snprintf(err, LV_QUERY_ERR_LEN, "a task is a JSON object");
		goto out;
	}
	for (const cJSON *it = o->child; it; it = it->next)
		if (!key_known(it->string, TASK_KEYS, NKEYS(TASK_KEYS)) &&
		    !key_known(it->string, QUESTION_KEYS, NKEYS(QUESTION_KEYS))) {
			snprintf(err, LV_QUERY_ERR_LEN, "unknown task member %.64s", it->string);
			goto out;
		}
	if ((st = task_members(o, t, err)) != LV_OK || (st = question_parse(o, &t->q, err)) != LV_OK)
		goto out;
	t->q_parsed = true;
	if ((st = vdaf_fits(t, err)) != LV_OK || (st = task_canonical(o, t)) != LV_OK)
		goto out;
out:
	cJSON_Delete(o);
	if (st != LV_OK)
		fed_task_free(t);
	return st;
}

void fed_task_free(struct fed_task *t)
{
	if (t->q_parsed)
		query_spec_free(&t->q);
	free(t->spec);
	memset(t, 0, sizeof *t);
}

bool fed_measurement(const struct fed_task *t, const struct contrib *c, uint64_t m[2], size_t *n)
{
	const struct query_spec *q = &t->q;
	*n = lv_fed_vdaf_measurement_len(&t->vdaf);
	m[0] = m[1] = 0;
	switch (q->metric) {
	case Q_COUNT:
		/* Every cohort member reports, 1 when they have a matching
		 * record: the report count does not tell the count. */
		m[0] = c->matched ? 1 : 0;
		return true;
	case Q_SUM:
	case Q_MEAN:
		if (!c->has_value)
			return false;
		m[0] = (uint64_t)(c->value_u - q->lo_u);
		m[1] = 1;
		return true;
	case Q_HISTOGRAM: {
		if (!c->has_value)
			return false;
		size_t b = 0; /* as the aggregate door buckets a value */
		while (b + 2 < q->nedges && c->value_u >= q->edges_u[b + 1])
			b++;
		m[0] = b;
		return true;
	}
	default:
		return false;
	}
}
