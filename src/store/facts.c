/* Aggregate facts: what the aggregate door may compute on, per learner,
 * encrypted under a key derived from that learner's vault key.
 *
 * Opening 10^4 SQLCipher vaults per query would take seconds, so each
 * stored statement also leaves a small fixed-form record (verb, activity,
 * type, context activities, registration, times, result fields) in node.db.
 * The records of one learner live in a few segments, each sealed with
 * XChaCha20-Poly1305 under the learner's facts key and bound to (learner,
 * segment).  Erasing the learner destroys the vault key and so the facts
 * key: crypto-shredding reaches the facts as it reaches the vault. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "learnvault/xapi.h"
#include "facts.h"
#include "store.h"

#define FACTS_CONTEXT "lvfacts1"
#define FACTS_SEG_MAX 16         /* segments per learner before they are merged */
#define FACTS_JOURNAL_FOLD 100000 /* journal segments after which ingest folds */
#define SEG_NONCE crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define SEG_TAG crypto_aead_xchacha20poly1305_ietf_ABYTES
#define SEG_MAX_PLAIN (64u * 1024 * 1024)

void facts_key_derive(const unsigned char *vault_key, unsigned char *out)
{
	crypto_kdf_derive_from_key(out, KEY_LEN, 1, FACTS_CONTEXT, vault_key);
}

/* ---- terms: IRIs as small integers (IRIs are not learner data) ---- */

/* A direct-mapped cache of term ids with the two statements prepared once:
 * a statement names three or four IRIs, and a lookup through SQLite costs
 * more than the rest of its record. */
#define TERM_SLOTS 4096
struct term_cache {
	struct {
		char *iri;
		uint32_t id;
	} slot[TERM_SLOTS];
	sqlite3_stmt *get, *ins;
	sqlite3_stmt *stmts[5]; /* FS_*, prepared on first use */
	int64_t next_seg;       /* the next segment id; 0: read it first */
	uint64_t journal_rows;  /* appended since the last fold (a lower bound) */
};

/* Ingest appends each learner's new records to facts_journal (rowid order:
 * sequential pages, no index to update at random positions); the first
 * aggregate read folds the journal into learner_facts, indexed by learner,
 * in one sorted pass.  Segment ids are global and increasing, so a
 * segment keeps its id (and its associated data) when it moves. */
enum { FS_COUNT, FS_INSERT, FS_SELECT, FS_DELETE, FS_JOURNAL };
static const char *const FS_SQL[5] = {
	[FS_COUNT] = "SELECT count(*), coalesce(max(seg), 0) FROM learner_facts WHERE learner = ?",
	[FS_INSERT] = "INSERT INTO learner_facts(learner, seg, data) VALUES(?, ?, ?)",
	[FS_SELECT] = "SELECT seg, data FROM learner_facts WHERE learner = ? ORDER BY seg",
	[FS_DELETE] = "DELETE FROM learner_facts WHERE learner = ?",
	[FS_JOURNAL] = "INSERT INTO facts_journal(id, learner, data) VALUES(?, ?, ?)",
};

static enum lv_status term_cache_get(struct lv_node *n, struct term_cache **out);

/* A cached statement, reset; release with done(). */
static enum lv_status fs_stmt(struct lv_node *n, int which, sqlite3_stmt **out)
{
	struct term_cache *tc;
	enum lv_status st = term_cache_get(n, &tc);
	if (st != LV_OK)
		return st;
	if (!tc->stmts[which] &&
	    (st = db_status(sqlite3_prepare_v2(n->db, FS_SQL[which], -1, &tc->stmts[which], NULL))) != LV_OK)
		return st;
	*out = tc->stmts[which];
	return LV_OK;
}

static void done(sqlite3_stmt *s)
{
	if (s) {
		sqlite3_reset(s);
		sqlite3_clear_bindings(s);
	}
}

/* The term cache's slot (in memory only: any good spread will do). */
static size_t term_hash(const char *s)
{
	return (size_t)(util_fnv1a(s) % TERM_SLOTS);
}

