/* engine/taskmaster.c - routing index, shared batch references, per-task queues, engine threads.
 * Who touches what:
 *  - the ingest thread: the routing index, the ref free list, the backlogs, queue push sides;
 *  - engine threads: a slot's task and queue pop side while they hold its claim (RUNNING);
 *  - control threads (add/remove/stats, serialized by tm->lock): slot setup and teardown, the
 *    index they build; changes reach the ingest thread through eng_ingest_sync. */
#include "engine/taskmaster.h"
#include "engine/parker.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xxhash.h>

#include "base/duration.h"
#include "base/err.h"
#include "base/log.h"
#include "engine/nodes.h"
#include "engine/props.h"

enum { SLOT_EMPTY, SLOT_IDLE, SLOT_RUNNING, SLOT_CLAIMED };
enum { RUN_BATCHES = 16 }; /* batches a thread runs for one task before looking at the others */

/* A batch shared by the tasks that want it. */
struct tm_ref {
    eng_batch_t *b;
    unsigned port;
    atomic_uint refs;
    struct tm_ref *next;     /* free list (ingest thread) */
    struct tm_ref *all_next; /* every ref ever made, to free them */
};

struct tm_slot {
    _Atomic int state;
    atomic_bool retiring;    /* unrouted; engine threads leave it alone */
    eng_task_t *task;
    eng_ring_spsc_t queue;   /* ingest -> engine thread: struct tm_ref * */
    eng_overflow_t overflow;
    int64_t idle_flush_ns;
    unsigned home;
    fa_str_t *meas;          /* NULL = every measurement */
    uint32_t n_meas;
    /* ingest thread only */
    struct tm_ref **backlog; /* ring of opts.backlog */
    unsigned bl_head, bl_n;
    uint64_t mark;           /* route(): the batch sequence this slot was last added as a target */
    /* messages for the task from other threads (batch queries): any thread pushes under
     * inbox_lock, the claiming engine thread takes them all */
    pthread_mutex_t inbox_lock;
    eng_tm_msg_t *inbox_head, *inbox_tail;
    atomic_uint n_inbox;
    uint64_t serial;         /* unique per added task (control threads, under the lock) */
    bool streams;            /* a stream task: routed from the ingest (batch tasks are not) */
    unsigned target;         /* ... and its index in the target list */
    /* the claiming engine thread only */
    int64_t next_flush;
    int64_t next_tick;       /* wall-clock nodes (stats): when the idle task is ticked next */
    uint64_t rate_points;
    int64_t rate_t;
    /* stats */
    atomic_uint_fast64_t points_dropped, batches_in, batches_dropped;
    _Atomic double throughput;
};

struct tm_thread {
    eng_tm_t *tm;
    unsigned idx;
    pthread_t thread;
    eng_ring_spsc_t done;    /* this thread -> ingest: refs no task needs any more */
    atomic_int_fast64_t busy_since; /* mono ns when it entered a task, 0 = not in one */
    unsigned n_tasks;        /* homed here (control threads, under the lock) */
    eng_parker_t parker;     /* the ingest wakes it when it queues work for its tasks */
};

/* The routing index: immutable once built. */
struct route_meas {
    fa_str_t name;
    uint32_t *slots, n;
};
struct route_dbrp {
    fa_str_t db, rp;
    uint32_t *all, n_all;     /* slots that want every measurement */
    struct route_meas *meas;  /* open addressing, meas_cap (power of two) or NULL */
    uint32_t meas_cap;
};
struct route_index {
    fa_arena_t arena;
    struct route_dbrp *dbrps;
    uint32_t n;
};

struct tm_target {
    struct tm_slot *slot;
    uint32_t points;
};

struct eng_tm {
    eng_tm_opts_t o;
    eng_ingest_t *ingest;
    pthread_mutex_t lock;
    struct tm_slot *slots;
    uint64_t next_serial;        /* control threads, under the lock */
    eng_tm_watch_t watch;        /* control threads, under the lock */
    atomic_uint hi;              /* slots [0, hi) may be in use */
    struct tm_thread *threads;
    bool started;
    atomic_bool stopping;
    /* ingest thread only */
    struct route_index *index;
    struct tm_ref *free_refs, *all_refs;
    uint64_t seq;
    struct tm_target *targets;   /* max_tasks */
    unsigned n_backlogged;       /* slots with bl_n > 0 */
};

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void nap(long ns)
{
    struct timespec ts = { 0, ns };
    nanosleep(&ts, NULL);
}

/* ---- references (ingest thread, or any one thread while the ingest thread is not running) ---- */

static struct tm_ref *ref_get(eng_tm_t *tm)
{
    struct tm_ref *r = tm->free_refs;
    if (r != NULL) {
        tm->free_refs = r->next;
        return r;
    }
    if ((r = calloc(1, sizeof(*r))) == NULL)
        return NULL;
    r->all_next = tm->all_refs;
    tm->all_refs = r;
    return r;
}

static void ref_finish(eng_tm_t *tm, struct tm_ref *r)
{
    eng_ingest_give_back(tm->ingest, r->b, r->port);
    r->b = NULL;
    r->next = tm->free_refs;
    tm->free_refs = r;
}

/* Drops one reference on the ingest side. */
static void ref_release_ingest(eng_tm_t *tm, struct tm_ref *r)
{
    if (atomic_fetch_sub_explicit(&r->refs, 1, memory_order_acq_rel) == 1)
        ref_finish(tm, r);
}

/* Drops one reference on engine thread th: the last one goes back through th's done ring. */
static void ref_release_engine(struct tm_thread *th, struct tm_ref *r)
{
    if (atomic_fetch_sub_explicit(&r->refs, 1, memory_order_acq_rel) == 1) {
        /* the done ring holds every batch that can be in flight: the push cannot fail */
        if (!eng_ring_spsc_push(&th->done, r))
            FA_LOG(FA_ERROR, "engine thread %u: done ring full: a batch is lost", th->idx);
    }
}

