/* proxy/api_json.c - Kapacitor's JSON shapes for tasks and templates (KAPACITOR.md §1, §8):
 * RFC 3339 times, vars with durations in ns, node stats, links. */
#include "proxy/api.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/duration.h"

json_t *api_time_json(int64_t ns)
{
    if (ns == 0)
        return json_string("0001-01-01T00:00:00Z");
    time_t sec = (time_t)(ns / 1000000000);
    long frac = (long)(ns % 1000000000);
    if (frac < 0) {
        frac += 1000000000;
        sec--;
    }
    struct tm tm;
    gmtime_r(&sec, &tm);
    char buf[64], f[16] = "";
    if (frac != 0) {
        snprintf(f, sizeof f, ".%09ld", frac);
        size_t n = strlen(f);
        while (n > 1 && n < sizeof f && f[n - 1] == '0')
            f[--n] = '\0';
    }
    snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d%sZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, f);
    return json_string(buf);
}

/* A var as Kapacitor returns it: durations in ns, star {"typeOf":"star"}, lists item by item. */
static json_t *canonical_var(json_t *v)
{
    json_t *out = json_deep_copy(v);
    const char *type = json_string_value(json_object_get(v, "type"));
    json_t *val = json_object_get(v, "value");
    if (type == NULL)
        return out;
    if (strcmp(type, "duration") == 0 && json_is_string(val)) {
        int64_t ns;
        if (fa_duration_parse(fa_str_c(json_string_value(val)), FA_DUR_API | FA_DUR_SIGN, &ns) == 0)
            json_object_set_new(out, "value", json_integer(ns));
    } else if (strcmp(type, "star") == 0) {
        json_object_set_new(out, "value", json_pack("{s:s}", "typeOf", "star"));
    } else if (strcmp(type, "list") == 0 && json_is_array(val)) {
        json_t *a = json_array();
        size_t i;
        json_t *it;
        json_array_foreach(val, i, it) json_array_append_new(a, canonical_var(it));
        json_object_set_new(out, "value", a);
    }
    return out;
}

json_t *api_vars_json(const char *vars)
{
    json_t *out = json_object();
    if (vars == NULL || *vars == '\0')
        return out;
    json_t *in = json_loads(vars, 0, NULL);
    const char *k;
    json_t *v;
    json_object_foreach(in, k, v) json_object_set_new(out, k, canonical_var(v));
    json_decref(in);
    return out;
}

static json_t *dbrps_json(const eng_tdef_t *t)
{
    json_t *a = json_array();
    for (uint32_t i = 0; i < t->n_dbrps; i++)
        json_array_append_new(a, json_pack("{s:s%,s:s%}", "db", t->dbrps[i].db.ptr, t->dbrps[i].db.len, "rp",
                                           t->dbrps[i].rp.ptr, t->dbrps[i].rp.len));
    return a;
}

static json_t *stats_json(proxy_api_t *api, const eng_tdef_t *t)
{
    json_t *o = json_object();
    const eng_task_t *task = t->running;
    if (task == NULL)
        return o;
    eng_tm_task_stats_t ts;
    double throughput = eng_tm_task_stats(api->tm, t->id, &ts) == 0 ? ts.throughput : 0;
    json_object_set_new(o, "task-stats", json_pack("{s:f}", "throughput", throughput));
    json_t *nodes = json_object();
    for (uint32_t i = 0; i < task->n_nodes; i++) {
        const eng_node_t *n = &task->nodes[i];
        uint64_t samples = atomic_load(&n->stats.exec_samples);
        json_t *ns = json_pack("{s:I,s:I,s:I,s:I,s:I}", "avg_exec_time_ns",
                               (json_int_t)(samples ? atomic_load(&n->stats.exec_ns) / samples : 0), "collected",
                               (json_int_t)atomic_load(&n->stats.collected), "emitted",
                               (json_int_t)atomic_load(&n->stats.emitted), "errors",
                               (json_int_t)atomic_load(&n->stats.errors), "working_cardinality",
                               (json_int_t)atomic_load(&n->stats.cardinality));
        for (unsigned k = 0; n->ops->counters != NULL && n->ops->counters[k] != NULL && k < 8; k++)
            json_object_set_new(ns, n->ops->counters[k], json_integer((json_int_t)atomic_load(&n->stats.own[k])));
        json_object_set_new(nodes, n->name, ns);
    }
    json_object_set_new(o, "node-stats", nodes);
    return o;
}

/* Kapacitor's dot-view=labels: the stats go into each node's label instead of attributes. */
static void dot_labels(fa_buf_t *in, fa_buf_t *out)
{
    const char *p = fa_buf_cstr(in), *end = p + in->len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *stop = nl ? nl : end;
        const char *br = memchr(p, '[', (size_t)(stop - p));
        const char *arrow = br ? memmem(p, (size_t)(br - p), "->", 2) : NULL;
        if (br != NULL && arrow == NULL && stop - br > 2 && stop[-1] == ';' && stop[-2] == ']' &&
            memmem(p, (size_t)(br - p), "graph", 5) == NULL) {
            fa_str_t name = fa_str(p, (size_t)(br - p));
            while (name.len && name.ptr[name.len - 1] == ' ')
                name.len--;
            fa_buf_append_str(out, name);
            fa_buf_append_c(out, " [label=\"");
            fa_buf_append_str(out, name);
            if (stop - br > 3)
                fa_buf_append_c(out, "\\n");
            for (const char *q = br + 1; q < stop - 2; q++) {
                if (*q == '"')
                    continue;
                if (*q == ' ')
                    fa_buf_append_c(out, "\\n");
                else if (*q == '=')
                    fa_buf_append_c(out, ": ");
                else
                    fa_buf_append(out, q, 1);
            }
            fa_buf_append_c(out, "\"];");
        } else
            fa_buf_append(out, p, (size_t)(stop - p));
        if (nl)
            fa_buf_append(out, "\n", 1);
        p = nl ? nl + 1 : end;
    }
}

