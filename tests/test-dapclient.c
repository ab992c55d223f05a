/* DAP-09 messages and the upload client.  Encodings are checked against
 * bytes written out by hand from the draft's struct definitions
 * (draft-ietf-ppm-dap-09 §4.1, §4.4.1, §4.4.2); the client runs against a
 * small libmicrohttpd mock Leader and Helper on 127.0.0.1 (ephemeral
 * ports) that decode the uploaded report and open the input shares with
 * their private keys. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>
#include <sodium.h>

#include "federation/dap.h"
#include "federation/dap_client.h"
#include "federation/hpke.h"
#include "harness.h"
#include "learnvault/util.h"

/* ------------------------------------------------------------------ */
/* Encodings                                                            */
/* ------------------------------------------------------------------ */

static const uint8_t PK7[32] = {0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa,
				0xab, 0xac, 0xad, 0xae, 0xaf, 0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5,
				0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf};

/* HpkeConfigList with one HpkeConfig { id 7, kem 0x0020, kdf 0x0001,
 * aead 0x0001, public_key<1..2^16-1> = PK7 }. */
static size_t one_config_list(uint8_t *b)
{
	size_t n = 0;
	const uint8_t head[] = {0x00, 0x29, /* list length 41 = 1 + 2 + 2 + 2 + 2 + 32 */
				0x07, 0x00, 0x20, 0x00, 0x01, 0x00, 0x01, 0x00, 0x20};
	memcpy(b, head, sizeof head), n += sizeof head;
	memcpy(b + n, PK7, 32), n += 32;
	return n;
}

START_TEST(config_list_decode_encode)
{
	uint8_t b[64];
	size_t n = one_config_list(b);
	ck_assert_uint_eq(n, 43);
	struct fed_hpke_config_list *l = NULL;
	ck_assert_int_eq(fed_dap_hpke_config_list_decode(b, n, &l), LV_OK);
	ck_assert_uint_eq(l->n, 1);
	ck_assert_uint_eq(l->configs[0].id, 7);
	ck_assert_uint_eq(l->configs[0].kem_id, 0x20);
	ck_assert_uint_eq(l->configs[0].kdf_id, 1);
	ck_assert_uint_eq(l->configs[0].aead_id, 1);
	ck_assert_uint_eq(l->configs[0].public_key_len, 32);
	ck_assert_mem_eq(l->configs[0].public_key, PK7, 32);
	const struct fed_hpke_config *sel = NULL;
	ck_assert_int_eq(fed_dap_hpke_config_select(l, &sel), LV_OK);
	ck_assert_ptr_eq(sel, &l->configs[0]);
	struct buf out;
	buf_init(&out, 1 << 16);
	ck_assert_int_eq(fed_dap_hpke_config_list_encode(l->configs, l->n, &out), LV_OK);
	ck_assert_uint_eq(out.len, n);
	ck_assert_mem_eq(out.data, b, n);
	buf_free(&out);
	fed_dap_hpke_config_list_free(l);
}
END_TEST

static enum lv_status decode_status(const uint8_t *b, size_t n)
{
	struct fed_hpke_config_list *l = (void *)1;
	enum lv_status st = fed_dap_hpke_config_list_decode(b, n, &l);
	if (st != LV_OK)
		ck_assert_ptr_null(l);
	fed_dap_hpke_config_list_free(l);
	return st;
}

START_TEST(config_list_strict)
{
	uint8_t b[64 * 50], c[64];
	size_t n = one_config_list(c);
	const uint8_t empty[] = {0x00, 0x00};
	ck_assert_int_eq(decode_status(empty, 2), LV_ERR_INVALID); /* HpkeConfigList<1..> */
	ck_assert_int_eq(decode_status(c, 1), LV_ERR_INVALID);
	for (size_t k = 0; k < n; k++) /* every truncation */
		ck_assert_int_eq(decode_status(c, k), LV_ERR_INVALID);
	memcpy(b, c, n);
	b[n] = 0x00; /* trailing byte */
	ck_assert_int_eq(decode_status(b, n + 1), LV_ERR_INVALID);
	memcpy(b, c, n);
	b[1] = 0x28; /* list length one short: the config overruns it */
	ck_assert_int_eq(decode_status(b, n), LV_ERR_INVALID);
	/* an empty public key */
	const uint8_t nokey[] = {0x00, 0x09, 0x01, 0x00, 0x20, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00};
	ck_assert_int_eq(decode_status(nokey, sizeof nokey), LV_ERR_INVALID);
	/* two configs with the same id */
	b[0] = 0x00, b[1] = 0x52;
	memcpy(b + 2, c + 2, 41);
	memcpy(b + 43, c + 2, 41);
	ck_assert_int_eq(decode_status(b, 84), LV_ERR_INVALID);
	b[43] = 0x08;
	ck_assert_int_eq(decode_status(b, 84), LV_OK);
	/* more configs than the cap */
	size_t m = FED_DAP_MAX_CONFIGS + 1;
	for (size_t i = 0; i < m; i++) {
		memcpy(b + 2 + 41 * i, c + 2, 41);
		b[2 + 41 * i] = (uint8_t)i;
	}
	b[0] = (uint8_t)((41 * m) >> 8), b[1] = (uint8_t)(41 * m);
	ck_assert_int_eq(decode_status(b, 2 + 41 * m), LV_ERR_TOO_LARGE);
	ck_assert_int_eq(decode_status(b, 2 + 41 * (m - 1)), LV_ERR_INVALID); /* length says m */
	b[0] = (uint8_t)((41 * (m - 1)) >> 8), b[1] = (uint8_t)(41 * (m - 1));
	ck_assert_int_eq(decode_status(b, 2 + 41 * (m - 1)), LV_OK);
}
END_TEST

