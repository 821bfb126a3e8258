// The system's OpenSSL (libssl-dev), for TLS on sockets libcurl does not own: MLLP over
// TLS and the simulator's own HTTPS and MLLP listeners; and the audit walk's SHA-256. The macros below are SSL_ctrl
// calls that Swift cannot import; each gets a function.
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <openssl/sha.h>

static inline int sb_ssl_ctx_set_min_tls12(SSL_CTX *ctx) { return (int)SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION); }
static inline int sb_ssl_set_sni(SSL *ssl, const char *name) { return (int)SSL_set_tlsext_host_name(ssl, name); }
static inline long sb_ssl_ctx_set_auto_retry(SSL_CTX *ctx) { return SSL_CTX_set_mode(ctx, SSL_MODE_AUTO_RETRY); }

// SHA-256 of one buffer, for the audit chain walk: the code `openssl dgst` runs, with the
// context on the stack. (OpenSSL 3's one-shot SHA256() fetches the algorithm under a lock
// and allocates on every call; swift-crypto's wrapper sets up a context object per row.)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wdeprecated-declarations"
static inline void sb_sha256(const unsigned char *bytes, size_t count, unsigned char *digest) {
    SHA256_CTX context;
    SHA256_Init(&context);
    SHA256_Update(&context, bytes, count);
    SHA256_Final(digest, &context);
}
#pragma clang diagnostic pop
