/* The storage consent/ stands on (include/learnvault/store.h, section
 * "consent"): the loaded policy texts, the consent ledger's events, and
 * the two learner facts the consent rules need (enrolled, birth date).
 * Nothing here decides: consent/evaluate.c reads what these return. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

/* Copies a NOT NULL text column; "" when SQLite hands back NULL anyway. */
static const char *col_text(sqlite3_stmt *s, int i)
{
	const char *t = (const char *)sqlite3_column_text(s, i);
	return t ? t : "";
}

/* ---- policies ---- */

/* Steps @s (bound) for one row of (version, sha256, text). */
static enum lv_status policy_row(sqlite3_stmt *s, uint32_t *version, char sha256[LV_STORE_SHA256_HEX_LEN],
				 char **text)
{
	int rc = sqlite3_step(s);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? LV_ERR_NOT_FOUND : db_status(rc);
	*text = strdup(col_text(s, 2));
	if (!*text)
		return LV_ERR_NOMEM;
	if (version)
		*version = (uint32_t)sqlite3_column_int64(s, 0);
	snprintf(sha256, LV_STORE_SHA256_HEX_LEN, "%s", col_text(s, 1));
	return LV_OK;
}

/* lv_store_policy_get (the newest, lv_store_policy_newest, is in query_repo.c). */
static enum lv_status policy_read(struct lv_node *n, const char *id, uint32_t version, uint32_t *version_out,
				  char sha256[LV_STORE_SHA256_HEX_LEN], char **text)
{
	sqlite3_stmt *s = NULL;
	*text = NULL;
	sha256[0] = '\0';
	if (version_out)
		*version_out = 0;
	store_assert_locked(n);
	enum lv_status st = db_status(sqlite3_prepare_v2(n->db, version
		? "SELECT version, sha256, text FROM policies WHERE id = ? AND version = ?"
		: "SELECT version, sha256, text FROM policies WHERE id = ? ORDER BY version DESC LIMIT 1", -1, &s, NULL));
	if (st == LV_OK) {
		sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
		if (version)
			sqlite3_bind_int64(s, 2, version);
		st = policy_row(s, version_out, sha256, text);
	}
	sqlite3_finalize(s);
	if (st != LV_OK) {
		free(*text);
		*text = NULL;
		sha256[0] = '\0';
		if (version_out)
			*version_out = 0;
	}
	return st;
}

enum lv_status lv_store_policy_get(struct lv_node *n, const char *id, uint32_t version,
				   char sha256[LV_STORE_SHA256_HEX_LEN], char **text)
{
	if (version == 0) { /* 0 is "the newest" only for lv_store_policy_newest */
		*text = NULL;
		sha256[0] = '\0';
		return LV_ERR_NOT_FOUND;
	}
	return policy_read(n, id, version, NULL, sha256, text);
}

enum lv_status lv_store_policy_sha256(struct lv_node *n, const char *id, uint32_t version,
				      char sha256[LV_STORE_SHA256_HEX_LEN])
{
	sqlite3_stmt *s = NULL;
	sha256[0] = '\0';
	store_assert_locked(n);
	enum lv_status st = db_status(sqlite3_prepare_v2(n->db, "SELECT sha256 FROM policies WHERE id = ? AND version = ?",
							 -1, &s, NULL));
	if (st != LV_OK)
		return st;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, version);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		snprintf(sha256, LV_STORE_SHA256_HEX_LEN, "%s", col_text(s, 0));
	else
		st = rc == SQLITE_DONE ? LV_ERR_NOT_FOUND : db_status(rc);
	sqlite3_finalize(s);
	return st;
}

enum lv_status lv_store_policy_insert(struct lv_tx *tx, const char *id, uint32_t version, const char *sha256,
				      const char *text, int64_t loaded_ms)
{
	sqlite3_stmt *s = NULL;
	if (!tx || !tx->active)
		return LV_ERR_INTERNAL;
	store_assert_locked(tx->node);
	enum lv_status st = db_status(sqlite3_prepare_v2(tx->node->db,
		"INSERT INTO policies(id, version, sha256, text, loaded) VALUES(?, ?, ?, ?, ?)", -1, &s, NULL));
	if (st == LV_OK) {
		sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 2, version);
		sqlite3_bind_text(s, 3, sha256, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 4, text, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 5, loaded_ms);
		st = db_status(sqlite3_step(s));
	}
	sqlite3_finalize(s);
	return st;
}

