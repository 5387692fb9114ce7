/* tick/lex.h - TICKscript lexer (internal to tick/ and its tests). */
#ifndef TICK_LEX_H
#define TICK_LEX_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Token kinds; tick_tok_str() gives Kapacitor's name for each (used in "unexpected X"). */
typedef enum tick_tok_kind {
    TK_ERROR, TK_EOF, TK_VAR, TK_DBRP, TK_ASGN, TK_DOT, TK_PIPE, TK_AT, TK_IDENT, TK_REF,
    TK_LAMBDA, TK_NUMBER, TK_STRING, TK_DURATION, TK_LPAREN, TK_RPAREN, TK_LBRACK, TK_RBRACK,
    TK_COMMA, TK_NOT, TK_TRUE, TK_FALSE, TK_REGEX, TK_COMMENT, TK_STAR,
    /* binary operators, in the order of tick_op_t (ast.h) */
    TK_OR, TK_AND, TK_EQ, TK_NE, TK_REQ, TK_RNE, TK_LT, TK_LE, TK_GT, TK_GE,
    TK_PLUS, TK_MINUS, TK_MULT, TK_DIV, TK_MOD,
} tick_tok_kind_t;

#define TK_IS_BINOP(k) ((k) >= TK_OR && (k) <= TK_MOD)

typedef struct tick_tok {
    tick_tok_kind_t kind;
    uint32_t off, len;    /* the lexeme in the source (a comment: the text after `//`) */
    const char *err;      /* TK_ERROR: what went wrong, in Kapacitor's words */
} tick_tok_t;

typedef struct tick_lexer {
    const char *src;
    size_t len, pos;
    bool operand;         /* the last token ended an operand: `/` divides, `*` multiplies */
    char _errbuf[64];
} tick_lexer_t;

void tick_lex_init(tick_lexer_t *l, const char *src, size_t len);
/** Next token; after TK_EOF or TK_ERROR keeps returning the same kind. */
tick_tok_t tick_lex_next(tick_lexer_t *l);
/** "identifier", "string", "(", "AND", ... (Kapacitor's TokenType names). */
const char *tick_tok_str(tick_tok_kind_t k);
/** Line (from 1) and char (byte column from 1) of a byte offset. */
void tick_lex_linecol(const char *src, size_t off, uint32_t *line, uint32_t *col);
#endif
