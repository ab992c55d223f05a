/* GET /policies: the loaded consent policies, a public notice. */
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "learnvault/consent.h"

enum MHD_Result policies_route(struct http_req *r)
{
	if (strcmp(r->method, "GET") != 0)
		return reply_error(r, 405, "method_not_allowed", "policies support GET only");
	if (r->nparams)
		return reply_error(r, 400, "invalid", "policies take no parameters");
	char *json = NULL;
	enum lv_status st = lv_policy_list(r->node, &json);
	if (st != LV_OK)
		return reply_status(r, st, NULL);
	enum MHD_Result ret = reply_bytes(r, 200, "application/json", json, strlen(json), NULL);
	free(json);
	return ret;
}
