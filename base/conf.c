/* base/conf.c - one key table (fa_conf_keys) drives everything: fa_conf_init applies its defaults,
 * the YAML loader maps nested mappings to dotted names, FARAD_* variables and flags derive their
 * names from it, and fa_conf_dump prints it back with the docs. Every value, whatever its source,
 * goes through set_key: parse by type, range check, the key's own check, then store. */
#include "base/conf.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "base/duration.h"
#include "base/err.h"
#include "base/log.h"

#define KIB 1024ull
#define MIB (1024ull * KIB)
#define GIB (1024ull * MIB)
#define OFF(field) offsetof(fa_conf_t, field)

enum { NAME_MAX_LEN = 128 };

static int check_log_level(const char *text, uint64_t num, char *why, size_t whylen);
static int check_upstream_url(const char *text, uint64_t num, char *why, size_t whylen);
static int check_dbrps(const char *text, uint64_t num, char *why, size_t whylen);
static int check_pow2(const char *text, uint64_t num, char *why, size_t whylen);
static int check_overflow(const char *text, uint64_t num, char *why, size_t whylen);
static int check_endpoints(const char *text, uint64_t num, char *why, size_t whylen);
static int check_advertise(const char *text, uint64_t num, char *why, size_t whylen);
static int check_subs_mode(const char *text, uint64_t num, char *why, size_t whylen);
static int check_subs_name(const char *text, uint64_t num, char *why, size_t whylen);

