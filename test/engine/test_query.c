/* test/engine/test_query.c - the query node: ticks, bounds, Go-zero-time alignment, InfluxQL
 * rewriting, define-time errors, JSON answers as batches, feeding a task, batch replay. */
#include <criterion/criterion.h>
#include <inttypes.h>

#include "engine/batchquery.h"
#include "harness.h"

#define S_ 1000000000LL
#define M_ (60 * S_)
/* 2022-01-02T00:00:00Z, a Sunday */
#define DAY 1641081600000000000LL

static eng_harness_t h;

static const eng_query_t *build(const char *script)
{
    cr_assert_eq(eng_harness_new(&h, script, NULL, NULL), 0, "%u:%u: %s", h.err.pos.line, h.err.pos.col, h.err.msg);
    eng_node_t *n = eng_harness_node(&h, "query1");
    cr_assert_not_null(n);
    return eng_query_of(n);
}

static void fini(void) { eng_harness_free(&h); }
TestSuite(query, .fini = fini);

static const char *text_of(const eng_query_t *q, int64_t tick)
{
    static fa_buf_t b;
    int64_t start, stop;
    eng_query_bounds(q, tick, &start, &stop);
    fa_buf_clear(&b);
    cr_assert_eq(eng_query_text(q, start, stop, &b), 0);
    return fa_buf_cstr(&b);
}

Test(query, aligned_every_counts_from_go_zero_time)
{
    const eng_query_t *q = build("dbrp \"telegraf\".\"autogen\"\n"
                                 "batch|query('SELECT mean(\"usage_idle\") FROM \"telegraf\".\"autogen\".\"cpu\"')"
                                 ".period(10m).every(7m).offset(1m).align()\n");
    /* started at 00:03: the first tick is 00:05, then 00:12 (not 00:07, 00:14) */
    int64_t t1 = eng_query_next_tick(q, 0, DAY + 3 * M_);
    cr_assert_eq(t1, DAY + 5 * M_);
    int64_t t2 = eng_query_next_tick(q, t1, t1 + 1000);
    cr_assert_eq(t2, DAY + 12 * M_);
    int64_t start, stop;
    eng_query_bounds(q, t2, &start, &stop);
    cr_assert_eq(stop, DAY + 11 * M_);
    cr_assert_eq(start, DAY + 1 * M_);
    cr_assert_eq(eng_go_truncate(DAY + 13 * M_, 7 * M_), DAY + 12 * M_);
}

Test(query, unaligned_every_starts_from_now_and_skips_missed_ticks)
{
    const eng_query_t *q = build("dbrp \"db\".\"rp\"\nbatch|query('SELECT x FROM \"db\".\"rp\".m').period(1m).every(1m)\n");
    int64_t now = DAY + 3 * M_ + 17 * S_;
    int64_t t1 = eng_query_next_tick(q, 0, now);
    cr_assert_eq(t1, now + M_);
    /* on time: the next one */
    cr_assert_eq(eng_query_next_tick(q, t1, t1 + 5 * S_), t1 + M_);
    /* 3.5 minutes late: t1+1m..t1+3m are past; only the latest of them runs */
    cr_assert_eq(eng_query_next_tick(q, t1, t1 + 3 * M_ + 30 * S_), t1 + 3 * M_);
}

Test(query, cron_ticks)
{
    const eng_query_t *q = build("dbrp \"db\".\"rp\"\n"
                                 "batch|query('SELECT x FROM \"db\".\"rp\".m').period(5m).cron('*/15 * * * *')\n");
    cr_assert_eq(eng_query_next_tick(q, 0, DAY + 5 * M_ + 30 * S_), DAY + 15 * M_);
    cr_assert_eq(eng_query_next_tick(q, DAY + 15 * M_, DAY + 15 * M_ + 2 * S_), DAY + 30 * M_);
    /* late past 00:30 and 00:45: the 00:45 run only */
    cr_assert_eq(eng_query_next_tick(q, DAY + 15 * M_, DAY + 46 * M_), DAY + 45 * M_);
    /* seven fields with seconds */
    fini();
    q = build("dbrp \"db\".\"rp\"\nbatch|query('SELECT x FROM \"db\".\"rp\".m').period(5s).cron('*/5 * * * * * *')\n");
    cr_assert_eq(eng_query_next_tick(q, 0, DAY + 2 * S_), DAY + 5 * S_);
}

