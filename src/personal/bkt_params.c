/* BKT parameter sets and the parameter file (strict cJSON loader, writer). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "personal_int.h"
#include "learnvault/util.h"

#define FORMAT_NAME "learnvault-bkt-params"
#define FORMAT_VERSION 1

struct lv_bkt_paramset {
	struct lv_bkt_params defaults;
	struct personal_strtab ids;
	struct lv_bkt_params *p; /* p[i] belongs to ids.names[i] */
	size_t cap;
};

enum lv_status lv_bkt_paramset_create(const struct lv_bkt_params *defaults, struct lv_bkt_paramset **out)
{
	*out = NULL;
	struct lv_bkt_params d;
	if (defaults)
		d = *defaults;
	else
		lv_bkt_params_default(&d);
	if (!lv_bkt_params_valid(&d))
		return LV_ERR_INVALID;
	struct lv_bkt_paramset *ps = calloc(1, sizeof *ps);
	if (!ps)
		return LV_ERR_NOMEM;
	ps->defaults = d;
	personal_strtab_init(&ps->ids);
	*out = ps;
	return LV_OK;
}

void lv_bkt_paramset_destroy(struct lv_bkt_paramset *ps)
{
	if (!ps)
		return;
	personal_strtab_free(&ps->ids);
	free(ps->p);
	free(ps);
}

enum lv_status lv_bkt_paramset_set(struct lv_bkt_paramset *ps, const char *skill, const struct lv_bkt_params *p)
{
	if (!personal_name_ok(skill) || !lv_bkt_params_valid(p))
		return LV_ERR_INVALID;
	long i = personal_strtab_find(&ps->ids, skill);
	if (i >= 0) {
		ps->p[i] = *p;
		return LV_OK;
	}
	if (ps->ids.n >= LV_BKT_PARAMS_MAX_SKILLS)
		return LV_ERR_TOO_LARGE;
	enum lv_status st = util_array_grow((void **)&ps->p, sizeof *ps->p, &ps->cap, ps->ids.n + 1,
					    LV_BKT_PARAMS_MAX_SKILLS);
	if (st != LV_OK)
		return st;
	i = personal_strtab_intern(&ps->ids, skill);
	if (i < 0)
		return LV_ERR_NOMEM;
	ps->p[i] = *p;
	return LV_OK;
}

enum lv_status lv_bkt_paramset_set_defaults(struct lv_bkt_paramset *ps, const struct lv_bkt_params *p)
{
	if (!lv_bkt_params_valid(p))
		return LV_ERR_INVALID;
	ps->defaults = *p;
	return LV_OK;
}

bool lv_bkt_paramset_get(const struct lv_bkt_paramset *ps, const char *skill, struct lv_bkt_params *out)
{
	long i = skill ? personal_strtab_find(&ps->ids, skill) : -1;
	*out = i >= 0 ? ps->p[i] : ps->defaults;
	return i >= 0;
}

void lv_bkt_paramset_defaults(const struct lv_bkt_paramset *ps, struct lv_bkt_params *out)
{
	*out = ps->defaults;
}

size_t lv_bkt_paramset_count(const struct lv_bkt_paramset *ps)
{
	return ps->ids.n;
}

const char *lv_bkt_paramset_skill(const struct lv_bkt_paramset *ps, size_t i, struct lv_bkt_params *out)
{
	if (i >= ps->ids.n) {
		memset(out, 0, sizeof *out);
		return NULL;
	}
	*out = ps->p[i];
	return ps->ids.names[i];
}

/* ---- the file ---- */

/* Sets the error text (LV_PERSONAL_ERR_LEN is LV_ERR_LEN) and is @st. */
#define fail(err, st, ...) (util_errf((err), __VA_ARGS__), (st))

static const char *const FIELDS[5] = {"prior", "learn", "guess", "slip", "forget"};

static double *field_ptr(struct lv_bkt_params *p, int i)
{
	switch (i) {
	case 0: return &p->prior;
	case 1: return &p->learn;
	case 2: return &p->guess;
	case 3: return &p->slip;
	default: return &p->forget;
	}
}

/* Reads the fields @obj names into *@p (others untouched).  *@seen gets a
 * bit per field.  @where names the object in messages. */
