/* bench: performance measured against a same-run baseline. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int bench_ingest(int argc, char **argv);
int bench_audit(int argc, char **argv);
int bench_aggregate(int argc, char **argv);
int bench_personal(int argc, char **argv);

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
	return cli_fail("bench: areas: ingest, audit, aggregate, personal");
}

