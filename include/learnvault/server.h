/* learnvault — the HTTP server (libmicrohttpd). */
#ifndef LEARNVAULT_SERVER_H
#define LEARNVAULT_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "learnvault/node.h"
#include "learnvault/status.h"

#ifdef __cplusplus
extern "C" {
#endif

struct lv_server;

struct lv_server_options {
	const char *host;        /* numeric IPv4/IPv6 address; NULL: 127.0.0.1 */
	uint16_t port;           /* 0: any free port (see lv_server_port) */
	unsigned threads;        /* 0: one per core */
	size_t max_body_bytes;   /* 0: the node's max_body_bytes setting */
	/* Mark the web door's session cookie Secure, so a browser sends it
	 * over HTTPS only.  Set it when the node is reached through TLS (a
	 * TLS-terminating proxy in front); false: plain HTTP on loopback. */
	bool secure_cookies;
	/* Resource limits against hostile clients (docs/security.md, "Limits");
	 * 0 takes the node setting of the same name (max_connections,
	 * max_connections_per_ip, request_deadline_seconds, min_body_rate,
	 * auth_max_failures, auth_window_seconds; read when the server
	 * starts), else the default in brackets. */
	unsigned max_connections;        /* open connections in all [1000] */
	unsigned max_connections_per_ip; /* from one client address [64] */
	unsigned request_deadline_ms;    /* headers and body of one request
					  * must arrive within this [30000] */
	unsigned min_body_rate;          /* body bytes/s, judged after 5 s [1024] */
	unsigned auth_max_failures;      /* failed authentications per address
					  * (and per credential id) in a window
					  * before 429 [20] */
	unsigned auth_window_s;          /* that window, seconds [60] */
};

/* Starts serving @node (borrowed: it must outlive the server).  On success
 * *@out owns the running server; stop and free it with lv_server_destroy. */
LV_EXPORT enum lv_status lv_server_start(struct lv_node *node, const struct lv_server_options *opt,
					 struct lv_server **out) LV_WARN_UNUSED;

/* The bound port (useful when started with port 0). */
LV_EXPORT uint16_t lv_server_port(const struct lv_server *srv);

/* Stops accepting, waits for in-flight requests, frees.  NULL is a no-op. */
LV_EXPORT void lv_server_destroy(struct lv_server *srv);

#ifdef __cplusplus
}
#endif
#endif