/* Sections appear in this order in `faradd config`; keys without a dot come first. */
const fa_conf_key_t fa_conf_keys[] = {
    { .name = "data_dir", .flag = "data-dir", .type = FA_CONF_STR, .offset = OFF(data_dir), .def = "./var",
      .doc = "directory for run files (and, later, the embedded PostgreSQL)" },
    { .name = "log.level", .flag = "log-level", .type = FA_CONF_STR, .offset = OFF(log_level), .def = "info",
      .check = check_log_level, .doc = "least severe level logged: error, warn, info or debug" },
    { .name = "proxy.bind", .type = FA_CONF_STR, .offset = OFF(proxy_bind), .def = ":8086",
      .doc = "HOST:PORT of the InfluxDB-compatible listener (empty host = all interfaces)" },
    { .name = "proxy.threads", .type = FA_CONF_UINT, .offset = OFF(proxy_threads), .def = "0", .max = 64,
      .doc = "event-loop threads of the proxy, 0 = one per core" },
    { .name = "proxy.max_body", .type = FA_CONF_SIZE, .offset = OFF(proxy_max_body), .def = "25000000",
      .min = 1024, .max = GIB, .doc = "largest write body as received; larger ones get InfluxDB's 413" },
    { .name = "proxy.max_decoded_body", .type = FA_CONF_SIZE, .offset = OFF(proxy_max_decoded), .def = "128MiB",
      .min = 1024, .max = 4 * GIB, .doc = "largest gunzipped write body the tee parses; larger ones are forwarded, not teed" },
    { .name = "api.bind", .type = FA_CONF_STR, .offset = OFF(api_bind), .def = ":9092",
      .doc = "HOST:PORT of the Kapacitor-compatible API (subscriptions, /debug/vars)" },
    { .name = "api.max_body", .type = FA_CONF_SIZE, .offset = OFF(api_max_body), .def = "4MiB", .min = 1024,
      .max = 256 * MIB, .doc = "largest request body of the task API (tasks, templates); larger ones get 413" },
    { .name = "upstream.url", .flag = "upstream", .type = FA_CONF_STR, .offset = OFF(upstream_url),
      .def = "http://127.0.0.1:8087", .check = check_upstream_url,
      .doc = "the InfluxDB 1.x every request is forwarded to: http://HOST[:PORT]" },
    { .name = "upstream.connect_timeout", .type = FA_CONF_DURATION, .offset = OFF(upstream_connect_timeout_ms),
      .def = "2s", .min = 1, .max = 600000, .doc = "how long connecting to the upstream may take" },
    { .name = "upstream.timeout", .type = FA_CONF_DURATION, .offset = OFF(upstream_timeout_ms), .def = "10s",
      .min = 1, .max = 3600000, .doc = "how long one read or write on an upstream socket may take" },
    { .name = "upstream.pool", .type = FA_CONF_UINT, .offset = OFF(upstream_pool), .def = "64", .min = 1,
      .max = 4096, .doc = "kept-alive upstream connections per event loop" },
    { .name = "tee.dbrps", .type = FA_CONF_STR, .offset = OFF(tee_dbrps), .def = "", .check = check_dbrps,
      .doc = "comma-separated db.rp (or db.*, or *) whose writes are parsed and teed, empty = none" },
    { .name = "tee.default_rp", .type = FA_CONF_STR, .offset = OFF(tee_default_rp), .def = "autogen",
      .doc = "retention policy a write without rp= is counted under" },
    { .name = "tee.ring_slots", .type = FA_CONF_UINT, .offset = OFF(tee_ring_slots), .def = "1024", .min = 4,
      .max = 65536, .check = check_pow2, .doc = "batches in flight per event loop to the engine, a power of two" },
    { .name = "tee.batch_limit", .type = FA_CONF_SIZE, .offset = OFF(tee_batch_limit), .def = "256MiB",
      .min = 64 * KIB, .max = 16 * GIB, .doc = "bytes one parsed batch may take; a larger body is not teed" },
    { .name = "engine.threads", .type = FA_CONF_UINT, .offset = OFF(engine_threads), .def = "1", .min = 1, .max = 64,
      .doc = "threads that run tasks; each task has a home thread, others take over its tasks while it is stalled" },
    { .name = "engine.queue_size", .type = FA_CONF_UINT, .offset = OFF(engine_queue_size), .def = "64", .min = 4,
      .max = 65536, .check = check_pow2, .doc = "batches a task's input queue holds (a power of two; it holds one less)" },
    { .name = "engine.backlog", .type = FA_CONF_UINT, .offset = OFF(engine_backlog), .def = "256", .max = 65536,
      .doc = "block policy: batches held for a task past its full queue, then dropped and counted" },
    { .name = "engine.overflow", .type = FA_CONF_STR, .offset = OFF(engine_overflow), .def = "drop",
      .check = check_overflow, .doc = "what a loaded task does with a full queue: drop (count the points) or block (use the backlog)" },
    { .name = "engine.idle_flush", .type = FA_CONF_DURATION, .offset = OFF(engine_idle_flush_ms), .def = "0",
      .max = 86400000, .doc = "loaded tasks: advance task time to the wall clock after this long without data, 0 = off" },
    { .name = "engine.stall_timeout", .type = FA_CONF_DURATION, .offset = OFF(engine_stall_timeout_ms), .def = "100ms",
      .min = 1, .max = 600000, .doc = "an engine thread this long inside one task counts as stalled: others run its other tasks" },
    { .name = "load.dir", .flag = "load-dir", .type = FA_CONF_STR, .offset = OFF(load_dir), .def = "",
      .doc = "Kapacitor's [load] directory: DIR/tasks/*.tick (with dbrp lines) start at startup, id = file name" },
    { .name = "httppost.endpoints", .type = FA_CONF_STR, .offset = OFF(httppost_endpoints), .def = "",
      .check = check_endpoints, .doc = "named URLs for httpPost().endpoint(name), as Kapacitor's [[httppost]]: name=url,name2=url2" },
    { .name = "pg.dsn", .flag = "pg", .type = FA_CONF_STR, .offset = OFF(pg_dsn), .def = "",
      .doc = "PostgreSQL for tasks, templates, recordings and replays: a libpq connection string"
             " (\"host=/run/pg dbname=farad\") or URI (postgresql://user@host/db); empty = none" },
    { .name = "pg.queue", .type = FA_CONF_UINT, .offset = OFF(pg_queue), .def = "1024", .min = 1, .max = 1 << 20,
      .doc = "requests waiting for the PostgreSQL thread at most; when full, a request fails at once (503)" },
    { .name = "pg.reconnect_max", .type = FA_CONF_DURATION, .offset = OFF(pg_reconnect_max_ms), .def = "2s",
      .min = 100, .max = 600000,
      .doc = "longest pause between reconnect attempts while PostgreSQL is down (from 100ms, doubling)" },
    { .name = "record.stream_buffer", .type = FA_CONF_SIZE, .offset = OFF(record_stream_buffer), .def = "64MiB",
      .min = 1024, .max = 16 * GIB,
      .doc = "bytes a stream recording holds between two writes to PostgreSQL; past it points are dropped and the recording fails" },
    { .name = "subs.enabled", .flag = "subscribe", .type = FA_CONF_BOOL, .offset = OFF(subs_enabled), .def = "false",
      .doc = "register as a subscription target of upstream.url (-subscribe); the proxy then tees only db.rp not subscribed" },
    { .name = "subs.name", .type = FA_CONF_STR, .offset = OFF(subs_name), .def = "", .check = check_subs_name,
      .doc = "subscription name, the same across restarts; empty = farad-<id>, the id made once in data_dir/subs.id" },
    { .name = "subs.advertise", .flag = "advertise", .type = FA_CONF_STR, .offset = OFF(subs_advertise), .def = "",
      .check = check_advertise, .doc = "URL InfluxDB pushes to (-advertise); empty = http://<api.bind host or hostname>:<API port>" },
    { .name = "subs.mode", .type = FA_CONF_STR, .offset = OFF(subs_mode), .def = "ANY", .check = check_subs_mode,
      .doc = "DESTINATIONS mode of the subscriptions: ANY or ALL" },
    { .name = "subs.include", .type = FA_CONF_STR, .offset = OFF(subs_include), .def = "*", .check = check_dbrps,
      .doc = "comma-separated db.rp (or db.*, or *) to subscribe to" },
    { .name = "subs.exclude", .type = FA_CONF_STR, .offset = OFF(subs_exclude), .def = "_internal.*,_kapacitor.autogen",
      .check = check_dbrps, .doc = "comma-separated db.rp (or db.*) never subscribed; ours found there are dropped" },
    { .name = "subs.sync_interval", .type = FA_CONF_DURATION, .offset = OFF(subs_sync_interval_ms), .def = "1m",
      .min = 100, .max = 86400000, .doc = "how often subscriptions are checked and repaired (new databases, wrong destinations)" },
    { .name = "subs.startup_timeout", .type = FA_CONF_DURATION, .offset = OFF(subs_startup_timeout_ms), .def = "5m",
      .max = 86400000, .doc = "retry with backoff this long for an absent upstream, then warn and retry each sync interval (farad keeps serving)" },
    { .name = "subs.drop_on_stop", .type = FA_CONF_BOOL, .offset = OFF(subs_drop_on_stop), .def = "true",
      .doc = "drop our subscriptions on a clean shutdown (SIGTERM), giving up after 5s" },
    { .name = "subs.drop_stale", .type = FA_CONF_BOOL, .offset = OFF(subs_drop_stale), .def = "false",
      .doc = "every sync drops other instances' farad-* subscriptions whose destinations do not answer /ping" },
    { .name = "subs.username", .type = FA_CONF_STR, .offset = OFF(subs_username), .def = "",
      .doc = "user for the upstream's /query (SHOW/CREATE/DROP SUBSCRIPTION needs admin with auth on), empty = none" },
    { .name = "subs.password", .type = FA_CONF_STR, .offset = OFF(subs_password), .def = "",
      .doc = "password of subs.username" },
    { .name = NULL },
};

