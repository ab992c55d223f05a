/* learnvault — a node: its data directory, key hierarchy, learners and
 * credentials.
 *
 * A node lives in one directory:
 *   node.json   public parameters (key source, KDF salt, origin); 0644
 *   node.key    32 random bytes, the key-encryption key (KEK); 0600
 *               (absent when the KEK is derived from a passphrase)
 *   node.db     SQLCipher, keyed by a subkey of the KEK: registry, wrapped
 *               vault keys, credentials, statement index, settings
 *   vaults/<pseudonym>.db  one SQLCipher file per learner, each with its
 *               own random 256-bit key, stored only wrapped under the KEK
 *
 * All functions are thread-safe on one struct lv_node: a node serialises
 * its storage operations internally.
 */
#ifndef LEARNVAULT_NODE_H
#define LEARNVAULT_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "learnvault/status.h"

#ifdef __cplusplus
extern "C" {
#endif

struct lv_node;

/* Where the KEK comes from.  @passphrase NULL: DIR/node.key.  Otherwise the
 * KEK is Argon2id(passphrase, salt in node.json) and node.key is not used.
 * The passphrase is borrowed for the call only. */
struct lv_node_keysource {
	const char *passphrase;
	size_t passphrase_len;
};

/* Creates a node in @dir (created if missing, must hold no node yet:
 * LV_ERR_EXISTS otherwise).  @origin names the node in audit checkpoints
 * (NULL: "learnvault.local/node").  On success *@audit_vkey receives the
 * audit verifier key text (caller frees with free()); NULL on failure. */
LV_EXPORT enum lv_status lv_node_init(const char *dir, const struct lv_node_keysource *ks,
				      const char *origin, char **audit_vkey) LV_WARN_UNUSED;

/* How a process shares a data directory with others.  Any number of
 * processes may have a node open; one of them at a time owns the vaults. */
enum lv_node_access {
	/* This process owns the vaults (the server, or an offline command
	 * that reads or writes learners' records): LV_ERR_IN_USE when another
	 * process owns them. */
	LV_NODE_OWN_VAULTS = 0,
	/* node.db only (credentials, policies, consent, enrolment, audit,
	 * settings): works beside a running server.  Reading or writing an
	 * existing vault fails with LV_ERR_IN_USE; enrolment creates the new
	 * learner's vault and closes it at once. */
	LV_NODE_SHARED = 1,
};

struct lv_node_options {
	unsigned vault_cache; /* open vault handles kept (0: default 1024) */
	bool read_only;       /* reserved; must be false */
	enum lv_node_access access;
	/* Who this process is, written into DIR/vaults.lock while it owns
	 * the vaults so that a refused process can name it (NULL:
	 * "learnvault").  Borrowed for the call. */
	const char *holder;
};

#define LV_NODE_HOLDER_LEN 128

/* Opens the node in @dir.  @opt may be NULL for defaults (own the
 * vaults).  On success *@out owns the node (release with lv_node_close);
 * NULL on failure.  LV_ERR_CRYPTO when the key does not open node.db;
 * LV_ERR_IN_USE when another process owns the vaults (and @opt asks to)
 * or a key rotation holds the directory: lv_node_holder() names it.
 * Leftovers of a crashed process (an interrupted key rotation, the vault
 * files of an erasure that committed) are finished or removed here, by
 * the first process to open the node. */
LV_EXPORT enum lv_status lv_node_open(const char *dir, const struct lv_node_keysource *ks,
				      const struct lv_node_options *opt,
				      struct lv_node **out) LV_WARN_UNUSED;

/* Rotates the node key (KEK) of the node in @dir, which must not be open
 * anywhere else: LV_ERR_IN_USE, changing nothing, while any other process
 * (a server, a command, another rotation) has it open.  @current opens it as
 * lv_node_open does.  @next: NULL or no passphrase -> a new random
 * node.key; a passphrase -> a new Argon2id key with a fresh salt.  Every
 * vault key is re-wrapped under a new wrapping key and node.db is
 * re-encrypted under the new KEK; then the old node.key is overwritten
 * and replaced (passphrase mode: node.json's salt is replaced).  Crash-safe:
 * the new key material is written as node.key.next / node.json.next first,
 * and lv_node_open completes or discards an interrupted rotation. */
LV_EXPORT enum lv_status lv_node_rotate_key(const char *dir, const struct lv_node_keysource *current,
					    const struct lv_node_keysource *next) LV_WARN_UNUSED;

/* After LV_ERR_IN_USE: what the process holding @dir said it is ("pid
 * 1234: learnvault serve").  LV_ERR_NOT_FOUND when nothing is recorded. */
LV_EXPORT enum lv_status lv_node_holder(const char *dir, char out[LV_NODE_HOLDER_LEN]) LV_WARN_UNUSED;

/* Flushes and closes every vault and node.db, wipes keys.  NULL is a no-op. */
LV_EXPORT void lv_node_close(struct lv_node *node);

/* Node settings (stored in node.db).  Known: "auto_enrol" ("on"/"off"),
 * "max_body_bytes", "max_page_bytes" (statement bytes in one page of a
 * query, 1024..2^30, default 8 MiB), "max_batch_learners" (see below),
 * "origin", "aggregate_time_quantum_ms" (0..600000, default 200:
 * learnvault/query.h), "xapi_default_version" ("1.0.3", the default, or
 * "2.0.0": the version an xAPI request that names none is answered in),
 * "cors_origins" (util_origin_list_valid; read by the server at start:
 * docs/xapi.md).  *@value is a malloc'd copy (caller frees). */
LV_EXPORT enum lv_status lv_node_setting_get(struct lv_node *node, const char *name,
					     char **value) LV_WARN_UNUSED;
/* The setting max_body_bytes as this process last saw it, refreshed from
 * node.db when another process changed it; 0 when unset. */
LV_EXPORT size_t lv_node_max_body(struct lv_node *node);
/* The setting max_batch_learners (distinct learners one provider request
 * may write to; 1..10^5) as this process last loaded it (lv_node_max_body,
 * a setting change and every lock section refresh it); never waits for
 * the lock.  LV_BATCH_LEARNERS_DEFAULT when unset. */
#define LV_BATCH_LEARNERS_DEFAULT 50
LV_EXPORT size_t lv_node_max_batch_learners(struct lv_node *node);
LV_EXPORT enum lv_status lv_node_setting_set(struct lv_node *node, const char *name,
					     const char *value) LV_WARN_UNUSED;
/* Every node setting stored in node.db as one JSON object {"name":
 * "value", ...}: the settings lv_node_setting_set wrote (and auto_enrol and
 * max_body_bytes, written at init), plus "origin".  Names with a '.' are left out: they
 * hold a module's own documents ("personal.curriculum"), which have
 * commands of their own.  A setting never set is absent (its default
 * applies).  *@json is malloc'd (caller frees); NULL on failure. */
LV_EXPORT enum lv_status lv_node_settings_list(struct lv_node *node, char **json) LV_WARN_UNUSED;

/* The node's origin (the name of its audit log): borrowed, valid until
 * lv_node_close. */
LV_EXPORT const char *lv_node_origin(struct lv_node *node);

/* ---- learners ---- */

#define LV_PSEUDONYM_LEN 33 /* 32 hex chars + NUL */

/* Enrols the learner whose xAPI actor (Agent or Group JSON text) is
 * @actor_json, creating a vault, or finds the existing enrolment.
 * *@created tells which.  @pseudonym receives the learner's pseudonym. */
LV_EXPORT enum lv_status lv_learner_enrol(struct lv_node *node, const char *actor_json,
					  char pseudonym[LV_PSEUDONYM_LEN],
					  bool *created) LV_WARN_UNUSED;

/* Erases learner @pseudonym by crypto-shredding: in one node.db
 * transaction the wrapped vault key, the learner's statement index rows
 * and (by revocation) their credentials go; then the vault file and its
 * side files are deleted.  A copy of the vault kept elsewhere can no
 * longer be opened with this node's files.  Older backups of node.db
 * still hold the wrapped key until lv_node_rotate_key() (see docs).
 * LV_ERR_NOT_FOUND for an unknown learner, LV_ERR_INVALID for a string
 * that is not a pseudonym. */
LV_EXPORT enum lv_status lv_learner_erase(struct lv_node *node, const char *pseudonym) LV_WARN_UNUSED;

/* Number of enrolled learners. */
LV_EXPORT enum lv_status lv_learner_count(struct lv_node *node, int64_t *count) LV_WARN_UNUSED;

/* ---- credentials ---- */

enum lv_role {
	LV_ROLE_NONE = 0,
	LV_ROLE_PROVIDER = 1,
	LV_ROLE_LEARNER = 2,
	LV_ROLE_ANALYST = 3,
	LV_ROLE_AUDITOR = 4,
	LV_ROLE_ADMIN = 5,
	LV_ROLE_GUARDIAN = 6, /* acts for one learner on consent (below a policy's age) */
};

LV_EXPORT const char *lv_role_str(enum lv_role r);
/* LV_ROLE_NONE for an unknown name. */
LV_EXPORT enum lv_role lv_role_parse(const char *name);

#define LV_CRED_ID_LEN 25   /* 24 chars + NUL */
#define LV_MAX_PURPOSES 16

/* An authenticated principal.  Strings are owned by the struct. */
struct lv_principal {
	enum lv_role role;
	char id[LV_CRED_ID_LEN];            /* credential id (public) */
	char learner[LV_PSEUDONYM_LEN];     /* bound learner, "" if none */
	char *purposes[LV_MAX_PURPOSES];    /* bound purposes (analyst) */
	size_t npurposes;
};
LV_EXPORT void lv_principal_clear(struct lv_principal *p);

/* Issues a credential.  For LV_ROLE_PROVIDER the caller presents @id as the
 * Basic user and the secret as the password; every other role presents
 * "<id>.<secret>" as a bearer token.  @learner is required for LV_ROLE_GUARDIAN and
 * LV_ROLE_LEARNER (a pseudonym), NULL otherwise.  @purposes may be NULL.
 * *@secret receives the secret (sodium_malloc'd: release with
 * sodium_free); only its keyed hash is stored. */
LV_EXPORT enum lv_status lv_credential_add(struct lv_node *node, enum lv_role role,
					   const char *learner, const char *const *purposes,
					   size_t npurposes, const char *label,
					   char id[LV_CRED_ID_LEN], char **secret) LV_WARN_UNUSED;

/* Checks a credential in constant time.  On success fills @out (clear with
 * lv_principal_clear); on failure @out is zeroed and the status is
 * LV_ERR_UNAUTHORIZED whatever went wrong. */
LV_EXPORT enum lv_status lv_credential_check(struct lv_node *node, const char *id,
					     const char *secret,
					     struct lv_principal *out) LV_WARN_UNUSED;

/* LV_OK when credential @id exists and is not revoked, LV_ERR_NOT_FOUND
 * when not (a browser session re-checks its credential with this on every
 * request, so revoking it ends the session). */
LV_EXPORT enum lv_status lv_credential_active(struct lv_node *node, const char *id) LV_WARN_UNUSED;

/* Revokes credential @id.  LV_ERR_NOT_FOUND when there is none. */
LV_EXPORT enum lv_status lv_credential_revoke(struct lv_node *node, const char *id) LV_WARN_UNUSED;

/* JSON array of credentials (id, role, learner, purposes, label, created,
 * revoked); never secrets.  *@json is malloc'd. */
LV_EXPORT enum lv_status lv_credential_list(struct lv_node *node, char **json) LV_WARN_UNUSED;

/* Number of credentials not revoked into *@count (0 on failure). */
LV_EXPORT enum lv_status lv_credential_count(struct lv_node *node, int64_t *count) LV_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif
