/* recorder/copy.c - rec_copy_points / rec_read_points over the columnar blocks (blocks_*.c) and the
 * version-1 rows; the version-1 COPY text encoder (farad.recording_points_v1), and back.
 *
 * Encoding, one row per point, columns tab-separated (rec_copy_columns):
 *   recording_id  seq  time  time_ns  db  rp  measurement  tags  fields  batch_seq  batch_group  query_node
 * Two escaping layers meet in tags and fields: JSON (strings: \" \\ \n \t \r \b \f \u00XX) and
 * then COPY text (every backslash doubled); they are done in one pass. Floats are written with
 * the fewest digits that read back to the same double (15, 16 or 17) and always with a '.', so
 * that a float stays a float: jsonb keeps 1.0 as 1.0, and an integer as an integer. Bytes that
 * are not valid UTF-8, and NUL (which neither text nor jsonb accepts), become U+FFFD.
 *
 * Replay outputs (rec_copy_outputs) are COPYed the same way; their payload is JSON already.
 *
 * Reading parses jsonb's own output (a flat object of scalars) by hand into the batch arena: no
 * allocation per point beyond the arena. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "recorder/blocks.h"
#include "recorder/store.h"

const char rec_copy_columns[] =
    "recording_id, seq, time, time_ns, db, rp, measurement, tags, fields, batch_seq, batch_group, query_node";

/* ---- UTF-8 ---- */

/* Length of the valid UTF-8 sequence at p (1..4), or 0 when the bytes there are not one. */
size_t rec_utf8_seq(const unsigned char *p, size_t n)
{
    unsigned c = p[0];

    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        return n >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (n < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80)
            return 0;
        if ((c == 0xE0 && p[1] < 0xA0) || (c == 0xED && p[1] > 0x9F)) /* overlong; surrogates */
            return 0;
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (n < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80)
            return 0;
        if ((c == 0xF0 && p[1] < 0x90) || (c == 0xF4 && p[1] > 0x8F))
            return 0;
        return 4;
    }
    return 0;
}

static const char replacement[] = "\xEF\xBF\xBD"; /* U+FFFD */

/* ---- output into a buffer whose room was reserved beforehand ---- */

typedef struct out {
    char *p; /* write position inside buf */
    fa_buf_t *buf;
} out_t;

/* Makes room for n more bytes; 0 or FA_E2BIG/FA_ENOMEM. */
static int out_room(out_t *o, size_t n)
{
    o->buf->len = (size_t)(o->p - o->buf->ptr);
    int rc = fa_buf_reserve(o->buf, n);
    o->p = o->buf->ptr + o->buf->len;
    return rc;
}

static void put(out_t *o, const char *s, size_t n)
{
    memcpy(o->p, s, n);
    o->p += n;
}

/* A text column: COPY escapes for backslash, newline, carriage return and tab. Worst case 3
 * output bytes per input byte (U+FFFD for one bad byte). */
static int put_text(out_t *o, fa_str_t s)
{
    const unsigned char *u = (const unsigned char *)s.ptr;

    if (out_room(o, s.len * 3) != 0)
        return FA_E2BIG;
    for (size_t i = 0; i < s.len;) {
        unsigned c = u[i];
        if (c >= 0x20 && c < 0x80 && c != '\\') {
            *o->p++ = (char)c;
            i++;
            continue;
        }
        switch (c) {
        case '\\': put(o, "\\\\", 2); i++; continue;
        case '\n': put(o, "\\n", 2); i++; continue;
        case '\r': put(o, "\\r", 2); i++; continue;
        case '\t': put(o, "\\t", 2); i++; continue;
        case 0: put(o, replacement, 3); i++; continue;
        default: break;
        }
        size_t n = rec_utf8_seq(u + i, s.len - i);
        if (n == 0) {
            put(o, replacement, 3);
            i++;
        } else {
            put(o, s.ptr + i, n);
            i += n;
        }
    }
    return 0;
}

/* A JSON string (with quotes) inside a COPY text column: JSON escapes, then backslashes doubled.
 * Worst case 7 output bytes per input byte (\\u001f). */
