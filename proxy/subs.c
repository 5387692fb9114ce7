/* proxy/subs.c - the subscription manager (see subs.h for what it does and the counting rule).
 *
 * The manager thread owns the libcurl handle and everything a sync builds (one arena per sync).
 * Other threads touch only atomics: the stop and sync requests, the counters, and the set of
 * linked db.rp the proxy asks before teeing. That set only grows while farad runs, is written by
 * the manager alone (a key is published with a release store into an empty slot) and is read
 * without locks; its keys are freed with the manager, after every event loop has stopped. */
#include "proxy/subs.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "proxy/tee.h"

enum {
    SET_SLOTS = 4096,          /* linked db.rp the proxy can look up; past that every selected db.rp counts as linked */
    STOP_BUDGET_MS = 5000,     /* dropping ours on stop gives up after this */
    PROBE_TIMEOUT_MS = 1000,   /* a destination that does not answer /ping in this time is dead */
    BACKOFF_MIN_MS = 250,
    BACKOFF_MAX_MS = 5000,
    MAX_RESPONSE = 64 << 20,   /* a larger /query answer is an error */
};

/* A linked db.rp: "db" NUL "rp". */
struct dbrp_key {
    uint32_t db_len, rp_len;
    char bytes[];
};

struct proxy_subs {
    const fa_conf_t *conf;
    char name[256];            /* "farad-<id>" or subs.name */
    char url[512];             /* advertised destination */
    char mode[4];              /* "ANY" or "ALL" */
    proxy_tee_filter_t include, exclude;
    pthread_t tid;
    bool started, stopped;
    pthread_mutex_t lock;      /* guards the condition variable only */
    pthread_cond_t wake;
    atomic_bool stopping, sync_asked, stale_asked;
    atomic_bool decided;       /* a sync got as far as marking, or the startup timeout passed */
    atomic_bool set_full;
    _Atomic(struct dbrp_key *) set[SET_SLOTS];
    unsigned set_n;            /* manager thread only */
    /* counters (proxy_subs_stats_t) */
    atomic_uint_fast64_t n_subs, n_syncs, n_links, n_repairs, n_drops, n_stale, n_errors;
    atomic_bool linked;
    /* manager thread only */
    CURL *curl;
    fa_buf_t resp;
    bool final;                /* dropping on stop: a stop request no longer cuts requests short */
    char curl_err[CURL_ERROR_SIZE];
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* ---- the set of linked db.rp ---- */

static uint64_t dbrp_hash(fa_str_t db, fa_str_t rp)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < db.len; i++)
        h = (h ^ (unsigned char)db.ptr[i]) * 0x100000001b3ull;
    h = (h ^ 0xff) * 0x100000001b3ull; /* separator: "a"+"bc" differs from "ab"+"c" */
    for (size_t i = 0; i < rp.len; i++)
        h = (h ^ (unsigned char)rp.ptr[i]) * 0x100000001b3ull;
    return h;
}

static bool key_is(const struct dbrp_key *k, fa_str_t db, fa_str_t rp)
{
    return k->db_len == db.len && k->rp_len == rp.len && memcmp(k->bytes, db.ptr, db.len) == 0 &&
           memcmp(k->bytes + db.len + 1, rp.ptr, rp.len) == 0;
}

static bool set_has(proxy_subs_t *s, fa_str_t db, fa_str_t rp)
{
    uint64_t h = dbrp_hash(db, rp);
    for (unsigned i = 0; i < SET_SLOTS; i++) {
        struct dbrp_key *k = atomic_load_explicit(&s->set[(h + i) & (SET_SLOTS - 1)], memory_order_acquire);
        if (k == NULL)
            return false;
        if (key_is(k, db, rp))
            return true;
    }
    return false;
}

