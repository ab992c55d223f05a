/* Personalisation on the learner's own data: the curriculum file, reading
 * statements as responses, the model state kept in the vault and updated on
 * ingest (checked bit for bit against the model functions), FSRS due
 * reviews, prerequisite gating, voiding and configuration changes, the
 * three learner-door routes over real HTTP for every role, the access log,
 * erasure, and the CLI. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "learnvault/door.h"
#include "harness.h"
#include "http-client.h"
#include "learnvault/auditlog.h"
#include "learnvault/consent.h"
#include "learnvault/fsrs.h"
#include "learnvault/node.h"
#include "learnvault/personal.h"
#include "learnvault/recommend.h"
#include "learnvault/server.h"
#include "learnvault/statements.h"
#include "personal/recommend_int.h"
#include "store/store.h"
#include "learnvault/util.h"

#define DAY 86400000LL
#define ACT(x) "https://courses.example.org/t/" x

/* ---- helpers ---- */

/* A statement by mailto:@who@example.com on @act: @success -1 (absent),
 * 0 or 1; @scaled NAN for none; @skills a JSON array text for the skills
 * extension, or NULL. */
static char *stmt_json(const char *id, const char *who, const char *act, int success, double scaled, int64_t t,
		       const char *skills)
{
	char ts[UTIL_TIME_LEN], res[160] = "", def[512] = "", idf[64] = "";
	util_time_format(t, ts);
	if (success >= 0 || !isnan(scaled)) {
		char sc[64] = "";
		if (!isnan(scaled))
			snprintf(sc, sizeof sc, "%s\"score\":{\"scaled\":%.4f}", success >= 0 ? "," : "", scaled);
		snprintf(res, sizeof res, ",\"result\":{%s%s}", success < 0 ? "" : success ? "\"success\":true" :
			 "\"success\":false", sc);
	}
	if (skills)
		snprintf(def, sizeof def, ",\"definition\":{\"extensions\":{\"" LV_SKILLS_EXTENSION "\":%s}}", skills);
	if (id)
		snprintf(idf, sizeof idf, "\"id\":\"%s\",", id);
	char *out = malloc(2048);
	snprintf(out, 2048,
		 "{%s\"actor\":{\"objectType\":\"Agent\",\"mbox\":\"mailto:%s@example.com\"},"
		 "\"verb\":{\"id\":\"http://adlnet.gov/expapi/verbs/answered\"},"
		 "\"object\":{\"objectType\":\"Activity\",\"id\":\"%s\"%s}%s,\"timestamp\":\"%s\"}",
		 idf, who, act, def, res, ts);
	return out;
}

/* Stores @text (one statement or an array) through lv_statements_store. */
static void store_text(struct lv_node *n, const char *text)
{
	cJSON *doc = cJSON_Parse(text);
	ck_assert_ptr_nonnull(doc);
	cJSON *batch = doc;
	if (!cJSON_IsArray(doc)) {
		batch = cJSON_CreateArray();
		cJSON_AddItemToArray(batch, doc);
	}
	struct lv_principal prov = {.role = LV_ROLE_PROVIDER, .id = "test-lms"};
	char err[LV_ERR_TEXT];
	enum lv_status st = lv_ingest(n, &prov, batch, NULL, 0, err);
	ck_assert_msg(st == LV_OK, "store: %s", err);
	cJSON_Delete(batch);
}

static void store_one(struct lv_node *n, const char *who, const char *act, int success, double scaled, int64_t t,
		      const char *skills)
{
	char *s = stmt_json(NULL, who, act, success, scaled, t, skills);
	store_text(n, s);
	free(s);
}

static void enrol(struct lv_node *n, const char *who, char p[LV_PSEUDONYM_LEN])
{
	char actor[128];
	bool created;
	snprintf(actor, sizeof actor, "{\"mbox\":\"mailto:%s@example.com\"}", who);
	ck_assert_int_eq(lv_learner_enrol(n, actor, p, &created), LV_OK);
}

static struct lv_principal self_of(const char *learner)
{
	struct lv_principal p = {.role = LV_ROLE_LEARNER, .id = "self-test"};
	snprintf(p.learner, sizeof p.learner, "%s", learner);
	return p;
}

static void load_curriculum(struct lv_node *n, const char *text)
{
	char err[LV_PERSONAL_ERR_LEN];
	enum lv_status st = lv_personal_curriculum_load(n, text, strlen(text), err);
	ck_assert_msg(st == LV_OK, "curriculum: %s", err);
}

static void load_params(struct lv_node *n, const char *text)
{
	char err[LV_PERSONAL_ERR_LEN];
	enum lv_status st = lv_personal_params_load(n, text, strlen(text), err);
	ck_assert_msg(st == LV_OK, "params: %s", err);
}

static cJSON *mastery(struct lv_node *n, const char *learner, int64_t now)
{
	struct lv_principal me = self_of(learner);
	cJSON *o = NULL;
	ck_assert_int_eq(lv_learner_mastery(n, &me, learner, LV_PURPOSE_SELF, now, &o), LV_OK);
	return o;
}

/* The "skills" entry of @id in a mastery answer (NULL if absent). */
static const cJSON *skill_entry(const cJSON *m, const char *id)
{
	const cJSON *s;
	cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(m, "skills"))
		if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "skill")), id) == 0)
			return s;
	return NULL;
}

static double num(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	ck_assert_msg(cJSON_IsNumber(v), "no number %s", k);
	return v->valuedouble;
}

static const char *str(const cJSON *o, const char *k)
{
	const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
	ck_assert_msg(s != NULL, "no string %s", k);
	return s;
}

static bool same_double(double a, double b)
{
	return memcmp(&a, &b, sizeof a) == 0;
}

/* A node in a fresh directory. */
static struct lv_node *new_node(char *base, size_t n)
{
	char dir[700], *vkey = NULL;
	struct lv_node *node = NULL;
	snprintf(base, n, "%s", th_tmpdir());
	snprintf(dir, sizeof dir, "%s/node", base);
	ck_assert_int_eq(lv_node_init(dir, NULL, NULL, &vkey), LV_OK);
	free(vkey);
	ck_assert_int_eq(lv_node_open(dir, NULL, NULL, &node), LV_OK);
	return node;
}

/* One value of the learner's vault, through the store internals. */
static int64_t vault_int(struct lv_node *n, const char *learner, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	pthread_mutex_lock(&n->lock);
	ck_assert_int_eq(vault_get(n, learner, false, &db), LV_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	int rc = sqlite3_step(s);
	int64_t v = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
	sqlite3_finalize(s);
	pthread_mutex_unlock(&n->lock);
	return v;
}

static void vault_exec(struct lv_node *n, const char *learner, const char *sql)
{
	sqlite3 *db = NULL;
	pthread_mutex_lock(&n->lock);
	ck_assert_int_eq(vault_get(n, learner, false, &db), LV_OK);
	ck_assert_int_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	pthread_mutex_unlock(&n->lock);
}

static const char *CURRICULUM_AB =
	"{\"format\":\"learnvault-curriculum\",\"version\":1,"
	"\"skills\":{\"A\":{\"name\":\"Skill A\"},\"B\":{\"name\":\"Skill B\",\"prerequisites\":[\"A\"]}},"
	"\"activities\":{\"" ACT("a1") "\":[\"A\"],\"" ACT("a2") "\":[\"A\"],\"" ACT("b1") "\":[\"B\"],"
	"\"" ACT("ab") "\":[\"A\",\"B\"]}}";

/* ---- the curriculum file ---- */

START_TEST(curriculum_example_parses)
{
	char *text = NULL, err[LV_PERSONAL_ERR_LEN];
	size_t len = 0;
	struct lv_curriculum *c = NULL;
	ck_assert_int_eq(util_read_file(th_src("examples/curriculum.json"), LV_CURRICULUM_MAX_BYTES, &text, &len),
			 LV_OK);
	ck_assert_int_eq(lv_curriculum_parse(text, len, &c, err), LV_OK);
	ck_assert_uint_eq(lv_curriculum_skills(c), 5);
	ck_assert_uint_eq(lv_curriculum_activities(c), 9);
	lv_curriculum_destroy(c);
	free(text);
}
END_TEST

START_TEST(curriculum_rejects)
{
	static const struct {
		const char *text;
		enum lv_status st;
		const char *err;
	} cases[] = {
		{"[]", LV_ERR_INVALID, "must be a JSON object"},
		{"{\"format\":\"x\",\"version\":1,\"skills\":{}}", LV_ERR_INVALID, "format"},
		{"{\"format\":\"learnvault-curriculum\",\"version\":2,\"skills\":{}}", LV_ERR_INVALID, "version"},
		{"{\"format\":\"learnvault-curriculum\",\"version\":1}", LV_ERR_INVALID, "skills must be"},
		{"{\"format\":\"learnvault-curriculum\",\"version\":1,\"skills\":{},\"extra\":1}", LV_ERR_INVALID,
		 "unknown key extra"},
		{"{\"format\":\"learnvault-curriculum\",\"version\":1,\"version\":1,\"skills\":{}}", LV_ERR_INVALID,
		 "duplicate"},
		{"{\"format\":\"learnvault-curriculum\",\"version\":1,\"skills\":{\"A\":{},\"A\":{}}}", LV_ERR_INVALID,
		 "defined twice"},
		{"{\"format\":\"learnvault-curriculum\",\"version\":1,\"skills\":{\"A\":{\"prerequisites\":[\"Z\"]}}}",
		 LV_ERR_INVALID, "not a defined skill"},
		{"{\"format\":\"learnvault-curriculum\",\"version\":1,\"skills\":{\"A\":{\"prerequisites\":[\"B\"]},"
		 "\"B\":{\"prerequisites\":[\"C\"]},\"C\":{\"prerequisites\":[\"A\"]}}}", LV_ERR_INVALID, "cycle"},
		{"{\"format\":\"learnvault-curriculum\",\"version\":1,\"skills\":{\"A\":{\"prerequisites\":[\"A\"]}}}",
		 LV_ERR_INVALID, "cycle"},
		{"{\"format\":\"learnvault-curriculum\",\"version\":1,\"skills\":{\"A\":{\"colour\":1}}}", LV_ERR_INVALID,
		 "unknown key colour"},
		{"{\"format\":\"learnvault-curriculum\",\"version\":1,\"skills\":{\"a,b\":{}}}", LV_ERR_INVALID,
		 "skill id"},
		{"{\"format\":\"learnvault-curriculum\",\"version\":1,\"skills\":{\"A\":{}},"
		 "\"activities\":{\"" ACT("x") "\":[\"B\"]}}", LV_ERR_INVALID, "not a defined skill"},
		{"{\"format\":\"learnvault-curriculum\",\"version\":1,\"skills\":{\"A\":{}},"
		 "\"activities\":{\"not an iri\":[\"A\"]}}", LV_ERR_INVALID, "IRI"},
		{"{\"format\":\"learnvault-curriculum\",\"version\":1,\"skills\":{\"A\":{}},"
		 "\"activities\":{\"" ACT("x") "\":[]}}", LV_ERR_INVALID, "1..16"},
		{"{\"format\":\"learnvault-curriculum\",\"version\":1,\"skills\":{\"A\":{}},"
		 "\"activities\":{\"" ACT("x") "\":[\"A\"],\"" ACT("x") "\":[\"A\"]}}", LV_ERR_INVALID, "listed twice"},
		{"{\"format\":\"learnvault-curriculum\",\"version\":1,\"skills\":{},\"correct_threshold\":0}",
		 LV_ERR_INVALID, "correct_threshold"},
		{"{\"format\":\"learnvault-curriculum\",\"version\":1,\"skills\":{},\"target_retention\":1}",
		 LV_ERR_INVALID, "target_retention"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct lv_curriculum *c = (struct lv_curriculum *)1;
		char err[LV_PERSONAL_ERR_LEN];
		enum lv_status st = lv_curriculum_parse(cases[i].text, strlen(cases[i].text), &c, err);
		ck_assert_msg(st == cases[i].st, "case %zu: status %d (%s)", i, st, err);
		ck_assert_ptr_null(c);
		ck_assert_msg(strstr(err, cases[i].err) != NULL, "case %zu: error '%s' lacks '%s'", i, err,
			      cases[i].err);
	}
	/* Caps: 17 skills on one activity; a text over the byte cap. */
	struct buf b;
	buf_init(&b, 1 << 20);
	ck_assert_int_eq(buf_append_str(&b, "{\"format\":\"learnvault-curriculum\",\"version\":1,\"skills\":{"), LV_OK);
	for (int i = 0; i < 17; i++)
		ck_assert_int_eq(buf_printf(&b, "%s\"S%d\":{}", i ? "," : "", i), LV_OK);
	ck_assert_int_eq(buf_append_str(&b, "},\"activities\":{\"" ACT("x") "\":["), LV_OK);
	for (int i = 0; i < 17; i++)
		ck_assert_int_eq(buf_printf(&b, "%s\"S%d\"", i ? "," : "", i), LV_OK);
	ck_assert_int_eq(buf_append_str(&b, "]}}"), LV_OK);
	struct lv_curriculum *c = NULL;
	char err[LV_PERSONAL_ERR_LEN];
	ck_assert_int_eq(lv_curriculum_parse(b.data, b.len, &c, err), LV_ERR_TOO_LARGE);
	buf_free(&b);
	ck_assert_int_eq(lv_curriculum_parse("{}", LV_CURRICULUM_MAX_BYTES + 1, &c, err), LV_ERR_TOO_LARGE);
	ck_assert_ptr_null(c);
}
END_TEST

/* ---- statements as responses ---- */

static cJSON *parse_stmt(int success, double scaled, const char *act, const char *skills)
{
	char *s = stmt_json(NULL, "x", act, success, scaled, 1700000000000LL, skills);
	cJSON *j = cJSON_Parse(s);
	free(s);
	ck_assert_ptr_nonnull(j);
	return j;
}

START_TEST(response_skills)
{
	struct lv_curriculum *c = NULL;
	char err[LV_PERSONAL_ERR_LEN];
	struct lv_response r;
	ck_assert_int_eq(lv_curriculum_parse(CURRICULUM_AB, strlen(CURRICULUM_AB), &c, err), LV_OK);

	/* From the extension when the curriculum does not list the activity. */
	cJSON *j = parse_stmt(1, NAN, ACT("other"), "[\"fractions\",\"ratios\"]");
	ck_assert_int_eq(lv_statement_response(c, j, &r), LV_OK);
	ck_assert_str_eq(r.activity, ACT("other"));
	ck_assert_uint_eq(r.nskills, 2);
	ck_assert_str_eq(r.skills[0], "fractions");
	ck_assert_str_eq(r.skills[1], "ratios");
	ck_assert(!r.skills_from_curriculum);
	ck_assert_int_eq(r.time_ms, 1700000000000LL);
	cJSON_Delete(j);

	/* The curriculum wins when it lists the activity. */
	j = parse_stmt(1, NAN, ACT("ab"), "[\"fractions\"]");
	ck_assert_int_eq(lv_statement_response(c, j, &r), LV_OK);
	ck_assert_uint_eq(r.nskills, 2);
	ck_assert_str_eq(r.skills[0], "A");
	ck_assert_str_eq(r.skills[1], "B");
	ck_assert(r.skills_from_curriculum);
	cJSON_Delete(j);

	/* Without a curriculum the extension is used. */
	j = parse_stmt(1, NAN, ACT("ab"), "[\"fractions\"]");
	ck_assert_int_eq(lv_statement_response(NULL, j, &r), LV_OK);
	ck_assert_uint_eq(r.nskills, 1);
	ck_assert_str_eq(r.skills[0], "fractions");
	cJSON_Delete(j);

	/* A malformed list is ignored whole; the statement is still a response. */
	static const char *const bad[] = {"\"fractions\"", "[]", "[\"a\",\"a\"]", "[\"a\",3]", "[\"a,b\"]",
					  "[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\",\"10\",\"11\",\"12\","
					  "\"13\",\"14\",\"15\",\"16\",\"17\"]"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		j = parse_stmt(0, NAN, ACT("other"), bad[i]);
		ck_assert_int_eq(lv_statement_response(c, j, &r), LV_OK);
		ck_assert_msg(r.nskills == 0, "extension %s gave %zu skills", bad[i], r.nskills);
		cJSON_Delete(j);
	}
	lv_curriculum_destroy(c);
}
END_TEST

START_TEST(response_correctness_and_grade)
{
	static const struct {
		int success;
		double scaled;
		bool correct;
		int grade;
	} cases[] = {
		{0, NAN, false, 1},  {1, NAN, true, 3},    {1, 0.5, true, 2},   {1, 0.7, true, 3},
		{1, 0.94, true, 3},  {1, 0.95, true, 4},   {-1, 0.65, true, 2}, {-1, 0.59, false, 1},
		{-1, 1.0, true, 4},  {0, 1.0, false, 1},   {-1, 0.6, true, 2},  {1, 0.1, true, 2},
	};
	struct lv_response r;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		cJSON *j = parse_stmt(cases[i].success, cases[i].scaled, ACT("a1"), NULL);
		ck_assert_int_eq(lv_statement_response(NULL, j, &r), LV_OK);
		ck_assert_msg(r.correct == cases[i].correct && r.grade == cases[i].grade,
			      "case %zu: correct %d grade %d", i, r.correct, r.grade);
		cJSON_Delete(j);
	}
	/* The curriculum's threshold replaces 0.6. */
	const char *cur = "{\"format\":\"learnvault-curriculum\",\"version\":1,\"skills\":{},\"correct_threshold\":0.8}";
	struct lv_curriculum *c = NULL;
	char err[LV_PERSONAL_ERR_LEN];
	ck_assert_int_eq(lv_curriculum_parse(cur, strlen(cur), &c, err), LV_OK);
	cJSON *j = parse_stmt(-1, 0.7, ACT("a1"), NULL);
	ck_assert_int_eq(lv_statement_response(c, j, &r), LV_OK);
	ck_assert(!r.correct);
	ck_assert_int_eq(lv_statement_response(NULL, j, &r), LV_OK);
	ck_assert(r.correct);
	cJSON_Delete(j);
	lv_curriculum_destroy(c);

	/* Not responses: no result, a result without success or score, a
	 * voiding statement, an Agent as object. */
	j = parse_stmt(-1, NAN, ACT("a1"), NULL);
	ck_assert_int_eq(lv_statement_response(NULL, j, &r), LV_ERR_NOT_FOUND);
	ck_assert_ptr_null(r.activity);
	cJSON_AddItemToObject(j, "result", cJSON_Parse("{\"completion\":true}"));
	ck_assert_int_eq(lv_statement_response(NULL, j, &r), LV_ERR_NOT_FOUND);
	cJSON_Delete(j);
	j = cJSON_Parse("{\"actor\":{\"mbox\":\"mailto:x@example.com\"},\"verb\":{\"id\":"
			"\"http://adlnet.gov/expapi/verbs/voided\"},\"object\":{\"objectType\":\"StatementRef\","
			"\"id\":\"f1f1f1f1-f1f1-4f1f-8f1f-f1f1f1f1f1f1\"},\"result\":{\"success\":true},"
			"\"timestamp\":\"2024-01-01T00:00:00Z\"}");
	ck_assert_int_eq(lv_statement_response(NULL, j, &r), LV_ERR_NOT_FOUND);
	cJSON_Delete(j);
	j = cJSON_Parse("{\"actor\":{\"mbox\":\"mailto:x@example.com\"},\"verb\":{\"id\":\"http://e.org/v\"},"
			"\"object\":{\"objectType\":\"Agent\",\"mbox\":\"mailto:y@example.com\"},"
			"\"result\":{\"success\":true},\"timestamp\":\"2024-01-01T00:00:00Z\"}");
	ck_assert_int_eq(lv_statement_response(NULL, j, &r), LV_ERR_NOT_FOUND);
	cJSON_Delete(j);
}
END_TEST

/* ---- the state, updated on ingest ---- */

static const char *PARAMS_A =
	"{\"format\":\"learnvault-bkt-params\",\"version\":1,"
	"\"defaults\":{\"prior\":0.2,\"learn\":0.1,\"guess\":0.2,\"slip\":0.1},"
	"\"skills\":{\"A\":{\"prior\":0.3,\"learn\":0.2,\"guess\":0.25,\"slip\":0.08}}}";

START_TEST(state_bkt_incremental_bit_exact)
{
	char base[512], p[LV_PSEUDONYM_LEN];
	struct lv_node *n = new_node(base, sizeof base);
	load_curriculum(n, CURRICULUM_AB);
	load_params(n, PARAMS_A);
	int64_t t0 = util_now_ms() - 10 * DAY;
	const struct lv_bkt_params pa = {.prior = 0.3, .learn = 0.2, .guess = 0.25, .slip = 0.08, .forget = 0};
	const struct lv_bkt_params pb = {.prior = 0.2, .learn = 0.1, .guess = 0.2, .slip = 0.1, .forget = 0};
	double ka = pa.prior, kb = pb.prior;
	int na = 0, ca = 0, nb = 0, cb = 0;
	bool hist[PERSONAL_FOLD_EVERY + 8];
#define ANSWER(correct, is_ab)                                  \
	do {                                                    \
		ka = lv_bkt_step(&pa, ka, (correct), NULL);     \
		hist[na] = (correct);                           \
		na++;                                           \
		ca += (correct);                                \
		if (is_ab) {                                    \
			kb = lv_bkt_step(&pb, kb, (correct), NULL); \
			nb++;                                   \
			cb += (correct);                        \
		}                                               \
	} while (0)
	/* Four statements one per call, then a batch of five (one vault
	 * transaction), on activities of A and of A+B: fewer than a step, so
	 * nothing is stored yet and reads apply them in memory. */
	static const int seq1[] = {1, 0, 1, 1};
	for (int i = 0; i < 4; i++) {
		store_one(n, "alice", i % 2 ? ACT("ab") : ACT("a1"), seq1[i], NAN, t0 + i * 3600000LL, NULL);
		ANSWER(seq1[i], i % 2);
	}
	enrol(n, "alice", p);
	static const int seq2[] = {0, 1, 1, 0, 1};
	struct buf b;
	buf_init(&b, 1 << 16);
	ck_assert_int_eq(buf_append_str(&b, "["), LV_OK);
	for (int i = 0; i < 5; i++) {
		char *s = stmt_json(NULL, "alice", i == 2 ? ACT("ab") : ACT("a2"), seq2[i], NAN, t0 + DAY + i, NULL);
		ck_assert_int_eq(buf_printf(&b, "%s%s", i ? "," : "", s), LV_OK);
		free(s);
		ANSWER(seq2[i], i == 2);
	}
	ck_assert_int_eq(buf_append_str(&b, "]"), LV_OK);
	store_text(n, b.data);
	buf_free(&b);
	ck_assert_int_eq(vault_int(n, p, "SELECT count(*) FROM personal_learner"), 0);

	cJSON *m = mastery(n, p, util_now_ms());
	const cJSON *a = skill_entry(m, "A"), *bb = skill_entry(m, "B");
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(bb);
	ck_assert_msg(same_double(num(a, "mastery"), ka), "A: %.17g vs %.17g", num(a, "mastery"), ka);
	ck_assert_msg(same_double(num(bb, "mastery"), kb), "B: %.17g vs %.17g", num(bb, "mastery"), kb);
	ck_assert(same_double(num(a, "p_correct"), lv_bkt_p_correct(&pa, ka)));
	ck_assert_int_eq((int)num(a, "responses"), na);
	ck_assert_int_eq((int)num(a, "correct"), ca);
	ck_assert_int_eq((int)num(bb, "correct"), cb);
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(bb, "prerequisites_mastered")) == (ka >= LV_BKT_MASTERY));
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(a, "mastered")) == (ka >= LV_BKT_MASTERY));
	cJSON_Delete(m);

	/* The statement that completes a step stores the state, in its own
	 * ingest: the vault rows hold exactly the filter's values. */
	int i = 9;
	for (; i < PERSONAL_FOLD_EVERY; i++) {
		store_one(n, "alice", i % 3 ? ACT("a1") : ACT("ab"), i % 4 != 0, NAN, t0 + 2 * DAY + i, NULL);
		ANSWER(i % 4 != 0, i % 3 == 0);
		ck_assert_int_eq(vault_int(n, p, "SELECT count(*) FROM personal_learner"),
				 i + 1 == PERSONAL_FOLD_EVERY ? 1 : 0);
	}
	ck_assert_int_eq(vault_int(n, p, "SELECT answers FROM personal_learner"), PERSONAL_FOLD_EVERY);
	ck_assert_int_eq(vault_int(n, p, "SELECT responses FROM personal_skills WHERE skill = 'A'"), na);
	ck_assert_int_eq(vault_int(n, p, "SELECT correct FROM personal_skills WHERE skill = 'B'"), cb);
	{
		sqlite3 *db = NULL;
		sqlite3_stmt *q = NULL;
		pthread_mutex_lock(&n->lock);
		ck_assert_int_eq(vault_get(n, p, false, &db), LV_OK);
		ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT known FROM personal_skills WHERE skill = 'A'", -1, &q,
						    NULL), SQLITE_OK);
		ck_assert_int_eq(sqlite3_step(q), SQLITE_ROW);
		ck_assert(same_double(sqlite3_column_double(q, 0), ka));
		sqlite3_finalize(q);
		pthread_mutex_unlock(&n->lock);
	}
	/* Three more: stored state + those three in memory. */
	for (int k = 0; k < 3; k++, i++) {
		store_one(n, "alice", ACT("a2"), k != 1, NAN, t0 + 3 * DAY + k, NULL);
		ANSWER(k != 1, 0);
	}
	ck_assert_int_eq(vault_int(n, p, "SELECT answers FROM personal_learner"), PERSONAL_FOLD_EVERY);
	m = mastery(n, p, util_now_ms());
	ck_assert(same_double(num(skill_entry(m, "A"), "mastery"), ka));
	ck_assert(same_double(num(skill_entry(m, "B"), "mastery"), kb));
	ck_assert_int_eq((int)num(skill_entry(m, "A"), "responses"), na);
	cJSON_Delete(m);

	/* Reads use the stored state: with the first statement's body broken
	 * behind the store's back, the answer does not change until a
	 * rebuild recomputes everything from the statements. */
	vault_exec(n, p, "UPDATE statements SET body = '{\"broken\":true}' WHERE seq = (SELECT min(seq) FROM statements)");
	cJSON *m2 = mastery(n, p, util_now_ms());
	ck_assert(same_double(num(skill_entry(m2, "A"), "mastery"), ka));
	ck_assert_int_eq(lv_personal_rebuild(n, p), LV_OK);
	cJSON *m3 = mastery(n, p, util_now_ms());
	ck_assert_int_eq((int)num(skill_entry(m3, "A"), "responses"), na - 1);
	double kz = pa.prior;
	for (int k = 1; k < na; k++)
		kz = lv_bkt_step(&pa, kz, hist[k], NULL);
	ck_assert(same_double(num(skill_entry(m3, "A"), "mastery"), kz));
	cJSON_Delete(m2);
	cJSON_Delete(m3);