static int put_json_str(out_t *o, fa_str_t s)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s.ptr;

    if (out_room(o, s.len * 7 + 2) != 0)
        return FA_E2BIG;
    *o->p++ = '"';
    for (size_t i = 0; i < s.len;) {
        unsigned c = u[i];
        if (c >= 0x20 && c < 0x80 && c != '\\' && c != '"') {
            *o->p++ = (char)c;
            i++;
            continue;
        }
        i++;
        switch (c) {
        case '"': put(o, "\\\\\"", 3); continue;
        case '\\': put(o, "\\\\\\\\", 4); continue;
        case '\n': put(o, "\\\\n", 3); continue;
        case '\r': put(o, "\\\\r", 3); continue;
        case '\t': put(o, "\\\\t", 3); continue;
        case '\b': put(o, "\\\\b", 3); continue;
        case '\f': put(o, "\\\\f", 3); continue;
        case 0: put(o, replacement, 3); continue;
        default: break;
        }
        if (c < 0x20) {
            char e[7] = { '\\', '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
            put(o, e, 7);
            continue;
        }
        size_t n = rec_utf8_seq(u + i - 1, s.len - i + 1);
        if (n == 0) {
            put(o, replacement, 3);
        } else {
            put(o, s.ptr + i - 1, n);
            i += n - 1;
        }
    }
    *o->p++ = '"';
    return 0;
}

static char *fmt_i64(char *p, int64_t v)
{
    char tmp[24];
    int n = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0)
        *p++ = '-';
    while (n > 0)
        *p++ = tmp[--n];
    return p;
}

static char *fmt_u64(char *p, uint64_t u)
{
    char tmp[24];
    int n = 0;

    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    while (n > 0)
        *p++ = tmp[--n];
    return p;
}

/* A finite double as a JSON number that reads back as the same double and keeps a '.' (so that
 * jsonb shows it as a fraction). At most 330 bytes (%.1f of 1.8e308). */
static int put_float(out_t *o, double v)
{
    char tmp[400];
    int n;

    if (!isfinite(v)) { /* line protocol cannot carry these; computed values might */
        if (out_room(o, 4) != 0)
            return FA_E2BIG;
        put(o, "null", 4);
        return 0;
    }
    if (fabs(v) < 1e15 && v == (double)(int64_t)v) {
        /* integral and exact: digits and ".0" */
        if (out_room(o, 24) != 0)
            return FA_E2BIG;
        if (v == 0 && signbit(v))
            *o->p++ = '-';
        o->p = fmt_i64(o->p, (int64_t)v);
        put(o, ".0", 2);
        return 0;
    }
    if (fabs(v) >= 1e15) {
        /* jsonb prints numerics without exponent: write the exact decimal expansion */
        n = snprintf(tmp, sizeof tmp, "%.1f", v);
    } else {
        n = snprintf(tmp, sizeof tmp, "%.15g", v);
        if (strtod(tmp, NULL) != v) {
            n = snprintf(tmp, sizeof tmp, "%.16g", v);
            if (strtod(tmp, NULL) != v)
                n = snprintf(tmp, sizeof tmp, "%.17g", v);
        }
    }
    if (out_room(o, (size_t)n + 2) != 0)
        return FA_E2BIG;
    put(o, tmp, (size_t)n);
    if (memchr(tmp, '.', (size_t)n) == NULL && memchr(tmp, 'e', (size_t)n) == NULL)
        put(o, ".0", 2);
    return 0;
}

/* Civil date from days since 1970-01-01 (proleptic Gregorian; eras of 400 years). */
static void civil(int64_t days, int64_t *y, unsigned *m, unsigned *d)
{
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;

    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static char *two(char *p, unsigned v)
{
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
    return p + 2;
}

/* ns since the epoch as "YYYY-MM-DD HH:MM:SS.ffffff+00" (µs, rounded down), 4-digit years or
 * more; years before 1 AD as "... BC" (InfluxDB's range starts in 1677). At most 40 bytes. */
static char *fmt_time(char *p, int64_t ns)
{
    int64_t us = ns / 1000 - (ns % 1000 < 0);
    int64_t secs = us / 1000000 - (us % 1000000 < 0);
    unsigned frac = (unsigned)(us - secs * 1000000);
    int64_t days = secs / 86400 - (secs % 86400 < 0);
    unsigned sod = (unsigned)(secs - days * 86400);
    int64_t y;
    unsigned mo, d;

    civil(days, &y, &mo, &d);
    bool bc = y <= 0;
    int64_t yy = bc ? 1 - y : y;
    if (yy < 1000) /* at least 4 digits */
        for (int64_t pad = yy < 10 ? 3 : yy < 100 ? 2 : 1; pad > 0; pad--)
            *p++ = '0';
    p = fmt_i64(p, yy);
    *p++ = '-';
    p = two(p, mo);
    *p++ = '-';
    p = two(p, d);
    *p++ = ' ';
    p = two(p, sod / 3600);
    *p++ = ':';
    p = two(p, sod / 60 % 60);
    *p++ = ':';
    p = two(p, sod % 60);
    *p++ = '.';
    for (int i = 5; i >= 0; i--) {
        p[i] = (char)('0' + frac % 10);
        frac /= 10;
    }
    p += 6;
    memcpy(p, "+00", 3);
    p += 3;
    if (bc) {
        memcpy(p, " BC", 3);
        p += 3;
    }
    return p;
}

static int put_value(out_t *o, const eng_value_t *v)
{
    switch (v->type) {
    case ENG_FLOAT: return put_float(o, v->f);
    case ENG_INT:
        if (out_room(o, 24) != 0)
            return FA_E2BIG;
        o->p = fmt_i64(o->p, v->i);
        return 0;
    case ENG_UINT:
        if (out_room(o, 24) != 0)
            return FA_E2BIG;
        o->p = fmt_u64(o->p, v->u);
        return 0;
    case ENG_BOOL:
        if (out_room(o, 5) != 0)
            return FA_E2BIG;
        if (v->b)
            put(o, "true", 4);
        else
            put(o, "false", 5);
        return 0;
    case ENG_STRING: return put_json_str(o, v->s);
    }
    return FA_EINVAL;
}

static int put_tags(out_t *o, const eng_point_t *pt)
{
    if (out_room(o, 2) != 0)
        return FA_E2BIG;
    *o->p++ = '{';
    for (uint32_t i = 0; i < pt->n_tags; i++) {
        if (i != 0)
            *o->p++ = ','; /* room: each put_json_str reserves 2 spare bytes for its quotes */
        if (put_json_str(o, pt->tags[i].key) != 0 || out_room(o, 1) != 0)
            return FA_E2BIG;
        *o->p++ = ':';
        if (put_json_str(o, pt->tags[i].value) != 0 || out_room(o, 2) != 0)
            return FA_E2BIG;
    }
    *o->p++ = '}';
    return 0;
}

static int put_fields(out_t *o, const eng_point_t *pt)
{
    if (out_room(o, 2) != 0)
        return FA_E2BIG;
    *o->p++ = '{';
    for (uint32_t i = 0; i < pt->n_fields; i++) {
        if (i != 0)
            *o->p++ = ',';
        if (put_json_str(o, pt->fields[i].key) != 0 || out_room(o, 1) != 0)
            return FA_E2BIG;
        *o->p++ = ':';
        if (put_value(o, &pt->fields[i].v) != 0 || out_room(o, 2) != 0)
            return FA_E2BIG;
    }
    *o->p++ = '}';
    return 0;
}

/* "recording_id\t" once per batch, then per point. */
static int put_row(out_t *o, fa_str_t prefix, int64_t seq, const eng_point_t *pt, fa_str_t dbrp, fa_str_t suffix)
{
    if (out_room(o, prefix.len + 24 + 48 + 24 + dbrp.len) != 0)
        return FA_E2BIG;
    put(o, prefix.ptr, prefix.len);
    o->p = fmt_i64(o->p, seq);
    *o->p++ = '\t';
    o->p = fmt_time(o->p, pt->time);
    *o->p++ = '\t';
    o->p = fmt_i64(o->p, pt->time);
    *o->p++ = '\t';
    put(o, dbrp.ptr, dbrp.len);
    if (put_text(o, pt->name) != 0 || out_room(o, 1) != 0)
        return FA_E2BIG;
    *o->p++ = '\t';
    if (put_tags(o, pt) != 0 || out_room(o, 1) != 0)
        return FA_E2BIG;
    *o->p++ = '\t';
    if (put_fields(o, pt) != 0 || out_room(o, suffix.len) != 0)
        return FA_E2BIG;
    put(o, suffix.ptr, suffix.len);
    return 0;
}

int rec_encode_points(fa_buf_t *buf, const rec_copy_meta_t *m, const eng_batch_t *b)
{
    size_t start = buf->len;
    int rc = fa_buf_reserve(buf, 4096); /* also: buf->ptr is not NULL below */

    if (rc != 0)
        return rc;
    out_t o = { buf->ptr + buf->len, buf };

    /* the columns that are the same for every row, escaped once */
    if ((rc = put_text(&o, m->recording_id)) != 0 || (rc = out_room(&o, 1)) != 0)
        goto Fail;
    *o.p++ = '\t';
    size_t prefix_at = (size_t)(o.p - buf->ptr) - start;
    if ((rc = put_text(&o, b->db)) != 0 || (rc = out_room(&o, 1)) != 0)
        goto Fail;
    *o.p++ = '\t';
    if ((rc = put_text(&o, b->rp)) != 0 || (rc = out_room(&o, 1)) != 0)
        goto Fail;
    *o.p++ = '\t';
    size_t dbrp_at = (size_t)(o.p - buf->ptr) - start;
    if (m->batch_seq >= 0) {
        if ((rc = out_room(&o, 26)) != 0)
            goto Fail;
        *o.p++ = '\t';
        o.p = fmt_i64(o.p, m->batch_seq);
        *o.p++ = '\t';
        if ((rc = put_text(&o, m->group)) != 0 || (rc = out_room(&o, 14)) != 0)
            goto Fail;
        *o.p++ = '\t';
        o.p = fmt_i64(o.p, m->query_node);
    } else {
        if ((rc = out_room(&o, 9)) != 0)
            goto Fail;
        put(&o, "\t\\N\t\\N\t\\N", 9);
    }
    if ((rc = out_room(&o, 1)) != 0)
        goto Fail;
    *o.p++ = '\n';
    size_t end_at = (size_t)(o.p - buf->ptr) - start;
    /* keep the constant parts in a copy: rows are appended after them in the same buffer */
    size_t clen = end_at;
    char consts[1024];
    char *cp = clen <= sizeof consts ? consts : malloc(clen);
    if (cp == NULL) {
        rc = FA_ENOMEM;
        goto Fail;
    }
    memcpy(cp, buf->ptr + start, clen);
    o.p = buf->ptr + start;
    fa_str_t prefix = fa_str(cp, prefix_at);
    fa_str_t dbrp = fa_str(cp + prefix_at, dbrp_at - prefix_at);
    fa_str_t suffix = fa_str(cp + dbrp_at, end_at - dbrp_at);
    rc = 0;
    for (uint32_t i = 0; i < b->n && rc == 0; i++)
        rc = put_row(&o, prefix, m->first_seq + i, &b->points[i], dbrp, suffix);
    if (cp != consts)
        free(cp);
    if (rc != 0)
        goto Fail;
    buf->len = (size_t)(o.p - buf->ptr);
    return 0;
Fail:
    buf->len = start;
    return rc;
}

/* ---- COPY ---- */

/* Sends rows (COPY text) with "copy <target> from stdin" and waits for the result. */
static int copy_in(PGconn *pg, const char *target, const fa_buf_t *rows, uint32_t n, char *err, size_t errlen)
{
    char sql[256];
    PGresult *res = NULL;
    int rc = FA_EPG;

    int tn = (int)strcspn(target, " "); /* the table's name, for messages */

    snprintf(sql, sizeof sql, "copy %s from stdin", target);
    res = PQexec(pg, sql);
    if (PQresultStatus(res) != PGRES_COPY_IN) {
        snprintf(err, errlen, "COPY into %.*s: %s", tn, target, PQerrorMessage(pg));
        goto Exit;
    }
    PQclear(res);
    res = NULL;
    /* in pieces: libpq buffers each call in full */
    for (size_t off = 0; off < rows->len;) {
        size_t k = rows->len - off > (1u << 20) ? (1u << 20) : rows->len - off;
        if (PQputCopyData(pg, rows->ptr + off, (int)k) != 1) {
            snprintf(err, errlen, "COPY into %.*s: sending rows: %s", tn, target, PQerrorMessage(pg));
            PQputCopyEnd(pg, "send failed");
            goto Drain;
        }
        off += k;
    }
    if (PQputCopyEnd(pg, NULL) != 1) {
        snprintf(err, errlen, "COPY into %.*s: ending: %s", tn, target, PQerrorMessage(pg));
        goto Drain;
    }
    res = PQgetResult(pg);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        snprintf(err, errlen, "COPY of %u rows into %.*s: %s", n, tn, target, PQerrorMessage(pg));
    else
        rc = FA_OK;
Drain:
    PQclear(res);
    while ((res = PQgetResult(pg)) != NULL)
        PQclear(res);
Exit:
    PQclear(res);
    return rc;
}

int rec_copy_points(PGconn *pg, const rec_copy_meta_t *m, const eng_batch_t *b, fa_buf_t *scratch, char *err,
                    size_t errlen)
{
    rec_stage_t st;
    uint32_t rows;
    int rc = 0;

    if (b->n == 0)
        return FA_OK;
    rec_stage_init(&st, 0);
    for (uint32_t i = 0; i < b->n && rc == 0; i++)
        rc = rec_stage_point(&st, m, b->db, b->rp, &b->points[i]);
    rc = rc ? rc : rec_blocks_encode(&st, m->recording_id, m->first_seq, scratch, &rows);
    rec_stage_deinit(&st);
    if (rc != 0) {
        snprintf(err, errlen, "encoding %u points for recording %.*s: %s", b->n, (int)m->recording_id.len,
                 m->recording_id.ptr, fa_strerror(rc));
        return rc;
    }
    return rec_blocks_copy(pg, scratch, err, errlen);
}

int rec_copy_outputs(PGconn *pg, fa_str_t replay_id, const rec_output_t *items, uint32_t n, fa_buf_t *scratch,
                     char *err, size_t errlen)
{
    int rc = 0;

    if (n == 0)
        return FA_OK;
    fa_buf_clear(scratch);
    if ((rc = fa_buf_reserve(scratch, 4096)) != 0)
        return rc;
    out_t o = { scratch->ptr, scratch };
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        if ((rc = put_text(&o, replay_id)) != 0 || (rc = out_room(&o, 100)) != 0)
            break;
        *o.p++ = '\t';
        o.p = fmt_i64(o.p, items[i].seq);
        put(&o, items[i].alert ? "\talert\t" : "\tpoint\t", 7);
        o.p = fmt_time(o.p, items[i].time);
        *o.p++ = '\t';
        if ((rc = put_text(&o, items[i].payload)) != 0 || (rc = out_room(&o, 1)) != 0)
            break;
        *o.p++ = '\n';
    }
    if (rc != 0) {
        snprintf(err, errlen, "encoding %u outputs of replay %.*s: %s", n, (int)replay_id.len, replay_id.ptr,
                 fa_strerror(rc));
        return rc;
    }
    scratch->len = (size_t)(o.p - scratch->ptr);
    return copy_in(pg, "farad.replay_outputs (replay_id, seq, kind, time, payload)", scratch, n, err, errlen);
}

