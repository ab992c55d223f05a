/* The server against hostile clients, over loopback with raw sockets (so
 * the test controls every byte and its timing): the per-address
 * connection cap keeps other clients served while one address holds
 * many idle and trickling connections; a request trickled in is cut off
 * at its deadline, a body below the minimum rate after the grace period;
 * an endless chunked upload gets 413 quickly; failed authentication is
 * throttled per address and per credential id (429 + Retry-After),
 * logged without the secret and counted in /admin/status, while a valid
 * credential from another address is unaffected; 405 and 501 for unknown
 * methods.  Other clients come from other loopback addresses (127.0.0.2,
 * ...: all of 127/8 is loopback on Linux).  Each test runs in its own
 * process (CK_FORK) on a fresh node, bounded in connections and time. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "harness.h"
#include "learnvault/node.h"
#include "learnvault/vault.h"
#include "learnvault/server.h"

static struct {
	char base[512];
	char dir[600];
	struct lv_node *node;
	struct lv_server *srv;
	uint16_t port;
	char key[LV_CRED_ID_LEN];      /* a provider (Basic) */
	char *secret;
	char admin[LV_CRED_ID_LEN];    /* an admin (Bearer) */
	char *admin_secret;
} F;

/* @settings: name, value, ... NULL, set on the node before the server starts. */
static void start_with(const struct lv_server_options *so, const char *const *settings)
{
	char *vkey = NULL;
	snprintf(F.base, sizeof F.base, "%s", th_tmpdir());
	snprintf(F.dir, sizeof F.dir, "%s/node", F.base);
	ck_assert_int_eq(lv_node_init(F.dir, NULL, NULL, &vkey), LV_OK);
	free(vkey);
	ck_assert_int_eq(lv_node_open(F.dir, NULL, NULL, &F.node), LV_OK);
	ck_assert_int_eq(lv_credential_add(F.node, LV_ROLE_PROVIDER, NULL, NULL, 0, "LMS A", F.key, &F.secret),
			 LV_OK);
	ck_assert_int_eq(lv_credential_add(F.node, LV_ROLE_ADMIN, NULL, NULL, 0, "ops", F.admin,
					   &F.admin_secret), LV_OK);
	for (size_t i = 0; settings && settings[i]; i += 2)
		ck_assert_int_eq(lv_node_setting_set(F.node, settings[i], settings[i + 1]), LV_OK);
	ck_assert_int_eq(lv_server_start(F.node, so, &F.srv), LV_OK);
	F.port = lv_server_port(F.srv);
	ck_assert_uint_ne(F.port, 0);
}

static void start(const struct lv_server_options *so)
{
	start_with(so, NULL);
}

static void teardown(void)
{
	lv_server_destroy(F.srv);
	lv_node_close(F.node);
	sodium_free(F.secret);
	sodium_free(F.admin_secret);
	th_rmtree(F.base);
	memset(&F, 0, sizeof F);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- raw HTTP over a socket from a chosen loopback address ---- */

/* A blocking socket from @src (e.g. "127.0.0.2") to the server; -1 when
 * the connection fails. */
static int dial(const char *src)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	struct sockaddr_in a = {.sin_family = AF_INET};
	ck_assert_int_eq(inet_pton(AF_INET, src, &a.sin_addr), 1);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	struct sockaddr_in s = {.sin_family = AF_INET, .sin_port = htons(F.port)};
	inet_pton(AF_INET, "127.0.0.1", &s.sin_addr);
	if (connect(fd, (struct sockaddr *)&s, sizeof s) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
		if (k <= 0)
			return false;
		p += k;
		n -= (size_t)k;
	}
	return true;
}

/* Reads a reply (headers and a Content-Length body) into @buf within
 * @timeout_s; returns its status, 0 when the connection closed or timed
 * out first. */
static int read_reply(int fd, char *buf, size_t cap, double timeout_s)
{
	size_t len = 0;
	double until = now_s() + timeout_s;
	buf[0] = 0;
	for (;;) {
		char *end = strstr(buf, "\r\n\r\n");
		if (end) {
			const char *cl = strcasestr(buf, "\r\nContent-Length:");
			size_t want = (size_t)(end + 4 - buf) + (cl ? strtoul(cl + 17, NULL, 10) : 0);
			if (len >= want || len + 1 >= cap)
				break;
		}
		int ms = (int)((until - now_s()) * 1000);
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (ms <= 0 || poll(&p, 1, ms) != 1)
			return 0;
		ssize_t k = recv(fd, buf + len, cap - 1 - len, 0);
		if (k <= 0)
			break;
		len += (size_t)k;
		buf[len] = 0;
	}
	int status = 0;
	if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
		return 0;
	return status;
}

