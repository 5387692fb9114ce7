/* engine/node_influxql.c - the InfluxQL function nodes: count() mean() top() difference() ...
 *
 * On a batch edge (after a window or a query) each batch is reduced on its own: one point out
 * for aggregates and single selectors, a batch out for distinct/top/bottom/holtWinters, and a
 * batch of per-point results for transforms (which restart with every batch).
 * On a stream edge, as in Kapacitor: transforms keep running state per group and answer every
 * point; the others gather a group's points that share one timestamp and reduce them when a
 * point with another time arrives (or when advance() passes that time).
 * Output times: the batch's time (window end), or the selected point's with .usePointTimes()
 * (always for transforms and holtWinters). */
#include <stdio.h>
#include <string.h>

#include "engine/influxql.h"
#include "engine/influxql_buf.h"
#include "engine/nodes.h"
#include "engine/props.h"

struct iql_group {
    uint64_t id;
    const eng_dims_t *dims;
    int64_t time;           /* stream aggregates: the time of the gathered points */
    eng_ptbuf_t buf;
    eng_iql_tstate_t ts;    /* stream transforms */
};

struct iql_state {
    eng_iql_spec_t spec;
    eng_gidx_t map;
    eng_slab_t groups;
    eng_blkpool_t pool;
    bool tables;
};

static int iql_init(eng_node_t *n, tick_err_t *err)
{
    struct iql_state *s = n->state;
    const tick_call_t *c = n->spec->call;
    int fn = eng_iql_fn_from_name(n->spec->type);
    if (fn < 0 || c == NULL) {
        memset(err, 0, sizeof(*err));
        err->pos = n->spec->pos;
        snprintf(err->msg, sizeof err->msg, "%s is not an InfluxQL function", n->spec->type);
        return -1;
    }
    eng_iql_spec_t *sp = &s->spec;
    sp->fn = (eng_iql_fn_t)fn;
    uint32_t fi = (fn == ENG_IQL_TOP || fn == ENG_IQL_BOTTOM) ? 1 : 0;
    sp->field = eng_expr_str(c->args[fi]);
    sp->as = eng_prop_str(n, "as", fa_str_c(eng_iql_fn_name(sp->fn)));
    sp->point_times = eng_prop_set(n, "usePointTimes") || eng_iql_is_transform(sp->fn) || fn == ENG_IQL_HOLT_WINTERS ||
                      fn == ENG_IQL_HOLT_WINTERS_FIT;
    switch (sp->fn) {
    case ENG_IQL_PERCENTILE: sp->pct = eng_expr_float(c->args[1]); break;
    case ENG_IQL_TOP:
    case ENG_IQL_BOTTOM:
        sp->n = eng_expr_int(c->args[0]);
        sp->n_tb = c->nargs > 2 ? c->nargs - 2 : 0;
        sp->tb_names = FA_NEW(&n->task->arena, fa_str_t, sp->n_tb ? sp->n_tb : 1);
        for (uint32_t i = 0; i < sp->n_tb; i++)
            sp->tb_names[i] = eng_expr_str(c->args[i + 2]);
        break;
    case ENG_IQL_ELAPSED: sp->unit = eng_expr_int(c->args[1]); break;
    case ENG_IQL_MOVING_AVERAGE: sp->n = eng_expr_int(c->args[1]); break;
    case ENG_IQL_HOLT_WINTERS:
    case ENG_IQL_HOLT_WINTERS_FIT:
        sp->n = eng_expr_int(c->args[1]);
        sp->m = eng_expr_int(c->args[2]);
        sp->unit = eng_expr_int(c->args[3]);
        break;
    default: break;
    }
    const char *bad = NULL;
    if ((sp->fn == ENG_IQL_TOP || sp->fn == ENG_IQL_BOTTOM) && sp->n <= 0)
        bad = "the number of points must be greater than 0";
    else if (sp->fn == ENG_IQL_MOVING_AVERAGE && sp->n < 1)
        bad = "the moving average window must be greater than 0";
    else if (sp->fn == ENG_IQL_ELAPSED && sp->unit <= 0)
        bad = "elapsed unit must be greater than 0";
    else if ((sp->fn == ENG_IQL_HOLT_WINTERS || sp->fn == ENG_IQL_HOLT_WINTERS_FIT) && sp->unit <= 0)
        bad = "holtWinters interval must be greater than 0";
    else if (sp->fn == ENG_IQL_PERCENTILE && (sp->pct < 0 || sp->pct > 100))
        bad = "percentile must be between 0 and 100";
    if (bad != NULL) {
        memset(err, 0, sizeof(*err));
        err->code = TICK_ETYPE;
        err->pos = c->pos;
        snprintf(err->msg, sizeof err->msg, "%s: %s", n->spec->type, bad);
        return -1;
    }
    return 0;
}

