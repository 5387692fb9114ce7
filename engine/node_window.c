/* engine/node_window.c - window(): stream in, one batch per group and window out.
 *
 * Kapacitor's rules, per group (a group's window closes only when a point of that group
 * arrives past its end, KAPACITOR.md section 10):
 *   - by time, every > 0: the window is [end - period, end); a point at or after `end` first
 *     emits it (tmax = end), then the next end is point time + every (truncated to a multiple
 *     of every counted from Go's zero time, year 1, with .align()); the point goes in after.
 *     The first end is first point + every, or + period with .fillPeriod() (then aligned so
 *     that it lies after first point + period).
 *   - by time, every == 0: every point emits the window (point time - period, point time].
 *   - by count: the last periodCount points, emitted every everyCount points (first after
 *     periodCount with .fillPeriod()); tmax is the newest point's time.
 * Points are deep-copied into blocks the node owns (engine/influxql_buf.h), given back to the
 * node's free list as they leave the window.
 * Fusion: when every child is a decomposable aggregate (count sum mean spread stddev) and
 * windows do not overlap (period <= every), the window keeps only each child's running state
 * per group, never the points, and hands the state to the child at the window's end.
 * advance(now): windows whose end is at or before now are emitted (when not empty) and the
 * group starts afresh with its next point: the opt-in idle flush. */
#include <stdio.h>
#include <string.h>

#include "engine/influxql.h"
#include "engine/influxql_buf.h"
#include "engine/nodes.h"
#include "engine/props.h"

struct wgroup {
    uint64_t id;
    int64_t next_emit;      /* time windows: the current window's end; count windows: the count */
    const eng_dims_t *dims;
    fa_str_t name;
    eng_tag_t *tags;
    uint32_t n_tags;
    uint32_t started;       /* 0: the next point opens the first window */
    uint64_t count;         /* points seen (count windows) or in the window (fused) */
    /* then: eng_ptbuf_t (buffered) or the children's running states (fused) */
};

struct window_state {
    int64_t period, every, period_count, every_count;
    bool align, fill_period, by_count, fused;
    size_t *acc_off;        /* fused: offset of each child's state in a group record */
    size_t rec_size;
    eng_gidx_t map;
    eng_slab_t groups;
    eng_blkpool_t pool;
    fa_arena_t arena;       /* group names and tags: live as long as the node */
    fa_str_t last_name;     /* the last name copied, shared by the next group with that name */
};

enum { W_GROUPS, W_BYTES };
static const char *const window_counters[] = { "groups", "bytes", NULL };

static void set_err(tick_err_t *err, tick_pos_t pos, const char *msg)
{
    memset(err, 0, sizeof(*err));
    err->code = TICK_ETYPE;
    err->pos = pos;
    snprintf(err->msg, sizeof err->msg, "%s", msg);
}

static int window_init(eng_node_t *n, tick_err_t *err)
{
    struct window_state *s = n->state;
    s->period = eng_prop_dur(n, "period", 0);
    s->every = eng_prop_dur(n, "every", 0);
    s->period_count = eng_prop_int(n, "periodCount", 0);
    s->every_count = eng_prop_int(n, "everyCount", 0);
    s->align = eng_prop_set(n, "align");
    s->fill_period = eng_prop_set(n, "fillPeriod");
    s->by_count = s->period_count != 0;
    /* pipeline/window.go's checks, plus the ones a zero or negative value needs here */
    const char *bad = NULL;
    if (s->period_count != 0 && s->period != 0)
        bad = "cannot specify both period and periodCount";
    else if (s->period_count != 0 && s->align)
        bad = "can only align windows based off time, not count";
    else if (s->period_count != 0 && s->every_count <= 0)
        bad = "everyCount must be greater than zero";
    else if (s->period_count < 0)
        bad = "periodCount must be greater than zero";
    else if (!s->by_count && s->period <= 0)
        bad = "window node must have a period greater than zero or a periodCount";
    else if (!s->by_count && s->every < 0)
        bad = "every must not be negative";
    else if (!s->by_count && s->align && s->every == 0)
        bad = "cannot align a window emitted on every point (every is 0)";
    if (bad != NULL) {
        set_err(err, n->spec->pos, bad);
        return -1;
    }
    s->fused = !s->by_count && s->every > 0 && s->period <= s->every && n->n_children > 0;
    for (uint32_t i = 0; i < n->n_children && s->fused; i++)
        s->fused = eng_iql_fuse_size(n->children[i]) != 0;
    s->rec_size = sizeof(struct wgroup);
    if (s->fused) {
        s->acc_off = FA_NEW(&n->task->arena, size_t, n->n_children);
        for (uint32_t i = 0; i < n->n_children; i++) {
            s->acc_off[i] = s->rec_size;
            s->rec_size += (eng_iql_fuse_size(n->children[i]) + 7) & ~(size_t)7;
        }
    } else {
        s->rec_size += sizeof(eng_ptbuf_t);
    }
    eng_gidx_init(&s->map);
    eng_slab_init(&s->groups, s->rec_size);
    eng_blkpool_init(&s->pool, 2048, 1024);
    fa_arena_init(&s->arena, 65536, 0);
    return 0;
}

