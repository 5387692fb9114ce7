/* engine/node_groupby.c - groupBy(tags... | *) with .exclude(tags...) and .byMeasurement().
 *
 * Stream: sets each point's dims and group id. With `*` the dims are the point's own tag keys
 * (minus the excluded ones), interned per distinct key set, and the group id also mixes in the
 * keys, so {host=a} and {dc=a} are different groups.
 * Batch: regroups the points of incoming batches. As in Kapacitor, batches with the same tmax
 * are merged (points of one new group from several incoming batches end up in one batch), and
 * the regrouped batches are emitted, in order of first appearance, when a batch with another
 * tmax arrives or advance() reaches their tmax. Points are copied into node-owned blocks. */
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "engine/group.h"
#include "engine/influxql_buf.h"
#include "engine/nodes.h"
#include "engine/props.h"

struct pending {
    uint64_t id;
    const eng_dims_t *dims;
    eng_ptbuf_t buf;
};

struct groupby_state {
    const eng_dims_t *dims;   /* fixed dims (not `*`) */
    bool star, by_name;
    fa_str_t *exclude;
    uint32_t n_exclude;
    /* `*`: key-set hash -> index into star_dims */
    eng_gidx_t star_map;
    const eng_dims_t **star_dims;
    uint64_t *star_hash;
    uint32_t n_star, cap_star;
    /* batch regrouping */
    eng_gidx_t pmap;
    eng_slab_t pending;
    eng_blkpool_t pool;
    fa_str_t name;            /* of the pending batches (copied) */
    fa_arena_t name_arena;
    int64_t tmax;
    bool has_pending;
};

static bool excluded(const struct groupby_state *s, fa_str_t tag)
{
    for (uint32_t i = 0; i < s->n_exclude; i++)
        if (fa_str_eq(s->exclude[i], tag))
            return true;
    return false;
}

static int groupby_init(eng_node_t *n, tick_err_t *err)
{
    struct groupby_state *s = n->state;
    fa_str_t *tags;
    uint32_t nt = eng_call_strs(n, &tags);
    s->n_exclude = eng_prop_strs(n, "exclude", &s->exclude);
    s->by_name = eng_prop_set(n, "byMeasurement");
    uint32_t k = 0;
    for (uint32_t i = 0; i < nt; i++) {
        if (fa_str_eq_c(tags[i], "*"))
            s->star = true;
        else if (!excluded(s, tags[i]))
            tags[k++] = tags[i];
    }
    if (!s->star)
        s->dims = eng_dims_new(&n->task->arena, tags, k, s->by_name);
    eng_gidx_init(&s->star_map);
    eng_gidx_init(&s->pmap);
    eng_slab_init(&s->pending, sizeof(struct pending));
    eng_blkpool_init(&s->pool, 2048, 256);
    fa_arena_init(&s->name_arena, 256, 0);
    return 0;
}

static void groupby_deinit(eng_node_t *n)
{
    struct groupby_state *s = n->state;
    for (uint32_t i = 0; i < s->pending.n; i++)
        eng_ptbuf_clear(&((struct pending *)eng_slab_at(&s->pending, i))->buf, &s->pool);
    eng_blkpool_deinit(&s->pool);
    eng_slab_deinit(&s->pending);
    eng_gidx_deinit(&s->pmap);
    eng_gidx_deinit(&s->star_map);
    free(s->star_dims);
    free(s->star_hash);
    fa_arena_deinit(&s->name_arena);
}

static uint64_t keys_hash(const struct groupby_state *s, const eng_point_t *p)
{
    uint64_t h = 0x243f6a8885a308d3ull;
    for (uint32_t i = 0; i < p->n_tags; i++)
        if (!excluded(s, p->tags[i].key))
            h = XXH3_64bits_withSeed(p->tags[i].key.ptr ? p->tags[i].key.ptr : "", p->tags[i].key.len, h) + p->tags[i].key.len;
    return h;
}

static bool same_keys(const struct groupby_state *s, const eng_dims_t *d, const eng_point_t *p)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < p->n_tags; i++) {
        if (excluded(s, p->tags[i].key))
            continue;
        if (k >= d->n || !fa_str_eq(d->tags[k], p->tags[i].key))
            return false;
        k++;
    }
    return k == d->n;
}

