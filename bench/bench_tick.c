/* bench/bench_tick.c - lambda evaluations per second on one core, and parse+check of a 200-line script.
 *
 * Usage: bench_tick [evaluations per run, default 5000000]
 * Each measurement runs 5 times (bounded loops) and reports the best run. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/str.h"
#include "tick/expr.h"
#include "tick/tick.h"

#define RUNS 5

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts); /* CPU time: the machine is shared */
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static tick_prog_t *compile(const char *src, fa_arena_t *a, tick_slotmap_t *m)
{
    tick_expr_t *e;
    tick_prog_t *p;
    tick_err_t err;
    tick_resolver_t r = tick_slotmap_resolver(m);
    if (tick_parse_lambda(src, strlen(src), a, &e, &err) != 0 || tick_expr_compile(e, &r, a, &p, &err) != 0) {
        fprintf(stderr, "bench_tick: cannot compile %s: %s\n", src, err.msg);
        exit(1);
    }
    return p;
}

/* Evaluates p n times over `sets` rows of slot values (n_slots each); returns evals/s of the best run. */
static double bench_eval(const tick_prog_t *p, const tick_value_t *sets, unsigned n_sets, unsigned n_slots, long n,
                         void *state, long *trues)
{
    fa_arena_t scratch;
    double best = 0;
    fa_arena_init(&scratch, 4096, 1 << 20);
    for (int run = 0; run < RUNS; run++) {
        tick_eval_ctx_t ctx = { .n_slots = n_slots, .state = state, .scratch = &scratch, .now = 0 };
        long t = 0;
        tick_err_t err;
        bool b;
        double t0 = now_s();
        for (long i = 0; i < n; i++) {
            ctx.slots = &sets[(unsigned long)i % n_sets * n_slots];
            if (tick_expr_eval_bool(p, &ctx, &b, &err) != 0) {
                fprintf(stderr, "bench_tick: eval failed: %s\n", err.msg);
                exit(1);
            }
            t += b;
        }
        double rate = (double)n / (now_s() - t0);
        if (rate > best)
            best = rate;
        *trues = t;
    }
    fa_arena_deinit(&scratch);
    return best;
}

static void bench_first(long n)
{
    fa_arena_t a;
    tick_slotmap_t m;
    fa_arena_init(&a, 4096, 0);
    tick_slotmap_init(&m);
    tick_prog_t *p = compile("\"usage_idle\" < 10.0 AND \"host\" =~ /^web-[0-9]+$/", &a, &m);
    static char hosts[16][16];
    tick_value_t all[16 * 2], half[16 * 2];
    for (unsigned i = 0; i < 16; i++) {
        int len = snprintf(hosts[i], sizeof hosts[i], i % 4 == 3 ? "db-%u" : "web-%u", 10 + i * 7);
        fa_str_t h = fa_str(hosts[i], (size_t)len);
        /* slot 0 = usage_idle, slot 1 = host (first-seen order) */
        all[i * 2] = tick_float(1.0 + i * 0.5);      /* always < 10: the regex runs every time */
        all[i * 2 + 1] = tick_string(h);
        half[i * 2] = tick_float(i % 2 ? 50.0 : 5.0); /* half the points stop at the comparison */
        half[i * 2 + 1] = tick_string(h);
    }
    long trues;
    double r1 = bench_eval(p, all, 16, 2, n, NULL, &trues);
    printf("%-60s %8.1f M evals/s  (%ld true of %ld)\n", "usage_idle < 10.0 AND host =~ /^web-[0-9]+$/ (regex every time)", r1 / 1e6, trues, n);
    double r2 = bench_eval(p, half, 16, 2, n, NULL, &trues);
    printf("%-60s %8.1f M evals/s  (%ld true of %ld)\n", "same, half the points short-circuit", r2 / 1e6, trues, n);
    tick_prog_release(p);
    fa_arena_deinit(&a);
}

static void bench_sigma(long n)
{
    fa_arena_t a;
    tick_slotmap_t m;
    fa_arena_init(&a, 4096, 0);
    tick_slotmap_init(&m);
    tick_prog_t *p = compile("sigma(\"value\") > 3.0", &a, &m);
    tick_value_t vals[64];
    for (unsigned i = 0; i < 64; i++)
        vals[i] = tick_float(i == 63 ? 1000.0 : 50.0 + (double)(i * 37 % 11));
    uint64_t state[8];
    tick_prog_state_init(p, state);
    long trues;
    double r = bench_eval(p, vals, 64, 1, n, state, &trues);
    printf("%-60s %8.1f M evals/s  (%ld true of %ld)\n", "sigma(\"value\") > 3.0", r / 1e6, trues, n);
    tick_prog_release(p);
    fa_arena_deinit(&a);
}

static void make_script(fa_buf_t *b, int *lines)
{
    int n = 0;
    fa_buf_append_c(b, "// generated for bench_tick: a long stream pipeline\ndbrp \"telegraf\".\"autogen\"\n");
    fa_buf_append_c(b, "var warn = 80.0\nvar crit = 90.0\nvar period = 10s\n");
    fa_buf_append_c(b, "stream\n    |from()\n        .measurement('cpu')\n        .groupBy('host')\n"
                       "        .where(lambda: \"cpu\" == 'cpu-total' AND \"host\" =~ /^web-[0-9]+$/)\n"
                       "    |eval(lambda: 100.0 - \"usage_idle\")\n        .as('used')\n");
    n = 12;
    for (int i = 0; n < 194; i++, n += 2)
        fa_buf_appendf(b, "    |eval(lambda: \"used\" * 1.0 + %d.5)\n        .as('used')\n", i);
    fa_buf_append_c(b, "    |window()\n        .period(period)\n        .every(5s)\n    |alert()\n"
                       "        .warn(lambda: \"used\" > warn)\n        .crit(lambda: \"used\" > crit)\n");
    *lines = n + 6;
}

static void bench_parse_check(void)
{
    fa_buf_t src = FA_BUF_INIT;
    int lines;
    make_script(&src, &lines);
    double best = 1e9;
    for (int run = 0; run < RUNS; run++) {
        fa_arena_t a;
        tick_ast_t *ast;
        tick_pipeline_t *pipe;
        tick_err_t err;
        char buf[400];
        fa_arena_init(&a, 1 << 16, 0);
        double t0 = now_s();
        for (int k = 0; k < 100; k++) {
            fa_arena_reset(&a);
            if (tick_parse(src.ptr, src.len, &a, &ast, &err) != 0 || tick_check(ast, 0, &a, &pipe, &err) != 0) {
                fprintf(stderr, "bench_tick: script rejected: %s\n", tick_err_kapacitor(&err, buf, sizeof buf));
                exit(1);
            }
        }
        double dt = (now_s() - t0) / 100;
        if (dt < best)
            best = dt;
        fa_arena_deinit(&a);
    }
    printf("%-60s %8.1f us per script (%d lines, %zu bytes)\n", "parse + check of a generated script", best * 1e6, lines, src.len);
    fa_buf_deinit(&src);
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 5000000;
    if (n <= 0 || n > 1000000000) {
        fprintf(stderr, "usage: bench_tick [evaluations per run, 1..1e9]\n");
        return 2;
    }
    printf("bench_tick: best of %d runs, %ld evaluations per run, one thread\n", RUNS, n);
    bench_first(n);
    bench_sigma(n);
    bench_parse_check();
    return 0;
}
