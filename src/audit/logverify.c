/* Offline verification of an exported audit log: needs only the export,
 * the node's verifier key and, optionally, a checkpoint seen earlier and
 * release receipts.  This file walks the export and checks its bytes
 * (positions, root, previous checkpoint); what the entries mean is
 * replayed in logreplay.c against the texts of logpolicies.c. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "logverify.h"

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

/* What a verification carries from step to step. */
struct verify {
	cJSON *rep;               /* the report being written */
	struct logpol ps;         /* the policy texts shipped, and their loads */
	struct logreplay *replay; /* the node's rules, replayed */
	struct logreceipts rs;    /* the receipts to find in the log */
	unsigned char *leaves;    /* the entries' leaf hashes, in order */
};

/* Each entry in order: it names its own position, its leaf is hashed,
 * the node's rules are replayed on it and receipts matched. */
static enum lv_status walk_entries(struct verify *vf, const cJSON *entries)
{
	uint64_t i = 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, entries) {
		if (!cJSON_IsString(e))
			return fail(vf->rep, LV_ERR_INVALID, "entry is not a string", (long long)i);
		/* Each entry names its own position: a reordered, dropped or
		 * inserted entry shows here before it shows in the root. */
		cJSON *ej = util_json_parse(e->valuestring, strlen(e->valuestring));
		const cJSON *idx = cJSON_GetObjectItemCaseSensitive(ej, "index");
		if (!cJSON_IsNumber(idx) || idx->valuedouble != (double)i) {
			cJSON_Delete(ej);
			return fail(vf->rep, LV_ERR_CRYPTO, "entry is out of place (index field differs from its position)",
				    (long long)i);
		}
		lv_merkle_hash_leaf(e->valuestring, strlen(e->valuestring), vf->leaves + i * LV_MERKLE_HASH_LEN);
		logreplay_entry(vf->replay, &vf->ps, ej, i);
		logreceipts_entry(&vf->rs, ej, i);
		cJSON_Delete(ej);
		i++;
	}
	logreplay_finish(vf->replay);
	return LV_OK;
}

/* The entries cover exactly the checkpoint and hash to its signed root. */
static enum lv_status check_root(struct verify *vf, uint64_t count, const struct lv_checkpoint *cp,
				 struct lv_merkle **tree)
{
	if (count < cp->size)
		return fail(vf->rep, LV_ERR_CRYPTO, "log is shorter than its checkpoint (truncated)", (long long)count);
	if (count > cp->size)
		return fail(vf->rep, LV_ERR_CRYPTO,
			    "entries beyond the checkpoint are not covered by its signature (appended)", (long long)cp->size);
	enum lv_status st = lv_merkle_create_from_leaves(vf->leaves, count, tree);
	if (st != LV_OK)
		return fail(vf->rep, st, "cannot build the tree", -1);
	unsigned char root[LV_MERKLE_HASH_LEN];
	st = lv_merkle_root_at(*tree, cp->size, root);
	if (st != LV_OK || sodium_memcmp(root, cp->root, sizeof root) != 0)
		/* A root alone cannot say which entry changed: the auditor can
		 * bisect with inclusion proofs from /audit/proof/inclusion. */
		return fail(vf->rep, LV_ERR_CRYPTO, "entries do not hash to the signed root (an entry was changed)", -1);
	return LV_OK;
}

/* A checkpoint seen before: signed by the same key, not newer, and a
 * prefix of this log (no rollback, no fork). */
static enum lv_status check_previous(struct verify *vf, const char *previous, const char *vkey,
				     const struct lv_checkpoint *cp, const struct lv_merkle *tree)
{
	struct lv_checkpoint prev;
	unsigned char root[LV_MERKLE_HASH_LEN];
	if (lv_checkpoint_open(previous, strlen(previous), vkey, cp->origin, &prev) != LV_OK)
		return fail(vf->rep, LV_ERR_CRYPTO, "previous checkpoint does not verify with the given key", -1);
	cJSON_AddNumberToObject(vf->rep, "previous_size", (double)prev.size);
	if (prev.size > cp->size)
		return fail(vf->rep, LV_ERR_CRYPTO, "rollback: the log is older than a checkpoint seen before", -1);
	enum lv_status st = lv_merkle_root_at(tree, prev.size, root);
	if (st != LV_OK || sodium_memcmp(root, prev.root, sizeof root) != 0)
		return fail(vf->rep, LV_ERR_CRYPTO, "fork: the log is not consistent with the previous checkpoint", -1);
	return LV_OK;
}

/* The export's shape and its checkpoint's signature; fills *@cp and
 * allocates the leaves. */