/* One request from @src on a fresh connection; the reply goes to @buf,
 * the time it took to *@took.  Returns the status (0: none). */
static int exchange(const char *src, const char *req, char *buf, size_t cap, double *took)
{
	double t0 = now_s();
	int fd = dial(src);
	int status = 0;
	if (fd >= 0 && send_all(fd, req, strlen(req)))
		status = read_reply(fd, buf, cap, 5.0);
	if (fd >= 0)
		close(fd);
	if (took)
		*took = now_s() - t0;
	return status;
}

/* "Authorization: Basic ..." for @user:@pass into @out. */
static void basic(const char *user, const char *pass, char *out, size_t cap)
{
	char up[256], b64[400];
	snprintf(up, sizeof up, "%s:%s", user, pass);
	sodium_bin2base64(b64, sizeof b64, (const unsigned char *)up, strlen(up),
			  sodium_base64_VARIANT_ORIGINAL);
	snprintf(out, cap, "Authorization: Basic %s\r\n", b64);
}

#define STATEMENT "{\"actor\":{\"mbox\":\"mailto:alice@example.com\"}," \
		  "\"verb\":{\"id\":\"http://adlnet.gov/expapi/verbs/experienced\"}," \
		  "\"object\":{\"id\":\"http://example.com/act/intro\"}}"

/* A provider POST of one statement from @src; returns the status. */
static int post_statement(const char *src, const char *user, const char *pass, char *buf, size_t cap,
			  double *took)
{
	char auth[512], req[2048];
	basic(user, pass, auth, sizeof auth);
	snprintf(req, sizeof req,
		 "POST /xapi/statements HTTP/1.1\r\nHost: t\r\nX-Experience-API-Version: 1.0.3\r\n%s"
		 "Content-Type: application/json\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
		 auth, strlen(STATEMENT), STATEMENT);
	return exchange(src, req, buf, cap, took);
}

/* A provider's POST of statements from 127.0.0.1 with @framing (its
 * Content-Length or Transfer-Encoding line): the head sent, the body not;
 * the connected socket. */
static int post_head(const char *framing)
{
	char auth[512], req[1024];
	basic(F.key, F.secret, auth, sizeof auth);
	snprintf(req, sizeof req,
		 "POST /xapi/statements HTTP/1.1\r\nHost: t\r\nX-Experience-API-Version: 1.0.3\r\n%s"
		 "Content-Type: application/json\r\n%s\r\n\r\n", auth, framing);
	int fd = dial("127.0.0.1");
	ck_assert_int_ge(fd, 0);
	ck_assert(send_all(fd, req, strlen(req)));
	return fd;
}

