/* Restore of a backup archive (backup.c wrote it; docs/backup.md).
 *
 * Only archives of our own layout are accepted: every member name is one
 * of a fixed list (node.json, node.key, node.db, vaults/<pseudonym>.db,
 * backup.json), so no name can reach outside the target directory, and
 * every member must match backup.json's size and BLAKE2b-256.  On any
 * failure the target directory is emptied again. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "learnvault/backup.h"
#include "store.h"

#define TAR_BLOCK 512
#define COPY_BUF (64u << 10)
#define MANIFEST_MAX (256u << 20)
#define PATH_LEN 4096

#define FAIL(st_, ...)                                                                                       \
	do {                                                                                                 \
		snprintf(err, LV_ERR_LEN, __VA_ARGS__);                                                      \
		st = (st_);                                                                                  \
		goto out;                                                                                    \
	} while (0)

/* The one member layout a backup has; true for a name restore writes. */
static bool member_name_ok(const char *name)
{
	static const char *const top[] = {"node.json", "node.key", "node.db", "backup.json"};
	for (size_t i = 0; i < sizeof top / sizeof top[0]; i++)
		if (strcmp(name, top[i]) == 0)
			return true;
	char p[LV_PSEUDONYM_LEN];
	size_t plen = LV_PSEUDONYM_LEN - 1;
	if (strncmp(name, "vaults/", 7) != 0 || strlen(name) != 7 + plen + 3 || strcmp(name + 7 + plen, ".db") != 0)
		return false;
	memcpy(p, name + 7, plen);
	p[plen] = '\0';
	return util_pseudonym_valid(p);
}

static bool parse_octal(const unsigned char *f, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;
	while (i < len && f[i] == ' ')
		i++;
	size_t start = i;
	for (; i < len && f[i] >= '0' && f[i] <= '7'; i++) {
		if (v >> 60)
			return false;
		v = v * 8 + (uint64_t)(f[i] - '0');
	}
	if (i == start || (i < len && f[i] != '\0' && f[i] != ' '))
		return false;
	*out = v;
	return true;
}

static bool header_ok(const unsigned char h[TAR_BLOCK])
{
	uint64_t want;
	if (!parse_octal(h + 148, 8, &want) || memcmp(h + 257, "ustar", 5) != 0)
		return false;
	uint64_t sum = 0;
	for (size_t i = 0; i < TAR_BLOCK; i++)
		sum += (i >= 148 && i < 156) ? ' ' : h[i];
	return sum == want;
}

/* Empties @dir (as restore made it: files, and vaults/ with files). */
static void dir_clear(const char *dir)
{
	char v[PATH_LEN], p[PATH_LEN + 300];
	snprintf(v, sizeof v, "%s/vaults", dir);
	const char *dirs[] = {v, dir};
	for (size_t i = 0; i < 2; i++) {
		DIR *d = opendir(dirs[i]);
		if (!d)
			continue;
		struct dirent *e;
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			snprintf(p, sizeof p, "%s/%s", dirs[i], e->d_name);
			if (unlink(p) != 0)
				rmdir(p); /* vaults/, emptied first */
		}
		closedir(d);
	}
	rmdir(v);
}

/* LV_OK when @dir is missing (made 0700) or an empty directory. */
static enum lv_status dir_prepare(const char *dir)
{
	if (mkdir(dir, 0700) == 0)
		return LV_OK;
	if (errno != EEXIST)
		return LV_ERR_IO;
	DIR *d = opendir(dir);
	if (!d)
		return LV_ERR_IO;
	struct dirent *e;
	bool empty = true;
	while (empty && (e = readdir(d)) != NULL)
		empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
	closedir(d);
	return empty ? LV_OK : LV_ERR_EXISTS;
}

/* Reads @size bytes of the member into @out_fd (or into *@mem when
 * @out_fd < 0), hashing them, then skips its padding. */
