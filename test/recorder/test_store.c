/* test/recorder/test_store.c - recorder/ against a real PostgreSQL 15.
 *
 * The runner starts a private cluster with scripts/pg.sh in a temp dir before any test (a report
 * hook in the parent process) and passes its DSN to the forked tests in FARAD_TEST_PG_DSN; a DSN
 * already set there (by a wrapper) is used as it is. Tests run two at a time, so each uses its own
 * ids (or its own database); the outage test stops and starts a cluster of its own. No test has
 * a Criterion .timeout: with --jobs 2, Criterion 2.4.1's runner then leaks 48 bytes that LSan
 * reports; every wait here is bounded and ctest's TIMEOUT bounds the whole run. */
#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"
#include "recorder/blocks.h"
#include "recorder/internal.h"
#include "recorder/recorder.h"
#include "recorder/rr.h"

/* ---- the cluster ---- */

static char cluster_dir[64];

/* Runs scripts/pg.sh VERB DIR; the first output line (the DSN) into out when given. */
static int pg_sh(const char *verb, const char *dir, char *out, size_t outlen)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "FARAD_PG_FAST=1 bash %s/scripts/pg.sh %s %s", FARAD_SOURCE_DIR, verb, dir);
    FILE *f = popen(cmd, "r");
    if (f == NULL)
        return -1;
    char line[512] = "";
    if (fgets(line, sizeof line, f) == NULL)
        line[0] = '\0';
    while (fgetc(f) != EOF) {
    }
    int st = pclose(f);
    line[strcspn(line, "\n")] = '\0';
    if (out != NULL)
        snprintf(out, outlen, "%s", line);
    return st == 0 ? 0 : -1;
}

static int new_cluster(char *dir, size_t dirlen, char *dsn, size_t dsnlen)
{
    snprintf(dir, dirlen, "/tmp/farad-pgtest-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    return pg_sh("start", dir, dsn, dsnlen);
}

static void remove_cluster(const char *dir)
{
    char cmd[256];
    pg_sh("stop", dir, NULL, 0);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "test_store: could not remove %s\n", dir);
}

ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
    char dsn[512];

    (void)set;
    if (getenv("FARAD_TEST_PG_DSN") != NULL)
        return;
    if (new_cluster(cluster_dir, sizeof cluster_dir, dsn, sizeof dsn) != 0) {
        fprintf(stderr, "test_store: scripts/pg.sh start %s failed: no PostgreSQL for these tests\n", cluster_dir);
        return;
    }
    setenv("FARAD_TEST_PG_DSN", dsn, 1);
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
    (void)stats;
    if (cluster_dir[0] != '\0')
        remove_cluster(cluster_dir);
}

static const char *test_dsn(void)
{
    const char *dsn = getenv("FARAD_TEST_PG_DSN");
    cr_assert(dsn != NULL && dsn[0] != '\0', "no PostgreSQL: scripts/pg.sh start failed (see stderr)");
    return dsn;
}

static PGconn *connect_dsn(const char *dsn)
{
    PGconn *pg = PQconnectdb(dsn);
    cr_assert_eq(PQstatus(pg), CONNECTION_OK, "connect %s: %s", dsn, PQerrorMessage(pg));
    char err[320];
    cr_assert_geq(rec_migrate(pg, err, sizeof err), 1, "%s", err);
    return pg;
}

/* The first column of the first row of sql, as text ("" for NULL), in a static buffer. */
static const char *sql1(PGconn *pg, const char *sql)
{
    static char buf[4096];
    PGresult *res = PQexec(pg, sql);
    cr_assert_eq(PQresultStatus(res), PGRES_TUPLES_OK, "%s: %s", sql, PQerrorMessage(pg));
    cr_assert_geq(PQntuples(res), 1, "%s: no row", sql);
    snprintf(buf, sizeof buf, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return buf;
}

static void sql_ok(PGconn *pg, const char *sql)
{
    PGresult *res = PQexec(pg, sql);
    cr_assert(PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK, "%s: %s", sql,
              PQerrorMessage(pg));
    PQclear(res);
}

static rec_store_t *store_for(const char *dsn, uint32_t queue_cap)
{
    char err[256];
    rec_store_opts_t o = { .dsn = dsn, .queue_cap = queue_cap, .reconnect_min_ms = 50, .reconnect_max_ms = 200 };
    rec_store_t *s = rec_store_new(&o, err, sizeof err);
    cr_assert_not_null(s, "%s", err);
    return s;
}

static fa_str_t S(const char *s)
{
    return fa_str_c(s);
}

/* ---- migrations ---- */

Test(recorder, migrations_twice_are_a_no_op)
{
    char sql[256], dsn[600];
    PGconn *admin = PQconnectdb(test_dsn());
    cr_assert_eq(PQstatus(admin), CONNECTION_OK, "%s", PQerrorMessage(admin));
    snprintf(sql, sizeof sql, "create database mig_%d", (int)getpid());
    sql_ok(admin, sql);
    snprintf(dsn, sizeof dsn, "%s dbname=mig_%d", test_dsn(), (int)getpid());

    PGconn *pg = PQconnectdb(dsn);
    char err[320];
    cr_assert_eq(PQstatus(pg), CONNECTION_OK, "%s", PQerrorMessage(pg));
    cr_assert_eq(rec_migrate(pg, err, sizeof err), rec_schema_version_latest(), "%s", err);
    char latest[16];
    snprintf(latest, sizeof latest, "%d", rec_schema_version_latest());
    cr_assert_str_eq(sql1(pg, "select count(*) from pg_tables where schemaname = 'farad'"
                              " and tablename in ('schema_version', 'tasks', 'templates', 'recordings',"
                              " 'recording_points_v1', 'recording_blocks', 'recording_batches', 'replays',"
                              " 'replay_outputs')"),
                     "9");
    cr_assert_str_eq(sql1(pg, "select count(*) from pg_views where schemaname = 'farad'"
                              " and viewname = 'recording_points'"), "1");
    cr_assert_str_eq(sql1(pg, "select count(*) from farad.schema_version"), latest);
    sql_ok(pg, "insert into farad.tasks (id, type, script) values ('keep', 'stream', 'stream')");
    cr_assert_eq(rec_migrate(pg, err, sizeof err), rec_schema_version_latest(), "%s", err);
    cr_assert_str_eq(sql1(pg, "select count(*) from farad.schema_version"), latest);
    cr_assert_str_eq(sql1(pg, "select script from farad.tasks where id = 'keep'"), "stream");
    cr_assert_str_eq(sql1(pg, "select count(*) from pg_indexes where schemaname = 'farad'"
                              " and indexname in ('recording_blocks_measurement_time', 'recording_points_v1_measurement_time')"),
                     "2");
    PQfinish(pg);
    snprintf(sql, sizeof sql, "drop database mig_%d", (int)getpid());
    sql_ok(admin, sql);
    PQfinish(admin);
}

/* ---- tasks and templates ---- */

static rec_req_t *call(rec_store_t *s, rec_req_t *req)
{
    rec_store_call(s, req);
    return req;
}

static rec_req_t *task_put_req(const rec_task_t *t, rec_put_mode_t mode)
{
    rec_req_t *r = rec_req_new(REC_OP_TASK_PUT, NULL, NULL);
    rec_req_copy_task(r, &r->in.task_put.task, t);
    r->in.task_put.mode = mode;
    return r;
}

static rec_req_t *id_req(rec_op_t op, const char *id)
{
    rec_req_t *r = rec_req_new(op, NULL, NULL);
    r->in.id = rec_req_strdup(r, S(id));
    return r;
}

Test(recorder, task_put_get_list_delete_round_trip)
{
    rec_store_t *s = store_for(test_dsn(), 16);
    rec_dbrp_t dbrps[2] = { { S("telegraf"), S("autogen") }, { S("we\"ird\\db"), S("rp.1") } };
    rec_task_t t = { .id = S("rt_cpu"), .type = S("stream"), .dbrps = dbrps, .n_dbrps = 2,
                     .script = S("stream\n\t|from().measurement('cpu')\n"), .vars = S("{\"x\": {\"type\": \"int\", \"value\": 3}}"),
                     .status = REC_TASK_DISABLED };

    rec_req_t *r = call(s, task_put_req(&t, REC_PUT_CREATE));
    cr_assert_eq(r->rc, FA_OK, "%s", r->err);
    int64_t created = r->out.task.created;
    cr_assert_gt(created, (int64_t)1600000000 * 1000000000);
    cr_assert_eq(r->out.task.modified, created);
    cr_assert_eq(r->out.task.last_enabled, 0);
    rec_req_free(r);

    r = call(s, task_put_req(&t, REC_PUT_CREATE));
    cr_assert_eq(r->rc, FA_EEXIST);
    cr_assert_str_eq(r->err, "task rt_cpu already exists");
    rec_req_free(r);

    rec_task_t missing = t;
    missing.id = S("rt_missing");
    r = call(s, task_put_req(&missing, REC_PUT_UPDATE));
    cr_assert_eq(r->rc, FA_ENOENT);
    rec_req_free(r);

    r = call(s, id_req(REC_OP_TASK_GET, "rt_cpu"));
    cr_assert_eq(r->rc, FA_OK, "%s", r->err);
    rec_task_t *g = &r->out.task;
    cr_assert(fa_str_eq(g->id, t.id));
    cr_assert(fa_str_eq(g->type, t.type));
    cr_assert(fa_str_eq(g->script, t.script));
    cr_assert(fa_str_eq_c(g->vars, "{\"x\": {\"type\": \"int\", \"value\": 3}}"), "vars %.*s", (int)g->vars.len,
              g->vars.ptr);
    cr_assert_eq(g->n_dbrps, 2);
    cr_assert(fa_str_eq(g->dbrps[1].db, dbrps[1].db) && fa_str_eq(g->dbrps[1].rp, dbrps[1].rp));
    cr_assert(fa_str_eq(g->dbrps[0].db, dbrps[0].db));
    cr_assert_eq(g->template_id.len, 0);
    cr_assert_eq(g->status, REC_TASK_DISABLED);
    cr_assert_eq(g->created, created);
    rec_req_free(r);

    r = rec_req_new(REC_OP_TASK_SET_STATUS, NULL, NULL);
    r->in.set_status.id = S("rt_cpu");
    r->in.set_status.status = REC_TASK_ENABLED;
    call(s, r);
    cr_assert_eq(r->rc, FA_OK, "%s", r->err);
    cr_assert_eq(r->out.task.status, REC_TASK_ENABLED);
    cr_assert_geq(r->out.task.last_enabled, created);
    cr_assert_geq(r->out.task.modified, created);
    rec_req_free(r);

    /* an upsert keeps created and last_enabled */
    t.script = S("stream|from()");
    t.status = REC_TASK_ENABLED;
    r = call(s, task_put_req(&t, REC_PUT_UPSERT));
    cr_assert_eq(r->rc, FA_OK, "%s", r->err);
    cr_assert_eq(r->out.task.created, created);
    cr_assert(fa_str_eq_c(r->out.task.script, "stream|from()"));
    rec_req_free(r);

    /* bad vars JSON is the caller's error */
    t.vars = S("{not json");
    r = call(s, task_put_req(&t, REC_PUT_UPSERT));
    cr_assert_eq(r->rc, FA_EINVAL, "rc %d: %s", r->rc, r->err);
    cr_assert(strstr(r->err, "storing task rt_cpu: ") == r->err, "%s", r->err);
    cr_assert(strstr(r->err, "json") != NULL, "%s", r->err);
    rec_req_free(r);

    r = call(s, id_req(REC_OP_TASK_DELETE, "rt_cpu"));
    cr_assert_eq(r->rc, FA_OK, "%s", r->err);
    cr_assert_eq(r->out.n_rows, 1);
    rec_req_free(r);
    r = call(s, id_req(REC_OP_TASK_GET, "rt_cpu"));
    cr_assert_eq(r->rc, FA_ENOENT);
    cr_assert_str_eq(r->err, "no task rt_cpu");
    rec_req_free(r);
    r = call(s, id_req(REC_OP_TASK_DELETE, "rt_cpu"));
    cr_assert_eq(r->rc, FA_OK);
    cr_assert_eq(r->out.n_rows, 0);
    rec_req_free(r);
    rec_store_free(s);
}

static uint32_t list_ids(rec_store_t *s, const char *pattern, uint32_t offset, uint32_t limit, char *out, size_t outlen)
{
    rec_req_t *r = rec_req_new(REC_OP_TASK_LIST, NULL, NULL);
    r->in.list = (rec_list_t){ S(pattern), offset, limit };
    call(s, r);
    cr_assert_eq(r->rc, FA_OK, "list %s: %s", pattern, r->err);
    out[0] = '\0';
    for (uint32_t i = 0; i < r->out.tasks.n; i++)
        snprintf(out + strlen(out), outlen - strlen(out), "%s%.*s", i ? " " : "", (int)r->out.tasks.items[i].id.len,
                 r->out.tasks.items[i].id.ptr);
    uint32_t n = r->out.tasks.n;
    rec_req_free(r);
    return n;
}

Test(recorder, task_list_by_glob_with_offset_and_limit)
{
    static const char *ids[] = { "ls_a1", "ls_a2", "ls_b1", "ls_a.x", "ls_axx" };
    rec_store_t *s = store_for(test_dsn(), 16);
    char got[256];

    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        rec_task_t t = { .id = S(ids[i]), .type = S("batch"), .script = S("batch") };
        rec_req_t *r = call(s, task_put_req(&t, REC_PUT_UPSERT));
        cr_assert_eq(r->rc, FA_OK, "%s", r->err);
        rec_req_free(r);
    }
    cr_assert_eq(list_ids(s, "ls_*", 0, 0, got, sizeof got), 5);
    cr_assert_str_eq(got, "ls_a.x ls_a1 ls_a2 ls_axx ls_b1");
    list_ids(s, "ls_a?", 0, 0, got, sizeof got);
    cr_assert_str_eq(got, "ls_a1 ls_a2");
    list_ids(s, "ls_a.?", 0, 0, got, sizeof got); /* '.' is literal, not "any" */
    cr_assert_str_eq(got, "ls_a.x");
    list_ids(s, "ls_[ab]1", 0, 0, got, sizeof got);
    cr_assert_str_eq(got, "ls_a1 ls_b1");
    list_ids(s, "ls_[!a]*", 0, 0, got, sizeof got);
    cr_assert_str_eq(got, "ls_b1");
    list_ids(s, "ls_*", 1, 2, got, sizeof got);
    cr_assert_str_eq(got, "ls_a1 ls_a2");
    cr_assert_eq(list_ids(s, "ls_zz*", 0, 0, got, sizeof got), 0);
    rec_store_free(s);
}

