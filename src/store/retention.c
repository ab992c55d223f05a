/* Retention: deleting the statements past every covering policy's
 * retention (the rule is the caller's: door/retention.c; the API is in
 * include/learnvault/store.h).
 *
 * The decision is made on the aggregate facts, the record the store keeps
 * beside each statement (verb, activity type, stored time), so no vault is
 * opened to decide.  Deletion order follows ingest's in reverse: the
 * node.db index and the facts go first, in a transaction that carries the
 * audit entry (the commit point: from then on nothing reads those
 * statements), then the vault rows.  A crash between the two leaves vault
 * rows nothing indexes, invisible as after a crash during ingest
 * (durability.md).  Learners are taken in batches so that the node lock,
 * which every request needs, is held for one batch at a time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "facts.h"
#include "store.h"

#define RETENTION_BATCH 256 /* learners per transaction */
#define LEARNERS_MAX ((size_t)1 << 26)

struct learner_row {
	char p[LV_PSEUDONYM_LEN];
	unsigned char wrapped[WRAPPED_LEN];
};
typedef UTIL_ARRAY(struct learner_row) learner_list;

/* Every learner with its wrapped key.  Lock held. */
static enum lv_status learners_load(struct lv_node *n, learner_list *out)
{
	sqlite3_stmt *s = NULL;
	enum lv_status st = db_status(sqlite3_prepare_v2(n->db, "SELECT pseudonym, wrapped_key FROM learners ORDER BY pseudonym",
							 -1, &s, NULL));
	int rc = SQLITE_DONE;
	while (st == LV_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (sqlite3_column_bytes(s, 1) != WRAPPED_LEN || sqlite3_column_bytes(s, 0) != LV_PSEUDONYM_LEN - 1) {
			st = LV_ERR_CRYPTO;
			break;
		}
		if ((st = util_array_room(out, LEARNERS_MAX)) != LV_OK)
			break;
		struct learner_row *r = &out->v[out->n++];
		memcpy(r->p, sqlite3_column_text(s, 0), LV_PSEUDONYM_LEN);
		memcpy(r->wrapped, sqlite3_column_blob(s, 1), WRAPPED_LEN);
	}
	if (st == LV_OK && rc != SQLITE_DONE)
		st = db_status(rc);
	sqlite3_finalize(s);
	return st;
}

/* Learner @l's facts in stored order: the indexed segments, then the
 * journal's (not folded yet).  @key gets the facts key.  Lock held. */
static enum lv_status learner_facts(struct lv_node *n, const struct learner_row *l, unsigned char *key,
				    struct fact_vec *v)
{
	static const char *const SQL[] = {
		"SELECT seg, data FROM learner_facts WHERE learner = ? ORDER BY seg",
		"SELECT id, data FROM facts_journal WHERE learner = ? ORDER BY id",
	};
	unsigned char *scratch = sodium_malloc(KEY_LEN);
	if (!scratch)
		return LV_ERR_NOMEM;
	enum lv_status st = facts_key_unwrap(n, l->p, l->wrapped, WRAPPED_LEN, scratch, key);
	sodium_free(scratch);
	for (size_t i = 0; i < 2 && st == LV_OK; i++) {
		sqlite3_stmt *s = NULL;
		st = db_status(sqlite3_prepare_v2(n->db, SQL[i], -1, &s, NULL));
		if (st == LV_OK)
			sqlite3_bind_text(s, 1, l->p, -1, SQLITE_STATIC);
		int rc = SQLITE_DONE;
		while (st == LV_OK && (rc = sqlite3_step(s)) == SQLITE_ROW)
			st = facts_open_segment(key, l->p, sqlite3_column_int64(s, 0), sqlite3_column_blob(s, 1),
						(size_t)sqlite3_column_bytes(s, 1), v);
		if (st == LV_OK && rc != SQLITE_DONE)
			st = db_status(rc);
		sqlite3_finalize(s);
	}
	return st;
}

/* Removes @k statements from the index and replaces learner @p's facts by
 * @kept (@nk).  In the caller's transaction. */
