/* Node lifecycle: init, open, close, settings. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "learnvault/audit.h"
#include "facts.h"
#include "schema.h"
#include "store.h"

static enum lv_status facts_upgrade(struct lv_node *n);

#define DEFAULT_ORIGIN "learnvault.local/node"
#define DEFAULT_VAULT_CACHE 1024

static void path_join(char *out, size_t n, const char *dir, const char *name)
{
	snprintf(out, n, "%s/%s", dir, name);
}

static bool exists(const char *dir, const char *name)
{
	char p[4096];
	path_join(p, sizeof p, dir, name);
	return access(p, F_OK) == 0;
}

enum lv_status node_meta_put(sqlite3 *db, const char *k, const void *v, size_t n)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO meta(k, v) VALUES(?, ?)", -1, &s, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(s, 1, k, -1, SQLITE_STATIC);
		sqlite3_bind_blob(s, 2, v, (int)n, SQLITE_STATIC);
		rc = sqlite3_step(s);
	}
	sqlite3_finalize(s);
	return db_status(rc);
}

/* The origin names the audit log in checkpoints and vkeys: one line, no
 * space, no '+' (the vkey separator). */
static bool origin_ok(const char *origin)
{
	return !(strlen(origin) == 0 || strlen(origin) > 200 || strchr(origin, '+') ||
		 strchr(origin, '\n') || strchr(origin, ' '));
}

/* The node directory and its vaults/ folder; LV_ERR_EXISTS when a node
 * is already there. */
static enum lv_status init_dirs(const char *dir)
{
	char p[4096];
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return LV_ERR_IO;
	if (exists(dir, "node.json") || exists(dir, "node.db") || exists(dir, "node.key"))
		return LV_ERR_EXISTS;
	path_join(p, sizeof p, dir, "vaults");
	if (mkdir(p, 0700) != 0 && errno != EEXIST)
		return LV_ERR_IO;
	return LV_OK;
}

/* Fills @kek (KEY_LEN bytes): derived from the passphrase with Argon2id
 * (salt and limits recorded in @meta), or random and written to
 * node.key. */
static enum lv_status init_kek(const char *dir, const struct lv_node_keysource *ks, cJSON *meta,
			       unsigned char *kek)
{
	char p[4096];
	if (ks && ks->passphrase) {
		unsigned char salt[crypto_pwhash_SALTBYTES];
		char salthex[2 * sizeof salt + 1];
		randombytes_buf(salt, sizeof salt);
		sodium_bin2hex(salthex, sizeof salthex, salt, sizeof salt);
		unsigned long long ops = crypto_pwhash_OPSLIMIT_MODERATE;
		size_t mem = crypto_pwhash_MEMLIMIT_MODERATE;
		cJSON_AddStringToObject(meta, "key_source", "passphrase");
		cJSON_AddStringToObject(meta, "kdf", "argon2id13");
		cJSON_AddStringToObject(meta, "salt", salthex);
		cJSON_AddNumberToObject(meta, "opslimit", (double)ops);
		cJSON_AddNumberToObject(meta, "memlimit", (double)mem);
		if (crypto_pwhash(kek, KEY_LEN, ks->passphrase, ks->passphrase_len, salt, ops, mem,
				  crypto_pwhash_ALG_ARGON2ID13) != 0)
			return LV_ERR_NOMEM;
		return LV_OK;
	}
	cJSON_AddStringToObject(meta, "key_source", "file");
	randombytes_buf(kek, KEY_LEN);
	path_join(p, sizeof p, dir, "node.key");
	return util_write_file(p, kek, KEY_LEN, 0600, true);
}

/* Creates node.db under @kr in one transaction: schema, meta, node
 * secrets, a new audit signing key pair (@pk, @sk) and the default
 * settings. */
