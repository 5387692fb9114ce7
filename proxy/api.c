/* proxy/api.c - the API listener (default :9092): Kapacitor's /kapacitor/v1/ routes grow here.
 * For now: ping and /debug/vars with the ingest counters, in Kapacitor's shape. */
#include "proxy/internal.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void add_kapacitor_headers(h2o_req_t *req)
{
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-kapacitor-version"), 0, "X-Kapacitor-Version",
                          H2O_STRLIT("farad-" FARAD_VERSION));
}

static void send_json(h2o_req_t *req, int status, const char *reason, json_t *doc)
{
    char *s = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    size_t n = s ? strlen(s) : 0;
    h2o_iovec_t body = h2o_strdup(&req->pool, s ? s : "", n);
    free(s);
    req->res.status = status;
    req->res.reason = reason;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, H2O_STRLIT("application/json"));
    add_kapacitor_headers(req);
    h2o_send_inline(req, body.base, body.len);
}

static void send_api_error(h2o_req_t *req, int status, const char *reason, const char *msg)
{
    send_json(req, status, reason, json_pack("{s:s}", "error", msg));
}

static int on_ping(h2o_handler_t *self, h2o_req_t *req)
{
    req->res.status = 204;
    req->res.reason = "No Content";
    add_kapacitor_headers(req);
    h2o_send_inline(req, NULL, 0);
    return 0;
}

struct vars_ctx {
    json_t *stats;
    unsigned n;
};

static json_t *str_json(fa_str_t s) { return json_stringn(s.ptr ? s.ptr : "", s.len); }

static void add_dbrp_row(void *arg, const eng_statrow_t *r)
{
    static const char *const names[ENG_DBRP_N] = { "points_received", "batches_received", "bytes_received",
                                                   "batches_dropped", "points_dropped",  "parse_errors" };
    struct vars_ctx *v = arg;
    fa_str_t parts[2] = { FA_STR_NULL, FA_STR_NULL };
    eng_statrow_parts(r, parts, 2);
    json_t *values = json_object();
    for (unsigned i = 0; i < ENG_DBRP_N; i++)
        json_object_set_new(values, names[i], json_integer((json_int_t)eng_statrow_load(r, i)));
    json_t *tags = json_object();
    json_object_set_new(tags, "database", str_json(parts[0]));
    json_object_set_new(tags, "retention_policy", str_json(parts[1]));
    char key[32];
    snprintf(key, sizeof key, "tee:%u", v->n++);
    json_object_set_new(v->stats, key, json_pack("{s:s,s:o,s:o}", "name", "tee", "tags", tags, "values", values));
}

static void add_measurement_row(void *arg, const eng_statrow_t *r)
{
    struct vars_ctx *v = arg;
    fa_str_t parts[3] = { FA_STR_NULL, FA_STR_NULL, FA_STR_NULL };
    eng_statrow_parts(r, parts, 3);
    json_t *tags = json_object();
    json_object_set_new(tags, "database", str_json(parts[0]));
    json_object_set_new(tags, "retention_policy", str_json(parts[1]));
    json_object_set_new(tags, "measurement", str_json(parts[2]));
    json_object_set_new(tags, "task_master", json_string("main"));
    json_t *values = json_pack("{s:I}", "points_received", (json_int_t)eng_statrow_load(r, 0));
    char key[32];
    snprintf(key, sizeof key, "ingress:%u", v->n++);
    json_object_set_new(v->stats, key, json_pack("{s:s,s:o,s:o}", "name", "ingress", "tags", tags, "values", values));
}

static int on_debug_vars(h2o_handler_t *self, h2o_req_t *req)
{
    proxy_thread_t *t = proxy_thread_of(req);
    char host[256] = "localhost";
    gethostname(host, sizeof host - 1);
    struct vars_ctx v = { json_object(), 0 };
    eng_statmap_each(eng_ingest_dbrp_stats(t->server->ingest), add_dbrp_row, &v);
    eng_statmap_each(eng_ingest_measurement_stats(t->server->ingest), add_measurement_row, &v);
    proxy_subs_stats_t ss = { 0 };
    if (t->server->subs != NULL) {
        proxy_subs_get_stats(t->server->subs, &ss);
        json_t *tags = json_pack("{s:s,s:s}", "name", proxy_subs_name(t->server->subs), "url", proxy_subs_url(t->server->subs));
        json_t *values = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:b}", "num_subscriptions", (json_int_t)ss.num_subscriptions,
                                   "syncs", (json_int_t)ss.syncs, "links", (json_int_t)ss.links, "repairs", (json_int_t)ss.repairs,
                                   "drops", (json_int_t)ss.drops, "stale_dropped", (json_int_t)ss.stale_dropped, "errors",
                                   (json_int_t)ss.errors, "linked", ss.linked);
        json_object_set_new(v.stats, "subscriptions", json_pack("{s:s,s:o,s:o}", "name", "subscriptions", "tags", tags, "values", values));
    }
    json_t *doc = json_pack("{s:s,s:s,s:s,s:i,s:i,s:I,s:s,s:o}", "version", FARAD_VERSION, "platform", "farad", "host", host,
                            "num_tasks", 0, "num_enabled_tasks", 0, "num_subscriptions", (json_int_t)ss.num_subscriptions,
                            "product", "farad", "kapacitor", v.stats);
    send_json(req, 200, "OK", doc);
    return 0;
}

/* POST /kapacitor/v1/subscriptions: re-link now and drop other instances' dead farad-* subscriptions.
 * The sync runs on the manager's thread; the answer does not wait for it. */
static int on_subscriptions(h2o_handler_t *self, h2o_req_t *req)
{
    proxy_thread_t *t = proxy_thread_of(req);
    if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("POST"))) {
        send_api_error(req, 405, "Method Not Allowed", "method not allowed: POST re-links the subscriptions");
        return 0;
    }
    if (t->server->subs == NULL) {
        send_api_error(req, 400, "Bad Request", "subscriptions are off (subs.enabled, -subscribe)");
        return 0;
    }
    proxy_subs_request_sync(t->server->subs, true);
    req->res.status = 204;
    req->res.reason = "No Content";
    add_kapacitor_headers(req);
    h2o_send_inline(req, NULL, 0);
    return 0;
}

static int on_not_found(h2o_handler_t *self, h2o_req_t *req)
{
    char msg[300];
    snprintf(msg, sizeof msg, "unknown path %.*s", (int)(req->path.len > 200 ? 200 : req->path.len), req->path.base);
    send_api_error(req, 404, "Not Found", msg);
    return 0;
}

void proxy_api_register(proxy_server_t *s, h2o_hostconf_t *host)
{
    proxy_route(host, "/kapacitor/v1/ping", on_ping);
    proxy_route(host, "/kapacitor/v1/write", proxy_on_api_write);
    proxy_route(host, "/write", proxy_on_api_write);
    proxy_route(host, "/kapacitor/v1/debug/vars", on_debug_vars);
    proxy_route(host, "/kapacitor/v1/subscriptions", on_subscriptions);
    proxy_route(host, "/kapacitor/v1preview/ping", on_ping);
    proxy_route(host, "/ping", on_ping);
    proxy_route(host, "/debug/vars", on_debug_vars);
    proxy_route(host, "/", on_not_found);
}
