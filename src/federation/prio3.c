/* Prio3 (VDAF-08 §7.2, poc/vdaf_prio3.py at draft-irtf-cfrg-vdaf-08) with
 * one proof.  Every XOF use below carries the reference's usage number and
 * binder, in the reference's order: the vectors pin all of them. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "flp.h"
#include "prio3.h"
#include "versions.h"
#include "xof.h"

/* The reference's USAGE_* numbers for format_dst. */
enum {
	USAGE_MEAS_SHARE = 1,
	USAGE_PROOF_SHARE = 2,
	USAGE_JOINT_RANDOMNESS = 3,
	USAGE_PROVE_RANDOMNESS = 4,
	USAGE_QUERY_RANDOMNESS = 5,
	USAGE_JOINT_RAND_SEED = 6,
	USAGE_JOINT_RAND_PART = 7,
	USAGE_COUNT
};

#define PROOFS 1
#define SEED FED_PRIO3_SEED_SIZE

struct fed_prio3 {
	struct fed_prio3_params params;
	uint32_t id;
	struct fed_valid valid;
	size_t es;        /* encoded field element size */
	size_t rand_size;
	uint8_t dst[USAGE_COUNT][8];
};

/* Scratch for one shard or one prep step, one allocation: the secrets
 * it holds are wiped when it is freed.  Not sodium_malloc: that costs
 * system calls per report, and the block lives for one call. */
struct work {
	fed_elem *meas, *meas_share, *tmp_meas, *proof, *tmp_proof, *prove_rand, *joint_rand, *query_rand,
		*verifier, *flp;
	uint8_t *bytes; /* 17 + (meas_len + proof_len + verifier_len) * es: binders and encodings */
	uint8_t *parts; /* num_shares joint randomness parts */
	void *block;
	size_t size;
};

static enum lv_status work_alloc(const struct fed_prio3 *v, struct work *w)
{
	const struct fed_valid *c = &v->valid;
	size_t m = c->meas_len, pl = c->proof_len, vl = c->verifier_len;
	size_t elems = 3 * m + 2 * pl + c->prove_rand_len + c->joint_rand_len + c->query_rand_len + vl + c->work_len;
	size_t bytes = 1 + FED_PRIO3_NONCE_SIZE + (m + pl + vl) * v->es + (size_t)v->params.num_shares * SEED;
	memset(w, 0, sizeof *w);
	w->size = elems * sizeof(fed_elem) + bytes;
	w->block = malloc(w->size);
	if (!w->block)
		return LV_ERR_NOMEM;
	fed_elem *e = w->block;
	w->meas = e, e += m;
	w->meas_share = e, e += m;
	w->tmp_meas = e, e += m;
	w->proof = e, e += pl;
	w->tmp_proof = e, e += pl;
	w->prove_rand = e, e += c->prove_rand_len;
	w->joint_rand = e, e += c->joint_rand_len;
	w->query_rand = e, e += c->query_rand_len;
	w->verifier = e, e += vl;
	w->flp = e, e += c->work_len;
	w->bytes = (uint8_t *)e;
	w->parts = w->bytes + 1 + FED_PRIO3_NONCE_SIZE + (m + pl + vl) * v->es;
	return LV_OK;
}

static void work_free(struct work *w)
{
	if (w->block) {
		sodium_memzero(w->block, w->size);
		free(w->block);
	}
	w->block = NULL;
}

/* Empties @b, wiping what it held (it may have held a share). */
static void buf_wipe(struct buf *b)
{
	if (b->data)
		sodium_memzero(b->data, b->cap);
	buf_reset(b);
}

static bool uses_joint_rand(const struct fed_prio3 *v)
{
	return v->valid.joint_rand_len > 0;
}