Test(query, text_replaces_group_by_and_fill_and_keeps_the_rest)
{
    const eng_query_t *q =
        build("dbrp \"telegraf\".\"autogen\"\n"
              "batch|query('''SELECT mean(\"usage_idle\") AS m FROM \"telegraf\".\"autogen\".\"cpu\" "
              "WHERE \"cpu\" = 'cpu-total' OR \"note\" = 'GROUP BY x' GROUP BY \"region\" fill(none) LIMIT 10''')"
              ".period(10m).every(1m).offset(1m).groupBy(time(1m), 'host').fill(0)\n");
    cr_assert_str_eq(text_of(q, DAY + 5 * M_),
                     "SELECT mean(\"usage_idle\") AS m FROM \"telegraf\".\"autogen\".\"cpu\" "
                     "WHERE time >= '2022-01-01T23:54:00Z' AND time < '2022-01-02T00:04:00Z' "
                     "AND (\"cpu\" = 'cpu-total' OR \"note\" = 'GROUP BY x') GROUP BY time(1m), \"host\" fill(0) LIMIT 10");
}

Test(query, text_without_group_by_drops_the_written_one)
{
    const eng_query_t *q = build("dbrp \"db\".\"rp\"\n"
                                 "batch|query('select max(v) from \"db\".\"rp\".m group by time(1m), host fill(previous);')"
                                 ".period(90s).every(1m)\n");
    cr_assert_str_eq(text_of(q, DAY + 500 * 1000000LL),
                     "select max(v) from \"db\".\"rp\".m WHERE time >= '2022-01-01T23:58:30.5Z' AND time < "
                     "'2022-01-02T00:00:00.5Z'");
}

Test(query, align_group_offsets_the_time_buckets_to_the_start)
{
    const eng_query_t *q = build("dbrp \"db\".\"rp\"\n"
                                 "batch|query('SELECT mean(v) FROM \"db\".\"rp\".m WHERE a =~ /x,y/')"
                                 ".period(10m).every(7m).align().alignGroup().groupBy(time(5m), *).fill('linear')"
                                 ".groupByMeasurement()\n");
    /* tick 00:12, start 00:02: buckets offset by 2m */
    cr_assert_str_eq(text_of(q, DAY + 12 * M_),
                     "SELECT mean(v) FROM \"db\".\"rp\".m WHERE time >= '2022-01-02T00:02:00Z' AND time < "
                     "'2022-01-02T00:12:00Z' AND (a =~ /x,y/) GROUP BY time(5m, 2m), * fill(linear)");
    cr_assert(q->by_name);
    cr_assert(q->group_star);
}

Test(query, sources_and_subqueries)
{
    const eng_query_t *q = build("dbrp \"db\".\"rp\"\ndbrp \"other\".\"autogen\"\n"
                                 "batch|query('SELECT max(m) FROM (SELECT mean(v) AS m FROM \"db\".\"rp\".a, other..\"b c\" "
                                 "GROUP BY time(1m)), db.rp./cpu.*/').period(1m).every(1m)\n");
    cr_assert_eq(q->n_sources, 3);
    cr_assert(fa_str_eq_c(q->sources[0].db, "db") && fa_str_eq_c(q->sources[0].measurement, "a"));
    cr_assert(fa_str_eq_c(q->sources[1].db, "other") && q->sources[1].rp.len == 0);
    cr_assert(fa_str_eq_c(q->sources[1].measurement, "b c"));
    cr_assert(fa_str_eq_c(q->sources[2].measurement, "/cpu.*/"));
}

static void define_fails(const char *script, uint32_t line, uint32_t col, const char *msg)
{
    eng_task_t *t = NULL;
    tick_err_t err;
    cr_assert_eq(eng_task_new("t", script, strlen(script), NULL, 0, NULL, &t, &err), -1, "defined: %s", script);
    cr_assert_str_eq(err.msg, msg);
    cr_assert_eq(err.pos.line, line, "line %u, want %u (%s)", err.pos.line, line, err.msg);
    cr_assert_eq(err.pos.col, col, "col %u, want %u (%s)", err.pos.col, col, err.msg);
}