/* True when the peer has closed @fd (EOF or reset); false while open. */
static bool closed_by_peer(int fd)
{
	char c;
	ssize_t k = recv(fd, &c, 1, MSG_DONTWAIT);
	return k == 0 || (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

/* ---- connections ---- */

#define PER_IP 32
#define IDLE 300
#define TRICKLE 100

/* 300 idle and 100 trickling connections from 127.0.0.1 against a server
 * of 200 slots in all and 32 per address: without the per-address cap
 * they would take every slot.  (Fewer than the 2,000/1,000, same
 * property: the one address asks for twice the server's slots.) */
START_TEST(other_clients_served)
{
	struct lv_server_options so = {.threads = 2, .max_connections = 200,
				       .max_connections_per_ip = PER_IP};
	start(&so);
	static int idle[IDLE], trickle[TRICKLE];
	for (int i = 0; i < IDLE; i++)
		idle[i] = dial("127.0.0.1");
	static const char head[] = "POST /xapi/statements HTTP/1.1\r\nHost: t\r\nX-Pad: ";
	for (int i = 0; i < TRICKLE; i++) {
		trickle[i] = dial("127.0.0.1");
		if (trickle[i] >= 0)
			send(trickle[i], head, sizeof head - 1, MSG_NOSIGNAL);
	}
	char buf[8192];
	/* For 3 s the tricklers send a byte every 100 ms, and every 500 ms
	 * another address probes health and posts a statement. */
	int probes = 0;
	for (double t0 = now_s(), next_probe = t0; now_s() - t0 < 3.0;) {
		for (int i = 0; i < TRICKLE; i++)
			if (trickle[i] >= 0)
				send(trickle[i], "a", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (now_s() >= next_probe) {
			double took;
			int st = exchange("127.0.0.2", "GET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
					  buf, sizeof buf, &took);
			ck_assert_msg(st == 200 && took < 1.0, "health from 127.0.0.2: %d after %.2f s", st, took);
			st = post_statement("127.0.0.3", F.key, F.secret, buf, sizeof buf, &took);
			ck_assert_msg(st == 200 && took < 1.0, "POST from 127.0.0.3: %d after %.2f s: %s", st, took,
				      buf);
			probes++;
			next_probe += 0.5;
		}
		usleep(100 * 1000);
	}
	ck_assert_int_ge(probes, 5);
	/* The cap held: at most 32 of 127.0.0.1's 400 connections are open. */
	int open = 0;
	for (int i = 0; i < IDLE; i++)
		open += idle[i] >= 0 && !closed_by_peer(idle[i]);
	for (int i = 0; i < TRICKLE; i++)
		open += trickle[i] >= 0 && !closed_by_peer(trickle[i]);
	ck_assert_int_le(open, PER_IP);
	ck_assert_int_ge(open, PER_IP / 2);
	for (int i = 0; i < IDLE; i++)
		if (idle[i] >= 0)
			close(idle[i]);
	for (int i = 0; i < TRICKLE; i++)
		if (trickle[i] >= 0)
			close(trickle[i]);
}
END_TEST

/* Sends @req a byte every @gap_ms until the server answers or closes;
 * returns the seconds that took (capped at @max_s), the status in *@status. */
static double trickle_until_cut(int fd, const char *req, int gap_ms, double max_s, int *status)
{
	double t0 = now_s();
	size_t n = strlen(req);
	char buf[4096];
	*status = 0;
	for (size_t i = 0; now_s() - t0 < max_s; i = (i + 1) % n) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, gap_ms) == 1) {
			*status = read_reply(fd, buf, sizeof buf, 1.0);
			break;
		}
		if (send(fd, req + i, 1, MSG_NOSIGNAL) != 1)
			break;
	}
	return now_s() - t0;
}

/* A body trickled at 3 bytes/s: the rate's grace (5 s) is longer than
 * the 2 s deadline, so the deadline cuts it; a 408 or a closed socket. */
START_TEST(trickled_body_deadline)
{
	struct lv_server_options so = {.threads = 2, .request_deadline_ms = 2000};
	start(&so);
	int fd = post_head("Content-Length: 100000");
	int status;
	double took = trickle_until_cut(fd, "{\"a\":1}", 300, 10.0, &status);
	ck_assert_msg(took > 1.5 && took < 3.5, "cut after %.2f s", took);
	ck_assert(status == 0 || status == 408);
	close(fd);
	/* Headers trickled in are cut at the same deadline. */
	fd = dial("127.0.0.1");
	ck_assert_int_ge(fd, 0);
	took = trickle_until_cut(fd, "GET /health HTTP/1.1\r\nX-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 300,
				 10.0, &status);
	ck_assert_msg(took > 1.5 && took < 3.5, "headers cut after %.2f s", took);
	ck_assert_int_eq(status, 0);
	close(fd);
	/* A keep-alive connection gets a fresh deadline per request: two
	 * requests 1.2 s apart on one connection both succeed. */
	fd = dial("127.0.0.1");
	ck_assert_int_ge(fd, 0);
	char buf[4096];
	for (int i = 0; i < 3; i++) {
		ck_assert(send_all(fd, "GET /health HTTP/1.1\r\nHost: t\r\n\r\n", 33));
		ck_assert_int_eq(read_reply(fd, buf, sizeof buf, 2.0), 200);
		usleep(1200 * 1000);
	}
	close(fd);
}
END_TEST

/* The limits are node settings too (read when the server starts): a
 * 1 s deadline and a cap of 2 connections per address. */