/* ---- routing (ingest thread) ---- */

static const struct route_dbrp *index_find(const struct route_index *ix, fa_str_t db, fa_str_t rp)
{
    for (uint32_t i = 0; ix != NULL && i < ix->n; i++)
        if (fa_str_eq(ix->dbrps[i].db, db) && fa_str_eq(ix->dbrps[i].rp, rp))
            return &ix->dbrps[i];
    return NULL;
}

static const struct route_meas *meas_find(const struct route_dbrp *d, fa_str_t name)
{
    if (d->meas == NULL)
        return NULL;
    uint32_t mask = d->meas_cap - 1;
    for (uint32_t i = (uint32_t)XXH3_64bits(name.ptr, name.len) & mask;; i = (i + 1) & mask) {
        const struct route_meas *m = &d->meas[i];
        if (m->name.ptr == NULL)
            return NULL;
        if (fa_str_eq(m->name, name))
            return m;
    }
}

static void add_target(eng_tm_t *tm, unsigned *n, uint32_t slot, uint32_t points)
{
    struct tm_slot *s = &tm->slots[slot];
    if (s->mark != tm->seq) {
        s->mark = tm->seq;
        s->target = (*n)++;
        tm->targets[s->target] = (struct tm_target){ s, 0 };
    }
    tm->targets[s->target].points += points;
}

static void count_drop(struct tm_slot *s, uint32_t points)
{
    atomic_fetch_add_explicit(&s->points_dropped, points, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->batches_dropped, 1, memory_order_relaxed);
}

/* Hands ref to one task by its overflow policy. */
static void deliver(eng_tm_t *tm, struct tm_slot *s, struct tm_ref *r, uint32_t points)
{
    if (s->bl_n == 0 && eng_ring_spsc_push(&s->queue, r)) {
        eng_parker_wake(&tm->threads[s->home].parker);
        return;
    }
    if (s->overflow == ENG_OVERFLOW_BLOCK && s->bl_n < tm->o.backlog) {
        s->backlog[(s->bl_head + s->bl_n) % tm->o.backlog] = r;
        if (s->bl_n++ == 0)
            tm->n_backlogged++;
        return;
    }
    count_drop(s, points);
    ref_release_ingest(tm, r);
}

static bool route(void *ctx, eng_ingest_t *g, eng_batch_t *b, unsigned port)
{
    eng_tm_t *tm = ctx;
    const struct route_dbrp *d = index_find(tm->index, b->db, b->rp);
    if (d == NULL || b->n == 0)
        return false;
    tm->seq++;
    unsigned n = 0;
    for (uint32_t i = 0; i < d->n_all; i++)
        add_target(tm, &n, d->all[i], b->n);
    if (d->meas != NULL) {
        uint32_t i = 0;
        while (i < b->n) {
            fa_str_t name = b->points[i].name;
            uint32_t j = i + 1;
            while (j < b->n && fa_str_eq(b->points[j].name, name))
                j++;
            const struct route_meas *m = meas_find(d, name);
            for (uint32_t k = 0; m != NULL && k < m->n; k++)
                add_target(tm, &n, m->slots[k], j - i);
            i = j;
        }
    }
    if (n == 0)
        return false;
    struct tm_ref *r = ref_get(tm);
    if (r == NULL) {
        for (unsigned i = 0; i < n; i++)
            count_drop(tm->targets[i].slot, tm->targets[i].points);
        return false;
    }
    r->b = b;
    r->port = port;
    atomic_store_explicit(&r->refs, n + 1, memory_order_relaxed);
    for (unsigned i = 0; i < n; i++)
        deliver(tm, tm->targets[i].slot, r, tm->targets[i].points);
    ref_release_ingest(tm, r);
    return true;
}

/* Moves backlogged batches into queues that have room again. */
static unsigned retry_backlogs(eng_tm_t *tm)
{
    unsigned moved = 0, hi = atomic_load(&tm->hi);
    for (unsigned i = 0; i < hi && tm->n_backlogged != 0; i++) {
        struct tm_slot *s = &tm->slots[i];
        while (s->bl_n != 0 && eng_ring_spsc_push(&s->queue, s->backlog[s->bl_head])) {
            eng_parker_wake(&tm->threads[s->home].parker);
            s->bl_head = (s->bl_head + 1) % tm->o.backlog;
            moved++;
            if (--s->bl_n == 0)
                tm->n_backlogged--;
        }
    }
    return moved;
}

static unsigned router_poll(void *ctx, eng_ingest_t *g)
{
    eng_tm_t *tm = ctx;
    unsigned n = 0;
    struct tm_ref *r;
    for (unsigned i = 0; i < tm->o.threads; i++)
        while ((r = eng_ring_spsc_pop(&tm->threads[i].done)) != NULL) {
            ref_finish(tm, r);
            n++;
        }
    if (tm->n_backlogged != 0)
        n += retry_backlogs(tm);
    return n;
}

/* ---- the index (control threads build it; the ingest thread swaps it in) ---- */

static bool slot_live(struct tm_slot *s)
{
    int st = atomic_load(&s->state);
    return st != SLOT_EMPTY && !atomic_load(&s->retiring);
}

static struct route_dbrp *index_dbrp(struct route_index *ix, fa_str_t db, fa_str_t rp, uint32_t cap)
{
    for (uint32_t i = 0; i < ix->n; i++)
        if (fa_str_eq(ix->dbrps[i].db, db) && fa_str_eq(ix->dbrps[i].rp, rp))
            return &ix->dbrps[i];
    struct route_dbrp *d = &ix->dbrps[ix->n++];
    memset(d, 0, sizeof(*d));
    d->db = fa_str(fa_arena_strndup(&ix->arena, db.ptr, db.len), db.len);
    d->rp = fa_str(fa_arena_strndup(&ix->arena, rp.ptr, rp.len), rp.len);
    d->all = FA_NEW(&ix->arena, uint32_t, cap);
    return d;
}

