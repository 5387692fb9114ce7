/* tick/compile.c - lambda AST -> register bytecode, with constant folding and static type checks.
 *
 * One pass over the tree. Each node yields an operand (a register, a constant or a slot) and
 * its static type (TICK_V_INVALID when only the data will tell). Literals are constants;
 * references are slots from the engine's resolver; an operator or a pure function whose
 * operands are all constants is evaluated here and becomes a constant, so `'ten' + 10` or
 * `strSubstring('ab', 0, 5)` fail at define time. AND/OR compile to a test-and-jump so the
 * right side is skipped as in Kapacitor. Code and tables grow on the heap while compiling and
 * are copied into the caller's arena at the end. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tick/expr_int.h"

#define MAX_DEPTH 200
#define MAX_CODE 65536

typedef struct cv {
    uint16_t opnd;
    tick_vtype_t type;
} cv_t;

typedef struct cc {
    fa_arena_t *a;
    const tick_resolver_t *r;
    tick_err_t *err;
    vm_insn_t *code;
    tick_pos_t *pos;
    uint32_t n, cap, cap_pos;
    uint16_t *args;
    uint32_t n_args, cap_args;
    tick_value_t *consts;
    uint32_t n_consts, cap_consts;
    uint32_t n_regs;
    fa_str_t *slot_names;
    uint32_t n_slots, cap_slots;
    uint32_t *state_fns;
    uint32_t n_state_fns, cap_state_fns;
    size_t state_size;
    tick_regex_t **regexes;
    uint32_t n_regexes, cap_regexes;
    int depth;
} cc_t;

static int fail(cc_t *c, int code, tick_pos_t pos, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int fail(cc_t *c, int code, tick_pos_t pos, const char *fmt, ...)
{
    va_list ap;
    c->err->code = code;
    c->err->pos = pos;
    c->err->hint[0] = '\0';
    va_start(ap, fmt);
    vsnprintf(c->err->msg, sizeof c->err->msg, fmt, ap);
    va_end(ap);
    return -1;
}

/* grows a heap array to hold one more element */
static int grow(cc_t *c, void **arr, uint32_t n, uint32_t *cap, size_t elem, tick_pos_t pos)
{
    if (n < *cap)
        return 0;
    uint32_t ncap = *cap ? *cap * 2 : 16;
    void *p = realloc(*arr, (size_t)ncap * elem);
    if (p == NULL)
        return fail(c, TICK_ELIMIT, pos, "out of memory compiling the expression");
    *arr = p;
    *cap = ncap;
    return 0;
}

static int new_reg(cc_t *c, tick_pos_t pos, uint16_t *out)
{
    if (c->n_regs >= MAX_REGS)
        return fail(c, TICK_ELIMIT, pos, "expression too large: more than %d intermediate values", MAX_REGS);
    *out = (uint16_t)c->n_regs++;
    return 0;
}

/* the register a node writes: the caller's target, or a new one */
static int dest(cc_t *c, tick_pos_t pos, int target, uint16_t *out)
{
    *out = 0;
    if (target < 0)
        return new_reg(c, pos, out);
    *out = (uint16_t)target;
    return 0;
}

static int add_const(cc_t *c, tick_value_t v, tick_pos_t pos, cv_t *out)
{
    if (c->n_consts > OPND_MAX_IDX)
        return fail(c, TICK_ELIMIT, pos, "expression too large: more than %u constants", OPND_MAX_IDX);
    if (grow(c, (void **)&c->consts, c->n_consts, &c->cap_consts, sizeof *c->consts, pos) != 0)
        return -1;
    c->consts[c->n_consts] = v;
    out->opnd = (uint16_t)(OPND_CONST | c->n_consts++);
    out->type = v.type;
    return 0;
}

static int emit(cc_t *c, vm_insn_t in, tick_pos_t pos)
{
    if (c->n >= MAX_CODE)
        return fail(c, TICK_ELIMIT, pos, "expression too large: more than %d instructions", MAX_CODE);
    if (grow(c, (void **)&c->code, c->n, &c->cap, sizeof *c->code, pos) != 0 ||
        grow(c, (void **)&c->pos, c->n, &c->cap_pos, sizeof *c->pos, pos) != 0)
        return -1;
    c->code[c->n] = in;
    c->pos[c->n++] = pos;
    return 0;
}

static bool is_const(cv_t v) { return OPND_KIND(v.opnd) == OPND_CONST; }
static const tick_value_t *const_of(const cc_t *c, cv_t v) { return &c->consts[OPND_IDX(v.opnd)]; }

