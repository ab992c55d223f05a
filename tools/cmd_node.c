/* init, serve, setting. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"
#include "config.h"
#include "learnvault/retention.h"
#include "learnvault/server.h"

int cmd_init(int argc, char **argv)
{
	const char *dir = NULL, *pass_file = NULL, *origin = NULL;
	const struct cli_opt opts[] = {
		{"data", true, &dir},
		{"passphrase-file", true, &pass_file},
		{"origin", true, &origin},
		{0, false, NULL}};
	if (cli_parse(argc, argv, 1, opts) < 0)
		return 2;
	if (!dir)
		return cli_fail("init: --data DIR is required");
	struct lv_node_keysource ks = {0};
	char *pass = NULL;
	if (pass_file && cli_read_passphrase(pass_file, &pass, &ks.passphrase_len) != 0)
		return 1;
	ks.passphrase = pass;
	char *vkey = NULL;
	enum lv_status st = lv_node_init(dir, &ks, origin, &vkey);
	if (pass)
		sodium_free(pass);
	if (st == LV_ERR_EXISTS)
		return cli_fail("init: %s already holds a node; refusing to overwrite it", dir);
	if (st != LV_OK)
		return cli_fail("init: %s", lv_status_str(st));
	fprintf(stderr, "learnvault: node created in %s\n", dir);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "data", dir);
	cJSON_AddStringToObject(o, "audit_key", vkey);
	free(vkey);
	return cli_print(o);
}

/* True when @host (as --listen gave it) only reaches this machine:
 * 127.0.0.0/8, ::1 or localhost. */
static bool is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;
	if (strcmp(host, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return inet_pton(AF_INET6, host, &a6) == 1 && memcmp(&a6, &in6addr_loopback, sizeof a6) == 0;
}

/* The TLS pair, read for the server: the certificate as it is, the key
 * into sodium_malloc memory (wiped and freed by tls_files_free). */
struct tls_files {
	char *cert;
	size_t cert_len;
	char *key;
	size_t key_len;
};

static void tls_files_free(struct tls_files *t)
{
	free(t->cert);
	if (t->key)
		sodium_free(t->key);
	memset(t, 0, sizeof *t);
}

/* A private key larger than this is no key (an RSA-16384 PEM is ~13 KiB). */
#define TLS_KEY_MAX (64u << 10)

/* Why a TLS file was refused: said by serve on stderr at start, logged
 * at a reload (where the log's format holds). */
#define TLS_ERR_LEN 512

/* Reads the key at @path: a regular file that only its owner may read
 * (mode 0600 or 0400; anything wider is refused, as ssh does), read once
 * through one descriptor so that the mode checked is the file read.
 * Returns 0, or 1 with @err said. */
static int read_tls_key(const char *path, char **key, size_t *len, char err[TLS_ERR_LEN])
{
	*key = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0) {
		snprintf(err, TLS_ERR_LEN, "cannot open the TLS key %s: %s", path, strerror(errno));
		return 1;
	}
	ssize_t n = 0, got;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 || st.st_size > TLS_KEY_MAX)
		snprintf(err, TLS_ERR_LEN, "the TLS key %s is not a regular file of at most %u bytes", path, TLS_KEY_MAX);
	else if (st.st_mode & 077)
		snprintf(err, TLS_ERR_LEN, "the TLS key %s may be read by others (mode %04o): chmod 600 it", path,
			 (unsigned)(st.st_mode & 07777));
	else if (!(*key = sodium_malloc((size_t)st.st_size + 1)))
		snprintf(err, TLS_ERR_LEN, "out of memory");
	else
		while (n < st.st_size && (got = read(fd, *key + n, (size_t)(st.st_size - n))) > 0)
			n += got;
	close(fd);
	if (*key && n != st.st_size) {
		sodium_free(*key);
		*key = NULL;
		snprintf(err, TLS_ERR_LEN, "cannot read the TLS key %s", path);
	}
	if (!*key)
		return 1;
	(*key)[n] = '\0';
	*len = (size_t)n;
	return 0;
}

/* Both files into @t (cleared first, and on failure); 0, or 1 with @err. */
static int read_tls_files(const char *cert_path, const char *key_path, struct tls_files *t, char err[TLS_ERR_LEN])
{
	memset(t, 0, sizeof *t);
	if (util_read_file(cert_path, 1u << 20, &t->cert, &t->cert_len) != LV_OK) {
		snprintf(err, TLS_ERR_LEN, "cannot read the TLS certificate %s (at most 1 MiB)", cert_path);
		return 1;
	}
	if (read_tls_key(key_path, &t->key, &t->key_len, err) != 0) {
		tls_files_free(t);
		return 1;
	}
	return 0;
}

/* SIGHUP: the certificate and key files are read again and swapped into
 * the running server; on any failure it keeps the pair it has. */