/* ---- reading back: jsonb's text output, a flat object of scalars ---- */

typedef struct jp {
    const char *p, *end;
    fa_arena_t *a;
} jp_t;

static void skip_ws(jp_t *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\t' || *j->p == '\r'))
        j->p++;
}

static int hex4(const char *p, unsigned *out)
{
    unsigned v = 0;

    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

static char *put_utf8(char *q, unsigned cp)
{
    if (cp < 0x80) {
        *q++ = (char)cp;
    } else if (cp < 0x800) {
        *q++ = (char)(0xC0 | cp >> 6);
        *q++ = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *q++ = (char)(0xE0 | cp >> 12);
        *q++ = (char)(0x80 | (cp >> 6 & 0x3F));
        *q++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *q++ = (char)(0xF0 | cp >> 18);
        *q++ = (char)(0x80 | (cp >> 12 & 0x3F));
        *q++ = (char)(0x80 | (cp >> 6 & 0x3F));
        *q++ = (char)(0x80 | (cp & 0x3F));
    }
    return q;
}

/* A JSON string at j->p (the opening quote), copied into the arena: the result's memory goes
 * away with the PGresult. */
static int parse_str(jp_t *j, fa_str_t *out)
{
    if (j->p >= j->end || *j->p != '"')
        return -1;
    const char *s = ++j->p;
    const char *q = s;
    while (q < j->end && *q != '"' && *q != '\\')
        q++;
    if (q < j->end && *q == '"') { /* no escapes: one copy */
        *out = fa_str(fa_arena_strndup(j->a, s, (size_t)(q - s)), (size_t)(q - s));
        j->p = q + 1;
        return 0;
    }
    /* escapes: the output is never longer than the input */
    const char *e = q;
    while (e < j->end && *e != '"')
        e += *e == '\\' ? 2 : 1;
    if (e >= j->end)
        return -1;
    char *dst = fa_arena_alloc(j->a, (size_t)(e - s) + 1, 1);
    char *w = dst;
    for (const char *r = s; r < e;) {
        if (*r != '\\') {
            *w++ = *r++;
            continue;
        }
        r++;
        switch (*r++) {
        case '"': *w++ = '"'; break;
        case '\\': *w++ = '\\'; break;
        case '/': *w++ = '/'; break;
        case 'n': *w++ = '\n'; break;
        case 't': *w++ = '\t'; break;
        case 'r': *w++ = '\r'; break;
        case 'b': *w++ = '\b'; break;
        case 'f': *w++ = '\f'; break;
        case 'u': {
            unsigned cp, lo;
            if (e - r < 4 || hex4(r, &cp) != 0)
                return -1;
            r += 4;
            if (cp >= 0xD800 && cp < 0xDC00 && e - r >= 6 && r[0] == '\\' && r[1] == 'u' && hex4(r + 2, &lo) == 0 &&
                lo >= 0xDC00 && lo < 0xE000) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                r += 6;
            }
            w = put_utf8(w, cp);
            break;
        }
        default: return -1;
        }
    }
    *w = '\0';
    *out = fa_str(dst, (size_t)(w - dst));
    j->p = e + 1;
    return 0;
}

