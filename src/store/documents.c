/* xAPI documents: state and agent profiles live in the agent's vault,
 * activity profiles (no learner data) in node.db.  Each provider has its
 * own namespace of documents. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "learnvault/statements.h"
#include "learnvault/xapi.h"
#include "store.h"

void lv_document_clear(struct lv_document *d)
{
	free(d->content_type);
	free(d->body);
	memset(d, 0, sizeof *d);
}

/* Resolves the database and scope string for @key.  Lock held. */
static enum lv_status doc_target(struct lv_node *n, const struct lv_doc_key *key, bool create,
				 sqlite3 **db, struct buf *scope)
{
	enum lv_status st = LV_OK;
	*db = NULL;
	if (key->kind == LV_DOC_ACTIVITY_PROFILE) {
		*db = n->db;
		return buf_append_str(scope, key->activity);
	}
	char *ident = NULL;
	char p[LV_PSEUDONYM_LEN];
	st = lv_xapi_actor_identity(key->agent, 65536, &ident);
	if (st != LV_OK)
		goto out;
	if (create) {
		struct lv_tx *tx;
		st = lv_tx_open_locked(n, &tx);
		if (st == LV_OK) {
			st = learner_resolve(n, ident, n->auto_enrol, p, NULL);
			if (st == LV_ERR_NOT_FOUND)
				st = LV_ERR_FORBIDDEN;
			st = lv_tx_close_locked(tx, st);
		}
	} else {
		st = learner_resolve(n, ident, false, p, NULL);
	}
	if (st != LV_OK)
		goto out;
	st = vault_get(n, p, false, db);
	if (st != LV_OK)
		goto out;
	if (key->kind == LV_DOC_STATE)
		st = buf_printf(scope, "%s\n%s", key->activity, key->registration ? key->registration : "");
	else
		st = buf_append_str(scope, "");
out:
	free(ident);
	return st;
}

static enum lv_status doc_load(sqlite3 *db, const char *prov, int kind, const char *scope,
			       const char *doc_id, struct lv_document *d)
{
	sqlite3_stmt *s = NULL;
	enum lv_status st = db_status(sqlite3_prepare_v2(db,
		"SELECT content_type, body, updated FROM documents"
		" WHERE provider = ? AND kind = ? AND scope = ? AND doc_id = ?", -1, &s, NULL));
	if (st != LV_OK)
		return st;
	sqlite3_bind_text(s, 1, prov, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 2, kind);
	sqlite3_bind_text(s, 3, scope, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, doc_id, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		size_t len = (size_t)sqlite3_column_bytes(s, 1);
		d->content_type = strdup((const char *)sqlite3_column_text(s, 0));
		d->body = malloc(len + 1);
		if (!d->content_type || !d->body) {
			lv_document_clear(d);
			st = LV_ERR_NOMEM;
		} else {
			if (len)
				memcpy(d->body, sqlite3_column_blob(s, 1), len);
			d->body[len] = 0;
			d->len = len;
			/* From the content, not the stored column: documents
			 * written before issue 14 carry a SHA-256-based tag
			 * there, and the ETag is the content's SHA-1. */
			lv_document_etag(d->body, len, d->etag);
			d->updated_ms = sqlite3_column_int64(s, 2);
		}
	} else {
		st = rc == SQLITE_DONE ? LV_ERR_NOT_FOUND : db_status(rc);
	}
	sqlite3_finalize(s);
	return st;
}

enum lv_status lv_document_get(struct lv_node *n, const struct lv_principal *prov,
			       const struct lv_doc_key *key, struct lv_document *out)
{
	memset(out, 0, sizeof *out);
	struct buf scope;
	buf_init(&scope, 65536);
	sqlite3 *db = NULL;
	enum lv_status st = lv_store_lock(n);
	if (st == LV_OK)
		st = doc_target(n, key, false, &db, &scope);
	if (st == LV_OK)
		st = doc_load(db, prov->id, key->kind, scope.data, key->doc_id, out);
	lv_store_unlock(n);
	buf_free(&scope);
	return st;
}

void lv_document_etag(const void *data, size_t len, char out[41])
{
	unsigned char h[EVP_MAX_MD_SIZE];
	unsigned int hl = 0;
	/* SHA-1 here is the spec's content tag, not a security measure. */
	if (EVP_Digest(data, len, h, &hl, EVP_sha1(), NULL) != 1 || hl != 20) {
		out[0] = '\0'; /* matches no header: every If-Match fails safe */
		return;
	}
	sodium_bin2hex(out, 41, h, 20);
}

