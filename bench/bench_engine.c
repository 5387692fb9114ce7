/* bench/bench_engine.c - engine points/s per core.
 *  (1) `from().measurement('cpu')|where(lambda: "usage_idle" < 10)` into a counting sink, driven
 *      directly on one thread (eng_task_point over 1000-point batches): the alert node is not in
 *      this branch yet, so where + a counting sink stands in for alert's threshold.
 *  (1b) the same through the task master: ingest thread + one engine thread, batches of 1000
 *      points through the rings (end to end, two threads).
 *  (3) per-batch routing cost on the ingest thread with 1 vs 100 tasks on other measurements of the
 *      same db.rp: the points match none of them.
 * Usage: bench_engine [points (default 20000000)] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/lp.h"
#include "engine/taskmaster.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static atomic_ulong sunk;
static void sink_point(eng_node_t *n, eng_node_t *from, const eng_pt_t *p) { atomic_fetch_add_explicit(&sunk, 1, memory_order_relaxed); }
static const eng_node_ops_t sink_ops = { .type = "bench_sink", .point = sink_point };

static eng_task_t *task(const char *id, const char *script)
{
    eng_task_t *t;
    tick_err_t err;
    if (eng_task_new(id, script, strlen(script), NULL, 0, NULL, &t, &err) != 0) {
        fprintf(stderr, "bench_engine: %s: %s\n", id, err.msg);
        exit(1);
    }
    eng_node_t *leaf = &t->nodes[t->n_nodes - 1], *k = FA_NEW(&t->arena, eng_node_t, 1);
    memset(k, 0, sizeof(*k));
    k->ops = &sink_ops;
    k->task = t;
    leaf->children = FA_NEW(&t->arena, eng_node_t *, 1);
    leaf->children[0] = k;
    leaf->n_children = 1;
    return t;
}

/* 1000 cpu points, 10% below the threshold, as a batch of db.rp. */
static void fill(eng_batch_t *b, const char *measurement)
{
    static char body[200000];
    size_t o = 0;
    for (int i = 0; i < 1000; i++)
        o += (size_t)snprintf(body + o, sizeof body - o, "%s,host=h%d,cpu=cpu-total usage_idle=%d,usage_user=1.5 %d\n",
                              measurement, i % 50, i % 10 == 0 ? 5 : 50 + i % 40, 1000 + i);
    eng_lp_opts_t opts = { .precision_ns = 1 };
    eng_lp_result_t res;
    eng_lp_parse(b, body, o, &opts, &res);
    b->db = FA_STR_LIT("telegraf");
    b->rp = FA_STR_LIT("autogen");
}

static const char *const WHERE = "dbrp \"telegraf\".\"autogen\"\nstream|from().measurement('cpu')|where(lambda: \"usage_idle\" < 10)\n";

static void bench_direct(long points)
{
    eng_batch_t b;
    eng_batch_init(&b, 1 << 20, 0);
    fill(&b, "cpu");
    eng_task_t *t = task("direct", WHERE);
    atomic_store(&sunk, 0);
    double t0 = now_s();
    for (long done = 0; done < points; done += b.n)
        for (uint32_t i = 0; i < b.n; i++)
            eng_task_point(t, b.db, b.rp, &b.points[i]);
    double dt = now_s() - t0;
    printf("(1) from|where threshold, one thread: %.0f points/s (%.1f ns/point), %lu passed\n", (double)points / dt,
           dt * 1e9 / (double)points, atomic_load(&sunk));
    eng_task_free(t);
    eng_batch_deinit(&b);
}

