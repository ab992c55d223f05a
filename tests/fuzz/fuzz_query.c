/* Query specs: query_parse, what /aggregate and `learnvault query` read
 * before anything touches the store. */
#include "fuzz.h"

#include "query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct query_spec q;
	char err[LV_QUERY_ERR_LEN];
	if (query_parse((const char *)data, size, &q, err) == LV_OK && !q.canonical)
		abort(); /* an accepted spec always has its canonical text */
	query_spec_free(&q);
	return 0;
}
