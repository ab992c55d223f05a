/* The statement reads the doors run (door/readback.c, door/learner.c,
 * door/export.c): rows, and the learner each row belongs to.  Nothing is
 * decided or logged here; the door runs the access check, which writes
 * the access entries, before it releases what these return. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "learnvault/statements.h"
#include "learnvault/store.h"
#include "learnvault/xapi.h"
#include "store.h"

enum lv_status lv_store_statements_get(struct lv_node *n, const char *provider, const char *id, bool voided,
				       cJSON **statement, char learner[LV_PSEUDONYM_LEN])
{
	*statement = NULL;
	learner[0] = '\0';
	store_assert_locked(n);
	sqlite3_stmt *s = NULL;
	char p[LV_PSEUDONYM_LEN];
	enum lv_status st = db_status(sqlite3_prepare_v2(
		n->db, "SELECT learner, voided, seq FROM statements WHERE id = ? AND provider = ?", -1, &s, NULL));
	if (st != LV_OK)
		goto out;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, provider, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		st = rc == SQLITE_DONE ? LV_ERR_NOT_FOUND : db_status(rc);
		goto out;
	}
	if ((sqlite3_column_int(s, 1) != 0) != voided) {
		st = LV_ERR_NOT_FOUND;
		goto out;
	}
	snprintf(p, sizeof p, "%s", (const char *)sqlite3_column_text(s, 0));
	st = store_statement_body(n, p, sqlite3_column_int64(s, 2), statement, NULL);
	if (st == LV_OK)
		memcpy(learner, p, LV_PSEUDONYM_LEN);
out:
	sqlite3_finalize(s);
	return st;
}

/* The SQL of a provider's query (parameters ?1 provider, ?2 verb,
 * ?3 registration, ?4 since, ?5 until, ?6 cursor, ?7 agent pseudonym,
 * ?8 activity), asking one row past @limit to know whether a page follows. */
static enum lv_status query_sql(const struct lv_statement_query *q, unsigned limit, struct buf *sql)
{
	enum lv_status st;
	/* xAPI 1.0.3 Communication 2.1.3: for the non-time filters, a
	 * statement whose object is a StatementRef matches when the statement
	 * it targets matches (voiding statements included).  The matching set
	 * is built first, then time, paging and voided filters apply. */
	bool filtered = q->verb || q->registration || q->agent || q->activity;
	if (filtered) {
		st = buf_append_str(sql, "WITH RECURSIVE m(id) AS (SELECT id FROM statements WHERE provider = ?1");
		if (q->verb)
			st = st ? st : buf_append_str(sql, " AND verb = ?2");
		if (q->registration)
			st = st ? st : buf_append_str(sql, " AND registration = ?3");
		if (q->agent)
			st = st ? st : buf_printf(sql, " AND seq IN (SELECT seq FROM statement_keys WHERE key = ?7 AND kind IN (%d%s))",
						  LV_XAPI_KEY_AGENT, q->related_agents ? ", 1" : "");
		if (q->activity)
			st = st ? st : buf_printf(sql, " AND seq IN (SELECT seq FROM statement_keys WHERE key = ?8 AND kind IN (%d%s))",
						  LV_XAPI_KEY_ACTIVITY, q->related_activities ? ", 3" : "");
		st = st ? st : buf_append_str(sql, " UNION SELECT s.id FROM statements s JOIN m ON s.ref = m.id"
						   " WHERE s.provider = ?1) ");
	} else {
		st = LV_OK;
	}
	st = st ? st : buf_append_str(sql, "SELECT seq, learner, id FROM statements WHERE provider = ?1 AND voided = 0");
	if (filtered)
		st = st ? st : buf_append_str(sql, " AND id IN (SELECT id FROM m)");
	if (q->since_ms != INT64_MIN)
		st = st ? st : buf_append_str(sql, " AND stored > ?4");
	if (q->until_ms != INT64_MAX)
		st = st ? st : buf_append_str(sql, " AND stored <= ?5");
	if (q->after_seq)
		st = st ? st : buf_append_str(sql, q->ascending ? " AND seq > ?6" : " AND seq < ?6");
	st = st ? st : buf_printf(sql, " ORDER BY seq %s LIMIT %u", q->ascending ? "ASC" : "DESC", limit + 1);
	return st;
}

static void query_bind(sqlite3_stmt *s, const char *provider, const struct lv_statement_query *q,
		       const char *agent_p)
{
	sqlite3_bind_text(s, 1, provider, -1, SQLITE_STATIC);
	if (q->verb)
		sqlite3_bind_text(s, 2, q->verb, -1, SQLITE_STATIC);
	if (q->registration)
		sqlite3_bind_text(s, 3, q->registration, -1, SQLITE_STATIC);
	if (q->since_ms != INT64_MIN)
		sqlite3_bind_int64(s, 4, q->since_ms);
	if (q->until_ms != INT64_MAX)
		sqlite3_bind_int64(s, 5, q->until_ms);
	if (q->after_seq)
		sqlite3_bind_int64(s, 6, q->after_seq);
	if (q->agent)
		sqlite3_bind_text(s, 7, agent_p, -1, SQLITE_STATIC);
	if (q->activity)
		sqlite3_bind_text(s, 8, q->activity, -1, SQLITE_STATIC);
}

