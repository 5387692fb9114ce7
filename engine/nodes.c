/* engine/nodes.c - the table of node types the engine runs. */
#include <string.h>

#include "engine/nodes.h"

static const eng_node_ops_t *const table[] = {
    &eng_node_stream,
    &eng_node_from,
    &eng_node_where,
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
