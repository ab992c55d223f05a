/* Per-learner vaults: one SQLCipher file each, its own random key wrapped
 * under the KEK, and a bounded LRU cache of open handles (opening a WAL
 * vault costs ~1 ms; a cached handle is free). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "facts.h"
#include "schema.h"
#include "learnvault/xapi.h"
#include "store.h"

struct vault_entry {
	char pseudonym[LV_PSEUDONYM_LEN];
	sqlite3 *db;
	sqlite3_stmt *stmts[VAULT_STMT_COUNT]; /* prepared on first use */
	unsigned char *facts_key;             /* sodium_malloc: the learner's facts key */
	struct vault_entry *hnext;            /* hash chain */
	struct vault_entry *prev, *next;      /* LRU list, most recent first */
};

struct vault_cache {
	unsigned capacity;
	unsigned count;
	size_t nbuckets;
	struct vault_entry **buckets;
	struct vault_entry *head, *tail;
};

static size_t bucket_of(const struct vault_cache *vc, const char *p)
{
	return (size_t)(util_fnv1a(p) % vc->nbuckets);
}

enum lv_status vault_cache_create(unsigned capacity, struct vault_cache **out)
{
	*out = NULL;
	struct vault_cache *vc = calloc(1, sizeof *vc);
	if (!vc)
		return LV_ERR_NOMEM;
	vc->capacity = capacity ? capacity : 1;
	vc->nbuckets = (size_t)vc->capacity * 2 + 1;
	vc->buckets = calloc(vc->nbuckets, sizeof *vc->buckets);
	if (!vc->buckets) {
		free(vc);
		return LV_ERR_NOMEM;
	}
	*out = vc;
	return LV_OK;
}

static void lru_unlink(struct vault_cache *vc, struct vault_entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		vc->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		vc->tail = e->prev;
	e->prev = e->next = NULL;
}

static void lru_push_front(struct vault_cache *vc, struct vault_entry *e)
{
	e->prev = NULL;
	e->next = vc->head;
	if (vc->head)
		vc->head->prev = e;
	vc->head = e;
	if (!vc->tail)
		vc->tail = e;
}

static void entry_close(struct vault_entry *e)
{
	for (size_t i = 0; i < VAULT_STMT_COUNT; i++)
		sqlite3_finalize(e->stmts[i]);
	sqlite3_close(e->db);
	sodium_free(e->facts_key);
	free(e);
}

static void cache_remove(struct vault_cache *vc, struct vault_entry *e)
{
	struct vault_entry **pp = &vc->buckets[bucket_of(vc, e->pseudonym)];
	while (*pp && *pp != e)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = e->hnext;
	lru_unlink(vc, e);
	vc->count--;
	entry_close(e);
}

void vault_cache_destroy(struct vault_cache *vc)
{
	if (!vc)
		return;
	while (vc->head)
		cache_remove(vc, vc->head);
	free(vc->buckets);
	free(vc);
}

static struct vault_entry *cache_find(struct vault_cache *vc, const char *p)
{
	for (struct vault_entry *e = vc->buckets[bucket_of(vc, p)]; e; e = e->hnext)
		if (strcmp(e->pseudonym, p) == 0)
			return e;
	return NULL;
}

static void vault_path(const struct lv_node *n, const char *p, char *out, size_t len)
{
	snprintf(out, len, "%s/vaults/%s.db", n->dir, p);
}

void vault_wrap_ad(const char *pseudonym, char ad[64])
{
	snprintf(ad, 64, "lv-vault-v1:%s", pseudonym);
}

/* Reads and unwraps learner @p's vault key into @key (KEY_LEN). */
static enum lv_status learner_key(struct lv_node *n, const char *p, unsigned char *key)
{
	sqlite3_stmt *s = NULL;
	enum lv_status st;
	char ad[64];
	int rc = sqlite3_prepare_v2(n->db, "SELECT wrapped_key FROM learners WHERE pseudonym = ?", -1,
				    &s, NULL);
	if (rc != SQLITE_OK)
		return db_status(rc);
	sqlite3_bind_text(s, 1, p, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		st = rc == SQLITE_DONE ? LV_ERR_NOT_FOUND : db_status(rc);
		goto out;
	}
	if (sqlite3_column_bytes(s, 0) != WRAPPED_LEN) {
		st = LV_ERR_CRYPTO;
		goto out;
	}
	vault_wrap_ad(p, ad);
	st = key_unwrap(n->keys->vault_wrap, sqlite3_column_blob(s, 0), ad, key);
out:
	sqlite3_finalize(s);
	return st;
}

