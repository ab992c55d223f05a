/* The server's configuration (tools/config.c): the file's strict syntax
 * with FILE:LINE errors, LEARNVAULT_* variables, the precedence flag >
 * environment > file, the table in docs/running.md; then through the CLI:
 * `learnvault config check` and serve reading all three. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "harness.h"

/* Writes @text to @name in a fresh directory; the path (static). */
static const char *write_conf(const char *name, const char *text)
{
	static char path[700];
	snprintf(path, sizeof path, "%s/%s", th_tmpdir(), name);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	return path;
}

/* No LEARNVAULT_* variable from the caller's environment leaks in. */
static void clean_env(void)
{
	extern char **environ;
	for (int again = 1; again;) {
		again = 0;
		for (char **e = environ; e && *e; e++) {
			if (strncmp(*e, "LEARNVAULT_", 11) != 0)
				continue;
			char name[128];
			snprintf(name, sizeof name, "%.*s", (int)strcspn(*e, "="), *e);
			unsetenv(name);
			again = 1;
			break;
		}
	}
}

static bool errors_hold(const struct config *c, const char *needle)
{
	return c->errors.data && strstr(c->errors.data, needle) != NULL;
}

START_TEST(file_accepted)
{
	clean_env();
	const char *p = write_conf("ok.conf", "# learnvault\n\n"
					      "data = /srv/learnvault\n"
					      "  listen=0.0.0.0:8443  \n"
					      "\tthreads = 4\n"
					      "tls-cert = /etc/ssl/lv #1.crt\n"
					      "secure-cookies = false\n"
					      "log-level = debug\n"
					      "log-format = json\n"
					      "request-deadline-seconds = 45\r\n"
					      "   # indented comment\n");
	struct config c;
	config_init(&c);
	ck_assert_uint_eq(config_load_file(&c, p, true), 0);
	ck_assert_str_eq(c.file, p);
	ck_assert_str_eq(c.value[CK_DATA], "/srv/learnvault");
	ck_assert_str_eq(c.value[CK_LISTEN], "0.0.0.0:8443");
	ck_assert_str_eq(c.value[CK_TLS_CERT], "/etc/ssl/lv #1.crt"); /* '#' inside a value is the value's */
	ck_assert_str_eq(c.value[CK_SECURE_COOKIES], "false");
	ck_assert_uint_eq(config_uint(&c, CK_THREADS, 0), 4);
	ck_assert_uint_eq(config_uint(&c, CK_REQUEST_DEADLINE_SECONDS, 0), 45);
	ck_assert_uint_eq(config_uint(&c, CK_MAX_CONNECTIONS, 77), 77); /* unset: the default */
	ck_assert_int_eq(c.source[CK_THREADS], CONFIG_FILE);
	ck_assert_ptr_null(c.value[CK_TLS_KEY]);
	config_free(&c);
}
END_TEST

/* Every bad line is reported with its number; the good ones still count. */
START_TEST(file_errors_name_their_line)
{
	clean_env();
	const char *p = write_conf("bad.conf", "data = /srv/lv\n"
					       "# fine\n"
					       "colour = blue\n"
					       "threads = 0\n"
					       "just some words\n"
					       "data = /elsewhere\n"
					       "log-level =\n"
					       "log-format = xml\n"
					       "secure-cookies = yes\n"
					       "listen = localhost\n"
					       "max-body-bytes = 12abc\n"
					       "threads = 8\n");
	struct config c;
	config_init(&c);
	ck_assert_uint_eq(config_load_file(&c, p, true), 10);
	char want[900];
	const char *each[] = {":3: unknown key \"colour\"", ":4: threads takes a whole number from 1 to 256, not \"0\"",
			      ":5: expected key = value", ":6: data is set twice", ":7: log-level takes error, warn, info or debug, not \"\"",
			      ":8: log-format takes text or json, not \"xml\"", ":9: secure-cookies takes true or false",
			      ":10: listen takes HOST:PORT", ":11: max-body-bytes takes a whole number",
			      ":12: threads is set twice"}; /* even after a bad first value */
	for (size_t i = 0; i < sizeof each / sizeof each[0]; i++) {
		snprintf(want, sizeof want, "%s%s", p, each[i]);
		ck_assert_msg(errors_hold(&c, want), "missing '%s' in:\n%s", want, c.errors.data);
	}
	ck_assert_str_eq(c.value[CK_DATA], "/srv/lv");
	ck_assert_ptr_null(c.value[CK_THREADS]);
	config_free(&c);
}
END_TEST

