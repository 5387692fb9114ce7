/* bench/bench_replay.c - record and replay throughput (issue 6), on the code paths they use.
 *
 * Usage: bench_replay [points, default 1000000] [old-layout points, default points/10]
 * PostgreSQL: $FARAD_BENCH_PG_DSN, or else a private cluster (bench/bench_pg.h).
 *
 *   record blocks  what a stream recording does: the sink stages each point on its own
 *                  (rec_stage_point, as sink_point), the recorder thread writes the stage as
 *                  columnar blocks every 32 MiB (STREAM_FLUSH_BYTES) (rr_write_stage: transpose + binary COPY); points/s
 *                  over both, serial on one thread (pessimistic: the two overlap in faradd)
 *   record rows    the same points through the version-1 path (a COPY text row per point into
 *                  recording_points_v1), fewer points, for the ratio in the same run
 *   replay         what a replay does: rr_read_blocks (binary COPY TO, decoded into chunks of
 *                  32768 points, over a connection from a pool as faradd's replays) feeding each
 *                  point to eng_task_point of a
 *                  `stream|from().measurement('cpu')|where(lambda: "usage_idle" < 50.0)` task:
 *                  first on a new connection (also the first read after the COPY, which sets the
 *                  rows' hint bits), twice again on the pooled connection; then on the bench's
 *                  connection (rec_blocks_next)
 *   SQL            count and sum of a field over farad.recording_points (the view that rebuilds
 *                  version 1's rows) for a recording of the first 20,000 points
 *   replay rows    rec_read_points of the version-1 rows, chunks of 8192, same task
 * Points look like Telegraf's cpu (3 tags, 6 float fields, 1 int field), 4000 series. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"
#include "base/mem.h"
#include "bench/bench_pg.h"
#include "engine/task.h"
#include "recorder/rr.h"
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Minor page faults of the calling thread so far. */
static long thread_faults(void)
{
    struct rusage ru;
    getrusage(RUSAGE_THREAD, &ru);
    return ru.ru_minflt;
}

