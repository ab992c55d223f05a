/* Backup and restore (docs/backup.md).
 *
 * node.db is copied with SQLite's backup API from a connection of our own:
 * the server opens node.db shared (WAL), so one read transaction sees it
 * as committed at one instant.  Vaults cannot be read that way: their owner
 * (the server) holds them with locking_mode EXCLUSIVE, and a backup must
 * not need the vaults' lock.  A vault is therefore copied as its two files
 * (the -wal first, then the database) and the copy is kept only if neither
 * file changed meanwhile (size, modification time, inode and the WAL's
 * header, whose salts change whenever the WAL restarts); then the copy is
 * opened with its key, checked (quick_check reads and authenticates every
 * page), and checkpointed into one file.  If the WAL did not change, any
 * checkpoint that ran during the copy wrote only pages whose frames the
 * copied WAL holds, which recovery applies again: the copy is the vault as
 * committed at one instant.
 *
 * Order: node.db first, then the vaults.  Ingest commits vaults first and
 * the node.db index last (durability.md), so every statement the node.db
 * copy indexes is in the vault copies, and what the vault copies hold
 * beyond it is what a crash leaves: rows nothing indexes.  A vault made
 * after the node.db copy has no key row in it and is not copied.  A vault
 * whose learner was erased after the node.db copy is gone: the whole
 * backup starts again (the new node.db copy no longer names it).
 *
 * The archive is a POSIX ustar file (readable with tar(1), and restic
 * deduplicates it well since vault files are copied whole, in a stable
 * order), with backup.json last: name, size and BLAKE2b-256 of every file
 * before it, and the audit log's size. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "learnvault/backup.h"
#include "store.h"

#define TAR_BLOCK 512
#define COPY_BUF (64u << 10)
#define MANIFEST_MAX (256u << 20)
#define VAULT_COPY_TRIES 50
#define BACKUP_TRIES 3
#define PATH_LEN 4096

#define FAIL(st_, ...)                                                                                       \
	do {                                                                                                 \
		snprintf(err, LV_ERR_LEN, __VA_ARGS__);                                                      \
		st = (st_);                                                                                  \
		goto out;                                                                                    \
	} while (0)

/* ---- the ustar writer ---- */

struct tarw {
	FILE *f;
	uint64_t off;
	cJSON *files; /* manifest entries so far */
};

static void octal(char *field, size_t len, uint64_t v)
{
	snprintf(field, len, "%0*llo", (int)len - 1, (unsigned long long)v);
}