enum lv_status lv_store_policies_each(struct lv_node *n,
				      enum lv_status (*fn)(void *ctx, const struct lv_store_policy_row *row), void *ctx)
{
	sqlite3_stmt *s = NULL;
	store_assert_locked(n);
	enum lv_status st = db_status(sqlite3_prepare_v2(n->db,
		"SELECT id, version, sha256, loaded, text FROM policies ORDER BY id, version", -1, &s, NULL));
	int rc = SQLITE_DONE;
	while (st == LV_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct lv_store_policy_row row = {
			.id = col_text(s, 0),
			.version = (uint32_t)sqlite3_column_int64(s, 1),
			.sha256 = col_text(s, 2),
			.loaded_ms = sqlite3_column_int64(s, 3),
			.text = col_text(s, 4),
		};
		st = fn(ctx, &row);
	}
	if (st == LV_OK && rc != SQLITE_DONE)
		st = db_status(rc);
	sqlite3_finalize(s);
	return st;
}

/* ---- the consent ledger ---- */

/* Columns @first.. of @s: event, policy_version, policy_sha256, record_id,
 * actor_role, valid_until (NULL: 0). */
static void event_from(sqlite3_stmt *s, int first, struct lv_store_consent_event *ev)
{
	snprintf(ev->event, sizeof ev->event, "%s", col_text(s, first));
	ev->policy_version = (uint32_t)sqlite3_column_int64(s, first + 1);
	snprintf(ev->policy_sha256, sizeof ev->policy_sha256, "%s", col_text(s, first + 2));
	snprintf(ev->record_id, sizeof ev->record_id, "%s", col_text(s, first + 3));
	snprintf(ev->actor_role, sizeof ev->actor_role, "%s", col_text(s, first + 4));
	ev->valid_until = sqlite3_column_type(s, first + 5) == SQLITE_NULL ? 0 : sqlite3_column_int64(s, first + 5);
}

