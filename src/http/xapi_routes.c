/* The xAPI door: version and credential checks, then the resources. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cors.h"
#include "http.h"
#include "xapi_http.h"

bool xapi_media_is(const char *ct, const char *type)
{
	size_t n = strlen(type);
	if (!ct)
		return false;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	if (strncasecmp(ct, type, n) != 0)
		return false;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

void xapi_http_date(int64_t ms, char out[64])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 64, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

char *xapi_url_encode(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(s);
	char *o = malloc(3 * n + 1);
	if (!o)
		return NULL;
	char *p = o;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
			*p++ = (char)c;
		} else {
			*p++ = '%';
			*p++ = hex[c >> 4];
			*p++ = hex[c & 15];
		}
	}
	*p = 0;
	return o;
}

/* The version a request that names none (or an unknown one) is answered
 * in: the node setting xapi_default_version, "1.0.3" unless set.  The
 * two suites of the ADL tests each want their own version on the 400 for
 * a missing header, and nothing in such a request tells them apart. */
static const char *default_version(struct http_req *r)
{
	char *v = NULL;
	const char *name = lv_xapi_version_name(LV_XAPI_V1_0_3);
	enum lv_xapi_version parsed;
	if (lv_node_setting_get(r->node, "xapi_default_version", &v) == LV_OK &&
	    lv_xapi_version_parse(v, &parsed) == LV_OK)
		name = lv_xapi_version_name(parsed);
	free(v);
	return name;
}

/* Version negotiation (Communication 3.3, both versions): the request's
 * X-Experience-API-Version picks the rules, 1.0.x -> 1.0.3, 2.0.x ->
 * 2.0.0, and the response says the version it answers in.  False (and
 * nothing replied) when the header is missing or names another version;
 * the response then says the default version. */
static bool negotiate_version(struct http_req *r)
{
	enum lv_xapi_version v;
	if (lv_xapi_version_parse(req_header(r, "X-Experience-API-Version"), &v) != LV_OK) {
		r->xapi_version = default_version(r);
		return false;
	}
	r->xapi = v;
	r->xapi_version = lv_xapi_version_name(v);
	return true;
}

bool xapi_request_is_v2(const struct http_req *r)
{
	/* As negotiated (negotiate_version): requests that named no version
	 * are refused before any document rule is asked. */
	return r->xapi == LV_XAPI_V2_0_0;
}

static enum MHD_Result about(struct http_req *r)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *v = cJSON_AddArrayToObject(o, "version");
	cJSON_AddItemToArray(v, cJSON_CreateString("2.0.0"));
	cJSON_AddItemToArray(v, cJSON_CreateString("1.0.3"));
	cJSON_AddItemToArray(v, cJSON_CreateString("1.0.2"));
	cJSON_AddItemToArray(v, cJSON_CreateString("1.0.1"));
	cJSON_AddItemToArray(v, cJSON_CreateString("1.0.0"));
	cJSON *ext = cJSON_AddObjectToObject(o, "extensions");
	cJSON *lv = cJSON_CreateObject();
	cJSON_AddStringToObject(lv, "product", "learnvault");
	cJSON_AddStringToObject(lv, "storage", "per-learner encrypted vaults");
	cJSON_AddItemToObject(ext, "https://learnvault.example/xapi/extensions/node", lv);
	return reply_json(r, 200, o, NULL);
}

enum MHD_Result xapi_route(struct http_req *r)
{
	const char *p = r->path + 5; /* after "/xapi" */
	const char *m = r->method;
	/* The request log's route template (reqlog.c): one of ours, never the URL. */
	static const char *const ROUTES[] = {"/xapi/about", "/xapi/statements", "/xapi/activities/state",
					     "/xapi/activities/profile", "/xapi/agents/profile",
					     "/xapi/activities", "/xapi/agents", NULL};
	for (size_t i = 0; ROUTES[i]; i++)
		if (strcmp(p, ROUTES[i] + 5) == 0)
			r->route = ROUTES[i];
	enum MHD_Result cors_ret;
	if (cors_xapi(r, &cors_ret))
		return cors_ret;
	bool versioned = negotiate_version(r);
	if (strcmp(p, "/about") == 0) {
		if (strcmp(m, "GET") != 0)
			return reply_error(r, 405, "method_not_allowed", "about supports GET only");
		return about(r);
	}
	if (strcmp(p, "/statements") == 0 && strcmp(m, "GET") == 0)
		r->consistent_through = true;
	if (!versioned)
		return reply_error(r, 400, "invalid_version",
				   "X-Experience-API-Version 1.0.x or 2.0.x is required");
	/* IEEE 9274.1.1 dropped the alternate request syntax (the form's
	 * X-Experience-API-Version counts: it is the request's). */
	if (r->alternate && r->xapi == LV_XAPI_V2_0_0)
		return reply_error(r, 400, "invalid", "xAPI 2.0 has no alternate request syntax");
	if (!r->authenticated)
		return reply_error(r, 401, "unauthorized", "valid credentials are required");
	if (r->who.role != LV_ROLE_PROVIDER)
		return reply_error(r, 403, "forbidden", "the xAPI door is for provider credentials");

	if (strcmp(p, "/statements") == 0) {
		if (strcmp(m, "GET") == 0)
			r->consistent_through = true;
		if (strcmp(m, "PUT") == 0)
			return xapi_statements_write(r, true);
		if (strcmp(m, "POST") == 0)
			return xapi_statements_write(r, false);
		if (strcmp(m, "GET") == 0)
			return xapi_statements_get(r);
		return reply_error(r, 405, "method_not_allowed", "statements support GET, PUT and POST");
	}
	if (strcmp(p, "/activities/state") == 0)
		return xapi_documents(r, LV_DOC_STATE);
	if (strcmp(p, "/activities/profile") == 0)
		return xapi_documents(r, LV_DOC_ACTIVITY_PROFILE);
	if (strcmp(p, "/agents/profile") == 0)
		return xapi_documents(r, LV_DOC_AGENT_PROFILE);
	if (strcmp(p, "/activities") == 0) {
		if (strcmp(m, "GET") != 0)
			return reply_error(r, 405, "method_not_allowed", "activities support GET only");
		return xapi_activities_get(r);
	}
	if (strcmp(p, "/agents") == 0) {
		if (strcmp(m, "GET") != 0)
			return reply_error(r, 405, "method_not_allowed", "agents support GET only");
		return xapi_agents_get(r);
	}
	return reply_error(r, 404, "not_found", "no such xAPI resource");
}
