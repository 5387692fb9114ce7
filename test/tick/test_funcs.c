/* test/tick/test_funcs.c - every built-in lambda function with its exact result, and errors. */
#include "test/tick/test_eval_helpers.h"

TestSuite(tick_funcs, .init = setup, .fini = teardown);

#define SEC 1000000000LL

Test(tick_funcs, bool_conversion)
{
    expect_bool("bool('true')", true);
    expect_bool("bool('F')", false);
    expect_bool("bool(1)", true);
    expect_bool("bool(0.0)", false);
    expect_bool("bool(\"b\")", true);
    expect_compile_error("bool(2)", "error calling \"bool\": cannot convert 2 to boolean");
    expect_compile_error("bool('yes')", "error calling \"bool\": strconv.ParseBool: parsing \"yes\": invalid syntax");
    expect_compile_error("bool(1s)", "error calling \"bool\": cannot convert time.Duration to boolean");
}

Test(tick_funcs, int_conversion)
{
    expect_int("int(2.9)", 2);
    expect_int("int(-2.9)", -2);
    expect_int("int('42')", 42);
    expect_int("int('-7')", -7);
    expect_int("int(TRUE)", 1);
    expect_int("int(90s)", 90 * SEC);
    expect_int("int(\"f\")", 2);
    expect_compile_error("int('4x')", "error calling \"int\": strconv.ParseInt: parsing \"4x\": invalid syntax");
    expect_compile_error("int('99999999999999999999')",
                         "error calling \"int\": strconv.ParseInt: parsing \"99999999999999999999\": value out of range");
    expect_eval_error("int(\"t\")", "error calling \"int\": cannot convert time.Time to integer");
}

Test(tick_funcs, float_conversion)
{
    expect_float("float(3)", 3.0);
    expect_float("float('2.5')", 2.5);
    expect_float("float('-1e3')", -1000.0);
    expect_float("float(FALSE)", 0.0);
    expect_float("float(\"i\") / 2.0", 1.5);
    expect_compile_error("float('abc')", "error calling \"float\": strconv.ParseFloat: parsing \"abc\": invalid syntax");
    expect_compile_error("float(1s)", "error calling \"float\": cannot convert time.Duration to float");
}

Test(tick_funcs, string_conversion)
{
    expect_str("string(2.5)", "2.5");
    expect_str("string(1.0)", "1");
    expect_str("string(0.1)", "0.1");
    expect_str("string(1.0 / 3.0)", "0.3333333333333333");
    expect_str("string(0.000001)", "0.000001");
    expect_str("string(100000000000000000000.0)", "100000000000000000000");
    expect_str("string(-3)", "-3");
    expect_str("string(TRUE)", "true");
    expect_str("string(90s)", "90s");
    expect_str("string(1h)", "1h");
    expect_str("string(14d)", "2w");
    expect_str("string(1500ms)", "1500ms");
    expect_str("string(0s)", "0s");
    expect_str("string(\"s\")", "web-12");
    expect_str("string(\"f\") + '!'", "2.5!");
}

Test(tick_funcs, duration_conversion)
{
    expect_dur("duration(5, 1m)", 300 * SEC);
    expect_dur("duration(1.5, 1s)", 1500000000LL);
    expect_dur("duration('1h30m')", 5400 * SEC);
    expect_dur("duration('-10u')", -10000);
    expect_dur("duration(10s)", 10 * SEC);
    expect_dur("duration(\"i\", 1ms)", 3000000);
    expect_compile_error("duration('x')", "error calling \"duration\": invalid duration string \"x\"");
    expect_compile_error("duration(5)", "error calling \"duration\": duration expects unit argument for int and float values");
    expect_compile_error("duration(5, 5)", "error calling \"duration\": invalid duration unit type: int64");
    expect_compile_error("duration()",
                         "error calling \"duration\": duration expects one or two arguments duration(value, unit) where unit is optional depending on the type of value.");
}

