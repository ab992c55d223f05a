/* Small shared pieces of the personal module: PRNG, string interning and an
 * integer map.  Both tables use open addressing with linear probing and
 * keep the load factor at or below 1/2. */
#include <stdlib.h>
#include <string.h>

#include "personal_int.h"
#include "learnvault/util.h"

uint64_t personal_rng_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

double personal_rng_uniform(uint64_t *state)
{
	return (double)(personal_rng_next(state) >> 11) * 0x1.0p-53;
}


uint64_t personal_mix(uint64_t a, uint64_t b)
{
	uint64_t s = a ^ (b * 0x9e3779b97f4a7c15ull);
	return personal_rng_next(&s);
}

bool personal_name_ok(const char *s)
{
	if (!s || !*s)
		return false;
	size_t i = 0;
	for (; s[i]; i++) {
		unsigned char c = (unsigned char)s[i];
		if (i >= LV_PERSONAL_NAME_MAX || c < 0x20 || c == 0x7f || c == ',' || c == '"')
			return false;
	}
	return true;
}

/* ---- string table ---- */

void personal_strtab_init(struct personal_strtab *t)
{
	memset(t, 0, sizeof *t);
}

void personal_strtab_free(struct personal_strtab *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->names[i]);
	free(t->names);
	free(t->slots);
	memset(t, 0, sizeof *t);
}

long personal_strtab_find(const struct personal_strtab *t, const char *s)
{
	if (!t->nslots)
		return -1;
	size_t mask = t->nslots - 1;
	for (size_t i = (size_t)util_fnv1a(s) & mask;; i = (i + 1) & mask) {
		uint32_t v = t->slots[i];
		if (!v)
			return -1;
		if (strcmp(t->names[v - 1], s) == 0)
			return (long)(v - 1);
	}
}

static bool strtab_grow(struct personal_strtab *t)
{
	size_t ns = t->nslots ? t->nslots * 2 : 64;
	uint32_t *slots = calloc(ns, sizeof *slots);
	if (!slots)
		return false;
	for (size_t k = 0; k < t->n; k++) {
		size_t i = (size_t)util_fnv1a(t->names[k]) & (ns - 1);
		while (slots[i])
			i = (i + 1) & (ns - 1);
		slots[i] = (uint32_t)(k + 1);
	}
	free(t->slots);
	t->slots = slots;
	t->nslots = ns;
	return true;
}

long personal_strtab_intern(struct personal_strtab *t, const char *s)
{
	long f = personal_strtab_find(t, s);
	if (f >= 0)
		return f;
	if (t->n >= UINT32_MAX - 1)
		return -1;
	if ((t->n + 1) * 2 > t->nslots && !strtab_grow(t))
		return -1;
	if (util_array_grow((void **)&t->names, sizeof *t->names, &t->cap, t->n + 1, UINT32_MAX) != LV_OK)
		return -1;
	char *copy = strdup(s);
	if (!copy)
		return -1;
	t->names[t->n] = copy;
	size_t mask = t->nslots - 1;
	size_t i = (size_t)util_fnv1a(s) & mask;
	while (t->slots[i])
		i = (i + 1) & mask;
	t->slots[i] = (uint32_t)(t->n + 1);
	return (long)t->n++;
}

/* ---- u64 map ---- */

void personal_u64map_init(struct personal_u64map *m)
{
	memset(m, 0, sizeof *m);
}

void personal_u64map_free(struct personal_u64map *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof *m);
}

static size_t u64_slot(uint64_t key, size_t mask)
{
	uint64_t s = key;
	return (size_t)personal_rng_next(&s) & mask;
}

bool personal_u64map_get(const struct personal_u64map *m, uint64_t key, uint32_t *val)
{
	if (!m->nslots)
		return false;
	size_t mask = m->nslots - 1;
	for (size_t i = u64_slot(key, mask);; i = (i + 1) & mask) {
		if (!m->vals[i])
			return false;
		if (m->keys[i] == key) {
			*val = m->vals[i] - 1;
			return true;
		}
	}
}

static bool u64map_grow(struct personal_u64map *m)
{
	size_t ns = m->nslots ? m->nslots * 2 : 256;
	uint64_t *keys = malloc(ns * sizeof *keys);
	uint32_t *vals = calloc(ns, sizeof *vals);
	if (!keys || !vals) {
		free(keys);
		free(vals);
		return false;
	}
	for (size_t k = 0; k < m->nslots; k++) {
		if (!m->vals[k])
			continue;
		size_t i = u64_slot(m->keys[k], ns - 1);
		while (vals[i])
			i = (i + 1) & (ns - 1);
		keys[i] = m->keys[k];
		vals[i] = m->vals[k];
	}
	free(m->keys);
	free(m->vals);
	m->keys = keys;
	m->vals = vals;
	m->nslots = ns;
	return true;
}

bool personal_u64map_put(struct personal_u64map *m, uint64_t key, uint32_t val)
{
	if (val >= UINT32_MAX)
		return false;
	if ((m->n + 1) * 2 > m->nslots && !u64map_grow(m))
		return false;
	size_t mask = m->nslots - 1;
	size_t i = u64_slot(key, mask);
	for (; m->vals[i]; i = (i + 1) & mask) {
		if (m->keys[i] == key) {
			m->vals[i] = val + 1;
			return true;
		}
	}
	m->keys[i] = key;
	m->vals[i] = val + 1;
	m->n++;
	return true;
}
