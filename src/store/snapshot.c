/* The snapshot connection: a second node.db handle for long reads.
 *
 * The aggregate door reads the sealed facts of a whole cohort (seconds at
 * 10^5 learners).  On node->db that read would hold node->lock, and with
 * it every ingest batch and learner request, for its whole length.  This
 * connection instead holds one read transaction: in WAL mode it keeps
 * seeing node.db as committed when that transaction began, while node->db
 * goes on writing, so the reader needs no lock at all.  One user at a
 * time (node->snap_lock), so one connection is enough. */
#include <stdio.h>

#include "store.h"

void snapshot_acquire(struct lv_node *n)
{
	pthread_mutex_lock(&n->snap_lock);
}

enum lv_status snapshot_begin_locked(struct lv_node *n, sqlite3 **db)
{
	enum lv_status st = LV_OK;
	*db = NULL;
	if (!n->snap_db) {
		char p[4096];
		snprintf(p, sizeof p, "%s/node.db", n->dir);
		st = db_open(p, n->keys->node_db, false, false, NODE_DB_PAGE, &n->snap_db);
		/* It only ever reads: refuse a write that a bug might send it. */
		if (st == LV_OK && (st = db_exec(n->snap_db, "PRAGMA query_only = ON;")) != LV_OK) {
			sqlite3_close(n->snap_db);
			n->snap_db = NULL;
		}
		if (st != LV_OK)
			return st;
	}
	/* BEGIN alone takes no snapshot: the first read does.  Both happen
	 * here, under the lock, so no commit can fall between the caller's
	 * last write and the version this transaction sees. */
	st = db_exec(n->snap_db, "BEGIN; SELECT count(*) FROM sqlite_master;");
	if (st != LV_OK) {
		if (db_exec(n->snap_db, "ROLLBACK;") != LV_OK) { /* no transaction was open */ }
		return st;
	}
	n->snap_reading = true;
	*db = n->snap_db;
	return LV_OK;
}

void snapshot_release(struct lv_node *n)
{
	/* Ending the read lets checkpoints move past the version it kept. */
	if (n->snap_reading && db_exec(n->snap_db, "COMMIT;") != LV_OK &&
	    db_exec(n->snap_db, "ROLLBACK;") != LV_OK) {
		/* A handle that cannot end its read is closed: the next user
		 * opens a fresh one. */
		sqlite3_close(n->snap_db);
		n->snap_db = NULL;
	}
	n->snap_reading = false;
	pthread_mutex_unlock(&n->snap_lock);
}

void snapshot_close(struct lv_node *n)
{
	if (n->snap_db)
		sqlite3_close(n->snap_db);
	n->snap_db = NULL;
	n->snap_reading = false;
}
