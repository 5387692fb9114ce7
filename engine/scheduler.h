/* engine/scheduler.h - the batch scheduler: runs every query node of the task master's batch
 * tasks on time, on its own thread, and hands the answers to the tasks on their engine threads.
 *
 * The scheduler learns of tasks through eng_tm_set_watch and copies each query node's query and
 * schedule. At each tick it asks a query client (eng_qclient_t: the built-in libcurl one, or a fake
 * in tests) to start the run's query; the client is asynchronous (curl multi on the scheduler
 * thread), so a slow query never delays another node's tick. A run whose node still has a query in
 * flight is skipped and counted (queries_skipped): runs never pile up. A failed or timed-out query
 * becomes an error in the node's stats (query_errors) and the log; the next run happens on time.
 * Answers, errors and skip counts reach the task as eng_tm_msg_t messages (eng_tm_post), so every
 * node callback and counter is touched on the task's own thread. */
#ifndef ENGINE_SCHEDULER_H
#define ENGINE_SCHEDULER_H
#include <stdint.h>

#include "base/str.h"
#include "engine/taskmaster.h"

/** A query finished: err NULL and the answer's body, or err says why it failed (body may hold what
 * the server said). Both are valid only during the call. */
typedef void (*eng_qdone_fn)(void *ctx, fa_str_t body, const char *err);

/** An asynchronous InfluxQL client driven by one thread (the scheduler's). */
typedef struct eng_qclient {
    void *ud;
    /** Starts query q (NUL-terminated) against cluster (empty: the default upstream); done(ctx, ...)
     * is called exactly once from a later poll, at the latest timeout_ns after the start. 0, or -1
     * with err (done is then never called). */
    int (*start)(void *ud, const char *q, fa_str_t cluster, int64_t timeout_ns, eng_qdone_fn done, void *ctx, char *err,
                 size_t errlen);
    /** Waits up to timeout_ns for progress; calls done for every query that finished. */
    void (*poll)(void *ud, int64_t timeout_ns);
    /** From another thread: makes a poll in progress return early. */
    void (*wakeup)(void *ud);
    /** Frees the client; queries still in flight are abandoned without done. */
    void (*free)(void *ud);
} eng_qclient_t;

/** The libcurl client: GET <url>/query?epoch=ns&q=... (basic auth when user is not empty), at most
 * 64 MiB of answer. Any HTTP status but 200 is a failure that quotes the start of the body. NULL
 * with err filled. */
eng_qclient_t *eng_qclient_http_new(const char *url, const char *user, const char *password, char *err, size_t errlen);

typedef struct eng_sched eng_sched_t;

typedef struct eng_sched_opts {
    int64_t timeout_ns;       /* per query (0 = 30 s) */
} eng_sched_opts_t;

/** Counters, readable from any thread. */
typedef struct eng_sched_stats {
    uint64_t nodes;           /* query nodes scheduled now */
    uint64_t runs;            /* queries started */
    uint64_t failed;          /* failed or timed out (also in the nodes' query_errors) */
    uint64_t skipped;         /* ticks skipped: the node's previous query was still in flight */
    uint64_t undelivered;     /* answers the task could not take (gone, or its inbox full) */
} eng_sched_stats_t;

/** A scheduler for the batch tasks of tm, querying through client (owned from here on, even on
 * failure). NULL with err filled. */
eng_sched_t *eng_sched_new(eng_tm_t *tm, eng_qclient_t *client, const eng_sched_opts_t *opts, char *err, size_t errlen);
/** Watches tm's tasks (those already running too) and starts the thread. 0 or a negative FA_E*. */
int eng_sched_start(eng_sched_t *s);
/** Stops the thread, stops watching, frees the client and everything else. Call before eng_tm_free. */
void eng_sched_free(eng_sched_t *s);
void eng_sched_stats(eng_sched_t *s, eng_sched_stats_t *out);
#endif
