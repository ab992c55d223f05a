/* The node's audit log: rows in node.db, the Merkle tree's nodes beside
 * them (audit_tree; only its right edge in memory),
 * checkpoints signed with the node's audit key (kept inside node.db). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "learnvault/audit.h"
#include "learnvault/auditlog.h"
#include "store.h"

static enum lv_status load_key(struct lv_node *n)
{
	sqlite3_stmt *s = NULL;
	enum lv_status st = db_status(sqlite3_prepare_v2(n->db, "SELECT k, v FROM meta WHERE k IN ('audit_sk', 'audit_pk')",
							 -1, &s, NULL));
	int found = 0, rc;
	while (st == LV_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *k = (const char *)sqlite3_column_text(s, 0);
		int len = sqlite3_column_bytes(s, 1);
		if (strcmp(k, "audit_sk") == 0 && len == crypto_sign_SECRETKEYBYTES) {
			memcpy(n->audit_sk, sqlite3_column_blob(s, 1), (size_t)len);
			found |= 1;
		} else if (strcmp(k, "audit_pk") == 0 && len == crypto_sign_PUBLICKEYBYTES) {
			memcpy(n->audit_pk, sqlite3_column_blob(s, 1), (size_t)len);
			found |= 2;
		}
	}
	sqlite3_finalize(s);
	return st == LV_OK && found != 3 ? LV_ERR_CRYPTO : st;
}

/* The tree's store (struct lv_merkle_store): leaves are audit_log.leaf,
 * the nodes above them rows of audit_tree.  Lock held. */
#define TREE_KEY(level, index) ((sqlite3_int64)(((uint64_t)(level) << 56) | (index)))

static enum lv_status tree_get(void *ctx, unsigned level, uint64_t index, unsigned char out[LV_MERKLE_HASH_LEN])
{
	struct lv_node *n = ctx;
	sqlite3_stmt **s = level ? &n->audit_node_get : &n->audit_leaf_get;
	enum lv_status st = LV_OK;
	if (!*s)
		st = db_status(sqlite3_prepare_v2(n->db, level ? "SELECT hash FROM audit_tree WHERE id = ?"
							      : "SELECT leaf FROM audit_log WHERE idx = ?", -1, s, NULL));
	if (st != LV_OK)
		return st;
	sqlite3_bind_int64(*s, 1, level ? TREE_KEY(level, index) : (sqlite3_int64)index);
	int rc = sqlite3_step(*s);
	/* A node missing or malformed: the log was tampered with. */
	if (rc == SQLITE_ROW && sqlite3_column_bytes(*s, 0) == LV_MERKLE_HASH_LEN)
		memcpy(out, sqlite3_column_blob(*s, 0), LV_MERKLE_HASH_LEN);
	else
		st = rc == SQLITE_ROW || rc == SQLITE_DONE ? LV_ERR_CRYPTO : db_status(rc);
	sqlite3_reset(*s);
	return st;
}

static enum lv_status tree_put(void *ctx, unsigned level, uint64_t index, const unsigned char hash[LV_MERKLE_HASH_LEN])
{
	struct lv_node *n = ctx;
	if (level == 0) /* the entry's row holds it */
		return LV_OK;
	enum lv_status st = LV_OK;
	if (!n->audit_node_put)
		st = db_status(sqlite3_prepare_v2(n->db, "INSERT INTO audit_tree(id, hash) VALUES(?, ?)", -1,
						  &n->audit_node_put, NULL));
	if (st != LV_OK)
		return st;
	sqlite3_bind_int64(n->audit_node_put, 1, TREE_KEY(level, index));
	sqlite3_bind_blob(n->audit_node_put, 2, hash, LV_MERKLE_HASH_LEN, SQLITE_STATIC);
	st = db_status(sqlite3_step(n->audit_node_put));
	sqlite3_reset(n->audit_node_put);
	return st;
}

