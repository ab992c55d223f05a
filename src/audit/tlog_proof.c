/* c2sp.org/tlog-proof@v1: offline inclusion receipts. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "audit.h"
#include "learnvault/util.h"

#define HASH_B64_LEN sodium_base64_ENCODED_LEN(LV_MERKLE_HASH_LEN, sodium_base64_VARIANT_ORIGINAL)
#define EXTRA_B64_LEN sodium_base64_ENCODED_LEN(LV_TLOG_PROOF_MAX_EXTRA, sodium_base64_VARIANT_ORIGINAL)

enum lv_status lv_tlog_proof_format(const void *extra, size_t extra_len, uint64_t index,
				    const struct lv_merkle_proof *proof, const char *checkpoint,
				    size_t checkpoint_len, char **out, size_t *out_len)
{
	enum lv_status st;
	if (!out || !out_len)
		return LV_ERR_INVALID;
	*out = NULL;
	*out_len = 0;
	if (!proof || (extra_len && !extra) || !checkpoint)
		return LV_ERR_INVALID;
	if (proof->len > LV_MERKLE_MAX_PROOF || extra_len > LV_TLOG_PROOF_MAX_EXTRA ||
	    checkpoint_len > LV_NOTE_MAX_LEN)
		return LV_ERR_TOO_LARGE;
	if (checkpoint_len == 0 || checkpoint[checkpoint_len - 1] != '\n' ||
	    !audit_text_ok(checkpoint, checkpoint_len, true))
		return LV_ERR_INVALID;

	struct buf b;
	buf_init(&b, LV_TLOG_PROOF_MAX_LEN);
	st = buf_append_str(&b, LV_TLOG_PROOF_HEADER "\n");
	if (st == LV_OK && extra_len) {
		char e64[EXTRA_B64_LEN];
		sodium_bin2base64(e64, sizeof e64, extra, extra_len, sodium_base64_VARIANT_ORIGINAL);
		st = buf_printf(&b, "extra %s\n", e64);
	}
	if (st == LV_OK)
		st = buf_printf(&b, "index %" PRIu64 "\n", index);
	for (size_t i = 0; st == LV_OK && i < proof->len; i++) {
		char h64[HASH_B64_LEN];
		sodium_bin2base64(h64, sizeof h64, proof->hash[i], LV_MERKLE_HASH_LEN,
				  sodium_base64_VARIANT_ORIGINAL);
		st = buf_printf(&b, "%s\n", h64);
	}
	if (st == LV_OK)
		st = buf_append(&b, "\n", 1);
	if (st == LV_OK)
		st = buf_append(&b, checkpoint, checkpoint_len);
	if (st != LV_OK) {
		buf_free(&b);
		return st;
	}
	*out_len = b.len;
	*out = buf_steal(&b);
	return LV_OK;
}

/* The next '\n'-terminated line at *pos; false when there is none. */
static bool next_line(const char *s, size_t n, size_t *pos, const char **line, size_t *len)
{
	if (*pos >= n)
		return false;
	const char *p = s + *pos;
	const char *nl = memchr(p, '\n', n - *pos);
	if (!nl)
		return false;
	*line = p;
	*len = (size_t)(nl - p);
	*pos += *len + 1;
	return true;
}

static bool has_prefix(const char *line, size_t len, const char *prefix, size_t plen)
{
	return len >= plen && memcmp(line, prefix, plen) == 0;
}

enum lv_status lv_tlog_proof_parse(const char *text, size_t len, struct lv_tlog_proof *out)
{
	enum lv_status st = LV_ERR_INVALID;
	const char *line;
	size_t ll, pos = 0;
	if (!out)
		return LV_ERR_INVALID;
	memset(out, 0, sizeof *out);
	if (!text)
		return LV_ERR_INVALID;
	if (len > LV_TLOG_PROOF_MAX_LEN)
		return LV_ERR_TOO_LARGE;

	if (!next_line(text, len, &pos, &line, &ll) || ll != strlen(LV_TLOG_PROOF_HEADER) ||
	    memcmp(line, LV_TLOG_PROOF_HEADER, ll) != 0)
		goto fail;
	if (!next_line(text, len, &pos, &line, &ll))
		goto fail;
	if (has_prefix(line, ll, "extra ", 6)) {
		/* Decode into room for a little more than the cap so that an
		 * oversized extra reads as too large rather than malformed. */
		unsigned char tmp[LV_TLOG_PROOF_MAX_EXTRA + 8];
		size_t el;
		if (ll - 6 > EXTRA_B64_LEN + 4) {
			st = LV_ERR_TOO_LARGE;
			goto fail;
		}
		if (ll == 6 || !audit_b64_decode(line + 6, ll - 6, tmp, sizeof tmp, &el) || el == 0)
			goto fail;
		if (el > LV_TLOG_PROOF_MAX_EXTRA) {
			st = LV_ERR_TOO_LARGE;
			goto fail;
		}
		memcpy(out->extra, tmp, el);
		out->extra_len = el;
		out->has_extra = true;
		if (!next_line(text, len, &pos, &line, &ll))
			goto fail;
	}
	if (!has_prefix(line, ll, "index ", 6) || !audit_parse_u64(line + 6, ll - 6, &out->index))
		goto fail;
	for (;;) {
		size_t hl;
		if (!next_line(text, len, &pos, &line, &ll))
			goto fail;
		if (ll == 0)
			break;
		if (out->proof.len == LV_MERKLE_MAX_PROOF) {
			st = LV_ERR_TOO_LARGE;
			goto fail;
		}
		if (!audit_b64_decode(line, ll, out->proof.hash[out->proof.len], LV_MERKLE_HASH_LEN, &hl) ||
		    hl != LV_MERKLE_HASH_LEN)
			goto fail;
		out->proof.len++;
	}
	if (pos >= len)
		goto fail;
	out->checkpoint = text + pos;
	out->checkpoint_len = len - pos;
	return LV_OK;
fail:
	memset(out, 0, sizeof *out);
	return st;
}

enum lv_status lv_tlog_proof_verify(const char *text, size_t len, const char *vkey, const char *origin,
				    const unsigned char leaf_hash[LV_MERKLE_HASH_LEN],
				    struct lv_tlog_proof *proof, struct lv_checkpoint *cp)
{
	enum lv_status st;
	struct lv_tlog_proof p;
	struct lv_checkpoint c;
	if (proof)
		memset(proof, 0, sizeof *proof);
	if (cp)
		memset(cp, 0, sizeof *cp);
	if (!leaf_hash)
		return LV_ERR_INVALID;
	st = lv_tlog_proof_parse(text, len, &p);
	if (st != LV_OK)
		return st;
	st = lv_checkpoint_open(p.checkpoint, p.checkpoint_len, vkey, origin, &c);
	if (st != LV_OK)
		return st;
	st = lv_merkle_verify_inclusion(p.index, c.size, leaf_hash, &p.proof, c.root);
	if (st != LV_OK)
		return st;
	if (proof)
		*proof = p;
	if (cp)
		*cp = c;
	return LV_OK;
}
