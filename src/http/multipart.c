/* multipart/mixed (RFC 2046 §5.1) for xAPI statement requests and
 * responses.  The parser works on a complete in-memory body whose size the
 * HTTP layer has already capped; what the parts must contain is an xAPI
 * rule, judged by lv_xapi_request_validate (src/xapi/attachments.c). */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "multipart.h"

static bool is_lwsp(char c)
{
	return c == ' ' || c == '\t';
}

/* RFC 2045 token characters, for header names and parameter names. */
static bool is_tchar(unsigned char c)
{
	if (c <= 0x20 || c >= 0x7f)
		return false;
	return !strchr("()<>@,;:\\\"/[]?=", c);
}

/* RFC 2046 bchars; the space is only allowed inside the boundary. */
static bool is_bchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return true;
	return c != '\0' && strchr("'()+_,-./:=? ", c) != NULL;
}

/* Compares the media type of a Content-Type value (before any ';',
 * surrounding whitespace ignored) with @want, case-insensitively. */
static bool media_type_is(const char *value, const char *want)
{
	if (!value)
		return false;
	while (is_lwsp(*value))
		value++;
	size_t n = strcspn(value, ";");
	while (n && is_lwsp(value[n - 1]))
		n--;
	return n == strlen(want) && strncasecmp(value, want, n) == 0;
}

static const char *skip_lwsp(const char *p)
{
	while (is_lwsp(*p))
		p++;
	return p;
}

/* One Content-Type parameter, name=value. */
struct ct_param {
	const char *name;          /* borrowed from the header value */
	size_t name_len;
	char val[MP_BOUNDARY_LEN]; /* unquoted, NUL-terminated, cut to fit */
	size_t vl;
	bool too_long;             /* the value did not fit in val */
};

static void param_value_add(struct ct_param *cp, char c)
{
	if (cp->vl + 1 < sizeof cp->val)
		cp->val[cp->vl++] = c;
	else
		cp->too_long = true;
}

/* Reads the value at *@pp (quoted or not) into @cp; *@pp ends just past
 * it. */
static enum lv_status param_value(const char **pp, struct ct_param *cp, char err[MP_ERR_LEN])
{
	const char *p = *pp;
	if (*p == '"') {
		p++;
		while (*p && *p != '"') {
			if (*p == '\\' && p[1])
				p++;
			param_value_add(cp, *p);
			p++;
		}
		if (*p != '"') {
			util_errf(err, "unterminated quoted Content-Type parameter");
			return LV_ERR_INVALID;
		}
		p++;
	} else {
		/* Strictly a token, but clients send unquoted boundaries
		 * with '=' or ':' in them; take the run up to ';' or
		 * whitespace and let the bchar check judge it. */
		while (*p && *p != ';' && *p != '"' && !is_lwsp(*p)) {
			param_value_add(cp, *p);
			p++;
		}
	}
	cp->val[cp->vl] = '\0';
	*pp = p;
	return LV_OK;
}

/* Parses "name = value" at *@pp (past the ';' and whitespace) into @cp;
 * *@pp ends at the next ';' or the end of the header value. */
static enum lv_status ct_param_parse(const char **pp, struct ct_param *cp, char err[MP_ERR_LEN])
{
	const char *p = *pp;
	memset(cp, 0, sizeof *cp);
	cp->name = p;
	while (is_tchar((unsigned char)*p))
		p++;
	cp->name_len = (size_t)(p - cp->name);
	p = skip_lwsp(p);
	if (cp->name_len == 0 || *p != '=') {
		util_errf(err, "malformed Content-Type parameter");
		return LV_ERR_INVALID;
	}
	p = skip_lwsp(p + 1);
	enum lv_status st = param_value(&p, cp, err);
	if (st != LV_OK)
		return st;
	p = skip_lwsp(p);
	if (*p != '\0' && *p != ';') {
		util_errf(err, "malformed Content-Type parameter");
		return LV_ERR_INVALID;
	}
	*pp = p;
	return LV_OK;
}

