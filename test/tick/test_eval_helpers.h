/* test/tick/test_eval_helpers.h - parse, compile and evaluate a lambda against fixed slot values. */
#ifndef TEST_TICK_EXPR_HELPERS_H
#define TEST_TICK_EXPR_HELPERS_H
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tick/expr.h"
#include "tick/tick.h"

/* 2023-03-15T13:45:30Z, a Wednesday */
#define T0 1678887930000000000LL

static fa_arena_t arena, scratch;

/* The references tests may use, and their values. */
static const char *const slot_names[] = { "f", "i", "s", "b", "d", "t", "m", "time", "neg", "zero", "host", "usage_idle", "value" };
static tick_value_t slot_vals[sizeof slot_names / sizeof slot_names[0]];

static int test_resolve(void *ud, fa_str_t name, tick_vtype_t *type)
{
    (void)ud;
    for (size_t i = 0; i < sizeof slot_names / sizeof slot_names[0]; i++)
        if (fa_str_eq_c(name, slot_names[i])) {
            if (strcmp(slot_names[i], "time") == 0)
                *type = TICK_V_TIME;
            return (int)i;
        }
    return -1;
}

static const tick_resolver_t test_resolver = { test_resolve, NULL };

static void reset_slots(void)
{
    slot_vals[0] = tick_float(2.5);
    slot_vals[1] = tick_int(3);
    slot_vals[2] = tick_string(FA_STR_LIT("web-12"));
    slot_vals[3] = tick_bool(true);
    slot_vals[4] = tick_duration(90000000000LL);
    slot_vals[5] = tick_time(T0);
    slot_vals[6] = tick_missing();
    slot_vals[7] = tick_time(T0);
    slot_vals[8] = tick_float(-4.0);
    slot_vals[9] = tick_int(0);
    slot_vals[10] = tick_string(FA_STR_LIT("web-7"));
    slot_vals[11] = tick_float(5.0);
    slot_vals[12] = tick_float(1.0);
}

static void setup(void)
{
    fa_arena_init(&arena, 4096, 0);
    fa_arena_init(&scratch, 1024, 1 << 20);
    reset_slots();
}

static void teardown(void)
{
    fa_arena_deinit(&arena);
    fa_arena_deinit(&scratch);
}

/* Compiles `src`; returns the program or NULL with *err set. Aborts the test on a parse error. */
static tick_prog_t *compile_src(const char *src, tick_err_t *err)
{
    tick_expr_t *e;
    tick_prog_t *p;
    if (tick_parse_lambda(src, strlen(src), &arena, &e, err) != 0)
        cr_assert_fail("parse of `%s` failed: %s", src, err->msg);
    if (tick_expr_compile(e, &test_resolver, &arena, &p, err) != 0)
        return NULL;
    return p;
}

static tick_eval_ctx_t make_ctx(void *state)
{
    return (tick_eval_ctx_t){ .slots = slot_vals, .n_slots = sizeof slot_vals / sizeof slot_vals[0], .state = state,
                              .scratch = &scratch, .now = T0 };
}

/* Compiles and evaluates once: 0 with *out, or -1 with *err (compile or eval error). */
static int eval_src(const char *src, tick_value_t *out, tick_err_t *err)
{
    tick_prog_t *p = compile_src(src, err);
    if (p == NULL)
        return -1;
    char state[256] __attribute__((aligned(16)));
    cr_assert_leq(tick_prog_state_size(p), sizeof state);
    tick_prog_state_init(p, state);
    tick_eval_ctx_t ctx = make_ctx(state);
    int rc = tick_expr_eval(p, &ctx, out, err);
    tick_prog_release(p);
    return rc;
}

#define EXPECT_OK(src, v)                                                                                         \
    do {                                                                                                          \
        tick_err_t err_;                                                                                          \
        if (eval_src((src), &(v), &err_) != 0)                                                                    \
            cr_assert_fail("`%s` failed: %u:%u: %s", (src), err_.pos.line, err_.pos.col, err_.msg);                    \
    } while (0)

static void expect_float(const char *src, double want)
{
    tick_value_t v;
    EXPECT_OK(src, v);
    cr_assert_eq(v.type, TICK_V_FLOAT, "`%s` gave type %s", src, tick_vtype_name(v.type));
    if (isnan(want))
        cr_assert(isnan(v.f), "`%s` = %.17g, want NaN", src, v.f);
    else
        cr_assert(v.f == want || fabs(v.f - want) <= 1e-12 * fabs(want), "`%s` = %.17g, want %.17g", src, v.f, want);
}

static void expect_int(const char *src, int64_t want)
{
    tick_value_t v;
    EXPECT_OK(src, v);
    cr_assert_eq(v.type, TICK_V_INT, "`%s` gave type %s", src, tick_vtype_name(v.type));
    cr_assert_eq(v.i, want, "`%s` = %lld, want %lld", src, (long long)v.i, (long long)want);
}

static void expect_bool(const char *src, bool want)
{
    tick_value_t v;
    EXPECT_OK(src, v);
    cr_assert_eq(v.type, TICK_V_BOOL, "`%s` gave type %s", src, tick_vtype_name(v.type));
    cr_assert_eq(v.b, want, "`%s` = %d, want %d", src, v.b, want);
}

static void expect_str(const char *src, const char *want)
{
    tick_value_t v;
    EXPECT_OK(src, v);
    cr_assert_eq(v.type, TICK_V_STRING, "`%s` gave type %s", src, tick_vtype_name(v.type));
    cr_assert(fa_str_eq_c(v.s, want), "`%s` = \"%.*s\", want \"%s\"", src, (int)v.s.len, v.s.ptr, want);
}

static void expect_dur(const char *src, int64_t want)
{
    tick_value_t v;
    EXPECT_OK(src, v);
    cr_assert_eq(v.type, TICK_V_DURATION, "`%s` gave type %s", src, tick_vtype_name(v.type));
    cr_assert_eq(v.i, want, "`%s` = %lld, want %lld", src, (long long)v.i, (long long)want);
}

static void expect_time(const char *src, int64_t want)
{
    tick_value_t v;
    EXPECT_OK(src, v);
    cr_assert_eq(v.type, TICK_V_TIME, "`%s` gave type %s", src, tick_vtype_name(v.type));
    cr_assert_eq(v.i, want, "`%s` = %lld, want %lld", src, (long long)v.i, (long long)want);
}

/* compile must fail with exactly `msg` */
static void expect_compile_error(const char *src, const char *msg)
{
    tick_err_t err;
    tick_prog_t *p = compile_src(src, &err);
    if (p != NULL) {
        tick_prog_release(p);
        cr_assert_fail("`%s` compiled, want error \"%s\"", src, msg);
    }
    cr_assert_str_eq(err.msg, msg, "`%s`: got \"%s\"", src, err.msg);
}

/* compile must succeed and evaluation fail with exactly `msg` */
static void expect_eval_error(const char *src, const char *msg)
{
    tick_err_t err;
    tick_value_t v;
    tick_prog_t *p = compile_src(src, &err);
    if (p == NULL)
        cr_assert_fail("`%s` did not compile: %s", src, err.msg);
    char state[256] __attribute__((aligned(16)));
    tick_prog_state_init(p, state);
    tick_eval_ctx_t ctx = make_ctx(state);
    int rc = tick_expr_eval(p, &ctx, &v, &err);
    tick_prog_release(p);
    cr_assert_eq(rc, -1, "`%s` evaluated, want error \"%s\"", src, msg);
    cr_assert_str_eq(err.msg, msg, "`%s`: got \"%s\"", src, err.msg);
}
#endif
