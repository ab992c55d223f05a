/* The federated upload: the aggregate door's rules, with the sum made by
 * two DAP aggregators instead of this node (docs/federation.md).
 *
 * consent cohort -> budget -> not uploaded yet for this interval -> each
 * learner's bounded measurement (no lock, from the snapshot) -> sealed
 * Prio3 reports -> one node.db transaction: access entries, charges, the
 * release entry, the learners marked, the reports in the outbox -> only
 * then the outbox is sent to the Leader.  The phases are the aggregate
 * door's (query.h, "door.c"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "learnvault/store.h"
#include "query.h"
#include "learnvault/util.h"

#define REPORT_MAX (1u << 22) /* bytes of one encoded report */

/* One upload across its phases. */
struct fed {
	const struct lv_principal *who;
	struct fed_task t;
	const struct lv_federate_progress *progress;
	int64_t now, interval;    /* interval: the batch interval's start, in seconds */
	double mono0;             /* when phase 1 began (util_mono_s) */
	char qid[LV_QUERY_ID_MAX + 1];
	char *question;           /* the canonical task, the release's question */
	char sha[65];
	const char *fname;
	struct lv_consent_scope scope;
	struct door d1;           /* phase 1's cohort, less the learners uploaded before */
	struct plan pl;
	struct contrib *c;        /* per d1.inc[i] */
	struct buf *reports;      /* per d1.inc[i]; empty: nothing to report */
	struct lv_fed_client *client;
	/* the summary */
	int64_t enrolled;
	size_t no_budget, already, no_value, changed, included;
	size_t sent, rejected, pending;
	bool released, stalled;       /* stalled: the Leader could not be asked about a report */
	char *err;
};

static void progress(const struct fed *f, const char *stage, size_t done, size_t total)
{
	if (f->progress && f->progress->fn)
		f->progress->fn(f->progress->ctx, stage, done, total);
}

/* Keeps in @d->inc the learners not uploaded for this task and interval
 * yet; *@dropped: how many were. */
static enum lv_status drop_uploaded_locked(struct lv_node *n, const struct fed *f, struct door *d, size_t *dropped,
					   size_t *from)
{
	bool *up = calloc(d->ninc ? d->ninc : 1, sizeof *up);
	if (!up)
		return LV_ERR_NOMEM;
	enum lv_status st = lv_store_fed_uploaded(n, f->t.id_b64, f->interval, d->inc, d->ninc, up);
	size_t k = 0;
	for (size_t i = 0; st == LV_OK && i < d->ninc; i++) {
		if (up[i])
			continue;
		if (from)
			from[k] = from[i];
		d->inc[k] = d->inc[i];
		d->incm[k] = d->incm[i];
		k++;
	}
	if (st == LV_OK) {
		*dropped = d->ninc - k;
		d->ninc = k;
	}
	free(up);
	return st;
}

/* Phase 1 (lock held, in a transaction). */
static enum lv_status prepare_locked(struct lv_node *n, void *ctx)
{
	struct fed *f = ctx;
	enum lv_status st;
	if ((st = lv_store_facts_fold(n)) != LV_OK || (st = door_policy_locked(n, &f->d1, f->err)) != LV_OK ||
	    (st = query_check_policy(&f->t.q, &f->scope, f->d1.pol.p, f->err)) != LV_OK)
		return st;
	/* The aggregators enforce the batch size; the node refuses a task
	 * whose batches may be smaller than its own policy's smallest cohort. */
	if (f->t.min_batch < lv_policy_min_cohort(f->d1.pol.p)) {
		snprintf(f->err, LV_QUERY_ERR_LEN, "the task's min_batch_size %llu is below the policy's min_cohort %u",
			 (unsigned long long)f->t.min_batch, (unsigned)lv_policy_min_cohort(f->d1.pol.p));
		return LV_ERR_FORBIDDEN;
	}
	if ((st = door_cohort_locked(n, &f->d1, f->err)) != LV_OK)
		return st;
	f->no_budget = f->d1.nmembers - f->d1.ninc;
	if ((st = drop_uploaded_locked(n, f, &f->d1, &f->already, NULL)) != LV_OK ||
	    (st = query_plan_locked(n, &f->pl, f->d1.pol.p, f->now)) != LV_OK ||
	    (st = door_voided_locked(n, &f->d1)) != LV_OK)
		return st;
	size_t m = f->d1.ninc ? f->d1.ninc : 1;
	f->c = calloc(m, sizeof *f->c);
	f->reports = calloc(m, sizeof *f->reports);
	if (!f->c || !f->reports)
		return LV_ERR_NOMEM;
	for (size_t i = 0; i < m; i++)
		buf_init(&f->reports[i], REPORT_MAX);
	return LV_OK;
}

