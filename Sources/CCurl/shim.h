/* libcurl as Swift can call it: curl_easy_setopt and curl_easy_getinfo are variadic, so
 * each argument type rtlua needs gets a typed static inline wrapper. */
#ifndef RTLUA_CCURL_SHIM_H
#define RTLUA_CCURL_SHIM_H

#include <curl/curl.h>

typedef size_t (*shim_curl_write_callback)(char *ptr, size_t size, size_t nmemb, void *userdata);

static inline CURLcode shim_curl_setopt_long(CURL *c, CURLoption o, long v) { return curl_easy_setopt(c, o, v); }
static inline CURLcode shim_curl_setopt_string(CURL *c, CURLoption o, const char *v) { return curl_easy_setopt(c, o, v); }
static inline CURLcode shim_curl_setopt_pointer(CURL *c, CURLoption o, void *v) { return curl_easy_setopt(c, o, v); }
static inline CURLcode shim_curl_setopt_slist(CURL *c, CURLoption o, struct curl_slist *v) { return curl_easy_setopt(c, o, v); }
static inline CURLcode shim_curl_setopt_write(CURL *c, CURLoption o, shim_curl_write_callback v) { return curl_easy_setopt(c, o, v); }
static inline CURLcode shim_curl_setopt_off_t(CURL *c, CURLoption o, curl_off_t v) { return curl_easy_setopt(c, o, v); }
static inline CURLcode shim_curl_getinfo_long(CURL *c, CURLINFO i, long *v) { return curl_easy_getinfo(c, i, v); }
static inline CURLcode shim_curl_getinfo_double(CURL *c, CURLINFO i, double *v) { return curl_easy_getinfo(c, i, v); }
static inline CURLcode shim_curl_getinfo_string(CURL *c, CURLINFO i, char **v) { return curl_easy_getinfo(c, i, v); }

#endif
