// See COpenSSL.h: OpenSSL loaded on first use, each function through its pointer.
#include "COpenSSL.h"
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <openssl/sha.h>

#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wdeprecated-declarations"
static struct {
    __typeof__(&SSL_CTX_new) SSL_CTX_new;
    __typeof__(&SSL_CTX_free) SSL_CTX_free;
    __typeof__(&TLS_client_method) TLS_client_method;
    __typeof__(&TLS_server_method) TLS_server_method;
    __typeof__(&SSL_CTX_use_certificate_chain_file) SSL_CTX_use_certificate_chain_file;
    __typeof__(&SSL_CTX_use_PrivateKey_file) SSL_CTX_use_PrivateKey_file;
    __typeof__(&SSL_CTX_check_private_key) SSL_CTX_check_private_key;
    __typeof__(&SSL_CTX_set_verify) SSL_CTX_set_verify;
    __typeof__(&SSL_CTX_load_verify_locations) SSL_CTX_load_verify_locations;
    __typeof__(&SSL_CTX_set_default_verify_paths) SSL_CTX_set_default_verify_paths;
    __typeof__(&SSL_CTX_get0_param) SSL_CTX_get0_param;
    __typeof__(&SSL_CTX_ctrl) SSL_CTX_ctrl;
    __typeof__(&SSL_new) SSL_new;
    __typeof__(&SSL_free) SSL_free;
    __typeof__(&SSL_set_fd) SSL_set_fd;
    __typeof__(&SSL_ctrl) SSL_ctrl;
    __typeof__(&SSL_get0_param) SSL_get0_param;
    __typeof__(&SSL_connect) SSL_connect;
    __typeof__(&SSL_accept) SSL_accept;
    __typeof__(&SSL_get_verify_result) SSL_get_verify_result;
    __typeof__(&SSL_get_version) SSL_get_version;
    __typeof__(&SSL_pending) SSL_pending;
    __typeof__(&SSL_read) SSL_read;
    __typeof__(&SSL_write) SSL_write;
    __typeof__(&SSL_get_error) SSL_get_error;
    __typeof__(&SSL_shutdown) SSL_shutdown;
    __typeof__(&X509_VERIFY_PARAM_set_flags) X509_VERIFY_PARAM_set_flags;
    __typeof__(&X509_VERIFY_PARAM_set1_host) X509_VERIFY_PARAM_set1_host;
    __typeof__(&X509_VERIFY_PARAM_set1_ip_asc) X509_VERIFY_PARAM_set1_ip_asc;
    __typeof__(&X509_verify_cert_error_string) X509_verify_cert_error_string;
    __typeof__(&ERR_clear_error) ERR_clear_error;
    __typeof__(&ERR_get_error) ERR_get_error;
    __typeof__(&ERR_error_string_n) ERR_error_string_n;
    __typeof__(&SHA256_Init) SHA256_Init;
    __typeof__(&SHA256_Update) SHA256_Update;
    __typeof__(&SHA256_Final) SHA256_Final;
} api;
#pragma clang diagnostic pop

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int status = -1;
static char error[256] = "not loaded";