Test(recorder, glob_to_regex)
{
    fa_buf_t b = FA_BUF_INIT;
    cr_assert_eq(rec_glob_to_regex(S("cpu_*"), &b), 0);
    cr_assert_str_eq(fa_buf_cstr(&b), "^cpu\\_.*$");
    rec_glob_to_regex(S("a.b?[!x-z]\\*"), &b);
    cr_assert_str_eq(fa_buf_cstr(&b), "^a\\.b.[^x-z]\\*$");
    rec_glob_to_regex(S("[unclosed"), &b);
    cr_assert_str_eq(fa_buf_cstr(&b), "^\\[unclosed$");
    rec_glob_to_regex(S(""), &b);
    cr_assert_str_eq(fa_buf_cstr(&b), "");
    fa_buf_deinit(&b);
}

Test(recorder, template_with_tasks_is_all_or_nothing)
{
    rec_store_t *s = store_for(test_dsn(), 16);
    rec_task_t tasks[2] = {
        { .id = S("tp_t1"), .type = S("stream"), .script = S("stream"), .template_id = S("tp_tmpl"), .vars = S("{}") },
        { .id = S("tp_t2"), .type = S("stream"), .script = S("stream"), .template_id = S("tp_tmpl"), .vars = S("[oops") },
    };
    rec_template_t tmpl = { .id = S("tp_tmpl"), .type = S("stream"), .script = S("var x = 1\nstream"),
                            .vars = S("{\"x\":{\"type\":\"int\",\"value\":1}}") };

    rec_req_t *r = rec_req_new(REC_OP_TEMPLATE_PUT, NULL, NULL);
    rec_req_copy_template(r, &r->in.template_put.tmpl, &tmpl);
    r->in.template_put.tasks = tasks; /* the caller keeps them alive until done */
    r->in.template_put.n_tasks = 2;
    call(s, r);
    cr_assert_eq(r->rc, FA_EINVAL, "rc %d: %s", r->rc, r->err);
    rec_req_free(r);
    r = call(s, id_req(REC_OP_TEMPLATE_GET, "tp_tmpl"));
    cr_assert_eq(r->rc, FA_ENOENT, "the template was stored although a task failed");
    rec_req_free(r);
    r = call(s, id_req(REC_OP_TASK_GET, "tp_t1"));
    cr_assert_eq(r->rc, FA_ENOENT, "task tp_t1 was stored although tp_t2 failed");
    rec_req_free(r);

    tasks[1].vars = S("{}");
    r = rec_req_new(REC_OP_TEMPLATE_PUT, NULL, NULL);
    rec_req_copy_template(r, &r->in.template_put.tmpl, &tmpl);
    r->in.template_put.tasks = tasks;
    r->in.template_put.n_tasks = 2;
    call(s, r);
    cr_assert_eq(r->rc, FA_OK, "%s", r->err);
    cr_assert(fa_str_eq_c(r->out.template.script, "var x = 1\nstream"));
    rec_req_free(r);
    r = call(s, id_req(REC_OP_TASK_GET, "tp_t2"));
    cr_assert_eq(r->rc, FA_OK, "%s", r->err);
    cr_assert(fa_str_eq_c(r->out.task.template_id, "tp_tmpl"));
    rec_req_free(r);

    r = rec_req_new(REC_OP_TEMPLATE_LIST, NULL, NULL);
    r->in.list.pattern = S("tp_*");
    call(s, r);
    cr_assert_eq(r->rc, FA_OK, "%s", r->err);
    cr_assert_eq(r->out.templates.n, 1);
    cr_assert(fa_str_eq_c(r->out.templates.items[0].vars, "{\"x\": {\"type\": \"int\", \"value\": 1}}"));
    rec_req_free(r);
    r = call(s, id_req(REC_OP_TEMPLATE_DELETE, "tp_tmpl"));
    cr_assert_eq(r->out.n_rows, 1);
    rec_req_free(r);
    rec_store_free(s);
}

/* ---- points ---- */

static void add_tag(eng_point_t *p, const char *k, size_t kl, const char *v, size_t vl)
{
    p->tags[p->n_tags++] = (eng_tag_t){ fa_str(k, kl), fa_str(v, vl) };
}

static eng_field_t *add_field(eng_point_t *p, const char *k)
{
    eng_field_t *f = &p->fields[p->n_fields++];
    f->key = S(k);
    return f;
}

#define LIT(s) s, sizeof(s) - 1

