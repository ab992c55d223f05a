/* The consent ledger and the one access check.  Events are immutable rows
 * in node.db; each commits with its audit entry. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "learnvault/audit.h"
#include "learnvault/consent.h"
#include "store/store.h"


struct policy_ref {
	uint32_t version;
	char sha[LV_POLICY_DIGEST_HEX_LEN];
	struct lv_policy *p; /* parsed: owned */
};

struct last_event {
	bool found;
	char event[32];
	uint32_t version;
	char sha[LV_POLICY_DIGEST_HEX_LEN];
	char record_id[LV_RECORD_ID_LEN];
	char actor_role[16];
	int64_t valid_until; /* 0: none */
};

/* The newest (or @version) loaded text of @id.  Lock held. */
static enum lv_status policy_get(struct lv_node *n, const char *id, uint32_t version, struct policy_ref *out)
{
	sqlite3_stmt *s = NULL;
	char err[LV_POLICY_ERR_LEN];
	memset(out, 0, sizeof *out);
	enum lv_status st = db_status(sqlite3_prepare_v2(n->db, version
		? "SELECT version, sha256, text FROM policies WHERE id = ? AND version = ?"
		: "SELECT version, sha256, text FROM policies WHERE id = ? ORDER BY version DESC LIMIT 1", -1, &s, NULL));
	if (st != LV_OK)
		return st;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	if (version)
		sqlite3_bind_int64(s, 2, version);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		out->version = (uint32_t)sqlite3_column_int64(s, 0);
		snprintf(out->sha, sizeof out->sha, "%s", (const char *)sqlite3_column_text(s, 1));
		const char *text = (const char *)sqlite3_column_text(s, 2);
		st = lv_policy_parse(text, strlen(text), &out->p, err);
	} else {
		st = rc == SQLITE_DONE ? LV_ERR_NOT_FOUND : db_status(rc);
	}
	sqlite3_finalize(s);
	return st;
}

static bool years_below(int y, int m, int d, uint32_t age, int64_t now);

static bool learner_known(struct lv_node *n, const char *p)
{
	sqlite3_stmt *s = NULL;
	bool found = false;
	if (sqlite3_prepare_v2(n->db, "SELECT 1 FROM learners WHERE pseudonym = ?", -1, &s, NULL) == SQLITE_OK) {
		sqlite3_bind_text(s, 1, p, -1, SQLITE_STATIC);
		found = sqlite3_step(s) == SQLITE_ROW;
	}
	sqlite3_finalize(s);
	return found;
}

/* True when the learner is below @age at @now (or their birth date is
 * unknown: the guardian rule then fails closed). */
static bool below_age(struct lv_node *n, const char *p, uint32_t age, int64_t now)
{
	if (age == 0)
		return false;
	sqlite3_stmt *s = NULL;
	int y = 0, m = 0, d = 0;
	bool known = false;
	if (sqlite3_prepare_v2(n->db, "SELECT birth_date FROM learner_info WHERE pseudonym = ?", -1, &s, NULL) == SQLITE_OK) {
		sqlite3_bind_text(s, 1, p, -1, SQLITE_STATIC);
		if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
			known = sscanf((const char *)sqlite3_column_text(s, 0), "%4d-%2d-%2d", &y, &m, &d) == 3;
	}
	sqlite3_finalize(s);
	if (!known)
		return true;
	return years_below(y, m, d, age, now);
}

