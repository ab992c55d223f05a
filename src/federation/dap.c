/* DAP-09 message encodings (draft-ietf-ppm-dap-09 §4.1, §4.4): network
 * byte order, opaque<..2^16-1> with a 2-byte length, <..2^32-1> with 4. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "dap.h"

/* ---- reading --------------------------------------------------------- */

/* A cursor over borrowed bytes; every read checks what is left. */
struct rd {
	const uint8_t *p;
	size_t n;
};

static int rd_take(struct rd *r, size_t k, const uint8_t **out)
{
	if (k > r->n)
		return -1;
	*out = r->p;
	r->p += k;
	r->n -= k;
	return 0;
}

static int rd_uint(struct rd *r, size_t width, uint64_t *v)
{
	const uint8_t *b;
	if (rd_take(r, width, &b))
		return -1;
	*v = 0;
	for (size_t i = 0; i < width; i++)
		*v = *v << 8 | b[i];
	return 0;
}

/* opaque x<min..2^(8*width)-1> */
static int rd_opaque(struct rd *r, size_t width, size_t min, const uint8_t **out, size_t *len)
{
	uint64_t l;
	if (rd_uint(r, width, &l) || l < min || rd_take(r, (size_t)l, out))
		return -1;
	*len = (size_t)l;
	return 0;
}

/* ---- writing --------------------------------------------------------- */

static void put_uint(uint8_t *p, size_t width, uint64_t v)
{
	for (size_t i = 0; i < width; i++)
		p[i] = (uint8_t)(v >> (8 * (width - 1 - i)));
}

static enum lv_status buf_uint(struct buf *b, size_t width, uint64_t v)
{
	uint8_t t[8];
	put_uint(t, width, v);
	return buf_append(b, t, width);
}

static enum lv_status buf_opaque(struct buf *b, size_t width, const uint8_t *p, size_t n)
{
	if (width == 2 && n > 0xffff)
		return LV_ERR_TOO_LARGE;
	if (width == 4 && (uint64_t)n > 0xffffffffu)
		return LV_ERR_TOO_LARGE;
	enum lv_status st = buf_uint(b, width, n);
	return st == LV_OK ? buf_append(b, p, n) : st;
}

/* ---- HpkeConfigList ------------------------------------------------- */

static enum lv_status config_decode(struct rd *r, struct fed_hpke_config *c)
{
	uint64_t id, kem, kdf, aead;
	if (rd_uint(r, 1, &id) || rd_uint(r, 2, &kem) || rd_uint(r, 2, &kdf) || rd_uint(r, 2, &aead) ||
	    rd_opaque(r, 2, 1, &c->public_key, &c->public_key_len))
		return LV_ERR_INVALID;
	c->id = (uint8_t)id;
	c->kem_id = (uint16_t)kem;
	c->kdf_id = (uint16_t)kdf;
	c->aead_id = (uint16_t)aead;
	return LV_OK;
}

enum lv_status fed_dap_hpke_config_list_decode(const uint8_t *b, size_t n, struct fed_hpke_config_list **out)
{
	*out = NULL;
	enum lv_status st = LV_ERR_INVALID;
	struct fed_hpke_config_list *l = calloc(1, sizeof *l);
	if (!l || !(l->bytes = malloc(n ? n : 1))) {
		free(l);
		return LV_ERR_NOMEM;
	}
	memcpy(l->bytes, b, n);
	struct rd all = {l->bytes, n}, body;
	if (rd_opaque(&all, 2, 1, &body.p, &body.n) || all.n != 0)
		goto out; /* empty list, bad length or trailing bytes */
	while (body.n) {
		if (l->n == FED_DAP_MAX_CONFIGS) {
			st = LV_ERR_TOO_LARGE;
			goto out;
		}
		if ((st = config_decode(&body, &l->configs[l->n])) != LV_OK)
			goto out;
		for (size_t i = 0; i < l->n; i++)
			if (l->configs[i].id == l->configs[l->n].id) {
				st = LV_ERR_INVALID; /* DAP-09 §4.4.1: ids are distinct */
				goto out;
			}
		l->n++;
	}
	*out = l;
	return LV_OK;
out:
	fed_dap_hpke_config_list_free(l);
	return st;
}

void fed_dap_hpke_config_list_free(struct fed_hpke_config_list *l)
{
	if (!l)
		return;
	free(l->bytes);
	free(l);
}

