/* Release receipts (audit/receipt.c) checked against the log: a receipt
 * an analyst holds must name exactly one release entry, with the same
 * actor and query id, the same request digest, and an answer whose
 * compact text hashes to the receipt's answer digest. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logverify.h"

enum lv_status logreceipts_open(struct logreceipts *rs, const char *const *notes, size_t n, const char *vkey,
				const char *origin)
{
	for (size_t k = 0; k < n; k++) {
		enum lv_status st = util_array_room(&rs->r, LOGV_MAX_ITEMS);
		if (st != LV_OK)
			return st;
		struct logreceipt *rc = &rs->r.v[rs->r.n++];
		memset(rc, 0, sizeof *rc);
		rc->entry = -1;
		rc->open = lv_release_receipt_open(notes[k], strlen(notes[k]), vkey, &rc->rc);
		if (rc->open == LV_OK && strcmp(rc->rc.origin, origin) != 0)
			rc->open = LV_ERR_CRYPTO; /* signed by this key for another log */
		if (rc->open != LV_OK)
			continue;
		char key[LOGV_KEY_LEN];
		size_t at;
		bool found;
		if (!logtab_key2(key, rc->rc.actor, rc->rc.query_id))
			return LV_ERR_INTERNAL; /* fields are capped far below the key */
		if ((st = logtab_get(&rs->by_key, key, k, &at, &found, NULL)) != LV_OK)
			return st;
		/* Two receipts for one release: the second is checked against
		 * the same entry through the first's record. */
		(void)found;
	}
	return LV_OK;
}

/* Checks release entry @i against receipt @rc. */
static void match(struct logreceipt *rc, const cJSON *ej, uint64_t i)
{
	const char *req = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ej, "request_sha256"));
	char *text = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(ej, "answer"));
	char hex[65];
	if (rc->matches++ == 0) {
		rc->entry = (long long)i;
		rc->request_ok = req && strcmp(req, rc->rc.request_sha256) == 0;
		if (text) {
			lv_release_answer_sha256(text, strlen(text), hex);
			rc->answer_ok = strcmp(hex, rc->rc.answer_sha256) == 0;
		}
	}
	free(text);
}

void logreceipts_entry(struct logreceipts *rs, const cJSON *ej, uint64_t i)
{
	const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ej, "type"));
	const char *actor = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ej, "actor"));
	const char *qid = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ej, "query_id"));
	char key[LOGV_KEY_LEN];
	size_t at;
	if (!rs->r.n || !type || strcmp(type, "release") != 0 || !actor || !qid || !logtab_key2(key, actor, qid) ||
	    !logtab_find(&rs->by_key, key, &at))
		return;
	match(&rs->r.v[at], ej, i);
}

/* Why receipt @rc fails, or NULL. */
static const char *receipt_error(const struct logreceipts *rs, const struct logreceipt *rc)
{
	if (rc->open != LV_OK)
		return "the receipt does not verify with the given key for this log";
	/* A duplicate receipt shares the first one's record. */
	char key[LOGV_KEY_LEN];
	size_t at;
	if (!logtab_key2(key, rc->rc.actor, rc->rc.query_id) || !logtab_find(&rs->by_key, key, &at))
		return "internal error";
	const struct logreceipt *m = &rs->r.v[at];
	if (m->matches == 0)
		return "no release entry has the receipt's actor and query_id";
	if (m->matches > 1)
		return "more than one release entry has the receipt's actor and query_id";
	if (strcmp(m->rc.request_sha256, rc->rc.request_sha256) != 0 || !m->request_ok)
		return "the release entry's request_sha256 differs from the receipt's";
	if (strcmp(m->rc.answer_sha256, rc->rc.answer_sha256) != 0 || !m->answer_ok)
		return "the release entry's answer does not hash to the receipt's answer_sha256";
	return NULL;
}

bool logreceipts_report(const struct logreceipts *rs, cJSON *rep, char err[LV_ERR_LEN])
{
	bool all = true;
	if (!rs->r.n)
		return true;
	cJSON *arr = cJSON_AddArrayToObject(rep, "receipts");
	for (size_t k = 0; k < rs->r.n; k++) {
		const struct logreceipt *rc = &rs->r.v[k];
		const char *why = receipt_error(rs, rc);
		cJSON *o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "receipt", (double)k);
		if (rc->open == LV_OK) {
			size_t at = 0;
			char key[LOGV_KEY_LEN];
			cJSON_AddStringToObject(o, "actor", rc->rc.actor);
			cJSON_AddStringToObject(o, "query_id", rc->rc.query_id);
			if (logtab_key2(key, rc->rc.actor, rc->rc.query_id) && logtab_find(&rs->by_key, key, &at) &&
			    rs->r.v[at].entry >= 0)
				cJSON_AddNumberToObject(o, "entry", (double)rs->r.v[at].entry);
		}
		cJSON_AddBoolToObject(o, "ok", why == NULL);
		if (why)
			cJSON_AddStringToObject(o, "error", why);
		cJSON_AddItemToArray(arr, o);
		if (why && all) {
			util_errf(err, "receipt %zu: %s", k, why);
			all = false;
		}
	}
	return all;
}

void logreceipts_free(struct logreceipts *rs)
{
	free(rs->r.v);
	logtab_free(&rs->by_key);
	memset(rs, 0, sizeof *rs);
}
