/* Per-request deadline and minimum body rate (see limits.h). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include <unistd.h>

#include "limits.h"

/* How often the reaper looks: a cut comes at most this late. */
#define REAP_EVERY_MS 200

/* Lingering close (see limits_linger): at most this many sockets at once,
 * each for at most LINGER_S, draining at most LINGER_BYTES. */
#define LINGER_MAX 64
#define LINGER_S 2.0
#define LINGER_BYTES ((size_t)4 << 20)

struct lingerer {
	int fd;                   /* -1: free */
	double until;
	size_t drained;
};

struct lconn {
	struct lconn *prev, *next;
	struct limits *owner;
	MHD_socket fd;
	double start;             /* when this request began (monotonic s) */
	double body_start;        /* first body byte, 0: none yet */
	uint64_t body_bytes;
	bool serving;
	bool cut;
	bool linger;
};

struct limits {
	struct limits_config cfg;
	pthread_mutex_t mu;       /* guards the list and every entry */
	pthread_cond_t wake;
	struct lconn *head;
	bool stop;
	uint64_t cut_count;
	struct lingerer lingering[LINGER_MAX];
	pthread_t reaper;
};

static double mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Lock held.  Why this connection must go, or NULL. */
static const char *verdict_locked(const struct limits *l, const struct lconn *c, double now)
{
	if (c->serving || c->cut)
		return NULL;
	if ((now - c->start) * 1000.0 > (double)l->cfg.deadline_ms)
		return "deadline";
	if (l->cfg.min_rate && c->body_start > 0) {
		double took = now - c->body_start;
		if (took * 1000.0 > (double)l->cfg.grace_ms && (double)c->body_bytes < took * l->cfg.min_rate)
			return "rate";
	}
	return NULL;
}

/* Lock held.  Reads and drops what the peers of lingering sockets still
 * send; closes each at its end, its time or its byte allowance. */
static void drain_locked(struct limits *l, double now)
{
	static char sink[65536];
	for (size_t i = 0; i < LINGER_MAX; i++) {
		struct lingerer *g = &l->lingering[i];
		if (g->fd < 0)
			continue;
		bool done = now > g->until;
		while (!done) {
			ssize_t k = recv(g->fd, sink, sizeof sink, MSG_DONTWAIT);
			if (k > 0) {
				g->drained += (size_t)k;
				done = g->drained > LINGER_BYTES;
			} else {
				done = k == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
				break;
			}
		}
		if (done) {
			close(g->fd);
			g->fd = -1;
		}
	}
}

/* Lock held.  Keeps the socket of a closing connection (a dup: MHD closes
 * its own descriptor) to drain it; false when every slot is taken. */
static bool linger_locked(struct limits *l, int fd)
{
	for (size_t i = 0; i < LINGER_MAX; i++) {
		struct lingerer *g = &l->lingering[i];
		if (g->fd >= 0)
			continue;
		g->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		if (g->fd < 0)
			return false;
		g->until = mono_s() + LINGER_S;
		g->drained = 0;
		return true;
	}
	return false;
}

static void *reaper_main(void *arg)
{
	struct limits *l = arg;
	pthread_mutex_lock(&l->mu);
	while (!l->stop) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += REAP_EVERY_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&l->wake, &l->mu, &until);
		double now = mono_s();
		drain_locked(l, now);
		for (struct lconn *c = l->head; c && !l->stop; c = c->next) {
			if (!verdict_locked(l, c, now))
				continue;
			/* The fd is still open: MHD reports CLOSED (which unlinks
			 * the entry under this lock) before it closes the socket. */
			shutdown(c->fd, SHUT_RDWR);
			c->cut = true;
			l->cut_count++;
		}
	}
	pthread_mutex_unlock(&l->mu);
	return NULL;
}

enum lv_status limits_new(const struct limits_config *cfg, struct limits **out)
{
	*out = NULL;
	if (!cfg || !cfg->deadline_ms)
		return LV_ERR_INVALID;
	struct limits *l = calloc(1, sizeof *l);
	if (!l)
		return LV_ERR_NOMEM;
	l->cfg = *cfg;
	for (size_t i = 0; i < LINGER_MAX; i++)
		l->lingering[i].fd = -1;
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->wake, NULL);
	if (pthread_create(&l->reaper, NULL, reaper_main, l) != 0) {
		pthread_cond_destroy(&l->wake);
		pthread_mutex_destroy(&l->mu);
		free(l);
		return LV_ERR_NOMEM;
	}
	*out = l;
	return LV_OK;
}

