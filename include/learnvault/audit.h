/* learnvault — the cryptographic core of the tamper-evident audit log.
 *
 * Three layers, none of which touches storage or the network:
 *
 *  1. An RFC 9162 (Certificate Transparency v2) Merkle tree over SHA-256:
 *       empty root = SHA-256(""), leaf = SHA-256(0x00 || data),
 *       node = SHA-256(0x01 || left || right),
 *     split at the largest power of two smaller than the size.  struct
 *     lv_merkle keeps (in memory, or in a caller's store) the hash of
 *     every complete (perfect) subtree at every level — level k entry i covers leaves
 *     [i * 2^k, (i + 1) * 2^k) — so the root at any earlier size and every
 *     inclusion or consistency proof need O(log n) lookups and at most
 *     O(log^2 n) hashing.  The verifiers are stateless and follow RFC 9162
 *     §2.1.3.2 and §2.1.4.2 to the letter (final sn == 0 check included).
 *
 *  2. c2sp.org/signed-note with Ed25519 (signature type 0x01) and
 *     c2sp.org/tlog-checkpoint on top of it: a checkpoint is the note text
 *        <origin>\n<tree size in decimal>\n<base64 root>\n
 *     signed by the log key, whose key name is the origin.
 *
 *  3. c2sp.org/tlog-proof: an offline inclusion receipt (index, inclusion
 *     proof and the signed checkpoint it is relative to).
 *
 * Conventions.  Every fallible function returns enum lv_status; any status
 * other than LV_OK from a verify function means "rejected".  Out-parameters
 * come last and are cleared (NULL, 0 or zeroed) when a call fails.  Buffers
 * passed in are borrowed for the call only unless a function says
 * otherwise.  Text returned in a char ** is NUL-terminated, allocated with
 * malloc() and owned by the caller (free()); the length out-parameter
 * excludes the terminator.  Every text read from outside is capped (see
 * the LV_*_MAX_* constants); oversized input yields LV_ERR_TOO_LARGE.
 * Ed25519 secret keys are the caller's 64-byte libsodium keys (seed || pk,
 * as from crypto_sign_keypair or crypto_sign_seed_keypair); they are used
 * in place and never copied.
 *
 * Threads: the functions without a struct lv_merkle argument are
 * reentrant.  A struct lv_merkle may be read (size, root, proofs) from
 * several threads at once, but an append must not overlap any other call
 * on the same tree.
 */
#ifndef LEARNVAULT_AUDIT_H
#define LEARNVAULT_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "learnvault/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LV_MERKLE_HASH_LEN 32          /* SHA-256 */
#define LV_MERKLE_MAX_PROOF 64         /* hashes in any inclusion or consistency proof */

#define LV_NOTE_MAX_LEN (64 * 1024)    /* bytes of a signed note, signatures included */
#define LV_NOTE_MAX_SIGS 64            /* signature lines in a note */
#define LV_NOTE_MAX_NAME 255           /* bytes of a key name we sign with or trust */
#define LV_NOTE_MAX_VKEY 512           /* bytes of a verifier key text */
#define LV_NOTE_SECRETKEY_LEN 64       /* libsodium crypto_sign_SECRETKEYBYTES */
#define LV_NOTE_PUBLICKEY_LEN 32       /* libsodium crypto_sign_PUBLICKEYBYTES */

#define LV_CHECKPOINT_MAX_ORIGIN 255   /* bytes of a checkpoint origin line */

#define LV_TLOG_PROOF_HEADER "c2sp.org/tlog-proof@v1"
#define LV_TLOG_PROOF_MAX_EXTRA 1024   /* decoded bytes of the optional extra data */
#define LV_TLOG_PROOF_MAX_LEN (LV_NOTE_MAX_LEN + 8 * 1024) /* bytes of a whole receipt */

/* ------------------------------------------------------------------ */
/* Merkle tree                                                          */
/* ------------------------------------------------------------------ */

