/* RFC 9162 Merkle tree: every complete subtree kept in memory, or in a
 * caller's store with only the right edge in memory; proof generation
 * (§2.1.3.1, §2.1.4.1) and the stateless verifiers (§2.1.3.2, §2.1.4.2). */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "audit.h"

#define HLEN LV_MERKLE_HASH_LEN
#define LEVELS 64

/* Level k holds size >> k hashes: entry i is the complete subtree over
 * leaves [i << k, (i + 1) << k).  Keeping every level (2n hashes in all)
 * turns any subtree hash into at most 64 lookups. */
struct merkle_level {
	unsigned char *h;
	uint64_t len;
	uint64_t cap;
};

/* In memory (stored == false): lv[] holds every level.  Stored: the
 * nodes live in the caller's store and edge[k] keeps the last complete
 * node of level k, (k, (size >> k) - 1), which is all an append needs. */
struct lv_merkle {
	uint64_t size;
	struct merkle_level lv[LEVELS];
	bool stored;
	struct lv_merkle_store store;
	unsigned char edge[LEVELS][HLEN];
};

void audit_hash_children(const void *l, size_t llen, const void *r, size_t rlen,
			 unsigned char out[HLEN])
{
	static const unsigned char one = 0x01;
	crypto_hash_sha256_state st;
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, &one, 1);
	crypto_hash_sha256_update(&st, l, llen);
	crypto_hash_sha256_update(&st, r, rlen);
	crypto_hash_sha256_final(&st, out);
}

void lv_merkle_hash_leaf(const void *data, size_t len, unsigned char out[HLEN])
{
	static const unsigned char zero = 0x00;
	crypto_hash_sha256_state st;
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, &zero, 1);
	if (len)
		crypto_hash_sha256_update(&st, data, len);
	crypto_hash_sha256_final(&st, out);
}

void lv_merkle_hash_node(const unsigned char left[HLEN], const unsigned char right[HLEN],
			 unsigned char out[HLEN])
{
	/* One contiguous block hashes faster than three updates, and copying
	 * first makes aliasing @out with an input harmless. */
	unsigned char blk[1 + 2 * HLEN];
	blk[0] = 0x01;
	memcpy(blk + 1, left, HLEN);
	memcpy(blk + 1 + HLEN, right, HLEN);
	crypto_hash_sha256(out, blk, sizeof blk);
}

void lv_merkle_empty_root(unsigned char out[HLEN])
{
	crypto_hash_sha256(out, NULL, 0);
}

/* Largest power of two strictly smaller than n (n >= 2). */
static uint64_t split_point(uint64_t n)
{
	assert(n >= 2);
	return UINT64_C(1) << (63 - __builtin_clzll(n - 1));
}

bool audit_subtree_valid(uint64_t start, uint64_t end)
{
	if (start > end)
		return false;
	if (start == 0 || start == end)
		return true;
	uint64_t len = end - start;
	if (len > UINT64_C(1) << 63)
		return false;
	uint64_t bc = len == 1 ? 1 : UINT64_C(1) << (64 - __builtin_clzll(len - 1));
	return (start & (bc - 1)) == 0;
}

/* Node (@level, @index) of a complete subtree of @m into @out. */
static enum lv_status node_get(const struct lv_merkle *m, unsigned level, uint64_t index, unsigned char out[HLEN])
{
	assert(level < LEVELS && index < (m->size >> level));
	if (!m->stored) {
		memcpy(out, m->lv[level].h + (size_t)index * HLEN, HLEN);
		return LV_OK;
	}
	if (index == (m->size >> level) - 1) {
		memcpy(out, m->edge[level], HLEN);
		return LV_OK;
	}
	return m->store.get(m->store.ctx, level, index, out);
}

static enum lv_status level_reserve(struct merkle_level *l, uint64_t need)
{
	if (need <= l->cap)
		return LV_OK;
	uint64_t ncap = l->cap ? l->cap : 64;
	while (ncap < need) {
		if (ncap > UINT64_MAX / 2)
			return LV_ERR_TOO_LARGE;
		ncap *= 2;
	}
	if (ncap > SIZE_MAX / HLEN)
		return LV_ERR_TOO_LARGE;
	unsigned char *p = realloc(l->h, (size_t)ncap * HLEN);
	if (!p)
		return LV_ERR_NOMEM;
	l->h = p;
	l->cap = ncap;
	return LV_OK;
}

enum lv_status lv_merkle_create(struct lv_merkle **out)
{
	if (!out)
		return LV_ERR_INVALID;
	*out = calloc(1, sizeof **out);
	return *out ? LV_OK : LV_ERR_NOMEM;
}

void lv_merkle_destroy(struct lv_merkle *m)
{
	if (!m)
		return;
	for (unsigned k = 0; k < LEVELS; k++)
		free(m->lv[k].h);
	free(m);
}

enum lv_status lv_merkle_create_from_leaves(const unsigned char *leaves, uint64_t count,
					    struct lv_merkle **out)
{
	enum lv_status st;
	struct lv_merkle *m = NULL;
	if (!out)
		return LV_ERR_INVALID;
	*out = NULL;
	if (!leaves && count)
		return LV_ERR_INVALID;
	if (count > SIZE_MAX / HLEN)
		return LV_ERR_TOO_LARGE;
	st = lv_merkle_create(&m);
	if (st != LV_OK)
		return st;
	for (unsigned k = 0; k < LEVELS && (count >> k); k++) {
		st = level_reserve(&m->lv[k], count >> k);
		if (st != LV_OK)
			goto out;
	}
	if (count)
		memcpy(m->lv[0].h, leaves, (size_t)count * HLEN);
	m->lv[0].len = count;
	for (unsigned k = 1; k < LEVELS && (count >> k); k++) {
		const struct merkle_level *below = &m->lv[k - 1];
		struct merkle_level *l = &m->lv[k];
		for (uint64_t i = 0; i < count >> k; i++)
			lv_merkle_hash_node(below->h + (size_t)(2 * i) * HLEN,
					    below->h + (size_t)(2 * i + 1) * HLEN,
					    l->h + (size_t)i * HLEN);
		l->len = count >> k;
	}
	m->size = count;
	*out = m;
	m = NULL;
out:
	lv_merkle_destroy(m);
	return st;
}

enum lv_status lv_merkle_create_stored(const struct lv_merkle_store *store, uint64_t size, struct lv_merkle **out)
{
	if (!out)
		return LV_ERR_INVALID;
	*out = NULL;
	if (!store || !store->get || !store->put)
		return LV_ERR_INVALID;
	struct lv_merkle *m = calloc(1, sizeof *m);
	if (!m)
		return LV_ERR_NOMEM;
	m->stored = true;
	m->store = *store;
	m->size = size;
	/* The right edge: at most one lookup per level. */
	enum lv_status st = LV_OK;
	for (unsigned k = 0; k < LEVELS && (size >> k) && st == LV_OK; k++)
		st = store->get(store->ctx, k, (size >> k) - 1, m->edge[k]);
	if (st != LV_OK) {
		free(m);
		return st;
	}
	*out = m;
	return LV_OK;
}

enum lv_status lv_merkle_copy(const struct lv_merkle *m, struct lv_merkle **out)
{
	if (!out)
		return LV_ERR_INVALID;
	*out = NULL;
	if (!m || !m->stored)
		return LV_ERR_INVALID;
	*out = malloc(sizeof **out);
	if (!*out)
		return LV_ERR_NOMEM;
	memcpy(*out, m, sizeof **out);
	return LV_OK;
}

/* Appends to a stored tree: the new leaf and every subtree it completes
 * go to the store (the left sibling of each is the old right edge), then
 * the edge moves.  A failed put leaves the tree as it was; what the store
 * already took is the store's to roll back (its transaction). */
static enum lv_status stored_append(struct lv_merkle *m, const unsigned char leaf[HLEN], uint64_t *index)
{
	uint64_t s = m->size;
	unsigned t = (unsigned)__builtin_ctzll(~s); /* levels 1..t gain a node */
	unsigned char nodes[LEVELS][HLEN];
	memcpy(nodes[0], leaf, HLEN);
	enum lv_status st = m->store.put(m->store.ctx, 0, s, nodes[0]);
	for (unsigned k = 0; k < t && st == LV_OK; k++) {
		lv_merkle_hash_node(m->edge[k], nodes[k], nodes[k + 1]);
		st = m->store.put(m->store.ctx, k + 1, ((s + 1) >> (k + 1)) - 1, nodes[k + 1]);
	}
	if (st != LV_OK)
		return st;
	memcpy(m->edge, nodes, (size_t)(t + 1) * HLEN);
	m->size = s + 1;
	if (index)
		*index = s;
	return LV_OK;
}

