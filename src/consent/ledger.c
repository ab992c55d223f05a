/* The consent ledger and the one access check.  Events are immutable rows
 * in node.db (kept by the store: its consent section, consent_repo.c);
 * each commits with its audit entry.  What they mean is decided in
 * evaluate.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "learnvault/consent.h"
#include "learnvault/store.h"
#include "learnvault/util.h"
#include "evaluate.h"

/* Learners in one cohort: far above a node's 10^5, a bound on memory. */
#define COHORT_MAX ((size_t)1 << 24)

/* @learner's birth date as stored, in @buf; NULL when none can be read
 * (unknown: the guardian rule then fails closed).  Lock held. */
static const char *birth_date(struct lv_node *n, const char *learner, char buf[LV_STORE_BIRTH_DATE_LEN])
{
	return lv_store_learner_birth_date(n, learner, buf) == LV_OK ? buf : NULL;
}

/* The ISO/IEC TS 27560 / Kantara receipt fields a consent event carries
 * besides its own (CONSENT.md), taken from the policy the learner saw. */
static cJSON *receipt_details(const struct lv_policy_loaded *pl, const char *actor_role, const char *actor)
{
	const struct lv_policy *p = pl->policy;
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "schema_version", "1");
	cJSON *purposes = cJSON_AddArrayToObject(d, "purposes");
	cJSON_AddItemToArray(purposes, cJSON_CreateString(lv_policy_purpose(p)));
	cJSON_AddStringToObject(d, "legal_basis", lv_policy_legal_basis(p));
	cJSON *cat = cJSON_AddObjectToObject(d, "data_categories");
	cJSON *v = cJSON_AddArrayToObject(cat, "verbs");
	for (size_t i = 0; i < lv_policy_verb_count(p); i++)
		cJSON_AddItemToArray(v, cJSON_CreateString(lv_policy_verb(p, i)));
	v = cJSON_AddArrayToObject(cat, "activity_types");
	for (size_t i = 0; i < lv_policy_activity_type_count(p); i++)
		cJSON_AddItemToArray(v, cJSON_CreateString(lv_policy_activity_type(p, i)));
	v = cJSON_AddArrayToObject(cat, "result_fields");
	for (size_t i = 0; i < lv_policy_result_field_count(p); i++)
		cJSON_AddItemToArray(v, cJSON_CreateString(lv_policy_result_field(p, i)));
	v = cJSON_AddArrayToObject(d, "recipients");
	for (size_t i = 0; i < lv_policy_recipient_count(p); i++)
		cJSON_AddItemToArray(v, cJSON_CreateString(lv_policy_recipient(p, i)));
	v = cJSON_AddArrayToObject(d, "jurisdiction");
	for (size_t i = 0; i < lv_policy_jurisdiction_count(p); i++)
		cJSON_AddItemToArray(v, cJSON_CreateString(lv_policy_jurisdiction(p, i)));
	if (lv_policy_language(p))
		cJSON_AddStringToObject(d, "language", lv_policy_language(p));
	cJSON_AddStringToObject(d, "collection_method",
				strcmp(actor_role, "system") == 0 ? "automatic (expiry)"
				: strcmp(actor, "cli") == 0 ? "recorded by the node operator"
				: "electronic, authenticated (learner's door)");
	/* The notice shown is the canonical policy text: its hash is the evidence. */
	cJSON_AddStringToObject(d, "evidence_hash", pl->sha256);
	return d;
}

/* The audit entry of a consent event (the receipt @details is taken). */
static cJSON *event_entry(const char *learner, const char *policy, const struct lv_policy_loaded *pl,
			  const char *event, const char *actor_role, const char *actor, int64_t valid_until,
			  const char *supersedes, const char *record_id, cJSON *details)
{
	char t[UTIL_TIME_LEN];
	cJSON *e = cJSON_CreateObject();
	cJSON_AddStringToObject(e, "type", "consent");
	cJSON_AddStringToObject(e, "event", event);
	cJSON_AddStringToObject(e, "record_id", record_id);
	cJSON_AddStringToObject(e, "learner", learner);
	cJSON_AddStringToObject(e, "policy", policy);
	cJSON_AddNumberToObject(e, "policy_version", pl->version);
	cJSON_AddStringToObject(e, "policy_sha256", pl->sha256);
	cJSON_AddStringToObject(e, "actor_role", actor_role);
	cJSON_AddStringToObject(e, "actor", actor);
	if (valid_until) {
		util_time_format(valid_until, t);
		cJSON_AddStringToObject(e, "valid_until", t);
	}
	if (supersedes)
		cJSON_AddStringToObject(e, "supersedes", supersedes);
	cJSON_AddItemToObject(e, "receipt", details);
	return e;
}

