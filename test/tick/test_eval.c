/* test/tick/test_eval.c - operators on every allowed type pair, refused pairs, folding, errors. */
#include "test/tick/test_eval_helpers.h"

TestSuite(tick_eval, .init = setup, .fini = teardown);

#define SEC 1000000000LL

Test(tick_eval, float_arithmetic)
{
    expect_float("\"f\" + 1.5", 4.0);
    expect_float("\"f\" - 0.5", 2.0);
    expect_float("\"f\" * 2.0", 5.0);
    expect_float("\"f\" / 2.0", 1.25);
    expect_float("\"f\" / 0.0", INFINITY);
    expect_float("1.5 + 2.25", 3.75);
}

Test(tick_eval, int_arithmetic_wraps_and_truncates_like_go)
{
    expect_int("\"i\" + 4", 7);
    expect_int("\"i\" - 5", -2);
    expect_int("\"i\" * 7", 21);
    expect_int("\"i\" / 2", 1);
    expect_int("\"i\" % 2", 1);
    expect_int("-7 % 3", -1);
    expect_int("-7 / 2", -3);
    expect_int("9223372036854775807 + \"i\"", -9223372036854775807LL - 1 + 2);
}

Test(tick_eval, string_concatenation)
{
    expect_str("\"s\" + '-x'", "web-12-x");
    expect_str("'a' + 'b' + \"s\"", "abweb-12");
    expect_str("'' + ''", "");
}

Test(tick_eval, duration_arithmetic)
{
    expect_dur("\"d\" + 30s", 120 * SEC);
    expect_dur("\"d\" - 1m", 30 * SEC);
    expect_dur("\"d\" * 2", 180 * SEC);
    expect_dur("2 * \"d\"", 180 * SEC);
    expect_dur("\"d\" * 1.5", 135 * SEC);
    expect_dur("0.5 * \"d\"", 45 * SEC);
    expect_dur("\"d\" / 3", 30 * SEC);
    expect_dur("\"d\" / 2.0", 45 * SEC);
    expect_int("\"d\" / 30s", 3);
    expect_dur("-\"d\"", -90 * SEC);
    expect_dur("1h + 30m", 5400 * SEC);
}

Test(tick_eval, time_plus_minus_duration_and_time_difference)
{
    expect_time("\"time\" + 1h", T0 + 3600 * SEC);
    expect_time("1h + \"time\"", T0 + 3600 * SEC);
    expect_time("\"time\" - 1m", T0 - 60 * SEC);
    expect_dur("\"time\" - (\"t\" - 90s)", 90 * SEC);
    expect_bool("\"time\" > \"t\" - 1s", true);
    expect_bool("\"time\" == \"t\"", true);
    expect_bool("\"time\" < \"t\"", false);
}

Test(tick_eval, comparisons_of_numbers_mix_int_and_float)
{
    expect_bool("\"f\" < 3.0", true);
    expect_bool("\"f\" <= 2.5", true);
    expect_bool("\"f\" > 2.5", false);
    expect_bool("\"f\" >= 2.5", true);
    expect_bool("\"f\" == 2.5", true);
    expect_bool("\"f\" != 2.5", false);
    expect_bool("\"i\" < 4", true);
    expect_bool("\"i\" >= 4", false);
    expect_bool("\"i\" == 3.0", true);
    expect_bool("\"i\" != 3.5", true);
    expect_bool("\"f\" > \"i\"", false);
    expect_bool("3 > \"f\"", true);
    expect_bool("2 <= 2.0", true);
}

Test(tick_eval, comparisons_of_strings_durations_bools)
{
    expect_bool("'abc' < 'abd'", true);
    expect_bool("'ab' < 'abc'", true);
    expect_bool("\"s\" == 'web-12'", true);
    expect_bool("\"s\" != 'web-12'", false);
    expect_bool("\"s\" >= 'web-'", true);
    expect_bool("\"s\" > 'x'", false);
    expect_bool("\"d\" > 1m", true);
    expect_bool("\"d\" <= 90s", true);
    expect_bool("\"d\" == 90s", true);
    expect_bool("\"b\" == TRUE", true);
    expect_bool("\"b\" != FALSE", true);
}

