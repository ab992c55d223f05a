/* Statement equivalence (xAPI 1.0.3 Data 2.3.1 "Statement Comparison
 * Requirements"): differences that Statement immutability's exceptions
 * allow are ignored, every other difference counts.
 *
 * Both statements are copied and normalised so that allowed differences
 * vanish, then compared structurally.  Normalisation mostly deletes items
 * or rewrites strings in place at the same length; the few steps that
 * allocate report failure, and the copies are then simply discarded. */
#include <stdlib.h>
#include <string.h>

#include "learnvault/xapi.h"
#include "xapi_int.h"

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static char upper(char c)
{
	return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static void lower_str(char *s)
{
	for (; s && *s; s++)
		*s = lower(*s);
}

static cJSON *child(cJSON *obj, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(obj, key);
}

static char *value(cJSON *obj, const char *key)
{
	cJSON *c = child(obj, key);
	return cJSON_IsString(c) ? c->valuestring : NULL;
}

static void drop(cJSON *obj, const char *key)
{
	cJSON_DeleteItemFromObjectCaseSensitive(obj, key);
}

/* RFC 3987 5.3.2 syntax-based normalisation, which Data 3.1.s2.b1 allows:
 * scheme and host are case-insensitive, and so are the hex digits of
 * percent escapes.  Path, query and userinfo keep their case. */
static void iri_norm(char *s)
{
	if (!s)
		return;
	char *p = s;
	for (; *p && *p != ':'; p++)
		*p = lower(*p);
	if (*p == ':' && p[1] == '/' && p[2] == '/') {
		char *auth = p + 3;
		char *end = auth + strcspn(auth, "/?#");
		char *host = auth;
		for (char *q = auth; q < end; q++)
			if (*q == '@')
				host = q + 1;
		for (char *q = host; q < end; q++)
			*q = lower(*q);
	}
	for (char *q = s; *q; q++) {
		if (q[0] == '%' && is_hex(q[1]) && is_hex(q[2])) {
			q[1] = upper(q[1]);
			q[2] = upper(q[2]);
		}
	}
}

/* The scheme and the domain of an e-mail address are case-insensitive
 * (Data 2.4.2.3.s4.b1); the local part is not. */
static void mbox_norm(char *s)
{
	if (!s)
		return;
	char *colon = strchr(s, ':');
	char *at = strrchr(s, '@');
	for (char *p = s; colon && p < colon; p++)
		*p = lower(*p);
	if (at)
		lower_str(at + 1);
}

/* Rewrites an ISO 8601 timestamp as the instant it names, so two
 * serialisations of one instant compare equal (Data 2.3.1.b4).  False only
 * when memory runs out. */
static bool timestamp_norm(cJSON *t)
{
	int64_t ms;
	if (!cJSON_IsString(t) || !util_time_parse(t->valuestring, &ms))
		return true;
	char out[UTIL_TIME_LEN];
	util_time_format(ms, out);
	return cJSON_SetValuestring(t, out) != NULL;
}

/* Data 4.6: precision beyond 0.01 s does not count in a comparison.
 * False only when memory runs out. */
static bool duration_norm(cJSON *d)
{
	if (!cJSON_IsString(d))
		return true;
	char out[80];
	xapi_duration_norm(d->valuestring, out, sizeof out);
	if (strcmp(out, d->valuestring) == 0)
		return true;
	return cJSON_SetValuestring(d, out) != NULL;
}

static void norm_actor(cJSON *a);

/* 2.0.0 contextAgents / contextGroups: the actors and relevant type IRIs
 * compare as they do elsewhere. */
static void norm_context_actors(cJSON *list, const char *member)
{
	cJSON *c, *t;
	if (!cJSON_IsArray(list))
		return;
	cJSON_ArrayForEach(c, list) {
		norm_actor(child(c, member));
		cJSON *types = child(c, "relevantTypes");
		if (cJSON_IsArray(types)) {
			cJSON_ArrayForEach(t, types)
				if (cJSON_IsString(t))
					iri_norm(t->valuestring);
		}
	}
}

static void keys_iri_norm(cJSON *obj)
{
	cJSON *c;
	if (!cJSON_IsObject(obj))
		return;
	cJSON_ArrayForEach(c, obj) {
		if (c->string && !(c->type & cJSON_StringIsConst))
			iri_norm(c->string);
	}
}

/* Language tags are case-insensitive (RFC 5646 2.1.1). */
static void keys_lower(cJSON *obj)
{
	cJSON *c;
	if (!cJSON_IsObject(obj))
		return;
	cJSON_ArrayForEach(c, obj) {
		if (c->string && !(c->type & cJSON_StringIsConst))
			lower_str(c->string);
	}
}

static void norm_actor(cJSON *a)
{
	if (!cJSON_IsObject(a))
		return;
	/* "Agent" is what a missing objectType means. */
	char *t = value(a, "objectType");
	if (t && strcmp(t, "Agent") == 0)
		drop(a, "objectType");
	mbox_norm(value(a, "mbox"));
	lower_str(value(a, "mbox_sha1sum"));
	iri_norm(value(a, "openid"));
	iri_norm(value(child(a, "account"), "homePage"));
	cJSON *m = child(a, "member"), *c;
	if (cJSON_IsArray(m)) {
		cJSON_ArrayForEach(c, m)
			norm_actor(c);
	}
}

/* An Activity's definition is not part of the Statement (2.3.1.b2). */
static void norm_activity(cJSON *a)
{
	if (!cJSON_IsObject(a))
		return;
	char *t = value(a, "objectType");
	if (t && strcmp(t, "Activity") == 0)
		drop(a, "objectType");
	drop(a, "definition");
	iri_norm(value(a, "id"));
}

static bool norm_context(cJSON *ctx)
{
	static const char *const lists[] = {"parent", "grouping", "category", "other"};
	if (!cJSON_IsObject(ctx))
		return true;
	lower_str(value(ctx, "registration"));
	lower_str(value(child(ctx, "statement"), "id"));
	lower_str(value(ctx, "language"));
	norm_actor(child(ctx, "instructor"));
	norm_actor(child(ctx, "team"));
	norm_context_actors(child(ctx, "contextAgents"), "agent");
	norm_context_actors(child(ctx, "contextGroups"), "group");
	keys_iri_norm(child(ctx, "extensions"));
	cJSON *ca = child(ctx, "contextActivities");
	for (size_t i = 0; cJSON_IsObject(ca) && i < sizeof lists / sizeof lists[0]; i++) {
		cJSON *l = child(ca, lists[i]), *c;
		if (cJSON_IsObject(l)) {
			/* A lone Activity is the LRS's one-element list (2.4.6.2). */
			cJSON *arr = cJSON_CreateArray();
			if (!arr)
				return false;
			cJSON *one = cJSON_DetachItemViaPointer(ca, l);
			cJSON_AddItemToArray(arr, one);
			if (!cJSON_AddItemToObject(ca, lists[i], arr)) {
				cJSON_Delete(arr);
				return false;
			}
			l = arr;
		}
		if (cJSON_IsArray(l)) {
			cJSON_ArrayForEach(c, l)
				norm_activity(c);
		}
	}
	return true;
}

static bool norm_statement(cJSON *s, bool sub)
{
	if (!cJSON_IsObject(s))
		return true;
	if (!sub) {
		/* Assigned or rewritten by the LRS (2.3.1.b1). */
		drop(s, "id");
		drop(s, "authority");
		drop(s, "stored");
		drop(s, "timestamp");
		drop(s, "version");
	} else if (!timestamp_norm(child(s, "timestamp"))) {
		return false;
	}
	norm_actor(child(s, "actor"));
	cJSON *verb = child(s, "verb");
	/* A Verb's display is not part of the Statement (2.3.1.b3). */
	drop(verb, "display");
	iri_norm(value(verb, "id"));
	cJSON *o = child(s, "object");
	if (cJSON_IsObject(o)) {
		switch (xapi_object_kind(o)) {
		case XAPI_KIND_ACTIVITY:
			norm_activity(o);
			break;
		case XAPI_KIND_AGENT:
		case XAPI_KIND_GROUP:
			norm_actor(o);
			break;
		case XAPI_KIND_STATEMENTREF:
			lower_str(value(o, "id"));
			break;
		case XAPI_KIND_SUBSTATEMENT:
			if (!sub && !norm_statement(o, true))
				return false;
			break;
		default:
			break;
		}
	}
	keys_iri_norm(child(child(s, "result"), "extensions"));
	if (!duration_norm(child(child(s, "result"), "duration")))
		return false;
	cJSON *att = child(s, "attachments"), *a;
	if (cJSON_IsArray(att)) {
		cJSON_ArrayForEach(a, att) {
			iri_norm(value(a, "usageType"));
			iri_norm(value(a, "fileUrl"));
			lower_str(value(a, "sha2"));
			keys_lower(child(a, "display"));
			keys_lower(child(a, "description"));
		}
	}
	return norm_context(child(s, "context"));
}

/* ---- structural equality ---- */

static bool json_eq(const cJSON *a, const cJSON *b);

/* Group members are an unordered list (2.3.1.b5): match as multisets. */
static bool members_eq(const cJSON *a, const cJSON *b)
{
	int n = cJSON_GetArraySize(a);
	if (n != cJSON_GetArraySize(b))
		return false;
	if (n == 0)
		return true;
	bool *used = calloc((size_t)n, sizeof *used);
	if (!used)
		return false;
	bool ok = true;
	const cJSON *x, *y;
	cJSON_ArrayForEach(x, a) {
		int i = 0;
		bool found = false;
		cJSON_ArrayForEach(y, b) {
			if (!used[i] && json_eq(x, y)) {
				used[i] = found = true;
				break;
			}
			i++;
		}
		if (!found) {
			ok = false;
			break;
		}
	}
	free(used);
	return ok;
}

static bool is_group(const cJSON *o)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "objectType");
	return cJSON_IsString(t) && strcmp(t->valuestring, "Group") == 0;
}

