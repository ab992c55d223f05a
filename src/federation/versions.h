/* Every constant that belongs to a draft version of DAP or VDAF, in one
 * place: moving learnvault to a newer draft starts here (and with the
 * test vectors under tests/vectors/).  Pinned: draft-ietf-ppm-dap-09 with
 * draft-irtf-cfrg-vdaf-08, the pair Janus 0.7 and @divviup/dap 0.9.1
 * speak. */
#ifndef LV_FEDERATION_VERSIONS_H
#define LV_FEDERATION_VERSIONS_H

/* VDAF-08: the version byte that opens every domain separation tag
 * (format_dst) and the algorithm identifiers of the Prio3 variants. */
#define FED_VDAF_VERSION 8
#define FED_VDAF_ALGO_CLASS_VDAF 0
#define FED_PRIO3_COUNT_ID 0x00000000u
#define FED_PRIO3_SUM_ID 0x00000001u
#define FED_PRIO3_SUMVEC_ID 0x00000002u
#define FED_PRIO3_HISTOGRAM_ID 0x00000003u

/* DAP-09: the label of HPKE's info string for input shares (followed by
 * the sender's and the receiver's role bytes), the roles, the media
 * types and the problem-document type prefix. */
#define FED_DAP_INPUT_SHARE_LABEL "dap-09 input share"
#define FED_DAP_ROLE_CLIENT 0x01
#define FED_DAP_ROLE_LEADER 0x02
#define FED_DAP_ROLE_HELPER 0x03
#define FED_DAP_MEDIA_HPKE_CONFIG_LIST "application/dap-hpke-config-list"
#define FED_DAP_MEDIA_REPORT "application/dap-report"
#define FED_DAP_ERROR_PREFIX "urn:ietf:params:ppm:dap:error:"

/* DAP-09 message sizes, the two client routes (relative to an
 * aggregator's endpoint; the task id in base64url without padding), the
 * upload method and the problem-document error types the client acts on
 * (the full type is FED_DAP_ERROR_PREFIX followed by the token). */
#define FED_DAP_TASK_ID_LEN 32
#define FED_DAP_REPORT_ID_LEN 16
#define FED_DAP_PATH_HPKE_CONFIG "hpke_config?task_id="
#define FED_DAP_PATH_TASKS "tasks/"
#define FED_DAP_PATH_REPORTS "/reports"
#define FED_DAP_UPLOAD_METHOD "PUT"
#define FED_DAP_ERR_INVALID_MESSAGE "invalidMessage"
#define FED_DAP_ERR_UNRECOGNIZED_TASK "unrecognizedTask"
#define FED_DAP_ERR_OUTDATED_CONFIG "outdatedConfig"
#define FED_DAP_ERR_REPORT_REJECTED "reportRejected"
#define FED_DAP_ERR_REPORT_TOO_EARLY "reportTooEarly"
#define FED_DAP_ERR_UNAUTHORIZED_REQUEST "unauthorizedRequest"
#define FED_DAP_ERR_MISSING_TASK_ID "missingTaskID"

/* The HPKE suite learnvault offers (RFC 9180 identifiers): DHKEM(X25519,
 * HKDF-SHA256), HKDF-SHA256, AES-128-GCM. */
#define FED_HPKE_KEM_X25519_SHA256 0x0020
#define FED_HPKE_KDF_HKDF_SHA256 0x0001
#define FED_HPKE_AEAD_AES128GCM 0x0001

#endif
