/* The public face of the module's parameters (learnvault/federation.h):
 * a VDAF named in a task file, a task id, an aggregator endpoint. */
#include <string.h>

#include <curl/curl.h>
#include <sodium.h>

#include "learnvault/federation.h"
#include "vdaf_params.h"

static const struct {
	const char *name;
	enum lv_fed_vdaf_type type;
	bool bits, length; /* which parameters it takes (chunk_length goes with length) */
} VDAFS[] = {
	{"Prio3Count", LV_FED_PRIO3_COUNT, false, false},
	{"Prio3Sum", LV_FED_PRIO3_SUM, true, false},
	{"Prio3SumVec", LV_FED_PRIO3_SUMVEC, true, true},
	{"Prio3Histogram", LV_FED_PRIO3_HISTOGRAM, false, true},
};
#define NVDAFS (sizeof VDAFS / sizeof VDAFS[0])

/* A whole number in [1, max] at @o's member @name into *@out. */
static bool uint_member(const cJSON *o, const char *name, uint32_t max, uint32_t *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	if (!cJSON_IsNumber(v) || !(v->valuedouble >= 1 && v->valuedouble <= max) || v->valuedouble != (uint32_t)v->valuedouble)
		return false;
	*out = (uint32_t)v->valuedouble;
	return true;
}

static enum fed_prio3_kind kind_of(enum lv_fed_vdaf_type t)
{
	switch (t) {
	case LV_FED_PRIO3_SUM: return FED_PRIO3_SUM;
	case LV_FED_PRIO3_SUMVEC: return FED_PRIO3_SUMVEC;
	case LV_FED_PRIO3_HISTOGRAM: return FED_PRIO3_HISTOGRAM;
	default: return FED_PRIO3_COUNT;
	}
}

enum lv_status fed_vdaf_prio3(const struct lv_fed_vdaf_params *p, struct fed_prio3 **out)
{
	struct fed_prio3_params pp = {.kind = kind_of(p->type), .bits = p->bits, .length = p->length,
				      .chunk_length = p->chunk_length, .num_shares = 2};
	return fed_prio3_create(&pp, out);
}

enum lv_status lv_fed_vdaf_parse(const cJSON *o, struct lv_fed_vdaf_params *out, char err[LV_ERR_LEN])
{
	memset(out, 0, sizeof *out);
	const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "type"));
	size_t i = 0;
	while (type && i < NVDAFS && strcmp(type, VDAFS[i].name) != 0)
		i++;
	if (!type || i == NVDAFS) {
		util_errf(err, "vdaf.type must be Prio3Count, Prio3Sum, Prio3SumVec or Prio3Histogram");
		return LV_ERR_INVALID;
	}
	out->type = VDAFS[i].type;
	for (const cJSON *m = o->child; m; m = m->next) {
		bool known = strcmp(m->string, "type") == 0 || (VDAFS[i].bits && strcmp(m->string, "bits") == 0) ||
			     (VDAFS[i].length && (strcmp(m->string, "length") == 0 || strcmp(m->string, "chunk_length") == 0));
		if (!known) {
			util_errf(err, "%s takes no parameter %.64s", type, m->string);
			return LV_ERR_INVALID;
		}
	}
	/* Prio3 has no default chunk length: the aggregators and the
	 * collector must use the very one the task was made with. */
	if ((VDAFS[i].bits && !uint_member(o, "bits", 64, &out->bits)) ||
	    (VDAFS[i].length && (!uint_member(o, "length", 1u << 20, &out->length) ||
				 !uint_member(o, "chunk_length", 1u << 20, &out->chunk_length)))) {
		util_errf(err, "%s needs %s", type,
			  VDAFS[i].bits && VDAFS[i].length ? "bits in [1, 64], length and chunk_length"
			  : VDAFS[i].bits		     ? "bits in [1, 64]"
							     : "length and chunk_length");
		return LV_ERR_INVALID;
	}
	struct fed_prio3 *v = NULL;
	enum lv_status st = fed_vdaf_prio3(out, &v);
	fed_prio3_destroy(v);
	if (st != LV_OK) {
		util_errf(err, "%s refuses these parameters", type);
		memset(out, 0, sizeof *out);
		return st == LV_ERR_NOMEM ? st : LV_ERR_INVALID;
	}
	return LV_OK;
}

cJSON *lv_fed_vdaf_json(const struct lv_fed_vdaf_params *p)
{
	cJSON *o = cJSON_CreateObject();
	size_t i = 0;
	while (i < NVDAFS - 1 && VDAFS[i].type != p->type)
		i++;
	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "type", VDAFS[i].name);
	if (VDAFS[i].bits)
		cJSON_AddNumberToObject(o, "bits", p->bits);
	if (VDAFS[i].length) {
		cJSON_AddNumberToObject(o, "length", p->length);
		cJSON_AddNumberToObject(o, "chunk_length", p->chunk_length);
	}
	return o;
}

size_t lv_fed_vdaf_measurement_len(const struct lv_fed_vdaf_params *p)
{
	return p->type == LV_FED_PRIO3_SUMVEC ? p->length : 1;
}

bool lv_fed_task_id_parse(const char *b64, uint8_t id[LV_FED_TASK_ID_LEN])
{
	size_t len = 0;
	const char *end = NULL;
	uint8_t tmp[LV_FED_TASK_ID_LEN + 3];
	memset(id, 0, LV_FED_TASK_ID_LEN);
	if (!b64 || strlen(b64) != LV_FED_TASK_ID_B64_LEN - 1 ||
	    sodium_base642bin(tmp, sizeof tmp, b64, strlen(b64), NULL, &len, &end,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    *end || len != LV_FED_TASK_ID_LEN)
		return false;
	memcpy(id, tmp, LV_FED_TASK_ID_LEN);
	return true;
}

bool lv_fed_endpoint_valid(const char *url)
{
	if (!url || strlen(url) >= LV_FED_URL_MAX)
		return false;
	for (const char *c = url; *c; c++)
		if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f)
			return false;
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *user = NULL, *query = NULL, *frag = NULL;
	bool ok = u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
		  curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
		  (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0) &&
		  curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && host[0] &&
		  curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_NO_USER &&
		  curl_url_get(u, CURLUPART_QUERY, &query, 0) == CURLUE_NO_QUERY &&
		  curl_url_get(u, CURLUPART_FRAGMENT, &frag, 0) == CURLUE_NO_FRAGMENT;
	curl_free(scheme);
	curl_free(host);
	curl_free(user);
	curl_free(query);
	curl_free(frag);
	curl_url_cleanup(u);
	return ok;
}
