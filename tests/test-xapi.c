/* xAPI data rules, 1.0.3 and 2.0.0: validation, identities, index keys,
 * formats, equivalence and whole requests (include/learnvault/xapi.h,
 * src/xapi/). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "harness.h"
#include "learnvault/xapi.h"
#include "xapi/xapi_int.h"

/* Test JSON is written with single quotes to keep it readable; none of the
 * fixtures needs a literal apostrophe. */
static cJSON *parse_q(const char *text)
{
	char *s = strdup(text);
	ck_assert_ptr_nonnull(s);
	for (char *p = s; *p; p++)
		if (*p == '\'')
			*p = '"';
	cJSON *j = cJSON_Parse(s);
	ck_assert_msg(j != NULL, "fixture does not parse: %s", text);
	free(s);
	return j;
}

/* Deep merge, in the spirit of a template override: objects merge, other
 * values replace, and the string "DELETE" removes the key. */
static void merge(cJSON *dst, const cJSON *src)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, src) {
		cJSON *d = cJSON_GetObjectItemCaseSensitive(dst, c->string);
		if (cJSON_IsString(c) && strcmp(c->valuestring, "DELETE") == 0) {
			cJSON_DeleteItemFromObjectCaseSensitive(dst, c->string);
		} else if (d && cJSON_IsObject(d) && cJSON_IsObject(c)) {
			merge(d, c);
		} else {
			cJSON *copy = cJSON_Duplicate(c, true);
			ck_assert_ptr_nonnull(copy);
			if (d)
				cJSON_ReplaceItemViaPointer(dst, d, copy);
			else
				cJSON_AddItemToObject(dst, c->string, copy);
		}
	}
}

static cJSON *build(const char *base, const char *patch)
{
	cJSON *st = parse_q(base);
	if (patch) {
		cJSON *p = parse_q(patch);
		merge(st, p);
		cJSON_Delete(p);
	}
	return st;
}

static char last_err[LV_XAPI_ERR_LEN];

static enum lv_status check(const char *base, const char *patch)
{
	cJSON *st = build(base, patch);
	enum lv_status s = lv_xapi_validate_statement(st, last_err);
	cJSON_Delete(st);
	return s;
}

#define VALID(base, patch)                                                          \
	ck_assert_msg(check(base, patch) == LV_OK, "expected valid: %s (%s)", patch ? patch : base, \
		      last_err)
#define INVALID(base, patch)                                                        \
	do {                                                                        \
		ck_assert_msg(check(base, patch) == LV_ERR_INVALID, "expected invalid: %s", \
			      patch ? patch : base);                                 \
		ck_assert_msg(last_err[0] != '\0', "no reason given for %s", patch); \
	} while (0)

/* ---- fixtures ---- */

#define ST                                                                          \
	"{'actor':{'objectType':'Agent','name':'Ann','mbox':'mailto:ann@example.com'}," \
	"'verb':{'id':'http://adlnet.gov/expapi/verbs/attended','display':{'en-GB':'attended','en-US':'attended'}}," \
	"'object':{'objectType':'Activity','id':'http://www.example.com/meetings/34534'}}"

#define ACT_DEF                                                                     \
	"{'object':{'definition':{'name':{'en-US':'meeting','de-DE':'Treffen'}," \
	"'description':{'en-US':'a meeting','zh-Hant':'x'}," \
	"'type':'http://adlnet.gov/expapi/activities/meeting'," \
	"'moreInfo':'http://virtualmeeting.example.com/345256'," \
	"'extensions':{'http://example.com/ext/a':'X:\\\\\\\\minutes','http://example.com/ext/b':{'id':1}}}}}"

#define SUB_BODY                                                                    \
	"'object':{'objectType':'SubStatement','id':'DELETE'," \
	"'actor':{'objectType':'Agent','mbox_sha1sum':'cd9b00a5611f94eaa7b1661edab976068e364975'}," \
	"'verb':{'id':'http://adlnet.gov/expapi/verbs/reported','display':{'en-US':'reported'}}," \
	"'object':{'objectType':'Activity','id':'http://www.example.com/meetings/34534'}}"
#define SUB "{" SUB_BODY "}"

#define CTX                                                                         \
	"{'context':{'registration':'ec531277-b57b-4c15-8d91-d292c5b2b8f7','revision':'rev_10_3_2'," \
	"'platform':'Example','language':'tlh'," \
	"'statement':{'objectType':'StatementRef','id':'6690e6c9-3ef0-4ed3-8b37-7f3964730bee'}," \
	"'instructor':{'mbox':'mailto:teacher@example.com'}," \
	"'team':{'objectType':'Group','member':[{'mbox':'mailto:a@example.com'}]}," \
	"'contextActivities':{'parent':{'id':'http://example.com/p'},'grouping':[{'id':'http://example.com/g'}]," \
	"'category':[],'other':[{'objectType':'Activity','id':'http://example.com/o'}]}," \
	"'extensions':{'http://example.com/ctx/airspeed':'600mph'}}}"

#define ATT                                                                         \
	"{'attachments':[{'usageType':'http://example.com/attachment-usage/test'," \
	"'display':{'en-US':'A test attachment'},'description':{'es-MX':'prueba'}," \
	"'contentType':'text/plain; charset=ascii','length':27," \
	"'sha2':'495395e777cd98da653df9615d09c0fd6bb2f8d4788394cd53c56a3bfdcd848a'," \
	"'fileUrl':'http://over.there.com/file.txt'}]}"

/* ---- syntax helpers ---- */

START_TEST(iri_rules)
{
	ck_assert(lv_xapi_iri_valid("http://example.com/a?b=c#d"));
	ck_assert(lv_xapi_iri_valid("urn:uuid:6690e6c9-3ef0-4ed3-8b37-7f3964730bee"));
	ck_assert(lv_xapi_iri_valid("http://例え.jp/動詞"));
	ck_assert(lv_xapi_iri_valid("tag:example.com,2024:%C3%A9"));
	ck_assert(!lv_xapi_iri_valid("not.a.valid.iri.com/verb"));
	ck_assert(!lv_xapi_iri_valid("ab=c://should.fail.com"));
	ck_assert(!lv_xapi_iri_valid("1http://example.com"));
	ck_assert(!lv_xapi_iri_valid("http:"));
	ck_assert(!lv_xapi_iri_valid("http://exa mple.com"));
	ck_assert(!lv_xapi_iri_valid("http://example.com/%zz"));
	ck_assert(!lv_xapi_iri_valid(""));
	ck_assert(!lv_xapi_iri_valid(NULL));
	ck_assert(xapi_mbox_valid("mailto:xapi@adlnet.gov"));
	ck_assert(!xapi_mbox_valid("mailto:should.fail.com"));
	ck_assert(!xapi_mbox_valid("http://should.fail.com"));
	ck_assert(!xapi_mbox_valid("mailto:@example.com"));
	ck_assert(!xapi_mbox_valid("mailto:a@"));
}
END_TEST

