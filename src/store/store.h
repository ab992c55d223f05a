/* store/ internals shared between the store's files. */
#ifndef LV_STORE_STORE_H
#define LV_STORE_STORE_H

#include <assert.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <sqlcipher/sqlite3.h>

#include "learnvault/node.h"
#include "learnvault/store.h"
#include "learnvault/util.h"

#define KEY_LEN 32
#define NODE_DB_PAGE 4096
/* Vaults take one small row per transaction: small pages mean less to
 * encrypt and write per statement.  Nodes made before this was recorded
 * used 4096 (meta key vault_page_size absent). */
#define VAULT_PAGE_DEFAULT 1024
#define VAULT_PAGE_LEGACY 4096

/* Subkey ids under the KEK (crypto_kdf, context "lvnode01").  Only
 * KEYP_NODE_DB is used now; 2..5 derived the node secrets of nodes made
 * before they became random (kept to migrate such nodes). */
enum key_purpose {
	KEYP_NODE_DB = 1,
	KEYP_PSEUDONYM = 2,
	KEYP_CREDENTIAL = 3,
	KEYP_AUDIT_SEAL = 4,
	KEYP_VAULT_WRAP = 5,
};

/* ---- keys.c ---- */
/* The KEK and the subkeys derived from it, all in sodium_malloc memory. */
struct keyring {
	unsigned char *kek;
	unsigned char *node_db;
	unsigned char *pseudonym;
	unsigned char *credential;
	unsigned char *audit_seal;
	unsigned char *vault_wrap;
};
enum lv_status keyring_create(const unsigned char kek[KEY_LEN], struct keyring **out) LV_WARN_UNUSED;
void keyring_destroy(struct keyring *kr);
/* Reads the node secrets (pseudonym_key, credential_key, vault_wrap_key)
 * from node.db's meta table; LV_ERR_NOT_FOUND on a node that predates them. */
enum lv_status keyring_load_secrets(struct keyring *kr, sqlite3 *db) LV_WARN_UNUSED;
/* Writes the node secrets to meta; @fresh draws new random ones first. */
enum lv_status keyring_store_secrets(struct keyring *kr, sqlite3 *db, bool fresh) LV_WARN_UNUSED;
/* Derives the secrets as nodes made before random secrets did (migration). */
void keyring_legacy_secrets(struct keyring *kr);
/* Loads the KEK from DIR/node.key or derives it from a passphrase with the
 * parameters in DIR/node.json. */
enum lv_status keyring_load(const char *dir, const struct lv_node_keysource *ks,
			    struct keyring **out) LV_WARN_UNUSED;

#define WRAPPED_LEN (24 + KEY_LEN + 16) /* nonce + key + tag */
/* XChaCha20-Poly1305 with @ad binding the wrapped key to its owner. */
enum lv_status key_wrap(const unsigned char *wrap_key, const unsigned char key[KEY_LEN],
			const char *ad, unsigned char out[WRAPPED_LEN]) LV_WARN_UNUSED;
enum lv_status key_unwrap(const unsigned char *wrap_key, const unsigned char in[WRAPPED_LEN],
			  const char *ad, unsigned char *key) LV_WARN_UNUSED;
/* Keyed BLAKE2b-128 of @identity, hex. */
void key_pseudonym(const struct keyring *kr, const char *identity, char out[LV_PSEUDONYM_LEN]);

/* ---- db.c: SQLCipher helpers ---- */
/* Opens (creating if @create) an SQLCipher file keyed with the raw @key,
 * 4096-byte cipher pages, WAL, synchronous NORMAL, and checks that the key
 * opens it.  @page_size: the cipher page size the file was made with
 * (SQLCipher 3 does not record it).  @exclusive: hold the file lock for the handle's lifetime (no
 * other process may open it meanwhile).  LV_ERR_CRYPTO on a wrong key. */
enum lv_status db_open(const char *path, const unsigned char key[KEY_LEN], bool create,
		       bool exclusive, unsigned page_size, sqlite3 **out) LV_WARN_UNUSED;
enum lv_status db_exec(sqlite3 *db, const char *sql) LV_WARN_UNUSED;
/* Maps an SQLite result code to a status. */
enum lv_status db_status(int rc);

/* ---- vault cache (vault.c) ---- */
struct vault_cache;
struct term_cache;
enum lv_status vault_cache_create(unsigned capacity, struct vault_cache **out) LV_WARN_UNUSED;
void vault_cache_destroy(struct vault_cache *vc);