static enum lv_status init_node_db(const char *dir, struct keyring *kr, const char *origin,
				   unsigned char pk[crypto_sign_PUBLICKEYBYTES], unsigned char *sk)
{
	char p[4096];
	sqlite3 *db = NULL;
	path_join(p, sizeof p, dir, "node.db");
	enum lv_status st = db_open(p, kr->node_db, true, false, NODE_DB_PAGE, &db);
	if (st != LV_OK)
		goto out;
	chmod(p, 0600);
	st = db_exec(db, "BEGIN;");
	if (st == LV_OK)
		st = db_exec(db, NODE_SCHEMA);
	if (st == LV_OK)
		st = node_meta_put(db, "schema_version", NODE_SCHEMA_VERSION, strlen(NODE_SCHEMA_VERSION));
	if (st == LV_OK)
		st = node_meta_put(db, "origin", origin, strlen(origin));
	char vps[16];
	snprintf(vps, sizeof vps, "%u", VAULT_PAGE_DEFAULT);
	if (st == LV_OK)
		st = node_meta_put(db, "vault_page_size", vps, strlen(vps));
	/* Node secrets and the audit signing key live inside node.db, which
	 * is encrypted under the KEK: re-keying node.db rotates them all. */
	if (st == LV_OK)
		st = keyring_store_secrets(kr, db, true);
	if (st != LV_OK)
		goto out;
	crypto_sign_keypair(pk, sk);
	st = node_meta_put(db, "audit_pk", pk, crypto_sign_PUBLICKEYBYTES);
	if (st == LV_OK)
		st = node_meta_put(db, "audit_sk", sk, crypto_sign_SECRETKEYBYTES);
	if (st == LV_OK)
		st = db_exec(db, "INSERT INTO settings(name, value) VALUES('auto_enrol', 'on'),"
				 "('max_body_bytes', '16777216');");
	if (st == LV_OK)
		st = db_exec(db, "COMMIT;");
out:
	if (db)
		sqlite3_close(db);
	return st;
}

/* Leaves no half-made node behind. */
static void init_undo(const char *dir)
{
	char p[4096];
	const char *names[] = {"node.db-wal", "node.db-shm", "node.db", "node.json", "node.key"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		path_join(p, sizeof p, dir, names[i]);
		unlink(p);
	}
}

enum lv_status lv_node_init(const char *dir, const struct lv_node_keysource *ks, const char *origin,
			    char **audit_vkey)
{
	enum lv_status st;
	unsigned char *kek = NULL;
	struct keyring *kr = NULL;
	cJSON *meta = NULL;
	char *meta_text = NULL;
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	unsigned char *sk = NULL;
	char p[4096];

	*audit_vkey = NULL;
	if (!origin)
		origin = DEFAULT_ORIGIN;
	if (!origin_ok(origin))
		return LV_ERR_INVALID;
	st = init_dirs(dir);
	if (st != LV_OK)
		return st;

	kek = sodium_malloc(KEY_LEN);
	sk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
	if (!kek || !sk) {
		st = LV_ERR_NOMEM;
		goto out;
	}
	meta = cJSON_CreateObject();
	cJSON_AddStringToObject(meta, "format", "learnvault-node");
	cJSON_AddNumberToObject(meta, "version", 1);
	cJSON_AddStringToObject(meta, "origin", origin);
	st = init_kek(dir, ks, meta, kek);
	if (st != LV_OK)
		goto out;
	meta_text = cJSON_Print(meta);
	path_join(p, sizeof p, dir, "node.json");
	st = util_write_file(p, meta_text, strlen(meta_text), 0644, true);
	if (st == LV_OK)
		st = keyring_create(kek, &kr);
	if (st == LV_OK)
		st = init_node_db(dir, kr, origin, pk, sk);
	if (st == LV_OK)
		st = lv_note_vkey(origin, pk, audit_vkey);
out:
	keyring_destroy(kr);
	if (kek)
		sodium_free(kek);
	if (sk)
		sodium_free(sk);
	cJSON_Delete(meta);
	free(meta_text);
	if (st != LV_OK && st != LV_ERR_EXISTS)
		init_undo(dir);
	return st;
}

