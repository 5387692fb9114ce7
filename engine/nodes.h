/* engine/nodes.h - every node type's ops, declared here and listed in nodes.c. To add a node:
 * write engine/node_<name>.c with its `const eng_node_ops_t eng_node_<name>`, declare it here,
 * add it to the table in nodes.c (docs/ARCHITECTURE.md, "Anatomy of a node"). */
#ifndef ENGINE_NODES_H
#define ENGINE_NODES_H
#include "engine/task.h"

extern const eng_node_ops_t eng_node_stream, eng_node_from, eng_node_where;

/* windows, groupBy, InfluxQL functions, derivative */
extern const eng_node_ops_t eng_node_window, eng_node_groupby, eng_node_derivative;
extern const eng_node_ops_t eng_node_count, eng_node_distinct, eng_node_mean, eng_node_median, eng_node_mode,
    eng_node_spread, eng_node_sum, eng_node_stddev, eng_node_first, eng_node_last, eng_node_min, eng_node_max,
    eng_node_percentile, eng_node_top, eng_node_bottom, eng_node_difference, eng_node_elapsed, eng_node_moving_average,
    eng_node_cumulative_sum, eng_node_holt_winters, eng_node_holt_winters_fit;
#endif
