/* engine/runner.h - the offline runner: feeds a time-sorted stream of points to one task and
 * collects what it emits (points at the end of the pipeline, alert events, log/httpOut output)
 * as text lines in time order. `farad test` prints them; a later issue's replay uses the same core.
 * Also the line-protocol writer every text capture uses. */
#ifndef ENGINE_RUNNER_H
#define ENGINE_RUNNER_H
#include <stdbool.h>
#include <stdint.h>

#include "base/str.h"
#include "engine/point.h"
#include "engine/task.h"

/** Appends p as one line of InfluxDB line protocol (no newline): escaped name, tags and field
 * keys, floats in shortest round-trip decimal form without exponent (Go's 'f', -1), integers with
 * `i`, unsigned with `u`, strings quoted with `"` and `\` escaped, time in ns. 0 or FA_ENOMEM. */
int eng_lp_format_point(fa_buf_t *out, const eng_point_t *p);
/** Appends a float as InfluxDB writes it in line protocol (shortest round-trip, no exponent). */
int eng_lp_format_float(fa_buf_t *out, double f);

/** What the runner reports: kind "point" (a point a leaf node emitted, or one influxDBOut writes),
 * "alert" (event JSON), or the kind a node gave env->output ("log", "httpOut", ...). */
typedef void (*eng_runner_emit_fn)(void *ud, eng_node_t *n, fa_str_t kind, fa_str_t text);

typedef struct eng_runner_opts {
    fa_str_t db, rp;        /* db.rp the points are fed as (empty: the task's first dbrp) */
    bool real_clock;        /* sleep between points as long as their times differ (clock=real) */
    int64_t idle_flush_ns;  /* > 0: a gap longer than this in the data advances the task every
                             * idle_flush_ns of data time, and once more after the last point */
} eng_runner_opts_t;

typedef struct eng_runner {
    eng_task_t *task;
    eng_env_t env;          /* installed in the task: captures and reports through emit */
    eng_runner_emit_fn emit;
    void *ud;
    fa_buf_t line;          /* the text being reported */
    uint64_t n_points, n_alerts, n_outputs;
} eng_runner_t;

/** Builds the task (`dbrps` as eng_task_new; when the script has its own dbrp lines they win and
 * `dbrps` only says what the data is fed as) with an env that reports everything through emit,
 * and taps every leaf node but the output nodes (alert, log, httpOut, httpPost, influxDBOut:
 * they report through the env). 0, or -1 with err. */
int eng_runner_init(eng_runner_t *r, const char *id, const char *script, size_t len, const eng_dbrp_t *dbrps,
                    uint32_t n_dbrps, eng_runner_emit_fn emit, void *ud, tick_err_t *err);
void eng_runner_deinit(eng_runner_t *r);
/** Feeds n points in time order (a stable sort by time: equal times keep their order), and runs
 * the idle flushes of opts. Everything the task emits is reported before this returns. */
void eng_runner_run(eng_runner_t *r, const eng_point_t *points, uint32_t n, const eng_runner_opts_t *opts);
#endif