#undef ANSWER
	lv_node_close(n);
	th_rmtree(base);
}
END_TEST

/* Statements that are not responses never complete a step at ingest; a
 * read that finds a long tail after the stored state stores it. */
START_TEST(state_fold_on_read)
{
	char base[512], p[LV_PSEUDONYM_LEN];
	struct lv_node *n = new_node(base, sizeof base);
	int64_t t0 = util_now_ms() - DAY;
	for (int i = 0; i < PERSONAL_FOLD_EVERY + 8; i++)
		store_one(n, "gina", ACT("video"), -1, NAN, t0 + i, NULL);
	store_one(n, "gina", ACT("q"), 1, NAN, t0 + 100, NULL);
	enrol(n, "gina", p);
	ck_assert_int_eq(vault_int(n, p, "SELECT count(*) FROM personal_learner"), 0);
	cJSON *m = mastery(n, p, util_now_ms());
	ck_assert(num(cJSON_GetObjectItemCaseSensitive(m, "ability"), "answers") == 1);
	cJSON_Delete(m);
	ck_assert_int_eq(vault_int(n, p, "SELECT answers FROM personal_learner"), 1);
	ck_assert_int_eq(vault_int(n, p, "SELECT last_seq FROM personal_learner"),
			 vault_int(n, p, "SELECT max(seq) FROM statements"));
	/* A short tail stays in memory; a long one is stored by the read. */
	store_one(n, "gina", ACT("q"), 0, NAN, t0 + 101, NULL);
	int64_t before = vault_int(n, p, "SELECT last_seq FROM personal_learner");
	m = mastery(n, p, util_now_ms());
	ck_assert(num(cJSON_GetObjectItemCaseSensitive(m, "ability"), "answers") == 2);
	cJSON_Delete(m);
	ck_assert_int_eq(vault_int(n, p, "SELECT last_seq FROM personal_learner"), before);
	for (int i = 0; i < PERSONAL_FOLD_EVERY; i++)
		store_one(n, "gina", ACT("video"), -1, NAN, t0 + 200 + i, NULL);
	m = mastery(n, p, util_now_ms());
	ck_assert(num(cJSON_GetObjectItemCaseSensitive(m, "ability"), "answers") == 2);
	cJSON_Delete(m);
	ck_assert_int_eq(vault_int(n, p, "SELECT answers FROM personal_learner"), 2);
	ck_assert_int_eq(vault_int(n, p, "SELECT last_seq FROM personal_learner"),
			 vault_int(n, p, "SELECT max(seq) FROM statements"));
	lv_node_close(n);
	th_rmtree(base);
}
END_TEST

