#include <string.h>

#include "harness.h"
#include "learnvault/util.h"

START_TEST(buf_respects_cap)
{
	struct buf b;
	buf_init(&b, 8);
	ck_assert_int_eq(buf_append_str(&b, "12345"), LV_OK);
	ck_assert_int_eq(buf_append_str(&b, "678"), LV_OK);
	ck_assert_int_eq(buf_append_str(&b, "9"), LV_ERR_TOO_LARGE);
	ck_assert_str_eq(b.data, "12345678");
	ck_assert_uint_eq(b.len, 8);
	buf_free(&b);
}
END_TEST

START_TEST(time_roundtrip)
{
	int64_t ms;
	char out[UTIL_TIME_LEN];
	ck_assert(util_time_parse("2013-05-18T05:32:34.804Z", &ms));
	util_time_format(ms, out);
	ck_assert_str_eq(out, "2013-05-18T05:32:34.804Z");
	ck_assert(util_time_parse("2013-05-18T07:32:34.804+02:00", &ms));
	util_time_format(ms, out);
	ck_assert_str_eq(out, "2013-05-18T05:32:34.804Z");
	ck_assert(util_time_parse("1970-01-01T00:00:00Z", &ms));
	ck_assert_int_eq(ms, 0);
}
END_TEST

START_TEST(time_rejects_bad)
{
	int64_t ms;
	ck_assert(!util_time_parse("2013-05-18", &ms));
	ck_assert(!util_time_parse("2013-05-18T05:32:34", &ms));
	ck_assert(!util_time_parse("2013-13-18T05:32:34Z", &ms));
	ck_assert(!util_time_parse("2013-02-30T05:32:34Z", &ms));
	ck_assert(!util_time_parse("2013-05-18T05:32:34-00:00", &ms));
	ck_assert(!util_time_parse("2013-05-18T05:32:34.Z", &ms));
	ck_assert(!util_time_parse("2013-05-18 05:32:34Z", &ms));
}
END_TEST

START_TEST(uuid_forms)
{
	char u[UTIL_UUID_LEN];
	util_uuid_v4(u);
	ck_assert(util_uuid_valid(u));
	ck_assert_int_eq(u[14], '4');
	ck_assert(util_uuid_valid("AAAAAAAA-bbbb-cccc-dddd-eeeeeeeeeeee"));
	ck_assert(!util_uuid_valid("AAAAAAAA-bbbb-cccc-dddd-eeeeeeeeeee"));
	ck_assert(!util_uuid_valid("AAAAAAAAXbbbb-cccc-dddd-eeeeeeeeeeee"));
	ck_assert(!util_uuid_valid("gaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"));
}
END_TEST

START_TEST(status_strings)
{
	ck_assert_str_eq(lv_status_str(LV_OK), "ok");
	ck_assert_str_eq(lv_status_str(LV_ERR_CONFLICT), "conflict");
	ck_assert_uint_eq(lv_status_http(LV_ERR_TOO_LARGE), 413);
	ck_assert_uint_eq(lv_status_http(LV_ERR_UNAUTHORIZED), 401);
}
END_TEST

/* Issue 13, strict input: what cJSON lets through and RFC 8259 does not
 * is refused; every valid form still parses. */
START_TEST(json_is_strict)
{
	static const char *const good[] = {
		"{}", "[]", "0", "-0", "0.5", "-0.5", "10", "1e5", "1E+05", "100", "[0,10,0.01,-0]",
		"{\"a\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"}", "\"\\u00e9\\ud83d\\ude00\"",
		"\"a\\\"b\\\\\"", "{\"k\":\"\\\\u0000 is text here\"}", " [1] \n", "\t[1,\r\n2]\n",
	};
	static const struct {
		const char *text;
		size_t len; /* 0: strlen */
	} bad[] = {
		{"05", 0}, {"-05", 0}, {"[1,05]", 0}, {"{\"a\":007}", 0},
		{"\"\xff\"", 0}, {"\"\xc0\xaf\"", 0}, {"\"\xed\xa0\x80\"", 0}, {"\"\xf4\x90\x80\x80\"", 0},
		{"\"\xe2\x82\"", 0}, {"\"a\tb\"", 0}, {"\"a\nb\"", 0}, {"\"a\x01\"", 0},
		{"\"a\\u0000b\"", 0}, {"{\"stateId\":\"a\\u0000b\"}", 0}, {"\"a\0b\"", 5}, {"[1]\0", 4},
		/* control characters between tokens (cJSON reads them as whitespace) */
		{"\x10[     \x19]", 0}, {"[1,\x0b" "2]", 0}, {"\x0c{}", 0}, {"{}\x1f", 0},
		/* a \u escape that is not four hex digits (cJSON reads it as
		 * U+0000), and a raw control character behind one */
		{"\"a\\u00zzb\"", 0}, {"{\"stateId\":\"a\\u0g00\"}", 0}, {"[\"\\ud83\\\x01-\"]", 0},
		{"\"a\\qb\"", 0},
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		cJSON *j = util_json_parse(good[i], strlen(good[i]));
		ck_assert_msg(j != NULL, "refused valid JSON: %s", good[i]);
		cJSON_Delete(j);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		size_t len = bad[i].len ? bad[i].len : strlen(bad[i].text);
		cJSON *j = util_json_parse(bad[i].text, len);
		ck_assert_msg(j == NULL, "accepted bad JSON #%zu", i);
	}
}
END_TEST

Suite *lv_test_suite(void)
{
	Suite *s = suite_create("util");
	TCase *tc = tcase_create("buf");
	tcase_add_test(tc, buf_respects_cap);
	suite_add_tcase(s, tc);
	tc = tcase_create("time");
	tcase_add_test(tc, time_roundtrip);
	tcase_add_test(tc, time_rejects_bad);
	suite_add_tcase(s, tc);
	tc = tcase_create("uuid");
	tcase_add_test(tc, uuid_forms);
	suite_add_tcase(s, tc);
	tc = tcase_create("json");
	tcase_add_test(tc, json_is_strict);
	suite_add_tcase(s, tc);
	tc = tcase_create("status");
	tcase_add_test(tc, status_strings);
	suite_add_tcase(s, tc);
	return s;
}
