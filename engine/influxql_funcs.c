/* engine/influxql_funcs.c - InfluxQL function kernels: aggregates, selectors, transforms. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/influxql.h"

static const char *const fn_names[ENG_IQL_N_FN] = {
    "count", "distinct", "mean", "median", "mode", "spread", "sum", "stddev", "first", "last", "min", "max",
    "percentile", "top", "bottom", "difference", "elapsed", "movingAverage", "cumulativeSum", "holtWinters",
    "holtWintersWithFit",
};

int eng_iql_fn_from_name(const char *name)
{
    for (int i = 0; i < ENG_IQL_N_FN; i++)
        if (strcmp(fn_names[i], name) == 0)
            return i;
    return -1;
}

const char *eng_iql_fn_name(eng_iql_fn_t fn) { return fn == ENG_IQL_HOLT_WINTERS_FIT ? "holtWinters" : fn_names[fn]; }

bool eng_iql_is_transform(eng_iql_fn_t fn)
{
    return fn == ENG_IQL_DIFFERENCE || fn == ENG_IQL_ELAPSED || fn == ENG_IQL_MOVING_AVERAGE || fn == ENG_IQL_CUMULATIVE_SUM;
}

bool eng_iql_is_simple_selector(eng_iql_fn_t fn)
{
    return fn == ENG_IQL_FIRST || fn == ENG_IQL_LAST || fn == ENG_IQL_MIN || fn == ENG_IQL_MAX || fn == ENG_IQL_PERCENTILE;
}

bool eng_iql_gives_batch(eng_iql_fn_t fn)
{
    return fn == ENG_IQL_DISTINCT || fn == ENG_IQL_TOP || fn == ENG_IQL_BOTTOM || fn == ENG_IQL_HOLT_WINTERS ||
           fn == ENG_IQL_HOLT_WINTERS_FIT;
}

bool eng_iql_is_decomposable(eng_iql_fn_t fn)
{
    return fn == ENG_IQL_COUNT || fn == ENG_IQL_SUM || fn == ENG_IQL_MEAN || fn == ENG_IQL_SPREAD || fn == ENG_IQL_STDDEV;
}

bool eng_iql_empty_ok(eng_iql_fn_t fn) { return fn == ENG_IQL_COUNT || fn == ENG_IQL_SUM; }

static const char *type_name(int t)
{
    switch (t) {
    case ENG_FLOAT: return "float64";
    case ENG_INT: return "int64";
    case ENG_UINT: return "uint64";
    case ENG_STRING: return "string";
    case ENG_BOOL: return "bool";
    }
    return "?";
}

/* which input types a function accepts */
static bool type_ok(eng_iql_fn_t fn, eng_ftype_t t)
{
    switch (fn) {
    case ENG_IQL_COUNT:
    case ENG_IQL_DISTINCT:
    case ENG_IQL_FIRST:
    case ENG_IQL_LAST:
    case ENG_IQL_ELAPSED: return t != ENG_UINT;
    default: return t == ENG_FLOAT || t == ENG_INT;
    }
}

/* ---- decomposable aggregates ----------------------------------------------------------- */

void eng_iql_acc_add(const eng_iql_spec_t *s, eng_iql_acc_t *a, const eng_value_t *v)
{
    if (a->bad)
        return;
    if (a->type == 0) {
        if (!type_ok(s->fn, v->type)) {
            a->bad = 3;
            a->bad_type = (uint8_t)v->type;
            return;
        }
        a->type = (uint8_t)(v->type + 1);
    } else if (a->type != v->type + 1) {
        a->bad = 2;
        a->bad_type = (uint8_t)v->type;
        return;
    }
    bool fl = v->type == ENG_FLOAT;
    a->n++;
    switch (s->fn) {
    case ENG_IQL_SUM:
    case ENG_IQL_MEAN:
        if (fl)
            a->a.f += v->f;
        else
            a->a.i += v->i;
        break;
    case ENG_IQL_SPREAD:
        if (fl) {
            if (a->n == 1 || v->f < a->a.f)
                a->a.f = v->f;
            if (a->n == 1 || v->f > a->b.f)
                a->b.f = v->f;
        } else {
            if (a->n == 1 || v->i < a->a.i)
                a->a.i = v->i;
            if (a->n == 1 || v->i > a->b.i)
                a->b.i = v->i;
        }
        break;
    case ENG_IQL_STDDEV: { /* Welford: the mean as InfluxDB computes it, M2 alongside */
        double x = fl ? v->f : (double)v->i;
        double d = x - a->a.f;
        a->a.f += d / (double)a->n;
        a->b.f += d * (x - a->a.f);
        break;
    }
    default: break;
    }
}

