/* Signed notes and checkpoints (src/audit/note.c, checkpoint.c) and the
 * inclusion receipts built on them.  The input is a verifier key line,
 * '\n', then a note: the key is input too (an auditor types it), and a
 * seed whose note verifies under its own key lets mutations reach the
 * checkpoint parser behind the signature.  The rest is also given to the
 * unsigned parsers (lv_checkpoint_parse, lv_tlog_proof_parse) directly. */
#include "fuzz.h"

#include "learnvault/audit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *vkey;
	const uint8_t *rest;
	size_t len;
	if (!fuzz_split_line(data, size, &vkey, &rest, &len))
		return 0;
	/* Exactly @len bytes of its own, so that an over-read is reported. */
	char *note = malloc(len ? len : 1);
	if (!note)
		goto out;
	if (len)
		memcpy(note, rest, len);
	size_t tlen = 0;
	if (lv_note_verify(note, len, vkey, &tlen) == LV_OK && tlen > len)
		abort();
	struct lv_checkpoint cp;
	(void)lv_checkpoint_open(note, len, vkey, NULL, &cp);
	(void)lv_checkpoint_parse(note, len, &cp);
	static struct lv_tlog_proof proof; /* ~3 KiB: not on the stack */
	(void)lv_tlog_proof_parse(note, len, &proof);
out:
	free(note);
	free(vkey);
	return 0;
}
