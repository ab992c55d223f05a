/* The provider read-back door (xAPI GET /statements): the store reads the
 * rows and whose they are; each learner's access is decided and logged,
 * all in one transaction, before any row is released. */
#include <stdlib.h>
#include <string.h>

#include "door_int.h"
#include "learnvault/consent.h"
#include "learnvault/door.h"
#include "learnvault/store.h"
#include "learnvault/util.h"

#define READBACK_RESOURCE "xapi-statements"

enum lv_status lv_readback_statement(struct lv_node *n, const struct lv_principal *prov, const char *id,
				     bool voided, cJSON **result)
{
	*result = NULL;
	cJSON *stmt = NULL;
	char learner[LV_PSEUDONYM_LEN];
	enum lv_status st = lv_store_lock(n);
	if (st == LV_OK)
		st = lv_store_statements_get(n, prov->id, id, voided, &stmt, learner);
	if (st == LV_OK) {
		struct door_access a = {.learner = learner, .count = 1};
		st = door_authorize_all_locked(n, prov, LV_PURPOSE_PROVIDER_READBACK, READBACK_RESOURCE, &a, 1);
	}
	lv_store_unlock(n);
	if (st != LV_OK) {
		cJSON_Delete(stmt);
		return st;
	}
	*result = stmt;
	return LV_OK;
}

/* The page's learners with their row counts, in order of first
 * appearance (the order of the access entries). */
static enum lv_status per_learner(const char (*rows)[LV_PSEUDONYM_LEN], size_t nrows, struct door_access **out,
				  size_t *nout)
{
	UTIL_ARRAY(struct door_access) acc = {0};
	*out = NULL;
	*nout = 0;
	for (size_t r = 0; r < nrows; r++) {
		size_t i = 0;
		while (i < acc.n && strcmp(acc.v[i].learner, rows[r]) != 0)
			i++;
		if (i == acc.n) {
			enum lv_status st = util_array_room(&acc, nrows);
			if (st != LV_OK) {
				free(acc.v);
				return st;
			}
			acc.v[acc.n++] = (struct door_access){.learner = rows[r]};
		}
		acc.v[i].count++;
	}
	*out = acc.v;
	*nout = acc.n;
	return LV_OK;
}

enum lv_status lv_readback_statements(struct lv_node *n, const struct lv_principal *prov,
				      const struct lv_statement_query *q, cJSON **result, int64_t *next_seq)
{
	*result = NULL;
	*next_seq = 0;
	cJSON *arr = NULL;
	char (*rows)[LV_PSEUDONYM_LEN] = NULL;
	struct door_access *acc = NULL;
	size_t nacc = 0;
	int64_t next = 0;
	enum lv_status st = lv_store_lock(n);
	if (st == LV_OK)
		st = lv_store_statements_query(n, prov->id, q, &arr, &rows, &next);
	if (st == LV_OK)
		st = per_learner((const char (*)[LV_PSEUDONYM_LEN])rows, (size_t)cJSON_GetArraySize(arr), &acc, &nacc);
	/* Logged before anything is released. */
	if (st == LV_OK)
		st = door_authorize_all_locked(n, prov, LV_PURPOSE_PROVIDER_READBACK, READBACK_RESOURCE, acc, nacc);
	lv_store_unlock(n);
	free(acc);
	free(rows);
	if (st != LV_OK) {
		cJSON_Delete(arr);
		return st;
	}
	*result = arr;
	*next_seq = next;
	return LV_OK;
}
