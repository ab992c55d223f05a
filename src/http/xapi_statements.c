/* /xapi/statements: PUT, POST, GET (single, voided, queries, paging,
 * formats, attachments). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "learnvault/door.h"
#include "http.h"
#include "learnvault/xapi.h"
#include "multipart.h"
#include "xapi_http.h"

static bool is_multipart(const char *ct)
{
	return ct && strncasecmp(ct, "multipart/mixed", 15) == 0;
}

enum MHD_Result xapi_statements_write(struct http_req *r, bool put)
{
	enum MHD_Result ret;
	char err[MP_ERR_LEN];
	const char *ct = req_header(r, "Content-Type");
	struct mp_list parts = {0};
	struct lv_xapi_part *xparts = NULL;
	struct lv_xapi_batch batch = {0};
	struct lv_xapi_error xerr;
	struct lv_xapi_request req = {.json = (const char *)r->content, .json_len = r->content_len};
	const char *sid = req_param(r, "statementId");

	if (put) {
		if (!sid || r->nparams != 1)
			return reply_error(r, 400, "invalid", "PUT needs exactly the statementId parameter");
		if (!util_uuid_valid(sid))
			return reply_error(r, 400, "invalid", "statementId is not a UUID");
		req.statement_id = sid;
	} else if (r->nparams > 0) {
		return reply_error(r, 400, "invalid", "POST statements takes no parameters");
	}
	if (ct && !is_multipart(ct) && strncasecmp(ct, "application/json", 16) != 0) {
		ret = reply_error(r, 400, "invalid", "statements are sent as application/json or multipart/mixed");
		goto out;
	}
	if (is_multipart(ct)) {
		if (multipart_parse(ct, r->content, r->content_len, &parts, err) != LV_OK) {
			ret = reply_error(r, 400, "invalid", "%s", err);
			goto out;
		}
		if (parts.n == 0 || !parts.parts[0].content_type ||
		    strncasecmp(parts.parts[0].content_type, "application/json", 16) != 0) {
			ret = reply_error(r, 400, "invalid", "the first part must be application/json");
			goto out;
		}
		if (multipart_xapi_parts(&parts, &xparts) != LV_OK) {
			ret = reply_error(r, 500, "out_of_memory", "out of memory");
			goto out;
		}
		req.json = (const char *)parts.parts[0].body;
		req.json_len = parts.parts[0].len;
		req.parts = xparts;
		req.nparts = parts.n;
	}
	enum lv_status s = lv_xapi_request_validate(&req, &batch, &xerr);
	if (s != LV_OK) {
		ret = reply_error(r, lv_status_http(s), xerr.code, "%s", xerr.message);
		goto out;
	}
	char serr[LV_ERR_TEXT];
	s = lv_ingest(r->node, &r->who, batch.statements, batch.attachments, batch.nattachments, serr);
	if (s != LV_OK) {
		ret = reply_status(r, s, serr);
		goto out;
	}
	if (put) {
		ret = reply_bytes(r, 204, NULL, "", 0, NULL);
	} else {
		cJSON *ids = cJSON_CreateArray();
		const cJSON *st;
		cJSON_ArrayForEach(st, batch.statements)
			cJSON_AddItemToArray(ids, cJSON_CreateString(cJSON_GetObjectItemCaseSensitive(st, "id")->valuestring));
		ret = reply_json(r, 200, ids, NULL);
	}
out:
	lv_xapi_batch_clear(&batch);
	free(xparts);
	multipart_free(&parts);
	return ret;
}

static const char *const GET_PARAMS[] = {
	"statementId", "voidedStatementId", "agent", "verb", "activity", "registration",
	"related_activities", "related_agents", "since", "until", "limit", "format",
	"attachments", "ascending", "cursor", NULL};

static int parse_bool(const char *v)
{
	if (!v)
		return 0;
	if (strcmp(v, "true") == 0)
		return 1;
	if (strcmp(v, "false") == 0)
		return 0;
	return -1;
}

/* Sends @json (a statement or StatementResult), as multipart with the
 * attachments of @statements when @with_att. Takes ownership of @json. */
