/* engine/nodeutil.c - per-group sets of one time, FIFO of copied items, repeated properties, JSON text. */
#include "engine/nodeutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"

/* --- per-group sets of points of one time --- */

eng_tset_t *eng_tset_get(eng_node_t *n, eng_gmap_t *m, uint64_t group, int64_t time)
{
    bool created;
    eng_tset_t **sp = eng_gmap_get(m, group, &created);
    if (sp == NULL) {
        eng_node_error(n, "out of memory for a new group");
        return NULL;
    }
    if (created) {
        *sp = calloc(1, sizeof(eng_tset_t));
        if (*sp == NULL) {
            eng_node_error(n, "out of memory for a new group");
            return NULL;
        }
        fa_arena_init(&(*sp)->arena, 4096, 0);
        (*sp)->time = time;
        atomic_store_explicit(&n->stats.cardinality, m->n, memory_order_relaxed);
    }
    return *sp;
}

bool eng_tset_push(eng_node_t *n, eng_tset_t *s, const eng_point_t *p)
{
    if (s->n == s->cap) {
        uint32_t cap = s->cap ? s->cap * 2 : 8;
        eng_point_t *np = realloc(s->pts, sizeof(eng_point_t) * cap);
        if (np == NULL) {
            eng_node_error(n, "out of memory buffering %u points", s->n);
            return false;
        }
        s->pts = np;
        s->cap = cap;
    }
    eng_point_copy(&s->arena, &s->pts[s->n++], p);
    return true;
}

void eng_tset_clear(eng_tset_t *s)
{
    s->n = 0;
    fa_arena_reset(&s->arena);
}

void eng_tsets_flush_before(eng_node_t *n, eng_gmap_t *m, int64_t now,
                            void (*flush)(eng_node_t *, eng_tset_t *, uint64_t, const eng_dims_t *))
{
    for (uint32_t i = 0; i < m->n; i++) {
        eng_tset_t *s = *(eng_tset_t **)eng_gmap_at(m, i);
        if (s != NULL && s->n != 0 && s->time < now)
            flush(n, s, eng_gmap_key_at(m, i), s->dims);
    }
}

void eng_tsets_deinit(eng_gmap_t *m)
{
    for (uint32_t i = 0; i < m->n; i++) {
        eng_tset_t *s = *(eng_tset_t **)eng_gmap_at(m, i);
        if (s == NULL)
            continue;
        fa_arena_deinit(&s->arena);
        free(s->pts);
        free(s);
    }
    eng_gmap_deinit(m);
}

/* --- FIFO of copied items --- */

void eng_ptq_init(eng_ptq_t *q, size_t compact_bytes)
{
    memset(q, 0, sizeof(*q));
    fa_arena_init(&q->_a[0], 16384, 0);
    fa_arena_init(&q->_a[1], 16384, 0);
    q->compact_bytes = compact_bytes ? compact_bytes : (1u << 20);
}

void eng_ptq_deinit(eng_ptq_t *q)
{
    fa_arena_deinit(&q->_a[0]);
    fa_arena_deinit(&q->_a[1]);
    free(q->_items);
    memset(q, 0, sizeof(*q));
}

void eng_rows_copy(fa_arena_t *a, eng_rows_t *dst, const eng_rows_t *src)
{
    *dst = *src;
    dst->name.ptr = src->name.len ? fa_arena_strndup(a, src->name.ptr, src->name.len) : NULL;
    dst->tags = src->n_tags ? FA_NEW(a, eng_tag_t, src->n_tags) : NULL;
    for (uint32_t i = 0; i < src->n_tags; i++) {
        const eng_tag_t *t = &src->tags[i];
        dst->tags[i].key = fa_str(fa_arena_strndup(a, t->key.ptr ? t->key.ptr : "", t->key.len), t->key.len);
        dst->tags[i].value = fa_str(fa_arena_strndup(a, t->value.ptr ? t->value.ptr : "", t->value.len), t->value.len);
    }
    dst->points = src->n ? FA_NEW(a, eng_point_t, src->n) : NULL;
    for (uint32_t i = 0; i < src->n; i++)
        eng_point_copy(a, &dst->points[i], &src->points[i]);
}

