/* recorder/blocks.c - columnar blocks of recorded points, binary COPY both ways.
 *
 * Staging (rec_stage_*): each point becomes one record in a byte buffer, host byte order:
 *   source: 'S' i64 batch_seq, i32 query_node, u32 len(db), u32 len(rp), u32 len(group), db, rp, group
 *   point:  'P' u32 len(rest), i64 time, u32 len(series), series, u32 n_fields, fields
 *           series = u32 len(name), name, u32 n_tags, (u32 len, key, u32 len, value)...
 *           field  = u8 type, u32 len, key, value (8 bytes for float/int/uint, 1 for bool, u32 len
 *                    + bytes for a string)
 * A source record precedes the first point and every point whose db, rp or batch differs.
 *
 * Encoding (rec_blocks_encode): the staged points are cut into segments of at most
 * REC_SEGMENT_MAX consecutive seqs; within a segment one block (one row of recording_blocks) per
 * (source, series), in order of first appearance (`part`). A block holds its points column-wise
 * (schema version 4, SCHEMA.md): seq and time_ns packed as big-endian int8s in bytea, per value
 * type the keys (text[]) and a [key][point] matrix, numbers packed (8 bytes each, bools 1, a
 * presence bitmap after them when a point lacks a key: put_packed), strings a text[][] with NULL.
 * Unsigned values are stored with the same 64 bits as int8 (the view adds 2^64 to negative ones).
 * A key given twice in one point keeps its last value, as jsonb did.
 *
 * Reading (rec_blocks_*): COPY (select ... order by seg, part) TO STDOUT binary, one segment at a
 * time: its rows are kept until its points are handed out, a slot per seq says which block and
 * which column holds that point. Strings are copied into the caller's batch arena, names, tags,
 * series keys and field keys once per block and batch. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "recorder/blocks.h"

enum { SRC_REC = 'S', PT_REC = 'P' };
enum { T_FLOAT, T_INT, T_UINT, T_STRING, T_BOOL, N_TYPES };
enum { OID_TEXT = 25 };

static const int64_t PG_EPOCH_US = 946684800000000; /* 2000-01-01 in µs since 1970 */

/* ---- staging ---- */

void rec_stage_init(rec_stage_t *st, size_t limit)
{
    memset(st, 0, sizeof *st);
    st->buf.limit = limit;
    st->src_at = SIZE_MAX;
}

void rec_stage_clear(rec_stage_t *st)
{
    fa_buf_clear(&st->buf);
    st->n = 0;
    st->src_at = SIZE_MAX;
}

void rec_stage_deinit(rec_stage_t *st)
{
    fa_buf_deinit(&st->buf);
    st->n = 0;
}

