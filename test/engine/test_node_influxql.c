/* test/engine/test_node_influxql.c - every InfluxQL function node on window batches and on
 * stream edges: values, output types, field names, .as(), .usePointTimes(), selector fields
 * and tie rules. Expected values are worked out by hand in the comments. */
#include <math.h>

#include "test_node_window_util.h"

static th_t h;

static void stop(void) { th_free(&h); }

TestSuite(influxql, .fini = stop);

/* the batch's time stays the window's end when the points are older (Kapacitor takes the
 * latest of both) */
/* one aligned 10s window [0, 10) of v = 3 1 4 1 5 9 2 6 at 1..8s (w = 1..8), closed at 11s */
static const char data[] = "cpu,host=a v=3,w=1i 1\ncpu,host=a v=1,w=2i 2\ncpu,host=a v=4,w=3i 3\n"
                           "cpu,host=a v=1,w=4i 4\ncpu,host=a v=5,w=5i 5\ncpu,host=a v=9,w=6i 6\n"
                           "cpu,host=a v=2,w=7i 7\ncpu,host=a v=6,w=8i 8\ncpu,host=a v=0,w=9i 11\n";

#define WIN(fn) TH_SCRIPT("    |window()\n        .period(10s)\n        .every(10s)\n        .align()\n    |" fn "\n")

static const char *run(const char *script)
{
    cr_assert_eq(th_new(&h, script), 0, "%s", h.err.msg);
    th_feed(&h, data);
    return th_take(&h);
}

static void check(const char *script, const char *expected)
{
    const char *got = run(script);
    cr_assert_str_eq(got, expected, "got:\n%s\nexpected:\n%s", got, expected);
}

Test(influxql, aggregates_take_the_window_time)
{
    check(WIN("count('v')"), "count3: cpu count=8i 10s\n");
    th_free(&h);
    check(WIN("sum('v')"), "sum3: cpu sum=31 10s\n"); /* 3+1+4+1+5+9+2+6 */
    th_free(&h);
    check(WIN("mean('v')"), "mean3: cpu mean=3.875 10s\n"); /* 31/8 */
    th_free(&h);
    check(WIN("median('v')"), "median3: cpu median=3.5 10s\n"); /* 1 1 2 [3 4] 5 6 9 */
    th_free(&h);
    check(WIN("mode('v')"), "mode3: cpu mode=1 10s\n");
    th_free(&h);
    check(WIN("spread('v')"), "spread3: cpu spread=8 10s\n"); /* 9 - 1 */
}

Test(influxql, stddev_is_the_sample_deviation)
{
    const char *got = run(WIN("stddev('v')"));
    double v;
    cr_assert_eq(sscanf(got, "stddev3: cpu stddev=%lf 10s\n", &v), 1, "%s", got);
    /* squared deviations from 3.875 sum to 52.875; / 7; sqrt */
    cr_assert_float_eq(v, sqrt(52.875 / 7), 1e-12);
}

Test(influxql, integer_types_follow_influxdb)
{
    check(WIN("sum('w')"), "sum3: cpu sum=36i 10s\n");
    th_free(&h);
    check(WIN("mean('w')"), "mean3: cpu mean=4.5 10s\n");
    th_free(&h);
    check(WIN("spread('w')"), "spread3: cpu spread=7i 10s\n");
    th_free(&h);
    check(WIN("median('w')"), "median3: cpu median=4.5 10s\n");
    th_free(&h);
    check(WIN("max('w')"), "max3: cpu,host=a v=6,max=8i 10s\n");
}

Test(influxql, selectors_carry_the_selected_point)
{
    check(WIN("first('v')"), "first3: cpu,host=a first=3,w=1i 10s\n");
    th_free(&h);
    check(WIN("last('v')"), "last3: cpu,host=a last=6,w=8i 10s\n");
    th_free(&h);
    /* two 1s (at 2s and 4s): the earlier wins */
    check(WIN("min('v')"), "min3: cpu,host=a min=1,w=2i 10s\n");
    th_free(&h);
    check(WIN("max('v').usePointTimes()"), "max3: cpu,host=a max=9,w=6i 6s\n");
    th_free(&h);
    /* floor(8 * 50 / 100 + 0.5) - 1 = 3: sorted 1 1 2 [3] ... the point at 1s */
    check(WIN("percentile('v', 50.0)"), "percentile3: cpu,host=a percentile=3,w=1i 10s\n");
    th_free(&h);
    check(WIN("percentile('v', 90.0).as('p90').usePointTimes()"), "percentile3: cpu,host=a p90=6,w=8i 8s\n");
}

