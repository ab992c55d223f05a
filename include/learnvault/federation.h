/* learnvault — the node as a client of the Distributed Aggregation
 * Protocol (draft-ietf-ppm-dap-09) with Prio3 (draft-irtf-cfrg-vdaf-08).
 *
 * What the use cases see of src/federation/: a VDAF's parameters, and a
 * client bound to one task that shards a measurement into a sealed report
 * and uploads reports to the Leader.  Protocol and crypto only: who may
 * contribute, the budgets and the audit entries are query/federate.c's.
 * docs/federation.md is the trust model.
 *
 * Conventions: out-parameters are cleared on failure; @err (LV_ERR_LEN)
 * gets a one-line message that never holds a key, token or measurement. */
#ifndef LEARNVAULT_FEDERATION_H
#define LEARNVAULT_FEDERATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "learnvault/status.h"
#include "learnvault/util.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LV_FED_TASK_ID_LEN 32     /* bytes of a DAP task id */
#define LV_FED_TASK_ID_B64_LEN 44 /* its base64url form without padding, + NUL */
#define LV_FED_URL_MAX 512        /* bytes of an aggregator endpoint */

enum lv_fed_vdaf_type {
	LV_FED_PRIO3_COUNT,     /* measurement 0 or 1 */
	LV_FED_PRIO3_SUM,       /* one integer < 2^bits */
	LV_FED_PRIO3_SUMVEC,    /* length integers, each < 2^bits */
	LV_FED_PRIO3_HISTOGRAM, /* one bucket index < length */
};

struct lv_fed_vdaf_params {
	enum lv_fed_vdaf_type type;
	uint32_t bits;         /* Sum, SumVec */
	uint32_t length;       /* SumVec, Histogram */
	uint32_t chunk_length; /* SumVec, Histogram */
};

/* Reads {"type": "Prio3Count"|"Prio3Sum"|"Prio3SumVec"|"Prio3Histogram",
 * "bits", "length", "chunk_length"} (@o borrowed) into @out, checking the
 * parameters as Prio3 does.  LV_ERR_INVALID with @err. */
LV_EXPORT enum lv_status lv_fed_vdaf_parse(const cJSON *o, struct lv_fed_vdaf_params *out,
					   char err[LV_ERR_LEN]) LV_WARN_UNUSED;
/* The same object back, canonical (the caller's; NULL when out of memory). */
LV_EXPORT cJSON *lv_fed_vdaf_json(const struct lv_fed_vdaf_params *p);
/* How many integers one measurement has (SumVec: length; others: 1). */
LV_EXPORT size_t lv_fed_vdaf_measurement_len(const struct lv_fed_vdaf_params *p);

/* The task id from its base64url form (43 characters, no padding);
 * false unless it decodes to exactly 32 bytes. */
LV_EXPORT bool lv_fed_task_id_parse(const char *b64, uint8_t id[LV_FED_TASK_ID_LEN]);
/* An aggregator endpoint: an absolute http or https URL of at most
 * LV_FED_URL_MAX - 1 bytes with a host, no user info, query or fragment. */
LV_EXPORT bool lv_fed_endpoint_valid(const char *url);

struct lv_fed_client_opts {
	const char *leader, *helper;          /* endpoints (copied) */
	uint8_t task_id[LV_FED_TASK_ID_LEN];
	struct lv_fed_vdaf_params vdaf;
	uint64_t time_precision_s;            /* report times are rounded down to it */
	const char *auth_token;               /* NULL, or sent to the Leader (copied, never logged) */
	unsigned tries;                       /* per request, transient failures; 0: 3 */
	unsigned timeout_ms;                  /* per request; 0: 30000 */
};

/* A client for one task.  *@out: the caller's (lv_fed_client_destroy). */
struct lv_fed_client;
LV_EXPORT enum lv_status lv_fed_client_create(const struct lv_fed_client_opts *o, struct lv_fed_client **out,
					      char err[LV_ERR_LEN]) LV_WARN_UNUSED;
LV_EXPORT void lv_fed_client_destroy(struct lv_fed_client *c);
/* Fetches (or takes from the cache) both aggregators' HPKE
 * configurations.  LV_ERR_IO / LV_ERR_BUSY when an aggregator cannot be
 * reached, LV_ERR_UNSUPPORTED when it offers no suite learnvault has,
 * LV_ERR_INVALID when it answers with a DAP error (in @err). */
LV_EXPORT enum lv_status lv_fed_client_ready(struct lv_fed_client *c, char err[LV_ERR_LEN]) LV_WARN_UNUSED;
/* One report for @meas (@n integers) at @now_ms: Prio3 shards with fresh
 * randomness and a fresh report id, each input share sealed to its
 * aggregator's configuration.  @report (the caller's initialised buf) gets
 * the encoded Report.  LV_ERR_INVALID for a measurement out of range,
 * LV_ERR_PRECONDITION before lv_fed_client_ready. */
LV_EXPORT enum lv_status lv_fed_client_report(struct lv_fed_client *c, const uint64_t *meas, size_t n, int64_t now_ms,
					      struct buf *report, char err[LV_ERR_LEN]) LV_WARN_UNUSED;
/* Uploads one encoded report to the Leader, retrying transient failures.
 * LV_OK when accepted; LV_ERR_INVALID when the Leader refused it for good
 * (a DAP error other than the ones below; @err names its type);
 * LV_ERR_CRYPTO when it was sealed to a configuration the Leader no longer
 * has (outdatedConfig: the client refetches, the report cannot be used);
 * LV_ERR_BUSY / LV_ERR_IO when the Leader could not be reached in the
 * tries given. */
LV_EXPORT enum lv_status lv_fed_client_upload(struct lv_fed_client *c, const uint8_t *report, size_t len,
					      char err[LV_ERR_LEN]) LV_WARN_UNUSED;

/* The baseline of `learnvault bench federate`, for nothing else: one
 * HPKE base-mode seal (a fresh ephemeral key; X25519, HKDF-SHA256,
 * AES-128-GCM) of @pt (@pt_len bytes) with @aad to the X25519 public key
 * @pk (32 bytes), under DAP's info for an input share sent to the Leader:
 * what sealing one input share costs in a report, without Prio3 and the
 * DAP encodings.  @enc gets the encapsulated key and @ct (the caller's
 * initialised buf) the ciphertext; on failure @enc is zeroed and @ct
 * empty (LV_ERR_CRYPTO for a low-order key). */
LV_EXPORT enum lv_status lv_fed_hpke_seal_bench(const uint8_t pk[32], const uint8_t *aad, size_t aad_len,
						const uint8_t *pt, size_t pt_len, uint8_t enc[32],
						struct buf *ct) LV_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif
