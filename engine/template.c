/* engine/template.c - parser and renderer for the Go text/template subset (template.h).
 *
 * Parsing builds a small tree in the arena: text, action and if nodes; an action holds a
 * pipeline of commands, a command a list of operands. Rendering walks the tree with values
 * (struct tval) that refer to the event data instead of copying it; strings a function makes
 * (json, printf) are written at the end of the output buffer, then moved into the scratch
 * arena, so nothing is malloc'ed per event. */
#include "engine/template.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/alert_fmt.h"

/* ---- the tree ------------------------------------------------------------------------------ */

enum op_kind { OP_DOT, OP_FIELD, OP_ROOT, OP_PIPE, OP_STR, OP_INT, OP_FLOAT, OP_BOOL, OP_NIL, OP_FUNC };

enum fn {
    FN_INDEX, FN_JSON, FN_EQ, FN_NE, FN_LT, FN_LE, FN_GT, FN_GE, FN_AND, FN_OR, FN_NOT, FN_LEN,
    FN_PRINT, FN_PRINTF, FN_PRINTLN,
};
static const char *const fn_names[] = { "index", "json", "eq", "ne", "lt", "le", "gt", "ge", "and", "or",
                                        "not", "len", "print", "printf", "println" };

struct pipe;

struct operand {
    enum op_kind k;
    uint32_t line, col;
    fa_str_t *chain; /* field names after the operand: .A.B */
    uint32_t n_chain;
    union {
        fa_str_t s;
        int64_t i;
        double f;
        bool b;
        enum fn fn;
        struct pipe *pipe;
    };
};

struct cmd {
    struct operand *args;
    uint32_t n;
};

struct pipe {
    struct cmd *cmds;
    uint32_t n;
};

enum node_kind { N_TEXT, N_ACTION, N_IF };

struct tnode {
    enum node_kind k;
    struct tnode *next;
    fa_str_t text;          /* N_TEXT */
    struct pipe *pipe;      /* N_ACTION, N_IF condition */
    struct tnode *then, *els;
    uint32_t line, col;
};

struct eng_tmpl {
    struct tnode *root;
    eng_tmpl_mode_t mode;
};

/* ---- parser -------------------------------------------------------------------------------- */

typedef struct parser {
    fa_arena_t *a;
    const char *s;
    size_t n, i;
    bool trim_next;      /* the last action ended with -}} */
    size_t action_at;    /* where the last action began */
    eng_tmpl_err_t *err;
    bool failed;
} parser_t;

static void pos_of(const parser_t *p, size_t at, uint32_t *line, uint32_t *col)
{
    uint32_t l = 1, c = 1;
    for (size_t k = 0; k < at && k < p->n; k++) {
        if (p->s[k] == '\n') {
            l++;
            c = 1;
        } else {
            c++;
        }
    }
    *line = l;
    *col = c;
}

static int fail(parser_t *p, size_t at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(parser_t *p, size_t at, const char *fmt, ...)
{
    if (p->failed)
        return -1;
    p->failed = true;
    pos_of(p, at, &p->err->line, &p->err->col);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err->msg, sizeof p->err->msg, fmt, ap);
    va_end(ap);
    return -1;
}

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
static bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_alnum(char c) { return is_alpha(c) || is_digit(c); }

static void skip_space(parser_t *p)
{
    while (p->i < p->n && is_space(p->s[p->i]))
        p->i++;
}

/* at the end of an action: "}}" or " -}}" (the space already skipped). Sets trim_next. */
static bool at_close(parser_t *p, bool consume)
{
    size_t i = p->i;
    bool trim = false;
    if (i + 2 < p->n && p->s[i] == '-' && p->s[i + 1] == '}' && p->s[i + 2] == '}' && i > 0 && is_space(p->s[i - 1])) {
        trim = true;
        i++;
    }
    if (i + 1 < p->n && p->s[i] == '}' && p->s[i + 1] == '}') {
        if (consume) {
            p->i = i + 2;
            p->trim_next = trim;
        }
        return true;
    }
    return false;
}

static struct pipe *parse_pipe(parser_t *p, bool in_parens);

static int parse_chain(parser_t *p, struct operand *o)
{
    uint32_t cap = 0;
    while (p->i + 1 < p->n && p->s[p->i] == '.' && is_alpha(p->s[p->i + 1])) {
        size_t start = ++p->i;
        while (p->i < p->n && is_alnum(p->s[p->i]))
            p->i++;
        if (o->n_chain == cap) {
            fa_str_t *c = FA_NEW(p->a, fa_str_t, cap ? cap * 2 : 4);
            if (o->n_chain)
                memcpy(c, o->chain, sizeof(*c) * o->n_chain);
            o->chain = c;
            cap = cap ? cap * 2 : 4;
        }
        o->chain[o->n_chain++] = fa_str(p->s + start, p->i - start);
    }
    if (p->i < p->n && (is_alnum(p->s[p->i]) || p->s[p->i] == '.'))
        return fail(p, p->i, "bad character %c after field or operand", p->s[p->i]);
    return 0;
}

static int parse_string(parser_t *p, struct operand *o)
{
    char q = p->s[p->i];
    size_t start = ++p->i;
    bool esc = false;
    while (p->i < p->n && p->s[p->i] != q) {
        if (q == '"' && p->s[p->i] == '\\') {
            esc = true;
            p->i++;
        }
        if (q == '"' && p->s[p->i] == '\n')
            break;
        p->i++;
    }
    if (p->i >= p->n || p->s[p->i] != q)
        return fail(p, start - 1, "unterminated quoted string");
    size_t len = p->i - start;
    p->i++;
    o->k = OP_STR;
    if (!esc) {
        o->s = fa_str(p->s + start, len);
        return 0;
    }
    char *d = fa_arena_alloc(p->a, len + 1, 1);
    size_t k = 0;
    for (size_t j = start; j < start + len; j++) {
        char c = p->s[j];
        if (c == '\\' && j + 1 < start + len) {
            c = p->s[++j];
            switch (c) {
            case 'n': c = '\n'; break;
            case 't': c = '\t'; break;
            case 'r': c = '\r'; break;
            case '\\':
            case '"': break;
            default: return fail(p, j, "unsupported escape \\%c in string", c);
            }
        }
        d[k++] = c;
    }
    o->s = fa_str(d, k);
    return 0;
}

