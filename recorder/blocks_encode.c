/* recorder/blocks_encode.c - a stage (blocks_stage.c) as columnar blocks in big-endian binary COPY
 * data, and the COPY into farad.recording_blocks.
 *
 * The staged points are cut into segments of at most REC_SEGMENT_MAX consecutive seqs; within a
 * segment one block (one row of recording_blocks) per (source, series), in order of first
 * appearance (`part`). A block holds its points column-wise (schema version 4, SCHEMA.md): seq and
 * time_ns packed as big-endian int8s in bytea, per value type the keys (text[]) and a [key][point]
 * matrix, numbers packed (8 bytes each, bools 1, a presence bitmap after them when a point lacks a
 * key: put_packed), strings a text[][] with NULL. Unsigned values are stored with the same 64 bits
 * as int8 (the view adds 2^64 to negative ones). A key given twice in one point keeps its last
 * value, as jsonb did. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "recorder/blocks_int.h"

static const int64_t PG_EPOCH_US = 946684800000000; /* 2000-01-01 in µs since 1970 */

/* A staged field, located. */
typedef struct sfield {
    const char *at;          /* the type byte */
    fa_str_t key;
    const char *val;         /* the value bytes */
    uint8_t type;
} sfield_t;

static const char *field_at(const char *p, sfield_t *f)
{
    f->at = p;
    f->type = (uint8_t)*p++;
    uint32_t kl = rd32(p);
    f->key = fa_str(p + 4, kl);
    p += 4 + kl;
    f->val = p;
    switch (f->type) {
    case ENG_BOOL: return p + 1;
    case ENG_STRING: return p + 4 + rd32(p);
    default: return p + 8;
    }
}

/* A staged point, located. */
typedef struct spoint {
    int64_t time;
    const char *series;      /* len(name) ... */
    uint32_t series_len;
    const char *fields;      /* the first field */
    uint32_t n_fields;
} spoint_t;

static void point_at(const char *p, spoint_t *sp)
{
    sp->time = rd64(p);
    sp->series_len = rd32(p + 8);
    sp->series = p + 12;
    sp->n_fields = rd32(sp->series + sp->series_len);
    sp->fields = sp->series + sp->series_len + 4;
}

typedef struct block {
    size_t src;              /* offset of its source record */
    const char *series;
    uint32_t series_len;
    uint32_t head, tail, np; /* its points: indexes in the segment, linked by next[] */
} block_t;

typedef struct enc {
    const rec_stage_t *st;
    fa_str_t id;
    fa_buf_t *out;
    size_t *pts, *srcs;      /* per staged point: record offset, source offset */
    uint32_t *next;          /* per point of the segment */
    int32_t *table;
    uint32_t table_cap;
    block_t *blocks;
    uint32_t n_blocks;
    /* per block */
    fa_str_t *keys[N_TYPES];
    uint32_t n_keys[N_TYPES];
    const char **vals;       /* [type][key][point] flattened per type */
    size_t keys_cap;
} enc_t;

/* Appends a text datum: valid UTF-8 without NUL (U+FFFD in place of bad bytes), with its length. */
static int put_text(fa_buf_t *o, fa_str_t s)
{
    int rc = fa_buf_reserve(o, 4 + s.len * 3);
    if (rc != 0)
        return rc;
    char *lenp = o->ptr + o->len;
    char *w = lenp + 4;
    const unsigned char *u = (const unsigned char *)s.ptr;
    for (size_t i = 0; i < s.len;) {
        if (u[i] != 0 && u[i] < 0x80) {
            *w++ = (char)u[i++];
            continue;
        }
        size_t n = u[i] == 0 ? 0 : rec_utf8_seq(u + i, s.len - i);
        if (n == 0) {
            memcpy(w, "\xEF\xBF\xBD", 3);
            w += 3;
            i++;
        } else {
            memcpy(w, u + i, n);
            w += n;
            i += n;
        }
    }
    be32(lenp, (uint32_t)(w - lenp - 4));
    o->len = (size_t)(w - o->ptr);
    return 0;
}

