/* Actor identities and the index keys behind the GET /statements agent,
 * activity, related_agents and related_activities filters
 * (Communication 2.1.3). */
#include <stdlib.h>
#include <string.h>

#include "learnvault/xapi.h"
#include "xapi_int.h"

/* Appends the IFI part ("mbox:...", ...) of an Agent or identified Group. */
static enum lv_status append_ifi(const cJSON *a, struct buf *out)
{
	enum lv_status st;
	const char *s;
	if ((s = util_json_str(a, "mbox", NULL))) {
		/* Kept as given: only the domain is case-insensitive, and the
		 * header promises the client's spelling. */
		st = buf_append_str(out, "mbox:");
		return st == LV_OK ? buf_append_str(out, s) : st;
	}
	if ((s = util_json_str(a, "mbox_sha1sum", NULL))) {
		/* Hex case carries no meaning; one spelling per person. */
		char hex[41];
		size_t n = strlen(s);
		if (n >= sizeof hex)
			return LV_ERR_INVALID;
		for (size_t i = 0; i <= n; i++)
			hex[i] = (char)(s[i] >= 'A' && s[i] <= 'F' ? s[i] - 'A' + 'a' : s[i]);
		st = buf_append_str(out, "mbox_sha1sum:");
		return st == LV_OK ? buf_append_str(out, hex) : st;
	}
	if ((s = util_json_str(a, "openid", NULL))) {
		st = buf_append_str(out, "openid:");
		return st == LV_OK ? buf_append_str(out, s) : st;
	}
	const cJSON *acc = cJSON_GetObjectItemCaseSensitive(a, "account");
	const char *home = util_json_str(acc, "homePage", NULL);
	const char *name = util_json_str(acc, "name", NULL);
	if (home && name) {
		/* '|' cannot occur in a valid IRI, so the split is unambiguous. */
		st = buf_append_str(out, "account:");
		if (st == LV_OK)
			st = buf_append_str(out, home);
		if (st == LV_OK)
			st = buf_append_str(out, "|");
		if (st == LV_OK)
			st = buf_append_str(out, name);
		return st;
	}
	return LV_ERR_INVALID;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "anon-group:" + sorted member identities: member order is not part of a
 * Group (Data 2.3.1.b5), so the same members always give the same key. */
static enum lv_status append_anon_group(const cJSON *g, struct buf *out)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(g, "member");
	size_t n = (size_t)cJSON_GetArraySize(m);
	if (!cJSON_IsArray(m) || n == 0)
		return LV_ERR_INVALID;
	enum lv_status st = LV_OK;
	size_t got = 0;
	char **ids = calloc(n, sizeof *ids);
	if (!ids)
		return LV_ERR_NOMEM;
	for (const cJSON *c = m->child; c && got < n; c = c->next) {
		struct buf one;
		buf_init(&one, out->max);
		/* Members are Agents (validation refuses nested Groups). */
		if (xapi_actor_kind(c) != XAPI_KIND_AGENT)
			st = LV_ERR_INVALID;
		if (st == LV_OK)
			st = append_ifi(c, &one);
		if (st != LV_OK) {
			buf_free(&one);
			goto out;
		}
		ids[got++] = buf_steal(&one);
	}
	qsort(ids, got, sizeof *ids, cmp_str);
	st = buf_append_str(out, "anon-group:");
	for (size_t i = 0; st == LV_OK && i < got; i++) {
		if (i)
			st = buf_append_str(out, ",");
		if (st == LV_OK)
			st = buf_append_str(out, ids[i]);
	}
out:
	for (size_t i = 0; i < got; i++)
		free(ids[i]);
	free(ids);
	return st;
}

enum lv_status xapi_actor_identity(const cJSON *actor, struct buf *out)
{
	enum lv_status st;
	buf_reset(out);
	if (!cJSON_IsObject(actor))
		return LV_ERR_INVALID;
	switch (xapi_actor_kind(actor)) {
	case XAPI_KIND_AGENT:
		st = append_ifi(actor, out);
		break;
	case XAPI_KIND_GROUP:
		if (xapi_has_ifi(actor)) {
			st = buf_append_str(out, "group/");
			if (st == LV_OK)
				st = append_ifi(actor, out);
		} else {
			st = append_anon_group(actor, out);
		}
		break;
	default:
		st = LV_ERR_INVALID;
		break;
	}
	if (st != LV_OK)
		buf_reset(out);
	return st;
}

enum lv_status lv_xapi_actor_identity(const cJSON *actor, size_t max_len, char **identity)
{
	struct buf b;
	*identity = NULL;
	buf_init(&b, max_len);
	enum lv_status st = xapi_actor_identity(actor, &b);
	if (st == LV_OK) {
		*identity = buf_steal(&b);
		if (!*identity)
			st = LV_ERR_NOMEM;
	}
	buf_free(&b);
	return st;
}

/* ---- index keys ---- */

/* Identities share one capped buffer; a statement is already size-capped
 * at the HTTP layer, this only bounds one key. */
#define KEY_MAX (256 * 1024)

struct keyctx {
	lv_xapi_key_cb cb;
	void *ctx;
	struct buf id;
};

/* Emits @a's identity as @kind, then a Group's members.  Members are
 * related to every statement their Group is in.  When the Group is the
 * statement's own actor or object (@members_direct), 2.1.3 makes them plain
 * "agent" matches ("Groups that have members which match the specified
 * Agent"), so they are emitted as LV_XAPI_KEY_AGENT instead: the related_agents
 * filter matches AGENT keys as well, and one key per member keeps large
 * Groups under the store's per-statement key cap. */
