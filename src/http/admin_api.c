/* The admin API (admin credentials; admin_routes.c checks the role and
 * dispatches here): the operations `learnvault credential|learner|policy|
 * setting` offer, for a live node.
 *   GET  /admin/status
 *   POST /admin/learners                          enrol (201, 200 when known)
 *   PUT  /admin/learners/{pseudonym}/birth-date   204
 *   POST /admin/learners/{pseudonym}/tokens       a learner or guardian token
 *   GET|POST /admin/credentials, DELETE /admin/credentials/{id}
 *   GET|POST /admin/policies
 *   GET  /admin/settings, PUT /admin/settings/{name}
 * Every operation is the library call the CLI makes, so what the CLI logs
 * to the audit log is logged the same way (the library writes the entry in
 * the transaction of the change).  None needs more than the server's own
 * node handle: enrolment creates a vault, which the server owns.  A
 * secret is in exactly one response and nowhere else: its copies are
 * wiped. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "http.h"
#include "learnvault/auditlog.h"
#include "learnvault/consent.h"

#ifndef LV_VERSION
#error "LV_VERSION comes from src/meson.build"
#endif

#define LABEL_MAX 200 /* as lv_credential_add */

/* ---- helpers ---- */

static enum MHD_Result reply_text_json(struct http_req *r, unsigned status, char *text)
{
	enum MHD_Result ret = reply_bytes(r, status, "application/json", text, strlen(text), NULL);
	free(text);
	return ret;
}

static enum MHD_Result reply_empty(struct http_req *r)
{
	return reply_bytes(r, 204, NULL, "", 0, NULL);
}

static enum MHD_Result bad_method(struct http_req *r, const char *allowed)
{
	return reply_error(r, 405, "method_not_allowed", "this resource supports %s", allowed);
}

/* The body as a JSON object whose members are all named in @allowed
 * (NULL-terminated); NULL, with a 400 queued in *@ret, otherwise. */
static cJSON *json_body(struct http_req *r, const char *const *allowed, const char *usage, enum MHD_Result *ret)
{
	cJSON *body = util_json_parse((const char *)r->content, r->content_len);
	if (!cJSON_IsObject(body)) {
		cJSON_Delete(body);
		*ret = reply_error(r, 400, "invalid", "body: %s", usage);
		return NULL;
	}
	for (const cJSON *it = body->child; it; it = it->next) {
		size_t i = 0;
		while (allowed[i] && strcmp(allowed[i], it->string) != 0)
			i++;
		if (!allowed[i]) {
			*ret = reply_error(r, 400, "invalid", "unknown field %.32s; body: %s", it->string, usage);
			cJSON_Delete(body);
			return NULL;
		}
	}
	return body;
}

/* Member @name when absent or a string; @bad set when present and not a
 * string. */
static const char *opt_string(const cJSON *o, const char *name, bool *bad)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	if (v && !cJSON_IsString(v))
		*bad = true;
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The path segment at @rest ("/seg..."): copied into @out (fewer than
 * @cap bytes, not empty); *@after points past it.  False otherwise. */
static bool segment(const char *rest, char *out, size_t cap, const char **after)
{
	if (rest[0] != '/')
		return false;
	size_t n = strcspn(rest + 1, "/");
	if (n == 0 || n >= cap)
		return false;
	memcpy(out, rest + 1, n);
	out[n] = '\0';
	*after = rest + 1 + n;
	return true;
}

static void wipe_strings(cJSON *o)
{
	for (cJSON *it = o ? o->child : NULL; it; it = it->next) {
		if (cJSON_IsString(it))
			sodium_memzero(it->valuestring, strlen(it->valuestring));
		wipe_strings(it);
	}
}

/* The printed form of a credential's presentation: id, role, secret and
 * their quoting fit many times over. */
#define SECRET_REPLY_MAX 1024

/* Sends @o, which holds a secret, and wipes every copy this process made:
 * printed into guarded memory (cJSON's own printer would leave copies in
 * the buffers it outgrows); libmicrohttpd keeps its own copy of the bytes
 * until they are sent. */
static enum MHD_Result reply_secret(struct http_req *r, unsigned status, cJSON *o)
{
	char *text = sodium_malloc(SECRET_REPLY_MAX);
	bool ok = text && cJSON_PrintPreallocated(o, text, SECRET_REPLY_MAX, false);
	enum MHD_Result ret = ok ? reply_bytes(r, status, "application/json", text, strlen(text), NULL)
				 : reply_error(r, 500, "out_of_memory", "could not build the response");
	if (text)
		sodium_free(text); /* zeroes it */
	wipe_strings(o);
	cJSON_Delete(o);
	return ret;
}

