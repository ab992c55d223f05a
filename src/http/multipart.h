/* multipart/mixed request and response bodies (xAPI 1.0.3 §2.4.11
 * attachments): splitting a request into parts and building a response.
 * Which parts a statement request needs is an xAPI rule, judged by
 * lv_xapi_request_validate (include/learnvault/xapi.h).  Pure functions;
 * no I/O. */
#ifndef LV_HTTP_MULTIPART_H
#define LV_HTTP_MULTIPART_H

#include <stddef.h>

#include "learnvault/status.h"
#include "learnvault/xapi.h"
#include "learnvault/util.h"

#define MP_ERR_LEN LV_ERR_LEN
#define MP_MAX_PARTS 256
/* Longest part header line accepted (without its CRLF), and most header
 * lines in one part; longer or more is LV_ERR_INVALID. */
#define MP_MAX_HEADER_LINE 1024
#define MP_MAX_HEADERS 32
/* RFC 2046 boundaries are 1..70 characters; +1 for the NUL. */
#define MP_BOUNDARY_LEN 72

/* One part.  Pointers borrow from the body given to multipart_parse() and
 * live as long as it; header values are NUL-terminated copies owned by the
 * part list. */
struct mp_part {
	char *content_type;          /* NULL when absent */
	char *transfer_encoding;     /* Content-Transfer-Encoding, NULL if absent */
	char *sha2;                  /* X-Experience-API-Hash, NULL if absent */
	const unsigned char *body;
	size_t len;
};

struct mp_list {
	struct mp_part *parts;
	size_t n;
};

/* Parses @body as multipart/mixed with the boundary from @content_type (the
 * request's Content-Type header).  At most MP_MAX_PARTS parts.  On success
 * fills @out (release with multipart_free); on failure @out is empty and
 * @err says why (LV_ERR_INVALID, or LV_ERR_NOMEM).
 *
 * The media type must be multipart/mixed (any case) with a boundary
 * parameter, quoted or not.  Lines end in CRLF.  A preamble before the
 * first delimiter and an epilogue after the close delimiter are ignored
 * (RFC 2046 §5.1.1); a missing close delimiter, a part without the blank
 * line ending its headers, folded or over-long header lines and repeated
 * Content-Type / Content-Transfer-Encoding / X-Experience-API-Hash headers
 * are errors.  Header names are matched case-insensitively; values are
 * trimmed.  Other part headers are ignored. */
enum lv_status multipart_parse(const char *content_type, const unsigned char *body, size_t len,
			       struct mp_list *out, char err[MP_ERR_LEN]) LV_WARN_UNUSED;
void multipart_free(struct mp_list *l);

/* The parts of @l as lv_xapi_request_validate takes them.  On success *@out
 * is an array of l->n entries (free() it; NULL when l->n is 0) whose
 * pointers borrow from @l and live as long as it; LV_ERR_NOMEM leaves
 * *@out NULL. */
enum lv_status multipart_xapi_parts(const struct mp_list *l, struct lv_xapi_part **out) LV_WARN_UNUSED;

/* Builds a multipart/mixed response body (xAPI 1.0.3 Communication §1.5.2,
 * GET statements with attachments=true): first a part with Content-Type
 * application/json holding @json (a statement or StatementResult), then one
 * part per entry of @parts with its Content-Type (application/octet-stream
 * when NULL), "Content-Transfer-Encoding: binary" and
 * "X-Experience-API-Hash: <sha2>".  Parts whose sha2 repeats an earlier
 * one are emitted once.  Every part needs sha2; header values must not
 * contain CR or LF (LV_ERR_INVALID).  transfer_encoding is ignored.
 *
 * The boundary is random (32 hex digits), checked not to occur in any
 * content, and written to @boundary_out; the caller sends the header
 * "Content-Type: multipart/mixed; boundary=<boundary_out>".  @out must be
 * initialised by the caller (buf_init with its cap); the body is appended.
 * On failure (LV_ERR_TOO_LARGE past the cap, LV_ERR_NOMEM, LV_ERR_INVALID)
 * @out is back at its length on entry and @boundary_out is "". */
enum lv_status multipart_build(const char *json, size_t json_len, const struct mp_part *parts,
			       size_t n, struct buf *out, char boundary_out[MP_BOUNDARY_LEN]) LV_WARN_UNUSED;

#endif