static enum lv_status member_read(FILE *in, uint64_t size, int out_fd, char **mem, unsigned char hash[32])
{
	enum lv_status st = LV_OK;
	unsigned char *buf = malloc(COPY_BUF);
	char *m = NULL;
	if (!buf)
		return LV_ERR_NOMEM;
	if (out_fd < 0) {
		if (size > MANIFEST_MAX || !(m = malloc((size_t)size + 1))) {
			free(buf);
			return size > MANIFEST_MAX ? LV_ERR_TOO_LARGE : LV_ERR_NOMEM;
		}
	}
	crypto_generichash_state hs;
	crypto_generichash_init(&hs, NULL, 0, 32);
	for (uint64_t done = 0; done < size && st == LV_OK;) {
		size_t want = size - done < COPY_BUF ? (size_t)(size - done) : COPY_BUF;
		if (fread(buf, 1, want, in) != want) {
			st = LV_ERR_INVALID; /* truncated archive */
			break;
		}
		crypto_generichash_update(&hs, buf, want);
		if (m)
			memcpy(m + done, buf, want);
		else if (write(out_fd, buf, want) != (ssize_t)want)
			st = LV_ERR_IO;
		done += want;
	}
	crypto_generichash_final(&hs, hash, 32);
	size_t pad = (size_t)((TAR_BLOCK - size % TAR_BLOCK) % TAR_BLOCK);
	if (st == LV_OK && pad && fread(buf, 1, pad, in) != pad)
		st = LV_ERR_INVALID;
	free(buf);
	if (st == LV_OK && m) {
		m[size] = '\0';
		*mem = m;
	} else {
		free(m);
	}
	return st;
}

/* Writes member @name into @dir; records its size and hash in @seen. */
static enum lv_status member_extract(FILE *in, const char *dir, const char *name, uint64_t size, cJSON *seen)
{
	char p[PATH_LEN + 128];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, strcmp(name, "node.json") == 0 ? 0644 : 0600);
	if (fd < 0)
		return errno == EEXIST ? LV_ERR_INVALID : LV_ERR_IO; /* a member twice */
	unsigned char hash[32];
	enum lv_status st = member_read(in, size, fd, NULL, hash);
	if (st == LV_OK && fsync(fd) != 0)
		st = LV_ERR_IO;
	close(fd);
	if (st == LV_OK) {
		char hex[65];
		sodium_bin2hex(hex, sizeof hex, hash, sizeof hash);
		cJSON *e = cJSON_CreateObject();
		cJSON_AddNumberToObject(e, "size", (double)size);
		cJSON_AddStringToObject(e, "blake2b", hex);
		cJSON_AddItemToObject(seen, name, e);
	}
	return st;
}

/* Every file in the manifest was extracted with its size and hash, and
 * nothing else was. */
static enum lv_status manifest_check(const char *text, cJSON *seen, struct lv_backup_report *rep, char err[LV_ERR_LEN])
{
	enum lv_status st = LV_OK;
	cJSON *m = cJSON_Parse(text);
	const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(m, "format");
	const cJSON *files = cJSON_GetObjectItemCaseSensitive(m, "files");
	const cJSON *as = cJSON_GetObjectItemCaseSensitive(m, "audit_size");
	if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, "learnvault-backup") != 0 || !cJSON_IsArray(files) ||
	    !cJSON_IsNumber(as))
		FAIL(LV_ERR_INVALID, "backup.json is not a learnvault backup manifest");
	rep->audit_size = (uint64_t)as->valuedouble;
	int listed = 0;
	const cJSON *f;
	cJSON_ArrayForEach(f, files) {
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(f, "name");
		const cJSON *size = cJSON_GetObjectItemCaseSensitive(f, "size");
		const cJSON *h = cJSON_GetObjectItemCaseSensitive(f, "blake2b");
		const cJSON *got = cJSON_IsString(name) ? cJSON_GetObjectItemCaseSensitive(seen, name->valuestring) : NULL;
		if (!got || !cJSON_IsNumber(size) || !cJSON_IsString(h) ||
		    cJSON_GetObjectItemCaseSensitive(got, "size")->valuedouble != size->valuedouble ||
		    strcmp(cJSON_GetObjectItemCaseSensitive(got, "blake2b")->valuestring, h->valuestring) != 0)
			FAIL(LV_ERR_CRYPTO, "the archive's %s does not match its manifest (damaged or altered)",
			     cJSON_IsString(name) ? name->valuestring : "file list");
		listed++;
		if (strncmp(name->valuestring, "vaults/", 7) == 0)
			rep->vaults++;
		if (strcmp(name->valuestring, "node.key") == 0)
			rep->has_key = true;
	}
	if (listed != cJSON_GetArraySize(seen))
		FAIL(LV_ERR_CRYPTO, "the archive holds files its manifest does not list");
	if (!cJSON_GetObjectItemCaseSensitive(seen, "node.db") || !cJSON_GetObjectItemCaseSensitive(seen, "node.json"))
		FAIL(LV_ERR_INVALID, "the archive has no node.db or node.json");
