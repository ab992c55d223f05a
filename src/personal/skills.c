/* Skills of statements: the curriculum file (strict reader), the reading
 * of one statement as a response, and the node's personalisation
 * configuration (curriculum + BKT parameters) stored in node.db settings
 * and cached on the node. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "learnvault/store.h"
#include "learnvault/xapi.h"
#include "recommend_int.h"
#include "learnvault/util.h"

#define CURRICULUM_FORMAT "learnvault-curriculum"
#define SET_CURRICULUM "personal.curriculum"
#define SET_PARAMS "personal.bkt_params"
#define SET_CONFIG_ID "personal.config_id"

/* Sets the error text (LV_PERSONAL_ERR_LEN is LV_ERR_LEN) and is @st. */
#define fail(err, st, ...) (util_errf((err), __VA_ARGS__), (st))

void lv_curriculum_destroy(struct lv_curriculum *c)
{
	if (!c)
		return;
	for (size_t i = 0; c->skills && i < c->skill_ids.n; i++) {
		free(c->skills[i].name);
		free(c->skills[i].prereq);
		free(c->skills[i].acts);
	}
	free(c->skills);
	free(c->act_skills);
	free(c->act_nskills);
	personal_strtab_free(&c->skill_ids);
	personal_strtab_free(&c->act_ids);
	free(c);
}

size_t lv_curriculum_skills(const struct lv_curriculum *c)
{
	return c ? c->skill_ids.n : 0;
}

size_t lv_curriculum_activities(const struct lv_curriculum *c)
{
	return c ? c->act_ids.n : 0;
}

size_t lv_curriculum_activity_skills(const struct lv_curriculum *c, const char *iri, const uint32_t **skills)
{
	long a = c && iri ? personal_strtab_find(&c->act_ids, iri) : -1;
	*skills = a < 0 ? NULL : c->act_skills[a];
	return a < 0 ? 0 : c->act_nskills[a];
}

double lv_curriculum_correct_threshold(const struct lv_curriculum *c)
{
	return c ? c->correct_threshold : LV_CORRECT_THRESHOLD;
}

enum lv_status lv_personal_curriculum_locked(struct lv_node *n, const struct lv_curriculum **out)
{
	const struct personal_cfg *cfg;
	enum lv_status st = personal_cfg_get_locked(n, true, &cfg);
	*out = st == LV_OK ? cfg->cur : NULL;
	return st;
}

/* cJSON keeps duplicate keys: small objects are checked pairwise. */
static bool has_duplicate_key(const cJSON *obj)
{
	for (const cJSON *a = obj->child; a; a = a->next)
		for (const cJSON *b = a->next; b; b = b->next)
			if (strcmp(a->string, b->string) == 0)
				return true;
	return false;
}

/* An absolute IRI as far as it matters here: a scheme, no spaces or
 * control characters, within the length cap. */
static bool activity_id_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > LV_ACTIVITY_ID_MAX)
		return false;
	const char *colon = strchr(s, ':');
	if (!colon || colon == s)
		return false;
	for (const char *p = s; p < colon; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (p > s && ((*p >= '0' && *p <= '9') || *p == '+' || *p == '-' || *p == '.'))))
			return false;
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return false;
	return true;
}

static int cmp_act(const void *a, const void *b, void *ctx)
{
	const struct lv_curriculum *c = ctx;
	return strcmp(c->act_ids.names[*(const uint32_t *)a], c->act_ids.names[*(const uint32_t *)b]);
}

/* qsort_r is a GNU extension with this argument order (_GNU_SOURCE). */
static void sort_acts(struct lv_curriculum *c, uint32_t *v, size_t n)
{
	qsort_r(v, n, sizeof *v, cmp_act, c);
}

/* Depth-first search for a prerequisite cycle; @mark: 0 new, 1 on the
 * path, 2 done.  Iterative, so a long chain cannot exhaust the stack. */
