/* test/engine/test_query_tap.c - batch replay with a tap (what batch recordings use), query nodes
 * by index, and recorded batches emitted back into a task (what a batch replay uses). */
#include <criterion/criterion.h>
#include <inttypes.h>

#include "engine/batchquery.h"
#include "engine/group.h"
#include "harness.h"

#define S_ ((int64_t)1000000000)
#define M_ ((int64_t)60 * S_)
/* 2022-01-02T00:00:00Z */
#define DAY ((int64_t)1641081600000000000LL)

static eng_harness_t h;

static void fini(void) { eng_harness_free(&h); }
TestSuite(query_tap, .fini = fini);

static const char two_queries[] =
    "dbrp \"db\".\"rp\"\n"
    "var a = batch|query('SELECT v FROM \"db\".\"rp\".m').period(1m).every(1m).groupBy('host')\n"
    "var b = batch|query('SELECT w FROM \"db\".\"rp\".n').period(2m).every(2m)\n"
    "a|where(lambda: \"v\" > 0.0)\n"
    "b|where(lambda: \"w\" > 0.0)\n";

struct tap_log {
    fa_buf_t out;
    int calls, fail_at;
};

/* Answers every query with two series (hosts x, y) whose value is the call number. */
static int answer_fn(void *ud, const eng_node_t *n, const char *q, fa_buf_t *body, char *err, size_t errlen)
{
    struct tap_log *l = ud;
    (void)q;
    int c = ++l->calls;
    if (c == l->fail_at) {
        snprintf(err, errlen, "connection refused");
        return -1;
    }
    if (strcmp(n->name, "query1") == 0)
        return fa_buf_appendf(body,
                              "{\"results\":[{\"series\":["
                              "{\"name\":\"m\",\"tags\":{\"host\":\"x\"},\"columns\":[\"time\",\"v\"],\"values\":[[%d,%d]]},"
                              "{\"name\":\"m\",\"tags\":{\"host\":\"y\"},\"columns\":[\"time\",\"v\"],\"values\":[[%d,%d],[%d,%d]]}]}]}",
                              c, c, c, c, c + 1, c);
    return fa_buf_appendf(body, "{\"results\":[{\"series\":[{\"name\":\"n\",\"columns\":[\"time\",\"w\"],\"values\":[[%d,%d]]}]}]}",
                          c, c);
}

static void tap_fn(void *ud, eng_node_t *n, uint32_t index, const eng_rows_t *b, int64_t start, int64_t stop)
{
    struct tap_log *l = ud;
    fa_buf_t g = FA_BUF_INIT;
    eng_point_t key = { .name = b->name, .tags = b->tags, .n_tags = b->n_tags };
    fa_str_t gs = eng_group_string(&key, b->dims, &g);
    fa_buf_appendf(&l->out, "%s #%u [%" PRId64 ",%" PRId64 ") group=%.*s tmax=%" PRId64 " n=%u first=%" PRId64 "\n",
                   n->name, index, (start - DAY) / M_, (stop - DAY) / M_, (int)gs.len, gs.ptr ? gs.ptr : "",
                   (b->tmax - DAY) / M_, b->n, b->points[0].time);
    fa_buf_deinit(&g);
}