static uint32_t rd32(const char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static int64_t rd64(const char *p)
{
    int64_t v;
    memcpy(&v, p, 8);
    return v;
}

static char *wr32(char *p, uint32_t v)
{
    memcpy(p, &v, 4);
    return p + 4;
}

static char *wr64(char *p, int64_t v)
{
    memcpy(p, &v, 8);
    return p + 8;
}

static char *wrstr(char *p, fa_str_t s)
{
    p = wr32(p, (uint32_t)s.len);
    if (s.len)
        memcpy(p, s.ptr, s.len);
    return p + s.len;
}

/* Whether the last source record says db, rp and m's batch. */
static bool same_src(const rec_stage_t *st, const rec_copy_meta_t *m, fa_str_t db, fa_str_t rp)
{
    if (st->src_at == SIZE_MAX)
        return false;
    const char *p = st->buf.ptr + st->src_at + 1;
    int64_t bs = rd64(p);
    int32_t node = (int32_t)rd32(p + 8);
    uint32_t dl = rd32(p + 12), rl = rd32(p + 16), gl = rd32(p + 20);
    const char *s = p + 24;
    int64_t mbs = m->batch_seq < 0 ? -1 : m->batch_seq;
    if (bs != mbs || dl != db.len || rl != rp.len || memcmp(s, db.ptr, dl) != 0 || memcmp(s + dl, rp.ptr, rl) != 0)
        return false;
    return mbs < 0 || (node == m->query_node && gl == m->group.len && memcmp(s + dl + rl, m->group.ptr, gl) == 0);
}

static bool too_long(size_t n) { return n > UINT32_MAX / 2; }

int rec_stage_point(rec_stage_t *st, const rec_copy_meta_t *m, fa_str_t db, fa_str_t rp, const eng_point_t *p)
{
    bool src = !same_src(st, m, db, rp);
    fa_str_t group = m->batch_seq >= 0 ? m->group : (fa_str_t){ 0 };
    size_t src_len = src ? 1 + 24 + db.len + rp.len + group.len : 0;
    size_t series = 8 + p->name.len;
    for (uint32_t i = 0; i < p->n_tags; i++)
        series += 8 + p->tags[i].key.len + p->tags[i].value.len;
    size_t body = 8 + 4 + series + 4;
    for (uint32_t i = 0; i < p->n_fields; i++) {
        const eng_field_t *f = &p->fields[i];
        body += 5 + f->key.len + (f->v.type == ENG_BOOL ? 1 : f->v.type == ENG_STRING ? 4 + f->v.s.len : 8);
    }
    if (too_long(body) || too_long(src_len))
        return FA_E2BIG;
    int rc = fa_buf_reserve(&st->buf, src_len + 5 + body);
    if (rc != 0)
        return rc;
    char *w = st->buf.ptr + st->buf.len;
    if (src) {
        st->src_at = st->buf.len;
        *w++ = SRC_REC;
        w = wr64(w, m->batch_seq < 0 ? -1 : m->batch_seq);
        w = wr32(w, (uint32_t)(m->batch_seq < 0 ? 0 : m->query_node));
        w = wr32(w, (uint32_t)db.len);
        w = wr32(w, (uint32_t)rp.len);
        w = wr32(w, (uint32_t)group.len);
        memcpy(w, db.ptr, db.len);
        w += db.len;
        memcpy(w, rp.ptr, rp.len);
        w += rp.len;
        if (group.len)
            memcpy(w, group.ptr, group.len);
        w += group.len;
    }
    *w++ = PT_REC;
    w = wr32(w, (uint32_t)body);
    w = wr64(w, p->time);
    w = wr32(w, (uint32_t)series);
    w = wrstr(w, p->name);
    w = wr32(w, p->n_tags);
    for (uint32_t i = 0; i < p->n_tags; i++) {
        w = wrstr(w, p->tags[i].key);
        w = wrstr(w, p->tags[i].value);
    }
    w = wr32(w, p->n_fields);
    for (uint32_t i = 0; i < p->n_fields; i++) {
        const eng_field_t *f = &p->fields[i];
        *w++ = (char)f->v.type;
        w = wrstr(w, f->key);
        switch (f->v.type) {
        case ENG_FLOAT: memcpy(w, &f->v.f, 8); w += 8; break;
        case ENG_INT: w = wr64(w, f->v.i); break;
        case ENG_UINT: w = wr64(w, (int64_t)f->v.u); break;
        case ENG_BOOL: *w++ = f->v.b ? 1 : 0; break;
        case ENG_STRING: w = wrstr(w, f->v.s); break;
        }
    }
    st->buf.len = (size_t)(w - st->buf.ptr);
    st->n++;
    return 0;
}

/* ---- encoding: big-endian binary COPY ---- */

static char *be16(char *p, uint16_t v)
{
    p[0] = (char)(v >> 8);
    p[1] = (char)v;
    return p + 2;
}

static char *be32(char *p, uint32_t v)
{
    p[0] = (char)(v >> 24);
    p[1] = (char)(v >> 16);
    p[2] = (char)(v >> 8);
    p[3] = (char)v;
    return p + 4;
}

static char *be64(char *p, uint64_t v)
{
    p = be32(p, (uint32_t)(v >> 32));
    return be32(p, (uint32_t)v);
}

static uint32_t get_be32(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;
    return (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3];
}

static uint64_t get_be64(const char *p) { return (uint64_t)get_be32(p) << 32 | get_be32(p + 4); }

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
    int rc = arr_begin(o, 2, nulls, OID_TEXT, nk, np, &lenat);
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
        be16(o->ptr + o->len, 25);
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
        rc = arr_begin(o, 1, false, OID_TEXT, nk, 0, &lenat);
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
        if (*p == SRC_REC) {
            src = at;
            at += 1 + 24 + rd32(p + 13) + rd32(p + 17) + rd32(p + 21);
        } else if (*p == PT_REC && src != SIZE_MAX && k < n) {
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
static void pg_err(PGconn *pg, const char *what, char *err, size_t errlen)
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
        pg_err(pg, what, err, errlen);
        PQclear(res);
        return FA_EPG;
    }
    PQclear(res);
    for (size_t off = 0; off < data->len;) {
        size_t n = data->len - off > (1u << 20) ? (1u << 20) : data->len - off;
        if (PQputCopyData(pg, data->ptr + off, (int)n) != 1) {
            pg_err(pg, "COPY into farad.recording_blocks: sending rows", err, errlen);
            PQputCopyEnd(pg, "send failed");
            goto Drain;
        }
        off += n;
    }
    if (PQputCopyEnd(pg, NULL) != 1) {
        pg_err(pg, what, err, errlen);
        goto Drain;
    }
    res = PQgetResult(pg);
    if (PQresultStatus(res) == PGRES_COMMAND_OK)
        rc = FA_OK;
    else
        pg_err(pg, what, err, errlen);
    PQclear(res);
Drain:
    while ((res = PQgetResult(pg)) != NULL)
        PQclear(res);
    return rc;
}

/* ---- reading ---- */

/* the columns read, in order: scalars, then arrays (seq, time_ns, then keys and values per type) */
enum { C_SEG, C_SEG_N, C_DB, C_RP, C_M, C_TAGS, C_BSEQ, C_GROUP, C_NODE, C_SEQ, C_TIME, C_KEYS0,
       N_COLS = C_KEYS0 + 2 * N_TYPES };

/* An array column decoded: dims and, per element, where its int32 length is (NULL: no column). */
typedef struct arr {
    uint32_t d1, d2;         /* d2 = 1 for one dimension */
    const char **el;
} arr_t;

