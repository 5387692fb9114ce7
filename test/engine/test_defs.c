/* test/engine/test_defs.c - the definition registry (engine/defs.h): ids, globs, prepare errors
 * with their place, commit starting and stopping tasks in a real task master, templates
 * redefining their tasks all or nothing, restore from stored fields, the load directory reader. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "engine/defs.h"

static eng_ingest_t *g;
static eng_tm_t *tm;
static eng_defs_t *d;
static const eng_task_opts_t opts = { .overflow = ENG_OVERFLOW_DROP, .thread = -1 };
static const eng_env_t env = { 0 };

static void setup(void)
{
    char err[256];
    g = eng_ingest_new(1, 16);
    eng_tm_opts_t o = { .threads = 1, .queue_size = 16, .backlog = 16 };
    tm = eng_tm_new(g, &o, err, sizeof err);
    cr_assert_not_null(tm, "%s", err);
    d = eng_defs_new(tm, &env, &opts);
}

static void teardown(void)
{
    eng_defs_free(d);
    eng_tm_free(tm);
    eng_ingest_free(g);
}

TestSuite(defs, .init = setup, .fini = teardown);

static const char script[] = "stream\n  |from()\n    .measurement('cpu')\n  |where(lambda: \"v\" > 0)\n";
static const eng_dbrp_t dbrp1[] = { { { "db1", 3 }, { "autogen", 7 } } };

static eng_tdef_t *prep(const eng_tdef_t *base, const eng_tdef_in_t *in, char *err, uint32_t *line, uint32_t *col)
{
    eng_tdef_t *t = NULL;
    int rc = eng_defs_task_prepare(d, base, in, 1000, &t, err, 300, line, col);
    return rc == 0 ? t : NULL;
}

static unsigned running(void)
{
    char ids[8][128];
    return eng_tm_list(tm, ids, 8);
}

Test(defs, ids_and_globs)
{
    cr_assert(eng_defs_valid_id(d, "cpu_alert-1.x"));
    cr_assert(eng_defs_valid_id(d, "tâche"));
    cr_assert_not(eng_defs_valid_id(d, ""));
    cr_assert_not(eng_defs_valid_id(d, "a b"));
    cr_assert_not(eng_defs_valid_id(d, "a/b"));
    cr_assert_not(eng_defs_valid_id(d, "\xff\xfe"));
    cr_assert(eng_defs_glob("", "anything"));
    cr_assert(eng_defs_glob("cpu_*", "cpu_alert"));
    cr_assert_not(eng_defs_glob("cpu_*", "mem_alert"));
    cr_assert(eng_defs_glob("t?", "t1"));
    cr_assert_not(eng_defs_glob("t?", "t12"));
    cr_assert(eng_defs_glob("t[0-3]", "t2"));
    cr_assert_not(eng_defs_glob("t[0-3]", "t7"));
    cr_assert(eng_defs_glob("a\\*", "a*"));
    cr_assert_not(eng_defs_glob("a\\*", "ab"));
}

Test(defs, prepare_errors_say_where)
{
    char err[300];
    uint32_t line = 0, col = 0;
    eng_tdef_in_t in = { .id = "t", .script = "stream\n  |from()\n    .measurement(\"cpu\")\n", .dbrps = dbrp1,
                         .n_dbrps = 1, .status = -1 };
    cr_assert_null(prep(NULL, &in, err, &line, &col));
    cr_assert_eq(line, 3);
    cr_assert(strncmp(err, "invalid TICKscript: line 3 char ", 32) == 0, "%s", err);
    in.script = script;
    in.n_dbrps = 0;
    cr_assert_null(prep(NULL, &in, err, &line, &col));
    cr_assert_str_eq(err, "must specify dbrp");
    in.n_dbrps = 1;
    in.id = "bad id";
    cr_assert_null(prep(NULL, &in, err, &line, &col));
    cr_assert_str_eq(err, "task ID must contain only letters, numbers, '-', '.' and '_'. \"bad id\"");
    in.id = "t";
    in.type = "batch";
    cr_assert_null(prep(NULL, &in, err, &line, &col));
    cr_assert(strstr(err, "does not match") != NULL, "%s", err);
    in.type = NULL;
    in.template_id = "nope";
    in.script = NULL;
    cr_assert_null(prep(NULL, &in, err, &line, &col));
    cr_assert_str_eq(err, "no template exists with ID nope");
}

Test(defs, commit_starts_and_stops)
{
    char err[300];
    uint32_t line, col;
    eng_tdef_in_t in = { .id = "t1", .script = script, .dbrps = dbrp1, .n_dbrps = 1, .status = -1 };
    eng_tdef_t *t = prep(NULL, &in, err, &line, &col);
    cr_assert_not_null(t, "%s", err);
    cr_assert_eq(t->type, TICK_EDGE_STREAM);
    cr_assert_str_eq(t->formatted, "stream\n    |from()\n        .measurement('cpu')\n    |where(lambda: \"v\" > 0)\n");
    eng_defs_task_commit(d, t);
    cr_assert_eq(running(), 0);
    eng_tdef_in_t en = { .status = 1, .n_dbrps = -1 };
    t = prep(eng_defs_task(d, "t1"), &en, err, &line, &col);
    cr_assert_not_null(t, "%s", err);
    cr_assert_eq(t->last_enabled, 1000);
    eng_defs_task_commit(d, t);
    cr_assert_eq(running(), 1);
    uint32_t n, e;
    eng_defs_counts(d, &n, &e);
    cr_assert_eq(n, 1);
    cr_assert_eq(e, 1);
    fa_buf_t dot = FA_BUF_INIT;
    cr_assert_eq(eng_tdef_dot(d, eng_defs_task(d, "t1"), &dot), 0);
    cr_assert(strstr(fa_buf_cstr(&dot), "throughput=") != NULL);
    fa_buf_deinit(&dot);
    /* a change without a status change keeps the running task (Kapacitor's rule) */
    const eng_task_t *before = eng_defs_task(d, "t1")->running;
    eng_tdef_in_t ch = { .n_dbrps = -1, .status = -1, .vars = "{}" };
    t = prep(eng_defs_task(d, "t1"), &ch, err, &line, &col);
    cr_assert_not_null(t, "%s", err);
    eng_defs_task_commit(d, t);
    cr_assert_eq(eng_defs_task(d, "t1")->running, before);
    eng_tdef_in_t dis = { .status = 0, .n_dbrps = -1 };
    t = prep(eng_defs_task(d, "t1"), &dis, err, &line, &col);
    eng_defs_task_commit(d, t);
    cr_assert_eq(running(), 0);
    cr_assert_null(eng_defs_task(d, "t1")->running);
    cr_assert_eq(eng_defs_task_remove(d, "t1"), 0);
    cr_assert_eq(eng_defs_task_remove(d, "t1"), FA_ENOENT);
}