void facts_terms_forget(struct lv_node *n)
{
	if (!n->terms)
		return;
	for (size_t i = 0; i < TERM_SLOTS; i++) {
		free(n->terms->slot[i].iri);
		n->terms->slot[i].iri = NULL;
	}
	n->terms->next_seg = 0; /* a rolled-back append may have used ids */
	n->terms->journal_rows = 0;
}

void facts_terms_free(struct lv_node *n)
{
	if (!n->terms)
		return;
	facts_terms_forget(n);
	sqlite3_finalize(n->terms->get);
	sqlite3_finalize(n->terms->ins);
	for (int i = 0; i < 5; i++)
		sqlite3_finalize(n->terms->stmts[i]);
	free(n->terms);
	n->terms = NULL;
}

static enum lv_status term_cache_get(struct lv_node *n, struct term_cache **out)
{
	struct term_cache *tc = n->terms;
	if (!tc) {
		tc = calloc(1, sizeof *tc);
		if (!tc)
			return LV_ERR_NOMEM;
		if (sqlite3_prepare_v2(n->db, "SELECT id FROM terms WHERE iri = ?", -1, &tc->get, NULL) != SQLITE_OK ||
		    sqlite3_prepare_v2(n->db, "INSERT INTO terms(iri) VALUES(?)", -1, &tc->ins, NULL) != SQLITE_OK) {
			sqlite3_finalize(tc->get);
			free(tc);
			return LV_ERR_DB;
		}
		n->terms = tc;
	}
	*out = tc;
	return LV_OK;
}

enum lv_status facts_term(struct lv_node *n, const char *iri, bool create, uint32_t *id)
{
	*id = 0;
	if (!iri)
		return LV_OK;
	struct term_cache *tc;
	enum lv_status st = term_cache_get(n, &tc);
	if (st != LV_OK)
		return st;
	size_t h = term_hash(iri);
	if (tc->slot[h].iri && strcmp(tc->slot[h].iri, iri) == 0) {
		*id = tc->slot[h].id;
		return LV_OK;
	}
	sqlite3_reset(tc->get);
	sqlite3_bind_text(tc->get, 1, iri, -1, SQLITE_STATIC);
	int rc = sqlite3_step(tc->get);
	if (rc == SQLITE_ROW)
		*id = (uint32_t)sqlite3_column_int64(tc->get, 0);
	else if (rc != SQLITE_DONE)
		st = db_status(rc);
	sqlite3_reset(tc->get);
	sqlite3_clear_bindings(tc->get);
	if (st == LV_OK && !*id && create) {
		sqlite3_reset(tc->ins);
		sqlite3_bind_text(tc->ins, 1, iri, -1, SQLITE_STATIC);
		st = db_status(sqlite3_step(tc->ins));
		sqlite3_reset(tc->ins);
		sqlite3_clear_bindings(tc->ins);
		if (st == LV_OK) {
			int64_t v = sqlite3_last_insert_rowid(n->db);
			if (v <= 0 || v > UINT32_MAX)
				return LV_ERR_INTERNAL;
			*id = (uint32_t)v;
		}
	}
	if (st == LV_OK && *id) {
		/* Cached only once known; a rolled-back insert is forgotten by
		 * facts_terms_forget. */
		char *copy = strdup(iri);
		if (copy) {
			free(tc->slot[h].iri);
			tc->slot[h].iri = copy;
			tc->slot[h].id = *id;
		}
	}
	return st;
}

/* ---- one statement's record ---- */

/* ISO 8601 duration to milliseconds (Y = 365 days, M = 30 days, W = 7
 * days: xAPI durations are almost always PT..H..M..S); -1 when unusable. */
