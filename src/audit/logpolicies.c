/* The policy texts an export ships, and the `policy` load entries that
 * vouch for them: every text must match a logged load (id, version,
 * SHA-256 of the canonical text) and every load must have its text.  A
 * text is what the verifier checks scopes, budgets and the guardian rule
 * against, so one that no load vouches for means a tampered export. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logverify.h"

/* "<id>|<version>"; false for a version that is not a whole number >= 1. */
static bool version_key(char out[LOGV_KEY_LEN], const char *id, double version)
{
	if (!(version >= 1 && version <= UINT32_MAX && version == floor(version)))
		return false;
	int n = snprintf(out, LOGV_KEY_LEN, "%s|%u", id, (unsigned)version);
	return n > 0 && n < LOGV_KEY_LEN;
}

/* Adds one parsed text (taken, freed on failure). */
static enum lv_status ship_one(struct logpol *ps, struct lv_policy *p, char err[LV_ERR_LEN])
{
	char key[LOGV_KEY_LEN];
	size_t at;
	bool found;
	enum lv_status st = util_array_room(&ps->texts, LOGV_MAX_ITEMS);
	if (st == LV_OK && !version_key(key, lv_policy_id(p), lv_policy_version(p)))
		st = LV_ERR_INVALID;
	if (st == LV_OK)
		st = logtab_get(&ps->by_version, key, ps->texts.n, &at, &found, NULL);
	if (st == LV_OK && found) {
		util_errf(err, "policy %s version %u appears twice in the export", lv_policy_id(p),
			  (unsigned)lv_policy_version(p));
		st = LV_ERR_INVALID;
	}
	if (st != LV_OK) {
		lv_policy_destroy(p);
		return st;
	}
	struct logpol_text *t = &ps->texts.v[ps->texts.n++];
	t->p = p;
	t->load = -1;
	lv_policy_digest_hex(p, t->sha);
	return LV_OK;
}

enum lv_status logpol_ship(struct logpol *ps, const cJSON *texts, char err[LV_ERR_LEN])
{
	const cJSON *pt;
	cJSON_ArrayForEach(pt, texts) {
		char perr[LV_POLICY_ERR_LEN];
		struct lv_policy *p = NULL;
		if (!cJSON_IsString(pt) || lv_policy_parse(pt->valuestring, strlen(pt->valuestring), &p, perr) != LV_OK) {
			util_errf(err, "a policy text in the export does not parse");
			return LV_ERR_INVALID;
		}
		enum lv_status st = ship_one(ps, p, err);
		if (st != LV_OK) {
			if (st != LV_ERR_INVALID)
				util_errf(err, "%s", lv_status_str(st));
			return st;
		}
	}
	return LV_OK;
}

/* Records @id's newest loaded version. */
static const char *note_newest(struct logpol *ps, const char *id, uint32_t version, size_t text)
{
	size_t at;
	bool found;
	if (util_array_room(&ps->newest, LOGV_MAX_ITEMS) != LV_OK ||
	    logtab_get(&ps->by_id, id, ps->newest.n, &at, &found, NULL) != LV_OK)
		return "out of memory";
	if (!found)
		ps->newest.v[ps->newest.n++] = (struct logpol_newest){.version = version, .text = text};
	else if (version > ps->newest.v[at].version)
		ps->newest.v[at] = (struct logpol_newest){.version = version, .text = text};
	return NULL;
}

const char *logpol_load(struct logpol *ps, const char *id, const cJSON *version, const char *sha, uint64_t i)
{
	char key[LOGV_KEY_LEN];
	size_t at;
	if (!id || !sha || !cJSON_IsNumber(version) || !version_key(key, id, version->valuedouble))
		return "a policy load entry is malformed";
	if (!logtab_find(&ps->by_version, key, &at) || strcmp(ps->texts.v[at].sha, sha) != 0)
		return "a logged policy load has no matching text in the export (missing or altered)";
	struct logpol_text *t = &ps->texts.v[at];
	if (t->load >= 0)
		return NULL; /* the node logs a load once; a repeat vouches for the same text */
	t->load = (long long)i;
	return note_newest(ps, id, lv_policy_version(t->p), at);
}

const struct logpol_text *logpol_get(const struct logpol *ps, const char *id, double version)
{
	char key[LOGV_KEY_LEN];
	size_t at;
	if (!id || !version_key(key, id, version) || !logtab_find(&ps->by_version, key, &at))
		return NULL;
	return ps->texts.v[at].load >= 0 ? &ps->texts.v[at] : NULL;
}

const struct logpol_text *logpol_newest(const struct logpol *ps, const char *id)
{
	size_t at;
	if (!id || !logtab_find(&ps->by_id, id, &at))
		return NULL;
	return &ps->texts.v[ps->newest.v[at].text];
}

const struct logpol_text *logpol_unmatched(const struct logpol *ps)
{
	for (size_t k = 0; k < ps->texts.n; k++)
		if (ps->texts.v[k].load < 0)
			return &ps->texts.v[k];
	return NULL;
}

void logpol_report(const struct logpol *ps, cJSON *rep)
{
	cJSON *arr = cJSON_AddArrayToObject(rep, "policies");
	for (size_t k = 0; k < ps->texts.n; k++) {
		const struct logpol_text *t = &ps->texts.v[k];
		if (t->load < 0)
			continue;
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "policy", lv_policy_id(t->p));
		cJSON_AddNumberToObject(o, "version", lv_policy_version(t->p));
		cJSON_AddStringToObject(o, "sha256", t->sha);
		cJSON_AddNumberToObject(o, "entry", (double)t->load);
		cJSON_AddItemToArray(arr, o);
	}
}

void logpol_free(struct logpol *ps)
{
	for (size_t k = 0; k < ps->texts.n; k++)
		lv_policy_destroy(ps->texts.v[k].p);
	free(ps->texts.v);
	free(ps->newest.v);
	logtab_free(&ps->by_version);
	logtab_free(&ps->by_id);
	memset(ps, 0, sizeof *ps);
}
