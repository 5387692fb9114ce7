/* test/engine/harness.h - header-only helper for engine tests: build a task from a script, feed
 * it line protocol, let time pass, and read everything it did as one string of text lines.
 *
 *     eng_harness_t h;
 *     eng_harness_new(&h, script, "db", "rp");        // dbrp NULL: the script's dbrp lines
 *     eng_harness_feed(&h, "cpu,host=a value=1 10\ncpu,host=a value=2 20\n");
 *     eng_harness_advance(&h, 100);
 *     cr_assert_str_eq(eng_harness_out(&h), "alert2: cpu,host=a value=2 20\n");
 *     eng_harness_free(&h);
 *
 * Captured lines, in the order they happened:
 *     <node>: <line protocol>                  a point the tapped node emitted
 *     <node>: rows <name>[,<tags>] tmax=<ns> n=<count>   a batch it emitted, then one line per point:
 *     <node>:   <line protocol>
 *     write <db>.<rp> <node>: <line protocol>  env->write_points (influxDBOut), one line per point
 *     alert <node>: <json>                     env->alert_event
 *     <kind> <node>: <text>                    env->output (kind "log", "httpOut", ...)
 * With h.show_groups set, point lines end with " group=<Kapacitor group string>" when the point
 * has dims. By default every leaf node (no children) is tapped; eng_harness_tap() taps any node. */
#ifndef TEST_ENGINE_HARNESS_H
#define TEST_ENGINE_HARNESS_H
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/str.h"
#include "engine/group.h"
#include "engine/lp.h"
#include "engine/point.h"
#include "engine/runner.h"
#include "engine/task.h"

typedef struct eng_harness {
    eng_task_t *task;
    eng_env_t env;          /* its ud is the harness; tests may swap in their own callbacks */
    fa_buf_t out;           /* captured lines */
    eng_batch_t batch;      /* the last fed text's points */
    char db[64], rp[64];    /* the db.rp points are fed as */
    int64_t precision_ns;   /* of fed timestamps: 1 by default */
    int64_t now;            /* time given to lines without a timestamp (in precision units) */
    bool show_groups;
    tick_err_t err;         /* why eng_harness_new failed */
    char lp_errors[4096];   /* why the last feed rejected lines */
    fa_buf_t tmp;
} eng_harness_t;

static inline void eng_harness_line_start_(eng_harness_t *h, const char *prefix, const char *node)
{
    fa_buf_appendf(&h->out, "%s%s%s: ", prefix, prefix[0] ? " " : "", node);
}

static inline void eng_harness_group_(eng_harness_t *h, const eng_point_t *p, const eng_dims_t *dims)
{
    if (!h->show_groups || dims == NULL)
        return;
    fa_buf_clear(&h->tmp);
    fa_str_t g = eng_group_string(p, dims, &h->tmp);
    fa_buf_appendf(&h->out, " group=%.*s", (int)g.len, g.ptr ? g.ptr : "");
}

static inline void eng_harness_tap_point_(eng_node_t *n, eng_node_t *from, const eng_pt_t *p)
{
    eng_harness_t *h = n->state;
    eng_harness_line_start_(h, "", from->name);
    eng_lp_format_point(&h->out, &p->p);
    eng_harness_group_(h, &p->p, p->dims);
    fa_buf_append(&h->out, "\n", 1);
}

static inline void eng_harness_tap_rows_(eng_node_t *n, eng_node_t *from, const eng_rows_t *b)
{
    eng_harness_t *h = n->state;
    eng_harness_line_start_(h, "", from->name);
    fa_buf_appendf(&h->out, "rows %.*s", (int)b->name.len, b->name.ptr ? b->name.ptr : "");
    for (uint32_t i = 0; i < b->n_tags; i++)
        fa_buf_appendf(&h->out, ",%.*s=%.*s", (int)b->tags[i].key.len, b->tags[i].key.ptr, (int)b->tags[i].value.len,
                       b->tags[i].value.ptr ? b->tags[i].value.ptr : "");
    fa_buf_appendf(&h->out, " tmax=%" PRId64 " n=%u\n", b->tmax, b->n);
    for (uint32_t i = 0; i < b->n; i++) {
        eng_harness_line_start_(h, "", from->name);
        fa_buf_append(&h->out, "  ", 2);
        eng_lp_format_point(&h->out, &b->points[i]);
        fa_buf_append(&h->out, "\n", 1);
    }
}

static const eng_node_ops_t eng_harness_tap_ops_ = { .type = "harness_tap",
                                                     .point = eng_harness_tap_point_,
                                                     .rows = eng_harness_tap_rows_ };

static inline void eng_harness_write_(void *ud, eng_node_t *n, fa_str_t db, fa_str_t rp, const eng_point_t *pts,
                                      uint32_t n_pts)
{
    eng_harness_t *h = ud;
    for (uint32_t i = 0; i < n_pts; i++) {
        fa_buf_appendf(&h->out, "write %.*s.%.*s %s: ", (int)db.len, db.ptr ? db.ptr : "", (int)rp.len,
                       rp.ptr ? rp.ptr : "", n->name);
        eng_lp_format_point(&h->out, &pts[i]);
        fa_buf_append(&h->out, "\n", 1);
    }
}

static inline void eng_harness_alert_(void *ud, eng_node_t *n, fa_str_t json)
{
    eng_harness_t *h = ud;
    fa_buf_appendf(&h->out, "alert %s: %.*s\n", n->name, (int)json.len, json.ptr ? json.ptr : "");
}

