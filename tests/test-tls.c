/* HTTPS in the real server (`learnvault serve --tls-cert --tls-key`):
 * self-signed certificates made by the openssl CLI at test time, spoken to
 * with libcurl: /health and an xAPI POST over TLS 1.2 and 1.3, TLS 1.1
 * refused, plain HTTP to the TLS port answered by nothing, the session
 * cookie Secure, a SIGHUP swapping the certificate (and a bad one kept
 * out), the key file's mode and the pair's match checked.  Then the
 * request log (text and JSON, levels) of a plain server: its fields, and
 * no token, query string or learner identifier in it. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "harness.h"
#include "http-client.h"
#include "learnvault/server.h"

struct server {
	pid_t pid;
	uint16_t port;
	bool tls;
	char log[700];
};

/* Runs @fmt as a shell command; its exit status. */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A self-signed P-256 certificate for 127.0.0.1 with common name @cn, in
 * @dir/@name.crt and @dir/@name.key (mode 0600).  False when the openssl
 * CLI is missing. */
static bool make_cert(const char *dir, const char *name, const char *cn)
{
	if (sh("command -v openssl >/dev/null 2>&1") != 0)
		return false;
	ck_assert_int_eq(sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 "
			    "-subj /CN=%s -addext subjectAltName=IP:127.0.0.1 -keyout '%s/%s.key' -out '%s/%s.crt' "
			    "2>/dev/null", cn, dir, name, dir, name), 0);
	char key[700];
	snprintf(key, sizeof key, "%s/%s.key", dir, name);
	ck_assert_int_eq(chmod(key, 0600), 0);
	return true;
}

/* Starts `learnvault serve --data @dir --listen 127.0.0.1:0 @extra...`
 * (NULL-terminated), stderr to @s->log; fills the port from its first
 * stdout line. */
static void server_start(struct server *s, const char *dir, ...)
{
	const char *argv[32] = {th_bin(), "serve", "--data", dir, "--listen", "127.0.0.1:0"};
	size_t n = 6;
	va_list ap;
	va_start(ap, dir);
	for (const char *a; n < 31 && (a = va_arg(ap, const char *));)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	int fd[2];
	ck_assert_int_eq(pipe(fd), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(fd[1], 1);
		close(fd[0]);
		close(fd[1]);
		int lf = open(s->log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (lf >= 0)
			dup2(lf, 2);
		execv(th_bin(), (char *const *)argv);
		_exit(127);
	}
	close(fd[1]);
	char line[256];
	size_t len = 0;
	while (len + 1 < sizeof line && read(fd[0], line + len, 1) == 1 && line[len] != '\n')
		len++;
	line[len] = '\0';
	close(fd[0]);
	cJSON *o = cJSON_Parse(line);
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(o, "port");
	ck_assert_msg(cJSON_IsNumber(p), "serve did not start: '%s' (log %s)", line, s->log);
	s->pid = pid;
	s->port = (uint16_t)p->valuedouble;
	s->tls = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "tls"));
	cJSON_Delete(o);
}

