/* test/proxy/test_subs.c - proxy/subs.c without an upstream: the linked set the proxy asks
 * (before and after the first sync), the persisted id, the default advertised URL, InfluxQL
 * quoting, and a manager whose upstream is absent (errors counted, a bounded stop). The sync
 * against a real influxd is in test/integration/test_subscriptions.py. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include "proxy/subs.c" /* the static helpers */

static fa_conf_t conf;
static char dir[64];
static char err[512];

static void setup(void)
{
    fa_conf_init(&conf);
    strcpy(dir, "/tmp/farad-subs-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    cr_assert_eq(fa_conf_set(&conf, "data_dir", dir, NULL, err, sizeof err), 0, "%s", err);
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    fa_conf_deinit(&conf);
}

TestSuite(subs, .init = setup, .fini = teardown);

Test(subs, the_id_is_made_once_and_reused)
{
    proxy_subs_t *a = proxy_subs_new(&conf, 9092, err, sizeof err);
    cr_assert_not_null(a, "%s", err);
    char name[256];
    snprintf(name, sizeof name, "%s", proxy_subs_name(a));
    cr_assert_eq(strlen(name), 6 + 16, "%s", name);
    cr_assert_eq(strncmp(name, "farad-", 6), 0);
    proxy_subs_free(a);
    proxy_subs_t *b = proxy_subs_new(&conf, 9092, err, sizeof err);
    cr_assert_not_null(b, "%s", err);
    cr_assert_str_eq(proxy_subs_name(b), name);
    proxy_subs_free(b);

    /* a configured name wins and needs no file */
    cr_assert_eq(fa_conf_set(&conf, "subs.name", "farad-pod-0", NULL, err, sizeof err), 0);
    cr_assert_eq(fa_conf_set(&conf, "data_dir", "/nonexistent/x", NULL, err, sizeof err), 0);
    proxy_subs_t *c = proxy_subs_new(&conf, 9092, err, sizeof err);
    cr_assert_not_null(c, "%s", err);
    cr_assert_str_eq(proxy_subs_name(c), "farad-pod-0");
    proxy_subs_free(c);
}

Test(subs, a_bad_id_file_is_an_error_naming_it)
{
    char path[128];
    snprintf(path, sizeof path, "%s/subs.id", dir);
    FILE *f = fopen(path, "w");
    fputs("no spaces allowed\n", f);
    fclose(f);
    cr_assert_null(proxy_subs_new(&conf, 9092, err, sizeof err));
    cr_assert_not_null(strstr(err, path), "%s", err);
    cr_assert_not_null(strstr(err, "not an id"), "%s", err);
}

Test(subs, the_data_dir_is_created)
{
    char sub[128];
    snprintf(sub, sizeof sub, "%s/a/b", dir);
    cr_assert_eq(fa_conf_set(&conf, "data_dir", sub, NULL, err, sizeof err), 0);
    proxy_subs_t *s = proxy_subs_new(&conf, 9092, err, sizeof err);
    cr_assert_not_null(s, "%s", err);
    strcat(sub, "/subs.id");
    cr_assert_eq(access(sub, R_OK), 0);
    proxy_subs_free(s);
}

Test(subs, advertised_url)
{
    char out[300], host[256] = "";
    default_url("127.0.0.1:9092", 19092, out, sizeof out);
    cr_assert_str_eq(out, "http://127.0.0.1:19092");
    default_url("[::1]:9092", 9092, out, sizeof out);
    cr_assert_str_eq(out, "http://[::1]:9092");
    gethostname(host, sizeof host - 1);
    char want[300];
    snprintf(want, sizeof want, "http://%s:9092", host);
    default_url(":9092", 9092, out, sizeof out);
    cr_assert_str_eq(out, want);
    default_url("0.0.0.0:9092", 9092, out, sizeof out);
    cr_assert_str_eq(out, want);

    cr_assert_eq(fa_conf_set(&conf, "subs.advertise", "http://farad-0.farad.mon.svc:9092", NULL, err, sizeof err), 0);
    proxy_subs_t *s = proxy_subs_new(&conf, 1234, err, sizeof err);
    cr_assert_not_null(s, "%s", err);
    cr_assert_str_eq(proxy_subs_url(s), "http://farad-0.farad.mon.svc:9092");
    proxy_subs_free(s);
}

Test(subs, statements_quote_names)
{
    fa_buf_t b = FA_BUF_INIT;
    cr_assert_str_eq(statement(&b, "CREATE", "farad-1", "my \"db\"", "a\\b", "ANY", "http://h:9092"),
                     "CREATE SUBSCRIPTION \"farad-1\" ON \"my \\\"db\\\"\".\"a\\\\b\" DESTINATIONS ANY 'http://h:9092'");
    cr_assert_str_eq(statement(&b, "DROP", "farad-1", "db", "autogen", NULL, NULL),
                     "DROP SUBSCRIPTION \"farad-1\" ON \"db\".\"autogen\"");
    fa_buf_deinit(&b);
    cr_assert(same_url("http://h:9092/", "HTTP://h:9092"));
    cr_assert_not(same_url("http://h:9092", "http://h:9093"));
}

Test(subs, covers_before_and_after_the_first_sync)
{
    cr_assert_eq(fa_conf_set(&conf, "subs.include", "tel.*,app.autogen", NULL, err, sizeof err), 0);
    cr_assert_eq(fa_conf_set(&conf, "subs.exclude", "tel.tmp", NULL, err, sizeof err), 0);
    proxy_subs_t *s = proxy_subs_new(&conf, 9092, err, sizeof err);
    cr_assert_not_null(s, "%s", err);
    /* before the first sync: every selected db.rp is left to the subscription */
    cr_assert(proxy_subs_covers(s, FA_STR_LIT("tel"), FA_STR_LIT("autogen")));
    cr_assert(proxy_subs_covers(s, FA_STR_LIT("app"), FA_STR_LIT("autogen")));
    cr_assert_not(proxy_subs_covers(s, FA_STR_LIT("tel"), FA_STR_LIT("tmp")));  /* excluded */
    cr_assert_not(proxy_subs_covers(s, FA_STR_LIT("app"), FA_STR_LIT("week"))); /* not included */
    cr_assert_not(proxy_subs_covers(NULL, FA_STR_LIT("tel"), FA_STR_LIT("autogen")));
    /* after: only what was linked */
    set_add(s, FA_STR_LIT("tel"), FA_STR_LIT("autogen"));
    atomic_store(&s->decided, true);
    cr_assert(proxy_subs_covers(s, FA_STR_LIT("tel"), FA_STR_LIT("autogen")));
    cr_assert_not(proxy_subs_covers(s, FA_STR_LIT("tel"), FA_STR_LIT("week")));
    cr_assert_not(proxy_subs_covers(s, FA_STR_LIT("app"), FA_STR_LIT("autogen")));
    /* "te"+"lautogen" is another key */
    cr_assert_not(set_has(s, FA_STR_LIT("te"), FA_STR_LIT("lautogen")));
    proxy_subs_free(s);
}

Test(subs, a_full_set_covers_every_selected_dbrp)
{
    proxy_subs_t *s = proxy_subs_new(&conf, 9092, err, sizeof err);
    cr_assert_not_null(s, "%s", err);
    atomic_store(&s->decided, true);
    char db[32];
    for (int i = 0; i < SET_SLOTS / 2; i++) {
        int n = snprintf(db, sizeof db, "db%d", i);
        set_add(s, fa_str(db, (size_t)n), FA_STR_LIT("autogen"));
    }
    cr_assert_eq(s->set_n, SET_SLOTS / 2);
    cr_assert(set_has(s, FA_STR_LIT("db0"), FA_STR_LIT("autogen")));
    cr_assert(set_has(s, FA_STR_LIT("db2047"), FA_STR_LIT("autogen")));
    cr_assert_not(proxy_subs_covers(s, FA_STR_LIT("other"), FA_STR_LIT("autogen")));
    set_add(s, FA_STR_LIT("other"), FA_STR_LIT("autogen")); /* past the bound */
    cr_assert(atomic_load(&s->set_full));
    cr_assert(proxy_subs_covers(s, FA_STR_LIT("other"), FA_STR_LIT("autogen")));
    cr_assert(proxy_subs_covers(s, FA_STR_LIT("never"), FA_STR_LIT("seen")));
    proxy_subs_free(s);
}

/* A port nothing listens on. */
static int dead_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t l = sizeof a;
    bind(fd, (struct sockaddr *)&a, sizeof a);
    getsockname(fd, (struct sockaddr *)&a, &l);
    close(fd);
    return ntohs(a.sin_port);
}