START_TEST(config_select_first_of_ours)
{
	uint8_t pk[65] = {4};
	struct fed_hpke_config cs[4] = {
		{1, 0x0010, 0x0001, 0x0001, pk, 65},   /* P-256: not ours */
		{2, 0x0020, 0x0001, 0x0003, PK7, 32},  /* ChaCha20Poly1305: not ours */
		{3, 0x0020, 0x0001, 0x0001, PK7, 32},  /* ours */
		{4, 0x0020, 0x0001, 0x0001, PK7, 32},  /* ours, less preferred */
	};
	struct buf b;
	buf_init(&b, 1 << 16);
	ck_assert_int_eq(fed_dap_hpke_config_list_encode(cs, 4, &b), LV_OK);
	struct fed_hpke_config_list *l = NULL;
	ck_assert_int_eq(fed_dap_hpke_config_list_decode((uint8_t *)b.data, b.len, &l), LV_OK);
	ck_assert_uint_eq(l->n, 4);
	const struct fed_hpke_config *sel = NULL;
	ck_assert_int_eq(fed_dap_hpke_config_select(l, &sel), LV_OK);
	ck_assert_uint_eq(sel->id, 3);
	fed_dap_hpke_config_list_free(l);
	ck_assert_int_eq(fed_dap_hpke_config_list_encode(cs, 2, &b), LV_OK);
	ck_assert_int_eq(fed_dap_hpke_config_list_decode((uint8_t *)b.data, b.len, &l), LV_OK);
	ck_assert_int_eq(fed_dap_hpke_config_select(l, &sel), LV_ERR_UNSUPPORTED);
	ck_assert_ptr_null(sel);
	fed_dap_hpke_config_list_free(l);
	buf_free(&b);
}
END_TEST

