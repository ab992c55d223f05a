/* c2sp.org/signed-note with Ed25519 keys, and the text rules shared by the
 * checkpoint and receipt parsers. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "audit.h"
#include "learnvault/util.h"

#define EM_DASH_SP "\xe2\x80\x94 " /* U+2014 and a space opening a signature line */
#define EM_DASH_SP_LEN 4
#define SIG_TYPE_ED25519 0x01
#define ED25519_SIG_LEN crypto_sign_BYTES

/* Decodes the code point at s[0..n) into *cp; returns its length in bytes,
 * or 0 when the bytes are not valid UTF-8 (overlong forms, surrogates and
 * code points above U+10FFFF included). */
static size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
	unsigned char c = s[0];
	size_t len;
	uint32_t min;
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if ((c & 0xE0) == 0xC0) {
		len = 2;
		*cp = c & 0x1F;
		min = 0x80;
	} else if ((c & 0xF0) == 0xE0) {
		len = 3;
		*cp = c & 0x0F;
		min = 0x800;
	} else if ((c & 0xF8) == 0xF0) {
		len = 4;
		*cp = c & 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		*cp = (*cp << 6) | (s[i] & 0x3F);
	}
	if (*cp < min || *cp > 0x10FFFF || (*cp >= 0xD800 && *cp <= 0xDFFF))
		return 0;
	return len;
}

/* Unicode White_Space (what Go's unicode.IsSpace accepts, which is what
 * the reference note implementation forbids in key names). */
static bool unicode_space(uint32_t c)
{
	return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
	       (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
	       c == 0x205F || c == 0x3000;
}

bool audit_text_ok(const char *s, size_t n, bool allow_newline)
{
	const unsigned char *u = (const unsigned char *)s;
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t l = utf8_next(u + i, n - i, &cp);
		if (!l)
			return false;
		if (cp < 0x20 && !(allow_newline && cp == '\n'))
			return false;
		i += l;
	}
	return true;
}

bool audit_name_ok(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	if (n == 0)
		return false;
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t l = utf8_next(u + i, n - i, &cp);
		if (!l || cp < 0x20 || cp == '+' || unicode_space(cp))
			return false;
		i += l;
	}
	return true;
}

bool audit_b64_decode(const char *s, size_t n, unsigned char *out, size_t cap, size_t *len)
{
	*len = 0;
	if (n == 0)
		return true;
	/* b64_end NULL: libsodium then fails unless all n bytes are consumed;
	 * the original variant requires the padding. */
	return sodium_base642bin(out, cap, s, n, NULL, len, NULL, sodium_base64_VARIANT_ORIGINAL) == 0;
}

bool audit_parse_u64(const char *s, size_t n, uint64_t *v)
{
	uint64_t x = 0;
	*v = 0;
	if (n == 0 || n > 20 || (n > 1 && s[0] == '0'))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		unsigned d = (unsigned)(s[i] - '0');
		if (x > (UINT64_MAX - d) / 10)
			return false;
		x = x * 10 + d;
	}
	*v = x;
	return true;
}

static uint32_t key_id_raw(const char *name, size_t name_len, const unsigned char pk[LV_NOTE_PUBLICKEY_LEN])
{
	static const unsigned char sep[2] = {'\n', SIG_TYPE_ED25519};
	unsigned char d[crypto_hash_sha256_BYTES];
	crypto_hash_sha256_state st;
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const unsigned char *)name, name_len);
	crypto_hash_sha256_update(&st, sep, sizeof sep);
	crypto_hash_sha256_update(&st, pk, LV_NOTE_PUBLICKEY_LEN);
	crypto_hash_sha256_final(&st, d);
	return (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
}

/* Length of @name when it is a valid key name we may sign with or trust,
 * else 0. */
static size_t name_len_ok(const char *name)
{
	if (!name)
		return 0;
	size_t n = strnlen(name, LV_NOTE_MAX_NAME + 1);
	if (n > LV_NOTE_MAX_NAME || !audit_name_ok(name, n))
		return 0;
	return n;
}

enum lv_status lv_note_key_id(const char *name, const unsigned char pk[LV_NOTE_PUBLICKEY_LEN], uint32_t *id)
{
	if (!id)
		return LV_ERR_INVALID;
	*id = 0;
	size_t n = name_len_ok(name);
	if (!n || !pk)
		return LV_ERR_INVALID;
	*id = key_id_raw(name, n, pk);
	return LV_OK;
}

