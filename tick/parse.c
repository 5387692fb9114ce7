/* tick/parse.c - recursive-descent TICKscript parser.
 *
 * Grammar (Kapacitor's):
 *   program    -> { statement } EOF
 *   statement  -> 'var' IDENT ( '=' expression | IDENT ) | 'dbrp' REF '.' REF | expression
 *   expression -> IDENT '(' args ')' chain-or-ops | IDENT chain | 'lambda:' primaryExpr
 *               | list | primaryExpr
 *   chain      -> { ('|' | '.' | '@') IDENT [ '(' args ')' ] }     ('|' always needs parens)
 *   primaryExpr-> primary { binop primary }      (precedence climbing, left-associative)
 *   primary    -> '(' primaryExpr ')' | literal | REF | IDENT [ '(' lambda-args ')' ]
 *               | ('-' | '!') primary
 *   list       -> '[' [ item { ',' item } ] ']'       item -> IDENT | STRING | '*'
 *
 * Errors unwind with longjmp to tick_parse(): everything allocated lives in the arena, so
 * there is nothing to release on the way out (Lua's parser does the same).
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include "base/duration.h"
#include "tick/lex.h"
#include "tick/tick.h"

#define MAX_DEPTH 200

typedef struct parser {
    tick_lexer_t lex;
    tick_tok_t tok;              /* current token (never a comment) */
    const char *src;
    size_t len;
    fa_arena_t *a;
    tick_err_t *err;
    jmp_buf jb;
    fa_str_t *pending;           /* comment lines read but not yet attached */
    uint32_t npending, cap_pending;
    int depth;
} parser_t;

static tick_expr_t *parse_expression(parser_t *p);
static tick_expr_t *parse_primary_expr(parser_t *p);
static tick_expr_t *parse_primary(parser_t *p);

/* ---- errors and memory ---------------------------------------------------------------- */

static tick_pos_t pos_of(const parser_t *p, uint32_t off)
{
    tick_pos_t pos = { 0, 0, off };

    tick_lex_linecol(p->src, off, &pos.line, &pos.col);
    return pos;
}

