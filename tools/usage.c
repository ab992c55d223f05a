/* The help text of every learnvault command (usage.h), and its three
 * renderings: one command's help, the usage list, the man page. */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "usage.h"

#define OPT_DATA {"--data DIR", "the node's data directory (made by init)"}
#define OPT_PASS {"--passphrase-file F", "the node's passphrase, first line of F (for nodes made with one)"}
#define OPT_LEARNER {"--learner P", "the learner's pseudonym (as learner add printed it)"}
#define CONSENT_OPTS                                                                                   \
	OPT_DATA, OPT_PASS, OPT_LEARNER, {"--policy ID", "the consent policy"},                       \
		{"--version N", "the policy version decided on (default: its current version)"},       \
		{"--as learner|guardian", "who decided, e.g. on a signed form (default learner)"}
#define NEEDS_VAULTS                                                                                   \
	" It needs the learners' vaults: refused, changing nothing, while a server or another such"    \
	" command has the node open."

const struct cli_usage cli_usages[] = {
	{"init", "--data DIR [--passphrase-file F] [--origin NAME]", "create a node",
	 "Refuses a directory that already holds one. Prints {\"data\",\"audit_key\"}: the audit verifier"
	 " key, which auditors need to verify exports.",
	 {OPT_DATA, {"--passphrase-file F", "derive the key-encryption key from the first line of F (Argon2id)"
		     " instead of a random node.key"},
	  {"--origin NAME", "the node's name in audit checkpoints (default learnvault.local/node)"}}},
	{"serve", "--data DIR [--listen HOST:PORT] [--threads N] [--passphrase-file F] [--tls-cert PEM --tls-key PEM]"
		  " [--secure-cookies] [--log-level L] [--log-format F] [--config FILE] [LIMITS]",
	 "serve the node over HTTP or HTTPS (xAPI, learner, analyst, auditor and admin doors)",
	 "Prints {\"listening\",\"port\",\"tls\"} once it accepts connections. SIGINT or SIGTERM stops it after the"
	 " requests in flight; SIGHUP reloads the TLS certificate and key. Every option is also a key of the"
	 " configuration file (--config, else $LEARNVAULT_CONFIG, else /etc/learnvault/learnvault.conf) and a"
	 " LEARNVAULT_<KEY> environment variable; flags win over the environment, which wins over the file.",
	 {OPT_DATA, OPT_PASS,
	  {"--listen HOST:PORT", "the address (default 127.0.0.1:8080); a host name such as localhost:8080, or IPv6"
	   " as [::1]:8080"},
	  {"--threads N", "worker threads, 1 to 256 (default one per core)"},
	  {"--tls-cert PEM", "serve HTTPS with this certificate chain (leaf first; TLS 1.2 and 1.3 only)"},
	  {"--tls-key PEM", "its private key (mode 0600 or 0400)"},
	  {"--secure-cookies", "a TLS proxy is in front: session cookies carry Secure (always so with --tls-cert)"},
	  {"--log-level LEVEL", "error, warn, info (default) or debug: one line per request at info"},
	  {"--log-format FORMAT", "text (default) or json"},
	  {"--config FILE", "the configuration file (key = value lines)"},
	  {"--max-body-bytes N", "largest request body (default: the node setting, 16 MiB)"},
	  {"--max-connections N", "open connections in all (default 1000)"},
	  {"--max-connections-per-ip N", "open connections from one address (default 64)"},
	  {"--request-deadline-seconds N", "a request's headers and body must arrive within this (default 30)"},
	  {"--min-body-rate N", "body bytes per second, judged after 5 s (default 1024)"},
	  {"--auth-max-failures N", "failed authentications per address or credential before 429 (default 20)"},
	  {"--auth-window-seconds N", "that window (default 60)"}}},
	{"config check", "[FILE]", "validate a configuration file and print the effective configuration",
	 "Reads FILE (else --config's rules: $LEARNVAULT_CONFIG, then /etc/learnvault/learnvault.conf) and the"
	 " LEARNVAULT_* environment; prints every key with its value and source as JSON, or each error as FILE:LINE"
	 " and exits 1.", {{0}}},
	{"credential add", "--data DIR --role ROLE [--learner P] [--purpose P]... [--label TEXT]",
	 "issue a credential",
	 "Providers get {\"key\",\"secret\"} for HTTP Basic, the other roles {\"token\"} for Authorization: Bearer."
	 " The secret is shown once.",
	 {OPT_DATA, OPT_PASS, {"--role ROLE", "provider, learner, guardian, analyst, auditor or admin"},
	  {"--learner P", "the learner a learner or guardian credential is bound to"},
	  {"--purpose P", "an analyst credential's purpose (repeatable)"}, {"--label TEXT", "a note for the list"}}},
	{"credential list", "--data DIR", "list the credentials (never their secrets)", NULL, {OPT_DATA, OPT_PASS}},
	{"credential revoke", "--data DIR ID", "revoke a credential at once", NULL, {OPT_DATA, OPT_PASS}},
	{"learner add", "--data DIR (--mbox mailto:ADDR | --account HOMEPAGE NAME) [--name NAME] [--birth-date YYYY-MM-DD]",
	 "enrol a learner (or find the enrolment) and issue a learner token",
	 "Prints {\"learner\": PSEUDONYM, \"created\", \"token\"}.",
	 {OPT_DATA, OPT_PASS, {"--mbox mailto:ADDR", "the learner's xAPI mbox"},
	  {"--account HOMEPAGE NAME", "or the learner's xAPI account"}, {"--name NAME", "a display name"},
	  {"--birth-date YYYY-MM-DD", "for the policies' guardian age rule"}}},
	{"ingest", "--data DIR [--provider ID] [--ids FILE] [--resume PROGRESS_FILE] FILE|-", "import statements offline",
	 "Reads a JSON array or NDJSON (a file, or - for stdin) in bounded memory, in batches of 500 with the HTTP"
	 " door's validation; progress on stderr, a one-line summary (stored, duplicates, rejected with reasons) and"
	 " one JSON line on stdout; exit 1 if anything was rejected. Statements without an id get one derived from"
	 " the provider, their place in the file and their bytes, so a re-run stores nothing twice." NEEDS_VAULTS,
	 {OPT_DATA, OPT_PASS, {"--provider ID", "the provider the statements belong to (default local-ingest)"},
	  {"--ids FILE", "write the stored statements' ids to FILE, one per line"},
	  {"--resume PROGRESS_FILE", "record progress in PROGRESS_FILE and, after an interruption, skip what is done"}}},
	{"backup", "--data DIR --out FILE [--include-key]", "take a consistent, still encrypted archive of the node",
	 "Works while the server runs (node.db through SQLite's backup API, each vault copied while it is stable and"
	 " checked); the archive is written under a temporary name and renamed when complete (docs/backup.md).",
	 {OPT_DATA, OPT_PASS, {"--out FILE", "the archive to write (ustar)"},
	  {"--include-key", "put node.key in the archive too (nodes without a passphrase; keep the archive apart)"}}},
	{"restore", "--from FILE --data DIR [--key FILE] [--erasures-from AUDIT_EXPORT]", "restore a backup",
	 "Into an empty directory only; every file is checked against the archive's manifest. A later audit export"
	 " of the same node re-applies the erasures made after the backup.",
	 {OPT_DATA, OPT_PASS, {"--from FILE", "the archive made by backup"},
	  {"--key FILE", "the node.key to restore with (when the archive holds none)"},
	  {"--erasures-from AUDIT_EXPORT", "an audit export taken after the backup: its erasures are made again"}}},
	{"retention run", "--data DIR [--dry-run [--as-of TIME]]", "delete statements older than the policies allow",
	 "A statement is deleted when a loaded policy covers it and it is older than the longest retention_days of"
	 " the versions that cover it (docs/privacy.md); each batch is audited with counts only. The server also"
	 " runs this daily. --dry-run works beside a running server and writes nothing." NEEDS_VAULTS,
	 {OPT_DATA, OPT_PASS, {"--dry-run", "count what would be deleted, delete nothing"},
	  {"--as-of TIME", "with --dry-run: judge ages as at this RFC 3339 time"}}},
	{"setting get", "--data DIR NAME", "print a node setting", NULL, {OPT_DATA, OPT_PASS}},
	{"setting set", "--data DIR NAME VALUE", "change a node setting", NULL, {OPT_DATA, OPT_PASS}},
	{"policy load", "--data DIR FILE...", "load consent policy files",
	 "Reloading the same text changes nothing; a changed text under a loaded id and version is refused.",
	 {OPT_DATA, OPT_PASS}},
	{"policy list", "--data DIR", "list the loaded consent policies", NULL, {OPT_DATA, OPT_PASS}},
	{"consent grant", "--data DIR --learner P --policy ID [--version N] [--as learner|guardian]",
	 "record a consent given elsewhere", NULL, {CONSENT_OPTS}},
	{"consent refuse", "--data DIR --learner P --policy ID [--version N] [--as learner|guardian]",
	 "record a refusal", NULL, {CONSENT_OPTS}},
	{"consent withdraw", "--data DIR --learner P --policy ID [--version N] [--as learner|guardian]",
	 "record a withdrawal of consent", NULL, {CONSENT_OPTS}},
	{"consent list", "--data DIR --learner P", "a learner's consent events and status", NULL,
	 {OPT_DATA, OPT_PASS, OPT_LEARNER}},
	{"audit export", "--data DIR --out FILE", "write the audit log with a freshly signed checkpoint", NULL,
	 {OPT_DATA, OPT_PASS, {"--out FILE", "where to write it"}}},
	{"audit checkpoint", "--data DIR", "print a freshly signed checkpoint of the audit log", NULL,
	 {OPT_DATA, OPT_PASS}},
	{"audit verify", "--log FILE --key VKEY|FILE [--previous CHECKPOINT_FILE] [--receipt FILE]...",
	 "verify an audit export offline",
	 "Checks the chain, the signature and the replay of every consent and budget rule; needs no node key"
	 " or data directory. Prints a JSON report.",
	 {{"--log FILE", "the export (audit export --out)"},
	  {"--key VKEY|FILE", "the audit verifier key (init printed it), or a file holding it"},
	  {"--previous CHECKPOINT_FILE", "an earlier checkpoint the log must extend"},
	  {"--receipt FILE", "a release receipt an analyst was given, to check against the log (repeatable)"}}},
	{"vault export", "--data DIR --learner P --passphrase-file F --out FILE [--node-passphrase-file G]",
	 "a learner's vault as a portable encrypted file",
	 "Logged as an access by the operator before the file is written; never overwrites FILE." NEEDS_VAULTS,
	 {OPT_DATA, OPT_LEARNER, {"--passphrase-file F", "the export's passphrase (at least 12 bytes)"},
	  {"--out FILE", "the file to create"},
	  {"--node-passphrase-file G", "the node's own passphrase, for nodes made with one"}}},
	{"vault open", "FILE --passphrase-file F", "open a vault export offline",
	 "Prints {\"statements\":[...],\"documents\":N,\"attachments\":N}; needs no node.",
	 {{"--passphrase-file F", "the export's passphrase"}}},
	{"export", "--data DIR --learner P --out FILE [--access-report]",
	 "a learner's data export, on their written request",
	 "The same JSON as GET /learner/export, logged as learner-request-by-operator." NEEDS_VAULTS,
	 {OPT_DATA, OPT_PASS, OPT_LEARNER, {"--out FILE", "the file to write"},
	  {"--access-report", "only the report of who accessed the learner's data"}}},
	{"query", "--data DIR FILE.json", "answer an aggregate query as the operator",
	 "Under the consent, budget and audit rules of POST /aggregate; works beside a running server.",
	 {OPT_DATA, OPT_PASS}},
	{"federate task add", "--data DIR FILE.json", "add a DAP federation task", NULL, {OPT_DATA, OPT_PASS}},
	{"federate task list", "--data DIR", "list the federation tasks", NULL, {OPT_DATA, OPT_PASS}},
	{"federate upload", "--data DIR --task ID", "one DAP upload for a task's current batch interval",
	 "Progress on stderr, one JSON summary on stdout.", {OPT_DATA, OPT_PASS, {"--task ID", "the task"}}},
	{"erase", "--data DIR --learner P", "crypto-shred a learner",
	 "The wrapped key, index rows and vault files go, the learner's credentials are revoked." NEEDS_VAULTS,
	 {OPT_DATA, OPT_PASS, OPT_LEARNER}},
	{"key rotate", "--data DIR [--passphrase-file F] [--new-passphrase-file G]", "rotate the node key",
	 "Re-encrypts node.db and re-wraps every vault key; runs alone (refused while any other process has"
	 " the node open).",
	 {OPT_DATA, OPT_PASS, {"--new-passphrase-file G", "derive the new key from G (default: a new random node.key)"}}},
	{"bench ingest", "[--statements N] [--learners N] [--connections N] [--dir KEEP]",
	 "benchmark statement ingest over HTTP", NULL,
	 {{"--statements N", "statements to send (default 20000)"}, {"--learners N", "learners (default 1000)"},
	  {"--connections N", "parallel connections, 1 to 16 (default 2)"},
	  {"--dir KEEP", "keep the node in KEEP instead of a removed scratch directory"}}},
	{"bench audit", "[--entries N]", "benchmark the audit log",
	 NULL, {{"--entries N", "entries to append and verify (default 1000000)"}}},
	{"bench aggregate", "[--learners N] [--statements PER_LEARNER] [--concurrent-ingest] [--dir KEEP]",
	 "benchmark aggregate queries", NULL,
	 {{"--learners N", "learners (default 10000)"}, {"--statements PER_LEARNER", "statements each (default 100)"},
	  {"--concurrent-ingest", "ingest while querying"}, {"--dir KEEP", "keep the node in KEEP"}}},
	{"bench personal",
	 "[--statements N] [--activities N] [--skills N] [--requests N] [--fit-learners N] [--fit-skills N]"
	 " [--fit-responses N] [--dir KEEP]",
	 "benchmark personalisation", NULL,
	 {{"--statements N", "statements (default 10000)"}, {"--activities N", "activities (default 200)"},
	  {"--skills N", "skills (default 40)"}, {"--requests N", "requests (default 1000)"},
	  {"--fit-learners N", "learners of the fit (default 4000)"}, {"--fit-skills N", "skills of the fit (default 110)"},
	  {"--fit-responses N", "responses each (default 10)"}, {"--dir KEEP", "keep the node in KEEP"}}},
	{"bench federate", "[--learners N] [--seconds S] [--dir KEEP]", "benchmark federation uploads", NULL,
	 {{"--learners N", "learners, 100 to 1000000 (default 10000)"},
	  {"--seconds S", "seconds per measured rate, 0.1 to 600 (default 2)"}, {"--dir KEEP", "keep the node in KEEP"}}},
	{"eval bkt",
	 "--train F --test F [--model bkt|elo|hybrid|all] [--forget] [--seed N] [--threads N]"
	 " [--elo basic|prior-current] [--elo-alpha A] [--elo-beta B] [--pfae-good G] [--pfae-bad B]"
	 " [--time-shift S] [--save-params F]",
	 "one-step-ahead evaluation of BKT, Elo and their hybrid on response CSVs", NULL,
	 {{"--train F", "training responses"}, {"--test F", "test responses"},
	  {"--model M", "bkt, elo, hybrid or all (default bkt)"}, {"--forget", "fit a forgetting rate too"},
	  {"--seed N", "random seed"}, {"--threads N", "fitting threads"},
	  {"--elo RULE", "basic or prior-current"}, {"--elo-alpha A", "Elo setting"}, {"--elo-beta B", "Elo setting"},
	  {"--pfae-good G", "Elo setting"}, {"--pfae-bad B", "Elo setting"}, {"--time-shift S", "Elo setting"},
	  {"--save-params F", "write the fitted BKT parameters to F"}}},
	{"eval fit-bkt",
	 "--data F [--forget] [--seed N] [--threads N] [--save-params F]"
	 " [--prior P --learn P --guess P --slip P [--true-forget P]]",
	 "fit BKT per skill and report the fit", "With the true parameters given, reports the errors.",
	 {{"--data F", "responses"}, {"--forget", "fit a forgetting rate too"}, {"--seed N", "random seed"},
	  {"--threads N", "fitting threads"}, {"--save-params F", "write the fitted parameters to F"},
	  {"--prior P", "true prior"}, {"--learn P", "true learn rate"}, {"--guess P", "true guess rate"},
	  {"--slip P", "true slip rate"}, {"--true-forget P", "true forget rate"}}},
	{"eval synth-bkt",
	 "--learners N --skills K --responses R --prior P --learn P --guess P --slip P [--forget P] [--seed N] --out F",
	 "synthetic responses from known BKT parameters", NULL,
	 {{"--learners N", "learners"}, {"--skills K", "skills"}, {"--responses R", "responses per learner and skill"},
	  {"--prior P", "prior"}, {"--learn P", "learn rate"}, {"--guess P", "guess rate"}, {"--slip P", "slip rate"},
	  {"--forget P", "forget rate"}, {"--seed N", "random seed"}, {"--out F", "the CSV to write"}}},
	{"eval bkt-dp", "--data F [--epsilon E] [--iterations T] [--max-skills M] [--max-len L] [--runs R]",
	 "global BKT parameters under differential privacy, against the non-private fit",
	 "Learns them as personal fit-global would, from a CSV.",
	 {{"--data F", "responses"}, {"--epsilon E", "privacy budget, in (0, 100]"},
	  {"--iterations T", "1 to 100"}, {"--max-skills M", "1 to 1000"}, {"--max-len L", "1 to 1000"},
	  {"--runs R", "repetitions, 1 to 1000 (default 5)"}}},
	{"eval fsrs",
	 "--revlog FILE [--optimize] [--split F] [--retention R] [--max-seq-len N] [--days elapsed|calendar]"
	 " [--day-start H] [--utc-offset MIN] [--seed N] [--gamma G]",
	 "evaluate (and optimise) FSRS on a review log", NULL,
	 {{"--revlog FILE", "the review log CSV"}, {"--optimize", "fit the FSRS weights"},
	  {"--split F", "share of the log for training"}, {"--retention R", "desired retention"},
	  {"--max-seq-len N", "longest review sequence"}, {"--days elapsed|calendar", "how days are counted"},
	  {"--day-start H", "hour a day starts"}, {"--utc-offset MIN", "the log's UTC offset"},
	  {"--seed N", "random seed"}, {"--gamma G", "setting of the optimiser"}}},
	{"dp sample", "--mechanism discrete-laplace|discrete-gaussian (--scale S | --sigma2 V) --n N",
	 "print N samples of the node's exact noise, one per line", "So anyone can check its distribution.",
	 {{"--mechanism M", "discrete-laplace or discrete-gaussian"}, {"--scale S", "Laplace scale, an exact decimal"},
	  {"--sigma2 V", "Gaussian variance, an exact decimal"}, {"--n N", "how many samples"}}},
	{"recommend", "--data DIR --learner P [--limit N] [--view next|mastery|reviews] [--rebuild]",
	 "a learner's next activities, mastery or due reviews, on their request",
	 "Logged as learner-request-by-operator." NEEDS_VAULTS,
	 {OPT_DATA, OPT_PASS, OPT_LEARNER, {"--limit N", "at most N items"},
	  {"--view V", "next, mastery or reviews (default next)"},
	  {"--rebuild", "recompute the learner's model state from their vault first"}}},
	{"curriculum load", "--data DIR FILE.json", "load the curriculum (activities, skills, prerequisites)", NULL,
	 {OPT_DATA, OPT_PASS}},
	{"curriculum show", "--data DIR", "print the curriculum", NULL, {OPT_DATA, OPT_PASS}},
	{"personal params", "--data DIR FILE.json", "load the node's BKT parameter file", NULL, {OPT_DATA, OPT_PASS}},
	{"personal fit-global",
	 "--data DIR --purpose P --epsilon E [--iterations T] [--max-skills M] [--max-len L] [--save]",
	 "global BKT parameters through the DP door, from the learners who consented to P", NULL,
	 {OPT_DATA, OPT_PASS, {"--purpose P", "the consented purpose"}, {"--epsilon E", "privacy budget spent"},
	  {"--iterations T", "1 to 1000"}, {"--max-skills M", "1 to 1000"}, {"--max-len L", "1 to 1000"},
	  {"--save", "make them the node's defaults"}}},
	{"demo-seed", "--data DIR --examples DIR", "fill a demo node (used by tools/dev demo)",
	 "Prints every credential it issued." NEEDS_VAULTS,
	 {OPT_DATA, {"--examples DIR", "the examples directory of the source tree"}}},
	{"version", "", "print the version (also learnvault --version)", NULL, {{0}}},
	{"help", "[COMMAND... | --man]", "print this list, a command's help, or the man page in roff", NULL,
	 {{"--man", "the man page learnvault(1)"}}},
};
const size_t cli_usage_count = sizeof cli_usages / sizeof cli_usages[0];