/* A JSON string (quotes, escapes) of s, made valid UTF-8, into o. */
static int put_json(fa_buf_t *o, fa_str_t s)
{
    static const char hex[] = "0123456789abcdef";
    int rc = fa_buf_reserve(o, 2 + s.len * 6);
    if (rc != 0)
        return rc;
    char *w = o->ptr + o->len;
    const unsigned char *u = (const unsigned char *)s.ptr;
    *w++ = '"';
    for (size_t i = 0; i < s.len;) {
        unsigned c = u[i];
        if (c == '"' || c == '\\') {
            *w++ = '\\';
            *w++ = (char)c;
            i++;
        } else if (c == 0) {
            memcpy(w, "\xEF\xBF\xBD", 3);
            w += 3;
            i++;
        } else if (c < 0x20) {
            char e[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
            memcpy(w, e, 6);
            w += 6;
            i++;
        } else if (c < 0x80) {
            *w++ = (char)c;
            i++;
        } else {
            size_t n = rec_utf8_seq(u + i, s.len - i);
            if (n == 0) {
                memcpy(w, "\xEF\xBF\xBD", 3);
                w += 3;
                i++;
            } else {
                memcpy(w, u + i, n);
                w += n;
                i += n;
            }
        }
    }
    *w++ = '"';
    o->len = (size_t)(w - o->ptr);
    return 0;
}

static int put_null(fa_buf_t *o)
{
    int rc = fa_buf_reserve(o, 4);
    if (rc == 0) {
        be32(o->ptr + o->len, UINT32_MAX);
        o->len += 4;
    }
    return rc;
}

static int put_i64(fa_buf_t *o, int64_t v)
{
    int rc = fa_buf_reserve(o, 12);
    if (rc == 0) {
        char *w = be32(o->ptr + o->len, 8);
        be64(w, (uint64_t)v);
        o->len += 12;
    }
    return rc;
}

static int put_i32(fa_buf_t *o, int32_t v)
{
    int rc = fa_buf_reserve(o, 8);
    if (rc == 0) {
        char *w = be32(o->ptr + o->len, 4);
        be32(w, (uint32_t)v);
        o->len += 8;
    }
    return rc;
}

/* Array header; returns where the datum's length goes (filled by arr_end). */
static int arr_begin(fa_buf_t *o, int ndim, bool nulls, uint32_t oid, uint32_t d1, uint32_t d2, size_t *lenat)
{
    int rc = fa_buf_reserve(o, 4 + 12 + 16);
    if (rc != 0)
        return rc;
    *lenat = o->len;
    char *w = o->ptr + o->len + 4;
    w = be32(w, (uint32_t)ndim);
    w = be32(w, nulls ? 1 : 0);
    w = be32(w, oid);
    w = be32(w, d1);
    w = be32(w, 1);
    if (ndim == 2) {
        w = be32(w, d2);
        w = be32(w, 1);
    }
    o->len = (size_t)(w - o->ptr);
    return 0;
}

static void arr_end(fa_buf_t *o, size_t lenat) { be32(o->ptr + lenat, (uint32_t)(o->len - lenat - 4)); }

/* Parses the series bytes: the name and each tag. */
static void series_parse(const char *s, fa_str_t *name, uint32_t *n_tags, const char **tags)
{
    uint32_t nl = rd32(s);
    *name = fa_str(s + 4, nl);
    *n_tags = rd32(s + 4 + nl);
    *tags = s + 8 + nl;
}

static int put_tags_jsonb(fa_buf_t *o, const char *series)
{
    fa_str_t name;
    uint32_t n;
    const char *t;
    series_parse(series, &name, &n, &t);
    int rc = fa_buf_reserve(o, 8);
    if (rc != 0)
        return rc;
    size_t lenat = o->len;
    o->len += 4;
    o->ptr[o->len++] = 1; /* jsonb binary format version */
    o->ptr[o->len++] = '{';
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        uint32_t kl = rd32(t), vl = rd32(t + 4 + kl);
        fa_str_t k = fa_str(t + 4, kl), v = fa_str(t + 8 + kl, vl);
        t += 8 + kl + vl;
        rc = i ? fa_buf_append(o, ",", 1) : 0;
        rc = rc ? rc : put_json(o, k);
        rc = rc ? rc : fa_buf_append(o, ":", 1);
        rc = rc ? rc : put_json(o, v);
    }
    rc = rc ? rc : fa_buf_append(o, "}", 1);
    if (rc == 0)
        be32(o->ptr + lenat, (uint32_t)(o->len - lenat - 4));
    return rc;
}

