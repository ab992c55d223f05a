/* Statements: lv_xapi_request_validate on an application/json body (POST:
 * one statement or an array, every xAPI rule and the attachment rules
 * without parts).  Inputs whose first byte is '!' are validated as a PUT
 * with a fixed statementId, to reach the PUT id rule. */
#include "fuzz.h"

#include "learnvault/xapi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lv_xapi_request req = {0};
	bool put = size > 0 && data[0] == '!';
	if (put) {
		data++;
		size--;
		req.statement_id = "fd41c918-b88b-4b20-a0a5-a4c32391aaa0";
	}
	req.json = (const char *)data;
	req.json_len = size;
	struct lv_xapi_batch b = {0};
	struct lv_xapi_error err;
	if (lv_xapi_request_validate(&req, &b, &err) == LV_OK) {
		/* A valid batch is an array (an empty one for "[]") and no error. */
		if (!cJSON_IsArray(b.statements) || err.code)
			abort();
	} else if (!err.code) {
		abort();
	}
	lv_xapi_batch_clear(&b);
	return 0;
}
