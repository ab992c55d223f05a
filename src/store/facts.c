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

#include "facts.h"
#include "store.h"

#define FACTS_CONTEXT "lvfacts1"
#define FACTS_SEG_MAX 8          /* segments per learner before they are merged */
#define FACT_BASE_LEN 52         /* fixed part of a record */
#define SEG_NONCE crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define SEG_TAG crypto_aead_xchacha20poly1305_ietf_ABYTES
#define SEG_MAX_PLAIN (64u * 1024 * 1024)

void facts_key_derive(const unsigned char *vault_key, unsigned char *out)
{
	crypto_kdf_derive_from_key(out, KEY_LEN, 1, FACTS_CONTEXT, vault_key);
}

/* ---- terms: IRIs as small integers (IRIs are not learner data) ---- */

enum lv_status facts_term(struct lv_node *n, const char *iri, bool create, uint32_t *id)
{
	sqlite3_stmt *s = NULL;
	*id = 0;
	if (!iri)
		return LV_OK;
	enum lv_status st = db_status(sqlite3_prepare_v2(n->db, "SELECT id FROM terms WHERE iri = ?", -1, &s, NULL));
	if (st != LV_OK)
		return st;
	sqlite3_bind_text(s, 1, iri, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*id = (uint32_t)sqlite3_column_int64(s, 0);
	else if (rc != SQLITE_DONE)
		st = db_status(rc);
	sqlite3_finalize(s);
	if (st != LV_OK || *id || !create)
		return st;
	st = db_status(sqlite3_prepare_v2(n->db, "INSERT INTO terms(iri) VALUES(?)", -1, &s, NULL));
	if (st != LV_OK)
		return st;
	sqlite3_bind_text(s, 1, iri, -1, SQLITE_STATIC);
	st = db_status(sqlite3_step(s));
	sqlite3_finalize(s);
	if (st == LV_OK) {
		int64_t v = sqlite3_last_insert_rowid(n->db);
		if (v <= 0 || v > UINT32_MAX)
			return LV_ERR_INTERNAL;
		*id = (uint32_t)v;
	}
	return st;
}

/* ---- one statement's record ---- */

static const char *jstr(const cJSON *o, const char *a, const char *b)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, a);
	if (b)
		v = cJSON_GetObjectItemCaseSensitive(v, b);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

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
				    struct fact *f)
{
	enum lv_status st;
	memset(f, 0, sizeof *f);
	f->seq = seq;
	f->stored_ms = stored_ms;
	f->timestamp_ms = stored_ms;
	const char *ts = jstr(stmt, "timestamp", NULL);
	int64_t t;
	if (ts && util_time_parse(ts, &t))
		f->timestamp_ms = t;
	const cJSON *result = cJSON_GetObjectItemCaseSensitive(stmt, "result");
	f->duration_ms = duration_ms(jstr(result, "duration", NULL));
	const cJSON *scaled = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(result, "score"), "scaled");
	f->score_e6 = FACT_NO_SCORE;
	if (cJSON_IsNumber(scaled) && scaled->valuedouble >= -1 && scaled->valuedouble <= 1)
		f->score_e6 = (int32_t)llround(scaled->valuedouble * 1e6);
	f->success = tri(cJSON_GetObjectItemCaseSensitive(result, "success"));
	f->completion = tri(cJSON_GetObjectItemCaseSensitive(result, "completion"));
	if ((st = facts_term(n, jstr(stmt, "verb", "id"), true, &f->verb)) != LV_OK)
		return st;
	const cJSON *obj = cJSON_GetObjectItemCaseSensitive(stmt, "object");
	const char *ot = jstr(obj, "objectType", NULL);
	if (!ot || strcmp(ot, "Activity") == 0) {
		if ((st = facts_term(n, jstr(obj, "id", NULL), true, &f->object)) != LV_OK)
			return st;
		const char *type = jstr(cJSON_GetObjectItemCaseSensitive(obj, "definition"), "type", NULL);
		char *canon = NULL;
		if (!type && f->object) {
			/* The type may come from the activity's canonical definition. */
			sqlite3_stmt *s = NULL;
			if (sqlite3_prepare_v2(n->db, "SELECT json_extract(definition, '$.type') FROM activities WHERE id = ?",
					       -1, &s, NULL) == SQLITE_OK) {
				sqlite3_bind_text(s, 1, jstr(obj, "id", NULL), -1, SQLITE_STATIC);
				if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) == SQLITE_TEXT)
					canon = strdup((const char *)sqlite3_column_text(s, 0));
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
	const char *reg = jstr(ctx, "registration", NULL);
	if (reg && uuid_bytes(reg, f->registration))
		f->has_registration = 1;
	/* Context activities, parent and grouping first: they place the
	 * activity under a course or module (the "descendants" filter). */
	static const char *const lists[] = {"parent", "grouping", "category", "other"};
	const cJSON *ca = cJSON_GetObjectItemCaseSensitive(ctx, "contextActivities");
	for (size_t l = 0; l < 4 && f->nctx < FACT_MAX_CTX; l++) {
		const cJSON *arr = cJSON_GetObjectItemCaseSensitive(ca, lists[l]);
		const cJSON *a;
		cJSON_ArrayForEach(a, arr) {
			if (f->nctx >= FACT_MAX_CTX)
				break;
			uint32_t id;
			if ((st = facts_term(n, jstr(a, "id", NULL), true, &id)) != LV_OK)
				return st;
			if (id)
				f->ctx[f->nctx++] = id;
		}
	}
	return LV_OK;
}

