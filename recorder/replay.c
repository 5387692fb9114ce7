/* recorder/replay.c - job threads: query recordings, and replays (from a recording in seq order,
 * or replay-live query) through the task alone (engine/runner.h when capturing, else a task with
 * the daemon's env), never touching the live task master. */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "base/log.h"
#include "engine/runner.h"
#include "recorder/rr.h"

enum { CHUNK = 8192, CAPTURE_FLUSH = 1 << 20 };


/* ---- query recordings ---- */

struct order_ctx {
    const eng_point_t *pts;
};

static int by_time(const void *x, const void *y, void *ud)
{
    const struct order_ctx *c = ud;
    uint32_t i = *(const uint32_t *)x, j = *(const uint32_t *)y;
    int64_t a = c->pts[i].time, b = c->pts[j].time;
    return a < b ? -1 : a > b ? 1 : (i > j) - (i < j);
}

/* Indexes of b's points in time order (stable). NULL when out of memory. */
static uint32_t *time_order(const eng_batch_t *b)
{
    uint32_t *o = malloc(sizeof *o * (b->n ? b->n : 1));
    if (o == NULL)
        return NULL;
    for (uint32_t i = 0; i < b->n; i++)
        o[i] = i;
    struct order_ctx c = { b->points };
    qsort_r(o, b->n, sizeof *o, by_time, &c);
    return o;
}

/* The group of a series: its tags as "k=v,k=v" (sorted). */
static void group_of(const eng_point_t *p, fa_buf_t *out)
{
    fa_buf_clear(out);
    for (uint32_t i = 0; i < p->n_tags; i++)
        fa_buf_appendf(out, "%s%.*s=%.*s", i ? "," : "", (int)p->tags[i].key.len, p->tags[i].key.ptr,
                       (int)p->tags[i].value.len, p->tags[i].value.ptr);
    fa_buf_cstr(out);
}

static int write_query_points(rr_writer_t *w, const char *type, eng_batch_t *b, const uint32_t *series_of)
{
    eng_batch_t one;
    memset(&one, 0, sizeof one);
    one.db = b->db;
    one.rp = b->rp;
    rec_copy_meta_t m = { .batch_seq = -1 };
    if (strcmp(type, "stream") == 0) {
        uint32_t *o = time_order(b);
        if (o == NULL)
            return FA_ENOMEM;
        int rc = 0;
        for (uint32_t k = 0; k < b->n && rc == 0; k++) {
            one.points = &b->points[o[k]];
            one.n = 1;
            rc = rr_writer_add(w, &m, &one);
        }
        free(o);
        return rc;
    }
    /* batch: one batch per series, its points contiguous */
    fa_buf_t g = FA_BUF_INIT;
    int rc = 0;
    for (uint32_t i = 0; i < b->n && rc == 0;) {
        uint32_t j = i + 1;
        while (j < b->n && series_of[j] == series_of[i])
            j++;
        group_of(&b->points[i], &g);
        m = (rec_copy_meta_t){ .batch_seq = series_of[i], .group = fa_str(g.ptr, g.len), .query_node = 0 };
        one.points = &b->points[i];
        one.n = j - i;
        rc = rr_writer_add(w, &m, &one);
        i = j;
    }
    fa_buf_deinit(&g);
    return rc;
}

void *rr_query_recording_main(void *arg)
{
    rr_job_t *j = arg;
    rec_rr_t *r = j->rr;
    rr_item_t *it = j->item;
    char err[512];
    eng_batch_t b;
    uint32_t *series_of = NULL;
    rr_writer_t w;
    rr_writer_init(&w, it->id);
    eng_batch_init(&b, 1 << 20, 0);
    PGconn *pg = NULL;
    if (rr_query(r->o.upstream_url, j->query, &b, &series_of, err, sizeof err) != 0) {
        rr_finish(r, it, true, "%s", err);
        goto Exit;
    }
    if (write_query_points(&w, it->type, &b, series_of) != 0) {
        rr_finish(r, it, true, "encoding %u points: out of memory", b.n);
        goto Exit;
    }
    if ((pg = rr_pool_get(&r->pool, err, sizeof err)) == NULL || rr_writer_flush(&w, pg, err, sizeof err) != 0) {
        rr_finish(r, it, true, "%s", err);
        goto Exit;
    }
    pthread_mutex_lock(&r->mu);
    it->points = w.points;
    it->size = w.bytes;
    pthread_mutex_unlock(&r->mu);
    rr_finish(r, it, false, NULL);
    if (rr_save(pg, r, it, err, sizeof err) != 0)
        FA_LOG(FA_WARN, "recording %s: %s (retried by the recorder)", it->id, err);
Exit:
    rr_pool_put(&r->pool, pg);
    free(series_of);
    rr_writer_deinit(&w);
    eng_batch_deinit(&b);
    atomic_store(&j->done, true);
    return NULL;
}

