/* The learner's views of their model state: next activities, mastery per
 * skill, due reviews, computed from the stored state under the node lock.
 * The learner's door (door/personal.c) decides and logs each before it is
 * handed back. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "learnvault/store.h"
#include "recommend_int.h"
#include "learnvault/util.h"


struct view {
	const struct personal_cfg *cfg;
	const struct personal_state *st;
	int64_t now;
};

static void add_time(cJSON *o, const char *name, int64_t ms)
{
	char t[UTIL_TIME_LEN];
	util_time_format(ms, t);
	cJSON_AddStringToObject(o, name, t);
}

static const char *skill_name(const struct view *v, const char *id)
{
	const struct lv_curriculum *c = v->cfg->cur;
	long k = c ? personal_strtab_find(&c->skill_ids, id) : -1;
	return k >= 0 && c->skills[k].name ? c->skills[k].name : id;
}

/* P(known) now: the state's, or the skill's prior before any response. */
static double mastery_of(const struct view *v, const char *id, const struct personal_skill **sk)
{
	const struct personal_skill *s = personal_state_skill(v->st, id);
	if (sk)
		*sk = s;
	if (s)
		return s->known;
	struct lv_bkt_params p;
	lv_bkt_paramset_get(v->cfg->params, id, &p);
	return p.prior;
}

/* Every prerequisite (curriculum skills only have any) mastered. */
static bool prereqs_mastered(const struct view *v, const char *id, size_t *nprereq)
{
	const struct lv_curriculum *c = v->cfg->cur;
	long k = c ? personal_strtab_find(&c->skill_ids, id) : -1;
	*nprereq = k >= 0 ? c->skills[k].nprereq : 0;
	for (size_t i = 0; i < *nprereq; i++)
		if (mastery_of(v, c->skill_ids.names[c->skills[k].prereq[i]], NULL) < LV_BKT_MASTERY)
			return false;
	return true;
}

static double recall_now(const struct view *v, const struct personal_item *it)
{
	return lv_fsrs_retrievability(&v->cfg->fsrs, (double)(v->now - it->last_review_ms) / (double)UTIL_DAY_MS, it->stability);
}

/* When recall falls to the target retention. */
static int64_t due_ms(const struct view *v, const struct personal_item *it)
{
	double days = 0;
	if (lv_fsrs_interval(&v->cfg->fsrs, it->stability, v->cfg->target_retention, &days) != LV_OK)
		days = 0;
	return it->last_review_ms + (int64_t)llround(days * (double)UTIL_DAY_MS);
}

static double p_success(const struct view *v, const char *activity)
{
	const struct personal_item *it = personal_state_item(v->st, activity);
	return lv_elo_prob(v->st->l.theta - (it ? it->b : 0.0), 0);
}

/* The first skill of an activity, for display: the curriculum's, or the
 * first of those its statements named.  @buf: room for one id. */
static const char *first_skill(const struct view *v, const struct personal_item *it, char buf[LV_PERSONAL_NAME_MAX + 1])
{
	const struct lv_curriculum *c = v->cfg->cur;
	long k = c ? personal_strtab_find(&c->act_ids, it->activity) : -1;
	if (k >= 0 && c->act_nskills[k])
		return c->skill_ids.names[c->act_skills[k][0]];
	if (!it->skills)
		return NULL;
	size_t n = strcspn(it->skills, ",");
	if (n == 0 || n > LV_PERSONAL_NAME_MAX)
		return NULL;
	memcpy(buf, it->skills, n);
	buf[n] = '\0';
	return buf;
}

static bool list_has(const char *list, const char *id)
{
	size_t n = strlen(id);
	for (const char *p = list; p && *p;) {
		size_t m = strcspn(p, ",");
		if (m == n && memcmp(p, id, n) == 0)
			return true;
		p += m + (p[m] == ',');
	}
	return false;
}

/* ---- /learner/next ---- */

struct rev {
	const struct personal_item *it;
	double r;
};

