/* recorder/record.c - the recorder thread: API calls for /recordings and /replays, the items
 * and their rows in PostgreSQL, the job threads' start and end. Stream recordings are in
 * streamrec.c, helpers shared with the job threads in rrutil.c. See record.h for the design. */
#include <ctype.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/duration.h"
#include "base/err.h"
#include "base/log.h"
#include "recorder/internal.h"
#include "recorder/rr.h"

enum { MAX_CALLS = 256, KEEP_DONE = 64, TICK_MS = 50 };

struct rr_call {
    char method[8];
    char *path, *query, *body;
    eng_rr_done_fn done;
    void *arg;
    struct rr_call *next;
};

/* ---- small helpers ---- */

/* Go's RFC3339Nano: trailing zeros of the fraction dropped. */
static void fmt_rfc3339(int64_t ns, char *out, size_t n)
{
    time_t s = (time_t)(ns / 1000000000);
    long frac = (long)(ns % 1000000000);
    struct tm tm;
    gmtime_r(&s, &tm);
    size_t l = strftime(out, n, "%Y-%m-%dT%H:%M:%S", &tm);
    if (frac != 0) {
        char f[16];
        snprintf(f, sizeof f, ".%09ld", frac);
        size_t k = strlen(f);
        while (f[k - 1] == '0')
            f[--k] = '\0';
        snprintf(out + l, n - l, "%sZ", f);
    } else {
        snprintf(out + l, n - l, "Z");
    }
}

/* RFC 3339 (with optional fraction and offset) to ns; -1 when it does not parse. */
static int parse_rfc3339(const char *s, int64_t *ns)
{
    struct tm tm = { 0 };
    const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (p == NULL)
        return -1;
    int64_t frac = 0;
    if (*p == '.') {
        int digits = 0;
        for (p++; isdigit((unsigned char)*p); p++, digits++)
            if (digits < 9)
                frac = frac * 10 + (*p - '0');
        for (; digits < 9; digits++)
            frac *= 10;
    }
    int64_t off = 0;
    if (*p == '+' || *p == '-') {
        int hh = 0, mm = 0;
        if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2)
            return -1;
        off = (int64_t)(hh * 3600 + mm * 60) * (*p == '-' ? -1 : 1);
        p += 6;
    } else if (*p == 'Z' || *p == 'z') {
        p++;
    } else {
        return -1;
    }
    if (*p != '\0')
        return -1;
    *ns = ((int64_t)timegm(&tm) - off) * 1000000000 + frac;
    return 0;
}

/* Kapacitor's ^[-\._\p{L}0-9]+$ (every non-ASCII byte is let through as part of a letter). */
static bool valid_id(const char *id)
{
    if (*id == '\0')
        return false;
    for (const unsigned char *p = (const unsigned char *)id; *p; p++)
        if (!(isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p >= 0x80))
            return false;
    return true;
}

static void random_id(char *out, size_t n)
{
    unsigned char b[16];
    FILE *f = fopen("/dev/urandom", "rb");
    if (f == NULL || fread(b, 1, sizeof b, f) != sizeof b) {
        uint64_t x = (uint64_t)rr_now() ^ (uint64_t)rr_mono() << 7;
        for (int i = 0; i < 16; i++, x = x * 6364136223846793005ULL + 1442695040888963407ULL)
            b[i] = (unsigned char)(x >> 56);
    }
    if (f != NULL)
        fclose(f);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    snprintf(out, n, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3],
             b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

/* ---- items ---- */

/* The item with that id, deleted ones included (under the lock). */
static rr_item_t *item_find_any(rec_rr_t *r, rr_kind_t kind, const char *id)
{
    for (rr_item_t *it = r->items; it != NULL; it = it->next)
        if (it->kind == kind && strcmp(it->id, id) == 0)
            return it;
    return NULL;
}

/* The item with that id unless it was deleted (under the lock). */
static rr_item_t *item_find(rec_rr_t *r, rr_kind_t kind, const char *id)
{
    rr_item_t *it = item_find_any(r, kind, id);
    return it != NULL && !it->deleted ? it : NULL;
}

static void item_free(rr_item_t *it)
{
    free(it->stats);
    free(it);
}

/* Drops saved, finished items past the newest KEEP_DONE of a kind (under the lock). */
static void items_trim(rec_rr_t *r)
{
    unsigned kept[2] = { 0, 0 };
    for (rr_item_t **pp = &r->items; *pp != NULL;) {
        rr_item_t *it = *pp;
        bool done = strcmp(it->status, "running") != 0 && it->saved && !it->deleted; /* deleted: reap drops it */
        if (done && ++kept[it->kind] > KEEP_DONE) {
            *pp = it->next;
            item_free(it);
            continue;
        }
        pp = &it->next;
    }
}

void rr_finish(rec_rr_t *r, rr_item_t *it, bool failed, const char *fmt, ...)
{
    pthread_mutex_lock(&r->mu);
    snprintf(it->status, sizeof it->status, "%s", failed ? "failed" : "finished");
    if (fmt != NULL) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(it->error, sizeof it->error, fmt, ap);
        va_end(ap);
    }
    if (!failed)
        it->progress = 1.0;
    it->finished = rr_now();
    it->saved = false;
    pthread_mutex_unlock(&r->mu);
}

static json_t *item_json(const rr_item_t *it)
{
    char href[400], date[64];
    snprintf(href, sizeof href, "/kapacitor/v1/%s/%s", it->kind == RR_RECORDING ? "recordings" : "replays", it->id);
    fmt_rfc3339(it->created, date, sizeof date);
    json_t *o = json_pack("{s:{s:s,s:s},s:s}", "link", "rel", "self", "href", href, "id", it->id);
    if (it->kind == RR_RECORDING) {
        json_object_set_new(o, "type", json_string(it->type));
        json_object_set_new(o, "size", json_integer(it->size));
        json_object_set_new(o, "date", json_string(date));
        json_object_set_new(o, "error", json_string(it->error));
        json_object_set_new(o, "status", json_string(it->status));
        json_object_set_new(o, "progress", json_real(it->progress));
        /* farad's additions */
        json_object_set_new(o, "task", json_string(it->task));
        json_object_set_new(o, "points", json_integer(it->points));
        json_object_set_new(o, "points_dropped", json_integer(it->dropped));
        if (it->query[0])
            json_object_set_new(o, "query", json_string(it->query));
    } else {
        json_object_set_new(o, "task", json_string(it->task));
        json_object_set_new(o, "recording", json_string(it->recording));
        json_object_set_new(o, "recording-time", json_boolean(it->rec_time));
        json_object_set_new(o, "clock", json_string(it->clock));
        json_object_set_new(o, "date", json_string(date));
        json_object_set_new(o, "status", json_string(it->status));
        json_object_set_new(o, "progress", json_real(it->progress));
        json_object_set_new(o, "error", json_string(it->error));
        json_t *stats = it->stats != NULL ? json_loads(it->stats, 0, NULL) : NULL;
        json_object_set_new(o, "stats", stats != NULL ? stats : json_object());
        json_object_set_new(o, "capture", json_boolean(it->capture));
    }
    return o;
}

