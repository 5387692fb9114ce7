/* engine/batchquery.h - batch tasks: the `query` node's compiled query, its schedule and time
 * bounds (KAPACITOR.md section 9), the InfluxQL text of one run, InfluxDB's JSON result as
 * batches, and a batch replay that runs a task's queries over a time range.
 *
 * A run at tick t queries [t - offset - period, t - offset). Ticks come from .cron() (UTC), or
 * every .every(): with .align() on multiples of `every` counted from Go's zero time (year 1, as
 * Go's Time.Truncate does), else `every` after the task started. The query text gets the run's
 * bounds in its WHERE clause; a GROUP BY and fill() written in the text are replaced by what
 * .groupBy() and .fill() say (so none when they are absent).
 *
 * Threads: everything here but the eng_query_feed family is pure; feeding runs on the task's
 * thread. The scheduler (engine/scheduler.h) drives the live runs. */
#ifndef ENGINE_BATCHQUERY_H
#define ENGINE_BATCHQUERY_H
#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/str.h"
#include "engine/cron.h"
#include "engine/nodeutil.h" /* eng_go_truncate, eng_rfc3339 */
#include "engine/task.h"

/** One source of the query's FROM clause ("db"."rp"."m"); empty parts were not written. */
typedef struct eng_query_source {
    fa_str_t text;               /* the source as written */
    fa_str_t db, rp, measurement;
} eng_query_source_t;

/** A query node's compiled query and schedule (immutable once the task is built). */
typedef struct eng_query {
    fa_str_t head;               /* "SELECT ... FROM ..." as written, trimmed */
    fa_str_t cond;               /* the WHERE condition as written, or empty */
    fa_str_t tail;               /* ORDER BY / LIMIT / OFFSET / SLIMIT / SOFFSET / tz() as written */
    eng_query_source_t *sources;
    uint32_t n_sources;
    int64_t period, every, offset; /* ns */
    bool has_cron, align, align_group;
    eng_cron_t cron;
    fa_str_t cron_text;
    int64_t group_time;          /* groupBy(time(d)): d in ns, 0 = none */
    fa_str_t *group_tags;        /* groupBy tags in the order written ("*" allowed) */
    uint32_t n_group_tags;
    bool by_name;                /* groupByMeasurement() */
    bool group_star;             /* '*' among the group tags */
    char fill[40];               /* "" (not set or null), "none", "previous", "linear" or a number */
    fa_str_t cluster;            /* .cluster(): the InfluxDB cluster name; empty = the default */
} eng_query_t;

/** Splits an InfluxQL SELECT into head, condition and tail, and lists its sources (subqueries'
 * sources too), into arena a. 0, or -1 with err and *err_off (byte offset in q). */
int eng_query_split(fa_str_t q, eng_query_t *out, fa_arena_t *a, char *err, size_t errlen, size_t *err_off);

/** The bounds of the run at tick t: [t - offset - period, t - offset). */
void eng_query_bounds(const eng_query_t *q, int64_t tick, int64_t *start, int64_t *stop);
/** The first tick after the task started at `now`, or after tick `prev` (0 = none yet) once `now`
 * has reached it. A tick already past when `now` is later than it by a whole interval is not run:
 * the result is the first tick after now. -1 when a cron expression has no more matches. */
int64_t eng_query_next_tick(const eng_query_t *q, int64_t prev, int64_t now);
/** The InfluxQL text of the run over [start, stop) (NUL-terminated in out). 0 or FA_ENOMEM. */
int eng_query_text(const eng_query_t *q, int64_t start, int64_t stop, fa_buf_t *out);
/** Parses an RFC 3339 time ("2022-01-02T00:05:00.25Z", offsets allowed). 0 or -1. */
int eng_rfc3339_parse(fa_str_t s, int64_t *out);

/** The query node's own counters (n->stats.own[i]). */
enum {
    ENG_QUERY_ERRORS = 0,        /* query_errors: failed, slow or unreadable queries */
    ENG_QUERY_BATCHES,           /* batches_queried */
    ENG_QUERY_POINTS,            /* points_queried */
    ENG_QUERY_SKIPPED,           /* queries_skipped: the previous run was still in flight */
};

/** The compiled query of query node n (n->ops == &eng_node_query), or NULL. */
const eng_query_t *eng_query_of(const eng_node_t *n);