static int cmp_rev(const void *a, const void *b)
{
	const struct rev *x = a, *y = b;
	if (x->r != y->r)
		return x->r < y->r ? -1 : 1;
	return strcmp(x->it->activity, y->it->activity);
}

struct prac {
	const char *skill;
	double mastery;
	long order; /* curriculum index, or LONG_MAX-ish for others */
};

static int cmp_prac(const void *a, const void *b)
{
	const struct prac *x = a, *y = b;
	if (x->mastery != y->mastery)
		return x->mastery < y->mastery ? -1 : 1;
	if (x->order != y->order)
		return x->order < y->order ? -1 : 1;
	return strcmp(x->skill, y->skill);
}

/* The activity for @skill whose predicted success is nearest the target,
 * not yet used (ties: the smaller id).  NULL when none is left. */
static const char *pick_activity(const struct view *v, const char *skill, const struct personal_strtab *used,
				 double *p_out)
{
	const char *best = NULL;
	double best_d = INFINITY, best_p = 0;
	const struct lv_curriculum *c = v->cfg->cur;
	long k = c ? personal_strtab_find(&c->skill_ids, skill) : -1;
	size_t ncur = k >= 0 ? c->skills[k].nacts : 0;
	for (size_t i = 0; i < ncur + v->st->nitems; i++) {
		const char *a;
		if (i < ncur) {
			a = c->act_ids.names[c->skills[k].acts[i]];
		} else {
			const struct personal_item *it = &v->st->items[i - ncur];
			if (!it->skills || !list_has(it->skills, skill))
				continue;
			a = it->activity;
		}
		if (personal_strtab_find(used, a) >= 0)
			continue;
		double p = p_success(v, a);
		double d = fabs(p - v->cfg->target_success);
		if (!best || d < best_d || (d == best_d && strcmp(a, best) < 0)) {
			best = a;
			best_d = d;
			best_p = p;
		}
	}
	*p_out = best_p;
	return best;
}

static cJSON *item_json(const char *activity, const char *skill, const char *kind, const char *reason, double score)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "activity", activity);
	if (skill)
		cJSON_AddStringToObject(o, "skill", skill);
	cJSON_AddStringToObject(o, "kind", kind);
	cJSON_AddStringToObject(o, "reason", reason);
	cJSON_AddNumberToObject(o, "score", score);
	return o;
}

/* The list being built: its items array, the activities already in it
 * (each is suggested once) and the room left. */
struct next_list {
	cJSON *items;
	struct personal_strtab used;
	size_t n;
	unsigned limit;
};

/* Appends @e and marks @activity used. */
static enum lv_status next_add(struct next_list *l, cJSON *e, const char *activity)
{
	cJSON_AddItemToArray(l->items, e);
	l->n++;
	return personal_strtab_intern(&l->used, activity) < 0 ? LV_ERR_NOMEM : LV_OK;
}

/* 1. Reviews whose predicted recall fell below the target, lowest first. */
static enum lv_status next_reviews(const struct view *v, struct next_list *l)
{
	char reason[LV_SKILL_NAME_MAX + 160], sbuf[LV_PERSONAL_NAME_MAX + 1];
	enum lv_status st = LV_OK;
	struct rev *revs = calloc(v->st->nitems ? v->st->nitems : 1, sizeof *revs);
	size_t nrev = 0;
	if (!revs)
		return LV_ERR_NOMEM;
	for (size_t i = 0; i < v->st->nitems; i++) {
		const struct personal_item *it = &v->st->items[i];
		if (!it->has_memory)
			continue;
		double r = recall_now(v, it);
		if (r < v->cfg->target_retention)
			revs[nrev++] = (struct rev){it, r};
	}
	if (nrev)
		qsort(revs, nrev, sizeof *revs, cmp_rev);
	for (size_t i = 0; i < nrev && l->n < l->limit && st == LV_OK; i++) {
		snprintf(reason, sizeof reason, "review: predicted recall %.2f below target %.2f", revs[i].r,
			 v->cfg->target_retention);
		cJSON *e = item_json(revs[i].it->activity, first_skill(v, revs[i].it, sbuf), "review", reason, revs[i].r);
		cJSON_AddNumberToObject(e, "recall", revs[i].r);
		add_time(e, "due", due_ms(v, revs[i].it));
		cJSON_AddNumberToObject(e, "stability", revs[i].it->stability);
		st = next_add(l, e, revs[i].it->activity);
	}
	free(revs);
	return st;
}

