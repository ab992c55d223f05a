/* The snapshot connection: a second node.db handle for long reads.
 *
 * The aggregate door reads the sealed facts of a whole cohort (seconds at
 * 10^5 learners).  On node->db that read would hold node->lock, and with
 * it every ingest batch and learner request, for its whole length.  This
 * connection instead holds one read transaction: in WAL mode it keeps
 * seeing node.db as committed when that transaction began, while node->db
 * goes on writing, so the reader needs no lock at all.  One user at a
 * time (node->snap_lock), so one connection is enough.  The API is in
 * include/learnvault/store.h; query_repo.c reads the facts through it. */
#include <stdio.h>

#include "store.h"

void lv_store_snapshot_acquire(struct lv_node *n)
{
	pthread_mutex_lock(&n->snap_lock);
}

enum lv_status lv_store_snapshot_begin_locked(struct lv_node *n)
{
	enum lv_status st = LV_OK;
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
	n->snap_reading = true; /* under the lock: erasures look at it */
	return LV_OK;
}

/* Folds the WAL into node.db and truncates it.  Lock held. */
static void truncate_wal_locked(struct lv_node *n)
{
	if (db_exec(n->db, "PRAGMA wal_checkpoint(TRUNCATE);") != LV_OK) {
		/* Busy (another process reading): the next truncation does it. */
	}
}

void snapshot_truncate_wal_locked(struct lv_node *n)
{
	/* A truncating checkpoint waits (the busy timeout, seconds) for every
	 * reader of older frames, and the snapshot read is one: waiting here
	 * would stop the node, and still leave the frames while the read
	 * lasts.  The read's end truncates instead. */
	if (n->snap_reading)
		n->snap_truncate_due = true;
	else
		truncate_wal_locked(n);
}

void lv_store_snapshot_release(struct lv_node *n)
{
	/* Ending the read lets checkpoints move past the version it kept. */
	if (n->snap_reading && db_exec(n->snap_db, "COMMIT;") != LV_OK &&
	    db_exec(n->snap_db, "ROLLBACK;") != LV_OK) {
		/* A handle that cannot end its read is closed: the next user
		 * opens a fresh one. */
		sqlite3_close(n->snap_db);
		n->snap_db = NULL;
	}
	if (lv_store_lock(n) != LV_OK) { /* the flags below are this process's own */ }
	n->snap_reading = false;
	if (n->snap_truncate_due) {
		n->snap_truncate_due = false;
		truncate_wal_locked(n);
	}
	lv_store_unlock(n);
	pthread_mutex_unlock(&n->snap_lock);
}

void snapshot_close(struct lv_node *n)
{
	if (n->snap_db)
		sqlite3_close(n->snap_db);
	n->snap_db = NULL;
	n->snap_reading = false;
}
