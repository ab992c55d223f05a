/* The validity circuits of VDAF-08 Prio3 (poc/flp_generic.py at the tag
 * draft-irtf-cfrg-vdaf-08): Count, Sum, SumVec, Histogram.  Each follows
 * the reference step by step, including how chunks are padded and how the
 * joint randomness is spent, because the proofs must match the reference
 * byte for byte. */
#include <string.h>

#include "flp.h"

static void set_psum_mul(struct fed_valid *v, size_t meas_len, size_t chunk_length)
{
	v->num_gadgets = 1;
	v->gadgets[0] = (struct fed_gadget){ .kind = FED_GADGET_PSUM_MUL, .arity = 2 * chunk_length,
	                                      .degree = 2, .count = chunk_length,
	                                      .calls = (meas_len + chunk_length - 1) / chunk_length };
}

enum lv_status fed_valid_init(struct fed_valid *v, enum fed_circuit circuit, size_t bits, size_t length,
                              size_t chunk_length)
{
	memset(v, 0, sizeof *v);
	v->circuit = circuit;
	switch (circuit) {
	case FED_CIRCUIT_COUNT:
		v->field = fed_field_get(FED_FIELD64);
		v->meas_len = v->output_len = 1;
		v->num_gadgets = 1;
		v->gadgets[0] = (struct fed_gadget){ .kind = FED_GADGET_MUL, .arity = 2, .degree = 2, .count = 1,
		                                      .calls = 1 };
		break;
	case FED_CIRCUIT_SUM:
		if (bits == 0 || bits > 64)
			return LV_ERR_INVALID;
		v->field = fed_field_get(FED_FIELD128);
		v->bits = v->meas_len = bits;
		v->output_len = v->joint_rand_len = 1;
		v->num_gadgets = 1;
		v->gadgets[0] = (struct fed_gadget){ .kind = FED_GADGET_RANGE2, .arity = 1, .degree = 2, .count = 1,
		                                      .calls = bits };
		break;
	case FED_CIRCUIT_SUMVEC:
		if (bits == 0 || bits > 64 || length == 0 || length > FED_FLP_MAX_MEAS_LEN / bits ||
		    chunk_length == 0 || chunk_length > FED_FLP_MAX_MEAS_LEN)
			return LV_ERR_INVALID;
		v->field = fed_field_get(FED_FIELD128);
		v->bits = bits;
		v->length = v->output_len = length;
		v->chunk_length = chunk_length;
		v->meas_len = length * bits;
		v->joint_rand_len = 1;
		set_psum_mul(v, v->meas_len, chunk_length);
		break;
	case FED_CIRCUIT_HISTOGRAM:
		if (length == 0 || length > FED_FLP_MAX_MEAS_LEN || chunk_length == 0 ||
		    chunk_length > FED_FLP_MAX_MEAS_LEN)
			return LV_ERR_INVALID;
		v->field = fed_field_get(FED_FIELD128);
		v->length = v->meas_len = v->output_len = length;
		v->chunk_length = chunk_length;
		v->joint_rand_len = 2;
		set_psum_mul(v, v->meas_len, chunk_length);
		break;
	default:
		return LV_ERR_INVALID;
	}
	enum lv_status st = fed_flp_finish(v);
	if (st != LV_OK)
		fed_valid_free(v);
	return st;
}

/* Field.encode_into_bit_vector: least significant bit first. */
static void bits_encode(const struct fed_field *f, uint64_t val, size_t bits, fed_elem *out)
{
	for (size_t l = 0; l < bits; l++)
		out[l] = fed_field_from_u64(f, (val >> l) & 1);
}

static fed_elem bits_decode(const struct fed_field *f, const fed_elem *vec, size_t bits)
{
	fed_elem d = 0;
	for (size_t l = 0; l < bits; l++)
		d = fed_field_add(f, d, fed_field_mul(f, fed_field_from_u64(f, (uint64_t)1 << l), vec[l]));
	return d;
}

static bool below_pow2(uint64_t val, size_t bits)
{
	return bits >= 64 || val < ((uint64_t)1 << bits);
}

