/* A smaller page cache for node.db, for a process that must stay within a
 * memory bound (`learnvault ingest`): the node opens node.db with 64 MiB of
 * cache (node.c), which a long import would fill. */
#include <stdio.h>

#include "store.h"

enum lv_status lv_store_cache_limit(struct lv_node *n, unsigned kib)
{
	char sql[64];
	snprintf(sql, sizeof sql, "PRAGMA cache_size = -%u;", kib ? kib : 1);
	enum lv_status st = lv_store_lock(n);
	if (st == LV_OK)
		st = db_exec(n->db, sql);
	lv_store_unlock(n);
	return st;
}