/* ---- rows ---- */

int rr_save(PGconn *pg, rec_rr_t *r, rr_item_t *it, char *err, size_t errlen)
{
    char size[24], count[24], progress[32], created[24], finished[24], m[300];
    rr_item_t c;
    pthread_mutex_lock(&r->mu);
    c = *it;
    c.stats = it->stats != NULL && !it->deleted ? strdup(it->stats) : NULL;
    pthread_mutex_unlock(&r->mu);
    if (c.deleted)
        return 0; /* DELETEd: its row stays gone */
    snprintf(size, sizeof size, "%" PRId64, c.size);
    snprintf(count, sizeof count, "%" PRId64, c.points);
    snprintf(progress, sizeof progress, "%.6f", c.progress);
    snprintf(created, sizeof created, "%" PRId64, c.created / 1000);
    snprintf(finished, sizeof finished, "%" PRId64, c.finished / 1000);
    bool running = strcmp(c.status, "running") == 0;
    PGresult *res;
    if (c.kind == RR_RECORDING) {
        const char *p[10] = { c.id, c.type, c.task[0] ? c.task : NULL, c.query[0] ? c.query : NULL, c.status,
                              c.error, progress, size, count, created };
        const char *pf[11] = { p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], running ? NULL : finished };
        res = PQexecParams(pg,
                           "insert into farad.recordings (id, type, task, query, status, error, progress, size, point_count,"
                           " created, finished) values ($1, $2, $3, $4, $5, $6, $7, $8, $9,"
                           " to_timestamp($10::bigint / 1e6), to_timestamp($11::bigint / 1e6))"
                           " on conflict (id) do update set status = $5, error = $6, progress = $7, size = $8,"
                           " point_count = $9, finished = to_timestamp($11::bigint / 1e6)",
                           11, NULL, pf, NULL, NULL, 0);
    } else {
        const char *p[11] = { c.id, c.task, c.recording[0] ? c.recording : NULL, c.clock, c.rec_time ? "true" : "false",
                              c.status, progress, c.error, c.stats, created, running ? NULL : finished };
        res = PQexecParams(pg,
                           "insert into farad.replays (id, task, recording, clock, recording_time, status, progress, error,"
                           " stats, created, finished) values ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb,"
                           " to_timestamp($10::bigint / 1e6), to_timestamp($11::bigint / 1e6))"
                           " on conflict (id) do update set status = $6, progress = $7, error = $8, stats = $9::jsonb,"
                           " finished = to_timestamp($11::bigint / 1e6)",
                           11, NULL, p, NULL, NULL, 0);
    }
    free(c.stats);
    int rc = 0;
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        rr_pg_msg(pg, m, sizeof m);
        snprintf(err, errlen, "saving %s %s: %s", c.kind == RR_RECORDING ? "recording" : "replay", c.id, m);
        rc = -1;
    } else if (!running) {
        pthread_mutex_lock(&r->mu);
        if (strcmp(it->status, "running") != 0 && it->finished == c.finished)
            it->saved = true;
        pthread_mutex_unlock(&r->mu);
    }
    PQclear(res);
    return rc;
}

/* An item from a row of select_cols. */
static const char recording_cols[] =
    "id, type, coalesce(task, ''), coalesce(query, ''), status, error, progress, size, point_count,"
    " (extract(epoch from created) * 1e6)::bigint";
static const char replay_cols[] =
    "id, task, coalesce(recording, ''), clock, recording_time, status, progress, error, coalesce(stats::text, ''),"
    " (extract(epoch from created) * 1e6)::bigint";

static void row_item(PGresult *res, int i, rr_kind_t kind, rr_item_t *it)
{
    memset(it, 0, sizeof *it);
    it->kind = kind;
    it->saved = true;
    snprintf(it->id, sizeof it->id, "%s", PQgetvalue(res, i, 0));
    if (kind == RR_RECORDING) {
        snprintf(it->type, sizeof it->type, "%s", PQgetvalue(res, i, 1));
        snprintf(it->task, sizeof it->task, "%s", PQgetvalue(res, i, 2));
        snprintf(it->query, sizeof it->query, "%s", PQgetvalue(res, i, 3));
        snprintf(it->status, sizeof it->status, "%s", PQgetvalue(res, i, 4));
        snprintf(it->error, sizeof it->error, "%s", PQgetvalue(res, i, 5));
        it->progress = atof(PQgetvalue(res, i, 6));
        it->size = strtoll(PQgetvalue(res, i, 7), NULL, 10);
        it->points = strtoll(PQgetvalue(res, i, 8), NULL, 10);
    } else {
        snprintf(it->task, sizeof it->task, "%s", PQgetvalue(res, i, 1));
        snprintf(it->recording, sizeof it->recording, "%s", PQgetvalue(res, i, 2));
        snprintf(it->clock, sizeof it->clock, "%s", PQgetvalue(res, i, 3));
        it->rec_time = PQgetvalue(res, i, 4)[0] == 't';
        snprintf(it->status, sizeof it->status, "%s", PQgetvalue(res, i, 5));
        it->progress = atof(PQgetvalue(res, i, 6));
        snprintf(it->error, sizeof it->error, "%s", PQgetvalue(res, i, 7));
        const char *st = PQgetvalue(res, i, 8);
        it->stats = *st ? strdup(st) : NULL;
    }
    it->created = strtoll(PQgetvalue(res, i, 9), NULL, 10) * 1000;
}

/* ---- the recorder's connection ---- */

/* The recorder thread's connection, (re)connecting at most every 500 ms. NULL with err. */
PGconn *rr_conn(rec_rr_t *r, char *err, size_t errlen)
{
    if (r->pg != NULL && PQstatus(r->pg) == CONNECTION_OK)
        return r->pg;
    if (r->pg != NULL) {
        PQfinish(r->pg);
        r->pg = NULL;
    }
    static __thread char last[400];
    if (rr_mono() < r->pg_retry) {
        snprintf(err, errlen, "%s", last[0] ? last : "PostgreSQL unavailable");
        return NULL;
    }
    r->pg_retry = rr_mono() + 500000000;
    r->pg = rr_connect(r->dsn, err, errlen);
    if (r->pg == NULL) {
        snprintf(last, sizeof last, "%s", err);
        return NULL;
    }
    last[0] = '\0';
    /* what a previous run left running can no longer finish (Kapacitor does the same); once per
     * process: on a reconnect, the rows still running are ours */
    if (r->swept)
        goto Resave;
    r->swept = true;
    PQclear(PQexec(r->pg, "update farad.recordings set status = 'failed', error = 'faradd stopped during the recording',"
                          " finished = now() where status = 'running'"));
    PQclear(PQexec(r->pg, "update farad.replays set status = 'failed', error = 'faradd stopped during the replay',"
                          " finished = now() where status = 'running'"));
Resave:
    /* our own items are written again right away (their last write may have failed) */
    pthread_mutex_lock(&r->mu);
    for (rr_item_t *it = r->items; it != NULL; it = it->next)
        it->saved = false;
    pthread_mutex_unlock(&r->mu);
    return r->pg;
}

