/* recorder/rrutil.c - what the recorder's threads share: clocks, COPY text, libpq messages, the
 * jobs' connections. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "recorder/rr.h"

int64_t rr_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t rr_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void rr_sleep_until(int64_t at)
{
    for (int64_t d = at - rr_mono(); d > 0; d = at - rr_mono()) {
        if (d > 100000000)
            d = 100000000; /* wake up now and then: a replay can be deleted */
        struct timespec ts = { d / 1000000000, d % 1000000000 };
        nanosleep(&ts, NULL);
    }
}

void rr_copy_escape(fa_buf_t *b, fa_str_t s)
{
    for (size_t i = 0; i < s.len; i++) {
        char c = s.ptr[i];
        const char *e = c == '\\' ? "\\\\" : c == '\t' ? "\\t" : c == '\n' ? "\\n" : c == '\r' ? "\\r" : NULL;
        if (e != NULL)
            fa_buf_append(b, e, 2);
        else if (c != '\0') /* neither text nor jsonb holds NUL */
            fa_buf_append(b, &c, 1);
    }
}

/* libpq's message as one line without the trailing newline. */
void rr_pg_msg(PGconn *pg, char *out, size_t n)
{
    snprintf(out, n, "%s", pg != NULL ? PQerrorMessage(pg) : "no connection");
    for (char *p = out; *p; p++)
        if (*p == '\n' || *p == '\t')
            *p = ' ';
    size_t l = strlen(out);
    while (l > 0 && out[l - 1] == ' ')
        out[--l] = '\0';
}

PGconn *rr_connect(const char *dsn, char *err, size_t errlen)
{
    const char *keys[] = { "connect_timeout", "application_name", "client_encoding", "dbname", NULL };
    const char *vals[] = { "3", "faradd-recorder", "UTF8", dsn, NULL };
    PGconn *pg = PQconnectdbParams(keys, vals, 1);
    if (pg == NULL || PQstatus(pg) != CONNECTION_OK) {
        char m[300];
        rr_pg_msg(pg, m, sizeof m);
        snprintf(err, errlen, "PostgreSQL unavailable: %s", m);
        PQfinish(pg);
        return NULL;
    }
    if (rec_migrate(pg, err, errlen) < 0) {
        PQfinish(pg);
        return NULL;
    }
    return pg;
}

void rr_pool_init(rr_pool_t *p, const char *dsn)
{
    memset(p, 0, sizeof *p);
    pthread_mutex_init(&p->mu, NULL);
    p->dsn = dsn;
}

/* Whether an idle connection still answers (the server may have gone away meanwhile). */
static bool answers(PGconn *pg)
{
    PGresult *res = PQexec(pg, "");
    bool ok = PQresultStatus(res) == PGRES_EMPTY_QUERY;
    PQclear(res);
    return ok;
}

/* Removes the longest idle connection (p->n > 0, under the lock) and returns it. */
static PGconn *take_oldest(rr_pool_t *p)
{
    PGconn *pg = p->idle[0];
    memmove(p->idle, p->idle + 1, (p->n - 1) * sizeof *p->idle);
    memmove(p->since, p->since + 1, (p->n - 1) * sizeof *p->since);
    p->n--;
    return pg;
}

PGconn *rr_pool_get(rr_pool_t *p, char *err, size_t errlen)
{
    for (;;) {
        pthread_mutex_lock(&p->mu);
        PGconn *pg = p->n > 0 ? p->idle[--p->n] : NULL;
        bool stale = pg != NULL && rr_mono() - p->since[p->n] > RR_POOL_MAX_IDLE_NS;
        pthread_mutex_unlock(&p->mu);
        if (pg == NULL)
            return rr_connect(p->dsn, err, errlen);
        if (!stale && answers(pg))
            return pg;
        PQfinish(pg);
    }
}

void rr_pool_put(rr_pool_t *p, PGconn *pg)
{
    if (pg == NULL)
        return;
    if (PQstatus(pg) != CONNECTION_OK || PQtransactionStatus(pg) != PQTRANS_IDLE) {
        PQfinish(pg);
        return;
    }
    PGconn *drop = NULL;
    pthread_mutex_lock(&p->mu);
    if (p->n == RR_POOL_IDLE) /* full: the oldest goes */
        drop = take_oldest(p);
    p->idle[p->n] = pg;
    p->since[p->n++] = rr_mono();
    pthread_mutex_unlock(&p->mu);
    PQfinish(drop);
}

void rr_pool_prune(rr_pool_t *p)
{
    PGconn *drop[RR_POOL_IDLE];
    unsigned n_drop = 0;
    int64_t now = rr_mono();
    pthread_mutex_lock(&p->mu);
    while (p->n > 0 && now - p->since[0] > RR_POOL_MAX_IDLE_NS)
        drop[n_drop++] = take_oldest(p);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < n_drop; i++)
        PQfinish(drop[i]); /* outside the lock: it talks to the server */
}

void rr_pool_deinit(rr_pool_t *p)
{
    for (unsigned i = 0; i < p->n; i++)
        PQfinish(p->idle[i]);
    p->n = 0;
    pthread_mutex_destroy(&p->mu);
}

int rr_copy_in(PGconn *pg, const char *table, const char *columns, const char *text, size_t len, char *err,
               size_t errlen)
{
    char m[300];
    char sql[400];
    int rc = -1;
    snprintf(sql, sizeof sql, "copy %s (%s) from stdin", table, columns);
    PGresult *res = PQexec(pg, sql);
    if (PQresultStatus(res) != PGRES_COPY_IN) {
        rr_pg_msg(pg, m, sizeof m);
        snprintf(err, errlen, "COPY into %s: %s", table, m);
        PQclear(res);
        return -1;
    }
    PQclear(res);
    for (size_t off = 0; off < len;) {
        size_t n = len - off > (1u << 20) ? (1u << 20) : len - off;
        if (PQputCopyData(pg, text + off, (int)n) != 1) {
            rr_pg_msg(pg, m, sizeof m);
            snprintf(err, errlen, "COPY into %s: sending rows: %s", table, m);
            PQputCopyEnd(pg, "send failed");
            goto Drain;
        }
        off += n;
    }
    if (PQputCopyEnd(pg, NULL) != 1) {
        rr_pg_msg(pg, m, sizeof m);
        snprintf(err, errlen, "COPY into %s: %s", table, m);
        goto Drain;
    }
    res = PQgetResult(pg);
    if (PQresultStatus(res) == PGRES_COMMAND_OK) {
        rc = 0;
    } else {
        rr_pg_msg(pg, m, sizeof m);
        snprintf(err, errlen, "COPY into %s: %s", table, m);
    }
    PQclear(res);
Drain:
    while ((res = PQgetResult(pg)) != NULL)
        PQclear(res);
    return rc;
}

int rr_copy_text(PGconn *pg, const char *text, size_t len, char *err, size_t errlen)
{
    return rr_copy_in(pg, "farad.recording_points_v1", rec_copy_columns, text, len, err, errlen);
}