enum lv_status lv_store_consent_last(struct lv_node *n, const char *learner, const char *policy_id,
				     struct lv_store_consent_event *out)
{
	sqlite3_stmt *s = NULL;
	memset(out, 0, sizeof *out);
	store_assert_locked(n);
	enum lv_status st = db_status(sqlite3_prepare_v2(n->db,
		"SELECT event, policy_version, policy_sha256, record_id, actor_role, valid_until FROM consent_events"
		" WHERE learner = ? AND policy_id = ? ORDER BY seq DESC LIMIT 1", -1, &s, NULL));
	if (st != LV_OK)
		return st;
	sqlite3_bind_text(s, 1, learner, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, policy_id, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		event_from(s, 0, out);
	else
		st = rc == SQLITE_DONE ? LV_ERR_NOT_FOUND : db_status(rc);
	sqlite3_finalize(s);
	return st;
}

enum lv_status lv_store_consent_put(struct lv_tx *tx, const struct lv_store_consent_row *r)
{
	sqlite3_stmt *s = NULL;
	if (!tx || !tx->active) /* an event outside a transaction would commit without its audit entry */
		return LV_ERR_INTERNAL;
	store_assert_locked(tx->node);
	enum lv_status st = db_status(sqlite3_prepare_v2(tx->node->db,
		"INSERT INTO consent_events(record_id, learner, policy_id, policy_version, policy_sha256, event,"
		" actor_role, actor, time, valid_until, supersedes, details) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		-1, &s, NULL));
	if (st == LV_OK) {
		sqlite3_bind_text(s, 1, r->record_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, r->learner, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 3, r->policy_id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 4, r->policy_version);
		sqlite3_bind_text(s, 5, r->policy_sha256, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 6, r->event, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 7, r->actor_role, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 8, r->actor, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 9, r->time_ms);
		if (r->has_valid_until)
			sqlite3_bind_int64(s, 10, r->valid_until);
		sqlite3_bind_text(s, 11, r->supersedes, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 12, r->details, -1, SQLITE_STATIC);
		st = db_status(sqlite3_step(s));
	}
	sqlite3_finalize(s);
	return st;
}

enum lv_status lv_store_consent_each(struct lv_node *n, const char *learner,
				     enum lv_status (*fn)(void *ctx, const struct lv_store_consent_row *row), void *ctx)
{
	sqlite3_stmt *s = NULL;
	store_assert_locked(n);
	enum lv_status st = db_status(sqlite3_prepare_v2(n->db,
		"SELECT record_id, policy_id, policy_version, policy_sha256, event, actor_role, time, valid_until, supersedes,"
		" details FROM consent_events WHERE learner = ? ORDER BY seq", -1, &s, NULL));
	int rc = SQLITE_DONE;
	if (st == LV_OK)
		sqlite3_bind_text(s, 1, learner, -1, SQLITE_STATIC);
	while (st == LV_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct lv_store_consent_row row = {
			.record_id = col_text(s, 0),
			.learner = learner,
			.policy_id = col_text(s, 1),
			.policy_version = (uint32_t)sqlite3_column_int64(s, 2),
			.policy_sha256 = col_text(s, 3),
			.event = col_text(s, 4),
			.actor_role = col_text(s, 5),
			.time_ms = sqlite3_column_int64(s, 6),
			.has_valid_until = sqlite3_column_type(s, 7) != SQLITE_NULL,
			.valid_until = sqlite3_column_int64(s, 7),
			.supersedes = (const char *)sqlite3_column_text(s, 8),
			.details = (const char *)sqlite3_column_text(s, 9),
		};
		st = fn(ctx, &row);
	}
	if (st == LV_OK && rc != SQLITE_DONE)
		st = db_status(rc);
	sqlite3_finalize(s);
	return st;
}

enum lv_status lv_store_consent_cohort_each(struct lv_node *n, const char *policy_id,
					    enum lv_status (*fn)(void *ctx, const char *learner,
								 const struct lv_store_consent_event *ev,
								 const char *birth_date),
					    void *ctx)
{
	sqlite3_stmt *s = NULL;
	store_assert_locked(n);
	/* The latest event of every enrolled learner for this policy, in one
	 * pass (consent_events_learner serves the inner max). */
	enum lv_status st = db_status(sqlite3_prepare_v2(n->db,
		"SELECT e.learner, e.event, e.policy_version, e.policy_sha256, e.record_id, e.actor_role,"
		" coalesce(e.valid_until, 0), i.birth_date FROM consent_events e"
		" JOIN learners l ON l.pseudonym = e.learner"
		" LEFT JOIN learner_info i ON i.pseudonym = e.learner"
		" WHERE e.policy_id = ?1 AND e.seq = (SELECT max(seq) FROM consent_events x"
		" WHERE x.learner = e.learner AND x.policy_id = ?1) ORDER BY e.learner", -1, &s, NULL));
	int rc = SQLITE_DONE;
	if (st == LV_OK)
		sqlite3_bind_text(s, 1, policy_id, -1, SQLITE_STATIC);
	while (st == LV_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct lv_store_consent_event ev;
		event_from(s, 1, &ev);
		st = fn(ctx, col_text(s, 0), &ev, (const char *)sqlite3_column_text(s, 7));
	}
	if (st == LV_OK && rc != SQLITE_DONE)
		st = db_status(rc);
	sqlite3_finalize(s);
	return st;
}

/* Appends {"policy", "record_id"} to @ended for each policy whose latest
 * event of @learner is a grant. */
static enum lv_status consent_grants_live(struct lv_node *n, const char *learner, cJSON *ended)
{
	sqlite3_stmt *s = NULL;
	enum lv_status st = db_status(sqlite3_prepare_v2(n->db,
		"SELECT e.policy_id, e.record_id FROM consent_events e"
		" WHERE e.learner = ?1 AND e.event IN (?2, ?3) AND e.seq = (SELECT max(seq) FROM consent_events x"
		" WHERE x.learner = ?1 AND x.policy_id = e.policy_id) ORDER BY e.policy_id", -1, &s, NULL));
	int rc = SQLITE_DONE;
	if (st == LV_OK) {
		sqlite3_bind_text(s, 1, learner, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, LV_CONSENT_GIVEN, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 3, LV_CONSENT_RENEWED, -1, SQLITE_STATIC);
	}
	while (st == LV_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		cJSON *g = cJSON_CreateObject();
		cJSON_AddStringToObject(g, "policy", col_text(s, 0));
		cJSON_AddStringToObject(g, "record_id", col_text(s, 1));
		if (!cJSON_AddItemToArray(ended, g)) {
			cJSON_Delete(g);
			st = LV_ERR_NOMEM;
		}
	}
	if (st == LV_OK && rc != SQLITE_DONE)
		st = db_status(rc);
	sqlite3_finalize(s);
	return st;
}

enum lv_status lv_store_consent_erase(struct lv_tx *tx, const char *learner, cJSON *ended)
{
	sqlite3_stmt *s = NULL;
	if (!tx || !tx->active || !cJSON_IsArray(ended))
		return LV_ERR_INTERNAL;
	store_assert_locked(tx->node);
	/* Expiry is not checked here: an erasure ends whatever the ledger
	 * still calls a grant, and the verifier ends every grant anyway. */
	enum lv_status st = consent_grants_live(tx->node, learner, ended);
	if (st == LV_OK)
		st = db_status(sqlite3_prepare_v2(tx->node->db, "DELETE FROM consent_events WHERE learner = ?", -1, &s,
						  NULL));
	if (st == LV_OK) {
		sqlite3_bind_text(s, 1, learner, -1, SQLITE_STATIC);
		st = db_status(sqlite3_step(s));
	}
	sqlite3_finalize(s);
	return st;
}

/* ---- learner facts ---- */

bool lv_store_learner_exists(struct lv_node *n, const char *learner)
{
	sqlite3_stmt *s = NULL;
	bool found = false;
	store_assert_locked(n);
	if (sqlite3_prepare_v2(n->db, "SELECT 1 FROM learners WHERE pseudonym = ?", -1, &s, NULL) == SQLITE_OK) {
		sqlite3_bind_text(s, 1, learner, -1, SQLITE_STATIC);
		found = sqlite3_step(s) == SQLITE_ROW;
	}
	sqlite3_finalize(s);
	return found;
}

enum lv_status lv_store_learner_birth_date(struct lv_node *n, const char *learner, char date[LV_STORE_BIRTH_DATE_LEN])
{
	sqlite3_stmt *s = NULL;
	date[0] = '\0';
	store_assert_locked(n);
	enum lv_status st = db_status(sqlite3_prepare_v2(n->db, "SELECT birth_date FROM learner_info WHERE pseudonym = ?",
							 -1, &s, NULL));
	if (st != LV_OK)
		return st;
	sqlite3_bind_text(s, 1, learner, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW && sqlite3_column_text(s, 0))
		snprintf(date, LV_STORE_BIRTH_DATE_LEN, "%s", (const char *)sqlite3_column_text(s, 0));
	else
		st = rc == SQLITE_ROW || rc == SQLITE_DONE ? LV_ERR_NOT_FOUND : db_status(rc);
	sqlite3_finalize(s);
	return st;
}

enum lv_status lv_store_learner_birth_date_set(struct lv_tx *tx, const char *learner, const char *date)
{
	sqlite3_stmt *s = NULL;
	if (!tx || !tx->active) /* a change outside a transaction would commit without its audit entry */
		return LV_ERR_INTERNAL;
	store_assert_locked(tx->node);
	enum lv_status st = db_status(sqlite3_prepare_v2(tx->node->db,
		"INSERT OR REPLACE INTO learner_info(pseudonym, birth_date) VALUES(?, ?)", -1, &s, NULL));
	if (st == LV_OK) {
		sqlite3_bind_text(s, 1, learner, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, date, -1, SQLITE_STATIC);
		st = db_status(sqlite3_step(s));
	}
	sqlite3_finalize(s);
	return st;
}