static inline void eng_harness_output_(void *ud, eng_node_t *n, fa_str_t kind, fa_str_t text)
{
    eng_harness_t *h = ud;
    fa_buf_appendf(&h->out, "%.*s %s: %.*s\n", (int)kind.len, kind.ptr ? kind.ptr : "", n->name, (int)text.len,
                   text.ptr ? text.ptr : "");
}

/** Adds a tap child to node n: whatever n emits is captured as text. */
static inline void eng_harness_tap_node(eng_harness_t *h, eng_node_t *n)
{
    eng_task_t *t = h->task;
    eng_node_t *tap = FA_NEW(&t->arena, eng_node_t, 1);
    memset(tap, 0, sizeof(*tap));
    tap->ops = &eng_harness_tap_ops_;
    tap->spec = n->spec;
    tap->task = t;
    tap->id = UINT32_MAX;
    snprintf(tap->name, sizeof tap->name, "tap");
    tap->state = h;
    tap->parents = FA_NEW(&t->arena, eng_node_t *, 1);
    tap->parents[0] = n;
    tap->n_parents = 1;
    eng_node_t **kids = FA_NEW(&t->arena, eng_node_t *, n->n_children + 1);
    for (uint32_t i = 0; i < n->n_children; i++)
        kids[i] = n->children[i];
    kids[n->n_children] = tap;
    n->children = kids;
    n->n_children++;
}

/** Taps the node named `name` ("where2"); returns false when there is none. */
static inline bool eng_harness_tap(eng_harness_t *h, const char *name)
{
    for (uint32_t i = 0; i < h->task->n_nodes; i++) {
        if (strcmp(h->task->nodes[i].name, name) == 0) {
            eng_harness_tap_node(h, &h->task->nodes[i]);
            return true;
        }
    }
    return false;
}

/** Builds the task from script (NUL-terminated); db/rp NULL = the script's dbrp lines, and points
 * are then fed as the first of them. Taps every leaf node. 0, or -1 with h->err filled. */
static inline int eng_harness_new(eng_harness_t *h, const char *script, const char *db, const char *rp)
{
    memset(h, 0, sizeof(*h));
    h->env = (eng_env_t){ .ud = h,
                          .write_points = eng_harness_write_,
                          .alert_event = eng_harness_alert_,
                          .output = eng_harness_output_ };
    h->precision_ns = 1;
    eng_dbrp_t d = { fa_str_c(db), fa_str_c(rp) };
    if (eng_task_new("harness", script, strlen(script), &d, db != NULL ? 1 : 0, &h->env, &h->task, &h->err) != 0)
        return -1;
    if (db == NULL && h->task->n_dbrps > 0) {
        snprintf(h->db, sizeof h->db, "%.*s", (int)h->task->dbrps[0].db.len, h->task->dbrps[0].db.ptr);
        snprintf(h->rp, sizeof h->rp, "%.*s", (int)h->task->dbrps[0].rp.len, h->task->dbrps[0].rp.ptr);
    } else {
        snprintf(h->db, sizeof h->db, "%s", db ? db : "");
        snprintf(h->rp, sizeof h->rp, "%s", rp ? rp : "");
    }
    uint32_t n_nodes = h->task->n_nodes;
    for (uint32_t i = 0; i < n_nodes; i++)
        if (h->task->nodes[i].n_children == 0)
            eng_harness_tap_node(h, &h->task->nodes[i]);
    eng_batch_init(&h->batch, 16384, 0);
    return 0;
}

/** Parses lp (one or more lines) and pushes each point through the task, in text order, as
 * db.rp (NULL = the harness's). Returns the number of points pushed, or -1 when a line did not
 * parse (h->lp_errors says why; the good lines were still pushed). */
static inline int eng_harness_feed_dbrp(eng_harness_t *h, const char *db, const char *rp, const char *lp)
{
    eng_lp_opts_t opts = { .precision_ns = h->precision_ns, .now = h->now };
    eng_lp_result_t res;
    eng_batch_reset(&h->batch);
    int n = eng_lp_parse(&h->batch, lp, strlen(lp), &opts, &res);
    fa_str_t d = fa_str_c(db ? db : h->db), r = fa_str_c(rp ? rp : h->rp);
    for (uint32_t i = 0; i < h->batch.n; i++)
        eng_task_point(h->task, d, r, &h->batch.points[i]);
    snprintf(h->lp_errors, sizeof h->lp_errors, "%s", res.errors);
    return res.n_bad ? -1 : n;
}

/** eng_harness_feed_dbrp as the harness's db.rp. */
static inline int eng_harness_feed(eng_harness_t *h, const char *lp) { return eng_harness_feed_dbrp(h, NULL, NULL, lp); }

/** Lets time pass with no data (eng_task_advance). */
static inline void eng_harness_advance(eng_harness_t *h, int64_t now) { eng_task_advance(h->task, now); }

/** Everything captured so far, NUL-terminated ("" when nothing). */
static inline const char *eng_harness_out(eng_harness_t *h) { return fa_buf_cstr(&h->out); }

/** Forgets what was captured so far. */
static inline void eng_harness_clear(eng_harness_t *h) { fa_buf_clear(&h->out); }

/** A node by name, or NULL (to read its stats). */
static inline eng_node_t *eng_harness_node(eng_harness_t *h, const char *name)
{
    for (uint32_t i = 0; i < h->task->n_nodes; i++)
        if (strcmp(h->task->nodes[i].name, name) == 0)
            return &h->task->nodes[i];
    return NULL;
}

static inline void eng_harness_free(eng_harness_t *h)
{
    eng_task_free(h->task);
    h->task = NULL;
    if (h->batch.arena._chunk_size != 0)
        eng_batch_deinit(&h->batch);
    fa_buf_deinit(&h->out);
    fa_buf_deinit(&h->tmp);
}
#endif
