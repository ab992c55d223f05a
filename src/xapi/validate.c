/* Structural validation of xAPI 1.0.3 statements (Data 2.2-2.4, 4.x) as the
 * ADL LRS conformance suite checks it.  Every object is checked against a
 * whitelist of its properties, every value against its type and format;
 * nulls fail because no property (outside extensions) admits them. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "learnvault/xapi.h"
#include "xapi_int.h"

/* Validation context: where we are (a dotted path made only of property
 * names the specification defines, plus array indexes) and the error. */
#define PATH_LEN 128

struct vctx {
	char *err;
	char path[PATH_LEN];
	size_t plen;
	enum lv_status oom; /* set when a helper could not allocate */
	enum lv_xapi_version rules; /* which version's rules apply */
};

static enum lv_status fail(struct vctx *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static enum lv_status fail(struct vctx *v, const char *fmt, ...)
{
	/* Sized so that path, ": " and message always fit in the error. */
	char msg[LV_XAPI_ERR_LEN - PATH_LEN - 2];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	snprintf(v->err, LV_XAPI_ERR_LEN, "%s: %s", v->plen ? v->path : "statement", msg);
	return LV_ERR_INVALID;
}

/* Appends ".name" (or "name" at the root); truncates rather than fails,
 * since the path only decorates the message.  Returns the length to give
 * back to path_pop(). */
static size_t path_push(struct vctx *v, const char *name)
{
	size_t old = v->plen;
	int n = snprintf(v->path + old, sizeof v->path - old, "%s%s", old ? "." : "", name);
	if (n > 0)
		v->plen = old + (size_t)n < sizeof v->path ? old + (size_t)n : sizeof v->path - 1;
	return old;
}

static size_t path_push_index(struct vctx *v, size_t i)
{
	size_t old = v->plen;
	int n = snprintf(v->path + old, sizeof v->path - old, "[%zu]", i);
	if (n > 0)
		v->plen = old + (size_t)n < sizeof v->path ? old + (size_t)n : sizeof v->path - 1;
	return old;
}

static void path_pop(struct vctx *v, size_t old)
{
	v->plen = old;
	v->path[old] = '\0';
}

/* A client-supplied key, made safe and short for an error message. */
static void clip(const char *s, char out[40])
{
	size_t i = 0;
	for (; s && s[i] && i < 32; i++)
		out[i] = (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"') ? s[i] : '?';
	if (s && s[i]) {
		out[i++] = '.';
		out[i++] = '.';
	}
	out[i] = '\0';
}

static bool key_in(const char *key, const char *const *allowed)
{
	for (; *allowed; allowed++)
		if (strcmp(key, *allowed) == 0)
			return true;
	return false;
}

/* Rejects keys outside @allowed (Data 2.2.s4.b1.b5/b7) and repeated keys
 * (2.2.s3.b7 leaves them undefined; refusing is the only safe reading).
 * Only |allowed| distinct keys can pass before a repeat is found, so a
 * hostile object costs at most |allowed| * n comparisons. */
static enum lv_status check_keys(struct vctx *v, const cJSON *obj, const char *const *allowed)
{
	char name[40];
	for (const cJSON *c = obj->child; c; c = c->next) {
		if (!c->string || !key_in(c->string, allowed)) {
			clip(c->string, name);
			return fail(v, "property \"%s\" is not allowed", name);
		}
		for (const cJSON *d = c->next; d; d = d->next) {
			if (d->string && strcmp(c->string, d->string) == 0)
				return fail(v, "property \"%s\" appears twice", c->string);
		}
	}
	return LV_OK;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_str_ci(const void *a, const void *b)
{
	return strcasecmp(*(const char *const *)a, *(const char *const *)b);
}

/* Looks for a repeated string among @n pointers by sorting the (caller's
 * scratch) pointer array, so large maps cost n log n rather than n^2. */
static bool has_dup(const char **s, size_t n, bool ci)
{
	if (n < 2)
		return false;
	qsort(s, n, sizeof *s, ci ? cmp_str_ci : cmp_str);
	for (size_t i = 1; i < n; i++)
		if ((ci ? strcasecmp(s[i - 1], s[i]) : strcmp(s[i - 1], s[i])) == 0)
			return true;
	return false;
}

/* Repeated keys in an object with free-form keys (maps, extensions). */
static enum lv_status check_map_dups(struct vctx *v, const cJSON *obj, bool ci)
{
	size_t n = (size_t)cJSON_GetArraySize(obj);
	if (n < 2)
		return LV_OK;
	const char **keys = calloc(n, sizeof *keys);
	if (!keys)
		return v->oom = LV_ERR_NOMEM;
	size_t i = 0;
	for (const cJSON *c = obj->child; c && i < n; c = c->next)
		keys[i++] = c->string ? c->string : "";
	bool dup = has_dup(keys, i, ci);
	free(keys);
	return dup ? fail(v, "a key appears twice") : LV_OK;
}

static enum lv_status need_object(struct vctx *v, const cJSON *o)
{
	return cJSON_IsObject(o) ? LV_OK : fail(v, "must be an object");
}

/* ---- shared value types ---- */

static enum lv_status check_string(struct vctx *v, const cJSON *s)
{
	return cJSON_IsString(s) ? LV_OK : fail(v, "must be a string");
}

static enum lv_status check_iri(struct vctx *v, const cJSON *s)
{
	if (!cJSON_IsString(s))
		return fail(v, "must be an IRI string");
	return lv_xapi_iri_valid(s->valuestring) ? LV_OK : fail(v, "not a valid IRI");
}

static enum lv_status check_uuid(struct vctx *v, const cJSON *s)
{
	if (!cJSON_IsString(s))
		return fail(v, "must be a UUID string");
	return util_uuid_valid(s->valuestring) ? LV_OK : fail(v, "not a valid UUID");
}

static enum lv_status check_timestamp(struct vctx *v, const cJSON *s)
{
	int64_t ms;
	if (!cJSON_IsString(s))
		return fail(v, "must be a timestamp string");
	return util_time_parse(s->valuestring, &ms) ? LV_OK : fail(v, "not an ISO 8601 timestamp");
}

static enum lv_status check_lang_map(struct vctx *v, const cJSON *m)
{
	if (!cJSON_IsObject(m))
		return fail(v, "must be a language map");
	for (const cJSON *c = m->child; c; c = c->next) {
		bool tag_ok = c->string && xapi_lang_tag_valid(c->string);
		if (!tag_ok || !cJSON_IsString(c)) {
			char name[40];
			clip(c->string, name);
			return tag_ok ? fail(v, "value for \"%s\" must be a string", name)
				      : fail(v, "\"%s\" is not an RFC 5646 language tag", name);
		}
	}
	/* Tags are case-insensitive, so "en-US" and "en-us" are one key. */
	return check_map_dups(v, m, true);
}

/* Extension values may be anything, null included (Data 4.1). */
static enum lv_status check_extensions(struct vctx *v, const cJSON *e)
{
	if (!cJSON_IsObject(e))
		return fail(v, "must be an object");
	for (const cJSON *c = e->child; c; c = c->next) {
		if (!c->string || !lv_xapi_iri_valid(c->string)) {
			char name[40];
			clip(c->string, name);
			return fail(v, "key \"%s\" is not an IRI", name);
		}
	}
	return check_map_dups(v, e, false);
}

/* Validates the child @key of @parent with @fn, if present. */
typedef enum lv_status (*check_fn)(struct vctx *v, const cJSON *value);

static enum lv_status opt(struct vctx *v, const cJSON *parent, const char *key, check_fn fn)
{
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(parent, key);
	if (!c)
		return LV_OK;
	size_t old = path_push(v, key);
	enum lv_status st = fn(v, c);
	path_pop(v, old);
	return st;
}

static enum lv_status req(struct vctx *v, const cJSON *parent, const char *key, check_fn fn)
{
	if (!cJSON_GetObjectItemCaseSensitive(parent, key))
		return fail(v, "\"%s\" is required", key);
	return opt(v, parent, key, fn);
}

/* ---- actors (Data 2.4.2) ---- */

enum actor_rule {
	ACTOR_ANY,     /* Agent or Group */
	ACTOR_AGENT,   /* Agent only (group members, agent-only parameters) */
	ACTOR_GROUP,   /* Group only (context team) */
};

static enum lv_status check_mbox(struct vctx *v, const cJSON *s)
{
	if (!cJSON_IsString(s))
		return fail(v, "must be a string");
	return xapi_mbox_valid(s->valuestring) ? LV_OK : fail(v, "must be a mailto: IRI with an address");
}

static enum lv_status check_sha1(struct vctx *v, const cJSON *s)
{
	if (!cJSON_IsString(s))
		return fail(v, "must be a string");
	return xapi_sha1_hex_valid(s->valuestring) ? LV_OK : fail(v, "must be 40 hex digits");
}

static enum lv_status check_account_name(struct vctx *v, const cJSON *s)
{
	if (!cJSON_IsString(s))
		return fail(v, "must be a string");
	/* The name identifies the person; an empty one identifies nobody. */
	return s->valuestring[0] ? LV_OK : fail(v, "must not be empty");
}

static enum lv_status check_account(struct vctx *v, const cJSON *a)
{
	static const char *const keys[] = {"homePage", "name", NULL};
	enum lv_status st = need_object(v, a);
	if (st == LV_OK)
		st = check_keys(v, a, keys);
	if (st == LV_OK)
		st = req(v, a, "homePage", check_iri);
	if (st == LV_OK)
		st = req(v, a, "name", check_account_name);
	return st;
}

static enum lv_status check_actor(struct vctx *v, const cJSON *a, enum actor_rule rule, bool need_type);

static enum lv_status check_members(struct vctx *v, const cJSON *m)
{
	if (!cJSON_IsArray(m))
		return fail(v, "must be an array of Agents");
	int n = cJSON_GetArraySize(m);
	if (n > LV_XAPI_GROUP_MEMBERS_MAX)
		return fail(v, "a Group has at most %d members, not %d", LV_XAPI_GROUP_MEMBERS_MAX, n);
	size_t i = 0;
	for (const cJSON *c = m->child; c; c = c->next, i++) {
		size_t old = path_push_index(v, i);
		enum lv_status st = check_actor(v, c, ACTOR_AGENT, false);
		path_pop(v, old);
		if (st != LV_OK)
			return st;
	}
	return LV_OK;
}

static enum lv_status check_actor(struct vctx *v, const cJSON *a, enum actor_rule rule, bool need_type)
{
	static const char *const agent_keys[] = {
		"objectType", "name", "mbox", "mbox_sha1sum", "openid", "account", NULL};
	static const char *const group_keys[] = {
		"objectType", "name", "mbox", "mbox_sha1sum", "openid", "account", "member", NULL};
	enum lv_status st = need_object(v, a);
	if (st != LV_OK)
		return st;
	if (need_type && !cJSON_GetObjectItemCaseSensitive(a, "objectType"))
		return fail(v, "\"objectType\" is required");
	enum xapi_kind kind = xapi_actor_kind(a);
	if (kind == XAPI_KIND_INVALID)
		return fail(v, "objectType must be \"Agent\" or \"Group\"");
	if (rule == ACTOR_AGENT && kind != XAPI_KIND_AGENT)
		return fail(v, "must be an Agent");
	if (rule == ACTOR_GROUP && kind != XAPI_KIND_GROUP)
		return fail(v, "must be a Group");
	bool group = kind == XAPI_KIND_GROUP;

	st = check_keys(v, a, group ? group_keys : agent_keys);
	if (st == LV_OK)
		st = opt(v, a, "name", check_string);
	if (st == LV_OK)
		st = opt(v, a, "mbox", check_mbox);
	if (st == LV_OK)
		st = opt(v, a, "mbox_sha1sum", check_sha1);
	if (st == LV_OK)
		st = opt(v, a, "openid", check_iri);
	if (st == LV_OK)
		st = opt(v, a, "account", check_account);
	if (st != LV_OK)
		return st;

	int ifis = !!cJSON_GetObjectItemCaseSensitive(a, "mbox") +
		   !!cJSON_GetObjectItemCaseSensitive(a, "mbox_sha1sum") +
		   !!cJSON_GetObjectItemCaseSensitive(a, "openid") +
		   !!cJSON_GetObjectItemCaseSensitive(a, "account");
	if (ifis > 1)
		return fail(v, "exactly one of mbox, mbox_sha1sum, openid, account is allowed");
	if (!group) {
		if (ifis == 0)
			return fail(v, "an Agent needs one of mbox, mbox_sha1sum, openid, account");
		return LV_OK;
	}
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(a, "member");
	if (ifis == 0) {
		if (!m)
			return fail(v, "an anonymous Group needs \"member\"");
		if (cJSON_IsArray(m) && cJSON_GetArraySize(m) == 0)
			return fail(v, "an anonymous Group needs at least one member");
	}
	return opt(v, a, "member", check_members);
}

static enum lv_status check_any_actor(struct vctx *v, const cJSON *a)
{
	return check_actor(v, a, ACTOR_ANY, false);
}

static enum lv_status check_team(struct vctx *v, const cJSON *a)
{
	return check_actor(v, a, ACTOR_GROUP, true);
}

/* Data 2.4.9: an Agent, or for 3-legged OAuth an anonymous Group of exactly
 * two Agents. */
static enum lv_status check_authority(struct vctx *v, const cJSON *a)
{
	enum lv_status st = check_actor(v, a, ACTOR_ANY, false);
	if (st != LV_OK || xapi_actor_kind(a) != XAPI_KIND_GROUP)
		return st;
	if (xapi_has_ifi(a))
		return fail(v, "a Group authority must be anonymous");
	if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(a, "member")) != 2)
		return fail(v, "a Group authority must have exactly two members");
	return LV_OK;
}

/* ---- verb (Data 2.4.3) ---- */

static enum lv_status check_verb(struct vctx *v, const cJSON *vb)
{
	static const char *const keys[] = {"id", "display", NULL};
	enum lv_status st = need_object(v, vb);
	if (st == LV_OK)
		st = check_keys(v, vb, keys);
	if (st == LV_OK)
		st = req(v, vb, "id", check_iri);
	if (st == LV_OK)
		st = opt(v, vb, "display", check_lang_map);
	return st;
}

/* ---- activities (Data 2.4.4.1) ---- */

static const char *const interaction_types[] = {
	"true-false", "choice", "fill-in", "long-fill-in", "matching",
	"performance", "sequencing", "likert", "numeric", "other", NULL};

static enum lv_status check_component(struct vctx *v, const cJSON *c)
{
	static const char *const keys[] = {"id", "description", NULL};
	enum lv_status st = need_object(v, c);
	if (st == LV_OK)
		st = check_keys(v, c, keys);
	if (st == LV_OK)
		st = req(v, c, "id", check_string);
	if (st == LV_OK)
		st = opt(v, c, "description", check_lang_map);
	return st;
}

static enum lv_status check_components(struct vctx *v, const cJSON *list)
{
	if (!cJSON_IsArray(list))
		return fail(v, "must be an array of interaction components");
	size_t n = (size_t)cJSON_GetArraySize(list), i = 0;
	for (const cJSON *c = list->child; c; c = c->next, i++) {
		size_t old = path_push_index(v, i);
		enum lv_status st = check_component(v, c);
		path_pop(v, old);
		if (st != LV_OK)
			return st;
	}
	if (n < 2)
		return LV_OK;
	/* Ids within one list MUST be distinct (Data 2.4.4.1.s15). */
	const char **ids = calloc(n, sizeof *ids);
	if (!ids)
		return v->oom = LV_ERR_NOMEM;
	i = 0;
	for (const cJSON *c = list->child; c && i < n; c = c->next) {
		const char *id = util_json_str(c, "id", NULL);
		ids[i++] = id ? id : "";
	}
	bool dup = has_dup(ids, i, false);
	free(ids);
	return dup ? fail(v, "interaction component ids must be distinct") : LV_OK;
}

static enum lv_status check_string_array(struct vctx *v, const cJSON *a)
{
	if (!cJSON_IsArray(a))
		return fail(v, "must be an array of strings");
	for (const cJSON *c = a->child; c; c = c->next)
		if (!cJSON_IsString(c))
			return fail(v, "must be an array of strings");
	return LV_OK;
}

static enum lv_status check_interaction_type(struct vctx *v, const cJSON *t)
{
	if (!cJSON_IsString(t) || !key_in(t->valuestring, interaction_types))
		return fail(v, "not a known interactionType");
	return LV_OK;
}

static enum lv_status check_definition(struct vctx *v, const cJSON *d)
{
	static const char *const keys[] = {
		"name", "description", "type", "moreInfo", "extensions", "interactionType",
		"correctResponsesPattern", "choices", "scale", "source", "target", "steps", NULL};
	/* Which component lists each interaction type may carry (2.4.4.1.s15). */
	static const struct {
		const char *list;
		const char *types[3];
	} lists[] = {
		{"choices", {"choice", "sequencing", NULL}},
		{"scale", {"likert", NULL, NULL}},
		{"source", {"matching", NULL, NULL}},
		{"target", {"matching", NULL, NULL}},
		{"steps", {"performance", NULL, NULL}},
	};
	enum lv_status st = need_object(v, d);
	if (st == LV_OK)
		st = check_keys(v, d, keys);
	if (st == LV_OK)
		st = opt(v, d, "name", check_lang_map);
	if (st == LV_OK)
		st = opt(v, d, "description", check_lang_map);
	if (st == LV_OK)
		st = opt(v, d, "type", check_iri);
	if (st == LV_OK)
		st = opt(v, d, "moreInfo", check_iri);
	if (st == LV_OK)
		st = opt(v, d, "extensions", check_extensions);
	if (st == LV_OK)
		st = opt(v, d, "interactionType", check_interaction_type);
	if (st == LV_OK)
		st = opt(v, d, "correctResponsesPattern", check_string_array);
	if (st != LV_OK)
		return st;

	const char *itype = util_json_str(d, "interactionType", NULL);
	/* Interaction properties only make sense with a type (XAPI-00064). */
	if (!itype && cJSON_GetObjectItemCaseSensitive(d, "correctResponsesPattern"))
		return fail(v, "correctResponsesPattern needs interactionType");
	for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
		if (!cJSON_GetObjectItemCaseSensitive(d, lists[i].list))
			continue;
		bool ok = false;
		for (size_t k = 0; itype && k < 3 && lists[i].types[k]; k++)
			ok = ok || strcmp(itype, lists[i].types[k]) == 0;
		if (!ok)
			return fail(v, "\"%s\" does not fit the interactionType", lists[i].list);
		st = opt(v, d, lists[i].list, check_components);
		if (st != LV_OK)
			return st;
	}
	return LV_OK;
}