/* ---- tx.c: the node lock and the one transaction object (the API is
 * include/learnvault/store.h) ---- */
#define store_assert_locked(n) assert(lv_store_lock_held(n))
/* A node.db write transaction.  Owned by the node (one at a time, under
 * the lock); callers only hold a borrowed pointer between begin and end. */
struct lv_tx {
	struct lv_node *node;
	bool active;
	char (*created)[LV_PSEUDONYM_LEN]; /* vaults made by this transaction */
	size_t ncreated, capcreated;
};
/* Records a vault file made in @tx, removed again if it rolls back. */
enum lv_status store_tx_vault_created(struct lv_tx *tx, const char *pseudonym) LV_WARN_UNUSED;
/* lv_store_lock for a reader of the audit tree up to @size entries: the
 * refresh runs only when the tree held here is shorter (a proof the tree
 * already covers needs none).  Release with lv_store_unlock. */
enum lv_status store_lock_log_size(struct lv_node *n, uint64_t size) LV_WARN_UNUSED;
/* Refreshes the process's view if another connection committed.  Lock held. */
enum lv_status node_sync_locked(struct lv_node *n) LV_WARN_UNUSED;
/* Reloads the settings this process keeps in memory.  Lock held. */
enum lv_status node_settings_load_locked(struct lv_node *n) LV_WARN_UNUSED;

/* ---- nodelock.c: process locks of a data directory ---- */
/* Takes DIR/node.lock: exclusive when alone (*@alone) or when @exclusive
 * (LV_ERR_IN_USE if anyone else has the node open), else shared. */
enum lv_status nodelock_open(const char *dir, bool exclusive, int *fd, bool *alone) LV_WARN_UNUSED;
/* Steps an exclusive node.lock down to shared. */
void nodelock_share(int fd);
/* Takes DIR/vaults.lock exclusive and records @holder in it. */
enum lv_status vaultlock_take(const char *dir, const char *holder, int *fd) LV_WARN_UNUSED;
void vaultlock_release(int fd);
void lockfile_release(int fd);

/* ---- the node ---- */
#define ACT_SEEN_SLOTS 4096
#define AUDIT_PENDING_MAX 1000000 /* entries one transaction may add */
struct budget_hold {
	uint64_t id, micro;
	char *purpose;
};

struct lv_node {
	char *dir;
	struct keyring *keys;
	sqlite3 *db;                 /* node.db */
	pthread_mutex_t lock;        /* serialises every storage operation */
	struct vault_cache *vaults;
	bool auto_enrol;
	pthread_mutex_t stage_mu;    /* the staged vaults (vault_stage); taken alone or inside lock */
	pthread_cond_t stage_cv;     /* a staged vault finished being made */
	struct vault_staged *staged;
	unsigned vault_page;         /* cipher page size of this node's vaults */
	int64_t last_stored_ms;      /* stored times are strictly increasing */
	unsigned char act_seen[ACT_SEEN_SLOTS][16]; /* activity definitions already merged */
	struct lv_merkle *audit;     /* the audit log's tree (committed entries), stored in audit_tree */
	struct lv_merkle *audit_tx;  /* the open transaction's copy of it, or NULL (no entry yet) */
	struct term_cache *terms;    /* facts.c: IRI -> term id */
	struct {
		void *value;
		void (*destroy)(void *);
	} cache[LV_CACHE_COUNT];     /* lv_node_cache_*: the modules' derived state */
	sqlite3_stmt *audit_ins;     /* auditlog.c: the prepared append */
	sqlite3_stmt *audit_leaf_get, *audit_node_get, *audit_node_put; /* the tree's store */
	unsigned char *audit_sk;     /* Ed25519 secret key, sodium_malloc */
	unsigned char audit_pk[32];
	size_t audit_npending;       /* entries the open transaction added */
	int64_t audit_last_ms;       /* time of the last committed entry (0: none): entry times never go back */
	int64_t audit_pending_last_ms; /* time of the open transaction's last entry */
	char *origin;
	/* tx.c */
	struct lv_tx tx;
	bool locked;                 /* the lock is held, by lock_owner */
	pthread_t lock_owner;
	int64_t data_version;        /* node.db's, when this process last looked */
	sqlite3_stmt *dv_stmt;
	/* nodelock.c */
	int lock_fd, vaults_fd;      /* -1 when not held */
	bool own_vaults;
	size_t max_body;             /* setting max_body_bytes (0: unset) */
	size_t max_page;             /* setting max_page_bytes (0: unset) */
	size_t max_batch_learners;   /* setting max_batch_learners (0: unset); read without the lock */
	/* snapshot.c: the second node.db connection of the aggregate door */
	pthread_mutex_t snap_lock;   /* its one user at a time; taken before lock, never while holding it */
	sqlite3 *snap_db;            /* opened on first use */
	bool snap_reading;           /* a read transaction is open on it (lock held to change) */
	bool snap_truncate_due;      /* an erasure's WAL truncation waits for that read to end */
	/* budget_repo.c: this process's in-flight holds on purpose budgets */
	pthread_mutex_t hold_lock;   /* taken alone or inside lock, never the other way */
	UTIL_ARRAY(struct budget_hold) holds;
	uint64_t hold_next;          /* the last hold id given (ids start at 1) */
};

