/* bench: performance measured against a same-run baseline. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int bench_ingest(int argc, char **argv);
int bench_audit(int argc, char **argv);
int bench_aggregate(int argc, char **argv);
int bench_personal(int argc, char **argv);
int bench_federate(int argc, char **argv);

int cmd_bench(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "ingest") == 0)
		return bench_ingest(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "audit") == 0)
		return bench_audit(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "aggregate") == 0)
		return bench_aggregate(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "personal") == 0)
		return bench_personal(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "federate") == 0)
		return bench_federate(argc - 1, argv + 1);
	return cli_fail("bench: areas: ingest, audit, aggregate, personal, federate");
}


int bench_scratch_open(const char *area, const char *keep, struct bench_scratch *s)
{
	s->keep = keep != NULL;
	if (keep) {
		snprintf(s->dir, sizeof s->dir, "%s", keep);
	} else {
		snprintf(s->dir, sizeof s->dir, "/tmp/lvbench.XXXXXX");
		if (!mkdtemp(s->dir))
			return cli_fail("bench %s: cannot make a scratch directory", area);
	}
	snprintf(s->node_dir, sizeof s->node_dir, "%s/node", s->dir);
	return 0;
}

void bench_scratch_close(const char *area, const struct bench_scratch *s)
{
	if (s->keep)
		return;
	char cmd[4200];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", s->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench %s: could not remove %s\n", area, s->dir);
}
