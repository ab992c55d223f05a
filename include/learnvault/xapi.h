/* learnvault — the xAPI rules: 1.0.3, and 2.0.0 (IEEE 9274.1.1) beside it.
 *
 * Pure functions over cJSON trees and caller-given bytes: statement and
 * agent validation (Data §2.2–2.4, the rules the ADL conformance suite
 * checks), attachments and signed statements (Data §2.4.11, §2.6,
 * Communication §1.5.2), actor identities and the index keys of a
 * statement, the GET formats and statement equivalence.  Nothing here
 * touches storage, the network or the clock; splitting a multipart/mixed
 * body into parts is HTTP's job (src/http/multipart.c), storing is the
 * store's (lv_statements_store).
 *
 * The use case that receives statements (the HTTP door, `learnvault
 * ingest`) calls lv_xapi_request_validate() once per request and hands its
 * result to the store.
 *
 * Conventions.  Every fallible function returns enum lv_status; any status
 * other than LV_OK from a validate function means "rejected" (LV_ERR_NOMEM
 * means it could not tell).  Out-parameters come last and are cleared
 * (NULL, 0 or "") when a call fails.  Arguments are borrowed for the call
 * only unless a function says otherwise.  Error texts are written into
 * caller arrays of LV_XAPI_ERR_LEN bytes: one NUL-terminated line that
 * names the failing property and never quotes a value longer than a
 * property name; "" on success.  Text returned in a char ** is
 * NUL-terminated, allocated with malloc() and owned by the caller (free());
 * a returned cJSON tree is owned by the caller (cJSON_Delete).
 *
 * Threads: every function is reentrant.
 */
#ifndef LEARNVAULT_XAPI_H
#define LEARNVAULT_XAPI_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "learnvault/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LV_XAPI_ERR_LEN LV_ERR_LEN
/* The verb that voids a statement (xAPI 1.0.3, 2.3.2). */
/* Most members of one Group (actor, object, authority, team, in any
 * position).  xAPI sets no limit; the store indexes every member of a
 * statement's groups (MAX_KEYS_PER_STATEMENT, 512 keys per statement) and
 * an anonymous Group's identity joins all of them, so a bigger group
 * could only fail later with a vaguer reason. */
#define LV_XAPI_GROUP_MEMBERS_MAX 256
#define LV_XAPI_VERB_VOIDED "http://adlnet.gov/expapi/verbs/voided"

/* ------------------------------------------------------------------ */
/* Versions                                                             */
/* ------------------------------------------------------------------ */

/* The xAPI version a request speaks, from its X-Experience-API-Version
 * header.  1.0.3 is 0 so that a zeroed request keeps the rules it always
 * had.  What differs in 2.0.0: context "contextAgents" and
 * "contextGroups" are accepted (and refused in 1.0.3); a statement's
 * "version" may be 2.0 or 2.0.x beside 1.0 / 1.0.x; a statement without
 * "version" is stored as "2.0.0" (1.0.3: "1.0.0", added by the store). */
enum lv_xapi_version {
	LV_XAPI_V1_0_3 = 0,
	LV_XAPI_V2_0_0 = 1,
};

/* The version of header value @header: "1.0" and "1.0.x" are 1.0.3 (every
 * 1.0 patch speaks the same protocol), "2.0" and "2.0.x" are 2.0.0 (x
 * digits only).  LV_ERR_INVALID for anything else, NULL included; then
 * *@out is LV_XAPI_V1_0_3. */
LV_EXPORT enum lv_status lv_xapi_version_parse(const char *header,
					       enum lv_xapi_version *out) LV_WARN_UNUSED;
/* "1.0.3" or "2.0.0": what a response's X-Experience-API-Version says.
 * Static storage. */
LV_EXPORT const char *lv_xapi_version_name(enum lv_xapi_version v);

/* ------------------------------------------------------------------ */
/* A whole statement request                                            */
/* ------------------------------------------------------------------ */

/* An attachment body: the raw bytes of an attachment whose statement
 * object has no fileUrl (or has one and was sent with its bytes anyway). */
struct lv_attachment {
	const char *sha2;          /* hex SHA-256, as in the statement */
	const char *content_type;  /* NULL when the part had none */
	const unsigned char *data;
	size_t len;
};

/* One part of a multipart/mixed statement request, as HTTP split it.  All
 * borrowed; header values NUL-terminated, NULL when the header is absent. */
struct lv_xapi_part {
	const char *content_type;       /* Content-Type */
	const char *transfer_encoding;  /* Content-Transfer-Encoding */
	const char *sha2;               /* X-Experience-API-Hash */
	const unsigned char *body;
	size_t len;
};