/* An inclusion or consistency proof: @len hashes, in RFC 9162 order (from
 * the leaf's sibling / the deepest node upwards).  Plain caller-owned
 * storage (about 2 KiB); no function keeps a pointer to it. */
struct lv_merkle_proof {
	size_t len;
	unsigned char hash[LV_MERKLE_MAX_PROOF][LV_MERKLE_HASH_LEN];
};

/* SHA-256(0x00 || data): the leaf hash of @len bytes at @data (@data may be
 * NULL when @len is 0). */
LV_EXPORT void lv_merkle_hash_leaf(const void *data, size_t len, unsigned char out[LV_MERKLE_HASH_LEN]);

/* SHA-256(0x01 || left || right).  @out may alias either input. */
LV_EXPORT void lv_merkle_hash_node(const unsigned char left[LV_MERKLE_HASH_LEN],
				   const unsigned char right[LV_MERKLE_HASH_LEN],
				   unsigned char out[LV_MERKLE_HASH_LEN]);

/* SHA-256(""), the root of the empty tree. */
LV_EXPORT void lv_merkle_empty_root(unsigned char out[LV_MERKLE_HASH_LEN]);

/* An append-only Merkle tree: held in memory (about 64 bytes per leaf), or
 * kept in a caller's store with only its right edge (64 hashes at most)
 * in memory. */
struct lv_merkle;

/* Where a stored tree's node hashes live.  Node (level, index) is the hash
 * of the complete subtree over leaves [index * 2^level, (index + 1) *
 * 2^level); level 0 holds the leaf hashes.  @get fills @out with a node
 * that was @put before (LV_OK), or fails (any status, passed back to the
 * caller of the tree function).  @put is called once for every node an
 * append completes, the leaf included (a store that keeps leaves
 * elsewhere may ignore level 0); if it fails the append fails and the
 * tree is unchanged, but puts made earlier in that append stay: a store
 * wraps appends in its own transaction.  @ctx is passed to both. */
struct lv_merkle_store {
	enum lv_status (*get)(void *ctx, unsigned level, uint64_t index, unsigned char out[LV_MERKLE_HASH_LEN]);
	enum lv_status (*put)(void *ctx, unsigned level, uint64_t index, const unsigned char hash[LV_MERKLE_HASH_LEN]);
	void *ctx;
};

/* Opens the stored tree of @size leaves in @store (copied; its ctx is
 * borrowed and must outlive the tree), reading its right edge: O(log
 * size) gets and constant memory.  Roots and proofs then read nodes from
 * the store.  On success *@out owns the tree (lv_merkle_destroy); NULL
 * on failure (the store's status, LV_ERR_INVALID, LV_ERR_NOMEM). */
LV_EXPORT enum lv_status lv_merkle_create_stored(const struct lv_merkle_store *store, uint64_t size,
						 struct lv_merkle **out) LV_WARN_UNUSED;

/* A second handle on the stored tree @m at its current size (the same
 * store; appends to either go to it).  For a transaction that appends to
 * the copy and keeps it only when the store committed.  In-memory trees
 * are refused (LV_ERR_INVALID).  On success *@out owns the copy. */
LV_EXPORT enum lv_status lv_merkle_copy(const struct lv_merkle *m, struct lv_merkle **out) LV_WARN_UNUSED;

/* Creates an empty tree.  On success *@out owns it (release with
 * lv_merkle_destroy); NULL on failure. */
LV_EXPORT enum lv_status lv_merkle_create(struct lv_merkle **out) LV_WARN_UNUSED;

/* Creates a tree of @count leaves from @count consecutive 32-byte leaf
 * hashes at @leaves (copied; the caller keeps its array), computing every
 * complete subtree in O(count).  For offline verifiers that hold the whole
 * log.  On success *@out owns the tree (lv_merkle_destroy); NULL on
 * failure (LV_ERR_NOMEM, LV_ERR_TOO_LARGE). */
