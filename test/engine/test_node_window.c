/* test/engine/test_node_window.c - window(): time and count windows, alignment from Go's zero
 * time, per-group time, every == 0, sliding windows, fillPeriod, the idle flush, fusion with
 * decomposable aggregates and its memory per series. Inputs and outputs checked by hand. */
#include "test_node_window_util.h"

static th_t h;

static void start(const char *script)
{
    cr_assert_eq(th_new(&h, script), 0, "%s", h.err.msg);
}

static void stop(void) { th_free(&h); }

TestSuite(window, .fini = stop);

Test(window, period_equals_every_not_aligned)
{
    start(TH_SCRIPT("    |window()\n        .period(10s)\n        .every(10s)\n"));
    th_feed(&h, "cpu,host=a v=1 1\ncpu,host=a v=2 5\ncpu,host=a v=3 11\ncpu,host=a v=4 12\n");
    /* first end = 1 + 10 = 11: the point at 11 closes [1, 11) */
    th_expect(&h, "window2: rows cpu tmax=11s n=2\n  cpu,host=a v=1 1s\n  cpu,host=a v=2 5s\n");
    th_feed(&h, "cpu,host=a v=5 25\n");
    /* next end = 11 + 10 = 21; 25 closes [11, 21) */
    th_expect(&h, "window2: rows cpu tmax=21s n=2\n  cpu,host=a v=3 11s\n  cpu,host=a v=4 12s\n");
}

Test(window, align_counts_from_go_zero_time)
{
    /* 7s does not divide a day: boundaries are multiples of 7s from 0001-01-01, which fall on
     * Unix seconds = 3 mod 7 (62135596800 = 6 mod 7), so ... 94, 101, 108 ... not 98, 105 */
    start(TH_SCRIPT("    |window()\n        .period(7s)\n        .every(7s)\n        .align()\n"));
    th_feed(&h, "cpu v=1 100\ncpu v=2 101\ncpu v=3 105\ncpu v=4 108\n");
    th_expect(&h, "window2: rows cpu tmax=101s n=1\n  cpu v=1 100s\n"
                  "window2: rows cpu tmax=108s n=2\n  cpu v=2 101s\n  cpu v=3 105s\n");
}

Test(window, align_with_a_period_that_divides_a_day)
{
    start(TH_SCRIPT("    |window()\n        .period(10s)\n        .every(10s)\n        .align()\n"));
    th_feed(&h, "cpu v=1 3\ncpu v=2 9\ncpu v=3 10\ncpu v=4 19\ncpu v=5 31\n");
    th_expect(&h, "window2: rows cpu tmax=10s n=2\n  cpu v=1 3s\n  cpu v=2 9s\n"
                  "window2: rows cpu tmax=20s n=2\n  cpu v=3 10s\n  cpu v=4 19s\n");
}

Test(window, time_is_per_group)
{
    start(TH_SCRIPT("    |groupBy('host')\n    |window()\n        .period(10s)\n        .every(10s)\n        .align()\n"));
    th_feed(&h, "cpu,host=a v=1 1\ncpu,host=b v=2 2\ncpu,host=a v=3 12\n");
    /* a's point at 12 closes a's window only; b's stays open */
    th_expect(&h, "window3: rows cpu,host=a tmax=10s n=1\n  cpu,host=a v=1 1s\n");
    th_feed(&h, "cpu,host=a v=4 25\n");
    th_expect(&h, "window3: rows cpu,host=a tmax=20s n=1\n  cpu,host=a v=3 12s\n");
    th_feed(&h, "cpu,host=b v=5 40\n");
    th_expect(&h, "window3: rows cpu,host=b tmax=10s n=1\n  cpu,host=b v=2 2s\n");
    cr_assert_eq(atomic_load(&th_node(&h, "window3")->stats.own[0]), 2); /* groups */
}

Test(window, sliding_window_keeps_points_for_the_next_window)
{
    start(TH_SCRIPT("    |window()\n        .period(20s)\n        .every(10s)\n        .align()\n"));
    th_feed(&h, "cpu v=1 5\ncpu v=2 15\ncpu v=3 25\ncpu v=4 35\n");
    th_expect(&h, "window2: rows cpu tmax=10s n=1\n  cpu v=1 5s\n"
                  "window2: rows cpu tmax=20s n=2\n  cpu v=1 5s\n  cpu v=2 15s\n"
                  "window2: rows cpu tmax=30s n=2\n  cpu v=2 15s\n  cpu v=3 25s\n");
}

Test(window, fill_period_waits_for_a_full_period)
{
    start(TH_SCRIPT("    |window()\n        .period(20s)\n        .every(10s)\n        .fillPeriod()\n"));
    th_feed(&h, "cpu v=1 0\ncpu v=2 10\ncpu v=3 19\ncpu v=4 20\ncpu v=5 30\n");
    /* first end = 0 + 20; then 20 + 10 = 30 */
    th_expect(&h, "window2: rows cpu tmax=20s n=3\n  cpu v=1 0s\n  cpu v=2 10s\n  cpu v=3 19s\n"
                  "window2: rows cpu tmax=30s n=3\n  cpu v=2 10s\n  cpu v=3 19s\n  cpu v=4 20s\n");
}