/* A scalar: string, number, true, false; null -> *present = false. */
static int parse_value(jp_t *j, eng_value_t *v, bool *present)
{
    *present = true;
    if (j->p >= j->end)
        return -1;
    char c = *j->p;
    if (c == '"') {
        v->type = ENG_STRING;
        return parse_str(j, &v->s);
    }
    if (c == 't' && j->end - j->p >= 4 && memcmp(j->p, "true", 4) == 0) {
        v->type = ENG_BOOL;
        v->b = true;
        j->p += 4;
        return 0;
    }
    if (c == 'f' && j->end - j->p >= 5 && memcmp(j->p, "false", 5) == 0) {
        v->type = ENG_BOOL;
        v->b = false;
        j->p += 5;
        return 0;
    }
    if (c == 'n' && j->end - j->p >= 4 && memcmp(j->p, "null", 4) == 0) {
        *present = false;
        j->p += 4;
        return 0;
    }
    const char *s = j->p;
    const char *q = s + (*s == '-');
    bool is_int = true;
    uint64_t mag = 0;
    bool overflow = false;
    while (q < j->end && ((*q >= '0' && *q <= '9') || *q == '.' || *q == 'e' || *q == 'E' || *q == '+' || *q == '-')) {
        if (*q >= '0' && *q <= '9') {
            unsigned d = (unsigned)(*q - '0');
            if (mag > (UINT64_MAX - d) / 10)
                overflow = true;
            else
                mag = mag * 10 + d;
        } else {
            is_int = false;
        }
        q++;
    }
    if (q == s || (q == s + 1 && *s == '-'))
        return -1;
    j->p = q;
    if (is_int && !overflow) {
        if (*s == '-' && mag <= (uint64_t)INT64_MAX + 1) {
            v->type = ENG_INT;
            v->i = mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag;
            return 0;
        }
        if (*s != '-') {
            if (mag <= (uint64_t)INT64_MAX) {
                v->type = ENG_INT;
                v->i = (int64_t)mag;
            } else {
                v->type = ENG_UINT;
                v->u = mag;
            }
            return 0;
        }
    }
    /* the value is followed by ',' or '}' in the NUL-terminated result text, so strtod stops */
    v->type = ENG_FLOAT;
    v->f = strtod(s, NULL);
    return 0;
}

