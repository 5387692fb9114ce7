/* test/engine/test_node_barrier.c - engine/node_barrier.c: barrier() idle and period in the
 * data's time, dropping points older than a barrier, delete, and the windows below it closing.
 * Outputs worked out by hand (the header of node_barrier.c). */
#include <criterion/criterion.h>

#include "test/engine/harness.h"

static eng_harness_t h;

static void run(const char *script, const char *lp)
{
    cr_assert_eq(eng_harness_new(&h, script, "db", "rp"), 0, "%s", h.err.msg);
    if (lp != NULL)
        cr_assert_geq(eng_harness_feed(&h, lp), 0, "%s", h.lp_errors);
}

static uint64_t own(const char *node, int i) { return atomic_load(&eng_harness_node(&h, node)->stats.own[i]); }

static void fini(void) { eng_harness_free(&h); }
TestSuite(node_barrier, .fini = fini);

#define S 1000000000LL

Test(node_barrier, idle_group_closes_its_window_when_others_move_time_on)
{
    run("stream|from().groupBy('host')|barrier().idle(5s)|window().period(10s).every(10s).align()|count('v')\n",
        "cpu,host=a v=1 1000000000\n"
        "cpu,host=b v=1 1000000000\n"
        "cpu,host=a v=1 2000000000\n"
        "cpu,host=b v=1 4000000000\n"
        "cpu,host=b v=1 8000000000\n"
        "cpu,host=b v=1 9000000000\n");
    cr_assert_str_eq(eng_harness_out(&h), "");
    /* b at 8s found a quiet since 2s: a barrier at 7s (no window ends by then); b at 12s closes
     * b's window, and a's next barrier, at 12s, closes a's */
    eng_harness_feed(&h, "cpu,host=b v=1 12000000000\n");
    cr_assert_str_eq(eng_harness_out(&h), "count4: cpu,host=b count=4i 10000000000\n"
                                          "count4: cpu,host=a count=2i 10000000000\n");
    cr_assert_eq(own("barrier2", 0), 2);
    eng_harness_clear(&h);
    /* a point of a older than its barrier is dropped; a newer one starts a's next window */
    eng_harness_feed(&h, "cpu,host=a v=1 11000000000\ncpu,host=a v=1 13000000000\n");
    cr_assert_eq(own("barrier2", 1), 1);
    cr_assert_str_eq(eng_harness_out(&h), "");
}

Test(node_barrier, without_barrier_the_quiet_group_waits)
{
    run("stream|from().groupBy('host')|window().period(10s).every(10s).align()|count('v')\n",
        "cpu,host=a v=1 1000000000\ncpu,host=a v=1 2000000000\ncpu,host=b v=1 9000000000\ncpu,host=b v=1 12000000000\n");
    cr_assert_str_eq(eng_harness_out(&h), "count3: cpu,host=b count=1i 10000000000\n");
}

Test(node_barrier, period_barriers_from_the_first_point_drop_older_points)
{
    run("stream|from()|barrier().period(10s)\n", "cpu v=1 0\ncpu v=2 25000000000\n");
    /* due at 10s, found at 25s: the barrier is at 20s; 15s is dropped, 21s passes */
    eng_harness_feed(&h, "cpu v=3 15000000000\ncpu v=4 21000000000\ncpu v=5 20000000000\n");
    cr_assert_str_eq(eng_harness_out(&h), "barrier2: cpu v=1 0\nbarrier2: cpu v=2 25000000000\n"
                                          "barrier2: cpu v=4 21000000000\nbarrier2: cpu v=5 20000000000\n");
    cr_assert_eq(own("barrier2", 0), 1);
    cr_assert_eq(own("barrier2", 1), 1);
    /* next barrier at 30s */
    eng_harness_feed(&h, "cpu v=6 31000000000\ncpu v=7 29000000000\n");
    cr_assert_eq(own("barrier2", 0), 2);
    cr_assert_eq(own("barrier2", 1), 2);
}

Test(node_barrier, idle_repeats_every_idle_while_quiet)
{
    run("stream|from().groupBy('host')|barrier().idle(5s)\n", "cpu,host=a v=1 1000000000\ncpu,host=b v=1 17000000000\n");
    /* a: due at 6s, then 11s, 16s: the barrier found at 17s is at 16s */
    eng_harness_feed(&h, "cpu,host=a v=2 15000000000\ncpu,host=a v=3 16000000000\n");
    cr_assert_eq(own("barrier2", 1), 1);
    cr_assert_str_eq(eng_harness_out(&h), "barrier2: cpu,host=a v=1 1000000000\nbarrier2: cpu,host=b v=1 17000000000\n"
                                          "barrier2: cpu,host=a v=3 16000000000\n");
}

Test(node_barrier, delete_forgets_the_group_after_its_barrier)
{
    run("stream|from().groupBy('host')|barrier().idle(5s).delete(TRUE)\n",
        "cpu,host=a v=1 0\ncpu,host=b v=1 10000000000\n");
    cr_assert_eq(atomic_load(&eng_harness_node(&h, "barrier2")->stats.cardinality), 1);
    /* a was deleted at its barrier (10s): its point at 3s starts it afresh instead of being dropped */
    eng_harness_feed(&h, "cpu,host=a v=2 3000000000\n");
    cr_assert_eq(own("barrier2", 1), 0);
    cr_assert_str_eq(eng_harness_out(&h), "barrier2: cpu,host=a v=1 0\nbarrier2: cpu,host=b v=1 10000000000\n"
                                          "barrier2: cpu,host=a v=2 3000000000\n");
    cr_assert_eq(atomic_load(&eng_harness_node(&h, "barrier2")->stats.cardinality), 2);
}

Test(node_barrier, advance_finds_barriers_too)
{
    run("stream|from()|barrier().idle(5s)\n", "cpu v=1 1000000000\n");
    eng_harness_advance(&h, 100 * S);
    /* due at 6s; at 100s the barrier is at 6 + 90 = 96s */
    eng_harness_feed(&h, "cpu v=2 95000000000\ncpu v=3 96000000000\n");
    cr_assert_str_eq(eng_harness_out(&h), "barrier2: cpu v=1 1000000000\nbarrier2: cpu v=3 96000000000\n");
    cr_assert_eq(own("barrier2", 1), 1);
}

Test(node_barrier, exactly_one_of_idle_and_period)
{
    cr_assert_neq(eng_harness_new(&h, "stream|from()|barrier()\n", "db", "rp"), 0);
    cr_assert(strstr(h.err.msg, "either idle or period") != NULL, "%s", h.err.msg);
    cr_assert_neq(eng_harness_new(&h, "stream|from()|barrier().idle(1s).period(1s)\n", "db", "rp"), 0);
    cr_assert(strstr(h.err.msg, "both") != NULL, "%s", h.err.msg);
}