/* Puts open vault handle @db of learner @p (its key @key, borrowed) at the
 * front of the cache, which owns it from then on. */
static enum lv_status cache_adopt(struct vault_cache *vc, const char *p, const unsigned char *key, sqlite3 *db)
{
	struct vault_entry *e = calloc(1, sizeof *e);
	if (!e || !(e->facts_key = sodium_malloc(KEY_LEN))) {
		free(e);
		return LV_ERR_NOMEM;
	}
	facts_key_derive(key, e->facts_key);
	if (vc->count >= vc->capacity)
		cache_remove(vc, vc->tail);
	memcpy(e->pseudonym, p, LV_PSEUDONYM_LEN);
	e->db = db;
	size_t b = bucket_of(vc, p);
	e->hnext = vc->buckets[b];
	vc->buckets[b] = e;
	lru_push_front(vc, e);
	vc->count++;
	return LV_OK;
}

enum lv_status vault_get(struct lv_node *n, const char *p, bool create, sqlite3 **out)
{
	*out = NULL;
	struct vault_cache *vc = n->vaults;
	struct vault_entry *e = cache_find(vc, p);
	if (e) {
		lru_unlink(vc, e);
		lru_push_front(vc, e);
		*out = e->db;
		return LV_OK;
	}
	/* Vaults are opened exclusive: a process that does not own them may
	 * only make a new one, and closes it at once (see below). */
	if (!n->own_vaults && !create)
		return LV_ERR_IN_USE;
	enum lv_status st;
	char path[4096];
	sqlite3 *db = NULL;
	unsigned char *key = sodium_malloc(KEY_LEN);
	if (!key)
		return LV_ERR_NOMEM;
	st = learner_key(n, p, key);
	if (st != LV_OK)
		goto out;
	vault_path(n, p, path, sizeof path);
	st = db_open(path, key, create, true, n->vault_page, &db);
	if (st != LV_OK)
		goto out;
	int one = 1;
	/* Keep the -wal file across closes: recreating it costs more than
	 * the cipher on reopen. */
	sqlite3_file_control(db, "main", SQLITE_FCNTL_PERSIST_WAL, &one);
	if (create) {
		st = db_exec(db, VAULT_SCHEMA);
		if (st != LV_OK)
			goto out;
	}
	/* Tables added later: vaults made before them gain them here. */
	if ((st = db_exec(db, VAULT_SCHEMA_ADDITIONS)) != LV_OK)
		goto out;
	/* Small page cache per vault: many are open at once.  (Vaults are
	 * opened exclusive: only this process uses them, and per-transaction
	 * fcntl locks and the -shm mapping cost more than the cipher.) */
	st = db_exec(db, "PRAGMA cache_size = -256;");
	if (st != LV_OK || !n->own_vaults)
		goto out;
	st = cache_adopt(vc, p, key, db);
	if (st == LV_OK) {
		*out = db;
		db = NULL;
	}
out:
	sodium_free(key);
	if (db)
		sqlite3_close(db);
	return st;
}

static const char *const VAULT_SQL[VAULT_STMT_COUNT] = {
	[VAULT_BEGIN] = "BEGIN",
	[VAULT_COMMIT] = "COMMIT",
	[VAULT_INSERT_STATEMENT] = "INSERT OR REPLACE INTO statements(seq, body) VALUES(?, ?)",
	[VAULT_INSERT_ATTACHMENT] = "INSERT OR REPLACE INTO attachments(sha2, content_type, body) VALUES(?, ?, ?)",
	[VAULT_INSERT_ATTACHMENT_OWNER] = "INSERT OR IGNORE INTO attachment_owners(sha2, provider) VALUES(?, ?)",
	/* personal_repo.c binds these (schema.h: VAULT_SCHEMA_ADDITIONS). */
	/* One row always: the learner row's columns (NULL when none yet) and
	 * the number of statements after its checkpoint. */
	[VAULT_P_LEARNER_GET] = "SELECT l.theta, l.answers, l.last_seq, l.config, l.voided, l.id IS NOT NULL,"
				" (SELECT count(*) FROM statements WHERE seq > coalesce(l.last_seq, 0))"
				" FROM (SELECT 1) LEFT JOIN personal_learner l ON l.id = 1",
	[VAULT_P_LEARNER_PUT] = "INSERT OR REPLACE INTO personal_learner(id, theta, answers, last_seq, config, voided)"
				" VALUES(1, ?, ?, ?, ?, ?)",
	[VAULT_P_ITEM_GET] = "SELECT stability, difficulty, last_review, reviews, lapses, last_grade, b, answers, skills"
			     " FROM personal_items WHERE activity = ?",
	[VAULT_P_ITEM_PUT] = "INSERT OR REPLACE INTO personal_items(activity, stability, difficulty, last_review, reviews,"
			     " lapses, last_grade, b, answers, skills) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	[VAULT_P_SKILL_GET] = "SELECT known, responses, correct, updated FROM personal_skills WHERE skill = ?",
	[VAULT_P_SKILL_PUT] = "INSERT OR REPLACE INTO personal_skills(skill, known, responses, correct, updated)"
			      " VALUES(?, ?, ?, ?, ?)",
};

