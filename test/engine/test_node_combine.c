/* test/engine/test_node_combine.c - engine/node_combine.c: combine(λ...) on stream and batch
 * edges. Outputs worked out by hand from Kapacitor's rules (the header of node_combine.c). */
#include <criterion/criterion.h>

#include "test/engine/harness.h"

static eng_harness_t h;

static void run(const char *script, const char *lp)
{
    cr_assert_eq(eng_harness_new(&h, script, "db", "rp"), 0, "%s", h.err.msg);
    if (lp != NULL)
        cr_assert_geq(eng_harness_feed(&h, lp), 0, "%s", h.lp_errors);
}

static void fini(void) { eng_harness_free(&h); }
TestSuite(node_combine, .fini = fini);

/* Kapacitor's documented use: pair the login service with every other one, per data center */
Test(node_combine, pairs_each_match_group_tags_kept_others_prefixed)
{
    run("stream|from().measurement('req').groupBy('dc')\n"
        "    |combine(lambda: \"service\" == 'login', lambda: TRUE).as('login', 'other').delimiter('_')\n",
        "req,dc=a,service=login v=1 10\n"
        "req,dc=a,service=auth v=2 10\n"
        "req,dc=a,service=cart v=3 10\n"
        "req,dc=a,service=login v=4 20\n");
    /* subsets {0,1} {0,2} {1,2}: the last has no login point */
    cr_assert_str_eq(eng_harness_out(&h), "combine2: req,dc=a,login_service=login,other_service=auth login_v=1,other_v=2 10\n"
                                          "combine2: req,dc=a,login_service=login,other_service=cart login_v=1,other_v=3 10\n");
    eng_harness_clear(&h);
    /* the 20 buffer waits for a later time; a lone point makes no pair */
    eng_harness_feed(&h, "req,dc=a,service=auth v=5 30\n");
    cr_assert_str_eq(eng_harness_out(&h), "");
    eng_harness_feed(&h, "req,dc=a,service=auth v=6 30\nreq,dc=a,service=login v=7 30\nreq,dc=a,service=x v=0 40\n");
    /* {auth5, auth6}: no login; {auth5, login7}: login takes 7, other 5; {auth6, login7}: 7 and 6 */
    cr_assert_str_eq(eng_harness_out(&h), "combine2: req,dc=a,login_service=login,other_service=auth login_v=7,other_v=5 30\n"
                                          "combine2: req,dc=a,login_service=login,other_service=auth login_v=7,other_v=6 30\n");
}

Test(node_combine, subsets_not_orderings_and_tolerance_rounds_times)
{
    run("stream|from()|combine(lambda: \"v\" > 0, lambda: \"v\" > 0).as('a', 'b').tolerance(1s)\n",
        "cpu,host=x v=1 600000000\n"
        "cpu,host=y v=2 1400000000\n"
        "cpu,host=x v=3 1600000000\n");
    /* 0.6s and 1.4s round to 1s; {0,1} gives one point, a = the first: never (a=2, b=1) */
    cr_assert_str_eq(eng_harness_out(&h), "combine2: cpu,a.host=x,b.host=y a.v=1,b.v=2 1000000000\n");
    eng_harness_clear(&h);
    eng_harness_feed(&h, "cpu,host=z v=4 2400000000\ncpu v=5 3000000000\n");
    cr_assert_str_eq(eng_harness_out(&h), "combine2: cpu,a.host=x,b.host=z a.v=3,b.v=4 2000000000\n");
}

