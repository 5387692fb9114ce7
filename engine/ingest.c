/* engine/ingest.c - the ingest thread: round-robin over the ports' rings, count each batch, give it
 * to the router (the task master), hand it back when the router is done with it. When every ring
 * is empty and the router is idle it backs off (spin, then sleeps up to 1 ms): producers never pay
 * a syscall to wake it, and the tee is asynchronous by design. */
#include "engine/ingest.h"
#include "engine/parker.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <string.h>
#include <xxhash.h>

#include "base/err.h"
#include "base/log.h"

/* eng_ingest_sync's request: posted by a control thread, run by the ingest thread */
struct sync_req {
    void (*fn)(void *arg);
    void *arg;
    atomic_bool done;
};

/* One registered db.rp: the key is published once (release) and never freed before the ingest. */
struct want_slot {
    _Atomic(char *) key; /* "db\0rp\0", NULL = free */
    uint32_t db_len, rp_len;
    atomic_int count;
};

struct eng_ingest {
    eng_ingest_port_t *ports;
    unsigned n_ports;
    eng_statmap_t dbrp, measurement;
    pthread_t thread;
    bool started;
    atomic_bool stopping;
    atomic_uint_fast64_t consumed;
    eng_ingest_router_t router;
    pthread_mutex_t sync_lock;      /* serializes eng_ingest_sync, start and stop */
    _Atomic(struct sync_req *) req;
    struct want_slot *want;         /* ENG_INGEST_MAX_DBRPS * 2 slots, open addressing */
    atomic_bool want_all;           /* the table filled up: everything counts as wanted */
    eng_parker_t parker;            /* producers wake the thread only when it sleeps */
};

eng_ingest_t *eng_ingest_new(unsigned n_ports, unsigned ring_slots)
{
    eng_ingest_t *g = calloc(1, sizeof(*g));
    if (g == NULL)
        goto Error;
    g->parker.fd = -1;
    if ((g->ports = calloc(n_ports, sizeof(*g->ports))) == NULL)
        goto Error;
    g->n_ports = n_ports;
    if (eng_parker_init(&g->parker) != 0)
        goto Error;
    for (unsigned i = 0; i < n_ports; i++) {
        eng_ingest_port_t *p = &g->ports[i];
        p->_g = g;
        snprintf(p->name, sizeof p->name, "tee-%u", i);
        if (eng_ring_spsc_init(&p->in, p->name, ring_slots) != 0 || eng_ring_spsc_init(&p->back, p->name, ring_slots) != 0)
            goto Error;
    }
    if (eng_statmap_init(&g->dbrp, 1024, ENG_DBRP_N) != 0 || eng_statmap_init(&g->measurement, 8192, 1) != 0)
        goto Error;
    if ((g->want = calloc(ENG_INGEST_MAX_DBRPS * 2, sizeof(*g->want))) == NULL)
        goto Error;
    pthread_mutex_init(&g->sync_lock, NULL);
    return g;
Error:
    FA_LOG(FA_ERROR, "could not allocate the ingest rings (%u ports of %u slots)", n_ports, ring_slots);
    eng_ingest_free(g);
    return NULL;
}

static void count_batch(eng_ingest_t *g, const eng_batch_t *b)
{
    fa_str_t key[3] = { b->db, b->rp, FA_STR_NULL };
    eng_statrow_t *dr = eng_statmap_get(&g->dbrp, key, 2);
    eng_statrow_add(dr, ENG_DBRP_POINTS, b->n);
    eng_statrow_add(dr, ENG_DBRP_BATCHES, 1);
    eng_statrow_add(dr, ENG_DBRP_BYTES, b->bytes);

    eng_statrow_t *mr = NULL;
    uint32_t run = 0;
    for (uint32_t i = 0; i < b->n; i++) {
        const eng_point_t *p = &b->points[i];
        if (mr != NULL && fa_str_eq(p->name, key[2])) {
            run++;
            continue;
        }
        if (mr != NULL)
            eng_statrow_add(mr, 0, run);
        key[2] = p->name;
        mr = eng_statmap_get(&g->measurement, key, 3);
        run = 1;
    }
    if (mr != NULL)
        eng_statrow_add(mr, 0, run);
}

