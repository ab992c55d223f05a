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
	return xapi_media_is(ct, "multipart/mixed");
}

/* Stores the validated @batch as the provider and replies: 200 with the
 * ids (POST) or 204 (PUT). */
static enum MHD_Result store_and_reply(struct http_req *r, bool put, struct lv_xapi_batch *batch)
{
	/* Each learner costs the node lock a vault transaction: one request
	 * may not stall every other client for long (docs/security.md). */
	size_t learners = 0, cap = lv_node_max_batch_learners(r->node);
	enum lv_status s = lv_ingest_learner_count(batch->statements, &learners);
	if (s == LV_OK && learners > cap)
		return reply_error(r, 413, "too_many_learners",
				   "the batch writes to %zu learners (distinct actors); at most %zu may be written per"
				   " request (setting max_batch_learners): send it in smaller batches", learners, cap);
	char serr[LV_ERR_TEXT];
	if (s == LV_OK)
		s = lv_ingest(r->node, &r->who, batch->statements, batch->attachments, batch->nattachments, serr);
	else
		snprintf(serr, sizeof serr, "the batch's actors cannot be read");
	if (s != LV_OK)
		return reply_status(r, s, serr);
	if (put)
		return reply_bytes(r, 204, NULL, "", 0, NULL);
	cJSON *ids = cJSON_CreateArray();
	const cJSON *st;
	cJSON_ArrayForEach(st, batch->statements)
		cJSON_AddItemToArray(ids, cJSON_CreateString(cJSON_GetObjectItemCaseSensitive(st, "id")->valuestring));
	return reply_json(r, 200, ids, NULL);
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
	struct lv_xapi_request req = {.json = (const char *)r->content, .json_len = r->content_len,
				      .version = r->xapi};
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
	if (ct && !is_multipart(ct) && !xapi_media_is(ct, "application/json")) {
		ret = reply_error(r, 400, "invalid", "statements are sent as application/json or multipart/mixed");
		goto out;
	}
	if (is_multipart(ct)) {
		if (multipart_parse(ct, r->content, r->content_len, &parts, err) != LV_OK) {
			ret = reply_error(r, 400, "invalid", "%s", err);
			goto out;
		}
		if (parts.n == 0 || !parts.parts[0].content_type ||
		    !xapi_media_is(parts.parts[0].content_type, "application/json")) {
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
	ret = store_and_reply(r, put, &batch);
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
	enum lv_status st = lv_statement_attachments(r->node, r->who.id, statements, &atts, &natts);
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

/* The first parameter of @r that GET statements does not know, or NULL. */
static const char *unknown_get_param(const struct http_req *r)
{
	for (size_t i = 0; i < r->nparams; i++) {
		bool known = false;
		for (size_t k = 0; GET_PARAMS[k]; k++)
			if (strcmp(r->params[i].name, GET_PARAMS[k]) == 0)
				known = true;
		if (!known)
			return r->params[i].name;
	}
	return NULL;
}

/* How GET statements answers: ?format, Accept-Language, ?attachments. */
struct get_opts {
	const char *format;
	const char *lang;
	bool with_att;
};

/* The first parameter of @r that a single-statement GET does not take
 * beside statementId / voidedStatementId, or NULL. */
static const char *single_extra_param(const struct http_req *r)
{
	for (size_t i = 0; i < r->nparams; i++) {
		const char *n = r->params[i].name;
		if (strcmp(n, "statementId") && strcmp(n, "voidedStatementId") &&
		    strcmp(n, "format") && strcmp(n, "attachments"))
			return n;
	}
	return NULL;
}

/* GET ?statementId or ?voidedStatementId: one statement, with its stored
 * time as Last-Modified. */
static enum MHD_Result get_single(struct http_req *r, const char *sid, const char *vid,
				  const struct get_opts *o)
{
	if (sid && vid)
		return reply_error(r, 400, "invalid", "statementId and voidedStatementId exclude each other");
	const char *extra = single_extra_param(r);
	if (extra)
		return reply_error(r, 400, "invalid", "%s cannot be combined with a statement id", extra);
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
	/* send_statements frees the statement it sends before it reads the
	 * attachments, so @wrap keeps a copy to read them from. */
	cJSON *wrap = cJSON_CreateArray();
	cJSON_AddItemToArray(wrap, stmt);
	apply_format(wrap, o->format, o->lang);
	cJSON *one = cJSON_DetachItemFromArray(wrap, 0);
	cJSON_AddItemToArray(wrap, cJSON_Duplicate(one, true));
	enum MHD_Result ret = send_statements(r, one, wrap, o->with_att, lm[0] ? lm : NULL);
	cJSON_Delete(wrap);
	return ret;
}

/* The filters of a statement query (agent, verb, activity, registration)
 * from @r into @q.  *@agent owns the parsed agent, which q->agent borrows;
 * the caller deletes it, also on failure.  Returns why a filter is
 * invalid, or NULL. */
static const char *query_filters(const struct http_req *r, struct lv_statement_query *q, cJSON **agent)
{
	char err[LV_XAPI_ERR_LEN];
	const char *v;
	if ((v = req_param(r, "agent"))) {
		*agent = util_json_parse(v, strlen(v));
		if (!*agent || lv_xapi_validate_agent(*agent, true, err) != LV_OK)
			return "agent is not a valid Agent or Group";
		q->agent = *agent;
	}
	if ((v = req_param(r, "verb"))) {
		if (!lv_xapi_iri_valid(v))
			return "verb is not an IRI";
		q->verb = v;
	}
	if ((v = req_param(r, "activity"))) {
		if (!lv_xapi_iri_valid(v))
			return "activity is not an IRI";
		q->activity = v;
	}
	if ((v = req_param(r, "registration"))) {
		if (!util_uuid_valid(v))
			return "registration is not a UUID";
		q->registration = v;
	}
	return NULL;
}

/* The flags, time window, limit and cursor of a statement query from @r
 * into @q.  Returns why one is invalid, or NULL. */
static const char *query_window(const struct http_req *r, struct lv_statement_query *q)
{
	const char *v;
	int b1 = parse_bool(req_param(r, "related_activities"));
	int b2 = parse_bool(req_param(r, "related_agents"));
	int b3 = parse_bool(req_param(r, "ascending"));
	if (b1 < 0 || b2 < 0 || b3 < 0)
		return "boolean parameters must be true or false";
	q->related_activities = b1;
	q->related_agents = b2;
	q->ascending = b3;
	if ((v = req_param(r, "since")) && !util_time_parse(v, &q->since_ms))
		return "since is not an ISO 8601 timestamp";
	if ((v = req_param(r, "until")) && !util_time_parse(v, &q->until_ms))
		return "until is not an ISO 8601 timestamp";
	if ((v = req_param(r, "limit"))) {
		char *end = NULL;
		long long l = strtoll(v, &end, 10);
		if (!*v || *end || l < 0)
			return "limit must be a non-negative integer";
		q->limit = l > LV_QUERY_MAX_LIMIT ? LV_QUERY_MAX_LIMIT : (unsigned)l;
	}
	if ((v = req_param(r, "cursor"))) {
		char *end = NULL;
		long long c = strtoll(v, &end, 10);
		if (!*v || *end || c <= 0)
			return "bad cursor";
		q->after_seq = c;
	}
	return NULL;
}

/* Adds "more" to @res: "" on the last page, else the same query with a
 * cursor at @next, relative to the server root as xAPI asks. */
static void add_more(cJSON *res, const struct http_req *r, int64_t next)
{
	if (!next) {
		cJSON_AddStringToObject(res, "more", "");
		return;
	}
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
}

/* GET with query parameters: a StatementResult page. */
static enum MHD_Result get_query(struct http_req *r, const struct get_opts *o)
{
	struct lv_statement_query q = {.since_ms = INT64_MIN, .until_ms = INT64_MAX};
	cJSON *agent = NULL;
	enum MHD_Result ret;
	const char *bad = query_filters(r, &q, &agent);
	if (!bad)
		bad = query_window(r, &q);
	if (bad) {
		ret = reply_error(r, 400, "invalid", "%s", bad);
		goto out;
	}
	cJSON *arr = NULL;
	int64_t next = 0;
	enum lv_status st = lv_readback_statements(r->node, &r->who, &q, &arr, &next);
	if (st != LV_OK) {
		ret = reply_status(r, st, NULL);
		goto out;
	}
	cJSON *raw = o->with_att ? cJSON_Duplicate(arr, true) : NULL;
	apply_format(arr, o->format, o->lang);
	cJSON *res = cJSON_CreateObject();
	cJSON_AddItemToObject(res, "statements", arr);
	add_more(res, r, next);
	ret = send_statements(r, res, raw, o->with_att, NULL);
	cJSON_Delete(raw);
out:
	cJSON_Delete(agent);
	return ret;
}

enum MHD_Result xapi_statements_get(struct http_req *r)
{
	const char *unknown = unknown_get_param(r);
	if (unknown)
		return reply_error(r, 400, "invalid", "unknown parameter %.64s", unknown);
	if (r->params_duplicate)
		return reply_error(r, 400, "invalid", "a parameter appears twice");
	const char *sid = req_param(r, "statementId");
	const char *vid = req_param(r, "voidedStatementId");
	struct get_opts o = {.format = req_param(r, "format"), .lang = req_header(r, "Accept-Language")};
	int att = parse_bool(req_param(r, "attachments"));
	if (att < 0)
		return reply_error(r, 400, "invalid", "attachments must be true or false");
	if (o.format && strcmp(o.format, "ids") != 0 && strcmp(o.format, "exact") != 0 &&
	    strcmp(o.format, "canonical") != 0)
		return reply_error(r, 400, "invalid", "format must be ids, exact or canonical");
	o.with_att = att == 1;
	if (sid || vid)
		return get_single(r, sid, vid, &o);
	return get_query(r, &o);
}
