/* engine/props.c - property accessors over tick_pnode_t. */
#include "engine/props.h"

#include <string.h>

const tick_expr_t *eng_prop_arg(const eng_node_t *n, const char *name, uint32_t i)
{
    const tick_call_t *c = eng_node_prop(n, name);
    return c != NULL && i < c->nargs ? c->args[i] : NULL;
}

bool eng_prop_set(const eng_node_t *n, const char *name) { return eng_node_prop(n, name) != NULL; }

fa_str_t eng_expr_str(const tick_expr_t *e)
{
    if (e == NULL)
        return FA_STR_NULL;
    switch (e->kind) {
    case TICK_EX_STRING:
    case TICK_EX_REF:
    case TICK_EX_REGEX:
    case TICK_EX_IDENT: return e->v.str;
    case TICK_EX_STAR: return FA_STR_LIT("*");
    default: return e->raw;
    }
}

int64_t eng_expr_int(const tick_expr_t *e)
{
    if (e == NULL)
        return 0;
    switch (e->kind) {
    case TICK_EX_INT: return e->v.i;
    case TICK_EX_FLOAT: return (int64_t)e->v.f;
    case TICK_EX_DURATION: return e->v.dur_ns;
    case TICK_EX_BOOL: return e->v.b;
    default: return 0;
    }
}

double eng_expr_float(const tick_expr_t *e)
{
    if (e == NULL)
        return 0;
    return e->kind == TICK_EX_FLOAT ? e->v.f : (double)eng_expr_int(e);
}

fa_str_t eng_prop_str(const eng_node_t *n, const char *name, fa_str_t def)
{
    const tick_expr_t *e = eng_prop_arg(n, name, 0);
    return e != NULL ? eng_expr_str(e) : def;
}

int64_t eng_prop_dur(const eng_node_t *n, const char *name, int64_t def)
{
    const tick_expr_t *e = eng_prop_arg(n, name, 0);
    return e != NULL ? eng_expr_int(e) : def;
}

int64_t eng_prop_int(const eng_node_t *n, const char *name, int64_t def)
{
    const tick_expr_t *e = eng_prop_arg(n, name, 0);
    return e != NULL ? eng_expr_int(e) : def;
}

double eng_prop_float(const eng_node_t *n, const char *name, double def)
{
    const tick_expr_t *e = eng_prop_arg(n, name, 0);
    return e != NULL ? eng_expr_float(e) : def;
}

static uint32_t collect(eng_task_t *t, tick_expr_t *const *args, uint32_t nargs, fa_str_t **out)
{
    uint32_t total = 0;
    for (uint32_t i = 0; i < nargs; i++)
        total += args[i]->kind == TICK_EX_LIST ? args[i]->v.list.n : 1;
    fa_str_t *v = FA_NEW(&t->arena, fa_str_t, total ? total : 1);
    uint32_t k = 0;
    for (uint32_t i = 0; i < nargs; i++) {
        if (args[i]->kind == TICK_EX_LIST)
            for (uint32_t j = 0; j < args[i]->v.list.n; j++)
                v[k++] = eng_expr_str(args[i]->v.list.items[j]);
        else
            v[k++] = eng_expr_str(args[i]);
    }
    *out = v;
    return k;
}

uint32_t eng_prop_strs(const eng_node_t *n, const char *name, fa_str_t **out)
{
    const tick_call_t *c = eng_node_prop(n, name);
    if (c == NULL) {
        *out = NULL;
        return 0;
    }
    return collect(n->task, c->args, c->nargs, out);
}

uint32_t eng_call_strs(const eng_node_t *n, fa_str_t **out)
{
    const tick_call_t *c = n->spec->call;
    if (c == NULL) {
        *out = NULL;
        return 0;
    }
    return collect(n->task, c->args, c->nargs, out);
}
