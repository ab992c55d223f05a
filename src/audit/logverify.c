/* Offline verification of an exported audit log: needs only the export,
 * the node's verifier key and, optionally, a checkpoint seen earlier. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "learnvault/audit.h"
#include "learnvault/auditlog.h"
#include "util/util.h"

#define EXPORT_MAX ((size_t)1 << 30)

/* Sets the report's verdict; returns @st. */
static enum lv_status fail(cJSON *rep, enum lv_status st, const char *error, long long entry)
{
	cJSON_AddFalseToObject(rep, "ok");
	cJSON_AddStringToObject(rep, "error", error);
	if (entry >= 0)
		cJSON_AddNumberToObject(rep, "entry", (double)entry);
	return st;
}

enum lv_status lv_audit_verify_export(const char *json, size_t len, const char *vkey, const char *previous,
				      char **report)
{
	enum lv_status st = LV_OK;
	cJSON *rep = cJSON_CreateObject();
	cJSON *doc = NULL;
	unsigned char *leaves = NULL;
	struct lv_merkle *tree = NULL;
	struct lv_checkpoint cp, prev;
	*report = NULL;
	if (!rep)
		return LV_ERR_NOMEM;
	if (len > EXPORT_MAX) {
		st = fail(rep, LV_ERR_TOO_LARGE, "export too large", -1);
		goto out;
	}
	doc = util_json_parse(json, len);
	const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(doc, "format");
	const cJSON *note = cJSON_GetObjectItemCaseSensitive(doc, "checkpoint");
	const cJSON *entries = cJSON_GetObjectItemCaseSensitive(doc, "entries");
	if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, "learnvault-audit-log") != 0 ||
	    !cJSON_IsString(note) || !cJSON_IsArray(entries)) {
		st = fail(rep, LV_ERR_INVALID, "not a learnvault audit log export", -1);
		goto out;
	}
	/* The checkpoint must be signed by the key the auditor trusts. */
	st = lv_checkpoint_open(note->valuestring, strlen(note->valuestring), vkey, NULL, &cp);
	if (st != LV_OK) {
		st = fail(rep, LV_ERR_CRYPTO, "checkpoint signature does not verify with the given key", -1);
		goto out;
	}
	cJSON_AddStringToObject(rep, "origin", cp.origin);
	cJSON_AddNumberToObject(rep, "checkpoint_size", (double)cp.size);
	uint64_t count = (uint64_t)cJSON_GetArraySize(entries);
	cJSON_AddNumberToObject(rep, "entries", (double)count);
	leaves = malloc((count ? count : 1) * LV_MERKLE_HASH_LEN);
	if (!leaves) {
		st = fail(rep, LV_ERR_NOMEM, "out of memory", -1);
		goto out;
	}
	uint64_t i = 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, entries) {
		if (!cJSON_IsString(e)) {
			st = fail(rep, LV_ERR_INVALID, "entry is not a string", (long long)i);
			goto out;
		}
		/* Each entry names its own position: a reordered, dropped or
		 * inserted entry shows here before it shows in the root. */
		cJSON *ej = util_json_parse(e->valuestring, strlen(e->valuestring));
		const cJSON *idx = cJSON_GetObjectItemCaseSensitive(ej, "index");
		bool ok = cJSON_IsNumber(idx) && idx->valuedouble == (double)i;
		cJSON_Delete(ej);
		if (!ok) {
			st = fail(rep, LV_ERR_CRYPTO, "entry is out of place (index field differs from its position)",
				  (long long)i);
			goto out;
		}
		lv_merkle_hash_leaf(e->valuestring, strlen(e->valuestring), leaves + i * LV_MERKLE_HASH_LEN);
		i++;
	}
	if (count < cp.size) {
		st = fail(rep, LV_ERR_CRYPTO, "log is shorter than its checkpoint (truncated)", (long long)count);
		goto out;
	}
	if (count > cp.size) {
		st = fail(rep, LV_ERR_CRYPTO, "entries beyond the checkpoint are not covered by its signature (appended)",
			  (long long)cp.size);
		goto out;
	}
	st = lv_merkle_create_from_leaves(leaves, count, &tree);
	if (st != LV_OK) {
		st = fail(rep, st, "cannot build the tree", -1);
		goto out;
	}
	unsigned char root[LV_MERKLE_HASH_LEN];
	st = lv_merkle_root_at(tree, cp.size, root);
	if (st != LV_OK || sodium_memcmp(root, cp.root, sizeof root) != 0) {
		/* A root alone cannot say which entry changed: the auditor can
		 * bisect with inclusion proofs from /audit/proof/inclusion. */
		st = fail(rep, LV_ERR_CRYPTO, "entries do not hash to the signed root (an entry was changed)", -1);
		goto out;
	}
	if (previous) {
		st = lv_checkpoint_open(previous, strlen(previous), vkey, cp.origin, &prev);
		if (st != LV_OK) {
			st = fail(rep, LV_ERR_CRYPTO, "previous checkpoint does not verify with the given key", -1);
			goto out;
		}
		cJSON_AddNumberToObject(rep, "previous_size", (double)prev.size);
		if (prev.size > cp.size) {
			st = fail(rep, LV_ERR_CRYPTO, "rollback: the log is older than a checkpoint seen before", -1);
			goto out;
		}
		st = lv_merkle_root_at(tree, prev.size, root);
		if (st != LV_OK || sodium_memcmp(root, prev.root, sizeof root) != 0) {
			st = fail(rep, LV_ERR_CRYPTO, "fork: the log is not consistent with the previous checkpoint", -1);
			goto out;
		}
	}
	/* Consent compliance: replay the consent events in log order and check
	 * that every allowed purpose access rests on the grant it names, live
	 * at that moment: the learner's latest event for that policy, a grant
	 * (given or renewed) for the same version, not expired. */
	uint64_t access = 0, checked = 0;
	cJSON *latest = cJSON_CreateObject(); /* "<learner>|<policy>" -> event entry */
	i = 0;
	cJSON_ArrayForEach(e, entries) {
		cJSON *ej = util_json_parse(e->valuestring, strlen(e->valuestring));
		const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ej, "type"));
		const char *learner = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ej, "learner"));
		char key[256];
		if (type && learner && strcmp(type, "consent") == 0) {
			const char *pol = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ej, "policy"));
			snprintf(key, sizeof key, "%s|%s", learner, pol ? pol : "");
			cJSON_DeleteItemFromObjectCaseSensitive(latest, key);
			cJSON_AddItemToObject(latest, key, cJSON_Duplicate(ej, true));
		} else if (type && learner && strcmp(type, "access") == 0) {
			access++;
			const char *decision = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ej, "decision"));
			const char *purpose = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ej, "purpose"));
			const char *rec = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ej, "consent_record"));
			const char *when = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ej, "time"));
			/* Reads by the learner themselves need no consent. */
			bool own = purpose && strcmp(purpose, "learner-right-of-access") == 0;
			if (decision && strcmp(decision, "allow") == 0 && !own) {
				checked++;
				snprintf(key, sizeof key, "%s|%s", learner, purpose ? purpose : "");
				const cJSON *g = cJSON_GetObjectItemCaseSensitive(latest, key);
				const char *gev = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(g, "event"));
				const char *grec = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(g, "record_id"));
				const char *until = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(g, "valid_until"));
				const cJSON *gv = cJSON_GetObjectItemCaseSensitive(g, "policy_version");
				const cJSON *av = cJSON_GetObjectItemCaseSensitive(ej, "policy_version");
				int64_t t_access = 0, t_until = 0;
				bool ok = gev && (strcmp(gev, "ConsentGiven") == 0 || strcmp(gev, "RenewedConsentGiven") == 0) &&
					  grec && rec && strcmp(grec, rec) == 0 && cJSON_IsNumber(gv) && cJSON_IsNumber(av) &&
					  gv->valuedouble == av->valuedouble && when && until &&
					  util_time_parse(when, &t_access) && util_time_parse(until, &t_until) && t_access < t_until;
				if (!ok) {
					cJSON_Delete(ej);
					cJSON_Delete(latest);
					st = fail(rep, LV_ERR_CRYPTO,
						  "an access was allowed without a live grant for its purpose", (long long)i);
					goto out;
				}
			}
		}
		cJSON_Delete(ej);
		i++;
	}
	cJSON_Delete(latest);
	cJSON_AddNumberToObject(rep, "access_entries", (double)access);
	cJSON_AddNumberToObject(rep, "access_checked_against_consent", (double)checked);
	cJSON_AddStringToObject(rep, "consent_compliance", "every allowed purpose access rests on a live grant");
	cJSON_AddTrueToObject(rep, "ok");
	st = LV_OK;
out:
	*report = cJSON_PrintUnformatted(rep);
	cJSON_Delete(rep);
	cJSON_Delete(doc);
	free(leaves);
	lv_merkle_destroy(tree);
	return st;
}
