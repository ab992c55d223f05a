/* The learner's door (learner or guardian token, own learner only):
 * /learner/consents (GET, POST), /learner/consents/{policy} (DELETE),
 * /learner/export/vault (POST). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "http.h"
#include "learnvault/consent.h"
#include "learnvault/door.h"
#include "learnvault/statements.h"
#include "learnvault/vault.h"
#include "learnvault/util.h"

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

/* Own statements, one page.  The access is logged before anything is sent;
 * if the log entry cannot be written nothing is sent. */
static enum MHD_Result statements_get(struct http_req *r)
{
	const char *l = req_param(r, "limit"), *c = req_param(r, "cursor");
	char *end = NULL;
	long long limit = 0, cursor = 0;
	if ((l && (limit = strtoll(l, &end, 10), !*l || *end || limit < 0)) ||
	    (c && (cursor = strtoll(c, &end, 10), !*c || *end || cursor < 0)))
		return reply_error(r, 400, "invalid", "limit and cursor are non-negative integers");
	cJSON *arr = NULL;
	int64_t next = 0;
	enum lv_status st = lv_learner_statements(r->node, &r->who, r->who.learner, cursor,
						  limit > LV_QUERY_MAX_LIMIT ? LV_QUERY_MAX_LIMIT : (unsigned)limit, &arr, &next);
	if (st != LV_OK)
		return reply_status(r, st, "could not read or log the access");
	cJSON *o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "statements", arr);
	char more[96] = "";
	if (next && limit)
		snprintf(more, sizeof more, "/learner/statements?cursor=%lld&limit=%lld", (long long)next, limit);
	else if (next)
		snprintf(more, sizeof more, "/learner/statements?cursor=%lld", (long long)next);
	cJSON_AddStringToObject(o, "more", more);
	return reply_json(r, 200, o, NULL);
}

/* The export being sent: the piece in hand and how much of it went. */
struct export_reader {
	struct lv_learner_export *x;
	char *chunk;
	size_t len, off;
};

static ssize_t export_read(void *ctx, uint64_t pos, char *buf, size_t max)
{
	struct export_reader *e = ctx;
	(void)pos;
	while (!e->chunk || e->off == e->len) {
		free(e->chunk);
		e->chunk = NULL;
		e->len = e->off = 0;
		if (lv_learner_export_next(e->x, &e->chunk) != LV_OK)
			return MHD_CONTENT_READER_END_WITH_ERROR; /* the client sees a cut document */
		if (!e->chunk)
			return MHD_CONTENT_READER_END_OF_STREAM;
		e->len = strlen(e->chunk);
	}
	size_t n = e->len - e->off < max ? e->len - e->off : max;
	memcpy(buf, e->chunk + e->off, n);
	e->off += n;
	return (ssize_t)n;
}

static void export_done(void *ctx)
{
	struct export_reader *e = ctx;
	lv_learner_export_destroy(e->x);
	free(e->chunk);
	free(e);
}

/* Everything about the learner in one document: statements (all pages),
 * consent history, access report; sent as it is read, a page of
 * statements at a time (a learner's whole history is never in memory). */
static enum MHD_Result export_get(struct http_req *r)
{
	struct export_reader *e = calloc(1, sizeof *e);
	if (!e)
		return reply_error(r, 500, "out_of_memory", "out of memory");
	enum lv_status st = lv_learner_export_open(r->node, &r->who, r->who.learner, LV_PURPOSE_SELF, &e->x);
	if (st != LV_OK) {
		free(e);
		return reply_status(r, st, "could not assemble or log the export");
	}
	static const char *const hdrs[] = {"Content-Disposition", "attachment; filename=\"learnvault-export.json\"", NULL};
	return reply_stream(r, 200, "application/json", MHD_SIZE_UNKNOWN, export_read, e, export_done, hdrs);
}

/* The vault as a portable encrypted file under the learner's passphrase.
 * POST with {"passphrase": "..."} (the issue said GET: a passphrase in a
 * query string would sit in URLs, proxy and server logs and browser
 * history).  The access is logged before anything is sent. */
static ssize_t vault_file_read(void *ctx, uint64_t pos, char *buf, size_t max)
{
	size_t got = 0;
	if (lv_vault_file_read(ctx, pos, buf, max, &got) != LV_OK)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	return got ? (ssize_t)got : MHD_CONTENT_READER_END_OF_STREAM;
}

static void vault_file_done(void *ctx)
{
	lv_vault_file_destroy(ctx);
}

