/* engine/node_transform.c - nodes that change points one by one: shift(d), sample(n|d),
 * default() (field/tag), delete() (field/tag) and changeDetect(fields...). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/group.h"
#include "engine/nodes.h"
#include "engine/nodeutil.h"
#include "engine/props.h"

/* Applies fn to every point of b into a new batch in scratch (dropping those fn refuses). */
typedef bool (*point_fn)(eng_node_t *n, const eng_pt_t *in, eng_pt_t *out);

static void map_rows(eng_node_t *n, const eng_rows_t *b, point_fn fn)
{
    eng_rows_t out = *b;
    out.points = FA_NEW(&n->task->scratch, eng_point_t, b->n ? b->n : 1);
    out.n = 0;
    for (uint32_t i = 0; i < b->n; i++) {
        eng_pt_t in = { .p = b->points[i], .group = b->group, .dims = b->dims }, o;
        if (fn(n, &in, &o))
            out.points[out.n++] = o.p;
    }
    eng_emit_rows(n, &out);
}

/* --- shift(d): moves time by d (negative allowed) --- */

struct shift_state {
    int64_t d;
};

/* a literal, or a negated one (shift(-5s)) */
static int64_t signed_int(const tick_expr_t *e)
{
    if (e->kind == TICK_EX_UNARY && e->v.unary.op == TICK_OP_NEG)
        return -signed_int(e->v.unary.operand);
    return eng_expr_int(e);
}

static int shift_init(eng_node_t *n, tick_err_t *err)
{
    ((struct shift_state *)n->state)->d = signed_int(n->spec->call->args[0]);
    return 0;
}

static void shift_point(eng_node_t *n, eng_node_t *from, const eng_pt_t *p)
{
    eng_pt_t o = *p;
    o.p.time += ((struct shift_state *)n->state)->d;
    eng_emit_point(n, &o);
}

static void shift_rows(eng_node_t *n, eng_node_t *from, const eng_rows_t *b)
{
    int64_t d = ((struct shift_state *)n->state)->d;
    eng_rows_t out = *b;
    out.points = FA_NEW(&n->task->scratch, eng_point_t, b->n ? b->n : 1);
    for (uint32_t i = 0; i < b->n; i++) {
        out.points[i] = b->points[i];
        out.points[i].time += d;
    }
    out.tmax += d;
    eng_emit_rows(n, &out);
}

const eng_node_ops_t eng_node_shift = {
    .type = "shift", .state_size = sizeof(struct shift_state), .init = shift_init, .point = shift_point, .rows = shift_rows
};

/* --- sample(n | d): every n-th point (or batch) of a group, counted from the first; or the
 * points whose time is a multiple of d (from Go's zero time, as Kapacitor's Truncate) --- */

struct sample_state {
    int64_t every, dur;
    eng_gmap_t counts; /* group -> uint64_t */
};

static int sample_init(eng_node_t *n, tick_err_t *err)
{
    struct sample_state *s = n->state;
    const tick_expr_t *a = n->spec->call->args[0];
    if (a->kind == TICK_EX_DURATION)
        s->dur = a->v.dur_ns;
    else
        s->every = eng_expr_int(a);
    if ((s->dur == 0 && s->every <= 0) || s->dur < 0) {
        memset(err, 0, sizeof(*err));
        err->code = TICK_ETYPE;
        err->pos = a->pos;
        snprintf(err->msg, sizeof err->msg, "sample: the count or duration must be positive");
        return -1;
    }
    eng_gmap_init(&s->counts, sizeof(uint64_t));
    return 0;
}

static bool sample_keep(struct sample_state *s, uint64_t group, int64_t t)
{
    if (s->dur != 0)
        return eng_go_truncate(t, s->dur) == t;
    uint64_t *c = eng_gmap_get(&s->counts, group, NULL);
    if (c == NULL)
        return false;
    return (*c)++ % (uint64_t)s->every == 0;
}

static void sample_point(eng_node_t *n, eng_node_t *from, const eng_pt_t *p)
{
    if (sample_keep(n->state, p->group, p->p.time))
        eng_emit_point(n, p);
}

static void sample_rows(eng_node_t *n, eng_node_t *from, const eng_rows_t *b)
{
    if (sample_keep(n->state, b->group, b->tmax))
        eng_emit_rows(n, b);
}

static void sample_deinit(eng_node_t *n) { eng_gmap_deinit(&((struct sample_state *)n->state)->counts); }

const eng_node_ops_t eng_node_sample = { .type = "sample",
                                         .state_size = sizeof(struct sample_state),
                                         .init = sample_init,
                                         .point = sample_point,
                                         .rows = sample_rows,
                                         .deinit = sample_deinit };