static void tables_init(struct iql_state *s)
{
    if (s->tables)
        return;
    eng_gidx_init(&s->map);
    eng_slab_init(&s->groups, sizeof(struct iql_group));
    eng_blkpool_init(&s->pool, 2048, 256);
    s->tables = true;
}

static void iql_deinit(eng_node_t *n)
{
    struct iql_state *s = n->state;
    if (!s->tables)
        return;
    for (uint32_t i = 0; i < s->groups.n; i++)
        eng_ptbuf_clear(&((struct iql_group *)eng_slab_at(&s->groups, i))->buf, &s->pool);
    eng_blkpool_deinit(&s->pool);
    eng_slab_deinit(&s->groups);
    eng_gidx_deinit(&s->map);
    s->tables = false;
}

/* ---- building output ------------------------------------------------------------------- */

static eng_field_t *one_field(fa_arena_t *a, fa_str_t key, eng_value_t v)
{
    eng_field_t *f = FA_NEW(a, eng_field_t, 1);
    f->key = key;
    f->v = v;
    return f;
}

/* the selected point's fields, with the input field renamed to `as` (another field named `as`
 * is replaced, as Kapacitor's map assignment does) */
static void selector_fields(const eng_iql_spec_t *sp, fa_arena_t *a, const eng_point_t *src, eng_point_t *out)
{
    out->fields = FA_NEW(a, eng_field_t, src->n_fields ? src->n_fields : 1);
    out->n_fields = 0;
    bool rename = !fa_str_eq(sp->as, sp->field);
    for (uint32_t i = 0; i < src->n_fields; i++) {
        eng_field_t f = src->fields[i];
        if (rename && fa_str_eq(f.key, sp->as))
            continue;
        if (fa_str_eq(f.key, sp->field)) {
            bool later = false; /* duplicates: the last one is the value */
            for (uint32_t j = i + 1; j < src->n_fields && !later; j++)
                later = fa_str_eq(src->fields[j].key, sp->field);
            if (later)
                continue;
            f.key = sp->as;
        }
        out->fields[out->n_fields++] = f;
    }
}

static int64_t out_time(const eng_iql_spec_t *sp, const eng_iql_out_t *o, int64_t tmax)
{
    return sp->point_times && o->time != ENG_IQL_NOTIME ? o->time : tmax;
}

/* one point from an aggregate or single selector over batch b (points pts) */
static void emit_single(eng_node_t *n, const eng_rows_t *b, const eng_point_t *pts, const eng_iql_out_t *o)
{
    struct iql_state *s = n->state;
    fa_arena_t *a = &n->task->scratch;
    eng_pt_t p = { .group = b->group, .dims = b->dims };
    p.p.name = b->name;
    p.p.time = out_time(&s->spec, o, b->tmax);
    if (eng_iql_is_simple_selector(s->spec.fn) && o->src >= 0) {
        const eng_point_t *src = &pts[o->src];
        p.p.tags = src->tags;
        p.p.n_tags = src->n_tags;
        selector_fields(&s->spec, a, src, &p.p);
    } else {
        p.p.tags = b->tags;
        p.p.n_tags = b->n_tags;
        p.p.fields = one_field(a, s->spec.as, o->v);
        p.p.n_fields = 1;
    }
    eng_emit_point(n, &p);
}

/* a batch of results: tags are the group's, or the source point's for top/bottom */
static void emit_batch(eng_node_t *n, const eng_rows_t *b, const eng_point_t *pts, const eng_iql_out_t *o, int k)
{
    struct iql_state *s = n->state;
    fa_arena_t *a = &n->task->scratch;
    eng_rows_t out = *b;
    out.points = FA_NEW(a, eng_point_t, k ? k : 1);
    out.n = (uint32_t)k;
    bool src_tags = s->spec.fn == ENG_IQL_TOP || s->spec.fn == ENG_IQL_BOTTOM;
    for (int i = 0; i < k; i++) {
        eng_point_t *p = &out.points[i];
        memset(p, 0, sizeof(*p));
        p->name = b->name;
        p->time = out_time(&s->spec, &o[i], b->tmax);
        if (p->time > out.tmax)
            out.tmax = p->time;
        if (src_tags && o[i].src >= 0) {
            p->tags = pts[o[i].src].tags;
            p->n_tags = pts[o[i].src].n_tags;
        } else {
            p->tags = b->tags;
            p->n_tags = b->n_tags;
        }
        p->fields = one_field(a, s->spec.as, o[i].v);
        p->n_fields = 1;
    }
    eng_emit_rows(n, &out);
}

