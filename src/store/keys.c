/* The key hierarchy: the KEK keys node.db (through a crypto_kdf subkey);
 * the node secrets (pseudonym, credential-hash and vault-wrapping keys)
 * are random and live inside node.db, so rotating the KEK re-keys one
 * file and changes no pseudonym.  Every key lives in sodium_malloc memory. */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "store.h"

static const char KDF_CONTEXT[crypto_kdf_CONTEXTBYTES] = {'l', 'v', 'n', 'o', 'd', 'e', '0', '1'};

static unsigned char *secret_alloc(void)
{
	return sodium_malloc(KEY_LEN);
}

static void secret_free(unsigned char *p)
{
	if (p) /* sodium_free wipes before releasing */
		sodium_free(p);
}

void keyring_destroy(struct keyring *kr)
{
	if (!kr)
		return;
	secret_free(kr->kek);
	secret_free(kr->node_db);
	secret_free(kr->pseudonym);
	secret_free(kr->credential);
	secret_free(kr->audit_seal);
	secret_free(kr->vault_wrap);
	sodium_free(kr);
}

enum lv_status keyring_create(const unsigned char kek[KEY_LEN], struct keyring **out)
{
	*out = NULL;
	struct keyring *kr = sodium_malloc(sizeof *kr);
	if (!kr)
		return LV_ERR_NOMEM;
	memset(kr, 0, sizeof *kr);
	unsigned char **slots[] = {&kr->kek, &kr->node_db, &kr->pseudonym, &kr->credential,
				   &kr->audit_seal, &kr->vault_wrap};
	for (size_t i = 0; i < sizeof slots / sizeof slots[0]; i++) {
		*slots[i] = secret_alloc();
		if (!*slots[i]) {
			keyring_destroy(kr);
			return LV_ERR_NOMEM;
		}
	}
	memcpy(kr->kek, kek, KEY_LEN);
	crypto_kdf_derive_from_key(kr->node_db, KEY_LEN, KEYP_NODE_DB, KDF_CONTEXT, kek);
	/* Node secrets are loaded from node.db by keyring_load_secrets(). */
	*out = kr;
	return LV_OK;
}

static enum lv_status derive_from_passphrase(const char *json_path, const struct lv_node_keysource *ks,
					     unsigned char *kek)
{
	char *text = NULL;
	cJSON *j = NULL;
	enum lv_status st;
	st = util_read_file(json_path, 65536, &text, NULL);
	if (st != LV_OK)
		return st;
	st = LV_ERR_INVALID;
	j = cJSON_Parse(text);
	const cJSON *salt = cJSON_GetObjectItemCaseSensitive(j, "salt");
	const cJSON *ops = cJSON_GetObjectItemCaseSensitive(j, "opslimit");
	const cJSON *mem = cJSON_GetObjectItemCaseSensitive(j, "memlimit");
	unsigned char saltb[crypto_pwhash_SALTBYTES];
	size_t saltlen = 0;
	if (!cJSON_IsString(salt) || !cJSON_IsNumber(ops) || !cJSON_IsNumber(mem) ||
	    sodium_hex2bin(saltb, sizeof saltb, salt->valuestring, strlen(salt->valuestring),
			   NULL, &saltlen, NULL) != 0 || saltlen != sizeof saltb)
		goto out;
	if (crypto_pwhash(kek, KEY_LEN, ks->passphrase, ks->passphrase_len, saltb,
			  (unsigned long long)ops->valuedouble, (size_t)mem->valuedouble,
			  crypto_pwhash_ALG_ARGON2ID13) != 0) {
		st = LV_ERR_NOMEM;
		goto out;
	}
	st = LV_OK;
out:
	cJSON_Delete(j);
	free(text);
	return st;
}

enum lv_status keyring_load_from(const char *key_path, const char *json_path,
				 const struct lv_node_keysource *ks, struct keyring **out)
{
	*out = NULL;
	enum lv_status st;
	unsigned char *kek = secret_alloc();
	char *raw = NULL;
	size_t len = 0;
	if (!kek)
		return LV_ERR_NOMEM;
	if (ks && ks->passphrase) {
		st = derive_from_passphrase(json_path, ks, kek);
		if (st != LV_OK)
			goto out;
	} else {
		st = util_read_file(key_path, 64, &raw, &len);
		if (st != LV_OK)
			goto out;
		if (len != KEY_LEN) {
			st = LV_ERR_CRYPTO;
			goto out;
		}
		memcpy(kek, raw, KEY_LEN);
	}
	st = keyring_create(kek, out);
out:
	if (raw) {
		sodium_memzero(raw, len);
		free(raw);
	}
	secret_free(kek);
	return st;
}