static void copy_item(fa_arena_t *a, eng_qitem_t *dst, const eng_qitem_t *src)
{
    *dst = *src;
    if (src->is_rows)
        eng_rows_copy(a, &dst->rows, &src->rows);
    else
        eng_point_copy(a, &dst->pt.p, &src->pt.p);
}

/* moves the queued items into the other arena and resets the current one */
static void compact(eng_ptq_t *q)
{
    fa_arena_t *to = &q->_a[!q->_cur];
    fa_arena_reset(to);
    for (uint32_t i = 0; i < q->n; i++) {
        eng_qitem_t *it = eng_ptq_at(q, i), tmp = *it;
        copy_item(to, it, &tmp);
    }
    fa_arena_reset(&q->_a[q->_cur]);
    q->_cur = !q->_cur;
}

void eng_ptq_push(eng_ptq_t *q, uint32_t from, const eng_pt_t *p, const eng_rows_t *b)
{
    if (q->n == 0)
        fa_arena_reset(&q->_a[q->_cur]);
    else if (fa_arena_used(&q->_a[q->_cur]) > q->compact_bytes)
        compact(q);
    if (q->n == q->_cap) {
        uint32_t cap = q->_cap ? q->_cap * 2 : 64;
        eng_qitem_t *items = malloc(cap * sizeof *items);
        if (items == NULL)
            abort();
        for (uint32_t i = 0; i < q->n; i++)
            items[i] = *eng_ptq_at(q, i);
        free(q->_items);
        q->_items = items;
        q->_head = 0;
        q->_cap = cap;
    }
    eng_qitem_t src = { .from = from, .is_rows = p == NULL };
    if (p != NULL) {
        src.pt = *p;
        src.time = p->p.time;
    } else {
        src.rows = *b;
        src.time = b->tmax;
    }
    copy_item(&q->_a[q->_cur], eng_ptq_at(q, q->n), &src);
    q->n++;
}

void eng_ptq_pop(eng_ptq_t *q)
{
    if (q->n == 0)
        return;
    q->_head = (q->_head + 1) & (q->_cap - 1);
    q->n--;
}

/* --- properties --- */

uint32_t eng_prop_calls(const eng_node_t *n, const char *name, const tick_call_t **calls, uint32_t max)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < n->spec->nprops && k < max; i++)
        if (fa_str_eq_c(n->spec->props[i]->name, name))
            calls[k++] = n->spec->props[i];
    return k;
}

/* --- text --- */

/* shortest decimal digits that read back as v (v finite, > 0): digits and the exponent e of
 * the first digit (v = 0.d1d2... * 10^(e+1)) */
static int shortest(double v, char *digits, int *e)
{
    char tmp[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*e", prec - 1, v);
        if (strtod(tmp, NULL) == v || prec == 17)
            break;
    }
    int n = 0;
    char *p = tmp;
    for (; *p != 'e'; p++)
        if (*p >= '0' && *p <= '9')
            digits[n++] = *p;
    while (n > 1 && digits[n - 1] == '0')
        n--;
    digits[n] = 0;
    *e = atoi(p + 1);
    return n;
}

static int plain_digits(fa_buf_t *b, const char *d, int n, int e)
{
    fa_buf_t *o = b;
    int rc = 0;
    if (e < 0) {
        rc |= fa_buf_append(o, "0.", 2);
        for (int i = 0; i < -e - 1; i++)
            rc |= fa_buf_append(o, "0", 1);
        rc |= fa_buf_append(o, d, (size_t)n);
        return rc;
    }
    for (int i = 0; i <= e; i++)
        rc |= fa_buf_append(o, i < n ? &d[i] : "0", 1);
    if (n > e + 1) {
        rc |= fa_buf_append(o, ".", 1);
        rc |= fa_buf_append(o, d + e + 1, (size_t)(n - e - 1));
    }
    return rc;
}

int eng_plain_float(fa_buf_t *b, double v)
{
    if (isnan(v))
        return fa_buf_append_c(b, "NaN");
    if (isinf(v))
        return fa_buf_append_c(b, v > 0 ? "+Inf" : "-Inf");
    if (v == 0)
        return fa_buf_append_c(b, signbit(v) ? "-0" : "0");
    char d[24];
    int e, n = shortest(fabs(v), d, &e);
    int rc = v < 0 ? fa_buf_append(b, "-", 1) : 0;
    return rc | plain_digits(b, d, n, e);
}