static void load(void) {
    // libcrypto first: libssl needs it, and the walk's SHA-256 is in it.
    void *crypto = dlopen("libcrypto.so.3", RTLD_NOW | RTLD_LOCAL);
    void *ssl = crypto ? dlopen("libssl.so.3", RTLD_NOW | RTLD_LOCAL) : NULL;
    if (!crypto || !ssl) {
        const char *why = dlerror();
        snprintf(error, sizeof error, "%s", why ? why : "dlopen failed");
        return;
    }
#define SB_LOAD(lib, name) \
    if (!(*(void **)&api.name = dlsym(lib, #name))) { snprintf(error, sizeof error, "%s is missing from OpenSSL", #name); return; }
    SB_LOAD(ssl, SSL_CTX_new) SB_LOAD(ssl, SSL_CTX_free) SB_LOAD(ssl, TLS_client_method) SB_LOAD(ssl, TLS_server_method)
    SB_LOAD(ssl, SSL_CTX_use_certificate_chain_file) SB_LOAD(ssl, SSL_CTX_use_PrivateKey_file) SB_LOAD(ssl, SSL_CTX_check_private_key)
    SB_LOAD(ssl, SSL_CTX_set_verify) SB_LOAD(ssl, SSL_CTX_load_verify_locations) SB_LOAD(ssl, SSL_CTX_set_default_verify_paths)
    SB_LOAD(ssl, SSL_CTX_get0_param) SB_LOAD(ssl, SSL_CTX_ctrl) SB_LOAD(ssl, SSL_new) SB_LOAD(ssl, SSL_free) SB_LOAD(ssl, SSL_set_fd)
    SB_LOAD(ssl, SSL_ctrl) SB_LOAD(ssl, SSL_get0_param) SB_LOAD(ssl, SSL_connect) SB_LOAD(ssl, SSL_accept)
    SB_LOAD(ssl, SSL_get_verify_result) SB_LOAD(ssl, SSL_get_version) SB_LOAD(ssl, SSL_pending) SB_LOAD(ssl, SSL_read)
    SB_LOAD(ssl, SSL_write) SB_LOAD(ssl, SSL_get_error) SB_LOAD(ssl, SSL_shutdown)
    SB_LOAD(crypto, X509_VERIFY_PARAM_set_flags) SB_LOAD(crypto, X509_VERIFY_PARAM_set1_host) SB_LOAD(crypto, X509_VERIFY_PARAM_set1_ip_asc)
    SB_LOAD(crypto, X509_verify_cert_error_string) SB_LOAD(crypto, ERR_clear_error) SB_LOAD(crypto, ERR_get_error)
    SB_LOAD(crypto, ERR_error_string_n) SB_LOAD(crypto, SHA256_Init) SB_LOAD(crypto, SHA256_Update) SB_LOAD(crypto, SHA256_Final)
#undef SB_LOAD
    status = 0;
}

int sb_openssl_load(void) { pthread_once(&once, load); return status; }
const char *sb_openssl_error(void) { return error; }

SSL_CTX *sb_SSL_CTX_new(const SSL_METHOD *method) { return api.SSL_CTX_new(method); }
void sb_SSL_CTX_free(SSL_CTX *ctx) { api.SSL_CTX_free(ctx); }
const SSL_METHOD *sb_TLS_client_method(void) { return api.TLS_client_method(); }
const SSL_METHOD *sb_TLS_server_method(void) { return api.TLS_server_method(); }
int sb_SSL_CTX_use_certificate_chain_file(SSL_CTX *ctx, const char *file) { return api.SSL_CTX_use_certificate_chain_file(ctx, file); }
int sb_SSL_CTX_use_PrivateKey_file(SSL_CTX *ctx, const char *file, int type) { return api.SSL_CTX_use_PrivateKey_file(ctx, file, type); }
int sb_SSL_CTX_check_private_key(const SSL_CTX *ctx) { return api.SSL_CTX_check_private_key(ctx); }
void sb_SSL_CTX_set_verify(SSL_CTX *ctx, int mode, SSL_verify_cb callback) { api.SSL_CTX_set_verify(ctx, mode, callback); }
int sb_SSL_CTX_load_verify_locations(SSL_CTX *ctx, const char *file, const char *path) { return api.SSL_CTX_load_verify_locations(ctx, file, path); }
int sb_SSL_CTX_set_default_verify_paths(SSL_CTX *ctx) { return api.SSL_CTX_set_default_verify_paths(ctx); }
X509_VERIFY_PARAM *sb_SSL_CTX_get0_param(SSL_CTX *ctx) { return api.SSL_CTX_get0_param(ctx); }
int sb_ssl_ctx_set_min_tls12(SSL_CTX *ctx) { return (int)api.SSL_CTX_ctrl(ctx, SSL_CTRL_SET_MIN_PROTO_VERSION, TLS1_2_VERSION, NULL); }
long sb_ssl_ctx_set_auto_retry(SSL_CTX *ctx) { return api.SSL_CTX_ctrl(ctx, SSL_CTRL_MODE, SSL_MODE_AUTO_RETRY, NULL); }

SSL *sb_SSL_new(SSL_CTX *ctx) { return api.SSL_new(ctx); }
void sb_SSL_free(SSL *ssl) { api.SSL_free(ssl); }
int sb_SSL_set_fd(SSL *ssl, int fd) { return api.SSL_set_fd(ssl, fd); }
int sb_ssl_set_sni(SSL *ssl, const char *name) { return (int)api.SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, (void *)name); }
X509_VERIFY_PARAM *sb_SSL_get0_param(SSL *ssl) { return api.SSL_get0_param(ssl); }
int sb_SSL_connect(SSL *ssl) { return api.SSL_connect(ssl); }
int sb_SSL_accept(SSL *ssl) { return api.SSL_accept(ssl); }
long sb_SSL_get_verify_result(const SSL *ssl) { return api.SSL_get_verify_result(ssl); }
const char *sb_SSL_get_version(const SSL *ssl) { return api.SSL_get_version(ssl); }
int sb_SSL_pending(const SSL *ssl) { return api.SSL_pending(ssl); }
int sb_SSL_read(SSL *ssl, void *buffer, int count) { return api.SSL_read(ssl, buffer, count); }
int sb_SSL_write(SSL *ssl, const void *buffer, int count) { return api.SSL_write(ssl, buffer, count); }
int sb_SSL_get_error(const SSL *ssl, int result) { return api.SSL_get_error(ssl, result); }
int sb_SSL_shutdown(SSL *ssl) { return api.SSL_shutdown(ssl); }

int sb_X509_VERIFY_PARAM_set_flags(X509_VERIFY_PARAM *param, unsigned long flags) { return api.X509_VERIFY_PARAM_set_flags(param, flags); }
int sb_X509_VERIFY_PARAM_set1_host(X509_VERIFY_PARAM *param, const char *name, size_t length) { return api.X509_VERIFY_PARAM_set1_host(param, name, length); }
int sb_X509_VERIFY_PARAM_set1_ip_asc(X509_VERIFY_PARAM *param, const char *address) { return api.X509_VERIFY_PARAM_set1_ip_asc(param, address); }
const char *sb_X509_verify_cert_error_string(long code) { return api.X509_verify_cert_error_string(code); }

void sb_ERR_clear_error(void) { api.ERR_clear_error(); }
unsigned long sb_ERR_get_error(void) { return api.ERR_get_error(); }
void sb_ERR_error_string_n(unsigned long code, char *buffer, size_t length) { api.ERR_error_string_n(code, buffer, length); }

#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wdeprecated-declarations"
void sb_sha256(const unsigned char *bytes, size_t count, unsigned char *digest) {
    SHA256_CTX context;
    api.SHA256_Init(&context);
    api.SHA256_Update(&context, bytes, count);
    api.SHA256_Final(digest, &context);
}
#pragma clang diagnostic pop
