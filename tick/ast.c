/* tick/ast.c - operator and type names, the S-expression dump, error rendering. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/err.h"
#include "tick/tick.h"

static const char *const op_names[TICK_OP_COUNT_] = {
    "OR", "AND", "==", "!=", "=~", "!~", "<", "<=", ">", ">=", "+", "-", "*", "/", "%", "!", "-",
};
static const signed char op_prec[TICK_OP_COUNT_] = { 0, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 5, 5, 5, -1, -1 };

const char *tick_op_str(tick_op_t op) { return (unsigned)op < TICK_OP_COUNT_ ? op_names[op] : "?"; }
int tick_op_precedence(tick_op_t op) { return (unsigned)op < TICK_OP_COUNT_ ? op_prec[op] : -1; }

const char *tick_type_str(tick_type_t t)
{
    static const char *const names[] = { "", "int", "float", "bool", "string", "regex",
                                         "duration", "lambda", "list", "star" };
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "?";
}

const char *tick_expr_kind_go_name(tick_expr_kind_t k)
{
    switch (k) {
    case TICK_EX_INT:
    case TICK_EX_FLOAT: return "*ast.NumberNode";
    case TICK_EX_STRING: return "*ast.StringNode";
    case TICK_EX_DURATION: return "*ast.DurationNode";
    case TICK_EX_BOOL: return "*ast.BoolNode";
    case TICK_EX_REGEX: return "*ast.RegexNode";
    case TICK_EX_REF: return "*ast.ReferenceNode";
    case TICK_EX_IDENT: return "*ast.IdentifierNode";
    case TICK_EX_UNARY: return "*ast.UnaryNode";
    case TICK_EX_BINARY: return "*ast.BinaryNode";
    case TICK_EX_CALL: return "*ast.FunctionNode";
    case TICK_EX_STAR: return "*ast.StarNode";
    case TICK_EX_LIST: return "*ast.ListNode";
    case TICK_EX_LAMBDA: return "*ast.LambdaNode";
    case TICK_EX_CHAIN: return "*ast.ChainNode";
    }
    return "?";
}

const char *tick_err_kapacitor(const tick_err_t *err, char *buf, size_t n)
{
    if (err->code == TICK_ESYNTAX && strncmp(err->msg, "unexpected ", 11) == 0)
        snprintf(buf, n, "parser: %s", err->msg);
    else if (err->pos.line > 0 && err->code != TICK_ESYNTAX && err->code != TICK_EVAR)
        snprintf(buf, n, "line %" PRIu32 " char %" PRIu32 ": %s%s%s", err->pos.line, err->pos.col, err->msg,
                 err->hint[0] ? ", " : "", err->hint);
    else if (err->code == TICK_ESYNTAX)
        snprintf(buf, n, "parser: %s", err->msg);
    else
        snprintf(buf, n, "%s", err->msg);
    return buf;
}

const char *tick_err_short(const tick_err_t *err, char *buf, size_t n)
{
    snprintf(buf, n, "%" PRIu32 ":%" PRIu32 ": %s%s%s%s", err->pos.line, err->pos.col, err->msg,
             err->hint[0] ? " (" : "", err->hint, err->hint[0] ? ")" : "");
    return buf;
}

/* ---- dump ------------------------------------------------------------------------------ */

static int dump_quoted(fa_buf_t *b, fa_str_t s, char q)
{
    int rc = fa_buf_append(b, &q, 1);
    for (size_t i = 0; rc == 0 && i < s.len; i++) {
        if (s.ptr[i] == q || s.ptr[i] == '\\')
            rc = fa_buf_append(b, "\\", 1);
        if (rc == 0)
            rc = fa_buf_append(b, s.ptr + i, 1);
    }
    return rc ? rc : fa_buf_append(b, &q, 1);
}

static int dump_args(fa_buf_t *b, tick_expr_t *const *args, uint32_t n)
{
    int rc = 0;
    for (uint32_t i = 0; rc == 0 && i < n; i++) {
        rc = fa_buf_append_c(b, " ");
        if (rc == 0)
            rc = tick_expr_dump(args[i], b);
    }
    return rc;
}

static int dump_chain(const tick_chain_t *c, fa_buf_t *b)
{
    static const char ops[] = { '|', '.', '@' };
    int rc = fa_buf_append_c(b, "(chain ");

    if (rc == 0)
        rc = tick_expr_dump(c->head, b);
    for (uint32_t i = 0; rc == 0 && i < c->nsteps; i++) {
        const tick_call_t *s = &c->steps[i];
        rc = fa_buf_appendf(b, " %c%.*s", ops[s->kind], (int)s->name.len, s->name.ptr);
        if (rc == 0 && s->has_parens) {
            rc = fa_buf_append_c(b, "(");
            for (uint32_t j = 0; rc == 0 && j < s->nargs; j++) {
                if (j)
                    rc = fa_buf_append_c(b, " ");
                if (rc == 0)
                    rc = tick_expr_dump(s->args[j], b);
            }
            if (rc == 0)
                rc = fa_buf_append_c(b, ")");
        }
    }
    return rc ? rc : fa_buf_append_c(b, ")");
}

