/* The vault as a portable encrypted file (include/learnvault/vault.h):
 * an SQLCipher copy under a random export key, that key wrapped under
 * Argon2id(passphrase). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "learnvault/vault.h"
#include "store.h"

#define EXPORT_PAGE 4096
#define MAGIC "LVVAULT1"
#define FORMAT_VERSION 1u
#define OFF_VERSION 8
#define OFF_PAGE 12
#define OFF_SALT 16
#define OFF_OPS 32
#define OFF_MEM 40
#define OFF_BODYLEN 48
#define OFF_HASH 56
#define OFF_NONCE 88
#define OFF_WRAPPED 112
#define AD_LEN OFF_NONCE
#define WRAP_LEN (KEY_LEN + crypto_aead_xchacha20poly1305_ietf_ABYTES)

_Static_assert(crypto_pwhash_SALTBYTES == 16, "salt field is 16 bytes");
_Static_assert(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES == 24, "nonce field is 24 bytes");
_Static_assert(OFF_WRAPPED + WRAP_LEN == LV_VAULT_HEADER_LEN, "header layout");

static void put_be(unsigned char *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}

static uint64_t get_be(const unsigned char *p, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

/* A private temporary directory (mkdtemp: 0700) and the database path in it. */
struct tmpdb {
	char dir[4096];
	char path[4200];
};

static enum lv_status tmpdb_make(const char *parent, struct tmpdb *t)
{
	t->dir[0] = t->path[0] = '\0';
	if (snprintf(t->dir, sizeof t->dir, "%s/lv-vault-export.XXXXXX", parent) >= (int)sizeof t->dir)
		return LV_ERR_INVALID;
	if (!mkdtemp(t->dir)) {
		t->dir[0] = '\0';
		return LV_ERR_IO;
	}
	snprintf(t->path, sizeof t->path, "%s/vault.db", t->dir);
	return LV_OK;
}

/* Removes the database, every side file SQLite may leave, and the directory. */
static void tmpdb_remove(struct tmpdb *t)
{
	if (!t->dir[0])
		return;
	static const char *const sfx[] = {"", "-journal", "-wal", "-shm"};
	char p[4300];
	for (size_t i = 0; i < sizeof sfx / sizeof sfx[0]; i++) {
		snprintf(p, sizeof p, "%s%s", t->path, sfx[i]);
		unlink(p);
	}
	rmdir(t->dir);
	t->dir[0] = '\0';
}

/* Copies the vault into @path under @key (caller holds node->lock).  The
 * new file is attached to the vault's own handle and filled by
 * sqlcipher_export; the page size is set right after ATTACH, before the
 * attached file is first read or written (SQLCipher 3.4.1 keeps it per
 * attached database and never in the file). */
static enum lv_status copy_vault_locked(struct lv_node *n, const char *learner, const char *path,
					const unsigned char *key)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	char *keytext = NULL;
	bool attached = false;
	enum lv_status st = vault_get(n, learner, false, &db);
	if (st != LV_OK)
		return st;
	keytext = sodium_malloc(2 * KEY_LEN + 4);
	if (!keytext)
		return LV_ERR_NOMEM;
	keytext[0] = 'x';
	keytext[1] = '\'';
	sodium_bin2hex(keytext + 2, 2 * KEY_LEN + 1, key, KEY_LEN);
	keytext[2 + 2 * KEY_LEN] = '\'';
	keytext[3 + 2 * KEY_LEN] = '\0';
	/* Bound parameters: the data directory's path needs no quoting. */
	st = db_status(sqlite3_prepare_v2(db, "ATTACH DATABASE ?1 AS export KEY ?2", -1, &s, NULL));
	if (st != LV_OK)
		goto out;
	sqlite3_bind_text(s, 1, path, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, keytext, -1, SQLITE_STATIC);
	st = db_status(sqlite3_step(s));
	sqlite3_finalize(s);
	s = NULL;
	if (st != LV_OK)
		goto out;
	attached = true;
	st = db_exec(db, "PRAGMA export.cipher_page_size = 4096;");
	if (st != LV_OK)
		goto out;
	st = db_exec(db, "SELECT sqlcipher_export('export');");
out:
	if (attached && db_exec(db, "DETACH DATABASE export;") != LV_OK && st == LV_OK)
		st = LV_ERR_DB;
	sodium_memzero(keytext, 2 * KEY_LEN + 4);
	sodium_free(keytext);
	return st;
}

