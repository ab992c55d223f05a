/* Prio3 of draft-irtf-cfrg-vdaf-08 with XofTurboShake128: Prio3Count,
 * Prio3Sum, Prio3SumVec, Prio3Histogram, one proof (PROOFS = 1).
 *
 * The client side (shard) is what learnvault runs; the aggregator side
 * (prep_init .. unshard) exists so the tests can replay the official
 * vectors end to end and a collector step can check an aggregate.
 *
 * Conventions: out-parameters come last and are cleared on failure (a
 * struct buf is reset, an array zeroed); struct buf outputs are the
 * caller's, initialised with buf_init and a cap, and are replaced, not
 * appended to.  A buffer cap that is too small gives LV_ERR_TOO_LARGE.
 * Field elements travel encoded as the reference encodes them
 * (little-endian, 8 bytes for Count, 16 for the others). */
#ifndef LV_FEDERATION_PRIO3_H
#define LV_FEDERATION_PRIO3_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "learnvault/status.h"
#include "learnvault/util.h"

#include "field.h"

#define FED_PRIO3_NONCE_SIZE 16
#define FED_PRIO3_VERIFY_KEY_SIZE 16
#define FED_PRIO3_SEED_SIZE 16

enum fed_prio3_kind { FED_PRIO3_COUNT, FED_PRIO3_SUM, FED_PRIO3_SUMVEC, FED_PRIO3_HISTOGRAM };

struct fed_prio3_params {
	enum fed_prio3_kind kind;
	uint32_t bits;         /* Sum, SumVec: each value < 2^bits; 1..64 */
	uint32_t length;       /* SumVec, Histogram */
	uint32_t chunk_length; /* SumVec, Histogram */
	uint8_t num_shares;    /* 2..255: 2 for DAP; the vectors also have 3 */
};

/* Opaque: the circuit and its sizes.  Immutable after creation, so one
 * instance may serve several threads. */
struct fed_prio3;

/* Builds the VDAF for @p (fields a kind does not use are ignored).
 * LV_ERR_INVALID for parameters VDAF-08 refuses or over this module's caps
 * (bits > 64, length * bits or chunk_length over 2^20, scratch
 * over FED_FLP_MAX_WORK_LEN elements); LV_ERR_NOMEM.
 * On success *out owns the instance; release with fed_prio3_destroy.
 * On failure *out is NULL. */
enum lv_status fed_prio3_create(const struct fed_prio3_params *p, struct fed_prio3 **out)
	LV_WARN_UNUSED;
/* Releases @v (NULL is fine). */
void fed_prio3_destroy(struct fed_prio3 *v);

uint32_t fed_prio3_algorithm_id(const struct fed_prio3 *v); /* from versions.h */
size_t fed_prio3_rand_size(const struct fed_prio3 *v);     /* bytes of sharding randomness */
size_t fed_prio3_measurement_len(const struct fed_prio3 *v); /* 1 for Count/Sum/Histogram, length for SumVec */
size_t fed_prio3_output_len(const struct fed_prio3 *v);    /* elements of an output/aggregate share */
size_t fed_prio3_public_share_len(const struct fed_prio3 *v);
size_t fed_prio3_input_share_len(const struct fed_prio3 *v, uint8_t agg_id);
uint8_t fed_prio3_num_shares(const struct fed_prio3 *v);

/* Shards one measurement (Count: 0/1; Sum: < 2^bits; SumVec: `length`
 * values each < 2^bits; Histogram: bucket index < length) with the
 * 16-byte @nonce and explicit randomness (@rand_len must be
 * fed_prio3_rand_size).  @public_share gets the encoded public share
 * (empty when the circuit has no joint randomness), input_shares[i]
 * (i < num_shares) the encoded input shares.  LV_ERR_INVALID for an
 * out-of-range measurement or wrong lengths; outputs cleared on failure.
 * The leader's input share holds a share of the measurement in the clear:
 * the caller wipes it once it is sealed. */
enum lv_status fed_prio3_shard(const struct fed_prio3 *v, const uint64_t *meas, size_t meas_len,
                               const uint8_t nonce[16], const uint8_t *rand, size_t rand_len,
                               struct buf *public_share, struct buf *input_shares)
	LV_WARN_UNUSED;
/* The same with fresh randomness from randombytes_buf. */
enum lv_status fed_prio3_shard_random(const struct fed_prio3 *v, const uint64_t *meas, size_t meas_len,
                                      const uint8_t nonce[16], struct buf *public_share,
                                      struct buf *input_shares) LV_WARN_UNUSED;

/* Aggregator side (one round: prep_init, prep_shares_to_prep, prep_next). */
struct fed_prio3_prep_state {
	fed_elem *out_share;     /* output_len elements, malloc'd; NULL when empty */
	size_t out_len;
	uint8_t joint_rand_seed[FED_PRIO3_SEED_SIZE]; /* the corrected seed, when the circuit uses one */
};
/* Wipes and frees @st's content (the struct itself is the caller's). */
void fed_prio3_prep_state_clear(struct fed_prio3_prep_state *st);

/* Prio3.prep_init for aggregator @agg_id: *st gets the prep state (clear
 * it with fed_prio3_prep_state_clear), @prep_share the encoded prep share.
 * LV_ERR_INVALID for malformed shares (wrong lengths, values >= p, agg_id
 * out of range); LV_ERR_CRYPTO for a degenerate query point. */
enum lv_status fed_prio3_prep_init(const struct fed_prio3 *v, const uint8_t verify_key[16], uint8_t agg_id,
                                   const uint8_t nonce[16], const uint8_t *public_share, size_t public_share_len,
                                   const uint8_t *input_share, size_t input_share_len,
                                   struct fed_prio3_prep_state *st, struct buf *prep_share)
	LV_WARN_UNUSED;
/* Prio3.prep_shares_to_prep over the num_shares encoded prep shares:
 * @prep_msg gets the prep message (the joint randomness seed, or empty).
 * LV_ERR_CRYPTO when the proof is rejected; LV_ERR_INVALID when a share is
 * malformed. */
enum lv_status fed_prio3_prep_shares_to_prep(const struct fed_prio3 *v, const struct buf *prep_shares,
                                             struct buf *prep_msg) LV_WARN_UNUSED;
/* Prio3.prep_next: @out_share gets the encoded output share.
 * LV_ERR_CRYPTO when the joint randomness the client used is not the one
 * the aggregators derived. */
enum lv_status fed_prio3_prep_next(const struct fed_prio3 *v, const struct fed_prio3_prep_state *st,
                                   const uint8_t *prep_msg, size_t prep_msg_len, struct buf *out_share)
	LV_WARN_UNUSED;
/* Prio3.aggregate: the sum of @n encoded output shares into @agg_share
 * (encoded).  LV_ERR_INVALID for a malformed share. */
enum lv_status fed_prio3_aggregate(const struct fed_prio3 *v, const struct buf *out_shares, size_t n,
                                   struct buf *agg_share) LV_WARN_UNUSED;
/* Prio3.unshard: sums the num_shares encoded aggregate shares and decodes
 * the result into @result (output_len integers; Count and Sum have one).
 * LV_ERR_INVALID for a malformed share. */
enum lv_status fed_prio3_unshard(const struct fed_prio3 *v, const struct buf *agg_shares,
                                 uint64_t num_measurements, fed_elem *result) LV_WARN_UNUSED;

#endif
