/* The node's DAP client for one task (learnvault/federation.h): Prio3
 * sharding (prio3.c), the report's encryption (dap.c, hpke.c) and the
 * upload (dap_client.c), behind the few calls the use case makes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "dap_client.h"
#include "learnvault/federation.h"
#include "prio3.h"
#include "vdaf_params.h"

struct lv_fed_client {
	struct fed_dap_client *dap;
	struct fed_prio3 *prio3;
	char *leader, *helper;
	uint8_t task_id[LV_FED_TASK_ID_LEN];
	uint64_t precision;
	bool ready;
	/* the configurations reports are sealed to (public keys) */
	uint8_t leader_id, helper_id;
	uint8_t leader_pk[FED_HPKE_NPK], helper_pk[FED_HPKE_NPK];
};

enum lv_status lv_fed_client_create(const struct lv_fed_client_opts *o, struct lv_fed_client **out,
				    char err[LV_ERR_LEN])
{
	*out = NULL;
	err[0] = '\0';
	if (!lv_fed_endpoint_valid(o->leader) || !lv_fed_endpoint_valid(o->helper) || !o->time_precision_s) {
		util_errf(err, "a federation client needs two aggregator endpoints and a time precision");
		return LV_ERR_INVALID;
	}
	struct lv_fed_client *c = calloc(1, sizeof *c);
	if (!c)
		return LV_ERR_NOMEM;
	struct fed_dap_client_options opt = {.tries = o->tries, .total_timeout_ms = o->timeout_ms,
					     .bearer_token = o->auth_token};
	enum lv_status st = LV_ERR_NOMEM;
	if (!(c->leader = strdup(o->leader)) || !(c->helper = strdup(o->helper)))
		goto out;
	if ((st = fed_vdaf_prio3(&o->vdaf, &c->prio3)) != LV_OK) {
		util_errf(err, "the task's VDAF parameters are refused by Prio3");
		goto out;
	}
	if ((st = fed_dap_client_create(&opt, &c->dap)) != LV_OK) {
		util_errf(err, "the DAP client could not be made (%s)", lv_status_str(st));
		goto out;
	}
	memcpy(c->task_id, o->task_id, sizeof c->task_id);
	c->precision = o->time_precision_s;
	*out = c;
	return LV_OK;
out:
	lv_fed_client_destroy(c);
	return st;
}

void lv_fed_client_destroy(struct lv_fed_client *c)
{
	if (!c)
		return;
	fed_dap_client_destroy(c->dap);
	fed_prio3_destroy(c->prio3);
	free(c->leader);
	free(c->helper);
	sodium_memzero(c, sizeof *c);
	free(c);
}

/* One aggregator's configuration, or @err saying why not. */
static enum lv_status config(struct lv_fed_client *c, const char *ep, const char *who, uint8_t *id,
			     uint8_t pk[FED_HPKE_NPK], char err[LV_ERR_LEN])
{
	struct fed_dap_result res;
	enum lv_status st = fed_dap_client_hpke_config(c->dap, ep, c->task_id, id, pk, &res);
	if (st != LV_OK)
		util_errf(err, "the %s's HPKE configuration: %s", who, res.message[0] ? res.message : lv_status_str(st));
	return st;
}

enum lv_status lv_fed_client_ready(struct lv_fed_client *c, char err[LV_ERR_LEN])
{
	err[0] = '\0';
	enum lv_status st = config(c, c->leader, "Leader", &c->leader_id, c->leader_pk, err);
	if (st == LV_OK)
		st = config(c, c->helper, "Helper", &c->helper_id, c->helper_pk, err);
	c->ready = st == LV_OK;
	return st;
}

