/* The verifier's one hash table: string keys to indexes into the
 * caller's typed arrays (logverify.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logverify.h"

/* The slot of @key (hash @h): its own, or the empty one where it would go. */
static struct logtab_slot *slot_of(const struct logtab *t, const char *key, uint64_t h)
{
	size_t j = (size_t)h & (t->cap - 1);
	while (t->slot[j].key && (t->slot[j].hash != h || strcmp(t->slot[j].key, key) != 0))
		j = (j + 1) & (t->cap - 1);
	return &t->slot[j];
}

/* Doubles the table (capacities are powers of two). */
static enum lv_status grow(struct logtab *t)
{
	size_t ncap = t->cap ? t->cap * 2 : 1024;
	if (ncap / 2 > LOGV_MAX_ITEMS)
		return LV_ERR_TOO_LARGE;
	struct logtab n = {.slot = calloc(ncap, sizeof *n.slot), .cap = ncap, .used = t->used};
	if (!n.slot)
		return LV_ERR_NOMEM;
	for (size_t i = 0; i < t->cap; i++)
		if (t->slot[i].key)
			*slot_of(&n, t->slot[i].key, t->slot[i].hash) = t->slot[i];
	free(t->slot);
	*t = n;
	return LV_OK;
}

enum lv_status logtab_get(struct logtab *t, const char *key, size_t next, size_t *val, bool *found,
			  const char **copy)
{
	uint64_t h = util_fnv1a(key);
	*found = false;
	if (t->cap) {
		struct logtab_slot *s = slot_of(t, key, h);
		if (s->key) {
			*found = true;
			*val = s->val;
			if (copy)
				*copy = s->key;
			return LV_OK;
		}
	}
	if ((t->used + 1) * 2 > t->cap) {
		enum lv_status st = grow(t);
		if (st != LV_OK)
			return st;
	}
	struct logtab_slot *s = slot_of(t, key, h);
	if (!(s->key = strdup(key)))
		return LV_ERR_NOMEM;
	s->hash = h;
	s->val = *val = next;
	if (copy)
		*copy = s->key;
	t->used++;
	return LV_OK;
}

bool logtab_find(const struct logtab *t, const char *key, size_t *val)
{
	if (!t->cap)
		return false;
	const struct logtab_slot *s = slot_of(t, key, util_fnv1a(key));
	if (s->key)
		*val = s->val;
	return s->key != NULL;
}

void logtab_free(struct logtab *t)
{
	for (size_t i = 0; i < t->cap; i++)
		free(t->slot[i].key);
	free(t->slot);
	memset(t, 0, sizeof *t);
}

bool logtab_key2(char out[LOGV_KEY_LEN], const char *a, const char *b)
{
	int n = snprintf(out, LOGV_KEY_LEN, "%zu:%s|%s", strlen(a), a, b);
	return n > 0 && n < LOGV_KEY_LEN;
}
