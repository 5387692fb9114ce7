/* engine/node_join.c - join(nodes...): as (one prefix per parent, required), on (tags the match
 * is made on; default: the points' own group), delimiter ('.'), tolerance (times rounded to it,
 * as Go's Round), fill (none: incomplete sets are dropped; null: the missing parent's fields are
 * left out, as a point cannot carry a null; a number: the first present point's field names get
 * it), streamName (default: the first present point's name).
 *
 * A set (group, time) is emitted as soon as every parent gave a point. An incomplete set is
 * settled (filled or dropped) once every parent it lacks has sent something later, or on
 * advance(now) (idle flush) for sets older than now. Fields are "<as><delimiter><field>"; tags
 * are the group's tags. A batch is joined point by point and gives points. Runs on the task's one thread: no locks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/group.h"
#include "engine/nodes.h"
#include "engine/nodeutil.h"
#include "engine/props.h"

struct jset {
    uint64_t group;
    int64_t time;
    uint32_t filled;
    eng_pt_t *pts; /* n_parents; pts[i].p.fields == NULL = missing */
};

struct join_state {
    fa_str_t *as, delim, stream_name;
    const eng_dims_t *on;
    int64_t tolerance;
    int fill; /* 0 none, 1 null, 2 value */
    eng_value_t fill_value;
    int64_t *latest;
    struct jset *sets; /* open sets, oldest first */
    uint32_t n_sets, cap_sets;
    fa_arena_t a[2];  /* copies of the points of open sets; compacted like eng_ptq_t */
    int cur;
};

static const char *const join_counters[] = { "dropped", NULL };

static int join_fail(tick_err_t *err, tick_pos_t pos, const char *msg)
{
    memset(err, 0, sizeof(*err));
    err->code = TICK_ETYPE;
    err->pos = pos;
    snprintf(err->msg, sizeof err->msg, "%s", msg);
    return -1;
}

static int join_init(eng_node_t *n, tick_err_t *err)
{
    struct join_state *s = n->state;
    fa_arena_t *a = &n->task->arena;
    if (eng_prop_strs(n, "as", &s->as) != n->n_parents)
        return join_fail(err, n->spec->pos, "join: must provide a prefix for each parent via the 'as' property");
    for (uint32_t i = 0; i < n->n_parents; i++)
        for (uint32_t j = 0; j < i; j++)
            if (fa_str_eq(s->as[i], s->as[j]))
                return join_fail(err, eng_node_prop(n, "as")->pos, "join: the 'as' prefixes must be unique");
    s->delim = eng_prop_str(n, "delimiter", FA_STR_LIT("."));
    s->stream_name = eng_prop_str(n, "streamName", FA_STR_NULL);
    s->tolerance = eng_prop_dur(n, "tolerance", 0);
    fa_str_t *on;
    uint32_t n_on = eng_prop_strs(n, "on", &on);
    if (eng_prop_set(n, "on"))
        s->on = eng_dims_new(a, on, n_on, false);
    const tick_expr_t *f = eng_prop_arg(n, "fill", 0);
    if (f != NULL) {
        bool neg = f->kind == TICK_EX_UNARY && f->v.unary.op == TICK_OP_NEG;
        const tick_expr_t *lit = neg ? f->v.unary.operand : f;
        if (lit->kind == TICK_EX_INT) {
            s->fill = 2;
            s->fill_value = (eng_value_t){ .type = ENG_INT, .i = neg ? -lit->v.i : lit->v.i };
        } else if (lit->kind == TICK_EX_FLOAT) {
            s->fill = 2;
            s->fill_value = (eng_value_t){ .type = ENG_FLOAT, .f = neg ? -lit->v.f : lit->v.f };
        } else if (fa_str_eq_c(eng_expr_str(f), "null")) {
            s->fill = 1;
        } else if (!fa_str_eq_c(eng_expr_str(f), "none")) {
            return join_fail(err, f->pos, "join: fill must be none, null or a number");
        }
    }
    s->latest = FA_NEW(a, int64_t, n->n_parents);
    for (uint32_t i = 0; i < n->n_parents; i++)
        s->latest[i] = INT64_MIN;
    fa_arena_init(&s->a[0], 16384, 0);
    fa_arena_init(&s->a[1], 16384, 0);
    return 0;
}