/* The number of entries in audit_log (its indexes run 0, 1, 2, ...). */
static enum lv_status log_size(struct lv_node *n, uint64_t *size)
{
	sqlite3_stmt *s = NULL;
	*size = 0;
	enum lv_status st = db_status(sqlite3_prepare_v2(n->db, "SELECT max(idx) FROM audit_log", -1, &s, NULL));
	if (st == LV_OK && sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL)
		*size = (uint64_t)sqlite3_column_int64(s, 0) + 1;
	sqlite3_finalize(s);
	return st;
}

/* A node whose log predates audit_tree: its nodes are computed once, from
 * the leaves in order, in one transaction that also marks the table
 * complete (meta audit_tree); any process opening the node does this
 * under the write lock, and only the first finds it to do. */
static enum lv_status tree_migrate(struct lv_node *n)
{
	sqlite3_stmt *s = NULL;
	struct lv_merkle *m = NULL;
	uint64_t size = 0;
	struct lv_merkle_store store = {tree_get, tree_put, n};
	enum lv_status st = db_exec(n->db, "BEGIN IMMEDIATE");
	if (st != LV_OK)
		return st;
	st = db_status(sqlite3_prepare_v2(n->db, "SELECT 1 FROM meta WHERE k = 'audit_tree'", -1, &s, NULL));
	bool done = st == LV_OK && sqlite3_step(s) == SQLITE_ROW;
	sqlite3_finalize(s);
	s = NULL;
	if (st != LV_OK || done)
		goto out;
	st = db_exec(n->db, "DELETE FROM audit_tree");
	if (st == LV_OK)
		st = lv_merkle_create_stored(&store, 0, &m);
	if (st == LV_OK)
		st = db_status(sqlite3_prepare_v2(n->db, "SELECT idx, leaf FROM audit_log ORDER BY idx", -1, &s, NULL));
	int rc = SQLITE_DONE;
	while (st == LV_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		/* The stored index must run 0, 1, 2, ...: a gap is a tampered log. */
		if ((uint64_t)sqlite3_column_int64(s, 0) != size || sqlite3_column_bytes(s, 1) != LV_MERKLE_HASH_LEN)
			st = LV_ERR_CRYPTO;
		else
			st = lv_merkle_append_leaf(m, sqlite3_column_blob(s, 1), NULL);
		size++;
	}
	if (st == LV_OK && rc != SQLITE_DONE)
		st = db_status(rc);
	sqlite3_finalize(s);
	if (st == LV_OK)
		st = node_meta_put(n->db, "audit_tree", "1", 1);
out:
	lv_merkle_destroy(m);
	if (st == LV_OK)
		st = db_exec(n->db, "COMMIT");
	if (st != LV_OK)
		if (db_exec(n->db, "ROLLBACK") != LV_OK) { /* none open: BEGIN failed */ }
	return st;
}

enum lv_status auditlog_open(struct lv_node *n)
{
	n->audit_sk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
	if (!n->audit_sk)
		return LV_ERR_NOMEM;
	enum lv_status st = load_key(n);
	if (st == LV_OK)
		st = tree_migrate(n);
	if (st == LV_OK)
		st = auditlog_refresh_locked(n);
	return st;
}

/* n->audit_last_ms from entry @idx's time.  An entry whose time cannot be
 * read leaves it as it was: the tree (and the verifier) answer for the
 * entry's bytes; here only a floor for the next entry's time is wanted. */
static enum lv_status last_time_read(struct lv_node *n, uint64_t idx)
{
	sqlite3_stmt *s = NULL;
	enum lv_status st = db_status(sqlite3_prepare_v2(n->db, "SELECT entry FROM audit_log WHERE idx = ?", -1, &s, NULL));
	if (st != LV_OK)
		return st;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)idx);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		const char *text = (const char *)sqlite3_column_text(s, 0);
		cJSON *e = text ? cJSON_Parse(text) : NULL;
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(e, "time");
		int64_t ms;
		if (cJSON_IsString(t) && util_time_parse(t->valuestring, &ms) && ms > n->audit_last_ms)
			n->audit_last_ms = ms;
		cJSON_Delete(e);
	} else if (rc != SQLITE_DONE) {
		st = db_status(rc);
	}
	sqlite3_finalize(s);
	return st;
}