static bool has_cycle(const struct lv_curriculum *c, uint8_t *mark, uint32_t *stack, size_t *pos, long *bad)
{
	size_t n = c->skill_ids.n;
	for (size_t root = 0; root < n; root++) {
		if (mark[root])
			continue;
		size_t sp = 0;
		stack[sp] = (uint32_t)root;
		pos[sp++] = 0;
		mark[root] = 1;
		while (sp) {
			uint32_t v = stack[sp - 1];
			const struct personal_skill_def *d = &c->skills[v];
			if (pos[sp - 1] == d->nprereq) {
				mark[v] = 2;
				sp--;
				continue;
			}
			uint32_t w = d->prereq[pos[sp - 1]++];
			if (mark[w] == 1) {
				*bad = (long)w;
				return true;
			}
			if (mark[w] == 0) {
				mark[w] = 1;
				stack[sp] = w;
				pos[sp++] = 0;
			}
		}
	}
	return false;
}

static enum lv_status parse_fraction(const cJSON *v, const char *name, bool closed_top, double *out, char *err)
{
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble <= 0 || v->valuedouble > 1 ||
	    (!closed_top && v->valuedouble >= 1))
		return fail(err, LV_ERR_INVALID, "%s must be a number in (0, 1%c", name, closed_top ? ']' : ')');
	*out = v->valuedouble;
	return LV_OK;
}

static enum lv_status parse_skill_entry(struct lv_curriculum *c, size_t i, const cJSON *e, char *err)
{
	const char *id = c->skill_ids.names[i];
	if (!cJSON_IsObject(e))
		return fail(err, LV_ERR_INVALID, "skill %.64s: must be an object", id);
	if (has_duplicate_key(e))
		return fail(err, LV_ERR_INVALID, "skill %.64s: duplicate key", id);
	for (const cJSON *f = e->child; f; f = f->next) {
		if (strcmp(f->string, "name") == 0) {
			if (!cJSON_IsString(f) || !f->valuestring[0] || strlen(f->valuestring) > LV_SKILL_NAME_MAX)
				return fail(err, LV_ERR_INVALID, "skill %.64s: name must be a string of 1..%u bytes", id,
					    LV_SKILL_NAME_MAX);
			for (const char *p = f->valuestring; *p; p++)
				if ((unsigned char)*p < 0x20)
					return fail(err, LV_ERR_INVALID, "skill %.64s: control character in name", id);
			if (!(c->skills[i].name = strdup(f->valuestring)))
				return LV_ERR_NOMEM;
		} else if (strcmp(f->string, "prerequisites") == 0) {
			int n = cJSON_GetArraySize(f);
			if (!cJSON_IsArray(f) || n > (int)LV_SKILL_PREREQS_MAX)
				return fail(err, n > (int)LV_SKILL_PREREQS_MAX ? LV_ERR_TOO_LARGE : LV_ERR_INVALID,
					    "skill %.64s: prerequisites must be an array of at most %u skill ids", id,
					    LV_SKILL_PREREQS_MAX);
			c->skills[i].prereq = calloc(n ? (size_t)n : 1, sizeof(uint32_t));
			if (!c->skills[i].prereq)
				return LV_ERR_NOMEM;
			const cJSON *p;
			cJSON_ArrayForEach(p, f) {
				long k = cJSON_IsString(p) ? personal_strtab_find(&c->skill_ids, p->valuestring) : -1;
				if (k < 0)
					return fail(err, LV_ERR_INVALID, "skill %.64s: prerequisite %.64s is not a defined skill",
						    id, cJSON_IsString(p) ? p->valuestring : "(not a string)");
				for (size_t j = 0; j < c->skills[i].nprereq; j++)
					if (c->skills[i].prereq[j] == (uint32_t)k)
						return fail(err, LV_ERR_INVALID, "skill %.64s: prerequisite %.64s twice", id,
							    p->valuestring);
				c->skills[i].prereq[c->skills[i].nprereq++] = (uint32_t)k;
			}
		} else {
			return fail(err, LV_ERR_INVALID, "skill %.64s: unknown key %.32s", id, f->string);
		}
	}
	return LV_OK;
}