static void copy_set(eng_node_t *n, fa_arena_t *a, struct jset *js)
{
    eng_pt_t *pts = FA_NEW(a, eng_pt_t, n->n_parents);
    for (uint32_t i = 0; i < n->n_parents; i++) {
        pts[i] = js->pts[i];
        if (js->pts[i].p.fields != NULL)
            eng_point_copy(a, &pts[i].p, &js->pts[i].p);
    }
    js->pts = pts;
}

static void compact(eng_node_t *n)
{
    struct join_state *s = n->state;
    if (s->n_sets == 0) {
        fa_arena_reset(&s->a[s->cur]);
        return;
    }
    if (fa_arena_used(&s->a[s->cur]) < (4u << 20))
        return;
    fa_arena_t *to = &s->a[!s->cur];
    fa_arena_reset(to);
    for (uint32_t i = 0; i < s->n_sets; i++)
        copy_set(n, to, &s->sets[i]);
    fa_arena_reset(&s->a[s->cur]);
    s->cur = !s->cur;
}

static void remove_set(struct join_state *s, uint32_t i)
{
    memmove(&s->sets[i], &s->sets[i + 1], sizeof(struct jset) * (s->n_sets - i - 1));
    s->n_sets--;
}

/* emits set js (complete, or filled as `fill` says); false when it is dropped */
static bool emit_set(eng_node_t *n, const struct jset *js)
{
    struct join_state *s = n->state;
    const eng_pt_t *first = NULL;
    for (uint32_t i = 0; i < n->n_parents && first == NULL; i++)
        if (js->pts[i].p.fields != NULL)
            first = &js->pts[i];
    if (first == NULL || (js->filled < n->n_parents && s->fill == 0))
        return false;
    fa_arena_t *sc = &n->task->scratch;
    uint32_t nf = 0;
    for (uint32_t i = 0; i < n->n_parents; i++)
        nf += js->pts[i].p.fields != NULL ? js->pts[i].p.n_fields : first->p.n_fields;
    eng_field_t *f = FA_NEW(sc, eng_field_t, nf ? nf : 1);
    nf = 0;
    for (uint32_t i = 0; i < n->n_parents; i++) {
        const eng_point_t *src = js->pts[i].p.fields != NULL ? &js->pts[i].p : NULL;
        if (src == NULL && s->fill != 2)
            continue;
        const eng_point_t *names = src != NULL ? src : &first->p;
        for (uint32_t k = 0; k < names->n_fields; k++) {
            fa_str_t key = names->fields[k].key;
            size_t len = s->as[i].len + s->delim.len + key.len;
            char *nm = fa_arena_alloc(sc, len + 1, 1);
            memcpy(nm, s->as[i].ptr, s->as[i].len);
            memcpy(nm + s->as[i].len, s->delim.ptr, s->delim.len);
            memcpy(nm + s->as[i].len + s->delim.len, key.ptr, key.len);
            f[nf++] = (eng_field_t){ fa_str(nm, len), src != NULL ? names->fields[k].v : s->fill_value };
        }
    }
    const eng_dims_t *dims = s->on != NULL ? s->on : first->dims;
    eng_pt_t out = { .group = js->group, .dims = dims };
    out.p.name = s->stream_name.len ? s->stream_name : first->p.name;
    out.p.time = js->time;
    out.p.fields = f;
    out.p.n_fields = nf;
    /* tags: the group's tags */
    if (dims != NULL && dims->n) {
        eng_tag_t *t = FA_NEW(sc, eng_tag_t, dims->n);
        uint32_t nt = 0;
        for (uint32_t k = 0; k < dims->n; k++) {
            fa_str_t v = eng_point_tag(&first->p, dims->tags[k]);
            if (v.ptr != NULL)
                t[nt++] = (eng_tag_t){ dims->tags[k], v };
        }
        out.p.tags = t;
        out.p.n_tags = nt;
    }
    eng_emit_point(n, &out);
    return true;
}

