/* SQLCipher handles: raw keys, page size, WAL. */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <string.h>

#include <sodium.h>

#include "store.h"

enum lv_status db_status(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW: return LV_OK;
	case SQLITE_NOMEM: return LV_ERR_NOMEM;
	case SQLITE_NOTADB: return LV_ERR_CRYPTO;
	case SQLITE_CONSTRAINT: return LV_ERR_CONFLICT;
	case SQLITE_BUSY:
	case SQLITE_LOCKED: return LV_ERR_BUSY;
	case SQLITE_CANTOPEN:
	case SQLITE_IOERR:
	case SQLITE_FULL:
	case SQLITE_READONLY: return LV_ERR_IO;
	case SQLITE_TOOBIG: return LV_ERR_TOO_LARGE;
	default: return LV_ERR_DB;
	}
}

enum lv_status db_exec(sqlite3 *db, const char *sql)
{
	return db_status(sqlite3_exec(db, sql, NULL, NULL, NULL));
}

enum lv_status db_open(const char *path, const unsigned char key[KEY_LEN], bool create, bool exclusive,
		       unsigned page_size, sqlite3 **out)
{
	*out = NULL;
	sqlite3 *db = NULL;
	enum lv_status st;
	/* Raw key as the text x'<64 hex>': a 32-byte binary key would be taken
	 * as a passphrase and run PBKDF2 on every open. */
	char pragma[16 + 2 * KEY_LEN + 8];
	char hex[2 * KEY_LEN + 1];
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
	if (create) {
		/* SQLite gives -wal and -journal files the database file's mode,
		 * so creating it 0600 first keeps every side file private. */
		int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (fd < 0)
			return LV_ERR_IO;
		close(fd);
	}
	int rc = sqlite3_open_v2(path, &db, flags, NULL);
	if (rc != SQLITE_OK) {
		st = rc == SQLITE_CANTOPEN ? LV_ERR_NOT_FOUND : db_status(rc);
		goto fail;
	}
	sodium_bin2hex(hex, sizeof hex, key, KEY_LEN);
	snprintf(pragma, sizeof pragma, "PRAGMA key = \"x'%s'\";", hex);
	rc = sqlite3_exec(db, pragma, NULL, NULL, NULL);
	sodium_memzero(hex, sizeof hex);
	sodium_memzero(pragma, sizeof pragma);
	if (rc != SQLITE_OK) {
		st = LV_ERR_CRYPTO;
		goto fail;
	}
	/* SQLCipher 3 keeps no settings in the file: re-issue after every key. */
	char ps[64];
	snprintf(ps, sizeof ps, "PRAGMA cipher_page_size = %u;", page_size);
	st = db_exec(db, ps);
	if (st != LV_OK)
		goto fail;
	/* Exclusive before the first read: then WAL keeps its index in heap
	 * memory and no -shm file or per-transaction lock is used. */
	if (exclusive && (st = db_exec(db, "PRAGMA locking_mode = EXCLUSIVE;")) != LV_OK)
		goto fail;
	/* The first read proves the key (and that this is SQLCipher at all). */
	rc = sqlite3_exec(db, "SELECT count(*) FROM sqlite_master;", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		st = (rc == SQLITE_NOTADB) ? LV_ERR_CRYPTO : db_status(rc);
		goto fail;
	}
	st = db_exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
			 "PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY;");
	if (st != LV_OK)
		goto fail;
	sqlite3_busy_timeout(db, 5000);
	*out = db;
	return LV_OK;
fail:
	sqlite3_close(db);
	return st;
}