/* --- default(): .field(name, value) / .tag(name, value) set what a point lacks --- */

struct default_state {
    eng_field_t *fields;
    uint32_t n_fields;
    eng_tag_t *tags;
    uint32_t n_tags;
};

static const char *const default_counters[] = { "fields_defaulted", "tags_defaulted", NULL };

static eng_value_t literal_value(const tick_expr_t *e)
{
    switch (e->kind) {
    case TICK_EX_INT: return (eng_value_t){ .type = ENG_INT, .i = e->v.i };
    case TICK_EX_FLOAT: return (eng_value_t){ .type = ENG_FLOAT, .f = e->v.f };
    case TICK_EX_BOOL: return (eng_value_t){ .type = ENG_BOOL, .b = e->v.b };
    case TICK_EX_DURATION: return (eng_value_t){ .type = ENG_INT, .i = e->v.dur_ns };
    default: return (eng_value_t){ .type = ENG_STRING, .s = eng_expr_str(e) };
    }
}

static int default_init(eng_node_t *n, tick_err_t *err)
{
    struct default_state *s = n->state;
    const tick_call_t *c[64];
    fa_arena_t *a = &n->task->arena;
    s->n_fields = eng_prop_calls(n, "field", c, 64);
    s->fields = FA_NEW(a, eng_field_t, s->n_fields + 1);
    for (uint32_t i = 0; i < s->n_fields; i++)
        s->fields[i] = (eng_field_t){ eng_expr_str(c[i]->args[0]), literal_value(c[i]->args[1]) };
    s->n_tags = eng_prop_calls(n, "tag", c, 64);
    s->tags = FA_NEW(a, eng_tag_t, s->n_tags + 1);
    for (uint32_t i = 0; i < s->n_tags; i++)
        s->tags[i] = (eng_tag_t){ eng_expr_str(c[i]->args[0]), eng_expr_str(c[i]->args[1]) };
    return 0;
}

static void insert_tag(fa_arena_t *a, eng_point_t *p, eng_tag_t tag)
{
    eng_tag_t *t = FA_NEW(a, eng_tag_t, p->n_tags + 1);
    uint32_t k = 0, i = 0;
    for (; i < p->n_tags && fa_str_cmp(p->tags[i].key, tag.key) < 0; i++)
        t[k++] = p->tags[i];
    t[k++] = tag;
    for (; i < p->n_tags; i++)
        t[k++] = p->tags[i];
    p->tags = t;
    p->n_tags = k;
}

static bool default_fn(eng_node_t *n, const eng_pt_t *in, eng_pt_t *out)
{
    struct default_state *s = n->state;
    fa_arena_t *a = &n->task->scratch;
    *out = *in;
    eng_field_t *f = NULL;
    for (uint32_t i = 0; i < s->n_fields; i++) {
        if (eng_point_field(&out->p, s->fields[i].key) != NULL)
            continue;
        if (f == NULL) {
            f = FA_NEW(a, eng_field_t, in->p.n_fields + s->n_fields);
            memcpy(f, in->p.fields, sizeof(eng_field_t) * in->p.n_fields);
            out->p.fields = f;
        }
        f[out->p.n_fields++] = s->fields[i];
        atomic_fetch_add_explicit(&n->stats.own[0], 1, memory_order_relaxed);
    }
    for (uint32_t i = 0; i < s->n_tags; i++) {
        if (eng_point_tag(&out->p, s->tags[i].key).ptr != NULL)
            continue;
        insert_tag(a, &out->p, s->tags[i]);
        out->p.key = FA_STR_NULL;
        atomic_fetch_add_explicit(&n->stats.own[1], 1, memory_order_relaxed);
    }
    return true;
}

static void default_point(eng_node_t *n, eng_node_t *from, const eng_pt_t *p)
{
    eng_pt_t o;
    default_fn(n, p, &o);
    eng_emit_point(n, &o);
}

static void default_rows(eng_node_t *n, eng_node_t *from, const eng_rows_t *b) { map_rows(n, b, default_fn); }

const eng_node_ops_t eng_node_default = { .type = "default",
                                          .state_size = sizeof(struct default_state),
                                          .init = default_init,
                                          .point = default_point,
                                          .rows = default_rows,
                                          .counters = default_counters };

/* --- delete(): .field(name) / .tag(name) remove; a deleted tag leaves the group's dims --- */

enum { DIMS_CACHE = 8 };