static double thread_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* CPU seconds (user + system) of a process: the PostgreSQL backend of our connection. */
static double proc_cpu_s(int pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    size_t k = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[k] = '\0';
    const char *p = strrchr(buf, ')');
    unsigned long ut = 0, st = 0;
    if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return 0;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static void die(const char *what, const char *why)
{
    fprintf(stderr, "bench_replay: %s: %s\n", what, why);
    exit(1);
}

static fa_str_t astr(fa_arena_t *a, const char *s) { return fa_str(fa_arena_strndup(a, s, strlen(s)), strlen(s)); }

/* n Telegraf-like cpu points, 10 ms apart. */
static void fill(eng_batch_t *b, uint32_t n)
{
    static const char *names[] = { "usage_guest", "usage_idle", "usage_iowait", "usage_irq", "usage_system", "usage_user" };
    char tmp[64];
    b->db = FA_STR_LIT("telegraf");
    b->rp = FA_STR_LIT("autogen");
    for (uint32_t i = 0; i < n; i++) {
        eng_point_t *p = eng_batch_add(b);
        p->name = FA_STR_LIT("cpu");
        p->tags = FA_NEW(&b->arena, eng_tag_t, 3);
        p->n_tags = 3;
        snprintf(tmp, sizeof tmp, "cpu%u", i % 8);
        p->tags[0] = (eng_tag_t){ FA_STR_LIT("cpu"), astr(&b->arena, tmp) };
        snprintf(tmp, sizeof tmp, "host-%03u", (i / 8) % 500);
        p->tags[1] = (eng_tag_t){ FA_STR_LIT("host"), astr(&b->arena, tmp) };
        p->tags[2] = (eng_tag_t){ FA_STR_LIT("region"), i % 3 ? FA_STR_LIT("eu-west-1") : FA_STR_LIT("us-east-2") };
        p->fields = FA_NEW(&b->arena, eng_field_t, 7);
        p->n_fields = 7;
        for (unsigned f = 0; f < 6; f++)
            p->fields[f] = (eng_field_t){ fa_str_c(names[f]),
                                          { .type = ENG_FLOAT, .f = (double)((i * 7919u + f * 104729u) % 10000) / 100.0 } };
        p->fields[6] = (eng_field_t){ FA_STR_LIT("n_procs"), { .type = ENG_INT, .i = (int64_t)(i % 400) } };
        p->time = 1700000000000000000 + (int64_t)i * 10000000;
    }
}

typedef struct feed_ctx {
    eng_task_t *t;
    uint64_t fed;
} feed_ctx_t;

static bool feed_chunk(void *ud, eng_batch_t *b, const rec_read_out_t *out)
{
    (void)out;
    feed_ctx_t *c = ud;
    for (uint32_t i = 0; i < b->n; i++)
        eng_task_point(c->t, b->db, b->rp, &b->points[i]);
    c->fed += b->n;
    return true;
}

static uint64_t passed(const eng_task_t *t) { return atomic_load(&t->nodes[t->n_nodes - 1].stats.emitted); }

static void report(const char *what, uint64_t n, double wall, double cpu, double backend)
{
    printf("%-28s %8" PRIu64 " points %6.2f s wall = %9.0f points/s; CPU per point: farad %.2f us, PostgreSQL backend %.2f us\n",
           what, n, wall, n / wall, cpu * 1e6 / n, backend * 1e6 / n);
}

int main(int argc, char **argv)
{
    fa_tune_malloc(); /* as faradd */
    uint32_t n = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 1000000;
    uint32_t n_old = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : n / 10;
    char dsn[512], err[512];
    bench_pg_start(dsn, sizeof dsn);
    PGconn *pg = rr_connect(dsn, err, sizeof err);
    if (pg == NULL)
        die("connect", err);
    PQclear(PQexec(pg, "delete from farad.recording_blocks where recording_id in ('bench', 'bench_v1')"));
    PQclear(PQexec(pg, "delete from farad.recording_points_v1 where recording_id = 'bench_v1'"));
    if (n_old > n)
        n_old = n;

    eng_batch_t b;
    eng_batch_init(&b, 1 << 20, 0);
    fill(&b, n);
    int be = PQbackendPID(pg);

    /* record, blocks: stage per point as the sink does, write every 8 MiB */
    rec_stage_t st;
    rec_stage_init(&st, 64u << 20);
    fa_buf_t copy = FA_BUF_INIT;
    static const rec_copy_meta_t sm = { .batch_seq = -1 };
    int64_t seq = 0, bytes = 0;
    double t0 = now_s(), c0 = thread_cpu_s(), b0 = proc_cpu_s(be);
    for (uint32_t i = 0; i < n; i++) {
        if (rec_stage_point(&st, &sm, b.db, b.rp, &b.points[i]) != 0)
            die("stage", "full");
        if (st.buf.len >= (32u << 20) || i + 1 == n) {
            if (rr_write_stage(pg, "bench", &st, seq, &copy, err, sizeof err) != 0)
                die("write", err);
            seq += st.n;
            bytes += (int64_t)copy.len;
            rec_stage_clear(&st);
        }
    }
    report("record blocks", n, now_s() - t0, thread_cpu_s() - c0, proc_cpu_s(be) - b0);
    printf("  COPY data %.1f bytes per point\n", (double)bytes / n);

    /* record, version-1 rows */
    fa_buf_t buf = FA_BUF_INIT;
    eng_batch_t one;
    memset(&one, 0, sizeof one);
    one.db = b.db;
    one.rp = b.rp;
    one.n = 1;
    t0 = now_s(), c0 = thread_cpu_s(), b0 = proc_cpu_s(be);
    for (uint32_t i = 0; i < n_old; i++) {
        rec_copy_meta_t m = { .recording_id = FA_STR_LIT("bench_v1"), .first_seq = i, .batch_seq = -1 };
        one.points = &b.points[i];
        if (rec_encode_points(&buf, &m, &one) != 0)
            die("encode", "failed");
        if (buf.len >= (4u << 20) || i + 1 == n_old) {
            if (rr_copy_text(pg, buf.ptr, buf.len, err, sizeof err) != 0)
                die("copy", err);
            fa_buf_clear(&buf);
        }
    }
    if (n_old > 0)
        report("record rows (version 1)", n_old, now_s() - t0, thread_cpu_s() - c0, proc_cpu_s(be) - b0);

    /* replay */
    static const char script[] = "stream\n    |from()\n        .measurement('cpu')\n"
                                 "    |where(lambda: \"usage_idle\" < 50.0)\n";
    eng_dbrp_t dbrp = { FA_STR_LIT("telegraf"), FA_STR_LIT("autogen") };
    static const eng_env_t env = { 0 };
    eng_task_t *t = NULL;
    tick_err_t terr;
    memset(&terr, 0, sizeof terr);
    if (eng_task_new("bench", script, sizeof script - 1, &dbrp, 1, &env, &t, &terr) != 0)
        die("task", terr.msg);
    uint64_t want_pass = 0;
    for (uint32_t i = 0; i < n; i++)
        want_pass += eng_point_field(&b.points[i], FA_STR_LIT("usage_idle"))->v.f < 50.0;
    /* as faradd's replays: connections from a pool, kept between replays */
    rr_pool_t pool;
    rr_pool_init(&pool, dsn);
    static const char *const passes[] = { "replay, new connection", "replay, pooled connection",
                                          "replay, pooled connection" };
    for (int pass = 0; pass < 3; pass++) {
        feed_ctx_t fc = { t, 0 };
        uint64_t p0 = passed(t);
        /* the pooled connection the next read takes: its backend's CPU */
        int rbe = pool.n > 0 ? PQbackendPID(pool.idle[pool.n - 1]) : 0;
        b0 = rbe ? proc_cpu_s(rbe) : 0;
        long f0 = thread_faults();
        t0 = now_s();
        c0 = thread_cpu_s();
        int64_t got = rr_read_blocks(&pool, "bench", feed_chunk, &fc, NULL, err, sizeof err);
        double wall = now_s() - t0, cpu = thread_cpu_s() - c0;
        if (got != (int64_t)n || fc.fed != n || passed(t) - p0 != want_pass)
            die("replay", got < 0 ? err : "read back a different number of points, or where passed others");
        printf("%-28s %8" PRIu64 " points %6.2f s wall = %9.0f points/s; CPU per point: calling thread %.2f us", passes[pass],
               fc.fed, wall, fc.fed / wall, cpu * 1e6 / n);
        if (rbe)
            printf(", PostgreSQL backend %.2f us", (proc_cpu_s(rbe) - b0) * 1e6 / n);
        printf("; %ld page faults; where passed %" PRIu64 "\n", thread_faults() - f0, passed(t) - p0);
    }
    rr_pool_deinit(&pool);

    /* SQL over the view, which rebuilds version 1's rows from the blocks: a smaller recording */
    uint32_t n_view = n < 20000 ? n : 20000;
    rec_stage_clear(&st);
    for (uint32_t i = 0; i < n_view; i++)
        if (rec_stage_point(&st, &sm, b.db, b.rp, &b.points[i]) != 0)
            die("stage", "full");
    if (rr_write_stage(pg, "bench_view", &st, 0, &copy, err, sizeof err) != 0)
        die("write", err);
    t0 = now_s(), b0 = proc_cpu_s(be);
    PGresult *vres = PQexec(pg, "select count(*), sum((fields->>'usage_idle')::float8) from farad.recording_points"
                                " where recording_id = 'bench_view'");
    if (PQresultStatus(vres) != PGRES_TUPLES_OK || strtoul(PQgetvalue(vres, 0, 0), NULL, 10) != n_view)
        die("view", PQerrorMessage(pg));
    PQclear(vres);
    double vwall = now_s() - t0;
    printf("%-28s %8u points %6.2f s wall = %9.0f points/s; PostgreSQL backend %.1f us per point\n",
           "SQL over recording_points", n_view, vwall, n_view / vwall, (proc_cpu_s(be) - b0) * 1e6 / n_view);
    PQclear(PQexec(pg, "delete from farad.recording_blocks where recording_id = 'bench_view'"));
    /* one thread, the bench's connection: CPU of decoding + task, and of the backend */
    eng_batch_t rb;
    eng_batch_init(&rb, 16u << 20, 0);
    rec_read_out_t out;
    rec_blocks_rd_t *rd = NULL;
    uint64_t fed = 0;
    t0 = now_s(), c0 = thread_cpu_s(), b0 = proc_cpu_s(be);
    if (rec_blocks_open(pg, FA_STR_LIT("bench"), 0, -1, &rd, err, sizeof err) != 0)
        die("open", err);
    for (;;) {
        if (rec_blocks_next(rd, 32768, &rb, &out, err, sizeof err) != 0)
            die("read", err);
        if (out.eof)
            break;
        for (uint32_t i = 0; i < rb.n; i++)
            eng_task_point(t, rb.db, rb.rp, &rb.points[i]);
        fed += rb.n;
    }
    rec_blocks_close(rd);
    if (fed != n)
        die("replay", "one thread: read back a different number of points");
    report("replay blocks (1 thread)", fed, now_s() - t0, thread_cpu_s() - c0, proc_cpu_s(be) - b0);

    /* version-1 rows */
    fed = 0;
    t0 = now_s(), c0 = thread_cpu_s(), b0 = proc_cpu_s(be);
    for (int64_t from = 0; n_old > 0;) {
        if (rec_read_points(pg, FA_STR_LIT("bench_v1"), from, 8192, &rb, &out, err, sizeof err) != 0)
            die("read", err);
        for (uint32_t i = 0; i < rb.n; i++)
            eng_task_point(t, rb.db, rb.rp, &rb.points[i]);
        fed += rb.n;
        if (out.eof || rb.n == 0)
            break;
        from = out.next_seq;
    }
    if (fed != n_old)
        die("replay", "version 1: read back a different number of points");
    if (n_old > 0)
        report("replay rows (version 1)", fed, now_s() - t0, thread_cpu_s() - c0, proc_cpu_s(be) - b0);

    eng_task_free(t);
    eng_batch_deinit(&rb);
    eng_batch_deinit(&b);
    fa_buf_deinit(&buf);
    fa_buf_deinit(&copy);
    rec_stage_deinit(&st);
    PQclear(PQexec(pg, "delete from farad.recording_blocks where recording_id = 'bench'"));
    PQclear(PQexec(pg, "delete from farad.recording_points_v1 where recording_id = 'bench_v1'"));
    PQfinish(pg);
    return 0;
}
