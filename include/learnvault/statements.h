/* learnvault — xAPI statements and documents in learners' vaults.
 *
 * Every statement is stored in the vault of its actor (an identified Group
 * has a vault of its own; an anonymous Group's vault is keyed by its member
 * set).  node.db keeps only an index: statement id, the vault's pseudonym,
 * the writing provider, verb, registration, stored time and the pseudonyms
 * and activity ids the GET filters need.  A batch is committed vaults-first
 * and the index last: the index commit is the commit point, and a statement
 * is visible (and acknowledged) only once it is indexed.
 */
#ifndef LEARNVAULT_STATEMENTS_H
#define LEARNVAULT_STATEMENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "learnvault/node.h"
#include "learnvault/store.h"
#include "learnvault/status.h"
#include "learnvault/xapi.h" /* struct lv_attachment */

#ifdef __cplusplus
extern "C" {
#endif

#define LV_ERR_TEXT LV_ERR_LEN

/* Stores a batch of statements written by provider credential @provider
 * (its id names the authority).  The caller validates: @batch and @atts are
 * what lv_xapi_request_validate returned (or statements that passed
 * lv_xapi_validate_statement); the store fills in id (when absent), stored,
 * timestamp (when absent), authority and version, in place.  All or
 * nothing: on any error no statement of the batch is stored, and @err says
 * why.  A statement whose id is already stored with equivalent content is
 * accepted and not stored again; with different content the batch fails
 * with LV_ERR_CONFLICT.  LV_ERR_FORBIDDEN when an actor is not enrolled and
 * auto-enrolment is off.  @atts: bodies for attachments without fileUrl. */
LV_EXPORT enum lv_status lv_statements_store(struct lv_node *node, const struct lv_principal *provider,
					     cJSON *batch, const struct lv_attachment *atts, size_t natts,
					     const struct lv_store_hooks *hooks, char err[LV_ERR_TEXT]) LV_WARN_UNUSED;

/* GET /statements filters (the provider read-back door, lv_readback_statements
 * in learnvault/door.h).  Strings are borrowed; NULL means "no filter". */
struct lv_statement_query {
	const cJSON *agent;           /* Agent/Group object */
	const char *verb;
	const char *activity;
	const char *registration;
	bool related_activities;
	bool related_agents;
	int64_t since_ms;             /* exclusive; INT64_MIN: none */
	int64_t until_ms;             /* inclusive; INT64_MAX: none */
	unsigned limit;               /* 0: server maximum */
	bool ascending;
	int64_t after_seq;            /* paging cursor from a previous page; 0: none */
};

#define LV_QUERY_MAX_LIMIT 500

/* Attachment bodies referenced by @statements (as the read-back door
 * returned them to provider @provider, a credential id), for a multipart
 * response: only bodies @provider sent itself (bodies stored before the
 * node kept their senders are served as before).  *@out is an array of
 * *@n attachments whose strings and data are owned by the array: free
 * with lv_attachments_free(). */
LV_EXPORT enum lv_status lv_statement_attachments(struct lv_node *node, const char *provider, const cJSON *statements,
						  struct lv_attachment **out, size_t *n) LV_WARN_UNUSED;
LV_EXPORT void lv_attachments_free(struct lv_attachment *a, size_t n);

/* The time up to which every acknowledged statement is visible (ms). */
LV_EXPORT int64_t lv_statements_consistent_through(struct lv_node *node);

/* The canonical Activity object for @activity_id, merged from every
 * definition seen; LV_ERR_NOT_FOUND if never seen. */
LV_EXPORT enum lv_status lv_activity_get(struct lv_node *node, const char *activity_id,
					 cJSON **result) LV_WARN_UNUSED;

/* ---- documents: state, activity profile, agent profile ---- */

enum lv_doc_kind {
	LV_DOC_STATE = 1,
	LV_DOC_ACTIVITY_PROFILE = 2,
	LV_DOC_AGENT_PROFILE = 3,
};

/* Which document(s).  State: activity + agent (+ registration) (+ doc_id).
 * Activity profile: activity (+ doc_id).  Agent profile: agent (+ doc_id).
 * doc_id NULL addresses the set (GET ids, DELETE all states). Borrowed. */
struct lv_doc_key {
	enum lv_doc_kind kind;
	const char *activity;
	const cJSON *agent;
	const char *registration;
	const char *doc_id;
};

struct lv_document {
	char *content_type;
	unsigned char *body;
	size_t len;
	char etag[65];          /* hex SHA-1 of body (xAPI 1.0.3 concurrency), unquoted */
	int64_t updated_ms;
};
LV_EXPORT void lv_document_clear(struct lv_document *d);

/* Preconditions from If-Match / If-None-Match (NULL when absent). */
struct lv_doc_precondition {
	const char *if_match;
	const char *if_none_match;
	/* A PUT without either header: 409 onto an existing document; onto
	 * none, created when @may_create (xAPI 2.0), else 400 (xAPI 1.0.3
	 * §3.1.s3.b1: the client MUST send one to the profile resources). */
	bool required;
	bool may_create;
};

/* The ETag of @len bytes at @data: the hex SHA-1 (xAPI 1.0.3 Part Three
 * §1.1 concurrency), NUL-terminated in @out. */
LV_EXPORT void lv_document_etag(const void *data, size_t len, char out[41]);
/* Whether an If-Match / If-None-Match header value @header (a list of
 * quoted entity tags, or "*") names @etag (unquoted).  RFC 9110 §8.8.3.2:
 * @weak false (If-Match) is the strong comparison, where a W/"..." tag
 * never matches; @weak true (If-None-Match) ignores the W/ prefix.  A
 * bare (unquoted) tag is accepted for older clients. */
LV_EXPORT bool lv_etag_matches(const char *header, const char *etag, bool weak);

LV_EXPORT enum lv_status lv_document_get(struct lv_node *node, const struct lv_principal *provider,
					 const struct lv_doc_key *key, struct lv_document *out) LV_WARN_UNUSED;

/* PUT (@merge false) or POST (@merge true: JSON object merge; both old and
 * new must be JSON objects, else LV_ERR_INVALID). */
LV_EXPORT enum lv_status lv_document_put(struct lv_node *node, const struct lv_principal *provider,
					 const struct lv_doc_key *key, const char *content_type,
					 const unsigned char *body, size_t len, bool merge,
					 const struct lv_doc_precondition *pre,
					 char err[LV_ERR_TEXT]) LV_WARN_UNUSED;

LV_EXPORT enum lv_status lv_document_delete(struct lv_node *node, const struct lv_principal *provider,
					    const struct lv_doc_key *key,
					    const struct lv_doc_precondition *pre) LV_WARN_UNUSED;

/* JSON array of document ids updated after @since_ms (INT64_MIN: all). */
LV_EXPORT enum lv_status lv_document_ids(struct lv_node *node, const struct lv_principal *provider,
					 const struct lv_doc_key *key, int64_t since_ms,
					 cJSON **ids) LV_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif
