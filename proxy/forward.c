/* proxy/forward.c - relays one request to the upstream over the loop's keep-alive pool and
 * streams the answer back as it arrives (chunked /query responses included).
 *
 *   proxy_forward -> connect (pool) -> on_connect: hand h2o the request buffers
 *                 -> on_head: status + headers copied to the client, response started
 *                 -> on_body*: bytes collected in the client socket's buffer;
 *                    do_send swaps it with the one being sent (h2o_doublebuffer), so the
 *                    client's pace decides how fast we send, and memory is bounded by
 *                    proxy.max_response_buffer (past it the response is cut off).
 *
 * An exchange lives in the request's pool: if the client goes away, the pool's dispose hook
 * cancels the upstream half. A failure before the head was seen gives the client a 503 JSON
 * error; a stale pooled connection (closed before any byte came back) is retried once. */
#include "proxy/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_RESPONSE_BUFFER = 64 << 20 };

struct proxy_fwd {
    h2o_req_t *req;
    proxy_thread_t *t;
    h2o_http1client_t *client; /* NULL once the upstream half is over */
    h2o_iovec_t reqbufs[2];
    size_t n_reqbufs;
    bool is_head, probe;
    unsigned tries;
    h2o_timeout_entry_t timer;
    h2o_generator_t gen;
    h2o_doublebuffer_t sending;
    h2o_buffer_t *rest; /* what the upstream sent last, detached from its socket */
    proxy_fwd_status_cb on_status;
    void *data;
    bool status_reported, started, finished, body_error;
};

static h2o_http1client_head_cb on_connect(h2o_http1client_t *client, const char *errstr, h2o_iovec_t **reqbufs,
                                          size_t *reqbufcnt, int *method_is_head);

static void report_status(struct proxy_fwd *f, int status)
{
    if (f->status_reported)
        return;
    f->status_reported = true;
    if (f->on_status != NULL)
        f->on_status(f->data, status);
}

static void do_connect(struct proxy_fwd *f)
{
    f->tries++;
    /* armed first: with a pooled socket h2o may call on_connect (which disarms it) right away */
    if (!h2o_timeout_is_linked(&f->timer))
        h2o_timeout_link(f->t->loop, f->probe ? &f->t->health_timeout : &f->t->connect_timeout, &f->timer);
    h2o_http1client_connect_with_pool(&f->client, f, &f->t->client_ctx, &f->t->pool, on_connect);
}

static void fail(struct proxy_fwd *f, const char *why)
{
    report_status(f, 0);
    if (f->probe || f->started)
        return;
    f->finished = true;
    char msg[300];
    snprintf(msg, sizeof msg, "upstream %s unavailable: %s", f->t->server->conf->upstream_url, why);
    FA_LOG(FA_WARN, "%s (request %.*s)", msg, (int)f->req->path.len, f->req->path.base);
    proxy_send_error(f->req, 503, "Service Unavailable", msg);
}

static void on_timer(h2o_timeout_entry_t *entry)
{
    struct proxy_fwd *f = H2O_STRUCT_FROM_MEMBER(struct proxy_fwd, timer, entry);
    if (f->client != NULL) {
        h2o_http1client_cancel(f->client);
        f->client = NULL;
    }
    fail(f, f->probe ? "no answer in time" : "connect timeout");
}

static void do_send(struct proxy_fwd *f)
{
    h2o_buffer_t **src = f->client != NULL ? &f->client->sock->input : &f->rest;
    h2o_iovec_t vec = h2o_doublebuffer_prepare(&f->sending, src, f->req->preferred_chunk_size);
    if (f->client == NULL && vec.len == f->sending.buf->size && f->rest->size == 0) {
        f->finished = true;
        h2o_send(f->req, &vec, vec.len != 0, f->body_error ? H2O_SEND_STATE_ERROR : H2O_SEND_STATE_FINAL);
    } else if (vec.len != 0) {
        h2o_send(f->req, &vec, 1, H2O_SEND_STATE_IN_PROGRESS);
    }
}