/* lv_node_open, and with @exclusive the node.lock held exclusive for the
 * handle's life (key rotation: no other process may open it meanwhile). */
enum lv_status node_open(const char *dir, const struct lv_node_keysource *ks,
			 const struct lv_node_options *opt, bool exclusive, struct lv_node **out) LV_WARN_UNUSED;

/* Returns the open handle of learner @pseudonym's vault (cached), opening
 * it, or creating it when @create (the learner row must exist).  The handle
 * is borrowed: valid while node->lock is held.  Caller holds node->lock. */
enum lv_status vault_get(struct lv_node *node, const char *pseudonym, bool create,
			 sqlite3 **db) LV_WARN_UNUSED;
/* Statements prepared once per open vault handle. */
enum vault_stmt_id {
	VAULT_BEGIN,
	VAULT_COMMIT,
	VAULT_INSERT_STATEMENT,   /* (seq, body) */
	VAULT_INSERT_ATTACHMENT,  /* (sha2, content_type, body) */
	VAULT_INSERT_ATTACHMENT_OWNER, /* (sha2, provider) */
	VAULT_P_LEARNER_GET,      /* personal_repo.c: the learner's model state */
	VAULT_P_LEARNER_PUT,
	VAULT_P_ITEM_GET,
	VAULT_P_ITEM_PUT,
	VAULT_P_SKILL_GET,
	VAULT_P_SKILL_PUT,
	VAULT_STMT_COUNT,
};
/* Returns vault @pseudonym's prepared statement @which, reset and with no
 * bindings; borrowed like the handle itself.  Lock held. */
enum lv_status vault_stmt(struct lv_node *node, const char *pseudonym, enum vault_stmt_id which,
			  sqlite3_stmt **out) LV_WARN_UNUSED;
/* The associated data binding a wrapped vault key to its learner. */
void vault_wrap_ad(const char *pseudonym, char ad[64]);
/* Closes a cached vault handle, if open (before erasure).  Lock held. */
void vault_evict(struct lv_node *node, const char *pseudonym);
/* Deletes vault @pseudonym's file and its side files (after its key row
 * is gone). */
void vault_unlink_files(const struct lv_node *node, const char *pseudonym);

/* New learners' vaults made before the node lock is taken (creating a
 * SQLCipher file costs milliseconds and two fsyncs; enrolling thousands
 * under the lock stalled every other client).  A staged vault is made at
 * its final path and kept open; learner_resolve, under the lock, takes it
 * (its key goes into the learners row, its handle into the cache).  The
 * node's registry (stage_mu) holds at most one per learner: a stager
 * registers before it makes the file, learner_resolve waits for one being
 * made, and a vault made under the lock is made holding stage_mu, so a
 * stager and the lock holder never make the same file. */
struct vault_staged {
	char pseudonym[LV_PSEUDONYM_LEN];
	sqlite3 *db;              /* open at the final path; NULL while being made */
	unsigned char *key;       /* sodium_malloc */
	const void *owner;        /* the batch that made it */
	struct vault_staged *next;
};
/* Stages a vault for learner @pseudonym for @owner unless its vault file
 * exists or one is staged already (then *@staged is false: learner_resolve
 * decides).  No node lock needed (and it must not be held). */
enum lv_status vault_stage(struct lv_node *node, const char *pseudonym, const void *owner,
			   bool *staged) LV_WARN_UNUSED;