static enum lv_status open_export(struct verify *vf, const cJSON *doc, const char *vkey, struct lv_checkpoint *cp,
				  const cJSON **entries)
{
	const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(doc, "format");
	const cJSON *note = cJSON_GetObjectItemCaseSensitive(doc, "checkpoint");
	*entries = cJSON_GetObjectItemCaseSensitive(doc, "entries");
	if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, "learnvault-audit-log") != 0 ||
	    !cJSON_IsString(note) || !cJSON_IsArray(*entries))
		return fail(vf->rep, LV_ERR_INVALID, "not a learnvault audit log export", -1);
	/* The checkpoint must be signed by the key the auditor trusts. */
	if (lv_checkpoint_open(note->valuestring, strlen(note->valuestring), vkey, NULL, cp) != LV_OK)
		return fail(vf->rep, LV_ERR_CRYPTO, "checkpoint signature does not verify with the given key", -1);
	cJSON_AddStringToObject(vf->rep, "origin", cp->origin);
	cJSON_AddNumberToObject(vf->rep, "checkpoint_size", (double)cp->size);
	uint64_t count = (uint64_t)cJSON_GetArraySize(*entries);
	cJSON_AddNumberToObject(vf->rep, "entries", (double)count);
	vf->leaves = malloc((count ? count : 1) * LV_MERKLE_HASH_LEN);
	if (!vf->leaves)
		return fail(vf->rep, LV_ERR_NOMEM, "out of memory", -1);
	return LV_OK;
}

/* What the log's content says once its bytes are known to be the signed
 * ones: the shipped texts all vouched for, then the replay, then the
 * receipts. */
static enum lv_status check_content(struct verify *vf)
{
	long long entry;
	bool tampered;
	char err[LV_ERR_LEN];
	const char *why = logreplay_failure(vf->replay, &entry, &tampered);
	logreplay_report(vf->replay, vf->rep);
	if (why && tampered)
		return fail(vf->rep, LV_ERR_CRYPTO, why, entry);
	const struct logpol_text *t = logpol_unmatched(&vf->ps);
	if (t) {
		cJSON_AddStringToObject(vf->rep, "policy", lv_policy_id(t->p));
		cJSON_AddNumberToObject(vf->rep, "policy_version", lv_policy_version(t->p));
		return fail(vf->rep, LV_ERR_CRYPTO, "a policy text in the export matches no logged load", -1);
	}
	logpol_report(&vf->ps, vf->rep);
	if (why)
		return fail(vf->rep, LV_ERR_CRYPTO, why, entry);
	if (!logreceipts_report(&vf->rs, vf->rep, err))
		return fail(vf->rep, LV_ERR_CRYPTO, err, -1);
	return LV_OK;
}

enum lv_status lv_audit_verify_export(const char *json, size_t len, const char *vkey, const char *previous,
				      char **report)
{
	return lv_audit_verify_export_receipts(json, len, vkey, previous, NULL, 0, report);
}

enum lv_status lv_audit_verify_export_receipts(const char *json, size_t len, const char *vkey, const char *previous,
					       const char *const *receipts, size_t nreceipts, char **report)
{
	enum lv_status st;
	struct verify vf = {.rep = cJSON_CreateObject()};
	cJSON *doc = NULL;
	struct lv_merkle *tree = NULL;
	struct lv_checkpoint cp;
	const cJSON *entries = NULL;
	char err[LV_ERR_LEN];
	*report = NULL;
	if (!vf.rep || logreplay_create(&vf.replay) != LV_OK) {
		cJSON_Delete(vf.rep);
		return LV_ERR_NOMEM;
	}
	if (len > EXPORT_MAX) {
		st = fail(vf.rep, LV_ERR_TOO_LARGE, "export too large", -1);
		goto out;
	}
	doc = util_json_parse(json, len);
	if ((st = open_export(&vf, doc, vkey, &cp, &entries)) != LV_OK)
		goto out;
	if ((st = logpol_ship(&vf.ps, cJSON_GetObjectItemCaseSensitive(doc, "policies"), err)) != LV_OK) {
		st = fail(vf.rep, st, err, -1);
		goto out;
	}
	if ((st = logreceipts_open(&vf.rs, receipts, nreceipts, vkey, cp.origin)) != LV_OK) {
		st = fail(vf.rep, st, lv_status_str(st), -1);
		goto out;
	}
	if ((st = walk_entries(&vf, entries)) != LV_OK ||
	    (st = check_root(&vf, (uint64_t)cJSON_GetArraySize(entries), &cp, &tree)) != LV_OK ||
	    (previous && (st = check_previous(&vf, previous, vkey, &cp, tree)) != LV_OK) ||
	    (st = check_content(&vf)) != LV_OK)
		goto out;
	cJSON_AddStringToObject(vf.rep, "consent_compliance",
				"every rule the node enforces was replayed: policy texts and loads, entry times, consent "
				"events, erasures, allowed accesses, aggregate releases and their budgets");
	cJSON_AddTrueToObject(vf.rep, "ok");
	st = LV_OK;
out:
	*report = cJSON_PrintUnformatted(vf.rep);
	cJSON_Delete(vf.rep);
	cJSON_Delete(doc);
	free(vf.leaves);
	logreplay_destroy(vf.replay);
	logreceipts_free(&vf.rs);
	logpol_free(&vf.ps);
	lv_merkle_destroy(tree);
	return st;
}