/* ---- serialisation (node-local, little-endian) ---- */

static void put64(unsigned char *p, int64_t v)
{
	uint64_t u = (uint64_t)v;
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(u >> (8 * i));
}

static int64_t get64(const unsigned char *p)
{
	uint64_t u = 0;
	for (int i = 0; i < 8; i++)
		u |= (uint64_t)p[i] << (8 * i);
	return (int64_t)u;
}

static void put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static size_t fact_len(const struct fact *f)
{
	return FACT_BASE_LEN + (f->has_registration ? 16 : 0) + 4u * f->nctx;
}

static void fact_put(unsigned char *p, const struct fact *f)
{
	put64(p, f->seq);
	put64(p + 8, f->stored_ms);
	put64(p + 16, f->timestamp_ms);
	put64(p + 24, f->duration_ms);
	put32(p + 32, (uint32_t)f->score_e6);
	put32(p + 36, f->verb);
	put32(p + 40, f->object);
	put32(p + 44, f->type);
	p[48] = (unsigned char)f->success;
	p[49] = (unsigned char)f->completion;
	p[50] = f->nctx;
	p[51] = f->has_registration;
	p += FACT_BASE_LEN;
	if (f->has_registration) {
		memcpy(p, f->registration, 16);
		p += 16;
	}
	for (unsigned i = 0; i < f->nctx; i++)
		put32(p + 4 * i, f->ctx[i]);
}

/* Decodes @len bytes of records, appending to @v. */
static enum lv_status facts_parse(const unsigned char *p, size_t len, struct fact_vec *v)
{
	size_t off = 0;
	while (off < len) {
		if (len - off < FACT_BASE_LEN)
			return LV_ERR_CRYPTO;
		const unsigned char *q = p + off;
		if (v->n == v->cap) {
			size_t nc = v->cap ? v->cap * 2 : 64;
			struct fact *nf = realloc(v->f, nc * sizeof *nf);
			if (!nf)
				return LV_ERR_NOMEM;
			v->f = nf;
			v->cap = nc;
		}
		struct fact *f = &v->f[v->n];
		f->seq = get64(q);
		f->stored_ms = get64(q + 8);
		f->timestamp_ms = get64(q + 16);
		f->duration_ms = get64(q + 24);
		f->score_e6 = (int32_t)get32(q + 32);
		f->verb = get32(q + 36);
		f->object = get32(q + 40);
		f->type = get32(q + 44);
		f->success = (int8_t)q[48];
		f->completion = (int8_t)q[49];
		f->nctx = q[50];
		f->has_registration = q[51];
		if (f->nctx > FACT_MAX_CTX || f->has_registration > 1 || len - off < fact_len(f))
			return LV_ERR_CRYPTO;
		q += FACT_BASE_LEN;
		if (f->has_registration) {
			memcpy(f->registration, q, 16);
			q += 16;
		}
		for (unsigned i = 0; i < f->nctx; i++)
			f->ctx[i] = get32(q + 4 * i);
		off += fact_len(f);
		v->n++;
	}
	return LV_OK;
}

static void seg_ad(const char *p, int64_t seg, char ad[96])
{
	snprintf(ad, 96, "lv-facts-v1:%s:%lld", p, (long long)seg);
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
			      const unsigned char *plain, size_t plen)
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
	enum lv_status st = db_status(sqlite3_prepare_v2(n->db,
		"INSERT OR REPLACE INTO learner_facts(learner, seg, data) VALUES(?, ?, ?)", -1, &s, NULL));
	if (st == LV_OK) {
		sqlite3_bind_text(s, 1, p, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 2, seg);
		sqlite3_bind_blob(s, 3, blob, (int)len, SQLITE_STATIC);
		st = db_status(sqlite3_step(s));
	}
	sqlite3_finalize(s);
	free(blob);
	return st;
}

static enum lv_status encode(const struct fact *f, size_t nf, unsigned char **out, size_t *len)
{
	size_t total = 0;
	for (size_t i = 0; i < nf; i++)
		total += fact_len(&f[i]);
	if (total > SEG_MAX_PLAIN)
		return LV_ERR_TOO_LARGE;
	unsigned char *buf = malloc(total ? total : 1);
	if (!buf)
		return LV_ERR_NOMEM;
	size_t off = 0;
	for (size_t i = 0; i < nf; i++) {
		fact_put(buf + off, &f[i]);
		off += fact_len(&f[i]);
	}
	*out = buf;
	*len = total;
	return LV_OK;
}