typedef struct rblock {
    /* read per point (replay order hops between blocks: these fit the first two cache lines,
     * which are fetched ahead) */
    uint32_t *order;         /* the field keys in jsonb's order: type << 24 | index */
    uint32_t n_order;
    uint32_t src;            /* blocks of one db, rp and batch share it */
    uint64_t gen;            /* the batch whose arena holds the copies below */
    fa_str_t name, key;      /* copies in the current batch's arena */
    eng_tag_t *tags;
    uint32_t n_tags;
    fa_str_t *fkeys;         /* per entry of order */
    /* the points row-major, for replay order across blocks without a cache miss per column: per
     * point `stride` bytes = time, the block's index (4 bytes, then 4 of padding), the value bits
     * per entry of order (a string: its element), then a presence byte per entry */
    char *rows;
    size_t stride;
    fa_str_t col[C_KEYS0];   /* scalar columns (ptr NULL = SQL NULL) */
    const char *seq, *time;  /* np big-endian int8s each */
    uint32_t np;             /* points */
    arr_t keys[N_TYPES], strs; /* keys per type; the string values' [key][point] text[] */
    const char *num[N_TYPES]; /* numbers: the packed [key][point] values (NULL: none of the type) */
    const char *bits[N_TYPES]; /* their presence bitmap, NULL = all present */
    int64_t batch_seq;
    int32_t node;
    /* name, tags, series key and field keys parsed once per segment (in the segment's arena) */
    eng_point_t seg_pt;
    fa_str_t *seg_fkeys;     /* per entry of order */
    char *strs_copy;         /* all those strings, NUL-terminated, one after another */
    size_t str_bytes;        /* their bytes */
} rblock_t;

struct rec_blocks_rd {
    PGconn *pg;
    bool copying, header_done, end;
    bool sort_off;           /* enable_sort was turned off for the read */
    fa_str_t id;
    char *id_copy;
    int64_t from, to;
    char *next_row;          /* a row of the following segment, read ahead */
    /* COPY messages received while points are handed out, so that the backend keeps sending
     * (its socket would fill and stall it otherwise): taken before reading more */
    struct qmsg { char *p; int n; } *q;
    uint32_t q_head, q_n, q_cap;
    size_t q_bytes;
    bool q_end;              /* the end of the COPY (-1) was received after them */
    int next_len;
    char **rows;
    uint32_t n_rows, cap_rows;
    rblock_t *blocks;
    fa_arena_t arena;        /* the segment's decoding */
    char **slots;            /* per seq of the segment: its point's row, NULL = none */
    uint32_t cap_slots;
    int64_t seg;
    uint32_t seg_n, pos;
    uint64_t gen;
};

int rec_blocks_open(PGconn *pg, fa_str_t recording_id, int64_t from_seq, int64_t to_seq, rec_blocks_rd_t **out,
                    char *err, size_t errlen)
{
    rec_blocks_rd_t *rd = calloc(1, sizeof *rd);
    char *lit = NULL;
    char sql[1024];
    if (rd == NULL || (rd->id_copy = strndup(recording_id.ptr ? recording_id.ptr : "", recording_id.len)) == NULL) {
        free(rd);
        snprintf(err, errlen, "reading recording %.*s: out of memory", (int)recording_id.len, recording_id.ptr);
        return FA_ENOMEM;
    }
    rd->pg = pg;
    rd->id = fa_str(rd->id_copy, recording_id.len);
    rd->from = from_seq;
    rd->to = to_seq;
    fa_arena_init(&rd->arena, 32u << 20, 0); /* lazily touched: no page faults per segment */
    lit = PQescapeLiteral(pg, rd->id_copy, strlen(rd->id_copy));
    if (lit == NULL) {
        pg_err(pg, "reading a recording", err, errlen);
        rec_blocks_close(rd);
        return FA_EPG;
    }
    char upper[64] = "";
    if (to_seq >= 0)
        snprintf(upper, sizeof upper, " and seg < %" PRId64, to_seq);
    snprintf(sql, sizeof sql,
             "copy (select seg, seg_n, db, rp, measurement, tags, batch_seq, batch_group, query_node, seq, time_ns,"
             " fkeys, fval, ikeys, ival, ukeys, uval, skeys, sval, bkeys, bval from farad.recording_blocks"
             " where recording_id = %s and seg > %" PRId64 " and seg + seg_n > %" PRId64 "%s order by seg, part)"
             " to stdout (format binary)",
             lit, from_seq - REC_SEGMENT_MAX, from_seq, upper);
    PQfreemem(lit);
    /* the primary key's order is the order wanted: without this the planner may pick a bitmap scan
     * and sort the whole recording (spilling to disk past work_mem); reset by rec_blocks_close */
    PGresult *res = PQexec(pg, "set enable_sort = off");
    bool set_ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    if (!set_ok) {
        char what[400];
        snprintf(what, sizeof what, "reading recording %s: set enable_sort", rd->id_copy);
        pg_err(pg, what, err, errlen);
        rec_blocks_close(rd);
        return FA_EPG;
    }
    rd->sort_off = true;
    res = PQexec(pg, sql);
    if (PQresultStatus(res) != PGRES_COPY_OUT) {
        char what[400];
        snprintf(what, sizeof what, "reading recording %s", rd->id_copy);
        pg_err(pg, what, err, errlen);
        PQclear(res);
        rec_blocks_close(rd);
        return FA_EPG;
    }
    PQclear(res);
    rd->copying = true;
    *out = rd;
    return FA_OK;
}

static void free_rows(rec_blocks_rd_t *rd)
{
    for (uint32_t i = 0; i < rd->n_rows; i++)
        PQfreemem(rd->rows[i]);
    rd->n_rows = 0;
}