static const char tmpl[] = "// the measurement\nvar m string\nvar low = 5\nstream\n  |from()\n    .measurement(m)\n"
                           "  |where(lambda: \"v\" > low)\n";

Test(defs, templates_redefine_their_tasks_all_or_nothing)
{
    char err[300];
    uint32_t line, col, n;
    eng_tmpl_t *tp;
    eng_tdef_t **tasks;
    cr_assert_eq(eng_defs_template_prepare(d, NULL, "tp", NULL, tmpl, 1, &tp, &tasks, &n, err, sizeof err, &line, &col), 0,
                 "%s", err);
    cr_assert_eq(n, 0);
    free(tasks);
    eng_defs_template_commit(d, tp);
    fa_buf_t vars = FA_BUF_INIT;
    eng_tmpl_vars_json(eng_defs_template(d, "tp"), &vars);
    cr_assert_str_eq(fa_buf_cstr(&vars), "{\"m\":{\"type\":\"string\",\"value\":null,\"description\":\"the measurement\"},"
                                         "\"low\":{\"type\":\"int\",\"value\":5,\"description\":\"\"}}");
    fa_buf_deinit(&vars);
    eng_tdef_in_t in = { .id = "a", .template_id = "tp", .vars = "{\"m\":{\"type\":\"string\",\"value\":\"cpu\"}}",
                         .dbrps = dbrp1, .n_dbrps = 1, .status = 1 };
    eng_tdef_t *t = prep(NULL, &in, err, &line, &col);
    cr_assert_not_null(t, "%s", err);
    eng_defs_task_commit(d, t);
    in.id = "b";
    in.vars = "{\"m\":{\"type\":\"string\",\"value\":\"mem\"},\"low\":{\"type\":\"int\",\"value\":1}}";
    eng_defs_task_commit(d, prep(NULL, &in, err, &line, &col));
    cr_assert_eq(running(), 2);
    /* a new required var breaks both: nothing changes */
    static const char broken[] = "var m string\nvar low = 5\nvar x string\nstream\n  |from()\n    .measurement(m)\n"
                                 "  |where(lambda: \"v\" > low AND \"h\" != x)\n";
    cr_assert_eq(eng_defs_template_prepare(d, eng_defs_template(d, "tp"), "tp", NULL, broken, 2, &tp, &tasks, &n, err,
                                           sizeof err, &line, &col),
                 -1);
    cr_assert(strstr(err, "error reloading associated task") != NULL, "%s", err);
    cr_assert(strstr(err, "missing value for var \"x\"") != NULL, "%s", err);
    cr_assert_str_eq(eng_defs_template(d, "tp")->script, tmpl);
    /* a good one redefines both, restarting them */
    const eng_task_t *old_a = eng_defs_task(d, "a")->running;
    static const char good[] = "var m string\nvar low = 50\nstream\n  |from()\n    .measurement(m)\n"
                               "  |where(lambda: \"v\" > low)\n";
    cr_assert_eq(eng_defs_template_prepare(d, eng_defs_template(d, "tp"), "tp", NULL, good, 3, &tp, &tasks, &n, err,
                                           sizeof err, &line, &col),
                 0, "%s", err);
    cr_assert_eq(n, 2);
    eng_defs_template_commit(d, tp);
    for (uint32_t i = 0; i < n; i++)
        eng_defs_task_commit(d, tasks[i]);
    free(tasks);
    cr_assert_str_eq(eng_defs_task(d, "a")->script, good);
    cr_assert_neq(eng_defs_task(d, "a")->running, old_a);
    cr_assert_eq(running(), 2);
    /* removing the template orphans them: no enabling again */
    cr_assert_eq(eng_defs_template_remove(d, "tp"), 0);
    eng_tdef_in_t dis = { .status = 0, .n_dbrps = -1 };
    t = prep(eng_defs_task(d, "a"), &dis, err, &line, &col);
    cr_assert_not_null(t, "%s", err);
    eng_defs_task_commit(d, t);
    eng_tdef_in_t en = { .status = 1, .n_dbrps = -1 };
    cr_assert_null(prep(eng_defs_task(d, "a"), &en, err, &line, &col));
    cr_assert_str_eq(err, "no template exists with ID tp");
}

