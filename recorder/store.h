/* recorder/store.h - farad's PostgreSQL store: one thread owns the PGconn and runs requests taken
 * from a bounded MPSC queue; each request's `done` callback gets the result on that thread.
 *
 * Producers (API event loops, the engine, main) never block: rec_store_submit_mpsc either queues
 * the request or refuses it at once with FA_EAGAIN (queue full). While PostgreSQL is unreachable
 * every request completes at once with rc FA_EAGAIN and err "PostgreSQL unavailable: <libpq
 * message>" (an API answers 503); the thread reconnects with backoff and requests succeed again.
 *
 * Delivering results to an h2o loop: `done` runs on the store thread, so a loop's side posts the
 * request to its loop (h2o_multithread_send_message) and finishes there; the recorder never
 * includes h2o. The request is the caller's again once `done` is called; rec_req_free frees it.
 *
 * Strings in requests are slices copied into the request's arena by the rec_req_set_* helpers or
 * by the caller (rec_req_strdup); results point into the same arena and live until rec_req_free. */
#ifndef RECORDER_STORE_H
#define RECORDER_STORE_H
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "base/arena.h"
#include "base/conf.h"
#include "base/str.h"
#include "engine/point.h"

typedef enum rec_op {
    REC_OP_PING,            /* a round trip ("select 1"): checks the connection */
    REC_OP_TASK_PUT,        /* in.task_put -> out.task (as stored, with its times) */
    REC_OP_TASK_GET,        /* in.id -> out.task, FA_ENOENT when unknown */
    REC_OP_TASK_LIST,       /* in.list -> out.tasks, ordered by id */
    REC_OP_TASK_DELETE,     /* in.id -> out.n_rows (0 when unknown: not an error) */
    REC_OP_TASK_SET_STATUS, /* in.set_status -> out.task, FA_ENOENT when unknown */
    REC_OP_TEMPLATE_PUT,    /* in.template_put -> out.template; its tasks in the same transaction */
    REC_OP_TEMPLATE_GET,    /* in.id -> out.template */
    REC_OP_TEMPLATE_LIST,   /* in.list -> out.templates */
    REC_OP_TEMPLATE_DELETE, /* in.id -> out.n_rows; tasks built from it keep their template_id */
    REC_OP_RECORDING_PUT,   /* in.recording (create; FA_EEXIST when the id exists) -> out.recording */
    REC_OP_RECORDING_UPDATE,/* in.recording: status, error, progress, size, n_points -> out.recording */
    REC_OP_RECORDING_GET,   /* in.id -> out.recording, FA_ENOENT when unknown */
    REC_OP_RECORDING_LIST,  /* in.list -> out.recordings, newest first */
    REC_OP_RECORDING_DELETE,/* in.id -> out.n_rows; its points go in the same transaction */
    REC_OP_REPLAY_PUT,      /* in.replay (create; FA_EEXIST) -> out.replay */
    REC_OP_REPLAY_UPDATE,   /* in.replay: status, error, progress, stats -> out.replay */
    REC_OP_REPLAY_GET,      /* in.id -> out.replay */
    REC_OP_REPLAY_LIST,     /* in.list -> out.replays, newest first */
    REC_OP_REPLAY_DELETE,   /* in.id -> out.n_rows; its outputs go in the same transaction */
    REC_OP_COPY_OUTPUTS,    /* in.outputs -> out.n_rows (captured replay outputs stored) */
    REC_OP_COPY_POINTS,     /* in.copy -> out.n_rows (points stored) */
    REC_OP_READ_POINTS,     /* in.read -> out.read, points in in.read.batch */
} rec_op_t;

typedef enum rec_task_status { REC_TASK_DISABLED = 0, REC_TASK_ENABLED = 1 } rec_task_status_t;

/** How a put treats an existing row. */
typedef enum rec_put_mode {
    REC_PUT_UPSERT = 0, /* create or replace (created is kept) */
    REC_PUT_CREATE,     /* FA_EEXIST when the id exists */
    REC_PUT_UPDATE,     /* FA_ENOENT when the id does not exist */
} rec_put_mode_t;