/* Writes every item whose row is behind. */
static void save_pending(rec_rr_t *r)
{
    char err[400];
    for (;;) {
        rr_item_t *unsaved = NULL;
        pthread_mutex_lock(&r->mu);
        for (rr_item_t *it = r->items; it != NULL && unsaved == NULL; it = it->next)
            if (!it->saved && !it->deleted && (it->kind == RR_RECORDING || strcmp(it->status, "running") != 0))
                unsaved = it;
        pthread_mutex_unlock(&r->mu);
        if (unsaved == NULL)
            return;
        PGconn *pg = rr_conn(r, err, sizeof err);
        if (pg == NULL || rr_save(pg, r, unsaved, err, sizeof err) != 0)
            return;
        pthread_mutex_lock(&r->mu);
        if (strcmp(unsaved->status, "running") == 0)
            unsaved->saved = true; /* the running row is in; the final one comes at its end */
        pthread_mutex_unlock(&r->mu);
    }
}

/* ---- answers ---- */

static void answer(struct rr_call *c, int status, json_t *doc)
{
    char *s = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    c->done(c->arg, status, s != NULL ? s : "", s != NULL ? strlen(s) : 0);
    free(s);
}

static void answer_error(struct rr_call *c, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void answer_error(struct rr_call *c, int status, const char *fmt, ...)
{
    char msg[800];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    answer(c, status, json_pack("{s:s}", "error", msg));
}

static void answer_item(rec_rr_t *r, struct rr_call *c, int status, rr_item_t *it)
{
    pthread_mutex_lock(&r->mu);
    json_t *o = item_json(it);
    pthread_mutex_unlock(&r->mu);
    answer(c, status, o);
}

/* ---- the task behind a request ---- */

/* Finds task `id` through the lookup hook, then in farad.tasks. 0, FA_ENOENT, or FA_EPG with err
 * (PostgreSQL cannot say: the caller answers 503, not 404). */
static int find_task(rec_rr_t *r, const char *id, fa_arena_t *a, const char **script, eng_dbrp_t **dbrps,
                     uint32_t *n, char *err, size_t errlen)
{
    if (r->o.lookup != NULL && r->o.lookup(r->o.lookup_ud, id, a, script, dbrps, n) == 0)
        return 0;
    PGconn *pg = rr_conn(r, err, errlen);
    if (pg == NULL)
        return FA_EPG;
    const char *p[1] = { id };
    PGresult *res = PQexecParams(pg,
                                 "select script, coalesce((select string_agg((d->>'db') || chr(31) || (d->>'rp'), chr(30))"
                                 " from jsonb_array_elements(dbrps) d), '') from farad.tasks where id = $1",
                                 1, NULL, p, NULL, NULL, 0);
    int rc = FA_ENOENT;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        rr_pg_msg(pg, err, errlen);
        rc = FA_EPG;
    } else if (PQntuples(res) == 1) {
        const char *s = PQgetvalue(res, 0, 0), *d = PQgetvalue(res, 0, 1);
        *script = fa_arena_strndup(a, s, strlen(s));
        uint32_t cnt = *d ? 1 : 0;
        for (const char *q = d; *q; q++)
            cnt += *q == 30;
        *dbrps = FA_NEW(a, eng_dbrp_t, cnt ? cnt : 1);
        *n = 0;
        for (const char *q = d; *q && *n < cnt;) {
            const char *us = strchr(q, 31), *rs = strchr(q, 30);
            if (us == NULL)
                break;
            if (rs == NULL)
                rs = q + strlen(q);
            (*dbrps)[*n].db = fa_str(fa_arena_strndup(a, q, (size_t)(us - q)), (size_t)(us - q));
            (*dbrps)[*n].rp = fa_str(fa_arena_strndup(a, us + 1, (size_t)(rs - us - 1)), (size_t)(rs - us - 1));
            (*n)++;
            q = *rs ? rs + 1 : rs;
        }
        rc = 0;
    }
    PQclear(res);
    return rc;
}

/* ---- calls ---- */

static const char *jstr(json_t *body, const char *key)
{
    const char *s = json_string_value(json_object_get(body, key));
    return s != NULL ? s : "";
}

/* The id of a new item: given, or a random UUID. false (answered 400) when invalid or taken. */
static bool new_id(rec_rr_t *r, struct rr_call *c, json_t *body, rr_kind_t kind, char *id, size_t n)
{
    const char *given = jstr(body, "id");
    if (*given == '\0') {
        random_id(id, n);
        return true;
    }
    if (!valid_id(given) || strlen(given) >= n) {
        answer_error(c, 400, "invalid id %s: must match ^[-\\._\\p{L}0-9]+$", given);
        return false;
    }
    snprintf(id, n, "%s", given);
    pthread_mutex_lock(&r->mu);
    rr_item_t *old = item_find_any(r, kind, id);
    bool taken = old != NULL, ending = taken && old->deleted;
    pthread_mutex_unlock(&r->mu);
    if (ending) {
        answer_error(c, 400, "the %s with id %s was deleted and is still stopping; try again shortly",
                     kind == RR_RECORDING ? "recording" : "replay", id);
        return false;
    }
    if (taken) {
        answer_error(c, 400, "a %s with id %s already exists", kind == RR_RECORDING ? "recording" : "replay", id);
        return false;
    }
    return true;
}

static rr_item_t *item_new(rec_rr_t *r, rr_kind_t kind, const char *id)
{
    rr_item_t *it = calloc(1, sizeof *it);
    if (it == NULL)
        return NULL;
    it->kind = kind;
    snprintf(it->id, sizeof it->id, "%s", id);
    snprintf(it->status, sizeof it->status, "running");
    it->created = rr_now();
    return it;
}