static _Noreturn void failf(parser_t *p, int code, tick_pos_t pos, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static _Noreturn void failf(parser_t *p, int code, tick_pos_t pos, const char *fmt, ...)
{
    va_list ap;

    p->err->code = code;
    p->err->pos = pos;
    p->err->hint[0] = '\0';
    va_start(ap, fmt);
    vsnprintf(p->err->msg, sizeof p->err->msg, fmt, ap);
    va_end(ap);
    longjmp(p->jb, 1);
}

static void *alloc(parser_t *p, size_t n, size_t align)
{
    void *m = fa_arena_try_alloc(p->a, n ? n : 1, align);

    if (m == NULL)
        failf(p, TICK_ELIMIT, pos_of(p, p->tok.off),
              "script too large: the parser's memory limit of %zu bytes was reached", p->a->limit);
    memset(m, 0, n);
    return m;
}
#define NEW(p, T) ((T *)alloc((p), sizeof(T), _Alignof(T)))

/* Appends one element to an arena array that doubles as it grows. */
static void grow(parser_t *p, void **arr, uint32_t n, uint32_t *cap, size_t elem, size_t align)
{
    if (n < *cap)
        return;
    uint32_t ncap = *cap ? *cap * 2 : 4;
    void *m = alloc(p, (size_t)ncap * elem, align);
    if (n)
        memcpy(m, *arr, (size_t)n * elem);
    *arr = m;
    *cap = ncap;
}

static void push_expr(parser_t *p, tick_expr_t ***arr, uint32_t *n, uint32_t *cap, tick_expr_t *e)
{
    grow(p, (void **)arr, *n, cap, sizeof **arr, _Alignof(tick_expr_t *));
    (*arr)[(*n)++] = e;
}

/* Snippet of the line around off, 10 bytes either side (Kapacitor's "in \"...\""). */
static void snippet(const parser_t *p, uint32_t off, char *buf, size_t n)
{
    size_t start = off > 10 ? off - 10 : 0, stop = off + 10 < p->len ? off + 10 : p->len;

    for (size_t i = off; i > start; i--)
        if (p->src[i - 1] == '\n') {
            start = i;
            break;
        }
    for (size_t i = off; i < stop; i++)
        if (p->src[i] == '\n') {
            stop = i;
            break;
        }
    snprintf(buf, n, "%.*s", (int)(stop - start), p->src + start);
}

/* "unexpected X line N char M in \"snippet\". expected: \"a\",\"b\"" */
static _Noreturn void unexpected(parser_t *p, const tick_tok_kind_t *exp, size_t nexp)
{
    char snip[32], list[160];
    size_t used = 0;
    tick_pos_t pos = pos_of(p, p->tok.off);

    list[0] = '\0';
    for (size_t i = 0; i < nexp && used < sizeof list; i++)
        used += (size_t)snprintf(list + used, sizeof list - used, "%s\"%s\"", i ? "," : "",
                                 tick_tok_str(exp[i]));
    snippet(p, p->tok.off, snip, sizeof snip);
    failf(p, TICK_ESYNTAX, pos, "unexpected %s line %" PRIu32 " char %" PRIu32 " in \"%s\". expected: %s",
          p->tok.kind == TK_ERROR ? p->tok.err : tick_tok_str(p->tok.kind), pos.line, pos.col, snip, list);
}

/* ---- tokens ---------------------------------------------------------------------------- */

static void advance(parser_t *p)
{
    for (;;) {
        p->tok = tick_lex_next(&p->lex);
        if (p->tok.kind != TK_COMMENT)
            break;
        grow(p, (void **)&p->pending, p->npending, &p->cap_pending, sizeof(fa_str_t), _Alignof(fa_str_t));
        p->pending[p->npending++] = fa_str(p->src + p->tok.off, p->tok.len);
    }
}

/* Kind of the token after the current one (comments skipped), without consuming anything. */
static tick_tok_kind_t peek2(const parser_t *p)
{
    tick_lexer_t l = p->lex;
    tick_tok_t t;

    do
        t = tick_lex_next(&l);
    while (t.kind == TK_COMMENT);
    return t.kind;
}

static tick_tok_t expect(parser_t *p, tick_tok_kind_t k)
{
    tick_tok_t t = p->tok;

    if (t.kind != k)
        unexpected(p, &k, 1);
    advance(p);
    return t;
}

static tick_comment_t *take_comment(parser_t *p)
{
    if (p->npending == 0)
        return NULL;
    tick_comment_t *c = NEW(p, tick_comment_t);
    c->lines = p->pending;
    c->n = p->npending;
    p->pending = NULL;
    p->npending = p->cap_pending = 0;
    return c;
}

static tick_expr_t *new_expr(parser_t *p, tick_expr_kind_t k, uint32_t off)
{
    tick_expr_t *e = NEW(p, tick_expr_t);

    e->kind = k;
    e->pos = pos_of(p, off);
    return e;
}

static bool has_newline(const parser_t *p, uint32_t from, uint32_t to)
{
    return to > from && memchr(p->src + from, '\n', to - from) != NULL;
}

/* ---- literals -------------------------------------------------------------------------- */

/* Copies s[1..len-1) into the arena, turning `\<q>` into `<q>`. */
static fa_str_t unquote(parser_t *p, const char *s, size_t len, size_t q, char esc)
{
    char *out = alloc(p, len + 1, 1);
    size_t n = 0;

    for (size_t i = q; i < len - q; i++) {
        if (s[i] == '\\' && i + 1 < len - q && s[i + 1] == esc)
            i++;
        out[n++] = s[i];
    }
    out[n] = '\0';
    return fa_str(out, n);
}

static tick_expr_t *lit_number(parser_t *p, tick_tok_t t)
{
    const char *s = p->src + t.off;
    char buf[400];

    if (t.len >= sizeof buf)
        failf(p, TICK_ESYNTAX, pos_of(p, t.off), "number too long: %" PRIu32 " characters", t.len);
    memcpy(buf, s, t.len);
    buf[t.len] = '\0';
    bool is_float = memchr(s, '.', t.len) != NULL;
    tick_expr_t *e = new_expr(p, is_float ? TICK_EX_FLOAT : TICK_EX_INT, t.off);
    errno = 0;
    if (is_float) {
        e->v.f = strtod(buf, NULL);
        if (errno == ERANGE)
            failf(p, TICK_ESYNTAX, e->pos, "strconv.ParseFloat: parsing \"%s\": value out of range", buf);
    } else {
        e->v.i = strtoll(buf, NULL, 10);
        if (errno == ERANGE)
            failf(p, TICK_ESYNTAX, e->pos, "strconv.ParseInt: parsing \"%s\": value out of range", buf);
    }
    e->raw = fa_str(s, t.len);
    return e;
}

/* The lexer has checked the shape (digits, one unit of u µ ms s m h d w): what is left is overflow. */
static tick_expr_t *lit_duration(parser_t *p, tick_tok_t t)
{
    const char *s = p->src + t.off;
    tick_expr_t *e = new_expr(p, TICK_EX_DURATION, t.off);

    if (fa_duration_parse(fa_str(s, t.len), FA_DUR_INFLUXQL | FA_DUR_SINGLE, &e->v.dur_ns) != 0)
        failf(p, TICK_ESYNTAX, e->pos, "invalid duration %.*s: overflowed duration", (int)t.len, s);
    e->raw = fa_str(s, t.len);
    return e;
}

static tick_expr_t *lit_regex(parser_t *p, tick_tok_t t)
{
    tick_expr_t *e = new_expr(p, TICK_EX_REGEX, t.off);
    int ec;
    PCRE2_SIZE eoff;

    e->raw = fa_str(p->src + t.off, t.len);
    e->v.str = unquote(p, p->src + t.off, t.len, 1, '/');
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)e->v.str.ptr, e->v.str.len, PCRE2_UTF, &ec, &eoff, NULL);
    if (re == NULL) {
        PCRE2_UCHAR msg[120];
        pcre2_get_error_message(ec, msg, sizeof msg);
        failf(p, TICK_ESYNTAX, e->pos, "error parsing regexp: %s at offset %zu of `%.*s`", (char *)msg,
              (size_t)eoff, (int)(e->v.str.len > 60 ? 60 : e->v.str.len), e->v.str.ptr);
    }
    pcre2_code_free(re);
    return e;
}