static enum lv_status read_fields(const cJSON *obj, struct lv_bkt_params *p, unsigned *seen, const char *where,
				  char err[LV_PERSONAL_ERR_LEN])
{
	*seen = 0;
	if (!cJSON_IsObject(obj))
		return fail(err, LV_ERR_INVALID, "%s must be an object", where);
	for (const cJSON *c = obj->child; c; c = c->next) {
		int f = -1;
		for (int i = 0; i < 5; i++)
			if (c->string && strcmp(c->string, FIELDS[i]) == 0)
				f = i;
		if (f < 0)
			return fail(err, LV_ERR_INVALID, "%s: unknown key \"%.64s\"", where,
				    c->string ? c->string : "");
		if (*seen & (1u << f))
			return fail(err, LV_ERR_INVALID, "%s: duplicate key \"%s\"", where, FIELDS[f]);
		if (!cJSON_IsNumber(c) || !isfinite(c->valuedouble) || c->valuedouble < 0.0 ||
		    c->valuedouble > 1.0)
			return fail(err, LV_ERR_INVALID, "%s: %s must be a number in [0, 1]", where, FIELDS[f]);
		*seen |= 1u << f;
		*field_ptr(p, f) = c->valuedouble;
	}
	return LV_OK;
}

static enum lv_status parse_doc(const cJSON *root, struct lv_bkt_paramset **out, char err[LV_PERSONAL_ERR_LEN])
{
	const cJSON *format = NULL, *version = NULL, *defaults = NULL, *skills = NULL;
	if (!cJSON_IsObject(root))
		return fail(err, LV_ERR_INVALID, "the parameter file must be a JSON object");
	for (const cJSON *c = root->child; c; c = c->next) {
		const cJSON **slot = NULL;
		if (strcmp(c->string, "format") == 0)
			slot = &format;
		else if (strcmp(c->string, "version") == 0)
			slot = &version;
		else if (strcmp(c->string, "defaults") == 0)
			slot = &defaults;
		else if (strcmp(c->string, "skills") == 0)
			slot = &skills;
		else
			return fail(err, LV_ERR_INVALID, "unknown key \"%.64s\"", c->string);
		if (*slot)
			return fail(err, LV_ERR_INVALID, "duplicate key \"%s\"", c->string);
		*slot = c;
	}
	if (!cJSON_IsString(format) || strcmp(format->valuestring, FORMAT_NAME) != 0)
		return fail(err, LV_ERR_INVALID, "\"format\" must be \"" FORMAT_NAME "\"");
	if (!cJSON_IsNumber(version) || version->valuedouble != FORMAT_VERSION)
		return fail(err, LV_ERR_UNSUPPORTED, "\"version\" must be %d", FORMAT_VERSION);
	if (!defaults)
		return fail(err, LV_ERR_INVALID, "\"defaults\" is required");
	struct lv_bkt_params d = {0};
	unsigned seen;
	enum lv_status st = read_fields(defaults, &d, &seen, "defaults", err);
	if (st != LV_OK)
		return st;
	if ((seen & 0xf) != 0xf)
		return fail(err, LV_ERR_INVALID, "defaults: prior, learn, guess and slip are required");
	if (!lv_bkt_params_valid(&d))
		return fail(err, LV_ERR_INVALID, "defaults: guess + slip must be below 1");
	if (skills && !cJSON_IsObject(skills))
		return fail(err, LV_ERR_INVALID, "\"skills\" must be an object");
	struct lv_bkt_paramset *ps = NULL;
	st = lv_bkt_paramset_create(&d, &ps);
	if (st != LV_OK)
		return fail(err, st, "%s", lv_status_str(st));
	size_t count = 0;
	for (const cJSON *c = skills ? skills->child : NULL; c; c = c->next) {
		if (++count > LV_BKT_PARAMS_MAX_SKILLS) {
			st = fail(err, LV_ERR_TOO_LARGE, "more than %u skills", LV_BKT_PARAMS_MAX_SKILLS);
			goto out;
		}
		if (!personal_name_ok(c->string)) {
			st = fail(err, LV_ERR_INVALID, "skill %zu: bad skill id", count);
			goto out;
		}
		if (personal_strtab_find(&ps->ids, c->string) >= 0) {
			st = fail(err, LV_ERR_INVALID, "duplicate skill \"%.64s\"", c->string);
			goto out;
		}
		struct lv_bkt_params p = d;
		char where[96];
		snprintf(where, sizeof where, "skill \"%.64s\"", c->string);
		st = read_fields(c, &p, &seen, where, err);
		if (st != LV_OK)
			goto out;
		if (!lv_bkt_params_valid(&p)) {
			st = fail(err, LV_ERR_INVALID, "%s: guess + slip must be below 1", where);
			goto out;
		}
		st = lv_bkt_paramset_set(ps, c->string, &p);
		if (st != LV_OK) {
			util_errf(err, "%s: %s", where, lv_status_str(st));
			goto out;
		}
	}
out:
	if (st != LV_OK) {
		lv_bkt_paramset_destroy(ps);
		return st;
	}
	*out = ps;
	return LV_OK;
}

