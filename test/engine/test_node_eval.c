/* test/engine/test_node_eval.c - engine/node_eval.c: eval with as, chained results, keep, tags,
 * quiet and errors. Expected outputs are worked out by hand from the inputs. */
#include <criterion/criterion.h>

#include "test/engine/harness.h"

static eng_harness_t h;

static void run(const char *script, const char *lp)
{
    cr_assert_eq(eng_harness_new(&h, script, "db", "rp"), 0, "%s", h.err.msg);
    eng_harness_feed(&h, lp);
}

static void fini(void) { eng_harness_free(&h); }
TestSuite(node_eval, .fini = fini);

Test(node_eval, as_names_and_later_expressions_see_earlier_results)
{
    run("stream|from().measurement('cpu')|eval(lambda: \"a\" + \"b\", lambda: \"x\" * 2.0).as('x', 'y')\n",
        "cpu,host=h a=1,b=2.5 10\nmem,host=h a=1,b=2 11\ncpu,host=g a=-1,b=0.25 12\n");
    cr_assert_str_eq(eng_harness_out(&h), "eval2: cpu,host=h x=3.5,y=7 10\n"
                                          "eval2: cpu,host=g x=-0.75,y=-1.5 12\n");
    cr_assert_eq(atomic_load(&eng_harness_node(&h, "eval2")->stats.emitted), 2);
}

Test(node_eval, keep_all_replaces_in_place_and_appends_new)
{
    run("stream|from()|eval(lambda: \"a\" * 10.0, lambda: \"b\" > 1).as('a', 'big').keep()\n", "cpu,host=h a=1.5,b=2i 10\n");
    cr_assert_str_eq(eng_harness_out(&h), "eval2: cpu,host=h a=15,b=2i,big=true 10\n");
}

Test(node_eval, keep_list_takes_results_then_fields_in_list_order)
{
    run("stream|from()|eval(lambda: \"a\" + 1.0).as('x').keep('x', 'b')\n", "cpu,host=h a=1,b=2,c=3 10\n");
    cr_assert_str_eq(eng_harness_out(&h), "eval2: cpu,host=h x=2,b=2 10\n");
}

Test(node_eval, keep_list_naming_a_missing_field_drops_the_point)
{
    run("stream|from()|eval(lambda: \"a\" + 1.0).as('x').keep('x', 'nope')\n", "cpu a=1 10\n");
    cr_assert_str_eq(eng_harness_out(&h), "");
    cr_assert_eq(atomic_load(&eng_harness_node(&h, "eval2")->stats.errors), 1);
}

Test(node_eval, tags_become_tags_in_sorted_order)
{
    run("stream|from()|eval(lambda: \"host\" + '-x', lambda: \"a\").as('h2', 'a2').tags('h2')\n",
        "cpu,host=h,zone=z a=1 10\n");
    cr_assert_str_eq(eng_harness_out(&h), "eval2: cpu,h2=h-x,host=h,zone=z a2=1 10\n");
}

Test(node_eval, tag_that_is_not_a_string_is_an_error)
{
    run("stream|from()|eval(lambda: \"a\").as('t').tags('t')\n", "cpu a=1 10\n");
    cr_assert_str_eq(eng_harness_out(&h), "");
    cr_assert_eq(atomic_load(&eng_harness_node(&h, "eval2")->stats.errors), 1);
}

Test(node_eval, errors_drop_the_point_and_count_and_the_task_goes_on)
{
    run("stream|from()|eval(lambda: \"a\" / \"b\").as('q')\n", "cpu a=1,b=2i 10\ncpu a=1,b=4 11\ncpu a=3 12\n");
    /* float / int is refused; the third point has no "b" */
    cr_assert_str_eq(eng_harness_out(&h), "eval2: cpu q=0.25 11\n");
    cr_assert_eq(atomic_load(&eng_harness_node(&h, "eval2")->stats.errors), 2);
    cr_assert_eq(atomic_load(&h.task->errors), 2);
}

Test(node_eval, quiet_still_counts_errors)
{
    run("stream|from()|eval(lambda: \"a\" / \"b\").as('q').quiet()\n", "cpu a=1,b=2i 10\n");
    cr_assert_str_eq(eng_harness_out(&h), "");
    cr_assert_eq(atomic_load(&eng_harness_node(&h, "eval2")->stats.errors), 1);
}

Test(node_eval, one_name_per_expression)
{
    eng_harness_t h2;
    cr_assert_eq(eng_harness_new(&h2, "stream|from()|eval(lambda: 1, lambda: 2).as('a')\n", "db", "rp"), -1);
    cr_assert(strstr(h2.err.msg, "one name per expression") != NULL, "%s", h2.err.msg);
    cr_assert_eq(eng_harness_new(&h2, "stream|from()|eval(lambda: 1).as('a').tags('b')\n", "db", "rp"), -1);
    cr_assert(strstr(h2.err.msg, "\"b\" is not one of the 'as' names") != NULL, "%s", h2.err.msg);
}
