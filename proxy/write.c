/* proxy/write.c - POST /write and /api/v2/write: forward the body, and tee the points of the
 * db.rp some consumer wants.
 *
 * A body whose every line has a timestamp (a cheap scan, eng_lp_all_stamped) is forwarded at once
 * and its tee copy parsed while the upstream works. Any other is parsed before forwarding (lines
 * without a timestamp are stamped once, here, and the forwarded body carries the same stamp).
 * Either way the points are handed to the engine only once the upstream has
 * answered 204, or 400 (a partial write stores the good lines): the engine never sees points that
 * InfluxDB refused, and a client's retry after a 5xx does not reach it twice. With subscriptions
 * on, a db.rp farad is subscribed to is not teed here: InfluxDB's push delivers it (subs.h). */
#include "proxy/internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "proxy/gzip.h"

struct tee_job {
    proxy_thread_t *t;
    eng_batch_t *batch;      /* NULL: nothing to tee */
    bool parsed;             /* batch is final */
    bool answered;           /* the upstream's status came before the parse ended: in status */
    int status;
};

/* The upstream answered and the body is parsed: the batch goes to the engine or back. */
static void deliver(struct tee_job *job, int status)
{
    eng_batch_t *b = job->batch;
    job->batch = NULL;
    if (b == NULL)
        return;
    /* asked again now: a db.rp linked since the request came in is delivered by its subscription */
    if ((status == 204 || status == 400) && !proxy_subs_covers(job->t->server->subs, b->db, b->rp) &&
        proxy_tee_send(&job->t->tee, b))
        return;
    proxy_tee_put(&job->t->tee, b);
}

static void on_upstream_status(void *data, int status)
{
    struct tee_job *job = data;
    if (job->parsed) {
        deliver(job, status);
        return;
    }
    job->answered = true;
    job->status = status;
}

static bool is_gzip(h2o_req_t *req)
{
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_CONTENT_ENCODING, -1);
    return i >= 0 && h2o_memis(req->headers.entries[i].value.base, req->headers.entries[i].value.len, H2O_STRLIT("gzip"));
}

/* The body with " <now>" inserted where a line had no timestamp; in the request's pool. */
static h2o_iovec_t stamp_body(h2o_req_t *req, const char *body, size_t len, const eng_lp_result_t *res, int64_t now)
{
    char ts[24];
    int tslen = snprintf(ts, sizeof ts, " %" PRId64, now);
    char *out = h2o_mem_alloc_pool(&req->pool, len + (size_t)tslen * res->n_stamps), *p = out;
    size_t from = 0;
    for (uint32_t i = 0; i < res->n_stamps; i++) {
        size_t at = res->stamps[i].offset;
        memcpy(p, body + from, at - from);
        p += at - from;
        memcpy(p, ts, (size_t)tslen);
        p += tslen;
        from = at;
    }
    memcpy(p, body + from, len - from);
    p += len - from;
    return h2o_iovec_init(out, (size_t)(p - out));
}

/* A request body decoded and parsed into a batch of this loop's tee. */
struct parsed {
    eng_batch_t *batch;
    const char *body; /* decoded body (the request's, or the loop's gunzip scratch) */
    size_t len;
    bool gz;
    eng_lp_opts_t opts;
    eng_lp_result_t res;
};

/* 0 with out->batch filled (possibly with no points); FA_E2BIG (decoded body over the bound),
 * FA_EINVAL (corrupt gzip), FA_EAGAIN (no free batch: counted as a drop), FA_ENOMEM (over
 * tee.batch_limit: counted as a drop). Drops and parse errors are counted here. */