Test(tick_eval, regex_match_and_not_match)
{
    expect_bool("\"s\" =~ /^web-[0-9]+$/", true);
    expect_bool("\"s\" !~ /^db/", true);
    expect_bool("\"s\" =~ /^db/", false);
    expect_bool("\"s\" =~ /eb-1/", true); /* unanchored search, as Go's MatchString */
    expect_bool("'x' =~ /y/", false);
    expect_bool("'h\xc3\xa9llo' =~ /^h.llo$/", true); /* UTF-8: . is one rune */
    expect_bool("'a/b' =~ /a\\/b/", true);
}

Test(tick_eval, and_or_short_circuit_skips_the_right_side)
{
    expect_bool("\"b\" == FALSE AND \"m\" > 1.0", false);
    expect_bool("\"b\" OR \"m\" > 1.0", true);
    expect_bool("\"b\" AND \"f\" > 1.0", true);
    expect_bool("\"b\" AND \"f\" > 3.0", false);
    expect_bool("FALSE OR \"b\"", true);
    expect_bool("TRUE AND \"b\"", true);
    expect_bool("FALSE AND \"m\" > 1.0", false);
    expect_bool("\"f\" > 1.0 AND \"i\" < 5 AND \"s\" =~ /web/ OR FALSE", true);
    expect_eval_error("\"b\" AND \"m\" > 1.0", "left reference value \"m\" is missing value");
}

Test(tick_eval, unary_operators)
{
    expect_bool("!\"b\"", false);
    expect_bool("!(\"f\" > 3.0)", true);
    expect_float("-\"f\"", -2.5);
    expect_int("-\"i\"", -3);
    expect_bool("!TRUE", false);
    expect_float("-(1.5 * 2.0)", -3.0);
    expect_compile_error("!5", "invalid unary operator ! for type int");
    expect_compile_error("-'a'", "invalid unary operator - for type string");
    expect_eval_error("-\"s\"", "invalid unary operator - for type string");
}

Test(tick_eval, constants_fold_to_an_empty_program)
{
    tick_err_t err;
    tick_value_t v;
    tick_prog_t *p = compile_src("1 + 2 * 3 > 6 AND strLength('abc') == 3", &err);
    cr_assert_not_null(p, "%s", err.msg);
    cr_assert_eq(tick_prog_len(p), 0);
    cr_assert_eq(tick_prog_type(p), TICK_V_BOOL);
    tick_eval_ctx_t ctx = make_ctx(NULL);
    cr_assert_eq(tick_expr_eval(p, &ctx, &v, &err), 0);
    cr_assert(v.type == TICK_V_BOOL && v.b);
}

Test(tick_eval, static_types)
{
    tick_err_t err;
    cr_assert_eq(tick_prog_type(compile_src("\"f\" > 1", &err)), TICK_V_BOOL);
    cr_assert_eq(tick_prog_type(compile_src("\"f\" + 1.0", &err)), TICK_V_FLOAT);
    cr_assert_eq(tick_prog_type(compile_src("\"s\" + 'x'", &err)), TICK_V_STRING);
    cr_assert_eq(tick_prog_type(compile_src("\"f\" + \"i\"", &err)), TICK_V_INVALID);
    cr_assert_eq(tick_prog_type(compile_src("\"time\" - 1s", &err)), TICK_V_TIME);
    cr_assert_eq(tick_prog_type(compile_src("abs(\"f\")", &err)), TICK_V_FLOAT);
}

Test(tick_eval, refused_pairs_fail_at_compile_time_with_kapacitor_words)
{
    expect_compile_error("'ten' + 10",
                         "mismatched type to binary operator. got string + int. see bool(), int(), float(), string(), duration()");
    expect_compile_error("2.0 / 1",
                         "mismatched type to binary operator. got float / int. see bool(), int(), float(), string(), duration()");
    expect_compile_error("1 + 2.0",
                         "mismatched type to binary operator. got int + float. see bool(), int(), float(), string(), duration()");
    expect_compile_error("5.0 % 2.0", "invalid math operator % for type float");
    expect_compile_error("TRUE + 1", "invalid math operator + for type boolean");
    expect_compile_error("1 AND TRUE", "invalid logical operator AND for type int");
    expect_compile_error("'a' =~ 'b'",
                         "mismatched type to binary operator. got string =~ string. see bool(), int(), float(), string(), duration()");
    expect_compile_error("TRUE < FALSE", "invalid comparison operator < for type boolean");
    expect_compile_error("1s + 1",
                         "mismatched type to binary operator. got duration + int. see bool(), int(), float(), string(), duration()");
    expect_compile_error("1 / 0", "integer divide by zero");
    expect_compile_error("\"f\" % 2.0", "invalid right operand for operator %: type float");
    expect_compile_error("\"s\" + /x/", "invalid right operand for operator +: type regex");
    expect_compile_error("\"nope\" > 1", "unknown reference \"nope\"");
}