START_TEST(language_tags)
{
	static const char *const good[] = {
		"de", "en-US", "de-DE", "zh-Hant", "sr-Latn-RS", "cmn", "ase", "tlh", "es-MX",
		"es-419", "zh-Hans-CN", "fr-CA", "sr-Cyrl", "ja", "en-GB-oed", "i-klingon",
		"x-whatever", "de-CH-1901", "sl-rozaj-biske", "en-a-bbb-x-a-ccc", "zh-yue-HK",
		"hy-Latn-IT-arevela", "de-Latn-DE-1996-x-private", "EN-us",
	};
	static const char *const bad[] = {
		"something", "a12345", "a12345678", "en-something-AU", "zh-something-ccc",
		"s-something", "zh-z-aaa-z-bbb-c-ccc", "de-1901-1901", "en-", "-en", "en--US",
		"en-a", "x", "en-x", "e", "", "en_US", "123", "en-US-a-b",
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		ck_assert_msg(xapi_lang_tag_valid(good[i]), "should accept %s", good[i]);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(!xapi_lang_tag_valid(bad[i]), "should reject %s", bad[i]);
}
END_TEST

START_TEST(durations)
{
	static const char *const good[] = {
		"PT1H0M0.1S", "PT4H35M59.14S", "PT16559.14S", "P3Y1M29DT4H35M59.14S", "P3Y", "P4W",
		"PT0S", "P1DT12H", "P0.5Y", "PT1,5S", "P1M", "PT1M",
	};
	static const char *const bad[] = {
		"PA1H0M0S", "P4W1D", "P", "PT", "should fail", "1H", "P1H", "PT1D", "P1S", "P1DT",
		"P1.5DT1H", "PT1.5H2M", "P1M1Y", "PT.5S", "P-1D", "pt1h", "P1DT1H1H",
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		ck_assert_msg(xapi_duration_valid(good[i]), "should accept %s", good[i]);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(!xapi_duration_valid(bad[i]), "should reject %s", bad[i]);
}
END_TEST

START_TEST(misc_formats)
{
	ck_assert(xapi_sha1_hex_valid("CD9B00A5611F94EAA7B1661EDAB976068E364975"));
	ck_assert(!xapi_sha1_hex_valid("cd9b00a5611f94eaa7b1661edab976068e36497"));
	ck_assert(!xapi_sha1_hex_valid("zd9b00a5611f94eaa7b1661edab976068e364975"));
	ck_assert(xapi_sha2_hex_valid("495395e777cd98da653df9615d09c0fd6bb2f8d4788394cd53c56a3bfdcd848a"));
	ck_assert(!xapi_sha2_hex_valid("495395e777cd98da"));
	ck_assert(xapi_media_type_valid("text/plain; charset=ascii"));
	ck_assert(xapi_media_type_valid("application/octet-stream"));
	ck_assert(!xapi_media_type_valid("text"));
	ck_assert(!xapi_media_type_valid("/plain"));
	ck_assert(!xapi_media_type_valid("text/plain junk"));
}
END_TEST

/* ---- valid statements ---- */

START_TEST(valid_basic)
{
	VALID(ST, NULL);
	VALID(ST, "{'id':'AA97B177-9383-4934-8543-0F91A7A02836'}");
	VALID(ST, "{'actor':{'objectType':'DELETE'}}");
	VALID(ST, "{'actor':{'mbox':'DELETE','mbox_sha1sum':'cd9b00a5611f94eaa7b1661edab976068e364975'}}");
	VALID(ST, "{'actor':{'mbox':'DELETE','openid':'http://openid.example.org/12345'}}");
	VALID(ST, "{'actor':{'mbox':'DELETE','account':{'homePage':'http://www.example.com','name':'x'}}}");
	VALID(ST, "{'verb':{'display':'DELETE'}}");
	VALID(ST, "{'verb':{'display':{'de':'besucht','sr-Latn-RS':'x','en-GB-oed':'y'}}}");
	VALID(ST, "{'timestamp':'2013-05-18T05:32:34.804Z','stored':'2013-05-18T05:32:34+05:30'}");
	VALID(ST, "{'version':'1.0'}");
	VALID(ST, "{'version':'1.0.9'}");
	VALID(ST, "{'version':'1.0.3'}");
	VALID(ST, "{'object':{'objectType':'DELETE'}}");
}
END_TEST

START_TEST(valid_actors_and_objects)
{
	VALID(ST, "{'actor':{'objectType':'Group','mbox':'mailto:g@example.com'}}");
	VALID(ST, "{'actor':{'objectType':'Group','mbox':'DELETE','member':[{'mbox':'mailto:a@example.com'},"
		  "{'objectType':'Agent','account':{'homePage':'http://h.example','name':'b'}}]}}");
	VALID(ST, "{'actor':{'objectType':'Group','member':[]}}");
	VALID(ST, "{'object':{'objectType':'Agent','mbox':'mailto:b@example.com','id':'DELETE'}}");
	VALID(ST, "{'object':{'objectType':'Group','openid':'http://openid.example.org/1','id':'DELETE'}}");
	VALID(ST, "{'object':{'objectType':'StatementRef','id':'8f87ccde-bb56-4c2e-ab83-44982ef22df0'}}");
	VALID(ST, "{'verb':{'id':'http://adlnet.gov/expapi/verbs/voided'},"
		  "'object':{'objectType':'StatementRef','id':'8f87ccde-bb56-4c2e-ab83-44982ef22df0'}}");
	VALID(ST, SUB);
	VALID(ST, "{'object':{'objectType':'SubStatement','id':'DELETE','actor':{'mbox':'mailto:s@example.com'},"
		  "'verb':{'id':'http://example.com/v'},'timestamp':'2030-01-01T00:00:00Z',"
		  "'result':{'success':true},'context':{'language':'fr-CA','revision':'r1'},"
		  "'object':{'id':'http://example.com/a'}}}");
	VALID(ST, "{'object':{'objectType':'SubStatement','id':'DELETE','actor':{'mbox':'mailto:s@example.com'},"
		  "'verb':{'id':'http://example.com/v'},"
		  "'object':{'objectType':'StatementRef','id':'8f87ccde-bb56-4c2e-ab83-44982ef22df0'}}}");
	VALID(ST, "{'authority':{'mbox':'mailto:auth@example.com'}}");
	VALID(ST, "{'authority':{'objectType':'Group','member':[{'account':{'homePage':"
		  "'http://example.com/xAPI/OAuth/Token','name':'oauth_consumer_x75db'}},"
		  "{'mbox':'mailto:bob@example.com'}]}}");
}
END_TEST

START_TEST(valid_activities)
{
	static const char *const interactions[] = {
		"{'object':{'definition':{'interactionType':'true-false','correctResponsesPattern':['true']}}}",
		"{'object':{'definition':{'interactionType':'choice','correctResponsesPattern':['golf[,]tetris'],"
		"'choices':[{'id':'golf','description':{'en-US':'Golf'}},{'id':'tetris','description':{'ja':'x'}}]}}}",
		"{'object':{'definition':{'interactionType':'fill-in','correctResponsesPattern':['Bob']}}}",
		"{'object':{'definition':{'interactionType':'long-fill-in'}}}",
		"{'object':{'definition':{'interactionType':'matching','source':[{'id':'ben'}],"
		"'target':[{'id':'1','description':{'en-US':'one'}}]}}}",
		"{'object':{'definition':{'interactionType':'performance','steps':[{'id':'pong'}]}}}",
		"{'object':{'definition':{'interactionType':'sequencing','choices':[{'id':'tim'},{'id':'ben'}]}}}",
		"{'object':{'definition':{'interactionType':'likert','scale':[{'id':'likert_0',"
		"'description':{'sr-Latn-RS':'U redu je'}}]}}}",
		"{'object':{'definition':{'interactionType':'numeric','correctResponsesPattern':['4[:]']}}}",
		"{'object':{'definition':{'interactionType':'other','correctResponsesPattern':[]}}}",
	};
	VALID(ST, ACT_DEF);
	VALID(ST, "{'object':{'definition':{}}}");
	VALID(ST, "{'object':{'definition':{'extensions':{}}}}");
	VALID(ST, "{'object':{'definition':{'extensions':{'http://example.com/null':null,"
		  "'http://example.com/empty':'','http://example.com/obj':{},'http://example.com/n':1}}}}");
	for (size_t i = 0; i < sizeof interactions / sizeof interactions[0]; i++)
		VALID(ST, interactions[i]);
}
END_TEST

START_TEST(valid_result_context_attachments)
{
	VALID(ST, "{'result':{'score':{'scaled':0.95,'raw':95,'min':0,'max':100},'success':true,"
		  "'completion':false,'response':'ok','duration':'PT1H0M0S',"
		  "'extensions':{'http://example.com/r':null}}}");
	VALID(ST, "{'result':{'score':{'scaled':-1.0}}}");
	VALID(ST, "{'result':{'score':{'scaled':1,'raw':-5}}}");
	VALID(ST, "{'result':{'score':{'min':0.6767676,'raw':0.6767676}}}");
	VALID(ST, "{'result':{}}");
	VALID(ST, CTX);
	/* revision/platform are fine when the object is an Activity without
	 * an objectType. */
	VALID(ST, "{'object':{'objectType':'DELETE'},'context':{'revision':'r','platform':'p'}}");
	VALID(ST, ATT);
	VALID(ST, "{'attachments':[]}");
}
END_TEST

/* ---- invalid statements ---- */

START_TEST(invalid_top_level)
{
	INVALID(ST, "{'actor':'DELETE'}");
	INVALID(ST, "{'verb':'DELETE'}");
	INVALID(ST, "{'object':'DELETE'}");
	INVALID(ST, "{'iD':'AA97B177-9383-4934-8543-0F91A7A02836'}");
	INVALID(ST, "{'Actor':{'mbox':'mailto:x@example.com'}}");
	INVALID(ST, "{'objectType':'Statement'}");
	INVALID(ST, "{'id':12345}");
	INVALID(ST, "{'id':{'key':'x'}}");
	INVALID(ST, "{'id':'AA97B177-9383-4934-8543-0F91A7A028368'}");
	INVALID(ST, "{'id':'MA97B177-9383-4934-8543-0F91A7A02836'}");
	INVALID(ST, "{'timestamp':'01/011/2015'}");
	INVALID(ST, "{'timestamp':'2008-09-15T15:53:00.601-00:00'}");
	INVALID(ST, "{'timestamp':'2008-09-15T15:53:00.601-0000'}");
	INVALID(ST, "{'timestamp':'2008-09-15T15:53:00.601-00'}");
	INVALID(ST, "{'stored':'should fail'}");
	INVALID(ST, "{'version':'1.1.0'}");
	INVALID(ST, "{'version':'0.9.9'}");
	INVALID(ST, "{'version':'1.0.'}");
	INVALID(ST, "{'version':103}");
	INVALID(ST, "{'verb':{'id':'http://adlnet.gov/expapi/verbs/voided'}}");
	INVALID(ST, "{'actor':{'name':null}}");
	/* A repeated key is ambiguous; cJSON keeps both, we refuse. */
	ck_assert_int_eq(check("{'actor':{'mbox':'mailto:a@example.com'},'actor':{'mbox':'mailto:b@example.com'},"
			       "'verb':{'id':'http://example.com/v'},'object':{'id':'http://example.com/a'}}",
			       NULL), LV_ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(last_err, "twice"));
	ck_assert_int_eq(lv_xapi_validate_statement(NULL, last_err), LV_ERR_INVALID);
}
END_TEST

START_TEST(invalid_actors)
{
	INVALID(ST, "{'actor':{'objectType':'agent'}}");
	INVALID(ST, "{'actor':{'objectType':'group'}}");
	INVALID(ST, "{'actor':{'objectType':123}}");
	INVALID(ST, "{'actor':{'name':123}}");
	INVALID(ST, "{'actor':{'name':{'key':'value'}}}");
	INVALID(ST, "{'actor':{'mbox':'DELETE'}}");
	INVALID(ST, "{'actor':{'mbox':'http://should.fail.com'}}");
	INVALID(ST, "{'actor':{'mbox':'mailto:should.fail.com'}}");
	INVALID(ST, "{'actor':{'mbox_sha1sum':'cd9b00a5611f94eaa7b1661edab976068e364975'}}");
	INVALID(ST, "{'actor':{'openid':'http://openid.example.org/1'}}");
	INVALID(ST, "{'actor':{'account':{'homePage':'http://www.example.com','name':'n'}}}");
	INVALID(ST, "{'actor':{'mbox':'DELETE','mbox_sha1sum':{'key':'value'}}}");
	INVALID(ST, "{'actor':{'mbox':'DELETE','mbox_sha1sum':'cd9b00a5611f94eaa7b1661edab976068e36497'}}");
	INVALID(ST, "{'actor':{'mbox':'DELETE','openid':'ab=c://should.fail.com'}}");
	INVALID(ST, "{'actor':{'mbox':'DELETE','openid':'open.id.com/testUser'}}");
	INVALID(ST, "{'actor':{'mbox':'DELETE','account':{'name':'n'}}}");
	INVALID(ST, "{'actor':{'mbox':'DELETE','account':{'homePage':'http://www.example.com'}}}");
	INVALID(ST, "{'actor':{'mbox':'DELETE','account':{'homePage':'homePage.com/u','name':'n'}}}");
	INVALID(ST, "{'actor':{'mbox':'DELETE','account':{'homePage':'http://h.example','name':{'k':'v'}}}}");
	INVALID(ST, "{'actor':{'mbox':'DELETE','account':{'homePage':'http://h.example','name':'n','x':1}}}");
	INVALID(ST, "{'actor':{'member':[{'mbox':'mailto:a@example.com'}]}}");
	INVALID(ST, "{'actor':{'objectType':'Group','mbox':'DELETE'}}");
	INVALID(ST, "{'actor':{'objectType':'Group','mbox':'DELETE','member':{'mbox':'mailto:a@example.com'}}}");
	INVALID(ST, "{'actor':{'objectType':'Group','mbox':'DELETE','member':[{'objectType':'Group',"
		    "'mbox':'mailto:g@example.com'}]}}");
	INVALID(ST, "{'actor':{'objectType':'Group','mbox':'DELETE','member':[]}}");
	INVALID(ST, "{'actor':{'objectType':'Group','member':[{'name':'no ifi'}]}}");
	INVALID(ST, "{'authority':{'objectType':'Group','openid':'http://openid.example.org/1',"
		    "'member':[{'mbox':'mailto:a@example.com'},{'mbox':'mailto:b@example.com'}]}}");
	INVALID(ST, "{'authority':{'objectType':'Group','member':[{'mbox':'mailto:a@example.com'}]}}");
	INVALID(ST, "{'authority':{'objectType':'Group','member':[{'mbox':'mailto:a@example.com'},"
		    "{'mbox':'mailto:b@example.com'},{'mbox':'mailto:c@example.com'}]}}");
	INVALID(ST, "{'authority':{'objectType':'Agent'}}");
	/* The "agent" parameter form. */
	char err[LV_XAPI_ERR_LEN];
	cJSON *g = parse_q("{'objectType':'Group','mbox':'mailto:g@example.com'}");
	ck_assert_int_eq(lv_xapi_validate_agent(g, true, err), LV_OK);
	ck_assert_int_eq(lv_xapi_validate_agent(g, false, err), LV_ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(err, "agent"));
	cJSON_Delete(g);
	cJSON *w = cJSON_CreateString("wrong");
	ck_assert_int_eq(lv_xapi_validate_agent(w, true, err), LV_ERR_INVALID);
	cJSON_Delete(w);
}
END_TEST

START_TEST(invalid_verbs_and_objects)
{
	INVALID(ST, "{'verb':{'id':'DELETE'}}");
	INVALID(ST, "{'verb':{'id':'ab=c://should.fail.com'}}");
	INVALID(ST, "{'verb':{'id':'adlnet.gov/expapi/verbs/attended'}}");
	INVALID(ST, "{'verb':{'display':12345}}");
	INVALID(ST, "{'verb':{'display':'a12345 attended'}}");
	INVALID(ST, "{'verb':{'display':{'something':'besucht'}}}");
	INVALID(ST, "{'verb':{'display':{'en-US':null}}}");
	INVALID(ST, "{'verb':{'display':{'en-US':'a','en-us':'b'}}}");
	INVALID(ST, "{'object':{'objectType':'activity'}}");
	INVALID(ST, "{'object':{'id':'DELETE'}}");
	INVALID(ST, "{'object':{'id':'www.example.com/meetings'}}");
	INVALID(ST, "{'object':{'objectType':'Agent','mbox':'mailto:a@example.com'}}");
	INVALID(ST, "{'object':{'objectType':'DELETE','mbox':'mailto:a@example.com','id':'DELETE'}}");
	INVALID(ST, "{'object':{'objectType':'StatementRef','id':'should fail'}}");
	INVALID(ST, "{'object':{'objectType':'StatementRef','id':'DELETE'}}");
	INVALID(ST, "{'object':{'objectType':'statementref','id':'8f87ccde-bb56-4c2e-ab83-44982ef22df0'}}");
	INVALID(ST, "{'object':{'objectType':'SubStatement'}}");
	INVALID(ST, "{'object':{'objectType':'SubStatement','id':'DELETE','actor':{'mbox':'mailto:s@example.com'},"
		    "'verb':{'id':'http://example.com/v'},'object':{'id':'http://example.com/a'},"
		    "'id':'fd41c918-b88b-4b20-a0a5-a4c32391aaa0'}}");
	INVALID(ST, "{'object':{'objectType':'SubStatement','id':'DELETE','actor':{'mbox':'mailto:s@example.com'},"
		    "'verb':{'id':'http://example.com/v'},'object':{'id':'http://example.com/a'},"
		    "'stored':'2013-05-18T05:32:34.804Z'}}");
	INVALID(ST, "{'object':{'objectType':'SubStatement','id':'DELETE','actor':{'mbox':'mailto:s@example.com'},"
		    "'verb':{'id':'http://example.com/v'},'object':{'id':'http://example.com/a'},"
		    "'version':'1.0.0'}}");
	INVALID(ST, "{'object':{'objectType':'SubStatement','id':'DELETE','actor':{'mbox':'mailto:s@example.com'},"
		    "'verb':{'id':'http://example.com/v'},'object':{'id':'http://example.com/a'},"
		    "'authority':{'mbox':'mailto:a@example.com'}}}");
	INVALID(ST, "{'object':{'objectType':'SubStatement','id':'DELETE','actor':{'mbox':'mailto:s@example.com'},"
		    "'verb':{'id':'http://example.com/v'},'object':" "{'objectType':'SubStatement',"
		    "'actor':{'mbox':'mailto:s@example.com'},'verb':{'id':'http://example.com/v'},"
		    "'object':{'id':'http://example.com/a'}}}}");
	INVALID(ST, "{'object':{'objectType':'SubStatement','id':'DELETE','actor':{'mbox':'mailto:s@example.com'},"
		    "'verb':{'id':'http://example.com/v'},'object':{'objectType':'Agent','mbox':'mailto:a@x.org'},"
		    "'context':{'platform':'p'}}}");
}
END_TEST

START_TEST(invalid_activities)
{
	INVALID(ST, "{'object':{'definition':'should error'}}");
	INVALID(ST, "{'object':{'definition':{'name':1234}}}");
	INVALID(ST, "{'object':{'definition':{'name':'not a map'}}}");
	INVALID(ST, "{'object':{'definition':{'description':{'en-US':'x','something':'y'}}}}");
	INVALID(ST, "{'object':{'definition':{'name':{'a12345678':'should error'}}}}");
	INVALID(ST, "{'object':{'definition':{'type':'should fail'}}}");
	INVALID(ST, "{'object':{'definition':{'moreInfo':'should fail'}}}");
	INVALID(ST, "{'object':{'definition':{'moreInfo':null}}}");
	INVALID(ST, "{'object':{'definition':{'extensions':'should fail'}}}");
	INVALID(ST, "{'object':{'definition':{'extensions':{'should fail':true}}}}");
	INVALID(ST, "{'object':{'definition':{'extensions':{'id':'valid','description':{'en-US':'x'}}}}}");
	INVALID(ST, "{'object':{'definition':{'interactionType':'true-faLse'}}}");
	INVALID(ST, "{'object':{'definition':{'interactionType':'Other'}}}");
	INVALID(ST, "{'object':{'definition':{'interactionType':12345}}}");
	INVALID(ST, "{'object':{'definition':{'interactionType':'ab=c://should.fail.com'}}}");
	INVALID(ST, "{'object':{'definition':{'correctResponsesPattern':['true']}}}");
	INVALID(ST, "{'object':{'definition':{'choices':[{'id':'a'}]}}}");
	INVALID(ST, "{'object':{'definition':{'scale':[{'id':'a'}]}}}");
	INVALID(ST, "{'object':{'definition':{'source':[{'id':'a'}]}}}");
	INVALID(ST, "{'object':{'definition':{'target':[{'id':'a'}]}}}");
	INVALID(ST, "{'object':{'definition':{'steps':[{'id':'a'}]}}}");
	INVALID(ST, "{'object':{'definition':{'interactionType':'choice','scale':[{'id':'a'}]}}}");
	INVALID(ST, "{'object':{'definition':{'interactionType':'choice','choices':[{'id':'a'},{'id':'a'}]}}}");
	INVALID(ST, "{'object':{'definition':{'interactionType':'choice','choices':[{'description':{}}]}}}");
	INVALID(ST, "{'object':{'definition':{'interactionType':'choice','choices':[{'id':'a','x':1}]}}}");
	INVALID(ST, "{'object':{'definition':{'interactionType':'performance','steps':[{'id':'s',"
		    "'description':{'something':'x'}}]}}}");
	INVALID(ST, "{'object':{'definition':{'interactionType':'fill-in','correctResponsesPattern':'x'}}}");
	INVALID(ST, "{'object':{'definition':{'interactionType':'fill-in','correctResponsesPattern':[1]}}}");
	INVALID(ST, "{'object':{'definition':{'Name':{'en':'x'}}}}");
}
END_TEST

START_TEST(invalid_results)
{
	INVALID(ST, "{'result':{'score':12345}}");
	INVALID(ST, "{'result':{'score':'should fail'}}");
	INVALID(ST, "{'result':{'score':{'max':'100'}}}");
	INVALID(ST, "{'result':{'score':{'scaled':1.01}}}");
	INVALID(ST, "{'result':{'score':{'scaled':-1.00001}}}");
	INVALID(ST, "{'result':{'score':{'raw':0.6767676,'max':0.6567676}}}");
	INVALID(ST, "{'result':{'score':{'raw':0.6767676,'min':1.4067676}}}");
	INVALID(ST, "{'result':{'score':{'min':0.6767676,'max':0.6767355,'raw':0.6767643}}}");
	INVALID(ST, "{'result':{'score':{'min':5,'max':5}}}");
	INVALID(ST, "{'result':{'success':'true'}}");
	INVALID(ST, "{'result':{'completion':'false'}}");
	INVALID(ST, "{'result':{'response':12345}}");
	INVALID(ST, "{'result':{'response':{'key':'invalid'}}}");
	INVALID(ST, "{'result':{'duration':'PA1H0M0S'}}");
	INVALID(ST, "{'result':{'duration':'P4W1D'}}");
	INVALID(ST, "{'result':{'duration':12345}}");
	INVALID(ST, "{'result':{'extensions':{'example.com/extension/wrong':1234}}}");
	INVALID(ST, "{'RESULT':{}}");
}
END_TEST

START_TEST(invalid_contexts)
{
	INVALID(ST, "{'context':{'registration':null}}");
	INVALID(ST, "{'context':{'registration':'should fail'}}");
	INVALID(ST, "{'context':{'registration':{'key':'x'}}}");
	INVALID(ST, "{'context':{'instructor':'should fail'}}");
	INVALID(ST, "{'context':{'instructor':{'key':'should fail'}}}");
	INVALID(ST, "{'context':{'instructor':{'objectType':'Agent'}}}");
	INVALID(ST, "{'context':{'team':{'mbox':'mailto:a@example.com'}}}");
	INVALID(ST, "{'context':{'team':{'objectType':'Agent','mbox':'mailto:a@example.com'}}}");
	INVALID(ST, "{'context':{'team':'should fail'}}");
	INVALID(ST, "{'context':{'contextActivities':'should fail'}}");
	INVALID(ST, "{'context':{'contextActivities':{'consequences':{'id':'http://example.com/a'}}}}");
	INVALID(ST, "{'context':{'contextActivities':{'other':[{'id':'http://example.com/a'},{'key':'x'}]}}}");
	INVALID(ST, "{'context':{'contextActivities':{'parent':'http://example.com/a'}}}");
	INVALID(ST, "{'context':{'revision':12345}}");
	INVALID(ST, "{'context':{'platform':{'key':'x'}}}");
	INVALID(ST, "{'context':{'language':'something'}}");
	INVALID(ST, "{'context':{'language':{'a12345':'x'}}}");
	INVALID(ST, "{'context':{'statement':{'objectType':'statementref','id':'6690e6c9-3ef0-4ed3-8b37-7f3964730bee'}}}");
	INVALID(ST, "{'context':{'statement':{'objectType':'StatementRef','id':'should fail'}}}");
	INVALID(ST, "{'context':{'statement':{'id':'6690e6c9-3ef0-4ed3-8b37-7f3964730bee'}}}");
	INVALID(ST, "{'context':{'extensions':{'example.com/extension/wrong':1}}}");
	INVALID(ST, "{'object':{'objectType':'StatementRef','id':'8f87ccde-bb56-4c2e-ab83-44982ef22df0'},"
		    "'context':{'revision':'r'}}");
	INVALID(ST, "{'object':{'objectType':'Agent','mbox':'mailto:b@example.com','id':'DELETE'},"
		    "'context':{'platform':'p'}}");
	INVALID(ST, "{'object':{'objectType':'Group','mbox':'mailto:b@example.com','id':'DELETE'},"
		    "'context':{'revision':'r'}}");
	INVALID(ST, "{" SUB_BODY ",'context':{'platform':'p'}}");
	INVALID(ST, "{'conText':{}}");
}
END_TEST

START_TEST(invalid_attachments)
{
	INVALID(ST, "{'attachments':{'usageType':'http://example.com/u'}}");
	INVALID(ST, "{'attachments':[12345]}");
	INVALID(ST, "{'attachments':['should fail']}");
	/* Each breaker replaces (or adds) one property of a valid attachment. */
	static const char *const breakers[] = {
		"{'usageType':'should fail'}", "{'usageType':'example.com/u'}", "{'contentType':999}",
		"{'contentType':'plain'}", "{'length':'should fail'}", "{'length':1.5}", "{'length':-1}",
		"{'sha2':12345}", "{'sha2':'abc'}", "{'fileUrl':'should fail'}", "{'display':12345}",
		"{'display':'should fail'}", "{'display':{'something':'y'}}",
		"{'description':'should error'}", "{'description':{'a12345678':'should error'}}",
		"{'usageType':null}", "{'extra':1}",
	};
	for (size_t i = 0; i < sizeof breakers / sizeof breakers[0]; i++) {
		cJSON *st = build(ST, ATT);
		cJSON *a = cJSON_GetArrayItem(cJSON_GetObjectItem(st, "attachments"), 0);
		cJSON *b = parse_q(breakers[i]);
		merge(a, b);
		cJSON_Delete(b);
		ck_assert_msg(lv_xapi_validate_statement(st, last_err) == LV_ERR_INVALID,
			      "attachment should fail with %s", breakers[i]);
		cJSON_Delete(st);
	}
	static const char *const required[] = {"usageType", "display", "contentType", "length", "sha2"};
	for (size_t i = 0; i < sizeof required / sizeof required[0]; i++) {
		cJSON *st = build(ST, ATT);
		cJSON *a = cJSON_GetArrayItem(cJSON_GetObjectItem(st, "attachments"), 0);
		cJSON_DeleteItemFromObjectCaseSensitive(a, required[i]);
		ck_assert_int_eq(lv_xapi_validate_statement(st, last_err), LV_ERR_INVALID);
		ck_assert_ptr_nonnull(strstr(last_err, required[i]));
		cJSON_Delete(st);
	}
}
END_TEST

START_TEST(error_messages_are_short)
{
	char longkey[600];
	memset(longkey, 'k', sizeof longkey - 1);
	longkey[sizeof longkey - 1] = '\0';
	cJSON *st = build(ST, NULL);
	cJSON_AddStringToObject(st, longkey, "v");
	ck_assert_int_eq(lv_xapi_validate_statement(st, last_err), LV_ERR_INVALID);
	ck_assert_uint_lt(strlen(last_err), 80);
	cJSON_Delete(st);
	/* Paths name the failing property. */
	ck_assert_int_eq(check(ST, "{'context':{'instructor':{'mbox':'mailto:nope'}}}"), LV_ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(last_err, "context.instructor.mbox"));
	ck_assert_int_eq(check(ST, "{'object':{'definition':{'interactionType':'choice',"
				   "'choices':[{'id':'a'},{'id':7}]}}}"), LV_ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(last_err, "object.definition.choices[1].id"));
}
END_TEST

/* ---- identities ---- */

static const char *identity(const char *json, enum lv_status *st)
{
	static char out[512];
	struct buf b;
	buf_init(&b, 4096);
	cJSON *a = parse_q(json);
	*st = xapi_actor_identity(a, &b);
	snprintf(out, sizeof out, "%s", b.data ? b.data : "");
	cJSON_Delete(a);
	buf_free(&b);
	return out;
}

START_TEST(identities)
{
	enum lv_status st;
	ck_assert_str_eq(identity("{'mbox':'mailto:Ann@Example.com','name':'Ann'}", &st), "mbox:mailto:Ann@Example.com");
	ck_assert_int_eq(st, LV_OK);
	ck_assert_str_eq(identity("{'objectType':'Agent','mbox_sha1sum':'CD9B00A5611F94EAA7B1661EDAB976068E364975'}", &st),
			 "mbox_sha1sum:cd9b00a5611f94eaa7b1661edab976068e364975");
	ck_assert_str_eq(identity("{'openid':'http://openid.example.org/12345'}", &st),
			 "openid:http://openid.example.org/12345");
	ck_assert_str_eq(identity("{'account':{'name':'bob','homePage':'http://www.example.com'}}", &st),
			 "account:http://www.example.com|bob");
	ck_assert_str_eq(identity("{'objectType':'Group','account':{'homePage':'http://h.example','name':'g'},"
				  "'member':[{'mbox':'mailto:a@example.com'}]}", &st),
			 "group/account:http://h.example|g");
	ck_assert_str_eq(identity("{'objectType':'Group','mbox':'mailto:g@example.com'}", &st),
			 "group/mbox:mailto:g@example.com");
	ck_assert_str_eq(identity("{'objectType':'Group','member':[{'mbox':'mailto:z@example.com'},"
				  "{'openid':'http://o.example/1'},{'mbox':'mailto:a@example.com'}]}", &st),
			 "anon-group:mbox:mailto:a@example.com,mbox:mailto:z@example.com,openid:http://o.example/1");
	ck_assert_int_eq(st, LV_OK);
	/* Member order does not change an anonymous Group's identity. */
	ck_assert_str_eq(identity("{'objectType':'Group','member':[{'mbox':'mailto:a@example.com'},"
				  "{'mbox':'mailto:z@example.com'},{'openid':'http://o.example/1'}]}", &st),
			 "anon-group:mbox:mailto:a@example.com,mbox:mailto:z@example.com,openid:http://o.example/1");
	ck_assert_str_eq(identity("{'name':'nobody'}", &st), "");
	ck_assert_int_eq(st, LV_ERR_INVALID);
	identity("{'objectType':'Group','member':[]}", &st);
	ck_assert_int_eq(st, LV_ERR_INVALID);
	identity("{'objectType':'Thing','mbox':'mailto:a@example.com'}", &st);
	ck_assert_int_eq(st, LV_ERR_INVALID);

	/* The buffer is overwritten, not appended to, and its cap holds. */
	struct buf b;
	buf_init(&b, 24);
	cJSON *a = parse_q("{'mbox':'mailto:a@b.c'}");
	ck_assert_int_eq(buf_append_str(&b, "junk"), LV_OK);
	ck_assert_int_eq(xapi_actor_identity(a, &b), LV_OK);
	ck_assert_str_eq(b.data, "mbox:mailto:a@b.c");
	cJSON_Delete(a);
	a = parse_q("{'mbox':'mailto:a-much-longer-address@example.com'}");
	ck_assert_int_eq(xapi_actor_identity(a, &b), LV_ERR_TOO_LARGE);
	ck_assert_uint_eq(b.len, 0);
	cJSON_Delete(a);
	buf_free(&b);
}
END_TEST

/* ---- keys ---- */

struct keylist {
	char items[64][160];
	size_t n;
	size_t stop_after; /* 0 = never */
};

static enum lv_status collect(void *ctx, enum lv_xapi_key_kind kind, const char *value)
{
	static const char *const names[] = {"agent", "agent+", "activity", "activity+"};
	struct keylist *k = ctx;
	ck_assert_uint_lt(k->n, 64);
	snprintf(k->items[k->n++], sizeof k->items[0], "%s %s", names[kind], value);
	if (k->stop_after && k->n == k->stop_after)
		return LV_ERR_BUSY;
	return LV_OK;
}

static bool has_key(const struct keylist *k, const char *item)
{
	for (size_t i = 0; i < k->n; i++)
		if (strcmp(k->items[i], item) == 0)
			return true;
	return false;
}

START_TEST(statement_keys)
{
	cJSON *st = build(ST, "{'object':{'objectType':'SubStatement','id':'DELETE',"
			      "'actor':{'objectType':'Group','member':[{'mbox':'mailto:m1@example.com'}]},"
			      "'verb':{'id':'http://example.com/v'},"
			      "'object':{'objectType':'Agent','mbox':'mailto:subobj@example.com'},"
			      "'context':{'instructor':{'mbox':'mailto:subteacher@example.com'},"
			      "'contextActivities':{'category':{'id':'http://example.com/subcat'}}}},"
			      "'context':{'instructor':{'mbox':'mailto:teacher@example.com'},"
			      "'team':{'objectType':'Group','mbox':'mailto:team@example.com',"
			      "'member':[{'mbox':'mailto:teammate@example.com'}]},"
			      "'statement':{'objectType':'StatementRef','id':'6690e6c9-3ef0-4ed3-8b37-7f3964730bee'},"
			      "'contextActivities':{'parent':{'id':'http://example.com/p'},"
			      "'grouping':[{'id':'http://example.com/g1'},{'id':'http://example.com/g2'}]}},"
			      "'authority':{'mbox':'mailto:auth@example.com'}}");
	struct keylist k = {.n = 0};
	ck_assert_int_eq(lv_xapi_statement_keys(st, collect, &k), LV_OK);
	ck_assert(has_key(&k, "agent mbox:mailto:ann@example.com"));
	ck_assert(has_key(&k, "agent+ anon-group:mbox:mailto:m1@example.com"));
	ck_assert(has_key(&k, "agent+ mbox:mailto:m1@example.com"));
	ck_assert(has_key(&k, "agent+ mbox:mailto:subobj@example.com"));
	ck_assert(has_key(&k, "agent+ mbox:mailto:subteacher@example.com"));
	ck_assert(has_key(&k, "activity+ http://example.com/subcat"));
	ck_assert(has_key(&k, "agent+ mbox:mailto:teacher@example.com"));
	ck_assert(has_key(&k, "agent+ group/mbox:mailto:team@example.com"));
	ck_assert(has_key(&k, "agent+ mbox:mailto:teammate@example.com"));
	ck_assert(has_key(&k, "activity+ http://example.com/p"));
	ck_assert(has_key(&k, "activity+ http://example.com/g1"));
	ck_assert(has_key(&k, "activity+ http://example.com/g2"));
	ck_assert(has_key(&k, "agent+ mbox:mailto:auth@example.com"));
	ck_assert_uint_eq(k.n, 13);
	/* The object was a SubStatement: no plain "activity" key at all, and
	 * StatementRefs never produce keys. */
	for (size_t i = 0; i < k.n; i++) {
		ck_assert(strncmp(k.items[i], "activity ", 9) != 0);
		ck_assert(strstr(k.items[i], "6690e6c9") == NULL);
	}
	cJSON_Delete(st);

	/* Plain statement: actor and Activity object are direct keys. */
	st = build(ST, "{'object':{'definition':{'name':{'en':'x'}}}}");
	k.n = 0;
	ck_assert_int_eq(lv_xapi_statement_keys(st, collect, &k), LV_OK);
	ck_assert_uint_eq(k.n, 2);
	ck_assert(has_key(&k, "activity http://www.example.com/meetings/34534"));
	/* The callback's status stops the walk. */
	k.n = 0;
	k.stop_after = 1;
	ck_assert_int_eq(lv_xapi_statement_keys(st, collect, &k), LV_ERR_BUSY);
	ck_assert_uint_eq(k.n, 1);
	cJSON_Delete(st);

	/* Members of the actor Group match the plain agent filter
	 * (Communication 2.1.3, "agent"); related_agents also matches those. */
	st = build(ST, "{'actor':{'objectType':'Group','mbox':'DELETE','name':'DELETE',"
		       "'member':[{'mbox':'mailto:x@example.com'},{'mbox':'mailto:y@example.com'}]}}");
	k.n = 0;
	k.stop_after = 0;
	ck_assert_int_eq(lv_xapi_statement_keys(st, collect, &k), LV_OK);
	ck_assert(has_key(&k, "agent anon-group:mbox:mailto:x@example.com,mbox:mailto:y@example.com"));
	ck_assert(has_key(&k, "agent mbox:mailto:x@example.com"));
	ck_assert(has_key(&k, "agent mbox:mailto:y@example.com"));
	ck_assert(has_key(&k, "activity http://www.example.com/meetings/34534"));
	ck_assert_uint_eq(k.n, 4);
	cJSON_Delete(st);

	/* An Agent object is a direct agent key. */
	st = build(ST, "{'object':{'objectType':'Agent','mbox':'mailto:obj@example.com','id':'DELETE'}}");
	k.n = 0;
	k.stop_after = 0;
	ck_assert_int_eq(lv_xapi_statement_keys(st, collect, &k), LV_OK);
	ck_assert(has_key(&k, "agent mbox:mailto:obj@example.com"));
	cJSON_Delete(st);
}
END_TEST

/* ---- formats ---- */

#define FMT_ST                                                                      \
	"{'id':'6690e6c9-3ef0-4ed3-8b37-7f3964730bee'," \
	"'actor':{'objectType':'Agent','name':'Ann','mbox':'mailto:ann@example.com'}," \
	"'verb':{'id':'http://example.com/v','display':{'en-US':'did','en-GB':'did (GB)','de':'tat'}}," \
	"'object':{'objectType':'SubStatement'," \
	"'actor':{'objectType':'Group','name':'G','mbox':'mailto:g@example.com','member':[{'mbox':'mailto:m@example.com'}]}," \
	"'verb':{'id':'http://example.com/v2','display':{'en-US':'sub','fr':'sous'}}," \
	"'object':{'objectType':'Activity','id':'http://example.com/a'," \
	"'definition':{'name':{'en-US':'A','en-GB':'A (GB)'},'description':{'de':'B','en-GB':'B (GB)'}," \
	"'type':'http://example.com/t','interactionType':'choice'," \
	"'choices':[{'id':'c1','description':{'en-US':'one','de':'eins'}}]}}}," \
	"'context':{'team':{'objectType':'Group','name':'T','member':[{'name':'M','mbox':'mailto:tm@example.com'}]}," \
	"'contextActivities':{'category':[{'id':'http://example.com/c','definition':{'name':{'en-US':'C','en-GB':'C (GB)'}}}]}}," \
	"'result':{'success':true},'stored':'2013-05-18T05:32:34.804Z'}"

static cJSON *at(cJSON *root, const char *a, const char *b, const char *c, const char *d)
{
	cJSON *x = cJSON_GetObjectItemCaseSensitive(root, a);
	if (b)
		x = cJSON_GetObjectItemCaseSensitive(x, b);
	if (c)
		x = cJSON_GetObjectItemCaseSensitive(x, c);
	if (d)
		x = cJSON_GetObjectItemCaseSensitive(x, d);
	return x;
}

START_TEST(format_exact_and_ids)
{
	cJSON *st = parse_q(FMT_ST);
	cJSON *exact = lv_xapi_format_statement(st, "exact", "de");
	ck_assert_ptr_nonnull(exact);
	ck_assert(exact != st);
	ck_assert(cJSON_Compare(exact, st, true));
	cJSON_Delete(exact);

	cJSON *ids = lv_xapi_format_statement(st, "ids", NULL);
	ck_assert_ptr_nonnull(ids);
	cJSON *actor = at(ids, "actor", NULL, NULL, NULL);
	ck_assert_int_eq(cJSON_GetArraySize(actor), 2);
	ck_assert_ptr_null(cJSON_GetObjectItem(actor, "name"));
	ck_assert_int_eq(cJSON_GetArraySize(at(ids, "verb", NULL, NULL, NULL)), 1);
	cJSON *sub = at(ids, "object", NULL, NULL, NULL);
	ck_assert_str_eq(cJSON_GetObjectItem(sub, "objectType")->valuestring, "SubStatement");
	/* An identified Group needs nothing but objectType and its IFI. */
	ck_assert_int_eq(cJSON_GetArraySize(at(sub, "actor", NULL, NULL, NULL)), 2);
	ck_assert_ptr_null(at(sub, "actor", "member", NULL, NULL));
	ck_assert_int_eq(cJSON_GetArraySize(at(sub, "verb", NULL, NULL, NULL)), 1);
	cJSON *act = at(sub, "object", NULL, NULL, NULL);
	ck_assert_int_eq(cJSON_GetArraySize(act), 1);
	ck_assert_str_eq(cJSON_GetObjectItem(act, "id")->valuestring, "http://example.com/a");
	/* An anonymous Group keeps its members, each reduced to its IFI. */
	cJSON *team = at(ids, "context", "team", NULL, NULL);
	ck_assert_ptr_null(cJSON_GetObjectItem(team, "name"));
	cJSON *tm = cJSON_GetArrayItem(cJSON_GetObjectItem(team, "member"), 0);
	ck_assert_int_eq(cJSON_GetArraySize(tm), 1);
	ck_assert_str_eq(cJSON_GetObjectItem(tm, "mbox")->valuestring, "mailto:tm@example.com");
	cJSON *cat = cJSON_GetArrayItem(at(ids, "context", "contextActivities", "category", NULL), 0);
	ck_assert_int_eq(cJSON_GetArraySize(cat), 1);
	/* Non-identifying parts of the statement stay. */
	ck_assert_ptr_nonnull(at(ids, "result", "success", NULL, NULL));
	ck_assert_ptr_nonnull(at(ids, "stored", NULL, NULL, NULL));
	ck_assert_ptr_nonnull(at(ids, "id", NULL, NULL, NULL));
	cJSON_Delete(ids);

	ck_assert_ptr_null(lv_xapi_format_statement(st, "pretty", NULL));
	ck_assert_ptr_null(lv_xapi_format_statement(st, NULL, NULL));
	/* The input is never modified. */
	cJSON *again = parse_q(FMT_ST);
	ck_assert(cJSON_Compare(again, st, true));
	cJSON_Delete(again);
	cJSON_Delete(st);
}
END_TEST

static const char *only_key(cJSON *map)
{
	ck_assert_int_eq(cJSON_GetArraySize(map), 1);
	return map->child->string;
}

START_TEST(format_canonical)
{
	cJSON *st = parse_q(FMT_ST);
	cJSON *c = lv_xapi_format_statement(st, "canonical", "en-GB");
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(only_key(at(c, "verb", "display", NULL, NULL)), "en-GB");
	ck_assert_str_eq(only_key(at(c, "object", "object", "definition", "name")), "en-GB");
	ck_assert_str_eq(only_key(at(c, "object", "object", "definition", "description")), "en-GB");
	/* Nothing matches "en-GB" here, so English is the fallback. */
	ck_assert_str_eq(only_key(at(c, "object", "verb", "display", NULL)), "en-US");
	cJSON *choice = cJSON_GetArrayItem(at(c, "object", "object", "definition", "choices"), 0);
	ck_assert_str_eq(only_key(cJSON_GetObjectItem(choice, "description")), "en-US");
	cJSON *cat = cJSON_GetArrayItem(at(c, "context", "contextActivities", "category", NULL), 0);
	ck_assert_str_eq(only_key(at(cat, "definition", "name", NULL, NULL)), "en-GB");
	/* Agents and Groups are returned as in "exact". */
	ck_assert(cJSON_Compare(at(c, "actor", NULL, NULL, NULL), at(st, "actor", NULL, NULL, NULL), true));
	ck_assert(cJSON_Compare(at(c, "context", "team", NULL, NULL), at(st, "context", "team", NULL, NULL), true));
	ck_assert_str_eq(at(c, "object", "object", "definition", "type")->valuestring, "http://example.com/t");
	cJSON_Delete(c);

	/* q-values order the preferences; the highest available wins. */
	c = lv_xapi_format_statement(st, "canonical", "fr;q=0.5, de;q=0.9, en;q=0.1");
	ck_assert_str_eq(only_key(at(c, "verb", "display", NULL, NULL)), "de");
	ck_assert_str_eq(only_key(at(c, "object", "verb", "display", NULL)), "fr");
	/* "en" covers "en-US" and "en-GB" when nothing better is listed. */
	ck_assert_str_eq(only_key(at(c, "object", "object", "definition", "name")), "en-US");
	cJSON_Delete(c);

	/* A regional preference falls back to its language. */
	c = lv_xapi_format_statement(st, "canonical", "de-AT");
	ck_assert_str_eq(only_key(at(c, "verb", "display", NULL, NULL)), "de");
	cJSON_Delete(c);

	/* No header, or a junk one: English first. */
	c = lv_xapi_format_statement(st, "canonical", NULL);
	ck_assert_str_eq(only_key(at(c, "verb", "display", NULL, NULL)), "en-US");
	cJSON_Delete(c);
	c = lv_xapi_format_statement(st, "canonical", ";;,q=,de;q=2");
	ck_assert_str_eq(only_key(at(c, "verb", "display", NULL, NULL)), "en-US");
	cJSON_Delete(c);
	cJSON_Delete(st);
}
END_TEST

/* ---- equivalence ---- */

static bool equiv(const char *a_patch, const char *b_patch)
{
	cJSON *a = build(FMT_ST, a_patch), *b = build(FMT_ST, b_patch);
	bool eq = lv_xapi_statements_equivalent(a, b);
	ck_assert(lv_xapi_statements_equivalent(b, a) == eq);
	cJSON_Delete(a);
	cJSON_Delete(b);
	return eq;
}

static bool equiv_durations(const char *a, const char *b)
{
	char pa[96], pb[96];
	snprintf(pa, sizeof pa, "{'result':{'duration':'%s'}}", a);
	snprintf(pb, sizeof pb, "{'result':{'duration':'%s'}}", b);
	return equiv(pa, pb);
}

START_TEST(equivalence)
{
	ck_assert(equiv(NULL, NULL));
	/* LRS-assigned properties are ignored. */
	ck_assert(equiv(NULL, "{'id':'DELETE','stored':'2020-01-01T00:00:00Z','timestamp':'2020-01-01T00:00:00Z',"
			      "'version':'1.0.3','authority':{'mbox':'mailto:lrs@example.com'}}"));
	/* Verb display and Activity definitions are not part of a statement. */
	ck_assert(equiv(NULL, "{'verb':{'display':{'en-US':'other words'}}}"));
	ck_assert(equiv(NULL, "{'object':{'object':{'definition':{'name':{'en-US':'renamed'}}}}}"));
	ck_assert(equiv(NULL, "{'context':{'contextActivities':{'category':[{'id':'http://example.com/c'}]}}}"));
	/* A lone context Activity equals a list of one. */
	ck_assert(equiv(NULL, "{'context':{'contextActivities':{'category':{'id':'http://example.com/c'}}}}"));
	/* Case-insensitive parts. */
	ck_assert(equiv(NULL, "{'actor':{'mbox':'mailto:ann@EXAMPLE.com'}}"));
	ck_assert(!equiv(NULL, "{'actor':{'mbox':'mailto:Ann@example.com'}}"));
	ck_assert(equiv(NULL, "{'verb':{'id':'HTTP://Example.COM/v'}}"));
	ck_assert(!equiv(NULL, "{'verb':{'id':'http://example.com/V'}}"));
	ck_assert(equiv("{'context':{'registration':'ec531277-b57b-4c15-8d91-d292c5b2b8f7'}}",
			"{'context':{'registration':'EC531277-B57B-4C15-8D91-D292C5B2B8F7'}}"));
	/* Defaulted objectTypes. */
	ck_assert(equiv(NULL, "{'actor':{'objectType':'DELETE'}}"));
	ck_assert(equiv(NULL, "{'object':{'object':{'objectType':'DELETE'}}}"));
	/* Group members are unordered. */
	ck_assert(equiv("{'context':{'team':{'member':[{'mbox':'mailto:a@example.com'},{'mbox':'mailto:b@example.com'}]}}}",
			"{'context':{'team':{'member':[{'mbox':'mailto:b@example.com'},{'mbox':'mailto:a@example.com'}]}}}"));
	ck_assert(!equiv("{'context':{'team':{'member':[{'mbox':'mailto:a@example.com'},{'mbox':'mailto:a@example.com'}]}}}",
			 "{'context':{'team':{'member':[{'mbox':'mailto:a@example.com'},{'mbox':'mailto:b@example.com'}]}}}"));
	/* A SubStatement timestamp may change zone, not instant. */
	ck_assert(equiv("{'object':{'timestamp':'2013-05-18T05:32:34.804Z'}}",
			"{'object':{'timestamp':'2013-05-18T07:32:34.804+02:00'}}"));
	ck_assert(!equiv("{'object':{'timestamp':'2013-05-18T05:32:34Z'}}",
			 "{'object':{'timestamp':'2013-05-18T05:32:35Z'}}"));
	/* Real differences count. */
	ck_assert(!equiv(NULL, "{'verb':{'id':'http://example.com/other'}}"));
	ck_assert(!equiv(NULL, "{'result':{'success':false}}"));
	ck_assert(!equiv(NULL, "{'result':{'duration':'PT1H'}}"));
	ck_assert(!equiv("{'result':{'duration':'PT60M'}}", "{'result':{'duration':'PT1H'}}"));
	ck_assert(!equiv(NULL, "{'actor':{'name':'Anne'}}"));
	ck_assert(!equiv(NULL, "{'object':{'actor':{'member':'DELETE'}}}"));
	ck_assert(!equiv(NULL, "{'context':{'language':'en'}}"));
	ck_assert(!lv_xapi_statements_equivalent(NULL, NULL));
}
END_TEST

/* ---- whole requests ---- */

/* @text with single quotes turned into double quotes (caller frees). */
static char *dq(const char *text)
{
	char *s = strdup(text);
	ck_assert_ptr_nonnull(s);
	for (char *p = s; *p; p++)
		if (*p == '\'')
			*p = '"';
	return s;
}

static void sha256_hex(const void *d, size_t n, char hex[65])
{
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, d, n);
	sodium_bin2hex(hex, 65, h, sizeof h);
}

/* Runs the request on @json (single quotes allowed) with optional parts
 * and statementId; checks what every call promises about its
 * out-parameters, then returns the status. */
static enum lv_status request(const char *json, const struct lv_xapi_part *parts, size_t nparts,
			      const char *sid, struct lv_xapi_batch *b, struct lv_xapi_error *e)
{
	char *text = dq(json);
	const struct lv_xapi_request req = {.json = text, .json_len = strlen(text), .parts = parts,
					    .nparts = nparts, .statement_id = sid};
	memset(b, 0xa5, sizeof *b); /* garbage in: the call must clear it */
	memset(e, 0xa5, sizeof *e);
	enum lv_status st = lv_xapi_request_validate(&req, b, e);
	if (st == LV_OK) {
		ck_assert_ptr_null(e->code);
		ck_assert_str_eq(e->message, "");
		ck_assert(cJSON_IsArray(b->statements));
	} else {
		ck_assert_ptr_nonnull(e->code);
		ck_assert_str_ne(e->message, "");
		ck_assert_ptr_null(b->statements);
		ck_assert_ptr_null(b->attachments);
		ck_assert_uint_eq(b->nattachments, 0);
	}
	free(text);
	return st;
}

START_TEST(request_json_and_statements)
{
	struct lv_xapi_batch b;
	struct lv_xapi_error e;
	ck_assert_int_eq(request("{'actor':", NULL, 0, NULL, &b, &e), LV_ERR_INVALID);
	ck_assert_str_eq(e.code, "invalid_json");
	/* Exactly one value: a second one after it is not JSON either. */
	ck_assert_int_eq(request("{}{}", NULL, 0, NULL, &b, &e), LV_ERR_INVALID);
	ck_assert_str_eq(e.code, "invalid_json");
	ck_assert_int_eq(request("42", NULL, 0, NULL, &b, &e), LV_ERR_INVALID);
	ck_assert_str_eq(e.code, "invalid");

	/* One statement becomes a batch of one, unchanged. */
	ck_assert_int_eq(request(ST, NULL, 0, NULL, &b, &e), LV_OK);
	ck_assert_int_eq(cJSON_GetArraySize(b.statements), 1);
	cJSON *want = parse_q(ST);
	ck_assert(cJSON_Compare(cJSON_GetArrayItem(b.statements, 0), want, 1));
	ck_assert_ptr_null(b.attachments);
	ck_assert_uint_eq(b.nattachments, 0);
	lv_xapi_batch_clear(&b);
	ck_assert_ptr_null(b.statements);
	lv_xapi_batch_clear(&b); /* twice is harmless */
	lv_xapi_batch_clear(NULL);

	ck_assert_int_eq(request("[" ST "," ST "]", NULL, 0, NULL, &b, &e), LV_OK);
	ck_assert_int_eq(cJSON_GetArraySize(b.statements), 2);
	lv_xapi_batch_clear(&b);

	/* The failing statement is named by its index in the batch. */
	ck_assert_int_eq(request("[" ST ",{'actor':{'mbox':'mailto:a@example.com'}}]", NULL, 0, NULL, &b, &e),
			 LV_ERR_INVALID);
	ck_assert_str_eq(e.code, "invalid_statement");
	ck_assert_msg(strncmp(e.message, "statement 1: ", 13) == 0, "%s", e.message);
	cJSON_Delete(want);
}
END_TEST

START_TEST(request_put_statement_id)
{
	struct lv_xapi_batch b;
	struct lv_xapi_error e;
	const char *sid = "6690e6c9-3ef0-4ed3-8b37-7f3964730bee";
	ck_assert_int_eq(request("[" ST "]", NULL, 0, sid, &b, &e), LV_ERR_INVALID);
	ck_assert_str_eq(e.code, "invalid");
	ck_assert_ptr_nonnull(strstr(e.message, "not an array"));

	/* Without an id the statement takes the statementId. */
	ck_assert_int_eq(request(ST, NULL, 0, sid, &b, &e), LV_OK);
	const cJSON *st = cJSON_GetArrayItem(b.statements, 0);
	ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(st, "id")->valuestring, sid);
	lv_xapi_batch_clear(&b);

	/* Its own id may differ in case only, and is kept as sent. */
	char *json = malloc(strlen(ST) + 64);
	ck_assert_ptr_nonnull(json);
	sprintf(json, "{'id':'6690E6C9-3EF0-4ED3-8B37-7F3964730BEE',%s", ST + 1);
	ck_assert_int_eq(request(json, NULL, 0, sid, &b, &e), LV_OK);
	st = cJSON_GetArrayItem(b.statements, 0);
	ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(st, "id")->valuestring,
			 "6690E6C9-3EF0-4ED3-8B37-7F3964730BEE");
	lv_xapi_batch_clear(&b);

	sprintf(json, "{'id':'00000000-3ef0-4ed3-8b37-7f3964730bee',%s", ST + 1);
	ck_assert_int_eq(request(json, NULL, 0, sid, &b, &e), LV_ERR_INVALID);
	ck_assert_str_eq(e.code, "invalid");
	ck_assert_ptr_nonnull(strstr(e.message, "differs from statementId"));
	/* Without statementId (POST) any id goes. */
	ck_assert_int_eq(request(json, NULL, 0, NULL, &b, &e), LV_OK);
	lv_xapi_batch_clear(&b);

	/* The statement rules come before the id rule. */
	sprintf(json, "{'id':'00000000-3ef0-4ed3-8b37-7f3964730bee','verb':'x'}");
	ck_assert_int_eq(request(json, NULL, 0, sid, &b, &e), LV_ERR_INVALID);
	ck_assert_str_eq(e.code, "invalid_statement");
	free(json);
}
END_TEST

