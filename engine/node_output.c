/* engine/node_output.c - log(), httpOut('name') and influxDBOut(): nodes that hand data to the
 * world through eng_env_t, and pass it on unchanged (log, httpOut). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine/group.h"
#include "engine/nodes.h"
#include "engine/nodeutil.h"
#include "engine/props.h"

static void fail(tick_err_t *err, tick_pos_t pos, const char *fmt, fa_str_t arg)
{
    memset(err, 0, sizeof(*err));
    err->code = TICK_ETYPE;
    err->pos = pos;
    snprintf(err->msg, sizeof err->msg, fmt, (int)arg.len, arg.ptr ? arg.ptr : "");
}

static void output(eng_node_t *n, const char *kind, fa_buf_t *text)
{
    const eng_env_t *env = n->task->env;
    if (env != NULL && env->output != NULL)
        env->output(env->ud, n, fa_str_c(kind), fa_str(text->ptr, text->len));
}

/* --- log(): level (INFO), prefix. One logfmt line per point; for a batch one line for the
 * batch and one per point. Floats never use an exponent (KAPACITOR.md §11). --- */

struct log_state {
    char level[8];
    fa_str_t prefix;
    fa_buf_t line;
};

static int log_init(eng_node_t *n, tick_err_t *err)
{
    struct log_state *s = n->state;
    fa_str_t lvl = eng_prop_str(n, "level", FA_STR_LIT("INFO"));
    static const char *const levels[] = { "debug", "info", "warn", "error" };
    for (size_t i = 0; i < 4; i++)
        if (lvl.len == strlen(levels[i]) && strncasecmp(lvl.ptr, levels[i], lvl.len) == 0)
            snprintf(s->level, sizeof s->level, "%s", levels[i]);
    if (s->level[0] == 0) {
        fail(err, eng_node_prop(n, "level")->pos, "log: invalid level \"%.*s\": want DEBUG, INFO, WARN or ERROR", lvl);
        return -1;
    }
    s->prefix = eng_prop_str(n, "prefix", FA_STR_NULL);
    return 0;
}

/* logfmt value: quoted when empty or holding a space, '=' or '"' */
static void logfmt_str(fa_buf_t *b, fa_str_t v)
{
    bool quote = v.len == 0;
    for (size_t i = 0; i < v.len && !quote; i++)
        quote = v.ptr[i] == ' ' || v.ptr[i] == '=' || v.ptr[i] == '"';
    if (quote)
        eng_json_str(b, v);
    else
        fa_buf_append_str(b, v);
}

static void logfmt_value(fa_buf_t *b, const eng_value_t *v)
{
    switch (v->type) {
    case ENG_FLOAT: eng_plain_float(b, v->f); break;
    case ENG_STRING: logfmt_str(b, v->s); break;
    default: eng_json_value(b, v); break;
    }
}

static void log_head(eng_node_t *n, const char *msg, fa_str_t name, const eng_point_t *gp, const eng_dims_t *dims)
{
    struct log_state *s = n->state;
    fa_buf_t *b = &s->line;
    fa_buf_clear(b);
    fa_buf_appendf(b, "lvl=%s msg=%s prefix=", s->level, msg);
    logfmt_str(b, s->prefix);
    fa_buf_append_c(b, " name=");
    logfmt_str(b, name);
    fa_buf_append_c(b, " group=");
    fa_buf_t g = FA_BUF_INIT;
    fa_str_t gs = dims != NULL ? eng_group_string(gp, dims, &g) : FA_STR_NULL;
    logfmt_str(b, gs);
    fa_buf_deinit(&g);
    for (uint32_t i = 0; dims != NULL && i < dims->n; i++) {
        fa_buf_appendf(b, " dimension_%u=", i);
        logfmt_str(b, dims->tags[i]);
    }
}

static void log_body(fa_buf_t *b, const eng_point_t *p)
{
    for (uint32_t i = 0; i < p->n_tags; i++) {
        fa_buf_append_c(b, " tag_");
        fa_buf_append_str(b, p->tags[i].key);
        fa_buf_append_c(b, "=");
        logfmt_str(b, p->tags[i].value);
    }
    for (uint32_t i = 0; i < p->n_fields; i++) {
        fa_buf_append_c(b, " field_");
        fa_buf_append_str(b, p->fields[i].key);
        fa_buf_append_c(b, "=");
        logfmt_value(b, &p->fields[i].v);
    }
    fa_buf_append_c(b, " time=");
    eng_rfc3339(b, p->time);
}