enum lv_status fed_prio3_create(const struct fed_prio3_params *p, struct fed_prio3 **out)
{
	static const struct {
		enum fed_circuit circuit;
		uint32_t id;
	} kinds[] = {
		[FED_PRIO3_COUNT] = { FED_CIRCUIT_COUNT, FED_PRIO3_COUNT_ID },
		[FED_PRIO3_SUM] = { FED_CIRCUIT_SUM, FED_PRIO3_SUM_ID },
		[FED_PRIO3_SUMVEC] = { FED_CIRCUIT_SUMVEC, FED_PRIO3_SUMVEC_ID },
		[FED_PRIO3_HISTOGRAM] = { FED_CIRCUIT_HISTOGRAM, FED_PRIO3_HISTOGRAM_ID },
	};
	*out = NULL;
	if (!p || (unsigned)p->kind >= sizeof kinds / sizeof kinds[0] || p->num_shares < 2)
		return LV_ERR_INVALID;
	struct fed_prio3 *v = calloc(1, sizeof *v);
	if (!v)
		return LV_ERR_NOMEM;
	enum lv_status st =
		fed_valid_init(&v->valid, kinds[p->kind].circuit, p->bits, p->length, p->chunk_length);
	if (st != LV_OK) {
		free(v);
		return st;
	}
	v->params = *p;
	v->id = kinds[p->kind].id;
	v->es = fed_field_encoded_size(v->valid.field);
	v->rand_size = (1 + 2 * ((size_t)p->num_shares - 1)) * SEED;
	if (uses_joint_rand(v))
		v->rand_size += (size_t)p->num_shares * SEED;
	for (uint16_t u = 1; u < USAGE_COUNT; u++)
		fed_vdaf_dst(FED_VDAF_ALGO_CLASS_VDAF, v->id, u, v->dst[u]);
	*out = v;
	return LV_OK;
}

void fed_prio3_destroy(struct fed_prio3 *v)
{
	if (!v)
		return;
	fed_valid_free(&v->valid);
	free(v);
}

uint32_t fed_prio3_algorithm_id(const struct fed_prio3 *v) { return v->id; }
size_t fed_prio3_rand_size(const struct fed_prio3 *v) { return v->rand_size; }
size_t fed_prio3_output_len(const struct fed_prio3 *v) { return v->valid.output_len; }
uint8_t fed_prio3_num_shares(const struct fed_prio3 *v) { return v->params.num_shares; }

size_t fed_prio3_measurement_len(const struct fed_prio3 *v)
{
	return v->params.kind == FED_PRIO3_SUMVEC ? v->valid.length : 1;
}

size_t fed_prio3_public_share_len(const struct fed_prio3 *v)
{
	return uses_joint_rand(v) ? (size_t)v->params.num_shares * SEED : 0;
}

size_t fed_prio3_input_share_len(const struct fed_prio3 *v, uint8_t agg_id)
{
	size_t blind = uses_joint_rand(v) ? SEED : 0;
	if (agg_id == 0)
		return (v->valid.meas_len + v->valid.proof_len) * v->es + blind;
	return 2 * SEED + blind;
}

/* The reference's XOF uses, one function each. */

static void helper_meas_share(const struct fed_prio3 *v, uint8_t agg_id, const uint8_t seed[SEED], fed_elem *out)
{
	fed_field_expand_vec(v->valid.field, seed, v->dst[USAGE_MEAS_SHARE], 8, &agg_id, 1, out, v->valid.meas_len);
}

static void helper_proof_share(const struct fed_prio3 *v, uint8_t agg_id, const uint8_t seed[SEED], fed_elem *out)
{
	const uint8_t binder[2] = { PROOFS, agg_id };
	fed_field_expand_vec(v->valid.field, seed, v->dst[USAGE_PROOF_SHARE], 8, binder, 2, out,
	                     v->valid.proof_len * PROOFS);
}

static void prove_rands(const struct fed_prio3 *v, const uint8_t seed[SEED], fed_elem *out)
{
	const uint8_t binder[1] = { PROOFS };
	fed_field_expand_vec(v->valid.field, seed, v->dst[USAGE_PROVE_RANDOMNESS], 8, binder, 1, out,
	                     v->valid.prove_rand_len * PROOFS);
}

static void query_rands(const struct fed_prio3 *v, const uint8_t key[16], const uint8_t nonce[16], fed_elem *out)
{
	uint8_t binder[1 + FED_PRIO3_NONCE_SIZE] = { PROOFS };
	memcpy(binder + 1, nonce, FED_PRIO3_NONCE_SIZE);
	fed_field_expand_vec(v->valid.field, key, v->dst[USAGE_QUERY_RANDOMNESS], 8, binder, sizeof binder, out,
	                     v->valid.query_rand_len * PROOFS);
}