/* The rebuild and the incremental path give the same state, Elo included. */
START_TEST(state_rebuild_equals_incremental)
{
	char base[512], p[LV_PSEUDONYM_LEN];
	struct lv_node *n = new_node(base, sizeof base);
	load_curriculum(n, CURRICULUM_AB);
	int64_t t0 = util_now_ms() - 40 * DAY;
	const char *acts[] = {ACT("a1"), ACT("a2"), ACT("ab"), ACT("b1"), ACT("ext")};
	/* Two steps stored on ingest plus a tail read in memory. */
	for (int i = 0; i < 2 * PERSONAL_FOLD_EVERY + 11; i++)
		store_one(n, "bob", acts[i % 5], (i * 7) % 3 != 0, (i % 4) ? 0.5 + 0.05 * (i % 10) : NAN,
			  t0 + (int64_t)i * DAY / 2 + (i % 3) * 3600000, i % 5 == 4 && i < 10 ? "[\"E\"]" : NULL);
	enrol(n, "bob", p);
	int64_t now = util_now_ms();
	struct lv_principal me = self_of(p);
	cJSON *m1 = NULL, *r1 = NULL, *m2 = NULL, *r2 = NULL;
	ck_assert_int_eq(lv_learner_mastery(n, &me, p, LV_PURPOSE_SELF, now, &m1), LV_OK);
	ck_assert_int_eq(lv_learner_reviews(n, &me, p, LV_PURPOSE_SELF, 0, now, &r1), LV_OK);
	ck_assert_int_eq(lv_personal_rebuild(n, p), LV_OK);
	ck_assert_int_eq(lv_learner_mastery(n, &me, p, LV_PURPOSE_SELF, now, &m2), LV_OK);
	ck_assert_int_eq(lv_learner_reviews(n, &me, p, LV_PURPOSE_SELF, 0, now, &r2), LV_OK);
	char *s1 = cJSON_PrintUnformatted(m1), *s2 = cJSON_PrintUnformatted(m2);
	char *s3 = cJSON_PrintUnformatted(r1), *s4 = cJSON_PrintUnformatted(r2);
	ck_assert_str_eq(s1, s2);
	ck_assert_str_eq(s3, s4);
	/* The extension's skill E counts every answer on "ext", also the
	 * later ones whose statements carry no definition. */
	const cJSON *e = skill_entry(m1, "E");
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq((int)num(e, "responses"), (2 * PERSONAL_FOLD_EVERY + 11) / 5);
	ck_assert_str_eq(str(e, "name"), "E");
	ck_assert(num(cJSON_GetObjectItemCaseSensitive(m1, "ability"), "answers") == 2 * PERSONAL_FOLD_EVERY + 11);
	free(s1);
	free(s2);
	free(s3);
	free(s4);
	cJSON_Delete(m1);
	cJSON_Delete(m2);
	cJSON_Delete(r1);
	cJSON_Delete(r2);
	lv_node_close(n);
	th_rmtree(base);
}
END_TEST