Test(tick_funcs, math_one_argument)
{
    expect_float("abs(-2.5)", 2.5);
    expect_float("acos(1.0)", 0.0);
    expect_float("acosh(1.0)", 0.0);
    expect_float("asin(1.0)", M_PI / 2);
    expect_float("asinh(0.0)", 0.0);
    expect_float("atan(1.0)", M_PI / 4);
    expect_float("atanh(0.5)", 0.5493061443340548);
    expect_float("cbrt(27.0)", 3.0);
    expect_float("ceil(1.2)", 2.0);
    expect_float("cos(0.0)", 1.0);
    expect_float("cosh(0.0)", 1.0);
    expect_float("erf(1.0)", 0.8427007929497149);
    expect_float("erfc(0.0)", 1.0);
    expect_float("exp(1.0)", M_E);
    expect_float("exp2(10.0)", 1024.0);
    expect_float("expm1(0.0)", 0.0);
    expect_float("floor(1.8)", 1.0);
    expect_float("gamma(5.0)", 24.0);
    expect_float("j0(1.0)", 0.7651976865579666);
    expect_float("j1(1.0)", 0.44005058574493355);
    expect_float("log(1.0)", 0.0);
    expect_float("log10(1000.0)", 3.0);
    expect_float("log1p(0.0)", 0.0);
    expect_float("log2(8.0)", 3.0);
    expect_float("logb(8.0)", 3.0);
    expect_float("logb(0.0)", -INFINITY);
    expect_float("pow10(3)", 1000.0);
    expect_float("sin(0.0)", 0.0);
    expect_float("sinh(0.0)", 0.0);
    expect_float("sqrt(16.0)", 4.0);
    expect_float("sqrt(-1.0)", NAN);
    expect_float("tan(0.0)", 0.0);
    expect_float("tanh(0.0)", 0.0);
    expect_float("trunc(-1.7)", -1.0);
    expect_float("y0(1.0)", 0.08825696421567697);
    expect_float("y1(1.0)", -0.7812128213002887);
    expect_float("abs(\"neg\")", 4.0);
}

Test(tick_funcs, math_two_arguments)
{
    expect_float("atan2(1.0, 1.0)", M_PI / 4);
    expect_float("hypot(3.0, 4.0)", 5.0);
    expect_float("jn(2, 1.0)", 0.11490348493190049);
    expect_float("max(1.0, 2.0)", 2.0);
    expect_float("min(1.0, 2.0)", 1.0);
    expect_float("mod(7.0, 3.0)", 1.0);
    expect_float("pow(2.0, 10.0)", 1024.0);
    expect_float("yn(2, 1.0)", -1.6506826068162546);
    expect_float("max(\"f\", \"neg\")", 2.5);
}

Test(tick_funcs, math_argument_errors)
{
    expect_compile_error("abs(1)", "error calling \"abs\": cannot pass int64 to abs, must be float64");
    expect_compile_error("pow(2.0, 3)", "error calling \"pow\": cannot pass int64 to pow, must be float64");
    expect_compile_error("pow10(1.0)", "error calling \"pow10\": cannot pass float64 to pow10, must be int64");
    expect_compile_error("jn(1.0, 1.0)", "error calling \"jn\": cannot pass float64 to jn as first arg, must be int64");
    expect_compile_error("yn(1, 1)", "error calling \"yn\": cannot pass int64 to yn as second arg, must be float64");
    expect_compile_error("abs()", "error calling \"abs\": abs expects exactly one argument");
    expect_compile_error("hypot(1.0)", "error calling \"hypot\": hypot expects exactly two arguments");
    expect_eval_error("abs(\"i\")", "error calling \"abs\": cannot pass int64 to abs, must be float64");
    expect_eval_error("sqrt(\"m\")", "error calling \"sqrt\": cannot pass *ast.Missing to sqrt, must be float64");
}

Test(tick_funcs, string_search)
{
    expect_bool("strContains('seafood', 'foo')", true);
    expect_bool("strContains('seafood', 'bar')", false);
    expect_bool("strContains(\"s\", '')", true);
    expect_bool("strContainsAny('failure', 'ui')", true);
    expect_bool("strContainsAny('foo', '')", false);
    expect_int("strCount('cheese', 'e')", 3);
    expect_int("strCount('five', '')", 5);
    expect_int("strCount('aaaa', 'aa')", 2);
    expect_bool("strHasPrefix('golang', 'go')", true);
    expect_bool("strHasPrefix('golang', 'lang')", false);
    expect_bool("strHasSuffix('amigo', 'go')", true);
    expect_int("strIndex('chicken', 'ken')", 4);
    expect_int("strIndex('chicken', 'dmr')", -1);
    expect_int("strIndexAny('chicken', 'kmr')", 4);
    expect_int("strIndexAny('golang', 'y')", -1);
    expect_int("strLastIndex('go gopher', 'go')", 3);
    expect_int("strLastIndex('go gopher', '')", 9);
    expect_int("strLastIndexAny('go gopher', 'go')", 4);
    expect_int("strLastIndexAny('go gopher', 'z')", -1);
    expect_int("strLength('h\xc3\xa9llo')", 5);
    expect_int("strLength(\"s\")", 6);
}

