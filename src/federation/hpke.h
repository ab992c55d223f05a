/* HPKE (RFC 9180), base mode only, one suite: DHKEM(X25519, HKDF-SHA256),
 * HKDF-SHA256, AES-128-GCM (the identifiers are in versions.h).  Built on
 * OpenSSL 3.0 libcrypto primitives: Debian 12's OpenSSL has no HPKE API.
 *
 * Conventions: every function is byte-in/byte-out; keys and encapsulated
 * keys are fixed-size arrays; variable outputs go into a caller-owned
 * struct buf (reset first, so on success it holds exactly the output; on
 * failure it is empty).  Private keys passed in stay the caller's (keep
 * them in sodium_malloc memory); every secret this module derives lives
 * either in a sodium_malloc'd context or on the stack and is wiped before
 * returning. */
#ifndef LV_FEDERATION_HPKE_H
#define LV_FEDERATION_HPKE_H

#include <stddef.h>
#include <stdint.h>

#include "learnvault/status.h"
#include "learnvault/util.h"

#define FED_HPKE_NSK 32   /* X25519 private key */
#define FED_HPKE_NPK 32   /* X25519 public key */
#define FED_HPKE_NENC 32  /* encapsulated key (the ephemeral public key) */
#define FED_HPKE_NSECRET 32
#define FED_HPKE_NK 16    /* AES-128-GCM key */
#define FED_HPKE_NN 12    /* AES-128-GCM nonce */
#define FED_HPKE_NT 16    /* AES-128-GCM tag */
#define FED_HPKE_NH 32    /* HKDF-SHA256 output */
/* Caps on the caller-chosen strings that enter the key schedule (info,
 * exporter context).  DAP's info is 21 bytes; OpenSSL 3.0's HKDF refuses
 * an expand info over 1024 bytes, and the labelled forms add ~60. */
#define FED_HPKE_MAX_INFO 512
/* Cap on a plaintext or ciphertext: 64 MiB, far above any input share. */
#define FED_HPKE_MAX_MSG (64u << 20)

/* An encryption context (RFC 9180 §5.2).  Visible so the vector tests can
 * read the derived values and set seq; everything else treats it as
 * opaque and goes through the functions below. */
struct fed_hpke_ctx {
	uint8_t key[FED_HPKE_NK];
	uint8_t base_nonce[FED_HPKE_NN];
	uint8_t exporter_secret[FED_HPKE_NH];
	uint64_t seq; /* next sequence number; LV_ERR_TOO_LARGE once exhausted */
};

/* A fresh key pair from libsodium's randomness.  @sk: caller memory
 * (sodium_malloc); LV_ERR_CRYPTO if libcrypto fails.  On failure both
 * outputs are zeroed. */
enum lv_status fed_hpke_keygen(uint8_t sk[FED_HPKE_NSK], uint8_t pk[FED_HPKE_NPK]) LV_WARN_UNUSED;
/* The public key of @sk. */
enum lv_status fed_hpke_public_key(const uint8_t sk[FED_HPKE_NSK], uint8_t pk[FED_HPKE_NPK]) LV_WARN_UNUSED;
/* DeriveKeyPair(ikm) of DHKEM(X25519, HKDF-SHA256) (RFC 9180 §7.1.3):
 * deterministic keys from @ikm (at least 32 bytes of entropy; at most
 * FED_HPKE_MAX_INFO bytes). */
enum lv_status fed_hpke_derive_keypair(const uint8_t *ikm, size_t ikm_len, uint8_t sk[FED_HPKE_NSK],
				       uint8_t pk[FED_HPKE_NPK]) LV_WARN_UNUSED;

/* DHKEM Encap with the ephemeral private key @sk_e given (NULL: a fresh
 * random one): the shared secret and enc.  LV_ERR_CRYPTO when @pk_r is a
 * low-order point (the X25519 result would be all zero). */
enum lv_status fed_hpke_encap(const uint8_t pk_r[FED_HPKE_NPK], const uint8_t *sk_e,
			      uint8_t shared_secret[FED_HPKE_NSECRET], uint8_t enc[FED_HPKE_NENC]) LV_WARN_UNUSED;