/* Point 0: every escaping hazard; point 1: plain; both in db "db\tx", rp "autogen". */
static void tricky_batch(eng_batch_t *b)
{
    eng_batch_init(b, 4096, 0);
    b->db = fa_str(LIT("db\tx"));
    b->rp = S("autogen");
    eng_point_t *p = eng_batch_add(b);
    p->name = S("cpu \"load\"\\");
    p->tags = FA_NEW(&b->arena, eng_tag_t, 4);
    p->fields = FA_NEW(&b->arena, eng_field_t, 16);
    /* sorted by key, bytewise */
    add_tag(p, LIT("host"), LIT("web \"1\"\\2"));
    add_tag(p, LIT("nl"), LIT("a\nb\tc\rd"));
    add_tag(p, LIT("uni"), LIT("h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80"));
    add_tag(p, LIT("zctl"), LIT("\x01\x1f"));
    add_field(p, "i")->v = (eng_value_t){ .type = ENG_INT, .i = -42 };
    add_field(p, "imax")->v = (eng_value_t){ .type = ENG_INT, .i = INT64_MAX };
    add_field(p, "imin")->v = (eng_value_t){ .type = ENG_INT, .i = INT64_MIN };
    add_field(p, "f")->v = (eng_value_t){ .type = ENG_FLOAT, .f = 0.1 };
    add_field(p, "fone")->v = (eng_value_t){ .type = ENG_FLOAT, .f = 1.0 };
    add_field(p, "fbig")->v = (eng_value_t){ .type = ENG_FLOAT, .f = 1e20 };
    add_field(p, "fhuge")->v = (eng_value_t){ .type = ENG_FLOAT, .f = 1.7976931348623157e308 };
    add_field(p, "ftiny")->v = (eng_value_t){ .type = ENG_FLOAT, .f = 5e-324 };
    add_field(p, "fpi")->v = (eng_value_t){ .type = ENG_FLOAT, .f = -3.141592653589793 };
    add_field(p, "b")->v = (eng_value_t){ .type = ENG_BOOL, .b = true };
    add_field(p, "bf")->v = (eng_value_t){ .type = ENG_BOOL, .b = false };
    add_field(p, "s")->v = (eng_value_t){ .type = ENG_STRING, .s = fa_str(LIT("q\"b\\s\tt\nn \xE2\x9C\x93 \\N")) };
    add_field(p, "se")->v = (eng_value_t){ .type = ENG_STRING, .s = fa_str(LIT("")) };
    add_field(p, "tab\tkey")->v = (eng_value_t){ .type = ENG_INT, .i = 7 };
    p->time = 1700000000123456789;
    p = eng_batch_add(b);
    p->name = S("mem");
    p->fields = FA_NEW(&b->arena, eng_field_t, 1);
    add_field(p, "used")->v = (eng_value_t){ .type = ENG_INT, .i = 1 };
    p->time = -1500; /* before the epoch: floor to the µs below */
}

static bool value_eq(const eng_value_t *a, const eng_value_t *b)
{
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case ENG_FLOAT: return memcmp(&a->f, &b->f, sizeof a->f) == 0;
    case ENG_INT: return a->i == b->i;
    case ENG_UINT: return a->u == b->u;
    case ENG_BOOL: return a->b == b->b;
    case ENG_STRING: return fa_str_eq(a->s, b->s);
    }
    return false;
}

static void assert_same_point(const eng_point_t *want, const eng_point_t *got)
{
    cr_assert(fa_str_eq(want->name, got->name), "name %.*s", (int)got->name.len, got->name.ptr);
    cr_assert_eq(want->time, got->time);
    cr_assert_eq(want->n_tags, got->n_tags);
    for (uint32_t i = 0; i < want->n_tags; i++) {
        cr_assert(fa_str_eq(want->tags[i].key, got->tags[i].key), "tag %u key %.*s", i, (int)got->tags[i].key.len,
                  got->tags[i].key.ptr);
        cr_assert(fa_str_eq(want->tags[i].value, got->tags[i].value), "tag %.*s value %.*s", (int)want->tags[i].key.len,
                  want->tags[i].key.ptr, (int)got->tags[i].value.len, got->tags[i].value.ptr);
    }
    cr_assert_eq(want->n_fields, got->n_fields);
    for (uint32_t i = 0; i < want->n_fields; i++) {
        const eng_field_t *g = eng_point_field(got, want->fields[i].key);
        cr_assert_not_null(g, "field %.*s missing", (int)want->fields[i].key.len, want->fields[i].key.ptr);
        cr_assert(value_eq(&want->fields[i].v, &g->v), "field %.*s differs (type %d vs %d)", (int)g->key.len,
                  g->key.ptr, want->fields[i].v.type, g->v.type);
    }
}

Test(recorder, encode_escapes_copy_and_json_layers)
{
    eng_batch_t b;
    eng_batch_init(&b, 1024, 0);
    b.db = S("d\\b");
    b.rp = S("r\np");
    eng_point_t *p = eng_batch_add(&b);
    p->name = S("m\tx");
    p->tags = FA_NEW(&b.arena, eng_tag_t, 1);
    p->fields = FA_NEW(&b.arena, eng_field_t, 4);
    add_tag(p, LIT("k"), LIT("a\"b\\c\nd\x01\xff"));
    add_field(p, "f")->v = (eng_value_t){ .type = ENG_FLOAT, .f = 2.5 };
    add_field(p, "g")->v = (eng_value_t){ .type = ENG_FLOAT, .f = 3.0 };
    add_field(p, "i")->v = (eng_value_t){ .type = ENG_INT, .i = -7 };
    add_field(p, "s")->v = (eng_value_t){ .type = ENG_STRING, .s = S("x\ty") };
    p->time = 86400000000001; /* 1970-01-02, 1 ns: the µs rounds down */
    rec_copy_meta_t m = { .recording_id = S("r1"), .first_seq = 5, .batch_seq = -1 };
    fa_buf_t out = FA_BUF_INIT;

    cr_assert_eq(rec_encode_points(&out, &m, &b), 0);
    cr_assert_str_eq(fa_buf_cstr(&out),
                     "r1\t5\t1970-01-02 00:00:00.000000+00\t86400000000001\td\\\\b\tr\\np\tm\\tx\t"
                     "{\"k\":\"a\\\\\"b\\\\\\\\c\\\\nd\\\\u0001\xEF\xBF\xBD\"}\t"
                     "{\"f\":2.5,\"g\":3.0,\"i\":-7,\"s\":\"x\\\\ty\"}\t\\N\t\\N\t\\N\n");
    m.batch_seq = 3;
    m.group = S("host=a");
    m.query_node = 1;
    fa_buf_clear(&out);
    cr_assert_eq(rec_encode_points(&out, &m, &b), 0);
    cr_assert(strstr(fa_buf_cstr(&out), "}\t3\thost=a\t1\n") != NULL, "%s", fa_buf_cstr(&out));
    fa_buf_deinit(&out);
    eng_batch_deinit(&b);
}

Test(recorder, copy_tricky_points_read_back_and_query_with_sql)
{
    PGconn *pg = connect_dsn(test_dsn());
    eng_batch_t b, back;
    fa_buf_t scratch = FA_BUF_INIT;
    char err[320];
    rec_read_out_t out;

    tricky_batch(&b);
    sql_ok(pg, "delete from farad.recording_blocks where recording_id = 'cp_rec'");
    rec_copy_meta_t m = { .recording_id = S("cp_rec"), .first_seq = 0, .batch_seq = -1 };
    cr_assert_eq(rec_copy_points(pg, &m, &b, &scratch, err, sizeof err), FA_OK, "%s", err);

    eng_batch_init(&back, 4096, 0);
    cr_assert_eq(rec_read_points(pg, S("cp_rec"), 0, 100, &back, &out, err, sizeof err), FA_OK, "%s", err);
    cr_assert_eq(out.n, 2);
    cr_assert(out.eof);
    cr_assert_eq(out.next_seq, 2);
    cr_assert_eq(out.batch_seq, -1);
    cr_assert(fa_str_eq(back.db, b.db) && fa_str_eq(back.rp, b.rp));
    assert_same_point(&b.points[0], &back.points[0]);
    assert_same_point(&b.points[1], &back.points[1]);
    cr_assert(fa_str_eq_c(back.points[0].key, "cpu\\ \"load\"\\,host=web\\ \"1\"\\2,nl=a\nb\tc\rd,"
                                              "uni=h\xC3\xA9llo\\ \xE2\x82\xAC\\ \xF0\x9F\x98\x80,zctl=\x01\x1f"),
              "key %.*s", (int)back.points[0].key.len, back.points[0].key.ptr);

    /* typed and queryable with SQL */
    static const char *checks[][2] = {
        { "select jsonb_typeof(fields->'i') || jsonb_typeof(fields->'f') || jsonb_typeof(fields->'b')"
          " || jsonb_typeof(fields->'s') from farad.recording_points where recording_id = 'cp_rec' and seq = 0",
          "numbernumberbooleanstring" },
        { "select (fields->>'imin')::bigint = -9223372036854775808 and (fields->>'imax')::bigint ="
          " 9223372036854775807 from farad.recording_points where recording_id = 'cp_rec' and seq = 0", "t" },
        { "select fields->>'i' from farad.recording_points where recording_id = 'cp_rec' and seq = 0", "-42" },
        { "select fields->>'f' from farad.recording_points where recording_id = 'cp_rec' and seq = 0", "0.1" },
        { "select fields->>'fone' from farad.recording_points where recording_id = 'cp_rec' and seq = 0", "1.0" },
        { "select (fields->>'fpi')::float8 = -3.141592653589793 from farad.recording_points"
          " where recording_id = 'cp_rec' and seq = 0", "t" },
        { "select fields->>'s' = E'q\"b\\\\s\\tt\\nn \u2713 \\\\N' from farad.recording_points"
          " where recording_id = 'cp_rec' and seq = 0", "t" },
        { "select tags->>'nl' = E'a\\nb\\tc\\rd' and tags->>'host' = E'web \"1\"\\\\2' and tags->>'uni' ="
          " 'h\u00e9llo \u20ac \U0001F600' from farad.recording_points where recording_id = 'cp_rec' and seq = 0", "t" },
        { "select fields->>'tab\tkey' from farad.recording_points where recording_id = 'cp_rec' and seq = 0", "7" },
        { "select measurement || '|' || db from farad.recording_points where recording_id = 'cp_rec' and seq = 0",
          "cpu \"load\"\\|db\tx" },
        { "select time_ns::text || ' ' || to_char(time at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')"
          " from farad.recording_points where recording_id = 'cp_rec' and seq = 0",
          "1700000000123456789 2023-11-14 22:13:20.123456" },
        { "select to_char(time at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') from farad.recording_points"
          " where recording_id = 'cp_rec' and seq = 1", "1969-12-31 23:59:59.999998" },
        { "select count(*) from farad.recording_points where recording_id = 'cp_rec' and batch_seq is null", "2" },
    };
    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++)
        cr_assert_str_eq(sql1(pg, checks[i][0]), checks[i][1], "check %zu: %s", i, checks[i][0]);

    /* the same seq twice is refused by the primary key, and the error says where */
    cr_assert_eq(rec_copy_points(pg, &m, &b, &scratch, err, sizeof err), FA_EPG);
    cr_assert(strstr(err, "COPY into farad.recording_blocks: ") != NULL, "%s", err);
    cr_assert(strstr(err, "duplicate key") != NULL, "%s", err);
    /* and the connection is still usable */
    cr_assert_str_eq(sql1(pg, "select 1"), "1");

    fa_buf_deinit(&scratch);
    eng_batch_deinit(&back);
    eng_batch_deinit(&b);
    PQfinish(pg);
}