static enum lv_status snapshot_locked(struct lv_node *n, void *ctx)
{
	struct fed *f = ctx;
	enum lv_status st = door_hold(n, &f->d1);
	return st != LV_OK ? st : lv_store_snapshot_begin_locked(n);
}

/* Phase 2, after the snapshot is given back: each learner's sealed
 * report (none for a learner with nothing to report). */
static enum lv_status seal_reports(struct fed *f)
{
	for (size_t i = 0; i < f->d1.ninc; i++) {
		uint64_t m[2];
		size_t nm;
		if (!fed_measurement(&f->t, &f->c[i], m, &nm)) {
			f->no_value++;
			continue;
		}
		enum lv_status st = lv_fed_client_report(f->client, m, nm, f->now, &f->reports[i], f->err);
		sodium_memzero(m, sizeof m);
		if (st != LV_OK)
			return st;
		if ((i + 1) % 256 == 0 || i + 1 == f->d1.ninc)
			progress(f, "reports", i + 1, f->d1.ninc);
	}
	return LV_OK;
}

/* The release's answer: what left for where, nothing measured. */
static cJSON *release_answer(const struct fed *f, size_t reports)
{
	cJSON *a = cJSON_CreateObject();
	char t[UTIL_TIME_LEN];
	cJSON_AddStringToObject(a, "federated_task", f->t.id_b64);
	cJSON_AddStringToObject(a, "leader", f->t.leader);
	cJSON_AddStringToObject(a, "helper", f->t.helper);
	util_time_format(f->interval * 1000, t);
	cJSON_AddStringToObject(a, "interval_start", t);
	cJSON_AddNumberToObject(a, "reports", (double)reports);
	cJSON_AddNumberToObject(a, "epsilon", (double)f->t.q.eps_micro_ceil / 1e6);
	return a;
}

/* Phase 3 (lock held, in a transaction): the cohort again, kept to the
 * learners of phase 1 with a report and still not uploaded; their access
 * entries, charges, the release, the marks, the outbox. */
static enum lv_status release_locked(struct lv_node *n, void *ctx)
{
	struct fed *f = ctx;
	struct door d = {.purpose = f->t.q.purpose, .qid = f->qid, .sha = f->sha, .eps_ceil = f->t.q.eps_micro_ceil,
			 .now = door_now(f->now, f->mono0), .actor = f->d1.actor, .question = f->question,
			 .hold = f->d1.hold};
	size_t *from = NULL, dropped = 0;
	cJSON *ans = NULL;
	char *text = NULL;
	enum lv_status st;
	if ((st = door_recheck_locked(n, &d, &f->d1, &from, f->err)) != LV_OK)
		goto out;
	size_t k = 0;
	for (size_t i = 0; i < d.ninc; i++)
		if (f->reports[from[i]].len) {
			from[k] = from[i];
			d.inc[k] = d.inc[i];
			d.incm[k++] = d.incm[i];
		}
	d.ninc = k;
	if ((st = drop_uploaded_locked(n, f, &d, &dropped, from)) != LV_OK)
		goto out;
	/* Phase 1's learners with a report who are not released now. */
	(void)dropped;
	f->changed = (f->d1.ninc - f->no_value) - d.ninc;
	if (d.ninc == 0)
		goto out; /* nothing leaves, nothing is charged or logged */
	if ((st = door_access_locked(n, f->who, &d, &f->scope)) != LV_OK ||
	    !(ans = release_answer(f, d.ninc)) || (st = door_release_locked(n, f->who, &d, ans, &text)) != LV_OK ||
	    (st = lv_store_fed_mark_uploaded(n, f->t.id_b64, f->interval, d.inc, d.ninc)) != LV_OK)
		goto out;
	for (size_t i = 0; i < d.ninc && st == LV_OK; i++) {
		const struct buf *r = &f->reports[from[i]];
		st = lv_store_fed_outbox_put(n, f->t.id_b64, (const unsigned char *)r->data, r->len, d.now);
	}
	if (st == LV_OK) {
		f->released = true;
		f->included = d.ninc;
	}
out:
	if (!ans && st == LV_OK && d.ninc)
		st = LV_ERR_NOMEM;
	lv_store_budget_unhold(n, f->d1.hold);
	cJSON_Delete(ans);
	free(text);
	free(from);
	door_free(&d);
	return st;
}