enum lv_status auditlog_refresh_locked(struct lv_node *n)
{
	uint64_t from = lv_merkle_size(n->audit), size = 0;
	struct lv_merkle_store store = {tree_get, tree_put, n};
	struct lv_merkle *m = NULL;
	enum lv_status st = log_size(n, &size);
	if (st != LV_OK || (n->audit && size == from))
		return st;
	/* The log only grows: a shorter one was tampered with. */
	if (size < from)
		return LV_ERR_CRYPTO;
	st = lv_merkle_create_stored(&store, size, &m);
	if (st != LV_OK)
		return st;
	lv_merkle_destroy(n->audit);
	n->audit = m;
	/* Another process (or an earlier run) wrote entries: the next one
	 * this process writes must not be older than the last of them. */
	if (size > from)
		st = last_time_read(n, size - 1);
	return st;
}

void auditlog_close(struct lv_node *n)
{
	lv_merkle_destroy(n->audit);
	lv_merkle_destroy(n->audit_tx);
	n->audit = n->audit_tx = NULL;
	sqlite3_stmt **stmts[] = {&n->audit_ins, &n->audit_leaf_get, &n->audit_node_get, &n->audit_node_put};
	for (size_t i = 0; i < sizeof stmts / sizeof *stmts; i++) {
		sqlite3_finalize(*stmts[i]);
		*stmts[i] = NULL;
	}
	n->audit_npending = 0;
	if (n->audit_sk)
		sodium_free(n->audit_sk);
	n->audit_sk = NULL;
}

enum lv_status auditlog_append_locked(struct lv_node *n, cJSON *entry, uint64_t *out_index)
{
	enum lv_status st = LV_OK;
	if (out_index)
		*out_index = 0;
	char *text = NULL;
	sqlite3_stmt *s = NULL;
	/* The transaction appends to its own copy of the tree, kept only if
	 * it commits (auditlog_tx_done); the copy's nodes go to audit_tree in
	 * the same transaction as the entries. */
	if (n->audit_npending >= AUDIT_PENDING_MAX)
		st = LV_ERR_TOO_LARGE;
	else if (!n->audit_tx)
		st = lv_merkle_copy(n->audit, &n->audit_tx);
	if (st != LV_OK) {
		cJSON_Delete(entry);
		return st;
	}
	uint64_t index = lv_merkle_size(n->audit_tx);
	/* Entry times never go backwards (a clock stepped back, or another
	 * process whose clock runs behind): max(now, the last entry's time). */
	int64_t last = n->audit_npending ? n->audit_pending_last_ms : n->audit_last_ms;
	int64_t now = util_now_ms();
	if (now < last)
		now = last;
	char t[UTIL_TIME_LEN];
	util_time_format(now, t);
	/* index and time first, then the event's own fields: one fixed order,
	 * since the entry's bytes are what the tree commits to. */
	cJSON *full = cJSON_CreateObject();
	cJSON_AddNumberToObject(full, "index", (double)index);
	cJSON_AddStringToObject(full, "time", t);
	cJSON *it = entry ? entry->child : NULL;
	while (it) {
		cJSON *next = it->next;
		cJSON_AddItemToObject(full, it->string, cJSON_DetachItemViaPointer(entry, it));
		it = next;
	}
	cJSON_Delete(entry);
	const cJSON *sj = cJSON_GetObjectItemCaseSensitive(full, "learner");
	char subject[LV_PSEUDONYM_LEN] = "";
	if (cJSON_IsString(sj))
		snprintf(subject, sizeof subject, "%s", sj->valuestring);
	text = cJSON_PrintUnformatted(full);
	cJSON_Delete(full);
	if (!text)
		return LV_ERR_NOMEM;
	unsigned char leaf[LV_MERKLE_HASH_LEN];
	lv_merkle_hash_leaf(text, strlen(text), leaf);
	/* Prepared once: the aggregate door appends one entry per learner. */
	if (!n->audit_ins)
		st = db_status(sqlite3_prepare_v2(n->db, "INSERT INTO audit_log(idx, entry, leaf, subject) VALUES(?, ?, ?, ?)",
						  -1, &n->audit_ins, NULL));
	s = n->audit_ins;
	if (st == LV_OK) {
		sqlite3_bind_int64(s, 1, (sqlite3_int64)index);
		sqlite3_bind_text(s, 2, text, -1, SQLITE_STATIC);
		sqlite3_bind_blob(s, 3, leaf, sizeof leaf, SQLITE_STATIC);
		/* Indexed by learner pseudonym, for the learner's access report. */
		if (subject[0])
			sqlite3_bind_text(s, 4, subject, -1, SQLITE_TRANSIENT);
		st = db_status(sqlite3_step(s));
		sqlite3_reset(s);
		sqlite3_clear_bindings(s);
	}
	free(text);
	if (st == LV_OK)
		st = lv_merkle_append_leaf(n->audit_tx, leaf, NULL);
	if (st == LV_OK) {
		n->audit_npending++;
		n->audit_pending_last_ms = now;
		if (out_index)
			*out_index = index;
	}
	return st;
}