/* Calls `each` per key/value of a flat object; returns 0 or -1 on anything else. */
static int parse_object(jp_t *j, int (*each)(void *ud, fa_str_t key, jp_t *j), void *ud)
{
    skip_ws(j);
    if (j->p >= j->end || *j->p++ != '{')
        return -1;
    skip_ws(j);
    if (j->p < j->end && *j->p == '}') {
        j->p++;
        return 0;
    }
    for (;;) {
        fa_str_t key;
        skip_ws(j);
        if (parse_str(j, &key) != 0)
            return -1;
        skip_ws(j);
        if (j->p >= j->end || *j->p++ != ':')
            return -1;
        skip_ws(j);
        if (each(ud, key, j) != 0)
            return -1;
        skip_ws(j);
        if (j->p >= j->end)
            return -1;
        if (*j->p == '}') {
            j->p++;
            return 0;
        }
        if (*j->p++ != ',')
            return -1;
    }
}

/* Members counted by commas outside strings: an upper bound for the arrays. */
static uint32_t count_members(const char *s, size_t n)
{
    uint32_t c = 0;
    bool in_str = false, any = false;

    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (in_str) {
            if (ch == '\\')
                i++;
            else if (ch == '"')
                in_str = false;
        } else if (ch == '"') {
            in_str = true;
            any = true;
        } else if (ch == ',') {
            c++;
        }
    }
    return any ? c + 1 : 0;
}

typedef struct point_fill {
    eng_point_t *pt;
    uint32_t cap_tags, cap_fields;
} point_fill_t;

static int each_tag(void *ud, fa_str_t key, jp_t *j)
{
    point_fill_t *f = ud;
    fa_str_t val;

    if (f->pt->n_tags == f->cap_tags || parse_str(j, &val) != 0)
        return -1;
    f->pt->tags[f->pt->n_tags++] = (eng_tag_t){ key, val };
    return 0;
}

static int each_field(void *ud, fa_str_t key, jp_t *j)
{
    point_fill_t *f = ud;
    eng_value_t v;
    bool present;

    if (f->pt->n_fields == f->cap_fields || parse_value(j, &v, &present) != 0)
        return -1;
    if (present)
        f->pt->fields[f->pt->n_fields++] = (eng_field_t){ key, v };
    return 0;
}

/* jsonb orders keys by length first; points want bytewise order. Few tags: insertion sort. */
static void sort_tags(eng_tag_t *t, uint32_t n)
{
    for (uint32_t i = 1; i < n; i++) {
        eng_tag_t x = t[i];
        uint32_t k = i;
        while (k > 0 && fa_str_cmp(t[k - 1].key, x.key) > 0) {
            t[k] = t[k - 1];
            k--;
        }
        t[k] = x;
    }
}

