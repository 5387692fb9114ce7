/* tick/lex.c - TICKscript lexer.
 *
 * Like Kapacitor's, the lexer knows whether the previous token ended an operand (an identifier,
 * keyword, number, duration, string, reference or `)`). After an operand, `/` is division, `*`
 * multiplication and `= == != < <= > >= =~ !~ + %` are operators. Elsewhere `/` starts a regex,
 * `*` is the star literal and only `-`, `!` may start an operator (unary).
 */
#include "tick/lex.h"
#include <stdio.h>
#include <string.h>

static const char *const tok_names[] = {
    [TK_ERROR] = "ERR", [TK_EOF] = "EOF", [TK_VAR] = "var", [TK_DBRP] = "dbrp",
    [TK_ASGN] = "=", [TK_DOT] = ".", [TK_PIPE] = "|", [TK_AT] = "@",
    [TK_IDENT] = "identifier", [TK_REF] = "reference", [TK_LAMBDA] = "lambda",
    [TK_NUMBER] = "number", [TK_STRING] = "string", [TK_DURATION] = "duration",
    [TK_LPAREN] = "(", [TK_RPAREN] = ")", [TK_LBRACK] = "[", [TK_RBRACK] = "]",
    [TK_COMMA] = ",", [TK_NOT] = "!", [TK_TRUE] = "TRUE", [TK_FALSE] = "FALSE",
    [TK_REGEX] = "regex", [TK_COMMENT] = "//", [TK_STAR] = "*",
    [TK_OR] = "OR", [TK_AND] = "AND", [TK_EQ] = "==", [TK_NE] = "!=", [TK_REQ] = "=~",
    [TK_RNE] = "!~", [TK_LT] = "<", [TK_LE] = "<=", [TK_GT] = ">", [TK_GE] = ">=",
    [TK_PLUS] = "+", [TK_MINUS] = "-", [TK_MULT] = "*", [TK_DIV] = "/", [TK_MOD] = "%",
};

const char *tick_tok_str(tick_tok_kind_t k)
{
    if ((unsigned)k < sizeof tok_names / sizeof tok_names[0] && tok_names[k])
        return tok_names[k];
    return "?";
}

void tick_lex_init(tick_lexer_t *l, const char *src, size_t len)
{
    memset(l, 0, sizeof *l);
    l->src = src;
    l->len = len;
}

void tick_lex_linecol(const char *src, size_t off, uint32_t *line, uint32_t *col)
{
    uint32_t ln = 1;
    size_t start = 0;

    for (size_t i = 0; i < off; i++)
        if (src[i] == '\n') {
            ln++;
            start = i + 1;
        }
    *line = ln;
    *col = (uint32_t)(off - start + 1);
}

static bool is_space(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }
static bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
/* Letters: ASCII letters and any non-ASCII byte (UTF-8 letters are taken as they come). */
static bool is_letter(unsigned char c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
static bool is_ident(unsigned char c) { return is_letter(c) || is_digit(c) || c == '_' || c >= 0x80; }

static int peekc(const tick_lexer_t *l, size_t ahead)
{
    return l->pos + ahead < l->len ? (unsigned char)l->src[l->pos + ahead] : -1;
}

static tick_tok_t make(tick_lexer_t *l, tick_tok_kind_t k, size_t start, bool operand)
{
    l->operand = operand;
    return (tick_tok_t){ k, (uint32_t)start, (uint32_t)(l->pos - start), NULL };
}

static tick_tok_t fail(tick_lexer_t *l, size_t start, const char *msg)
{
    tick_tok_t t = { TK_ERROR, (uint32_t)start, 0, msg };

    l->pos = l->len; /* every later call returns EOF; the parser stops at the error anyway */
    return t;
}

static tick_tok_t fail_char(tick_lexer_t *l, size_t start, int c)
{
    if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\')
        snprintf(l->_errbuf, sizeof l->_errbuf, "unknown state, last char: '%c'", c);
    else if (c == '\'' || c == '\\')
        snprintf(l->_errbuf, sizeof l->_errbuf, "unknown state, last char: '\\%c'", c);
    else
        snprintf(l->_errbuf, sizeof l->_errbuf, "unknown state, last char: '\\x%02x'", c & 0xff);
    return fail(l, start, l->_errbuf);
}

static const struct { const char *word; tick_tok_kind_t kind; } keywords[] = {
    { "AND", TK_AND }, { "OR", TK_OR }, { "TRUE", TK_TRUE }, { "FALSE", TK_FALSE },
    { "var", TK_VAR }, { "dbrp", TK_DBRP },
};

static tick_tok_t lex_ident(tick_lexer_t *l, size_t start)
{
    while (l->pos < l->len && is_ident((unsigned char)l->src[l->pos]))
        l->pos++;
    size_t n = l->pos - start;
    if (n == 6 && memcmp(l->src + start, "lambda", 6) == 0 && peekc(l, 0) == ':') {
        l->pos++;
        return make(l, TK_LAMBDA, start, false);
    }
    for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++)
        if (strlen(keywords[i].word) == n && memcmp(keywords[i].word, l->src + start, n) == 0)
            return make(l, keywords[i].kind, start, true);
    return make(l, TK_IDENT, start, true);
}