static void meas_add(struct route_index *ix, struct route_dbrp *d, fa_str_t name, uint32_t slot, uint32_t cap)
{
    uint32_t mask = d->meas_cap - 1;
    for (uint32_t i = (uint32_t)XXH3_64bits(name.ptr, name.len) & mask;; i = (i + 1) & mask) {
        struct route_meas *m = &d->meas[i];
        if (m->name.ptr == NULL) {
            m->name = fa_str(fa_arena_strndup(&ix->arena, name.ptr, name.len), name.len);
            m->slots = FA_NEW(&ix->arena, uint32_t, cap);
        } else if (!fa_str_eq(m->name, name)) {
            continue;
        }
        if (m->n == 0 || m->slots[m->n - 1] != slot)
            m->slots[m->n++] = slot;
        return;
    }
}

/* An index of every live slot but `skip` (or none). */
static struct route_index *index_build(eng_tm_t *tm, const struct tm_slot *skip)
{
    struct route_index *ix = calloc(1, sizeof(*ix));
    if (ix == NULL)
        return NULL;
    fa_arena_init(&ix->arena, 4096, 0);
    unsigned hi = atomic_load(&tm->hi), n_dbrps = 0, n_meas = 0;
    for (unsigned i = 0; i < hi; i++)
        if (slot_live(&tm->slots[i]) && &tm->slots[i] != skip && tm->slots[i].streams) {
            n_dbrps += tm->slots[i].task->n_dbrps;
            n_meas += tm->slots[i].n_meas;
        }
    ix->dbrps = FA_NEW(&ix->arena, struct route_dbrp, n_dbrps ? n_dbrps : 1);
    uint32_t meas_cap = 8;
    while (meas_cap < n_meas * 2 + 2)
        meas_cap *= 2;
    for (unsigned i = 0; i < hi; i++) {
        struct tm_slot *s = &tm->slots[i];
        if (!slot_live(s) || s == skip || !s->streams)
            continue;
        for (uint32_t k = 0; k < s->task->n_dbrps; k++) {
            struct route_dbrp *d = index_dbrp(ix, s->task->dbrps[k].db, s->task->dbrps[k].rp, hi);
            if (s->meas == NULL) {
                d->all[d->n_all++] = i;
                continue;
            }
            if (d->meas == NULL) {
                d->meas_cap = meas_cap;
                d->meas = FA_NEW(&ix->arena, struct route_meas, meas_cap);
                memset(d->meas, 0, sizeof(*d->meas) * meas_cap);
            }
            for (uint32_t m = 0; m < s->n_meas; m++)
                meas_add(ix, d, s->meas[m], i, hi);
        }
    }
    return ix;
}

static void index_free(struct route_index *ix)
{
    if (ix == NULL)
        return;
    fa_arena_deinit(&ix->arena);
    free(ix);
}

struct swap_req {
    eng_tm_t *tm;
    struct route_index *ix;  /* in: the new one; out: the old one */
    struct tm_slot *unroute; /* its backlog is dropped */
};

static void swap_on_ingest(void *arg)
{
    struct swap_req *q = arg;
    eng_tm_t *tm = q->tm;
    struct route_index *old = tm->index;
    tm->index = q->ix;
    q->ix = old;
    struct tm_slot *s = q->unroute;
    if (s != NULL && s->bl_n != 0) {
        while (s->bl_n != 0) {
            ref_release_ingest(tm, s->backlog[s->bl_head]);
            s->bl_head = (s->bl_head + 1) % tm->o.backlog;
            s->bl_n--;
        }
        tm->n_backlogged--;
    }
}

/* Empties a claimed slot's queue, on the ingest thread. */
static void drain_on_ingest(void *arg)
{
    struct swap_req *q = arg;
    struct tm_ref *r;
    while ((r = eng_ring_spsc_pop(&q->unroute->queue)) != NULL)
        ref_release_ingest(q->tm, r);
}

/* Swaps in an index of the live slots minus `unroute`. -1 when out of memory. */
static int reroute(eng_tm_t *tm, struct tm_slot *unroute)
{
    struct swap_req q = { tm, index_build(tm, unroute), unroute };
    if (q.ix == NULL)
        return -1;
    eng_ingest_sync(tm->ingest, swap_on_ingest, &q);
    index_free(q.ix);
    return 0;
}

/* ---- slots (control threads, under tm->lock) ---- */

/* Frees the messages nobody will run (the slot's task is going away). */
static void inbox_drop(struct tm_slot *s)
{
    pthread_mutex_lock(&s->inbox_lock);
    eng_tm_msg_t *m = s->inbox_head;
    s->inbox_head = s->inbox_tail = NULL;
    atomic_store(&s->n_inbox, 0);
    pthread_mutex_unlock(&s->inbox_lock);
    while (m != NULL) {
        eng_tm_msg_t *next = m->_next;
        m->free(m);
        m = next;
    }
}

static void slot_release(eng_tm_t *tm, struct tm_slot *s)
{
    struct swap_req q = { tm, NULL, s };
    eng_ingest_sync(tm->ingest, drain_on_ingest, &q);
    if (tm->watch.on_remove != NULL)
        tm->watch.on_remove(tm->watch.ud, s->serial);
    inbox_drop(s);
    for (uint32_t k = 0; s->streams && k < s->task->n_dbrps; k++)
        eng_ingest_want(tm->ingest, s->task->dbrps[k].db, s->task->dbrps[k].rp, -1);
    tm->threads[s->home].n_tasks--;
    eng_task_free(s->task);
    s->task = NULL;
    eng_ring_spsc_deinit(&s->queue);
    free(s->backlog);
    s->backlog = NULL;
    atomic_store(&s->retiring, false);
    atomic_store_explicit(&s->state, SLOT_EMPTY, memory_order_release);
}

