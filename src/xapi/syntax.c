/* Lexical rules for xAPI values: IRIs, language tags, durations, mbox,
 * hashes, media types, and objectType classification. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "learnvault/xapi.h"
#include "xapi_int.h"

/* The <ctype.h> classifiers follow the locale; xAPI syntax is ASCII-only. */
static bool is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alnum(unsigned char c)
{
	return is_alpha(c) || is_digit(c);
}

static bool is_hex(unsigned char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

enum xapi_kind xapi_object_kind(const cJSON *obj)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(obj, "objectType");
	if (!t)
		return XAPI_KIND_ACTIVITY;
	if (!cJSON_IsString(t))
		return XAPI_KIND_INVALID;
	/* Enumerated values are case-sensitive (xAPI Data 2.2.s4.b1.b6). */
	if (strcmp(t->valuestring, "Activity") == 0)
		return XAPI_KIND_ACTIVITY;
	if (strcmp(t->valuestring, "Agent") == 0)
		return XAPI_KIND_AGENT;
	if (strcmp(t->valuestring, "Group") == 0)
		return XAPI_KIND_GROUP;
	if (strcmp(t->valuestring, "StatementRef") == 0)
		return XAPI_KIND_STATEMENTREF;
	if (strcmp(t->valuestring, "SubStatement") == 0)
		return XAPI_KIND_SUBSTATEMENT;
	return XAPI_KIND_INVALID;
}

enum xapi_kind xapi_actor_kind(const cJSON *actor)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(actor, "objectType");
	if (!t)
		return XAPI_KIND_AGENT;
	if (!cJSON_IsString(t))
		return XAPI_KIND_INVALID;
	if (strcmp(t->valuestring, "Agent") == 0)
		return XAPI_KIND_AGENT;
	if (strcmp(t->valuestring, "Group") == 0)
		return XAPI_KIND_GROUP;
	return XAPI_KIND_INVALID;
}

bool xapi_has_ifi(const cJSON *actor)
{
	return cJSON_GetObjectItemCaseSensitive(actor, "mbox") ||
	       cJSON_GetObjectItemCaseSensitive(actor, "mbox_sha1sum") ||
	       cJSON_GetObjectItemCaseSensitive(actor, "openid") ||
	       cJSON_GetObjectItemCaseSensitive(actor, "account");
}

/* Best-effort IRI check (Data 2.2.s4.b6 allows it): an RFC 3986 scheme, a
 * colon, then a non-empty rest free of the characters RFC 3987 never allows
 * unescaped, with well-formed percent escapes.  Non-ASCII bytes pass: they
 * are the "I" in IRI. */
bool lv_xapi_iri_valid(const char *s)
{
	if (!s || !is_alpha((unsigned char)s[0]))
		return false;
	const unsigned char *p = (const unsigned char *)s + 1;
	while (is_alnum(*p) || *p == '+' || *p == '-' || *p == '.')
		p++;
	if (*p != ':')
		return false;
	p++;
	if (!*p)
		return false;
	for (; *p; p++) {
		if (*p <= 0x20 || *p == 0x7f)
			return false;
		switch (*p) {
		case '<': case '>': case '"': case '{': case '}':
		case '|': case '\\': case '^': case '`':
			return false;
		case '%':
			if (!is_hex(p[1]) || !is_hex(p[2]))
				return false;
			break;
		default:
			break;
		}
	}
	return true;
}

bool xapi_mbox_valid(const char *s)
{
	if (!s || strncmp(s, "mailto:", 7) != 0 || !lv_xapi_iri_valid(s))
		return false;
	const char *addr = s + 7;
	const char *at = strrchr(addr, '@');
	/* A local part and a domain, both non-empty. */
	return at && at != addr && at[1] != '\0';
}

static bool hex_len(const char *s, size_t *n)
{
	size_t i = 0;
	for (; s[i]; i++)
		if (!is_hex((unsigned char)s[i]))
			return false;
	*n = i;
	return true;
}