static const cJSON *find_activity(const cJSON *arr, const char *act)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, arr)
		if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "activity")), act) == 0)
			return it;
	return NULL;
}

START_TEST(state_fsrs_due_reviews)
{
	char base[512], p[LV_PSEUDONYM_LEN];
	struct lv_node *n = new_node(base, sizeof base);
	int64_t now = util_now_ms();
	int64_t t0 = now - 60 * DAY;
	/* c1: Good, Again 3 days later, Good 2 days after that. */
	store_one(n, "carol", ACT("c1"), 1, 0.8, t0, NULL);
	store_one(n, "carol", ACT("c1"), 0, NAN, t0 + 3 * DAY + 3600000, NULL);
	store_one(n, "carol", ACT("c1"), 1, NAN, t0 + 5 * DAY, NULL);
	/* c2: Again once, ten days in. c3: Easy an hour ago (not due). */
	store_one(n, "carol", ACT("c2"), 0, NAN, t0 + 10 * DAY, NULL);
	store_one(n, "carol", ACT("c3"), 1, 1.0, now - 3600000, NULL);
	enrol(n, "carol", p);

	struct lv_fsrs_params w;
	struct lv_fsrs_state s1, s3, s2;
	lv_fsrs_params_default(&w);
	ck_assert_int_eq(lv_fsrs_init(&w, 3, &s1), LV_OK);
	ck_assert_int_eq(lv_fsrs_next(&w, &s1, 3, 1, &s1), LV_OK);
	ck_assert_int_eq(lv_fsrs_next(&w, &s1, 1, 3, &s1), LV_OK); /* 5d - (3d + 1h): one whole day */
	ck_assert_int_eq(lv_fsrs_init(&w, 1, &s2), LV_OK);
	ck_assert_int_eq(lv_fsrs_init(&w, 4, &s3), LV_OK);
	double d1, d2, d3;
	ck_assert_int_eq(lv_fsrs_interval(&w, s1.stability, 0.9, &d1), LV_OK);
	ck_assert_int_eq(lv_fsrs_interval(&w, s2.stability, 0.9, &d2), LV_OK);
	ck_assert_int_eq(lv_fsrs_interval(&w, s3.stability, 0.9, &d3), LV_OK);
	char due1[UTIL_TIME_LEN], due2[UTIL_TIME_LEN], due3[UTIL_TIME_LEN];
	util_time_format(t0 + 5 * DAY + llround(d1 * DAY), due1);
	util_time_format(t0 + 10 * DAY + llround(d2 * DAY), due2);
	util_time_format(now - 3600000 + llround(d3 * DAY), due3);

	struct lv_principal me = self_of(p);
	cJSON *r = NULL;
	ck_assert_int_eq(lv_learner_reviews(n, &me, p, LV_PURPOSE_SELF, 0, now, &r), LV_OK);
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(r, "reviews");
	ck_assert_int_eq(cJSON_GetArraySize(arr), 2);
	const cJSON *first = cJSON_GetArrayItem(arr, 0), *second = cJSON_GetArrayItem(arr, 1);
	/* Sorted by due date; c1's is the earlier one. */
	ck_assert_str_eq(str(first, "activity"), ACT("c1"));
	ck_assert_str_eq(str(first, "due"), due1);
	ck_assert(same_double(num(first, "stability"), s1.stability));
	ck_assert(same_double(num(first, "difficulty"), s1.difficulty));
	ck_assert_int_eq((int)num(first, "reviews"), 3);
	ck_assert_int_eq((int)num(first, "lapses"), 1);
	ck_assert_int_eq((int)num(first, "last_grade"), 3);
	ck_assert(strcmp(due1, due2) < 0);
	ck_assert_str_eq(str(second, "activity"), ACT("c2"));
	ck_assert_str_eq(str(second, "due"), due2);
	double rc1 = lv_fsrs_retrievability(&w, (double)(now - (t0 + 5 * DAY)) / DAY, s1.stability);
	ck_assert(fabs(num(first, "recall") - rc1) < 1e-12);
	ck_assert(num(first, "recall") < 0.9);
	ck_assert_str_eq(str(r, "next_due"), due3);
	cJSON_Delete(r);

	/* The same items lead /next, lowest recall first. */
	cJSON *nx = NULL;
	ck_assert_int_eq(lv_learner_next(n, &me, p, LV_PURPOSE_SELF, 0, now, &nx), LV_OK);
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(nx, "items");
	ck_assert_int_eq(cJSON_GetArraySize(items), 2);
	const cJSON *i0 = cJSON_GetArrayItem(items, 0), *i1 = cJSON_GetArrayItem(items, 1);
	ck_assert_str_eq(str(i0, "kind"), "review");
	ck_assert_str_eq(str(i1, "kind"), "review");
	ck_assert(num(i0, "score") <= num(i1, "score"));
	ck_assert_ptr_nonnull(find_activity(items, ACT("c1")));
	ck_assert_ptr_nonnull(find_activity(items, ACT("c2")));
	char want[96];
	snprintf(want, sizeof want, "review: predicted recall %.2f below target 0.90", num(i0, "score"));
	ck_assert_str_eq(str(i0, "reason"), want);
	cJSON_Delete(nx);
	lv_node_close(n);
	th_rmtree(base);
}
END_TEST

/* Kinds of the items of an answer of lv_personal_next, by skill. */
static const cJSON *item_for_skill(const cJSON *nx, const char *skill)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(nx, "items")) {
		const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "skill"));
		if (s && strcmp(s, skill) == 0)
			return it;
	}
	return NULL;
}