/* ---- errors ---- */

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err != NULL && errlen != 0) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* ---- the table ---- */

static const fa_conf_key_t *find_name(const char *name)
{
    for (const fa_conf_key_t *k = fa_conf_keys; k->name != NULL; k++)
        if (strcmp(k->name, name) == 0)
            return k;
    return NULL;
}

/* true when `name` is a section: some key's name starts with "name." */
static bool is_section(const char *name)
{
    size_t n = strlen(name);

    for (const fa_conf_key_t *k = fa_conf_keys; k->name != NULL; k++)
        if (strncmp(k->name, name, n) == 0 && k->name[n] == '.')
            return true;
    return false;
}

/* The derived flag of a name: '.' and '_' become '-'. */
static bool derived_flag_eq(const char *name, const char *flag)
{
    for (; *name != '\0' && *flag != '\0'; name++, flag++) {
        char want = (*name == '.' || *name == '_') ? '-' : *name;
        if (want != *flag)
            return false;
    }
    return *name == '\0' && *flag == '\0';
}

const fa_conf_key_t *fa_conf_find_flag(const char *flag)
{
    if (flag[0] == '-')
        flag += flag[1] == '-' ? 2 : 1;
    for (const fa_conf_key_t *k = fa_conf_keys; k->name != NULL; k++)
        if (k->flag != NULL ? strcmp(k->flag, flag) == 0 : derived_flag_eq(k->name, flag))
            return k;
    return NULL;
}

/* The variable of a name: FARAD_ + upper case, '.' and '-' become '_'. `var` is NAME=value. */
static const fa_conf_key_t *find_env(const char *var, size_t len)
{
    if (len <= 6 || strncmp(var, "FARAD_", 6) != 0)
        return NULL;
    var += 6;
    len -= 6;
    for (const fa_conf_key_t *k = fa_conf_keys; k->name != NULL; k++) {
        size_t i = 0;
        for (; i < len && k->name[i] != '\0'; i++) {
            char c = k->name[i];
            char want = (c == '.' || c == '-') ? '_' : (char)toupper((unsigned char)c);
            if (want != var[i])
                break;
        }
        if (i == len && k->name[i] == '\0')
            return k;
    }
    return NULL;
}

/* ---- parsing values ---- */

/* Leading decimal digits of *s into *out; advances *s. -1 when there are none or they overflow. */
static int parse_digits(const char **s, uint64_t *out)
{
    const char *p = *s;
    uint64_t v = 0;

    if (!isdigit((unsigned char)*p))
        return -1;
    for (; isdigit((unsigned char)*p); p++) {
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *s = p;
    *out = v;
    return 0;
}

static int mul_overflows(uint64_t a, uint64_t b, uint64_t *out)
{
    if (b != 0 && a > UINT64_MAX / b)
        return -1;
    *out = a * b;
    return 0;
}

static int parse_uint(const char *s, uint64_t *out)
{
    return parse_digits(&s, out) == 0 && *s == '\0' ? 0 : -1;
}

static const struct unit {
    const char *suffix;
    uint64_t mul;
} size_units[] = {
    { "", 1 },         { "b", 1 },          { "kb", 1000 },     { "mb", 1000000 },   { "gb", 1000000000 },
    { "tb", 1000000000000ull }, { "kib", KIB }, { "mib", MIB }, { "gib", GIB }, { "tib", 1024 * GIB },
};

/* 1024, 64KB (1000), 64KiB (1024), 32MB, 1GiB; units in any case. */
static int parse_size(const char *s, uint64_t *out)
{
    uint64_t n;

    if (parse_digits(&s, &n) != 0)
        return -1;
    for (size_t i = 0; i < sizeof size_units / sizeof size_units[0]; i++)
        if (strcasecmp(s, size_units[i].suffix) == 0)
            return mul_overflows(n, size_units[i].mul, out);
    return -1;
}

/* 500ms, 10s, 5m, 1h, 1h30m: number+unit pairs, summed; a bare number is ms. Past the int64_t ns
 * range it saturates, so the range check below reports it as above the maximum. */
static int parse_duration(const char *s, uint64_t *out)
{
    int64_t ns;
    int rc = fa_duration_parse(fa_str_c(s), FA_DUR_CONF | FA_DUR_BARE_MS, &ns);

    if (rc == FA_ERANGE)
        return *out = UINT64_MAX, 0;
    if (rc != 0)
        return -1;
    *out = (uint64_t)ns / 1000000;
    return 0;
}

static int parse_bool(const char *s, uint64_t *out)
{
    static const char *const yes[] = { "true", "yes", "on", "1" }, *const no[] = { "false", "no", "off", "0" };

    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (strcasecmp(s, yes[i]) == 0)
            return *out = 1, 0;
        if (strcasecmp(s, no[i]) == 0)
            return *out = 0, 0;
    }
    return -1;
}

/* The largest exact unit, so that dumps and messages read the way people write them. */
static void format_size(char *out, size_t len, uint64_t v)
{
    static const struct unit units[] = {
        { "TiB", 1024 * GIB }, { "GiB", GIB }, { "MiB", MIB }, { "KiB", KIB },
        { "TB", 1000000000000ull }, { "GB", 1000000000 }, { "MB", 1000000 }, { "KB", 1000 },
    };

    for (size_t i = 0; v != 0 && i < sizeof units / sizeof units[0]; i++)
        if (v % units[i].mul == 0) {
            snprintf(out, len, "%" PRIu64 "%s", v / units[i].mul, units[i].suffix);
            return;
        }
    snprintf(out, len, "%" PRIu64, v);
}

static void format_duration(char *out, size_t len, uint64_t ms)
{
    static const struct unit units[] = { { "h", 3600000 }, { "m", 60000 }, { "s", 1000 }, { "ms", 1 } };
    size_t used = 0;

    if (ms == 0) {
        snprintf(out, len, "0ms");
        return;
    }
    out[0] = '\0';
    for (size_t i = 0; i < sizeof units / sizeof units[0] && used < len; i++) {
        uint64_t n = ms / units[i].mul;
        ms %= units[i].mul;
        if (n != 0) {
            int w = snprintf(out + used, len - used, "%" PRIu64 "%s", n, units[i].suffix);
            used += w > 0 ? (size_t)w : 0;
        }
    }
}

static void format_number(const fa_conf_key_t *k, char *out, size_t len, uint64_t v)
{
    if (k->type == FA_CONF_SIZE)
        format_size(out, len, v);
    else if (k->type == FA_CONF_DURATION)
        format_duration(out, len, v);
    else if (k->type == FA_CONF_BOOL)
        snprintf(out, len, "%s", v ? "true" : "false");
    else
        snprintf(out, len, "%" PRIu64, v);
}

/* Parses a numeric key's text and checks its range: 0, or -1 with `why`. */
static int parse_number(const fa_conf_key_t *k, const char *s, uint64_t *out, char *why, size_t whylen)
{
    char bound[32];
    int rc;

    switch (k->type) {
    case FA_CONF_UINT: rc = parse_uint(s, out); break;
    case FA_CONF_SIZE: rc = parse_size(s, out); break;
    case FA_CONF_BOOL: rc = parse_bool(s, out); break;
    default: rc = parse_duration(s, out); break;
    }
    if (rc != 0) {
        static const char *const what[] = { "string", "number", "size", "duration", "boolean (true or false)" };
        return fail(why, whylen, "invalid %s \"%s\"", what[k->type], s);
    }
    if (*out < k->min) {
        format_number(k, bound, sizeof bound, k->min);
        return fail(why, whylen, "%s is below the minimum %s", s, bound);
    }
    if (k->max != 0 && *out > k->max) {
        format_number(k, bound, sizeof bound, k->max);
        return fail(why, whylen, "%s is above the maximum %s", s, bound);
    }
    return 0;
}

