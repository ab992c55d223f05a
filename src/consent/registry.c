/* The node's policy registry: canonical policy texts in node.db. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "learnvault/consent.h"
#include "store/store.h"

enum lv_status lv_policy_load(struct lv_node *n, const char *text, size_t len, bool *added,
			      char id[LV_POLICY_ID_MAX + 1], uint32_t *version, char err[LV_POLICY_ERR_LEN])
{
	struct lv_policy *p = NULL;
	char *canon = NULL;
	sqlite3_stmt *s = NULL;
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
		st = db_status(sqlite3_prepare_v2(n->db, "SELECT sha256 FROM policies WHERE id = ? AND version = ?",
						  -1, &s, NULL));
	if (st == LV_OK) {
		sqlite3_bind_text(s, 1, lv_policy_id(p), -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 2, lv_policy_version(p));
		int rc = sqlite3_step(s);
		if (rc == SQLITE_ROW) {
			if (strcmp((const char *)sqlite3_column_text(s, 0), hex) != 0) {
				snprintf(err, LV_POLICY_ERR_LEN,
					 "policy %s version %u is loaded with different text: give the change a new version",
					 lv_policy_id(p), (unsigned)lv_policy_version(p));
				st = LV_ERR_CONFLICT;
			}
		} else if (rc == SQLITE_DONE) {
			sqlite3_finalize(s);
			s = NULL;
			st = db_status(sqlite3_prepare_v2(n->db,
				"INSERT INTO policies(id, version, sha256, text, loaded) VALUES(?, ?, ?, ?, ?)",
				-1, &s, NULL));
			if (st == LV_OK) {
				sqlite3_bind_text(s, 1, lv_policy_id(p), -1, SQLITE_STATIC);
				sqlite3_bind_int64(s, 2, lv_policy_version(p));
				sqlite3_bind_text(s, 3, hex, -1, SQLITE_STATIC);
				sqlite3_bind_text(s, 4, canon, -1, SQLITE_STATIC);
				sqlite3_bind_int64(s, 5, util_now_ms());
				st = db_status(sqlite3_step(s));
				*added = st == LV_OK;
			}
			if (st == LV_OK) {
				cJSON *e = cJSON_CreateObject();
				cJSON_AddStringToObject(e, "type", "policy");
				cJSON_AddStringToObject(e, "action", "load");
				cJSON_AddStringToObject(e, "policy", lv_policy_id(p));
				cJSON_AddNumberToObject(e, "version", lv_policy_version(p));
				cJSON_AddStringToObject(e, "sha256", hex);
				st = lv_tx_audit(tx, e, NULL);
			}
		} else {
			st = db_status(rc);
		}
	}
	sqlite3_finalize(s);
	if (tx)
		st = lv_tx_end(tx, st);
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

enum lv_status lv_policy_list(struct lv_node *n, char **json)
{
	*json = NULL;
	sqlite3_stmt *s = NULL;
	cJSON *arr = cJSON_CreateArray();
	if (!arr)
		return LV_ERR_NOMEM;
	enum lv_status st = lv_store_lock(n);
	if (st == LV_OK)
		st = db_status(sqlite3_prepare_v2(n->db,
			"SELECT id, version, sha256, loaded, text FROM policies ORDER BY id, version", -1, &s, NULL));
	int rc = SQLITE_DONE;
	while (st == LV_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		cJSON *o = cJSON_CreateObject();
		char t[UTIL_TIME_LEN];
		cJSON_AddStringToObject(o, "id", (const char *)sqlite3_column_text(s, 0));
		cJSON_AddNumberToObject(o, "version", (double)sqlite3_column_int64(s, 1));
		cJSON_AddStringToObject(o, "sha256", (const char *)sqlite3_column_text(s, 2));
		util_time_format(sqlite3_column_int64(s, 3), t);
		cJSON_AddStringToObject(o, "loaded", t);
		const char *text = (const char *)sqlite3_column_text(s, 4);
		cJSON *pol = util_json_parse(text, strlen(text));
		cJSON_AddItemToObject(o, "policy", pol ? pol : cJSON_CreateNull());
		cJSON_AddItemToArray(arr, o);
	}
	if (st == LV_OK && rc != SQLITE_DONE)
		st = db_status(rc);
	sqlite3_finalize(s);
	lv_store_unlock(n);
	if (st == LV_OK) {
		*json = cJSON_PrintUnformatted(arr);
		if (!*json)
			st = LV_ERR_NOMEM;
	}
	cJSON_Delete(arr);
	return st;
}