/* Manager thread only. Full (or out of memory): every db.rp the filter selects counts as linked. */
static void set_add(proxy_subs_t *s, fa_str_t db, fa_str_t rp)
{
    if (set_has(s, db, rp))
        return;
    struct dbrp_key *k = s->set_n < SET_SLOTS / 2 ? malloc(sizeof(*k) + db.len + rp.len + 2) : NULL;
    if (k == NULL) {
        if (!atomic_exchange(&s->set_full, true))
            FA_LOG(FA_WARN, "subscriptions: more than %d linked db.rp: the proxy tees none of the subscribed ones",
                   SET_SLOTS / 2);
        return;
    }
    k->db_len = (uint32_t)db.len;
    k->rp_len = (uint32_t)rp.len;
    memcpy(k->bytes, db.ptr, db.len);
    k->bytes[db.len] = '\0';
    memcpy(k->bytes + db.len + 1, rp.ptr, rp.len);
    k->bytes[db.len + 1 + rp.len] = '\0';
    uint64_t h = dbrp_hash(db, rp);
    for (unsigned i = 0;; i++) {
        _Atomic(struct dbrp_key *) *slot = &s->set[(h + i) & (SET_SLOTS - 1)];
        if (atomic_load_explicit(slot, memory_order_relaxed) == NULL) {
            atomic_store_explicit(slot, k, memory_order_release);
            break;
        }
    }
    s->set_n++;
}

static bool selected(const proxy_subs_t *s, fa_str_t db, fa_str_t rp)
{
    return proxy_tee_filter_match(&s->include, db, rp) && !proxy_tee_filter_match(&s->exclude, db, rp);
}

bool proxy_subs_covers(proxy_subs_t *s, fa_str_t db, fa_str_t rp)
{
    if (s == NULL || !selected(s, db, rp))
        return false;
    if (!atomic_load_explicit(&s->decided, memory_order_acquire) || atomic_load_explicit(&s->set_full, memory_order_acquire))
        return true;
    return set_has(s, db, rp);
}

/* ---- HTTP to the upstream (libcurl, this thread only) ---- */

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
    fa_buf_t *b = arg;
    if (b->len + size * n > MAX_RESPONSE || fa_buf_append(b, p, size * n) != 0)
        return 0; /* curl fails the transfer with CURLE_WRITE_ERROR */
    return size * n;
}

static int on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    proxy_subs_t *s = arg;
    return !s->final && atomic_load_explicit(&s->stopping, memory_order_acquire) ? 1 : 0;
}

/* One request: GET when post is NULL, else a form POST. 0 with *status (the body in s->resp), or
 * -1 with err ("GET http://h:p/ping: Connection refused"). */
static int http_do(proxy_subs_t *s, const char *url, const char *post, long timeout_ms, long *status, char *err,
                   size_t errlen)
{
    CURL *c = s->curl;
    curl_easy_reset(c); /* keeps the connection cache */
    fa_buf_clear(&s->resp);
    s->curl_err[0] = '\0';
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)s->conf->upstream_connect_timeout_ms < timeout_ms
                                                       ? (long)s->conf->upstream_connect_timeout_ms : timeout_ms);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s->resp);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, s);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, s->curl_err);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "farad/" FARAD_VERSION);
    if (post != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, post);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(post));
    }
    if (*s->conf->subs_username) {
        curl_easy_setopt(c, CURLOPT_USERNAME, s->conf->subs_username);
        curl_easy_setopt(c, CURLOPT_PASSWORD, s->conf->subs_password);
    }
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK)
        return fail(err, errlen, "%s %s: %s", post ? "POST" : "GET", url, s->curl_err[0] ? s->curl_err : curl_easy_strerror(rc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    return 0;
}

/* Runs one InfluxQL statement upstream. Its result object (results[0]) with *doc to decref, or
 * NULL with err ("upstream http://h:p: CREATE SUBSCRIPTION ...: subscription already exists"). */
static json_t *influx_query(proxy_subs_t *s, const char *q, json_t **doc, long timeout_ms, char *err, size_t errlen)
{
    char url[600], why[300];
    long status = 0;
    char *enc = curl_easy_escape(s->curl, q, 0);
    char *form = NULL;
    *doc = NULL;
    if (enc == NULL || asprintf(&form, "q=%s", enc) < 0) {
        curl_free(enc);
        fail(err, errlen, "out of memory for a query");
        return NULL;
    }
    curl_free(enc);
    const char *u = s->conf->upstream_url;
    size_t ulen = strlen(u);
    snprintf(url, sizeof url, "%.*s/query", (int)(ulen > 0 && u[ulen - 1] == '/' ? ulen - 1 : ulen), u);
    int rc = http_do(s, url, form, timeout_ms, &status, why, sizeof why);
    free(form);
    if (rc != 0) {
        fail(err, errlen, "%.80s: %s", q, why);
        return NULL;
    }
    json_error_t jerr;
    json_t *d = json_loadb(s->resp.ptr ? s->resp.ptr : "", s->resp.len, 0, &jerr);
    json_t *res = json_array_get(json_object_get(d, "results"), 0);
    const char *e = json_string_value(json_object_get(d, "error"));
    if (e == NULL)
        e = json_string_value(json_object_get(res, "error"));
    if (status != 200 || e != NULL || !json_is_object(res)) {
        fail(err, errlen, "upstream %s: %.80s: status %ld: %s", s->conf->upstream_url, q, status,
             e ? e : d == NULL ? "not JSON" : "no result");
        json_decref(d);
        return NULL;
    }
    *doc = d;
    return res;
}

/* ---- InfluxQL text ---- */

/* A double-quoted identifier. */
static void add_ident(fa_buf_t *b, const char *s)
{
    fa_buf_append_c(b, "\"");
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fa_buf_append_c(b, "\\");
        fa_buf_append(b, s, 1);
    }
    fa_buf_append_c(b, "\"");
}

