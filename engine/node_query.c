/* engine/node_query.c - the batch source and the query node: properties, define-time checks
 * (what Kapacitor finds only when the task runs: bad fill, a db/rp outside the task's dbrps, a
 * bad cron), feeding InfluxDB's answers in as batches, and the batch replay. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "engine/batchquery.h"
#include "engine/group.h"
#include "engine/nodes.h"
#include "engine/props.h"
#include "engine/runner.h"

/* batch: the task's source; data comes in through its query nodes */
const eng_node_ops_t eng_node_batch = { .type = "batch" };

struct query_state {
    eng_query_t q;
    const eng_dims_t *dims;  /* NULL without groupBy tags and groupByMeasurement */
    fa_arena_t feed;         /* one answer's batches; reset per answer */
    bool feed_init;
};

static const char *const query_counters[] = { "query_errors", "batches_queried", "points_queried", "queries_skipped", NULL };

static int fail_at(tick_err_t *err, int code, tick_pos_t pos, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int fail_at(tick_err_t *err, int code, tick_pos_t pos, const char *fmt, ...)
{
    va_list ap;
    memset(err, 0, sizeof(*err));
    err->code = code;
    err->pos = pos;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return -1;
}

/* The script position of byte `off` of string literal e's value (exact for text without escapes). */
static tick_pos_t pos_in_string(const tick_expr_t *e, size_t off)
{
    tick_pos_t p = e->pos;
    unsigned quote = e->triple ? 3 : 1;
    p.col += quote;
    p.offset += quote;
    for (size_t i = 0; i < off && i < e->v.str.len; i++) {
        p.offset++;
        if (e->v.str.ptr[i] == '\n') {
            p.line++;
            p.col = 1;
        } else {
            p.col++;
        }
    }
    return p;
}

static tick_pos_t prop_pos(const eng_node_t *n, const char *name)
{
    const tick_call_t *c = eng_node_prop(n, name);
    return c != NULL ? c->pos : n->spec->pos;
}

static int read_fill(eng_node_t *n, eng_query_t *q, tick_err_t *err)
{
    const tick_expr_t *e = eng_prop_arg(n, "fill", 0);
    if (e == NULL)
        return 0;
    const char *sign = "";
    if (e->kind == TICK_EX_UNARY && e->v.unary.op == TICK_OP_NEG &&
        (e->v.unary.operand->kind == TICK_EX_INT || e->v.unary.operand->kind == TICK_EX_FLOAT)) {
        sign = "-";
        e = e->v.unary.operand;
    }
    if (e->kind == TICK_EX_INT) {
        snprintf(q->fill, sizeof q->fill, "%s%" PRId64, sign, e->v.i);
        return 0;
    }
    if (e->kind == TICK_EX_FLOAT) {
        fa_buf_t f = FA_BUF_INIT; /* shortest round-trip form: 0.1, not 0.10000000000000001 */
        eng_lp_format_float(&f, e->v.f);
        snprintf(q->fill, sizeof q->fill, "%s%s", sign, fa_buf_cstr(&f));
        fa_buf_deinit(&f);
        return 0;
    }
    fa_str_t s = eng_expr_str(e);
    static const char *const ok[] = { "null", "none", "previous", "linear" };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (fa_str_eq_c(s, ok[i])) {
            if (i != 0) /* fill(null) is InfluxQL's default: not written */
                snprintf(q->fill, sizeof q->fill, "%s", ok[i]);
            return 0;
        }
    char *end;
    char buf[40];
    snprintf(buf, sizeof buf, "%.*s", (int)(s.len < 39 ? s.len : 39), s.ptr);
    double v = strtod(buf, &end);
    if (s.len != 0 && s.len < 39 && *end == 0 && v == v) {
        snprintf(q->fill, sizeof q->fill, "%s", buf);
        return 0;
    }
    return fail_at(err, TICK_ETYPE, e->pos, "%s: unexpected fill option %.*s: want null, none, previous, linear or a number",
                   n->name, (int)s.len, s.ptr);
}

static int read_group_by(eng_node_t *n, eng_query_t *q, tick_err_t *err)
{
    const tick_call_t *c = eng_node_prop(n, "groupBy");
    q->by_name = eng_prop_set(n, "groupByMeasurement");
    uint32_t cap = 0;
    for (uint32_t i = 0; c != NULL && i < c->nargs; i++)
        cap += c->args[i]->kind == TICK_EX_LIST ? c->args[i]->v.list.n : 1;
    q->group_tags = FA_NEW(&n->task->arena, fa_str_t, cap ? cap : 1);
    for (uint32_t i = 0; c != NULL && i < c->nargs; i++) {
        const tick_expr_t *a = c->args[i];
        if (a->kind == TICK_EX_CALL) { /* time(d) */
            if (q->group_time != 0)
                return fail_at(err, TICK_ETYPE, a->pos, "%s: groupBy has more than one time()", n->name);
            q->group_time = eng_expr_int(a->v.call.args[0]);
            if (q->group_time <= 0)
                return fail_at(err, TICK_ETYPE, a->pos, "%s: groupBy time() needs a duration greater than 0", n->name);
            continue;
        }
        uint32_t m = a->kind == TICK_EX_LIST ? a->v.list.n : 1;
        for (uint32_t k = 0; k < m; k++) {
            fa_str_t tag = eng_expr_str(a->kind == TICK_EX_LIST ? a->v.list.items[k] : a);
            q->group_star |= fa_str_eq_c(tag, "*");
            q->group_tags[q->n_group_tags++] = tag;
        }
    }
    return 0;
}

static bool dbrp_ok(const eng_task_t *t, const eng_query_source_t *s)
{
    for (uint32_t i = 0; i < t->n_dbrps; i++)
        if (fa_str_eq(t->dbrps[i].db, s->db) && (s->rp.len == 0 || fa_str_eq(t->dbrps[i].rp, s->rp)))
            return true;
    return false;
}

static int check_sources(eng_node_t *n, const tick_expr_t *text, tick_err_t *err)
{
    struct query_state *s = n->state;
    eng_task_t *t = n->task;
    for (uint32_t i = 0; i < s->q.n_sources; i++) {
        const eng_query_source_t *src = &s->q.sources[i];
        tick_pos_t pos = pos_in_string(text, (size_t)(src->text.ptr - text->v.str.ptr));
        if (src->db.len == 0)
            return fail_at(err, TICK_ETYPE, pos,
                           "%s: query source %.*s must name its database and retention policy (\"db\".\"rp\".measurement)",
                           n->name, (int)src->measurement.len, src->measurement.ptr);
        if (t->n_dbrps != 0 && !dbrp_ok(t, src)) {
            fa_buf_t list = FA_BUF_INIT;
            for (uint32_t k = 0; k < t->n_dbrps; k++)
                fa_buf_appendf(&list, "%s\"%.*s\".\"%.*s\"", k ? ", " : "", (int)t->dbrps[k].db.len, t->dbrps[k].db.ptr,
                               (int)t->dbrps[k].rp.len, t->dbrps[k].rp.ptr);
            fail_at(err, TICK_ETYPE, pos, "%s: query reads \"%.*s\".\"%.*s\", which is not among the task's dbrps (%s)", n->name,
                    (int)src->db.len, src->db.ptr, (int)src->rp.len, src->rp.ptr, fa_buf_cstr(&list));
            fa_buf_deinit(&list);
            return -1;
        }
    }
    return 0;
}

static int read_schedule(eng_node_t *n, eng_query_t *q, tick_err_t *err)
{
    q->period = eng_prop_dur(n, "period", 0);
    q->every = eng_prop_dur(n, "every", 0);
    q->offset = eng_prop_dur(n, "offset", 0);
    q->align = eng_prop_set(n, "align");
    q->align_group = eng_prop_set(n, "alignGroup");
    q->cluster = eng_prop_str(n, "cluster", FA_STR_NULL);
    if (eng_prop_set(n, "every") && eng_prop_set(n, "cron"))
        return fail_at(err, TICK_ETYPE, prop_pos(n, "cron"), "%s: must not set both 'every' and 'cron'", n->name);
    if (!eng_prop_set(n, "every") && !eng_prop_set(n, "cron"))
        return fail_at(err, TICK_EMISSING, n->spec->pos, "%s: must define one of 'every' or 'cron'", n->name);
    if (eng_prop_set(n, "every") && q->every <= 0)
        return fail_at(err, TICK_ETYPE, prop_pos(n, "every"), "%s: every must be greater than 0", n->name);
    if (q->period <= 0)
        return fail_at(err, TICK_EMISSING, eng_prop_set(n, "period") ? prop_pos(n, "period") : n->spec->pos,
                       "%s: period must be set and greater than 0", n->name);
    if (q->offset < 0)
        return fail_at(err, TICK_ETYPE, prop_pos(n, "offset"), "%s: offset must not be negative", n->name);
    const tick_expr_t *ce = eng_prop_arg(n, "cron", 0);
    if (ce != NULL) {
        char msg[160];
        size_t off = 0;
        q->cron_text = ce->v.str;
        if (eng_cron_parse(ce->v.str, &q->cron, msg, sizeof msg, &off) != 0)
            return fail_at(err, TICK_ETYPE, pos_in_string(ce, off), "%s: %s", n->name, msg);
        q->has_cron = true;
    }
    return 0;
}

static int query_init(eng_node_t *n, tick_err_t *err)
{
    struct query_state *s = n->state;
    const tick_expr_t *text = n->spec->call->args[0];
    char msg[160];
    size_t off = 0;
    if (eng_query_split(text->v.str, &s->q, &n->task->arena, msg, sizeof msg, &off) != 0)
        return fail_at(err, TICK_ETYPE, pos_in_string(text, off), "%s: %s", n->name, msg);
    if (read_schedule(n, &s->q, err) != 0 || read_fill(n, &s->q, err) != 0 || read_group_by(n, &s->q, err) != 0 ||
        check_sources(n, text, err) != 0)
        return -1;
    if (!s->q.group_star && (s->q.n_group_tags != 0 || s->q.by_name))
        s->dims = eng_dims_new(&n->task->arena, s->q.group_tags, s->q.n_group_tags, s->q.by_name);
    fa_arena_init(&s->feed, 16384, 0);
    s->feed_init = true;
    return 0;
}

static void query_deinit(eng_node_t *n)
{
    struct query_state *s = n->state;
    if (s->feed_init)
        fa_arena_deinit(&s->feed);
}

const eng_node_ops_t eng_node_query = { .type = "query",
                                        .state_size = sizeof(struct query_state),
                                        .init = query_init,
                                        .deinit = query_deinit,
                                        .counters = query_counters };

const eng_query_t *eng_query_of(const eng_node_t *n)
{
    return n->ops == &eng_node_query ? &((const struct query_state *)n->state)->q : NULL;
}

static void count(eng_node_t *n, int which, uint64_t k)
{
    atomic_fetch_add_explicit(&n->stats.own[which], k, memory_order_relaxed);
}

void eng_query_fail(eng_node_t *n, int64_t start, int64_t stop, const char *why)
{
    fa_buf_t b = FA_BUF_INIT;
    eng_rfc3339(&b, start);
    fa_buf_append_c(&b, ", ");
    eng_rfc3339(&b, stop);
    count(n, ENG_QUERY_ERRORS, 1);
    eng_node_error(n, "query over [%s) failed: %s", fa_buf_cstr(&b), why);
    fa_buf_deinit(&b);
}

void eng_query_skipped(eng_node_t *n, uint64_t k)
{
    count(n, ENG_QUERY_SKIPPED, k);
    FA_LOG(FA_WARN, "task %s node %s: %" PRIu64 " run(s) skipped: the previous query was still running", n->task->id, n->name, k);
}

/* Parses one answer of node n and hands its batches to tap (when set) and, when feed, to the
 * children. -1 with err when the answer is an error or not an answer. */
static int feed_answer(eng_node_t *n, fa_str_t json, int64_t start, int64_t stop, const eng_query_replay_opts_t *o,
                       uint32_t index, char *err, size_t errlen)
{
    struct query_state *s = n->state;
    eng_task_t *t = n->task;
    eng_rows_t *rows;
    uint32_t n_rows;
    fa_arena_reset(&s->feed);
    if (eng_query_parse(json, &s->q, s->dims, stop, &s->feed, &rows, &n_rows, err, errlen) != 0)
        return -1;
    if (stop > t->now)
        t->now = stop;
    bool feed = o == NULL || o->feed;
    for (uint32_t i = 0; i < n_rows; i++) {
        if (o != NULL && o->tap != NULL)
            o->tap(o->ud, n, index, &rows[i], start, stop);
        if (!feed)
            continue; /* the tap owns it (and may eng_query_emit it: counted there) */
        count(n, ENG_QUERY_BATCHES, 1);
        count(n, ENG_QUERY_POINTS, rows[i].n);
        atomic_fetch_add_explicit(&t->points_in, rows[i].n, memory_order_relaxed);
        eng_emit_rows(n, &rows[i]);
        fa_arena_reset(&t->scratch);
    }
    return (int)n_rows;
}

int eng_query_feed(eng_node_t *n, fa_str_t json, int64_t start, int64_t stop)
{
    char err[300];
    int rc = feed_answer(n, json, start, stop, NULL, 0, err, sizeof err);
    if (rc < 0)
        eng_query_fail(n, start, stop, err);
    return rc;
}

eng_node_t *eng_query_node(eng_task_t *t, uint32_t index)
{
    for (uint32_t i = 0; i < t->n_nodes; i++)
        if (t->nodes[i].ops == &eng_node_query && index-- == 0)
            return &t->nodes[i];
    return NULL;
}

void eng_query_emit(eng_node_t *n, eng_point_t *points, uint32_t n_points, int64_t tmax)
{
    struct query_state *s = n->state;
    eng_task_t *t = n->task;
    if (n_points == 0)
        return;
    eng_rows_t b = { .name = points[0].name, .tags = points[0].tags, .n_tags = points[0].n_tags, .tmax = tmax,
                     .points = points, .n = n_points, .dims = s->dims };
    if (s->q.group_star) {
        fa_str_t *keys = FA_NEW(&t->scratch, fa_str_t, b.n_tags ? b.n_tags : 1);
        for (uint32_t i = 0; i < b.n_tags; i++)
            keys[i] = b.tags[i].key;
        b.dims = eng_dims_new(&t->scratch, keys, b.n_tags, s->q.by_name);
    }
    eng_point_t key = { .name = b.name, .tags = b.tags, .n_tags = b.n_tags };
    b.group = eng_group_id(&key, b.dims);
    if (tmax > t->now)
        t->now = tmax;
    count(n, ENG_QUERY_BATCHES, 1);
    count(n, ENG_QUERY_POINTS, n_points);
    atomic_fetch_add_explicit(&t->points_in, n_points, memory_order_relaxed);
    eng_emit_rows(n, &b);
    fa_arena_reset(&t->scratch);
}

void eng_query_emit_empty(eng_node_t *n, const eng_rows_t *b, int64_t tmax)
{
    eng_task_t *t = n->task;
    eng_rows_t e = *b;
    e.points = NULL;
    e.n = 0;
    e.tmax = tmax;
    if (tmax > t->now)
        t->now = tmax;
    count(n, ENG_QUERY_BATCHES, 1);
    eng_emit_rows(n, &e);
    fa_arena_reset(&t->scratch);
}

/* ---- batch replay ---------------------------------------------------------------------------- */

static int64_t replay_first(const eng_query_t *q, int64_t start)
{
    return q->has_cron ? eng_cron_next(&q->cron, start - 1) : start;
}

static int64_t replay_next(const eng_query_t *q, int64_t prev)
{
    return q->has_cron ? eng_cron_next(&q->cron, prev) : prev + q->every;
}

int eng_query_replay_with(eng_task_t *t, int64_t start, int64_t stop, const eng_query_replay_opts_t *o, char *err,
                          size_t errlen)
{
    enum { MAX_Q = 64 };
    eng_node_t *nodes[MAX_Q];
    int64_t ticks[MAX_Q];
    uint32_t nq = 0;
    for (uint32_t i = 0; i < t->n_nodes && nq < MAX_Q; i++)
        if (t->nodes[i].ops == &eng_node_query) {
            nodes[nq] = &t->nodes[i];
            ticks[nq++] = replay_first(eng_query_of(&t->nodes[i]), start);
        }
    if (nq == 0) {
        snprintf(err, errlen, "task %s has no query node", t->id);
        return -1;
    }
    fa_buf_t text = FA_BUF_INIT, body = FA_BUF_INIT;
    int runs = 0;
    for (;;) {
        uint32_t k = nq;
        for (uint32_t i = 0; i < nq; i++)
            if (ticks[i] >= 0 && ticks[i] <= stop && (k == nq || ticks[i] < ticks[k]))
                k = i;
        if (k == nq)
            break;
        const eng_query_t *q = eng_query_of(nodes[k]);
        int64_t qs, qe;
        eng_query_bounds(q, ticks[k], &qs, &qe);
        fa_buf_clear(&text);
        fa_buf_clear(&body);
        char why[256] = "";
        int rc = -1;
        if (eng_query_text(q, qs, qe, &text) != 0)
            snprintf(why, sizeof why, "out of memory for the query text");
        else if (o->fn(o->ud, nodes[k], fa_buf_cstr(&text), &body, why, sizeof why) == 0)
            rc = feed_answer(nodes[k], fa_str(body.ptr, body.len), qs, qe, o, k, why, sizeof why);
        runs++;
        ticks[k] = replay_next(q, ticks[k]);
        if (rc >= 0)
            continue;
        eng_query_fail(nodes[k], qs, qe, why);
        if (o->stop_on_error) {
            fa_buf_t b = FA_BUF_INIT;
            eng_rfc3339(&b, qs);
            fa_buf_append_c(&b, ", ");
            eng_rfc3339(&b, qe);
            snprintf(err, errlen, "%s: query over [%s) failed: %s", nodes[k]->name, fa_buf_cstr(&b), why);
            fa_buf_deinit(&b);
            runs = -1;
            break;
        }
    }
    fa_buf_deinit(&text);
    fa_buf_deinit(&body);
    return runs;
}

int eng_query_replay(eng_task_t *t, int64_t start, int64_t stop, eng_query_fn fn, void *ud)
{
    char err[200];
    eng_query_replay_opts_t o = { .fn = fn, .feed = true, .ud = ud };
    return eng_query_replay_with(t, start, stop, &o, err, sizeof err);
}