/* After the batch: closes and deletes @owner's vault for @pseudonym if no
 * learner took it. */
void vault_unstage(struct lv_node *node, const char *pseudonym, const void *owner);

/* Finds or creates the learner for an actor identity.  Lock held; when a
 * new learner is created inside the caller's node.db transaction, the row
 * is rolled back with it.  A vault staged for it (vault_stage) is taken
 * rather than one made now.  *@created may be NULL. */
enum lv_status learner_resolve(struct lv_node *node, const char *identity, bool create,
			       char pseudonym[LV_PSEUDONYM_LEN], bool *created) LV_WARN_UNUSED;

/* INSERT OR REPLACE into node.db's meta table. */
enum lv_status node_meta_put(sqlite3 *db, const char *k, const void *v, size_t n) LV_WARN_UNUSED;
/* Loads a keyring from explicit files (node.key-style @key_path, used when
 * @ks has no passphrase; node.json-style @json_path for the salt). */
enum lv_status keyring_load_from(const char *key_path, const char *json_path,
				 const struct lv_node_keysource *ks, struct keyring **out) LV_WARN_UNUSED;

/* rotate.c: installs staged *.next key files over the current ones
 * (after node.db was re-keyed), or removes them (rotation abandoned). */
enum lv_status node_finish_rotation(const char *dir) LV_WARN_UNUSED;
void node_discard_rotation(const char *dir);

/* ---- snapshot.c: node.db as committed at one instant, read without the lock ---- */
/* lv_store_snapshot_acquire, _begin_locked, _release: learnvault/store.h.
 * The connection is node->snap_db, open for reading while node->snap_reading. */
/* After an erasure's commit: folds the WAL back into node.db and truncates
 * it, so no older frame holds what was erased; while a snapshot read
 * needs those frames, lv_store_snapshot_release does it instead.  Lock held. */
void snapshot_truncate_wal_locked(struct lv_node *node);
/* Closes the connection (lv_node_close, before node->db). */
void snapshot_close(struct lv_node *node);
/* ---- statements.c ---- */
#define IDENTITY_MAX 65536 /* bytes of one actor identity */
/* Loads the stored body of statement @seq from vault @learner; *@out is
 * the caller's (cJSON_Delete).  LV_ERR_NOT_FOUND when the vault has no
 * such row.  Lock held. */
/* @bytes (may be NULL): the stored text's length. */
enum lv_status store_statement_body(struct lv_node *node, const char *learner, int64_t seq,
				    cJSON **out, size_t *bytes) LV_WARN_UNUSED;
/* The setting max_page_bytes (statement bytes in one page of a query;
 * default STORE_PAGE_BYTES_DEFAULT).  Lock held. */
#define STORE_PAGE_BYTES_DEFAULT ((size_t)8 << 20)
size_t store_page_bytes(const struct lv_node *node);
/* On every open of node.db: adds the statements.signature column (enum
 * lv_xapi_signature) that nodes made before it lack, and its index. */
enum lv_status store_statements_upgrade(sqlite3 *db) LV_WARN_UNUSED;

/* ---- auditlog.c ---- */
enum lv_status auditlog_open(struct lv_node *node) LV_WARN_UNUSED;
void auditlog_close(struct lv_node *node);
/* Appends @entry (taken: always freed) inside the caller's open node.db
 * transaction, adding "index" and "time"; *@index (may be NULL) gets the
 * entry's index.  Lock held. */
enum lv_status auditlog_append_locked(struct lv_node *node, cJSON *entry, uint64_t *index) LV_WARN_UNUSED;
/* Extends the in-memory tree with entries other processes committed;
 * LV_ERR_CRYPTO if node.db holds fewer or out-of-order entries.  Lock held. */
enum lv_status auditlog_refresh_locked(struct lv_node *node) LV_WARN_UNUSED;
/* After the caller's COMMIT (@committed) or ROLLBACK: the pending leaves
 * join the in-memory tree, or are dropped.  Lock held. */
void auditlog_tx_done(struct lv_node *node, bool committed);


/* Settings with the lock held. */
enum lv_status node_setting_get_locked(struct lv_node *node, const char *name, char **value) LV_WARN_UNUSED;

/* tx.c: drops every module cache (lv_node_cache_*). */
void node_caches_drop(struct lv_node *node);

#endif
