/* engine/scheduler.c - the batch scheduler thread.
 * Locks: tm's lock (held around the watch callbacks) is taken before s->mu, never after: the
 * scheduler posts to the task master only with s->mu released. */
#include "engine/scheduler.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "base/log.h"
#include "engine/batchquery.h"
#include "engine/nodes.h"

/* One query node of one task. */
struct entry {
    struct entry *next;
    eng_sched_t *s;
    uint64_t serial;         /* the task's, from the task master */
    uint32_t node;           /* index in the task's nodes */
    char task_id[128], node_name[40];
    fa_arena_t arena;        /* the copied query */
    eng_query_t q;
    int64_t next_tick;       /* 0 = not scheduled yet */
    int64_t start, stop;     /* of the query in flight */
    bool in_flight, dead;
    uint64_t skipped;        /* not yet told to the task */
};

struct eng_sched {
    eng_tm_t *tm;
    eng_qclient_t *client;
    eng_sched_opts_t o;
    pthread_t thread;
    bool started;
    atomic_bool stopping;
    pthread_mutex_t mu;      /* entries */
    struct entry *entries;
    fa_buf_t text;           /* scheduler thread: the query being started */
    atomic_uint_fast64_t nodes, runs, failed, skipped, undelivered;
};

/* What the task runs on its thread: an answer, a failure and/or a skip count. */
struct qmsg {
    eng_tm_msg_t m;
    uint32_t node;
    int64_t start, stop;
    uint64_t skipped;
    bool failed, has_run;
    char err[300];
    size_t len;
    char body[];
};

static int64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- messages (task thread) ---- */

static void qmsg_run(eng_tm_msg_t *m, eng_task_t *t)
{
    struct qmsg *q = (struct qmsg *)m;
    if (q->node >= t->n_nodes)
        return;
    eng_node_t *n = &t->nodes[q->node];
    if (q->skipped != 0)
        eng_query_skipped(n, q->skipped);
    if (!q->has_run)
        return;
    if (q->failed)
        eng_query_fail(n, q->start, q->stop, q->err);
    else
        eng_query_feed(n, fa_str(q->body, q->len), q->start, q->stop);
}

static void qmsg_free(eng_tm_msg_t *m) { free(m); }

/* ---- entries (watch callbacks: control threads, under tm's lock) ---- */

static fa_str_t dup(fa_arena_t *a, fa_str_t s) { return fa_str(fa_arena_strndup(a, s.ptr ? s.ptr : "", s.len), s.len); }

static void copy_query(fa_arena_t *a, eng_query_t *dst, const eng_query_t *src)
{
    *dst = *src;
    dst->head = dup(a, src->head);
    dst->cond = dup(a, src->cond);
    dst->tail = dup(a, src->tail);
    dst->cluster = dup(a, src->cluster);
    dst->cron_text = dup(a, src->cron_text);
    dst->sources = NULL;
    dst->n_sources = 0;
    dst->group_tags = FA_NEW(a, fa_str_t, src->n_group_tags ? src->n_group_tags : 1);
    for (uint32_t i = 0; i < src->n_group_tags; i++)
        dst->group_tags[i] = dup(a, src->group_tags[i]);
}

static void entry_free(struct entry *e)
{
    fa_arena_deinit(&e->arena);
    free(e);
}

static void on_add(void *ud, const eng_task_t *t, uint64_t serial)
{
    eng_sched_t *s = ud;
    for (uint32_t i = 0; i < t->n_nodes; i++) {
        const eng_query_t *q = eng_query_of(&t->nodes[i]);
        if (q == NULL)
            continue;
        struct entry *e = calloc(1, sizeof(*e));
        if (e == NULL) {
            FA_LOG(FA_ERROR, "batch scheduler: out of memory for task %s node %s: it will not run", t->id, t->nodes[i].name);
            continue;
        }
        e->s = s;
        e->serial = serial;
        e->node = i;
        snprintf(e->task_id, sizeof e->task_id, "%s", t->id);
        snprintf(e->node_name, sizeof e->node_name, "%s", t->nodes[i].name);
        fa_arena_init(&e->arena, 1024, 0);
        copy_query(&e->arena, &e->q, q);
        pthread_mutex_lock(&s->mu);
        e->next = s->entries;
        s->entries = e;
        pthread_mutex_unlock(&s->mu);
        atomic_fetch_add(&s->nodes, 1);
    }
    if (s->client->wakeup != NULL)
        s->client->wakeup(s->client->ud);
}