/* ST with one text attachment whose sha2 is @hash, with @file_url or not. */
static char *with_attachment(const char *hash, const char *file_url)
{
	char *s = malloc(strlen(ST) + 512);
	ck_assert_ptr_nonnull(s);
	sprintf(s, "{'attachments':[{'usageType':'http://example.com/usage','display':{'en-US':'a'},"
		   "'contentType':'text/plain','length':5,'sha2':'%s'%s%s%s}],%s",
		hash, file_url ? ",'fileUrl':'" : "", file_url ? file_url : "", file_url ? "'" : "", ST + 1);
	return s;
}

START_TEST(request_attachments)
{
	struct lv_xapi_batch b;
	struct lv_xapi_error e;
	static const char body[] = "hello";
	char hash[65];
	sha256_hex(body, 5, hash);
	char *json = with_attachment(hash, NULL);
	char *first = dq(json);
	struct lv_xapi_part parts[2] = {
		{.content_type = "application/json", .body = (const unsigned char *)first, .len = strlen(first)},
		{.content_type = "text/plain", .transfer_encoding = "binary", .sha2 = hash,
		 .body = (const unsigned char *)body, .len = 5},
	};

	/* As application/json the bytes are missing. */
	ck_assert_int_eq(request(json, NULL, 0, NULL, &b, &e), LV_ERR_INVALID);
	ck_assert_str_eq(e.code, "invalid_attachment");
	ck_assert_ptr_nonnull(strstr(e.message, "neither fileUrl nor a part"));

	/* As multipart the part supplies them; the batch borrows its bytes. */
	ck_assert_int_eq(request(json, parts, 2, NULL, &b, &e), LV_OK);
	ck_assert_uint_eq(b.nattachments, 1);
	ck_assert_ptr_eq(b.attachments[0].data, parts[1].body);
	ck_assert_ptr_eq(b.attachments[0].sha2, hash);
	ck_assert_str_eq(b.attachments[0].content_type, "text/plain");
	ck_assert_uint_eq(b.attachments[0].len, 5);
	lv_xapi_batch_clear(&b);

	/* A part whose bytes do not match its hash. */
	parts[1].len = 4;
	ck_assert_int_eq(request(json, parts, 2, NULL, &b, &e), LV_ERR_INVALID);
	ck_assert_str_eq(e.code, "invalid_attachment");
	ck_assert_ptr_nonnull(strstr(e.message, "does not match"));
	parts[1].len = 5;

	/* The statement part must be application/json exactly (parameters
	 * allowed). */
	parts[0].content_type = "application/json; charset=utf-8";
	ck_assert_int_eq(request(json, parts, 2, NULL, &b, &e), LV_OK);
	lv_xapi_batch_clear(&b);
	parts[0].content_type = "application/jsonx";
	ck_assert_int_eq(request(json, parts, 2, NULL, &b, &e), LV_ERR_INVALID);
	ck_assert_str_eq(e.code, "invalid_attachment");
	parts[0].content_type = "application/json";

	/* A part not sent as binary is refused; with an invalid statement as
	 * well, the statement error comes first. */
	parts[1].transfer_encoding = "base64";
	ck_assert_int_eq(request(json, parts, 2, NULL, &b, &e), LV_ERR_INVALID);
	ck_assert_str_eq(e.code, "invalid_attachment");
	ck_assert_int_eq(request("{'verb':'x'}", parts, 2, NULL, &b, &e), LV_ERR_INVALID);
	ck_assert_str_eq(e.code, "invalid_statement");

	/* With fileUrl no part is needed. */
	free(json);
	json = with_attachment(hash, "http://example.com/hello.txt");
	ck_assert_int_eq(request(json, NULL, 0, NULL, &b, &e), LV_OK);
	ck_assert_uint_eq(b.nattachments, 0);
	lv_xapi_batch_clear(&b);
	free(json);
	free(first);
}
END_TEST