/* The top-level keys: format and version checked, the optional fractions
 * stored in @c, the skills and activities objects handed back. */
static enum lv_status parse_top(struct lv_curriculum *c, const cJSON *doc, const cJSON **skills,
				const cJSON **acts, char *err)
{
	bool have_format = false, have_version = false;
	enum lv_status st;
	if (!cJSON_IsObject(doc))
		return fail(err, LV_ERR_INVALID, "the curriculum must be a JSON object");
	if (has_duplicate_key(doc))
		return fail(err, LV_ERR_INVALID, "duplicate top-level key");
	for (const cJSON *f = doc->child; f; f = f->next) {
		if (strcmp(f->string, "format") == 0) {
			if (!cJSON_IsString(f) || strcmp(f->valuestring, CURRICULUM_FORMAT) != 0)
				return fail(err, LV_ERR_INVALID, "format must be \"%s\"", CURRICULUM_FORMAT);
			have_format = true;
		} else if (strcmp(f->string, "version") == 0) {
			if (!cJSON_IsNumber(f) || f->valuedouble != 1)
				return fail(err, LV_ERR_INVALID, "version must be 1");
			have_version = true;
		} else if (strcmp(f->string, "correct_threshold") == 0) {
			if ((st = parse_fraction(f, "correct_threshold", true, &c->correct_threshold, err)) != LV_OK)
				return st;
		} else if (strcmp(f->string, "target_retention") == 0) {
			if ((st = parse_fraction(f, "target_retention", false, &c->target_retention, err)) != LV_OK)
				return st;
		} else if (strcmp(f->string, "target_success") == 0) {
			if ((st = parse_fraction(f, "target_success", false, &c->target_success, err)) != LV_OK)
				return st;
		} else if (strcmp(f->string, "skills") == 0) {
			*skills = f;
		} else if (strcmp(f->string, "activities") == 0) {
			*acts = f;
		} else {
			return fail(err, LV_ERR_INVALID, "unknown key %.32s", f->string);
		}
	}
	if (!have_format || !have_version)
		return fail(err, LV_ERR_INVALID, "format and version are required");
	if (!cJSON_IsObject(*skills))
		return fail(err, LV_ERR_INVALID, "skills must be an object");
	if (*acts && !cJSON_IsObject(*acts))
		return fail(err, LV_ERR_INVALID, "activities must be an object");
	return LV_OK;
}

/* Every skill id interned first, so prerequisites may name later skills;
 * then each skill's entry. */
static enum lv_status parse_skills(struct lv_curriculum *c, const cJSON *skills, char *err)
{
	enum lv_status st;
	size_t nskills = 0;
	for (const cJSON *s = skills->child; s; s = s->next) {
		if (++nskills > LV_CURRICULUM_MAX_SKILLS)
			return fail(err, LV_ERR_TOO_LARGE, "more than %u skills", LV_CURRICULUM_MAX_SKILLS);
		if (!personal_name_ok(s->string))
			return fail(err, LV_ERR_INVALID,
				    "skill id %.64s: 1..%d bytes without commas, quotes or control characters", s->string,
				    LV_PERSONAL_NAME_MAX);
		size_t before = c->skill_ids.n;
		long k = personal_strtab_intern(&c->skill_ids, s->string);
		if (k < 0)
			return LV_ERR_NOMEM;
		if (c->skill_ids.n == before)
			return fail(err, LV_ERR_INVALID, "skill %.64s defined twice", s->string);
	}
	c->skills = calloc(nskills ? nskills : 1, sizeof *c->skills);
	if (!c->skills)
		return LV_ERR_NOMEM;
	size_t i = 0;
	for (const cJSON *s = skills->child; s; s = s->next, i++)
		if ((st = parse_skill_entry(c, i, s, err)) != LV_OK)
			return st;
	return LV_OK;
}