enum lv_status lv_fed_client_report(struct lv_fed_client *c, const uint64_t *meas, size_t n, int64_t now_ms,
				    struct buf *report, char err[LV_ERR_LEN])
{
	uint8_t report_id[FED_DAP_REPORT_ID_LEN];
	struct buf pub, shares[2];
	uint64_t t;
	buf_reset(report);
	if (!c->ready) {
		util_errf(err, "the aggregators' configurations were not fetched");
		return LV_ERR_PRECONDITION;
	}
	if (now_ms < 0 || fed_dap_time_round((uint64_t)now_ms / 1000, c->precision, &t) != LV_OK)
		return LV_ERR_INVALID;
	buf_init(&pub, FED_DAP_MAX_SHARE);
	buf_init(&shares[0], FED_DAP_MAX_SHARE);
	buf_init(&shares[1], FED_DAP_MAX_SHARE);
	/* The report id is random and is also the VDAF nonce (DAP-09 §4.4.2). */
	randombytes_buf(report_id, sizeof report_id);
	enum lv_status st = fed_prio3_shard_random(c->prio3, meas, n, report_id, &pub, shares);
	if (st == LV_ERR_INVALID)
		util_errf(err, "a measurement is out of the VDAF's range");
	if (st == LV_OK) {
		struct fed_hpke_config lc = {.id = c->leader_id, .kem_id = FED_HPKE_KEM_X25519_SHA256,
					     .kdf_id = FED_HPKE_KDF_HKDF_SHA256, .aead_id = FED_HPKE_AEAD_AES128GCM,
					     .public_key = c->leader_pk, .public_key_len = FED_HPKE_NPK};
		struct fed_hpke_config hc = lc;
		hc.id = c->helper_id;
		hc.public_key = c->helper_pk;
		struct fed_dap_report_input in = {
			.task_id = c->task_id, .report_id = report_id, .time = t,
			.public_share = (const uint8_t *)pub.data, .public_share_len = pub.len,
			.leader_share = (const uint8_t *)shares[0].data, .leader_share_len = shares[0].len,
			.helper_share = (const uint8_t *)shares[1].data, .helper_share_len = shares[1].len,
			.leader_config = &lc, .helper_config = &hc};
		st = fed_dap_report_build(&in, report);
	}
	/* The two input shares together are the measurement. */
	for (int i = 0; i < 2; i++) {
		if (shares[i].data)
			sodium_memzero(shares[i].data, shares[i].len);
		buf_free(&shares[i]);
	}
	buf_free(&pub);
	if (st != LV_OK)
		buf_reset(report);
	return st;
}

enum lv_status lv_fed_client_upload(struct lv_fed_client *c, const uint8_t *report, size_t len, char err[LV_ERR_LEN])
{
	struct fed_dap_result res;
	err[0] = '\0';
	enum lv_status st = fed_dap_client_put_report(c->dap, c->leader, c->task_id, report, len, &res);
	if (st == LV_OK)
		return LV_OK;
	util_errf(err, "the Leader: %s", res.message[0] ? res.message : lv_status_str(st));
	switch (res.error) {
	case FED_DAP_E_TRANSPORT: return LV_ERR_IO;
	case FED_DAP_E_SERVER: return LV_ERR_BUSY;
	case FED_DAP_E_OUTDATED_CONFIG:
		/* The next report is sealed to what the aggregators have now. */
		fed_dap_client_forget_configs(c->dap);
		c->ready = false;
		return LV_ERR_CRYPTO;
	default: return LV_ERR_INVALID;
	}
}

enum lv_status lv_fed_hpke_seal_bench(const uint8_t pk[32], const uint8_t *aad, size_t aad_len, const uint8_t *pt,
				      size_t pt_len, uint8_t enc[32], struct buf *ct)
{
	_Static_assert(FED_HPKE_NPK == 32 && FED_HPKE_NENC == 32, "the public declaration says 32 bytes");
	uint8_t info[FED_DAP_INFO_LEN];
	fed_dap_input_share_info(FED_DAP_ROLE_LEADER, info);
	return fed_hpke_seal(pk, info, sizeof info, aad, aad_len, pt, pt_len, enc, ct);
}