Test(defs, restore_and_newest_first)
{
    eng_tdef_t *ts[3];
    ts[0] = eng_tdef_from_store("old", "stream", dbrp1, 1, script, "{}", "", true, false, 100, 100, 100);
    ts[1] = eng_tdef_from_store("new", "stream", dbrp1, 1, script, "", "", false, false, 300, 300, 0);
    ts[2] = eng_tdef_from_store("broken", "stream", dbrp1, 1, "stream|from(", "", "", true, false, 200, 200, 0);
    cr_assert_eq(eng_defs_restore(d, NULL, 0, ts, 3), 1);
    eng_tdef_t *out[4];
    cr_assert_eq(eng_defs_tasks(d, "", 0, out, 4), 3);
    cr_assert_str_eq(out[0]->id, "new");
    cr_assert_str_eq(out[1]->id, "broken");
    cr_assert_str_eq(out[2]->id, "old");
    cr_assert_not_null(out[2]->running);
    cr_assert(out[1]->enabled && out[1]->running == NULL);
    cr_assert(strstr(out[1]->error, "invalid TICKscript") != NULL, "%s", out[1]->error);
    cr_assert_eq(eng_defs_tasks(d, "", 1, out, 1), 1);
    cr_assert_str_eq(out[0]->id, "broken");
    cr_assert_eq(eng_defs_tasks(d, "o*", 0, out, 4), 1);
}