static int compile_node(cc_t *c, const tick_expr_t *e, int target, cv_t *out);

/* ---- leaves ---- */

static int compile_ref(cc_t *c, const tick_expr_t *e, cv_t *out)
{
    tick_vtype_t t = TICK_V_INVALID;
    int slot = c->r && c->r->resolve ? c->r->resolve(c->r->ud, e->v.str, &t) : -1;
    if (slot < 0 || slot >= TICK_MAX_SLOTS || slot > (int)OPND_MAX_IDX)
        return fail(c, TICK_EUNDEF, e->pos, "unknown reference \"%.*s\"", (int)e->v.str.len, e->v.str.ptr);
    while (c->n_slots <= (uint32_t)slot) {
        if (grow(c, (void **)&c->slot_names, c->n_slots, &c->cap_slots, sizeof *c->slot_names, e->pos) != 0)
            return -1;
        c->slot_names[c->n_slots++] = FA_STR_NULL;
    }
    c->slot_names[slot] = e->v.str;
    out->opnd = (uint16_t)(OPND_SLOT | (unsigned)slot);
    out->type = t;
    return 0;
}

static int compile_regex(cc_t *c, const tick_expr_t *e, cv_t *out)
{
    char emsg[EMSG_LEN];
    if (grow(c, (void **)&c->regexes, c->n_regexes, &c->cap_regexes, sizeof *c->regexes, e->pos) != 0)
        return -1;
    tick_regex_t *re = vm_regex_new(e->v.str, c->a, emsg);
    if (re == NULL)
        return fail(c, TICK_ETYPE, e->pos, "%s", emsg);
    c->regexes[c->n_regexes++] = re;
    return add_const(c, (tick_value_t){ .type = TICK_V_REGEX, .re = re }, e->pos, out);
}

/* ---- operators ---- */

static int compile_unary(cc_t *c, const tick_expr_t *e, int target, cv_t *out)
{
    tick_op_t op = e->v.unary.op;
    cv_t v;
    char emsg[EMSG_LEN];

    if (compile_node(c, e->v.unary.operand, -1, &v) != 0)
        return -1;
    if (is_const(v)) {
        tick_value_t r;
        if (vm_unop(op, const_of(c, v), &r, emsg) != 0)
            return fail(c, TICK_ETYPE, e->pos, "%s", emsg);
        return add_const(c, r, e->pos, out);
    }
    if (v.type != TICK_V_INVALID && tick_unop_result(op, v.type) == TICK_V_INVALID)
        return fail(c, TICK_ETYPE, e->pos, "invalid unary operator %s for type %s", tick_op_str(op), tick_vtype_name(v.type));
    uint16_t dst;
    if (dest(c, e->pos, target, &dst) != 0)
        return -1;
    out->opnd = dst;
    out->type = v.type == TICK_V_INVALID ? TICK_V_INVALID : tick_unop_result(op, v.type);
    return emit(c, (vm_insn_t){ .op = VM_UN, .sub = (uint8_t)op, .dst = dst, .a = v.opnd }, e->pos);
}

/* Static type of `l op r` when one or both sides are unknown: the one result every possible
 * type gives, TICK_V_INVALID when it varies; -1 with the error when no type fits. */
static int infer(cc_t *c, tick_op_t op, tick_vtype_t l, tick_vtype_t r, tick_pos_t pos, tick_vtype_t *out)
{
    char emsg[EMSG_LEN];
    tick_vtype_t found = TICK_V_INVALID;
    bool any = false, varies = false;

    for (int lt = TICK_V_FLOAT; lt < TICK_V_MISSING; lt++) {
        if (l != TICK_V_INVALID && lt != (int)l)
            continue;
        for (int rt = TICK_V_FLOAT; rt < TICK_V_MISSING; rt++) {
            if (r != TICK_V_INVALID && rt != (int)r)
                continue;
            tick_vtype_t res = tick_op_result(op, (tick_vtype_t)lt, (tick_vtype_t)rt);
            if (res == TICK_V_INVALID)
                continue;
            varies = varies || (any && res != found);
            found = res;
            any = true;
        }
    }
    if (!any) {
        if (l != TICK_V_INVALID && r != TICK_V_INVALID)
            tick_op_type_error(emsg, sizeof emsg, op, l, r);
        else
            snprintf(emsg, sizeof emsg, "invalid %s operand for operator %s: type %s",
                     l != TICK_V_INVALID ? "left" : "right", tick_op_str(op), tick_vtype_name(l != TICK_V_INVALID ? l : r));
        return fail(c, TICK_ETYPE, pos, "%s", emsg);
    }
    *out = varies ? TICK_V_INVALID : found;
    return 0;
}

