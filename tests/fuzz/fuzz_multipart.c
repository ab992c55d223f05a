/* Multipart with JWS: the input is a Content-Type header line, '\n', then
 * a multipart/mixed body (CRLF lines).  The body goes through
 * multipart_parse, and a parsed list through lv_xapi_request_validate as
 * the statements door hands it over.  The signature check is reached that
 * way only when a part's SHA-256 matches a statement's attachment, which a
 * fuzzer seldom finds, so every part after the first is also given to
 * xapi_jws_verify directly, against the first part's statement (or a fixed
 * one when that does not parse to an object). */
#include "fuzz.h"

#include "learnvault/util.h"
#include "learnvault/xapi.h"
#include "multipart.h"
#include "xapi_int.h"

static const char fixed_statement[] =
	"{\"actor\":{\"mbox\":\"mailto:a@example.org\"},"
	"\"verb\":{\"id\":\"http://adlnet.gov/expapi/verbs/completed\"},"
	"\"object\":{\"id\":\"http://example.org/activity\"}}";

static void jws_parts(const struct mp_list *l)
{
	cJSON *st = NULL;
	if (l->n > 0)
		st = util_json_parse((const char *)l->parts[0].body, l->parts[0].len);
	if (!cJSON_IsObject(st)) {
		cJSON_Delete(st);
		st = cJSON_Parse(fixed_statement);
		if (!st)
			return;
	}
	char err[LV_XAPI_ERR_LEN];
	for (size_t i = 1; i < l->n; i++)
		(void)xapi_jws_verify((const char *)l->parts[i].body, l->parts[i].len, st, err);
	cJSON_Delete(st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *ctype;
	const uint8_t *body;
	size_t len;
	if (!fuzz_split_line(data, size, &ctype, &body, &len))
		return 0;
	/* The body in its own allocation of exactly @len bytes, so that a read
	 * past its end is an ASan report. */
	uint8_t *copy = malloc(len ? len : 1);
	if (!copy)
		goto out;
	if (len)
		memcpy(copy, body, len);
	struct mp_list l = {0};
	char err[MP_ERR_LEN];
	if (multipart_parse(ctype, copy, len, &l, err) != LV_OK)
		goto out;
	struct lv_xapi_part *parts = NULL;
	if (l.n > 0 && multipart_xapi_parts(&l, &parts) == LV_OK) {
		struct lv_xapi_request req = {
			.json = (const char *)parts[0].body,
			.json_len = parts[0].len,
			.parts = parts,
			.nparts = l.n,
		};
		struct lv_xapi_batch b = {0};
		struct lv_xapi_error xerr;
		(void)lv_xapi_request_validate(&req, &b, &xerr);
		lv_xapi_batch_clear(&b);
		free(parts);
	}
	jws_parts(&l);
	multipart_free(&l);
out:
	free(copy);
	free(ctype);
	return 0;
}
