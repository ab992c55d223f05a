#include "learnvault/util.h"

cJSON *util_json_parse(const char *s, size_t len)
{
	/* cJSON stops at the end of the first value; a body such as "{}{"
	 * must be rejected, so require that nothing but whitespace follows. */
	const char *end = NULL;
	if (!s)
		return NULL;
	cJSON *j = cJSON_ParseWithLengthOpts(s, len, &end, 0);
	if (!j)
		return NULL;
	const char *stop = s + len;
	while (end < stop && (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n'))
		end++;
	if (end != stop) {
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}

const char *util_json_str(const cJSON *o, const char *a, const char *b)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, a);
	if (b)
		x = cJSON_GetObjectItemCaseSensitive(x, b);
	return cJSON_IsString(x) ? x->valuestring : NULL;
}
