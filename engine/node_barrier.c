/* engine/node_barrier.c - barrier(): tells the nodes below that a group's time has moved on
 * when its data stops, so windows close without waiting for the group's next point.
 *
 * Kapacitor runs a wall-clock timer per group and sends a barrier message down the edge; farad
 * keeps the data's time (DESIGN.md, "Time stops when data stops"), so a barrier is due, in the
 * task's time (its newest point, or the time given to eng_task_advance):
 *   - .idle(d): d after the group's last point, then every d while it stays quiet;
 *   - .period(d): every d from the group's first point, whatever the data does.
 * A due barrier at time b makes the group drop later points older than b (as Kapacitor drops
 * them) and calls advance(b) on every node below the barrier (there is no per-group message in
 * farad's node interface: nodes below flush what is due at b for every group; a group still
 * sending has already closed its windows up to its own newer points). advance() runs once the
 * current point went all the way down (eng_task_defer), so the point that revealed the gap is
 * passed on before the barrier's effects. Barriers found by eng_task_advance (idle flush, end of
 * a replay) need no call: that advances every node anyway.
 * .delete(TRUE): a group is forgotten after its barrier (Kapacitor then also deletes the group in
 * the nodes below, which farad's interface cannot do: those keep their state); its next point
 * starts it afresh. Exactly one of idle and period must be set. */
#include <stdio.h>
#include <string.h>

#include "engine/nodes.h"
#include "engine/nodeutil.h"
#include "engine/props.h"

struct bgroup {
    int64_t last;     /* newest point passed on */
    int64_t next_due; /* time of the next barrier */
    int64_t barrier;  /* last barrier: older points are dropped; INT64_MIN = none */
    bool live;
};

struct barrier_state {
    int64_t idle, period;
    bool del;
    eng_gmap_t groups;     /* group id -> struct bgroup */
    int64_t next_scan;     /* no live group is due before this */
    int64_t pending;       /* barrier time for the deferred advance; INT64_MIN = none */
    eng_node_t **below;    /* nodes under this one that have advance(), in creation order */
    uint32_t n_below;
    uint64_t live;
};

enum { B_BARRIERS, B_DROPPED };
static const char *const barrier_counters[] = { "barriers", "dropped", NULL };

static int barrier_init(eng_node_t *n, tick_err_t *err)
{
    struct barrier_state *s = n->state;
    memset(err, 0, sizeof(*err));
    err->code = TICK_ETYPE;
    err->pos = n->spec->pos;
    s->idle = eng_prop_dur(n, "idle", 0);
    s->period = eng_prop_dur(n, "period", 0);
    const tick_expr_t *d = eng_prop_arg(n, "delete", 0);
    s->del = d != NULL && d->kind == TICK_EX_BOOL && d->v.b;
    if (s->idle < 0 || s->period < 0) {
        snprintf(err->msg, sizeof err->msg, "barrier: idle and period must be greater than zero");
        return -1;
    }
    if (s->idle == 0 && s->period == 0) {
        snprintf(err->msg, sizeof err->msg, "barrier: must specify either idle or period");
        return -1;
    }
    if (s->idle != 0 && s->period != 0) {
        snprintf(err->msg, sizeof err->msg, "barrier: cannot specify both idle and period");
        return -1;
    }
    eng_gmap_init(&s->groups, sizeof(struct bgroup));
    s->next_scan = INT64_MAX;
    s->pending = INT64_MIN;
    /* the nodes below, by a walk over children (ids are creation order, a topological order) */
    eng_task_t *t = n->task;
    bool *mark = FA_NEW(&t->arena, bool, t->n_nodes);
    memset(mark, 0, sizeof(bool) * t->n_nodes);
    eng_node_t **stack = FA_NEW(&t->arena, eng_node_t *, t->n_nodes + 1);
    uint32_t sp = 0;
    stack[sp++] = n;
    while (sp > 0) {
        eng_node_t *x = stack[--sp];
        for (uint32_t i = 0; i < x->n_children; i++) {
            eng_node_t *c = x->children[i];
            if (c->id < t->n_nodes && !mark[c->id]) {
                mark[c->id] = true;
                stack[sp++] = c;
            }
        }
    }
    s->below = FA_NEW(&t->arena, eng_node_t *, t->n_nodes);
    for (uint32_t i = 0; i < t->n_nodes; i++)
        if (mark[i] && t->nodes[i].ops != NULL && t->nodes[i].ops->advance != NULL)
            s->below[s->n_below++] = &t->nodes[i];
    return 0;
}

