/* Statements: batch ingest into learners' vaults and the node.db index,
 * attachments and activity definitions.  The reads the doors run (a
 * provider's read-back, the learner's own statements) are in
 * statement_reads_repo.c. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "learnvault/statements.h"
#include "facts.h"
#include "learnvault/xapi.h"
#include "store.h"

#define MAX_KEYS_PER_STATEMENT 512

/* One statement of a batch while it is being stored. */
struct pending {
	cJSON *st;                       /* borrowed from the batch */
	const char *id;
	char *identity;                  /* canonical actor identity */
	char learner[LV_PSEUDONYM_LEN];
	char *body;                      /* serialised exact form */
	bool skip;                       /* already stored, equivalent */
	int64_t seq;                     /* index sequence number = vault rowid */
	const char *voids;               /* target id when a voiding statement */
	enum lv_xapi_signature sig;      /* judged on the statement as received */
	struct lv_fact fact;                /* for the aggregate door (not for voiding statements) */
};

static void set_string(cJSON *o, const char *name, const char *v)
{
	cJSON *it = cJSON_CreateString(v);
	if (cJSON_GetObjectItemCaseSensitive(o, name))
		cJSON_ReplaceItemInObjectCaseSensitive(o, name, it);
	else
		cJSON_AddItemToObject(o, name, it);
}


static enum lv_status sql_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **s)
{
	return db_status(sqlite3_prepare_v2(db, sql, -1, s, NULL));
}

enum lv_status store_statement_body(struct lv_node *n, const char *learner, int64_t seq, cJSON **out, size_t *bytes)
{
	if (bytes)
		*bytes = 0;
	sqlite3 *v = NULL;
	sqlite3_stmt *s = NULL;
	*out = NULL;
	enum lv_status st = vault_get(n, learner, false, &v);
	if (st != LV_OK)
		return st;
	st = sql_prepare(v, "SELECT body FROM statements WHERE seq = ?", &s);
	if (st != LV_OK)
		return st;
	sqlite3_bind_int64(s, 1, seq);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*out = cJSON_Parse((const char *)sqlite3_column_text(s, 0));
		st = *out ? LV_OK : LV_ERR_INTERNAL;
		if (bytes && *out)
			*bytes = (size_t)sqlite3_column_bytes(s, 0);
	} else {
		st = rc == SQLITE_DONE ? LV_ERR_NOT_FOUND : db_status(rc);
	}
	sqlite3_finalize(s);
	return st;
}

enum lv_status store_statements_upgrade(sqlite3 *db)
{
	sqlite3_stmt *s = NULL;
	/* Preparing a read of the column fails exactly when it is missing. */
	int rc = sqlite3_prepare_v2(db, "SELECT signature FROM statements LIMIT 0", -1, &s, NULL);
	sqlite3_finalize(s);
	enum lv_status st = LV_OK;
	if (rc != SQLITE_OK)
		st = db_exec(db, "ALTER TABLE statements ADD COLUMN signature INTEGER NOT NULL DEFAULT 0;");
	/* Signed statements are few: the index holds only them, for the
	 * learner's export. */
	if (st == LV_OK)
		st = db_exec(db, "CREATE INDEX IF NOT EXISTS statements_signed ON statements(learner, seq)"
				 " WHERE signature <> 0;");
	return st;
}

enum lv_status lv_store_statement_signatures(struct lv_node *n, const char *learner, cJSON **out)
{
	sqlite3_stmt *s = NULL;
	*out = NULL;
	store_assert_locked(n);
	cJSON *o = cJSON_CreateObject();
	enum lv_status st = o ? LV_OK : LV_ERR_NOMEM;
	if (st == LV_OK)
		st = sql_prepare(n->db, "SELECT id, signature FROM statements WHERE learner = ? AND signature <> 0"
					" ORDER BY seq", &s);
	int rc = SQLITE_DONE;
	if (st == LV_OK) {
		sqlite3_bind_text(s, 1, learner, -1, SQLITE_STATIC);
		while (st == LV_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
			int sig = sqlite3_column_int(s, 1);
			const char *what = sig == LV_XAPI_SIG_VERIFIED ? "verified" : "unverifiable";
			if (!cJSON_AddStringToObject(o, (const char *)sqlite3_column_text(s, 0), what))
				st = LV_ERR_NOMEM;
		}
		if (st == LV_OK && rc != SQLITE_DONE)
			st = db_status(rc);
	}
	sqlite3_finalize(s);
	if (st != LV_OK) {
		cJSON_Delete(o);
		return st;
	}
	*out = o;
	return LV_OK;
}

struct key_ctx {
	struct lv_node *node;
	sqlite3_stmt *ins;
	int64_t seq;
	unsigned count;
};