/* Claims an unrouted slot and frees it; false when it stayed busy for timeout_ns. */
static bool slot_retire(eng_tm_t *tm, struct tm_slot *s, int64_t timeout_ns)
{
    int64_t start = mono_ns();
    for (;;) {
        int idle = SLOT_IDLE;
        if (atomic_compare_exchange_strong(&s->state, &idle, SLOT_CLAIMED))
            break;
        if (mono_ns() - start >= timeout_ns)
            return false;
        nap(100000);
    }
    slot_release(tm, s);
    return true;
}

/* Frees slots a timed-out remove left behind, when their task has come back. */
static void reap_retiring(eng_tm_t *tm)
{
    unsigned hi = atomic_load(&tm->hi);
    for (unsigned i = 0; i < hi; i++)
        if (atomic_load(&tm->slots[i].retiring) && atomic_load(&tm->slots[i].state) == SLOT_IDLE)
            slot_retire(tm, &tm->slots[i], 0);
}

static struct tm_slot *slot_by_id(eng_tm_t *tm, const char *id)
{
    unsigned hi = atomic_load(&tm->hi);
    for (unsigned i = 0; i < hi; i++)
        if (slot_live(&tm->slots[i]) && strcmp(tm->slots[i].task->id, id) == 0)
            return &tm->slots[i];
    return NULL;
}

uint32_t eng_task_measurements(eng_task_t *t, fa_str_t **out)
{
    uint32_t n = 0;
    fa_str_t *m = FA_NEW(&t->arena, fa_str_t, t->n_nodes ? t->n_nodes : 1);
    for (uint32_t i = 0; i < t->n_nodes; i++) {
        if (t->nodes[i].ops != &eng_node_from)
            continue;
        fa_str_t name = eng_prop_str(&t->nodes[i], "measurement", FA_STR_NULL);
        if (name.len == 0)
            return 0;
        m[n++] = name;
    }
    *out = m;
    return n;
}

static unsigned pick_thread(eng_tm_t *tm, int want)
{
    if (want >= 0 && (unsigned)want < tm->o.threads)
        return (unsigned)want;
    unsigned best = 0;
    for (unsigned i = 1; i < tm->o.threads; i++)
        if (tm->threads[i].n_tasks < tm->threads[best].n_tasks)
            best = i;
    return best;
}

static struct tm_slot *slot_setup(eng_tm_t *tm, eng_task_t *t, const eng_task_opts_t *o, char *err, size_t errlen)
{
    struct tm_slot *s = NULL;
    for (unsigned i = 0; i < tm->o.max_tasks && s == NULL; i++)
        if (atomic_load(&tm->slots[i].state) == SLOT_EMPTY)
            s = &tm->slots[i];
    if (s == NULL) {
        snprintf(err, errlen, "task %s: more than %u tasks", t->id, tm->o.max_tasks);
        return NULL;
    }
    if (eng_ring_spsc_init(&s->queue, "task", tm->o.queue_size) != 0 ||
        (s->backlog = calloc(tm->o.backlog ? tm->o.backlog : 1, sizeof(*s->backlog))) == NULL) {
        snprintf(err, errlen, "task %s: out of memory for its queue", t->id);
        if (s->queue._slots != NULL)
            eng_ring_spsc_deinit(&s->queue);
        return NULL;
    }
    s->task = t;
    s->overflow = o->overflow;
    s->idle_flush_ns = o->idle_flush_ns;
    s->home = pick_thread(tm, o->thread);
    tm->threads[s->home].n_tasks++;
    s->n_meas = eng_task_measurements(t, &s->meas);
    if (s->n_meas == 0)
        s->meas = NULL;
    s->bl_head = s->bl_n = 0;
    s->next_flush = mono_ns() + s->idle_flush_ns;
    s->next_tick = mono_ns() + t->wall_tick_ns;
    s->rate_points = 0;
    s->rate_t = mono_ns();
    atomic_store(&s->points_dropped, 0);
    atomic_store(&s->batches_in, 0);
    atomic_store(&s->batches_dropped, 0);
    atomic_store(&s->throughput, 0.0);
    unsigned idx = (unsigned)(s - tm->slots);
    if (idx + 1 > atomic_load(&tm->hi))
        atomic_store(&tm->hi, idx + 1);
    s->serial = ++tm->next_serial;
    s->streams = t->n_nodes == 0 || t->nodes[0].ops != &eng_node_batch;
    for (uint32_t k = 0; s->streams && k < t->n_dbrps; k++)
        eng_ingest_want(tm->ingest, t->dbrps[k].db, t->dbrps[k].rp, +1);
    atomic_store_explicit(&s->state, SLOT_IDLE, memory_order_release);
    return s;
}

int eng_tm_add(eng_tm_t *tm, eng_task_t *t, const eng_task_opts_t *opts, char *err, size_t errlen)
{
    eng_task_opts_t def = { .overflow = ENG_OVERFLOW_DROP, .thread = -1 };
    const eng_task_opts_t *o = opts != NULL ? opts : &def;
    pthread_mutex_lock(&tm->lock);
    reap_retiring(tm);
    struct tm_slot *old = slot_by_id(tm, t->id);
    struct tm_slot *s = slot_setup(tm, t, o, err, errlen);
    if (s == NULL) {
        pthread_mutex_unlock(&tm->lock);
        eng_task_free(t);
        return -1;
    }
    if (old != NULL)
        atomic_store(&old->retiring, true);
    if (reroute(tm, old) != 0) {
        snprintf(err, errlen, "task %s: out of memory for the routing index", t->id);
        if (old != NULL)
            atomic_store(&old->retiring, false);
        atomic_store(&s->retiring, true);
        slot_retire(tm, s, INT64_MAX);
        pthread_mutex_unlock(&tm->lock);
        return -1;
    }
    if (old != NULL && !slot_retire(tm, old, 2000000000))
        FA_LOG(FA_WARN, "task %s: the replaced task is busy; it is freed once it returns", t->id);
    if (tm->watch.on_add != NULL)
        tm->watch.on_add(tm->watch.ud, t, s->serial);
    pthread_mutex_unlock(&tm->lock);
    return 0;
}