/* Returns how many batches it consumed. */
static unsigned drain_once(eng_ingest_t *g)
{
    unsigned n = 0;
    for (unsigned i = 0; i < g->n_ports; i++) {
        eng_ingest_port_t *p = &g->ports[i];
        eng_batch_t *b;
        for (unsigned k = 0; k < 64 && (b = eng_ring_spsc_pop(&p->in)) != NULL; k++) {
            count_batch(g, b);
            if (g->router.route == NULL || !g->router.route(g->router.ctx, g, b, i))
                eng_ingest_give_back(g, b, i);
            n++;
        }
    }
    if (n != 0)
        atomic_fetch_add_explicit(&g->consumed, n, memory_order_release);
    return n;
}

void eng_ingest_give_back(eng_ingest_t *g, eng_batch_t *b, unsigned port)
{
    eng_batch_reset(b);
    /* `back` has as many slots as `in` and a producer never owns more batches than that */
    if (port >= g->n_ports || !eng_ring_spsc_push(&g->ports[port].back, b)) {
        eng_batch_deinit(b);
        free(b);
    }
}

/* One turn: batches in, the router's finished work out, a pending sync request. */
static unsigned turn(eng_ingest_t *g)
{
    unsigned n = drain_once(g);
    if (g->router.poll != NULL)
        n += g->router.poll(g->router.ctx, g);
    struct sync_req *r = atomic_exchange_explicit(&g->req, NULL, memory_order_acq_rel);
    if (r != NULL) {
        r->fn(r->arg);
        atomic_store_explicit(&r->done, true, memory_order_release);
        n++;
    }
    return n;
}

bool eng_ingest_push(eng_ingest_port_t *p, eng_batch_t *b)
{
    if (!eng_ring_spsc_push(&p->in, b))
        return false;
    eng_parker_wake(&p->_g->parker);
    return true;
}

static unsigned turn_fn(void *g) { return turn(g); }

static void *run(void *arg)
{
    eng_ingest_t *g = arg;
    unsigned idle = 0;
    while (!atomic_load_explicit(&g->stopping, memory_order_acquire)) {
        if (turn(g) != 0) {
            idle = 0;
            continue;
        }
        if (++idle < 64)
            continue;
        /* the router's finished batches and sync requests do not all wake the thread: look every 10 ms */
        eng_parker_park(&g->parker, turn_fn, g, 10);
    }
    while (turn(g) != 0)
        ;
    return NULL;
}

int eng_ingest_start(eng_ingest_t *g)
{
    pthread_mutex_lock(&g->sync_lock);
    atomic_store(&g->stopping, false);
    int rc = pthread_create(&g->thread, NULL, run, g);
    if (rc == 0) {
        pthread_setname_np(g->thread, "eng-ingest");
        g->started = true;
    }
    pthread_mutex_unlock(&g->sync_lock);
    return -rc;
}

void eng_ingest_stop(eng_ingest_t *g)
{
    pthread_mutex_lock(&g->sync_lock);
    if (g->started) {
        atomic_store_explicit(&g->stopping, true, memory_order_release);
        pthread_join(g->thread, NULL);
        g->started = false;
    }
    pthread_mutex_unlock(&g->sync_lock);
}

void eng_ingest_set_router(eng_ingest_t *g, const eng_ingest_router_t *r)
{
    g->router = r != NULL ? *r : (eng_ingest_router_t){ 0 };
}

void eng_ingest_sync(eng_ingest_t *g, void (*fn)(void *arg), void *arg)
{
    pthread_mutex_lock(&g->sync_lock);
    if (!g->started) {
        fn(arg);
    } else {
        struct sync_req r = { .fn = fn, .arg = arg };
        atomic_store_explicit(&g->req, &r, memory_order_release);
        eng_parker_wake(&g->parker);
        /* the ingest thread looks at least once a millisecond */
        for (unsigned spins = 0; !atomic_load_explicit(&r.done, memory_order_acquire); spins++) {
            struct timespec ts = { 0, spins < 100 ? 10000 : 200000 };
            nanosleep(&ts, NULL);
        }
    }
    pthread_mutex_unlock(&g->sync_lock);
}

/* ---- the wanted db.rp set ---- */

static uint32_t want_hash(fa_str_t db, fa_str_t rp)
{
    return (uint32_t)(XXH3_64bits(db.ptr, db.len) * 31 + XXH3_64bits(rp.ptr, rp.len));
}

static bool want_key_eq(const struct want_slot *s, const char *key, fa_str_t db, fa_str_t rp)
{
    return s->db_len == db.len && s->rp_len == rp.len && memcmp(key, db.ptr, db.len) == 0 &&
           memcmp(key + db.len + 1, rp.ptr, rp.len) == 0;
}

