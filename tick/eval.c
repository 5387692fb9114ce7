/* tick/eval.c - the bytecode interpreter: one switch per instruction, registers on the stack.
 *
 * Operands name a register, a constant or an engine slot (expr_int.h), so references are read
 * in place and nothing is copied per point but results. Every instruction checks the types it
 * gets, since references are typed only by the data; the fast paths (float and int
 * comparisons, regex match on a string) come first. An error stops the evaluation with
 * Kapacitor's message and the position of the operator or call that failed. */
#include <stdio.h>
#include <string.h>

#include "tick/expr_int.h"

#define OPND(x) (OPND_KIND(x) == OPND_CONST ? &K[OPND_IDX(x)] : OPND_KIND(x) == OPND_SLOT ? &S[OPND_IDX(x)] : &R[(x)])

static int eval_fail(const tick_prog_t *p, uint32_t pc, tick_err_t *err, const char *msg) __attribute__((cold, noinline));
static int eval_fail(const tick_prog_t *p, uint32_t pc, tick_err_t *err, const char *msg)
{
    err->code = TICK_ETYPE;
    err->pos = pc < p->n ? p->pos[pc] : (tick_pos_t){ 0, 0, 0 };
    err->hint[0] = '\0';
    snprintf(err->msg, sizeof err->msg, "%s", msg);
    return -1;
}

/* Kapacitor's message for a missing reference operand, when that is the cause */
static bool missing_msg(const tick_prog_t *p, const tick_value_t *v, uint16_t opnd, const char *side, char *emsg)
{
    if (v->type != TICK_V_MISSING)
        return false;
    fa_str_t name = OPND_KIND(opnd) == OPND_SLOT && OPND_IDX(opnd) < p->n_slots ? p->slot_names[OPND_IDX(opnd)] : FA_STR_NULL;
    snprintf(emsg, EMSG_LEN, "%s%sreference value \"%.*s\" is missing value", side, *side ? " " : "", (int)name.len,
             name.ptr ? name.ptr : "");
    return true;
}

static inline bool cmp_f(uint8_t op, double a, double b)
{
    switch (op) {
    case TICK_OP_EQ: return a == b;
    case TICK_OP_NE: return a != b;
    case TICK_OP_LT: return a < b;
    case TICK_OP_LE: return a <= b;
    case TICK_OP_GT: return a > b;
    default: return a >= b;
    }
}

static inline bool cmp_i(uint8_t op, int64_t a, int64_t b)
{
    switch (op) {
    case TICK_OP_EQ: return a == b;
    case TICK_OP_NE: return a != b;
    case TICK_OP_LT: return a < b;
    case TICK_OP_LE: return a <= b;
    case TICK_OP_GT: return a > b;
    default: return a >= b;
    }
}

static int do_binop(const tick_prog_t *p, const vm_insn_t *in, const tick_value_t *l, const tick_value_t *r,
                    tick_value_t *dst, fa_arena_t *scratch, char *emsg) __attribute__((noinline));
static int do_binop(const tick_prog_t *p, const vm_insn_t *in, const tick_value_t *l, const tick_value_t *r,
                    tick_value_t *dst, fa_arena_t *scratch, char *emsg)
{
    if (vm_binop((tick_op_t)in->sub, l, r, dst, scratch, emsg) == 0)
        return 0;
    if (!missing_msg(p, l, in->a, "left", emsg))
        missing_msg(p, r, in->b, "right", emsg);
    return -1;
}

/* "error calling \"name\": why", cut to fit */
static void call_error(char *emsg, const char *name, const char *why)
{
    size_t o = 0;
    const char *parts[] = { "error calling \"", name, "\": ", why };
    for (size_t i = 0; i < 4; i++)
        for (const char *s = parts[i]; *s && o < EMSG_LEN - 1; s++)
            emsg[o++] = *s;
    emsg[o] = '\0';
}

static int do_call(const tick_prog_t *p, const vm_insn_t *in, const tick_value_t *R, const tick_value_t *K,
                   tick_eval_ctx_t *ctx, tick_value_t *dst, char *emsg)
{
    const tick_value_t *S = ctx->slots;
    const tick_fn_t *f = fn_by_index(in->a);
    tick_value_t argv[4];
    tick_vtype_t types[4], ret;
    char why[EMSG_LEN];
    unsigned n = in->sub;

    bool exact = f->n_sigs == 1;
    for (unsigned i = 0; i < n; i++) {
        argv[i] = *OPND(p->args[in->b + i]);
        types[i] = argv[i].type;
        exact = exact && types[i] == f->sigs[0].args[i];
    }
    if (!exact && fn_check(f, types, n, &ret, why) != 0) {
        call_error(emsg, f->name, why);
        return -1;
    }
    fn_call_t call = { .argv = argv, .n = n, .state = ctx->state ? (char *)ctx->state + in->x : NULL, .ctx = ctx,
                       .scratch = ctx->scratch, .out = dst, .emsg = why };
    if (f->state_size > 0 && ctx->state == NULL) {
        snprintf(emsg, EMSG_LEN, "error calling \"%s\": no state block for a stateful function", f->name);
        return -1;
    }
    if (f->call(&call) != 0) {
        call_error(emsg, f->name, why);
        return -1;
    }
    return 0;
}