/* Issues a credential, as `learnvault credential add` does, and adds its
 * presentation to @o: "id" and "token", or for a provider "id", "key" and
 * "secret". */
static enum lv_status issue(struct http_req *r, enum lv_role role, const char *learner,
			    const char *const *purposes, size_t np, const char *label, cJSON *o)
{
	char id[LV_CRED_ID_LEN];
	char *secret = NULL;
	enum lv_status st = lv_credential_add(r->node, role, learner, purposes, np, label, id, &secret);
	if (st != LV_OK)
		return st;
	cJSON_AddStringToObject(o, "id", id);
	if (role == LV_ROLE_PROVIDER) {
		cJSON_AddStringToObject(o, "key", id);
		if (!cJSON_AddStringToObject(o, "secret", secret))
			st = LV_ERR_NOMEM;
	} else {
		size_t n = strlen(id) + 1 + strlen(secret) + 1;
		char *tok = sodium_malloc(n);
		if (tok) {
			memcpy(tok, id, strlen(id));
			tok[strlen(id)] = '.';
			memcpy(tok + strlen(id) + 1, secret, strlen(secret) + 1);
		}
		if (!tok || !cJSON_AddStringToObject(o, "token", tok))
			st = LV_ERR_NOMEM;
		if (tok)
			sodium_free(tok);
	}
	sodium_free(secret);
	return st;
}

/* ---- status ---- */

static enum MHD_Result status_get(struct http_req *r)
{
	int64_t learners = 0, creds = 0;
	char *pol = NULL, started[UTIL_TIME_LEN];
	enum lv_status st = lv_learner_count(r->node, &learners);
	if (st == LV_OK)
		st = lv_credential_count(r->node, &creds);
	if (st == LV_OK)
		st = lv_policy_list(r->node, &pol);
	cJSON *pa = st == LV_OK ? cJSON_Parse(pol) : NULL;
	free(pol);
	if (st == LV_OK && !cJSON_IsArray(pa))
		st = LV_ERR_INTERNAL;
	if (st != LV_OK) {
		cJSON_Delete(pa);
		return reply_status(r, st, "the node's counts could not be read");
	}
	util_time_format(r->srv->started_ms, started);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "origin", lv_node_origin(r->node));
	cJSON_AddStringToObject(o, "version", LV_VERSION);
	cJSON_AddNumberToObject(o, "learners", (double)learners);
	cJSON_AddNumberToObject(o, "credentials", (double)creds);
	cJSON_AddNumberToObject(o, "policies", cJSON_GetArraySize(pa));
	cJSON_AddNumberToObject(o, "audit_size", (double)lv_audit_size(r->node));
	cJSON_AddStringToObject(o, "started", started);
	uint64_t failures, throttled;
	http_auth_counts(r->srv, &failures, &throttled);
	cJSON_AddNumberToObject(o, "auth_failures", (double)failures);
	cJSON_AddNumberToObject(o, "auth_throttled", (double)throttled);
	cJSON_Delete(pa);
	return reply_json(r, 200, o, NULL);
}

enum MHD_Result admin_status(struct http_req *r)
{
	if (strcmp(r->method, "GET") != 0)
		return bad_method(r, "GET");
	return status_get(r);
}

/* ---- learners ---- */

#define ENROL_USAGE "{\"mbox\": \"mailto:...\"} or {\"account\": {\"homePage\", \"name\"}}, " \
		    "optional \"name\" and \"birth_date\" (YYYY-MM-DD)"

/* The xAPI Agent text for the body's identifier (as `learner add`
 * builds it); NULL when the body does not name exactly one well-formed
 * identifier. */
