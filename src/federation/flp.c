/* FlpGeneric (VDAF-08 §7.3).  The reference interpolates with Lagrange
 * over the p-th roots of unity; we get the same polynomials from an NTT:
 * a wire's values at alpha^k (alpha = gen^(GEN_ORDER/p)) are an inverse
 * NTT of size p away from its coefficients.  The gadget polynomial G(W(x))
 * has degree <= degree * (p - 1) < n, so it is the inverse NTT of the
 * gadget evaluated pointwise on the wires' values at the n-th roots. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "flp.h"

static size_t next_pow2(size_t x)
{
	size_t p = 1;
	while (p < x)
		p <<= 1;
	return p;
}

static size_t log2_exact(size_t x)
{
	size_t k = 0;
	while (((size_t)1 << k) < x)
		k++;
	return k;
}

/* Work layout, in elements: [wires of every gadget][circuit scratch:
 * max arity][per-gadget tail: prove needs arity * n + n, query 2 * p]. */
static size_t wires_len(const struct fed_valid *v)
{
	size_t len = 0;
	for (size_t i = 0; i < v->num_gadgets; i++)
		len += v->gadgets[i].arity * v->gadgets[i].p;
	return len;
}

static size_t max_arity(const struct fed_valid *v)
{
	size_t a = 0;
	for (size_t i = 0; i < v->num_gadgets; i++)
		if (v->gadgets[i].arity > a)
			a = v->gadgets[i].arity;
	return a;
}

enum lv_status fed_flp_finish(struct fed_valid *v)
{
	size_t tail = 0;
	v->prove_rand_len = v->query_rand_len = v->proof_len = 0;
	v->verifier_len = 1;
	v->max_n = 1;
	for (size_t i = 0; i < v->num_gadgets; i++) {
		struct fed_gadget *g = &v->gadgets[i];
		if (g->calls == 0 || g->calls > FED_FLP_MAX_MEAS_LEN || g->arity == 0 ||
		    g->arity > 2 * (size_t)FED_FLP_MAX_MEAS_LEN)
			return LV_ERR_INVALID;
		g->p = next_pow2(1 + g->calls);
		g->poly_len = g->degree * (g->p - 1) + 1;
		g->n = next_pow2(g->poly_len);
		v->prove_rand_len += g->arity;
		v->query_rand_len += 1;
		v->proof_len += g->arity + g->poly_len;
		v->verifier_len += g->arity + 1;
		size_t t = g->arity * g->n + g->n;
		if (2 * g->p > t)
			t = 2 * g->p;
		if (t > tail)
			tail = t;
		if (g->n > v->max_n)
			v->max_n = g->n;
	}
	v->work_len = wires_len(v) + max_arity(v) + tail;
	if (v->work_len > FED_FLP_MAX_WORK_LEN)
		return LV_ERR_INVALID;

	const struct fed_field *f = v->field;
	size_t half = v->max_n / 2 ? v->max_n / 2 : 1;
	size_t logn = log2_exact(v->max_n);
	v->roots = malloc(half * sizeof *v->roots);
	v->inv_pow2 = malloc((logn + 1) * sizeof *v->inv_pow2);
	if (!v->roots || !v->inv_pow2) {
		free(v->roots);
		free(v->inv_pow2);
		v->roots = v->inv_pow2 = NULL;
		return LV_ERR_NOMEM;
	}
	fed_elem w = fed_field_root(f, v->max_n), x = fed_field_from_u64(f, 1);
	for (size_t i = 0; i < half; i++) {
		v->roots[i] = x;
		x = fed_field_mul(f, x, w);
	}
	fed_elem inv2 = fed_field_inv(f, fed_field_from_u64(f, 2));
	v->inv_pow2[0] = fed_field_from_u64(f, 1);
	for (size_t k = 1; k <= logn; k++)
		v->inv_pow2[k] = fed_field_mul(f, v->inv_pow2[k - 1], inv2);
	for (size_t i = 0; i < v->num_gadgets; i++)
		v->gadgets[i].alpha = fed_field_root(f, v->gadgets[i].p);
	return LV_OK;
}

void fed_valid_free(struct fed_valid *v)
{
	if (!v)
		return;
	free(v->roots);
	free(v->inv_pow2);
	v->roots = v->inv_pow2 = NULL;
}

/* In place: a[k] <- sum_i a[i] w_m^(ik), w_m of order m (m | max_n). */
static void ntt(const struct fed_valid *v, fed_elem *a, size_t m)
{
	const struct fed_field *f = v->field;
	for (size_t i = 1, j = 0; i < m; i++) {
		size_t bit = m >> 1;
		for (; j & bit; bit >>= 1)
			j ^= bit;
		j ^= bit;
		if (i < j) {
			fed_elem t = a[i];
			a[i] = a[j];
			a[j] = t;
		}
	}
	for (size_t len = 2; len <= m; len <<= 1) {
		size_t half = len / 2, step = v->max_n / len;
		for (size_t i = 0; i < m; i += len) {
			for (size_t j = 0; j < half; j++) {
				fed_elem u = a[i + j];
				fed_elem t = fed_field_mul(f, v->roots[j * step], a[i + j + half]);
				a[i + j] = fed_field_add(f, u, t);
				a[i + j + half] = fed_field_sub(f, u, t);
			}
		}
	}
}