/* "<verb> SUBSCRIPTION "name" ON "db"."rp"" and, for CREATE, the destinations. */
static const char *statement(fa_buf_t *b, const char *verb, const char *name, const char *db, const char *rp,
                             const char *mode, const char *url)
{
    fa_buf_clear(b);
    fa_buf_appendf(b, "%s SUBSCRIPTION ", verb);
    add_ident(b, name);
    fa_buf_append_c(b, " ON ");
    add_ident(b, db);
    fa_buf_append_c(b, ".");
    add_ident(b, rp);
    if (url != NULL)
        fa_buf_appendf(b, " DESTINATIONS %s '%s'", mode, url); /* the URL has no quote (conf check) */
    return fa_buf_cstr(b);
}

/* ---- one sync ---- */

struct dbrp {
    const char *db, *rp;
    bool ours_ok;              /* ours exists with the right destination and mode */
};

/* A row of SHOW SUBSCRIPTIONS. */
struct sub_row {
    const char *db, *rp, *name, *mode;
    json_t *dests;
};

struct sync {
    proxy_subs_t *s;
    fa_arena_t arena;          /* strings copied out of the JSON answers */
    struct dbrp *want;
    size_t n_want, cap_want;
    struct sub_row *rows;
    size_t n_rows;
    json_t *subs_doc;          /* SHOW SUBSCRIPTIONS answer: rows point into it */
    fa_buf_t q;
    long timeout_ms;
    char err[512];
};

static int want_add(struct sync *y, const char *db, const char *rp)
{
    if (y->n_want == y->cap_want) {
        size_t cap = y->cap_want ? y->cap_want * 2 : 64;
        struct dbrp *w = realloc(y->want, cap * sizeof(*w));
        if (w == NULL)
            return fail(y->err, sizeof y->err, "out of memory listing retention policies");
        y->want = w;
        y->cap_want = cap;
    }
    y->want[y->n_want++] = (struct dbrp){ .db = fa_arena_strndup(&y->arena, db, strlen(db)),
                                          .rp = fa_arena_strndup(&y->arena, rp, strlen(rp)) };
    return 0;
}

/* First column values of a result's first series, as strings; NULL entries are skipped. */
static json_t *first_series_values(json_t *res) { return json_object_get(json_array_get(json_object_get(res, "series"), 0), "values"); }

/* SHOW DATABASES, then SHOW RETENTION POLICIES ON each: the db.rp the filter selects. */
static int list_wanted(struct sync *y)
{
    proxy_subs_t *s = y->s;
    json_t *doc, *res = influx_query(s, "SHOW DATABASES", &doc, y->timeout_ms, y->err, sizeof y->err);
    if (res == NULL)
        return -1;
    json_t *dbs = first_series_values(res), *row;
    size_t i;
    int rc = 0;
    json_array_foreach(dbs, i, row) {
        const char *db = json_string_value(json_array_get(row, 0));
        if (db == NULL)
            continue;
        fa_buf_clear(&y->q);
        fa_buf_append_c(&y->q, "SHOW RETENTION POLICIES ON ");
        add_ident(&y->q, db);
        json_t *rdoc, *rres = influx_query(s, fa_buf_cstr(&y->q), &rdoc, y->timeout_ms, y->err, sizeof y->err);
        if (rres == NULL) {
            rc = -1;
            break;
        }
        json_t *rrow;
        size_t j;
        json_array_foreach(first_series_values(rres), j, rrow) {
            const char *rp = json_string_value(json_array_get(rrow, 0));
            if (rp != NULL && selected(s, fa_str_c(db), fa_str_c(rp)) && want_add(y, db, rp) != 0)
                rc = -1;
        }
        json_decref(rdoc);
        if (rc != 0)
            break;
    }
    json_decref(doc);
    return rc;
}