/* number -> digits [ '.' digits ] ; duration -> digits unit (u µ ms s m h d w) */
static tick_tok_t lex_number(tick_lexer_t *l, size_t start)
{
    bool decimal = false;

    for (;;) {
        int c = peekc(l, 0);
        if (c == '.') {
            if (decimal)
                return fail(l, start, "multiple decimals in number");
            decimal = true;
        } else if (is_digit(c)) {
            /* absorb */
        } else if (!decimal && (c == 'u' || c == 's' || c == 'm' || c == 'h' || c == 'd' || c == 'w')) {
            l->pos++;
            if (c == 'm' && peekc(l, 0) == 's')
                l->pos++;
            return make(l, TK_DURATION, start, true);
        } else if (!decimal && c == 0xC2 && peekc(l, 1) == 0xB5) { /* µ */
            l->pos += 2;
            return make(l, TK_DURATION, start, true);
        } else {
            return make(l, TK_NUMBER, start, true);
        }
        l->pos++;
    }
}

static tick_tok_t lex_reference(tick_lexer_t *l, size_t start)
{
    l->pos++; /* opening " */
    while (l->pos < l->len) {
        char c = l->src[l->pos++];
        if (c == '\\' && peekc(l, 0) == '"')
            l->pos++;
        else if (c == '"')
            return make(l, TK_REF, start, true);
    }
    return fail(l, start, "unterminated field reference");
}

/* 'text' with \' escapes, '' (empty), or '''text''' (no escapes, may span lines) */
static tick_tok_t lex_string(tick_lexer_t *l, size_t start)
{
    if (peekc(l, 1) == '\'' && peekc(l, 2) == '\'') {
        l->pos += 3;
        for (; l->pos + 2 < l->len; l->pos++)
            if (memcmp(l->src + l->pos, "'''", 3) == 0) {
                l->pos += 3;
                return make(l, TK_STRING, start, true);
            }
        return fail(l, start, "unterminated string");
    }
    l->pos++;
    while (l->pos < l->len) {
        char c = l->src[l->pos++];
        if (c == '\\' && peekc(l, 0) == '\'')
            l->pos++;
        else if (c == '\'')
            return make(l, TK_STRING, start, true);
    }
    return fail(l, start, "unterminated string");
}

/* /pattern/ with \/ for a literal slash */
static tick_tok_t lex_regex(tick_lexer_t *l, size_t start)
{
    l->pos++;
    while (l->pos < l->len) {
        char c = l->src[l->pos++];
        if (c == '\\' && peekc(l, 0) == '/')
            l->pos++;
        else if (c == '/')
            return make(l, TK_REGEX, start, false);
    }
    return fail(l, start, "unterminated regex");
}

static tick_tok_t lex_comment(tick_lexer_t *l, size_t start)
{
    l->pos += 2;
    size_t body = l->pos;
    while (l->pos < l->len && l->src[l->pos] != '\n')
        l->pos++;
    bool operand = l->operand; /* a comment does not change what comes next */
    tick_tok_t t = make(l, TK_COMMENT, body, operand);
    (void)start;
    return t;
}

/* Operators that follow an operand; returns TK_ERROR kind untouched when c is none. */
static bool lex_binop(tick_lexer_t *l, int c, tick_tok_kind_t *k)
{
    int n = peekc(l, 1);

    switch (c) {
    case '+': *k = TK_PLUS; break;
    case '-': *k = TK_MINUS; break;
    case '*': *k = TK_MULT; break;
    case '/': *k = TK_DIV; break;
    case '%': *k = TK_MOD; break;
    case '!': *k = n == '=' ? TK_NE : n == '~' ? TK_RNE : TK_NOT; break;
    case '<': *k = n == '=' ? TK_LE : TK_LT; break;
    case '>': *k = n == '=' ? TK_GE : TK_GT; break;
    case '=': *k = n == '=' ? TK_EQ : n == '~' ? TK_REQ : TK_ASGN; break;
    default: return false;
    }
    l->pos += (*k == TK_NE || *k == TK_RNE || *k == TK_LE || *k == TK_GE || *k == TK_EQ || *k == TK_REQ) ? 2 : 1;
    return true;
}

static tick_tok_t lex_punct(tick_lexer_t *l, size_t start, int c)
{
    tick_tok_kind_t k;

    switch (c) {
    case '(': k = TK_LPAREN; break;
    case ')': l->pos++; return make(l, TK_RPAREN, start, true);
    case '[': k = TK_LBRACK; break;
    case ']': k = TK_RBRACK; break;
    case '|': k = TK_PIPE; break;
    case '@': k = TK_AT; break;
    case ',': k = TK_COMMA; break;
    case '*': k = TK_STAR; break;
    case '-': k = TK_MINUS; break;
    case '!': k = TK_NOT; break;
    case '.': k = TK_DOT; break;
    default: return fail_char(l, start, c);
    }
    l->pos++;
    return make(l, k, start, false);
}

tick_tok_t tick_lex_next(tick_lexer_t *l)
{
    while (l->pos < l->len && is_space((unsigned char)l->src[l->pos]))
        l->pos++;
    size_t start = l->pos;
    int c = peekc(l, 0);
    if (c < 0)
        return make(l, TK_EOF, start, false);
    if (c == '/' && peekc(l, 1) == '/')
        return lex_comment(l, start);
    if (l->operand) {
        tick_tok_kind_t k;
        if (lex_binop(l, c, &k))
            return make(l, k, start, false);
    }
    if (is_digit(c) || (c == '.' && is_digit(peekc(l, 1))))
        return lex_number(l, start);
    if (is_letter(c) || c >= 0x80)
        return lex_ident(l, start);
    switch (c) {
    case '"': return lex_reference(l, start);
    case '\'': return lex_string(l, start);
    case '/': return lex_regex(l, start);
    default: return lex_punct(l, start, c);
    }
}