static int parse_number(parser_t *p, struct operand *o)
{
    size_t start = p->i;
    if (p->s[p->i] == '-' || p->s[p->i] == '+')
        p->i++;
    bool is_float = false;
    while (p->i < p->n && (is_alnum(p->s[p->i]) || p->s[p->i] == '.' ||
                           ((p->s[p->i] == '-' || p->s[p->i] == '+') && (p->s[p->i - 1] == 'e' || p->s[p->i - 1] == 'E')))) {
        if (p->s[p->i] == '.' || p->s[p->i] == 'e' || p->s[p->i] == 'E')
            is_float = true;
        p->i++;
    }
    char buf[64];
    size_t len = p->i - start;
    if (len >= sizeof buf)
        return fail(p, start, "number too long");
    memcpy(buf, p->s + start, len);
    buf[len] = 0;
    char *end;
    if (!is_float || (len > 2 && buf[0] == '0' && (buf[1] == 'x' || buf[1] == 'X'))) {
        o->k = OP_INT;
        o->i = strtoll(buf, &end, 0);
    } else {
        o->k = OP_FLOAT;
        o->f = strtod(buf, &end);
    }
    if (*end != 0)
        return fail(p, start, "bad number syntax: \"%s\"", buf);
    return 0;
}

static int parse_ident(parser_t *p, struct operand *o)
{
    size_t start = p->i;
    while (p->i < p->n && is_alnum(p->s[p->i]))
        p->i++;
    fa_str_t id = fa_str(p->s + start, p->i - start);
    if (fa_str_eq_c(id, "true") || fa_str_eq_c(id, "false")) {
        o->k = OP_BOOL;
        o->b = id.ptr[0] == 't';
        return 0;
    }
    if (fa_str_eq_c(id, "nil")) {
        o->k = OP_NIL;
        return 0;
    }
    for (size_t k = 0; k < sizeof fn_names / sizeof fn_names[0]; k++)
        if (fa_str_eq_c(id, fn_names[k])) {
            o->k = OP_FUNC;
            o->fn = (enum fn)k;
            return 0;
        }
    return fail(p, start, "function \"%.*s\" not defined", (int)id.len, id.ptr);
}

/* one operand; returns 1 when the command ended (close, '|' or ')'), -1 on error */
static int parse_operand(parser_t *p, struct operand *o, bool in_parens)
{
    skip_space(p);
    memset(o, 0, sizeof(*o));
    if (p->i >= p->n)
        return fail(p, p->i, "unclosed action");
    pos_of(p, p->i, &o->line, &o->col);
    char c = p->s[p->i];
    if (at_close(p, false) || c == '|' || c == ')')
        return 1;
    if (c == '.' && (p->i + 1 >= p->n || !is_alpha(p->s[p->i + 1]))) {
        p->i++;
        o->k = OP_DOT;
        return 0;
    }
    if (c == '.') {
        o->k = OP_FIELD;
        return parse_chain(p, o);
    }
    if (c == '$') {
        p->i++;
        if (p->i < p->n && is_alnum(p->s[p->i]))
            return fail(p, p->i - 1, "variables are not supported");
        o->k = OP_ROOT;
        return parse_chain(p, o);
    }
    if (c == '(') {
        p->i++;
        o->k = OP_PIPE;
        if ((o->pipe = parse_pipe(p, true)) == NULL)
            return -1;
        return parse_chain(p, o);
    }
    if (c == '"' || c == '`')
        return parse_string(p, o);
    if (is_digit(c) || ((c == '-' || c == '+') && p->i + 1 < p->n && is_digit(p->s[p->i + 1])))
        return parse_number(p, o);
    if (is_alpha(c))
        return parse_ident(p, o);
    return fail(p, p->i, "unexpected \"%c\" in %s", c, in_parens ? "parenthesized pipeline" : "command");
}

static int parse_cmd(parser_t *p, struct cmd *cmd, bool in_parens)
{
    struct operand tmp[32];
    uint32_t n = 0;
    for (;;) {
        if (n == sizeof tmp / sizeof tmp[0])
            return fail(p, p->i, "too many operands in one command");
        int rc = parse_operand(p, &tmp[n], in_parens);
        if (rc < 0)
            return -1;
        if (rc == 1)
            break;
        n++;
        if (p->i < p->n && !is_space(p->s[p->i]) && p->s[p->i] != '|' && p->s[p->i] != ')' && !at_close(p, false))
            return fail(p, p->i, "missing space between operands");
    }
    if (n == 0)
        return fail(p, p->i, "missing value for command");
    cmd->args = FA_NEW(p->a, struct operand, n);
    memcpy(cmd->args, tmp, sizeof(*tmp) * n);
    cmd->n = n;
    return 0;
}

static struct pipe *parse_pipe(parser_t *p, bool in_parens)
{
    struct cmd tmp[16];
    uint32_t n = 0;
    for (;;) {
        if (n == sizeof tmp / sizeof tmp[0]) {
            fail(p, p->i, "pipeline too long");
            return NULL;
        }
        if (parse_cmd(p, &tmp[n++], in_parens) != 0)
            return NULL;
        skip_space(p);
        if (p->i < p->n && p->s[p->i] == '|') {
            p->i++;
            continue;
        }
        break;
    }
    if (in_parens) {
        if (p->i >= p->n || p->s[p->i] != ')') {
            fail(p, p->i, "unclosed left paren");
            return NULL;
        }
        p->i++;
    } else if (!at_close(p, true)) {
        fail(p, p->i, p->i < p->n && p->s[p->i] == ')' ? "unexpected right paren" : "unclosed action");
        return NULL;
    }
    struct pipe *pp = FA_NEW(p->a, struct pipe, 1);
    pp->cmds = FA_NEW(p->a, struct cmd, n);
    memcpy(pp->cmds, tmp, sizeof(*tmp) * n);
    pp->n = n;
    return pp;
}

enum stop { STOP_EOF, STOP_ELSE, STOP_ELSE_IF, STOP_END };

static bool keyword(parser_t *p, const char *kw)
{
    size_t len = strlen(kw);
    if (p->i + len > p->n || memcmp(p->s + p->i, kw, len) != 0)
        return false;
    if (p->i + len < p->n && is_alnum(p->s[p->i + len]))
        return false;
    p->i += len;
    return true;
}

static struct tnode *new_node(parser_t *p, enum node_kind k, size_t at)
{
    struct tnode *n = FA_NEW(p->a, struct tnode, 1);
    memset(n, 0, sizeof(*n));
    n->k = k;
    pos_of(p, at, &n->line, &n->col);
    return n;
}

static int parse_list(parser_t *p, struct tnode **out, enum stop *stop);