/* @scratch: 17 + meas_len * es bytes. */
static void joint_rand_part(const struct fed_prio3 *v, uint8_t agg_id, const uint8_t blind[SEED],
                            const fed_elem *meas_share, const uint8_t nonce[16], uint8_t *scratch,
                            uint8_t out[SEED])
{
	size_t len = 1 + FED_PRIO3_NONCE_SIZE + v->valid.meas_len * v->es;
	scratch[0] = agg_id;
	memcpy(scratch + 1, nonce, FED_PRIO3_NONCE_SIZE);
	fed_field_encode_vec(v->valid.field, meas_share, v->valid.meas_len, scratch + 1 + FED_PRIO3_NONCE_SIZE);
	fed_xof_derive_seed(blind, v->dst[USAGE_JOINT_RAND_PART], 8, scratch, len, out);
}

static void joint_rand_seed(const struct fed_prio3 *v, const uint8_t *parts, uint8_t out[SEED])
{
	static const uint8_t zeros[SEED];
	fed_xof_derive_seed(zeros, v->dst[USAGE_JOINT_RAND_SEED], 8, parts, (size_t)v->params.num_shares * SEED,
	                    out);
}

static void joint_rands(const struct fed_prio3 *v, const uint8_t seed[SEED], fed_elem *out)
{
	const uint8_t binder[1] = { PROOFS };
	fed_field_expand_vec(v->valid.field, seed, v->dst[USAGE_JOINT_RANDOMNESS], 8, binder, 1, out,
	                     v->valid.joint_rand_len * PROOFS);
}

static void vec_sub(const struct fed_field *f, fed_elem *a, const fed_elem *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		a[i] = fed_field_sub(f, a[i], b[i]);
}

static void vec_add(const struct fed_field *f, fed_elem *a, const fed_elem *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		a[i] = fed_field_add(f, a[i], b[i]);
}

/* Where each seed sits in the sharding randomness: per helper its
 * measurement-share seed, proof-share seed and (with joint randomness)
 * blind; then the leader's blind; then the proving seed. */
struct seeds {
	const uint8_t *rand;
	size_t per_helper;
	uint8_t helpers;
};

static const uint8_t *seed_helper(const struct seeds *s, size_t j, size_t which)
{
	return s->rand + (j * s->per_helper + which) * SEED;
}

static const uint8_t *seed_leader_blind(const struct seeds *s)
{
	return s->rand + (size_t)s->helpers * s->per_helper * SEED;
}

static const uint8_t *seed_prove(const struct seeds *s)
{
	return s->rand + ((size_t)s->helpers * s->per_helper + (s->per_helper == 3)) * SEED;
}

/* Shard_with(out)_joint_rand on an encoded measurement in w->meas: leaves
 * the leader's measurement share in w->meas_share, its proof share in
 * w->proof and the joint randomness parts in w->parts. */
static void shard_core(const struct fed_prio3 *v, const uint8_t nonce[16], const struct seeds *s,
                       struct work *w)
{
	const struct fed_valid *c = &v->valid;
	const struct fed_field *f = c->field;
	bool jr = uses_joint_rand(v);
	memcpy(w->meas_share, w->meas, c->meas_len * sizeof *w->meas);
	for (uint8_t j = 0; j < s->helpers; j++) {
		helper_meas_share(v, j + 1, seed_helper(s, j, 0), w->tmp_meas);
		vec_sub(f, w->meas_share, w->tmp_meas, c->meas_len);
		if (jr)
			joint_rand_part(v, j + 1, seed_helper(s, j, 2), w->tmp_meas, nonce, w->bytes,
			                w->parts + (size_t)(j + 1) * SEED);
	}
	if (jr) {
		uint8_t seed[SEED];
		joint_rand_part(v, 0, seed_leader_blind(s), w->meas_share, nonce, w->bytes, w->parts);
		joint_rand_seed(v, w->parts, seed);
		joint_rands(v, seed, w->joint_rand);
	}
	prove_rands(v, seed_prove(s), w->prove_rand);
	fed_flp_prove(c, w->meas, w->prove_rand, w->joint_rand, w->proof, w->flp);
	for (uint8_t j = 0; j < s->helpers; j++) {
		helper_proof_share(v, j + 1, seed_helper(s, j, 1), w->tmp_proof);
		vec_sub(f, w->proof, w->tmp_proof, c->proof_len);
	}
}