START_TEST(next_prerequisites_gate)
{
	char base[512], p[LV_PSEUDONYM_LEN];
	struct lv_node *n = new_node(base, sizeof base);
	load_curriculum(n, CURRICULUM_AB);
	enrol(n, "dana", p);
	struct lv_principal me = self_of(p);
	int64_t t = util_now_ms() - 3600000;
	cJSON *nx = NULL;

	/* Nothing yet: A is new; B waits for A. */
	ck_assert_int_eq(lv_learner_next(n, &me, p, LV_PURPOSE_SELF, 0, t, &nx), LV_OK);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(nx, "items")), 1);
	const cJSON *a = item_for_skill(nx, "A");
	ck_assert_ptr_nonnull(a);
	ck_assert_str_eq(str(a, "kind"), "new");
	ck_assert_str_eq(str(a, "reason"), "start Skill A: no prerequisites; predicted success 0.50");
	/* All candidates have p = 0.5: the smallest id wins. */
	ck_assert_str_eq(str(a, "activity"), ACT("a1"));
	ck_assert_ptr_null(item_for_skill(nx, "B"));
	cJSON_Delete(nx);

	/* A wrong answer: A is practised (on another of its activities). */
	store_one(n, "dana", ACT("a1"), 0, NAN, t, NULL);
	ck_assert_int_eq(lv_learner_next(n, &me, p, LV_PURPOSE_SELF, 0, t + 60000, &nx), LV_OK);
	a = item_for_skill(nx, "A");
	ck_assert_ptr_nonnull(a);
	ck_assert_str_eq(str(a, "kind"), "practice");
	ck_assert_ptr_null(item_for_skill(nx, "B"));
	ck_assert(strncmp(str(a, "reason"), "practise Skill A: mastery 0.", 28) == 0);
	ck_assert(strstr(str(a, "reason"), "no prerequisites") != NULL);
	/* Elo after a wrong answer on a1: theta < 0 and b(a1) > 0, so a1 is
	 * the hardest; a2/ab (b = 0) are nearer 0.75. */
	ck_assert_str_eq(str(a, "activity"), ACT("a2"));
	cJSON_Delete(nx);

	/* Four right answers master A (with the defaults: 0.127 after the
	 * wrong one, then 0.456, 0.812, 0.956, ...): then B opens. */
	for (int i = 1; i <= 4; i++)
		store_one(n, "dana", ACT("a2"), 1, NAN, t + i * 1000, NULL);
	cJSON *m = mastery(n, p, t + 60000);
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(skill_entry(m, "A"), "mastered")));
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(skill_entry(m, "B"), "prerequisites_mastered")));
	cJSON_Delete(m);
	ck_assert_int_eq(lv_learner_next(n, &me, p, LV_PURPOSE_SELF, 0, t + 60000, &nx), LV_OK);
	ck_assert_ptr_null(item_for_skill(nx, "A"));
	const cJSON *b = item_for_skill(nx, "B");
	ck_assert_ptr_nonnull(b);
	ck_assert_str_eq(str(b, "kind"), "new");
	ck_assert(strncmp(str(b, "reason"), "start Skill B: prerequisites mastered", 37) == 0);
	cJSON_Delete(nx);

	/* limit caps the list. */
	for (int i = 0; i < 3; i++)
		store_one(n, "dana", i ? ACT("b1") : ACT("ab"), 0, NAN, t - 50 * DAY + i, NULL);
	ck_assert_int_eq(lv_learner_next(n, &me, p, LV_PURPOSE_SELF, 1, t + 60000, &nx), LV_OK);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(nx, "items")), 1);
	cJSON_Delete(nx);
	lv_node_close(n);
	th_rmtree(base);
}
END_TEST

START_TEST(state_voiding_and_config_change)
{
	char base[512], p[LV_PSEUDONYM_LEN];
	struct lv_node *n = new_node(base, sizeof base);
	load_curriculum(n, CURRICULUM_AB);
	int64_t t0 = util_now_ms() - 5 * DAY;
	const char *ids[4] = {"0a000000-0000-4000-8000-000000000001", "0a000000-0000-4000-8000-000000000002",
			      "0a000000-0000-4000-8000-000000000003", "0a000000-0000-4000-8000-000000000004"};
	static const int ok[4] = {1, 0, 1, 1};
	for (int i = 0; i < 4; i++) {
		char *s = stmt_json(ids[i], "erin", ACT("a1"), ok[i], NAN, t0 + i * 1000, NULL);
		store_text(n, s);
		free(s);
	}
	enrol(n, "erin", p);
	struct lv_bkt_params d;
	lv_bkt_params_default(&d);
	/* Void the wrong answer (statement 2) by another agent (a teacher):
	 * the learner's state is rebuilt at the next read without it. */
	char voiding[512];
	snprintf(voiding, sizeof voiding,
		 "{\"actor\":{\"mbox\":\"mailto:teacher@example.com\"},\"verb\":{\"id\":"
		 "\"http://adlnet.gov/expapi/verbs/voided\"},\"object\":{\"objectType\":\"StatementRef\",\"id\":\"%s\"}}",
		 ids[1]);
	store_text(n, voiding);
	double k = d.prior;
	for (int i = 0; i < 4; i++)
		if (i != 1)
			k = lv_bkt_step(&d, k, ok[i], NULL);
	cJSON *m = mastery(n, p, util_now_ms());
	ck_assert_int_eq((int)num(skill_entry(m, "A"), "responses"), 3);
	ck_assert(same_double(num(skill_entry(m, "A"), "mastery"), k));
	cJSON_Delete(m);

	/* New parameters: every state is rebuilt under them at its next read. */
	load_params(n, PARAMS_A);
	const struct lv_bkt_params pa = {.prior = 0.3, .learn = 0.2, .guess = 0.25, .slip = 0.08, .forget = 0};
	k = pa.prior;
	for (int i = 0; i < 4; i++)
		if (i != 1)
			k = lv_bkt_step(&pa, k, ok[i], NULL);
	m = mastery(n, p, util_now_ms());
	ck_assert(same_double(num(skill_entry(m, "A"), "mastery"), k));
	cJSON_Delete(m);

	char *cfg_before = NULL;
	ck_assert_int_eq(lv_node_setting_get(n, "personal.config_id", &cfg_before), LV_OK);
	cJSON *c = NULL;
	ck_assert_int_eq(lv_personal_config(n, &c), LV_OK);
	ck_assert_str_eq(str(c, "config_id"), cfg_before);
	ck_assert_int_eq((int)num(cJSON_GetObjectItemCaseSensitive(c, "curriculum"), "skills"), 2);
	ck_assert_int_eq((int)num(cJSON_GetObjectItemCaseSensitive(c, "bkt_params"), "skills"), 1);
	cJSON_Delete(c);
	free(cfg_before);

	/* A configuration written by another connection (as the CLI does
	 * from another process) is noticed at the next read. */
	char dbp[4096];
	sqlite3 *other = NULL;
	snprintf(dbp, sizeof dbp, "%s/node.db", n->dir);
	ck_assert_int_eq(db_open(dbp, n->keys->node_db, false, false, NODE_DB_PAGE, &other), LV_OK);
	ck_assert_int_eq(sqlite3_exec(other,
		"INSERT OR REPLACE INTO settings(name, value) VALUES('personal.bkt_params', '{\"format\":"
		"\"learnvault-bkt-params\",\"version\":1,\"defaults\":{\"prior\":0.5,\"learn\":0.1,\"guess\":0.2,"
		"\"slip\":0.1}}'), ('personal.config_id', 'ffffffffffffffffffffffffffffffff')", NULL, NULL, NULL),
		SQLITE_OK);
	sqlite3_close(other);
	const struct lv_bkt_params p5 = {.prior = 0.5, .learn = 0.1, .guess = 0.2, .slip = 0.1, .forget = 0};
	k = p5.prior;
	for (int i = 0; i < 4; i++)
		if (i != 1)
			k = lv_bkt_step(&p5, k, ok[i], NULL);
	m = mastery(n, p, util_now_ms());
	ck_assert(same_double(num(skill_entry(m, "A"), "mastery"), k));
	cJSON_Delete(m);
	lv_node_close(n);
	th_rmtree(base);
}
END_TEST

/* ---- over HTTP ---- */

static struct {
	char base[512];
	struct lv_node *node;
	struct lv_server *srv;
	struct hc hc;
	char key[LV_CRED_ID_LEN];
	char *secret;
	char a[LV_PSEUDONYM_LEN], b[LV_PSEUDONYM_LEN];
	char tok_a[160], tok_b[160], tok_ga[160], tok_analyst[160], tok_auditor[160], tok_admin[160];
} F;

static void token_for(enum lv_role role, const char *learner, char *tok, size_t n)
{
	char id[LV_CRED_ID_LEN];
	char *secret = NULL;
	ck_assert_int_eq(lv_credential_add(F.node, role, learner, NULL, 0, NULL, id, &secret), LV_OK);
	snprintf(tok, n, "%s.%s", id, secret);
	sodium_free(secret);
}

