/* engine/props.h - reading a node's checked properties (tick_check has validated their types). */
#ifndef ENGINE_PROPS_H
#define ENGINE_PROPS_H
#include <stdbool.h>
#include <stdint.h>

#include "engine/task.h"

/** The last `.name(...)` call's argument i, or NULL when the property was not set. */
const tick_expr_t *eng_prop_arg(const eng_node_t *n, const char *name, uint32_t i);
/** Whether `.name()` was called at all (flags like .align()). */
bool eng_prop_set(const eng_node_t *n, const char *name);
/** String argument 0 (or def). */
fa_str_t eng_prop_str(const eng_node_t *n, const char *name, fa_str_t def);
/** Duration argument 0 in ns (or def). */
int64_t eng_prop_dur(const eng_node_t *n, const char *name, int64_t def);
/** Int argument 0 (or def); a float is truncated. */
int64_t eng_prop_int(const eng_node_t *n, const char *name, int64_t def);
/** Float argument 0 (or def); an int is converted. */
double eng_prop_float(const eng_node_t *n, const char *name, double def);
/** Every string argument of the last call (lists flattened, `*` as "*"), into the task arena. */
uint32_t eng_prop_strs(const eng_node_t *n, const char *name, fa_str_t **out);
/** The same for the node's creating call's own arguments (|groupBy('host')). */
uint32_t eng_call_strs(const eng_node_t *n, fa_str_t **out);
/** Value of a literal expression as text/number, for creating-call arguments. */
fa_str_t eng_expr_str(const tick_expr_t *e);
int64_t eng_expr_int(const tick_expr_t *e);
double eng_expr_float(const tick_expr_t *e);
#endif
