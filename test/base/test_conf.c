/* test/base/test_conf.c - base/conf.c: defaults, YAML file, FARAD_* env, flags, precedence,
 * every error text, and the dump read back. Temp files live under /tmp (mkstemp). */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/conf.h"
#include "base/str.h"

static fa_conf_t conf;
static char path[64];
static char err[512];

static void setup(void)
{
    fa_conf_init(&conf);
    path[0] = '\0';
    err[0] = '\0';
}

static void teardown(void)
{
    fa_conf_deinit(&conf);
    if (path[0] != '\0')
        unlink(path);
}

TestSuite(conf, .init = setup, .fini = teardown);

/* Writes `text` to a fresh /tmp file whose name lands in `path`. */
static void write_file(const char *text)
{
    strcpy(path, "/tmp/farad-conf-XXXXXX");
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0, "mkstemp failed");
    size_t n = strlen(text);
    cr_assert_eq(write(fd, text, n), (ssize_t)n);
    close(fd);
}

/* Loads `text` as a file and expects the error "<path>:<rest>". */
static void expect_file_error(const char *text, const char *rest)
{
    char want[512];

    write_file(text);
    cr_assert_eq(fa_conf_load_file(&conf, path, err, sizeof err), -1, "accepted:\n%s", text);
    snprintf(want, sizeof want, "%s:%s", path, rest);
    cr_assert_str_eq(err, want);
}

static int set(const char *key, const char *value)
{
    err[0] = '\0';
    return fa_conf_set(&conf, key, value, NULL, err, sizeof err);
}

/* ---- the table and the defaults ---- */

Test(conf, defaults)
{
    cr_assert_str_eq(conf.data_dir, "./var");
    cr_assert_str_eq(conf.log_level, "info");
    cr_assert_str_eq(conf.proxy_bind, ":8086");
    cr_assert_eq(conf.proxy_threads, 0);
    cr_assert_eq(conf.proxy_max_body, 25000000);
    cr_assert_eq(conf.proxy_max_decoded, 128u << 20);
    cr_assert_str_eq(conf.api_bind, ":9092");
    cr_assert_str_eq(conf.upstream_url, "http://127.0.0.1:8087");
    cr_assert_eq(conf.upstream_connect_timeout_ms, 2000);
    cr_assert_eq(conf.upstream_timeout_ms, 10000);
    cr_assert_eq(conf.upstream_pool, 64);
    cr_assert_str_eq(conf.tee_dbrps, "");
    cr_assert_str_eq(conf.tee_default_rp, "autogen");
    cr_assert_eq(conf.tee_ring_slots, 1024);
    cr_assert_eq(conf.tee_batch_limit, 256ull << 20);
}

Test(conf, table_is_well_formed)
{
    size_t n = 0;

    for (const fa_conf_key_t *k = fa_conf_keys; k->name != NULL; k++, n++) {
        cr_assert(k->doc != NULL && k->doc[0] != '\0', "%s has no doc", k->name);
        cr_assert_null(strchr(k->doc, '\n'), "%s: doc is not one line", k->name);
        const char *dot = strchr(k->name, '.');
        cr_assert(dot == NULL || strchr(dot + 1, '.') == NULL, "%s: the dump handles one level of sections", k->name);
        cr_assert(k->def != NULL, "%s has no default", k->name);
        cr_assert(k->offset + (k->type == FA_CONF_STR ? sizeof(char *) : sizeof(uint64_t)) <= sizeof(fa_conf_t));
        /* every key is reachable by its flag, and by no other key's flag */
        const fa_conf_key_t *byflag = NULL;
        if (k->flag != NULL)
            byflag = fa_conf_find_flag(k->flag);
        else {
            char flag[128];
            size_t i = 0;
            for (; k->name[i] != '\0'; i++)
                flag[i] = (k->name[i] == '.' || k->name[i] == '_') ? '-' : k->name[i];
            flag[i] = '\0';
            byflag = fa_conf_find_flag(flag);
        }
        cr_assert_eq(byflag, k, "%s: its flag finds another key", k->name);
        for (const fa_conf_key_t *j = fa_conf_keys; j < k; j++)
            cr_assert_str_neq(j->name, k->name);
    }
    cr_assert_geq(n, 38); /* every folder adds its keys; the loop above checks each one */
}

Test(conf, deinit_frees_every_string)
{
    cr_assert_eq(set("data_dir", "/srv/farad"), 0);
    fa_conf_deinit(&conf);
    for (const fa_conf_key_t *k = fa_conf_keys; k->name != NULL; k++)
        if (k->type == FA_CONF_STR)
            cr_assert_null(*(char **)(void *)((char *)&conf + k->offset), "%s kept", k->name);
    fa_conf_deinit(&conf); /* twice is harmless */
    fa_conf_init(&conf);   /* for teardown */
}