Test(recorder, read_back_in_chunks_by_dbrp_and_batch)
{
    rec_store_t *s = store_for(test_dsn(), 16);
    eng_batch_t b;
    eng_batch_init(&b, 4096, 0);
    PGconn *pg = connect_dsn(test_dsn());
    sql_ok(pg, "delete from farad.recording_blocks where recording_id = 'ch_rec'");

    /* 3 COPY requests: db1 (5 points, stream), db2 (3 points), db1 batch 7 (2 points) */
    struct { const char *db; uint32_t n; int64_t bseq; } parts[3] = { { "db1", 5, -1 }, { "db2", 3, -1 }, { "db1", 2, 7 } };
    int64_t seq = 0;
    for (int k = 0; k < 3; k++) {
        eng_batch_reset(&b);
        b.db = S(parts[k].db);
        b.rp = S("autogen");
        for (uint32_t i = 0; i < parts[k].n; i++) {
            eng_point_t *p = eng_batch_add(&b);
            p->name = S("m");
            p->fields = FA_NEW(&b.arena, eng_field_t, 1);
            add_field(p, "v")->v = (eng_value_t){ .type = ENG_INT, .i = seq + i };
            p->time = (seq + i) * 1000;
        }
        rec_req_t *r = rec_req_new(REC_OP_COPY_POINTS, NULL, NULL);
        r->in.copy.meta = (rec_copy_meta_t){ .recording_id = S("ch_rec"), .first_seq = seq, .batch_seq = parts[k].bseq,
                                             .group = S("g=1"), .query_node = 2 };
        r->in.copy.batch = &b;
        call(s, r);
        cr_assert_eq(r->rc, FA_OK, "%s", r->err);
        cr_assert_eq(r->out.n_rows, parts[k].n);
        rec_req_free(r);
        seq += parts[k].n;
    }
    cr_assert_eq(atomic_load(&rec_store_stats(s)->n_points), 10);

    /* chunks of at most 4: [0..3] db1, [4] db1, [5..7] db2, [8..9] batch 7 */
    static const struct { uint32_t n; const char *db; int64_t bseq; bool eof; } want[] = {
        { 4, "db1", -1, false }, { 1, "db1", -1, false }, { 3, "db2", -1, false }, { 2, "db1", 7, true } };
    int64_t from = 0, next_value = 0;
    eng_batch_t rb;
    eng_batch_init(&rb, 4096, 0);
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        rec_req_t *r = rec_req_new(REC_OP_READ_POINTS, NULL, NULL);
        r->in.read.recording_id = S("ch_rec");
        r->in.read.from_seq = from;
        r->in.read.max_points = 4;
        r->in.read.batch = &rb;
        call(s, r);
        cr_assert_eq(r->rc, FA_OK, "%s", r->err);
        cr_assert_eq(r->out.read.n, want[k].n, "chunk %zu: %u points from %lld", k, r->out.read.n, (long long)from);
        cr_assert(fa_str_eq_c(rb.db, want[k].db), "chunk %zu", k);
        cr_assert_eq(r->out.read.batch_seq, want[k].bseq, "chunk %zu", k);
        cr_assert_eq(r->out.read.eof, want[k].eof, "chunk %zu", k);
        if (want[k].bseq >= 0) {
            cr_assert(fa_str_eq_c(r->out.read.group, "g=1"));
            cr_assert_eq(r->out.read.query_node, 2);
        }
        for (uint32_t i = 0; i < rb.n; i++, next_value++) {
            cr_assert_eq(rb.points[i].fields[0].v.i, next_value);
            cr_assert_eq(rb.points[i].time, next_value * 1000);
        }
        from = r->out.read.next_seq;
        rec_req_free(r);
    }
    cr_assert_eq(next_value, 10);
    eng_batch_deinit(&rb);
    eng_batch_deinit(&b);
    PQfinish(pg);
    rec_store_free(s);
}

/* ---- recordings ---- */

static rec_req_t *recording_req(rec_op_t op, const rec_recording_t *rec)
{
    rec_req_t *r = rec_req_new(op, NULL, NULL);
    rec_req_copy_recording(r, &r->in.recording, rec);
    return r;
}

Test(recorder, recording_lifecycle_and_delete_with_points)
{
    rec_store_t *s = store_for(test_dsn(), 16);
    rec_recording_t rec = { .id = S("lc_rec"), .type = S("stream"), .task = S("cpu_alert") };
    eng_batch_t b;

    rec_req_t *r = call(s, id_req(REC_OP_RECORDING_DELETE, "lc_rec"));
    rec_req_free(r);
    r = call(s, recording_req(REC_OP_RECORDING_PUT, &rec));
    cr_assert_eq(r->rc, FA_OK, "%s", r->err);
    cr_assert_eq(r->out.recording.status, REC_RUNNING);
    cr_assert_eq(r->out.recording.finished, 0);
    cr_assert(fa_str_eq_c(r->out.recording.task, "cpu_alert") && r->out.recording.query.len == 0);
    int64_t created = r->out.recording.created;
    rec_req_free(r);
    r = call(s, recording_req(REC_OP_RECORDING_PUT, &rec));
    cr_assert_eq(r->rc, FA_EEXIST);
    cr_assert_str_eq(r->err, "recording lc_rec already exists");
    rec_req_free(r);

    tricky_batch(&b);
    r = rec_req_new(REC_OP_COPY_POINTS, NULL, NULL);
    r->in.copy.meta = (rec_copy_meta_t){ .recording_id = S("lc_rec"), .batch_seq = -1 };
    r->in.copy.batch = &b;
    cr_assert_eq(call(s, r)->rc, FA_OK, "%s", r->err);
    rec_req_free(r);

    rec.status = REC_FAILED;
    rec.error = S("dropped 3 points: recorder queue full");
    rec.n_points = 2;
    rec.size = 123;
    rec.progress = 1;
    r = call(s, recording_req(REC_OP_RECORDING_UPDATE, &rec));
    cr_assert_eq(r->rc, FA_OK, "%s", r->err);
    rec_req_free(r);
    r = call(s, id_req(REC_OP_RECORDING_GET, "lc_rec"));
    cr_assert_eq(r->rc, FA_OK, "%s", r->err);
    cr_assert_eq(r->out.recording.status, REC_FAILED);
    cr_assert(fa_str_eq_c(r->out.recording.error, "dropped 3 points: recorder queue full"));
    cr_assert_eq(r->out.recording.n_points, 2);
    cr_assert_eq(r->out.recording.size, 123);
    cr_assert_eq(r->out.recording.progress, 1.0);
    cr_assert_eq(r->out.recording.created, created);
    cr_assert_geq(r->out.recording.finished, created);
    rec_req_free(r);

    r = rec_req_new(REC_OP_RECORDING_LIST, NULL, NULL);
    r->in.list.pattern = S("lc_*");
    cr_assert_eq(call(s, r)->rc, FA_OK, "%s", r->err);
    cr_assert_eq(r->out.recordings.n, 1);
    rec_req_free(r);

    r = call(s, id_req(REC_OP_RECORDING_DELETE, "lc_rec"));
    cr_assert_eq(r->rc, FA_OK, "%s", r->err);
    cr_assert_eq(r->out.n_rows, 1);
    rec_req_free(r);
    PGconn *pg = connect_dsn(test_dsn());
    cr_assert_str_eq(sql1(pg, "select count(*) from farad.recording_points where recording_id = 'lc_rec'"), "0");
    PQfinish(pg);
    r = call(s, id_req(REC_OP_RECORDING_GET, "lc_rec"));
    cr_assert_eq(r->rc, FA_ENOENT);
    cr_assert_str_eq(r->err, "recording lc_rec does not exist");
    rec_req_free(r);
    r = call(s, recording_req(REC_OP_RECORDING_UPDATE, &rec));
    cr_assert_eq(r->rc, FA_ENOENT);
    rec_req_free(r);
    eng_batch_deinit(&b);
    rec_store_free(s);
}