static enum lv_status index_and_facts_delete(struct lv_node *n, const char *p, const unsigned char *key,
					     const int64_t *seqs, size_t k, const struct lv_fact *kept, size_t nk)
{
	static const char *const SQL[] = {
		"DELETE FROM statement_keys WHERE seq = ?1",
		"DELETE FROM statements WHERE seq = ?1 AND learner = ?2",
	};
	enum lv_status st = LV_OK;
	for (size_t q = 0; q < 2 && st == LV_OK; q++) {
		sqlite3_stmt *s = NULL;
		st = db_status(sqlite3_prepare_v2(n->db, SQL[q], -1, &s, NULL));
		for (size_t i = 0; i < k && st == LV_OK; i++) {
			sqlite3_reset(s);
			sqlite3_bind_int64(s, 1, seqs[i]);
			if (q == 1)
				sqlite3_bind_text(s, 2, p, -1, SQLITE_STATIC);
			st = db_status(sqlite3_step(s));
		}
		sqlite3_finalize(s);
	}
	static const char *const FACTS_SQL[] = {
		"DELETE FROM learner_facts WHERE learner = ?",
		"DELETE FROM facts_journal WHERE learner = ?",
	};
	for (size_t q = 0; q < 2 && st == LV_OK; q++) {
		sqlite3_stmt *s = NULL;
		st = db_status(sqlite3_prepare_v2(n->db, FACTS_SQL[q], -1, &s, NULL));
		if (st == LV_OK) {
			sqlite3_bind_text(s, 1, p, -1, SQLITE_STATIC);
			st = db_status(sqlite3_step(s));
		}
		sqlite3_finalize(s);
	}
	/* What is kept goes back as one new journal segment, sealed afresh
	 * (the next aggregate read folds it). */
	if (st == LV_OK)
		st = facts_append_locked(n, p, key, kept, nk);
	return st;
}

/* Deletes the vault rows of @k statements.  Lock held, after the commit. */
static enum lv_status vault_rows_delete(struct lv_node *n, const char *p, const int64_t *seqs, size_t k)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	enum lv_status st = vault_get(n, p, false, &db);
	if (st == LV_OK)
		st = db_exec(db, "BEGIN");
	if (st != LV_OK)
		return st;
	st = db_status(sqlite3_prepare_v2(db, "DELETE FROM statements WHERE seq = ?", -1, &s, NULL));
	for (size_t i = 0; i < k && st == LV_OK; i++) {
		sqlite3_reset(s);
		sqlite3_bind_int64(s, 1, seqs[i]);
		st = db_status(sqlite3_step(s));
	}
	sqlite3_finalize(s);
	if (db_exec(db, st == LV_OK ? "COMMIT" : "ROLLBACK") != LV_OK && st == LV_OK)
		st = LV_ERR_DB;
	return st;
}

/* The expired statements of one learner found in a batch. */
struct doomed {
	size_t learner; /* index into the learners */
	size_t first, count; /* range in the batch's seq array */
};

struct batch {
	UTIL_ARRAY(int64_t) seqs;
	UTIL_ARRAY(struct doomed) who;
	UTIL_ARRAY(struct lv_fact) kept;
	uint64_t expired, learners;
};

/* Classifies learner @i's facts; outside a dry run, deletes the expired
 * ones from the index and the facts.  In the batch's transaction (or under
 * the lock for a dry run). */
static enum lv_status learner_apply(struct lv_node *n, const struct learner_row *l, size_t i,
				    lv_retention_expired_fn expired, void *ctx, bool dry_run, struct batch *b,
				    struct lv_retention_report *rep)
{
	struct fact_vec v = {0};
	unsigned char *key = sodium_malloc(KEY_LEN);
	if (!key)
		return LV_ERR_NOMEM;
	enum lv_status st = learner_facts(n, l, key, &v);
	size_t first = b->seqs.n;
	b->kept.n = 0;
	for (size_t j = 0; j < v.n && st == LV_OK; j++) {
		rep->examined++;
		bool gone = expired(ctx, &v.f[j]);
		if (gone && (st = util_array_room(&b->seqs, SIZE_MAX / 8)) == LV_OK)
			b->seqs.v[b->seqs.n++] = v.f[j].seq;
		else if (!gone && !dry_run && (st = util_array_room(&b->kept, SIZE_MAX / sizeof(struct lv_fact))) == LV_OK)
			b->kept.v[b->kept.n++] = v.f[j];
	}
	size_t k = b->seqs.n - first;
	if (st == LV_OK && k > 0) {
		b->expired += k;
		b->learners++;
		if (!dry_run)
			st = index_and_facts_delete(n, l->p, key, b->seqs.v + first, k, b->kept.v, b->kept.n);
		if (st == LV_OK && (st = util_array_room(&b->who, SIZE_MAX / sizeof(struct doomed))) == LV_OK)
			b->who.v[b->who.n++] = (struct doomed){i, first, k};
	}
	if (b->kept.v)
		sodium_memzero(b->kept.v, b->kept.cap * sizeof *b->kept.v);
	fact_vec_free(&v);
	sodium_free(key);
	return st;
}

