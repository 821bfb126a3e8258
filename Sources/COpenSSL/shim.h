// The system's OpenSSL (libssl-dev), for TLS on sockets libcurl does not own: MLLP over
// TLS and the simulator's own HTTPS and MLLP listeners. The macros below are SSL_ctrl
// calls that Swift cannot import; each gets a function.
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

static inline int sb_ssl_ctx_set_min_tls12(SSL_CTX *ctx) { return (int)SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION); }
static inline int sb_ssl_set_sni(SSL *ssl, const char *name) { return (int)SSL_set_tlsext_host_name(ssl, name); }
static inline long sb_ssl_ctx_set_auto_retry(SSL_CTX *ctx) { return SSL_CTX_set_mode(ctx, SSL_MODE_AUTO_RETRY); }
