/* test/engine/test_node_flatten.c - engine/node_flatten.c: flatten() on stream and batch edges.
 * Outputs worked out by hand from Kapacitor's rules (the header of node_flatten.c). */
#include <criterion/criterion.h>

#include "test/engine/harness.h"

static eng_harness_t h;

static void run(const char *script, const char *lp)
{
    cr_assert_eq(eng_harness_new(&h, script, "db", "rp"), 0, "%s", h.err.msg);
    cr_assert_geq(eng_harness_feed(&h, lp), 0, "%s", h.lp_errors);
}

static void fini(void) { eng_harness_free(&h); }
TestSuite(node_flatten, .fini = fini);

Test(node_flatten, one_point_per_group_and_time_with_only_group_tags)
{
    run("stream|from().groupBy('host')|flatten().on('port').tolerance(1s)\n",
        "net,host=a,port=80 rx=1 1000000000\n"
        "net,host=b,port=80 rx=7 1000000000\n"
        "net,host=a,port=443 rx=2,tx=3 1200000000\n"
        "net,host=a,port=80 rx=5 2000000000\n");
    /* a's 1s set closes on its 2s point; b's waits for b's next time */
    cr_assert_str_eq(eng_harness_out(&h), "flatten2: net,host=a 443.rx=2,443.tx=3,80.rx=1 1000000000\n");
    eng_harness_clear(&h);
    eng_harness_feed(&h, "net,host=b,port=22 rx=8 3000000000\n");
    cr_assert_str_eq(eng_harness_out(&h), "flatten2: net,host=b 80.rx=7 1000000000\n");
}

Test(node_flatten, several_tags_delimiter_drop_name_and_a_missing_tag)
{
    run("stream|from()|flatten().on('dc', 'port').delimiter('_').dropOriginalFieldName()\n",
        "net,dc=eu,port=80 rx=1 10\n"
        "net,dc=us,port=80 rx=2 10\n"
        "net,port=22 rx=9 10\n"
        "net,dc=eu,port=80 rx=3 20\n");
    cr_assert_str_eq(eng_harness_out(&h), "flatten2: net eu_80=1,us_80=2 10\n");
    cr_assert_eq(atomic_load(&eng_harness_node(&h, "flatten2")->stats.errors), 1);
}

Test(node_flatten, a_later_point_with_the_same_name_wins)
{
    run("stream|from()|flatten().on('port')\n",
        "net,port=80 rx=1,tx=4 10\nnet,port=80 rx=2 10\nnet,port=80 rx=0 11\n");
    cr_assert_str_eq(eng_harness_out(&h), "flatten2: net 80.rx=2,80.tx=4 10\n");
}

Test(node_flatten, a_batch_flattens_each_time_into_one_batch)
{
    run("stream|from()|window().period(10s).every(10s).align()|flatten().on('host')\n",
        "cpu,host=a v=1 1000000000\n"
        "cpu,host=b v=2 1000000000\n"
        "cpu,host=a v=3 2000000000\n"
        "cpu,host=a v=9 11000000000\n");
    cr_assert_str_eq(eng_harness_out(&h), "flatten3: rows cpu tmax=10000000000 n=2\n"
                                          "flatten3:   cpu a.v=1,b.v=2 1000000000\n"
                                          "flatten3:   cpu a.v=3 2000000000\n");
}

Test(node_flatten, advance_emits_the_last_set_once_time_has_passed_it)
{
    run("stream|from().groupBy('host')|flatten().on('port')\n", "net,host=a,port=80 rx=1 5\nnet,host=a,port=22 rx=2 5\n");
    eng_harness_advance(&h, 5);
    cr_assert_str_eq(eng_harness_out(&h), "");
    eng_harness_advance(&h, 6);
    cr_assert_str_eq(eng_harness_out(&h), "flatten2: net,host=a 22.rx=2,80.rx=1 5\n");
}
