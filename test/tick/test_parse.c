/* test/tick/test_parse.c - tick/parse.c: tree shape, precedence, positions, errors, limits. */
#include <criterion/criterion.h>
#include <string.h>
#include "tick/tick.h"

static fa_arena_t arena;
static void setup(void) { fa_arena_init(&arena, 4096, 0); }
static void teardown(void) { fa_arena_deinit(&arena); }
TestSuite(tick_parse, .init = setup, .fini = teardown);

static void assert_lambda(const char *src, const char *exp)
{
    tick_expr_t *e;
    tick_err_t err;
    fa_buf_t b = FA_BUF_INIT;

    cr_assert_eq(tick_parse_lambda(src, strlen(src), &arena, &e, &err), 0, "%s: %s", src, err.msg);
    cr_assert_eq(tick_expr_dump(e, &b), 0);
    cr_assert_str_eq(fa_buf_cstr(&b), exp);
    fa_buf_deinit(&b);
}

static void assert_error(const char *src, const char *exp)
{
    tick_ast_t *ast;
    tick_err_t err;
    char buf[400];

    cr_assert_eq(tick_parse(src, strlen(src), &arena, &ast, &err), -1, "%s parsed", src);
    cr_assert_str_eq(tick_err_short(&err, buf, sizeof buf), exp);
}

Test(tick_parse, precedence_and_associativity)
{
    assert_lambda("1 + 2 * 3", "(+ 1 (* 2 3))");
    assert_lambda("1 - 2 - 3", "(- (- 1 2) 3)");
    assert_lambda("\"a\" OR \"b\" AND \"c\"", "(OR \"a\" (AND \"b\" \"c\"))");
    assert_lambda("\"a\" == 1 AND \"b\" < 2", "(AND (== \"a\" 1) (< \"b\" 2))");
    assert_lambda("\"a\" < 1 == TRUE", "(== (< \"a\" 1) TRUE)");
    assert_lambda("-\"a\" * 2", "(* (- \"a\") 2)");
    assert_lambda("!(\"a\" > 1)", "(! (> \"a\" 1))");
    assert_lambda("(1 + 2) * 3", "(* (+ 1 2) 3)");
    assert_lambda("\"h\" =~ /^a\\/b$/", "(=~ \"h\" /^a\\/b$/)");
    assert_lambda("if(\"a\" > 1, 'x', 'y')", "(call if (> \"a\" 1) 'x' 'y')");
}

Test(tick_parse, literal_values)
{
    tick_expr_t *e;
    tick_err_t err;

    cr_assert_eq(tick_parse_lambda("90s", 3, &arena, &e, &err), 0);
    cr_assert_eq(e->kind, TICK_EX_DURATION);
    cr_assert_eq(e->v.dur_ns, 90000000000LL);
    cr_assert_eq(tick_parse_lambda("2w", 2, &arena, &e, &err), 0);
    cr_assert_eq(e->v.dur_ns, 2LL * 7 * 86400 * 1000000000LL);
    cr_assert_eq(tick_parse_lambda("'it\\'s'", 7, &arena, &e, &err), 0);
    cr_assert_eq(e->kind, TICK_EX_STRING);
    cr_assert(fa_str_eq_c(e->v.str, "it's"));
    cr_assert_eq(tick_parse_lambda("\"a\\\"b\"", 6, &arena, &e, &err), 0);
    cr_assert_eq(e->kind, TICK_EX_REF);
    cr_assert(fa_str_eq_c(e->v.str, "a\"b"));
    cr_assert_eq(tick_parse_lambda("2.5", 3, &arena, &e, &err), 0);
    cr_assert_float_eq(e->v.f, 2.5, 1e-12);
}