START_TEST(actor_identity_text)
{
	char *id = (char *)"garbage";
	cJSON *a = parse_q("{'mbox':'mailto:a@b.c'}");
	ck_assert_int_eq(lv_xapi_actor_identity(a, 64, &id), LV_OK);
	ck_assert_str_eq(id, "mbox:mailto:a@b.c");
	free(id);
	/* The cap counts bytes of the identity: 17 fit in 17, not in 16. */
	ck_assert_int_eq(lv_xapi_actor_identity(a, 17, &id), LV_OK);
	free(id);
	id = (char *)"garbage";
	ck_assert_int_eq(lv_xapi_actor_identity(a, 16, &id), LV_ERR_TOO_LARGE);
	ck_assert_ptr_null(id);
	cJSON_Delete(a);
	a = parse_q("{'name':'nobody'}");
	id = (char *)"garbage";
	ck_assert_int_eq(lv_xapi_actor_identity(a, 64, &id), LV_ERR_INVALID);
	ck_assert_ptr_null(id);
	cJSON_Delete(a);
}
END_TEST

/* ---- xAPI 2.0.0 beside 1.0.3 ---- */

static enum lv_status check_as(enum lv_xapi_version v, const char *base, const char *patch)
{
	cJSON *st = build(base, patch);
	enum lv_status s = lv_xapi_validate_statement_as(st, v, last_err);
	cJSON_Delete(st);
	return s;
}