/* after "{{ if" (or "else if"): condition, then branch, optional else, end */
static struct tnode *parse_if(parser_t *p, size_t at)
{
    struct tnode *n = new_node(p, N_IF, at);
    enum stop st;
    if ((n->pipe = parse_pipe(p, false)) == NULL || parse_list(p, &n->then, &st) != 0)
        return NULL;
    if (st == STOP_ELSE_IF) {
        if ((n->els = parse_if(p, p->i)) == NULL)
            return NULL;
        return n; /* the inner if consumed the shared {{ end }} */
    }
    if (st == STOP_ELSE && parse_list(p, &n->els, &st) != 0)
        return NULL;
    if (st != STOP_END) {
        fail(p, at, st == STOP_EOF ? "unexpected EOF: if without end" : "unexpected else after else");
        return NULL;
    }
    return n;
}

/* an action after "{{" and optional "- ": appends to the list or reports a stop keyword */
static int parse_action(parser_t *p, size_t at, struct tnode **node, enum stop *stop)
{
    skip_space(p);
    *node = NULL;
    if (p->i + 1 < p->n && p->s[p->i] == '/' && p->s[p->i + 1] == '*') {
        const char *end = memmem(p->s + p->i, p->n - p->i, "*/", 2);
        if (end == NULL)
            return fail(p, p->i, "unclosed comment");
        p->i = (size_t)(end - p->s) + 2;
        skip_space(p);
        if (!at_close(p, true))
            return fail(p, p->i, "comment ends before closing delimiter");
        return 0;
    }
    if (keyword(p, "end")) {
        skip_space(p);
        *stop = STOP_END;
        return at_close(p, true) ? 0 : fail(p, p->i, "unexpected token in end");
    }
    if (keyword(p, "else")) {
        skip_space(p);
        if (keyword(p, "if")) {
            *stop = STOP_ELSE_IF;
            return 0;
        }
        *stop = STOP_ELSE;
        return at_close(p, true) ? 0 : fail(p, p->i, "unexpected token in else");
    }
    if (keyword(p, "if"))
        return (*node = parse_if(p, at)) != NULL ? 0 : -1;
    static const char *const unsupported[] = { "range", "with", "define", "template", "block", "break", "continue" };
    for (size_t k = 0; k < sizeof unsupported / sizeof unsupported[0]; k++)
        if (keyword(p, unsupported[k]))
            return fail(p, at, "{{ %s }} is not supported by farad's templates", unsupported[k]);
    struct tnode *n = new_node(p, N_ACTION, at);
    if ((n->pipe = parse_pipe(p, false)) == NULL)
        return -1;
    *node = n;
    return 0;
}

static int parse_list(parser_t *p, struct tnode **out, enum stop *stop)
{
    struct tnode head = { 0 }, *tail = &head;
    *stop = STOP_EOF;
    while (p->i < p->n) {
        const char *open = memmem(p->s + p->i, p->n - p->i, "{{", 2);
        size_t tend = open ? (size_t)(open - p->s) : p->n, tstart = p->i;
        bool trim_before = open != NULL && tend + 3 < p->n && p->s[tend + 2] == '-' && is_space(p->s[tend + 3]);
        if (p->trim_next)
            while (tstart < tend && is_space(p->s[tstart]))
                tstart++;
        size_t tlen = tend - tstart;
        if (trim_before)
            while (tlen > 0 && is_space(p->s[tstart + tlen - 1]))
                tlen--;
        p->trim_next = false;
        if (tlen > 0) {
            struct tnode *t = new_node(p, N_TEXT, tstart);
            t->text = fa_str(p->s + tstart, tlen);
            tail = tail->next = t;
        }
        if (open == NULL) {
            p->i = p->n;
            break;
        }
        p->i = tend + 2 + (trim_before ? 2 : 0);
        p->action_at = tend;
        struct tnode *n;
        enum stop st = STOP_EOF;
        if (parse_action(p, tend, &n, &st) != 0)
            return -1;
        if (n != NULL)
            tail = tail->next = n;
        if (st != STOP_EOF) {
            *stop = st;
            break;
        }
    }
    *out = head.next;
    return 0;
}

eng_tmpl_t *eng_tmpl_parse(fa_arena_t *a, fa_str_t src, eng_tmpl_mode_t mode, eng_tmpl_err_t *err)
{
    memset(err, 0, sizeof(*err));
    char *copy = fa_arena_strndup(a, src.ptr ? src.ptr : "", src.len);
    parser_t p = { .a = a, .s = copy, .n = src.len, .err = err };
    eng_tmpl_t *t = FA_NEW(a, eng_tmpl_t, 1);
    t->mode = mode;
    enum stop st;
    if (parse_list(&p, &t->root, &st) != 0)
        return NULL;
    if (st != STOP_EOF) {
        fail(&p, p.action_at, "unexpected {{ %s }}", st == STOP_END ? "end" : "else");
        return NULL;
    }
    return t;
}

/* ---- values -------------------------------------------------------------------------------- */

enum vkind { V_MISSING, V_NIL, V_STR, V_INT, V_UINT, V_FLOAT, V_BOOL, V_TIME, V_DUR, V_TAGS, V_FIELDS, V_DATA, V_SERVER };

struct tval {
    enum vkind k;
    bool wide; /* an int64 from the data (Go type name int64), not an int literal */
    union {
        fa_str_t s;
        int64_t i;
        uint64_t u;
        double f;
        bool b;
    };
};

typedef struct ctx {
    const eng_tmpl_data_t *d;
    fa_arena_t *scratch;
    fa_buf_t *out;
    eng_tmpl_err_t *err;
    bool failed;
    const eng_field_t **sorted; /* fields sorted by key, duplicates removed (lazily built) */
    uint32_t n_sorted;
} ctx_t;

static int rfail(ctx_t *c, const struct operand *o, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int rfail(ctx_t *c, const struct operand *o, const char *fmt, ...)
{
    if (c->failed)
        return -1;
    c->failed = true;
    c->err->line = o ? o->line : 0;
    c->err->col = o ? o->col : 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err->msg, sizeof c->err->msg, fmt, ap);
    va_end(ap);
    return -1;
}

static struct tval vstr(fa_str_t s) { return (struct tval){ .k = V_STR, .s = s }; }

static int cmp_field(const void *a, const void *b)
{
    return fa_str_cmp((*(const eng_field_t *const *)a)->key, (*(const eng_field_t *const *)b)->key);
}

/* Fields as Go's map: one entry per key (the last duplicate wins), sorted by key */
static void sort_fields(ctx_t *c)
{
    if (c->sorted != NULL || c->d->n_fields == 0)
        return;
    const eng_field_t **v = FA_NEW(c->scratch, const eng_field_t *, c->d->n_fields);
    uint32_t n = 0;
    for (uint32_t i = 0; i < c->d->n_fields; i++) {
        bool later = false;
        for (uint32_t k = i + 1; k < c->d->n_fields && !later; k++)
            later = fa_str_eq(c->d->fields[k].key, c->d->fields[i].key);
        if (!later)
            v[n++] = &c->d->fields[i];
    }
    qsort(v, n, sizeof(*v), cmp_field);
    c->sorted = v;
    c->n_sorted = n;
}