static enum lv_status key_cb(void *vctx, enum lv_xapi_key_kind kind, const char *value)
{
	struct key_ctx *c = vctx;
	char p[LV_PSEUDONYM_LEN];
	const char *key = value;
	if (++c->count > MAX_KEYS_PER_STATEMENT)
		return LV_ERR_TOO_LARGE;
	if (kind == LV_XAPI_KEY_AGENT || kind == LV_XAPI_KEY_AGENT_RELATED) {
		/* The index holds agents only as pseudonyms. */
		key_pseudonym(c->node->keys, value, p);
		key = p;
	}
	sqlite3_reset(c->ins);
	sqlite3_bind_text(c->ins, 1, key, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(c->ins, 2, (int)kind);
	sqlite3_bind_int64(c->ins, 3, c->seq);
	int rc = sqlite3_step(c->ins);
	return rc == SQLITE_DONE ? LV_OK : db_status(rc);
}

/* True when @def is the definition last merged for activity @id: most
 * statements repeat their activity's definition, and re-merging it would
 * rewrite the row for nothing.  The slot is chosen by the id alone, so a
 * different definition of the same activity replaces the remembered one
 * (last writer wins); two ids sharing a slot only cost an extra merge.
 * The table is cleared on any rollback. */
static bool activity_seen(struct lv_node *n, const char *id, const cJSON *def)
{
	unsigned char h[16];
	char *text = def ? cJSON_PrintUnformatted(def) : NULL;
	crypto_generichash_state gs;
	crypto_generichash_init(&gs, NULL, 0, sizeof h);
	crypto_generichash_update(&gs, (const unsigned char *)id, strlen(id) + 1);
	if (text)
		crypto_generichash_update(&gs, (const unsigned char *)text, strlen(text));
	crypto_generichash_final(&gs, h, sizeof h);
	free(text);
	size_t slot = (size_t)(util_fnv1a(id) % ACT_SEEN_SLOTS);
	if (sodium_memcmp(n->act_seen[slot], h, sizeof h) == 0)
		return true;
	memcpy(n->act_seen[slot], h, sizeof h);
	return false;
}

/* Merges the definition of the Activity @act into the activities
 * table (last writer wins per property; language maps merged). */
static enum lv_status activity_merge_one(struct lv_node *n, const cJSON *act)
{
	const char *id = util_json_str(act, "id", NULL);
	const cJSON *def = cJSON_GetObjectItemCaseSensitive(act, "definition");
	const char *ot = util_json_str(act, "objectType", NULL);
	if (!id || (ot && strcmp(ot, "Activity") != 0))
		return LV_OK;
	if (activity_seen(n, id, def))
		return LV_OK;
	sqlite3_stmt *s = NULL;
	cJSON *merged = NULL;
	char *text = NULL;
	enum lv_status st = sql_prepare(n->db, "SELECT definition FROM activities WHERE id = ?", &s);
	if (st != LV_OK)
		return st;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL)
		merged = cJSON_Parse((const char *)sqlite3_column_text(s, 0));
	bool known = rc == SQLITE_ROW;
	sqlite3_finalize(s);
	s = NULL;
	if (known && !cJSON_IsObject(def)) {
		cJSON_Delete(merged);
		return LV_OK;
	}
	if (!merged)
		merged = cJSON_CreateObject();
	const cJSON *it;
	cJSON_ArrayForEach(it, def) {
		cJSON *old = cJSON_GetObjectItemCaseSensitive(merged, it->string);
		if ((strcmp(it->string, "name") == 0 || strcmp(it->string, "description") == 0) &&
		    cJSON_IsObject(old) && cJSON_IsObject(it)) {
			const cJSON *lang;
			cJSON_ArrayForEach(lang, it) {
				cJSON *dup = cJSON_Duplicate(lang, true);
				if (cJSON_GetObjectItemCaseSensitive(old, lang->string))
					cJSON_ReplaceItemInObjectCaseSensitive(old, lang->string, dup);
				else
					cJSON_AddItemToObject(old, lang->string, dup);
			}
		} else {
			cJSON *dup = cJSON_Duplicate(it, true);
			if (old)
				cJSON_ReplaceItemInObjectCaseSensitive(merged, it->string, dup);
			else
				cJSON_AddItemToObject(merged, it->string, dup);
		}
	}
	text = cJSON_PrintUnformatted(merged);
	st = sql_prepare(n->db, "INSERT OR REPLACE INTO activities(id, definition) VALUES(?, ?)", &s);
	if (st == LV_OK) {
		sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, text, -1, SQLITE_STATIC);
		st = db_status(sqlite3_step(s));
	}
	sqlite3_finalize(s);
	free(text);
	cJSON_Delete(merged);
	return st;
}