bool xapi_sha1_hex_valid(const char *s)
{
	size_t n;
	return s && hex_len(s, &n) && n == 40;
}

bool xapi_sha2_hex_valid(const char *s)
{
	size_t n;
	return s && hex_len(s, &n) && (n == 56 || n == 64 || n == 96 || n == 128);
}

/* RFC 7230 tchar. */
static bool is_tchar(unsigned char c)
{
	return is_alnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

bool xapi_media_type_valid(const char *s)
{
	if (!s)
		return false;
	const unsigned char *p = (const unsigned char *)s;
	size_t n = 0;
	while (is_tchar(*p)) {
		p++;
		n++;
	}
	if (n == 0 || *p != '/')
		return false;
	p++;
	n = 0;
	while (is_tchar(*p)) {
		p++;
		n++;
	}
	if (n == 0)
		return false;
	while (*p == ' ' || *p == '\t')
		p++;
	/* Parameters are not parsed further: the LRS only stores them. */
	return *p == '\0' || *p == ';';
}

bool xapi_media_type_is(const char *value, const char *want)
{
	if (!value)
		return false;
	while (*value == ' ' || *value == '\t')
		value++;
	size_t n = strcspn(value, ";");
	while (n && (value[n - 1] == ' ' || value[n - 1] == '\t'))
		n--;
	return n == strlen(want) && strncasecmp(value, want, n) == 0;
}

/* ---- RFC 5646 language tags ---- */

struct subtag {
	const char *p;
	size_t n;
};

#define LANG_MAX_SUBTAGS 64

static bool all_of(const struct subtag *t, bool (*pred)(unsigned char))
{
	for (size_t i = 0; i < t->n; i++)
		if (!pred((unsigned char)t->p[i]))
			return false;
	return true;
}

static bool same_subtag(const struct subtag *a, const struct subtag *b)
{
	return a->n == b->n && strncasecmp(a->p, b->p, a->n) == 0;
}

static bool is_x(const struct subtag *t)
{
	return t->n == 1 && (t->p[0] == 'x' || t->p[0] == 'X');
}

/* Irregular grandfathered tags do not fit the langtag production. */
static bool lang_irregular(const char *s)
{
	static const char *const irregular[] = {
		"en-GB-oed", "i-ami", "i-bnn", "i-default", "i-enochian", "i-hak",
		"i-klingon", "i-lux", "i-mingo", "i-navajo", "i-pwn", "i-tao",
		"i-tay", "i-tsu", "sgn-BE-FR", "sgn-BE-NL", "sgn-CH-DE",
	};
	for (size_t i = 0; i < sizeof irregular / sizeof irregular[0]; i++)
		if (strcasecmp(s, irregular[i]) == 0)
			return true;
	return false;
}

/* Cuts @s at its hyphens into @t; false unless every subtag is 1-8
 * alphanumerics and there are at most LANG_MAX_SUBTAGS. */
static bool lang_split(const char *s, struct subtag t[LANG_MAX_SUBTAGS], size_t *cnt)
{
	*cnt = 0;
	for (const char *p = s;;) {
		const char *e = p;
		while (*e && *e != '-')
			e++;
		size_t n = (size_t)(e - p);
		if (n < 1 || n > 8 || *cnt == LANG_MAX_SUBTAGS)
			return false;
		t[*cnt].p = p;
		t[*cnt].n = n;
		if (!all_of(&t[*cnt], is_alnum))
			return false;
		(*cnt)++;
		if (!*e)
			return true;
		p = e + 1;
	}
}

/* language [extlang] [script] [region], t[0] being the language; returns
 * the index of the first subtag after them, or 0 when t[0] is not a
 * language subtag. */
static size_t lang_skip_head(const struct subtag *t, size_t cnt)
{
	/* language = 2*3ALPHA ["-" extlang] / 4ALPHA / 5*8ALPHA */
	if (t[0].n < 2 || !all_of(&t[0], is_alpha))
		return 0;
	size_t i = 1;
	if (t[0].n <= 3) {
		/* extlang = 3ALPHA *2("-" 3ALPHA) */
		for (int k = 0; k < 3 && i < cnt && t[i].n == 3 && all_of(&t[i], is_alpha); k++)
			i++;
	}
	/* script = 4ALPHA */
	if (i < cnt && t[i].n == 4 && all_of(&t[i], is_alpha))
		i++;
	/* region = 2ALPHA / 3DIGIT */
	if (i < cnt && ((t[i].n == 2 && all_of(&t[i], is_alpha)) ||
			(t[i].n == 3 && all_of(&t[i], is_digit))))
		i++;
	return i;
}

/* variant = 5*8alphanum / (DIGIT 3alphanum), from *@i on; RFC 5646 2.2.5
 * forbids repeating one. */
static bool lang_skip_variants(const struct subtag *t, size_t cnt, size_t *i)
{
	size_t first_variant = *i;
	while (*i < cnt && (t[*i].n >= 5 || (t[*i].n == 4 && is_digit((unsigned char)t[*i].p[0])))) {
		for (size_t j = first_variant; j < *i; j++)
			if (same_subtag(&t[j], &t[*i]))
				return false;
		(*i)++;
	}
	return true;
}

/* extension = singleton 1*("-" (2*8alphanum)), from *@i on; a singleton
 * appears at most once (RFC 5646 2.2.6). */
static bool lang_skip_extensions(const struct subtag *t, size_t cnt, size_t *i)
{
	char seen[36] = {0};
	while (*i < cnt && t[*i].n == 1 && !is_x(&t[*i])) {
		unsigned char c = (unsigned char)t[*i].p[0];
		int slot = is_digit(c) ? c - '0' : 10 + ((c | 0x20) - 'a');
		if (seen[slot])
			return false;
		seen[slot] = 1;
		(*i)++;
		size_t start = *i;
		while (*i < cnt && t[*i].n >= 2)
			(*i)++;
		if (*i == start)
			return false;
	}
	return true;
}

bool xapi_lang_tag_valid(const char *s)
{
	struct subtag t[LANG_MAX_SUBTAGS];
	size_t cnt = 0;

	if (!s)
		return false;
	size_t len = strlen(s);
	if (len == 0 || len > XAPI_LANG_MAX)
		return false;
	if (lang_irregular(s))
		return true;
	if (!lang_split(s, t, &cnt))
		return false;

	/* privateuse = "x" 1*("-" (1*8alphanum)); every subtag is already
	 * known to be 1-8 alphanumerics, so only the count matters. */
	if (is_x(&t[0]))
		return cnt > 1;

	size_t i = lang_skip_head(t, cnt);
	if (i == 0 || !lang_skip_variants(t, cnt, &i) || !lang_skip_extensions(t, cnt, &i))
		return false;
	if (i < cnt && is_x(&t[i]))
		return i + 1 < cnt;
	return i == cnt;
}

/* ---- ISO 8601 durations ---- */

/* One "n[.n]X" component; returns the designator or 0.  *frac says whether
 * the number had a fraction. */
static char duration_component(const char **pp, bool *frac)
{
	const char *p = *pp;
	size_t digits = 0;
	while (is_digit((unsigned char)*p)) {
		p++;
		digits++;
	}
	if (digits == 0)
		return 0;
	*frac = false;
	if (*p == '.' || *p == ',') {
		p++;
		digits = 0;
		while (is_digit((unsigned char)*p)) {
			p++;
			digits++;
		}
		if (digits == 0)
			return 0;
		*frac = true;
	}
	char d = *p;
	if (!d)
		return 0;
	*pp = p + 1;
	return d;
}

/* Parses components whose designators must appear in the order given by
 * @order.  Only the lowest-order component of the whole duration may carry
 * a fraction, so *frac_seen carries over from the date to the time part.
 * Returns the count or -1. */
static int duration_part(const char **pp, const char *order, char stop, bool *frac_seen)
{
	int count = 0;
	size_t next = 0;
	while (**pp && **pp != stop) {
		bool frac;
		char d = duration_component(pp, &frac);
		if (!d || *frac_seen)
			return -1;
		const char *pos = strchr(order + next, d);
		if (!pos)
			return -1;
		next = (size_t)(pos - order) + 1;
		*frac_seen = frac;
		count++;
	}
	return count;
}

bool xapi_duration_valid(const char *s)
{
	if (!s || s[0] != 'P' || strlen(s) > 64)
		return false;
	const char *p = s + 1;
	/* PnW stands alone: ISO 8601 does not combine weeks with other units. */
	const char *w = strchr(p, 'W');
	if (w) {
		bool frac;
		char d = duration_component(&p, &frac);
		return d == 'W' && *p == '\0';
	}
	bool frac_seen = false;
	int date = duration_part(&p, "YMD", 'T', &frac_seen);
	if (date < 0)
		return false;
	int time = 0;
	if (*p == 'T') {
		p++;
		time = duration_part(&p, "HMS", '\0', &frac_seen);
		/* "T" must introduce at least one time component. */
		if (time <= 0)
			return false;
	}
	return *p == '\0' && date + time > 0;
}

/* Writes @s into @out (@cap bytes) with the fraction of its seconds cut to
 * two digits and trailing zeros of that fraction dropped ("PT1.2370S" ->
 * "PT1.23S", "PT1.00S" -> "PT1S").  A value that is not a valid duration,
 * or has no fraction of seconds, is copied as it is. */
void xapi_duration_norm(const char *s, char *out, size_t cap)
{
	size_t n = strlen(s);
	if (cap == 0)
		return;
	snprintf(out, cap, "%s", s);
	if (!xapi_duration_valid(s) || n + 1 > cap || s[n - 1] != 'S')
		return;
	/* The seconds are the last component: find its separator, if any. */
	size_t i = n - 1, dot = 0;
	while (i > 0 && is_digit((unsigned char)s[i - 1]))
		i--;
	if (i == 0 || (s[i - 1] != '.' && s[i - 1] != ','))
		return;
	dot = i - 1;
	size_t end = n - 1; /* where the fraction ends ('S') */
	size_t keep = end - i > 2 ? i + 2 : end;
	while (keep > i && s[keep - 1] == '0')
		keep--;
	size_t o = keep > i ? keep : dot; /* no digit left: drop the '.' too */
	memcpy(out, s, o);
	out[o] = 'S';
	out[o + 1] = '\0';
}

/* ---- versions (Communication 3.3) ---- */

/* "M.m" or "M.m.x" with x one or more digits, for the given "M.m". */
static bool version_is(const char *v, const char *major_minor)
{
	size_t n = strlen(major_minor);
	if (strncmp(v, major_minor, n) != 0)
		return false;
	v += n;
	if (*v == '\0')
		return true;
	if (*v++ != '.' || !is_digit((unsigned char)*v))
		return false;
	while (is_digit((unsigned char)*v))
		v++;
	return *v == '\0';
}

bool xapi_statement_version_valid(const char *v, enum lv_xapi_version rules)
{
	if (!v)
		return false;
	return version_is(v, "1.0") || (rules == LV_XAPI_V2_0_0 && version_is(v, "2.0"));
}

enum lv_status lv_xapi_version_parse(const char *header, enum lv_xapi_version *out)
{
	*out = LV_XAPI_V1_0_3;
	/* The header names a protocol, so a long patch number is still one
	 * version; 16 bytes bound what is compared. */
	if (!header || strlen(header) > 16)
		return LV_ERR_INVALID;
	if (version_is(header, "1.0"))
		return LV_OK;
	if (version_is(header, "2.0")) {
		*out = LV_XAPI_V2_0_0;
		return LV_OK;
	}
	return LV_ERR_INVALID;
}

const char *lv_xapi_version_name(enum lv_xapi_version v)
{
	return v == LV_XAPI_V2_0_0 ? "2.0.0" : "1.0.3";
}