static struct tval field_value(const eng_value_t *v)
{
    switch (v->type) {
    case ENG_FLOAT: return (struct tval){ .k = V_FLOAT, .f = v->f };
    case ENG_INT: return (struct tval){ .k = V_INT, .wide = true, .i = v->i };
    case ENG_UINT: return (struct tval){ .k = V_UINT, .u = v->u };
    case ENG_STRING: return vstr(v->s);
    case ENG_BOOL: return (struct tval){ .k = V_BOOL, .b = v->b };
    }
    return (struct tval){ .k = V_MISSING };
}

static struct tval tag_lookup(const eng_tmpl_data_t *d, fa_str_t key)
{
    for (uint32_t i = 0; i < d->n_tags; i++)
        if (fa_str_eq(d->tags[i].key, key))
            return vstr(d->tags[i].value);
    return vstr(FA_STR_LIT("")); /* map[string]string: the zero value */
}

static struct tval field_lookup(const eng_tmpl_data_t *d, fa_str_t key)
{
    for (uint32_t i = d->n_fields; i-- > 0;)
        if (fa_str_eq(d->fields[i].key, key))
            return field_value(&d->fields[i].v);
    return (struct tval){ .k = V_MISSING }; /* map[string]interface{}: nil */
}

static const char *go_type(const ctx_t *c, const struct tval *v)
{
    static const char *const data_types[] = { "alert.idInfo", "alert.messageInfo", "alert.detailsInfo" };
    switch (v->k) {
    case V_MISSING:
    case V_NIL: return "<nil>";
    case V_STR: return "string";
    case V_INT: return v->wide ? "int64" : "int";
    case V_UINT: return "uint64";
    case V_FLOAT: return "float64";
    case V_BOOL: return "bool";
    case V_TIME: return "time.Time";
    case V_DUR: return "time.Duration";
    case V_TAGS: return "map[string]string";
    case V_FIELDS: return "map[string]interface {}";
    case V_DATA: return data_types[c->d->kind];
    case V_SERVER: return "vars.Info";
    }
    return "?";
}

static int get_field(ctx_t *c, const struct operand *o, struct tval *v, fa_str_t name)
{
    const eng_tmpl_data_t *d = c->d;
    if (v->k == V_TAGS) {
        *v = tag_lookup(d, name);
        return 0;
    }
    if (v->k == V_FIELDS) {
        *v = field_lookup(d, name);
        return 0;
    }
    if (v->k == V_SERVER) {
        if (fa_str_eq_c(name, "Hostname"))
            *v = vstr(d->hostname);
        else if (fa_str_eq_c(name, "ClusterID"))
            *v = vstr(d->cluster_id);
        else if (fa_str_eq_c(name, "ServerID"))
            *v = vstr(d->server_id);
        else
            goto Bad;
        return 0;
    }
    if (v->k == V_MISSING || v->k == V_NIL)
        return rfail(c, o, "nil pointer evaluating interface {}.%.*s", (int)name.len, name.ptr);
    if (v->k != V_DATA)
        goto Bad;
    if (fa_str_eq_c(name, "Name"))
        *v = vstr(d->name);
    else if (fa_str_eq_c(name, "TaskName"))
        *v = vstr(d->task_name);
    else if (fa_str_eq_c(name, "Group"))
        *v = vstr(d->group);
    else if (fa_str_eq_c(name, "Tags"))
        *v = (struct tval){ .k = V_TAGS };
    else if (fa_str_eq_c(name, "ServerInfo"))
        *v = (struct tval){ .k = V_SERVER };
    else if (d->kind >= ENG_TMPL_MESSAGE && fa_str_eq_c(name, "ID"))
        *v = vstr(d->id);
    else if (d->kind >= ENG_TMPL_MESSAGE && fa_str_eq_c(name, "Fields"))
        *v = (struct tval){ .k = V_FIELDS };
    else if (d->kind >= ENG_TMPL_MESSAGE && fa_str_eq_c(name, "Level"))
        *v = vstr(d->level);
    else if (d->kind >= ENG_TMPL_MESSAGE && fa_str_eq_c(name, "Time"))
        *v = (struct tval){ .k = V_TIME, .i = d->time };
    else if (d->kind >= ENG_TMPL_MESSAGE && fa_str_eq_c(name, "Duration"))
        *v = (struct tval){ .k = V_DUR, .i = d->duration };
    else if (d->kind >= ENG_TMPL_DETAILS && fa_str_eq_c(name, "Message"))
        *v = vstr(d->message);
    else
        goto Bad;
    return 0;
Bad:
    return rfail(c, o, "can't evaluate field %.*s in type %s", (int)name.len, name.ptr, go_type(c, v));
}

/* ---- printing ------------------------------------------------------------------------------ */

static int json_value(ctx_t *c, const struct tval *v, fa_buf_t *b);

