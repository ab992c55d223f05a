#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "learnvault/util.h"

enum lv_status util_read_file(const char *path, size_t max, char **data, size_t *len)
{
	enum lv_status st = LV_ERR_IO;
	struct buf b;
	buf_init(&b, max);
	*data = NULL;
	if (len)
		*len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		return errno == ENOENT ? LV_ERR_NOT_FOUND : LV_ERR_IO;
	}
	char chunk[65536];
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof chunk);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			st = LV_ERR_IO;
			goto out;
		}
		if (n == 0)
			break;
		st = buf_append(&b, chunk, (size_t)n);
		if (st != LV_OK)
			goto out;
	}
	if (len)
		*len = b.len;
	*data = buf_steal(&b);
	st = LV_OK;
out:
	close(fd);
	buf_free(&b);
	return st;
}

enum lv_status util_write_file(const char *path, const void *data, size_t len,
			       unsigned mode, bool exclusive)
{
	char tmp[4096];
	if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp)
		return LV_ERR_INVALID;
	if (exclusive && access(path, F_OK) == 0)
		return LV_ERR_EXISTS;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, (mode_t)mode);
	if (fd < 0)
		return LV_ERR_IO;
	const char *p = data;
	size_t left = len;
	while (left) {
		ssize_t n = write(fd, p, left);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		p += n;
		left -= (size_t)n;
	}
	if (fchmod(fd, (mode_t)mode) != 0 || fsync(fd) != 0)
		goto fail;
	close(fd);
	if (exclusive) {
		/* link() fails if the target exists: no window for a race. */
		if (link(tmp, path) != 0) {
			int e = errno;
			unlink(tmp);
			return e == EEXIST ? LV_ERR_EXISTS : LV_ERR_IO;
		}
		unlink(tmp);
	} else if (rename(tmp, path) != 0) {
		unlink(tmp);
		return LV_ERR_IO;
	}
	return LV_OK;
fail:
	close(fd);
	unlink(tmp);
	return LV_ERR_IO;
}
