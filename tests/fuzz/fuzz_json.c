/* Strict JSON (util_json_parse): exactly one RFC 8259 value, UTF-8, no NUL
 * or raw control characters.  An accepted text must hold no control
 * character but RFC 8259's whitespace, and must print and re-parse (what
 * the node does when it stores and serves a document). */
#include "fuzz.h"

#include <cjson/cJSON.h>

#include "learnvault/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON *v = util_json_parse((const char *)data, size);
	if (!v)
		return 0;
	/* RFC 8259 allows no control character but these three (as
	 * whitespace; inside strings they must be escaped), and no NUL. */
	for (size_t i = 0; i < size; i++)
		if (data[i] < 0x20 && data[i] != '\t' && data[i] != '\n' && data[i] != '\r')
			abort();
	char *out = cJSON_PrintUnformatted(v);
	if (out) {
		cJSON *again = util_json_parse(out, strlen(out));
		/* What we printed from an accepted value must be accepted. */
		if (!again)
			abort();
		cJSON_Delete(again);
		free(out);
	}
	cJSON_Delete(v);
	return 0;
}
