/* GET /statements ?format=ids|exact|canonical (Communication 2.1.3). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "learnvault/xapi.h"
#include "xapi_int.h"

/* Removes every child of @obj whose key is not in @keep. */
static void keep_only(cJSON *obj, const char *const *keep)
{
	if (!cJSON_IsObject(obj))
		return;
	cJSON *c = obj->child;
	while (c) {
		cJSON *next = c->next;
		bool ok = false;
		for (size_t i = 0; c->string && keep[i]; i++)
			ok = ok || strcmp(c->string, keep[i]) == 0;
		if (!ok)
			cJSON_Delete(cJSON_DetachItemViaPointer(obj, c));
		c = next;
	}
}

static cJSON *child(cJSON *obj, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(obj, key);
}

/* Applies @fn to a context activity list, which may be one Activity or an
 * array of them. */
static void each_context_activity(cJSON *ctx, void (*fn)(cJSON *, void *), void *arg)
{
	static const char *const lists[] = {"parent", "grouping", "category", "other"};
	cJSON *ca = child(ctx, "contextActivities");
	if (!cJSON_IsObject(ca))
		return;
	for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
		cJSON *l = child(ca, lists[i]);
		if (cJSON_IsObject(l)) {
			fn(l, arg);
		} else if (cJSON_IsArray(l)) {
			cJSON *c;
			cJSON_ArrayForEach(c, l)
				fn(c, arg);
		}
	}
}

/* ---- ids ---- */

static void ids_actor(cJSON *a)
{
	static const char *const ifi_keys[] = {
		"objectType", "mbox", "mbox_sha1sum", "openid", "account", NULL};
	static const char *const anon_keys[] = {"objectType", "member", NULL};
	if (!cJSON_IsObject(a))
		return;
	/* An anonymous Group is identified only by its members. */
	bool anon = xapi_actor_kind(a) == XAPI_KIND_GROUP && !xapi_has_ifi(a);
	keep_only(a, anon ? anon_keys : ifi_keys);
	if (anon) {
		cJSON *m = child(a, "member"), *c;
		if (cJSON_IsArray(m)) {
			cJSON_ArrayForEach(c, m)
				ids_actor(c);
		}
	}
}

static void ids_activity(cJSON *a, void *arg)
{
	static const char *const keys[] = {"id", NULL};
	(void)arg;
	keep_only(a, keys);
}

/* 2.0.0 contextAgents / contextGroups: each entry's actor, by its ids. */
static void ids_context_actors(cJSON *list, const char *member)
{
	cJSON *c;
	if (!cJSON_IsArray(list))
		return;
	cJSON_ArrayForEach(c, list)
		ids_actor(child(c, member));
}

static void ids_statement(cJSON *s, bool sub)
{
	static const char *const verb_keys[] = {"id", NULL};
	ids_actor(child(s, "actor"));
	keep_only(child(s, "verb"), verb_keys);
	cJSON *o = child(s, "object");
	if (cJSON_IsObject(o)) {
		switch (xapi_object_kind(o)) {
		case XAPI_KIND_ACTIVITY:
			ids_activity(o, NULL);
			break;
		case XAPI_KIND_AGENT:
		case XAPI_KIND_GROUP:
			ids_actor(o);
			break;
		case XAPI_KIND_SUBSTATEMENT:
			if (!sub)
				ids_statement(o, true);
			break;
		default:
			/* A StatementRef is already nothing but its identity. */
			break;
		}
	}
	cJSON *ctx = child(s, "context");
	if (cJSON_IsObject(ctx)) {
		ids_actor(child(ctx, "instructor"));
		ids_actor(child(ctx, "team"));
		ids_context_actors(child(ctx, "contextAgents"), "agent");
		ids_context_actors(child(ctx, "contextGroups"), "group");
		each_context_activity(ctx, ids_activity, NULL);
	}
	ids_actor(child(s, "authority"));
}

/* ---- canonical: one language per map, chosen by Accept-Language ---- */

#define LANG_PREFS_MAX 16

struct lang_pref {
	char range[XAPI_LANG_MAX + 1];
	double q;
};

struct lang_prefs {
	struct lang_pref p[LANG_PREFS_MAX];
	size_t n;
};

static bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

/* qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ), read by
 * hand because strtod() follows the locale's decimal point.  Anything else
 * counts as 0, which drops the range. */
static double parse_qvalue(const char *s, size_t n)
{
	while (n && is_space(s[n - 1]))
		n--;
	if (n == 0 || (s[0] != '0' && s[0] != '1'))
		return 0;
	double q = s[0] - '0', scale = 0.1;
	if (n == 1)
		return q;
	if (s[1] != '.' || n > 5)
		return 0;
	for (size_t i = 2; i < n; i++, scale /= 10) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		q += (s[i] - '0') * scale;
	}
	return q > 1 ? 0 : q;
}

/* Parses "da, en-GB;q=0.8, en;q=0.7" (RFC 7231 5.3.5).  Malformed items
 * are skipped: a bad header must not fail a GET.  The result is ordered by
 * descending q, keeping header order among equals. */