static int type_of(uint8_t t)
{
    switch (t) {
    case ENG_FLOAT: return T_FLOAT;
    case ENG_INT: return T_INT;
    case ENG_UINT: return T_UINT;
    case ENG_STRING: return T_STRING;
    case ENG_BOOL: return T_BOOL;
    }
    return -1;
}

/* Whether field f of the point is overridden by a later one with the same key. */
static bool overridden(const sfield_t *f, const char *rest, uint32_t n_rest)
{
    sfield_t g;
    for (uint32_t i = 0; i < n_rest; i++) {
        rest = field_at(rest, &g);
        if (fa_str_eq(g.key, f->key))
            return true;
    }
    return false;
}

/* The key's index in type t's list of the block, added when new. */
static uint32_t key_index(enc_t *e, int t, fa_str_t key, uint32_t hint)
{
    if (hint < e->n_keys[t] && fa_str_eq(e->keys[t][hint], key))
        return hint;
    for (uint32_t i = 0; i < e->n_keys[t]; i++)
        if (fa_str_eq(e->keys[t][i], key))
            return i;
    e->keys[t][e->n_keys[t]] = key;
    return e->n_keys[t]++;
}

/* A [key][point] matrix of strings (NULL = absent) as a two-dimensional text[]. */
static int put_strings(fa_buf_t *o, const char **vals, uint32_t nk, uint32_t np)
{
    size_t nv = (size_t)nk * np, lenat;
    bool nulls = false;
    for (size_t v = 0; v < nv && !nulls; v++)
        nulls = vals[v] == NULL;
    int rc = arr_begin(o, 2, nulls, REC_OID_TEXT, nk, np, &lenat);
    for (size_t v = 0; v < nv && rc == 0; v++)
        rc = vals[v] == NULL ? put_null(o) : put_text(o, fa_str(vals[v] + 4, rd32(vals[v])));
    if (rc == 0)
        arr_end(o, lenat);
    return rc;
}

/* A [key][point] matrix of numbers (NULL = absent) packed as schema version 4 stores them: nv
 * big-endian 8-byte values (bools: one byte each), 0 where absent, then, when some are absent, a
 * presence bitmap (bit v at byte v / 8, bit v % 8 from the least significant). */
static int put_packed(fa_buf_t *o, const char **vals, size_t nv, bool bools)
{
    size_t w8 = bools ? 1 : 8, present = 0;
    for (size_t v = 0; v < nv; v++)
        present += vals[v] != NULL;
    size_t bytes = nv * w8 + (present < nv ? (nv + 7) / 8 : 0);
    if (bytes > INT32_MAX)
        return FA_E2BIG;
    int rc = fa_buf_reserve(o, 4 + bytes);
    if (rc != 0)
        return rc;
    char *w = be32(o->ptr + o->len, (uint32_t)bytes);
    for (size_t v = 0; v < nv; v++) {
        const char *val = vals[v];
        if (bools)
            *w++ = val != NULL && *val ? 1 : 0;
        else
            w = be64(w, val != NULL ? (uint64_t)rd64(val) : 0);
    }
    if (present < nv) {
        memset(w, 0, (nv + 7) / 8);
        for (size_t v = 0; v < nv; v++)
            if (vals[v] != NULL)
                w[v >> 3] |= (char)(1u << (v & 7));
        w += (nv + 7) / 8;
    }
    o->len = (size_t)(w - o->ptr);
    return 0;
}

