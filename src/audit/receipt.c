/* Release receipts: the node's signed word that it released an answer to
 * one analyst's question, with nothing in it that depends on the log's
 * size or the cohort (see learnvault/audit.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "audit.h"
#include "learnvault/util.h"

#define RECEIPT_HEADER "learnvault.org/release-receipt/v1"

void lv_release_answer_sha256(const char *answer, size_t len, char hex[65])
{
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, (const unsigned char *)answer, len);
	sodium_bin2hex(hex, 65, h, sizeof h);
}

/* A field value: 1..LV_RECEIPT_FIELD_MAX printable ASCII bytes, no space. */
static bool field_ok(const char *s, size_t n)
{
	if (n == 0 || n > LV_RECEIPT_FIELD_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f)
			return false;
	return true;
}

static bool digest_ok(const char *s, size_t n)
{
	if (n != 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static bool receipt_ok(const struct lv_release_receipt *r)
{
	size_t on = strnlen(r->origin, sizeof r->origin);
	return on < sizeof r->origin && audit_name_ok(r->origin, on) &&
	       field_ok(r->actor, strnlen(r->actor, sizeof r->actor)) &&
	       field_ok(r->query_id, strnlen(r->query_id, sizeof r->query_id)) &&
	       digest_ok(r->request_sha256, strnlen(r->request_sha256, sizeof r->request_sha256)) &&
	       digest_ok(r->answer_sha256, strnlen(r->answer_sha256, sizeof r->answer_sha256));
}

enum lv_status lv_release_receipt_sign(const struct lv_release_receipt *r, const unsigned char sk[LV_NOTE_SECRETKEY_LEN],
				       char **note, size_t *note_len)
{
	if (!note || !note_len)
		return LV_ERR_INVALID;
	*note = NULL;
	*note_len = 0;
	if (!r || !sk || !receipt_ok(r))
		return LV_ERR_INVALID;
	struct buf b;
	buf_init(&b, 512);
	enum lv_status st = buf_printf(&b, RECEIPT_HEADER "\n%s\nactor %s\nquery_id %s\nrequest_sha256 %s\nanswer_sha256 %s\n",
				       r->origin, r->actor, r->query_id, r->request_sha256, r->answer_sha256);
	if (st == LV_OK)
		st = lv_note_sign(b.data, b.len, r->origin, sk, note, note_len);
	buf_free(&b);
	return st;
}

/* The next line of [*pos, n) into @out (capacity @cap) after checking it
 * starts with @key (may be ""); false when it does not or is too long. */
static bool take(const char *s, size_t n, size_t *pos, const char *key, char *out, size_t cap)
{
	const char *p = s + *pos;
	const char *nl = memchr(p, '\n', n - *pos);
	if (!nl)
		return false;
	size_t len = (size_t)(nl - p), kl = strlen(key);
	*pos += len + 1;
	if (len < kl || memcmp(p, key, kl) != 0 || len - kl >= cap)
		return false;
	memcpy(out, p + kl, len - kl);
	out[len - kl] = '\0';
	return true;
}

enum lv_status lv_release_receipt_open(const char *note, size_t note_len, const char *vkey,
				       struct lv_release_receipt *out)
{
	char header[sizeof RECEIPT_HEADER];
	size_t tl = 0, pos = 0;
	if (!out)
		return LV_ERR_INVALID;
	memset(out, 0, sizeof *out);
	if (!note || !vkey)
		return LV_ERR_INVALID;
	enum lv_status st = lv_note_verify(note, note_len, vkey, &tl);
	if (st != LV_OK)
		return st;
	bool ok = take(note, tl, &pos, "", header, sizeof header) && strcmp(header, RECEIPT_HEADER) == 0 &&
		  take(note, tl, &pos, "", out->origin, sizeof out->origin) &&
		  take(note, tl, &pos, "actor ", out->actor, sizeof out->actor) &&
		  take(note, tl, &pos, "query_id ", out->query_id, sizeof out->query_id) &&
		  take(note, tl, &pos, "request_sha256 ", out->request_sha256, sizeof out->request_sha256) &&
		  take(note, tl, &pos, "answer_sha256 ", out->answer_sha256, sizeof out->answer_sha256) &&
		  pos == tl && receipt_ok(out);
	/* The origin line names the key that signed: the vkey's name. */
	size_t on = strlen(out->origin);
	ok = ok && strncmp(vkey, out->origin, on) == 0 && vkey[on] == '+';
	if (!ok) {
		memset(out, 0, sizeof *out);
		return LV_ERR_INVALID;
	}
	return LV_OK;
}
