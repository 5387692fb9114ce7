/* proxy/server.c - listeners, event-loop threads and routes.
 *
 * Each proxy thread runs its own h2o event loop with its own listening socket on the same
 * address (SO_REUSEPORT: the kernel spreads connections), its own upstream connection pool and
 * its own tee port, so a request is accepted, parsed, forwarded and answered on one thread.
 * The API listener gets one more loop of its own: a busy proxy never delays the API. */
#include "proxy/api.h"
#include "proxy/internal.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int on_req_passthrough(h2o_handler_t *self, h2o_req_t *req);

/* "HOST:PORT", ":PORT" or "[V6]:PORT" -> a listening, non-blocking socket. */
static int listen_on(const char *addr, int *port_out, char *err, size_t errlen)
{
    char host[256] = "", port[16] = "";
    const char *colon = strrchr(addr, ':'), *h = addr;
    if (colon == NULL || colon[1] == '\0' || strlen(colon + 1) >= sizeof port) {
        snprintf(err, errlen, "\"%s\" is not HOST:PORT", addr);
        return -1;
    }
    size_t hlen = (size_t)(colon - addr);
    if (hlen >= 2 && addr[0] == '[' && addr[hlen - 1] == ']') {
        h++;
        hlen -= 2;
    }
    if (hlen >= sizeof host) {
        snprintf(err, errlen, "\"%s\": host too long", addr);
        return -1;
    }
    memcpy(host, h, hlen);
    strcpy(port, colon + 1);

    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE }, *ai;
    int rc = getaddrinfo(hlen ? host : NULL, port, &hints, &ai);
    if (rc != 0) {
        snprintf(err, errlen, "cannot resolve \"%s\": %s", addr, gai_strerror(rc));
        return -1;
    }
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), on = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) != 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 ||
        listen(fd, 1024) != 0) {
        snprintf(err, errlen, "cannot listen on %s: %s", addr, strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return -1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    freeaddrinfo(ai);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    *port_out = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port : ((struct sockaddr_in *)&ss)->sin_port);
    return fd;
}