Test(recorder, replay_with_captured_outputs)
{
    rec_store_t *s = store_for(test_dsn(), 16);
    rec_replay_t rp = { .id = S("rp_1"), .task = S("cpu_alert"), .recording = S("rec_x"), .clock = S("fast") };
    rec_output_t outs[2] = {
        { .seq = 0, .alert = false, .time = 1000, .payload = S("{\"name\":\"cpu\",\"fields\":{\"v\":1.5}}") },
        { .seq = 1, .alert = true, .time = 2000, .payload = S("{\"id\":\"a\\\\b\",\"message\":\"tab\\there\",\"level\":\"CRITICAL\"}") },
    };

    rec_req_t *r = call(s, id_req(REC_OP_REPLAY_DELETE, "rp_1"));
    rec_req_free(r);
    r = rec_req_new(REC_OP_REPLAY_PUT, NULL, NULL);
    rec_req_copy_replay(r, &r->in.replay, &rp);
    cr_assert_eq(call(s, r)->rc, FA_OK, "%s", r->err);
    cr_assert_eq(r->out.replay.status, REC_RUNNING);
    cr_assert(fa_str_eq_c(r->out.replay.clock, "fast") && !r->out.replay.recording_time);
    rec_req_free(r);

    r = rec_req_new(REC_OP_COPY_OUTPUTS, NULL, NULL);
    r->in.outputs.replay_id = S("rp_1");
    r->in.outputs.items = outs;
    r->in.outputs.n = 2;
    cr_assert_eq(call(s, r)->rc, FA_OK, "%s", r->err);
    cr_assert_eq(r->out.n_rows, 2);
    rec_req_free(r);

    rp.status = REC_FINISHED;
    rp.progress = 1;
    rp.stats = S("{\"task-stats\":{\"throughput\":0}}");
    r = rec_req_new(REC_OP_REPLAY_UPDATE, NULL, NULL);
    rec_req_copy_replay(r, &r->in.replay, &rp);
    cr_assert_eq(call(s, r)->rc, FA_OK, "%s", r->err);
    rec_req_free(r);
    r = call(s, id_req(REC_OP_REPLAY_GET, "rp_1"));
    cr_assert_eq(r->rc, FA_OK, "%s", r->err);
    cr_assert_eq(r->out.replay.status, REC_FINISHED);
    cr_assert_gt(r->out.replay.finished, 0);
    cr_assert(fa_str_eq_c(r->out.replay.stats, "{\"task-stats\": {\"throughput\": 0}}"), "%.*s",
              (int)r->out.replay.stats.len, r->out.replay.stats.ptr);
    rec_req_free(r);

    PGconn *pg = connect_dsn(test_dsn());
    cr_assert_str_eq(sql1(pg, "select string_agg(kind || ':' || coalesce(payload->'fields'->>'v', payload->>'message'),"
                              " '|' order by seq) from farad.replay_outputs where replay_id = 'rp_1'"),
                     "point:1.5|alert:tab\there");
    cr_assert_str_eq(sql1(pg, "select payload->>'id' from farad.replay_outputs where replay_id = 'rp_1' and seq = 1"),
                     "a\\b");

    r = rec_req_new(REC_OP_REPLAY_LIST, NULL, NULL);
    r->in.list.pattern = S("rp_?");
    cr_assert_eq(call(s, r)->rc, FA_OK, "%s", r->err);
    cr_assert_eq(r->out.replays.n, 1);
    rec_req_free(r);
    r = call(s, id_req(REC_OP_REPLAY_DELETE, "rp_1"));
    cr_assert_eq(r->out.n_rows, 1);
    rec_req_free(r);
    cr_assert_str_eq(sql1(pg, "select count(*) from farad.replay_outputs where replay_id = 'rp_1'"), "0");
    PQfinish(pg);
    rec_store_free(s);
}

/* ---- the queue ---- */

struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool entered, open;
    int n_done;
};

static void held_done(void *ud, rec_req_t *req)
{
    struct gate *g = ud;
    pthread_mutex_lock(&g->mu);
    g->entered = true;
    pthread_cond_broadcast(&g->cv);
    while (!g->open)
        pthread_cond_wait(&g->cv, &g->mu);
    g->n_done++;
    pthread_mutex_unlock(&g->mu);
}

static void count_done(void *ud, rec_req_t *req)
{
    struct gate *g = ud;
    pthread_mutex_lock(&g->mu);
    g->n_done++;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

Test(recorder, full_queue_refuses_at_once)
{
    struct gate g = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, false, 0 };
    rec_store_t *s = store_for(test_dsn(), 4);
    rec_req_t *reqs[6];

    /* the first request's callback holds the store thread */
    reqs[0] = rec_req_new(REC_OP_PING, held_done, &g);
    cr_assert_eq(rec_store_submit_mpsc(s, reqs[0]), FA_OK);
    pthread_mutex_lock(&g.mu);
    while (!g.entered)
        pthread_cond_wait(&g.cv, &g.mu);
    pthread_mutex_unlock(&g.mu);
    for (int i = 1; i <= 4; i++) {
        reqs[i] = rec_req_new(REC_OP_PING, count_done, &g);
        cr_assert_eq(rec_store_submit_mpsc(s, reqs[i]), FA_OK, "request %d", i);
    }
    cr_assert_eq(rec_store_queued(s), 4);
    reqs[5] = rec_req_new(REC_OP_PING, count_done, &g);
    cr_assert_eq(rec_store_submit_mpsc(s, reqs[5]), FA_EAGAIN);
    cr_assert_eq(atomic_load(&rec_store_stats(s)->n_refused), 1);

    pthread_mutex_lock(&g.mu);
    g.open = true;
    pthread_cond_broadcast(&g.cv);
    while (g.n_done < 5)
        pthread_cond_wait(&g.cv, &g.mu);
    pthread_mutex_unlock(&g.mu);
    for (int i = 0; i <= 4; i++)
        cr_assert_eq(reqs[i]->rc, FA_OK, "request %d: %s", i, reqs[i]->err);
    /* the refused one was never touched and can go now */
    cr_assert_eq(rec_store_submit_mpsc(s, reqs[5]), FA_OK);
    pthread_mutex_lock(&g.mu);
    while (g.n_done < 6)
        pthread_cond_wait(&g.cv, &g.mu);
    pthread_mutex_unlock(&g.mu);
    rec_store_free(s);
    for (int i = 0; i <= 5; i++)
        rec_req_free(reqs[i]);
}

/* ---- PostgreSQL going away ---- */

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int ping(rec_store_t *s, char *err, size_t errlen)
{
    rec_req_t *r = rec_req_new(REC_OP_PING, NULL, NULL);
    int rc = rec_store_call(s, r);
    snprintf(err, errlen, "%s", r->err);
    rec_req_free(r);
    return rc;
}

Test(recorder, postgres_stopped_then_restarted)
{
    char dir[64], dsn[512], err[320];
    cr_assert_eq(new_cluster(dir, sizeof dir, dsn, sizeof dsn), 0, "scripts/pg.sh start %s failed", dir);
    rec_store_t *s = store_for(dsn, 64);

    cr_assert_eq(ping(s, err, sizeof err), FA_OK, "%s", err);
    rec_task_t t = { .id = S("out_t"), .type = S("stream"), .script = S("stream") };
    rec_req_t *r = call(s, task_put_req(&t, REC_PUT_UPSERT));
    cr_assert_eq(r->rc, FA_OK, "%s", r->err);
    rec_req_free(r);

    cr_assert_eq(pg_sh("stop", dir, NULL, 0), 0);
    /* every request fails fast with the reason, none blocks */
    for (int i = 0; i < 20; i++) {
        int64_t t0 = mono_ms();
        r = call(s, id_req(REC_OP_TASK_GET, "out_t"));
        int64_t took = mono_ms() - t0;
        cr_assert_eq(r->rc, FA_EAGAIN, "request %d while down: rc %d %s", i, r->rc, r->err);
        cr_assert(strncmp(r->err, "PostgreSQL unavailable: ", 24) == 0, "%s", r->err);
        cr_assert_gt(strlen(r->err), 24, "no libpq message");
        cr_assert_lt(took, 2000, "request %d took %lld ms", i, (long long)took);
        rec_req_free(r);
        usleep(20000);
    }
    cr_assert_not(atomic_load(&rec_store_stats(s)->connected));

    cr_assert_eq(pg_sh("start", dir, NULL, 0), 0);
    int64_t t0 = mono_ms();
    int rc;
    while ((rc = ping(s, err, sizeof err)) != FA_OK && mono_ms() - t0 < 30000)
        usleep(50000);
    cr_assert_eq(rc, FA_OK, "still failing 30 s after the restart: %s", err);
    r = call(s, id_req(REC_OP_TASK_GET, "out_t"));
    cr_assert_eq(r->rc, FA_OK, "%s", r->err);
    rec_req_free(r);
    cr_assert_geq(atomic_load(&rec_store_stats(s)->n_connects), 2);
    rec_store_free(s);
    remove_cluster(dir);
}

Test(recorder, options_from_the_configuration)
{
    fa_conf_t c;
    char err[256];

    fa_conf_init(&c);
    cr_assert_str_eq(c.pg_dsn, "");
    cr_assert_eq(fa_conf_set(&c, "pg", "host=/tmp/x dbname=farad", NULL, err, sizeof err), 0, "%s", err);
    cr_assert_eq(fa_conf_set(&c, "pg.queue", "64", NULL, err, sizeof err), 0, "%s", err);
    cr_assert_eq(fa_conf_set(&c, "pg.reconnect_max", "5s", NULL, err, sizeof err), 0, "%s", err);
    cr_assert_neq(fa_conf_set(&c, "pg.queue", "0", NULL, err, sizeof err), 0);
    rec_store_opts_t o = rec_store_opts_conf(&c);
    cr_assert_str_eq(o.dsn, "host=/tmp/x dbname=farad");
    cr_assert_eq(o.queue_cap, 64);
    cr_assert_eq(o.reconnect_max_ms, 5000);
    fa_conf_deinit(&c);
}