static enum lv_status check_no_cycle(const struct lv_curriculum *c, char *err)
{
	size_t nskills = c->skill_ids.n;
	uint8_t *mark = calloc(nskills ? nskills : 1, 1);
	uint32_t *stack = calloc(nskills ? nskills : 1, sizeof *stack);
	size_t *pos = calloc(nskills ? nskills : 1, sizeof *pos);
	long bad = -1;
	bool cyc = mark && stack && pos && has_cycle(c, mark, stack, pos, &bad);
	bool oom = !mark || !stack || !pos;
	free(mark);
	free(stack);
	free(pos);
	if (oom)
		return LV_ERR_NOMEM;
	if (cyc)
		return fail(err, LV_ERR_INVALID, "prerequisites form a cycle through skill %.64s",
			    c->skill_ids.names[bad]);
	return LV_OK;
}

/* One activity: its id interned and its skill list checked and stored;
 * @per_skill counts each skill's activities. */
static enum lv_status parse_activity(struct lv_curriculum *c, const cJSON *a, size_t *per_skill, char *err)
{
	enum lv_status st = LV_OK;
	if (!activity_id_ok(a->string))
		return fail(err, LV_ERR_INVALID, "activity %.64s: not an absolute IRI of at most %u bytes", a->string,
			    LV_ACTIVITY_ID_MAX);
	size_t before = c->act_ids.n;
	long k = personal_strtab_intern(&c->act_ids, a->string);
	if (k < 0)
		return LV_ERR_NOMEM;
	if (c->act_ids.n == before)
		return fail(err, LV_ERR_INVALID, "activity %.64s listed twice", a->string);
	int n = cJSON_GetArraySize(a);
	if (!cJSON_IsArray(a) || n < 1 || n > (int)LV_ACTIVITY_SKILLS_MAX)
		return fail(err, n > (int)LV_ACTIVITY_SKILLS_MAX ? LV_ERR_TOO_LARGE : LV_ERR_INVALID,
			    "activity %.64s: must list 1..%u skill ids", a->string, LV_ACTIVITY_SKILLS_MAX);
	const cJSON *s;
	cJSON_ArrayForEach(s, a) {
		long sk = cJSON_IsString(s) ? personal_strtab_find(&c->skill_ids, s->valuestring) : -1;
		if (sk < 0)
			return fail(err, LV_ERR_INVALID, "activity %.64s: %.64s is not a defined skill", a->string,
				    cJSON_IsString(s) ? s->valuestring : "(not a string)");
		for (size_t j = 0; j < c->act_nskills[k]; j++)
			if (c->act_skills[k][j] == (uint32_t)sk)
				st = fail(err, LV_ERR_INVALID, "activity %.64s: skill %.64s twice", a->string,
					  s->valuestring);
		if (st != LV_OK)
			return st;
		c->act_skills[k][c->act_nskills[k]++] = (uint32_t)sk;
		per_skill[sk]++;
	}
	return LV_OK;
}

/* The inverse map, each skill's activities sorted by id; @per_skill[s]
 * is skill s's number of activities. */
static enum lv_status index_skill_acts(struct lv_curriculum *c, const size_t *per_skill)
{
	size_t nskills = c->skill_ids.n;
	for (size_t s = 0; s < nskills; s++) {
		c->skills[s].acts = calloc(per_skill[s] ? per_skill[s] : 1, sizeof(uint32_t));
		if (!c->skills[s].acts)
			return LV_ERR_NOMEM;
	}
	for (size_t a = 0; a < c->act_ids.n; a++)
		for (size_t j = 0; j < c->act_nskills[a]; j++) {
			struct personal_skill_def *d = &c->skills[c->act_skills[a][j]];
			d->acts[d->nacts++] = (uint32_t)a;
		}
	for (size_t s = 0; s < nskills; s++)
		sort_acts(c, c->skills[s].acts, c->skills[s].nacts);
	return LV_OK;
}

