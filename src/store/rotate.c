/* Node key rotation: a new KEK re-encrypts node.db, every vault key is
 * re-wrapped under a new wrapping secret, the old node key is destroyed.
 * The new key material is written to *.next files first so that a crash
 * at any point leaves a node that lv_node_open can open (node.c). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "store.h"

static void join(char *out, size_t n, const char *dir, const char *name)
{
	snprintf(out, n, "%s/%s", dir, name);
}

/* Writes node.json.next (and node.key.next in file mode) and fills @kek. */
static enum lv_status stage_next(const char *dir, const struct lv_node_keysource *next, unsigned char *kek)
{
	char p[4096];
	char *text = NULL, *out = NULL;
	cJSON *j = NULL;
	enum lv_status st;
	join(p, sizeof p, dir, "node.json");
	st = util_read_file(p, 65536, &text, NULL);
	if (st != LV_OK)
		return st;
	j = util_json_parse(text, strlen(text));
	if (!cJSON_IsObject(j)) {
		st = LV_ERR_INVALID;
		goto out;
	}
	const char *drop[] = {"key_source", "kdf", "salt", "opslimit", "memlimit"};
	for (size_t i = 0; i < 5; i++)
		cJSON_DeleteItemFromObjectCaseSensitive(j, drop[i]);
	if (next && next->passphrase) {
		unsigned char salt[crypto_pwhash_SALTBYTES];
		char salthex[2 * sizeof salt + 1];
		randombytes_buf(salt, sizeof salt);
		sodium_bin2hex(salthex, sizeof salthex, salt, sizeof salt);
		cJSON_AddStringToObject(j, "key_source", "passphrase");
		cJSON_AddStringToObject(j, "kdf", "argon2id13");
		cJSON_AddStringToObject(j, "salt", salthex);
		cJSON_AddNumberToObject(j, "opslimit", (double)crypto_pwhash_OPSLIMIT_MODERATE);
		cJSON_AddNumberToObject(j, "memlimit", (double)crypto_pwhash_MEMLIMIT_MODERATE);
		if (crypto_pwhash(kek, KEY_LEN, next->passphrase, next->passphrase_len, salt,
				  crypto_pwhash_OPSLIMIT_MODERATE, crypto_pwhash_MEMLIMIT_MODERATE,
				  crypto_pwhash_ALG_ARGON2ID13) != 0) {
			st = LV_ERR_NOMEM;
			goto out;
		}
	} else {
		cJSON_AddStringToObject(j, "key_source", "file");
		randombytes_buf(kek, KEY_LEN);
		join(p, sizeof p, dir, "node.key.next");
		st = util_write_file(p, kek, KEY_LEN, 0600, false);
		if (st != LV_OK)
			goto out;
	}
	out = cJSON_Print(j);
	join(p, sizeof p, dir, "node.json.next");
	st = out ? util_write_file(p, out, strlen(out), 0644, false) : LV_ERR_NOMEM;
out:
	cJSON_Delete(j);
	free(text);
	free(out);
	return st;
}

/* One learner's wrapped vault key, as read before re-wrapping. */
struct wrapped_row {
	char p[LV_PSEUDONYM_LEN];
	unsigned char wrapped[WRAPPED_LEN];
};

struct wrapped_rows {
	UTIL_ARRAY(struct wrapped_row) a;
};

/* Every learner's wrapped key into @rows (the caller frees rows->a.v).
 * Read whole first: updating a WITHOUT ROWID table while a cursor walks
 * it may show that cursor a row again, already re-wrapped.  Lock held. */
static enum lv_status read_wrapped_keys(struct lv_node *n, struct wrapped_rows *rows)
{
	sqlite3_stmt *q = NULL;
	enum lv_status st = db_status(sqlite3_prepare_v2(n->db, "SELECT pseudonym, wrapped_key FROM learners", -1, &q,
							 NULL));
	int rc = SQLITE_DONE;
	while (st == LV_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (sqlite3_column_bytes(q, 1) != WRAPPED_LEN || sqlite3_column_bytes(q, 0) != LV_PSEUDONYM_LEN - 1) {
			st = LV_ERR_CRYPTO;
			break;
		}
		if (util_array_room(&rows->a, SIZE_MAX) != LV_OK) {
			st = LV_ERR_NOMEM;
			break;
		}
		struct wrapped_row *r = &rows->a.v[rows->a.n++];
		memcpy(r->p, sqlite3_column_text(q, 0), LV_PSEUDONYM_LEN);
		memcpy(r->wrapped, sqlite3_column_blob(q, 1), WRAPPED_LEN);
	}
	/* A read that stopped early must not pass for the end: the rows not
	 * read would keep a wrapping the new secret cannot open. */
	if (st == LV_OK && rc != SQLITE_DONE)
		st = db_status(rc) != LV_OK ? db_status(rc) : LV_ERR_DB;
	sqlite3_finalize(q);
	return st;
}

/* Stores each row's key wrapped under @fresh instead (@key: scratch for
 * the clear key, KEY_LEN secret bytes).  In a transaction. */