/* Another socket on the address `fd` is bound to (SO_REUSEPORT), for the next loop. */
static int listen_again(int fd, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    int on = 1;
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    int nfd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (nfd < 0 || setsockopt(nfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0 ||
        setsockopt(nfd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) != 0 || bind(nfd, (struct sockaddr *)&ss, sl) != 0 ||
        listen(nfd, 1024) != 0) {
        snprintf(err, errlen, "cannot open another listener: %s", strerror(errno));
        if (nfd >= 0)
            close(nfd);
        return -1;
    }
    setsockopt(nfd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    return nfd;
}

static void on_accept(h2o_socket_t *listener, const char *err)
{
    proxy_thread_t *t = listener->data;
    if (err != NULL)
        return;
    for (int i = 0; i < 64; i++) {
        h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
        if (sock == NULL)
            break;
        h2o_accept(&t->accept_ctx, sock);
    }
}

static void setup_globalconf(h2o_globalconf_t *g, const fa_conf_t *conf)
{
    h2o_config_init(g);
    g->server_name = h2o_iovec_init(H2O_STRLIT(""));
    /* h2o's own 413 would be plain text: let bodies up to twice the limit reach the handler,
     * which answers InfluxDB's JSON 413 itself */
    g->max_request_entity_size = conf->proxy_max_body * 2 + 65536;
}

static int parse_upstream(proxy_server_t *s, char *err, size_t errlen)
{
    h2o_url_t url;
    const char *u = s->conf->upstream_url;
    if (h2o_url_parse(u, strlen(u), &url) != 0 || url.scheme != &H2O_URL_SCHEME_HTTP) {
        snprintf(err, errlen, "upstream.url: \"%s\" is not an http:// URL", u);
        return -1;
    }
    s->upstream_host = h2o_strdup(NULL, url.host.base, url.host.len);
    s->upstream_port = h2o_url_get_port(&url);
    s->upstream_authority = h2o_strdup(NULL, url.authority.base, url.authority.len);
    return 0;
}

static int thread_init(proxy_server_t *s, proxy_thread_t *t, unsigned idx, bool is_api, int fd)
{
    const fa_conf_t *c = s->conf;
    t->server = s;
    t->idx = idx;
    t->is_api = is_api;
    t->loop = h2o_evloop_create();
    h2o_context_init(&t->ctx, t->loop, is_api ? &s->api_conf : &s->proxy_conf);
    t->accept_ctx.ctx = &t->ctx;
    t->accept_ctx.hosts = (is_api ? &s->api_conf : &s->proxy_conf)->hosts;
    t->listener = h2o_evloop_socket_create(t->loop, fd, H2O_SOCKET_FLAG_DONT_READ);
    t->listener->data = t;

    h2o_socketpool_init_by_hostport(&t->pool, s->upstream_host, s->upstream_port, 0, c->upstream_pool);
    h2o_socketpool_set_timeout(&t->pool, t->loop, 60000);
    h2o_timeout_init(t->loop, &t->io_timeout, c->upstream_timeout_ms);
    h2o_timeout_init(t->loop, &t->connect_timeout, c->upstream_connect_timeout_ms);
    h2o_timeout_init(t->loop, &t->health_timeout, c->upstream_connect_timeout_ms);
    t->client_ctx.loop = t->loop;
    t->client_ctx.getaddr_receiver = &t->ctx.receivers.hostinfo_getaddr;
    t->client_ctx.io_timeout = &t->io_timeout;

    eng_ingest_port_t *port = eng_ingest_port(s->ingest, idx);
    if (port == NULL)
        return -1;
    proxy_tee_init(&t->tee, port, eng_ingest_dbrp_stats(s->ingest), (unsigned)c->tee_ring_slots, c->tee_batch_limit);
    t->scratch = FA_BUF_INIT;
    return 0;
}

unsigned proxy_server_ports_needed(const fa_conf_t *conf)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned n = conf->proxy_threads ? (unsigned)conf->proxy_threads : (unsigned)(cores > 0 ? cores : 1);
    return n + 1;
}

proxy_server_t *proxy_server_new(const fa_conf_t *conf, eng_ingest_t *ingest, char *err, size_t errlen)
{
    char why[256];
    proxy_server_t *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->conf = conf;
    s->ingest = ingest;
    s->proxy_fd = s->api_fd = -1;
    s->n_threads = proxy_server_ports_needed(conf) - 1;
    if (parse_upstream(s, err, errlen) != 0)
        goto Error;
    if (proxy_tee_filter_init(&s->filter, conf->tee_dbrps, conf->tee_default_rp, err, errlen) != 0)
        goto Error;

    setup_globalconf(&s->proxy_conf, conf);
    h2o_hostconf_t *host = h2o_config_register_host(&s->proxy_conf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    proxy_route(host, "/write", proxy_on_write);
    proxy_route(host, "/api/v2/write", proxy_on_write_v2);
    proxy_route(host, "/ping", proxy_on_ping);
    proxy_route(host, "/health", proxy_on_health);
    proxy_route(host, "/", on_req_passthrough);

    setup_globalconf(&s->api_conf, conf);
    proxy_api_register(s, h2o_config_register_host(&s->api_conf, h2o_iovec_init(H2O_STRLIT("default")), 65535));

    if ((s->proxy_fd = listen_on(conf->proxy_bind, &s->proxy_port, why, sizeof why)) < 0) {
        snprintf(err, errlen, "proxy.bind: %s", why);
        goto Error;
    }
    if ((s->api_fd = listen_on(conf->api_bind, &s->api_port, why, sizeof why)) < 0) {
        snprintf(err, errlen, "api.bind: %s", why);
        goto Error;
    }
    if (conf->subs_enabled && (s->subs = proxy_subs_new(conf, s->api_port, err, errlen)) == NULL)
        goto Error;
    s->threads = calloc(s->n_threads + 1, sizeof(*s->threads));
    if (s->threads == NULL) {
        snprintf(err, errlen, "out of memory");
        goto Error;
    }
    for (unsigned i = 0; i <= s->n_threads; i++) {
        bool is_api = i == s->n_threads;
        int fd = is_api ? s->api_fd : i == 0 ? s->proxy_fd : listen_again(s->proxy_fd, why, sizeof why);
        if (fd < 0 || thread_init(s, &s->threads[i], i, is_api, fd) != 0) {
            snprintf(err, errlen, "proxy.threads: %s", fd < 0 ? why : "not enough ingest ports");
            if (fd >= 0 && fd != s->proxy_fd && fd != s->api_fd)
                close(fd);
            goto Error;
        }
    }
    if (proxy_api_init(s, s->threads[s->n_threads].loop) != 0) {
        snprintf(err, errlen, "out of memory");
        goto Error;
    }
    return s;
Error:
    proxy_server_free(s);
    return NULL;
}

static void *thread_main(void *arg)
{
    proxy_thread_t *t = arg;
    h2o_socket_read_start(t->listener, on_accept);
    while (!atomic_load_explicit(&t->server->stopping, memory_order_acquire))
        h2o_evloop_run(t->loop, 100);
    /* stop accepting; let requests in flight finish, for at most the upstream timeout; close
     * idle client connections and the pooled upstream ones, then dispose of what the loop owns */
    h2o_socket_read_stop(t->listener);
    h2o_socket_close(t->listener);
    t->listener = NULL;
    h2o_context_request_shutdown(&t->ctx);
    uint64_t deadline = h2o_now(t->loop) + t->server->conf->upstream_timeout_ms;
    while (t->in_flight != 0 && h2o_now(t->loop) < deadline)
        h2o_evloop_run(t->loop, 10);
    for (int i = 0; i < 5; i++)
        h2o_evloop_run(t->loop, 0);
    /* h2o 2.2.5 cannot dispose of a context while client connections it does not let us close
     * are registered (h2o_timeout_dispose asserts): the loop, its context and sockets stay to
     * process exit (test/lsan.supp names them) */
    return NULL;
}

int proxy_server_start(proxy_server_t *s)
{
    for (unsigned i = 0; i <= s->n_threads; i++) {
        proxy_thread_t *t = &s->threads[i];
        h2o_multithread_create_thread(&t->tid, NULL, thread_main, t);
        char name[16];
        snprintf(name, sizeof name, t->is_api ? "http-api" : "http-%u", i);
        pthread_setname_np(t->tid, name);
    }
    if (s->subs != NULL)
        return proxy_subs_start(s->subs);
    return 0;
}

void proxy_server_stop(proxy_server_t *s)
{
    /* first, while the API still answers pushes in flight: drop our subscriptions (bounded) */
    proxy_subs_stop(s->subs);
    atomic_store_explicit(&s->stopping, true, memory_order_release);
    for (unsigned i = 0; s->threads != NULL && i <= s->n_threads; i++)
        if (s->threads[i].tid != 0)
            pthread_join(s->threads[i].tid, NULL);
}

void proxy_server_free(proxy_server_t *s)
{
    if (s == NULL)
        return;
    for (unsigned i = 0; s->threads != NULL && i <= s->n_threads; i++) {
        proxy_thread_t *t = &s->threads[i];
        proxy_tee_deinit(&t->tee);
        fa_buf_deinit(&t->scratch);
    }
    proxy_api_free(s);
    free(s->threads);
    proxy_subs_free(s->subs);
    if (s->proxy_conf.hosts != NULL)
        h2o_config_dispose(&s->proxy_conf);
    if (s->api_conf.hosts != NULL)
        h2o_config_dispose(&s->api_conf);
    proxy_tee_filter_deinit(&s->filter);
    free(s->upstream_host.base);
    free(s->upstream_authority.base);
    free((void *)atomic_load(&s->upstream_version));
    free(s);
}

int proxy_server_proxy_port(const proxy_server_t *s) { return s->proxy_port; }
int proxy_server_api_port(const proxy_server_t *s) { return s->api_port; }

/* --- the small handlers --- */

static int on_req_passthrough(h2o_handler_t *self, h2o_req_t *req) { return proxy_on_passthrough(self, req); }

int proxy_on_passthrough(h2o_handler_t *self, h2o_req_t *req)
{
    proxy_forward(req, NULL);
    return 0;
}

int proxy_on_ping(h2o_handler_t *self, h2o_req_t *req)
{
    h2o_iovec_t v;
    if (proxy_query_param(req, "verbose", &v) == 0 && v.len != 0 && !h2o_memis(v.base, v.len, H2O_STRLIT("0")) &&
        !h2o_memis(v.base, v.len, H2O_STRLIT("false"))) {
        proxy_thread_t *t = proxy_thread_of(req);
        const char *ver = atomic_load(&t->server->upstream_version);
        char *body = h2o_mem_alloc_pool(&req->pool, 128);
        int n = snprintf(body, 128, "{\"version\":\"%s\"}\n", ver ? ver : "farad-" FARAD_VERSION);
        proxy_send_json(req, 200, "OK", h2o_iovec_init(body, (size_t)n));
        return 0;
    }
    req->res.status = 204;
    req->res.reason = "No Content";
    proxy_add_influx_headers(req);
    h2o_send_inline(req, NULL, 0);
    return 0;
}

struct health {
    h2o_req_t *req;
};

static void on_health_status(void *data, int status)
{
    struct health *h = data;
    if (status < 0)
        return; /* the client went away */
    bool ok = status >= 200 && status < 300;
    char *body = h2o_mem_alloc_pool(&h->req->pool, 256);
    int n = snprintf(body, 256,
                     "{\"name\":\"farad\",\"message\":\"%s\",\"status\":\"%s\",\"checks\":[{\"name\":\"upstream\",\"status\":\"%s\"}],"
                     "\"version\":\"" FARAD_VERSION "\"}\n",
                     ok ? "ready for queries and writes" : "upstream unavailable", ok ? "pass" : "fail", ok ? "pass" : "fail");
    proxy_send_json(h->req, ok ? 200 : 503, ok ? "OK" : "Service Unavailable", h2o_iovec_init(body, (size_t)n));
}

int proxy_on_health(h2o_handler_t *self, h2o_req_t *req)
{
    struct health *h = h2o_mem_alloc_pool(&req->pool, sizeof(*h));
    h->req = req;
    proxy_probe(req, on_health_status, h);
    return 0;
}
