/* recorder/store.c - the store thread: a bounded MPSC queue (mutex + condvar, intrusive list) in
 * front of one PGconn.
 *
 * The thread loop: wait for a request or for the next reconnect attempt; connect when one is due
 * (connect, then migrate: a connection only counts once the schema is in place); run the request,
 * or fail it at once with "PostgreSQL unavailable: ..." while there is no connection. When a
 * request fails and the connection turns out to be broken (PostgreSQL restarted or stopped), the
 * thread reconnects once at once and, on success, runs the request again: every operation is
 * idempotent or guarded by a primary key. Otherwise the backoff doubles from reconnect_min to
 * reconnect_max. Producers only ever take the mutex for an O(1) push. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "base/log.h"
#include "recorder/internal.h"

struct rec_store {
    rec_store_opts_t opts;
    char *dsn;
    char last_logged[256];  /* store thread: the last failure logged at warn level */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    rec_req_t *head, *tail; /* guarded by mu */
    uint32_t n_queued;      /* guarded by mu */
    bool stopping;          /* guarded by mu */
    /* store thread only */
    PGconn *pg;
    char down_msg[256];     /* why the last connection attempt failed */
    uint32_t backoff_ms;
    int64_t next_attempt;   /* monotonic ns */
    fa_buf_t copy_buf;
    rec_store_stats_t stats;
};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- requests ---- */

rec_req_t *rec_req_new(rec_op_t op, rec_done_fn done, void *ud)
{
    rec_req_t *r = calloc(1, sizeof *r);

    if (r == NULL)
        return NULL;
    r->op = op;
    r->done = done;
    r->ud = ud;
    r->rc = FA_EAGAIN;
    fa_arena_init(&r->arena, 1024, 0);
    return r;
}

void rec_req_free(rec_req_t *req)
{
    if (req == NULL)
        return;
    fa_arena_deinit(&req->arena);
    free(req);
}

fa_str_t rec_req_strdup(rec_req_t *req, fa_str_t s)
{
    if (s.ptr == NULL || s.len == 0)
        return FA_STR_LIT("");
    return fa_str(fa_arena_strndup(&req->arena, s.ptr, s.len), s.len);
}

void rec_req_copy_task(rec_req_t *req, rec_task_t *dst, const rec_task_t *src)
{
    *dst = *src;
    dst->id = rec_req_strdup(req, src->id);
    dst->type = rec_req_strdup(req, src->type);
    dst->script = rec_req_strdup(req, src->script);
    dst->vars = rec_req_strdup(req, src->vars);
    dst->template_id = rec_req_strdup(req, src->template_id);
    dst->dbrps = src->n_dbrps ? FA_NEW(&req->arena, rec_dbrp_t, src->n_dbrps) : NULL;
    for (uint32_t i = 0; i < src->n_dbrps; i++) {
        dst->dbrps[i].db = rec_req_strdup(req, src->dbrps[i].db);
        dst->dbrps[i].rp = rec_req_strdup(req, src->dbrps[i].rp);
    }
}

void rec_req_copy_template(rec_req_t *req, rec_template_t *dst, const rec_template_t *src)
{
    *dst = *src;
    dst->id = rec_req_strdup(req, src->id);
    dst->type = rec_req_strdup(req, src->type);
    dst->script = rec_req_strdup(req, src->script);
    dst->vars = rec_req_strdup(req, src->vars);
}

void rec_req_copy_recording(rec_req_t *req, rec_recording_t *dst, const rec_recording_t *src)
{
    *dst = *src;
    dst->id = rec_req_strdup(req, src->id);
    dst->type = rec_req_strdup(req, src->type);
    dst->task = rec_req_strdup(req, src->task);
    dst->query = rec_req_strdup(req, src->query);
    dst->error = rec_req_strdup(req, src->error);
}

void rec_req_copy_replay(rec_req_t *req, rec_replay_t *dst, const rec_replay_t *src)
{
    *dst = *src;
    dst->id = rec_req_strdup(req, src->id);
    dst->task = rec_req_strdup(req, src->task);
    dst->recording = rec_req_strdup(req, src->recording);
    dst->clock = rec_req_strdup(req, src->clock);
    dst->error = rec_req_strdup(req, src->error);
    dst->stats = rec_req_strdup(req, src->stats);
}

/* ---- the connection ---- */