typedef struct rec_dbrp {
    fa_str_t db, rp;
} rec_dbrp_t;

/** A task definition as stored in farad.tasks. Times are ns since the epoch (µs precision). */
typedef struct rec_task {
    fa_str_t id;
    fa_str_t type;          /* "stream" | "batch" */
    rec_dbrp_t *dbrps;
    uint32_t n_dbrps;
    fa_str_t script;
    fa_str_t vars;          /* a JSON object as text (Kapacitor's vars); empty = {} */
    fa_str_t template_id;   /* empty = not built from a template */
    rec_task_status_t status;
    bool loaded_from_file;  /* defined by the load directory */
    int64_t created, modified;
    int64_t last_enabled;   /* 0 = never enabled */
} rec_task_t;

/** A template as stored in farad.templates. */
typedef struct rec_template {
    fa_str_t id;
    fa_str_t type;          /* "stream" | "batch" */
    fa_str_t script;
    fa_str_t vars;          /* JSON object as text; empty = {} */
    int64_t created, modified;
} rec_template_t;

typedef enum rec_status { REC_RUNNING = 0, REC_FINISHED, REC_FAILED } rec_status_t;

/** A recording as stored in farad.recordings (its points are in farad.recording_points). */
typedef struct rec_recording {
    fa_str_t id;
    fa_str_t type;          /* "stream" | "batch" */
    fa_str_t task;          /* empty for a query recording */
    fa_str_t query;         /* empty for a task recording */
    rec_status_t status;    /* finished only when every point was stored */
    fa_str_t error;         /* why it failed, or lost points ("dropped 12 points: queue full") */
    double progress;        /* 0..1 */
    int64_t size;           /* bytes of line protocol recorded */
    int64_t n_points;
    int64_t created;        /* ns; set by the store */
    int64_t finished;       /* ns, 0 while running; set by the store when status leaves running */
} rec_recording_t;

/** A replay as stored in farad.replays. */
typedef struct rec_replay {
    fa_str_t id, task, recording;
    fa_str_t clock;         /* "fast" | "real" */
    bool recording_time;    /* keep the recorded times (else shifted to now) */
    rec_status_t status;
    double progress;
    fa_str_t error;
    fa_str_t stats;         /* JSON object as text ({task-stats, node-stats}); empty = NULL */
    int64_t created, finished;
} rec_replay_t;

/** One output a replay captured: an emitted point or an alert event, as JSON. */
typedef struct rec_output {
    int64_t seq;            /* order within the replay */
    bool alert;             /* kind: alert, else point */
    int64_t time;           /* ns */
    fa_str_t payload;       /* a JSON value as text */
} rec_output_t;

/** Listing: ids matching a glob (Kapacitor's pattern: `*`, `?`, `[a-z]`, `\` escapes; empty =
 * all), ordered by id, from `offset`, at most `limit` (0 = 100, Kapacitor's default). */
typedef struct rec_list {
    fa_str_t pattern;
    uint32_t offset, limit;
} rec_list_t;

/** Where COPYed points go and how they are numbered. */
typedef struct rec_copy_meta {
    fa_str_t recording_id;
    int64_t first_seq;      /* seq of the batch's first point; the next ones follow by one */
    int64_t batch_seq;      /* batch recordings: which batch; -1 for stream recordings (NULL) */
    fa_str_t group;         /* batch recordings: the batch's group; ignored when batch_seq < 0 */
    int32_t query_node;     /* batch recordings: the query node it came from */
} rec_copy_meta_t;

/** What one chunk read from a recording held. */
typedef struct rec_read_out {
    uint32_t n;             /* points now in the batch */
    int64_t next_seq;       /* where the next chunk starts */
    bool eof;               /* no point at or after next_seq */
    int64_t batch_seq;      /* -1 = stream recording */
    fa_str_t group;
    int32_t query_node;
} rec_read_out_t;

typedef struct rec_req rec_req_t;
/** Called once per request, on the store thread, when it is done (or failed while stopping).
 * It should only hand the request on (post it to a loop, signal a waiter): the store runs the
 * next request when it returns. */