enum lv_status lv_note_vkey(const char *name, const unsigned char pk[LV_NOTE_PUBLICKEY_LEN], char **vkey)
{
	if (!vkey)
		return LV_ERR_INVALID;
	*vkey = NULL;
	size_t n = name_len_ok(name);
	if (!n || !pk)
		return LV_ERR_INVALID;
	unsigned char blob[1 + LV_NOTE_PUBLICKEY_LEN];
	char b64[sodium_base64_ENCODED_LEN(sizeof blob, sodium_base64_VARIANT_ORIGINAL)];
	blob[0] = SIG_TYPE_ED25519;
	memcpy(blob + 1, pk, LV_NOTE_PUBLICKEY_LEN);
	sodium_bin2base64(b64, sizeof b64, blob, sizeof blob, sodium_base64_VARIANT_ORIGINAL);
	struct buf b;
	buf_init(&b, LV_NOTE_MAX_VKEY);
	enum lv_status st = buf_printf(&b, "%s+%08x+%s", name, (unsigned)key_id_raw(name, n, pk), b64);
	if (st != LV_OK) {
		buf_free(&b);
		return st;
	}
	*vkey = buf_steal(&b);
	return LV_OK;
}

/* A parsed Ed25519 verifier key; name points into the vkey text. */
struct vkey {
	const char *name;
	size_t name_len;
	uint32_t id;
	unsigned char pk[LV_NOTE_PUBLICKEY_LEN];
};

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static enum lv_status vkey_parse(const char *text, struct vkey *v)
{
	memset(v, 0, sizeof *v);
	size_t n = strnlen(text, LV_NOTE_MAX_VKEY + 1);
	if (n > LV_NOTE_MAX_VKEY)
		return LV_ERR_TOO_LARGE;
	/* name '+' hex '+' base64: the name has no '+', base64 may. */
	const char *p1 = memchr(text, '+', n);
	if (!p1)
		return LV_ERR_INVALID;
	const char *hex = p1 + 1;
	const char *p2 = memchr(hex, '+', n - (size_t)(hex - text));
	if (!p2 || p2 - hex != 8)
		return LV_ERR_INVALID;
	v->name = text;
	v->name_len = (size_t)(p1 - text);
	if (v->name_len > LV_NOTE_MAX_NAME || !audit_name_ok(v->name, v->name_len))
		return LV_ERR_INVALID;
	uint32_t id = 0;
	for (int i = 0; i < 8; i++) {
		int x = hexval(hex[i]);
		if (x < 0)
			return LV_ERR_INVALID;
		id = id << 4 | (uint32_t)x;
	}
	const char *b64 = p2 + 1;
	unsigned char key[64];
	size_t klen;
	if (!audit_b64_decode(b64, n - (size_t)(b64 - text), key, sizeof key, &klen) || klen == 0)
		return LV_ERR_INVALID;
	if (key[0] != SIG_TYPE_ED25519)
		return LV_ERR_UNSUPPORTED;
	if (klen != 1 + LV_NOTE_PUBLICKEY_LEN)
		return LV_ERR_INVALID;
	memcpy(v->pk, key + 1, LV_NOTE_PUBLICKEY_LEN);
	/* The ID is derived, not chosen: a vkey whose ID does not match its
	 * name and key is corrupt. */
	if (key_id_raw(v->name, v->name_len, v->pk) != id)
		return LV_ERR_INVALID;
	v->id = id;
	return LV_OK;
}

/* Where the signed text ends: *@tlen is its length (through the newline
 * before the last blank line), *@sigs the offset of the first signature
 * line.  Signature lines never contain a blank line. */
static enum lv_status note_split(const char *note, size_t note_len, size_t *tlen, size_t *sigs)
{
	size_t split = note_len;
	for (size_t i = note_len; i-- > 1;) {
		if (note[i] == '\n' && note[i - 1] == '\n') {
			split = i - 1;
			break;
		}
	}
	if (split == note_len)
		return LV_ERR_INVALID;
	*tlen = split + 1;
	*sigs = split + 2;
	if (*sigs >= note_len || note[note_len - 1] != '\n')
		return LV_ERR_INVALID;
	return LV_OK;
}

/* One signature line (@line up to its newline @nl), decoded into @sig
 * (@cap bytes); *@good counts it when it is @v's and verifies over the
 * first @tlen bytes of @note.  Another key's line is only checked for
 * form, as the spec requires. */
static enum lv_status note_check_line(const char *note, size_t tlen, const char *line, const char *nl,
				      const struct vkey *v, unsigned char *sig, size_t cap, unsigned *good)
{
	size_t ll = (size_t)(nl - line);
	if (ll < EM_DASH_SP_LEN || memcmp(line, EM_DASH_SP, EM_DASH_SP_LEN) != 0)
		return LV_ERR_INVALID;
	const char *name = line + EM_DASH_SP_LEN;
	const char *sp = memchr(name, ' ', (size_t)(nl - name));
	if (!sp)
		return LV_ERR_INVALID;
	size_t nlen = (size_t)(sp - name);
	size_t slen;
	if (!audit_name_ok(name, nlen) || sp + 1 == nl ||
	    !audit_b64_decode(sp + 1, (size_t)(nl - sp - 1), sig, cap, &slen) || slen < 5)
		return LV_ERR_INVALID;
	uint32_t id = (uint32_t)sig[0] << 24 | (uint32_t)sig[1] << 16 | (uint32_t)sig[2] << 8 | sig[3];
	if (nlen != v->name_len || memcmp(name, v->name, nlen) != 0 || id != v->id)
		return LV_OK; /* another key: ignored */
	if (slen != 4 + ED25519_SIG_LEN ||
	    crypto_sign_verify_detached(sig + 4, (const unsigned char *)note, tlen, v->pk) != 0)
		return LV_ERR_CRYPTO;
	(*good)++;
	return LV_OK;
}