static enum lv_status activity_merge_list(struct lv_node *n, const cJSON *v)
{
	if (cJSON_IsArray(v)) {
		const cJSON *it;
		cJSON_ArrayForEach(it, v) {
			enum lv_status st = activity_merge_one(n, it);
			if (st != LV_OK)
				return st;
		}
		return LV_OK;
	}
	return cJSON_IsObject(v) ? activity_merge_one(n, v) : LV_OK;
}

static enum lv_status activities_merge(struct lv_node *n, const cJSON *st_json)
{
	const cJSON *obj = cJSON_GetObjectItemCaseSensitive(st_json, "object");
	const char *ot = util_json_str(obj, "objectType", NULL);
	enum lv_status st = LV_OK;
	if (!ot || strcmp(ot, "Activity") == 0)
		st = activity_merge_one(n, obj);
	else if (strcmp(ot, "SubStatement") == 0)
		st = activities_merge(n, obj);
	if (st != LV_OK)
		return st;
	const cJSON *ca = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(st_json, "context"), "contextActivities");
	const char *kinds[] = {"parent", "grouping", "category", "other"};
	for (size_t i = 0; i < 4 && st == LV_OK; i++)
		st = activity_merge_list(n, cJSON_GetObjectItemCaseSensitive(ca, kinds[i]));
	return st;
}

/* xAPI returns every contextActivities property as an array, even when a
 * single Activity object was sent (Data 2.4.6.2). */
static void normalise_context(cJSON *st)
{
	cJSON *ca = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(st, "context"),
						    "contextActivities");
	const char *kinds[] = {"parent", "grouping", "category", "other"};
	for (size_t i = 0; i < 4 && ca; i++) {
		cJSON *v = cJSON_GetObjectItemCaseSensitive(ca, kinds[i]);
		if (cJSON_IsObject(v)) {
			cJSON *arr = cJSON_CreateArray();
			cJSON_AddItemToArray(arr, cJSON_DetachItemViaPointer(ca, v));
			cJSON_AddItemToObject(ca, kinds[i], arr);
		}
	}
	cJSON *obj = cJSON_GetObjectItemCaseSensitive(st, "object");
	const char *ot = util_json_str(obj, "objectType", NULL);
	if (ot && strcmp(ot, "SubStatement") == 0)
		normalise_context(obj);
}

static void authority_for(struct lv_node *n, const struct lv_principal *prov, cJSON *st)
{
	cJSON *a = cJSON_CreateObject();
	cJSON_AddStringToObject(a, "objectType", "Agent");
	cJSON *acc = cJSON_AddObjectToObject(a, "account");
	char home[512];
	snprintf(home, sizeof home, "https://%s", n->origin);
	cJSON_AddStringToObject(acc, "homePage", home);
	cJSON_AddStringToObject(acc, "name", prov->id);
	if (cJSON_GetObjectItemCaseSensitive(st, "authority"))
		cJSON_ReplaceItemInObjectCaseSensitive(st, "authority", a);
	else
		cJSON_AddItemToObject(st, "authority", a);
}

static void pending_free(struct pending *p, size_t n)
{
	for (size_t i = 0; p && i < n; i++) {
		free(p[i].identity);
		free(p[i].body);
		sodium_memzero(&p[i].fact, sizeof p[i].fact);
	}
	free(p);
}

/* The aggregate facts of learner p[first].learner's new statements, in
 * the index transaction (the commit point covers them). */
static enum lv_status append_facts(struct lv_node *n, const struct pending *p, size_t count, size_t first)
{
	const unsigned char *key;
	enum lv_status st = vault_facts_key(n, p[first].learner, &key);
	if (st != LV_OK)
		return st;
	struct lv_fact *f = malloc(count * sizeof *f);
	size_t nf = 0;
	if (!f)
		return LV_ERR_NOMEM;
	for (size_t j = first; j < count; j++)
		if (!p[j].skip && !p[j].voids && strcmp(p[j].learner, p[first].learner) == 0)
			f[nf++] = p[j].fact;
	st = facts_append_locked(n, p[first].learner, key, f, nf);
	sodium_memzero(f, count * sizeof *f);
	free(f);
	return st;
}
/* A batch while lv_statements_store stores it, passed between its steps. */
struct batch {
	struct lv_node *n;
	const struct lv_principal *prov;
	struct pending *p;
	size_t count;
	const struct lv_attachment *atts;
	size_t natts;
	const struct lv_store_hooks *hooks;
	char *err;                       /* LV_ERR_TEXT bytes */
	int64_t now;                     /* the stored time of the batch */
	char stored[UTIL_TIME_LEN];
	/* node.db statements (index_prepare) */
	sqlite3_stmt *q_exists, *q_ins, *q_key, *q_void, *q_target;
	char (*staged)[LV_PSEUDONYM_LEN]; /* learners whose vaults it staged before the lock */
	size_t nstaged;
};