int eng_json_float(fa_buf_t *b, double v)
{
    if (isnan(v) || isinf(v))
        return fa_buf_append_c(b, "null");
    double a = fabs(v);
    if (a == 0 || (a >= 1e-6 && a < 1e21))
        return eng_plain_float(b, v == 0 ? 0.0 : v);
    char d[24];
    int e, n = shortest(a, d, &e);
    int rc = v < 0 ? fa_buf_append(b, "-", 1) : 0;
    rc |= fa_buf_append(b, d, 1);
    if (n > 1) {
        rc |= fa_buf_append(b, ".", 1);
        rc |= fa_buf_append(b, d + 1, (size_t)(n - 1));
    }
    return rc | fa_buf_appendf(b, "e%c%d", e < 0 ? '-' : '+', e < 0 ? -e : e);
}

int eng_json_str(fa_buf_t *b, fa_str_t s)
{
    int rc = fa_buf_append(b, "\"", 1);
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        switch (c) {
        case '"': rc |= fa_buf_append(b, "\\\"", 2); break;
        case '\\': rc |= fa_buf_append(b, "\\\\", 2); break;
        case '\n': rc |= fa_buf_append(b, "\\n", 2); break;
        case '\r': rc |= fa_buf_append(b, "\\r", 2); break;
        case '\t': rc |= fa_buf_append(b, "\\t", 2); break;
        case '<':
        case '>':
        case '&': rc |= fa_buf_appendf(b, "\\u%04x", c); break;
        default:
            if (c < 0x20)
                rc |= fa_buf_appendf(b, "\\u%04x", c);
            else
                rc |= fa_buf_append(b, &s.ptr[i], 1);
        }
    }
    return rc | fa_buf_append(b, "\"", 1);
}

int eng_json_value(fa_buf_t *b, const eng_value_t *v)
{
    switch (v->type) {
    case ENG_FLOAT: return eng_json_float(b, v->f);
    case ENG_INT: return fa_buf_appendf(b, "%lld", (long long)v->i);
    case ENG_UINT: return fa_buf_appendf(b, "%llu", (unsigned long long)v->u);
    case ENG_STRING: return eng_json_str(b, v->s);
    case ENG_BOOL: return fa_buf_append_c(b, v->b ? "true" : "false");
    }
    return fa_buf_append_c(b, "null");
}

