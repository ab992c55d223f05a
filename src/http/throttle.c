/* Failed-authentication throttling (see throttle.h). */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "throttle.h"

#define SLOTS 4096        /* per table; a power of two */
#define PROBE 16          /* slots looked at per key before evicting */
#define KEY_MAX 72        /* addresses (INET6_ADDRSTRLEN) and credential ids fit */

struct slot {
	char key[KEY_MAX];
	int64_t start;        /* window start (monotonic s); 0: empty */
	unsigned count;
};

struct throttle {
	struct throttle_config cfg;
	pthread_mutex_t mu;
	unsigned char hkey[crypto_shorthash_KEYBYTES];
	struct slot addr[SLOTS];
	struct slot id[SLOTS];
	uint64_t failures, throttled;
};

static int64_t mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	/* +1: 0 marks an empty slot. */
	return (int64_t)ts.tv_sec + 1;
}

static bool live(const struct throttle *t, const struct slot *s, int64_t now)
{
	return s->start && now - s->start < (int64_t)t->cfg.window_s;
}

/* Lock held.  The live slot of @key, or NULL; with @make, a fresh one
 * (an expired or the stalest slot of its probe run) when there is none. */
static struct slot *find_locked(struct throttle *t, struct slot *tab, const char *key, bool make, int64_t now)
{
	size_t kl = strnlen(key, KEY_MAX - 1);
	unsigned char h[crypto_shorthash_BYTES];
	crypto_shorthash(h, (const unsigned char *)key, kl, t->hkey);
	uint64_t i0;
	memcpy(&i0, h, sizeof i0);
	struct slot *spare = NULL;
	for (unsigned p = 0; p < PROBE; p++) {
		struct slot *s = &tab[(i0 + p) & (SLOTS - 1)];
		if (live(t, s, now) && strncmp(s->key, key, kl) == 0 && s->key[kl] == 0)
			return s;
		if (!spare || (live(t, spare, now) && (!live(t, s, now) || s->start < spare->start)))
			spare = s;
	}
	if (!make)
		return NULL;
	memset(spare, 0, sizeof *spare);
	memcpy(spare->key, key, kl);
	spare->start = now;
	return spare;
}

enum lv_status throttle_new(const struct throttle_config *cfg, struct throttle **out)
{
	*out = NULL;
	if (!cfg || !cfg->max_failures || !cfg->window_s)
		return LV_ERR_INVALID;
	struct throttle *t = calloc(1, sizeof *t);
	if (!t)
		return LV_ERR_NOMEM;
	t->cfg = *cfg;
	randombytes_buf(t->hkey, sizeof t->hkey);
	pthread_mutex_init(&t->mu, NULL);
	*out = t;
	return LV_OK;
}

void throttle_free(struct throttle *t)
{
	if (!t)
		return;
	pthread_mutex_destroy(&t->mu);
	free(t);
}

unsigned throttle_check(struct throttle *t, const char *addr, const char *id)
{
	int64_t now = mono_s();
	unsigned wait = 0;
	pthread_mutex_lock(&t->mu);
	struct slot *a = find_locked(t, t->addr, addr, false, now);
	if (a && a->count >= t->cfg.max_failures)
		wait = (unsigned)(a->start + t->cfg.window_s - now);
	struct slot *i = id && a ? find_locked(t, t->id, id, false, now) : NULL;
	if (i && i->count >= t->cfg.max_failures) {
		unsigned w = (unsigned)(i->start + t->cfg.window_s - now);
		if (w > wait)
			wait = w;
	}
	if (wait)
		t->throttled++;
	pthread_mutex_unlock(&t->mu);
	return wait;
}

unsigned throttle_failed(struct throttle *t, const char *addr, const char *id)
{
	int64_t now = mono_s();
	pthread_mutex_lock(&t->mu);
	struct slot *a = find_locked(t, t->addr, addr, true, now);
	a->count++;
	unsigned n = a->count;
	if (id)
		find_locked(t, t->id, id, true, now)->count++;
	t->failures++;
	pthread_mutex_unlock(&t->mu);
	return n;
}

void throttle_counts(struct throttle *t, uint64_t *failures, uint64_t *throttled)
{
	pthread_mutex_lock(&t->mu);
	*failures = t->failures;
	*throttled = t->throttled;
	pthread_mutex_unlock(&t->mu);
}
