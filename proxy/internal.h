/* proxy/internal.h - what the proxy's files share: the per-thread state and the helpers each
 * handler uses. Not for other folders. */
#ifndef PROXY_INTERNAL_H
#define PROXY_INTERNAL_H
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include <h2o.h>
#include <h2o/http1client.h>
#include <h2o/socketpool.h>

#include "base/base.h"
#include "engine/engine.h"
#include "engine/replay.h"
#include "proxy/proxy.h"
#include "proxy/subs.h"
#include "proxy/tee.h"

/* One event loop: its h2o context, listener, upstream connection pool and tee port. */
typedef struct proxy_thread {
    h2o_context_t ctx; /* first: handlers find their thread from req->conn->ctx */
    proxy_server_t *server;
    unsigned idx;
    bool is_api;
    pthread_t tid;
    h2o_evloop_t *loop;
    h2o_accept_ctx_t accept_ctx;
    h2o_socket_t *listener;
    /* upstream */
    h2o_socketpool_t pool;
    h2o_http1client_ctx_t client_ctx;
    h2o_timeout_t io_timeout, connect_timeout, health_timeout;
    /* tee */
    proxy_tee_t tee;
    fa_buf_t scratch;      /* gunzip output, reused across requests */
    unsigned in_flight;    /* requests being forwarded */
} proxy_thread_t;

struct proxy_server {
    const fa_conf_t *conf;
    eng_ingest_t *ingest;
    h2o_globalconf_t proxy_conf, api_conf;
    proxy_thread_t *threads; /* n_threads proxy loops, then one API loop */
    unsigned n_threads;
    int proxy_fd, api_fd;    /* the first listening socket of each kind (for the port) */
    int proxy_port, api_port;
    h2o_iovec_t upstream_host; /* from upstream.url */
    uint16_t upstream_port;
    h2o_iovec_t upstream_authority; /* "host:port", sent as Host */
    proxy_tee_filter_t filter;
    proxy_subs_t *subs;      /* the subscription manager, NULL unless subs.enabled */
    atomic_bool stopping;
    _Atomic(const char *) upstream_version; /* last X-Influxdb-Version seen, or NULL */
    const eng_rr_svc_t *rr;  /* recordings and replays (api_record.c), NULL = none */
    struct proxy_api *api;   /* the task API's state, owned by the API thread (api_tasks.c) */
};

static inline proxy_thread_t *proxy_thread_of(h2o_req_t *req) { return (proxy_thread_t *)req->conn->ctx; }

/* --- http.c: small helpers every handler uses --- */

/** Finds query parameter `name` in req->path; 0 and *out decoded into the pool, or -1 if absent. */
int proxy_query_param(h2o_req_t *req, const char *name, h2o_iovec_t *out);
/** Finds `name` in an application/x-www-form-urlencoded or query string. */
int proxy_form_param(h2o_mem_pool_t *pool, h2o_iovec_t qs, const char *name, h2o_iovec_t *out);
/** Percent-encodes for a query string into the pool. */
h2o_iovec_t proxy_url_encode(h2o_mem_pool_t *pool, h2o_iovec_t s);
/** Adds X-Influxdb-Version/Build and the request id headers, as InfluxDB does on every response. */
void proxy_add_influx_headers(h2o_req_t *req);
/** Sends `{"error":"<msg>"}\n` with status, X-Influxdb-Error, as InfluxDB does. */
void proxy_send_error(h2o_req_t *req, int status, const char *reason, const char *msg);
/** Sends a body as application/json. */
void proxy_send_json(h2o_req_t *req, int status, const char *reason, h2o_iovec_t body);
/** Registers a handler function for a path prefix. */
void proxy_route(h2o_hostconf_t *host, const char *path, int (*fn)(h2o_handler_t *, h2o_req_t *));
/** Wall clock, ns since the Unix epoch. */
int64_t proxy_now_ns(void);

/* --- forward.c: relaying one request to the upstream --- */

typedef struct proxy_fwd proxy_fwd_t;

/** Called once, when the upstream's status is known (status 0 = the upstream failed; the client
 * then gets a 503). `data` is what proxy_forward was given. */
typedef void (*proxy_fwd_status_cb)(void *data, int status);

typedef struct proxy_fwd_opts {
    h2o_iovec_t method;       /* default: the request's */
    h2o_iovec_t path;         /* path and query; default: the request's */
    h2o_iovec_t body;         /* default: req->entity */
    bool drop_content_encoding; /* the body was decoded here */
    h2o_iovec_t extra_headers; /* raw "Name: value\r\n" lines, or empty */
    bool drop_authorization;  /* extra_headers carry a replacement */
    proxy_fwd_status_cb on_status;
    void *data;
} proxy_fwd_opts_t;

/** Forwards req upstream and streams the upstream's response back unchanged (status, body,
 * headers but hop-by-hop ones). An upstream that cannot be reached or times out gives 503 JSON. */
void proxy_forward(h2o_req_t *req, const proxy_fwd_opts_t *opts);

/** Probes the upstream with GET /ping; cb(data, status) with 0 when it did not answer in time.
 * The probe is owned by req's pool. */
void proxy_probe(h2o_req_t *req, proxy_fwd_status_cb cb, void *data);

/* --- handlers (write.c, server.c, api.c) --- */
int proxy_on_write(h2o_handler_t *self, h2o_req_t *req);
int proxy_on_write_v2(h2o_handler_t *self, h2o_req_t *req);
int proxy_on_api_write(h2o_handler_t *self, h2o_req_t *req);
int proxy_on_ping(h2o_handler_t *self, h2o_req_t *req);
int proxy_on_health(h2o_handler_t *self, h2o_req_t *req);
int proxy_on_passthrough(h2o_handler_t *self, h2o_req_t *req);
/** Registers /recordings and /replays (api_record.c). */
void proxy_api_record_register(h2o_hostconf_t *host);
/** Registers the API listener's routes. */
void proxy_api_register(proxy_server_t *s, h2o_hostconf_t *host);
#endif
