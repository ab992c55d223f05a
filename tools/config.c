/* The server's configuration: file, environment, flags (config.h). */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "learnvault/server.h"

extern char **environ;

enum kind { K_PATH, K_LISTEN, K_UINT, K_BOOL, K_LEVEL, K_FORMAT };

/* One row per key: its name (file and flag), how its value is checked,
 * and for numbers the accepted range.  docs/running.md has the same table
 * for people; test-config checks that every key here is in it. */
static const struct {
	const char *name;
	enum kind kind;
	unsigned long long min, max;
} KEYS[CK_COUNT] = {
	[CK_DATA] = {"data", K_PATH, 0, 0},
	[CK_LISTEN] = {"listen", K_LISTEN, 0, 0},
	[CK_THREADS] = {"threads", K_UINT, 1, 256},
	[CK_PASSPHRASE_FILE] = {"passphrase-file", K_PATH, 0, 0},
	[CK_TLS_CERT] = {"tls-cert", K_PATH, 0, 0},
	[CK_TLS_KEY] = {"tls-key", K_PATH, 0, 0},
	[CK_SECURE_COOKIES] = {"secure-cookies", K_BOOL, 0, 0},
	[CK_LOG_LEVEL] = {"log-level", K_LEVEL, 0, 0},
	[CK_LOG_FORMAT] = {"log-format", K_FORMAT, 0, 0},
	[CK_MAX_BODY_BYTES] = {"max-body-bytes", K_UINT, 1024, 1ull << 30},
	[CK_MAX_CONNECTIONS] = {"max-connections", K_UINT, 1, 1000000},
	[CK_MAX_CONNECTIONS_PER_IP] = {"max-connections-per-ip", K_UINT, 1, 1000000},
	[CK_REQUEST_DEADLINE_SECONDS] = {"request-deadline-seconds", K_UINT, 1, 3600},
	[CK_MIN_BODY_RATE] = {"min-body-rate", K_UINT, 1, 1000000000},
	[CK_AUTH_MAX_FAILURES] = {"auth-max-failures", K_UINT, 1, 1000000},
	[CK_AUTH_WINDOW_SECONDS] = {"auth-window-seconds", K_UINT, 1, 86400},
};

static const char *const SOURCES[] = {"default", "file", "env", "flag"};

/* A value is quoted in a message only up to this many characters (it may
 * be a long line of something else). */
#define ECHO_MAX 40

void config_init(struct config *c)
{
	memset(c, 0, sizeof *c);
	buf_init(&c->errors, 64 << 10);
}

void config_free(struct config *c)
{
	for (int k = 0; k < CK_COUNT; k++)
		free(c->value[k]);
	buf_free(&c->errors);
	memset(c, 0, sizeof *c);
}

enum config_key config_key_find(const char *name)
{
	for (int k = 0; k < CK_COUNT; k++)
		if (strcmp(name, KEYS[k].name) == 0)
			return (enum config_key)k;
	return CK_COUNT;
}

const char *config_key_name(enum config_key k)
{
	return k < CK_COUNT ? KEYS[k].name : "?";
}

bool config_key_is_switch(enum config_key k)
{
	return k < CK_COUNT && KEYS[k].kind == K_BOOL;
}