/* Appends an event and its audit entry inside the open transaction. */
static enum lv_status event_put(struct lv_node *n, const char *learner, const char *policy,
				const struct lv_policy_loaded *pl, const char *event, const char *actor_role,
				const char *actor, int64_t now, int64_t valid_until, const char *supersedes,
				char record_id[LV_RECORD_ID_LEN])
{
	struct lv_tx *tx = lv_tx_current(n);
	util_uuid_v4(record_id);
	cJSON *details = receipt_details(pl, actor_role, actor);
	char *dtext = cJSON_PrintUnformatted(details);
	struct lv_store_consent_row row = {
		.record_id = record_id, .learner = learner, .policy_id = policy,
		.policy_version = pl->version, .policy_sha256 = pl->sha256, .event = event,
		.actor_role = actor_role, .actor = actor, .time_ms = now,
		.has_valid_until = valid_until != 0, .valid_until = valid_until,
		.supersedes = supersedes, .details = dtext,
	};
	enum lv_status st = lv_store_consent_put(tx, &row);
	free(dtext);
	if (st != LV_OK) {
		cJSON_Delete(details);
		return st;
	}
	return lv_tx_audit(tx, event_entry(learner, policy, pl, event, actor_role, actor, valid_until, supersedes,
					   record_id, details), NULL);
}

/* Who decides: checks @actor against the guardian rule; fills @role_out. */
static enum lv_status decider(struct lv_node *n, const struct lv_principal *actor, enum lv_role on_behalf,
			      const char *learner, const struct lv_policy_loaded *pl, int64_t now,
			      const char **role_out, char err[LV_CONSENT_ERR_LEN])
{
	char bd[LV_STORE_BIRTH_DATE_LEN];
	enum lv_role as = actor->role;
	if (as == LV_ROLE_ADMIN) {
		if (on_behalf != LV_ROLE_LEARNER && on_behalf != LV_ROLE_GUARDIAN) {
			snprintf(err, LV_CONSENT_ERR_LEN, "say whether the learner or a guardian decided");
			return LV_ERR_INVALID;
		}
		as = on_behalf;
	} else if ((as != LV_ROLE_LEARNER && as != LV_ROLE_GUARDIAN) || strcmp(actor->learner, learner) != 0) {
		snprintf(err, LV_CONSENT_ERR_LEN, "only the learner or their guardian decides on consent");
		return LV_ERR_FORBIDDEN;
	}
	uint32_t age = lv_policy_guardian_below_age(pl->policy);
	if (!lv_consent_decider_ok(pl->policy, birth_date(n, learner, bd), as == LV_ROLE_GUARDIAN, now)) {
		if (as != LV_ROLE_GUARDIAN)
			snprintf(err, LV_CONSENT_ERR_LEN, "below age %u (or no birth date on record) a guardian decides",
				 (unsigned)age);
		else
			snprintf(err, LV_CONSENT_ERR_LEN, "at age %u or above the learner decides", (unsigned)age);
		return LV_ERR_FORBIDDEN;
	}
	*role_out = lv_role_str(as);
	return LV_OK;
}

/* The event a decision @kind makes: a grant while one for this version is
 * live is a renewal, and every grant runs consent_valid_days. */
static const char *event_kind(const char *kind, const struct lv_store_consent_event *ev, bool found,
			      const struct lv_policy_loaded *pl, int64_t now, int64_t *until)
{
	*until = 0;
	if (strcmp(kind, LV_CONSENT_GIVEN) != 0)
		return kind;
	bool live = found && consent_is_grant(ev->event) && ev->policy_version == pl->version &&
		    ev->valid_until > now;
	*until = now + (int64_t)lv_policy_consent_valid_days(pl->policy) * UTIL_DAY_MS;
	return live ? LV_CONSENT_RENEWED : LV_CONSENT_GIVEN;
}

