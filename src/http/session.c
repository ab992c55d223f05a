/* Browser sessions in server memory (session.h).
 *
 * Entries sit in a hash table keyed by the BLAKE2b hash of the cookie
 * value (the hash is uniformly random, so its first bytes pick a bucket
 * well and an attacker cannot aim at one), and on a list in the order they
 * were opened, so the oldest is the head: evicting it and dropping the
 * sessions past their absolute limit are both cheap. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "session.h"

#define ID_BYTES 32
#define HASH_LEN 32

struct session {
	unsigned char hash[HASH_LEN];   /* of the cookie value; the value itself is not kept */
	char csrf[SESSION_CSRF_LEN];
	struct lv_principal who;
	int64_t opened, last_used, idle_ms, max_ms;
	struct session *bucket_next;
	struct session *older, *newer;  /* the list in opening order */
};

struct session_store {
	pthread_mutex_t lock;
	struct session **buckets;
	size_t nbuckets;                /* a power of two */
	struct session *oldest, *newest;
	size_t count, cap;
};

void session_info_clear(struct session_info *info)
{
	lv_principal_clear(&info->who);
	sodium_memzero(info, sizeof *info);
}

/* A deep copy (purposes are strdup'd); false on allocation failure, with
 * @dst cleared. */
static bool principal_copy(struct lv_principal *dst, const struct lv_principal *src)
{
	memset(dst, 0, sizeof *dst);
	dst->role = src->role;
	memcpy(dst->id, src->id, sizeof dst->id);
	memcpy(dst->learner, src->learner, sizeof dst->learner);
	for (size_t i = 0; i < src->npurposes && i < LV_MAX_PURPOSES; i++) {
		dst->purposes[i] = strdup(src->purposes[i]);
		if (!dst->purposes[i]) {
			lv_principal_clear(dst);
			return false;
		}
		dst->npurposes++;
	}
	return true;
}

static void id_hash(const char *id, unsigned char out[HASH_LEN])
{
	crypto_generichash(out, HASH_LEN, (const unsigned char *)id, strlen(id), NULL, 0);
}

static size_t bucket_of(const struct session_store *s, const unsigned char hash[HASH_LEN])
{
	uint64_t v;
	memcpy(&v, hash, sizeof v);
	return (size_t)(v & (s->nbuckets - 1));
}

enum lv_status session_store_new(size_t cap, struct session_store **out)
{
	*out = NULL;
	if (cap == 0)
		cap = SESSION_MAX_LIVE;
	struct session_store *s = calloc(1, sizeof *s);
	if (!s)
		return LV_ERR_NOMEM;
	s->cap = cap;
	s->nbuckets = 16;
	while (s->nbuckets < cap * 2)
		s->nbuckets *= 2;
	s->buckets = calloc(s->nbuckets, sizeof *s->buckets);
	if (!s->buckets || pthread_mutex_init(&s->lock, NULL) != 0) {
		free(s->buckets);
		free(s);
		return LV_ERR_NOMEM;
	}
	*out = s;
	return LV_OK;
}

static void entry_free(struct session *e)
{
	lv_principal_clear(&e->who);
	sodium_memzero(e, sizeof *e);
	free(e);
}

/* Unlinks @e from its bucket and the list, and frees it.  Lock held. */
static void remove_locked(struct session_store *s, struct session *e)
{
	struct session **pp = &s->buckets[bucket_of(s, e->hash)];
	while (*pp && *pp != e)
		pp = &(*pp)->bucket_next;
	if (*pp)
		*pp = e->bucket_next;
	if (e->older)
		e->older->newer = e->newer;
	else
		s->oldest = e->newer;
	if (e->newer)
		e->newer->older = e->older;
	else
		s->newest = e->older;
	s->count--;
	entry_free(e);
}

void session_store_free(struct session_store *s)
{
	if (!s)
		return;
	while (s->oldest)
		remove_locked(s, s->oldest);
	pthread_mutex_destroy(&s->lock);
	free(s->buckets);
	free(s);
}

static bool expired(const struct session *e, int64_t now)
{
	return now >= e->opened + e->max_ms || now >= e->last_used + e->idle_ms;
}

static void info_fill(const struct session *e, struct session_info *info, bool *ok)
{
	*ok = principal_copy(&info->who, &e->who);
	memcpy(info->csrf, e->csrf, sizeof info->csrf);
	info->expires = e->opened + e->max_ms;
	info->idle_expires = e->last_used + e->idle_ms < info->expires ? e->last_used + e->idle_ms : info->expires;
}