static void set_down(rec_store_t *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_down(rec_store_t *s, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(s->down_msg, sizeof s->down_msg, fmt, ap);
    va_end(ap);
    size_t n = strlen(s->down_msg); /* libpq's messages end with newlines */
    while (n > 0 && (s->down_msg[n - 1] == '\n' || s->down_msg[n - 1] == ' '))
        s->down_msg[--n] = '\0';
    /* one line: libpq continues its messages on tab-indented lines */
    char *w = s->down_msg;
    for (const char *r = s->down_msg; *r; r++) {
        char c = (*r == '\n' || *r == '\t') ? ' ' : *r;
        if (!(c == ' ' && w > s->down_msg && w[-1] == ' '))
            *w++ = c;
    }
    *w = '\0';
    if (s->pg != NULL) {
        PQfinish(s->pg);
        s->pg = NULL;
    }
    atomic_store(&s->stats.connected, false);
}

static void schedule_retry(rec_store_t *s)
{
    s->next_attempt = now_ns() + (int64_t)s->backoff_ms * 1000000;
    s->backoff_ms = s->backoff_ms * 2 > s->opts.reconnect_max_ms ? s->opts.reconnect_max_ms : s->backoff_ms * 2;
}

/* A failure is logged at warn once, then at debug while the reason stays the same. */
static void log_failure(rec_store_t *s, const char *what)
{
    bool same = strcmp(s->last_logged, s->down_msg) == 0;

    FA_LOG(same ? FA_DEBUG : FA_WARN, "recorder: %s%s (retrying every %u ms at most)", what, s->down_msg,
           s->opts.reconnect_max_ms);
    snprintf(s->last_logged, sizeof s->last_logged, "%s", s->down_msg);
}

/* Server notices ("relation already exists, skipping") go to the debug log. */
static void log_notice(void *arg, const char *msg)
{
    (void)arg;
    FA_LOG(FA_DEBUG, "recorder: PostgreSQL says: %.*s", (int)strcspn(msg, "\n"), msg);
}

/* One connection attempt (blocking, bounded by connect_timeout); true when connected and migrated. */
static bool try_connect(rec_store_t *s)
{
    char timeout[16], err[256];
    /* defaults first: values in the DSN (expanded from "dbname") override them */
    /* TCP keepalives: a PostgreSQL host that vanishes from the network is noticed in ~25 s
     * instead of the kernel's hours (ignored on unix sockets) */
    const char *keys[] = { "connect_timeout", "application_name", "client_encoding", "keepalives", "keepalives_idle",
                           "keepalives_interval", "keepalives_count", "tcp_user_timeout", "dbname", NULL };
    const char *vals[] = { timeout, "faradd", "UTF8", "1", "10", "5", "3", "30000", s->dsn, NULL };

    snprintf(timeout, sizeof timeout, "%u", s->opts.connect_timeout_s);
    s->pg = PQconnectdbParams(keys, vals, 1);
    if (s->pg == NULL || PQstatus(s->pg) != CONNECTION_OK) {
        set_down(s, "%s", s->pg ? PQerrorMessage(s->pg) : "out of memory");
        log_failure(s, "cannot connect to PostgreSQL: ");
        schedule_retry(s);
        return false;
    }
    PQsetNoticeProcessor(s->pg, log_notice, NULL);
    int v = rec_migrate(s->pg, err, sizeof err);
    if (v < 0) {
        set_down(s, "%s", err);
        log_failure(s, "");
        schedule_retry(s);
        return false;
    }
    s->last_logged[0] = '\0';
    s->backoff_ms = s->opts.reconnect_min_ms;
    atomic_fetch_add(&s->stats.n_connects, 1);
    atomic_store(&s->stats.connected, true);
    FA_LOG(FA_INFO, "recorder: connected to PostgreSQL (schema version %d)", v);
    return true;
}

/* ---- running a request ---- */

static void exec_copy(rec_store_t *s, rec_req_t *req)
{
    req->rc = rec_copy_points(s->pg, &req->in.copy.meta, req->in.copy.batch, &s->copy_buf, req->err, sizeof req->err);
    if (req->rc == FA_OK) {
        req->out.n_rows = req->in.copy.batch->n;
        atomic_fetch_add(&s->stats.n_points, req->in.copy.batch->n);
    }
    /* a large batch must not keep its buffer forever */
    if (s->copy_buf.cap > (64u << 20))
        fa_buf_deinit(&s->copy_buf);
}

static void exec_read(rec_store_t *s, rec_req_t *req)
{
    req->rc = rec_read_points(s->pg, req->in.read.recording_id, req->in.read.from_seq, req->in.read.max_points,
                              req->in.read.batch, &req->out.read, req->err, sizeof req->err);
}

static void exec_ping(rec_store_t *s, rec_req_t *req)
{
    PGresult *res = PQexec(s->pg, "select 1");

    if (PQresultStatus(res) == PGRES_TUPLES_OK)
        req->rc = FA_OK;
    else
        rec_req_fail(req, FA_EPG, "ping: %s", PQerrorMessage(s->pg));
    PQclear(res);
}

static void exec_once(rec_store_t *s, rec_req_t *req)
{
    req->err[0] = '\0';
    switch (req->op) {
    case REC_OP_PING: exec_ping(s, req); break;
    case REC_OP_COPY_POINTS: exec_copy(s, req); break;
    case REC_OP_READ_POINTS: exec_read(s, req); break;
    case REC_OP_RECORDING_PUT:
    case REC_OP_RECORDING_UPDATE:
    case REC_OP_RECORDING_GET:
    case REC_OP_RECORDING_LIST:
    case REC_OP_RECORDING_DELETE:
    case REC_OP_REPLAY_PUT:
    case REC_OP_REPLAY_UPDATE:
    case REC_OP_REPLAY_GET:
    case REC_OP_REPLAY_LIST:
    case REC_OP_REPLAY_DELETE: rec_exec_recordings(s->pg, req); break;
    case REC_OP_COPY_OUTPUTS:
        req->rc = rec_copy_outputs(s->pg, req->in.outputs.replay_id, req->in.outputs.items, req->in.outputs.n,
                                   &s->copy_buf, req->err, sizeof req->err);
        if (req->rc == FA_OK)
            req->out.n_rows = req->in.outputs.n;
        break;
    default: rec_exec_definitions(s->pg, req); break;
    }
}

static void fail_unavailable(rec_store_t *s, rec_req_t *req)
{
    rec_req_fail(req, FA_EAGAIN, "PostgreSQL unavailable: %s", s->down_msg);
}

static void run_request(rec_store_t *s, rec_req_t *req)
{
    if (s->pg == NULL) {
        fail_unavailable(s, req);
        return;
    }
    exec_once(s, req);
    if (req->rc == FA_OK || PQstatus(s->pg) == CONNECTION_OK)
        return;
    /* the connection broke: PostgreSQL restarted, or is gone */
    set_down(s, "%s", PQerrorMessage(s->pg));
    FA_LOG(FA_WARN, "recorder: lost the PostgreSQL connection: %s", s->down_msg);
    s->backoff_ms = s->opts.reconnect_min_ms;
    if (try_connect(s))
        exec_once(s, req);
    else
        fail_unavailable(s, req);
}

static void complete(rec_store_t *s, rec_req_t *req)
{
    atomic_fetch_add(&s->stats.n_done, 1);
    if (req->rc != FA_OK)
        atomic_fetch_add(&s->stats.n_failed, 1);
    if (req->done != NULL)
        req->done(req->ud, req);
}

/* ---- the queue and the thread ---- */

/* Waits for a request or a due reconnect; NULL with *stop when stopping. Holds no lock on return. */
static rec_req_t *next_request(rec_store_t *s, bool *stop)
{
    rec_req_t *req = NULL;

    pthread_mutex_lock(&s->mu);
    while (!s->stopping && s->head == NULL) {
        if (s->pg == NULL) {
            int64_t wait = s->next_attempt - now_ns();
            if (wait <= 0)
                break;
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            int64_t at = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec + wait;
            ts.tv_sec = at / 1000000000;
            ts.tv_nsec = at % 1000000000;
            pthread_cond_timedwait(&s->cv, &s->mu, &ts);
        } else {
            pthread_cond_wait(&s->cv, &s->mu);
        }
    }
    *stop = s->stopping;
    if (!s->stopping && s->head != NULL) {
        req = s->head;
        s->head = req->_next;
        if (s->head == NULL)
            s->tail = NULL;
        s->n_queued--;
        req->_next = NULL;
    }
    pthread_mutex_unlock(&s->mu);
    return req;
}

static void *store_main(void *arg)
{
    rec_store_t *s = arg;
    bool stop = false;

    for (;;) {
        rec_req_t *req = next_request(s, &stop);
        if (stop)
            break;
        if (s->pg == NULL && now_ns() >= s->next_attempt)
            try_connect(s);
        if (req != NULL) {
            run_request(s, req);
            complete(s, req);
        }
    }
    /* stopping: whatever is still queued completes with FA_EAGAIN */
    pthread_mutex_lock(&s->mu);
    rec_req_t *rest = s->head;
    s->head = s->tail = NULL;
    s->n_queued = 0;
    pthread_mutex_unlock(&s->mu);
    while (rest != NULL) {
        rec_req_t *next = rest->_next;
        rec_req_fail(rest, FA_EAGAIN, "recorder: the store is stopping");
        complete(s, rest);
        rest = next;
    }
    return NULL;
}

rec_store_opts_t rec_store_opts_conf(const fa_conf_t *c)
{
    return (rec_store_opts_t){
        .dsn = c->pg_dsn,
        .queue_cap = c->pg_queue > UINT32_MAX ? UINT32_MAX : (uint32_t)c->pg_queue,
        .reconnect_max_ms = c->pg_reconnect_max_ms > UINT32_MAX ? UINT32_MAX : (uint32_t)c->pg_reconnect_max_ms,
    };
}

rec_store_t *rec_store_new(const rec_store_opts_t *o, char *err, size_t errlen)
{
    pthread_condattr_t ca;

    if (o->dsn == NULL || o->dsn[0] == '\0') {
        snprintf(err, errlen, "recorder: no PostgreSQL DSN (pg.dsn)");
        return NULL;
    }
    rec_store_t *s = calloc(1, sizeof *s);
    if (s == NULL || (s->dsn = strdup(o->dsn)) == NULL) {
        snprintf(err, errlen, "recorder: out of memory");
        free(s);
        return NULL;
    }
    s->opts = *o;
    s->opts.dsn = s->dsn;
    s->opts.queue_cap = o->queue_cap ? o->queue_cap : 1024;
    s->opts.reconnect_min_ms = o->reconnect_min_ms ? o->reconnect_min_ms : 100;
    s->opts.reconnect_max_ms = o->reconnect_max_ms ? o->reconnect_max_ms : 2000;
    if (s->opts.reconnect_max_ms < s->opts.reconnect_min_ms)
        s->opts.reconnect_max_ms = s->opts.reconnect_min_ms;
    s->opts.connect_timeout_s = o->connect_timeout_s ? o->connect_timeout_s : 5;
    s->backoff_ms = s->opts.reconnect_min_ms;
    snprintf(s->down_msg, sizeof s->down_msg, "not connected yet");
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cv, &ca);
    pthread_condattr_destroy(&ca);
    int rc = pthread_create(&s->thread, NULL, store_main, s);
    if (rc != 0) {
        snprintf(err, errlen, "recorder: cannot start the store thread: %s", strerror(rc));
        pthread_cond_destroy(&s->cv);
        pthread_mutex_destroy(&s->mu);
        free(s->dsn);
        free(s);
        return NULL;
    }
    return s;
}

