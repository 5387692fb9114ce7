/* engine/batchquery.c - InfluxQL splitting and rewriting, time bounds and ticks, JSON answers as
 * batches. Pure functions: no threads, no I/O. */
#include "engine/batchquery.h"

#include <ctype.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/duration.h"
#include "base/err.h"
#include "engine/group.h"
#include "engine/nodeutil.h"

/* ---- InfluxQL scanning ---------------------------------------------------------------------- */

enum kw { KW_SELECT, KW_FROM, KW_WHERE, KW_GROUP, KW_FILL, KW_ORDER, KW_LIMIT, KW_OFFSET, KW_SLIMIT, KW_SOFFSET, KW_TZ, KW_N };
static const char *const kw_names[KW_N] = { "select", "from", "where", "group", "fill", "order",
                                            "limit", "offset", "slimit", "soffset", "tz" };

struct scan {
    const char *s;
    size_t n;
    size_t pos[KW_N]; /* first top-level occurrence, or SIZE_MAX */
    size_t end;       /* end of the statement (a top-level ';' or the text's end) */
    size_t bad;       /* where scanning failed, SIZE_MAX when it did not */
    const char *why;
};

static bool ident_char(char c) { return isalnum((unsigned char)c) || c == '_'; }

/* Skips a quoted run starting at s[i] (the quote char), returns the index after it, or n. */
static size_t skip_quoted(const char *s, size_t n, size_t i)
{
    char q = s[i++];
    while (i < n && s[i] != q)
        i += s[i] == '\\' ? 2 : 1;
    return i < n ? i + 1 : SIZE_MAX;
}

/* Whether a '/' at i starts a regex: after =~, !~, FROM or a ',' inside FROM. */
static bool regex_starts(const char *s, size_t i, bool in_from)
{
    size_t k = i;
    while (k > 0 && isspace((unsigned char)s[k - 1]))
        k--;
    if (k >= 2 && (s[k - 1] == '~') && (s[k - 2] == '=' || s[k - 2] == '!'))
        return true;
    if (in_from && k > 0 && s[k - 1] == ',')
        return true;
    return in_from && k >= 4 && strncasecmp(s + k - 4, "from", 4) == 0 && (k == 4 || !ident_char(s[k - 5]));
}

static void scan_query(struct scan *sc)
{
    const char *s = sc->s;
    size_t n = sc->n, i = 0;
    int depth = 0;
    for (int k = 0; k < KW_N; k++)
        sc->pos[k] = SIZE_MAX;
    sc->bad = SIZE_MAX;
    sc->end = n;
    while (i < n) {
        char c = s[i];
        bool in_from = sc->pos[KW_FROM] != SIZE_MAX && sc->pos[KW_WHERE] == SIZE_MAX && sc->pos[KW_GROUP] == SIZE_MAX;
        if (c == '\'' || c == '"' || (c == '/' && regex_starts(s, i, in_from))) {
            size_t j = skip_quoted(s, n, i);
            if (j == SIZE_MAX) {
                sc->bad = i;
                sc->why = c == '/' ? "unterminated regex" : "unterminated quoted text";
                return;
            }
            i = j;
        } else if (c == '(') {
            depth++, i++;
        } else if (c == ')') {
            if (--depth < 0) {
                sc->bad = i;
                sc->why = "unbalanced ')'";
                return;
            }
            i++;
        } else if (c == ';' && depth == 0) {
            sc->end = i;
            for (size_t j = i + 1; j < n; j++)
                if (!isspace((unsigned char)s[j]) && s[j] != ';') {
                    sc->bad = j;
                    sc->why = "a batch query must be a single statement";
                    return;
                }
            return;
        } else if (ident_char(c) && (i == 0 || !ident_char(s[i - 1]))) {
            size_t j = i;
            while (j < n && ident_char(s[j]))
                j++;
            for (int k = 0; depth == 0 && k < KW_N; k++)
                if (sc->pos[k] == SIZE_MAX && j - i == strlen(kw_names[k]) && strncasecmp(s + i, kw_names[k], j - i) == 0)
                    sc->pos[k] = i;
            i = j;
        } else {
            i++;
        }
    }
    if (depth != 0) {
        sc->bad = n;
        sc->why = "unbalanced '('";
    }
}

