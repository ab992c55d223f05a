/* config check: validates the server's configuration (config.h). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "config.h"

/* learnvault config check [FILE]: the file (FILE, else LEARNVAULT_CONFIG,
 * else /etc/learnvault/learnvault.conf if it exists) and the environment,
 * as serve would read them.  Prints the effective configuration as one
 * JSON object (nothing in it is secret: config.h) and exits 0, or prints
 * every error, FILE:LINE first, and exits 1. */
int cmd_config(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[argc - 1], "--help") == 0) {
		puts("usage: learnvault config check [FILE]\n"
		     "Reads FILE (else LEARNVAULT_CONFIG, else /etc/learnvault/learnvault.conf if it exists) and the\n"
		     "LEARNVAULT_* variables as serve would; prints the effective configuration as JSON, or every\n"
		     "error as FILE:LINE and exits 1 (docs/running.md).");
		return 0;
	}
	if (argc < 2 || strcmp(argv[1], "check") != 0 || argc > 3 || (argc == 3 && argv[2][0] == '-'))
		return cli_fail("usage: config check [FILE]") + 1;
	struct config c;
	config_init(&c);
	bool must_exist;
	const char *path = config_file_path(argc == 3 ? argv[2] : NULL, &must_exist);
	config_load_file(&c, path, must_exist);
	config_load_env(&c);
	int rc = 0;
	if (c.nerrors) {
		for (const char *l = c.errors.data, *nl; l && *l; l = nl + 1) {
			nl = strchr(l, '\n');
			cli_fail("%.*s", (int)(nl - l), l);
		}
		if (c.nerrors > CONFIG_ERRORS_MAX)
			cli_fail("... and %u more errors", c.nerrors - CONFIG_ERRORS_MAX);
		rc = 1;
	} else {
		rc = cli_print(config_json(&c));
	}
	config_free(&c);
	return rc;
}