/* settles the incomplete sets that can no longer be completed (every missing parent is past
 * their time), or all older than `idle` when idle != INT64_MIN */
static void settle(eng_node_t *n, int64_t idle)
{
    struct join_state *s = n->state;
    for (uint32_t i = 0; i < s->n_sets;) {
        struct jset *js = &s->sets[i];
        bool done = idle != INT64_MIN && js->time < idle;
        if (!done) {
            done = true;
            for (uint32_t k = 0; k < n->n_parents && done; k++)
                if (js->pts[k].p.fields == NULL && s->latest[k] <= js->time)
                    done = false;
        }
        if (!done) {
            i++;
            continue;
        }
        if (!emit_set(n, js))
            atomic_fetch_add_explicit(&n->stats.own[0], 1, memory_order_relaxed);
        remove_set(s, i);
    }
}

static void join_point(eng_node_t *n, eng_node_t *from, const eng_pt_t *p)
{
    struct join_state *s = n->state;
    uint32_t pi = 0;
    while (pi < n->n_parents && n->parents[pi] != from)
        pi++;
    if (pi == n->n_parents)
        return;
    if (p->p.n_fields == 0)
        return;
    uint64_t group = s->on != NULL ? eng_group_id(&p->p, s->on) : p->group;
    int64_t t = s->tolerance > 0 ? eng_go_round(p->p.time, s->tolerance) : p->p.time;
    if (t > s->latest[pi])
        s->latest[pi] = t;
    settle(n, INT64_MIN); /* older sets first, so output stays in time order */
    compact(n);
    struct jset *js = NULL;
    uint32_t idx = 0;
    for (; idx < s->n_sets; idx++)
        if (s->sets[idx].group == group && s->sets[idx].time == t) {
            js = &s->sets[idx];
            break;
        }
    fa_arena_t *a = &s->a[s->cur];
    if (js == NULL) {
        if (s->n_sets == s->cap_sets) {
            uint32_t cap = s->cap_sets ? s->cap_sets * 2 : 16;
            struct jset *v = realloc(s->sets, cap * sizeof *v);
            if (v == NULL) {
                eng_node_error(n, "out of memory for join sets");
                return;
            }
            s->sets = v;
            s->cap_sets = cap;
        }
        js = &s->sets[s->n_sets++];
        idx = s->n_sets - 1;
        *js = (struct jset){ .group = group, .time = t };
        js->pts = FA_NEW(a, eng_pt_t, n->n_parents);
        memset(js->pts, 0, sizeof(eng_pt_t) * n->n_parents);
    }
    if (js->pts[pi].p.fields == NULL)
        js->filled++;
    js->pts[pi] = *p;
    eng_point_copy(a, &js->pts[pi].p, &p->p);
    if (js->filled == n->n_parents) {
        struct jset done = *js;
        remove_set(s, idx);
        emit_set(n, &done);
    }
}

static void join_rows(eng_node_t *n, eng_node_t *from, const eng_rows_t *b)
{
    /* a batch is joined point by point on its points' times */
    for (uint32_t i = 0; i < b->n; i++) {
        eng_pt_t p = { .p = b->points[i], .group = b->group, .dims = b->dims };
        join_point(n, from, &p);
    }
}

static void join_advance(eng_node_t *n, int64_t now) { settle(n, now); }

static void join_deinit(eng_node_t *n)
{
    struct join_state *s = n->state;
    free(s->sets);
    fa_arena_deinit(&s->a[0]);
    fa_arena_deinit(&s->a[1]);
}

const eng_node_ops_t eng_node_join = { .type = "join",
                                       .state_size = sizeof(struct join_state),
                                       .init = join_init,
                                       .point = join_point,
                                       .rows = join_rows,
                                       .advance = join_advance,
                                       .deinit = join_deinit,
                                       .counters = join_counters };