#define VALID20(patch) \
	ck_assert_msg(check_as(LV_XAPI_V2_0_0, ST, patch) == LV_OK, "2.0: expected valid: %s (%s)", patch, last_err)
#define INVALID20(patch)                                                                        \
	do {                                                                                    \
		ck_assert_msg(check_as(LV_XAPI_V2_0_0, ST, patch) == LV_ERR_INVALID,            \
			      "2.0: expected invalid: %s", patch);                               \
		ck_assert_msg(last_err[0] != '\0', "no reason given for %s", patch);            \
	} while (0)

START_TEST(version_header)
{
	static const char *const v1[] = {"1.0", "1.0.0", "1.0.3", "1.0.9", "1.0.12"};
	static const char *const v2[] = {"2.0", "2.0.0", "2.0.1", "2.0.10"};
	static const char *const bad[] = {"", "1", "1.0.", "1.0.x", "1.1.0", "0.95", "2", "2.0.",
					  "2.1.0", "2.0.0-rc1", " 2.0.0", "2.0.0 ", "3.0.0",
					  "1.0.99999999999999999"};
	enum lv_xapi_version v;
	for (size_t i = 0; i < sizeof v1 / sizeof v1[0]; i++) {
		v = LV_XAPI_V2_0_0;
		ck_assert_msg(lv_xapi_version_parse(v1[i], &v) == LV_OK, "%s", v1[i]);
		ck_assert_int_eq(v, LV_XAPI_V1_0_3);
	}
	for (size_t i = 0; i < sizeof v2 / sizeof v2[0]; i++) {
		ck_assert_msg(lv_xapi_version_parse(v2[i], &v) == LV_OK, "%s", v2[i]);
		ck_assert_int_eq(v, LV_XAPI_V2_0_0);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		v = LV_XAPI_V2_0_0;
		ck_assert_msg(lv_xapi_version_parse(bad[i], &v) == LV_ERR_INVALID, "should reject '%s'", bad[i]);
		ck_assert_int_eq(v, LV_XAPI_V1_0_3);
	}
	ck_assert_int_eq(lv_xapi_version_parse(NULL, &v), LV_ERR_INVALID);
	ck_assert_str_eq(lv_xapi_version_name(LV_XAPI_V1_0_3), "1.0.3");
	ck_assert_str_eq(lv_xapi_version_name(LV_XAPI_V2_0_0), "2.0.0");
}
END_TEST

