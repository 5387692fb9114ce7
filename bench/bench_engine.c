/* bench/bench_engine.c - engine points/s per core (issue 4, benchmarks 1-3).
 *
 * Every case runs tasks through the task master (ingest thread + one engine thread) with batches
 * parsed once before the clock starts: the producer (this thread) only pushes batch references
 * (and, for (2), rewrites the points' times in place), never re-parses. The time reported is the
 * CPU time of the engine thread (CLOCK_THREAD_CPUTIME_ID of that thread, whose clock id a sink
 * node or env callback picks up on its first call), best of N runs: the machine is shared, so
 * wall time says more about the neighbours than about the engine.
 *  (1) `from().measurement('cpu')|where(lambda: "cpu" == 'cpu-total')|alert().crit(lambda:
 *      "usage_idle" < 10)`: the real alert node, no handlers (events are built, JSON and all,
 *      for the 10% of points that are critical). Also: the same driven directly on this thread.
 *  (2) `from().measurement('cpu')|groupBy('host')|window().period(10s).every(10s)|
 *      mean('usage_idle')|influxDBOut()` with 100,000 hosts, one point per host per second, to a
 *      capturing env (counts what influxDBOut writes; no network); bytes per active series from
 *      the heap (mallinfo2) grown while the 100,000 groups were created.
 *  (3) the (1) task plus 0, 1 or 100 tasks each on its own measurement (none matches): CPU per
 *      point of the ingest and engine threads together (process CPU minus this thread's).
 * Usage: bench_engine [points for (1) and (3), default 5000000] [runs, default 3] [rounds for (2), default 30] */
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/lp.h"
#include "engine/taskmaster.h"

static double clock_s(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void nap_us(long us)
{
    struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };
    nanosleep(&ts, NULL);
}

/* ---- the engine thread's CPU clock, picked up by whatever runs on it first ---- */

static clockid_t engine_clock;
static atomic_bool have_clock;
static atomic_ulong sunk;

static void grab_clock(void)
{
    if (!atomic_load_explicit(&have_clock, memory_order_relaxed)) {
        pthread_getcpuclockid(pthread_self(), &engine_clock);
        atomic_store(&have_clock, true);
    }
}

static void sink_point(eng_node_t *n, eng_node_t *from, const eng_pt_t *p)
{
    grab_clock();
    atomic_fetch_add_explicit(&sunk, 1, memory_order_relaxed);
}
static const eng_node_ops_t sink_ops = { .type = "bench_sink", .point = sink_point };

static atomic_ulong written;
static void capture_write(void *ud, eng_node_t *n, fa_str_t db, fa_str_t rp, const eng_point_t *pts, uint32_t n_pts)
{
    grab_clock();
    atomic_fetch_add_explicit(&written, n_pts, memory_order_relaxed);
}
static const eng_env_t capture_env = { .write_points = capture_write };

static eng_task_t *task(const char *id, const char *script, const eng_env_t *env, bool sink)
{
    eng_task_t *t;
    tick_err_t err;
    if (eng_task_new(id, script, strlen(script), NULL, 0, env, &t, &err) != 0) {
        fprintf(stderr, "bench_engine: %s: line %u: %s\n", id, err.pos.line, err.msg);
        exit(1);
    }
    if (sink) { /* one more child of node 2 (the where): it sees every point that passed */
        eng_node_t *w = &t->nodes[2], *k = FA_NEW(&t->arena, eng_node_t, 1);
        memset(k, 0, sizeof(*k));
        k->ops = &sink_ops;
        k->task = t;
        eng_node_t **kids = FA_NEW(&t->arena, eng_node_t *, w->n_children + 1);
        memcpy(kids, w->children, sizeof(eng_node_t *) * w->n_children);
        kids[w->n_children] = k;
        w->children = kids;
        w->n_children++;
    }
    return t;
}

/* ---- pre-parsed batches ---- */

enum { BATCH = 1000, NB = 64 };