static int64_t duration_ms(const char *s)
{
	if (!s || *s != 'P')
		return -1;
	double total = 0;
	bool time = false;
	for (const char *p = s + 1; *p;) {
		if (*p == 'T') {
			time = true;
			p++;
			continue;
		}
		char *end;
		double v = strtod(p, &end);
		if (end == p || !*end || v < 0)
			return -1;
		double unit;
		switch (*end) {
		case 'Y': unit = 365.0 * 86400; break;
		case 'M': unit = time ? 60 : 30.0 * 86400; break;
		case 'W': unit = 7.0 * 86400; break;
		case 'D': unit = 86400; break;
		case 'H': unit = 3600; break;
		case 'S': unit = 1; break;
		default: return -1;
		}
		total += v * unit;
		p = end + 1;
	}
	if (!(total >= 0 && total < 1e15))
		return -1;
	return (int64_t)llround(total * 1000);
}

static int8_t tri(const cJSON *v)
{
	return cJSON_IsBool(v) ? (cJSON_IsTrue(v) ? 1 : 0) : -1;
}

static bool uuid_bytes(const char *s, unsigned char out[16])
{
	size_t k = 0;
	for (const char *p = s; *p && k < 32; p++) {
		if (*p == '-')
			continue;
		int hi;
		if (*p >= '0' && *p <= '9')
			hi = *p - '0';
		else if ((*p | 32) >= 'a' && (*p | 32) <= 'f')
			hi = (*p | 32) - 'a' + 10;
		else
			return false;
		if (k % 2 == 0)
			out[k / 2] = (unsigned char)(hi << 4);
		else
			out[k / 2] |= (unsigned char)hi;
		k++;
	}
	return k == 32;
}

enum lv_status facts_from_statement(struct lv_node *n, const cJSON *stmt, int64_t seq, int64_t stored_ms,
				    struct lv_fact *f)
{
	enum lv_status st;
	memset(f, 0, sizeof *f);
	f->seq = seq;
	f->stored_ms = stored_ms;
	f->timestamp_ms = stored_ms;
	const char *ts = util_json_str(stmt, "timestamp", NULL);
	int64_t t;
	if (ts && util_time_parse(ts, &t))
		f->timestamp_ms = t;
	const cJSON *result = cJSON_GetObjectItemCaseSensitive(stmt, "result");
	f->duration_ms = duration_ms(util_json_str(result, "duration", NULL));
	const cJSON *scaled = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(result, "score"), "scaled");
	f->score_e6 = LV_FACT_NO_SCORE;
	if (cJSON_IsNumber(scaled) && scaled->valuedouble >= -1 && scaled->valuedouble <= 1)
		f->score_e6 = (int32_t)llround(scaled->valuedouble * 1e6);
	f->success = tri(cJSON_GetObjectItemCaseSensitive(result, "success"));
	f->completion = tri(cJSON_GetObjectItemCaseSensitive(result, "completion"));
	if ((st = facts_term(n, util_json_str(stmt, "verb", "id"), true, &f->verb)) != LV_OK)
		return st;
	const cJSON *obj = cJSON_GetObjectItemCaseSensitive(stmt, "object");
	const char *ot = util_json_str(obj, "objectType", NULL);
	if (!ot || strcmp(ot, "Activity") == 0) {
		if ((st = facts_term(n, util_json_str(obj, "id", NULL), true, &f->object)) != LV_OK)
			return st;
		const char *type = util_json_str(cJSON_GetObjectItemCaseSensitive(obj, "definition"), "type", NULL);
		char *canon = NULL;
		if (!type && f->object) {
			/* The type may come from the activity's canonical definition
			 * (SQLCipher 3.4 has no JSON functions: parse it here). */
			sqlite3_stmt *s = NULL;
			if (sqlite3_prepare_v2(n->db, "SELECT definition FROM activities WHERE id = ?", -1, &s, NULL) == SQLITE_OK) {
				sqlite3_bind_text(s, 1, util_json_str(obj, "id", NULL), -1, SQLITE_STATIC);
				if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) == SQLITE_TEXT) {
					cJSON *def = util_json_parse((const char *)sqlite3_column_text(s, 0),
								     (size_t)sqlite3_column_bytes(s, 0));
					const char *t = util_json_str(def, "type", NULL);
					if (t)
						canon = strdup(t);
					cJSON_Delete(def);
				}
			}
			sqlite3_finalize(s);
			type = canon;
		}
		st = facts_term(n, type, true, &f->type);
		free(canon);
		if (st != LV_OK)
			return st;
	}
	const cJSON *ctx = cJSON_GetObjectItemCaseSensitive(stmt, "context");
	const char *reg = util_json_str(ctx, "registration", NULL);
	if (reg && uuid_bytes(reg, f->registration))
		f->has_registration = 1;
	/* Context activities, parent and grouping first: they place the
	 * activity under a course or module (the "descendants" filter). */
	static const char *const lists[] = {"parent", "grouping", "category", "other"};
	const cJSON *ca = cJSON_GetObjectItemCaseSensitive(ctx, "contextActivities");
	for (size_t l = 0; l < 4 && f->nctx < LV_FACT_MAX_CTX; l++) {
		const cJSON *arr = cJSON_GetObjectItemCaseSensitive(ca, lists[l]);
		const cJSON *a;
		cJSON_ArrayForEach(a, arr) {
			if (f->nctx >= LV_FACT_MAX_CTX)
				break;
			uint32_t id;
			if ((st = facts_term(n, util_json_str(a, "id", NULL), true, &id)) != LV_OK)
				return st;
			if (id)
				f->ctx[f->nctx++] = id;
		}
	}
	return LV_OK;
}

/* ---- serialisation: compact varints ----
 *
 * A record is a flags byte, then varints: seq and stored time as deltas
 * from the previous record of the segment, timestamp as an offset from
 * stored (zigzag), duration and score when present, verb, object, type,
 * the context count and ids, then 16 registration bytes when present.
 * About 25 bytes a statement: less to read, decrypt and cache per query. */

#define FACT_MAX_LEN (1 + 7 * 10 + 10 + LV_FACT_MAX_CTX * 5 + 16)

static size_t put_var(unsigned char *p, uint64_t v)
{
	size_t n = 0;
	while (v >= 0x80) {
		p[n++] = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (unsigned char)v;
	return n;
}

static uint64_t zz(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static int64_t unzz(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

static bool get_var(const unsigned char *p, size_t len, size_t *off, uint64_t *v)
{
	uint64_t r = 0;
	for (unsigned shift = 0; shift < 64; shift += 7) {
		if (*off >= len)
			return false;
		unsigned char c = p[(*off)++];
		r |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80)) {
			*v = r;
			return true;
		}
	}
	return false;
}

struct fact_prev {
	int64_t seq, stored;
};

static size_t fact_put(unsigned char *p, const struct lv_fact *f, struct fact_prev *prev)
{
	size_t n = 1;
	bool has_score = f->score_e6 != LV_FACT_NO_SCORE, has_dur = f->duration_ms >= 0;
	p[0] = (unsigned char)(f->has_registration | has_score << 1 | has_dur << 2 | (f->success + 1) << 3 |
			       (f->completion + 1) << 5);
	n += put_var(p + n, zz(f->seq - prev->seq));
	n += put_var(p + n, zz(f->stored_ms - prev->stored));
	n += put_var(p + n, zz(f->timestamp_ms - f->stored_ms));
	if (has_dur)
		n += put_var(p + n, (uint64_t)f->duration_ms);
	if (has_score)
		n += put_var(p + n, zz(f->score_e6));
	n += put_var(p + n, f->verb);
	n += put_var(p + n, f->object);
	n += put_var(p + n, f->type);
	n += put_var(p + n, f->nctx);
	for (unsigned i = 0; i < f->nctx; i++)
		n += put_var(p + n, f->ctx[i]);
	if (f->has_registration) {
		memcpy(p + n, f->registration, 16);
		n += 16;
	}
	prev->seq = f->seq;
	prev->stored = f->stored_ms;
	return n;
}

static bool fact_get(const unsigned char *p, size_t len, size_t *off, struct lv_fact *f, struct fact_prev *prev)
{
	uint64_t v, verb, object, type, nctx;
	if (*off >= len)
		return false;
	unsigned flags = p[(*off)++];
	if (flags >> 7 || ((flags >> 3) & 3) == 3 || ((flags >> 5) & 3) == 3)
		return false;
	memset(f, 0, sizeof *f);
	f->has_registration = flags & 1;
	f->success = (int8_t)(((flags >> 3) & 3) - 1);
	f->completion = (int8_t)(((flags >> 5) & 3) - 1);
	if (!get_var(p, len, off, &v))
		return false;
	f->seq = prev->seq + unzz(v);
	if (!get_var(p, len, off, &v))
		return false;
	f->stored_ms = prev->stored + unzz(v);
	if (!get_var(p, len, off, &v))
		return false;
	f->timestamp_ms = f->stored_ms + unzz(v);
	f->duration_ms = -1;
	if (flags & 4) {
		if (!get_var(p, len, off, &v) || v > INT64_MAX)
			return false;
		f->duration_ms = (int64_t)v;
	}
	f->score_e6 = LV_FACT_NO_SCORE;
	if (flags & 2) {
		if (!get_var(p, len, off, &v))
			return false;
		int64_t sc = unzz(v);
		if (sc < -1000000 || sc > 1000000)
			return false;
		f->score_e6 = (int32_t)sc;
	}
	if (!get_var(p, len, off, &verb) || !get_var(p, len, off, &object) || !get_var(p, len, off, &type) ||
	    !get_var(p, len, off, &nctx) || verb > UINT32_MAX || object > UINT32_MAX || type > UINT32_MAX ||
	    nctx > LV_FACT_MAX_CTX)
		return false;
	f->verb = (uint32_t)verb;
	f->object = (uint32_t)object;
	f->type = (uint32_t)type;
	f->nctx = (uint8_t)nctx;
	for (unsigned i = 0; i < f->nctx; i++) {
		if (!get_var(p, len, off, &v) || v > UINT32_MAX)
			return false;
		f->ctx[i] = (uint32_t)v;
	}
	if (f->has_registration) {
		if (len - *off < 16)
			return false;
		memcpy(f->registration, p + *off, 16);
		*off += 16;
	}
	prev->seq = f->seq;
	prev->stored = f->stored_ms;
	return true;
}

/* Decodes @len bytes of records, appending to @v. */
static enum lv_status facts_parse(const unsigned char *p, size_t len, struct fact_vec *v)
{
	size_t off = 0;
	struct fact_prev prev = {0, 0};
	while (off < len) {
		enum lv_status gst = util_array_grow((void **)&v->f, sizeof *v->f, &v->cap, v->n + 1, SIZE_MAX / sizeof *v->f);
		if (gst != LV_OK)
			return gst;
		if (!fact_get(p, len, &off, &v->f[v->n], &prev))
			return LV_ERR_CRYPTO; /* authenticated, yet malformed: refuse */
		v->n++;
	}
	return LV_OK;
}

static void seg_ad(const char *p, int64_t seg, char ad[96])
{
	snprintf(ad, 96, "lv-facts-v2:%s:%lld", p, (long long)seg);
}

enum lv_status facts_open_segment(const unsigned char *key, const char *p, int64_t seg, const void *blob,
				  size_t len, struct fact_vec *v)
{
	char ad[96];
	if (len < SEG_NONCE + SEG_TAG || len - SEG_NONCE - SEG_TAG > SEG_MAX_PLAIN)
		return LV_ERR_CRYPTO;
	size_t plen = len - SEG_NONCE - SEG_TAG;
	unsigned char *plain = malloc(plen ? plen : 1);
	if (!plain)
		return LV_ERR_NOMEM;
	seg_ad(p, seg, ad);
	unsigned long long got;
	enum lv_status st = LV_ERR_CRYPTO;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain, &got, NULL, (const unsigned char *)blob + SEG_NONCE,
						       len - SEG_NONCE, (const unsigned char *)ad, strlen(ad),
						       blob, key) == 0)
		st = facts_parse(plain, (size_t)got, v);
	sodium_memzero(plain, plen);
	free(plain);
	return st;
}