void auditlog_tx_done(struct lv_node *n, bool committed)
{
	if (committed && n->audit_tx) {
		n->audit_last_ms = n->audit_pending_last_ms;
		lv_merkle_destroy(n->audit);
		n->audit = n->audit_tx;
	} else {
		lv_merkle_destroy(n->audit_tx);
	}
	n->audit_tx = NULL;
	n->audit_npending = 0;
}

enum lv_status lv_audit_vkey(struct lv_node *n, char **vkey)
{
	return lv_note_vkey(n->origin, n->audit_pk, vkey);
}

enum lv_status lv_store_release_receipt_sign_locked(struct lv_node *n, struct lv_release_receipt *r, char **note)
{
	size_t len = 0;
	*note = NULL;
	snprintf(r->origin, sizeof r->origin, "%s", n->origin);
	return lv_release_receipt_sign(r, n->audit_sk, note, &len);
}

uint64_t lv_audit_size(struct lv_node *n)
{
	uint64_t size = 0;
	if (lv_store_lock(n) == LV_OK)
		size = lv_merkle_size(n->audit);
	lv_store_unlock(n);
	return size;
}

static enum lv_status checkpoint_locked(struct lv_node *n, char **note)
{
	*note = NULL;
	sqlite3_stmt *s = NULL;
	enum lv_status st;
	uint64_t size = lv_merkle_size(n->audit);
	unsigned char root[LV_MERKLE_HASH_LEN];
	char *vkey = NULL;
	/* Never sign a history that disagrees with what was signed before. */
	st = db_status(sqlite3_prepare_v2(n->db, "SELECT size, note FROM audit_checkpoints ORDER BY size DESC LIMIT 1",
					  -1, &s, NULL));
	if (st != LV_OK)
		return st;
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		const char *prev = (const char *)sqlite3_column_text(s, 1);
		struct lv_checkpoint cp;
		st = lv_audit_vkey(n, &vkey);
		if (st == LV_OK)
			st = lv_checkpoint_open(prev, strlen(prev), vkey, n->origin, &cp);
		if (st == LV_OK && cp.size > size)
			st = LV_ERR_CRYPTO;
		if (st == LV_OK)
			st = lv_merkle_root_at(n->audit, cp.size, root);
		if (st == LV_OK && sodium_memcmp(root, cp.root, sizeof root) != 0)
			st = LV_ERR_CRYPTO;
		if (st == LV_OK && cp.size == size) {
			*note = strdup(prev);
			st = *note ? LV_OK : LV_ERR_NOMEM;
			sqlite3_finalize(s);
			free(vkey);
			return st;
		}
	} else if (rc != SQLITE_DONE) {
		st = db_status(rc);
	}
	sqlite3_finalize(s);
	s = NULL;
	free(vkey);
	if (st != LV_OK)
		return st;
	size_t len = 0;
	st = lv_merkle_root_at(n->audit, size, root);
	if (st == LV_OK)
		st = lv_checkpoint_sign(n->origin, size, root, n->audit_sk, note, &len);
	if (st != LV_OK)
		return st;
	st = db_status(sqlite3_prepare_v2(n->db, "INSERT OR REPLACE INTO audit_checkpoints(size, note) VALUES(?, ?)",
					  -1, &s, NULL));
	if (st == LV_OK) {
		sqlite3_bind_int64(s, 1, (sqlite3_int64)size);
		sqlite3_bind_text(s, 2, *note, (int)len, SQLITE_STATIC);
		st = db_status(sqlite3_step(s));
	}
	sqlite3_finalize(s);
	if (st != LV_OK) {
		free(*note);
		*note = NULL;
	}
	return st;
}