void rec_blocks_close(rec_blocks_rd_t *rd)
{
    if (rd == NULL)
        return;
    if (rd->copying) {
        /* the rest is read and dropped, not cancelled: a cancel request is asynchronous and could
         * hit the connection's next statement instead */
        char *row;
        int n;
        while (!rd->q_end && (n = PQgetCopyData(rd->pg, &row, 0)) > 0)
            PQfreemem(row);
        PGresult *res;
        while ((res = PQgetResult(rd->pg)) != NULL)
            PQclear(res);
    }
    if (rd->sort_off)
        PQclear(PQexec(rd->pg, "reset enable_sort"));
    free_rows(rd);
    for (uint32_t i = rd->q_head; i < rd->q_n; i++)
        PQfreemem(rd->q[i].p);
    free(rd->q);
    PQfreemem(rd->next_row);
    free(rd->rows);
    free(rd->blocks);
    free(rd->slots);
    fa_arena_deinit(&rd->arena);
    free(rd->id_copy);
    free(rd);
}

/* Bytes of COPY data held ahead at most. */
enum { Q_MAX_BYTES = 64u << 20 };

/* Receives the COPY messages that have arrived, without waiting, into the queue. */
static void pump(rec_blocks_rd_t *rd)
{
    if (!rd->copying || rd->end || rd->q_end || rd->q_bytes > Q_MAX_BYTES || !PQconsumeInput(rd->pg))
        return;
    for (;;) {
        if (rd->q_n == rd->q_cap) {
            if (rd->q_head > 0) { /* move the rest to the front */
                memmove(rd->q, rd->q + rd->q_head, (rd->q_n - rd->q_head) * sizeof *rd->q);
                rd->q_n -= rd->q_head;
                rd->q_head = 0;
            }
            if (rd->q_n == rd->q_cap) {
                uint32_t cap = rd->q_cap ? rd->q_cap * 2 : 256;
                struct qmsg *q = realloc(rd->q, cap * sizeof *q);
                if (q == NULL)
                    return; /* read later, waiting */
                rd->q = q;
                rd->q_cap = cap;
            }
        }
        char *m;
        int n = PQgetCopyData(rd->pg, &m, 1);
        if (n == -1)
            rd->q_end = true;
        if (n <= 0) /* none yet, the end, or an error (met again by the waiting read) */
            return;
        rd->q[rd->q_n++] = (struct qmsg){ m, n };
        rd->q_bytes += (size_t)n;
    }
}

/* The next COPY message as PQgetCopyData (waiting), the queued ones first. */
static int fetch(rec_blocks_rd_t *rd, char **m)
{
    if (rd->q_head < rd->q_n) {
        struct qmsg q = rd->q[rd->q_head++];
        rd->q_bytes -= (size_t)q.n;
        *m = q.p;
        return q.n;
    }
    rd->q_head = rd->q_n = 0;
    if (rd->q_end) {
        rd->q_end = false;
        return -1;
    }
    return PQgetCopyData(rd->pg, m, 0);
}

/* The next COPY row (header skipped), NULL at the end; -1 on error. */
static int read_row(rec_blocks_rd_t *rd, char **row, int *len, char *err, size_t errlen)
{
    *row = NULL;
    if (rd->end)
        return 0;
    int n = fetch(rd, row);
    if (n == -1) {
        rd->end = true;
        PGresult *res = PQgetResult(rd->pg);
        bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
        if (!ok) {
            char what[400];
            snprintf(what, sizeof what, "reading recording %s", rd->id_copy);
            pg_err(rd->pg, what, err, errlen);
        }
        PQclear(res);
        while ((res = PQgetResult(rd->pg)) != NULL)
            PQclear(res);
        rd->copying = false;
        *row = NULL;
        return ok ? 0 : -1;
    }
    if (n < 0) {
        char what[400];
        snprintf(what, sizeof what, "reading recording %s", rd->id_copy);
        pg_err(rd->pg, what, err, errlen);
        return -1;
    }
    char *p = *row;
    int l = n;
    if (!rd->header_done) {
        if (l < 19 || memcmp(p, "PGCOPY\n\377\r\n\0", 11) != 0) {
            snprintf(err, errlen, "reading recording %s: not a binary COPY header", rd->id_copy);
            return -1;
        }
        rd->header_done = true;
        uint32_t ext = get_be32(p + 15);
        p += 19 + ext;
        l -= 19 + (int)ext;
        /* the header's message may hold the first row too: move it to the front */
        memmove(*row, p, (size_t)l);
        if (l == 0) {
            PQfreemem(*row);
            return read_row(rd, row, len, err, errlen);
        }
    }
    if (l == 2 && (unsigned char)(*row)[0] == 0xff && (unsigned char)(*row)[1] == 0xff) {
        PQfreemem(*row);
        return read_row(rd, row, len, err, errlen); /* the trailer; -1 follows */
    }
    *len = l;
    return 0;
}