bool lv_etag_matches(const char *header, const char *etag, bool weak)
{
	size_t len = strlen(etag);
	const char *p = header;
	if (len == 0)
		return false;
	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (!*p)
			break;
		if (*p == '*')
			return true;
		bool is_weak = strncmp(p, "W/", 2) == 0;
		if (is_weak)
			p += 2;
		bool q = *p == '"';
		if (q)
			p++;
		bool same = strncasecmp(p, etag, len) == 0 &&
			    (q ? p[len] == '"' : (p[len] == 0 || p[len] == ',' || p[len] == ' '));
		if (same && (weak || !is_weak))
			return true;
		while (*p && *p != ',')
			p++;
	}
	return false;
}

static enum lv_status check_pre(const struct lv_doc_precondition *pre, bool exists, const char *etag)
{
	if (!pre)
		return LV_OK;
	if (pre->if_match && (!exists || !lv_etag_matches(pre->if_match, etag, false)))
		return LV_ERR_PRECONDITION;
	if (pre->if_none_match && exists && lv_etag_matches(pre->if_none_match, etag, true))
		return LV_ERR_PRECONDITION;
	/* xAPI 1.0.3 Part Three §3.1 (profiles; State too in 2.0): a PUT
	 * without either header never replaces a document (409); whether
	 * it may create one depends on the version (@may_create). */
	if (pre->required && !pre->if_match && !pre->if_none_match && (exists || !pre->may_create))
		return exists ? LV_ERR_CONFLICT : LV_ERR_INVALID;
	return LV_OK;
}

static bool is_json_type(const char *ct)
{
	return ct && strncasecmp(ct, "application/json", 16) == 0;
}

/* What a PUT or POST writes: the caller's body, or for a POST onto a
 * stored JSON object the merge of the two (@merged owns that text). */
struct doc_body {
	const char *content_type;
	const unsigned char *data;
	size_t len;
	char *merged;
};

/* check_pre with the text the client is told. */
static enum lv_status doc_check_pre(const struct lv_doc_precondition *pre, bool exists, const char *etag,
				    char err[LV_ERR_TEXT])
{
	enum lv_status st = check_pre(pre, exists, etag);
	if (st != LV_OK)
		snprintf(err, LV_ERR_TEXT, st == LV_ERR_PRECONDITION ? "precondition failed"
			 : st == LV_ERR_CONFLICT ? "document exists: send If-Match or If-None-Match"
			 : "PUT needs If-Match or If-None-Match");
	return st;
}

/* A POST merges: onto a stored document both must be JSON objects and
 * @b's keys replace or join @old's; a new document must be a JSON object
 * when it says it is JSON. */
static enum lv_status doc_merge(const struct lv_document *old, bool exists, struct doc_body *b,
				char err[LV_ERR_TEXT])
{
	enum lv_status st = LV_OK;
	cJSON *a = NULL, *nb = util_json_parse((const char *)b->data, b->len);
	if (!exists) {
		if (is_json_type(b->content_type) && !cJSON_IsObject(nb))
			st = LV_ERR_INVALID;
		goto out;
	}
	a = util_json_parse((const char *)old->body, old->len);
	if (!is_json_type(old->content_type) || !is_json_type(b->content_type) || !cJSON_IsObject(a) ||
	    !cJSON_IsObject(nb)) {
		st = LV_ERR_INVALID;
		goto out;
	}
	cJSON *it;
	cJSON_ArrayForEach(it, nb) {
		cJSON *dup = cJSON_Duplicate(it, true);
		if (cJSON_GetObjectItemCaseSensitive(a, it->string))
			cJSON_ReplaceItemInObjectCaseSensitive(a, it->string, dup);
		else
			cJSON_AddItemToObject(a, it->string, dup);
	}
	b->merged = cJSON_PrintUnformatted(a);
	b->data = (const unsigned char *)b->merged;
	b->len = strlen(b->merged);
	b->content_type = "application/json";
out:
	if (st != LV_OK)
		snprintf(err, LV_ERR_TEXT, "POST merges JSON objects only");
	cJSON_Delete(a);
	cJSON_Delete(nb);
	return st;
}

/* Writes @b as document @key of @prov in @db, with a new etag.  Lock held. */
static enum lv_status doc_store(sqlite3 *db, const struct lv_principal *prov, const struct lv_doc_key *key,
				const char *scope, const struct doc_body *b)
{
	char etag[41];
	sqlite3_stmt *s = NULL;
	lv_document_etag(b->data, b->len, etag);
	enum lv_status st = db_status(sqlite3_prepare_v2(db,
		"INSERT OR REPLACE INTO documents(provider, kind, scope, doc_id, content_type, body, etag, updated)"
		" VALUES(?, ?, ?, ?, ?, ?, ?, ?)", -1, &s, NULL));
	if (st != LV_OK)
		return st;
	sqlite3_bind_text(s, 1, prov->id, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 2, key->kind);
	sqlite3_bind_text(s, 3, scope, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, key->doc_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, b->content_type, -1, SQLITE_STATIC);
	sqlite3_bind_blob(s, 6, b->data, (int)b->len, SQLITE_STATIC);
	sqlite3_bind_text(s, 7, etag, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 8, util_now_ms());
	st = db_status(sqlite3_step(s));
	sqlite3_finalize(s);
	return st;
}