static void on_proceed(h2o_generator_t *gen, h2o_req_t *req)
{
    struct proxy_fwd *f = H2O_STRUCT_FROM_MEMBER(struct proxy_fwd, gen, gen);
    h2o_doublebuffer_consume(&f->sending);
    do_send(f);
}

static void on_stop(h2o_generator_t *gen, h2o_req_t *req)
{
    struct proxy_fwd *f = H2O_STRUCT_FROM_MEMBER(struct proxy_fwd, gen, gen);
    if (f->client != NULL) {
        h2o_http1client_cancel(f->client);
        f->client = NULL;
    }
}

static int on_body(h2o_http1client_t *client, const char *errstr)
{
    struct proxy_fwd *f = client->data;
    if (errstr != NULL) {
        /* the client frees its socket after this call: keep what it read */
        h2o_buffer_t *t = f->rest;
        f->rest = client->sock->input;
        client->sock->input = t;
        f->client = NULL;
        if (errstr != h2o_http1client_error_is_eos) {
            FA_LOG(FA_WARN, "upstream response to %.*s cut off: %s", (int)f->req->path.len, f->req->path.base, errstr);
            f->body_error = true;
        }
    } else if (client->sock->input->size > MAX_RESPONSE_BUFFER) {
        FA_LOG(FA_WARN, "client reads %.*s too slowly: more than %d bytes buffered, response cut off", (int)f->req->path.len,
               f->req->path.base, MAX_RESPONSE_BUFFER);
        f->client = NULL;
        f->body_error = true;
        if (f->sending.bytes_inflight == 0)
            do_send(f);
        return -1;
    }
    if (f->sending.bytes_inflight == 0)
        do_send(f);
    return 0;
}

static bool skip_response_header(const h2o_iovec_t *name)
{
    const h2o_token_t *tok = h2o_lookup_token(name->base, name->len);
    return tok == H2O_TOKEN_CONNECTION || tok == H2O_TOKEN_KEEP_ALIVE || tok == H2O_TOKEN_TRANSFER_ENCODING ||
           tok == H2O_TOKEN_CONTENT_LENGTH || tok == H2O_TOKEN_DATE || tok == H2O_TOKEN_SERVER || tok == H2O_TOKEN_TE ||
           tok == H2O_TOKEN_UPGRADE || h2o_lcstris(name->base, name->len, H2O_STRLIT("proxy-connection"));
}

static void learn_version(proxy_server_t *s, const h2o_header_t *h)
{
    if (atomic_load_explicit(&s->upstream_version, memory_order_relaxed) != NULL)
        return;
    char *v = strndup(h->value.base, h->value.len > 64 ? 64 : h->value.len);
    const char *expected = NULL;
    if (v != NULL && !atomic_compare_exchange_strong(&s->upstream_version, &expected, v))
        free(v);
}