enum lv_status vault_stmt(struct lv_node *n, const char *p, enum vault_stmt_id which, sqlite3_stmt **out)
{
	*out = NULL;
	sqlite3 *db = NULL;
	enum lv_status st = vault_get(n, p, false, &db);
	if (st != LV_OK)
		return st;
	struct vault_entry *e = n->vaults->head; /* vault_get moved it to the front */
	if (!e->stmts[which]) {
		st = db_status(sqlite3_prepare_v2(db, VAULT_SQL[which], -1, &e->stmts[which], NULL));
		if (st != LV_OK)
			return st;
	}
	sqlite3_reset(e->stmts[which]);
	sqlite3_clear_bindings(e->stmts[which]);
	*out = e->stmts[which];
	return LV_OK;
}

enum lv_status vault_facts_key(struct lv_node *n, const char *p, const unsigned char **key)
{
	*key = NULL;
	sqlite3 *db;
	enum lv_status st = vault_get(n, p, false, &db);
	if (st != LV_OK)
		return st;
	*key = cache_find(n->vaults, p)->facts_key;
	return LV_OK;
}

enum lv_status facts_key_unwrap(struct lv_node *n, const char *p, const void *wrapped, size_t len,
				unsigned char *scratch, unsigned char *out)
{
	char ad[64];
	if (len != WRAPPED_LEN)
		return LV_ERR_CRYPTO;
	vault_wrap_ad(p, ad);
	enum lv_status st = key_unwrap(n->keys->vault_wrap, wrapped, ad, scratch);
	if (st == LV_OK)
		facts_key_derive(scratch, out);
	sodium_memzero(scratch, KEY_LEN);
	return st;
}

void vault_unlink_files(const struct lv_node *n, const char *p)
{
	static const char *const EXT[] = {".db", ".db-wal", ".db-shm", ".db-journal"};
	for (size_t i = 0; i < sizeof EXT / sizeof EXT[0]; i++) {
		char path[4096];
		snprintf(path, sizeof path, "%s/vaults/%s%s", n->dir, p, EXT[i]);
		unlink(path);
	}
}

void vault_evict(struct lv_node *n, const char *p)
{
	struct vault_entry *e = cache_find(n->vaults, p);
	if (e)
		cache_remove(n->vaults, e);
}

/* Makes vault @p at its final path, open, with key @key, or fails
 * having removed what it made. */
static enum lv_status vault_make(struct lv_node *n, const char *p, const unsigned char *key, sqlite3 **out)
{
	char path[4096];
	sqlite3 *db = NULL;
	*out = NULL;
	vault_path(n, p, path, sizeof path);
	enum lv_status st = db_open(path, key, true, true, n->vault_page, &db);
	int one = 1;
	if (st == LV_OK)
		sqlite3_file_control(db, "main", SQLITE_FCNTL_PERSIST_WAL, &one);
	if (st == LV_OK)
		st = db_exec(db, VAULT_SCHEMA);
	if (st == LV_OK)
		st = db_exec(db, VAULT_SCHEMA_ADDITIONS);
	if (st == LV_OK)
		st = db_exec(db, "PRAGMA cache_size = -256;");
	if (st != LV_OK) {
		sqlite3_close(db);
		vault_unlink_files(n, p);
		return st;
	}
	*out = db;
	return LV_OK;
}

static struct vault_staged **stage_find(struct lv_node *n, const char *p)
{
	struct vault_staged **pp = &n->staged;
	while (*pp && strcmp((*pp)->pseudonym, p) != 0)
		pp = &(*pp)->next;
	return pp;
}