static void on_remove(void *ud, uint64_t serial)
{
    eng_sched_t *s = ud;
    pthread_mutex_lock(&s->mu);
    for (struct entry **p = &s->entries; *p != NULL;) {
        struct entry *e = *p;
        if (e->serial != serial) {
            p = &e->next;
            continue;
        }
        atomic_fetch_sub(&s->nodes, 1);
        if (e->in_flight) { /* freed when its query finishes */
            e->dead = true;
            p = &e->next;
            continue;
        }
        *p = e->next;
        entry_free(e);
    }
    pthread_mutex_unlock(&s->mu);
}

/* ---- the thread ---- */

/* Sends a message to e's task (s->mu released). */
static void deliver(eng_sched_t *s, uint64_t serial, struct qmsg *m)
{
    m->m.run = qmsg_run;
    m->m.free = qmsg_free;
    if (eng_tm_post(s->tm, serial, &m->m) != 0) {
        atomic_fetch_add(&s->undelivered, 1);
        free(m);
    }
}

static void query_done(void *ctx, fa_str_t body, const char *err)
{
    struct entry *e = ctx;
    eng_sched_t *s = e->s;
    struct qmsg *m = calloc(1, sizeof(*m) + (err == NULL ? body.len : 0) + 1);
    pthread_mutex_lock(&s->mu);
    e->in_flight = false;
    uint64_t serial = e->serial;
    bool dead = e->dead;
    if (m != NULL && !dead) {
        m->node = e->node;
        m->start = e->start;
        m->stop = e->stop;
        m->skipped = e->skipped;
        e->skipped = 0;
    }
    if (dead) { /* its task went away while the query ran */
        for (struct entry **p = &s->entries; *p != NULL; p = &(*p)->next)
            if (*p == e) {
                *p = e->next;
                break;
            }
        entry_free(e);
    }
    pthread_mutex_unlock(&s->mu);
    if (m == NULL || dead) {
        free(m);
        return;
    }
    m->has_run = true;
    if (err != NULL) {
        m->failed = true;
        snprintf(m->err, sizeof m->err, "%s", err);
        atomic_fetch_add(&s->failed, 1);
    } else {
        memcpy(m->body, body.ptr, body.len);
        m->len = body.len;
    }
    deliver(s, serial, m);
}

/* Starts e's run at tick (s->mu held). */
static void run_tick(eng_sched_t *s, struct entry *e, int64_t tick)
{
    char err[256];
    eng_query_bounds(&e->q, tick, &e->start, &e->stop);
    fa_buf_clear(&s->text);
    if (eng_query_text(&e->q, e->start, e->stop, &s->text) != 0) {
        snprintf(err, sizeof err, "out of memory for the query text");
    } else if (s->client->start(s->client->ud, fa_buf_cstr(&s->text), e->q.cluster, s->o.timeout_ns, query_done, e, err,
                                sizeof err) == 0) {
        e->in_flight = true;
        atomic_fetch_add(&s->runs, 1);
        return;
    }
    /* could not even start: an error for the node, delivered like an answer (after unlocking) */
    e->in_flight = true; /* query_done below clears it */
    pthread_mutex_unlock(&s->mu);
    query_done(e, FA_STR_NULL, err);
    pthread_mutex_lock(&s->mu);
}