Test(query, define_time_errors_with_position)
{
    define_fails("dbrp \"db\".\"rp\"\nbatch|query('SELECT v FROM \"db\".\"rp\".m').period(1m).every(1m).fill('nothing')\n",
                 2, 68, "query1: unexpected fill option nothing: want null, none, previous, linear or a number");
    define_fails("dbrp \"db\".\"rp\"\nbatch|query('SELECT v FROM \"other\".\"rp\".m').period(1m).every(1m)\n", 2, 28,
                 "query1: query reads \"other\".\"rp\", which is not among the task's dbrps (\"db\".\"rp\")");
    define_fails("dbrp \"db\".\"rp\"\nbatch|query('SELECT v FROM m').period(1m).every(1m)\n", 2, 28,
                 "query1: query source m must name its database and retention policy (\"db\".\"rp\".measurement)");
    define_fails("dbrp \"db\".\"rp\"\nbatch|query('SELECT v FROM \"db\".\"rp\".m').period(1m).every(1m).cron('* * * * *')\n",
                 2, 63, "query1: must not set both 'every' and 'cron'");
    define_fails("dbrp \"db\".\"rp\"\nbatch|query('SELECT v FROM \"db\".\"rp\".m').period(1m).cron('0 25 * * *')\n", 2, 61,
                 "query1: cron hour field: 25 is out of range 0-23");
    define_fails("dbrp \"db\".\"rp\"\nbatch|query('DROP DATABASE db').period(1m).every(1m)\n", 2, 14,
                 "query1: a batch query must be a SELECT statement");
    define_fails("dbrp \"db\".\"rp\"\nbatch|query('SELECT v FROM \"db\".\"rp\".m; DROP DATABASE db').period(1m).every(1m)\n", 2,
                 41, "query1: a batch query must be a single statement");
    define_fails("dbrp \"db\".\"rp\"\nbatch|query('SELECT v FROM \"db\".\"rp\".m').every(1m)\n", 2, 7,
                 "query1: period must be set and greater than 0");
}

Test(query, json_answer_as_batches)
{
    const eng_query_t *q = build("dbrp \"db\".\"rp\"\n"
                                 "batch|query('SELECT mean(v) FROM \"db\".\"rp\".cpu').period(1m).every(1m).groupBy(time(10s), 'host')\n");
    eng_node_t *n = eng_harness_node(&h, "query1");
    static const char json[] =
        "{\"results\":[{\"statement_id\":0,\"series\":["
        "{\"name\":\"cpu\",\"tags\":{\"host\":\"b\"},\"columns\":[\"time\",\"mean\",\"count\",\"s\",\"ok\"],"
        "\"values\":[[1641081600000000000,1.5,3,\"x\",true],[1641081610000000000,null,null,null,null],"
        "[1641081620000000000,null,7,null,false]]},"
        "{\"name\":\"cpu\",\"tags\":{\"host\":\"a\"},\"columns\":[\"time\",\"mean\"],"
        "\"values\":[[\"2022-01-02T00:00:05.25Z\",2]]}]}]}";
    fa_arena_t a;
    fa_arena_init(&a, 4096, 0);
    eng_rows_t *rows;
    uint32_t nr;
    char err[200] = "";
    cr_assert_eq(eng_query_parse(fa_str_c(json), q, eng_dims_new(&a, (fa_str_t[]){ FA_STR_LIT("host") }, 1, false), DAY + M_, &a, &rows, &nr, err, sizeof err), 0,
                 "%s", err);
    cr_assert_eq(nr, 2);
    cr_assert_eq(rows[0].n, 2, "the all-null row is dropped");
    cr_assert_eq(rows[0].tmax, 1641081620000000000, "grouped by time: the last point's time");
    cr_assert_eq(rows[0].points[0].n_fields, 4);
    cr_assert_eq(rows[0].points[0].fields[1].v.type, ENG_FLOAT, "numbers read back are floats");
    cr_assert_eq(rows[0].points[0].fields[1].v.f, 3.0);
    cr_assert_eq(rows[0].points[1].n_fields, 2, "nulls are left out");
    cr_assert(fa_str_eq_c(rows[0].points[1].fields[0].key, "count"));
    cr_assert_eq(rows[0].points[1].fields[1].v.type, ENG_BOOL);
    cr_assert_eq(rows[1].points[0].time, 1641081605250000000);
    cr_assert_eq(rows[1].points[0].fields[0].v.f, 2.0);
    cr_assert(fa_str_eq_c(rows[1].tags[0].value, "a"));
    cr_assert_neq(rows[0].group, rows[1].group);
    (void)n;
    static const char bad[] = "{\"results\":[{\"statement_id\":0,\"error\":\"database not found: nope\"}]}";
    cr_assert_eq(eng_query_parse(fa_str_c(bad), q, NULL, DAY, &a, &rows, &nr, err, sizeof err), -1);
    cr_assert_str_eq(err, "database not found: nope");
    cr_assert_eq(eng_query_parse(fa_str_c("<html>"), q, NULL, DAY, &a, &rows, &nr, err, sizeof err), -1);
    fa_arena_deinit(&a);
}