enum lv_status lv_audit_checkpoint(struct lv_node *n, char **note)
{
	*note = NULL;
	enum lv_status st = lv_store_lock(n);
	if (st != LV_OK) {
		lv_store_unlock(n);
		return st;
	}
	st = checkpoint_locked(n, note);
	lv_store_unlock(n);
	return st;
}

enum lv_status lv_audit_entries(struct lv_node *n, uint64_t start, uint64_t end, cJSON **entries)
{
	*entries = NULL;
	sqlite3_stmt *s = NULL;
	enum lv_status st = lv_store_lock(n);
	if (st != LV_OK) {
		lv_store_unlock(n);
		return st;
	}
	uint64_t size = lv_merkle_size(n->audit);
	st = start > end || end > size || end - start > LV_AUDIT_PAGE_MAX ? LV_ERR_INVALID : LV_OK;
	cJSON *arr = cJSON_CreateArray();
	if (st == LV_OK)
		st = db_status(sqlite3_prepare_v2(n->db, "SELECT entry FROM audit_log WHERE idx >= ? AND idx < ? ORDER BY idx",
						  -1, &s, NULL));
	if (st == LV_OK) {
		sqlite3_bind_int64(s, 1, (sqlite3_int64)start);
		sqlite3_bind_int64(s, 2, (sqlite3_int64)end);
		int rc;
		while ((rc = sqlite3_step(s)) == SQLITE_ROW)
			cJSON_AddItemToArray(arr, cJSON_CreateString((const char *)sqlite3_column_text(s, 0)));
		if (rc != SQLITE_DONE)
			st = db_status(rc);
	}
	sqlite3_finalize(s);
	lv_store_unlock(n);
	if (st == LV_OK)
		*entries = arr;
	else
		cJSON_Delete(arr);
	return st;
}

static cJSON *b64(const unsigned char *h)
{
	char out[sodium_base64_ENCODED_LEN(LV_MERKLE_HASH_LEN, sodium_base64_VARIANT_ORIGINAL)];
	sodium_bin2base64(out, sizeof out, h, LV_MERKLE_HASH_LEN, sodium_base64_VARIANT_ORIGINAL);
	return cJSON_CreateString(out);
}

static cJSON *proof_json(const struct lv_merkle_proof *p)
{
	cJSON *arr = cJSON_CreateArray();
	for (size_t i = 0; i < p->len; i++)
		cJSON_AddItemToArray(arr, b64(p->hash[i]));
	return arr;
}

enum lv_status lv_audit_inclusion(struct lv_node *n, uint64_t index, uint64_t size, cJSON **out)
{
	*out = NULL;
	struct lv_merkle_proof p;
	unsigned char root[LV_MERKLE_HASH_LEN], leaf[LV_MERKLE_HASH_LEN];
	enum lv_status st = store_lock_log_size(n, size);
	if (st != LV_OK) {
		lv_store_unlock(n);
		return st;
	}
	st = lv_merkle_inclusion_proof(n->audit, index, size, &p);
	if (st == LV_OK)
		st = lv_merkle_root_at(n->audit, size, root);
	if (st == LV_OK)
		st = lv_merkle_leaf_hash(n->audit, index, leaf);
	/* The nodes are not recomputed from the leaves: a proof that does not
	 * hold (a row rewritten in node.db) is not served. */
	if (st == LV_OK)
		st = lv_merkle_verify_inclusion(index, size, leaf, &p, root);
	lv_store_unlock(n);
	if (st != LV_OK)
		return st;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "index", (double)index);
	cJSON_AddNumberToObject(o, "size", (double)size);
	cJSON_AddItemToObject(o, "root", b64(root));
	cJSON_AddItemToObject(o, "leaf", b64(leaf));
	cJSON_AddItemToObject(o, "proof", proof_json(&p));
	*out = o;
	return LV_OK;
}

