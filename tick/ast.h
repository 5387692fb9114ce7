/* tick/ast.h - the TICKscript syntax tree: statements, pipeline chains and lambda expressions.
 *
 * Everything lives in the arena passed to tick_parse(); nothing is freed on its own. Slices
 * (fa_str_t) point either into the script text (names, raw lexemes) or into the arena
 * (unescaped string, reference and regex bodies), so the script text must outlive the AST.
 *
 * Two halves:
 *   - Expressions (tick_expr_t): literals, references, identifiers, unary and binary operators,
 *     global function calls, `lambda:` wrappers, lists and chains. The lambda compiler
 *     (tick/compile.c) only ever sees the expression kinds marked [lambda] below.
 *   - Statements (tick_stmt_t): `var x = expr`, `var x type`, `dbrp "db"."rp"`, and bare
 *     expressions (normally a chain such as `stream|from()...`).
 */
#ifndef TICK_AST_H
#define TICK_AST_H
#include <stdbool.h>
#include <stdint.h>
#include "base/str.h"

/** A place in the script: line and col count from 1 (col in bytes, as Kapacitor's "char");
 *  offset is the 0-based byte offset from the start of the script. */
typedef struct tick_pos {
    uint32_t line, col, offset;
} tick_pos_t;

/** Error classes: which phase found the problem. */
enum tick_errcode {
    TICK_OK = 0,
    TICK_ESYNTAX = 1, /* lexer or parser */
    TICK_EUNDEF,      /* undefined var, unknown node, property or function */
    TICK_ETYPE,       /* wrong argument count or type, wrong chaining (stream vs batch) */
    TICK_EMISSING,    /* a required property is missing */
    TICK_EVAR,        /* template vars: missing or mistyped value */
    TICK_ELIMIT,      /* the arena limit or a nesting limit was reached */
};

/** First error of a phase. msg is Kapacitor's wording without the "line N char M: " prefix
 *  (tick_err_kapacitor() in tick.h renders the full Kapacitor text). */
typedef struct tick_err {
    int code;         /* enum tick_errcode */
    tick_pos_t pos;   /* where: line 0 when the error has no place (e.g. a missing template var) */
    char msg[200];
    char hint[120];   /* optional full sentence, "" when none */
} tick_err_t;

/* ---------------------------------------------------------------------------------------- */
/* Expressions                                                                               */

/** Binary and unary operators. The order of this enum is fixed; tick_op_str() names them. */
typedef enum tick_op {
    TICK_OP_OR,     /* OR   precedence 0 (lowest) */
    TICK_OP_AND,    /* AND  1 */
    TICK_OP_EQ,     /* ==   2 */
    TICK_OP_NE,     /* !=   2 */
    TICK_OP_REQ,    /* =~   2 (rhs is normally a regex) */
    TICK_OP_RNE,    /* !~   2 */
    TICK_OP_LT,     /* <    3 */
    TICK_OP_LE,     /* <=   3 */
    TICK_OP_GT,     /* >    3 */
    TICK_OP_GE,     /* >=   3 */
    TICK_OP_ADD,    /* +    4 */
    TICK_OP_SUB,    /* -    4 */
    TICK_OP_MUL,    /* *    5 */
    TICK_OP_DIV,    /* /    5 */
    TICK_OP_MOD,    /* %    5 */
    TICK_OP_NOT,    /* unary ! */
    TICK_OP_NEG,    /* unary - */
    TICK_OP_COUNT_
} tick_op_t;
/* Binary operators are left-associative; precedence as in Kapacitor: OR < AND < (== != =~ !~)
 * < (< <= > >=) < (+ -) < (* / %) < unary. */

/** Literal types, also the types of template placeholders (`var x float`). */
typedef enum tick_type {
    TICK_T_NONE = 0,
    TICK_T_INT,
    TICK_T_FLOAT,
    TICK_T_BOOL,
    TICK_T_STRING,
    TICK_T_REGEX,
    TICK_T_DURATION,
    TICK_T_LAMBDA,
    TICK_T_LIST,
    TICK_T_STAR,
} tick_type_t;

typedef enum tick_expr_kind {
    TICK_EX_INT,      /* [lambda] v.i */
    TICK_EX_FLOAT,    /* [lambda] v.f */
    TICK_EX_STRING,   /* [lambda] v.str: text with \' unescaped ('''...''' kept verbatim) */
    TICK_EX_DURATION, /* [lambda] v.dur_ns: nanoseconds */
    TICK_EX_BOOL,     /* [lambda] v.b */
    TICK_EX_REGEX,    /* [lambda] v.str: pattern between the slashes, \/ turned into / */
    TICK_EX_REF,      /* [lambda] v.str: field or tag name from "name", \" unescaped */
    TICK_EX_IDENT,    /* [lambda before tick_check only] v.str: a var name (see below) */
    TICK_EX_UNARY,    /* [lambda] v.unary */
    TICK_EX_BINARY,   /* [lambda] v.binary */
    TICK_EX_CALL,     /* [lambda] v.call: global function `name(args...)` */
    TICK_EX_STAR,     /* `*` (arguments such as groupBy(*)) */
    TICK_EX_LIST,     /* v.list: `[a, 'b', *]` */
    TICK_EX_LAMBDA,   /* v.lambda: `lambda: expr` */
    TICK_EX_CHAIN,    /* v.chain: `head|node()...`; never inside a lambda */
} tick_expr_kind_t;

