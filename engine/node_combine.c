/* engine/node_combine.c - combine(λ...): joins a stream with itself. Kapacitor's rules:
 *   - per group, points are buffered while their time (rounded to .tolerance() from Go's zero
 *     time; no rounding without it) stays the same; a point with a later time first combines
 *     the buffer. The buffer's time then becomes the new point's time even when it is older
 *     (Kapacitor sets it unconditionally): such a point joins the current buffer.
 *   - combining: every expression is evaluated on every buffered point (an error counts and is
 *     "no match"). The k-subsets of the buffer (k = number of expressions) are walked in
 *     lexicographic order of point indexes; in each, expression i takes the first point of the
 *     subset not taken yet that it matches; a subset where each expression found a point makes
 *     one output point. More than .max() (10000) subsets: the buffer is dropped with an error
 *     (Kapacitor stops the task there; farad counts it and goes on).
 *   - an output point has the buffer's name, group and time; each field f of the point taken by
 *     expression i becomes "<as[i]><delimiter>f"; each tag likewise, except the group's own tags,
 *     kept as they are. Fields are sorted by name (Kapacitor's are a map).
 *   - a batch is combined on its own: runs of points of equal (rounded) time, the same way, into
 *     one output batch with the input's name, group, tags and tmax.
 * Buffered points are copied into a per-group arena reset after each combine. A group's last
 * set waits for the group's next time, as in Kapacitor; advance(now) (the task's opt-in idle
 * flush, or the end of a replay) combines every set older than now. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/lambda.h"
#include "engine/nodes.h"
#include "engine/nodeutil.h"
#include "engine/props.h"

enum { COMBINE_MAX_EXPRS = 16 };

struct combine_state {
    eng_lambda_t exprs[COMBINE_MAX_EXPRS];
    fa_str_t as[COMBINE_MAX_EXPRS];
    uint32_t k;
    fa_str_t delim;
    int64_t tolerance, max;
    eng_gmap_t groups;    /* group id -> eng_tset_t * */
    bool *match;          /* k * match_cap, reused */
    uint32_t match_cap;
};

/* where combine() sends each output point: emitted at once (stream) or gathered (batch) */
struct csink {
    eng_node_t *n;
    eng_point_t *out;     /* batch: scratch array, grown by doubling */
    uint32_t n_out, cap;
    bool rows;
};

static int combine_init(eng_node_t *n, tick_err_t *err)
{
    struct combine_state *s = n->state;
    const tick_call_t *c = n->spec->call;
    memset(err, 0, sizeof(*err));
    err->code = TICK_ETYPE;
    err->pos = n->spec->pos;
    s->k = c->nargs;
    if (s->k == 0 || s->k > COMBINE_MAX_EXPRS) {
        snprintf(err->msg, sizeof err->msg, "combine: between 1 and %d expressions, got %u", COMBINE_MAX_EXPRS, s->k);
        return -1;
    }
    fa_str_t *as;
    if (eng_prop_strs(n, "as", &as) != s->k) {
        snprintf(err->msg, sizeof err->msg, "combine: must provide one name per expression via the 'as' property");
        return -1;
    }
    for (uint32_t i = 0; i < s->k; i++) {
        s->as[i] = as[i];
        for (uint32_t j = 0; j < i; j++)
            if (fa_str_eq(as[i], as[j])) {
                snprintf(err->msg, sizeof err->msg, "combine: duplicate name \"%.*s\" in 'as'", (int)as[i].len, as[i].ptr);
                return -1;
            }
    }
    s->delim = eng_prop_str(n, "delimiter", FA_STR_LIT("."));
    if (s->delim.len == 0) {
        snprintf(err->msg, sizeof err->msg, "combine: delimiter must not be empty");
        return -1;
    }
    s->tolerance = eng_prop_dur(n, "tolerance", 0);
    s->max = eng_prop_int(n, "max", 10000);
    if (s->tolerance < 0 || s->max <= 0) {
        snprintf(err->msg, sizeof err->msg, "combine: tolerance must not be negative and max must be positive");
        return -1;
    }
    for (uint32_t i = 0; i < s->k; i++)
        if (eng_lambda_compile(n, c->args[i], &s->exprs[i], err) != 0)
            return -1;
    eng_gmap_init(&s->groups, sizeof(eng_tset_t *));
    return 0;
}

static int64_t round_tol(const struct combine_state *s, int64_t t)
{
    return s->tolerance > 0 ? eng_go_round(t, s->tolerance) : t;
}

/* n choose k, or -1 when n < k; max + 1 as soon as it is known to exceed max. With k' = min(k, n-k)
 * the partial products C(n,1) <= C(n,2) <= ... <= C(n,k') are exact and never decrease. */