static enum lv_status check_activity(struct vctx *v, const cJSON *a)
{
	static const char *const keys[] = {"objectType", "id", "definition", NULL};
	enum lv_status st = need_object(v, a);
	if (st != LV_OK)
		return st;
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(a, "objectType");
	if (t && (!cJSON_IsString(t) || strcmp(t->valuestring, "Activity") != 0))
		return fail(v, "objectType must be \"Activity\"");
	st = check_keys(v, a, keys);
	if (st == LV_OK)
		st = req(v, a, "id", check_iri);
	if (st == LV_OK)
		st = opt(v, a, "definition", check_definition);
	return st;
}

/* ---- statement references ---- */

static enum lv_status check_statement_ref(struct vctx *v, const cJSON *r)
{
	static const char *const keys[] = {"objectType", "id", NULL};
	enum lv_status st = need_object(v, r);
	if (st != LV_OK)
		return st;
	if (xapi_object_kind(r) != XAPI_KIND_STATEMENTREF ||
	    !cJSON_GetObjectItemCaseSensitive(r, "objectType"))
		return fail(v, "objectType must be \"StatementRef\"");
	st = check_keys(v, r, keys);
	if (st == LV_OK)
		st = req(v, r, "id", check_uuid);
	return st;
}

/* ---- result (Data 2.4.5) ---- */