Test(tick_eval, compile_error_has_line_and_char)
{
    tick_err_t err;
    cr_assert_null(compile_src("\"f\" > 1.0 AND\n    'ten' + 10 > 3", &err));
    cr_assert_eq(err.code, TICK_ETYPE);
    cr_assert_eq(err.pos.line, 2);
    cr_assert_eq(err.pos.col, 11, "col %u", err.pos.col);
    char buf[300];
    cr_assert(strstr(tick_err_kapacitor(&err, buf, sizeof buf), "line 2 char 11") != NULL, "%s", buf);
}

Test(tick_eval, refused_pairs_at_run_time)
{
    expect_eval_error("\"f\" / \"i\"",
                      "mismatched type to binary operator. got float / int. see bool(), int(), float(), string(), duration()");
    expect_eval_error("\"i\" + \"f\"",
                      "mismatched type to binary operator. got int + float. see bool(), int(), float(), string(), duration()");
    expect_eval_error("\"s\" + \"i\"",
                      "mismatched type to binary operator. got string + int. see bool(), int(), float(), string(), duration()");
    expect_eval_error("\"i\" / \"zero\"", "integer divide by zero");
    expect_eval_error("\"i\" % \"zero\"", "integer divide by zero");
    expect_eval_error("\"m\" > 1.0", "left reference value \"m\" is missing value");
    expect_eval_error("1.0 < \"m\"", "right reference value \"m\" is missing value");
    expect_eval_error("\"m\" =~ /x/", "left reference value \"m\" is missing value");
    expect_eval_error("\"f\" =~ /x/", "invalid comparison operator =~ for type float");
    expect_eval_error("\"f\" AND TRUE", "invalid logical operator AND for type float");
    expect_eval_error("\"b\" AND \"f\"",
                      "mismatched type to binary operator. got boolean AND float. see bool(), int(), float(), string(), duration()");
    expect_eval_error("\"m\"", "reference value \"m\" is missing value");
}

Test(tick_eval, runtime_error_position_is_the_operator)
{
    tick_err_t err;
    tick_value_t v;
    tick_prog_t *p = compile_src("\"f\" > 1.0 AND\n  \"f\" / \"i\" > 1.0", &err);
    cr_assert_not_null(p, "%s", err.msg);
    tick_eval_ctx_t ctx = make_ctx(NULL);
    cr_assert_eq(tick_expr_eval(p, &ctx, &v, &err), -1);
    cr_assert_eq(err.pos.line, 2);
    cr_assert_eq(err.pos.col, 7, "col %u", err.pos.col);
}

Test(tick_eval, the_same_program_follows_changing_field_types)
{
    tick_err_t err;
    tick_value_t v;
    tick_prog_t *p = compile_src("\"value\" > 3", &err);
    cr_assert_not_null(p);
    tick_eval_ctx_t ctx = make_ctx(NULL);
    slot_vals[12] = tick_float(3.5);
    cr_assert_eq(tick_expr_eval(p, &ctx, &v, &err), 0);
    cr_assert(v.b);
    slot_vals[12] = tick_int(2);
    cr_assert_eq(tick_expr_eval(p, &ctx, &v, &err), 0);
    cr_assert(!v.b);
    slot_vals[12] = tick_string(FA_STR_LIT("9"));
    cr_assert_eq(tick_expr_eval(p, &ctx, &v, &err), -1);
    cr_assert_str_eq(err.msg, "mismatched type to binary operator. got string > int. see bool(), int(), float(), string(), duration()");
}