/* Decodes an array datum at p of n bytes; el gets the element positions (in the arena). */
static int parse_arr(fa_arena_t *a, const char *p, int32_t n, arr_t *out)
{
    memset(out, 0, sizeof *out);
    if (n < 0)
        return 0;
    if (n < 12)
        return -1;
    uint32_t ndim = get_be32(p);
    if (ndim == 0) {
        out->d1 = 0;
        out->d2 = 1;
        out->el = FA_NEW(a, const char *, 1);
        return 0;
    }
    if (ndim > 2 || (size_t)n < 12 + 8 * ndim)
        return -1;
    out->d1 = get_be32(p + 12);
    out->d2 = ndim == 2 ? get_be32(p + 20) : 1;
    size_t ne = (size_t)out->d1 * out->d2;
    out->el = FA_NEW(a, const char *, ne ? ne : 1);
    const char *q = p + 12 + 8 * ndim, *end = p + n;
    for (size_t i = 0; i < ne; i++) {
        if (end - q < 4)
            return -1;
        int32_t l = (int32_t)get_be32(q);
        out->el[i] = q;
        q += 4 + (l > 0 ? l : 0);
        if (q > end)
            return -1;
    }
    return 0;
}

static int32_t el_len(const char *e) { return (int32_t)get_be32(e); }

/* jsonb's key order: shorter first, then bytewise. */
static int jsonb_cmp(fa_str_t a, fa_str_t b)
{
    if (a.len != b.len)
        return a.len < b.len ? -1 : 1;
    return a.len ? memcmp(a.ptr, b.ptr, a.len) : 0;
}

static fa_str_t key_of(const rblock_t *b, uint32_t o)
{
    const char *e = b->keys[o >> 24].el[o & 0xffffff];
    return fa_str(e + 4, (size_t)(el_len(e) > 0 ? el_len(e) : 0));
}

/* Copies s, NUL-terminated, to *at and advances it. */
static fa_str_t put_str(char **at, fa_str_t s)
{
    char *d = *at;
    if (s.len)
        memcpy(d, s.ptr, s.len);
    d[s.len] = '\0';
    *at += s.len + 1;
    return fa_str(d, s.len);
}

/* Reads a packed column (schema version 4): nv values of w bytes, then optionally a presence
 * bitmap. 0, or -1 when its length fits neither. */
static int packed_col(const char *p, int32_t l, size_t nv, size_t w, const char **vals, const char **bits)
{
    *vals = p;
    *bits = NULL;
    if ((size_t)l == nv * w)
        return 0;
    if ((size_t)l != nv * w + (nv + 7) / 8)
        return -1;
    *bits = p + nv * w;
    return 0;
}

