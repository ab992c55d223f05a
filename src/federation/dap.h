/* DAP-09 messages (draft-ietf-ppm-dap-09 §4), TLS presentation-language
 * encodings: the HPKE configuration list a Client fetches, the Report it
 * uploads and the pieces the Report's encryption binds (InputShareAad,
 * PlaintextInputShare, the HPKE info string).
 *
 * Conventions: byte-in/byte-out.  Encoders write into a caller-owned
 * struct buf, reset first (on failure it is empty).  Decoders are strict
 * (every length checked against what is left, caps applied, trailing
 * bytes refused: LV_ERR_INVALID) and borrow: decoded byte strings point
 * into the caller's input, which must outlive the decoded value.
 *
 * Where the draft leaves a detail open we follow @divviup/dap 0.9.1 (the
 * npm client Janus deployments use) and say so at the spot. */
#ifndef LV_FEDERATION_DAP_H
#define LV_FEDERATION_DAP_H

#include <stddef.h>
#include <stdint.h>

#include "hpke.h"
#include "learnvault/status.h"
#include "learnvault/util.h"
#include "versions.h"

/* "dap-09 input share" || 0x01 (client) || server_role */
#define FED_DAP_INFO_LEN (sizeof FED_DAP_INPUT_SHARE_LABEL - 1 + 2)
/* 32 bytes in base64url without padding: 43 characters and a NUL. */
#define FED_DAP_TASK_ID_B64_LEN 44
/* Caps on what we encode or accept: configurations per list, a public
 * key, a public share or input share (a Prio3 SumVec of 10^5 Field128
 * elements is ~3 MB), a whole report. */
#define FED_DAP_MAX_CONFIGS 64
#define FED_DAP_MAX_SHARE (16u << 20)
#define FED_DAP_MAX_REPORT (3 * FED_DAP_MAX_SHARE + 1024)

/* One HpkeConfig; public_key borrowed (from the list's own copy after
 * fed_dap_hpke_config_list_decode, from the caller's memory otherwise). */
struct fed_hpke_config {
	uint8_t id;
	uint16_t kem_id, kdf_id, aead_id;
	const uint8_t *public_key;
	size_t public_key_len;
};

/* A decoded HpkeConfigList; owns a copy of the encoded bytes its
 * configurations point into. */
struct fed_hpke_config_list {
	struct fed_hpke_config configs[FED_DAP_MAX_CONFIGS];
	size_t n;
	uint8_t *bytes;
};

/* Decodes HpkeConfig HpkeConfigList<1..2^16-1>.  Refuses an empty list,
 * more than FED_DAP_MAX_CONFIGS entries, an empty public key, two configs
 * with the same id and trailing bytes (LV_ERR_INVALID / LV_ERR_TOO_LARGE).
 * On success *@out is the caller's (fed_dap_hpke_config_list_free); on
 * failure NULL. */
enum lv_status fed_dap_hpke_config_list_decode(const uint8_t *b, size_t n,
					       struct fed_hpke_config_list **out) LV_WARN_UNUSED;
void fed_dap_hpke_config_list_free(struct fed_hpke_config_list *l);
/* Encodes @n configurations as an HpkeConfigList (aggregator side: the
 * test mock serves it). */
enum lv_status fed_dap_hpke_config_list_encode(const struct fed_hpke_config *c, size_t n,
					       struct buf *out) LV_WARN_UNUSED;
/* The first configuration (the aggregator lists them by preference) whose
 * KEM/KDF/AEAD triple is learnvault's (versions.h) with a 32-byte key;
 * LV_ERR_UNSUPPORTED when none is.  *@out borrows from @l. */
enum lv_status fed_dap_hpke_config_select(const struct fed_hpke_config_list *l,
					  const struct fed_hpke_config **out) LV_WARN_UNUSED;

/* Report time: @t rounded down to a multiple of @precision seconds (the
 * task's time_precision; DAP-09 §4.4.2 asks Clients to round so the
 * timestamp does not single them out).  LV_ERR_INVALID for precision 0. */
enum lv_status fed_dap_time_round(uint64_t t, uint64_t precision, uint64_t *out) LV_WARN_UNUSED;
/* The task id in base64url without padding (URLs, problem documents). */
void fed_dap_task_id_b64(const uint8_t task_id[FED_DAP_TASK_ID_LEN], char out[FED_DAP_TASK_ID_B64_LEN]);
/* The HPKE info for an input share sealed to @server_role
 * (FED_DAP_ROLE_LEADER or FED_DAP_ROLE_HELPER). */
void fed_dap_input_share_info(uint8_t server_role, uint8_t info[FED_DAP_INFO_LEN]);