LV_EXPORT enum lv_status lv_merkle_create_from_leaves(const unsigned char *leaves, uint64_t count,
						      struct lv_merkle **out) LV_WARN_UNUSED;

/* Frees @m and everything it owns.  NULL is a no-op. */
LV_EXPORT void lv_merkle_destroy(struct lv_merkle *m);

/* Appends the leaf whose hash is @leaf_hash (32 bytes, copied).  On success
 * *@index (may be NULL) receives the new leaf's index, which is the old
 * size.  On failure (LV_ERR_NOMEM, or a stored tree's put failing) the tree
 * is unchanged and *@index is 0. */
LV_EXPORT enum lv_status lv_merkle_append_leaf(struct lv_merkle *m,
					       const unsigned char leaf_hash[LV_MERKLE_HASH_LEN],
					       uint64_t *index) LV_WARN_UNUSED;

/* As lv_merkle_append_leaf with the leaf hash of @len bytes at @data (the
 * data itself is not kept). */
LV_EXPORT enum lv_status lv_merkle_append_data(struct lv_merkle *m, const void *data, size_t len,
					       uint64_t *index) LV_WARN_UNUSED;

/* Number of leaves appended so far. */
LV_EXPORT uint64_t lv_merkle_size(const struct lv_merkle *m);

/* The hash of leaf @index into @out.  LV_ERR_NOT_FOUND when @index is not
 * below the size (then @out is zeroed). */
LV_EXPORT enum lv_status lv_merkle_leaf_hash(const struct lv_merkle *m, uint64_t index,
					     unsigned char out[LV_MERKLE_HASH_LEN]) LV_WARN_UNUSED;

/* The root of the tree made of the first @size leaves (0 <= @size <= the
 * current size) into @root.  LV_ERR_NOT_FOUND when @size is beyond the
 * current size (then @root is zeroed). */
LV_EXPORT enum lv_status lv_merkle_root_at(const struct lv_merkle *m, uint64_t size,
					   unsigned char root[LV_MERKLE_HASH_LEN]) LV_WARN_UNUSED;

/* The RFC 9162 §2.1.3.1 inclusion proof of leaf @index in the tree of the
 * first @size leaves into *@proof.  LV_ERR_INVALID unless @index < @size;
 * LV_ERR_NOT_FOUND when @size is beyond the current size.  On failure
 * proof->len is 0. */
LV_EXPORT enum lv_status lv_merkle_inclusion_proof(const struct lv_merkle *m, uint64_t index, uint64_t size,
						   struct lv_merkle_proof *proof) LV_WARN_UNUSED;

/* The RFC 9162 §2.1.4.1 consistency proof between the trees of the first
 * @first and the first @second leaves into *@proof (empty when the sizes
 * are equal).  LV_ERR_INVALID when @first is 0 (such a proof is meaningless
 * and verifiers reject it) or @first > @second; LV_ERR_NOT_FOUND when
 * @second is beyond the current size.  On failure proof->len is 0. */
LV_EXPORT enum lv_status lv_merkle_consistency_proof(const struct lv_merkle *m, uint64_t first, uint64_t second,
						     struct lv_merkle_proof *proof) LV_WARN_UNUSED;

/* Verifies (RFC 9162 §2.1.3.2) that @proof proves the leaf hash @leaf_hash
 * at @index in the tree of @size leaves whose root is @root.  LV_OK when it
 * does; LV_ERR_CRYPTO when it does not (including @index >= @size, a proof
 * too short or too long, a wrong hash anywhere); LV_ERR_INVALID for a NULL
 * argument or proof->len > LV_MERKLE_MAX_PROOF. */
LV_EXPORT enum lv_status lv_merkle_verify_inclusion(uint64_t index, uint64_t size,
						    const unsigned char leaf_hash[LV_MERKLE_HASH_LEN],
						    const struct lv_merkle_proof *proof,
						    const unsigned char root[LV_MERKLE_HASH_LEN]) LV_WARN_UNUSED;