/* ---- checks of single keys ---- */

static int check_log_level(const char *text, uint64_t num, char *why, size_t whylen)
{
    int lvl;

    if (fa_log_level_parse(text, &lvl) == 0)
        return 0;
    return fail(why, whylen, "unknown level \"%s\" (error, warn, info or debug)", text);
}

static bool is_port(const char *s, size_t n)
{
    uint64_t v = 0;

    if (n == 0 || n > 5)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    return v >= 1 && v <= 65535;
}

/* http://HOST[:PORT][/]: HOST a name, an IPv4 address or a bracketed IPv6 address. */
static int check_upstream_url(const char *text, uint64_t num, char *why, size_t whylen)
{
    const char *host, *end, *port = NULL;

    if (strncasecmp(text, "http://", 7) != 0)
        return fail(why, whylen, "\"%s\" is not an http:// URL", text);
    host = text + 7;
    if (memchr(host, '@', strcspn(host, "/?#")) != NULL)
        return fail(why, whylen, "\"%s\" has user info: pass credentials per request", text);
    if (*host == '[') {
        end = strchr(host, ']');
        if (end == NULL || end == host + 1)
            return fail(why, whylen, "\"%s\" has an unclosed IPv6 address", text);
        end++;
    } else {
        end = host + strcspn(host, ":/?# ");
    }
    if (end == host)
        return fail(why, whylen, "\"%s\" has no host", text);
    if (*end == ':') {
        port = end + 1;
        end = port + strcspn(port, "/?#");
        if (!is_port(port, (size_t)(end - port)))
            return fail(why, whylen, "\"%s\" has an invalid port", text);
    }
    if (*end != '\0' && strcmp(end, "/") != 0)
        return fail(why, whylen, "\"%s\" has a path or query: give only http://HOST[:PORT]", text);
    return 0;
}

/* A database or retention policy name in a tee.dbrps entry. */
static bool is_dbrp_name(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '.' || s[i] == '*' || s[i] == '"' || s[i] == '\'' || isspace((unsigned char)s[i]) ||
            iscntrl((unsigned char)s[i]))
            return false;
    return true;
}

/* One entry of tee.dbrps: "*", "db.*" or "db.rp". */
static bool is_dbrp(const char *s, size_t n)
{
    const char *dot = memchr(s, '.', n);

    if (n == 1 && s[0] == '*')
        return true;
    if (dot == NULL || !is_dbrp_name(s, (size_t)(dot - s)))
        return false;
    size_t rest = n - (size_t)(dot - s) - 1;
    return (rest == 1 && dot[1] == '*') || is_dbrp_name(dot + 1, rest);
}

/* A comma-separated list of entries, spaces allowed around them; "" is the empty list. */
static int check_overflow(const char *text, uint64_t num, char *why, size_t whylen)
{
    if (strcmp(text, "drop") == 0 || strcmp(text, "block") == 0)
        return 0;
    snprintf(why, whylen, "\"%s\" is not drop or block", text);
    return -1;
}

/* "name=url,...": a name without '=' or ',', an http:// or https:// url, no name twice */
static int check_endpoints(const char *text, uint64_t num, char *why, size_t whylen)
{
    const char *s = text;
    while (*s != 0) {
        size_t item = strcspn(s, ","), name = strcspn(s, "=,");
        if (name == 0 || name >= item) {
            snprintf(why, whylen, "\"%.*s\" is not name=url", (int)item, s);
            return -1;
        }
        const char *url = s + name + 1;
        size_t ulen = item - name - 1;
        if (!((ulen > 7 && strncmp(url, "http://", 7) == 0) || (ulen > 8 && strncmp(url, "https://", 8) == 0))) {
            snprintf(why, whylen, "endpoint \"%.*s\": \"%.*s\" is not an http:// or https:// url", (int)name, s, (int)ulen, url);
            return -1;
        }
        for (const char *p = text; p < s;) {
            size_t pn = strcspn(p, "="), pi = strcspn(p, ",");
            if (pn == name && strncmp(p, s, name) == 0) {
                snprintf(why, whylen, "endpoint \"%.*s\" is named twice", (int)name, s);
                return -1;
            }
            p += pi + (p[pi] == ',');
        }
        s += item + (s[item] == ',');
    }
    return 0;
}

