/* engine/node_alert.c - alert(): levels with resets, per-group state (history, flapping,
 * stateChangesOnly), id/message/details templates, Kapacitor's event JSON, inhibition, and the
 * hand-off of events to eng_env_t.alert_event and to the handler service.
 *
 * Per event, the three templates render into buffers the node keeps (they stop growing after
 * the first events) with their temporaries in the task's scratch arena; the event JSON is built
 * the same way. Events reach the world two ways, both optional: env->alert_event (farad test
 * captures them there) and, when env->alert_svc is set, the node's handlers, each through its
 * own bounded lane (alert_handlers.h): nothing here waits on a handler. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/alert.h"
#include "engine/alert_fmt.h"
#include "engine/alert_inhibit.h"
#include "engine/lambda.h"
#include "engine/nodes.h"
#include "engine/props.h"
#include "engine/template.h"

enum { OK = 0, INFO, WARN, CRIT, N_LEVELS };
static const char *const level_names[] = { "OK", "INFO", "WARNING", "CRITICAL" };
static const char *const lambda_props[] = { NULL, "info", "warn", "crit" };
static const char *const reset_props[] = { NULL, "infoReset", "warnReset", "critReset" };

struct gstate {
    uint64_t group;
    uint32_t idx;
    bool flapping, changed, expired;
    int64_t first, last; /* first and last triggered */
    uint8_t *hist;       /* history levels, ring */
};

struct alert_state {
    eng_lambda_t lvl[N_LEVELS], reset[N_LEVELS];
    bool has_lvl[N_LEVELS], has_reset[N_LEVELS];
    eng_tmpl_t *id_t, *msg_t, *det_t;
    bool sco, no_recoveries, all, flapping;
    int64_t sco_interval;
    double flap_low, flap_high;
    uint32_t history;
    fa_str_t topic, category, inhibit_cat;
    fa_str_t *inhibit_tags;
    uint32_t n_inhibit_tags;
    bool inhibit;
    fa_str_t level_tag, level_field, message_field, duration_field, id_tag, id_field;
    eng_alert_handler_t **handlers;
    uint32_t n_handlers;
    fa_str_t hostname, cluster_id, server_id;
    /* group states: open addressing on the group id, states in `mem` */
    fa_arena_t mem;
    struct gstate **slots;
    uint32_t cap, n_groups;
    fa_buf_t grp, id, msg, det, json;
};

/* ---- properties and handlers --------------------------------------------------------------- */