enum lv_status lv_audit_consistency(struct lv_node *n, uint64_t first, uint64_t second, cJSON **out)
{
	*out = NULL;
	struct lv_merkle_proof p;
	unsigned char r1[LV_MERKLE_HASH_LEN], r2[LV_MERKLE_HASH_LEN];
	enum lv_status st = store_lock_log_size(n, second);
	if (st != LV_OK) {
		lv_store_unlock(n);
		return st;
	}
	st = lv_merkle_consistency_proof(n->audit, first, second, &p);
	if (st == LV_OK)
		st = lv_merkle_root_at(n->audit, first, r1);
	if (st == LV_OK)
		st = lv_merkle_root_at(n->audit, second, r2);
	lv_store_unlock(n);
	if (st != LV_OK)
		return st;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "first", (double)first);
	cJSON_AddNumberToObject(o, "second", (double)second);
	cJSON_AddItemToObject(o, "first_root", b64(r1));
	cJSON_AddItemToObject(o, "second_root", b64(r2));
	cJSON_AddItemToObject(o, "proof", proof_json(&p));
	*out = o;
	return LV_OK;
}

static enum lv_status no_get(void *ctx, unsigned level, uint64_t index, unsigned char out[LV_MERKLE_HASH_LEN])
{
	(void)ctx, (void)level, (void)index, (void)out;
	return LV_ERR_INVALID;
}

static enum lv_status no_put(void *ctx, unsigned level, uint64_t index, const unsigned char hash[LV_MERKLE_HASH_LEN])
{
	(void)ctx, (void)level, (void)index, (void)hash;
	return LV_OK;
}

/* Every entry's text into @arr, in order.  The tree's nodes are not read
 * back from the entries when they are served, so here, where all of them
 * pass, their root is recomputed (right edge only: a stored tree without
 * a store) and must be the root the node signs: an entry rewritten in
 * node.db, or a row deleted, is refused here rather than exported for
 * the auditor to find.  Lock held. */
static enum lv_status export_entries_locked(struct lv_node *n, cJSON *arr)
{
	static const struct lv_merkle_store edge_only = {no_get, no_put, NULL};
	struct lv_merkle *m = NULL;
	sqlite3_stmt *s = NULL;
	unsigned char leaf[LV_MERKLE_HASH_LEN], want[LV_MERKLE_HASH_LEN], got[LV_MERKLE_HASH_LEN];
	uint64_t size = lv_merkle_size(n->audit);
	enum lv_status st = lv_merkle_create_stored(&edge_only, 0, &m);
	if (st == LV_OK)
		st = db_status(sqlite3_prepare_v2(n->db, "SELECT entry FROM audit_log WHERE idx < ? ORDER BY idx", -1, &s, NULL));
	if (st == LV_OK)
		sqlite3_bind_int64(s, 1, (sqlite3_int64)size);
	int rc = SQLITE_DONE;
	while (st == LV_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *text = (const char *)sqlite3_column_text(s, 0);
		lv_merkle_hash_leaf(text, strlen(text), leaf);
		st = lv_merkle_append_leaf(m, leaf, NULL);
		cJSON_AddItemToArray(arr, cJSON_CreateString(text));
	}
	if (st == LV_OK && rc != SQLITE_DONE)
		st = db_status(rc);
	sqlite3_finalize(s);
	if (st == LV_OK && lv_merkle_size(m) != size)
		st = LV_ERR_CRYPTO;
	if (st == LV_OK)
		st = lv_merkle_root_at(n->audit, size, want);
	if (st == LV_OK)
		st = lv_merkle_root_at(m, size, got);
	if (st == LV_OK && sodium_memcmp(want, got, sizeof want) != 0)
		st = LV_ERR_CRYPTO;
	lv_merkle_destroy(m);
	return st;
}

