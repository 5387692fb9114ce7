/* test/engine/test_runner.c - the line-protocol writer, the test harness (test/engine/harness.h)
 * and the offline runner (engine/runner.c). */
#include <criterion/criterion.h>
#include <string.h>

#include "test/engine/harness.h"

static const char *fmt_float(double f)
{
    static fa_buf_t b;
    fa_buf_clear(&b);
    eng_lp_format_float(&b, f);
    return fa_buf_cstr(&b);
}

Test(lpfmt, floats_are_shortest_round_trip_without_exponent)
{
    cr_assert_str_eq(fmt_float(1.0), "1");
    cr_assert_str_eq(fmt_float(0.1), "0.1");
    cr_assert_str_eq(fmt_float(-2.5), "-2.5");
    cr_assert_str_eq(fmt_float(0.0), "0");
    cr_assert_str_eq(fmt_float(1e21), "1000000000000000000000");
    cr_assert_str_eq(fmt_float(1.5e-7), "0.00000015");
    cr_assert_str_eq(fmt_float(123456.789), "123456.789");
    cr_assert_str_eq(fmt_float(1.0 / 3.0), "0.3333333333333333");
    cr_assert_str_eq(fmt_float(100), "100");
}

Test(lpfmt, point_round_trips_through_the_parser)
{
    static const char line[] = "c\\ p\\,u,h\\=o\\ st=a\\,b,z=1 f\\=1=1.5,i=-3i,s=\"q\\\"x\\\\\",b=true 1700000000000000000";
    eng_batch_t b;
    eng_batch_init(&b, 4096, 0);
    eng_lp_opts_t opts = { .precision_ns = 1 };
    eng_lp_result_t res;
    cr_assert_eq(eng_lp_parse(&b, line, sizeof line - 1, &opts, &res), 1, "%s", res.errors);
    fa_buf_t out = FA_BUF_INIT;
    cr_assert_eq(eng_lp_format_point(&out, &b.points[0]), 0);
    cr_assert_str_eq(fa_buf_cstr(&out), line);
    fa_buf_deinit(&out);
    eng_batch_deinit(&b);
}

Test(harness, taps_leaves_and_captures_in_order)
{
    static const char script[] = "dbrp \"telegraf\".\"autogen\"\n"
                                 "stream|from().measurement('cpu')|where(lambda: \"v\" > 1)\n";
    eng_harness_t h;
    cr_assert_eq(eng_harness_new(&h, script, NULL, NULL), 0, "%s", h.err.msg);
    cr_assert_str_eq(h.db, "telegraf");
    cr_assert_eq(eng_harness_feed(&h, "cpu,host=a v=2 10\ncpu,host=b v=0.5 20\nmem v=9 30\ncpu,host=c v=3i 40\n"), 4);
    cr_assert_str_eq(eng_harness_out(&h), "where2: cpu,host=a v=2 10\nwhere2: cpu,host=c v=3i 40\n");
    cr_assert_eq(eng_harness_feed_dbrp(&h, "telegraf", "other", "cpu v=5 50\n"), 1);
    cr_assert_str_eq(eng_harness_out(&h), "where2: cpu,host=a v=2 10\nwhere2: cpu,host=c v=3i 40\n");
    eng_harness_clear(&h);
    cr_assert(eng_harness_tap(&h, "from1"));
    cr_assert_eq(eng_harness_feed(&h, "cpu v=7 60\n"), 1);
    /* from1's children: where2 first (which emits to its tap), then from1's own tap */
    cr_assert_str_eq(eng_harness_out(&h), "where2: cpu v=7 60\nfrom1: cpu v=7 60\n");
    cr_assert_eq(eng_harness_feed(&h, "cpu v=\n"), -1);
    cr_assert(strstr(h.lp_errors, "unable to parse") != NULL, "%s", h.lp_errors);
    cr_assert_eq(atomic_load(&eng_harness_node(&h, "where2")->stats.emitted), 3);
    eng_harness_free(&h);
}