static void reload_tls(struct lv_server *srv, const struct config *c)
{
	if (!lv_server_tls(srv)) {
		lv_log_message(LV_LOG_INFO, "tls-reload", "SIGHUP without TLS: nothing to reload");
		return;
	}
	struct tls_files t;
	char err[TLS_ERR_LEN];
	if (read_tls_files(c->value[CK_TLS_CERT], c->value[CK_TLS_KEY], &t, err) != 0) {
		lv_log_message(LV_LOG_ERROR, "tls-reload", "%s: keeping the old certificate", err);
		return;
	}
	enum lv_status st = lv_server_tls_reload(srv, t.cert, t.cert_len, t.key, t.key_len);
	tls_files_free(&t);
	if (st != LV_OK)
		lv_log_message(LV_LOG_ERROR, "tls-reload", "%s: keeping the old certificate (%s)",
			       st == LV_ERR_INVALID ? "not a PEM certificate chain and its key" : "failed",
			       lv_status_str(st));
	else
		lv_log_message(LV_LOG_INFO, "tls-reload", "new handshakes use the certificate in %s",
			       c->value[CK_TLS_CERT]);
}

/* Fills @so's limits and TLS from @c (the TLS files are read into @t). */
static int serve_options(const struct config *c, struct lv_server_options *so, struct tls_files *t)
{
	so->threads = (unsigned)config_uint(c, CK_THREADS, 0); /* 0: one per core */
	so->secure_cookies = c->value[CK_SECURE_COOKIES] && strcmp(c->value[CK_SECURE_COOKIES], "true") == 0;
	so->max_body_bytes = (size_t)config_uint(c, CK_MAX_BODY_BYTES, 0);
	so->max_connections = (unsigned)config_uint(c, CK_MAX_CONNECTIONS, 0);
	so->max_connections_per_ip = (unsigned)config_uint(c, CK_MAX_CONNECTIONS_PER_IP, 0);
	so->request_deadline_ms = (unsigned)config_uint(c, CK_REQUEST_DEADLINE_SECONDS, 0) * 1000u;
	so->min_body_rate = (unsigned)config_uint(c, CK_MIN_BODY_RATE, 0);
	so->auth_max_failures = (unsigned)config_uint(c, CK_AUTH_MAX_FAILURES, 0);
	so->auth_window_s = (unsigned)config_uint(c, CK_AUTH_WINDOW_SECONDS, 0);
	memset(t, 0, sizeof *t);
	if (!c->value[CK_TLS_CERT] != !c->value[CK_TLS_KEY])
		return cli_fail("serve: --tls-cert and --tls-key go together");
	char err[TLS_ERR_LEN];
	if (c->value[CK_TLS_CERT] && read_tls_files(c->value[CK_TLS_CERT], c->value[CK_TLS_KEY], t, err) != 0)
		return cli_fail("serve: %s", err);
	so->tls_cert_pem = t->cert;
	so->tls_cert_len = t->cert_len;
	so->tls_key_pem = t->key;
	so->tls_key_len = t->key_len;
	return 0;
}

#define SERVE_USAGE                                                                                       \
	"usage: learnvault serve --data DIR [--listen HOST:PORT] [--threads N] [--passphrase-file F]\n"    \
	"         [--tls-cert PEM --tls-key PEM] [--secure-cookies] [--log-level error|warn|info|debug]\n"  \
	"         [--log-format text|json] [--config FILE] [--max-body-bytes N] [--max-connections N]\n"    \
	"         [--max-connections-per-ip N] [--request-deadline-seconds N] [--min-body-rate N]\n"        \
	"         [--auth-max-failures N] [--auth-window-seconds N]\n"                                      \
	"Every option is also a key of the configuration file (--config, LEARNVAULT_CONFIG or\n"           \
	"/etc/learnvault/learnvault.conf) and a variable LEARNVAULT_<KEY>; a flag beats the\n"             \
	"environment, which beats the file (docs/running.md).  SIGHUP reloads the TLS pair.\n"

/* The configuration of serve (flags, environment, file: config.h), its
 * errors said; 0, -1 after --help, or the exit code. */
static int serve_config(int argc, char **argv, struct config *c)
{
	int first = config_gather(c, argc, argv, 1, "serve");
	if (first == CONFIG_HELP) {
		fputs(SERVE_USAGE, stdout);
		return -1;
	}
	if (first < 0)
		return 2;
	if (c->nerrors) {
		for (const char *l = c->errors.data, *nl; l && *l; l = nl + 1) {
			nl = strchr(l, '\n');
			cli_fail("%.*s", (int)(nl - l), l);
		}
		return 2;
	}
	enum lv_log_level level = LV_LOG_INFO;
	enum lv_log_format format = LV_LOG_TEXT;
	if (c->value[CK_LOG_LEVEL] && !lv_log_level_parse(c->value[CK_LOG_LEVEL], &level))
		return 2;
	if (c->value[CK_LOG_FORMAT] && !lv_log_format_parse(c->value[CK_LOG_FORMAT], &format))
		return 2;
	lv_log_configure(level, format);
	return 0;
}

/* Serves until SIGINT or SIGTERM; SIGHUP reloads the TLS pair. */
static void serve_wait(struct lv_server *srv, const struct config *c, sigset_t *set)
{
	for (;;) {
		int sig = 0;
		sigwait(set, &sig);
		if (sig == SIGHUP) {
			reload_tls(srv, c);
			continue;
		}
		lv_log_message(LV_LOG_INFO, "stopping", "signal %d, finishing in-flight requests", sig);
		return;
	}
}