/* struct { TaskID task_id; ReportMetadata report_metadata; opaque
 * public_share<0..2^32-1>; } InputShareAad; */
enum lv_status fed_dap_input_share_aad_encode(const uint8_t task_id[FED_DAP_TASK_ID_LEN],
					      const uint8_t report_id[FED_DAP_REPORT_ID_LEN], uint64_t time,
					      const uint8_t *public_share, size_t public_share_len,
					      struct buf *out) LV_WARN_UNUSED;
/* struct { Extension extensions<0..2^16-1>; opaque payload<0..2^32-1>; }
 * PlaintextInputShare; with no extensions.  The encoding holds an input
 * share: the caller wipes @out. */
enum lv_status fed_dap_plaintext_input_share_encode(const uint8_t *payload, size_t payload_len,
						    struct buf *out) LV_WARN_UNUSED;
/* The inverse; refuses any extension with LV_ERR_UNSUPPORTED (DAP-09
 * defines none, and an aggregator must reject what it does not know).
 * *@payload borrows from @b. */
enum lv_status fed_dap_plaintext_input_share_decode(const uint8_t *b, size_t n, const uint8_t **payload,
						    size_t *payload_len) LV_WARN_UNUSED;

/* struct { HpkeConfigId config_id; opaque enc<1..2^16-1>; opaque
 * payload<1..2^32-1>; } HpkeCiphertext;  (borrowed fields) */
struct fed_dap_ciphertext {
	uint8_t config_id;
	const uint8_t *enc;
	size_t enc_len;
	const uint8_t *payload;
	size_t payload_len;
};

/* A decoded Report (fields borrowed from the encoded bytes). */
struct fed_dap_report {
	uint8_t report_id[FED_DAP_REPORT_ID_LEN];
	uint64_t time;
	const uint8_t *public_share;
	size_t public_share_len;
	struct fed_dap_ciphertext leader, helper;
};

/* What a report is built from: the task, the metadata (time already
 * rounded, see fed_dap_time_round), the VDAF's public share and the two
 * encoded input shares (Leader's first, as Vdaf.shard returns them), and
 * the configuration each is sealed to.  All borrowed. */
struct fed_dap_report_input {
	const uint8_t *task_id;   /* FED_DAP_TASK_ID_LEN */
	const uint8_t *report_id; /* FED_DAP_REPORT_ID_LEN, random: it is also the VDAF nonce */
	uint64_t time;
	const uint8_t *public_share;
	size_t public_share_len;
	const uint8_t *leader_share;
	size_t leader_share_len;
	const uint8_t *helper_share;
	size_t helper_share_len;
	const struct fed_hpke_config *leader_config;
	const struct fed_hpke_config *helper_config;
};

/* Builds the encoded Report: each input share wrapped in a
 * PlaintextInputShare and sealed (HPKE base mode) to its aggregator's
 * config with the role's info and the InputShareAad.  LV_ERR_UNSUPPORTED
 * when a config is not our suite; LV_ERR_TOO_LARGE over the caps. */
enum lv_status fed_dap_report_build(const struct fed_dap_report_input *in, struct buf *out) LV_WARN_UNUSED;
/* The same with both ephemeral HPKE private keys given (known-answer
 * tests and cross-checks pin them). */
enum lv_status fed_dap_report_build_eph(const struct fed_dap_report_input *in,
					const uint8_t sk_e_leader[FED_HPKE_NSK],
					const uint8_t sk_e_helper[FED_HPKE_NSK], struct buf *out) LV_WARN_UNUSED;

/* Decodes a Report strictly (enc must be 1..2^16-1 bytes, payload at
 * least 1; trailing bytes refused).  On failure *@out is zeroed. */
enum lv_status fed_dap_report_decode(const uint8_t *b, size_t n, struct fed_dap_report *out) LV_WARN_UNUSED;
/* Aggregator side (the test mock, cross-checks): opens the input share
 * of @server_role in @r with the private key of config @config_id and
 * returns the VDAF input share (the PlaintextInputShare's payload) in
 * @share, which the caller wipes.  LV_ERR_NOT_FOUND when the ciphertext
 * names another config (an aggregator answers outdatedConfig),
 * LV_ERR_CRYPTO when it does not open, LV_ERR_UNSUPPORTED for an
 * extension. */
enum lv_status fed_dap_report_open_share(const struct fed_dap_report *r, const uint8_t task_id[FED_DAP_TASK_ID_LEN],
					 uint8_t server_role, uint8_t config_id,
					 const uint8_t sk[FED_HPKE_NSK], struct buf *share) LV_WARN_UNUSED;

#endif