static enum lv_status seg_put(struct lv_node *n, const unsigned char *key, const char *p, int64_t seg,
			      const unsigned char *plain, size_t plen, bool journal)
{
	char ad[96];
	size_t len = SEG_NONCE + plen + SEG_TAG;
	unsigned char *blob = malloc(len);
	sqlite3_stmt *s = NULL;
	if (!blob)
		return LV_ERR_NOMEM;
	seg_ad(p, seg, ad);
	randombytes_buf(blob, SEG_NONCE);
	crypto_aead_xchacha20poly1305_ietf_encrypt(blob + SEG_NONCE, NULL, plain, plen, (const unsigned char *)ad,
						   strlen(ad), NULL, blob, key);
	enum lv_status st = fs_stmt(n, journal ? FS_JOURNAL : FS_INSERT, &s);
	if (st == LV_OK) {
		if (journal) {
			sqlite3_bind_int64(s, 1, seg);
			sqlite3_bind_text(s, 2, p, -1, SQLITE_STATIC);
		} else {
			sqlite3_bind_text(s, 1, p, -1, SQLITE_STATIC);
			sqlite3_bind_int64(s, 2, seg);
		}
		sqlite3_bind_blob(s, 3, blob, (int)len, SQLITE_STATIC);
		st = db_status(sqlite3_step(s));
	}
	done(s);
	free(blob);
	return st;
}