Test(node_combine, groups_are_combined_apart)
{
    run("stream|from().groupBy('host')|combine(lambda: \"k\" == 'in', lambda: \"k\" == 'out').as('i', 'o')\n",
        "io,host=a k=\"in\",n=1i 1\n"
        "io,host=b k=\"out\",n=2i 1\n"
        "io,host=a k=\"out\",n=3i 1\n"
        "io,host=b k=\"in\",n=4i 1\n"
        "io,host=a k=\"in\",n=0i 2\n"
        "io,host=b k=\"in\",n=0i 2\n");
    cr_assert_str_eq(eng_harness_out(&h), "combine2: io,host=a i.k=\"in\",i.n=1i,o.k=\"out\",o.n=3i 1\n"
                                          "combine2: io,host=b i.k=\"in\",i.n=4i,o.k=\"out\",o.n=2i 1\n");
    cr_assert_eq(atomic_load(&eng_harness_node(&h, "combine2")->stats.cardinality), 2);
}

Test(node_combine, more_subsets_than_max_is_an_error_and_the_task_goes_on)
{
    run("stream|from()|combine(lambda: TRUE, lambda: TRUE).as('a', 'b').max(2)\n",
        "m v=1 1\nm v=2 1\nm v=3 1\n" /* C(3,2) = 3 > 2 */
        "m v=4 2\nm v=5 2\n"          /* C(2,2) = 1 */
        "m v=6 3\n");
    cr_assert_str_eq(eng_harness_out(&h), "combine2: m a.v=4,b.v=5 2\n");
    cr_assert_eq(atomic_load(&eng_harness_node(&h, "combine2")->stats.errors), 1);
}

Test(node_combine, three_expressions_take_points_greedily)
{
    run("stream|from()|combine(lambda: \"v\" < 10, lambda: \"v\" < 20, lambda: TRUE).as('x', 'y', 'z')\n",
        "m v=5 1\nm v=15 1\nm v=25 1\nm v=35 1\nm v=0 2\n");
    /* {0,1,2}: x=5 y=15 z=25; {0,1,3}: 5 15 35; {0,2,3}: x=5, y: 25 and 35 fail; {1,2,3}: x fails */
    cr_assert_str_eq(eng_harness_out(&h), "combine2: m x.v=5,y.v=15,z.v=25 1\n"
                                          "combine2: m x.v=5,y.v=15,z.v=35 1\n");
}

Test(node_combine, a_batch_is_combined_per_time_into_one_batch)
{
    run("stream|from()|window().period(10s).every(10s).align()\n"
        "    |combine(lambda: \"host\" == 'x', lambda: \"host\" == 'y').as('x', 'y')\n",
        "cpu,host=x v=1 1000000000\n"
        "cpu,host=y v=2 1000000000\n"
        "cpu,host=x v=3 2000000000\n"
        "cpu,host=x v=9 11000000000\n");
    cr_assert_str_eq(eng_harness_out(&h), "combine3: rows cpu tmax=10000000000 n=1\n"
                                          "combine3:   cpu,x.host=x,y.host=y x.v=1,y.v=2 1000000000\n");
}

Test(node_combine, as_must_name_each_expression)
{
    cr_assert_neq(eng_harness_new(&h, "stream|from()|combine(lambda: TRUE, lambda: TRUE).as('a')\n", "db", "rp"), 0);
    cr_assert(strstr(h.err.msg, "one name per expression") != NULL || strstr(h.err.msg, "as") != NULL, "%s", h.err.msg);
}

Test(node_combine, advance_combines_the_last_set_once_time_has_passed_it)
{
    run("stream|from()|combine(lambda: TRUE, lambda: TRUE).as('a', 'b')\n", "m v=1 5\nm v=2 5\n");
    cr_assert_str_eq(eng_harness_out(&h), "");
    eng_harness_advance(&h, 5); /* not older than now: it may still grow */
    cr_assert_str_eq(eng_harness_out(&h), "");
    eng_harness_advance(&h, 6);
    cr_assert_str_eq(eng_harness_out(&h), "combine2: m a.v=1,b.v=2 5\n");
    eng_harness_advance(&h, 7);
    cr_assert_str_eq(eng_harness_out(&h), "combine2: m a.v=1,b.v=2 5\n");
}