/* the interned dims for p's key set (tags are sorted, so the dims are in point order) */
static const eng_dims_t *star_dims(eng_node_t *n, const eng_point_t *p, uint64_t *kh)
{
    struct groupby_state *s = n->state;
    uint64_t h = keys_hash(s, p);
    for (uint64_t probe = h;; probe++) { /* a 64-bit collision moves on to the next key */
        uint32_t i = eng_gidx_get(&s->star_map, probe);
        if (i == ENG_GIDX_NONE) {
            fa_arena_t *a = &n->task->arena;
            fa_str_t *keys = FA_NEW(a, fa_str_t, p->n_tags ? p->n_tags : 1);
            uint32_t k = 0;
            for (uint32_t j = 0; j < p->n_tags; j++)
                if (!excluded(s, p->tags[j].key))
                    keys[k++] = fa_str(fa_arena_strndup(a, p->tags[j].key.ptr, p->tags[j].key.len), p->tags[j].key.len);
            if (s->n_star == s->cap_star) {
                s->cap_star = s->cap_star ? s->cap_star * 2 : 8;
                s->star_dims = realloc(s->star_dims, sizeof(*s->star_dims) * s->cap_star);
                s->star_hash = realloc(s->star_hash, sizeof(*s->star_hash) * s->cap_star);
                if (s->star_dims == NULL || s->star_hash == NULL)
                    abort();
            }
            s->star_dims[s->n_star] = eng_dims_new(a, keys, k, s->by_name);
            s->star_hash[s->n_star] = probe;
            eng_gidx_put(&s->star_map, probe, s->n_star);
            *kh = probe;
            return s->star_dims[s->n_star++];
        }
        if (same_keys(s, s->star_dims[i], p)) {
            *kh = probe;
            return s->star_dims[i];
        }
    }
}

static void regroup(eng_node_t *n, const eng_point_t *p, const eng_dims_t **dims, uint64_t *group)
{
    struct groupby_state *s = n->state;
    if (!s->star) {
        *dims = s->dims;
        *group = eng_group_id(p, s->dims);
        return;
    }
    uint64_t kh;
    *dims = star_dims(n, p, &kh);
    uint64_t g = eng_group_id(p, *dims);
    if (g != 0)
        g = (g ^ (kh * 0x9e3779b97f4a7c15ull)) | 1;
    *group = g;
}

static void groupby_point(eng_node_t *n, eng_node_t *from, const eng_pt_t *p)
{
    eng_pt_t out = *p;
    regroup(n, &p->p, &out.dims, &out.group);
    eng_emit_point(n, &out);
}

static void flush(eng_node_t *n)
{
    struct groupby_state *s = n->state;
    fa_arena_t *a = &n->task->scratch;
    for (uint32_t i = 0; i < s->pending.n; i++) {
        struct pending *pg = eng_slab_at(&s->pending, i);
        eng_rows_t r = { .name = s->name, .group = pg->id, .dims = pg->dims, .tmax = s->tmax, .n = pg->buf.n };
        r.points = FA_NEW(a, eng_point_t, pg->buf.n ? pg->buf.n : 1);
        eng_ptbuf_collect(&pg->buf, r.points);
        if (pg->dims != NULL && pg->dims->n != 0 && r.n != 0) {
            r.tags = FA_NEW(a, eng_tag_t, pg->dims->n);
            for (uint32_t k = 0; k < pg->dims->n; k++) {
                fa_str_t v = eng_point_tag(&r.points[0], pg->dims->tags[k]);
                if (v.ptr != NULL)
                    r.tags[r.n_tags++] = (eng_tag_t){ pg->dims->tags[k], v };
            }
        }
        eng_emit_rows(n, &r);
        eng_ptbuf_clear(&pg->buf, &s->pool);
    }
    eng_slab_clear(&s->pending);
    eng_gidx_clear(&s->pmap);
    s->has_pending = false;
}

static void groupby_rows(eng_node_t *n, eng_node_t *from, const eng_rows_t *b)
{
    struct groupby_state *s = n->state;
    if (s->has_pending && b->tmax != s->tmax)
        flush(n);
    if (!s->has_pending) {
        fa_arena_reset(&s->name_arena);
        s->name = b->name.len ? fa_str(fa_arena_strndup(&s->name_arena, b->name.ptr, b->name.len), b->name.len) : FA_STR_LIT("");
        s->tmax = b->tmax;
        s->has_pending = true;
    }
    for (uint32_t i = 0; i < b->n; i++) {
        const eng_point_t *p = &b->points[i];
        const eng_dims_t *dims;
        uint64_t group;
        regroup(n, p, &dims, &group);
        uint32_t k = eng_gidx_get(&s->pmap, group);
        if (k == ENG_GIDX_NONE) {
            k = eng_slab_add(&s->pending);
            eng_gidx_put(&s->pmap, group, k);
            struct pending *pg = eng_slab_at(&s->pending, k);
            pg->id = group;
            pg->dims = dims;
        }
        struct pending *pg = eng_slab_at(&s->pending, k);
        eng_ptbuf_push(&pg->buf, &s->pool, p);
    }
}

static void groupby_advance(eng_node_t *n, int64_t now)
{
    struct groupby_state *s = n->state;
    if (s->has_pending && s->tmax <= now)
        flush(n);
}

const eng_node_ops_t eng_node_groupby = { .type = "groupBy",
                                          .state_size = sizeof(struct groupby_state),
                                          .init = groupby_init,
                                          .point = groupby_point,
                                          .rows = groupby_rows,
                                          .advance = groupby_advance,
                                          .deinit = groupby_deinit };