enum lv_status lv_document_put(struct lv_node *n, const struct lv_principal *prov,
			       const struct lv_doc_key *key, const char *content_type,
			       const unsigned char *body, size_t len, bool merge,
			       const struct lv_doc_precondition *pre, char err[LV_ERR_TEXT])
{
	struct buf scope;
	buf_init(&scope, 65536);
	sqlite3 *db = NULL;
	struct lv_document old = {0};
	struct doc_body b = {content_type ? content_type : "application/octet-stream", body, len, NULL};
	err[0] = '\0';
	enum lv_status st = lv_store_lock(n);
	if (st == LV_OK)
		st = doc_target(n, key, true, &db, &scope);
	if (st != LV_OK)
		goto out;
	st = doc_load(db, prov->id, key->kind, scope.data, key->doc_id, &old);
	bool exists = st == LV_OK;
	if (st != LV_OK && st != LV_ERR_NOT_FOUND)
		goto out;
	st = doc_check_pre(pre, exists, old.etag, err);
	if (st == LV_OK && merge)
		st = doc_merge(&old, exists, &b, err);
	if (st == LV_OK)
		st = doc_store(db, prov, key, scope.data, &b);
out:
	lv_store_unlock(n);
	lv_document_clear(&old);
	free(b.merged);
	buf_free(&scope);
	return st;
}

enum lv_status lv_document_delete(struct lv_node *n, const struct lv_principal *prov,
				  const struct lv_doc_key *key, const struct lv_doc_precondition *pre)
{
	struct buf scope;
	buf_init(&scope, 65536);
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	struct lv_document old = {0};
	enum lv_status st = lv_store_lock(n);
	if (st == LV_OK)
		st = doc_target(n, key, false, &db, &scope);
	if (st == LV_ERR_NOT_FOUND) { /* unknown agent: nothing to delete */
		st = LV_OK;
		goto out;
	}
	if (st != LV_OK)
		goto out;
	if (key->doc_id) {
		st = doc_load(db, prov->id, key->kind, scope.data, key->doc_id, &old);
		bool exists = st == LV_OK;
		if (st != LV_OK && st != LV_ERR_NOT_FOUND)
			goto out;
		struct lv_doc_precondition p2 = pre ? *pre : (struct lv_doc_precondition){0};
		p2.required = false;
		st = check_pre(&p2, exists, old.etag);
		if (st != LV_OK)
			goto out;
		st = db_status(sqlite3_prepare_v2(db,
			"DELETE FROM documents WHERE provider = ? AND kind = ? AND scope = ? AND doc_id = ?",
			-1, &s, NULL));
	} else {
		st = db_status(sqlite3_prepare_v2(db,
			"DELETE FROM documents WHERE provider = ? AND kind = ? AND scope = ?", -1, &s, NULL));
	}
	if (st != LV_OK)
		goto out;
	sqlite3_bind_text(s, 1, prov->id, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 2, key->kind);
	sqlite3_bind_text(s, 3, scope.data, -1, SQLITE_STATIC);
	if (key->doc_id)
		sqlite3_bind_text(s, 4, key->doc_id, -1, SQLITE_STATIC);
	st = db_status(sqlite3_step(s));
out:
	sqlite3_finalize(s);
	lv_store_unlock(n);
	lv_document_clear(&old);
	buf_free(&scope);
	return st;
}

enum lv_status lv_document_ids(struct lv_node *n, const struct lv_principal *prov,
			       const struct lv_doc_key *key, int64_t since_ms, cJSON **ids)
{
	*ids = NULL;
	struct buf scope;
	buf_init(&scope, 65536);
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	cJSON *arr = cJSON_CreateArray();
	enum lv_status st = lv_store_lock(n);
	if (st == LV_OK)
		st = doc_target(n, key, false, &db, &scope);
	if (st == LV_ERR_NOT_FOUND) {
		st = LV_OK;
		goto out;
	}
	if (st != LV_OK)
		goto out;
	st = db_status(sqlite3_prepare_v2(db,
		"SELECT doc_id FROM documents WHERE provider = ? AND kind = ? AND scope = ? AND updated > ?"
		" ORDER BY doc_id", -1, &s, NULL));
	if (st != LV_OK)
		goto out;
	sqlite3_bind_text(s, 1, prov->id, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 2, key->kind);
	sqlite3_bind_text(s, 3, scope.data, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, since_ms);
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		cJSON_AddItemToArray(arr, cJSON_CreateString((const char *)sqlite3_column_text(s, 0)));
	st = rc == SQLITE_DONE ? LV_OK : db_status(rc);
out:
	sqlite3_finalize(s);
	lv_store_unlock(n);
	buf_free(&scope);
	if (st == LV_OK)
		*ids = arr;
	else
		cJSON_Delete(arr);
	return st;
}