/* Marks the barriers due at `now`; returns the newest barrier time, or INT64_MIN. */
static int64_t scan(eng_node_t *n, int64_t now)
{
    struct barrier_state *s = n->state;
    int64_t newest = INT64_MIN, next = INT64_MAX;
    for (uint32_t i = 0; i < s->groups.n; i++) {
        struct bgroup *g = eng_gmap_at(&s->groups, i);
        if (!g->live)
            continue;
        if (g->next_due <= now) {
            int64_t step = s->idle ? s->idle : s->period;
            int64_t b = g->next_due + (now - g->next_due) / step * step;
            g->barrier = b;
            g->next_due = b + step;
            if (b > newest)
                newest = b;
            atomic_fetch_add_explicit(&n->stats.own[B_BARRIERS], 1, memory_order_relaxed);
            if (s->del) {
                g->live = false;
                g->barrier = INT64_MIN;
                s->live--;
                continue;
            }
        }
        if (g->next_due < next)
            next = g->next_due;
    }
    s->next_scan = next;
    atomic_store_explicit(&n->stats.cardinality, s->live, memory_order_relaxed);
    return newest;
}

/* Scans when something may be due; asks for the deferred advance when a barrier was found. */
static void check(eng_node_t *n, int64_t now)
{
    struct barrier_state *s = n->state;
    if (now < s->next_scan)
        return;
    int64_t b = scan(n, now);
    if (b == INT64_MIN)
        return;
    if (b > s->pending)
        s->pending = b;
    eng_task_defer(n);
}

/* The group of a new point at time t; NULL when it is older than the group's barrier. */
static struct bgroup *accept(eng_node_t *n, uint64_t group, int64_t t)
{
    struct barrier_state *s = n->state;
    bool created;
    struct bgroup *g = eng_gmap_get(&s->groups, group, &created);
    if (g == NULL) {
        eng_node_error(n, "out of memory for a new group");
        return NULL;
    }
    if (created || !g->live) {
        *g = (struct bgroup){ .last = t, .barrier = INT64_MIN, .live = true,
                              .next_due = t + (s->idle ? s->idle : s->period) };
        if (g->next_due < s->next_scan)
            s->next_scan = g->next_due;
        s->live++;
        atomic_store_explicit(&n->stats.cardinality, s->live, memory_order_relaxed);
        return g;
    }
    if (t < g->barrier) {
        atomic_fetch_add_explicit(&n->stats.own[B_DROPPED], 1, memory_order_relaxed);
        return NULL;
    }
    if (t > g->last)
        g->last = t;
    if (s->idle) {
        g->next_due = g->last + s->idle; /* later than before: next_scan stays a lower bound */
    }
    return g;
}

static void barrier_point(eng_node_t *n, eng_node_t *from, const eng_pt_t *p)
{
    int64_t now = n->task->now > p->p.time ? n->task->now : p->p.time;
    check(n, now);
    if (accept(n, p->group, p->p.time) != NULL)
        eng_emit_point(n, p);
}

static void barrier_rows(eng_node_t *n, eng_node_t *from, const eng_rows_t *b)
{
    struct barrier_state *s = n->state;
    int64_t now = n->task->now > b->tmax ? n->task->now : b->tmax;
    check(n, now);
    bool created;
    struct bgroup *g = eng_gmap_get(&s->groups, b->group, &created);
    int64_t cut = g != NULL && !created && g->live ? g->barrier : INT64_MIN;
    if (created)
        g->live = false; /* accept() starts it */
    eng_rows_t r = *b;
    uint32_t keep = 0;
    for (uint32_t i = 0; i < b->n; i++)
        keep += b->points[i].time >= cut;
    if (keep != b->n) {
        eng_point_t *pts = FA_NEW(&n->task->scratch, eng_point_t, keep ? keep : 1);
        keep = 0;
        for (uint32_t i = 0; i < b->n; i++)
            if (b->points[i].time >= cut)
                pts[keep++] = b->points[i];
        atomic_fetch_add_explicit(&n->stats.own[B_DROPPED], b->n - keep, memory_order_relaxed);
        r.points = pts;
        r.n = keep;
    }
    int64_t newest = b->tmax;
    for (uint32_t i = 0; i < r.n; i++)
        if (r.points[i].time > newest)
            newest = r.points[i].time;
    accept(n, b->group, newest);
    eng_emit_rows(n, &r);
}

static void barrier_deferred(eng_node_t *n)
{
    struct barrier_state *s = n->state;
    int64_t b = s->pending;
    s->pending = INT64_MIN;
    if (b == INT64_MIN)
        return;
    for (uint32_t i = 0; i < s->n_below; i++)
        s->below[i]->ops->advance(s->below[i], b);
}

/* eng_task_advance: it advances every node below as well, so only the groups' state changes */
static void barrier_advance(eng_node_t *n, int64_t now)
{
    struct barrier_state *s = n->state;
    if (now >= s->next_scan)
        scan(n, now);
}

static void barrier_deinit(eng_node_t *n)
{
    struct barrier_state *s = n->state;
    eng_gmap_deinit(&s->groups);
}

const eng_node_ops_t eng_node_barrier = { .type = "barrier",
                                          .state_size = sizeof(struct barrier_state),
                                          .init = barrier_init,
                                          .point = barrier_point,
                                          .rows = barrier_rows,
                                          .advance = barrier_advance,
                                          .deinit = barrier_deinit,
                                          .deferred = barrier_deferred,
                                          .counters = barrier_counters };
