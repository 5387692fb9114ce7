/* test/engine/test_node_alert.c - engine/node_alert.c: levels, resets, state options, inhibit,
 * batches, output decoration and the exact event JSON (hand-checked against Kapacitor's form). */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "engine/alert.h"
#include "engine/lp.h"
#include "engine/task.h"

#define MAX_EVENTS 64

static struct capture {
    char *json[MAX_EVENTS];
    eng_node_t *node[MAX_EVENTS];
    int n;
} cap;

static void on_event(void *ud, eng_node_t *n, fa_str_t json)
{
    struct capture *c = ud;
    cr_assert_lt(c->n, MAX_EVENTS);
    c->node[c->n] = n;
    c->json[c->n++] = strndup(json.ptr, json.len);
}

static const eng_env_t env = { .ud = &cap, .alert_event = on_event };

static void reset_capture(void)
{
    for (int i = 0; i < cap.n; i++)
        free(cap.json[i]);
    cap.n = 0;
}
TestSuite(alert, .fini = reset_capture);

static eng_task_t *task(const char *script)
{
    eng_task_t *t;
    tick_err_t err;
    cr_assert_eq(eng_task_new("t1", script, strlen(script), NULL, 0, &env, &t, &err), 0, "%u:%u: %s", err.pos.line,
                 err.pos.col, err.msg);
    return t;
}

/* feeds line protocol (ns timestamps) to the task */
static void feed(eng_task_t *t, const char *lp)
{
    eng_batch_t b;
    eng_lp_result_t res;
    eng_lp_opts_t o = { .precision_ns = 1 };
    eng_batch_init(&b, 4096, 0);
    cr_assert_gt(eng_lp_parse(&b, lp, strlen(lp), &o, &res), 0, "%s", res.errors);
    for (uint32_t i = 0; i < b.n; i++)
        eng_task_point(t, FA_STR_LIT("db"), FA_STR_LIT("rp"), &b.points[i]);
    eng_batch_deinit(&b);
}

/* string member of event i */
static const char *ev_str(int i, const char *key, char *buf, size_t n)
{
    json_error_t je;
    json_t *j = json_loads(cap.json[i], 0, &je);
    cr_assert_not_null(j, "event %d is not JSON: %s: %s", i, je.text, cap.json[i]);
    json_t *v = json_object_get(j, key);
    snprintf(buf, n, "%s", json_is_string(v) ? json_string_value(v) : json_is_true(v) ? "true" : json_is_false(v) ? "false" : "?");
    if (json_is_integer(v))
        snprintf(buf, n, "%lld", (long long)json_integer_value(v));
    json_decref(j);
    return buf;
}

static void expect_levels(const char *const *levels, int n)
{
    char b[64];
    cr_assert_eq(cap.n, n, "got %d events, want %d", cap.n, n);
    for (int i = 0; i < n; i++)
        cr_assert_str_eq(ev_str(i, "level", b, sizeof b), levels[i], "event %d", i);
}

static uint64_t own(eng_task_t *t, uint32_t node, int counter) { return atomic_load(&t->nodes[node].stats.own[counter]); }

Test(alert, every_level_transition_highest_wins)
{
    eng_task_t *t = task("dbrp \"db\".\"rp\"\nstream|from().measurement('cpu')|alert()"
                         ".info(lambda: \"v\" > 10).warn(lambda: \"v\" > 20).crit(lambda: \"v\" > 30)");
    feed(t, "cpu v=5 1\ncpu v=15 2\ncpu v=25 3\ncpu v=35 4\ncpu v=36 5\ncpu v=25 6\ncpu v=15 7\ncpu v=5 8\ncpu v=4 9\n"
            "cpu v=35 10\ncpu v=1 11\n");
    static const char *const want[] = { "INFO", "WARNING", "CRITICAL", "CRITICAL", "WARNING", "INFO", "OK", "CRITICAL", "OK" };
    expect_levels(want, 9);
    char b[64];
    cr_assert_str_eq(ev_str(2, "previousLevel", b, sizeof b), "WARNING");
    cr_assert_str_eq(ev_str(0, "id", b, sizeof b), "cpu:nil");
    cr_assert_str_eq(ev_str(0, "message", b, sizeof b), "cpu:nil is INFO");
    cr_assert_str_eq(ev_str(6, "duration", b, sizeof b), "6", "OK at t=8: 8 - 2 (first non-OK)");
    cr_assert_eq(own(t, 2, ENG_ALERT_TRIGGERED), 9);
    cr_assert_eq(own(t, 2, ENG_ALERT_OKS), 2);
    cr_assert_eq(own(t, 2, ENG_ALERT_INFOS), 2);
    cr_assert_eq(own(t, 2, ENG_ALERT_WARNS), 2);
    cr_assert_eq(own(t, 2, ENG_ALERT_CRITS), 3);
    eng_task_free(t);
}

