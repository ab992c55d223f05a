/* The learner's personalisation views: computed by the personal module
 * from the learner's own model state, decided and logged through consent,
 * then released. */
#include "learnvault/consent.h"
#include "learnvault/door.h"
#include "learnvault/recommend.h"
#include "learnvault/util.h"

static enum lv_status release_view(struct lv_node *n, const struct lv_principal *who, const char *learner,
				   const char *purpose, enum lv_personal_view_kind kind, unsigned limit, int64_t now,
				   cJSON **out)
{
	static const char *const RESOURCE[] = {"personal-next", "personal-mastery", "personal-reviews"};
	cJSON *o = NULL;
	size_t count = 0;
	*out = NULL;
	if (!who || !purpose)
		return LV_ERR_INVALID;
	enum lv_status st = lv_personal_view(n, learner, kind, limit, now, &o, &count);
	if (st != LV_OK)
		return st;
	/* Decided and logged before anything is released. */
	struct lv_consent_decision d;
	struct lv_consent_scope sc = {.resource = RESOURCE[kind]};
	st = lv_access_authorize(n, who, learner, purpose, &sc, (uint64_t)count, util_now_ms(), &d);
	if (st == LV_OK && !d.allow)
		st = LV_ERR_FORBIDDEN;
	if (st != LV_OK) {
		cJSON_Delete(o);
		return st;
	}
	*out = o;
	return LV_OK;
}

enum lv_status lv_learner_next(struct lv_node *n, const struct lv_principal *who, const char *learner,
			       const char *purpose, unsigned limit, int64_t now_ms, cJSON **out)
{
	return release_view(n, who, learner, purpose, LV_PERSONAL_VIEW_NEXT, limit, now_ms, out);
}

enum lv_status lv_learner_mastery(struct lv_node *n, const struct lv_principal *who, const char *learner,
				  const char *purpose, int64_t now_ms, cJSON **out)
{
	return release_view(n, who, learner, purpose, LV_PERSONAL_VIEW_MASTERY, 0, now_ms, out);
}

enum lv_status lv_learner_reviews(struct lv_node *n, const struct lv_principal *who, const char *learner,
				  const char *purpose, unsigned limit, int64_t now_ms, cJSON **out)
{
	return release_view(n, who, learner, purpose, LV_PERSONAL_VIEW_REVIEWS, limit, now_ms, out);
}