/* A statement request as received.  All borrowed. */
struct lv_xapi_request {
	/* The statement or array of statements, as JSON text: the body of an
	 * application/json request, or the first part's body of a
	 * multipart/mixed one. */
	const char *json;
	size_t json_len;
	/* multipart/mixed: every part in order, parts[0] being the one @json
	 * came from.  NULL and 0 for an application/json request. */
	const struct lv_xapi_part *parts;
	size_t nparts;
	/* PUT: the statementId parameter (the body must then be one
	 * statement whose id, if any, equals it).  NULL for POST and ingest. */
	const char *statement_id;
	/* The rules to judge by (lv_xapi_validate_statement_as).  A statement
	 * of a 2.0.0 request without "version" gets "version": "2.0.0" once
	 * every other rule passed. */
	enum lv_xapi_version version;
};

/* What a valid request asks to store. */
struct lv_xapi_batch {
	/* JSON array of the validated statements, exactly as received, except
	 * that a PUT statement without id gets the statementId.  Owned by the
	 * batch; lv_statements_store fills in the rest in place. */
	cJSON *statements;
	/* One entry per attachment part (parts[1..]), in order.  The array is
	 * owned by the batch; its strings and bytes borrow from the request's
	 * parts and live as long as those do. */
	struct lv_attachment *attachments;
	size_t nattachments;
};

/* Why a request was rejected. */
struct lv_xapi_error {
	/* A static, stable code for an HTTP error body: "invalid_json" (not
	 * JSON), "invalid" (not a statement or array; PUT rules),
	 * "invalid_statement", "invalid_attachment" (attachments, parts and
	 * signatures), "out_of_memory".  NULL on success. */
	const char *code;
	/* One line; room for a "statement N: " prefix before a validator's
	 * LV_XAPI_ERR_LEN text. */
	char message[LV_XAPI_ERR_LEN + 32];
};

/* Validates one statement request: the JSON must parse (exactly one value)
 * to a statement or an array of them (PUT: one statement); every statement
 * must pass lv_xapi_validate_statement; then, on the statements exactly as
 * received, the attachment rules: with parts, parts[0] must be
 * application/json and every other part must carry X-Experience-API-Hash
 * equal to the SHA-256 of its bytes (hex, either case), Content-Transfer-
 * Encoding binary, a hash no other part has, and be named by some
 * attachment's sha2; every attachment without fileUrl needs a part; a
 * signature attachment (usageType .../attachments/signature) must be
 * application/octet-stream, have a part, and that part must be a JWS
 * (RS256/384/512; checked against its x5c certificate when it has one)
 * whose payload is equivalent to its statement.  The attachment "length"
 * is not compared with the part size (the ADL suite sends mismatching ones
 * in requests it expects to succeed).  Last, the PUT id rule.
 *
 * The checks run in that order and the first failure is reported.  On
 * success *@out owns the batch (release with lv_xapi_batch_clear) and
 * err->code is NULL.  On failure *@out is empty, err->code and
 * err->message say why, and the status is LV_ERR_INVALID (LV_ERR_NOMEM
 * when memory ran out: code "out_of_memory"). */
LV_EXPORT enum lv_status lv_xapi_request_validate(const struct lv_xapi_request *req,
						  struct lv_xapi_batch *out,
						  struct lv_xapi_error *err) LV_WARN_UNUSED;

/* Frees what @b owns and empties it.  NULL or an empty batch is a no-op. */
LV_EXPORT void lv_xapi_batch_clear(struct lv_xapi_batch *b);

/* ------------------------------------------------------------------ */
/* Statements and agents                                                */
/* ------------------------------------------------------------------ */

/* Validates one statement as received from a client (xAPI 1.0.3 §2.2–2.4,
 * the rules the ADL conformance suite checks).  The statement may or may
 * not carry id/stored/authority/version.  Returns LV_OK, or LV_ERR_INVALID
 * with a one-line reason in @err (LV_ERR_NOMEM: "out of memory").
 * Same as lv_xapi_validate_statement_as(statement, LV_XAPI_V1_0_3, err). */
LV_EXPORT enum lv_status lv_xapi_validate_statement(const cJSON *statement,
						    char err[LV_XAPI_ERR_LEN]) LV_WARN_UNUSED;
/* The same, judged by the rules of @version (see enum lv_xapi_version):
 * 2.0.0 adds the context members contextAgents (objects of objectType
 * "contextAgent" with an Agent "agent") and contextGroups (objectType
 * "contextGroup" with a Group "group"), each with an optional non-empty
 * "relevantTypes" array of IRIs, and the statement versions 2.0 / 2.0.x. */
LV_EXPORT enum lv_status lv_xapi_validate_statement_as(const cJSON *statement,
						       enum lv_xapi_version version,
						       char err[LV_XAPI_ERR_LEN]) LV_WARN_UNUSED;