static void server_stop(struct server *s)
{
	int st;
	kill(s->pid, SIGTERM);
	ck_assert_int_eq(waitpid(s->pid, &st, 0), s->pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* ---- an HTTPS request ---- */

struct treq {
	const char *path, *body;
	const char *user, *pass, *bearer;
	const char *ca;           /* the certificate trusted (verification on) */
	long version;             /* CURLOPT_SSLVERSION; 0: default */
	bool plain;               /* http:// to the same port */
	bool old_client;          /* let the client offer what OpenSSL 3 refuses by default */
};

struct tresp {
	CURLcode rc;
	long status;
	char body[4096];
	size_t len;
	char cookie[256];
};

static size_t tbody(char *p, size_t size, size_t n, void *ud)
{
	struct tresp *r = ud;
	size_t k = size * n, room = sizeof r->body - 1 - r->len;
	memcpy(r->body + r->len, p, k < room ? k : room);
	r->len += k < room ? k : room;
	r->body[r->len] = 0;
	return k;
}

static size_t theader(char *p, size_t size, size_t n, void *ud)
{
	struct tresp *r = ud;
	hc_header_value(p, size * n, "Set-Cookie", r->cookie, sizeof r->cookie);
	return size * n;
}

/* Performs @q on a fresh handle (no TLS session reuse across calls). */
static long tdo(uint16_t port, const struct treq *q, struct tresp *r)
{
	memset(r, 0, sizeof *r);
	CURL *c = curl_easy_init();
	char url[512], auth[512];
	struct curl_slist *h = curl_slist_append(NULL, "X-Experience-API-Version: 1.0.3");
	h = curl_slist_append(h, "Expect:");
	snprintf(url, sizeof url, "%s://127.0.0.1:%u%s", q->plain ? "http" : "https", (unsigned)port, q->path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, tbody);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, theader);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	if (q->ca)
		curl_easy_setopt(c, CURLOPT_CAINFO, q->ca);
	if (q->version)
		curl_easy_setopt(c, CURLOPT_SSLVERSION, q->version);
	if (q->old_client)
		curl_easy_setopt(c, CURLOPT_SSL_CIPHER_LIST, "DEFAULT:@SECLEVEL=0");
	if (q->body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, q->body);
		h = curl_slist_append(h, "Content-Type: application/json");
	}
	if (q->user) {
		curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(c, CURLOPT_USERNAME, q->user);
		curl_easy_setopt(c, CURLOPT_PASSWORD, q->pass);
	}
	if (q->bearer) {
		snprintf(auth, sizeof auth, "Authorization: Bearer %s", q->bearer);
		h = curl_slist_append(h, auth);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	r->rc = curl_easy_perform(c);
	if (r->rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return r->status;
}

/* ---- a node ---- */

struct node {
	char dir[600], tmp[400];
	char pkey[64], psecret[128], auditor[160], learner[64], learner_tok[160];
};

static const char *json_str(const char *text, const char *name, char *out, size_t n)
{
	cJSON *o = cJSON_Parse(text);
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, name);
	ck_assert_msg(cJSON_IsString(x), "no %s in %s", name, text);
	snprintf(out, n, "%s", x->valuestring);
	cJSON_Delete(o);
	return out;
}

static void cli_ok(char *out, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void cli_ok(char *out, size_t n, const char *fmt, ...)
{
	char args[2048], errf[700];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(args, sizeof args, fmt, ap);
	va_end(ap);
	snprintf(errf, sizeof errf, "%s/cli.err", getenv("LV_TLS_DIR"));
	char *o = NULL;
	ck_assert_msg(th_run_cli(args, &o, errf) == 0, "%s failed", args);
	if (out)
		snprintf(out, n, "%s", o ? o : "");
	free(o);
}

static void node_setup(struct node *k)
{
	snprintf(k->tmp, sizeof k->tmp, "%s", th_tmpdir());
	setenv("LV_TLS_DIR", k->tmp, 1);
	snprintf(k->dir, sizeof k->dir, "%s/node", k->tmp);
	char out[4096];
	cli_ok(NULL, 0, "init --data '%s'", k->dir);
	cli_ok(out, sizeof out, "credential add --data '%s' --role provider", k->dir);
	json_str(out, "key", k->pkey, sizeof k->pkey);
	json_str(out, "secret", k->psecret, sizeof k->psecret);
	cli_ok(out, sizeof out, "credential add --data '%s' --role auditor", k->dir);
	json_str(out, "token", k->auditor, sizeof k->auditor);
	cli_ok(out, sizeof out, "learner add --data '%s' --mbox mailto:ada.lovelace@school.example --birth-date 2000-01-01",
	       k->dir);
	json_str(out, "learner", k->learner, sizeof k->learner);
	cli_ok(out, sizeof out, "credential add --data '%s' --role learner --learner %s", k->dir, k->learner);
	json_str(out, "token", k->learner_tok, sizeof k->learner_tok);
}

static const char STMT[] =
	"{\"actor\":{\"mbox\":\"mailto:ada.lovelace@school.example\"},"
	"\"verb\":{\"id\":\"http://adlnet.gov/expapi/verbs/passed\"},"
	"\"object\":{\"id\":\"http://school.example/quiz/1\"}}";

/* Copies @src over @dst (the operator renewing the files in place). */
static void copy_file(const char *src, const char *dst)
{
	ck_assert_int_eq(sh("cat '%s' > '%s'", src, dst), 0);
}

/* Polls (up to 10 s) until a /health trusting @ca gives @want (200, or 0:
 * no response). */
static bool health_becomes(uint16_t port, const char *ca, long want)
{
	struct tresp r;
	for (int i = 0; i < 100; i++) {
		if (tdo(port, &(struct treq){.path = "/health", .ca = ca}, &r) == want)
			return true;
		usleep(100000);
	}
	return false;
}

START_TEST(https_serves_and_reloads)
{
	struct node k;
	node_setup(&k);
	if (!make_cert(k.tmp, "one", "first") || !make_cert(k.tmp, "two", "second")) {
		th_skip("the openssl CLI is missing: no certificate can be made");
		return;
	}
	char crt[700], key[700], one[700], two[700], onekey[700], twokey[700];
	snprintf(crt, sizeof crt, "%s/live.crt", k.tmp);
	snprintf(key, sizeof key, "%s/live.key", k.tmp);
	snprintf(one, sizeof one, "%s/one.crt", k.tmp);
	snprintf(two, sizeof two, "%s/two.crt", k.tmp);
	snprintf(onekey, sizeof onekey, "%s/one.key", k.tmp);
	snprintf(twokey, sizeof twokey, "%s/two.key", k.tmp);
	copy_file(one, crt);
	copy_file(onekey, key);
	ck_assert_int_eq(chmod(key, 0600), 0);
	struct server s;
	snprintf(s.log, sizeof s.log, "%s/serve.log", k.tmp);
	server_start(&s, k.dir, "--tls-cert", crt, "--tls-key", key, NULL);
	ck_assert(s.tls);
	struct tresp r;

	ck_assert_int_eq(tdo(s.port, &(struct treq){.path = "/health", .ca = one}, &r), 200);
	ck_assert_str_eq(r.body, "{\"status\":\"ok\"}");
	ck_assert_msg(tdo(s.port, &(struct treq){.path = "/xapi/statements", .body = STMT, .user = k.pkey,
						 .pass = k.psecret, .ca = one}, &r) == 200, "POST: %ld %s", r.status, r.body);
	/* Both protocol versions offered; TLS 1.1 refused by the server (the
	 * client offers it: its own floor lowered). */
	ck_assert_int_eq(tdo(s.port, &(struct treq){.path = "/health", .ca = one,
						    .version = CURL_SSLVERSION_TLSv1_2 | CURL_SSLVERSION_MAX_TLSv1_2}, &r), 200);
	ck_assert_int_eq(tdo(s.port, &(struct treq){.path = "/health", .ca = one,
						    .version = CURL_SSLVERSION_TLSv1_3 | CURL_SSLVERSION_MAX_TLSv1_3}, &r), 200);
	ck_assert_int_eq(tdo(s.port, &(struct treq){.path = "/health", .ca = one, .old_client = true,
						    .version = CURL_SSLVERSION_TLSv1_2 | CURL_SSLVERSION_MAX_TLSv1_2}, &r), 200);
	tdo(s.port, &(struct treq){.path = "/health", .ca = one, .old_client = true,
				   .version = CURL_SSLVERSION_TLSv1_1 | CURL_SSLVERSION_MAX_TLSv1_1}, &r);
	ck_assert_msg(r.rc != CURLE_OK && r.status == 0, "TLS 1.1 accepted: %d %ld", r.rc, r.status);
	ck_assert_int_eq(r.rc, CURLE_SSL_CONNECT_ERROR);
	/* Plain HTTP to the HTTPS port: no HTTP answer. */
	tdo(s.port, &(struct treq){.path = "/health", .plain = true}, &r);
	ck_assert_msg(r.status == 0 && r.rc != CURLE_OK, "plain HTTP answered %ld", r.status);
	/* A certificate nobody trusts is refused by the client (verification is on). */
	tdo(s.port, &(struct treq){.path = "/health", .ca = two}, &r);
	ck_assert_int_eq(r.rc, CURLE_PEER_FAILED_VERIFICATION);
	/* With TLS the session cookie is Secure without --secure-cookies. */
	char body[256];
	snprintf(body, sizeof body, "{\"token\":\"%s\"}", k.auditor);
	ck_assert_int_eq(tdo(s.port, &(struct treq){.path = "/session", .body = body, .ca = one}, &r), 200);
	ck_assert_msg(strstr(r.cookie, "; Secure") != NULL, "cookie '%s'", r.cookie);

	/* SIGHUP: the renewed files are served to new handshakes. */
	copy_file(two, crt);
	copy_file(twokey, key);
	ck_assert_int_eq(kill(s.pid, SIGHUP), 0);
	ck_assert_msg(health_becomes(s.port, two, 200), "the new certificate is not served after SIGHUP");
	tdo(s.port, &(struct treq){.path = "/health", .ca = one}, &r);
	ck_assert_int_eq(r.rc, CURLE_PEER_FAILED_VERIFICATION);
	ck_assert(th_file_contains(s.log, "tls-reload"));
	/* A broken renewal (a certificate without its key) is refused: the
	 * server keeps the pair it has. */
	copy_file(one, crt);
	ck_assert_int_eq(kill(s.pid, SIGHUP), 0);
	for (int i = 0; i < 50 && !th_file_contains(s.log, "keeping the old certificate"); i++)
		usleep(100000);
	ck_assert(th_file_contains(s.log, "keeping the old certificate"));
	ck_assert_int_eq(tdo(s.port, &(struct treq){.path = "/health", .ca = two}, &r), 200);
	/* A renewed key others may read: refused at a reload as at start. */
	copy_file(one, crt);
	ck_assert_int_eq(chmod(key, 0644), 0);
	copy_file(onekey, key);
	ck_assert_int_eq(kill(s.pid, SIGHUP), 0);
	for (int i = 0; i < 50 && !th_file_contains(s.log, "chmod 600 it: keeping the old certificate"); i++)
		usleep(100000);
	ck_assert(th_file_contains(s.log, "(mode 0644): chmod 600 it: keeping the old certificate"));
	ck_assert_int_eq(tdo(s.port, &(struct treq){.path = "/health", .ca = two}, &r), 200);
	ck_assert_int_eq(chmod(key, 0600), 0);
	ck_assert_int_eq(kill(s.pid, SIGHUP), 0);
	ck_assert_msg(health_becomes(s.port, one, 200), "the first certificate is not back after SIGHUP");
	server_stop(&s);
	th_rmtree(k.tmp);
}
END_TEST

/* serve's refusals before it listens: a key others may read, half a
 * pair, a key that is not the certificate's.  Beyond loopback with TLS:
 * no plain-text warning. */
START_TEST(https_refusals)
{
	struct node k;
	node_setup(&k);
	if (!make_cert(k.tmp, "one", "first") || !make_cert(k.tmp, "two", "second")) {
		th_skip("the openssl CLI is missing: no certificate can be made");
		return;
	}
	char args[4096], errf[700], *out = NULL;
	snprintf(errf, sizeof errf, "%s/err", k.tmp);
	char onekey[700];
	snprintf(onekey, sizeof onekey, "%s/one.key", k.tmp);
	ck_assert_int_eq(chmod(onekey, 0644), 0);
	snprintf(args, sizeof args, "serve --data '%s' --listen 127.0.0.1:0 --tls-cert '%s/one.crt' --tls-key '%s'",
		 k.dir, k.tmp, onekey);
	ck_assert_int_eq(th_run_cli(args, &out, errf), 1);
	free(out);
	ck_assert(th_file_contains(errf, "may be read by others (mode 0644): chmod 600 it"));
	ck_assert_int_eq(chmod(onekey, 0600), 0);

	snprintf(args, sizeof args, "serve --data '%s' --listen 127.0.0.1:0 --tls-cert '%s/one.crt'", k.dir, k.tmp);
	ck_assert_int_eq(th_run_cli(args, &out, errf), 1);
	free(out);
	ck_assert(th_file_contains(errf, "--tls-cert and --tls-key go together"));

	snprintf(args, sizeof args, "serve --data '%s' --listen 127.0.0.1:0 --tls-cert '%s/one.crt' --tls-key '%s/two.key'",
		 k.dir, k.tmp, k.tmp);
	ck_assert_int_eq(th_run_cli(args, &out, errf), 1);
	free(out);
	ck_assert(th_file_contains(errf, "cannot use the TLS certificate and key"));

	/* Not loopback, TLS on: no warning (the node stops at the missing data). */
	snprintf(args, sizeof args, "serve --data /nonexistent/lv --listen 0.0.0.0:0 --tls-cert '%s/one.crt' "
		 "--tls-key '%s'", k.tmp, onekey);
	ck_assert_int_eq(th_run_cli(args, &out, errf), 1);
	free(out);
	ck_assert(th_file_contains(errf, "cannot open the node"));
	ck_assert(!th_file_contains(errf, "not a loopback address"));
	snprintf(args, sizeof args, "serve --data /nonexistent/lv --listen 0.0.0.0:0");
	ck_assert_int_eq(th_run_cli(args, &out, errf), 1);
	free(out);
	ck_assert(th_file_contains(errf, "not a loopback address"));
	th_rmtree(k.tmp);
}
END_TEST

/* ---- the request log ---- */

/* The log's text, read whole (static until the next call). */
static const char *read_log(const char *path)
{
	static char text[1 << 18];
	FILE *f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	size_t n = fread(text, 1, sizeof text - 1, f);
	text[n] = 0;
	fclose(f);
	return text;
}

/* The first line of @log holding every one of the NULL-terminated
 * needles (static copy), or NULL. */
static const char *line_with(const char *log, ...)
{
	static char line[4096];
	for (const char *l = log; *l;) {
		const char *nl = strchr(l, '\n');
		size_t n = nl ? (size_t)(nl - l) : strlen(l);
		snprintf(line, sizeof line, "%.*s", (int)(n < sizeof line ? n : sizeof line - 1), l);
		va_list ap;
		va_start(ap, log);
		bool all = true;
		for (const char *x; (x = va_arg(ap, const char *));)
			all = all && strstr(line, x);
		va_end(ap);
		if (all)
			return line;
		l += n + (nl ? 1 : 0);
	}
	return NULL;
}

/* Requests that carry what must never reach the log: a learner's email
 * and a secret in the query, a token in a header, a learner's pseudonym
 * in the path, a token in a body.  Returns after the server stopped (the
 * log is complete). */
static void logged_requests(const struct node *k, struct server *s)
{
	struct hc c;
	hc_init(&c, s->port);
	struct hc_resp r;
	char path[1024], secret_q[256];
	snprintf(secret_q, sizeof secret_q, "access_token=%s", k->psecret);
	snprintf(path, sizeof path, "/xapi/statements?agent=%%7B%%22mbox%%22%%3A%%22mailto%%3Aada.lovelace%%40school.example"
		 "%%22%%7D&%s", secret_q);
	ck_assert_int_eq(hc_do(&c, &(struct hc_req){.path = path, .user = k->pkey, .pass = k->psecret}, &r), 400);
	hc_resp_free(&r);
	snprintf(path, sizeof path, "/xapi/statements?agent=%%7B%%22mbox%%22%%3A%%22mailto%%3Aada.lovelace%%40school.example"
		 "%%22%%7D");
	ck_assert_int_eq(hc_do(&c, &(struct hc_req){.path = path, .user = k->pkey, .pass = k->psecret}, &r), 200);
	hc_resp_free(&r);
	ck_assert_int_eq(hc_do(&c, &(struct hc_req){.path = "/xapi/statements", .body = STMT, .user = k->pkey,
						    .pass = k->psecret}, &r), 200);
	hc_resp_free(&r);
	ck_assert_int_eq(hc_do(&c, &(struct hc_req){.path = "/learner/statements", .bearer = k->learner_tok,
						    .no_version = true}, &r), 200);
	hc_resp_free(&r);
	snprintf(path, sizeof path, "/learner/consents/%s", k->learner);
	long st = hc_do(&c, &(struct hc_req){.method = "DELETE", .path = path, .bearer = k->learner_tok,
					     .no_version = true}, &r);
	ck_assert_msg(st >= 400, "withdrawing an unknown consent: %ld", st);
	hc_resp_free(&r);
	ck_assert_int_eq(hc_do(&c, &(struct hc_req){.path = "/xapi/statements", .user = k->pkey,
						    .pass = "wrong-secret-abc"}, &r), 401);
	hc_resp_free(&r);
	char body[256];
	snprintf(body, sizeof body, "{\"token\":\"%s\"}", k->learner_tok);
	ck_assert_int_eq(hc_do(&c, &(struct hc_req){.path = "/session", .body = body, .no_version = true}, &r), 200);
	hc_resp_free(&r);
	ck_assert_int_eq(hc_do(&c, &(struct hc_req){.path = "/no/such/thing?x=1", .no_version = true}, &r), 404);
	hc_resp_free(&r);
	hc_free(&c);
	server_stop(s);
}

/* Nothing of the requests' secrets, queries or learner identifiers. */
static void assert_nothing_leaked(const char *log, const struct node *k)
{
	const char *tok_secret = strchr(k->learner_tok, '.') + 1;
	const char *never[] = {k->psecret, tok_secret, k->learner, "ada.lovelace", "school.example", "?", "agent",
			       "access_token", "wrong-secret-abc", "/no/such/thing", "%7B"};
	for (size_t i = 0; i < sizeof never / sizeof never[0]; i++)
		ck_assert_msg(strstr(log, never[i]) == NULL, "the log holds '%s':\n%s", never[i], log);
}

START_TEST(request_log_text)
{
	struct node k;
	node_setup(&k);
	struct server s;
	snprintf(s.log, sizeof s.log, "%s/serve.log", k.tmp);
	server_start(&s, k.dir, NULL);
	logged_requests(&k, &s);
	const char *log = read_log(s.log);
	char cred[96];
	snprintf(cred, sizeof cred, "credential=%s ", k.pkey);
	const char *l = line_with(log, " warn request method=GET route=/xapi/statements status=400 ", cred,
				  "role=provider", " error=", NULL);
	ck_assert_msg(l, "no 400 line with its reason:\n%s", log);
	ck_assert_ptr_nonnull(strstr(l, " bytes="));
	ck_assert_ptr_nonnull(strstr(l, " ms="));
	ck_assert_msg(line_with(log, " info request method=GET route=/xapi/statements status=200 ", cred, NULL), "%s", log);
	ck_assert_msg(line_with(log, " info request method=POST route=/xapi/statements status=200 ", cred, NULL), "%s", log);
	ck_assert_msg(line_with(log, "route=/learner/statements status=200 ", "role=learner", NULL), "%s", log);
	ck_assert_msg(line_with(log, "method=DELETE route=/learner/consents/{id} status=4", "role=learner", "error=", NULL),
		      "%s", log);
	ck_assert_msg(line_with(log, " warn request method=GET route=/xapi/statements status=401 ", "credential=- role=-",
				"error=unauthorized", NULL), "%s", log);
	ck_assert_msg(line_with(log, " warn auth-failure ", cred, NULL), "%s", log);
	ck_assert_msg(line_with(log, "route=/session status=200 ", "role=learner", NULL), "%s", log);
	ck_assert_msg(line_with(log, "route=- status=404 ", "error=not_found", NULL), "%s", log);
	assert_nothing_leaked(log, &k);
	th_rmtree(k.tmp);
}
END_TEST

/* JSON lines, warn and above only: every line parses, no 2xx request,
 * the 4xx ones with their fields. */
START_TEST(request_log_json_levels)
{
	struct node k;
	node_setup(&k);
	struct server s;
	snprintf(s.log, sizeof s.log, "%s/serve.log", k.tmp);
	server_start(&s, k.dir, "--log-format", "json", "--log-level", "warn", NULL);
	logged_requests(&k, &s);
	const char *log = read_log(s.log);
	int requests = 0, failures = 0;
	for (const char *l = log; *l;) {
		const char *nl = strchr(l, '\n');
		ck_assert_ptr_nonnull(nl);
		cJSON *o = cJSON_ParseWithLength(l, (size_t)(nl - l));
		ck_assert_msg(o != NULL, "not JSON: %.*s", (int)(nl - l), l);
		const char *level = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "level"));
		const char *event = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "event"));
		ck_assert(level && event && cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "time")));
		ck_assert_msg(strcmp(level, "warn") == 0 || strcmp(level, "error") == 0, "level %s", level);
		if (strcmp(event, "request") == 0) {
			requests++;
			double st = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, "status"));
			ck_assert(st >= 400);
			ck_assert(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "route")));
			ck_assert(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "method")));
			ck_assert(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(o, "bytes")));
			ck_assert(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(o, "ms")));
			ck_assert(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "credential")));
			ck_assert(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "role")));
			const char *err = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "error"));
			ck_assert(err && strcmp(err, "-") != 0);
		} else if (strcmp(event, "auth-failure") == 0) {
			failures++;
		}
		cJSON_Delete(o);
		l = nl + 1;
	}
	/* 400, DELETE 4xx, 401, 404; one failed authentication. */
	ck_assert_int_eq(requests, 4);
	ck_assert_int_eq(failures, 1);
	assert_nothing_leaked(log, &k);
	th_rmtree(k.tmp);
}
END_TEST