START_TEST(limits_from_settings)
{
	static const char *const settings[] = {"request_deadline_seconds", "1", "max_connections_per_ip", "2",
					       NULL};
	struct lv_server_options so = {.threads = 2};
	start_with(&so, settings);
	static const char *const bad[] = {"0", "-1", "abc", "1000001", "", "5x"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_int_eq(lv_node_setting_set(F.node, "max_connections_per_ip", bad[i]), LV_ERR_INVALID);
	/* The deadline runs from the connection's start: timed from the dial
	 * (timing from the trickle's start made the lower bound depend on how
	 * long the checks below took on a loaded machine). */
	double t0 = now_s();
	int a = dial("127.0.0.1"), b = dial("127.0.0.1");
	ck_assert(a >= 0 && b >= 0);
	int c = dial("127.0.0.1");
	usleep(300 * 1000);
	ck_assert(c < 0 || closed_by_peer(c));
	ck_assert(!closed_by_peer(a) && !closed_by_peer(b));
	int status;
	double took = trickle_until_cut(a, "GET /health HTTP/1.1\r\nX-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 200,
					5.0, &status);
	double since_dial = now_s() - t0;
	ck_assert_msg(took > 0 && since_dial > 0.95 && since_dial < 2.5, "cut %.2f s after the dial", since_dial);
	close(a);
	close(b);
	if (c >= 0)
		close(c);
}
END_TEST

/* Below the minimum rate (5 bytes/s against 1,024) a body is cut once the
 * 5 s grace has passed, well before the 20 s deadline. */
START_TEST(slow_body_rate)
{
	struct lv_server_options so = {.threads = 2, .request_deadline_ms = 20000};
	start(&so);
	int fd = post_head("Content-Length: 100000");
	int status;
	double took = trickle_until_cut(fd, "{\"a\":1}", 200, 15.0, &status);
	ck_assert_msg(took > 4.5 && took < 7.5, "cut after %.2f s", took);
	ck_assert(status == 0 || status == 408);
	close(fd);
}
END_TEST

/* An endless chunked upload is answered 413 within a second, having sent
 * no more than the cap plus socket buffers, and the client reads the 413
 * (the server lingers instead of resetting the connection). */
START_TEST(endless_chunked_413)
{
	struct lv_server_options so = {.threads = 2, .max_body_bytes = 4096};
	start(&so);
	int fd = post_head("Transfer-Encoding: chunked");
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	static char chunk[16384 + 16];
	int h = snprintf(chunk, sizeof chunk, "4000\r\n");
	memset(chunk + h, ' ', 16384);
	memcpy(chunk + h + 16384, "\r\n", 2);
	size_t clen = (size_t)h + 16384 + 2, off = 0;
	uint64_t sent = 0;
	double t0 = now_s();
	char buf[4096];
	int status = 0;
	bool cut = false;
	while (now_s() - t0 < 10.0 && !cut) {
		struct pollfd p = {.fd = fd, .events = POLLIN | POLLOUT};
		ck_assert_int_eq(poll(&p, 1, 1000), 1);
		if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
			fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
			status = read_reply(fd, buf, sizeof buf, 1.0);
			cut = true;
			break;
		}
		ssize_t k = send(fd, chunk + off, clen - off, MSG_NOSIGNAL);
		if (k < 0 && errno != EAGAIN) {
			cut = true;
			break;
		}
		if (k > 0) {
			sent += (uint64_t)k;
			off = (off + (size_t)k) % clen;
		}
	}
	double took = now_s() - t0;
	ck_assert_msg(cut && took < 1.0, "not cut off after %.2f s, %llu bytes", took, (unsigned long long)sent);
	ck_assert_msg(sent < ((uint64_t)16 << 20), "%llu bytes went out", (unsigned long long)sent);
	ck_assert_msg(status == 413, "status %d: %s", status, buf);
	ck_assert_ptr_nonnull(strstr(buf, "too_large"));
	close(fd);
}
END_TEST

/* ---- authentication throttling ---- */

/* ---- one request does not stall the others (issue 13 item 3) ---- */

#define NEW_ACTORS 2000

/* A provider POST of statements by actors new-<from>..new-<to - 1> from
 * 127.0.0.2; returns the status, the reply in @buf. */