int eng_iql_acc_result(const eng_iql_spec_t *s, const eng_iql_acc_t *a, eng_iql_out_t *out)
{
    out->time = ENG_IQL_NOTIME;
    out->src = -1;
    bool fl = a->type == ENG_FLOAT + 1 || a->type == 0;
    switch (s->fn) {
    case ENG_IQL_COUNT: out->v = (eng_value_t){ .type = ENG_INT, .i = (int64_t)a->n }; return 1;
    case ENG_IQL_SUM:
        out->v = fl ? (eng_value_t){ .type = ENG_FLOAT, .f = a->n ? a->a.f : 0 } : (eng_value_t){ .type = ENG_INT, .i = a->a.i };
        return 1;
    default: break;
    }
    if (a->n == 0)
        return 0;
    switch (s->fn) {
    case ENG_IQL_MEAN:
        out->v = (eng_value_t){ .type = ENG_FLOAT, .f = fl ? a->a.f / (double)a->n : (double)a->a.i / (double)a->n };
        return 1;
    case ENG_IQL_SPREAD:
        out->v = fl ? (eng_value_t){ .type = ENG_FLOAT, .f = a->b.f - a->a.f } : (eng_value_t){ .type = ENG_INT, .i = a->b.i - a->a.i };
        return 1;
    case ENG_IQL_STDDEV: /* one point: InfluxDB gives null, Kapacitor emits it as 0 */
        out->v = (eng_value_t){ .type = ENG_FLOAT, .f = a->n < 2 ? 0 : sqrt(a->b.f / (double)(a->n - 1)) };
        return 1;
    default: return 0;
    }
}

const char *eng_iql_acc_error(const eng_iql_spec_t *s, const eng_iql_acc_t *a, char *buf, size_t len)
{
    switch (a->bad) {
    case 1: snprintf(buf, len, "field %.*s missing from point cannot aggregate", (int)s->field.len, s->field.ptr); break;
    case 2:
        snprintf(buf, len, "field %.*s has wrong type: got %s exp %s", (int)s->field.len, s->field.ptr, type_name(a->bad_type),
                 type_name(a->type - 1));
        break;
    case 3: snprintf(buf, len, "cannot apply %s to %s field", fn_names[s->fn], type_name(a->bad_type)); break;
    default: snprintf(buf, len, "no error"); break;
    }
    return buf;
}

/* ---- transforms ------------------------------------------------------------------------ */

static double num(const eng_value_t *v) { return v->type == ENG_FLOAT ? v->f : (double)v->i; }