static fa_str_t trim(const char *p, const char *e)
{
    while (p < e && isspace((unsigned char)*p))
        p++;
    while (e > p && isspace((unsigned char)e[-1]))
        e--;
    return fa_str(p, (size_t)(e - p));
}

/* The first top-level keyword among `which` at or after `from`, or end. */
static size_t next_kw(const struct scan *sc, size_t from, const int *which, int n_which)
{
    size_t best = sc->end;
    for (int i = 0; i < n_which; i++) {
        size_t p = sc->pos[which[i]];
        if (p != SIZE_MAX && p >= from && p < best)
            best = p;
    }
    return best;
}

/* One FROM segment: "quoted", bare or /regex/; returns the index after it. */
static size_t read_segment(const char *s, size_t n, size_t i, fa_str_t *out)
{
    if (i < n && (s[i] == '"' || s[i] == '/')) {
        size_t j = skip_quoted(s, n, i);
        if (j == SIZE_MAX)
            return SIZE_MAX;
        *out = s[i] == '"' ? fa_str(s + i + 1, j - i - 2) : fa_str(s + i, j - i);
        return j;
    }
    size_t j = i;
    while (j < n && s[j] != '.' && s[j] != ',' && !isspace((unsigned char)s[j]))
        j++;
    *out = fa_str(s + i, j - i);
    return j;
}

struct src_list {
    eng_query_source_t items[32];
    uint32_t n;
};

static int split_at(fa_str_t q, size_t base, eng_query_t *out, struct src_list *srcs, char *err, size_t errlen,
                    size_t *err_off, int depth);

/* The sources of FROM text f (at offset base of the whole query). */
static int parse_sources(fa_str_t f, size_t base, eng_query_t *out, struct src_list *srcs, char *err, size_t errlen,
                         size_t *err_off, int depth)
{
    const char *s = f.ptr;
    size_t n = f.len, i = 0;
    while (i < n) {
        while (i < n && (isspace((unsigned char)s[i]) || s[i] == ','))
            i++;
        if (i >= n)
            break;
        if (s[i] == '(') { /* a subquery: its own FROM */
            int d = 0;
            size_t j = i;
            for (; j < n; j++) {
                if (s[j] == '\'' || s[j] == '"') {
                    size_t k = skip_quoted(s, n, j);
                    if (k == SIZE_MAX)
                        break;
                    j = k - 1;
                } else if (s[j] == '(') {
                    d++;
                } else if (s[j] == ')' && --d == 0) {
                    break;
                }
            }
            if (split_at(fa_str(s + i + 1, j - i - 1), base + i + 1, NULL, srcs, err, errlen, err_off, depth + 1) != 0)
                return -1;
            i = j + 1;
            continue;
        }
        fa_str_t seg[3];
        int k = 0;
        size_t start = i;
        for (;;) {
            if (k == 3) {
                *err_off = base + start;
                snprintf(err, errlen, "query source has more than three parts (db.rp.measurement)");
                return -1;
            }
            i = read_segment(s, n, i, &seg[k++]);
            if (i == SIZE_MAX) {
                *err_off = base + start;
                snprintf(err, errlen, "unterminated name in the FROM clause");
                return -1;
            }
            if (i < n && s[i] == '.') {
                i++;
                continue;
            }
            break;
        }
        if (srcs->n == sizeof srcs->items / sizeof srcs->items[0]) {
            *err_off = base + start;
            snprintf(err, errlen, "query has more than 32 sources");
            return -1;
        }
        eng_query_source_t *src = &srcs->items[srcs->n++];
        *src = (eng_query_source_t){ 0 };
        src->text = fa_str(s + start, i - start);
        src->measurement = seg[k - 1];
        if (k >= 2)
            src->rp = seg[k - 2];
        if (k == 3)
            src->db = seg[0];
        while (i < n && isspace((unsigned char)s[i]))
            i++;
        if (i < n && s[i] != ',') {
            *err_off = base + i;
            snprintf(err, errlen, "unexpected '%c' in the FROM clause", s[i]);
            return -1;
        }
    }
    return 0;
}