static enum lv_status encode(const struct lv_fact *f, size_t nf, unsigned char **out, size_t *len)
{
	if (nf > SEG_MAX_PLAIN / FACT_MAX_LEN)
		return LV_ERR_TOO_LARGE;
	unsigned char *buf = malloc(nf ? nf * FACT_MAX_LEN : 1);
	if (!buf)
		return LV_ERR_NOMEM;
	size_t off = 0;
	struct fact_prev prev = {0, 0};
	for (size_t i = 0; i < nf; i++)
		off += fact_put(buf + off, &f[i], &prev);
	*out = buf;
	*len = off;
	return LV_OK;
}

/* The next global segment id (under the lock). */
static enum lv_status next_seg(struct lv_node *n, int64_t *seg)
{
	struct term_cache *tc;
	enum lv_status st = term_cache_get(n, &tc);
	if (st != LV_OK)
		return st;
	if (tc->next_seg == 0) {
		sqlite3_stmt *s = NULL;
		st = db_status(sqlite3_prepare_v2(n->db,
			"SELECT max(coalesce((SELECT max(id) FROM facts_journal), 0),"
			" coalesce((SELECT max(seg) FROM learner_facts), 0),"
			" coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'facts_journal'), 0))", -1, &s, NULL));
		if (st == LV_OK && sqlite3_step(s) == SQLITE_ROW)
			tc->next_seg = sqlite3_column_int64(s, 0) + 1;
		else if (st == LV_OK)
			st = LV_ERR_DB;
		sqlite3_finalize(s);
		if (st != LV_OK)
			return st;
	}
	*seg = tc->next_seg++;
	return LV_OK;
}

enum lv_status facts_append_locked(struct lv_node *n, const char *p, const unsigned char *key,
				   const struct lv_fact *f, size_t nf)
{
	unsigned char *plain = NULL;
	size_t plen = 0;
	int64_t seg;
	if (nf == 0)
		return LV_OK;
	enum lv_status st = next_seg(n, &seg);
	if (st == LV_OK)
		st = encode(f, nf, &plain, &plen);
	if (st == LV_OK)
		st = seg_put(n, key, p, seg, plain, plen, true);
	if (st == LV_OK)
		n->terms->journal_rows++;
	if (plain) {
		sodium_memzero(plain, plen);
		free(plain);
	}
	return st;
}