static enum MHD_Result send_statements(struct http_req *r, cJSON *json, const cJSON *statements,
				       bool with_att, const char *last_modified)
{
	char ct_hdr[128];
	const char *extra[] = {last_modified ? "Last-Modified" : NULL, last_modified, NULL};
	char *text = cJSON_PrintUnformatted(json);
	cJSON_Delete(json);
	if (!text)
		return reply_error(r, 500, "out_of_memory", "out of memory");
	if (!with_att) {
		enum MHD_Result ret = reply_bytes(r, 200, "application/json", text, strlen(text), extra);
		free(text);
		return ret;
	}
	struct lv_attachment *atts = NULL;
	size_t natts = 0;
	struct mp_part *parts = NULL;
	struct buf out;
	char boundary[MP_BOUNDARY_LEN];
	enum MHD_Result ret;
	buf_init(&out, (size_t)1 << 30);
	enum lv_status st = lv_statement_attachments(r->node, statements, &atts, &natts);
	if (st != LV_OK) {
		ret = reply_status(r, st, "could not read attachments");
		goto out;
	}
	parts = calloc(natts ? natts : 1, sizeof *parts);
	if (!parts) {
		ret = reply_error(r, 500, "out_of_memory", "out of memory");
		goto out;
	}
	for (size_t i = 0; i < natts; i++) {
		parts[i].content_type = (char *)atts[i].content_type;
		parts[i].sha2 = (char *)atts[i].sha2;
		parts[i].body = atts[i].data;
		parts[i].len = atts[i].len;
	}
	st = multipart_build(text, strlen(text), parts, natts, &out, boundary);
	if (st != LV_OK) {
		ret = reply_status(r, st, "could not build the multipart response");
		goto out;
	}
	snprintf(ct_hdr, sizeof ct_hdr, "multipart/mixed; boundary=%s", boundary);
	ret = reply_bytes(r, 200, ct_hdr, out.data, out.len, extra);
out:
	free(parts);
	lv_attachments_free(atts, natts);
	buf_free(&out);
	free(text);
	return ret;
}

/* Applies ?format to every statement of @arr in place. */
static void apply_format(cJSON *arr, const char *format, const char *lang)
{
	if (!format || strcmp(format, "exact") == 0)
		return;
	for (int i = 0; i < cJSON_GetArraySize(arr); i++) {
		cJSON *f = lv_xapi_format_statement(cJSON_GetArrayItem(arr, i), format, lang);
		if (f)
			cJSON_ReplaceItemInArray(arr, i, f);
	}
}

enum MHD_Result xapi_statements_get(struct http_req *r)
{
	for (size_t i = 0; i < r->nparams; i++) {
		bool known = false;
		for (size_t k = 0; GET_PARAMS[k]; k++)
			if (strcmp(r->params[i].name, GET_PARAMS[k]) == 0)
				known = true;
		if (!known)
			return reply_error(r, 400, "invalid", "unknown parameter %.64s", r->params[i].name);
	}
	if (r->params_duplicate)
		return reply_error(r, 400, "invalid", "a parameter appears twice");
	const char *sid = req_param(r, "statementId");
	const char *vid = req_param(r, "voidedStatementId");
	const char *format = req_param(r, "format");
	const char *lang = req_header(r, "Accept-Language");
	int att = parse_bool(req_param(r, "attachments"));
	if (att < 0)
		return reply_error(r, 400, "invalid", "attachments must be true or false");
	if (format && strcmp(format, "ids") != 0 && strcmp(format, "exact") != 0 &&
	    strcmp(format, "canonical") != 0)
		return reply_error(r, 400, "invalid", "format must be ids, exact or canonical");

	if (sid || vid) {
		if (sid && vid)
			return reply_error(r, 400, "invalid", "statementId and voidedStatementId exclude each other");
		for (size_t i = 0; i < r->nparams; i++) {
			const char *n = r->params[i].name;
			if (strcmp(n, "statementId") && strcmp(n, "voidedStatementId") &&
			    strcmp(n, "format") && strcmp(n, "attachments"))
				return reply_error(r, 400, "invalid",
						   "%s cannot be combined with a statement id", n);
		}
		const char *id = sid ? sid : vid;
		if (!util_uuid_valid(id))
			return reply_error(r, 400, "invalid", "the statement id is not a UUID");
		cJSON *stmt = NULL;
		enum lv_status st = lv_readback_statement(r->node, &r->who, id, vid != NULL, &stmt);
		if (st != LV_OK)
			return reply_status(r, st, st == LV_ERR_NOT_FOUND ? "no such statement" : NULL);
		char lm[64] = "";
		const cJSON *stored = cJSON_GetObjectItemCaseSensitive(stmt, "stored");
		int64_t ms;
		if (cJSON_IsString(stored) && util_time_parse(stored->valuestring, &ms))
			xapi_http_date(ms, lm);
		cJSON *wrap = cJSON_CreateArray();
		cJSON_AddItemToArray(wrap, stmt);
		apply_format(wrap, format, lang);
		cJSON *one = cJSON_DetachItemFromArray(wrap, 0);
		cJSON_AddItemToArray(wrap, cJSON_Duplicate(one, true));
		enum MHD_Result ret = send_statements(r, one, wrap, att == 1, lm[0] ? lm : NULL);
		cJSON_Delete(wrap);
		return ret;
	}

