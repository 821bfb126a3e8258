// libcurl through Swift: curl_easy_setopt / curl_easy_getinfo are variadic and do not
// import, so each argument type gets its own non-variadic wrapper.
#ifndef SWITCHBOARD_CCURL_SHIM_H
#define SWITCHBOARD_CCURL_SHIM_H
#include <curl/curl.h>

typedef size_t (*sb_curl_write_fn)(char *ptr, size_t size, size_t nmemb, void *userdata);

static inline CURLcode sb_curl_setopt_long(CURL *h, CURLoption o, long v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode sb_curl_setopt_string(CURL *h, CURLoption o, const char *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode sb_curl_setopt_pointer(CURL *h, CURLoption o, void *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode sb_curl_setopt_slist(CURL *h, CURLoption o, struct curl_slist *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode sb_curl_setopt_write(CURL *h, CURLoption o, sb_curl_write_fn v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode sb_curl_getinfo_long(CURL *h, CURLINFO i, long *v) { return curl_easy_getinfo(h, i, v); }
static inline CURLcode sb_curl_getinfo_double(CURL *h, CURLINFO i, double *v) { return curl_easy_getinfo(h, i, v); }
static inline CURLcode sb_curl_getinfo_string(CURL *h, CURLINFO i, char **v) { return curl_easy_getinfo(h, i, v); }
static inline CURLMcode sb_curl_multi_setopt_long(CURLM *m, CURLMoption o, long v) { return curl_multi_setopt(m, o, v); }
/* CURLMsg.data is a union; reading it in C keeps Swift away from the imported union layout. */
/* Flow control for streams: the write callback's "keep these bytes, call me later", and going on. */
static inline size_t sb_curl_writefunc_pause(void) { return CURL_WRITEFUNC_PAUSE; }
static inline CURLcode sb_curl_unpause(CURL *h) { return curl_easy_pause(h, CURLPAUSE_CONT); }
static inline CURLcode sb_curl_msg_result(const CURLMsg *m) { return m->data.result; }
#endif