/* `v` must turn out boolean at run time: copy it into a register with a check */
static int check_bool(cc_t *c, const tick_expr_t *e, tick_op_t op, cv_t v, int target, cv_t *out)
{
    uint16_t dst;
    if (dest(c, e->pos, target, &dst) != 0)
        return -1;
    out->opnd = dst;
    out->type = TICK_V_BOOL;
    return emit(c, (vm_insn_t){ .op = VM_BOOL, .sub = (uint8_t)op, .dst = dst, .a = v.opnd }, e->pos);
}

static int compile_logical(cc_t *c, const tick_expr_t *e, int target, cv_t *out)
{
    tick_op_t op = e->v.binary.op;
    cv_t l, r;
    tick_vtype_t t;

    if (compile_node(c, e->v.binary.lhs, -1, &l) != 0)
        return -1;
    if (is_const(l)) {
        uint32_t n0 = c->n;
        if (compile_node(c, e->v.binary.rhs, target, &r) != 0 || infer(c, op, l.type, r.type, e->pos, &t) != 0)
            return -1;
        if (const_of(c, l)->b == (op == TICK_OP_OR)) { /* decided by the left side: drop the right */
            c->n = n0;
            *out = l;
            return 0;
        }
        if (r.type == TICK_V_BOOL) {
            *out = r;
            return 0;
        }
        return check_bool(c, e, op, r, target, out); /* only the check of the right side is left */
    }
    uint16_t dst;
    if (dest(c, e->pos, target, &dst) != 0)
        return -1;
    uint32_t test = c->n;
    if (emit(c, (vm_insn_t){ .op = VM_TEST, .sub = (uint8_t)op, .dst = dst, .a = l.opnd }, e->pos) != 0 ||
        compile_node(c, e->v.binary.rhs, dst, &r) != 0 || infer(c, op, l.type, r.type, e->pos, &t) != 0)
        return -1;
    if (r.opnd != dst || r.type != TICK_V_BOOL) {
        if (emit(c, (vm_insn_t){ .op = VM_BOOL, .sub = (uint8_t)op, .dst = dst, .a = r.opnd }, e->pos) != 0)
            return -1;
    }
    c->code[test].x = c->n;
    out->opnd = dst;
    out->type = TICK_V_BOOL;
    return 0;
}

static int compile_binary(cc_t *c, const tick_expr_t *e, int target, cv_t *out)
{
    tick_op_t op = e->v.binary.op;
    cv_t l, r;
    tick_vtype_t t;
    char emsg[EMSG_LEN];

    if (op == TICK_OP_AND || op == TICK_OP_OR)
        return compile_logical(c, e, target, out);
    if (compile_node(c, e->v.binary.lhs, -1, &l) != 0 || compile_node(c, e->v.binary.rhs, -1, &r) != 0 ||
        infer(c, op, l.type, r.type, e->pos, &t) != 0)
        return -1;
    if (is_const(l) && is_const(r)) {
        tick_value_t v;
        if (vm_binop(op, const_of(c, l), const_of(c, r), &v, c->a, emsg) != 0)
            return fail(c, TICK_ETYPE, e->pos, "%s", emsg);
        return add_const(c, v, e->pos, out);
    }
    uint16_t dst;
    if (dest(c, e->pos, target, &dst) != 0)
        return -1;
    uint8_t vop = VM_BIN;
    if (op >= TICK_OP_EQ && op <= TICK_OP_GE && op != TICK_OP_REQ && op != TICK_OP_RNE)
        vop = VM_CMPF;
    else if ((op == TICK_OP_REQ || op == TICK_OP_RNE) && is_const(r) && r.type == TICK_V_REGEX)
        vop = VM_MATCH;
    out->opnd = dst;
    out->type = t;
    return emit(c, (vm_insn_t){ .op = vop, .sub = (uint8_t)op, .dst = dst, .a = l.opnd, .b = r.opnd }, e->pos);
}

/* ---- calls ---- */