Test(query_tap, tap_sees_every_batch_in_tick_order_with_the_node_index)
{
    cr_assert_eq(eng_harness_new(&h, two_queries, NULL, NULL), 0, "%s", h.err.msg);
    struct tap_log l = { .out = FA_BUF_INIT };
    eng_query_replay_opts_t o = { .fn = answer_fn, .tap = tap_fn, .feed = false, .ud = &l };
    char err[200];
    /* [00:00, 00:02]: query1 at 0, 1, 2; query2 at 0, 2 (query1 first on equal ticks) */
    cr_assert_eq(eng_query_replay_with(h.task, DAY, DAY + 2 * M_, &o, err, sizeof err), 5, "%s", err);
    cr_assert_str_eq(fa_buf_cstr(&l.out), "query1 #0 [-1,0) group=host=x tmax=0 n=1 first=1\n"
                                          "query1 #0 [-1,0) group=host=y tmax=0 n=2 first=1\n"
                                          "query2 #1 [-2,0) group= tmax=0 n=1 first=2\n"
                                          "query1 #0 [0,1) group=host=x tmax=1 n=1 first=3\n"
                                          "query1 #0 [0,1) group=host=y tmax=1 n=2 first=3\n"
                                          "query1 #0 [1,2) group=host=x tmax=2 n=1 first=4\n"
                                          "query1 #0 [1,2) group=host=y tmax=2 n=2 first=4\n"
                                          "query2 #1 [0,2) group= tmax=2 n=1 first=5\n");
    /* feed false: the children saw nothing, nothing counted (the tap owns the batches) */
    cr_assert_str_eq(eng_harness_out(&h), "");
    cr_assert_eq(atomic_load(&eng_query_node(h.task, 0)->stats.own[ENG_QUERY_BATCHES]), 0);
    cr_assert_eq(atomic_load(&eng_query_node(h.task, 1)->stats.own[ENG_QUERY_POINTS]), 0);
    cr_assert_eq(h.task->now, DAY + 2 * M_);
    cr_assert_str_eq(eng_query_node(h.task, 1)->name, "query2");
    cr_assert_null(eng_query_node(h.task, 2));
    fa_buf_deinit(&l.out);
}

Test(query_tap, tap_and_feed_together)
{
    cr_assert_eq(eng_harness_new(&h, two_queries, NULL, NULL), 0, "%s", h.err.msg);
    struct tap_log l = { .out = FA_BUF_INIT };
    eng_query_replay_opts_t o = { .fn = answer_fn, .tap = tap_fn, .feed = true, .ud = &l };
    char err[200];
    cr_assert_eq(eng_query_replay_with(h.task, DAY, DAY, &o, err, sizeof err), 2, "%s", err);
    cr_assert_str_eq(eng_harness_out(&h), "where3: rows m,host=x tmax=1641081600000000000 n=1\nwhere3:   m,host=x v=1 1\n"
                                          "where3: rows m,host=y tmax=1641081600000000000 n=2\nwhere3:   m,host=y v=1 1\n"
                                          "where3:   m,host=y v=1 2\n"
                                          "where4: rows n tmax=1641081600000000000 n=1\nwhere4:   n w=2 2\n");
    cr_assert_eq(atomic_load(&eng_query_node(h.task, 0)->stats.own[ENG_QUERY_BATCHES]), 2);
    cr_assert_str_eq(fa_buf_cstr(&l.out), "query1 #0 [-1,0) group=host=x tmax=0 n=1 first=1\n"
                                          "query1 #0 [-1,0) group=host=y tmax=0 n=2 first=1\n"
                                          "query2 #1 [-2,0) group= tmax=0 n=1 first=2\n");
    fa_buf_deinit(&l.out);
}

Test(query_tap, stop_on_error_ends_at_the_first_failed_run)
{
    cr_assert_eq(eng_harness_new(&h, two_queries, NULL, NULL), 0, "%s", h.err.msg);
    struct tap_log l = { .out = FA_BUF_INIT, .fail_at = 3 };
    eng_query_replay_opts_t o = { .fn = answer_fn, .tap = tap_fn, .feed = false, .stop_on_error = true, .ud = &l };
    char err[200];
    cr_assert_eq(eng_query_replay_with(h.task, DAY, DAY + 2 * M_, &o, err, sizeof err), -1);
    cr_assert_str_eq(err, "query1: query over [2022-01-02T00:00:00Z, 2022-01-02T00:01:00Z) failed: connection refused");
    cr_assert_eq(l.calls, 3);
    /* without stop_on_error it goes on and counts the error */
    fa_buf_clear(&l.out);
    l.calls = 0;
    o.stop_on_error = false;
    cr_assert_eq(eng_query_replay_with(h.task, DAY, DAY + 2 * M_, &o, err, sizeof err), 5);
    cr_assert_eq(atomic_load(&eng_query_node(h.task, 0)->stats.own[ENG_QUERY_ERRORS]), 2);
    /* an error inside InfluxDB's answer is a failed run too */
    fini();
    fa_buf_deinit(&l.out);
}

static int error_fn(void *ud, const eng_node_t *n, const char *q, fa_buf_t *body, char *err, size_t errlen)
{
    (void)ud, (void)n, (void)q, (void)err, (void)errlen;
    return fa_buf_append_c(body, "{\"results\":[{\"statement_id\":0,\"error\":\"database not found: db\"}]}");
}

