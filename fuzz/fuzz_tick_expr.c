/* fuzz/fuzz_tick_expr.c - libFuzzer: parse the input as a lambda body (what follows `lambda:`), compile,
 * evaluate against fixed slots.
 * Small arena limits so the limit paths run too; compile and eval errors are expected outcomes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tick/expr.h"
#include "tick/tick.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int resolve(void *ud, fa_str_t name, tick_vtype_t *type)
{
    static const char *const names[] = { "f", "i", "s", "b", "d", "time", "m" };
    (void)ud;
    for (int i = 0; i < 7; i++)
        if (fa_str_eq_c(name, names[i])) {
            if (i == 5)
                *type = TICK_V_TIME;
            return i;
        }
    return -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *src = malloc(size ? size : 1); /* a copy, so reads past the end are caught */
    memcpy(src, data, size);

    fa_arena_t a, scratch;
    fa_arena_init(&a, 4096, 1 << 20);
    fa_arena_init(&scratch, 1024, 1 << 16);
    tick_expr_t *e;
    tick_prog_t *p;
    tick_err_t err;
    tick_resolver_t r = { resolve, NULL };
    if (tick_parse_lambda(src, size, &a, &e, &err) == 0 && e != NULL &&
        tick_expr_compile(e, &r, &a, &p, &err) == 0) {
        tick_value_t slots[7] = { tick_float(2.5), tick_int(-3), tick_string(FA_STR_LIT("web-12")), tick_bool(true),
                                  tick_duration(90000000000LL), tick_time(1678887930000000000LL), tick_missing() };
        size_t ss = tick_prog_state_size(p);
        void *state = ss ? aligned_alloc(16, (ss + 15) & ~(size_t)15) : NULL;
        if (state)
            tick_prog_state_init(p, state);
        tick_eval_ctx_t ctx = { slots, 7, state, &scratch, 1678887930000000000LL };
        tick_value_t out;
        for (int k = 0; k < 3; k++) {
            fa_arena_reset(&scratch);
            if (tick_expr_eval(p, &ctx, &out, &err) == 0 && out.type == TICK_V_STRING && out.s.len)
                (void)out.s.ptr[out.s.len - 1]; /* the slice must be readable */
        }
        free(state);
        tick_prog_release(p);
    }
    fa_arena_deinit(&scratch);
    fa_arena_deinit(&a);
    free(src);
    return 0;
}