static enum lv_status record(struct lv_node *n, const struct lv_principal *actor, enum lv_role on_behalf,
			     const char *learner, const char *policy_id, uint32_t version, const char *kind,
			     char record_id[LV_RECORD_ID_LEN], char err[LV_CONSENT_ERR_LEN])
{
	struct lv_policy_loaded pl = {0};
	struct lv_store_consent_event ev;
	bool found = false;
	const char *role = NULL;
	int64_t now = util_now_ms(), until;
	struct lv_tx *tx;
	record_id[0] = '\0';
	err[0] = '\0';
	enum lv_status st = lv_tx_begin(n, &tx);
	if (st != LV_OK)
		goto done;
	if (!lv_store_learner_exists(n, learner)) {
		snprintf(err, LV_CONSENT_ERR_LEN, "no such learner");
		st = LV_ERR_NOT_FOUND;
		goto out;
	}
	st = lv_policy_loaded_get_locked(n, policy_id, version, &pl);
	if (st != LV_OK) {
		snprintf(err, LV_CONSENT_ERR_LEN, "no such policy (or version) is loaded");
		goto out;
	}
	st = decider(n, actor, on_behalf, learner, &pl, now, &role, err);
	if (st == LV_OK) {
		st = lv_store_consent_last(n, learner, policy_id, &ev);
		found = st == LV_OK;
		if (st == LV_ERR_NOT_FOUND)
			st = LV_OK;
	}
	if (st != LV_OK)
		goto out;
	const char *event = event_kind(kind, &ev, found, &pl, now, &until);
	st = event_put(n, learner, policy_id, &pl, event, role, actor->id[0] ? actor->id : "cli", now, until,
		       found ? ev.record_id : NULL, record_id);
out:
	st = lv_tx_end(tx, st);
done:
	lv_policy_loaded_clear(&pl);
	if (st != LV_OK)
		record_id[0] = '\0';
	if (st != LV_OK && !err[0])
		snprintf(err, LV_CONSENT_ERR_LEN, "%s", lv_status_str(st));
	return st;
}

enum lv_status lv_consent_decide(struct lv_node *n, const struct lv_principal *actor, enum lv_role on_behalf,
				 const char *learner, const char *policy_id, uint32_t version, bool give,
				 char record_id[LV_RECORD_ID_LEN], char err[LV_CONSENT_ERR_LEN])
{
	return record(n, actor, on_behalf, learner, policy_id, version, give ? LV_CONSENT_GIVEN : LV_CONSENT_REFUSED,
		      record_id, err);
}

enum lv_status lv_consent_withdraw(struct lv_node *n, const struct lv_principal *actor, enum lv_role on_behalf,
				   const char *learner, const char *policy_id, char record_id[LV_RECORD_ID_LEN],
				   char err[LV_CONSENT_ERR_LEN])
{
	return record(n, actor, on_behalf, learner, policy_id, 0, LV_CONSENT_WITHDRAWN, record_id, err);
}

bool lv_birth_date_valid(const char *date)
{
	int y, m, d;
	char rest;
	return date && strlen(date) == 10 && sscanf(date, "%4d-%2d-%2d%c", &y, &m, &d, &rest) == 3 && y >= 1900 &&
	       m >= 1 && m <= 12 && d >= 1 && d <= 31;
}

enum lv_status lv_learner_set_birth_date(struct lv_node *n, const char *learner, const char *date)
{
	if (!lv_birth_date_valid(date))
		return LV_ERR_INVALID;
	struct lv_tx *tx;
	enum lv_status st = lv_tx_begin(n, &tx);
	if (st != LV_OK)
		return st;
	st = lv_store_learner_exists(n, learner) ? LV_OK : LV_ERR_NOT_FOUND;
	if (st == LV_OK)
		st = lv_store_learner_birth_date_set(tx, learner, date);
	if (st == LV_OK) {
		/* Logged with the change: the guardian rule depends on it, and
		 * an auditor replays that rule from the log alone. */
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "type", "birth_date");
		cJSON_AddStringToObject(e, "learner", learner);
		cJSON_AddStringToObject(e, "birth_date", date);
		st = lv_tx_audit(tx, e, NULL);
	}
	return lv_tx_end(tx, st);
}

/* The decision without side effects: what node.db holds, evaluated.  Lock
 * held.  *@pl (the newest version, zeroed when none) and *@ev (the latest
 * event, zeroed when none) are the caller's afterwards; *@expired as
 * lv_consent_evaluate says. */