/* ---- values by type ---- */

/* Criterion copies parameters into a re-executed child, so they hold arrays, not pointers. */
struct num_case {
    char key[32], text[32];
    uint64_t want;
};

static const struct num_case good_numbers[] = {
    { "proxy.max_body", "1024", 1024 },
    { "proxy.max_body", "64KB", 64000 },
    { "proxy.max_body", "64KiB", 65536 },
    { "proxy.max_body", "32MB", 32000000 },
    { "proxy.max_body", "1GiB", 1ull << 30 },
    { "proxy.max_body", "64kb", 64000 },
    { "proxy.max_body", "32mb", 32000000 },
    { "proxy.max_body", "2048B", 2048 },
    { "tee.batch_limit", "2GB", 2000000000 },
    { "upstream.timeout", "500ms", 500 },
    { "upstream.timeout", "10s", 10000 },
    { "upstream.timeout", "5m", 300000 },
    { "upstream.timeout", "1h", 3600000 },
    { "upstream.timeout", "1m30s", 90000 },
    { "upstream.timeout", "1s500ms", 1500 },
    { "upstream.timeout", "250", 250 },
    { "upstream.connect_timeout", "0h1m", 60000 },
    { "proxy.threads", "0", 0 },
    { "proxy.threads", "64", 64 },
    { "upstream.pool", "4096", 4096 },
    { "tee.ring_slots", "4", 4 },
    { "tee.ring_slots", "65536", 65536 },
};

ParameterizedTestParameters(conf, numbers_parse)
{
    return cr_make_param_array(struct num_case, good_numbers, sizeof good_numbers / sizeof good_numbers[0]);
}

ParameterizedTest(const struct num_case *c, conf, numbers_parse)
{
    cr_assert_eq(set(c->key, c->text), 0, "%s=%s: %s", c->key, c->text, err);
    for (const fa_conf_key_t *k = fa_conf_keys; k->name != NULL; k++)
        if (strcmp(k->name, c->key) == 0)
            cr_assert_eq(*(uint64_t *)(void *)((char *)&conf + k->offset), c->want, "%s=%s", c->key, c->text);
}

struct bad_case {
    char key[32], text[40], want[128];
};