/* Encodes the shares shard_core left in @w. */
static enum lv_status shard_encode(const struct fed_prio3 *v, const struct seeds *s, struct work *w,
                                   struct buf *public_share, struct buf *input_shares)
{
	const struct fed_valid *c = &v->valid;
	bool jr = uses_joint_rand(v);
	enum lv_status st = buf_append(public_share, w->parts, fed_prio3_public_share_len(v));
	fed_field_encode_vec(c->field, w->meas_share, c->meas_len, w->bytes);
	fed_field_encode_vec(c->field, w->proof, c->proof_len, w->bytes + c->meas_len * v->es);
	if (st == LV_OK)
		st = buf_append(&input_shares[0], w->bytes, (c->meas_len + c->proof_len) * v->es);
	if (st == LV_OK && jr)
		st = buf_append(&input_shares[0], seed_leader_blind(s), SEED);
	for (size_t j = 0; st == LV_OK && j < s->helpers; j++)
		st = buf_append(&input_shares[j + 1], seed_helper(s, j, 0), (jr ? 3 : 2) * SEED);
	return st;
}

enum lv_status fed_prio3_shard(const struct fed_prio3 *v, const uint64_t *meas, size_t meas_len,
                               const uint8_t nonce[16], const uint8_t *rand, size_t rand_len,
                               struct buf *public_share, struct buf *input_shares)
{
	struct work w = { 0 };
	uint8_t n = v->params.num_shares;
	enum lv_status st = LV_ERR_INVALID;
	buf_wipe(public_share);
	for (size_t i = 0; i < n; i++)
		buf_wipe(&input_shares[i]);
	if (rand_len != v->rand_size || (!meas && meas_len))
		goto out;
	st = work_alloc(v, &w);
	if (st != LV_OK)
		goto out;
	st = fed_valid_encode(&v->valid, meas, meas_len, w.meas);
	if (st != LV_OK)
		goto out;
	/* The helpers' seeds sit consecutively: (meas, proof[, blind]). */
	struct seeds s = { .rand = rand, .per_helper = uses_joint_rand(v) ? 3 : 2, .helpers = (uint8_t)(n - 1) };
	shard_core(v, nonce, &s, &w);
	st = shard_encode(v, &s, &w, public_share, input_shares);
out:
	work_free(&w);
	if (st != LV_OK) {
		buf_wipe(public_share);
		for (size_t i = 0; i < n; i++)
			buf_wipe(&input_shares[i]);
	}
	return st;
}

enum lv_status fed_prio3_shard_random(const struct fed_prio3 *v, const uint64_t *meas, size_t meas_len,
                                      const uint8_t nonce[16], struct buf *public_share,
                                      struct buf *input_shares)
{
	/* The largest rand (255 shares with joint randomness) is 12 KiB. */
	uint8_t rand[(1 + 2 * 254 + 255) * SEED];
	assert(v->rand_size <= sizeof rand);
	randombytes_buf(rand, v->rand_size);
	enum lv_status st = fed_prio3_shard(v, meas, meas_len, nonce, rand, v->rand_size, public_share, input_shares);
	sodium_memzero(rand, v->rand_size);
	return st;
}

void fed_prio3_prep_state_clear(struct fed_prio3_prep_state *st)
{
	if (st->out_share) {
		sodium_memzero(st->out_share, st->out_len * sizeof *st->out_share);
		free(st->out_share);
	}
	sodium_memzero(st, sizeof *st);
}

/* Prio3.expand_input_share into w->meas_share and w->proof; *blind points
 * into @in (or NULL). */
static enum lv_status expand_input_share(const struct fed_prio3 *v, uint8_t agg_id, const uint8_t *in,
                                         size_t len, struct work *w, const uint8_t **blind)
{
	const struct fed_valid *c = &v->valid;
	*blind = NULL;
	if (agg_id >= v->params.num_shares || len != fed_prio3_input_share_len(v, agg_id))
		return LV_ERR_INVALID;
	if (agg_id == 0) {
		size_t ml = c->meas_len * v->es;
		if (fed_field_decode_vec(c->field, in, ml, w->meas_share, c->meas_len) != LV_OK ||
		    fed_field_decode_vec(c->field, in + ml, c->proof_len * v->es, w->proof, c->proof_len) != LV_OK)
			return LV_ERR_INVALID;
		in += ml + c->proof_len * v->es;
	} else {
		helper_meas_share(v, agg_id, in, w->meas_share);
		helper_proof_share(v, agg_id, in + SEED, w->proof);
		in += 2 * SEED;
	}
	if (uses_joint_rand(v))
		*blind = in;
	return LV_OK;
}