Test(query_tap, an_error_answer_fails_the_run)
{
    cr_assert_eq(eng_harness_new(&h, two_queries, NULL, NULL), 0, "%s", h.err.msg);
    eng_query_replay_opts_t o = { .fn = error_fn, .stop_on_error = true };
    char err[200];
    cr_assert_eq(eng_query_replay_with(h.task, DAY, DAY, &o, err, sizeof err), -1);
    cr_assert_str_eq(err, "query1: query over [2022-01-01T23:59:00Z, 2022-01-02T00:00:00Z) failed: database not found: db");
}

Test(query_tap, recorded_batches_go_back_in_as_batches_with_their_group)
{
    cr_assert_eq(eng_harness_new(&h, two_queries, NULL, NULL), 0, "%s", h.err.msg);
    h.show_groups = true;
    eng_harness_feed(&h, "m,host=y v=3 100\nm,host=y v=0 200\n");
    eng_batch_t *b = &h.batch;
    cr_assert_eq(b->n, 2);
    eng_query_emit(eng_query_node(h.task, 0), b->points, b->n, DAY + M_);
    cr_assert_str_eq(eng_harness_out(&h), "where3: rows m,host=y tmax=1641081660000000000 n=1\n"
                                          "where3:   m,host=y v=3 100\n");
    cr_assert_eq(h.task->now, DAY + M_);
    cr_assert_eq(atomic_load(&eng_query_node(h.task, 0)->stats.own[ENG_QUERY_POINTS]), 2);
    /* nothing for an empty batch */
    eng_query_emit(eng_query_node(h.task, 1), b->points, 0, DAY + 5 * M_);
    cr_assert_eq(h.task->now, DAY + M_);
}

/* query1's answer: host z's rows all null (a batch without points), host y one point. */
static int null_fn(void *ud, const eng_node_t *n, const char *q, fa_buf_t *body, char *err, size_t errlen)
{
    (void)ud, (void)q, (void)err, (void)errlen;
    if (strcmp(n->name, "query1") != 0)
        return fa_buf_append_c(body, "{\"results\":[{\"statement_id\":0}]}");
    return fa_buf_append_c(body, "{\"results\":[{\"series\":["
                                 "{\"name\":\"m\",\"tags\":{\"host\":\"z\"},\"columns\":[\"time\",\"v\"],\"values\":[[5,null]]},"
                                 "{\"name\":\"m\",\"tags\":{\"host\":\"y\"},\"columns\":[\"time\",\"v\"],\"values\":[[7,2]]}]}]}");
}

/* What replay-live batch does: a batch without points goes on as it is, one with points as a copy. */
static void reemit_fn(void *ud, eng_node_t *n, uint32_t index, const eng_rows_t *b, int64_t start, int64_t stop)
{
    (void)ud, (void)index, (void)start;
    if (b->n == 0)
        eng_query_emit_empty(n, b, stop + S_);
    else
        eng_query_emit(n, b->points, b->n, stop);
}

Test(query_tap, a_batch_without_points_is_emitted_with_its_group_and_time)
{
    cr_assert_eq(eng_harness_new(&h, two_queries, NULL, NULL), 0, "%s", h.err.msg);
    h.show_groups = true;
    eng_query_replay_opts_t o = { .fn = null_fn, .tap = reemit_fn, .feed = false, .stop_on_error = true };
    char err[200];
    cr_assert_eq(eng_query_replay_with(h.task, DAY, DAY, &o, err, sizeof err), 2, "%s", err); /* a run of each node */
    cr_assert_str_eq(eng_harness_out(&h), "where3: rows m,host=z tmax=1641081601000000000 n=0\n"
                                          "where3: rows m,host=y tmax=1641081600000000000 n=1\n"
                                          "where3:   m,host=y v=2 7\n");
    cr_assert_eq(atomic_load(&eng_query_node(h.task, 0)->stats.own[ENG_QUERY_BATCHES]), 2);
    cr_assert_eq(atomic_load(&eng_query_node(h.task, 0)->stats.own[ENG_QUERY_POINTS]), 1);
    cr_assert_eq(h.task->now, DAY + S_); /* the empty batch's time moved the task's */
}