/* Runs what is due; returns the next tick of any entry (or now + 1 s). s->mu held. */
static int64_t run_due(eng_sched_t *s, int64_t now)
{
    int64_t next = now + 1000000000;
restart:
    for (struct entry *e = s->entries; e != NULL; e = e->next) {
        if (e->dead)
            continue;
        if (e->next_tick == 0)
            e->next_tick = eng_query_next_tick(&e->q, 0, now);
        if (e->next_tick < 0)
            continue; /* a cron with no more matches */
        if (e->next_tick <= now) {
            int64_t tick = e->next_tick;
            e->next_tick = eng_query_next_tick(&e->q, tick, now);
            if (e->next_tick >= 0 && e->next_tick <= tick)
                e->next_tick = tick + 1; /* never twice the same tick */
            if (e->in_flight) {
                e->skipped++;
                atomic_fetch_add(&s->skipped, 1);
                /* the node logs it (a warning) when the count reaches the task */
                FA_LOG(FA_DEBUG, "task %s node %s: run at %" PRId64 " ns skipped: the previous query is still running",
                       e->task_id, e->node_name, tick);
            } else {
                run_tick(s, e, tick);
                goto restart; /* the lock was maybe dropped: the list may have changed */
            }
        }
        if (e->next_tick >= 0 && e->next_tick < next)
            next = e->next_tick;
    }
    return next;
}

static void *sched_main(void *arg)
{
    eng_sched_t *s = arg;
    while (!atomic_load(&s->stopping)) {
        int64_t now = wall_ns();
        pthread_mutex_lock(&s->mu);
        int64_t next = run_due(s, now);
        pthread_mutex_unlock(&s->mu);
        int64_t wait = next - wall_ns();
        if (wait > 100000000)
            wait = 100000000; /* new tasks and stop are noticed within 100 ms even without wakeup */
        s->client->poll(s->client->ud, wait > 0 ? wait : 0);
    }
    return NULL;
}

/* ---- life cycle ---- */

eng_sched_t *eng_sched_new(eng_tm_t *tm, eng_qclient_t *client, const eng_sched_opts_t *opts, char *err, size_t errlen)
{
    eng_sched_t *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        snprintf(err, errlen, "batch scheduler: out of memory");
        if (client != NULL)
            client->free(client->ud);
        return NULL;
    }
    s->tm = tm;
    s->client = client;
    s->o = opts != NULL ? *opts : (eng_sched_opts_t){ 0 };
    if (s->o.timeout_ns <= 0)
        s->o.timeout_ns = 30000000000LL;
    pthread_mutex_init(&s->mu, NULL);
    return s;
}

int eng_sched_start(eng_sched_t *s)
{
    eng_tm_watch_t w = { .ud = s, .on_add = on_add, .on_remove = on_remove };
    eng_tm_set_watch(s->tm, &w);
    int rc = pthread_create(&s->thread, NULL, sched_main, s);
    if (rc != 0) {
        eng_tm_set_watch(s->tm, NULL);
        return -rc;
    }
    pthread_setname_np(s->thread, "batch-sched");
    s->started = true;
    return 0;
}

void eng_sched_free(eng_sched_t *s)
{
    if (s == NULL)
        return;
    if (s->started) {
        atomic_store(&s->stopping, true);
        if (s->client->wakeup != NULL)
            s->client->wakeup(s->client->ud);
        pthread_join(s->thread, NULL);
        eng_tm_set_watch(s->tm, NULL);
    }
    if (s->client != NULL)
        s->client->free(s->client->ud);
    while (s->entries != NULL) {
        struct entry *e = s->entries;
        s->entries = e->next;
        entry_free(e);
    }
    fa_buf_deinit(&s->text);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

void eng_sched_stats(eng_sched_t *s, eng_sched_stats_t *out)
{
    *out = (eng_sched_stats_t){ .nodes = atomic_load(&s->nodes),
                                .runs = atomic_load(&s->runs),
                                .failed = atomic_load(&s->failed),
                                .skipped = atomic_load(&s->skipped),
                                .undelivered = atomic_load(&s->undelivered) };
}