/* Outside the lock: ids, actor identities, ids repeated in the batch,
 * what a voiding statement voids, version, contextActivities as arrays,
 * the authority. */
static enum lv_status batch_prepare(struct batch *b, cJSON *batch)
{
	size_t i = 0;
	cJSON *it;
	cJSON_ArrayForEach(it, batch) {
		struct pending *x = &b->p[i++];
		x->st = it;
		/* Before anything below adds to the statement: the JWS payload
		 * is compared with what the provider sent. */
		x->sig = lv_xapi_signature_state(it, b->atts, b->natts);
		if (!cJSON_GetObjectItemCaseSensitive(it, "id")) {
			char u[UTIL_UUID_LEN];
			util_uuid_v4(u);
			cJSON_AddStringToObject(it, "id", u);
		}
		x->id = util_json_str(it, "id", NULL);
		enum lv_status st = lv_xapi_actor_identity(cJSON_GetObjectItemCaseSensitive(it, "actor"), IDENTITY_MAX,
							   &x->identity);
		if (st != LV_OK) {
			if (st == LV_ERR_TOO_LARGE)
				snprintf(b->err, LV_ERR_TEXT, "statement %zu: actor identity longer than %d bytes", i - 1,
					 IDENTITY_MAX);
			else
				snprintf(b->err, LV_ERR_TEXT, "statement %zu: actor has no identifier", i - 1);
			return st;
		}
		for (size_t j = 0; j + 1 < i; j++) {
			if (strcasecmp(b->p[j].id, x->id) == 0) {
				snprintf(b->err, LV_ERR_TEXT, "statement id %s appears twice in the batch", x->id);
				return LV_ERR_INVALID;
			}
		}
		const char *verb = util_json_str(it, "verb", "id");
		if (verb && strcmp(verb, LV_XAPI_VERB_VOIDED) == 0)
			x->voids = util_json_str(it, "object", "id");
		if (!cJSON_GetObjectItemCaseSensitive(it, "version"))
			cJSON_AddStringToObject(it, "version", "1.0.0");
		normalise_context(it);
		authority_for(b->n, b->prov, it);
	}
	return LV_OK;
}

/* The batch's stored time: stored times stay strictly increasing.  Lock
 * held. */
static void batch_stored_time(struct batch *b)
{
	int64_t now = util_now_ms();
	if (now <= b->n->last_stored_ms)
		now = b->n->last_stored_ms + 1;
	b->n->last_stored_ms = now;
	b->now = now;
	util_time_format(now, b->stored);
}

static enum lv_status index_prepare(struct batch *b)
{
	sqlite3 *db = b->n->db;
	enum lv_status st;
	if ((st = sql_prepare(db, "SELECT learner, voids IS NOT NULL, seq, provider FROM statements WHERE id = ?",
			      &b->q_exists)) != LV_OK ||
	    (st = sql_prepare(db, "INSERT INTO statements(id, learner, provider, verb, registration, stored, voids, ref,"
				  " signature) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)", &b->q_ins)) != LV_OK ||
	    (st = sql_prepare(db, "INSERT OR IGNORE INTO statement_keys(key, kind, seq) VALUES(?, ?, ?)", &b->q_key)) != LV_OK ||
	    /* A provider voids, and is told about, only what it may read: its
	     * own statements (issue 13: provider isolation). */
	    (st = sql_prepare(db, "UPDATE statements SET voided = 1 WHERE id = ? AND voids IS NULL AND provider = ?",
			      &b->q_void)) != LV_OK ||
	    (st = sql_prepare(db, "SELECT voids IS NOT NULL FROM statements WHERE id = ? AND provider = ?",
			      &b->q_target)) != LV_OK)
		return st;
	return LV_OK;
}

static void index_finalize(struct batch *b)
{
	sqlite3_finalize(b->q_exists);
	sqlite3_finalize(b->q_ins);
	sqlite3_finalize(b->q_key);
	sqlite3_finalize(b->q_void);
	sqlite3_finalize(b->q_target);
}

/* A statement whose id is already indexed: equivalent content is skipped
 * (x->skip), different content is a conflict. */
