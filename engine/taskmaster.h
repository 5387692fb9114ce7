/* engine/taskmaster.h - the task master: the running tasks, routing of ingested batches to the
 * tasks that want them, and the engine threads that run the tasks.
 *
 * Routing. The ingest thread looks each batch's db.rp up in an immutable index (rebuilt and
 * swapped in on the ingest thread whenever tasks change), then the batch's measurements (runs of
 * equal names, one hash lookup per run) for tasks whose from() nodes all name a measurement: the
 * cost of a batch does not grow with the number of tasks that do not want it.
 *
 * Sharing. A routed batch is shared read-only by every task that wants it, through one reference
 * count. The last task to finish it pushes it to its engine thread's "done" ring; the ingest
 * thread takes it from there back to the producer that parsed it.
 *
 * Queues and overflow. Each task has a bounded input queue (an SPSC ring of batch references,
 * engine.queue_size slots). When it is full:
 *  - `drop` (the default): the batch is not given to that task; its points count in the task's
 *    points_dropped, the batch in batches_dropped.
 *  - `block`: the batch waits in a per-task backlog held by the ingest thread (engine.backlog
 *    batches), in order, and moves into the queue as soon as the task frees a slot. It blocks that
 *    task's input only: the ingest thread never waits, so no producer and no other task is
 *    delayed. It is a longer queue, not back-pressure: the writer got its answer long ago. When
 *    the backlog is full too, the batch is dropped for that task and counted as above.
 *  Either way a task pins at most queue_size + backlog batches; producers own a fixed number of
 *  batches (tee.ring_slots per event loop), so keep that sum well below tee.ring_slots.
 *
 * Threads. Every task has a home engine thread that runs it: one batch at a time, its DAG node by
 * node, in order, never two threads at once (a claim flag). A thread that has been inside one task
 * for longer than engine.stall_timeout is "stalled": the other threads then run its other tasks
 * until it comes back, so a stuck task delays only itself. The stuck task's queue fills and
 * overflows by its policy.
 *
 * Idle flush. A task may opt in: when no batch came for idle_flush, the engine calls
 * eng_task_advance(task, wall clock) (and again after each further idle_flush), so windows and
 * deadman checks fire when data stops. Off by default: time is the data's time. Tasks with nodes
 * that tick on the wall clock (stats(), so deadman()) get eng_task_tick(task, wall clock) after
 * every wall_tick_ns without data, whatever idle_flush says. */
#ifndef ENGINE_TASKMASTER_H
#define ENGINE_TASKMASTER_H
#include <stdbool.h>
#include <stdint.h>

#include "base/str.h"
#include "engine/ingest.h"
#include "engine/task.h"

typedef struct eng_tm eng_tm_t;

typedef enum eng_overflow {
    ENG_OVERFLOW_DROP = 0,
    ENG_OVERFLOW_BLOCK,
} eng_overflow_t;

typedef struct eng_tm_opts {
    unsigned threads;         /* engine threads (engine.threads), at least 1 */
    unsigned queue_size;      /* per-task input queue in batches (engine.queue_size), power of two >= 4 */
    unsigned backlog;         /* block policy: batches held per task past a full queue (engine.backlog) */
    unsigned max_tasks;       /* slots for tasks (0 = 1024) */
    int64_t stall_ns;         /* engine.stall_timeout: a thread this long in one task is stalled (0 = 100 ms) */
} eng_tm_opts_t;

typedef struct eng_task_opts {
    eng_overflow_t overflow;
    int64_t idle_flush_ns;    /* 0 = off */
    int thread;               /* home engine thread; -1 = the one with the fewest tasks */
} eng_task_opts_t;

/** A task's counters, readable from any thread. */
typedef struct eng_tm_task_stats {
    uint64_t points_in;       /* points the task ran */
    uint64_t points_dropped;  /* points it did not get because its queue (and backlog) was full */
    uint64_t batches_in, batches_dropped;
    uint32_t queued, backlog; /* batches waiting right now */
    double throughput;        /* points/s over the last sampling interval (about 1 s) */
    int home;                 /* its home engine thread */
} eng_tm_task_stats_t;

/** A task master fed by `ingest` (installs itself as its router). NULL with err filled. */
eng_tm_t *eng_tm_new(eng_ingest_t *ingest, const eng_tm_opts_t *opts, char *err, size_t errlen);
/** Starts the engine threads. 0 or a negative FA_E* code. */
int eng_tm_start(eng_tm_t *tm);
/** Stops the engine threads once their queues are empty (stop the ingest first: it routes what is
 * left in its rings), joins them. */
