/* Offline verification of an exported audit log: needs only the export,
 * the node's verifier key and, optionally, a checkpoint seen earlier. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "learnvault/audit.h"
#include "learnvault/consent.h"
#include "learnvault/policy.h"
#include "learnvault/util.h"

#define EXPORT_MAX ((size_t)1 << 30)

/* The latest consent event per (learner, policy), in an open-addressing
 * table: the replay looks one up per access entry. */
struct grant {
	char key[160];         /* "<learner>|<policy>"; "" = empty slot */
	bool live_kind;        /* ConsentGiven / RenewedConsentGiven */
	char record_id[64];
	double version;
	int64_t valid_until;   /* 0: none */
};

struct grants {
	struct grant *slots;
	size_t cap, used;
};


static struct grant *grants_slot(struct grants *g, const char *key, bool insert)
{
	if (insert && (g->used + 1) * 2 > g->cap) {
		size_t ncap = g->cap ? g->cap * 2 : 1024;
		struct grant *ns = calloc(ncap, sizeof *ns);
		if (!ns)
			return NULL;
		for (size_t i = 0; i < g->cap; i++) {
			if (!g->slots[i].key[0])
				continue;
			size_t j = (size_t)util_fnv1a(g->slots[i].key) % ncap;
			while (ns[j].key[0])
				j = (j + 1) % ncap;
			ns[j] = g->slots[i];
		}
		free(g->slots);
		g->slots = ns;
		g->cap = ncap;
	}
	if (!g->cap)
		return NULL;
	size_t j = (size_t)util_fnv1a(key) % g->cap;
	while (g->slots[j].key[0]) {
		if (strcmp(g->slots[j].key, key) == 0)
			return &g->slots[j];
		j = (j + 1) % g->cap;
	}
	if (!insert)
		return NULL;
	snprintf(g->slots[j].key, sizeof g->slots[j].key, "%s", key);
	g->used++;
	return &g->slots[j];
}

/* The policy texts shipped with the export, by "<id>|<version>".  A text
 * counts only if its digest is the one the log recorded when it was loaded. */
struct policies {
	char key[64][LV_POLICY_ID_MAX + 16];
	struct lv_policy *p[64];
	char sha[64][LV_POLICY_DIGEST_HEX_LEN];
	bool logged[64];
	size_t n;
};

static struct lv_policy *policy_find(const struct policies *ps, const char *id, double version)
{
	char key[LV_POLICY_ID_MAX + 16];
	snprintf(key, sizeof key, "%s|%.0f", id, version);
	for (size_t i = 0; i < ps->n; i++)
		if (ps->logged[i] && strcmp(ps->key[i], key) == 0)
			return ps->p[i];
	return NULL;
}

/* Whether @policy covers item @s of scope list @list (0 verbs, 1 activity
 * types, 2 result fields), by the node's own rule. */
static bool item_covered(const struct lv_policy *p, size_t list, const char *s)
{
	struct lv_consent_scope one = {0};
	if (list == 0) {
		one.verbs = &s;
		one.nverbs = 1;
	} else if (list == 1) {
		one.activity_types = &s;
		one.ntypes = 1;
	} else {
		one.result_fields = &s;
		one.nfields = 1;
	}
	return lv_consent_scope_check(p, &one, NULL);
}

/* The operation and scope an access entry recorded, checked by the rule
 * the access check applied (lv_consent_scope_check); anything malformed
 * is not covered. */
static bool scope_covered(const struct lv_policy *p, const cJSON *ej)
{
	static const char *const LISTS[] = {"verbs", "activity_types", "result_fields"};
	const char *op = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ej, "operation"));
	if (op) {
		struct lv_consent_scope sc = {.has_op = true};
		if (!lv_policy_op_parse(op, &sc.op) || !lv_consent_scope_check(p, &sc, NULL))
			return false;
	}
	const cJSON *sc = cJSON_GetObjectItemCaseSensitive(ej, "scope");
	for (size_t k = 0; k < sizeof LISTS / sizeof *LISTS; k++) {
		const cJSON *it;
		cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(sc, LISTS[k]))
			if (!cJSON_IsString(it) || !item_covered(p, k, it->valuestring))
				return false;
	}
	return true;
}