static void staged_free(struct vault_staged *v)
{
	if (v->key)
		sodium_free(v->key);
	free(v);
}

enum lv_status vault_stage(struct lv_node *n, const char *p, const void *owner, bool *staged)
{
	char path[4096];
	*staged = false;
	vault_path(n, p, path, sizeof path);
	struct vault_staged *v = calloc(1, sizeof *v);
	if (!v || !(v->key = sodium_malloc(KEY_LEN))) {
		free(v);
		return LV_ERR_NOMEM;
	}
	memcpy(v->pseudonym, p, LV_PSEUDONYM_LEN);
	v->owner = owner;
	randombytes_buf(v->key, KEY_LEN);
	pthread_mutex_lock(&n->stage_mu);
	bool free_to_make = !*stage_find(n, p) && access(path, F_OK) != 0;
	if (free_to_make) {
		v->next = n->staged;
		n->staged = v;
	}
	pthread_mutex_unlock(&n->stage_mu);
	if (!free_to_make) {
		staged_free(v);
		return LV_OK;
	}
	sqlite3 *db = NULL;
	enum lv_status st = vault_make(n, p, v->key, &db);
	pthread_mutex_lock(&n->stage_mu);
	if (st == LV_OK) {
		v->db = db;
	} else {
		struct vault_staged **pp = stage_find(n, p);
		*pp = v->next;
		staged_free(v);
	}
	pthread_cond_broadcast(&n->stage_cv);
	pthread_mutex_unlock(&n->stage_mu);
	*staged = st == LV_OK;
	return st;
}

void vault_unstage(struct lv_node *n, const char *p, const void *owner)
{
	pthread_mutex_lock(&n->stage_mu);
	struct vault_staged **pp = stage_find(n, p), *v = *pp;
	if (v && v->owner == owner && v->db) {
		*pp = v->next;
		sqlite3_close(v->db);
		vault_unlink_files(n, p);
		staged_free(v);
	}
	pthread_mutex_unlock(&n->stage_mu);
}

/* The learners row of new learner @p: its vault key (@staged's, or a new
 * random one), stored only wrapped; the kind says whether @identity is an
 * agent or a group.  In a transaction. */
static enum lv_status learner_insert(struct lv_node *n, const char *identity, const char *p,
				     const unsigned char *staged_key)
{
	sqlite3_stmt *s = NULL;
	unsigned char wrapped[WRAPPED_LEN];
	char ad[64];
	unsigned char *key = sodium_malloc(KEY_LEN);
	if (!key)
		return LV_ERR_NOMEM;
	if (staged_key)
		memcpy(key, staged_key, KEY_LEN);
	else
		randombytes_buf(key, KEY_LEN);
	vault_wrap_ad(p, ad);
	enum lv_status st = key_wrap(n->keys->vault_wrap, key, ad, wrapped);
	sodium_free(key);
	if (st != LV_OK)
		return st;
	int rc = sqlite3_prepare_v2(n->db,
				"INSERT INTO learners(pseudonym, wrapped_key, kind, created) VALUES(?, ?, ?, ?)",
				-1, &s, NULL);
	if (rc != SQLITE_OK)
		return db_status(rc);
	sqlite3_bind_text(s, 1, p, -1, SQLITE_STATIC);
	sqlite3_bind_blob(s, 2, wrapped, WRAPPED_LEN, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, strncmp(identity, "group/", 6) == 0 ? "group" :
				strncmp(identity, "anon-group:", 11) == 0 ? "anon-group" : "agent",
			  -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, util_now_ms());
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? LV_OK : db_status(rc);
}

/* Learner @p's vault, open, with its key: the one staged for it (waiting
 * while it is being made), or one made now — under stage_mu, so that no
 * stager makes the same file meanwhile (a stale file of the same name, an
 * earlier failed enrolment, is unreadable with the new key: replaced).
 * *@v owns both; on failure nothing is left on disk. */