static void add_error(struct config *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_error(struct config *c, const char *fmt, ...)
{
	if (c->nerrors++ >= CONFIG_ERRORS_MAX)
		return;
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	/* The cap only drops errors past it: nothing else to do. */
	(void)!buf_printf(&c->errors, "%s\n", line);
}

/* Printable text: no control byte (a value is one line of a file). */
static bool printable(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

/* HOST:PORT with a port from 0 to 65535 and a host (serve says more about
 * the host when it starts). */
static bool listen_ok(const char *s)
{
	const char *colon = strrchr(s, ':');
	if (!colon || colon == s || !colon[1] || strlen(colon + 1) > 5)
		return false;
	for (const char *p = colon + 1; *p; p++)
		if (!isdigit((unsigned char)*p))
			return false;
	return strtoul(colon + 1, NULL, 10) <= 65535; /* at most 5 digits: no overflow */
}

static bool uint_ok(const char *s, unsigned long long min, unsigned long long max)
{
	if (!isdigit((unsigned char)s[0]))
		return false;
	char *end = NULL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	return errno == 0 && *end == '\0' && v >= min && v <= max;
}

/* Says what @k accepts, after "@where takes ". */
static void describe(enum config_key k, char *out, size_t n)
{
	switch (KEYS[k].kind) {
	case K_UINT:
		snprintf(out, n, "a whole number from %llu to %llu", KEYS[k].min, KEYS[k].max);
		break;
	case K_BOOL:
		snprintf(out, n, "true or false");
		break;
	case K_LEVEL:
		snprintf(out, n, "error, warn, info or debug");
		break;
	case K_FORMAT:
		snprintf(out, n, "text or json");
		break;
	case K_LISTEN:
		snprintf(out, n, "HOST:PORT, PORT from 0 to 65535: a name (localhost:8080), an IPv4 address"
			 " (127.0.0.1:8080) or an IPv6 address in brackets ([::1]:8080)");
		break;
	case K_PATH:
		snprintf(out, n, "a file or directory name");
		break;
	}
}

static bool value_ok(enum config_key k, const char *v)
{
	enum lv_log_level lv;
	enum lv_log_format lf;
	if (!*v || strlen(v) > CONFIG_VALUE_MAX || !printable(v))
		return false;
	switch (KEYS[k].kind) {
	case K_UINT:
		return uint_ok(v, KEYS[k].min, KEYS[k].max);
	case K_BOOL:
		return strcmp(v, "true") == 0 || strcmp(v, "false") == 0;
	case K_LEVEL:
		return lv_log_level_parse(v, &lv);
	case K_FORMAT:
		return lv_log_format_parse(v, &lf);
	case K_LISTEN:
		return listen_ok(v);
	case K_PATH:
		return true;
	}
	return false;
}

bool config_set(struct config *c, enum config_key k, const char *value, enum config_source src,
		const char *where)
{
	if (!value_ok(k, value)) {
		char what[192];
		describe(k, what, sizeof what);
		add_error(c, "%s takes %s, not \"%.*s\"", where, what, ECHO_MAX, value);
		return false;
	}
	char *copy = strdup(value);
	if (!copy) {
		add_error(c, "%s: out of memory", where);
		return false;
	}
	free(c->value[k]);
	c->value[k] = copy;
	c->source[k] = src;
	return true;
}

/* @s with the blanks at both ends cut off (in place). */
static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

/* One line of @path: blank, comment or key = value.  @seen marks the
 * keys the file set already (a second one is a mistake). */
static void file_line(struct config *c, const char *path, unsigned lineno, char *line, bool seen[CK_COUNT])
{
	char *s = trim(line);
	if (!*s || *s == '#')
		return;
	char *eq = strchr(s, '=');
	if (!eq) {
		add_error(c, "%s:%u: expected key = value", path, lineno);
		return;
	}
	*eq = '\0';
	char *key = trim(s), *value = trim(eq + 1);
	enum config_key k = config_key_find(key);
	if (k == CK_COUNT) {
		add_error(c, "%s:%u: unknown key \"%.*s\"", path, lineno, ECHO_MAX, key);
		return;
	}
	if (seen[k]) {
		add_error(c, "%s:%u: %s is set twice", path, lineno, key);
		return;
	}
	seen[k] = true;
	char where[4200];
	snprintf(where, sizeof where, "%s:%u: %s", path, lineno, key);
	config_set(c, k, value, CONFIG_FILE, where);
}

unsigned config_load_file(struct config *c, const char *path, bool must_exist)
{
	unsigned before = c->nerrors;
	char *text = NULL;
	size_t len = 0;
	FILE *probe = fopen(path, "r");
	if (!probe) {
		if (must_exist || errno != ENOENT)
			add_error(c, "%s: cannot read the configuration file: %s", path, strerror(errno));
		return c->nerrors - before;
	}
	fclose(probe);
	if (util_read_file(path, CONFIG_FILE_MAX, &text, &len) != LV_OK) {
		add_error(c, "%s: cannot read the configuration file (over %u bytes?)", path, CONFIG_FILE_MAX);
		return c->nerrors - before;
	}
	snprintf(c->file, sizeof c->file, "%s", path);
	if (memchr(text, '\0', len))
		add_error(c, "%s: holds a NUL byte: not a text file", path);
	bool seen[CK_COUNT] = {0};
	unsigned lineno = 0;
	/* Every line is checked, after an error too: all mistakes at once. */
	for (char *line = text, *next; line && line < text + len; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		file_line(c, path, ++lineno, line, seen);
	}
	free(text);
	return c->nerrors - before;
}

/* LEARNVAULT_ + @name in capitals, '-' as '_'. */
static void env_name(const char *name, char *out, size_t n)
{
	size_t j = (size_t)snprintf(out, n, "LEARNVAULT_");
	for (; *name && j + 1 < n; name++)
		out[j++] = *name == '-' ? '_' : (char)toupper((unsigned char)*name);
	out[j] = '\0';
}

unsigned config_load_env(struct config *c)
{
	unsigned before = c->nerrors;
	for (char **e = environ; e && *e; e++) {
		if (strncmp(*e, "LEARNVAULT_", 11) != 0)
			continue;
		const char *eq = strchr(*e, '=');
		size_t nl = eq ? (size_t)(eq - *e) : strlen(*e);
		if (nl == 17 && strncmp(*e, "LEARNVAULT_CONFIG", 17) == 0)
			continue; /* names the file: config_file_path */
		enum config_key k = CK_COUNT;
		char name[64];
		for (int i = 0; i < CK_COUNT && k == CK_COUNT; i++) {
			env_name(KEYS[i].name, name, sizeof name);
			if (strlen(name) == nl && strncmp(*e, name, nl) == 0)
				k = (enum config_key)i;
		}
		if (k == CK_COUNT) {
			add_error(c, "%.*s: no such setting (docs/running.md lists them)", (int)(nl < 64 ? nl : 64), *e);
			continue;
		}
		config_set(c, k, eq ? eq + 1 : "", CONFIG_ENV, name);
	}
	return c->nerrors - before;
}

const char *config_file_path(const char *flag, bool *must_exist)
{
	const char *env = getenv("LEARNVAULT_CONFIG");
	*must_exist = true;
	if (flag)
		return flag;
	if (env && *env)
		return env;
	*must_exist = false;
	return CONFIG_DEFAULT_FILE;
}

cJSON *config_json(const struct config *c)
{
	cJSON *o = cJSON_CreateObject();
	if (c->file[0])
		cJSON_AddStringToObject(o, "file", c->file);
	else
		cJSON_AddNullToObject(o, "file");
	cJSON *set = cJSON_AddObjectToObject(o, "settings");
	for (int k = 0; k < CK_COUNT; k++) {
		if (!c->value[k])
			continue;
		cJSON *e = cJSON_AddObjectToObject(set, KEYS[k].name);
		if (KEYS[k].kind == K_UINT)
			cJSON_AddNumberToObject(e, "value", (double)strtoull(c->value[k], NULL, 10));
		else if (KEYS[k].kind == K_BOOL)
			cJSON_AddBoolToObject(e, "value", strcmp(c->value[k], "true") == 0);
		else
			cJSON_AddStringToObject(e, "value", c->value[k]);
		cJSON_AddStringToObject(e, "source", SOURCES[c->source[k]]);
	}
	return o;
}

unsigned long long config_uint(const struct config *c, enum config_key k, unsigned long long dflt)
{
	return c->value[k] ? strtoull(c->value[k], NULL, 10) : dflt;
}

int config_gather(struct config *c, int argc, char **argv, int first, const char *cmd)
{
	struct option lo[CK_COUNT + 3];
	const char *flag[CK_COUNT] = {0}, *config_flag = NULL;
	for (int k = 0; k < CK_COUNT; k++)
		lo[k] = (struct option){KEYS[k].name, KEYS[k].kind == K_BOOL ? no_argument : required_argument, NULL, k};
	lo[CK_COUNT] = (struct option){"config", required_argument, NULL, CK_COUNT};
	lo[CK_COUNT + 1] = (struct option){"help", no_argument, NULL, CK_COUNT + 1};
	lo[CK_COUNT + 2] = (struct option){0, 0, 0, 0};
	int o;
	optind = first;
	while ((o = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (o == CK_COUNT + 1)
			return CONFIG_HELP;
		if (o < 0 || o > CK_COUNT)
			return -1;
		if (o == CK_COUNT)
			config_flag = optarg;
		else
			flag[o] = optarg ? optarg : "true";
	}
	int operands = optind;
	bool must_exist;
	const char *path = config_file_path(config_flag, &must_exist);
	config_load_file(c, path, must_exist);
	config_load_env(c);
	for (int k = 0; k < CK_COUNT; k++) {
		if (!flag[k])
			continue;
		char where[96];
		snprintf(where, sizeof where, "%s --%s", cmd, KEYS[k].name);
		config_set(c, (enum config_key)k, flag[k], CONFIG_FLAG, where);
	}
	return operands;
}