enum lv_status fed_dap_hpke_config_list_encode(const struct fed_hpke_config *c, size_t n, struct buf *out)
{
	struct buf body;
	enum lv_status st = LV_OK;
	buf_reset(out);
	buf_init(&body, 0xffff);
	if (n == 0 || n > FED_DAP_MAX_CONFIGS)
		return LV_ERR_INVALID;
	for (size_t i = 0; i < n && st == LV_OK; i++) {
		if (c[i].public_key_len == 0)
			st = LV_ERR_INVALID;
		if (st == LV_OK)
			st = buf_uint(&body, 1, c[i].id);
		if (st == LV_OK)
			st = buf_uint(&body, 2, c[i].kem_id);
		if (st == LV_OK)
			st = buf_uint(&body, 2, c[i].kdf_id);
		if (st == LV_OK)
			st = buf_uint(&body, 2, c[i].aead_id);
		if (st == LV_OK)
			st = buf_opaque(&body, 2, c[i].public_key, c[i].public_key_len);
	}
	if (st == LV_OK)
		st = buf_opaque(out, 2, (const uint8_t *)body.data, body.len);
	if (st != LV_OK)
		buf_reset(out);
	buf_free(&body);
	return st;
}

static int config_is_ours(const struct fed_hpke_config *c)
{
	return c->kem_id == FED_HPKE_KEM_X25519_SHA256 && c->kdf_id == FED_HPKE_KDF_HKDF_SHA256 &&
	       c->aead_id == FED_HPKE_AEAD_AES128GCM && c->public_key_len == FED_HPKE_NPK;
}

enum lv_status fed_dap_hpke_config_select(const struct fed_hpke_config_list *l, const struct fed_hpke_config **out)
{
	*out = NULL;
	/* @divviup/dap 0.9.1 likewise takes the first config it supports. */
	for (size_t i = 0; i < l->n; i++)
		if (config_is_ours(&l->configs[i])) {
			*out = &l->configs[i];
			return LV_OK;
		}
	return LV_ERR_UNSUPPORTED;
}

/* ---- small pieces --------------------------------------------------- */

enum lv_status fed_dap_time_round(uint64_t t, uint64_t precision, uint64_t *out)
{
	*out = 0;
	if (precision == 0)
		return LV_ERR_INVALID;
	*out = t - t % precision;
	return LV_OK;
}