static int column_index(json_t *series, const char *name)
{
    json_t *col;
    size_t i;
    json_array_foreach(json_object_get(series, "columns"), i, col)
        if (json_is_string(col) && strcmp(json_string_value(col), name) == 0)
            return (int)i;
    return -1;
}

/* SHOW SUBSCRIPTIONS: one series per database with retention_policy, name, mode, destinations. */
static int list_subscriptions(struct sync *y)
{
    json_t *res = influx_query(y->s, "SHOW SUBSCRIPTIONS", &y->subs_doc, y->timeout_ms, y->err, sizeof y->err);
    if (res == NULL)
        return -1;
    json_t *series = json_object_get(res, "series"), *ser;
    size_t i, total = 0;
    json_array_foreach(series, i, ser)
        total += json_array_size(json_object_get(ser, "values"));
    y->rows = calloc(total + 1, sizeof(*y->rows));
    if (y->rows == NULL)
        return fail(y->err, sizeof y->err, "out of memory listing subscriptions");
    json_array_foreach(series, i, ser) {
        int c_rp = column_index(ser, "retention_policy"), c_name = column_index(ser, "name");
        int c_mode = column_index(ser, "mode"), c_dest = column_index(ser, "destinations");
        const char *db = json_string_value(json_object_get(ser, "name"));
        json_t *v;
        size_t j;
        json_array_foreach(json_object_get(ser, "values"), j, v) {
            struct sub_row r = { .db = db,
                                 .rp = json_string_value(json_array_get(v, (size_t)c_rp)),
                                 .name = json_string_value(json_array_get(v, (size_t)c_name)),
                                 .mode = json_string_value(json_array_get(v, (size_t)c_mode)),
                                 .dests = json_array_get(v, (size_t)c_dest) };
            if (db != NULL && r.rp != NULL && r.name != NULL && c_rp >= 0 && c_name >= 0)
                y->rows[y->n_rows++] = r;
        }
    }
    return 0;
}

/* Runs a statement; logs a failure (the caller counts it). */
static int exec(struct sync *y, const char *q)
{
    json_t *doc;
    char why[512];
    if (influx_query(y->s, q, &doc, y->timeout_ms, why, sizeof why) == NULL) {
        FA_LOG(FA_WARN, "subscriptions: %s", why);
        snprintf(y->err, sizeof y->err, "%s", why);
        return -1;
    }
    json_decref(doc);
    return 0;
}

/* Same URL, but for a trailing slash. */
static bool same_url(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    while (la > 0 && a[la - 1] == '/')
        la--;
    while (lb > 0 && b[lb - 1] == '/')
        lb--;
    return la == lb && strncasecmp(a, b, la) == 0;
}

static bool row_is_right(const proxy_subs_t *s, const struct sub_row *r)
{
    return r->mode != NULL && strcasecmp(r->mode, s->mode) == 0 && json_array_size(r->dests) == 1 &&
           json_is_string(json_array_get(r->dests, 0)) && same_url(json_string_value(json_array_get(r->dests, 0)), s->url);
}

static struct dbrp *find_want(struct sync *y, const char *db, const char *rp)
{
    for (size_t i = 0; i < y->n_want; i++)
        if (strcmp(y->want[i].db, db) == 0 && strcmp(y->want[i].rp, rp) == 0)
            return &y->want[i];
    return NULL;
}

/* Whether some destination of a subscription answers /ping (any HTTP status is an answer). */
static bool destination_answers(proxy_subs_t *s, json_t *dests)
{
    json_t *d;
    size_t i;
    json_array_foreach(dests, i, d) {
        const char *u = json_string_value(d);
        char url[600], why[300];
        long status = 0;
        if (u == NULL || strncasecmp(u, "http", 4) != 0) /* udp:// cannot be probed: keep it */
            return true;
        snprintf(url, sizeof url, "%.*s/ping", (int)(strlen(u) - (u[strlen(u) - 1] == '/')), u);
        if (http_do(s, url, NULL, PROBE_TIMEOUT_MS, &status, why, sizeof why) == 0)
            return true;
        FA_LOG(FA_DEBUG, "subscriptions: probe %s", why);
    }
    return false;
}

