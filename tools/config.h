/* The server's configuration (docs/running.md, "Configuration"): one file
 * of `key = value` lines, LEARNVAULT_<KEY> environment variables, and
 * serve's flags; a flag overrides the environment, which overrides the
 * file, which overrides the default.  Every key is also a flag of serve
 * (--KEY) and an environment variable (LEARNVAULT_ + the key in capitals,
 * '-' as '_').
 *
 * The file is strict: a line is blank, a comment (first non-blank
 * character '#'), or `key = value` with a known key and a valid value;
 * anything else is an error naming FILE:LINE.  A value runs to the end
 * of its line ('#' included), blanks around it trimmed; no quoting.  No
 * key holds a secret (the passphrase and the TLS key are files named by
 * the configuration, never in it), so the effective configuration can be
 * printed whole. */
#ifndef LV_TOOLS_CONFIG_H
#define LV_TOOLS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "learnvault/util.h"

enum config_key {
	CK_DATA,
	CK_LISTEN,
	CK_THREADS,
	CK_PASSPHRASE_FILE,
	CK_TLS_CERT,
	CK_TLS_KEY,
	CK_SECURE_COOKIES,
	CK_LOG_LEVEL,
	CK_LOG_FORMAT,
	CK_MAX_BODY_BYTES,
	CK_MAX_CONNECTIONS,
	CK_MAX_CONNECTIONS_PER_IP,
	CK_REQUEST_DEADLINE_SECONDS,
	CK_MIN_BODY_RATE,
	CK_AUTH_MAX_FAILURES,
	CK_AUTH_WINDOW_SECONDS,
	CK_COUNT
};

/* Where a value came from. */
enum config_source { CONFIG_DEFAULT, CONFIG_FILE, CONFIG_ENV, CONFIG_FLAG };

/* The file read when neither --config nor LEARNVAULT_CONFIG names one
 * (its absence is no error; a named file's is). */
#define CONFIG_DEFAULT_FILE "/etc/learnvault/learnvault.conf"

/* A file, a line or an environment variable's value is refused past these. */
#define CONFIG_FILE_MAX (64u << 10)
#define CONFIG_VALUE_MAX 4096u
/* At most this many errors are kept and said (a binary file would make
 * thousands); nerrors counts them all. */
#define CONFIG_ERRORS_MAX 50

struct config {
	char *value[CK_COUNT];            /* NULL: unset (the server's default) */
	enum config_source source[CK_COUNT];
	char file[4096];                  /* the file read, "" if none */
	struct buf errors;                /* "where: what\n" lines, capped */
	unsigned nerrors;
};

/* Empty configuration; release with config_free. */
void config_init(struct config *c);
void config_free(struct config *c);

/* The key named @name ("tls-cert"), or CK_COUNT. */
enum config_key config_key_find(const char *name);
const char *config_key_name(enum config_key k);
/* Whether @k is a flag without argument in serve (secure-cookies). */
bool config_key_is_switch(enum config_key k);

/* Validates @value for @k and stores a copy with @src, replacing what an
 * earlier (weaker) source set.  On a bad value, appends "@where takes ...,
 * not \"value\"" to c->errors and keeps the old value.  Returns whether
 * it was stored. */
bool config_set(struct config *c, enum config_key k, const char *value, enum config_source src,
		const char *where);

/* Reads @path into @c.  @must_exist false: a missing file is no error
 * (the default file).  Every bad line is an error; reading goes on to
 * report them all.  Returns the number of new errors. */
unsigned config_load_file(struct config *c, const char *path, bool must_exist);
/* Applies LEARNVAULT_<KEY> variables of the environment; a variable
 * naming no key is an error too (a typo would otherwise pass unseen).
 * Returns the number of new errors. */
unsigned config_load_env(struct config *c);

/* The file to read: @flag (--config) if set, else LEARNVAULT_CONFIG, else
 * CONFIG_DEFAULT_FILE; *@must_exist is false only for the default. */
const char *config_file_path(const char *flag, bool *must_exist);

/* The whole configuration of @cmd ("serve"): its flags in argv[@first..]
 * (every key as --KEY, a switch without argument, and --config FILE),
 * then the file (config_file_path), the environment, and the flags over
 * them.  Returns the index of the first operand, -1 after getopt has
 * said what was wrong (exit 2), or CONFIG_HELP for --help (nothing read).
 * Bad values are in c->errors, a flag's named "@cmd --KEY". */
#define CONFIG_HELP (-2)
int config_gather(struct config *c, int argc, char **argv, int first, const char *cmd);

/* The effective configuration as a JSON object: {"file": ..., "settings":
 * {key: {"value": ..., "source": "file|env|flag"}}} for each key set.
 * The caller owns it. */
cJSON *config_json(const struct config *c);

/* A whole number value of @k (already validated), or @dflt when unset. */
unsigned long long config_uint(const struct config *c, enum config_key k, unsigned long long dflt);

#endif