static void parse_accept_language(const char *h, struct lang_prefs *out)
{
	out->n = 0;
	while (h && *h && out->n < LANG_PREFS_MAX) {
		const char *end = strchr(h, ',');
		size_t len = end ? (size_t)(end - h) : strlen(h);
		const char *p = h;
		while (len && is_space(*p)) {
			p++;
			len--;
		}
		size_t rlen = 0;
		while (rlen < len && p[rlen] != ';' && !is_space(p[rlen]))
			rlen++;
		double q = 1.0;
		const char *qs = NULL;
		for (size_t i = rlen; i + 2 < len; i++) {
			if (p[i] == ';') {
				size_t j = i + 1;
				while (j < len && is_space(p[j]))
					j++;
				if (j + 1 < len && (p[j] == 'q' || p[j] == 'Q') && p[j + 1] == '=')
					qs = p + j + 2;
				break;
			}
		}
		if (qs)
			q = parse_qvalue(qs, (size_t)(p + len - qs));
		if (rlen > 0 && rlen <= XAPI_LANG_MAX && q > 0) {
			struct lang_pref *lp = &out->p[out->n++];
			memcpy(lp->range, p, rlen);
			lp->range[rlen] = '\0';
			lp->q = q;
		}
		h = end ? end + 1 : NULL;
	}
	/* Insertion sort: stable, and n is at most LANG_PREFS_MAX. */
	for (size_t i = 1; i < out->n; i++) {
		struct lang_pref t = out->p[i];
		size_t j = i;
		while (j > 0 && out->p[j - 1].q < t.q) {
			out->p[j] = out->p[j - 1];
			j--;
		}
		out->p[j] = t;
	}
}

/* RFC 4647 basic filtering: @range matches @tag when equal or a prefix of
 * it ending at a subtag boundary, case-insensitively. */
static bool range_matches(const char *range, const char *tag)
{
	size_t n = strlen(range);
	return strncasecmp(range, tag, n) == 0 && (tag[n] == '\0' || tag[n] == '-');
}

static cJSON *find_tag(cJSON *map, const char *range, bool exact)
{
	cJSON *c;
	cJSON_ArrayForEach(c, map) {
		if (!c->string)
			continue;
		if (exact ? strcasecmp(c->string, range) == 0 : range_matches(range, c->string))
			return c;
	}
	return NULL;
}

static cJSON *pick_language(cJSON *map, const struct lang_prefs *prefs)
{
	cJSON *c;
	/* Each preference in order: the exact tag, then any tag it covers. */
	for (size_t i = 0; i < prefs->n; i++) {
		const char *r = prefs->p[i].range;
		if (strcmp(r, "*") == 0)
			return map->child;
		if ((c = find_tag(map, r, true)) || (c = find_tag(map, r, false)))
			return c;
	}
	/* RFC 4647 lookup fallback: "en-GB" may still be served by "en". */
	for (size_t i = 0; i < prefs->n; i++) {
		char r[XAPI_LANG_MAX + 1];
		memcpy(r, prefs->p[i].range, sizeof r);
		char *dash;
		while ((dash = strrchr(r, '-'))) {
			*dash = '\0';
			if ((c = find_tag(map, r, true)))
				return c;
		}
	}
	/* Nothing asked for is there: prefer English, then the first entry. */
	if ((c = find_tag(map, "en-US", true)) || (c = find_tag(map, "en", false)))
		return c;
	return map->child;
}

static void one_language(cJSON *map, const struct lang_prefs *prefs)
{
	if (!cJSON_IsObject(map) || !map->child || !map->child->next)
		return;
	cJSON *keep = pick_language(map, prefs);
	cJSON *c = map->child;
	while (c) {
		cJSON *next = c->next;
		if (c != keep)
			cJSON_Delete(cJSON_DetachItemViaPointer(map, c));
		c = next;
	}
}

static void canonical_activity(cJSON *a, void *arg)
{
	static const char *const lists[] = {"choices", "scale", "source", "target", "steps"};
	const struct lang_prefs *prefs = arg;
	cJSON *d = child(a, "definition");
	if (!cJSON_IsObject(d))
		return;
	one_language(child(d, "name"), prefs);
	one_language(child(d, "description"), prefs);
	/* Interaction components carry language maps too (2.1.3.s4.b1). */
	for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
		cJSON *l = child(d, lists[i]), *c;
		if (cJSON_IsArray(l)) {
			cJSON_ArrayForEach(c, l)
				one_language(child(c, "description"), prefs);
		}
	}
}

/* Agents and Groups stay as in "exact"; only Activities and Verbs change. */
static void canonical_statement(cJSON *s, const struct lang_prefs *prefs, bool sub)
{
	one_language(child(child(s, "verb"), "display"), prefs);
	cJSON *o = child(s, "object");
	if (cJSON_IsObject(o)) {
		enum xapi_kind k = xapi_object_kind(o);
		if (k == XAPI_KIND_ACTIVITY)
			canonical_activity(o, (void *)prefs);
		else if (k == XAPI_KIND_SUBSTATEMENT && !sub)
			canonical_statement(o, prefs, true);
	}
	cJSON *ctx = child(s, "context");
	if (cJSON_IsObject(ctx))
		each_context_activity(ctx, canonical_activity, (void *)prefs);
}

cJSON *lv_xapi_format_statement(const cJSON *st, const char *format, const char *accept_language)
{
	if (!cJSON_IsObject(st) || !format)
		return NULL;
	bool ids = strcmp(format, "ids") == 0;
	bool canonical = strcmp(format, "canonical") == 0;
	if (!ids && !canonical && strcmp(format, "exact") != 0)
		return NULL;
	cJSON *out = cJSON_Duplicate(st, true);
	if (!out)
		return NULL;
	if (ids) {
		ids_statement(out, false);
	} else if (canonical) {
		/* Large enough to be worth keeping off the caller's stack. */
		struct lang_prefs *prefs = malloc(sizeof *prefs);
		if (!prefs) {
			cJSON_Delete(out);
			return NULL;
		}
		parse_accept_language(accept_language, prefs);
		canonical_statement(out, prefs, false);
		free(prefs);
	}
	return out;
}