static enum lv_status tar_header(struct tarw *w, const char *name, uint64_t size, unsigned mode, char type)
{
	unsigned char h[TAR_BLOCK] = {0};
	if (strlen(name) >= 100)
		return LV_ERR_INVALID;
	memcpy(h, name, strlen(name));
	octal((char *)h + 100, 8, mode);
	octal((char *)h + 108, 8, 0);
	octal((char *)h + 116, 8, 0);
	octal((char *)h + 124, 12, size);
	octal((char *)h + 136, 12, (uint64_t)time(NULL));
	memset(h + 148, ' ', 8);
	h[156] = (unsigned char)type;
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	unsigned sum = 0;
	for (size_t i = 0; i < TAR_BLOCK; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	if (fwrite(h, 1, TAR_BLOCK, w->f) != TAR_BLOCK)
		return LV_ERR_IO;
	w->off += TAR_BLOCK;
	return LV_OK;
}

static enum lv_status tar_pad(struct tarw *w)
{
	static const unsigned char zero[TAR_BLOCK];
	size_t pad = (size_t)((TAR_BLOCK - w->off % TAR_BLOCK) % TAR_BLOCK);
	if (pad && fwrite(zero, 1, pad, w->f) != pad)
		return LV_ERR_IO;
	w->off += pad;
	return LV_OK;
}

static void manifest_add(struct tarw *w, const char *name, uint64_t size, const unsigned char hash[32])
{
	char hex[65];
	sodium_bin2hex(hex, sizeof hex, hash, 32);
	cJSON *e = cJSON_CreateObject();
	cJSON_AddStringToObject(e, "name", name);
	cJSON_AddNumberToObject(e, "size", (double)size);
	cJSON_AddStringToObject(e, "blake2b", hex);
	cJSON_AddItemToArray(w->files, e);
}

/* Appends the file at @path as @name. */
static enum lv_status tar_add_file(struct tarw *w, const char *name, const char *path, unsigned mode)
{
	enum lv_status st = LV_OK;
	FILE *in = fopen(path, "rb");
	if (!in)
		return errno == ENOENT ? LV_ERR_NOT_FOUND : LV_ERR_IO;
	unsigned char *buf = malloc(COPY_BUF);
	struct stat sb;
	if (!buf || fstat(fileno(in), &sb) != 0) {
		st = buf ? LV_ERR_IO : LV_ERR_NOMEM;
		goto out;
	}
	uint64_t size = (uint64_t)sb.st_size, done = 0;
	if ((st = tar_header(w, name, size, mode, '0')) != LV_OK)
		goto out;
	crypto_generichash_state hs;
	crypto_generichash_init(&hs, NULL, 0, 32);
	while (done < size) {
		size_t want = size - done < COPY_BUF ? (size_t)(size - done) : COPY_BUF;
		size_t got = fread(buf, 1, want, in);
		/* The files copied here are ours alone (staged) or still: a
		 * short read means the file changed under us. */
		if (got != want || fwrite(buf, 1, got, w->f) != got) {
			st = LV_ERR_IO;
			goto out;
		}
		crypto_generichash_update(&hs, buf, got);
		done += got;
	}
	w->off += size;
	unsigned char hash[32];
	crypto_generichash_final(&hs, hash, sizeof hash);
	manifest_add(w, name, size, hash);
	st = tar_pad(w);
out:
	free(buf);
	fclose(in);
	return st;
}

static enum lv_status tar_add_mem(struct tarw *w, const char *name, const char *data, size_t len)
{
	enum lv_status st = tar_header(w, name, len, 0600, '0');
	if (st != LV_OK)
		return st;
	if (len && fwrite(data, 1, len, w->f) != len)
		return LV_ERR_IO;
	w->off += len;
	return tar_pad(w);
}

/* ---- copying ---- */

static void path_join(char *out, size_t n, const char *a, const char *b)
{
	snprintf(out, n, "%s/%s", a, b);
}

static enum lv_status copy_file(const char *src, const char *dst)
{
	enum lv_status st = LV_OK;
	int in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return errno == ENOENT ? LV_ERR_NOT_FOUND : LV_ERR_IO;
	int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	unsigned char *buf = malloc(COPY_BUF);
	if (out < 0 || !buf) {
		st = buf ? LV_ERR_IO : LV_ERR_NOMEM;
		goto out;
	}
	for (;;) {
		ssize_t r = read(in, buf, COPY_BUF);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			st = LV_ERR_IO;
			break;
		}
		if (r == 0)
			break;
		for (ssize_t o = 0; o < r;) {
			ssize_t wr = write(out, buf + o, (size_t)(r - o));
			if (wr < 0 && errno == EINTR)
				continue;
			if (wr <= 0) {
				st = LV_ERR_IO;
				goto out;
			}
			o += wr;
		}
	}
out:
	free(buf);
	if (out >= 0)
		close(out);
	close(in);
	return st;
}

/* What must not change while a vault's two files are copied. */
struct fsig {
	bool have;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	unsigned char head[32]; /* the WAL header: magic, sequence, salts */
};

static void fsig_read(const char *path, bool wal, struct fsig *s)
{
	memset(s, 0, sizeof *s);
	struct stat sb;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &sb) != 0) {
		if (fd >= 0)
			close(fd);
		return;
	}
	s->have = true;
	s->dev = sb.st_dev;
	s->ino = sb.st_ino;
	s->size = sb.st_size;
	s->mtime = sb.st_mtim;
	if (wal && pread(fd, s->head, sizeof s->head, 0) < 0)
		memset(s->head, 0xff, sizeof s->head);
	close(fd);
}