/* RFC 2046: 1..70 bchars, not ending in a space. */
static enum lv_status boundary_check(const struct ct_param *cp, char err[MP_ERR_LEN])
{
	if (cp->too_long || cp->vl == 0 || cp->vl > 70 || cp->val[cp->vl - 1] == ' ') {
		util_errf(err, "boundary must be 1 to 70 characters");
		return LV_ERR_INVALID;
	}
	for (size_t i = 0; i < cp->vl; i++) {
		if (!is_bchar((unsigned char)cp->val[i])) {
			util_errf(err, "invalid character in boundary");
			return LV_ERR_INVALID;
		}
	}
	return LV_OK;
}

/* Extracts the boundary parameter from a Content-Type header value. */
static enum lv_status parse_boundary(const char *ct, char boundary[MP_BOUNDARY_LEN], char err[MP_ERR_LEN])
{
	boundary[0] = '\0';
	if (!ct) {
		util_errf(err, "missing Content-Type");
		return LV_ERR_INVALID;
	}
	if (!media_type_is(ct, "multipart/mixed")) {
		util_errf(err, "Content-Type is not multipart/mixed");
		return LV_ERR_INVALID;
	}
	const char *p = strchr(ct, ';');
	bool found = false;
	while (p && *p == ';') {
		p = skip_lwsp(p + 1);
		if (*p == '\0')
			break; /* "multipart/mixed;" — a trailing ';' carries nothing */
		struct ct_param cp;
		if (ct_param_parse(&p, &cp, err) != LV_OK)
			return LV_ERR_INVALID;
		if (cp.name_len != strlen("boundary") || strncasecmp(cp.name, "boundary", cp.name_len) != 0)
			continue;
		if (found) {
			util_errf(err, "repeated boundary parameter");
			return LV_ERR_INVALID;
		}
		found = true;
		if (boundary_check(&cp, err) != LV_OK)
			return LV_ERR_INVALID;
		memcpy(boundary, cp.val, cp.vl + 1);
	}
	if (!found) {
		util_errf(err, "multipart/mixed without boundary parameter");
		return LV_ERR_INVALID;
	}
	return LV_OK;
}

/* After "--boundary": transport padding then CRLF.  Returns the offset just
 * past the CRLF, or 0 when the line is not a delimiter line. */
static size_t delimiter_line_end(const unsigned char *b, size_t len, size_t i)
{
	while (i < len && is_lwsp((char)b[i]))
		i++;
	if (i + 1 < len && b[i] == '\r' && b[i + 1] == '\n')
		return i + 2;
	return 0;
}

static void part_free(struct mp_part *p)
{
	free(p->content_type);
	free(p->transfer_encoding);
	free(p->sha2);
}

void multipart_free(struct mp_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		part_free(&l->parts[i]);
	free(l->parts);
	l->parts = NULL;
	l->n = 0;
}

enum lv_status multipart_xapi_parts(const struct mp_list *l, struct lv_xapi_part **out)
{
	*out = NULL;
	if (l->n == 0)
		return LV_OK;
	struct lv_xapi_part *x = calloc(l->n, sizeof *x);
	if (!x)
		return LV_ERR_NOMEM;
	for (size_t i = 0; i < l->n; i++) {
		x[i].content_type = l->parts[i].content_type;
		x[i].transfer_encoding = l->parts[i].transfer_encoding;
		x[i].sha2 = l->parts[i].sha2;
		x[i].body = l->parts[i].body;
		x[i].len = l->parts[i].len;
	}
	*out = x;
	return LV_OK;
}

/* Parses the header block [h, h+hl) (lines each ending in CRLF, without the
 * blank line) into @p. */
