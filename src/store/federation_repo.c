/* Federation storage in node.db (include/learnvault/store.h,
 * "federation"): the DAP tasks a node serves, which learners were
 * uploaded per task and batch interval, and the outbox of sealed reports
 * not yet accepted by the Leader.  Who may be uploaded, and the audit
 * entries, are query/federate.c's. */
#include <stdlib.h>
#include <string.h>

#include "store.h"

#define OUTBOX_REPORT_MAX (1u << 24) /* bytes of one sealed report */

/* A copy of column @col of @s's current row; NULL when the column is. */
static char *column_dup(sqlite3_stmt *s, int col)
{
	const char *t = (const char *)sqlite3_column_text(s, col);
	return t ? strdup(t) : NULL;
}

enum lv_status lv_store_fed_task_get(struct lv_node *n, const char *task_id, char **spec)
{
	sqlite3_stmt *s = NULL;
	*spec = NULL;
	store_assert_locked(n);
	enum lv_status st = db_status(sqlite3_prepare_v2(n->db, "SELECT spec FROM fed_tasks WHERE task_id = ?", -1, &s,
							 NULL));
	if (st != LV_OK)
		return st;
	sqlite3_bind_text(s, 1, task_id, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		st = (*spec = column_dup(s, 0)) ? LV_OK : LV_ERR_NOMEM;
	else
		st = rc == SQLITE_DONE ? LV_ERR_NOT_FOUND : db_status(rc);
	sqlite3_finalize(s);
	return st;
}

enum lv_status lv_store_fed_task_put(struct lv_node *n, const char *task_id, const char *spec, int64_t now_ms)
{
	char *old = NULL;
	sqlite3_stmt *s = NULL;
	enum lv_status st = lv_store_fed_task_get(n, task_id, &old);
	if (st == LV_OK) {
		st = strcmp(old, spec) == 0 ? LV_ERR_EXISTS : LV_ERR_CONFLICT;
		free(old);
		return st;
	}
	if (st != LV_ERR_NOT_FOUND)
		return st;
	st = db_status(sqlite3_prepare_v2(n->db, "INSERT INTO fed_tasks(task_id, spec, added) VALUES(?, ?, ?)", -1, &s,
					  NULL));
	if (st == LV_OK) {
		sqlite3_bind_text(s, 1, task_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, spec, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 3, now_ms);
		st = db_status(sqlite3_step(s));
	}
	sqlite3_finalize(s);
	return st;
}

enum lv_status lv_store_fed_task_list(struct lv_node *n, cJSON **tasks)
{
	sqlite3_stmt *s = NULL;
	*tasks = NULL;
	store_assert_locked(n);
	enum lv_status st = db_status(sqlite3_prepare_v2(n->db,
		"SELECT t.task_id, t.added, t.spec, (SELECT count(*) FROM fed_outbox o WHERE o.task_id = t.task_id)"
		" FROM fed_tasks t ORDER BY t.task_id", -1, &s, NULL));
	if (st != LV_OK)
		return st;
	cJSON *a = cJSON_CreateArray();
	int rc;
	while (st == LV_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		cJSON *spec = cJSON_Parse((const char *)sqlite3_column_text(s, 2));
		cJSON *t = cJSON_CreateObject();
		if (!spec || !t) {
			cJSON_Delete(spec);
			cJSON_Delete(t);
			st = spec ? LV_ERR_NOMEM : LV_ERR_DB;
			break;
		}
		cJSON_AddStringToObject(t, "task_id", (const char *)sqlite3_column_text(s, 0));
		char added[UTIL_TIME_LEN];
		util_time_format(sqlite3_column_int64(s, 1), added);
		cJSON_AddStringToObject(t, "added", added);
		cJSON_AddItemToObject(t, "spec", spec);
		cJSON_AddNumberToObject(t, "outbox", (double)sqlite3_column_int64(s, 3));
		cJSON_AddItemToArray(a, t);
	}
	if (st == LV_OK && rc != SQLITE_DONE)
		st = db_status(rc);
	sqlite3_finalize(s);
	if (st == LV_OK)
		*tasks = a;
	else
		cJSON_Delete(a);
	return st;
}

enum lv_status lv_store_fed_uploaded(struct lv_node *n, const char *task_id, int64_t interval,
				     const char *const *learners, size_t count, bool *uploaded)
{
	sqlite3_stmt *s = NULL;
	memset(uploaded, 0, count * sizeof *uploaded);
	store_assert_locked(n);
	enum lv_status st = db_status(sqlite3_prepare_v2(n->db,
		"SELECT 1 FROM fed_uploads WHERE task_id = ? AND interval = ? AND learner = ?", -1, &s, NULL));
	for (size_t i = 0; st == LV_OK && i < count; i++) {
		sqlite3_reset(s);
		sqlite3_bind_text(s, 1, task_id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 2, interval);
		sqlite3_bind_text(s, 3, learners[i], -1, SQLITE_STATIC);
		int rc = sqlite3_step(s);
		if (rc == SQLITE_ROW)
			uploaded[i] = true;
		else if (rc != SQLITE_DONE)
			st = db_status(rc);
	}
	sqlite3_finalize(s);
	return st;
}

enum lv_status lv_store_fed_mark_uploaded(struct lv_node *n, const char *task_id, int64_t interval,
					  const char *const *learners, size_t count)
{
	sqlite3_stmt *s = NULL;
	store_assert_locked(n);
	enum lv_status st = db_status(sqlite3_prepare_v2(n->db,
		"INSERT INTO fed_uploads(task_id, interval, learner) VALUES(?, ?, ?)", -1, &s, NULL));
	for (size_t i = 0; st == LV_OK && i < count; i++) {
		sqlite3_reset(s);
		sqlite3_bind_text(s, 1, task_id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 2, interval);
		sqlite3_bind_text(s, 3, learners[i], -1, SQLITE_STATIC);
		st = db_status(sqlite3_step(s));
	}
	sqlite3_finalize(s);
	return st;
}

enum lv_status lv_store_fed_outbox_put(struct lv_node *n, const char *task_id, const unsigned char *report,
				       size_t len, int64_t now_ms)
{
	sqlite3_stmt *s = NULL;
	store_assert_locked(n);
	if (len == 0 || len > OUTBOX_REPORT_MAX)
		return LV_ERR_TOO_LARGE;
	enum lv_status st = db_status(sqlite3_prepare_v2(n->db,
		"INSERT INTO fed_outbox(task_id, report, created) VALUES(?, ?, ?)", -1, &s, NULL));
	if (st == LV_OK) {
		sqlite3_bind_text(s, 1, task_id, -1, SQLITE_STATIC);
		sqlite3_bind_blob(s, 2, report, (int)len, SQLITE_STATIC);
		sqlite3_bind_int64(s, 3, now_ms);
		st = db_status(sqlite3_step(s));
	}
	sqlite3_finalize(s);
	return st;
}

/* One row's report into @it. */
static enum lv_status outbox_row(sqlite3_stmt *s, struct lv_store_fed_report *it)
{
	int n_bytes = sqlite3_column_bytes(s, 1);
	const void *b = sqlite3_column_blob(s, 1);
	if (n_bytes <= 0 || !b || (size_t)n_bytes > OUTBOX_REPORT_MAX)
		return LV_ERR_DB;
	if (!(it->report = malloc((size_t)n_bytes)))
		return LV_ERR_NOMEM;
	memcpy(it->report, b, (size_t)n_bytes);
	it->len = (size_t)n_bytes;
	it->id = sqlite3_column_int64(s, 0);
	return LV_OK;
}

enum lv_status lv_store_fed_outbox_batch(struct lv_node *n, const char *task_id, int64_t after, size_t max,
					 struct lv_store_fed_report **items, size_t *count)
{
	sqlite3_stmt *s = NULL;
	*items = NULL;
	*count = 0;
	store_assert_locked(n);
	struct lv_store_fed_report *v = calloc(max ? max : 1, sizeof *v);
	if (!v)
		return LV_ERR_NOMEM;
	enum lv_status st = db_status(sqlite3_prepare_v2(n->db,
		"SELECT id, report FROM fed_outbox WHERE task_id = ? AND id > ? ORDER BY id LIMIT ?", -1, &s, NULL));
	size_t k = 0;
	if (st == LV_OK) {
		sqlite3_bind_text(s, 1, task_id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 2, after);
		sqlite3_bind_int64(s, 3, (int64_t)max);
		int rc = SQLITE_DONE;
		while (st == LV_OK && k < max && (rc = sqlite3_step(s)) == SQLITE_ROW)
			if ((st = outbox_row(s, &v[k])) == LV_OK)
				k++;
		if (st == LV_OK && k < max && rc != SQLITE_DONE)
			st = db_status(rc);
	}
	sqlite3_finalize(s);
	if (st != LV_OK) {
		lv_store_fed_reports_free(v, k);
		return st;
	}
	*items = v;
	*count = k;
	return LV_OK;
}

void lv_store_fed_reports_free(struct lv_store_fed_report *items, size_t count)
{
	for (size_t i = 0; items && i < count; i++)
		free(items[i].report);
	free(items);
}

enum lv_status lv_store_fed_outbox_delete(struct lv_node *n, const int64_t *ids, size_t count)
{
	sqlite3_stmt *s = NULL;
	store_assert_locked(n);
	enum lv_status st = db_status(sqlite3_prepare_v2(n->db, "DELETE FROM fed_outbox WHERE id = ?", -1, &s, NULL));
	for (size_t i = 0; st == LV_OK && i < count; i++) {
		sqlite3_reset(s);
		sqlite3_bind_int64(s, 1, ids[i]);
		st = db_status(sqlite3_step(s));
	}
	sqlite3_finalize(s);
	return st;
}