static enum lv_status rewrap_rows(struct lv_node *n, const struct wrapped_rows *rows, const unsigned char *fresh,
				  unsigned char *key)
{
	sqlite3_stmt *u = NULL;
	enum lv_status st = db_status(sqlite3_prepare_v2(n->db, "UPDATE learners SET wrapped_key = ? WHERE pseudonym = ?",
							 -1, &u, NULL));
	for (size_t i = 0; st == LV_OK && i < rows->a.n; i++) {
		const struct wrapped_row *r = &rows->a.v[i];
		unsigned char wrapped[WRAPPED_LEN];
		char ad[64];
		vault_wrap_ad(r->p, ad);
		st = key_unwrap(n->keys->vault_wrap, r->wrapped, ad, key);
		if (st == LV_OK)
			st = key_wrap(fresh, key, ad, wrapped);
		if (st != LV_OK)
			break;
		sqlite3_reset(u);
		sqlite3_bind_blob(u, 1, wrapped, WRAPPED_LEN, SQLITE_TRANSIENT);
		sqlite3_bind_text(u, 2, r->p, -1, SQLITE_STATIC);
		st = db_status(sqlite3_step(u));
	}
	sqlite3_finalize(u);
	return st;
}

/* Re-wraps every vault key under a fresh wrapping secret, in one
 * transaction with the secret itself.  Lock held. */
static enum lv_status rewrap_all(struct lv_node *n)
{
	enum lv_status st;
	struct wrapped_rows rows = {0};
	unsigned char *fresh = sodium_malloc(KEY_LEN);
	unsigned char *key = sodium_malloc(KEY_LEN);
	if (!fresh || !key) {
		st = LV_ERR_NOMEM;
		goto out;
	}
	randombytes_buf(fresh, KEY_LEN);
	struct lv_tx *tx;
	st = lv_tx_open_locked(n, &tx);
	if (st != LV_OK)
		goto out;
	st = read_wrapped_keys(n, &rows);
	if (st == LV_OK)
		st = rewrap_rows(n, &rows, fresh, key);
	if (st == LV_OK)
		st = node_meta_put(n->db, "vault_wrap_key", fresh, KEY_LEN);
	if (st == LV_OK) {
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "type", "key_rotation");
		cJSON_AddNumberToObject(e, "vault_keys_rewrapped", (double)rows.a.n);
		st = lv_tx_audit(tx, e, NULL);
	}
	st = lv_tx_close_locked(tx, st);
	if (st != LV_OK)
		goto out;
	memcpy(n->keys->vault_wrap, fresh, KEY_LEN);
out:
	free(rows.a.v);
	if (fresh)
		sodium_free(fresh);
	if (key)
		sodium_free(key);
	return st;
}

/* Overwrites a key file's bytes in place before it is replaced, so the
 * old key does not linger in the file's blocks (best effort: a
 * copy-on-write or journaling file system may keep old blocks). */
static void shred_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	unsigned char junk[KEY_LEN];
	randombytes_buf(junk, sizeof junk);
	if (write(fd, junk, sizeof junk) == (ssize_t)sizeof junk)
		fsync(fd);
	close(fd);
}

enum lv_status node_finish_rotation(const char *dir)
{
	char a[4096], b[4096];
	join(a, sizeof a, dir, "node.key.next");
	join(b, sizeof b, dir, "node.key");
	if (access(a, F_OK) == 0) {
		shred_file(b);
		if (rename(a, b) != 0)
			return LV_ERR_IO;
	} else if (access(b, F_OK) == 0) {
		/* Passphrase now: the old key file must not survive. */
		shred_file(b);
		unlink(b);
	}
	join(a, sizeof a, dir, "node.json.next");
	join(b, sizeof b, dir, "node.json");
	if (rename(a, b) != 0)
		return LV_ERR_IO;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	return LV_OK;
}

void node_discard_rotation(const char *dir)
{
	char p[4096];
	join(p, sizeof p, dir, "node.key.next");
	shred_file(p);
	unlink(p);
	join(p, sizeof p, dir, "node.json.next");
	unlink(p);
}

enum lv_status lv_node_rotate_key(const char *dir, const struct lv_node_keysource *current,
				  const struct lv_node_keysource *next)
{
	struct lv_node *n = NULL;
	struct keyring *nk = NULL;
	enum lv_status st;
	unsigned char *kek = sodium_malloc(KEY_LEN);
	if (!kek)
		return LV_ERR_NOMEM;
	/* Alone: no other process may have the node open while its key
	 * changes (LV_ERR_IN_USE, nothing changed, if one has). */
	struct lv_node_options opt = {.access = LV_NODE_OWN_VAULTS, .holder = "learnvault key rotate"};
	st = node_open(dir, current, &opt, true, &n);
	if (st != LV_OK)
		goto out;
	st = stage_next(dir, next, kek);
	if (st == LV_OK)
		st = keyring_create(kek, &nk);
	if (st != LV_OK) {
		node_discard_rotation(dir);
		goto out;
	}
	st = lv_store_lock(n);
	if (st == LV_OK)
		st = rewrap_all(n);
	if (st == LV_OK) {
		char hex[2 * KEY_LEN + 1];
		char pragma[2 * KEY_LEN + 32];
		sodium_bin2hex(hex, sizeof hex, nk->node_db, KEY_LEN);
		snprintf(pragma, sizeof pragma, "PRAGMA rekey = \"x'%s'\";", hex);
		st = db_exec(n->db, pragma);
		sodium_memzero(hex, sizeof hex);
		sodium_memzero(pragma, sizeof pragma);
		if (st == LV_OK)
			st = db_exec(n->db, "PRAGMA wal_checkpoint(TRUNCATE);");
	}
	lv_store_unlock(n);
	lv_node_close(n);
	n = NULL;
	if (st != LV_OK) {
		/* Not re-keyed: the current key still opens the node. */
		node_discard_rotation(dir);
		goto out;
	}
	st = node_finish_rotation(dir);
out:
	lv_node_close(n);
	keyring_destroy(nk);
	sodium_free(kek);
	return st;
}