START_TEST(small_pieces)
{
	uint64_t t = 1;
	ck_assert_int_eq(fed_dap_time_round(1700000123, 3600, &t), LV_OK);
	ck_assert_uint_eq(t, 1699999200);
	ck_assert_int_eq(fed_dap_time_round(1699999200, 3600, &t), LV_OK);
	ck_assert_uint_eq(t, 1699999200);
	ck_assert_int_eq(fed_dap_time_round(5, 0, &t), LV_ERR_INVALID);
	uint8_t id[32];
	for (int i = 0; i < 32; i++)
		id[i] = (uint8_t)i;
	char b64[FED_DAP_TASK_ID_B64_LEN];
	fed_dap_task_id_b64(id, b64);
	ck_assert_str_eq(b64, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8");
	uint8_t info[FED_DAP_INFO_LEN];
	ck_assert_uint_eq(sizeof info, 20);
	fed_dap_input_share_info(FED_DAP_ROLE_HELPER, info);
	ck_assert_mem_eq(info, "dap-09 input share\x01\x03", 20);
}
END_TEST

START_TEST(input_share_aad_bytes)
{
	uint8_t task[32], rid[16];
	memset(task, 0x11, 32);
	memset(rid, 0x22, 16);
	const uint8_t ps[] = {0xaa, 0xbb, 0xcc};
	uint8_t want[32 + 16 + 8 + 4 + 3];
	memset(want, 0x11, 32);
	memset(want + 32, 0x22, 16);
	const uint8_t tail[] = {0x00, 0x00, 0x00, 0x00, 0x65, 0x43, 0x21, 0x00, /* time u64 */
				0x00, 0x00, 0x00, 0x03, 0xaa, 0xbb, 0xcc};     /* public_share<0..2^32-1> */
	memcpy(want + 48, tail, sizeof tail);
	struct buf b;
	buf_init(&b, 1 << 16);
	ck_assert_int_eq(fed_dap_input_share_aad_encode(task, rid, 0x65432100, ps, 3, &b), LV_OK);
	ck_assert_uint_eq(b.len, sizeof want);
	ck_assert_mem_eq(b.data, want, sizeof want);
	buf_free(&b);
}
END_TEST

START_TEST(plaintext_input_share_bytes)
{
	const uint8_t payload[] = {1, 2, 3};
	const uint8_t want[] = {0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 1, 2, 3};
	struct buf b;
	buf_init(&b, 1 << 16);
	ck_assert_int_eq(fed_dap_plaintext_input_share_encode(payload, 3, &b), LV_OK);
	ck_assert_uint_eq(b.len, sizeof want);
	ck_assert_mem_eq(b.data, want, sizeof want);
	const uint8_t *p;
	size_t n;
	ck_assert_int_eq(fed_dap_plaintext_input_share_decode(want, sizeof want, &p, &n), LV_OK);
	ck_assert_uint_eq(n, 3);
	ck_assert_mem_eq(p, payload, 3);
	const uint8_t trailing[] = {0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 9, 9};
	ck_assert_int_eq(fed_dap_plaintext_input_share_decode(trailing, sizeof trailing, &p, &n), LV_ERR_INVALID);
	ck_assert_int_eq(fed_dap_plaintext_input_share_decode(trailing, 5, &p, &n), LV_ERR_INVALID);
	/* one Extension { type 0x0000, extension_data<0..2^16-1> empty } */
	const uint8_t ext[] = {0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
	ck_assert_int_eq(fed_dap_plaintext_input_share_decode(ext, sizeof ext, &p, &n), LV_ERR_UNSUPPORTED);
	buf_free(&b);
}
END_TEST

/* Keys and shares of the report tests. */
struct fixture {
	uint8_t task[32], rid[16], lsk[32], lpk[32], hsk[32], hpk[32], esk_l[32], esk_h[32];
	uint8_t ps[5], ls[40], hs[40];
	struct fed_hpke_config lc, hc;
	struct fed_dap_report_input in;
};

static void fixture_init(struct fixture *f)
{
	for (int i = 0; i < 32; i++)
		f->task[i] = (uint8_t)(0x40 + i);
	for (int i = 0; i < 16; i++)
		f->rid[i] = (uint8_t)(0x80 + i);
	ck_assert_int_eq(fed_hpke_derive_keypair((const uint8_t *)"leader key ikm, 32 bytes long...", 32, f->lsk, f->lpk),
			 LV_OK);
	ck_assert_int_eq(fed_hpke_derive_keypair((const uint8_t *)"helper key ikm, 32 bytes long...", 32, f->hsk, f->hpk),
			 LV_OK);
	memset(f->esk_l, 0x5a, 32);
	memset(f->esk_h, 0xa5, 32);
	memcpy(f->ps, "\x01\x02\x03\x04\x05", 5);
	for (int i = 0; i < 40; i++)
		f->ls[i] = (uint8_t)i, f->hs[i] = (uint8_t)(200 - i);
	f->lc = (struct fed_hpke_config){9, 0x20, 1, 1, f->lpk, 32};
	f->hc = (struct fed_hpke_config){17, 0x20, 1, 1, f->hpk, 32};
	f->in = (struct fed_dap_report_input){f->task, f->rid, 1699999200, f->ps, 5, f->ls, 40, f->hs, 40, &f->lc, &f->hc};
}

/* The Report's bytes, rebuilt by hand from the draft's structs: the
 * metadata and public share literally, each HpkeCiphertext from an
 * independent HPKE seal of the hand-built PlaintextInputShare. */
START_TEST(report_bytes)
{
	struct fixture f;
	fixture_init(&f);
	struct buf rep, aad, ct;
	buf_init(&rep, 1 << 20);
	buf_init(&aad, 1 << 16);
	buf_init(&ct, 1 << 16);
	ck_assert_int_eq(fed_dap_report_build_eph(&f.in, f.esk_l, f.esk_h, &rep), LV_OK);
	uint8_t want[1024];
	size_t n = 0;
	memcpy(want, f.rid, 16), n += 16;
	const uint8_t t_ps[] = {0, 0, 0, 0, 0x65, 0x53, 0xed, 0xe0, 0, 0, 0, 5, 1, 2, 3, 4, 5};
	memcpy(want + n, t_ps, sizeof t_ps), n += sizeof t_ps;
	ck_assert_int_eq(fed_dap_input_share_aad_encode(f.task, f.rid, 1699999200, f.ps, 5, &aad), LV_OK);
	const uint8_t *shares[] = {f.ls, f.hs}, *pks[] = {f.lpk, f.hpk}, *esks[] = {f.esk_l, f.esk_h};
	const uint8_t ids[] = {9, 17}, roles[] = {2, 3};
	for (int s = 0; s < 2; s++) {
		uint8_t pis[46] = {0, 0, 0, 0, 0, 40}, info[20], enc[32];
		memcpy(pis + 6, shares[s], 40);
		memcpy(info, "dap-09 input share\x01", 19);
		info[19] = roles[s];
		ck_assert_int_eq(fed_hpke_seal_eph(pks[s], esks[s], info, 20, (uint8_t *)aad.data, aad.len, pis, 46, enc, &ct),
				 LV_OK);
		ck_assert_uint_eq(ct.len, 46 + 16);
		want[n++] = ids[s];
		want[n++] = 0, want[n++] = 32;
		memcpy(want + n, enc, 32), n += 32;
		want[n++] = 0, want[n++] = 0, want[n++] = 0, want[n++] = 62;
		memcpy(want + n, ct.data, 62), n += 62;
	}
	ck_assert_uint_eq(rep.len, n);
	ck_assert_mem_eq(rep.data, want, n);
	buf_free(&rep);
	buf_free(&aad);
	buf_free(&ct);
}
END_TEST

START_TEST(report_decode_and_open)
{
	struct fixture f;
	fixture_init(&f);
	struct buf rep, share;
	buf_init(&rep, 1 << 20);
	buf_init(&share, 1 << 16);
	ck_assert_int_eq(fed_dap_report_build(&f.in, &rep), LV_OK);
	struct fed_dap_report r;
	ck_assert_int_eq(fed_dap_report_decode((uint8_t *)rep.data, rep.len, &r), LV_OK);
	ck_assert_mem_eq(r.report_id, f.rid, 16);
	ck_assert_uint_eq(r.time, 1699999200);
	ck_assert_uint_eq(r.public_share_len, 5);
	ck_assert_uint_eq(r.leader.config_id, 9);
	ck_assert_uint_eq(r.helper.config_id, 17);
	ck_assert_int_eq(fed_dap_report_open_share(&r, f.task, FED_DAP_ROLE_LEADER, 9, f.lsk, &share), LV_OK);
	ck_assert_uint_eq(share.len, 40);
	ck_assert_mem_eq(share.data, f.ls, 40);
	ck_assert_int_eq(fed_dap_report_open_share(&r, f.task, FED_DAP_ROLE_HELPER, 17, f.hsk, &share), LV_OK);
	ck_assert_mem_eq(share.data, f.hs, 40);
	/* wrong config id, wrong key, wrong role (info), wrong task (aad) */
	ck_assert_int_eq(fed_dap_report_open_share(&r, f.task, FED_DAP_ROLE_LEADER, 8, f.lsk, &share), LV_ERR_NOT_FOUND);
	ck_assert_int_eq(fed_dap_report_open_share(&r, f.task, FED_DAP_ROLE_LEADER, 9, f.hsk, &share), LV_ERR_CRYPTO);
	struct fed_dap_report swapped = r;
	swapped.helper = r.leader;
	ck_assert_int_eq(fed_dap_report_open_share(&swapped, f.task, FED_DAP_ROLE_HELPER, 9, f.lsk, &share),
			 LV_ERR_CRYPTO);
	f.task[0] ^= 1;
	ck_assert_int_eq(fed_dap_report_open_share(&r, f.task, FED_DAP_ROLE_LEADER, 9, f.lsk, &share), LV_ERR_CRYPTO);
	f.task[0] ^= 1;
	ck_assert_uint_eq(share.len, 0);
	/* the metadata and public share are bound by the AAD: any flipped
	 * byte of them makes both shares fail to open */
	uint8_t *b = (uint8_t *)rep.data;
	for (size_t i = 0; i < 16 + 8 + 4 + 5; i++) {
		if (i >= 24 && i < 28)
			continue; /* the length prefix: decoding fails instead */
		b[i] ^= 0x04;
		ck_assert_int_eq(fed_dap_report_decode(b, rep.len, &r), LV_OK);
		ck_assert_int_eq(fed_dap_report_open_share(&r, f.task, FED_DAP_ROLE_LEADER, 9, f.lsk, &share),
				 LV_ERR_CRYPTO);
		ck_assert_int_eq(fed_dap_report_open_share(&r, f.task, FED_DAP_ROLE_HELPER, 17, f.hsk, &share),
				 LV_ERR_CRYPTO);
		b[i] ^= 0x04;
	}
	/* strict decoding: every truncation and a trailing byte */
	for (size_t k = 0; k < rep.len; k++)
		ck_assert_int_eq(fed_dap_report_decode(b, k, &r), LV_ERR_INVALID);
	ck_assert_int_eq(buf_append(&rep, "", 1), LV_OK);
	ck_assert_int_eq(fed_dap_report_decode((uint8_t *)rep.data, rep.len, &r), LV_ERR_INVALID);
	/* a config of another suite is refused when building */
	f.hc.aead_id = 3;
	ck_assert_int_eq(fed_dap_report_build(&f.in, &rep), LV_ERR_UNSUPPORTED);
	ck_assert_uint_eq(rep.len, 0);
	buf_free(&rep);
	buf_free(&share);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Mock aggregator                                                      */
/* ------------------------------------------------------------------ */

struct mock {
	struct MHD_Daemon *d;
	char url[64];
	bool leader;
	uint8_t task[32];
	pthread_mutex_t mu;
	/* guarded by mu */
	uint8_t config_id, sk[32], pk[32];
	uint16_t kem_id;
	const char *cache_control;
	unsigned config_hits, upload_hits;
	unsigned fail_5xx;
	bool reject;
	unsigned slow_ms;
	uint8_t *last;
	size_t last_len;
	char auth[128], dap_auth[128], config_auth[128];
};

struct upload_state {
	struct buf body;
};

static void mock_rotate(struct mock *m)
{
	pthread_mutex_lock(&m->mu);
	m->config_id++;
	ck_assert_int_eq(fed_hpke_keygen(m->sk, m->pk), LV_OK);
	pthread_mutex_unlock(&m->mu);
}

static enum MHD_Result respond(struct MHD_Connection *conn, unsigned status, const char *ctype, const void *body,
			       size_t len, const char *cache_control)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	if (ctype)
		MHD_add_response_header(r, "Content-Type", ctype);
	if (cache_control)
		MHD_add_response_header(r, "Cache-Control", cache_control);
	enum MHD_Result ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result problem(struct MHD_Connection *conn, unsigned status, const char *token)
{
	char body[256];
	int n = snprintf(body, sizeof body, "{\"type\":\"%s%s\",\"title\":\"mock\",\"status\":%u}", FED_DAP_ERROR_PREFIX,
			 token, status);
	return respond(conn, status, "application/problem+json", body, (size_t)n, NULL);
}

static void copy_header(struct MHD_Connection *conn, const char *name, char *out, size_t cap)
{
	const char *v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);
	snprintf(out, cap, "%s", v ? v : "");
}

static enum MHD_Result mock_config(struct mock *m, struct MHD_Connection *conn)
{
	char b64[FED_DAP_TASK_ID_B64_LEN];
	fed_dap_task_id_b64(m->task, b64);
	const char *q = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "task_id");
	if (!q)
		return problem(conn, 400, "missingTaskID");
	if (strcmp(q, b64) != 0)
		return problem(conn, 400, "unrecognizedTask");
	pthread_mutex_lock(&m->mu);
	m->config_hits++;
	copy_header(conn, "Authorization", m->config_auth, sizeof m->config_auth);
	struct fed_hpke_config c = {m->config_id, m->kem_id, 1, 1, m->pk, 32};
	struct buf b;
	buf_init(&b, 1 << 16);
	ck_assert_int_eq(fed_dap_hpke_config_list_encode(&c, 1, &b), LV_OK);
	const char *cc = m->cache_control;
	pthread_mutex_unlock(&m->mu);
	enum MHD_Result ret = respond(conn, 200, FED_DAP_MEDIA_HPKE_CONFIG_LIST, b.data, b.len, cc);
	buf_free(&b);
	return ret;
}

/* The Leader's upload route: the checks Janus makes before 201. */
static enum MHD_Result mock_upload(struct mock *m, struct MHD_Connection *conn, const char *url, struct buf *body)
{
	char path[128], b64[FED_DAP_TASK_ID_B64_LEN];
	fed_dap_task_id_b64(m->task, b64);
	snprintf(path, sizeof path, "/tasks/%s/reports", b64);
	pthread_mutex_lock(&m->mu);
	m->upload_hits++;
	copy_header(conn, "Authorization", m->auth, sizeof m->auth);
	copy_header(conn, "DAP-Auth-Token", m->dap_auth, sizeof m->dap_auth);
	unsigned slow = m->slow_ms;
	bool fail = m->fail_5xx > 0, reject = m->reject;
	if (fail)
		m->fail_5xx--;
	pthread_mutex_unlock(&m->mu);
	if (slow)
		usleep(slow * 1000);
	if (fail)
		return respond(conn, 503, "text/plain", "busy", 4, NULL);
	if (strcmp(url, path) != 0)
		return problem(conn, 404, "unrecognizedTask");
	const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
	struct fed_dap_report r;
	if (!ct || strcmp(ct, FED_DAP_MEDIA_REPORT) != 0 ||
	    fed_dap_report_decode((uint8_t *)body->data, body->len, &r) != LV_OK)
		return problem(conn, 400, "invalidMessage");
	if (reject)
		return problem(conn, 400, "reportRejected");
	struct buf share;
	buf_init(&share, 1 << 20);
	pthread_mutex_lock(&m->mu);
	enum lv_status st = fed_dap_report_open_share(&r, m->task, FED_DAP_ROLE_LEADER, m->config_id, m->sk, &share);
	if (st == LV_OK) {
		free(m->last);
		m->last_len = body->len;
		m->last = malloc(body->len);
		memcpy(m->last, body->data, body->len);
	}
	pthread_mutex_unlock(&m->mu);
	buf_free(&share);
	if (st == LV_ERR_NOT_FOUND)
		return problem(conn, 400, "outdatedConfig");
	if (st != LV_OK)
		return problem(conn, 400, "invalidMessage");
	return respond(conn, 201, NULL, "", 0, NULL);
}

static enum MHD_Result mock_handler(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
				    const char *version, const char *upload_data, size_t *upload_size, void **con_cls)
{
	(void)version;
	struct mock *m = cls;
	if (strcmp(method, "GET") == 0 && strcmp(url, "/hpke_config") == 0)
		return mock_config(m, conn);
	if (!m->leader || strcmp(method, "PUT") != 0)
		return respond(conn, 404, "text/plain", "no", 2, NULL);
	struct upload_state *u = *con_cls;
	if (!u) {
		u = calloc(1, sizeof *u);
		buf_init(&u->body, 1 << 20);
		*con_cls = u;
		return MHD_YES;
	}
	if (*upload_size) {
		if (buf_append(&u->body, upload_data, *upload_size) != LV_OK)
			return MHD_NO;
		*upload_size = 0;
		return MHD_YES;
	}
	return mock_upload(m, conn, url, &u->body);
}

static void mock_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode t)
{
	(void)cls, (void)conn, (void)t;
	struct upload_state *u = *con_cls;
	if (u) {
		buf_free(&u->body);
		free(u);
	}
	*con_cls = NULL;
}