enum lv_status lv_merkle_append_leaf(struct lv_merkle *m, const unsigned char leaf_hash[HLEN],
				     uint64_t *index)
{
	if (index)
		*index = 0;
	if (!m || !leaf_hash)
		return LV_ERR_INVALID;
	uint64_t s = m->size;
	if (s == UINT64_MAX)
		return LV_ERR_TOO_LARGE;
	if (m->stored)
		return stored_append(m, leaf_hash, index);
	/* Levels 0..t gain one entry, where t counts the trailing one bits of
	 * the old size.  Reserve them all before touching anything so that a
	 * failed append leaves the tree as it was. */
	unsigned t = (unsigned)__builtin_ctzll(~s);
	for (unsigned k = 0; k <= t; k++) {
		enum lv_status st = level_reserve(&m->lv[k], m->lv[k].len + 1);
		if (st != LV_OK)
			return st;
	}
	memcpy(m->lv[0].h + (size_t)m->lv[0].len * HLEN, leaf_hash, HLEN);
	m->lv[0].len++;
	for (unsigned k = 0; k < t; k++) {
		struct merkle_level *l = &m->lv[k];
		struct merkle_level *up = &m->lv[k + 1];
		assert(l->len % 2 == 0);
		lv_merkle_hash_node(l->h + (size_t)(l->len - 2) * HLEN, l->h + (size_t)(l->len - 1) * HLEN,
				    up->h + (size_t)up->len * HLEN);
		up->len++;
	}
	m->size = s + 1;
	if (index)
		*index = s;
	return LV_OK;
}

enum lv_status lv_merkle_append_data(struct lv_merkle *m, const void *data, size_t len, uint64_t *index)
{
	unsigned char h[HLEN];
	if (index)
		*index = 0;
	if (!m || (!data && len))
		return LV_ERR_INVALID;
	lv_merkle_hash_leaf(data, len, h);
	return lv_merkle_append_leaf(m, h, index);
}

uint64_t lv_merkle_size(const struct lv_merkle *m)
{
	return m ? m->size : 0;
}

enum lv_status audit_merkle_node(const struct lv_merkle *m, unsigned level, uint64_t index,
				 unsigned char out[HLEN])
{
	memset(out, 0, HLEN);
	if (!m || level >= LEVELS)
		return LV_ERR_INVALID;
	if (index >= (m->size >> level))
		return LV_ERR_NOT_FOUND;
	enum lv_status st = node_get(m, level, index, out);
	if (st != LV_OK)
		memset(out, 0, HLEN);
	return st;
}

enum lv_status lv_merkle_leaf_hash(const struct lv_merkle *m, uint64_t index, unsigned char out[HLEN])
{
	if (!out)
		return LV_ERR_INVALID;
	return audit_merkle_node(m, 0, index, out);
}

/* MTH of a valid, non-empty subtree [start, end), end <= size.  Because
 * start is a multiple of bit_ceil(end - start), the range splits into
 * complete subtrees of strictly decreasing size, one per set bit of the
 * length, each aligned at its own size; the RFC's recursive MTH is the
 * right fold of their hashes.  Fails only when a stored tree's store does. */
static enum lv_status subtree_hash(const struct lv_merkle *m, uint64_t start, uint64_t end, unsigned char out[HLEN])
{
	unsigned char parts[LEVELS][HLEN];
	unsigned n = 0;
	uint64_t len = end - start, pos = start;
	assert(start < end && end <= m->size);
	for (int k = LEVELS - 1; k >= 0; k--) {
		uint64_t w = UINT64_C(1) << k;
		if (len & w) {
			enum lv_status st = node_get(m, (unsigned)k, pos >> k, parts[n++]);
			if (st != LV_OK)
				return st;
			pos += w;
		}
	}
	memcpy(out, parts[n - 1], HLEN);
	for (unsigned i = n - 1; i-- > 0;)
		lv_merkle_hash_node(parts[i], out, out);
	return LV_OK;
}