typedef void (*rec_done_fn)(void *ud, rec_req_t *req);

struct rec_req {
    rec_op_t op;
    rec_done_fn done;
    void *ud;
    fa_arena_t arena;       /* copied arguments and results */
    union {
        fa_str_t id; /* *_GET, *_DELETE */
        rec_list_t list;
        struct {
            rec_task_t task;        /* created/modified/last_enabled are set by the store */
            rec_put_mode_t mode;
        } task_put;
        struct {
            fa_str_t id;
            rec_task_status_t status; /* enabling sets last_enabled */
        } set_status;
        struct {
            rec_template_t tmpl;
            rec_put_mode_t mode;
            rec_task_t *tasks;      /* updated in the same transaction: all or nothing */
            uint32_t n_tasks;
        } template_put;
        rec_recording_t recording;
        rec_replay_t replay;
        struct {
            fa_str_t replay_id;
            const rec_output_t *items; /* the caller's until `done` */
            uint32_t n;
        } outputs;
        struct {
            rec_copy_meta_t meta;
            const eng_batch_t *batch; /* not touched by the store after `done` */
        } copy;
        struct {
            fa_str_t recording_id;
            int64_t from_seq;
            uint32_t max_points;    /* 0 = 4096 */
            eng_batch_t *batch;     /* reset, then filled; points of one db.rp and one batch */
        } read;
    } in;
    /* results */
    int rc;                 /* FA_OK; FA_EAGAIN = PostgreSQL unavailable or store stopping (503);
                             * FA_ENOENT, FA_EEXIST, FA_EINVAL (e.g. bad vars JSON); FA_EPG */
    char err[320];          /* set when rc != FA_OK: what failed and why */
    union {
        rec_task_t task;
        rec_template_t template;
        struct {
            rec_task_t *items;
            uint32_t n;
        } tasks;
        struct {
            rec_template_t *items;
            uint32_t n;
        } templates;
        rec_recording_t recording;
        struct {
            rec_recording_t *items;
            uint32_t n;
        } recordings;
        rec_replay_t replay;
        struct {
            rec_replay_t *items;
            uint32_t n;
        } replays;
        uint64_t n_rows;
        rec_read_out_t read;
    } out;
    struct rec_req *_next;
};

/** Store settings; strings are copied. */
typedef struct rec_store_opts {
    const char *dsn;                /* libpq connection string or URI (config pg.dsn) */
    uint32_t queue_cap;             /* requests queued at most (config pg.queue); 0 = 1024 */
    uint32_t reconnect_min_ms;      /* first backoff after a failure; 0 = 100 */
    uint32_t reconnect_max_ms;      /* backoff cap (config pg.reconnect_max); 0 = 2000 */
    uint32_t connect_timeout_s;     /* libpq connect_timeout unless the DSN sets one; 0 = 5 */
} rec_store_opts_t;

/** Counters, readable from any thread. */
typedef struct rec_store_stats {
    atomic_uint_fast64_t n_done;        /* requests completed (any rc) */
    atomic_uint_fast64_t n_failed;      /* completed with rc != FA_OK */
    atomic_uint_fast64_t n_refused;     /* refused by submit: queue full */
    atomic_uint_fast64_t n_connects;    /* successful (re)connections */
    atomic_uint_fast64_t n_points;      /* points COPYed */
    atomic_bool connected;
} rec_store_stats_t;

typedef struct rec_store rec_store_t;

/** Options from the configuration: pg.dsn, pg.queue, pg.reconnect_max (dsn points into c). */
rec_store_opts_t rec_store_opts_conf(const fa_conf_t *c);

/** Starts the store thread; it connects in the background (no blocking here). NULL on bad
 * options (err filled) or when the thread cannot be created. */
rec_store_t *rec_store_new(const rec_store_opts_t *opts, char *err, size_t errlen);
/** Stops the thread: queued requests complete with FA_EAGAIN ("store is stopping"), the
 * connection is closed, memory freed. Producers must have stopped submitting. */
void rec_store_free(rec_store_t *s);
/** Any thread, never blocks. 0 = queued (done will be called); FA_EAGAIN = queue full, or
 * FA_EINVAL = stopping: then done is NOT called and the request is still the caller's. */