static int check_dbrps(const char *text, uint64_t num, char *why, size_t whylen)
{
    const char *s = text;

    while (*s == ' ')
        s++;
    if (*s == '\0')
        return 0;
    for (;;) {
        size_t n = strcspn(s, ",");
        size_t m = n;
        while (m > 0 && s[m - 1] == ' ')
            m--;
        while (m > 0 && *s == ' ')
            s++, m--, n--;
        if (!is_dbrp(s, m))
            return fail(why, whylen, "\"%.*s\" must be db.rp, db.* or *", (int)m, s);
        if (s[n] == '\0')
            return 0;
        s += n + 1;
    }
}

/* "" or http(s)://HOST[:PORT][/PATH]: where InfluxDB pushes. */
static int check_advertise(const char *text, uint64_t num, char *why, size_t whylen)
{
    size_t skip = strncasecmp(text, "http://", 7) == 0 ? 7 : strncasecmp(text, "https://", 8) == 0 ? 8 : 0;

    if (*text == '\0')
        return 0;
    if (skip == 0)
        return fail(why, whylen, "\"%s\" is not an http:// or https:// URL", text);
    const char *host = text + skip;
    const char *at = memchr(host, '@', strcspn(host, "/"));
    if (at != NULL)
        host = at + 1;
    if (*host == '\0' || *host == '/' || *host == ':')
        return fail(why, whylen, "\"%s\" has no host", text);
    if (strpbrk(text, "' \"\\") != NULL)
        return fail(why, whylen, "\"%s\" has a quote, space or backslash", text);
    return 0;
}

static int check_subs_mode(const char *text, uint64_t num, char *why, size_t whylen)
{
    if (strcasecmp(text, "ANY") == 0 || strcasecmp(text, "ALL") == 0)
        return 0;
    return fail(why, whylen, "\"%s\" is not ANY or ALL", text);
}

/* A subscription name goes between double quotes in InfluxQL: no quotes, backslashes or control bytes. */
static int check_subs_name(const char *text, uint64_t num, char *why, size_t whylen)
{
    for (const char *p = text; *p != '\0'; p++)
        if (*p == '"' || *p == '\\' || *p == '\'' || iscntrl((unsigned char)*p))
            return fail(why, whylen, "\"%s\" has a quote, backslash or control character", text);
    if (strlen(text) > 200)
        return fail(why, whylen, "longer than 200 bytes");
    return 0;
}

static int check_pow2(const char *text, uint64_t num, char *why, size_t whylen)
{
    if (num != 0 && (num & (num - 1)) == 0)
        return 0;
    return fail(why, whylen, "%s is not a power of two", text);
}

/* ---- setting ---- */

static char **str_field(fa_conf_t *c, const fa_conf_key_t *k) { return (char **)(void *)((char *)c + k->offset); }
static uint64_t *num_field(fa_conf_t *c, const fa_conf_key_t *k)
{
    return (uint64_t *)(void *)((char *)c + k->offset);
}

/* Parses, validates and stores one value. Errors read "<source>: <name>: why" when name_in_msg,
 * else "<source>: why"; a NULL source gives "<name>: why". */
static int set_key(fa_conf_t *c, const fa_conf_key_t *k, const char *value, const char *source, bool name_in_msg,
                   char *err, size_t errlen)
{
    char why[384];
    uint64_t num = 0;
    int rc = 0;

    if (value == NULL)
        rc = fail(why, sizeof why, "missing value");
    else if (k->type != FA_CONF_STR)
        rc = parse_number(k, value, &num, why, sizeof why);
    if (rc == 0 && k->check != NULL)
        rc = k->check(value, num, why, sizeof why);
    if (rc != 0) {
        if (source == NULL)
            return fail(err, errlen, "%s: %s", k->name, why);
        if (name_in_msg)
            return fail(err, errlen, "%s: %s: %s", source, k->name, why);
        return fail(err, errlen, "%s: %s", source, why);
    }
    if (k->type == FA_CONF_STR) {
        char *copy = strdup(value);
        if (copy == NULL)
            return fail(err, errlen, "%s: out of memory", k->name);
        free(*str_field(c, k));
        *str_field(c, k) = copy;
    } else {
        *num_field(c, k) = num;
    }
    return 0;
}

void fa_conf_init(fa_conf_t *c)
{
    char err[256];

    memset(c, 0, sizeof *c);
    for (const fa_conf_key_t *k = fa_conf_keys; k->name != NULL; k++)
        if (set_key(c, k, k->def, "default", true, err, sizeof err) != 0) {
            /* a broken table is a bug in this file, found by the first test run */
            fprintf(stderr, "farad: bad built-in %s\n", err);
            abort();
        }
}

void fa_conf_deinit(fa_conf_t *c)
{
    for (const fa_conf_key_t *k = fa_conf_keys; k->name != NULL; k++)
        if (k->type == FA_CONF_STR) {
            free(*str_field(c, k));
            *str_field(c, k) = NULL;
        }
}