/* The joint randomness an aggregator derives from its own share and the
 * other parts the client published: into w->joint_rand, *corrected gets
 * the seed prep_next compares with the prep message. */
static enum lv_status prep_joint_rand(const struct fed_prio3 *v, uint8_t agg_id, const uint8_t *blind,
                                      const uint8_t nonce[16], const uint8_t *public_share,
                                      size_t public_share_len, struct work *w, uint8_t corrected[SEED],
                                      uint8_t part[SEED])
{
	if (public_share_len != fed_prio3_public_share_len(v))
		return LV_ERR_INVALID;
	if (!uses_joint_rand(v))
		return LV_OK;
	joint_rand_part(v, agg_id, blind, w->meas_share, nonce, w->bytes, part);
	memcpy(w->parts, public_share, public_share_len);
	memcpy(w->parts + (size_t)agg_id * SEED, part, SEED);
	joint_rand_seed(v, w->parts, corrected);
	joint_rands(v, corrected, w->joint_rand);
	return LV_OK;
}

enum lv_status fed_prio3_prep_init(const struct fed_prio3 *v, const uint8_t verify_key[16], uint8_t agg_id,
                                   const uint8_t nonce[16], const uint8_t *public_share, size_t public_share_len,
                                   const uint8_t *input_share, size_t input_share_len,
                                   struct fed_prio3_prep_state *st, struct buf *prep_share)
{
	const struct fed_valid *c = &v->valid;
	struct work w = { 0 };
	const uint8_t *blind;
	uint8_t part[SEED];
	memset(st, 0, sizeof *st);
	buf_wipe(prep_share);
	enum lv_status rc = work_alloc(v, &w);
	if (rc != LV_OK)
		goto out;
	rc = expand_input_share(v, agg_id, input_share, input_share_len, &w, &blind);
	if (rc == LV_OK)
		rc = prep_joint_rand(v, agg_id, blind, nonce, public_share, public_share_len, &w, st->joint_rand_seed,
		                     part);
	if (rc != LV_OK)
		goto out;
	query_rands(v, verify_key, nonce, w.query_rand);
	rc = fed_flp_query(c, w.meas_share, w.proof, w.query_rand, w.joint_rand, v->params.num_shares, w.verifier,
	                   w.flp);
	if (rc != LV_OK)
		goto out;
	st->out_share = malloc(c->output_len * sizeof *st->out_share);
	if (!st->out_share) {
		rc = LV_ERR_NOMEM;
		goto out;
	}
	st->out_len = c->output_len;
	fed_valid_truncate(c, w.meas_share, st->out_share);
	fed_field_encode_vec(c->field, w.verifier, c->verifier_len, w.bytes);
	rc = buf_append(prep_share, w.bytes, c->verifier_len * v->es);
	if (rc == LV_OK && uses_joint_rand(v))
		rc = buf_append(prep_share, part, SEED);
out:
	work_free(&w);
	if (rc != LV_OK) {
		fed_prio3_prep_state_clear(st);
		buf_wipe(prep_share);
	}
	return rc;
}

enum lv_status fed_prio3_prep_shares_to_prep(const struct fed_prio3 *v, const struct buf *prep_shares,
                                             struct buf *prep_msg)
{
	const struct fed_valid *c = &v->valid;
	struct work w = { 0 };
	size_t vlen = c->verifier_len * v->es, jr = uses_joint_rand(v) ? SEED : 0;
	buf_wipe(prep_msg);
	enum lv_status rc = work_alloc(v, &w);
	if (rc != LV_OK)
		goto out;
	memset(w.verifier, 0, c->verifier_len * sizeof *w.verifier);
	/* Each share is decoded into tmp_proof: a proof (arity + poly_len
	 * elements per gadget, poly_len >= 3) is never shorter than a
	 * verifier (arity + 1 per gadget, plus one). */
	assert(c->verifier_len <= c->proof_len);
	for (size_t i = 0; i < v->params.num_shares; i++) {
		const struct buf *ps = &prep_shares[i];
		if (ps->len != vlen + jr ||
		    fed_field_decode_vec(c->field, (const uint8_t *)ps->data, vlen, w.tmp_proof, c->verifier_len) != LV_OK) {
			rc = LV_ERR_INVALID;
			goto out;
		}
		vec_add(c->field, w.verifier, w.tmp_proof, c->verifier_len);
		memcpy(w.parts + i * SEED, ps->data + vlen, jr);
	}
	if (!fed_flp_decide(c, w.verifier)) {
		rc = LV_ERR_CRYPTO;
		goto out;
	}
	if (jr) {
		uint8_t seed[SEED];
		joint_rand_seed(v, w.parts, seed);
		rc = buf_append(prep_msg, seed, SEED);
	}
out:
	work_free(&w);
	if (rc != LV_OK)
		buf_wipe(prep_msg);
	return rc;
}