int eng_tm_remove(eng_tm_t *tm, const char *id)
{
    pthread_mutex_lock(&tm->lock);
    reap_retiring(tm);
    struct tm_slot *s = slot_by_id(tm, id);
    int rc = FA_ENOENT;
    if (s != NULL) {
        atomic_store(&s->retiring, true);
        reroute(tm, s);
        rc = slot_retire(tm, s, 2000000000) ? 0 : FA_EAGAIN;
    }
    pthread_mutex_unlock(&tm->lock);
    return rc;
}

/* ---- engine threads ---- */

static bool thread_stalled(eng_tm_t *tm, unsigned i, int64_t now)
{
    int64_t since = atomic_load_explicit(&tm->threads[i].busy_since, memory_order_relaxed);
    return since != 0 && now - since > tm->o.stall_ns;
}

static void run_batch(struct tm_slot *s, const eng_batch_t *b)
{
    eng_task_t *t = s->task;
    if (s->meas == NULL) {
        for (uint32_t i = 0; i < b->n; i++)
            eng_task_point(t, b->db, b->rp, &b->points[i]);
        return;
    }
    fa_str_t last = FA_STR_NULL;
    bool want = false;
    for (uint32_t i = 0; i < b->n; i++) {
        const eng_point_t *p = &b->points[i];
        if (last.ptr == NULL || !fa_str_eq(p->name, last)) {
            last = p->name;
            want = false;
            for (uint32_t k = 0; k < s->n_meas && !want; k++)
                want = fa_str_eq(s->meas[k], p->name);
        }
        if (want)
            eng_task_point(t, b->db, b->rp, p);
    }
}

static void sample_rate(struct tm_slot *s, int64_t now)
{
    if (now - s->rate_t < 1000000000)
        return;
    uint64_t pts = atomic_load_explicit(&s->task->points_in, memory_order_relaxed);
    atomic_store_explicit(&s->throughput, (double)(pts - s->rate_points) * 1e9 / (double)(now - s->rate_t),
                          memory_order_relaxed);
    s->rate_points = pts;
    s->rate_t = now;
}

/* Runs the messages waiting for a claimed slot's task. Returns how many. */
static unsigned run_inbox(struct tm_thread *th, struct tm_slot *s)
{
    pthread_mutex_lock(&s->inbox_lock);
    eng_tm_msg_t *m = s->inbox_head;
    s->inbox_head = s->inbox_tail = NULL;
    atomic_store(&s->n_inbox, 0);
    pthread_mutex_unlock(&s->inbox_lock);
    unsigned n = 0;
    while (m != NULL) {
        eng_tm_msg_t *next = m->_next;
        m->run(m, s->task);
        fa_arena_reset(&s->task->scratch);
        m->free(m);
        m = next;
        n++;
        atomic_store_explicit(&th->busy_since, mono_ns(), memory_order_relaxed);
    }
    return n;
}

/* Runs up to RUN_BATCHES of a claimed slot, or its idle flush. Returns batches run. */
static unsigned run_slot(struct tm_thread *th, struct tm_slot *s)
{
    unsigned n = 0;
    struct tm_ref *r;
    atomic_store_explicit(&th->busy_since, mono_ns(), memory_order_relaxed);
    while (n < RUN_BATCHES && (r = eng_ring_spsc_pop(&s->queue)) != NULL) {
        run_batch(s, r->b);
        atomic_fetch_add_explicit(&s->batches_in, 1, memory_order_relaxed);
        ref_release_engine(th, r);
        n++;
        atomic_store_explicit(&th->busy_since, mono_ns(), memory_order_relaxed);
    }
    if (atomic_load_explicit(&s->n_inbox, memory_order_acquire) != 0)
        n += run_inbox(th, s);
    int64_t now = mono_ns();
    int64_t tick = s->task->wall_tick_ns;
    if (n != 0) {
        s->next_flush = now + s->idle_flush_ns;
        s->next_tick = now + tick;
    } else if (s->idle_flush_ns > 0 && now >= s->next_flush) {
        eng_task_advance(s->task, wall_ns());
        s->next_flush = now + s->idle_flush_ns;
        s->next_tick = now + tick;
    } else if (tick > 0 && now >= s->next_tick) {
        eng_task_tick(s->task, wall_ns());
        s->next_tick = now + tick;
    }
    sample_rate(s, now);
    atomic_store_explicit(&th->busy_since, 0, memory_order_relaxed);
    return n;
}

static bool slot_due(struct tm_slot *s, int64_t now)
{
    return eng_ring_spsc_size(&s->queue) != 0 || atomic_load_explicit(&s->n_inbox, memory_order_relaxed) != 0 ||
           (s->idle_flush_ns > 0 && now >= s->next_flush) ||
           (s->task->wall_tick_ns > 0 && now >= s->next_tick) || now - s->rate_t >= 1000000000;
}

/* One pass over the slots this thread may run. Returns batches run. */
static unsigned pass(struct tm_thread *th)
{
    eng_tm_t *tm = th->tm;
    unsigned hi = atomic_load_explicit(&tm->hi, memory_order_acquire), work = 0;
    int64_t now = mono_ns();
    for (unsigned i = 0; i < hi; i++) {
        struct tm_slot *s = &tm->slots[i];
        if (atomic_load_explicit(&s->state, memory_order_acquire) != SLOT_IDLE ||
            atomic_load_explicit(&s->retiring, memory_order_relaxed))
            continue;
        if (s->home != th->idx && !thread_stalled(tm, s->home, now))
            continue;
        if (!slot_due(s, now))
            continue;
        int idle = SLOT_IDLE;
        if (!atomic_compare_exchange_strong_explicit(&s->state, &idle, SLOT_RUNNING, memory_order_acquire,
                                                     memory_order_relaxed))
            continue;
        work += run_slot(th, s);
        atomic_store_explicit(&s->state, SLOT_IDLE, memory_order_release);
    }
    return work;
}

