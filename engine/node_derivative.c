/* engine/node_derivative.c - derivative(field) with .unit() (1s), .nonNegative(), .as().
 *
 * Kapacitor's rules: the rate between a group's previous point and this one,
 * (v1 - v0) / (elapsed / unit), on the point's own fields plus `as` (default "derivative").
 * The first point of a group gives nothing; a point whose field is missing or not a number is
 * dropped with an error and does not become the previous point; zero elapsed time is an error;
 * a negative difference with .nonNegative() is dropped but becomes the previous point.
 * On batches the previous point restarts with every batch. */
#include <stdio.h>
#include <string.h>

#include "engine/influxql_buf.h"
#include "engine/nodes.h"
#include "engine/props.h"

struct dgroup {
    bool has_prev;
    double prev;
    int64_t prev_time;
};

struct derivative_state {
    fa_str_t field, as;
    int64_t unit;
    bool non_negative;
    eng_gidx_t map;
    eng_slab_t groups;
};

static int derivative_init(eng_node_t *n, tick_err_t *err)
{
    struct derivative_state *s = n->state;
    s->field = eng_expr_str(n->spec->call->args[0]);
    s->as = eng_prop_str(n, "as", FA_STR_LIT("derivative"));
    s->unit = eng_prop_dur(n, "unit", 1000000000);
    s->non_negative = eng_prop_set(n, "nonNegative");
    if (s->unit <= 0) {
        memset(err, 0, sizeof(*err));
        err->code = TICK_ETYPE;
        err->pos = n->spec->pos;
        snprintf(err->msg, sizeof err->msg, "derivative unit must be greater than zero");
        return -1;
    }
    eng_gidx_init(&s->map);
    eng_slab_init(&s->groups, sizeof(struct dgroup));
    return 0;
}

static void derivative_deinit(eng_node_t *n)
{
    struct derivative_state *s = n->state;
    eng_slab_deinit(&s->groups);
    eng_gidx_deinit(&s->map);
}

/* 1 with *out when p gives a value; 0 otherwise (state updated as Kapacitor does) */
static int step(eng_node_t *n, struct dgroup *g, const eng_point_t *p, double *out)
{
    struct derivative_state *s = n->state;
    const eng_field_t *f = eng_point_field(p, s->field);
    double v;
    if (f != NULL && f->v.type == ENG_FLOAT)
        v = f->v.f;
    else if (f != NULL && f->v.type == ENG_INT)
        v = (double)f->v.i;
    else if (f != NULL && f->v.type == ENG_UINT)
        v = (double)f->v.u;
    else {
        eng_node_error(n, f == NULL ? "derivative error: field %.*s missing from point"
                                    : "derivative error: field %.*s is not a number",
                       (int)s->field.len, s->field.ptr);
        return 0;
    }
    bool had = g->has_prev;
    double v0 = g->prev;
    int64_t t0 = g->prev_time;
    g->has_prev = true;
    g->prev = v;
    g->prev_time = p->time;
    if (!had)
        return 0;
    int64_t elapsed = p->time - t0;
    if (elapsed == 0) {
        eng_node_error(n, "derivative error: cannot perform derivative elapsed time was 0");
        return 0;
    }
    double diff = v - v0;
    if (s->non_negative && diff < 0)
        return 0;
    *out = diff / ((double)elapsed / (double)s->unit);
    return 1;
}

/* p's fields with `as` set to v (replacing a field of that name), in a */
static void with_value(fa_arena_t *a, fa_str_t as, const eng_point_t *p, double v, eng_point_t *out)
{
    *out = *p;
    out->fields = FA_NEW(a, eng_field_t, p->n_fields + 1);
    out->n_fields = 0;
    for (uint32_t i = 0; i < p->n_fields; i++)
        if (!fa_str_eq(p->fields[i].key, as))
            out->fields[out->n_fields++] = p->fields[i];
    out->fields[out->n_fields++] = (eng_field_t){ as, { .type = ENG_FLOAT, .f = v } };
}

static void derivative_point(eng_node_t *n, eng_node_t *from, const eng_pt_t *p)
{
    struct derivative_state *s = n->state;
    uint32_t i = eng_gidx_get(&s->map, p->group);
    if (i == ENG_GIDX_NONE) {
        i = eng_slab_add(&s->groups);
        eng_gidx_put(&s->map, p->group, i);
        atomic_store_explicit(&n->stats.cardinality, s->groups.n, memory_order_relaxed);
    }
    double v;
    if (!step(n, eng_slab_at(&s->groups, i), &p->p, &v))
        return;
    eng_pt_t out = *p;
    with_value(&n->task->scratch, s->as, &p->p, v, &out.p);
    eng_emit_point(n, &out);
}

static void derivative_rows(eng_node_t *n, eng_node_t *from, const eng_rows_t *b)
{
    struct derivative_state *s = n->state;
    struct dgroup g = { 0 };
    eng_rows_t out = *b;
    out.points = FA_NEW(&n->task->scratch, eng_point_t, b->n ? b->n : 1);
    out.n = 0;
    for (uint32_t i = 0; i < b->n; i++) {
        double v;
        if (step(n, &g, &b->points[i], &v))
            with_value(&n->task->scratch, s->as, &b->points[i], v, &out.points[out.n++]);
    }
    eng_emit_rows(n, &out);
}

const eng_node_ops_t eng_node_derivative = { .type = "derivative",
                                             .state_size = sizeof(struct derivative_state),
                                             .init = derivative_init,
                                             .point = derivative_point,
                                             .rows = derivative_rows,
                                             .deinit = derivative_deinit };