/* The inverse: a forward transform read backwards (w^-ik = w^(m-i)k),
 * scaled by 1/m. */
static void intt(const struct fed_valid *v, fed_elem *a, size_t m)
{
	const struct fed_field *f = v->field;
	ntt(v, a, m);
	for (size_t i = 1, j = m - 1; i < j; i++, j--) {
		fed_elem t = a[i];
		a[i] = a[j];
		a[j] = t;
	}
	fed_elem s = v->inv_pow2[log2_exact(m)];
	for (size_t i = 0; i < m; i++)
		a[i] = fed_field_mul(f, a[i], s);
}

static fed_elem poly_eval(const struct fed_field *f, const fed_elem *p, size_t len, fed_elem x)
{
	fed_elem r = 0;
	for (size_t i = len; i-- > 0;)
		r = fed_field_add(f, fed_field_mul(f, r, x), p[i]);
	return r;
}

fed_elem fed_flp_gadget_eval(const struct fed_field *f, const struct fed_gadget *g, const fed_elem *inp)
{
	switch (g->kind) {
	case FED_GADGET_MUL:
		return fed_field_mul(f, inp[0], inp[1]);
	case FED_GADGET_RANGE2:
		return fed_field_sub(f, fed_field_mul(f, inp[0], inp[0]), inp[0]);
	case FED_GADGET_PSUM_MUL: {
		fed_elem s = 0;
		for (size_t i = 0; i < g->count; i++)
			s = fed_field_add(f, s, fed_field_mul(f, inp[2 * i], inp[2 * i + 1]));
		return s;
	}
	}
	assert(0 && "unknown gadget");
	return 0;
}

fed_elem fed_flp_gadget_call(const struct fed_field *f, struct fed_gadget_run *r, const fed_elem *inp)
{
	const struct fed_gadget *g = r->g;
	assert(r->k + 1 < g->p);
	r->k++;
	for (size_t j = 0; j < g->arity; j++)
		r->wires[j * g->p + r->k] = inp[j];
	if (!r->gadget_poly)
		return fed_flp_gadget_eval(f, g, inp);
	r->alpha_k = fed_field_mul(f, r->alpha_k, g->alpha);
	return poly_eval(f, r->gadget_poly, g->poly_len, r->alpha_k);
}

/* Points the runs at their wire rows in @work and seeds row j's first
 * point with @seeds (the prover's randomness, or the proof's copy of it).
 * Returns the first element after the wires. */
static fed_elem *setup_runs(const struct fed_valid *v, struct fed_gadget_run *runs, fed_elem *work,
                            const fed_elem *proof, const fed_elem *prove_rand)
{
	const struct fed_field *f = v->field;
	for (size_t i = 0; i < v->num_gadgets; i++) {
		const struct fed_gadget *g = &v->gadgets[i];
		runs[i] = (struct fed_gadget_run){ .g = g, .wires = work, .alpha_k = fed_field_from_u64(f, 1) };
		memset(work, 0, g->arity * g->p * sizeof *work);
		const fed_elem *seeds = proof ? proof : prove_rand;
		for (size_t j = 0; j < g->arity; j++)
			work[j * g->p] = seeds[j];
		if (proof) {
			runs[i].gadget_poly = proof + g->arity;
			proof += g->arity + g->poly_len;
		} else {
			prove_rand += g->arity;
		}
		work += g->arity * g->p;
	}
	return work;
}

/* The gadget polynomial of one gadget from its recorded wires, into
 * @out (n elements, poly_len meaningful); @tmp holds arity * n. */
static void gadget_poly(const struct fed_valid *v, const struct fed_gadget_run *r, fed_elem *scratch, fed_elem *tmp,
                        fed_elem *out)
{
	const struct fed_field *f = v->field;
	const struct fed_gadget *g = r->g;
	for (size_t j = 0; j < g->arity; j++) {
		fed_elem *w = tmp + j * g->n;
		memcpy(w, r->wires + j * g->p, g->p * sizeof *w);
		intt(v, w, g->p);
		memset(w + g->p, 0, (g->n - g->p) * sizeof *w);
		ntt(v, w, g->n);
	}
	for (size_t i = 0; i < g->n; i++) {
		for (size_t j = 0; j < g->arity; j++)
			scratch[j] = tmp[j * g->n + i];
		out[i] = fed_flp_gadget_eval(f, g, scratch);
	}
	intt(v, out, g->n);
}