static int parse_body(h2o_req_t *req, proxy_thread_t *t, fa_str_t db, fa_str_t rp, int64_t mult, struct parsed *out)
{
    out->body = req->entity.base;
    out->len = req->entity.len;
    out->gz = is_gzip(req);
    if (out->gz) {
        int rc = proxy_gunzip(out->body, out->len, &t->scratch, t->server->conf->proxy_max_decoded);
        if (rc == FA_E2BIG) {
            FA_LOG(FA_WARN, "write to %.*s.%.*s: gzip body decodes to more than %" PRIu64 " bytes: not teed", (int)db.len,
                   db.ptr, (int)rp.len, rp.ptr, t->server->conf->proxy_max_decoded);
            proxy_tee_count_drop(&t->tee, db, rp, 0);
        }
        if (rc != 0)
            return rc;
        out->body = t->scratch.ptr;
        out->len = t->scratch.len;
    }
    eng_batch_t *b = proxy_tee_get(&t->tee);
    if (b == NULL) {
        proxy_tee_count_drop(&t->tee, db, rp, 0);
        return FA_EAGAIN;
    }
    int64_t now_ns = proxy_now_ns();
    b->db = fa_str(fa_arena_strndup(&b->arena, db.ptr, db.len), db.len);
    b->rp = fa_str(fa_arena_strndup(&b->arena, rp.ptr, rp.len), rp.len);
    b->received = now_ns; /* b->bytes is counted by the parser */
    out->opts = (eng_lp_opts_t){ .precision_ns = mult, .now = now_ns / mult, .want_stamps = true };
    eng_lp_parse(b, out->body, out->len, &out->opts, &out->res);
    if (out->res.n_bad != 0)
        proxy_tee_count_parse_errors(&t->tee, db, rp, out->res.n_bad);
    if (out->res.out_of_memory) {
        FA_LOG(FA_WARN, "write to %.*s.%.*s: parsed body exceeds tee.batch_limit: not teed", (int)db.len, db.ptr, (int)rp.len,
               rp.ptr);
        proxy_tee_count_drop(&t->tee, db, rp, b->n);
        proxy_tee_put(&t->tee, b);
        return FA_ENOMEM;
    }
    out->batch = b;
    return 0;
}

/* Parses the body into a batch; may change o->body (stamped). NULL when nothing is to be teed. */
static struct tee_job *tee_prepare(h2o_req_t *req, proxy_thread_t *t, fa_str_t db, fa_str_t rp, h2o_iovec_t precision,
                                   proxy_fwd_opts_t *o)
{
    int64_t mult;
    struct parsed ps;
    if (eng_lp_precision(fa_str(precision.base, precision.len), false, &mult) != 0)
        return NULL; /* the upstream answers 400 invalid precision */
    if (parse_body(req, t, db, rp, mult, &ps) != 0)
        return NULL; /* a corrupt body gets the upstream's 400; drops are counted */
    if (ps.res.n_stamps != 0) {
        o->body = stamp_body(req, ps.body, ps.len, &ps.res, ps.opts.now);
        o->drop_content_encoding = ps.gz;
    }
    if (ps.batch->n == 0) {
        proxy_tee_put(&t->tee, ps.batch);
        return NULL;
    }
    struct tee_job *job = h2o_mem_alloc_pool(&req->pool, sizeof(*job));
    *job = (struct tee_job){ .t = t, .batch = ps.batch, .parsed = true };
    return job;
}

/* Forwards a body that needs no stamping at once, and parses its tee copy while the upstream
 * works on it: the parse adds nothing to the write's latency. */
static void forward_then_parse(h2o_req_t *req, proxy_thread_t *t, fa_str_t db, fa_str_t rp, h2o_iovec_t precision,
                               proxy_fwd_opts_t *o)
{
    struct tee_job *job = h2o_mem_alloc_pool(&req->pool, sizeof(*job));
    *job = (struct tee_job){ .t = t };
    o->on_status = on_upstream_status;
    o->data = job;
    proxy_forward(req, o);
    int64_t mult;
    struct parsed ps;
    if (eng_lp_precision(fa_str(precision.base, precision.len), false, &mult) == 0 &&
        parse_body(req, t, db, rp, mult, &ps) == 0) {
        if (ps.batch->n == 0)
            proxy_tee_put(&t->tee, ps.batch);
        else
            job->batch = ps.batch;
    }
    job->parsed = true;
    if (job->answered)
        deliver(job, job->status);
}