int tick_expr_eval(const tick_prog_t *p, tick_eval_ctx_t *ctx, tick_value_t *out, tick_err_t *err)
{
    tick_value_t R[p->n_regs ? p->n_regs : 1];
    const tick_value_t *K = p->consts, *S = ctx->slots;
    const vm_insn_t *code = p->code;
    const uint32_t n = p->n;
    char emsg[EMSG_LEN];
    uint32_t pc = 0;

    if (__builtin_expect(p->n_slots > ctx->n_slots, 0)) {
        snprintf(emsg, sizeof emsg, "the expression uses %u slots, the caller supplied %u", p->n_slots, ctx->n_slots);
        return eval_fail(p, p->n, err, emsg);
    }
    while (pc < n) {
        const vm_insn_t *in = &code[pc];
        const tick_value_t *a, *b;
        if (in->op != VM_CALL) /* a call's `a` is the function number */
            a = OPND(in->a);
        switch (in->op) {
        case VM_CMPF:
            b = OPND(in->b);
            if (a->type == TICK_V_FLOAT && b->type == TICK_V_FLOAT)
                R[in->dst] = tick_bool(cmp_f(in->sub, a->f, b->f));
            else if (a->type == TICK_V_INT && b->type == TICK_V_INT)
                R[in->dst] = tick_bool(cmp_i(in->sub, a->i, b->i));
            else if (do_binop(p, in, a, b, &R[in->dst], ctx->scratch, emsg) != 0)
                return eval_fail(p, pc, err, emsg);
            break;
        case VM_MATCH:
            b = OPND(in->b);
            if (a->type == TICK_V_STRING)
                R[in->dst] = tick_bool(vm_regex_match(b->re, a->s) == (in->sub == TICK_OP_REQ));
            else if (do_binop(p, in, a, b, &R[in->dst], ctx->scratch, emsg) != 0)
                return eval_fail(p, pc, err, emsg);
            break;
        case VM_BIN:
            if (do_binop(p, in, a, OPND(in->b), &R[in->dst], ctx->scratch, emsg) != 0)
                return eval_fail(p, pc, err, emsg);
            break;
        case VM_UN:
            if (vm_unop((tick_op_t)in->sub, a, &R[in->dst], emsg) != 0) {
                missing_msg(p, a, in->a, "", emsg);
                return eval_fail(p, pc, err, emsg);
            }
            break;
        case VM_TEST:
            if (a->type != TICK_V_BOOL) {
                if (!missing_msg(p, a, in->a, "left", emsg))
                    tick_op_type_error(emsg, sizeof emsg, (tick_op_t)in->sub, a->type, TICK_V_BOOL);
                return eval_fail(p, pc, err, emsg);
            }
            R[in->dst] = *a;
            if (a->b == (in->sub == TICK_OP_OR)) {
                pc = in->x;
                continue;
            }
            break;
        case VM_BOOL:
            if (a->type != TICK_V_BOOL) {
                if (!missing_msg(p, a, in->a, "right", emsg))
                    tick_op_type_error(emsg, sizeof emsg, (tick_op_t)in->sub, TICK_V_BOOL, a->type);
                return eval_fail(p, pc, err, emsg);
            }
            R[in->dst] = *a;
            break;
        case VM_CALL:
            if (do_call(p, in, R, K, ctx, &R[in->dst], emsg) != 0)
                return eval_fail(p, pc, err, emsg);
            break;
        default:
            return eval_fail(p, pc, err, "corrupt program");
        }
        pc++;
    }
    *out = *OPND(p->result);
    if (out->type == TICK_V_MISSING && missing_msg(p, out, p->result, "", emsg))
        return eval_fail(p, p->n ? p->n - 1 : 0, err, emsg);
    return 0;
}

int tick_expr_eval_bool(const tick_prog_t *p, tick_eval_ctx_t *ctx, bool *out, tick_err_t *err)
{
    tick_value_t v;
    if (tick_expr_eval(p, ctx, &v, err) != 0)
        return -1;
    if (v.type != TICK_V_BOOL) {
        char emsg[EMSG_LEN];
        snprintf(emsg, sizeof emsg, "expression returned unexpected type %s", tick_vtype_name(v.type));
        return eval_fail(p, p->n ? p->n - 1 : 0, err, emsg);
    }
    *out = v.b;
    return 0;
}
