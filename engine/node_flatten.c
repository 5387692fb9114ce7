/* engine/node_flatten.c - flatten(): the points of one group and one time become one point.
 * Kapacitor's rules:
 *   - per group, points are buffered while their time (rounded to .tolerance() from Go's zero
 *     time; none without it) stays the same; a point with another time first emits the buffer
 *     as one point with the buffer's time, the group's name and only the group's tags.
 *   - each field f of a buffered point becomes "<v1><d><v2>...<d>f", v1, v2... being the point's
 *     values of the .on() tags in order and d the .delimiter() ('.'); with
 *     .dropOriginalFieldName() just "<v1><d><v2>...". A point missing one of the .on() tags is
 *     left out with an error. When two points give the same name, the later one wins. Fields
 *     are sorted by name (Kapacitor's are a map).
 *   - a batch is flattened on its own: runs of points of equal (rounded) time, one output point
 *     each (with the batch's tags), into one output batch with the input's name, tags and tmax.
 * The last buffer of a stream group waits for the group's next time (as in Kapacitor);
 * advance(now) (the task's opt-in idle flush, or the end of a replay) emits every buffer older
 * than now. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/nodes.h"
#include "engine/nodeutil.h"
#include "engine/props.h"

struct flatten_state {
    fa_str_t *on;
    uint32_t n_on;
    fa_str_t delim;
    int64_t tolerance;
    bool drop_name;
    eng_gmap_t groups; /* group id -> eng_tset_t * */
};

static int flatten_init(eng_node_t *n, tick_err_t *err)
{
    struct flatten_state *s = n->state;
    s->n_on = eng_prop_strs(n, "on", &s->on);
    s->delim = eng_prop_str(n, "delimiter", FA_STR_LIT("."));
    s->tolerance = eng_prop_dur(n, "tolerance", 0);
    /* .dropOriginalFieldName() or .dropOriginalFieldName(TRUE/FALSE) */
    const tick_expr_t *d = eng_prop_arg(n, "dropOriginalFieldName", 0);
    s->drop_name = eng_prop_set(n, "dropOriginalFieldName") && (d == NULL || d->kind != TICK_EX_BOOL || d->v.b);
    if (s->tolerance < 0) {
        memset(err, 0, sizeof(*err));
        err->code = TICK_ETYPE;
        err->pos = eng_node_prop(n, "tolerance")->pos;
        snprintf(err->msg, sizeof err->msg, "flatten: tolerance must not be negative");
        return -1;
    }
    eng_gmap_init(&s->groups, sizeof(eng_tset_t *));
    return 0;
}

static int64_t round_tol(const struct flatten_state *s, int64_t t)
{
    return s->tolerance > 0 ? eng_go_round(t, s->tolerance) : t;
}

static int cmp_field(const void *a, const void *b)
{
    return fa_str_cmp(((const eng_field_t *)a)->key, ((const eng_field_t *)b)->key);
}

/* One point's fields under its prefix, appended to f (n of cap). false: a tag is missing. */
static bool flatten_one(eng_node_t *n, const eng_point_t *p, eng_field_t *f, uint32_t *nf)
{
    struct flatten_state *s = n->state;
    fa_arena_t *a = &n->task->scratch;
    size_t plen = 0;
    for (uint32_t i = 0; i < s->n_on; i++) {
        fa_str_t v = eng_point_tag(p, s->on[i]);
        if (v.ptr == NULL) {
            eng_node_error(n, "point missing tag \"%.*s\" for flatten operation", (int)s->on[i].len, s->on[i].ptr);
            return false;
        }
        plen += v.len + (i > 0 ? s->delim.len : 0);
    }
    char *pre = fa_arena_alloc(a, plen + 1, 1), *w = pre;
    for (uint32_t i = 0; i < s->n_on; i++) {
        fa_str_t v = eng_point_tag(p, s->on[i]);
        if (i > 0) {
            memcpy(w, s->delim.ptr, s->delim.len);
            w += s->delim.len;
        }
        memcpy(w, v.ptr, v.len);
        w += v.len;
    }
    for (uint32_t j = 0; j < p->n_fields; j++) {
        fa_str_t key;
        if (s->drop_name) {
            key = fa_str(pre, plen);
        } else {
            size_t d = plen > 0 ? s->delim.len : 0, len = plen + d + p->fields[j].key.len;
            char *k = fa_arena_alloc(a, len + 1, 1);
            memcpy(k, pre, plen);
            memcpy(k + plen, s->delim.ptr, d);
            memcpy(k + plen + d, p->fields[j].key.ptr, p->fields[j].key.len);
            k[len] = 0;
            key = fa_str(k, len);
        }
        /* a later point (or field) with the same name replaces the value */
        uint32_t i = 0;
        while (i < *nf && !fa_str_eq(f[i].key, key))
            i++;
        f[i] = (eng_field_t){ key, p->fields[j].v };
        if (i == *nf)
            (*nf)++;
    }
    return true;
}