enum lv_status lv_audit_export(struct lv_node *n, char **json)
{
	*json = NULL;
	char *note = NULL, *vkey = NULL;
	sqlite3_stmt *s = NULL;
	cJSON *o = NULL;
	enum lv_status st = lv_store_lock(n);
	if (st != LV_OK) {
		lv_store_unlock(n);
		return st;
	}
	st = checkpoint_locked(n, &note);
	if (st == LV_OK)
		st = lv_audit_vkey(n, &vkey);
	if (st == LV_OK) {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "format", "learnvault-audit-log");
		cJSON_AddNumberToObject(o, "version", 1);
		cJSON_AddStringToObject(o, "vkey", vkey);
		cJSON_AddStringToObject(o, "checkpoint", note);
		/* The policy texts the log's hashes refer to, so the verifier can
		 * check each access's scope offline. */
		cJSON *pols = cJSON_AddArrayToObject(o, "policies");
		st = db_status(sqlite3_prepare_v2(n->db, "SELECT text FROM policies ORDER BY id, version", -1, &s, NULL));
		int prc;
		while (st == LV_OK && (prc = sqlite3_step(s)) == SQLITE_ROW)
			cJSON_AddItemToArray(pols, cJSON_CreateString((const char *)sqlite3_column_text(s, 0)));
		sqlite3_finalize(s);
		s = NULL;
		if (st == LV_OK)
			st = export_entries_locked(n, cJSON_AddArrayToObject(o, "entries"));
	}
	sqlite3_finalize(s);
	lv_store_unlock(n);
	if (st == LV_OK) {
		*json = cJSON_Print(o);
		if (!*json)
			st = LV_ERR_NOMEM;
	}
	cJSON_Delete(o);
	free(note);
	free(vkey);
	return st;
}

/* Appends {"index","entry","proof"} for entry @idx (text @text) in the
 * tree of @size entries to @arr.  Lock held. */
static enum lv_status report_item(struct lv_node *n, uint64_t idx, const char *text, uint64_t size,
				  const unsigned char root[LV_MERKLE_HASH_LEN], cJSON *arr)
{
	struct lv_merkle_proof p;
	unsigned char leaf[LV_MERKLE_HASH_LEN];
	enum lv_status st = lv_merkle_inclusion_proof(n->audit, idx, size, &p);
	/* As in lv_audit_inclusion: only a proof that holds for this text. */
	lv_merkle_hash_leaf(text, strlen(text), leaf);
	if (st == LV_OK)
		st = lv_merkle_verify_inclusion(idx, size, leaf, &p, root);
	if (st != LV_OK)
		return st;
	cJSON *e = cJSON_CreateObject();
	cJSON_AddNumberToObject(e, "index", (double)idx);
	cJSON_AddStringToObject(e, "entry", text);
	cJSON_AddItemToObject(e, "proof", proof_json(&p));
	cJSON_AddItemToArray(arr, e);
	return LV_OK;
}

/* @j's member @name if it is the string @want. */
static bool member_is(const cJSON *j, const char *name, const char *want)
{
	const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, name));
	return v && strcmp(v, want) == 0;
}

/* The release an aggregate access entry (index @idx, text @text) belongs
 * to, added to @arr.  A release's access entries and its release entry
 * are written in one transaction, the release last, and only entries
 * about a learner (subject set) come between them; so the release is the
 * first entry about no learner after @idx, found through the partial
 * index audit_log_unsubjected in one step (@next binds @idx): the report
 * stays proportional to the entries about the learner.  That entry is
 * taken only if it is a release with the access's query id.  *@last: the
 * release added last (one learner has one access per release). */