Test(recorder, no_dsn_is_refused)
{
    char err[128];
    rec_store_opts_t o = { .dsn = "" };
    cr_assert_null(rec_store_new(&o, err, sizeof err));
    cr_assert_str_eq(err, "recorder: no PostgreSQL DSN (pg.dsn)");
}

/* ---- columnar blocks (schema version 3) against the version-1 rows ---- */

/* n points over 7 interleaved series; every type, missing fields, a key with two types, values
 * at the edges; the second half is batch 3 (group g=1, query node 2). */
static void mixed_batches(eng_batch_t *b, eng_batch_t *b2, uint32_t n)
{
    static const double floats[] = { 1.0, -2.5, 0.1, 1e15 + 0.25, -1e15 - 0.75, 123456.789, 1.5e-7, -0.0,
                                      1e20, 1.2345678901234567e300, 4503599627370497.5, 5e-324, 9007199254740993.0 };
    eng_batch_t *bs[2] = { b, b2 };
    for (int k = 0; k < 2; k++) {
        eng_batch_init(bs[k], 4096, 0);
        bs[k]->db = S(k ? "db2" : "db1");
        bs[k]->rp = S("autogen");
    }
    for (uint32_t i = 0; i < n; i++) {
        eng_batch_t *t = bs[i >= n / 2];
        eng_point_t *p = eng_batch_add(t);
        char *host = fa_arena_alloc(&t->arena, 16, 1);
        int hl = snprintf(host, 16, "h%u\xff", i % 7);
        p->name = i % 3 ? S("cpu") : S("mem");
        p->tags = FA_NEW(&t->arena, eng_tag_t, 2);
        p->fields = FA_NEW(&t->arena, eng_field_t, 10);
        add_tag(p, LIT("host"), host, (size_t)hl);
        if (i % 2)
            add_tag(p, LIT("q"), LIT("a\"b\\c\td\ne"));
        add_field(p, "n")->v = (eng_value_t){ .type = ENG_INT, .i = (int64_t)i };
        add_field(p, "f")->v = (eng_value_t){ .type = ENG_FLOAT, .f = floats[i % (sizeof floats / sizeof floats[0])] };
        if (i % 4 == 0)
            add_field(p, "u")->v = (eng_value_t){ .type = ENG_UINT, .u = UINT64_MAX - i };
        if (i % 5 == 0)
            add_field(p, "imin")->v = (eng_value_t){ .type = ENG_INT, .i = i % 10 ? INT64_MAX : INT64_MIN };
        if (i % 3 == 1)
            add_field(p, "s")->v = (eng_value_t){ .type = ENG_STRING,
                                                  .s = i % 2 ? S("") : fa_str(LIT("q\"\\\t\n\xc3\x28 \xe2\x9c\x93")) };
        add_field(p, "b")->v = (eng_value_t){ .type = ENG_BOOL, .b = i % 2 };
        /* "x" is an int in some points and a float in others of the same series (period 42) */
        if (i % 7 == 3)
            add_field(p, "x")->v = i / 42 % 2 ? (eng_value_t){ .type = ENG_INT, .i = 5 }
                                              : (eng_value_t){ .type = ENG_FLOAT, .f = 5 };
        /* a key given twice: the last value counts (as jsonb kept it) */
        if (i % 11 == 0) {
            add_field(p, "d")->v = (eng_value_t){ .type = ENG_INT, .i = 1 };
            add_field(p, "d")->v = (eng_value_t){ .type = ENG_FLOAT, .f = 2.5 };
        }
        p->time = 1700000000000000000 + (int64_t)i * 1000001 - (i == 5 ? 3400000000000000000 : 0);
    }
}

/* The rows of the view for a recording as text, one line per point. */
static char *view_text(PGconn *pg, const char *id)
{
    char sql[600];
    snprintf(sql, sizeof sql,
             "select string_agg(concat_ws('|', seq, time, time_ns, db, rp, measurement, tags::text, fields::text,"
             " batch_seq, batch_group, query_node), E'\\n' order by seq) from farad.recording_points"
             " where recording_id = '%s'", id);
    PGresult *res = PQexec(pg, sql);
    cr_assert_eq(PQresultStatus(res), PGRES_TUPLES_OK, "%s", PQerrorMessage(pg));
    char *s = strdup(PQgetvalue(res, 0, 0));
    PQclear(res);
    return s;
}

/* b and b2 as version-1 COPY text rows into table (seq from 0). */
static void copy_v1(PGconn *pg, const char *table, const char *id, eng_batch_t *b, eng_batch_t *b2)
{
    fa_buf_t rows = FA_BUF_INIT;
    rec_copy_meta_t m = { .recording_id = fa_str_c(id), .first_seq = 0, .batch_seq = -1 };
    cr_assert_eq(rec_encode_points(&rows, &m, b), 0);
    m = (rec_copy_meta_t){ .recording_id = fa_str_c(id), .first_seq = b->n, .batch_seq = 3, .group = S("g=1"),
                           .query_node = 2 };
    cr_assert_eq(rec_encode_points(&rows, &m, b2), 0);
    char sql[300];
    snprintf(sql, sizeof sql, "copy %s (%s) from stdin", table, rec_copy_columns);
    PGresult *res = PQexec(pg, sql);
    cr_assert_eq(PQresultStatus(res), PGRES_COPY_IN, "%s", PQerrorMessage(pg));
    PQclear(res);
    cr_assert_eq(PQputCopyData(pg, rows.ptr, (int)rows.len), 1);
    cr_assert_eq(PQputCopyEnd(pg, NULL), 1);
    res = PQgetResult(pg);
    cr_assert_eq(PQresultStatus(res), PGRES_COMMAND_OK, "%s", PQerrorMessage(pg));
    PQclear(res);
    while ((res = PQgetResult(pg)) != NULL)
        PQclear(res);
    fa_buf_deinit(&rows);
}

/* Whether field f of p is given again later in p (then the later value counts). */
static bool later_dup(const eng_point_t *p, uint32_t f)
{
    for (uint32_t k = f + 1; k < p->n_fields; k++)
        if (fa_str_eq(p->fields[k].key, p->fields[f].key))
            return true;
    return false;
}

/* Reads recording id back in chunks of max and checks every point against b then b2, in seq order. */
static void assert_reads_back(PGconn *pg, const char *id, eng_batch_t *b, eng_batch_t *b2, uint32_t max)
{
    eng_batch_t back;
    rec_read_out_t out;
    char err[320];
    eng_batch_init(&back, 4096, 0);
    uint32_t got = 0;
    for (int64_t from = 0;;) {
        cr_assert_eq(rec_read_points(pg, fa_str_c(id), from, max, &back, &out, err, sizeof err), FA_OK, "%s", err);
        for (uint32_t i = 0; i < back.n; i++, got++) {
            const eng_batch_t *src = got < b->n ? b : b2;
            const eng_point_t *want = &src->points[got < b->n ? got : got - b->n];
            cr_assert(fa_str_eq(back.db, src->db), "point %u: db", got);
            cr_assert_eq(out.batch_seq, src == b ? -1 : 3, "point %u", got);
            if (src == b2)
                cr_assert(fa_str_eq_c(out.group, "g=1") && out.query_node == 2);
            const eng_field_t *nf = eng_point_field(&back.points[i], S("n"));
            cr_assert(nf != NULL && nf->v.type == ENG_INT && nf->v.i == (int64_t)got, "point %u out of order", got);
            cr_assert_eq(back.points[i].time, want->time, "point %u", got);
            uint32_t distinct = 0;
            for (uint32_t f = 0; f < want->n_fields; f++)
                distinct += !later_dup(want, f);
            cr_assert_eq(back.points[i].n_fields, distinct, "point %u", got);
            for (uint32_t f = 0; f < want->n_fields; f++) {
                if (later_dup(want, f))
                    continue;
                const eng_field_t *g = eng_point_field(&back.points[i], want->fields[f].key);
                cr_assert_not_null(g, "point %u: field %.*s", got, (int)want->fields[f].key.len, want->fields[f].key.ptr);
                if (want->fields[f].v.type == ENG_STRING && memchr(want->fields[f].v.s.ptr, 0xc3, want->fields[f].v.s.len))
                    cr_assert(g->v.type == ENG_STRING && memmem(g->v.s.ptr, g->v.s.len, "\xEF\xBF\xBD(", 4) != NULL);
                else if (want->fields[f].v.type == ENG_FLOAT) /* -0.0 == 0.0: version 1 kept no sign of 0 */
                    cr_assert(g->v.type == ENG_FLOAT && g->v.f == want->fields[f].v.f, "point %u: field %.*s", got,
                              (int)g->key.len, g->key.ptr);
                else
                    cr_assert(value_eq(&want->fields[f].v, &g->v), "point %u: field %.*s", got, (int)g->key.len, g->key.ptr);
            }
            cr_assert_eq(back.points[i].n_tags, want->n_tags);
            fa_str_t h = eng_point_tag(&back.points[i], S("host"));
            cr_assert(h.len >= 3 && memcmp(h.ptr + h.len - 3, "\xEF\xBF\xBD", 3) == 0, "point %u: host tag", got);
        }
        if (out.eof || back.n == 0)
            break;
        from = out.next_seq;
    }
    cr_assert_eq(got, b->n + b2->n);
    eng_batch_deinit(&back);
}