static void window_deinit(eng_node_t *n)
{
    struct window_state *s = n->state;
    if (!s->fused)
        for (uint32_t i = 0; i < s->groups.n; i++)
            eng_ptbuf_clear((eng_ptbuf_t *)((struct wgroup *)eng_slab_at(&s->groups, i) + 1), &s->pool);
    eng_blkpool_deinit(&s->pool);
    eng_slab_deinit(&s->groups);
    eng_gidx_deinit(&s->map);
    fa_arena_deinit(&s->arena);
}

static size_t state_bytes(const struct window_state *s)
{
    return eng_gidx_bytes(&s->map) + eng_slab_bytes(&s->groups) + s->pool.bytes + fa_arena_used(&s->arena);
}

/* Go's time.Truncate: down to a multiple of d counted from year 1 (-62135596800 s from the epoch) */
static int64_t go_truncate(int64_t t, int64_t d)
{
    if (d <= 0)
        return t;
    const __int128 zero = (__int128)-62135596800LL * 1000000000LL;
    __int128 since = (__int128)t - zero;
    return t - (int64_t)(since % d);
}

static fa_str_t keep_str(struct window_state *s, fa_str_t v)
{
    return v.len ? fa_str(fa_arena_strndup(&s->arena, v.ptr, v.len), v.len) : FA_STR_LIT("");
}

static struct wgroup *group_of(eng_node_t *n, const eng_pt_t *p)
{
    struct window_state *s = n->state;
    uint32_t i = eng_gidx_get(&s->map, p->group);
    if (i != ENG_GIDX_NONE)
        return eng_slab_at(&s->groups, i);
    i = eng_slab_add(&s->groups);
    eng_gidx_put(&s->map, p->group, i);
    struct wgroup *g = eng_slab_at(&s->groups, i);
    g->id = p->group;
    g->dims = p->dims;
    if (!fa_str_eq(s->last_name, p->p.name))
        s->last_name = keep_str(s, p->p.name);
    g->name = s->last_name;
    if (p->dims != NULL && p->dims->n != 0) {
        g->tags = FA_NEW(&s->arena, eng_tag_t, p->dims->n);
        for (uint32_t k = 0; k < p->dims->n; k++) {
            fa_str_t v = eng_point_tag(&p->p, p->dims->tags[k]);
            if (v.ptr != NULL) /* the key lives in the dims, as long as the task */
                g->tags[g->n_tags++] = (eng_tag_t){ p->dims->tags[k], keep_str(s, v) };
        }
    }
    atomic_store_explicit(&n->stats.cardinality, s->groups.n, memory_order_relaxed);
    atomic_store_explicit(&n->stats.own[W_GROUPS], s->groups.n, memory_order_relaxed);
    atomic_store_explicit(&n->stats.own[W_BYTES], state_bytes(s), memory_order_relaxed);
    return g;
}

static eng_ptbuf_t *buf_of(struct wgroup *g) { return (eng_ptbuf_t *)(g + 1); }

static eng_rows_t header(const struct wgroup *g, int64_t tmax)
{
    return (eng_rows_t){ .name = g->name, .group = g->id, .dims = g->dims, .tags = g->tags, .n_tags = g->n_tags, .tmax = tmax };
}

static void emit_buffered(eng_node_t *n, struct wgroup *g, int64_t tmax)
{
    eng_ptbuf_t *b = buf_of(g);
    eng_rows_t r = header(g, tmax);
    r.n = b->n;
    r.points = FA_NEW(&n->task->scratch, eng_point_t, b->n ? b->n : 1);
    eng_ptbuf_collect(b, r.points);
    eng_emit_rows(n, &r);
}

static void emit_fused(eng_node_t *n, struct wgroup *g, int64_t tmax)
{
    struct window_state *s = n->state;
    eng_rows_t r = header(g, tmax);
    atomic_fetch_add_explicit(&n->stats.emitted, 1, memory_order_relaxed);
    for (uint32_t i = 0; i < n->n_children; i++)
        eng_iql_fuse_emit(n->children[i], (char *)g + s->acc_off[i], &r);
    g->count = 0;
}

/* drops points from the front while they are out of the window (Kapacitor purges a prefix) */
static void purge(struct window_state *s, struct wgroup *g, int64_t oldest, bool inclusive)
{
    eng_ptbuf_t *b = buf_of(g);
    const eng_point_t *p;
    while ((p = eng_ptbuf_first(b)) != NULL && (inclusive ? p->time < oldest : p->time <= oldest))
        eng_ptbuf_pop(b, &s->pool);
}

