/* Erasure by crypto-shredding: the learner's wrapped vault key, index
 * rows, credentials and consent events go in one transaction with the
 * erasure's audit entry, then the vault files.  The privacy-budget spend
 * rows stay: they are the node's accounting, not the learner's data, and a
 * re-enrolled identifier (the same pseudonym) must not get a fresh budget. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "store.h"

enum lv_status lv_learner_erase(struct lv_node *n, const char *p)
{
	if (!p || !util_pseudonym_valid(p))
		return LV_ERR_INVALID;
	enum lv_status st;
	sqlite3_stmt *s = NULL;
	static const char *const SQL[] = {
		"DELETE FROM statement_keys WHERE seq IN (SELECT seq FROM statements WHERE learner = ?1)",
		"DELETE FROM statements WHERE learner = ?1",
		"UPDATE credentials SET revoked = ?2 WHERE learner = ?1 AND revoked IS NULL",
		"DELETE FROM learner_info WHERE pseudonym = ?1",
		"DELETE FROM learner_facts WHERE learner = ?1",
		"DELETE FROM facts_journal WHERE learner = ?1",
		"DELETE FROM learners WHERE pseudonym = ?1",
	};
	/* The server may hold the vault open: only the vaults' owner erases. */
	if (!n->own_vaults)
		return LV_ERR_IN_USE;
	struct lv_tx *tx;
	st = lv_tx_begin(n, &tx);
	if (st != LV_OK)
		return st;
	st = db_status(sqlite3_prepare_v2(n->db, "SELECT 1 FROM learners WHERE pseudonym = ?", -1, &s, NULL));
	if (st != LV_OK)
		goto out;
	sqlite3_bind_text(s, 1, p, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	sqlite3_finalize(s);
	s = NULL;
	if (rc != SQLITE_ROW) {
		st = rc == SQLITE_DONE ? LV_ERR_NOT_FOUND : db_status(rc);
		goto out;
	}
	for (size_t i = 0; i < sizeof SQL / sizeof SQL[0] && st == LV_OK; i++) {
		st = db_status(sqlite3_prepare_v2(n->db, SQL[i], -1, &s, NULL));
		if (st != LV_OK)
			break;
		sqlite3_bind_text(s, 1, p, -1, SQLITE_STATIC);
		if (sqlite3_bind_parameter_count(s) >= 2)
			sqlite3_bind_int64(s, 2, util_now_ms());
		st = db_status(sqlite3_step(s));
		sqlite3_finalize(s);
		s = NULL;
	}
	if (st == LV_OK) {
		/* The grants this erasure ends, named in its entry; a later
		 * enrolment of the same identifier starts with no consent. */
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "type", "erasure");
		cJSON_AddStringToObject(e, "learner", p);
		st = lv_store_consent_erase(tx, p, cJSON_AddArrayToObject(e, "consents_ended"));
		if (st == LV_OK)
			st = lv_tx_audit(tx, e, NULL);
		else
			cJSON_Delete(e);
	}
out:
	st = lv_tx_close_locked(tx, st);
	if (st == LV_OK) {
		/* secure_delete zeroed the row in its page; fold the WAL back and
		 * truncate it so no older frame still holds the wrapped key (after
		 * the aggregate door's snapshot read, if one is open). */
		snapshot_truncate_wal_locked(n);
		/* A crash before these unlinks leaves files no key opens; the
		 * next open removes them (node_remove_orphan_vaults). */
		vault_evict(n, p);
		vault_unlink_files(n, p);
	}
	lv_store_unlock(n);
	return st;
}