/* Other instances' farad-* subscriptions that are dead, or that point at our own URL (a previous
 * instance here whose data_dir was lost: it would deliver every point a second time). */
static void drop_stale(struct sync *y)
{
    proxy_subs_t *s = y->s;
    for (size_t i = 0; i < y->n_rows && !atomic_load(&s->stopping); i++) {
        struct sub_row *r = &y->rows[i];
        if (strncmp(r->name, "farad-", 6) != 0 || strcmp(r->name, s->name) == 0)
            continue;
        bool ours_too = false;
        json_t *d;
        size_t j;
        json_array_foreach(r->dests, j, d)
            ours_too |= json_is_string(d) && same_url(json_string_value(d), s->url);
        if (!ours_too && destination_answers(s, r->dests))
            continue;
        if (exec(y, statement(&y->q, "DROP", r->name, r->db, r->rp, NULL, NULL)) == 0) {
            atomic_fetch_add(&s->n_stale, 1);
            FA_LOG(FA_INFO, "subscriptions: dropped stale \"%s\" on \"%s\".\"%s\" (%s)", r->name, r->db, r->rp,
                   ours_too ? "it points at our own URL" : "no destination answers /ping");
        }
    }
}

/* Steps 4-7 of a sync: repair or drop ours, create the missing ones. */
static int reconcile(struct sync *y)
{
    proxy_subs_t *s = y->s;
    int rc = 0;
    uint64_t n = 0;
    /* mark first: from here the proxy does not tee these db.rp, before any push can start */
    for (size_t i = 0; i < y->n_want; i++)
        set_add(s, fa_str_c(y->want[i].db), fa_str_c(y->want[i].rp));
    atomic_store_explicit(&s->decided, true, memory_order_release);
    for (size_t i = 0; i < y->n_rows; i++) {
        struct sub_row *r = &y->rows[i];
        if (strcmp(r->name, s->name) != 0)
            continue;
        struct dbrp *w = find_want(y, r->db, r->rp);
        if (w != NULL && row_is_right(s, r)) {
            w->ours_ok = true;
            n++;
            continue;
        }
        if (exec(y, statement(&y->q, "DROP", s->name, r->db, r->rp, NULL, NULL)) != 0) {
            rc = -1;
            continue;
        }
        if (w == NULL) {
            atomic_fetch_add(&s->n_drops, 1);
            FA_LOG(FA_INFO, "subscriptions: dropped \"%s\" on excluded \"%s\".\"%s\"", s->name, r->db, r->rp);
        } else {
            atomic_fetch_add(&s->n_repairs, 1);
            FA_LOG(FA_INFO, "subscriptions: \"%s\" on \"%s\".\"%s\" had a wrong destination or mode: re-creating", s->name,
                   r->db, r->rp);
        }
    }
    for (size_t i = 0; i < y->n_want && !atomic_load(&s->stopping); i++) {
        struct dbrp *w = &y->want[i];
        if (w->ours_ok)
            continue;
        if (exec(y, statement(&y->q, "CREATE", s->name, w->db, w->rp, s->mode, s->url)) != 0) {
            rc = -1;
            continue;
        }
        n++;
        atomic_fetch_add(&s->n_links, 1);
        FA_LOG(FA_INFO, "subscriptions: created \"%s\" on \"%s\".\"%s\" -> %s %s", s->name, w->db, w->rp, s->mode, s->url);
    }
    atomic_store(&s->n_subs, n);
    return rc;
}

/* One sync: 0, or -1 with err. */
static int sync_once(proxy_subs_t *s, bool stale, char *err, size_t errlen)
{
    struct sync y = { .s = s, .q = FA_BUF_INIT, .timeout_ms = (long)s->conf->upstream_timeout_ms };
    fa_arena_init(&y.arena, 16 * 1024, 0);
    int rc = list_wanted(&y);
    if (rc == 0)
        rc = list_subscriptions(&y);
    if (rc == 0)
        rc = reconcile(&y);
    if (rc == 0 && stale)
        drop_stale(&y);
    if (rc != 0)
        snprintf(err, errlen, "%s", y.err);
    json_decref(y.subs_doc);
    free(y.rows);
    free(y.want);
    fa_buf_deinit(&y.q);
    fa_arena_deinit(&y.arena);
    return rc;
}