Test(influxql, as_renames_the_output)
{
    check(WIN("mean('v').as('avg')"), "mean3: cpu avg=3.875 10s\n");
    th_free(&h);
    check(WIN("max('v').as('w')"), "max3: cpu,host=a w=9 10s\n"); /* replaces the other field w */
}

Test(influxql, top_bottom_distinct_give_batches)
{
    check(WIN("top(2, 'v')"), "top3: rows cpu tmax=10s n=2\n  cpu,host=a top=9 10s\n  cpu,host=a top=6 10s\n");
    th_free(&h);
    check(WIN("bottom(3, 'v').usePointTimes()"),
          "bottom3: rows cpu tmax=10s n=3\n  cpu,host=a bottom=1 2s\n  cpu,host=a bottom=1 4s\n  cpu,host=a bottom=2 7s\n");
    th_free(&h);
    check(WIN("distinct('v')"), "distinct3: rows cpu tmax=10s n=7\n  cpu distinct=3 10s\n  cpu distinct=1 10s\n"
                                "  cpu distinct=4 10s\n  cpu distinct=5 10s\n  cpu distinct=9 10s\n  cpu distinct=2 10s\n"
                                "  cpu distinct=6 10s\n");
    th_free(&h);
    /* distinct, then count: count(distinct(v)) */
    check(WIN("distinct('v')\n    |count('distinct')"), "count4: cpu count=7i 10s\n");
}

Test(influxql, top_with_tags_keeps_the_best_point_per_tag_value)
{
    cr_assert_eq(th_new(&h, WIN("top(3, 'v', 'host').usePointTimes()")), 0, "%s", h.err.msg);
    th_feed(&h, "cpu,host=a v=5 1\ncpu,host=a v=7 2\ncpu,host=b v=6 3\ncpu,host=c v=1 4\ncpu,host=b v=2 5\ncpu v=0 12\n");
    th_expect(&h, "top3: rows cpu tmax=10s n=3\n  cpu,host=a top=7 2s\n  cpu,host=b top=6 3s\n  cpu,host=c top=1 4s\n");
}

Test(influxql, transforms_on_a_batch_restart_per_batch)
{
    check(WIN("difference('v')"), "difference3: rows cpu tmax=10s n=7\n  cpu difference=-2 2s\n  cpu difference=3 3s\n"
                                  "  cpu difference=-3 4s\n  cpu difference=4 5s\n  cpu difference=4 6s\n"
                                  "  cpu difference=-7 7s\n  cpu difference=4 8s\n");
    th_free(&h);
    check(WIN("cumulativeSum('v')"), "cumulativeSum3: rows cpu tmax=10s n=8\n  cpu cumulativeSum=3 1s\n"
                                     "  cpu cumulativeSum=4 2s\n  cpu cumulativeSum=8 3s\n  cpu cumulativeSum=9 4s\n"
                                     "  cpu cumulativeSum=14 5s\n  cpu cumulativeSum=23 6s\n  cpu cumulativeSum=25 7s\n"
                                     "  cpu cumulativeSum=31 8s\n");
    th_free(&h);
    /* (3+1+4)/3, (1+4+1)/3, (4+1+5)/3, (1+5+9)/3, (5+9+2)/3, (9+2+6)/3 */
    check(WIN("movingAverage('v', 3)"), "movingAverage3: rows cpu tmax=10s n=6\n  cpu movingAverage=2.6666666666666665 3s\n"
                                        "  cpu movingAverage=2 4s\n  cpu movingAverage=3.3333333333333335 5s\n"
                                        "  cpu movingAverage=5 6s\n  cpu movingAverage=5.333333333333333 7s\n"
                                        "  cpu movingAverage=5.666666666666667 8s\n");
    th_free(&h);
    check(WIN("elapsed('v', 1s)\n    |sum('elapsed')"), "sum4: cpu sum=7i 10s\n");
}