static enum lv_status report_release(struct lv_node *n, sqlite3_stmt *next, uint64_t idx, const char *text,
				     uint64_t size, const unsigned char *root, cJSON *arr, uint64_t *last)
{
	if (!strstr(text, "\"query_id\""))
		return LV_OK;
	cJSON *a = cJSON_Parse(text), *r = NULL;
	const cJSON *qid = cJSON_GetObjectItemCaseSensitive(a, "query_id");
	enum lv_status st = LV_OK;
	if (!member_is(a, "type", "access") || !member_is(a, "resource", "aggregate") || !cJSON_IsString(qid))
		goto out;
	sqlite3_bind_int64(next, 1, (sqlite3_int64)idx);
	int rc = sqlite3_step(next);
	if (rc == SQLITE_ROW) {
		uint64_t ridx = (uint64_t)sqlite3_column_int64(next, 0);
		const char *rtext = (const char *)sqlite3_column_text(next, 1);
		r = cJSON_Parse(rtext);
		if (ridx < size && ridx != *last && member_is(r, "type", "release") &&
		    member_is(r, "query_id", qid->valuestring)) {
			st = report_item(n, ridx, rtext, size, root, arr);
			*last = ridx;
		}
	} else if (rc != SQLITE_DONE) {
		st = db_status(rc);
	}
	sqlite3_reset(next);
out:
	cJSON_Delete(a);
	cJSON_Delete(r);
	return st;
}

/* The entries about @learner into o.entries, and the releases they were
 * included in into o.releases (report_release).  Lock held. */
static enum lv_status report_entries_locked(struct lv_node *n, const char *learner, uint64_t size,
					    const unsigned char *root, cJSON *o)
{
	sqlite3_stmt *s = NULL, *next = NULL;
	cJSON *arr = cJSON_AddArrayToObject(o, "entries"), *rels = cJSON_AddArrayToObject(o, "releases");
	uint64_t last = UINT64_MAX;
	int rc = SQLITE_DONE;
	enum lv_status st = db_status(sqlite3_prepare_v2(n->db, "SELECT idx, entry FROM audit_log WHERE subject = ? ORDER BY idx",
							 -1, &s, NULL));
	if (st == LV_OK)
		st = db_status(sqlite3_prepare_v2(n->db, "SELECT idx, entry FROM audit_log INDEXED BY audit_log_unsubjected"
						  " WHERE subject IS NULL AND idx > ? ORDER BY idx LIMIT 1", -1, &next, NULL));
	if (st == LV_OK)
		sqlite3_bind_text(s, 1, learner, -1, SQLITE_STATIC);
	while (st == LV_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		uint64_t idx = (uint64_t)sqlite3_column_int64(s, 0);
		const char *text = (const char *)sqlite3_column_text(s, 1);
		if (idx >= size)
			continue;
		st = report_item(n, idx, text, size, root, arr);
		if (st == LV_OK)
			st = report_release(n, next, idx, text, size, root, rels, &last);
	}
	if (st == LV_OK && rc != SQLITE_DONE)
		st = db_status(rc);
	sqlite3_finalize(s);
	sqlite3_finalize(next);
	return st;
}

enum lv_status lv_audit_report(struct lv_node *n, const char *learner, cJSON **out)
{
	*out = NULL;
	char *note = NULL;
	cJSON *o = NULL;
	unsigned char root[LV_MERKLE_HASH_LEN];
	enum lv_status st = lv_store_lock(n);
	if (st != LV_OK) {
		lv_store_unlock(n);
		return st;
	}
	/* Proofs are against a checkpoint the node has signed. */
	st = checkpoint_locked(n, &note);
	uint64_t size = lv_merkle_size(n->audit);
	if (st == LV_OK) {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "learner", learner);
		cJSON_AddStringToObject(o, "checkpoint", note);
		st = lv_merkle_root_at(n->audit, size, root);
		if (st == LV_OK)
			st = report_entries_locked(n, learner, size, root, o);
	}
	lv_store_unlock(n);
	free(note);
	if (st == LV_OK)
		*out = o;
	else
		cJSON_Delete(o);
	return st;
}
