/* test/engine/test_node_stats.c - engine/node_stats.c: stats(interval) on data time, per group,
 * aligned and not, and with nothing emitted. Expected lines worked out by hand. */
#include <criterion/criterion.h>

#include "test/engine/harness.h"

static eng_harness_t h;
static void fini(void) { eng_harness_free(&h); }
TestSuite(node_stats, .fini = fini);

Test(node_stats, aligned_ticks_per_group_catch_up_over_gaps)
{
    cr_assert_eq(eng_harness_new(&h, "stream|from().groupBy('host')|where(lambda: \"v\" > 0)|stats(10s).align()\n", "db", "rp"), 0,
                 "%s", h.err.msg);
    eng_harness_feed(&h, "cpu,host=a v=1 1000000000\ncpu,host=b v=1 5000000000\ncpu,host=a v=0 12000000000\n"
                         "cpu,host=a v=1 35000000000\n");
    eng_harness_advance(&h, 40000000000);
    /* where2 is no leaf any more (stats counts its output), so only stats3 is tapped */
    cr_assert_str_eq(eng_harness_out(&h), "stats3: stats,host=a emitted=1i 10000000000\n"
                                          "stats3: stats,host=b emitted=1i 10000000000\n"
                                          "stats3: stats,host=a emitted=1i 20000000000\n"
                                          "stats3: stats,host=b emitted=1i 20000000000\n"
                                          "stats3: stats,host=a emitted=1i 30000000000\n"
                                          "stats3: stats,host=b emitted=1i 30000000000\n"
                                          "stats3: stats,host=a emitted=2i 40000000000\n"
                                          "stats3: stats,host=b emitted=1i 40000000000\n");
}

Test(node_stats, unaligned_counts_from_first_time_and_reports_zero_without_groups)
{
    cr_assert_eq(eng_harness_new(&h, "stream|from().measurement('mem')|stats(1s)\n", "db", "rp"), 0, "%s", h.err.msg);
    eng_harness_feed(&h, "cpu v=1 500000000\ncpu v=1 1400000000\ncpu v=1 1500000000\n");
    cr_assert_str_eq(eng_harness_out(&h), "stats2: stats emitted=0i 1500000000\n");
    eng_harness_clear(&h);
    eng_harness_feed(&h, "mem v=1 1600000000\n");
    eng_harness_advance(&h, 2600000000);
    cr_assert_str_eq(eng_harness_out(&h), "stats2: stats emitted=1i 2500000000\n");
}