int eng_iql_transform_step(const eng_iql_spec_t *s, eng_iql_tstate_t *st, fa_arena_t *a, const eng_value_t *v,
                           int64_t t, eng_iql_out_t *out, char *err, size_t errlen)
{
    if (st->type == 0) {
        if (!type_ok(s->fn, v->type)) {
            snprintf(err, errlen, "cannot apply %s to %s field", fn_names[s->fn], type_name(v->type));
            return -1;
        }
        st->type = (uint8_t)(v->type + 1);
    } else if (st->type != v->type + 1) {
        snprintf(err, errlen, "field %.*s has wrong type: got %s exp %s", (int)s->field.len, s->field.ptr, type_name(v->type),
                 type_name(st->type - 1));
        return -1;
    }
    bool fl = v->type == ENG_FLOAT;
    out->src = -1;
    out->time = t;
    switch (s->fn) {
    case ENG_IQL_DIFFERENCE: {
        /* InfluxDB: a point at the same time as the current one is skipped; the first gives nothing */
        if (st->has_prev && st->prev_time == t)
            return 0;
        bool had = st->has_prev;
        eng_value_t prev = st->prev;
        st->prev = *v;
        st->prev_time = t;
        st->has_prev = true;
        if (!had)
            return 0;
        out->v = fl ? (eng_value_t){ .type = ENG_FLOAT, .f = v->f - prev.f } : (eng_value_t){ .type = ENG_INT, .i = v->i - prev.i };
        return 1;
    }
    case ENG_IQL_ELAPSED: {
        bool had = st->has_prev;
        int64_t prev = st->prev_time;
        st->prev_time = t;
        st->has_prev = true;
        if (!had)
            return 0;
        out->v = (eng_value_t){ .type = ENG_INT, .i = (t - prev) / (s->unit > 0 ? s->unit : 1) };
        return 1;
    }
    case ENG_IQL_CUMULATIVE_SUM:
        if (fl)
            st->sum.f += v->f;
        else
            st->sum.i += v->i;
        out->v = fl ? (eng_value_t){ .type = ENG_FLOAT, .f = st->sum.f } : (eng_value_t){ .type = ENG_INT, .i = st->sum.i };
        return 1;
    case ENG_IQL_MOVING_AVERAGE: {
        uint32_t cap = s->n > 0 ? (uint32_t)s->n : 1;
        if (st->ring == NULL)
            st->ring = fa_arena_alloc(a, sizeof(*st->ring) * cap, 8);
        if (st->len < cap) {
            st->len++;
        } else if (fl) {
            st->sum.f -= st->ring[st->pos].f;
        } else {
            st->sum.i -= st->ring[st->pos].i;
        }
        if (fl) {
            st->ring[st->pos].f = v->f;
            st->sum.f += v->f;
        } else {
            st->ring[st->pos].i = v->i;
            st->sum.i += v->i;
        }
        st->pos = (st->pos + 1) % cap;
        if (st->len < cap)
            return 0;
        out->v = (eng_value_t){ .type = ENG_FLOAT, .f = fl ? st->sum.f / (double)cap : (double)st->sum.i / (double)cap };
        return 1;
    }
    default: snprintf(err, errlen, "%s is not a transformation", fn_names[s->fn]); return -1;
    }
    (void)num;
}

/* ---- batch kernels --------------------------------------------------------------------- */

typedef struct item {
    eng_value_t v;
    int64_t t;
    uint32_t i; /* arrival index */
} item_t;

static int cmp_value(const eng_value_t *a, const eng_value_t *b)
{
    switch (a->type) {
    case ENG_FLOAT: return a->f < b->f ? -1 : a->f > b->f;
    case ENG_INT: return a->i < b->i ? -1 : a->i > b->i;
    case ENG_UINT: return a->u < b->u ? -1 : a->u > b->u;
    case ENG_STRING: return fa_str_cmp(a->s, b->s);
    case ENG_BOOL: return (int)a->b - (int)b->b;
    }
    return 0;
}

/* value, then arrival: a stable sort by value */
static int cmp_item_value(const void *x, const void *y)
{
    const item_t *a = x, *b = y;
    int c = cmp_value(&a->v, &b->v);
    return c ? c : (a->i < b->i ? -1 : a->i > b->i);
}

static int cmp_item_time(const void *x, const void *y)
{
    const item_t *a = x, *b = y;
    if (a->t != b->t)
        return a->t < b->t ? -1 : 1;
    return a->i < b->i ? -1 : a->i > b->i;
}