/* The activities object (@acts may be NULL: none), after the skills. */
static enum lv_status parse_activities(struct lv_curriculum *c, const cJSON *acts, char *err)
{
	size_t nskills = c->skill_ids.n, nacts = 0;
	for (const cJSON *a = acts ? acts->child : NULL; a; a = a->next)
		if (++nacts > LV_CURRICULUM_MAX_ACTIVITIES)
			return fail(err, LV_ERR_TOO_LARGE, "more than %u activities", LV_CURRICULUM_MAX_ACTIVITIES);
	c->act_skills = calloc(nacts ? nacts : 1, sizeof *c->act_skills);
	c->act_nskills = calloc(nacts ? nacts : 1, 1);
	size_t *per_skill = calloc(nskills ? nskills : 1, sizeof *per_skill);
	if (!c->act_skills || !c->act_nskills || !per_skill) {
		free(per_skill);
		return LV_ERR_NOMEM;
	}
	enum lv_status st = LV_OK;
	for (const cJSON *a = acts ? acts->child : NULL; a && st == LV_OK; a = a->next)
		st = parse_activity(c, a, per_skill, err);
	if (st == LV_OK)
		st = index_skill_acts(c, per_skill);
	free(per_skill);
	return st;
}

static enum lv_status parse_doc(struct lv_curriculum *c, const cJSON *doc, char *err)
{
	const cJSON *skills = NULL, *acts = NULL;
	enum lv_status st = parse_top(c, doc, &skills, &acts, err);
	if (st == LV_OK)
		st = parse_skills(c, skills, err);
	if (st == LV_OK)
		st = check_no_cycle(c, err);
	if (st == LV_OK)
		st = parse_activities(c, acts, err);
	return st;
}

enum lv_status lv_curriculum_parse(const char *text, size_t len, struct lv_curriculum **out,
				   char err[LV_PERSONAL_ERR_LEN])
{
	*out = NULL;
	err[0] = '\0';
	if (len > LV_CURRICULUM_MAX_BYTES)
		return fail(err, LV_ERR_TOO_LARGE, "the curriculum is over %u bytes", LV_CURRICULUM_MAX_BYTES);
	cJSON *doc = util_json_parse(text, len);
	if (!doc)
		return fail(err, LV_ERR_INVALID, "not valid JSON");
	struct lv_curriculum *c = calloc(1, sizeof *c);
	if (!c) {
		cJSON_Delete(doc);
		return LV_ERR_NOMEM;
	}
	c->correct_threshold = LV_CORRECT_THRESHOLD;
	c->target_retention = LV_TARGET_RETENTION;
	c->target_success = LV_ELO_TARGET;
	enum lv_status st = parse_doc(c, doc, err);
	cJSON_Delete(doc);
	if (st != LV_OK) {
		if (st == LV_ERR_NOMEM && !err[0])
			snprintf(err, LV_PERSONAL_ERR_LEN, "out of memory");
		lv_curriculum_destroy(c);
		return st;
	}
	*out = c;
	return LV_OK;
}

/* ---- one statement as a response ---- */