/* Nodes made before the node secrets were random derived them from the
 * KEK and sealed the audit key under a KEK subkey: store both inside
 * node.db once, so that key rotation need not change them.  Runs while
 * lv_node_open builds the node, before the audit tree exists, so with a
 * plain transaction rather than store_tx. */
static enum lv_status migrate_legacy_secrets(struct lv_node *n)
{
	enum lv_status st;
	sqlite3_stmt *s = NULL;
	unsigned char *sk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
	if (!sk)
		return LV_ERR_NOMEM;
	keyring_legacy_secrets(n->keys);
	st = db_exec(n->db, "BEGIN IMMEDIATE;");
	if (st != LV_OK)
		goto out;
	st = db_status(sqlite3_prepare_v2(n->db, "SELECT v FROM meta WHERE k = 'audit_sk_sealed'", -1, &s, NULL));
	if (st == LV_OK && sqlite3_step(s) == SQLITE_ROW &&
	    sqlite3_column_bytes(s, 0) == crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + crypto_sign_SECRETKEYBYTES) {
		const unsigned char *sealed = sqlite3_column_blob(s, 0);
		if (crypto_secretbox_open_easy(sk, sealed + crypto_secretbox_NONCEBYTES,
					       crypto_secretbox_MACBYTES + crypto_sign_SECRETKEYBYTES, sealed,
					       n->keys->audit_seal) != 0)
			st = LV_ERR_CRYPTO;
	} else if (st == LV_OK) {
		st = LV_ERR_CRYPTO;
	}
	sqlite3_finalize(s);
	if (st == LV_OK)
		st = node_meta_put(n->db, "audit_sk", sk, crypto_sign_SECRETKEYBYTES);
	if (st == LV_OK)
		st = keyring_store_secrets(n->keys, n->db, false);
	if (st == LV_OK)
		st = db_exec(n->db, "DELETE FROM meta WHERE k = 'audit_sk_sealed'; COMMIT;");
	if (st != LV_OK && db_exec(n->db, "ROLLBACK;") != LV_OK) { /* nothing more */ }
out:
	sodium_free(sk);
	return st;
}

static enum lv_status check_cipher(sqlite3 *db)
{
	/* With plain libsqlite3 linked first, PRAGMA key is silently ignored
	 * and data goes to disk in clear: refuse to run at all. */
	sqlite3_stmt *s = NULL;
	enum lv_status st = LV_ERR_CRYPTO;
	if (sqlite3_prepare_v2(db, "PRAGMA cipher_version;", -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
		st = LV_OK;
	sqlite3_finalize(s);
	return st;
}

enum lv_status lv_node_open(const char *dir, const struct lv_node_keysource *ks,
			    const struct lv_node_options *opt, struct lv_node **out)
{
	return node_open(dir, ks, opt, false, out);
}

/* Removes directory @path and the files in it (no subdirectories). */
static void remove_flat_dir(const char *path)
{
	DIR *d = opendir(path);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		char p[4096 + 512];
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		path_join(p, sizeof p, path, e->d_name);
		unlink(p);
	}
	closedir(d);
	rmdir(path);
}

/* Files a crashed process may leave: the temporary files of an atomic
 * write (util_write_file's "<name>.tmp.<pid>") and the scratch directory
 * of a vault export (vault_export.c: a copy under a key that died with
 * the process).  Only when alone. */
static void node_remove_stale_files(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		char p[4096];
		path_join(p, sizeof p, dir, e->d_name);
		if (strncmp(e->d_name, "node.", 5) == 0 && strstr(e->d_name, ".tmp."))
			unlink(p);
		else if (strncmp(e->d_name, "lv-vault-export.", 16) == 0)
			remove_flat_dir(p);
	}
	closedir(d);
}

/* Vault files whose learner has no key row: an erasure (or a failed
 * enrolment) that stopped between its commit and the unlinks.  No key
 * opens them; remove them.  Only when alone and owning the vaults. */
