/* recorder/record.h - recordings and replays (issue 6): Kapacitor's /recordings and /replays
 * behind the engine's eng_rr_svc_t (engine/replay.h).
 *
 * Threads. One recorder thread owns a PostgreSQL connection of its own (the store thread's queue
 * stays free for task definitions): it answers the API calls, and drives the stream recordings.
 * A stream recording is a task in the live task master, built from the recorded task's dbrps and
 * measurements (`stream|from().measurement(m)` per measurement), whose leaves are a sink: the
 * engine thread stages each point row-wise into the recording's buffer (bounded: past
 * stream_buffer bytes the point is dropped and counted); the recorder thread swaps the buffer out
 * every second (or at 32 MiB) and writes it as columnar blocks into farad.recording_blocks
 * (recorder/blocks.h, binary COPY). At the wall-clock stop the task is removed
 * and the rest written, whether or not data came. Query and batch recordings and replays each run
 * on a job thread with their own connection (at most max_jobs at once); a batch recording runs
 * the task's query nodes over its range (batchrec.c) and keeps each batch with its query node.
 *
 * Status. running | finished | failed. A recording that dropped points, or met a PostgreSQL error,
 * ends failed with the error saying what was lost; the in-memory state answers GET while
 * PostgreSQL is down, and the final row is written once it is back.
 *
 * Replays run the task alone (engine/runner.h: no task master, nothing live is touched), reading
 * the recording in seq order: clock fast|real, recording-time keep or shift to now. Outputs fire
 * through the daemon's env (alert handlers, influxDBOut), or with "capture": true (farad's
 * extension) go into farad.replay_outputs (kind point|alert, payload jsonb) instead. */
#ifndef RECORDER_RECORD_H
#define RECORDER_RECORD_H
#include <stddef.h>

#include "engine/replay.h"
#include "engine/taskmaster.h"

typedef struct rec_rr rec_rr_t;

typedef struct rec_rr_opts {
    const char *dsn;            /* libpq connection string (pg.dsn) */
    eng_tm_t *tm;               /* stream recordings hook into its routing */
    eng_rr_lookup_fn lookup;    /* finds tasks by id (then farad.tasks is asked) */
    void *lookup_ud;
    const eng_env_t *env;       /* replays that do not capture fire through it */
    const char *upstream_url;   /* InfluxDB for query recordings and replay-live query */
    size_t stream_buffer;       /* bytes a stream recording stages between two writes (0 = 64 MiB;
                                 * config record.stream_buffer) */
    unsigned max_jobs;          /* query recordings and replays running at once (0 = 4) */
} rec_rr_opts_t;

/** Starts the recorder thread (it connects in the background). NULL with err on bad options. */
rec_rr_t *rec_rr_new(const rec_rr_opts_t *opts, char *err, size_t errlen);
/** Stops the recordings (their state is written as failed: "faradd stopped"), waits for the jobs,
 * answers queued calls with 503, joins the thread. Call before freeing the task master. */
void rec_rr_free(rec_rr_t *r);
/** The API's view of the service. */
eng_rr_svc_t rec_rr_svc(rec_rr_t *r);
#endif
