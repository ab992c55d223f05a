/* Consent policy files: strict parsing, canonical text, digest.
 * The schema is documented in docs/policies.md; keep the two in step. */
#include <ctype.h>
#include <assert.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "learnvault/policy.h"
#include "learnvault/util.h"

#define SHORT_TEXT_MAX 256 /* titles, names, recipients: one line */
#define EPSILON_MAX 100.0
#define VERSION_MAX 2147483647.0
#define RETENTION_DAYS_MAX 3660.0
#define CONSENT_DAYS_MAX 1830.0
#define WINDOW_DAYS_MAX 3660.0
#define MIN_COHORT_MAX 1000000.0
#define AGE_MAX 21.0
#define LANGUAGE_MAX 35

struct strlist {
	const char **v; /* borrowed from the policy's cJSON tree */
	size_t n;
};

struct lv_policy {
	cJSON *root; /* owned; keys sorted after validation */
	char *canonical;
	size_t canonical_len;
	unsigned char digest[LV_POLICY_DIGEST_LEN];

	/* Everything below points into root. */
	const char *id;
	const char *title;
	const char *description;
	const char *controller_name;
	const char *controller_contact;
	const char *controller_address;
	const char *legal_basis;
	const char *purpose;
	const char *withdrawal;
	const char *language;
	uint32_t version;
	double eps_query;
	double eps_budget;
	uint32_t window_days;
	uint32_t min_cohort;
	uint32_t retention_days;
	uint32_t consent_valid_days;
	uint32_t guardian_below_age;
	unsigned ops; /* bit (1u << enum lv_policy_op) */
	struct strlist verbs;
	struct strlist activity_types;
	struct strlist result_fields;
	struct strlist recipients;
	struct strlist jurisdiction;
};

static const char *const OP_NAMES[] = {"count", "sum", "mean", "histogram", "quantile"};
#define N_OPS (sizeof OP_NAMES / sizeof OP_NAMES[0])

static const char *const RESULT_FIELDS[] = {
	"result.score.scaled", "result.score.raw", "result.score.min", "result.score.max",
	"result.success",      "result.completion", "result.duration",
};

/* DPV core legal bases (https://w3id.org/dpv#) and the GDPR Art. 6(1) and
 * 9(2)(a) bases of the DPV GDPR extension (https://w3id.org/dpv/legal/eu/gdpr#). */
static const char *const LEGAL_BASES[] = {
	"dpv:Consent",           "dpv:InformedConsent",  "dpv:ExpressedConsent",
	"dpv:ExplicitlyExpressedConsent",                "dpv:Contract",
	"dpv:LegalObligation",   "dpv:LegitimateInterest", "dpv:OfficialAuthorityOfController",
	"dpv:PublicInterest",    "dpv:VitalInterest",    "eu-gdpr:A6-1-a",
	"eu-gdpr:A6-1-b",        "eu-gdpr:A6-1-c",       "eu-gdpr:A6-1-d",
	"eu-gdpr:A6-1-e",        "eu-gdpr:A6-1-f",       "eu-gdpr:A9-2-a",
};

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

static const char *const TOP_FIELDS[] = {
	"id",        "version",      "title",      "description", "controller",
	"legal_basis", "purpose",    "data",       "operations",  "privacy",
	"retention_days", "consent_valid_days", "guardian_below_age", "recipients",
	"jurisdiction", "withdrawal", "language",
};
static const char *const CONTROLLER_FIELDS[] = {"name", "contact", "address"};
static const char *const DATA_FIELDS[] = {"verbs", "activity_types", "result_fields"};
static const char *const PRIVACY_FIELDS[] = {"epsilon_per_query_max", "epsilon_budget",
					     "budget_window_days", "min_cohort"};

/* ---- messages ---- */

static enum lv_status fail(char *err, enum lv_status st, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static enum lv_status fail(char *err, enum lv_status st, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, LV_POLICY_ERR_LEN, fmt, ap);
		va_end(ap);
	}
	return st;
}

/* "parent.name" (or "name" at the top level) for messages. */
static void field_path(char *out, size_t n, const char *parent, const char *name)
{
	snprintf(out, n, "%s%s%s", parent ? parent : "", parent ? "." : "", name);
}

/* A field name taken from the input, made safe to quote in a message. */
static void quote_input(char *out, size_t n, const char *s)
{
	size_t i = 0;
	for (; s && *s && i + 4 < n; s++)
		out[i++] = ((unsigned char)*s >= 0x20 && (unsigned char)*s < 0x7f && *s != '"') ? *s : '?';
	if (s && *s && i + 4 >= n) {
		memcpy(out + i, "...", 3);
		i += 3;
	}
	out[i] = '\0';
}