int fa_conf_set(fa_conf_t *c, const char *key_or_flag, const char *value, const char *source, char *err,
                size_t errlen)
{
    const fa_conf_key_t *k = find_name(key_or_flag);
    char flag_source[NAME_MAX_LEN + 2];
    bool by_flag = false;

    if (k == NULL) {
        k = fa_conf_find_flag(key_or_flag);
        by_flag = true;
    }
    if (k == NULL) {
        if (source != NULL && source[0] == '-')
            return fail(err, errlen, "%s: unknown flag", source);
        if (source != NULL)
            return fail(err, errlen, "%s: unknown key \"%s\"", source, key_or_flag);
        return fail(err, errlen, "unknown key or flag \"%s\"", key_or_flag);
    }
    if (source == NULL && by_flag) {
        snprintf(flag_source, sizeof flag_source, "-%s", key_or_flag + strspn(key_or_flag, "-"));
        source = flag_source;
    }
    bool names_key = source != NULL && (source[0] == '-' || strncmp(source, "FARAD_", 6) == 0);
    return set_key(c, k, value, source, !names_key, err, errlen);
}

int fa_conf_load_env(fa_conf_t *c, char *const *envp, char *err, size_t errlen)
{
    extern char **environ;
    char var[NAME_MAX_LEN + 8];

    if (envp == NULL)
        envp = environ;
    for (; *envp != NULL; envp++) {
        const char *eq = strchr(*envp, '=');
        if (eq == NULL || (size_t)(eq - *envp) >= sizeof var)
            continue;
        const fa_conf_key_t *k = find_env(*envp, (size_t)(eq - *envp));
        if (k == NULL)
            continue; /* not ours, or a FARAD_ variable that names no key (FARAD_BUILD_DIR) */
        memcpy(var, *envp, (size_t)(eq - *envp));
        var[eq - *envp] = '\0';
        if (set_key(c, k, eq + 1, var, false, err, errlen) != 0)
            return -1;
    }
    return 0;
}

/* ---- the YAML file ---- */

struct loader {
    fa_conf_t *c;
    yaml_document_t *doc;
    const char *path;
    unsigned seen[sizeof fa_conf_keys / sizeof fa_conf_keys[0]]; /* line a key was set on, 0 = not yet */
    char *err;
    size_t errlen;
};

static unsigned line_of(const yaml_node_t *n) { return (unsigned)n->start_mark.line + 1; }

static const char *kind_name(const yaml_node_t *n)
{
    return n->type == YAML_MAPPING_NODE ? "a mapping" : n->type == YAML_SEQUENCE_NODE ? "a sequence" : "a scalar";
}

static int load_mapping(struct loader *l, const yaml_node_t *map, const char *prefix);

/* One `key: value` pair, `name` being its full dotted name. */
static int load_pair(struct loader *l, const char *name, const yaml_node_t *key, const yaml_node_t *val)
{
    const fa_conf_key_t *k = find_name(name);
    char source[NAME_MAX_LEN + 4096];

    if (k != NULL) {
        size_t i = (size_t)(k - fa_conf_keys);
        if (val->type != YAML_SCALAR_NODE)
            return fail(l->err, l->errlen, "%s:%u: %s: expected a scalar, got %s", l->path, line_of(val), name,
                        kind_name(val));
        if (l->seen[i] != 0)
            return fail(l->err, l->errlen, "%s:%u: %s: set twice (first on line %u)", l->path, line_of(key), name,
                        l->seen[i]);
        l->seen[i] = line_of(key);
        snprintf(source, sizeof source, "%s:%u", l->path, line_of(val));
        return set_key(l->c, k, (const char *)val->data.scalar.value, source, true, l->err, l->errlen);
    }
    if (!is_section(name))
        return fail(l->err, l->errlen, "%s:%u: unknown key \"%s\"", l->path, line_of(key), name);
    if (val->type != YAML_MAPPING_NODE)
        return fail(l->err, l->errlen, "%s:%u: %s: expected a mapping, got %s", l->path, line_of(val), name,
                    kind_name(val));
    return load_mapping(l, val, name);
}

static int load_mapping(struct loader *l, const yaml_node_t *map, const char *prefix)
{
    char name[NAME_MAX_LEN];

    for (const yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        const yaml_node_t *key = yaml_document_get_node(l->doc, p->key);
        const yaml_node_t *val = yaml_document_get_node(l->doc, p->value);
        if (key->type != YAML_SCALAR_NODE)
            return fail(l->err, l->errlen, "%s:%u: expected a scalar key, got %s", l->path, line_of(key),
                        kind_name(key));
        const char *kname = (const char *)key->data.scalar.value;
        int n = snprintf(name, sizeof name, "%s%s%s", prefix, *prefix ? "." : "", kname);
        if (n < 0 || (size_t)n >= sizeof name)
            return fail(l->err, l->errlen, "%s:%u: unknown key \"%s%s%.40s...\"", l->path, line_of(key), prefix,
                        *prefix ? "." : "", kname);
        if (load_pair(l, name, key, val) != 0)
            return -1;
    }
    return 0;
}