static tick_expr_t *lit_string(parser_t *p, tick_tok_t t)
{
    tick_expr_t *e = new_expr(p, TICK_EX_STRING, t.off);
    const char *s = p->src + t.off;

    e->raw = fa_str(s, t.len);
    if (t.len >= 6 && memcmp(s, "'''", 3) == 0) {
        e->triple = true;
        e->v.str = fa_str(s + 3, t.len - 6);
    } else {
        e->v.str = unquote(p, s, t.len, 1, '\'');
    }
    return e;
}

static tick_expr_t *parse_literal(parser_t *p)
{
    tick_tok_t t = p->tok;
    tick_expr_t *e;

    switch (t.kind) {
    case TK_NUMBER: e = lit_number(p, t); break;
    case TK_DURATION: e = lit_duration(p, t); break;
    case TK_STRING: e = lit_string(p, t); break;
    case TK_REGEX: e = lit_regex(p, t); break;
    case TK_TRUE:
    case TK_FALSE:
        e = new_expr(p, TICK_EX_BOOL, t.off);
        e->v.b = t.kind == TK_TRUE;
        e->raw = fa_str(p->src + t.off, t.len);
        break;
    case TK_STAR: e = new_expr(p, TICK_EX_STAR, t.off); break;
    case TK_REF:
        e = new_expr(p, TICK_EX_REF, t.off);
        e->raw = fa_str(p->src + t.off, t.len);
        e->v.str = unquote(p, p->src + t.off, t.len, 1, '"');
        break;
    default: return NULL;
    }
    advance(p);
    return e;
}