/* Merges learner @p's segments into one (keeping the newest id). */
static enum lv_status merge_learner(struct lv_node *n, const char *p, const unsigned char *key)
{
	sqlite3_stmt *s = NULL;
	unsigned char *plain = NULL;
	size_t plen = 0;
	struct fact_vec all = {0};
	int64_t maxseg = 0;
	enum lv_status st = fs_stmt(n, FS_SELECT, &s);
	if (st != LV_OK)
		return st;
	sqlite3_bind_text(s, 1, p, -1, SQLITE_STATIC);
	int rc;
	while (st == LV_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		maxseg = sqlite3_column_int64(s, 0);
		st = facts_open_segment(key, p, maxseg, sqlite3_column_blob(s, 1), (size_t)sqlite3_column_bytes(s, 1), &all);
	}
	done(s);
	s = NULL;
	if (st == LV_OK)
		st = encode(all.f, all.n, &plain, &plen);
	if (st == LV_OK && (st = fs_stmt(n, FS_DELETE, &s)) == LV_OK) {
		sqlite3_bind_text(s, 1, p, -1, SQLITE_STATIC);
		st = db_status(sqlite3_step(s));
		done(s);
	}
	if (st == LV_OK)
		st = seg_put(n, key, p, maxseg, plain, plen, false);
	if (plain) {
		sodium_memzero(plain, plen);
		free(plain);
	}
	if (all.f) {
		sodium_memzero(all.f, all.cap * sizeof *all.f);
		free(all.f);
	}
	return st;
}

enum lv_status facts_fold_if_due_locked(struct lv_node *n)
{
	if (!n->terms || n->terms->journal_rows < FACTS_JOURNAL_FOLD)
		return LV_OK;
	return facts_fold_locked(n);
}

enum lv_status facts_fold_locked(struct lv_node *n)
{
	sqlite3_stmt *s = NULL, *w = NULL;
	char (*ls)[LV_PSEUDONYM_LEN] = NULL;
	size_t nl = 0, cap = 0;
	unsigned char *key = NULL;
	enum lv_status st = db_status(sqlite3_prepare_v2(n->db, "SELECT DISTINCT learner FROM facts_journal", -1, &s, NULL));
	while (st == LV_OK && sqlite3_step(s) == SQLITE_ROW) {
		if ((st = util_array_grow((void **)&ls, sizeof *ls, &cap, nl + 1, SIZE_MAX / sizeof *ls)) != LV_OK)
			break;
		snprintf(ls[nl++], LV_PSEUDONYM_LEN, "%s", (const char *)sqlite3_column_text(s, 0));
	}
	sqlite3_finalize(s);
	s = NULL;
	if (st != LV_OK || nl == 0)
		goto out;
	if (n->terms)
		n->terms->journal_rows = 0;
	st = db_exec(n->db, "INSERT INTO learner_facts(learner, seg, data)"
			    " SELECT learner, id, data FROM facts_journal ORDER BY learner, id;"
			    " DELETE FROM facts_journal;");
	/* Learners with many segments get them merged: fewer to open per query. */
	if (st == LV_OK && !(key = sodium_malloc(2 * KEY_LEN)))
		st = LV_ERR_NOMEM;
	if (st == LV_OK)
		st = db_status(sqlite3_prepare_v2(n->db, "SELECT wrapped_key FROM learners WHERE pseudonym = ?", -1, &w, NULL));
	for (size_t i = 0; i < nl && st == LV_OK; i++) {
		int64_t nseg = 0;
		if ((st = fs_stmt(n, FS_COUNT, &s)) != LV_OK)
			break;
		sqlite3_bind_text(s, 1, ls[i], -1, SQLITE_STATIC);
		if (sqlite3_step(s) == SQLITE_ROW)
			nseg = sqlite3_column_int64(s, 0);
		done(s);
		s = NULL;
		if (nseg <= FACTS_SEG_MAX)
			continue;
		sqlite3_reset(w);
		sqlite3_bind_text(w, 1, ls[i], -1, SQLITE_STATIC);
		if (sqlite3_step(w) != SQLITE_ROW) {
			st = LV_ERR_DB;
			break;
		}
		st = facts_key_unwrap(n, ls[i], sqlite3_column_blob(w, 0), (size_t)sqlite3_column_bytes(w, 0),
				      key + KEY_LEN, key);
		sqlite3_reset(w);
		if (st == LV_OK)
			st = merge_learner(n, ls[i], key);
	}
out:
	sqlite3_finalize(w);
	if (key)
		sodium_free(key);
	free(ls);
	return st;
}

