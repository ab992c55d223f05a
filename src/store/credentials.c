/* Credentials: random ids and secrets; only a keyed hash of each secret is
 * stored, compared in constant time. */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "store.h"

#define SECRET_BYTES 32
#define HASH_LEN 32

static const char *const ROLE_NAMES[] = {"none", "provider", "learner", "analyst", "auditor", "admin", "guardian"};

const char *lv_role_str(enum lv_role r)
{
	return (unsigned)r < sizeof ROLE_NAMES / sizeof ROLE_NAMES[0] ? ROLE_NAMES[r] : "none";
}

enum lv_role lv_role_parse(const char *name)
{
	for (unsigned i = 1; i < sizeof ROLE_NAMES / sizeof ROLE_NAMES[0]; i++)
		if (name && strcmp(name, ROLE_NAMES[i]) == 0)
			return (enum lv_role)i;
	return LV_ROLE_NONE;
}

void lv_principal_clear(struct lv_principal *p)
{
	for (size_t i = 0; i < p->npurposes; i++)
		free(p->purposes[i]);
	memset(p, 0, sizeof *p);
}

static void secret_hash(const struct lv_node *n, const char *id, const char *secret,
			unsigned char out[HASH_LEN])
{
	crypto_generichash_state h;
	crypto_generichash_init(&h, n->keys->credential, KEY_LEN, HASH_LEN);
	crypto_generichash_update(&h, (const unsigned char *)id, strlen(id));
	crypto_generichash_update(&h, (const unsigned char *)"\0", 1);
	crypto_generichash_update(&h, (const unsigned char *)secret, strlen(secret));
	crypto_generichash_final(&h, out, HASH_LEN);
}

static bool purpose_ok(const char *p)
{
	size_t n = strlen(p);
	if (n == 0 || n > 200)
		return false;
	for (; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == '"' || *p == '\\')
			return false;
	return true;
}

/* The purposes as a JSON array in *@arr, which the caller deletes (on
 * failure too); LV_ERR_INVALID when one is not a valid purpose. */
static enum lv_status purposes_array(const char *const *purposes, size_t npurposes, cJSON **arr)
{
	*arr = cJSON_CreateArray();
	for (size_t i = 0; i < npurposes; i++) {
		if (!purpose_ok(purposes[i]))
			return LV_ERR_INVALID;
		cJSON_AddItemToArray(*arr, cJSON_CreateString(purposes[i]));
	}
	return LV_OK;
}

/* @n random bytes whose base64url text starts with a letter or digit: an
 * id or secret starting with '-' is taken for an option by getopt-style
 * command lines (`credential revoke ID`, the ADL test runner's -p).  The
 * first character is the top 6 bits of the first byte; 62 and 63 are '-'
 * and '_': those draws are made again (a uniform choice among the rest). */
static void random_for_text(unsigned char *raw, size_t n)
{
	do
		randombytes_buf(raw, n);
	while ((raw[0] >> 2) >= 62);
}

/* A random id and secret, both base64url starting with a letter or digit;
 * @sec has @slen bytes. */
static void credential_new(char id[LV_CRED_ID_LEN], char *sec, size_t slen)
{
	unsigned char raw[18];
	unsigned char sraw[SECRET_BYTES];
	random_for_text(raw, sizeof raw);
	sodium_bin2base64(id, LV_CRED_ID_LEN, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	random_for_text(sraw, sizeof sraw);
	sodium_bin2base64(sec, slen, sraw, sizeof sraw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(sraw, sizeof sraw);
}

/* LV_OK when learner @p is enrolled, LV_ERR_NOT_FOUND when not.  Lock held. */
static enum lv_status learner_known(struct lv_node *n, const char *p)
{
	sqlite3_stmt *q = NULL;
	int rc = sqlite3_prepare_v2(n->db, "SELECT 1 FROM learners WHERE pseudonym = ?", -1, &q, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(q, 1, p, -1, SQLITE_STATIC);
		rc = sqlite3_step(q);
	}
	sqlite3_finalize(q);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? LV_ERR_NOT_FOUND : db_status(rc);
	return LV_OK;
}

/* The credential row (@purp: the purposes' JSON text).  In a transaction. */
static enum lv_status credential_insert(struct lv_node *n, const char *id, enum lv_role role,
					const unsigned char hash[HASH_LEN], const char *learner, const char *purp,
					const char *label)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(n->db,
					"INSERT INTO credentials(id, role, secret_hash, learner, purposes, label, created)"
					" VALUES(?, ?, ?, ?, ?, ?, ?)", -1, &s, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, lv_role_str(role), -1, SQLITE_STATIC);
		sqlite3_bind_blob(s, 3, hash, HASH_LEN, SQLITE_STATIC);
		sqlite3_bind_text(s, 4, learner, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 5, purp, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 6, label, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 7, util_now_ms());
		rc = sqlite3_step(s);
	}
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? LV_OK : db_status(rc);
}