Test(query, feed_emits_batches_with_group_keys_and_counts)
{
    build("dbrp \"db\".\"rp\"\n"
          "batch|query('SELECT mean(v) AS v FROM \"db\".\"rp\".cpu').period(1m).every(1m).groupBy('host')\n"
          "|where(lambda: \"v\" > 1.0)\n");
    eng_node_t *n = eng_harness_node(&h, "query1");
    h.show_groups = true;
    static const char json[] =
        "{\"results\":[{\"statement_id\":0,\"series\":["
        "{\"name\":\"cpu\",\"tags\":{\"host\":\"a\"},\"columns\":[\"time\",\"v\"],\"values\":[[1641081540000000000,0.5]]},"
        "{\"name\":\"cpu\",\"tags\":{\"host\":\"b\"},\"columns\":[\"time\",\"v\"],\"values\":[[1641081540000000000,4]]}]}]}";
    cr_assert_eq(eng_query_feed(n, fa_str_c(json), DAY - M_, DAY), 2);
    cr_assert_str_eq(eng_harness_out(&h), "where2: rows cpu,host=a tmax=1641081600000000000 n=0\n"
                                          "where2: rows cpu,host=b tmax=1641081600000000000 n=1\n"
                                          "where2:   cpu,host=b v=4 1641081540000000000\n");
    cr_assert_eq(atomic_load(&n->stats.own[ENG_QUERY_BATCHES]), 2);
    cr_assert_eq(atomic_load(&n->stats.own[ENG_QUERY_POINTS]), 2);
    cr_assert_eq(atomic_load(&n->stats.emitted), 2);
    cr_assert_eq(h.task->now, DAY);
    eng_query_fail(n, DAY - M_, DAY, "timeout after 1s");
    cr_assert_eq(eng_query_feed(n, fa_str_c("{\"error\":\"boom\"}"), DAY - M_, DAY), -1);
    cr_assert_eq(atomic_load(&n->stats.errors), 2);
    cr_assert_eq(atomic_load(&n->stats.own[ENG_QUERY_ERRORS]), 2);
    eng_query_skipped(n, 3);
    cr_assert_eq(atomic_load(&n->stats.own[ENG_QUERY_SKIPPED]), 3);
}

struct replay_log {
    fa_buf_t texts;
    int calls;
};

static int replay_fn(void *ud, const eng_node_t *n, const char *q, fa_buf_t *body, char *err, size_t errlen)
{
    struct replay_log *l = ud;
    fa_buf_appendf(&l->texts, "%s: %s\n", n->name, q);
    if (++l->calls == 2) {
        snprintf(err, errlen, "connection refused");
        return -1;
    }
    return fa_buf_appendf(body, "{\"results\":[{\"series\":[{\"name\":\"m\",\"columns\":[\"time\",\"v\"],\"values\":[[%d,%d]]}]}]}",
                          l->calls, l->calls);
}