void fed_dap_task_id_b64(const uint8_t task_id[FED_DAP_TASK_ID_LEN], char out[FED_DAP_TASK_ID_B64_LEN])
{
	sodium_bin2base64(out, FED_DAP_TASK_ID_B64_LEN, task_id, FED_DAP_TASK_ID_LEN,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

void fed_dap_input_share_info(uint8_t server_role, uint8_t info[FED_DAP_INFO_LEN])
{
	size_t l = sizeof FED_DAP_INPUT_SHARE_LABEL - 1;
	memcpy(info, FED_DAP_INPUT_SHARE_LABEL, l);
	info[l] = FED_DAP_ROLE_CLIENT;
	info[l + 1] = server_role;
}

/* ReportMetadata: report_id[16] || time u64.  (@divviup/dap 0.9.1 writes
 * the time as a uint32 into the low half of the 8 bytes: the same bytes
 * for every time before 2106.) */
static enum lv_status metadata_encode(struct buf *b, const uint8_t report_id[FED_DAP_REPORT_ID_LEN], uint64_t time)
{
	enum lv_status st = buf_append(b, report_id, FED_DAP_REPORT_ID_LEN);
	return st == LV_OK ? buf_uint(b, 8, time) : st;
}

enum lv_status fed_dap_input_share_aad_encode(const uint8_t task_id[FED_DAP_TASK_ID_LEN],
					      const uint8_t report_id[FED_DAP_REPORT_ID_LEN], uint64_t time,
					      const uint8_t *public_share, size_t public_share_len, struct buf *out)
{
	buf_reset(out);
	if (public_share_len > FED_DAP_MAX_SHARE)
		return LV_ERR_TOO_LARGE;
	enum lv_status st = buf_append(out, task_id, FED_DAP_TASK_ID_LEN);
	if (st == LV_OK)
		st = metadata_encode(out, report_id, time);
	if (st == LV_OK)
		st = buf_opaque(out, 4, public_share, public_share_len);
	if (st != LV_OK)
		buf_reset(out);
	return st;
}

/* PlaintextInputShare with no extensions, into exactly-sized malloc'd
 * memory (it holds an input share: the caller wipes and frees it, and no
 * realloc leaves a copy behind). */
static enum lv_status pis_alloc(const uint8_t *payload, size_t len, uint8_t **out, size_t *out_len)
{
	*out = NULL;
	if (len > FED_DAP_MAX_SHARE)
		return LV_ERR_TOO_LARGE;
	uint8_t *p = malloc(6 + len);
	if (!p)
		return LV_ERR_NOMEM;
	put_uint(p, 2, 0); /* extensions<0..2^16-1>: none */
	put_uint(p + 2, 4, len);
	if (len)
		memcpy(p + 6, payload, len);
	*out = p;
	*out_len = 6 + len;
	return LV_OK;
}

enum lv_status fed_dap_plaintext_input_share_encode(const uint8_t *payload, size_t payload_len, struct buf *out)
{
	uint8_t *p;
	size_t n;
	buf_reset(out);
	enum lv_status st = pis_alloc(payload, payload_len, &p, &n);
	if (st == LV_OK)
		st = buf_append(out, p, n);
	if (p) {
		sodium_memzero(p, n);
		free(p);
	}
	return st;
}

enum lv_status fed_dap_plaintext_input_share_decode(const uint8_t *b, size_t n, const uint8_t **payload,
						    size_t *payload_len)
{
	struct rd r = {b, n};
	const uint8_t *ext;
	size_t ext_len;
	*payload = NULL;
	*payload_len = 0;
	if (rd_opaque(&r, 2, 0, &ext, &ext_len))
		return LV_ERR_INVALID;
	if (ext_len)
		return LV_ERR_UNSUPPORTED;
	if (rd_opaque(&r, 4, 0, payload, payload_len) || r.n != 0) {
		*payload = NULL;
		*payload_len = 0;
		return LV_ERR_INVALID;
	}
	return LV_OK;
}

/* ---- Report ---------------------------------------------------------- */

/* Seals one input share and appends its HpkeCiphertext to @out. */
static enum lv_status seal_share(const struct fed_hpke_config *cfg, uint8_t role, const uint8_t *sk_e,
				 const struct buf *aad, const uint8_t *share, size_t share_len, struct buf *out)
{
	uint8_t info[FED_DAP_INFO_LEN], enc[FED_HPKE_NENC];
	uint8_t *pis = NULL;
	size_t pis_len = 0;
	struct buf ct;
	buf_init(&ct, FED_DAP_MAX_SHARE + 64);
	if (!config_is_ours(cfg))
		return LV_ERR_UNSUPPORTED;
	fed_dap_input_share_info(role, info);
	enum lv_status st = pis_alloc(share, share_len, &pis, &pis_len);
	if (st == LV_OK)
		st = sk_e ? fed_hpke_seal_eph(cfg->public_key, sk_e, info, sizeof info, (const uint8_t *)aad->data,
					      aad->len, pis, pis_len, enc, &ct)
			  : fed_hpke_seal(cfg->public_key, info, sizeof info, (const uint8_t *)aad->data, aad->len, pis,
					  pis_len, enc, &ct);
	if (st == LV_OK)
		st = buf_uint(out, 1, cfg->id);
	if (st == LV_OK)
		st = buf_opaque(out, 2, enc, sizeof enc);
	if (st == LV_OK)
		st = buf_opaque(out, 4, (const uint8_t *)ct.data, ct.len);
	if (pis) {
		sodium_memzero(pis, pis_len);
		free(pis);
	}
	buf_free(&ct);
	return st;
}

static enum lv_status report_build(const struct fed_dap_report_input *in, const uint8_t *sk_e_leader,
				   const uint8_t *sk_e_helper, struct buf *out)
{
	struct buf aad;
	buf_init(&aad, FED_DAP_MAX_SHARE + 128);
	buf_reset(out);
	if (in->leader_share_len > FED_DAP_MAX_SHARE || in->helper_share_len > FED_DAP_MAX_SHARE)
		return LV_ERR_TOO_LARGE;
	enum lv_status st = fed_dap_input_share_aad_encode(in->task_id, in->report_id, in->time, in->public_share,
							   in->public_share_len, &aad);
	if (st == LV_OK)
		st = metadata_encode(out, in->report_id, in->time);
	if (st == LV_OK)
		st = buf_opaque(out, 4, in->public_share, in->public_share_len);
	if (st == LV_OK)
		st = seal_share(in->leader_config, FED_DAP_ROLE_LEADER, sk_e_leader, &aad, in->leader_share,
				in->leader_share_len, out);
	if (st == LV_OK)
		st = seal_share(in->helper_config, FED_DAP_ROLE_HELPER, sk_e_helper, &aad, in->helper_share,
				in->helper_share_len, out);
	if (st != LV_OK)
		buf_reset(out);
	buf_free(&aad);
	return st;
}

enum lv_status fed_dap_report_build(const struct fed_dap_report_input *in, struct buf *out)
{
	return report_build(in, NULL, NULL, out);
}

enum lv_status fed_dap_report_build_eph(const struct fed_dap_report_input *in,
					const uint8_t sk_e_leader[FED_HPKE_NSK],
					const uint8_t sk_e_helper[FED_HPKE_NSK], struct buf *out)
{
	return report_build(in, sk_e_leader, sk_e_helper, out);
}

static int ciphertext_decode(struct rd *r, struct fed_dap_ciphertext *c)
{
	uint64_t id;
	if (rd_uint(r, 1, &id) || rd_opaque(r, 2, 1, &c->enc, &c->enc_len) ||
	    rd_opaque(r, 4, 1, &c->payload, &c->payload_len))
		return -1;
	c->config_id = (uint8_t)id;
	return 0;
}

enum lv_status fed_dap_report_decode(const uint8_t *b, size_t n, struct fed_dap_report *out)
{
	struct rd r = {b, n};
	const uint8_t *id;
	memset(out, 0, sizeof *out);
	if (n > FED_DAP_MAX_REPORT)
		return LV_ERR_TOO_LARGE;
	if (rd_take(&r, FED_DAP_REPORT_ID_LEN, &id) || rd_uint(&r, 8, &out->time) ||
	    rd_opaque(&r, 4, 0, &out->public_share, &out->public_share_len) ||
	    ciphertext_decode(&r, &out->leader) || ciphertext_decode(&r, &out->helper) || r.n != 0) {
		memset(out, 0, sizeof *out);
		return LV_ERR_INVALID;
	}
	memcpy(out->report_id, id, FED_DAP_REPORT_ID_LEN);
	return LV_OK;
}

enum lv_status fed_dap_report_open_share(const struct fed_dap_report *r, const uint8_t task_id[FED_DAP_TASK_ID_LEN],
					 uint8_t server_role, uint8_t config_id, const uint8_t sk[FED_HPKE_NSK],
					 struct buf *share)
{
	const struct fed_dap_ciphertext *c = server_role == FED_DAP_ROLE_LEADER ? &r->leader
					     : server_role == FED_DAP_ROLE_HELPER ? &r->helper
										   : NULL;
	uint8_t info[FED_DAP_INFO_LEN];
	struct buf aad, pt;
	const uint8_t *payload;
	size_t payload_len;
	buf_reset(share);
	if (!c)
		return LV_ERR_INVALID;
	if (c->config_id != config_id)
		return LV_ERR_NOT_FOUND;
	if (c->enc_len != FED_HPKE_NENC)
		return LV_ERR_CRYPTO;
	buf_init(&aad, FED_DAP_MAX_SHARE + 128);
	buf_init(&pt, FED_DAP_MAX_SHARE + 64);
	fed_dap_input_share_info(server_role, info);
	enum lv_status st = fed_dap_input_share_aad_encode(task_id, r->report_id, r->time, r->public_share,
							   r->public_share_len, &aad);
	if (st == LV_OK)
		st = fed_hpke_open(sk, c->enc, info, sizeof info, (const uint8_t *)aad.data, aad.len, c->payload,
				   c->payload_len, &pt);
	if (st == LV_OK)
		st = fed_dap_plaintext_input_share_decode((const uint8_t *)pt.data, pt.len, &payload, &payload_len);
	if (st == LV_OK)
		st = buf_append(share, payload, payload_len);
	if (st != LV_OK)
		buf_reset(share);
	if (pt.data)
		sodium_memzero(pt.data, pt.len);
	buf_free(&pt);
	buf_free(&aad);
	return st;
}