void eng_tm_stop(eng_tm_t *tm);
/** Stops and frees every task; hands every batch back (call with the ingest stopped or running). */
void eng_tm_free(eng_tm_t *tm);

/** Starts task t (the task master owns it from then on, even on failure). A running task with the
 * same id is replaced: from one batch on, the new task gets what the old one got; the old one's
 * queue is discarded; no other task loses or sees twice a single point. 0, or -1 with err. */
int eng_tm_add(eng_tm_t *tm, eng_task_t *t, const eng_task_opts_t *opts, char *err, size_t errlen);
/** Stops and frees the task `id`: 0, FA_ENOENT, or FA_EAGAIN when the task has been inside one
 * call for longer than 2 s (it is unrouted and will be freed by a later call once it returns). */
int eng_tm_remove(eng_tm_t *tm, const char *id);
/** Counters of task `id`: 0 or FA_ENOENT. */
int eng_tm_task_stats(eng_tm_t *tm, const char *id, eng_tm_task_stats_t *out);
/** Task `id` as GraphViz DOT with its stats as attributes (Kapacitor's `show`): 0 or FA_ENOENT. */
int eng_tm_dot(eng_tm_t *tm, const char *id, fa_buf_t *out);
/** Ids of the running tasks, in slot order, into ids[max]; returns how many there are. */
unsigned eng_tm_list(eng_tm_t *tm, char (*ids)[128], unsigned max);

/* --- messages for one task, from any thread (batch queries: engine/scheduler.h) --- */

/** A message a task runs on its engine thread, between batches. The sender allocates it (embed
 * this struct first); the task master calls run, then free; or only free when the task went away. */
typedef struct eng_tm_msg {
    struct eng_tm_msg *_next;
    void (*run)(struct eng_tm_msg *m, eng_task_t *t);
    void (*free)(struct eng_tm_msg *m);
} eng_tm_msg_t;

enum { ENG_TM_INBOX_MAX = 64 }; /* messages waiting per task */

/** Queues m for the task added as `serial` (see eng_tm_watch_t). 0 (the task master owns m), or
 * FA_ENOENT (that task is gone) / FA_EAGAIN (ENG_TM_INBOX_MAX waiting): the caller keeps m. */
int eng_tm_post(eng_tm_t *tm, uint64_t serial, eng_tm_msg_t *m);

/** Who wants to know when tasks come and go (the batch scheduler). Both run on the control thread
 * that adds or removes the task, under the task master's lock: copy what you need from the task
 * in on_add, and do not call back into the task master. Batch tasks (a `batch` source) are never
 * routed from the ingest. */
typedef struct eng_tm_watch {
    void *ud;
    void (*on_add)(void *ud, const eng_task_t *t, uint64_t serial);
    void (*on_remove)(void *ud, uint64_t serial);
} eng_tm_watch_t;
/** Installs w (NULL removes it) and calls on_add for every task already running. */
void eng_tm_set_watch(eng_tm_t *tm, const eng_tm_watch_t *w);
/** The script and dbrps of running task `id`, copied into arena `a` (record and replay look tasks
 * up by id). 0 or FA_ENOENT. Any thread. */
int eng_tm_task_source(eng_tm_t *tm, const char *id, fa_arena_t *a, const char **script, eng_dbrp_t **dbrps,
                       uint32_t *n_dbrps);

/** DOT of a task with node stats as attributes (avg_exec_time_ns, collected, emitted, errors,
 * working_cardinality and the node's own counters, sorted by name) and, when throughput >= 0, a
 * `graph [throughput="N points/s"]` line. Any thread may call it while the task runs. */
int eng_task_dot(const eng_task_t *t, double throughput, fa_buf_t *out);

/** Loads Kapacitor's [load] layout: every DIR/tasks/NAME.tick (in name order) becomes a task whose id
 * is the file name without .tick, with the script's dbrp lines, env and opts. A file that fails is
 * logged with its path, line and char, and skipped. Returns how many started, or -1 when DIR/tasks
 * cannot be read (err says why). */
int eng_tm_load_dir(eng_tm_t *tm, const char *dir, const eng_env_t *env, const eng_task_opts_t *opts, char *err,
                    size_t errlen);
/** The daemon's env until the output helpers land: log()/httpOut output and alert events become
 * log lines ("task ID node NAME: TEXT"); influxDBOut writes are counted in a log line. */
extern const eng_env_t eng_log_env;

/** Measurements the task wants: every from() names one -> their names (task arena), else 0 (all). */
uint32_t eng_task_measurements(eng_task_t *t, fa_str_t **out);
#endif