static void http_setup(void)
{
	char *text = NULL, err[LV_PERSONAL_ERR_LEN];
	size_t len = 0;
	F.node = new_node(F.base, sizeof F.base);
	ck_assert_int_eq(util_read_file(th_src("examples/curriculum.json"), LV_CURRICULUM_MAX_BYTES, &text, &len),
			 LV_OK);
	ck_assert_int_eq(lv_personal_curriculum_load(F.node, text, len, err), LV_OK);
	free(text);
	ck_assert_int_eq(lv_credential_add(F.node, LV_ROLE_PROVIDER, NULL, NULL, 0, "LMS", F.key, &F.secret), LV_OK);
	struct lv_server_options so = {.host = "127.0.0.1", .port = 0, .threads = 2};
	ck_assert_int_eq(lv_server_start(F.node, &so, &F.srv), LV_OK);
	ck_assert_int_eq(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
	hc_init(&F.hc, lv_server_port(F.srv));
	/* Alice's answers arrive through the xAPI door. */
	int64_t t0 = util_now_ms() - 20 * DAY;
	struct buf b;
	buf_init(&b, 1 << 16);
	ck_assert_int_eq(buf_append_str(&b, "["), LV_OK);
	const char *acts[] = {"https://courses.example.org/math/whole-numbers/quiz-1",
			      "https://courses.example.org/math/fractions/quiz-1"};
	for (int i = 0; i < 6; i++) {
		char *s = stmt_json(NULL, "alice", acts[i % 2], i % 3 != 2, NAN, t0 + (int64_t)i * DAY, NULL);
		ck_assert_int_eq(buf_printf(&b, "%s%s", i ? "," : "", s), LV_OK);
		free(s);
	}
	ck_assert_int_eq(buf_append_str(&b, "]"), LV_OK);
	struct hc_req rq = {.method = "POST", .path = "/xapi/statements", .body = b.data, .user = F.key,
			    .pass = F.secret};
	struct hc_resp r;
	ck_assert_int_eq(hc_do(&F.hc, &rq, &r), 200);
	hc_resp_free(&r);
	buf_free(&b);
	enrol(F.node, "alice", F.a);
	enrol(F.node, "bob", F.b);
	token_for(LV_ROLE_LEARNER, F.a, F.tok_a, sizeof F.tok_a);
	token_for(LV_ROLE_LEARNER, F.b, F.tok_b, sizeof F.tok_b);
	token_for(LV_ROLE_GUARDIAN, F.a, F.tok_ga, sizeof F.tok_ga);
	token_for(LV_ROLE_ANALYST, NULL, F.tok_analyst, sizeof F.tok_analyst);
	token_for(LV_ROLE_AUDITOR, NULL, F.tok_auditor, sizeof F.tok_auditor);
	token_for(LV_ROLE_ADMIN, NULL, F.tok_admin, sizeof F.tok_admin);
}

static void http_teardown(void)
{
	hc_free(&F.hc);
	curl_global_cleanup();
	lv_server_destroy(F.srv);
	lv_node_close(F.node);
	if (F.secret)
		sodium_free(F.secret);
	th_rmtree(F.base);
	memset(&F, 0, sizeof F);
}

static long get_as(const char *bearer, bool basic, const char *method, const char *path, struct hc_resp *r)
{
	struct hc_req rq = {.method = method, .path = path, .bearer = bearer, .no_version = true,
			    .body = strcmp(method, "POST") == 0 ? "{}" : NULL};
	if (basic) {
		rq.user = F.key;
		rq.pass = F.secret;
	}
	return hc_do(&F.hc, &rq, r);
}

static cJSON *get_json(const char *bearer, const char *path)
{
	struct hc_resp r;
	long s = get_as(bearer, false, "GET", path, &r);
	ck_assert_msg(s == 200, "GET %s: %ld %s", path, s, r.body);
	ck_assert(strncmp(r.content_type, "application/json", 16) == 0);
	cJSON *j = cJSON_ParseWithLength(r.body, r.len);
	ck_assert_ptr_nonnull(j);
	hc_resp_free(&r);
	return j;
}

static void expect_error(const char *bearer, bool basic, const char *method, const char *path, long status,
			 const char *code)
{
	struct hc_resp r;
	long s = get_as(bearer, basic, method, path, &r);
	ck_assert_msg(s == status, "%s %s: expected %ld, got %ld: %s", method, path, status, s, r.body);
	cJSON *j = cJSON_ParseWithLength(r.body, r.len);
	ck_assert_msg(cJSON_IsObject(j), "error body not JSON: %s", r.body);
	ck_assert_str_eq(str(j, "error"), code);
	cJSON_Delete(j);
	hc_resp_free(&r);
}

static const char *const ROUTES[] = {"/learner/next", "/learner/mastery", "/learner/reviews"};

START_TEST(http_roles)
{
	for (size_t i = 0; i < 3; i++) {
		/* The learner and their guardian: the learner's own data. */
		cJSON *ja = get_json(F.tok_a, ROUTES[i]);
		cJSON *jg = get_json(F.tok_ga, ROUTES[i]);
		cJSON *jb = get_json(F.tok_b, ROUTES[i]);
		if (i == 1) {
			const cJSON *fa = skill_entry(ja, "fractions");
			ck_assert_int_eq((int)num(fa, "responses"), 3);
			ck_assert_int_eq((int)num(skill_entry(jg, "fractions"), "responses"), 3);
			/* Bob has no answers: nothing of Alice's shows. */
			ck_assert_int_eq((int)num(skill_entry(jb, "fractions"), "responses"), 0);
			ck_assert_int_eq((int)num(skill_entry(jb, "whole-numbers"), "responses"), 0);
			ck_assert(num(cJSON_GetObjectItemCaseSensitive(jb, "ability"), "answers") == 0);
		} else if (i == 0) {
			const cJSON *it;
			cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(jb, "items"))
				ck_assert_str_eq(str(it, "kind"), "new");
			ck_assert_int_gt(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(ja, "items")), 0);
			ck_assert_ptr_nonnull(find_activity(cJSON_GetObjectItemCaseSensitive(ja, "items"),
							    "https://courses.example.org/math/fractions/quiz-1"));
		} else {
			ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(ja, "reviews")), 2);
			ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(jb, "reviews")), 0);
		}
		cJSON_Delete(ja);
		cJSON_Delete(jg);
		cJSON_Delete(jb);
		/* Other roles: refused; no token: 401. */
		expect_error(F.tok_analyst, false, "GET", ROUTES[i], 403, "forbidden");
		expect_error(F.tok_auditor, false, "GET", ROUTES[i], 403, "forbidden");
		expect_error(F.tok_admin, false, "GET", ROUTES[i], 403, "forbidden");
		expect_error(NULL, true, "GET", ROUTES[i], 403, "forbidden");
		expect_error(NULL, false, "GET", ROUTES[i], 401, "unauthorized");
		expect_error(F.tok_a, false, "POST", ROUTES[i], 405, "method_not_allowed");
	}
	expect_error(F.tok_a, false, "GET", "/learner/next?limit=0", 400, "invalid");
	expect_error(F.tok_a, false, "GET", "/learner/next?limit=x", 400, "invalid");
	expect_error(F.tok_a, false, "GET", "/learner/reviews?limit=-1", 400, "invalid");
	cJSON *j = get_json(F.tok_a, "/learner/next?limit=1");
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "items")), 1);
	cJSON_Delete(j);
}
END_TEST

/* The entry at @index of the audit log, parsed. */
static cJSON *audit_entry(uint64_t index)
{
	cJSON *arr = NULL;
	ck_assert_int_eq(lv_audit_entries(F.node, index, index + 1, &arr), LV_OK);
	cJSON *e = cJSON_Parse(cJSON_GetStringValue(cJSON_GetArrayItem(arr, 0)));
	cJSON_Delete(arr);
	ck_assert_ptr_nonnull(e);
	return e;
}