/* How many leading words of @path equal argv[0..]; *@whole says whether
 * that is all of them. */
static int path_match(const char *path, int argc, char *const *argv, bool *whole)
{
	int n = 0;
	const char *p = path;
	*whole = false;
	while (*p) {
		size_t len = strcspn(p, " ");
		if (n >= argc || strlen(argv[n]) != len || strncmp(argv[n], p, len) != 0)
			return n;
		n++;
		p += len;
		p += *p == ' ';
	}
	*whole = true;
	return n;
}

const struct cli_usage *cli_usage_find(int argc, char *const *argv, int *words)
{
	const struct cli_usage *best = NULL;
	int best_n = 0, group_n = 0;
	for (size_t i = 0; i < cli_usage_count; i++) {
		bool whole;
		int n = path_match(cli_usages[i].path, argc, argv, &whole);
		if (whole && n > best_n) {
			best = &cli_usages[i];
			best_n = n;
		} else if (!whole && n > group_n) {
			group_n = n;
		}
	}
	*words = best_n >= group_n ? best_n : group_n;
	return best_n >= group_n ? best : NULL;
}

/* Width of the option column in a command's help. */
#define OPT_COL 28

/* The length of the word at @s: up to a space outside brackets, so an
 * optional "[--label TEXT]" stays on one line. */