void fact_vec_free(struct fact_vec *v)
{
	if (v->f) {
		sodium_memzero(v->f, v->cap * sizeof *v->f);
		free(v->f);
	}
	memset(v, 0, sizeof *v);
}

/* ---- backfill: nodes whose statements predate the facts ---- */

enum lv_status facts_backfill_locked(struct lv_node *n)
{
	sqlite3_stmt *ls = NULL, *vs = NULL;
	struct lv_fact *buf = NULL;
	size_t cap = 0;
	char (*learners)[LV_PSEUDONYM_LEN] = NULL;
	size_t nlearners = 0, caplearners = 0;
	/* The learners first (the loop below writes the tables the query
	 * would read): those with statements and no facts at all. */
	enum lv_status st = db_status(sqlite3_prepare_v2(n->db,
		"SELECT DISTINCT s.learner FROM statements s JOIN learners l ON l.pseudonym = s.learner"
		" WHERE NOT EXISTS (SELECT 1 FROM learner_facts f WHERE f.learner = s.learner)", -1, &ls, NULL));
	while (st == LV_OK && sqlite3_step(ls) == SQLITE_ROW) {
		if ((st = util_array_grow((void **)&learners, sizeof *learners, &caplearners, nlearners + 1,
					  SIZE_MAX / sizeof *learners)) != LV_OK)
			break;
		snprintf(learners[nlearners++], LV_PSEUDONYM_LEN, "%s", (const char *)sqlite3_column_text(ls, 0));
	}
	sqlite3_finalize(ls);
	ls = NULL;
	for (size_t t = 0; st == LV_OK && t < nlearners; t++) {
		const char *p = learners[t];
		sqlite3 *vdb;
		const unsigned char *key;
		if ((st = vault_facts_key(n, p, &key)) != LV_OK || (st = vault_get(n, p, false, &vdb)) != LV_OK)
			break;
		st = db_status(sqlite3_prepare_v2(vdb, "SELECT seq, body FROM statements ORDER BY seq", -1, &vs, NULL));
		size_t nf = 0;
		while (st == LV_OK && sqlite3_step(vs) == SQLITE_ROW) {
			cJSON *j = cJSON_Parse((const char *)sqlite3_column_text(vs, 1));
			int64_t stored = 0;
			const char *sv = util_json_str(j, "stored", NULL);
			if (!j || !sv || !util_time_parse(sv, &stored)) {
				cJSON_Delete(j);
				continue;
			}
			const char *verb = util_json_str(j, "verb", "id");
			if (verb && strcmp(verb, LV_XAPI_VERB_VOIDED) == 0) {
				cJSON_Delete(j);
				continue;
			}
			if ((st = util_array_grow((void **)&buf, sizeof *buf, &cap, nf + 1, SIZE_MAX / sizeof *buf)) != LV_OK) {
				cJSON_Delete(j);
				break;
			}
			st = facts_from_statement(n, j, sqlite3_column_int64(vs, 0), stored, &buf[nf]);
			if (st == LV_OK)
				nf++;
			cJSON_Delete(j);
		}
		sqlite3_finalize(vs);
		vs = NULL;
		/* The facts key is borrowed from the cache: re-fetch after the
		 * vault reads above in case the entry moved. */
		if (st == LV_OK && (st = vault_facts_key(n, p, &key)) == LV_OK)
			st = facts_append_locked(n, p, key, buf, nf);
	}
	if (st == LV_OK)
		st = facts_fold_locked(n);
	free(learners);
	if (buf) {
		sodium_memzero(buf, cap * sizeof *buf);
		free(buf);
	}
	return st;
}