static tick_expr_t *parse_ident(parser_t *p)
{
    tick_tok_t t = expect(p, TK_IDENT);
    tick_expr_t *e = new_expr(p, TICK_EX_IDENT, t.off);

    e->v.str = fa_str(p->src + t.off, t.len);
    return e;
}

/* ---- lambda expressions ---------------------------------------------------------------- */

static void enter(parser_t *p)
{
    if (++p->depth > MAX_DEPTH)
        failf(p, TICK_ELIMIT, pos_of(p, p->tok.off), "expression nested too deeply: more than %d levels", MAX_DEPTH);
}

static int prec(tick_tok_kind_t k) { return TK_IS_BINOP(k) ? tick_op_precedence((tick_op_t)(k - TK_OR)) : -1; }

/* Precedence climbing; all binary operators are left-associative. */
static tick_expr_t *parse_binary(parser_t *p, tick_expr_t *lhs, int min)
{
    while (prec(p->tok.kind) >= min) {
        tick_tok_t op = p->tok;
        advance(p);
        tick_expr_t *rhs = parse_primary(p);
        while (prec(p->tok.kind) > prec(op.kind)) {
            enter(p);
            rhs = parse_binary(p, rhs, prec(p->tok.kind));
            p->depth--;
        }
        tick_expr_t *b = new_expr(p, TICK_EX_BINARY, op.off);
        b->v.binary.op = (tick_op_t)(op.kind - TK_OR);
        b->v.binary.lhs = lhs;
        b->v.binary.rhs = rhs;
        b->multiline = has_newline(p, lhs->pos.offset, rhs->pos.offset);
        lhs = b;
    }
    return lhs;
}

static tick_expr_t *parse_primary_expr(parser_t *p)
{
    return parse_binary(p, parse_primary(p), 0);
}

/* IDENT '(' [ arg { ',' arg } ] ')' ; lambda_args: args are primaryExprs, else expressions */
static tick_expr_t *parse_func(parser_t *p, bool lambda_args)
{
    tick_tok_t id = expect(p, TK_IDENT);
    tick_expr_t *e = new_expr(p, TICK_EX_CALL, id.off);
    uint32_t cap = 0;

    e->v.call.name = fa_str(p->src + id.off, id.len);
    expect(p, TK_LPAREN);
    while (p->tok.kind != TK_RPAREN) {
        tick_expr_t *arg = lambda_args ? parse_primary_expr(p) : parse_expression(p);
        push_expr(p, &e->v.call.args, &e->v.call.nargs, &cap, arg);
        if (p->tok.kind != TK_COMMA)
            break;
        advance(p);
    }
    expect(p, TK_RPAREN);
    if (e->v.call.nargs)
        e->multiline = has_newline(p, id.off, e->v.call.args[e->v.call.nargs - 1]->pos.offset);
    return e;
}

static tick_expr_t *parse_primary(parser_t *p)
{
    static const tick_tok_kind_t exp[] = { TK_NUMBER, TK_STRING, TK_DURATION, TK_IDENT, TK_TRUE,
                                           TK_FALSE, TK_EQ, TK_LPAREN, TK_MINUS, TK_NOT };
    tick_tok_t t = p->tok;
    tick_expr_t *e;

    enter(p);
    switch (t.kind) {
    case TK_LPAREN:
        advance(p);
        e = parse_primary_expr(p);
        e->parens = true;
        expect(p, TK_RPAREN);
        break;
    case TK_IDENT:
        e = peek2(p) == TK_LPAREN ? parse_func(p, true) : parse_ident(p);
        break;
    case TK_MINUS:
    case TK_NOT:
        advance(p);
        e = new_expr(p, TICK_EX_UNARY, t.off);
        e->v.unary.op = t.kind == TK_MINUS ? TICK_OP_NEG : TICK_OP_NOT;
        e->v.unary.operand = parse_primary(p);
        break;
    default:
        e = parse_literal(p);
        if (e == NULL)
            unexpected(p, exp, sizeof exp / sizeof exp[0]);
        break;
    }
    p->depth--;
    return e;
}