static enum lv_status emit_actor(struct keyctx *k, const cJSON *a, enum lv_xapi_key_kind kind,
				 bool members_direct)
{
	if (!cJSON_IsObject(a))
		return LV_OK;
	enum lv_status st = xapi_actor_identity(a, &k->id);
	if (st == LV_OK)
		st = k->cb(k->ctx, kind, k->id.data);
	if (st != LV_OK || xapi_actor_kind(a) != XAPI_KIND_GROUP)
		return st;
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(a, "member");
	const cJSON *c;
	if (!cJSON_IsArray(m))
		return LV_OK;
	cJSON_ArrayForEach(c, m) {
		st = emit_actor(k, c, members_direct ? LV_XAPI_KEY_AGENT : LV_XAPI_KEY_AGENT_RELATED, false);
		if (st != LV_OK)
			return st;
	}
	return LV_OK;
}

static enum lv_status emit_activity(struct keyctx *k, const cJSON *a, enum lv_xapi_key_kind kind)
{
	const char *id = util_json_str(a, "id", NULL);
	return id ? k->cb(k->ctx, kind, id) : LV_OK;
}

/* 2.0.0 contextAgents / contextGroups (Communication 2.1.3: the
 * related_agents filter includes them): each entry's @member. */
static enum lv_status emit_context_actors(struct keyctx *k, const cJSON *list, const char *member)
{
	const cJSON *c;
	if (!cJSON_IsArray(list))
		return LV_OK;
	cJSON_ArrayForEach(c, list) {
		enum lv_status st = emit_actor(k, cJSON_GetObjectItemCaseSensitive(c, member),
					       LV_XAPI_KEY_AGENT_RELATED, false);
		if (st != LV_OK)
			return st;
	}
	return LV_OK;
}

static enum lv_status emit_context(struct keyctx *k, const cJSON *ctx)
{
	static const char *const lists[] = {"parent", "grouping", "category", "other"};
	if (!cJSON_IsObject(ctx))
		return LV_OK;
	enum lv_status st = emit_actor(k, cJSON_GetObjectItemCaseSensitive(ctx, "instructor"),
				       LV_XAPI_KEY_AGENT_RELATED, false);
	if (st == LV_OK)
		st = emit_actor(k, cJSON_GetObjectItemCaseSensitive(ctx, "team"),
				LV_XAPI_KEY_AGENT_RELATED, false);
	if (st == LV_OK)
		st = emit_context_actors(k, cJSON_GetObjectItemCaseSensitive(ctx, "contextAgents"), "agent");
	if (st == LV_OK)
		st = emit_context_actors(k, cJSON_GetObjectItemCaseSensitive(ctx, "contextGroups"), "group");
	const cJSON *ca = cJSON_GetObjectItemCaseSensitive(ctx, "contextActivities");
	for (size_t i = 0; st == LV_OK && ca && i < sizeof lists / sizeof lists[0]; i++) {
		const cJSON *l = cJSON_GetObjectItemCaseSensitive(ca, lists[i]);
		if (cJSON_IsObject(l)) {
			st = emit_activity(k, l, LV_XAPI_KEY_ACTIVITY_RELATED);
			continue;
		}
		const cJSON *arr = cJSON_IsArray(l) ? l : NULL;
		const cJSON *c;
		cJSON_ArrayForEach(c, arr) {
			st = emit_activity(k, c, LV_XAPI_KEY_ACTIVITY_RELATED);
			if (st != LV_OK)
				break;
		}
	}
	/* context.statement does not affect filtering (2.1.3 note). */
	return st;
}

static enum lv_status emit_statement(struct keyctx *k, const cJSON *s, bool sub)
{
	/* Inside a SubStatement everything is "related" (2.1.3 related_*). */
	enum lv_xapi_key_kind agent = sub ? LV_XAPI_KEY_AGENT_RELATED : LV_XAPI_KEY_AGENT;
	enum lv_xapi_key_kind activity = sub ? LV_XAPI_KEY_ACTIVITY_RELATED : LV_XAPI_KEY_ACTIVITY;
	enum lv_status st = emit_actor(k, cJSON_GetObjectItemCaseSensitive(s, "actor"), agent, !sub);
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(s, "object");
	if (st == LV_OK && cJSON_IsObject(o)) {
		switch (xapi_object_kind(o)) {
		case XAPI_KIND_ACTIVITY:
			st = emit_activity(k, o, activity);
			break;
		case XAPI_KIND_AGENT:
		case XAPI_KIND_GROUP:
			st = emit_actor(k, o, agent, !sub);
			break;
		case XAPI_KIND_SUBSTATEMENT:
			if (!sub)
				st = emit_statement(k, o, true);
			break;
		default:
			break;
		}
	}
	if (st == LV_OK)
		st = emit_context(k, cJSON_GetObjectItemCaseSensitive(s, "context"));
	if (st == LV_OK && !sub)
		st = emit_actor(k, cJSON_GetObjectItemCaseSensitive(s, "authority"),
				LV_XAPI_KEY_AGENT_RELATED, false);
	return st;
}

enum lv_status lv_xapi_statement_keys(const cJSON *st, lv_xapi_key_cb cb, void *ctx)
{
	if (!cJSON_IsObject(st) || !cb)
		return LV_ERR_INVALID;
	struct keyctx k = {.cb = cb, .ctx = ctx};
	buf_init(&k.id, KEY_MAX);
	enum lv_status s = emit_statement(&k, st, false);
	buf_free(&k.id);
	return s;
}