static void decide_locked(struct lv_node *n, const char *learner, const char *policy_id,
			  const struct lv_consent_scope *sc, int64_t now, struct lv_consent_decision *out,
			  struct lv_policy_loaded *pl, struct lv_store_consent_event *ev, bool *expired)
{
	char bd[LV_STORE_BIRTH_DATE_LEN];
	*expired = false;
	memset(out, 0, sizeof *out);
	memset(ev, 0, sizeof *ev);
	if (!lv_store_learner_exists(n, learner)) {
		snprintf(out->reason, sizeof out->reason, "no such learner");
		return;
	}
	if (lv_policy_loaded_get_locked(n, policy_id, 0, pl) != LV_OK) {
		snprintf(out->reason, sizeof out->reason, "policy not loaded");
		return;
	}
	/* A failed read counts as no consent: deny. */
	bool have = lv_store_consent_last(n, learner, policy_id, ev) == LV_OK;
	lv_consent_evaluate(pl, have ? ev : NULL, birth_date(n, learner, bd), sc, now, out, expired);
}

/* The built-in purposes, which rest on no policy: true when @purpose is
 * one of them, with *@out decided. */
static bool builtin_purpose(const struct lv_principal *who, const char *learner, const char *purpose,
			    struct lv_consent_decision *out)
{
	if (strcmp(purpose, LV_PURPOSE_SELF) == 0) {
		/* The right of access: the learner, or their guardian, reading
		 * their own data needs no consent; anyone else is refused. */
		out->allow = (who->role == LV_ROLE_LEARNER || who->role == LV_ROLE_GUARDIAN) &&
			     strcmp(who->learner, learner) == 0;
		snprintf(out->reason, sizeof out->reason, out->allow ? "the learner's right of access"
			 : "only the learner or their guardian reads their own data");
	} else if (strcmp(purpose, LV_PURPOSE_OPERATOR_REQUEST) == 0) {
		/* The node operator, holding the node key, acts on a learner's
		 * request (e.g. a written access request): allowed, and logged. */
		out->allow = who->role == LV_ROLE_ADMIN;
		snprintf(out->reason, sizeof out->reason, out->allow ? "operator fulfilling the learner's request"
			 : "only the node operator acts on a learner's request");
	} else if (strcmp(purpose, LV_PURPOSE_PROVIDER_READBACK) == 0) {
		/* xAPI: a provider reads back what it sent (the caller restricts
		 * the rows to that provider's own statements). */
		out->allow = who->role == LV_ROLE_PROVIDER;
		snprintf(out->reason, sizeof out->reason, out->allow ? "provider read-back of its own statements"
			 : "only a provider reads back statements");
	} else {
		return false;
	}
	return true;
}

static enum lv_status access_entry(struct lv_node *n, const struct lv_principal *who, const char *learner,
				   const char *purpose, bool allow, uint32_t version, const char *record_id,
				   const struct lv_consent_scope *scope, uint64_t count, cJSON *extra,
				   uint64_t *index);

enum lv_status lv_access_authorize_locked(struct lv_node *n, const struct lv_principal *who, const char *learner,
				       const char *purpose, const struct lv_consent_scope *scope, uint64_t count,
				       int64_t now, struct lv_consent_decision *out)
{
	struct lv_policy_loaded pl = {0};
	struct lv_store_consent_event ev;
	bool expired = false;
	enum lv_status st = LV_OK;
	memset(out, 0, sizeof *out);
	if (!builtin_purpose(who, learner, purpose, out)) {
		decide_locked(n, learner, purpose, scope, now, out, &pl, &ev, &expired);
		char rid[LV_RECORD_ID_LEN];
		if (expired)
			st = event_put(n, learner, purpose, &pl, LV_CONSENT_EXPIRED, "system", "node", now, 0,
				       ev.record_id, rid);
	}
	if (st == LV_OK)
		st = access_entry(n, who, learner, purpose, out->allow, out->policy_version, out->record_id, scope,
				  count, NULL, &out->audit_index);
	lv_policy_loaded_clear(&pl);
	if (st != LV_OK) {
		/* No audit entry, no access. */
		out->allow = false;
		out->record_id[0] = '\0';
		snprintf(out->reason, sizeof out->reason, "the audit entry could not be written");
	}
	return st;
}

/* Appends one access entry (who, role, purpose, consent record, scope,
 * @count, decision, and @extra's members, taken).  Lock held. */
