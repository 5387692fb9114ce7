/* engine/influxql.h - the InfluxQL function kernels behind count(), mean(), top() ... and the
 * way a window feeds a decomposable aggregate without keeping its points.
 *
 * Semantics follow InfluxDB 1.6 (the functions Kapacitor calls): output types (count is an
 * integer, mean a float, sum keeps integers), selector tie rules (first/last: earliest/latest
 * time, then the larger value; min/max: then the earliest time; otherwise arrival order),
 * percentile's index floor(n*p/100 + 0.5) - 1, sample standard deviation, and so on. */
#ifndef ENGINE_INFLUXQL_H
#define ENGINE_INFLUXQL_H
#include <stdbool.h>
#include <stdint.h>

#include "engine/task.h"

typedef enum eng_iql_fn {
    ENG_IQL_COUNT, ENG_IQL_DISTINCT, ENG_IQL_MEAN, ENG_IQL_MEDIAN, ENG_IQL_MODE, ENG_IQL_SPREAD,
    ENG_IQL_SUM, ENG_IQL_STDDEV, ENG_IQL_FIRST, ENG_IQL_LAST, ENG_IQL_MIN, ENG_IQL_MAX,
    ENG_IQL_PERCENTILE, ENG_IQL_TOP, ENG_IQL_BOTTOM, ENG_IQL_DIFFERENCE, ENG_IQL_ELAPSED,
    ENG_IQL_MOVING_AVERAGE, ENG_IQL_CUMULATIVE_SUM, ENG_IQL_HOLT_WINTERS, ENG_IQL_HOLT_WINTERS_FIT,
    ENG_IQL_N_FN
} eng_iql_fn_t;

/** "No time of its own": the output takes the batch's time. */
#define ENG_IQL_NOTIME INT64_MIN

/** One function call as the script wrote it. */
typedef struct eng_iql_spec {
    eng_iql_fn_t fn;
    fa_str_t field;          /* the input field */
    fa_str_t as;             /* output field name: .as() or the method name */
    double pct;              /* percentile */
    int64_t n;               /* top/bottom count, movingAverage window, holtWinters h */
    int64_t m;               /* holtWinters season */
    int64_t unit;            /* elapsed unit, holtWinters interval (ns) */
    fa_str_t *tb_names;      /* top/bottom: extra fields/tags that make a point unique */
    uint32_t n_tb;
    bool point_times;        /* .usePointTimes() (forced on for transforms and holtWinters) */
} eng_iql_spec_t;

/** A result: a value, its own time (or ENG_IQL_NOTIME), and the input point it came from
 * (selectors, top/bottom, transforms) or -1. */
typedef struct eng_iql_out {
    eng_value_t v;
    int64_t time;
    int32_t src;
} eng_iql_out_t;

/** Running state of a decomposable aggregate (count sum mean spread stddev): O(1). */
typedef struct eng_iql_acc {
    uint64_t n;
    union { double f; int64_t i; } a, b; /* sum | min,max | mean,m2 */
    uint8_t type;            /* eng_ftype_t + 1; 0 = nothing seen */
    uint8_t bad;             /* 1 missing field, 2 wrong type, 3 unsupported type */
    uint8_t bad_type;        /* the offending type when bad */
} eng_iql_acc_t;

/** Running state of a transform (difference elapsed movingAverage cumulativeSum) for one group. */
typedef struct eng_iql_tstate {
    uint8_t type;            /* eng_ftype_t + 1; 0 = nothing seen */
    bool has_prev;
    int64_t prev_time;
    eng_value_t prev;
    union { double f; int64_t i; } sum;
    union { double f; int64_t i; } *ring; /* movingAverage: n values */
    uint32_t pos, len;
} eng_iql_tstate_t;

/** The function for a TICKscript method name, or -1. */
int eng_iql_fn_from_name(const char *name);
/** The method name of fn ("holtWinters" for both Holt-Winters forms, as Kapacitor names them). */
const char *eng_iql_fn_name(eng_iql_fn_t fn);
bool eng_iql_is_transform(eng_iql_fn_t fn);
/** first last min max percentile: the output carries the selected point's fields and tags. */
bool eng_iql_is_simple_selector(eng_iql_fn_t fn);
/** distinct top bottom holtWinters: many results, emitted as a batch. */
bool eng_iql_gives_batch(eng_iql_fn_t fn);
/** count sum mean spread stddev: O(1) running state (eng_iql_acc_t). */
bool eng_iql_is_decomposable(eng_iql_fn_t fn);
/** count and sum answer an empty batch (with 0). */
bool eng_iql_empty_ok(eng_iql_fn_t fn);

/** Adds one value. Sets a->bad instead of failing. */
void eng_iql_acc_add(const eng_iql_spec_t *s, eng_iql_acc_t *a, const eng_value_t *v);
/** The aggregate's value: 1 with *out, 0 when there is none (empty and not count/sum). */
int eng_iql_acc_result(const eng_iql_spec_t *s, const eng_iql_acc_t *a, eng_iql_out_t *out);
/** Kapacitor's text for a->bad ("field x missing from point cannot aggregate"), into buf. */
const char *eng_iql_acc_error(const eng_iql_spec_t *s, const eng_iql_acc_t *a, char *buf, size_t len);

/** One step of a transform: 1 with *out, 0 for no output yet, -1 with err. `a` holds the
 * moving-average ring (allocated on the first value). */
int eng_iql_transform_step(const eng_iql_spec_t *s, eng_iql_tstate_t *st, fa_arena_t *a, const eng_value_t *v,
                           int64_t t, eng_iql_out_t *out, char *err, size_t errlen);

/** Runs the function over a batch's points (time order). Results go into `a`. Returns how many
 * (0 is fine), or -1 with err (a missing field, mixed types, an unsupported type). */
int eng_iql_reduce(const eng_iql_spec_t *s, const eng_point_t *pts, uint32_t n, fa_arena_t *a,
                   eng_iql_out_t **out, char *err, size_t errlen);

/** Holt-Winters forecast (InfluxDB's method: Nelder-Mead fit of alpha, beta, gamma, phi from a
 * grid of starting guesses). times/values in time order; results into `a`. */
int eng_iql_holt_winters(const eng_iql_spec_t *s, const int64_t *times, const double *values, uint32_t n,
                         fa_arena_t *a, eng_iql_out_t **out);

/* --- window + aggregate fusion (node_window.c <-> node_influxql.c) --- */

/** Bytes of running state per group when InfluxQL node `n` can be fed point by point by its
 * parent window (a decomposable aggregate); 0 when it needs the window's points. Reads only
 * the node's type, so a window may ask before its children are initialized. */
size_t eng_iql_fuse_size(const eng_node_t *n);
/** Adds a point to the running state `acc` (fuse_size bytes, zeroed to start). */
void eng_iql_fuse_add(eng_node_t *n, void *acc, const eng_point_t *p);
/** Does what rows() does for a window batch `b` (b->n == 0: its points went through
 * fuse_add): counts the batch as collected, emits the aggregate, resets acc. */
void eng_iql_fuse_emit(eng_node_t *n, void *acc, const eng_rows_t *b);
#endif
