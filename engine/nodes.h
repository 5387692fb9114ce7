/* engine/nodes.h - every node type's ops, declared here and listed in nodes.c. To add a node:
 * write engine/node_<name>.c with its `const eng_node_ops_t eng_node_<name>`, declare it here,
 * add it to the table in nodes.c (docs/ARCHITECTURE.md, "Anatomy of a node"). */
#ifndef ENGINE_NODES_H
#define ENGINE_NODES_H
#include "engine/task.h"

extern const eng_node_ops_t eng_node_stream, eng_node_from, eng_node_where;
/* alert */
extern const eng_node_ops_t eng_node_alert;
/* eval, state, outputs, multi-parent nodes */
extern const eng_node_ops_t eng_node_eval, eng_node_shift, eng_node_sample, eng_node_default, eng_node_delete,
    eng_node_changeDetect, eng_node_stateCount, eng_node_stateDuration, eng_node_log, eng_node_httpOut,
    eng_node_influxDBOut, eng_node_stats, eng_node_union, eng_node_join, eng_node_httpPost;

/** httpOut('name') of task t whose name is `endpoint`, or NULL. */
const eng_node_t *eng_httpout_find(const eng_task_t *t, fa_str_t endpoint);
/** Appends the node's latest result (Kapacitor's {"series":[...]}, compact, no newline; or
 * {"series":null} before any data) to out. Safe from any thread while the task runs. 0 or FA_E*. */
int eng_httpout_read(const eng_node_t *n, fa_buf_t *out);

/** What an influxDBOut node asks of the writer beyond db, rp and points. */
typedef struct eng_influxdbout_opts {
    fa_str_t consistency; /* writeConsistency: "" = the upstream's default */
    fa_str_t precision;   /* as written in the script; times are already truncated to it */
    bool create;          /* create(): CREATE DATABASE before the first write */
} eng_influxdbout_opts_t;
/** The options of influxDBOut node n (valid as long as its task); NULL for other nodes. */
const eng_influxdbout_opts_t *eng_influxdbout_opts(const eng_node_t *n);
/* end eval, state, outputs, multi-parent nodes */

/* windows, groupBy, InfluxQL functions, derivative */
extern const eng_node_ops_t eng_node_window, eng_node_groupby, eng_node_derivative;
extern const eng_node_ops_t eng_node_count, eng_node_distinct, eng_node_mean, eng_node_median, eng_node_mode,
    eng_node_spread, eng_node_sum, eng_node_stddev, eng_node_first, eng_node_last, eng_node_min, eng_node_max,
    eng_node_percentile, eng_node_top, eng_node_bottom, eng_node_difference, eng_node_elapsed, eng_node_moving_average,
    eng_node_cumulative_sum, eng_node_holt_winters, eng_node_holt_winters_fit;

/* combine, flatten, barrier */
extern const eng_node_ops_t eng_node_combine, eng_node_flatten, eng_node_barrier;
/* end combine, flatten, barrier */
/* batch source and query */
extern const eng_node_ops_t eng_node_batch, eng_node_query;
/* end batch source and query */
#endif