static int split_at(fa_str_t q, size_t base, eng_query_t *out, struct src_list *srcs, char *err, size_t errlen,
                    size_t *err_off, int depth)
{
    if (depth > 8) {
        *err_off = base;
        snprintf(err, errlen, "subqueries nested too deep");
        return -1;
    }
    struct scan sc = { .s = q.ptr, .n = q.len };
    scan_query(&sc);
    if (sc.bad != SIZE_MAX) {
        *err_off = base + sc.bad;
        snprintf(err, errlen, "%s", sc.why);
        return -1;
    }
    size_t first = 0;
    while (first < q.len && isspace((unsigned char)q.ptr[first]))
        first++;
    if (sc.pos[KW_SELECT] != first) {
        *err_off = base + first;
        snprintf(err, errlen, "a batch query must be a SELECT statement");
        return -1;
    }
    if (sc.pos[KW_FROM] == SIZE_MAX) {
        *err_off = base + sc.end;
        snprintf(err, errlen, "query has no FROM clause");
        return -1;
    }
    static const int after_from[] = { KW_WHERE, KW_GROUP, KW_FILL, KW_ORDER, KW_LIMIT, KW_OFFSET, KW_SLIMIT, KW_SOFFSET, KW_TZ };
    static const int after_where[] = { KW_GROUP, KW_FILL, KW_ORDER, KW_LIMIT, KW_OFFSET, KW_SLIMIT, KW_SOFFSET, KW_TZ };
    static const int tail_kws[] = { KW_ORDER, KW_LIMIT, KW_OFFSET, KW_SLIMIT, KW_SOFFSET, KW_TZ };
    size_t from = sc.pos[KW_FROM];
    size_t from_end = next_kw(&sc, from, after_from, 9);
    fa_str_t f = trim(q.ptr + from + 4, q.ptr + from_end);
    if (f.len == 0) {
        *err_off = base + from;
        snprintf(err, errlen, "FROM names no measurement");
        return -1;
    }
    if (parse_sources(f, base + (size_t)(f.ptr - q.ptr), out, srcs, err, errlen, err_off, depth) != 0)
        return -1;
    if (out == NULL)
        return 0;
    out->head = trim(q.ptr + first, q.ptr + from_end);
    out->cond = FA_STR_NULL;
    if (sc.pos[KW_WHERE] != SIZE_MAX && sc.pos[KW_WHERE] > from) {
        size_t w = sc.pos[KW_WHERE];
        out->cond = trim(q.ptr + w + 5, q.ptr + next_kw(&sc, w, after_where, 8));
    }
    size_t t = next_kw(&sc, from, tail_kws, 6);
    out->tail = trim(q.ptr + t, q.ptr + sc.end);
    return 0;
}

int eng_query_split(fa_str_t q, eng_query_t *out, fa_arena_t *a, char *err, size_t errlen, size_t *err_off)
{
    struct src_list srcs = { .n = 0 };
    if (split_at(q, 0, out, &srcs, err, errlen, err_off, 0) != 0)
        return -1;
    out->sources = FA_NEW(a, eng_query_source_t, srcs.n ? srcs.n : 1);
    memcpy(out->sources, srcs.items, sizeof(srcs.items[0]) * srcs.n);
    out->n_sources = srcs.n;
    return 0;
}

/* ---- time ----------------------------------------------------------------------------------- */

void eng_query_bounds(const eng_query_t *q, int64_t tick, int64_t *start, int64_t *stop)
{
    *stop = tick - q->offset;
    *start = *stop - q->period;
}

