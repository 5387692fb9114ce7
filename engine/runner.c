/* engine/runner.c - the offline runner's core and the line-protocol writer. */
#include "engine/runner.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include <time.h>

/* Escapes `s` with a backslash before each byte in `special`. */
static int append_escaped(fa_buf_t *out, fa_str_t s, const char *special)
{
    size_t from = 0;
    for (size_t i = 0; i < s.len; i++) {
        if (strchr(special, s.ptr[i]) == NULL || s.ptr[i] == '\0')
            continue;
        if (fa_buf_append(out, s.ptr + from, i - from) != 0 || fa_buf_append(out, "\\", 1) != 0)
            return FA_ENOMEM;
        from = i;
    }
    return fa_buf_append(out, s.ptr + from, s.len - from);
}

/* The shortest decimal digits that read back as f (f > 0, finite); *exp10 is the exponent of the
 * first digit. Returns the number of digits. */
static int shortest_digits(double f, char digits[24], int *exp10)
{
    char tmp[40];
    for (int prec = 0; prec < 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*e", prec, f);
        if (strtod(tmp, NULL) == f || prec == 16) {
            int nd = 0;
            char *p = tmp;
            for (; *p != 'e'; p++)
                if (*p >= '0' && *p <= '9')
                    digits[nd++] = *p;
            *exp10 = atoi(p + 1);
            while (nd > 1 && digits[nd - 1] == '0')
                nd--;
            return nd;
        }
    }
    return 0; /* not reached */
}

int eng_lp_format_float(fa_buf_t *out, double f)
{
    if (isnan(f))
        return fa_buf_append_c(out, "NaN");
    if (isinf(f))
        return fa_buf_append_c(out, f > 0 ? "+Inf" : "-Inf");
    if (signbit(f) && fa_buf_append(out, "-", 1) != 0)
        return FA_ENOMEM;
    f = fabs(f);
    if (f == 0)
        return fa_buf_append(out, "0", 1);
    char digits[24];
    int e, nd = shortest_digits(f, digits, &e), rc = 0;
    if (e >= 0) {
        for (int i = 0; i <= e && rc == 0; i++)
            rc = fa_buf_append(out, i < nd ? &digits[i] : "0", 1);
        if (nd > e + 1 && rc == 0)
            rc = fa_buf_append(out, ".", 1) || fa_buf_append(out, digits + e + 1, (size_t)(nd - e - 1));
    } else {
        rc = fa_buf_append(out, "0.", 2);
        for (int i = 0; i < -e - 1 && rc == 0; i++)
            rc = fa_buf_append(out, "0", 1);
        if (rc == 0)
            rc = fa_buf_append(out, digits, (size_t)nd);
    }
    return rc ? FA_ENOMEM : 0;
}

static int append_value(fa_buf_t *out, const eng_value_t *v)
{
    switch (v->type) {
    case ENG_FLOAT: return eng_lp_format_float(out, v->f);
    case ENG_INT: return fa_buf_appendf(out, "%" PRId64 "i", v->i);
    case ENG_UINT: return fa_buf_appendf(out, "%" PRIu64 "u", v->u);
    case ENG_BOOL: return fa_buf_append_c(out, v->b ? "true" : "false");
    case ENG_STRING:
        if (fa_buf_append(out, "\"", 1) != 0 || append_escaped(out, v->s, "\"\\") != 0)
            return FA_ENOMEM;
        return fa_buf_append(out, "\"", 1);
    }
    return 0;
}

int eng_lp_format_point(fa_buf_t *out, const eng_point_t *p)
{
    int rc = append_escaped(out, p->name, ", ");
    for (uint32_t i = 0; i < p->n_tags && rc == 0; i++) {
        rc = fa_buf_append(out, ",", 1) || append_escaped(out, p->tags[i].key, ",= ") || fa_buf_append(out, "=", 1) ||
             append_escaped(out, p->tags[i].value, ",= ");
    }
    for (uint32_t i = 0; i < p->n_fields && rc == 0; i++) {
        rc = fa_buf_append(out, i == 0 ? " " : ",", 1) || append_escaped(out, p->fields[i].key, ",= ") ||
             fa_buf_append(out, "=", 1) || append_value(out, &p->fields[i].v);
    }
    if (rc == 0)
        rc = fa_buf_appendf(out, " %" PRId64, p->time);
    return rc ? FA_ENOMEM : 0;
}

/* ---- the runner ---- */

static void report(eng_runner_t *r, eng_node_t *n, fa_str_t kind)
{
    r->emit(r->ud, n, kind, fa_str(r->line.ptr, r->line.len));
    fa_buf_clear(&r->line);
}

static void tap_point(eng_node_t *n, eng_node_t *from, const eng_pt_t *p)
{
    eng_runner_t *r = n->state;
    eng_lp_format_point(&r->line, &p->p);
    r->n_points++;
    report(r, from, FA_STR_LIT("point"));
}

static void tap_rows(eng_node_t *n, eng_node_t *from, const eng_rows_t *b)
{
    eng_runner_t *r = n->state;
    for (uint32_t i = 0; i < b->n; i++) {
        eng_lp_format_point(&r->line, &b->points[i]);
        r->n_points++;
        report(r, from, FA_STR_LIT("point"));
    }
}

static const eng_node_ops_t tap_ops = { .type = "runner_tap", .point = tap_point, .rows = tap_rows };