static enum lv_status check_number(struct vctx *v, const cJSON *n)
{
	return cJSON_IsNumber(n) && isfinite(n->valuedouble) ? LV_OK : fail(v, "must be a number");
}

static enum lv_status check_score(struct vctx *v, const cJSON *s)
{
	static const char *const keys[] = {"scaled", "raw", "min", "max", NULL};
	enum lv_status st = need_object(v, s);
	if (st == LV_OK)
		st = check_keys(v, s, keys);
	for (size_t i = 0; st == LV_OK && keys[i]; i++)
		st = opt(v, s, keys[i], check_number);
	if (st != LV_OK)
		return st;
	const cJSON *scaled = cJSON_GetObjectItemCaseSensitive(s, "scaled");
	const cJSON *raw = cJSON_GetObjectItemCaseSensitive(s, "raw");
	const cJSON *min = cJSON_GetObjectItemCaseSensitive(s, "min");
	const cJSON *max = cJSON_GetObjectItemCaseSensitive(s, "max");
	if (scaled && (scaled->valuedouble < -1.0 || scaled->valuedouble > 1.0))
		return fail(v, "scaled must be between -1 and 1");
	/* 2.4.5.1: "min ... less than max", "max ... greater than min". */
	if (min && max && !(min->valuedouble < max->valuedouble))
		return fail(v, "min must be less than max");
	if (raw && min && raw->valuedouble < min->valuedouble)
		return fail(v, "raw must not be below min");
	if (raw && max && raw->valuedouble > max->valuedouble)
		return fail(v, "raw must not be above max");
	return LV_OK;
}

