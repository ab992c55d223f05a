/* Backup and restore of a node's data directory (docs/backup.md).
 *
 * A backup is one POSIX ustar file: backup.json (last), node.json,
 * node.db, vaults/<pseudonym>.db for every learner, and node.key only when
 * asked.  Every database is copied as SQLCipher pages, still encrypted. */
#ifndef LEARNVAULT_BACKUP_H
#define LEARNVAULT_BACKUP_H

#include <stdbool.h>
#include <stdint.h>

#include "learnvault/node.h"
#include "learnvault/status.h"

struct lv_backup_options {
	bool include_key; /* add node.key (key-file mode only): the archive then opens alone */
};

struct lv_backup_report {
	uint64_t vaults;     /* vault files in the archive */
	uint64_t audit_size; /* audit entries in its node.db */
	uint64_t bytes;      /* the archive's length */
	bool has_key;        /* node.key is in the archive */
	bool passphrase;     /* the node's key comes from a passphrase */
};

/* Writes a backup of the open @node (opened shared, beside a running
 * server: it needs neither the vaults' lock nor the node lock beyond the
 * shared one its handle holds, which keeps a key rotation out) to
 * @out_path: first to @out_path.tmp.XXXXXX, synced, then renamed, so no
 * partial archive ever has the final name.  *@rep (may be NULL) is filled
 * on success.  @err gets a sentence on failure. */
LV_EXPORT enum lv_status lv_backup_create(struct lv_node *node, const char *out_path,
					  const struct lv_backup_options *opt, struct lv_backup_report *rep,
					  char err[LV_ERR_LEN]) LV_WARN_UNUSED;

/* Unpacks the backup @archive into @dir, which must be missing or empty
 * (LV_ERR_EXISTS otherwise), checking every file against backup.json
 * (LV_ERR_CRYPTO on a mismatch: nothing is left in @dir).  @key_file
 * (may be NULL) is installed as node.key when the archive has none.  Does
 * not open the node: the caller does, with its key or passphrase. */
LV_EXPORT enum lv_status lv_backup_restore(const char *archive, const char *dir, const char *key_file,
					   struct lv_backup_report *rep, char err[LV_ERR_LEN]) LV_WARN_UNUSED;

#endif