/* Verifies (RFC 9162 §2.1.4.2) that @proof proves the tree of @first leaves
 * with root @first_root is a prefix of the tree of @second leaves with root
 * @second_root.  Edge rules: @first == 0 is rejected; @second < @first is
 * rejected (a rollback); equal sizes need an empty proof and equal roots.
 * LV_OK when proven; LV_ERR_CRYPTO when not; LV_ERR_INVALID for a NULL
 * argument or proof->len > LV_MERKLE_MAX_PROOF. */
LV_EXPORT enum lv_status lv_merkle_verify_consistency(uint64_t first, uint64_t second,
						      const unsigned char first_root[LV_MERKLE_HASH_LEN],
						      const unsigned char second_root[LV_MERKLE_HASH_LEN],
						      const struct lv_merkle_proof *proof) LV_WARN_UNUSED;

/* ------------------------------------------------------------------ */
/* Signed notes (c2sp.org/signed-note, Ed25519)                         */
/* ------------------------------------------------------------------ */

/* The Ed25519 key ID of (@name, @pk): the first 4 bytes, big-endian, of
 * SHA-256(name || 0x0A || 0x01 || pk).  LV_ERR_INVALID when @name is not a
 * valid key name (non-empty UTF-8 without spaces, '+' or control
 * characters, at most LV_NOTE_MAX_NAME bytes); *@id is then 0. */
LV_EXPORT enum lv_status lv_note_key_id(const char *name, const unsigned char pk[LV_NOTE_PUBLICKEY_LEN],
					uint32_t *id) LV_WARN_UNUSED;

/* The verifier key text "<name>+<8 lower-case hex key ID>+base64(0x01 || pk)"
 * for (@name, @pk) into *@vkey (caller frees with free()); NULL on failure
 * (LV_ERR_INVALID for an invalid name, LV_ERR_NOMEM). */
LV_EXPORT enum lv_status lv_note_vkey(const char *name, const unsigned char pk[LV_NOTE_PUBLICKEY_LEN],
				      char **vkey) LV_WARN_UNUSED;

/* Signs the note text @text (@text_len bytes: non-empty, ending in '\n',
 * valid UTF-8 without control characters other than '\n') with the Ed25519
 * secret key @sk under key name @name, producing
 *     text || "\n" || "\u2014 " || name || " " || base64(keyID || sig) || "\n"
 * in *@note (caller frees with free()) and its length in *@note_len.  @sk is
 * borrowed and not copied.  Ed25519 is deterministic: the same inputs give
 * the same bytes.  On failure *@note is NULL and *@note_len 0
 * (LV_ERR_INVALID, LV_ERR_TOO_LARGE beyond LV_NOTE_MAX_LEN, LV_ERR_NOMEM). */
LV_EXPORT enum lv_status lv_note_sign(const char *text, size_t text_len, const char *name,
				      const unsigned char sk[LV_NOTE_SECRETKEY_LEN],
				      char **note, size_t *note_len) LV_WARN_UNUSED;

/* Verifies the signed note @note (@note_len bytes, at most LV_NOTE_MAX_LEN)
 * against the verifier key text @vkey (NUL-terminated).  Signature lines
 * whose (name, key ID) differ from the key's are ignored; every line of the
 * known key must verify.  On LV_OK *@text_len is the length of the signed
 * text, which is the first *@text_len bytes of @note (final newline
 * included; borrowed from @note).  Otherwise *@text_len is 0 and the note
 * must be ignored:
 *   LV_ERR_INVALID     malformed note or vkey (bad UTF-8, control
 *                      characters, no blank line before the signatures,
 *                      bad signature line, key ID not matching the vkey);
 *   LV_ERR_TOO_LARGE   over LV_NOTE_MAX_LEN, LV_NOTE_MAX_SIGS or
 *                      LV_NOTE_MAX_VKEY;
 *   LV_ERR_UNSUPPORTED the vkey is not an Ed25519 (0x01) key;
 *   LV_ERR_CRYPTO      a signature line of the known key does not verify;
 *   LV_ERR_NOT_FOUND   no signature line of the known key;
 *   LV_ERR_NOMEM. */
