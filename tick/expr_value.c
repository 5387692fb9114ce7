/* tick/expr_value.c - Kapacitor's operator table, operators on values, value formatting, regexes.
 *
 * The operator table follows Kapacitor's evaluationFuncs (tick/stateful): ints and floats mix
 * only in comparisons, % is int only, strings concatenate with +, durations add, subtract,
 * scale by int or float and divide (duration / duration gives an int). farad adds time +/-
 * duration, time - time and time comparisons. Integer arithmetic wraps as Go's does. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/duration.h"
#include "tick/expr_int.h"

const char *tick_vtype_name(tick_vtype_t t)
{
    static const char *const names[TICK_V_COUNT_] = {
        [TICK_V_FLOAT] = "float",   [TICK_V_INT] = "int",          [TICK_V_STRING] = "string",
        [TICK_V_BOOL] = "boolean",  [TICK_V_REGEX] = "regex",      [TICK_V_TIME] = "time",
        [TICK_V_DURATION] = "duration", [TICK_V_MISSING] = "missing",
    };
    return t > TICK_V_INVALID && t < TICK_V_COUNT_ ? names[t] : "invalid type";
}

const char *tick_vtype_goname(tick_vtype_t t)
{
    static const char *const names[TICK_V_COUNT_] = {
        [TICK_V_FLOAT] = "float64",     [TICK_V_INT] = "int64",          [TICK_V_STRING] = "string",
        [TICK_V_BOOL] = "bool",         [TICK_V_REGEX] = "*regexp.Regexp", [TICK_V_TIME] = "time.Time",
        [TICK_V_DURATION] = "time.Duration", [TICK_V_MISSING] = "*ast.Missing",
    };
    return t > TICK_V_INVALID && t < TICK_V_COUNT_ ? names[t] : "<nil>";
}

static bool is_num(tick_vtype_t t) { return t == TICK_V_FLOAT || t == TICK_V_INT; }

static tick_vtype_t cmp_result(tick_op_t op, tick_vtype_t l, tick_vtype_t r)
{
    if (is_num(l) && is_num(r))
        return TICK_V_BOOL;
    if (l != r)
        return TICK_V_INVALID;
    switch (l) {
    case TICK_V_STRING:
    case TICK_V_DURATION:
    case TICK_V_TIME:
        return TICK_V_BOOL;
    case TICK_V_BOOL:
        return op == TICK_OP_EQ || op == TICK_OP_NE ? TICK_V_BOOL : TICK_V_INVALID;
    default:
        return TICK_V_INVALID;
    }
}

static tick_vtype_t math_result(tick_op_t op, tick_vtype_t l, tick_vtype_t r)
{
    const tick_vtype_t F = TICK_V_FLOAT, I = TICK_V_INT, S = TICK_V_STRING, D = TICK_V_DURATION, T = TICK_V_TIME;

    if (op == TICK_OP_MOD)
        return l == I && r == I ? I : TICK_V_INVALID;
    if (l == r && (l == F || l == I))
        return l;
    switch (op) {
    case TICK_OP_ADD:
        if (l == S && r == S)
            return S;
        if (l == D && r == D)
            return D;
        if ((l == T && r == D) || (l == D && r == T))
            return T;
        break;
    case TICK_OP_SUB:
        if (l == D && r == D)
            return D;
        if (l == T && r == D)
            return T;
        if (l == T && r == T)
            return D;
        break;
    case TICK_OP_MUL:
        if ((l == D && is_num(r)) || (is_num(l) && r == D))
            return D;
        break;
    case TICK_OP_DIV:
        if (l == D && is_num(r))
            return D;
        if (l == D && r == D)
            return I;
        break;
    default:
        break;
    }
    return TICK_V_INVALID;
}

tick_vtype_t tick_op_result(tick_op_t op, tick_vtype_t l, tick_vtype_t r)
{
    switch (op) {
    case TICK_OP_AND:
    case TICK_OP_OR:
        return l == TICK_V_BOOL && r == TICK_V_BOOL ? TICK_V_BOOL : TICK_V_INVALID;
    case TICK_OP_EQ: case TICK_OP_NE: case TICK_OP_LT: case TICK_OP_LE: case TICK_OP_GT: case TICK_OP_GE:
        return cmp_result(op, l, r);
    case TICK_OP_REQ:
    case TICK_OP_RNE:
        return l == TICK_V_STRING && r == TICK_V_REGEX ? TICK_V_BOOL : TICK_V_INVALID;
    case TICK_OP_ADD: case TICK_OP_SUB: case TICK_OP_MUL: case TICK_OP_DIV: case TICK_OP_MOD:
        return math_result(op, l, r);
    default:
        return TICK_V_INVALID;
    }
}

tick_vtype_t tick_unop_result(tick_op_t op, tick_vtype_t t)
{
    if (op == TICK_OP_NOT)
        return t == TICK_V_BOOL ? t : TICK_V_INVALID;
    if (op == TICK_OP_NEG)
        return t == TICK_V_FLOAT || t == TICK_V_INT || t == TICK_V_DURATION ? t : TICK_V_INVALID;
    return TICK_V_INVALID;
}

bool tick_op_accepts(tick_op_t op, tick_vtype_t t)
{
    for (int o = TICK_V_FLOAT; o < TICK_V_MISSING; o++)
        if (tick_op_result(op, t, (tick_vtype_t)o) != TICK_V_INVALID ||
            tick_op_result(op, (tick_vtype_t)o, t) != TICK_V_INVALID)
            return true;
    return false;
}

static const char *op_kind(tick_op_t op)
{
    switch (op) {
    case TICK_OP_ADD: case TICK_OP_SUB: case TICK_OP_MUL: case TICK_OP_DIV: case TICK_OP_MOD:
        return "math";
    case TICK_OP_AND: case TICK_OP_OR:
        return "logical";
    default:
        return "comparison";
    }
}

void tick_op_type_error(char *buf, size_t len, tick_op_t op, tick_vtype_t l, tick_vtype_t r)
{
    /* Kapacitor's determineError: only the left type is tested for supporting the operator */
    if (l != TICK_V_INVALID && !tick_op_accepts(op, l))
        snprintf(buf, len, "invalid %s operator %s for type %s", op_kind(op), tick_op_str(op), tick_vtype_name(l));
    else
        snprintf(buf, len, "mismatched type to binary operator. got %s %s %s. see bool(), int(), float(), string(), duration()",
                 tick_vtype_name(l), tick_op_str(op), tick_vtype_name(r));
}