static bool json_eq(const cJSON *a, const cJSON *b)
{
	if ((a->type & 0xff) != (b->type & 0xff))
		return false;
	switch (a->type & 0xff) {
	case cJSON_False:
	case cJSON_True:
	case cJSON_NULL:
		return true;
	case cJSON_Number:
		return a->valuedouble == b->valuedouble;
	case cJSON_String:
	case cJSON_Raw:
		return strcmp(a->valuestring, b->valuestring) == 0;
	case cJSON_Array: {
		const cJSON *x = a->child, *y = b->child;
		for (; x && y; x = x->next, y = y->next)
			if (!json_eq(x, y))
				return false;
		return !x && !y;
	}
	case cJSON_Object: {
		if (cJSON_GetArraySize(a) != cJSON_GetArraySize(b))
			return false;
		bool group = is_group(a);
		const cJSON *x;
		cJSON_ArrayForEach(x, a) {
			if (!x->string)
				return false;
			const cJSON *y = cJSON_GetObjectItemCaseSensitive(b, x->string);
			if (!y)
				return false;
			bool eq = group && strcmp(x->string, "member") == 0 && cJSON_IsArray(x) &&
					  cJSON_IsArray(y)
				  ? members_eq(x, y)
				  : json_eq(x, y);
			if (!eq)
				return false;
		}
		return true;
	}
	default:
		return false;
	}
}

bool lv_xapi_statements_equivalent(const cJSON *a, const cJSON *b)
{
	bool eq = false;
	cJSON *na = NULL, *nb = NULL;
	if (!cJSON_IsObject(a) || !cJSON_IsObject(b))
		goto out;
	na = cJSON_Duplicate(a, true);
	nb = cJSON_Duplicate(b, true);
	/* Out of memory cannot prove equality; "different" is the safe answer
	 * (the caller reports a conflict rather than silently accepting). */
	if (!na || !nb || !norm_statement(na, false) || !norm_statement(nb, false))
		goto out;
	eq = json_eq(na, nb);
out:
	cJSON_Delete(nb);
	cJSON_Delete(na);
	return eq;
}