static enum lv_status access_entry(struct lv_node *n, const struct lv_principal *who, const char *learner,
				   const char *purpose, bool allow, uint32_t version, const char *record_id,
				   const struct lv_consent_scope *scope, uint64_t count, cJSON *extra,
				   uint64_t *index)
{
	cJSON *e = cJSON_CreateObject();
	cJSON_AddStringToObject(e, "type", "access");
	cJSON_AddStringToObject(e, "decision", allow ? "allow" : "deny");
	cJSON_AddStringToObject(e, "role", lv_role_str(who->role));
	cJSON_AddStringToObject(e, "actor", who->id);
	cJSON_AddStringToObject(e, "purpose", purpose);
	if (version) {
		cJSON_AddNumberToObject(e, "policy_version", version);
		cJSON_AddStringToObject(e, "consent_record", record_id);
	}
	cJSON_AddStringToObject(e, "learner", learner);
	if (scope && scope->resource)
		cJSON_AddStringToObject(e, "resource", scope->resource);
	if (scope && scope->has_op)
		cJSON_AddStringToObject(e, "operation", lv_policy_op_str(scope->op));
	if (scope && (scope->nverbs || scope->ntypes || scope->nfields)) {
		/* What was asked, so an auditor can check it against the
		 * policy text offline. */
		cJSON *sc = cJSON_AddObjectToObject(e, "scope");
		cJSON *a = cJSON_AddArrayToObject(sc, "verbs");
		for (size_t k = 0; k < scope->nverbs; k++)
			cJSON_AddItemToArray(a, cJSON_CreateString(scope->verbs[k]));
		a = cJSON_AddArrayToObject(sc, "activity_types");
		for (size_t k = 0; k < scope->ntypes; k++)
			cJSON_AddItemToArray(a, cJSON_CreateString(scope->activity_types[k]));
		a = cJSON_AddArrayToObject(sc, "result_fields");
		for (size_t k = 0; k < scope->nfields; k++)
			cJSON_AddItemToArray(a, cJSON_CreateString(scope->result_fields[k]));
	}
	cJSON_AddNumberToObject(e, "count", (double)count);
	if (extra) {
		cJSON *it;
		while ((it = extra->child)) {
			cJSON_DetachItemViaPointer(extra, it);
			cJSON_AddItemToObject(e, it->string, it);
		}
		cJSON_Delete(extra);
	}
	return lv_tx_audit(lv_tx_current(n), e, index);
}


enum lv_status lv_access_authorize(struct lv_node *n, const struct lv_principal *who, const char *learner,
				   const char *purpose, const struct lv_consent_scope *scope, uint64_t count,
				   int64_t now, struct lv_consent_decision *out)
{
	struct lv_tx *tx;
	memset(out, 0, sizeof *out);
	enum lv_status st = lv_tx_begin(n, &tx);
	if (st == LV_OK)
		st = lv_tx_end(tx, lv_access_authorize_locked(n, who, learner, purpose, scope, count, now, out));
	if (st != LV_OK) {
		out->allow = false;
		out->record_id[0] = '\0';
	}
	return st;
}

/* ---- the learner's view of the ledger ---- */

struct list_ctx {
	struct lv_node *n;
	const char *learner;
	int64_t now;
	cJSON *events, *status;
};

/* One event, and the first time its policy appears, that policy's status
 * now (as the access check would decide it, recording nothing). */
static enum lv_status list_row(void *ctx, const struct lv_store_consent_row *r)
{
	struct list_ctx *c = ctx;
	char t[UTIL_TIME_LEN];
	cJSON *e = cJSON_CreateObject();
	cJSON_AddStringToObject(e, "record_id", r->record_id);
	cJSON_AddStringToObject(e, "subject", c->learner);
	cJSON_AddStringToObject(e, "policy_id", r->policy_id);
	cJSON_AddNumberToObject(e, "policy_version", (double)r->policy_version);
	cJSON_AddStringToObject(e, "policy_sha256", r->policy_sha256);
	cJSON_AddStringToObject(e, "event", r->event);
	cJSON_AddStringToObject(e, "actor_role", r->actor_role);
	util_time_format(r->time_ms, t);
	cJSON_AddStringToObject(e, "time", t);
	if (r->has_valid_until) {
		util_time_format(r->valid_until, t);
		cJSON_AddStringToObject(e, "valid_until", t);
	}
	if (r->supersedes)
		cJSON_AddStringToObject(e, "supersedes", r->supersedes);
	if (r->details) {
		cJSON *d = util_json_parse(r->details, strlen(r->details));
		if (d)
			cJSON_AddItemToObject(e, "receipt", d);
	}
	cJSON_AddItemToArray(c->events, e);
	if (!cJSON_GetObjectItemCaseSensitive(c->status, r->policy_id)) {
		struct lv_consent_decision d;
		struct lv_policy_loaded pl = {0};
		struct lv_store_consent_event ev;
		bool expired;
		decide_locked(c->n, c->learner, r->policy_id, NULL, c->now, &d, &pl, &ev, &expired);
		lv_policy_loaded_clear(&pl);
		cJSON *x = cJSON_AddObjectToObject(c->status, r->policy_id);
		cJSON_AddBoolToObject(x, "allowed", d.allow);
		cJSON_AddNumberToObject(x, "version", d.policy_version);
		cJSON_AddStringToObject(x, "reason", d.reason);
	}
	return LV_OK;
}