bool eng_ingest_wants(eng_ingest_t *g, fa_str_t db, fa_str_t rp)
{
    if (atomic_load_explicit(&g->want_all, memory_order_relaxed))
        return true;
    uint32_t mask = ENG_INGEST_MAX_DBRPS * 2 - 1;
    for (uint32_t i = want_hash(db, rp) & mask, k = 0; k <= mask; i = (i + 1) & mask, k++) {
        struct want_slot *s = &g->want[i];
        char *key = atomic_load_explicit(&s->key, memory_order_acquire);
        if (key == NULL)
            return false;
        if (want_key_eq(s, key, db, rp))
            return atomic_load_explicit(&s->count, memory_order_relaxed) > 0;
    }
    return false;
}

void eng_ingest_want(eng_ingest_t *g, fa_str_t db, fa_str_t rp, int delta)
{
    uint32_t mask = ENG_INGEST_MAX_DBRPS * 2 - 1, used = 0;
    for (uint32_t i = want_hash(db, rp) & mask, k = 0; k <= mask; i = (i + 1) & mask, k++) {
        struct want_slot *s = &g->want[i];
        char *key = atomic_load_explicit(&s->key, memory_order_acquire);
        if (key != NULL && want_key_eq(s, key, db, rp)) {
            atomic_fetch_add_explicit(&s->count, delta, memory_order_relaxed);
            return;
        }
        if (key != NULL) {
            used++;
            continue;
        }
        if (delta <= 0 || used >= ENG_INGEST_MAX_DBRPS || db.len > 255 || rp.len > 255)
            break;
        char *nk = malloc(db.len + rp.len + 2);
        if (nk == NULL)
            break;
        memcpy(nk, db.ptr, db.len);
        nk[db.len] = '\0';
        memcpy(nk + db.len + 1, rp.ptr, rp.len);
        nk[db.len + 1 + rp.len] = '\0';
        s->db_len = (uint32_t)db.len;
        s->rp_len = (uint32_t)rp.len;
        atomic_store_explicit(&s->count, delta, memory_order_relaxed);
        atomic_store_explicit(&s->key, nk, memory_order_release);
        return;
    }
    if (delta > 0) {
        FA_LOG(FA_WARN, "ingest: cannot register %.*s.%.*s (more than %d db.rp, or a name over 255 bytes): "
               "every write is parsed from now on", (int)db.len, db.ptr, (int)rp.len, rp.ptr, ENG_INGEST_MAX_DBRPS);
        atomic_store(&g->want_all, true);
    }
}

static void free_ring_batches(eng_ring_spsc_t *r)
{
    eng_batch_t *b;
    while ((b = eng_ring_spsc_pop(r)) != NULL) {
        eng_batch_deinit(b);
        free(b);
    }
}

void eng_ingest_free(eng_ingest_t *g)
{
    if (g == NULL)
        return;
    eng_parker_deinit(&g->parker);
    for (unsigned i = 0; g->ports != NULL && i < g->n_ports; i++) {
        if (g->ports[i].in._slots != NULL) {
            free_ring_batches(&g->ports[i].in);
            eng_ring_spsc_deinit(&g->ports[i].in);
        }
        if (g->ports[i].back._slots != NULL) {
            free_ring_batches(&g->ports[i].back);
            eng_ring_spsc_deinit(&g->ports[i].back);
        }
    }
    free(g->ports);
    if (g->want != NULL) {
        for (uint32_t i = 0; i < ENG_INGEST_MAX_DBRPS * 2; i++)
            free(atomic_load(&g->want[i].key));
        free(g->want);
        pthread_mutex_destroy(&g->sync_lock);
    }
    if (g->dbrp._rows != NULL)
        eng_statmap_deinit(&g->dbrp);
    if (g->measurement._rows != NULL)
        eng_statmap_deinit(&g->measurement);
    free(g);
}

eng_ingest_port_t *eng_ingest_port(eng_ingest_t *g, unsigned i) { return i < g->n_ports ? &g->ports[i] : NULL; }
eng_statmap_t *eng_ingest_dbrp_stats(eng_ingest_t *g) { return &g->dbrp; }
eng_statmap_t *eng_ingest_measurement_stats(eng_ingest_t *g) { return &g->measurement; }
uint64_t eng_ingest_consumed(eng_ingest_t *g) { return atomic_load_explicit(&g->consumed, memory_order_acquire); }
