/* engine/node_union.c - union(nodes...) with rename: merges its parents' points (and batches)
 * in time order. Like Kapacitor, it emits only up to the slowest parent's latest time, so it
 * waits while one parent is quiet (KAPACITOR.md §10). The opt-in way out is the task's idle
 * flush: advance(now) (eng_task_advance, called by the task master's wall-clock idle flush or at
 * the end of a replay) treats every parent as having reached `now` and emits what is due.
 * A parent queue longer than UNION_MAX_QUEUED items is drained from its oldest end, counted in
 * `forced`, so memory stays bounded. Runs on the task's one thread: no locks. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/nodes.h"
#include "engine/nodeutil.h"
#include "engine/props.h"

enum { UNION_MAX_QUEUED = 100000 };

struct union_state {
    fa_str_t rename;
    eng_ptq_t *q;     /* one per parent */
    int64_t *latest;  /* per parent; INT64_MIN until it sent something */
};

static const char *const union_counters[] = { "forced", NULL };

static int union_init(eng_node_t *n, tick_err_t *err)
{
    struct union_state *s = n->state;
    fa_arena_t *a = &n->task->arena;
    s->rename = eng_prop_str(n, "rename", FA_STR_NULL);
    s->q = FA_NEW(a, eng_ptq_t, n->n_parents ? n->n_parents : 1);
    s->latest = FA_NEW(a, int64_t, n->n_parents ? n->n_parents : 1);
    for (uint32_t i = 0; i < n->n_parents; i++) {
        eng_ptq_init(&s->q[i], 0);
        s->latest[i] = INT64_MIN;
    }
    return 0;
}

/* emits the oldest head among the parents (ties: lower parent index) if its time <= upto */
static bool emit_one(eng_node_t *n, int64_t upto)
{
    struct union_state *s = n->state;
    int best = -1;
    for (uint32_t i = 0; i < n->n_parents; i++)
        if (s->q[i].n != 0 && eng_ptq_at(&s->q[i], 0)->time <= upto &&
            (best < 0 || eng_ptq_at(&s->q[i], 0)->time < eng_ptq_at(&s->q[best], 0)->time))
            best = (int)i;
    if (best < 0)
        return false;
    eng_qitem_t it = *eng_ptq_at(&s->q[best], 0);
    eng_ptq_pop(&s->q[best]); /* its memory stays valid until the next push to this queue */
    if (it.is_rows) {
        if (s->rename.len)
            it.rows.name = s->rename;
        eng_emit_rows(n, &it.rows);
    } else {
        if (s->rename.len) {
            it.pt.p.name = s->rename;
            it.pt.p.key = FA_STR_NULL;
        }
        eng_emit_point(n, &it.pt);
    }
    return true;
}

static int64_t low_mark(const eng_node_t *n)
{
    const struct union_state *s = n->state;
    int64_t low = INT64_MAX;
    for (uint32_t i = 0; i < n->n_parents; i++)
        if (s->latest[i] < low)
            low = s->latest[i];
    return low;
}

static uint32_t parent_index(const eng_node_t *n, const eng_node_t *from)
{
    for (uint32_t i = 0; i < n->n_parents; i++)
        if (n->parents[i] == from)
            return i;
    return 0;
}

static void union_in(eng_node_t *n, eng_node_t *from, const eng_pt_t *p, const eng_rows_t *b)
{
    struct union_state *s = n->state;
    uint32_t i = parent_index(n, from);
    int64_t t = p != NULL ? p->p.time : b->tmax;
    /* what is due must leave before this push can reuse its memory */
    while (s->q[i].n >= UNION_MAX_QUEUED) {
        emit_one(n, eng_ptq_at(&s->q[i], 0)->time);
        atomic_fetch_add_explicit(&n->stats.own[0], 1, memory_order_relaxed);
    }
    eng_ptq_push(&s->q[i], i, p, b);
    if (t > s->latest[i])
        s->latest[i] = t;
    int64_t low = low_mark(n);
    while (emit_one(n, low))
        ;
}

static void union_point(eng_node_t *n, eng_node_t *from, const eng_pt_t *p) { union_in(n, from, p, NULL); }
static void union_rows(eng_node_t *n, eng_node_t *from, const eng_rows_t *b) { union_in(n, from, NULL, b); }

static void union_advance(eng_node_t *n, int64_t now)
{
    while (emit_one(n, now))
        ;
}

static void union_deinit(eng_node_t *n)
{
    struct union_state *s = n->state;
    for (uint32_t i = 0; s->q != NULL && i < n->n_parents; i++)
        eng_ptq_deinit(&s->q[i]);
}

const eng_node_ops_t eng_node_union = { .type = "union",
                                        .state_size = sizeof(struct union_state),
                                        .init = union_init,
                                        .point = union_point,
                                        .rows = union_rows,
                                        .advance = union_advance,
                                        .deinit = union_deinit,
                                        .counters = union_counters };