/* BATCH Telegraf-shaped cpu points: hosts first_host.., 10% with usage_idle < 10 */
static eng_batch_t *parse_batch(const char *measurement, int first_host, int n_hosts)
{
    static char body[BATCH * 200];
    size_t o = 0;
    for (int i = 0; i < BATCH; i++)
        o += (size_t)snprintf(body + o, sizeof body - o,
                              "%s,cpu=cpu-total,host=h%d usage_idle=%d,usage_system=1.5,usage_user=2.25 %d\n", measurement,
                              (first_host + i) % n_hosts, i % 10 == 0 ? 5 : 50 + i % 40, 1000 + i);
    eng_batch_t *b = malloc(sizeof(*b));
    eng_batch_init(b, 1 << 18, 0);
    eng_lp_opts_t opts = { .precision_ns = 1 };
    eng_lp_result_t res;
    if (eng_lp_parse(b, body, o, &opts, &res) != BATCH) {
        fprintf(stderr, "bench_engine: parse: %s\n", res.errors);
        exit(1);
    }
    b->db = FA_STR_LIT("telegraf");
    b->rp = FA_STR_LIT("autogen");
    return b;
}

typedef struct rig {
    eng_ingest_t *g;
    eng_tm_t *tm;
    eng_ingest_port_t *port;
} rig_t;

static void rig_start(rig_t *r)
{
    char err[256];
    r->g = eng_ingest_new(1, 1024);
    eng_tm_opts_t o = { .threads = 1, .queue_size = 1024, .backlog = 0 };
    r->tm = eng_tm_new(r->g, &o, err, sizeof err);
    if (r->tm == NULL) {
        fprintf(stderr, "bench_engine: %s\n", err);
        exit(1);
    }
    r->port = eng_ingest_port(r->g, 0);
}

static void rig_add(rig_t *r, eng_task_t *t)
{
    char err[256];
    eng_task_opts_t to = { .thread = -1, .overflow = ENG_OVERFLOW_BLOCK };
    if (eng_tm_add(r->tm, t, &to, err, sizeof err) != 0) {
        fprintf(stderr, "bench_engine: %s\n", err);
        exit(1);
    }
}

static void rig_go(rig_t *r)
{
    eng_ingest_start(r->g);
    eng_tm_start(r->tm);
}

static void rig_stop(rig_t *r)
{
    /* take back what is in the back ring: eng_ingest_free frees batches left in its rings */
    eng_ingest_stop(r->g);
    eng_tm_free(r->tm);
    while (eng_ring_spsc_pop(&r->port->back) != NULL)
        ;
    eng_ingest_free(r->g);
}

/* Pushes batches[i % n] `count` times. The ingest resets a batch when it gives it back, so what
 * goes out is a shell pointing at the parsed batch's points (no copy, no parse); a shell is sent
 * again only once it came back (every task is done with it). `touch` (may be NULL) runs on the
 * parsed batch before each push. */
static void pump(rig_t *r, eng_batch_t **batches, unsigned n, long count, void (*touch)(eng_batch_t *, long))
{
    eng_batch_t *shell = calloc(n, sizeof(eng_batch_t));
    bool *out = calloc(n, sizeof(bool));
    for (unsigned k = 0; k < n; k++)
        eng_batch_init(&shell[k], 4096, 0);
    for (long i = 0; i <= count; i++) {
        unsigned k = (unsigned)(i % n);
        /* take back what came back; before the next push, or all of it at the end */
        while (i == count ? false : out[k]) {
            eng_batch_t *b = eng_ring_spsc_pop(&r->port->back);
            if (b == NULL) {
                nap_us(20);
                continue;
            }
            out[b - shell] = false;
        }
        if (i == count)
            break;
        if (touch != NULL)
            touch(batches[k], i);
        shell[k].points = batches[k]->points;
        shell[k].n = batches[k]->n;
        shell[k].db = batches[k]->db;
        shell[k].rp = batches[k]->rp;
        while (!eng_ring_spsc_push(&r->port->in, &shell[k]))
            nap_us(20);
        out[k] = true;
    }
    for (unsigned k = 0; k < n; k++)
        while (out[k]) {
            eng_batch_t *b = eng_ring_spsc_pop(&r->port->back);
            if (b == NULL) {
                nap_us(50);
                continue;
            }
            out[b - shell] = false;
        }
    for (unsigned k = 0; k < n; k++)
        eng_batch_deinit(&shell[k]);
    free(shell);
    free(out);
}

/* ---- (1) ---- */

static const char *ALERT;
static const char *const ALERT_EVENTS = "dbrp \"telegraf\".\"autogen\"\n"
                                        "stream|from().measurement('cpu').groupBy('host')|where(lambda: \"cpu\" == 'cpu-total')\n"
                                        "    |alert().crit(lambda: \"usage_idle\" < 10)\n";
