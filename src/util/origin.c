/* Web origins: the syntax of an allowed-origin list and the match of an
 * Origin header against it (CORS, issue 14).  One home for the rule: the
 * store checks a setting with it, the HTTP door matches with it. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "learnvault/util.h"

/* One origin split in parts (pointers into the text, not terminated). */
struct origin_parts {
	bool https;
	const char *host;
	size_t host_len;
	long port;       /* -1: any port ("*" in a list entry) */
};

static bool host_ok(const char *h, size_t n)
{
	if (n == 0 || n > 255)
		return false;
	if (h[0] == '[') { /* IPv6 literal: hex digits, ':' and '.' inside brackets */
		if (n < 3 || h[n - 1] != ']')
			return false;
		for (size_t i = 1; i + 1 < n; i++)
			if (!isxdigit((unsigned char)h[i]) && h[i] != ':' && h[i] != '.')
				return false;
		return true;
	}
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)h[i]) && h[i] != '-' && h[i] != '.')
			return false;
	return h[0] != '.' && h[0] != '-';
}

/* Parses @n bytes at @s: "scheme://host[:port]" (and ":*" when
 * @pattern).  False when it is anything else. */
static bool origin_parse(const char *s, size_t n, bool pattern, struct origin_parts *o)
{
	size_t skip;
	if (n > 7 && strncasecmp(s, "http://", 7) == 0) {
		o->https = false;
		skip = 7;
	} else if (n > 8 && strncasecmp(s, "https://", 8) == 0) {
		o->https = true;
		skip = 8;
	} else {
		return false;
	}
	s += skip;
	n -= skip;
	/* The port is after the last ':' outside an IPv6 literal's brackets. */
	size_t colon = n;
	for (size_t i = n; i-- > 0;) {
		if (s[i] == ']')
			break;
		if (s[i] == ':') {
			colon = i;
			break;
		}
	}
	o->host = s;
	o->host_len = colon;
	o->port = o->https ? 443 : 80;
	if (colon < n) {
		const char *p = s + colon + 1;
		size_t pl = n - colon - 1;
		if (pattern && pl == 1 && *p == '*') {
			o->port = -1;
		} else {
			if (pl == 0 || pl > 5)
				return false;
			long v = 0;
			for (size_t i = 0; i < pl; i++) {
				if (!isdigit((unsigned char)p[i]))
					return false;
				v = v * 10 + (p[i] - '0');
			}
			if (v < 1 || v > 65535)
				return false;
			o->port = v;
		}
	}
	return host_ok(o->host, o->host_len);
}

/* The next entry of @list after *@pos: its start and length; false at the end. */
static bool next_entry(const char *list, size_t *pos, const char **e, size_t *n)
{
	size_t i = *pos;
	while (list[i] == ' ' || list[i] == ',')
		i++;
	if (!list[i])
		return false;
	size_t j = i;
	while (list[j] && list[j] != ' ' && list[j] != ',')
		j++;
	*e = list + i;
	*n = j - i;
	*pos = j;
	return true;
}

bool util_origin_list_valid(const char *list)
{
	if (!list || strlen(list) > UTIL_ORIGIN_LIST_MAX)
		return false;
	size_t pos = 0, n;
	const char *e;
	struct origin_parts o;
	while (next_entry(list, &pos, &e, &n))
		if (!origin_parse(e, n, true, &o))
			return false;
	return true;
}

bool util_origin_allowed(const char *list, const char *origin)
{
	struct origin_parts want, have;
	if (!list || !origin || strlen(origin) > UTIL_ORIGIN_LIST_MAX ||
	    !origin_parse(origin, strlen(origin), false, &have))
		return false;
	size_t pos = 0, n;
	const char *e;
	while (next_entry(list, &pos, &e, &n)) {
		if (!origin_parse(e, n, true, &want))
			continue;
		if (want.https == have.https && want.host_len == have.host_len &&
		    strncasecmp(want.host, have.host, have.host_len) == 0 &&
		    (want.port == -1 || want.port == have.port))
			return true;
	}
	return false;
}