/* 2. Practice: started skills, not mastered, prerequisites mastered;
 * least mastered first. */
static enum lv_status next_practice(const struct view *v, struct next_list *l)
{
	char reason[LV_SKILL_NAME_MAX + 160];
	const struct lv_curriculum *c = v->cfg->cur;
	enum lv_status st = LV_OK;
	struct prac *pr = calloc(v->st->nskills ? v->st->nskills : 1, sizeof *pr);
	size_t npr = 0;
	if (!pr)
		return LV_ERR_NOMEM;
	for (size_t i = 0; i < v->st->nskills; i++) {
		const struct personal_skill *s = &v->st->skills[i];
		size_t np;
		if (s->responses == 0 || s->known >= LV_BKT_MASTERY || !prereqs_mastered(v, s->skill, &np))
			continue;
		long k = c ? personal_strtab_find(&c->skill_ids, s->skill) : -1;
		pr[npr++] = (struct prac){s->skill, s->known, k >= 0 ? k : (long)LV_CURRICULUM_MAX_SKILLS};
	}
	if (npr)
		qsort(pr, npr, sizeof *pr, cmp_prac);
	for (size_t i = 0; i < npr && l->n < l->limit && st == LV_OK; i++) {
		double p;
		const char *a = pick_activity(v, pr[i].skill, &l->used, &p);
		if (!a)
			continue;
		size_t np;
		prereqs_mastered(v, pr[i].skill, &np);
		snprintf(reason, sizeof reason, "practise %s: mastery %.2f, %s; predicted success %.2f",
			 skill_name(v, pr[i].skill), pr[i].mastery, np ? "prerequisites mastered" : "no prerequisites", p);
		cJSON *e = item_json(a, pr[i].skill, "practice", reason, pr[i].mastery);
		cJSON_AddNumberToObject(e, "mastery", pr[i].mastery);
		cJSON_AddNumberToObject(e, "p_success", p);
		st = next_add(l, e, a);
	}
	free(pr);
	return st;
}

/* 3. New skills of the curriculum whose prerequisites are mastered, in
 * curriculum order. */
static enum lv_status next_new_skills(const struct view *v, struct next_list *l)
{
	char reason[LV_SKILL_NAME_MAX + 160];
	const struct lv_curriculum *c = v->cfg->cur;
	enum lv_status st = LV_OK;
	for (size_t k = 0; c && k < c->skill_ids.n && l->n < l->limit && st == LV_OK; k++) {
		const char *id = c->skill_ids.names[k];
		const struct personal_skill *s;
		double m = mastery_of(v, id, &s);
		size_t np;
		if ((s && s->responses) || m >= LV_BKT_MASTERY || !prereqs_mastered(v, id, &np))
			continue;
		double p;
		const char *a = pick_activity(v, id, &l->used, &p);
		if (!a)
			continue;
		snprintf(reason, sizeof reason, "start %s: %s; predicted success %.2f", skill_name(v, id),
			 np ? "prerequisites mastered" : "no prerequisites", p);
		cJSON *e = item_json(a, id, "new", reason, m);
		cJSON_AddNumberToObject(e, "mastery", m);
		cJSON_AddNumberToObject(e, "p_success", p);
		st = next_add(l, e, a);
	}
	return st;
}