out:
	cJSON_Delete(m);
	return st;
}

/* Reads members until the end blocks; backup.json must be the last. */
static enum lv_status archive_unpack(FILE *in, const char *dir, cJSON *seen, char **manifest, char err[LV_ERR_LEN])
{
	enum lv_status st = LV_OK;
	unsigned char h[TAR_BLOCK];
	static const unsigned char zero[TAR_BLOCK];
	for (;;) {
		if (fread(h, 1, TAR_BLOCK, in) != TAR_BLOCK)
			FAIL(LV_ERR_INVALID, "the archive is truncated");
		if (memcmp(h, zero, TAR_BLOCK) == 0)
			break;
		char name[101];
		memcpy(name, h, 100);
		name[100] = '\0';
		uint64_t size;
		if (!header_ok(h) || !parse_octal(h + 124, 12, &size))
			FAIL(LV_ERR_INVALID, "not a learnvault backup (a tar header does not check)");
		if (*manifest)
			FAIL(LV_ERR_INVALID, "a member follows backup.json");
		if (h[156] == '5' && strcmp(name, "vaults/") == 0 && size == 0)
			continue;
		if (h[156] != '0' || !member_name_ok(name))
			FAIL(LV_ERR_INVALID, "not a learnvault backup (member \"%.60s\")", name);
		if (strcmp(name, "backup.json") == 0) {
			unsigned char hash[32];
			st = member_read(in, size, -1, manifest, hash);
		} else {
			st = member_extract(in, dir, name, size, seen);
		}
		if (st != LV_OK)
			FAIL(st, "cannot restore %s: %s", name, lv_status_str(st));
	}
	if (!*manifest)
		FAIL(LV_ERR_INVALID, "the archive has no backup.json (an unfinished backup?)");
out:
	return st;
}

enum lv_status lv_backup_restore(const char *archive, const char *dir, const char *key_file,
				 struct lv_backup_report *rep, char err[LV_ERR_LEN])
{
	struct lv_backup_report r = {0};
	enum lv_status st;
	bool made = false;
	FILE *in = NULL;
	char *manifest = NULL;
	cJSON *seen = cJSON_CreateObject();
	char p[PATH_LEN];
	err[0] = '\0';
	if (rep)
		memset(rep, 0, sizeof *rep);
	if (!(in = fopen(archive, "rb")))
		FAIL(LV_ERR_NOT_FOUND, "cannot open %s", archive);
	if ((st = dir_prepare(dir)) != LV_OK)
		FAIL(st, st == LV_ERR_EXISTS ? "%s is not empty: restore only into an empty directory" : "cannot make %s",
		     dir);
	made = true;
	snprintf(p, sizeof p, "%s/vaults", dir);
	if (mkdir(p, 0700) != 0)
		FAIL(LV_ERR_IO, "cannot make %.200s/vaults", dir);
	if ((st = archive_unpack(in, dir, seen, &manifest, err)) != LV_OK)
		goto out;
	if ((st = manifest_check(manifest, seen, &r, err)) != LV_OK)
		goto out;
	snprintf(p, sizeof p, "%s/node.key", dir);
	if (key_file && !r.has_key) {
		char *key = NULL;
		size_t len = 0;
		st = util_read_file(key_file, 4096, &key, &len);
		if (st == LV_OK && len != KEY_LEN)
			st = LV_ERR_INVALID;
		if (st == LV_OK)
			st = util_write_file(p, key, len, 0600, true);
		if (key) {
			sodium_memzero(key, len);
			free(key);
		}
		if (st != LV_OK)
			FAIL(st, "cannot install the key file %s: %s", key_file, lv_status_str(st));
	}
	r.passphrase = access(p, F_OK) != 0;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		if (fsync(dfd) != 0) { /* the files themselves were synced */ }
		close(dfd);
	}
	if (rep)
		*rep = r;
out:
	if (st != LV_OK && made)
		dir_clear(dir);
	if (in)
		fclose(in);
	free(manifest);
	cJSON_Delete(seen);
	return st;
}