static enum lv_status parse_part_headers(const unsigned char *h, size_t hl, struct mp_part *p, size_t idx,
					 char err[MP_ERR_LEN])
{
	size_t pos = 0;
	unsigned lines = 0;
	while (pos < hl) {
		const unsigned char *eol = memmem(h + pos, hl - pos, "\r\n", 2);
		/* The block ends at a CRLF by construction, so eol is never NULL;
		 * check anyway rather than trust the caller. */
		if (!eol) {
			util_errf(err, "part %zu: header line without CRLF", idx);
			return LV_ERR_INVALID;
		}
		const char *line = (const char *)h + pos;
		size_t ll = (size_t)((const char *)eol - line);
		pos += ll + 2;
		if (++lines > MP_MAX_HEADERS) {
			util_errf(err, "part %zu: more than %d header lines", idx, MP_MAX_HEADERS);
			return LV_ERR_INVALID;
		}
		if (ll > MP_MAX_HEADER_LINE) {
			util_errf(err, "part %zu: header line longer than %d bytes", idx, MP_MAX_HEADER_LINE);
			return LV_ERR_INVALID;
		}
		if (ll && is_lwsp(line[0])) {
			/* Obsolete folding: refusing it keeps one header per line
			 * and removes a classic request-smuggling ambiguity. */
			util_errf(err, "part %zu: folded header lines are not accepted", idx);
			return LV_ERR_INVALID;
		}
		size_t nl = 0;
		while (nl < ll && is_tchar((unsigned char)line[nl]))
			nl++;
		if (nl == 0 || nl >= ll || line[nl] != ':') {
			util_errf(err, "part %zu: malformed header line", idx);
			return LV_ERR_INVALID;
		}
		const char *v = line + nl + 1;
		size_t vl = ll - nl - 1;
		while (vl && is_lwsp(*v)) {
			v++;
			vl--;
		}
		while (vl && is_lwsp(v[vl - 1]))
			vl--;
		for (size_t i = 0; i < vl; i++) {
			unsigned char c = (unsigned char)v[i];
			if ((c < 0x20 && c != '\t') || c == 0x7f) {
				util_errf(err, "part %zu: control character in header value", idx);
				return LV_ERR_INVALID;
			}
		}
		char **slot = NULL;
		if (nl == 12 && strncasecmp(line, "Content-Type", nl) == 0)
			slot = &p->content_type;
		else if (nl == 25 && strncasecmp(line, "Content-Transfer-Encoding", nl) == 0)
			slot = &p->transfer_encoding;
		else if (nl == 21 && strncasecmp(line, "X-Experience-API-Hash", nl) == 0)
			slot = &p->sha2;
		if (!slot)
			continue;
		if (*slot) {
			util_errf(err, "part %zu: repeated %.*s header", idx, (int)nl, line);
			return LV_ERR_INVALID;
		}
		*slot = strndup(v, vl);
		if (!*slot) {
			util_errf(err, "out of memory");
			return LV_ERR_NOMEM;
		}
	}
	return LV_OK;
}

/* Splits one part's octets (between the CRLF ending a delimiter line and
 * the CRLF starting the next delimiter) into headers and body. */
static enum lv_status parse_part(const unsigned char *c, size_t cl, struct mp_part *p, size_t idx,
				 char err[MP_ERR_LEN])
{
	size_t hl;
	if (cl >= 2 && c[0] == '\r' && c[1] == '\n') {
		hl = 0; /* no headers: the body starts after the blank line */
	} else {
		const unsigned char *sep = memmem(c, cl, "\r\n\r\n", 4);
		if (!sep) {
			util_errf(err, "part %zu: no blank line after the headers", idx);
			return LV_ERR_INVALID;
		}
		hl = (size_t)(sep - c) + 2;
	}
	enum lv_status st = parse_part_headers(c, hl, p, idx, err);
	if (st != LV_OK)
		return st;
	p->body = c + hl + 2;
	p->len = cl - hl - 2;
	return LV_OK;
}

/* Walks a multipart body from one delimiter to the next. */
struct mp_scan {
	const unsigned char *body;
	size_t len;
	char dash[MP_BOUNDARY_LEN + 4]; /* "\r\n--" + boundary */
	size_t dlen;
	size_t pos;                     /* just past a "--boundary" */
};