#define CTX_AGENTS                                                                           \
	"{'context':{'contextAgents':[{'objectType':'contextAgent'," \
	"'agent':{'objectType':'Agent','mbox':'mailto:player-1@example.com'}," \
	"'relevantTypes':['https://example.com/types/player','https://example.com/types/qb']}]}}"
#define CTX_GROUPS                                                                           \
	"{'context':{'contextGroups':[{'objectType':'contextGroup'," \
	"'group':{'objectType':'Group','name':'team','mbox':'mailto:team-1@example.com'," \
	"'member':[{'mbox':'mailto:player-1@example.com'}]}," \
	"'relevantTypes':['https://example.com/types/team']}]}}"

/* A SubStatement object whose context has contextAgents [@entry]. */
#define SUB_WITH_CTX(entry)                                                                  \
	"{'object':{'objectType':'SubStatement','id':'DELETE','actor':{'mbox':'mailto:s@example.com'}," \
	"'verb':{'id':'http://example.com/v'},'object':{'id':'http://example.com/a'}," \
	"'context':{'contextAgents':[" entry "]}}}"

START_TEST(context_agents_and_groups)
{
	/* 2.0.0 members of context; 1.0.3 does not know them. */
	VALID20(CTX_AGENTS);
	VALID20(CTX_GROUPS);
	VALID20("{'context':{'contextAgents':[],'contextGroups':[]}}");
	VALID20("{'context':{'contextAgents':[{'objectType':'contextAgent','agent':{'mbox':'mailto:a@example.com'}}]}}");
	VALID20("{'context':{'contextGroups':[{'objectType':'contextGroup',"
		"'group':{'objectType':'Group','member':[{'mbox':'mailto:a@example.com'}]}}]}}");
	VALID20(SUB_WITH_CTX("{'objectType':'contextAgent','agent':{'mbox':'mailto:a@example.com'}}"));
	INVALID(ST, CTX_AGENTS);
	INVALID(ST, CTX_GROUPS);
	ck_assert_ptr_nonnull(strstr(last_err, "contextGroups"));
	ck_assert_int_eq(check_as(LV_XAPI_V1_0_3, ST, CTX_AGENTS), LV_ERR_INVALID);

	INVALID20("{'context':{'contextAgents':{'objectType':'contextAgent','agent':{'mbox':'mailto:a@example.com'}}}}");
	INVALID20("{'context':{'contextAgents':[{'objectType':'Should fail','agent':{'mbox':'mailto:a@example.com'}}]}}");
	INVALID20("{'context':{'contextAgents':[{'agent':{'mbox':'mailto:a@example.com'}}]}}");
	INVALID20("{'context':{'contextAgents':[{'objectType':'contextGroup','agent':{'mbox':'mailto:a@example.com'}}]}}");
	INVALID20("{'context':{'contextAgents':[{'objectType':'contextAgent'}]}}");
	INVALID20("{'context':{'contextAgents':[{'objectType':'contextAgent','agent':{'key':'Should fail'}}]}}");
	INVALID20("{'context':{'contextAgents':[{'objectType':'contextAgent',"
		  "'agent':{'objectType':'Group','mbox':'mailto:g@example.com'}}]}}");
	INVALID20("{'context':{'contextAgents':[{'objectType':'contextAgent','agent':{'mbox':'mailto:a@example.com'},"
		  "'relevantTypes':[]}]}}");
	INVALID20("{'context':{'contextAgents':[{'objectType':'contextAgent','agent':{'mbox':'mailto:a@example.com'},"
		  "'relevantTypes':['abc']}]}}");
	INVALID20("{'context':{'contextAgents':[{'objectType':'contextAgent','agent':{'mbox':'mailto:a@example.com'},"
		  "'relevantTypes':'https://example.com/t'}]}}");
	INVALID20("{'context':{'contextAgents':[{'objectType':'contextAgent','agent':{'mbox':'mailto:a@example.com'},"
		  "'extra':1}]}}");
	INVALID20("{'context':{'contextGroups':[{'objectType':'Should fail','group':{'objectType':'Group',"
		  "'mbox':'mailto:team-1@example.com'},'member':[{'mbox':'mailto:player-1@example.com'}]}]}}");
	INVALID20("{'context':{'contextGroups':[{'objectType':'contextGroup','group':{'key':'Should fail'}}]}}");
	/* A group without objectType "Group" is an Agent. */
	INVALID20("{'context':{'contextGroups':[{'objectType':'contextGroup','group':{'mbox':'mailto:g@example.com'}}]}}");
	INVALID20("{'context':{'contextGroups':[{'objectType':'contextGroup','group':{'objectType':'Group',"
		  "'mbox':'mailto:g@example.com'},'relevantTypes':[]}]}}");
	INVALID20("{'context':{'contextGroups':[{'objectType':'contextGroup','group':{'objectType':'Group',"
		  "'mbox':'mailto:g@example.com'},'relevantTypes':['abc']}]}}");
	INVALID20(SUB_WITH_CTX("{'objectType':'x','agent':{'mbox':'mailto:a@example.com'}}"));
	ck_assert_ptr_nonnull(strstr(last_err, "object.context.contextAgents"));
}
END_TEST