static bool years_below(int y, int m, int d, uint32_t age, int64_t now)
{
	time_t t = (time_t)(now / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	int years = tm.tm_year + 1900 - y;
	if (tm.tm_mon + 1 < m || (tm.tm_mon + 1 == m && tm.tm_mday < d))
		years--;
	return years < (int)age;
}

static enum lv_status last_event_get(struct lv_node *n, const char *learner, const char *policy, struct last_event *ev)
{
	sqlite3_stmt *s = NULL;
	memset(ev, 0, sizeof *ev);
	enum lv_status st = db_status(sqlite3_prepare_v2(n->db,
		"SELECT event, policy_version, policy_sha256, record_id, actor_role, valid_until FROM consent_events"
		" WHERE learner = ? AND policy_id = ? ORDER BY seq DESC LIMIT 1", -1, &s, NULL));
	if (st != LV_OK)
		return st;
	sqlite3_bind_text(s, 1, learner, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, policy, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		ev->found = true;
		snprintf(ev->event, sizeof ev->event, "%s", (const char *)sqlite3_column_text(s, 0));
		ev->version = (uint32_t)sqlite3_column_int64(s, 1);
		snprintf(ev->sha, sizeof ev->sha, "%s", (const char *)sqlite3_column_text(s, 2));
		snprintf(ev->record_id, sizeof ev->record_id, "%s", (const char *)sqlite3_column_text(s, 3));
		snprintf(ev->actor_role, sizeof ev->actor_role, "%s", (const char *)sqlite3_column_text(s, 4));
		ev->valid_until = sqlite3_column_type(s, 5) == SQLITE_NULL ? 0 : sqlite3_column_int64(s, 5);
	} else if (rc != SQLITE_DONE) {
		st = db_status(rc);
	}
	sqlite3_finalize(s);
	return st;
}

/* The ISO/IEC TS 27560 / Kantara receipt fields a consent event carries
 * besides its own (CONSENT.md), taken from the policy the learner saw. */
static cJSON *receipt_details(const struct policy_ref *pr, const char *actor_role, const char *actor)
{
	const struct lv_policy *p = pr->p;
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
	cJSON_AddStringToObject(d, "evidence_hash", pr->sha);
	return d;
}

/* Appends an event and its audit entry inside the open transaction. */
static enum lv_status event_put(struct lv_node *n, const char *learner, const char *policy,
				const struct policy_ref *pr, const char *event, const char *actor_role,
				const char *actor, int64_t now, int64_t valid_until, const char *supersedes,
				char record_id[LV_RECORD_ID_LEN])
{
	sqlite3_stmt *s = NULL;
	util_uuid_v4(record_id);
	enum lv_status st = db_status(sqlite3_prepare_v2(n->db,
		"INSERT INTO consent_events(record_id, learner, policy_id, policy_version, policy_sha256, event,"
		" actor_role, actor, time, valid_until, supersedes, details) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		-1, &s, NULL));
	cJSON *details = receipt_details(pr, actor_role, actor);
	char *dtext = cJSON_PrintUnformatted(details);
	if (st == LV_OK) {
		sqlite3_bind_text(s, 1, record_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, learner, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 3, policy, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 4, pr->version);
		sqlite3_bind_text(s, 5, pr->sha, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 6, event, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 7, actor_role, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 8, actor, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 9, now);
		if (valid_until)
			sqlite3_bind_int64(s, 10, valid_until);
		sqlite3_bind_text(s, 11, supersedes, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 12, dtext, -1, SQLITE_STATIC);
		st = db_status(sqlite3_step(s));
	}
	sqlite3_finalize(s);
	free(dtext);
	if (st != LV_OK) {
		cJSON_Delete(details);
		return st;
	}
	char t[UTIL_TIME_LEN];
	cJSON *e = cJSON_CreateObject();
	cJSON_AddStringToObject(e, "type", "consent");
	cJSON_AddStringToObject(e, "event", event);
	cJSON_AddStringToObject(e, "record_id", record_id);
	cJSON_AddStringToObject(e, "learner", learner);
	cJSON_AddStringToObject(e, "policy", policy);
	cJSON_AddNumberToObject(e, "policy_version", pr->version);
	cJSON_AddStringToObject(e, "policy_sha256", pr->sha);
	cJSON_AddStringToObject(e, "actor_role", actor_role);
	cJSON_AddStringToObject(e, "actor", actor);
	if (valid_until) {
		util_time_format(valid_until, t);
		cJSON_AddStringToObject(e, "valid_until", t);
	}
	if (supersedes)
		cJSON_AddStringToObject(e, "supersedes", supersedes);
	cJSON_AddItemToObject(e, "receipt", details);
	return lv_tx_audit(lv_tx_current(n), e, NULL);
}

/* Who decides: checks @actor against the guardian rule; fills @role_out. */
static enum lv_status decider(struct lv_node *n, const struct lv_principal *actor, enum lv_role on_behalf,
			      const char *learner, const struct policy_ref *pr, int64_t now,
			      const char **role_out, char err[LV_CONSENT_ERR_LEN])
{
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
	uint32_t age = lv_policy_guardian_below_age(pr->p);
	bool minor = below_age(n, learner, age, now);
	if (minor && as != LV_ROLE_GUARDIAN) {
		snprintf(err, LV_CONSENT_ERR_LEN, "below age %u (or no birth date on record) a guardian decides", (unsigned)age);
		return LV_ERR_FORBIDDEN;
	}
	if (!minor && as == LV_ROLE_GUARDIAN) {
		snprintf(err, LV_CONSENT_ERR_LEN, "at age %u or above the learner decides", (unsigned)age);
		return LV_ERR_FORBIDDEN;
	}
	*role_out = lv_role_str(as);
	return LV_OK;
}

static enum lv_status record(struct lv_node *n, const struct lv_principal *actor, enum lv_role on_behalf,
			     const char *learner, const char *policy_id, uint32_t version, const char *kind,
			     char record_id[LV_RECORD_ID_LEN], char err[LV_CONSENT_ERR_LEN])
{
	struct policy_ref pr = {0};
	struct last_event ev;
	const char *role = NULL;
	int64_t now = util_now_ms();
	struct lv_tx *tx;
	record_id[0] = '\0';
	err[0] = '\0';
	enum lv_status st = lv_tx_begin(n, &tx);
	if (st != LV_OK)
		goto done;
	if (!learner_known(n, learner)) {
		snprintf(err, LV_CONSENT_ERR_LEN, "no such learner");
		st = LV_ERR_NOT_FOUND;
		goto out;
	}
	st = policy_get(n, policy_id, version, &pr);
	if (st != LV_OK) {
		snprintf(err, LV_CONSENT_ERR_LEN, "no such policy (or version) is loaded");
		goto out;
	}
	st = decider(n, actor, on_behalf, learner, &pr, now, &role, err);
	if (st == LV_OK)
		st = last_event_get(n, learner, policy_id, &ev);
	if (st != LV_OK)
		goto out;
	bool live = ev.found && (!strcmp(ev.event, LV_CONSENT_GIVEN) || !strcmp(ev.event, LV_CONSENT_RENEWED)) &&
		    ev.version == pr.version && ev.valid_until > now;
	const char *event = kind;
	int64_t until = 0;
	if (!strcmp(kind, LV_CONSENT_GIVEN)) {
		event = live ? LV_CONSENT_RENEWED : LV_CONSENT_GIVEN;
		until = now + (int64_t)lv_policy_consent_valid_days(pr.p) * UTIL_DAY_MS;
	}
	st = event_put(n, learner, policy_id, &pr, event, role, actor->id[0] ? actor->id : "cli", now, until,
		       ev.found ? ev.record_id : NULL, record_id);
out:
	st = lv_tx_end(tx, st);
done:
	lv_policy_destroy(pr.p);
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

enum lv_status lv_learner_set_birth_date(struct lv_node *n, const char *learner, const char *date)
{
	int y, m, d;
	char rest;
	if (!date || strlen(date) != 10 || sscanf(date, "%4d-%2d-%2d%c", &y, &m, &d, &rest) != 3 || y < 1900 ||
	    m < 1 || m > 12 || d < 1 || d > 31)
		return LV_ERR_INVALID;
	sqlite3_stmt *s = NULL;
	enum lv_status st = lv_store_lock(n);
	if (st == LV_OK)
		st = learner_known(n, learner) ? LV_OK : LV_ERR_NOT_FOUND;
	if (st == LV_OK)
		st = db_status(sqlite3_prepare_v2(n->db, "INSERT OR REPLACE INTO learner_info(pseudonym, birth_date) VALUES(?, ?)",
						  -1, &s, NULL));
	if (st == LV_OK) {
		sqlite3_bind_text(s, 1, learner, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, date, -1, SQLITE_STATIC);
		st = db_status(sqlite3_step(s));
	}
	sqlite3_finalize(s);
	lv_store_unlock(n);
	return st;
}

/* The decision without side effects.  Lock held.  *@expired when the
 * latest grant has run out (the caller records it). */
static void decide_locked(struct lv_node *n, const char *learner, const char *policy_id,
			  const struct lv_consent_scope *sc, int64_t now, struct lv_consent_decision *out,
			  struct policy_ref *pr, struct last_event *ev, bool *expired)
{
	*expired = false;
	out->allow = false;
	if (!learner_known(n, learner)) {
		snprintf(out->reason, sizeof out->reason, "no such learner");
		return;
	}
	if (policy_get(n, policy_id, 0, pr) != LV_OK) {
		snprintf(out->reason, sizeof out->reason, "policy not loaded");
		return;
	}
	out->policy_version = pr->version;
	if (last_event_get(n, learner, policy_id, ev) != LV_OK || !ev->found) {
		snprintf(out->reason, sizeof out->reason, "no consent on record (default deny)");
		return;
	}
	if (strcmp(ev->event, LV_CONSENT_GIVEN) != 0 && strcmp(ev->event, LV_CONSENT_RENEWED) != 0) {
		snprintf(out->reason, sizeof out->reason, "latest decision: %s", ev->event);
		return;
	}
	if (ev->version != pr->version || strcmp(ev->sha, pr->sha) != 0) {
		snprintf(out->reason, sizeof out->reason, "consent was for version %u; version %u needs new consent",
			 (unsigned)ev->version, (unsigned)pr->version);
		return;
	}
	if (ev->valid_until <= now) {
		snprintf(out->reason, sizeof out->reason, "consent expired");
		*expired = true;
		return;
	}
	uint32_t age = lv_policy_guardian_below_age(pr->p);
	if (below_age(n, learner, age, now) && strcmp(ev->actor_role, "guardian") != 0) {
		snprintf(out->reason, sizeof out->reason, "below age %u a guardian's consent is needed", (unsigned)age);
		return;
	}
	if (sc) {
		if (sc->has_op && !lv_policy_allows_operation(pr->p, sc->op)) {
			snprintf(out->reason, sizeof out->reason, "operation %s not allowed by the policy", lv_policy_op_str(sc->op));
			return;
		}
		for (size_t i = 0; i < sc->nverbs; i++)
			if (!lv_policy_covers_verb(pr->p, sc->verbs[i])) {
				snprintf(out->reason, sizeof out->reason, "a verb outside the policy's data scope");
				return;
			}
		for (size_t i = 0; i < sc->ntypes; i++)
			if (!lv_policy_covers_activity_type(pr->p, sc->activity_types[i])) {
				snprintf(out->reason, sizeof out->reason, "an activity type outside the policy's data scope");
				return;
			}
		for (size_t i = 0; i < sc->nfields; i++)
			if (!lv_policy_covers_result_field(pr->p, sc->result_fields[i])) {
				snprintf(out->reason, sizeof out->reason, "a result field outside the policy's data scope");
				return;
			}
	}
	out->allow = true;
	snprintf(out->record_id, sizeof out->record_id, "%s", ev->record_id);
	snprintf(out->reason, sizeof out->reason, "covered by consent record %s", ev->record_id);
}

static enum lv_status access_entry(struct lv_node *n, const struct lv_principal *who, const char *learner,
				   const char *purpose, bool allow, uint32_t version, const char *record_id,
				   const struct lv_consent_scope *scope, uint64_t count, cJSON *extra,
				   uint64_t *index);

enum lv_status access_authorize_locked(struct lv_node *n, const struct lv_principal *who, const char *learner,
				       const char *purpose, const struct lv_consent_scope *scope, uint64_t count,
				       int64_t now, struct lv_consent_decision *out)
{
	struct policy_ref pr = {0};
	struct last_event ev;
	bool expired = false;
	enum lv_status st = LV_OK;
	memset(out, 0, sizeof *out);
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
		decide_locked(n, learner, purpose, scope, now, out, &pr, &ev, &expired);
		char rid[LV_RECORD_ID_LEN];
		if (expired)
			st = event_put(n, learner, purpose, &pr, LV_CONSENT_EXPIRED, "system", "node", now, 0,
				       ev.record_id, rid);
	}
	if (st == LV_OK)
		st = access_entry(n, who, learner, purpose, out->allow, out->policy_version, out->record_id, scope,
				  count, NULL, &out->audit_index);
	lv_policy_destroy(pr.p);
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
}

enum lv_status lv_access_authorize(struct lv_node *n, const struct lv_principal *who, const char *learner,
				   const char *purpose, const struct lv_consent_scope *scope, uint64_t count,
				   int64_t now, struct lv_consent_decision *out)
{
	struct lv_tx *tx;
	memset(out, 0, sizeof *out);
	enum lv_status st = lv_tx_begin(n, &tx);
	if (st == LV_OK)
		st = lv_tx_end(tx, access_authorize_locked(n, who, learner, purpose, scope, count, now, out));
	if (st != LV_OK) {
		out->allow = false;
		out->record_id[0] = '\0';
	}
	return st;
}

enum lv_status lv_consent_list(struct lv_node *n, const char *learner, int64_t now, char **json)
{
	*json = NULL;
	sqlite3_stmt *s = NULL;
	cJSON *o = cJSON_CreateObject();
	cJSON *events = cJSON_AddArrayToObject(o, "events");
	cJSON *status = cJSON_AddObjectToObject(o, "status");
	enum lv_status st = lv_store_lock(n);
	if (st == LV_OK)
		st = db_status(sqlite3_prepare_v2(n->db,
		"SELECT record_id, policy_id, policy_version, policy_sha256, event, actor_role, time, valid_until, supersedes,"
		" details FROM consent_events WHERE learner = ? ORDER BY seq", -1, &s, NULL));
	int rc = SQLITE_DONE;
	if (st == LV_OK) {
		sqlite3_bind_text(s, 1, learner, -1, SQLITE_STATIC);
		while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
			char t[UTIL_TIME_LEN];
			cJSON *e = cJSON_CreateObject();
			cJSON_AddStringToObject(e, "record_id", (const char *)sqlite3_column_text(s, 0));
			cJSON_AddStringToObject(e, "subject", learner);
			const char *pid = (const char *)sqlite3_column_text(s, 1);
			cJSON_AddStringToObject(e, "policy_id", pid);
			cJSON_AddNumberToObject(e, "policy_version", (double)sqlite3_column_int64(s, 2));
			cJSON_AddStringToObject(e, "policy_sha256", (const char *)sqlite3_column_text(s, 3));
			cJSON_AddStringToObject(e, "event", (const char *)sqlite3_column_text(s, 4));
			cJSON_AddStringToObject(e, "actor_role", (const char *)sqlite3_column_text(s, 5));
			util_time_format(sqlite3_column_int64(s, 6), t);
			cJSON_AddStringToObject(e, "time", t);
			if (sqlite3_column_type(s, 7) != SQLITE_NULL) {
				util_time_format(sqlite3_column_int64(s, 7), t);
				cJSON_AddStringToObject(e, "valid_until", t);
			}
			if (sqlite3_column_type(s, 8) != SQLITE_NULL)
				cJSON_AddStringToObject(e, "supersedes", (const char *)sqlite3_column_text(s, 8));
			if (sqlite3_column_type(s, 9) != SQLITE_NULL) {
				const char *dt = (const char *)sqlite3_column_text(s, 9);
				cJSON *d = util_json_parse(dt, strlen(dt));
				if (d)
					cJSON_AddItemToObject(e, "receipt", d);
			}
			cJSON_AddItemToArray(events, e);
			if (!cJSON_GetObjectItemCaseSensitive(status, pid)) {
				struct lv_consent_decision d = {0};
				struct policy_ref pr = {0};
				struct last_event ev;
				bool expired;
				decide_locked(n, learner, pid, NULL, now, &d, &pr, &ev, &expired);
				lv_policy_destroy(pr.p);
				cJSON *x = cJSON_AddObjectToObject(status, pid);
				cJSON_AddBoolToObject(x, "allowed", d.allow);
				cJSON_AddNumberToObject(x, "version", d.policy_version);
				cJSON_AddStringToObject(x, "reason", d.reason);
			}
		}
		if (rc != SQLITE_DONE)
			st = db_status(rc);
	}
	sqlite3_finalize(s);
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

enum lv_status consent_cohort_locked(struct lv_node *n, const char *policy_id, int64_t now,
				     struct consent_member **out, size_t *count)
{
	struct policy_ref pr = {0};
	sqlite3_stmt *s = NULL;
	struct consent_member *m = NULL;
	size_t nm = 0, cap = 0;
	struct {
		char learner[LV_PSEUDONYM_LEN];
		char record_id[LV_RECORD_ID_LEN];
	} *exp = NULL;
	size_t nexp = 0, expcap = 0;
	*out = NULL;
	*count = 0;
	enum lv_status st = policy_get(n, policy_id, 0, &pr);
	if (st != LV_OK)
		return st;
	uint32_t age = lv_policy_guardian_below_age(pr.p);
	/* The latest event of every learner for this policy: the same rules
	 * as decide_locked, in one pass. */
	st = db_status(sqlite3_prepare_v2(n->db,
		"SELECT e.learner, e.event, e.policy_version, e.policy_sha256, e.record_id, e.actor_role,"
		" coalesce(e.valid_until, 0), i.birth_date FROM consent_events e"
		" JOIN learners l ON l.pseudonym = e.learner"
		" LEFT JOIN learner_info i ON i.pseudonym = e.learner"
		" WHERE e.policy_id = ?1 AND e.seq = (SELECT max(seq) FROM consent_events x"
		" WHERE x.learner = e.learner AND x.policy_id = ?1) ORDER BY e.learner", -1, &s, NULL));
	if (st != LV_OK)
		goto out;
	sqlite3_bind_text(s, 1, policy_id, -1, SQLITE_STATIC);
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *learner = (const char *)sqlite3_column_text(s, 0);
		const char *event = (const char *)sqlite3_column_text(s, 1);
		if (strcmp(event, LV_CONSENT_GIVEN) != 0 && strcmp(event, LV_CONSENT_RENEWED) != 0)
			continue;
		if ((uint32_t)sqlite3_column_int64(s, 2) != pr.version ||
		    strcmp((const char *)sqlite3_column_text(s, 3), pr.sha) != 0)
			continue;
		if (sqlite3_column_int64(s, 6) <= now) {
			if (nexp == expcap) {
				size_t nc = expcap ? expcap * 2 : 16;
				void *ne = realloc(exp, nc * sizeof *exp);
				if (!ne) {
					st = LV_ERR_NOMEM;
					goto out;
				}
				exp = ne;
				expcap = nc;
			}
			snprintf(exp[nexp].learner, LV_PSEUDONYM_LEN, "%s", learner);
			snprintf(exp[nexp].record_id, LV_RECORD_ID_LEN, "%s", (const char *)sqlite3_column_text(s, 4));
			nexp++;
			continue;
		}
		if (age) {
			int y, mo, d;
			const char *bd = (const char *)sqlite3_column_text(s, 7);
			bool below = !bd || sscanf(bd, "%4d-%2d-%2d", &y, &mo, &d) != 3 ||
				     years_below(y, mo, d, age, now);
			if (below && strcmp((const char *)sqlite3_column_text(s, 5), "guardian") != 0)
				continue;
		}
		if (nm == cap) {
			size_t nc = cap ? cap * 2 : 256;
			struct consent_member *nmm = realloc(m, nc * sizeof *nmm);
			if (!nmm) {
				st = LV_ERR_NOMEM;
				goto out;
			}
			m = nmm;
			cap = nc;
		}
		snprintf(m[nm].learner, sizeof m[nm].learner, "%s", learner);
		snprintf(m[nm].record_id, sizeof m[nm].record_id, "%s", (const char *)sqlite3_column_text(s, 4));
		m[nm].policy_version = pr.version;
		nm++;
	}
	if (rc != SQLITE_DONE)
		st = db_status(rc);
	sqlite3_finalize(s);
	s = NULL;
	/* Expiries found are recorded, as the single check does. */
	for (size_t i = 0; i < nexp && st == LV_OK; i++) {
		char rid[LV_RECORD_ID_LEN];
		st = event_put(n, exp[i].learner, policy_id, &pr, LV_CONSENT_EXPIRED, "system", "node", now, 0,
			       exp[i].record_id, rid);
	}
	if (st == LV_OK) {
		*out = m;
		*count = nm;
		m = NULL;
	}
out:
	sqlite3_finalize(s);
	free(m);
	free(exp);
	lv_policy_destroy(pr.p);
	return st;
}

enum lv_status access_log_member_locked(struct lv_node *n, const struct lv_principal *who, const char *purpose,
					const struct consent_member *m, const struct lv_consent_scope *scope,
					cJSON *extra, uint64_t *index)
{
	return access_entry(n, who, m->learner, purpose, true, m->policy_version, m->record_id, scope, 1, extra,
			    index);
}
