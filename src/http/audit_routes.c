/* The auditor's door: /audit/key, /audit/checkpoint, /audit/entries,
 * /audit/proof/inclusion, /audit/proof/consistency.  No learner data. */
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "learnvault/auditlog.h"

/* A decimal parameter; false (and a reply) when absent or malformed. */
static bool u64_param(struct http_req *r, const char *name, uint64_t *v, enum MHD_Result *ret)
{
	const char *s = req_param(r, name);
	char *end = NULL;
	if (!s || !*s || strlen(s) > 19 || *s == '-' || (*v = strtoull(s, &end, 10), *end)) {
		*ret = reply_error(r, 400, "invalid", "%s must be a non-negative integer", name);
		return false;
	}
	return true;
}

static enum MHD_Result text_reply(struct http_req *r, enum lv_status st, char *text)
{
	enum MHD_Result ret;
	if (st == LV_OK && text)
		ret = reply_bytes(r, 200, "text/plain; charset=utf-8", text, strlen(text), NULL);
	else
		ret = reply_status(r, st == LV_OK ? LV_ERR_INTERNAL : st,
				   st == LV_ERR_CRYPTO ? "the log disagrees with a signed checkpoint" : NULL);
	free(text);
	return ret;
}

enum MHD_Result audit_route(struct http_req *r)
{
	const char *p = r->path + 6; /* after "/audit" */
	/* The request log's route template (reqlog.c). */
	static const char *const ROUTES[] = {"/audit/key", "/audit/checkpoint", "/audit/entries",
					     "/audit/proof/inclusion", "/audit/proof/consistency", NULL};
	for (size_t i = 0; ROUTES[i]; i++)
		if (strcmp(p, ROUTES[i] + 6) == 0)
			r->route = ROUTES[i];
	enum MHD_Result ret;
	if (!r->authenticated)
		return reply_error(r, 401, "unauthorized", "an auditor token is required");
	if (r->who.role != LV_ROLE_AUDITOR)
		return reply_error(r, 403, "forbidden", "the audit door is for auditor credentials");
	if (strcmp(r->method, "GET") != 0)
		return reply_error(r, 405, "method_not_allowed", "the audit door is read-only");
	char *text = NULL;
	if (strcmp(p, "/key") == 0) {
		enum lv_status ks = lv_audit_vkey(r->node, &text);
		return text_reply(r, ks, text);
	}
	if (strcmp(p, "/checkpoint") == 0) {
		enum lv_status cs = lv_audit_checkpoint(r->node, &text);
		return text_reply(r, cs, text);
	}
	cJSON *out = NULL;
	enum lv_status st;
	if (strcmp(p, "/entries") == 0) {
		uint64_t start, end;
		if (!u64_param(r, "start", &start, &ret) || !u64_param(r, "end", &end, &ret))
			return ret;
		/* A reader asks for "up to end": past the log, what exists
		 * (issue 14); the log only grows, so the size read here is
		 * at most the store's when it reads. */
		uint64_t size = lv_audit_size(r->node);
		if (end > size && start <= size)
			end = size;
		cJSON *arr = NULL;
		st = lv_audit_entries(r->node, start, end, &arr);
		if (st == LV_OK) {
			out = cJSON_CreateObject();
			cJSON_AddNumberToObject(out, "start", (double)start);
			cJSON_AddItemToObject(out, "entries", arr);
		}
	} else if (strcmp(p, "/proof/inclusion") == 0) {
		uint64_t index, size;
		if (!u64_param(r, "index", &index, &ret) || !u64_param(r, "size", &size, &ret))
			return ret;
		st = lv_audit_inclusion(r->node, index, size, &out);
	} else if (strcmp(p, "/proof/consistency") == 0) {
		uint64_t first, second;
		if (!u64_param(r, "first", &first, &ret) || !u64_param(r, "second", &second, &ret))
			return ret;
		st = lv_audit_consistency(r->node, first, second, &out);
	} else {
		return reply_error(r, 404, "not_found", "no such audit resource");
	}
	if (st != LV_OK)
		return reply_status(r, st == LV_ERR_NOT_FOUND ? LV_ERR_INVALID : st,
				    "range outside the log (or first = 0 / first > second)");
	return reply_json(r, 200, out, NULL);
}