START_TEST(statement_version_property)
{
	VALID(ST, "{'version':'1.0.3'}");
	INVALID(ST, "{'version':'2.0.0'}");
	VALID20("{'version':'2.0.0'}");
	VALID20("{'version':'2.0'}");
	VALID20("{'version':'2.0.7'}");
	VALID20("{'version':'1.0.9'}");
	VALID20("{'version':'1.0'}");
	INVALID20("{'version':'2.1.0'}");
	INVALID20("{'version':'1.1.0'}");
	INVALID20("{'version':'0.9.9'}");
	INVALID20("{'version':'2.0.'}");
	INVALID20("{'version':'should fail'}");
	INVALID20("{'version':2}");
	/* Everything 1.0.3 refuses, 2.0.0 refuses too. */
	INVALID20("{'actor':{'mbox':'DELETE'}}");
	INVALID20("{'context':{'team':{'mbox':'mailto:a@example.com'}}}");
}
END_TEST

START_TEST(duration_precision)
{
	char out[64];
	xapi_duration_norm("P1DT12H36M0.1237S", out, sizeof out);
	ck_assert_str_eq(out, "P1DT12H36M0.12S");
	xapi_duration_norm("PT0.12S", out, sizeof out);
	ck_assert_str_eq(out, "PT0.12S");
	xapi_duration_norm("PT1.00S", out, sizeof out);
	ck_assert_str_eq(out, "PT1S");
	xapi_duration_norm("PT1.109S", out, sizeof out);
	ck_assert_str_eq(out, "PT1.1S");
	xapi_duration_norm("PT1,999S", out, sizeof out);
	ck_assert_str_eq(out, "PT1,99S");
	xapi_duration_norm("P1Y", out, sizeof out);
	ck_assert_str_eq(out, "P1Y");
	xapi_duration_norm("PT5S", out, sizeof out);
	ck_assert_str_eq(out, "PT5S");
	xapi_duration_norm("P0.5Y", out, sizeof out);
	ck_assert_str_eq(out, "P0.5Y");
	xapi_duration_norm("not a duration.12345S", out, sizeof out);
	ck_assert_str_eq(out, "not a duration.12345S");
	xapi_duration_norm("PT1.23456S", out, 4);
	ck_assert_str_eq(out, "PT1");

	/* Re-sent statements: beyond 0.01 s does not count, 0.01 s does. */
	ck_assert(equiv_durations("PT1.2345S", "PT1.23S"));
	ck_assert(equiv_durations("PT1.2S", "PT1.20S"));
	ck_assert(!equiv_durations("PT1.23S", "PT1.24S"));
	ck_assert(!equiv_durations("PT1S", "PT1.01S"));
}
END_TEST