/* ---- replays ---- */

typedef struct replay {
    rr_job_t *job;
    rec_rr_t *rr;
    rr_item_t *it;
    eng_task_t *task;
    eng_runner_t runner;
    bool capture;
    PGconn *pg;
    fa_buf_t out;            /* capture: COPY rows for farad.replay_outputs */
    int64_t out_seq;
    char err[512];
    bool failed;
    int64_t first, shift, start_mono;
    bool started;
    uint64_t n_points;
} replay_t;


static void capture_flush(replay_t *x)
{
    if (x->out.len == 0 || x->failed)
        return;
    if (rr_copy_in(x->pg, "farad.replay_outputs", "replay_id, seq, kind, time, payload", x->out.ptr, x->out.len, x->err,
                   sizeof x->err) != 0)
        x->failed = true;
    fa_buf_clear(&x->out);
}

static void on_emit(void *ud, eng_node_t *n, fa_str_t kind, fa_str_t text)
{
    replay_t *x = ud;
    bool point = fa_str_eq_c(kind, "point"), alert = fa_str_eq_c(kind, "alert");
    if (!point && !alert)
        return; /* log and httpOut lines are not kept */
    char t[64];
    int64_t ns = x->task->now;
    time_t s = (time_t)(ns / 1000000000);
    struct tm tm;
    gmtime_r(&s, &tm);
    size_t l = strftime(t, sizeof t, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(t + l, sizeof t - l, ".%06ldZ", (long)((ns % 1000000000) / 1000));
    fa_buf_appendf(&x->out, "%s\t%" PRId64 "\t%s\t%s\t", x->it->id, x->out_seq++, point ? "point" : "alert", t);
    if (point) {
        json_t *o = json_pack("{s:s,s:s%}", "node", n->name, "line", text.ptr ? text.ptr : "", text.len);
        char *js = json_dumps(o, JSON_COMPACT);
        rr_copy_escape(&x->out, fa_str_c(js));
        free(js);
        json_decref(o);
    } else {
        rr_copy_escape(&x->out, text);
    }
    fa_buf_append(&x->out, "\n", 1);
    if (x->out.len >= CAPTURE_FLUSH)
        capture_flush(x);
}

/* One point into the task: time shifted, paced by the clock. */
static void feed(replay_t *x, fa_str_t db, fa_str_t rp, eng_point_t *p)
{
    if (!x->started) {
        x->started = true;
        x->first = p->time;
        x->shift = x->it->rec_time ? 0 : rr_now() - p->time;
        x->start_mono = rr_mono();
    }
    if (strcmp(x->it->clock, "real") == 0)
        rr_sleep_until(x->start_mono + (p->time - x->first));
    p->time += x->shift;
    eng_task_point(x->task, db, rp, p);
    x->n_points++;
}

static json_t *node_stats(const eng_task_t *t)
{
    json_t *ns = json_object();
    for (uint32_t i = 0; i < t->n_nodes; i++) {
        const eng_node_t *n = &t->nodes[i];
        uint64_t samples = atomic_load(&n->stats.exec_samples);
        json_t *o = json_pack("{s:I,s:I,s:I,s:I,s:I}", "collected", (json_int_t)atomic_load(&n->stats.collected),
                              "emitted", (json_int_t)atomic_load(&n->stats.emitted), "errors",
                              (json_int_t)atomic_load(&n->stats.errors), "working_cardinality",
                              (json_int_t)atomic_load(&n->stats.cardinality), "avg_exec_time_ns",
                              (json_int_t)(samples ? atomic_load(&n->stats.exec_ns) / samples : 0));
        for (unsigned k = 0; n->ops->counters != NULL && n->ops->counters[k] != NULL && k < 8; k++)
            json_object_set_new(o, n->ops->counters[k], json_integer((json_int_t)atomic_load(&n->stats.own[k])));
        json_object_set_new(ns, n->name, o);
    }
    return ns;
}

/* Points per chunk handed to a replay. */
enum { READ_CHUNK = 32768 };

static void progress(replay_t *x, int64_t total)
{
    pthread_mutex_lock(&x->rr->mu);
    x->it->progress = total > 0 ? (double)x->n_points / (double)total : 0;
    pthread_mutex_unlock(&x->rr->mu);
}

int64_t rr_read_blocks(rr_pool_t *pool, const char *recording, rr_chunk_fn each, void *ud, atomic_bool *cancel,
                       char *err, size_t errlen)
{
    PGconn *pg = rr_pool_get(pool, err, errlen);
    if (pg == NULL)
        return -1;
    rec_blocks_rd_t *rd = NULL;
    eng_batch_t b;
    rec_read_out_t out;
    int64_t n = 0;
    eng_batch_init(&b, 16u << 20, 0);
    int rc = rec_blocks_open(pg, fa_str_c(recording), 0, -1, &rd, err, errlen);
    while (rc == FA_OK && (cancel == NULL || !atomic_load(cancel))) {
        rc = rec_blocks_next(rd, READ_CHUNK, &b, &out, err, errlen);
        if (rc != FA_OK || out.eof)
            break;
        n += b.n;
        if (!each(ud, &b, &out))
            break;
    }
    rec_blocks_close(rd);
    eng_batch_deinit(&b);
    rr_pool_put(pool, pg);
    return rc == FA_OK ? n : -1;
}

typedef struct replay_chunks {
    replay_t *x;
    int64_t total;
} replay_chunks_t;

static bool replay_chunk(void *ud, eng_batch_t *b, const rec_read_out_t *out)
{
    (void)out; /* stream replays: the batch metadata is not used */
    replay_chunks_t *c = ud;
    replay_t *x = c->x;
    if (atomic_load(&x->it->cancel)) {
        snprintf(x->err, sizeof x->err, "replay stopped: deleted or faradd stopping");
        x->failed = true;
        return false;
    }
    for (uint32_t i = 0; i < b->n; i++)
        feed(x, b->db, b->rp, &b->points[i]);
    progress(x, c->total);
    return true;
}

/* The recording's blocks (schema version 3) in seq order; false when it has none. */
static bool replay_blocks(replay_t *x, int64_t total)
{
    replay_chunks_t c = { x, total };
    char err[512];
    int64_t n = rr_read_blocks(&x->rr->pool, x->it->recording, replay_chunk, &c, &x->it->cancel, err,
                               sizeof err);
    if (n < 0 && !x->failed) {
        snprintf(x->err, sizeof x->err, "%s", err);
        x->failed = true;
    }
    return x->failed || n > 0;
}

/* The recording's points in seq order: its blocks, or else (a recording made before schema
 * version 3) its rows, chunk by chunk. */
static void replay_recording(replay_t *x, int64_t total)
{
    if (replay_blocks(x, total))
        return;
    eng_batch_t b;
    rec_read_out_t out;
    eng_batch_init(&b, 1 << 20, 0);
    for (int64_t seq = 0;;) {
        if (atomic_load(&x->it->cancel)) {
            snprintf(x->err, sizeof x->err, "replay stopped: deleted or faradd stopping");
            x->failed = true;
            break;
        }
        if (rec_read_points(x->pg, fa_str_c(x->it->recording), seq, CHUNK, &b, &out, x->err, sizeof x->err) != 0) {
            x->failed = true;
            break;
        }
        for (uint32_t i = 0; i < b.n; i++)
            feed(x, b.db, b.rp, &b.points[i]);
        progress(x, total);
        if (out.eof || b.n == 0)
            break;
        seq = out.next_seq;
    }
    eng_batch_deinit(&b);
}

static void replay_query(replay_t *x)
{
    eng_batch_t b;
    eng_batch_init(&b, 1 << 20, 0);
    if (rr_query(x->rr->o.upstream_url, x->job->query, &b, NULL, x->err, sizeof x->err) != 0) {
        x->failed = true;
    } else {
        uint32_t *o = time_order(&b);
        for (uint32_t k = 0; o != NULL && k < b.n && !atomic_load(&x->it->cancel); k++)
            feed(x, b.db, b.rp, &b.points[o[k]]);
        free(o);
    }
    eng_batch_deinit(&b);
}

static int64_t recording_points(PGconn *pg, const char *id)
{
    const char *p[1] = { id };
    PGresult *res = PQexecParams(pg, "select point_count from farad.recordings where id = $1", 1, NULL, p, NULL, NULL, 0);
    int64_t n = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : 0;
    PQclear(res);
    return n;
}

/* Whether the recording's type is the task's; if not, false with the error in x->err. Kapacitor
 * 1.x accepts the replay (201) and fails it on its file format ("gzip: invalid header"), which
 * says nothing here; farad fails it the same way with the text of Kapacitor's earlier versions. */
static bool recording_fits(replay_t *x)
{
    bool batch_task = x->task->n_nodes != 0 && strcmp(x->task->nodes[0].spec->type, "batch") == 0;
    bool batch_rec = rr_recording_is_batch(x->pg, x->it->recording);
    if (batch_task == batch_rec)
        return true;
    snprintf(x->err, sizeof x->err, "%s", RR_WRONG_TYPE);
    return false;
}

void *rr_replay_main(void *arg)
{
    rr_job_t *j = arg;
    replay_t x;
    memset(&x, 0, sizeof x);
    x.job = j;
    x.rr = j->rr;
    x.it = j->item;
    x.capture = x.it->capture;
    tick_err_t terr;
    memset(&terr, 0, sizeof terr);
    int64_t t0 = rr_mono();
    x.pg = rr_pool_get(&x.rr->pool, x.err, sizeof x.err);
    if (x.pg == NULL && (x.capture || (j->query == NULL && !j->live_batch))) {
        x.failed = true;
        goto Done;
    }
    int rc;
    if (x.capture) {
        rc = eng_runner_init(&x.runner, x.it->task, j->script, strlen(j->script), j->dbrps, j->n_dbrps, on_emit, &x, &terr);
        x.task = x.runner.task;
    } else {
        const eng_env_t *env = x.rr->o.env;
        rc = eng_task_new(x.it->task, j->script, strlen(j->script), j->dbrps, j->n_dbrps, env, &x.task, &terr);
        if (rc != 0 && j->n_dbrps != 0)
            rc = eng_task_new(x.it->task, j->script, strlen(j->script), NULL, 0, env, &x.task, &terr);
    }
    if (rc != 0) {
        snprintf(x.err, sizeof x.err, "task %s: %s", x.it->task, terr.msg);
        x.failed = true;
        x.task = NULL;
        goto Done;
    }
    if (j->live_batch)
        x.failed = rr_replay_live_batch(x.rr, j, x.task, &x.n_points, x.err, sizeof x.err) != 0;
    else if (j->query != NULL)
        replay_query(&x);
    else if (!recording_fits(&x))
        x.failed = true;
    else if (rr_recording_is_batch(x.pg, x.it->recording))
        x.failed = rr_replay_batches(x.rr, x.it, x.pg, x.task, recording_points(x.pg, x.it->recording), &x.n_points,
                                     x.err, sizeof x.err) != 0;
    else
        replay_recording(&x, recording_points(x.pg, x.it->recording));
    if (x.capture)
        capture_flush(&x);
    double secs = (double)(rr_mono() - t0) / 1e9;
    json_t *stats = json_pack("{s:{s:f},s:o}", "task-stats", "throughput", secs > 0 ? (double)x.n_points / secs : 0.0,
                              "node-stats", node_stats(x.task));
    char *st = json_dumps(stats, JSON_COMPACT);
    json_decref(stats);
    pthread_mutex_lock(&x.rr->mu);
    free(x.it->stats);
    x.it->stats = st;
    x.it->points = (int64_t)x.n_points;
    pthread_mutex_unlock(&x.rr->mu);
Done:
    if (x.capture && x.task != NULL)
        eng_runner_deinit(&x.runner);
    else if (x.task != NULL)
        eng_task_free(x.task);
    if (x.failed)
        rr_finish(x.rr, x.it, true, "%s", x.err);
    else
        rr_finish(x.rr, x.it, false, NULL);
    FA_LOG(FA_INFO, "replay %s of task %s: %s, %" PRIu64 " points %s", x.it->id, x.it->task, x.it->status, x.n_points,
           x.it->error);
    char err[512];
    if (x.pg != NULL && rr_save(x.pg, x.rr, x.it, err, sizeof err) != 0)
        FA_LOG(FA_WARN, "replay %s: %s (retried by the recorder)", x.it->id, err);
    rr_pool_put(&x.rr->pool, x.pg);
    fa_buf_deinit(&x.out);
    atomic_store(&j->done, true);
    return NULL;
}
