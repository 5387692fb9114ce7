/* test/tick/test_check.c - tick/check.c and tick/template.c: pipeline shape, edges, errors,
 * template vars, and the DOT hook. */
#include <criterion/criterion.h>
#include <string.h>
#include "tick/tick.h"

static fa_arena_t arena;
static void setup(void) { fa_arena_init(&arena, 4096, 0); }
static void teardown(void) { fa_arena_deinit(&arena); }
TestSuite(tick_check, .init = setup, .fini = teardown);

static tick_pipeline_t *check_ok(const char *src, unsigned flags)
{
    tick_ast_t *ast;
    tick_pipeline_t *p;
    tick_err_t err;

    cr_assert_eq(tick_parse(src, strlen(src), &arena, &ast, &err), 0, "%s", err.msg);
    cr_assert_eq(tick_check(ast, flags, &arena, &p, &err), 0, "%s", err.msg);
    return p;
}

static const char *check_err(const char *src, tick_err_t *err)
{
    static char buf[400];
    tick_ast_t *ast;
    tick_pipeline_t *p;

    cr_assert_eq(tick_parse(src, strlen(src), &arena, &ast, err), 0, "%s", err->msg);
    cr_assert_eq(tick_check(ast, 0, &arena, &p, err), -1, "%s was accepted", src);
    return tick_err_kapacitor(err, buf, sizeof buf);
}

Test(tick_check, edges_stream_window_batch)
{
    tick_pipeline_t *p = check_ok("stream|from()|window().period(1m).every(1m)|mean('v')|alert()", 0);
    char name[32];

    cr_assert_eq(p->n, 5);
    cr_assert_eq(p->kind, TICK_EDGE_STREAM);
    cr_assert_str_eq(tick_pnode_name(p->nodes[2], name, sizeof name), "window2");
    cr_assert_eq(p->nodes[2]->wants, TICK_EDGE_STREAM);
    cr_assert_eq(p->nodes[2]->provides, TICK_EDGE_BATCH);
    cr_assert_eq(p->nodes[3]->wants, TICK_EDGE_BATCH);
    cr_assert_eq(p->nodes[3]->provides, TICK_EDGE_STREAM); /* mean gives one point */
    cr_assert_eq(p->nodes[4]->provides, TICK_EDGE_STREAM);
    cr_assert_eq(p->nodes[2]->nprops, 2);
    cr_assert_not_null(tick_pnode_prop(p->nodes[2], "every"));
}

Test(tick_check, influxql_on_batch_gives_kind_by_function)
{
    tick_pipeline_t *p = check_ok("batch|query('q').every(1m)|difference('v')|top(3, 'v')", 0);

    cr_assert_eq(p->nodes[2]->provides, TICK_EDGE_BATCH);
    cr_assert_eq(p->nodes[3]->provides, TICK_EDGE_BATCH);
}

Test(tick_check, join_has_two_parents)
{
    tick_pipeline_t *p = check_ok("var a = stream|from()\nvar b = stream|from()\na|join(b).as('a', 'b')", 0);

    cr_assert_eq(p->n, 4);
    cr_assert_eq(p->nodes[3]->nparents, 2);
    cr_assert_eq(p->nodes[3]->parents[1], p->nodes[2]);
}

Test(tick_check, errors_with_position)
{
    tick_err_t err;

    cr_assert_str_eq(check_err("stream\n  |from()\n  .measurement(\"cpu\")", &err),
                     "line 3 char 4: cannot assign *ast.ReferenceNode to type string, did you use double quotes instead of single quotes?");
    cr_assert_str_eq(err.hint, "did you use double quotes instead of single quotes?");
    cr_assert_str_eq(check_err("stream|from()|nope()", &err), "line 1 char 15: no method or property \"nope\" on *pipeline.FromNode");
    cr_assert_str_eq(check_err("stream|from()|eval(lambda: 1)", &err),
                     "line 1 char 15: must provide one name per expression via the 'As' property");
    cr_assert_eq(err.code, TICK_EMISSING);
    check_err("stream|from().where(lambda: \"v\" > x)", &err);
    cr_assert_eq(err.code, TICK_EUNDEF);
    cr_assert_eq(err.pos.col, 35);
}

