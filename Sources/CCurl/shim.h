// libcurl through Swift, loaded with dlopen the first time an HTTP client starts rather
// than linked: libcurl brings 35 shared libraries (LDAP, Kerberos, GnuTLS, SSH…) that
// the dynamic loader would otherwise map and relocate at every start of every command,
// ~6.5 ms of each, though most commands never talk HTTP.
// The headers give the types and constants; `sb_curl` holds the functions, typed from
// their declarations, and each call goes through a wrapper taking it. curl_easy_setopt
// and curl_easy_getinfo are variadic and do not import, so each argument type gets its
// own non-variadic wrapper.
#ifndef SWITCHBOARD_CCURL_SHIM_H
#define SWITCHBOARD_CCURL_SHIM_H
#include <curl/curl.h>
#include <dlfcn.h>

typedef size_t (*sb_curl_write_fn)(char *ptr, size_t size, size_t nmemb, void *userdata);
typedef CURLcode (*sb_curl_variadic_easy)(CURL *, int, ...);
typedef CURLMcode (*sb_curl_variadic_multi)(CURLM *, int, ...);

struct sb_curl {
    __typeof__(&curl_global_init) global_init;
    __typeof__(&curl_easy_init) easy_init;
    __typeof__(&curl_easy_reset) easy_reset;
    __typeof__(&curl_easy_cleanup) easy_cleanup;
    __typeof__(&curl_easy_strerror) easy_strerror;
    __typeof__(&curl_easy_pause) easy_pause;
    sb_curl_variadic_easy easy_setopt;
    sb_curl_variadic_easy easy_getinfo;
    __typeof__(&curl_multi_init) multi_init;
    __typeof__(&curl_multi_cleanup) multi_cleanup;
    __typeof__(&curl_multi_add_handle) multi_add_handle;
    __typeof__(&curl_multi_remove_handle) multi_remove_handle;
    __typeof__(&curl_multi_perform) multi_perform;
    __typeof__(&curl_multi_poll) multi_poll;
    __typeof__(&curl_multi_wakeup) multi_wakeup;
    __typeof__(&curl_multi_info_read) multi_info_read;
    sb_curl_variadic_multi multi_setopt;
    __typeof__(&curl_slist_append) slist_append;
    __typeof__(&curl_slist_free_all) slist_free_all;
};

/* Fills `api` from libcurl.so.4 and initialises libcurl; 0 on success, -1 when the
   library or one of its functions is missing (dlerror() says which). Call once. */
static inline int sb_curl_load(struct sb_curl *api) {
    void *lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!lib) return -1;
#define SB_CURL_LOAD(field, name) if (!(*(void **)&api->field = dlsym(lib, name))) return -1;
    SB_CURL_LOAD(global_init, "curl_global_init")
    SB_CURL_LOAD(easy_init, "curl_easy_init")
    SB_CURL_LOAD(easy_reset, "curl_easy_reset")
    SB_CURL_LOAD(easy_cleanup, "curl_easy_cleanup")
    SB_CURL_LOAD(easy_strerror, "curl_easy_strerror")
    SB_CURL_LOAD(easy_pause, "curl_easy_pause")
    SB_CURL_LOAD(easy_setopt, "curl_easy_setopt")
    SB_CURL_LOAD(easy_getinfo, "curl_easy_getinfo")
    SB_CURL_LOAD(multi_init, "curl_multi_init")
    SB_CURL_LOAD(multi_cleanup, "curl_multi_cleanup")
    SB_CURL_LOAD(multi_add_handle, "curl_multi_add_handle")
    SB_CURL_LOAD(multi_remove_handle, "curl_multi_remove_handle")
    SB_CURL_LOAD(multi_perform, "curl_multi_perform")
    SB_CURL_LOAD(multi_poll, "curl_multi_poll")
    SB_CURL_LOAD(multi_wakeup, "curl_multi_wakeup")
    SB_CURL_LOAD(multi_info_read, "curl_multi_info_read")
    SB_CURL_LOAD(multi_setopt, "curl_multi_setopt")
    SB_CURL_LOAD(slist_append, "curl_slist_append")
    SB_CURL_LOAD(slist_free_all, "curl_slist_free_all")