Test(defs, templates_newest_first_then_arrival_with_pattern_and_offset)
{
    eng_tmpl_t *tp[4];
    tp[0] = eng_tmpl_from_store("t_a", "stream", tmpl, 100, 100);
    tp[1] = eng_tmpl_from_store("t_b", "stream", tmpl, 300, 300);
    tp[2] = eng_tmpl_from_store("x_c", "stream", tmpl, 100, 100); /* same time as t_a, came later */
    tp[3] = eng_tmpl_from_store("t_d", "stream", tmpl, 200, 200);
    for (int i = 0; i < 4; i++)
        cr_assert_not_null(tp[i]);
    eng_defs_restore(d, tp, 4, NULL, 0);
    eng_tmpl_t *out[4];
    cr_assert_eq(eng_defs_templates(d, NULL, 0, out, 4), 4);
    const char *want[] = { "t_b", "t_d", "x_c", "t_a" };
    for (int i = 0; i < 4; i++)
        cr_assert_str_eq(out[i]->id, want[i], "place %d", i);
    cr_assert_eq(eng_defs_templates(d, "t_*", 1, out, 4), 2);
    cr_assert_str_eq(out[0]->id, "t_d");
    cr_assert_str_eq(out[1]->id, "t_a");
    cr_assert_eq(eng_defs_templates(d, "t_*", 0, out, 1), 1, "max bounds the count");
    cr_assert_str_eq(out[0]->id, "t_b");
    cr_assert_eq(eng_defs_templates(d, "none*", 0, out, 4), 0);
}

static void put(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s", path);
    fputs(text, f);
    fclose(f);
}

Test(defs, load_dir_reader)
{
    char dir[] = "/tmp/farad-defs-XXXXXX", p[256], err[256];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(p, sizeof p, "%s/tasks", dir);
    mkdir(p, 0700);
    snprintf(p, sizeof p, "%s/templates", dir);
    mkdir(p, 0700);
    snprintf(p, sizeof p, "%s/templates/tp.tick", dir);
    put(p, tmpl);
    snprintf(p, sizeof p, "%s/tasks/a.tick", dir);
    put(p, script);
    snprintf(p, sizeof p, "%s/tasks/b.yml", dir);
    put(p, "template-id: tp\ndbrps:\n  - db: x\n    rp: y\nvars:\n  low:\n    type: int\n    value: 3\n"
           "  m:\n    type: string\n    value: '7'\n");
    snprintf(p, sizeof p, "%s/tasks/c.json", dir);
    put(p, "{\"id\": \"see\", \"template-id\": \"tp\", \"dbrps\": []}");
    snprintf(p, sizeof p, "%s/tasks/d.yaml", dir);
    put(p, "dbrps: [\n");
    snprintf(p, sizeof p, "%s/tasks/readme.txt", dir);
    put(p, "not a task");
    eng_load_t *l = eng_load_read(dir, err, sizeof err);
    cr_assert_not_null(l, "%s", err);
    cr_assert_eq(l->n_templates, 1);
    cr_assert_str_eq(l->templates[0].id, "tp");
    cr_assert_eq(l->n_tasks, 3); /* d.yaml does not parse, readme.txt is no task */
    cr_assert_str_eq(l->tasks[0].id, "a");
    cr_assert_str_eq(l->tasks[0].script, script);
    cr_assert_str_eq(l->tasks[1].id, "b");
    cr_assert_str_eq(l->tasks[1].template_id, "tp");
    cr_assert_eq(l->tasks[1].n_dbrps, 1);
    cr_assert_str_eq(l->tasks[1].dbrps[0].rp.ptr, "y");
    /* YAML: a plain 3 is an int, a quoted '7' stays a string */
    cr_assert_str_eq(l->tasks[1].vars, "{\"low\":{\"type\":\"int\",\"value\":3},\"m\":{\"type\":\"string\",\"value\":\"7\"}}");
    cr_assert_str_eq(l->tasks[2].id, "see");
    eng_load_free(l);
    cr_assert_null(eng_load_read("/nonexistent/farad", err, sizeof err));
    cr_assert(strstr(err, "/nonexistent/farad/tasks") != NULL, "%s", err);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}
