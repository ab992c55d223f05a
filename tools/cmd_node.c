/* init, serve, setting. */
#include <arpa/inet.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <sodium.h>

#include "cli.h"
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

static int parse_listen(const char *s, char *host, size_t hlen, uint16_t *port)
{
	const char *colon = strrchr(s, ':');
	if (!colon)
		return -1;
	size_t n = (size_t)(colon - s);
	if (n >= hlen)
		return -1;
	memcpy(host, s, n);
	host[n] = 0;
	if (host[0] == '[' && n >= 2 && host[n - 1] == ']') {
		memmove(host, host + 1, n - 2);
		host[n - 2] = 0;
	}
	char *end = NULL;
	long p = strtol(colon + 1, &end, 10);
	if (!colon[1] || *end || p < 0 || p > 65535)
		return -1;
	*port = (uint16_t)p;
	return 0;
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

/* Beyond this, more workers only contend for the node lock. */
#define SERVE_THREADS_MAX 256

int cmd_serve(int argc, char **argv)
{
	const char *dir = NULL, *pass_file = NULL, *listen = "127.0.0.1:8080", *threads_s = NULL, *secure = NULL;
	const struct cli_opt opts[] = {
		{"data", true, &dir}, {"passphrase-file", true, &pass_file}, {"listen", true, &listen},
		{"threads", true, &threads_s}, {"secure-cookies", false, &secure}, {0, false, NULL}};
	if (cli_parse(argc, argv, 1, opts) < 0)
		return 2;
	unsigned long long threads = 0; /* 0: one per core */
	if (threads_s && cli_uint("serve --threads", threads_s, 1, SERVE_THREADS_MAX, &threads) != 0)
		return 2;
	char host[256];
	uint16_t port;
	if (parse_listen(listen, host, sizeof host, &port) != 0)
		return cli_fail("serve: --listen wants HOST:PORT");
	/* The node speaks plain HTTP: credentials and session cookies would
	 * cross the network in clear.  --secure-cookies says a TLS proxy is
	 * in front (it is the operator's word; the node cannot check it). */
	if (!is_loopback(host) && !secure)
		fprintf(stderr, "learnvault: warning: serve: %s is not a loopback address and the node has no TLS:"
				" credentials and cookies would travel in clear.  Put a TLS-terminating proxy in"
				" front and start with --secure-cookies (docs/running.md).\n", host);
	/* Each cached vault holds up to three descriptors. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	/* Block the stop signals before any thread starts, then wait for one. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	struct lv_node *node = NULL;
	if (cli_open_vaults(dir, pass_file, "serve", &node) != 0)
		return 1;
	/* Behind a TLS proxy: the session cookie carries Secure. */
	struct lv_server_options so = {.host = host, .port = port, .threads = (unsigned)threads, .secure_cookies = secure != NULL};
	struct lv_server *srv = NULL;
	enum lv_status st = lv_server_start(node, &so, &srv);
	if (st != LV_OK) {
		lv_node_close(node);
		return cli_fail("serve: cannot listen on %s: %s", listen, lv_status_str(st));
	}
	struct lv_retention_schedule *retention = NULL; /* docs/privacy.md: retention on a schedule */
	if (lv_retention_schedule_start(node, LV_RETENTION_INTERVAL_DEFAULT_S, &retention) != LV_OK)
		fprintf(stderr, "learnvault: retention: cannot start its schedule; run `learnvault retention run`\n");
	fprintf(stderr, "learnvault: serving %s on http://%s:%u/ (xAPI at /xapi/)\n", dir, host,
		lv_server_port(srv));
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "listening", host);
	cJSON_AddNumberToObject(o, "port", lv_server_port(srv));
	cli_print(o);
	int sig = 0;
	sigwait(&set, &sig);
	fprintf(stderr, "learnvault: signal %d, finishing in-flight requests\n", sig);
	lv_retention_schedule_stop(retention);
	lv_server_destroy(srv);
	lv_node_close(node);
	fprintf(stderr, "learnvault: stopped\n");
	return 0;
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