static enum lv_status response_with(const struct lv_curriculum *c, double threshold, const cJSON *st,
				    struct lv_response *out)
{
	memset(out, 0, sizeof *out);
	const char *verb = util_json_str(cJSON_GetObjectItemCaseSensitive(st, "verb"), "id", NULL);
	if (verb && strcmp(verb, LV_XAPI_VERB_VOIDED) == 0)
		return LV_ERR_NOT_FOUND;
	const cJSON *obj = cJSON_GetObjectItemCaseSensitive(st, "object");
	const char *ot = util_json_str(obj, "objectType", NULL);
	const char *act = util_json_str(obj, "id", NULL);
	if (!act || (ot && strcmp(ot, "Activity") != 0))
		return LV_ERR_NOT_FOUND;
	const cJSON *res = cJSON_GetObjectItemCaseSensitive(st, "result");
	const cJSON *succ = cJSON_GetObjectItemCaseSensitive(res, "success");
	const cJSON *scaled = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(res, "score"),
							       "scaled");
	bool has_scaled = cJSON_IsNumber(scaled) && isfinite(scaled->valuedouble);
	bool correct;
	if (cJSON_IsBool(succ))
		correct = cJSON_IsTrue(succ);
	else if (has_scaled)
		correct = scaled->valuedouble >= threshold;
	else
		return LV_ERR_NOT_FOUND;
	int64_t t = 0;
	const char *ts = util_json_str(st, "timestamp", NULL);
	const char *stored = util_json_str(st, "stored", NULL);
	if (!(ts && util_time_parse(ts, &t)) && !(stored && util_time_parse(stored, &t)))
		return LV_ERR_NOT_FOUND;

	out->activity = act;
	out->correct = correct;
	out->time_ms = t;
	if (!correct)
		out->grade = LV_FSRS_AGAIN;
	else if (has_scaled && scaled->valuedouble < LV_GRADE_HARD_BELOW)
		out->grade = LV_FSRS_HARD;
	else if (has_scaled && scaled->valuedouble >= LV_GRADE_EASY_FROM)
		out->grade = LV_FSRS_EASY;
	else
		out->grade = LV_FSRS_GOOD;

	long k = c ? personal_strtab_find(&c->act_ids, act) : -1;
	if (k >= 0) {
		for (size_t j = 0; j < c->act_nskills[k]; j++)
			out->skills[j] = c->skill_ids.names[c->act_skills[k][j]];
		out->nskills = c->act_nskills[k];
		out->skills_from_curriculum = true;
		return LV_OK;
	}
	/* The extension is the provider's claim about its content: taken
	 * whole when well formed, otherwise not at all (the statement itself
	 * was valid xAPI and is stored either way). */
	const cJSON *ext = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(obj, "definition"), "extensions"),
		LV_SKILLS_EXTENSION);
	int n = cJSON_GetArraySize(ext);
	if (!cJSON_IsArray(ext) || n < 1 || n > (int)LV_ACTIVITY_SKILLS_MAX)
		return LV_OK;
	size_t m = 0;
	const cJSON *s;
	cJSON_ArrayForEach(s, ext) {
		if (!cJSON_IsString(s) || !personal_name_ok(s->valuestring))
			return LV_OK;
		for (size_t j = 0; j < m; j++)
			if (strcmp(out->skills[j], s->valuestring) == 0)
				return LV_OK;
		out->skills[m++] = s->valuestring;
	}
	out->nskills = m;
	return LV_OK;
}

enum lv_status lv_statement_response(const struct lv_curriculum *c, const cJSON *st, struct lv_response *out)
{
	enum lv_status s = response_with(c, c ? c->correct_threshold : LV_CORRECT_THRESHOLD, st, out);
	if (s != LV_OK)
		memset(out, 0, sizeof *out);
	return s;
}

enum lv_status personal_response(const struct personal_cfg *cfg, const cJSON *st, struct lv_response *out)
{
	enum lv_status s = response_with(cfg->cur, cfg->correct_threshold, st, out);
	if (s != LV_OK)
		memset(out, 0, sizeof *out);
	return s;
}

/* ---- node configuration ---- */

/* The id of a configuration: a hash of the stored texts (either may be
 * absent), so every learner's state can say which one it was built under. */
static void config_id(const char *cur, const char *params, char out[PERSONAL_CONFIG_ID_LEN])
{
	unsigned char h[16];
	crypto_generichash_state gs;
	static const char tag[] = "lv-personal-config-v1";
	crypto_generichash_init(&gs, NULL, 0, sizeof h);
	crypto_generichash_update(&gs, (const unsigned char *)tag, sizeof tag);
	const char *parts[2] = {cur, params};
	for (size_t i = 0; i < 2; i++) {
		unsigned char present = parts[i] ? 1 : 0;
		crypto_generichash_update(&gs, &present, 1);
		if (parts[i])
			crypto_generichash_update(&gs, (const unsigned char *)parts[i], strlen(parts[i]) + 1);
	}
	crypto_generichash_final(&gs, h, sizeof h);
	sodium_bin2hex(out, PERSONAL_CONFIG_ID_LEN, h, sizeof h);
}