static void log_point(eng_node_t *n, eng_node_t *from, const eng_pt_t *p)
{
    struct log_state *s = n->state;
    log_head(n, "point", p->p.name, &p->p, p->dims);
    log_body(&s->line, &p->p);
    output(n, "log", &s->line);
    eng_emit_point(n, p);
}

static void log_rows(eng_node_t *n, eng_node_t *from, const eng_rows_t *b)
{
    struct log_state *s = n->state;
    eng_point_t gp = { .name = b->name, .tags = b->tags, .n_tags = b->n_tags };
    log_head(n, "batch", b->name, &gp, b->dims);
    for (uint32_t i = 0; i < b->n_tags; i++) {
        fa_buf_append_c(&s->line, " tag_");
        fa_buf_append_str(&s->line, b->tags[i].key);
        fa_buf_append_c(&s->line, "=");
        logfmt_str(&s->line, b->tags[i].value);
    }
    fa_buf_append_c(&s->line, " tmax=");
    eng_rfc3339(&s->line, b->tmax);
    output(n, "log", &s->line);
    for (uint32_t i = 0; i < b->n; i++) {
        log_head(n, "point", b->name, &gp, b->dims);
        log_body(&s->line, &b->points[i]);
        output(n, "log", &s->line);
    }
    eng_emit_rows(n, b);
}

static void log_deinit(eng_node_t *n) { fa_buf_deinit(&((struct log_state *)n->state)->line); }

const eng_node_ops_t eng_node_log = { .type = "log",
                                      .state_size = sizeof(struct log_state),
                                      .init = log_init,
                                      .point = log_point,
                                      .rows = log_rows,
                                      .deinit = log_deinit };

/* --- httpOut('name'): the latest result per group as {"series":[row, ...]} in the order the
 * groups first appeared. The task thread publishes an immutable snapshot; readers on other
 * threads take a reference under a mutex held only for the pointer and the count. --- */

struct snap {
    atomic_uint refs;
    size_t len, cap;
    char data[];
};

struct hout_group {
    fa_buf_t row;
};

struct hout_state {
    fa_str_t endpoint;
    pthread_mutex_t mu;
    struct snap *cur;   /* guarded by mu; holds one reference */
    struct snap *spare; /* task thread only: a released snapshot kept for reuse */
    eng_gmap_t groups;  /* group -> struct hout_group */
    fa_buf_t body;
};

static void snap_put(struct snap *s, struct snap **spare)
{
    if (s == NULL || atomic_fetch_sub(&s->refs, 1) != 1)
        return;
    if (spare != NULL && *spare == NULL)
        *spare = s;
    else
        free(s);
}

static int hout_init(eng_node_t *n, tick_err_t *err)
{
    struct hout_state *s = n->state;
    s->endpoint = eng_expr_str(n->spec->call->args[0]);
    pthread_mutex_init(&s->mu, NULL);
    eng_gmap_init(&s->groups, sizeof(struct hout_group));
    return 0;
}

static void hout_publish(eng_node_t *n)
{
    struct hout_state *s = n->state;
    fa_buf_t *b = &s->body;
    fa_buf_clear(b);
    fa_buf_append_c(b, "{\"series\":[");
    for (uint32_t i = 0; i < s->groups.n; i++) {
        struct hout_group *g = eng_gmap_at(&s->groups, i);
        if (i)
            fa_buf_append(b, ",", 1);
        fa_buf_append(b, g->row.ptr, g->row.len);
    }
    fa_buf_append_c(b, "]}");
    struct snap *sn = s->spare;
    s->spare = NULL;
    if (sn == NULL || sn->cap < b->len) {
        free(sn);
        if ((sn = malloc(sizeof *sn + b->len + 256)) == NULL) {
            eng_node_error(n, "out of memory publishing %zu bytes", b->len);
            return;
        }
        sn->cap = b->len + 256;
    }
    atomic_init(&sn->refs, 1);
    sn->len = b->len;
    memcpy(sn->data, b->ptr, b->len);
    pthread_mutex_lock(&s->mu);
    struct snap *old = s->cur;
    s->cur = sn;
    pthread_mutex_unlock(&s->mu);
    snap_put(old, &s->spare);
    output(n, "httpOut", b);
}

static fa_buf_t *hout_row(eng_node_t *n, uint64_t group)
{
    struct hout_state *s = n->state;
    struct hout_group *g = eng_gmap_get(&s->groups, group, NULL);
    if (g == NULL)
        return NULL;
    fa_buf_clear(&g->row);
    return &g->row;
}

static void hout_point(eng_node_t *n, eng_node_t *from, const eng_pt_t *p)
{
    fa_buf_t *row = hout_row(n, p->group);
    if (row != NULL) {
        eng_json_row_point(row, &p->p);
        hout_publish(n);
    }
    eng_emit_point(n, p);
}

