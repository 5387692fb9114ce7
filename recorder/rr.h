/* recorder/rr.h - shared by record.c, replay.c and query.c; not for other folders. */
#ifndef RECORDER_RR_H
#define RECORDER_RR_H
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "recorder/blocks.h"
#include "recorder/record.h"
#include "recorder/store.h"

typedef enum rr_kind { RR_RECORDING, RR_REPLAY } rr_kind_t;

/** Idle connections kept at most by an rr_pool_t. */
enum { RR_POOL_IDLE = 4 };

/** Connections to the recordings' database for the job threads, kept open between jobs: a new
 * backend maps PostgreSQL's shared buffers page by page as it first touches them, which costs a
 * replay's backend about half as much CPU again as reading the same recording over a connection that
 * has read before (bench/RESULTS.md, "replay connections"). Idle ones are taken newest first, so a
 * replay's reading connection is the one that read last; one idle longer than RR_POOL_MAX_IDLE_NS
 * is closed (rr_pool_prune). Thread-safe; owns the idle connections. */
typedef struct rr_pool {
    pthread_mutex_t mu;
    const char *dsn;         /* not owned */
    PGconn *idle[RR_POOL_IDLE];
    int64_t since[RR_POOL_IDLE]; /* rr_mono() when put back */
    unsigned n;
} rr_pool_t;

/** A recording or replay this process knows: running ones, and finished ones until their final
 * row is in PostgreSQL (then the newest few stay for GET). Fields are guarded by rec_rr_t.mu. */
typedef struct rr_item {
    rr_kind_t kind;
    char id[256];
    char type[8];            /* recording: stream | batch */
    char task[256];
    char recording[256];     /* replay: the recording ("" for replay-live) */
    char query[1024];        /* query recording */
    char clock[8];           /* replay: fast | real */
    bool rec_time, capture;  /* replay options */
    char status[12];         /* running | finished | failed */
    char error[512];
    double progress;
    int64_t size, points, dropped;
    int64_t created, finished, stop; /* ns since the epoch; stop: stream recordings */
    char *stats;             /* replay: stats JSON (heap), NULL until it finishes */
    bool saved;              /* the final row is in PostgreSQL */
    atomic_bool cancel;      /* deleted while running, or faradd stopping: the job stops */
    bool deleted;            /* DELETEd: gone for the API, never saved again; its rows are removed
                              * again once its job has ended (reap), as the job may write late */
    struct rr_item *next;
} rr_item_t;

/** What a job thread needs. */
typedef struct rr_job {
    rec_rr_t *rr;
    rr_item_t *item;
    const char *script;      /* replays: the task */
    eng_dbrp_t *dbrps;
    uint32_t n_dbrps;
    char *query;             /* query recordings, replay-live query */
    int64_t start, stop;     /* batch recordings and replay-live batch: the range of ticks */
    bool live_batch;         /* a replay-live batch */
    fa_arena_t arena;
    pthread_t thread;
    atomic_bool done;
    struct rr_job *next;
} rr_job_t;

struct rec_rr {
    rec_rr_opts_t o;
    char *dsn, *upstream;
    pthread_mutex_t mu;      /* items, jobs, the call queue */
    pthread_cond_t cv;
    rr_item_t *items;        /* newest first */
    rr_job_t *jobs;
    unsigned n_jobs;
    struct rr_call *calls, *calls_tail;
    unsigned n_calls;
    bool stopping;
    pthread_t thread;
    rr_pool_t pool;          /* the jobs' connections */
    /* recorder thread only */
    PGconn *pg;
    int64_t pg_retry;        /* mono ns of the next reconnect attempt */
    bool swept;              /* rows a previous run left running are marked failed */
    struct rr_stream *streams;
    fa_buf_t copy_buf;
};

/* ---- streamrec.c ---- */
typedef struct rr_stream rr_stream_t;
/** A stream recording for item `it` (recording `id`), its stage bounded by record.stream_buffer;
 * NULL when out of memory. */
rr_stream_t *rr_stream_new(rec_rr_t *r, rr_item_t *it, const char *id);
/** Builds the recording's sink task for script and dbrps into *out (not yet in the task master).
 * 0, or -1 with err. */
int rr_stream_task(rr_stream_t *s, const char *script, const eng_dbrp_t *dbrps, uint32_t n_dbrps, eng_task_t **out,
                   char *err, size_t errlen);
