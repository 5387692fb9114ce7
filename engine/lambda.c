/* engine/lambda.c - slot filling and per-group state for compiled lambdas. */
#include "engine/lambda.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lambda_state {
    uint64_t group;
    void *block;
};

int eng_lambda_compile(eng_node_t *n, const tick_expr_t *e, eng_lambda_t *out, tick_err_t *err)
{
    memset(out, 0, sizeof(*out));
    tick_slotmap_init(&out->slots);
    tick_resolver_t r = tick_slotmap_resolver(&out->slots);
    if (tick_expr_compile(e, &r, &n->task->arena, &out->prog, err) != 0)
        return -1;
    out->state_size = tick_prog_state_size(out->prog);
    return 0;
}

tick_value_t eng_value_to_tick(const eng_value_t *v)
{
    switch (v->type) {
    case ENG_FLOAT: return tick_float(v->f);
    case ENG_INT: return tick_int(v->i);
    case ENG_UINT: return tick_int((int64_t)v->u);
    case ENG_STRING: return tick_string(v->s);
    case ENG_BOOL: return tick_bool(v->b);
    }
    return tick_missing();
}

bool eng_value_from_tick(const tick_value_t *t, eng_value_t *out)
{
    switch (t->type) {
    case TICK_V_FLOAT: *out = (eng_value_t){ .type = ENG_FLOAT, .f = t->f }; return true;
    case TICK_V_INT:
    case TICK_V_TIME:
    case TICK_V_DURATION: *out = (eng_value_t){ .type = ENG_INT, .i = t->i }; return true;
    case TICK_V_STRING: *out = (eng_value_t){ .type = ENG_STRING, .s = t->s }; return true;
    case TICK_V_BOOL: *out = (eng_value_t){ .type = ENG_BOOL, .b = t->b }; return true;
    default: return false;
    }
}

static void *state_for(eng_lambda_t *l, uint64_t group)
{
    for (uint32_t i = 0; i < l->_n_states; i++) /* few groups per node in practice; see cardinality */
        if (l->_states[i].group == group)
            return l->_states[i].block;
    if (l->_n_states == l->_cap_states) {
        uint32_t cap = l->_cap_states ? l->_cap_states * 2 : 8;
        struct lambda_state *s = realloc(l->_states, cap * sizeof(*s));
        if (s == NULL)
            return NULL;
        l->_states = s;
        l->_cap_states = cap;
    }
    void *block = calloc(1, l->state_size);
    if (block == NULL)
        return NULL;
    tick_prog_state_init(l->prog, block);
    l->_states[l->_n_states++] = (struct lambda_state){ group, block };
    return block;
}

static int fill(eng_lambda_t *l, eng_node_t *n, const eng_pt_t *p, tick_eval_ctx_t *ctx, tick_value_t *slots,
                tick_err_t *err)
{
    for (uint32_t i = 0; i < l->slots.n; i++) {
        fa_str_t name = l->slots.names[i];
        const eng_field_t *f = eng_point_field(&p->p, name);
        if (f != NULL) {
            slots[i] = eng_value_to_tick(&f->v);
            continue;
        }
        fa_str_t tag = eng_point_tag(&p->p, name);
        if (tag.ptr != NULL)
            slots[i] = tick_string(tag);
        else if (fa_str_eq_c(name, "time"))
            slots[i] = tick_time(p->p.time);
        else
            slots[i] = tick_missing();
    }
    ctx->slots = slots;
    ctx->n_slots = l->slots.n;
    ctx->scratch = &n->task->scratch;
    ctx->now = n->task->now;
    ctx->state = NULL;
    if (l->state_size != 0 && (ctx->state = state_for(l, p->group)) == NULL) {
        err->code = TICK_ELIMIT;
        snprintf(err->msg, sizeof err->msg, "out of memory for lambda state");
        return -1;
    }
    return 0;
}

int eng_lambda_eval(eng_lambda_t *l, eng_node_t *n, const eng_pt_t *p, tick_value_t *out, tick_err_t *err)
{
    tick_value_t slots[64];
    tick_eval_ctx_t ctx;
    if (fill(l, n, p, &ctx, slots, err) != 0)
        return -1;
    return tick_expr_eval(l->prog, &ctx, out, err);
}

int eng_lambda_eval_bool(eng_lambda_t *l, eng_node_t *n, const eng_pt_t *p, bool *out, tick_err_t *err)
{
    tick_value_t slots[64];
    tick_eval_ctx_t ctx;
    if (fill(l, n, p, &ctx, slots, err) != 0)
        return -1;
    return tick_expr_eval_bool(l->prog, &ctx, out, err);
}

void eng_lambda_release(eng_lambda_t *l)
{
    for (uint32_t i = 0; i < l->_n_states; i++)
        free(l->_states[i].block);
    free(l->_states);
    l->_states = NULL;
    l->_n_states = l->_cap_states = 0;
    if (l->prog != NULL)
        tick_prog_release(l->prog);
    l->prog = NULL;
}