/* Credential changes are audited: id, role and binding, never the secret
 * or its hash.  In a transaction. */
static enum lv_status credential_audit(struct lv_tx *tx, const char *id, enum lv_role role, const char *learner,
				       const cJSON *purposes, size_t npurposes)
{
	cJSON *e = cJSON_CreateObject();
	cJSON_AddStringToObject(e, "type", "credential");
	cJSON_AddStringToObject(e, "action", "add");
	cJSON_AddStringToObject(e, "credential", id);
	cJSON_AddStringToObject(e, "role", lv_role_str(role));
	if (learner)
		cJSON_AddStringToObject(e, "learner", learner);
	if (npurposes)
		cJSON_AddItemToObject(e, "purposes", cJSON_Duplicate(purposes, true));
	return lv_tx_audit(tx, e, NULL);
}

enum lv_status lv_credential_add(struct lv_node *n, enum lv_role role, const char *learner,
				 const char *const *purposes, size_t npurposes, const char *label,
				 char id[LV_CRED_ID_LEN], char **secret)
{
	enum lv_status st;
	unsigned char hash[HASH_LEN];
	char *sec = NULL;
	char *purp = NULL;
	cJSON *arr = NULL;
	id[0] = '\0';
	*secret = NULL;
	bool bound = role == LV_ROLE_LEARNER || role == LV_ROLE_GUARDIAN;
	if (role == LV_ROLE_NONE || bound != (learner != NULL) ||
	    npurposes > LV_MAX_PURPOSES || (label && strlen(label) > 200))
		return LV_ERR_INVALID;
	st = purposes_array(purposes, npurposes, &arr);
	if (st != LV_OK)
		goto out;
	purp = cJSON_PrintUnformatted(arr);
	size_t slen = sodium_base64_ENCODED_LEN(SECRET_BYTES, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sec = sodium_malloc(slen);
	if (!sec || !purp) {
		st = LV_ERR_NOMEM;
		goto out;
	}
	credential_new(id, sec, slen);

	struct lv_tx *tx = NULL;
	st = lv_tx_begin(n, &tx);
	if (st != LV_OK)
		goto out;
	secret_hash(n, id, sec, hash);
	if (learner)
		st = learner_known(n, learner);
	if (st == LV_OK)
		st = credential_insert(n, id, role, hash, learner, purp, label);
	if (st == LV_OK)
		st = credential_audit(tx, id, role, learner, arr, npurposes);
	st = lv_tx_end(tx, st);
	if (st == LV_OK) {
		*secret = sec;
		sec = NULL;
	}
out:
	if (st != LV_OK)
		id[0] = '\0';
	if (sec)
		sodium_free(sec);
	free(purp);
	cJSON_Delete(arr);
	return st;
}

enum lv_status lv_credential_check(struct lv_node *n, const char *id, const char *secret,
				   struct lv_principal *out)
{
	unsigned char want[HASH_LEN];
	unsigned char got[HASH_LEN];
	sqlite3_stmt *s = NULL;
	bool found = false;
	enum lv_status st = LV_ERR_UNAUTHORIZED;
	memset(out, 0, sizeof *out);
	if (!id || !secret || strlen(id) >= LV_CRED_ID_LEN || strlen(secret) > 128)
		return LV_ERR_UNAUTHORIZED;
	memset(want, 0xa5, sizeof want);
	int rc = lv_store_lock(n) == LV_OK ? SQLITE_OK : SQLITE_ERROR;
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(n->db,
				    "SELECT role, secret_hash, learner, purposes FROM credentials"
				    " WHERE id = ? AND revoked IS NULL", -1, &s, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
		rc = sqlite3_step(s);
	}
	if (rc == SQLITE_ROW && sqlite3_column_bytes(s, 1) == HASH_LEN) {
		found = true;
		memcpy(want, sqlite3_column_blob(s, 1), HASH_LEN);
	}
	/* Hash even for an unknown id, so timing does not tell ids apart. */
	secret_hash(n, id, secret, got);
	if (sodium_memcmp(want, got, HASH_LEN) == 0 && found) {
		out->role = lv_role_parse((const char *)sqlite3_column_text(s, 0));
		memcpy(out->id, id, strlen(id) + 1);
		const unsigned char *l = sqlite3_column_text(s, 2);
		if (l && strlen((const char *)l) < LV_PSEUDONYM_LEN)
			memcpy(out->learner, l, strlen((const char *)l) + 1);
		cJSON *arr = cJSON_Parse((const char *)sqlite3_column_text(s, 3));
		const cJSON *it;
		cJSON_ArrayForEach(it, arr) {
			if (cJSON_IsString(it) && out->npurposes < LV_MAX_PURPOSES)
				out->purposes[out->npurposes++] = strdup(it->valuestring);
		}
		cJSON_Delete(arr);
		st = out->role != LV_ROLE_NONE ? LV_OK : LV_ERR_UNAUTHORIZED;
	}
	sqlite3_finalize(s);
	lv_store_unlock(n);
	sodium_memzero(got, sizeof got);
	if (st != LV_OK)
		lv_principal_clear(out);
	return st;
}

enum lv_status lv_credential_active(struct lv_node *n, const char *id)
{
	sqlite3_stmt *s = NULL;
	int rc = lv_store_lock(n) == LV_OK ? SQLITE_OK : SQLITE_ERROR;
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(n->db, "SELECT 1 FROM credentials WHERE id = ? AND revoked IS NULL",
					-1, &s, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
		rc = sqlite3_step(s);
	}
	sqlite3_finalize(s);
	lv_store_unlock(n);
	return rc == SQLITE_ROW ? LV_OK : rc == SQLITE_DONE ? LV_ERR_NOT_FOUND : db_status(rc);
}

enum lv_status lv_credential_revoke(struct lv_node *n, const char *id)
{
	sqlite3_stmt *s = NULL;
	struct lv_tx *tx;
	enum lv_status st = lv_tx_begin(n, &tx);
	if (st != LV_OK)
		return st;
	int rc = sqlite3_prepare_v2(n->db, "UPDATE credentials SET revoked = ? WHERE id = ? AND revoked IS NULL",
					-1, &s, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(s, 1, util_now_ms());
		sqlite3_bind_text(s, 2, id, -1, SQLITE_STATIC);
		rc = sqlite3_step(s);
	}
	int changed = sqlite3_changes(n->db);
	sqlite3_finalize(s);
	st = rc == SQLITE_DONE ? (changed ? LV_OK : LV_ERR_NOT_FOUND) : db_status(rc);
	if (st == LV_OK) {
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "type", "credential");
		cJSON_AddStringToObject(e, "action", "revoke");
		cJSON_AddStringToObject(e, "credential", id);
		st = lv_tx_audit(tx, e, NULL);
	}
	return lv_tx_end(tx, st);
}