/* ---- lists, chains, statements --------------------------------------------------------- */

static tick_expr_t *parse_list(parser_t *p)
{
    static const tick_tok_kind_t exp[] = { TK_IDENT, TK_STRING, TK_STAR };
    tick_tok_t t = expect(p, TK_LBRACK);
    tick_expr_t *e = new_expr(p, TICK_EX_LIST, t.off);
    uint32_t cap = 0;

    while (p->tok.kind != TK_RBRACK) {
        tick_expr_t *item;
        if (p->tok.kind == TK_IDENT)
            item = parse_ident(p);
        else if (p->tok.kind == TK_STRING || p->tok.kind == TK_STAR)
            item = parse_literal(p);
        else
            unexpected(p, exp, sizeof exp / sizeof exp[0]);
        push_expr(p, &e->v.list.items, &e->v.list.n, &cap, item);
        if (p->tok.kind != TK_COMMA)
            break;
        advance(p);
    }
    expect(p, TK_RBRACK);
    return e;
}

static void parse_step(parser_t *p, tick_chain_t *c, uint32_t *cap)
{
    tick_tok_t op = p->tok;
    tick_comment_t *comment = take_comment(p);

    advance(p);
    grow(p, (void **)&c->steps, c->nsteps, cap, sizeof(tick_call_t), _Alignof(tick_call_t));
    tick_call_t *s = &c->steps[c->nsteps];
    memset(s, 0, sizeof *s);
    s->kind = op.kind == TK_PIPE ? TICK_CALL_NODE : op.kind == TK_DOT ? TICK_CALL_PROP : TICK_CALL_UDF;
    s->op_pos = pos_of(p, op.off);
    s->comment = comment;
    if (op.kind != TK_PIPE && p->tok.kind == TK_IDENT && peek2(p) != TK_LPAREN) {
        tick_tok_t id = expect(p, TK_IDENT);
        s->name = fa_str(p->src + id.off, id.len);
        s->pos = pos_of(p, id.off);
    } else {
        tick_expr_t *f = parse_func(p, false);
        s->name = f->v.call.name;
        s->pos = f->pos;
        s->args = f->v.call.args;
        s->nargs = f->v.call.nargs;
        s->has_parens = true;
        s->multiline = f->multiline;
    }
    c->nsteps++;
}

static bool is_chain_op(tick_tok_kind_t k) { return k == TK_PIPE || k == TK_DOT || k == TK_AT; }

static tick_expr_t *parse_chain(parser_t *p, tick_expr_t *head)
{
    if (!is_chain_op(p->tok.kind))
        return head;
    tick_expr_t *e = new_expr(p, TICK_EX_CHAIN, head->pos.offset);
    uint32_t cap = 0;

    e->v.chain.head = head;
    while (is_chain_op(p->tok.kind))
        parse_step(p, &e->v.chain, &cap);
    return e;
}

static tick_expr_t *parse_expression(parser_t *p)
{
    switch (p->tok.kind) {
    case TK_IDENT:
        if (peek2(p) == TK_LPAREN) {
            tick_expr_t *f = parse_func(p, false);
            return is_chain_op(p->tok.kind) ? parse_chain(p, f) : parse_binary(p, f, 0);
        }
        if (is_chain_op(peek2(p)))
            return parse_chain(p, parse_ident(p));
        return parse_primary_expr(p);
    case TK_LAMBDA: {
        tick_tok_t t = p->tok;
        advance(p);
        tick_expr_t *e = new_expr(p, TICK_EX_LAMBDA, t.off);
        e->v.lambda.body = parse_primary_expr(p);
        return e;
    }
    case TK_LBRACK:
        return parse_list(p);
    default:
        return parse_primary_expr(p);
    }
}

