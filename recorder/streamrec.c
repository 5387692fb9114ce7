/* recorder/streamrec.c - stream recordings: a sink task in the live task master stages the points
 * it receives (engine thread); the recorder thread writes the stage as columnar blocks once a
 * second (or at 32 MiB) and ends the recording at its deadline, PostgreSQL errors and lost points
 * failing it. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"
#include "engine/nodes.h"
#include "recorder/rr.h"

/* A stream recording in flight. The sink nodes (engine thread) stage each point row-wise in
 * `pending` under mu (bounded by cap bytes: past it the point is dropped and counted); the
 * recorder thread swaps it out and writes it as columnar blocks (rr_write_stage) once it holds
 * STREAM_FLUSH_BYTES or STREAM_FLUSH_NS has passed, and at the end: bigger segments make
 * bigger blocks, which PostgreSQL stores for less CPU per point. */
struct rr_stream {
    rec_rr_t *rr;
    rr_item_t *item;
    char task_id[300];       /* its id in the task master */
    pthread_mutex_t mu;
    rec_stage_t pending;     /* staged points */
    int64_t seq;             /* recorder thread: seq of the next point written */
    int64_t last_flush;      /* recorder thread: wall ns of the last write */
    int64_t dropped;
    int64_t tm_dropped;      /* recorder thread: the task master's drops for the recording task */
    size_t cap;
    rec_stage_t spare;       /* recorder thread */
    fa_buf_t copy;           /* recorder thread: COPY data */
    struct rr_stream *next;
};

static void sink_point(eng_node_t *n, eng_node_t *from, const eng_pt_t *p)
{
    (void)from;
    rr_stream_t *s = n->state;
    static const rec_copy_meta_t m = { .batch_seq = -1 };
    pthread_mutex_lock(&s->mu);
    if (rec_stage_point(&s->pending, &m, n->task->cur_db, n->task->cur_rp, &p->p) != 0)
        s->dropped++;
    pthread_mutex_unlock(&s->mu);
}

static const eng_node_ops_t sink_ops = { .type = "recording", .point = sink_point };

/* TICKscript string literal body: ' and \ escaped. */
static void tick_quote(fa_buf_t *b, fa_str_t s)
{
    for (size_t i = 0; i < s.len; i++) {
        if (s.ptr[i] == '\'' || s.ptr[i] == '\\')
            fa_buf_append(b, "\\", 1);
        fa_buf_append(b, &s.ptr[i], 1);
    }
}

static const eng_env_t quiet_env = { 0 };

/* Compiles the task to learn its type, dbrps and measurements; builds the sink task. */
int rr_stream_task(rr_stream_t *s, const char *script, const eng_dbrp_t *dbrps, uint32_t n_dbrps, eng_task_t **out,
                       char *err, size_t errlen)
{
    tick_err_t terr;
    eng_task_t *t = NULL;
    memset(&terr, 0, sizeof terr);
    if (eng_task_new("recorded", script, strlen(script), dbrps, n_dbrps, &quiet_env, &t, &terr) != 0 &&
        (n_dbrps == 0 || eng_task_new("recorded", script, strlen(script), NULL, 0, &quiet_env, &t, &terr) != 0)) {
        snprintf(err, errlen, "task %s: %s", s->item->task, terr.msg);
        return -1;
    }
    if (t->n_nodes == 0 || strcmp(t->nodes[0].spec->type, "stream") != 0) {
        snprintf(err, errlen, "task %s is not a stream task: record it with a batch or query recording", s->item->task);
        eng_task_free(t);
        return -1;
    }
    fa_buf_t src = FA_BUF_INIT;
    fa_str_t *meas = NULL;
    uint32_t n_meas = eng_task_measurements(t, &meas);
    if (n_meas == 0) {
        fa_buf_append_c(&src, "stream\n    |from()\n");
    } else {
        for (uint32_t i = 0; i < n_meas; i++) {
            bool dup = false;
            for (uint32_t j = 0; j < i; j++)
                dup = dup || fa_str_eq(meas[i], meas[j]);
            if (dup)
                continue;
            fa_buf_append_c(&src, "stream\n    |from()\n        .measurement('");
            tick_quote(&src, meas[i]);
            fa_buf_append_c(&src, "')\n");
        }
    }
    eng_task_t *rt = NULL;
    int rc = eng_task_new(s->task_id, fa_buf_cstr(&src), src.len, t->dbrps, t->n_dbrps, &quiet_env, &rt, &terr);
    eng_task_free(t);
    fa_buf_deinit(&src);
    if (rc != 0) {
        snprintf(err, errlen, "task %s: building the recording task: %s", s->item->task, terr.msg);
        return -1;
    }
    /* every leaf (the from() nodes) gets the sink as its child */
    for (uint32_t i = 0; i < rt->n_nodes; i++) {
        eng_node_t *leaf = &rt->nodes[i];
        if (leaf->n_children != 0)
            continue;
        eng_node_t *sink = FA_NEW(&rt->arena, eng_node_t, 1);
        memset(sink, 0, sizeof *sink);
        sink->ops = &sink_ops;
        sink->spec = leaf->spec;
        sink->task = rt;
        sink->id = UINT32_MAX;
        sink->state = s;
        snprintf(sink->name, sizeof sink->name, "recording");
        leaf->children = FA_NEW(&rt->arena, eng_node_t *, 1);
        leaf->children[0] = sink;
        leaf->n_children = 1;
    }
    *out = rt;
    return 0;
}

