/* test/engine/test_node_output.c - engine/node_output.c: log(), httpOut() (including reads from
 * another thread) and influxDBOut() buffering. Expected text worked out by hand. */
#include <criterion/criterion.h>
#include <pthread.h>

#include "engine/nodes.h"
#include "test/engine/harness.h"

static eng_harness_t h;

static void run(const char *script, const char *lp)
{
    cr_assert_eq(eng_harness_new(&h, script, "db", "rp"), 0, "%s", h.err.msg);
    eng_harness_feed(&h, lp);
}

static void fini(void) { eng_harness_free(&h); }
TestSuite(node_output, .fini = fini);

Test(node_output, log_writes_logfmt_lines_and_passes_points_on)
{
    run("stream|from().groupBy('host')|log().prefix('P').level('warn')\n",
        "cpu,host=a v=1.5,s=\"a b\",n=3i,big=1e21,ok=true 1000000000\n");
    cr_assert_str_eq(eng_harness_out(&h),
                     "log log2: lvl=warn msg=point prefix=P name=cpu group=\"host=a\" dimension_0=host tag_host=a "
                     "field_v=1.5 field_s=\"a b\" field_n=3 field_big=1000000000000000000000 field_ok=true "
                     "time=1970-01-01T00:00:01Z\n"
                     "log2: cpu,host=a v=1.5,s=\"a b\",n=3i,big=1000000000000000000000,ok=true 1000000000\n");
}

Test(node_output, log_rejects_unknown_level)
{
    cr_assert_eq(eng_harness_new(&h, "stream|from()|log().level('loud')\n", "db", "rp"), -1);
    cr_assert_str_eq(h.err.msg, "log: invalid level \"loud\": want DEBUG, INFO, WARN or ERROR");
}

Test(node_output, http_out_keeps_latest_row_per_group_in_first_seen_order)
{
    run("stream|from().groupBy('host')|httpOut('top')\n", "");
    const eng_node_t *n = eng_httpout_find(h.task, FA_STR_LIT("top"));
    cr_assert_not_null(n);
    cr_assert_null(eng_httpout_find(h.task, FA_STR_LIT("other")));
    fa_buf_t b = FA_BUF_INIT;
    eng_httpout_read(n, &b);
    cr_assert_str_eq(fa_buf_cstr(&b), "{\"series\":null}");
    eng_harness_feed(&h, "cpu,host=b v=1 1500000000\ncpu,host=a v=2,s=\"<&>\" 2000000000\ncpu,host=b v=1e-7 2250000000\n");
    fa_buf_clear(&b);
    eng_httpout_read(n, &b);
    cr_assert_str_eq(fa_buf_cstr(&b),
                     "{\"series\":[{\"name\":\"cpu\",\"tags\":{\"host\":\"b\"},\"columns\":[\"time\",\"v\"],"
                     "\"values\":[[\"1970-01-01T00:00:02.25Z\",1e-7]]},"
                     "{\"name\":\"cpu\",\"tags\":{\"host\":\"a\"},\"columns\":[\"time\",\"s\",\"v\"],"
                     "\"values\":[[\"1970-01-01T00:00:02Z\",\"\\u003c\\u0026\\u003e\",2]]}]}");
    /* every update also went to env->output */
    cr_assert(strstr(eng_harness_out(&h), "httpOut http_out2: {\"series\":[{\"name\":\"cpu\",\"tags\":{\"host\":\"b\"},"
                                          "\"columns\":[\"time\",\"v\"],\"values\":[[\"1970-01-01T00:00:01.5Z\",1]]}]}\n") != NULL);
    fa_buf_deinit(&b);
}