Test(tick_funcs, string_transforms)
{
    expect_str("strReplace('oink oink oink', 'k', 'ky', 2)", "oinky oinky oink");
    expect_str("strReplace('oink oink oink', 'oink', 'moo', -1)", "moo moo moo");
    expect_str("strReplace('abc', '', '-', -1)", "-a-b-c-");
    expect_str("strReplace('abc', 'x', '-', -1)", "abc");
    expect_str("strSubstring('hello', 1, 3)", "el");
    expect_str("strSubstring('hello', 0, 5)", "hello");
    expect_str("strSubstring(\"s\", 0, 3)", "web");
    expect_str("strToLower('HeLLo \xc3\x80\xc3\x89')", "hello \xc3\xa0\xc3\xa9");
    expect_str("strToUpper('gr\xc3\xbc\xc3\x9f" "e')", "GR\xc3\x9c\xc3\x9f" "E");
    expect_str("strTrim(' !!hi!! ', ' !')", "hi");
    expect_str("strTrimLeft('xxhixx', 'x')", "hixx");
    expect_str("strTrimPrefix('prefix-body', 'prefix-')", "body");
    expect_str("strTrimPrefix('body', 'prefix-')", "body");
    expect_str("strTrimRight('xxhixx', 'x')", "xxhi");
    expect_str("strTrimSpace(' \t hi \n')", "hi");
    expect_str("strTrimSuffix('a.go', '.go')", "a");
}

Test(tick_funcs, string_errors)
{
    expect_compile_error("strSubstring('hello', 0, 6)", "error calling \"strSubstring\": stop index too large for string in strSubstring: 6");
    expect_compile_error("strSubstring('hello', -1, 2)", "error calling \"strSubstring\": found negative index for strSubstring: -1");
    expect_compile_error("strSubstring('hello', 3, 2)", "error calling \"strSubstring\": slice bounds out of range [3:2]");
    expect_eval_error("strSubstring(\"s\", 2, 10)", "error calling \"strSubstring\": stop index too large for string in strSubstring: 10");
    expect_compile_error("strContains('a', 1)", "error calling \"strContains\": cannot pass int64 as second arg to strContains, must be string");
    expect_compile_error("strReplace('a', 'b', 'c', 'd')", "error calling \"strReplace\": cannot pass string as fourth arg to strReplace, must be int");
    expect_compile_error("strLength()", "error calling \"strLength\": strLength expects exactly one argument");
    expect_compile_error("strReplace('a', 'b', 'c')", "error calling \"strReplace\": strReplace expects exactly four arguments");
    expect_compile_error("nosuch(1)", "undefined function: \"nosuch\"");
}

Test(tick_funcs, regex_replace_expands_like_go)
{
    expect_str("regexReplace(/a(x*)b/, '-ab-axxb-', 'T')", "-T-T-");
    expect_str("regexReplace(/a(x*)b/, '-ab-axxb-', '$1')", "--xx-");
    expect_str("regexReplace(/a(x*)b/, '-ab-axxb-', '$1W')", "---");
    expect_str("regexReplace(/a(x*)b/, '-ab-axxb-', '${1}W')", "-W-xxW-");
    expect_str("regexReplace(/a*/, 'baaac', '-')", "-b-c-");
    expect_str("regexReplace(/(?P<k>\\w+)=(?P<v>\\w+)/, 'a=1', '$v=$k')", "1=a");
    expect_str("regexReplace(/x/, 'axb', '$$')", "a$b");
    expect_str("regexReplace(/^web-/, \"s\", 'app-')", "app-12");
    expect_compile_error("regexReplace('a', 'b', 'c')", "error calling \"regexReplace\": cannot pass string as first arg to regexReplace, must be regex");
}

Test(tick_funcs, time_functions)
{
    expect_int("unixNano(\"time\")", T0);
    expect_int("minute(\"time\")", 45);
    expect_int("hour(\"time\")", 13);
    expect_int("weekday(\"time\")", 3);
    expect_int("day(\"time\")", 15);
    expect_int("month(\"time\")", 3);
    expect_int("year(\"time\")", 2023);
    expect_time("now()", T0);
    expect_bool("\"time\" <= now()", true);
    slot_vals[7] = tick_time(-1); /* 1969-12-31T23:59:59.999999999Z, a Wednesday */
    expect_int("minute(\"time\")", 59);
    expect_int("hour(\"time\")", 23);
    expect_int("weekday(\"time\")", 3);
    expect_int("day(\"time\")", 31);
    expect_int("month(\"time\")", 12);
    expect_int("year(\"time\")", 1969);
    slot_vals[7] = tick_time(951782400LL * SEC); /* 2000-02-29T00:00:00Z, a Tuesday */
    expect_int("day(\"time\")", 29);
    expect_int("month(\"time\")", 2);
    expect_int("weekday(\"time\")", 2);
    expect_compile_error("hour(5)", "error calling \"hour\": cannot convert int64 to time.Time");
    expect_compile_error("now(1)", "error calling \"now\": now expects no arguments");
}