static size_t word_len(const char *s)
{
	size_t n = 0;
	int depth = 0;
	for (; s[n] && (s[n] != ' ' || depth > 0); n++) {
		if (s[n] == '[' || s[n] == '(')
			depth++;
		else if ((s[n] == ']' || s[n] == ')') && depth > 0)
			depth--;
	}
	return n;
}

/* Prints @s to @f from column @col, words separated by a space (before
 * the first too when @lead), wrapped before column 80 with continuation
 * lines indented by @indent; ends the line. */
static void wrap(FILE *f, const char *s, int col, int indent, bool lead)
{
	for (bool first = true; *s; first = false) {
		size_t len = word_len(s);
		if (first && !lead) {
			/* at a line's start */
		} else if (col + 1 + (int)len > 79 && col > indent) {
			fprintf(f, "\n%*s", indent, "");
			col = indent;
		} else {
			fputc(' ', f);
			col++;
		}
		fwrite(s, 1, len, f);
		col += (int)len;
		s += len;
		while (*s == ' ')
			s++;
	}
	fputc('\n', f);
}

void cli_usage_print(FILE *f, const struct cli_usage *u)
{
	fprintf(f, "usage: learnvault %s", u->path);
	wrap(f, u->synopsis, 18 + (int)strlen(u->path), 6, true);
	/* The summary starts a sentence here. */
	char text[1024];
	snprintf(text, sizeof text, "%s.%s%s", u->summary, u->details ? " " : "", u->details ? u->details : "");
	text[0] = (char)toupper((unsigned char)text[0]);
	fputc('\n', f);
	wrap(f, text, 0, 0, false);
	fputs("\noptions:\n", f);
	for (const struct cli_usage_opt *o = u->opts; o->flag; o++) {
		fprintf(f, "  %-*s", OPT_COL, o->flag);
		wrap(f, o->text, 2 + OPT_COL, 3 + OPT_COL, true);
	}
	fprintf(f, "  %-*s print this help and exit\n", OPT_COL, "-h, --help");
}