/* ---- the outbox ---- */

#define OUTBOX_BATCH 256 /* reports read, and removed, per transaction */

struct outbox_step {
	const char *task;
	int64_t after;
	struct lv_store_fed_report *items;
	size_t n;
	int64_t done[OUTBOX_BATCH]; /* ids to remove */
	size_t ndone;
};

static enum lv_status outbox_batch_locked(struct lv_node *n, void *ctx)
{
	struct outbox_step *o = ctx;
	return lv_store_fed_outbox_batch(n, o->task, o->after, OUTBOX_BATCH, &o->items, &o->n);
}

static enum lv_status outbox_drop_locked(struct lv_node *n, void *ctx)
{
	struct outbox_step *o = ctx;
	return lv_store_fed_outbox_delete(n, o->done, o->ndone);
}

/* Sends one batch in order; *@stop when the Leader could not be asked
 * about a report (it stays, with those after it, for the next upload). */
static void send_batch(struct fed *f, struct outbox_step *o, size_t *sent_so_far, bool *stop)
{
	for (size_t i = 0; i < o->n; i++) {
		char err[LV_QUERY_ERR_LEN];
		enum lv_status up = lv_fed_client_upload(f->client, o->items[i].report, o->items[i].len, err);
		if (up == LV_OK) {
			f->sent++;
		} else if (up == LV_ERR_INVALID || up == LV_ERR_CRYPTO) {
			f->rejected++; /* refused for good: kept, it would be resent forever */
		} else {
			snprintf(f->err, LV_QUERY_ERR_LEN, "%s", err);
			*stop = true;
			return;
		}
		o->done[o->ndone++] = o->items[i].id;
		o->after = o->items[i].id;
		if (++*sent_so_far % 256 == 0 || *sent_so_far == f->included)
			progress(f, "upload", *sent_so_far, f->included);
	}
}

/* Sends the task's outbox, oldest first; a report the Leader took, or
 * refused for good, leaves it (removed a batch at a time: a crash before
 * the removal resends the batch, and the Leader refuses the repeats by
 * their report ids). */
static enum lv_status send_outbox(struct lv_node *n, struct fed *f)
{
	struct outbox_step o = {.task = f->t.id_b64};
	size_t done = 0;
	bool stop = false;
	enum lv_status st = LV_OK;
	while (!stop) {
		if ((st = door_tx(n, outbox_batch_locked, NULL, &o)) != LV_OK)
			break;
		if (o.n == 0) {
			lv_store_fed_reports_free(o.items, 0);
			break;
		}
		o.ndone = 0;
		send_batch(f, &o, &done, &stop);
		lv_store_fed_reports_free(o.items, o.n);
		o.items = NULL;
		if (o.ndone && (st = door_tx(n, outbox_drop_locked, NULL, &o)) != LV_OK)
			break;
	}
	f->stalled = stop;
	return st;
}

static enum lv_status outbox_count_locked(struct lv_node *n, void *ctx)
{
	struct fed *f = ctx;
	cJSON *tasks = NULL;
	enum lv_status st = lv_store_fed_task_list(n, &tasks);
	const cJSON *t;
	cJSON_ArrayForEach(t, tasks)
	{
		const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(t, "task_id"));
		if (id && strcmp(id, f->t.id_b64) == 0)
			f->pending = (size_t)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(t, "outbox"));
	}
	cJSON_Delete(tasks);
	return st;
}