int64_t eng_query_next_tick(const eng_query_t *q, int64_t prev, int64_t now)
{
    if (q->has_cron) {
        int64_t n = eng_cron_next(&q->cron, prev != 0 ? prev : now);
        for (int i = 0; n >= 0 && i < 100000; i++) {
            int64_t after = eng_cron_next(&q->cron, n);
            if (after < 0 || after > now)
                return n;
            n = after; /* n and `after` are both past: the later one only */
        }
        return n >= 0 ? eng_cron_next(&q->cron, now) : -1;
    }
    if (q->every <= 0)
        return -1;
    if (prev == 0)
        return q->align ? eng_go_truncate(now, q->every) + q->every : now + q->every;
    int64_t n = prev + q->every;
    if (n + q->every <= now) /* the next one is past too: run the latest only */
        n += (now - n) / q->every * q->every;
    return n;
}

static int digits(const char *p, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)p[i]))
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

int eng_rfc3339_parse(fa_str_t s, int64_t *out)
{
    const char *p = s.ptr;
    if (s.len < 20 || p[4] != '-' || p[7] != '-' || (p[10] != 'T' && p[10] != 't' && p[10] != ' ') || p[13] != ':' || p[16] != ':')
        return -1;
    struct tm tm = { .tm_year = digits(p, 4) - 1900, .tm_mon = digits(p + 5, 2) - 1, .tm_mday = digits(p + 8, 2),
                     .tm_hour = digits(p + 11, 2), .tm_min = digits(p + 14, 2), .tm_sec = digits(p + 17, 2) };
    if (tm.tm_year < -1900 || tm.tm_mon < 0 || tm.tm_mday < 0 || tm.tm_hour < 0 || tm.tm_min < 0 || tm.tm_sec < 0)
        return -1;
    size_t i = 19;
    int64_t ns = 0, scale = 100000000;
    if (i < s.len && p[i] == '.') {
        for (i++; i < s.len && isdigit((unsigned char)p[i]); i++, scale /= 10)
            ns += (p[i] - '0') * scale;
    }
    int64_t off = 0;
    if (i < s.len && (p[i] == 'Z' || p[i] == 'z')) {
        i++;
    } else if (i + 6 == s.len && (p[i] == '+' || p[i] == '-') && p[i + 3] == ':') {
        int h = digits(p + i + 1, 2), m = digits(p + i + 4, 2);
        if (h < 0 || m < 0)
            return -1;
        off = (p[i] == '-' ? -1 : 1) * (int64_t)(h * 3600 + m * 60);
        i += 6;
    } else {
        return -1;
    }
    if (i != s.len)
        return -1;
    *out = ((int64_t)timegm(&tm) - off) * 1000000000 + ns;
    return 0;
}

/* ---- the query text of one run -------------------------------------------------------------- */

/* influxql.FormatDuration: the largest unit that divides d. */
static int append_duration(fa_buf_t *out, int64_t d)
{
    char s[FA_DURATION_LEN];

    return fa_buf_append(out, s, fa_duration_format_influxql(s, sizeof s, d));
}

static int append_ident(fa_buf_t *out, fa_str_t name)
{
    if (fa_str_eq_c(name, "*"))
        return fa_buf_append_c(out, "*");
    int rc = fa_buf_append_c(out, "\"");
    for (size_t i = 0; i < name.len && rc == 0; i++)
        rc = (name.ptr[i] == '"' || name.ptr[i] == '\\') ? fa_buf_appendf(out, "\\%c", name.ptr[i])
                                                          : fa_buf_append(out, &name.ptr[i], 1);
    return rc != 0 ? rc : fa_buf_append_c(out, "\"");
}