Test(tick_parse, chain_steps_keep_order_and_positions)
{
    static const char src[] = "stream\n    |from()\n        .measurement('cpu')\n    @udf()\n";
    tick_ast_t *ast;
    tick_err_t err;

    cr_assert_eq(tick_parse(src, sizeof src - 1, &arena, &ast, &err), 0);
    cr_assert_eq(ast->n, 1);
    tick_expr_t *e = ast->stmts[0].value;
    cr_assert_eq(e->kind, TICK_EX_CHAIN);
    cr_assert_eq(e->v.chain.nsteps, 3);
    cr_assert_eq(e->v.chain.steps[0].kind, TICK_CALL_NODE);
    cr_assert_eq(e->v.chain.steps[1].kind, TICK_CALL_PROP);
    cr_assert_eq(e->v.chain.steps[2].kind, TICK_CALL_UDF);
    cr_assert_eq(e->v.chain.steps[1].pos.line, 3);
    cr_assert_eq(e->v.chain.steps[1].pos.col, 10);
    cr_assert_eq(e->v.chain.steps[1].op_pos.col, 9);
}

Test(tick_parse, statements)
{
    static const char src[] = "dbrp \"db\".\"rp\"\nvar x float\nvar y = 5\n";
    tick_ast_t *ast;
    tick_err_t err;

    cr_assert_eq(tick_parse(src, sizeof src - 1, &arena, &ast, &err), 0);
    cr_assert_eq(ast->n, 3);
    cr_assert_eq(ast->stmts[0].kind, TICK_ST_DBRP);
    cr_assert(fa_str_eq_c(ast->stmts[0].db, "db") && fa_str_eq_c(ast->stmts[0].rp, "rp"));
    cr_assert_eq(ast->stmts[1].kind, TICK_ST_VAR_TYPE);
    cr_assert_eq(ast->stmts[1].type, TICK_T_FLOAT);
    cr_assert_eq(ast->stmts[2].kind, TICK_ST_VAR);
}

Test(tick_parse, errors_read_like_kapacitors)
{
    assert_error("stream\n  |from()\n  .measurement('cpu'\n", "4:1: unexpected EOF line 4 char 1 in \"\". expected: \")\"");
    assert_error("var x = )", "1:9: unexpected ) line 1 char 9 in \"var x = )\". expected: \"number\",\"string\",\"duration\",\"identifier\",\"TRUE\",\"FALSE\",\"==\",\"(\",\"-\",\"!\"");
    assert_error("var s = 'abc", "1:9: unexpected unterminated string line 1 char 9 in \"var s = 'abc\". expected: \"number\",\"string\",\"duration\",\"identifier\",\"TRUE\",\"FALSE\",\"==\",\"(\",\"-\",\"!\"");
}

Test(tick_parse, kapacitor_rendering_has_parser_prefix)
{
    tick_ast_t *ast;
    tick_err_t err;
    char buf[400];

    cr_assert_eq(tick_parse("var x = )", 9, &arena, &ast, &err), -1);
    cr_assert_eq(strncmp(tick_err_kapacitor(&err, buf, sizeof buf), "parser: unexpected ) line 1 char 9", 34), 0);
}

Test(tick_parse, deep_nesting_is_refused)
{
    char src[2100];
    tick_expr_t *e;
    tick_err_t err;

    memset(src, '(', 1000);
    src[1000] = '1';
    memset(src + 1001, ')', 1000);
    cr_assert_eq(tick_parse_lambda(src, 2001, &arena, &e, &err), -1);
    cr_assert_eq(err.code, TICK_ELIMIT);
}

Test(tick_parse, arena_limit_is_an_error_not_a_crash)
{
    static const char src[] = "stream|from().measurement('cpu')|window().period(10s).every(10s)|mean('v')\n";
    fa_arena_t small;
    tick_ast_t *ast;
    tick_err_t err;

    fa_arena_init(&small, 256, 512);
    cr_assert_eq(tick_parse(src, sizeof src - 1, &small, &ast, &err), -1);
    cr_assert_eq(err.code, TICK_ELIMIT);
    fa_arena_deinit(&small);
}
