/* proxy/api.c - the API listener (default :9092): ping, the subscription target /write and
 * /debug/vars (ingest counters and task stats, in Kapacitor's shape); the task API's routes are
 * in api_tasks.c. */
#include "proxy/api.h"
#include "proxy/internal.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int on_ping(h2o_handler_t *self, h2o_req_t *req)
{
    api_send_no_content(req);
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

/* per running task: "task" (throughput, points) and one "nodes" entry per node, as Kapacitor's stats */
static void add_task_rows(proxy_api_t *api, struct vars_ctx *v, const char *host)
{
    eng_tdef_t *all[1024];
    uint32_t n = eng_defs_tasks(api->defs, "", 0, all, 1024);
    char key[300];
    for (uint32_t i = 0; i < n; i++) {
        const eng_task_t *task = all[i]->running;
        eng_tm_task_stats_t ts;
        if (task == NULL || eng_tm_task_stats(api->tm, all[i]->id, &ts) != 0)
            continue;
        snprintf(key, sizeof key, "task:%s", all[i]->id);
        json_object_set_new(v->stats, key,
                            json_pack("{s:s,s:{s:s,s:s,s:s},s:{s:f,s:I,s:I,s:I,s:I}}", "name", "task", "tags", "task",
                                      all[i]->id, "host", host, "task_master", "main", "values", "throughput",
                                      ts.throughput, "points_in", (json_int_t)ts.points_in, "points_dropped",
                                      (json_int_t)ts.points_dropped, "batches_in", (json_int_t)ts.batches_in,
                                      "batches_dropped", (json_int_t)ts.batches_dropped));
        for (uint32_t k = 0; k < task->n_nodes; k++) {
            const eng_node_t *nd = &task->nodes[k];
            uint64_t samples = atomic_load(&nd->stats.exec_samples);
            json_t *values = json_pack("{s:I,s:I,s:I,s:I,s:I}", "avg_exec_time_ns",
                                       (json_int_t)(samples ? atomic_load(&nd->stats.exec_ns) / samples : 0), "collected",
                                       (json_int_t)atomic_load(&nd->stats.collected), "emitted",
                                       (json_int_t)atomic_load(&nd->stats.emitted), "errors",
                                       (json_int_t)atomic_load(&nd->stats.errors), "working_cardinality",
                                       (json_int_t)atomic_load(&nd->stats.cardinality));
            for (unsigned c = 0; nd->ops->counters != NULL && nd->ops->counters[c] != NULL && c < 8; c++)
                json_object_set_new(values, nd->ops->counters[c], json_integer((json_int_t)atomic_load(&nd->stats.own[c])));
            snprintf(key, sizeof key, "nodes:%s:%s", all[i]->id, nd->name);
            json_object_set_new(v->stats, key,
                                json_pack("{s:s,s:{s:s,s:s,s:s,s:s,s:s},s:o}", "name", "nodes", "tags", "task", all[i]->id,
                                          "node", nd->name, "type", nd->ops->type, "host", host, "task_master", "main",
                                          "values", values));
        }
    }
}

static int on_debug_vars(h2o_handler_t *self, h2o_req_t *req)
{
    proxy_thread_t *t = proxy_thread_of(req);
    char host[256] = "localhost";
    gethostname(host, sizeof host - 1);
    struct vars_ctx v = { json_object(), 0 };
    eng_statmap_each(eng_ingest_dbrp_stats(t->server->ingest), add_dbrp_row, &v);
    eng_statmap_each(eng_ingest_measurement_stats(t->server->ingest), add_measurement_row, &v);
    uint32_t n_tasks = 0, n_enabled = 0;
    proxy_api_t *api = t->server->api;
    if (api != NULL && api->defs != NULL) {
        eng_defs_counts(api->defs, &n_tasks, &n_enabled);
        add_task_rows(api, &v, host);
    }
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
                            "num_tasks", (int)n_tasks, "num_enabled_tasks", (int)n_enabled, "num_subscriptions", (json_int_t)ss.num_subscriptions,
                            "product", "farad", "kapacitor", v.stats);
    api_send_json(req, 200, doc);
    return 0;
}

/* POST /kapacitor/v1/subscriptions: re-link now and drop other instances' dead farad-* subscriptions.
 * The sync runs on the manager's thread; the answer does not wait for it. */
static int on_subscriptions(h2o_handler_t *self, h2o_req_t *req)
{
    proxy_thread_t *t = proxy_thread_of(req);
    if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("POST"))) {
        api_send_error(req, 405, "method not allowed: POST re-links the subscriptions");
        return 0;
    }
    if (t->server->subs == NULL) {
        api_send_error(req, 400, "subscriptions are off (subs.enabled, -subscribe)");
        return 0;
    }
    proxy_subs_request_sync(t->server->subs, true);
    api_send_no_content(req);
    return 0;
}

static int on_not_found(h2o_handler_t *self, h2o_req_t *req)
{
    char msg[300];
    snprintf(msg, sizeof msg, "unknown path %.*s", (int)(req->path.len > 200 ? 200 : req->path.len), req->path.base);
    api_send_error(req, 404, msg);
    return 0;
}

/* the subscription target, with Kapacitor's version header on every answer */
static int on_write(h2o_handler_t *self, h2o_req_t *req)
{
    api_add_headers(req);
    return proxy_on_api_write(self, req);
}

void proxy_api_register(proxy_server_t *s, h2o_hostconf_t *host)
{
    proxy_route(host, "/kapacitor/v1/ping", on_ping);
    proxy_route(host, "/kapacitor/v1/write", on_write);
    proxy_route(host, "/write", on_write);
    proxy_api_tasks_register(s, host);
    proxy_route(host, "/kapacitor/v1preview/write", on_write);
    proxy_route(host, "/kapacitor/v1preview/debug/vars", on_debug_vars);
    proxy_route(host, "/kapacitor/v1/debug/vars", on_debug_vars);
    proxy_route(host, "/kapacitor/v1/subscriptions", on_subscriptions);
    proxy_api_record_register(host);
    proxy_route(host, "/kapacitor/v1preview/ping", on_ping);
    proxy_route(host, "/ping", on_ping);
    proxy_route(host, "/debug/vars", on_debug_vars);
    proxy_route(host, "/", on_not_found);
}