Test(alert, resets_hold_the_level_until_true)
{
    eng_task_t *t = task("dbrp \"db\".\"rp\"\nstream|from()|alert()"
                         ".warn(lambda: \"v\" > 80).warnReset(lambda: \"v\" < 70)"
                         ".crit(lambda: \"v\" > 90).critReset(lambda: \"v\" < 85)");
    /* 95 CRIT; 88 stays CRIT (reset false) ; 84 crit reset true -> warn? 84 > 80 -> WARN;
     * 75 stays WARN (reset false); 65 -> OK */
    feed(t, "cpu v=95 1\ncpu v=88 2\ncpu v=84 3\ncpu v=75 4\ncpu v=65 5\ncpu v=60 6\n");
    static const char *const want[] = { "CRITICAL", "CRITICAL", "WARNING", "WARNING", "OK" };
    expect_levels(want, 5);
    eng_task_free(t);
}

Test(alert, state_changes_only)
{
    eng_task_t *t = task("dbrp \"db\".\"rp\"\nstream|from()|alert().crit(lambda: \"v\" > 90).warn(lambda: \"v\" > 50)"
                         ".stateChangesOnly()");
    feed(t, "cpu v=95 1\ncpu v=96 2\ncpu v=60 3\ncpu v=61 4\ncpu v=10 5\ncpu v=11 6\n");
    static const char *const want[] = { "CRITICAL", "WARNING", "OK" };
    expect_levels(want, 3);
    eng_task_free(t);
}

Test(alert, state_changes_only_with_max_interval)
{
    eng_task_t *t = task("dbrp \"db\".\"rp\"\nstream|from()|alert().crit(lambda: \"v\" > 90).stateChangesOnly(10s)");
    /* 0s CRIT (change); 5s no; 10s again (10s since last event); 15s no; 21s again; 22s OK */
    feed(t, "cpu v=95 0\ncpu v=95 5000000000\ncpu v=95 10000000000\ncpu v=95 15000000000\ncpu v=95 21000000000\n"
            "cpu v=1 22000000000\n");
    static const char *const want[] = { "CRITICAL", "CRITICAL", "CRITICAL", "OK" };
    expect_levels(want, 4);
    char b[64];
    cr_assert_str_eq(ev_str(2, "time", b, sizeof b), "1970-01-01T00:00:21Z");
    cr_assert_str_eq(ev_str(2, "duration", b, sizeof b), "21000000000");
    eng_task_free(t);
}

Test(alert, no_recoveries)
{
    eng_task_t *t = task("dbrp \"db\".\"rp\"\nstream|from()|alert().crit(lambda: \"v\" > 90).noRecoveries()");
    feed(t, "cpu v=95 1\ncpu v=5 2\ncpu v=95 3\n");
    static const char *const want[] = { "CRITICAL", "CRITICAL" };
    expect_levels(want, 2);
    char b[64];
    cr_assert_str_eq(ev_str(0, "recoverable", b, sizeof b), "false");
    cr_assert_eq(own(t, 2, ENG_ALERT_OKS), 0);
    eng_task_free(t);
}