/* Sets the report's verdict; returns @st. */
static enum lv_status fail(cJSON *rep, enum lv_status st, const char *error, long long entry)
{
	cJSON_AddFalseToObject(rep, "ok");
	cJSON_AddStringToObject(rep, "error", error);
	if (entry >= 0)
		cJSON_AddNumberToObject(rep, "entry", (double)entry);
	return st;
}

/* Consent compliance, one entry at a time in log order: consent events
 * update the learner's latest decision per purpose; an allowed purpose
 * access must name that decision, a grant for the same version, live at
 * the access's time.  The first violation's index goes to *@bad. */
static void replay(const cJSON *ej, struct grants *g, struct policies *ps, uint64_t *access, uint64_t *checked,
		   long long *bad, uint64_t i)
{
	const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ej, "type"));
	const char *learner = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ej, "learner"));
	char key[160];
	if (type && strcmp(type, "policy") == 0) {
		/* A load entry vouches for the text with that digest. */
		const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ej, "policy"));
		const char *sha = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ej, "sha256"));
		const cJSON *ver = cJSON_GetObjectItemCaseSensitive(ej, "version");
		char key[LV_POLICY_ID_MAX + 16];
		if (id && sha && cJSON_IsNumber(ver)) {
			snprintf(key, sizeof key, "%s|%.0f", id, ver->valuedouble);
			for (size_t k = 0; k < ps->n; k++)
				if (strcmp(ps->key[k], key) == 0 && strcmp(ps->sha[k], sha) == 0)
					ps->logged[k] = true;
		}
		return;
	}
	if (!type || !learner)
		return;
	if (strcmp(type, "consent") == 0) {
		const char *pol = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ej, "policy"));
		const char *ev = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ej, "event"));
		const char *rec = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ej, "record_id"));
		const char *until = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ej, "valid_until"));
		const cJSON *ver = cJSON_GetObjectItemCaseSensitive(ej, "policy_version");
		snprintf(key, sizeof key, "%s|%s", learner, pol ? pol : "");
		struct grant *gr = grants_slot(g, key, true);
		if (!gr) {
			if (*bad < 0)
				*bad = (long long)i; /* out of memory: cannot vouch */
			return;
		}
		gr->live_kind = ev && (strcmp(ev, "ConsentGiven") == 0 || strcmp(ev, "RenewedConsentGiven") == 0);
		snprintf(gr->record_id, sizeof gr->record_id, "%s", rec ? rec : "");
		gr->version = cJSON_IsNumber(ver) ? ver->valuedouble : -1;
		gr->valid_until = 0;
		if (until && !util_time_parse(until, &gr->valid_until))
			gr->valid_until = 0;
		return;
	}
	if (strcmp(type, "access") != 0)
		return;
	(*access)++;
	const char *decision = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ej, "decision"));
	const char *purpose = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ej, "purpose"));
	/* Reads by the learner themselves, and a provider reading back what it
	 * sent, rest on no purpose policy: no grant to check. */
	if (!decision || strcmp(decision, "allow") != 0 ||
	    (purpose && (strcmp(purpose, "learner-right-of-access") == 0 ||
			 strcmp(purpose, "xapi-provider-readback") == 0 ||
			 strcmp(purpose, "learner-request-by-operator") == 0)))
		return;
	(*checked)++;
	const char *rec = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ej, "consent_record"));
	const char *when = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ej, "time"));
	const cJSON *ver = cJSON_GetObjectItemCaseSensitive(ej, "policy_version");
	snprintf(key, sizeof key, "%s|%s", learner, purpose ? purpose : "");
	const struct grant *gr = grants_slot(g, key, false);
	int64_t t = 0;
	bool ok = gr && gr->live_kind && rec && strcmp(gr->record_id, rec) == 0 && cJSON_IsNumber(ver) &&
		  ver->valuedouble == gr->version && when && util_time_parse(when, &t) && t < gr->valid_until;
	/* The scope asked must be inside the policy version relied on, whose
	 * text the export ships and the log authenticates. */
	if (ok && (cJSON_GetObjectItemCaseSensitive(ej, "scope") || cJSON_GetObjectItemCaseSensitive(ej, "operation"))) {
		const struct lv_policy *p = policy_find(ps, purpose ? purpose : "", ver->valuedouble);
		ok = p && scope_covered(p, ej);
	}
	if (!ok && *bad < 0)
		*bad = (long long)i;
}