static int print_value(ctx_t *c, const struct tval *v, fa_buf_t *b)
{
    switch (v->k) {
    case V_MISSING: return fa_buf_append_c(b, "<no value>");
    case V_NIL: return fa_buf_append_c(b, "<nil>");
    case V_STR: return fa_buf_append_str(b, v->s);
    case V_INT: return fa_buf_appendf(b, "%" PRId64, v->i);
    case V_UINT: return fa_buf_appendf(b, "%" PRIu64, v->u);
    case V_FLOAT: return eng_fmt_go_float(b, v->f);
    case V_BOOL: return fa_buf_append_c(b, v->b ? "true" : "false");
    case V_TIME: return eng_fmt_go_time(b, v->i);
    case V_DUR: return eng_fmt_go_duration(b, v->i);
    case V_TAGS: {
        int rc = fa_buf_append_c(b, "map[");
        for (uint32_t i = 0; rc == 0 && i < c->d->n_tags; i++)
            rc = fa_buf_appendf(b, "%s%.*s:%.*s", i ? " " : "", (int)c->d->tags[i].key.len, c->d->tags[i].key.ptr,
                                (int)c->d->tags[i].value.len, c->d->tags[i].value.ptr);
        return rc != 0 ? rc : fa_buf_append_c(b, "]");
    }
    case V_FIELDS: {
        sort_fields(c);
        int rc = fa_buf_append_c(b, "map[");
        for (uint32_t i = 0; rc == 0 && i < c->n_sorted; i++) {
            struct tval fv = field_value(&c->sorted[i]->v);
            rc = fa_buf_appendf(b, "%s%.*s:", i ? " " : "", (int)c->sorted[i]->key.len, c->sorted[i]->key.ptr);
            if (rc == 0)
                rc = print_value(c, &fv, b);
        }
        return rc != 0 ? rc : fa_buf_append_c(b, "]");
    }
    case V_SERVER:
        return fa_buf_appendf(b, "{%.*s %.*s %.*s}", (int)c->d->hostname.len, c->d->hostname.ptr,
                              (int)c->d->cluster_id.len, c->d->cluster_id.ptr, (int)c->d->server_id.len,
                              c->d->server_id.ptr);
    case V_DATA: {
        /* Go's %v of the nested structs: {{{Name TaskName Group Tags ServerInfo} ID ...} Message} */
        struct tval idp[5] = { vstr(c->d->name), vstr(c->d->task_name), vstr(c->d->group), { .k = V_TAGS },
                               { .k = V_SERVER } };
        struct tval msgp[5] = { vstr(c->d->id), { .k = V_FIELDS }, vstr(c->d->level), { .k = V_TIME, .i = c->d->time },
                                { .k = V_DUR, .i = c->d->duration } };
        int rc = fa_buf_append_c(b, c->d->kind == ENG_TMPL_DETAILS ? "{{{" : c->d->kind == ENG_TMPL_MESSAGE ? "{{" : "{");
        for (int i = 0; rc == 0 && i < 5; i++) {
            rc = i ? fa_buf_append(b, " ", 1) : 0;
            rc = rc ? rc : print_value(c, &idp[i], b);
        }
        rc = rc ? rc : fa_buf_append(b, "}", 1);
        for (int i = 0; rc == 0 && c->d->kind >= ENG_TMPL_MESSAGE && i < 5; i++) {
            rc = fa_buf_append(b, " ", 1);
            rc = rc ? rc : print_value(c, &msgp[i], b);
        }
        if (rc == 0 && c->d->kind >= ENG_TMPL_MESSAGE)
            rc = fa_buf_append(b, "}", 1);
        if (rc == 0 && c->d->kind >= ENG_TMPL_DETAILS) {
            rc = fa_buf_append(b, " ", 1);
            rc = rc ? rc : fa_buf_append_str(b, c->d->message);
            rc = rc ? rc : fa_buf_append(b, "}", 1);
        }
        return rc;
    }
    }
    return 0;
}

static int json_key(fa_buf_t *b, bool first, const char *key)
{
    int rc = first ? 0 : fa_buf_append(b, ",", 1);
    if (rc == 0)
        rc = eng_fmt_json_str(b, fa_str_c(key));
    return rc != 0 ? rc : fa_buf_append(b, ":", 1);
}

static int json_tags(const eng_tmpl_data_t *d, fa_buf_t *b)
{
    int rc = fa_buf_append(b, "{", 1);
    for (uint32_t i = 0; rc == 0 && i < d->n_tags; i++) {
        rc = i ? fa_buf_append(b, ",", 1) : 0;
        if (rc == 0)
            rc = eng_fmt_json_str(b, d->tags[i].key);
        if (rc == 0)
            rc = fa_buf_append(b, ":", 1);
        if (rc == 0)
            rc = eng_fmt_json_str(b, d->tags[i].value);
    }
    return rc != 0 ? rc : fa_buf_append(b, "}", 1);
}

static int json_data(ctx_t *c, fa_buf_t *b)
{
    const eng_tmpl_data_t *d = c->d;
    struct tval v;
    int rc = fa_buf_append(b, "{", 1);
    rc = rc ? rc : json_key(b, true, "Name");
    rc = rc ? rc : eng_fmt_json_str(b, d->name);
    rc = rc ? rc : json_key(b, false, "TaskName");
    rc = rc ? rc : eng_fmt_json_str(b, d->task_name);
    rc = rc ? rc : json_key(b, false, "Group");
    rc = rc ? rc : eng_fmt_json_str(b, d->group);
    rc = rc ? rc : json_key(b, false, "Tags");
    rc = rc ? rc : json_tags(d, b);
    rc = rc ? rc : json_key(b, false, "ServerInfo");
    v = (struct tval){ .k = V_SERVER };
    rc = rc ? rc : json_value(c, &v, b);
    if (d->kind >= ENG_TMPL_MESSAGE) {
        rc = rc ? rc : json_key(b, false, "ID");
        rc = rc ? rc : eng_fmt_json_str(b, d->id);
        rc = rc ? rc : json_key(b, false, "Fields");
        v = (struct tval){ .k = V_FIELDS };
        rc = rc ? rc : json_value(c, &v, b);
        rc = rc ? rc : json_key(b, false, "Level");
        rc = rc ? rc : eng_fmt_json_str(b, d->level);
        rc = rc ? rc : json_key(b, false, "Time");
        v = (struct tval){ .k = V_TIME, .i = d->time };
        rc = rc ? rc : json_value(c, &v, b);
        rc = rc ? rc : json_key(b, false, "Duration");
        rc = rc ? rc : fa_buf_appendf(b, "%" PRId64, d->duration);
    }
    if (d->kind >= ENG_TMPL_DETAILS) {
        rc = rc ? rc : json_key(b, false, "Message");
        rc = rc ? rc : eng_fmt_json_str(b, d->message);
    }
    return rc ? rc : fa_buf_append(b, "}", 1);
}

static int json_value(ctx_t *c, const struct tval *v, fa_buf_t *b)
{
    switch (v->k) {
    case V_MISSING:
    case V_NIL: return fa_buf_append_c(b, "null");
    case V_STR: return eng_fmt_json_str(b, v->s);
    case V_INT:
    case V_DUR: return fa_buf_appendf(b, "%" PRId64, v->i);
    case V_UINT: return fa_buf_appendf(b, "%" PRIu64, v->u);
    case V_FLOAT: return eng_fmt_json_float(b, v->f);
    case V_BOOL: return fa_buf_append_c(b, v->b ? "true" : "false");
    case V_TIME: {
        int rc = fa_buf_append(b, "\"", 1);
        rc = rc ? rc : eng_fmt_rfc3339(b, v->i);
        return rc ? rc : fa_buf_append(b, "\"", 1);
    }
    case V_TAGS: return json_tags(c->d, b);
    case V_FIELDS: {
        sort_fields(c);
        int rc = fa_buf_append(b, "{", 1);
        for (uint32_t i = 0; rc == 0 && i < c->n_sorted; i++) {
            struct tval fv = field_value(&c->sorted[i]->v);
            rc = i ? fa_buf_append(b, ",", 1) : 0;
            rc = rc ? rc : eng_fmt_json_str(b, c->sorted[i]->key);
            rc = rc ? rc : fa_buf_append(b, ":", 1);
            rc = rc ? rc : json_value(c, &fv, b);
        }
        return rc ? rc : fa_buf_append(b, "}", 1);
    }
    case V_SERVER: {
        int rc = fa_buf_append(b, "{", 1);
        rc = rc ? rc : json_key(b, true, "Hostname");
        rc = rc ? rc : eng_fmt_json_str(b, c->d->hostname);
        rc = rc ? rc : json_key(b, false, "ClusterID");
        rc = rc ? rc : eng_fmt_json_str(b, c->d->cluster_id);
        rc = rc ? rc : json_key(b, false, "ServerID");
        rc = rc ? rc : eng_fmt_json_str(b, c->d->server_id);
        return rc ? rc : fa_buf_append(b, "}", 1);
    }
    case V_DATA: return json_data(c, b);
    }
    return 0;
}

