/* tick/expr.h - lambda expressions compiled to a small register bytecode, and its evaluator.
 *
 * Compile once per task (tick_expr_compile), evaluate per point (tick_expr_eval). References
 * ("field" / "tag") are mapped to slot numbers at compile time by the engine's resolver; at
 * evaluation the engine passes the slot values in an array, so the evaluator never looks a
 * name up. Types are checked at compile time as far as they are known (literals, operators,
 * function signatures, resolver hints) and again at evaluation for the rest.
 *
 * A program and its per-group state are used by one thread at a time: compiled regexes keep
 * their pcre2 match data inside the program.
 */
#ifndef TICK_EXPR_H
#define TICK_EXPR_H
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "tick/ast.h"
#include "tick/value.h"

/** Largest slot number a resolver may hand out, plus one. */
#define TICK_MAX_SLOTS 4096

/** Maps reference names to slots. Called once per reference at compile time. */
typedef struct tick_resolver {
    /** Returns the slot (0 .. TICK_MAX_SLOTS-1) for `name`, or -1 when the name cannot be
     * resolved (the compile fails with "unknown reference"). *type may be set to the type the
     * slot will always hold (e.g. TICK_V_TIME for "time"); it is TICK_V_INVALID on entry. */
    int (*resolve)(void *ud, fa_str_t name, tick_vtype_t *type);
    void *ud;
} tick_resolver_t;

/** A ready-made resolver: slots in first-seen order; "time" gets TICK_V_TIME. */
typedef struct tick_slotmap {
    fa_str_t names[64];
    uint32_t n;
} tick_slotmap_t;

/** An empty map. */
void tick_slotmap_init(tick_slotmap_t *m);
/** A resolver backed by `m` (names are kept as slices: the AST's text must outlive `m`). */
tick_resolver_t tick_slotmap_resolver(tick_slotmap_t *m);
/** Slot of `name`, or -1. */
int tick_slotmap_find(const tick_slotmap_t *m, fa_str_t name);

/** A compiled lambda expression. Lives in the arena given to tick_expr_compile(). */
typedef struct tick_prog tick_prog_t;

/** What one evaluation needs besides the program. */
typedef struct tick_eval_ctx {
    const tick_value_t *slots; /* values by slot number; TICK_V_MISSING for absent fields */
    uint32_t n_slots;          /* must cover every slot the program uses */
    void *state;               /* tick_prog_state_size() bytes for this group, set up once with
                                  tick_prog_state_init(); may be NULL when the size is 0 */
    fa_arena_t *scratch;       /* strings built by the evaluation go here (give it a limit);
                                  the caller resets it once it has used the result */
    int64_t now;               /* ns since the epoch: what now() returns */
} tick_eval_ctx_t;

/** Compiles `lambda` (a TICK_EX_LAMBDA or its body, after tick_check) into `a`. Constant parts
 * are folded; type errors known without data are reported here with their position.
 * Returns 0, or -1 with *err filled (code TICK_ETYPE, TICK_EUNDEF or TICK_ELIMIT). */
int tick_expr_compile(const tick_expr_t *lambda, const tick_resolver_t *r, fa_arena_t *a, tick_prog_t **out,
                      tick_err_t *err);
/** Evaluates `p`. Returns 0 with *out set, or -1 with *err filled: Kapacitor drops the point
 * and counts the error. Strings in *out point into the program, the slots or ctx->scratch. */
int tick_expr_eval(const tick_prog_t *p, tick_eval_ctx_t *ctx, tick_value_t *out, tick_err_t *err);
/** tick_expr_eval() for where/alert lambdas: anything but a boolean result is an error. */
int tick_expr_eval_bool(const tick_prog_t *p, tick_eval_ctx_t *ctx, bool *out, tick_err_t *err);

/** Type of every result, or TICK_V_INVALID when it depends on the data. */
tick_vtype_t tick_prog_type(const tick_prog_t *p);
/** Bytes of per-group state (sigma, count, spread): 0 when the program is stateless. */
size_t tick_prog_state_size(const tick_prog_t *p);
/** Sets a state block to its initial value (a new group, or a reset). */
void tick_prog_state_init(const tick_prog_t *p, void *state);
/** Number of bytecode instructions (0 when the whole expression folded to a constant). */
uint32_t tick_prog_len(const tick_prog_t *p);
/** Frees what the arena cannot (pcre2 code and JIT memory). Call before the arena goes. */
void tick_prog_release(tick_prog_t *p);
#endif