/** Recorder thread: s (its task added to the task master) joins r's stream recordings, which
 * rr_streams_tick drives and ends (and frees). */
void rr_stream_start(rec_rr_t *r, rr_stream_t *s);
/** Whether a stream recording of item it is running. */
bool rr_stream_of(const rec_rr_t *r, const rr_item_t *it);
/** Frees a stream recording that was not started (or has ended). */
void rr_stream_free(rr_stream_t *s);
/** Recorder thread: writes what the stream recordings staged when due, ends those past their
 * deadline, deleted, failed or stopping. */
void rr_streams_tick(rec_rr_t *r);

/* ---- record.c ---- */
/** The recorder thread's connection, (re)connecting at most every 500 ms. NULL with err. */
PGconn *rr_conn(rec_rr_t *r, char *err, size_t errlen);

/* ---- rrutil.c ---- */
/** Wall clock, ns. */
int64_t rr_now(void);
/** Appends s to b as one column of COPY text (backslash, tab, newline, CR escaped; NUL bytes,
 * which PostgreSQL text cannot hold, left out). */
void rr_copy_escape(fa_buf_t *b, fa_str_t s);
/** Monotonic clock, ns. */
int64_t rr_mono(void);
/** Sleeps until rr_mono() reaches `at`, waking every 100 ms (replays pacing a real clock). */
void rr_sleep_until(int64_t at);
/** libpq's last message (or "no connection") as one line into out. */
void rr_pg_msg(PGconn *pg, char *out, size_t n);
/** A connection for a job (NULL with err). */
PGconn *rr_connect(const char *dsn, char *err, size_t errlen);
/** How long an idle pooled connection is kept: 5 minutes. */
#define RR_POOL_MAX_IDLE_NS (300 * (int64_t)1000000000)
/** An empty pool of connections to dsn (which must outlive it). */
void rr_pool_init(rr_pool_t *p, const char *dsn);
/** A connection: an idle one still answering, else a new one (rr_connect). NULL with err. */
PGconn *rr_pool_get(rr_pool_t *p, char *err, size_t errlen);
/** Gives pg back (NULL is fine): kept when it is idle and healthy, else closed. */
void rr_pool_put(rr_pool_t *p, PGconn *pg);
/** Closes the connections idle longer than RR_POOL_MAX_IDLE_NS (the recorder thread calls it in
 * its loop; rr_pool_get skips them too). */
void rr_pool_prune(rr_pool_t *p);
/** Closes the idle connections. */
void rr_pool_deinit(rr_pool_t *p);
/** COPYs rows of COPY text (complete lines) into table (columns: its column list), in pieces of
 * 1 MiB. 0, or -1 with err ("COPY into TABLE: ..."). */
int rr_copy_in(PGconn *pg, const char *table, const char *columns, const char *text, size_t len, char *err,
               size_t errlen);
/** COPYs ready-made COPY text rows (rec_encode_points) into farad.recording_points_v1, the
 * one-row-per-point layout of schema version 1 (kept for old recordings, benchmarks and tests).
 * 0 or -1 with err. */
int rr_copy_text(PGconn *pg, const char *text, size_t len, char *err, size_t errlen);