LV_EXPORT enum lv_status lv_note_verify(const char *note, size_t note_len, const char *vkey,
					size_t *text_len) LV_WARN_UNUSED;

/* ------------------------------------------------------------------ */
/* Checkpoints (c2sp.org/tlog-checkpoint)                               */
/* ------------------------------------------------------------------ */

/* A parsed checkpoint; plain caller-owned storage. */
struct lv_checkpoint {
	char origin[LV_CHECKPOINT_MAX_ORIGIN + 1]; /* NUL-terminated */
	uint64_t size;
	unsigned char root[LV_MERKLE_HASH_LEN];
};

/* The checkpoint note text "<origin>\n<size>\n<base64 root>\n" into *@text
 * (caller frees with free()) and its length into *@text_len.  @origin must
 * be non-empty UTF-8 without control characters, at most
 * LV_CHECKPOINT_MAX_ORIGIN bytes.  On failure *@text is NULL and
 * *@text_len 0. */
LV_EXPORT enum lv_status lv_checkpoint_format(const char *origin, uint64_t size,
					      const unsigned char root[LV_MERKLE_HASH_LEN],
					      char **text, size_t *text_len) LV_WARN_UNUSED;

/* Formats the checkpoint (as lv_checkpoint_format) and signs it (as
 * lv_note_sign) under key name @origin, which must therefore also be a
 * valid key name.  @sk is borrowed and not copied.  On success *@note is
 * the signed note (caller frees with free()); on failure NULL and
 * *@note_len 0.  The caller must never sign two checkpoints that are not
 * consistent with each other. */
LV_EXPORT enum lv_status lv_checkpoint_sign(const char *origin, uint64_t size,
					    const unsigned char root[LV_MERKLE_HASH_LEN],
					    const unsigned char sk[LV_NOTE_SECRETKEY_LEN],
					    char **note, size_t *note_len) LV_WARN_UNUSED;

/* Parses checkpoint note text (NOT a signed note: pass the text that
 * lv_note_verify vouched for) into *@cp.  Strict: origin non-empty, size
 * decimal without leading zeros, root base64 of exactly 32 bytes,
 * extension lines (if any) non-empty and otherwise ignored, the text ending
 * in '\n'.  On failure *@cp is zeroed (LV_ERR_INVALID, LV_ERR_TOO_LARGE). */
LV_EXPORT enum lv_status lv_checkpoint_parse(const char *text, size_t text_len,
					     struct lv_checkpoint *cp) LV_WARN_UNUSED;

/* Verifies the signed checkpoint @note with @vkey (lv_note_verify), parses
 * the signed text (lv_checkpoint_parse) into *@cp and, when @origin is not
 * NULL, requires the origin line to equal it (LV_ERR_CRYPTO otherwise: a
 * checkpoint of another log).  On failure *@cp is zeroed and the status is
 * that of the failing step. */
LV_EXPORT enum lv_status lv_checkpoint_open(const char *note, size_t note_len, const char *vkey,
					    const char *origin, struct lv_checkpoint *cp) LV_WARN_UNUSED;

/* ------------------------------------------------------------------ */
/* Inclusion receipts (c2sp.org/tlog-proof@v1)                          */
/* ------------------------------------------------------------------ */

/* A parsed receipt; caller-owned storage (about 3 KiB) except @checkpoint,
 * which points into the text that was parsed and lives as long as it. */
struct lv_tlog_proof {
	uint64_t index;
	bool has_extra;
	size_t extra_len;
	unsigned char extra[LV_TLOG_PROOF_MAX_EXTRA]; /* unauthenticated */
	struct lv_merkle_proof proof;
	const char *checkpoint;  /* the signed checkpoint note, verbatim */
	size_t checkpoint_len;
};

