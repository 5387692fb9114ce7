/* engine/node_state.c - stateCount(λ) and stateDuration(λ): per group, how many consecutive
 * points (int, from 1) or how long (float, in `unit`, from 0 at the first true point) the lambda
 * has been true; -1 when it is false. Fields "state_count" / "state_duration" unless .as(). */
#include <string.h>

#include "engine/lambda.h"
#include "engine/nodes.h"
#include "engine/nodeutil.h"
#include "engine/props.h"

struct st_group {
    bool on;
    int64_t count, since;
};

struct st_state {
    eng_lambda_t pred;
    fa_str_t as;
    bool duration;
    int64_t unit;
    eng_gmap_t groups; /* group -> struct st_group */
};

static int st_init_kind(eng_node_t *n, tick_err_t *err, bool duration)
{
    struct st_state *s = n->state;
    s->duration = duration;
    s->as = eng_prop_str(n, "as", duration ? FA_STR_LIT("state_duration") : FA_STR_LIT("state_count"));
    s->unit = eng_prop_dur(n, "unit", 1000000000);
    if (s->unit <= 0)
        s->unit = 1000000000;
    eng_gmap_init(&s->groups, sizeof(struct st_group));
    return eng_lambda_compile(n, n->spec->call->args[0], &s->pred, err);
}

static int count_init(eng_node_t *n, tick_err_t *err) { return st_init_kind(n, err, false); }
static int duration_init(eng_node_t *n, tick_err_t *err) { return st_init_kind(n, err, true); }

/* the point with the state field added (or replaced), in scratch */
static bool st_fn(eng_node_t *n, const eng_pt_t *in, eng_pt_t *out)
{
    struct st_state *s = n->state;
    bool on;
    tick_err_t err;
    if (eng_lambda_eval_bool(&s->pred, n, in, &on, &err) != 0) {
        eng_node_error(n, "failed to evaluate expression: %s", err.msg);
        return false;
    }
    struct st_group *g = eng_gmap_get(&s->groups, in->group, NULL);
    if (g == NULL)
        return false;
    eng_value_t v;
    if (!on) {
        g->on = false;
        v = s->duration ? (eng_value_t){ .type = ENG_FLOAT, .f = -1 } : (eng_value_t){ .type = ENG_INT, .i = -1 };
    } else {
        if (!g->on) {
            g->on = true;
            g->count = 0;
            g->since = in->p.time;
        }
        g->count++;
        v = s->duration ? (eng_value_t){ .type = ENG_FLOAT, .f = (double)(in->p.time - g->since) / (double)s->unit }
                        : (eng_value_t){ .type = ENG_INT, .i = g->count };
    }
    *out = *in;
    eng_field_t *f = FA_NEW(&n->task->scratch, eng_field_t, in->p.n_fields + 1);
    uint32_t nf = 0;
    bool replaced = false;
    for (uint32_t i = 0; i < in->p.n_fields; i++) {
        f[nf] = in->p.fields[i];
        if (fa_str_eq(f[nf].key, s->as)) {
            f[nf].v = v;
            replaced = true;
        }
        nf++;
    }
    if (!replaced)
        f[nf++] = (eng_field_t){ s->as, v };
    out->p.fields = f;
    out->p.n_fields = nf;
    return true;
}

static void st_point(eng_node_t *n, eng_node_t *from, const eng_pt_t *p)
{
    eng_pt_t o;
    if (st_fn(n, p, &o))
        eng_emit_point(n, &o);
}

static void st_rows(eng_node_t *n, eng_node_t *from, const eng_rows_t *b)
{
    eng_rows_t out = *b;
    out.points = FA_NEW(&n->task->scratch, eng_point_t, b->n ? b->n : 1);
    out.n = 0;
    for (uint32_t i = 0; i < b->n; i++) {
        eng_pt_t in = { .p = b->points[i], .group = b->group, .dims = b->dims }, o;
        if (st_fn(n, &in, &o))
            out.points[out.n++] = o.p;
    }
    eng_emit_rows(n, &out);
}

static void st_deinit(eng_node_t *n)
{
    struct st_state *s = n->state;
    eng_lambda_release(&s->pred);
    eng_gmap_deinit(&s->groups);
}

const eng_node_ops_t eng_node_stateCount = { .type = "stateCount",
                                             .state_size = sizeof(struct st_state),
                                             .init = count_init,
                                             .point = st_point,
                                             .rows = st_rows,
                                             .deinit = st_deinit };

const eng_node_ops_t eng_node_stateDuration = { .type = "stateDuration",
                                                .state_size = sizeof(struct st_state),
                                                .init = duration_init,
                                                .point = st_point,
                                                .rows = st_rows,
                                                .deinit = st_deinit };