static int64_t n_choose_k(int64_t n, int64_t k, int64_t max)
{
    if (n < k)
        return -1;
    if (n - k < k)
        k = n - k;
    int64_t c = 1;
    for (int64_t i = 0; i < k; i++) {
        c = c * (n - i) / (i + 1);
        if (c > max)
            return max + 1;
    }
    return c;
}

static fa_str_t prefixed(fa_arena_t *a, fa_str_t pre, fa_str_t delim, fa_str_t name)
{
    char *p = fa_arena_alloc(a, pre.len + delim.len + name.len + 1, 1);
    memcpy(p, pre.ptr, pre.len);
    memcpy(p + pre.len, delim.ptr, delim.len);
    memcpy(p + pre.len + delim.len, name.ptr, name.len);
    p[pre.len + delim.len + name.len] = 0;
    return fa_str(p, pre.len + delim.len + name.len);
}

static int cmp_field(const void *a, const void *b)
{
    return fa_str_cmp(((const eng_field_t *)a)->key, ((const eng_field_t *)b)->key);
}

static int cmp_tag(const void *a, const void *b) { return fa_str_cmp(((const eng_tag_t *)a)->key, ((const eng_tag_t *)b)->key); }

static bool is_dim(const eng_dims_t *dims, fa_str_t key)
{
    if (dims == NULL)
        return false;
    for (uint32_t i = 0; i < dims->n; i++)
        if (fa_str_eq(dims->tags[i], key))
            return true;
    return false;
}

/* sorts fields and tags by key in place, keeping one of each key (group tags repeat with one value) */
static uint32_t sort_unique_fields(eng_field_t *f, uint32_t n)
{
    qsort(f, n, sizeof *f, cmp_field);
    uint32_t k = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (k > 0 && fa_str_eq(f[k - 1].key, f[i].key))
            f[k - 1] = f[i];
        else
            f[k++] = f[i];
    }
    return k;
}

static uint32_t sort_unique_tags(eng_tag_t *t, uint32_t n)
{
    qsort(t, n, sizeof *t, cmp_tag);
    uint32_t k = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (k > 0 && fa_str_eq(t[k - 1].key, t[i].key))
            t[k - 1] = t[i];
        else
            t[k++] = t[i];
    }
    return k;
}

/* the output point made of set[0..k) */
static void merge(eng_node_t *n, const eng_point_t *const *set, const eng_dims_t *dims, eng_point_t *out)
{
    struct combine_state *s = n->state;
    fa_arena_t *a = &n->task->scratch;
    uint32_t nf = 0, nt = 0;
    for (uint32_t i = 0; i < s->k; i++) {
        nf += set[i]->n_fields;
        nt += set[i]->n_tags;
    }
    eng_field_t *f = FA_NEW(a, eng_field_t, nf ? nf : 1);
    eng_tag_t *t = FA_NEW(a, eng_tag_t, nt ? nt : 1);
    nf = nt = 0;
    for (uint32_t i = 0; i < s->k; i++) {
        for (uint32_t j = 0; j < set[i]->n_fields; j++)
            f[nf++] = (eng_field_t){ prefixed(a, s->as[i], s->delim, set[i]->fields[j].key), set[i]->fields[j].v };
        for (uint32_t j = 0; j < set[i]->n_tags; j++) {
            const eng_tag_t *tg = &set[i]->tags[j];
            t[nt++] = is_dim(dims, tg->key) ? *tg : (eng_tag_t){ prefixed(a, s->as[i], s->delim, tg->key), tg->value };
        }
    }
    out->fields = f;
    out->n_fields = sort_unique_fields(f, nf);
    out->tags = t;
    out->n_tags = sort_unique_tags(t, nt);
    out->key = FA_STR_NULL;
}

static void sink_put(struct csink *k, const eng_point_t *p, uint64_t group, const eng_dims_t *dims)
{
    if (!k->rows) {
        eng_pt_t pt = { .p = *p, .group = group, .dims = dims };
        eng_emit_point(k->n, &pt);
        return;
    }
    if (k->n_out == k->cap) {
        uint32_t cap = k->cap ? k->cap * 2 : 16;
        eng_point_t *np = FA_NEW(&k->n->task->scratch, eng_point_t, cap);
        if (k->n_out)
            memcpy(np, k->out, sizeof(eng_point_t) * k->n_out);
        k->out = np;
        k->cap = cap;
    }
    k->out[k->n_out++] = *p;
}