enum lv_status audit_merkle_subtree_hash(const struct lv_merkle *m, uint64_t start, uint64_t end,
					 unsigned char out[HLEN])
{
	memset(out, 0, HLEN);
	if (!m || !audit_subtree_valid(start, end))
		return LV_ERR_INVALID;
	if (end > m->size)
		return LV_ERR_NOT_FOUND;
	if (start == end) {
		lv_merkle_empty_root(out);
		return LV_OK;
	}
	enum lv_status st = subtree_hash(m, start, end, out);
	if (st != LV_OK)
		memset(out, 0, HLEN);
	return st;
}

enum lv_status lv_merkle_root_at(const struct lv_merkle *m, uint64_t size, unsigned char root[HLEN])
{
	if (!root)
		return LV_ERR_INVALID;
	return audit_merkle_subtree_hash(m, 0, size, root);
}

/* The next free hash of @p, or NULL (and @p emptied) when it is full: a
 * tree of fewer than 2^63 leaves never needs more than 64 hashes. */
static unsigned char *proof_slot(struct lv_merkle_proof *p)
{
	if (p->len == LV_MERKLE_MAX_PROOF) {
		p->len = 0;
		return NULL;
	}
	return p->hash[p->len++];
}

/* Proof items are found top-down; RFC order is bottom-up. */
static void proof_reverse(struct lv_merkle_proof *p)
{
	unsigned char tmp[HLEN];
	for (size_t i = 0, j = p->len; i + 1 < j; i++, j--) {
		memcpy(tmp, p->hash[i], HLEN);
		memcpy(p->hash[i], p->hash[j - 1], HLEN);
		memcpy(p->hash[j - 1], tmp, HLEN);
	}
}

enum lv_status audit_merkle_subtree_inclusion(const struct lv_merkle *m, uint64_t index, uint64_t start,
					      uint64_t end, struct lv_merkle_proof *proof)
{
	if (!proof)
		return LV_ERR_INVALID;
	proof->len = 0;
	if (!m || !audit_subtree_valid(start, end) || index < start || index >= end)
		return LV_ERR_INVALID;
	if (end > m->size)
		return LV_ERR_NOT_FOUND;
	/* PATH(m, D[n]): descend towards the leaf, recording the sibling
	 * subtree at each split. */
	uint64_t s = start, n = end - start;
	while (n > 1) {
		uint64_t k = split_point(n);
		unsigned char *slot = proof_slot(proof);
		if (!slot)
			return LV_ERR_TOO_LARGE;
		enum lv_status st;
		if (index < s + k) {
			st = subtree_hash(m, s + k, s + n, slot);
			n = k;
		} else {
			st = subtree_hash(m, s, s + k, slot);
			s += k;
			n -= k;
		}
		if (st != LV_OK) {
			proof->len = 0;
			return st;
		}
	}
	proof_reverse(proof);
	return LV_OK;
}

enum lv_status audit_merkle_subtree_consistency(const struct lv_merkle *m, uint64_t start, uint64_t end,
						uint64_t size, struct lv_merkle_proof *proof)
{
	if (!proof)
		return LV_ERR_INVALID;
	proof->len = 0;
	if (!m || !audit_subtree_valid(start, end) || end > size)
		return LV_ERR_INVALID;
	if (size > m->size)
		return LV_ERR_NOT_FOUND;
	if (start == end)
		return LV_OK;
	/* SUBPROOF(start, end, D[base:base+n], known), unrolled: each step
	 * records one sibling subtree; it ends at the node that is the
	 * subtree itself, recorded only once we have left the path of the
	 * subtree's own root (known == false). */
	uint64_t base = 0, n = size;
	bool known = true;
	enum lv_status st = LV_OK;
	for (; st == LV_OK;) {
		unsigned char *slot;
		if (start == 0 && end == n) {
			if (!known) {
				if (!(slot = proof_slot(proof)))
					return LV_ERR_TOO_LARGE;
				st = subtree_hash(m, base, base + n, slot);
			}
			break;
		}
		uint64_t k = split_point(n);
		if (!(slot = proof_slot(proof)))
			return LV_ERR_TOO_LARGE;
		if (end <= k) {
			st = subtree_hash(m, base + k, base + n, slot);
			n = k;
		} else {
			/* The subtree is right of the split, or straddles it (then
			 * it starts at 0 and its own root is no longer on the
			 * path). */
			st = subtree_hash(m, base, base + k, slot);
			if (start < k)
				known = false;
			start = start < k ? 0 : start - k;
			end -= k;
			base += k;
			n -= k;
		}
	}
	if (st != LV_OK) {
		proof->len = 0;
		return st;
	}
	proof_reverse(proof);
	return LV_OK;
}

