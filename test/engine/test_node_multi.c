/* test/engine/test_node_multi.c - nodes with several parents: union (time order up to the
 * slowest parent, idle flush) and join (as, tolerance, fill, streamName, on). Expected output
 * worked out by hand. */
#include <criterion/criterion.h>

#include "test/engine/harness.h"

static eng_harness_t h;

static void run(const char *script, const char *lp)
{
    cr_assert_eq(eng_harness_new(&h, script, "db", "rp"), 0, "%s", h.err.msg);
    eng_harness_feed(&h, lp);
}

static void fini(void) { eng_harness_free(&h); }
TestSuite(node_multi, .fini = fini);

Test(node_multi, union_emits_in_time_order_up_to_the_slowest_parent)
{
    run("var a = stream|from().measurement('a')\nvar b = stream|from().measurement('b')\na|union(b).rename('ab')\n",
        "a v=1 1\na v=3 3\n");
    cr_assert_str_eq(eng_harness_out(&h), "");
    eng_harness_feed(&h, "b v=2 2\nb v=5 5\na v=4 4\n");
    cr_assert_str_eq(eng_harness_out(&h), "union3: ab v=1 1\nunion3: ab v=2 2\nunion3: ab v=3 3\nunion3: ab v=4 4\n");
    eng_harness_clear(&h);
    eng_harness_advance(&h, 10); /* idle flush: b's point no longer waits for a */
    cr_assert_str_eq(eng_harness_out(&h), "union3: ab v=5 5\n");
}

Test(node_multi, union_without_rename_keeps_names)
{
    run("var a = stream|from().measurement('a')\nvar b = stream|from().measurement('b')\na|union(b)\n",
        "b v=1 1\na v=2 1\n");
    cr_assert_str_eq(eng_harness_out(&h), "union3: a v=2 1\nunion3: b v=1 1\n");
}

static const char join_script[] = "var e = stream|from().measurement('errors').groupBy('host')\n"
                                   "var r = stream|from().measurement('requests').groupBy('host')\n"
                                   "e|join(r).as('e', 'r').tolerance(1s)";

static const char join_input[] = "errors,host=a,dc=x v=3 1000000000\n"
                                 "requests,host=a v=10,ok=true 1200000000\n"
                                 "errors,host=b v=1 2000000000\n"
                                 "errors,host=a v=4 3000000000\n"
                                 "requests,host=a v=20,ok=false 3000000000\n";

Test(node_multi, join_matches_by_group_and_rounded_time_and_drops_incomplete_sets)
{
    char s[512];
    snprintf(s, sizeof s, "%s\n", join_script);
    run(s, join_input);
    cr_assert_str_eq(eng_harness_out(&h), "join3: errors,host=a e.v=3,r.v=10,r.ok=true 1000000000\n"
                                          "join3: errors,host=a e.v=4,r.v=20,r.ok=false 3000000000\n");
    cr_assert_eq(atomic_load(&eng_harness_node(&h, "join3")->stats.own[0]), 1);
}

Test(node_multi, join_fill_number_and_stream_name)
{
    char s[512];
    snprintf(s, sizeof s, "%s.fill(0.0).streamName('x').delimiter('_')\n", join_script);
    run(s, join_input);
    cr_assert_str_eq(eng_harness_out(&h), "join3: x,host=a e_v=3,r_v=10,r_ok=true 1000000000\n"
                                          "join3: x,host=b e_v=1,r_v=0 2000000000\n"
                                          "join3: x,host=a e_v=4,r_v=20,r_ok=false 3000000000\n");
}

Test(node_multi, join_idle_flush_settles_what_waits)
{
    char s[512];
    snprintf(s, sizeof s, "%s.fill(-1)\n", join_script);
    run(s, "errors,host=a v=3 1000000000\n");
    eng_harness_advance(&h, 1000000000);
    cr_assert_str_eq(eng_harness_out(&h), "");
    eng_harness_advance(&h, 1000000001);
    cr_assert_str_eq(eng_harness_out(&h), "join3: errors,host=a e.v=3,r.v=-1i 1000000000\n");
}

Test(node_multi, join_on_a_coarser_tag)
{
    run("var a = stream|from().measurement('a').groupBy('host', 'dc')\n"
        "var b = stream|from().measurement('b').groupBy('dc')\n"
        "a|join(b).as('a', 'b').on('dc')\n",
        "a,dc=x,host=h1 v=1 5\nb,dc=y v=7 5\nb,dc=x v=2 5\n");
    cr_assert_str_eq(eng_harness_out(&h), "join3: a,dc=x a.v=1,b.v=2 5\n");
}

Test(node_multi, join_needs_one_prefix_per_parent)
{
    cr_assert_eq(eng_harness_new(&h, "var a = stream|from()\nvar b = stream|from()\na|join(b).as('x')\n", "db", "rp"), -1);
    cr_assert_str_eq(h.err.msg, "number of prefixes specified by 'as' must match the number of joined streams: 1 prefixes, 2 streams");
}