static enum lv_status node_remove_orphan_vaults(struct lv_node *n)
{
	char vdir[4096];
	path_join(vdir, sizeof vdir, n->dir, "vaults");
	DIR *d = opendir(vdir);
	if (!d)
		return LV_OK;
	sqlite3_stmt *s = NULL;
	enum lv_status st = db_status(sqlite3_prepare_v2(n->db, "SELECT 1 FROM learners WHERE pseudonym = ?", -1, &s, NULL));
	struct dirent *e;
	while (st == LV_OK && (e = readdir(d)) != NULL) {
		char p[LV_PSEUDONYM_LEN];
		const char *dot = strchr(e->d_name, '.');
		if (!dot || dot - e->d_name != LV_PSEUDONYM_LEN - 1 || strncmp(dot, ".db", 3) != 0)
			continue;
		memcpy(p, e->d_name, LV_PSEUDONYM_LEN - 1);
		p[LV_PSEUDONYM_LEN - 1] = '\0';
		if (!util_pseudonym_valid(p))
			continue;
		sqlite3_reset(s);
		sqlite3_bind_text(s, 1, p, -1, SQLITE_TRANSIENT);
		int rc = sqlite3_step(s);
		if (rc == SQLITE_DONE)
			vault_unlink_files(n, p);
		else if (rc != SQLITE_ROW)
			st = db_status(rc);
	}
	sqlite3_finalize(s);
	closedir(d);
	return st;
}

static enum lv_status node_data_version_init(struct lv_node *n)
{
	/* The first sync finds the version changed and reloads what is
	 * cheap to reload; from then on only other processes' commits count. */
	n->data_version = -1;
	enum lv_status st = lv_store_lock(n);
	lv_store_unlock(n);
	return st;
}

/* A node with its locks' and handles' fields at "none", or NULL. */
static struct lv_node *node_new(const char *dir)
{
	struct lv_node *n = calloc(1, sizeof *n);
	if (!n)
		return NULL;
	pthread_mutex_init(&n->lock, NULL);
	n->lock_fd = n->vaults_fd = -1;
	pthread_mutex_init(&n->snap_lock, NULL);
	pthread_mutex_init(&n->hold_lock, NULL);
	pthread_mutex_init(&n->stage_mu, NULL);
	pthread_cond_init(&n->stage_cv, NULL);
	n->dir = strdup(dir);
	if (!n->dir) {
		lv_node_close(n);
		return NULL;
	}
	return n;
}

/* The node lock (*@alone: no other process has the node open) and, when
 * @opt asks to own the vaults (the default), the vault lock. */
static enum lv_status node_take_locks(struct lv_node *n, const struct lv_node_options *opt, bool exclusive,
				      bool *alone)
{
	enum lv_status st = nodelock_open(n->dir, exclusive, &n->lock_fd, alone);
	if (st == LV_OK && (!opt || opt->access == LV_NODE_OWN_VAULTS)) {
		st = vaultlock_take(n->dir, opt && opt->holder ? opt->holder : "learnvault", &n->vaults_fd);
		n->own_vaults = st == LV_OK;
	}
	return st;
}

/* Loads the keyring and opens node.db.  When @alone, first settles a key
 * rotation that a crashed process left half done (rotate.c). */
static enum lv_status node_open_db(struct lv_node *n, const struct lv_node_keysource *ks, bool alone)
{
	const char *dir = n->dir;
	char p[4096];
	path_join(p, sizeof p, dir, "node.db");
	enum lv_status st = keyring_load(dir, ks, &n->keys);
	if (st == LV_OK)
		st = db_open(p, n->keys->node_db, false, false, NODE_DB_PAGE, &n->db);
	if (!alone) {
		/* Another process has the node open, so no rotation is under
		 * way; staged files of a crashed one wait for an opener that is
		 * alone. */
	} else if (exists(dir, "node.json.next")) {
		if (st == LV_OK) {
			/* A rotation stopped before re-keying: the current key
			 * still rules, the staged one was never used. */
			node_discard_rotation(dir);
		} else {
			/* A rotation stopped after re-keying node.db: the staged
			 * key opens it; finish installing it. */
			char kp[4096], jp[4096];
			path_join(kp, sizeof kp, dir, "node.key.next");
			path_join(jp, sizeof jp, dir, "node.json.next");
			keyring_destroy(n->keys);
			n->keys = NULL;
			st = keyring_load_from(kp, jp, ks, &n->keys);
			if (st == LV_OK)
				st = db_open(p, n->keys->node_db, false, false, NODE_DB_PAGE, &n->db);
			if (st == LV_OK)
				st = node_finish_rotation(dir);
		}
	}
	else if (st == LV_OK && exists(dir, "node.key.next"))
		node_discard_rotation(dir); /* staged before node.json.next was */
	return st;
}

