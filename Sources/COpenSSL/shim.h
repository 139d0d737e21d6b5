#ifndef LIVERELAY_COPENSSL_SHIM_H
#define LIVERELAY_COPENSSL_SHIM_H
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/rand.h>
#include <openssl/opensslv.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <string.h>

// DTLSv1_get_timeout / DTLSv1_handle_timeout / DTLS_set_link_mtu are macros over SSL_ctrl.
static inline long lr_dtls_get_timeout(SSL *ssl, struct timeval *tv) { return DTLSv1_get_timeout(ssl, tv); }
static inline long lr_dtls_handle_timeout(SSL *ssl) { return DTLSv1_handle_timeout(ssl); }
static inline long lr_dtls_set_link_mtu(SSL *ssl, long mtu) { return DTLS_set_link_mtu(ssl, mtu); }

// SSL_set_mtu, SSL_CTX_set_min_proto_version, SSL_CTX_set1_groups_list and BIO_set_mem_eof_return are macros
// over SSL_ctrl / SSL_CTX_ctrl / BIO_ctrl.
static inline long lr_ssl_set_mtu(SSL *ssl, long mtu) { return SSL_set_mtu(ssl, mtu); }
static inline int lr_ssl_ctx_set_min_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_min_proto_version(ctx, version);
}
static inline int lr_ssl_ctx_set1_groups_list(SSL_CTX *ctx, const char *list) {
    return (int)SSL_CTX_set1_groups_list(ctx, list);
}
static inline long lr_bio_set_mem_eof_return(BIO *bio, int value) { return BIO_set_mem_eof_return(bio, value); }

// SSL_CTX_set_mode is a macro over SSL_CTX_ctrl. SSL_MODE_RELEASE_BUFFERS frees a connection's ~17 KB read and
// write buffers while it is idle: after the handshake a viewer's DTLS carries nothing but a final alert.
static inline long lr_ssl_ctx_set_release_buffers(SSL_CTX *ctx) { return SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS); }
// SSL_set_max_send_fragment is a macro over SSL_ctrl. OpenSSL sizes a connection's write buffer by it (16 KB by
// default) and, for DTLS over UDP, keeps that buffer for the association's life.
static inline long lr_ssl_set_max_send_fragment(SSL *ssl, long length) { return SSL_set_max_send_fragment(ssl, length); }

// SSL_OP_* are built with a cast macro (SSL_OP_BIT) that Swift does not import.
static inline uint64_t lr_ssl_op_no_query_mtu(void) { return SSL_OP_NO_QUERY_MTU; }
static inline uint64_t lr_ssl_op_no_renegotiation(void) { return SSL_OP_NO_RENEGOTIATION; }
static inline uint64_t lr_ssl_op_no_ticket(void) { return SSL_OP_NO_TICKET; }

// MBSTRING_ASC is an expression macro; X509 name entries are added with it.
static inline int lr_mbstring_asc(void) { return MBSTRING_ASC; }

// EVP_PKEY_Q_keygen is variadic (the curve name is a vararg for "EC").
static inline EVP_PKEY *lr_evp_pkey_generate_p256(void) { return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"); }

// AES-GCM sealing in place, for the RTP packets the egress forwards: the IV set, the header as associated data, the
// payload encrypted, the 16-byte tag written after it. `EVP_Cipher` skips `EVP_EncryptUpdate`'s checks and the tag
// is read through a parameter built here rather than `EVP_CIPHER_CTX_ctrl` (which builds one per call and goes
// through the legacy control's translation): about 95 ns less per 1,200-byte packet on OpenSSL 3.0 (568 → 473 ns).
// Returns 1 on success.
static inline int lr_aes_gcm_seal(EVP_CIPHER_CTX *ctx, const unsigned char *iv, const unsigned char *aad, int aadLength,
                                  unsigned char *data, int length) {
    if (EVP_EncryptInit_ex(ctx, NULL, NULL, NULL, iv) != 1) return 0;
    if (EVP_Cipher(ctx, NULL, aad, (unsigned int)aadLength) < 0) return 0;
    if (length > 0 && EVP_Cipher(ctx, data, data, (unsigned int)length) < 0) return 0;
    if (EVP_Cipher(ctx, NULL, NULL, 0) < 0) return 0;
    OSSL_PARAM params[2] = {OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, data + length, 16),
                            OSSL_PARAM_construct_end()};
    return EVP_CIPHER_CTX_get_params(ctx, params);
}

// DTLS HelloVerifyRequest cookies (RFC 6347 §4.2.1) for DTLSv1_listen. OpenSSL asks for and checks a cookie through
// C callbacks on the context; they find the peer's address and the server's secret in the SSL object's app data
// (SSL_set_app_data is a macro over SSL_set_ex_data). The cookie is HMAC-SHA256(secret, peer address), cut to 20
// bytes: a client that echoes it has shown it receives at that address, and the server kept nothing to learn that.
typedef struct {
    unsigned char secret[32];
    unsigned char peer[128];
    size_t peer_length;
} lr_dtls_cookie_input;

static inline int lr_dtls_cookie_compute(SSL *ssl, unsigned char *cookie, size_t *length) {
    const lr_dtls_cookie_input *input = (const lr_dtls_cookie_input *)SSL_get_ex_data(ssl, 0);
    if (input == NULL || input->peer_length == 0 || input->peer_length > sizeof(input->peer)) return 0;
    unsigned char mac[EVP_MAX_MD_SIZE];
    size_t mac_length = 0;
    if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, input->secret, sizeof(input->secret), input->peer,
                  input->peer_length, mac, sizeof(mac), &mac_length) == NULL || mac_length < 20) return 0;
    memcpy(cookie, mac, 20);
    *length = 20;
    return 1;
}
static int lr_dtls_cookie_generate(SSL *ssl, unsigned char *cookie, unsigned int *cookie_length) {
    size_t length = 0;
    if (!lr_dtls_cookie_compute(ssl, cookie, &length)) return 0;
    *cookie_length = (unsigned int)length;
    return 1;
}
static int lr_dtls_cookie_verify(SSL *ssl, const unsigned char *cookie, unsigned int cookie_length) {
    unsigned char expected[20];
    size_t length = 0;
    if (!lr_dtls_cookie_compute(ssl, expected, &length) || cookie_length != length) return 0;
    return CRYPTO_memcmp(expected, cookie, length) == 0;
}
static inline void lr_ssl_ctx_enable_cookies(SSL_CTX *ctx) {
    SSL_CTX_set_cookie_generate_cb(ctx, lr_dtls_cookie_generate);
    SSL_CTX_set_cookie_verify_cb(ctx, lr_dtls_cookie_verify);
}
static inline int lr_ssl_set_cookie_input(SSL *ssl, lr_dtls_cookie_input *input) { return SSL_set_ex_data(ssl, 0, input); }
#endif
