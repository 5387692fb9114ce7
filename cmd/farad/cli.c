/* cmd/farad/cli.c - HTTP to the Kapacitor API with libcurl, errors, URL escaping as Go's net/url.
 *
 * Requests mirror Kapacitor's Go client: the link href becomes the whole path (the base URL's
 * path is dropped), escaped like url.URL.EscapedPath; queries are url.Values.Encode output built
 * by the callers in key order; a status outside the accepted list is an error whose text is the
 * body's {"error"} or "invalid response: code N: body: ...". */
#include "cmd/farad/cli.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#ifndef FARAD_VERSION
#define FARAD_VERSION "dev"
#endif

#define RESP_LIMIT (256u << 20) /* a response body larger than this is an error */

static struct {
    CURL *curl;
    char base[1024]; /* scheme://host[:port] */
    char url[1024];  /* as given */
    bool skip_verify;
} http;

int cli_errf(cli_err_t *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return -1;
}

void cli_err_wrap(cli_err_t *err, const char *fmt, ...)
{
    char prefix[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    size_t cap = sizeof err->msg, pl = strlen(prefix), ml = strnlen(err->msg, cap - 1);
    size_t keep = ml < cap - 1 - pl - 2 ? ml : cap - 1 - pl - 2;
    memmove(err->msg + pl + 2, err->msg, keep);
    memcpy(err->msg, prefix, pl);
    err->msg[pl] = ':';
    err->msg[pl + 1] = ' ';
    err->msg[pl + 2 + keep] = '\0';
}

int cli_fail(const cli_err_t *err)
{
    fprintf(stderr, "%s\n", err->msg);
    return CLI_EXIT_FAIL;
}

int cli_http_init(const char *url, bool skip_verify, cli_err_t *err)
{
    const char *sep = strstr(url, "://");
    size_t slen = sep ? (size_t)(sep - url) : 0;

    snprintf(http.url, sizeof http.url, "%s", url);
    if (sep == NULL || !((slen == 4 && strncmp(url, "http", 4) == 0) || (slen == 5 && strncmp(url, "https", 5) == 0)))
        return cli_errf(err, "Unsupported protocol scheme: %.*s, your address must start with http:// or https://",
                        (int)slen, sep ? url : "");
    const char *host = sep + 3;
    size_t hlen = strcspn(host, "/?#");
    if (hlen == 0)
        return cli_errf(err, "invalid URL %s: no host", url);
    if (slen + 3 + hlen >= sizeof http.base)
        return cli_errf(err, "invalid URL %s: too long", url);
    memcpy(http.base, url, slen + 3 + hlen);
    http.base[slen + 3 + hlen] = '\0';
    http.skip_verify = skip_verify;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0 || (http.curl = curl_easy_init()) == NULL)
        return cli_errf(err, "could not initialise libcurl");
    return 0;
}

void cli_http_deinit(void)
{
    if (http.curl != NULL) {
        curl_easy_cleanup(http.curl);
        http.curl = NULL;
        curl_global_cleanup();
    }
}

const char *cli_http_url(void) { return http.url; }

/* ---- escaping, as Go's net/url ---- */

static bool unreserved(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
           c == '.' || c == '~';
}

/* encodePath: reserved characters that may stay in a path */
static bool path_ok(unsigned char c)
{
    return unreserved(c) || (c != '\0' && strchr("$&+,/:;=@", c) != NULL);
}

static void escape(fa_buf_t *b, const char *s, bool query)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (query ? unreserved(*p) : path_ok(*p))
            fa_buf_append(b, p, 1);
        else if (query && *p == ' ')
            fa_buf_append(b, "+", 1);
        else {
            char e[3] = { '%', hex[*p >> 4], hex[*p & 15] };
            fa_buf_append(b, e, 3);
        }
    }
}

void cli_query_add(fa_buf_t *q, const char *key, const char *value)
{
    if (q->len != 0)
        fa_buf_append(q, "&", 1);
    escape(q, key, true);
    fa_buf_append(q, "=", 1);
    escape(q, value, true);
}

void cli_link(fa_buf_t *href, const char *base, const char *id)
{
    fa_buf_append_c(href, base);
    fa_buf_append(href, "/", 1);
    fa_buf_append_c(href, id);
}

/* ---- requests ---- */

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    fa_buf_t *b = arg;
    return fa_buf_append(b, p, size * n) == 0 ? size * n : 0;
}

/* Performs the request; fills *status and body. Returns 0 or -1 with err set (transport). */
static int perform(const char *method, const char *path, const char *query, const fa_buf_t *body,
                   long *status, fa_buf_t *resp, cli_err_t *err)
{
    fa_buf_t url = FA_BUF_INIT;
    struct curl_slist *hdrs = NULL;
    char cerr[CURL_ERROR_SIZE] = "";
    CURL *c = http.curl;
    int rc = -1;

    fa_buf_append_c(&url, http.base);
    escape(&url, path, false);
    if (query != NULL && *query) {
        fa_buf_append(&url, "?", 1);
        fa_buf_append_c(&url, query);
    }
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, fa_buf_cstr(&url));
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "farad/" FARAD_VERSION);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, resp);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, ""); /* gzip when the server offers it */
    if (http.skip_verify) {
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    hdrs = curl_slist_append(hdrs, "Expect:");
    if (body != NULL) {
        hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body->len ? body->ptr : "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->len);
    } else if (strcmp(method, "GET") == 0) {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    resp->limit = RESP_LIMIT;
    CURLcode cc = curl_easy_perform(c);
    if (cc != CURLE_OK) {
        cli_errf(err, "%s %s: %s", method, fa_buf_cstr(&url), cerr[0] ? cerr : curl_easy_strerror(cc));
        goto Exit;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    rc = 0;
Exit:
    curl_slist_free_all(hdrs);
    fa_buf_deinit(&url);
    return rc;
}

static bool accepted(long status, const long *ok)
{
    for (; *ok != 0; ok++)
        if (*ok == status)
            return true;
    return false;
}

int cli_request(const char *method, const char *path, const char *query, const fa_buf_t *body,
                const long *ok, json_t **out, cli_err_t *err)
{
    fa_buf_t resp = FA_BUF_INIT;
    long status = 0;
    int rc = -1;

    if (out != NULL)
        *out = NULL;
    if (path == NULL || *path == '\0') {
        cli_errf(err, "invalid link {self }");
        goto Exit;
    }
    if (perform(method, path, query, body, &status, &resp, err) != 0)
        goto Exit;
    if (!accepted(status, ok)) {
        json_t *e = json_loadb(resp.ptr ? resp.ptr : "", resp.len, JSON_DISABLE_EOF_CHECK, NULL);
        const char *msg = json_is_object(e) ? cli_jstr(e, "error") : "";
        if (*msg)
            cli_errf(err, "%s", msg);
        else
            cli_errf(err, "invalid response: code %ld: body: %s", status, fa_buf_cstr(&resp));
        json_decref(e);
        goto Exit;
    }
    if (out != NULL) {
        json_error_t je;
        *out = json_loadb(resp.ptr ? resp.ptr : "", resp.len, JSON_DISABLE_EOF_CHECK, &je);
        if (*out == NULL) {
            cli_errf(err, "failed to decode JSON: %s %s: %s at line %d column %d", method, path, je.text,
                     je.line, je.column);
            goto Exit;
        }
    }
    rc = 0;
Exit:
    fa_buf_deinit(&resp);
    return rc;
}

int cli_get_raw(const char *path, fa_buf_t *out, cli_err_t *err)
{
    long status = 0;
    return perform("GET", path, NULL, NULL, &status, out, err);
}

/* ---- small JSON accessors and files ---- */

const char *cli_jstr(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

long long cli_jint(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    if (json_is_integer(v))
        return json_integer_value(v);
    return json_is_real(v) ? (long long)json_real_value(v) : 0;
}

bool cli_jbool(const json_t *o, const char *key) { return json_is_true(json_object_get(o, key)); }

int cli_read_file(const char *path, fa_buf_t *out, cli_err_t *err)
{
    FILE *f = fopen(path, "rb");
    char chunk[65536];
    size_t n;

    if (f == NULL)
        return cli_errf(err, "failed to open file %s: %s", path, strerror(errno));
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (fa_buf_append(out, chunk, n) != 0) {
            fclose(f);
            return cli_errf(err, "failed to read file %s: out of memory", path);
        }
    }
    bool bad = ferror(f) != 0;
    fclose(f);
    if (bad)
        return cli_errf(err, "failed to read file %s: %s", path, strerror(errno));
    fa_buf_cstr(out);
    return 0;
}