/* Appends s with line-protocol escapes (the bytes in `special` get a backslash). */
static char *put_lp_escaped(char *w, fa_str_t s, const char *special)
{
    for (size_t i = 0; i < s.len; i++) {
        if (strchr(special, s.ptr[i]) != NULL && s.ptr[i] != '\0')
            *w++ = '\\';
        *w++ = s.ptr[i];
    }
    return w;
}

/* The escaped series key "m,k=v,..." rebuilt from name and sorted tags. */
static void build_key(fa_arena_t *a, eng_point_t *pt)
{
    size_t n = pt->name.len * 2;
    for (uint32_t i = 0; i < pt->n_tags; i++)
        n += 2 + 2 * (pt->tags[i].key.len + pt->tags[i].value.len);
    char *buf = fa_arena_alloc(a, n + 1, 1);
    char *w = put_lp_escaped(buf, pt->name, ", ");
    for (uint32_t i = 0; i < pt->n_tags; i++) {
        *w++ = ',';
        w = put_lp_escaped(w, pt->tags[i].key, ",= ");
        *w++ = '=';
        w = put_lp_escaped(w, pt->tags[i].value, ",= ");
    }
    *w = '\0';
    pt->key = fa_str(buf, (size_t)(w - buf));
}

static int64_t parse_i64(const char *s)
{
    return strtoll(s, NULL, 10);
}

enum { COL_SEQ, COL_TIME_NS, COL_DB, COL_RP, COL_M, COL_TAGS, COL_FIELDS, COL_BSEQ, COL_GROUP, COL_NODE };

static fa_str_t col(PGresult *res, int row, int c)
{
    return fa_str(PQgetvalue(res, row, c), (size_t)PQgetlength(res, row, c));
}

/* One row into a new point of b; -1 when its JSON cannot be read. */
static int fill_point(eng_batch_t *b, PGresult *res, int row)
{
    eng_point_t *pt = eng_batch_add(b);
    fa_str_t tags = col(res, row, COL_TAGS), fields = col(res, row, COL_FIELDS);
    point_fill_t f = { pt, count_members(tags.ptr, tags.len), count_members(fields.ptr, fields.len) };
    jp_t j = { .a = &b->arena };

    if (pt == NULL)
        return -1;
    fa_str_t name = col(res, row, COL_M);
    pt->name = fa_str(fa_arena_strndup(&b->arena, name.ptr, name.len), name.len);
    pt->time = parse_i64(PQgetvalue(res, row, COL_TIME_NS));
    pt->tags = f.cap_tags ? FA_NEW(&b->arena, eng_tag_t, f.cap_tags) : NULL;
    pt->fields = f.cap_fields ? FA_NEW(&b->arena, eng_field_t, f.cap_fields) : NULL;
    j.p = tags.ptr;
    j.end = tags.ptr + tags.len;
    if (parse_object(&j, each_tag, &f) != 0)
        return -1;
    j.p = fields.ptr;
    j.end = fields.ptr + fields.len;
    if (parse_object(&j, each_field, &f) != 0)
        return -1;
    sort_tags(pt->tags, pt->n_tags);
    build_key(&b->arena, pt);
    return 0;
}

static bool same_source(PGresult *res, int row, const eng_batch_t *b, int64_t batch_seq)
{
    int64_t bs = PQgetisnull(res, row, COL_BSEQ) ? -1 : parse_i64(PQgetvalue(res, row, COL_BSEQ));
    return bs == batch_seq && fa_str_eq(col(res, row, COL_DB), b->db) && fa_str_eq(col(res, row, COL_RP), b->rp);
}

