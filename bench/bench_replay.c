/* bench/bench_replay.c - record and replay throughput (issue 6), on the code paths they use.
 *
 * Usage: bench_replay [points, default 1000000]
 * PostgreSQL: $FARAD_BENCH_PG_DSN, or else a private cluster started with scripts/pg.sh under
 * /tmp (FARAD_PG_FAST=1: fsync off) and removed at the end.
 *
 *   record   what a stream recording does per point: the sink encodes each point on its own as a
 *            COPY row (rec_encode_points of one point), the recorder thread COPYs the buffer
 *            every 4 MiB (rr_copy_text); points/s over both, wall clock, one thread each way
 *            would overlap them: this is the serial (pessimistic) figure.
 *   replay   what a replay does: rec_read_points chunks of 8192 in seq order, each point through
 *            eng_task_point of a `stream|from().measurement('cpu')|where(lambda: "usage_idle" < 50.0)`
 *            task, twice (the first read after a COPY also sets the rows' hint bits). Points look like Telegraf's cpu (3 tags, 6 float fields, 1 int field). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"
#include "engine/task.h"
#include "recorder/rr.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
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

static void cluster(char *dsn, size_t len, char *dir)
{
    const char *env = getenv("FARAD_BENCH_PG_DSN");
    char cmd[512];
    if (env != NULL && *env) {
        snprintf(dsn, len, "%s", env);
        dir[0] = '\0';
        return;
    }
    if (mkdtemp(dir) == NULL)
        die("mkdtemp", "failed");
    snprintf(cmd, sizeof cmd, "FARAD_PG_FAST=1 bash %s/scripts/pg.sh start %s", FARAD_SOURCE_DIR, dir);
    FILE *p = popen(cmd, "r");
    if (p == NULL || fgets(dsn, (int)len, p) == NULL)
        die(cmd, "no DSN printed");
    pclose(p);
    dsn[strcspn(dsn, "\n")] = '\0';
}

int main(int argc, char **argv)
{
    uint32_t n = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 1000000;
    char dsn[512], dir[] = "/tmp/farad-bench-replay-XXXXXX", err[512];
    cluster(dsn, sizeof dsn, dir);
    PGconn *pg = rr_connect(dsn, err, sizeof err);
    if (pg == NULL)
        die("connect", err);
    PQclear(PQexec(pg, "delete from farad.recording_points where recording_id = 'bench'"));

    eng_batch_t b;
    eng_batch_init(&b, 1 << 20, 0);
    fill(&b, n);

    /* record: per-point encoding as the sink does, COPY every 4 MiB */
    fa_buf_t buf = FA_BUF_INIT;
    if (fa_buf_reserve(&buf, 8u << 20) != 0)
        die("buffer", "out of memory");
    eng_batch_t one;
    memset(&one, 0, sizeof one);
    one.db = b.db;
    one.rp = b.rp;
    one.n = 1;
    int be = PQbackendPID(pg);
    double t0 = now_s(), enc = 0, c0 = thread_cpu_s(), b0 = proc_cpu_s(be);
    for (uint32_t i = 0; i < n; i++) {
        double e0 = now_s();
        rec_copy_meta_t m = { .recording_id = FA_STR_LIT("bench"), .first_seq = i, .batch_seq = -1 };
        one.points = &b.points[i];
        if (rec_encode_points(&buf, &m, &one) != 0)
            die("encode", "failed");
        enc += now_s() - e0;
        if (buf.len >= (4u << 20) || i + 1 == n) {
            if (rr_copy_text(pg, buf.ptr, buf.len, err, sizeof err) != 0)
                die("copy", err);
            fa_buf_clear(&buf);
        }
    }
    double rec_s = now_s() - t0, rec_c = thread_cpu_s() - c0, rec_b = proc_cpu_s(be) - b0;
    printf("record: %u points in %.2f s wall = %.0f points/s; CPU per point: farad %.2f us (encoding %.2f us wall),"
           " PostgreSQL backend %.2f us; %.0f points per backend CPU-second\n",
           n, rec_s, n / rec_s, rec_c * 1e6 / n, enc * 1e6 / n, rec_b * 1e6 / n, rec_b > 0 ? n / rec_b : 0);

    /* replay: read back in seq order through a from|where task */
    static const char script[] = "stream\n    |from()\n        .measurement('cpu')\n"
                                 "    |where(lambda: \"usage_idle\" < 50.0)\n";
    eng_dbrp_t dbrp = { FA_STR_LIT("telegraf"), FA_STR_LIT("autogen") };
    static const eng_env_t env = { 0 };
    eng_task_t *t = NULL;
    tick_err_t terr;
    memset(&terr, 0, sizeof terr);
    if (eng_task_new("bench", script, sizeof script - 1, &dbrp, 1, &env, &t, &terr) != 0)
        die("task", terr.msg);
    eng_batch_t rb;
    eng_batch_init(&rb, 1 << 20, 0);
    rec_read_out_t out;
    for (int pass = 1; pass <= 2; pass++) {
    uint64_t fed = 0;
    double read_s = 0, run_s = 0;
    t0 = now_s();
    c0 = thread_cpu_s();
    b0 = proc_cpu_s(be);
    double run_c = 0;
    for (int64_t seq = 0;;) {
        double r0 = now_s();
        if (rec_read_points(pg, FA_STR_LIT("bench"), seq, 8192, &rb, &out, err, sizeof err) != 0)
            die("read", err);
        double r1 = now_s(), rc1 = thread_cpu_s();
        for (uint32_t i = 0; i < rb.n; i++)
            eng_task_point(t, rb.db, rb.rp, &rb.points[i]);
        fed += rb.n;
        read_s += r1 - r0;
        run_s += now_s() - r1;
        run_c += thread_cpu_s() - rc1;
        if (out.eof || rb.n == 0)
            break;
        seq = out.next_seq;
    }
    double rep_s = now_s() - t0, rep_c = thread_cpu_s() - c0, rep_b = proc_cpu_s(be) - b0;
    uint64_t passed = atomic_load(&t->nodes[t->n_nodes - 1].stats.emitted) / (uint64_t)pass;
    printf("replay (pass %d): %" PRIu64 " points in %.2f s wall = %.0f points/s (reading %.0f points/s wall, task %.0f points/s wall);"
           " CPU per point: farad %.2f us (task %.2f us = %.0f points per CPU-second), backend %.2f us;"
           " where passed %" PRIu64 "\n",
           pass, fed, rep_s, fed / rep_s, fed / read_s, fed / run_s, rep_c * 1e6 / fed, run_c * 1e6 / fed,
           run_c > 0 ? fed / run_c : 0, rep_b * 1e6 / fed, passed);
    if (fed != n)
        die("replay", "read back a different number of points");
    }
    eng_task_free(t);
    eng_batch_deinit(&rb);
    eng_batch_deinit(&b);
    fa_buf_deinit(&buf);
    PQclear(PQexec(pg, "delete from farad.recording_points where recording_id = 'bench'"));
    PQfinish(pg);
    if (dir[0] && strchr(dir, 'X') == NULL) {
        char cmd[512];
        snprintf(cmd, sizeof cmd, "bash %s/scripts/pg.sh stop %s >/dev/null && rm -rf %s", FARAD_SOURCE_DIR, dir, dir);
        if (system(cmd) != 0)
            fprintf(stderr, "bench_replay: could not stop/remove %s\n", dir);
    }
    return 0;
}