static int fold_call(cc_t *c, const tick_expr_t *e, const tick_fn_t *f, const cv_t *args, unsigned n, cv_t *out)
{
    tick_value_t argv[4], v;
    char emsg[EMSG_LEN];
    for (unsigned i = 0; i < n; i++)
        argv[i] = *const_of(c, args[i]);
    fn_call_t call = { .argv = argv, .n = n, .scratch = c->a, .out = &v, .emsg = emsg };
    if (f->call(&call) != 0)
        return fail(c, TICK_ETYPE, e->pos, "error calling \"%s\": %s", f->name, emsg);
    return add_const(c, v, e->pos, out);
}

static int compile_call(cc_t *c, const tick_expr_t *e, int target, cv_t *out)
{
    uint32_t index;
    const tick_fn_t *f = fn_lookup(e->v.call.name, &index);
    unsigned n = e->v.call.nargs;
    cv_t args[4];
    tick_vtype_t types[4], ret = TICK_V_INVALID;
    char emsg[EMSG_LEN];
    bool all_const = true;

    if (f == NULL)
        return fail(c, TICK_EUNDEF, e->pos, "undefined function: \"%.*s\"", (int)e->v.call.name.len, e->v.call.name.ptr);
    if (n < f->min_args || n > f->max_args)
        return fail(c, TICK_ETYPE, e->pos, "error calling \"%s\": %s", f->name, f->count_msg);
    for (unsigned i = 0; i < n; i++) {
        if (compile_node(c, e->v.call.args[i], -1, &args[i]) != 0)
            return -1;
        types[i] = args[i].type;
        all_const = all_const && is_const(args[i]);
    }
    if (fn_check(f, types, n, &ret, emsg) != 0)
        return fail(c, TICK_ETYPE, e->pos, "error calling \"%s\": %s", f->name, emsg);
    if (all_const && f->state_size == 0 && !f->impure)
        return fold_call(c, e, f, args, n, out);

    uint32_t off = 0;
    if (f->state_size > 0) {
        off = (uint32_t)((c->state_size + 7) & ~(size_t)7);
        c->state_size = off + f->state_size;
        if (grow(c, (void **)&c->state_fns, c->n_state_fns, &c->cap_state_fns, sizeof *c->state_fns, e->pos) != 0)
            return -1;
        c->state_fns[c->n_state_fns++] = index << 20 | off;
    }
    uint32_t first = c->n_args;
    for (unsigned i = 0; i < n; i++) {
        if (grow(c, (void **)&c->args, c->n_args, &c->cap_args, sizeof *c->args, e->pos) != 0)
            return -1;
        c->args[c->n_args++] = args[i].opnd;
    }
    uint16_t dst;
    if (dest(c, e->pos, target, &dst) != 0)
        return -1;
    if (first > 0xFFFF)
        return fail(c, TICK_ELIMIT, e->pos, "expression too large: too many function arguments");
    out->opnd = dst;
    out->type = ret;
    return emit(c, (vm_insn_t){ .op = VM_CALL, .sub = (uint8_t)n, .dst = dst, .a = (uint16_t)index, .b = (uint16_t)first, .x = off },
                e->pos);
}

static int compile_node(cc_t *c, const tick_expr_t *e, int target, cv_t *out)
{
    int rc;
    if (e == NULL)
        return fail(c, TICK_ESYNTAX, (tick_pos_t){ 0, 0, 0 }, "empty lambda expression");
    if (++c->depth > MAX_DEPTH) {
        c->depth--;
        return fail(c, TICK_ELIMIT, e->pos, "expression nested deeper than %d levels", MAX_DEPTH);
    }
    switch (e->kind) {
    case TICK_EX_INT: rc = add_const(c, tick_int(e->v.i), e->pos, out); break;
    case TICK_EX_FLOAT: rc = add_const(c, tick_float(e->v.f), e->pos, out); break;
    case TICK_EX_STRING: rc = add_const(c, tick_string(e->v.str), e->pos, out); break;
    case TICK_EX_DURATION: rc = add_const(c, tick_duration(e->v.dur_ns), e->pos, out); break;
    case TICK_EX_BOOL: rc = add_const(c, tick_bool(e->v.b), e->pos, out); break;
    case TICK_EX_REGEX: rc = compile_regex(c, e, out); break;
    case TICK_EX_REF: rc = compile_ref(c, e, out); break;
    case TICK_EX_UNARY: rc = compile_unary(c, e, target, out); break;
    case TICK_EX_BINARY: rc = compile_binary(c, e, target, out); break;
    case TICK_EX_CALL: rc = compile_call(c, e, target, out); break;
    case TICK_EX_LAMBDA: rc = compile_node(c, e->v.lambda.body, target, out); break;
    case TICK_EX_IDENT:
        rc = fail(c, TICK_EUNDEF, e->pos, "undefined identifier %.*s in lambda expression", (int)e->v.str.len, e->v.str.ptr);
        break;
    default:
        rc = fail(c, TICK_ETYPE, e->pos, "%s is not allowed in a lambda expression", tick_expr_kind_go_name(e->kind));
        break;
    }
    c->depth--;
    return rc;
}

