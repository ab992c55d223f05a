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

/* ---- the process's log (stderr) ----
 * One line per event: text ("TIME LEVEL EVENT key=value ...") or JSON
 * ({"time":..,"level":..,"event":..,key:value,...}).  The server logs each
 * request (event "request": method, route template, status, bytes, ms,
 * credential id and role, and the error code of a 4xx/5xx) and each failed
 * authentication; callers (the CLI) log their own warnings through it.
 * Nothing logged carries a secret, a token, a query string, a learner
 * identifier or a body: callers keep to that for the fields they pass. */
enum lv_log_level { LV_LOG_ERROR = 0, LV_LOG_WARN = 1, LV_LOG_INFO = 2, LV_LOG_DEBUG = 3 };
enum lv_log_format { LV_LOG_TEXT = 0, LV_LOG_JSON = 1 };

/* One field: @text, or @number when @text is NULL.  Borrowed for the call. */
struct lv_log_field {
	const char *key;
	const char *text;
	long long number;
};

/* Sets the level (events above it are dropped) and the format for the
 * whole process; the default is info, text.  Thread-safe. */
LV_EXPORT void lv_log_configure(enum lv_log_level level, enum lv_log_format format);
/* True when an event at @level would be written. */
LV_EXPORT bool lv_log_enabled(enum lv_log_level level);
/* Writes one event with @n fields as one line (one write: lines from
 * several threads never interleave).  Control characters in values are
 * replaced; text values holding spaces or quotes are quoted. */
LV_EXPORT void lv_log_fields(enum lv_log_level level, const char *event, const struct lv_log_field *f, size_t n);
/* An event with one field, "message", formatted like printf. */
LV_EXPORT void lv_log_message(enum lv_log_level level, const char *event, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* "error", "warn", "info", "debug" / "text", "json"; false (and *@out
 * untouched) for anything else. */
LV_EXPORT bool lv_log_level_parse(const char *s, enum lv_log_level *out) LV_WARN_UNUSED;
LV_EXPORT bool lv_log_format_parse(const char *s, enum lv_log_format *out) LV_WARN_UNUSED;
LV_EXPORT const char *lv_log_level_str(enum lv_log_level level);

struct lv_server_options {
	const char *host;        /* numeric IPv4/IPv6 address; NULL: 127.0.0.1 */
	uint16_t port;           /* 0: any free port (see lv_server_port) */
	unsigned threads;        /* 0: one per core */
	size_t max_body_bytes;   /* 0: the node's max_body_bytes setting */
	/* Mark the web door's session cookie Secure, so a browser sends it
	 * over HTTPS only.  Set it when a TLS-terminating proxy is in front;
	 * with tls_cert_pem the cookie is Secure whatever this says. */
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
	/* HTTPS (docs/running.md, "TLS"): a PEM certificate chain (leaf
	 * first) and its PEM private key, borrowed for the call only: the
	 * server parses them into its own memory and keeps no PEM (the
	 * caller wipes the key, see cli).  Both NULL: plain HTTP.  With TLS
	 * the session cookie is always Secure.  TLS 1.2 and 1.3 only, AEAD
	 * ciphers only (LV_TLS_PRIORITIES).  One TLS server per process: a
	 * second lv_server_start with TLS is refused (LV_ERR_IN_USE). */
	const char *tls_cert_pem;
	size_t tls_cert_len;
	const char *tls_key_pem;
	size_t tls_key_len;
};

/* The GnuTLS priority string the server offers: TLS 1.3 and 1.2, ECDHE
 * key exchange, AES-GCM and ChaCha20-Poly1305 only. */
#define LV_TLS_PRIORITIES                                                                                   \
	"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-256-GCM:+AES-128-GCM:+CHACHA20-POLY1305:" \
	"-MAC-ALL:+AEAD:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:%SERVER_PRECEDENCE"

/* Starts serving @node (borrowed: it must outlive the server).  On success
 * *@out owns the running server; stop and free it with lv_server_destroy. */
LV_EXPORT enum lv_status lv_server_start(struct lv_node *node, const struct lv_server_options *opt,
					 struct lv_server **out) LV_WARN_UNUSED;

/* The bound port (useful when started with port 0). */
LV_EXPORT uint16_t lv_server_port(const struct lv_server *srv);

/* True when this server speaks HTTPS. */
LV_EXPORT bool lv_server_tls(const struct lv_server *srv);

/* Replaces the certificate and key of a running HTTPS server (SIGHUP):
 * new handshakes use them; connections already open keep theirs.  The
 * PEM is borrowed for the call.  On failure (LV_ERR_INVALID: not PEM, or
 * the key does not match the certificate; LV_ERR_UNSUPPORTED: @srv has
 * no TLS) the server goes on with the old pair. */
LV_EXPORT enum lv_status lv_server_tls_reload(struct lv_server *srv, const char *cert_pem, size_t cert_len,
					      const char *key_pem, size_t key_len) LV_WARN_UNUSED;

/* Stops accepting, waits for in-flight requests, frees.  NULL is a no-op. */
LV_EXPORT void lv_server_destroy(struct lv_server *srv);

#ifdef __cplusplus
}
#endif
#endif