static int cmp_item_time_value(const void *x, const void *y)
{
    const item_t *a = x, *b = y;
    if (a->t != b->t)
        return a->t < b->t ? -1 : 1;
    int c = cmp_value(&a->v, &b->v);
    return c ? c : (a->i < b->i ? -1 : a->i > b->i);
}

/* top: higher value first, then earlier time, then arrival; bottom: lower value first */
static int cmp_top(const void *x, const void *y)
{
    const item_t *a = x, *b = y;
    int c = cmp_value(&b->v, &a->v);
    if (c)
        return c;
    if (a->t != b->t)
        return a->t < b->t ? -1 : 1;
    return a->i < b->i ? -1 : a->i > b->i;
}

static int cmp_bottom(const void *x, const void *y)
{
    const item_t *a = x, *b = y;
    int c = cmp_value(&a->v, &b->v);
    if (c)
        return c;
    if (a->t != b->t)
        return a->t < b->t ? -1 : 1;
    return a->i < b->i ? -1 : a->i > b->i;
}

static int gather(const eng_iql_spec_t *s, const eng_point_t *pts, uint32_t n, fa_arena_t *a, item_t **out, char *err,
                  size_t errlen)
{
    item_t *it = FA_NEW(a, item_t, n ? n : 1);
    for (uint32_t i = 0; i < n; i++) {
        const eng_field_t *f = eng_point_field(&pts[i], s->field);
        if (f == NULL) {
            snprintf(err, errlen, "field %.*s missing from point cannot aggregate", (int)s->field.len, s->field.ptr);
            return -1;
        }
        if (i == 0 && !type_ok(s->fn, f->v.type)) {
            snprintf(err, errlen, "cannot apply %s to %s field", fn_names[s->fn], type_name(f->v.type));
            return -1;
        }
        if (i != 0 && f->v.type != it[0].v.type) {
            snprintf(err, errlen, "field %.*s has wrong type: got %s exp %s", (int)s->field.len, s->field.ptr,
                     type_name(f->v.type), type_name(it[0].v.type));
            return -1;
        }
        it[i] = (item_t){ f->v, pts[i].time, i };
    }
    *out = it;
    return 0;
}

/* InfluxDB's selector rules: true when candidate c beats the current best b */
static bool beats(eng_iql_fn_t fn, const item_t *c, const item_t *b)
{
    int cv = cmp_value(&c->v, &b->v);
    switch (fn) {
    case ENG_IQL_FIRST: return c->t < b->t || (c->t == b->t && cv > 0);
    case ENG_IQL_LAST: return c->t > b->t || (c->t == b->t && cv > 0);
    case ENG_IQL_MIN: return cv < 0 || (cv == 0 && c->t < b->t);
    case ENG_IQL_MAX: return cv > 0 || (cv == 0 && c->t < b->t);
    default: return false;
    }
}

static int one(eng_iql_out_t **out, fa_arena_t *a, eng_value_t v, int64_t t, int32_t src)
{
    *out = FA_NEW(a, eng_iql_out_t, 1);
    **out = (eng_iql_out_t){ v, t, src };
    return 1;
}

static fa_str_t tb_value(const eng_point_t *p, fa_str_t name, char *tmp, size_t len)
{
    const eng_field_t *f = eng_point_field(p, name);
    if (f == NULL)
        return eng_point_tag(p, name);
    switch (f->v.type) {
    case ENG_STRING: return f->v.s;
    case ENG_FLOAT: return fa_str(tmp, (size_t)snprintf(tmp, len, "f%.17g", f->v.f));
    case ENG_INT: return fa_str(tmp, (size_t)snprintf(tmp, len, "i%lld", (long long)f->v.i));
    case ENG_UINT: return fa_str(tmp, (size_t)snprintf(tmp, len, "u%llu", (unsigned long long)f->v.u));
    case ENG_BOOL: return f->v.b ? FA_STR_LIT("btrue") : FA_STR_LIT("bfalse");
    }
    return FA_STR_NULL;
}