static void *arena_copy(fa_arena_t *a, const void *src, size_t n, size_t align)
{
    void *p = fa_arena_alloc(a, n ? n : 1, align);
    if (n)
        memcpy(p, src, n);
    return p;
}

static void cc_free(cc_t *c)
{
    free(c->code);
    free(c->pos);
    free(c->args);
    free(c->consts);
    free(c->slot_names);
    free(c->state_fns);
    free(c->regexes);
}

int tick_expr_compile(const tick_expr_t *lambda, const tick_resolver_t *r, fa_arena_t *a, tick_prog_t **out,
                      tick_err_t *err)
{
    cc_t c = { .a = a, .r = r, .err = err };
    cv_t res;

    if (compile_node(&c, lambda, -1, &res) != 0) {
        for (uint32_t i = 0; i < c.n_regexes; i++)
            vm_regex_free(c.regexes[i]);
        cc_free(&c);
        return -1;
    }
    tick_prog_t *p = FA_NEW(a, tick_prog_t, 1);
    p->code = arena_copy(a, c.code, c.n * sizeof *c.code, _Alignof(vm_insn_t));
    p->pos = arena_copy(a, c.pos, c.n * sizeof *c.pos, _Alignof(tick_pos_t));
    p->n = c.n;
    p->args = arena_copy(a, c.args, c.n_args * sizeof *c.args, _Alignof(uint16_t));
    p->consts = arena_copy(a, c.consts, c.n_consts * sizeof *c.consts, _Alignof(tick_value_t));
    p->n_consts = c.n_consts;
    p->n_regs = c.n_regs;
    p->n_slots = c.n_slots;
    p->slot_names = arena_copy(a, c.slot_names, c.n_slots * sizeof *c.slot_names, _Alignof(fa_str_t));
    p->result = res.opnd;
    p->type = res.type;
    p->state_size = c.state_size;
    p->state_fns = arena_copy(a, c.state_fns, c.n_state_fns * sizeof *c.state_fns, _Alignof(uint32_t));
    p->n_state_fns = c.n_state_fns;
    p->regexes = arena_copy(a, c.regexes, c.n_regexes * sizeof *c.regexes, _Alignof(tick_regex_t *));
    p->n_regexes = c.n_regexes;
    cc_free(&c);
    *out = p;
    return 0;
}

void tick_prog_release(tick_prog_t *p)
{
    if (p == NULL)
        return;
    for (uint32_t i = 0; i < p->n_regexes; i++)
        vm_regex_free(p->regexes[i]);
    p->n_regexes = 0;
}

tick_vtype_t tick_prog_type(const tick_prog_t *p) { return p->type; }
size_t tick_prog_state_size(const tick_prog_t *p) { return p->state_size; }
uint32_t tick_prog_len(const tick_prog_t *p) { return p->n; }

void tick_prog_state_init(const tick_prog_t *p, void *state)
{
    for (uint32_t i = 0; i < p->n_state_fns; i++) {
        const tick_fn_t *f = fn_by_index(p->state_fns[i] >> 20);
        f->state_init((char *)state + (p->state_fns[i] & 0xFFFFF));
    }
}

/* ---- the ready-made resolver ---- */

void tick_slotmap_init(tick_slotmap_t *m) { m->n = 0; }

int tick_slotmap_find(const tick_slotmap_t *m, fa_str_t name)
{
    for (uint32_t i = 0; i < m->n; i++)
        if (fa_str_eq(m->names[i], name))
            return (int)i;
    return -1;
}

static int slotmap_resolve(void *ud, fa_str_t name, tick_vtype_t *type)
{
    tick_slotmap_t *m = ud;
    int slot = tick_slotmap_find(m, name);
    if (fa_str_eq_c(name, "time"))
        *type = TICK_V_TIME;
    if (slot >= 0)
        return slot;
    if (m->n >= sizeof m->names / sizeof m->names[0])
        return -1;
    m->names[m->n] = name;
    return (int)m->n++;
}

tick_resolver_t tick_slotmap_resolver(tick_slotmap_t *m)
{
    return (tick_resolver_t){ .resolve = slotmap_resolve, .ud = m };
}
