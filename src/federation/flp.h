/* FlpGeneric of VDAF-08 §7.3 (poc/flp_generic.py at draft-irtf-cfrg-vdaf-08)
 * and the validity circuits Prio3 uses: Count, Sum, SumVec, Histogram.
 *
 * Conventions: vectors are arrays of fed_elem the caller owns; every
 * function that needs scratch space takes a @work array of
 * fed_valid.work_len elements, so a caller that shards many reports
 * allocates once.  Nothing here allocates except fed_valid_init.
 * Secret inputs (measurements, proofs) pass through @work: callers wipe it
 * when they are done. */
#ifndef LV_FEDERATION_FLP_H
#define LV_FEDERATION_FLP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "learnvault/status.h"

#include "field.h"

/* Every circuit in scope uses one gadget; the proof and verifier layouts
 * below are written for any number up to this. */
#define FED_FLP_MAX_GADGETS 1
/* Caps on circuit sizes, so that size arithmetic cannot overflow and one
 * set of parameters cannot ask for gigabytes of scratch. */
#define FED_FLP_MAX_MEAS_LEN (1u << 20)
#define FED_FLP_MAX_WORK_LEN ((size_t)1 << 22) /* 64 MiB of scratch */

enum fed_gadget_kind {
	FED_GADGET_MUL,      /* x * y */
	FED_GADGET_RANGE2,   /* x^2 - x */
	FED_GADGET_PSUM_MUL, /* ParallelSum(Mul(), count): sum x_i * y_i */
};

struct fed_gadget {
	enum fed_gadget_kind kind;
	size_t arity;  /* field elements per call */
	size_t degree; /* arithmetic degree */
	size_t count;  /* ParallelSum's instances; 1 for the others */
	size_t calls;  /* times the circuit calls it */
	size_t p;      /* wire points: next power of 2 >= 1 + calls */
	size_t n;      /* evaluation domain of the gadget polynomial, a power of 2 > degree * (p - 1) */
	size_t poly_len; /* degree * (p - 1) + 1 coefficients in the proof */
	fed_elem alpha;  /* gen^(GEN_ORDER / p): the wires sit at alpha^k */
};

enum fed_circuit { FED_CIRCUIT_COUNT, FED_CIRCUIT_SUM, FED_CIRCUIT_SUMVEC, FED_CIRCUIT_HISTOGRAM };

struct fed_valid {
	enum fed_circuit circuit;
	const struct fed_field *field;
	size_t bits, length, chunk_length; /* as the circuit's constructor takes them */
	size_t meas_len, joint_rand_len, output_len;
	size_t num_gadgets;
	struct fed_gadget gadgets[FED_FLP_MAX_GADGETS];
	size_t prove_rand_len, query_rand_len, proof_len, verifier_len;
	size_t work_len;   /* elements of scratch prove and query need */
	size_t max_n;      /* largest NTT size */
	fed_elem *roots;   /* roots[i] = w^i, i < max_n / 2, w of order max_n; owned */
	fed_elem *inv_pow2; /* inv_pow2[k] = 2^-k for 2^k <= max_n; owned */
};

/* Sets up @v for @circuit with the constructor parameters of
 * flp_generic.py (bits for Sum/SumVec; length for SumVec/Histogram;
 * chunk_length for SumVec/Histogram; unused ones are ignored).
 * LV_ERR_INVALID for parameters the reference refuses, bits > 64 (the
 * measurements are uint64_t) or sizes over the caps above; LV_ERR_NOMEM.
 * On success release with fed_valid_free; on failure *v owns nothing. */
enum lv_status fed_valid_init(struct fed_valid *v, enum fed_circuit circuit, size_t bits, size_t length,
                              size_t chunk_length) LV_WARN_UNUSED;
void fed_valid_free(struct fed_valid *v);

/* Fills the gadget table, the derived lengths and the NTT tables once a
 * circuit has set field, meas_len, joint_rand_len, output_len and its
 * gadgets' kind, arity, degree, count and calls (flp.c, called by
 * fed_valid_init). */
enum lv_status fed_flp_finish(struct fed_valid *v) LV_WARN_UNUSED;

/* Valid.encode: @meas (@meas_len values: 1 for Count/Sum/Histogram,
 * length for SumVec) into @out (v->meas_len elements).  LV_ERR_INVALID for
 * a wrong count or an out-of-range value; @out is then zero. */
enum lv_status fed_valid_encode(const struct fed_valid *v, const uint64_t *meas, size_t meas_len, fed_elem *out)
	LV_WARN_UNUSED;
/* Valid.truncate: @meas (meas_len) to @out (output_len). */
void fed_valid_truncate(const struct fed_valid *v, const fed_elem *meas, fed_elem *out);
/* Valid.decode: @agg (output_len) to integers in @out (output_len). */
void fed_valid_decode(const struct fed_valid *v, const fed_elem *agg, fed_elem *out);

/* A gadget as the circuit sees it during prove (gadget_poly NULL: record
 * the inputs, return the gadget's value) or query (record the inputs,
 * return the gadget polynomial at alpha^k). */
struct fed_gadget_run {
	const struct fed_gadget *g;
	fed_elem *wires;             /* arity rows of p elements; row j is wire j */
	const fed_elem *gadget_poly; /* poly_len coefficients, or NULL when proving */
	fed_elem alpha, alpha_k;     /* alpha of order p; alpha^k after k calls */
	size_t k;                    /* calls so far */
};

/* Calls the gadget from a circuit on @inp (arity elements). */
fed_elem fed_flp_gadget_call(const struct fed_field *f, struct fed_gadget_run *r, const fed_elem *inp);
/* The gadget on field elements (decide, and the prover's own evaluation). */
fed_elem fed_flp_gadget_eval(const struct fed_field *f, const struct fed_gadget *g, const fed_elem *inp);

/* Valid.eval: the circuit on @meas with @joint_rand for @num_shares
 * shares, its gadgets being @runs (num_gadgets of them); @scratch holds at
 * least the largest gadget's arity elements. */
fed_elem fed_valid_eval(const struct fed_valid *v, const fed_elem *meas, const fed_elem *joint_rand,
                        unsigned num_shares, struct fed_gadget_run *runs, fed_elem *scratch);

/* FlpGeneric.prove: writes proof_len elements to @proof. */
void fed_flp_prove(const struct fed_valid *v, const fed_elem *meas, const fed_elem *prove_rand,
                   const fed_elem *joint_rand, fed_elem *proof, fed_elem *work);
/* FlpGeneric.query: writes verifier_len elements to @verifier.
 * LV_ERR_CRYPTO when a query point is degenerate (t^p = 1: the reference's
 * ERR_ABORT); @verifier is then zero. */
enum lv_status fed_flp_query(const struct fed_valid *v, const fed_elem *meas, const fed_elem *proof,
                             const fed_elem *query_rand, const fed_elem *joint_rand, unsigned num_shares,
                             fed_elem *verifier, fed_elem *work) LV_WARN_UNUSED;
/* FlpGeneric.decide: true when the (summed) verifier accepts. */
bool fed_flp_decide(const struct fed_valid *v, const fed_elem *verifier) LV_WARN_UNUSED;

#endif