enum lv_status lv_merkle_inclusion_proof(const struct lv_merkle *m, uint64_t index, uint64_t size,
					 struct lv_merkle_proof *proof)
{
	if (!proof)
		return LV_ERR_INVALID;
	proof->len = 0;
	if (!m || index >= size)
		return LV_ERR_INVALID;
	return audit_merkle_subtree_inclusion(m, index, 0, size, proof);
}

enum lv_status lv_merkle_consistency_proof(const struct lv_merkle *m, uint64_t first, uint64_t second,
					   struct lv_merkle_proof *proof)
{
	if (!proof)
		return LV_ERR_INVALID;
	proof->len = 0;
	if (!m || first == 0 || first > second)
		return LV_ERR_INVALID;
	return audit_merkle_subtree_consistency(m, 0, first, second, proof);
}

static bool hash_eq(const unsigned char a[HLEN], const unsigned char b[HLEN])
{
	return sodium_memcmp(a, b, HLEN) == 0;
}

enum lv_status lv_merkle_verify_inclusion(uint64_t index, uint64_t size, const unsigned char leaf_hash[HLEN],
					  const struct lv_merkle_proof *proof, const unsigned char root[HLEN])
{
	if (!leaf_hash || !proof || !root || proof->len > LV_MERKLE_MAX_PROOF)
		return LV_ERR_INVALID;
	if (index >= size)
		return LV_ERR_CRYPTO;
	uint64_t fn = index, sn = size - 1;
	unsigned char r[HLEN];
	memcpy(r, leaf_hash, HLEN);
	for (size_t i = 0; i < proof->len; i++) {
		const unsigned char *p = proof->hash[i];
		if (sn == 0)
			return LV_ERR_CRYPTO;
		if ((fn & 1) || fn == sn) {
			lv_merkle_hash_node(p, r, r);
			while (!(fn & 1) && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			lv_merkle_hash_node(r, p, r);
		}
		fn >>= 1;
		sn >>= 1;
	}
	/* sn == 0 proves the path reached the root; without it a proof for a
	 * smaller tree with a matching root would pass. */
	return sn == 0 && hash_eq(r, root) ? LV_OK : LV_ERR_CRYPTO;
}

static bool is_pow2(uint64_t x)
{
	return x && !(x & (x - 1));
}

enum lv_status lv_merkle_verify_consistency(uint64_t first, uint64_t second,
					    const unsigned char first_root[HLEN],
					    const unsigned char second_root[HLEN],
					    const struct lv_merkle_proof *proof)
{
	if (!first_root || !second_root || !proof || proof->len > LV_MERKLE_MAX_PROOF)
		return LV_ERR_INVALID;
	if (first == 0 || second < first)
		return LV_ERR_CRYPTO;
	if (first == second)
		return proof->len == 0 && hash_eq(first_root, second_root) ? LV_OK : LV_ERR_CRYPTO;
	if (proof->len == 0)
		return LV_ERR_CRYPTO;
	/* When first is a power of two its root is a node of the second tree
	 * and the proof omits it: the path starts from first_root itself. */
	size_t i = 0;
	unsigned char fr[HLEN], sr[HLEN];
	if (is_pow2(first)) {
		memcpy(fr, first_root, HLEN);
	} else {
		memcpy(fr, proof->hash[0], HLEN);
		i = 1;
	}
	memcpy(sr, fr, HLEN);
	uint64_t fn = first - 1, sn = second - 1;
	while (fn & 1) {
		fn >>= 1;
		sn >>= 1;
	}
	for (; i < proof->len; i++) {
		const unsigned char *c = proof->hash[i];
		if (sn == 0)
			return LV_ERR_CRYPTO;
		if ((fn & 1) || fn == sn) {
			lv_merkle_hash_node(c, fr, fr);
			lv_merkle_hash_node(c, sr, sr);
			while (!(fn & 1) && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			lv_merkle_hash_node(sr, c, sr);
		}
		fn >>= 1;
		sn >>= 1;
	}
	return sn == 0 && hash_eq(fr, first_root) && hash_eq(sr, second_root) ? LV_OK : LV_ERR_CRYPTO;
}