static const char *const ALERT_CHANGES = "dbrp \"telegraf\".\"autogen\"\n"
                                         "stream|from().measurement('cpu').groupBy('host')|where(lambda: \"cpu\" == 'cpu-total')\n"
                                         "    |alert().crit(lambda: \"usage_idle\" < 10).stateChangesOnly()\n";

static double bench_alert_tm(long points, eng_batch_t **batches, unsigned nb)
{
    rig_t r;
    rig_start(&r);
    rig_add(&r, task("alert", ALERT, NULL, true));
    rig_go(&r);
    atomic_store(&have_clock, false);
    pump(&r, batches, nb, 64, NULL); /* warm-up; the sink learns the engine thread's clock */
    double c0 = clock_s(engine_clock);
    unsigned long s0 = atomic_load(&sunk);
    pump(&r, batches, nb, points / BATCH, NULL);
    double cpu = clock_s(engine_clock) - c0;
    unsigned long passed = atomic_load(&sunk) - s0;
    eng_tm_task_stats_t st;
    eng_tm_task_stats(r.tm, "alert", &st);
    if (getenv("BENCH_DEBUG"))
        fprintf(stderr, "in %lu dropped %lu batches %lu sunk %lu\n", (unsigned long)st.points_in, (unsigned long)st.points_dropped,
                (unsigned long)st.batches_in, atomic_load(&sunk));
    rig_stop(&r);
    if (passed != (unsigned long)(points / BATCH) * BATCH) {
        fprintf(stderr, "bench_engine: (1) %lu points reached the alert, want %ld\n", passed, points);
        exit(1);
    }
    return cpu;
}

static double bench_alert_direct(long points, eng_batch_t *b)
{
    eng_task_t *t = task("direct", ALERT, NULL, true);
    double c0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
    for (long done = 0; done < points; done += b->n)
        for (uint32_t i = 0; i < b->n; i++)
            eng_task_point(t, b->db, b->rp, &b->points[i]);
    double cpu = clock_s(CLOCK_THREAD_CPUTIME_ID) - c0;
    eng_task_free(t);
    return cpu;
}

/* ---- (2) ---- */

enum { SERIES = 100000, PER_ROUND = SERIES / BATCH };
static long round0; /* the round of a pump's first push */

static void set_round(eng_batch_t *b, long i)
{
    int64_t t = (round0 + i / PER_ROUND) * 1000000000LL + 1600000000000000000LL;
    for (uint32_t k = 0; k < b->n; k++)
        b->points[k].time = t;
}

static const char *const WINDOW = "dbrp \"telegraf\".\"autogen\"\n"
                                  "stream|from().measurement('cpu')|groupBy('host')\n"
                                  "    |window().period(10s).every(10s)|mean('usage_idle')\n"
                                  "    |influxDBOut().database('out').retentionPolicy('autogen')\n";

static size_t heap_used(void)
{
    struct mallinfo2 m = mallinfo2();
    return m.uordblks + m.hblkhd;
}

/* rounds of data (one point per host per second); returns the engine thread's CPU seconds over
 * rounds 11.. (steady state) */
static double bench_window(long rounds, double *bytes_per_series, long *timed_points)
{
    eng_batch_t *batches[PER_ROUND];
    for (int i = 0; i < PER_ROUND; i++)
        batches[i] = parse_batch("cpu", i * BATCH, SERIES);
    rig_t r;
    rig_start(&r);
    rig_add(&r, task("window", WINDOW, &capture_env, false));
    rig_go(&r);
    atomic_store(&have_clock, false);
    atomic_store(&written, 0);
    /* round 0 creates the 100,000 groups: the heap's growth over it is the state per series */
    size_t h0 = heap_used();
    round0 = 0;
    pump(&r, batches, PER_ROUND, PER_ROUND, set_round);
    *bytes_per_series = ((double)heap_used() - (double)h0) / SERIES;
    /* rounds 1..10: round 10 closes the first windows; the writes tell the engine thread's clock */
    round0 = 1;
    pump(&r, batches, PER_ROUND, 10 * PER_ROUND, set_round);
    if (!atomic_load(&have_clock)) {
        fprintf(stderr, "bench_engine: (2) nothing written after 10 s of data\n");
        exit(1);
    }
    round0 = 11;
    double c0 = clock_s(engine_clock);
    pump(&r, batches, PER_ROUND, (rounds - 11) * PER_ROUND, set_round);
    double cpu = clock_s(engine_clock) - c0;
    *timed_points = (rounds - 11) * SERIES;
    unsigned long want = (unsigned long)SERIES * (unsigned long)((rounds - 1) / 10), got = atomic_load(&written);
    rig_stop(&r);
    if (got + 1000 < want || got > want) {
        fprintf(stderr, "bench_engine: (2) %lu means written, want %lu\n", got, want);
        exit(1);
    }
    for (int i = 0; i < PER_ROUND; i++) {
        eng_batch_deinit(batches[i]);
        free(batches[i]);
    }
    return cpu;
}