static void mock_start(struct mock *m, bool leader, const uint8_t task[32])
{
	memset(m, 0, sizeof *m);
	pthread_mutex_init(&m->mu, NULL);
	m->leader = leader;
	memcpy(m->task, task, 32);
	m->config_id = leader ? 1 : 101;
	m->kem_id = FED_HPKE_KEM_X25519_SHA256;
	ck_assert_int_eq(fed_hpke_keygen(m->sk, m->pk), LV_OK);
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = 0};
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	m->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL, NULL,
				mock_handler, m, MHD_OPTION_SOCK_ADDR, &sin, MHD_OPTION_NOTIFY_COMPLETED,
				mock_completed, NULL, MHD_OPTION_END);
	ck_assert_ptr_nonnull(m->d);
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(m->d, MHD_DAEMON_INFO_BIND_PORT);
	ck_assert(di && di->port);
	snprintf(m->url, sizeof m->url, "http://127.0.0.1:%u", (unsigned)di->port);
}

static void mock_stop(struct mock *m)
{
	MHD_stop_daemon(m->d);
	free(m->last);
	pthread_mutex_destroy(&m->mu);
}

/* ------------------------------------------------------------------ */
/* Client                                                               */
/* ------------------------------------------------------------------ */

struct env {
	uint8_t task[32], rid[16];
	uint8_t ps[7], ls[50], hs[50];
	struct mock leader, helper;
	struct fed_dap_upload up;
};

