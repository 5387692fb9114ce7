/* test/proxy/test_outwriter.c - proxy/outwriter.c against a loopback HTTP receiver: line
 * protocol to /write with db, rp, consistency; CREATE DATABASE first; retry on 5xx; 4xx dropped. */
#include <criterion/criterion.h>

#include "proxy/outwriter.h"
#include "test/engine/harness.h"
#include "test/engine/http_sink.h"

static http_sink_t sink;
static fa_conf_t conf;
static char url[64];

static proxy_outwriter_t *start(const int *statuses, int n)
{
    cr_assert_eq(http_sink_start(&sink, statuses, n), 0);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", sink.port);
    memset(&conf, 0, sizeof conf);
    conf.upstream_url = url;
    conf.upstream_timeout_ms = 5000;
    char err[200];
    proxy_outwriter_t *w = proxy_outwriter_new(&conf, err, sizeof err);
    cr_assert_not_null(w, "%s", err);
    return w;
}

Test(outwriter, task_points_reach_write_with_create_first, .timeout = 30)
{
    proxy_outwriter_t *w = start(NULL, 0);
    eng_harness_t h;
    cr_assert_eq(eng_harness_new(&h, "stream|from()|influxDBOut().database('out db').retentionPolicy('rp1')"
                                     ".writeConsistency('any').create().buffer(2).tag('t', 'v')\n", "db", "rp"), 0, "%s", h.err.msg);
    proxy_outwriter_env(w, &h.env);
    h.env.ud = w;
    eng_harness_feed(&h, "cpu,host=a value=1.5 10\ncpu,host=b value=2i 20\n");
    cr_assert_eq(proxy_outwriter_flush(w, 5000), 0);
    proxy_outwriter_stats_t st;
    proxy_outwriter_stats(w, &st);
    cr_assert_eq(st.points_written, 2);
    cr_assert_eq(st.databases_created, 1);
    pthread_mutex_lock(&sink.mu);
    cr_assert_str_eq(sink.log, "POST /query HTTP/1.1\nq=CREATE%20DATABASE%20%22out%20db%22\n"
                               "POST /write?precision=ns&db=out%20db&rp=rp1&consistency=any HTTP/1.1\n"
                               "cpu,host=a,t=v value=1.5 10\ncpu,host=b,t=v value=2i 20\n\n");
    pthread_mutex_unlock(&sink.mu);
    eng_harness_free(&h);
    proxy_outwriter_free(w);
    http_sink_stop(&sink);
}

Test(outwriter, retries_5xx_and_drops_4xx, .timeout = 30)
{
    static const int st_script[] = { 503, 500, 204, 400 };
    proxy_outwriter_t *w = start(st_script, 4);
    eng_field_t f = { FA_STR_LIT("v"), { .type = ENG_INT, .i = 7 } };
    eng_point_t p = { .name = FA_STR_LIT("m"), .fields = &f, .n_fields = 1, .time = 5 };
    proxy_outwriter_write(w, NULL, FA_STR_LIT("d"), FA_STR_NULL, &p, 1);
    cr_assert_eq(proxy_outwriter_flush(w, 10000), 0);
    proxy_outwriter_write(w, NULL, FA_STR_LIT("d"), FA_STR_NULL, &p, 1);
    cr_assert_eq(proxy_outwriter_flush(w, 10000), 0);
    proxy_outwriter_stats_t st;
    proxy_outwriter_stats(w, &st);
    cr_assert_eq(st.requests, 4);
    cr_assert_eq(st.retries, 2);
    cr_assert_eq(st.points_written, 1);
    cr_assert_eq(st.points_dropped, 1);
    cr_assert_eq(st.errors, 1);
    proxy_outwriter_free(w);
    http_sink_stop(&sink);
}

Test(outwriter, unreachable_upstream_gives_up_without_blocking_the_producer, .timeout = 30)
{
    memset(&conf, 0, sizeof conf);
    conf.upstream_url = "http://127.0.0.1:1";
    char err[200];
    proxy_outwriter_t *w = proxy_outwriter_new(&conf, err, sizeof err);
    eng_field_t f = { FA_STR_LIT("v"), { .type = ENG_INT, .i = 7 } };
    eng_point_t p = { .name = FA_STR_LIT("m"), .fields = &f, .n_fields = 1, .time = 5 };
    for (int i = 0; i < 300; i++) /* more than the queue holds: the rest is dropped, at once */
        proxy_outwriter_write(w, NULL, FA_STR_LIT("d"), FA_STR_NULL, &p, 1);
    proxy_outwriter_stats_t st;
    proxy_outwriter_stats(w, &st);
    cr_assert_geq(st.points_dropped, 300 - 256);
    proxy_outwriter_free(w);
}