/* ---- arithmetic with Go's wrap-around ---- */

static int64_t wrap_add(int64_t a, int64_t b) { return (int64_t)((uint64_t)a + (uint64_t)b); }
static int64_t wrap_sub(int64_t a, int64_t b) { return (int64_t)((uint64_t)a - (uint64_t)b); }
static int64_t wrap_mul(int64_t a, int64_t b) { return (int64_t)((uint64_t)a * (uint64_t)b); }

int64_t vm_f2i(double f)
{
    if (!(f >= -9223372036854775808.0 && f < 9223372036854775808.0))
        return INT64_MIN;
    return (int64_t)f;
}

static int int_div(int64_t a, int64_t b, bool mod, int64_t *out, char *emsg)
{
    if (b == 0) {
        snprintf(emsg, EMSG_LEN, "integer divide by zero");
        return -1;
    }
    if (b == -1)
        *out = mod ? 0 : wrap_sub(0, a);
    else
        *out = mod ? a % b : a / b;
    return 0;
}

char *vm_scratch(fa_arena_t *scratch, size_t n, char *emsg)
{
    char *p = scratch ? fa_arena_try_alloc(scratch, n ? n : 1, 1) : NULL;
    if (p == NULL)
        snprintf(emsg, EMSG_LEN, "string result of %zu bytes does not fit in the scratch memory", n);
    return p;
}

static int compare(tick_op_t op, int c)
{
    switch (op) {
    case TICK_OP_EQ: return c == 0;
    case TICK_OP_NE: return c != 0;
    case TICK_OP_LT: return c < 0;
    case TICK_OP_LE: return c <= 0;
    case TICK_OP_GT: return c > 0;
    default: return c >= 0;
    }
}

static bool compare_f(tick_op_t op, double a, double b)
{
    switch (op) {
    case TICK_OP_EQ: return a == b;
    case TICK_OP_NE: return a != b;
    case TICK_OP_LT: return a < b;
    case TICK_OP_LE: return a <= b;
    case TICK_OP_GT: return a > b;
    default: return a >= b;
    }
}

static int binop_cmp(tick_op_t op, const tick_value_t *l, const tick_value_t *r, tick_value_t *out)
{
    if (l->type == TICK_V_FLOAT || r->type == TICK_V_FLOAT) {
        double a = l->type == TICK_V_FLOAT ? l->f : (double)l->i;
        double b = r->type == TICK_V_FLOAT ? r->f : (double)r->i;
        *out = tick_bool(compare_f(op, a, b));
    } else if (l->type == TICK_V_STRING) {
        *out = tick_bool(compare(op, fa_str_cmp(l->s, r->s)));
    } else if (l->type == TICK_V_BOOL) {
        *out = tick_bool(compare(op, (int)l->b - (int)r->b));
    } else { /* int, duration, time */
        *out = tick_bool(compare(op, (l->i > r->i) - (l->i < r->i)));
    }
    return 0;
}