/* the text written to c->out since `mark`, moved into the scratch arena */
static fa_str_t take(ctx_t *c, size_t mark)
{
    size_t len = c->out->len - mark;
    char *s = fa_arena_alloc(c->scratch, len + 1, 1);
    c->out->len = mark;
    if (s == NULL) /* scratch limit: the text is lost, as if empty */
        return fa_str("", 0);
    if (len != 0)
        memcpy(s, c->out->ptr + mark, len);
    s[len] = 0;
    return fa_str(s, len);
}

/* ---- printf -------------------------------------------------------------------------------- */

/* Go's fmt parsenum: the digits of f from i into *num (left alone when there are none); a number
 * past 1e6 with more digits to come swallows the rest of the format (returns f.len). Returns
 * where the digits end. */
static size_t go_parsenum(fa_str_t f, size_t i, int *num)
{
    for (; i < f.len && is_digit(f.ptr[i]); i++) {
        if (*num > 1000000)
            return f.len;
        *num = (*num < 0 ? 0 : *num * 10) + (f.ptr[i] - '0');
    }
    return i;
}

static int bad_verb(ctx_t *c, char verb, const struct tval *v)
{
    fa_buf_t *b = c->out;
    if (v == NULL)
        return fa_buf_appendf(b, "%%!%c(MISSING)", verb);
    int rc = fa_buf_appendf(b, "%%!%c(%s=", verb, go_type(c, v));
    rc = rc ? rc : print_value(c, v, b);
    return rc ? rc : fa_buf_append(b, ")", 1);
}

static int pad(fa_buf_t *b, size_t mark, int width, bool left, bool zero)
{
    size_t len = b->len - mark;
    if (width <= 0 || len >= (size_t)width)
        return 0;
    size_t fill = (size_t)width - len;
    int rc = fa_buf_reserve(b, fill);
    if (rc != 0)
        return rc;
    if (left) {
        memset(b->ptr + b->len, ' ', fill);
    } else {
        size_t skip = zero && len > 0 && (b->ptr[mark] == '-' || b->ptr[mark] == '+') ? 1 : 0;
        memmove(b->ptr + mark + skip + fill, b->ptr + mark + skip, len - skip);
        memset(b->ptr + mark + skip, zero ? '0' : ' ', fill);
    }
    b->len += fill;
    return 0;
}

static int printf_one(ctx_t *c, const char *flags, int width, int prec, char verb, const struct tval *v)
{
    fa_buf_t *b = c->out;
    bool left = strchr(flags, '-') != NULL, zero = strchr(flags, '0') != NULL && !left;
    char cf[48];
    size_t mark = b->len;
    int rc = 0;
    if (v == NULL)
        return bad_verb(c, verb, NULL);
    switch (verb) {
    case 'v':
        if (v->k == V_FLOAT && prec >= 0) {
            snprintf(cf, sizeof cf, "%%%s.%dg", flags, prec);
            rc = fa_buf_appendf(b, cf, v->f);
        } else {
            rc = print_value(c, v, b);
        }
        break;
    case 's':
        if (v->k != V_STR && v->k != V_TIME && v->k != V_DUR)
            return bad_verb(c, verb, v);
        rc = print_value(c, v, b);
        if (rc == 0 && prec >= 0 && b->len - mark > (size_t)prec)
            b->len = mark + (size_t)prec;
        break;
    case 'q':
        if (v->k != V_STR)
            return bad_verb(c, verb, v);
        rc = eng_fmt_json_str(b, v->s);
        break;
    case 'd':
    case 'x':
    case 'X':
        if (v->k == V_STR && verb != 'd') {
            for (size_t i = 0; rc == 0 && i < v->s.len; i++)
                rc = fa_buf_appendf(b, verb == 'x' ? "%02x" : "%02X", (unsigned char)v->s.ptr[i]);
            break;
        }
        if (v->k != V_INT && v->k != V_UINT && v->k != V_DUR)
            return bad_verb(c, verb, v);
        if (verb == 'd')
            snprintf(cf, sizeof cf, "%%%s%s", flags, v->k == V_UINT ? PRIu64 : PRId64);
        else
            snprintf(cf, sizeof cf, "%%%s%s", flags, verb == 'x' ? PRIx64 : PRIX64);
        rc = fa_buf_appendf(b, cf, v->i);
        zero = false;
        if (width > 0) {
            snprintf(cf, sizeof cf, "%%%s%d%s", flags, width,
                     verb == 'd' ? (v->k == V_UINT ? PRIu64 : PRId64) : verb == 'x' ? PRIx64 : PRIX64);
            b->len = mark;
            rc = fa_buf_appendf(b, cf, v->i);
            width = 0;
        }
        break;
    case 'f':
    case 'F':
    case 'e':
    case 'E':
    case 'g':
    case 'G':
        if (v->k != V_FLOAT)
            return bad_verb(c, verb, v);
        if ((verb == 'g' || verb == 'G') && prec < 0) {
            rc = eng_fmt_go_float(b, v->f);
            break;
        }
        snprintf(cf, sizeof cf, "%%%s%d.%d%c", flags, width > 0 ? width : 0, prec >= 0 ? prec : 6, verb);
        rc = fa_buf_appendf(b, cf, v->f);
        width = 0;
        break;
    case 't':
        if (v->k != V_BOOL)
            return bad_verb(c, verb, v);
        rc = fa_buf_append_c(b, v->b ? "true" : "false");
        break;
    default: return bad_verb(c, verb, v);
    }
    return rc != 0 ? rc : pad(b, mark, width, left, zero);
}