/* ---- record.c ---- */
/** Writes the item's row (insert or update all columns). 0 or -1 with err. */
int rr_save(PGconn *pg, rec_rr_t *r, rr_item_t *it, char *err, size_t errlen);
/** Marks the item ended (status, error), under the lock. */
void rr_finish(rec_rr_t *r, rr_item_t *it, bool failed, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* ---- writer.c ---- */
/** A recording's points on their way into PostgreSQL: added batch by batch, each with its batch
 * metadata, numbered in the order added (seq from 0), written by rr_writer_flush. Every recording
 * (stream, batch, query) writes through one; the storage format is writer.c's business. Owned by
 * one thread at a time. */
typedef struct rr_writer {
    char id[256];            /* the recording */
    rec_stage_t stage;       /* added, not yet written */
    fa_buf_t copy;           /* the last flush's COPY data */
    int64_t next_seq;        /* seq of the next point added */
    int64_t pending;         /* points in buf */
    int64_t points, bytes;   /* written so far */
} rr_writer_t;

/** An empty writer for recording `id`. */
void rr_writer_init(rr_writer_t *w, const char *id);
/** Adds b's points (db, rp from b) with m's batch_seq, group and query_node (m's recording_id and
 * first_seq are ignored: the writer numbers the points). 0, or FA_E2BIG / FA_ENOMEM and nothing
 * of b is added. */
int rr_writer_add(rr_writer_t *w, const rec_copy_meta_t *m, const eng_batch_t *b);
/** Bytes staged and not yet written. */
size_t rr_writer_buffered(const rr_writer_t *w);
/** Writes what was added (one binary COPY of blocks, autocommit). 0, or -1 with err (the points stay
 * buffered). w->bytes counts the COPY data written. */
int rr_writer_flush(rr_writer_t *w, PGconn *pg, char *err, size_t errlen);
void rr_writer_deinit(rr_writer_t *w);
/** The lower-level piece of rr_writer_flush, for stream recordings that stage points themselves:
 * writes st's points, numbered from first_seq, as blocks of recording id (scratch: the COPY data,
 * reused). 0, or -1 with err. */
int rr_write_stage(PGconn *pg, const char *id, const rec_stage_t *st, int64_t first_seq, fa_buf_t *scratch,
                   char *err, size_t errlen);

/* ---- query.c ---- */
/** Runs one InfluxQL query against url (GET /query, epoch=ns) and appends every row as a point to
 * b (db, rp from the query's fully qualified FROM). One series = one group: its index and tags
 * string go to groups[] when not NULL (grows in b's arena). 0, or -1 with err. */
int rr_query(const char *url, const char *query, eng_batch_t *b, uint32_t **series_of, char *err, size_t errlen);
/** db and rp of the query's `FROM "db"."rp"."m"`; 0, or -1 ("could not determine database and
 * retention policy"). */
int rr_query_dbrp(const char *query, char *db, size_t dblen, char *rp, size_t rplen);

/* ---- replay.c ---- */
/** Why a replay of a recording of the other type than its task failed. */
#define RR_WRONG_TYPE "found recording of wrong type, check task type matches recording."
/** The job thread of a replay (recording or replay-live query). */
void *rr_replay_main(void *arg);
/** A chunk of a recording to its consumer; false stops the reading. */
typedef bool (*rr_chunk_fn)(void *ud, eng_batch_t *b, const rec_read_out_t *out);
/** Reads recording's blocks in seq order over a connection from pool (given back) and calls
 * `each` with one chunk at a time on the caller's thread (one db.rp and batch, as
 * rec_read_points, with out: batch_seq, group, query_node, next_seq; both are the reader's again
 * when each returns). Batch replays should use it rather than rec_read_points in a loop, which
 * reads a whole segment per call. (Decoding on a second thread was measured slower on 2 cores,
 * and removed: bench/RESULTS.md.) Stops early when each returns false or *cancel (may be NULL)
 * is set. Points read, or -1 with err. */
int64_t rr_read_blocks(rr_pool_t *pool, const char *recording, rr_chunk_fn each, void *ud, atomic_bool *cancel,
                       char *err, size_t errlen);
/** The job thread of a query recording. */
void *rr_query_recording_main(void *arg);
/* ---- batchrec.c ---- */
/** The job thread of a batch recording: the task's query nodes run over [j->start, j->stop] as a
 * batch replay schedules them; every batch they produce goes through an rr_writer (batch_seq,
 * group, query_node) and its bounds and tmax into farad.recording_batches. */
void *rr_batch_recording_main(void *arg);
/** Compiles a task to learn its type: "stream" or "batch" into type (8 bytes). 0, or -1 with err. */
int rr_task_type(const char *id, const char *script, const eng_dbrp_t *dbrps, uint32_t n_dbrps, char *type, char *err,
                 size_t errlen);
/** Whether recording id is of type batch (false when it is not there). */
bool rr_recording_is_batch(PGconn *pg, const char *id);
/** Replays batch recording it->recording into batch task t: each recorded batch, in batch_seq
 * order, to the children of its query node, as a batch with its recorded tmax; clock and
 * recording-time as it says. *n_points counts the points fed. 0, or -1 with err. */
int rr_replay_batches(rec_rr_t *r, rr_item_t *it, PGconn *pg, eng_task_t *t, int64_t total, uint64_t *n_points,
                      char *err, size_t errlen);
/** Replay-live batch: t's queries over [j->start, j->stop] upstream, straight into t (clock and
 * recording-time as for recordings); nothing stored. 0, or -1 with err. */
int rr_replay_live_batch(rec_rr_t *r, rr_job_t *j, eng_task_t *t, uint64_t *n_points, char *err, size_t errlen);
#endif