static int decode_row(rec_blocks_rd_t *rd, const char *row, int len, uint32_t idx, rblock_t *b)
{
    const char *p = row, *end = row + len;
    const char *raw[N_COLS];
    int32_t raw_len[N_COLS];
    if (len < 2 || (int16_t)((unsigned char)p[0] << 8 | (unsigned char)p[1]) != N_COLS)
        return -1;
    p += 2;
    memset(b, 0, sizeof *b);
    for (int c = 0; c < N_COLS; c++) {
        if (end - p < 4)
            return -1;
        int32_t l = (int32_t)get_be32(p);
        p += 4;
        if (l > end - p)
            return -1;
        raw[c] = l < 0 ? NULL : p;
        raw_len[c] = l;
        if (c < C_SEQ)
            b->col[c] = l < 0 ? (fa_str_t){ 0 } : fa_str(p, (size_t)l);
        p += l > 0 ? l : 0;
    }
    if (b->col[C_SEG].len != 8 || b->col[C_SEG_N].len != 4 || raw[C_SEQ] == NULL || raw[C_TIME] == NULL ||
        raw_len[C_SEQ] % 8 != 0 || raw_len[C_TIME] != raw_len[C_SEQ] || b->col[C_TAGS].len < 1)
        return -1;
    uint32_t np = b->np = (uint32_t)raw_len[C_SEQ] / 8;
    b->seq = raw[C_SEQ];
    b->time = raw[C_TIME];
    b->batch_seq = b->col[C_BSEQ].ptr != NULL && b->col[C_BSEQ].len == 8 ? (int64_t)get_be64(b->col[C_BSEQ].ptr) : -1;
    b->node = b->col[C_NODE].ptr != NULL && b->col[C_NODE].len == 4 ? (int32_t)get_be32(b->col[C_NODE].ptr) : 0;
    uint32_t n_order = 0;
    for (int t = 0; t < N_TYPES; t++) {
        int kc = C_KEYS0 + 2 * t, vc = kc + 1;
        if (parse_arr(&rd->arena, raw[kc], raw_len[kc], &b->keys[t]) != 0)
            return -1;
        if (b->keys[t].el == NULL)
            continue;
        size_t nk = b->keys[t].d1;
        if (raw[vc] == NULL || b->keys[t].d2 != 1)
            return -1;
        if (t == T_STRING) {
            if (parse_arr(&rd->arena, raw[vc], raw_len[vc], &b->strs) != 0 || b->strs.d1 != nk ||
                (nk && b->strs.d2 != np))
                return -1;
        } else if (packed_col(raw[vc], raw_len[vc], nk * np, t == T_BOOL ? 1 : 8, &b->num[t], &b->bits[t]) != 0) {
            return -1;
        }
        n_order += (uint32_t)nk;
    }
    b->order = FA_NEW(&rd->arena, uint32_t, n_order ? n_order : 1);
    for (int t = 0; t < N_TYPES; t++)
        for (uint32_t k = 0; b->keys[t].el != NULL && k < b->keys[t].d1; k++) {
            uint32_t o = (uint32_t)t << 24 | k, i = b->n_order++;
            while (i > 0 && jsonb_cmp(key_of(b, b->order[i - 1]), key_of(b, o)) > 0) {
                b->order[i] = b->order[i - 1];
                i--;
            }
            b->order[i] = o;
        }
    b->fkeys = FA_NEW(&rd->arena, fa_str_t, n_order ? n_order : 1);
    b->seg_fkeys = FA_NEW(&rd->arena, fa_str_t, n_order ? n_order : 1);
    fa_str_t tags = b->col[C_TAGS];
    if (rec_parse_tags(&rd->arena, fa_str(tags.ptr + 1, tags.len - 1), b->col[C_M], &b->seg_pt) != 0)
        return -1;
    b->str_bytes = b->seg_pt.name.len + b->seg_pt.key.len + 2; /* each string NUL-terminated, as dup's */
    for (uint32_t i = 0; i < b->seg_pt.n_tags; i++)
        b->str_bytes += b->seg_pt.tags[i].key.len + b->seg_pt.tags[i].value.len + 2;
    for (uint32_t i = 0; i < n_order; i++) {
        b->seg_fkeys[i] = key_of(b, b->order[i]);
        b->str_bytes += b->seg_fkeys[i].len + 1;
    }
    /* laid out together, so that a chunk copies them with one memcpy */
    char *at = b->strs_copy = fa_arena_alloc(&rd->arena, b->str_bytes, 1);
    b->seg_pt.name = put_str(&at, b->seg_pt.name);
    b->seg_pt.key = put_str(&at, b->seg_pt.key);
    for (uint32_t i = 0; i < b->seg_pt.n_tags; i++) {
        b->seg_pt.tags[i].key = put_str(&at, b->seg_pt.tags[i].key);
        b->seg_pt.tags[i].value = put_str(&at, b->seg_pt.tags[i].value);
    }
    for (uint32_t i = 0; i < n_order; i++)
        b->seg_fkeys[i] = put_str(&at, b->seg_fkeys[i]);
    b->stride = (16 + 8 * (size_t)n_order + n_order + 7) & ~(size_t)7;
    b->rows = fa_arena_alloc(&rd->arena, b->stride * (np ? np : 1), 8);
    for (uint32_t j = 0; j < np; j++) {
        uint64_t t = get_be64(b->time + 8 * (size_t)j);
        memcpy(b->rows + b->stride * j, &t, 8);
        memcpy(b->rows + b->stride * j + 8, &idx, 4);
    }
    for (uint32_t i = 0; i < n_order; i++) {
        int t = (int)(b->order[i] >> 24);
        size_t k0 = (size_t)(b->order[i] & 0xffffff) * np; /* the key's first value */
        char *r = b->rows + 16 + 8 * (size_t)i, *pr = b->rows + 16 + 8 * (size_t)n_order + i;
        for (uint32_t j = 0; j < np; j++, r += b->stride, pr += b->stride) {
            size_t v = k0 + j;
            uint64_t bits = 0;
            if (t == T_STRING) {
                const char *e = b->strs.el[v];
                *pr = el_len(e) >= 0;
                memcpy(&bits, &e, sizeof e);
            } else {
                *pr = b->bits[t] == NULL || (b->bits[t][v >> 3] >> (v & 7) & 1);
                bits = t == T_BOOL ? b->num[t][v] != 0 : get_be64(b->num[t] + 8 * v);
            }
            memcpy(r, &bits, 8);
        }
    }
    return 0;
}

static bool same_source(const rblock_t *a, const rblock_t *b);

/* Numbers the blocks' sources: equal ids = the same db, rp and batch. */
static void number_sources(rec_blocks_rd_t *rd)
{
    uint32_t n_src = 0;
    for (uint32_t b = 0; b < rd->n_rows; b++) {
        rblock_t *bk = &rd->blocks[b];
        if (b > 0 && same_source(&rd->blocks[b - 1], bk)) {
            bk->src = rd->blocks[b - 1].src;
            continue;
        }
        bk->src = n_src;
        for (uint32_t k = 0; k < b; k++)
            if (same_source(&rd->blocks[k], bk)) {
                bk->src = rd->blocks[k].src;
                break;
            }
        if (bk->src == n_src)
            n_src++;
    }
}