Test(harness, env_callbacks_capture_text)
{
    static const char script[] = "stream|from()\n";
    eng_harness_t h;
    cr_assert_eq(eng_harness_new(&h, script, "db", "rp"), 0, "%s", h.err.msg);
    eng_node_t *n = eng_harness_node(&h, "from1");
    eng_field_t f = { FA_STR_LIT("x"), { .type = ENG_INT, .i = 4 } };
    eng_point_t p = { .name = FA_STR_LIT("m"), .fields = &f, .n_fields = 1, .time = 5 };
    h.env.write_points(h.env.ud, n, FA_STR_LIT("db"), FA_STR_LIT("rp"), &p, 1);
    h.env.alert_event(h.env.ud, n, FA_STR_LIT("{\"id\":\"x\"}"));
    h.env.output(h.env.ud, n, FA_STR_LIT("log"), FA_STR_LIT("hello"));
    cr_assert_str_eq(eng_harness_out(&h), "write db.rp from1: m x=4i 5\nalert from1: {\"id\":\"x\"}\nlog from1: hello\n");
    eng_harness_free(&h);
}

/* ---- the runner core ---- */

#include "engine/nodes.h"

static fa_buf_t got;
static void capture(void *ud, eng_node_t *n, fa_str_t kind, fa_str_t text)
{
    fa_buf_appendf(&got, "%.*s %s: %.*s\n", (int)kind.len, kind.ptr, n->name, (int)text.len, text.ptr);
}

static eng_node_ops_t where_recording_advance;
static void record_advance(eng_node_t *n, int64_t now) { fa_buf_appendf(&got, "advance %s: %lld\n", n->name, (long long)now); }

static void parse_into(eng_batch_t *b, const char *lp)
{
    eng_lp_opts_t o = { .precision_ns = 1 };
    eng_lp_result_t res;
    eng_batch_init(b, 4096, 0);
    cr_assert_geq(eng_lp_parse(b, lp, strlen(lp), &o, &res), 1, "%s", res.errors);
}

Test(runner, feeds_points_in_time_order_stable_and_reports_leaf_points)
{
    static const char script[] = "dbrp \"telegraf\".\"autogen\"\n"
                                 "stream|from().measurement('cpu')|where(lambda: \"usage_idle\" < 10)\n";
    eng_runner_t r;
    tick_err_t err;
    fa_buf_clear(&got);
    eng_dbrp_t d = { FA_STR_LIT("telegraf"), FA_STR_LIT("autogen") };
    /* the script has its own dbrp: -dbrp only says what the data is */
    cr_assert_eq(eng_runner_init(&r, "cpu", script, sizeof script - 1, &d, 1, capture, NULL, &err), 0, "%s", err.msg);
    eng_batch_t b;
    parse_into(&b, "cpu,host=b usage_idle=5 30\ncpu,host=a usage_idle=50 10\nmem,host=a used=3i 15\n"
                   "cpu,host=a usage_idle=2.5 20\ncpu,host=c usage_idle=1 20\n");
    eng_runner_opts_t o = { .db = d.db, .rp = d.rp };
    eng_runner_run(&r, b.points, b.n, &o);
    cr_assert_str_eq(fa_buf_cstr(&got), "point where2: cpu,host=a usage_idle=2.5 20\n"
                                        "point where2: cpu,host=c usage_idle=1 20\n"
                                        "point where2: cpu,host=b usage_idle=5 30\n");
    cr_assert_eq(r.n_points, 3);
    eng_runner_deinit(&r);
    eng_batch_deinit(&b);
    fa_buf_deinit(&got);
}

Test(runner, idle_flush_advances_in_gaps_and_after_the_end)
{
    static const char script[] = "stream|from()|where(lambda: TRUE)\n";
    eng_runner_t r;
    tick_err_t err;
    fa_buf_clear(&got);
    eng_dbrp_t d = { FA_STR_LIT("db"), FA_STR_LIT("rp") };
    cr_assert_eq(eng_runner_init(&r, "t", script, sizeof script - 1, &d, 1, capture, NULL, &err), 0, "%s", err.msg);
    where_recording_advance = eng_node_where;
    where_recording_advance.advance = record_advance;
    r.task->nodes[2].ops = &where_recording_advance;
    eng_batch_t b;
    parse_into(&b, "m v=1 100\nm v=2 105\nm v=3 135\n");
    eng_runner_opts_t o = { .db = d.db, .rp = d.rp, .idle_flush_ns = 10 };
    eng_runner_run(&r, b.points, b.n, &o);
    cr_assert_str_eq(fa_buf_cstr(&got), "point where2: m v=1 100\n"
                                        "point where2: m v=2 105\n"
                                        "advance where2: 115\n"
                                        "advance where2: 125\n"
                                        "point where2: m v=3 135\n"
                                        "advance where2: 145\n");
    eng_runner_deinit(&r);
    eng_batch_deinit(&b);
    fa_buf_deinit(&got);
}
