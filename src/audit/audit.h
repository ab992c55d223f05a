/* Internal to the audit module (src/audit): helpers shared by merkle.c,
 * note.c and tlog_proof.c, and the generalised subtree operations of
 * draft-ietf-plants-merkle-tree-certs that the public RFC 9162 functions
 * are built on (exposed here so tests can check them against the
 * published subtree vectors). */
#ifndef LV_AUDIT_INTERNAL_H
#define LV_AUDIT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "learnvault/audit.h"

/* SHA-256(0x01 || l || r) for children of any length (the RFC 6962 hasher
 * primitive; tree nodes always pass 32-byte children). */
void audit_hash_children(const void *l, size_t llen, const void *r, size_t rlen,
			 unsigned char out[LV_MERKLE_HASH_LEN]);

/* True when [start, end) is a valid subtree: start <= end and (start == 0
 * or start == end or start is a multiple of bit_ceil(end - start)). */
bool audit_subtree_valid(uint64_t start, uint64_t end);

/* The stored hash of the complete subtree at (@level, @index), i.e. of
 * leaves [index * 2^level, (index + 1) * 2^level).  LV_ERR_NOT_FOUND when
 * that subtree is not complete yet. */
enum lv_status audit_merkle_node(const struct lv_merkle *m, unsigned level, uint64_t index,
				 unsigned char out[LV_MERKLE_HASH_LEN]) LV_WARN_UNUSED;

/* MTH(D[start:end]) for a valid subtree with end <= size (SHA-256("") when
 * empty).  LV_ERR_INVALID for an invalid subtree, LV_ERR_NOT_FOUND when end
 * is beyond the size. */
enum lv_status audit_merkle_subtree_hash(const struct lv_merkle *m, uint64_t start, uint64_t end,
					 unsigned char out[LV_MERKLE_HASH_LEN]) LV_WARN_UNUSED;

/* PATH(index - start, D[start:end]) for a valid, non-empty subtree and
 * start <= index < end. */
enum lv_status audit_merkle_subtree_inclusion(const struct lv_merkle *m, uint64_t index, uint64_t start,
					      uint64_t end, struct lv_merkle_proof *proof) LV_WARN_UNUSED;

/* The subtree consistency proof of the valid subtree [start, end) in the
 * tree of the first @size leaves (end <= size): RFC 9162 SUBPROOF
 * generalised to aligned subtrees.  With start == 0 it is exactly
 * PROOF(end, D[0:size]); empty when start == end or [start, end) ==
 * [0, size). */
enum lv_status audit_merkle_subtree_consistency(const struct lv_merkle *m, uint64_t start, uint64_t end,
						uint64_t size, struct lv_merkle_proof *proof) LV_WARN_UNUSED;

/* Text rules shared by the note, checkpoint and receipt parsers. */

/* True when s[0..n) is valid UTF-8 (no overlong forms, surrogates or code
 * points above U+10FFFF) without C0 control characters, except '\n' when
 * @allow_newline. */
bool audit_text_ok(const char *s, size_t n, bool allow_newline);

/* True when s[0..n) is a valid key name: non-empty, valid UTF-8, no
 * control characters, no Unicode white space, no '+'. */
bool audit_name_ok(const char *s, size_t n);

/* Decodes standard, padded base64 s[0..n) into out (capacity @cap).  False
 * for any invalid character, bad padding, non-zero trailing bits, or more
 * than @cap bytes. */
bool audit_b64_decode(const char *s, size_t n, unsigned char *out, size_t cap, size_t *len);

/* Parses s[0..n) as an ASCII decimal uint64 without sign, leading zeros
 * (except "0" itself) or overflow. */
bool audit_parse_u64(const char *s, size_t n, uint64_t *v);

#endif