enum lv_status lv_store_statements_query(struct lv_node *n, const char *provider, const struct lv_statement_query *q,
					 cJSON **statements, char (**learners)[LV_PSEUDONYM_LEN], int64_t *next_seq)
{
	*statements = NULL;
	*learners = NULL;
	*next_seq = 0;
	store_assert_locked(n);
	struct buf sql;
	buf_init(&sql, 8192);
	sqlite3_stmt *s = NULL;
	char *agent_id = NULL;
	char agent_p[LV_PSEUDONYM_LEN] = "";
	char (*rows)[LV_PSEUDONYM_LEN] = NULL;
	cJSON *arr = cJSON_CreateArray();
	int64_t next = 0;
	unsigned limit = q->limit && q->limit < LV_QUERY_MAX_LIMIT ? q->limit : LV_QUERY_MAX_LIMIT;
	enum lv_status st = arr ? LV_OK : LV_ERR_NOMEM;
	if (st == LV_OK && q->agent) {
		/* The index holds agents only as pseudonyms. */
		st = lv_xapi_actor_identity(q->agent, IDENTITY_MAX, &agent_id);
		if (st == LV_OK)
			key_pseudonym(n->keys, agent_id, agent_p);
	}
	if (st == LV_OK)
		st = query_sql(q, limit, &sql);
	if (st == LV_OK)
		st = db_status(sqlite3_prepare_v2(n->db, sql.data, -1, &s, NULL));
	if (st == LV_OK && !(rows = calloc(limit + 1, sizeof *rows)))
		st = LV_ERR_NOMEM;
	if (st != LV_OK)
		goto out;
	query_bind(s, provider, q, agent_p);
	unsigned got = 0;
	int rc;
	int64_t last_seq = 0;
	size_t bytes = 0, cap = store_page_bytes(n);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		/* A page ends at the limit, or once its statements pass the
		 * byte cap (one statement always fits): the rest is "more". */
		if (got == limit || bytes >= cap) {
			next = last_seq;
			break;
		}
		cJSON *body = NULL;
		size_t len = 0;
		last_seq = sqlite3_column_int64(s, 0);
		snprintf(rows[got], LV_PSEUDONYM_LEN, "%s", (const char *)sqlite3_column_text(s, 1));
		st = store_statement_body(n, rows[got], last_seq, &body, &len);
		if (st != LV_OK)
			goto out;
		cJSON_AddItemToArray(arr, body);
		bytes += len;
		got++;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		st = db_status(rc);
out:
	sqlite3_finalize(s);
	buf_free(&sql);
	free(agent_id);
	if (st != LV_OK) {
		cJSON_Delete(arr);
		free(rows);
		return st;
	}
	*statements = arr;
	*learners = rows;
	*next_seq = next;
	return LV_OK;
}

enum lv_status lv_store_statements_learner_page(struct lv_node *n, const char *learner, int64_t after_seq,
						int64_t until_seq, unsigned limit, cJSON **statements, int64_t *next_seq)
{
	*statements = NULL;
	*next_seq = 0;
	store_assert_locked(n);
	sqlite3_stmt *s = NULL;
	int64_t next = 0;
	cJSON *arr = cJSON_CreateArray();
	if (limit == 0 || limit > LV_QUERY_MAX_LIMIT)
		limit = LV_QUERY_MAX_LIMIT;
	enum lv_status st = arr ? LV_OK : LV_ERR_NOMEM;
	/* Through the index: only committed statements, in stored order. */
	if (st == LV_OK)
		st = db_status(sqlite3_prepare_v2(
			n->db, "SELECT seq FROM statements WHERE learner = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?", -1,
			&s, NULL));
	if (st == LV_OK) {
		sqlite3_bind_text(s, 1, learner, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 2, after_seq);
		sqlite3_bind_int64(s, 3, until_seq > 0 ? until_seq : INT64_MAX);
		sqlite3_bind_int64(s, 4, (sqlite3_int64)limit + 1);
		unsigned got = 0;
		int rc;
		int64_t last = 0;
		size_t bytes = 0, cap = store_page_bytes(n);
		while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
			if (got == limit || bytes >= cap) { /* as in lv_store_statements_query */
				next = last;
				break;
			}
			cJSON *body = NULL;
			size_t len = 0;
			last = sqlite3_column_int64(s, 0);
			st = store_statement_body(n, learner, last, &body, &len);
			if (st != LV_OK)
				break;
			cJSON_AddItemToArray(arr, body);
			bytes += len;
			got++;
		}
		if (st == LV_OK && rc != SQLITE_ROW && rc != SQLITE_DONE)
			st = db_status(rc);
	}
	sqlite3_finalize(s);
	if (st != LV_OK) {
		cJSON_Delete(arr);
		return st;
	}
	*statements = arr;
	*next_seq = next;
	return LV_OK;
}

enum lv_status lv_store_learner_statements_span(struct lv_node *n, const char *learner, int64_t *count,
						int64_t *last_seq)
{
	*count = 0;
	*last_seq = 0;
	store_assert_locked(n);
	sqlite3_stmt *s = NULL;
	enum lv_status st = db_status(
		sqlite3_prepare_v2(n->db, "SELECT count(*), coalesce(max(seq), 0) FROM statements WHERE learner = ?", -1, &s, NULL));
	if (st == LV_OK) {
		sqlite3_bind_text(s, 1, learner, -1, SQLITE_STATIC);
		int rc = sqlite3_step(s);
		if (rc == SQLITE_ROW) {
			*count = sqlite3_column_int64(s, 0);
			*last_seq = sqlite3_column_int64(s, 1);
		} else {
			st = db_status(rc);
		}
	}
	sqlite3_finalize(s);
	return st;
}