/** InfluxDB's JSON answer ({"results":[{"series":[{name,tags,columns,values}]}]}) as batches, in
 * arena a: one per series, its group from the node's groupBy (dims may be NULL), every number a
 * float, nulls left out, rows with no value dropped; tmax the last point's time when the query
 * groups by time, else `stop`. Times: integers (epoch=ns) or RFC 3339 strings. 0, or -1 with err
 * (an "error" in the answer, or JSON that is not an answer). */
int eng_query_parse(fa_str_t json, const eng_query_t *q, const eng_dims_t *dims, int64_t stop, fa_arena_t *a,
                    eng_rows_t **rows, uint32_t *n_rows, char *err, size_t errlen);

/** On the task's thread: emits the batches of one answer from query node n (or counts an error on
 * it and logs it). The task's time moves to `stop`. Returns how many batches went out, or -1. */
int eng_query_feed(eng_node_t *n, fa_str_t json, int64_t start, int64_t stop);
/** On the task's thread: a run that failed before any answer (HTTP error, timeout): an error in
 * query_errors and the log, with the run's bounds. */
void eng_query_fail(eng_node_t *n, int64_t start, int64_t stop, const char *why);
/** On the task's thread: `k` runs were skipped because the previous one was still in flight. */
void eng_query_skipped(eng_node_t *n, uint64_t k);

/** How a batch replay (or `farad test`) gets answers: runs query text `q` of node n and puts
 * InfluxDB's JSON answer into body. 0, or -1 with err. */
typedef int (*eng_query_fn)(void *ud, const eng_node_t *n, const char *q, fa_buf_t *body, char *err, size_t errlen);

/** Batch replay: for every query node of t, the ticks start + k*every (or the cron matches) up to
 * and including stop, in time order across nodes; each tick's query goes through fn and its answer
 * into the task (a failed query counts as the node's error and the replay goes on). Returns how
 * many queries ran, or -1 when t has no query node. */
int eng_query_replay(eng_task_t *t, int64_t start, int64_t stop, eng_query_fn fn, void *ud);

/** What a batch replay hands over before the children see it: batch b of query node n, the
 * index-th query node of the task (task order), from the run over [start, stop). b lives until
 * the callback returns. */
typedef void (*eng_query_tap_fn)(void *ud, eng_node_t *n, uint32_t index, const eng_rows_t *b, int64_t start, int64_t stop);

/** How eng_query_replay_with runs. */
typedef struct eng_query_replay_opts {
    eng_query_fn fn;         /* gets the answers (required) */
    eng_query_tap_fn tap;    /* sees every batch first; NULL = none */
    bool feed;               /* the batches go on to the node's children and are counted (false:
                              * they stop at tap, uncounted; tap may eng_query_emit a copy) */
    bool stop_on_error;      /* a failed run ends the replay: -1 with err (else counted, and on) */
    void *ud;                /* for fn and tap */
} eng_query_replay_opts_t;

/** eng_query_replay with a tap: the same ticks in the same order. Returns how many queries ran,
 * or -1 with err (no query node in t; with stop_on_error, the first failed run and its bounds). */
int eng_query_replay_with(eng_task_t *t, int64_t start, int64_t stop, const eng_query_replay_opts_t *o, char *err,
                          size_t errlen);

/** The index-th query node of t in task order (the numbering of eng_query_tap_fn), or NULL. */
eng_node_t *eng_query_node(eng_task_t *t, uint32_t index);

/** On the task's thread: emits a batch recorded from query node n, as a batch (not as points):
 * its name and group tags are those of points[0] (the node's groupBy makes the group), tmax is
 * the batch's time. Counts it as queried; the task's time moves to tmax. n_points 0 does nothing. */
void eng_query_emit(eng_node_t *n, eng_point_t *points, uint32_t n_points, int64_t tmax);

/** On the task's thread: emits a batch of query node n that has no points (eng_query_parse gives
 * one for a series whose rows were all null; b's name, tags, group and dims are kept), at time
 * tmax. Counted as queried; the task's time moves to tmax. Kapacitor's replay-live batch sends
 * such batches on (its replay of a recording skips them). */
void eng_query_emit_empty(eng_node_t *n, const eng_rows_t *b, int64_t tmax);
#endif