enum lv_status fed_prio3_prep_next(const struct fed_prio3 *v, const struct fed_prio3_prep_state *st,
                                   const uint8_t *prep_msg, size_t prep_msg_len, struct buf *out_share)
{
	const struct fed_valid *c = &v->valid;
	buf_wipe(out_share);
	if (!st->out_share || st->out_len != c->output_len)
		return LV_ERR_INVALID;
	if (uses_joint_rand(v)) {
		if (prep_msg_len != SEED || sodium_memcmp(prep_msg, st->joint_rand_seed, SEED) != 0)
			return LV_ERR_CRYPTO;
	} else if (prep_msg_len != 0) {
		return LV_ERR_CRYPTO;
	}
	size_t len = c->output_len * v->es;
	uint8_t *enc = malloc(len);
	if (!enc)
		return LV_ERR_NOMEM;
	fed_field_encode_vec(c->field, st->out_share, c->output_len, enc);
	enum lv_status rc = buf_append(out_share, enc, len);
	sodium_memzero(enc, len);
	free(enc);
	if (rc != LV_OK)
		buf_wipe(out_share);
	return rc;
}

/* Sums @n encoded vectors of output_len elements into @sum. */
static enum lv_status sum_encoded(const struct fed_prio3 *v, const struct buf *vecs, size_t n, fed_elem *sum,
                                  fed_elem *tmp)
{
	const struct fed_valid *c = &v->valid;
	memset(sum, 0, c->output_len * sizeof *sum);
	for (size_t i = 0; i < n; i++) {
		if (fed_field_decode_vec(c->field, (const uint8_t *)vecs[i].data, vecs[i].len, tmp, c->output_len) !=
		    LV_OK)
			return LV_ERR_INVALID;
		vec_add(c->field, sum, tmp, c->output_len);
	}
	return LV_OK;
}

enum lv_status fed_prio3_aggregate(const struct fed_prio3 *v, const struct buf *out_shares, size_t n,
                                   struct buf *agg_share)
{
	const struct fed_valid *c = &v->valid;
	size_t len = c->output_len * v->es;
	buf_wipe(agg_share);
	fed_elem *e = malloc(2 * c->output_len * sizeof *e);
	uint8_t *enc = malloc(len);
	enum lv_status rc = LV_ERR_NOMEM;
	if (!e || !enc)
		goto out;
	rc = sum_encoded(v, out_shares, n, e, e + c->output_len);
	if (rc != LV_OK)
		goto out;
	fed_field_encode_vec(c->field, e, c->output_len, enc);
	rc = buf_append(agg_share, enc, len);
out:
	if (e)
		sodium_memzero(e, 2 * c->output_len * sizeof *e);
	if (enc)
		sodium_memzero(enc, len);
	free(e);
	free(enc);
	if (rc != LV_OK)
		buf_wipe(agg_share);
	return rc;
}

enum lv_status fed_prio3_unshard(const struct fed_prio3 *v, const struct buf *agg_shares,
                                 uint64_t num_measurements, fed_elem *result)
{
	const struct fed_valid *c = &v->valid;
	(void)num_measurements; /* no circuit here divides by it */
	fed_elem *e = malloc(2 * c->output_len * sizeof *e);
	if (!e) {
		memset(result, 0, c->output_len * sizeof *result);
		return LV_ERR_NOMEM;
	}
	enum lv_status rc = sum_encoded(v, agg_shares, v->params.num_shares, e, e + c->output_len);
	if (rc == LV_OK)
		fed_valid_decode(c, e, result);
	else
		memset(result, 0, c->output_len * sizeof *result);
	free(e);
	return rc;
}