/* ---- raw text: what cJSON would let through ---- */

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Length of the RFC 8259 number at t[0..len), 0 when it is not one. */
static size_t number_len(const char *t, size_t len)
{
	size_t i = 0;
	if (i < len && t[i] == '-')
		i++;
	if (i < len && t[i] == '0')
		i++;
	else if (i < len && t[i] >= '1' && t[i] <= '9')
		while (i < len && is_digit(t[i]))
			i++;
	else
		return 0;
	if (i < len && t[i] == '.') {
		size_t d = ++i;
		while (i < len && is_digit(t[i]))
			i++;
		if (i == d)
			return 0;
	}
	if (i < len && (t[i] == 'e' || t[i] == 'E')) {
		i++;
		if (i < len && (t[i] == '+' || t[i] == '-'))
			i++;
		size_t d = i;
		while (i < len && is_digit(t[i]))
			i++;
		if (i == d)
			return 0;
	}
	/* "01" or "1.e" stop early here and leave a digit or letter behind */
	if (i < len && (is_digit(t[i]) || t[i] == '.' || t[i] == 'e' || t[i] == 'E' ||
			t[i] == '+' || t[i] == '-'))
		return 0;
	return i;
}

/* cJSON's parser is lenient where it matters to us: it reads "01" and "1."
 * as numbers, passes raw control characters inside strings, and cuts a
 * string at "\u0000" (so two different texts would have one canonical
 * form).  Reject all of that before cJSON sees the text. */
static enum lv_status scan_raw(const char *t, size_t len, char *err)
{
	bool in_str = false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)t[i];
		if (c == 0)
			return fail(err, LV_ERR_INVALID, "not valid JSON: NUL byte at offset %zu", i);
		if (in_str) {
			if (c == '"') {
				in_str = false;
			} else if (c == '\\') {
				if (i + 1 < len && t[i + 1] == 'u') {
					/* cJSON reads a malformed \\u escape as U+0000 and cuts
					 * the string there: four hex digits, and not 0000. */
					bool hex4 = i + 5 < len;
					for (size_t k = 2; hex4 && k < 6; k++)
						hex4 = isxdigit((unsigned char)t[i + k]) != 0;
					if (!hex4)
						return fail(err, LV_ERR_INVALID,
							    "not valid JSON: a \\u escape without four hex digits at offset %zu", i);
					if (memcmp(t + i + 2, "0000", 4) == 0)
						return fail(err, LV_ERR_INVALID,
							    "not valid here: \\u0000 in a string at offset %zu", i);
					i += 5;
				} else {
					i++;
				}
			} else if (c < 0x20) {
				return fail(err, LV_ERR_INVALID,
					    "not valid JSON: raw control character in a string at offset %zu", i);
			}
			continue;
		}
		if (c == '"') {
			in_str = true;
		} else if (c < 0x20 && c != ' ' && c != '\t' && c != '\n' && c != '\r') {
			/* cJSON skips every byte up to 0x20 as whitespace; JSON has four. */
			return fail(err, LV_ERR_INVALID, "not valid JSON: a control character at offset %zu", i);
		} else if (c == '-' || is_digit((char)c)) {
			size_t n = number_len(t + i, len - i);
			if (n == 0)
				return fail(err, LV_ERR_INVALID, "not valid JSON: malformed number at offset %zu", i);
			i += n - 1;
		}
	}
	return LV_OK;
}

/* The policy text as cJSON reads it, once scan_raw has refused what
 * cJSON lets through: util_json_parse would also refuse text that is not
 * UTF-8, but a policy names the field whose string is not (utf8_valid,
 * below), so here only "one value and nothing after it" is checked. */