static unsigned pass_fn(void *th) { return pass(th); }

static void *engine_main(void *arg)
{
    struct tm_thread *th = arg;
    eng_tm_t *tm = th->tm;
    unsigned idle = 0;
    while (!atomic_load_explicit(&tm->stopping, memory_order_acquire)) {
        if (pass(th) != 0) {
            idle = 0;
            continue;
        }
        if (++idle < 64)
            continue;
        /* woken by the ingest when it queues a batch; the timeout covers idle flushes, the
         * throughput sampling and taking over a stalled thread's tasks */
        eng_parker_park(&th->parker, pass_fn, th, 10);
    }
    while (pass(th) != 0)
        ;
    return NULL;
}

/* ---- life cycle ---- */

eng_tm_t *eng_tm_new(eng_ingest_t *ingest, const eng_tm_opts_t *opts, char *err, size_t errlen)
{
    eng_tm_t *tm = calloc(1, sizeof(*tm));
    if (tm == NULL)
        goto Nomem;
    tm->o = *opts;
    if (tm->o.threads == 0)
        tm->o.threads = 1;
    if (tm->o.max_tasks == 0)
        tm->o.max_tasks = 1024;
    if (tm->o.stall_ns <= 0)
        tm->o.stall_ns = 100000000;
    if (tm->o.queue_size < 4 || (tm->o.queue_size & (tm->o.queue_size - 1)) != 0) {
        snprintf(err, errlen, "engine.queue_size: %u is not a power of two of at least 4", tm->o.queue_size);
        free(tm);
        return NULL;
    }
    tm->ingest = ingest;
    pthread_mutex_init(&tm->lock, NULL);
    tm->slots = calloc(tm->o.max_tasks, sizeof(*tm->slots));
    tm->targets = calloc(tm->o.max_tasks, sizeof(*tm->targets));
    tm->threads = calloc(tm->o.threads, sizeof(*tm->threads));
    if (tm->slots == NULL || tm->targets == NULL || tm->threads == NULL)
        goto Nomem;
    for (unsigned i = 0; i < tm->o.max_tasks; i++)
        pthread_mutex_init(&tm->slots[i].inbox_lock, NULL);
    /* every batch that can be in flight fits in one done ring */
    unsigned in_flight = 4, n_ports = 0;
    for (eng_ingest_port_t *p; (p = eng_ingest_port(ingest, n_ports)) != NULL; n_ports++)
        in_flight += ck_ring_capacity(&p->in._ring);
    unsigned done_slots = 4;
    while (done_slots < in_flight)
        done_slots *= 2;
    for (unsigned i = 0; i < tm->o.threads; i++) {
        tm->threads[i].tm = tm;
        tm->threads[i].idx = i;
        if (eng_parker_init(&tm->threads[i].parker) != 0)
            goto Nomem;
        if (eng_ring_spsc_init(&tm->threads[i].done, "engine-done", done_slots) != 0)
            goto Nomem;
    }
    eng_ingest_router_t r = { .ctx = tm, .route = route, .poll = router_poll };
    eng_ingest_set_router(ingest, &r);
    return tm;
Nomem:
    snprintf(err, errlen, "engine: out of memory for %u task slots and %u threads", opts->max_tasks, opts->threads);
    eng_tm_free(tm);
    return NULL;
}

int eng_tm_start(eng_tm_t *tm)
{
    atomic_store(&tm->stopping, false);
    for (unsigned i = 0; i < tm->o.threads; i++) {
        int rc = pthread_create(&tm->threads[i].thread, NULL, engine_main, &tm->threads[i]);
        if (rc != 0) {
            atomic_store(&tm->stopping, true);
            for (unsigned k = 0; k < i; k++)
                pthread_join(tm->threads[k].thread, NULL);
            return -rc;
        }
        char name[16];
        snprintf(name, sizeof name, "eng-%u", i);
        pthread_setname_np(tm->threads[i].thread, name);
    }
    tm->started = true;
    return 0;
}

void eng_tm_stop(eng_tm_t *tm)
{
    if (!tm->started)
        return;
    atomic_store_explicit(&tm->stopping, true, memory_order_release);
    for (unsigned i = 0; i < tm->o.threads; i++)
        pthread_join(tm->threads[i].thread, NULL);
    tm->started = false;
}

static void unroute_all(void *arg)
{
    eng_tm_t *tm = arg;
    index_free(tm->index);
    tm->index = NULL;
}

/* The last batches back to their producers, and the router out of the ingest. */
static void detach_on_ingest(void *arg)
{
    eng_tm_t *tm = arg;
    router_poll(tm, tm->ingest);
    eng_ingest_set_router(tm->ingest, NULL);
}

void eng_tm_free(eng_tm_t *tm)
{
    if (tm == NULL)
        return;
    eng_tm_stop(tm);
    if (tm->slots != NULL && tm->threads != NULL) {
        eng_ingest_sync(tm->ingest, unroute_all, tm);
        for (unsigned i = 0; i < atomic_load(&tm->hi); i++) {
            struct tm_slot *s = &tm->slots[i];
            if (atomic_load(&s->state) == SLOT_EMPTY)
                continue;
            atomic_store(&s->retiring, true);
            struct swap_req q = { tm, NULL, s };
            eng_ingest_sync(tm->ingest, swap_on_ingest, &q); /* drops the backlog */
            slot_retire(tm, s, INT64_MAX);
        }
        eng_ingest_sync(tm->ingest, detach_on_ingest, tm);
    }
    for (unsigned i = 0; tm->threads != NULL && i < tm->o.threads; i++) {
        if (tm->threads[i].done._slots != NULL)
            eng_ring_spsc_deinit(&tm->threads[i].done);
        if (tm->threads[i].tm != NULL) /* its parker was initialised */
            eng_parker_deinit(&tm->threads[i].parker);
    }
    while (tm->all_refs != NULL) {
        struct tm_ref *r = tm->all_refs;
        tm->all_refs = r->all_next;
        free(r);
    }
    free(tm->threads);
    free(tm->targets);
    for (unsigned i = 0; tm->slots != NULL && i < tm->o.max_tasks; i++)
        pthread_mutex_destroy(&tm->slots[i].inbox_lock);
    free(tm->slots);
    pthread_mutex_destroy(&tm->lock);
    free(tm);
}