/* Validates an Agent or Group object (as in statements, and as the `agent`
 * query / document parameter).  @allow_group false rejects Groups. */
LV_EXPORT enum lv_status lv_xapi_validate_agent(const cJSON *agent, bool allow_group,
						char err[LV_XAPI_ERR_LEN]) LV_WARN_UNUSED;

/* True when @s is an absolute IRI as xAPI needs it (scheme ":" rest).
 * NULL is not. */
LV_EXPORT bool lv_xapi_iri_valid(const char *s) LV_WARN_UNUSED;

/* The canonical identity of an Agent or Group:
 *   "mbox:mailto:a@b", "mbox_sha1sum:<hex lower>", "openid:<uri>",
 *   "account:<homePage>|<name>", with the prefix "group/" for an
 *   identified Group; an anonymous Group is "anon-group:" followed by
 *   its members' identities sorted and joined by ",".
 * The actor must already be valid (lv_xapi_validate_agent).  On success
 * *@identity owns the text (free()).  LV_ERR_INVALID when it has no IFI,
 * LV_ERR_TOO_LARGE when the identity is longer than @max_len bytes,
 * LV_ERR_NOMEM; then *@identity is NULL. */
LV_EXPORT enum lv_status lv_xapi_actor_identity(const cJSON *actor, size_t max_len,
						char **identity) LV_WARN_UNUSED;

/* Index keys of one (valid) statement, for the GET filters.  The numbers
 * are stored in node.db (statement_keys.kind): never renumber. */
enum lv_xapi_key_kind {
	LV_XAPI_KEY_AGENT = 0,            /* actor, or object when it is an Agent/Group */
	LV_XAPI_KEY_AGENT_RELATED = 1,    /* authority, instructor, team, context/substatement agents, group members */
	LV_XAPI_KEY_ACTIVITY = 2,         /* object when it is an Activity */
	LV_XAPI_KEY_ACTIVITY_RELATED = 3, /* context activities, substatement object/context activities */
};
/* Called once per (kind, value) pair; value is an actor identity as
 * lv_xapi_actor_identity() writes it, or an activity id, borrowed for the
 * call.  Duplicates may be reported more than once. */
typedef enum lv_status (*lv_xapi_key_cb)(void *ctx, enum lv_xapi_key_kind kind, const char *value);
/* Calls @cb for every key of @statement.  Stops and returns the first
 * non-LV_OK status from @cb; LV_ERR_INVALID when @statement is not an
 * object or @cb is NULL. */
LV_EXPORT enum lv_status lv_xapi_statement_keys(const cJSON *statement, lv_xapi_key_cb cb,
						void *ctx) LV_WARN_UNUSED;

/* Formats: returns a new statement tree for GET ?format=ids|exact|canonical.
 * "exact" is a deep copy; "ids" keeps only identifying properties of
 * actors, verb, object and activities (xAPI §2.1.3 Statement Format);
 * "canonical" keeps one language entry per language map, chosen from
 * @accept_language (may be NULL).  Caller owns the result (cJSON_Delete);
 * NULL for an unknown format or when memory ran out. */
LV_EXPORT cJSON *lv_xapi_format_statement(const cJSON *statement, const char *format,
					  const char *accept_language);

/* What the node knows of a statement's signature (xAPI §2.6).  The
 * numbers are stored in node.db (statements.signature): never renumber. */
enum lv_xapi_signature {
	LV_XAPI_SIG_NONE = 0,         /* no attachment with the signature usageType */
	LV_XAPI_SIG_VERIFIED = 1,     /* the JWS carries x5c and verifies with its key */
	LV_XAPI_SIG_UNVERIFIABLE = 2, /* signed, but nothing to verify with (no x5c), or it does not verify */
};
/* The signature state of @statement as received (before the store adds
 * id, version, authority), its JWS found among @atts by the signature
 * attachment's sha2.  Verifies the JWS again (xapi_jws_verify's rules):
 * VERIFIED only when the x5c key checked out and the payload matches;
 * a JWS without x5c, a missing part or a failed check is UNVERIFIABLE.
 * The certificate chain is never judged: VERIFIED says the statement
 * was signed by the holder of that certificate's key, not who that is. */
LV_EXPORT enum lv_xapi_signature lv_xapi_signature_state(const cJSON *statement,
							 const struct lv_attachment *atts, size_t natts);

/* Statement equivalence for a re-sent statement id (xAPI §2.2.4 "same
 * statement"): true when @a and @b are the same ignoring id, authority,
 * stored, timestamp, version and case of ids/IRIs.  False when either is
 * NULL. */
LV_EXPORT bool lv_xapi_statements_equivalent(const cJSON *a, const cJSON *b);

#ifdef __cplusplus
}
#endif
#endif