int eng_rfc3339(fa_buf_t *b, int64_t ns)
{
    int64_t sec = ns / 1000000000, frac = ns % 1000000000;
    if (frac < 0) {
        frac += 1000000000;
        sec--;
    }
    time_t t = (time_t)sec;
    struct tm tm;
    gmtime_r(&t, &tm);
    int rc = fa_buf_appendf(b, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                            tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (frac != 0) {
        char f[16];
        int n = snprintf(f, sizeof f, ".%09lld", (long long)frac);
        while (f[n - 1] == '0')
            n--;
        rc |= fa_buf_append(b, f, (size_t)n);
    }
    return rc | fa_buf_append(b, "Z", 1);
}

/* column names of a row: time, then the sorted fields (and extra tags) */
struct col {
    fa_str_t name;
    int tag; /* index into the point's tags, or -1 for a field */
};

static void sort_cols(struct col *c, uint32_t n)
{
    for (uint32_t i = 1; i < n; i++) {
        struct col x = c[i];
        uint32_t j = i;
        for (; j > 0 && fa_str_cmp(x.name, c[j - 1].name) < 0; j--)
            c[j] = c[j - 1];
        c[j] = x;
    }
}

static int json_tags(fa_buf_t *b, const eng_tag_t *tags, uint32_t n)
{
    if (n == 0)
        return 0;
    int rc = fa_buf_append_c(b, ",\"tags\":{");
    for (uint32_t i = 0; i < n; i++) {
        if (i)
            rc |= fa_buf_append(b, ",", 1);
        rc |= eng_json_str(b, tags[i].key) | fa_buf_append(b, ":", 1) | eng_json_str(b, tags[i].value);
    }
    return rc | fa_buf_append(b, "}", 1);
}

static bool has_col(const struct col *c, uint32_t n, fa_str_t name)
{
    for (uint32_t i = 0; i < n; i++)
        if (fa_str_eq(c[i].name, name))
            return true;
    return false;
}

static int json_cols(fa_buf_t *b, const struct col *c, uint32_t n)
{
    int rc = fa_buf_append_c(b, ",\"columns\":[\"time\"");
    for (uint32_t i = 0; i < n; i++)
        rc |= fa_buf_append(b, ",", 1) | eng_json_str(b, c[i].name);
    return rc | fa_buf_append(b, "]", 1);
}

static int json_values(fa_buf_t *b, const eng_point_t *p, const struct col *c, uint32_t n)
{
    int rc = fa_buf_append(b, "[\"", 2) | eng_rfc3339(b, p->time) | fa_buf_append(b, "\"", 1);
    for (uint32_t i = 0; i < n; i++) {
        rc |= fa_buf_append(b, ",", 1);
        const eng_field_t *f = c[i].tag < 0 ? eng_point_field(p, c[i].name) : NULL;
        fa_str_t tag = c[i].tag >= 0 ? eng_point_tag(p, c[i].name) : FA_STR_NULL;
        if (f != NULL)
            rc |= eng_json_value(b, &f->v);
        else if (tag.ptr != NULL)
            rc |= eng_json_str(b, tag);
        else
            rc |= fa_buf_append_c(b, "null");
    }
    return rc | fa_buf_append(b, "]", 1);
}

enum { MAX_COLS = 256 };

int eng_json_row_point(fa_buf_t *b, const eng_point_t *p)
{
    struct col c[MAX_COLS];
    uint32_t n = 0;
    for (uint32_t i = 0; i < p->n_fields && n < MAX_COLS; i++)
        if (!has_col(c, n, p->fields[i].key))
            c[n++] = (struct col){ p->fields[i].key, -1 };
    sort_cols(c, n);
    int rc = fa_buf_append_c(b, "{\"name\":") | eng_json_str(b, p->name) | json_tags(b, p->tags, p->n_tags);
    rc |= json_cols(b, c, n) | fa_buf_append_c(b, ",\"values\":[") | json_values(b, p, c, n);
    return rc | fa_buf_append_c(b, "]}");
}

static bool group_tag(const eng_rows_t *r, fa_str_t key)
{
    for (uint32_t i = 0; i < r->n_tags; i++)
        if (fa_str_eq(r->tags[i].key, key))
            return true;
    return false;
}

int eng_json_row_rows(fa_buf_t *b, const eng_rows_t *r)
{
    int rc = fa_buf_append_c(b, "{");
    if (r->name.len)
        rc |= fa_buf_append_c(b, "\"name\":") | eng_json_str(b, r->name);
    else
        rc |= fa_buf_append_c(b, "\"name\":\"\"");
    rc |= json_tags(b, r->tags, r->n_tags);
    if (r->n == 0)
        return rc | fa_buf_append(b, "}", 1);
    struct col c[MAX_COLS];
    uint32_t n = 0;
    const eng_point_t *p0 = &r->points[0];
    for (uint32_t i = 0; i < p0->n_fields && n < MAX_COLS; i++)
        if (!has_col(c, n, p0->fields[i].key))
            c[n++] = (struct col){ p0->fields[i].key, -1 };
    for (uint32_t i = 0; i < p0->n_tags && n < MAX_COLS; i++)
        if (!group_tag(r, p0->tags[i].key))
            c[n++] = (struct col){ p0->tags[i].key, (int)i };
    sort_cols(c, n);
    rc |= json_cols(b, c, n) | fa_buf_append_c(b, ",\"values\":[");
    for (uint32_t i = 0; i < r->n; i++) {
        if (i)
            rc |= fa_buf_append(b, ",", 1);
        rc |= json_values(b, &r->points[i], c, n);
    }
    return rc | fa_buf_append_c(b, "]}");
}

/* Go's zero time (0001-01-01) is this many seconds before the Unix epoch */
#define GO_ZERO_UNIX_S 62135596800LL

int64_t eng_go_truncate(int64_t t, int64_t d)
{
    if (d <= 0)
        return t;
    __int128 since = (__int128)t + (__int128)GO_ZERO_UNIX_S * 1000000000;
    int64_t r = (int64_t)(since % d);
    return t - r;
}

int64_t eng_go_round(int64_t t, int64_t d)
{
    if (d <= 0)
        return t;
    __int128 since = (__int128)t + (__int128)GO_ZERO_UNIX_S * 1000000000;
    int64_t r = (int64_t)(since % d);
    return r + r < d ? t - r : t + (d - r);
}