/* Builds a receipt:
 *     c2sp.org/tlog-proof@v1\n
 *     extra <base64(extra)>\n        (only when @extra_len > 0)
 *     index <index>\n
 *     <base64 proof hash>\n ...      (proof->len lines)
 *     \n
 *     <the signed checkpoint @checkpoint, verbatim>
 * into *@out (caller frees with free()) and its length into *@out_len.
 * @extra_len at most LV_TLOG_PROOF_MAX_EXTRA; @checkpoint must look like a
 * signed note (valid text ending in '\n', at most LV_NOTE_MAX_LEN); it is
 * not verified here.  On failure *@out is NULL and *@out_len 0. */
LV_EXPORT enum lv_status lv_tlog_proof_format(const void *extra, size_t extra_len, uint64_t index,
					      const struct lv_merkle_proof *proof,
					      const char *checkpoint, size_t checkpoint_len,
					      char **out, size_t *out_len) LV_WARN_UNUSED;

/* Parses a receipt of @len bytes (at most LV_TLOG_PROOF_MAX_LEN) into *@out
 * without verifying anything cryptographic.  out->checkpoint points into
 * @text.  On failure *@out is zeroed (LV_ERR_INVALID, LV_ERR_TOO_LARGE when
 * a cap — text, extra, LV_MERKLE_MAX_PROOF hashes — is exceeded). */
LV_EXPORT enum lv_status lv_tlog_proof_parse(const char *text, size_t len,
					     struct lv_tlog_proof *out) LV_WARN_UNUSED;

/* Verifies a receipt offline: parses it, opens its checkpoint with @vkey
 * (and @origin unless NULL, as lv_checkpoint_open) and verifies the
 * inclusion of @leaf_hash at the receipt's index in the checkpoint's tree.
 * On LV_OK *@proof and *@cp (each may be NULL) receive the parsed receipt
 * (its checkpoint pointer borrowed from @text) and checkpoint; on failure
 * they are zeroed and the status is that of the failing step. */
LV_EXPORT enum lv_status lv_tlog_proof_verify(const char *text, size_t len, const char *vkey,
					      const char *origin,
					      const unsigned char leaf_hash[LV_MERKLE_HASH_LEN],
					      struct lv_tlog_proof *proof,
					      struct lv_checkpoint *cp) LV_WARN_UNUSED;

/* ------------------------------------------------------------------ */
/* Release receipts (audit/receipt.c)                                   */
/* ------------------------------------------------------------------ */

/* What the node vouches for when it gives an analyst an aggregate answer:
 * who asked, which question, and the answer's digest, signed with the log
 * key as a signed note.  It carries nothing that depends on the log's size
 * or on the cohort (no index, no time from inside the release), so the
 * analyst learns nothing un-noised from it; an auditor finds the release
 * entry it names (lv_audit_verify_export with receipts). */
#define LV_RECEIPT_FIELD_MAX 128 /* bytes of actor and query id */
struct lv_release_receipt {
	char origin[LV_CHECKPOINT_MAX_ORIGIN + 1]; /* the log's origin (key name) */
	char actor[LV_RECEIPT_FIELD_MAX + 1];      /* credential id, or "operator" */
	char query_id[LV_RECEIPT_FIELD_MAX + 1];
	char request_sha256[65];                   /* of the canonical query */
	char answer_sha256[65];                    /* lv_release_answer_sha256 */
};

/* The SHA-256 (lower-case hex) of an answer's exact compact JSON text, as
 * the release entry's "answer" member prints with cJSON_PrintUnformatted. */
LV_EXPORT void lv_release_answer_sha256(const char *answer, size_t len, char hex[65]);

