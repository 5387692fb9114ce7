/* tick/format.c - canonical TICKscript text (Kapacitor's script-format=formatted):
 * one blank line between statements, a chain's head on its own line, `|node()` and `@udf()`
 * indented 4 spaces, their `.property()` calls 8, comments kept before what they precede,
 * literals in canonical spelling. Formatting the output again gives the same text. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/err.h"
#include "tick/tick.h"

typedef struct fmt {
    fa_buf_t *b;
    int rc;
} fmt_t;

static void put(fmt_t *f, const char *s, size_t n)
{
    if (f->rc == 0)
        f->rc = fa_buf_append(f->b, s, n);
}
static void puts_(fmt_t *f, const char *s) { put(f, s, strlen(s)); }
static void put_str(fmt_t *f, fa_str_t s) { put(f, s.ptr, s.len); }
static void indent(fmt_t *f, int n)
{
    for (int i = 0; i < n; i++)
        put(f, " ", 1);
}

static void put_escaped(fmt_t *f, fa_str_t s, char q)
{
    put(f, &q, 1);
    for (size_t i = 0; i < s.len; i++) {
        if (s.ptr[i] == q)
            put(f, "\\", 1);
        put(f, s.ptr + i, 1);
    }
    put(f, &q, 1);
}

static void put_comment(fmt_t *f, const tick_comment_t *c, int ind)
{
    for (uint32_t i = 0; c && i < c->n; i++) {
        fa_str_t l = c->lines[i];
        while (l.len && (l.ptr[l.len - 1] == ' ' || l.ptr[l.len - 1] == '\t' || l.ptr[l.len - 1] == '\r'))
            l.len--;
        indent(f, ind);
        puts_(f, "//");
        put_str(f, l);
        puts_(f, "\n");
    }
}

/* Shortest fixed-point spelling that reads back as the same double, always with a '.'. */
static void put_float(fmt_t *f, double v)
{
    char tmp[400];

    for (int p = 1; p < 330; p++) {
        snprintf(tmp, sizeof tmp, "%.*f", p, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    puts_(f, tmp);
}

static void put_expr(fmt_t *f, const tick_expr_t *e, int ind);

static void put_args(fmt_t *f, tick_expr_t *const *args, uint32_t n, int ind)
{
    for (uint32_t i = 0; i < n; i++) {
        if (i)
            puts_(f, ", ");
        put_expr(f, args[i], ind);
    }
}

static void put_chain(fmt_t *f, const tick_chain_t *c, int ind)
{
    static const char ops[] = { '|', '.', '@' };

    put_expr(f, c->head, ind);
    for (uint32_t i = 0; i < c->nsteps; i++) {
        const tick_call_t *s = &c->steps[i];
        int step_ind = ind + (s->kind == TICK_CALL_PROP ? 8 : 4);
        puts_(f, "\n");
        put_comment(f, s->comment, step_ind);
        indent(f, step_ind);
        put(f, &ops[s->kind], 1);
        put_str(f, s->name);
        if (s->has_parens) {
            puts_(f, "(");
            put_args(f, s->args, s->nargs, step_ind);
            puts_(f, ")");
        }
    }
}

static void put_expr(fmt_t *f, const tick_expr_t *e, int ind)
{
    char tmp[32];

    if (e->parens && e->kind == TICK_EX_BINARY)
        puts_(f, "(");
    switch (e->kind) {
    case TICK_EX_INT:
        snprintf(tmp, sizeof tmp, "%" PRId64, e->v.i);
        puts_(f, tmp);
        break;
    case TICK_EX_FLOAT: put_float(f, e->v.f); break;
    case TICK_EX_STRING:
        if (e->triple) {
            puts_(f, "'''");
            put_str(f, e->v.str);
            puts_(f, "'''");
        } else {
            put_escaped(f, e->v.str, '\'');
        }
        break;
    case TICK_EX_DURATION: put_str(f, e->raw); break;
    case TICK_EX_BOOL: puts_(f, e->v.b ? "TRUE" : "FALSE"); break;
    case TICK_EX_REGEX: put_escaped(f, e->v.str, '/'); break;
    case TICK_EX_REF: put_escaped(f, e->v.str, '"'); break;
    case TICK_EX_IDENT: put_str(f, e->v.str); break;
    case TICK_EX_STAR: puts_(f, "*"); break;
    case TICK_EX_UNARY:
        puts_(f, tick_op_str(e->v.unary.op));
        put_expr(f, e->v.unary.operand, ind);
        break;
    case TICK_EX_BINARY:
        put_expr(f, e->v.binary.lhs, ind);
        puts_(f, " ");
        puts_(f, tick_op_str(e->v.binary.op));
        if (e->multiline) {
            puts_(f, "\n");
            indent(f, ind + 4);
        } else {
            puts_(f, " ");
        }
        put_expr(f, e->v.binary.rhs, ind);
        break;
    case TICK_EX_CALL:
        put_str(f, e->v.call.name);
        puts_(f, "(");
        put_args(f, e->v.call.args, e->v.call.nargs, ind);
        puts_(f, ")");
        break;
    case TICK_EX_LIST:
        puts_(f, "[");
        put_args(f, e->v.list.items, e->v.list.n, ind);
        puts_(f, "]");
        break;
    case TICK_EX_LAMBDA:
        puts_(f, "lambda: ");
        put_expr(f, e->v.lambda.body, ind);
        break;
    case TICK_EX_CHAIN: put_chain(f, &e->v.chain, ind); break;
    }
    if (e->parens && e->kind == TICK_EX_BINARY)
        puts_(f, ")");
}

static void put_stmt(fmt_t *f, const tick_stmt_t *s)
{
    put_comment(f, s->comment, 0);
    switch (s->kind) {
    case TICK_ST_VAR:
        puts_(f, "var ");
        put_str(f, s->name);
        puts_(f, " = ");
        put_expr(f, s->value, 0);
        break;
    case TICK_ST_VAR_TYPE:
        puts_(f, "var ");
        put_str(f, s->name);
        puts_(f, " ");
        puts_(f, tick_type_str(s->type));
        break;
    case TICK_ST_DBRP:
        puts_(f, "dbrp ");
        put_escaped(f, s->db, '"');
        puts_(f, ".");
        put_escaped(f, s->rp, '"');
        break;
    case TICK_ST_EXPR: put_expr(f, s->value, 0); break;
    }
    puts_(f, "\n");
}

int tick_format(const tick_ast_t *ast, fa_buf_t *out)
{
    fmt_t f = { out, 0 };

    for (uint32_t i = 0; i < ast->n; i++) {
        if (i)
            puts_(&f, "\n");
        put_stmt(&f, &ast->stmts[i]);
    }
    if (ast->trailing) {
        if (ast->n)
            puts_(&f, "\n");
        put_comment(&f, ast->trailing, 0);
    }
    return f.rc;
}