START_TEST(file_missing_or_binary)
{
	clean_env();
	struct config c;
	config_init(&c);
	ck_assert_uint_eq(config_load_file(&c, "/nonexistent/lv.conf", false), 0);
	ck_assert_str_eq(c.file, "");
	ck_assert_uint_eq(config_load_file(&c, "/nonexistent/lv.conf", true), 1);
	ck_assert(errors_hold(&c, "/nonexistent/lv.conf: cannot read the configuration file"));
	config_free(&c);
	/* A control byte in a value; a value past the cap. */
	char *big = malloc(CONFIG_VALUE_MAX + 64);
	ck_assert_ptr_nonnull(big);
	int n = snprintf(big, 64, "threads = 2\ndata = a\001b\ntls-key = ");
	memset(big + n, 'k', CONFIG_VALUE_MAX + 1);
	big[n + CONFIG_VALUE_MAX + 1] = '\0';
	const char *p = write_conf("ctl.conf", big);
	free(big);
	config_init(&c);
	ck_assert_uint_eq(config_load_file(&c, p, true), 2);
	ck_assert(errors_hold(&c, ":2: data takes a file or directory name"));
	ck_assert(errors_hold(&c, ":3: tls-key takes a file or directory name"));
	config_free(&c);
}
END_TEST

START_TEST(environment_variables)
{
	clean_env();
	setenv("LEARNVAULT_THREADS", "3", 1);
	setenv("LEARNVAULT_PASSPHRASE_FILE", "/run/secrets/lv", 1);
	setenv("LEARNVAULT_MAX_CONNECTIONS_PER_IP", "9", 1);
	setenv("LEARNVAULT_CONFIG", "/ignored/here.conf", 1); /* names the file, no setting */
	struct config c;
	config_init(&c);
	ck_assert_uint_eq(config_load_env(&c), 0);
	ck_assert_uint_eq(config_uint(&c, CK_THREADS, 0), 3);
	ck_assert_int_eq(c.source[CK_THREADS], CONFIG_ENV);
	ck_assert_str_eq(c.value[CK_PASSPHRASE_FILE], "/run/secrets/lv");
	ck_assert_uint_eq(config_uint(&c, CK_MAX_CONNECTIONS_PER_IP, 0), 9);
	config_free(&c);
	setenv("LEARNVAULT_LOG_FORMAT", "xml", 1);
	setenv("LEARNVAULT_THREAD", "2", 1); /* a typo */
	config_init(&c);
	ck_assert_uint_eq(config_load_env(&c), 2);
	ck_assert(errors_hold(&c, "LEARNVAULT_LOG_FORMAT takes text or json, not \"xml\""));
	ck_assert(errors_hold(&c, "LEARNVAULT_THREAD: no such setting"));
	config_free(&c);
	clean_env();
}
END_TEST

/* --config, else LEARNVAULT_CONFIG, else the default (whose absence is fine). */
START_TEST(which_file)
{
	clean_env();
	bool must;
	ck_assert_str_eq(config_file_path(NULL, &must), CONFIG_DEFAULT_FILE);
	ck_assert(!must);
	setenv("LEARNVAULT_CONFIG", "/e.conf", 1);
	ck_assert_str_eq(config_file_path(NULL, &must), "/e.conf");
	ck_assert(must);
	ck_assert_str_eq(config_file_path("/f.conf", &must), "/f.conf");
	ck_assert(must);
	clean_env();
}
END_TEST

/* A flag beats the environment, which beats the file. */
START_TEST(precedence)
{
	clean_env();
	const char *p = write_conf("p.conf", "threads = 2\nlog-format = json\nlog-level = warn\n");
	char path[700];
	snprintf(path, sizeof path, "%s", p);
	setenv("LEARNVAULT_CONFIG", path, 1);
	setenv("LEARNVAULT_THREADS", "3", 1);
	setenv("LEARNVAULT_LOG_FORMAT", "text", 1);
	char *argv[] = {"serve", "--threads", "5", "--secure-cookies", "--data", "/d", "extra", NULL};
	struct config c;
	config_init(&c);
	ck_assert_int_eq(config_gather(&c, 7, argv, 1, "serve"), 6);
	ck_assert_uint_eq(c.nerrors, 0);
	ck_assert_uint_eq(config_uint(&c, CK_THREADS, 0), 5);
	ck_assert_int_eq(c.source[CK_THREADS], CONFIG_FLAG);
	ck_assert_str_eq(c.value[CK_LOG_FORMAT], "text");
	ck_assert_int_eq(c.source[CK_LOG_FORMAT], CONFIG_ENV);
	ck_assert_str_eq(c.value[CK_LOG_LEVEL], "warn");
	ck_assert_int_eq(c.source[CK_LOG_LEVEL], CONFIG_FILE);
	ck_assert_str_eq(c.value[CK_SECURE_COOKIES], "true");
	config_free(&c);
	/* A bad flag is named as the flag (serve's message since before). */
	char *bad[] = {"serve", "--threads", "abc", NULL};
	config_init(&c);
	config_gather(&c, 3, bad, 1, "serve");
	ck_assert_uint_eq(c.nerrors, 1);
	ck_assert(errors_hold(&c, "serve --threads takes a whole number from 1 to 256, not \"abc\""));
	ck_assert_uint_eq(config_uint(&c, CK_THREADS, 0), 3); /* the environment's stands */
	config_free(&c);
	clean_env();
}
END_TEST