Test(influxql, stream_aggregates_gather_points_with_one_time)
{
    cr_assert_eq(th_new(&h, TH_SCRIPT("    |mean('v')\n")), 0, "%s", h.err.msg);
    th_feed(&h, "cpu,host=a v=1 1\ncpu,host=b v=3 1\n");
    th_expect(&h, "");
    th_feed(&h, "cpu,host=a v=5 2\n");
    th_expect(&h, "mean2: cpu mean=2 1s\n");
    th_advance(&h, 3);
    th_expect(&h, "mean2: cpu mean=5 2s\n");
}

Test(influxql, stream_selector_per_group)
{
    cr_assert_eq(th_new(&h, TH_SCRIPT("    |groupBy('host')\n    |max('v')\n")), 0, "%s", h.err.msg);
    th_feed(&h, "cpu,host=a v=1,x=1i 1\ncpu,host=a v=4,x=2i 1\ncpu,host=b v=3 1\ncpu,host=a v=2 2\ncpu,host=b v=0 5\n");
    th_expect(&h, "max3: cpu,host=a max=4,x=2i 1s\nmax3: cpu,host=b max=3 1s\n");
}

Test(influxql, stream_transforms_keep_state_per_group)
{
    cr_assert_eq(th_new(&h, TH_SCRIPT("    |groupBy('host')\n    |difference('v')\n")), 0, "%s", h.err.msg);
    th_feed(&h, "cpu,host=a,dc=x v=1i 1\ncpu,host=b v=10i 2\ncpu,host=a,dc=x v=4i 3\ncpu,host=a,dc=x v=9i 3\n"
                "cpu,host=b v=7i 4\ncpu,host=a,dc=x v=2i 6\n");
    /* same-time points after the first are skipped (9 at 3s); tags are the group's */
    th_expect(&h, "difference3: cpu,host=a difference=3i 3s\ndifference3: cpu,host=b difference=-3i 4s\n"
                  "difference3: cpu,host=a difference=-2i 6s\n");
    th_free(&h);
    cr_assert_eq(th_new(&h, TH_SCRIPT("    |elapsed('v', 1ms)\n")), 0, "%s", h.err.msg);
    th_feed(&h, "cpu v=1 1\ncpu v=1 3\n");
    th_expect(&h, "elapsed2: cpu elapsed=2000i 3s\n");
}

Test(influxql, errors_are_counted_and_the_task_goes_on)
{
    cr_assert_eq(th_new(&h, WIN("mean('s')")), 0, "%s", h.err.msg);
    th_feed(&h, "cpu s=\"x\" 1\ncpu s=\"y\" 12\ncpu v=1 13\ncpu s=\"z\" 25\n");
    th_expect(&h, "");
    /* fused: the string is refused, then the window with a missing field */
    cr_assert_eq(atomic_load(&th_node(&h, "mean3")->stats.errors), 2);
    th_free(&h);
    cr_assert_eq(th_new(&h, WIN("median('v')")), 0, "%s", h.err.msg);
    th_feed(&h, "cpu v=1 1\ncpu v=2i 2\ncpu v=1 12\n");
    th_expect(&h, "");
    cr_assert_eq(atomic_load(&th_node(&h, "median3")->stats.errors), 1);
    th_free(&h);
    cr_assert_eq(th_new(&h, WIN("top(0, 'v')")), -1);
    cr_assert_str_eq(h.err.msg, "top: the number of points must be greater than 0");
    h.t = NULL;
}

Test(influxql, count_and_sum_answer_an_empty_window)
{
    /* period < every: the window [15, 20) is empty when 21 arrives */
    cr_assert_eq(th_new(&h, "var w = stream|from().measurement('cpu')|window().period(5s).every(10s).align()\n"
                            "w|count('v')\nw|mean('v')\n"), 0, "%s", h.err.msg);
    th_feed(&h, "cpu v=1 6\ncpu v=2 12\ncpu v=3 21\n");
    th_expect(&h, "count3: cpu count=1i 10s\nmean4: cpu mean=1 10s\ncount3: cpu count=0i 20s\n");
}