static char *enrol_actor(const cJSON *body)
{
	const cJSON *mbox = cJSON_GetObjectItemCaseSensitive(body, "mbox");
	const cJSON *acct = cJSON_GetObjectItemCaseSensitive(body, "account");
	const cJSON *home = cJSON_GetObjectItemCaseSensitive(acct, "homePage");
	const cJSON *an = cJSON_GetObjectItemCaseSensitive(acct, "name");
	bool bad = false;
	const char *name = opt_string(body, "name", &bad);
	if (bad || !mbox == !acct || (mbox && !cJSON_IsString(mbox)) ||
	    (acct && (!cJSON_IsObject(acct) || cJSON_GetArraySize(acct) != 2 || !cJSON_IsString(home) ||
		      !cJSON_IsString(an))))
		return NULL;
	cJSON *actor = cJSON_CreateObject();
	cJSON_AddStringToObject(actor, "objectType", "Agent");
	if (name)
		cJSON_AddStringToObject(actor, "name", name);
	if (mbox) {
		cJSON_AddStringToObject(actor, "mbox", mbox->valuestring);
	} else {
		cJSON *a = cJSON_AddObjectToObject(actor, "account");
		cJSON_AddStringToObject(a, "homePage", home->valuestring);
		cJSON_AddStringToObject(a, "name", an->valuestring);
	}
	char *text = cJSON_PrintUnformatted(actor);
	cJSON_Delete(actor);
	return text;
}

static enum MHD_Result learners_post(struct http_req *r)
{
	static const char *const FIELDS[] = {"mbox", "account", "name", "birth_date", NULL};
	enum MHD_Result ret;
	char p[LV_PSEUDONYM_LEN];
	bool created = false, bad = false;
	cJSON *body = json_body(r, FIELDS, ENROL_USAGE, &ret);
	if (!body)
		return ret;
	const char *birth = opt_string(body, "birth_date", &bad);
	char *actor = bad ? NULL : enrol_actor(body);
	if (!actor) {
		ret = reply_error(r, 400, "invalid", "body: %s", ENROL_USAGE);
		goto out;
	}
	/* Checked first: a bad date must not leave a new enrolment behind. */
	if (birth && !lv_birth_date_valid(birth)) {
		ret = reply_error(r, 400, "invalid", "birth_date wants YYYY-MM-DD (year 1900 or later)");
		goto out;
	}
	enum lv_status st = lv_learner_enrol(r->node, actor, p, &created);
	if (st == LV_ERR_INVALID) {
		ret = reply_error(r, 400, "invalid", "not a valid xAPI agent (mbox must be mailto:...)");
		goto out;
	}
	if (st == LV_OK && birth)
		st = lv_learner_set_birth_date(r->node, p, birth);
	if (st != LV_OK) {
		ret = reply_status(r, st, "the learner could not be enrolled");
		goto out;
	}
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "learner", p);
	cJSON_AddBoolToObject(o, "created", created);
	ret = reply_json(r, created ? 201 : 200, o, NULL);
out:
	free(actor);
	cJSON_Delete(body);
	return ret;
}

static enum MHD_Result birth_date_put(struct http_req *r, const char *learner)
{
	static const char *const FIELDS[] = {"birth_date", NULL};
	enum MHD_Result ret;
	bool bad = false;
	cJSON *body = json_body(r, FIELDS, "{\"birth_date\": \"YYYY-MM-DD\"}", &ret);
	if (!body)
		return ret;
	const char *birth = opt_string(body, "birth_date", &bad);
	enum lv_status st = !birth ? LV_ERR_INVALID : lv_learner_set_birth_date(r->node, learner, birth);
	if (st == LV_ERR_INVALID)
		ret = reply_error(r, 400, "invalid", "body: {\"birth_date\": \"YYYY-MM-DD\"} (year 1900 or later)");
	else if (st == LV_ERR_NOT_FOUND)
		ret = reply_error(r, 404, "not_found", "no such learner");
	else if (st != LV_OK)
		ret = reply_status(r, st, "the birth date could not be set");
	else
		ret = reply_empty(r);
	cJSON_Delete(body);
	return ret;
}

static enum MHD_Result tokens_post(struct http_req *r, const char *learner)
{
	static const char *const FIELDS[] = {"role", "label", NULL};
	enum MHD_Result ret;
	bool bad = false;
	cJSON *body = json_body(r, FIELDS, "{\"role\": \"learner\"|\"guardian\", \"label\"?: TEXT}", &ret);
	if (!body)
		return ret;
	const char *role_s = opt_string(body, "role", &bad);
	const char *label = opt_string(body, "label", &bad);
	enum lv_role role = role_s ? lv_role_parse(role_s) : LV_ROLE_NONE;
	if (bad || (role != LV_ROLE_LEARNER && role != LV_ROLE_GUARDIAN)) {
		ret = reply_error(r, 400, "invalid", "role: \"learner\" or \"guardian\"");
	} else if (label && strlen(label) > LABEL_MAX) {
		ret = reply_error(r, 400, "invalid", "a label has at most %d bytes", LABEL_MAX);
	} else {
		cJSON *o = cJSON_CreateObject();
		enum lv_status st = issue(r, role, learner, NULL, 0, label, o);
		if (st == LV_OK) {
			ret = reply_secret(r, 201, o);
		} else {
			wipe_strings(o);
			cJSON_Delete(o);
			ret = st == LV_ERR_NOT_FOUND ? reply_error(r, 404, "not_found", "no such learner")
						     : reply_status(r, st, "the token could not be issued");
		}
	}
	cJSON_Delete(body);
	return ret;
}