enum lv_status lv_consent_list(struct lv_node *n, const char *learner, int64_t now, char **json)
{
	*json = NULL;
	cJSON *o = cJSON_CreateObject();
	struct list_ctx c = {.n = n, .learner = learner, .now = now};
	c.events = cJSON_AddArrayToObject(o, "events");
	c.status = cJSON_AddObjectToObject(o, "status");
	enum lv_status st = lv_store_lock(n);
	if (st == LV_OK)
		st = lv_store_consent_each(n, learner, list_row, &c);
	lv_store_unlock(n);
	if (st == LV_OK) {
		*json = cJSON_PrintUnformatted(o);
		if (!*json)
			st = LV_ERR_NOMEM;
	}
	cJSON_Delete(o);
	return st;
}

/* ---- the aggregate door: a whole cohort at once ---- */

struct cohort_expiry {
	char learner[LV_PSEUDONYM_LEN];
	char record_id[LV_RECORD_ID_LEN];
};

struct cohort {
	const struct lv_policy_loaded *pl;
	int64_t now;
	UTIL_ARRAY(struct lv_consent_member) members;
	UTIL_ARRAY(struct cohort_expiry) expired; /* recorded after the scan */
};

/* One learner's latest event, evaluated as a single check would be. */
static enum lv_status cohort_row(void *ctx, const char *learner, const struct lv_store_consent_event *ev,
				 const char *birth)
{
	struct cohort *c = ctx;
	struct lv_consent_decision d;
	bool expired;
	enum lv_status st = LV_OK;
	lv_consent_evaluate(c->pl, ev, birth, NULL, c->now, &d, &expired);
	if (expired) {
		if ((st = util_array_room(&c->expired, COHORT_MAX)) != LV_OK)
			return st;
		struct cohort_expiry *x = &c->expired.v[c->expired.n++];
		snprintf(x->learner, sizeof x->learner, "%s", learner);
		snprintf(x->record_id, sizeof x->record_id, "%s", ev->record_id);
	} else if (d.allow) {
		if ((st = util_array_room(&c->members, COHORT_MAX)) != LV_OK)
			return st;
		struct lv_consent_member *m = &c->members.v[c->members.n++];
		snprintf(m->learner, sizeof m->learner, "%s", learner);
		snprintf(m->record_id, sizeof m->record_id, "%s", d.record_id);
		m->policy_version = d.policy_version;
	}
	return LV_OK;
}

enum lv_status lv_consent_cohort_locked(struct lv_node *n, const char *policy_id, int64_t now,
				     struct lv_consent_member **out, size_t *count)
{
	struct lv_policy_loaded pl;
	*out = NULL;
	*count = 0;
	enum lv_status st = lv_policy_loaded_get_locked(n, policy_id, 0, &pl);
	if (st != LV_OK)
		return st;
	struct cohort c = {.pl = &pl, .now = now};
	st = lv_store_consent_cohort_each(n, policy_id, cohort_row, &c);
	/* Expiries found are recorded, as the single check does. */
	for (size_t i = 0; i < c.expired.n && st == LV_OK; i++) {
		char rid[LV_RECORD_ID_LEN];
		st = event_put(n, c.expired.v[i].learner, policy_id, &pl, LV_CONSENT_EXPIRED, "system", "node", now, 0,
			       c.expired.v[i].record_id, rid);
	}
	if (st == LV_OK) {
		*out = c.members.v;
		*count = c.members.n;
		c.members.v = NULL;
	}
	free(c.members.v);
	free(c.expired.v);
	lv_policy_loaded_clear(&pl);
	return st;
}

enum lv_status lv_access_log_member_locked(struct lv_node *n, const struct lv_principal *who, const char *purpose,
					const struct lv_consent_member *m, const struct lv_consent_scope *scope,
					cJSON *extra, uint64_t *index)
{
	return access_entry(n, who, m->learner, purpose, true, m->policy_version, m->record_id, scope, 1, extra,
			    index);
}