static int perr(tick_err_t *err, const tick_call_t *c, const eng_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int perr(tick_err_t *err, const tick_call_t *c, const eng_node_t *n, const char *fmt, ...)
{
    va_list ap;
    memset(err, 0, sizeof(*err));
    err->code = TICK_ETYPE;
    err->pos = c != NULL ? c->pos : n->spec->pos;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return -1;
}

static int compile_template(eng_node_t *n, const char *prop, const char *def, eng_tmpl_mode_t mode, eng_tmpl_t **out,
                            tick_err_t *err)
{
    const tick_call_t *c = eng_node_prop(n, prop);
    fa_str_t src = c != NULL ? eng_expr_str(c->args[0]) : fa_str_c(def);
    eng_tmpl_err_t te;
    if ((*out = eng_tmpl_parse(&n->task->arena, src, mode, &te)) != NULL)
        return 0;
    memset(err, 0, sizeof(*err));
    err->code = TICK_ETYPE;
    err->pos = c != NULL ? c->pos : n->spec->pos;
    snprintf(err->msg, sizeof err->msg, "invalid %s template: %u:%u: %s", prop, te.line, te.col, te.msg);
    return -1;
}

static bool is_alert_prop(fa_str_t name)
{
    static const char *const props[] = { "id", "message", "details", "topic", "info", "warn", "crit", "infoReset",
                                         "warnReset", "critReset", "stateChangesOnly", "noRecoveries", "all",
                                         "flapping", "history", "inhibit", "category", "levelTag", "levelField",
                                         "messageField", "durationField", "idTag", "idField", "quiet" };
    for (size_t i = 0; i < sizeof props / sizeof props[0]; i++)
        if (fa_str_eq_c(name, props[i]))
            return true;
    return false;
}

static void add_handler(eng_node_t *n, struct alert_state *s, eng_alert_handler_t *h)
{
    eng_alert_handler_t **v = FA_NEW(&n->task->arena, eng_alert_handler_t *, s->n_handlers + 1);
    if (s->n_handlers)
        memcpy(v, s->handlers, sizeof(*v) * s->n_handlers);
    v[s->n_handlers++] = h;
    s->handlers = v;
}

/* handler calls and their own properties, in script order: a property applies to the handler
 * made by the nearest handler call before it */
static int init_handlers(eng_node_t *n, struct alert_state *s, tick_err_t *err)
{
    eng_alert_svc_t *svc = n->task->env != NULL ? n->task->env->alert_svc : NULL;
    eng_alert_handler_t *cur = NULL;
    for (uint32_t i = 0; i < n->spec->nprops; i++) {
        const tick_call_t *c = n->spec->props[i];
        char name[32];
        snprintf(name, sizeof name, "%.*s", (int)c->name.len, c->name.ptr);
        eng_handler_kind_t kind;
        if (strcmp(name, "log") == 0)
            kind = ENG_HANDLER_LOG;
        else if (strcmp(name, "post") == 0)
            kind = ENG_HANDLER_POST;
        else if (strcmp(name, "tcp") == 0)
            kind = ENG_HANDLER_TCP;
        else if (strcmp(name, "exec") == 0)
            kind = ENG_HANDLER_EXEC;
        else if (is_alert_prop(c->name))
            continue;
        else if (strcmp(name, "header") == 0 || strcmp(name, "timeout") == 0 || strcmp(name, "mode") == 0 ||
                 strcmp(name, "captureResponse") == 0 || strcmp(name, "skipSSLVerification") == 0) {
            if (cur == NULL)
                continue; /* no service: nothing to configure */
            if (strcmp(name, "header") == 0)
                eng_alert_handler_header(cur, eng_expr_str(c->args[0]), eng_expr_str(c->args[1]));
            else if (strcmp(name, "mode") == 0)
                eng_alert_handler_set_mode(cur, (int)eng_expr_int(c->args[0]));
            else if (strcmp(name, "skipSSLVerification") == 0)
                eng_alert_handler_set_insecure(cur, 1);
            continue;
        } else if (strcmp(name, "endpoint") == 0) {
            return perr(err, c, n, "post handler endpoints from configuration are not supported by farad yet; give the URL: .post('http://...')");
        } else {
            return perr(err, c, n, "alert handler %s is not supported by farad yet (log, post, tcp and exec are)", name);
        }
        if (kind == ENG_HANDLER_POST && c->nargs == 0)
            return perr(err, c, n, "post handler endpoints from configuration are not supported by farad yet; give the URL: .post('http://...')");
        if (svc == NULL) {
            cur = NULL;
            continue;
        }
        int64_t timeout = 0;
        for (uint32_t k = i + 1; k < n->spec->nprops; k++) { /* .timeout() after .post() */
            const tick_call_t *t = n->spec->props[k];
            if (fa_str_eq_c(t->name, "log") || fa_str_eq_c(t->name, "post") || fa_str_eq_c(t->name, "tcp") ||
                fa_str_eq_c(t->name, "exec"))
                break;
            if (fa_str_eq_c(t->name, "timeout"))
                timeout = eng_expr_int(t->args[0]);
        }
        cur = eng_alert_handler_new(svc, kind, eng_expr_str(c->args[0]), timeout);
        for (uint32_t k = 1; kind == ENG_HANDLER_EXEC && k < c->nargs; k++) {
            const tick_expr_t *a = c->args[k];
            if (a->kind == TICK_EX_LIST)
                for (uint32_t j = 0; j < a->v.list.n; j++)
                    eng_alert_handler_arg(cur, eng_expr_str(a->v.list.items[j]));
            else
                eng_alert_handler_arg(cur, eng_expr_str(a));
        }
        add_handler(n, s, cur);
    }
    return 0;
}

static int init_levels(eng_node_t *n, struct alert_state *s, tick_err_t *err)
{
    for (int l = INFO; l <= CRIT; l++) {
        const tick_expr_t *e = eng_prop_arg(n, lambda_props[l], 0);
        if (e != NULL) {
            if (eng_lambda_compile(n, e, &s->lvl[l], err) != 0)
                return -1;
            s->has_lvl[l] = true;
        }
        e = eng_prop_arg(n, reset_props[l], 0);
        if (e != NULL) {
            if (eng_lambda_compile(n, e, &s->reset[l], err) != 0)
                return -1;
            s->has_reset[l] = true;
        }
    }
    return 0;
}

/* deadman(): Kapacitor's [deadman] defaults, with NODE_NAME and INTERVAL filled in */
static void deadman_defaults(eng_node_t *n, const char **id, const char **msg)
{
    const tick_call_t *c = n->spec->call;
    if (c == NULL || !fa_str_eq_c(c->name, "deadman") || n->n_parents == 0 || n->parents[0]->n_parents == 0)
        return;
    const tick_pnode_t *stats = n->parents[0]->parents[0]->spec;
    char watched[40] = "";
    if (stats->watch != NULL)
        tick_pnode_name(stats->watch, watched, sizeof watched);
    fa_buf_t iv = FA_BUF_INIT;
    eng_fmt_go_duration(&iv, eng_expr_int(c->args[1]));
    size_t idn = strlen(watched) + 64, msgn = iv.len + 160;
    char *idb = fa_arena_alloc(&n->task->arena, idn, 1), *msgb = fa_arena_alloc(&n->task->arena, msgn, 1);
    snprintf(idb, idn, "node '%s' in task '{{ .TaskName }}'", watched);
    snprintf(msgb, msgn,
             "{{ .ID }} is {{ if eq .Level \"OK\" }}alive{{ else }}dead{{ end }}: "
             "{{ index .Fields \"emitted\" | printf \"%%0.3f\" }} points/%s.", fa_buf_cstr(&iv));
    fa_buf_deinit(&iv);
    *id = idb;
    *msg = msgb;
}

static int alert_init(eng_node_t *n, tick_err_t *err)
{
    struct alert_state *s = n->state;
    fa_arena_init(&s->mem, 16384, 0);
    const char *def_id = "{{ .Name }}:{{ .Group }}", *def_msg = "{{ .ID }} is {{ .Level }}";
    deadman_defaults(n, &def_id, &def_msg);
    if (init_levels(n, s, err) != 0 ||
        compile_template(n, "id", def_id, ENG_TMPL_TEXT, &s->id_t, err) != 0 ||
        compile_template(n, "message", def_msg, ENG_TMPL_TEXT, &s->msg_t, err) != 0 ||
        compile_template(n, "details", "{{ json . }}", ENG_TMPL_HTML, &s->det_t, err) != 0)
        return -1;
    s->sco = eng_prop_set(n, "stateChangesOnly");
    s->sco_interval = eng_prop_dur(n, "stateChangesOnly", 0);
    s->no_recoveries = eng_prop_set(n, "noRecoveries");
    s->all = eng_prop_set(n, "all");
    s->flapping = eng_prop_set(n, "flapping");
    if (s->flapping) {
        const tick_call_t *c = eng_node_prop(n, "flapping");
        s->flap_low = eng_expr_float(c->args[0]);
        s->flap_high = eng_expr_float(c->args[1]);
        if (s->flap_low > 1 || s->flap_high > 1 || s->flap_low < 0 || s->flap_high < 0)
            return perr(err, c, n, "alert flap thresholds are percentages and should be between 0 and 1");
    }
    int64_t h = eng_prop_int(n, "history", 21);
    s->history = h < 2 ? 2 : h > 1000 ? 1000 : (uint32_t)h;
    s->topic = eng_prop_str(n, "topic", FA_STR_LIT(""));
    s->category = eng_prop_str(n, "category", FA_STR_LIT(""));
    const tick_call_t *inh = eng_node_prop(n, "inhibit");
    if (inh != NULL) {
        fa_str_t *all;
        uint32_t k = eng_prop_strs(n, "inhibit", &all);
        s->inhibit = true;
        s->inhibit_cat = all[0];
        s->inhibit_tags = all + 1;
        s->n_inhibit_tags = k - 1;
    }
    s->level_tag = eng_prop_str(n, "levelTag", FA_STR_NULL);
    s->level_field = eng_prop_str(n, "levelField", FA_STR_NULL);
    s->message_field = eng_prop_str(n, "messageField", FA_STR_NULL);
    s->duration_field = eng_prop_str(n, "durationField", FA_STR_NULL);
    s->id_tag = eng_prop_str(n, "idTag", FA_STR_NULL);
    s->id_field = eng_prop_str(n, "idField", FA_STR_NULL);
    const eng_alert_svc_t *svc = n->task->env != NULL ? n->task->env->alert_svc : NULL;
    const eng_alert_svc_conf_t *conf = svc != NULL ? eng_alert_svc_conf(svc) : NULL;
    s->hostname = fa_str_c(conf != NULL ? conf->hostname : "localhost");
    s->cluster_id = fa_str_c(conf != NULL ? conf->cluster_id : "");
    s->server_id = fa_str_c(conf != NULL ? conf->server_id : "");
    return init_handlers(n, s, err);
}

static void alert_deinit(eng_node_t *n)
{
    struct alert_state *s = n->state;
    for (int l = INFO; l <= CRIT; l++) {
        if (s->has_lvl[l])
            eng_lambda_release(&s->lvl[l]);
        if (s->has_reset[l])
            eng_lambda_release(&s->reset[l]);
    }
    for (uint32_t i = 0; i < s->n_handlers; i++)
        eng_alert_handler_release(s->handlers[i]);
    s->n_handlers = 0;
    if (s->category.len != 0)
        eng_alert_inhibit_drop(n);
    free(s->slots);
    fa_arena_deinit(&s->mem);
    fa_buf_deinit(&s->grp);
    fa_buf_deinit(&s->id);
    fa_buf_deinit(&s->msg);
    fa_buf_deinit(&s->det);
    fa_buf_deinit(&s->json);
}

fa_str_t eng_alert_topic(const eng_node_t *n)
{
    return n->ops == &eng_node_alert ? ((const struct alert_state *)n->state)->topic : FA_STR_LIT("");
}

eng_alert_handler_t *eng_alert_handler(const eng_node_t *n, uint32_t i)
{
    const struct alert_state *s = n->state;
    return n->ops == &eng_node_alert && i < s->n_handlers ? s->handlers[i] : NULL;
}

/* ---- group state --------------------------------------------------------------------------- */

static struct gstate *group_state(eng_node_t *n, struct alert_state *s, uint64_t group)
{
    if (s->cap != 0) {
        for (uint32_t i = (uint32_t)(group * 0x9e3779b97f4a7c15ull >> 32) & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
            if (s->slots[i] == NULL)
                break;
            if (s->slots[i]->group == group)
                return s->slots[i];
        }
    }
    if ((s->n_groups + 1) * 2 > s->cap) { /* grow and rehash */
        uint32_t cap = s->cap ? s->cap * 2 : 16;
        struct gstate **slots = calloc(cap, sizeof(*slots));
        if (slots == NULL)
            abort();
        for (uint32_t k = 0; k < s->cap; k++) {
            struct gstate *g = s->slots[k];
            if (g == NULL)
                continue;
            uint32_t i = (uint32_t)(g->group * 0x9e3779b97f4a7c15ull >> 32) & (cap - 1);
            while (slots[i] != NULL)
                i = (i + 1) & (cap - 1);
            slots[i] = g;
        }
        free(s->slots);
        s->slots = slots;
        s->cap = cap;
    }
    struct gstate *g = FA_NEW(&s->mem, struct gstate, 1);
    memset(g, 0, sizeof(*g));
    g->group = group;
    g->hist = fa_arena_alloc(&s->mem, s->history, 1);
    memset(g->hist, OK, s->history);
    uint32_t i = (uint32_t)(group * 0x9e3779b97f4a7c15ull >> 32) & (s->cap - 1);
    while (s->slots[i] != NULL)
        i = (i + 1) & (s->cap - 1);
    s->slots[i] = g;
    s->n_groups++;
    atomic_store_explicit(&n->stats.cardinality, s->n_groups, memory_order_relaxed);
    return g;
}

/* Kapacitor's percentChange: weighted share of changes in the history, newer changes weigh more */
static double percent_change(const struct alert_state *s, const struct gstate *g)
{
    const double max_weight = 1.5, weight_diff = 1.5;
    uint32_t l = s->history;
    double changes = 0, weight = max_weight / weight_diff, step = (max_weight - weight) / (double)(l - 1);
    for (uint32_t i = 0; i < l - 1; i++) {
        uint32_t c = (i + g->idx) % l, p = c == 0 ? l - 1 : c - 1;
        if (g->hist[c] != g->hist[p])
            changes += weight;
        weight += step;
    }
    return changes / (double)(l - 1);
}

static void update_state(struct alert_state *s, struct gstate *g, int level, int64_t t)
{
    g->changed = g->hist[g->idx] != level;
    g->idx = (g->idx + 1) % s->history;
    g->hist[g->idx] = (uint8_t)level;
    if (s->flapping) {
        double p = percent_change(s, g);
        if (g->flapping && p < s->flap_low)
            g->flapping = false;
        else if (!g->flapping && p > s->flap_high)
            g->flapping = true;
    }
    g->expired = !g->changed && s->sco_interval != 0 && t - g->last >= s->sco_interval;
}

static void triggered(struct alert_state *s, struct gstate *g, int64_t t)
{
    g->last = t;
    uint32_t p = g->idx == 0 ? s->history - 1 : g->idx - 1;
    if (g->hist[p] == OK)
        g->first = t;
}

/* ---- levels -------------------------------------------------------------------------------- */

/* -1 on a lambda error (counted, the point is dropped) */
static int eval_level(eng_node_t *n, eng_lambda_t *l, const eng_pt_t *p, bool *pass, const char *what)
{
    tick_err_t e;
    if (eng_lambda_eval_bool(l, n, p, pass, &e) != 0) {
        eng_node_error(n, "error evaluating expression for %s: %s", what, e.msg);
        return -1;
    }
    return 0;
}

static int first_match(eng_node_t *n, struct alert_state *s, int start, int stop, const eng_pt_t *p, int *out)
{
    if (stop < OK)
        stop = OK;
    for (int l = start; l > stop; l--) {
        bool pass;
        if (!s->has_lvl[l])
            continue;
        if (eval_level(n, &s->lvl[l], p, &pass, lambda_props[l]) != 0)
            return -1;
        if (pass) {
            *out = l;
            return 1;
        }
    }
    return 0;
}

/* Kapacitor's determineLevel: a higher (or the same) level wins; a level with a reset stays
 * until its reset is true; then the levels below are tried */
static int determine_level(eng_node_t *n, struct alert_state *s, const eng_pt_t *p, int current, int *out)
{
    int rc = first_match(n, s, CRIT, current - 1, p, out);
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    if (current != OK && s->has_reset[current]) {
        bool pass;
        if (eval_level(n, &s->reset[current], p, &pass, reset_props[current]) != 0)
            return -1;
        if (!pass) {
            *out = current;
            return 0;
        }
    }
    rc = first_match(n, s, current, OK, p, out);
    if (rc < 0)
        return -1;
    if (rc == 0)
        *out = OK;
    return 0;
}

/* ---- event --------------------------------------------------------------------------------- */

/* what an event is made of, for both edges */
struct event {
    fa_str_t name;
    const eng_dims_t *dims;
    const eng_tag_t *tags;
    uint32_t n_tags;
    const eng_field_t *fields; /* of the point that set the level */
    uint32_t n_fields;
    int64_t time, duration;
    int level, prev;
    const eng_point_t *points; /* the data rows */
    uint32_t n_points;
    bool batch;
};

static fa_str_t tag_value(const eng_tag_t *tags, uint32_t n, fa_str_t key)
{
    for (uint32_t i = 0; i < n; i++)
        if (fa_str_eq(tags[i].key, key))
            return tags[i].value;
    return FA_STR_LIT("");
}

/* Kapacitor's GroupID: "nil", the name, or [name "\n"] k=v,k=v over the group's tags */
static fa_str_t group_string(fa_buf_t *b, const struct event *ev)
{
    fa_buf_clear(b);
    const eng_dims_t *d = ev->dims;
    if (d == NULL || (d->n == 0 && !d->by_name))
        fa_buf_append_c(b, "nil");
    else if (d->n == 0)
        fa_buf_append_str(b, ev->name);
    else {
        if (d->by_name) {
            fa_buf_append_str(b, ev->name);
            fa_buf_append(b, "\n", 1);
        }
        for (uint32_t i = 0; i < d->n; i++) {
            if (i)
                fa_buf_append(b, ",", 1);
            fa_buf_append_str(b, d->tags[i]);
            fa_buf_append(b, "=", 1);
            fa_buf_append_str(b, tag_value(ev->tags, ev->n_tags, d->tags[i]));
        }
    }
    return fa_str(fa_buf_cstr(b), b->len);
}

static int cmp_strp(const void *a, const void *b) { return fa_str_cmp(*(const fa_str_t *)a, *(const fa_str_t *)b); }

/* sorted unique column names after "time": the first point's fields, plus (batch) its tags that
 * are not the batch's tags */
static uint32_t columns(fa_arena_t *a, const struct event *ev, fa_str_t **out)
{
    const eng_point_t *p = &ev->points[0];
    fa_str_t *c = FA_NEW(a, fa_str_t, p->n_fields + p->n_tags + 1);
    uint32_t n = 0;
    for (uint32_t i = 0; i < p->n_fields; i++)
        c[n++] = p->fields[i].key;
    for (uint32_t i = 0; ev->batch && i < p->n_tags; i++) {
        bool group_tag = false;
        for (uint32_t k = 0; k < ev->n_tags && !group_tag; k++)
            group_tag = fa_str_eq(ev->tags[k].key, p->tags[i].key);
        if (!group_tag)
            c[n++] = p->tags[i].key;
    }
    qsort(c, n, sizeof(*c), cmp_strp);
    uint32_t u = 0;
    for (uint32_t i = 0; i < n; i++)
        if (u == 0 || !fa_str_eq(c[u - 1], c[i]))
            c[u++] = c[i];
    *out = c;
    return u;
}

static int json_value(fa_buf_t *b, const eng_value_t *v)
{
    switch (v->type) {
    case ENG_FLOAT: return eng_fmt_json_float(b, v->f);
    case ENG_INT: return fa_buf_appendf(b, "%" PRId64, v->i);
    case ENG_UINT: return fa_buf_appendf(b, "%" PRIu64, v->u);
    case ENG_STRING: return eng_fmt_json_str(b, v->s);
    case ENG_BOOL: return fa_buf_append_c(b, v->b ? "true" : "false");
    }
    return fa_buf_append_c(b, "null");
}

static void json_tags(fa_buf_t *b, const eng_tag_t *tags, uint32_t n)
{
    fa_buf_append_c(b, "\"tags\":{");
    for (uint32_t i = 0; i < n; i++) {
        if (i)
            fa_buf_append(b, ",", 1);
        eng_fmt_json_str(b, tags[i].key);
        fa_buf_append(b, ":", 1);
        eng_fmt_json_str(b, tags[i].value);
    }
    fa_buf_append(b, "}", 1);
}

/* influxql's Row: {"name","tags","columns","values"}, empty members omitted */
static void json_row(fa_buf_t *b, fa_arena_t *a, const struct event *ev)
{
    fa_buf_append(b, "{", 1);
    bool any = false;
    if (ev->name.len != 0) {
        fa_buf_append_c(b, "\"name\":");
        eng_fmt_json_str(b, ev->name);
        any = true;
    }
    if (ev->n_tags != 0) {
        if (any)
            fa_buf_append(b, ",", 1);
        json_tags(b, ev->tags, ev->n_tags);
        any = true;
    }
    fa_str_t *cols;
    uint32_t nc = columns(a, ev, &cols);
    fa_buf_append_c(b, any ? ",\"columns\":[\"time\"" : "\"columns\":[\"time\"");
    for (uint32_t i = 0; i < nc; i++) {
        fa_buf_append(b, ",", 1);
        eng_fmt_json_str(b, cols[i]);
    }
    fa_buf_append_c(b, "],\"values\":[");
    for (uint32_t r = 0; r < ev->n_points; r++) {
        const eng_point_t *p = &ev->points[r];
        fa_buf_append_c(b, r ? ",[\"" : "[\"");
        eng_fmt_rfc3339(b, p->time);
        fa_buf_append(b, "\"", 1);
        for (uint32_t i = 0; i < nc; i++) {
            fa_buf_append(b, ",", 1);
            const eng_field_t *f = eng_point_field(p, cols[i]);
            fa_str_t t = f == NULL ? eng_point_tag(p, cols[i]) : FA_STR_NULL;
            if (f != NULL)
                json_value(b, &f->v);
            else if (t.ptr != NULL)
                eng_fmt_json_str(b, t);
            else
                fa_buf_append_c(b, "null");
        }
        fa_buf_append(b, "]", 1);
    }
    fa_buf_append_c(b, "]}");
}

static void event_json(struct alert_state *s, fa_arena_t *a, const struct event *ev)
{
    fa_buf_t *b = &s->json;
    fa_buf_clear(b);
    fa_buf_append_c(b, "{\"id\":");
    eng_fmt_json_str(b, fa_str(s->id.ptr, s->id.len));
    fa_buf_append_c(b, ",\"message\":");
    eng_fmt_json_str(b, fa_str(s->msg.ptr, s->msg.len));
    fa_buf_append_c(b, ",\"details\":");
    eng_fmt_json_str(b, fa_str(s->det.ptr, s->det.len));
    fa_buf_append_c(b, ",\"time\":\"");
    eng_fmt_rfc3339(b, ev->time);
    fa_buf_appendf(b, "\",\"duration\":%" PRId64 ",\"level\":\"%s\",\"data\":{\"series\":[", ev->duration,
                   level_names[ev->level]);
    json_row(b, a, ev);
    fa_buf_appendf(b, "]},\"previousLevel\":\"%s\",\"recoverable\":%s}", level_names[ev->prev],
                   s->no_recoveries ? "false" : "true");
}

/* renders id, message and details into s->id/msg/det; -1 on a template error (counted) */
static int render(eng_node_t *n, struct alert_state *s, const struct event *ev)
{
    eng_tmpl_data_t d = { .kind = ENG_TMPL_ID,
                          .name = ev->name,
                          .task_name = fa_str_c(n->task->id),
                          .group = group_string(&s->grp, ev),
                          .tags = ev->tags,
                          .n_tags = ev->n_tags,
                          .hostname = s->hostname,
                          .cluster_id = s->cluster_id,
                          .server_id = s->server_id,
                          .level = fa_str_c(level_names[ev->level]),
                          .fields = ev->fields,
                          .n_fields = ev->n_fields,
                          .time = ev->time,
                          .duration = ev->duration };
    eng_tmpl_err_t e;
    const char *which = "id";
    fa_buf_clear(&s->id);
    fa_buf_clear(&s->msg);
    fa_buf_clear(&s->det);
    if (eng_tmpl_render(s->id_t, &d, &n->task->scratch, &s->id, &e) != 0)
        goto Error;
    d.kind = ENG_TMPL_MESSAGE;
    d.id = fa_str(fa_buf_cstr(&s->id), s->id.len);
    which = "message";
    if (eng_tmpl_render(s->msg_t, &d, &n->task->scratch, &s->msg, &e) != 0)
        goto Error;
    d.kind = ENG_TMPL_DETAILS;
    d.message = fa_str(fa_buf_cstr(&s->msg), s->msg.len);
    which = "details";
    if (eng_tmpl_render(s->det_t, &d, &n->task->scratch, &s->det, &e) != 0)
        goto Error;
    fa_buf_cstr(&s->det);
    return 0;
Error:
    eng_node_error(n, "cannot render the %s template: %u:%u: %s", which, e.line, e.col, e.msg);
    return -1;
}

/* counts and hands the event out; false when .inhibit() held it back */
static bool send_event(eng_node_t *n, struct alert_state *s, const struct event *ev)
{
    fa_str_t id = fa_str(s->id.ptr, s->id.len);
    if (s->category.len != 0)
        eng_alert_inhibit_set(n, s->category, id, ev->tags, ev->n_tags, ev->level != OK);
    if (s->inhibit && eng_alert_inhibited(s->inhibit_cat, s->inhibit_tags, s->n_inhibit_tags, ev->tags, ev->n_tags)) {
        atomic_fetch_add_explicit(&n->stats.own[ENG_ALERT_INHIBITED], 1, memory_order_relaxed);
        return false;
    }
    static const int level_counter[] = { ENG_ALERT_OKS, ENG_ALERT_INFOS, ENG_ALERT_WARNS, ENG_ALERT_CRITS };
    atomic_fetch_add_explicit(&n->stats.own[ENG_ALERT_TRIGGERED], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&n->stats.own[level_counter[ev->level]], 1, memory_order_relaxed);
    event_json(s, &n->task->scratch, ev);
    fa_str_t json = fa_str(fa_buf_cstr(&s->json), s->json.len);
    const eng_env_t *env = n->task->env;
    if (env != NULL && env->alert_event != NULL)
        env->alert_event(env->ud, n, json);
    for (uint32_t i = 0; i < s->n_handlers; i++) {
        int rc = eng_alert_handler_submit(s->handlers[i], json);
        atomic_fetch_add_explicit(&n->stats.own[rc == 0 ? ENG_ALERT_SENT : ENG_ALERT_DROPPED], 1, memory_order_relaxed);
    }
    return true;
}

/* ---- decorating the output with levelTag, idField, ... ------------------------------------ */

static fa_str_t scratch_copy(fa_arena_t *a, const fa_buf_t *b)
{
    return b->len ? fa_str(fa_arena_strndup(a, b->ptr, b->len), b->len) : FA_STR_LIT("");
}

static eng_tag_t *with_tag(fa_arena_t *a, const eng_tag_t *tags, uint32_t *n, fa_str_t key, fa_str_t value)
{
    eng_tag_t *t = FA_NEW(a, eng_tag_t, *n + 1);
    uint32_t k = 0;
    bool done = false;
    for (uint32_t i = 0; i < *n; i++) {
        int c = fa_str_cmp(tags[i].key, key);
        if (!done && c >= 0) {
            t[k++] = (eng_tag_t){ key, value };
            done = true;
            if (c == 0)
                continue;
        }
        t[k++] = tags[i];
    }
    if (!done)
        t[k++] = (eng_tag_t){ key, value };
    *n = k;
    return t;
}

static eng_field_t *with_field(fa_arena_t *a, const eng_field_t *f, uint32_t *n, fa_str_t key, eng_value_t v)
{
    eng_field_t *out = FA_NEW(a, eng_field_t, *n + 1);
    uint32_t k = 0;
    bool done = false;
    for (uint32_t i = 0; i < *n; i++) {
        out[k] = f[i];
        if (fa_str_eq(f[i].key, key)) {
            out[k].v = v;
            done = true;
        }
        k++;
    }
    if (!done)
        out[k++] = (eng_field_t){ key, v };
    *n = k;
    return out;
}

static bool decorates(const struct alert_state *s)
{
    return s->level_tag.len || s->id_tag.len || s->level_field.len || s->message_field.len || s->id_field.len ||
           s->duration_field.len;
}

static void decorate_tags(const struct alert_state *s, fa_arena_t *a, eng_tag_t **tags, uint32_t *n, fa_str_t level,
                          fa_str_t id)
{
    if (s->level_tag.len)
        *tags = with_tag(a, *tags, n, s->level_tag, level);
    if (s->id_tag.len)
        *tags = with_tag(a, *tags, n, s->id_tag, id);
}

static void decorate_point(const struct alert_state *s, fa_arena_t *a, eng_point_t *p, fa_str_t level, fa_str_t id,
                           fa_str_t msg, int64_t duration)
{
    decorate_tags(s, a, &p->tags, &p->n_tags, level, id);
    if (s->level_field.len)
        p->fields = with_field(a, p->fields, &p->n_fields, s->level_field, (eng_value_t){ .type = ENG_STRING, .s = level });
    if (s->message_field.len)
        p->fields = with_field(a, p->fields, &p->n_fields, s->message_field, (eng_value_t){ .type = ENG_STRING, .s = msg });
    if (s->id_field.len)
        p->fields = with_field(a, p->fields, &p->n_fields, s->id_field, (eng_value_t){ .type = ENG_STRING, .s = id });
    if (s->duration_field.len)
        p->fields = with_field(a, p->fields, &p->n_fields, s->duration_field, (eng_value_t){ .type = ENG_INT, .i = duration });
}

/* ---- the two edges ------------------------------------------------------------------------- */

/* the state step shared by both edges: returns true when an event goes out (ev filled) */
static bool step(eng_node_t *n, struct alert_state *s, struct gstate *g, struct event *ev, bool batch_rule)
{
    int l = ev->level;
    ev->prev = g->hist[g->idx];
    update_state(s, g, l, ev->time);
    bool suppressed = (s->flapping && g->flapping) || (s->sco && !g->changed && !g->expired);
    bool fire = batch_rule ? ((g->changed && l == OK) || (l != OK && !suppressed))
                           : (!suppressed && (l != OK || g->changed));
    if (!fire)
        return false;
    triggered(s, g, ev->time);
    if (s->no_recoveries && l == OK)
        return false;
    ev->duration = g->last - g->first;
    return render(n, s, ev) == 0;
}

static void alert_point(eng_node_t *n, eng_node_t *from, const eng_pt_t *p)
{
    struct alert_state *s = n->state;
    struct gstate *g = group_state(n, s, p->group);
    struct event ev = { .name = p->p.name, .dims = p->dims, .tags = p->p.tags, .n_tags = p->p.n_tags,
                        .fields = p->p.fields, .n_fields = p->p.n_fields, .time = p->p.time,
                        .points = &p->p, .n_points = 1 };
    if (determine_level(n, s, p, g->hist[g->idx], &ev.level) != 0 || !step(n, s, g, &ev, false))
        return;
    if (!send_event(n, s, &ev))
        return;
    if (!decorates(s)) {
        eng_emit_point(n, p);
        return;
    }
    fa_arena_t *a = &n->task->scratch;
    eng_pt_t out = *p;
    decorate_point(s, a, &out.p, fa_str_c(level_names[ev.level]), scratch_copy(a, &s->id), scratch_copy(a, &s->msg),
                   ev.duration);
    eng_emit_point(n, &out);
}

static void alert_rows(eng_node_t *n, eng_node_t *from, const eng_rows_t *b)
{
    struct alert_state *s = n->state;
    if (b->n == 0)
        return;
    struct gstate *g = group_state(n, s, b->group);
    int current = g->hist[g->idx], lowest = CRIT, highest = OK;
    const eng_point_t *hp = NULL;
    for (uint32_t i = 0; i < b->n; i++) {
        eng_pt_t p = { .p = b->points[i], .group = b->group, .dims = b->dims };
        int l;
        if (determine_level(n, s, &p, current, &l) != 0)
            return;
        if (l < lowest)
            lowest = l;
        if (l > highest || hp == NULL) {
            highest = l;
            hp = &b->points[i];
        }
    }
    struct event ev = { .name = b->name, .dims = b->dims, .tags = b->tags, .n_tags = b->n_tags,
                        .fields = hp->fields, .n_fields = hp->n_fields, .points = b->points, .n_points = b->n,
                        .batch = true };
    ev.level = s->all ? lowest : highest;
    ev.time = s->all || ev.level == OK ? b->tmax : hp->time;
    if (!step(n, s, g, &ev, true) || !send_event(n, s, &ev))
        return;
    if (!decorates(s)) {
        eng_emit_rows(n, b);
        return;
    }
    fa_arena_t *a = &n->task->scratch;
    fa_str_t level = fa_str_c(level_names[ev.level]), id = scratch_copy(a, &s->id), msg = scratch_copy(a, &s->msg);
    eng_rows_t out = *b;
    out.points = FA_NEW(a, eng_point_t, b->n);
    memcpy(out.points, b->points, sizeof(eng_point_t) * b->n);
    for (uint32_t i = 0; i < b->n; i++)
        decorate_point(s, a, &out.points[i], level, id, msg, ev.duration);
    decorate_tags(s, a, &out.tags, &out.n_tags, level, id);
    eng_emit_rows(n, &out);
}

static const char *const alert_counters[] = { "alerts_triggered", "oks_triggered",    "infos_triggered",
                                              "warns_triggered",  "crits_triggered",  "alerts_inhibited",
                                              "events_sent",      "events_dropped",   NULL };

const eng_node_ops_t eng_node_alert = { .type = "alert",
                                        .state_size = sizeof(struct alert_state),
                                        .init = alert_init,
                                        .point = alert_point,
                                        .rows = alert_rows,
                                        .deinit = alert_deinit,
                                        .counters = alert_counters };