int eng_query_text(const eng_query_t *q, int64_t start, int64_t stop, fa_buf_t *out)
{
    int rc = fa_buf_append_str(out, q->head);
    rc |= fa_buf_append_c(out, " WHERE time >= '");
    rc |= eng_rfc3339(out, start);
    rc |= fa_buf_append_c(out, "' AND time < '");
    rc |= eng_rfc3339(out, stop);
    rc |= fa_buf_append_c(out, "'");
    if (q->cond.len != 0)
        rc |= fa_buf_appendf(out, " AND (%.*s)", (int)q->cond.len, q->cond.ptr);
    if (q->group_time != 0 || q->n_group_tags != 0) {
        rc |= fa_buf_append_c(out, " GROUP BY ");
        const char *sep = "";
        if (q->group_time != 0) {
            rc |= fa_buf_append_c(out, "time(");
            rc |= append_duration(out, q->group_time);
            int64_t off = ((start % q->group_time) + q->group_time) % q->group_time;
            if (q->align_group && off != 0) {
                rc |= fa_buf_append_c(out, ", ");
                rc |= append_duration(out, off);
            }
            rc |= fa_buf_append_c(out, ")");
            sep = ", ";
        }
        for (uint32_t i = 0; i < q->n_group_tags; i++) {
            rc |= fa_buf_append_c(out, sep);
            rc |= append_ident(out, q->group_tags[i]);
            sep = ", ";
        }
    }
    if (q->fill[0] != 0)
        rc |= fa_buf_appendf(out, " fill(%s)", q->fill);
    if (q->tail.len != 0)
        rc |= fa_buf_appendf(out, " %.*s", (int)q->tail.len, q->tail.ptr);
    fa_buf_cstr(out);
    return rc != 0 ? FA_ENOMEM : 0;
}

/* ---- JSON answers as batches ---------------------------------------------------------------- */

static fa_str_t arena_str(fa_arena_t *a, const char *s, size_t n) { return fa_str(fa_arena_strndup(a, s, n), n); }

static int tag_cmp(const void *x, const void *y) { return fa_str_cmp(((const eng_tag_t *)x)->key, ((const eng_tag_t *)y)->key); }

static int read_time(json_t *v, int64_t *t)
{
    if (json_is_integer(v)) {
        *t = (int64_t)json_integer_value(v);
        return 0;
    }
    if (json_is_string(v))
        return eng_rfc3339_parse(fa_str(json_string_value(v), json_string_length(v)), t);
    return -1;
}

/* One value of a row as a field; false for null (and JSON arrays or objects). */
static bool read_field(fa_arena_t *a, json_t *v, eng_value_t *out)
{
    switch (json_typeof(v)) {
    case JSON_REAL: *out = (eng_value_t){ .type = ENG_FLOAT, .f = json_real_value(v) }; return true;
    case JSON_INTEGER: *out = (eng_value_t){ .type = ENG_FLOAT, .f = (double)json_integer_value(v) }; return true;
    case JSON_STRING:
        *out = (eng_value_t){ .type = ENG_STRING, .s = arena_str(a, json_string_value(v), json_string_length(v)) };
        return true;
    case JSON_TRUE: *out = (eng_value_t){ .type = ENG_BOOL, .b = true }; return true;
    case JSON_FALSE: *out = (eng_value_t){ .type = ENG_BOOL, .b = false }; return true;
    default: return false;
    }
}