struct delete_state {
    fa_str_t *fields, *tags;
    uint32_t n_fields, n_tags;
    const eng_dims_t *dims_in[DIMS_CACHE], *dims_out[DIMS_CACHE];
    uint32_t n_dims;
};

static const char *const delete_counters[] = { "fields_deleted", "tags_deleted", NULL };

static int delete_init(eng_node_t *n, tick_err_t *err)
{
    struct delete_state *s = n->state;
    const tick_call_t *c[64];
    fa_arena_t *a = &n->task->arena;
    s->n_fields = eng_prop_calls(n, "field", c, 64);
    s->fields = FA_NEW(a, fa_str_t, s->n_fields + 1);
    for (uint32_t i = 0; i < s->n_fields; i++)
        s->fields[i] = eng_expr_str(c[i]->args[0]);
    s->n_tags = eng_prop_calls(n, "tag", c, 64);
    s->tags = FA_NEW(a, fa_str_t, s->n_tags + 1);
    for (uint32_t i = 0; i < s->n_tags; i++)
        s->tags[i] = eng_expr_str(c[i]->args[0]);
    return 0;
}

static bool in_list(const fa_str_t *l, uint32_t n, fa_str_t s)
{
    for (uint32_t i = 0; i < n; i++)
        if (fa_str_eq(l[i], s))
            return true;
    return false;
}

/* dims without the deleted tags (cached per input dims; built in the task arena) */
static const eng_dims_t *dims_without(eng_node_t *n, const eng_dims_t *d)
{
    struct delete_state *s = n->state;
    if (d == NULL)
        return NULL;
    for (uint32_t i = 0; i < s->n_dims; i++)
        if (s->dims_in[i] == d)
            return s->dims_out[i];
    fa_str_t keep[64];
    uint32_t k = 0;
    for (uint32_t i = 0; i < d->n && k < 64; i++)
        if (!in_list(s->tags, s->n_tags, d->tags[i]))
            keep[k++] = d->tags[i];
    const eng_dims_t *out = k == d->n ? d : eng_dims_new(&n->task->arena, keep, k, d->by_name);
    if (s->n_dims < DIMS_CACHE) {
        s->dims_in[s->n_dims] = d;
        s->dims_out[s->n_dims++] = out;
    }
    return out;
}

static bool delete_fn(eng_node_t *n, const eng_pt_t *in, eng_pt_t *out)
{
    struct delete_state *s = n->state;
    fa_arena_t *a = &n->task->scratch;
    *out = *in;
    eng_field_t *f = FA_NEW(a, eng_field_t, in->p.n_fields + 1);
    uint32_t nf = 0;
    for (uint32_t i = 0; i < in->p.n_fields; i++) {
        if (in_list(s->fields, s->n_fields, in->p.fields[i].key))
            atomic_fetch_add_explicit(&n->stats.own[0], 1, memory_order_relaxed);
        else
            f[nf++] = in->p.fields[i];
    }
    eng_tag_t *t = FA_NEW(a, eng_tag_t, in->p.n_tags + 1);
    uint32_t nt = 0;
    for (uint32_t i = 0; i < in->p.n_tags; i++) {
        if (in_list(s->tags, s->n_tags, in->p.tags[i].key))
            atomic_fetch_add_explicit(&n->stats.own[1], 1, memory_order_relaxed);
        else
            t[nt++] = in->p.tags[i];
    }
    out->p.fields = f;
    out->p.n_fields = nf;
    if (nt != in->p.n_tags) {
        out->p.tags = t;
        out->p.n_tags = nt;
        out->p.key = FA_STR_NULL;
        out->dims = dims_without(n, in->dims);
        if (out->dims != in->dims)
            out->group = eng_group_id(&out->p, out->dims);
    }
    return true;
}

static void delete_point(eng_node_t *n, eng_node_t *from, const eng_pt_t *p)
{
    eng_pt_t o;
    delete_fn(n, p, &o);
    eng_emit_point(n, &o);
}

static void delete_rows(eng_node_t *n, eng_node_t *from, const eng_rows_t *b)
{
    struct delete_state *s = n->state;
    eng_rows_t rb = *b;
    /* the batch's own tags lose the deleted ones too */
    eng_tag_t *t = FA_NEW(&n->task->scratch, eng_tag_t, b->n_tags + 1);
    rb.n_tags = 0;
    for (uint32_t i = 0; i < b->n_tags; i++)
        if (!in_list(s->tags, s->n_tags, b->tags[i].key))
            t[rb.n_tags++] = b->tags[i];
    rb.tags = t;
    const eng_dims_t *d = dims_without(n, b->dims);
    if (d != b->dims) {
        rb.dims = d;
        eng_point_t gp = { .name = b->name, .tags = rb.tags, .n_tags = rb.n_tags };
        rb.group = eng_group_id(&gp, d);
    }
    map_rows(n, &rb, delete_fn);
}