/* The logger itself: a value with blanks, quotes or control bytes stays
 * one field on one line (text), or round-trips (JSON); levels filter. */
START_TEST(log_lines_hold_together)
{
	char path[700];
	snprintf(path, sizeof path, "%s/stderr", th_tmpdir());
	ck_assert_ptr_nonnull(freopen(path, "w", stderr));
	static const char odd[] = "a \"b\" c\\d\nnext=1\x01";
	const struct lv_log_field f[] = {{"note", odd, 0}, {"n", NULL, -7}, {"plain", "x", 0}};
	lv_log_configure(LV_LOG_INFO, LV_LOG_TEXT);
	lv_log_fields(LV_LOG_INFO, "probe", f, 3);
	lv_log_fields(LV_LOG_DEBUG, "hidden", f, 3);
	lv_log_configure(LV_LOG_WARN, LV_LOG_JSON);
	lv_log_fields(LV_LOG_WARN, "probe", f, 3);
	lv_log_message(LV_LOG_INFO, "hidden", "dropped at warn");
	lv_log_message(LV_LOG_ERROR, "said", "%d%%", 5);
	fflush(stderr);
	const char *log = read_log(path);
	const char *nl = strchr(log, '\n');
	ck_assert_ptr_nonnull(nl);
	/* The first line, whole: the odd value is one quoted field. */
	static const char want[] = " info probe note=\"a \\\"b\\\" c\\\\d?next=1?\" n=-7 plain=x\n";
	const char *at = strstr(log, want);
	ck_assert_msg(at && at + strlen(want) == nl + 1, "%s", log);
	ck_assert_ptr_null(strstr(log, "hidden"));
	cJSON *o = cJSON_ParseWithLength(nl + 1, strcspn(nl + 1, "\n"));
	ck_assert_ptr_nonnull(o);
	ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "note")), odd);
	ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "level")), "warn");
	ck_assert_double_eq(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, "n")), -7);
	cJSON_Delete(o);
	ck_assert_ptr_nonnull(strstr(log, "\"level\":\"error\",\"event\":\"said\",\"message\":\"5%\"}"));
	enum lv_log_level lv = LV_LOG_INFO;
	enum lv_log_format lf = LV_LOG_TEXT;
	ck_assert(lv_log_level_parse("debug", &lv) && lv == LV_LOG_DEBUG);
	ck_assert(!lv_log_level_parse("verbose", &lv) && lv == LV_LOG_DEBUG);
	ck_assert(lv_log_format_parse("json", &lf) && lf == LV_LOG_JSON);
	ck_assert(!lv_log_format_parse("JSON", &lf));
}
END_TEST

Suite *lv_test_suite(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	Suite *s = suite_create("tls");
	TCase *t = tcase_create("https");
	tcase_set_timeout(t, 120);
	tcase_add_test(t, https_serves_and_reloads);
	tcase_add_test(t, https_refusals);
	suite_add_tcase(s, t);
	TCase *l = tcase_create("log");
	tcase_set_timeout(l, 120);
	tcase_add_test(l, request_log_text);
	tcase_add_test(l, request_log_json_levels);
	tcase_add_test(l, log_lines_hold_together);
	suite_add_tcase(s, l);
	return s;
}