/* Reads the next segment's rows and lays out its slots. 0, 1 at the end, -1 with err. */
static int load_segment(rec_blocks_rd_t *rd, char *err, size_t errlen)
{
    free_rows(rd);
    fa_arena_reset(&rd->arena);
    int64_t seg = INT64_MIN;
    for (;;) {
        char *row = rd->next_row;
        int len = rd->next_len;
        rd->next_row = NULL;
        if (row == NULL && read_row(rd, &row, &len, err, errlen) != 0)
            return -1;
        if (row == NULL)
            break;
        if (len < 14) {
            PQfreemem(row);
            snprintf(err, errlen, "reading recording %s: a short block row", rd->id_copy);
            return -1;
        }
        int64_t s = (int64_t)get_be64(row + 6);
        if (seg != INT64_MIN && s != seg) {
            rd->next_row = row;
            rd->next_len = len;
            break;
        }
        seg = s;
        if (rd->n_rows == rd->cap_rows) {
            uint32_t cap = rd->cap_rows ? rd->cap_rows * 2 : 64;
            char **r = realloc(rd->rows, cap * sizeof *r);
            rblock_t *b = realloc(rd->blocks, cap * sizeof *b);
            if (r != NULL)
                rd->rows = r;
            if (b != NULL)
                rd->blocks = b;
            if (r == NULL || b == NULL) {
                PQfreemem(row);
                snprintf(err, errlen, "reading recording %s: out of memory", rd->id_copy);
                return -1;
            }
            rd->cap_rows = cap;
        }
        rd->rows[rd->n_rows] = row;
        if (decode_row(rd, row, len, rd->n_rows, &rd->blocks[rd->n_rows]) != 0) {
            rd->n_rows++;
            snprintf(err, errlen, "reading recording %s: segment %" PRId64 ": a malformed block", rd->id_copy, s);
            return -1;
        }
        if ((++rd->n_rows & 7) == 0)
            pump(rd);
    }
    if (rd->n_rows == 0)
        return 1;
    uint32_t seg_n = (uint32_t)get_be32(rd->blocks[0].col[C_SEG_N].ptr);
    if (seg_n > REC_SEGMENT_MAX) {
        snprintf(err, errlen, "reading recording %s: segment %" PRId64 " of %u points", rd->id_copy, seg, seg_n);
        return -1;
    }
    if (seg_n > rd->cap_slots) { /* kept across segments: no fresh pages to fault in each time */
        free(rd->slots);
        rd->cap_slots = seg_n > 4096 ? seg_n : 4096;
        rd->slots = malloc(rd->cap_slots * sizeof *rd->slots);
        if (rd->slots == NULL) {
            rd->cap_slots = 0;
            snprintf(err, errlen, "reading recording %s: out of memory", rd->id_copy);
            return -1;
        }
    }
    memset(rd->slots, 0, (seg_n ? seg_n : 1) * sizeof *rd->slots);
    for (uint32_t b = 0; b < rd->n_rows; b++) {
        const rblock_t *bk = &rd->blocks[b];
        char *rows = bk->rows;
        size_t stride = bk->stride;
        for (uint32_t j = 0; j < bk->np; j++) {
            int64_t s = (int64_t)get_be64(bk->seq + 8 * (size_t)j);
            if (s < seg || s - seg >= seg_n || rd->slots[s - seg] != NULL) {
                snprintf(err, errlen, "reading recording %s: seq %" PRId64 " outside segment %" PRId64 " or twice",
                         rd->id_copy, s, seg);
                return -1;
            }
            if (s >= rd->from && (rd->to < 0 || s < rd->to))
                rd->slots[s - seg] = rows + stride * j;
        }
    }
    number_sources(rd);
    rd->seg = seg;
    rd->seg_n = seg_n;
    rd->pos = 0;
    return 0;
}

static bool same_source(const rblock_t *a, const rblock_t *b)
{
    return a == b || (fa_str_eq(a->col[C_DB], b->col[C_DB]) && fa_str_eq(a->col[C_RP], b->col[C_RP]) &&
                      a->batch_seq == b->batch_seq &&
                      (a->batch_seq < 0 || (a->node == b->node && fa_str_eq(a->col[C_GROUP], b->col[C_GROUP]))));
}

static fa_str_t dup(fa_arena_t *a, fa_str_t s) { return fa_str(fa_arena_strndup(a, s.ptr ? s.ptr : "", s.len), s.len); }

/* s, a string in from, at the same place in to (a copy of from). */
static fa_str_t rebase(fa_str_t s, const char *from, char *to) { return fa_str(to + (s.ptr - from), s.len); }

/* The block's name, tags, series key and field keys into the batch's arena, once per batch: copies
 * of what the segment parsed, its strings with one memcpy. */
static int block_into(rec_blocks_rd_t *rd, rblock_t *b, eng_batch_t *out)
{
    if (b->gen == rd->gen)
        return 0;
    const eng_point_t *sp = &b->seg_pt;
    char *at = fa_arena_try_alloc(&out->arena, b->str_bytes, 1);
    eng_tag_t *tags = sp->n_tags ? fa_arena_try_alloc(&out->arena, sizeof *tags * sp->n_tags, _Alignof(eng_tag_t))
                                 : NULL;
    if (at == NULL || (sp->n_tags && tags == NULL))
        return FA_ENOMEM;
    b->gen = rd->gen;
    memcpy(at, b->strs_copy, b->str_bytes);
    b->name = rebase(sp->name, b->strs_copy, at);
    b->key = rebase(sp->key, b->strs_copy, at);
    for (uint32_t i = 0; i < sp->n_tags; i++)
        tags[i] = (eng_tag_t){ rebase(sp->tags[i].key, b->strs_copy, at), rebase(sp->tags[i].value, b->strs_copy, at) };
    b->tags = tags;
    b->n_tags = sp->n_tags;
    for (uint32_t i = 0; i < b->n_order; i++)
        b->fkeys[i] = rebase(b->seg_fkeys[i], b->strs_copy, at);
    return 0;
}

/* The index of the block a point's row belongs to. */
static uint32_t row_block(const char *row)
{
    uint32_t idx;
    memcpy(&idx, row + 8, 4);
    return idx;
}

static int point_into(const rblock_t *b, const char *row, eng_batch_t *out)
{
    eng_point_t *pt = eng_batch_add(out);
    if (pt == NULL)
        return FA_ENOMEM;
    const char *present = row + 16 + 8 * (size_t)b->n_order;
    pt->name = b->name;
    pt->tags = b->tags;
    pt->n_tags = b->n_tags;
    pt->key = b->key;
    memcpy(&pt->time, row, 8);
    uint32_t nf = 0;
    for (uint32_t i = 0; i < b->n_order; i++)
        nf += (uint32_t)present[i];
    eng_field_t *f = nf ? fa_arena_try_alloc(&out->arena, sizeof *f * nf, _Alignof(eng_field_t)) : NULL;
    if (nf && f == NULL)
        return FA_ENOMEM;
    pt->fields = f;
    for (uint32_t i = 0; i < b->n_order; i++) {
        if (!present[i])
            continue;
        uint64_t bits;
        memcpy(&bits, row + 16 + 8 * (size_t)i, 8);
        eng_value_t v;
        switch ((int)(b->order[i] >> 24)) {
        case T_FLOAT: v.type = ENG_FLOAT; memcpy(&v.f, &bits, 8); break;
        case T_INT: v.type = ENG_INT; v.i = (int64_t)bits; break;
        case T_UINT: v.type = ENG_UINT; v.u = bits; break;
        case T_BOOL: v.type = ENG_BOOL; v.b = bits != 0; break;
        default: {
            const char *e;
            memcpy(&e, &bits, sizeof e);
            v.type = ENG_STRING;
            v.s = dup(&out->arena, fa_str(e + 4, (size_t)el_len(e)));
            break;
        }
        }
        f[pt->n_fields++] = (eng_field_t){ b->fkeys[i], v };
    }
    return 0;
}

int rec_blocks_next(rec_blocks_rd_t *rd, uint32_t max, eng_batch_t *b, rec_read_out_t *out, char *err, size_t errlen)
{
    if (max == 0)
        max = 8192;
    eng_batch_reset(b);
    /* the chunk's points in one array (up to 65536; eng_batch_add grows it past that): no doubling
     * and copying as it fills */
    uint32_t cap = max < 65536 ? max : 65536;
    b->points = fa_arena_try_alloc(&b->arena, sizeof *b->points * cap, _Alignof(eng_point_t));
    if (b->points == NULL) {
        snprintf(err, errlen, "reading recording %s: out of memory for %u points", rd->id_copy, cap);
        return FA_ENOMEM;
    }
    b->cap = cap;
    memset(out, 0, sizeof *out);
    out->batch_seq = -1;
    out->next_seq = rd->from;
    rd->gen++;
    rblock_t *first = NULL;
    int64_t first_seg = rd->seg;
    for (;;) {
        while (rd->pos < rd->seg_n && b->n < max) {
            char *row = rd->slots[rd->pos];
            if (row == NULL) {
                rd->pos++;
                continue;
            }
            rblock_t *bk = &rd->blocks[row_block(row)];
            /* seq order hops between series: fetch the rows of later points ahead, and the blocks
             * of nearer ones (their rows, fetched earlier, say which) */
            if (rd->pos + 16 < rd->seg_n && rd->slots[rd->pos + 16] != NULL) {
                __builtin_prefetch(rd->slots[rd->pos + 16]);
                __builtin_prefetch(rd->slots[rd->pos + 16] + 64);
            }
            if (rd->pos + 8 < rd->seg_n && rd->slots[rd->pos + 8] != NULL) {
                const char *b2 = (const char *)&rd->blocks[row_block(rd->slots[rd->pos + 8])];
                __builtin_prefetch(b2);
                __builtin_prefetch(b2 + 64);
            }
            if (first == NULL) {
                first = bk;
                first_seg = rd->seg;
                b->db = dup(&b->arena, bk->col[C_DB]);
                b->rp = dup(&b->arena, bk->col[C_RP]);
                out->batch_seq = bk->batch_seq;
                if (bk->batch_seq >= 0) {
                    out->group = dup(&b->arena, bk->col[C_GROUP]);
                    out->query_node = bk->node;
                }
            } else if (first_seg != rd->seg) { /* a new segment: its source ids are its own */
                bool same = fa_str_eq(bk->col[C_DB], b->db) && fa_str_eq(bk->col[C_RP], b->rp) &&
                            bk->batch_seq == out->batch_seq &&
                            (bk->batch_seq < 0 ||
                             (bk->node == out->query_node && fa_str_eq(bk->col[C_GROUP], out->group)));
                if (!same)
                    goto Done;
                first = bk;
            } else if (first->src != bk->src) {
                goto Done;
            }
            first_seg = rd->seg;
            int rc = block_into(rd, bk, b);
            rc = rc ? rc : point_into(bk, row, b);
            if (rc != 0) {
                snprintf(err, errlen, "reading recording %s: seq %" PRId64 ": %s", rd->id_copy, rd->seg + rd->pos,
                         rc == FA_ENOMEM ? "out of memory" : "a malformed block");
                return rc;
            }
            out->next_seq = rd->seg + rd->pos + 1;
            if ((++rd->pos & 1023) == 0)
                pump(rd);
        }
        if (b->n >= max)
            break;
        int rc = load_segment(rd, err, errlen);
        if (rc < 0)
            return FA_EPG;
        if (rc > 0)
            break;
    }
Done:
    out->n = b->n;
    out->eof = b->n == 0;
    if (b->n == 0)
        out->next_seq = rd->seg + rd->seg_n;
    return FA_OK;
}