const eng_node_ops_t eng_node_delete = { .type = "delete",
                                         .state_size = sizeof(struct delete_state),
                                         .init = delete_init,
                                         .point = delete_point,
                                         .rows = delete_rows,
                                         .counters = delete_counters };

/* --- changeDetect(fields...): a point passes when one of the fields differs from the last
 * point that passed in its group (the first point of a group always passes) --- */

struct cd_group {
    bool seen;
    eng_value_t *vals; /* n, malloc; strings point into buf */
    char *buf;
    size_t cap;
};

struct cd_state {
    fa_str_t *fields;
    uint32_t n;
    eng_gmap_t groups; /* group -> struct cd_group */
};

static int cd_init(eng_node_t *n, tick_err_t *err)
{
    struct cd_state *s = n->state;
    s->n = eng_call_strs(n, &s->fields);
    eng_gmap_init(&s->groups, sizeof(struct cd_group));
    return 0;
}

static bool value_eq(const eng_value_t *a, const eng_value_t *b)
{
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case ENG_FLOAT: return a->f == b->f;
    case ENG_INT: return a->i == b->i;
    case ENG_UINT: return a->u == b->u;
    case ENG_STRING: return fa_str_eq(a->s, b->s);
    case ENG_BOOL: return a->b == b->b;
    }
    return false;
}

static int cd_store(struct cd_state *s, struct cd_group *g, const eng_value_t *v)
{
    size_t need = 0;
    for (uint32_t i = 0; i < s->n; i++)
        if (v[i].type == ENG_STRING)
            need += v[i].s.len;
    if (g->vals == NULL && (g->vals = calloc(s->n ? s->n : 1, sizeof(eng_value_t))) == NULL)
        return -1;
    if (need > g->cap) {
        char *b = realloc(g->buf, need);
        if (b == NULL)
            return -1;
        g->buf = b;
        g->cap = need;
    }
    size_t o = 0;
    for (uint32_t i = 0; i < s->n; i++) {
        g->vals[i] = v[i];
        if (v[i].type == ENG_STRING) {
            if (v[i].s.len)
                memcpy(g->buf + o, v[i].s.ptr, v[i].s.len);
            g->vals[i].s = fa_str(g->buf + o, v[i].s.len);
            o += v[i].s.len;
        }
    }
    g->seen = true;
    return 0;
}

static bool cd_fn(eng_node_t *n, const eng_pt_t *in, eng_pt_t *out)
{
    struct cd_state *s = n->state;
    eng_value_t v[64];
    uint32_t nv = s->n < 64 ? s->n : 64;
    for (uint32_t i = 0; i < nv; i++) {
        const eng_field_t *f = eng_point_field(&in->p, s->fields[i]);
        if (f == NULL) {
            eng_node_error(n, "field %.*s not found", (int)s->fields[i].len, s->fields[i].ptr);
            return false;
        }
        v[i] = f->v;
    }
    struct cd_group *g = eng_gmap_get(&s->groups, in->group, NULL);
    if (g == NULL)
        return false;
    bool changed = !g->seen;
    for (uint32_t i = 0; i < nv && !changed; i++)
        changed = !value_eq(&g->vals[i], &v[i]);
    if (!changed)
        return false;
    if (cd_store(s, g, v) != 0) {
        eng_node_error(n, "out of memory keeping the last values");
        return false;
    }
    *out = *in;
    return true;
}

static void cd_point(eng_node_t *n, eng_node_t *from, const eng_pt_t *p)
{
    eng_pt_t o;
    if (cd_fn(n, p, &o))
        eng_emit_point(n, &o);
}

static void cd_rows(eng_node_t *n, eng_node_t *from, const eng_rows_t *b) { map_rows(n, b, cd_fn); }

static void cd_deinit(eng_node_t *n)
{
    struct cd_state *s = n->state;
    for (uint32_t i = 0; i < s->groups.n; i++) {
        struct cd_group *g = eng_gmap_at(&s->groups, i);
        free(g->vals);
        free(g->buf);
    }
    eng_gmap_deinit(&s->groups);
}

const eng_node_ops_t eng_node_changeDetect = { .type = "changeDetect",
                                               .state_size = sizeof(struct cd_state),
                                               .init = cd_init,
                                               .point = cd_point,
                                               .rows = cd_rows,
                                               .deinit = cd_deinit };