/* With node.db open: the cipher check, schema additions, node secrets
 * (migrated from the legacy form once), the audit log and the database's
 * tuning. */
static enum lv_status node_prepare_db(struct lv_node *n)
{
	enum lv_status st = check_cipher(n->db);
	if (st == LV_OK)
		st = db_exec(n->db, NODE_SCHEMA_ADDITIONS);
	if (st == LV_OK)
		st = store_statements_upgrade(n->db);
	if (st == LV_OK) {
		st = keyring_load_secrets(n->keys, n->db);
		if (st == LV_ERR_NOT_FOUND)
			st = migrate_legacy_secrets(n);
	}
	if (st == LV_OK)
		st = auditlog_open(n);
	/* The index is hot: keep it in memory (64 MiB of pages), and let its
	 * WAL grow to 64 MiB between checkpoints: random index pages are
	 * rewritten by many commits, and a checkpoint copies each page once. */
	if (st == LV_OK)
		st = db_exec(n->db, "PRAGMA cache_size = -65536; PRAGMA wal_autocheckpoint = 16384;"
				    " PRAGMA secure_delete = ON;");
	return st;
}

/* The vault page size (legacy nodes have none stored) and the origin
 * (the default when none is stored), from node.db.  Lock held. */
static enum lv_status node_load_meta(struct lv_node *n)
{
	char *v = NULL;
	n->vault_page = VAULT_PAGE_LEGACY;
	enum lv_status st = node_setting_get_locked(n, "vault_page_size", &v);
	if (st == LV_OK) {
		unsigned long ps = strtoul(v, NULL, 10);
		if (ps != 1024 && ps != 2048 && ps != 4096 && ps != 8192) {
			free(v);
			return LV_ERR_INVALID;
		}
		n->vault_page = (unsigned)ps;
	}
	free(v);
	v = NULL;
	st = node_setting_get_locked(n, "origin", &v);
	n->origin = st == LV_OK ? v : strdup(DEFAULT_ORIGIN);
	return n->origin ? LV_OK : LV_ERR_NOMEM;
}

enum lv_status node_open(const char *dir, const struct lv_node_keysource *ks,
			 const struct lv_node_options *opt, bool exclusive, struct lv_node **out)
{
	enum lv_status st;
	struct lv_node *n = NULL;
	bool alone = false;
	*out = NULL;
	if (!exists(dir, "node.db") || !exists(dir, "node.json"))
		return LV_ERR_NOT_FOUND;
	n = node_new(dir);
	if (!n)
		return LV_ERR_NOMEM;
	st = node_take_locks(n, opt, exclusive, &alone);
	if (st == LV_OK)
		st = node_open_db(n, ks, alone);
	if (st != LV_OK)
		goto fail;
	if (alone)
		node_remove_stale_files(dir);
	st = node_prepare_db(n);
	if (st == LV_OK)
		st = vault_cache_create(opt && opt->vault_cache ? opt->vault_cache : DEFAULT_VAULT_CACHE,
					&n->vaults);
	if (st == LV_OK)
		st = node_settings_load_locked(n);
	if (st == LV_OK)
		st = node_load_meta(n);
	if (st == LV_OK)
		st = facts_upgrade(n);
	if (st == LV_OK && alone && n->own_vaults)
		st = node_remove_orphan_vaults(n);
	/* What this process now knows is current as of this version. */
	if (st == LV_OK)
		st = node_data_version_init(n);
	if (st != LV_OK)
		goto fail;
	if (alone && !(exclusive))
		nodelock_share(n->lock_fd);
	*out = n;
	return LV_OK;
fail:
	lv_node_close(n);
	return st;
}