rr_stream_t *rr_stream_new(rec_rr_t *r, rr_item_t *it, const char *id)
{
    rr_stream_t *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->rr = r;
    s->item = it;
    s->cap = r->o.stream_buffer;
    rec_stage_init(&s->pending, s->cap);
    rec_stage_init(&s->spare, s->cap);
    s->last_flush = rr_now();
    pthread_mutex_init(&s->mu, NULL);
    snprintf(s->task_id, sizeof s->task_id, "recording:%s", id);
    return s;
}

void rr_stream_start(rec_rr_t *r, rr_stream_t *s)
{
    s->next = r->streams;
    r->streams = s;
}

bool rr_stream_of(const rec_rr_t *r, const rr_item_t *it)
{
    for (const rr_stream_t *s = r->streams; s != NULL; s = s->next)
        if (s->item == it)
            return true;
    return false;
}

void rr_stream_free(rr_stream_t *s)
{
    pthread_mutex_destroy(&s->mu);
    rec_stage_deinit(&s->pending);
    rec_stage_deinit(&s->spare);
    fa_buf_deinit(&s->copy);
    free(s);
}

enum { STREAM_FLUSH_BYTES = 32 << 20 };
static const int64_t STREAM_FLUSH_NS = 1000000000;

/* Writes what the sinks staged since the last write, when due or `force`. false when PostgreSQL
 * failed (err filled). */
static bool stream_flush(rec_rr_t *r, rr_stream_t *s, bool force, char *err, size_t errlen)
{
    int64_t now = rr_now();
    rec_stage_clear(&s->spare);
    pthread_mutex_lock(&s->mu);
    bool due = force || s->pending.buf.len >= STREAM_FLUSH_BYTES || now - s->last_flush >= STREAM_FLUSH_NS;
    if (due) {
        rec_stage_t tmp = s->pending;
        s->pending = s->spare;
        s->spare = tmp;
    }
    int64_t n = s->spare.n, dropped = s->dropped;
    pthread_mutex_unlock(&s->mu);
    if (due)
        s->last_flush = now;
    /* batches the task master could not queue for the recording task are lost points too */
    eng_tm_task_stats_t ts;
    if (eng_tm_task_stats(r->o.tm, s->task_id, &ts) == 0)
        s->tm_dropped = (int64_t)ts.points_dropped;
    dropped += s->tm_dropped;
    pthread_mutex_lock(&r->mu);
    s->item->dropped = dropped;
    pthread_mutex_unlock(&r->mu);
    if (n == 0)
        return true;
    PGconn *pg = rr_conn(r, err, errlen);
    if (pg == NULL || rr_write_stage(pg, s->item->id, &s->spare, s->seq, &s->copy, err, errlen) != 0)
        return false;
    s->seq += n;
    pthread_mutex_lock(&r->mu);
    s->item->size += (int64_t)s->copy.len;
    s->item->points += n;
    pthread_mutex_unlock(&r->mu);
    if (s->copy.cap > (64u << 20))
        fa_buf_deinit(&s->copy);
    return true;
}

/* Ends a stream recording: unhooks it, writes the rest, sets its status. */
static void stream_end(rec_rr_t *r, rr_stream_t *s, const char *failure)
{
    char err[512];
    /* what the task master queued for the recording before the deadline is recorded: wait
     * (at most 2 s) for its queue to drain, then unhook it */
    eng_tm_task_stats_t ts;
    for (int i = 0; i < 200 && eng_tm_task_stats(r->o.tm, s->task_id, &ts) == 0 && ts.queued > 0; i++) {
        struct timespec nap = { 0, 10000000 };
        nanosleep(&nap, NULL);
    }
    if (eng_tm_task_stats(r->o.tm, s->task_id, &ts) == 0)
        s->tm_dropped = (int64_t)ts.points_dropped;
    int rc = eng_tm_remove(r->o.tm, s->task_id);
    if (rc == FA_EAGAIN) /* still inside a call: its sink must stay valid; it is freed later */
        FA_LOG(FA_WARN, "recording %s: its task is busy; waiting", s->item->id);
    while (rc == FA_EAGAIN)
        rc = eng_tm_remove(r->o.tm, s->task_id);
    bool ok = failure == NULL && stream_flush(r, s, true, err, sizeof err);
    int64_t dropped = s->dropped + s->tm_dropped;
    if (failure != NULL)
        rr_finish(r, s->item, true, "%s", failure);
    else if (!ok)
        rr_finish(r, s->item, true, "%s", err);
    else if (dropped > 0)
        rr_finish(r, s->item, true,
                  "lost %" PRId64 " points: the recording's buffer (%zu bytes) or its task queue was full", dropped,
                  s->cap);
    else
        rr_finish(r, s->item, false, NULL);
    FA_LOG(FA_INFO, "recording %s ended: %s %s", s->item->id, s->item->status, s->item->error);
}

/* One turn over the stream recordings: COPY, deadlines, progress. */
void rr_streams_tick(rec_rr_t *r)
{
    char err[512];
    int64_t now = rr_now();
    for (rr_stream_t **pp = &r->streams; *pp != NULL;) {
        rr_stream_t *s = *pp;
        const char *failure = NULL;
        bool end = now >= s->item->stop || atomic_load(&s->item->cancel) || r->stopping;
        if (r->stopping)
            failure = "faradd stopped during the recording";
        if (!end && !stream_flush(r, s, false, err, sizeof err)) {
            failure = err;
            end = true;
        }
        if (!end) {
            pthread_mutex_lock(&r->mu);
            int64_t span = s->item->stop - s->item->created;
            s->item->progress = span > 0 ? (double)(now - s->item->created) / (double)span : 1.0;
            pthread_mutex_unlock(&r->mu);
            pp = &s->next;
            continue;
        }
        stream_end(r, s, failure);
        *pp = s->next;
        rr_stream_free(s);
    }
}
