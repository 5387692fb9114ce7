/* engine/lambda.h - a node's compiled lambda: slots filled from a point (fields, then tags,
 * then "time"), per-group state for stateful functions (sigma, count, spread). */
#ifndef ENGINE_LAMBDA_H
#define ENGINE_LAMBDA_H
#include <stdbool.h>

#include "engine/task.h"

typedef struct eng_lambda {
    tick_prog_t *prog;
    tick_slotmap_t slots;
    size_t state_size;
    struct lambda_state *_states; /* per group, when state_size != 0; owned (malloc) */
    uint32_t _n_states, _cap_states;
} eng_lambda_t;

/** Compiles `e` (a lambda argument, TICK_EX_LAMBDA or a bare expression) into the task arena.
 * Returns 0, or -1 with err at the expression's position. */
int eng_lambda_compile(eng_node_t *n, const tick_expr_t *e, eng_lambda_t *out, tick_err_t *err);
/** Evaluates for point p; strings in *out may point into the task's scratch arena. */
int eng_lambda_eval(eng_lambda_t *l, eng_node_t *n, const eng_pt_t *p, tick_value_t *out, tick_err_t *err);
/** Evaluates a predicate: anything but a bool is an error. */
int eng_lambda_eval_bool(eng_lambda_t *l, eng_node_t *n, const eng_pt_t *p, bool *out, tick_err_t *err);
/** Frees the group states and the program's regexes. */
void eng_lambda_release(eng_lambda_t *l);

/** A field value as a lambda value (strings are slices into the point). */
tick_value_t eng_value_to_tick(const eng_value_t *v);
/** A lambda result as a field value; false for types a field cannot hold (regex, missing). */
bool eng_value_from_tick(const tick_value_t *t, eng_value_t *out);
#endif
