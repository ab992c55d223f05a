#include <ctype.h>
#include <string.h>
#include "learnvault/util.h"

/* Length of the UTF-8 sequence at @p (at most @n bytes), 0 when it is not
 * well formed (RFC 3629: shortest form, no surrogates, at most U+10FFFF). */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	unsigned c = p[0];
	size_t k = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
	if (!k || k > n)
		return 0;
	for (size_t i = 1; i < k; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] > 0x9f) || (c == 0xf0 && p[1] < 0x90) ||
	    (c == 0xf4 && p[1] > 0x8f))
		return 0;
	return k;
}

/* What cJSON lets through and RFC 8259 does not (issue 13, strict
 * input): text that is not UTF-8, a NUL byte, a control character inside
 * a string or between tokens, the escape \u0000 (cJSON would cut the
 * string there), and a number with a leading zero.  A lexical pass only:
 * the grammar is cJSON's. */
/* Whether a number token starts at @i (outside strings) with a leading
 * zero: "05", "-05". */
static bool leading_zero(const unsigned char *s, size_t i, size_t len)
{
	bool in_number = i > 0 && ((s[i - 1] >= '0' && s[i - 1] <= '9') || s[i - 1] == '.' || s[i - 1] == 'e' ||
				   s[i - 1] == 'E' || s[i - 1] == '+' || s[i - 1] == '-');
	if (in_number)
		return false;
	if (s[i] == '-')
		i++;
	return i + 1 < len && s[i] == '0' && s[i + 1] >= '0' && s[i + 1] <= '9';
}

/* Length of the escape at @s (@s[0] is a backslash, @n bytes left): 2 for
 * RFC 8259's one-letter escapes, 6 for \uXXXX; 0 for anything else and
 * for \u0000.  cJSON decodes a \u escape with a non-hex digit as U+0000,
 * which cuts the string there like \u0000 would (found by fuzzing). */
static size_t escape_len(const unsigned char *s, size_t n)
{
	if (n < 2 || s[1] == 0)
		return 0;
	if (strchr("\"\\/bfnrt", s[1]))
		return 2;
	if (s[1] != 'u' || n < 6)
		return 0;
	for (size_t i = 2; i < 6; i++)
		if (!isxdigit(s[i]))
			return 0;
	return memcmp(s + 2, "0000", 4) == 0 ? 0 : 6;
}

static bool json_text_strict(const char *text, size_t len)
{
	const unsigned char *s = (const unsigned char *)text;
	bool in_str = false;
	for (size_t i = 0; i < len;) {
		size_t k = utf8_len(s + i, len - i);
		if (!k || s[i] == 0)
			return false;
		if (in_str) {
			if (s[i] < 0x20)
				return false;
			if (s[i] == '"') {
				in_str = false;
			} else if (s[i] == '\\') {
				/* The whole escape is skipped, so that what it holds (a
				 * quote, a backslash) is not read as a delimiter. */
				k = escape_len(s + i, len - i);
				if (!k)
					return false;
			}
		} else if (s[i] == '"') {
			in_str = true;
		} else if (s[i] < 0x20 && s[i] != '\t' && s[i] != '\n' && s[i] != '\r') {
			/* cJSON skips every byte up to 0x20 as whitespace; RFC 8259
			 * has only these three and the space (found by fuzzing). */
			return false;
		} else if ((s[i] == '-' || s[i] == '0') && leading_zero(s, i, len)) {
			return false;
		}
		i += k;
	}
	return true;
}

bool util_text_clean(const char *text, size_t len)
{
	const unsigned char *s = (const unsigned char *)text;
	for (size_t i = 0; i < len;) {
		size_t k = utf8_len(s + i, len - i);
		if (!k || s[i] < 0x20 || s[i] == 0x7f)
			return false;
		i += k;
	}
	return true;
}

cJSON *util_json_parse(const char *s, size_t len)
{
	/* cJSON stops at the end of the first value; a body such as "{}{"
	 * must be rejected, so require that nothing but whitespace follows. */
	const char *end = NULL;
	if (!s || !json_text_strict(s, len))
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
