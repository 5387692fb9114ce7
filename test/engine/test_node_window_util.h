/* test/engine/test_node_window_util.h - a small harness for the window/InfluxQL/derivative node
 * tests: builds a task, taps every leaf node, feeds line protocol (seconds precision) and
 * renders what the leaves emitted as text:
 *     <node>: <name>[,<tags>] <fields> <time>            a point
 *     <node>: rows <name>[,<group tags>] tmax=<time> n=<n>  a batch, then "  <point>" lines
 * Times print as "<n>s" when whole seconds, else "<n>ns". Floats print in the shortest form
 * that reads back exactly; integers end in "i". */
#ifndef TEST_NODE_WINDOW_UTIL_H
#define TEST_NODE_WINDOW_UTIL_H
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/lp.h"
#include "engine/task.h"

typedef struct th {
    eng_task_t *t;
    eng_node_t taps[8];
    eng_node_t *tapp[8];
    const eng_node_t *tapped[8];
    uint32_t n_taps;
    fa_buf_t out;
    tick_err_t err;
} th_t;

static inline th_t *th_of(eng_node_t *tap)
{
    return (th_t *)((char *)(tap - tap->id) - offsetof(th_t, taps));
}

static inline void th_time(fa_buf_t *b, int64_t t)
{
    if (t % 1000000000 == 0)
        fa_buf_appendf(b, "%" PRId64 "s", t / 1000000000);
    else
        fa_buf_appendf(b, "%" PRId64 "ns", t);
}

static inline void th_value(fa_buf_t *b, const eng_value_t *v)
{
    char tmp[64];
    switch (v->type) {
    case ENG_FLOAT:
        for (int prec = 15; prec <= 17; prec++) {
            snprintf(tmp, sizeof tmp, "%.*g", prec, v->f);
            if (strtod(tmp, NULL) == v->f)
                break;
        }
        fa_buf_append_c(b, tmp);
        break;
    case ENG_INT: fa_buf_appendf(b, "%" PRId64 "i", v->i); break;
    case ENG_UINT: fa_buf_appendf(b, "%" PRIu64 "u", v->u); break;
    case ENG_STRING: fa_buf_appendf(b, "\"%.*s\"", (int)v->s.len, v->s.ptr); break;
    case ENG_BOOL: fa_buf_append_c(b, v->b ? "true" : "false"); break;
    }
}

static inline void th_tags(fa_buf_t *b, const eng_tag_t *tags, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        fa_buf_appendf(b, ",%.*s=%.*s", (int)tags[i].key.len, tags[i].key.ptr, (int)tags[i].value.len, tags[i].value.ptr);
}

static inline void th_point_line(fa_buf_t *b, const eng_point_t *p)
{
    fa_buf_append_str(b, p->name);
    th_tags(b, p->tags, p->n_tags);
    for (uint32_t i = 0; i < p->n_fields; i++) {
        fa_buf_appendf(b, "%s%.*s=", i ? "," : " ", (int)p->fields[i].key.len, p->fields[i].key.ptr);
        th_value(b, &p->fields[i].v);
    }
    fa_buf_append_c(b, " ");
    th_time(b, p->time);
    fa_buf_append_c(b, "\n");
}

static inline void th_cap_point(eng_node_t *tap, eng_node_t *from, const eng_pt_t *p)
{
    th_t *h = th_of(tap);
    fa_buf_appendf(&h->out, "%s: ", from->name);
    th_point_line(&h->out, &p->p);
}

static inline void th_cap_rows(eng_node_t *tap, eng_node_t *from, const eng_rows_t *r)
{
    th_t *h = th_of(tap);
    fa_buf_appendf(&h->out, "%s: rows %.*s", from->name, (int)r->name.len, r->name.ptr);
    th_tags(&h->out, r->tags, r->n_tags);
    fa_buf_append_c(&h->out, " tmax=");
    th_time(&h->out, r->tmax);
    fa_buf_appendf(&h->out, " n=%u\n", r->n);
    for (uint32_t i = 0; i < r->n; i++) {
        fa_buf_append_c(&h->out, "  ");
        th_point_line(&h->out, &r->points[i]);
    }
}

static const eng_node_ops_t th_cap_ops = { .type = "tap", .point = th_cap_point, .rows = th_cap_rows };

/** Builds the task (db "db", rp "rp"); 0, or -1 with h->err. Taps every leaf. */
static inline int th_new(th_t *h, const char *script)
{
    memset(h, 0, sizeof(*h));
    eng_dbrp_t d = { FA_STR_LIT("db"), FA_STR_LIT("rp") };
    if (eng_task_new("test", script, strlen(script), &d, 1, NULL, &h->t, &h->err) != 0)
        return -1;
    for (uint32_t i = 0; i < h->t->n_nodes && h->n_taps < 8; i++) {
        eng_node_t *n = &h->t->nodes[i];
        if (n->n_children != 0)
            continue;
        eng_node_t *tap = &h->taps[h->n_taps];
        tap->ops = &th_cap_ops;
        tap->task = h->t;
        tap->id = h->n_taps;
        snprintf(tap->name, sizeof tap->name, "tap");
        h->tapp[h->n_taps] = tap;
        h->tapped[h->n_taps] = n;
        n->children = &h->tapp[h->n_taps];
        n->n_children = 1;
        h->n_taps++;
    }
    return 0;
}

/** Feeds line protocol with times in seconds. */
static inline void th_feed(th_t *h, const char *lp)
{
    eng_batch_t b;
    eng_batch_init(&b, 4096, 0);
    eng_lp_opts_t o = { .precision_ns = 1000000000 };
    eng_lp_result_t res;
    int n = eng_lp_parse(&b, lp, strlen(lp), &o, &res);
    cr_assert_eq(res.n_bad, 0, "bad line protocol in test: %s", res.errors);
    for (int i = 0; i < n; i++)
        eng_task_point(h->t, FA_STR_LIT("db"), FA_STR_LIT("rp"), &b.points[i]);
    eng_batch_deinit(&b);
}

static inline void th_advance(th_t *h, int64_t now_s) { eng_task_advance(h->t, now_s * 1000000000); }

/** Everything emitted so far; clears the capture. Valid until the next call. */
static inline const char *th_take(th_t *h)
{
    static char last[65536];
    snprintf(last, sizeof last, "%s", fa_buf_cstr(&h->out));
    fa_buf_clear(&h->out);
    return last;
}

static inline void th_free(th_t *h)
{
    eng_task_free(h->t);
    fa_buf_deinit(&h->out);
}

/** The task's node named name ("window2"). */
static inline eng_node_t *th_node(th_t *h, const char *name)
{
    for (uint32_t i = 0; i < h->t->n_nodes; i++)
        if (strcmp(h->t->nodes[i].name, name) == 0)
            return &h->t->nodes[i];
    cr_assert_fail("no node %s", name);
    return NULL;
}

#define TH_SCRIPT(body) "stream\n    |from()\n        .measurement('cpu')\n" body

static inline void th_expect(th_t *h, const char *expected)
{
    const char *got = th_take(h);
    cr_assert_str_eq(got, expected, "got:\n%s\nexpected:\n%s", got, expected);
}
#endif
