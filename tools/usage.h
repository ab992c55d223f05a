/* learnvault CLI: the help text of every command, in one table.  The
 * binary prints it (`learnvault COMMAND --help`, the top-level usage) and
 * renders it as the man page learnvault(1) (`learnvault help --man`, run
 * by the build): one source for both. */
#ifndef LV_TOOLS_USAGE_H
#define LV_TOOLS_USAGE_H

#include <stdio.h>

/* One option of a command: @flag as written ("--data DIR"), @text what it
 * does (one sentence, no trailing period needed). */
struct cli_usage_opt {
	const char *flag;
	const char *text;
};

#define CLI_USAGE_MAX_OPTS 24

/* One command path ("credential add"): @synopsis is what follows the path
 * in the usage line, @summary one line, @details optional further
 * sentences, @opts ended by a zero entry. */
struct cli_usage {
	const char *path;
	const char *synopsis;
	const char *summary;
	const char *details;
	struct cli_usage_opt opts[CLI_USAGE_MAX_OPTS];
};

/* The table (static storage) and its length. */
extern const struct cli_usage cli_usages[];
extern const size_t cli_usage_count;

/* The entry whose whole path is the longest run of words argv[0..], with
 * *@words its length.  When more words match only the start of longer
 * paths (a group: "bench", "federate task"), returns NULL with *@words
 * that count, so the caller can list the group; no match: NULL, 0. */
const struct cli_usage *cli_usage_find(int argc, char *const *argv, int *words);
/* Prints the help of @u (never NULL) to @f. */
void cli_usage_print(FILE *f, const struct cli_usage *u);
/* Prints the usage line of every entry whose path starts with the @nwords
 * words @words (all of them when @nwords is 0). */
void cli_usage_list(FILE *f, char *const *words, int nwords);
/* Prints the whole table as a man page in roff (learnvault(1)). */
void cli_usage_man(FILE *f);

#endif
