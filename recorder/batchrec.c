/* recorder/batchrec.c - batch recordings (a batch task's queries run upstream over a range, every
 * batch stored with its query node, group and tmax), replays of them (each batch back to its query
 * node's children, as a batch), and replay-live batch (the queries straight into the task).
 *
 * Points go through rr_writer (the storage format is writer.c's business); the batches' own rows
 * (bounds of their query run, tmax) go into farad.recording_batches. Job threads only. */
#include <curl/curl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "base/log.h"
#include "engine/batchquery.h"
#include "engine/group.h"
#include "recorder/rr.h"

enum { MAX_BODY = 256 << 20, FLUSH_BYTES = 8 << 20, CHUNK = 8192 };

static const eng_env_t quiet_env = { 0 };


/* ---- the task ---- */

/* Builds the task (the body's dbrps, else the script's own). 0, or -1 with err. */
static int build_task(const char *id, const char *script, const eng_dbrp_t *dbrps, uint32_t n_dbrps,
                      const eng_env_t *env, eng_task_t **t, char *err, size_t errlen)
{
    tick_err_t terr;
    memset(&terr, 0, sizeof terr);
    if (eng_task_new(id, script, strlen(script), dbrps, n_dbrps, env, t, &terr) == 0)
        return 0;
    if (n_dbrps != 0 && eng_task_new(id, script, strlen(script), NULL, 0, env, t, &terr) == 0)
        return 0;
    snprintf(err, errlen, "task %s: %s", id, terr.msg);
    return -1;
}

int rr_task_type(const char *id, const char *script, const eng_dbrp_t *dbrps, uint32_t n_dbrps, char *type, char *err,
                 size_t errlen)
{
    eng_task_t *t = NULL;
    if (build_task(id, script, dbrps, n_dbrps, &quiet_env, &t, err, errlen) != 0)
        return -1;
    snprintf(type, 8, "%s", t->n_nodes != 0 && strcmp(t->nodes[0].spec->type, "batch") == 0 ? "batch" : "stream");
    eng_task_free(t);
    return 0;
}

bool rr_recording_is_batch(PGconn *pg, const char *id)
{
    const char *p[1] = { id };
    PGresult *res = PQexecParams(pg, "select type from farad.recordings where id = $1", 1, NULL, p, NULL, NULL, 0);
    bool batch = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "batch") == 0;
    PQclear(res);
    return batch;
}

/* ---- upstream queries ---- */

typedef struct fetcher {
    const char *url;
    CURL *h;
    rr_item_t *it;           /* its cancel flag stops the runs */
} fetcher_t;

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    fa_buf_t *b = ud;
    if (b->len + sz * n > MAX_BODY || fa_buf_append(b, p, sz * n) != 0)
        return 0;
    return sz * n;
}

/* libcurl's progress callback: a query in flight is aborted once the job is cancelled. */
static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    const fetcher_t *f = ud;
    return atomic_load(&f->it->cancel) ? 1 : 0;
}

