/* test/engine/test_node_derivative.c - derivative(): unit, nonNegative, as, per group on
 * streams, restarting per batch. */
#include "test_node_window_util.h"

static th_t h;

static void stop(void) { th_free(&h); }

TestSuite(derivative, .fini = stop);

Test(derivative, rate_per_second_per_group)
{
    cr_assert_eq(th_new(&h, TH_SCRIPT("    |groupBy('host')\n    |derivative('v')\n")), 0, "%s", h.err.msg);
    th_feed(&h, "cpu,host=a v=10 0\ncpu,host=b v=1i 1\ncpu,host=a v=30 10\ncpu,host=b v=4i 4\ncpu,host=a v=25 15\n");
    /* a: (30-10)/10 = 2, (25-30)/5 = -1; b: (4-1)/3 = 1; the point keeps its fields */
    th_expect(&h, "derivative3: cpu,host=a v=30,derivative=2 10s\nderivative3: cpu,host=b v=4i,derivative=1 4s\n"
                  "derivative3: cpu,host=a v=25,derivative=-1 15s\n");
}

Test(derivative, unit_non_negative_and_as)
{
    cr_assert_eq(th_new(&h, TH_SCRIPT("    |derivative('v')\n        .unit(1m)\n        .nonNegative()\n        .as('rate')\n")),
                 0, "%s", h.err.msg);
    th_feed(&h, "cpu v=0 0\ncpu v=3 30\ncpu v=1 40\ncpu v=2 70\n");
    /* 3 per 30s = 6/min; 1 -> dropped (negative) but becomes the previous; (2-1)/30s = 2/min */
    th_expect(&h, "derivative2: cpu v=3,rate=6 30s\nderivative2: cpu v=2,rate=2 70s\n");
}

Test(derivative, errors_for_missing_field_and_zero_elapsed)
{
    cr_assert_eq(th_new(&h, TH_SCRIPT("    |derivative('v')\n")), 0, "%s", h.err.msg);
    th_feed(&h, "cpu v=1 1\ncpu w=1 2\ncpu v=2 1\ncpu v=5 4\n");
    th_expect(&h, "derivative2: cpu v=5,derivative=1 4s\n");
    cr_assert_eq(atomic_load(&th_node(&h, "derivative2")->stats.errors), 2);
}

Test(derivative, restarts_with_every_batch)
{
    cr_assert_eq(th_new(&h, TH_SCRIPT("    |window()\n        .period(10s)\n        .every(10s)\n        .align()\n"
                                      "    |derivative('v')\n")), 0, "%s", h.err.msg);
    th_feed(&h, "cpu v=0 1\ncpu v=4 3\ncpu v=10 11\ncpu v=20 16\ncpu v=0 21\n");
    th_expect(&h, "derivative3: rows cpu tmax=10s n=1\n  cpu v=4,derivative=2 3s\n"
                  "derivative3: rows cpu tmax=20s n=1\n  cpu v=20,derivative=2 16s\n");
}