static cJSON *parse_checked(const char *t, size_t len)
{
	const char *end = NULL;
	cJSON *j = cJSON_ParseWithLengthOpts(t, len, &end, 0);
	if (!j)
		return NULL;
	while (end < t + len && (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n'))
		end++;
	if (end != t + len) {
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}

/* ---- string forms ---- */

static bool utf8_valid(const unsigned char *s)
{
	while (*s) {
		unsigned c = *s;
		size_t n;
		unsigned min;
		unsigned cp;
		if (c < 0x80) {
			s++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			n = 1, min = 0x80, cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2, min = 0x800, cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3, min = 0x10000, cp = c & 0x07;
		} else {
			return false;
		}
		for (size_t k = 1; k <= n; k++) {
			if ((s[k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		s += n + 1;
	}
	return true;
}

/* Generic rules for every string: at most @max bytes (the LV_POLICY_MAX_STRING
 * cap gives LV_ERR_TOO_LARGE, a tighter @max LV_ERR_INVALID), valid UTF-8,
 * no control characters except "\n" when @multiline, not blank. */
static enum lv_status check_text(const char *s, const char *where, size_t max, bool multiline,
				 char *err)
{
	size_t n = strlen(s);
	if (n > LV_POLICY_MAX_STRING)
		return fail(err, LV_ERR_TOO_LARGE, "%s: longer than %d bytes", where, LV_POLICY_MAX_STRING);
	if (n > max)
		return fail(err, LV_ERR_INVALID, "%s: longer than %zu bytes", where, max);
	if (!utf8_valid((const unsigned char *)s))
		return fail(err, LV_ERR_INVALID, "%s: not valid UTF-8", where);
	bool blank = true;
	for (const unsigned char *q = (const unsigned char *)s; *q; q++) {
		if ((*q < 0x20 && !(multiline && *q == '\n')) || *q == 0x7f)
			return fail(err, LV_ERR_INVALID, "%s: control characters are not allowed%s", where,
				    multiline ? " (except \\n)" : "");
		if (*q != ' ' && *q != '\n')
			blank = false;
	}
	if (blank)
		return fail(err, LV_ERR_INVALID, "%s: must not be empty", where);
	return LV_OK;
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_hex(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* An absolute IRI (RFC 3987 "IRI", not "irelative-ref"): scheme ":" and a
 * non-empty rest without spaces, controls or the characters RFC 3987
 * excludes; "%" starts a two-hex-digit escape; "scheme://" needs a host.
 * UTF-8 validity is checked by the caller. */
static bool iri_valid(const char *s)
{
	const char *p = s;
	if (!is_alpha(*p))
		return false;
	while (is_alpha(*p) || is_digit(*p) || *p == '+' || *p == '-' || *p == '.')
		p++;
	if (*p != ':' || p[1] == '\0')
		return false;
	p++;
	if (p[0] == '/' && p[1] == '/' && (p[2] == '/' || p[2] == '\0' || p[2] == '?' || p[2] == '#'))
		return false;
	for (; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c <= 0x20 || c == 0x7f || strchr("<>\"{}|\\^`", c))
			return false;
		if (c == '%' && !(is_hex(p[1]) && is_hex(p[2])))
			return false;
	}
	return true;
}

static bool id_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > LV_POLICY_ID_MAX)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || is_digit(*s) || *s == '-'))
			return false;
	return true;
}

/* https://w3id.org/dpv#Term or https://w3id.org/dpv/<module path>#Term. */
static bool dpv_iri_valid(const char *s)
{
	static const char core[] = "https://w3id.org/dpv#";
	static const char ext[] = "https://w3id.org/dpv/";
	const char *local;
	if (strncmp(s, core, sizeof core - 1) == 0) {
		local = s + sizeof core - 1;
	} else if (strncmp(s, ext, sizeof ext - 1) == 0) {
		const char *p = s + sizeof ext - 1;
		if (!(is_alpha(*p) || is_digit(*p)))
			return false;
		for (; *p && *p != '#'; p++)
			if (!(is_alpha(*p) || is_digit(*p) || *p == '-' || *p == '_' || *p == '/'))
				return false;
		if (*p != '#' || p[-1] == '/')
			return false;
		local = p + 1;
	} else {
		return false;
	}
	if (!is_alpha(*local))
		return false;
	for (const char *p = local; *p; p++)
		if (!(is_alpha(*p) || is_digit(*p) || *p == '-' || *p == '_'))
			return false;
	return true;
}

static bool contact_valid(const char *s)
{
	if (!iri_valid(s))
		return false;
	if (strncmp(s, "mailto:", 7) == 0) {
		const char *at = strchr(s + 7, '@');
		return at && at > s + 7 && at[1] != '\0';
	}
	if (strncmp(s, "https://", 8) == 0)
		return true; /* iri_valid insisted on a host */
	if (strncmp(s, "tel:", 4) == 0) {
		const char *p = s + 4;
		size_t digits = 0;
		if (*p == '+')
			p++;
		for (; *p; p++) {
			if (is_digit(*p))
				digits++;
			else if (*p != '-' && *p != '.' && *p != '(' && *p != ')')
				return false;
		}
		return digits >= 3;
	}
	return false;
}

/* ISO 3166-1 alpha-2 ("EU" included), optionally with an ISO 3166-2
 * subdivision: "US", "US-CA", "IE", "GB-SCT". */
static bool jurisdiction_valid(const char *s)
{
	if (!(s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z'))
		return false;
	if (s[2] == '\0')
		return true;
	if (s[2] != '-')
		return false;
	size_t n = 0;
	for (const char *p = s + 3; *p; p++, n++)
		if (!((*p >= 'A' && *p <= 'Z') || is_digit(*p)))
			return false;
	return n >= 1 && n <= 3;
}

/* BCP 47, loosely: a 2-3 letter language then 1-8 character subtags. */
static bool language_valid(const char *s)
{
	size_t n = strlen(s);
	size_t run = 0;
	size_t i = 0;
	if (n > LANGUAGE_MAX)
		return false;
	while (i < n && is_alpha(s[i]))
		i++;
	if (i < 2 || i > 3)
		return false;
	for (; i < n; i++) {
		if (s[i] == '-') {
			if (i + 1 == n || s[i + 1] == '-')
				return false;
			run = 0;
		} else if (is_alpha(s[i]) || is_digit(s[i])) {
			if (++run > 8)
				return false;
		} else {
			return false;
		}
	}
	return true;
}

static bool in_set(const char *s, const char *const *set, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, set[i]) == 0)
			return true;
	return false;
}

/* ---- objects ---- */

/* Rejects members not in @allowed and members named twice (cJSON keeps
 * both, and only the first would be checked). */
static enum lv_status check_members(const cJSON *obj, const char *parent, const char *const *allowed,
				    size_t n, char *err)
{
	unsigned seen = 0;
	char path[96];
	char q[72];
	assert(n <= sizeof seen * 8);
	for (const cJSON *c = obj->child; c; c = c->next) {
		size_t k = 0;
		while (k < n && strcmp(c->string, allowed[k]) != 0)
			k++;
		quote_input(q, sizeof q, c->string);
		if (k == n) {
			if (parent)
				return fail(err, LV_ERR_INVALID, "%s: unknown field \"%s\"", parent, q);
			return fail(err, LV_ERR_INVALID, "unknown field \"%s\"", q);
		}
		if (seen & (1u << k)) {
			field_path(path, sizeof path, parent, q);
			return fail(err, LV_ERR_INVALID, "%s: field given twice", path);
		}
		seen |= 1u << k;
	}
	return LV_OK;
}

/* The member @name of @obj; NULL (and an error) when it is absent and
 * @required, NULL and LV_OK when absent and optional. */
static enum lv_status member(const cJSON *obj, const char *parent, const char *name, bool required,
			     cJSON **out, char *err)
{
	char path[96];
	*out = cJSON_GetObjectItemCaseSensitive(obj, name);
	if (!*out && required) {
		field_path(path, sizeof path, parent, name);
		return fail(err, LV_ERR_INVALID, "missing required field \"%s\"", path);
	}
	return LV_OK;
}

static enum lv_status get_object(const cJSON *obj, const char *name, const char *const *allowed,
				 size_t n, cJSON **out, char *err)
{
	enum lv_status st = member(obj, NULL, name, true, out, err);
	if (st != LV_OK)
		return st;
	if (!cJSON_IsObject(*out)) {
		*out = NULL;
		return fail(err, LV_ERR_INVALID, "%s: must be an object", name);
	}
	return check_members(*out, name, allowed, n, err);
}

/* Strings.  @form checks the content after the generic text rules. */
enum form {
	FORM_TEXT_SHORT,
	FORM_TEXT_LONG,
	FORM_ID,
	FORM_IRI,
	FORM_DPV_IRI,
	FORM_CONTACT,
	FORM_LEGAL_BASIS,
	FORM_JURISDICTION,
	FORM_LANGUAGE,
	FORM_RESULT_FIELD,
	FORM_OPERATION,
};

static enum lv_status check_form(const char *s, const char *where, enum form form, char *err)
{
	size_t max = form == FORM_TEXT_SHORT ? SHORT_TEXT_MAX : LV_POLICY_MAX_STRING;
	enum lv_status st = check_text(s, where, max, form == FORM_TEXT_LONG, err);
	if (st != LV_OK)
		return st;
	switch (form) {
	case FORM_TEXT_SHORT:
	case FORM_TEXT_LONG:
		return LV_OK;
	case FORM_ID:
		if (!id_valid(s))
			return fail(err, LV_ERR_INVALID, "%s: must match [a-z0-9-]{1,64}", where);
		return LV_OK;
	case FORM_IRI:
		if (!iri_valid(s))
			return fail(err, LV_ERR_INVALID, "%s: must be an absolute IRI", where);
		return LV_OK;
	case FORM_DPV_IRI:
		if (!dpv_iri_valid(s))
			return fail(err, LV_ERR_INVALID,
				    "%s: must be a DPV term IRI (https://w3id.org/dpv#Term or "
				    "https://w3id.org/dpv/<extension>#Term)", where);
		return LV_OK;
	case FORM_CONTACT:
		if (!contact_valid(s))
			return fail(err, LV_ERR_INVALID, "%s: must be a mailto:, https: or tel: URI", where);
		return LV_OK;
	case FORM_LEGAL_BASIS:
		if (!in_set(s, LEGAL_BASES, COUNT_OF(LEGAL_BASES)))
			return fail(err, LV_ERR_INVALID,
				    "%s: not a known legal basis (e.g. dpv:Consent, eu-gdpr:A6-1-a; "
				    "see docs/policies.md)", where);
		return LV_OK;
	case FORM_JURISDICTION:
		if (!jurisdiction_valid(s))
			return fail(err, LV_ERR_INVALID,
				    "%s: must be an ISO 3166 code such as \"US\", \"US-CA\" or \"EU\"", where);
		return LV_OK;
	case FORM_LANGUAGE:
		if (!language_valid(s))
			return fail(err, LV_ERR_INVALID, "%s: must be a BCP 47 language tag such as \"en-US\"",
				    where);
		return LV_OK;
	case FORM_RESULT_FIELD:
		if (!in_set(s, RESULT_FIELDS, COUNT_OF(RESULT_FIELDS)))
			return fail(err, LV_ERR_INVALID,
				    "%s: not a known result field (result.score.scaled, result.score.raw, "
				    "result.score.min, result.score.max, result.success, result.completion, "
				    "result.duration)", where);
		return LV_OK;
	case FORM_OPERATION:
		if (!in_set(s, OP_NAMES, N_OPS))
			return fail(err, LV_ERR_INVALID,
				    "%s: not a known operation (count, sum, mean, histogram, quantile)", where);
		return LV_OK;
	}
	return LV_ERR_INTERNAL;
}

static enum lv_status get_string(const cJSON *obj, const char *parent, const char *name, bool required,
				 enum form form, const char **out, char *err)
{
	char path[96];
	cJSON *v;
	enum lv_status st = member(obj, parent, name, required, &v, err);
	*out = NULL;
	if (st != LV_OK || !v)
		return st;
	field_path(path, sizeof path, parent, name);
	if (!cJSON_IsString(v))
		return fail(err, LV_ERR_INVALID, "%s: must be a string", path);
	st = check_form(v->valuestring, path, form, err);
	if (st == LV_OK)
		*out = v->valuestring;
	return st;
}

/* An integer in [min, max].  The node is rewritten so that "-0", "1.0" and
 * "1e0" all print as the same canonical number. */
static enum lv_status get_uint(const cJSON *obj, const char *parent, const char *name, double min,
			       double max, uint32_t *out, char *err)
{
	char path[96];
	cJSON *v;
	enum lv_status st = member(obj, parent, name, true, &v, err);
	*out = 0;
	if (st != LV_OK)
		return st;
	field_path(path, sizeof path, parent, name);
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || floor(v->valuedouble) != v->valuedouble ||
	    v->valuedouble < min || v->valuedouble > max)
		return fail(err, LV_ERR_INVALID, "%s: must be an integer from %.0f to %.0f", path, min, max);
	*out = (uint32_t)v->valuedouble;
	cJSON_SetNumberHelper(v, (double)*out);
	return LV_OK;
}

static enum lv_status get_epsilon(const cJSON *obj, const char *name, double *out, char *err)
{
	cJSON *v;
	enum lv_status st = member(obj, "privacy", name, true, &v, err);
	*out = 0;
	if (st != LV_OK)
		return st;
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || !(v->valuedouble > 0) ||
	    v->valuedouble > EPSILON_MAX)
		return fail(err, LV_ERR_INVALID, "privacy.%s: must be a number greater than 0 and at most %g",
			    name, EPSILON_MAX);
	*out = v->valuedouble;
	return LV_OK;
}

/* An array of 0 < @min_items <= n <= LV_POLICY_MAX_ITEMS distinct strings
 * of @form.  out->v is allocated here. */
static enum lv_status get_list(const cJSON *obj, const char *parent, const char *name, size_t min_items,
			       enum form form, struct strlist *out, char *err)
{
	char path[96];
	char where[112];
	cJSON *v;
	size_t n = 0;
	enum lv_status st = member(obj, parent, name, true, &v, err);
	if (st != LV_OK)
		return st;
	field_path(path, sizeof path, parent, name);
	if (!cJSON_IsArray(v))
		return fail(err, LV_ERR_INVALID, "%s: must be an array of strings", path);
	for (const cJSON *c = v->child; c; c = c->next)
		if (++n > LV_POLICY_MAX_ITEMS)
			return fail(err, LV_ERR_TOO_LARGE, "%s: more than %d items", path, LV_POLICY_MAX_ITEMS);
	if (n < min_items)
		return fail(err, LV_ERR_INVALID, "%s: must have at least %zu item%s", path, min_items,
			    min_items == 1 ? "" : "s");
	out->v = calloc(n ? n : 1, sizeof *out->v);
	if (!out->v)
		return fail(err, LV_ERR_NOMEM, "out of memory");
	size_t i = 0;
	for (const cJSON *c = v->child; c; c = c->next, i++) {
		snprintf(where, sizeof where, "%s[%zu]", path, i);
		if (!cJSON_IsString(c))
			return fail(err, LV_ERR_INVALID, "%s: must be a string", where);
		st = check_form(c->valuestring, where, form, err);
		if (st != LV_OK)
			return st;
		for (size_t k = 0; k < i; k++)
			if (strcmp(out->v[k], c->valuestring) == 0)
				return fail(err, LV_ERR_INVALID, "%s: repeats item %zu", where, k);
		out->v[i] = c->valuestring;
		out->n = i + 1;
	}
	return LV_OK;
}

/* ---- the policy ---- */

static enum lv_status check_policy(struct lv_policy *p, char *err)
{
	const cJSON *root = p->root;
	cJSON *controller;
	cJSON *data;
	cJSON *privacy;
	struct strlist ops = {0};
	enum lv_status st;

	if (!cJSON_IsObject(root))
		return fail(err, LV_ERR_INVALID, "a policy must be a JSON object");
	st = check_members(root, NULL, TOP_FIELDS, COUNT_OF(TOP_FIELDS), err);
	if (st != LV_OK)
		return st;

	/* Fields in the order docs/policies.md lists them, so the first
	 * problem reported is predictable. */
	if ((st = get_string(root, NULL, "id", true, FORM_ID, &p->id, err)) != LV_OK ||
	    (st = get_uint(root, NULL, "version", 1, VERSION_MAX, &p->version, err)) != LV_OK ||
	    (st = get_string(root, NULL, "title", true, FORM_TEXT_SHORT, &p->title, err)) != LV_OK ||
	    (st = get_string(root, NULL, "description", true, FORM_TEXT_LONG, &p->description, err)) != LV_OK ||
	    (st = get_string(root, NULL, "language", false, FORM_LANGUAGE, &p->language, err)) != LV_OK)
		return st;

	if ((st = get_object(root, "controller", CONTROLLER_FIELDS, COUNT_OF(CONTROLLER_FIELDS),
			     &controller, err)) != LV_OK ||
	    (st = get_string(controller, "controller", "name", true, FORM_TEXT_SHORT,
			     &p->controller_name, err)) != LV_OK ||
	    (st = get_string(controller, "controller", "contact", true, FORM_CONTACT,
			     &p->controller_contact, err)) != LV_OK ||
	    (st = get_string(controller, "controller", "address", false, FORM_TEXT_LONG,
			     &p->controller_address, err)) != LV_OK)
		return st;

	if ((st = get_string(root, NULL, "legal_basis", true, FORM_LEGAL_BASIS, &p->legal_basis, err)) != LV_OK ||
	    (st = get_string(root, NULL, "purpose", true, FORM_DPV_IRI, &p->purpose, err)) != LV_OK)
		return st;

	if ((st = get_object(root, "data", DATA_FIELDS, COUNT_OF(DATA_FIELDS), &data, err)) != LV_OK ||
	    (st = get_list(data, "data", "verbs", 1, FORM_IRI, &p->verbs, err)) != LV_OK ||
	    (st = get_list(data, "data", "activity_types", 1, FORM_IRI, &p->activity_types, err)) != LV_OK ||
	    (st = get_list(data, "data", "result_fields", 0, FORM_RESULT_FIELD, &p->result_fields, err)) != LV_OK)
		return st;

	st = get_list(root, NULL, "operations", 1, FORM_OPERATION, &ops, err);
	for (size_t i = 0; i < ops.n; i++) {
		enum lv_policy_op op;
		if (lv_policy_op_parse(ops.v[i], &op))
			p->ops |= 1u << op;
	}
	free(ops.v);
	if (st != LV_OK)
		return st;

	if ((st = get_object(root, "privacy", PRIVACY_FIELDS, COUNT_OF(PRIVACY_FIELDS), &privacy, err)) != LV_OK ||
	    (st = get_epsilon(privacy, "epsilon_per_query_max", &p->eps_query, err)) != LV_OK ||
	    (st = get_epsilon(privacy, "epsilon_budget", &p->eps_budget, err)) != LV_OK)
		return st;
	if (p->eps_query > p->eps_budget)
		return fail(err, LV_ERR_INVALID,
			    "privacy.epsilon_per_query_max: must not exceed privacy.epsilon_budget");
	if ((st = get_uint(privacy, "privacy", "budget_window_days", 1, WINDOW_DAYS_MAX, &p->window_days,
			   err)) != LV_OK ||
	    (st = get_uint(privacy, "privacy", "min_cohort", 1, MIN_COHORT_MAX, &p->min_cohort, err)) != LV_OK)
		return st;

	if ((st = get_uint(root, NULL, "retention_days", 1, RETENTION_DAYS_MAX, &p->retention_days, err)) != LV_OK ||
	    (st = get_uint(root, NULL, "consent_valid_days", 1, CONSENT_DAYS_MAX, &p->consent_valid_days,
			   err)) != LV_OK ||
	    (st = get_uint(root, NULL, "guardian_below_age", 0, AGE_MAX, &p->guardian_below_age, err)) != LV_OK ||
	    (st = get_list(root, NULL, "recipients", 1, FORM_TEXT_SHORT, &p->recipients, err)) != LV_OK ||
	    (st = get_list(root, NULL, "jurisdiction", 1, FORM_JURISDICTION, &p->jurisdiction, err)) != LV_OK ||
	    (st = get_string(root, NULL, "withdrawal", true, FORM_TEXT_LONG, &p->withdrawal, err)) != LV_OK)
		return st;
	return LV_OK;
}

static int cmp_key(const void *a, const void *b)
{
	const cJSON *x = *(const cJSON *const *)a;
	const cJSON *y = *(const cJSON *const *)b;
	return strcmp(x->string, y->string);
}

/* Sorts every object's members by key, in place.  Only runs on a validated
 * tree: depth <= 3 and at most COUNT_OF(TOP_FIELDS) members per object. */
static void sort_keys(cJSON *node)
{
	if (cJSON_IsObject(node) && node->child) {
		cJSON *m[COUNT_OF(TOP_FIELDS)];
		size_t n = 0;
		for (cJSON *c = node->child; c; c = c->next) {
			assert(n < COUNT_OF(m));
			m[n++] = c;
		}
		qsort(m, n, sizeof m[0], cmp_key);
		for (size_t i = 0; i < n; i++) {
			m[i]->prev = i ? m[i - 1] : m[n - 1]; /* cJSON: head->prev is the tail */
			m[i]->next = i + 1 < n ? m[i + 1] : NULL;
		}
		node->child = m[0];
	}
	for (cJSON *c = node->child; c; c = c->next)
		sort_keys(c);
}

void lv_policy_destroy(struct lv_policy *p)
{
	if (!p)
		return;
	free(p->verbs.v);
	free(p->activity_types.v);
	free(p->result_fields.v);
	free(p->recipients.v);
	free(p->jurisdiction.v);
	free(p->canonical);
	cJSON_Delete(p->root);
	free(p);
}

enum lv_status lv_policy_parse(const char *text, size_t len, struct lv_policy **out,
			       char err[LV_POLICY_ERR_LEN])
{
	struct lv_policy *p = NULL;
	char *printed = NULL;
	enum lv_status st;

	*out = NULL;
	if (err)
		err[0] = '\0';
	if (!text) {
		st = fail(err, LV_ERR_INVALID, "no policy text");
		goto out;
	}
	if (len > LV_POLICY_MAX_TEXT) {
		st = fail(err, LV_ERR_TOO_LARGE, "policy text longer than %d bytes", LV_POLICY_MAX_TEXT);
		goto out;
	}
	st = scan_raw(text, len, err);
	if (st != LV_OK)
		goto out;
	p = calloc(1, sizeof *p);
	if (!p) {
		st = fail(err, LV_ERR_NOMEM, "out of memory");
		goto out;
	}
	p->root = parse_checked(text, len);
	if (!p->root) {
		st = fail(err, LV_ERR_INVALID, "not valid JSON");
		goto out;
	}
	st = check_policy(p, err);
	if (st != LV_OK)
		goto out;

	sort_keys(p->root);
	printed = cJSON_PrintUnformatted(p->root);
	if (!printed) {
		st = fail(err, LV_ERR_NOMEM, "out of memory");
		goto out;
	}
	/* cJSON_PrintUnformatted's buffer comes from cJSON's allocator; keep a
	 * malloc'd copy so that every string we hand out is free()able. */
	p->canonical_len = strlen(printed);
	p->canonical = malloc(p->canonical_len + 1);
	if (!p->canonical) {
		st = fail(err, LV_ERR_NOMEM, "out of memory");
		goto out;
	}
	memcpy(p->canonical, printed, p->canonical_len + 1);
	crypto_hash_sha256(p->digest, (const unsigned char *)p->canonical, p->canonical_len);
	*out = p;
	p = NULL;
	st = LV_OK;
out:
	if (printed)
		cJSON_free(printed);
	lv_policy_destroy(p);
	return st;
}

/* ---- operations ---- */

const char *lv_policy_op_str(enum lv_policy_op op)
{
	return (unsigned)op < N_OPS ? OP_NAMES[op] : NULL;
}

bool lv_policy_op_parse(const char *name, enum lv_policy_op *op)
{
	for (unsigned i = 0; name && i < N_OPS; i++) {
		if (strcmp(name, OP_NAMES[i]) == 0) {
			*op = (enum lv_policy_op)i;
			return true;
		}
	}
	return false;
}

/* ---- accessors ---- */

char *lv_policy_canonical_text(const struct lv_policy *p)
{
	char *s = malloc(p->canonical_len + 1);
	if (s)
		memcpy(s, p->canonical, p->canonical_len + 1);
	return s;
}

void lv_policy_digest(const struct lv_policy *p, unsigned char out[LV_POLICY_DIGEST_LEN])
{
	memcpy(out, p->digest, LV_POLICY_DIGEST_LEN);
}

void lv_policy_digest_hex(const struct lv_policy *p, char out[LV_POLICY_DIGEST_HEX_LEN])
{
	sodium_bin2hex(out, LV_POLICY_DIGEST_HEX_LEN, p->digest, LV_POLICY_DIGEST_LEN);
}

const char *lv_policy_id(const struct lv_policy *p) { return p->id; }
uint32_t lv_policy_version(const struct lv_policy *p) { return p->version; }
const char *lv_policy_title(const struct lv_policy *p) { return p->title; }
const char *lv_policy_description(const struct lv_policy *p) { return p->description; }
const char *lv_policy_controller_name(const struct lv_policy *p) { return p->controller_name; }
const char *lv_policy_controller_contact(const struct lv_policy *p) { return p->controller_contact; }
const char *lv_policy_controller_address(const struct lv_policy *p) { return p->controller_address; }
const char *lv_policy_legal_basis(const struct lv_policy *p) { return p->legal_basis; }
const char *lv_policy_purpose(const struct lv_policy *p) { return p->purpose; }
const char *lv_policy_withdrawal(const struct lv_policy *p) { return p->withdrawal; }
const char *lv_policy_language(const struct lv_policy *p) { return p->language; }
double lv_policy_epsilon_per_query_max(const struct lv_policy *p) { return p->eps_query; }
double lv_policy_epsilon_budget(const struct lv_policy *p) { return p->eps_budget; }
uint32_t lv_policy_budget_window_days(const struct lv_policy *p) { return p->window_days; }
uint32_t lv_policy_min_cohort(const struct lv_policy *p) { return p->min_cohort; }
uint32_t lv_policy_retention_days(const struct lv_policy *p) { return p->retention_days; }
uint32_t lv_policy_consent_valid_days(const struct lv_policy *p) { return p->consent_valid_days; }
uint32_t lv_policy_guardian_below_age(const struct lv_policy *p) { return p->guardian_below_age; }

static const char *list_at(const struct strlist *l, size_t i)
{
	return i < l->n ? l->v[i] : NULL;
}

static bool list_has(const struct strlist *l, const char *s)
{
	for (size_t i = 0; s && i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return true;
	return false;
}

size_t lv_policy_recipient_count(const struct lv_policy *p) { return p->recipients.n; }
const char *lv_policy_recipient(const struct lv_policy *p, size_t i) { return list_at(&p->recipients, i); }
size_t lv_policy_jurisdiction_count(const struct lv_policy *p) { return p->jurisdiction.n; }
const char *lv_policy_jurisdiction(const struct lv_policy *p, size_t i) { return list_at(&p->jurisdiction, i); }
size_t lv_policy_verb_count(const struct lv_policy *p) { return p->verbs.n; }
const char *lv_policy_verb(const struct lv_policy *p, size_t i) { return list_at(&p->verbs, i); }
size_t lv_policy_activity_type_count(const struct lv_policy *p) { return p->activity_types.n; }
const char *lv_policy_activity_type(const struct lv_policy *p, size_t i) { return list_at(&p->activity_types, i); }
size_t lv_policy_result_field_count(const struct lv_policy *p) { return p->result_fields.n; }
const char *lv_policy_result_field(const struct lv_policy *p, size_t i) { return list_at(&p->result_fields, i); }

bool lv_policy_allows_operation(const struct lv_policy *p, enum lv_policy_op op)
{
	return (unsigned)op < N_OPS && (p->ops & (1u << op));
}

bool lv_policy_covers_verb(const struct lv_policy *p, const char *iri)
{
	return list_has(&p->verbs, iri);
}

bool lv_policy_covers_activity_type(const struct lv_policy *p, const char *iri)
{
	return list_has(&p->activity_types, iri);
}

bool lv_policy_covers_result_field(const struct lv_policy *p, const char *field)
{
	return list_has(&p->result_fields, field);
}
