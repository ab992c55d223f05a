/* learnvault — the node's tamper-evident log: entries in node.db, an
 * RFC 9162 Merkle tree over them, Ed25519-signed C2SP checkpoints.
 *
 * Entries are appended by the store inside the same node.db transaction as
 * the event they record (credential and policy changes, enrolment,
 * erasure, key rotation), so an event and its entry commit or fail
 * together.  Entries carry pseudonyms and ids, never names, emails or
 * statement content.  Each entry is one compact JSON object whose bytes are
 * the Merkle leaf data: leaf = SHA-256(0x00 || entry). */
#ifndef LEARNVAULT_AUDITLOG_H
#define LEARNVAULT_AUDITLOG_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "learnvault/node.h"
#include "learnvault/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LV_AUDIT_PAGE_MAX 1000 /* entries per lv_audit_entries call */

/* The verifier key text (C2SP note vkey).  *@vkey is malloc'd. */
LV_EXPORT enum lv_status lv_audit_vkey(struct lv_node *node, char **vkey) LV_WARN_UNUSED;

/* Number of entries. */
LV_EXPORT uint64_t lv_audit_size(struct lv_node *node);

/* A signed checkpoint for the current size (stored, so it is never signed
 * twice differently).  Before signing, the log is checked against the last
 * checkpoint the node signed: if that checkpoint's root is not the root of
 * the stored log at its size, the node refuses (LV_ERR_CRYPTO) rather than
 * sign an inconsistent history.  *@note is malloc'd. */
LV_EXPORT enum lv_status lv_audit_checkpoint(struct lv_node *node, char **note) LV_WARN_UNUSED;

/* Entries [@start, @end) as a JSON array of their exact texts (strings),
 * at most LV_AUDIT_PAGE_MAX.  LV_ERR_INVALID when start > end or end is past
 * the size. */
LV_EXPORT enum lv_status lv_audit_entries(struct lv_node *node, uint64_t start, uint64_t end,
					  cJSON **entries) LV_WARN_UNUSED;

/* {"index","size","root","leaf","proof":[base64...]} for entry @index in
 * the tree of @size entries. */
LV_EXPORT enum lv_status lv_audit_inclusion(struct lv_node *node, uint64_t index, uint64_t size,
					    cJSON **out) LV_WARN_UNUSED;

/* {"first","second","first_root","second_root","proof":[base64...]}. */
LV_EXPORT enum lv_status lv_audit_consistency(struct lv_node *node, uint64_t first, uint64_t second,
					      cJSON **out) LV_WARN_UNUSED;

/* The whole log for offline verification: {"format":"learnvault-audit-log",
 * "version":1,"vkey","checkpoint","entries":[texts]}, with a checkpoint
 * signed for the current size.  *@json is malloc'd. */
LV_EXPORT enum lv_status lv_audit_export(struct lv_node *node, char **json) LV_WARN_UNUSED;

/* The learner's access report: every log entry about @learner, and every
 * release entry @learner was included in (the release each of their
 * aggregate access entries belongs to), each with its inclusion proof
 * against a freshly signed checkpoint:
 * {"learner","checkpoint","entries":[{"index","entry","proof":[base64]}],
 *  "releases":[{"index","entry","proof":[base64]}]}, both in log order.
 * Its cost follows the number of entries about @learner, not the log's
 * size.  The learner's door serves it (lv_learner_access_report,
 * learnvault/door.h); *@report is the caller's (cJSON_Delete). */
LV_EXPORT enum lv_status lv_audit_report(struct lv_node *node, const char *learner, cJSON **report) LV_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif
