/* test/engine/test_node_transform.c - engine/node_transform.c and node_state.c: shift, sample,
 * default, delete, changeDetect, stateCount, stateDuration. Outputs worked out by hand. */
#include <criterion/criterion.h>

#include "test/engine/harness.h"

static eng_harness_t h;

static void run(const char *script, const char *lp)
{
    cr_assert_eq(eng_harness_new(&h, script, "db", "rp"), 0, "%s", h.err.msg);
    eng_harness_feed(&h, lp);
}

static void fini(void) { eng_harness_free(&h); }
TestSuite(node_transform, .fini = fini);

Test(node_transform, shift_moves_time_both_ways)
{
    run("stream|from()|shift(5s)|shift(-1ms)\n", "cpu v=1 1000000000\ncpu v=2 0\n");
    cr_assert_str_eq(eng_harness_out(&h), "shift3: cpu v=1 5999000000\nshift3: cpu v=2 4999000000\n");
}

Test(node_transform, sample_count_keeps_every_nth_point_per_group_from_the_first)
{
    run("stream|from().groupBy('host')|sample(3)\n",
        "cpu,host=a v=1 1\ncpu,host=b v=1 2\ncpu,host=a v=2 3\ncpu,host=a v=3 4\ncpu,host=b v=2 5\n"
        "cpu,host=a v=4 6\ncpu,host=b v=3 7\ncpu,host=b v=4 8\n");
    cr_assert_str_eq(eng_harness_out(&h), "sample2: cpu,host=a v=1 1\nsample2: cpu,host=b v=1 2\n"
                                          "sample2: cpu,host=a v=4 6\nsample2: cpu,host=b v=4 8\n");
}

Test(node_transform, sample_duration_keeps_times_on_a_multiple)
{
    run("stream|from()|sample(10s)\n", "cpu v=1 10000000000\ncpu v=2 15000000000\ncpu v=3 20000000000\ncpu v=4 20000000001\n");
    cr_assert_str_eq(eng_harness_out(&h), "sample2: cpu v=1 10000000000\nsample2: cpu v=3 20000000000\n");
}

Test(node_transform, default_fills_missing_fields_and_tags_only)
{
    run("stream|from()|default().field('v', 0.5).field('n', 7).field('s', 'x').tag('dc', 'eu').tag('host', 'none')\n",
        "cpu,host=a v=1 1\ncpu n=2i 2\n");
    cr_assert_str_eq(eng_harness_out(&h), "default2: cpu,dc=eu,host=a v=1,n=7i,s=\"x\" 1\n"
                                          "default2: cpu,dc=eu,host=none n=2i,v=0.5,s=\"x\" 2\n");
    eng_node_t *n = eng_harness_node(&h, "default2");
    cr_assert_eq(atomic_load(&n->stats.own[0]), 4); /* n, s; then v, s */
    cr_assert_eq(atomic_load(&n->stats.own[1]), 3); /* dc; then dc, host */
}

Test(node_transform, delete_removes_fields_and_tags_and_regroups)
{
    h.show_groups = true;
    cr_assert_eq(eng_harness_new(&h, "stream|from().groupBy('host', 'dc')|delete().field('b').tag('dc').tag('zz')\n", "db", "rp"), 0);
    h.show_groups = true;
    eng_harness_feed(&h, "cpu,dc=eu,host=a a=1,b=2 1\n");
    cr_assert_str_eq(eng_harness_out(&h), "delete2: cpu,host=a a=1 1 group=host=a\n");
    eng_node_t *n = eng_harness_node(&h, "delete2");
    cr_assert_eq(atomic_load(&n->stats.own[0]), 1);
    cr_assert_eq(atomic_load(&n->stats.own[1]), 1);
}

Test(node_transform, change_detect_passes_first_and_changed_points_per_group)
{
    run("stream|from().groupBy('host')|changeDetect('s', 'v')\n",
        "cpu,host=a s=\"up\",v=1 1\ncpu,host=a s=\"up\",v=1 2\ncpu,host=b s=\"up\",v=1 3\ncpu,host=a s=\"down\",v=1 4\n"
        "cpu,host=a s=\"down\",v=1i 5\ncpu,host=a v=1 6\ncpu,host=a s=\"down\",v=1i 7\n");
    cr_assert_str_eq(eng_harness_out(&h), "changeDetect2: cpu,host=a s=\"up\",v=1 1\n"
                                          "changeDetect2: cpu,host=b s=\"up\",v=1 3\n"
                                          "changeDetect2: cpu,host=a s=\"down\",v=1 4\n"
                                          "changeDetect2: cpu,host=a s=\"down\",v=1i 5\n");
    cr_assert_eq(atomic_load(&eng_harness_node(&h, "changeDetect2")->stats.errors), 1);
}

Test(node_transform, state_count_counts_consecutive_trues_and_is_minus_one_when_false)
{
    run("stream|from().groupBy('host')|stateCount(lambda: \"v\" > 1)\n",
        "cpu,host=a v=2 1\ncpu,host=a v=3 2\ncpu,host=b v=5 3\ncpu,host=a v=0 4\ncpu,host=a v=9 5\n");
    cr_assert_str_eq(eng_harness_out(&h), "state_count2: cpu,host=a v=2,state_count=1i 1\n"
                                          "state_count2: cpu,host=a v=3,state_count=2i 2\n"
                                          "state_count2: cpu,host=b v=5,state_count=1i 3\n"
                                          "state_count2: cpu,host=a v=0,state_count=-1i 4\n"
                                          "state_count2: cpu,host=a v=9,state_count=1i 5\n");
}

Test(node_transform, state_duration_in_units_from_the_first_true_point)
{
    run("stream|from()|stateDuration(lambda: \"v\" > 1).unit(1m).as('d')\n",
        "cpu v=2 60000000000\ncpu v=3 90000000000\ncpu v=4 240000000000\ncpu v=0 250000000000\ncpu v=5 260000000000\n");
    cr_assert_str_eq(eng_harness_out(&h), "state_duration2: cpu v=2,d=0 60000000000\n"
                                          "state_duration2: cpu v=3,d=0.5 90000000000\n"
                                          "state_duration2: cpu v=4,d=3 240000000000\n"
                                          "state_duration2: cpu v=0,d=-1 250000000000\n"
                                          "state_duration2: cpu v=5,d=0 260000000000\n");
}

Test(node_transform, state_lambda_error_drops_the_point)
{
    run("stream|from()|stateCount(lambda: \"v\" > 1)\n", "cpu w=2 1\ncpu v=2 2\n");
    cr_assert_str_eq(eng_harness_out(&h), "state_count2: cpu v=2,state_count=1i 2\n");
    cr_assert_eq(atomic_load(&eng_harness_node(&h, "state_count2")->stats.errors), 1);
}
