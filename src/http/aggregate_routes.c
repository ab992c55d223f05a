/* The aggregate door (analyst token bound to purposes): POST /aggregate.
 * Nothing else is reachable with an analyst token. */
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "learnvault/query.h"

enum MHD_Result aggregate_route(struct http_req *r)
{
	if (!r->authenticated)
		return reply_error(r, 401, "unauthorized", "an analyst token is required");
	if (r->who.role != LV_ROLE_ANALYST)
		return reply_error(r, 403, "forbidden", "the aggregate door is for analyst credentials");
	if (strcmp(r->method, "POST") != 0)
		return reply_error(r, 405, "method_not_allowed", "POST a query as JSON");
	if (r->nparams)
		return reply_error(r, 400, "invalid", "the aggregate door takes no URL parameters");
	char *answer = NULL, err[LV_QUERY_ERR_LEN];
	enum lv_status st = lv_aggregate(r->node, &r->who, (const char *)r->content, r->content_len, util_now_ms(),
					 &answer, err);
	if (st != LV_OK)
		return reply_status(r, st, err);
	enum MHD_Result ret = reply_bytes(r, 200, "application/json", answer, strlen(answer), NULL);
	free(answer);
	return ret;
}
