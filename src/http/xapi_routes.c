/* The xAPI door: version and credential checks, then the resources. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

static bool version_ok(const char *v)
{
	/* 1.0, 1.0.0 .. 1.0.9: any 1.0.x patch speaks the same protocol. */
	if (!v)
		return false;
	if (strcmp(v, "1.0") == 0)
		return true;
	return strncmp(v, "1.0.", 4) == 0 && isdigit((unsigned char)v[4]) && v[5] == '\0';
}

static enum MHD_Result about(struct http_req *r)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *v = cJSON_AddArrayToObject(o, "version");
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
	if (strcmp(p, "/about") == 0) {
		if (strcmp(m, "GET") != 0)
			return reply_error(r, 405, "method_not_allowed", "about supports GET only");
		return about(r);
	}
	if (strcmp(p, "/statements") == 0 && strcmp(m, "GET") == 0)
		r->consistent_through = true;
	if (!version_ok(req_header(r, "X-Experience-API-Version")))
		return reply_error(r, 400, "invalid_version",
				   "X-Experience-API-Version 1.0.x is required");
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