static enum lv_status pending_existing(struct batch *b, struct pending *x)
{
	sqlite3_reset(b->q_exists);
	sqlite3_bind_text(b->q_exists, 1, x->id, -1, SQLITE_STATIC);
	int rc = sqlite3_step(b->q_exists);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(b->q_exists);
		return LV_OK;
	}
	if (rc != SQLITE_ROW)
		return db_status(rc);
	cJSON *old = NULL;
	char learner[LV_PSEUDONYM_LEN];
	snprintf(learner, sizeof learner, "%s", (const char *)sqlite3_column_text(b->q_exists, 0));
	int64_t oseq = sqlite3_column_int64(b->q_exists, 2);
	const char *owner = (const char *)sqlite3_column_text(b->q_exists, 3);
	bool foreign = !owner || strcmp(owner, b->prov->id) != 0;
	sqlite3_reset(b->q_exists);
	if (foreign) {
		/* Another provider's statement: this provider may not read it, so
		 * the answer must not depend on its content (a content match
		 * would confirm a learner's result).  The id is taken, whatever
		 * was sent. */
		snprintf(b->err, LV_ERR_TEXT, "statement id %s is already used", x->id);
		return LV_ERR_CONFLICT;
	}
	enum lv_status st = store_statement_body(b->n, learner, oseq, &old, NULL);
	if (st != LV_OK)
		return st;
	bool same = lv_xapi_statements_equivalent(old, x->st);
	cJSON_Delete(old);
	if (!same) {
		snprintf(b->err, LV_ERR_TEXT, "statement %s exists with different content", x->id);
		return LV_ERR_CONFLICT;
	}
	x->skip = true;
	return LV_OK;
}

/* A voiding statement may not target another voiding one, stored or in
 * the batch. */
static enum lv_status pending_voids_ok(struct batch *b, size_t i)
{
	const struct pending *x = &b->p[i];
	if (!x->voids)
		return LV_OK;
	sqlite3_reset(b->q_target);
	sqlite3_bind_text(b->q_target, 1, x->voids, -1, SQLITE_STATIC);
	sqlite3_bind_text(b->q_target, 2, b->prov->id, -1, SQLITE_STATIC);
	int rc = sqlite3_step(b->q_target);
	bool target_voids = rc == SQLITE_ROW && sqlite3_column_int(b->q_target, 0);
	sqlite3_reset(b->q_target);
	bool in_batch_voider = false;
	for (size_t j = 0; j < b->count; j++)
		if (j != i && b->p[j].voids && strcasecmp(b->p[j].id, x->voids) == 0)
			in_batch_voider = true;
	if (target_voids || in_batch_voider) {
		snprintf(b->err, LV_ERR_TEXT, "statement %s voids a voiding statement", x->id);
		return LV_ERR_INVALID;
	}
	return LV_OK;
}

/* Statement @i's index row (its learner resolved or enrolled), its
 * filter keys, aggregate facts and activity definitions, and the voided
 * flag of its target. */
static enum lv_status index_one(struct batch *b, size_t i)
{
	struct lv_node *n = b->n;
	struct pending *x = &b->p[i];
	enum lv_status st = learner_resolve(n, x->identity, n->auto_enrol, x->learner, NULL);
	if (st == LV_ERR_NOT_FOUND) {
		snprintf(b->err, LV_ERR_TEXT, "statement %zu: actor is not enrolled and auto_enrol is off", i);
		st = LV_ERR_FORBIDDEN;
	}
	if (st != LV_OK)
		return st;
	set_string(x->st, "stored", b->stored);
	if (!cJSON_GetObjectItemCaseSensitive(x->st, "timestamp"))
		set_string(x->st, "timestamp", b->stored);
	x->body = cJSON_PrintUnformatted(x->st);
	if (!x->body)
		return LV_ERR_NOMEM;
	sqlite3_stmt *q = b->q_ins;
	sqlite3_reset(q);
	sqlite3_bind_text(q, 1, x->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, x->learner, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, b->prov->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, util_json_str(x->st, "verb", "id"), -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 5, util_json_str(cJSON_GetObjectItemCaseSensitive(x->st, "context"), "registration", NULL), -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 6, b->now);
	sqlite3_bind_text(q, 7, x->voids, -1, SQLITE_STATIC);
	const char *ot = util_json_str(x->st, "object", "objectType");
	sqlite3_bind_text(q, 8, ot && strcmp(ot, "StatementRef") == 0 ? util_json_str(x->st, "object", "id") : NULL,
			  -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 9, (int)x->sig);
	int rc = sqlite3_step(q);
	if (rc != SQLITE_DONE)
		return db_status(rc);
	x->seq = sqlite3_last_insert_rowid(n->db);
	if (!x->voids && (st = facts_from_statement(n, x->st, x->seq, b->now, &x->fact)) != LV_OK)
		return st;
	struct key_ctx kc = {.node = n, .ins = b->q_key, .seq = x->seq};
	st = lv_xapi_statement_keys(x->st, key_cb, &kc);
	if (st == LV_OK)
		st = activities_merge(n, x->st);
	if (st != LV_OK) {
		if (st == LV_ERR_TOO_LARGE)
			snprintf(b->err, LV_ERR_TEXT, "statement %s references too many agents/activities", x->id);
		return st;
	}
	if (x->voids) {
		sqlite3_reset(b->q_void);
		sqlite3_bind_text(b->q_void, 1, x->voids, -1, SQLITE_STATIC);
		sqlite3_bind_text(b->q_void, 2, b->prov->id, -1, SQLITE_STATIC);
		if ((rc = sqlite3_step(b->q_void)) != SQLITE_DONE)
			return db_status(rc);
	}
	return LV_OK;
}