static enum lv_status vault_for_new_learner(struct lv_node *n, const char *p, struct vault_staged **out)
{
	*out = NULL;
	pthread_mutex_lock(&n->stage_mu);
	struct vault_staged **pp;
	while (*(pp = stage_find(n, p)) && !(*pp)->db)
		pthread_cond_wait(&n->stage_cv, &n->stage_mu);
	struct vault_staged *v = *pp;
	enum lv_status st = LV_OK;
	if (v) {
		*pp = v->next;
		v->next = NULL;
	} else if (!(v = calloc(1, sizeof *v)) || !(v->key = sodium_malloc(KEY_LEN))) {
		free(v);
		v = NULL;
		st = LV_ERR_NOMEM;
	} else {
		memcpy(v->pseudonym, p, LV_PSEUDONYM_LEN);
		randombytes_buf(v->key, KEY_LEN);
		vault_unlink_files(n, p);
		st = vault_make(n, p, v->key, &v->db);
	}
	pthread_mutex_unlock(&n->stage_mu);
	if (st != LV_OK && v) {
		staged_free(v);
		v = NULL;
	}
	*out = v;
	return st;
}

/* Enrols new learner @p: its learners row, its vault (staged or made
 * now) in the cache — key and file appear together — and the enrolment
 * entry.  In a transaction: a rollback removes the row, the handle and
 * the file (lv_tx_close_locked). */
static enum lv_status learner_enrol_new(struct lv_node *n, const char *identity, const char *p)
{
	struct lv_tx *tx = lv_tx_current(n);
	struct vault_staged *v = NULL;
	if (!tx)
		return LV_ERR_INTERNAL; /* enrolment writes: it needs a transaction */
	enum lv_status st = vault_for_new_learner(n, p, &v);
	if (st != LV_OK)
		return st;
	st = store_tx_vault_created(tx, p);
	if (st == LV_OK)
		st = learner_insert(n, identity, p, v->key);
	if (st == LV_OK && n->own_vaults) {
		st = cache_adopt(n->vaults, p, v->key, v->db);
		if (st == LV_OK)
			v->db = NULL;
	}
	if (v->db) /* not adopted: a process that does not own the vaults closes it at once */
		sqlite3_close(v->db);
	if (st != LV_OK && v->db)
		vault_unlink_files(n, p);
	staged_free(v);
	if (st != LV_OK)
		return st;
	cJSON *e = cJSON_CreateObject();
	cJSON_AddStringToObject(e, "type", "enrolment");
	cJSON_AddStringToObject(e, "learner", p);
	return lv_tx_audit(tx, e, NULL);
}

enum lv_status learner_resolve(struct lv_node *n, const char *identity, bool create,
			       char p[LV_PSEUDONYM_LEN], bool *created)
{
	sqlite3_stmt *s = NULL;
	if (created)
		*created = false;
	key_pseudonym(n->keys, identity, p);
	int rc = sqlite3_prepare_v2(n->db, "SELECT 1 FROM learners WHERE pseudonym = ?", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return db_status(rc);
	sqlite3_bind_text(s, 1, p, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc == SQLITE_ROW)
		return LV_OK;
	if (rc != SQLITE_DONE)
		return db_status(rc);
	if (!create)
		return LV_ERR_NOT_FOUND;
	enum lv_status st = learner_enrol_new(n, identity, p);
	if (st == LV_OK && created)
		*created = true;
	return st;
}

enum lv_status lv_learner_enrol(struct lv_node *n, const char *actor_json, char p[LV_PSEUDONYM_LEN],
				bool *created)
{
	enum lv_status st;
	char err[LV_XAPI_ERR_LEN];
	char *id = NULL;
	p[0] = '\0';
	*created = false;
	cJSON *actor = cJSON_Parse(actor_json);
	if (!actor)
		return LV_ERR_INVALID;
	st = lv_xapi_validate_agent(actor, true, err);
	if (st == LV_OK)
		st = lv_xapi_actor_identity(actor, 8192, &id);
	if (st != LV_OK)
		goto out;
	struct lv_tx *tx;
	st = lv_tx_begin(n, &tx);
	if (st == LV_OK)
		st = lv_tx_end(tx, learner_resolve(n, id, true, p, created));
out:
	if (st != LV_OK) {
		p[0] = '\0';
		*created = false;
	}
	cJSON_Delete(actor);
	free(id);
	return st;
}

enum lv_status lv_learner_count(struct lv_node *n, int64_t *count)
{
	*count = 0;
	sqlite3_stmt *s = NULL;
	int rc = lv_store_lock(n) == LV_OK ? SQLITE_OK : SQLITE_ERROR;
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(n->db, "SELECT count(*) FROM learners", -1, &s, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW)
		*count = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	lv_store_unlock(n);
	return rc == SQLITE_ROW ? LV_OK : db_status(rc);
}