static int load_document(struct loader *l)
{
    const yaml_node_t *root = yaml_document_get_root_node(l->doc);

    if (root == NULL)
        return 0; /* an empty file sets nothing */
    if (root->type == YAML_SCALAR_NODE && root->data.scalar.length == 0)
        return 0;
    if (root->type != YAML_MAPPING_NODE)
        return fail(l->err, l->errlen, "%s:%u: expected a mapping of keys at the top, got %s", l->path, line_of(root),
                    kind_name(root));
    return load_mapping(l, root, "");
}

int fa_conf_load_file(fa_conf_t *c, const char *path, char *err, size_t errlen)
{
    struct loader l = { .c = c, .path = path, .err = err, .errlen = errlen };
    yaml_parser_t parser;
    yaml_document_t doc;
    int rc;

    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return fail(err, errlen, "%s: %s", path, strerror(errno));
    if (!yaml_parser_initialize(&parser)) {
        fclose(f);
        return fail(err, errlen, "%s: out of memory", path);
    }
    yaml_parser_set_input_file(&parser, f);
    if (!yaml_parser_load(&parser, &doc)) {
        rc = fail(err, errlen, "%s:%u: invalid YAML: %s", path, (unsigned)parser.problem_mark.line + 1,
                  parser.problem ? parser.problem : "unknown error");
    } else {
        l.doc = &doc;
        rc = load_document(&l);
        yaml_document_delete(&doc);
    }
    yaml_parser_delete(&parser);
    fclose(f);
    return rc;
}

/* ---- the dump ---- */

/* A YAML double-quoted scalar. */
static int dump_quoted(fa_buf_t *out, const char *s)
{
    int rc = fa_buf_append_c(out, "\"");

    for (; rc == 0 && s != NULL && *s != '\0'; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            rc = fa_buf_appendf(out, "\\%c", ch);
        else if (ch < 0x20 || ch == 0x7f)
            rc = fa_buf_appendf(out, "\\x%02x", ch);
        else
            rc = fa_buf_append(out, s, 1);
    }
    return rc != 0 ? rc : fa_buf_append_c(out, "\"");
}

static int dump_key(const fa_conf_t *c, const fa_conf_key_t *k, const char *indent, fa_buf_t *out)
{
    const char *dot = strchr(k->name, '.');
    char num[32];
    int rc = fa_buf_appendf(out, "%s# %s\n%s%s: ", indent, k->doc, indent, dot ? dot + 1 : k->name);

    if (rc != 0)
        return rc;
    if (k->type == FA_CONF_STR)
        rc = dump_quoted(out, *str_field((fa_conf_t *)c, k));
    else {
        format_number(k, num, sizeof num, *num_field((fa_conf_t *)c, k));
        rc = fa_buf_append_c(out, num);
    }
    return rc != 0 ? rc : fa_buf_append_c(out, "\n");
}

static bool same_section(const char *a, const char *b)
{
    const char *da = strchr(a, '.'), *db = strchr(b, '.');
    return da != NULL && db != NULL && da - a == db - b && strncmp(a, b, (size_t)(da - a)) == 0;
}

/* Emits the section of keys[i] with all its keys, unless an earlier key already did. */
static int dump_section(const fa_conf_t *c, size_t i, fa_buf_t *out)
{
    const fa_conf_key_t *k = &fa_conf_keys[i];
    int rc;

    for (size_t j = 0; j < i; j++)
        if (same_section(fa_conf_keys[j].name, k->name))
            return 0;
    rc = fa_buf_appendf(out, "\n%.*s:\n", (int)(strchr(k->name, '.') - k->name), k->name);
    for (size_t j = i; rc == 0 && fa_conf_keys[j].name != NULL; j++)
        if (same_section(fa_conf_keys[j].name, k->name))
            rc = dump_key(c, &fa_conf_keys[j], "  ", out);
    return rc;
}

int fa_conf_dump(const fa_conf_t *c, fa_buf_t *out)
{
    int rc = fa_buf_append_c(out, "# farad configuration. Precedence, lowest first: these defaults, this file,\n"
                                  "# FARAD_<SECTION>_<KEY> environment variables, -<section>-<key> flags.\n");

    for (size_t i = 0; rc == 0 && fa_conf_keys[i].name != NULL; i++)
        if (strchr(fa_conf_keys[i].name, '.') == NULL)
            rc = dump_key(c, &fa_conf_keys[i], "", out);
    for (size_t i = 0; rc == 0 && fa_conf_keys[i].name != NULL; i++)
        if (strchr(fa_conf_keys[i].name, '.') != NULL)
            rc = dump_section(c, i, out);
    return rc;
}