void fed_flp_prove(const struct fed_valid *v, const fed_elem *meas, const fed_elem *prove_rand,
                   const fed_elem *joint_rand, fed_elem *proof, fed_elem *work)
{
	struct fed_gadget_run runs[FED_FLP_MAX_GADGETS];
	fed_elem *scratch = setup_runs(v, runs, work, NULL, prove_rand);
	fed_elem *tail = scratch + max_arity(v);
	(void)fed_valid_eval(v, meas, joint_rand, 1, runs, scratch);
	for (size_t i = 0; i < v->num_gadgets; i++) {
		const struct fed_gadget *g = &v->gadgets[i];
		fed_elem *out = tail + g->arity * g->n;
		gadget_poly(v, &runs[i], scratch, tail, out);
		for (size_t j = 0; j < g->arity; j++)
			*proof++ = runs[i].wires[j * g->p];
		memcpy(proof, out, g->poly_len * sizeof *proof);
		proof += g->poly_len;
	}
}

/* Lagrange basis of the p-th roots of unity at t (t^p != 1):
 * L_k(t) = alpha^k (t^p - 1) / (p (t - alpha^k)); one inversion for all
 * p denominators (Montgomery's trick, @pre holds the prefix products). */
static void lagrange_at(const struct fed_valid *v, const struct fed_gadget *g, fed_elem t, fed_elem tp,
                        fed_elem *l, fed_elem *pre)
{
	const struct fed_field *f = v->field;
	fed_elem x = fed_field_from_u64(f, 1), acc = x;
	for (size_t k = 0; k < g->p; k++) {
		l[k] = x; /* alpha^k for now */
		acc = fed_field_mul(f, acc, fed_field_sub(f, t, x));
		pre[k] = acc;
		x = fed_field_mul(f, x, g->alpha);
	}
	fed_elem inv = fed_field_inv(f, acc);
	fed_elem c = fed_field_mul(f, fed_field_sub(f, tp, fed_field_from_u64(f, 1)),
	                           v->inv_pow2[log2_exact(g->p)]);
	for (size_t k = g->p; k-- > 0;) {
		fed_elem d = fed_field_sub(f, t, l[k]);
		fed_elem inv_d = k ? fed_field_mul(f, inv, pre[k - 1]) : inv;
		inv = fed_field_mul(f, inv, d);
		l[k] = fed_field_mul(f, fed_field_mul(f, c, l[k]), inv_d);
	}
}

enum lv_status fed_flp_query(const struct fed_valid *v, const fed_elem *meas, const fed_elem *proof,
                             const fed_elem *query_rand, const fed_elem *joint_rand, unsigned num_shares,
                             fed_elem *verifier, fed_elem *work)
{
	const struct fed_field *f = v->field;
	struct fed_gadget_run runs[FED_FLP_MAX_GADGETS];
	fed_elem *scratch = setup_runs(v, runs, work, proof, NULL);
	fed_elem *tail = scratch + max_arity(v);
	fed_elem *out = verifier;
	*out++ = fed_valid_eval(v, meas, joint_rand, num_shares, runs, scratch);
	for (size_t i = 0; i < v->num_gadgets; i++) {
		const struct fed_gadget *g = &v->gadgets[i];
		fed_elem t = query_rand[i];
		fed_elem tp = fed_field_pow(f, t, g->p);
		/* A degenerate point was an input of the gadget polynomial's
		 * construction: using it would leak a gadget output. */
		if (tp == fed_field_from_u64(f, 1)) {
			memset(verifier, 0, v->verifier_len * sizeof *verifier);
			return LV_ERR_CRYPTO;
		}
		fed_elem *l = tail, *pre = tail + g->p;
		lagrange_at(v, g, t, tp, l, pre);
		for (size_t j = 0; j < g->arity; j++) {
			const fed_elem *w = runs[i].wires + j * g->p;
			fed_elem x = 0;
			for (size_t k = 0; k < g->p; k++)
				x = fed_field_add(f, x, fed_field_mul(f, l[k], w[k]));
			*out++ = x;
		}
		*out++ = poly_eval(f, runs[i].gadget_poly, g->poly_len, t);
	}
	return LV_OK;
}

bool fed_flp_decide(const struct fed_valid *v, const fed_elem *verifier)
{
	const struct fed_field *f = v->field;
	if (verifier[0] != 0)
		return false;
	verifier++;
	bool ok = true;
	for (size_t i = 0; i < v->num_gadgets; i++) {
		const struct fed_gadget *g = &v->gadgets[i];
		fed_elem z = fed_flp_gadget_eval(f, g, verifier);
		ok &= z == verifier[g->arity];
		verifier += g->arity + 1;
	}
	return ok;
}