/* Puts a new item in the list and writes its row; false (answered) when PostgreSQL refused it. */
static bool item_add(rec_rr_t *r, struct rr_call *c, rr_item_t *it)
{
    char err[512];
    PGconn *pg = rr_conn(r, err, sizeof err);
    if (pg != NULL) {
        /* an id of a stored item that this process no longer holds in memory */
        const char *p[1] = { it->id };
        PGresult *res = PQexecParams(pg,
                                     it->kind == RR_RECORDING ? "select 1 from farad.recordings where id = $1"
                                                              : "select 1 from farad.replays where id = $1",
                                     1, NULL, p, NULL, NULL, 0);
        bool exists = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0;
        PQclear(res);
        if (exists) {
            answer_error(c, 400, "a %s with id %s already exists", it->kind == RR_RECORDING ? "recording" : "replay",
                         it->id);
            item_free(it);
            return false;
        }
    }
    if (pg == NULL || rr_save(pg, r, it, err, sizeof err) != 0) {
        answer_error(c, 503, "%s", err);
        item_free(it);
        return false;
    }
    pthread_mutex_lock(&r->mu);
    it->saved = true; /* the running row */
    it->next = r->items;
    r->items = it;
    pthread_mutex_unlock(&r->mu);
    return true;
}

static void post_stream(rec_rr_t *r, struct rr_call *c, json_t *body)
{
    char id[256], err[512];
    const char *task = jstr(body, "task"), *stop_s = jstr(body, "stop");
    int64_t stop;
    if (*task == '\0') {
        answer_error(c, 400, "must provide task");
        return;
    }
    if (parse_rfc3339(stop_s, &stop) != 0) {
        answer_error(c, 400, "invalid stop time \"%s\": want RFC 3339", stop_s);
        return;
    }
    if (!new_id(r, c, body, RR_RECORDING, id, sizeof id))
        return;
    fa_arena_t a;
    fa_arena_init(&a, 4096, 0);
    const char *script = NULL;
    eng_dbrp_t *dbrps = NULL;
    uint32_t n_dbrps = 0;
    int found = find_task(r, task, &a, &script, &dbrps, &n_dbrps, err, sizeof err);
    if (found != 0) {
        if (found == FA_EPG)
            answer_error(c, 503, "looking for task %s: %s", task, err);
        else
            answer_error(c, 404, "no task exists"); /* Kapacitor's text (its task store's error) */
        fa_arena_deinit(&a);
        return;
    }
    rr_item_t *it = item_new(r, RR_RECORDING, id);
    rr_stream_t *s = it != NULL ? rr_stream_new(r, it, id) : NULL;
    if (it == NULL || s == NULL) {
        answer_error(c, 500, "recording %s: out of memory", id);
        free(it);
        fa_arena_deinit(&a);
        return;
    }
    snprintf(it->type, sizeof it->type, "stream");
    snprintf(it->task, sizeof it->task, "%s", task);
    it->stop = stop;
    eng_task_t *t = NULL;
    int rc = rr_stream_task(s, script, dbrps, n_dbrps, &t, err, sizeof err);
    fa_arena_deinit(&a);
    if (rc != 0) {
        answer_error(c, 400, "%s", err);
        rr_stream_free(s);
        item_free(it);
        return;
    }
    if (!item_add(r, c, it)) {
        eng_task_free(t);
        rr_stream_free(s);
        return;
    }
    eng_task_opts_t to = { .overflow = ENG_OVERFLOW_DROP, .thread = -1 };
    if (eng_tm_add(r->o.tm, t, &to, err, sizeof err) != 0) {
        rr_finish(r, it, true, "starting the recording: %s", err);
        rr_stream_free(s);
    } else {
        rr_stream_start(r, s);
    }
    answer_item(r, c, 201, it);
}

static void job_start(rec_rr_t *r, struct rr_call *c, rr_job_t *j, void *(*fn)(void *))
{
    j->rr = r;
    pthread_mutex_lock(&r->mu);
    j->next = r->jobs;
    r->jobs = j;
    r->n_jobs++;
    pthread_mutex_unlock(&r->mu);
    if (pthread_create(&j->thread, NULL, fn, j) != 0) {
        rr_finish(r, j->item, true, "cannot start a thread for it");
        atomic_store(&j->done, true);
    }
    answer_item(r, c, 201, j->item);
}

static bool jobs_full(rec_rr_t *r, struct rr_call *c)
{
    pthread_mutex_lock(&r->mu);
    bool full = r->n_jobs >= r->o.max_jobs;
    pthread_mutex_unlock(&r->mu);
    if (full)
        answer_error(c, 503, "%u query recordings and replays are running already; try again later", r->o.max_jobs);
    return full;
}

static void post_query(rec_rr_t *r, struct rr_call *c, json_t *body)
{
    char id[256], db[256], rp[256];
    const char *query = jstr(body, "query"), *type = jstr(body, "type");
    if (*query == '\0') {
        answer_error(c, 400, "must provide query");
        return;
    }
    if (strcmp(type, "stream") != 0 && strcmp(type, "batch") != 0) {
        answer_error(c, 400, "invalid type \"%s\": must be stream or batch", type);
        return;
    }
    if (rr_query_dbrp(query, db, sizeof db, rp, sizeof rp) != 0) {
        answer_error(c, 400, "could not determine database and retention policy. Is the query fully qualified?");
        return;
    }
    if (jobs_full(r, c) || !new_id(r, c, body, RR_RECORDING, id, sizeof id))
        return;
    rr_item_t *it = item_new(r, RR_RECORDING, id);
    rr_job_t *j = calloc(1, sizeof *j);
    if (it == NULL || j == NULL) {
        answer_error(c, 500, "recording %s: out of memory", id);
        free(it);
        free(j);
        return;
    }
    snprintf(it->type, sizeof it->type, "%s", type);
    snprintf(it->query, sizeof it->query, "%s", query);
    if (!item_add(r, c, it)) {
        free(j);
        return;
    }
    j->item = it;
    j->query = strdup(query);
    fa_arena_init(&j->arena, 1024, 0);
    job_start(r, c, j, rr_query_recording_main);
}

/* Whether recording `rec` exists (in memory or in PostgreSQL): 1 or 0, or -1 with err when
 * PostgreSQL cannot say. */
static int recording_known(rec_rr_t *r, const char *rec, char *err, size_t errlen)
{
    pthread_mutex_lock(&r->mu);
    bool known = item_find(r, RR_RECORDING, rec) != NULL;
    pthread_mutex_unlock(&r->mu);
    if (known)
        return 1;
    PGconn *pg = rr_conn(r, err, errlen);
    if (pg == NULL)
        return -1;
    const char *p[1] = { rec };
    PGresult *res = PQexecParams(pg, "select 1 from farad.recordings where id = $1", 1, NULL, p, NULL, NULL, 0);
    int rc = PQresultStatus(res) != PGRES_TUPLES_OK ? -1 : PQntuples(res) == 1;
    if (rc < 0)
        rr_pg_msg(pg, err, errlen);
    PQclear(res);
    return rc;
}

/* Kapacitor's checks of a replay in its order: the task (its script into j), the recording (NULL:
 * a replay-live query), the clock. false when answered. */
static bool replay_checks(rec_rr_t *r, struct rr_call *c, rr_job_t *j, const char *task, const char *rec,
                          const char *clock)
{
    char err[512];
    int rc = find_task(r, task, &j->arena, &j->script, &j->dbrps, &j->n_dbrps, err, sizeof err);
    if (rc == FA_EPG) {
        answer_error(c, 503, "looking for task %s: %s", task, err);
        return false;
    }
    if (rc != 0) {
        answer_error(c, 404, "task load: no task exists");
        return false;
    }
    int known = rec != NULL ? recording_known(r, rec, err, sizeof err) : 1;
    if (known < 0) {
        answer_error(c, 503, "looking for recording %s: %s", rec, err);
        return false;
    }
    if (known == 0) {
        answer_error(c, 404, "recording not found: no recording exists");
        return false;
    }
    if (strcmp(clock, "fast") != 0 && strcmp(clock, "real") != 0) {
        answer_error(c, 400, "invalid clock type \"%s\": must be fast or real", clock);
        return false;
    }
    return true;
}

/* POST /replays and /replays/query. Kapacitor's checks in its order: the task (404 "task load: no
 * task exists"), the recording (404 "recording not found: no recording exists"), then the clock.
 * A recording of the other type than the task is not refused here: the replay fails (replay.c). */
static void post_replay(rec_rr_t *r, struct rr_call *c, json_t *body, bool live_query)
{
    char id[256], db[256], rp[256];
    const char *task = jstr(body, "task"), *rec = jstr(body, "recording"), *clock = jstr(body, "clock");
    const char *query = jstr(body, "query");
    if (*clock == '\0')
        clock = "fast";
    if (*task == '\0') {
        answer_error(c, 400, "must provide task");
        return;
    }
    if (live_query && *query == '\0') {
        answer_error(c, 400, "must provide query");
        return;
    }
    if (live_query && rr_query_dbrp(query, db, sizeof db, rp, sizeof rp) != 0) {
        answer_error(c, 400, "could not determine database and retention policy. Is the query fully qualified?");
        return;
    }
    if (!live_query && *rec == '\0') {
        answer_error(c, 400, "must provide recording");
        return;
    }
    if (jobs_full(r, c) || !new_id(r, c, body, RR_REPLAY, id, sizeof id))
        return;
    rr_job_t *j = calloc(1, sizeof *j);
    if (j == NULL) {
        answer_error(c, 500, "replay %s: out of memory", id);
        return;
    }
    fa_arena_init(&j->arena, 4096, 0);
    if (!replay_checks(r, c, j, task, live_query ? NULL : rec, clock)) {
        fa_arena_deinit(&j->arena);
        free(j);
        return;
    }
    rr_item_t *it = item_new(r, RR_REPLAY, id);
    if (it == NULL) {
        answer_error(c, 500, "replay %s: out of memory", id);
        fa_arena_deinit(&j->arena);
        free(j);
        return;
    }
    snprintf(it->task, sizeof it->task, "%s", task);
    snprintf(it->recording, sizeof it->recording, "%s", live_query ? "" : rec);
    snprintf(it->clock, sizeof it->clock, "%s", clock);
    it->rec_time = json_is_true(json_object_get(body, "recording-time"));
    it->capture = json_is_true(json_object_get(body, "capture"));
    if (live_query)
        snprintf(it->query, sizeof it->query, "%s", query);
    if (!item_add(r, c, it)) {
        fa_arena_deinit(&j->arena);
        free(j);
        return;
    }
    j->item = it;
    j->query = live_query ? strdup(query) : NULL;
    job_start(r, c, j, rr_replay_main);
}

/* [start, stop] of a batch recording or replay-live batch: "start" (or "past" before "stop"),
 * "stop" defaulting to now. false when answered 400. */
static bool batch_range(struct rr_call *c, json_t *body, int64_t *start, int64_t *stop)
{
    const char *start_s = jstr(body, "start"), *stop_s = jstr(body, "stop"), *past_s = jstr(body, "past");
    int64_t past = 0;
    *stop = rr_now();
    if (*stop_s != '\0' && parse_rfc3339(stop_s, stop) != 0) {
        answer_error(c, 400, "invalid stop time \"%s\": want RFC 3339", stop_s);
        return false;
    }
    if (*start_s == '\0' && *past_s == '\0') {
        answer_error(c, 400, "must provide start time");
        return false;
    }
    if (*start_s != '\0' && parse_rfc3339(start_s, start) != 0) {
        answer_error(c, 400, "invalid start time \"%s\": want RFC 3339", start_s);
        return false;
    }
    if (*start_s == '\0' && (fa_duration_parse(fa_str_c(past_s), FA_DUR_API, &past) != 0 || past <= 0)) {
        answer_error(c, 400, "invalid past duration \"%s\"", past_s);
        return false;
    }
    if (*start_s == '\0')
        *start = *stop - past;
    if (*start > *stop) {
        answer_error(c, 400, "start time must be before stop time");
        return false;
    }
    return true;
}

/* POST /recordings/batch and /replays/batch (replay-live batch). */
static void post_batch(rec_rr_t *r, struct rr_call *c, json_t *body, rr_kind_t kind)
{
    char id[256], err[512], type[8];
    const char *task = jstr(body, "task"), *clock = jstr(body, "clock");
    int64_t start, stop;
    if (*clock == '\0')
        clock = "fast";
    if (*task == '\0') {
        answer_error(c, 400, "must provide task");
        return;
    }
    if (!batch_range(c, body, &start, &stop) || jobs_full(r, c) || !new_id(r, c, body, kind, id, sizeof id))
        return;
    rr_job_t *j = calloc(1, sizeof *j);
    if (j == NULL) {
        answer_error(c, 500, "%s %s: out of memory", kind == RR_RECORDING ? "recording" : "replay", id);
        return;
    }
    fa_arena_init(&j->arena, 4096, 0);
    rr_item_t *it = NULL;
    int found = find_task(r, task, &j->arena, &j->script, &j->dbrps, &j->n_dbrps, err, sizeof err);
    if (found == FA_EPG) {
        answer_error(c, 503, "looking for task %s: %s", task, err);
        goto Fail;
    }
    if (found != 0) {
        /* Kapacitor's texts: its task store's error, prefixed for replays */
        answer_error(c, 404, "%s", kind == RR_RECORDING ? "no task exists" : "task load: no task exists");
        goto Fail;
    }
    if (kind == RR_REPLAY && strcmp(clock, "fast") != 0 && strcmp(clock, "real") != 0) {
        answer_error(c, 400, "invalid clock type \"%s\": must be fast or real", clock);
        goto Fail;
    }
    if (rr_task_type(task, j->script, j->dbrps, j->n_dbrps, type, err, sizeof err) != 0) {
        answer_error(c, 400, "%s", err);
        goto Fail;
    }
    /* a stream task: Kapacitor refuses a replay-live batch; a batch recording is made and fails
     * with "wrong task type" (batchrec.c) */
    if (kind == RR_REPLAY && strcmp(type, "batch") != 0) {
        answer_error(c, 400, "cannot replay batch against stream task: %s", task);
        goto Fail;
    }
    if ((it = item_new(r, kind, id)) == NULL) {
        answer_error(c, 500, "%s: out of memory", id);
        goto Fail;
    }
    snprintf(it->task, sizeof it->task, "%s", task);
    snprintf(it->type, sizeof it->type, "batch");
    snprintf(it->clock, sizeof it->clock, "%s", clock);
    it->rec_time = json_is_true(json_object_get(body, "recording-time"));
    it->capture = json_is_true(json_object_get(body, "capture"));
    if (!item_add(r, c, it))
        goto Fail;
    j->item = it;
    j->start = start;
    j->stop = stop;
    j->live_batch = kind == RR_REPLAY;
    job_start(r, c, j, kind == RR_RECORDING ? rr_batch_recording_main : rr_replay_main);
    return;
Fail:
    fa_arena_deinit(&j->arena);
    free(j);
}