/* ---- (3) ---- */

/* CPU seconds of the ingest and engine threads per point: the (1) task and n_other tasks on
 * other measurements */
static double bench_others(long points, eng_batch_t **batches, unsigned nb, int n_other)
{
    rig_t r;
    rig_start(&r);
    rig_add(&r, task("alert", ALERT, NULL, true));
    for (int i = 0; i < n_other; i++) {
        char id[32], script[256];
        snprintf(id, sizeof id, "m%d", i);
        snprintf(script, sizeof script, "dbrp \"telegraf\".\"autogen\"\nstream|from().measurement('other%d')|where(lambda: TRUE)\n", i);
        rig_add(&r, task(id, script, NULL, false));
    }
    rig_go(&r);
    pump(&r, batches, nb, 64, NULL);
    double p0 = clock_s(CLOCK_PROCESS_CPUTIME_ID), t0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
    pump(&r, batches, nb, points / BATCH, NULL);
    double cpu = (clock_s(CLOCK_PROCESS_CPUTIME_ID) - p0) - (clock_s(CLOCK_THREAD_CPUTIME_ID) - t0);
    rig_stop(&r);
    return cpu / (double)points;
}

static double min_d(double a, double b) { return a < b ? a : b; }

int main(int argc, char **argv)
{
    long points = argc > 1 ? atol(argv[1]) : 5000000;
    int runs = argc > 2 ? atoi(argv[2]) : 3;
    long rounds = argc > 3 ? atol(argv[3]) : 30;
    const char *only = argc > 4 ? argv[4] : "123";
    eng_batch_t *batches[NB];
    for (int i = 0; i < NB; i++)
        batches[i] = parse_batch("cpu", i * BATCH, 50);

    for (int v = 0; v < 2 && strchr(only, '1'); v++) {
        ALERT = v == 0 ? ALERT_EVENTS : ALERT_CHANGES;
        printf("(1) alert %s:\n", v == 0 ? "with an event for every critical point (10%)" : ".stateChangesOnly() (5 events per run)");
        double best = 1e30;
        for (int i = 0; i < runs; i++)
            best = min_d(best, bench_alert_direct(points, batches[0]));
        printf("(1) from|where|alert, eng_task_point on one thread: %.2f M points/s per core (%.0f ns/point), best of %d\n",
               (double)points / best / 1e6, best * 1e9 / (double)points, runs);
        best = 1e30;
        for (int i = 0; i < runs; i++)
            best = min_d(best, bench_alert_tm(points, batches, NB));
        printf("(1) from|where|alert through the task master: %.2f M points/s per core of the engine thread (%.0f ns/point), best of %d\n",
               (double)points / best / 1e6, best * 1e9 / (double)points, runs);
    }
    if (strchr(only, '2') && rounds > 11) {
        double best = 1e30, bps = 0;
        long timed = 0;
        for (int i = 0; i < runs; i++) {
            double b;
            best = min_d(best, bench_window(rounds, &b, &timed));
            bps = i == 0 || b < bps ? b : bps;
        }
        printf("(2) groupBy|window|mean|influxDBOut, %d series, rounds 11..%ld: %.2f M points/s per core of the engine thread "
               "(%.0f ns/point), best of %d; heap per series created: %.0f bytes\n",
               SERIES, rounds - 1, (double)timed / best / 1e6, best * 1e9 / (double)timed, runs, bps);
    }
    ALERT = ALERT_CHANGES;
    if (strchr(only, '3')) {
        static const int others[] = { 0, 1, 100 };
        for (int k = 0; k < 3; k++) {
            double best = 1e30;
            for (int i = 0; i < runs; i++)
                best = min_d(best, bench_others(points, batches, NB, others[k]));
            printf("(3) the (1) task + %3d tasks on other measurements: %.0f ns CPU per point (ingest + engine threads), best of %d\n",
                   others[k], best * 1e9, runs);
        }
    }
    for (int i = 0; i < NB; i++) {
        eng_batch_deinit(batches[i]);
        free(batches[i]);
    }
    return 0;
}