static int post_new_actors(int from, int to, char *buf, size_t cap)
{
	char auth[512];
	basic(F.key, F.secret, auth, sizeof auth);
	size_t blen = (size_t)(to - from) * 200 + 16, n = 0;
	char *body = malloc(blen), *req = malloc(blen + 1024);
	n += (size_t)snprintf(body + n, blen - n, "[");
	for (int i = from; i < to; i++)
		n += (size_t)snprintf(body + n, blen - n,
				      "%s{\"actor\":{\"mbox\":\"mailto:new-%d@example.com\"},"
				      "\"verb\":{\"id\":\"http://adlnet.gov/expapi/verbs/experienced\"},"
				      "\"object\":{\"id\":\"http://example.com/act/intro\"}}", i > from ? "," : "", i);
	snprintf(body + n, blen - n, "]");
	snprintf(req, blen + 1024,
		 "POST /xapi/statements HTTP/1.1\r\nHost: t\r\nX-Experience-API-Version: 1.0.3\r\n%s"
		 "Content-Type: application/json\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
		 auth, strlen(body), body);
	int fd = dial("127.0.0.2"), status = 0;
	if (fd >= 0 && send_all(fd, req, strlen(req)))
		status = read_reply(fd, buf, cap, 60.0);
	if (fd >= 0)
		close(fd);
	free(body);
	free(req);
	return status;
}

/* The enrolling client: NEW_ACTORS new actors in batches of the node's
 * max_batch_learners, one after another.  (No ck_assert off the test's
 * own thread: the results are read after the join.) */
struct enroller {
	int batches, accepted;
	volatile int done;
};