enum lv_status lv_note_verify(const char *note, size_t note_len, const char *vkey, size_t *text_len)
{
	enum lv_status st;
	unsigned char *sig = NULL;
	struct vkey v;
	if (!text_len)
		return LV_ERR_INVALID;
	*text_len = 0;
	if (!note || !vkey)
		return LV_ERR_INVALID;
	if (note_len > LV_NOTE_MAX_LEN)
		return LV_ERR_TOO_LARGE;
	st = vkey_parse(vkey, &v);
	if (st != LV_OK)
		return st;
	if (!audit_text_ok(note, note_len, true))
		return LV_ERR_INVALID;
	size_t tlen, pos;
	st = note_split(note, note_len, &tlen, &pos);
	if (st != LV_OK)
		return st;
	/* Scratch for decoding any signature (unknown ones are decoded too,
	 * to reject malformed base64). */
	size_t cap = (note_len - pos) / 4 * 3 + 3;
	sig = malloc(cap);
	if (!sig)
		return LV_ERR_NOMEM;
	unsigned nsigs = 0, good = 0;
	while (pos < note_len) {
		const char *line = note + pos;
		const char *nl = memchr(line, '\n', note_len - pos);
		pos += (size_t)(nl - line) + 1;
		if (++nsigs > LV_NOTE_MAX_SIGS) {
			st = LV_ERR_TOO_LARGE;
			goto out;
		}
		st = note_check_line(note, tlen, line, nl, &v, sig, cap, &good);
		if (st != LV_OK)
			goto out;
	}
	if (!good) {
		st = LV_ERR_NOT_FOUND;
		goto out;
	}
	*text_len = tlen;
	st = LV_OK;
out:
	free(sig);
	return st;
}

enum lv_status lv_note_sign(const char *text, size_t text_len, const char *name,
			    const unsigned char sk[LV_NOTE_SECRETKEY_LEN], char **note, size_t *note_len)
{
	enum lv_status st;
	if (!note || !note_len)
		return LV_ERR_INVALID;
	*note = NULL;
	*note_len = 0;
	size_t nlen = name_len_ok(name);
	if (!text || !sk || !nlen)
		return LV_ERR_INVALID;
	if (text_len > LV_NOTE_MAX_LEN)
		return LV_ERR_TOO_LARGE;
	if (text_len == 0 || text[text_len - 1] != '\n' || !audit_text_ok(text, text_len, true))
		return LV_ERR_INVALID;

	/* The public half of a libsodium secret key is its last 32 bytes;
	 * only that is extracted (the key ID needs it), the seed stays put. */
	unsigned char pk[LV_NOTE_PUBLICKEY_LEN];
	unsigned char blob[4 + ED25519_SIG_LEN];
	char b64[sodium_base64_ENCODED_LEN(sizeof blob, sodium_base64_VARIANT_ORIGINAL)];
	crypto_sign_ed25519_sk_to_pk(pk, sk);
	uint32_t id = key_id_raw(name, nlen, pk);
	blob[0] = (unsigned char)(id >> 24);
	blob[1] = (unsigned char)(id >> 16);
	blob[2] = (unsigned char)(id >> 8);
	blob[3] = (unsigned char)id;
	if (crypto_sign_detached(blob + 4, NULL, (const unsigned char *)text, text_len, sk) != 0)
		return LV_ERR_CRYPTO;
	sodium_bin2base64(b64, sizeof b64, blob, sizeof blob, sodium_base64_VARIANT_ORIGINAL);

	struct buf b;
	buf_init(&b, LV_NOTE_MAX_LEN);
	st = buf_append(&b, text, text_len);
	if (st == LV_OK)
		st = buf_append(&b, "\n" EM_DASH_SP, 1 + EM_DASH_SP_LEN);
	if (st == LV_OK)
		st = buf_append(&b, name, nlen);
	if (st == LV_OK)
		st = buf_printf(&b, " %s\n", b64);
	if (st != LV_OK) {
		buf_free(&b);
		return st;
	}
	*note_len = b.len;
	*note = buf_steal(&b);
	return LV_OK;
}