/* Every key is in docs/running.md's table, with its variable. */
START_TEST(every_key_documented)
{
	char *doc = NULL;
	size_t n = 0;
	ck_assert_int_eq(util_read_file(th_src("docs/running.md"), 1u << 20, &doc, &n), LV_OK);
	for (int k = 0; k < CK_COUNT; k++) {
		char row[160], var[96];
		const char *name = config_key_name((enum config_key)k);
		snprintf(row, sizeof row, "| `%s` |", name);
		size_t j = (size_t)snprintf(var, sizeof var, "`LEARNVAULT_");
		for (const char *q = name; *q; q++)
			var[j++] = *q == '-' ? '_' : (char)(*q >= 'a' && *q <= 'z' ? *q - 32 : *q);
		snprintf(var + j, sizeof var - j, "`");
		ck_assert_msg(strstr(doc, row), "docs/running.md lacks the row %s", row);
		ck_assert_msg(strstr(doc, var), "docs/running.md lacks %s", var);
	}
	ck_assert_int_eq(config_key_find("no-such-key"), CK_COUNT);
	free(doc);
}
END_TEST

/* ---- through the CLI ---- */

static int run(const char *args, char **out, const char *errf)
{
	return th_run_cli(args, out, errf);
}

START_TEST(cli_config_check)
{
	clean_env();
	const char *p = write_conf("lv.conf", "data = /srv/lv\nthreads = 4\ntls-key = /etc/lv/key.pem\n");
	char path[700], errf[760], args[1600], *out = NULL;
	snprintf(path, sizeof path, "%s", p);
	snprintf(errf, sizeof errf, "%s.err", path);
	setenv("LEARNVAULT_THREADS", "6", 1);
	snprintf(args, sizeof args, "config check '%s'", path);
	ck_assert_int_eq(run(args, &out, errf), 0);
	cJSON *o = cJSON_Parse(out);
	ck_assert_msg(o != NULL, "%s", out);
	ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "file")), path);
	const cJSON *set = cJSON_GetObjectItemCaseSensitive(o, "settings");
	const cJSON *th = cJSON_GetObjectItemCaseSensitive(set, "threads");
	ck_assert_double_eq(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(th, "value")), 6);
	ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(th, "source")), "env");
	const cJSON *data = cJSON_GetObjectItemCaseSensitive(set, "data");
	ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(data, "source")), "file");
	cJSON_Delete(o);
	free(out);
	clean_env();
	/* The example installed as /etc/learnvault/learnvault.conf is valid. */
	snprintf(args, sizeof args, "config check '%s'", th_src("dist/learnvault.conf"));
	ck_assert_int_eq(run(args, &out, errf), 0);
	free(out);
	/* Errors: every one, FILE:LINE first, exit 1, nothing on stdout. */
	p = write_conf("bad.conf", "threads = 4\nthreds = 4\nlog-level = loud\n");
	snprintf(path, sizeof path, "%s", p);
	snprintf(args, sizeof args, "config check '%s'", path);
	ck_assert_int_eq(run(args, &out, errf), 1);
	ck_assert_str_eq(out, "");
	free(out);
	char want[900];
	snprintf(want, sizeof want, "learnvault: %s:2: unknown key \"threds\"", path);
	ck_assert(th_file_contains(errf, want));
	snprintf(want, sizeof want, "learnvault: %s:3: log-level takes error, warn, info or debug, not \"loud\"", path);
	ck_assert(th_file_contains(errf, want));
	/* A named file that does not exist; LEARNVAULT_CONFIG names the file too. */
	ck_assert_int_eq(run("config check /nonexistent/lv.conf", &out, errf), 1);
	free(out);
	ck_assert(th_file_contains(errf, "/nonexistent/lv.conf: cannot read the configuration file"));
	setenv("LEARNVAULT_CONFIG", path, 1);
	ck_assert_int_eq(run("config check", &out, errf), 1);
	free(out);
	ck_assert(th_file_contains(errf, ":2: unknown key"));
	clean_env();
	ck_assert_int_eq(run("config", &out, errf), 2);
	free(out);
	ck_assert(th_file_contains(errf, "usage: config check [FILE]"));
	ck_assert_int_eq(run("config check --help", &out, errf), 0);
	ck_assert_ptr_nonnull(strstr(out, "usage: learnvault config check [FILE]"));
	free(out);
	/* serve --help: its usage on stdout, exit 0, nothing read or opened. */
	setenv("LEARNVAULT_NO_SUCH", "1", 1);
	ck_assert_int_eq(run("serve --help", &out, errf), 0);
	ck_assert_ptr_nonnull(strstr(out, "--tls-cert PEM --tls-key PEM"));
	for (int k = 0; k < CK_COUNT; k++) { /* every key is a flag the usage names */
		char flag[64];
		snprintf(flag, sizeof flag, "--%s", config_key_name((enum config_key)k));
		ck_assert_msg(strstr(out, flag), "serve --help lacks %s", flag);
	}
	free(out);
	clean_env();
}
END_TEST