void rec_store_free(rec_store_t *s)
{
    if (s == NULL)
        return;
    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    if (s->pg != NULL)
        PQfinish(s->pg);
    fa_buf_deinit(&s->copy_buf);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s->dsn);
    free(s);
}

int rec_store_submit_mpsc(rec_store_t *s, rec_req_t *req)
{
    int rc = FA_OK;

    req->_next = NULL;
    pthread_mutex_lock(&s->mu);
    if (s->stopping) {
        rc = FA_EINVAL;
    } else if (s->n_queued >= s->opts.queue_cap) {
        rc = FA_EAGAIN;
    } else {
        if (s->tail != NULL)
            s->tail->_next = req;
        else
            s->head = req;
        s->tail = req;
        s->n_queued++;
        pthread_cond_signal(&s->cv);
    }
    pthread_mutex_unlock(&s->mu);
    if (rc == FA_EAGAIN)
        atomic_fetch_add_explicit(&s->stats.n_refused, 1, memory_order_relaxed);
    return rc;
}

/* rec_store_call: the caller waits on its own condvar */
struct waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
};

static void wake(void *ud, rec_req_t *req)
{
    struct waiter *w = ud;

    pthread_mutex_lock(&w->mu);
    w->done = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

int rec_store_call(rec_store_t *s, rec_req_t *req)
{
    struct waiter w = { .done = false };
    int rc;

    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    req->done = wake;
    req->ud = &w;
    if ((rc = rec_store_submit_mpsc(s, req)) != FA_OK) {
        rec_req_fail(req, rc, "recorder: %s", rc == FA_EAGAIN ? "the store's queue is full" : "the store is stopping");
    } else {
        pthread_mutex_lock(&w.mu);
        while (!w.done)
            pthread_cond_wait(&w.cv, &w.mu);
        pthread_mutex_unlock(&w.mu);
    }
    pthread_cond_destroy(&w.cv);
    pthread_mutex_destroy(&w.mu);
    return req->rc;
}

const rec_store_stats_t *rec_store_stats(const rec_store_t *s)
{
    return &s->stats;
}

uint32_t rec_store_queued(rec_store_t *s)
{
    pthread_mutex_lock(&s->mu);
    uint32_t n = s->n_queued;
    pthread_mutex_unlock(&s->mu);
    return n;
}
