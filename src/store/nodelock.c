/* Process locks of a data directory (flock, so they die with the process):
 *
 *   node.lock    every process with the node open holds it shared; key
 *                rotation holds it exclusive, and so does an opener that
 *                finds itself alone (to finish or clean up what a crashed
 *                process left) before it steps down to shared.
 *   vaults.lock  exclusive to the one process that owns the vaults: the
 *                server, or an offline command that reads or writes
 *                vaults.  The holder writes who it is into the file, so a
 *                refused process can name it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "store.h"

static int open_lockfile(const char *dir, const char *name)
{
	char p[4096];
	if (snprintf(p, sizeof p, "%s/%s", dir, name) >= (int)sizeof p)
		return -1;
	return open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
}

static bool try_flock(int fd, int op)
{
	for (;;) {
		if (flock(fd, op | LOCK_NB) == 0)
			return true;
		if (errno != EINTR)
			return false;
	}
}

enum lv_status nodelock_open(const char *dir, bool exclusive, int *fd, bool *alone)
{
	*fd = -1;
	*alone = false;
	int f = open_lockfile(dir, "node.lock");
	if (f < 0)
		return LV_ERR_IO;
	if (try_flock(f, LOCK_EX)) {
		*fd = f;
		*alone = true;
		return LV_OK;
	}
	if (exclusive) {
		close(f);
		return LV_ERR_IN_USE;
	}
	/* Someone holds it exclusive: a rotation (long) or an opener cleaning
	 * up (short).  Wait a little for the short case. */
	for (int i = 0; i < 100; i++) {
		if (try_flock(f, LOCK_SH)) {
			*fd = f;
			return LV_OK;
		}
		struct timespec ts = {0, 50 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	close(f);
	return LV_ERR_IN_USE;
}

void nodelock_share(int fd)
{
	/* Not atomic (flock drops, then takes): a rotation may slip in, and
	 * then this blocks until it ends, which is what it should do. */
	while (flock(fd, LOCK_SH) != 0 && errno == EINTR) {
	}
}

enum lv_status vaultlock_take(const char *dir, const char *holder, int *fd)
{
	*fd = -1;
	int f = open_lockfile(dir, "vaults.lock");
	if (f < 0)
		return LV_ERR_IO;
	if (!try_flock(f, LOCK_EX)) {
		close(f);
		return LV_ERR_IN_USE;
	}
	char text[LV_NODE_HOLDER_LEN];
	int len = snprintf(text, sizeof text, "pid %ld: %s\n", (long)getpid(), holder ? holder : "learnvault");
	if (len >= (int)sizeof text)
		len = (int)sizeof text - 1;
	if (ftruncate(f, 0) != 0 || pwrite(f, text, (size_t)len, 0) != len) {
		/* The lock holds either way; only the description is missing. */
	}
	*fd = f;
	return LV_OK;
}

void vaultlock_release(int fd)
{
	/* Say nobody is there any more before letting go (a crash leaves the
	 * text; the lock itself dies with the process). */
	if (fd >= 0 && ftruncate(fd, 0) != 0) { /* the next owner rewrites it */ }
	lockfile_release(fd);
}

void lockfile_release(int fd)
{
	if (fd >= 0)
		close(fd); /* closing the last descriptor releases the flock */
}

enum lv_status lv_node_holder(const char *dir, char out[LV_NODE_HOLDER_LEN])
{
	out[0] = '\0';
	int f = open_lockfile(dir, "vaults.lock");
	if (f < 0)
		return LV_ERR_NOT_FOUND;
	/* Read only: probing the lock could make a real owner's start fail. */
	ssize_t n = pread(f, out, LV_NODE_HOLDER_LEN - 1, 0);
	close(f);
	out[n > 0 ? n : 0] = '\0';
	char *nl = strchr(out, '\n');
	if (nl)
		*nl = '\0';
	return out[0] ? LV_OK : LV_ERR_NOT_FOUND;
}