static enum lv_status check_bool(struct vctx *v, const cJSON *b)
{
	return cJSON_IsBool(b) ? LV_OK : fail(v, "must be a boolean");
}

static enum lv_status check_duration(struct vctx *v, const cJSON *d)
{
	if (!cJSON_IsString(d))
		return fail(v, "must be a duration string");
	return xapi_duration_valid(d->valuestring) ? LV_OK : fail(v, "not an ISO 8601 duration");
}

static enum lv_status check_result(struct vctx *v, const cJSON *r)
{
	static const char *const keys[] = {
		"score", "success", "completion", "response", "duration", "extensions", NULL};
	enum lv_status st = need_object(v, r);
	if (st == LV_OK)
		st = check_keys(v, r, keys);
	if (st == LV_OK)
		st = opt(v, r, "score", check_score);
	if (st == LV_OK)
		st = opt(v, r, "success", check_bool);
	if (st == LV_OK)
		st = opt(v, r, "completion", check_bool);
	if (st == LV_OK)
		st = opt(v, r, "response", check_string);
	if (st == LV_OK)
		st = opt(v, r, "duration", check_duration);
	if (st == LV_OK)
		st = opt(v, r, "extensions", check_extensions);
	return st;
}

/* ---- context (Data 2.4.6) ---- */