static void cfg_free(struct personal_cfg *cfg)
{
	if (!cfg)
		return;
	lv_curriculum_destroy(cfg->cur);
	lv_bkt_paramset_destroy(cfg->params);
	free(cfg->hint);
	free(cfg);
}

static void personal_cfg_release(struct lv_node *n)
{
	lv_node_cache_set(n, LV_CACHE_PERSONAL, NULL, NULL);
}

static void cfg_destroy(void *p)
{
	cfg_free(p);
}

/* A stored setting, or NULL when absent. */
static enum lv_status setting_opt(struct lv_node *n, const char *name, char **out)
{
	enum lv_status st = lv_store_settings_get(n, name, out);
	return st == LV_ERR_NOT_FOUND ? LV_OK : st;
}

/* Builds the configuration from node.db.  Texts that no longer parse
 * (they were checked when loaded) leave the defaults in place. */
static enum lv_status cfg_load(struct lv_node *n, struct personal_cfg **out)
{
	*out = NULL;
	char *cur = NULL, *params = NULL, *id = NULL, err[LV_PERSONAL_ERR_LEN];
	struct personal_cfg *cfg = calloc(1, sizeof *cfg);
	enum lv_status st = cfg && (cfg->hint = calloc(PERSONAL_HINT_SLOTS, 1)) ? LV_OK : LV_ERR_NOMEM;
	if (st == LV_OK)
		st = setting_opt(n, SET_CURRICULUM, &cur);
	if (st == LV_OK)
		st = setting_opt(n, SET_PARAMS, &params);
	if (st == LV_OK)
		st = setting_opt(n, SET_CONFIG_ID, &id);
	if (st != LV_OK)
		goto out;
	if (id && strlen(id) == PERSONAL_CONFIG_ID_LEN - 1)
		memcpy(cfg->id, id, PERSONAL_CONFIG_ID_LEN);
	else
		config_id(cur, params, cfg->id);
	if (cur && lv_curriculum_parse(cur, strlen(cur), &cfg->cur, err) != LV_OK)
		cfg->cur = NULL;
	if (params && lv_bkt_paramset_parse(params, strlen(params), &cfg->params, err) == LV_OK)
		cfg->params_loaded = true;
	if (!cfg->params && (st = lv_bkt_paramset_create(NULL, &cfg->params)) != LV_OK)
		goto out;
	lv_fsrs_params_default(&cfg->fsrs);
	lv_elo_config_default(&cfg->elo);
	cfg->correct_threshold = cfg->cur ? cfg->cur->correct_threshold : LV_CORRECT_THRESHOLD;
	cfg->target_retention = cfg->cur ? cfg->cur->target_retention : LV_TARGET_RETENTION;
	cfg->target_success = cfg->cur ? cfg->cur->target_success : LV_ELO_TARGET;
	*out = cfg;
	cfg = NULL;
out:
	cfg_free(cfg);
	free(cur);
	free(params);
	free(id);
	return st;
}

enum lv_status personal_cfg_get_locked(struct lv_node *n, bool refresh, const struct personal_cfg **out)
{
	*out = NULL;
	(void)refresh; /* the store drops the cache when another process commits */
	struct personal_cfg *cfg = lv_node_cache_get(n, LV_CACHE_PERSONAL);
	if (!cfg) {
		enum lv_status st = cfg_load(n, &cfg);
		if (st != LV_OK)
			return st;
		lv_node_cache_set(n, LV_CACHE_PERSONAL, cfg, cfg_destroy);
	}
	*out = cfg;
	return LV_OK;
}

/* Stores @name = @text and the new config id, with an audit entry, in one
 * node.db transaction; the cache is dropped (rebuilt on next use). */
