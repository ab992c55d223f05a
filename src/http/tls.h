/* http/ internals: HTTPS credentials for libmicrohttpd.
 *
 * libmicrohttpd 0.9.75 fixes the certificate given as
 * MHD_OPTION_HTTPS_MEM_CERT/KEY when the daemon starts.  Through
 * MHD_OPTION_HTTPS_CERT_CALLBACK it asks instead, at every handshake,
 * which certificate to present: tls_retrieve answers with the current
 * pair, which tls_install replaces at a reload.  The callback gets no
 * user pointer, so the pair is the process's: one TLS server at a time.
 * A replaced pair stays allocated until tls_release, because a handshake
 * that began before the reload may still hold it (a few KiB per reload). */
#ifndef LV_HTTP_TLS_H
#define LV_HTTP_TLS_H

#include <stddef.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>

#include "learnvault/status.h"

struct tls_pair;

/* Parses a PEM certificate chain (leaf first, at most 8) and a PEM
 * private key, checks that the key is the leaf's.  Borrows the PEM for
 * the call.  On success *@out owns the pair (tls_install or
 * tls_pair_free); on failure *@out is NULL and LV_ERR_INVALID says the
 * PEM or the match was wrong. */
enum lv_status tls_pair_load(const char *cert, size_t cert_len, const char *key, size_t key_len,
			     struct tls_pair **out) __attribute__((warn_unused_result));
void tls_pair_free(struct tls_pair *p);

/* Makes @p (owned from now on) the pair presented.  @first: a server is
 * starting, refused with LV_ERR_IN_USE (and @p freed) while another TLS
 * server of this process runs; otherwise a reload of the running one. */
enum lv_status tls_install(struct tls_pair *p, bool first) __attribute__((warn_unused_result));
/* Frees every pair (after MHD_stop_daemon: no handshake is left). */
void tls_release(void);

/* MHD_OPTION_HTTPS_CERT_CALLBACK's function. */
int tls_retrieve(gnutls_session_t session, const gnutls_datum_t *req_ca_dn, int nreqs,
		 const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length, gnutls_pcert_st **pcert,
		 unsigned int *pcert_length, gnutls_privkey_t *pkey);

#endif