/* ---- the use case ---- */

static char *summary(const struct fed *f)
{
	cJSON *s = cJSON_CreateObject(), *x = cJSON_CreateObject();
	char t[UTIL_TIME_LEN];
	cJSON_AddStringToObject(s, "task_id", f->t.id_b64);
	util_time_format(f->interval * 1000, t);
	cJSON_AddStringToObject(s, "interval_start", t);
	if (f->released)
		cJSON_AddStringToObject(s, "release_id", f->qid);
	else
		cJSON_AddNullToObject(s, "release_id");
	cJSON_AddNumberToObject(s, "learners_included", (double)f->included);
	int64_t no_consent = f->enrolled - (int64_t)f->d1.nmembers;
	cJSON_AddNumberToObject(x, "no_consent", (double)(no_consent > 0 ? no_consent : 0));
	cJSON_AddNumberToObject(x, "no_budget", (double)f->no_budget);
	cJSON_AddNumberToObject(x, "already_uploaded", (double)f->already);
	cJSON_AddNumberToObject(x, "no_value", (double)f->no_value);
	cJSON_AddNumberToObject(x, "changed_during_upload", (double)f->changed);
	cJSON_AddItemToObject(s, "learners_excluded", x);
	cJSON_AddNumberToObject(s, "epsilon_charged", f->released ? (double)f->t.q.eps_micro_ceil / 1e6 : 0);
	cJSON_AddNumberToObject(s, "reports_sent", (double)f->sent);
	cJSON_AddNumberToObject(s, "reports_rejected", (double)f->rejected);
	cJSON_AddNumberToObject(s, "reports_pending", (double)f->pending);
	char *text = cJSON_PrintUnformatted(s);
	cJSON_Delete(s);
	return text;
}

static enum lv_status task_load_locked(struct lv_node *n, void *ctx)
{
	struct fed *f = ctx;
	char *spec = NULL;
	enum lv_status st = lv_store_fed_task_get(n, f->t.id_b64, &spec);
	if (st == LV_ERR_NOT_FOUND)
		snprintf(f->err, LV_QUERY_ERR_LEN, "no federation task %s on this node", f->t.id_b64);
	if (st != LV_OK)
		return st;
	st = fed_task_parse(spec, strlen(spec), &f->t, f->err);
	free(spec);
	return st;
}

/* Phases 1 to 3 (the client is ready). */
static enum lv_status run_phases(struct lv_node *n, struct fed *f)
{
	lv_store_snapshot_acquire(n);
	enum lv_status st = door_tx(n, prepare_locked, snapshot_locked, f);
	if (st == LV_OK) {
		progress(f, "cohort", f->d1.ninc, f->d1.ninc);
		st = query_contributions(n, &f->pl, f->d1.inc, f->d1.ninc, f->c);
	}
	lv_store_snapshot_release(n);
	if (st == LV_OK)
		st = seal_reports(f);
	if (st == LV_OK)
		st = door_tx(n, release_locked, NULL, f);
	lv_store_budget_unhold(n, f->d1.hold);
	return st;
}

static void fed_free(struct fed *f)
{
	size_t m = f->d1.ninc ? f->d1.ninc : 1;
	if (f->c) {
		sodium_memzero(f->c, m * sizeof *f->c);
		free(f->c);
	}
	if (f->reports)
		for (size_t i = 0; i < m; i++)
			buf_free(&f->reports[i]);
	free(f->reports);
	lv_fed_client_destroy(f->client);
	free(f->question);
	door_free(&f->d1);
	fed_task_free(&f->t);
}

/* The client for @f's task, with both configurations fetched. */
static enum lv_status client_ready(struct fed *f)
{
	struct lv_fed_client_opts o = {.leader = f->t.leader, .helper = f->t.helper, .vdaf = f->t.vdaf,
				       .time_precision_s = f->t.time_precision};
	memcpy(o.task_id, f->t.id, sizeof o.task_id);
	progress(f, "configs", 0, 2);
	enum lv_status st = lv_fed_client_create(&o, &f->client, f->err);
	if (st == LV_OK)
		st = lv_fed_client_ready(f->client, f->err);
	if (st == LV_OK)
		progress(f, "configs", 2, 2);
	return st;
}

