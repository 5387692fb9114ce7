/* proxy/api_record.c - /kapacitor/v1/recordings and /kapacitor/v1/replays: each call is handed to
 * the record and replay service (engine/replay.h; recorder/ implements it, main wires it), whose
 * answer comes back from its thread through the API loop's h2o multithread queue.
 *
 * Lifetime: a pending call is heap memory shared by the loop and the message. A small object in
 * the request's pool notices when h2o drops the request (client gone): the answer is then freed
 * without being sent. Both sides run on the loop thread, so no lock is needed. */
#include "proxy/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rr_guard;

struct rr_pending {
    h2o_multithread_message_t msg; /* first: the receiver gets the message's address */
    h2o_req_t *req;                /* NULL once h2o dropped the request */
    struct rr_guard *guard;
    proxy_thread_t *t;
    h2o_multithread_receiver_t *rx; /* the loop's receiver */
    int status;
    char *body;
    size_t len;
};

struct rr_guard {
    struct rr_pending *p; /* NULL once answered */
};

static __thread h2o_multithread_receiver_t *receiver;

static void on_guard_dispose(void *obj)
{
    struct rr_guard *g = obj;
    if (g->p != NULL)
        g->p->req = NULL;
}

static const char *reason_of(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default: return "Internal Server Error";
    }
}

static void send_answer(h2o_req_t *req, int status, const char *body, size_t len)
{
    req->res.status = status;
    req->res.reason = reason_of(status);
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-kapacitor-version"), 0, "X-Kapacitor-Version",
                          H2O_STRLIT("farad-" FARAD_VERSION));
    if (status == 204) {
        h2o_send_inline(req, NULL, 0);
        return;
    }
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, H2O_STRLIT("application/json"));
    h2o_iovec_t b = h2o_strdup(&req->pool, body, len);
    h2o_send_inline(req, b.base, b.len);
}

/* On the loop: answers that came back. */
static void on_messages(h2o_multithread_receiver_t *r, h2o_linklist_t *messages)
{
    (void)r;
    while (!h2o_linklist_is_empty(messages)) {
        struct rr_pending *p = H2O_STRUCT_FROM_MEMBER(struct rr_pending, msg.link, messages->next);
        h2o_linklist_unlink(&p->msg.link);
        if (p->req != NULL) {
            p->guard->p = NULL;
            send_answer(p->req, p->status, p->body ? p->body : "", p->len);
        }
        p->t->in_flight--;
        free(p->body);
        free(p);
    }
}

/* On the service's thread. */
static void on_done(void *arg, int status, const char *body, size_t len)
{
    struct rr_pending *p = arg;
    p->status = status;
    p->body = malloc(len + 1);
    if (p->body != NULL) {
        memcpy(p->body, body, len);
        p->body[len] = '\0';
        p->len = len;
    } else {
        p->status = 500;
        p->len = 0;
    }
    h2o_multithread_send_message(p->rx, &p->msg);
}

static int on_record_replay(h2o_handler_t *self, h2o_req_t *req)
{
    (void)self;
    proxy_thread_t *t = proxy_thread_of(req);
    const eng_rr_svc_t *svc = t->server->rr;
    char msg[200];
    if (svc == NULL) {
        send_answer(req, 503, H2O_STRLIT("{\"error\":\"recordings and replays need PostgreSQL (pg.dsn)\"}"));
        return 0;
    }
    if (receiver == NULL) {
        receiver = calloc(1, sizeof *receiver);
        if (receiver == NULL)
            return -1;
        h2o_multithread_register_receiver(t->ctx.queue, receiver, on_messages);
    }
    /* the path below /kapacitor/v1/ (or v1preview/) */
    h2o_iovec_t path = req->path_normalized;
    static const char v1[] = "/kapacitor/v1/", pre[] = "/kapacitor/v1preview/";
    size_t skip = 0;
    if (path.len >= sizeof pre - 1 && memcmp(path.base, pre, sizeof pre - 1) == 0)
        skip = sizeof pre - 1;
    else if (path.len >= sizeof v1 - 1 && memcmp(path.base, v1, sizeof v1 - 1) == 0)
        skip = sizeof v1 - 1;
    size_t plen = path.len - skip;
    while (plen > 0 && path.base[skip + plen - 1] == '/')
        plen--;
    struct rr_pending *p = calloc(1, sizeof *p);
    struct rr_guard *g = h2o_mem_alloc_shared(&req->pool, sizeof *g, on_guard_dispose);
    if (p == NULL)
        return -1;
    g->p = p;
    p->guard = g;
    p->req = req;
    p->t = t;
    p->rx = receiver;
    char method[8];
    snprintf(method, sizeof method, "%.*s", (int)req->method.len, req->method.base);
    eng_rr_call_t c = {
        .method = method,
        .path = fa_str(path.base + skip, plen),
        .query = req->query_at != SIZE_MAX ? fa_str(req->path.base + req->query_at + 1, req->path.len - req->query_at - 1)
                                           : FA_STR_NULL,
        .body = fa_str(req->entity.base, req->entity.base ? req->entity.len : 0),
    };
    t->in_flight++;
    int rc = svc->call(svc->ud, &c, on_done, p);
    if (rc != 0) {
        t->in_flight--;
        g->p = NULL;
        free(p);
        int n = snprintf(msg, sizeof msg, "{\"error\":\"the recorder is busy (%s): try again\"}",
                         rc == FA_EAGAIN ? "queue full" : "out of memory");
        send_answer(req, 503, msg, (size_t)n);
    }
    return 0;
}

void proxy_api_record_register(h2o_hostconf_t *host)
{
    proxy_route(host, "/kapacitor/v1/recordings", on_record_replay);
    proxy_route(host, "/kapacitor/v1/replays", on_record_replay);
    proxy_route(host, "/kapacitor/v1preview/recordings", on_record_replay);
    proxy_route(host, "/kapacitor/v1preview/replays", on_record_replay);
}

void proxy_server_set_rr(proxy_server_t *s, const eng_rr_svc_t *svc) { s->rr = svc; }