static void env_start(struct env *e)
{
	randombytes_buf(e->task, 32);
	randombytes_buf(e->rid, 16);
	randombytes_buf(e->ps, sizeof e->ps);
	randombytes_buf(e->ls, sizeof e->ls);
	randombytes_buf(e->hs, sizeof e->hs);
	mock_start(&e->leader, true, e->task);
	mock_start(&e->helper, false, e->task);
	e->up = (struct fed_dap_upload){e->leader.url, e->helper.url, e->task, e->rid, 1699999200,
					e->ps, sizeof e->ps, e->ls, sizeof e->ls, e->hs, sizeof e->hs};
}

static void env_stop(struct env *e)
{
	mock_stop(&e->leader);
	mock_stop(&e->helper);
}

static struct fed_dap_client *client(const struct fed_dap_client_options *o)
{
	struct fed_dap_client *c = NULL;
	ck_assert_int_eq(fed_dap_client_create(o, &c), LV_OK);
	return c;
}

START_TEST(client_config_fetch_and_cache)
{
	struct env e;
	env_start(&e);
	struct fed_dap_client *c = client(NULL);
	struct fed_dap_result res;
	uint8_t id, pk[32];
	e.leader.cache_control = "public, max-age=86400";
	ck_assert_int_eq(fed_dap_client_hpke_config(c, e.leader.url, e.task, &id, pk, &res), LV_OK);
	ck_assert_uint_eq(id, 1);
	ck_assert_mem_eq(pk, e.leader.pk, 32);
	ck_assert_uint_eq(res.requests, 1);
	/* cached: a trailing slash names the same endpoint */
	char slash[80];
	snprintf(slash, sizeof slash, "%s/", e.leader.url);
	ck_assert_int_eq(fed_dap_client_hpke_config(c, slash, e.task, &id, pk, &res), LV_OK);
	ck_assert_uint_eq(res.requests, 0);
	ck_assert_uint_eq(e.leader.config_hits, 1);
	/* max-age=0: fetched every time */
	e.helper.cache_control = "max-age=0";
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(fed_dap_client_hpke_config(c, e.helper.url, e.task, &id, pk, &res), LV_OK);
	ck_assert_uint_eq(id, 101);
	ck_assert_uint_eq(e.helper.config_hits, 2);
	/* another task is another cache entry; the mock does not know it */
	uint8_t other[32];
	memcpy(other, e.task, 32);
	other[0] ^= 1;
	ck_assert_int_eq(fed_dap_client_hpke_config(c, e.leader.url, other, &id, pk, &res), LV_ERR_NOT_FOUND);
	ck_assert_int_eq(res.error, FED_DAP_E_UNRECOGNIZED_TASK);
	ck_assert_uint_eq(id, 0);
	ck_assert_str_eq(res.type, FED_DAP_ERROR_PREFIX "unrecognizedTask");
	fed_dap_client_destroy(c);
	/* no Cache-Control: the default lifetime (1 s here) */
	struct fed_dap_client_options o = {.default_max_age_s = 1};
	c = client(&o);
	e.helper.cache_control = NULL;
	e.helper.config_hits = 0;
	ck_assert_int_eq(fed_dap_client_hpke_config(c, e.helper.url, e.task, &id, pk, &res), LV_OK);
	ck_assert_int_eq(fed_dap_client_hpke_config(c, e.helper.url, e.task, &id, pk, &res), LV_OK);
	ck_assert_uint_eq(e.helper.config_hits, 1);
	usleep(1100 * 1000);
	ck_assert_int_eq(fed_dap_client_hpke_config(c, e.helper.url, e.task, &id, pk, &res), LV_OK);
	ck_assert_uint_eq(e.helper.config_hits, 2);
	fed_dap_client_destroy(c);
	env_stop(&e);
}
END_TEST

