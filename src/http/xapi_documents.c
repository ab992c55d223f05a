/* /xapi/activities/state, /xapi/activities/profile, /xapi/agents/profile,
 * /xapi/activities, /xapi/agents. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "learnvault/xapi.h"
#include "xapi_http.h"

struct doc_params {
	const char *id_name;       /* stateId / profileId */
	bool needs_activity;
	bool needs_agent;
	bool allows_registration;
};

static const struct doc_params DOC_PARAMS[] = {
	[LV_DOC_STATE] = {"stateId", true, true, true},
	[LV_DOC_ACTIVITY_PROFILE] = {"profileId", true, false, false},
	[LV_DOC_AGENT_PROFILE] = {"profileId", false, true, false},
};

static bool param_allowed(const struct doc_params *dp, const char *name)
{
	return strcmp(name, dp->id_name) == 0 || strcmp(name, "since") == 0 ||
	       (dp->needs_activity && strcmp(name, "activityId") == 0) ||
	       (dp->needs_agent && strcmp(name, "agent") == 0) ||
	       (dp->allows_registration && strcmp(name, "registration") == 0);
}

/* A GET's reply with ETag (SHA-1 of @data, quoted) and, when @updated_ms
 * > 0, Last-Modified: 304 without a body when If-None-Match names the
 * ETag (RFC 9110 §13.1.2, weak comparison). */
static enum MHD_Result reply_tagged(struct http_req *r, const char *content_type, const void *data,
				    size_t len, int64_t updated_ms)
{
	char hex[41], etag[44], lm[64];
	lv_document_etag(data, len, hex);
	snprintf(etag, sizeof etag, "\"%s\"", hex);
	const char *extra[] = {"ETag", etag, NULL, NULL, NULL};
	if (updated_ms > 0) {
		xapi_http_date(updated_ms, lm);
		extra[2] = "Last-Modified";
		extra[3] = lm;
	}
	const char *inm = req_header(r, "If-None-Match");
	if (inm && lv_etag_matches(inm, hex, true))
		return reply_bytes(r, 304, NULL, "", 0, extra);
	return reply_bytes(r, 200, content_type, data, len, extra);
}

/* GET with the document id: the document with its ETag and
 * Last-Modified. */
static enum MHD_Result doc_get(struct http_req *r, const struct lv_doc_key *key)
{
	struct lv_document d;
	enum lv_status st = lv_document_get(r->node, &r->who, key, &d);
	if (st != LV_OK)
		return reply_status(r, st, st == LV_ERR_NOT_FOUND ? "no such document" : NULL);
	enum MHD_Result ret = reply_tagged(r, d.content_type, d.body, d.len, d.updated_ms);
	lv_document_clear(&d);
	return ret;
}

/* GET without the document id: the ids, optionally only those changed
 * since @since. */
static enum MHD_Result doc_list(struct http_req *r, const struct lv_doc_key *key, const char *since)
{
	int64_t since_ms = INT64_MIN;
	if (since && !util_time_parse(since, &since_ms))
		return reply_error(r, 400, "invalid", "since is not an ISO 8601 timestamp");
	cJSON *ids = NULL;
	enum lv_status st = lv_document_ids(r->node, &r->who, key, since_ms, &ids);
	if (st != LV_OK)
		return reply_status(r, st, NULL);
	/* xAPI 1.0.3 Part Three §1.1: a GET of a document resource carries
	 * an ETag; the id list's is the SHA-1 of the list as sent. */
	char *text = cJSON_PrintUnformatted(ids);
	cJSON_Delete(ids);
	if (!text)
		return reply_error(r, 500, "out_of_memory", "could not build the response");
	enum MHD_Result ret = reply_tagged(r, "application/json", text, strlen(text), 0);
	free(text);
	return ret;
}

/* PUT (replace) or POST (merge JSON objects). */
static enum MHD_Result doc_put(struct http_req *r, const struct lv_doc_key *key, bool post,
			       const struct lv_doc_precondition *pre)
{
	char serr[LV_ERR_TEXT];
	const char *ct = req_header(r, "Content-Type");
	if (post && xapi_media_is(ct, "application/json")) {
		cJSON *j = util_json_parse((const char *)r->content, r->content_len);
		bool obj = cJSON_IsObject(j);
		cJSON_Delete(j);
		if (!obj)
			return reply_error(r, 400, "invalid", "POST with JSON needs a JSON object");
	}
	enum lv_status st = lv_document_put(r->node, &r->who, key, ct, r->content, r->content_len, post, pre, serr);
	return st == LV_OK ? reply_bytes(r, 204, NULL, "", 0, NULL) : reply_status(r, st, serr);
}