Test(query, replay_runs_every_tick_up_to_and_including_stop)
{
    build("dbrp \"db\".\"rp\"\nbatch|query('SELECT v FROM \"db\".\"rp\".m').period(1m).every(1m)\n");
    struct replay_log l = { FA_BUF_INIT, 0 };
    cr_assert_eq(eng_query_replay(h.task, DAY, DAY + 3 * M_, replay_fn, &l), 4);
    cr_assert_str_eq(fa_buf_cstr(&l.texts),
                     "query1: SELECT v FROM \"db\".\"rp\".m WHERE time >= '2022-01-01T23:59:00Z' AND time < '2022-01-02T00:00:00Z'\n"
                     "query1: SELECT v FROM \"db\".\"rp\".m WHERE time >= '2022-01-02T00:00:00Z' AND time < '2022-01-02T00:01:00Z'\n"
                     "query1: SELECT v FROM \"db\".\"rp\".m WHERE time >= '2022-01-02T00:01:00Z' AND time < '2022-01-02T00:02:00Z'\n"
                     "query1: SELECT v FROM \"db\".\"rp\".m WHERE time >= '2022-01-02T00:02:00Z' AND time < '2022-01-02T00:03:00Z'\n");
    cr_assert_str_eq(eng_harness_out(&h), "query1: rows m tmax=1641081600000000000 n=1\nquery1:   m v=1 1\n"
                                          "query1: rows m tmax=1641081720000000000 n=1\nquery1:   m v=3 3\n"
                                          "query1: rows m tmax=1641081780000000000 n=1\nquery1:   m v=4 4\n");
    eng_node_t *n = eng_harness_node(&h, "query1");
    cr_assert_eq(atomic_load(&n->stats.own[ENG_QUERY_ERRORS]), 1);
    fa_buf_deinit(&l.texts);
}

Test(query, fill_options)
{
    static const struct {
        const char *prop, *want;
    } cases[] = {
        { ".fill('none')", " fill(none)" },   { ".fill('previous')", " fill(previous)" },
        { ".fill('linear')", " fill(linear)" }, { ".fill(0)", " fill(0)" },
        { ".fill(-1.5)", " fill(-1.5)" },      { ".fill(0.1)", " fill(0.1)" },      { ".fill('null')", "" },
        { "", "" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char script[300];
        snprintf(script, sizeof script,
                 "dbrp \"db\".\"rp\"\nbatch|query('SELECT mean(v) FROM \"db\".\"rp\".m').period(1m).every(1m)"
                 ".groupBy(time(10s))%s\n",
                 cases[i].prop);
        const eng_query_t *q = build(script);
        char want[300];
        snprintf(want, sizeof want,
                 "SELECT mean(v) FROM \"db\".\"rp\".m WHERE time >= '2022-01-01T23:59:00Z' AND time < '2022-01-02T00:00:00Z' "
                 "GROUP BY time(10s)%s",
                 cases[i].want);
        cr_assert_str_eq(text_of(q, DAY), want, "%s", cases[i].prop);
        fini();
    }
}

Test(query, rfc3339_times_read_back)
{
    int64_t t;
    cr_assert_eq(eng_rfc3339_parse(fa_str_c("2022-01-02T00:05:00Z"), &t), 0);
    cr_assert_eq(t, DAY + 5 * M_);
    cr_assert_eq(eng_rfc3339_parse(fa_str_c("2022-01-02T01:05:00.000000001+01:00"), &t), 0);
    cr_assert_eq(t, DAY + 5 * M_ + 1);
    cr_assert_eq(eng_rfc3339_parse(fa_str_c("2022-01-02 00:05"), &t), -1);
    fa_buf_t b = FA_BUF_INIT;
    eng_rfc3339(&b, DAY + 5 * M_ + 250000000);
    cr_assert_str_eq(fa_buf_cstr(&b), "2022-01-02T00:05:00.25Z");
    fa_buf_deinit(&b);
}

Test(query, replay_follows_cron_ticks)
{
    build("dbrp \"db\".\"rp\"\nbatch|query('SELECT v FROM \"db\".\"rp\".m').period(10m).offset(5m).cron('0 */10 * * * * *')\n");
    struct replay_log l = { FA_BUF_INIT, 0 };
    l.calls = 10; /* no failure on the 2nd call */
    /* [00:03, 00:30]: cron ticks 00:10, 00:20, 00:30 */
    cr_assert_eq(eng_query_replay(h.task, DAY + 3 * M_, DAY + 30 * M_, replay_fn, &l), 3);
    cr_assert_str_eq(fa_buf_cstr(&l.texts),
                     "query1: SELECT v FROM \"db\".\"rp\".m WHERE time >= '2022-01-01T23:55:00Z' AND time < '2022-01-02T00:05:00Z'\n"
                     "query1: SELECT v FROM \"db\".\"rp\".m WHERE time >= '2022-01-02T00:05:00Z' AND time < '2022-01-02T00:15:00Z'\n"
                     "query1: SELECT v FROM \"db\".\"rp\".m WHERE time >= '2022-01-02T00:15:00Z' AND time < '2022-01-02T00:25:00Z'\n");
    fa_buf_deinit(&l.texts);
}