/* serve reads the file, the environment and its flags in that order: the
 * format of its first log line (a warning, before it opens the missing
 * node) shows which won. */
START_TEST(cli_serve_precedence)
{
	clean_env();
	const char *p = write_conf("s.conf", "log-format = json\nlisten = 0.0.0.0:0\n");
	char path[700], errf[760], args[1600], *out = NULL;
	snprintf(path, sizeof path, "%s", p);
	snprintf(errf, sizeof errf, "%s.err", path);
	snprintf(args, sizeof args, "serve --data /nonexistent/lv --config '%s'", path);
	ck_assert_int_eq(run(args, &out, errf), 1);
	free(out);
	ck_assert(th_file_contains(errf, "{\"time\":"));
	ck_assert(th_file_contains(errf, "\"event\":\"insecure-listen\""));
	setenv("LEARNVAULT_LOG_FORMAT", "text", 1);
	ck_assert_int_eq(run(args, &out, errf), 1);
	free(out);
	ck_assert(!th_file_contains(errf, "{\"time\":"));
	ck_assert(th_file_contains(errf, " warn insecure-listen message="));
	snprintf(args, sizeof args, "serve --data /nonexistent/lv --config '%s' --log-format json", path);
	ck_assert_int_eq(run(args, &out, errf), 1);
	free(out);
	ck_assert(th_file_contains(errf, "\"event\":\"insecure-listen\""));
	/* A flag's listen beats the file's: loopback, no warning. */
	snprintf(args, sizeof args, "serve --data /nonexistent/lv --config '%s' --listen 127.0.0.1:0", path);
	ck_assert_int_eq(run(args, &out, errf), 1);
	free(out);
	ck_assert(!th_file_contains(errf, "insecure-listen"));
	ck_assert(th_file_contains(errf, "cannot open the node"));
	clean_env();
	/* A bad file stops serve before anything, exit 2, with its line. */
	p = write_conf("s2.conf", "threads = many\n");
	snprintf(path, sizeof path, "%s", p);
	snprintf(args, sizeof args, "serve --data /nonexistent/lv --config '%s'", path);
	ck_assert_int_eq(run(args, &out, errf), 2);
	free(out);
	char want[900];
	snprintf(want, sizeof want, "%s:1: threads takes a whole number from 1 to 256, not \"many\"", path);
	ck_assert(th_file_contains(errf, want));
	ck_assert(!th_file_contains(errf, "cannot open the node"));
	snprintf(args, sizeof args, "serve --data /nonexistent/lv --config /nonexistent/lv.conf");
	ck_assert_int_eq(run(args, &out, errf), 2);
	free(out);
	ck_assert(th_file_contains(errf, "/nonexistent/lv.conf: cannot read the configuration file"));
}
END_TEST

Suite *lv_test_suite(void)
{
	Suite *s = suite_create("config");
	TCase *u = tcase_create("unit");
	tcase_add_test(u, file_accepted);
	tcase_add_test(u, file_errors_name_their_line);
	tcase_add_test(u, file_missing_or_binary);
	tcase_add_test(u, environment_variables);
	tcase_add_test(u, which_file);
	tcase_add_test(u, precedence);
	tcase_add_test(u, every_key_documented);
	suite_add_tcase(s, u);
	TCase *c = tcase_create("cli");
	tcase_add_test(c, cli_config_check);
	tcase_add_test(c, cli_serve_precedence);
	suite_add_tcase(s, c);
	return s;
}