static void *enrol_all(void *arg)
{
	struct enroller *e = arg;
	char buf[4096];
	for (int i = 0; i < NEW_ACTORS; i += LV_BATCH_LEARNERS_DEFAULT) {
		e->batches++;
		if (post_new_actors(i, i + LV_BATCH_LEARNERS_DEFAULT, buf, sizeof buf) == 200)
			e->accepted++;
	}
	e->done = 1;
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* While one client enrols 2,000 new actors, another client's statements
 * are stored with a p99 latency under 200 ms.  A single batch of 2,000 new
 * actors, which held the node lock for seconds (8.5 s measured by the
 * review; 41 s on this loaded 2-core machine), is refused at once
 * (max_batch_learners) and changes nothing; in batches of the cap they
 * are all enrolled.  Before the bound the refused batch was stored. */
START_TEST(one_batch_does_not_stall_the_node)
{
	struct lv_server_options so = {.threads = 4};
	start(&so);
	char buf[8192];
	double took;
	ck_assert_int_eq(post_statement("127.0.0.3", F.key, F.secret, buf, sizeof buf, &took), 200);
	int64_t before = 0, after = 0;
	ck_assert_int_eq(lv_learner_count(F.node, &before), LV_OK);
	double t0 = now_s();
	ck_assert_int_eq(post_new_actors(0, NEW_ACTORS, buf, sizeof buf), 413);
	ck_assert_ptr_nonnull(strstr(buf, "too_many_learners"));
	ck_assert_ptr_nonnull(strstr(buf, "max_batch_learners"));
	ck_assert_double_lt(now_s() - t0, 5.0);
	ck_assert_int_eq(lv_learner_count(F.node, &after), LV_OK);
	ck_assert_int_eq(after, before);
	/* The cap counts learners, not statements: one actor's 2,000 pass. */
	struct enroller e = {0};
	pthread_t th;
	ck_assert_int_eq(pthread_create(&th, NULL, enrol_all, &e), 0);
	enum { MAXP = 20000 };
	double *lat = malloc(MAXP * sizeof *lat);
	int n = 0;
	while (!e.done && n < MAXP) {
		ck_assert_int_eq(post_statement("127.0.0.3", F.key, F.secret, buf, sizeof buf, &lat[n]), 200);
		n++;
	}
	pthread_join(th, NULL);
	ck_assert_int_eq(e.accepted, e.batches);
	ck_assert_int_eq(lv_learner_count(F.node, &after), LV_OK);
	ck_assert_int_eq(after, before + NEW_ACTORS);
	ck_assert_int_ge(n, 100);
	qsort(lat, (size_t)n, sizeof *lat, cmp_double);
	double p99 = lat[(n * 99) / 100], max = lat[n - 1];
	fprintf(stderr, "test-limits: %d probes during %d batches: median %.1f ms, p99 %.1f ms, max %.1f ms\n", n,
		e.batches, lat[n / 2] * 1000, p99 * 1000, max * 1000);
	ck_assert_double_lt(p99, 0.200);
	free(lat);
}
END_TEST

static cJSON *admin_status(const char *src)
{
	char req[512], buf[8192];
	snprintf(req, sizeof req,
		 "GET /admin/status HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s.%s\r\nConnection: close\r\n\r\n",
		 F.admin, F.admin_secret);
	ck_assert_int_eq(exchange(src, req, buf, sizeof buf, NULL), 200);
	cJSON *o = cJSON_Parse(strstr(buf, "\r\n\r\n") + 4);
	ck_assert_ptr_nonnull(o);
	return o;
}

static double status_number(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	ck_assert_msg(cJSON_IsNumber(v), "no %s in /admin/status", name);
	return v->valuedouble;
}

/* 5 failures from one address: the 6th attempt, even with the right
 * secret, is 429 with Retry-After; another address with the same valid
 * credential is served; the failures are logged without the secret and
 * counted in /admin/status. */
START_TEST(throttle_per_address)
{
	struct lv_server_options so = {.threads = 2, .auth_max_failures = 5, .auth_window_s = 60};
	start(&so);
	char log[700];
	snprintf(log, sizeof log, "%s/stderr.log", F.base);
	fflush(stderr);
	int saved = dup(2);
	int lf = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(lf, 0);
	dup2(lf, 2);
	char buf[8192];
	const char *wrong = "not-the-secret-XYZZY";
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(post_statement("127.0.0.1", F.key, wrong, buf, sizeof buf, NULL), 401);
	ck_assert_int_eq(post_statement("127.0.0.1", F.key, wrong, buf, sizeof buf, NULL), 429);
	const char *ra = strcasestr(buf, "\r\nRetry-After: ");
	ck_assert_ptr_nonnull(ra);
	long secs = strtol(ra + 15, NULL, 10);
	ck_assert(secs >= 1 && secs <= 60);
	ck_assert_int_eq(post_statement("127.0.0.1", F.key, F.secret, buf, sizeof buf, NULL), 429);
	/* Anonymous requests from the throttled address still work. */
	ck_assert_int_eq(exchange("127.0.0.1", "GET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
				  buf, sizeof buf, NULL), 200);
	double took;
	ck_assert_int_eq(post_statement("127.0.0.2", F.key, F.secret, buf, sizeof buf, &took), 200);
	ck_assert(took < 1.0);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(lf);
	char line[256];
	snprintf(line, sizeof line, "auth-failure address=127.0.0.1 credential=%s count=5", F.key);
	ck_assert(th_file_contains(log, line));
	ck_assert(!th_file_contains(log, wrong));
	ck_assert(!th_file_contains(log, "count=6"));
	cJSON *o = admin_status("127.0.0.9");
	ck_assert_int_eq((int)status_number(o, "auth_failures"), 5);
	ck_assert_int_eq((int)status_number(o, "auth_throttled"), 2);
	cJSON_Delete(o);
}
END_TEST

/* 5 failures on one credential id from 5 addresses: each of those
 * addresses is then refused on that id (though under its own limit),
 * while the credential's owner from a clean address is served. */
START_TEST(throttle_per_credential)
{
	struct lv_server_options so = {.threads = 2, .auth_max_failures = 5, .auth_window_s = 60};
	start(&so);
	char buf[8192], src[32];
	for (int i = 0; i < 5; i++) {
		snprintf(src, sizeof src, "127.0.1.%d", i + 1);
		ck_assert_int_eq(post_statement(src, F.key, "wrong", buf, sizeof buf, NULL), 401);
	}
	for (int i = 0; i < 5; i++) {
		snprintf(src, sizeof src, "127.0.1.%d", i + 1);
		ck_assert_int_eq(post_statement(src, F.key, F.secret, buf, sizeof buf, NULL), 429);
		ck_assert_ptr_nonnull(strcasestr(buf, "\r\nRetry-After: "));
	}
	ck_assert_int_eq(post_statement("127.0.2.1", F.key, F.secret, buf, sizeof buf, NULL), 200);
	/* Another credential from a failing address is under that address's
	 * own limit (1 of 5): unaffected. */
	char req[512];
	snprintf(req, sizeof req,
		 "GET /admin/status HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s.%s\r\nConnection: close\r\n\r\n",
		 F.admin, F.admin_secret);
	ck_assert_int_eq(exchange("127.0.1.1", req, buf, sizeof buf, NULL), 200);
	/* Bearer tokens count too, by their id. */
	snprintf(req, sizeof req,
		 "GET /admin/status HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s.wrong\r\nConnection: close\r\n\r\n",
		 F.admin);
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(exchange("127.0.3.1", req, buf, sizeof buf, NULL), 401);
	ck_assert_int_eq(exchange("127.0.3.1", req, buf, sizeof buf, NULL), 429);
}
END_TEST

/* The browser login (POST /session with a token) is throttled with the
 * same counts as an Authorization header. */
static int session_login(const char *src, const char *token, char *buf, size_t cap)
{
	char body[256], req[1024];
	snprintf(body, sizeof body, "{\"token\":\"%s\"}", token);
	snprintf(req, sizeof req,
		 "POST /session HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
		 "Connection: close\r\n\r\n%s", strlen(body), body);
	return exchange(src, req, buf, cap, NULL);
}

START_TEST(throttle_session_login)
{
	struct lv_server_options so = {.threads = 2, .auth_max_failures = 5, .auth_window_s = 60};
	start(&so);
	char buf[8192], bad[128], good[128];
	snprintf(bad, sizeof bad, "%s.wrong-secret", F.admin);
	snprintf(good, sizeof good, "%s.%s", F.admin, F.admin_secret);
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(session_login("127.0.4.1", bad, buf, sizeof buf), 401);
	ck_assert_int_eq(session_login("127.0.4.1", good, buf, sizeof buf), 429);
	ck_assert_ptr_nonnull(strcasestr(buf, "\r\nRetry-After: "));
	ck_assert_int_eq(session_login("127.0.4.2", good, buf, sizeof buf), 200);
	cJSON *o = admin_status("127.0.4.3");
	ck_assert_int_eq((int)status_number(o, "auth_failures"), 5);
	ck_assert_int_eq((int)status_number(o, "auth_throttled"), 1);
	cJSON_Delete(o);
}
END_TEST

/* ---- methods ---- */

/* @method on @path, as the provider when @auth. */
static int method_status(const char *method, const char *path, bool auth)
{
	char req[1024], buf[8192], a[512] = "";
	if (auth)
		basic(F.key, F.secret, a, sizeof a);
	snprintf(req, sizeof req,
		 "%s %s HTTP/1.1\r\nHost: t\r\nX-Experience-API-Version: 1.0.3\r\n%sContent-Length: 0\r\n"
		 "Connection: close\r\n\r\n", method, path, a);
	return exchange("127.0.0.1", req, buf, sizeof buf, NULL);
}

START_TEST(unknown_methods)
{
	struct lv_server_options so = {.threads = 2};
	start(&so);
	ck_assert_int_eq(method_status("TRACE", "/health", false), 501);
	ck_assert_int_eq(method_status("PATCH", "/admin/status", false), 501);
	ck_assert_int_eq(method_status("OPTIONS", "/", false), 501);
	ck_assert_int_eq(method_status("BREW", "/nowhere", true), 501);
	ck_assert_int_eq(method_status("POST", "/health", false), 405);
	ck_assert_int_eq(method_status("DELETE", "/health", false), 405);
	ck_assert_int_eq(method_status("GET", "/health", false), 200);
	/* The xAPI keeps its own answers: authentication first, then 405. */
	ck_assert_int_eq(method_status("PATCH", "/xapi/statements", false), 401);
	ck_assert_int_eq(method_status("PATCH", "/xapi/statements", true), 405);
	ck_assert_int_eq(method_status("TRACE", "/xapi/about", true), 405);
}
END_TEST

Suite *lv_test_suite(void)
{
	Suite *s = suite_create("limits");
	struct {
		const char *name;
		const TTest *test;
	} cases[] = {
		{"connections", other_clients_served},
		{"deadline", trickled_body_deadline},
		{"rate", slow_body_rate},
		{"settings", limits_from_settings},
		{"chunked", endless_chunked_413},
		{"throttle_address", throttle_per_address},
		{"throttle_credential", throttle_per_credential},
		{"throttle_session", throttle_session_login},
		{"methods", unknown_methods},
		{"no_stall", one_batch_does_not_stall_the_node},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		TCase *tc = tcase_create(cases[i].name);
		tcase_add_checked_fixture(tc, NULL, teardown);
		tcase_set_timeout(tc, 240);
		tcase_add_test(tc, cases[i].test);
		suite_add_tcase(s, tc);
	}
	return s;
}
