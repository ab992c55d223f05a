/* The node lock and the one transaction object.
 *
 * Every storage operation runs between lv_store_lock() and lv_store_unlock();
 * every write to node.db between lv_tx_begin() and lv_tx_end(),
 * which own BEGIN IMMEDIATE, COMMIT or ROLLBACK, the audit entries of the
 * transaction, the caches a rollback invalidates and the unlock.
 *
 * Several processes may have one node open (a server and CLI commands).
 * What a process keeps in memory about node.db (the audit tree, term ids,
 * activity definitions, the personalisation configuration, settings) is
 * brought up to date whenever another connection committed since this
 * process last looked: SQLite's data_version tells, at the cost of one
 * pragma per lock. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "learnvault/audit.h"
#include "facts.h"
#include "store.h"

static enum lv_status data_version(struct lv_node *n, int64_t *v)
{
	*v = 0;
	if (!n->dv_stmt) {
		int rc = sqlite3_prepare_v2(n->db, "PRAGMA data_version;", -1, &n->dv_stmt, NULL);
		if (rc != SQLITE_OK)
			return db_status(rc);
	}
	int rc = sqlite3_step(n->dv_stmt);
	if (rc == SQLITE_ROW)
		*v = sqlite3_column_int64(n->dv_stmt, 0);
	sqlite3_reset(n->dv_stmt);
	return rc == SQLITE_ROW ? LV_OK : db_status(rc);
}

/* Forgets what this process cached from node.db; the next use reloads it. */
static void forget_caches(struct lv_node *n)
{
	memset(n->act_seen, 0, sizeof n->act_seen);
	facts_terms_forget(n);
	node_caches_drop(n);
}

void *lv_node_cache_get(struct lv_node *n, enum lv_node_cache slot)
{
	store_assert_locked(n);
	return n->cache[slot].value;
}

void lv_node_cache_set(struct lv_node *n, enum lv_node_cache slot, void *value, void (*destroy)(void *))
{
	if (n->cache[slot].value && n->cache[slot].destroy)
		n->cache[slot].destroy(n->cache[slot].value);
	n->cache[slot].value = value;
	n->cache[slot].destroy = destroy;
}

void node_caches_drop(struct lv_node *n)
{
	for (int i = 0; i < LV_CACHE_COUNT; i++)
		lv_node_cache_set(n, (enum lv_node_cache)i, NULL, NULL);
}

enum lv_status node_sync_locked(struct lv_node *n)
{
	int64_t v;
	enum lv_status st = data_version(n, &v);
	if (st != LV_OK || v == n->data_version)
		return st;
	/* Another process committed: its audit entries extend our tree, and
	 * anything we cached may be stale. */
	forget_caches(n);
	st = auditlog_refresh_locked(n);
	if (st == LV_OK)
		st = node_settings_load_locked(n);
	if (st == LV_OK)
		n->data_version = v;
	return st;
}

static void lock_only(struct lv_node *n)
{
	pthread_mutex_lock(&n->lock);
	n->lock_owner = pthread_self();
	n->locked = true;
}

enum lv_status store_lock_log_size(struct lv_node *n, uint64_t size)
{
	lock_only(n);
	/* A proof up to a size this process already holds is the same
	 * whatever others appended since: refresh only past it. */
	return size <= lv_merkle_size(n->audit) ? LV_OK : node_sync_locked(n);
}

enum lv_status lv_store_lock(struct lv_node *n)
{
	lock_only(n);
	return node_sync_locked(n);
}

void lv_store_unlock(struct lv_node *n)
{
	store_assert_locked(n);
	n->locked = false;
	pthread_mutex_unlock(&n->lock);
}

bool lv_store_lock_held(const struct lv_node *n)
{
	return n->locked && pthread_equal(n->lock_owner, pthread_self());
}

enum lv_status lv_tx_open_locked(struct lv_node *n, struct lv_tx **out)
{
	*out = NULL;
	store_assert_locked(n);
	if (n->tx.active)
		return LV_ERR_INTERNAL;
	enum lv_status st = db_exec(n->db, "BEGIN IMMEDIATE;");
	if (st != LV_OK)
		return st;
	/* Holding the write lock now: nobody commits until we end, so this
	 * view stays exact for the whole transaction. */
	st = node_sync_locked(n);
	if (st != LV_OK) {
		if (db_exec(n->db, "ROLLBACK;") != LV_OK) { /* nothing was written */ }
		return st;
	}
	n->tx.node = n;
	n->tx.active = true;
	n->tx.ncreated = 0;
	*out = &n->tx;
	return LV_OK;
}

enum lv_status lv_tx_close_locked(struct lv_tx *tx, enum lv_status st)
{
	struct lv_node *n = tx->node;
	store_assert_locked(n);
	if (st == LV_OK)
		st = db_exec(n->db, "COMMIT;");
	if (st != LV_OK) {
		if (db_exec(n->db, "ROLLBACK;") != LV_OK) { /* nothing more to undo */ }
		/* Vaults enrolled by this transaction lost their key row. */
		for (size_t k = 0; k < tx->ncreated; k++) {
			vault_evict(n, tx->created[k]);
			vault_unlink_files(n, tx->created[k]);
		}
		forget_caches(n);
	}
	auditlog_tx_done(n, st == LV_OK);
	tx->active = false;
	tx->ncreated = 0;
	return st;
}

enum lv_status lv_tx_begin(struct lv_node *n, struct lv_tx **out)
{
	*out = NULL;
	/* No refresh before BEGIN: lv_tx_open_locked refreshes once it holds
	 * the write lock, which is the view that counts. */
	lock_only(n);
	enum lv_status st = lv_tx_open_locked(n, out);
	if (st != LV_OK)
		lv_store_unlock(n);
	return st;
}

enum lv_status lv_tx_end(struct lv_tx *tx, enum lv_status st)
{
	struct lv_node *n = tx->node;
	st = lv_tx_close_locked(tx, st);
	lv_store_unlock(n);
	return st;
}

enum lv_status lv_tx_audit(struct lv_tx *tx, cJSON *entry, uint64_t *index)
{
	if (!tx || !tx->active) { /* an audit entry outside a transaction is a bug */
		cJSON_Delete(entry);
		if (index)
			*index = 0;
		return LV_ERR_INTERNAL;
	}
	return auditlog_append_locked(tx->node, entry, index);
}

enum lv_status store_tx_vault_created(struct lv_tx *tx, const char *pseudonym)
{
	enum lv_status st = util_array_grow((void **)&tx->created, sizeof *tx->created, &tx->capcreated,
					    tx->ncreated + 1, SIZE_MAX / sizeof *tx->created);
	if (st != LV_OK)
		return st;
	memcpy(tx->created[tx->ncreated++], pseudonym, LV_PSEUDONYM_LEN);
	return LV_OK;
}

struct lv_tx *lv_tx_current(struct lv_node *n)
{
	store_assert_locked(n);
	return n->tx.active ? &n->tx : NULL;
}