enum lv_status facts_append_locked(struct lv_node *n, const char *p, const unsigned char *key,
				   const struct fact *f, size_t nf)
{
	sqlite3_stmt *s = NULL;
	unsigned char *plain = NULL;
	size_t plen = 0;
	struct fact_vec all = {0};
	int64_t nseg = 0, maxseg = 0;
	if (nf == 0)
		return LV_OK;
	enum lv_status st = db_status(sqlite3_prepare_v2(n->db,
		"SELECT count(*), coalesce(max(seg), 0) FROM learner_facts WHERE learner = ?", -1, &s, NULL));
	if (st != LV_OK)
		return st;
	sqlite3_bind_text(s, 1, p, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW) {
		nseg = sqlite3_column_int64(s, 0);
		maxseg = sqlite3_column_int64(s, 1);
	} else {
		st = LV_ERR_DB;
	}
	sqlite3_finalize(s);
	s = NULL;
	if (st != LV_OK)
		return st;
	if (nseg < FACTS_SEG_MAX) {
		st = encode(f, nf, &plain, &plen);
		if (st == LV_OK)
			st = seg_put(n, key, p, maxseg + 1, plain, plen);
		goto out;
	}
	/* Merge every segment and the new records into one. */
	st = db_status(sqlite3_prepare_v2(n->db, "SELECT seg, data FROM learner_facts WHERE learner = ? ORDER BY seg",
					  -1, &s, NULL));
	if (st != LV_OK)
		goto out;
	sqlite3_bind_text(s, 1, p, -1, SQLITE_STATIC);
	int rc;
	while (st == LV_OK && (rc = sqlite3_step(s)) == SQLITE_ROW)
		st = facts_open_segment(key, p, sqlite3_column_int64(s, 0), sqlite3_column_blob(s, 1),
					(size_t)sqlite3_column_bytes(s, 1), &all);
	sqlite3_finalize(s);
	s = NULL;
	for (size_t i = 0; i < nf && st == LV_OK; i++) {
		if (all.n == all.cap) {
			size_t nc = all.cap ? all.cap * 2 : 64;
			struct fact *nfp = realloc(all.f, nc * sizeof *nfp);
			if (!nfp) {
				st = LV_ERR_NOMEM;
				break;
			}
			all.f = nfp;
			all.cap = nc;
		}
		all.f[all.n++] = f[i];
	}
	if (st == LV_OK)
		st = encode(all.f, all.n, &plain, &plen);
	if (st == LV_OK)
		st = db_status(sqlite3_prepare_v2(n->db, "DELETE FROM learner_facts WHERE learner = ?", -1, &s, NULL));
	if (st == LV_OK) {
		sqlite3_bind_text(s, 1, p, -1, SQLITE_STATIC);
		st = db_status(sqlite3_step(s));
	}
	if (st == LV_OK)
		st = seg_put(n, key, p, maxseg + 1, plain, plen);
out:
	sqlite3_finalize(s);
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
	struct fact *buf = NULL;
	size_t cap = 0;
	enum lv_status st = db_status(sqlite3_prepare_v2(n->db,
		"SELECT pseudonym FROM learners WHERE NOT EXISTS (SELECT 1 FROM learner_facts f WHERE f.learner = pseudonym)"
		" AND EXISTS (SELECT 1 FROM statements s WHERE s.learner = pseudonym)", -1, &ls, NULL));
	if (st != LV_OK)
		return st;
	while (st == LV_OK && sqlite3_step(ls) == SQLITE_ROW) {
		char p[LV_PSEUDONYM_LEN];
		snprintf(p, sizeof p, "%s", (const char *)sqlite3_column_text(ls, 0));
		sqlite3 *vdb;
		const unsigned char *key;
		if ((st = vault_facts_key(n, p, &key)) != LV_OK || (st = vault_get(n, p, false, &vdb)) != LV_OK)
			break;
		st = db_status(sqlite3_prepare_v2(vdb, "SELECT seq, body FROM statements ORDER BY seq", -1, &vs, NULL));
		size_t nf = 0;
		while (st == LV_OK && sqlite3_step(vs) == SQLITE_ROW) {
			cJSON *j = cJSON_Parse((const char *)sqlite3_column_text(vs, 1));
			int64_t stored = 0;
			const char *sv = jstr(j, "stored", NULL);
			if (!j || !sv || !util_time_parse(sv, &stored)) {
				cJSON_Delete(j);
				continue;
			}
			const char *verb = jstr(j, "verb", "id");
			if (verb && strcmp(verb, "http://adlnet.gov/expapi/verbs/voided") == 0) {
				cJSON_Delete(j);
				continue;
			}
			if (nf == cap) {
				size_t nc = cap ? cap * 2 : 256;
				struct fact *nb = realloc(buf, nc * sizeof *nb);
				if (!nb) {
					cJSON_Delete(j);
					st = LV_ERR_NOMEM;
					break;
				}
				buf = nb;
				cap = nc;
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
	sqlite3_finalize(ls);
	if (buf) {
		sodium_memzero(buf, cap * sizeof *buf);
		free(buf);
	}
	return st;
}