/* What a verification carries from step to step. */
struct verify {
	cJSON *rep;               /* the report being written */
	struct grants g;          /* consent grants replayed so far */
	struct policies ps;       /* the policy texts shipped with the export */
	unsigned char *leaves;    /* the entries' leaf hashes, in order */
	uint64_t access, checked; /* access entries seen / checked against consent */
	long long noncompliant;   /* the first access without a live grant, or -1 */
};

/* The policy texts the export ships (the verifier checks scopes against
 * the texts whose digests the log recorded). */
static enum lv_status load_policies(struct verify *vf, const cJSON *doc)
{
	const cJSON *pt;
	struct policies *ps = &vf->ps;
	cJSON_ArrayForEach(pt, cJSON_GetObjectItemCaseSensitive(doc, "policies")) {
		char perr[LV_POLICY_ERR_LEN];
		if (ps->n == 64 || !cJSON_IsString(pt) ||
		    lv_policy_parse(pt->valuestring, strlen(pt->valuestring), &ps->p[ps->n], perr) != LV_OK)
			return fail(vf->rep, LV_ERR_INVALID, "a policy text in the export does not parse", -1);
		snprintf(ps->key[ps->n], sizeof ps->key[ps->n], "%s|%u", lv_policy_id(ps->p[ps->n]),
			 (unsigned)lv_policy_version(ps->p[ps->n]));
		lv_policy_digest_hex(ps->p[ps->n], ps->sha[ps->n]);
		ps->n++;
	}
	return LV_OK;
}

/* Each entry in order: it names its own position, its leaf is hashed, and
 * its consent meaning is replayed. */
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
		replay(ej, &vf->g, &vf->ps, &vf->access, &vf->checked, &vf->noncompliant, i);
		cJSON_Delete(ej);
		i++;
	}
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

enum lv_status lv_audit_verify_export(const char *json, size_t len, const char *vkey, const char *previous,
				      char **report)
{
	enum lv_status st;
	struct verify vf = {.rep = cJSON_CreateObject(), .noncompliant = -1};
	cJSON *doc = NULL;
	struct lv_merkle *tree = NULL;
	struct lv_checkpoint cp;
	const cJSON *entries = NULL;
	*report = NULL;
	if (!vf.rep)
		return LV_ERR_NOMEM;
	if (len > EXPORT_MAX) {
		st = fail(vf.rep, LV_ERR_TOO_LARGE, "export too large", -1);
		goto out;
	}
	doc = util_json_parse(json, len);
	if ((st = open_export(&vf, doc, vkey, &cp, &entries)) != LV_OK || (st = load_policies(&vf, doc)) != LV_OK ||
	    (st = walk_entries(&vf, entries)) != LV_OK ||
	    (st = check_root(&vf, (uint64_t)cJSON_GetArraySize(entries), &cp, &tree)) != LV_OK ||
	    (previous && (st = check_previous(&vf, previous, vkey, &cp, tree)) != LV_OK))
		goto out;
	cJSON_AddNumberToObject(vf.rep, "access_entries", (double)vf.access);
	cJSON_AddNumberToObject(vf.rep, "access_checked_against_consent", (double)vf.checked);
	if (vf.noncompliant >= 0) {
		st = fail(vf.rep, LV_ERR_CRYPTO, "an access was allowed without a live grant for its purpose",
			  vf.noncompliant);
		goto out;
	}
	cJSON_AddStringToObject(vf.rep, "consent_compliance",
				"every allowed purpose access rests on a live grant and stays inside its policy's scope");
	cJSON_AddTrueToObject(vf.rep, "ok");
	st = LV_OK;
out:
	*report = cJSON_PrintUnformatted(vf.rep);
	cJSON_Delete(vf.rep);
	cJSON_Delete(doc);
	free(vf.leaves);
	free(vf.g.slots);
	for (size_t k = 0; k < vf.ps.n; k++)
		lv_policy_destroy(vf.ps.p[k]);
	lv_merkle_destroy(tree);
	return st;
}