/* ---- messages and watchers ---- */

int eng_tm_post(eng_tm_t *tm, uint64_t serial, eng_tm_msg_t *m)
{
    int rc = FA_ENOENT;
    pthread_mutex_lock(&tm->lock);
    unsigned hi = atomic_load(&tm->hi);
    for (unsigned i = 0; i < hi; i++) {
        struct tm_slot *s = &tm->slots[i];
        if (!slot_live(s) || s->serial != serial)
            continue;
        pthread_mutex_lock(&s->inbox_lock);
        if (atomic_load(&s->n_inbox) >= ENG_TM_INBOX_MAX) {
            rc = FA_EAGAIN;
        } else {
            m->_next = NULL;
            if (s->inbox_tail != NULL)
                s->inbox_tail->_next = m;
            else
                s->inbox_head = m;
            s->inbox_tail = m;
            atomic_fetch_add_explicit(&s->n_inbox, 1, memory_order_release);
            rc = 0;
        }
        pthread_mutex_unlock(&s->inbox_lock);
        break;
    }
    pthread_mutex_unlock(&tm->lock);
    return rc;
}

void eng_tm_set_watch(eng_tm_t *tm, const eng_tm_watch_t *w)
{
    pthread_mutex_lock(&tm->lock);
    tm->watch = w != NULL ? *w : (eng_tm_watch_t){ 0 };
    unsigned hi = atomic_load(&tm->hi);
    for (unsigned i = 0; w != NULL && w->on_add != NULL && i < hi; i++)
        if (slot_live(&tm->slots[i]))
            w->on_add(w->ud, tm->slots[i].task, tm->slots[i].serial);
    pthread_mutex_unlock(&tm->lock);
}

/* ---- stats and DOT (control threads) ---- */

int eng_tm_task_stats(eng_tm_t *tm, const char *id, eng_tm_task_stats_t *out)
{
    pthread_mutex_lock(&tm->lock);
    struct tm_slot *s = slot_by_id(tm, id);
    if (s != NULL) {
        *out = (eng_tm_task_stats_t){
            .points_in = atomic_load_explicit(&s->task->points_in, memory_order_relaxed),
            .points_dropped = atomic_load_explicit(&s->points_dropped, memory_order_relaxed),
            .batches_in = atomic_load_explicit(&s->batches_in, memory_order_relaxed),
            .batches_dropped = atomic_load_explicit(&s->batches_dropped, memory_order_relaxed),
            .queued = eng_ring_spsc_size(&s->queue),
            .backlog = 0,
            .throughput = atomic_load_explicit(&s->throughput, memory_order_relaxed),
            .home = (int)s->home,
        };
    }
    pthread_mutex_unlock(&tm->lock);
    return s != NULL ? 0 : FA_ENOENT;
}

int eng_tm_dot(eng_tm_t *tm, const char *id, fa_buf_t *out)
{
    pthread_mutex_lock(&tm->lock);
    struct tm_slot *s = slot_by_id(tm, id);
    int rc = s != NULL ? eng_task_dot(s->task, atomic_load(&s->throughput), out) : FA_ENOENT;
    pthread_mutex_unlock(&tm->lock);
    return rc;
}

int eng_tm_task_source(eng_tm_t *tm, const char *id, fa_arena_t *a, const char **script, eng_dbrp_t **dbrps,
                       uint32_t *n_dbrps)
{
    pthread_mutex_lock(&tm->lock);
    struct tm_slot *s = slot_by_id(tm, id);
    if (s != NULL) {
        const eng_task_t *t = s->task;
        *script = fa_arena_strndup(a, t->script, strlen(t->script));
        *n_dbrps = t->n_dbrps;
        *dbrps = FA_NEW(a, eng_dbrp_t, t->n_dbrps ? t->n_dbrps : 1);
        for (uint32_t i = 0; i < t->n_dbrps; i++) {
            (*dbrps)[i].db = fa_str(fa_arena_strndup(a, t->dbrps[i].db.ptr, t->dbrps[i].db.len), t->dbrps[i].db.len);
            (*dbrps)[i].rp = fa_str(fa_arena_strndup(a, t->dbrps[i].rp.ptr, t->dbrps[i].rp.len), t->dbrps[i].rp.len);
        }
    }
    pthread_mutex_unlock(&tm->lock);
    return s != NULL ? 0 : FA_ENOENT;
}

unsigned eng_tm_list(eng_tm_t *tm, char (*ids)[128], unsigned max)
{
    unsigned n = 0;
    pthread_mutex_lock(&tm->lock);
    unsigned hi = atomic_load(&tm->hi);
    for (unsigned i = 0; i < hi; i++)
        if (slot_live(&tm->slots[i])) {
            if (n < max)
                snprintf(ids[n], sizeof ids[n], "%s", tm->slots[i].task->id);
            n++;
        }
    pthread_mutex_unlock(&tm->lock);
    return n;
}

struct dot_attr {
    const char *name;
    char value[48];
};

static int attr_cmp(const void *a, const void *b)
{
    return strcmp(((const struct dot_attr *)a)->name, ((const struct dot_attr *)b)->name);
}