/* Finds the boundary in @content_type and the first delimiter in @body. */
static enum lv_status scan_start(struct mp_scan *s, const char *content_type, const unsigned char *body,
				 size_t len, char err[MP_ERR_LEN])
{
	char boundary[MP_BOUNDARY_LEN];
	enum lv_status st = parse_boundary(content_type, boundary, err);
	if (st != LV_OK)
		return st;
	if (!body && len) {
		util_errf(err, "no body");
		return LV_ERR_INVALID;
	}
	s->body = body;
	s->len = len;
	int dl = snprintf(s->dash, sizeof s->dash, "\r\n--%s", boundary);
	if (dl < 0 || (size_t)dl >= sizeof s->dash)
		return LV_ERR_INTERNAL;
	s->dlen = (size_t)dl;
	/* The first delimiter may open the body without a CRLF before it;
	 * anything before it is preamble. */
	if (len >= s->dlen - 2 && memcmp(body, s->dash + 2, s->dlen - 2) == 0) {
		s->pos = s->dlen - 2;
		return LV_OK;
	}
	const unsigned char *f = body ? memmem(body, len, s->dash, s->dlen) : NULL;
	if (!f) {
		util_errf(err, "boundary not found in body");
		return LV_ERR_INVALID;
	}
	s->pos = (size_t)(f - body) + s->dlen;
	return LV_OK;
}

/* The next part's octets [*@start, *@end) after the delimiter at s->pos,
 * which moves past the delimiter that ends them; *@closed instead when
 * s->pos is at the close delimiter.  @nparts: parts found so far. */
static enum lv_status scan_next(struct mp_scan *s, size_t nparts, size_t *start, size_t *end, bool *closed,
				char err[MP_ERR_LEN])
{
	*closed = false;
	if (s->pos + 1 < s->len && s->body[s->pos] == '-' && s->body[s->pos + 1] == '-') {
		if (nparts == 0) {
			util_errf(err, "multipart body has no parts");
			return LV_ERR_INVALID;
		}
		*closed = true; /* close delimiter; the rest is epilogue */
		return LV_OK;
	}
	*start = delimiter_line_end(s->body, s->len, s->pos);
	if (!*start) {
		util_errf(err, "malformed boundary line (missing CRLF or final boundary)");
		return LV_ERR_INVALID;
	}
	/* Search from start-2 so a part with nothing in it (delimiter lines
	 * back to back) is seen as empty, not skipped. */
	const unsigned char *next = memmem(s->body + *start - 2, s->len - (*start - 2), s->dash, s->dlen);
	if (!next) {
		util_errf(err, "missing final boundary (body truncated?)");
		return LV_ERR_INVALID;
	}
	*end = (size_t)(next - s->body);
	if (*end < *start) {
		util_errf(err, "part %zu is empty", nparts);
		return LV_ERR_INVALID;
	}
	s->pos = *end + s->dlen;
	return LV_OK;
}

/* Appends a zeroed part to @l (@cap: its allocated length); *@out points
 * at it. */
static enum lv_status part_append(struct mp_list *l, size_t *cap, struct mp_part **out, char err[MP_ERR_LEN])
{
	if (l->n == MP_MAX_PARTS) {
		util_errf(err, "more than %d parts", MP_MAX_PARTS);
		return LV_ERR_INVALID;
	}
	enum lv_status st = util_array_grow((void **)&l->parts, sizeof *l->parts, cap, l->n + 1, MP_MAX_PARTS);
	if (st != LV_OK) {
		util_errf(err, "out of memory");
		return st;
	}
	*out = &l->parts[l->n++];
	memset(*out, 0, sizeof **out);
	return LV_OK;
}

enum lv_status multipart_parse(const char *content_type, const unsigned char *body, size_t len,
			       struct mp_list *out, char err[MP_ERR_LEN])
{
	struct mp_scan s;
	struct mp_list l = { NULL, 0 };
	size_t cap = 0;
	enum lv_status st;