Test(alert, flapping_suppresses_events)
{
    eng_task_t *t = task("dbrp \"db\".\"rp\"\nstream|from()|alert().crit(lambda: \"v\" > 90).flapping(0.25, 0.5).history(6)");
    /* Kapacitor's weighted change share over the history (computed by hand for 6 slots):
     * t1 .42, t2 .20, t3 .70 (> .5: flapping), ... t10 .50, t11 .46, t12 0 (< .25: calm) */
    feed(t, "cpu v=95 1\ncpu v=5 2\ncpu v=95 3\ncpu v=5 4\ncpu v=95 5\ncpu v=5 6\ncpu v=95 7\ncpu v=95 8\ncpu v=95 9\n"
            "cpu v=95 10\ncpu v=95 11\n");
    static const char *const want[] = { "CRITICAL", "OK" };
    expect_levels(want, 2);
    feed(t, "cpu v=95 12\ncpu v=95 13\n");
    static const char *const want2[] = { "CRITICAL", "OK", "CRITICAL", "CRITICAL" };
    expect_levels(want2, 4);
    eng_task_free(t);
}

Test(alert, groups_have_their_own_state_and_id)
{
    eng_task_t *t = task("dbrp \"db\".\"rp\"\nstream|from().groupBy('host')|alert().crit(lambda: \"v\" > 90)"
                         ".id('{{ .TaskName }}/{{ index .Tags \"host\" }}').message('{{ .ID }} {{ .Group }} {{ .Level }}')"
                         ".stateChangesOnly()");
    feed(t, "cpu,host=a v=95 1\ncpu,host=b v=5 2\ncpu,host=b v=95 3\ncpu,host=a v=96 4\ncpu,host=a v=1 5\n");
    char b[128];
    cr_assert_eq(cap.n, 3);
    cr_assert_str_eq(ev_str(0, "message", b, sizeof b), "t1/a host=a CRITICAL");
    cr_assert_str_eq(ev_str(1, "message", b, sizeof b), "t1/b host=b CRITICAL");
    cr_assert_str_eq(ev_str(2, "message", b, sizeof b), "t1/a host=a OK");
    cr_assert_eq(atomic_load(&t->nodes[2].stats.cardinality), 2);
    eng_task_free(t);
}

Test(alert, exact_event_json)
{
    eng_task_t *t = task("dbrp \"db\".\"rp\"\nstream|from().groupBy('host')|alert().crit(lambda: \"value\" > 1000000.0)"
                         ".details('<{{ .Message }}> {{ index .Fields \"value\" }}')");
    feed(t, "cpu,host=a&b,dc=x value=12345678.5,n=3i,s=\"q\\\"<\" 1643767334250000000\n");
    cr_assert_eq(cap.n, 1);
    cr_assert_str_eq(cap.json[0],
                     "{\"id\":\"cpu:host=a\\u0026b\",\"message\":\"cpu:host=a\\u0026b is CRITICAL\","
                     "\"details\":\"\\u003ccpu:host=a\\u0026amp;b is CRITICAL\\u003e 1.23456785e\\u0026#43;07\","
                     "\"time\":\"2022-02-02T02:02:14.25Z\",\"duration\":0,\"level\":\"CRITICAL\","
                     "\"data\":{\"series\":[{\"name\":\"cpu\",\"tags\":{\"dc\":\"x\",\"host\":\"a\\u0026b\"},"
                     "\"columns\":[\"time\",\"n\",\"s\",\"value\"],"
                     "\"values\":[[\"2022-02-02T02:02:14.25Z\",3,\"q\\\"\\u003c\",12345678.5]]}]},"
                     "\"previousLevel\":\"OK\",\"recoverable\":true}");
    eng_task_free(t);
}

Test(alert, default_details_is_html_escaped_json)
{
    eng_task_t *t = task("dbrp \"db\".\"rp\"\nstream|from()|alert().crit(lambda: \"v\" > 0)");
    feed(t, "m,k=v+w v=1.5 1000000000\n");
    char b[1024];
    cr_assert_str_eq(ev_str(0, "details", b, sizeof b),
                     "{&#34;Name&#34;:&#34;m&#34;,&#34;TaskName&#34;:&#34;t1&#34;,&#34;Group&#34;:&#34;nil&#34;,"
                     "&#34;Tags&#34;:{&#34;k&#34;:&#34;v&#43;w&#34;},&#34;ServerInfo&#34;:{&#34;Hostname&#34;:"
                     "&#34;localhost&#34;,&#34;ClusterID&#34;:&#34;&#34;,&#34;ServerID&#34;:&#34;&#34;},"
                     "&#34;ID&#34;:&#34;m:nil&#34;,&#34;Fields&#34;:{&#34;v&#34;:1.5},&#34;Level&#34;:&#34;CRITICAL&#34;,"
                     "&#34;Time&#34;:&#34;1970-01-01T00:00:01Z&#34;,&#34;Duration&#34;:0,&#34;Message&#34;:"
                     "&#34;m:nil is CRITICAL&#34;}");
    eng_task_free(t);
}

Test(alert, inhibit_by_category_and_tags)
{
    eng_task_t *t = task("dbrp \"db\".\"rp\"\n"
                         "stream|from().measurement('node')|alert().category('host_down').crit(lambda: \"up\" == 0)"
                         ".id('down {{ index .Tags \"host\" }}')\n"
                         "stream|from().measurement('cpu')|alert().crit(lambda: \"v\" > 90).inhibit('host_down', 'host')");
    feed(t, "cpu,host=a v=95 1\n");          /* not inhibited yet */
    feed(t, "node,host=a up=0 2\n");         /* host a down: category active */
    feed(t, "cpu,host=a v=95 3\ncpu,host=b v=95 4\n"); /* a inhibited, b not */
    feed(t, "node,host=a up=1 5\n");         /* a back: OK */
    feed(t, "cpu,host=a v=96 6\n");
    char b[64];
    cr_assert_eq(cap.n, 5, "%d", cap.n);
    cr_assert_str_eq(ev_str(0, "id", b, sizeof b), "cpu:nil");
    cr_assert_str_eq(ev_str(1, "id", b, sizeof b), "down a");
    cr_assert_str_eq(ev_str(2, "time", b, sizeof b), "1970-01-01T00:00:00.000000004Z");
    cr_assert_str_eq(ev_str(3, "level", b, sizeof b), "OK");
    cr_assert_str_eq(ev_str(4, "time", b, sizeof b), "1970-01-01T00:00:00.000000006Z");
    cr_assert_eq(own(t, 4, ENG_ALERT_INHIBITED), 1);
    cr_assert_eq(own(t, 4, ENG_ALERT_TRIGGERED), 3);
    eng_task_free(t);
}

Test(alert, level_and_id_fields_reach_children)
{
    /* the second alert sees the first one's output point: its message prints the added fields */
    eng_task_t *t = task("dbrp \"db\".\"rp\"\nstream|from()|alert().crit(lambda: \"v\" > 90)"
                         ".levelTag('lvl').levelField('lf').idField('idf').messageField('mf').durationField('df').idTag('it')"
                         "|alert().crit(lambda: TRUE).id('second')"
                         ".message('{{ index .Tags \"lvl\" }} {{ .Fields.lf }} {{ .Fields.idf }} {{ .Fields.mf }} {{ .Fields.df }} {{ .Tags.it }}')");
    feed(t, "cpu v=95 1000000000\ncpu v=96 3000000000\n");
    char b[128];
    cr_assert_eq(cap.n, 4);
    cr_assert_str_eq(ev_str(1, "message", b, sizeof b), "CRITICAL CRITICAL cpu:nil cpu:nil is CRITICAL 0 cpu:nil");
    cr_assert_str_eq(ev_str(3, "message", b, sizeof b), "CRITICAL CRITICAL cpu:nil cpu:nil is CRITICAL 2000000000 cpu:nil");
    eng_task_free(t);
}

Test(alert, lambda_errors_drop_the_point_and_count)
{
    eng_task_t *t = task("dbrp \"db\".\"rp\"\nstream|from()|alert().crit(lambda: \"missing\" > 90)");
    feed(t, "cpu v=95 1\n");
    cr_assert_eq(cap.n, 0);
    cr_assert_eq(atomic_load(&t->nodes[2].stats.errors), 1);
    eng_task_free(t);
}

