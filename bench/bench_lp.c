/* bench/bench_lp.c - the line-protocol parser alone, one thread: MB/s and lines/s per core.
 *
 *   bench_lp [MB] [runs] [only]     (defaults: 100 MB, best of 5; only = short|telegraf)
 *
 * Generates MB of Telegraf-shaped lines in memory (deterministic: a fixed-seed generator; cpu,
 * mem, disk, diskio, net, system with ints, floats, a few strings), in two float styles:
 *   short     - decimals like 1.25, 98.0 (the shape issue 2 names)
 *   telegraf  - shortest round-trip text of computed ratios, 15-17 digits (what Telegraf prints)
 * Each is parsed as ~1,000-line bodies into one reused batch (reset between bodies, like real
 * requests) and as 25 MB bodies (InfluxDB's default max-body-size). Rates use the thread's CPU
 * time (per core, immune to other load on a shared machine); wall-clock rates are shown too. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/lp.h"

typedef struct gen {
    char *buf;
    size_t len, cap;
    uint64_t seed;
    int style; /* 0 short, 1 telegraf */
} gen_t;

static uint64_t rnd(gen_t *g)
{
    g->seed = g->seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return g->seed >> 33;
}

static void put(gen_t *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(gen_t *g, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g->len += (size_t)vsnprintf(g->buf + g->len, g->cap - g->len, fmt, ap);
    va_end(ap);
}

/* A percentage: short decimals, or a ratio printed the way Go's 'f', -1 formatting does. */
static void put_pct(gen_t *g, const char *key)
{
    if (g->style == 0) {
        uint64_t r = rnd(g) % 10000;
        put(g, "%s=%u.%u", key, (unsigned)(r / 100), (unsigned)(r % 100 / 10));
    } else {
        double den = (double)(1000 + rnd(g) % 100000), x = 100.0 * (double)(rnd(g) % 100000) / den;
        char tmp[40];
        for (int prec = 1; prec <= 17; prec++) { /* shortest text that reads back the same */
            snprintf(tmp, sizeof tmp, "%.*g", prec, x);
            if (strtod(tmp, NULL) == x)
                break;
        }
        put(g, "%s=%s", key, tmp);
    }
}

static void gen_interval(gen_t *g, int host, int64_t ts)
{
    static const char *const cpu_fields[] = { "usage_guest", "usage_guest_nice", "usage_idle", "usage_iowait",
                                              "usage_irq", "usage_nice", "usage_softirq", "usage_steal",
                                              "usage_system", "usage_user" };
    char h[32];
    snprintf(h, sizeof h, "web-%02d.example.com", host);
    for (int c = 0; c <= 8; c++) {
        if (c < 8)
            put(g, "cpu,cpu=cpu%d,host=%s ", c, h);
        else
            put(g, "cpu,cpu=cpu-total,host=%s ", h);
        for (int f = 0; f < 10; f++) {
            if (f)
                put(g, ",");
            put_pct(g, cpu_fields[f]);
        }
        put(g, " %lld\n", (long long)ts);
    }
    put(g, "mem,host=%s active=%lui,available=%lui,buffered=%lui,cached=%lui,free=%lui,total=16777216000i,used=%lui,",
        h, rnd(g) * 4096, rnd(g) * 4096, rnd(g) * 512, rnd(g) * 2048, rnd(g) * 1024, rnd(g) * 4096);
    put_pct(g, "available_percent");
    put(g, ",");
    put_pct(g, "used_percent");
    put(g, " %lld\n", (long long)ts);
    for (int d = 0; d < 2; d++) {
        put(g, "disk,device=sda%d,fstype=ext4,host=%s,mode=rw,path=/%s free=%lui,inodes_free=%lui,inodes_total=6553600i,"
               "inodes_used=%lui,total=107374182400i,used=%lui,", d + 1, h, d ? "data" : "", rnd(g) * 65536, rnd(g) % 6553600,
            rnd(g) % 6553600, rnd(g) * 65536);
        put_pct(g, "used_percent");
        put(g, " %lld\n", (long long)ts);
        put(g, "diskio,host=%s,name=sda%d io_time=%lui,iops_in_progress=0i,read_bytes=%lui,read_time=%lui,reads=%lui,"
               "weighted_io_time=%lui,write_bytes=%lui,write_time=%lui,writes=%lui %lld\n", h, d + 1, rnd(g), rnd(g) * 512,
            rnd(g), rnd(g), rnd(g), rnd(g) * 512, rnd(g), rnd(g), (long long)ts);
    }
    put(g, "net,host=%s,interface=eth0 bytes_recv=%lui,bytes_sent=%lui,drop_in=0i,drop_out=0i,err_in=0i,err_out=0i,"
           "packets_recv=%lui,packets_sent=%lui %lld\n", h, rnd(g) * 1000, rnd(g) * 1000, rnd(g), rnd(g), (long long)ts);
    put(g, "system,host=%s ", h);
    put_pct(g, "load1");
    put(g, ",");
    put_pct(g, "load15");
    put(g, ",");
    put_pct(g, "load5");
    put(g, ",n_cpus=8i,n_users=%lui %lld\n", rnd(g) % 5, (long long)ts);
    put(g, "system,host=%s uptime=%lui,uptime_format=\"%lu days, %2lu:%02lu\" %lld\n", h, rnd(g), rnd(g) % 400,
        rnd(g) % 24, rnd(g) % 60, (long long)ts);
}

static void generate(gen_t *g, size_t target)
{
    int64_t ts = INT64_C(1700000000000000000);
    g->cap = target + 8192;
    g->buf = malloc(g->cap);
    g->len = 0;
    while (g->len < target) {
        for (int host = 0; host < 64 && g->len < target; host++)
            gen_interval(g, host, ts);
        ts += INT64_C(10000000000);
    }
}

static double clock_s(clockid_t id)
{
    struct timespec t;
    clock_gettime(id, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* End of the body that starts at `pos` and holds up to `lines` lines (or `bytes` bytes). */
static size_t body_end(const gen_t *g, size_t pos, size_t lines, size_t bytes)
{
    size_t e = pos;
    if (bytes) {
        e = pos + bytes < g->len ? pos + bytes : g->len;
        const char *nl = memchr(g->buf + e, '\n', g->len - e);
        return nl ? (size_t)(nl - g->buf) + 1 : g->len;
    }
    for (size_t i = 0; i < lines && e < g->len; i++) {
        const char *nl = memchr(g->buf + e, '\n', g->len - e);
        e = nl ? (size_t)(nl - g->buf) + 1 : g->len;
    }
    return e;
}

/* Parses the whole buffer as bodies of `lines` lines (or `bytes` bytes); best of `runs`. */
static void run(const gen_t *g, const char *style, const char *what, size_t lines, size_t bytes, int runs)
{
    eng_batch_t b;
    eng_lp_opts_t o = { .precision_ns = 1, .now = 1 };
    eng_lp_result_t res;
    double best = 1e30, best_wall = 1e30;
    uint64_t points = 0, bad = 0;

    /* a 1 MB first chunk holds a 1,000-line body; a 25 MB body needs ~120 MB (the body copy,
     * points, tags, fields): give the batch a first chunk that size, which reset keeps, else
     * every body pays for fresh pages (see RESULTS.md) */
    eng_batch_init(&b, bytes ? (size_t)(bytes * 5) : (size_t)1 << 20, 0);
    for (int r = 0; r < runs; r++) {
        double t0 = clock_s(CLOCK_THREAD_CPUTIME_ID), w0 = clock_s(CLOCK_MONOTONIC);
        points = bad = 0;
        for (size_t pos = 0; pos < g->len;) {
            size_t e = body_end(g, pos, lines, bytes);
            eng_batch_reset(&b);
            eng_lp_parse(&b, g->buf + pos, e - pos, &o, &res);
            points += res.n_points;
            bad += res.n_bad;
            pos = e;
        }
        double dt = clock_s(CLOCK_THREAD_CPUTIME_ID) - t0, dw = clock_s(CLOCK_MONOTONIC) - w0;
        if (dt < best)
            best = dt;
        if (dw < best_wall)
            best_wall = dw;
    }
    eng_batch_deinit(&b);
    printf("%-9s %-17s %6.0f MB/s %6.2f M lines/s | wall %6.0f MB/s | %llu lines, %llu bad, best of %d: %.3f s cpu\n",
           style, what, (double)g->len / best / 1e6, (double)points / best / 1e6, (double)g->len / best_wall / 1e6,
           (unsigned long long)points, (unsigned long long)bad, runs, best);
}

int main(int argc, char **argv)
{
    size_t mb = argc > 1 ? (size_t)atoi(argv[1]) : 100;
    int runs = argc > 2 ? atoi(argv[2]) : 5;

    if (mb < 1 || mb > 2000 || runs < 1 || runs > 100) {
        fprintf(stderr, "usage: bench_lp [MB 1..2000] [runs 1..100]\n");
        return 2;
    }
    for (int style = 0; style < 2; style++) {
        gen_t g = { .seed = 42, .style = style };
        const char *name = style ? "telegraf" : "short";
        if (argc > 3 && strcmp(argv[3], name) != 0)
            continue;
        generate(&g, mb * 1000000);
        run(&g, name, "1000-line bodies", 1000, 0, runs);
        if (!getenv("BENCH_LP_SMALL_ONLY"))
            run(&g, name, "25 MB bodies", 0, 25000000, runs);
        free(g.buf);
    }
    return 0;
}
