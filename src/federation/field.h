/* The prime fields of VDAF-08 that Prio3 uses (draft-irtf-cfrg-vdaf-08
 * section 6.1, poc/field.py):
 *   Field64:  p = 2^32 * 4294967295 + 1         (2^64 - 2^32 + 1)
 *   Field128: p = 2^66 * 4611686018427387897 + 1 (2^128 - 28 * 2^64 + 1)
 *
 * Elements are plain integers in [0, p) held in a fed_elem, never in a
 * Montgomery or other internal form: 0 is zero, 1 is one, and callers may
 * compare elements with ==.  Every arithmetic function requires its
 * element arguments < p (asserted in debug builds only where cheap) and
 * returns a value < p.  add, sub, neg and mul have no branch or memory
 * index that depends on the values; pow's time depends only on the
 * exponent, which must therefore be public (inv uses p - 2).
 *
 * Field descriptors are constant static objects: fed_field_get never
 * fails for a valid id, and nothing is freed. */
#ifndef LV_FEDERATION_FIELD_H
#define LV_FEDERATION_FIELD_H

#include <stddef.h>
#include <stdint.h>

#include "learnvault/status.h"
#include "xof.h"

__extension__ typedef unsigned __int128 fed_elem; /* __extension__: quiet under -pedantic */

enum fed_field_id { FED_FIELD64, FED_FIELD128 };

struct fed_field; /* constant descriptors, never freed */

/* The descriptor for @id; NULL only for an id outside the enum. */
const struct fed_field *fed_field_get(enum fed_field_id id);
enum fed_field_id fed_field_id(const struct fed_field *f);
/* ENCODED_SIZE: 8 (Field64) or 16 (Field128). */
size_t fed_field_encoded_size(const struct fed_field *f);
fed_elem fed_field_modulus(const struct fed_field *f);

fed_elem fed_field_add(const struct fed_field *f, fed_elem a, fed_elem b);
fed_elem fed_field_sub(const struct fed_field *f, fed_elem a, fed_elem b);
fed_elem fed_field_neg(const struct fed_field *f, fed_elem a);
fed_elem fed_field_mul(const struct fed_field *f, fed_elem a, fed_elem b);
/* a^e; e is any 128-bit integer (not reduced), public. */
fed_elem fed_field_pow(const struct fed_field *f, fed_elem a, fed_elem e);
/* a^-1 for a != 0 (Fermat: a^(p-2)); inv(0) returns 0. */
fed_elem fed_field_inv(const struct fed_field *f, fed_elem a);
/* v mod p (v < 2^64; only Field64 ever reduces). */
fed_elem fed_field_from_u64(const struct fed_field *f, uint64_t v);

/* field.py's gen() has order GEN_ORDER (2^32 for Field64, 2^66 for
 * Field128).  fed_field_root(f, n) is gen()^(GEN_ORDER / n), a
 * primitive n-th root of unity, as flp_generic.py computes alpha; @n must
 * be a power of two <= GEN_ORDER.  Returns 0 (not a root) for any other
 * @n. */
fed_elem fed_field_root(const struct fed_field *f, uint64_t n);
/* log2(GEN_ORDER): 32 or 66. */
unsigned fed_field_gen_order_log2(const struct fed_field *f);

/* Field.encode_vec: @n elements, each little-endian in ENCODED_SIZE
 * bytes, into @out (n * ENCODED_SIZE bytes, caller-owned). */
void fed_field_encode_vec(const struct fed_field *f, const fed_elem *v, size_t n, uint8_t *out);
/* Field.decode_vec into @out (room for @n elements).  LV_ERR_INVALID when
 * @len != n * ENCODED_SIZE or an encoded value is >= p; on failure @out
 * is all zeros. */
enum lv_status fed_field_decode_vec(const struct fed_field *f, const uint8_t *in, size_t len, fed_elem *out,
				    size_t n) LV_WARN_UNUSED;

/* VDAF-08 Xof.next_vec: @n elements by rejection sampling (read
 * ENCODED_SIZE bytes little-endian, mask to the bit length of p, keep
 * when < p) from the stream of @x. */
void fed_xof_next_vec(const struct fed_field *f, struct fed_xof *x, fed_elem *out, size_t n);
/* VDAF-08 Xof.expand_into_vec: next_vec(n) on a fresh XofTurboShake128
 * for (@seed, @dst, @binder).  The XOF state is wiped before return. */
void fed_field_expand_vec(const struct fed_field *f, const uint8_t seed[16], const uint8_t *dst, size_t dst_len,
			  const uint8_t *binder, size_t binder_len, fed_elem *out, size_t n);

#endif
