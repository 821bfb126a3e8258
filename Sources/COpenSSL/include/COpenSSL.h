// The system's OpenSSL (libssl3), for TLS on sockets libcurl does not own (MLLP over TLS,
// the simulator's HTTPS and MLLP listeners) and the audit walk's SHA-256. Loaded with
// dlopen the first time one is used rather than linked: libssl and libcrypto cost every
// start of every program ~0.8 ms in the dynamic loader (binding thousands of symbols),
// though the console's first frame and most commands use neither.
// The headers give the types and constants; each function used goes through an `sb_`
// wrapper calling the loaded one. SSL_CTX_set_min_proto_version and the like are SSL_ctrl
// macros that Swift cannot import; each gets a function.
#ifndef SWITCHBOARD_COPENSSL_H
#define SWITCHBOARD_COPENSSL_H
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stddef.h>

/* Loads libssl.so.3 and libcrypto.so.3 once (thread-safe); 0 when every function was
   found, else -1 and `sb_openssl_error` says what is missing. Every other function here
   may be called only after a 0. */
int sb_openssl_load(void);
const char *sb_openssl_error(void);

SSL_CTX *sb_SSL_CTX_new(const SSL_METHOD *method);
void sb_SSL_CTX_free(SSL_CTX *ctx);
const SSL_METHOD *sb_TLS_client_method(void);
const SSL_METHOD *sb_TLS_server_method(void);
int sb_SSL_CTX_use_certificate_chain_file(SSL_CTX *ctx, const char *file);
int sb_SSL_CTX_use_PrivateKey_file(SSL_CTX *ctx, const char *file, int type);
int sb_SSL_CTX_check_private_key(const SSL_CTX *ctx);
void sb_SSL_CTX_set_verify(SSL_CTX *ctx, int mode, SSL_verify_cb callback);
int sb_SSL_CTX_load_verify_locations(SSL_CTX *ctx, const char *file, const char *path);
int sb_SSL_CTX_set_default_verify_paths(SSL_CTX *ctx);
X509_VERIFY_PARAM *sb_SSL_CTX_get0_param(SSL_CTX *ctx);
int sb_ssl_ctx_set_min_tls12(SSL_CTX *ctx);
long sb_ssl_ctx_set_auto_retry(SSL_CTX *ctx);

SSL *sb_SSL_new(SSL_CTX *ctx);
void sb_SSL_free(SSL *ssl);
int sb_SSL_set_fd(SSL *ssl, int fd);
int sb_ssl_set_sni(SSL *ssl, const char *name);
X509_VERIFY_PARAM *sb_SSL_get0_param(SSL *ssl);
int sb_SSL_connect(SSL *ssl);
int sb_SSL_accept(SSL *ssl);
long sb_SSL_get_verify_result(const SSL *ssl);
const char *sb_SSL_get_version(const SSL *ssl);
int sb_SSL_pending(const SSL *ssl);
int sb_SSL_read(SSL *ssl, void *buffer, int count);
int sb_SSL_write(SSL *ssl, const void *buffer, int count);
int sb_SSL_get_error(const SSL *ssl, int result);
int sb_SSL_shutdown(SSL *ssl);

int sb_X509_VERIFY_PARAM_set_flags(X509_VERIFY_PARAM *param, unsigned long flags);
int sb_X509_VERIFY_PARAM_set1_host(X509_VERIFY_PARAM *param, const char *name, size_t length);
int sb_X509_VERIFY_PARAM_set1_ip_asc(X509_VERIFY_PARAM *param, const char *address);
const char *sb_X509_verify_cert_error_string(long code);

void sb_ERR_clear_error(void);
unsigned long sb_ERR_get_error(void);
void sb_ERR_error_string_n(unsigned long code, char *buffer, size_t length);

/* SHA-256 of one buffer, for the audit chain walk: the code `openssl dgst` runs, with the
   context on the stack. (OpenSSL 3's one-shot SHA256() fetches the algorithm under a lock
   and allocates on every call; swift-crypto's wrapper sets up a context object per row.) */
void sb_sha256(const unsigned char *bytes, size_t count, unsigned char *digest);
#endif
