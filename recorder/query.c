/* recorder/query.c - one InfluxQL query run upstream (GET /query, epoch=ns) on a job thread, its
 * rows turned into points: query recordings and replay-live query. Blocking libcurl, never on an
 * event loop. */
#include <ctype.h>
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "recorder/rr.h"

enum { MAX_BODY = 256 << 20 };

/* One identifier of a FROM clause: "quoted" (with \" escapes) or bare. Returns the end or NULL. */
static const char *ident(const char *p, char *out, size_t n)
{
    size_t w = 0;
    if (*p == '"') {
        for (p++; *p && *p != '"'; p++) {
            if (*p == '\\' && p[1])
                p++;
            if (w + 1 < n)
                out[w++] = *p;
        }
        if (*p != '"')
            return NULL;
        p++;
    } else {
        while (*p && (isalnum((unsigned char)*p) || *p == '_' || *p == '-'))
            if (w + 1 < n)
                out[w++] = *p++;
            else
                p++;
    }
    out[w] = '\0';
    return w > 0 ? p : NULL;
}

int rr_query_dbrp(const char *q, char *db, size_t dblen, char *rp, size_t rplen)
{
    char m[256];
    for (const char *p = q; *p; p++) {
        if (strncasecmp(p, "from", 4) != 0 || (p > q && !isspace((unsigned char)p[-1])) || !isspace((unsigned char)p[4]))
            continue;
        const char *s = p + 4;
        while (isspace((unsigned char)*s))
            s++;
        const char *a = ident(s, db, dblen);
        if (a == NULL || *a != '.')
            return -1;
        const char *b = ident(a + 1, rp, rplen);
        if (b == NULL || *b != '.')
            return -1;
        return ident(b + 1, m, sizeof m) != NULL || b[1] == '/' ? 0 : -1;
    }
    return -1;
}

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    fa_buf_t *b = ud;
    if (b->len + sz * n > MAX_BODY || fa_buf_append(b, p, sz * n) != 0)
        return 0;
    return sz * n;
}

static fa_str_t dup(eng_batch_t *b, const char *s, size_t n) { return fa_str(fa_arena_strndup(&b->arena, s, n), n); }

static int tag_cmp(const void *x, const void *y)
{
    const eng_tag_t *a = x, *b = y;
    size_t n = a->key.len < b->key.len ? a->key.len : b->key.len;
    int c = memcmp(a->key.ptr, b->key.ptr, n);
    return c != 0 ? c : (a->key.len > b->key.len) - (a->key.len < b->key.len);
}

