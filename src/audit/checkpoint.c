/* c2sp.org/tlog-checkpoint: format, sign, parse, verify-and-parse. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "audit.h"
#include "learnvault/util.h"

#define ROOT_B64_LEN sodium_base64_ENCODED_LEN(LV_MERKLE_HASH_LEN, sodium_base64_VARIANT_ORIGINAL)

enum lv_status lv_checkpoint_format(const char *origin, uint64_t size, const unsigned char root[LV_MERKLE_HASH_LEN],
				    char **text, size_t *text_len)
{
	if (!text || !text_len)
		return LV_ERR_INVALID;
	*text = NULL;
	*text_len = 0;
	if (!origin || !root)
		return LV_ERR_INVALID;
	size_t n = strnlen(origin, LV_CHECKPOINT_MAX_ORIGIN + 1);
	if (n > LV_CHECKPOINT_MAX_ORIGIN)
		return LV_ERR_TOO_LARGE;
	if (n == 0 || !audit_text_ok(origin, n, false))
		return LV_ERR_INVALID;
	char b64[ROOT_B64_LEN];
	sodium_bin2base64(b64, sizeof b64, root, LV_MERKLE_HASH_LEN, sodium_base64_VARIANT_ORIGINAL);
	struct buf b;
	buf_init(&b, LV_CHECKPOINT_MAX_ORIGIN + 128);
	enum lv_status st = buf_printf(&b, "%s\n%" PRIu64 "\n%s\n", origin, size, b64);
	if (st != LV_OK) {
		buf_free(&b);
		return st;
	}
	*text_len = b.len;
	*text = buf_steal(&b);
	return LV_OK;
}

enum lv_status lv_checkpoint_sign(const char *origin, uint64_t size, const unsigned char root[LV_MERKLE_HASH_LEN],
				  const unsigned char sk[LV_NOTE_SECRETKEY_LEN], char **note, size_t *note_len)
{
	char *text = NULL;
	size_t len = 0;
	if (!note || !note_len)
		return LV_ERR_INVALID;
	*note = NULL;
	*note_len = 0;
	enum lv_status st = lv_checkpoint_format(origin, size, root, &text, &len);
	if (st == LV_OK)
		st = lv_note_sign(text, len, origin, sk, note, note_len);
	free(text);
	return st;
}

/* The line starting at *pos (terminated by '\n', which the caller has
 * guaranteed ends the text) as [*line, *line + *len); *pos moves past it. */
static void take_line(const char *s, size_t n, size_t *pos, const char **line, size_t *len)
{
	const char *p = s + *pos;
	const char *nl = memchr(p, '\n', n - *pos);
	*line = p;
	*len = (size_t)(nl - p);
	*pos += *len + 1;
}

enum lv_status lv_checkpoint_parse(const char *text, size_t text_len, struct lv_checkpoint *cp)
{
	if (!cp)
		return LV_ERR_INVALID;
	memset(cp, 0, sizeof *cp);
	if (!text)
		return LV_ERR_INVALID;
	if (text_len > LV_NOTE_MAX_LEN)
		return LV_ERR_TOO_LARGE;
	if (text_len == 0 || text[text_len - 1] != '\n' || !audit_text_ok(text, text_len, true))
		return LV_ERR_INVALID;
	enum lv_status st = LV_ERR_INVALID;
	size_t pos = 0, ol, zl, rl, rootlen;
	const char *o, *z, *r;
	take_line(text, text_len, &pos, &o, &ol);
	if (ol == 0 || pos >= text_len)
		goto fail;
	if (ol > LV_CHECKPOINT_MAX_ORIGIN) {
		st = LV_ERR_TOO_LARGE;
		goto fail;
	}
	take_line(text, text_len, &pos, &z, &zl);
	if (pos >= text_len || !audit_parse_u64(z, zl, &cp->size))
		goto fail;
	take_line(text, text_len, &pos, &r, &rl);
	if (!audit_b64_decode(r, rl, cp->root, sizeof cp->root, &rootlen) || rootlen != LV_MERKLE_HASH_LEN)
		goto fail;
	/* Extension lines: opaque, but each must be non-empty. */
	for (size_t i = pos; i < text_len; i++)
		if (text[i] == '\n' && text[i - 1] == '\n')
			goto fail;
	memcpy(cp->origin, o, ol);
	cp->origin[ol] = '\0';
	return LV_OK;
fail:
	memset(cp, 0, sizeof *cp);
	return st;
}

enum lv_status lv_checkpoint_open(const char *note, size_t note_len, const char *vkey, const char *origin,
				  struct lv_checkpoint *cp)
{
	size_t tlen;
	if (!cp)
		return LV_ERR_INVALID;
	memset(cp, 0, sizeof *cp);
	enum lv_status st = lv_note_verify(note, note_len, vkey, &tlen);
	if (st != LV_OK)
		return st;
	st = lv_checkpoint_parse(note, tlen, cp);
	if (st != LV_OK)
		return st;
	if (origin && strcmp(cp->origin, origin) != 0) {
		memset(cp, 0, sizeof *cp);
		return LV_ERR_CRYPTO;
	}
	return LV_OK;
}