Test(tick_check, vars_in_lambdas_are_replaced_by_values)
{
    static const char src[] = "var t = 5\nvar c = lambda: \"x\" > t\nstream|from().where(c)";
    tick_ast_t *ast;
    tick_pipeline_t *p;
    tick_err_t err;
    fa_buf_t b = FA_BUF_INIT;

    cr_assert_eq(tick_parse(src, sizeof src - 1, &arena, &ast, &err), 0);
    cr_assert_eq(tick_check(ast, 0, &arena, &p, &err), 0, "%s", err.msg);
    const tick_call_t *where = tick_pnode_prop(p->nodes[1], "where");
    cr_assert_not_null(where);
    tick_expr_t *arg = where->args[0];
    if (arg->kind == TICK_EX_IDENT)
        cr_assert_fail("the var was not resolved");
    cr_assert_eq(tick_expr_dump(arg, &b), 0);
    cr_assert_str_eq(fa_buf_cstr(&b), "(lambda (> \"x\" 5))");
    fa_buf_deinit(&b);
}

Test(tick_check, template_placeholders_and_vars)
{
    static const char src[] = "var m string\nvar limit float\nvar crit lambda\n"
                              "stream|from().measurement(m)|alert().crit(crit)";
    tick_ast_t *tmpl, *task;
    tick_pipeline_t *p;
    tick_err_t err;
    char buf[300];

    cr_assert_eq(tick_parse(src, sizeof src - 1, &arena, &tmpl, &err), 0);
    cr_assert_eq(tick_check(tmpl, 0, &arena, &p, &err), -1);
    cr_assert_str_eq(tick_err_kapacitor(&err, buf, sizeof buf), "missing value for var \"m\".");

    tick_var_t missing[] = { { "m", TICK_T_STRING, "cpu" }, { "crit", TICK_T_LAMBDA, "\"v\" > 1" } };
    cr_assert_eq(tick_template_apply(tmpl, missing, 2, &arena, &task, &err), -1);
    cr_assert_str_eq(err.msg, "missing value for var \"limit\".");

    tick_var_t wrong[] = { { "m", TICK_T_INT, "5" }, { "limit", TICK_T_FLOAT, "1.5" }, { "crit", TICK_T_LAMBDA, "TRUE" } };
    cr_assert_eq(tick_template_apply(tmpl, wrong, 3, &arena, &task, &err), -1);
    cr_assert_str_eq(err.msg, "invalid type supplied for m, got int exp string");

    tick_var_t good[] = { { "m", TICK_T_STRING, "cpu" }, { "limit", TICK_T_FLOAT, "1.5" }, { "crit", TICK_T_LAMBDA, "\"v\" > limit" } };
    cr_assert_eq(tick_template_apply(tmpl, good, 3, &arena, &task, &err), 0, "%s", err.msg);
    cr_assert_eq(tick_check(task, 0, &arena, &p, &err), 0, "%s", err.msg);
    fa_buf_t b = FA_BUF_INIT;
    tick_expr_dump(tick_pnode_prop(p->nodes[2], "crit")->args[0], &b);
    cr_assert_str_eq(fa_buf_cstr(&b), "(lambda (> \"v\" 1.5))");
    fa_buf_deinit(&b);
}

static int stats_hook(void *ctx, const tick_pnode_t *n, fa_buf_t *out)
{
    (*(int *)ctx)++;
    return n->id == 1 ? fa_buf_append_c(out, "processed=\"7\"") : 0;
}

Test(tick_check, dot_names_and_hook)
{
    tick_pipeline_t *p = check_ok("stream|from()|window().period(1m).every(1m)", 0);
    fa_buf_t b = FA_BUF_INIT;
    int calls = 0;

    cr_assert_eq(tick_dot(p, "t", NULL, NULL, &b), 0);
    cr_assert_str_eq(fa_buf_cstr(&b), "digraph t {\nstream0 -> from1;\nfrom1 -> window2;\n}\n");
    fa_buf_clear(&b);
    cr_assert_eq(tick_dot(p, "t", stats_hook, &calls, &b), 0);
    cr_assert_eq(calls, 3);
    cr_assert_str_eq(fa_buf_cstr(&b), "digraph t {\nstream0 -> from1;\nfrom1 [processed=\"7\" ];\nfrom1 -> window2;\n}\n");
    fa_buf_deinit(&b);
}
