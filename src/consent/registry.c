/* The node's policy registry: canonical policy texts in node.db, kept by
 * the store (its consent section, consent_repo.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "learnvault/consent.h"
#include "learnvault/store.h"
#include "learnvault/util.h"

/* Stores parsed policy @p (canonical @canon, digest @hex) unless that
 * (id, version) is loaded already; the load and its audit entry commit
 * together.  In @tx. */
static enum lv_status registry_add(struct lv_tx *tx, struct lv_node *n, const struct lv_policy *p, const char *canon,
				   const char *hex, bool *added, char err[LV_POLICY_ERR_LEN])
{
	char have[LV_STORE_SHA256_HEX_LEN];
	enum lv_status st = lv_store_policy_sha256(n, lv_policy_id(p), lv_policy_version(p), have);
	if (st == LV_OK) {
		if (strcmp(have, hex) != 0) {
			snprintf(err, LV_POLICY_ERR_LEN,
				 "policy %s version %u is loaded with different text: give the change a new version",
				 lv_policy_id(p), (unsigned)lv_policy_version(p));
			return LV_ERR_CONFLICT;
		}
		return LV_OK;
	}
	if (st != LV_ERR_NOT_FOUND)
		return st;
	st = lv_store_policy_insert(tx, lv_policy_id(p), lv_policy_version(p), hex, canon, util_now_ms());
	*added = st == LV_OK;
	if (st != LV_OK)
		return st;
	cJSON *e = cJSON_CreateObject();
	cJSON_AddStringToObject(e, "type", "policy");
	cJSON_AddStringToObject(e, "action", "load");
	cJSON_AddStringToObject(e, "policy", lv_policy_id(p));
	cJSON_AddNumberToObject(e, "version", lv_policy_version(p));
	cJSON_AddStringToObject(e, "sha256", hex);
	return lv_tx_audit(tx, e, NULL);
}

enum lv_status lv_policy_load(struct lv_node *n, const char *text, size_t len, bool *added,
			      char id[LV_POLICY_ID_MAX + 1], uint32_t *version, char err[LV_POLICY_ERR_LEN])
{
	struct lv_policy *p = NULL;
	char *canon = NULL;
	char hex[LV_POLICY_DIGEST_HEX_LEN];
	*added = false;
	id[0] = '\0';
	*version = 0;
	err[0] = '\0';
	enum lv_status st = lv_policy_parse(text, len, &p, err);
	if (st != LV_OK)
		return st;
	canon = lv_policy_canonical_text(p);
	if (!canon) {
		st = LV_ERR_NOMEM;
		goto out;
	}
	lv_policy_digest_hex(p, hex);
	struct lv_tx *tx = NULL;
	st = lv_tx_begin(n, &tx);
	if (st == LV_OK)
		st = lv_tx_end(tx, registry_add(tx, n, p, canon, hex, added, err));
	if (st == LV_OK) {
		snprintf(id, LV_POLICY_ID_MAX + 1, "%s", lv_policy_id(p));
		*version = lv_policy_version(p);
	} else {
		*added = false;
		if (!err[0])
			snprintf(err, LV_POLICY_ERR_LEN, "could not store the policy: %s", lv_status_str(st));
	}
out:
	free(canon);
	lv_policy_destroy(p);
	return st;
}

static enum lv_status list_row(void *ctx, const struct lv_store_policy_row *row)
{
	cJSON *arr = ctx;
	cJSON *o = cJSON_CreateObject();
	char t[UTIL_TIME_LEN];
	cJSON_AddStringToObject(o, "id", row->id);
	cJSON_AddNumberToObject(o, "version", (double)row->version);
	cJSON_AddStringToObject(o, "sha256", row->sha256);
	util_time_format(row->loaded_ms, t);
	cJSON_AddStringToObject(o, "loaded", t);
	cJSON *pol = util_json_parse(row->text, strlen(row->text));
	cJSON_AddItemToObject(o, "policy", pol ? pol : cJSON_CreateNull());
	cJSON_AddItemToArray(arr, o);
	return LV_OK;
}

enum lv_status lv_policy_list(struct lv_node *n, char **json)
{
	*json = NULL;
	cJSON *arr = cJSON_CreateArray();
	if (!arr)
		return LV_ERR_NOMEM;
	enum lv_status st = lv_store_lock(n);
	if (st == LV_OK)
		st = lv_store_policies_each(n, list_row, arr);
	lv_store_unlock(n);
	if (st == LV_OK) {
		*json = cJSON_PrintUnformatted(arr);
		if (!*json)
			st = LV_ERR_NOMEM;
	}
	cJSON_Delete(arr);
	return st;
}

enum lv_status lv_policy_loaded_get_locked(struct lv_node *n, const char *id, uint32_t version,
					   struct lv_policy_loaded *out)
{
	char *text = NULL;
	char perr[LV_POLICY_ERR_LEN];
	memset(out, 0, sizeof *out);
	enum lv_status st = version ? lv_store_policy_get(n, id, version, out->sha256, &text)
				    : lv_store_policy_newest(n, id, &version, out->sha256, &text);
	if (st == LV_OK)
		st = lv_policy_parse(text, strlen(text), &out->policy, perr);
	free(text);
	if (st == LV_OK)
		out->version = version;
	else
		lv_policy_loaded_clear(out);
	return st;
}

void lv_policy_loaded_clear(struct lv_policy_loaded *pl)
{
	if (!pl)
		return;
	lv_policy_destroy(pl->policy);
	memset(pl, 0, sizeof *pl);
}