/* Nodes made before the aggregate facts existed get them once. */
static enum lv_status facts_upgrade(struct lv_node *n)
{
	sqlite3_stmt *s = NULL;
	enum lv_status st = db_status(sqlite3_prepare_v2(n->db,
		"SELECT 1 FROM meta WHERE k = 'facts_version' AND CAST(v AS TEXT) = '" FACTS_VERSION "'", -1, &s, NULL));
	if (st != LV_OK)
		return st;
	bool done = sqlite3_step(s) == SQLITE_ROW;
	sqlite3_finalize(s);
	if (done)
		return LV_OK;
	/* The backfill reads every vault: only their owner can (a node
	 * without learners has none to read). */
	if (!n->own_vaults) {
		st = db_status(sqlite3_prepare_v2(n->db, "SELECT 1 FROM learners LIMIT 1", -1, &s, NULL));
		bool any = st == LV_OK && sqlite3_step(s) == SQLITE_ROW;
		sqlite3_finalize(s);
		if (st != LV_OK || any)
			return st != LV_OK ? st : LV_ERR_IN_USE;
	}
	struct lv_tx *tx;
	st = lv_tx_begin(n, &tx);
	if (st != LV_OK)
		return st;
	/* Records of an older format are rebuilt from the vaults. */
	st = db_exec(n->db, "DELETE FROM learner_facts; DELETE FROM facts_journal;");
	if (st == LV_OK)
		st = facts_backfill_locked(n);
	if (st == LV_OK)
		st = node_meta_put(n->db, "facts_version", FACTS_VERSION, strlen(FACTS_VERSION));
	return lv_tx_end(tx, st);
}

void lv_node_close(struct lv_node *n)
{
	if (!n)
		return;
	snapshot_close(n); /* first: its open handle would hold up the checkpoint below */
	vault_cache_destroy(n->vaults);
	facts_terms_free(n);
	node_caches_drop(n);
	auditlog_close(n);
	sqlite3_finalize(n->dv_stmt);
	if (n->db) {
		/* Fold the WAL back so a stopped node is one file per database. */
		sqlite3_exec(n->db, "PRAGMA wal_checkpoint(TRUNCATE);", NULL, NULL, NULL);
		sqlite3_close(n->db);
	}
	keyring_destroy(n->keys);
	free(n->tx.created);
	vaultlock_release(n->vaults_fd);
	lockfile_release(n->lock_fd);
	pthread_mutex_destroy(&n->lock);
	pthread_mutex_destroy(&n->snap_lock);
	pthread_mutex_destroy(&n->hold_lock);
	pthread_mutex_destroy(&n->stage_mu);
	pthread_cond_destroy(&n->stage_cv);
	for (size_t i = 0; i < n->holds.n; i++)
		free(n->holds.v[i].purpose);
	free(n->holds.v);
	free(n->origin);
	free(n->dir);
	free(n);
}

enum lv_status node_setting_get_locked(struct lv_node *n, const char *name, char **value)
{
	*value = NULL;
	sqlite3_stmt *s = NULL;
	enum lv_status st;
	int rc;
	if (strcmp(name, "origin") == 0 || strcmp(name, "vault_page_size") == 0)
		rc = sqlite3_prepare_v2(n->db, "SELECT CAST(v AS TEXT) FROM meta WHERE k = ?", -1, &s, NULL);
	else
		rc = sqlite3_prepare_v2(n->db, "SELECT value FROM settings WHERE name = ?", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return db_status(rc);
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*value = strdup((const char *)sqlite3_column_text(s, 0));
		st = *value ? LV_OK : LV_ERR_NOMEM;
	} else {
		st = rc == SQLITE_DONE ? LV_ERR_NOT_FOUND : db_status(rc);
	}
	sqlite3_finalize(s);
	return st;
}