enum lv_status lv_bkt_paramset_parse(const char *text, size_t len, struct lv_bkt_paramset **out,
				     char err[LV_PERSONAL_ERR_LEN])
{
	*out = NULL;
	err[0] = 0;
	if (!text)
		return fail(err, LV_ERR_INVALID, "no text");
	if (len > LV_BKT_PARAMS_MAX_BYTES)
		return fail(err, LV_ERR_TOO_LARGE, "the parameter file is over %u bytes", LV_BKT_PARAMS_MAX_BYTES);
	cJSON *root = util_json_parse(text, len);
	if (!root)
		return fail(err, LV_ERR_INVALID, "not a single valid JSON value");
	enum lv_status st = parse_doc(root, out, err);
	cJSON_Delete(root);
	return st;
}

enum lv_status lv_bkt_paramset_load(const char *path, struct lv_bkt_paramset **out, char err[LV_PERSONAL_ERR_LEN])
{
	*out = NULL;
	err[0] = 0;
	char *text = NULL;
	size_t len = 0;
	enum lv_status st = util_read_file(path, LV_BKT_PARAMS_MAX_BYTES, &text, &len);
	if (st == LV_ERR_TOO_LARGE)
		return fail(err, st, "%s: over %u bytes", path, LV_BKT_PARAMS_MAX_BYTES);
	if (st != LV_OK)
		return fail(err, st == LV_ERR_NOMEM ? st : LV_ERR_IO, "%s: cannot read (%s)", path,
			    lv_status_str(st));
	st = lv_bkt_paramset_parse(text, len, out, err);
	free(text);
	return st;
}

static cJSON *params_json(const struct lv_bkt_params *p)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	struct lv_bkt_params c = *p;
	for (int i = 0; i < 5; i++)
		if (!cJSON_AddNumberToObject(o, FIELDS[i], *field_ptr(&c, i))) {
			cJSON_Delete(o);
			return NULL;
		}
	return o;
}

enum lv_status lv_bkt_paramset_json(const struct lv_bkt_paramset *ps, char **json)
{
	*json = NULL;
	enum lv_status st = LV_ERR_NOMEM;
	cJSON *root = cJSON_CreateObject(), *skills = NULL, *d = params_json(&ps->defaults);
	if (!root || !d)
		goto out;
	if (!cJSON_AddStringToObject(root, "format", FORMAT_NAME) ||
	    !cJSON_AddNumberToObject(root, "version", FORMAT_VERSION))
		goto out;
	cJSON_AddItemToObject(root, "defaults", d);
	d = NULL;
	skills = cJSON_AddObjectToObject(root, "skills");
	if (!skills)
		goto out;
	for (size_t i = 0; i < ps->ids.n; i++) {
		cJSON *o = params_json(&ps->p[i]);
		if (!o)
			goto out;
		cJSON_AddItemToObject(skills, ps->ids.names[i], o);
	}
	*json = cJSON_Print(root);
	st = *json ? LV_OK : LV_ERR_NOMEM;
out:
	cJSON_Delete(d);
	cJSON_Delete(root);
	return st;
}

enum lv_status lv_bkt_paramset_save(const struct lv_bkt_paramset *ps, const char *path)
{
	char *json = NULL;
	enum lv_status st = lv_bkt_paramset_json(ps, &json);
	if (st != LV_OK)
		return st;
	size_t len = strlen(json);
	char *text = realloc(json, len + 2);
	if (!text) {
		free(json);
		return LV_ERR_NOMEM;
	}
	text[len] = '\n';
	text[len + 1] = 0;
	st = util_write_file(path, text, len + 1, 0644, false);
	free(text);
	return st;
}