/* A JWS whose payload is @payload, with a header without x5c (checked
 * for structure, alg and payload only) and a placeholder signature. */
static char *unkeyed_jws(const char *payload)
{
	static const char header[] = "{\"alg\":\"RS256\"}";
	const int v = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
	size_t hl = sodium_base64_ENCODED_LEN(sizeof header - 1, v);
	size_t pl = sodium_base64_ENCODED_LEN(strlen(payload), v);
	char *out = malloc(hl + pl + 8);
	ck_assert_ptr_nonnull(out);
	sodium_bin2base64(out, hl, (const unsigned char *)header, sizeof header - 1, v);
	strcat(out, ".");
	sodium_bin2base64(out + strlen(out), pl, (const unsigned char *)payload, strlen(payload), v);
	strcat(out, ".c2ln");
	return out;
}

START_TEST(signed_duration_precision)
{
	/* The ADL 2.0 suite signs PT...0.12S and sends the statement with
	 * 0.1237S: equal at 0.01 s, so the payload matches. */
	cJSON *signed_st = build(ST, "{'result':{'duration':'P1DT12H36M0.12S'}}");
	char *payload = cJSON_PrintUnformatted(signed_st);
	char *jws = unkeyed_jws(payload);
	char err[LV_XAPI_ERR_LEN];
	cJSON *sent = build(ST, "{'result':{'duration':'P1DT12H36M0.1237S'}}");
	ck_assert_msg(xapi_jws_verify(jws, strlen(jws), sent, err) == LV_OK, "%s", err);
	cJSON_Delete(sent);
	sent = build(ST, "{'result':{'duration':'P1DT12H36M0.13S'}}");
	ck_assert_int_eq(xapi_jws_verify(jws, strlen(jws), sent, err), LV_ERR_INVALID);
	cJSON_Delete(sent);
	/* The rest of the result still counts. */
	sent = build(ST, "{'result':{'duration':'P1DT12H36M0.1237S','success':true}}");
	ck_assert_int_eq(xapi_jws_verify(jws, strlen(jws), sent, err), LV_ERR_INVALID);
	cJSON_Delete(sent);
	free(jws);
	free(payload);
	cJSON_Delete(signed_st);
}
END_TEST

START_TEST(request_version_2_0)
{
	struct lv_xapi_batch b;
	struct lv_xapi_error e;
	char *text = dq("[" ST "," ST "]");
	char *v103 = dq("{'actor':{'mbox':'mailto:a@example.com'},'verb':{'id':'http://example.com/v'},"
			"'object':{'id':'http://example.com/a'},'version':'1.0.3'}");
	char *ctx = dq("{'actor':{'mbox':'mailto:a@example.com'},'verb':{'id':'http://example.com/v'},"
		       "'object':{'id':'http://example.com/a'},"
		       "'context':{'contextAgents':[{'objectType':'contextAgent','agent':{'mbox':'mailto:b@example.com'}}]}}");
	struct lv_xapi_request req = {.json = text, .json_len = strlen(text), .version = LV_XAPI_V2_0_0};

	/* 2.0.0: a statement without version is a 2.0.0 statement. */
	ck_assert_int_eq(lv_xapi_request_validate(&req, &b, &e), LV_OK);
	for (int i = 0; i < 2; i++)
		ck_assert_str_eq(util_json_str(cJSON_GetArrayItem(b.statements, i), "version", NULL), "2.0.0");
	lv_xapi_batch_clear(&b);
	/* ... and one that says its version keeps it. */
	req.json = v103;
	req.json_len = strlen(v103);
	ck_assert_int_eq(lv_xapi_request_validate(&req, &b, &e), LV_OK);
	ck_assert_str_eq(util_json_str(cJSON_GetArrayItem(b.statements, 0), "version", NULL), "1.0.3");
	lv_xapi_batch_clear(&b);
	/* 1.0.3 leaves the version to the store. */
	req.json = text;
	req.json_len = strlen(text);
	req.version = LV_XAPI_V1_0_3;
	ck_assert_int_eq(lv_xapi_request_validate(&req, &b, &e), LV_OK);
	ck_assert_ptr_null(cJSON_GetObjectItem(cJSON_GetArrayItem(b.statements, 0), "version"));
	lv_xapi_batch_clear(&b);
	/* contextAgents: 2.0.0 only. */
	req.json = ctx;
	req.json_len = strlen(ctx);
	ck_assert_int_eq(lv_xapi_request_validate(&req, &b, &e), LV_ERR_INVALID);
	ck_assert_str_eq(e.code, "invalid_statement");
	req.version = LV_XAPI_V2_0_0;
	ck_assert_int_eq(lv_xapi_request_validate(&req, &b, &e), LV_OK);
	lv_xapi_batch_clear(&b);
	free(ctx);
	free(v103);
	free(text);
}
END_TEST

START_TEST(context_actors_keys_and_ids)
{
	cJSON *st = build(ST, "{'context':{'contextAgents':[{'objectType':'contextAgent',"
			      "'agent':{'name':'Bo','mbox':'mailto:bo@example.com'}}],"
			      "'contextGroups':[{'objectType':'contextGroup','group':{'objectType':'Group',"
			      "'name':'Team','mbox':'mailto:team@example.com','member':[{'mbox':'mailto:m@example.com'}]},"
			      "'relevantTypes':['https://example.com/t']}]}}");
	struct keylist k = {.n = 0};
	ck_assert_int_eq(lv_xapi_statement_keys(st, collect, &k), LV_OK);
	ck_assert(has_key(&k, "agent+ mbox:mailto:bo@example.com"));
	ck_assert(has_key(&k, "agent+ group/mbox:mailto:team@example.com"));
	ck_assert(has_key(&k, "agent+ mbox:mailto:m@example.com"));
	ck_assert(!has_key(&k, "agent mbox:mailto:bo@example.com"));

	cJSON *ids = lv_xapi_format_statement(st, "ids", NULL);
	ck_assert_ptr_nonnull(ids);
	cJSON *ca = cJSON_GetArrayItem(at(ids, "context", "contextAgents", NULL, NULL), 0);
	ck_assert_ptr_null(at(ca, "agent", "name", NULL, NULL));
	ck_assert_str_eq(at(ca, "agent", "mbox", NULL, NULL)->valuestring, "mailto:bo@example.com");
	ck_assert_str_eq(at(ca, "objectType", NULL, NULL, NULL)->valuestring, "contextAgent");
	cJSON *cg = cJSON_GetArrayItem(at(ids, "context", "contextGroups", NULL, NULL), 0);
	ck_assert_ptr_null(at(cg, "group", "name", NULL, NULL));
	ck_assert_ptr_null(at(cg, "group", "member", NULL, NULL));
	ck_assert_ptr_nonnull(at(cg, "relevantTypes", NULL, NULL, NULL));
	cJSON_Delete(ids);

	/* Equivalence sees the actors as it does elsewhere. */
	cJSON *other = cJSON_Duplicate(st, true);
	cJSON *mbox = at(cJSON_GetArrayItem(at(other, "context", "contextAgents", NULL, NULL), 0), "agent", "mbox",
			 NULL, NULL);
	cJSON_SetValuestring(mbox, "mailto:bo@EXAMPLE.com");
	ck_assert(lv_xapi_statements_equivalent(st, other));
	cJSON_SetValuestring(mbox, "mailto:someone@example.com");
	ck_assert(!lv_xapi_statements_equivalent(st, other));
	cJSON_Delete(other);
	cJSON_Delete(st);
}
END_TEST

/* The conformance suite's fixtures, as a whole: every one must pass. */
START_TEST(conformance_fixtures_valid)
{
	static const char *const st[] = {
		/* statements.unicode */
		"{'actor':{'objectType':'Agent','name':'xAPI mbox','mbox':'mailto:xapi@adlnet.gov'},"
		"'verb':{'id':'http://adlnet.gov/expapi/verbs/attended','display':{'en-GB':'attended',"
		"'ja-JP':'出席した','ko-KR':'참석','hy-AM':'ներկա է գտնվել'}},"
		"'object':{'objectType':'Activity','id':'http://www.example.com/unicode','definition':"
		"{'name':{'en':'Other','kn-IN':'ಹಾಜರಿದ್ದರು'},'type':'http://adlnet.gov/expapi/activities/cmi.interaction',"
		"'interactionType':'other','correctResponsesPattern':['(35.937432,-86.868896)']}}}",
		/* groups.identified_mbox as actor */
		"{'actor':{'objectType':'Group','name':'Group Identified','mbox':'mailto:xapi@adlnet.gov',"
		"'member':[{'objectType':'Agent','name':'xAPI mbox','mbox':'mailto:xapi@adlnet.gov'}]},"
		"'verb':{'id':'http://adlnet.gov/expapi/verbs/attended'},"
		"'object':{'objectType':'Activity','id':'http://www.example.com/meetings/occurances/34534'}}",
	};
	for (size_t i = 0; i < sizeof st / sizeof st[0]; i++)
		VALID(st[i], NULL);
}
END_TEST

Suite *lv_test_suite(void)
{
	Suite *s = suite_create("xapi");
	TCase *tc = tcase_create("syntax");
	tcase_add_test(tc, iri_rules);
	tcase_add_test(tc, language_tags);
	tcase_add_test(tc, durations);
	tcase_add_test(tc, misc_formats);
	suite_add_tcase(s, tc);

	tc = tcase_create("valid");
	tcase_add_test(tc, valid_basic);
	tcase_add_test(tc, valid_actors_and_objects);
	tcase_add_test(tc, valid_activities);
	tcase_add_test(tc, valid_result_context_attachments);
	tcase_add_test(tc, conformance_fixtures_valid);
	suite_add_tcase(s, tc);

	tc = tcase_create("invalid");
	tcase_add_test(tc, invalid_top_level);
	tcase_add_test(tc, invalid_actors);
	tcase_add_test(tc, invalid_verbs_and_objects);
	tcase_add_test(tc, invalid_activities);
	tcase_add_test(tc, invalid_results);
	tcase_add_test(tc, invalid_contexts);
	tcase_add_test(tc, invalid_attachments);
	tcase_add_test(tc, error_messages_are_short);
	suite_add_tcase(s, tc);

	tc = tcase_create("identity");
	tcase_add_test(tc, identities);
	tcase_add_test(tc, actor_identity_text);
	tcase_add_test(tc, statement_keys);
	suite_add_tcase(s, tc);

	tc = tcase_create("format");
	tcase_add_test(tc, format_exact_and_ids);
	tcase_add_test(tc, format_canonical);
	suite_add_tcase(s, tc);

	tc = tcase_create("equivalence");
	tcase_add_test(tc, equivalence);
	suite_add_tcase(s, tc);

	tc = tcase_create("version 2.0");
	tcase_add_test(tc, version_header);
	tcase_add_test(tc, context_agents_and_groups);
	tcase_add_test(tc, statement_version_property);
	tcase_add_test(tc, duration_precision);
	tcase_add_test(tc, signed_duration_precision);
	tcase_add_test(tc, request_version_2_0);
	tcase_add_test(tc, context_actors_keys_and_ids);
	suite_add_tcase(s, tc);

	tc = tcase_create("request");
	tcase_add_test(tc, request_json_and_statements);
	tcase_add_test(tc, request_put_statement_id);
	tcase_add_test(tc, request_attachments);
	suite_add_tcase(s, tc);
	return s;
}