Test(window, fill_period_aligned_ends_after_first_plus_period)
{
    start(TH_SCRIPT("    |window()\n        .period(20s)\n        .every(10s)\n        .fillPeriod()\n        .align()\n"));
    /* first + period = 23, truncated to 20, which is not after 23: first end is 30 */
    th_feed(&h, "cpu v=1 3\ncpu v=2 12\ncpu v=3 29\ncpu v=4 30\n");
    th_expect(&h, "window2: rows cpu tmax=30s n=2\n  cpu v=2 12s\n  cpu v=3 29s\n");
}

Test(window, every_zero_emits_on_every_point)
{
    start(TH_SCRIPT("    |window()\n        .period(10s)\n        .every(0s)\n"));
    th_feed(&h, "cpu v=1 0\ncpu v=2 5\ncpu v=3 10\ncpu v=4 16\n");
    /* (t - 10, t]; the first point sets the first end to 0 + 0 and emits too */
    th_expect(&h, "window2: rows cpu tmax=0s n=1\n  cpu v=1 0s\n"
                  "window2: rows cpu tmax=5s n=2\n  cpu v=1 0s\n  cpu v=2 5s\n"
                  "window2: rows cpu tmax=10s n=2\n  cpu v=2 5s\n  cpu v=3 10s\n"
                  "window2: rows cpu tmax=16s n=2\n  cpu v=3 10s\n  cpu v=4 16s\n");
}

Test(window, gaps_between_windows_when_period_is_shorter)
{
    start(TH_SCRIPT("    |window()\n        .period(5s)\n        .every(10s)\n        .align()\n"));
    th_feed(&h, "cpu v=1 2\ncpu v=2 6\ncpu v=3 12\ncpu v=4 17\ncpu v=5 21\n");
    /* [5,10) holds 6; [15,20) holds 17 */
    th_expect(&h, "window2: rows cpu tmax=10s n=1\n  cpu v=2 6s\n"
                  "window2: rows cpu tmax=20s n=1\n  cpu v=4 17s\n");
}

Test(window, count_windows)
{
    start(TH_SCRIPT("    |window()\n        .periodCount(3)\n        .everyCount(2)\n"));
    th_feed(&h, "cpu v=1 1\ncpu v=2 2\ncpu v=3 3\ncpu v=4 4\ncpu v=5 5\n");
    th_expect(&h, "window2: rows cpu tmax=2s n=2\n  cpu v=1 1s\n  cpu v=2 2s\n"
                  "window2: rows cpu tmax=4s n=3\n  cpu v=2 2s\n  cpu v=3 3s\n  cpu v=4 4s\n");
}

Test(window, count_windows_fill_period)
{
    start(TH_SCRIPT("    |window()\n        .periodCount(2)\n        .everyCount(1)\n        .fillPeriod()\n"));
    th_feed(&h, "cpu v=1 1\ncpu v=2 2\ncpu v=3 3\n");
    th_expect(&h, "window2: rows cpu tmax=2s n=2\n  cpu v=1 1s\n  cpu v=2 2s\n"
                  "window2: rows cpu tmax=3s n=2\n  cpu v=2 2s\n  cpu v=3 3s\n");
}

Test(window, advance_flushes_due_windows_then_starts_afresh)
{
    start(TH_SCRIPT("    |window()\n        .period(10s)\n        .every(10s)\n        .align()\n"));
    th_feed(&h, "cpu v=1 1\ncpu v=2 4\n");
    th_advance(&h, 9);
    th_expect(&h, "");
    th_advance(&h, 10);
    th_expect(&h, "window2: rows cpu tmax=10s n=2\n  cpu v=1 1s\n  cpu v=2 4s\n");
    th_advance(&h, 100);
    th_expect(&h, "");
    th_feed(&h, "cpu v=3 103\ncpu v=4 111\n"); /* a new first window: [100, 110) */
    th_expect(&h, "window2: rows cpu tmax=110s n=1\n  cpu v=3 103s\n");
}

Test(window, copies_points_it_keeps)
{
    /* the fed batch is freed after th_feed: the window must show its own copies */
    start(TH_SCRIPT("    |window()\n        .period(10s)\n        .every(10s)\n        .align()\n"));
    th_feed(&h, "cpu,host=averyveryverylonghostname s=\"a string value\",v=1i 1\n");
    th_feed(&h, "cpu,host=b v=2i 12\n");
    th_expect(&h, "window2: rows cpu tmax=10s n=1\n  cpu,host=averyveryverylonghostname s=\"a string value\",v=1i 1s\n");
}

