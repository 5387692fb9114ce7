/* tick/check.c - semantic check: statements in order, vars in scope, chains against the schema
 * table (schema.c), building the pipeline as Kapacitor would (node ids in creation order).
 * Errors unwind with longjmp to tick_check(); all memory is in the caller's arena. */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "tick/schema.h"
#include "tick/tick.h"

typedef enum { V_NODE, V_VALUE, V_PLACEHOLDER } var_kind_t;

struct var {
    fa_str_t name;
    var_kind_t kind;
    tick_pnode_t *node;     /* V_NODE */
    tick_expr_t *value;     /* V_VALUE */
    tick_type_t type;       /* V_VALUE, V_PLACEHOLDER */
};

typedef struct checker {
    fa_arena_t *a;
    tick_err_t *err;
    jmp_buf jb;
    unsigned flags;
    tick_pipeline_t *p;
    uint32_t cap_nodes, cap_db, cap_rp;
    struct var *vars;
    uint32_t nvars, cap_vars;
    tick_pnode_t *stream, *batch;
} checker_t;

static _Noreturn void failf(checker_t *c, int code, tick_pos_t pos, const char *hint, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static _Noreturn void failf(checker_t *c, int code, tick_pos_t pos, const char *hint, const char *fmt, ...)
{
    va_list ap;

    c->err->code = code;
    c->err->pos = pos;
    snprintf(c->err->hint, sizeof c->err->hint, "%s", hint ? hint : "");
    va_start(ap, fmt);
    vsnprintf(c->err->msg, sizeof c->err->msg, fmt, ap);
    va_end(ap);
    longjmp(c->jb, 1);
}

static void *alloc(checker_t *c, size_t n)
{
    void *m = fa_arena_try_alloc(c->a, n ? n : 1, 16);

    if (m == NULL)
        failf(c, TICK_ELIMIT, (tick_pos_t){ 0, 0, 0 }, NULL,
              "script too large: the checker's memory limit of %zu bytes was reached", c->a->limit);
    memset(m, 0, n);
    return m;
}

static void grow(checker_t *c, void **arr, uint32_t n, uint32_t *cap, size_t elem)
{
    if (n < *cap)
        return;
    uint32_t ncap = *cap ? *cap * 2 : 4;
    void *m = alloc(c, (size_t)ncap * elem);
    if (n)
        memcpy(m, *arr, (size_t)n * elem);
    *arr = m;
    *cap = ncap;
}

/* ---- names ------------------------------------------------------------------------------ */

static const char *edge_str(unsigned e)
{
    return e == TICK_EDGE_STREAM ? "stream" : e == TICK_EDGE_BATCH ? "batch" : "noedge";
}

const char *tick_pnode_name(const tick_pnode_t *n, char *buf, size_t len)
{
    const char *stem = n->spec ? n->spec->desc : n->type;
    snprintf(buf, len, "%s%" PRIu32, stem, n->id);
    return buf;
}

static const char *go_type_of(const tick_pnode_t *n)
{
    return n->spec ? n->spec->go_type : "*pipeline.UDFNode";
}

/* Kapacitor's Go type for a value, as its reflection errors print it. */
static const char *go_value_type(tick_type_t t)
{
    switch (t) {
    case TICK_T_INT: return "int64";
    case TICK_T_FLOAT: return "float64";
    case TICK_T_BOOL: return "bool";
    case TICK_T_STRING: return "string";
    case TICK_T_REGEX: return "*regexp.Regexp";
    case TICK_T_DURATION: return "time.Duration";
    case TICK_T_LAMBDA: return "*ast.LambdaNode";
    case TICK_T_LIST: return "[]interface {}";
    case TICK_T_STAR: return "*ast.StarNode";
    default: return "interface {}";
    }
}

static const char *go_slot_type(char t)
{
    switch (t) {
    case 's': return "string";
    case 'i': return "int64";
    case 'f': return "float64";
    case 'b': return "bool";
    case 'r': return "*regexp.Regexp";
    case 'd': return "time.Duration";
    case 'l': return "*ast.LambdaNode";
    case 'L': return "[]string";
    case 'S': return "*ast.StarNode";
    case 'n': return "pipeline.Node";
    default: return "interface {}";
    }
}

/* ---- vars ------------------------------------------------------------------------------- */

static struct var *lookup(checker_t *c, fa_str_t name)
{
    for (uint32_t i = c->nvars; i-- > 0;)
        if (fa_str_eq(c->vars[i].name, name))
            return &c->vars[i];
    return NULL;
}

static _Noreturn void undefined(checker_t *c, const tick_expr_t *id)
{
    char names[120];
    size_t used = 0;

    names[0] = '\0';
    for (uint32_t i = 0; i < c->nvars && used + 1 < sizeof names; i++)
        used += (size_t)snprintf(names + used, sizeof names - used, "%s%.*s", i ? "," : "",
                                 (int)c->vars[i].name.len, c->vars[i].name.ptr);
    failf(c, TICK_EUNDEF, id->pos, NULL, "name \"%.*s\" is undefined. Names in scope: %s",
          (int)id->v.str.len, id->v.str.ptr, names);
}

static void define(checker_t *c, struct var v)
{
    grow(c, (void **)&c->vars, c->nvars, &c->cap_vars, sizeof v);
    c->vars[c->nvars++] = v;
}

/* ---- value types ------------------------------------------------------------------------ */

static tick_type_t type_of(checker_t *c, tick_expr_t *e);

static tick_type_t binary_type(checker_t *c, tick_expr_t *e)
{
    tick_type_t l = type_of(c, e->v.binary.lhs), r = type_of(c, e->v.binary.rhs);
    tick_op_t op = e->v.binary.op;

    if (op <= TICK_OP_GE)
        return TICK_T_BOOL;
    if (l == TICK_T_DURATION || r == TICK_T_DURATION)
        return (op == TICK_OP_DIV && l == r) ? TICK_T_INT : TICK_T_DURATION;
    if (l != r)
        failf(c, TICK_ETYPE, e->pos, NULL, "invalid %s operation: mismatched types %s and %s",
              tick_op_str(op), tick_type_str(l), tick_type_str(r));
    return l;
}

/* Type of a value outside lambdas (property arguments, var values); NONE = a node or ref. */
static tick_type_t type_of(checker_t *c, tick_expr_t *e)
{
    switch (e->kind) {
    case TICK_EX_INT: return TICK_T_INT;
    case TICK_EX_FLOAT: return TICK_T_FLOAT;
    case TICK_EX_STRING: return TICK_T_STRING;
    case TICK_EX_DURATION: return TICK_T_DURATION;
    case TICK_EX_BOOL: return TICK_T_BOOL;
    case TICK_EX_REGEX: return TICK_T_REGEX;
    case TICK_EX_STAR: return TICK_T_STAR;
    case TICK_EX_LIST: return TICK_T_LIST;
    case TICK_EX_LAMBDA: return TICK_T_LAMBDA;
    case TICK_EX_UNARY: return e->v.unary.op == TICK_OP_NOT ? TICK_T_BOOL : type_of(c, e->v.unary.operand);
    case TICK_EX_BINARY: return binary_type(c, e);
    case TICK_EX_IDENT: {
        struct var *v = lookup(c, e->v.str);
        if (v == NULL)
            undefined(c, e);
        return v->kind == V_NODE ? TICK_T_NONE : v->type;
    }
    case TICK_EX_CALL:
        if (fa_str_eq_c(e->v.call.name, "time") && e->v.call.nargs == 1
            && type_of(c, e->v.call.args[0]) == TICK_T_DURATION)
            return TICK_T_NONE; /* time(d) in a query's groupBy */
        failf(c, TICK_EUNDEF, e->pos, NULL, "no global function \"%.*s\" defined",
              (int)e->v.call.name.len, e->v.call.name.ptr);
    case TICK_EX_REF:
    case TICK_EX_CHAIN:
        return TICK_T_NONE;
    }
    return TICK_T_NONE;
}

/* ---- lambdas: replace var names by their values ----------------------------------------- */

static void resolve_lambda(checker_t *c, tick_expr_t *e, int depth);

static void resolve_ident(checker_t *c, tick_expr_t *e)
{
    struct var *v = lookup(c, e->v.str);

    if (v == NULL)
        undefined(c, e);
    if (v->kind == V_PLACEHOLDER)
        return; /* a template: typed only */
    if (v->kind == V_NODE)
        failf(c, TICK_ETYPE, e->pos, NULL, "cannot use node var \"%.*s\" in a lambda expression",
              (int)e->v.str.len, e->v.str.ptr);
    const tick_expr_t *val = v->value->kind == TICK_EX_LAMBDA ? v->value->v.lambda.body : v->value;
    if (val->kind == TICK_EX_LIST || val->kind == TICK_EX_STAR)
        failf(c, TICK_ETYPE, e->pos, NULL, "cannot use %s var \"%.*s\" in a lambda expression",
              tick_type_str(v->type), (int)e->v.str.len, e->v.str.ptr);
    tick_pos_t pos = e->pos;
    bool parens = e->parens;
    *e = *val;      /* a shallow copy: the value was resolved when it was defined */
    e->pos = pos;
    e->parens = parens || val->kind == TICK_EX_BINARY;
}

static void resolve_lambda(checker_t *c, tick_expr_t *e, int depth)
{
    if (depth > 400)
        failf(c, TICK_ELIMIT, e->pos, NULL, "expression nested too deeply");
    switch (e->kind) {
    case TICK_EX_IDENT: resolve_ident(c, e); break;
    case TICK_EX_UNARY: resolve_lambda(c, e->v.unary.operand, depth + 1); break;
    case TICK_EX_BINARY:
        resolve_lambda(c, e->v.binary.lhs, depth + 1);
        resolve_lambda(c, e->v.binary.rhs, depth + 1);
        break;
    case TICK_EX_CALL:
        for (uint32_t i = 0; i < e->v.call.nargs; i++)
            resolve_lambda(c, e->v.call.args[i], depth + 1);
        break;
    case TICK_EX_LAMBDA: resolve_lambda(c, e->v.lambda.body, depth + 1); break;
    case TICK_EX_LIST:
    case TICK_EX_STAR:
    case TICK_EX_CHAIN:
        failf(c, TICK_ETYPE, e->pos, NULL, "invalid %s in a lambda expression", tick_expr_kind_go_name(e->kind));
    default: break;
    }
}

/* ---- argument signatures ---------------------------------------------------------------- */

/* Does a value of type t (expression e) fit slot letter ch? */
static bool fits(checker_t *c, tick_expr_t *e, tick_type_t t, char ch)
{
    switch (ch) {
    case 's': return t == TICK_T_STRING;
    case 'i': return t == TICK_T_INT;
    case 'f': return t == TICK_T_FLOAT || t == TICK_T_INT;
    case 'b': return t == TICK_T_BOOL;
    case 'r': return t == TICK_T_REGEX;
    case 'd': return t == TICK_T_DURATION;
    case 'l': return t == TICK_T_LAMBDA;
    case 'L': return t == TICK_T_LIST;
    case 'S': return t == TICK_T_STAR;
    case 'n': {
        struct var *v = e->kind == TICK_EX_IDENT ? lookup(c, e->v.str) : NULL;
        return v && v->kind == V_NODE;
    }
    case 'a': return t != TICK_T_NONE && t != TICK_T_LAMBDA;
    case 't': return t == TICK_T_NONE && e->kind == TICK_EX_CALL;
    }
    return false;
}

struct slot { char types[8]; char mod; };

static uint32_t parse_sig(const char *sig, struct slot *slots, uint32_t max)
{
    uint32_t n = 0;

    while (*sig && n < max) {
        while (*sig == ' ')
            sig++;
        if (!*sig)
            break;
        size_t k = 0;
        memset(&slots[n], 0, sizeof slots[n]);
        while (*sig && *sig != ' ' && *sig != '?' && *sig != '*' && k < sizeof slots[n].types - 1)
            slots[n].types[k++] = *sig++;
        if (*sig == '?' || *sig == '*')
            slots[n].mod = *sig++;
        n++;
    }
    return n;
}

static bool fits_slot(checker_t *c, tick_expr_t *e, tick_type_t t, const struct slot *s)
{
    for (const char *ch = s->types; *ch; ch++)
        if (fits(c, e, t, *ch))
            return true;
    return false;
}

/* Checks one argument against its slot; resolves lambdas. */
static void check_arg(checker_t *c, const tick_call_t *call, const char *on, tick_expr_t *arg, const struct slot *s)
{
    struct var *v = arg->kind == TICK_EX_IDENT ? lookup(c, arg->v.str) : NULL;

    if (v && v->kind == V_VALUE) { /* the engine sees the value, not the var name */
        tick_pos_t pos = arg->pos;
        *arg = *v->value;
        arg->pos = pos;
    }
    if (arg->kind == TICK_EX_LAMBDA)
        resolve_lambda(c, arg->v.lambda.body, 0);
    tick_type_t t = type_of(c, arg);
    if (fits_slot(c, arg, t, s))
        return;
    if (arg->kind == TICK_EX_REF && strchr(s->types, 's'))
        failf(c, TICK_ETYPE, call->pos, "did you use double quotes instead of single quotes?",
              "cannot assign *ast.ReferenceNode to type string");
    const char *got = arg->kind == TICK_EX_REF ? "*ast.ReferenceNode"
                    : t == TICK_T_NONE ? "pipeline.Node" : go_value_type(t);
    failf(c, TICK_ETYPE, call->pos, NULL, "error calling func \"%.*s\" on obj %s: reflect: Call using %s as type %s",
          (int)call->name.len, call->name.ptr, on, got, s->types[1] ? "interface {}" : go_slot_type(s->types[0]));
}

static void check_args(checker_t *c, const tick_call_t *call, const char *sig, const char *on)
{
    struct slot slots[8];
    uint32_t ns = parse_sig(sig, slots, 8), nargs = call->nargs, min = 0;
    tick_expr_t **args = call->args;
    bool variadic = ns > 0 && slots[ns - 1].mod == '*';

    /* one list (or a var holding one) standing for the items of a variadic slot */
    if (variadic && nargs == 1 && ns == 1 && !strchr(slots[0].types, 'L')) {
        const tick_expr_t *list = args[0];
        struct var *v = list->kind == TICK_EX_IDENT ? lookup(c, list->v.str) : NULL;
        if (v && v->kind == V_VALUE && v->value->kind == TICK_EX_LIST) {
            tick_pos_t pos = args[0]->pos;
            *args[0] = *v->value; /* the engine sees the list, not the var name */
            args[0]->pos = pos;
        }
        if (v && v->kind == V_PLACEHOLDER && v->type == TICK_T_LIST)
            return; /* a template: the items are checked when the task is made */
        if (list->kind == TICK_EX_LIST) {
            args = list->v.list.items;
            nargs = list->v.list.n;
        }
    }
    for (uint32_t i = 0; i < ns; i++)
        if (slots[i].mod == 0)
            min++;
    if (nargs < min || (!variadic && nargs > ns))
        failf(c, TICK_ETYPE, call->pos, NULL, "error calling func \"%.*s\" on obj %s: reflect: Call with too %s input arguments",
              (int)call->name.len, call->name.ptr, on, nargs < min ? "few" : "many");
    for (uint32_t i = 0; i < nargs; i++)
        check_arg(c, call, on, args[i], &slots[i < ns ? i : ns - 1]);
}

/* ---- pipeline nodes --------------------------------------------------------------------- */

static void link(checker_t *c, tick_pnode_t *parent, tick_pnode_t *child)
{
    grow(c, (void **)&parent->children, parent->nchildren, &parent->_children_cap, sizeof child);
    parent->children[parent->nchildren++] = child;
    tick_pnode_t **np = alloc(c, sizeof *np * (child->nparents + 1));
    if (child->nparents)
        memcpy(np, child->parents, sizeof *np * child->nparents);
    np[child->nparents++] = parent;
    child->parents = np;
}

static tick_pnode_t *new_node(checker_t *c, const tick_node_spec_t *spec, const char *type,
                              const tick_call_t *call, tick_pos_t pos)
{
    tick_pnode_t *n = alloc(c, sizeof *n);

    n->id = c->p->n;
    n->spec = spec;
    n->type = type;
    n->call = call;
    n->pos = pos;
    n->wants = (tick_edge_t)(spec ? spec->wants : TICK_EDGE_ANY);
    n->provides = (tick_edge_t)(spec ? spec->provides : TICK_PROV_SAME);
    grow(c, (void **)&c->p->nodes, c->p->n, &c->cap_nodes, sizeof n);
    c->p->nodes[c->p->n++] = n;
    return n;
}

/* Links child under parent, checking the edge kinds, and fixes what child provides. */
static void attach(checker_t *c, tick_pnode_t *parent, tick_pnode_t *child)
{
    char pn[48], cn[48];

    if (parent->provides == TICK_EDGE_NONE)
        failf(c, TICK_ETYPE, child->pos, NULL, "cannot add child %s to node %s: it does not provide any edges",
              tick_pnode_name(child, cn, sizeof cn), tick_pnode_name(parent, pn, sizeof pn));
    if ((child->wants & parent->provides) == 0)
        failf(c, TICK_ETYPE, child->pos, NULL, "cannot add child mismatched edges: %s:%s -> %s:%s",
              tick_pnode_name(parent, pn, sizeof pn), edge_str(parent->provides),
              tick_pnode_name(child, cn, sizeof cn), edge_str(child->wants));
    if ((unsigned)child->provides == TICK_PROV_SAME)
        child->provides = parent->provides;
    if (child->wants == TICK_EDGE_ANY)
        child->wants = parent->provides;
    link(c, parent, child);
}

static void add_prop(checker_t *c, tick_pnode_t *n, const tick_call_t *call)
{
    grow(c, (void **)&n->props, n->nprops, &n->_props_cap, sizeof call);
    n->props[n->nprops++] = call;
}

static tick_call_t *synth_call(checker_t *c, const tick_call_t *at, const char *name, uint32_t nargs)
{
    tick_call_t *s = alloc(c, sizeof *s);

    s->kind = TICK_CALL_PROP;
    s->name = fa_str_c(name);
    s->pos = at->pos;
    s->op_pos = at->op_pos;
    s->has_parens = true;
    s->nargs = nargs;
    s->args = alloc(c, sizeof *s->args * (nargs ? nargs : 1));
    return s;
}

/* deadman(threshold, interval[, λ]) = stats(interval).align() |derivative('emitted')
 * .unit(interval).nonNegative().as('emitted') |alert().crit(lambda: "emitted" <= threshold [AND λ]) */
static tick_pnode_t *deadman(checker_t *c, tick_pnode_t *parent, const tick_call_t *call)
{
    /* the nodes read their arguments from their own calls: stats(interval), derivative('emitted') */
    tick_call_t *stats_call = synth_call(c, call, "stats", 1);
    stats_call->kind = call->kind;
    stats_call->args[0] = call->args[1];
    tick_call_t *der_call = synth_call(c, call, "derivative", 1);
    der_call->kind = call->kind;
    tick_expr_t *field = alloc(c, sizeof *field);
    field->kind = TICK_EX_STRING;
    field->pos = call->pos;
    field->v.str = FA_STR_LIT("emitted");
    der_call->args[0] = field;
    tick_pnode_t *stats = new_node(c, tick_schema_node(FA_STR_LIT("stats")), "stats", stats_call, call->pos);
    stats->wants = TICK_EDGE_NONE;
    stats->watch = parent;
    tick_call_t *align = synth_call(c, call, "align", 0);
    add_prop(c, stats, align);

    tick_pnode_t *der = new_node(c, tick_schema_node(FA_STR_LIT("derivative")), "derivative", der_call, call->pos);
    attach(c, stats, der);
    tick_call_t *unit = synth_call(c, call, "unit", 1);
    unit->args[0] = call->args[1];
    add_prop(c, der, unit);
    add_prop(c, der, synth_call(c, call, "nonNegative", 0));
    tick_call_t *as = synth_call(c, call, "as", 1); /* Kapacitor: d.As = "emitted" */
    as->args[0] = field;
    add_prop(c, der, as);

    tick_pnode_t *alert = new_node(c, tick_schema_node(FA_STR_LIT("alert")), "alert", call, call->pos);
    attach(c, der, alert);
    tick_call_t *crit = synth_call(c, call, "crit", 1);
    tick_expr_t *lam = alloc(c, sizeof *lam), *cmp = alloc(c, sizeof *cmp), *ref = alloc(c, sizeof *ref);
    ref->kind = TICK_EX_REF;
    ref->pos = call->pos;
    ref->v.str = FA_STR_LIT("emitted");
    cmp->kind = TICK_EX_BINARY;
    cmp->pos = call->pos;
    cmp->v.binary.op = TICK_OP_LE;
    cmp->v.binary.lhs = ref;
    cmp->v.binary.rhs = call->args[0];
    if (call->nargs > 2) {
        tick_expr_t *and = alloc(c, sizeof *and);
        and->kind = TICK_EX_BINARY;
        and->pos = call->pos;
        and->v.binary.op = TICK_OP_AND;
        and->v.binary.lhs = cmp;
        and->v.binary.rhs = call->args[2]->v.lambda.body;
        cmp = and;
    }
    lam->kind = TICK_EX_LAMBDA;
    lam->pos = call->pos;
    lam->v.lambda.body = cmp;
    crit->args[0] = lam;
    add_prop(c, alert, crit);
    return alert;
}

struct cursor {
    tick_pnode_t *node;                  /* node the next property applies to */
    const tick_node_spec_t *handler;     /* alert handler object after .slack() etc., or NULL */
};

static _Noreturn void no_method(checker_t *c, const tick_call_t *s, const char *on)
{
    failf(c, TICK_EUNDEF, s->pos, NULL, "no method or property \"%.*s\" on %s", (int)s->name.len, s->name.ptr, on);
}

static bool chainable(const tick_node_spec_t *spec, const tick_pnode_t *parent)
{
    if (spec == NULL || (spec->flags & TICK_NF_SOURCE))
        return false;
    return !spec->parent_only || strcmp(spec->parent_only, parent->type) == 0;
}

static void step_node(checker_t *c, struct cursor *cur, const tick_call_t *s)
{
    const tick_node_spec_t *spec = tick_schema_node(s->name);
    const char *on = cur->handler ? cur->handler->go_type : go_type_of(cur->node);

    if (!chainable(spec, cur->node)) {
        if (cur->node->spec && tick_schema_prop(cur->node->spec, s->name))
            failf(c, TICK_EUNDEF, s->pos, NULL, "no chaining method \"%.*s\" on %s, but property does exist. "
                  "Use '.' operator instead: 'node.%.*s(..)'.", (int)s->name.len, s->name.ptr, on,
                  (int)s->name.len, s->name.ptr);
        no_method(c, s, on);
    }
    check_args(c, s, spec->sig, on);
    if (strcmp(spec->name, "deadman") == 0) {
        cur->node = deadman(c, cur->node, s);
        cur->handler = NULL;
        return;
    }
    tick_pnode_t *n = new_node(c, spec, spec->name, s, s->pos);
    if (strcmp(spec->name, "stats") == 0) {
        n->wants = TICK_EDGE_NONE;
        n->watch = cur->node;
    } else {
        attach(c, cur->node, n);
    }
    if (spec->flags & TICK_NF_MULTI)
        for (uint32_t i = 0; i < s->nargs; i++)
            attach(c, lookup(c, s->args[i]->v.str)->node, n);
    cur->node = n;
    cur->handler = NULL;
}

static void step_udf(checker_t *c, struct cursor *cur, const tick_call_t *s)
{
    for (uint32_t i = 0; i < s->nargs; i++)
        if (s->args[i]->kind == TICK_EX_LAMBDA)
            resolve_lambda(c, s->args[i]->v.lambda.body, 0);
    char *type = alloc(c, s->name.len + 1);
    memcpy(type, s->name.ptr, s->name.len);
    tick_pnode_t *n = new_node(c, NULL, type, s, s->pos);
    attach(c, cur->node, n);
    cur->node = n;
    cur->handler = NULL;
}

static void step_prop(checker_t *c, struct cursor *cur, const tick_call_t *s)
{
    const char *on = cur->handler ? cur->handler->go_type : go_type_of(cur->node);
    const tick_prop_spec_t *prop = NULL;

    if (!s->has_parens)
        failf(c, TICK_EUNDEF, s->pos, NULL, "object %s has no property %.*s", on, (int)s->name.len, s->name.ptr);
    if (cur->node->spec == NULL) { /* a UDF: its options are defined by the UDF itself */
        for (uint32_t i = 0; i < s->nargs; i++)
            if (s->args[i]->kind == TICK_EX_LAMBDA)
                resolve_lambda(c, s->args[i]->v.lambda.body, 0);
        add_prop(c, cur->node, s);
        return;
    }
    if (cur->handler)
        prop = tick_schema_prop(cur->handler, s->name);
    if (prop == NULL)
        prop = tick_schema_prop(cur->node->spec, s->name);
    if (prop == NULL) {
        if (chainable(tick_schema_node(s->name), cur->node))
            failf(c, TICK_EUNDEF, s->pos, NULL, "no property method \"%.*s\" on %s, but chaining method does exist. "
                  "Use '|' operator instead: 'node|%.*s(..)'.", (int)s->name.len, s->name.ptr, on,
                  (int)s->name.len, s->name.ptr);
        no_method(c, s, on);
    }
    check_args(c, s, prop->sig, on);
    add_prop(c, cur->node, s);
    if (prop->handler)
        cur->handler = prop->handler;
}

static tick_pnode_t *source(checker_t *c, const tick_expr_t *head)
{
    bool is_stream = fa_str_eq_c(head->v.str, "stream");
    tick_pnode_t **slot = is_stream ? &c->stream : &c->batch;

    if (*slot == NULL) {
        *slot = new_node(c, tick_schema_node(head->v.str), is_stream ? "stream" : "batch", NULL, head->pos);
        if (c->p->kind == TICK_EDGE_NONE)
            c->p->kind = is_stream ? TICK_EDGE_STREAM : TICK_EDGE_BATCH;
    }
    return *slot;
}

static tick_pnode_t *check_chain(checker_t *c, tick_expr_t *e)
{
    tick_chain_t *ch = &e->v.chain;
    tick_expr_t *head = ch->head;
    struct cursor cur = { NULL, NULL };

    if (head->kind == TICK_EX_CALL)
        failf(c, TICK_EUNDEF, head->pos, NULL, "no global function \"%.*s\" defined",
              (int)head->v.call.name.len, head->v.call.name.ptr);
    struct var *v = lookup(c, head->v.str);
    if (v == NULL && (fa_str_eq_c(head->v.str, "stream") || fa_str_eq_c(head->v.str, "batch")))
        cur.node = source(c, head);
    else if (v == NULL)
        undefined(c, head);
    else if (v->kind == V_NODE)
        cur.node = v->node;
    else
        failf(c, TICK_EUNDEF, ch->steps[0].pos, NULL, "no method or property \"%.*s\" on %s",
              (int)ch->steps[0].name.len, ch->steps[0].name.ptr, go_value_type(v->type));
    for (uint32_t i = 0; i < ch->nsteps; i++) {
        const tick_call_t *s = &ch->steps[i];
        if (s->kind == TICK_CALL_NODE)
            step_node(c, &cur, s);
        else if (s->kind == TICK_CALL_UDF)
            step_udf(c, &cur, s);
        else
            step_prop(c, &cur, s);
    }
    return cur.node;
}

/* ---- required properties ---------------------------------------------------------------- */

static uint32_t count_args(const tick_call_t *call)
{
    if (call->nargs == 1 && call->args[0]->kind == TICK_EX_LIST)
        return call->args[0]->v.list.n;
    return call->nargs;
}

static void check_required(checker_t *c, const tick_pnode_t *n)
{
    char name[48];
    const tick_node_spec_t *s = n->spec;

    if (s == NULL)
        return;
    for (const char *const *r = s->required; r && *r; r++)
        if (tick_pnode_prop(n, *r) == NULL) {
            if (strcmp(s->name, "eval") == 0)
                failf(c, TICK_EMISSING, n->pos, NULL, "must provide one name per expression via the 'As' property");
            failf(c, TICK_EMISSING, n->pos, NULL, "a call to %s.%s() is required to specify the output stream prefixes.",
                  s->name, *r);
        }
    if (strcmp(s->name, "eval") == 0 && count_args(tick_pnode_prop(n, "as")) != n->call->nargs)
        failf(c, TICK_EMISSING, n->pos, NULL, "must provide one name per expression via the 'As' property");
    if (strcmp(s->name, "join") == 0 && count_args(tick_pnode_prop(n, "as")) != n->nparents)
        failf(c, TICK_EMISSING, tick_pnode_prop(n, "as")->pos, NULL,
              "number of prefixes specified by 'as' must match the number of joined streams: %" PRIu32 " prefixes, %" PRIu32 " streams",
              count_args(tick_pnode_prop(n, "as")), n->nparents);
    if (strcmp(s->name, "window") == 0 && !tick_pnode_prop(n, "period") && !tick_pnode_prop(n, "periodCount"))
        failf(c, TICK_EMISSING, n->pos, NULL, "%s: window node must have either a period or a periodCount",
              tick_pnode_name(n, name, sizeof name));
    if (strcmp(s->name, "window") == 0 && !tick_pnode_prop(n, "every") && !tick_pnode_prop(n, "everyCount"))
        failf(c, TICK_EMISSING, n->pos, NULL, "%s: window node must have either an every or an everyCount",
              tick_pnode_name(n, name, sizeof name));
    if ((strcmp(s->name, "query") == 0 || strcmp(s->name, "queryFlux") == 0)
        && !tick_pnode_prop(n, "every") && !tick_pnode_prop(n, "cron"))
        failf(c, TICK_EMISSING, n->pos, NULL, "%s: must define one of 'every' or 'cron'",
              tick_pnode_name(n, name, sizeof name));
}

const tick_call_t *tick_pnode_prop(const tick_pnode_t *n, const char *name)
{
    for (uint32_t i = n->nprops; i-- > 0;)
        if (fa_str_eq_c(n->props[i]->name, name))
            return n->props[i];
    return NULL;
}

/* ---- statements ------------------------------------------------------------------------- */

static void check_var(checker_t *c, tick_stmt_t *s)
{
    struct var v = { .name = s->name, .kind = V_VALUE };
    tick_expr_t *e = s->value;

    if (e->kind == TICK_EX_CHAIN) {
        v.kind = V_NODE;
        v.node = check_chain(c, e);
    } else if (e->kind == TICK_EX_IDENT && !lookup(c, e->v.str)
               && (fa_str_eq_c(e->v.str, "stream") || fa_str_eq_c(e->v.str, "batch"))) {
        v.kind = V_NODE;
        v.node = source(c, e);
    } else if (e->kind == TICK_EX_IDENT && lookup(c, e->v.str) && lookup(c, e->v.str)->kind != V_VALUE) {
        v = *lookup(c, e->v.str);
        v.name = s->name;
    } else {
        if (e->kind == TICK_EX_LAMBDA)
            resolve_lambda(c, e->v.lambda.body, 0);
        else if (e->kind == TICK_EX_IDENT || e->kind == TICK_EX_UNARY || e->kind == TICK_EX_BINARY)
            resolve_lambda(c, e, 0);
        v.type = type_of(c, e);
        v.value = e;
        if (e->kind == TICK_EX_LIST)
            for (uint32_t i = 0; i < e->v.list.n; i++)
                if (e->v.list.items[i]->kind == TICK_EX_IDENT)
                    (void)type_of(c, e->v.list.items[i]);
    }
    define(c, v);
}

static void check_stmt(checker_t *c, tick_stmt_t *s)
{
    switch (s->kind) {
    case TICK_ST_VAR: check_var(c, s); break;
    case TICK_ST_VAR_TYPE:
        if (!(c->flags & TICK_CHECK_TEMPLATE))
            failf(c, TICK_EVAR, s->name_pos, NULL, "missing value for var \"%.*s\".", (int)s->name.len, s->name.ptr);
        define(c, (struct var){ .name = s->name, .kind = V_PLACEHOLDER, .type = s->type });
        break;
    case TICK_ST_DBRP:
        grow(c, (void **)&c->p->dbrp_db, c->p->ndbrp, &c->cap_db, sizeof(fa_str_t));
        grow(c, (void **)&c->p->dbrp_rp, c->p->ndbrp, &c->cap_rp, sizeof(fa_str_t));
        c->p->dbrp_db[c->p->ndbrp] = s->db;
        c->p->dbrp_rp[c->p->ndbrp++] = s->rp;
        break;
    case TICK_ST_EXPR:
        if (s->value->kind == TICK_EX_CHAIN)
            (void)check_chain(c, s->value);
        else if (s->value->kind == TICK_EX_LAMBDA)
            resolve_lambda(c, s->value->v.lambda.body, 0);
        else
            (void)type_of(c, s->value);
        break;
    }
}

static tick_pipeline_t *run(checker_t *c, tick_ast_t *ast)
{
    c->p = alloc(c, sizeof *c->p);
    c->p->ast = ast;
    for (uint32_t i = 0; i < ast->n; i++)
        check_stmt(c, &ast->stmts[i]);
    for (uint32_t i = 0; i < c->p->n; i++)
        check_required(c, c->p->nodes[i]);
    return c->p;
}

int tick_check(tick_ast_t *ast, unsigned flags, fa_arena_t *a, tick_pipeline_t **out, tick_err_t *err)
{
    checker_t c;

    memset(&c, 0, sizeof c);
    memset(err, 0, sizeof *err);
    c.a = a;
    c.err = err;
    c.flags = flags;
    *out = NULL;
    if (setjmp(c.jb) != 0)
        return -1;
    *out = run(&c, ast);
    return 0;
}