/* The release's id and question: the task, and which run of it. */
static enum lv_status release_names(struct fed *f)
{
	unsigned char h[crypto_hash_sha256_BYTES], r[4];
	char hex[2 * sizeof h + 1], rhex[9];
	crypto_hash_sha256(h, f->t.id, sizeof f->t.id);
	sodium_bin2hex(hex, sizeof hex, h, sizeof h);
	randombytes_buf(r, sizeof r);
	sodium_bin2hex(rhex, sizeof rhex, r, sizeof r);
	snprintf(f->qid, sizeof f->qid, "federate:%.16s:%lld:%s", hex, (long long)f->interval, rhex);
	cJSON *q = cJSON_Parse(f->t.spec);
	if (!q)
		return LV_ERR_NOMEM;
	f->question = query_question_text(q, f->sha);
	return f->question ? LV_OK : LV_ERR_NOMEM;
}

enum lv_status lv_federate_upload(struct lv_node *n, const struct lv_principal *who, const char *task_id,
				  int64_t now, const struct lv_federate_progress *prog, char **out,
				  char err[LV_QUERY_ERR_LEN])
{
	*out = NULL;
	err[0] = '\0';
	if (who->role != LV_ROLE_ADMIN) {
		snprintf(err, LV_QUERY_ERR_LEN, "federation is for the node's admin");
		return LV_ERR_FORBIDDEN;
	}
	struct fed f = {.who = who, .progress = prog, .now = now, .mono0 = util_mono_s(), .err = err};
	if (!task_id || strlen(task_id) >= sizeof f.t.id_b64) {
		snprintf(err, LV_QUERY_ERR_LEN, "no such federation task");
		return LV_ERR_NOT_FOUND;
	}
	snprintf(f.t.id_b64, sizeof f.t.id_b64, "%s", task_id);
	enum lv_status st = lv_store_lock(n);
	if (st == LV_OK) {
		st = task_load_locked(n, &f);
		lv_store_unlock(n);
	}
	if (st != LV_OK || (st = lv_learner_count(n, &f.enrolled)) != LV_OK)
		goto out;
	f.interval = (now / 1000) - (now / 1000) % (int64_t)f.t.time_precision;
	if ((st = client_ready(&f)) != LV_OK || (st = release_names(&f)) != LV_OK)
		goto out;
	f.d1 = (struct door){.purpose = f.t.q.purpose, .qid = f.qid, .sha = f.sha, .eps_ceil = f.t.q.eps_micro_ceil,
			     .now = now, .actor = "operator",
			     .question = f.question};
	f.pl = (struct plan){.q = &f.t.q, .door = &f.d1};
	f.fname = query_field_policy_name(f.t.q.field);
	f.scope = (struct lv_consent_scope){
		.resource = "aggregate", .has_op = true, .op = f.t.q.op,
		.verbs = (const char *const *)f.t.q.verbs, .nverbs = f.t.q.nverbs,
		.activity_types = (const char *const *)f.t.q.types, .ntypes = f.t.q.ntypes,
		.result_fields = f.fname ? &f.fname : NULL, .nfields = f.fname ? 1 : 0,
	};
	/* Reports committed by an earlier upload and not delivered go first;
	 * while the Leader does not take them, nothing new is charged. */
	if ((st = send_outbox(n, &f)) != LV_OK)
		goto out;
	if (f.stalled) {
		char why[LV_QUERY_ERR_LEN];
		snprintf(why, sizeof why, "%s", err[0] ? err : "unreachable");
		snprintf(err, LV_QUERY_ERR_LEN, "the Leader did not take the reports left by an earlier upload"
			 " (%.120s); nothing new was charged", why);
		st = LV_ERR_BUSY;
		goto out;
	}
	if ((st = run_phases(n, &f)) != LV_OK || (st = send_outbox(n, &f)) != LV_OK)
		goto out;
	if ((st = door_tx(n, outbox_count_locked, NULL, &f)) != LV_OK)
		goto out;
	if (!(*out = summary(&f)))
		st = LV_ERR_NOMEM;
out:
	if (st != LV_OK && !err[0])
		snprintf(err, LV_QUERY_ERR_LEN, "the upload failed (%s)", lv_status_str(st));
	fed_free(&f);
	return st;
}