static h2o_http1client_body_cb on_head(h2o_http1client_t *client, const char *errstr, int minor_version, int status,
                                       h2o_iovec_t msg, h2o_header_t *headers, size_t num_headers, int rlen)
{
    struct proxy_fwd *f = client->data;
    h2o_req_t *req = f->req;

    h2o_timeout_unlink(&f->timer);
    if (errstr != NULL && errstr != h2o_http1client_error_is_eos) {
        f->client = NULL;
        if (f->tries < 2 && !f->probe && (errstr == h2o_socket_error_closed || errstr == h2o_socket_error_io)) {
            do_connect(f); /* most likely a kept-alive socket the upstream had closed */
            return NULL;
        }
        fail(f, errstr);
        return NULL;
    }
    report_status(f, status);
    if (f->probe) {
        f->finished = true;
        f->client = NULL;
        return NULL; /* closes the connection: a probe needs the status only */
    }
    req->res.status = status;
    req->res.reason = h2o_strdup(&req->pool, msg.base, msg.len).base;
    for (size_t i = 0; i < num_headers; i++) {
        const h2o_header_t *h = &headers[i];
        if (h->name->len == 18 && h2o_lcstris(h->name->base, h->name->len, H2O_STRLIT("x-influxdb-version")))
            learn_version(f->t->server, h);
        if (skip_response_header(h->name)) {
            if (h2o_lookup_token(h->name->base, h->name->len) == H2O_TOKEN_CONTENT_LENGTH) {
                size_t cl = h2o_strtosize(h->value.base, h->value.len);
                if (cl != SIZE_MAX)
                    req->res.content_length = cl;
            }
            continue;
        }
        h2o_iovec_t name = h2o_strdup(&req->pool, h->name->base, h->name->len);
        h2o_iovec_t value = h2o_strdup(&req->pool, h->value.base, h->value.len);
        h2o_add_header_by_str(&req->pool, &req->res.headers, name.base, name.len, 1,
                              h2o_strdup(&req->pool, h->orig_name ? h->orig_name : h->name->base, h->name->len).base,
                              value.base, value.len);
    }
    f->started = true;
    f->gen.proceed = on_proceed;
    f->gen.stop = on_stop;
    h2o_start_response(req, &f->gen);
    if (errstr == h2o_http1client_error_is_eos) {
        f->client = NULL;
        f->finished = true;
        h2o_send(req, NULL, 0, H2O_SEND_STATE_FINAL);
        return NULL;
    }
    return on_body;
}

static h2o_http1client_head_cb on_connect(h2o_http1client_t *client, const char *errstr, h2o_iovec_t **reqbufs,
                                          size_t *reqbufcnt, int *method_is_head)
{
    struct proxy_fwd *f = client->data;
    if (errstr != NULL) {
        h2o_timeout_unlink(&f->timer);
        f->client = NULL;
        fail(f, errstr == h2o_socket_error_conn_fail ? "connection refused or unreachable" : errstr);
        return NULL;
    }
    h2o_timeout_unlink(&f->timer);
    if (f->probe) /* the probe's whole exchange has one deadline */
        h2o_timeout_link(f->t->loop, &f->t->health_timeout, &f->timer);
    *reqbufs = f->reqbufs;
    *reqbufcnt = f->n_reqbufs;
    *method_is_head = f->is_head;
    return on_head;
}

static void on_dispose(void *p)
{
    struct proxy_fwd *f = p;
    if (f->client != NULL) {
        h2o_http1client_cancel(f->client);
        f->client = NULL;
    }
    h2o_timeout_unlink(&f->timer);
    report_status(f, -1);
    h2o_doublebuffer_dispose(&f->sending);
    h2o_buffer_dispose(&f->rest);
    f->t->in_flight--;
}

static bool skip_request_header(const h2o_header_t *h, const proxy_fwd_opts_t *o)
{
    const h2o_token_t *tok = h2o_lookup_token(h->name->base, h->name->len);
    if (tok == H2O_TOKEN_CONNECTION || tok == H2O_TOKEN_KEEP_ALIVE || tok == H2O_TOKEN_TRANSFER_ENCODING ||
        tok == H2O_TOKEN_CONTENT_LENGTH || tok == H2O_TOKEN_HOST || tok == H2O_TOKEN_TE || tok == H2O_TOKEN_UPGRADE ||
        h2o_lcstris(h->name->base, h->name->len, H2O_STRLIT("proxy-connection")) || tok == H2O_TOKEN_EXPECT || tok == H2O_TOKEN_HTTP2_SETTINGS)
        return true;
    if (tok == H2O_TOKEN_CONTENT_ENCODING && o->drop_content_encoding)
        return true;
    return tok == H2O_TOKEN_AUTHORIZATION && o->drop_authorization;
}