enum lv_status fed_valid_encode(const struct fed_valid *v, const uint64_t *meas, size_t meas_len, fed_elem *out)
{
	const struct fed_field *f = v->field;
	size_t want = v->circuit == FED_CIRCUIT_SUMVEC ? v->length : 1;
	memset(out, 0, v->meas_len * sizeof *out);
	if (meas_len != want)
		return LV_ERR_INVALID;
	switch (v->circuit) {
	case FED_CIRCUIT_COUNT:
		if (meas[0] > 1)
			return LV_ERR_INVALID;
		out[0] = fed_field_from_u64(f, meas[0]);
		return LV_OK;
	case FED_CIRCUIT_SUM:
		if (!below_pow2(meas[0], v->bits))
			return LV_ERR_INVALID;
		bits_encode(f, meas[0], v->bits, out);
		return LV_OK;
	case FED_CIRCUIT_SUMVEC:
		for (size_t i = 0; i < v->length; i++)
			if (!below_pow2(meas[i], v->bits))
				return LV_ERR_INVALID;
		for (size_t i = 0; i < v->length; i++)
			bits_encode(f, meas[i], v->bits, out + i * v->bits);
		return LV_OK;
	case FED_CIRCUIT_HISTOGRAM:
		if (meas[0] >= v->length)
			return LV_ERR_INVALID;
		out[meas[0]] = fed_field_from_u64(f, 1);
		return LV_OK;
	}
	return LV_ERR_INVALID;
}

void fed_valid_truncate(const struct fed_valid *v, const fed_elem *meas, fed_elem *out)
{
	switch (v->circuit) {
	case FED_CIRCUIT_SUM:
		out[0] = bits_decode(v->field, meas, v->bits);
		return;
	case FED_CIRCUIT_SUMVEC:
		for (size_t i = 0; i < v->length; i++)
			out[i] = bits_decode(v->field, meas + i * v->bits, v->bits);
		return;
	case FED_CIRCUIT_COUNT:
	case FED_CIRCUIT_HISTOGRAM:
		memcpy(out, meas, v->output_len * sizeof *out);
		return;
	}
}

void fed_valid_decode(const struct fed_valid *v, const fed_elem *agg, fed_elem *out)
{
	/* Every circuit here decodes to the field elements as integers. */
	memcpy(out, agg, v->output_len * sizeof *out);
}

/* SumVec's and Histogram's range check: each element is 0 or 1 (for one
 * share: x * (x - 1/num_shares) summed over the shares is x^2 - x),
 * weighted by successive powers of r, chunk_length elements per
 * ParallelSum call; the last chunk is padded with zeros. */
static fed_elem chunked_range_check(const struct fed_valid *v, const fed_elem *meas, fed_elem r,
                                    fed_elem shares_inv, struct fed_gadget_run *run, fed_elem *inputs)
{
	const struct fed_field *f = v->field;
	fed_elem out = 0, r_power = r;
	for (size_t i = 0; i < v->gadgets[0].calls; i++) {
		for (size_t j = 0; j < v->chunk_length; j++) {
			size_t index = i * v->chunk_length + j;
			fed_elem elem = index < v->meas_len ? meas[index] : 0;
			inputs[2 * j] = fed_field_mul(f, r_power, elem);
			inputs[2 * j + 1] = fed_field_sub(f, elem, shares_inv);
			r_power = fed_field_mul(f, r_power, r);
		}
		out = fed_field_add(f, out, fed_flp_gadget_call(f, run, inputs));
	}
	return out;
}

fed_elem fed_valid_eval(const struct fed_valid *v, const fed_elem *meas, const fed_elem *joint_rand,
                        unsigned num_shares, struct fed_gadget_run *runs, fed_elem *scratch)
{
	const struct fed_field *f = v->field;
	switch (v->circuit) {
	case FED_CIRCUIT_COUNT: {
		fed_elem in[2] = { meas[0], meas[0] };
		return fed_field_sub(f, fed_flp_gadget_call(f, &runs[0], in), meas[0]);
	}
	case FED_CIRCUIT_SUM: {
		fed_elem out = 0, r = joint_rand[0];
		for (size_t i = 0; i < v->meas_len; i++) {
			out = fed_field_add(f, out, fed_field_mul(f, r, fed_flp_gadget_call(f, &runs[0], &meas[i])));
			r = fed_field_mul(f, r, joint_rand[0]);
		}
		return out;
	}
	case FED_CIRCUIT_SUMVEC: {
		fed_elem shares_inv = fed_field_inv(f, fed_field_from_u64(f, num_shares));
		return chunked_range_check(v, meas, joint_rand[0], shares_inv, &runs[0], scratch);
	}
	case FED_CIRCUIT_HISTOGRAM: {
		fed_elem shares_inv = fed_field_inv(f, fed_field_from_u64(f, num_shares));
		fed_elem range_check = chunked_range_check(v, meas, joint_rand[0], shares_inv, &runs[0], scratch);
		/* The buckets sum to one (each share contributes 1/num_shares). */
		fed_elem sum_check = fed_field_neg(f, shares_inv);
		for (size_t i = 0; i < v->meas_len; i++)
			sum_check = fed_field_add(f, sum_check, meas[i]);
		fed_elem r1 = joint_rand[1];
		return fed_field_add(f, fed_field_mul(f, r1, range_check),
		                     fed_field_mul(f, fed_field_mul(f, r1, r1), sum_check));
	}
	}
	return 0;
}