enum lv_status keyring_load(const char *dir, const struct lv_node_keysource *ks, struct keyring **out)
{
	char kp[4096], jp[4096];
	snprintf(kp, sizeof kp, "%s/node.key", dir);
	snprintf(jp, sizeof jp, "%s/node.json", dir);
	return keyring_load_from(kp, jp, ks, out);
}

static const char *const SECRET_NAMES[] = {"pseudonym_key", "credential_key", "vault_wrap_key"};

static unsigned char *secret_slot(struct keyring *kr, size_t i)
{
	return i == 0 ? kr->pseudonym : i == 1 ? kr->credential : kr->vault_wrap;
}

enum lv_status keyring_load_secrets(struct keyring *kr, sqlite3 *db)
{
	sqlite3_stmt *s = NULL;
	enum lv_status st = db_status(sqlite3_prepare_v2(db, "SELECT v FROM meta WHERE k = ?", -1, &s, NULL));
	for (size_t i = 0; st == LV_OK && i < 3; i++) {
		sqlite3_reset(s);
		sqlite3_bind_text(s, 1, SECRET_NAMES[i], -1, SQLITE_STATIC);
		int rc = sqlite3_step(s);
		if (rc != SQLITE_ROW)
			st = rc == SQLITE_DONE ? LV_ERR_NOT_FOUND : db_status(rc);
		else if (sqlite3_column_bytes(s, 0) != KEY_LEN)
			st = LV_ERR_CRYPTO;
		else
			memcpy(secret_slot(kr, i), sqlite3_column_blob(s, 0), KEY_LEN);
	}
	sqlite3_finalize(s);
	return st;
}

enum lv_status keyring_store_secrets(struct keyring *kr, sqlite3 *db, bool fresh)
{
	sqlite3_stmt *s = NULL;
	enum lv_status st = db_status(sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO meta(k, v) VALUES(?, ?)",
							 -1, &s, NULL));
	for (size_t i = 0; st == LV_OK && i < 3; i++) {
		if (fresh)
			randombytes_buf(secret_slot(kr, i), KEY_LEN);
		sqlite3_reset(s);
		sqlite3_bind_text(s, 1, SECRET_NAMES[i], -1, SQLITE_STATIC);
		sqlite3_bind_blob(s, 2, secret_slot(kr, i), KEY_LEN, SQLITE_STATIC);
		st = db_status(sqlite3_step(s));
	}
	sqlite3_finalize(s);
	return st;
}

void keyring_legacy_secrets(struct keyring *kr)
{
	crypto_kdf_derive_from_key(kr->pseudonym, KEY_LEN, KEYP_PSEUDONYM, KDF_CONTEXT, kr->kek);
	crypto_kdf_derive_from_key(kr->credential, KEY_LEN, KEYP_CREDENTIAL, KDF_CONTEXT, kr->kek);
	crypto_kdf_derive_from_key(kr->audit_seal, KEY_LEN, KEYP_AUDIT_SEAL, KDF_CONTEXT, kr->kek);
	crypto_kdf_derive_from_key(kr->vault_wrap, KEY_LEN, KEYP_VAULT_WRAP, KDF_CONTEXT, kr->kek);
}

enum lv_status key_wrap(const unsigned char *wrap_key, const unsigned char key[KEY_LEN],
			const char *ad, unsigned char out[WRAPPED_LEN])
{
	unsigned char *nonce = out;
	randombytes_buf(nonce, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
	unsigned long long clen = 0;
	if (crypto_aead_xchacha20poly1305_ietf_encrypt(out + 24, &clen, key, KEY_LEN,
						       (const unsigned char *)ad, strlen(ad), NULL,
						       nonce, wrap_key) != 0 ||
	    clen != KEY_LEN + 16)
		return LV_ERR_CRYPTO;
	return LV_OK;
}

enum lv_status key_unwrap(const unsigned char *wrap_key, const unsigned char in[WRAPPED_LEN],
			  const char *ad, unsigned char *key)
{
	unsigned long long mlen = 0;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(key, &mlen, NULL, in + 24, KEY_LEN + 16,
						       (const unsigned char *)ad, strlen(ad), in,
						       wrap_key) != 0 ||
	    mlen != KEY_LEN) {
		sodium_memzero(key, KEY_LEN);
		return LV_ERR_CRYPTO;
	}
	return LV_OK;
}

void key_pseudonym(const struct keyring *kr, const char *identity, char out[LV_PSEUDONYM_LEN])
{
	unsigned char h[16];
	crypto_generichash(h, sizeof h, (const unsigned char *)identity, strlen(identity),
			   kr->pseudonym, KEY_LEN);
	sodium_bin2hex(out, LV_PSEUDONYM_LEN, h, sizeof h);
}