json_t *api_task_json(proxy_api_t *api, const eng_tdef_t *t, const api_view_t *v)
{
    char href[400];
    snprintf(href, sizeof href, "/kapacitor/v1/tasks/%s", t->id);
    json_t *o = json_object();
    json_object_set_new(o, "link", json_pack("{s:s,s:s}", "rel", "self", "href", href));
    json_object_set_new(o, "id", json_string(t->id));
#define WANT(f) (v == NULL || api_view_wants(v, f))
    if (WANT("template-id"))
        json_object_set_new(o, "template-id", json_string(t->template_id));
    if (WANT("type"))
        json_object_set_new(o, "type", json_string(t->type == TICK_EDGE_BATCH ? "batch" : "stream"));
    if (WANT("dbrps"))
        json_object_set_new(o, "dbrps", dbrps_json(t));
    if (WANT("script"))
        json_object_set_new(o, "script", json_string(v && v->raw_script ? t->script : t->formatted ? t->formatted : t->script));
    if (WANT("vars"))
        json_object_set_new(o, "vars", api_vars_json(t->vars));
    if (WANT("dot")) {
        fa_buf_t dot = FA_BUF_INIT, lab = FA_BUF_INIT;
        eng_tdef_dot(api->defs, t, &dot);
        if (v && v->dot_labels) {
            dot_labels(&dot, &lab);
            json_object_set_new(o, "dot", json_stringn(lab.ptr ? lab.ptr : "", lab.len));
        } else
            json_object_set_new(o, "dot", json_stringn(dot.ptr ? dot.ptr : "", dot.len));
        fa_buf_deinit(&dot);
        fa_buf_deinit(&lab);
    }
    if (WANT("status"))
        json_object_set_new(o, "status", json_string(t->enabled ? "enabled" : "disabled"));
    if (WANT("executing"))
        json_object_set_new(o, "executing", json_boolean(t->running != NULL));
    if (WANT("error"))
        json_object_set_new(o, "error", json_string(t->error ? t->error : ""));
    if (WANT("stats"))
        json_object_set_new(o, "stats", stats_json(api, t));
    if (WANT("created"))
        json_object_set_new(o, "created", api_time_json(t->created));
    if (WANT("modified"))
        json_object_set_new(o, "modified", api_time_json(t->modified));
    if (WANT("last-enabled"))
        json_object_set_new(o, "last-enabled", api_time_json(t->last_enabled));
    if (WANT("loaded-from-file"))
        json_object_set_new(o, "loaded-from-file", json_boolean(t->from_file));
    return o;
}

json_t *api_template_json(proxy_api_t *api, const eng_tmpl_t *t, const api_view_t *v)
{
    char href[400];
    snprintf(href, sizeof href, "/kapacitor/v1/templates/%s", t->id);
    json_t *o = json_object();
    json_object_set_new(o, "link", json_pack("{s:s,s:s}", "rel", "self", "href", href));
    json_object_set_new(o, "id", json_string(t->id));
    if (WANT("type"))
        json_object_set_new(o, "type", json_string(t->type == TICK_EDGE_BATCH ? "batch" : "stream"));
    if (WANT("script"))
        json_object_set_new(o, "script", json_string(v && v->raw_script ? t->script : t->formatted));
    if (WANT("vars")) {
        fa_buf_t b = FA_BUF_INIT;
        eng_tmpl_vars_json(t, &b);
        json_t *vars = json_loadb(b.ptr ? b.ptr : "{}", b.len ? b.len : 2, 0, NULL);
        json_object_set_new(o, "vars", vars ? vars : json_object());
        fa_buf_deinit(&b);
    }
    if (WANT("dot")) {
        /* the template's DAG, placeholders unresolved: draw it from a checked template parse */
        fa_arena_t a;
        fa_arena_init(&a, 8192, 0);
        tick_ast_t *ast;
        tick_pipeline_t *pipe;
        tick_err_t te;
        fa_buf_t dot = FA_BUF_INIT;
        if (tick_parse(t->script, strlen(t->script), &a, &ast, &te) == 0 &&
            tick_check(ast, TICK_CHECK_TEMPLATE, &a, &pipe, &te) == 0)
            tick_dot(pipe, t->id, NULL, NULL, &dot);
        json_object_set_new(o, "dot", json_stringn(dot.ptr ? dot.ptr : "", dot.len));
        fa_buf_deinit(&dot);
        fa_arena_deinit(&a);
    }
    if (WANT("error"))
        json_object_set_new(o, "error", json_string(""));
    if (WANT("created"))
        json_object_set_new(o, "created", api_time_json(t->created));
    if (WANT("modified"))
        json_object_set_new(o, "modified", api_time_json(t->modified));
#undef WANT
    return o;
}

bool api_view_wants(const api_view_t *v, const char *field)
{
    if (v->n_fields == 0)
        return true;
    for (unsigned i = 0; i < v->n_fields; i++)
        if (strcmp(v->fields[i], field) == 0)
            return true;
    return false;
}