void cli_usage_list(FILE *f, char *const *words, int nwords)
{
	for (size_t i = 0; i < cli_usage_count; i++) {
		const struct cli_usage *u = &cli_usages[i];
		bool whole;
		if (nwords > 0 && path_match(u->path, nwords, words, &whole) != nwords)
			continue;
		fprintf(f, "  %s", u->path);
		wrap(f, u->synopsis, 2 + (int)strlen(u->path), 6, true);
	}
}

/* @s as roff text: a backslash is \e, a hyphen \- (options must stay
 * hyphens to be searched and copied), and a line starting with . or '
 * would be a request: never at a line start here, the callers add text
 * before. */
static void roff(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\e", f);
		else if (*s == '-')
			fputs("\\-", f);
		else
			fputc(*s, f);
	}
}

void cli_usage_man(FILE *f)
{
	fputs(".TH LEARNVAULT 1 \"\" \"learnvault " LV_VERSION "\" \"User Commands\"\n"
	      ".SH NAME\nlearnvault \\- a privacy\\-first learning\\-record store\n"
	      ".SH SYNOPSIS\n.B learnvault\n.I COMMAND\n[\\fIoptions\\fR]\n.br\n"
	      ".B learnvault\n.I COMMAND\n.B \\-\\-help\n.br\n.B learnvault \\-\\-version\n"
	      ".SH DESCRIPTION\n"
	      "learnvault keeps xAPI learning records in per\\-learner encrypted vaults, releases aggregates"
	      " only under the learners' consent and a differential\\-privacy budget, and logs every access"
	      " in a signed audit log.\n"
	      ".PP\nEvery command prints human text on standard error and one JSON object on standard output.\n"
	      ".SH COMMANDS\n", f);
	for (size_t i = 0; i < cli_usage_count; i++) {
		const struct cli_usage *u = &cli_usages[i];
		fputs(".SS \"", f);
		roff(f, u->path);
		fputs("\"\n.B learnvault ", f);
		roff(f, u->path);
		if (*u->synopsis) {
			fputs("\n", f);
			roff(f, u->synopsis);
		}
		/* The summary starts a sentence here. */
		fprintf(f, "\n.PP\n%c", toupper((unsigned char)u->summary[0]));
		roff(f, u->summary + 1);
		fputc('.', f);
		if (u->details) {
			fputc(' ', f);
			roff(f, u->details);
		}
		fputc('\n', f);
		for (const struct cli_usage_opt *o = u->opts; o->flag; o++) {
			fputs(".TP\n.B ", f);
			roff(f, o->flag);
			fputs("\n", f);
			roff(f, o->text);
			fputc('\n', f);
		}
	}
	fputs(".SH EXIT STATUS\n0 on success, 1 when the command failed (it says why on standard error), 2 for a"
	      " usage error.\n"
	      ".SH FILES\n.TP\n.I /etc/learnvault/learnvault.conf\nthe configuration file the systemd unit starts the server with\n"
	      ".TP\n.I /var/lib/learnvault\nthe service's data directory\n"
	      ".TP\n.I /usr/share/learnvault/policies\nexample consent policies\n"
	      ".SH SEE ALSO\nThe documents in /usr/share/doc/learnvault or the source tree's docs/:"
	      " running.md, keys.md, audit.md, policies.md.\n", f);
}