Test(tick_funcs, is_present_human_bytes_if)
{
    expect_bool("isPresent(\"m\")", false);
    expect_bool("isPresent(\"f\")", true);
    expect_bool("!isPresent(\"m\") OR \"m\" > 1.0", true);
    expect_str("humanBytes(0)", "0 B");
    expect_str("humanBytes(9)", "9 B");
    expect_str("humanBytes(1000)", "1.0 kB");
    expect_str("humanBytes(12345)", "12 kB");
    expect_str("humanBytes(1000000)", "1.0 MB");
    expect_str("humanBytes(82854982)", "83 MB");
    expect_str("humanBytes(1500000000.0)", "1.5 GB");
    expect_compile_error("humanBytes('1')", "error calling \"humanBytes\": cannot convert string to humanBytes");
    expect_int("if(TRUE, 1, 2)", 1);
    expect_str("if(\"b\", 'a', 'b')", "a");
    expect_float("if(\"f\" > 3.0, 1.0, 2.0)", 2.0);
    expect_dur("if(\"b\", \"d\", 1s)", 90 * SEC);
    expect_compile_error("if(TRUE, 1, 2.0)",
                         "error calling \"if\": Different return types are not supported - second argument is int64 and third argument is float64");
    expect_compile_error("if(1, 2, 3)", "error calling \"if\": first argument to if must be a condition with type of bool - got int64");
    expect_eval_error("if(\"b\", \"f\", \"i\")",
                      "error calling \"if\": Different return types are not supported - second argument is float64 and third argument is int64");
}

/* evaluates prog once against state, with "value" = v */
static tick_value_t step(tick_prog_t *p, void *state, tick_value_t v)
{
    tick_err_t err;
    tick_value_t out;
    slot_vals[12] = v;
    tick_eval_ctx_t ctx = make_ctx(state);
    cr_assert_eq(tick_expr_eval(p, &ctx, &out, &err), 0, "%s", err.msg);
    return out;
}

Test(tick_funcs, sigma_is_per_group_running_deviation)
{
    tick_err_t err;
    tick_prog_t *p = compile_src("sigma(\"value\")", &err);
    cr_assert_not_null(p, "%s", err.msg);
    cr_assert_eq(tick_prog_state_size(p), 24);
    double a[3], b[3];
    tick_prog_state_init(p, a);
    tick_prog_state_init(p, b);
    struct { double *st, x, want; } seq[] = {
        { a, 1, 0.0 }, { a, 2, 0.7071067811865476 },
        { b, 100, 0.0 }, /* group b starts fresh */
        { a, 3, 1.0 },   { b, 100, 0.0 }, /* zero variance */
        { a, 10, 1.4696938456699067 }, /* |10 - mean(1,2,3,10)| / stddev */
    };
    for (size_t i = 0; i < sizeof seq / sizeof seq[0]; i++) {
        double got = step(p, seq[i].st, tick_float(seq[i].x)).f;
        cr_assert(fabs(got - seq[i].want) < 1e-12, "step %zu: %.17g want %.17g", i, got, seq[i].want);
    }
    tick_prog_state_init(p, a);
    cr_assert_eq(step(p, a, tick_float(5)).f, 0.0);
    tick_eval_ctx_t ctx = make_ctx(a);
    tick_value_t out;
    slot_vals[12] = tick_int(5);
    cr_assert_eq(tick_expr_eval(p, &ctx, &out, &err), -1);
    cr_assert_str_eq(err.msg, "error calling \"sigma\": value is not a float");
}