enum lv_status lv_node_setting_get(struct lv_node *n, const char *name, char **value)
{
	*value = NULL;
	enum lv_status st = lv_store_lock(n);
	if (st == LV_OK)
		st = node_setting_get_locked(n, name, value);
	lv_store_unlock(n);
	return st;
}

enum lv_status lv_node_settings_list(struct lv_node *n, char **json)
{
	*json = NULL;
	sqlite3_stmt *s = NULL;
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return LV_ERR_NOMEM;
	enum lv_status st = lv_store_lock(n);
	int rc = st == LV_OK ? SQLITE_OK : SQLITE_ERROR;
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(n->db, "SELECT name, value FROM settings WHERE instr(name, '.') = 0"
					       " ORDER BY name", -1, &s, NULL);
	while (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *v = (const char *)sqlite3_column_text(s, 1);
		cJSON_AddStringToObject(o, (const char *)sqlite3_column_text(s, 0), v ? v : "");
		rc = SQLITE_OK;
	}
	sqlite3_finalize(s);
	lv_store_unlock(n);
	st = rc == SQLITE_DONE ? LV_OK : db_status(rc);
	if (st == LV_OK && !cJSON_AddStringToObject(o, "origin", n->origin))
		st = LV_ERR_NOMEM;
	if (st == LV_OK && !(*json = cJSON_PrintUnformatted(o)))
		st = LV_ERR_NOMEM;
	cJSON_Delete(o);
	return st;
}

const char *lv_node_origin(struct lv_node *n)
{
	return n->origin;
}

enum lv_status node_settings_load_locked(struct lv_node *n)
{
	char *v = NULL;
	enum lv_status st = node_setting_get_locked(n, "auto_enrol", &v);
	if (st != LV_OK && st != LV_ERR_NOT_FOUND)
		return st;
	/* Read without the lock by ingest's staging (statements.c). */
	__atomic_store_n(&n->auto_enrol, st != LV_OK || strcmp(v, "off") != 0, __ATOMIC_RELAXED);
	free(v);
	v = NULL;
	st = node_setting_get_locked(n, "max_body_bytes", &v);
	if (st != LV_OK && st != LV_ERR_NOT_FOUND)
		return st;
	__atomic_store_n(&n->max_body, st == LV_OK ? (size_t)strtoull(v, NULL, 10) : 0, __ATOMIC_RELAXED);
	free(v);
	v = NULL;
	st = node_setting_get_locked(n, "max_page_bytes", &v);
	if (st != LV_OK && st != LV_ERR_NOT_FOUND)
		return st;
	n->max_page = st == LV_OK ? (size_t)strtoull(v, NULL, 10) : 0;
	free(v);
	v = NULL;
	st = node_setting_get_locked(n, "max_batch_learners", &v);
	if (st != LV_OK && st != LV_ERR_NOT_FOUND)
		return st;
	__atomic_store_n(&n->max_batch_learners, st == LV_OK ? (size_t)strtoull(v, NULL, 10) : 0, __ATOMIC_RELAXED);
	free(v);
	return LV_OK;
}

size_t lv_node_max_batch_learners(struct lv_node *n)
{
	/* The server asks lv_node_max_body at every request's start, which
	 * refreshes the settings; here only the value it last loaded. */
	size_t v = __atomic_load_n(&n->max_batch_learners, __ATOMIC_RELAXED);
	return v ? v : LV_BATCH_LEARNERS_DEFAULT;
}

size_t store_page_bytes(const struct lv_node *n)
{
	return n->max_page ? n->max_page : STORE_PAGE_BYTES_DEFAULT;
}