static int handle_write(h2o_req_t *req, h2o_iovec_t db, h2o_iovec_t rp, h2o_iovec_t precision, proxy_fwd_opts_t *o)
{
    proxy_thread_t *t = proxy_thread_of(req);
    if (req->entity.len > t->server->conf->proxy_max_body) {
        proxy_send_error(req, 413, "Request Entity Too Large", "Request Entity Too Large");
        return 0;
    }
    fa_str_t fdb = fa_str(db.base, db.len);
    fa_str_t frp = rp.len != 0 ? fa_str(rp.base, rp.len) : fa_str_c(t->server->filter.default_rp);
    if (fdb.len != 0 && req->entity.len != 0 && proxy_tee_wanted(&t->server->filter, t->server->ingest, fdb, frp) &&
        !proxy_subs_covers(t->server->subs, fdb, frp)) {
        if (!is_gzip(req) && eng_lp_all_stamped(req->entity.base, req->entity.len)) {
            forward_then_parse(req, t, fdb, frp, precision, o);
            return 0;
        }
        struct tee_job *job = tee_prepare(req, t, fdb, frp, precision, o);
        if (job != NULL) {
            o->on_status = on_upstream_status;
            o->data = job;
        }
    }
    proxy_forward(req, o);
    return 0;
}

static h2o_iovec_t param(h2o_req_t *req, const char *name)
{
    h2o_iovec_t v;
    return proxy_query_param(req, name, &v) == 0 ? v : h2o_iovec_init("", 0);
}

int proxy_on_write(h2o_handler_t *self, h2o_req_t *req)
{
    if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("POST")))
        return proxy_on_passthrough(self, req);
    proxy_fwd_opts_t o = { 0 };
    return handle_write(req, param(req, "db"), param(req, "rp"), param(req, "precision"), &o);
}

/* "Token user:pass" -> "Authorization: Basic base64(user:pass)\r\n" for a 1.x upstream. */
static bool token_to_basic(h2o_req_t *req, h2o_iovec_t *header)
{
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1);
    if (i < 0)
        return false;
    h2o_iovec_t v = req->headers.entries[i].value;
    if (v.len < 7 || !h2o_lcstris(v.base, 6, H2O_STRLIT("token ")) || memchr(v.base + 6, ':', v.len - 6) == NULL)
        return false;
    size_t cap = h2o_base64_encode_capacity(v.len - 6) + 32;
    char *out = h2o_mem_alloc_pool(&req->pool, cap);
    int n = sprintf(out, "Authorization: Basic ");
    n += (int)h2o_base64_encode(out + n, v.base + 6, v.len - 6, 0);
    n += sprintf(out + n, "\r\n");
    *header = h2o_iovec_init(out, (size_t)n);
    return true;
}

int proxy_on_write_v2(h2o_handler_t *self, h2o_req_t *req)
{
    if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("POST")))
        return proxy_on_passthrough(self, req);
    h2o_iovec_t bucket = param(req, "bucket"), precision = param(req, "precision");
    const char *slash = memchr(bucket.base, '/', bucket.len);
    h2o_iovec_t db = h2o_iovec_init(bucket.base, slash ? (size_t)(slash - bucket.base) : bucket.len);
    h2o_iovec_t rp = slash ? h2o_iovec_init(slash + 1, bucket.len - db.len - 1) : h2o_iovec_init("", 0);
    if (db.len == 0) {
        char msg[300];
        snprintf(msg, sizeof msg, "bucket name \"%.*s\" is missing a slash; not in \"database/retention-policy\" format",
                 (int)(bucket.len > 200 ? 200 : bucket.len), bucket.base);
        proxy_send_error(req, 404, "Not Found", msg);
        return 0;
    }
    static const struct { const char *v2, *v1; } precs[] = { { "", "n" }, { "ns", "n" }, { "us", "u" }, { "ms", "ms" }, { "s", "s" } };
    const char *p1 = NULL;
    for (size_t i = 0; i < sizeof precs / sizeof precs[0]; i++)
        if (h2o_memis(precision.base, precision.len, precs[i].v2, strlen(precs[i].v2)))
            p1 = precs[i].v1;
    if (p1 == NULL) {
        char msg[160];
        snprintf(msg, sizeof msg, "invalid precision \"%.*s\" (use ns, us, ms or s)", (int)(precision.len > 64 ? 64 : precision.len),
                 precision.base);
        proxy_send_error(req, 400, "Bad Request", msg);
        return 0;
    }
    h2o_iovec_t edb = proxy_url_encode(&req->pool, db), erp = proxy_url_encode(&req->pool, rp);
    char *path = h2o_mem_alloc_pool(&req->pool, edb.len + erp.len + 48);
    int n = sprintf(path, "/write?db=%s&rp=%s&precision=%s", edb.base, erp.base, p1);
    proxy_fwd_opts_t o = { .method = h2o_iovec_init(H2O_STRLIT("POST")), .path = h2o_iovec_init(path, (size_t)n) };
    o.drop_authorization = token_to_basic(req, &o.extra_headers);
    return handle_write(req, db, rp, h2o_iovec_init(p1, strlen(p1)), &o);
}