static enum lv_status build_next(const struct view *v, unsigned limit, cJSON **out, size_t *count)
{
	struct next_list l = {.limit = limit};
	personal_strtab_init(&l.used);
	cJSON *o = cJSON_CreateObject();
	add_time(o, "generated", v->now);
	cJSON_AddNumberToObject(o, "target_retention", v->cfg->target_retention);
	cJSON_AddNumberToObject(o, "mastery_threshold", LV_BKT_MASTERY);
	cJSON_AddNumberToObject(o, "target_success", v->cfg->target_success);
	l.items = cJSON_AddArrayToObject(o, "items");
	enum lv_status st = next_reviews(v, &l);
	if (st == LV_OK)
		st = next_practice(v, &l);
	if (st == LV_OK)
		st = next_new_skills(v, &l);
	personal_strtab_free(&l.used);
	if (st != LV_OK) {
		cJSON_Delete(o);
		return st;
	}
	*out = o;
	*count = l.n;
	return LV_OK;
}

/* ---- /learner/mastery ---- */

static cJSON *skill_json(const struct view *v, const char *id)
{
	const struct personal_skill *s;
	double m = mastery_of(v, id, &s);
	struct lv_bkt_params p;
	lv_bkt_paramset_get(v->cfg->params, id, &p);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "skill", id);
	cJSON_AddStringToObject(o, "name", skill_name(v, id));
	cJSON_AddNumberToObject(o, "mastery", m);
	cJSON_AddBoolToObject(o, "mastered", m >= LV_BKT_MASTERY);
	cJSON_AddNumberToObject(o, "p_correct", lv_bkt_p_correct(&p, m));
	cJSON_AddNumberToObject(o, "responses", s ? s->responses : 0);
	cJSON_AddNumberToObject(o, "correct", s ? s->correct : 0);
	if (s)
		add_time(o, "last_response", s->updated_ms);
	else
		cJSON_AddNullToObject(o, "last_response");
	cJSON *pre = cJSON_AddArrayToObject(o, "prerequisites");
	const struct lv_curriculum *c = v->cfg->cur;
	long k = c ? personal_strtab_find(&c->skill_ids, id) : -1;
	for (size_t i = 0; k >= 0 && i < c->skills[k].nprereq; i++)
		cJSON_AddItemToArray(pre, cJSON_CreateString(c->skill_ids.names[c->skills[k].prereq[i]]));
	size_t np;
	cJSON_AddBoolToObject(o, "prerequisites_mastered", prereqs_mastered(v, id, &np));
	return o;
}

static enum lv_status build_mastery(const struct view *v, cJSON **out, size_t *count)
{
	const struct lv_curriculum *c = v->cfg->cur;
	cJSON *o = cJSON_CreateObject();
	add_time(o, "generated", v->now);
	cJSON_AddNumberToObject(o, "mastery_threshold", LV_BKT_MASTERY);
	cJSON *ab = cJSON_AddObjectToObject(o, "ability");
	cJSON_AddNumberToObject(ab, "theta", v->st->l.theta);
	cJSON_AddNumberToObject(ab, "answers", v->st->l.answers);
	cJSON *arr = cJSON_AddArrayToObject(o, "skills");
	size_t n = 0;
	for (size_t k = 0; c && k < c->skill_ids.n; k++, n++)
		cJSON_AddItemToArray(arr, skill_json(v, c->skill_ids.names[k]));
	for (size_t i = 0; i < v->st->nskills; i++) {
		const char *id = v->st->skills[i].skill;
		if (c && personal_strtab_find(&c->skill_ids, id) >= 0)
			continue;
		cJSON_AddItemToArray(arr, skill_json(v, id));
		n++;
	}
	*out = o;
	*count = n;
	return LV_OK;
}

/* ---- /learner/reviews ---- */

struct due {
	const struct personal_item *it;
	int64_t due;
	double r;
};

static int cmp_due(const void *a, const void *b)
{
	const struct due *x = a, *y = b;
	if (x->due != y->due)
		return x->due < y->due ? -1 : 1;
	return strcmp(x->it->activity, y->it->activity);
}

