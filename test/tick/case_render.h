/* test/tick/case_render.h - what a corpus case produces: the text compared with NAME.expect.
 * Invalid scripts give "line:col: msg" (plus " (hint)"); valid ones give the AST dump, the DOT
 * graph and the formatted text, each after a "-- section" line. */
#ifndef TEST_TICK_CASE_RENDER_H
#define TEST_TICK_CASE_RENDER_H
#include <string.h>
#include "base/str.h"
#include "tick/tick.h"

static unsigned case_flags(const tick_ast_t *ast)
{
    for (uint32_t i = 0; i < ast->n; i++)
        if (ast->stmts[i].kind == TICK_ST_VAR_TYPE)
            return TICK_CHECK_TEMPLATE;
    return 0;
}

/** Renders the case into out (heap buffer); returns 0 or -1 when rendering itself failed. */
static int case_render(const char *src, size_t len, fa_buf_t *out)
{
    fa_arena_t a;
    tick_ast_t *ast;
    tick_pipeline_t *p;
    tick_err_t err;
    char eb[400];
    int rc = 0;

    fa_buf_t text = FA_BUF_INIT;

    fa_arena_init(&a, 8192, 0);
    if (tick_parse(src, len, &a, &ast, &err) == 0)
        rc |= tick_format(ast, &text); /* before tick_check, which resolves vars in place */
    if (rc != 0 || tick_parse(src, len, &a, &ast, &err) != 0
        || tick_check(ast, case_flags(ast), &a, &p, &err) != 0) {
        fa_buf_appendf(out, "%s\n", tick_err_short(&err, eb, sizeof eb));
        goto Exit;
    }
    fa_buf_append_c(out, "-- ast\n");
    rc |= tick_ast_dump(ast, out);
    fa_buf_append_c(out, "-- dot\n");
    rc |= tick_dot(p, "task", NULL, NULL, out);
    fa_buf_append_c(out, "-- format\n");
    rc |= fa_buf_append(out, text.ptr, text.len);
Exit:
    fa_buf_deinit(&text);
    fa_arena_deinit(&a);
    return rc ? -1 : 0;
}
#endif