static const struct { const char *name; tick_type_t type; } type_names[] = {
    { "int", TICK_T_INT }, { "float", TICK_T_FLOAT }, { "bool", TICK_T_BOOL },
    { "string", TICK_T_STRING }, { "regex", TICK_T_REGEX }, { "duration", TICK_T_DURATION },
    { "lambda", TICK_T_LAMBDA }, { "list", TICK_T_LIST }, { "star", TICK_T_STAR },
};

static void parse_var(parser_t *p, tick_stmt_t *s)
{
    expect(p, TK_VAR);
    tick_tok_t id = expect(p, TK_IDENT);
    s->name = fa_str(p->src + id.off, id.len);
    s->name_pos = pos_of(p, id.off);
    if (p->tok.kind == TK_ASGN) {
        advance(p);
        s->kind = TICK_ST_VAR;
        s->value = parse_expression(p);
        return;
    }
    tick_tok_t ty = expect(p, TK_IDENT);
    s->kind = TICK_ST_VAR_TYPE;
    s->type_name = fa_str(p->src + ty.off, ty.len);
    for (size_t i = 0; i < sizeof type_names / sizeof type_names[0]; i++)
        if (fa_str_eq_c(s->type_name, type_names[i].name))
            s->type = type_names[i].type;
    if (s->type == TICK_T_NONE)
        failf(p, TICK_ESYNTAX, pos_of(p, ty.off), "invalid var type %.*s", (int)ty.len, p->src + ty.off);
}

static void parse_dbrp(parser_t *p, tick_stmt_t *s)
{
    expect(p, TK_DBRP);
    tick_tok_t db = expect(p, TK_REF);
    expect(p, TK_DOT);
    tick_tok_t rp = expect(p, TK_REF);
    s->kind = TICK_ST_DBRP;
    s->db = unquote(p, p->src + db.off, db.len, 1, '"');
    s->rp = unquote(p, p->src + rp.off, rp.len, 1, '"');
}

static void parse_statement(parser_t *p, tick_stmt_t *s)
{
    memset(s, 0, sizeof *s);
    s->comment = take_comment(p);
    s->pos = pos_of(p, p->tok.off);
    if (p->tok.kind == TK_VAR)
        parse_var(p, s);
    else if (p->tok.kind == TK_DBRP)
        parse_dbrp(p, s);
    else {
        s->kind = TICK_ST_EXPR;
        s->value = parse_expression(p);
    }
}

static void init_parser(parser_t *p, const char *src, size_t len, fa_arena_t *a, tick_err_t *err)
{
    memset(p, 0, sizeof *p);
    memset(err, 0, sizeof *err);
    p->src = src;
    p->len = len;
    p->a = a;
    p->err = err;
    tick_lex_init(&p->lex, src, len);
}

static tick_ast_t *parse_program(parser_t *p)
{
    tick_ast_t *ast = NEW(p, tick_ast_t);
    uint32_t cap = 0;

    ast->src = fa_str(p->src, p->len);
    advance(p);
    while (p->tok.kind != TK_EOF) {
        grow(p, (void **)&ast->stmts, ast->n, &cap, sizeof(tick_stmt_t), _Alignof(tick_stmt_t));
        parse_statement(p, &ast->stmts[ast->n]);
        ast->n++;
    }
    ast->trailing = take_comment(p);
    return ast;
}

int tick_parse(const char *src, size_t len, fa_arena_t *a, tick_ast_t **out, tick_err_t *err)
{
    parser_t p;

    init_parser(&p, src, len, a, err);
    *out = NULL;
    if (setjmp(p.jb) != 0)
        return -1;
    *out = parse_program(&p);
    return 0;
}

static tick_expr_t *parse_lambda_text(parser_t *p)
{
    advance(p);
    tick_expr_t *e = parse_primary_expr(p);
    expect(p, TK_EOF);
    return e;
}

int tick_parse_lambda(const char *src, size_t len, fa_arena_t *a, tick_expr_t **out, tick_err_t *err)
{
    parser_t p;

    init_parser(&p, src, len, a, err);
    *out = NULL;
    if (setjmp(p.jb) != 0)
        return -1;
    *out = parse_lambda_text(&p);
    return 0;
}