static void hout_rows(eng_node_t *n, eng_node_t *from, const eng_rows_t *b)
{
    fa_buf_t *row = hout_row(n, b->group);
    if (row != NULL) {
        eng_json_row_rows(row, b);
        hout_publish(n);
    }
    eng_emit_rows(n, b);
}

static void hout_deinit(eng_node_t *n)
{
    struct hout_state *s = n->state;
    for (uint32_t i = 0; i < s->groups.n; i++)
        fa_buf_deinit(&((struct hout_group *)eng_gmap_at(&s->groups, i))->row);
    eng_gmap_deinit(&s->groups);
    fa_buf_deinit(&s->body);
    snap_put(s->cur, NULL);
    free(s->spare);
    pthread_mutex_destroy(&s->mu);
}

const eng_node_ops_t eng_node_httpOut = { .type = "httpOut",
                                          .state_size = sizeof(struct hout_state),
                                          .init = hout_init,
                                          .point = hout_point,
                                          .rows = hout_rows,
                                          .deinit = hout_deinit };

const eng_node_t *eng_httpout_find(const eng_task_t *t, fa_str_t endpoint)
{
    for (uint32_t i = 0; i < t->n_nodes; i++) {
        const eng_node_t *n = &t->nodes[i];
        if (n->ops == &eng_node_httpOut && fa_str_eq(((struct hout_state *)n->state)->endpoint, endpoint))
            return n;
    }
    return NULL;
}

int eng_httpout_read(const eng_node_t *n, fa_buf_t *out)
{
    struct hout_state *s = n->state;
    pthread_mutex_lock(&s->mu);
    struct snap *sn = s->cur;
    if (sn != NULL)
        atomic_fetch_add(&sn->refs, 1);
    pthread_mutex_unlock(&s->mu);
    if (sn == NULL)
        return fa_buf_append_c(out, "{\"series\":null}");
    int rc = fa_buf_append(out, sn->data, sn->len);
    snap_put(sn, NULL);
    return rc;
}

/* --- influxDBOut(): buffers points (buffer, default 1000) and hands them to env->write_points
 * when the buffer is full or flushInterval (default 10s, data time) has passed since the first
 * buffered point; what is left is handed over when the task stops. The daemon's writer
 * (proxy/outwriter.c) sends them to the upstream's /write, never through the tee. --- */

struct idb_state {
    fa_str_t db, rp, measurement;
    eng_influxdbout_opts_t opts;
    eng_tag_t *tags; /* .tag(k, v), sorted */
    uint32_t n_tags;
    uint32_t cap, n;
    eng_point_t *buf;
    fa_arena_t arena; /* the buffered points; reset at each flush */
    int64_t flush_every, first, precision;
};

static const char *const idb_counters[] = { "points_written", "write_errors", NULL };

static int64_t precision_ns(fa_str_t p)
{
    static const struct {
        const char *name;
        int64_t ns;
    } t[] = { { "n", 1 },          { "ns", 1 },          { "u", 1000 },          { "us", 1000 },
              { "ms", 1000000 },   { "s", 1000000000 }, { "m", 60000000000LL }, { "h", 3600000000000LL } };
    if (p.len == 0)
        return 1;
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (fa_str_eq_c(p, t[i].name))
            return t[i].ns;
    return 0;
}

static int idb_init(eng_node_t *n, tick_err_t *err)
{
    struct idb_state *s = n->state;
    fa_arena_t *a = &n->task->arena;
    s->db = eng_prop_str(n, "database", FA_STR_NULL);
    s->rp = eng_prop_str(n, "retentionPolicy", FA_STR_NULL);
    s->measurement = eng_prop_str(n, "measurement", FA_STR_NULL);
    s->opts.consistency = eng_prop_str(n, "writeConsistency", FA_STR_NULL);
    s->opts.precision = eng_prop_str(n, "precision", FA_STR_NULL);
    s->opts.create = eng_prop_set(n, "create");
    if ((s->precision = precision_ns(s->opts.precision)) == 0) {
        fail(err, eng_node_prop(n, "precision")->pos, "influxDBOut: invalid precision \"%.*s\"", s->opts.precision);
        return -1;
    }
    int64_t cap = eng_prop_int(n, "buffer", 1000);
    if (cap <= 0 || cap > 1000000) {
        fail(err, eng_node_prop(n, "buffer")->pos, "influxDBOut: buffer must be between 1 and 1000000%.*s", FA_STR_NULL);
        return -1;
    }
    s->cap = (uint32_t)cap;
    s->flush_every = eng_prop_dur(n, "flushInterval", 10000000000LL);
    const tick_call_t *c[64];
    s->n_tags = eng_prop_calls(n, "tag", c, 64);
    s->tags = FA_NEW(a, eng_tag_t, s->n_tags + 1);
    for (uint32_t i = 0; i < s->n_tags; i++) {
        eng_tag_t t = { eng_expr_str(c[i]->args[0]), eng_expr_str(c[i]->args[1]) };
        uint32_t j = i;
        for (; j > 0 && fa_str_cmp(t.key, s->tags[j - 1].key) < 0; j--)
            s->tags[j] = s->tags[j - 1];
        s->tags[j] = t;
    }
    s->buf = FA_NEW(a, eng_point_t, s->cap);
    fa_arena_init(&s->arena, 16384, 0);
    return 0;
}