Test(subs, an_absent_upstream_is_retried_and_the_stop_is_bounded, .timeout = 20)
{
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", dead_port());
    cr_assert_eq(fa_conf_set(&conf, "upstream.url", url, NULL, err, sizeof err), 0, "%s", err);
    proxy_subs_t *s = proxy_subs_new(&conf, 9092, err, sizeof err);
    cr_assert_not_null(s, "%s", err);
    cr_assert_eq(proxy_subs_start(s), 0);
    proxy_subs_stats_t st = { 0 };
    for (int i = 0; i < 100 && st.errors < 3; i++) {
        usleep(50000);
        proxy_subs_get_stats(s, &st);
    }
    cr_assert_geq(st.errors, 3, "backoff retries: %" PRIu64 " errors", st.errors);
    cr_assert_not(st.linked);
    cr_assert_eq(st.syncs, 0);
    /* before the first sync the proxy leaves selected db.rp to the (future) subscription */
    cr_assert(proxy_subs_covers(s, FA_STR_LIT("any"), FA_STR_LIT("autogen")));
    int64_t t0 = now_ms();
    proxy_subs_stop(s);
    cr_assert_lt(now_ms() - t0, STOP_BUDGET_MS + 1500);
    proxy_subs_get_stats(s, &st);
    cr_assert_geq(st.errors, 4); /* the drop on stop failed too, and was counted */
    proxy_subs_free(s);
}

Test(subs, the_startup_timeout_hands_selected_dbrp_back_to_the_proxy, .timeout = 20)
{
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", dead_port());
    cr_assert_eq(fa_conf_set(&conf, "upstream.url", url, NULL, err, sizeof err), 0);
    cr_assert_eq(fa_conf_set(&conf, "subs.startup_timeout", "300ms", NULL, err, sizeof err), 0);
    cr_assert_eq(fa_conf_set(&conf, "subs.drop_on_stop", "false", NULL, err, sizeof err), 0);
    proxy_subs_t *s = proxy_subs_new(&conf, 9092, err, sizeof err);
    cr_assert_not_null(s, "%s", err);
    cr_assert_eq(proxy_subs_start(s), 0);
    for (int i = 0; i < 100 && !atomic_load(&s->decided); i++)
        usleep(50000);
    cr_assert(atomic_load(&s->decided), "still waiting after 5s");
    cr_assert_not(proxy_subs_covers(s, FA_STR_LIT("any"), FA_STR_LIT("autogen")));
    proxy_subs_request_sync(s, true); /* wakes it; still no upstream */
    proxy_subs_stop(s);
    proxy_subs_free(s);
}