static enum lv_status build_reviews(const struct view *v, unsigned limit, cJSON **out, size_t *count)
{
	struct due *d = calloc(v->st->nitems ? v->st->nitems : 1, sizeof *d);
	if (!d)
		return LV_ERR_NOMEM;
	size_t nd = 0;
	bool have_next = false;
	int64_t next = 0;
	for (size_t i = 0; i < v->st->nitems; i++) {
		const struct personal_item *it = &v->st->items[i];
		if (!it->has_memory)
			continue;
		double r = recall_now(v, it);
		int64_t when = due_ms(v, it);
		if (r < v->cfg->target_retention) {
			d[nd++] = (struct due){it, when, r};
		} else if (!have_next || when < next) {
			next = when;
			have_next = true;
		}
	}
	if (nd)
		qsort(d, nd, sizeof *d, cmp_due);
	cJSON *o = cJSON_CreateObject();
	add_time(o, "generated", v->now);
	cJSON_AddNumberToObject(o, "target_retention", v->cfg->target_retention);
	cJSON *arr = cJSON_AddArrayToObject(o, "reviews");
	size_t n = 0;
	for (; n < nd && n < limit; n++) {
		const struct personal_item *it = d[n].it;
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "activity", it->activity);
		add_time(e, "due", d[n].due);
		cJSON_AddNumberToObject(e, "recall", d[n].r);
		cJSON_AddNumberToObject(e, "stability", it->stability);
		cJSON_AddNumberToObject(e, "difficulty", it->difficulty);
		cJSON_AddNumberToObject(e, "reviews", it->reviews);
		cJSON_AddNumberToObject(e, "lapses", it->lapses);
		add_time(e, "last_review", it->last_review_ms);
		cJSON_AddNumberToObject(e, "last_grade", it->last_grade);
		cJSON_AddItemToArray(arr, e);
	}
	if (have_next)
		add_time(o, "next_due", next);
	else
		cJSON_AddNullToObject(o, "next_due");
	free(d);
	*out = o;
	*count = n;
	return LV_OK;
}

/* ---- the three reads ---- */

enum view_kind { VIEW_NEXT, VIEW_MASTERY, VIEW_REVIEWS };

enum lv_status lv_personal_view(struct lv_node *n, const char *learner, enum lv_personal_view_kind kind,
				unsigned limit, int64_t now, cJSON **out, size_t *count)
{
	const struct personal_cfg *cfg;
	struct personal_state state;
	cJSON *o = NULL;
	*out = NULL;
	*count = 0;
	if (!util_pseudonym_valid(learner))
		return LV_ERR_INVALID;
	if (kind == LV_PERSONAL_VIEW_NEXT)
		limit = limit == 0 ? LV_NEXT_LIMIT_DEFAULT : limit > LV_NEXT_LIMIT_MAX ? LV_NEXT_LIMIT_MAX : limit;
	else if (kind == LV_PERSONAL_VIEW_REVIEWS && (limit == 0 || limit > LV_REVIEWS_LIMIT_MAX))
		limit = LV_REVIEWS_LIMIT_MAX;
	memset(&state, 0, sizeof state);
	enum lv_status st = lv_store_lock(n);
	if (st == LV_OK)
		st = personal_cfg_get_locked(n, true, &cfg);
	if (st == LV_OK)
		st = personal_state_load_locked(n, learner, cfg, &state);
	if (st == LV_OK) {
		/* Built under the lock: @cfg may be replaced once it is released. */
		struct view v = {.cfg = cfg, .st = &state, .now = now};
		if (kind == LV_PERSONAL_VIEW_NEXT)
			st = build_next(&v, limit, &o, count);
		else if (kind == LV_PERSONAL_VIEW_MASTERY)
			st = build_mastery(&v, &o, count);
		else
			st = build_reviews(&v, limit, &o, count);
	}
	personal_state_free(&state);
	lv_store_unlock(n);
	if (st != LV_OK) {
		cJSON_Delete(o);
		*count = 0;
		return st;
	}
	*out = o;
	return LV_OK;
}