static int dot_hook(void *ctx, const tick_pnode_t *pn, fa_buf_t *out)
{
    const eng_task_t *t = ctx;
    if (pn->id >= t->n_nodes)
        return 0;
    const eng_node_t *n = &t->nodes[pn->id];
    struct dot_attr a[16];
    unsigned k = 0;
    uint64_t collected = atomic_load(&n->stats.collected), exec = atomic_load(&n->stats.exec_ns);
    uint64_t samples = atomic_load(&n->stats.exec_samples);
    a[k].name = "avg_exec_time_ns";
    fa_duration_format(a[k++].value, sizeof a[0].value, (int64_t)(samples ? exec / samples : 0));
    a[k].name = "collected";
    snprintf(a[k++].value, sizeof a[0].value, "%" PRIuFAST64, collected);
    a[k].name = "emitted";
    snprintf(a[k++].value, sizeof a[0].value, "%" PRIuFAST64, atomic_load(&n->stats.emitted));
    a[k].name = "errors";
    snprintf(a[k++].value, sizeof a[0].value, "%" PRIuFAST64, atomic_load(&n->stats.errors));
    a[k].name = "working_cardinality";
    snprintf(a[k++].value, sizeof a[0].value, "%" PRIuFAST64, atomic_load(&n->stats.cardinality));
    for (unsigned i = 0; n->ops->counters != NULL && n->ops->counters[i] != NULL && i < 8; i++) {
        a[k].name = n->ops->counters[i];
        snprintf(a[k++].value, sizeof a[0].value, "%" PRIuFAST64, atomic_load(&n->stats.own[i]));
    }
    qsort(a, k, sizeof a[0], attr_cmp);
    int rc = 0;
    for (unsigned i = 0; i < k && rc == 0; i++)
        rc = fa_buf_appendf(out, "%s%s=\"%s\"", i ? " " : "", a[i].name, a[i].value);
    return rc;
}

int eng_task_dot(const eng_task_t *t, double throughput, fa_buf_t *out)
{
    size_t start = out->len;
    int rc = tick_dot(t->pipe, t->id, dot_hook, (void *)t, out);
    if (rc != 0 || throughput < 0)
        return rc;
    /* Kapacitor's graph line goes right after "digraph id {\n" */
    char line[96];
    int n = snprintf(line, sizeof line, "graph [throughput=\"%.2f points/s\"];\n\n", throughput);
    if (fa_buf_reserve(out, (size_t)n) != 0)
        return FA_ENOMEM;
    char *head = memchr(out->ptr + start, '\n', out->len - start);
    size_t at = head != NULL ? (size_t)(head - out->ptr) + 1 : out->len;
    memmove(out->ptr + at + n, out->ptr + at, out->len - at);
    memcpy(out->ptr + at, line, (size_t)n);
    out->len += (size_t)n;
    return 0;
}

/* ---- the daemon's side: load directory, log env ---- */

static void log_write(void *ud, eng_node_t *n, fa_str_t db, fa_str_t rp, const eng_point_t *pts, uint32_t n_pts)
{
    FA_LOG(FA_INFO, "task %s node %s: %u points to %.*s.%.*s (no upstream writer yet)", n->task->id, n->name, n_pts,
           (int)db.len, db.ptr, (int)rp.len, rp.ptr);
}

static void log_alert(void *ud, eng_node_t *n, fa_str_t json)
{
    FA_LOG(FA_INFO, "task %s node %s: alert %.*s", n->task->id, n->name, (int)json.len, json.ptr);
}

static void log_output(void *ud, eng_node_t *n, fa_str_t kind, fa_str_t text)
{
    FA_LOG(FA_INFO, "task %s node %s: %.*s %.*s", n->task->id, n->name, (int)kind.len, kind.ptr, (int)text.len, text.ptr);
}

const eng_env_t eng_log_env = { .write_points = log_write, .alert_event = log_alert, .output = log_output };

static int name_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Reads and starts one task file. */
static bool load_one(eng_tm_t *tm, const char *path, const char *id, const eng_env_t *env, const eng_task_opts_t *opts)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        FA_LOG(FA_ERROR, "load: %s: %s", path, strerror(errno));
        return false;
    }
    fa_buf_t b = FA_BUF_INIT;
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        fa_buf_append(&b, chunk, n);
    fclose(f);
    eng_task_t *t;
    tick_err_t terr;
    char err[256];
    bool ok = false;
    if (eng_task_new(id, b.ptr ? b.ptr : "", b.len, NULL, 0, env, &t, &terr) != 0)
        FA_LOG(FA_ERROR, "load: %s:%u:%u: %s", path, terr.pos.line, terr.pos.col, terr.msg);
    else if (t->n_dbrps == 0) {
        FA_LOG(FA_ERROR, "load: %s: must specify dbrp (a `dbrp \"db\".\"rp\"` line)", path);
        eng_task_free(t);
    } else if (eng_tm_add(tm, t, opts, err, sizeof err) != 0)
        FA_LOG(FA_ERROR, "load: %s: %s", path, err);
    else {
        FA_LOG(FA_INFO, "load: task %s started from %s", id, path);
        ok = true;
    }
    fa_buf_deinit(&b);
    return ok;
}

int eng_tm_load_dir(eng_tm_t *tm, const char *dir, const eng_env_t *env, const eng_task_opts_t *opts, char *err,
                    size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/tasks", dir);
    DIR *d = opendir(path);
    if (d == NULL) {
        snprintf(err, errlen, "load.dir: cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        size_t len = strlen(e->d_name);
        if (len <= 5 || strcmp(e->d_name + len - 5, ".tick") != 0 || len - 5 >= 128)
            continue;
        if (n == cap) {
            char **nn = realloc(names, sizeof(*names) * (cap = cap ? cap * 2 : 16));
            if (nn == NULL)
                break;
            names = nn;
        }
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof(*names), name_cmp);
    int started = 0;
    for (size_t i = 0; i < n; i++) {
        char id[128], file[4096 + 256];
        snprintf(id, sizeof id, "%.*s", (int)(strlen(names[i]) - 5), names[i]);
        snprintf(file, sizeof file, "%s/%s", path, names[i]);
        started += load_one(tm, file, id, env, opts);
        free(names[i]);
    }
    free(names);
    return started;
}