/* printf(format, args...) written at the end of c->out */
static int do_printf(ctx_t *c, const struct operand *o, const struct tval *args, uint32_t n)
{
    if (n == 0 || args[0].k != V_STR)
        return rfail(c, o, "wrong type for value; expected string; got %s", n ? go_type(c, &args[0]) : "nothing");
    fa_str_t f = args[0].s;
    uint32_t next = 1;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < f.len; i++) {
        if (f.ptr[i] != '%') {
            rc = fa_buf_append(c->out, &f.ptr[i], 1);
            continue;
        }
        char flags[8];
        int nf = 0, width = -1, prec = -1;
        for (i++; i < f.len && strchr("-+# 0", f.ptr[i]) != NULL && nf < 7; i++)
            flags[nf++] = f.ptr[i];
        flags[nf] = 0;
        i = go_parsenum(f, i, &width);
        if (i < f.len && f.ptr[i] == '.') {
            prec = 0;
            i = go_parsenum(f, i + 1, &prec);
        }
        if (i >= f.len) {
            rc = fa_buf_append_c(c->out, "%!(NOVERB)");
            break;
        }
        if (f.ptr[i] == '%') {
            rc = fa_buf_append(c->out, "%", 1);
            continue;
        }
        rc = printf_one(c, flags, width, prec, f.ptr[i], next < n ? &args[next] : NULL);
        next++;
    }
    if (rc == 0 && next < n) {
        rc = fa_buf_append_c(c->out, "%!(EXTRA ");
        for (uint32_t k = next; rc == 0 && k < n; k++) {
            rc = fa_buf_appendf(c->out, "%s%s=", k == next ? "" : ", ", go_type(c, &args[k]));
            rc = rc ? rc : print_value(c, &args[k], c->out);
        }
        rc = rc ? rc : fa_buf_append_c(c->out, ")");
    }
    return rc;
}

/* ---- functions ----------------------------------------------------------------------------- */

static bool truth(const ctx_t *c, const struct tval *v)
{
    switch (v->k) {
    case V_MISSING:
    case V_NIL: return false;
    case V_STR: return v->s.len != 0;
    case V_INT:
    case V_DUR: return v->i != 0;
    case V_UINT: return v->u != 0;
    case V_FLOAT: return v->f != 0;
    case V_BOOL: return v->b;
    case V_TAGS: return c->d->n_tags != 0;
    case V_FIELDS: return c->d->n_fields != 0;
    default: return true;
    }
}

/* Go's template comparison: -2 = incompatible, -3 = not comparable/ordered; else -1, 0, 1 */
static int compare(const struct tval *a, const struct tval *b, bool ordered)
{
    enum vkind ka = a->k == V_DUR ? V_INT : a->k, kb = b->k == V_DUR ? V_INT : b->k;
    if (ka == V_INT && kb == V_UINT)
        return a->i < 0 ? -1 : ((uint64_t)a->i > b->u) - ((uint64_t)a->i < b->u);
    if (ka == V_UINT && kb == V_INT)
        return b->i < 0 ? 1 : (a->u > (uint64_t)b->i) - (a->u < (uint64_t)b->i);
    bool basic = ka == V_STR || ka == V_INT || ka == V_UINT || ka == V_FLOAT || ka == V_BOOL;
    if (!basic || (ordered && ka == V_BOOL))
        return -3;
    if (ka != kb)
        return -2;
    switch (ka) {
    case V_STR: {
        int r = fa_str_cmp(a->s, b->s);
        return (r > 0) - (r < 0);
    }
    case V_INT: return (a->i > b->i) - (a->i < b->i);
    case V_UINT: return (a->u > b->u) - (a->u < b->u);
    case V_FLOAT: return (a->f > b->f) - (a->f < b->f);
    case V_BOOL: return a->b != b->b;
    default: return -3;
    }
}

static int call_cmp(ctx_t *c, const struct operand *o, enum fn fn, const struct tval *a, uint32_t n, struct tval *out)
{
    if (n < 2 || (fn != FN_EQ && n != 2))
        return rfail(c, o, "wrong number of args for %s: want 2 got %u", fn_names[fn], n);
    bool res = fn == FN_EQ ? false : true;
    for (uint32_t k = 1; k < n; k++) {
        int r = compare(&a[0], &a[k], fn != FN_EQ && fn != FN_NE);
        if (r == -2)
            return rfail(c, o, "error calling %s: incompatible types for comparison", fn_names[fn]);
        if (r == -3)
            return rfail(c, o, "error calling %s: invalid type for comparison", fn_names[fn]);
        switch (fn) {
        case FN_EQ: res = res || r == 0; break;
        case FN_NE: res = r != 0; break;
        case FN_LT: res = r < 0; break;
        case FN_LE: res = r <= 0; break;
        case FN_GT: res = r > 0; break;
        default: res = r >= 0; break;
        }
    }
    *out = (struct tval){ .k = V_BOOL, .b = res };
    return 0;
}

static int call_index(ctx_t *c, const struct operand *o, const struct tval *a, uint32_t n, struct tval *out)
{
    if (n == 0)
        return rfail(c, o, "wrong number of args for index: want at least 1 got 0");
    struct tval v = a[0];
    for (uint32_t k = 1; k < n; k++) {
        if (v.k == V_MISSING || v.k == V_NIL)
            return rfail(c, o, "error calling index: index of untyped nil");
        if (v.k != V_TAGS && v.k != V_FIELDS)
            return rfail(c, o, "error calling index: can't index item of type %s", go_type(c, &v));
        if (a[k].k != V_STR)
            return rfail(c, o, "error calling index: value has type %s; should be string", go_type(c, &a[k]));
        v = v.k == V_TAGS ? tag_lookup(c->d, a[k].s) : field_lookup(c->d, a[k].s);
    }
    *out = v;
    return 0;
}

/* fmt.Sprint: a space between operands when neither is a string; Sprintln: always, plus \n */
static int do_print(ctx_t *c, const struct tval *a, uint32_t n, bool ln)
{
    int rc = 0;
    for (uint32_t k = 0; rc == 0 && k < n; k++) {
        if (k > 0 && (ln || (a[k].k != V_STR && a[k - 1].k != V_STR)))
            rc = fa_buf_append(c->out, " ", 1);
        rc = rc ? rc : print_value(c, &a[k], c->out);
    }
    return rc == 0 && ln ? fa_buf_append(c->out, "\n", 1) : rc;
}