static const struct bad_case bad_values[] = {
    { "proxy.threads", "100", "proxy.threads: 100 is above the maximum 64" },
    { "proxy.threads", "abc", "proxy.threads: invalid number \"abc\"" },
    { "proxy.threads", "-1", "proxy.threads: invalid number \"-1\"" },
    { "proxy.threads", " 4", "proxy.threads: invalid number \" 4\"" },
    { "proxy.threads", "", "proxy.threads: invalid number \"\"" },
    { "proxy.threads", "99999999999999999999999", "proxy.threads: invalid number \"99999999999999999999999\"" },
    { "upstream.pool", "0", "upstream.pool: 0 is below the minimum 1" },
    { "proxy.max_body", "1000", "proxy.max_body: 1000 is below the minimum 1KiB" },
    { "proxy.max_body", "2GiB", "proxy.max_body: 2GiB is above the maximum 1GiB" },
    { "proxy.max_body", "12XB", "proxy.max_body: invalid size \"12XB\"" },
    { "proxy.max_body", "1.5MB", "proxy.max_body: invalid size \"1.5MB\"" },
    { "proxy.max_body", "MB", "proxy.max_body: invalid size \"MB\"" },
    { "proxy.max_body", "20000000000TiB", "proxy.max_body: invalid size \"20000000000TiB\"" },
    { "upstream.timeout", "10 parsecs", "upstream.timeout: invalid duration \"10 parsecs\"" },
    { "upstream.timeout", "1h30", "upstream.timeout: invalid duration \"1h30\"" },
    { "upstream.timeout", "1d", "upstream.timeout: invalid duration \"1d\"" },
    { "upstream.timeout", "s", "upstream.timeout: invalid duration \"s\"" },
    { "upstream.timeout", "", "upstream.timeout: invalid duration \"\"" },
    { "upstream.timeout", "1h30m", "upstream.timeout: 1h30m is above the maximum 1h" },
    { "upstream.connect_timeout", "0s", "upstream.connect_timeout: 0s is below the minimum 1ms" },
    { "tee.ring_slots", "1000", "tee.ring_slots: 1000 is not a power of two" },
    { "tee.ring_slots", "2", "tee.ring_slots: 2 is below the minimum 4" },
    { "tee.ring_slots", "131072", "tee.ring_slots: 131072 is above the maximum 65536" },
    { "log.level", "verbose", "log.level: unknown level \"verbose\" (error, warn, info or debug)" },
    { "upstream.url", "https://db:8086", "upstream.url: \"https://db:8086\" is not an http:// URL" },
    { "upstream.url", "db:8086", "upstream.url: \"db:8086\" is not an http:// URL" },
    { "upstream.url", "http://:8086", "upstream.url: \"http://:8086\" has no host" },
    { "upstream.url", "http://", "upstream.url: \"http://\" has no host" },
    { "upstream.url", "http://db:0", "upstream.url: \"http://db:0\" has an invalid port" },
    { "upstream.url", "http://db:65536", "upstream.url: \"http://db:65536\" has an invalid port" },
    { "upstream.url", "http://db:", "upstream.url: \"http://db:\" has an invalid port" },
    { "upstream.url", "http://db:80x", "upstream.url: \"http://db:80x\" has an invalid port" },
    { "upstream.url", "http://u:p@db:8086", "upstream.url: \"http://u:p@db:8086\" has user info: pass credentials per request" },
    { "upstream.url", "http://u@db", "upstream.url: \"http://u@db\" has user info: pass credentials per request" },
    { "upstream.url", "http://db/influx", "upstream.url: \"http://db/influx\" has a path or query: give only http://HOST[:PORT]" },
    { "upstream.url", "http://[::1", "upstream.url: \"http://[::1\" has an unclosed IPv6 address" },
    { "tee.dbrps", "telegraf", "tee.dbrps: \"telegraf\" must be db.rp, db.* or *" },
    { "tee.dbrps", "a.b,,c.d", "tee.dbrps: \"\" must be db.rp, db.* or *" },
    { "tee.dbrps", "a.b,", "tee.dbrps: \"\" must be db.rp, db.* or *" },
    { "tee.dbrps", "*.rp", "tee.dbrps: \"*.rp\" must be db.rp, db.* or *" },
    { "tee.dbrps", "db.r.p", "tee.dbrps: \"db.r.p\" must be db.rp, db.* or *" },
    { "tee.dbrps", "db.", "tee.dbrps: \"db.\" must be db.rp, db.* or *" },
    { "tee.dbrps", "a.b, my db.rp", "tee.dbrps: \"my db.rp\" must be db.rp, db.* or *" },
    { "subs.enabled", "maybe", "subs.enabled: invalid boolean (true or false) \"maybe\"" },
    { "subs.enabled", "", "subs.enabled: invalid boolean (true or false) \"\"" },
    { "subs.mode", "SOME", "subs.mode: \"SOME\" is not ANY or ALL" },
    { "subs.advertise", "farad:9092", "subs.advertise: \"farad:9092\" is not an http:// or https:// URL" },
    { "subs.advertise", "http://:9092", "subs.advertise: \"http://:9092\" has no host" },
    { "subs.advertise", "http://a'b:9092", "subs.advertise: \"http://a'b:9092\" has a quote, space or backslash" },
    { "subs.name", "farad-\"x", "subs.name: \"farad-\"x\" has a quote, backslash or control character" },
    { "subs.exclude", "_internal", "subs.exclude: \"_internal\" must be db.rp, db.* or *" },
    { "subs.sync_interval", "10ms", "subs.sync_interval: 10ms is below the minimum 100ms" },
    { "nope", "1", "unknown key or flag \"nope\"" },
};

ParameterizedTestParameters(conf, bad_values_are_refused)
{
    return cr_make_param_array(struct bad_case, bad_values, sizeof bad_values / sizeof bad_values[0]);
}

ParameterizedTest(const struct bad_case *c, conf, bad_values_are_refused)
{
    fa_conf_t before;

    fa_conf_init(&before);
    cr_assert_eq(set(c->key, c->text), -1, "%s=%s accepted", c->key, c->text);
    cr_assert_str_eq(err, c->want);
    /* the value is left as it was */
    cr_assert_str_eq(conf.upstream_url, before.upstream_url);
    cr_assert_str_eq(conf.tee_dbrps, before.tee_dbrps);
    cr_assert_eq(conf.proxy_threads, before.proxy_threads);
    cr_assert_eq(conf.proxy_max_body, before.proxy_max_body);
    cr_assert_eq(conf.upstream_timeout_ms, before.upstream_timeout_ms);
    cr_assert_eq(conf.tee_ring_slots, before.tee_ring_slots);
    fa_conf_deinit(&before);
}

Test(conf, good_strings)
{
    static const char *const urls[] = { "http://127.0.0.1:8087", "http://influxdb", "HTTP://db:80/",
                                         "http://[::1]:8086", "http://influx-0.influx.svc:8086" };
    static const char *const dbrps[] = { "", "*", "telegraf.autogen", "telegraf.*", "a.b,c.*, d.e ,*",
                                         "my-db.one_week" };
    static const char *const levels[] = { "error", "warn", "warning", "info", "debug", "DEBUG" };

    for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
        cr_assert_eq(set("upstream.url", urls[i]), 0, "%s: %s", urls[i], err);
        cr_assert_str_eq(conf.upstream_url, urls[i]);
    }
    for (size_t i = 0; i < sizeof dbrps / sizeof dbrps[0]; i++) {
        cr_assert_eq(set("tee.dbrps", dbrps[i]), 0, "%s: %s", dbrps[i], err);
        cr_assert_str_eq(conf.tee_dbrps, dbrps[i]);
    }
    for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++)
        cr_assert_eq(set("log.level", levels[i]), 0, "%s: %s", levels[i], err);
    cr_assert_str_eq(conf.log_level, "DEBUG");
}

