/* test/engine/test_vars.c - engine/vars.h: Kapacitor's vars JSON applied to a template. */
#include <criterion/criterion.h>
#include <string.h>

#include "engine/vars.h"

static fa_arena_t arena;
static void setup(void) { fa_arena_init(&arena, 4096, 0); }
static void teardown(void) { fa_arena_deinit(&arena); }
TestSuite(vars, .init = setup, .fini = teardown);

Test(vars, every_type_becomes_a_task)
{
    static const char tmpl[] = "var measurement string\n"
                               "var where_filter = lambda: TRUE\n"
                               "var groups = [*]\n"
                               "var period duration\n"
                               "var crit float\n"
                               "var n int\n"
                               "var on bool\n"
                               "var re regex\n"
                               "stream|from().measurement(measurement).where(where_filter).groupBy(groups)"
                               "|window().period(period).every(period)|mean('v')|alert().crit(lambda: \"mean\" > crit)\n";
    static const char json[] = "{\"measurement\": {\"type\": \"string\", \"value\": \"cpu\"},"
                               " \"where_filter\": {\"type\": \"lambda\", \"value\": \"\\\"host\\\" =~ /^web/\"},"
                               " \"groups\": {\"type\": \"list\", \"value\": [{\"type\": \"string\", \"value\": \"host\"}, {\"type\": \"star\"}]},"
                               " \"period\": {\"type\": \"duration\", \"value\": 90000000000},"
                               " \"crit\": {\"type\": \"float\", \"value\": 80.5},"
                               " \"n\": {\"type\": \"int\", \"value\": 3},"
                               " \"on\": {\"type\": \"bool\", \"value\": true},"
                               " \"re\": {\"type\": \"regex\", \"value\": \"^a.*\"}}";
    tick_var_t *vars;
    size_t n;
    char err[200];
    cr_assert_eq(eng_vars_from_json(json, strlen(json), &arena, &vars, &n, err, sizeof err), 0, "%s", err);
    cr_assert_eq(n, 8);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(vars[i].name, "period") == 0)
            cr_assert_str_eq(vars[i].value, "90s");
        if (strcmp(vars[i].name, "groups") == 0)
            cr_assert_str_eq(vars[i].value, "['host', *]");
    }
    tick_ast_t *ast, *task;
    tick_err_t terr;
    cr_assert_eq(tick_parse(tmpl, sizeof tmpl - 1, &arena, &ast, &terr), 0, "%s", terr.msg);
    cr_assert_eq(tick_template_apply(ast, vars, n, &arena, &task, &terr), 0, "%s", terr.msg);
    tick_pipeline_t *pipe;
    cr_assert_eq(tick_check(task, 0, &arena, &pipe, &terr), 0, "%s", terr.msg);
}

Test(vars, bad_input_is_explained)
{
    tick_var_t *vars;
    size_t n;
    char err[200];
    static const char j1[] = "{\"x\": {\"type\": \"float\", \"value\": \"high\"}}";
    static const char j2[] = "{\"x\": {\"type\": \"number\", \"value\": 1}}";
    cr_assert_eq(eng_vars_from_json(j1, strlen(j1), &arena, &vars, &n, err, sizeof err), -1);
    cr_assert_str_eq(err, "invalid value for var x of type float");
    cr_assert_eq(eng_vars_from_json(j2, strlen(j2), &arena, &vars, &n, err, sizeof err), -1);
    cr_assert_str_eq(err, "invalid var type \"number\" for var x");
    cr_assert_eq(eng_vars_from_json("{\"x\": ", 6, &arena, &vars, &n, err, sizeof err), -1);
    cr_assert(strncmp(err, "invalid JSON: ", 14) == 0, "%s", err);
}