Test(influxql, holt_winters_continues_a_line)
{
    cr_assert_eq(th_new(&h, TH_SCRIPT("    |window()\n        .period(20s)\n        .every(20s)\n        .align()\n"
                                      "    |holtWinters('v', 3, 0, 1s)\n")), 0, "%s", h.err.msg);
    th_feed(&h, "cpu v=10 0\ncpu v=12 1\ncpu v=14 2\ncpu v=16 3\ncpu v=18 4\ncpu v=20 5\ncpu v=22 6\ncpu v=24 7\n"
                "cpu v=0 21\n");
    eng_node_t *n = th_node(&h, "holtWinters3");
    cr_assert_eq(atomic_load(&n->stats.emitted), 1);
    const char *got = th_take(&h);
    double a, b, c;
    int ta, tb, tc;
    cr_assert_eq(sscanf(got, "holtWinters3: rows cpu tmax=20s n=3\n  cpu holtWinters=%lf %ds\n  cpu holtWinters=%lf %ds\n"
                             "  cpu holtWinters=%lf %ds\n", &a, &ta, &b, &tb, &c, &tc), 6, "%s", got);
    cr_assert_eq(ta, 8);
    cr_assert_eq(tb, 9);
    cr_assert_eq(tc, 10);
    cr_assert(fabs(a - 26) < 0.01 && fabs(b - 28) < 0.01 && fabs(c - 30) < 0.01, "%s", got);
}

Test(influxql, full_ties_go_to_the_first_arrival)
{
    /* two series, same value and time: min, max and first keep the point that came first */
    cr_assert_eq(th_new(&h, "var w = stream|from().measurement('cpu')|window().period(10s).every(10s).align()\n"
                            "w|min('v')\nw|max('v')\nw|first('v')\n"), 0, "%s", h.err.msg);
    th_feed(&h, "cpu,host=b v=1 5\ncpu,host=a v=1 5\ncpu v=0 11\n");
    th_expect(&h, "min3: cpu,host=b min=1 10s\nmax4: cpu,host=b max=1 10s\nfirst5: cpu,host=b first=1 10s\n");
}

Test(influxql, mode_of_integers_prefers_the_smaller_value_on_ties)
{
    check(WIN("mode('w')"), "mode3: cpu mode=1i 10s\n"); /* 1..8 each once: the smallest */
    th_free(&h);
    cr_assert_eq(th_new(&h, WIN("mode('v')")), 0, "%s", h.err.msg);
    th_feed(&h, "cpu v=7 1\ncpu v=2 2\ncpu v=7 3\ncpu v=2 4\ncpu v=7 5\ncpu v=0 11\n");
    th_expect(&h, "mode3: cpu mode=7 10s\n");
}

Test(influxql, holt_winters_with_fit_includes_the_fitted_points)
{
    cr_assert_eq(th_new(&h, TH_SCRIPT("    |window()\n        .period(20s)\n        .every(20s)\n        .align()\n"
                                      "    |holtWintersWithFit('v', 2, 0, 1s)\n")), 0, "%s", h.err.msg);
    th_feed(&h, "cpu v=5 0\ncpu v=5 1\ncpu v=5 2\ncpu v=5 3\ncpu v=5 4\ncpu v=0 21\n");
    const char *got = th_take(&h);
    /* 5 fitted points (0..4s) and 2 forecasts (5s, 6s), named holtWinters as in Kapacitor */
    cr_assert(strstr(got, "rows cpu tmax=20s n=7\n") != NULL, "%s", got);
    double v;
    cr_assert_eq(sscanf(strstr(got, "  cpu holtWinters=") , "  cpu holtWinters=%lf 0s", &v), 1, "%s", got);
    cr_assert_float_eq(v, 5, 1e-9);
    cr_assert(strstr(got, " 6s\n") != NULL, "%s", got);
}
