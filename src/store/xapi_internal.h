/* Helpers shared by the xapi_*.c files.  Not part of the store contract
 * (src/store/xapi.h is); tests may use them to check syntax rules directly. */
#ifndef LV_STORE_XAPI_INTERNAL_H
#define LV_STORE_XAPI_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

/* Longest language tag accepted.  RFC 5646 puts no limit on extensions;
 * 35 covers every registered tag, the rest is room for extensions. */
#define XAPI_LANG_MAX 128

#define XAPI_VERB_VOIDED "http://adlnet.gov/expapi/verbs/voided"

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

/* The string value of @key in @obj (case-sensitive), or NULL when absent or
 * not a string.  The pointer is borrowed from @obj. */
const char *xapi_str(const cJSON *obj, const char *key);

/* RFC 5646 well-formedness, plus the "valid" checks that need no registry
 * (no repeated variant, no repeated extension singleton). */
bool xapi_lang_tag_valid(const char *s);
/* ISO 8601 duration with designators (ISO 8601:2004 4.4.3.2). */
bool xapi_duration_valid(const char *s);
/* "mailto:" followed by local@domain. */
bool xapi_mbox_valid(const char *s);
/* Exactly 40 hex digits, either case. */
bool xapi_sha1_hex_valid(const char *s);
/* A SHA-2 digest in hex: 56, 64, 96 or 128 hex digits, either case. */
bool xapi_sha2_hex_valid(const char *s);
/* "type/subtype" optionally followed by parameters (RFC 7231 media type). */
bool xapi_media_type_valid(const char *s);

#endif