static atomic_bool stop;
static void *reader(void *arg)
{
    const eng_node_t *n = arg;
    fa_buf_t b = FA_BUF_INIT;
    long bad = 0, reads = 0;
    while (!atomic_load(&stop) || reads < 10) {
        fa_buf_clear(&b);
        eng_httpout_read(n, &b);
        const char *s = fa_buf_cstr(&b);
        size_t len = strlen(s);
        if (strncmp(s, "{\"series\":", 10) != 0 || s[len - 1] != '}')
            bad++;
        reads++;
    }
    fa_buf_deinit(&b);
    return (void *)bad;
}

Test(node_output, http_out_reads_from_another_thread_see_whole_results, .timeout = 30)
{
    run("stream|from().groupBy('host')|httpOut('x')\n", "");
    const eng_node_t *n = eng_httpout_find(h.task, FA_STR_LIT("x"));
    pthread_t th;
    atomic_store(&stop, false);
    pthread_create(&th, NULL, reader, (void *)n);
    char line[128];
    for (int i = 0; i < 5000; i++) {
        snprintf(line, sizeof line, "cpu,host=h%d v=%d %d\n", i % 7, i, i);
        eng_harness_feed(&h, line);
        eng_harness_clear(&h);
    }
    atomic_store(&stop, true);
    void *bad;
    pthread_join(th, &bad);
    cr_assert_eq((long)bad, 0);
    fa_buf_t b = FA_BUF_INIT;
    eng_httpout_read(n, &b);
    cr_assert(strstr(fa_buf_cstr(&b), "\"tags\":{\"host\":\"h3\"},\"columns\":[\"time\",\"v\"],\"values\":[[\"1970-01-01T00:00:00.000004994Z\",4994]]") != NULL, "%s", fa_buf_cstr(&b));
    fa_buf_deinit(&b);
}

Test(node_output, influxdb_out_buffers_then_flushes_on_size_and_interval)
{
    run("stream|from()|influxDBOut().database('out').retentionPolicy('autogen').measurement('m2')"
        ".tag('src', 'farad').tag('host', 'forced').buffer(2).flushInterval(10s).precision('s')\n",
        "cpu,host=a,zone=z v=1 1500000000\n");
    cr_assert_str_eq(eng_harness_out(&h), "");
    eng_harness_feed(&h, "cpu v=2i 2000000000\ncpu v=3 3000000000\n");
    cr_assert_str_eq(eng_harness_out(&h), "write out.autogen influxdb_out2: m2,host=forced,src=farad,zone=z v=1 1000000000\n"
                                          "write out.autogen influxdb_out2: m2,host=forced,src=farad v=2i 2000000000\n");
    eng_harness_clear(&h);
    eng_harness_advance(&h, 12999999999);
    cr_assert_str_eq(eng_harness_out(&h), "");
    eng_harness_advance(&h, 13000000000);
    cr_assert_str_eq(eng_harness_out(&h), "write out.autogen influxdb_out2: m2,host=forced,src=farad v=3 3000000000\n");
    eng_node_t *n = eng_harness_node(&h, "influxdb_out2");
    cr_assert_eq(atomic_load(&n->stats.own[0]), 3);
    const eng_influxdbout_opts_t *o = eng_influxdbout_opts(n);
    cr_assert_not_null(o);
    cr_assert_eq(o->create, false);
    cr_assert(fa_str_eq_c(o->precision, "s"));
}

static int written;
static void count_write(void *ud, eng_node_t *n, fa_str_t db, fa_str_t rp, const eng_point_t *pts, uint32_t n_pts)
{
    written += (int)n_pts;
}

Test(node_output, influxdb_out_hands_over_the_rest_when_the_task_stops)
{
    run("stream|from()|influxDBOut().database('out').create().writeConsistency('all')\n", "cpu v=1 1\ncpu v=2 2\n");
    h.env.write_points = count_write;
    written = 0;
    const eng_influxdbout_opts_t *o = eng_influxdbout_opts(eng_harness_node(&h, "influxdb_out2"));
    cr_assert(o->create);
    cr_assert(fa_str_eq_c(o->consistency, "all"));
    eng_task_free(h.task);
    h.task = NULL;
    cr_assert_eq(written, 2);
}