/* Points of a recording made before schema version 3 (farad.recording_points_v1), as rec_read_points. */
static int read_points_v1(PGconn *pg, fa_str_t recording_id, int64_t from_seq, uint32_t max, eng_batch_t *b,
                          rec_read_out_t *out, char *err, size_t errlen)
{
    static const char sql[] =
        "select seq, time_ns, db, rp, measurement, tags::text, fields::text, batch_seq, batch_group, query_node"
        " from farad.recording_points_v1 where recording_id = $1 and seq >= $2 order by seq limit $3";
    char from[24], lim[16];
    char *rid = strndup(recording_id.ptr ? recording_id.ptr : "", recording_id.len);
    const char *params[3] = { rid, from, lim };
    int rc = FA_EPG;

    if (rid == NULL)
        return FA_ENOMEM;
    if (max == 0)
        max = 4096;
    snprintf(from, sizeof from, "%" PRId64, from_seq);
    snprintf(lim, sizeof lim, "%u", max);
    eng_batch_reset(b);
    memset(out, 0, sizeof *out);
    out->batch_seq = -1;
    out->next_seq = from_seq;
    PGresult *res = PQexecParams(pg, sql, 3, NULL, params, NULL, NULL, 0);
    free(rid);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        snprintf(err, errlen, "reading recording %.*s from seq %" PRId64 ": %s", (int)recording_id.len,
                 recording_id.ptr, from_seq, PQerrorMessage(pg));
        goto Exit;
    }
    int n = PQntuples(res);
    if (n > 0) {
        fa_str_t db = col(res, 0, COL_DB), rp = col(res, 0, COL_RP);
        b->db = fa_str(fa_arena_strndup(&b->arena, db.ptr, db.len), db.len);
        b->rp = fa_str(fa_arena_strndup(&b->arena, rp.ptr, rp.len), rp.len);
        if (!PQgetisnull(res, 0, COL_BSEQ)) {
            fa_str_t g = col(res, 0, COL_GROUP);
            out->batch_seq = parse_i64(PQgetvalue(res, 0, COL_BSEQ));
            out->group = fa_str(fa_arena_strndup(&b->arena, g.ptr, g.len), g.len);
            out->query_node = (int32_t)parse_i64(PQgetvalue(res, 0, COL_NODE));
        }
    }
    int row = 0;
    for (; row < n && same_source(res, row, b, out->batch_seq); row++) {
        if (fill_point(b, res, row) != 0) {
            snprintf(err, errlen, "reading recording %.*s: seq %s: tags or fields are not a flat JSON object",
                     (int)recording_id.len, recording_id.ptr, PQgetvalue(res, row, COL_SEQ));
            rc = b->arena.limit ? FA_ENOMEM : FA_EPARSE;
            goto Exit;
        }
        out->next_seq = parse_i64(PQgetvalue(res, row, COL_SEQ)) + 1;
    }
    out->n = b->n;
    out->eof = row == n && (uint32_t)n < max;
    rc = FA_OK;
Exit:
    PQclear(res);
    return rc;
}

/* Whether blocks hold points of the recording at or after seq. 1, 0, or -1 with err. */
static int blocks_after(PGconn *pg, const char *rid, int64_t seq, char *err, size_t errlen)
{
    char from[24], low[24];
    const char *params[3] = { rid, from, low };
    snprintf(from, sizeof from, "%" PRId64, seq);
    snprintf(low, sizeof low, "%" PRId64, seq - REC_SEGMENT_MAX);
    PGresult *res = PQexecParams(pg,
                                 "select exists (select 1 from farad.recording_blocks where recording_id = $1"
                                 " and seg > $3 and seg + seg_n > $2)",
                                 3, NULL, params, NULL, NULL, 0);
    int rc = -1;
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
        rc = PQgetvalue(res, 0, 0)[0] == 't';
    else
        snprintf(err, errlen, "reading recording %s: %s", rid, PQerrorMessage(pg));
    PQclear(res);
    return rc;
}

int rec_read_points(PGconn *pg, fa_str_t recording_id, int64_t from_seq, uint32_t max, eng_batch_t *b,
                    rec_read_out_t *out, char *err, size_t errlen)
{
    rec_blocks_rd_t *rd = NULL;
    if (max == 0)
        max = 4096;
    int rc = rec_blocks_open(pg, recording_id, from_seq, from_seq + max, &rd, err, errlen);
    if (rc != FA_OK)
        return rc;
    rc = rec_blocks_next(rd, max, b, out, err, errlen);
    rec_blocks_close(rd);
    if (rc != FA_OK)
        return rc;
    if (b->n == 0) /* nothing in blocks from there: a recording made before version 3? */
        return read_points_v1(pg, recording_id, from_seq, max, b, out, err, errlen);
    if (b->n < max) {
        char *rid = strndup(recording_id.ptr ? recording_id.ptr : "", recording_id.len);
        int more = rid != NULL ? blocks_after(pg, rid, out->next_seq, err, errlen) : -1;
        free(rid);
        if (more < 0)
            return FA_EPG;
        out->eof = !more;
    }
    return FA_OK;
}

int rec_parse_tags(fa_arena_t *a, fa_str_t json, fa_str_t name, eng_point_t *pt)
{
    point_fill_t f = { pt, count_members(json.ptr, json.len), 0 };
    jp_t j = { json.ptr, json.ptr + json.len, a };

    pt->name = fa_str(fa_arena_strndup(a, name.ptr ? name.ptr : "", name.len), name.len);
    pt->n_tags = 0;
    pt->tags = f.cap_tags ? FA_NEW(a, eng_tag_t, f.cap_tags) : NULL;
    if (parse_object(&j, each_tag, &f) != 0)
        return -1;
    sort_tags(pt->tags, pt->n_tags);
    build_key(a, pt);
    return 0;
}
