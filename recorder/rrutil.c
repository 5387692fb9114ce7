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

int rr_copy_text(PGconn *pg, const char *text, size_t len, char *err, size_t errlen)
{
    char m[300];
    char sql[200];
    int rc = -1;
    snprintf(sql, sizeof sql, "copy farad.recording_points_v1 (%s) from stdin", rec_copy_columns);
    PGresult *res = PQexec(pg, sql);
    if (PQresultStatus(res) != PGRES_COPY_IN) {
        rr_pg_msg(pg, m, sizeof m);
        snprintf(err, errlen, "COPY into farad.recording_points_v1: %s", m);
        PQclear(res);
        return -1;
    }
    PQclear(res);
    for (size_t off = 0; off < len;) {
        size_t n = len - off > (1u << 20) ? (1u << 20) : len - off;
        if (PQputCopyData(pg, text + off, (int)n) != 1) {
            rr_pg_msg(pg, m, sizeof m);
            snprintf(err, errlen, "COPY into farad.recording_points_v1: sending rows: %s", m);
            PQputCopyEnd(pg, "send failed");
            goto Drain;
        }
        off += n;
    }
    if (PQputCopyEnd(pg, NULL) != 1) {
        rr_pg_msg(pg, m, sizeof m);
        snprintf(err, errlen, "COPY into farad.recording_points_v1: %s", m);
        goto Drain;
    }
    res = PQgetResult(pg);
    if (PQresultStatus(res) == PGRES_COMMAND_OK) {
        rc = 0;
    } else {
        rr_pg_msg(pg, m, sizeof m);
        snprintf(err, errlen, "COPY into farad.recording_points_v1: %s", m);
    }
    PQclear(res);
Drain:
    while ((res = PQgetResult(pg)) != NULL)
        PQclear(res);
    return rc;
}