static bool fsig_same(const struct fsig *a, const struct fsig *b)
{
	return a->have == b->have && a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec &&
	       memcmp(a->head, b->head, sizeof a->head) == 0;
}

/* Copies vault @p's files into @stage as @p.db (+ -wal) unchanged during
 * the copy.  LV_ERR_NOT_FOUND: the vault file is gone (erased). */
static enum lv_status vault_copy_stable(const struct lv_node *n, const char *p, const char *stage)
{
	char src[PATH_LEN], srcw[PATH_LEN], dst[PATH_LEN], dstw[PATH_LEN];
	snprintf(src, sizeof src, "%s/vaults/%s.db", n->dir, p);
	snprintf(srcw, sizeof srcw, "%s/vaults/%s.db-wal", n->dir, p);
	snprintf(dst, sizeof dst, "%s/%s.db", stage, p);
	snprintf(dstw, sizeof dstw, "%s/%s.db-wal", stage, p);
	for (int i = 0; i < VAULT_COPY_TRIES; i++) {
		struct fsig d1, w1, d2, w2;
		fsig_read(src, false, &d1);
		fsig_read(srcw, true, &w1);
		if (!d1.have)
			return LV_ERR_NOT_FOUND;
		unlink(dstw);
		enum lv_status st = w1.have ? copy_file(srcw, dstw) : LV_OK;
		if (st == LV_OK)
			st = copy_file(src, dst);
		if (st != LV_OK && st != LV_ERR_NOT_FOUND)
			return st;
		fsig_read(src, false, &d2);
		fsig_read(srcw, true, &w2);
		if (st == LV_OK && fsig_same(&d1, &d2) && fsig_same(&w1, &w2))
			return LV_OK;
		/* Written meanwhile: a vault takes one short transaction per
		 * batch, so waiting a little finds it still. */
		struct timespec ts = {0, (long)(i + 1) * 2 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	return LV_ERR_BUSY;
}

/* Opens the staged copy with its key (WAL recovery happens on the copy),
 * authenticates every page and folds the WAL into the one file. */
static enum lv_status vault_seal_copy(const struct lv_node *n, const char *p, const unsigned char wrapped[WRAPPED_LEN],
				      const char *stage)
{
	char path[PATH_LEN], ad[64];
	snprintf(path, sizeof path, "%s/%s.db", stage, p);
	unsigned char *key = sodium_malloc(KEY_LEN);
	if (!key)
		return LV_ERR_NOMEM;
	sqlite3 *db = NULL;
	vault_wrap_ad(p, ad);
	enum lv_status st = key_unwrap(n->keys->vault_wrap, wrapped, ad, key);
	if (st == LV_OK)
		st = db_open(path, key, false, true, n->vault_page, &db);
	sodium_free(key);
	sqlite3_stmt *s = NULL;
	if (st == LV_OK)
		st = db_status(sqlite3_prepare_v2(db, "PRAGMA quick_check;", -1, &s, NULL));
	if (st == LV_OK) {
		int rc = sqlite3_step(s);
		if (rc != SQLITE_ROW || strcmp((const char *)sqlite3_column_text(s, 0), "ok") != 0)
			st = rc == SQLITE_ROW ? LV_ERR_CRYPTO : db_status(rc);
	}
	sqlite3_finalize(s);
	if (st == LV_OK)
		st = db_exec(db, "PRAGMA wal_checkpoint(TRUNCATE);");
	sqlite3_close(db);
	snprintf(path, sizeof path, "%s/%s.db-wal", stage, p);
	unlink(path); /* empty after the truncating checkpoint */
	return st;
}

/* Copies node.db with the backup API into @dst and reads what the rest of
 * the backup needs from the copy: the learners and the log's size. */
static enum lv_status node_db_copy(const struct lv_node *n, const char *dst, cJSON *learners, uint64_t *audit_size)
{
	char src[PATH_LEN];
	path_join(src, sizeof src, n->dir, "node.db");
	sqlite3 *from = NULL, *to = NULL;
	sqlite3_stmt *s = NULL;
	enum lv_status st = db_open(src, n->keys->node_db, false, false, NODE_DB_PAGE, &from);
	if (st == LV_OK)
		st = db_exec(from, "PRAGMA query_only = ON;");
	if (st == LV_OK)
		st = db_open(dst, n->keys->node_db, true, false, NODE_DB_PAGE, &to);
	if (st != LV_OK)
		goto out;
	sqlite3_backup *b = sqlite3_backup_init(to, "main", from, "main");
	if (!b) {
		st = db_status(sqlite3_errcode(to));
		goto out;
	}
	int rc;
	/* One step of every page: one read transaction, so one instant. */
	for (int i = 0; (rc = sqlite3_backup_step(b, -1)) == SQLITE_BUSY || rc == SQLITE_LOCKED; i++) {
		if (i > 500)
			break;
		sqlite3_sleep(10);
	}
	int frc = sqlite3_backup_finish(b);
	st = db_status(rc == SQLITE_DONE ? frc : rc);
	if (st == LV_OK)
		st = db_status(sqlite3_prepare_v2(to, "SELECT pseudonym, wrapped_key FROM learners ORDER BY pseudonym",
						  -1, &s, NULL));
	while (st == LV_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (sqlite3_column_bytes(s, 1) != WRAPPED_LEN) {
			st = LV_ERR_CRYPTO;
			break;
		}
		char hex[2 * WRAPPED_LEN + 1];
		sodium_bin2hex(hex, sizeof hex, sqlite3_column_blob(s, 1), WRAPPED_LEN);
		cJSON *e = cJSON_CreateArray();
		cJSON_AddItemToArray(e, cJSON_CreateString((const char *)sqlite3_column_text(s, 0)));
		cJSON_AddItemToArray(e, cJSON_CreateString(hex));
		cJSON_AddItemToArray(learners, e);
	}
	if (st == LV_OK && rc != SQLITE_DONE)
		st = db_status(rc);
	sqlite3_finalize(s);
	s = NULL;
	if (st == LV_OK)
		st = db_status(sqlite3_prepare_v2(to, "SELECT count(*) FROM audit_log", -1, &s, NULL));
	if (st == LV_OK && sqlite3_step(s) == SQLITE_ROW)
		*audit_size = (uint64_t)sqlite3_column_int64(s, 0);
	sqlite3_finalize(s); /* its read would keep the checkpoint from truncating */
	s = NULL;
	if (st == LV_OK)
		st = db_exec(to, "PRAGMA wal_checkpoint(TRUNCATE);");
out:
	sqlite3_finalize(s);
	sqlite3_close(to);
	sqlite3_close(from);
	return st;
}

static void stage_clear(const char *stage)
{
	DIR *d = opendir(stage);
	if (!d)
		return;
	struct dirent *e;
	char p[PATH_LEN];
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		path_join(p, sizeof p, stage, e->d_name);
		unlink(p);
	}
	closedir(d);
}

/* Adds one learner's vault (listed in the node.db copy) to the archive. */
static enum lv_status backup_vault(struct tarw *w, const struct lv_node *n, const cJSON *learner, const char *stage,
				   char err[LV_ERR_LEN])
{
	const char *p = cJSON_GetArrayItem(learner, 0)->valuestring;
	const char *hex = cJSON_GetArrayItem(learner, 1)->valuestring;
	unsigned char wrapped[WRAPPED_LEN];
	size_t wl = 0;
	if (!util_pseudonym_valid(p) || sodium_hex2bin(wrapped, sizeof wrapped, hex, strlen(hex), NULL, &wl, NULL) != 0 ||
	    wl != WRAPPED_LEN)
		return LV_ERR_INTERNAL;
	enum lv_status st = vault_copy_stable(n, p, stage);
	if (st == LV_ERR_BUSY)
		snprintf(err, LV_ERR_LEN, "vault %s kept changing during 50 copies", p);
	if (st == LV_OK && (st = vault_seal_copy(n, p, wrapped, stage)) != LV_OK)
		snprintf(err, LV_ERR_LEN, "the copy of vault %s does not check: %s", p, lv_status_str(st));
	if (st != LV_OK)
		return st;
	char name[128], path[PATH_LEN];
	snprintf(name, sizeof name, "vaults/%s.db", p);
	snprintf(path, sizeof path, "%s/%s.db", stage, p);
	st = tar_add_file(w, name, path, 0600);
	unlink(path);
	return st;
}

/* One attempt: writes the whole archive into @w.  LV_ERR_NOT_FOUND when a
 * learner of the node.db copy was erased before its vault was copied. */
static enum lv_status backup_once(struct tarw *w, struct lv_node *n, const struct lv_backup_options *opt,
				  const char *stage, struct lv_backup_report *rep, char err[LV_ERR_LEN])
{
	enum lv_status st;
	char path[PATH_LEN], dbcopy[PATH_LEN];
	cJSON *learners = cJSON_CreateArray(), *manifest = NULL;
	char *text = NULL;
	path_join(dbcopy, sizeof dbcopy, stage, "node.db");
	if ((st = node_db_copy(n, dbcopy, learners, &rep->audit_size)) != LV_OK)
		FAIL(st, "cannot copy node.db: %s", lv_status_str(st));
	path_join(path, sizeof path, n->dir, "node.json");
	if ((st = tar_add_file(w, "node.json", path, 0644)) != LV_OK)
		FAIL(st, "cannot read node.json: %s", lv_status_str(st));
	path_join(path, sizeof path, n->dir, "node.key");
	rep->passphrase = access(path, F_OK) != 0;
	if (opt->include_key && !rep->passphrase) {
		if ((st = tar_add_file(w, "node.key", path, 0600)) != LV_OK)
			FAIL(st, "cannot read node.key: %s", lv_status_str(st));
		rep->has_key = true;
	}
	if ((st = tar_add_file(w, "node.db", dbcopy, 0600)) != LV_OK)
		FAIL(st, "cannot archive node.db: %s", lv_status_str(st));
	unlink(dbcopy);
	if ((st = tar_header(w, "vaults/", 0, 0700, '5')) != LV_OK)
		FAIL(st, "cannot write the archive: %s", lv_status_str(st));
	const cJSON *l;
	cJSON_ArrayForEach(l, learners) {
		if ((st = backup_vault(w, n, l, stage, err)) == LV_ERR_NOT_FOUND)
			goto out; /* erased meanwhile: the caller starts again */
		if (st != LV_OK)
			goto out;
		rep->vaults++;
	}
	manifest = cJSON_CreateObject();
	char now[UTIL_TIME_LEN];
	util_time_format(util_now_ms(), now);
	cJSON_AddStringToObject(manifest, "format", "learnvault-backup");
	cJSON_AddNumberToObject(manifest, "version", 1);
	cJSON_AddStringToObject(manifest, "created", now);
	cJSON_AddNumberToObject(manifest, "audit_size", (double)rep->audit_size);
	cJSON_AddNumberToObject(manifest, "vaults", (double)rep->vaults);
	cJSON_AddBoolToObject(manifest, "node_key", rep->has_key);
	cJSON_AddItemReferenceToObject(manifest, "files", w->files);
	text = cJSON_PrintUnformatted(manifest);
	if (!text)
		FAIL(LV_ERR_NOMEM, "out of memory");
	if ((st = tar_add_mem(w, "backup.json", text, strlen(text))) != LV_OK)
		FAIL(st, "cannot write the archive: %s", lv_status_str(st));
	static const unsigned char end[2 * TAR_BLOCK];
	if (fwrite(end, 1, sizeof end, w->f) != sizeof end)
		FAIL(LV_ERR_IO, "cannot write the archive");
	w->off += sizeof end;
out:
	free(text);
	cJSON_Delete(manifest);
	cJSON_Delete(learners);
	return st;
}

static enum lv_status sync_dir_of(const char *path)
{
	char d[PATH_LEN];
	snprintf(d, sizeof d, "%s", path);
	char *slash = strrchr(d, '/');
	if (!slash)
		snprintf(d, sizeof d, ".");
	else if (slash == d)
		d[1] = '\0';
	else
		*slash = '\0';
	int fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return LV_ERR_IO;
	int rc = fsync(fd);
	close(fd);
	return rc == 0 ? LV_OK : LV_ERR_IO;
}

enum lv_status lv_backup_create(struct lv_node *n, const char *out_path, const struct lv_backup_options *opt,
				struct lv_backup_report *rep, char err[LV_ERR_LEN])
{
	static const struct lv_backup_options none = {0};
	struct lv_backup_report r;
	enum lv_status st = LV_ERR_IO;
	char tmp[PATH_LEN], stage[PATH_LEN];
	int fd = -1;
	struct tarw w = {0};
	err[0] = '\0';
	stage[0] = '\0';
	if (rep)
		memset(rep, 0, sizeof *rep);
	if (!opt)
		opt = &none;
	if (snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", out_path) >= (int)sizeof tmp ||
	    snprintf(stage, sizeof stage, "%s.stage.XXXXXX", out_path) >= (int)sizeof stage)
		FAIL(LV_ERR_INVALID, "the output path is too long");
	if (access(out_path, F_OK) == 0)
		FAIL(LV_ERR_EXISTS, "%s exists; not overwritten", out_path);
	if (!mkdtemp(stage)) {
		stage[0] = '\0';
		FAIL(LV_ERR_IO, "cannot make a staging directory beside %s", out_path);
	}
	if ((fd = mkstemp(tmp)) < 0)
		FAIL(LV_ERR_IO, "cannot create a file beside %s", out_path);
	for (int attempt = 0;; attempt++) {
		memset(&r, 0, sizeof r);
		if (w.f)
			fclose(w.f);
		cJSON_Delete(w.files);
		w = (struct tarw){.f = fdopen(dup(fd), "wb"), .files = cJSON_CreateArray()};
		if (!w.f || ftruncate(fd, 0) != 0)
			FAIL(LV_ERR_IO, "cannot write %s", tmp);
		stage_clear(stage);
		st = backup_once(&w, n, opt, stage, &r, err);
		if (st != LV_ERR_NOT_FOUND || attempt + 1 >= BACKUP_TRIES)
			break;
	}
	if (st == LV_ERR_NOT_FOUND)
		snprintf(err, LV_ERR_LEN, "learners kept being erased during %d attempts", BACKUP_TRIES);
	if (st != LV_OK)
		goto out;
	if (fflush(w.f) != 0 || fsync(fileno(w.f)) != 0)
		FAIL(LV_ERR_IO, "cannot write %s", tmp);
	if (rename(tmp, out_path) != 0)
		FAIL(LV_ERR_IO, "cannot rename the archive to %s", out_path);
	tmp[0] = '\0';
	if ((st = sync_dir_of(out_path)) != LV_OK)
		FAIL(st, "cannot sync the directory of %s", out_path);
	r.bytes = w.off;
	if (rep)
		*rep = r;
out:
	if (w.f)
		fclose(w.f);
	cJSON_Delete(w.files);
	if (fd >= 0)
		close(fd);
	if (tmp[0] && fd >= 0)
		unlink(tmp);
	if (stage[0]) {
		stage_clear(stage);
		rmdir(stage);
	}
	return st;
}
