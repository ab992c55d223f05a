/* The learner's door onto personalisation: GET /learner/next,
 * /learner/mastery, /learner/reviews.  learner_route has already checked
 * that the caller holds a learner or guardian token; the library call logs
 * the access (LV_PURPOSE_SELF) before anything is sent. */
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "learnvault/door.h"
#include "learnvault/consent.h"
#include "learnvault/recommend.h"
#include "learnvault/util.h"

/* ?limit=N: absent -> 0 (the call's default), 1..@max, larger -> @max. */
static bool parse_limit(const struct http_req *r, unsigned max, unsigned *out)
{
	const char *l = req_param(r, "limit");
	*out = 0;
	if (!l)
		return true;
	char *end = NULL;
	long long v = strtoll(l, &end, 10);
	if (!*l || *end || v < 1)
		return false;
	*out = v > (long long)max ? max : (unsigned)v;
	return true;
}

enum MHD_Result personal_route(struct http_req *r, const char *sub)
{
	if (strcmp(r->method, "GET") != 0)
		return reply_error(r, 405, "method_not_allowed", "personalisation resources support GET");
	cJSON *o = NULL;
	unsigned limit = 0;
	enum lv_status st;
	int64_t now = util_now_ms();
	if (strcmp(sub, "/next") == 0) {
		if (!parse_limit(r, LV_NEXT_LIMIT_MAX, &limit))
			return reply_error(r, 400, "invalid", "limit is a positive integer (at most %u)", LV_NEXT_LIMIT_MAX);
		st = lv_learner_next(r->node, &r->who, r->who.learner, LV_PURPOSE_SELF, limit, now, &o);
	} else if (strcmp(sub, "/mastery") == 0) {
		st = lv_learner_mastery(r->node, &r->who, r->who.learner, LV_PURPOSE_SELF, now, &o);
	} else {
		if (!parse_limit(r, LV_REVIEWS_LIMIT_MAX, &limit))
			return reply_error(r, 400, "invalid", "limit is a positive integer (at most %u)",
					   LV_REVIEWS_LIMIT_MAX);
		st = lv_learner_reviews(r->node, &r->who, r->who.learner, LV_PURPOSE_SELF, limit, now, &o);
	}
	if (st != LV_OK)
		return reply_status(r, st, st == LV_ERR_FORBIDDEN ? "only the learner or their guardian reads this"
								  : "could not compute or log the answer");
	return reply_json(r, 200, o, NULL);
}