/* The rows of one series as points of b. */
static int add_series(eng_batch_t *b, json_t *ser, uint32_t series, uint32_t **series_of, uint32_t *cap, char *err,
                      size_t errlen)
{
    const char *name = json_string_value(json_object_get(ser, "name"));
    json_t *cols = json_object_get(ser, "columns"), *vals = json_object_get(ser, "values"),
           *tags = json_object_get(ser, "tags");
    if (name == NULL || !json_is_array(cols) || !json_is_array(vals)) {
        snprintf(err, errlen, "query: a series without name, columns or values");
        return -1;
    }
    size_t nc = json_array_size(cols), tcol = nc;
    for (size_t i = 0; i < nc; i++)
        if (strcmp(json_string_value(json_array_get(cols, i)) ? json_string_value(json_array_get(cols, i)) : "",
                   "time") == 0)
            tcol = i;
    if (tcol == nc) {
        snprintf(err, errlen, "query: series %s has no time column", name);
        return -1;
    }
    uint32_t n_tags = (uint32_t)json_object_size(tags);
    eng_tag_t *tv = FA_NEW(&b->arena, eng_tag_t, n_tags ? n_tags : 1);
    uint32_t k = 0;
    const char *key;
    json_t *v;
    json_object_foreach(tags, key, v)
    {
        const char *s = json_string_value(v);
        tv[k].key = dup(b, key, strlen(key));
        tv[k].value = dup(b, s ? s : "", s ? strlen(s) : 0);
        k++;
    }
    qsort(tv, k, sizeof *tv, tag_cmp);
    fa_str_t nm = dup(b, name, strlen(name));
    size_t row_i;
    json_t *row;
    json_array_foreach(vals, row_i, row)
    {
        eng_point_t *p = eng_batch_add(b);
        if (p == NULL) {
            snprintf(err, errlen, "query: out of memory at %u points", b->n);
            return -1;
        }
        p->name = nm;
        p->tags = tv;
        p->n_tags = k;
        p->time = (int64_t)json_integer_value(json_array_get(row, tcol));
        p->fields = FA_NEW(&b->arena, eng_field_t, nc);
        for (size_t c = 0; c < nc; c++) {
            json_t *x = json_array_get(row, c);
            if (c == tcol || x == NULL || json_is_null(x))
                continue;
            eng_field_t *f = &p->fields[p->n_fields];
            const char *ck = json_string_value(json_array_get(cols, c));
            f->key = dup(b, ck ? ck : "", ck ? strlen(ck) : 0);
            if (json_is_integer(x)) {
                f->v.type = ENG_INT;
                f->v.i = (int64_t)json_integer_value(x);
            } else if (json_is_real(x)) {
                f->v.type = ENG_FLOAT;
                f->v.f = json_real_value(x);
            } else if (json_is_boolean(x)) {
                f->v.type = ENG_BOOL;
                f->v.b = json_is_true(x);
            } else if (json_is_string(x)) {
                f->v.type = ENG_STRING;
                f->v.s = dup(b, json_string_value(x), json_string_length(x));
            } else {
                continue;
            }
            p->n_fields++;
        }
        if (series_of != NULL) {
            if (b->n > *cap) {
                uint32_t nc2 = *cap ? *cap * 2 : 1024;
                while (nc2 < b->n)
                    nc2 *= 2;
                uint32_t *m = realloc(*series_of, nc2 * sizeof **series_of);
                if (m == NULL) {
                    snprintf(err, errlen, "query: out of memory");
                    return -1;
                }
                *series_of = m;
                *cap = nc2;
            }
            (*series_of)[b->n - 1] = series;
        }
    }
    return 0;
}

int rr_query(const char *url, const char *query, eng_batch_t *b, uint32_t **series_of, char *err, size_t errlen)
{
    char db[256], rp[256];
    if (rr_query_dbrp(query, db, sizeof db, rp, sizeof rp) != 0) {
        snprintf(err, errlen, "could not determine database and retention policy. Is the query fully qualified?");
        return -1;
    }
    CURL *h = curl_easy_init();
    if (h == NULL) {
        snprintf(err, errlen, "query: cannot start libcurl");
        return -1;
    }
    fa_buf_t body = FA_BUF_INIT, u = FA_BUF_INIT;
    char *eq = curl_easy_escape(h, query, 0), *edb = curl_easy_escape(h, db, 0);
    size_t ul = strlen(url);
    fa_buf_appendf(&u, "%.*s/query?epoch=ns&db=%s&q=%s", (int)(ul && url[ul - 1] == '/' ? ul - 1 : ul), url, edb, eq);
    curl_free(eq);
    curl_free(edb);
    curl_easy_setopt(h, CURLOPT_URL, fa_buf_cstr(&u));
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 300L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 5L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    CURLcode cc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    int rc = -1;
    json_t *doc = NULL;
    if (cc != CURLE_OK) {
        snprintf(err, errlen, "query %s: %s", fa_buf_cstr(&u), curl_easy_strerror(cc));
        goto Exit;
    }
    json_error_t je;
    doc = json_loadb(body.ptr ? body.ptr : "", body.len, 0, &je);
    json_t *res0 = json_array_get(json_object_get(doc, "results"), 0);
    const char *qerr = json_string_value(json_object_get(res0, "error"));
    if (qerr == NULL)
        qerr = json_string_value(json_object_get(doc, "error"));
    if (status != 200 || doc == NULL || qerr != NULL) {
        snprintf(err, errlen, "query upstream answered %ld: %s", status,
                 qerr ? qerr : doc == NULL ? "not JSON" : "no results");
        goto Exit;
    }
    b->db = dup(b, db, strlen(db));
    b->rp = dup(b, rp, strlen(rp));
    uint32_t cap = 0;
    size_t i;
    json_t *ser;
    rc = 0;
    json_array_foreach(json_object_get(res0, "series"), i, ser)
    {
        if ((rc = add_series(b, ser, (uint32_t)i, series_of, &cap, err, errlen)) != 0)
            break;
    }
Exit:
    json_decref(doc);
    fa_buf_deinit(&body);
    fa_buf_deinit(&u);
    return rc;
}