/* The node.db index rows of the batch, in batch order. */
static enum lv_status index_rows(struct batch *b)
{
	for (size_t i = 0; i < b->count; i++) {
		enum lv_status st = pending_existing(b, &b->p[i]);
		if (st != LV_OK)
			return st;
		if (b->p[i].skip)
			continue;
		if ((st = pending_voids_ok(b, i)) != LV_OK || (st = index_one(b, i)) != LV_OK)
			return st;
	}
	return LV_OK;
}

/* Statement @j into its vault's open transaction, with the attachment
 * bodies it references and the use case's derived state (the learner's
 * model). */
static enum lv_status vault_write_one(struct batch *b, size_t j, sqlite3_stmt *vi, sqlite3_stmt *va,
				      sqlite3_stmt *vo)
{
	const struct pending *x = &b->p[j];
	sqlite3_reset(vi);
	sqlite3_bind_int64(vi, 1, x->seq);
	sqlite3_bind_text(vi, 2, x->body, -1, SQLITE_STATIC);
	enum lv_status st = db_status(sqlite3_step(vi));
	const cJSON *al = cJSON_GetObjectItemCaseSensitive(x->st, "attachments");
	const cJSON *a;
	cJSON_ArrayForEach(a, al) {
		const char *sha = util_json_str(a, "sha2", NULL);
		for (size_t k = 0; sha && k < b->natts && st == LV_OK; k++) {
			const struct lv_attachment *at = &b->atts[k];
			if (strcasecmp(at->sha2, sha) != 0)
				continue;
			sqlite3_reset(va);
			sqlite3_bind_text(va, 1, at->sha2, -1, SQLITE_STATIC);
			sqlite3_bind_text(va, 2, at->content_type ? at->content_type : "application/octet-stream", -1, SQLITE_STATIC);
			sqlite3_bind_blob(va, 3, at->data, (int)at->len, SQLITE_STATIC);
			st = db_status(sqlite3_step(va));
			if (st == LV_OK) {
				sqlite3_reset(vo);
				sqlite3_bind_text(vo, 1, at->sha2, -1, SQLITE_STATIC);
				sqlite3_bind_text(vo, 2, b->prov->id, -1, SQLITE_STATIC);
				st = db_status(sqlite3_step(vo));
			}
			break;
		}
	}
	if (st == LV_OK && b->hooks && b->hooks->statement_stored)
		st = b->hooks->statement_stored(b->hooks->ctx, b->n, x->learner, x->st, x->seq);
	return st;
}

/* Every new statement of learner p[first].learner in one vault
 * transaction, then their facts in the index transaction.  On failure the
 * vault transaction is rolled back and its handle dropped. */
static enum lv_status vault_write_learner(struct batch *b, size_t first)
{
	struct lv_node *n = b->n;
	const char *learner = b->p[first].learner;
	sqlite3_stmt *vb = NULL, *vi = NULL, *va = NULL, *vo = NULL, *vc = NULL;
	enum lv_status st;
	if ((st = vault_stmt(n, learner, VAULT_BEGIN, &vb)) != LV_OK ||
	    (st = vault_stmt(n, learner, VAULT_INSERT_STATEMENT, &vi)) != LV_OK ||
	    (st = vault_stmt(n, learner, VAULT_INSERT_ATTACHMENT, &va)) != LV_OK ||
	    (st = vault_stmt(n, learner, VAULT_INSERT_ATTACHMENT_OWNER, &vo)) != LV_OK ||
	    (st = vault_stmt(n, learner, VAULT_COMMIT, &vc)) != LV_OK)
		return st;
	st = db_status(sqlite3_step(vb));
	for (size_t j = first; j < b->count && st == LV_OK; j++)
		if (!b->p[j].skip && strcmp(b->p[j].learner, learner) == 0)
			st = vault_write_one(b, j, vi, va, vo);
	if (st == LV_OK)
		st = db_status(sqlite3_step(vc));
	if (st == LV_OK)
		st = append_facts(n, b->p, b->count, first);
	/* Release the bound buffers: they belong to this batch. */
	sqlite3_reset(vi);
	sqlite3_clear_bindings(vi);
	sqlite3_reset(va);
	sqlite3_clear_bindings(va);
	sqlite3_reset(vo);
	sqlite3_clear_bindings(vo);
	sqlite3_reset(vb);
	sqlite3_reset(vc);
	if (st != LV_OK) {
		sqlite3 *v = NULL;
		if (vault_get(n, learner, false, &v) == LV_OK &&
		    db_exec(v, "ROLLBACK;") != LV_OK) { /* the handle is evicted below */ }
		vault_evict(n, learner);
	}
	return st;
}

