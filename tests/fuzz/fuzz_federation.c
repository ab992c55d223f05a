/* The federation decoders: what comes back from a DAP aggregator
 * (HpkeConfigList) and the Report encoding, and VDAF field vectors.  The
 * first byte picks the decoder; for field vectors its low bit picks
 * Field64 or Field128 and the element count is what the length gives
 * (plus a wrong count now and then, from the second byte). */
#include "fuzz.h"

#include "dap.h"
#include "field.h"

static void field_vec(const uint8_t *b, size_t n, uint8_t sel)
{
	const struct fed_field *f = fed_field_get((sel & 1) ? FED_FIELD128 : FED_FIELD64);
	size_t es = fed_field_encoded_size(f);
	size_t count = n / es;
	/* A count that disagrees with the length must be refused. */
	if ((sel & 2) && (sel & 4))
		count++;
	else if ((sel & 2) && count > 0)
		count--;
	if (count > 4096)
		return;
	fed_elem *out = calloc(count ? count : 1, sizeof *out);
	if (!out)
		return;
	if (fed_field_decode_vec(f, b, n, out, count) == LV_OK) {
		/* Decoded elements are reduced, and encode back to the input. */
		uint8_t *back = malloc(n ? n : 1);
		if (back) {
			fed_field_encode_vec(f, out, count, back);
			if (n != count * es || memcmp(back, b, n) != 0)
				abort();
			free(back);
		}
	}
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t sel = data[0];
	/* The rest in an allocation of its own, so over-reads are reported. */
	size_t n = size - 1;
	uint8_t *b = malloc(n ? n : 1);
	if (!b)
		return 0;
	if (n)
		memcpy(b, data + 1, n);
	switch (sel % 3) {
	case 0: {
		struct fed_hpke_config_list *l = NULL;
		if (fed_dap_hpke_config_list_decode(b, n, &l) == LV_OK) {
			const struct fed_hpke_config *c;
			(void)fed_dap_hpke_config_select(l, &c);
		}
		fed_dap_hpke_config_list_free(l);
		break;
	}
	case 1: {
		struct fed_dap_report r;
		(void)fed_dap_report_decode(b, n, &r);
		break;
	}
	default:
		field_vec(b, n, (uint8_t)(sel / 3));
		break;
	}
	free(b);
	return 0;
}
