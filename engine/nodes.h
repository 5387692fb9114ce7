/* engine/nodes.h - every node type's ops, declared here and listed in nodes.c. To add a node:
 * write engine/node_<name>.c with its `const eng_node_ops_t eng_node_<name>`, declare it here,
 * add it to the table in nodes.c (docs/ARCHITECTURE.md, "Anatomy of a node"). */
#ifndef ENGINE_NODES_H
#define ENGINE_NODES_H
#include "engine/task.h"

extern const eng_node_ops_t eng_node_stream, eng_node_from, eng_node_where;
/* eval, state, outputs, multi-parent nodes */
extern const eng_node_ops_t eng_node_eval, eng_node_shift, eng_node_sample, eng_node_default, eng_node_delete,
    eng_node_changeDetect, eng_node_stateCount, eng_node_stateDuration;
/* end eval, state, outputs, multi-parent nodes */
#endif