static void reduce_and_emit(eng_node_t *n, const eng_rows_t *b)
{
    struct iql_state *s = n->state;
    if (b->n == 0 && !eng_iql_empty_ok(s->spec.fn))
        return;
    eng_iql_out_t *o;
    char err[200];
    int k = eng_iql_reduce(&s->spec, b->points, b->n, &n->task->scratch, &o, err, sizeof err);
    if (k < 0) {
        eng_node_error(n, "failed to aggregate batch: %s", err);
        return;
    }
    if (eng_iql_gives_batch(s->spec.fn) || eng_iql_is_transform(s->spec.fn)) {
        if (eng_iql_is_transform(s->spec.fn))
            for (int i = 0; i < k; i++)
                o[i].src = -1; /* transforms carry the group's tags */
        emit_batch(n, b, b->points, o, k);
    } else if (k > 0) {
        emit_single(n, b, b->points, &o[0]);
    }
}

static void iql_rows(eng_node_t *n, eng_node_t *from, const eng_rows_t *b) { reduce_and_emit(n, b); }

/* ---- stream edge ----------------------------------------------------------------------- */

static struct iql_group *group_of(struct iql_state *s, const eng_pt_t *p)
{
    tables_init(s);
    uint32_t i = eng_gidx_get(&s->map, p->group);
    if (i == ENG_GIDX_NONE) {
        i = eng_slab_add(&s->groups);
        eng_gidx_put(&s->map, p->group, i);
        struct iql_group *g = eng_slab_at(&s->groups, i);
        g->id = p->group;
        g->dims = p->dims;
        return g;
    }
    return eng_slab_at(&s->groups, i);
}

/* the group's tags of point p (the dims' tags it has), in scratch */
static void group_tags(fa_arena_t *a, const eng_point_t *p, const eng_dims_t *dims, eng_tag_t **tags, uint32_t *n)
{
    *tags = NULL;
    *n = 0;
    if (dims == NULL || dims->n == 0)
        return;
    *tags = FA_NEW(a, eng_tag_t, dims->n);
    for (uint32_t i = 0; i < dims->n; i++) {
        fa_str_t v = eng_point_tag(p, dims->tags[i]);
        if (v.ptr != NULL)
            (*tags)[(*n)++] = (eng_tag_t){ dims->tags[i], v };
    }
}

static void flush_group(eng_node_t *n, struct iql_group *g)
{
    struct iql_state *s = n->state;
    if (g->buf.n == 0)
        return;
    fa_arena_t *a = &n->task->scratch;
    eng_rows_t b = { .group = g->id, .dims = g->dims, .tmax = g->time, .n = g->buf.n };
    b.points = FA_NEW(a, eng_point_t, g->buf.n);
    eng_ptbuf_collect(&g->buf, b.points);
    b.name = b.points[0].name;
    group_tags(a, &b.points[0], g->dims, &b.tags, &b.n_tags);
    reduce_and_emit(n, &b);
    eng_ptbuf_clear(&g->buf, &s->pool);
}

static void transform_point(eng_node_t *n, struct iql_group *g, const eng_pt_t *p)
{
    struct iql_state *s = n->state;
    const eng_field_t *f = eng_point_field(&p->p, s->spec.field);
    char err[200];
    if (f == NULL) {
        eng_node_error(n, "failed to aggregate point: field %.*s missing from point cannot aggregate", (int)s->spec.field.len,
                       s->spec.field.ptr);
        return;
    }
    eng_iql_out_t o;
    int rc = eng_iql_transform_step(&s->spec, &g->ts, &n->task->arena, &f->v, p->p.time, &o, err, sizeof err);
    if (rc < 0) {
        eng_node_error(n, "failed to aggregate point: %s", err);
        return;
    }
    if (rc == 0)
        return;
    fa_arena_t *a = &n->task->scratch;
    eng_pt_t out = { .group = p->group, .dims = p->dims };
    out.p.name = p->p.name;
    out.p.time = o.time;
    group_tags(a, &p->p, p->dims, &out.p.tags, &out.p.n_tags);
    out.p.fields = one_field(a, s->spec.as, o.v);
    out.p.n_fields = 1;
    eng_emit_point(n, &out);
}

