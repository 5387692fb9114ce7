/* bench/bench_record.c - recording throughput into PostgreSQL through the store's COPY requests
 * (rec_copy_points: since schema version 3 columnar blocks, one segment per request, so small
 * requests make small blocks; bench_replay measures the recording path itself) and reading a
 * recording back in seq order (rec_read_points).
 *
 * Usage: bench_record [points, default 1000000] [points per batch, default 5000]
 * PostgreSQL: $FARAD_BENCH_PG_DSN, or else a private cluster (bench/bench_pg.h).
 *
 * Points look like Telegraf's cpu: 3 tags (host, cpu, region), 6 float fields and 1 int field.
 * Measured, wall clock:
 *   encode      rec_encode_points alone, one thread (version 1's COPY text encoder, for comparison)
 *   direct      rec_copy_points on the bench's own connection, CPU of client and backend
 *   store xN    COPY requests through N rec_store_t (N connections), up to 4 in flight each
 *   read        rec_read_points chunks of 10000 on the bench's own connection */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"
#include "base/mem.h"
#include "bench/bench_pg.h"
#include "recorder/recorder.h"

enum { N_BATCHES = 16 };

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

/* CPU seconds (user + system) a process has used: the PostgreSQL backend serving a connection. */
static double proc_cpu_s(int pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* fields after the command name */
    unsigned long ut = 0, st = 0;
    if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return 0;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static void die(const char *what, const char *why)
{
    fprintf(stderr, "bench_record: %s: %s\n", what, why);
    exit(1);
}

static fa_str_t arena_str(fa_arena_t *a, const char *s)
{
    size_t n = strlen(s);
    return fa_str(fa_arena_strndup(a, s, n), n);
}

static void make_batch(eng_batch_t *b, uint32_t n, uint32_t k)
{
    static const char *fields[] = { "usage_user", "usage_system", "usage_idle", "usage_iowait", "usage_irq",
                                    "usage_steal" };
    char tmp[64];

    eng_batch_init(b, 1 << 20, 0);
    b->db = FA_STR_LIT("telegraf");
    b->rp = FA_STR_LIT("autogen");
    for (uint32_t i = 0; i < n; i++) {
        eng_point_t *p = eng_batch_add(b);
        uint32_t h = (k * n + i) % 500;
        p->name = FA_STR_LIT("cpu");
        p->tags = FA_NEW(&b->arena, eng_tag_t, 3);
        p->n_tags = 3;
        snprintf(tmp, sizeof tmp, "cpu%u", i % 8);
        p->tags[0] = (eng_tag_t){ FA_STR_LIT("cpu"), arena_str(&b->arena, tmp) };
        snprintf(tmp, sizeof tmp, "web-%03u.example.com", h);
        p->tags[1] = (eng_tag_t){ FA_STR_LIT("host"), arena_str(&b->arena, tmp) };
        p->tags[2] = (eng_tag_t){ FA_STR_LIT("region"), h % 2 ? FA_STR_LIT("eu-west-1") : FA_STR_LIT("us-east-2") };
        p->fields = FA_NEW(&b->arena, eng_field_t, 7);
        p->n_fields = 7;
        for (int f = 0; f < 6; f++)
            p->fields[f] = (eng_field_t){ fa_str_c(fields[f]),
                                          { .type = ENG_FLOAT, .f = (double)((i * 7919u + (unsigned)f * 104729u) % 10000) / 100.0 } };
        p->fields[6] = (eng_field_t){ FA_STR_LIT("n_procs"), { .type = ENG_INT, .i = (int64_t)(i % 400) } };
        p->time = 1700000000000000000 + (int64_t)(k * n + i) * 10000000;
    }
}

/* ---- through the store, a few requests in flight ---- */

struct flight {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int in_flight;
    int failed;
    char err[320];
};

static void done(void *ud, rec_req_t *req)
{
    struct flight *f = ud;

    pthread_mutex_lock(&f->mu);
    if (req->rc != FA_OK && f->failed++ == 0)
        snprintf(f->err, sizeof f->err, "%s", req->err);
    f->in_flight--;
    pthread_cond_signal(&f->cv);
    pthread_mutex_unlock(&f->mu);
    rec_req_free(req);
}

static double bench_store(rec_store_t **stores, int n_stores, eng_batch_t *batches, uint64_t total, uint32_t per)
{
    struct flight f = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, "" };
    double t0 = now_s();

    for (uint64_t seq = 0, k = 0; seq < total; seq += per, k++) {
        pthread_mutex_lock(&f.mu);
        while (f.in_flight >= 4 * n_stores)
            pthread_cond_wait(&f.cv, &f.mu);
        f.in_flight++;
        pthread_mutex_unlock(&f.mu);
        rec_req_t *r = rec_req_new(REC_OP_COPY_POINTS, done, &f);
        r->in.copy.meta = (rec_copy_meta_t){ .recording_id = FA_STR_LIT("bench"), .first_seq = (int64_t)seq,
                                             .batch_seq = -1 };
        r->in.copy.batch = &batches[k % N_BATCHES];
        if (rec_store_submit_mpsc(stores[k % (uint64_t)n_stores], r) != FA_OK)
            die("submit", "queue full");
    }
    pthread_mutex_lock(&f.mu);
    while (f.in_flight > 0)
        pthread_cond_wait(&f.cv, &f.mu);
    pthread_mutex_unlock(&f.mu);
    double dt = now_s() - t0;
    if (f.failed)
        die("COPY through the store", f.err);
    return (double)total / dt;
}

