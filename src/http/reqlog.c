/* The process's log (lv_log_*) and the request line built on it.  One
 * line per event, written with one fwrite under the stream's lock so that
 * lines of concurrent workers never interleave. */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "learnvault/server.h"
#include "reqlog.h"

static _Atomic int log_level = LV_LOG_INFO;
static _Atomic int log_format = LV_LOG_TEXT;

/* A line past LOG_LINE_MAX is cut there: a failed append is ignored. */
#define CUT(call) ((void)!(call))

static const char *const LEVELS[] = {"error", "warn", "info", "debug"};

void lv_log_configure(enum lv_log_level level, enum lv_log_format format)
{
	atomic_store(&log_level, (int)level);
	atomic_store(&log_format, (int)format);
}

bool lv_log_enabled(enum lv_log_level level)
{
	return (int)level <= atomic_load(&log_level);
}

const char *lv_log_level_str(enum lv_log_level level)
{
	return (unsigned)level < 4 ? LEVELS[level] : "info";
}

bool lv_log_level_parse(const char *s, enum lv_log_level *out)
{
	for (int i = 0; s && i < 4; i++)
		if (strcmp(s, LEVELS[i]) == 0) {
			*out = (enum lv_log_level)i;
			return true;
		}
	return false;
}

bool lv_log_format_parse(const char *s, enum lv_log_format *out)
{
	if (s && strcmp(s, "text") == 0)
		*out = LV_LOG_TEXT;
	else if (s && strcmp(s, "json") == 0)
		*out = LV_LOG_JSON;
	else
		return false;
	return true;
}

/* A text value: printable bytes kept (UTF-8 too), control bytes as '?';
 * quoted with \" and \\ escaped when it holds a space, a quote or '=',
 * so that a line always splits back into its fields. */
static void text_value(struct buf *b, const char *v)
{
	bool quote = !*v || strpbrk(v, " \"=\\") != NULL;
	if (quote)
		CUT(buf_append(b, "\"", 1));
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		char c = (char)(*p < 0x20 || *p == 0x7f ? '?' : *p);
		if (quote && (c == '"' || c == '\\'))
			CUT(buf_append(b, "\\", 1));
		CUT(buf_append(b, &c, 1));
	}
	if (quote)
		CUT(buf_append(b, "\"", 1));
}

static void text_line(struct buf *b, const char *t, enum lv_log_level level, const char *event,
		      const struct lv_log_field *f, size_t n)
{
	CUT(buf_printf(b, "%s %s %s", t, lv_log_level_str(level), event));
	for (size_t i = 0; i < n; i++) {
		CUT(buf_printf(b, " %s=", f[i].key));
		if (f[i].text)
			text_value(b, f[i].text);
		else
			CUT(buf_printf(b, "%lld", f[i].number));
	}
}

/* JSON through cJSON: its escaping of control bytes and quotes is the
 * one the rest of the node trusts. */
static void json_line(struct buf *b, const char *t, enum lv_log_level level, const char *event,
		      const struct lv_log_field *f, size_t n)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "time", t);
	cJSON_AddStringToObject(o, "level", lv_log_level_str(level));
	cJSON_AddStringToObject(o, "event", event);
	for (size_t i = 0; i < n; i++) {
		if (f[i].text)
			cJSON_AddStringToObject(o, f[i].key, f[i].text);
		else
			cJSON_AddNumberToObject(o, f[i].key, (double)f[i].number);
	}
	char *s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (s)
		CUT(buf_append_str(b, s));
	else
		CUT(buf_printf(b, "{\"time\":\"%s\",\"level\":\"error\",\"event\":\"log_out_of_memory\"}", t));
	free(s);
}

/* A log line is at most this long; a longer one is cut (and still ends
 * with a newline). */
#define LOG_LINE_MAX 4096

void lv_log_fields(enum lv_log_level level, const char *event, const struct lv_log_field *f, size_t n)
{
	if (!lv_log_enabled(level))
		return;
	char t[UTIL_TIME_LEN];
	util_time_format(util_now_ms(), t);
	struct buf b;
	buf_init(&b, LOG_LINE_MAX);
	if (atomic_load(&log_format) == LV_LOG_JSON)
		json_line(&b, t, level, event, f, n);
	else
		text_line(&b, t, level, event, f, n);
	flockfile(stderr);
	if (b.data)
		fwrite(b.data, 1, b.len, stderr);
	fputc('\n', stderr);
	fflush(stderr);
	funlockfile(stderr);
	buf_free(&b);
}

void lv_log_message(enum lv_log_level level, const char *event, const char *fmt, ...)
{
	if (!lv_log_enabled(level))
		return;
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	struct lv_log_field f = {"message", msg, 0};
	lv_log_fields(level, event, &f, 1);
}

void reqlog_note_reply(struct http_req *r, unsigned status, const void *data, size_t len)
{
	r->log_status = status;
	r->log_bytes = len;
	/* Error bodies are small JSON objects; anything else keeps "-". */
	if (status < 400 || r->log_error[0] || len > 65536)
		return;
	cJSON *o = cJSON_ParseWithLength(data, len);
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, "error");
	if (cJSON_IsString(e))
		snprintf(r->log_error, sizeof r->log_error, "%s", e->valuestring);
	cJSON_Delete(o);
}

void reqlog_request(const struct http_req *r)
{
	unsigned st = r->log_status;
	enum lv_log_level level = st >= 500 ? LV_LOG_ERROR : st >= 400 ? LV_LOG_WARN : st ? LV_LOG_INFO : LV_LOG_DEBUG;
	if (!lv_log_enabled(level))
		return;
	struct lv_log_field f[9] = {
		{"method", r->wire_method, 0},
		{"route", r->route ? r->route : "-", 0},
		{"status", NULL, st},
		{"bytes", NULL, (long long)r->log_bytes},
		{"ms", NULL, (long long)(util_now_ms() - r->start_ms)},
		/* Only a credential that authenticated (a header, a session
		 * cookie, a /session login): an id the client merely sent is in
		 * the auth-failure line, not here. */
		{"credential", r->authenticated ? r->who.id : r->log_credential[0] ? r->log_credential : "-", 0},
		{"role", r->authenticated ? lv_role_str(r->who.role) : r->log_credential[0] ? lv_role_str(r->log_role) : "-", 0},
	};
	size_t n = 7;
	if (st >= 400)
		f[n++] = (struct lv_log_field){"error", r->log_error[0] ? r->log_error : "-", 0};
	lv_log_fields(level, "request", f, n);
}