static int binop_float(tick_op_t op, double a, double b, tick_value_t *out)
{
    switch (op) {
    case TICK_OP_ADD: *out = tick_float(a + b); break;
    case TICK_OP_SUB: *out = tick_float(a - b); break;
    case TICK_OP_MUL: *out = tick_float(a * b); break;
    default: *out = tick_float(a / b); break;
    }
    return 0;
}

static int binop_int(tick_op_t op, int64_t a, int64_t b, tick_value_t *out, char *emsg)
{
    int64_t v;
    switch (op) {
    case TICK_OP_ADD: v = wrap_add(a, b); break;
    case TICK_OP_SUB: v = wrap_sub(a, b); break;
    case TICK_OP_MUL: v = wrap_mul(a, b); break;
    default:
        if (int_div(a, b, op == TICK_OP_MOD, &v, emsg) != 0)
            return -1;
        break;
    }
    *out = tick_int(v);
    return 0;
}

static int binop_concat(const tick_value_t *l, const tick_value_t *r, tick_value_t *out, fa_arena_t *scratch,
                        char *emsg)
{
    size_t n = l->s.len + r->s.len;
    char *p = vm_scratch(scratch, n, emsg);
    if (p == NULL)
        return -1;
    if (l->s.len)
        memcpy(p, l->s.ptr, l->s.len);
    if (r->s.len)
        memcpy(p + l->s.len, r->s.ptr, r->s.len);
    *out = tick_string(fa_str(p, n));
    return 0;
}

/* durations and times: the result type is already known to be valid */
static int binop_dur(tick_op_t op, const tick_value_t *l, const tick_value_t *r, tick_vtype_t rt, tick_value_t *out,
                     char *emsg)
{
    int64_t v = 0;
    switch (op) {
    case TICK_OP_ADD: v = wrap_add(l->i, r->i); break;
    case TICK_OP_SUB: v = wrap_sub(l->i, r->i); break;
    case TICK_OP_MUL:
        if (l->type == TICK_V_FLOAT)
            v = vm_f2i(l->f * (double)r->i);
        else if (r->type == TICK_V_FLOAT)
            v = vm_f2i((double)l->i * r->f);
        else
            v = wrap_mul(l->i, r->i);
        break;
    default: /* DIV */
        if (r->type == TICK_V_FLOAT)
            v = vm_f2i((double)l->i / r->f);
        else if (int_div(l->i, r->i, false, &v, emsg) != 0)
            return -1;
        break;
    }
    out->type = rt;
    out->i = v;
    return 0;
}

int vm_binop(tick_op_t op, const tick_value_t *l, const tick_value_t *r, tick_value_t *out, fa_arena_t *scratch,
             char *emsg)
{
    tick_vtype_t rt = tick_op_result(op, l->type, r->type);

    if (rt == TICK_V_INVALID) {
        tick_op_type_error(emsg, EMSG_LEN, op, l->type, r->type);
        return -1;
    }
    switch (op) {
    case TICK_OP_EQ: case TICK_OP_NE: case TICK_OP_LT: case TICK_OP_LE: case TICK_OP_GT: case TICK_OP_GE:
        return binop_cmp(op, l, r, out);
    case TICK_OP_REQ:
    case TICK_OP_RNE:
        *out = tick_bool(vm_regex_match(r->re, l->s) == (op == TICK_OP_REQ));
        return 0;
    case TICK_OP_AND:
        *out = tick_bool(l->b && r->b);
        return 0;
    case TICK_OP_OR:
        *out = tick_bool(l->b || r->b);
        return 0;
    default:
        break;
    }
    if (rt == TICK_V_FLOAT)
        return binop_float(op, l->f, r->f, out);
    if (rt == TICK_V_STRING)
        return binop_concat(l, r, out, scratch, emsg);
    if (l->type == TICK_V_INT && r->type == TICK_V_INT)
        return binop_int(op, l->i, r->i, out, emsg);
    return binop_dur(op, l, r, rt, out, emsg);
}

int vm_unop(tick_op_t op, const tick_value_t *v, tick_value_t *out, char *emsg)
{
    if (tick_unop_result(op, v->type) == TICK_V_INVALID) {
        snprintf(emsg, EMSG_LEN, "invalid unary operator %s for type %s", tick_op_str(op), tick_vtype_name(v->type));
        return -1;
    }
    *out = *v;
    if (op == TICK_OP_NOT)
        out->b = !v->b;
    else if (v->type == TICK_V_FLOAT)
        out->f = -v->f;
    else
        out->i = wrap_sub(0, v->i);
    return 0;
}

/* ---- regexes ---- */