/* Combines pts[0..m) of one time into the sink. */
static void combine_pts(eng_node_t *n, const eng_point_t *pts, uint32_t m, int64_t time, uint64_t group,
                        const eng_dims_t *dims, struct csink *sink)
{
    struct combine_state *s = n->state;
    uint32_t k = s->k;
    if (m == 0)
        return;
    int64_t count = n_choose_k(m, k, s->max);
    if (count < 0)
        return;
    if (count > s->max) {
        eng_node_error(n, "refusing to perform combination as total combinations of %u points by %u exceeds max combinations %" PRId64,
                       m, k, s->max);
        return;
    }
    if (m > s->match_cap) {
        free(s->match);
        s->match_cap = m < 64 ? 64 : m * 2;
        s->match = malloc(sizeof(bool) * k * s->match_cap);
        if (s->match == NULL) {
            s->match_cap = 0;
            eng_node_error(n, "out of memory for %u points", m);
            return;
        }
    }
    for (uint32_t j = 0; j < m; j++) {
        eng_pt_t pt = { .p = pts[j], .group = group, .dims = dims };
        for (uint32_t i = 0; i < k; i++) {
            bool ok = false;
            tick_err_t err;
            if (eng_lambda_eval_bool(&s->exprs[i], n, &pt, &ok, &err) != 0) {
                eng_node_error(n, "error evaluating expression %u: %s", i, err.msg);
                ok = false;
            }
            s->match[i * s->match_cap + j] = ok;
        }
    }
    uint32_t idx[COMBINE_MAX_EXPRS], left[COMBINE_MAX_EXPRS];
    const eng_point_t *set[COMBINE_MAX_EXPRS];
    for (uint32_t i = 0; i < k; i++)
        idx[i] = i;
    for (;;) {
        /* greedy: expression e takes the first index of the subset still free that it matches */
        uint32_t nl = k;
        memcpy(left, idx, sizeof(uint32_t) * k);
        bool valid = true;
        for (uint32_t e = 0; e < k && valid; e++) {
            uint32_t i = 0;
            while (i < nl && !s->match[e * s->match_cap + left[i]])
                i++;
            if (i == nl) {
                valid = false;
                break;
            }
            set[e] = &pts[left[i]];
            memmove(&left[i], &left[i + 1], sizeof(uint32_t) * (nl - i - 1));
            nl--;
        }
        if (valid) {
            eng_point_t out = { .name = pts[0].name, .time = time };
            merge(n, set, dims, &out);
            sink_put(sink, &out, group, dims);
        }
        /* next k-subset in lexicographic order */
        int i = (int)k - 1;
        while (i >= 0 && idx[i] == (uint32_t)i + m - k)
            i--;
        if (i < 0)
            break;
        idx[i]++;
        for (uint32_t j = (uint32_t)i + 1; j < k; j++)
            idx[j] = idx[j - 1] + 1;
    }
}

static void flush_group(eng_node_t *n, eng_tset_t *g, uint64_t group, const eng_dims_t *dims)
{
    struct csink sink = { .n = n };
    combine_pts(n, g->pts, g->n, g->time, group, dims, &sink);
    eng_tset_clear(g);
}

static void combine_point(eng_node_t *n, eng_node_t *from, const eng_pt_t *p)
{
    struct combine_state *s = n->state;
    int64_t t = round_tol(s, p->p.time);
    eng_tset_t *g = eng_tset_get(n, &s->groups, p->group, t);
    if (g == NULL)
        return;
    if (t > g->time)
        flush_group(n, g, p->group, p->dims);
    g->time = t;
    g->dims = p->dims;
    if (eng_tset_push(n, g, &p->p))
        g->pts[g->n - 1].time = t;
}

static void combine_rows(eng_node_t *n, eng_node_t *from, const eng_rows_t *b)
{
    struct combine_state *s = n->state;
    struct csink sink = { .n = n, .rows = true };
    fa_arena_t *a = &n->task->scratch;
    eng_point_t *pts = FA_NEW(a, eng_point_t, b->n ? b->n : 1);
    uint32_t m = 0;
    int64_t cur = INT64_MIN;
    for (uint32_t i = 0; i < b->n; i++) {
        int64_t t = round_tol(s, b->points[i].time);
        if (m > 0 && t > cur) {
            combine_pts(n, pts, m, cur, b->group, b->dims, &sink);
            m = 0;
        }
        cur = t;
        pts[m] = b->points[i];
        pts[m].time = t;
        pts[m].name = b->name;
        m++;
    }
    combine_pts(n, pts, m, cur, b->group, b->dims, &sink);
    eng_rows_t out = *b;
    out.points = sink.out;
    out.n = sink.n_out;
    eng_emit_rows(n, &out);
}

static void combine_advance(eng_node_t *n, int64_t now)
{
    struct combine_state *s = n->state;
    eng_tsets_flush_before(n, &s->groups, now, flush_group); /* a set's own dims: its last point's */
}

static void combine_deinit(eng_node_t *n)
{
    struct combine_state *s = n->state;
    for (uint32_t i = 0; i < s->k; i++)
        eng_lambda_release(&s->exprs[i]);
    eng_tsets_deinit(&s->groups);
    free(s->match);
}

const eng_node_ops_t eng_node_combine = { .type = "combine",
                                          .state_size = sizeof(struct combine_state),
                                          .init = combine_init,
                                          .point = combine_point,
                                          .rows = combine_rows,
                                          .advance = combine_advance,
                                          .deinit = combine_deinit };
