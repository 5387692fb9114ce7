/* engine/nodes.c - the table of node types the engine runs. */
#include <string.h>

#include "engine/nodes.h"

static const eng_node_ops_t *const table[] = {
    &eng_node_stream,
    &eng_node_from,
    &eng_node_where,
    /* alert */
    &eng_node_alert,
    /* eval, state, outputs, multi-parent nodes */
    &eng_node_eval,
    &eng_node_shift,
    &eng_node_sample,
    &eng_node_default,
    &eng_node_delete,
    &eng_node_changeDetect,
    &eng_node_stateCount,
    &eng_node_stateDuration,
    &eng_node_log,
    &eng_node_httpOut,
    &eng_node_influxDBOut,
    &eng_node_stats,
    &eng_node_union,
    &eng_node_join,
    &eng_node_httpPost,
    /* end eval, state, outputs, multi-parent nodes */
    /* windows, groupBy, InfluxQL functions, derivative */
    &eng_node_window, &eng_node_groupby, &eng_node_derivative, &eng_node_count, &eng_node_distinct, &eng_node_mean,
    &eng_node_median, &eng_node_mode, &eng_node_spread, &eng_node_sum, &eng_node_stddev, &eng_node_first,
    &eng_node_last, &eng_node_min, &eng_node_max, &eng_node_percentile, &eng_node_top, &eng_node_bottom,
    &eng_node_difference, &eng_node_elapsed, &eng_node_moving_average, &eng_node_cumulative_sum,
    &eng_node_holt_winters, &eng_node_holt_winters_fit,
    /* combine, flatten, barrier */
    &eng_node_combine,
    &eng_node_flatten,
    &eng_node_barrier,
    /* end combine, flatten, barrier */
    /* batch source and query */
    &eng_node_batch,
    &eng_node_query,
    /* end batch source and query */
};

const eng_node_ops_t *eng_node_ops_find(const char *type)
{
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(table[i]->type, type) == 0)
            return table[i];
    return NULL;
}