typedef struct tick_expr tick_expr_t;
typedef struct tick_call tick_call_t;
typedef struct tick_comment tick_comment_t;

/** `//` comment lines gathered before a statement, call or expression (formatter keeps them). */
struct tick_comment {
    fa_str_t *lines;  /* each line's text after the `//`, untrimmed */
    uint32_t n;
};

/** A pipeline chain: head, then steps. A step is a node (`|name(args)`), a UDF (`@name(args)`)
 *  or a property (`.name(args)`); properties set on the node made by the nearest step before
 *  them, or on the head when none. Steps are kept flat and in script order; tick_check()
 *  groups them into pipeline nodes. */
typedef struct tick_chain {
    tick_expr_t *head;     /* TICK_EX_IDENT (stream, batch or a var) or TICK_EX_CALL */
    tick_call_t *steps;    /* array of nsteps */
    uint32_t nsteps;
} tick_chain_t;

struct tick_expr {
    tick_expr_kind_t kind;
    tick_pos_t pos;        /* first byte of the expression (the operator for a binary node,
                              as in Kapacitor) */
    fa_str_t raw;          /* literal lexeme as written (numbers, durations, strings); else empty */
    bool parens;           /* written inside ( ) */
    bool triple;           /* TICK_EX_STRING written as '''...''' */
    bool multiline;        /* binary or call spanning lines (the formatter keeps the break) */
    tick_comment_t *comment; /* NULL when none */
    union {
        int64_t i;
        double f;
        int64_t dur_ns;
        bool b;
        fa_str_t str;
        struct {
            tick_op_t op;          /* TICK_OP_NOT or TICK_OP_NEG */
            tick_expr_t *operand;
        } unary;
        struct {
            tick_op_t op;
            tick_expr_t *lhs, *rhs;
        } binary;
        struct {
            fa_str_t name;
            tick_expr_t **args;
            uint32_t nargs;
        } call;
        struct {
            tick_expr_t **items;   /* TICK_EX_IDENT, TICK_EX_STRING or TICK_EX_STAR */
            uint32_t n;
        } list;
        struct {
            tick_expr_t *body;     /* the expression after `lambda:` */
        } lambda;
        tick_chain_t chain;
    } v;
};
/* Identifiers in lambdas: Kapacitor replaces a var name inside a lambda by the var's value.
 * tick_check() does the same in place, so a lambda body that passed tick_check() holds only
 * the [lambda] kinds other than TICK_EX_IDENT; a var holding a lambda is replaced by its body. */

/** Which operator starts a chain step. */
typedef enum tick_call_kind {
    TICK_CALL_NODE,    /* |name(args): makes a child node */
    TICK_CALL_PROP,    /* .name(args): sets a property */
    TICK_CALL_UDF,     /* @name(args): makes a UDF child node */
} tick_call_kind_t;

/** One chain step. */
struct tick_call {
    tick_call_kind_t kind;
    fa_str_t name;
    tick_pos_t pos;        /* position of the name (Kapacitor reports errors there) */
    tick_pos_t op_pos;     /* position of the `|`, `.` or `@` */
    tick_expr_t **args;    /* nargs arguments, each any expression kind except CHAIN heads
                              written as lists, lambdas, literals, refs or idents */
    uint32_t nargs;
    bool has_parens;       /* false for `.name` without ( ) (a property read: rejected by check) */
    bool multiline;        /* arguments span lines */
    tick_comment_t *comment;
};

/* ---------------------------------------------------------------------------------------- */
/* Statements                                                                                */

typedef enum tick_stmt_kind {
    TICK_ST_VAR,       /* var name = value */
    TICK_ST_VAR_TYPE,  /* var name type   (template placeholder) */
    TICK_ST_DBRP,      /* dbrp "db"."rp" */
    TICK_ST_EXPR,      /* a bare expression, normally a chain */
} tick_stmt_kind_t;

typedef struct tick_stmt {
    tick_stmt_kind_t kind;
    tick_pos_t pos;          /* the `var`/`dbrp` keyword or the expression start */
    fa_str_t name;           /* VAR, VAR_TYPE: the var name */
    tick_pos_t name_pos;
    tick_type_t type;        /* VAR_TYPE: declared type */
    fa_str_t type_name;      /* VAR_TYPE: the type as written */
    tick_expr_t *value;      /* VAR: value; EXPR: the expression */
    fa_str_t db, rp;         /* DBRP: unquoted names */
    tick_comment_t *comment; /* comment lines before the statement, NULL when none */
} tick_stmt_t;

/** A parsed script. */
typedef struct tick_ast {
    tick_stmt_t *stmts;      /* array of n */
    uint32_t n;
    tick_comment_t *trailing; /* comments after the last statement, NULL when none */
    fa_str_t src;            /* the script text it was parsed from */
} tick_ast_t;

/** "OR", "AND", "==", ... "!" and "-" for the unary ones. */
const char *tick_op_str(tick_op_t op);
/** Binding strength of a binary operator, 0 (OR) to 5 (* / %); -1 for unary ones. */
int tick_op_precedence(tick_op_t op);
/** "int", "float", "bool", "string", "regex", "duration", "lambda", "list", "star" ("" for NONE). */
const char *tick_type_str(tick_type_t t);
/** Kapacitor's name for an expression kind, as its errors print it (e.g. "*ast.ReferenceNode"). */
const char *tick_expr_kind_go_name(tick_expr_kind_t k);
#endif
