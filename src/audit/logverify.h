/* Internal to the offline verifier (lv_audit_verify_export*): the string
 * table every part keys its state by (logtable.c), the policy texts the
 * export ships and the loads that vouch for them (logpolicies.c), the
 * replay of the node's rules in log order (logreplay.c) and the release
 * receipts (logreceipt.c).  logverify.c walks the export and owns the
 * report. */
#ifndef LV_AUDIT_LOGVERIFY_H
#define LV_AUDIT_LOGVERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "learnvault/audit.h"
#include "learnvault/consent.h"
#include "learnvault/policy.h"
#include "learnvault/util.h"

/* Elements of any one verifier array or table: far above the 10^6
 * entries an export is sized for, a bound on memory all the same. */
#define LOGV_MAX_ITEMS ((size_t)1 << 28)
/* Bytes of a composite table key ("<len>:<learner>|<policy>"). */
#define LOGV_KEY_LEN 512

/* ---- logtable.c: string key -> index into the caller's own array ----
 * Open addressing with FNV-1a, kept at most half full, so a lookup is
 * O(1) amortised.  Keys are copied. */
struct logtab_slot {
	char *key;     /* NULL: empty */
	uint64_t hash;
	size_t val;
};
struct logtab {
	struct logtab_slot *slot;
	size_t cap, used;
};
/* The value of @key in *@val; when absent, adds it with value @next (the
 * index the caller is about to fill) and *@found is false.  *@copy (may
 * be NULL) gets the table's copy of the key, which lives until
 * logtab_free.  On failure (LV_ERR_NOMEM, LV_ERR_TOO_LARGE) the table is
 * unchanged. */
enum lv_status logtab_get(struct logtab *t, const char *key, size_t next, size_t *val, bool *found,
			  const char **copy) LV_WARN_UNUSED;
/* True with *@val when @key is present; the table is not changed. */
bool logtab_find(const struct logtab *t, const char *key, size_t *val);
void logtab_free(struct logtab *t);
/* "<strlen(a)>:<a>|<b>" into @out: unambiguous whatever the parts hold.
 * False when it does not fit (the caller treats the entry as malformed). */
bool logtab_key2(char out[LOGV_KEY_LEN], const char *a, const char *b);

/* ---- logpolicies.c: shipped texts and logged loads ---- */
struct logpol_text {
	struct lv_policy *p;                 /* owned */
	char sha[LV_POLICY_DIGEST_HEX_LEN];  /* of the canonical text */
	long long load;                      /* index of the load entry, -1: none yet */
};
struct logpol_newest {
	uint32_t version;
	size_t text;                         /* index into texts */
};
struct logpol {
	UTIL_ARRAY(struct logpol_text) texts;
	struct logtab by_version;            /* "<id>|<version>" -> texts */
	UTIL_ARRAY(struct logpol_newest) newest;
	struct logtab by_id;                 /* id -> newest */
};
/* Parses every text of the export's "policies" array.  LV_ERR_INVALID with
 * @err for a text that does not parse or appears twice. */
enum lv_status logpol_ship(struct logpol *ps, const cJSON *texts, char err[LV_ERR_LEN]) LV_WARN_UNUSED;
/* A `policy` load entry @i: NULL when a shipped text carries exactly the
 * logged digest (it is then "matched"), else why the export is tampered. */
const char *logpol_load(struct logpol *ps, const char *id, const cJSON *version, const char *sha, uint64_t i);
/* The text of version @version of @id, if it was loaded earlier. */
const struct logpol_text *logpol_get(const struct logpol *ps, const char *id, double version);
/* The newest version of @id loaded so far, or NULL. */
const struct logpol_text *logpol_newest(const struct logpol *ps, const char *id);
/* The first shipped text no load vouched for, or NULL. */
const struct logpol_text *logpol_unmatched(const struct logpol *ps);
/* "policies":[{"policy","version","sha256","entry"}] of the matched texts. */
void logpol_report(const struct logpol *ps, cJSON *rep);
void logpol_free(struct logpol *ps);

/* ---- logreplay.c: the node's rules, in log order ---- */
struct logreplay;
enum lv_status logreplay_create(struct logreplay **out) LV_WARN_UNUSED;
/* Replays entry @i (parsed: @ej).  After the first failure it does
 * nothing more. */
void logreplay_entry(struct logreplay *r, struct logpol *ps, const cJSON *ej, uint64_t i);
/* What the end of the log settles: aggregate accesses never released. */
void logreplay_finish(struct logreplay *r);
/* The first failure: its entry (or -1) and message; NULL when none.
 * *@tampered: the export itself is inconsistent (a policy load without
 * its text), rather than a rule broken by the node. */
const char *logreplay_failure(const struct logreplay *r, long long *entry, bool *tampered);
/* The counts of what was checked, into @rep. */
void logreplay_report(const struct logreplay *r, cJSON *rep);
void logreplay_destroy(struct logreplay *r);

/* ---- logreceipt.c: release receipts against the release entries ---- */
struct logreceipt {
	struct lv_release_receipt rc;
	enum lv_status open;   /* lv_release_receipt_open's status */
	uint64_t matches;      /* release entries with this actor and query id */
	long long entry;       /* the first of them, -1: none */
	bool request_ok, answer_ok;
};
struct logreceipts {
	UTIL_ARRAY(struct logreceipt) r;
	struct logtab by_key;  /* actor|query_id -> r */
};
/* Opens each receipt note with @vkey; a receipt signed for another log
 * (origin) is refused (recorded, not returned).  LV_ERR_NOMEM only. */
enum lv_status logreceipts_open(struct logreceipts *rs, const char *const *notes, size_t n, const char *vkey,
				const char *origin) LV_WARN_UNUSED;
/* A parsed entry @i: a release is matched against the receipts. */
void logreceipts_entry(struct logreceipts *rs, const cJSON *ej, uint64_t i);
/* "receipts":[...] into @rep; the first receipt that fails, as a message
 * in @err (false), or true when all hold. */
bool logreceipts_report(const struct logreceipts *rs, cJSON *rep, char err[LV_ERR_LEN]);
void logreceipts_free(struct logreceipts *rs);

#endif