static int call_fn(ctx_t *c, const struct operand *o, enum fn fn, const struct tval *a, uint32_t n, struct tval *out)
{
    size_t mark = c->out->len;
    int rc;
    switch (fn) {
    case FN_INDEX: return call_index(c, o, a, n, out);
    case FN_EQ:
    case FN_NE:
    case FN_LT:
    case FN_LE:
    case FN_GT:
    case FN_GE: return call_cmp(c, o, fn, a, n, out);
    case FN_AND:
    case FN_OR:
        if (n == 0)
            return rfail(c, o, "wrong number of args for %s: want at least 1 got 0", fn_names[fn]);
        for (uint32_t k = 0; k < n; k++) {
            *out = a[k];
            if (truth(c, &a[k]) == (fn == FN_OR))
                break;
        }
        return 0;
    case FN_NOT:
        if (n != 1)
            return rfail(c, o, "wrong number of args for not: want 1 got %u", n);
        *out = (struct tval){ .k = V_BOOL, .b = !truth(c, &a[0]) };
        return 0;
    case FN_LEN:
        if (n != 1)
            return rfail(c, o, "wrong number of args for len: want 1 got %u", n);
        if (a[0].k == V_STR)
            *out = (struct tval){ .k = V_INT, .i = (int64_t)a[0].s.len };
        else if (a[0].k == V_TAGS)
            *out = (struct tval){ .k = V_INT, .i = c->d->n_tags };
        else if (a[0].k == V_FIELDS) {
            sort_fields(c);
            *out = (struct tval){ .k = V_INT, .i = c->n_sorted };
        } else
            return rfail(c, o, "error calling len: len of type %s", go_type(c, &a[0]));
        return 0;
    case FN_JSON:
        if (n != 1)
            return rfail(c, o, "wrong number of args for json: want 1 got %u", n);
        rc = json_value(c, &a[0], c->out);
        break;
    case FN_PRINTF: rc = do_printf(c, o, a, n); break;
    case FN_PRINT:
    case FN_PRINTLN: rc = do_print(c, a, n, fn == FN_PRINTLN); break;
    default: return rfail(c, o, "unknown function");
    }
    if (rc != 0)
        return rfail(c, o, "%s: output too large", fn_names[fn]);
    if (c->failed)
        return -1;
    *out = vstr(take(c, mark));
    return 0;
}

/* ---- evaluation ---------------------------------------------------------------------------- */

static int eval_pipe(ctx_t *c, const struct pipe *p, struct tval *out);

static int eval_operand(ctx_t *c, const struct operand *o, struct tval *out)
{
    struct tval v;
    switch (o->k) {
    case OP_DOT:
    case OP_FIELD:
    case OP_ROOT: v = (struct tval){ .k = V_DATA }; break;
    case OP_PIPE:
        if (eval_pipe(c, o->pipe, &v) != 0)
            return -1;
        break;
    case OP_STR: v = vstr(o->s); break;
    case OP_INT: v = (struct tval){ .k = V_INT, .i = o->i }; break;
    case OP_FLOAT: v = (struct tval){ .k = V_FLOAT, .f = o->f }; break;
    case OP_BOOL: v = (struct tval){ .k = V_BOOL, .b = o->b }; break;
    case OP_NIL: v = (struct tval){ .k = V_NIL }; break;
    case OP_FUNC: return call_fn(c, o, o->fn, NULL, 0, out);
    }
    for (uint32_t k = 0; k < o->n_chain; k++)
        if (get_field(c, o, &v, o->chain[k]) != 0)
            return -1;
    *out = v;
    return 0;
}

static int eval_cmd(ctx_t *c, const struct cmd *cmd, const struct tval *piped, struct tval *out)
{
    const struct operand *head = &cmd->args[0];
    if (head->k != OP_FUNC) {
        if (cmd->n > 1 || piped != NULL)
            return rfail(c, head, "can't give argument to non-function");
        if (head->k == OP_NIL)
            return rfail(c, head, "nil is not a command");
        return eval_operand(c, head, out);
    }
    struct tval args[33];
    uint32_t n = 0;
    for (uint32_t k = 1; k < cmd->n; k++)
        if (eval_operand(c, &cmd->args[k], &args[n++]) != 0)
            return -1;
    if (piped != NULL)
        args[n++] = *piped;
    return call_fn(c, head, head->fn, args, n, out);
}

static int eval_pipe(ctx_t *c, const struct pipe *p, struct tval *out)
{
    struct tval v;
    for (uint32_t k = 0; k < p->n; k++)
        if (eval_cmd(c, &p->cmds[k], k ? &v : NULL, &v) != 0)
            return -1;
    *out = v;
    return 0;
}

static int render_list(ctx_t *c, const struct tnode *n, eng_tmpl_mode_t mode)
{
    for (; n != NULL; n = n->next) {
        struct tval v;
        switch (n->k) {
        case N_TEXT:
            if (fa_buf_append_str(c->out, n->text) != 0)
                return rfail(c, NULL, "template output too large");
            break;
        case N_ACTION: {
            if (eval_pipe(c, n->pipe, &v) != 0)
                return -1;
            int rc;
            if (mode == ENG_TMPL_HTML) {
                if (v.k == V_MISSING || v.k == V_NIL)
                    break; /* html/template skips untyped nil */
                size_t mark = c->out->len;
                rc = v.k == V_STR ? 0 : print_value(c, &v, c->out);
                fa_str_t s = v.k == V_STR ? v.s : take(c, mark);
                rc = rc ? rc : eng_fmt_html(c->out, s);
            } else {
                rc = print_value(c, &v, c->out);
            }
            if (rc != 0)
                return rfail(c, NULL, "template output too large");
            break;
        }
        case N_IF:
            if (eval_pipe(c, n->pipe, &v) != 0)
                return -1;
            if (render_list(c, truth(c, &v) ? n->then : n->els, mode) != 0)
                return -1;
            break;
        }
    }
    return 0;
}

int eng_tmpl_render(const eng_tmpl_t *t, const eng_tmpl_data_t *d, fa_arena_t *scratch, fa_buf_t *out,
                    eng_tmpl_err_t *err)
{
    ctx_t c = { .d = d, .scratch = scratch, .out = out, .err = err };
    memset(err, 0, sizeof(*err));
    size_t mark = out->len;
    if (render_list(&c, t->root, t->mode) != 0) {
        out->len = mark;
        return -1;
    }
    return 0;
}

int eng_tmpl_data_json(const eng_tmpl_data_t *d, fa_buf_t *out)
{
    fa_arena_t a;
    fa_arena_init(&a, 1024, 0);
    ctx_t c = { .d = d, .scratch = &a, .out = out };
    int rc = json_data(&c, out);
    fa_arena_deinit(&a);
    return rc;
}