static int put_block(enc_t *e, const block_t *bk, int64_t seg, uint32_t seg_n, uint32_t part, int64_t first_seq)
{
    fa_buf_t *o = e->out;
    const char *src = e->st->buf.ptr + bk->src + 1;
    int64_t batch_seq = rd64(src);
    int32_t node = (int32_t)rd32(src + 8);
    uint32_t dl = rd32(src + 12), rl = rd32(src + 16), gl = rd32(src + 20);
    fa_str_t db = fa_str(src + 24, dl), rp = fa_str(src + 24 + dl, rl), group = fa_str(src + 24 + dl + rl, gl);
    uint32_t np = bk->np;
    size_t total_fields = 0;
    spoint_t sp;

    for (uint32_t i = bk->head; i != UINT32_MAX; i = e->next[i]) {
        point_at(e->st->buf.ptr + e->pts[i] + 5, &sp);
        total_fields += sp.n_fields;
    }
    /* keys: at most total_fields per type; values [key][point] */
    if (total_fields > e->keys_cap) {
        size_t cap = total_fields * 2;
        for (int t = 0; t < N_TYPES; t++) {
            fa_str_t *k = realloc(e->keys[t], cap * sizeof *k);
            if (k == NULL)
                return FA_ENOMEM;
            e->keys[t] = k;
        }
        e->keys_cap = cap;
    }
    memset(e->n_keys, 0, sizeof e->n_keys);
    int64_t tmin = INT64_MAX, tmax = INT64_MIN;
    for (uint32_t i = bk->head; i != UINT32_MAX; i = e->next[i]) {
        point_at(e->st->buf.ptr + e->pts[i] + 5, &sp);
        tmin = sp.time < tmin ? sp.time : tmin;
        tmax = sp.time > tmax ? sp.time : tmax;
        const char *f = sp.fields;
        sfield_t sf;
        for (uint32_t k = 0; k < sp.n_fields; k++) {
            f = field_at(f, &sf);
            int t = type_of(sf.type);
            if (t < 0)
                return FA_EINVAL;
            key_index(e, t, sf.key, k);
        }
    }
    size_t n_vals = 0;
    for (int t = 0; t < N_TYPES; t++)
        n_vals += (size_t)e->n_keys[t] * np;
    const char **vals = calloc(n_vals ? n_vals : 1, sizeof *vals);
    if (vals == NULL)
        return FA_ENOMEM;
    const char **base[N_TYPES];
    size_t off = 0;
    for (int t = 0; t < N_TYPES; t++) {
        base[t] = vals + off;
        off += (size_t)e->n_keys[t] * np;
    }
    int rc = 0;
    /* the fixed columns */
    rc = fa_buf_reserve(o, 2);
    if (rc == 0) {
        be16(o->ptr + o->len, REC_ENC_COLS);
        o->len += 2;
    }
    rc = rc ? rc : put_text(o, e->id);
    rc = rc ? rc : put_i64(o, seg);
    rc = rc ? rc : put_i32(o, (int32_t)seg_n);
    rc = rc ? rc : put_i32(o, (int32_t)part);
    rc = rc ? rc : put_text(o, db);
    rc = rc ? rc : put_text(o, rp);
    fa_str_t name;
    uint32_t n_tags;
    const char *tags;
    series_parse(bk->series, &name, &n_tags, &tags);
    rc = rc ? rc : put_text(o, name);
    rc = rc ? rc : put_tags_jsonb(o, bk->series);
    if (batch_seq >= 0) {
        rc = rc ? rc : put_i64(o, batch_seq);
        rc = rc ? rc : put_text(o, group);
        rc = rc ? rc : put_i32(o, node);
    } else {
        for (int k = 0; k < 3 && rc == 0; k++)
            rc = put_null(o);
    }
    int64_t umin = tmin / 1000 - (tmin % 1000 < 0), umax = tmax / 1000 - (tmax % 1000 < 0);
    rc = rc ? rc : put_i64(o, umin - PG_EPOCH_US);
    rc = rc ? rc : put_i64(o, umax - PG_EPOCH_US);
    /* seq and time_ns packed; the values' places */
    rc = rc ? rc : fa_buf_reserve(o, 8 + (size_t)np * 16);
    if (rc == 0) {
        char *w = be32(o->ptr + o->len, np * 8);
        for (uint32_t i = bk->head; i != UINT32_MAX; i = e->next[i])
            w = be64(w, (uint64_t)(first_seq + (int64_t)i));
        w = be32(w, np * 8);
        uint32_t j = 0;
        for (uint32_t i = bk->head; i != UINT32_MAX; i = e->next[i], j++) {
            point_at(e->st->buf.ptr + e->pts[i] + 5, &sp);
            w = be64(w, (uint64_t)sp.time);
            const char *f = sp.fields;
            sfield_t sf;
            for (uint32_t k = 0; k < sp.n_fields; k++) {
                f = field_at(f, &sf);
                if (overridden(&sf, f, sp.n_fields - k - 1))
                    continue;
                int t = type_of(sf.type);
                uint32_t ki = key_index(e, t, sf.key, k);
                base[t][(size_t)ki * np + j] = sf.val;
            }
        }
        o->len = (size_t)(w - o->ptr);
    }
    /* per type: keys and values */
    for (int t = 0; t < N_TYPES && rc == 0; t++) {
        uint32_t nk = e->n_keys[t];
        if (nk == 0) {
            rc = put_null(o);
            rc = rc ? rc : put_null(o);
            continue;
        }
        size_t lenat;
        rc = arr_begin(o, 1, false, REC_OID_TEXT, nk, 0, &lenat);
        for (uint32_t k = 0; k < nk && rc == 0; k++)
            rc = put_text(o, e->keys[t][k]);
        if (rc != 0)
            break;
        arr_end(o, lenat);
        size_t nv = (size_t)nk * np;
        rc = t == T_STRING ? put_strings(o, base[t], nk, np) : put_packed(o, base[t], nv, t == T_BOOL);
    }
    free(vals);
    return rc;
}