tick_regex_t *vm_regex_new(fa_str_t pattern, fa_arena_t *a, char *emsg)
{
    int errcode;
    PCRE2_SIZE erroff;
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)(pattern.ptr ? pattern.ptr : ""), pattern.len,
                                     PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_DOLLAR_ENDONLY, &errcode, &erroff,
                                     NULL);
    if (code == NULL) {
        PCRE2_UCHAR msg[120];
        pcre2_get_error_message(errcode, msg, sizeof msg);
        snprintf(emsg, EMSG_LEN, "error parsing regexp /%.*s/: %s at offset %zu", (int)(pattern.len > 60 ? 60 : pattern.len),
                 pattern.ptr ? pattern.ptr : "", (const char *)msg, (size_t)erroff);
        return NULL;
    }
    tick_regex_t *re = FA_NEW(a, tick_regex_t, 1);
    re->code = code;
    re->md = pcre2_match_data_create_from_pattern(code, NULL);
    re->src = fa_str(fa_arena_strndup(a, pattern.ptr ? pattern.ptr : "", pattern.len), pattern.len);
    re->jit = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
    if (re->md == NULL) {
        pcre2_code_free(code);
        snprintf(emsg, EMSG_LEN, "out of memory for regexp /%.*s/", (int)(pattern.len > 60 ? 60 : pattern.len), pattern.ptr);
        return NULL;
    }
    return re;
}

void vm_regex_free(tick_regex_t *re)
{
    if (re == NULL)
        return;
    pcre2_match_data_free(re->md);
    pcre2_code_free(re->code);
    re->md = NULL;
    re->code = NULL;
}

bool vm_regex_match(const tick_regex_t *re, fa_str_t s)
{
    PCRE2_SPTR subj = (PCRE2_SPTR)(s.ptr ? s.ptr : "");
    int rc = re->jit ? pcre2_jit_match(re->code, subj, s.len, 0, 0, re->md, NULL)
                     : pcre2_match(re->code, subj, s.len, 0, 0, re->md, NULL);
    return rc >= 0;
}

/* ---- formatting ---- */

/* Shortest digits that read back as f: the first %.*e precision that round-trips. */
static int shortest_digits(double f, char *digits, int *exp10)
{
    char tmp[40];
    int p;
    for (p = 1; p <= 17; p++) {
        snprintf(tmp, sizeof tmp, "%.*e", p - 1, f);
        if (strtod(tmp, NULL) == f)
            break;
    }
    int nd = 0;
    char *e = strchr(tmp, 'e');
    for (char *c = tmp; c < e; c++)
        if (*c >= '0' && *c <= '9')
            digits[nd++] = *c;
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    digits[nd] = '\0';
    *exp10 = atoi(e + 1);
    return nd;
}

int vm_format_float(char *buf, size_t len, double f)
{
    if (isnan(f))
        return snprintf(buf, len, "NaN");
    if (isinf(f))
        return snprintf(buf, len, f > 0 ? "+Inf" : "-Inf");
    char digits[24], out[400];
    int e, nd = shortest_digits(fabs(f), digits, &e), o = 0;
    if (signbit(f))
        out[o++] = '-';
    if (fabs(f) == 0)
        nd = 1, digits[0] = '0', e = 0;
    if (e >= 0) {
        for (int i = 0; i <= e; i++)
            out[o++] = i < nd ? digits[i] : '0';
        if (nd > e + 1) {
            out[o++] = '.';
            for (int i = e + 1; i < nd; i++)
                out[o++] = digits[i];
        }
    } else {
        out[o++] = '0';
        out[o++] = '.';
        for (int i = 0; i < -e - 1; i++)
            out[o++] = '0';
        for (int i = 0; i < nd; i++)
            out[o++] = digits[i];
    }
    out[o] = '\0';
    return snprintf(buf, len, "%s", out);
}

int tick_value_format(char *buf, size_t len, const tick_value_t *v)
{
    switch (v->type) {
    case TICK_V_FLOAT: return vm_format_float(buf, len, v->f);
    case TICK_V_INT: return snprintf(buf, len, "%" PRId64, v->i);
    case TICK_V_STRING: return snprintf(buf, len, "%.*s", (int)v->s.len, v->s.ptr ? v->s.ptr : "");
    case TICK_V_BOOL: return snprintf(buf, len, "%s", v->b ? "true" : "false");
    case TICK_V_DURATION: return (int)fa_duration_format_influxql(buf, len, v->i);
    case TICK_V_TIME: return snprintf(buf, len, "%" PRId64, v->i);
    case TICK_V_REGEX: return snprintf(buf, len, "%.*s", (int)v->re->src.len, v->re->src.ptr);
    default: return snprintf(buf, len, "%s", tick_vtype_name(v->type));
    }
}