/* ---- GET and DELETE ---- */

static void get_one(rec_rr_t *r, struct rr_call *c, rr_kind_t kind, const char *id)
{
    char err[512];
    pthread_mutex_lock(&r->mu);
    rr_item_t *it = item_find(r, kind, id);
    json_t *o = it != NULL ? item_json(it) : NULL;
    bool running = it != NULL && strcmp(it->status, "running") == 0;
    pthread_mutex_unlock(&r->mu);
    if (o != NULL) {
        answer(c, running ? 202 : 200, o);
        return;
    }
    PGconn *pg = rr_conn(r, err, sizeof err);
    if (pg == NULL) {
        answer_error(c, 503, "%s", err);
        return;
    }
    char sql[600];
    snprintf(sql, sizeof sql, "select %s from farad.%s where id = $1", kind == RR_RECORDING ? recording_cols : replay_cols,
             kind == RR_RECORDING ? "recordings" : "replays");
    const char *p[1] = { id };
    PGresult *res = PQexecParams(pg, sql, 1, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        rr_pg_msg(pg, err, sizeof err);
        answer_error(c, 503, "reading %s %s: %s", kind == RR_RECORDING ? "recording" : "replay", id, err);
    } else if (PQntuples(res) == 0) {
        answer_error(c, 404, "no %s exists with id %s", kind == RR_RECORDING ? "recording" : "replay", id);
    } else {
        rr_item_t row;
        row_item(res, 0, kind, &row);
        o = item_json(&row);
        free(row.stats);
        answer(c, strcmp(row.status, "running") == 0 ? 202 : 200, o);
    }
    PQclear(res);
}

/* A query parameter, decoded (+ and %XX); "" when absent. Repeated: the n-th. */
static void qparam(const char *qs, const char *name, unsigned nth, char *out, size_t n)
{
    size_t nl = strlen(name);
    out[0] = '\0';
    for (const char *p = qs; p != NULL && *p;) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        if (len > nl && strncmp(p, name, nl) == 0 && p[nl] == '=' && nth-- == 0) {
            size_t w = 0;
            for (size_t i = nl + 1; i < len && w + 1 < n; i++) {
                if (p[i] == '+') {
                    out[w++] = ' ';
                } else if (p[i] == '%' && i + 2 < len + 1 && isxdigit((unsigned char)p[i + 1]) &&
                           isxdigit((unsigned char)p[i + 2])) {
                    char h[3] = { p[i + 1], p[i + 2], 0 };
                    out[w++] = (char)strtol(h, NULL, 16);
                    i += 2;
                } else {
                    out[w++] = p[i];
                }
            }
            out[w] = '\0';
            return;
        }
        p = amp ? amp + 1 : NULL;
    }
}

/* Keeps only id, link and the requested fields (none requested: everything). */
static json_t *pick_fields(json_t *o, const char *qs)
{
    char f[64];
    qparam(qs, "fields", 0, f, sizeof f);
    if (f[0] == '\0')
        return o;
    json_t *out = json_object();
    json_object_set(out, "id", json_object_get(o, "id"));
    json_object_set(out, "link", json_object_get(o, "link"));
    for (unsigned i = 0; i < 32; i++) {
        qparam(qs, "fields", i, f, sizeof f);
        if (f[0] == '\0')
            break;
        json_t *v = json_object_get(o, f);
        if (v != NULL)
            json_object_set(out, f, v);
    }
    json_decref(o);
    return out;
}

static void get_list(rec_rr_t *r, struct rr_call *c, rr_kind_t kind)
{
    char err[512], pattern[256], off_s[24], lim_s[24];
    const char *qs = c->query;
    qparam(qs, "pattern", 0, pattern, sizeof pattern);
    qparam(qs, "offset", 0, off_s, sizeof off_s);
    qparam(qs, "limit", 0, lim_s, sizeof lim_s);
    long offset = off_s[0] ? strtol(off_s, NULL, 10) : 0, limit = lim_s[0] ? strtol(lim_s, NULL, 10) : 100;
    if (offset < 0 || limit < 0) {
        answer_error(c, 400, "invalid offset or limit");
        return;
    }
    PGconn *pg = rr_conn(r, err, sizeof err);
    if (pg == NULL) {
        answer_error(c, 503, "%s", err);
        return;
    }
    fa_buf_t re = FA_BUF_INIT;
    rec_glob_to_regex(fa_str_c(pattern), &re);
    snprintf(off_s, sizeof off_s, "%ld", offset);
    snprintf(lim_s, sizeof lim_s, "%ld", limit);
    const char *p[3] = { fa_buf_cstr(&re), off_s, lim_s };
    char sql[700];
    snprintf(sql, sizeof sql,
             "select %s from farad.%s where ($1 = '' or id ~ $1) order by created desc, id offset $2::bigint limit $3::bigint",
             kind == RR_RECORDING ? recording_cols : replay_cols, kind == RR_RECORDING ? "recordings" : "replays");
    PGresult *res = PQexecParams(pg, sql, 3, NULL, p, NULL, NULL, 0);
    fa_buf_deinit(&re);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        rr_pg_msg(pg, err, sizeof err);
        answer_error(c, 503, "listing %s: %s", kind == RR_RECORDING ? "recordings" : "replays", err);
        PQclear(res);
        return;
    }
    json_t *arr = json_array();
    for (int i = 0; i < PQntuples(res); i++) {
        rr_item_t row;
        row_item(res, i, kind, &row);
        pthread_mutex_lock(&r->mu);
        rr_item_t *live = item_find(r, kind, row.id); /* fresher than the row */
        json_t *o = item_json(live != NULL ? live : &row);
        pthread_mutex_unlock(&r->mu);
        free(row.stats);
        json_array_append_new(arr, pick_fields(o, qs));
    }
    PQclear(res);
    answer(c, 200, json_pack("{s:o}", kind == RR_RECORDING ? "recordings" : "replays", arr));
}