/* Formats @r as the receipt note text
 *     "learnvault.org/release-receipt/v1\n<origin>\nactor <a>\n"
 *     "query_id <q>\nrequest_sha256 <h>\nanswer_sha256 <h>\n"
 * and signs it (lv_note_sign) under key name r->origin.  Fields must be
 * printable ASCII without spaces, digests 64 lower-case hex digits
 * (LV_ERR_INVALID otherwise).  @sk is borrowed.  *@note (caller frees) and
 * *@note_len are NULL/0 on failure. */
LV_EXPORT enum lv_status lv_release_receipt_sign(const struct lv_release_receipt *r,
						 const unsigned char sk[LV_NOTE_SECRETKEY_LEN],
						 char **note, size_t *note_len) LV_WARN_UNUSED;

/* Verifies the signed receipt @note with @vkey (lv_note_verify) and parses
 * it strictly into *@out (zeroed on failure; the status is that of the
 * failing step, LV_ERR_INVALID for a text that is not a receipt). */
LV_EXPORT enum lv_status lv_release_receipt_open(const char *note, size_t note_len, const char *vkey,
						 struct lv_release_receipt *out) LV_WARN_UNUSED;

/* ---- the offline verifier (audit/logverify.c, logreplay.c, logpolicies.c, logreceipt.c) ---- */

/* The export format is lv_audit_export's (learnvault/auditlog.h). */
/* Verifies an export offline (no node key, no data directory), in this
 * order, stopping at the first failure:
 *  - the bytes: every entry's index field equals its position; the
 *    recomputed root equals the checkpoint's; the checkpoint is signed by
 *    @vkey for this log; when @previous (a signed checkpoint seen earlier)
 *    is given, it is signed by @vkey and the log is consistent with it;
 *  - the policy texts: every shipped text matches a logged `policy` load
 *    (id, version, SHA-256) and every load has its text;
 *  - the rules, replayed in log order (docs/audit.md, "Step by step"):
 *    entry times never decrease; consent events bind to the logged load's
 *    digest, come from the learner or guardian the guardian rule lets
 *    decide (system only for an expiry); birth dates, erasures (which end
 *    every grant) and enrolments update the learner's state; each allowed
 *    access is checked (built-in purposes by role only; none after an
 *    erasure; policy purposes by lv_consent_evaluate against the newest
 *    loaded version, the learner's latest grant and logged birth date);
 *    aggregate accesses match their release (count, ε, query id) and every
 *    release fits the per-purpose and per-learner budgets and the
 *    policy's per-query ε.
 * *@report receives a malloc'd JSON report in every case (caller frees):
 * "ok", the counts checked, "policies" matched; on failure "error" names
 * the first failure (with "entry" when one entry is to blame).  The
 * status is LV_OK only when everything holds; LV_ERR_CRYPTO for a
 * tampered or non-compliant log, LV_ERR_INVALID for one that is not an
 * export, LV_ERR_TOO_LARGE, LV_ERR_NOMEM. */
LV_EXPORT enum lv_status lv_audit_verify_export(const char *json, size_t len, const char *vkey,
						const char *previous, char **report) LV_WARN_UNUSED;

/* As lv_audit_verify_export, and then each of the @nreceipts release
 * receipts @receipts (signed notes, NUL-terminated, borrowed; @receipts
 * may be NULL when @nreceipts is 0): it must verify with @vkey for this
 * log's origin (lv_release_receipt_open), and exactly one release entry
 * must carry its actor and query_id, its request_sha256, and an "answer"
 * whose cJSON_PrintUnformatted text hashes (lv_release_answer_sha256) to
 * its answer_sha256.  The report lists every receipt
 * ("receipts":[{"receipt","actor","query_id","entry","ok","error"}]); one
 * that fails fails the verification (LV_ERR_CRYPTO). */
LV_EXPORT enum lv_status lv_audit_verify_export_receipts(const char *json, size_t len, const char *vkey,
							 const char *previous, const char *const *receipts,
							 size_t nreceipts, char **report) LV_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif
