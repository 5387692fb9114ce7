/* test/engine/test_alert_handlers.c - engine/alert_handlers.c through alert nodes: log, post,
 * tcp and exec against loopback receivers started here, a hanging endpoint that must not delay
 * the task or another handler, and lane overflow counted. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "engine/alert.h"
#include "engine/lp.h"
#include "engine/task.h"

static char *events[64];
static int n_events;
static eng_alert_svc_t *svc;
static char dir[64];

static void on_event(void *ud, eng_node_t *n, fa_str_t json)
{
    if (n_events < 64)
        events[n_events++] = strndup(json.ptr, json.len);
}

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/farad-alert-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}
static void teardown(void)
{
    for (int i = 0; i < n_events; i++)
        free(events[i]);
    n_events = 0;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}
TestSuite(handlers, .init = setup, .fini = teardown, .timeout = 30);

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static eng_task_t *task(eng_env_t *env, const char *script)
{
    eng_task_t *t;
    tick_err_t err;
    cr_assert_eq(eng_task_new("t1", script, strlen(script), NULL, 0, env, &t, &err), 0, "%s", err.msg);
    return t;
}

static void feed(eng_task_t *t, const char *lp)
{
    eng_batch_t b;
    eng_lp_result_t res;
    eng_lp_opts_t o = { .precision_ns = 1 };
    eng_batch_init(&b, 4096, 0);
    cr_assert_gt(eng_lp_parse(&b, lp, strlen(lp), &o, &res), 0);
    for (uint32_t i = 0; i < b.n; i++)
        eng_task_point(t, FA_STR_LIT("db"), FA_STR_LIT("rp"), &b.points[i]);
    eng_batch_deinit(&b);
}

/* waits (at most 10 s) until the handler has finished `n` events */
static void wait_done(eng_alert_handler_t *h, uint64_t n)
{
    const eng_handler_stats_t *st = eng_alert_handler_stats(h);
    for (int i = 0; i < 1000 && atomic_load(&st->delivered) + atomic_load(&st->failed) < n; i++)
        usleep(10000);
    cr_assert_geq(atomic_load(&st->delivered) + atomic_load(&st->failed), n);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s", path);
    char *buf = calloc(1, 1 << 16);
    size_t n = fread(buf, 1, (1 << 16) - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

/* a listening socket on 127.0.0.1 with a free port */
static int listener(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof a;
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(listen(fd, 16), 0);
    getsockname(fd, (struct sockaddr *)&a, &len);
    *port = ntohs(a.sin_port);
    return fd;
}

/* one connection: reads until EOF or a complete HTTP request, answers 200 when http */
struct server {
    int fd;
    bool http;
    char buf[8192];
    size_t len;
};

static bool request_complete(const struct server *s)
{
    const char *end = memmem(s->buf, s->len, "\r\n\r\n", 4);
    if (end == NULL)
        return false;
    const char *cl = strcasestr(s->buf, "Content-Length:");
    size_t want = cl ? strtoul(cl + 15, NULL, 10) : 0;
    return s->len >= (size_t)(end - s->buf) + 4 + want;
}

static void *serve_one(void *arg)
{
    struct server *s = arg;
    struct pollfd pfd = { .fd = s->fd, .events = POLLIN };
    if (poll(&pfd, 1, 10000) != 1)
        return NULL;
    int c = accept(s->fd, NULL, NULL);
    for (int i = 0; i < 1000 && s->len < sizeof s->buf - 1; i++) {
        struct pollfd cp = { .fd = c, .events = POLLIN };
        if (poll(&cp, 1, 10000) != 1)
            break;
        ssize_t n = read(c, s->buf + s->len, sizeof s->buf - 1 - s->len);
        if (n <= 0)
            break;
        s->len += (size_t)n;
        s->buf[s->len] = 0;
        if (s->http && request_complete(s)) {
            static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
            cr_assert_eq(write(c, ok, sizeof ok - 1), (ssize_t)sizeof ok - 1);
            break;
        }
    }
    close(c);
    return NULL;
}

Test(handlers, log_appends_json_lines)
{
    svc = eng_alert_svc_new(NULL);
    eng_env_t env = { .alert_event = on_event, .alert_svc = svc };
    char path[128], script[512];
    snprintf(path, sizeof path, "%s/alerts.log", dir);
    snprintf(script, sizeof script, "dbrp \"db\".\"rp\"\nstream|from()|alert().crit(lambda: \"v\" > 1).log('%s')", path);
    eng_task_t *t = task(&env, script);
    feed(t, "cpu v=5 1\ncpu v=0 2\n");
    wait_done(eng_alert_handler(&t->nodes[2], 0), 2);
    char *got = slurp(path), want[4096];
    cr_assert_eq(n_events, 2);
    snprintf(want, sizeof want, "%s\n%s\n", events[0], events[1]);
    cr_assert_str_eq(got, want);
    cr_assert_eq(atomic_load(&t->nodes[2].stats.own[ENG_ALERT_SENT]), 2);
    free(got);
    eng_task_free(t);
    eng_alert_svc_free(svc);
}

Test(handlers, post_sends_json_with_headers)
{
    struct server s = { .http = true };
    int port;
    s.fd = listener(&port);
    pthread_t th;
    pthread_create(&th, NULL, serve_one, &s);
    svc = eng_alert_svc_new(NULL);
    eng_env_t env = { .alert_event = on_event, .alert_svc = svc };
    char script[512];
    snprintf(script, sizeof script,
             "dbrp \"db\".\"rp\"\nstream|from()|alert().crit(lambda: \"v\" > 1)"
             ".post('http://127.0.0.1:%d/hook').header('X-Test', 'yes').header('Content-Type', 'text/plain')", port);
    eng_task_t *t = task(&env, script);
    feed(t, "cpu v=5 1\n");
    pthread_join(th, NULL);
    eng_alert_handler_t *h = eng_alert_handler(&t->nodes[2], 0);
    wait_done(h, 1);
    cr_assert_eq(atomic_load(&eng_alert_handler_stats(h)->delivered), 1);
    cr_assert(strncmp(s.buf, "POST /hook HTTP/1.1\r\n", 21) == 0, "%s", s.buf);
    cr_assert_not_null(strstr(s.buf, "\r\nX-Test: yes\r\n"));
    cr_assert_not_null(strstr(s.buf, "\r\nContent-Type: application/json\r\n"), "%s", s.buf);
    cr_assert_null(strstr(s.buf, "text/plain"), "application/json always wins");
    char want[4096];
    snprintf(want, sizeof want, "%s\n", events[0]);
    cr_assert_str_eq(strstr(s.buf, "\r\n\r\n") + 4, want);
    close(s.fd);
    eng_task_free(t);
    eng_alert_svc_free(svc);
}

Test(handlers, tcp_sends_json_and_two_newlines)
{
    struct server s = { .http = false };
    int port;
    s.fd = listener(&port);
    pthread_t th;
    pthread_create(&th, NULL, serve_one, &s);
    svc = eng_alert_svc_new(NULL);
    eng_env_t env = { .alert_event = on_event, .alert_svc = svc };
    char script[512];
    snprintf(script, sizeof script, "dbrp \"db\".\"rp\"\nstream|from()|alert().crit(lambda: \"v\" > 1).tcp('127.0.0.1:%d')", port);
    eng_task_t *t = task(&env, script);
    feed(t, "cpu v=5 1\n");
    pthread_join(th, NULL);
    wait_done(eng_alert_handler(&t->nodes[2], 0), 1);
    char want[4096];
    snprintf(want, sizeof want, "%s\n\n", events[0]);
    cr_assert_str_eq(s.buf, want);
    close(s.fd);
    eng_task_free(t);
    eng_alert_svc_free(svc);
}

Test(handlers, exec_gets_json_on_stdin_and_literal_args)
{
    svc = eng_alert_svc_new(NULL);
    eng_env_t env = { .alert_event = on_event, .alert_svc = svc };
    char script[512], path[128];
    snprintf(path, sizeof path, "%s/out.json", dir);
    /* {{ .ID }} must reach the program as written: arguments are not templates */
    snprintf(script, sizeof script,
             "dbrp \"db\".\"rp\"\nstream|from()|alert().crit(lambda: \"v\" > 1)"
             ".exec('/bin/sh', '-c', 'cat > %s; echo \"$0\" > %s.arg', '{{ .ID }}')", path, path);
    eng_task_t *t = task(&env, script);
    feed(t, "cpu v=5 1\n");
    eng_alert_handler_t *h = eng_alert_handler(&t->nodes[2], 0);
    wait_done(h, 1);
    cr_assert_eq(atomic_load(&eng_alert_handler_stats(h)->delivered), 1);
    char *got = slurp(path), want[4096], argpath[160];
    snprintf(want, sizeof want, "%s\n", events[0]);
    cr_assert_str_eq(got, want);
    free(got);
    snprintf(argpath, sizeof argpath, "%s.arg", path);
    got = slurp(argpath);
    cr_assert_str_eq(got, "{{ .ID }}\n");
    free(got);
    eng_task_free(t);
    eng_alert_svc_free(svc);
}

Test(handlers, hanging_endpoint_never_delays_the_task_or_other_handlers)
{
    int port;
    int hang = listener(&port); /* accepts (backlog) but never answers */
    eng_alert_svc_conf_t conf = { .workers = 2, .lane_cap = 4, .timeout_ns = 300000000 };
    svc = eng_alert_svc_new(&conf);
    eng_env_t env = { .alert_svc = svc };
    char script[512], path[128];
    snprintf(path, sizeof path, "%s/b.log", dir);
    snprintf(script, sizeof script,
             "dbrp \"db\".\"rp\"\nstream|from()|alert().crit(lambda: \"v\" > 1)"
             ".post('http://127.0.0.1:%d/slow').log('%s')", port, path);
    eng_task_t *t = task(&env, script);
    char lp[64 * 32] = "";
    for (int i = 0; i < 40; i++)
        snprintf(lp + strlen(lp), sizeof lp - strlen(lp), "cpu v=%d %d\n", 5 + i, i + 1);
    int64_t t0 = now_ms();
    feed(t, lp);
    int64_t took = now_ms() - t0;
    cr_assert_lt(took, 250, "40 events took %lld ms on the task thread", (long long)took);
    eng_alert_handler_t *post = eng_alert_handler(&t->nodes[2], 0), *log = eng_alert_handler(&t->nodes[2], 1);
    /* the log lane (cap 4) may drop too when events come faster than the file is written, but
     * every accepted event is written while the post hangs */
    const eng_handler_stats_t *ls = eng_alert_handler_stats(log), *ps = eng_alert_handler_stats(post);
    wait_done(log, atomic_load(&ls->queued));
    cr_assert_geq(atomic_load(&ls->delivered), 4);
    char *got = slurp(path);
    int lines = 0;
    for (char *p = got; (p = strchr(p, '\n')) != NULL; p++)
        lines++;
    cr_assert_eq((uint64_t)lines, atomic_load(&ls->delivered));
    free(got);
    /* the post lane: one in flight, 4 queued, the rest dropped and counted on the node */
    cr_assert_geq(atomic_load(&ps->dropped), 40 - 5);
    cr_assert_eq(atomic_load(&t->nodes[2].stats.own[ENG_ALERT_DROPPED]), atomic_load(&ps->dropped) + atomic_load(&ls->dropped));
    cr_assert_eq(atomic_load(&t->nodes[2].stats.own[ENG_ALERT_SENT]), atomic_load(&ps->queued) + atomic_load(&ls->queued));
    /* the first post times out (300 ms), the next one is tried */
    for (int i = 0; i < 500 && atomic_load(&ps->timeouts) < 2; i++)
        usleep(10000);
    cr_assert_geq(atomic_load(&ps->timeouts), 2);
    eng_task_free(t);
    int64_t s0 = now_ms();
    eng_alert_svc_free(svc); /* waits for at most the in-flight post's timeout */
    cr_assert_lt(now_ms() - s0, 2000);
    close(hang);
}

Test(handlers, exec_that_never_exits_is_killed_at_its_timeout)
{
    eng_alert_svc_conf_t conf = { .workers = 1, .timeout_ns = 200000000 };
    svc = eng_alert_svc_new(&conf);
    eng_env_t env = { .alert_svc = svc };
    eng_task_t *t = task(&env, "dbrp \"db\".\"rp\"\nstream|from()|alert().crit(lambda: \"v\" > 1).exec('/bin/sleep', '30')");
    int64_t t0 = now_ms();
    feed(t, "cpu v=5 1\n");
    cr_assert_lt(now_ms() - t0, 100);
    eng_alert_handler_t *h = eng_alert_handler(&t->nodes[2], 0);
    wait_done(h, 1);
    cr_assert_eq(atomic_load(&eng_alert_handler_stats(h)->timeouts), 1);
    cr_assert_lt(now_ms() - t0, 5000);
    eng_task_free(t);
    eng_alert_svc_free(svc);
}
