#ifndef LIVERELAY_COPENSSL_SHIM_H
#define LIVERELAY_COPENSSL_SHIM_H
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/opensslv.h>

// DTLSv1_get_timeout / DTLSv1_handle_timeout / DTLS_set_link_mtu are macros over SSL_ctrl.
static inline long lr_dtls_get_timeout(SSL *ssl, struct timeval *tv) { return DTLSv1_get_timeout(ssl, tv); }
static inline long lr_dtls_handle_timeout(SSL *ssl) { return DTLSv1_handle_timeout(ssl); }
static inline long lr_dtls_set_link_mtu(SSL *ssl, long mtu) { return DTLS_set_link_mtu(ssl, mtu); }
#endif