/* top/bottom with extra fields/tags: keep the best point of each distinct combination */
static bool same_combo(const eng_iql_spec_t *s, const eng_point_t *a, const eng_point_t *b)
{
    char t1[64], t2[64];
    for (uint32_t k = 0; k < s->n_tb; k++)
        if (!fa_str_eq(tb_value(a, s->tb_names[k], t1, sizeof t1), tb_value(b, s->tb_names[k], t2, sizeof t2)))
            return false;
    return true;
}

static int top_bottom(const eng_iql_spec_t *s, const eng_point_t *pts, item_t *it, uint32_t n, fa_arena_t *a,
                      eng_iql_out_t **out)
{
    int (*cmp)(const void *, const void *) = s->fn == ENG_IQL_TOP ? cmp_top : cmp_bottom;
    qsort(it, n, sizeof(*it), cmp); /* best first */
    uint32_t k = 0;
    if (s->n_tb != 0) { /* the first (best) of each combination survives */
        for (uint32_t i = 0; i < n; i++) {
            bool dup = false;
            for (uint32_t j = 0; j < k && !dup; j++)
                dup = same_combo(s, &pts[it[i].i], &pts[it[j].i]);
            if (!dup)
                it[k++] = it[i];
        }
    } else {
        k = n;
    }
    uint32_t take = s->n < 0 ? 0 : (uint64_t)s->n < k ? (uint32_t)s->n : k;
    qsort(it, take, sizeof(*it), cmp_item_time);
    *out = FA_NEW(a, eng_iql_out_t, take ? take : 1);
    for (uint32_t i = 0; i < take; i++)
        (*out)[i] = (eng_iql_out_t){ it[i].v, it[i].t, (int32_t)it[i].i };
    return (int)take;
}

static int distinct(item_t *it, uint32_t n, fa_arena_t *a, eng_iql_out_t **out)
{
    qsort(it, n, sizeof(*it), cmp_item_value);
    uint32_t k = 0;
    for (uint32_t i = 0; i < n; i++) /* the first arrival of each value */
        if (k == 0 || cmp_value(&it[k - 1].v, &it[i].v) != 0)
            it[k++] = it[i];
    qsort(it, k, sizeof(*it), cmp_item_time_value);
    *out = FA_NEW(a, eng_iql_out_t, k ? k : 1);
    for (uint32_t i = 0; i < k; i++)
        (*out)[i] = (eng_iql_out_t){ it[i].v, it[i].t, -1 };
    return (int)k;
}

static int median(item_t *it, uint32_t n, fa_arena_t *a, eng_iql_out_t **out)
{
    qsort(it, n, sizeof(*it), cmp_item_value);
    double v;
    if (n % 2 == 0) {
        double lo = num(&it[n / 2 - 1].v), hi = num(&it[n / 2].v);
        if (it[0].v.type == ENG_INT) /* InfluxDB: float(lo) + float(hi-lo)/2 */
            v = (double)it[n / 2 - 1].v.i + (double)(it[n / 2].v.i - it[n / 2 - 1].v.i) / 2;
        else
            v = lo + (hi - lo) / 2;
    } else {
        v = num(&it[n / 2].v);
    }
    return one(out, a, (eng_value_t){ .type = ENG_FLOAT, .f = v }, ENG_IQL_NOTIME, -1);
}

static int mode(item_t *it, uint32_t n, fa_arena_t *a, eng_iql_out_t **out)
{
    qsort(it, n, sizeof(*it), cmp_item_value);
    uint32_t best = 0, best_n = 0;
    for (uint32_t i = 0; i < n;) {
        uint32_t j = i;
        while (j < n && cmp_value(&it[j].v, &it[i].v) == 0)
            j++;
        if (j - i > best_n) { /* ties: the smaller value */
            best_n = j - i;
            best = i;
        }
        i = j;
    }
    return one(out, a, it[best].v, ENG_IQL_NOTIME, -1);
}