size_t lv_node_max_body(struct lv_node *n)
{
	/* Asked before every request: never wait for the lock (an aggregate
	 * may hold it).  Free: refresh, so a change made by another process
	 * counts from the next request on; busy: the holder refreshes, and
	 * the value it last saw is used. */
	if (pthread_mutex_trylock(&n->lock) == 0) {
		n->lock_owner = pthread_self();
		n->locked = true;
		if (node_sync_locked(n) != LV_OK) { /* keep the value last seen */ }
		lv_store_unlock(n);
	}
	return __atomic_load_n(&n->max_body, __ATOMIC_RELAXED);
}

enum lv_status lv_node_setting_set(struct lv_node *n, const char *name, const char *value)
{
	if (strcmp(name, "auto_enrol") == 0) {
		if (strcmp(value, "on") != 0 && strcmp(value, "off") != 0)
			return LV_ERR_INVALID;
	} else if (strcmp(name, "max_body_bytes") == 0 || strcmp(name, "max_page_bytes") == 0) {
		/* max_page_bytes: statement bytes in one page of a query (store
		 * statement_reads_repo.c); beyond it the page ends with "more". */
		char *end = NULL;
		long long v = strtoll(value, &end, 10);
		if (*value < '0' || *value > '9' || *end || v < 1024 || v > (1LL << 30))
			return LV_ERR_INVALID;
	} else if (strcmp(name, "session_idle_minutes") == 0 || strcmp(name, "session_max_hours") == 0) {
		/* Read by the web door when it opens a session (http/session_routes.c). */
		char *end = NULL;
		long long v = strtoll(value, &end, 10);
		if (*value < '0' || *value > '9' || *end || v < 1 || v > (name[8] == 'i' ? 1440 : 168))
			return LV_ERR_INVALID;
	} else if (strcmp(name, "max_batch_learners") == 0) {
		/* Read by the provider door (http/xapi_statements.c), 1 to 10^5. */
		char *end = NULL;
		long long v = strtoll(value, &end, 10);
		if (*value < '0' || *value > '9' || *end || v < 1 || v > 100000)
			return LV_ERR_INVALID;
	} else if (strcmp(name, "max_connections") == 0 || strcmp(name, "max_connections_per_ip") == 0 ||
		   strcmp(name, "request_deadline_seconds") == 0 || strcmp(name, "min_body_rate") == 0 ||
		   strcmp(name, "auth_max_failures") == 0 || strcmp(name, "auth_window_seconds") == 0) {
		/* Read by the HTTP server when it starts (http/server.c), 1 to 10^6. */
		char *end = NULL;
		long long v = strtoll(value, &end, 10);
		if (*value < '0' || *value > '9' || *end || v < 1 || v > 1000000)
			return LV_ERR_INVALID;
	} else if (strcmp(name, "xapi_default_version") == 0) {
		/* Read by the xAPI door for a request that names no version
		 * (http/xapi_routes.c). */
		if (strcmp(value, "1.0.3") != 0 && strcmp(value, "2.0.0") != 0)
			return LV_ERR_INVALID;
	} else if (strcmp(name, "cors_origins") == 0) {
		/* Read by the HTTP server when it starts (http/cors.c). */
		if (!util_origin_list_valid(value))
			return LV_ERR_INVALID;
	} else if (strcmp(name, "aggregate_time_quantum_ms") == 0) {
		/* Read by the aggregate door (query/door.c), 0 to 600000. */
		char *end = NULL;
		long long v = strtoll(value, &end, 10);
		if (*value < '0' || *value > '9' || *end || v > 600000)
			return LV_ERR_INVALID;
	} else {
		return LV_ERR_INVALID;
	}
	sqlite3_stmt *s = NULL;
	int rc = lv_store_lock(n) == LV_OK ? SQLITE_OK : SQLITE_ERROR;
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(n->db, "INSERT OR REPLACE INTO settings(name, value) VALUES(?, ?)",
					-1, &s, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, value, -1, SQLITE_STATIC);
		rc = sqlite3_step(s);
	}
	sqlite3_finalize(s);
	enum lv_status st = db_status(rc);
	if (st == LV_OK)
		st = node_settings_load_locked(n);
	lv_store_unlock(n);
	return st;
}