Test(conf, subs_defaults_and_booleans)
{
    static const struct { const char *text; uint64_t want; } bools[] = {
        { "true", 1 }, { "TRUE", 1 }, { "yes", 1 }, { "on", 1 }, { "1", 1 },
        { "false", 0 }, { "No", 0 }, { "off", 0 }, { "0", 0 },
    };

    cr_assert_eq(conf.subs_enabled, 0);
    cr_assert_eq(conf.subs_drop_on_stop, 1);
    cr_assert_eq(conf.subs_drop_stale, 0);
    cr_assert_str_eq(conf.subs_mode, "ANY");
    cr_assert_str_eq(conf.subs_include, "*");
    cr_assert_str_eq(conf.subs_exclude, "_internal.*,_kapacitor.autogen");
    cr_assert_eq(conf.subs_sync_interval_ms, 60000);
    cr_assert_eq(conf.subs_startup_timeout_ms, 300000);
    for (size_t i = 0; i < sizeof bools / sizeof bools[0]; i++) {
        cr_assert_eq(set("subs.drop_on_stop", bools[i].text), 0, "%s: %s", bools[i].text, err);
        cr_assert_eq(conf.subs_drop_on_stop, bools[i].want, "%s", bools[i].text);
    }
    /* -subscribe and -advertise are the flags of subs.enabled and subs.advertise */
    cr_assert_eq(fa_conf_find_flag("-subscribe"), fa_conf_find_flag("subscribe"));
    cr_assert_str_eq(fa_conf_find_flag("subscribe")->name, "subs.enabled");
    cr_assert_str_eq(fa_conf_find_flag("advertise")->name, "subs.advertise");
    cr_assert_eq(fa_conf_set(&conf, "subscribe", "true", "-subscribe", err, sizeof err), 0, "%s", err);
    cr_assert_eq(conf.subs_enabled, 1);
    cr_assert_eq(set("subs.advertise", "https://u:p@farad-0.farad:9092/sub"), 0, "%s", err);
    cr_assert_eq(set("subs.advertise", ""), 0, "%s", err);
    cr_assert_eq(set("subs.mode", "all"), 0, "%s", err);
}

static void round_trip(void);

Test(conf, dump_writes_booleans_as_words)
{
    fa_buf_t out = FA_BUF_INIT;

    cr_assert_eq(set("subs.enabled", "yes"), 0, "%s", err);
    cr_assert_eq(fa_conf_dump(&conf, &out), 0);
    const char *s = fa_buf_cstr(&out);
    cr_assert_not_null(strstr(s, "\nsubs:\n"), "%s", s);
    cr_assert_not_null(strstr(s, "  enabled: true\n"), "%s", s);
    cr_assert_not_null(strstr(s, "  drop_stale: false\n"), "%s", s);
    cr_assert_not_null(strstr(s, "  sync_interval: 1m\n"), "%s", s);
    fa_buf_deinit(&out);
    round_trip();
}

/* ---- flags ---- */

Test(conf, flags_find_their_keys)
{
    cr_assert_str_eq(fa_conf_find_flag("proxy-bind")->name, "proxy.bind");
    cr_assert_str_eq(fa_conf_find_flag("-proxy-bind")->name, "proxy.bind");
    cr_assert_str_eq(fa_conf_find_flag("--api-bind")->name, "api.bind");
    cr_assert_str_eq(fa_conf_find_flag("-upstream")->name, "upstream.url");
    cr_assert_str_eq(fa_conf_find_flag("-log-level")->name, "log.level");
    cr_assert_str_eq(fa_conf_find_flag("-data-dir")->name, "data_dir");
    cr_assert_str_eq(fa_conf_find_flag("-proxy-max-body")->name, "proxy.max_body");
    cr_assert_str_eq(fa_conf_find_flag("-proxy-max-decoded-body")->name, "proxy.max_decoded_body");
    cr_assert_str_eq(fa_conf_find_flag("-tee-dbrps")->name, "tee.dbrps");
    cr_assert_str_eq(fa_conf_find_flag("-upstream-connect-timeout")->name, "upstream.connect_timeout");
    /* an alias replaces the derived name; dotted names are not flags */
    cr_assert_null(fa_conf_find_flag("-upstream-url"));
    cr_assert_null(fa_conf_find_flag("proxy.bind"));
    cr_assert_null(fa_conf_find_flag("-proxy"));
    cr_assert_null(fa_conf_find_flag("-proxy-bindx"));
    cr_assert_null(fa_conf_find_flag("---proxy-bind"));
    cr_assert_null(fa_conf_find_flag(""));
}