/* ---- tasks ---- */

struct task_add {
	struct fed_task *t;
	int64_t now;
	char *err;
};

static enum lv_status task_add_locked(struct lv_node *n, void *ctx)
{
	struct task_add *a = ctx;
	struct door d = {.purpose = a->t->q.purpose, .now = a->now};
	const char *fname = query_field_policy_name(a->t->q.field);
	struct lv_consent_scope scope = {
		.resource = "aggregate", .has_op = true, .op = a->t->q.op,
		.verbs = (const char *const *)a->t->q.verbs, .nverbs = a->t->q.nverbs,
		.activity_types = (const char *const *)a->t->q.types, .ntypes = a->t->q.ntypes,
		.result_fields = fname ? &fname : NULL, .nfields = fname ? 1 : 0,
	};
	/* The policy of today must allow the question; an upload checks it
	 * again against the policy of its day. */
	enum lv_status st = door_policy_locked(n, &d, a->err);
	if (st == LV_OK)
		st = query_check_policy(&a->t->q, &scope, d.pol.p, a->err);
	if (st == LV_OK && a->t->min_batch < lv_policy_min_cohort(d.pol.p)) {
		snprintf(a->err, LV_QUERY_ERR_LEN, "the task's min_batch_size %llu is below the policy's min_cohort %u",
			 (unsigned long long)a->t->min_batch, (unsigned)lv_policy_min_cohort(d.pol.p));
		st = LV_ERR_FORBIDDEN;
	}
	if (st == LV_OK)
		st = lv_store_fed_task_put(n, a->t->id_b64, a->t->spec, a->now);
	if (st == LV_ERR_EXISTS)
		snprintf(a->err, LV_QUERY_ERR_LEN, "the task %s is on this node already", a->t->id_b64);
	else if (st == LV_ERR_CONFLICT)
		snprintf(a->err, LV_QUERY_ERR_LEN, "the task id %s names another task on this node", a->t->id_b64);
	door_free(&d);
	return st;
}

enum lv_status lv_federate_task_add(struct lv_node *n, const struct lv_principal *who, const char *text, size_t len,
				    int64_t now, char **task, char err[LV_QUERY_ERR_LEN])
{
	struct fed_task t;
	*task = NULL;
	err[0] = '\0';
	if (who->role != LV_ROLE_ADMIN) {
		snprintf(err, LV_QUERY_ERR_LEN, "federation is for the node's admin");
		return LV_ERR_FORBIDDEN;
	}
	enum lv_status st = fed_task_parse(text, len, &t, err);
	if (st != LV_OK)
		return st;
	struct task_add a = {.t = &t, .now = now, .err = err};
	st = door_tx(n, task_add_locked, NULL, &a);
	if (st == LV_OK || st == LV_ERR_EXISTS) {
		*task = t.spec;
		t.spec = NULL;
	}
	fed_task_free(&t);
	return st;
}

struct task_list {
	cJSON *tasks;
};

static enum lv_status task_list_locked(struct lv_node *n, void *ctx)
{
	struct task_list *l = ctx;
	return lv_store_fed_task_list(n, &l->tasks);
}

enum lv_status lv_federate_task_list(struct lv_node *n, const struct lv_principal *who, char **tasks)
{
	struct task_list l = {0};
	*tasks = NULL;
	if (who->role != LV_ROLE_ADMIN)
		return LV_ERR_FORBIDDEN;
	enum lv_status st = door_tx(n, task_list_locked, NULL, &l);
	if (st == LV_OK && !(*tasks = cJSON_PrintUnformatted(l.tasks)))
		st = LV_ERR_NOMEM;
	cJSON_Delete(l.tasks);
	return st;
}
