/* engine/ingest.c - the ingest thread: round-robin over the ports' rings, count each batch,
 * hand it back. When every ring is empty it backs off (spin, then sleeps up to 1 ms): producers
 * never pay a syscall to wake it, and the tee is asynchronous by design. */
#include "engine/ingest.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "base/err.h"
#include "base/log.h"

struct eng_ingest {
    eng_ingest_port_t *ports;
    unsigned n_ports;
    eng_statmap_t dbrp, measurement;
    pthread_t thread;
    bool started;
    atomic_bool stopping;
    atomic_uint_fast64_t consumed;
};

eng_ingest_t *eng_ingest_new(unsigned n_ports, unsigned ring_slots)
{
    eng_ingest_t *g = calloc(1, sizeof(*g));
    if (g == NULL || (g->ports = calloc(n_ports, sizeof(*g->ports))) == NULL)
        goto Error;
    g->n_ports = n_ports;
    for (unsigned i = 0; i < n_ports; i++) {
        eng_ingest_port_t *p = &g->ports[i];
        snprintf(p->name, sizeof p->name, "tee-%u", i);
        if (eng_ring_spsc_init(&p->in, p->name, ring_slots) != 0 || eng_ring_spsc_init(&p->back, p->name, ring_slots) != 0)
            goto Error;
    }
    if (eng_statmap_init(&g->dbrp, 1024, ENG_DBRP_N) != 0 || eng_statmap_init(&g->measurement, 8192, 1) != 0)
        goto Error;
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
            eng_batch_reset(b);
            /* `back` has as many slots as `in` and a producer never owns more batches than that */
            if (!eng_ring_spsc_push(&p->back, b)) {
                eng_batch_deinit(b);
                free(b);
            }
            n++;
        }
    }
    if (n != 0)
        atomic_fetch_add_explicit(&g->consumed, n, memory_order_release);
    return n;
}

static void *run(void *arg)
{
    eng_ingest_t *g = arg;
    unsigned idle = 0;
    while (!atomic_load_explicit(&g->stopping, memory_order_acquire)) {
        if (drain_once(g) != 0) {
            idle = 0;
            continue;
        }
        if (++idle < 64)
            continue;
        long ns = idle < 1024 ? 50000 : 1000000;
        struct timespec ts = { 0, ns };
        nanosleep(&ts, NULL);
    }
    while (drain_once(g) != 0)
        ;
    return NULL;
}

int eng_ingest_start(eng_ingest_t *g)
{
    int rc = pthread_create(&g->thread, NULL, run, g);
    if (rc != 0)
        return -rc;
    pthread_setname_np(g->thread, "eng-ingest");
    g->started = true;
    return 0;
}

void eng_ingest_stop(eng_ingest_t *g)
{
    if (!g->started)
        return;
    atomic_store_explicit(&g->stopping, true, memory_order_release);
    pthread_join(g->thread, NULL);
    g->started = false;
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
