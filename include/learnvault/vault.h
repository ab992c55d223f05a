/* learnvault — a learner's vault as a portable encrypted file.
 *
 * The file is a fixed LV_VAULT_HEADER_LEN-byte header followed by a copy
 * of the vault as an SQLCipher 3 database (4096-byte cipher pages) keyed
 * with a fresh random 32-byte export key.  The header holds that key
 * wrapped with XChaCha20-Poly1305 under Argon2id(passphrase, salt) (libsodium
 * crypto_pwhash, MODERATE limits), with the header's leading fields as
 * associated data; those fields include a BLAKE2b-256 hash of the body, so
 * any change to either part is detected before the body is used.
 *
 * Header layout (integers big-endian):
 *   0   8  magic "LVVAULT1"
 *   8   4  format version (1)
 *   12  4  SQLCipher page size of the body (4096)
 *   16 16  Argon2id salt
 *   32  8  opslimit
 *   40  8  memlimit
 *   48  8  body length
 *   56 32  BLAKE2b-256 of the body
 *   88 24  XChaCha20-Poly1305 nonce
 *   112 48 the wrapped export key (32 bytes + 16-byte tag); AD = bytes 0..87
 * See docs/keys.md. */
#ifndef LEARNVAULT_VAULT_H
#define LEARNVAULT_VAULT_H

#include <stddef.h>

#include "learnvault/node.h"
#include "learnvault/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LV_VAULT_HEADER_LEN 160
#define LV_VAULT_FILE_MAX ((size_t)1 << 30)   /* whole export file, header included */
#define LV_VAULT_PASSPHRASE_MIN 12            /* bytes */
#define LV_VAULT_PASSPHRASE_MAX 1024          /* bytes */

/* Copies learner @learner's vault (a pseudonym) into a new portable file
 * protected by @passphrase (@passphrase_len bytes, LV_VAULT_PASSPHRASE_MIN to
 * LV_VAULT_PASSPHRASE_MAX, else LV_ERR_INVALID).  *@file receives the
 * malloc'd file (caller frees) of *@file_len bytes; both are cleared on
 * failure.  LV_ERR_NOT_FOUND when there is no such learner,
 * LV_ERR_TOO_LARGE when the file would exceed LV_VAULT_FILE_MAX.
 *
 * Records nothing: the caller must record the access before releasing
 * the file (the door lv_learner_vault_export does).  The vault is copied
 * under the node's lock; the Argon2id derivation (about 256 MiB and a
 * fraction of a second) runs outside it.  A temporary copy is made in a
 * private (0700) directory under the node's data directory and removed
 * before returning. */
LV_EXPORT enum lv_status lv_vault_export(struct lv_node *node, const char *learner, const char *passphrase,
					 size_t passphrase_len, unsigned char **file, size_t *file_len) LV_WARN_UNUSED;

/* The same file, to be sent without being held in memory: its header in
 * memory, its body in a temporary file already unlinked (only the handle
 * reaches it; nothing is left on disk, even after a crash once this
 * returns).  Key derivations run one at a time in a process (each takes
 * about 256 MiB), so concurrent exports queue for that step.  On success
 * *@out owns the file (lv_vault_file_destroy); NULL on failure. */
struct lv_vault_file;
LV_EXPORT enum lv_status lv_vault_export_file(struct lv_node *node, const char *learner, const char *passphrase,
					      size_t passphrase_len, struct lv_vault_file **out) LV_WARN_UNUSED;
/* The whole file's length, header included. */
LV_EXPORT uint64_t lv_vault_file_size(const struct lv_vault_file *f);
/* Up to @max bytes of the file from offset @pos into @buf; *@got is the
 * count (0 at the end).  LV_ERR_IO when the temporary file cannot be read. */
LV_EXPORT enum lv_status lv_vault_file_read(struct lv_vault_file *f, uint64_t pos, void *buf, size_t max,
					    size_t *got) LV_WARN_UNUSED;
/* The whole file in one malloc'd buffer (the caller's) of *@file_len
 * bytes, for a caller that writes it elsewhere at once; cleared on failure. */
LV_EXPORT enum lv_status lv_vault_file_read_all(struct lv_vault_file *f, unsigned char **file,
						size_t *file_len) LV_WARN_UNUSED;
/* Closes the handle (the space goes back to the file system).  NULL is a no-op. */
LV_EXPORT void lv_vault_file_destroy(struct lv_vault_file *f);

/* Opens an export file offline (no node key, no data directory):
 * checks the header, derives the key from @passphrase, unwraps the export
 * key and checks the body's hash, then reads the vault through a private
 * temporary copy under $TMPDIR (or /tmp), removed before returning.
 * *@statements_json receives a malloc'd JSON text (caller frees):
 * {"format":"learnvault-vault","version":1,"statements":[bodies in stored
 * order],"documents":N,"attachments":N}.  LV_ERR_CRYPTO on a wrong
 * passphrase or any altered byte, LV_ERR_INVALID when @file is not an
 * export file (or @len exceeds LV_VAULT_FILE_MAX). */
LV_EXPORT enum lv_status lv_vault_open_file(const unsigned char *file, size_t len, const char *passphrase,
					    size_t passphrase_len, char **statements_json) LV_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif
