/* proxy/http.c - query strings, InfluxDB's response headers and JSON errors. */
#include "proxy/internal.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t proxy_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes %XX and '+' (form encoding) into the pool. */
static h2o_iovec_t url_decode(h2o_mem_pool_t *pool, const char *p, size_t len)
{
    if (memchr(p, '%', len) == NULL && memchr(p, '+', len) == NULL)
        return h2o_iovec_init(p, len);
    char *out = h2o_mem_alloc_pool(pool, len + 1);
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        int hi, lo;
        if (p[i] == '+')
            out[n++] = ' ';
        else if (p[i] == '%' && i + 2 < len && (hi = hexval((unsigned char)p[i + 1])) >= 0 && (lo = hexval((unsigned char)p[i + 2])) >= 0) {
            out[n++] = (char)(hi * 16 + lo);
            i += 2;
        } else
            out[n++] = p[i];
    }
    out[n] = '\0';
    return h2o_iovec_init(out, n);
}

int proxy_form_param(h2o_mem_pool_t *pool, h2o_iovec_t qs, const char *name, h2o_iovec_t *out)
{
    size_t nlen = strlen(name);
    const char *p = qs.base, *end = qs.base + qs.len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(stop - p));
        const char *kend = eq ? eq : stop;
        h2o_iovec_t key = url_decode(pool, p, (size_t)(kend - p));
        if (key.len == nlen && memcmp(key.base, name, nlen) == 0) {
            *out = eq ? url_decode(pool, eq + 1, (size_t)(stop - eq - 1)) : h2o_iovec_init("", 0);
            return 0;
        }
        p = stop + 1;
    }
    return -1;
}

int proxy_query_param(h2o_req_t *req, const char *name, h2o_iovec_t *out)
{
    if (req->query_at == SIZE_MAX)
        return -1;
    h2o_iovec_t qs = h2o_iovec_init(req->path.base + req->query_at + 1, req->path.len - req->query_at - 1);
    return proxy_form_param(&req->pool, qs, name, out);
}

h2o_iovec_t proxy_url_encode(h2o_mem_pool_t *pool, h2o_iovec_t s)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = h2o_mem_alloc_pool(pool, s.len * 3 + 1);
    size_t n = 0;
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.base[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
            c == '~') {
            out[n++] = (char)c;
        } else {
            out[n++] = '%';
            out[n++] = hex[c >> 4];
            out[n++] = hex[c & 15];
        }
    }
    out[n] = '\0';
    return h2o_iovec_init(out, n);
}

/* A version-4 UUID, as InfluxDB's request ids look (it uses v1; clients only echo them). */
static h2o_iovec_t new_request_id(h2o_mem_pool_t *pool)
{
    static _Thread_local uint64_t state;
    if (state == 0)
        state = (uint64_t)proxy_now_ns() ^ ((uint64_t)(uintptr_t)&state << 17) ^ 0x9e3779b97f4a7c15ull;
    uint64_t a = (state = state * 6364136223846793005ull + 1442695040888963407ull);
    uint64_t b = (state = state * 6364136223846793005ull + 1442695040888963407ull);
    char *out = h2o_mem_alloc_pool(pool, 37);
    snprintf(out, 37, "%08x-%04x-4%03x-%04x-%012llx", (unsigned)(a >> 32), (unsigned)(a >> 16) & 0xffff,
             (unsigned)a & 0xfff, (unsigned)((b >> 48) & 0x3fff) | 0x8000, (unsigned long long)(b & 0xffffffffffffull));
    return h2o_iovec_init(out, 36);
}

void proxy_add_influx_headers(h2o_req_t *req)
{
    proxy_thread_t *t = proxy_thread_of(req);
    const char *v = atomic_load_explicit(&t->server->upstream_version, memory_order_acquire);
    if (v == NULL)
        v = "1.x-farad-" FARAD_VERSION;
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-influxdb-build"), 0, "X-Influxdb-Build", H2O_STRLIT("OSS"));
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-influxdb-version"), 0, "X-Influxdb-Version", v,
                          strlen(v));
    h2o_iovec_t id = h2o_iovec_init(NULL, 0);
    ssize_t i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("x-request-id"), -1);
    if (i < 0)
        i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("request-id"), -1);
    id = i >= 0 ? req->headers.entries[i].value : new_request_id(&req->pool);
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("request-id"), 0, "Request-Id", id.base, id.len);
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-request-id"), 0, "X-Request-Id", id.base, id.len);
}

/* JSON string escaping into the pool (quotes, backslashes, control bytes). */
static h2o_iovec_t json_escape(h2o_mem_pool_t *pool, const char *s, size_t len)
{
    char *out = h2o_mem_alloc_pool(pool, len * 6 + 1);
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            out[n++] = '\\';
            out[n++] = (char)c;
        } else if (c == '\n') {
            out[n++] = '\\';
            out[n++] = 'n';
        } else if (c < 0x20) {
            n += (size_t)sprintf(out + n, "\\u%04x", c);
        } else {
            out[n++] = (char)c;
        }
    }
    out[n] = '\0';
    return h2o_iovec_init(out, n);
}

void proxy_send_json(h2o_req_t *req, int status, const char *reason, h2o_iovec_t body)
{
    req->res.status = status;
    req->res.reason = reason;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, H2O_STRLIT("application/json"));
    proxy_add_influx_headers(req);
    h2o_send_inline(req, body.base, body.len);
}

void proxy_send_error(h2o_req_t *req, int status, const char *reason, const char *msg)
{
    size_t mlen = strlen(msg);
    h2o_iovec_t esc = json_escape(&req->pool, msg, mlen);
    char *body = h2o_mem_alloc_pool(&req->pool, esc.len + 16);
    int n = sprintf(body, "{\"error\":\"%s\"}\n", esc.base);
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-influxdb-error"), 0, "X-Influxdb-Error", msg,
                          mlen > 1024 ? 1024 : mlen);
    proxy_send_json(req, status, reason, h2o_iovec_init(body, (size_t)n));
}

void proxy_route(h2o_hostconf_t *host, const char *path, int (*fn)(h2o_handler_t *, h2o_req_t *))
{
    h2o_pathconf_t *pc = h2o_config_register_path(host, path, 0);
    h2o_handler_t *h = h2o_create_handler(pc, sizeof(*h));
    h->on_req = fn;
}