/* Vaults first, one transaction per vault; the index commit after them
 * is the commit point.  A vault row without an index row is invisible
 * and is overwritten if the statement is sent again. */
static enum lv_status vault_writes(struct batch *b)
{
	for (size_t i = 0; i < b->count; i++) {
		if (b->p[i].skip || b->p[i].learner[0] == '\0')
			continue;
		bool first = true;
		for (size_t j = 0; j < i; j++)
			if (!b->p[j].skip && strcmp(b->p[j].learner, b->p[i].learner) == 0)
				first = false;
		if (!first)
			continue;
		enum lv_status st = vault_write_learner(b, i);
		if (st != LV_OK)
			return st;
	}
	return LV_OK;
}

/* Outside the lock: a vault for each learner of the batch that has none
 * yet, so that enrolling under the lock is a row and a handle (the
 * auto_enrol setting is read without the lock: a stale answer only wastes
 * a staged vault or leaves the vault to be made under the lock).  Only a
 * process that owns the vaults stages (others close new vaults at once). */
#define STAGE_MAX 64

static enum lv_status batch_stage(struct batch *b)
{
	struct lv_node *n = b->n;
	if (!n->own_vaults || !__atomic_load_n(&n->auto_enrol, __ATOMIC_RELAXED))
		return LV_OK;
	b->staged = calloc(b->count ? b->count : 1, sizeof *b->staged);
	if (!b->staged)
		return LV_ERR_NOMEM;
	enum lv_status st = LV_OK;
	/* Each staged vault is an open handle until it is taken: a bounded
	 * number (the provider door's batches name at most max_batch_learners;
	 * a larger offline batch makes the rest under the lock, as before). */
	for (size_t i = 0; i < b->count && st == LV_OK && b->nstaged < STAGE_MAX; i++) {
		char p[LV_PSEUDONYM_LEN];
		bool staged = false;
		key_pseudonym(n->keys, b->p[i].identity, p);
		st = vault_stage(n, p, b, &staged);
		if (staged)
			memcpy(b->staged[b->nstaged++], p, LV_PSEUDONYM_LEN);
	}
	return st;
}

/* After the transaction: the staged vaults no learner took go. */
static void batch_unstage(struct batch *b)
{
	for (size_t i = 0; i < b->nstaged; i++)
		vault_unstage(b->n, b->staged[i], b);
	free(b->staged);
	b->staged = NULL;
	b->nstaged = 0;
}

enum lv_status lv_statements_store(struct lv_node *n, const struct lv_principal *prov, cJSON *batch,
				   const struct lv_attachment *atts, size_t natts, const struct lv_store_hooks *hooks,
				   char err[LV_ERR_TEXT])
{
	struct batch b = {.n = n, .prov = prov, .count = (size_t)cJSON_GetArraySize(batch), .atts = atts,
			  .natts = natts, .hooks = hooks, .err = err};
	struct lv_tx *tx = NULL;
	enum lv_status st;
	err[0] = '\0';
	b.p = calloc(b.count ? b.count : 1, sizeof *b.p);
	if (!b.p) {
		st = LV_ERR_NOMEM;
		goto out;
	}
	if ((st = batch_prepare(&b, batch)) != LV_OK || (st = batch_stage(&b)) != LV_OK)
		goto out;
	if ((st = lv_tx_begin(n, &tx)) != LV_OK)
		goto out;
	batch_stored_time(&b);
	if ((st = index_prepare(&b)) != LV_OK || (st = index_rows(&b)) != LV_OK || (st = vault_writes(&b)) != LV_OK)
		goto out;
	/* Keep the facts journal short: a bounded fold for the next query. */
	st = facts_fold_if_due_locked(n);
out:
	index_finalize(&b);
	/* Commit point; a rollback also removes the vaults this batch made. */
	if (tx)
		st = lv_tx_end(tx, st);
	batch_unstage(&b);
	if (st != LV_OK && !err[0])
		snprintf(err, LV_ERR_TEXT, "could not store the statements: %s", lv_status_str(st));
	pending_free(b.p, b.count);
	return st;
}


int64_t lv_statements_consistent_through(struct lv_node *n)
{
	(void)n;
	/* Statements become visible at their index commit, under the node
	 * lock: everything acknowledged before now is visible now. */
	return util_now_ms();
}

void lv_attachments_free(struct lv_attachment *a, size_t n)
{
	for (size_t i = 0; a && i < n; i++) {
		free((char *)a[i].sha2);
		free((char *)a[i].content_type);
		free((unsigned char *)a[i].data);
	}
	free(a);
}

#define ATTACHMENTS_MAX (1u << 20) /* distinct bodies in one response */
/* A UTIL_ARRAY of attachments, named to be passed around. */
struct attachment_array {
	struct lv_attachment *v;
	size_t n, cap;
};

