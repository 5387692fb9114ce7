/* tick/template.c - template tasks: give placeholders (`var x type`) their values, override
 * declared vars, with Kapacitor's errors for missing and mistyped vars. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tick/tick.h"

static int fail(tick_err_t *err, tick_pos_t pos, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(tick_err_t *err, tick_pos_t pos, const char *fmt, ...)
{
    va_list ap;

    memset(err, 0, sizeof *err);
    err->code = TICK_EVAR;
    err->pos = pos;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return -1;
}

static tick_type_t literal_type(const tick_expr_t *e)
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
    default: return TICK_T_NONE;
    }
}

/* Builds the value expression of var v; -1 with *err on a malformed value. */
static int make_value(const tick_var_t *v, tick_pos_t pos, fa_arena_t *a, tick_expr_t **out, tick_err_t *err)
{
    const char *text = v->value ? v->value : "";
    size_t n = strlen(text);
    tick_expr_t *e = FA_NEW(a, tick_expr_t, 1);
    char *end;

    memset(e, 0, sizeof *e);
    e->pos = pos;
    errno = 0;
    switch (v->type) {
    case TICK_T_INT:
        e->kind = TICK_EX_INT;
        e->v.i = strtoll(text, &end, 10);
        if (n == 0 || *end || errno)
            return fail(err, pos, "invalid int value %s for var %s", text, v->name);
        break;
    case TICK_T_FLOAT:
        e->kind = TICK_EX_FLOAT;
        e->v.f = strtod(text, &end);
        if (n == 0 || *end || errno)
            return fail(err, pos, "invalid float value %s for var %s", text, v->name);
        break;
    case TICK_T_BOOL:
        e->kind = TICK_EX_BOOL;
        if (strcasecmp(text, "true") != 0 && strcasecmp(text, "false") != 0)
            return fail(err, pos, "invalid bool value %s for var %s", text, v->name);
        e->v.b = strcasecmp(text, "true") == 0;
        break;
    case TICK_T_STRING:
        e->kind = TICK_EX_STRING;
        e->v.str = fa_str(fa_arena_strndup(a, text, n), n);
        e->triple = memchr(text, '\n', n) != NULL && strstr(text, "'''") == NULL;
        break;
    case TICK_T_REGEX:
        e->kind = TICK_EX_REGEX;
        e->v.str = fa_str(fa_arena_strndup(a, text, n), n);
        break;
    case TICK_T_STAR: e->kind = TICK_EX_STAR; break;
    case TICK_T_DURATION:
    case TICK_T_LAMBDA:
    case TICK_T_LIST: {
        const char *src = fa_arena_strndup(a, text, n);
        tick_ast_t *ast;
        tick_expr_t *body = NULL;
        if (v->type == TICK_T_LIST) {
            if (tick_parse(src, n, a, &ast, err) != 0)
                return -1;
            if (ast->n == 1 && ast->stmts[0].kind == TICK_ST_EXPR)
                body = ast->stmts[0].value;
        } else if (tick_parse_lambda(src, n, a, &body, err) != 0) {
            return -1;
        }
        if (v->type == TICK_T_LAMBDA) {
            e->kind = TICK_EX_LAMBDA;
            e->v.lambda.body = body;
            break;
        }
        if (body == NULL || literal_type(body) != v->type)
            return fail(err, pos, "invalid %s value %s for var %s", tick_type_str(v->type), text, v->name);
        *out = body;
        return 0;
    }
    default: return fail(err, pos, "invalid type for var %s", v->name);
    }
    *out = e;
    return 0;
}

static const tick_var_t *find_var(const tick_var_t *vars, size_t n, fa_str_t name)
{
    for (size_t i = 0; i < n; i++)
        if (fa_str_eq_c(name, vars[i].name))
            return &vars[i];
    return NULL;
}

static bool declared(const tick_ast_t *t, const char *name)
{
    for (uint32_t i = 0; i < t->n; i++)
        if ((t->stmts[i].kind == TICK_ST_VAR || t->stmts[i].kind == TICK_ST_VAR_TYPE)
            && fa_str_eq_c(t->stmts[i].name, name))
            return true;
    return false;
}

int tick_template_apply(const tick_ast_t *tmpl, const tick_var_t *vars, size_t nvars,
                        fa_arena_t *a, tick_ast_t **out, tick_err_t *err)
{
    tick_ast_t *ast = FA_NEW(a, tick_ast_t, 1);

    *out = NULL;
    memset(err, 0, sizeof *err);
    for (size_t i = 0; i < nvars; i++)
        if (!declared(tmpl, vars[i].name))
            return fail(err, (tick_pos_t){ 0, 0, 0 }, "var \"%s\" is not declared in the template", vars[i].name);
    *ast = *tmpl;
    ast->stmts = FA_NEW(a, tick_stmt_t, tmpl->n ? tmpl->n : 1);
    for (uint32_t i = 0; i < tmpl->n; i++) {
        tick_stmt_t *s = &ast->stmts[i];
        *s = tmpl->stmts[i];
        if (s->kind != TICK_ST_VAR && s->kind != TICK_ST_VAR_TYPE)
            continue;
        const tick_var_t *v = find_var(vars, nvars, s->name);
        if (v == NULL && s->kind == TICK_ST_VAR_TYPE)
            return fail(err, (tick_pos_t){ 0, 0, 0 }, "missing value for var \"%.*s\".", (int)s->name.len, s->name.ptr);
        if (v == NULL)
            continue;
        tick_type_t exp = s->kind == TICK_ST_VAR_TYPE ? s->type : literal_type(s->value);
        if (exp != TICK_T_NONE && v->type != exp)
            return fail(err, (tick_pos_t){ 0, 0, 0 }, "invalid type supplied for %s, got %s exp %s", v->name,
                        tick_type_str(v->type), tick_type_str(exp));
        if (make_value(v, s->name_pos, a, &s->value, err) != 0)
            return -1;
        s->kind = TICK_ST_VAR;
    }
    *out = ast;
    return 0;
}