/* "METHOD path HTTP/1.1\r\nhost: ..\r\ncontent-length: N\r\n<headers>\r\n" in the pool. */
static h2o_iovec_t build_head(h2o_req_t *req, proxy_thread_t *t, h2o_iovec_t method, h2o_iovec_t path, size_t body_len,
                              bool with_headers, const proxy_fwd_opts_t *o)
{
    size_t cap = method.len + path.len + t->server->upstream_authority.len + o->extra_headers.len + 96;
    if (with_headers)
        for (size_t i = 0; i < req->headers.size; i++)
            cap += req->headers.entries[i].name->len + req->headers.entries[i].value.len + 4;
    char *buf = h2o_mem_alloc_pool(&req->pool, cap), *p = buf;
    p += sprintf(p, "%.*s %.*s HTTP/1.1\r\nHost: %.*s\r\n", (int)method.len, method.base, (int)path.len, path.base,
                 (int)t->server->upstream_authority.len, t->server->upstream_authority.base);
    if (body_len != 0 || !h2o_memis(method.base, method.len, H2O_STRLIT("GET")))
        p += sprintf(p, "Content-Length: %zu\r\n", body_len);
    for (size_t i = 0; with_headers && i < req->headers.size; i++) {
        const h2o_header_t *h = &req->headers.entries[i];
        if (skip_request_header(h, o))
            continue;
        const char *name = h->orig_name ? h->orig_name : h->name->base;
        memcpy(p, name, h->name->len);
        p += h->name->len;
        *p++ = ':';
        *p++ = ' ';
        memcpy(p, h->value.base, h->value.len);
        p += h->value.len;
        *p++ = '\r';
        *p++ = '\n';
    }
    if (o->extra_headers.len != 0) {
        memcpy(p, o->extra_headers.base, o->extra_headers.len);
        p += o->extra_headers.len;
    }
    *p++ = '\r';
    *p++ = '\n';
    return h2o_iovec_init(buf, (size_t)(p - buf));
}

static struct proxy_fwd *fwd_new(h2o_req_t *req)
{
    proxy_thread_t *t = proxy_thread_of(req);
    struct proxy_fwd *f = h2o_mem_alloc_shared(&req->pool, sizeof(*f), on_dispose);
    memset(f, 0, sizeof(*f));
    f->req = req;
    f->t = t;
    f->timer.cb = on_timer;
    h2o_doublebuffer_init(&f->sending, &h2o_socket_buffer_prototype);
    h2o_buffer_init(&f->rest, &h2o_socket_buffer_prototype);
    t->in_flight++;
    return f;
}

void proxy_forward(h2o_req_t *req, const proxy_fwd_opts_t *opts)
{
    static const proxy_fwd_opts_t none;
    const proxy_fwd_opts_t *o = opts != NULL ? opts : &none;
    struct proxy_fwd *f = fwd_new(req);
    h2o_iovec_t method = o->method.base != NULL ? o->method : req->method;
    h2o_iovec_t path = o->path.base != NULL ? o->path : req->path;
    h2o_iovec_t body = o->body.base != NULL ? o->body : req->entity;

    f->on_status = o->on_status;
    f->data = o->data;
    f->is_head = h2o_memis(method.base, method.len, H2O_STRLIT("HEAD"));
    f->reqbufs[0] = build_head(req, f->t, method, path, body.len, true, o);
    f->n_reqbufs = 1;
    if (body.len != 0)
        f->reqbufs[f->n_reqbufs++] = body;
    do_connect(f);
}

void proxy_probe(h2o_req_t *req, proxy_fwd_status_cb cb, void *data)
{
    static const proxy_fwd_opts_t none;
    struct proxy_fwd *f = fwd_new(req);
    f->probe = true;
    f->on_status = cb;
    f->data = data;
    f->reqbufs[0] = build_head(req, f->t, h2o_iovec_init(H2O_STRLIT("GET")), h2o_iovec_init(H2O_STRLIT("/ping")), 0, false, &none);
    f->n_reqbufs = 1;
    do_connect(f);
}