Test(tick_funcs, count_and_spread_keep_separate_state_per_call_site)
{
    tick_err_t err;
    tick_prog_t *p = compile_src("string(count()) + ':' + string(spread(\"value\")) + ':' + string(count())", &err);
    cr_assert_not_null(p, "%s", err.msg);
    cr_assert_eq(tick_prog_state_size(p), 8 + 16 + 8);
    uint64_t g1[4], g2[4];
    tick_prog_state_init(p, g1);
    tick_prog_state_init(p, g2);
    tick_value_t v = step(p, g1, tick_float(1));
    cr_assert(fa_str_eq_c(v.s, "1:0:1"), "%.*s", (int)v.s.len, v.s.ptr);
    v = step(p, g1, tick_float(5));
    cr_assert(fa_str_eq_c(v.s, "2:4:2"), "%.*s", (int)v.s.len, v.s.ptr);
    v = step(p, g2, tick_float(-3));
    cr_assert(fa_str_eq_c(v.s, "1:0:1"), "%.*s", (int)v.s.len, v.s.ptr);
    v = step(p, g1, tick_float(3));
    cr_assert(fa_str_eq_c(v.s, "3:4:3"), "%.*s", (int)v.s.len, v.s.ptr);
    v = step(p, g1, tick_float(-1));
    cr_assert(fa_str_eq_c(v.s, "4:6:4"), "%.*s", (int)v.s.len, v.s.ptr);
    v = step(p, g2, tick_float(-3.5));
    cr_assert(fa_str_eq_c(v.s, "2:0.5:2"), "%.*s", (int)v.s.len, v.s.ptr);
}

Test(tick_funcs, stateful_calls_are_not_folded_and_need_state)
{
    tick_err_t err;
    tick_value_t out;
    tick_prog_t *p = compile_src("count() > 2", &err);
    cr_assert_not_null(p);
    cr_assert_gt(tick_prog_len(p), 0);
    tick_eval_ctx_t ctx = make_ctx(NULL);
    cr_assert_eq(tick_expr_eval(p, &ctx, &out, &err), -1);
    cr_assert_str_eq(err.msg, "error calling \"count\": no state block for a stateful function");
    p = compile_src("sigma(\"value\") > 3.0 AND count() >= 1", &err);
    int64_t st[4];
    tick_prog_state_init(p, st);
    for (int i = 1; i <= 3; i++)
        cr_assert(step(p, st, tick_float(i)).b == false);
}

Test(tick_funcs, string_results_respect_the_scratch_limit)
{
    tick_err_t err;
    tick_value_t out;
    fa_arena_t small;
    fa_arena_init(&small, 256, 8);
    tick_prog_t *p = compile_src("\"s\" + \"s\"", &err);
    tick_eval_ctx_t ctx = make_ctx(NULL);
    ctx.scratch = &small;
    cr_assert_eq(tick_expr_eval(p, &ctx, &out, &err), -1);
    cr_assert_str_eq(err.msg, "string result of 12 bytes does not fit in the scratch memory");
    fa_arena_deinit(&small);
}

/* Duration text through base/duration: literals and duration('...') read influxql.ParseDuration's
 * units (u and µ alone, not us or µs), string() writes influxql.FormatDuration, and overflow is an
 * error rather than a wrapped value. */
Test(tick_funcs, literals_and_strings_share_the_units)
{
    expect_dur("10\xc2\xb5", 10000);
    expect_dur("10u", 10000);
    expect_dur("2w", 14 * 86400 * SEC);
    expect_dur("duration('10\xc2\xb5')", 10000);
    expect_dur("duration('1w1d1h1m1s1ms1u1ns')", 694861001001001LL);
    expect_dur("duration('-2562047h47m16s854ms775u808ns')", INT64_MIN);
    expect_compile_error("duration('10us')", "error calling \"duration\": invalid duration string \"10us\"");
    expect_compile_error("duration('10\xc2\xb5s')", "error calling \"duration\": invalid duration string \"10\xc2\xb5s\"");
    expect_compile_error("duration('1.5s')", "error calling \"duration\": invalid duration string \"1.5s\"");
}

Test(tick_funcs, overflow_is_an_error)
{
    /* this used to wrap around as Go's int64 arithmetic does */
    expect_compile_error("duration('100000000000h')",
                         "error calling \"duration\": invalid duration string \"100000000000h\"");
    expect_compile_error("duration('9223372036854775807ns1ns')",
                         "error calling \"duration\": invalid duration string \"9223372036854775807ns1ns\"");
    expect_dur("duration('9223372036854775807ns')", INT64_MAX);
}

Test(tick_funcs, string_writes_the_largest_dividing_unit)
{
    expect_str("string(90s)", "90s");
    expect_str("string(1500ms)", "1500ms");
    expect_str("string(14d)", "2w");
    expect_str("string(duration('1500ns'))", "1500ns");
    expect_str("string(-2h)", "-2h");
}