static int read_series(json_t *ser, const eng_query_t *q, const eng_dims_t *dims, int64_t stop, fa_arena_t *a, eng_rows_t *b,
                       char *err, size_t errlen)
{
    json_t *name = json_object_get(ser, "name"), *tags = json_object_get(ser, "tags");
    json_t *cols = json_object_get(ser, "columns"), *vals = json_object_get(ser, "values");
    if (!json_is_array(cols) || (vals != NULL && !json_is_array(vals))) {
        snprintf(err, errlen, "a series without columns or values in the answer");
        return -1;
    }
    memset(b, 0, sizeof(*b));
    b->name = json_is_string(name) ? arena_str(a, json_string_value(name), json_string_length(name)) : FA_STR_NULL;
    size_t nt = json_is_object(tags) ? json_object_size(tags) : 0;
    b->tags = FA_NEW(a, eng_tag_t, nt ? nt : 1);
    const char *k;
    json_t *v;
    if (nt != 0)
        json_object_foreach(tags, k, v)
        {
            if (!json_is_string(v))
                continue;
            b->tags[b->n_tags++] = (eng_tag_t){ arena_str(a, k, strlen(k)), arena_str(a, json_string_value(v), json_string_length(v)) };
        }
    qsort(b->tags, b->n_tags, sizeof(eng_tag_t), tag_cmp);
    size_t nc = json_array_size(cols), nr = json_array_size(vals);
    fa_str_t *names = FA_NEW(a, fa_str_t, nc ? nc : 1);
    size_t time_col = SIZE_MAX;
    for (size_t c = 0; c < nc; c++) {
        json_t *cv = json_array_get(cols, c);
        names[c] = json_is_string(cv) ? arena_str(a, json_string_value(cv), json_string_length(cv)) : FA_STR_NULL;
        if (fa_str_eq_c(names[c], "time"))
            time_col = c;
    }
    b->points = FA_NEW(a, eng_point_t, nr ? nr : 1);
    int64_t tmax = INT64_MIN;
    for (size_t r = 0; r < nr; r++) {
        json_t *row = json_array_get(vals, r);
        eng_point_t *p = &b->points[b->n];
        *p = (eng_point_t){ .name = b->name, .tags = b->tags, .n_tags = b->n_tags, .time = stop };
        p->fields = FA_NEW(a, eng_field_t, nc ? nc : 1);
        for (size_t c = 0; c < nc && c < json_array_size(row); c++) {
            json_t *cell = json_array_get(row, c);
            if (c == time_col) {
                if (read_time(cell, &p->time) != 0) {
                    snprintf(err, errlen, "series %.*s row %zu: time is not a time", (int)b->name.len, b->name.ptr, r);
                    return -1;
                }
                continue;
            }
            eng_field_t *f = &p->fields[p->n_fields];
            if (read_field(a, cell, &f->v)) {
                f->key = names[c];
                p->n_fields++;
            }
        }
        if (p->n_fields == 0)
            continue; /* every value null: Kapacitor drops the row */
        if (p->time > tmax)
            tmax = p->time;
        b->n++;
    }
    b->tmax = q->group_time != 0 && b->n != 0 ? tmax : stop;
    if (q->group_star) {
        fa_str_t *keys = FA_NEW(a, fa_str_t, b->n_tags ? b->n_tags : 1);
        for (uint32_t i = 0; i < b->n_tags; i++)
            keys[i] = b->tags[i].key;
        dims = eng_dims_new(a, keys, b->n_tags, q->by_name);
    }
    b->dims = dims;
    eng_point_t key = { .name = b->name, .tags = b->tags, .n_tags = b->n_tags };
    b->group = eng_group_id(&key, dims);
    return 0;
}

int eng_query_parse(fa_str_t json, const eng_query_t *q, const eng_dims_t *dims, int64_t stop, fa_arena_t *a,
                    eng_rows_t **rows, uint32_t *n_rows, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *root = json_loadb(json.ptr, json.len, 0, &jerr);
    *rows = NULL;
    *n_rows = 0;
    if (root == NULL) {
        snprintf(err, errlen, "answer is not JSON: %s at line %d column %d", jerr.text, jerr.line, jerr.column);
        return -1;
    }
    int rc = -1;
    json_t *e = json_object_get(root, "error"), *results = json_object_get(root, "results");
    if (json_is_string(e)) {
        snprintf(err, errlen, "%s", json_string_value(e));
        goto Exit;
    }
    if (!json_is_array(results)) {
        snprintf(err, errlen, "answer has no \"results\"");
        goto Exit;
    }
    size_t total = 0, ri;
    json_t *res;
    json_array_foreach(results, ri, res)
    {
        json_t *re = json_object_get(res, "error");
        if (json_is_string(re)) {
            snprintf(err, errlen, "%s", json_string_value(re));
            goto Exit;
        }
        total += json_array_size(json_object_get(res, "series"));
    }
    *rows = FA_NEW(a, eng_rows_t, total ? total : 1);
    json_array_foreach(results, ri, res)
    {
        size_t si;
        json_t *ser;
        json_t *series = json_object_get(res, "series");
        if (!json_is_array(series))
            continue;
        json_array_foreach(series, si, ser)
        {
            if (read_series(ser, q, dims, stop, a, &(*rows)[*n_rows], err, errlen) != 0)
                goto Exit;
            (*n_rows)++;
        }
    }
    rc = 0;
Exit:
    json_decref(root);
    return rc;
}