/* The flattened fields of pts[0..m), sorted, in scratch; false when no point was usable. */
static bool flatten_pts(eng_node_t *n, const eng_point_t *pts, uint32_t m, eng_point_t *out)
{
    uint32_t total = 0, nf = 0, used = 0;
    for (uint32_t i = 0; i < m; i++)
        total += pts[i].n_fields;
    eng_field_t *f = FA_NEW(&n->task->scratch, eng_field_t, total ? total : 1);
    for (uint32_t i = 0; i < m; i++)
        used += flatten_one(n, &pts[i], f, &nf);
    qsort(f, nf, sizeof *f, cmp_field);
    out->fields = f;
    out->n_fields = nf;
    out->key = FA_STR_NULL;
    return used > 0 || m == 0;
}

/* the point's tags that are the group's (dims) tags, in scratch */
static void group_tags(eng_node_t *n, const eng_point_t *p, const eng_dims_t *dims, eng_point_t *out)
{
    out->tags = NULL;
    out->n_tags = 0;
    if (dims == NULL || dims->n == 0)
        return;
    out->tags = FA_NEW(&n->task->scratch, eng_tag_t, dims->n);
    for (uint32_t i = 0; i < dims->n; i++) { /* dims->tags are sorted, like a point's tags */
        fa_str_t v = eng_point_tag(p, dims->tags[i]);
        out->tags[out->n_tags++] = (eng_tag_t){ dims->tags[i], v.ptr ? v : FA_STR_LIT("") };
    }
}

static void flush_group(eng_node_t *n, eng_tset_t *g, uint64_t group, const eng_dims_t *dims)
{
    if (g->n == 0)
        return;
    eng_pt_t out = { .p = { .name = g->pts[0].name, .time = g->time }, .group = group, .dims = dims };
    group_tags(n, &g->pts[0], dims, &out.p);
    if (flatten_pts(n, g->pts, g->n, &out.p))
        eng_emit_point(n, &out);
    /* out's strings are in scratch; the copies in arena are not referenced any more */
    eng_tset_clear(g);
}

static void flatten_point(eng_node_t *n, eng_node_t *from, const eng_pt_t *p)
{
    struct flatten_state *s = n->state;
    int64_t t = round_tol(s, p->p.time);
    eng_tset_t *g = eng_tset_get(n, &s->groups, p->group, t);
    if (g == NULL)
        return;
    if (t != g->time) {
        flush_group(n, g, p->group, p->dims);
        g->time = t;
    }
    g->dims = p->dims;
    eng_tset_push(n, g, &p->p);
}

static void flatten_rows(eng_node_t *n, eng_node_t *from, const eng_rows_t *b)
{
    struct flatten_state *s = n->state;
    eng_point_t *out = FA_NEW(&n->task->scratch, eng_point_t, b->n ? b->n : 1);
    uint32_t n_out = 0, start = 0;
    while (start < b->n) {
        int64_t t = round_tol(s, b->points[start].time);
        uint32_t end = start + 1;
        while (end < b->n && round_tol(s, b->points[end].time) == t)
            end++;
        eng_point_t *o = &out[n_out];
        *o = (eng_point_t){ .name = b->name, .time = t, .tags = b->tags, .n_tags = b->n_tags };
        if (flatten_pts(n, &b->points[start], end - start, o))
            n_out++;
        start = end;
    }
    eng_rows_t r = *b;
    r.points = out;
    r.n = n_out;
    eng_emit_rows(n, &r);
}

static void flatten_advance(eng_node_t *n, int64_t now)
{
    struct flatten_state *s = n->state;
    eng_tsets_flush_before(n, &s->groups, now, flush_group);
}

static void flatten_deinit(eng_node_t *n)
{
    struct flatten_state *s = n->state;
    eng_tsets_deinit(&s->groups);
}

const eng_node_ops_t eng_node_flatten = { .type = "flatten",
                                          .state_size = sizeof(struct flatten_state),
                                          .init = flatten_init,
                                          .point = flatten_point,
                                          .rows = flatten_rows,
                                          .advance = flatten_advance,
                                          .deinit = flatten_deinit };
