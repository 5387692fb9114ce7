/* test/engine/test_node_groupby.c - groupBy(): tags, `*`, exclude(), byMeasurement() on
 * streams; regrouping batches (merged by tmax, emitted in order of first appearance). */
#include "test_node_window_util.h"

static th_t h;

static void stop(void) { th_free(&h); }

TestSuite(groupby, .fini = stop);

#define WIN "    |window()\n        .period(10s)\n        .every(10s)\n        .align()\n"

Test(groupby, tags_set_the_groups_windows_see)
{
    cr_assert_eq(th_new(&h, TH_SCRIPT("    |groupBy('host', 'dc')\n" WIN "    |count('v')\n")), 0, "%s", h.err.msg);
    th_feed(&h, "cpu,dc=x,host=a,cpu=0 v=1 1\ncpu,dc=x,host=a,cpu=1 v=1 2\ncpu,dc=y,host=a v=1 3\n"
                "cpu,dc=x,host=a v=1 11\ncpu,dc=y,host=a v=1 12\n");
    th_expect(&h, "count4: cpu,dc=x,host=a count=2i 10s\ncount4: cpu,dc=y,host=a count=1i 10s\n");
    eng_node_t *w = th_node(&h, "window3");
    cr_assert_eq(atomic_load(&w->stats.own[0]), 2);
}

Test(groupby, star_groups_by_every_tag_minus_excluded)
{
    cr_assert_eq(th_new(&h, TH_SCRIPT("    |groupBy(*)\n        .exclude('cpu')\n" WIN "    |count('v')\n")), 0, "%s",
                 h.err.msg);
    /* {host=a} and {dc=a} have the same value but different keys: two groups */
    th_feed(&h, "cpu,host=a,cpu=0 v=1 1\ncpu,host=a,cpu=1 v=1 2\ncpu,dc=a v=1 3\n"
                "cpu,host=a v=1 11\ncpu,dc=a v=1 12\n");
    th_expect(&h, "count4: cpu,host=a count=2i 10s\ncount4: cpu,dc=a count=1i 10s\n");
}

Test(groupby, by_measurement_separates_names)
{
    cr_assert_eq(th_new(&h, "stream\n    |from()\n    |groupBy('host')\n        .byMeasurement()\n" WIN "    |count('v')\n"), 0,
                 "%s", h.err.msg);
    th_feed(&h, "cpu,host=a v=1 1\nmem,host=a v=1 2\nmem,host=a v=1 3\ncpu,host=a v=1 11\nmem,host=a v=1 12\n");
    th_expect(&h, "count4: cpu,host=a count=1i 10s\ncount4: mem,host=a count=2i 10s\n");
    th_free(&h);
    /* without byMeasurement the two names share one group (named after its first point) */
    cr_assert_eq(th_new(&h, "stream\n    |from()\n    |groupBy('host')\n" WIN "    |count('v')\n"), 0, "%s", h.err.msg);
    th_feed(&h, "cpu,host=a v=1 1\nmem,host=a v=1 2\nmem,host=a v=1 3\ncpu,host=a v=1 11\n");
    th_expect(&h, "count4: cpu,host=a count=3i 10s\n");
}

Test(groupby, regroups_batches_merging_those_with_one_tmax)
{
    cr_assert_eq(th_new(&h, TH_SCRIPT("    |groupBy('host', 'cpu')\n" WIN "    |groupBy('host')\n    |sum('v')\n")), 0, "%s",
                 h.err.msg);
    th_feed(&h, "cpu,host=a,cpu=0 v=1 1\ncpu,host=a,cpu=1 v=2 2\ncpu,host=b,cpu=0 v=4 3\n"
                "cpu,host=a,cpu=0 v=8 11\ncpu,host=a,cpu=1 v=16 12\ncpu,host=b,cpu=0 v=32 13\n");
    /* the three windows ending at 10s are merged per host; they go out when a batch with another
     * tmax arrives (or time passes) */
    th_expect(&h, "");
    th_advance(&h, 10);
    th_expect(&h, "sum5: cpu,host=a sum=3 10s\nsum5: cpu,host=b sum=4 10s\n");
}

Test(groupby, regrouped_batch_emitted_when_tmax_changes)
{
    cr_assert_eq(th_new(&h, TH_SCRIPT("    |groupBy('host')\n" WIN "    |groupBy('dc')\n")), 0, "%s", h.err.msg);
    th_feed(&h, "cpu,host=a,dc=x v=1 1\ncpu,host=b,dc=x v=2 2\ncpu,host=a,dc=y v=3 3\n"
                "cpu,host=a,dc=x v=4 11\ncpu,host=b,dc=x v=5 12\ncpu,host=a v=6 21\n");
    th_expect(&h, "groupby4: rows cpu,dc=x tmax=10s n=2\n  cpu,dc=x,host=a v=1 1s\n  cpu,dc=x,host=b v=2 2s\n"
                  "groupby4: rows cpu,dc=y tmax=10s n=1\n  cpu,dc=y,host=a v=3 3s\n");
}

Test(groupby, exclude_removes_listed_tags_from_an_explicit_list)
{
    cr_assert_eq(th_new(&h, TH_SCRIPT("    |groupBy('host', 'dc')\n        .exclude('dc')\n" WIN "    |count('v')\n")), 0, "%s",
                 h.err.msg);
    th_feed(&h, "cpu,dc=x,host=a v=1 1\ncpu,dc=y,host=a v=1 2\ncpu,dc=x,host=a v=1 11\n");
    th_expect(&h, "count4: cpu,host=a count=2i 10s\n");
}

Test(groupby, stream_points_get_dims_and_group)
{
    cr_assert_eq(th_new(&h, TH_SCRIPT("    |groupBy('host')\n")), 0, "%s", h.err.msg);
    th_feed(&h, "cpu,host=a,dc=x v=1 1\n");
    th_expect(&h, "groupby2: cpu,dc=x,host=a v=1 1s\n");
}