static enum lv_status check_context_activity_list(struct vctx *v, const cJSON *l)
{
	/* A single Activity is allowed and means a list of one (2.4.6.2.s4.b3). */
	if (cJSON_IsObject(l))
		return check_activity(v, l);
	if (!cJSON_IsArray(l))
		return fail(v, "must be an Activity or an array of Activities");
	size_t i = 0;
	for (const cJSON *c = l->child; c; c = c->next, i++) {
		size_t old = path_push_index(v, i);
		enum lv_status st = check_activity(v, c);
		path_pop(v, old);
		if (st != LV_OK)
			return st;
	}
	return LV_OK;
}

static enum lv_status check_context_activities(struct vctx *v, const cJSON *ca)
{
	static const char *const keys[] = {"parent", "grouping", "category", "other", NULL};
	enum lv_status st = need_object(v, ca);
	if (st == LV_OK)
		st = check_keys(v, ca, keys);
	for (size_t i = 0; st == LV_OK && keys[i]; i++)
		st = opt(v, ca, keys[i], check_context_activity_list);
	return st;
}

static enum lv_status check_language(struct vctx *v, const cJSON *l)
{
	if (!cJSON_IsString(l))
		return fail(v, "must be a language tag string");
	return xapi_lang_tag_valid(l->valuestring) ? LV_OK : fail(v, "not an RFC 5646 language tag");
}