int tick_expr_dump(const tick_expr_t *e, fa_buf_t *b)
{
    int rc;

    switch (e->kind) {
    case TICK_EX_INT: return fa_buf_appendf(b, "%" PRId64, e->v.i);
    case TICK_EX_FLOAT: {
        char tmp[400];
        for (int p = 1; p < 330; p++) { /* shortest fixed spelling that reads back the same */
            snprintf(tmp, sizeof tmp, "%.*f", p, e->v.f);
            if (strtod(tmp, NULL) == e->v.f)
                break;
        }
        return fa_buf_append_c(b, tmp);
    }
    case TICK_EX_STRING: return dump_quoted(b, e->v.str, '\'');
    case TICK_EX_DURATION: return fa_buf_appendf(b, "(dur %" PRId64 ")", e->v.dur_ns);
    case TICK_EX_BOOL: return fa_buf_append_c(b, e->v.b ? "TRUE" : "FALSE");
    case TICK_EX_REGEX: return dump_quoted(b, e->v.str, '/');
    case TICK_EX_REF: return dump_quoted(b, e->v.str, '"');
    case TICK_EX_IDENT: return fa_buf_append_str(b, e->v.str);
    case TICK_EX_STAR: return fa_buf_append_c(b, "*");
    case TICK_EX_UNARY:
        rc = fa_buf_appendf(b, "(%s ", tick_op_str(e->v.unary.op));
        if (rc == 0)
            rc = tick_expr_dump(e->v.unary.operand, b);
        return rc ? rc : fa_buf_append_c(b, ")");
    case TICK_EX_BINARY:
        rc = fa_buf_appendf(b, "(%s ", tick_op_str(e->v.binary.op));
        if (rc == 0)
            rc = tick_expr_dump(e->v.binary.lhs, b);
        if (rc == 0)
            rc = fa_buf_append_c(b, " ");
        if (rc == 0)
            rc = tick_expr_dump(e->v.binary.rhs, b);
        return rc ? rc : fa_buf_append_c(b, ")");
    case TICK_EX_CALL:
        rc = fa_buf_appendf(b, "(call %.*s", (int)e->v.call.name.len, e->v.call.name.ptr);
        if (rc == 0)
            rc = dump_args(b, e->v.call.args, e->v.call.nargs);
        return rc ? rc : fa_buf_append_c(b, ")");
    case TICK_EX_LIST:
        rc = fa_buf_append_c(b, "(list");
        if (rc == 0)
            rc = dump_args(b, e->v.list.items, e->v.list.n);
        return rc ? rc : fa_buf_append_c(b, ")");
    case TICK_EX_LAMBDA:
        rc = fa_buf_append_c(b, "(lambda ");
        if (rc == 0)
            rc = tick_expr_dump(e->v.lambda.body, b);
        return rc ? rc : fa_buf_append_c(b, ")");
    case TICK_EX_CHAIN: return dump_chain(&e->v.chain, b);
    }
    return FA_EINVAL;
}

int tick_ast_dump(const tick_ast_t *ast, fa_buf_t *b)
{
    int rc = 0;

    for (uint32_t i = 0; rc == 0 && i < ast->n; i++) {
        const tick_stmt_t *s = &ast->stmts[i];
        switch (s->kind) {
        case TICK_ST_VAR:
            rc = fa_buf_appendf(b, "(var %.*s ", (int)s->name.len, s->name.ptr);
            if (rc == 0)
                rc = tick_expr_dump(s->value, b);
            if (rc == 0)
                rc = fa_buf_append_c(b, ")");
            break;
        case TICK_ST_VAR_TYPE:
            rc = fa_buf_appendf(b, "(var %.*s %s)", (int)s->name.len, s->name.ptr, tick_type_str(s->type));
            break;
        case TICK_ST_DBRP:
            rc = fa_buf_append_c(b, "(dbrp ");
            if (rc == 0)
                rc = dump_quoted(b, s->db, '"');
            if (rc == 0)
                rc = fa_buf_append_c(b, " ");
            if (rc == 0)
                rc = dump_quoted(b, s->rp, '"');
            if (rc == 0)
                rc = fa_buf_append_c(b, ")");
            break;
        case TICK_ST_EXPR:
            rc = tick_expr_dump(s->value, b);
            break;
        }
        if (rc == 0)
            rc = fa_buf_append_c(b, "\n");
    }
    return rc;
}
