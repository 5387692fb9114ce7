/* engine/nodes.c - the table of node types the engine runs. */
#include <string.h>

#include "engine/nodes.h"

static const eng_node_ops_t *const table[] = {
    &eng_node_stream,
    &eng_node_from,
    &eng_node_where,
    /* alert */
    &eng_node_alert,
};

const eng_node_ops_t *eng_node_ops_find(const char *type)
{
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(table[i]->type, type) == 0)
            return table[i];
    return NULL;
}