#undef SB_CURL_LOAD
    return api->global_init(CURL_GLOBAL_ALL) == CURLE_OK ? 0 : -1;
}

static inline CURL *sb_curl_easy_init(const struct sb_curl *a) { return a->easy_init(); }
static inline void sb_curl_easy_reset(const struct sb_curl *a, CURL *h) { a->easy_reset(h); }
static inline void sb_curl_easy_cleanup(const struct sb_curl *a, CURL *h) { a->easy_cleanup(h); }
static inline const char *sb_curl_easy_strerror(const struct sb_curl *a, CURLcode c) { return a->easy_strerror(c); }
static inline CURLcode sb_curl_setopt_long(const struct sb_curl *a, CURL *h, CURLoption o, long v) { return a->easy_setopt(h, o, v); }
static inline CURLcode sb_curl_setopt_string(const struct sb_curl *a, CURL *h, CURLoption o, const char *v) { return a->easy_setopt(h, o, v); }
static inline CURLcode sb_curl_setopt_pointer(const struct sb_curl *a, CURL *h, CURLoption o, void *v) { return a->easy_setopt(h, o, v); }
static inline CURLcode sb_curl_setopt_slist(const struct sb_curl *a, CURL *h, CURLoption o, struct curl_slist *v) { return a->easy_setopt(h, o, v); }
static inline CURLcode sb_curl_setopt_write(const struct sb_curl *a, CURL *h, CURLoption o, sb_curl_write_fn v) { return a->easy_setopt(h, o, v); }
static inline CURLcode sb_curl_getinfo_long(const struct sb_curl *a, CURL *h, CURLINFO i, long *v) { return a->easy_getinfo(h, i, v); }
static inline CURLcode sb_curl_getinfo_double(const struct sb_curl *a, CURL *h, CURLINFO i, double *v) { return a->easy_getinfo(h, i, v); }
static inline CURLcode sb_curl_getinfo_string(const struct sb_curl *a, CURL *h, CURLINFO i, char **v) { return a->easy_getinfo(h, i, v); }
static inline CURLM *sb_curl_multi_init(const struct sb_curl *a) { return a->multi_init(); }
static inline CURLMcode sb_curl_multi_cleanup(const struct sb_curl *a, CURLM *m) { return a->multi_cleanup(m); }
static inline CURLMcode sb_curl_multi_add_handle(const struct sb_curl *a, CURLM *m, CURL *h) { return a->multi_add_handle(m, h); }
static inline CURLMcode sb_curl_multi_remove_handle(const struct sb_curl *a, CURLM *m, CURL *h) { return a->multi_remove_handle(m, h); }
static inline CURLMcode sb_curl_multi_perform(const struct sb_curl *a, CURLM *m, int *running) { return a->multi_perform(m, running); }
static inline CURLMcode sb_curl_multi_poll(const struct sb_curl *a, CURLM *m, int timeout_ms) { return a->multi_poll(m, NULL, 0, timeout_ms, NULL); }
static inline CURLMcode sb_curl_multi_wakeup(const struct sb_curl *a, CURLM *m) { return a->multi_wakeup(m); }
static inline CURLMsg *sb_curl_multi_info_read(const struct sb_curl *a, CURLM *m, int *remaining) { return a->multi_info_read(m, remaining); }
static inline CURLMcode sb_curl_multi_setopt_long(const struct sb_curl *a, CURLM *m, CURLMoption o, long v) { return a->multi_setopt(m, o, v); }
static inline struct curl_slist *sb_curl_slist_append(const struct sb_curl *a, struct curl_slist *l, const char *s) { return a->slist_append(l, s); }
static inline void sb_curl_slist_free_all(const struct sb_curl *a, struct curl_slist *l) { a->slist_free_all(l); }
/* Flow control for streams: the write callback's "keep these bytes, call me later", and going on. */
static inline size_t sb_curl_writefunc_pause(void) { return CURL_WRITEFUNC_PAUSE; }
static inline CURLcode sb_curl_unpause(const struct sb_curl *a, CURL *h) { return a->easy_pause(h, CURLPAUSE_CONT); }
/* CURLMsg.data is a union; reading it in C keeps Swift away from the imported union layout. */
static inline CURLcode sb_curl_msg_result(const CURLMsg *m) { return m->data.result; }
#endif