/* Deletes the rows of a recording (its blocks, old-layout points and batches too) or of a replay
 * (its captured outputs too). 0, or -1 with err. */
static int purge_rows(PGconn *pg, rr_kind_t kind, const char *id, char *err, size_t errlen)
{
    const char *p[1] = { id };
    const char *sql = kind == RR_RECORDING
                          ? "with p as (delete from farad.recording_blocks where recording_id = $1),"
                            " v as (delete from farad.recording_points_v1 where recording_id = $1),"
                            " b as (delete from farad.recording_batches where recording_id = $1)"
                            " delete from farad.recordings where id = $1"
                          : "with o as (delete from farad.replay_outputs where replay_id = $1)"
                            " delete from farad.replays where id = $1";
    PGresult *res = PQexecParams(pg, sql, 1, NULL, p, NULL, NULL, 0);
    int rc = 0;
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        char m[400];
        rr_pg_msg(pg, m, sizeof m);
        snprintf(err, errlen, "deleting %s %s: %s", kind == RR_RECORDING ? "recording" : "replay", id, m);
        rc = -1;
    }
    PQclear(res);
    return rc;
}

/* Whether a job or stream recording still holds the item (under the lock). */
static bool item_busy(rec_rr_t *r, const rr_item_t *it)
{
    for (rr_job_t *j = r->jobs; j != NULL; j = j->next)
        if (j->item == it)
            return true;
    return rr_stream_of(r, it);
}

/* Takes a deleted item nobody holds any more out of the list and frees it (under the lock). */
static void item_drop(rec_rr_t *r, rr_item_t *it)
{
    for (rr_item_t **pp = &r->items; *pp != NULL; pp = &(*pp)->next)
        if (*pp == it) {
            *pp = it->next;
            item_free(it);
            return;
        }
}

/* DELETE: a running recording or replay is cancelled (a stream recording right away, a job at its
 * next query or chunk, an upstream query in flight aborted) and marked deleted, so that nothing
 * saves its row again; its rows go now, and once more when its job has ended (reap_jobs), since
 * the job may still write after this answer. */
static void delete_one(rec_rr_t *r, struct rr_call *c, rr_kind_t kind, const char *id)
{
    char err[512];
    pthread_mutex_lock(&r->mu);
    rr_item_t *it = item_find_any(r, kind, id);
    if (it != NULL) {
        it->deleted = true;
        atomic_store(&it->cancel, true);
    }
    pthread_mutex_unlock(&r->mu);
    if (it != NULL && kind == RR_RECORDING) /* a stream recording stops now */
        rr_streams_tick(r);
    /* wait (bounded) for a job to see the cancel */
    for (int i = 0; it != NULL && i < 200; i++) {
        pthread_mutex_lock(&r->mu);
        bool running = strcmp(it->status, "running") == 0;
        pthread_mutex_unlock(&r->mu);
        if (!running)
            break;
        struct timespec ts = { 0, 10000000 };
        nanosleep(&ts, NULL);
    }
    PGconn *pg = rr_conn(r, err, sizeof err);
    if (pg == NULL || purge_rows(pg, kind, id, err, sizeof err) != 0) {
        pthread_mutex_lock(&r->mu);
        if (it != NULL) /* not deleted after all: it stays (stopped) and its row is saved again */
            it->deleted = false;
        pthread_mutex_unlock(&r->mu);
        answer_error(c, 503, "%s", err);
        return;
    }
    pthread_mutex_lock(&r->mu);
    if (it != NULL && !item_busy(r, it))
        item_drop(r, it);
    pthread_mutex_unlock(&r->mu);
    c->done(c->arg, 204, "", 0);
}

static void run_call(rec_rr_t *r, struct rr_call *c)
{
    const char *path = c->path;
    rr_kind_t kind;
    if (strncmp(path, "recordings", 10) == 0 && (path[10] == '\0' || path[10] == '/')) {
        kind = RR_RECORDING;
        path += path[10] ? 11 : 10;
    } else if (strncmp(path, "replays", 7) == 0 && (path[7] == '\0' || path[7] == '/')) {
        kind = RR_REPLAY;
        path += path[7] ? 8 : 7;
    } else {
        answer_error(c, 404, "unknown path /kapacitor/v1/%s", c->path);
        return;
    }
    if (strcmp(c->method, "POST") == 0) {
        json_error_t je;
        json_t *body = json_loads(c->body ? c->body : "", 0, &je);
        if (!json_is_object(body)) {
            answer_error(c, 400, "invalid JSON body: %s (line %d, column %d)", body ? "not an object" : je.text, je.line,
                         je.column);
            json_decref(body);
            return;
        }
        if (kind == RR_RECORDING && strcmp(path, "stream") == 0)
            post_stream(r, c, body);
        else if (kind == RR_RECORDING && strcmp(path, "query") == 0)
            post_query(r, c, body);
        else if (strcmp(path, "batch") == 0)
            post_batch(r, c, body, kind);
        else if (kind == RR_REPLAY && *path == '\0')
            post_replay(r, c, body, false);
        else if (kind == RR_REPLAY && strcmp(path, "query") == 0)
            post_replay(r, c, body, true);
        else
            answer_error(c, 404, "unknown path /kapacitor/v1/%s", c->path);
        json_decref(body);
    } else if (strcmp(c->method, "GET") == 0) {
        if (*path == '\0')
            get_list(r, c, kind);
        else
            get_one(r, c, kind, path);
    } else if (strcmp(c->method, "DELETE") == 0 && *path != '\0') {
        delete_one(r, c, kind, path);
    } else {
        answer_error(c, 405, "method %s not allowed on /kapacitor/v1/%s", c->method, c->path);
    }
}

static void call_free(struct rr_call *c)
{
    free(c->path);
    free(c->query);
    free(c->body);
    free(c);
}

/* ---- jobs ---- */

/* After the job of `it` ended: when it was deleted, what the job wrote after the DELETE goes too,
 * and the item with it. `it` may already be freed (items_trim): only compared until found. */