Test(recorder, blocks_round_trip_and_view_match_version_1)
{
    PGconn *pg = connect_dsn(test_dsn());
    eng_batch_t b, b2;
    fa_buf_t scratch = FA_BUF_INIT;
    char err[320];
    mixed_batches(&b, &b2, 400);
    sql_ok(pg, "delete from farad.recording_blocks where recording_id = 'vw_new'");
    sql_ok(pg, "delete from farad.recording_points_v1 where recording_id = 'vw_new'");

    /* blocks: one COPY per batch, as rr_writer does per flush */
    rec_copy_meta_t m = { .recording_id = S("vw_new"), .first_seq = 0, .batch_seq = -1 };
    cr_assert_eq(rec_copy_points(pg, &m, &b, &scratch, err, sizeof err), FA_OK, "%s", err);
    m = (rec_copy_meta_t){ .recording_id = S("vw_new"), .first_seq = b.n, .batch_seq = 3, .group = S("g=1"),
                           .query_node = 2 };
    cr_assert_eq(rec_copy_points(pg, &m, &b2, &scratch, err, sizeof err), FA_OK, "%s", err);
    /* one block per series and batch: 2 measurements x 7 hosts x 2 (q or not, by parity) at most */
    cr_assert_str_eq(sql1(pg, "select count(*) <= 56 and sum(length(seq) / 8) = 400 from farad.recording_blocks"
                              " where recording_id = 'vw_new'"), "t");
    assert_reads_back(pg, "vw_new", &b, &b2, 64);
    assert_reads_back(pg, "vw_new", &b, &b2, 1000);

    /* the view shows exactly what version 1 stored for the same points */
    sql_ok(pg, "delete from farad.recording_points_v1 where recording_id = 'vw_old'");
    copy_v1(pg, "farad.recording_points_v1", "vw_old", &b, &b2);
    char *old = view_text(pg, "vw_old"), *now = view_text(pg, "vw_new");
    cr_assert(strlen(old) > 1000);
    if (strcmp(old, now) != 0) {
        char *o = old, *w = now;
        while (*o && *o == *w)
            o++, w++;
        while (o > old && o[-1] != '\n')
            o--, w--;
        cr_assert_fail("view differs from version 1 at:\nv1:     %.300s\nblocks: %.300s", o, w);
    }
    free(old);
    free(now);
    /* typed values through the view */
    cr_assert_str_eq(sql1(pg, "select jsonb_typeof(fields->'u') || (fields->>'u') from farad.recording_points"
                              " where recording_id = 'vw_new' and seq = 4"),
                     "number18446744073709551611");
    cr_assert_str_eq(sql1(pg, "select fields->>'f' from farad.recording_points where recording_id = 'vw_new' and seq = 3"),
                     "1000000000000000.2");

    /* the rows of both go with their recording */
    rec_store_t *s = store_for(test_dsn(), 4);
    rec_req_t *r = rec_req_new(REC_OP_RECORDING_DELETE, NULL, NULL);
    r->in.id = S("vw_new");
    call(s, r);
    rec_req_free(r);
    rec_store_free(s);
    cr_assert_str_eq(sql1(pg, "select count(*) from farad.recording_blocks where recording_id = 'vw_new'"), "0");
    sql_ok(pg, "delete from farad.recording_points_v1 where recording_id = 'vw_old'");
    fa_buf_deinit(&scratch);
    eng_batch_deinit(&b);
    eng_batch_deinit(&b2);
    PQfinish(pg);
}

/* Reads all of id with rec_blocks_next in chunks of max: the points' "n" fields must count up from 0. */
static uint32_t read_all_blocks(PGconn *pg, const char *id, uint32_t max)
{
    rec_blocks_rd_t *rd = NULL;
    eng_batch_t back;
    rec_read_out_t out;
    char err[320];
    eng_batch_init(&back, 4096, 0);
    cr_assert_eq(rec_blocks_open(pg, fa_str_c(id), 0, -1, &rd, err, sizeof err), FA_OK, "%s", err);
    uint32_t got = 0;
    for (int i = 0; i < 100000; i++) {
        cr_assert_eq(rec_blocks_next(rd, max, &back, &out, err, sizeof err), FA_OK, "%s", err);
        if (out.eof)
            break;
        cr_assert(back.n > 0 && back.n <= max);
        for (uint32_t k = 0; k < back.n; k++, got++) {
            const eng_field_t *nf = eng_point_field(&back.points[k], S("n"));
            cr_assert(nf != NULL && nf->v.i == (int64_t)got, "point %u out of order", got);
        }
    }
    rec_blocks_close(rd);
    eng_batch_deinit(&back);
    return got;
}

Test(recorder, blocks_read_ahead_and_close_leave_the_connection_as_it_was)
{
    PGconn *pg = connect_dsn(test_dsn());
    eng_batch_t b, b2;
    fa_buf_t scratch = FA_BUF_INIT;
    char err[320];
    mixed_batches(&b, &b2, 6000);
    sql_ok(pg, "delete from farad.recording_blocks where recording_id = 'ra_rec'");
    rec_copy_meta_t m = { .recording_id = S("ra_rec"), .first_seq = 0, .batch_seq = -1 };
    cr_assert_eq(rec_copy_points(pg, &m, &b, &scratch, err, sizeof err), FA_OK, "%s", err);
    m = (rec_copy_meta_t){ .recording_id = S("ra_rec"), .first_seq = b.n, .batch_seq = 3, .group = S("g=1"),
                           .query_node = 2 };
    cr_assert_eq(rec_copy_points(pg, &m, &b2, &scratch, err, sizeof err), FA_OK, "%s", err);
    /* more blocks than the reader takes between two receptions without waiting (8) */
    cr_assert_str_eq(sql1(pg, "select count(*) > 16 from farad.recording_blocks where recording_id = 'ra_rec'"), "t");
    cr_assert_str_eq(sql1(pg, "show enable_sort"), "on");
    /* whole reads, in chunks smaller and larger than the pumping interval (1024 points) */
    cr_assert_eq(read_all_blocks(pg, "ra_rec", 700), 6000);
    cr_assert_eq(read_all_blocks(pg, "ra_rec", 5000), 6000);
    cr_assert_str_eq(sql1(pg, "show enable_sort"), "on");
    /* a read ended early: what was received ahead is dropped, and the connection is usable */
    for (uint32_t max = 10; max <= 2000; max *= 200) {
        rec_blocks_rd_t *rd = NULL;
        eng_batch_t back;
        rec_read_out_t out;
        eng_batch_init(&back, 4096, 0);
        cr_assert_eq(rec_blocks_open(pg, S("ra_rec"), 0, -1, &rd, err, sizeof err), FA_OK, "%s", err);
        cr_assert_eq(rec_blocks_next(rd, max, &back, &out, err, sizeof err), FA_OK, "%s", err);
        cr_assert_eq(back.n, max);
        rec_blocks_close(rd);
        eng_batch_deinit(&back);
        cr_assert_str_eq(sql1(pg, "show enable_sort"), "on");
        cr_assert_str_eq(sql1(pg, "select sum(length(seq) / 8) from farad.recording_blocks where recording_id = 'ra_rec'"),
                         "6000");
    }
    sql_ok(pg, "delete from farad.recording_blocks where recording_id = 'ra_rec'");
    fa_buf_deinit(&scratch);
    eng_batch_deinit(&b);
    eng_batch_deinit(&b2);
    PQfinish(pg);
}

Test(recorder, migration_3_keeps_version_1_recordings)
{
    char sql[256], dsn[600], err[320];
    PGconn *admin = connect_dsn(test_dsn());
    snprintf(sql, sizeof sql, "create database mig2_%d", (int)getpid());
    sql_ok(admin, sql);
    snprintf(dsn, sizeof dsn, "%s dbname=mig2_%d", test_dsn(), (int)getpid());
    PGconn *pg = PQconnectdb(dsn);
    cr_assert_eq(PQstatus(pg), CONNECTION_OK, "%s", PQerrorMessage(pg));
    cr_assert_eq(rec_migrate_to(pg, 1, err, sizeof err), 1, "%s", err);
    eng_batch_t b, b2;
    mixed_batches(&b, &b2, 120);
    copy_v1(pg, "farad.recording_points", "old", &b, &b2);
    char *before = NULL;
    {
        PGresult *res = PQexec(pg, "select string_agg(concat_ws('|', seq, time, fields::text, tags::text), E'\\n'"
                                   " order by seq) from farad.recording_points where recording_id = 'old'");
        cr_assert_eq(PQresultStatus(res), PGRES_TUPLES_OK);
        before = strdup(PQgetvalue(res, 0, 0));
        PQclear(res);
    }
    cr_assert_eq(rec_migrate(pg, err, sizeof err), rec_schema_version_latest(), "%s", err);
    PGresult *res = PQexec(pg, "select string_agg(concat_ws('|', seq, time, fields::text, tags::text), E'\\n'"
                               " order by seq) from farad.recording_points where recording_id = 'old'");
    cr_assert_eq(PQresultStatus(res), PGRES_TUPLES_OK, "%s", PQerrorMessage(pg));
    cr_assert_str_eq(PQgetvalue(res, 0, 0), before);
    PQclear(res);
    free(before);
    /* still replayable: rec_read_points falls back to the version-1 rows */
    assert_reads_back(pg, "old", &b, &b2, 50);
    PQfinish(pg);
    eng_batch_deinit(&b);
    eng_batch_deinit(&b2);
    snprintf(sql, sizeof sql, "drop database mig2_%d", (int)getpid());
    sql_ok(admin, sql);
    PQfinish(admin);
}

static const eng_field_t *field_of(const eng_point_t *p, const char *key) { return eng_point_field(p, fa_str_c(key)); }

