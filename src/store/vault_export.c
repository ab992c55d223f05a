/* The vault as a portable encrypted file (include/learnvault/vault.h):
 * an SQLCipher copy under a random export key, that key wrapped under
 * Argon2id(passphrase). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
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

struct lv_vault_file {
	unsigned char header[LV_VAULT_HEADER_LEN];
	int fd;                   /* the body: an unlinked temporary file */
	uint64_t body_len;
};

void lv_vault_file_destroy(struct lv_vault_file *f)
{
	if (!f)
		return;
	if (f->fd >= 0)
		close(f->fd);
	free(f);
}

uint64_t lv_vault_file_size(const struct lv_vault_file *f)
{
	return LV_VAULT_HEADER_LEN + f->body_len;
}

enum lv_status lv_vault_file_read(struct lv_vault_file *f, uint64_t pos, void *buf, size_t max, size_t *got)
{
	unsigned char *out = buf;
	size_t n = 0;
	*got = 0;
	if (pos < LV_VAULT_HEADER_LEN && max) {
		n = LV_VAULT_HEADER_LEN - (size_t)pos < max ? LV_VAULT_HEADER_LEN - (size_t)pos : max;
		memcpy(out, f->header + pos, n);
	}
	while (n < max && pos + n < lv_vault_file_size(f)) {
		ssize_t r = pread(f->fd, out + n, max - n, (off_t)(pos + n - LV_VAULT_HEADER_LEN));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return LV_ERR_IO;
		n += (size_t)r;
	}
	*got = n;
	return LV_OK;
}

/* Opens the copy at @path for @f (then it may go) with its length and
 * BLAKE2b hash, read in blocks. */
static enum lv_status body_open(const char *path, struct lv_vault_file *f, unsigned char hash[32])
{
	crypto_generichash_state hs;
	unsigned char blk[65536];
	struct stat sb;
	f->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0)
		return LV_ERR_IO;
	if (fstat(f->fd, &sb) != 0 || sb.st_size <= 0)
		return LV_ERR_IO;
	if ((uint64_t)sb.st_size > LV_VAULT_FILE_MAX - LV_VAULT_HEADER_LEN)
		return LV_ERR_TOO_LARGE;
	f->body_len = (uint64_t)sb.st_size;
	crypto_generichash_init(&hs, NULL, 0, 32);
	for (uint64_t done = 0; done < f->body_len;) {
		ssize_t r = pread(f->fd, blk, sizeof blk, (off_t)done);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return LV_ERR_IO;
		crypto_generichash_update(&hs, blk, (unsigned long long)r);
		done += (uint64_t)r;
	}
	crypto_generichash_final(&hs, hash, 32);
	return LV_OK;
}

/* One Argon2id derivation at a time in this process: each holds about
 * 256 MiB while it runs (four concurrent exports peaked at 601 MB). */
static pthread_mutex_t derive_mu = PTHREAD_MUTEX_INITIALIZER;

/* The header of @f for body hash @hash: the export @key wrapped under
 * Argon2id(@pass). */
static enum lv_status header_seal(struct lv_vault_file *f, const unsigned char hash[32], const char *pass,
				  size_t plen, const unsigned char *key)
{
	unsigned char *h = f->header;
	unsigned char *kek = sodium_malloc(KEY_LEN);
	if (!kek)
		return LV_ERR_NOMEM;
	memset(h, 0, LV_VAULT_HEADER_LEN);
	memcpy(h, MAGIC, 8);
	put_be(h + OFF_VERSION, FORMAT_VERSION, 4);
	put_be(h + OFF_PAGE, EXPORT_PAGE, 4);
	randombytes_buf(h + OFF_SALT, crypto_pwhash_SALTBYTES);
	put_be(h + OFF_OPS, crypto_pwhash_OPSLIMIT_MODERATE, 8);
	put_be(h + OFF_MEM, crypto_pwhash_MEMLIMIT_MODERATE, 8);
	put_be(h + OFF_BODYLEN, f->body_len, 8);
	memcpy(h + OFF_HASH, hash, 32);
	randombytes_buf(h + OFF_NONCE, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
	pthread_mutex_lock(&derive_mu);
	enum lv_status st = derive(pass, plen, h + OFF_SALT, crypto_pwhash_OPSLIMIT_MODERATE,
				   crypto_pwhash_MEMLIMIT_MODERATE, kek);
	pthread_mutex_unlock(&derive_mu);
	if (st == LV_OK)
		crypto_aead_xchacha20poly1305_ietf_encrypt(h + OFF_WRAPPED, NULL, key, KEY_LEN, h, AD_LEN, NULL,
							   h + OFF_NONCE, kek);
	sodium_free(kek);
	return st;
}

enum lv_status lv_vault_export_file(struct lv_node *n, const char *learner, const char *pass, size_t plen,
				    struct lv_vault_file **out)
{
	*out = NULL;
	if (!learner || !util_pseudonym_valid(learner) || !pass || plen < LV_VAULT_PASSPHRASE_MIN ||
	    plen > LV_VAULT_PASSPHRASE_MAX)
		return LV_ERR_INVALID;
	enum lv_status st;
	struct tmpdb t = {0};
	unsigned char hash[32];
	unsigned char *key = sodium_malloc(KEY_LEN);
	struct lv_vault_file *f = calloc(1, sizeof *f);
	if (!key || !f) {
		st = LV_ERR_NOMEM;
		goto out;
	}
	f->fd = -1;
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
	if (st == LV_OK)
		st = body_open(t.path, f, hash);
	tmpdb_remove(&t);
	if (st == LV_OK)
		st = header_seal(f, hash, pass, plen, key);
out:
	tmpdb_remove(&t);
	if (key)
		sodium_free(key);
	if (st == LV_OK)
		*out = f;
	else
		lv_vault_file_destroy(f);
	return st;
}

enum lv_status lv_vault_file_read_all(struct lv_vault_file *f, unsigned char **file, size_t *file_len)
{
	*file = NULL;
	*file_len = 0;
	size_t len = (size_t)lv_vault_file_size(f), got = 0;
	unsigned char *b = malloc(len);
	enum lv_status st = b ? lv_vault_file_read(f, 0, b, len, &got) : LV_ERR_NOMEM;
	if (st == LV_OK && got != len)
		st = LV_ERR_IO;
	if (st != LV_OK) {
		free(b);
		return st;
	}
	*file = b;
	*file_len = len;
	return LV_OK;
}

enum lv_status lv_vault_export(struct lv_node *n, const char *learner, const char *pass, size_t plen,
			       unsigned char **file, size_t *file_len)
{
	*file = NULL;
	*file_len = 0;
	struct lv_vault_file *f = NULL;
	enum lv_status st = lv_vault_export_file(n, learner, pass, plen, &f);
	if (st == LV_OK)
		st = lv_vault_file_read_all(f, file, file_len);
	lv_vault_file_destroy(f);
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
