/* engine/node_source.c - stream (the task's source), from, and where. */
#include <string.h>

#include "engine/group.h"
#include "engine/lambda.h"
#include "engine/nodes.h"
#include "engine/props.h"

/* stream: every point of the task's dbrps goes to every from() */
static void stream_point(eng_node_t *n, eng_node_t *from, const eng_pt_t *p) { eng_emit_point(n, p); }

const eng_node_ops_t eng_node_stream = { .type = "stream", .point = stream_point };

struct from_state {
    fa_str_t db, rp, measurement;
    eng_lambda_t where;
    bool has_where;
    const eng_dims_t *dims;
    int64_t truncate, round;
};

static int from_init(eng_node_t *n, tick_err_t *err)
{
    struct from_state *s = n->state;
    s->db = eng_prop_str(n, "database", FA_STR_NULL);
    s->rp = eng_prop_str(n, "retentionPolicy", FA_STR_NULL);
    s->measurement = eng_prop_str(n, "measurement", FA_STR_NULL);
    s->truncate = eng_prop_dur(n, "truncate", 0);
    s->round = eng_prop_dur(n, "round", 0);
    const tick_expr_t *w = eng_prop_arg(n, "where", 0);
    if (w != NULL) {
        if (eng_lambda_compile(n, w, &s->where, err) != 0)
            return -1;
        s->has_where = true;
    }
    fa_str_t *tags;
    uint32_t nt = eng_prop_strs(n, "groupBy", &tags);
    bool by_name = eng_prop_set(n, "groupByMeasurement");
    if (nt != 0 || by_name)
        s->dims = eng_dims_new(&n->task->arena, tags, nt, by_name);
    return 0;
}

static int64_t floor_to(int64_t t, int64_t d) { return t - (((t % d) + d) % d); }

static void from_point(eng_node_t *n, eng_node_t *parent, const eng_pt_t *in)
{
    struct from_state *s = n->state;
    eng_task_t *t = n->task;
    if ((s->db.len && !fa_str_eq(s->db, t->cur_db)) || (s->rp.len && !fa_str_eq(s->rp, t->cur_rp)) ||
        (s->measurement.len && !fa_str_eq(s->measurement, in->p.name)))
        return;
    eng_pt_t p = *in;
    if (s->truncate > 0)
        p.p.time = floor_to(p.p.time, s->truncate);
    else if (s->round > 0)
        p.p.time = floor_to(p.p.time + s->round / 2, s->round);
    if (s->has_where) {
        bool keep;
        tick_err_t err;
        if (eng_lambda_eval_bool(&s->where, n, &p, &keep, &err) != 0) {
            eng_node_error(n, "failed to evaluate WHERE expression: %s", err.msg);
            return;
        }
        if (!keep)
            return;
    }
    if (s->dims != NULL) {
        p.dims = s->dims;
        p.group = eng_group_id(&p.p, s->dims);
    }
    eng_emit_point(n, &p);
}

static void from_deinit(eng_node_t *n)
{
    struct from_state *s = n->state;
    if (s->has_where)
        eng_lambda_release(&s->where);
}

const eng_node_ops_t eng_node_from = {
    .type = "from", .state_size = sizeof(struct from_state), .init = from_init, .point = from_point, .deinit = from_deinit
};

/* where(lambda): keeps the points (or the batch points) for which the lambda is true */
struct where_state {
    eng_lambda_t pred;
};

static int where_init(eng_node_t *n, tick_err_t *err)
{
    struct where_state *s = n->state;
    const tick_call_t *c = n->spec->call;
    return eng_lambda_compile(n, c->args[0], &s->pred, err);
}

static void where_point(eng_node_t *n, eng_node_t *from, const eng_pt_t *p)
{
    struct where_state *s = n->state;
    bool keep;
    tick_err_t err;
    if (eng_lambda_eval_bool(&s->pred, n, p, &keep, &err) != 0) {
        eng_node_error(n, "failed to evaluate WHERE expression: %s", err.msg);
        return;
    }
    if (keep)
        eng_emit_point(n, p);
}

static void where_rows(eng_node_t *n, eng_node_t *from, const eng_rows_t *b)
{
    struct where_state *s = n->state;
    eng_rows_t out = *b;
    out.points = FA_NEW(&n->task->scratch, eng_point_t, b->n ? b->n : 1);
    out.n = 0;
    for (uint32_t i = 0; i < b->n; i++) {
        eng_pt_t p = { .p = b->points[i], .group = b->group, .dims = b->dims };
        bool keep;
        tick_err_t err;
        if (eng_lambda_eval_bool(&s->pred, n, &p, &keep, &err) != 0) {
            eng_node_error(n, "failed to evaluate WHERE expression: %s", err.msg);
            continue;
        }
        if (keep)
            out.points[out.n++] = b->points[i];
    }
    eng_emit_rows(n, &out);
}

static void where_deinit(eng_node_t *n) { eng_lambda_release(&((struct where_state *)n->state)->pred); }

const eng_node_ops_t eng_node_where = { .type = "where",
                                        .state_size = sizeof(struct where_state),
                                        .init = where_init,
                                        .point = where_point,
                                        .rows = where_rows,
                                        .deinit = where_deinit };
