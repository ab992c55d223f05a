/* Audit exports: lv_audit_verify_export, the offline verifier an auditor
 * runs on a file someone else produced.  The input is a verifier key line,
 * '\n', then the export's JSON: a seed exported from a node together with
 * that node's key gets past the checkpoint signature, so mutations of the
 * entries reach the replay. */
#include "fuzz.h"

#include <sodium.h>

#include "learnvault/audit.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (sodium_init() < 0)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *vkey;
	const uint8_t *rest;
	size_t len;
	if (!fuzz_split_line(data, size, &vkey, &rest, &len))
		return 0;
	char *report = NULL;
	(void)lv_audit_verify_export((const char *)rest, len, vkey, NULL, &report);
	free(report);
	free(vkey);
	return 0;
}