static enum lv_status config_store(struct lv_node *n, const char *name, const char *what, const char *text)
{
	char *cur = NULL, *params = NULL, id[PERSONAL_CONFIG_ID_LEN];
	unsigned char sha[32];
	char sha_hex[65];
	crypto_hash_sha256(sha, (const unsigned char *)text, strlen(text));
	sodium_bin2hex(sha_hex, sizeof sha_hex, sha, sizeof sha);
	struct lv_tx *tx;
	enum lv_status st = lv_tx_begin(n, &tx);
	if (st != LV_OK)
		goto done;
	if ((st = setting_opt(n, SET_CURRICULUM, &cur)) != LV_OK || (st = setting_opt(n, SET_PARAMS, &params)) != LV_OK)
		goto out;
	if (strcmp(name, SET_CURRICULUM) == 0)
		config_id(text, params, id);
	else
		config_id(cur, text, id);
	if ((st = lv_store_settings_put(tx, name, text)) == LV_OK)
		st = lv_store_settings_put(tx, SET_CONFIG_ID, id);
	if (st == LV_OK) {
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "type", "personal-config");
		cJSON_AddStringToObject(e, "what", what);
		cJSON_AddStringToObject(e, "sha256", sha_hex);
		cJSON_AddStringToObject(e, "config_id", id);
		st = lv_tx_audit(tx, e, NULL);
	}
out:
	if (st == LV_OK)
		personal_cfg_release(n);
	st = lv_tx_end(tx, st);
done:
	free(cur);
	free(params);
	return st;
}

enum lv_status lv_personal_curriculum_load(struct lv_node *n, const char *text, size_t len,
					   char err[LV_PERSONAL_ERR_LEN])
{
	struct lv_curriculum *c = NULL;
	enum lv_status st = lv_curriculum_parse(text, len, &c, err);
	if (st != LV_OK)
		return st;
	lv_curriculum_destroy(c);
	/* Stored compact: the same document, whatever the file's layout. */
	cJSON *doc = util_json_parse(text, len);
	char *compact = doc ? cJSON_PrintUnformatted(doc) : NULL;
	cJSON_Delete(doc);
	if (!compact)
		return fail(err, LV_ERR_NOMEM, "out of memory");
	st = config_store(n, SET_CURRICULUM, "curriculum", compact);
	free(compact);
	if (st != LV_OK)
		snprintf(err, LV_PERSONAL_ERR_LEN, "could not store the curriculum: %s", lv_status_str(st));
	return st;
}

enum lv_status lv_personal_params_load(struct lv_node *n, const char *text, size_t len,
				       char err[LV_PERSONAL_ERR_LEN])
{
	struct lv_bkt_paramset *ps = NULL;
	err[0] = '\0';
	enum lv_status st = lv_bkt_paramset_parse(text, len, &ps, err);
	if (st != LV_OK)
		return st;
	char *json = NULL;
	st = lv_bkt_paramset_json(ps, &json);
	lv_bkt_paramset_destroy(ps);
	if (st != LV_OK)
		return fail(err, st, "could not serialise the parameters");
	st = config_store(n, SET_PARAMS, "bkt-params", json);
	free(json);
	if (st != LV_OK)
		snprintf(err, LV_PERSONAL_ERR_LEN, "could not store the parameters: %s", lv_status_str(st));
	return st;
}

enum lv_status lv_personal_config(struct lv_node *n, cJSON **out)
{
	*out = NULL;
	const struct personal_cfg *cfg;
	enum lv_status st = lv_store_lock(n);
	if (st == LV_OK)
		st = personal_cfg_get_locked(n, true, &cfg);
	if (st == LV_OK) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "config_id", cfg->id);
		if (cfg->cur) {
			cJSON *c = cJSON_AddObjectToObject(o, "curriculum");
			cJSON_AddNumberToObject(c, "skills", (double)lv_curriculum_skills(cfg->cur));
			cJSON_AddNumberToObject(c, "activities", (double)lv_curriculum_activities(cfg->cur));
		} else {
			cJSON_AddNullToObject(o, "curriculum");
		}
		if (cfg->params_loaded) {
			cJSON *p = cJSON_AddObjectToObject(o, "bkt_params");
			cJSON_AddNumberToObject(p, "skills", (double)lv_bkt_paramset_count(cfg->params));
		} else {
			cJSON_AddNullToObject(o, "bkt_params");
		}
		*out = o;
	}
	lv_store_unlock(n);
	return st;
}