/* Reads @path into a new buffer after @headroom bytes. */
static enum lv_status read_body(const char *path, size_t headroom, size_t cap, unsigned char **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	enum lv_status st = LV_ERR_IO;
	unsigned char *b = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return LV_ERR_IO;
	struct stat sb;
	if (fstat(fd, &sb) != 0 || sb.st_size <= 0)
		goto out;
	if ((uint64_t)sb.st_size > cap - headroom) {
		st = LV_ERR_TOO_LARGE;
		goto out;
	}
	size_t n = (size_t)sb.st_size, got = 0;
	b = malloc(headroom + n);
	if (!b) {
		st = LV_ERR_NOMEM;
		goto out;
	}
	while (got < n) {
		ssize_t r = read(fd, b + headroom + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			goto out;
		got += (size_t)r;
	}
	*out = b;
	*len = n;
	b = NULL;
	st = LV_OK;
out:
	free(b);
	close(fd);
	return st;
}

static enum lv_status write_all(const char *path, const unsigned char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return LV_ERR_IO;
	while (len) {
		ssize_t w = write(fd, data, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			close(fd);
			return LV_ERR_IO;
		}
		data += w;
		len -= (size_t)w;
	}
	return close(fd) == 0 ? LV_OK : LV_ERR_IO;
}

/* Argon2id(passphrase, salt) into @kek (KEY_LEN). */
static enum lv_status derive(const char *pass, size_t plen, const unsigned char *salt, uint64_t ops,
			     uint64_t mem, unsigned char *kek)
{
	if (crypto_pwhash(kek, KEY_LEN, pass, plen, salt, ops, (size_t)mem, crypto_pwhash_ALG_ARGON2ID13) != 0)
		return LV_ERR_NOMEM; /* libsodium fails here only when it cannot get the memory */
	return LV_OK;
}

enum lv_status lv_vault_export(struct lv_node *n, const char *learner, const char *pass, size_t plen,
			       unsigned char **file, size_t *file_len)
{
	*file = NULL;
	*file_len = 0;
	if (!learner || !util_pseudonym_valid(learner) || !pass || plen < LV_VAULT_PASSPHRASE_MIN ||
	    plen > LV_VAULT_PASSPHRASE_MAX)
		return LV_ERR_INVALID;
	enum lv_status st;
	struct tmpdb t = {0};
	unsigned char *out = NULL, *h;
	size_t body_len = 0;
	unsigned char *key = sodium_malloc(KEY_LEN), *kek = sodium_malloc(KEY_LEN);
	if (!key || !kek) {
		st = LV_ERR_NOMEM;
		goto out;
	}
	randombytes_buf(key, KEY_LEN);
	st = tmpdb_make(n->dir, &t);
	if (st != LV_OK)
		goto out;
	st = write_all(t.path, (const unsigned char *)"", 0); /* the file exists 0600 before SQLite opens it */
	if (st != LV_OK)
		goto out;
	st = lv_store_lock(n);
	if (st == LV_OK)
		st = copy_vault_locked(n, learner, t.path, key);
	lv_store_unlock(n);
	if (st != LV_OK)
		goto out;
	st = read_body(t.path, LV_VAULT_HEADER_LEN, LV_VAULT_FILE_MAX, &out, &body_len);
	tmpdb_remove(&t);
	if (st != LV_OK)
		goto out;

	h = out;
	memset(h, 0, LV_VAULT_HEADER_LEN);
	memcpy(h, MAGIC, 8);
	put_be(h + OFF_VERSION, FORMAT_VERSION, 4);
	put_be(h + OFF_PAGE, EXPORT_PAGE, 4);
	randombytes_buf(h + OFF_SALT, crypto_pwhash_SALTBYTES);
	put_be(h + OFF_OPS, crypto_pwhash_OPSLIMIT_MODERATE, 8);
	put_be(h + OFF_MEM, crypto_pwhash_MEMLIMIT_MODERATE, 8);
	put_be(h + OFF_BODYLEN, body_len, 8);
	crypto_generichash(h + OFF_HASH, 32, out + LV_VAULT_HEADER_LEN, body_len, NULL, 0);
	randombytes_buf(h + OFF_NONCE, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
	st = derive(pass, plen, h + OFF_SALT, crypto_pwhash_OPSLIMIT_MODERATE, crypto_pwhash_MEMLIMIT_MODERATE, kek);
	if (st != LV_OK)
		goto out;
	crypto_aead_xchacha20poly1305_ietf_encrypt(h + OFF_WRAPPED, NULL, key, KEY_LEN, h, AD_LEN, NULL,
						   h + OFF_NONCE, kek);
	*file = out;
	*file_len = LV_VAULT_HEADER_LEN + body_len;
	out = NULL;
out:
	tmpdb_remove(&t);
	free(out);
	sodium_free(key);
	sodium_free(kek);
	return st;
}

/* Reads the open copy into the result document. */
static enum lv_status read_copy(sqlite3 *db, char **json)
{
	sqlite3_stmt *s = NULL;
	enum lv_status st = LV_OK;
	int rc = SQLITE_DONE;
	cJSON *o = cJSON_CreateObject();
	cJSON *arr = cJSON_CreateArray();
	if (!o || !arr) {
		cJSON_Delete(arr);
		st = LV_ERR_NOMEM;
		goto out;
	}
	cJSON_AddStringToObject(o, "format", "learnvault-vault");
	cJSON_AddNumberToObject(o, "version", 1);
	cJSON_AddItemToObject(o, "statements", arr);
	st = db_status(sqlite3_prepare_v2(db, "SELECT body FROM statements ORDER BY seq", -1, &s, NULL));
	while (st == LV_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *body = (const char *)sqlite3_column_text(s, 0);
		cJSON *j = body ? cJSON_ParseWithLength(body, (size_t)sqlite3_column_bytes(s, 0)) : NULL;
		if (!j) {
			st = LV_ERR_INVALID;
			break;
		}
		cJSON_AddItemToArray(arr, j);
	}
	if (st == LV_OK && rc != SQLITE_DONE)
		st = db_status(rc);
	sqlite3_finalize(s);
	s = NULL;
	static const char *const counts[][2] = {
		{"documents", "SELECT count(*) FROM documents"},
		{"attachments", "SELECT count(*) FROM attachments"},
	};
	for (size_t i = 0; st == LV_OK && i < 2; i++) {
		st = db_status(sqlite3_prepare_v2(db, counts[i][1], -1, &s, NULL));
		if (st == LV_OK) {
			rc = sqlite3_step(s);
			if (rc == SQLITE_ROW)
				cJSON_AddNumberToObject(o, counts[i][0], (double)sqlite3_column_int64(s, 0));
			else
				st = db_status(rc) == LV_OK ? LV_ERR_DB : db_status(rc);
		}
		sqlite3_finalize(s);
		s = NULL;
	}
	if (st == LV_OK && !(*json = cJSON_PrintUnformatted(o)))
		st = LV_ERR_NOMEM;
out:
	cJSON_Delete(o);
	return st;
}

enum lv_status lv_vault_open_file(const unsigned char *file, size_t len, const char *pass, size_t plen,
				  char **json)
{
	*json = NULL;
	if (!file || !pass || plen == 0 || plen > LV_VAULT_PASSPHRASE_MAX || len <= LV_VAULT_HEADER_LEN ||
	    len > LV_VAULT_FILE_MAX || memcmp(file, MAGIC, 8) != 0)
		return LV_ERR_INVALID;
	uint64_t ops = get_be(file + OFF_OPS, 8), mem = get_be(file + OFF_MEM, 8);
	/* Limits come from the file: bounded so that a crafted header cannot
	 * make the derivation take unbounded time or memory. */
	if (get_be(file + OFF_VERSION, 4) != FORMAT_VERSION || get_be(file + OFF_PAGE, 4) != EXPORT_PAGE ||
	    get_be(file + OFF_BODYLEN, 8) != len - LV_VAULT_HEADER_LEN ||
	    ops < crypto_pwhash_OPSLIMIT_MIN || ops > crypto_pwhash_OPSLIMIT_SENSITIVE ||
	    mem < crypto_pwhash_MEMLIMIT_MIN || mem > crypto_pwhash_MEMLIMIT_SENSITIVE)
		return LV_ERR_INVALID;
	enum lv_status st;
	struct tmpdb t = {0};
	sqlite3 *db = NULL;
	unsigned char hash[32];
	unsigned char *key = sodium_malloc(KEY_LEN), *kek = sodium_malloc(KEY_LEN);
	if (!key || !kek) {
		st = LV_ERR_NOMEM;
		goto out;
	}
	st = derive(pass, plen, file + OFF_SALT, ops, mem, kek);
	if (st != LV_OK)
		goto out;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(key, NULL, NULL, file + OFF_WRAPPED, WRAP_LEN, file, AD_LEN,
						       file + OFF_NONCE, kek) != 0) {
		st = LV_ERR_CRYPTO;
		goto out;
	}
	crypto_generichash(hash, sizeof hash, file + LV_VAULT_HEADER_LEN, len - LV_VAULT_HEADER_LEN, NULL, 0);
	if (sodium_memcmp(hash, file + OFF_HASH, sizeof hash) != 0) {
		st = LV_ERR_CRYPTO;
		goto out;
	}
	const char *tmp = getenv("TMPDIR");
	st = tmpdb_make(tmp && *tmp ? tmp : "/tmp", &t);
	if (st == LV_OK)
		st = write_all(t.path, file + LV_VAULT_HEADER_LEN, len - LV_VAULT_HEADER_LEN);
	if (st == LV_OK)
		st = db_open(t.path, key, false, false, EXPORT_PAGE, &db);
	if (st == LV_OK)
		st = read_copy(db, json);
out:
	sqlite3_close(db);
	tmpdb_remove(&t);
	sodium_free(key);
	sodium_free(kek);
	return st;
}