enum MHD_Result xapi_documents(struct http_req *r, enum lv_doc_kind kind)
{
	const struct doc_params *dp = &DOC_PARAMS[kind];
	const char *m = r->method;
	bool get = strcmp(m, "GET") == 0, put = strcmp(m, "PUT") == 0, post = strcmp(m, "POST") == 0,
	     del = strcmp(m, "DELETE") == 0;
	if (!get && !put && !post && !del)
		return reply_error(r, 405, "method_not_allowed", "documents support GET, PUT, POST and DELETE");
	for (size_t i = 0; i < r->nparams; i++)
		if (!param_allowed(dp, r->params[i].name))
			return reply_error(r, 400, "invalid", "unknown parameter %.64s", r->params[i].name);
	struct lv_doc_key key = {.kind = kind};
	cJSON *agent = NULL;
	char err[LV_XAPI_ERR_LEN];
	enum MHD_Result ret;
	key.activity = req_param(r, "activityId");
	key.registration = req_param(r, "registration");
	key.doc_id = req_param(r, dp->id_name);
	const char *since = req_param(r, "since");
	if (dp->needs_activity && (!key.activity || !lv_xapi_iri_valid(key.activity)))
		return reply_error(r, 400, "invalid", "activityId must be an IRI");
	if (dp->needs_agent) {
		const char *a = req_param(r, "agent");
		if (!a)
			return reply_error(r, 400, "invalid", "agent is required");
		agent = util_json_parse(a, strlen(a));
		if (!agent || lv_xapi_validate_agent(agent, kind == LV_DOC_STATE, err) != LV_OK) {
			cJSON_Delete(agent);
			return reply_error(r, 400, "invalid", "agent is not a valid Agent");
		}
		key.agent = agent;
	}
	if (key.registration && !util_uuid_valid(key.registration)) {
		ret = reply_error(r, 400, "invalid", "registration is not a UUID");
		goto out;
	}
	if (((put || post) && !key.doc_id) || (del && !key.doc_id && kind != LV_DOC_STATE)) {
		ret = reply_error(r, 400, "invalid", "%s is required", dp->id_name);
		goto out;
	}
	if (since && (key.doc_id || !get)) {
		ret = reply_error(r, 400, "invalid", "since applies to listing documents only");
		goto out;
	}
	struct lv_doc_precondition pre = {
		.if_match = req_header(r, "If-Match"),
		.if_none_match = req_header(r, "If-None-Match"),
		/* 1.0.3: profiles, and a new one needs a header too (the ADL
		 * 1.0.3 suite, XAPI-00273/00293); 2.0: State as well, and a
		 * new document is created without one. */
		.required = put && (kind != LV_DOC_STATE || xapi_request_is_v2(r)),
		.may_create = xapi_request_is_v2(r),
	};
	if (get && key.doc_id) {
		ret = doc_get(r, &key);
	} else if (get) {
		ret = doc_list(r, &key, since);
	} else if (del) {
		enum lv_status st = lv_document_delete(r->node, &r->who, &key, &pre);
		ret = st == LV_OK ? reply_bytes(r, 204, NULL, "", 0, NULL) : reply_status(r, st, NULL);
	} else {
		ret = doc_put(r, &key, post, &pre);
	}
out:
	cJSON_Delete(agent);
	return ret;
}

enum MHD_Result xapi_activities_get(struct http_req *r)
{
	const char *id = req_param(r, "activityId");
	if (!id || !lv_xapi_iri_valid(id) || r->nparams != 1)
		return reply_error(r, 400, "invalid", "activityId (an IRI) is the only parameter");
	cJSON *a = NULL;
	enum lv_status st = lv_activity_get(r->node, id, &a);
	if (st == LV_ERR_NOT_FOUND) {
		/* An activity never seen still has an id: answer with it alone. */
		a = cJSON_CreateObject();
		cJSON_AddStringToObject(a, "objectType", "Activity");
		cJSON_AddStringToObject(a, "id", id);
		st = LV_OK;
	}
	if (st != LV_OK)
		return reply_status(r, st, NULL);
	return reply_json(r, 200, a, NULL);
}

enum MHD_Result xapi_agents_get(struct http_req *r)
{
	const char *a = req_param(r, "agent");
	char err[LV_XAPI_ERR_LEN];
	if (!a || r->nparams != 1)
		return reply_error(r, 400, "invalid", "agent is the only parameter");
	cJSON *agent = util_json_parse(a, strlen(a));
	if (!agent || lv_xapi_validate_agent(agent, false, err) != LV_OK) {
		cJSON_Delete(agent);
		return reply_error(r, 400, "invalid", "agent is not a valid Agent");
	}
	/* The Person object: the store keeps no directory of people, so the
	 * Person is what the request names. */
	cJSON *p = cJSON_CreateObject();
	cJSON_AddStringToObject(p, "objectType", "Person");
	const char *props[] = {"name", "mbox", "mbox_sha1sum", "openid", "account"};
	for (size_t i = 0; i < 5; i++) {
		cJSON *v = cJSON_GetObjectItemCaseSensitive(agent, props[i]);
		if (v) {
			cJSON *arr = cJSON_AddArrayToObject(p, props[i]);
			cJSON_AddItemToArray(arr, cJSON_Duplicate(v, true));
		}
	}
	cJSON_Delete(agent);
	return reply_json(r, 200, p, NULL);
}