static void exec_sql(PGconn *pg, const char *sql)
{
    PGresult *res = PQexec(pg, sql);
    if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
        die(sql, PQerrorMessage(pg));
    PQclear(res);
}

int main(int argc, char **argv)
{
    uint64_t total = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
    uint32_t per = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : 5000;
    fa_tune_malloc(); /* as faradd */
    char dsnbuf[512], err[320];
    eng_batch_t batches[N_BATCHES];
    fa_buf_t buf = FA_BUF_INIT;

    if (total == 0 || per == 0 || per > 1000000)
        die("arguments", "usage: bench_record [points] [points per batch]");
    total = (total + per - 1) / per * per;
    for (uint32_t k = 0; k < N_BATCHES; k++)
        make_batch(&batches[k], per, k);

    /* encode only */
    rec_copy_meta_t m = { .recording_id = FA_STR_LIT("bench"), .batch_seq = -1 };
    double t0 = thread_cpu_s();
    size_t bytes = 0;
    for (uint64_t seq = 0, k = 0; seq < total; seq += per, k++) {
        fa_buf_clear(&buf);
        m.first_seq = (int64_t)seq;
        if (rec_encode_points(&buf, &m, &batches[k % N_BATCHES]) != 0)
            die("encode", "failed");
        bytes += buf.len;
    }
    double enc = (double)total / (thread_cpu_s() - t0);
    const char *dump = getenv("FARAD_BENCH_DUMP"); /* the last batch's COPY text, for experiments */
    if (dump != NULL) {
        FILE *f = fopen(dump, "w");
        if (f == NULL || fwrite(buf.ptr, 1, buf.len, f) != buf.len || fclose(f) != 0)
            die(dump, "cannot write");
    }
    printf("encode: %.0f points per CPU-second on one thread (%.0f bytes of COPY text per point)\n", enc,
           (double)bytes / (double)total);

    const char *dsn = bench_pg_start(dsnbuf, sizeof dsnbuf);
    PGconn *pg = PQconnectdb(dsn);
    if (PQstatus(pg) != CONNECTION_OK)
        die(dsn, PQerrorMessage(pg));
    if (rec_migrate(pg, err, sizeof err) < 0)
        die("migrate", err);
    exec_sql(pg, "delete from farad.recording_blocks where recording_id = 'bench'");
    exec_sql(pg, "checkpoint");

    /* direct: encode + COPY on this thread, CPU of both sides measured */
    {
        int be = PQbackendPID(pg);
        double w0 = now_s(), c0 = thread_cpu_s(), b0 = proc_cpu_s(be);
        for (uint64_t seq = 0, k = 0; seq < total; seq += per, k++) {
            m.first_seq = (int64_t)seq;
            m.recording_id = FA_STR_LIT("bench-direct");
            if (rec_copy_points(pg, &m, &batches[k % N_BATCHES], &buf, err, sizeof err) != FA_OK)
                die("rec_copy_points", err);
        }
        double w = now_s() - w0, c = thread_cpu_s() - c0, b = proc_cpu_s(be) - b0;
        printf("direct: %.0f points/s wall; CPU per point: client %.2f us, backend %.2f us"
               " (= %.0f points per backend CPU-second)\n",
               (double)total / w, c * 1e6 / (double)total, b * 1e6 / (double)total, b > 0 ? (double)total / b : 0);
        exec_sql(pg, "delete from farad.recording_blocks where recording_id = 'bench-direct'");
    }

    /* one store (one connection), then two side by side */
    for (int n_stores = 1; n_stores <= 2; n_stores++) {
        rec_store_opts_t o = { .dsn = dsn, .queue_cap = 64 };
        rec_store_t *stores[2];
        for (int i = 0; i < n_stores; i++)
            if ((stores[i] = rec_store_new(&o, err, sizeof err)) == NULL)
                die("store", err);
        exec_sql(pg, "delete from farad.recording_blocks where recording_id = 'bench'");
        double rate = bench_store(stores, n_stores, batches, total, per);
        printf("store x%d: %.0f points/s into farad.recording_blocks (%" PRIu64 " points, %u per COPY)\n", n_stores,
               rate, total, per);
        for (int i = 0; i < n_stores; i++)
            rec_store_free(stores[i]);
    }

    /* read back in seq order, twice: the first read after COPY also sets every row's hint bits */
    eng_batch_t rb;
    eng_batch_init(&rb, 1 << 20, 0);
    for (int pass = 1; pass <= 2; pass++) {
        rec_read_out_t out;
        uint64_t n = 0;
        int be = PQbackendPID(pg);
        double c0 = thread_cpu_s(), b0 = proc_cpu_s(be);
        t0 = now_s();
        for (int64_t from = 0;;) {
            if (rec_read_points(pg, FA_STR_LIT("bench"), from, 10000, &rb, &out, err, sizeof err) != FA_OK)
                die("read", err);
            n += out.n;
            from = out.next_seq;
            if (out.eof || out.n == 0)
                break;
        }
        double rd = (double)n / (now_s() - t0);
        double rc = thread_cpu_s() - c0, rb_cpu = proc_cpu_s(be) - b0;
        printf("read %s: %.0f points/s wall back in seq order (%" PRIu64 " points, chunks of 10000); CPU per"
               " point: client %.2f us, backend %.2f us\n", pass == 1 ? "(first)" : "(again)", rd, n,
               rc * 1e6 / (double)n, rb_cpu * 1e6 / (double)n);
        if (n != total)
            die("read", "point count differs from what was written");
    }
    PGresult *res = PQexec(pg, "select pg_size_pretty(pg_total_relation_size('farad.recording_blocks'))");
    if (PQresultStatus(res) == PGRES_TUPLES_OK)
        printf("table + indexes: %s\n", PQgetvalue(res, 0, 0));
    PQclear(res);
    exec_sql(pg, "delete from farad.recording_blocks where recording_id = 'bench'");
    PQfinish(pg);
    eng_batch_deinit(&rb);
    for (uint32_t k = 0; k < N_BATCHES; k++)
        eng_batch_deinit(&batches[k]);
    fa_buf_deinit(&buf);
    return 0;
}
