/* Helpers shared by the src/xapi/ files.  Not part of the module's
 * contract (include/learnvault/xapi.h is); tests may use them to check
 * single rules directly. */
#ifndef LV_XAPI_INT_H
#define LV_XAPI_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "learnvault/xapi.h"
#include "learnvault/util.h"

/* Longest language tag accepted.  RFC 5646 puts no limit on extensions;
 * 35 covers every registered tag, the rest is room for extensions. */
#define XAPI_LANG_MAX 128

#define XAPI_VERB_VOIDED LV_XAPI_VERB_VOIDED
#define XAPI_SIGNATURE_USAGE "http://adlnet.gov/expapi/attachments/signature"

/* What an xAPI "object" (or actor) is, from its objectType. */
enum xapi_kind {
	XAPI_KIND_ACTIVITY,
	XAPI_KIND_AGENT,
	XAPI_KIND_GROUP,
	XAPI_KIND_STATEMENTREF,
	XAPI_KIND_SUBSTATEMENT,
	XAPI_KIND_INVALID, /* objectType present but not a known string */
};

/* Kind of a statement's "object"; a missing objectType means Activity. */
enum xapi_kind xapi_object_kind(const cJSON *obj);
/* Kind of an actor; a missing objectType means Agent. */
enum xapi_kind xapi_actor_kind(const cJSON *actor);
/* True when @actor (an Agent or Group) carries any of the four IFIs. */
bool xapi_has_ifi(const cJSON *actor);

/* RFC 5646 well-formedness, plus the "valid" checks that need no registry
 * (no repeated variant, no repeated extension singleton). */
bool xapi_lang_tag_valid(const char *s);
/* ISO 8601 duration with designators (ISO 8601:2004 4.4.3.2). */
bool xapi_duration_valid(const char *s);
/* Duration comparison (Data 4.6, both versions): precision beyond 0.01 s
 * does not count.  Writes @s into @out (@cap bytes) with the fraction of
 * its seconds cut to two digits, trailing zeros dropped; anything else
 * (not a duration, no fraction, too long for @out) is copied unchanged or
 * cut to @cap. */
void xapi_duration_norm(const char *s, char *out, size_t cap);
/* A statement's "version" as @rules accept it: 1.0 / 1.0.x, and in 2.0.0
 * also 2.0 / 2.0.x.  False for NULL. */
bool xapi_statement_version_valid(const char *v, enum lv_xapi_version rules);
/* "mailto:" followed by local@domain. */
bool xapi_mbox_valid(const char *s);
/* Exactly 40 hex digits, either case. */
bool xapi_sha1_hex_valid(const char *s);
/* A SHA-2 digest in hex: 56, 64, 96 or 128 hex digits, either case. */
bool xapi_sha2_hex_valid(const char *s);
/* "type/subtype" optionally followed by parameters (RFC 7231 media type). */
bool xapi_media_type_valid(const char *s);
/* True when the media type of Content-Type value @value (before any ';',
 * surrounding whitespace ignored) is @want, compared case-insensitively.
 * False for NULL. */
bool xapi_media_type_is(const char *value, const char *want);

/* Writes the canonical identity of @actor (see lv_xapi_actor_identity)
 * into @out, replacing what it held; its cap applies.  On failure @out is
 * empty. */
enum lv_status xapi_actor_identity(const cJSON *actor, struct buf *out) LV_WARN_UNUSED;

/* The attachment rules of lv_xapi_request_validate on @statements (one
 * statement or an array, exactly as received) and the request's parts
 * (@parts NULL or @nparts 0 for an application/json request).  LV_OK, or
 * LV_ERR_INVALID / LV_ERR_NOMEM with a reason in @err. */
enum lv_status xapi_check_attachments(const cJSON *statements, const struct lv_xapi_part *parts,
				      size_t nparts, char err[LV_XAPI_ERR_LEN]) LV_WARN_UNUSED;

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
			       char err[LV_XAPI_ERR_LEN]) LV_WARN_UNUSED;

#endif