/* FNV-1a over the source offset and the series bytes. */
static uint64_t series_hash(size_t src, const char *s, uint32_t n)
{
    uint64_t h = 1469598103934665603u ^ (uint64_t)src;
    for (uint32_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211u;
    return h ^ h >> 29;
}

static int encode_segment(enc_t *e, uint32_t s0, uint32_t s1, int64_t first_seq, uint32_t *n_rows)
{
    uint32_t n = s1 - s0;
    uint32_t cap = 16;
    while (cap < n * 2)
        cap <<= 1;
    if (cap > e->table_cap) {
        int32_t *t = realloc(e->table, cap * sizeof *t);
        if (t == NULL)
            return FA_ENOMEM;
        e->table = t;
        e->table_cap = cap;
    }
    memset(e->table, 0xff, cap * sizeof *e->table);
    e->n_blocks = 0;
    for (uint32_t i = s0; i < s1; i++) {
        spoint_t sp;
        point_at(e->st->buf.ptr + e->pts[i] + 5, &sp);
        uint64_t h = series_hash(e->srcs[i], sp.series, sp.series_len);
        uint32_t slot = (uint32_t)h & (cap - 1);
        int32_t b;
        while ((b = e->table[slot]) >= 0) {
            block_t *bk = &e->blocks[b];
            if (bk->src == e->srcs[i] && bk->series_len == sp.series_len &&
                memcmp(bk->series, sp.series, sp.series_len) == 0)
                break;
            slot = (slot + 1) & (cap - 1);
        }
        if (b < 0) {
            b = (int32_t)e->n_blocks++;
            e->table[slot] = b;
            e->blocks[b] = (block_t){ e->srcs[i], sp.series, sp.series_len, UINT32_MAX, UINT32_MAX, 0 };
        }
        block_t *bk = &e->blocks[b];
        e->next[i] = UINT32_MAX;
        if (bk->tail == UINT32_MAX)
            bk->head = i;
        else
            e->next[bk->tail] = i;
        bk->tail = i;
        bk->np++;
    }
    for (uint32_t b = 0; b < e->n_blocks; b++) {
        int rc = put_block(e, &e->blocks[b], first_seq + s0, n, b, first_seq);
        if (rc != 0)
            return rc;
    }
    *n_rows += e->n_blocks;
    return 0;
}

int rec_blocks_encode(const rec_stage_t *st, fa_str_t recording_id, int64_t first_seq, fa_buf_t *out,
                      uint32_t *n_rows)
{
    static const char header[] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0";
    enc_t e;
    int rc = 0;

    memset(&e, 0, sizeof e);
    e.st = st;
    e.id = recording_id;
    e.out = out;
    *n_rows = 0;
    fa_buf_clear(out);
    if ((rc = fa_buf_append(out, header, 19)) != 0)
        return rc;
    uint32_t n = st->n;
    e.pts = malloc(sizeof *e.pts * (n ? n : 1));
    e.srcs = malloc(sizeof *e.srcs * (n ? n : 1));
    e.next = malloc(sizeof *e.next * (n ? n : 1));
    e.blocks = malloc(sizeof *e.blocks * (n < REC_SEGMENT_MAX ? (n ? n : 1) : REC_SEGMENT_MAX));
    if (e.pts == NULL || e.srcs == NULL || e.next == NULL || e.blocks == NULL) {
        rc = FA_ENOMEM;
        goto Exit;
    }
    /* index the records */
    size_t src = SIZE_MAX;
    uint32_t k = 0;
    for (size_t at = 0; at < st->buf.len;) {
        const char *p = st->buf.ptr + at;
        if (*p == REC_SRC_REC) {
            src = at;
            at += 1 + 24 + rd32(p + 13) + rd32(p + 17) + rd32(p + 21);
        } else if (*p == REC_PT_REC && src != SIZE_MAX && k < n) {
            e.pts[k] = at;
            e.srcs[k++] = src;
            at += 5 + rd32(p + 1);
        } else {
            rc = FA_EINVAL;
            goto Exit;
        }
    }
    if (k != n) {
        rc = FA_EINVAL;
        goto Exit;
    }
    for (uint32_t s0 = 0; s0 < n && rc == 0; s0 += REC_SEGMENT_MAX)
        rc = encode_segment(&e, s0, n - s0 > REC_SEGMENT_MAX ? s0 + REC_SEGMENT_MAX : n, first_seq, n_rows);
    rc = rc ? rc : fa_buf_append(out, "\377\377", 2);
Exit:
    free(e.pts);
    free(e.srcs);
    free(e.next);
    free(e.blocks);
    free(e.table);
    for (int t = 0; t < N_TYPES; t++)
        free(e.keys[t]);
    return rc;
}

/* libpq's message on one line. */
void rec_blocks_pg_err(PGconn *pg, const char *what, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s: %s", what, PQerrorMessage(pg));
    for (char *p = err; *p; p++)
        if (*p == '\n' || *p == '\t')
            *p = ' ';
    size_t l = strlen(err);
    while (l > 0 && err[l - 1] == ' ')
        err[--l] = '\0';
}

int rec_blocks_copy(PGconn *pg, const fa_buf_t *data, char *err, size_t errlen)
{
    static const char what[] = "COPY into farad.recording_blocks";
    PGresult *res = PQexec(pg, "copy farad.recording_blocks (recording_id, seg, seg_n, part, db, rp, measurement,"
                               " tags, batch_seq, batch_group, query_node, min_time, max_time, seq, time_ns, fkeys,"
                               " fval, ikeys, ival, ukeys, uval, skeys, sval, bkeys, bval) from stdin (format binary)");
    int rc = FA_EPG;
    if (PQresultStatus(res) != PGRES_COPY_IN) {
        rec_blocks_pg_err(pg, what, err, errlen);
        PQclear(res);
        return FA_EPG;
    }
    PQclear(res);
    for (size_t off = 0; off < data->len;) {
        size_t n = data->len - off > (1u << 20) ? (1u << 20) : data->len - off;
        if (PQputCopyData(pg, data->ptr + off, (int)n) != 1) {
            rec_blocks_pg_err(pg, "COPY into farad.recording_blocks: sending rows", err, errlen);
            PQputCopyEnd(pg, "send failed");
            goto Drain;
        }
        off += n;
    }
    if (PQputCopyEnd(pg, NULL) != 1) {
        rec_blocks_pg_err(pg, what, err, errlen);
        goto Drain;
    }
    res = PQgetResult(pg);
    if (PQresultStatus(res) == PGRES_COMMAND_OK)
        rc = FA_OK;
    else
        rec_blocks_pg_err(pg, what, err, errlen);
    PQclear(res);
Drain:
    while ((res = PQgetResult(pg)) != NULL)
        PQclear(res);
    return rc;
}