static void iql_point(eng_node_t *n, eng_node_t *from, const eng_pt_t *p)
{
    struct iql_state *s = n->state;
    struct iql_group *g = group_of(s, p);
    if (eng_iql_is_transform(s->spec.fn)) {
        transform_point(n, g, p);
        return;
    }
    if (g->buf.n != 0 && g->time != p->p.time)
        flush_group(n, g);
    if (g->buf.n == 0) {
        g->time = p->p.time;
        g->dims = p->dims;
    }
    eng_ptbuf_push(&g->buf, &s->pool, &p->p);
}

static void iql_advance(eng_node_t *n, int64_t now)
{
    struct iql_state *s = n->state;
    if (!s->tables || eng_iql_is_transform(s->spec.fn))
        return;
    for (uint32_t i = 0; i < s->groups.n; i++) {
        struct iql_group *g = eng_slab_at(&s->groups, i);
        if (g->buf.n != 0 && g->time < now)
            flush_group(n, g);
    }
}

/* ---- fusion with a parent window ------------------------------------------------------- */

size_t eng_iql_fuse_size(const eng_node_t *n)
{
    int fn = eng_iql_fn_from_name(n->spec->type);
    if (fn < 0 || n->ops->init != iql_init || !eng_iql_is_decomposable((eng_iql_fn_t)fn))
        return 0;
    return sizeof(eng_iql_acc_t);
}

void eng_iql_fuse_add(eng_node_t *n, void *acc, const eng_point_t *p)
{
    struct iql_state *s = n->state;
    eng_iql_acc_t *a = acc;
    const eng_field_t *f = eng_point_field(p, s->spec.field);
    if (f == NULL) {
        if (!a->bad)
            a->bad = 1;
        return;
    }
    eng_iql_acc_add(&s->spec, a, &f->v);
}

void eng_iql_fuse_emit(eng_node_t *n, void *acc, const eng_rows_t *b)
{
    struct iql_state *s = n->state;
    eng_iql_acc_t *a = acc;
    atomic_fetch_add_explicit(&n->stats.collected, 1, memory_order_relaxed);
    if (a->bad) {
        char err[200];
        eng_node_error(n, "failed to aggregate batch: %s", eng_iql_acc_error(&s->spec, a, err, sizeof err));
    } else if (a->n != 0 || eng_iql_empty_ok(s->spec.fn)) {
        eng_iql_out_t o;
        if (eng_iql_acc_result(&s->spec, a, &o) == 1)
            emit_single(n, b, NULL, &o);
    }
    memset(a, 0, sizeof(*a));
}

#define IQL_OPS(var, name)                                                                                               \
    const eng_node_ops_t var = { .type = name,                                                                          \
                                 .state_size = sizeof(struct iql_state),                                                \
                                 .init = iql_init,                                                                      \
                                 .point = iql_point,                                                                    \
                                 .rows = iql_rows,                                                                      \
                                 .advance = iql_advance,                                                                \
                                 .deinit = iql_deinit }

IQL_OPS(eng_node_count, "count");
IQL_OPS(eng_node_distinct, "distinct");
IQL_OPS(eng_node_mean, "mean");
IQL_OPS(eng_node_median, "median");
IQL_OPS(eng_node_mode, "mode");
IQL_OPS(eng_node_spread, "spread");
IQL_OPS(eng_node_sum, "sum");
IQL_OPS(eng_node_stddev, "stddev");
IQL_OPS(eng_node_first, "first");
IQL_OPS(eng_node_last, "last");
IQL_OPS(eng_node_min, "min");
IQL_OPS(eng_node_max, "max");
IQL_OPS(eng_node_percentile, "percentile");
IQL_OPS(eng_node_top, "top");
IQL_OPS(eng_node_bottom, "bottom");
IQL_OPS(eng_node_difference, "difference");
IQL_OPS(eng_node_elapsed, "elapsed");
IQL_OPS(eng_node_moving_average, "movingAverage");
IQL_OPS(eng_node_cumulative_sum, "cumulativeSum");
IQL_OPS(eng_node_holt_winters, "holtWinters");
IQL_OPS(eng_node_holt_winters_fit, "holtWintersWithFit");