Test(window, fused_mean_matches_buffered_mean)
{
    static const char *data = "cpu,host=a v=1 1\ncpu,host=b v=10 2\ncpu,host=a v=2 5\ncpu,host=a v=4 12\n"
                              "cpu,host=b v=20 13\ncpu,host=a v=8 21\ncpu,host=b v=30 22\n";
    /* only mean under the window: fused (no points kept) */
    start(TH_SCRIPT("    |groupBy('host')\n    |window()\n        .period(10s)\n        .every(10s)\n        .align()\n"
                    "    |mean('v')\n"));
    th_feed(&h, data);
    const char *fused = "mean4: cpu,host=a mean=1.5 10s\nmean4: cpu,host=b mean=10 10s\n"
                        "mean4: cpu,host=a mean=4 20s\nmean4: cpu,host=b mean=20 20s\n";
    th_expect(&h, fused);
    cr_assert_eq(atomic_load(&th_node(&h, "window3")->stats.emitted), 4);
    cr_assert_eq(atomic_load(&th_node(&h, "mean4")->stats.collected), 4);
    th_free(&h);
    /* a second child that needs the points: buffered, same means */
    start(TH_SCRIPT("    |groupBy('host')\n    |window()\n        .period(10s)\n        .every(10s)\n        .align()\n"
                    "var w = stream|from().measurement('none')\n"));
    th_free(&h);
    start("var w = stream\n    |from()\n        .measurement('cpu')\n    |groupBy('host')\n    |window()\n"
          "        .period(10s)\n        .every(10s)\n        .align()\n"
          "w|mean('v')\nw|median('v')\n");
    th_feed(&h, data);
    th_expect(&h, "mean4: cpu,host=a mean=1.5 10s\nmedian5: cpu,host=a median=1.5 10s\n"
                  "mean4: cpu,host=b mean=10 10s\nmedian5: cpu,host=b median=10 10s\n"
                  "mean4: cpu,host=a mean=4 20s\nmedian5: cpu,host=a median=4 20s\n"
                  "mean4: cpu,host=b mean=20 20s\nmedian5: cpu,host=b median=20 20s\n");
}

Test(window, fused_advance_and_missing_field_error)
{
    start(TH_SCRIPT("    |window()\n        .period(10s)\n        .every(10s)\n        .align()\n    |sum('v')\n"));
    th_feed(&h, "cpu v=1i 1\ncpu v=2i 3\n");
    th_advance(&h, 10);
    th_expect(&h, "sum3: cpu sum=3i 10s\n");
    th_feed(&h, "cpu v=1i 11\ncpu other=2i 12\ncpu v=5i 25\n");
    /* a point without the field spoils the whole window, as in Kapacitor */
    th_expect(&h, "");
    cr_assert_eq(atomic_load(&th_node(&h, "sum3")->stats.errors), 1);
}

Test(window, fused_state_stays_under_256_bytes_per_series)
{
    start(TH_SCRIPT("    |groupBy('host')\n    |window()\n        .period(10s)\n        .every(10s)\n    |mean('usage_idle')\n"));
    char line[128];
    fa_buf_t body = FA_BUF_INIT;
    for (int i = 0; i < 20000; i++) {
        snprintf(line, sizeof line, "cpu,host=host-%05d,region=eu usage_idle=%d 1\n", i, i % 100);
        fa_buf_append_c(&body, line);
    }
    th_feed(&h, fa_buf_cstr(&body));
    fa_buf_deinit(&body);
    eng_node_t *w = th_node(&h, "window3");
    uint64_t groups = atomic_load(&w->stats.own[0]), bytes = atomic_load(&w->stats.own[1]);
    cr_assert_eq(groups, 20000);
    cr_assert_lt(bytes / groups, 256, "%llu bytes per series", (unsigned long long)(bytes / groups));
}

Test(window, property_errors)
{
    cr_assert_eq(th_new(&h, TH_SCRIPT("    |window()\n        .period(10s)\n        .periodCount(3)\n        .everyCount(1)\n")), -1);
    cr_assert_str_eq(h.err.msg, "cannot specify both period and periodCount");
    cr_assert_eq(th_new(&h, TH_SCRIPT("    |window()\n        .periodCount(3)\n        .everyCount(0)\n")), -1);
    cr_assert_str_eq(h.err.msg, "everyCount must be greater than zero");
    cr_assert_eq(th_new(&h, TH_SCRIPT("    |window()\n        .period(0s)\n        .every(3s)\n")), -1);
    cr_assert_str_eq(h.err.msg, "window node must have a period greater than zero or a periodCount");
    cr_assert_eq(h.err.pos.line, 4);
    cr_assert_eq(th_new(&h, TH_SCRIPT("    |window()\n        .period(10s)\n        .every(0s)\n        .align()\n")), -1);
    cr_assert_str_eq(h.err.msg, "cannot align a window emitted on every point (every is 0)");
    h.t = NULL;
}
