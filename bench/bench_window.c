/* bench/bench_window.c - engine throughput of
 *     stream|from()|groupBy('host')|window().period(10s).every(10s)|mean('usage_idle')
 * over N series (hosts, default 100,000), one point per series per second, on one thread; and
 * the window's state per active series (its group map, slab, point blocks and tag strings, as
 * the node's "bytes" counter reports them).
 *
 *     bench_window [series] [seconds]       defaults: 100000 30
 * Points are built before the clock starts (no parsing): this times the task alone, in the
 * thread's CPU time (so a busy shared machine does not count against it). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/task.h"

/* CPU time of this thread: "per core" even when the machine is shared */
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t emitted;

int main(int argc, char **argv)
{
    uint32_t series = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 100000;
    uint32_t seconds = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : 30;
    static const char script[] = "stream\n    |from()\n        .measurement('cpu')\n    |groupBy('host')\n"
                                 "    |window()\n        .period(10s)\n        .every(10s)\n    |mean('usage_idle')\n";
    eng_dbrp_t d = { FA_STR_LIT("telegraf"), FA_STR_LIT("autogen") };
    eng_task_t *t;
    tick_err_t err;
    if (eng_task_new("bench", script, sizeof script - 1, &d, 1, NULL, &t, &err) != 0) {
        fprintf(stderr, "bench_window: %s\n", err.msg);
        return 1;
    }
    /* series points with the shape of Telegraf's cpu measurement (3 of its fields) */
    fa_arena_t a;
    fa_arena_init(&a, 1 << 20, 0);
    eng_point_t *pts = FA_NEW(&a, eng_point_t, series);
    for (uint32_t i = 0; i < series; i++) {
        char host[32];
        int hl = snprintf(host, sizeof host, "host-%06u", i);
        eng_tag_t *tags = FA_NEW(&a, eng_tag_t, 2);
        tags[0] = (eng_tag_t){ FA_STR_LIT("cpu"), FA_STR_LIT("cpu-total") };
        tags[1] = (eng_tag_t){ FA_STR_LIT("host"), fa_str(fa_arena_strndup(&a, host, (size_t)hl), (size_t)hl) };
        eng_field_t *f = FA_NEW(&a, eng_field_t, 3);
        f[0] = (eng_field_t){ FA_STR_LIT("usage_user"), { .type = ENG_FLOAT, .f = 1.5 } };
        f[1] = (eng_field_t){ FA_STR_LIT("usage_system"), { .type = ENG_FLOAT, .f = 0.5 } };
        f[2] = (eng_field_t){ FA_STR_LIT("usage_idle"), { .type = ENG_FLOAT, .f = (double)(i % 100) } };
        pts[i] = (eng_point_t){ .name = FA_STR_LIT("cpu"), .tags = tags, .n_tags = 2, .fields = f, .n_fields = 3 };
    }
    int64_t t0 = 1700000000LL * 1000000000LL;
    double start = now_s(), warm = 0;
    for (uint32_t s = 0; s < seconds; s++) {
        if (s == 10)
            warm = now_s(); /* the first window is done: every group exists */
        for (uint32_t i = 0; i < series; i++) {
            pts[i].time = t0 + (int64_t)s * 1000000000LL + i; /* spread inside the second */
            pts[i].fields[2].v.f = (double)((i + s) % 100);
            eng_task_point(t, d.db, d.rp, &pts[i]);
        }
    }
    double end = now_s(), secs = end - start;
    uint64_t n = (uint64_t)series * seconds;
    eng_node_t *w = &t->nodes[3], *mean = &t->nodes[4];
    uint64_t groups = atomic_load(&w->stats.own[0]), bytes = atomic_load(&w->stats.own[1]);
    emitted = atomic_load(&mean->stats.emitted);
    printf("series %u, seconds %u, points %" PRIu64 "\n", series, seconds, n);
    printf("cpu time %.3f s, %.0f points/s on one core (%.0f ns/point)\n", secs, (double)n / secs, secs * 1e9 / (double)n);
    if (seconds > 10) {
        double n2 = (double)series * (seconds - 10);
        printf("steady state (after the first 10 s of data): %.0f points/s on one core (%.0f ns/point)\n",
               n2 / (end - warm), (end - warm) * 1e9 / n2);
    }
    printf("means emitted %" PRIu64 " (expected %" PRIu64 ")\n", emitted, (uint64_t)series * ((seconds - 1) / 10));
    printf("window groups %" PRIu64 ", state %" PRIu64 " bytes, %.1f bytes per active series\n", groups, bytes,
           groups ? (double)bytes / (double)groups : 0.0);
    eng_task_free(t);
    fa_arena_deinit(&a);
    return 0;
}
