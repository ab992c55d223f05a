/* HTTPS credentials (tls.h): the current certificate and key, swapped
 * under a mutex at a reload, presented at each handshake. */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "tls.h"

#define TLS_MAX_CHAIN 8

struct tls_pair {
	gnutls_pcert_st chain[TLS_MAX_CHAIN];
	unsigned nchain;
	gnutls_privkey_t key;
	struct tls_pair *older; /* replaced pairs, kept until tls_release */
};

static pthread_mutex_t tls_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tls_pair *tls_current; /* NULL: no TLS server running */

void tls_pair_free(struct tls_pair *p)
{
	while (p) {
		struct tls_pair *next = p->older;
		for (unsigned i = 0; i < p->nchain; i++)
			gnutls_pcert_deinit(&p->chain[i]);
		if (p->key)
			gnutls_privkey_deinit(p->key);
		free(p);
		p = next;
	}
}

/* The public key of @key equals the leaf's (exported as DER, compared). */
static bool key_matches(gnutls_privkey_t key, gnutls_pcert_st *leaf)
{
	gnutls_pubkey_t pub = NULL;
	gnutls_datum_t a = {NULL, 0}, b = {NULL, 0};
	bool ok = gnutls_pubkey_init(&pub) == 0 && gnutls_pubkey_import_privkey(pub, key, 0, 0) == 0 &&
		  gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_DER, &a) == 0 &&
		  gnutls_pubkey_export2(leaf->pubkey, GNUTLS_X509_FMT_DER, &b) == 0 && a.size == b.size &&
		  memcmp(a.data, b.data, a.size) == 0;
	gnutls_free(a.data);
	gnutls_free(b.data);
	if (pub)
		gnutls_pubkey_deinit(pub);
	return ok;
}

enum lv_status tls_pair_load(const char *cert, size_t cert_len, const char *key, size_t key_len,
			     struct tls_pair **out)
{
	*out = NULL;
	if (!cert || !key || cert_len > UINT32_MAX || key_len > UINT32_MAX)
		return LV_ERR_INVALID;
	struct tls_pair *p = calloc(1, sizeof *p);
	if (!p)
		return LV_ERR_NOMEM;
	enum lv_status st = LV_ERR_INVALID;
	/* GnuTLS takes datum pointers as unsigned char *, reading only. */
	gnutls_datum_t c = {(unsigned char *)(uintptr_t)cert, (unsigned)cert_len};
	gnutls_datum_t k = {(unsigned char *)(uintptr_t)key, (unsigned)key_len};
	unsigned n = TLS_MAX_CHAIN;
	if (gnutls_pcert_list_import_x509_raw(p->chain, &n, &c, GNUTLS_X509_FMT_PEM,
					      GNUTLS_X509_CRT_LIST_FAIL_IF_UNSORTED) < 0 || n == 0)
		goto out;
	p->nchain = n;
	if (gnutls_privkey_init(&p->key) < 0) {
		st = LV_ERR_NOMEM;
		goto out;
	}
	if (gnutls_privkey_import_x509_raw(p->key, &k, GNUTLS_X509_FMT_PEM, NULL, 0) < 0 ||
	    !key_matches(p->key, &p->chain[0]))
		goto out;
	*out = p;
	return LV_OK;
out:
	tls_pair_free(p);
	return st;
}

enum lv_status tls_install(struct tls_pair *p, bool first)
{
	pthread_mutex_lock(&tls_lock);
	if (first == (tls_current != NULL)) {
		pthread_mutex_unlock(&tls_lock);
		tls_pair_free(p);
		return first ? LV_ERR_IN_USE : LV_ERR_UNSUPPORTED;
	}
	p->older = tls_current;
	tls_current = p;
	pthread_mutex_unlock(&tls_lock);
	return LV_OK;
}

void tls_release(void)
{
	pthread_mutex_lock(&tls_lock);
	struct tls_pair *p = tls_current;
	tls_current = NULL;
	pthread_mutex_unlock(&tls_lock);
	tls_pair_free(p);
}

int tls_retrieve(gnutls_session_t session, const gnutls_datum_t *req_ca_dn, int nreqs,
		 const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length, gnutls_pcert_st **pcert,
		 unsigned int *pcert_length, gnutls_privkey_t *pkey)
{
	(void)session; (void)req_ca_dn; (void)nreqs; (void)pk_algos; (void)pk_algos_length;
	pthread_mutex_lock(&tls_lock);
	struct tls_pair *p = tls_current;
	pthread_mutex_unlock(&tls_lock);
	if (!p)
		return -1; /* no certificate: the handshake fails */
	/* GnuTLS borrows these (retrieve_function2 does not free them). */
	*pcert = p->chain;
	*pcert_length = p->nchain;
	*pkey = p->key;
	return 0;
}