static void reap_deleted(rec_rr_t *r, rr_item_t *it)
{
    char err[512], id[256];
    rr_kind_t kind = RR_RECORDING;
    bool deleted = false;
    pthread_mutex_lock(&r->mu);
    for (rr_item_t *x = r->items; x != NULL; x = x->next)
        if (x == it) {
            deleted = x->deleted && !item_busy(r, x);
            kind = x->kind;
            snprintf(id, sizeof id, "%s", x->id);
            break;
        }
    pthread_mutex_unlock(&r->mu);
    if (!deleted)
        return;
    PGconn *pg = rr_conn(r, err, sizeof err);
    if (pg == NULL || purge_rows(pg, kind, id, err, sizeof err) != 0) {
        FA_LOG(FA_WARN, "%s %s was deleted while running; its last rows remain: %s", kind == RR_RECORDING ? "recording" : "replay",
               id, err);
    } else {
        FA_LOG(FA_INFO, "%s %s was deleted while running: stopped, its rows removed",
               kind == RR_RECORDING ? "recording" : "replay", id);
    }
    pthread_mutex_lock(&r->mu);
    item_drop(r, it);
    pthread_mutex_unlock(&r->mu);
}

static void reap_jobs(rec_rr_t *r, bool all)
{
    for (;;) {
        rr_job_t *j = NULL;
        pthread_mutex_lock(&r->mu);
        for (rr_job_t **pp = &r->jobs; *pp != NULL; pp = &(*pp)->next)
            if (all || atomic_load(&(*pp)->done)) {
                j = *pp;
                *pp = j->next;
                r->n_jobs--;
                break;
            }
        pthread_mutex_unlock(&r->mu);
        if (j == NULL)
            return;
        if (j->thread != 0)
            pthread_join(j->thread, NULL);
        reap_deleted(r, j->item);
        free(j->query);
        fa_arena_deinit(&j->arena);
        free(j);
    }
}

/* ---- the thread ---- */

static void *recorder_main(void *arg)
{
    rec_rr_t *r = arg;
    char err[512];
    rr_conn(r, err, sizeof err);
    for (;;) {
        pthread_mutex_lock(&r->mu);
        if (r->calls == NULL && !r->stopping) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            ts.tv_nsec += TICK_MS * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&r->cv, &r->mu, &ts);
        }
        struct rr_call *c = r->calls;
        if (c != NULL) {
            r->calls = c->next;
            if (r->calls == NULL)
                r->calls_tail = NULL;
            r->n_calls--;
        }
        bool stop = r->stopping;
        pthread_mutex_unlock(&r->mu);
        if (c != NULL) {
            if (stop)
                answer_error(c, 503, "faradd is stopping");
            else
                run_call(r, c);
            call_free(c);
        }
        rr_streams_tick(r);
        reap_jobs(r, false);
        save_pending(r);
        rr_pool_prune(&r->pool);
        pthread_mutex_lock(&r->mu);
        items_trim(r);
        bool quit = r->stopping && r->calls == NULL && r->streams == NULL;
        pthread_mutex_unlock(&r->mu);
        if (quit)
            break;
    }
    return NULL;
}

static int svc_call(void *ud, const eng_rr_call_t *in, eng_rr_done_fn done, void *arg)
{
    rec_rr_t *r = ud;
    struct rr_call *c = calloc(1, sizeof *c);
    if (c == NULL)
        return FA_ENOMEM;
    snprintf(c->method, sizeof c->method, "%s", in->method);
    c->path = strndup(in->path.ptr ? in->path.ptr : "", in->path.len);
    c->query = strndup(in->query.ptr ? in->query.ptr : "", in->query.len);
    c->body = strndup(in->body.ptr ? in->body.ptr : "", in->body.len);
    c->done = done;
    c->arg = arg;
    if (c->path == NULL || c->query == NULL || c->body == NULL) {
        call_free(c);
        return FA_ENOMEM;
    }
    int rc = 0;
    pthread_mutex_lock(&r->mu);
    if (r->stopping || r->n_calls >= MAX_CALLS) {
        rc = FA_EAGAIN;
    } else {
        if (r->calls_tail != NULL)
            r->calls_tail->next = c;
        else
            r->calls = c;
        r->calls_tail = c;
        r->n_calls++;
        pthread_cond_signal(&r->cv);
    }
    pthread_mutex_unlock(&r->mu);
    if (rc != 0)
        call_free(c);
    return rc;
}

eng_rr_svc_t rec_rr_svc(rec_rr_t *r) { return (eng_rr_svc_t){ .ud = r, .call = svc_call }; }

rec_rr_t *rec_rr_new(const rec_rr_opts_t *o, char *err, size_t errlen)
{
    if (o->dsn == NULL || *o->dsn == '\0' || o->tm == NULL) {
        snprintf(err, errlen, "recorder: recordings need pg.dsn and the task master");
        return NULL;
    }
    rec_rr_t *r = calloc(1, sizeof *r);
    if (r == NULL) {
        snprintf(err, errlen, "recorder: out of memory");
        return NULL;
    }
    r->o = *o;
    r->dsn = strdup(o->dsn);
    r->upstream = strdup(o->upstream_url ? o->upstream_url : "http://127.0.0.1:8086");
    r->o.dsn = r->dsn;
    r->o.upstream_url = r->upstream;
    r->o.stream_buffer = o->stream_buffer ? o->stream_buffer : (64u << 20);
    r->o.max_jobs = o->max_jobs ? o->max_jobs : 4;
    pthread_mutex_init(&r->mu, NULL);
    rr_pool_init(&r->pool, r->dsn);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&r->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&r->thread, NULL, recorder_main, r) != 0) {
        snprintf(err, errlen, "recorder: cannot start the recorder thread");
        pthread_cond_destroy(&r->cv);
        pthread_mutex_destroy(&r->mu);
        rr_pool_deinit(&r->pool);
        free(r->dsn);
        free(r->upstream);
        free(r);
        return NULL;
    }
    pthread_setname_np(r->thread, "recorder");
    return r;
}

void rec_rr_free(rec_rr_t *r)
{
    if (r == NULL)
        return;
    pthread_mutex_lock(&r->mu);
    r->stopping = true;
    for (rr_item_t *it = r->items; it != NULL; it = it->next)
        atomic_store(&it->cancel, true);
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->thread, NULL);
    reap_jobs(r, true);
    save_pending(r); /* the jobs' and recordings' last rows, if PostgreSQL is there */
    while (r->items != NULL) {
        rr_item_t *it = r->items;
        r->items = it->next;
        item_free(it);
    }
    if (r->pg != NULL)
        PQfinish(r->pg);
    fa_buf_deinit(&r->copy_buf);
    rr_pool_deinit(&r->pool); /* the jobs are gone */
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    free(r->dsn);
    free(r->upstream);
    free(r);
}