/* 2.0.0: "relevantTypes", when present, lists one or more Activity type
 * IRIs. */
static enum lv_status check_relevant_types(struct vctx *v, const cJSON *l)
{
	if (!cJSON_IsArray(l) || !l->child)
		return fail(v, "must be a non-empty array of IRIs");
	size_t i = 0;
	for (const cJSON *c = l->child; c; c = c->next, i++) {
		size_t old = path_push_index(v, i);
		enum lv_status st = check_iri(v, c);
		path_pop(v, old);
		if (st != LV_OK)
			return st;
	}
	return LV_OK;
}

static enum lv_status check_agent_only(struct vctx *v, const cJSON *a)
{
	return check_actor(v, a, ACTOR_AGENT, false);
}

static enum lv_status check_group_only(struct vctx *v, const cJSON *a)
{
	return check_actor(v, a, ACTOR_GROUP, false);
}

/* One entry of 2.0.0's contextAgents (@group false: objectType
 * "contextAgent", an Agent "agent") or contextGroups (@group: objectType
 * "contextGroup", a Group "group"), with optional relevantTypes. */
static enum lv_status check_context_actor(struct vctx *v, const cJSON *o, bool group)
{
	static const char *const agent_keys[] = {"objectType", "agent", "relevantTypes", NULL};
	static const char *const group_keys[] = {"objectType", "group", "relevantTypes", NULL};
	const char *type = group ? "contextGroup" : "contextAgent";
	enum lv_status st = need_object(v, o);
	if (st == LV_OK)
		st = check_keys(v, o, group ? group_keys : agent_keys);
	if (st != LV_OK)
		return st;
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "objectType");
	if (!t)
		return fail(v, "\"objectType\" is required");
	if (!cJSON_IsString(t) || strcmp(t->valuestring, type) != 0)
		return fail(v, "objectType must be \"%s\"", type);
	st = group ? req(v, o, "group", check_group_only) : req(v, o, "agent", check_agent_only);
	if (st == LV_OK)
		st = opt(v, o, "relevantTypes", check_relevant_types);
	return st;
}

static enum lv_status check_context_actor_list(struct vctx *v, const cJSON *l, bool group)
{
	if (!cJSON_IsArray(l))
		return fail(v, group ? "must be an array of contextGroup objects"
				     : "must be an array of contextAgent objects");
	size_t i = 0;
	for (const cJSON *c = l->child; c; c = c->next, i++) {
		size_t old = path_push_index(v, i);
		enum lv_status st = check_context_actor(v, c, group);
		path_pop(v, old);
		if (st != LV_OK)
			return st;
	}
	return LV_OK;
}

static enum lv_status check_context_agents(struct vctx *v, const cJSON *l)
{
	return check_context_actor_list(v, l, false);
}

static enum lv_status check_context_groups(struct vctx *v, const cJSON *l)
{
	return check_context_actor_list(v, l, true);
}

static enum lv_status check_context(struct vctx *v, const cJSON *c, enum xapi_kind object_kind)
{
	static const char *const keys[] = {
		"registration", "instructor", "team", "contextActivities", "revision",
		"platform", "language", "statement", "extensions", NULL};
	static const char *const keys_2_0[] = {
		"registration", "instructor", "team", "contextActivities", "revision",
		"platform", "language", "statement", "extensions", "contextAgents",
		"contextGroups", NULL};
	enum lv_status st = need_object(v, c);
	if (st == LV_OK)
		st = check_keys(v, c, v->rules == LV_XAPI_V2_0_0 ? keys_2_0 : keys);
	if (st == LV_OK)
		st = opt(v, c, "registration", check_uuid);
	if (st == LV_OK)
		st = opt(v, c, "instructor", check_any_actor);
	if (st == LV_OK)
		st = opt(v, c, "team", check_team);
	if (st == LV_OK)
		st = opt(v, c, "contextActivities", check_context_activities);
	if (st == LV_OK)
		st = opt(v, c, "revision", check_string);
	if (st == LV_OK)
		st = opt(v, c, "platform", check_string);
	if (st == LV_OK)
		st = opt(v, c, "language", check_language);
	if (st == LV_OK)
		st = opt(v, c, "statement", check_statement_ref);
	if (st == LV_OK)
		st = opt(v, c, "extensions", check_extensions);
	if (st == LV_OK)
		st = opt(v, c, "contextAgents", check_context_agents);
	if (st == LV_OK)
		st = opt(v, c, "contextGroups", check_context_groups);
	if (st != LV_OK)
		return st;
	/* 2.4.6.s4: revision and platform describe an Activity. */
	if (object_kind != XAPI_KIND_ACTIVITY) {
		if (cJSON_GetObjectItemCaseSensitive(c, "revision"))
			return fail(v, "\"revision\" is only allowed when the object is an Activity");
		if (cJSON_GetObjectItemCaseSensitive(c, "platform"))
			return fail(v, "\"platform\" is only allowed when the object is an Activity");
	}
	return LV_OK;
}