/* POST /write and /kapacitor/v1/write on the API listener: the subscription target. Points go
 * to the engine only, never upstream, so farad can be a subscriber and the write proxy at once
 * without loops. Kapacitor's answers: 204, or 400 with the parse errors (the good lines still
 * reach the engine), 400 without db; a full ring gives 503 with Retry-After. */
int proxy_on_api_write(h2o_handler_t *self, h2o_req_t *req)
{
    proxy_thread_t *t = proxy_thread_of(req);
    if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("POST"))) {
        proxy_send_error(req, 405, "Method Not Allowed", "method not allowed");
        return 0;
    }
    if (req->entity.len > t->server->conf->proxy_max_body) {
        proxy_send_error(req, 413, "Request Entity Too Large", "Request Entity Too Large");
        return 0;
    }
    h2o_iovec_t db = param(req, "db"), rp = param(req, "rp"), precision = param(req, "precision");
    if (db.len == 0) {
        proxy_send_error(req, 400, "Bad Request", "database is required");
        return 0;
    }
    int64_t mult;
    if (eng_lp_precision(fa_str(precision.base, precision.len), false, &mult) != 0) {
        char msg[160];
        snprintf(msg, sizeof msg, "invalid precision \"%.*s\" (use n, u, ms, s, m or h)", (int)(precision.len > 64 ? 64 : precision.len),
                 precision.base);
        proxy_send_error(req, 400, "Bad Request", msg);
        return 0;
    }
    fa_str_t fdb = fa_str(db.base, db.len);
    fa_str_t frp = rp.len != 0 ? fa_str(rp.base, rp.len) : fa_str_c(t->server->filter.default_rp);
    struct parsed ps;
    int rc = parse_body(req, t, fdb, frp, mult, &ps);
    if (rc == FA_EINVAL) {
        proxy_send_error(req, 400, "Bad Request", "gzip: invalid header");
        return 0;
    }
    if (rc == FA_E2BIG || rc == FA_ENOMEM) {
        proxy_send_error(req, 413, "Request Entity Too Large", "Request Entity Too Large");
        return 0;
    }
    uint32_t n_points = rc == 0 ? ps.batch->n : 0; /* read before the hand-off */
    if (rc == FA_EAGAIN || (n_points != 0 && !proxy_tee_send(&t->tee, ps.batch))) {
        if (rc == 0)
            proxy_tee_put(&t->tee, ps.batch);
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_RETRY_AFTER, NULL, H2O_STRLIT("1"));
        proxy_send_error(req, 503, "Service Unavailable", "engine input queue full: points dropped");
        return 0;
    }
    if (n_points == 0)
        proxy_tee_put(&t->tee, ps.batch);
    if (ps.res.n_bad != 0) {
        proxy_send_error(req, 400, "Bad Request", ps.res.errors);
        return 0;
    }
    req->res.status = 204;
    req->res.reason = "No Content";
    h2o_send_inline(req, NULL, 0);
    return 0;
}
