/* test/engine/test_task.c - engine/task.c: building a DAG from a script and pushing points. */
#include <criterion/criterion.h>
#include <string.h>

#include "engine/task.h"

static eng_point_t point(const char *name, const char *host, double v, int64_t t, eng_field_t *f, eng_tag_t *tag)
{
    *tag = (eng_tag_t){ FA_STR_LIT("host"), fa_str_c(host) };
    *f = (eng_field_t){ FA_STR_LIT("value"), { .type = ENG_FLOAT, .f = v } };
    return (eng_point_t){ .name = fa_str_c(name), .tags = tag, .n_tags = 1, .fields = f, .n_fields = 1, .time = t };
}

Test(task, from_where_filters_by_dbrp_measurement_and_lambda)
{
    static const char script[] = "dbrp \"db\".\"rp\"\n"
                                 "stream\n"
                                 "    |from()\n"
                                 "        .measurement('cpu')\n"
                                 "    |where(lambda: \"value\" > 1.0 AND \"host\" =~ /^web/)\n";
    eng_task_t *t;
    tick_err_t err;
    cr_assert_eq(eng_task_new("t1", script, sizeof script - 1, NULL, 0, NULL, &t, &err), 0, "%s", err.msg);
    cr_assert_eq(t->n_nodes, 3);
    cr_assert_str_eq(t->nodes[1].name, "from1");
    cr_assert_str_eq(t->nodes[2].name, "where2");
    eng_field_t f;
    eng_tag_t tag;
    eng_point_t p;
    p = point("cpu", "web-1", 2.0, 1, &f, &tag);
    eng_task_point(t, FA_STR_LIT("db"), FA_STR_LIT("rp"), &p); /* passes */
    p = point("cpu", "web-1", 0.5, 2, &f, &tag);
    eng_task_point(t, FA_STR_LIT("db"), FA_STR_LIT("rp"), &p); /* value too low */
    p = point("cpu", "db-1", 5.0, 3, &f, &tag);
    eng_task_point(t, FA_STR_LIT("db"), FA_STR_LIT("rp"), &p); /* host does not match */
    p = point("mem", "web-1", 5.0, 4, &f, &tag);
    eng_task_point(t, FA_STR_LIT("db"), FA_STR_LIT("rp"), &p); /* other measurement */
    p = point("cpu", "web-1", 5.0, 5, &f, &tag);
    eng_task_point(t, FA_STR_LIT("db"), FA_STR_LIT("other"), &p); /* other rp: not even collected */
    cr_assert_eq(atomic_load(&t->points_in), 4);
    cr_assert_eq(atomic_load(&t->nodes[1].stats.emitted), 3);
    cr_assert_eq(atomic_load(&t->nodes[2].stats.collected), 3);
    cr_assert_eq(atomic_load(&t->nodes[2].stats.emitted), 1);
    cr_assert_eq(t->now, 4);
    eng_task_free(t);
}

Test(task, unknown_node_and_script_errors_have_positions)
{
    static const char bad[] = "stream\n    |from()\n    |where(lambda: \"value\" > )\n";
    eng_task_t *t;
    tick_err_t err;
    cr_assert_eq(eng_task_new("t2", bad, sizeof bad - 1, NULL, 0, NULL, &t, &err), -1);
    cr_assert_eq(err.pos.line, 3);
    static const char both[] = "dbrp \"db\".\"rp\"\nstream|from()\n";
    eng_dbrp_t d = { FA_STR_LIT("db"), FA_STR_LIT("rp") };
    cr_assert_eq(eng_task_new("t3", both, sizeof both - 1, &d, 1, NULL, &t, &err), -1);
    cr_assert_str_eq(err.msg, "cannot specify dbrp in both implicitly and explicitly");
}