static void env_write(void *ud, eng_node_t *n, fa_str_t db, fa_str_t rp, const eng_point_t *pts, uint32_t n_pts)
{
    eng_runner_t *r = ud;
    for (uint32_t i = 0; i < n_pts; i++) {
        eng_lp_format_point(&r->line, &pts[i]);
        r->n_points++;
        report(r, n, FA_STR_LIT("point"));
    }
}

static void env_alert(void *ud, eng_node_t *n, fa_str_t json)
{
    eng_runner_t *r = ud;
    fa_buf_append_str(&r->line, json);
    r->n_alerts++;
    report(r, n, FA_STR_LIT("alert"));
}

static void env_output(void *ud, eng_node_t *n, fa_str_t kind, fa_str_t text)
{
    eng_runner_t *r = ud;
    fa_buf_append_str(&r->line, text);
    r->n_outputs++;
    report(r, n, kind);
}

static bool is_output_node(const eng_node_t *n)
{
    static const char *const types[] = { "alert", "log", "httpOut", "httpPost", "influxDBOut", NULL };
    for (unsigned i = 0; types[i] != NULL; i++)
        if (strcmp(n->spec->type, types[i]) == 0)
            return true;
    return false;
}

static void tap_leaves(eng_runner_t *r)
{
    eng_task_t *t = r->task;
    uint32_t n = t->n_nodes;
    for (uint32_t i = 0; i < n; i++) {
        eng_node_t *leaf = &t->nodes[i];
        if (leaf->n_children != 0 || is_output_node(leaf))
            continue;
        eng_node_t *tap = FA_NEW(&t->arena, eng_node_t, 1);
        memset(tap, 0, sizeof(*tap));
        tap->ops = &tap_ops;
        tap->spec = leaf->spec;
        tap->task = t;
        tap->id = UINT32_MAX;
        tap->state = r;
        snprintf(tap->name, sizeof tap->name, "tap");
        leaf->children = FA_NEW(&t->arena, eng_node_t *, 1);
        leaf->children[0] = tap;
        leaf->n_children = 1;
    }
}

int eng_runner_init(eng_runner_t *r, const char *id, const char *script, size_t len, const eng_dbrp_t *dbrps,
                    uint32_t n_dbrps, eng_runner_emit_fn emit, void *ud, tick_err_t *err)
{
    memset(r, 0, sizeof(*r));
    r->emit = emit;
    r->ud = ud;
    r->env = (eng_env_t){ .ud = r, .write_points = env_write, .alert_event = env_alert, .output = env_output };
    if (eng_task_new(id, script, len, dbrps, n_dbrps, &r->env, &r->task, err) != 0) {
        /* the script names its own dbrp: it wins, `dbrps` only says what the data is */
        if (n_dbrps == 0 || strstr(err->msg, "dbrp in both") == NULL ||
            eng_task_new(id, script, len, NULL, 0, &r->env, &r->task, err) != 0)
            return -1;
    }
    tap_leaves(r);
    return 0;
}

void eng_runner_deinit(eng_runner_t *r)
{
    eng_task_free(r->task);
    fa_buf_deinit(&r->line);
    memset(r, 0, sizeof(*r));
}

static const eng_point_t *sort_base;

static int by_time(const void *a, const void *b)
{
    uint32_t i = *(const uint32_t *)a, j = *(const uint32_t *)b;
    int64_t ti = sort_base[i].time, tj = sort_base[j].time;
    return ti < tj ? -1 : ti > tj ? 1 : (i > j) - (i < j);
}

static void sleep_ns(int64_t ns)
{
    if (ns <= 0)
        return;
    struct timespec ts = { ns / 1000000000, ns % 1000000000 };
    nanosleep(&ts, NULL);
}

/* Idle flushes for a gap from `last` to `next` (data time): one per `every`, at most 1000 (a
 * longer gap ends with one flush just before `next`). */
static void flush_gap(eng_runner_t *r, int64_t last, int64_t next, int64_t every)
{
    int64_t t = last + every;
    for (unsigned i = 0; i < 1000 && t < next; i++, t += every)
        eng_task_advance(r->task, t);
    if (t < next)
        eng_task_advance(r->task, next - 1);
}

void eng_runner_run(eng_runner_t *r, const eng_point_t *points, uint32_t n, const eng_runner_opts_t *opts)
{
    eng_runner_opts_t none = { 0 };
    const eng_runner_opts_t *o = opts != NULL ? opts : &none;
    fa_str_t db = o->db, rp = o->rp;
    if (db.len == 0 && r->task->n_dbrps != 0) {
        db = r->task->dbrps[0].db;
        rp = r->task->dbrps[0].rp;
    }
    uint32_t *order = malloc(sizeof(*order) * (n ? n : 1));
    if (order == NULL)
        return;
    for (uint32_t i = 0; i < n; i++)
        order[i] = i;
    sort_base = points;
    qsort(order, n, sizeof(*order), by_time);
    for (uint32_t k = 0; k < n; k++) {
        const eng_point_t *p = &points[order[k]];
        if (k > 0) {
            int64_t last = points[order[k - 1]].time;
            if (o->real_clock)
                sleep_ns(p->time - last);
            if (o->idle_flush_ns > 0 && p->time - last > o->idle_flush_ns)
                flush_gap(r, last, p->time, o->idle_flush_ns);
        }
        eng_task_point(r->task, db, rp, p);
    }
    if (n != 0 && o->idle_flush_ns > 0)
        eng_task_advance(r->task, points[order[n - 1]].time + o->idle_flush_ns);
    free(order);
}