enum lv_status lv_credential_list(struct lv_node *n, char **json)
{
	*json = NULL;
	sqlite3_stmt *s = NULL;
	cJSON *arr = cJSON_CreateArray();
	if (!arr)
		return LV_ERR_NOMEM;
	enum lv_status st = lv_store_lock(n);
	int rc = st == LV_OK ? SQLITE_OK : SQLITE_ERROR;
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(n->db,
				    "SELECT id, role, learner, purposes, label, created, revoked FROM credentials"
				    " ORDER BY created", -1, &s, NULL);
	while (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		cJSON *o = cJSON_CreateObject();
		char t[UTIL_TIME_LEN];
		cJSON_AddStringToObject(o, "id", (const char *)sqlite3_column_text(s, 0));
		cJSON_AddStringToObject(o, "role", (const char *)sqlite3_column_text(s, 1));
		if (sqlite3_column_type(s, 2) != SQLITE_NULL)
			cJSON_AddStringToObject(o, "learner", (const char *)sqlite3_column_text(s, 2));
		cJSON *p = cJSON_Parse((const char *)sqlite3_column_text(s, 3));
		cJSON_AddItemToObject(o, "purposes", p ? p : cJSON_CreateArray());
		if (sqlite3_column_type(s, 4) != SQLITE_NULL)
			cJSON_AddStringToObject(o, "label", (const char *)sqlite3_column_text(s, 4));
		util_time_format(sqlite3_column_int64(s, 5), t);
		cJSON_AddStringToObject(o, "created", t);
		if (sqlite3_column_type(s, 6) != SQLITE_NULL) {
			util_time_format(sqlite3_column_int64(s, 6), t);
			cJSON_AddStringToObject(o, "revoked", t);
		}
		cJSON_AddItemToArray(arr, o);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(s);
	lv_store_unlock(n);
	st = rc == SQLITE_DONE ? LV_OK : db_status(rc);
	if (st == LV_OK) {
		*json = cJSON_PrintUnformatted(arr);
		if (!*json)
			st = LV_ERR_NOMEM;
	}
	cJSON_Delete(arr);
	return st;
}

enum lv_status lv_credential_count(struct lv_node *n, int64_t *count)
{
	*count = 0;
	sqlite3_stmt *s = NULL;
	int rc = lv_store_lock(n) == LV_OK ? SQLITE_OK : SQLITE_ERROR;
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(n->db, "SELECT count(*) FROM credentials WHERE revoked IS NULL", -1, &s, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW)
		*count = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	lv_store_unlock(n);
	return rc == SQLITE_ROW ? LV_OK : db_status(rc);
}