static enum MHD_Result vault_export_post(struct http_req *r)
{
	struct lv_vault_file *file = NULL;
	enum MHD_Result ret;
	enum lv_status st;
	cJSON *body = util_json_parse((const char *)r->content, r->content_len);
	const cJSON *pass = cJSON_GetObjectItemCaseSensitive(body, "passphrase");
	if (!cJSON_IsObject(body) || !cJSON_IsString(pass) || cJSON_GetArraySize(body) != 1) {
		ret = reply_error(r, 400, "invalid", "body: {\"passphrase\": TEXT}");
		goto out;
	}
	size_t plen = strlen(pass->valuestring);
	if (plen < LV_VAULT_PASSPHRASE_MIN || plen > LV_VAULT_PASSPHRASE_MAX) {
		ret = reply_error(r, 400, "invalid", "the passphrase must be %d to %d bytes", LV_VAULT_PASSPHRASE_MIN,
				  LV_VAULT_PASSPHRASE_MAX);
		goto out;
	}
	st = lv_learner_vault_export_file(r->node, &r->who, r->who.learner, LV_PURPOSE_SELF, pass->valuestring, plen,
					  &file, NULL);
	if (st != LV_OK) {
		ret = reply_status(r, st, "could not export or log the access");
		goto out;
	}
	static const char *const hdrs[] = {"Content-Disposition", "attachment; filename=\"learnvault-vault.lvv\"",
					   NULL};
	/* Sent in blocks from the export's temporary file, which the reply
	 * owns from here (vault_file_done). */
	ret = reply_stream(r, 200, "application/octet-stream", lv_vault_file_size(file), vault_file_read, file,
			   vault_file_done, hdrs);
out:
	if (cJSON_IsString(pass))
		sodium_memzero(pass->valuestring, strlen(pass->valuestring));
	cJSON_Delete(body);
	if (r->body.data)
		sodium_memzero(r->body.data, r->body.len);
	return ret;
}

enum MHD_Result learner_route(struct http_req *r)
{
	const char *p = r->path + 8; /* after "/learner" */
	/* The request log's route template (reqlog.c): a consent's id is
	 * the learner's, never logged. */
	static const char *const ROUTES[] = {"/learner/consents", "/learner/export/vault", "/learner/statements",
					     "/learner/export", "/learner/access-report", "/learner/next",
					     "/learner/mastery", "/learner/reviews", NULL};
	for (size_t i = 0; ROUTES[i]; i++)
		if (strcmp(p, ROUTES[i] + 8) == 0)
			r->route = ROUTES[i];
	if (p[0] == '\0')
		r->route = "/learner";
	else if (strncmp(p, "/consents/", 10) == 0 && p[10])
		r->route = "/learner/consents/{id}";
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
	if (strcmp(p, "/statements") == 0 && strcmp(r->method, "GET") == 0)
		return statements_get(r);
	if (strcmp(p, "/export") == 0 && strcmp(r->method, "GET") == 0)
		return export_get(r);
	if (strcmp(p, "/export/vault") == 0) {
		if (strcmp(r->method, "POST") != 0)
			return reply_error(r, 405, "method_not_allowed",
					   "POST {\"passphrase\": ...}: a passphrase never goes in a URL");
		return vault_export_post(r);
	}
	if (strcmp(p, "/access-report") == 0 && strcmp(r->method, "GET") == 0) {
		cJSON *rep = NULL;
		enum lv_status st = lv_learner_access_report(r->node, r->who.learner, &rep);
		return st == LV_OK ? reply_json(r, 200, rep, NULL) : reply_status(r, st, NULL);
	}
	if (p[0] == '\0' && strcmp(r->method, "DELETE") == 0) {
		/* Erasure, asked by the learner (or their guardian). */
		char learner[LV_PSEUDONYM_LEN];
		memcpy(learner, r->who.learner, sizeof learner);
		enum lv_status st = lv_learner_erase(r->node, learner);
		if (st != LV_OK)
			return reply_status(r, st, NULL);
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "erased", learner);
		cJSON_AddStringToObject(o, "note", "vault key destroyed and vault deleted; old backups of the node index "
						   "hold the wrapped key until the next key rotation");
		return reply_json(r, 200, o, NULL);
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
	if (strcmp(p, "/next") == 0 || strcmp(p, "/mastery") == 0 || strcmp(p, "/reviews") == 0)
		return personal_route(r, p);
	/* A resource that exists, asked with another method (issue 13). */
	if (strcmp(p, "/statements") == 0 || strcmp(p, "/export") == 0 || strcmp(p, "/access-report") == 0)
		return reply_error(r, 405, "method_not_allowed", "%s takes GET", p + 1);
	if (p[0] == '\0')
		return reply_error(r, 405, "method_not_allowed", "the learner resource takes DELETE (erasure)");
	return reply_error(r, 404, "not_found", "no such learner resource");
}