static void open_window(struct window_state *s, struct wgroup *g, int64_t now)
{
    if (s->by_count) {
        g->next_emit = s->fill_period ? s->period_count : s->every_count;
    } else if (s->fill_period) {
        int64_t first = now + s->period;
        g->next_emit = first;
        if (s->align) {
            g->next_emit = go_truncate(first, s->every);
            if (g->next_emit <= first)
                g->next_emit += s->every;
        }
    } else {
        g->next_emit = now + s->every;
        if (s->align)
            g->next_emit = go_truncate(g->next_emit, s->every);
    }
    g->started = 1;
    g->count = 0;
}

static void count_point(eng_node_t *n, struct wgroup *g, const eng_pt_t *p)
{
    struct window_state *s = n->state;
    eng_ptbuf_t *b = buf_of(g);
    eng_ptbuf_push(b, &s->pool, &p->p);
    if (b->n > (uint64_t)s->period_count)
        eng_ptbuf_pop(b, &s->pool);
    if ((int64_t)++g->count == g->next_emit) {
        g->next_emit += s->every_count;
        emit_buffered(n, g, p->p.time);
    }
}

static void fused_point(eng_node_t *n, struct wgroup *g, const eng_pt_t *p)
{
    struct window_state *s = n->state;
    if (p->p.time >= g->next_emit) {
        emit_fused(n, g, g->next_emit);
        g->next_emit = p->p.time + s->every;
        if (s->align)
            g->next_emit = go_truncate(g->next_emit, s->every);
    }
    if (p->p.time < g->next_emit - s->period)
        return; /* in the gap between windows (period < every) */
    g->count++;
    for (uint32_t i = 0; i < n->n_children; i++)
        eng_iql_fuse_add(n->children[i], (char *)g + s->acc_off[i], &p->p);
}

static void window_point(eng_node_t *n, eng_node_t *from, const eng_pt_t *p)
{
    struct window_state *s = n->state;
    struct wgroup *g = group_of(n, p);
    if (!g->started)
        open_window(s, g, p->p.time);
    if (s->by_count) {
        count_point(n, g, p);
        return;
    }
    if (s->fused) {
        fused_point(n, g, p);
        return;
    }
    eng_ptbuf_t *b = buf_of(g);
    if (s->every == 0) { /* emit on every point: (time - period, time] */
        eng_ptbuf_push(b, &s->pool, &p->p);
        if (p->p.time >= g->next_emit) {
            purge(s, g, p->p.time - s->period, false);
            emit_buffered(n, g, p->p.time);
            g->next_emit = p->p.time;
        }
        return;
    }
    if (p->p.time >= g->next_emit) {
        purge(s, g, g->next_emit - s->period, true);
        emit_buffered(n, g, g->next_emit);
        g->next_emit = p->p.time + s->every;
        if (s->align)
            g->next_emit = go_truncate(g->next_emit, s->every);
        atomic_store_explicit(&n->stats.own[W_BYTES], state_bytes(s), memory_order_relaxed);
    }
    eng_ptbuf_push(b, &s->pool, &p->p);
}

static void advance_group(eng_node_t *n, struct wgroup *g, int64_t now)
{
    struct window_state *s = n->state;
    if (s->fused) {
        if (g->next_emit <= now) {
            if (g->count != 0)
                emit_fused(n, g, g->next_emit);
            g->started = 0;
        }
        return;
    }
    for (uint32_t guard = 0; g->started && g->next_emit <= now && guard < 1000000; guard++) {
        purge(s, g, g->next_emit - s->period, true);
        if (buf_of(g)->n == 0) {
            g->started = 0;
            break;
        }
        emit_buffered(n, g, g->next_emit);
        g->next_emit += s->every;
    }
}

static void window_advance(eng_node_t *n, int64_t now)
{
    struct window_state *s = n->state;
    if (s->by_count || s->every == 0)
        return;
    for (uint32_t i = 0; i < s->groups.n; i++) {
        struct wgroup *g = eng_slab_at(&s->groups, i);
        if (g->started && g->next_emit <= now) {
            advance_group(n, g, now);
            fa_arena_reset(&n->task->scratch); /* advance runs outside any push: nothing else holds it */
        }
    }
    atomic_store_explicit(&n->stats.own[W_BYTES], state_bytes(s), memory_order_relaxed);
}

const eng_node_ops_t eng_node_window = { .type = "window",
                                         .state_size = sizeof(struct window_state),
                                         .init = window_init,
                                         .point = window_point,
                                         .advance = window_advance,
                                         .deinit = window_deinit,
                                         .counters = window_counters };