START_TEST(http_access_logged)
{
	static const char *const RES[] = {"personal-next", "personal-mastery", "personal-reviews"};
	for (size_t i = 0; i < 3; i++) {
		uint64_t before = lv_audit_size(F.node);
		cJSON *j = get_json(F.tok_a, ROUTES[i]);
		ck_assert_uint_eq(lv_audit_size(F.node), before + 1);
		cJSON *e = audit_entry(before);
		ck_assert_str_eq(str(e, "type"), "access");
		ck_assert_str_eq(str(e, "decision"), "allow");
		ck_assert_str_eq(str(e, "purpose"), LV_PURPOSE_SELF);
		ck_assert_str_eq(str(e, "learner"), F.a);
		ck_assert_str_eq(str(e, "resource"), RES[i]);
		ck_assert_str_eq(str(e, "role"), "learner");
		const char *arr = i == 0 ? "items" : i == 1 ? "skills" : "reviews";
		ck_assert_int_eq((int)num(e, "count"), cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, arr)));
		cJSON_Delete(e);
		cJSON_Delete(j);
	}
	/* Through the library, a principal bound to another learner is
	 * refused, and the refusal is logged too. */
	struct lv_principal other = self_of(F.b);
	cJSON *o = (cJSON *)1;
	uint64_t before = lv_audit_size(F.node);
	ck_assert_int_eq(lv_learner_next(F.node, &other, F.a, LV_PURPOSE_SELF, 0, util_now_ms(), &o),
			 LV_ERR_FORBIDDEN);
	ck_assert_ptr_null(o);
	cJSON *e = audit_entry(before);
	ck_assert_str_eq(str(e, "decision"), "deny");
	cJSON_Delete(e);
	ck_assert_int_eq(lv_learner_next(F.node, &other, "not-a-pseudonym", LV_PURPOSE_SELF, 0, 0, &o),
			 LV_ERR_INVALID);
}
END_TEST

START_TEST(http_erasure)
{
	char path[1024];
	struct stat sb;
	snprintf(path, sizeof path, "%s/node/vaults/%s.db", F.base, F.a);
	ck_assert_int_eq(stat(path, &sb), 0);
	cJSON *j = get_json(F.tok_a, "/learner/mastery");
	cJSON_Delete(j);
	struct hc_resp r;
	ck_assert_int_eq(get_as(F.tok_a, false, "DELETE", "/learner", &r), 200);
	hc_resp_free(&r);
	/* The vault (and with it the model state) is gone. */
	ck_assert_int_ne(stat(path, &sb), 0);
	snprintf(path, sizeof path, "%s/node/vaults/%s.db-wal", F.base, F.a);
	ck_assert_int_ne(stat(path, &sb), 0);
	struct lv_principal me = self_of(F.a);
	cJSON *o = NULL;
	ck_assert_int_eq(lv_learner_next(F.node, &me, F.a, LV_PURPOSE_SELF, 0, util_now_ms(), &o), LV_ERR_NOT_FOUND);
	ck_assert_int_eq(lv_personal_rebuild(F.node, F.a), LV_ERR_NOT_FOUND);
	expect_error(F.tok_a, false, "GET", "/learner/next", 401, "unauthorized");
	/* Bob is untouched. */
	j = get_json(F.tok_b, "/learner/next");
	cJSON_Delete(j);
}
END_TEST

/* ---- the CLI ---- */



START_TEST(cli_commands)
{
	char base[512], dir[700], args[2048], errf[800], bad[800], params[800], p[LV_PSEUDONYM_LEN];
	char *out = NULL;
	struct lv_node *n = new_node(base, sizeof base);
	snprintf(dir, sizeof dir, "%s/node", base);
	snprintf(errf, sizeof errf, "%s/stderr", base);
	snprintf(bad, sizeof bad, "%s/bad.json", base);
	snprintf(params, sizeof params, "%s/params.json", base);
	store_one(n, "fred", "https://courses.example.org/math/fractions/quiz-1", 1, NAN, util_now_ms() - DAY, NULL);
	enrol(n, "fred", p);
	lv_node_close(n); /* the CLI opens the node itself */
	const char *bad_text = "{\"format\":\"learnvault-curriculum\",\"version\":1,\"skills\":{},\"x\":1}";
	ck_assert_int_eq(util_write_file(bad, bad_text, strlen(bad_text), 0600, false), LV_OK);
	ck_assert_int_eq(util_write_file(params, PARAMS_A, strlen(PARAMS_A), 0600, false), LV_OK);

	snprintf(args, sizeof args, "curriculum load --data '%s' '%s'", dir, th_src("examples/curriculum.json"));
	ck_assert_int_eq(th_run_cli(args, &out, errf), 0);
	ck_assert_msg(strstr(out, "\"skills\":5") && strstr(out, "\"activities\":9"), "%s", out);
	free(out);
	snprintf(args, sizeof args, "curriculum load --data '%s' '%s'", dir, bad);
	ck_assert_int_ne(th_run_cli(args, &out, errf), 0);
	ck_assert(th_file_contains(errf, "unknown key x"));
	free(out);
	snprintf(args, sizeof args, "personal params --data '%s' '%s'", dir, params);
	ck_assert_int_eq(th_run_cli(args, &out, errf), 0);
	ck_assert_msg(strstr(out, "\"bkt_params\":{\"skills\":1}"), "%s", out);
	free(out);

	snprintf(args, sizeof args, "recommend --data '%s' --learner %s --limit 3", dir, p);
	ck_assert_int_eq(th_run_cli(args, &out, errf), 0);
	cJSON *j = cJSON_Parse(out);
	ck_assert_msg(j != NULL, "%s", out);
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(j, "items");
	ck_assert_int_gt(cJSON_GetArraySize(items), 0);
	ck_assert_int_le(cJSON_GetArraySize(items), 3);
	cJSON_Delete(j);
	free(out);
	snprintf(args, sizeof args, "recommend --data '%s' --learner %s --view mastery --rebuild", dir, p);
	ck_assert_int_eq(th_run_cli(args, &out, errf), 0);
	ck_assert(strstr(out, "\"skill\":\"fractions\"") != NULL);
	free(out);
	snprintf(args, sizeof args, "recommend --data '%s' --learner 0123456789abcdef0123456789abcdef", dir);
	ck_assert_int_ne(th_run_cli(args, &out, errf), 0);
	ck_assert(th_file_contains(errf, "no such learner"));
	free(out);
	snprintf(args, sizeof args, "recommend --data '%s'", dir);
	ck_assert_int_eq(th_run_cli(args, &out, errf), 2);
	free(out);

	/* The operator's reads are logged as such. */
	ck_assert_int_eq(lv_node_open(dir, NULL, NULL, &n), LV_OK);
	uint64_t size = lv_audit_size(n);
	cJSON *arr = NULL;
	ck_assert_int_eq(lv_audit_entries(n, size - 1, size, &arr), LV_OK);
	cJSON *e = cJSON_Parse(cJSON_GetStringValue(cJSON_GetArrayItem(arr, 0)));
	ck_assert_str_eq(str(e, "purpose"), LV_PURPOSE_OPERATOR_REQUEST);
	ck_assert_str_eq(str(e, "resource"), "personal-mastery");
	ck_assert_str_eq(str(e, "learner"), p);
	ck_assert_str_eq(str(e, "role"), "admin");
	cJSON_Delete(e);
	cJSON_Delete(arr);
	lv_node_close(n);
	th_rmtree(base);
}
END_TEST

Suite *lv_test_suite(void)
{
	Suite *s = suite_create("recommend");
	TCase *tc = tcase_create("curriculum");
	tcase_add_test(tc, curriculum_example_parses);
	tcase_add_test(tc, curriculum_rejects);
	suite_add_tcase(s, tc);
	tc = tcase_create("response");
	tcase_add_test(tc, response_skills);
	tcase_add_test(tc, response_correctness_and_grade);
	suite_add_tcase(s, tc);
	tc = tcase_create("state");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, state_bkt_incremental_bit_exact);
	tcase_add_test(tc, state_fold_on_read);
	tcase_add_test(tc, state_rebuild_equals_incremental);
	tcase_add_test(tc, state_fsrs_due_reviews);
	tcase_add_test(tc, next_prerequisites_gate);
	tcase_add_test(tc, state_voiding_and_config_change);
	suite_add_tcase(s, tc);
	tc = tcase_create("http");
	tcase_add_checked_fixture(tc, http_setup, http_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, http_roles);
	tcase_add_test(tc, http_access_logged);
	tcase_add_test(tc, http_erasure);
	suite_add_tcase(s, tc);
	tc = tcase_create("cli");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, cli_commands);
	suite_add_tcase(s, tc);
	return s;
}