/* Sends `batches` copies of one prepared batch body through an ingest port; returns wall seconds. */
static double pump(eng_ingest_t *g, eng_tm_t *tm, const char *measurement, long batches, double *cpu)
{
    eng_ingest_port_t *port = eng_ingest_port(g, 0);
    eng_batch_t *pool[255];
    unsigned owned = 0;
    double t0 = now_s(), c0 = cpu_s();
    for (long i = 0; i < batches;) {
        eng_batch_t *b = eng_ring_spsc_pop(&port->back);
        if (b == NULL && owned < 255) {
            b = pool[owned++] = malloc(sizeof(*b));
            eng_batch_init(b, 1 << 18, 0);
        }
        if (b == NULL)
            continue;
        fill(b, measurement);
        while (!eng_ring_spsc_push(&port->in, b))
            ;
        i++;
    }
    while (eng_ingest_consumed(g) < (uint64_t)batches)
        ;
    /* wait for every batch to come back: all tasks are done with them */
    unsigned back = 0;
    while (back < owned)
        back += eng_ring_spsc_pop(&port->back) != NULL;
    double dt = now_s() - t0;
    *cpu = cpu_s() - c0;
    for (unsigned i = 0; i < owned; i++) {
        eng_batch_deinit(pool[i]);
        free(pool[i]);
    }
    return dt;
}

static void bench_tm(long points, int n_other, const char *label, const char *measurement)
{
    char err[256];
    eng_ingest_t *g = eng_ingest_new(1, 256);
    eng_tm_opts_t o = { .threads = 1, .queue_size = 512, .backlog = 0 };
    eng_tm_t *tm = eng_tm_new(g, &o, err, sizeof err);
    eng_task_opts_t to = { .thread = -1 };
    if (n_other == 0) {
        eng_tm_add(tm, task("cpu", WHERE), &to, err, sizeof err);
    }
    for (int i = 0; i < n_other; i++) {
        char id[32], script[256];
        snprintf(id, sizeof id, "m%d", i);
        snprintf(script, sizeof script, "dbrp \"telegraf\".\"autogen\"\nstream|from().measurement('other%d')\n", i);
        eng_tm_add(tm, task(id, script), &to, err, sizeof err);
    }
    eng_ingest_start(g);
    eng_tm_start(tm);
    atomic_store(&sunk, 0);
    double cpu, dt = pump(g, tm, measurement, points / 1000, &cpu);
    /* the producer spins in this thread: count the ingest + engine threads' share only roughly */
    printf("%s: %.0f points/s wall, %.1f ns/point wall (%lu passed)\n", label, (double)points / dt, dt * 1e9 / (double)points,
           atomic_load(&sunk));
    eng_ingest_stop(g);
    eng_tm_free(tm);
    eng_ingest_free(g);
}

/* (3) the ingest thread's routing cost per point, measured on this thread with the router alone. */
static void bench_route(long points, int n_tasks)
{
    char err[256];
    eng_ingest_t *g = eng_ingest_new(1, 256);
    eng_tm_opts_t o = { .threads = 1, .queue_size = 512 };
    eng_tm_t *tm = eng_tm_new(g, &o, err, sizeof err);
    eng_task_opts_t to = { .thread = -1 };
    for (int i = 0; i < n_tasks; i++) {
        char id[32], script[256];
        snprintf(id, sizeof id, "m%d", i);
        snprintf(script, sizeof script, "dbrp \"telegraf\".\"autogen\"\nstream|from().measurement('other%d')\n", i);
        eng_tm_add(tm, task(id, script), &to, err, sizeof err);
    }
    /* ingest not started: push and let eng_ingest_sync-free path run the ingest loop by hand */
    eng_ingest_start(g);
    double cpu, dt = pump(g, tm, "cpu", points / 1000, &cpu);
    printf("(3) %3d tasks on other measurements, 1000-point batches through ingest: %.1f ns/point wall, %.1f ns/point cpu (all threads)\n",
           n_tasks, dt * 1e9 / (double)points, cpu * 1e9 / (double)points);
    eng_ingest_stop(g);
    eng_tm_free(tm);
    eng_ingest_free(g);
}

int main(int argc, char **argv)
{
    long points = argc > 1 ? atol(argv[1]) : 20000000;
    bench_direct(points);
    bench_tm(points, 0, "(1b) from|where through ingest + 1 engine thread", "cpu");
    bench_route(points, 0);
    bench_route(points, 1);
    bench_route(points, 100);
    return 0;
}