	out->parts = NULL;
	out->n = 0;
	err[0] = '\0';
	st = scan_start(&s, content_type, body, len, err);
	if (st != LV_OK)
		goto out;
	for (;;) {
		size_t start = 0, end = 0;
		bool closed;
		struct mp_part *p;
		st = scan_next(&s, l.n, &start, &end, &closed, err);
		if (st != LV_OK)
			goto out;
		if (closed)
			break;
		st = part_append(&l, &cap, &p, err);
		if (st != LV_OK)
			goto out;
		st = parse_part(body + start, end - start, p, l.n - 1, err);
		if (st != LV_OK)
			goto out;
	}
	*out = l;
	l.parts = NULL;
	l.n = 0;
	st = LV_OK;
out:
	multipart_free(&l);
	return st;
}

/* sha2 is hex; clients differ in letter case. */
static bool sha2_eq(const char *a, const char *b)
{
	return a && b && strcasecmp(a, b) == 0;
}

/* --- response building ------------------------------------------------- */

static bool has_crlf(const char *s)
{
	return s && strpbrk(s, "\r\n") != NULL;
}

static bool boundary_free(const char *b, const char *json, size_t json_len, const struct mp_part *parts,
			  size_t n)
{
	size_t bl = strlen(b);
	if (memmem(json, json_len, b, bl))
		return false;
	for (size_t i = 0; i < n; i++)
		if (parts[i].len && memmem(parts[i].body, parts[i].len, b, bl))
			return false;
	return true;
}

enum lv_status multipart_build(const char *json, size_t json_len, const struct mp_part *parts, size_t n,
			       struct buf *out, char boundary_out[MP_BOUNDARY_LEN])
{
	size_t start = out->len;
	char b[MP_BOUNDARY_LEN];
	enum lv_status st = LV_ERR_INVALID;

	boundary_out[0] = '\0';
	if (!json || (n && !parts))
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (!parts[i].sha2 || !*parts[i].sha2 || has_crlf(parts[i].sha2) ||
		    has_crlf(parts[i].content_type) || (!parts[i].body && parts[i].len))
			goto out;
	}
	/* 128 random bits make a collision with content practically
	 * impossible, but a boundary inside a part would corrupt the response
	 * silently, so look and draw again. */
	bool ok = false;
	for (int tries = 0; tries < 8 && !ok; tries++) {
		unsigned char r[16];
		randombytes_buf(r, sizeof r);
		sodium_bin2hex(b, sizeof b, r, sizeof r);
		ok = boundary_free(b, json, json_len, parts, n);
	}
	if (!ok) {
		st = LV_ERR_INTERNAL;
		goto out;
	}
	st = buf_printf(out, "--%s\r\nContent-Type: application/json\r\n\r\n", b);
	if (st == LV_OK)
		st = buf_append(out, json, json_len);
	for (size_t i = 0; i < n && st == LV_OK; i++) {
		bool dup = false;
		for (size_t j = 0; j < i && !dup; j++)
			dup = sha2_eq(parts[j].sha2, parts[i].sha2);
		if (dup)
			continue;
		st = buf_printf(out,
				"\r\n--%s\r\nContent-Type: %s\r\nContent-Transfer-Encoding: binary\r\n"
				"X-Experience-API-Hash: %s\r\n\r\n",
				b, parts[i].content_type ? parts[i].content_type : "application/octet-stream",
				parts[i].sha2);
		if (st == LV_OK)
			st = buf_append(out, parts[i].body, parts[i].len);
	}
	if (st == LV_OK)
		st = buf_printf(out, "\r\n--%s--\r\n", b);
	if (st == LV_OK)
		memcpy(boundary_out, b, sizeof b);
out:
	if (st != LV_OK && out->data) {
		out->len = start;
		out->data[start] = '\0';
	}
	return st;
}