static cJSON *retention_entry(const char *run, const struct batch *b, const cJSON *extra)
{
	cJSON *e = cJSON_CreateObject();
	cJSON_AddStringToObject(e, "type", "retention");
	cJSON_AddStringToObject(e, "run", run);
	cJSON_AddNumberToObject(e, "statements", (double)b->expired);
	cJSON_AddNumberToObject(e, "learners", (double)b->learners);
	const cJSON *x;
	cJSON_ArrayForEach(x, extra)
		if (x->string && !cJSON_GetObjectItemCaseSensitive(e, x->string) && strcmp(x->string, "learner") != 0)
			cJSON_AddItemToObject(e, x->string, cJSON_Duplicate(x, true));
	return e;
}

/* One batch of learners [@from, @to): one transaction (none for a dry
 * run), its audit entry when it deleted something or is the run's last
 * with nothing written yet, then the vault rows. */
static enum lv_status batch_run(struct lv_node *n, const struct learner_row *ls, size_t from, size_t to, bool last,
				lv_retention_expired_fn expired, void *ctx, bool dry_run, const char *run,
				const cJSON *extra, struct batch *b, struct lv_retention_report *rep)
{
	struct lv_tx *tx = NULL;
	enum lv_status st = dry_run ? lv_store_lock(n) : lv_tx_begin(n, &tx);
	if (st != LV_OK) {
		if (dry_run)
			lv_store_unlock(n);
		return st;
	}
	b->seqs.n = b->who.n = 0;
	b->expired = b->learners = 0;
	for (size_t i = from; i < to && st == LV_OK; i++)
		st = learner_apply(n, &ls[i], i, expired, ctx, dry_run, b, rep);
	if (dry_run) {
		lv_store_unlock(n);
	} else {
		if (st == LV_OK && (b->expired > 0 || (last && rep->audit_entries == 0)))
			if ((st = lv_tx_audit(tx, retention_entry(run, b, extra), NULL)) == LV_OK)
				rep->audit_entries++;
		st = lv_tx_close_locked(tx, st);
		/* Committed: nothing indexes these rows any more. */
		for (size_t w = 0; w < b->who.n && st == LV_OK; w++) {
			const struct doomed *d = &b->who.v[w];
			st = vault_rows_delete(n, ls[d->learner].p, b->seqs.v + d->first, d->count);
		}
		lv_store_unlock(n);
	}
	if (st == LV_OK) {
		rep->expired += b->expired;
		rep->learners += b->learners;
	}
	return st;
}

enum lv_status lv_store_retention_apply(struct lv_node *n, lv_retention_expired_fn expired, bool (*stopped)(void *ctx),
					void *ctx, bool dry_run, const cJSON *entry_extra, struct lv_retention_report *rep)
{
	struct lv_retention_report r = {0};
	learner_list ls = {0};
	struct batch b = {0};
	char run[UTIL_UUID_LEN];
	util_uuid_v4(run);
	/* The vaults are opened exclusive by their owner. */
	if (!dry_run && !n->own_vaults)
		return LV_ERR_IN_USE;
	enum lv_status st = lv_store_lock(n);
	if (st == LV_OK)
		st = learners_load(n, &ls);
	lv_store_unlock(n);
	for (size_t i = 0; st == LV_OK && (i < ls.n || (i == 0 && !dry_run)); i += RETENTION_BATCH) {
		size_t to = i + RETENTION_BATCH < ls.n ? i + RETENTION_BATCH : ls.n;
		if (stopped && stopped(ctx)) {
			st = LV_ERR_BUSY; /* the server is stopping */
			break;
		}
		st = batch_run(n, ls.v, i, to, to >= ls.n, expired, ctx, dry_run, run, entry_extra, &b, &r);
	}
	free(b.seqs.v);
	free(b.who.v);
	free(b.kept.v);
	free(ls.v);
	if (rep)
		*rep = r;
	return st;
}