static void idb_flush(eng_node_t *n)
{
    struct idb_state *s = n->state;
    if (s->n == 0)
        return;
    const eng_env_t *env = n->task->env;
    if (env != NULL && env->write_points != NULL) {
        env->write_points(env->ud, n, s->db, s->rp, s->buf, s->n);
        atomic_fetch_add_explicit(&n->stats.own[0], s->n, memory_order_relaxed);
    } else {
        atomic_fetch_add_explicit(&n->stats.own[1], 1, memory_order_relaxed);
    }
    s->n = 0;
    fa_arena_reset(&s->arena);
}

/* copies p with the node's measurement, extra tags and precision applied */
static void idb_add(eng_node_t *n, const eng_point_t *p, const eng_tag_t *gtags, uint32_t n_gtags)
{
    struct idb_state *s = n->state;
    if (s->n == 0)
        s->first = p->time;
    eng_point_t *d = &s->buf[s->n++];
    eng_point_t src = *p;
    if (s->measurement.len)
        src.name = s->measurement;
    /* merge: the point's tags, the batch's group tags, the node's .tag()s (these win) */
    eng_tag_t merged[128];
    uint32_t k = 0;
    const eng_tag_t *lists[3] = { s->tags, p->tags, gtags };
    uint32_t lens[3] = { s->n_tags, p->n_tags, n_gtags };
    for (int l = 0; l < 3; l++)
        for (uint32_t i = 0; i < lens[l] && k < 128; i++) {
            uint32_t j = 0;
            while (j < k && !fa_str_eq(merged[j].key, lists[l][i].key))
                j++;
            if (j == k)
                merged[k++] = lists[l][i];
        }
    for (uint32_t i = 1; i < k; i++) {
        eng_tag_t x = merged[i];
        uint32_t j = i;
        for (; j > 0 && fa_str_cmp(x.key, merged[j - 1].key) < 0; j--)
            merged[j] = merged[j - 1];
        merged[j] = x;
    }
    src.tags = merged;
    src.n_tags = k;
    src.key = FA_STR_NULL;
    if (s->precision > 1)
        src.time -= ((src.time % s->precision) + s->precision) % s->precision;
    eng_point_copy(&s->arena, d, &src);
}

static void idb_check(eng_node_t *n, int64_t now)
{
    struct idb_state *s = n->state;
    if (s->n >= s->cap || (s->n > 0 && s->flush_every > 0 && now - s->first >= s->flush_every))
        idb_flush(n);
}

static void idb_point(eng_node_t *n, eng_node_t *from, const eng_pt_t *p)
{
    idb_add(n, &p->p, NULL, 0);
    idb_check(n, p->p.time);
}

static void idb_rows(eng_node_t *n, eng_node_t *from, const eng_rows_t *b)
{
    for (uint32_t i = 0; i < b->n; i++) {
        idb_add(n, &b->points[i], b->tags, b->n_tags);
        idb_check(n, b->points[i].time);
    }
    idb_check(n, b->tmax);
}

static void idb_advance(eng_node_t *n, int64_t now) { idb_check(n, now); }

static void idb_deinit(eng_node_t *n)
{
    struct idb_state *s = n->state;
    if (s->buf != NULL)
        idb_flush(n);
    fa_arena_deinit(&s->arena);
}

const eng_node_ops_t eng_node_influxDBOut = { .type = "influxDBOut",
                                              .state_size = sizeof(struct idb_state),
                                              .init = idb_init,
                                              .point = idb_point,
                                              .rows = idb_rows,
                                              .advance = idb_advance,
                                              .deinit = idb_deinit,
                                              .counters = idb_counters };

const eng_influxdbout_opts_t *eng_influxdbout_opts(const eng_node_t *n)
{
    return n->ops == &eng_node_influxDBOut ? &((const struct idb_state *)n->state)->opts : NULL;
}