void limits_free(struct limits *l)
{
	if (!l)
		return;
	pthread_mutex_lock(&l->mu);
	l->stop = true;
	pthread_cond_signal(&l->wake);
	pthread_mutex_unlock(&l->mu);
	pthread_join(l->reaper, NULL);
	/* MHD_stop_daemon reported every connection CLOSED; free any left
	 * anyway so a daemon that failed to start leaks nothing. */
	while (l->head) {
		struct lconn *c = l->head;
		l->head = c->next;
		free(c);
	}
	for (size_t i = 0; i < LINGER_MAX; i++)
		if (l->lingering[i].fd >= 0)
			close(l->lingering[i].fd);
	pthread_cond_destroy(&l->wake);
	pthread_mutex_destroy(&l->mu);
	free(l);
}

void limits_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
		   enum MHD_ConnectionNotificationCode code)
{
	struct limits *l = cls;
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *fi = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		struct lconn *c = fi ? calloc(1, sizeof *c) : NULL;
		*socket_context = c;
		if (!c)
			return;   /* untracked: MHD's idle timeout still applies */
		c->owner = l;
		c->fd = fi->connect_fd;
		c->start = mono_s();
		pthread_mutex_lock(&l->mu);
		c->next = l->head;
		if (l->head)
			l->head->prev = c;
		l->head = c;
		pthread_mutex_unlock(&l->mu);
		return;
	}
	struct lconn *c = *socket_context;
	*socket_context = NULL;
	if (!c)
		return;
	pthread_mutex_lock(&l->mu);
	/* The reply went out and MHD shut down its sending side; closing
	 * now with the client's bytes unread would reset the connection and
	 * could destroy the reply before the client reads it. */
	if (c->linger && !l->stop)
		linger_locked(l, c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		l->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	pthread_mutex_unlock(&l->mu);
	free(c);
}

static struct lconn *lconn_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *si = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return si ? si->socket_context : NULL;
}

void limits_serving(struct MHD_Connection *conn)
{
	struct lconn *c = lconn_of(conn);
	if (!c)
		return;
	pthread_mutex_lock(&c->owner->mu);
	c->serving = true;
	pthread_mutex_unlock(&c->owner->mu);
}

void limits_request_done(struct MHD_Connection *conn)
{
	struct lconn *c = lconn_of(conn);
	if (!c)
		return;
	pthread_mutex_lock(&c->owner->mu);
	c->serving = false;
	c->start = mono_s();
	c->body_start = 0;
	c->body_bytes = 0;
	pthread_mutex_unlock(&c->owner->mu);
}

void limits_linger(struct MHD_Connection *conn)
{
	struct lconn *c = lconn_of(conn);
	if (!c)
		return;
	pthread_mutex_lock(&c->owner->mu);
	c->linger = true;
	pthread_mutex_unlock(&c->owner->mu);
}

void limits_body_bytes(struct MHD_Connection *conn, size_t n)
{
	struct lconn *c = lconn_of(conn);
	if (!c)
		return;
	pthread_mutex_lock(&c->owner->mu);
	if (c->body_start <= 0)
		c->body_start = mono_s();
	c->body_bytes += n;
	pthread_mutex_unlock(&c->owner->mu);
}

bool limits_past_deadline(struct MHD_Connection *conn)
{
	struct lconn *c = lconn_of(conn);
	if (!c)
		return false;
	pthread_mutex_lock(&c->owner->mu);
	bool past = verdict_locked(c->owner, c, mono_s()) != NULL;
	pthread_mutex_unlock(&c->owner->mu);
	return past;
}

uint64_t limits_cut_count(const struct limits *l)
{
	struct limits *m = (struct limits *)l;
	pthread_mutex_lock(&m->mu);
	uint64_t n = m->cut_count;
	pthread_mutex_unlock(&m->mu);
	return n;
}