/* ---- attachments (Data 2.4.11) ---- */

static enum lv_status check_content_type(struct vctx *v, const cJSON *s)
{
	if (!cJSON_IsString(s))
		return fail(v, "must be a string");
	return xapi_media_type_valid(s->valuestring) ? LV_OK : fail(v, "not a media type");
}

static enum lv_status check_length(struct vctx *v, const cJSON *n)
{
	/* An integer: JSON has no separate type, so the value must be whole.
	 * 2^53 is where doubles stop counting exactly. */
	if (!cJSON_IsNumber(n) || !isfinite(n->valuedouble) || n->valuedouble < 0 ||
	    n->valuedouble > 9007199254740992.0 || floor(n->valuedouble) != n->valuedouble)
		return fail(v, "must be a non-negative integer");
	return LV_OK;
}

static enum lv_status check_sha2(struct vctx *v, const cJSON *s)
{
	if (!cJSON_IsString(s))
		return fail(v, "must be a string");
	return xapi_sha2_hex_valid(s->valuestring) ? LV_OK : fail(v, "must be a hex SHA-2 digest");
}

static enum lv_status check_attachment(struct vctx *v, const cJSON *a)
{
	static const char *const keys[] = {
		"usageType", "display", "description", "contentType", "length", "sha2", "fileUrl", NULL};
	enum lv_status st = need_object(v, a);
	if (st == LV_OK)
		st = check_keys(v, a, keys);
	if (st == LV_OK)
		st = req(v, a, "usageType", check_iri);
	if (st == LV_OK)
		st = req(v, a, "display", check_lang_map);
	if (st == LV_OK)
		st = opt(v, a, "description", check_lang_map);
	if (st == LV_OK)
		st = req(v, a, "contentType", check_content_type);
	if (st == LV_OK)
		st = req(v, a, "length", check_length);
	if (st == LV_OK)
		st = req(v, a, "sha2", check_sha2);
	if (st == LV_OK)
		st = opt(v, a, "fileUrl", check_iri);
	return st;
}

static enum lv_status check_attachments(struct vctx *v, const cJSON *l)
{
	if (!cJSON_IsArray(l))
		return fail(v, "must be an array");
	size_t i = 0;
	for (const cJSON *c = l->child; c; c = c->next, i++) {
		size_t old = path_push_index(v, i);
		enum lv_status st = check_attachment(v, c);
		path_pop(v, old);
		if (st != LV_OK)
			return st;
	}
	return LV_OK;
}

/* ---- statements (Data 2.4) ---- */

static enum lv_status check_version(struct vctx *v, const cJSON *s)
{
	if (!cJSON_IsString(s))
		return fail(v, "must be a string");
	/* "1.0" or "1.0.x" (2.4.10, Communication 3.3); 2.0.0 adds 2.0.x. */
	if (xapi_statement_version_valid(s->valuestring, v->rules))
		return LV_OK;
	return fail(v, v->rules == LV_XAPI_V2_0_0 ? "must be 1.0, 1.0.x, 2.0 or 2.0.x" : "must be 1.0 or 1.0.x");
}

static enum lv_status check_statement(struct vctx *v, const cJSON *st, bool sub);

static enum lv_status check_substatement(struct vctx *v, const cJSON *o)
{
	return check_statement(v, o, true);
}

static enum lv_status check_object(struct vctx *v, const cJSON *o, bool in_sub)
{
	enum lv_status st = need_object(v, o);
	if (st != LV_OK)
		return st;
	switch (xapi_object_kind(o)) {
	case XAPI_KIND_ACTIVITY:
		return check_activity(v, o);
	case XAPI_KIND_AGENT:
	case XAPI_KIND_GROUP:
		return check_actor(v, o, ACTOR_ANY, true);
	case XAPI_KIND_STATEMENTREF:
		return check_statement_ref(v, o);
	case XAPI_KIND_SUBSTATEMENT:
		if (in_sub)
			return fail(v, "a SubStatement cannot contain a SubStatement");
		return check_substatement(v, o);
	case XAPI_KIND_INVALID:
		break;
	}
	return fail(v, "unknown objectType");
}