Test(tick_eval, eval_bool_refuses_other_results)
{
    tick_err_t err;
    bool b;
    tick_prog_t *p = compile_src("\"f\" * 2.0", &err);
    tick_eval_ctx_t ctx = make_ctx(NULL);
    cr_assert_eq(tick_expr_eval_bool(p, &ctx, &b, &err), -1);
    cr_assert_str_eq(err.msg, "expression returned unexpected type float");
    p = compile_src("\"usage_idle\" < 10.0 AND \"host\" =~ /^web-[0-9]+$/", &err);
    cr_assert_eq(tick_expr_eval_bool(p, &ctx, &b, &err), 0);
    cr_assert(b);
    slot_vals[10] = tick_string(FA_STR_LIT("db-1"));
    cr_assert_eq(tick_expr_eval_bool(p, &ctx, &b, &err), 0);
    cr_assert(!b);
    tick_prog_release(p);
}

Test(tick_eval, too_few_slots_is_an_error)
{
    tick_err_t err;
    tick_value_t v;
    tick_prog_t *p = compile_src("\"value\" > 1.0", &err);
    tick_eval_ctx_t ctx = make_ctx(NULL);
    ctx.n_slots = 3;
    cr_assert_eq(tick_expr_eval(p, &ctx, &v, &err), -1);
    cr_assert_str_eq(err.msg, "the expression uses 13 slots, the caller supplied 3");
}

Test(tick_eval, slotmap_resolver_assigns_slots_in_order)
{
    tick_slotmap_t m;
    tick_slotmap_init(&m);
    tick_resolver_t r = tick_slotmap_resolver(&m);
    tick_expr_t *e;
    tick_prog_t *p;
    tick_err_t err;
    const char *src = "\"b\" > \"a\" AND \"b\" != \"c\" AND unixNano(\"time\") > 0";
    cr_assert_eq(tick_parse_lambda(src, strlen(src), &arena, &e, &err), 0);
    cr_assert_eq(tick_expr_compile(e, &r, &arena, &p, &err), 0, "%s", err.msg);
    cr_assert_eq(m.n, 4);
    cr_assert_eq(tick_slotmap_find(&m, FA_STR_LIT("b")), 0);
    cr_assert_eq(tick_slotmap_find(&m, FA_STR_LIT("a")), 1);
    cr_assert_eq(tick_slotmap_find(&m, FA_STR_LIT("c")), 2);
    cr_assert_eq(tick_slotmap_find(&m, FA_STR_LIT("time")), 3);
    tick_value_t vals[4] = { tick_int(2), tick_int(1), tick_int(3), tick_time(5) };
    tick_eval_ctx_t ctx = { .slots = vals, .n_slots = 4 };
    bool b;
    cr_assert_eq(tick_expr_eval_bool(p, &ctx, &b, &err), 0, "%s", err.msg);
    cr_assert(b);
}

Test(tick_eval, bad_regex_is_a_compile_error)
{
    /* the parser refuses bad regexes too, so build the tree by hand */
    tick_expr_t re = { .kind = TICK_EX_REGEX, .pos = { 1, 9, 8 }, .v.str = FA_STR_LIT("a(b") };
    tick_expr_t ref = { .kind = TICK_EX_REF, .pos = { 1, 1, 0 }, .v.str = FA_STR_LIT("s") };
    tick_expr_t bin = { .kind = TICK_EX_BINARY, .pos = { 1, 5, 4 }, .v.binary = { TICK_OP_REQ, &ref, &re } };
    tick_prog_t *p;
    tick_err_t err;
    cr_assert_eq(tick_expr_compile(&bin, &test_resolver, &arena, &p, &err), -1);
    cr_assert(strncmp(err.msg, "error parsing regexp /a(b/: ", 28) == 0, "%s", err.msg);
    cr_assert_eq(err.pos.col, 9);
}

Test(tick_eval, hand_built_tree_with_unknown_function)
{
    tick_expr_t arg = { .kind = TICK_EX_FLOAT, .v.f = 1 };
    tick_expr_t *args[] = { &arg };
    tick_expr_t call = { .kind = TICK_EX_CALL, .pos = { 3, 4, 20 }, .v.call = { FA_STR_LIT("nosuch"), args, 1 } };
    tick_prog_t *p;
    tick_err_t err;
    cr_assert_eq(tick_expr_compile(&call, &test_resolver, &arena, &p, &err), -1);
    cr_assert_eq(err.code, TICK_EUNDEF);
    cr_assert_str_eq(err.msg, "undefined function: \"nosuch\"");
    cr_assert_eq(err.pos.line, 3);
}