Test(recorder, migration_4_packs_version_3_blocks)
{
    char sql[256], dsn[600], err[320];
    PGconn *admin = connect_dsn(test_dsn());
    snprintf(sql, sizeof sql, "create database mig4_%d", (int)getpid());
    sql_ok(admin, sql);
    snprintf(dsn, sizeof dsn, "%s dbname=mig4_%d", test_dsn(), (int)getpid());
    PGconn *pg = PQconnectdb(dsn); /* not connect_dsn: it migrates to the latest version */
    cr_assert_eq(PQstatus(pg), CONNECTION_OK, "%s", PQerrorMessage(pg));
    cr_assert_eq(rec_migrate_to(pg, 3, err, sizeof err), 3, "%s", err);
    /* version 3's arrays, with absent values of every type and the floats' special cases */
    sql_ok(pg, "insert into farad.recording_blocks (recording_id, seg, seg_n, part, db, rp, measurement, tags,"
               " min_time, max_time, seq, time_ns, fkeys, fval, ikeys, ival, ukeys, uval, skeys, sval, bkeys, bval)"
               " values ('r', 0, 4, 0, 'db', 'autogen', 'cpu', '{\"host\": \"a\"}', now(), now(), '{0,2,3}',"
               " '{1700000000000000000,-5,1700000000000000001}', '{f,g}',"
               " '{{1.5,NULL,-0.0},{5e-324,NaN,-Infinity}}', '{n}', '{{-9223372036854775808,-1,9223372036854775807}}',"
               " '{u}', '{{-5,NULL,7}}', '{s}', '{{x,NULL,\"q\\\"t\"}}', '{b}', '{{true,false,NULL}}'),"
               " ('r', 0, 4, 1, 'db', 'autogen', 'mem', '{}', now(), now(), '{1}', '{42}', NULL, NULL, NULL, NULL,"
               " NULL, NULL, NULL, NULL, NULL, NULL)");
    char *before = view_text(pg, "r");
    cr_assert(strstr(before, "\"g\": null") != NULL && strstr(before, "\"n\": -9223372036854775808") != NULL, "%s",
              before);
    cr_assert_eq(rec_migrate(pg, err, sizeof err), 4, "%s", err);
    char *after = view_text(pg, "r");
    cr_assert_str_eq(after, before);
    free(before);
    free(after);
    /* packed: 8 bytes a number, 1 a bool, a presence bitmap only where some are absent */
    cr_assert_str_eq(sql1(pg, "select concat_ws(',', length(seq), length(time_ns), length(fval), length(ival),"
                              " length(uval), length(bval)) from farad.recording_blocks where part = 0"),
                     "24,24,49,24,25,4");
    cr_assert_str_eq(sql1(pg, "select farad.unpack_float8(farad.pack_float8(a), cardinality(a))::text = a::text"
                              " from (select '{1.5,NULL,-0.0,5e-324,NaN,-Infinity,Infinity,1.7976931348623157e308,"
                              "2.2250738585072014e-308,-1e-310,0.1}'::float8[] a) x"),
                     "t");
    cr_assert_str_eq(sql1(pg, "select farad.unpack_int8(farad.pack_int8(a), 4)::text"
                              " from (select '{-9223372036854775808,NULL,0,9223372036854775807}'::bigint[] a) x"),
                     "{-9223372036854775808,NULL,0,9223372036854775807}");
    cr_assert_str_eq(sql1(pg, "select farad.unpack_bool(farad.pack_bool('{t,NULL,f}'), 3)::text"), "{t,NULL,f}");
    /* SCHEMA.md's query for one field of a big recording */
    cr_assert_str_eq(sql1(pg, "select string_agg(u.t || '=' || coalesce(u.v::text, '-'), ',' order by u.t)"
                              " from farad.recording_blocks b,"
                              " lateral (select length(b.seq) / 8 as n, array_position(b.fkeys, 'g') as k) x,"
                              " unnest(farad.unpack_int8(b.time_ns, x.n), (farad.unpack_float8(b.fval,"
                              " cardinality(b.fkeys) * x.n))[(x.k - 1) * x.n + 1:x.k * x.n]) as u(t, v)"
                              " where b.recording_id = 'r' and b.measurement = 'cpu'"),
                     "-5=NaN,1700000000000000000=5e-324,1700000000000000001=-Infinity");

    /* and replayed from the packed columns */
    rec_blocks_rd_t *rd = NULL;
    eng_batch_t back;
    rec_read_out_t out;
    eng_batch_init(&back, 4096, 0);
    cr_assert_eq(rec_blocks_open(pg, S("r"), 0, -1, &rd, err, sizeof err), FA_OK, "%s", err);
    cr_assert_eq(rec_blocks_next(rd, 100, &back, &out, err, sizeof err), FA_OK, "%s", err);
    cr_assert_eq(back.n, 4);
    const eng_point_t *p = back.points;
    cr_assert(fa_str_eq(p[1].name, S("mem")) && p[1].n_fields == 0 && p[1].time == 42);
    cr_assert_eq(p[0].time, 1700000000000000000);
    cr_assert_eq(p[2].time, -5);
    cr_assert_eq(p[3].time, 1700000000000000001);
    cr_assert(field_of(&p[0], "f")->v.f == 1.5 && field_of(&p[0], "g")->v.f == 5e-324);
    cr_assert(field_of(&p[0], "n")->v.i == INT64_MIN && field_of(&p[0], "u")->v.u == UINT64_MAX - 4);
    cr_assert(fa_str_eq(field_of(&p[0], "s")->v.s, S("x")) && field_of(&p[0], "b")->v.b);
    cr_assert(field_of(&p[2], "f") == NULL && isnan(field_of(&p[2], "g")->v.f) && field_of(&p[2], "n")->v.i == -1);
    cr_assert(field_of(&p[2], "u") == NULL && field_of(&p[2], "s") == NULL && !field_of(&p[2], "b")->v.b);
    cr_assert_eq(p[2].n_fields, 3);
    const eng_field_t *f = field_of(&p[3], "f");
    cr_assert(f->v.type == ENG_FLOAT && f->v.f == 0 && signbit(f->v.f));
    cr_assert(isinf(field_of(&p[3], "g")->v.f) && field_of(&p[3], "g")->v.f < 0);
    cr_assert(field_of(&p[3], "n")->v.i == INT64_MAX && field_of(&p[3], "u")->v.u == 7);
    cr_assert(fa_str_eq(field_of(&p[3], "s")->v.s, S("q\"t")) && field_of(&p[3], "b") == NULL);
    cr_assert_eq(rec_blocks_next(rd, 100, &back, &out, err, sizeof err), FA_OK, "%s", err);
    cr_assert(out.eof);
    rec_blocks_close(rd);
    eng_batch_deinit(&back);
    PQfinish(pg);
    snprintf(sql, sizeof sql, "drop database mig4_%d", (int)getpid());
    sql_ok(admin, sql);
    PQfinish(admin);
}

Test(recorder, pool_keeps_healthy_idle_connections_and_replaces_dead_ones)
{
    char err[320], sql[128];
    rr_pool_t pool;
    rr_pool_init(&pool, test_dsn());
    PGconn *a = rr_pool_get(&pool, err, sizeof err);
    cr_assert(a != NULL, "%s", err);
    int pid = PQbackendPID(a);
    rr_pool_put(&pool, a);
    /* the same connection again */
    PGconn *b = rr_pool_get(&pool, err, sizeof err);
    cr_assert(b == a && PQbackendPID(b) == pid);
    /* one left in a transaction is closed, not kept */
    sql_ok(b, "begin");
    rr_pool_put(&pool, b);
    cr_assert_eq(pool.n, 0);
    /* one whose backend went away meanwhile is replaced by a new one */
    PGconn *c = rr_pool_get(&pool, err, sizeof err);
    cr_assert(c != NULL, "%s", err);
    pid = PQbackendPID(c);
    rr_pool_put(&pool, c);
    PGconn *admin = connect_dsn(test_dsn());
    snprintf(sql, sizeof sql, "select pg_terminate_backend(%d)", pid);
    cr_assert_str_eq(sql1(admin, sql), "t");
    PGconn *d = rr_pool_get(&pool, err, sizeof err);
    cr_assert(d != NULL, "%s", err);
    cr_assert_neq(PQbackendPID(d), pid);
    cr_assert_str_eq(sql1(d, "select 1"), "1");
    /* at most RR_POOL_IDLE idle: the oldest goes */
    PGconn *all[RR_POOL_IDLE + 1];
    all[0] = d;
    for (int i = 1; i <= RR_POOL_IDLE; i++) {
        all[i] = rr_pool_get(&pool, err, sizeof err);
        cr_assert(all[i] != NULL, "%s", err);
    }
    for (int i = 0; i <= RR_POOL_IDLE; i++)
        rr_pool_put(&pool, all[i]);
    cr_assert_eq(pool.n, RR_POOL_IDLE);
    cr_assert(pool.idle[0] == all[1] && pool.idle[RR_POOL_IDLE - 1] == all[RR_POOL_IDLE]);
    cr_assert(rr_pool_get(&pool, err, sizeof err) == all[RR_POOL_IDLE]); /* newest first */
    rr_pool_put(&pool, all[RR_POOL_IDLE]);
    /* idle too long: pruned, the others stay */
    pool.since[0] -= RR_POOL_MAX_IDLE_NS;
    pool.since[1] -= RR_POOL_MAX_IDLE_NS;
    rr_pool_prune(&pool);
    cr_assert_eq(pool.n, RR_POOL_IDLE - 2);
    cr_assert(pool.idle[0] == all[3]);
    rr_pool_deinit(&pool);
    PQfinish(admin);
}
