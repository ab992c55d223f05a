/* The access step of the read doors: consent decides and the audit entry
 * is written, in a node.db transaction, before the door releases data. */
#include "door_int.h"
#include "learnvault/consent.h"
#include "learnvault/store.h"
#include "learnvault/util.h"

enum lv_status door_authorize_locked(struct lv_node *n, const struct lv_principal *who, const char *learner,
				     const char *purpose, const char *resource, uint64_t count)
{
	struct lv_consent_decision d;
	struct lv_consent_scope sc = {.resource = resource};
	struct lv_tx *tx;
	enum lv_status st = lv_tx_open_locked(n, &tx);
	if (st != LV_OK)
		return st;
	/* A denial is an answer, not a failure: its entry commits. */
	st = lv_tx_close_locked(tx, lv_access_authorize_locked(n, who, learner, purpose, &sc, count, util_now_ms(), &d));
	if (st == LV_OK && !d.allow)
		st = LV_ERR_FORBIDDEN;
	return st;
}

enum lv_status door_authorize(struct lv_node *n, const struct lv_principal *who, const char *learner,
			      const char *purpose, const char *resource, uint64_t count)
{
	struct lv_consent_decision d;
	struct lv_consent_scope sc = {.resource = resource};
	enum lv_status st = lv_access_authorize(n, who, learner, purpose, &sc, count, util_now_ms(), &d);
	if (st == LV_OK && !d.allow)
		st = LV_ERR_FORBIDDEN;
	return st;
}

enum lv_status door_authorize_all_locked(struct lv_node *n, const struct lv_principal *who, const char *purpose,
					 const char *resource, const struct door_access *a, size_t na)
{
	if (na == 0)
		return LV_OK;
	struct lv_tx *tx;
	enum lv_status st = lv_tx_open_locked(n, &tx);
	if (st != LV_OK)
		return st;
	struct lv_consent_scope sc = {.resource = resource};
	int64_t now = util_now_ms();
	for (size_t i = 0; i < na && st == LV_OK; i++) {
		struct lv_consent_decision d;
		st = lv_access_authorize_locked(n, who, a[i].learner, purpose, &sc, a[i].count, now, &d);
		if (st == LV_OK && !d.allow)
			st = LV_ERR_FORBIDDEN;
	}
	return lv_tx_close_locked(tx, st);
}
