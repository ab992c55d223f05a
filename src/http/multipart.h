/* multipart/mixed request bodies (xAPI 1.0.3 §2.4.11 attachments) and
 * attachment/signature checks.  Pure functions; no I/O. */
#ifndef LV_HTTP_MULTIPART_H
#define LV_HTTP_MULTIPART_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "learnvault/status.h"
#include "util/util.h"

#define MP_ERR_LEN 256
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

/* Checks the statement part and attachment parts of a multipart statement
 * request against xAPI rules: @statements is the parsed first part (one
 * statement or an array); parts[1..] are attachments.  Every attachment
 * object without fileUrl must have a part with the same sha2; every part
 * must be referenced; each part's X-Experience-API-Hash must equal the
 * SHA-256 of its content; Content-Transfer-Encoding must be binary; signed
 * statements (attachment usageType .../signature, contentType
 * application/octet-stream) are verified with xapi_jws_verify().  Returns
 * LV_OK or LV_ERR_INVALID with a reason.
 *
 * Also: parts[0] must be application/json; an attachment with the
 * signature usageType must have contentType application/octet-stream and
 * a part (fileUrl is not enough); sha2 values compare case-insensitively;
 * two parts with the same hash are an error.  The attachment "length" is
 * not compared with the part size (the ADL suite sends mismatching ones in
 * requests it expects to succeed).  @l may be NULL or empty for an
 * application/json request: then every attachment needs a fileUrl and no
 * signature can be attached.  Call it on the statements exactly as
 * received, before the LRS adds id, stored, authority or version. */
enum lv_status multipart_check_attachments(const cJSON *statements, const struct mp_list *l,
					   char err[MP_ERR_LEN]) LV_WARN_UNUSED;

/* Verifies a JWS compact serialization signing @statement (xAPI 1.0.3
 * §2.6 Signed Statements): alg RS256/RS384/RS512; the key from the x5c
 * header's first certificate (OpenSSL libcrypto); the payload must be a
 * JSON statement equivalent to @statement ignoring the properties an LRS
 * adds (id when absent in the payload, authority, stored, version,
 * attachments' signature entry).  LV_OK, LV_ERR_INVALID with a reason.
 *
 * x5c is optional (xAPI: "If the JWS header includes an X.509
 * certificate, validate the signature against that certificate"; the ADL
 * suite signs without one and expects acceptance).  Without x5c only the
 * structure, alg and payload are checked.  With it the certificate's key
 * must be RSA of at least 2048 bits and the RSASSA-PKCS1-v1_5 signature
 * must verify; the certificate chain is not judged.  A "crit" header is
 * rejected.  timestamp compares as an instant, id case-insensitively. */
enum lv_status xapi_jws_verify(const char *jws, size_t len, const cJSON *statement,
			       char err[MP_ERR_LEN]) LV_WARN_UNUSED;

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