/* Adds the bodies statement @s references (those not in @a yet) from its
 * actor's vault, those @provider sent itself (or, stored before owners
 * were kept, whoever sent them).  Lock held. */
static enum lv_status attachments_of(struct lv_node *n, const char *provider, const cJSON *s,
				     struct attachment_array *a)
{
	const cJSON *al = cJSON_GetObjectItemCaseSensitive(s, "attachments");
	if (!cJSON_GetArraySize(al))
		return LV_OK;
	char learner[LV_PSEUDONYM_LEN];
	char *ident = NULL;
	enum lv_status st = lv_xapi_actor_identity(cJSON_GetObjectItemCaseSensitive(s, "actor"), IDENTITY_MAX, &ident);
	if (st == LV_OK)
		key_pseudonym(n->keys, ident, learner);
	free(ident);
	if (st != LV_OK)
		return st;
	sqlite3 *v = NULL;
	st = vault_get(n, learner, false, &v);
	if (st != LV_OK)
		return st;
	const cJSON *att;
	cJSON_ArrayForEach(att, al) {
		const char *sha = util_json_str(att, "sha2", NULL);
		if (!sha)
			continue;
		bool dup = false;
		for (size_t k = 0; k < a->n; k++)
			if (strcasecmp(a->v[k].sha2, sha) == 0)
				dup = true;
		if (dup)
			continue;
		sqlite3_stmt *q = NULL;
		st = sql_prepare(v, "SELECT content_type, body FROM attachments a WHERE sha2 = ?1 AND ("
				    " EXISTS(SELECT 1 FROM attachment_owners o WHERE o.sha2 = a.sha2 AND o.provider = ?2)"
				    " OR NOT EXISTS(SELECT 1 FROM attachment_owners o WHERE o.sha2 = a.sha2))", &q);
		if (st != LV_OK)
			return st;
		sqlite3_bind_text(q, 1, sha, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 2, provider, -1, SQLITE_STATIC);
		if (sqlite3_step(q) == SQLITE_ROW && (st = util_array_room(a, ATTACHMENTS_MAX)) == LV_OK) {
			size_t len = (size_t)sqlite3_column_bytes(q, 1);
			unsigned char *d = malloc(len ? len : 1);
			if (d && len)
				memcpy(d, sqlite3_column_blob(q, 1), len);
			struct lv_attachment *x = &a->v[a->n++];
			x->sha2 = strdup(sha);
			/* The part's type is what this statement says its
			 * attachment is (issue 14), not the type the body
			 * was last uploaded with by whichever statement. */
			const char *ct = util_json_str(att, "contentType", NULL);
			x->content_type = strdup(ct ? ct : (const char *)sqlite3_column_text(q, 0));
			x->data = d;
			x->len = len;
			if (!d || !x->sha2 || !x->content_type)
				st = LV_ERR_NOMEM;
		}
		sqlite3_finalize(q);
		if (st != LV_OK)
			return st;
	}
	return LV_OK;
}

enum lv_status lv_statement_attachments(struct lv_node *n, const char *provider, const cJSON *statements,
					struct lv_attachment **out, size_t *nout)
{
	*out = NULL;
	*nout = 0;
	struct attachment_array a = {0};
	const cJSON *s;
	enum lv_status st = lv_store_lock(n);
	cJSON_ArrayForEach(s, statements) {
		if (st != LV_OK)
			break;
		st = attachments_of(n, provider, s, &a);
	}
	lv_store_unlock(n);
	if (st != LV_OK) {
		lv_attachments_free(a.v, a.n);
		return st;
	}
	*out = a.v;
	*nout = a.n;
	return LV_OK;
}

enum lv_status lv_activity_get(struct lv_node *n, const char *activity_id, cJSON **result)
{
	*result = NULL;
	sqlite3_stmt *s = NULL;
	enum lv_status st = lv_store_lock(n);
	if (st == LV_OK)
		st = sql_prepare(n->db, "SELECT definition FROM activities WHERE id = ?", &s);
	if (st == LV_OK) {
		sqlite3_bind_text(s, 1, activity_id, -1, SQLITE_STATIC);
		int rc = sqlite3_step(s);
		if (rc == SQLITE_ROW) {
			cJSON *o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "objectType", "Activity");
			cJSON_AddStringToObject(o, "id", activity_id);
			cJSON *def = cJSON_Parse((const char *)sqlite3_column_text(s, 0));
			if (def && cJSON_GetArraySize(def) > 0)
				cJSON_AddItemToObject(o, "definition", def);
			else
				cJSON_Delete(def);
			*result = o;
		} else {
			st = rc == SQLITE_DONE ? LV_ERR_NOT_FOUND : db_status(rc);
		}
	}
	sqlite3_finalize(s);
	lv_store_unlock(n);
	return st;
}