/* On stop: SHOW SUBSCRIPTIONS and DROP ours, within STOP_BUDGET_MS. */
static void drop_ours(proxy_subs_t *s)
{
    int64_t deadline = now_ms() + STOP_BUDGET_MS;
    struct sync y = { .s = s, .q = FA_BUF_INIT };
    unsigned dropped = 0;
    s->final = true;
    y.timeout_ms = (long)(deadline - now_ms());
    if (list_subscriptions(&y) != 0) {
        FA_LOG(FA_WARN, "subscriptions: cannot drop ours on stop: %s", y.err);
        atomic_fetch_add(&s->n_errors, 1);
    }
    for (size_t i = 0; i < y.n_rows; i++) {
        if (strcmp(y.rows[i].name, s->name) != 0)
            continue;
        y.timeout_ms = (long)(deadline - now_ms());
        if (y.timeout_ms <= 0) {
            FA_LOG(FA_WARN, "subscriptions: gave up dropping \"%s\" after %dms; drop it by hand: %s", s->name, STOP_BUDGET_MS,
                   statement(&y.q, "DROP", s->name, y.rows[i].db, y.rows[i].rp, NULL, NULL));
            break;
        }
        if (exec(&y, statement(&y.q, "DROP", s->name, y.rows[i].db, y.rows[i].rp, NULL, NULL)) == 0) {
            dropped++;
            atomic_fetch_add(&s->n_drops, 1);
        } else {
            atomic_fetch_add(&s->n_errors, 1);
        }
    }
    atomic_store(&s->n_subs, 0);
    atomic_store(&s->linked, false);
    if (y.subs_doc != NULL)
        FA_LOG(FA_INFO, "subscriptions: dropped %u of ours (\"%s\") on stop", dropped, s->name);
    json_decref(y.subs_doc);
    free(y.rows);
    fa_buf_deinit(&y.q);
}

/* ---- the thread ---- */

/* Sleeps until `until` (monotonic ms), a stop, or a sync request. */
static void wait_until(proxy_subs_t *s, int64_t until)
{
    pthread_mutex_lock(&s->lock);
    while (!atomic_load(&s->stopping) && !atomic_load(&s->sync_asked) && now_ms() < until) {
        int64_t ms = until - now_ms();
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += ms / 1000;
        ts.tv_nsec += (ms % 1000) * 1000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&s->wake, &s->lock, &ts);
    }
    pthread_mutex_unlock(&s->lock);
}

static void *subs_main(void *arg)
{
    proxy_subs_t *s = arg;
    const fa_conf_t *c = s->conf;
    int64_t start = now_ms(), next = start;
    int64_t cap = (int64_t)c->subs_sync_interval_ms < BACKOFF_MAX_MS ? (int64_t)c->subs_sync_interval_ms : BACKOFF_MAX_MS;
    int64_t backoff = BACKOFF_MIN_MS;
    unsigned failures = 0;
    bool ever = false, gave_up = false;
    char err[512];

    while (!atomic_load(&s->stopping)) {
        wait_until(s, next);
        if (atomic_load(&s->stopping))
            break;
        atomic_store(&s->sync_asked, false);
        bool stale = atomic_exchange(&s->stale_asked, false) || c->subs_drop_stale;
        if (sync_once(s, stale, err, sizeof err) == 0) {
            if (!ever || failures != 0)
                FA_LOG(FA_INFO, "subscriptions: linked \"%s\" -> %s on %" PRIu64 " db.rp of %s", s->name, s->url,
                       (uint64_t)atomic_load(&s->n_subs), c->upstream_url);
            ever = true;
            failures = 0;
            backoff = BACKOFF_MIN_MS;
            atomic_fetch_add(&s->n_syncs, 1);
            atomic_store(&s->linked, true);
            next = now_ms() + (int64_t)c->subs_sync_interval_ms;
            continue;
        }
        if (atomic_load(&s->stopping))
            break;
        failures++;
        atomic_fetch_add(&s->n_errors, 1);
        atomic_store(&s->linked, false);
        if ((failures & (failures - 1)) == 0) /* 1st, 2nd, 4th, 8th ... failure */
            FA_LOG(FA_WARN, "subscriptions: sync failed (%u in a row): %s", failures, err);
        if (!ever && now_ms() - start >= (int64_t)c->subs_startup_timeout_ms) {
            if (!gave_up) {
                FA_LOG(FA_ERROR, "subscriptions: not linked after subs.startup_timeout %" PRIu64 "ms; the proxy tees "
                       "subscribed db.rp meanwhile; retrying every %" PRIu64 "ms", c->subs_startup_timeout_ms,
                       c->subs_sync_interval_ms);
                atomic_store_explicit(&s->decided, true, memory_order_release);
            }
            gave_up = true;
            next = now_ms() + (int64_t)c->subs_sync_interval_ms;
            continue;
        }
        next = now_ms() + backoff;
        backoff = backoff * 2 > (ever ? (int64_t)c->subs_sync_interval_ms : cap) ? (ever ? (int64_t)c->subs_sync_interval_ms : cap)
                                                                                   : backoff * 2;
    }
    if (c->subs_drop_on_stop)
        drop_ours(s);
    return NULL;
}