START_TEST(client_config_refusals)
{
	struct env e;
	env_start(&e);
	struct fed_dap_client *c = client(NULL);
	struct fed_dap_result res;
	uint8_t id, pk[32];
	e.leader.kem_id = 0x0010; /* P-256 only: not our suite */
	ck_assert_int_eq(fed_dap_client_hpke_config(c, e.leader.url, e.task, &id, pk, &res), LV_ERR_UNSUPPORTED);
	ck_assert_int_eq(res.error, FED_DAP_E_NO_SUITE);
	const char *bad[] = {"ftp://127.0.0.1/", "file:///etc/passwd", "127.0.0.1:80", "", "http://a b"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		ck_assert_int_eq(fed_dap_client_hpke_config(c, bad[i], e.task, &id, pk, &res), LV_ERR_INVALID);
	fed_dap_client_destroy(c);
	struct fed_dap_client_options o = {.bearer_token = "two\r\nlines"};
	struct fed_dap_client *bad_c = (void *)1;
	ck_assert_int_eq(fed_dap_client_create(&o, &bad_c), LV_ERR_INVALID);
	ck_assert_ptr_null(bad_c);
	env_stop(&e);
}
END_TEST

/* The mock Leader decodes the uploaded report and opens its share; the
 * Helper's share in the same bytes opens with the Helper's key. */
START_TEST(client_upload_opens_both_shares)
{
	struct env e;
	env_start(&e);
	struct fed_dap_client_options o = {.bearer_token = "tok-0123456789"};
	struct fed_dap_client *c = client(&o);
	struct fed_dap_result res;
	ck_assert_int_eq(fed_dap_client_upload(c, &e.up, &res), LV_OK);
	ck_assert_int_eq(res.error, FED_DAP_E_NONE);
	ck_assert_int_eq(res.http_status, 201);
	ck_assert_uint_eq(res.requests, 3); /* two configs and the upload */
	ck_assert_uint_eq(e.leader.upload_hits, 1);
	ck_assert_ptr_nonnull(e.leader.last);
	struct fed_dap_report r;
	ck_assert_int_eq(fed_dap_report_decode(e.leader.last, e.leader.last_len, &r), LV_OK);
	ck_assert_mem_eq(r.report_id, e.rid, 16);
	ck_assert_uint_eq(r.time, 1699999200);
	ck_assert_uint_eq(r.public_share_len, sizeof e.ps);
	ck_assert_mem_eq(r.public_share, e.ps, sizeof e.ps);
	struct buf share;
	buf_init(&share, 1 << 16);
	ck_assert_int_eq(fed_dap_report_open_share(&r, e.task, FED_DAP_ROLE_LEADER, 1, e.leader.sk, &share), LV_OK);
	ck_assert_mem_eq(share.data, e.ls, sizeof e.ls);
	ck_assert_int_eq(fed_dap_report_open_share(&r, e.task, FED_DAP_ROLE_HELPER, 101, e.helper.sk, &share), LV_OK);
	ck_assert_uint_eq(share.len, sizeof e.hs);
	ck_assert_mem_eq(share.data, e.hs, sizeof e.hs);
	/* client auth reached the Leader's upload route, and only it */
	ck_assert_str_eq(e.leader.auth, "Bearer tok-0123456789");
	ck_assert_str_eq(e.leader.dap_auth, "tok-0123456789");
	ck_assert_str_eq(e.helper.config_auth, "");
	ck_assert_str_eq(e.leader.config_auth, "");
	/* a second upload reuses both cached configs */
	ck_assert_int_eq(fed_dap_client_upload(c, &e.up, &res), LV_OK);
	ck_assert_uint_eq(res.requests, 1);
	buf_free(&share);
	fed_dap_client_destroy(c);
	env_stop(&e);
}
END_TEST

START_TEST(client_retries_5xx)
{
	struct env e;
	env_start(&e);
	struct fed_dap_client_options o = {.backoff_ms = 10, .backoff_max_ms = 20};
	struct fed_dap_client *c = client(&o);
	struct fed_dap_result res;
	uint8_t id, pk[32];
	ck_assert_int_eq(fed_dap_client_hpke_config(c, e.leader.url, e.task, &id, pk, &res), LV_OK);
	ck_assert_int_eq(fed_dap_client_hpke_config(c, e.helper.url, e.task, &id, pk, &res), LV_OK);
	e.leader.fail_5xx = 1;
	ck_assert_int_eq(fed_dap_client_upload(c, &e.up, &res), LV_OK);
	ck_assert_uint_eq(res.requests, 2);
	ck_assert_uint_eq(res.retries, 1);
	ck_assert_uint_eq(e.leader.upload_hits, 2);
	/* always busy: three tries, then LV_ERR_BUSY */
	e.leader.fail_5xx = 100;
	e.leader.upload_hits = 0;
	ck_assert_int_eq(fed_dap_client_upload(c, &e.up, &res), LV_ERR_BUSY);
	ck_assert_int_eq(res.error, FED_DAP_E_SERVER);
	ck_assert_int_eq(res.http_status, 503);
	ck_assert_uint_eq(res.requests, 3);
	ck_assert_uint_eq(res.retries, 2);
	ck_assert_uint_eq(e.leader.upload_hits, 3);
	fed_dap_client_destroy(c);
	env_stop(&e);
}
END_TEST

/* The Leader rotates its key after the client cached the old one: the
 * upload is answered outdatedConfig, the client refetches and rebuilds. */
START_TEST(client_outdated_config_refetches)
{
	struct env e;
	env_start(&e);
	struct fed_dap_client *c = client(NULL);
	struct fed_dap_result res;
	ck_assert_int_eq(fed_dap_client_upload(c, &e.up, &res), LV_OK);
	ck_assert(!res.config_refetched);
	mock_rotate(&e.leader);
	ck_assert_int_eq(fed_dap_client_upload(c, &e.up, &res), LV_OK);
	ck_assert(res.config_refetched);
	ck_assert_uint_eq(e.leader.config_hits, 2);
	ck_assert_uint_eq(e.helper.config_hits, 2);
	ck_assert_uint_eq(e.leader.upload_hits, 3);
	struct fed_dap_report r;
	ck_assert_int_eq(fed_dap_report_decode(e.leader.last, e.leader.last_len, &r), LV_OK);
	ck_assert_uint_eq(r.leader.config_id, 2);
	fed_dap_client_destroy(c);
	env_stop(&e);
}
END_TEST

START_TEST(client_report_rejected)
{
	struct env e;
	env_start(&e);
	struct fed_dap_client_options o = {.bearer_token = "very-secret-token"};
	struct fed_dap_client *c = client(&o);
	struct fed_dap_result res;
	e.leader.reject = true;
	ck_assert_int_eq(fed_dap_client_upload(c, &e.up, &res), LV_ERR_INVALID);
	ck_assert_int_eq(res.error, FED_DAP_E_REPORT_REJECTED);
	ck_assert_str_eq(res.type, FED_DAP_ERROR_PREFIX "reportRejected");
	ck_assert_str_eq(fed_dap_error_str(res.error), "reportRejected");
	ck_assert_int_eq(res.http_status, 400);
	ck_assert_uint_eq(res.retries, 0);
	ck_assert_uint_eq(e.leader.upload_hits, 1);
	ck_assert_ptr_nonnull(strstr(res.message, "reportRejected"));
	ck_assert_ptr_null(strstr(res.message, "secret"));
	ck_assert_ptr_null(strstr(res.message, "127.0.0.1"));
	fed_dap_client_destroy(c);
	env_stop(&e);
}
END_TEST

START_TEST(client_timeout_and_refused)
{
	struct env e;
	env_start(&e);
	struct fed_dap_client_options o = {.total_timeout_ms = 200, .tries = 2, .backoff_ms = 10};
	struct fed_dap_client *c = client(&o);
	struct fed_dap_result res;
	uint8_t id, pk[32];
	ck_assert_int_eq(fed_dap_client_hpke_config(c, e.leader.url, e.task, &id, pk, &res), LV_OK);
	e.leader.slow_ms = 1000;
	double t0 = util_mono_s();
	ck_assert_int_eq(fed_dap_client_upload(c, &e.up, &res), LV_ERR_IO);
	double dt = util_mono_s() - t0;
	ck_assert_int_eq(res.error, FED_DAP_E_TRANSPORT);
	ck_assert_uint_eq(res.retries, 1);
	ck_assert_msg(dt < 0.9, "timeouts not honoured: %.2f s", dt);
	ck_assert_ptr_nonnull(strstr(res.message, "imeout"));
	/* a port nobody listens on: refused at once, retried, reported */
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sin = {.sin_family = AF_INET};
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t sl = sizeof sin;
	ck_assert_int_eq(bind(s, (struct sockaddr *)&sin, sizeof sin), 0);
	ck_assert_int_eq(getsockname(s, (struct sockaddr *)&sin, &sl), 0);
	close(s);
	char dead[64];
	snprintf(dead, sizeof dead, "http://127.0.0.1:%u", (unsigned)ntohs(sin.sin_port));
	ck_assert_int_eq(fed_dap_client_hpke_config(c, dead, e.task, &id, pk, &res), LV_ERR_IO);
	ck_assert_int_eq(res.error, FED_DAP_E_TRANSPORT);
	ck_assert_uint_eq(res.requests, 2);
	fed_dap_client_destroy(c);
	env_stop(&e);
}
END_TEST

Suite *lv_test_suite(void)
{
	Suite *s = suite_create("dapclient");
	TCase *tc = tcase_create("messages");
	tcase_add_test(tc, config_list_decode_encode);
	tcase_add_test(tc, config_list_strict);
	tcase_add_test(tc, config_select_first_of_ours);
	tcase_add_test(tc, small_pieces);
	tcase_add_test(tc, input_share_aad_bytes);
	tcase_add_test(tc, plaintext_input_share_bytes);
	tcase_add_test(tc, report_bytes);
	tcase_add_test(tc, report_decode_and_open);
	suite_add_tcase(s, tc);
	tc = tcase_create("client");
	tcase_add_test(tc, client_config_fetch_and_cache);
	tcase_add_test(tc, client_config_refusals);
	tcase_add_test(tc, client_upload_opens_both_shares);
	tcase_add_test(tc, client_retries_5xx);
	tcase_add_test(tc, client_outdated_config_refetches);
	tcase_add_test(tc, client_report_rejected);
	tcase_add_test(tc, client_timeout_and_refused);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}