enum MHD_Result admin_learners(struct http_req *r, const char *rest)
{
	if (rest[0] == '\0')
		return strcmp(r->method, "POST") == 0 ? learners_post(r) : bad_method(r, "POST");
	char learner[LV_PSEUDONYM_LEN];
	const char *after = NULL;
	if (!segment(rest, learner, sizeof learner, &after) ||
	    (strcmp(after, "/birth-date") != 0 && strcmp(after, "/tokens") != 0))
		return reply_error(r, 404, "not_found", "no such resource");
	bool birth = strcmp(after, "/birth-date") == 0;
	if (strcmp(r->method, birth ? "PUT" : "POST") != 0)
		return bad_method(r, birth ? "PUT" : "POST");
	/* Not a pseudonym: no such learner, and nothing to look up. */
	if (!util_pseudonym_valid(learner))
		return reply_error(r, 404, "not_found", "no such learner");
	return birth ? birth_date_put(r, learner) : tokens_post(r, learner);
}

/* ---- credentials ---- */

#define CRED_USAGE "{\"role\": ROLE, \"learner\"?: PSEUDONYM, \"purposes\"?: [POLICY_ID, ...], \"label\"?: TEXT}"

/* "purposes": absent, or an array of at most LV_MAX_PURPOSES policy ids
 * (borrowed from @body into @out).  False when malformed. */
static bool purposes_of(const cJSON *body, const char *out[LV_MAX_PURPOSES], size_t *n)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(body, "purposes");
	const cJSON *it;
	*n = 0;
	if (!arr)
		return true;
	if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) > LV_MAX_PURPOSES)
		return false;
	cJSON_ArrayForEach(it, arr) {
		if (!cJSON_IsString(it) || !it->valuestring[0] || strlen(it->valuestring) > LV_POLICY_ID_MAX)
			return false;
		out[(*n)++] = it->valuestring;
	}
	return true;
}

/* The body's rules, as `credential add` states them; NULL when it keeps
 * them, else the message for a 400. */
static const char *credential_request_error(bool bad, enum lv_role role, const char *learner, size_t np,
					    const char *label)
{
	if (bad)
		return "body: " CRED_USAGE;
	if (role == LV_ROLE_NONE)
		return "unknown role: provider, learner, guardian, analyst, auditor or admin";
	if ((role == LV_ROLE_LEARNER || role == LV_ROLE_GUARDIAN) != (learner != NULL))
		return "learner is required for, and only for, learner and guardian credentials";
	if (np && role != LV_ROLE_ANALYST)
		return "purposes apply to analyst credentials";
	if (label && strlen(label) > LABEL_MAX)
		return "a label has at most 200 bytes";
	return NULL;
}

static enum MHD_Result credentials_post(struct http_req *r)
{
	static const char *const FIELDS[] = {"role", "learner", "purposes", "label", NULL};
	enum MHD_Result ret;
	bool bad = false;
	const char *purposes[LV_MAX_PURPOSES];
	size_t np = 0;
	cJSON *body = json_body(r, FIELDS, CRED_USAGE, &ret);
	if (!body)
		return ret;
	const char *role_s = opt_string(body, "role", &bad);
	const char *learner = opt_string(body, "learner", &bad);
	const char *label = opt_string(body, "label", &bad);
	bad = bad || !role_s || !purposes_of(body, purposes, &np);
	enum lv_role role = role_s ? lv_role_parse(role_s) : LV_ROLE_NONE;
	const char *why = credential_request_error(bad, role, learner, np, label);
	if (why) {
		ret = reply_error(r, 400, "invalid", "%s", why);
		goto out;
	}
	if (learner && !util_pseudonym_valid(learner)) {
		ret = reply_error(r, 404, "not_found", "no such learner");
		goto out;
	}
	cJSON *o = cJSON_CreateObject();
	if (role != LV_ROLE_PROVIDER)
		cJSON_AddStringToObject(o, "role", lv_role_str(role));
	enum lv_status st = issue(r, role, learner, purposes, np, label, o);
	if (st == LV_OK) {
		ret = reply_secret(r, 201, o);
		goto out;
	}
	wipe_strings(o);
	cJSON_Delete(o);
	ret = st == LV_ERR_NOT_FOUND ? reply_error(r, 404, "not_found", "no such learner")
				     : reply_status(r, st, "the credential could not be issued");
out:
	cJSON_Delete(body);
	return ret;
}