	struct lv_statement_query q = {.since_ms = INT64_MIN, .until_ms = INT64_MAX};
	cJSON *agent = NULL;
	const char *v;
	char err[LV_XAPI_ERR_LEN];
	enum MHD_Result ret;
	if ((v = req_param(r, "agent"))) {
		agent = util_json_parse(v, strlen(v));
		if (!agent || lv_xapi_validate_agent(agent, true, err) != LV_OK) {
			ret = reply_error(r, 400, "invalid", "agent is not a valid Agent or Group");
			goto out;
		}
		q.agent = agent;
	}
	if ((v = req_param(r, "verb"))) {
		if (!lv_xapi_iri_valid(v)) {
			ret = reply_error(r, 400, "invalid", "verb is not an IRI");
			goto out;
		}
		q.verb = v;
	}
	if ((v = req_param(r, "activity"))) {
		if (!lv_xapi_iri_valid(v)) {
			ret = reply_error(r, 400, "invalid", "activity is not an IRI");
			goto out;
		}
		q.activity = v;
	}
	if ((v = req_param(r, "registration"))) {
		if (!util_uuid_valid(v)) {
			ret = reply_error(r, 400, "invalid", "registration is not a UUID");
			goto out;
		}
		q.registration = v;
	}
	int b1 = parse_bool(req_param(r, "related_activities"));
	int b2 = parse_bool(req_param(r, "related_agents"));
	int b3 = parse_bool(req_param(r, "ascending"));
	if (b1 < 0 || b2 < 0 || b3 < 0) {
		ret = reply_error(r, 400, "invalid", "boolean parameters must be true or false");
		goto out;
	}
	q.related_activities = b1;
	q.related_agents = b2;
	q.ascending = b3;
	if ((v = req_param(r, "since")) && !util_time_parse(v, &q.since_ms)) {
		ret = reply_error(r, 400, "invalid", "since is not an ISO 8601 timestamp");
		goto out;
	}
	if ((v = req_param(r, "until")) && !util_time_parse(v, &q.until_ms)) {
		ret = reply_error(r, 400, "invalid", "until is not an ISO 8601 timestamp");
		goto out;
	}
	if ((v = req_param(r, "limit"))) {
		char *end = NULL;
		long long l = strtoll(v, &end, 10);
		if (!*v || *end || l < 0) {
			ret = reply_error(r, 400, "invalid", "limit must be a non-negative integer");
			goto out;
		}
		q.limit = l > LV_QUERY_MAX_LIMIT ? LV_QUERY_MAX_LIMIT : (unsigned)l;
	}
	if ((v = req_param(r, "cursor"))) {
		char *end = NULL;
		long long c = strtoll(v, &end, 10);
		if (!*v || *end || c <= 0) {
			ret = reply_error(r, 400, "invalid", "bad cursor");
			goto out;
		}
		q.after_seq = c;
	}
	cJSON *arr = NULL;
	int64_t next = 0;
	enum lv_status st = lv_readback_statements(r->node, &r->who, &q, &arr, &next);
	if (st != LV_OK) {
		ret = reply_status(r, st, NULL);
		goto out;
	}
	cJSON *raw = att == 1 ? cJSON_Duplicate(arr, true) : NULL;
	apply_format(arr, format, lang);
	cJSON *res = cJSON_CreateObject();
	cJSON_AddItemToObject(res, "statements", arr);
	if (next) {
		/* The next page: the same query with a cursor, relative to the
		 * server root as xAPI asks. */
		struct buf more;
		buf_init(&more, 65536);
		enum lv_status bs = buf_append_str(&more, "/xapi/statements?");
		for (size_t i = 0; i < r->nparams && bs == LV_OK; i++) {
			if (strcmp(r->params[i].name, "cursor") == 0)
				continue;
			char *e = xapi_url_encode(r->params[i].value);
			bs = e ? buf_printf(&more, "%s=%s&", r->params[i].name, e) : LV_ERR_NOMEM;
			free(e);
		}
		if (bs == LV_OK)
			bs = buf_printf(&more, "cursor=%lld", (long long)next);
		cJSON_AddStringToObject(res, "more", bs == LV_OK ? more.data : "");
		buf_free(&more);
	} else {
		cJSON_AddStringToObject(res, "more", "");
	}
	ret = send_statements(r, res, raw, att == 1, NULL);
	cJSON_Delete(raw);
out:
	cJSON_Delete(agent);
	return ret;
}
