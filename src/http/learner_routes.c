/* The learner's door (learner or guardian token, own learner only):
 * /learner/consents (GET, POST), /learner/consents/{policy} (DELETE). */
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "learnvault/consent.h"
#include "util/util.h"

static enum MHD_Result consents_post(struct http_req *r)
{
	cJSON *body = util_json_parse((const char *)r->content, r->content_len);
	const cJSON *pol = cJSON_GetObjectItemCaseSensitive(body, "policy");
	const cJSON *ver = cJSON_GetObjectItemCaseSensitive(body, "version");
	const cJSON *dec = cJSON_GetObjectItemCaseSensitive(body, "decision");
	enum MHD_Result ret;
	if (!cJSON_IsObject(body) || !cJSON_IsString(pol) || (ver && (!cJSON_IsNumber(ver) || ver->valuedouble < 1 ||
	    ver->valuedouble > 2147483647.0)) || (dec && (!cJSON_IsString(dec) ||
	    (strcmp(dec->valuestring, "give") != 0 && strcmp(dec->valuestring, "refuse") != 0)))) {
		ret = reply_error(r, 400, "invalid",
				  "body: {\"policy\": ID, \"version\"?: N, \"decision\"?: \"give\"|\"refuse\"}");
		goto out;
	}
	for (const cJSON *it = body->child; it; it = it->next) {
		if (strcmp(it->string, "policy") && strcmp(it->string, "version") && strcmp(it->string, "decision")) {
			ret = reply_error(r, 400, "invalid", "unknown field %.32s", it->string);
			goto out;
		}
	}
	char rid[LV_RECORD_ID_LEN], err[LV_CONSENT_ERR_LEN];
	bool give = !dec || strcmp(dec->valuestring, "give") == 0;
	enum lv_status st = lv_consent_decide(r->node, &r->who, LV_ROLE_NONE, r->who.learner, pol->valuestring,
					      ver ? (uint32_t)ver->valuedouble : 0, give, rid, err);
	if (st != LV_OK) {
		ret = reply_status(r, st, err);
		goto out;
	}
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "record_id", rid);
	cJSON_AddStringToObject(o, "policy", pol->valuestring);
	cJSON_AddStringToObject(o, "decision", give ? "give" : "refuse");
	ret = reply_json(r, 201, o, NULL);
out:
	cJSON_Delete(body);
	return ret;
}

enum MHD_Result learner_route(struct http_req *r)
{
	const char *p = r->path + 8; /* after "/learner" */
	if (!r->authenticated)
		return reply_error(r, 401, "unauthorized", "a learner or guardian token is required");
	if ((r->who.role != LV_ROLE_LEARNER && r->who.role != LV_ROLE_GUARDIAN) || !r->who.learner[0])
		return reply_error(r, 403, "forbidden", "the learner's door is for learner and guardian credentials");
	if (strcmp(p, "/consents") == 0) {
		if (strcmp(r->method, "POST") == 0)
			return consents_post(r);
		if (strcmp(r->method, "GET") != 0)
			return reply_error(r, 405, "method_not_allowed", "consents support GET and POST");
		char *json = NULL;
		enum lv_status st = lv_consent_list(r->node, r->who.learner, util_now_ms(), &json);
		if (st != LV_OK)
			return reply_status(r, st, NULL);
		enum MHD_Result ret = reply_bytes(r, 200, "application/json", json, strlen(json), NULL);
		free(json);
		return ret;
	}
	if (strncmp(p, "/consents/", 10) == 0 && p[10]) {
		if (strcmp(r->method, "DELETE") != 0)
			return reply_error(r, 405, "method_not_allowed", "withdraw with DELETE");
		char rid[LV_RECORD_ID_LEN], err[LV_CONSENT_ERR_LEN];
		enum lv_status st = lv_consent_withdraw(r->node, &r->who, LV_ROLE_NONE, r->who.learner, p + 10, rid, err);
		if (st != LV_OK)
			return reply_status(r, st, err);
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "record_id", rid);
		cJSON_AddStringToObject(o, "withdrawn", p + 10);
		return reply_json(r, 200, o, NULL);
	}
	return reply_error(r, 404, "not_found", "no such learner resource");
}