/* ---- identity and URL ---- */

static int mkdir_p(const char *dir, char *err, size_t errlen)
{
    char path[1024];
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path)
        return fail(err, errlen, "data_dir \"%.60s...\" is too long", dir);
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST)
            return fail(err, errlen, "cannot create %s: %s", path, strerror(errno));
        *p = '/';
    }
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        return fail(err, errlen, "cannot create %s: %s", path, strerror(errno));
    return 0;
}

static bool is_id(const char *s)
{
    if (*s == '\0')
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_')
            return false;
    return true;
}

/* data_dir/subs.id: read it, or make one (16 hex digits) and write it once. */
static int load_id(const char *dir, char *id, size_t idlen, char *err, size_t errlen)
{
    char path[1100], tmp[1110];
    snprintf(path, sizeof path, "%s/subs.id", dir);
    FILE *f = fopen(path, "r");
    if (f != NULL) {
        char line[80] = "";
        bool ok = fgets(line, sizeof line, f) != NULL;
        fclose(f);
        size_t n = strlen(line);
        while (n > 0 && isspace((unsigned char)line[n - 1]))
            line[--n] = '\0';
        if (!ok || !is_id(line) || strlen(line) >= idlen)
            return fail(err, errlen, "%s: not an id (letters, digits, '-' and '_'); remove it to make a new one", path);
        snprintf(id, idlen, "%s", line);
        return 0;
    }
    if (errno != ENOENT)
        return fail(err, errlen, "cannot read %s: %s", path, strerror(errno));
    if (mkdir_p(dir, err, errlen) != 0)
        return -1;
    unsigned char r[8];
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
        return fail(err, errlen, "getrandom: %s", strerror(errno));
    snprintf(id, idlen, "%02x%02x%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    char text[40];
    int n = snprintf(text, sizeof text, "%s\n", id);
    if (fd < 0 || write(fd, text, (size_t)n) != n || fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
        int e = errno;
        if (fd >= 0)
            unlink(tmp);
        return fail(err, errlen, "cannot write %s: %s", path, strerror(e));
    }
    return 0;
}

/* http://<api.bind host, or the hostname for a wildcard>:<port>. */
static void default_url(const char *bind, int port, char *out, size_t len)
{
    char host[256] = "";
    const char *colon = strrchr(bind, ':');
    size_t n = colon ? (size_t)(colon - bind) : 0;
    if (n >= 2 && bind[0] == '[' && bind[n - 1] == ']')
        snprintf(host, sizeof host, "%.*s", (int)(n - 2), bind + 1);
    else
        snprintf(host, sizeof host, "%.*s", (int)(n < sizeof host ? n : sizeof host - 1), bind);
    if (host[0] == '\0' || strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0) {
        if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0')
            snprintf(host, sizeof host, "localhost");
        host[sizeof host - 1] = '\0';
    }
    bool v6 = strchr(host, ':') != NULL;
    snprintf(out, len, "http://%s%s%s:%d", v6 ? "[" : "", host, v6 ? "]" : "", port);
}

/* ---- life cycle ---- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

proxy_subs_t *proxy_subs_new(const fa_conf_t *conf, int api_port, char *err, size_t errlen)
{
    char why[400];
    proxy_subs_t *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        fail(err, errlen, "subs: out of memory");
        return NULL;
    }
    s->conf = conf;
    s->resp = FA_BUF_INIT;
    pthread_mutex_init(&s->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->wake, &ca);
    pthread_condattr_destroy(&ca);
    snprintf(s->mode, sizeof s->mode, "%s", strcasecmp(conf->subs_mode, "ALL") == 0 ? "ALL" : "ANY");
    if (*conf->subs_name) {
        snprintf(s->name, sizeof s->name, "%s", conf->subs_name);
    } else {
        char id[64];
        if (load_id(conf->data_dir, id, sizeof id, why, sizeof why) != 0) {
            fail(err, errlen, "subs.name: %s", why);
            goto Error;
        }
        snprintf(s->name, sizeof s->name, "farad-%s", id);
    }
    if (*conf->subs_advertise)
        snprintf(s->url, sizeof s->url, "%s", conf->subs_advertise);
    else
        default_url(conf->api_bind, api_port, s->url, sizeof s->url);
    if (proxy_tee_filter_init(&s->include, conf->subs_include, "autogen", why, sizeof why) != 0 ||
        proxy_tee_filter_init(&s->exclude, conf->subs_exclude, "autogen", why, sizeof why) != 0) {
        fail(err, errlen, "subs.include/exclude: %s", why);
        goto Error;
    }
    pthread_once(&curl_once, curl_init_once);
    if ((s->curl = curl_easy_init()) == NULL) {
        fail(err, errlen, "subs: cannot make a libcurl handle");
        goto Error;
    }
    return s;
Error:
    proxy_subs_free(s);
    return NULL;
}

int proxy_subs_start(proxy_subs_t *s)
{
    if (pthread_create(&s->tid, NULL, subs_main, s) != 0)
        return FA_ENOMEM;
    pthread_setname_np(s->tid, "subs");
    s->started = true;
    FA_LOG(FA_INFO, "subscriptions: linking \"%s\" -> %s %s on %s (include %s, exclude %s)", s->name, s->mode, s->url,
           s->conf->upstream_url, s->conf->subs_include, *s->conf->subs_exclude ? s->conf->subs_exclude : "nothing");
    return 0;
}

static void wake(proxy_subs_t *s)
{
    pthread_mutex_lock(&s->lock);
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->lock);
}

void proxy_subs_stop(proxy_subs_t *s)
{
    if (s == NULL || !s->started || s->stopped)
        return;
    atomic_store(&s->stopping, true);
    wake(s);
    pthread_join(s->tid, NULL);
    s->stopped = true;
}

void proxy_subs_free(proxy_subs_t *s)
{
    if (s == NULL)
        return;
    proxy_subs_stop(s);
    for (unsigned i = 0; i < SET_SLOTS; i++)
        free(atomic_load(&s->set[i]));
    if (s->curl != NULL)
        curl_easy_cleanup(s->curl);
    fa_buf_deinit(&s->resp);
    proxy_tee_filter_deinit(&s->include);
    proxy_tee_filter_deinit(&s->exclude);
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

void proxy_subs_request_sync(proxy_subs_t *s, bool stale)
{
    if (stale)
        atomic_store(&s->stale_asked, true);
    atomic_store(&s->sync_asked, true);
    wake(s);
}

void proxy_subs_get_stats(const proxy_subs_t *s, proxy_subs_stats_t *out)
{
    proxy_subs_t *m = (proxy_subs_t *)s;
    *out = (proxy_subs_stats_t){ .num_subscriptions = atomic_load(&m->n_subs), .syncs = atomic_load(&m->n_syncs),
                                 .links = atomic_load(&m->n_links), .repairs = atomic_load(&m->n_repairs),
                                 .drops = atomic_load(&m->n_drops), .stale_dropped = atomic_load(&m->n_stale),
                                 .errors = atomic_load(&m->n_errors), .linked = atomic_load(&m->linked) };
}

const char *proxy_subs_name(const proxy_subs_t *s) { return s->name; }
const char *proxy_subs_url(const proxy_subs_t *s) { return s->url; }