enum lv_status session_open(struct session_store *s, const struct lv_principal *who, int64_t now,
			    int64_t idle_ms, int64_t max_ms, char id[SESSION_ID_LEN], struct session_info *info)
{
	id[0] = '\0';
	if (info)
		memset(info, 0, sizeof *info);
	if (idle_ms <= 0 || max_ms <= 0)
		return LV_ERR_INVALID;
	struct session *e = calloc(1, sizeof *e);
	if (!e)
		return LV_ERR_NOMEM;
	if (!principal_copy(&e->who, who)) {
		free(e);
		return LV_ERR_NOMEM;
	}
	unsigned char raw[ID_BYTES];
	randombytes_buf(raw, sizeof raw);
	sodium_bin2base64(id, SESSION_ID_LEN, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	randombytes_buf(raw, sizeof raw);
	sodium_bin2base64(e->csrf, sizeof e->csrf, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof raw);
	id_hash(id, e->hash);
	e->opened = e->last_used = now;
	e->idle_ms = idle_ms;
	e->max_ms = max_ms;

	bool ok = true;
	pthread_mutex_lock(&s->lock);
	/* Make room: first what is past its absolute limit (the oldest come
	 * first), then, if still full, the oldest live session. */
	while (s->oldest && (s->count >= s->cap || now >= s->oldest->opened + s->oldest->max_ms))
		remove_locked(s, s->oldest);
	size_t b = bucket_of(s, e->hash);
	e->bucket_next = s->buckets[b];
	s->buckets[b] = e;
	e->older = s->newest;
	if (s->newest)
		s->newest->newer = e;
	else
		s->oldest = e;
	s->newest = e;
	s->count++;
	if (info)
		info_fill(e, info, &ok);
	if (!ok)
		remove_locked(s, e);
	pthread_mutex_unlock(&s->lock);
	if (!ok) {
		session_info_clear(info);
		sodium_memzero(id, SESSION_ID_LEN);
		return LV_ERR_NOMEM;
	}
	return LV_OK;
}

/* The entry for @hash, NULL if none.  Lock held.  Every candidate in the
 * bucket is compared in constant time. */
static struct session *find_locked(struct session_store *s, const unsigned char hash[HASH_LEN])
{
	for (struct session *e = s->buckets[bucket_of(s, hash)]; e; e = e->bucket_next)
		if (sodium_memcmp(e->hash, hash, HASH_LEN) == 0)
			return e;
	return NULL;
}

enum lv_status session_use(struct session_store *s, const char *id, int64_t now, struct session_info *info)
{
	if (info)
		memset(info, 0, sizeof *info);
	if (!id || strlen(id) != SESSION_ID_LEN - 1)
		return LV_ERR_UNAUTHORIZED;
	unsigned char hash[HASH_LEN];
	id_hash(id, hash);
	enum lv_status st = LV_ERR_UNAUTHORIZED;
	bool ok = true;
	pthread_mutex_lock(&s->lock);
	struct session *e = find_locked(s, hash);
	if (e && expired(e, now)) {
		remove_locked(s, e);
	} else if (e) {
		e->last_used = now;
		if (info)
			info_fill(e, info, &ok);
		st = ok ? LV_OK : LV_ERR_NOMEM;
	}
	pthread_mutex_unlock(&s->lock);
	if (st != LV_OK && info)
		session_info_clear(info);
	return st;
}

bool session_end(struct session_store *s, const char *id)
{
	if (!id || strlen(id) != SESSION_ID_LEN - 1)
		return false;
	unsigned char hash[HASH_LEN];
	id_hash(id, hash);
	pthread_mutex_lock(&s->lock);
	struct session *e = find_locked(s, hash);
	if (e)
		remove_locked(s, e);
	pthread_mutex_unlock(&s->lock);
	return e != NULL;
}

size_t session_end_credential(struct session_store *s, const char *cred_id)
{
	size_t n = 0;
	pthread_mutex_lock(&s->lock);
	for (struct session *e = s->oldest, *next; e; e = next) {
		next = e->newer;
		if (strcmp(e->who.id, cred_id) == 0) {
			remove_locked(s, e);
			n++;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return n;
}

size_t session_count(struct session_store *s)
{
	pthread_mutex_lock(&s->lock);
	size_t n = s->count;
	pthread_mutex_unlock(&s->lock);
	return n;
}