/* DHKEM Decap: the shared secret from @enc and the recipient's @sk_r. */
enum lv_status fed_hpke_decap(const uint8_t enc[FED_HPKE_NENC], const uint8_t sk_r[FED_HPKE_NSK],
			      uint8_t shared_secret[FED_HPKE_NSECRET]) LV_WARN_UNUSED;

/* SetupBaseS / SetupBaseR.  On success *@ctx is a sodium_malloc'd context
 * the caller releases with fed_hpke_ctx_free (which wipes it); on failure
 * *@ctx is NULL (and @enc zeroed).  @sk_e as in fed_hpke_encap. */
enum lv_status fed_hpke_setup_base_s(const uint8_t pk_r[FED_HPKE_NPK], const uint8_t *info, size_t info_len,
				     const uint8_t *sk_e, uint8_t enc[FED_HPKE_NENC],
				     struct fed_hpke_ctx **ctx) LV_WARN_UNUSED;
enum lv_status fed_hpke_setup_base_r(const uint8_t enc[FED_HPKE_NENC], const uint8_t sk_r[FED_HPKE_NSK],
				     const uint8_t *info, size_t info_len, struct fed_hpke_ctx **ctx) LV_WARN_UNUSED;
void fed_hpke_ctx_free(struct fed_hpke_ctx *ctx);

/* ContextS.Seal / ContextR.Open at ctx->seq, which then advances (only on
 * success for open).  @ct gets pt_len + FED_HPKE_NT bytes.  Open refuses a
 * wrong tag with LV_ERR_CRYPTO. */
enum lv_status fed_hpke_ctx_seal(struct fed_hpke_ctx *ctx, const uint8_t *aad, size_t aad_len, const uint8_t *pt,
				 size_t pt_len, struct buf *ct) LV_WARN_UNUSED;
enum lv_status fed_hpke_ctx_open(struct fed_hpke_ctx *ctx, const uint8_t *aad, size_t aad_len, const uint8_t *ct,
				 size_t ct_len, struct buf *pt) LV_WARN_UNUSED;
/* Context.Export(exporter_context, L) into @out (@out_len ≤ 255 * 32). */
enum lv_status fed_hpke_export(const struct fed_hpke_ctx *ctx, const uint8_t *exporter_context, size_t ctx_len,
			       uint8_t *out, size_t out_len) LV_WARN_UNUSED;

/* Single-shot SealBase (RFC 9180 §6.1) with a fresh ephemeral key; @enc
 * and @ct are the outputs (zeroed / empty on failure). */
enum lv_status fed_hpke_seal(const uint8_t pk_r[FED_HPKE_NPK], const uint8_t *info, size_t info_len,
			     const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t pt_len,
			     uint8_t enc[FED_HPKE_NENC], struct buf *ct) LV_WARN_UNUSED;
/* The same with the ephemeral private key given (test vectors pin it). */
enum lv_status fed_hpke_seal_eph(const uint8_t pk_r[FED_HPKE_NPK], const uint8_t sk_e[FED_HPKE_NSK],
				 const uint8_t *info, size_t info_len, const uint8_t *aad, size_t aad_len,
				 const uint8_t *pt, size_t pt_len, uint8_t enc[FED_HPKE_NENC],
				 struct buf *ct) LV_WARN_UNUSED;
/* Single-shot OpenBase.  LV_ERR_CRYPTO for a wrong key, enc, info, aad or
 * a tampered ciphertext; @pt is empty then.  The plaintext in @pt is the
 * caller's to wipe. */
enum lv_status fed_hpke_open(const uint8_t sk_r[FED_HPKE_NSK], const uint8_t enc[FED_HPKE_NENC],
			     const uint8_t *info, size_t info_len, const uint8_t *aad, size_t aad_len,
			     const uint8_t *ct, size_t ct_len, struct buf *pt) LV_WARN_UNUSED;

#endif