static int percentile(const eng_iql_spec_t *s, item_t *it, uint32_t n, fa_arena_t *a, eng_iql_out_t **out)
{
    int64_t i = (int64_t)floor((double)n * s->pct / 100.0 + 0.5) - 1;
    if (i < 0 || i >= (int64_t)n)
        return 0;
    qsort(it, n, sizeof(*it), cmp_item_value);
    return one(out, a, it[i].v, it[i].t, (int32_t)it[i].i);
}

static int transforms(const eng_iql_spec_t *s, item_t *it, uint32_t n, fa_arena_t *a, eng_iql_out_t **out, char *err,
                      size_t errlen)
{
    eng_iql_tstate_t st;
    memset(&st, 0, sizeof st);
    *out = FA_NEW(a, eng_iql_out_t, n ? n : 1);
    int k = 0;
    for (uint32_t i = 0; i < n; i++) {
        eng_iql_out_t o;
        int rc = eng_iql_transform_step(s, &st, a, &it[i].v, it[i].t, &o, err, errlen);
        if (rc < 0)
            return -1;
        if (rc > 0) {
            o.src = (int32_t)i;
            (*out)[k++] = o;
        }
    }
    return k;
}

int eng_iql_reduce(const eng_iql_spec_t *s, const eng_point_t *pts, uint32_t n, fa_arena_t *a, eng_iql_out_t **out,
                   char *err, size_t errlen)
{
    *out = NULL;
    if (eng_iql_is_decomposable(s->fn)) {
        eng_iql_acc_t acc;
        memset(&acc, 0, sizeof acc);
        for (uint32_t i = 0; i < n && !acc.bad; i++) {
            const eng_field_t *f = eng_point_field(&pts[i], s->field);
            if (f == NULL)
                acc.bad = 1;
            else
                eng_iql_acc_add(s, &acc, &f->v);
        }
        if (acc.bad) {
            eng_iql_acc_error(s, &acc, err, errlen);
            return -1;
        }
        eng_iql_out_t o;
        if (eng_iql_acc_result(s, &acc, &o) == 0)
            return 0;
        return one(out, a, o.v, o.time, o.src);
    }
    if (n == 0)
        return 0;
    item_t *it;
    if (gather(s, pts, n, a, &it, err, errlen) != 0)
        return -1;
    switch (s->fn) {
    case ENG_IQL_FIRST:
    case ENG_IQL_LAST:
    case ENG_IQL_MIN:
    case ENG_IQL_MAX: {
        uint32_t b = 0;
        for (uint32_t i = 1; i < n; i++)
            if (beats(s->fn, &it[i], &it[b]))
                b = i;
        return one(out, a, it[b].v, it[b].t, (int32_t)b);
    }
    case ENG_IQL_DISTINCT: return distinct(it, n, a, out);
    case ENG_IQL_MEDIAN: return median(it, n, a, out);
    case ENG_IQL_MODE: return mode(it, n, a, out);
    case ENG_IQL_PERCENTILE: return percentile(s, it, n, a, out);
    case ENG_IQL_TOP:
    case ENG_IQL_BOTTOM: return top_bottom(s, pts, it, n, a, out);
    case ENG_IQL_HOLT_WINTERS:
    case ENG_IQL_HOLT_WINTERS_FIT: {
        int64_t *ts = FA_NEW(a, int64_t, n);
        double *vs = FA_NEW(a, double, n);
        for (uint32_t i = 0; i < n; i++) {
            ts[i] = it[i].t;
            vs[i] = num(&it[i].v);
        }
        return eng_iql_holt_winters(s, ts, vs, n, a, out);
    }
    default:
        if (eng_iql_is_transform(s->fn))
            return transforms(s, it, n, a, out, err, errlen);
        snprintf(err, errlen, "unknown function %d", (int)s->fn);
        return -1;
    }
}