int rec_store_submit_mpsc(rec_store_t *s, rec_req_t *req);
/** Submits and waits for the result (returns req->rc). For threads that may block (main at
 * start-up, loaders, tests): never from an event loop, never from a `done` callback (the store
 * thread would wait for itself). req->done is overwritten. */
int rec_store_call(rec_store_t *s, rec_req_t *req);
/** Counters and connection state. */
const rec_store_stats_t *rec_store_stats(const rec_store_t *s);
/** Requests waiting in the queue now. */
uint32_t rec_store_queued(rec_store_t *s);

/** A request for `op` with its own arena; done/ud may be NULL for rec_store_call. */
rec_req_t *rec_req_new(rec_op_t op, rec_done_fn done, void *ud);
void rec_req_free(rec_req_t *req);
/** Copies s into the request's arena (an empty slice for a NULL or empty one). */
fa_str_t rec_req_strdup(rec_req_t *req, fa_str_t s);
/** Deep-copies a task (strings, dbrps) into the request's arena. */
void rec_req_copy_task(rec_req_t *req, rec_task_t *dst, const rec_task_t *src);
/** Deep-copies a template into the request's arena. */
void rec_req_copy_template(rec_req_t *req, rec_template_t *dst, const rec_template_t *src);
/** Deep-copies a replay's strings into the request's arena. */
void rec_req_copy_replay(rec_req_t *req, rec_replay_t *dst, const rec_replay_t *src);
/** Deep-copies a recording's strings into the request's arena. */
void rec_req_copy_recording(rec_req_t *req, rec_recording_t *dst, const rec_recording_t *src);

/* ---- blocking functions on a connection; used by the store thread, benchmarks and tests ---- */

/** Applies the migrations not yet applied, in one transaction (advisory-locked against other
 * instances). Returns the schema version now in place (>= 1), or -1 with err filled. */
int rec_migrate(PGconn *pg, char *err, size_t errlen);
/** rec_migrate up to version `target` only (tests of a later migration over older data). */
int rec_migrate_to(PGconn *pg, int target, char *err, size_t errlen);
/** The newest migration this build knows. */
int rec_schema_version_latest(void);

/** Appends the COPY text rows of b's points (columns as in rec_copy_columns) to out, the layout
 * of schema version 1 (farad.recording_points_v1; benchmarks and tests compare with it). Strings
 * that are not valid UTF-8 (or hold NUL) get U+FFFD in place of the bad bytes. 0 or FA_E2BIG. */
int rec_encode_points(fa_buf_t *out, const rec_copy_meta_t *m, const eng_batch_t *b);
/** The column list of farad.recording_points that rec_encode_points fills, for COPY. */
extern const char rec_copy_columns[];
/** COPY of a replay's captured outputs into farad.replay_outputs. FA_OK or FA_EPG with err. */
int rec_copy_outputs(PGconn *pg, fa_str_t replay_id, const rec_output_t *items, uint32_t n, fa_buf_t *scratch,
                     char *err, size_t errlen);
/** COPY of b's points as columnar blocks into farad.recording_blocks (recorder/blocks.h; binary
 * COPY, autocommit), numbered from m->first_seq. `scratch` is reused across calls. FA_OK, or
 * FA_EPG / FA_E2BIG with err filled. */
int rec_copy_points(PGconn *pg, const rec_copy_meta_t *m, const eng_batch_t *b, fa_buf_t *scratch,
                    char *err, size_t errlen);
/** Reads up to max points of a recording with seq >= from_seq, in seq order, into b (reset
 * first); stops early where db, rp or the batch changes so that b holds one db.rp and one batch.
 * From its blocks, or from farad.recording_points_v1 for a recording made before schema version 3.
 * Tags come back sorted, fields in jsonb's key order. FA_OK or FA_EPG / FA_ENOMEM with err. */
int rec_read_points(PGconn *pg, fa_str_t recording_id, int64_t from_seq, uint32_t max, eng_batch_t *b,
                    rec_read_out_t *out, char *err, size_t errlen);
#endif