Test(conf, set_by_flag_or_name)
{
    cr_assert_eq(fa_conf_set(&conf, "-proxy-bind", "127.0.0.1:18086", "-proxy-bind", err, sizeof err), 0, "%s", err);
    cr_assert_eq(fa_conf_set(&conf, "upstream", "http://10.0.0.5:8086", NULL, err, sizeof err), 0, "%s", err);
    cr_assert_eq(fa_conf_set(&conf, "log-level", "debug", NULL, err, sizeof err), 0, "%s", err);
    cr_assert_eq(fa_conf_set(&conf, "--data-dir", "/srv/farad", NULL, err, sizeof err), 0, "%s", err);
    cr_assert_eq(fa_conf_set(&conf, "-proxy-max-body", "10MB", NULL, err, sizeof err), 0, "%s", err);
    cr_assert_eq(fa_conf_set(&conf, "-tee-dbrps", "telegraf.autogen", NULL, err, sizeof err), 0, "%s", err);
    cr_assert_eq(fa_conf_set(&conf, "api.bind", ":19092", NULL, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(conf.proxy_bind, "127.0.0.1:18086");
    cr_assert_str_eq(conf.upstream_url, "http://10.0.0.5:8086");
    cr_assert_str_eq(conf.log_level, "debug");
    cr_assert_str_eq(conf.data_dir, "/srv/farad");
    cr_assert_eq(conf.proxy_max_body, 10000000);
    cr_assert_str_eq(conf.tee_dbrps, "telegraf.autogen");
    cr_assert_str_eq(conf.api_bind, ":19092");
}

Test(conf, flag_errors_name_the_flag)
{
    cr_assert_eq(fa_conf_set(&conf, "-proxy-threads", "100", "-proxy-threads", err, sizeof err), -1);
    cr_assert_str_eq(err, "-proxy-threads: 100 is above the maximum 64");
    /* without a source, a flag name still gives the flag */
    cr_assert_eq(fa_conf_set(&conf, "--upstream", "ftp://x", NULL, err, sizeof err), -1);
    cr_assert_str_eq(err, "-upstream: \"ftp://x\" is not an http:// URL");
    cr_assert_eq(fa_conf_set(&conf, "-proxy-bnd", ":1", "-proxy-bnd", err, sizeof err), -1);
    cr_assert_str_eq(err, "-proxy-bnd: unknown flag");
    cr_assert_eq(fa_conf_set(&conf, "-data-dir", NULL, "-data-dir", err, sizeof err), -1);
    cr_assert_str_eq(err, "-data-dir: missing value");
    cr_assert_str_eq(conf.data_dir, "./var");
}

/* ---- environment ---- */

Test(conf, env_overrides)
{
    char *env[] = { "PATH=/usr/bin",
                    "FARAD_PROXY_BIND=:18086",
                    "FARAD_DATA_DIR=/data",
                    "FARAD_UPSTREAM_URL=http://influx:8086",
                    "FARAD_PROXY_MAX_BODY=32MB",
                    "FARAD_UPSTREAM_CONNECT_TIMEOUT=500ms",
                    "FARAD_TEE_DBRPS=telegraf.*",
                    "FARAD_BUILD_DIR=/tmp/build", /* FARAD_ but no key: ignored */
                    "FARAD_PROXY=1",
                    "FARAD_proxy_threads=7", /* lower case: not ours */
                    "FARAD_=x",
                    "PROXY_THREADS=9",
                    NULL };

    cr_assert_eq(fa_conf_load_env(&conf, env, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(conf.proxy_bind, ":18086");
    cr_assert_str_eq(conf.data_dir, "/data");
    cr_assert_str_eq(conf.upstream_url, "http://influx:8086");
    cr_assert_eq(conf.proxy_max_body, 32000000);
    cr_assert_eq(conf.upstream_connect_timeout_ms, 500);
    cr_assert_str_eq(conf.tee_dbrps, "telegraf.*");
    cr_assert_eq(conf.proxy_threads, 0);
}

Test(conf, env_errors_name_the_variable)
{
    char *env[] = { "FARAD_PROXY_THREADS=100", NULL };
    char *env2[] = { "FARAD_UPSTREAM_TIMEOUT=10 parsecs", NULL };
    char *env3[] = { "FARAD_LOG_LEVEL=loud", NULL };

    cr_assert_eq(fa_conf_load_env(&conf, env, err, sizeof err), -1);
    cr_assert_str_eq(err, "FARAD_PROXY_THREADS: 100 is above the maximum 64");
    cr_assert_eq(fa_conf_load_env(&conf, env2, err, sizeof err), -1);
    cr_assert_str_eq(err, "FARAD_UPSTREAM_TIMEOUT: invalid duration \"10 parsecs\"");
    cr_assert_eq(fa_conf_load_env(&conf, env3, err, sizeof err), -1);
    cr_assert_str_eq(err, "FARAD_LOG_LEVEL: unknown level \"loud\" (error, warn, info or debug)");
}

Test(conf, env_null_reads_environ)
{
    cr_assert_eq(setenv("FARAD_TEE_DEFAULT_RP", "one_week", 1), 0);
    cr_assert_eq(fa_conf_load_env(&conf, NULL, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(conf.tee_default_rp, "one_week");
    unsetenv("FARAD_TEE_DEFAULT_RP");
}

/* ---- the file ---- */

Test(conf, file_sets_nested_keys)
{
    write_file("# farad\n"
               "data_dir: /var/lib/farad\n"
               "log:\n"
               "  level: warning\n"
               "proxy:\n"
               "  bind: \"127.0.0.1:18086\"\n"
               "  threads: 4\n"
               "  max_body: 32MiB\n"
               "  max_decoded_body: 1GB\n"
               "upstream:\n"
               "  url: http://influx:8086\n"
               "  connect_timeout: 1500ms\n"
               "  timeout: 1m\n"
               "  pool: 8\n"
               "tee:\n"
               "  dbrps: 'telegraf.autogen, metrics.*'\n"
               "  default_rp: autogen\n"
               "  ring_slots: 256\n"
               "  batch_limit: 64MB\n"
               "api: {bind: \":19092\"}\n");
    cr_assert_eq(fa_conf_load_file(&conf, path, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(conf.data_dir, "/var/lib/farad");
    cr_assert_str_eq(conf.log_level, "warning");
    cr_assert_str_eq(conf.proxy_bind, "127.0.0.1:18086");
    cr_assert_eq(conf.proxy_threads, 4);
    cr_assert_eq(conf.proxy_max_body, 32u << 20);
    cr_assert_eq(conf.proxy_max_decoded, 1000000000);
    cr_assert_str_eq(conf.upstream_url, "http://influx:8086");
    cr_assert_eq(conf.upstream_connect_timeout_ms, 1500);
    cr_assert_eq(conf.upstream_timeout_ms, 60000);
    cr_assert_eq(conf.upstream_pool, 8);
    cr_assert_str_eq(conf.tee_dbrps, "telegraf.autogen, metrics.*");
    cr_assert_eq(conf.tee_ring_slots, 256);
    cr_assert_eq(conf.tee_batch_limit, 64000000);
    cr_assert_str_eq(conf.api_bind, ":19092");
}

Test(conf, file_may_use_dotted_names_and_be_empty)
{
    write_file("proxy.threads: 3\n");
    cr_assert_eq(fa_conf_load_file(&conf, path, err, sizeof err), 0, "%s", err);
    cr_assert_eq(conf.proxy_threads, 3);
    unlink(path);
    write_file("# nothing set\n");
    cr_assert_eq(fa_conf_load_file(&conf, path, err, sizeof err), 0, "%s", err);
    cr_assert_eq(conf.proxy_threads, 3);
    cr_assert_str_eq(conf.proxy_bind, ":8086");
}

Test(conf, file_value_error_names_file_line_and_key)
{
    expect_file_error("# farad.yml\n"
                      "data_dir: ./var\n"
                      "log:\n"
                      "  level: info\n"
                      "\n"
                      "upstream:\n"
                      "  url: http://127.0.0.1:8087\n"
                      "  timeout: 10s\n"
                      "\n"
                      "# the proxy\n"
                      "proxy:\n"
                      "  threads: 100\n",
                      "12: proxy.threads: 100 is above the maximum 64");
}

Test(conf, file_unknown_key)
{
    expect_file_error("data_dir: ./var\n"
                      "proxy:\n"
                      "  bnd: \":8086\"\n",
                      "3: unknown key \"proxy.bnd\"");
}

Test(conf, file_unknown_section)
{
    expect_file_error("proxi:\n  bind: \":8086\"\n", "1: unknown key \"proxi\"");
}

Test(conf, file_invalid_duration)
{
    expect_file_error("upstream:\n"
                      "  url: http://127.0.0.1:8087\n"
                      "  pool: 4\n"
                      "\n"
                      "\n"
                      "  # slow link\n"
                      "  timeout: 10 parsecs\n",
                      "7: upstream.timeout: invalid duration \"10 parsecs\"");
}

Test(conf, file_wrong_node_kinds)
{
    expect_file_error("proxy:\n  bind:\n    host: x\n", "3: proxy.bind: expected a scalar, got a mapping");
    unlink(path);
    expect_file_error("tee:\n  dbrps: [a.b, c.d]\n", "2: tee.dbrps: expected a scalar, got a sequence");
    unlink(path);
    expect_file_error("data_dir: x\nproxy: 8086\n", "2: proxy: expected a mapping, got a scalar");
    unlink(path);
    expect_file_error("- a\n- b\n", "1: expected a mapping of keys at the top, got a sequence");
    unlink(path);
    expect_file_error("just words\n", "1: expected a mapping of keys at the top, got a scalar");
    unlink(path);
    expect_file_error("? [a, b]\n: 1\n", "1: expected a scalar key, got a sequence");
}

Test(conf, file_key_set_twice)
{
    expect_file_error("proxy:\n  bind: \":1\"\nproxy.bind: \":2\"\n", "3: proxy.bind: set twice (first on line 2)");
}

Test(conf, file_invalid_yaml_gives_libyaml_line)
{
    char want[128];

    write_file("data_dir: ./var\n"
               "proxy:\n"
               "  bind: \":8086\"\n"
               "  threads: [1, 2\n"
               "  pool: 3\n");
    cr_assert_eq(fa_conf_load_file(&conf, path, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s:", path);
    cr_assert(strncmp(err, want, strlen(want)) == 0, "%s", err);
    /* libyaml notices the unclosed flow sequence where the next key begins */
    const char *rest = err + strlen(want);
    cr_assert(strncmp(rest, "5: invalid YAML: ", 17) == 0, "%s", err);
    cr_assert_gt(strlen(rest), 17, "no libyaml problem in \"%s\"", err);

    unlink(path);
    write_file("a: 1\nb: 2\n\tc: 3\nd: 4\n");
    cr_assert_eq(fa_conf_load_file(&conf, path, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s:3: invalid YAML: ", path);
    cr_assert(strncmp(err, want, strlen(want)) == 0, "%s", err);
}

Test(conf, file_missing)
{
    cr_assert_eq(fa_conf_load_file(&conf, "/tmp/farad-conf-does-not-exist/farad.yml", err, sizeof err), -1);
    cr_assert_str_eq(err, "/tmp/farad-conf-does-not-exist/farad.yml: No such file or directory");
    cr_assert_eq(fa_conf_load_file(&conf, "farad-no-such.yml", err, sizeof err), -1);
    cr_assert_str_eq(err, "farad-no-such.yml: No such file or directory");
}

Test(conf, file_error_leaves_earlier_keys_and_later_untouched)
{
    write_file("proxy:\n  threads: 8\n  pool: 1\n  bind: \":1\"\n");
    cr_assert_eq(fa_conf_load_file(&conf, path, err, sizeof err), -1);
    cr_assert_eq(conf.proxy_threads, 8); /* set before the error */
    cr_assert_str_eq(conf.proxy_bind, ":8086");
}

/* ---- precedence: default < file < env < flags ---- */

Test(conf, precedence)
{
    char *env[] = { "FARAD_PROXY_BIND=:2", "FARAD_API_BIND=:20", NULL };

    write_file("proxy:\n  bind: \":1\"\n  threads: 4\napi:\n  bind: \":10\"\nupstream:\n  pool: 7\n");
    cr_assert_eq(fa_conf_load_file(&conf, path, err, sizeof err), 0, "%s", err);
    cr_assert_eq(fa_conf_load_env(&conf, env, err, sizeof err), 0, "%s", err);
    cr_assert_eq(fa_conf_set(&conf, "-proxy-bind", ":3", "-proxy-bind", err, sizeof err), 0, "%s", err);
    cr_assert_eq(fa_conf_set(&conf, "-upstream-pool", "9", "-upstream-pool", err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(conf.proxy_bind, ":3");  /* flag over env over file */
    cr_assert_str_eq(conf.api_bind, ":20");   /* env over file */
    cr_assert_eq(conf.proxy_threads, 4);      /* file over default */
    cr_assert_eq(conf.upstream_pool, 9);      /* flag over file */
    cr_assert_str_eq(conf.data_dir, "./var"); /* default */
}

/* ---- the dump ---- */

static void expect_same(const fa_conf_t *a, const fa_conf_t *b)
{
    for (const fa_conf_key_t *k = fa_conf_keys; k->name != NULL; k++) {
        const char *pa = (const char *)a + k->offset, *pb = (const char *)b + k->offset;
        if (k->type == FA_CONF_STR)
            cr_assert_str_eq(*(char *const *)(const void *)pa, *(char *const *)(const void *)pb, "%s", k->name);
        else
            cr_assert_eq(*(const uint64_t *)(const void *)pa, *(const uint64_t *)(const void *)pb, "%s", k->name);
    }
}

/* Dumps `conf`, loads the text into a fresh conf and compares every key. */
static void round_trip(void)
{
    fa_buf_t out = FA_BUF_INIT;
    fa_conf_t back;

    cr_assert_eq(fa_conf_dump(&conf, &out), 0);
    write_file(fa_buf_cstr(&out));
    fa_conf_init(&back);
    /* start `back` away from the values, so an unread key shows */
    cr_assert_eq(fa_conf_set(&back, "proxy.threads", "33", NULL, err, sizeof err), 0);
    cr_assert_eq(fa_conf_set(&back, "data_dir", "elsewhere", NULL, err, sizeof err), 0);
    cr_assert_eq(fa_conf_load_file(&back, path, err, sizeof err), 0, "%s\n%s", err, fa_buf_cstr(&out));
    expect_same(&conf, &back);
    fa_conf_deinit(&back);
    fa_buf_deinit(&out);
    unlink(path);
    path[0] = '\0';
}

Test(conf, dump_defaults_round_trip)
{
    round_trip();
}

Test(conf, dump_changed_values_round_trip)
{
    static const char *const kv[][2] = {
        { "data_dir", "/srv/\"farad\" #1\\x\ty: z" },
        { "log.level", "debug" },
        { "proxy.bind", "[::1]:18086" },
        { "proxy.threads", "12" },
        { "proxy.max_body", "1234567" },
        { "proxy.max_decoded_body", "3GiB" },
        { "api.bind", "0.0.0.0:9092" },
        { "upstream.url", "http://[::1]:8087/" },
        { "upstream.connect_timeout", "1m1s1ms" },
        { "upstream.timeout", "59m59s999ms" },
        { "upstream.pool", "1" },
        { "tee.dbrps", "a.b, c.*" },
        { "tee.default_rp", "" },
        { "tee.ring_slots", "65536" },
        { "tee.batch_limit", "1000000001" },
    };

    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
        cr_assert_eq(set(kv[i][0], kv[i][1]), 0, "%s", err);
    round_trip();
}

Test(conf, dump_groups_by_section_with_docs)
{
    fa_buf_t out = FA_BUF_INIT;

    cr_assert_eq(fa_conf_dump(&conf, &out), 0);
    const char *s = fa_buf_cstr(&out);
    cr_assert_not_null(strstr(s, "\nproxy:\n  # "), "%s", s);
    cr_assert_not_null(strstr(s, "  bind: \":8086\"\n"), "%s", s);
    cr_assert_not_null(strstr(s, "  max_body: 25MB\n"), "%s", s);
    cr_assert_not_null(strstr(s, "  max_decoded_body: 128MiB\n"), "%s", s);
    cr_assert_not_null(strstr(s, "  connect_timeout: 2s\n"), "%s", s);
    cr_assert_not_null(strstr(s, "data_dir: \"./var\"\n"), "%s", s);
    /* each section once, and each key right after its doc */
    cr_assert_null(strstr(strstr(s, "\nproxy:\n") + 1, "\nproxy:\n"));
    for (const fa_conf_key_t *k = fa_conf_keys; k->name != NULL; k++) {
        char line[256];
        const char *dot = strchr(k->name, '.');
        snprintf(line, sizeof line, "# %s\n%s%s: ", k->doc, dot ? "  " : "", dot ? dot + 1 : k->name);
        cr_assert_not_null(strstr(s, line), "no \"%s\" in\n%s", line, s);
    }
    fa_buf_deinit(&out);
}

Test(conf, httppost_endpoints_are_name_url_pairs)
{
    fa_conf_t c;
    char why[256];
    fa_conf_init(&c);
    cr_assert_str_eq(c.httppost_endpoints, "");
    cr_assert_eq(fa_conf_set(&c, "httppost.endpoints", "a=http://127.0.0.1:1/x,b=https://h/y", NULL, why, sizeof why), 0, "%s", why);
    cr_assert_str_eq(c.httppost_endpoints, "a=http://127.0.0.1:1/x,b=https://h/y");
    cr_assert_eq(fa_conf_set(&c, "httppost.endpoints", "a=ftp://h", NULL, why, sizeof why), -1);
    cr_assert(strstr(why, "httppost.endpoints") != NULL && strstr(why, "not an http") != NULL, "%s", why);
    cr_assert_eq(fa_conf_set(&c, "httppost.endpoints", "http://h", NULL, why, sizeof why), -1);
    cr_assert(strstr(why, "is not name=url") != NULL, "%s", why);
    cr_assert_eq(fa_conf_set(&c, "httppost.endpoints", "a=http://h,a=http://g", NULL, why, sizeof why), -1);
    cr_assert(strstr(why, "named twice") != NULL, "%s", why);
    cr_assert_str_eq(c.httppost_endpoints, "a=http://127.0.0.1:1/x,b=https://h/y");
    fa_conf_deinit(&c);
}