enum MHD_Result admin_credentials(struct http_req *r, const char *rest)
{
	if (rest[0] == '\0') {
		if (strcmp(r->method, "POST") == 0)
			return credentials_post(r);
		if (strcmp(r->method, "GET") != 0)
			return bad_method(r, "GET and POST");
		char *json = NULL;
		enum lv_status st = lv_credential_list(r->node, &json);
		return st == LV_OK ? reply_text_json(r, 200, json) : reply_status(r, st, "the credentials could not be listed");
	}
	char id[LV_CRED_ID_LEN];
	const char *after = NULL;
	bool named = segment(rest, id, sizeof id, &after);
	if (named && after[0])
		return reply_error(r, 404, "not_found", "no such resource");
	if (strcmp(r->method, "DELETE") != 0)
		return bad_method(r, "DELETE");
	enum lv_status st = named ? lv_credential_revoke(r->node, id) : LV_ERR_NOT_FOUND;
	if (st == LV_ERR_NOT_FOUND)
		return reply_error(r, 404, "not_found", "no such active credential");
	return st == LV_OK ? reply_empty(r) : reply_status(r, st, "the credential could not be revoked");
}

/* ---- policies ---- */

enum MHD_Result admin_policies(struct http_req *r)
{
	enum lv_status st;
	if (strcmp(r->method, "GET") == 0) {
		char *json = NULL;
		st = lv_policy_list(r->node, &json);
		return st == LV_OK ? reply_text_json(r, 200, json) : reply_status(r, st, "the policies could not be listed");
	}
	if (strcmp(r->method, "POST") != 0)
		return bad_method(r, "GET and POST (a policy file as the body)");
	char err[LV_POLICY_ERR_LEN] = "", id[LV_POLICY_ID_MAX + 1];
	uint32_t version = 0;
	bool added = false;
	st = lv_policy_load(r->node, (const char *)r->content, r->content_len, &added, id, &version, err);
	if (st != LV_OK)
		return reply_status(r, st, err);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddNumberToObject(o, "version", version);
	cJSON_AddBoolToObject(o, "added", added);
	return reply_json(r, added ? 201 : 200, o, NULL);
}

/* ---- settings ---- */

#define SETTING_NAME_MAX 64

static enum MHD_Result setting_put(struct http_req *r, const char *name)
{
	static const char *const FIELDS[] = {"value", NULL};
	enum MHD_Result ret;
	bool bad = false;
	cJSON *body = json_body(r, FIELDS, "{\"value\": TEXT}", &ret);
	if (!body)
		return ret;
	const char *value = opt_string(body, "value", &bad);
	enum lv_status st = value ? lv_node_setting_set(r->node, name, value) : LV_ERR_INVALID;
	if (!value)
		ret = reply_error(r, 400, "invalid", "body: {\"value\": TEXT}");
	else if (st == LV_ERR_INVALID)
		ret = reply_error(r, 400, "invalid", "%s is not a setting, or not one that takes this value "
				  "(docs/running.md, Settings)", name);
	else if (st != LV_OK)
		ret = reply_status(r, st, "the setting could not be stored");
	else
		ret = reply_empty(r);
	cJSON_Delete(body);
	return ret;
}

enum MHD_Result admin_settings(struct http_req *r, const char *rest)
{
	if (rest[0] == '\0') {
		if (strcmp(r->method, "GET") != 0)
			return bad_method(r, "GET");
		char *json = NULL;
		enum lv_status st = lv_node_settings_list(r->node, &json);
		return st == LV_OK ? reply_text_json(r, 200, json) : reply_status(r, st, "the settings could not be read");
	}
	char name[SETTING_NAME_MAX + 1];
	const char *after = NULL;
	if (!segment(rest, name, sizeof name, &after) || after[0])
		return reply_error(r, 404, "not_found", "no such setting");
	if (strcmp(r->method, "PUT") != 0)
		return bad_method(r, "PUT");
	return setting_put(r, name);
}
