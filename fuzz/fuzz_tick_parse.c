/* fuzz/fuzz_tick_parse.c - libFuzzer driver: parse, check, format and DOT on arbitrary input,
 * with a small arena limit so the out-of-memory paths run too. Formatted output must parse. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "tick/tick.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fa_arena_t a;
    tick_ast_t *ast, *again;
    tick_pipeline_t *p;
    tick_err_t err;
    fa_buf_t text = FA_BUF_INIT, dot = FA_BUF_INIT;
    char eb[400];

    if (size > 1 << 16)
        return 0;
    fa_arena_init(&a, 1024, 64 * 1024);
    if (tick_parse((const char *)data, size, &a, &ast, &err) == 0) {
        if (tick_format(ast, &text) != 0)
            abort();
        if (tick_parse(text.ptr ? text.ptr : "", text.len, &a, &again, &err) != 0 && err.code != TICK_ELIMIT)
            abort(); /* the formatter wrote something the parser rejects */
        if (tick_check(ast, TICK_CHECK_TEMPLATE, &a, &p, &err) == 0)
            (void)tick_dot(p, "fuzz", NULL, NULL, &dot);
    }
    (void)tick_err_kapacitor(&err, eb, sizeof eb);
    fa_buf_deinit(&text);
    fa_buf_deinit(&dot);
    fa_arena_deinit(&a);
    return 0;
}