int cmd_serve(int argc, char **argv)
{
	struct config c;
	config_init(&c);
	struct tls_files tls = {0};
	struct lv_server_options so = {0};
	int rc = serve_config(argc, argv, &c);
	if (rc) {
		rc = rc < 0 ? 0 : rc; /* --help */
		goto out;
	}
	const char *dir = c.value[CK_DATA], *listen = c.value[CK_LISTEN] ? c.value[CK_LISTEN] : "127.0.0.1:8080";
	char host[256];
	uint16_t port;
	if ((rc = cli_listen_parse("serve --listen", listen, host, sizeof host, &port)) != 0)
		goto out;
	if ((rc = serve_options(&c, &so, &tls)) != 0)
		goto out;
	/* Without TLS the node speaks plain HTTP: credentials and session
	 * cookies would cross the network in clear.  --secure-cookies says a
	 * TLS proxy is in front (the operator's word; the node cannot check). */
	if (!is_loopback(host) && !so.secure_cookies && !so.tls_cert_pem)
		lv_log_message(LV_LOG_WARN, "insecure-listen",
			       "serve: %s is not a loopback address and the node has no TLS: credentials and cookies"
			       " would travel in clear.  Give it --tls-cert and --tls-key, or put a TLS-terminating"
			       " proxy in front and start with --secure-cookies (docs/running.md).", host);
	/* Each cached vault holds up to three descriptors. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	/* Block the signals before any thread starts, then wait for one. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	struct lv_node *node = NULL;
	if (cli_open_vaults(dir, c.value[CK_PASSPHRASE_FILE], "serve", &node) != 0) {
		rc = 1;
		goto out;
	}
	so.host = host;
	so.port = port;
	struct lv_server *srv = NULL;
	enum lv_status st = lv_server_start(node, &so, &srv);
	/* The server parsed its own copy: the key's PEM goes now. */
	tls_files_free(&tls);
	if (st != LV_OK) {
		lv_node_close(node);
		rc = cli_fail("serve: cannot %s on %s: %s", st == LV_ERR_INVALID && so.tls_cert_pem ? "use the TLS certificate and key" : "listen", listen, lv_status_str(st));
		goto out;
	}
	struct lv_retention_schedule *retention = NULL; /* docs/privacy.md: retention on a schedule */
	if (lv_retention_schedule_start(node, LV_RETENTION_INTERVAL_DEFAULT_S, &retention) != LV_OK)
		lv_log_message(LV_LOG_WARN, "retention", "retention: cannot start its schedule; run `learnvault retention run`");
	lv_log_message(LV_LOG_INFO, "serving", "%s on %s://%s%s%s:%u/ (xAPI at /xapi/)", dir,
		       lv_server_tls(srv) ? "https" : "http", strchr(host, ':') ? "[" : "", host,
		       strchr(host, ':') ? "]" : "", lv_server_port(srv));
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "listening", host);
	cJSON_AddNumberToObject(o, "port", lv_server_port(srv));
	cJSON_AddBoolToObject(o, "tls", lv_server_tls(srv));
	cli_print(o);
	serve_wait(srv, &c, &set);
	lv_retention_schedule_stop(retention);
	lv_server_destroy(srv);
	lv_node_close(node);
	lv_log_message(LV_LOG_INFO, "stopped", "the server has stopped");
out:
	tls_files_free(&tls);
	config_free(&c);
	return rc;
}

int cmd_setting(int argc, char **argv)
{
	const char *dir = NULL, *pass_file = NULL;
	const struct cli_opt opts[] = {{"data", true, &dir}, {"passphrase-file", true, &pass_file}, {0, false, NULL}};
	if (argc < 2)
		return cli_fail("setting: get|set");
	const char *verb = argv[1];
	if (cli_parse(argc, argv, 2, opts) < 0)
		return 2;
	struct lv_node *node = NULL;
	bool get = strcmp(verb, "get") == 0;
	if ((!get && strcmp(verb, "set") != 0) || optind + (get ? 1 : 2) != argc)
		return cli_fail("setting: get NAME | set NAME VALUE");
	if (cli_open(dir, pass_file, &node) != 0)
		return 1;
	int rc = 0;
	const char *name = argv[optind];
	if (get) {
		char *v = NULL;
		enum lv_status st = lv_node_setting_get(node, name, &v);
		if (st != LV_OK) {
			rc = cli_fail("setting: %s: %s", name, lv_status_str(st));
		} else {
			cJSON *o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, name, v);
			rc = cli_print(o);
		}
		free(v);
	} else {
		enum lv_status st = lv_node_setting_set(node, name, argv[optind + 1]);
		if (st != LV_OK)
			rc = cli_fail("setting: cannot set %s: %s", name, lv_status_str(st));
		else
			fprintf(stderr, "learnvault: %s set\n", name);
	}
	lv_node_close(node);
	return rc;
}