Test(alert, bad_template_and_unsupported_handler_fail_at_start)
{
    eng_task_t *t;
    tick_err_t err;
    const char *s1 = "stream|from()|alert().crit(lambda: TRUE)\n    .message('{{ .ID ')";
    cr_assert_eq(eng_task_new("t", s1, strlen(s1), NULL, 0, &env, &t, &err), -1);
    cr_assert_str_eq(err.msg, "invalid message template: 1:8: unclosed action");
    cr_assert_eq(err.pos.line, 2);
    const char *s2 = "stream|from()|alert().crit(lambda: TRUE).slack()";
    cr_assert_eq(eng_task_new("t", s2, strlen(s2), NULL, 0, &env, &t, &err), -1);
    cr_assert_str_eq(err.msg, "alert handler slack is not supported by farad yet (log, post, tcp and exec are)");
}

/* batch edge: the node's rows() directly, as a window would call it */
static eng_point_t bpoint(eng_field_t *f, eng_tag_t *tg, const char *host, double v, int64_t t)
{
    *f = (eng_field_t){ FA_STR_LIT("v"), { .type = ENG_FLOAT, .f = v } };
    *tg = (eng_tag_t){ FA_STR_LIT("host"), fa_str_c(host) };
    return (eng_point_t){ .name = FA_STR_LIT("cpu"), .tags = tg, .n_tags = 1, .fields = f, .n_fields = 1, .time = t };
}

static void rows(eng_task_t *t, uint32_t node, const double *v, uint32_t n, int64_t tmax)
{
    eng_field_t f[8];
    eng_tag_t tg[8];
    eng_point_t p[8];
    for (uint32_t i = 0; i < n; i++)
        p[i] = bpoint(&f[i], &tg[i], i % 2 ? "b" : "a", v[i], tmax - 10 + (int64_t)i);
    eng_rows_t b = { .name = FA_STR_LIT("cpu"), .group = 0, .tmax = tmax, .points = p, .n = n };
    eng_node_t *nd = &t->nodes[node];
    nd->ops->rows(nd, NULL, &b);
    fa_arena_reset(&t->scratch);
}

Test(alert, batches_highest_level_and_all)
{
    eng_task_t *t = task("dbrp \"db\".\"rp\"\nstream|from()|alert().warn(lambda: \"v\" > 50).crit(lambda: \"v\" > 90)\n"
                         "stream|from()|alert().warn(lambda: \"v\" > 50).crit(lambda: \"v\" > 90).all()");
    double b1[] = { 10, 95, 60 }, b2[] = { 60, 95, 70 }, b3[] = { 10, 20 };
    rows(t, 2, b1, 3, 100);
    rows(t, 4, b1, 3, 100); /* all(): 10 is OK, so OK: no event (no change) */
    rows(t, 2, b2, 3, 200);
    rows(t, 4, b2, 3, 200); /* all(): lowest WARNING */
    rows(t, 2, b3, 2, 300);
    rows(t, 4, b3, 2, 300);
    char b[256];
    cr_assert_eq(cap.n, 5, "%d", cap.n);
    cr_assert_str_eq(ev_str(0, "level", b, sizeof b), "CRITICAL");
    cr_assert_str_eq(ev_str(0, "time", b, sizeof b), "1970-01-01T00:00:00.000000091Z", "the highest point's time");
    cr_assert_str_eq(ev_str(2, "level", b, sizeof b), "WARNING");
    cr_assert(cap.node[2] == &t->nodes[4]);
    cr_assert_str_eq(ev_str(2, "time", b, sizeof b), "1970-01-01T00:00:00.0000002Z", "all(): the batch's tmax");
    cr_assert_str_eq(ev_str(3, "level", b, sizeof b), "OK");
    cr_assert_str_eq(ev_str(3, "time", b, sizeof b), "1970-01-01T00:00:00.0000003Z", "recovery: tmax");
    /* a batch row: group tags only in tags (none here), other tags as sorted columns */
    cr_assert(strstr(cap.json[0], "\"columns\":[\"time\",\"host\",\"v\"],\"values\":[[\"1970-01-01T00:00:00.00000009Z\",\"a\",10],"
                                  "[\"1970-01-01T00:00:00.000000091Z\",\"b\",95],[\"1970-01-01T00:00:00.000000092Z\",\"a\",60]]") != NULL,
              "%s", cap.json[0]);
    eng_task_free(t);
}