/* eng_query_fn: GET <url>/query?epoch=ns&db=<the source's db>&q=<q>, the JSON into body. */
static int fetch(void *ud, const eng_node_t *n, const char *q, fa_buf_t *body, char *err, size_t errlen)
{
    fetcher_t *f = ud;
    if (atomic_load(&f->it->cancel)) {
        snprintf(err, errlen, "stopped: deleted or faradd stopping");
        return -1;
    }
    if (f->h == NULL && (f->h = curl_easy_init()) == NULL) {
        snprintf(err, errlen, "cannot start libcurl");
        return -1;
    }
    const eng_query_t *eq = eng_query_of(n);
    fa_str_t db = eq != NULL && eq->n_sources != 0 ? eq->sources[0].db : FA_STR_NULL;
    char *eqs = curl_easy_escape(f->h, q, 0), *edb = curl_easy_escape(f->h, db.ptr ? db.ptr : "", (int)db.len);
    fa_buf_t u = FA_BUF_INIT;
    size_t ul = strlen(f->url);
    fa_buf_appendf(&u, "%.*s/query?epoch=ns&db=%s&q=%s", (int)(ul && f->url[ul - 1] == '/' ? ul - 1 : ul), f->url,
                   edb ? edb : "", eqs ? eqs : "");
    curl_free(eqs);
    curl_free(edb);
    curl_easy_reset(f->h);
    curl_easy_setopt(f->h, CURLOPT_URL, fa_buf_cstr(&u));
    curl_easy_setopt(f->h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(f->h, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(f->h, CURLOPT_TIMEOUT, 300L);
    curl_easy_setopt(f->h, CURLOPT_CONNECTTIMEOUT, 5L);
    curl_easy_setopt(f->h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(f->h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(f->h, CURLOPT_XFERINFODATA, f);
    curl_easy_setopt(f->h, CURLOPT_NOPROGRESS, 0L);
    CURLcode cc = curl_easy_perform(f->h);
    long status = 0;
    curl_easy_getinfo(f->h, CURLINFO_RESPONSE_CODE, &status);
    int rc = 0;
    if (cc == CURLE_ABORTED_BY_CALLBACK) {
        snprintf(err, errlen, "stopped: deleted or faradd stopping");
        rc = -1;
    } else if (cc != CURLE_OK) {
        snprintf(err, errlen, "GET %.*s/query: %s", (int)ul, f->url, curl_easy_strerror(cc));
        rc = -1;
    } else if (status != 200 && strstr(fa_buf_cstr(body), "\"error\"") == NULL) {
        snprintf(err, errlen, "GET %.*s/query answered %ld", (int)ul, f->url, status);
        rc = -1;
    } /* else an error inside the answer: the engine reads it and fails the run with its text */
    fa_buf_deinit(&u);
    return rc;
}

/* ---- batch recordings ---- */

typedef struct recorder {
    rr_job_t *job;
    rr_item_t *it;
    eng_task_t *task;
    PGconn *pg;
    rr_writer_t w;
    fa_buf_t batches;        /* COPY rows for farad.recording_batches */
    fa_buf_t group;
    int64_t next_batch;
    char err[512];
    bool failed;
} recorder_t;


/* COPY of the batch rows gathered so far. */
static int copy_batches(recorder_t *x)
{
    int rc = x->batches.len == 0 ? 0
                                 : rr_copy_in(x->pg, "farad.recording_batches",
                                              "recording_id, batch_seq, query_node, batch_group, measurement, start_ns,"
                                              " stop_ns, tmax_ns, points",
                                              x->batches.ptr, x->batches.len, x->err, sizeof x->err);
    fa_buf_clear(&x->batches);
    return rc;
}

/* Points first, then the batches' rows (a batch row never names points that are not there). */
static int rec_flush(recorder_t *x)
{
    if (rr_writer_flush(&x->w, x->pg, x->err, sizeof x->err) != 0 || copy_batches(x) != 0)
        return -1;
    pthread_mutex_lock(&x->job->rr->mu);
    x->it->points = x->w.points;
    x->it->size = x->w.bytes;
    pthread_mutex_unlock(&x->job->rr->mu);
    return 0;
}

/* db.rp of a query node's data: its first source's, the rp from the task's dbrps when not written. */
static void node_dbrp(const eng_node_t *n, fa_str_t *db, fa_str_t *rp)
{
    const eng_query_t *q = eng_query_of(n);
    *db = q->sources[0].db;
    *rp = q->sources[0].rp;
    for (uint32_t i = 0; rp->len == 0 && i < n->task->n_dbrps; i++)
        if (fa_str_eq(n->task->dbrps[i].db, *db))
            *rp = n->task->dbrps[i].rp;
    if (rp->len == 0)
        *rp = fa_str_c("autogen");
}

/* eng_query_tap_fn: one batch into the writer and its row. */
static void rec_tap(void *ud, eng_node_t *n, uint32_t index, const eng_rows_t *b, int64_t start, int64_t stop)
{
    recorder_t *x = ud;
    if (x->failed)
        return;
    eng_batch_t one;
    memset(&one, 0, sizeof one);
    node_dbrp(n, &one.db, &one.rp);
    one.points = b->points;
    one.n = b->n;
    fa_buf_clear(&x->group);
    eng_point_t key = { .name = b->name, .tags = b->tags, .n_tags = b->n_tags };
    fa_str_t g = eng_group_string(&key, b->dims, &x->group);
    g = fa_str(g.ptr ? g.ptr : "", g.len);
    int64_t seq = x->next_batch++;
    rec_copy_meta_t m = { .batch_seq = seq, .group = g, .query_node = (int32_t)index };
    /* a batch without points (a series whose rows were all null) only gets its row, as Kapacitor's
     * recording keeps it; replays skip it, as Kapacitor's does */
    if (b->n != 0 && rr_writer_add(&x->w, &m, &one) != 0) {
        snprintf(x->err, sizeof x->err, "batch %" PRId64 " of %s (%u points): too big or out of memory", seq, n->name, b->n);
        x->failed = true;
        return;
    }
    rr_copy_escape(&x->batches, fa_str_c(x->it->id));
    fa_buf_appendf(&x->batches, "\t%" PRId64 "\t%u\t", seq, index);
    rr_copy_escape(&x->batches, g);
    fa_buf_append_c(&x->batches, "\t");
    rr_copy_escape(&x->batches, b->name);
    fa_buf_appendf(&x->batches, "\t%" PRId64 "\t%" PRId64 "\t%" PRId64 "\t%u\n", start, stop, b->tmax, b->n);
    if (rr_writer_buffered(&x->w) >= FLUSH_BYTES && rec_flush(x) != 0)
        x->failed = true;
}

typedef struct rec_ctx {
    recorder_t *x;
    fetcher_t f;
    int64_t start, stop;
} rec_ctx_t;

/* eng_query_fn: a failed tap ends the recording at the next run. */
static int rec_fetch(void *ud, const eng_node_t *n, const char *q, fa_buf_t *body, char *err, size_t errlen)
{
    rec_ctx_t *c = ud;
    if (c->x->failed) {
        snprintf(err, errlen, "%s", c->x->err);
        return -1;
    }
    return fetch(&c->f, n, q, body, err, errlen);
}

static void rec_tap_ctx(void *ud, eng_node_t *n, uint32_t index, const eng_rows_t *b, int64_t start, int64_t stop)
{
    rec_ctx_t *c = ud;
    rec_tap(c->x, n, index, b, start, stop);
    int64_t span = c->stop - c->start;
    pthread_mutex_lock(&c->x->job->rr->mu);
    c->x->it->progress = span > 0 && stop > c->start ? (double)(stop - c->start) / (double)span : 0;
    if (c->x->it->progress > 0.99)
        c->x->it->progress = 0.99;
    pthread_mutex_unlock(&c->x->job->rr->mu);
}

void *rr_batch_recording_main(void *arg)
{
    rr_job_t *j = arg;
    rec_rr_t *r = j->rr;
    recorder_t x;
    memset(&x, 0, sizeof x);
    x.job = j;
    x.it = j->item;
    rr_writer_init(&x.w, x.it->id);
    rec_ctx_t c = { .x = &x, .f = { .url = r->o.upstream_url, .it = x.it }, .start = j->start, .stop = j->stop };
    if (build_task(x.it->task, j->script, j->dbrps, j->n_dbrps, &quiet_env, &x.task, x.err, sizeof x.err) != 0 ||
        (x.pg = rr_pool_get(&r->pool, x.err, sizeof x.err)) == NULL) {
        x.failed = true;
        goto Done;
    }
    eng_query_replay_opts_t o = { .fn = rec_fetch, .tap = rec_tap_ctx, .feed = false, .stop_on_error = true, .ud = &c };
    char err[512];
    if (x.task->n_nodes == 0 || strcmp(x.task->nodes[0].spec->type, "batch") != 0) {
        snprintf(x.err, sizeof x.err, "wrong task type"); /* Kapacitor's text: the recording is made, and fails */
        x.failed = true;
    } else if (eng_query_replay_with(x.task, j->start, j->stop, &o, err, sizeof err) < 0) {
        if (!x.failed) /* else x.err says it already */
            snprintf(x.err, sizeof x.err, "%s", err);
        x.failed = true;
    } else if (x.failed || rec_flush(&x) != 0) {
        x.failed = true;
    }
Done:
    rr_finish(r, x.it, x.failed, x.failed ? "%s" : NULL, x.err);
    FA_LOG(FA_INFO, "batch recording %s of task %s: %s, %" PRId64 " points in %" PRId64 " batches %s", x.it->id,
           x.it->task, x.it->status, x.w.points, x.next_batch, x.it->error);
    if (x.pg != NULL && rr_save(x.pg, r, x.it, err, sizeof err) != 0)
        FA_LOG(FA_WARN, "recording %s: %s (retried by the recorder)", x.it->id, err);
    if (c.f.h != NULL)
        curl_easy_cleanup(c.f.h);
    if (x.task != NULL)
        eng_task_free(x.task);
    rr_pool_put(&r->pool, x.pg);
    rr_writer_deinit(&x.w);
    fa_buf_deinit(&x.batches);
    fa_buf_deinit(&x.group);
    atomic_store(&j->done, true);
    return NULL;
}

/* ---- feeding batches into a task (replays) ---- */

typedef struct bfeed {
    rec_rr_t *rr;
    rr_item_t *it;
    eng_task_t *task;
    bool started;
    int64_t first, shift, start_mono;
    uint64_t n_points;
} bfeed_t;

/* One batch (its points in recorded order, times changed in place) to query node `index`: time
 * shifted, paced by the clock at its last point; the task's time first moves to the end of the
 * batch's query run (`stop`), as when the query runs live. -1 with err when the task has no such
 * node. */
static int bfeed_emit(bfeed_t *f, uint32_t index, eng_point_t *pts, uint32_t n, int64_t tmax, int64_t stop, char *err,
                      size_t errlen)
{
    eng_node_t *node = eng_query_node(f->task, index);
    if (node == NULL) {
        snprintf(err, errlen, "the recording has batches of query node %u, task %s has fewer query nodes", index,
                 f->task->id);
        return -1;
    }
    if (n == 0)
        return 0;
    if (!f->started) {
        f->started = true;
        f->first = pts[0].time;
        f->shift = f->it->rec_time ? 0 : rr_now() - pts[0].time;
        f->start_mono = rr_mono();
    }
    if (strcmp(f->it->clock, "real") == 0)
        rr_sleep_until(f->start_mono + (pts[n - 1].time - f->first));
    for (uint32_t i = 0; i < n; i++)
        pts[i].time += f->shift;
    if (stop + f->shift > f->task->now)
        f->task->now = stop + f->shift;
    eng_query_emit(node, pts, n, tmax + f->shift);
    f->n_points += n;
    return 0;
}

/* A batch without points to query node `index` (replay-live batch; Kapacitor's sends them on): at
 * its run's end, shifted once the first points have set the shift (unshifted before, as in
 * Kapacitor); no pacing. -1 with err when the task has no such node. */
static int bfeed_empty(bfeed_t *f, uint32_t index, const eng_rows_t *b, int64_t stop, char *err, size_t errlen)
{
    eng_node_t *node = eng_query_node(f->task, index);
    if (node == NULL) {
        snprintf(err, errlen, "a batch of query node %u, task %s has fewer query nodes", index, f->task->id);
        return -1;
    }
    int64_t shift = f->started ? f->shift : 0;
    if (stop + shift > f->task->now)
        f->task->now = stop + shift;
    eng_query_emit_empty(node, b, b->tmax + shift);
    return 0;
}

/* The recorded tmax and query run end of every batch of a recording, by batch_seq (sorted). */
typedef struct tmax_map {
    int64_t *seq, *tmax, *stop;
    int n;
} tmax_map_t;

static int tmax_load(PGconn *pg, const char *id, tmax_map_t *m, char *err, size_t errlen)
{
    const char *p[1] = { id };
    PGresult *res = PQexecParams(pg, "select batch_seq, tmax_ns, stop_ns from farad.recording_batches where recording_id = $1"
                                     " order by batch_seq", 1, NULL, p, NULL, NULL, 0);
    memset(m, 0, sizeof *m);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        snprintf(err, errlen, "reading farad.recording_batches of %s: %s", id, PQerrorMessage(pg));
        PQclear(res);
        return -1;
    }
    int n = PQntuples(res);
    m->seq = malloc(sizeof(int64_t) * (size_t)(n ? n : 1));
    m->tmax = malloc(sizeof(int64_t) * (size_t)(n ? n : 1));
    m->stop = malloc(sizeof(int64_t) * (size_t)(n ? n : 1));
    if (m->seq == NULL || m->tmax == NULL || m->stop == NULL) {
        snprintf(err, errlen, "reading the batches of %s: out of memory", id);
        PQclear(res);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        m->seq[i] = strtoll(PQgetvalue(res, i, 0), NULL, 10);
        m->tmax[i] = strtoll(PQgetvalue(res, i, 1), NULL, 10);
        m->stop[i] = strtoll(PQgetvalue(res, i, 2), NULL, 10);
    }
    m->n = n;
    PQclear(res);
    return 0;
}

/* The batch's recorded tmax and run end; a batch without a row (a batch query recording): its
 * last point's time for both. */
static void tmax_of(const tmax_map_t *m, int64_t seq, const eng_batch_t *b, int64_t *tmax, int64_t *stop)
{
    int lo = 0, hi = m->n - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (m->seq[mid] == seq) {
            *tmax = m->tmax[mid];
            *stop = m->stop[mid];
            return;
        }
        if (m->seq[mid] < seq)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    int64_t t = INT64_MIN;
    for (uint32_t i = 0; i < b->n; i++)
        if (b->points[i].time > t)
            t = b->points[i].time;
    *tmax = *stop = t;
}

/* The gathered batch `acc` into the task. */
static int emit_gathered(bfeed_t *f, const tmax_map_t *m, int64_t seq, int32_t node, eng_batch_t *acc, char *err,
                         size_t errlen)
{
    int64_t tmax, stop;
    tmax_of(m, seq, acc, &tmax, &stop);
    return bfeed_emit(f, (uint32_t)node, acc->points, acc->n, tmax, stop, err, errlen);
}

/* Chunks of a batch recording gathered back into whole batches (a batch may span chunks). */
typedef struct gather {
    bfeed_t f;
    const tmax_map_t *m;
    eng_batch_t acc;         /* the batch gathered so far */
    int64_t cur_seq;
    int32_t cur_node;
    int64_t total;
    char *err;
    size_t errlen;
    int rc;
} gather_t;

static bool gather_flush(gather_t *g)
{
    if (g->acc.n != 0 && g->rc == 0)
        g->rc = emit_gathered(&g->f, g->m, g->cur_seq, g->cur_node, &g->acc, g->err, g->errlen);
    eng_batch_reset(&g->acc);
    return g->rc == 0;
}

static bool gather_chunk(void *ud, eng_batch_t *b, const rec_read_out_t *out)
{
    gather_t *g = ud;
    if (b->n == 0)
        return true;
    if (out->batch_seq != g->cur_seq && !gather_flush(g)) /* the gathered batch is whole */
        return false;
    if (out->batch_seq < 0) {
        snprintf(g->err, g->errlen, "recording %s has points outside any batch (before seq %" PRId64 ")",
                 g->f.it->recording, out->next_seq);
        g->rc = -1;
        return false;
    }
    g->cur_seq = out->batch_seq;
    g->cur_node = out->query_node;
    for (uint32_t i = 0; i < b->n; i++) {
        eng_point_t *p = eng_batch_add(&g->acc);
        if (p == NULL) {
            snprintf(g->err, g->errlen, "replay: batch %" PRId64 " does not fit in memory", g->cur_seq);
            g->rc = -1;
            return false;
        }
        eng_point_copy(&g->acc.arena, p, &b->points[i]);
    }
    pthread_mutex_lock(&g->f.rr->mu);
    g->f.it->progress = g->total > 0 ? (double)(g->f.n_points + g->acc.n) / (double)g->total : 0;
    pthread_mutex_unlock(&g->f.rr->mu);
    return true;
}

/* A recording made before schema version 3: its rows, chunk by chunk. */
static void gather_rows(gather_t *g, PGconn *pg)
{
    eng_batch_t b;
    rec_read_out_t out;
    eng_batch_init(&b, 1 << 20, 0);
    for (int64_t seq = 0; g->rc == 0;) {
        if (atomic_load(&g->f.it->cancel)) {
            snprintf(g->err, g->errlen, "replay stopped: deleted or faradd stopping");
            g->rc = -1;
        } else if (rec_read_points(pg, fa_str_c(g->f.it->recording), seq, CHUNK, &b, &out, g->err, g->errlen) != 0) {
            g->rc = -1;
        } else if (gather_chunk(g, &b, &out) && !out.eof && b.n != 0) {
            seq = out.next_seq;
            continue;
        }
        break;
    }
    eng_batch_deinit(&b);
}

int rr_replay_batches(rec_rr_t *r, rr_item_t *it, PGconn *pg, eng_task_t *t, int64_t total, uint64_t *n_points,
                      char *err, size_t errlen)
{
    if (t->n_nodes == 0 || strcmp(t->nodes[0].spec->type, "batch") != 0) { /* replay.c checked it already */
        snprintf(err, errlen, "%s", RR_WRONG_TYPE);
        return -1;
    }
    tmax_map_t m;
    gather_t g = { .f = { .rr = r, .it = it, .task = t }, .m = &m, .cur_seq = -1, .total = total, .err = err,
                   .errlen = errlen };
    if (tmax_load(pg, it->recording, &m, err, errlen) != 0) {
        g.rc = -1;
        goto Exit;
    }
    eng_batch_init(&g.acc, 1 << 20, 0);
    /* the blocks in one COPY, chunk by chunk (rec_read_points in a loop reads a segment per call) */
    int64_t n = rr_read_blocks(&r->pool, it->recording, gather_chunk, &g, &it->cancel, err, errlen);
    if (n < 0 && g.rc == 0)
        g.rc = -1;
    else if (n == 0 && g.rc == 0)
        gather_rows(&g, pg);
    if (g.rc == 0 && atomic_load(&it->cancel)) {
        snprintf(err, errlen, "replay stopped: deleted or faradd stopping");
        g.rc = -1;
    }
    gather_flush(&g);
    eng_batch_deinit(&g.acc);
Exit:
    *n_points = g.f.n_points;
    free(m.seq);
    free(m.tmax);
    free(m.stop);
    return g.rc;
}

/* ---- replay-live batch ---- */

typedef struct live_ctx {
    bfeed_t f;
    fetcher_t fetch;
    eng_batch_t copy;
    char err[512];
    bool failed;
} live_ctx_t;

static int live_fetch(void *ud, const eng_node_t *n, const char *q, fa_buf_t *body, char *err, size_t errlen)
{
    live_ctx_t *c = ud;
    if (c->failed) {
        snprintf(err, errlen, "%s", c->err);
        return -1;
    }
    return fetch(&c->fetch, n, q, body, err, errlen);
}

/* The answer's batch, copied (its times change), into the task as a recorded batch would go. */
static void live_tap(void *ud, eng_node_t *n, uint32_t index, const eng_rows_t *b, int64_t start, int64_t stop)
{
    live_ctx_t *c = ud;
    (void)n, (void)start;
    if (c->failed)
        return;
    if (b->n == 0) {
        if (bfeed_empty(&c->f, index, b, stop, c->err, sizeof c->err) != 0)
            c->failed = true;
        return;
    }
    eng_batch_reset(&c->copy);
    for (uint32_t i = 0; i < b->n; i++) {
        eng_point_t *p = eng_batch_add(&c->copy);
        if (p == NULL) {
            snprintf(c->err, sizeof c->err, "replay: a batch of %u points does not fit in memory", b->n);
            c->failed = true;
            return;
        }
        eng_point_copy(&c->copy.arena, p, &b->points[i]);
    }
    if (bfeed_emit(&c->f, index, c->copy.points, c->copy.n, b->tmax, stop, c->err, sizeof c->err) != 0)
        c->failed = true;
}

int rr_replay_live_batch(rec_rr_t *r, rr_job_t *j, eng_task_t *t, uint64_t *n_points, char *err, size_t errlen)
{
    if (t->n_nodes == 0 || strcmp(t->nodes[0].spec->type, "batch") != 0) { /* record.c answered 400 already */
        snprintf(err, errlen, "cannot replay batch against stream task: %s", t->id);
        return -1;
    }
    live_ctx_t c;
    memset(&c, 0, sizeof c);
    c.f = (bfeed_t){ .rr = r, .it = j->item, .task = t };
    c.fetch = (fetcher_t){ .url = r->o.upstream_url, .it = j->item };
    eng_batch_init(&c.copy, 1 << 16, 0);
    eng_query_replay_opts_t o = { .fn = live_fetch, .tap = live_tap, .feed = false, .stop_on_error = true, .ud = &c };
    int rc = eng_query_replay_with(t, j->start, j->stop, &o, err, errlen) < 0 ? -1 : 0;
    if (rc != 0 && c.failed)
        snprintf(err, errlen, "%s", c.err);
    *n_points = c.f.n_points;
    if (c.fetch.h != NULL)
        curl_easy_cleanup(c.fetch.h);
    eng_batch_deinit(&c.copy);
    return rc;
}