static enum lv_status check_top_object(struct vctx *v, const cJSON *o)
{
	return check_object(v, o, false);
}

static enum lv_status check_sub_object(struct vctx *v, const cJSON *o)
{
	return check_object(v, o, true);
}

static enum lv_status check_statement(struct vctx *v, const cJSON *s, bool sub)
{
	static const char *const top_keys[] = {
		"id", "actor", "verb", "object", "result", "context", "timestamp", "stored",
		"authority", "version", "attachments", NULL};
	static const char *const sub_keys[] = {
		"objectType", "actor", "verb", "object", "result", "context", "timestamp",
		"attachments", NULL};
	static const char *const sub_forbidden[] = {"id", "stored", "version", "authority", NULL};
	enum lv_status st = need_object(v, s);
	if (st != LV_OK)
		return st;
	if (sub) {
		/* 2.4.4.3.s8.b3 names these; say so rather than "not allowed". */
		for (size_t i = 0; sub_forbidden[i]; i++)
			if (cJSON_GetObjectItemCaseSensitive(s, sub_forbidden[i]))
				return fail(v, "a SubStatement cannot have \"%s\"", sub_forbidden[i]);
	}
	st = check_keys(v, s, sub ? sub_keys : top_keys);
	if (st == LV_OK && !sub)
		st = opt(v, s, "id", check_uuid);
	if (st == LV_OK)
		st = req(v, s, "actor", check_any_actor);
	if (st == LV_OK)
		st = req(v, s, "verb", check_verb);
	if (st == LV_OK)
		st = req(v, s, "object", sub ? check_sub_object : check_top_object);
	if (st == LV_OK)
		st = opt(v, s, "result", check_result);
	if (st != LV_OK)
		return st;
	const cJSON *ctx = cJSON_GetObjectItemCaseSensitive(s, "context");
	if (ctx) {
		size_t old = path_push(v, "context");
		st = check_context(v, ctx, xapi_object_kind(cJSON_GetObjectItemCaseSensitive(s, "object")));
		path_pop(v, old);
	}
	if (st == LV_OK)
		st = opt(v, s, "timestamp", check_timestamp);
	if (st == LV_OK)
		st = opt(v, s, "attachments", check_attachments);
	if (st == LV_OK && !sub)
		st = opt(v, s, "stored", check_timestamp);
	if (st == LV_OK && !sub)
		st = opt(v, s, "authority", check_authority);
	if (st == LV_OK && !sub)
		st = opt(v, s, "version", check_version);
	if (st != LV_OK)
		return st;
	/* 2.3.2: a voiding statement's object is the StatementRef it voids. */
	const char *verb = util_json_str(cJSON_GetObjectItemCaseSensitive(s, "verb"), "id", NULL);
	if (!sub && verb && strcmp(verb, XAPI_VERB_VOIDED) == 0 &&
	    xapi_object_kind(cJSON_GetObjectItemCaseSensitive(s, "object")) != XAPI_KIND_STATEMENTREF)
		return fail(v, "a voiding statement's object must be a StatementRef");
	return LV_OK;
}

static void vctx_init(struct vctx *v, char err[LV_XAPI_ERR_LEN])
{
	v->rules = LV_XAPI_V1_0_3;
	v->err = err;
	v->path[0] = '\0';
	v->plen = 0;
	v->oom = LV_OK;
	err[0] = '\0';
}

/* A failed allocation is not the client's fault: report it as such. */
static enum lv_status vctx_finish(struct vctx *v, enum lv_status st)
{
	if (v->oom != LV_OK) {
		snprintf(v->err, LV_XAPI_ERR_LEN, "out of memory");
		return v->oom;
	}
	return st;
}

enum lv_status lv_xapi_validate_statement(const cJSON *st, char err[LV_XAPI_ERR_LEN])
{
	return lv_xapi_validate_statement_as(st, LV_XAPI_V1_0_3, err);
}

enum lv_status lv_xapi_validate_statement_as(const cJSON *st, enum lv_xapi_version version,
					     char err[LV_XAPI_ERR_LEN])
{
	struct vctx v;
	vctx_init(&v, err);
	v.rules = version;
	return vctx_finish(&v, check_statement(&v, st, false));
}

enum lv_status lv_xapi_validate_agent(const cJSON *agent, bool allow_group, char err[LV_XAPI_ERR_LEN])
{
	struct vctx v;
	vctx_init(&v, err);
	path_push(&v, "agent");
	return vctx_finish(&v, check_actor(&v, agent, allow_group ? ACTOR_ANY : ACTOR_AGENT, false));
}
