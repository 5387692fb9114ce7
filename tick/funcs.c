/* tick/funcs.c - the built-in lambda functions of Kapacitor (tick/stateful/functions.go).
 *
 * Each function has a table entry: argument count, signatures (for the compile-time check and
 * the run-time check before the call), the family of its argument error messages, and its
 * implementation. Implementations get arguments of a matching signature only. String results
 * that are slices of an argument are returned without copying; new strings go to scratch.
 * Go semantics are kept where Kapacitor relies on them (strings.*, strconv.*, humanize.Bytes,
 * regexp.ReplaceAllString). */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/duration.h"
#include "tick/expr_int.h"

#define F TICK_V_FLOAT
#define I TICK_V_INT
#define S TICK_V_STRING
#define B TICK_V_BOOL
#define R TICK_V_REGEX
#define T TICK_V_TIME
#define D TICK_V_DURATION
#define M TICK_V_MISSING

/* ---- UTF-8 helpers (Go: invalid bytes decode as U+FFFD, width 1) ---- */

static uint32_t utf8_decode(const unsigned char *s, size_t n, size_t *w)
{
    uint32_t c = s[0];
    if (c < 0x80) {
        *w = 1;
        return c;
    }
    size_t need = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c <= 0xDF ? 2 : 0;
    if (need == 0 || need > n)
        goto Bad;
    uint32_t r = c & (need == 2 ? 0x1F : need == 3 ? 0x0F : 0x07);
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xC0) != 0x80)
            goto Bad;
        r = (r << 6) | (s[i] & 0x3F);
    }
    if ((need == 3 && (r < 0x800 || (r >= 0xD800 && r <= 0xDFFF))) || (need == 4 && (r < 0x10000 || r > 0x10FFFF)))
        goto Bad;
    *w = need;
    return r;
Bad:
    *w = 1;
    return 0xFFFD;
}

static size_t utf8_encode(uint32_t r, char *out)
{
    if (r < 0x80) {
        out[0] = (char)r;
        return 1;
    }
    if (r < 0x800) {
        out[0] = (char)(0xC0 | (r >> 6));
        out[1] = (char)(0x80 | (r & 0x3F));
        return 2;
    }
    if (r < 0x10000) {
        out[0] = (char)(0xE0 | (r >> 12));
        out[1] = (char)(0x80 | ((r >> 6) & 0x3F));
        out[2] = (char)(0x80 | (r & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (r >> 18));
    out[1] = (char)(0x80 | ((r >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((r >> 6) & 0x3F));
    out[3] = (char)(0x80 | (r & 0x3F));
    return 4;
}

static size_t rune_count(fa_str_t s)
{
    size_t n = 0, w;
    for (size_t i = 0; i < s.len; i += w, n++)
        utf8_decode((const unsigned char *)s.ptr + i, s.len - i, &w);
    return n;
}

static bool rune_in(uint32_t r, fa_str_t set)
{
    size_t w;
    for (size_t i = 0; i < set.len; i += w)
        if (utf8_decode((const unsigned char *)set.ptr + i, set.len - i, &w) == r)
            return true;
    return false;
}

static const char *memfind(fa_str_t h, fa_str_t n)
{
    if (n.len == 0)
        return h.ptr ? h.ptr : "";
    if (h.len < n.len)
        return NULL;
    return memmem(h.ptr, h.len, n.ptr, n.len);
}

static int64_t str_index(fa_str_t s, fa_str_t sub)
{
    const char *p = memfind(s, sub);
    return p ? (int64_t)(p - (s.ptr ? s.ptr : p)) : -1;
}

static int64_t str_last_index(fa_str_t s, fa_str_t sub)
{
    if (sub.len == 0)
        return (int64_t)s.len;
    for (size_t i = s.len >= sub.len ? s.len - sub.len + 1 : 0; i-- > 0;)
        if (memcmp(s.ptr + i, sub.ptr, sub.len) == 0)
            return (int64_t)i;
    return -1;
}

static int64_t str_count(fa_str_t s, fa_str_t sub)
{
    if (sub.len == 0)
        return (int64_t)rune_count(s) + 1;
    int64_t n = 0;
    for (fa_str_t rest = s; rest.len >= sub.len;) {
        const char *p = memfind(rest, sub);
        if (p == NULL)
            break;
        n++;
        size_t adv = (size_t)(p - rest.ptr) + sub.len;
        rest = fa_str(rest.ptr + adv, rest.len - adv);
    }
    return n;
}

static int64_t index_any(fa_str_t s, fa_str_t chars, bool last)
{
    int64_t found = -1;
    size_t w;
    for (size_t i = 0; i < s.len; i += w) {
        uint32_t r = utf8_decode((const unsigned char *)s.ptr + i, s.len - i, &w);
        if (rune_in(r, chars)) {
            found = (int64_t)i;
            if (!last)
                break;
        }
    }
    return found;
}

/* ---- Unicode case mapping: ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic ---- */

static uint32_t to_lower(uint32_t r)
{
    if (r < 0x80)
        return r >= 'A' && r <= 'Z' ? r + 32 : r;
    if ((r >= 0xC0 && r <= 0xDE && r != 0xD7) || (r >= 0x391 && r <= 0x3AB && r != 0x3A2) || (r >= 0x410 && r <= 0x42F))
        return r + 32;
    if (r >= 0x400 && r <= 0x40F)
        return r + 80;
    if ((r >= 0x100 && r <= 0x12F) || (r >= 0x132 && r <= 0x137) || (r >= 0x14A && r <= 0x177))
        return r | 1;
    if ((r >= 0x139 && r <= 0x148) || (r >= 0x179 && r <= 0x17E))
        return (r & 1) ? r + 1 : r;
    if (r == 0x178)
        return 0xFF;
    return r;
}

static uint32_t to_upper(uint32_t r)
{
    if (r < 0x80)
        return r >= 'a' && r <= 'z' ? r - 32 : r;
    if ((r >= 0xE0 && r <= 0xFE && r != 0xF7) || (r >= 0x3B1 && r <= 0x3CB && r != 0x3C2) || (r >= 0x430 && r <= 0x44F))
        return r - 32;
    if (r == 0x3C2)
        return 0x3A3; /* final sigma */
    if (r >= 0x450 && r <= 0x45F)
        return r - 80;
    if ((r >= 0x100 && r <= 0x12F) || (r >= 0x132 && r <= 0x137) || (r >= 0x14A && r <= 0x177))
        return r & ~1u;
    if ((r >= 0x139 && r <= 0x148) || (r >= 0x179 && r <= 0x17E))
        return (r & 1) ? r : r - 1;
    if (r == 0xFF)
        return 0x178;
    if (r == 0xB5)
        return 0x39C; /* micro sign -> capital mu, as Go */
    return r;
}

static bool is_space(uint32_t r)
{
    switch (r) {
    case '\t': case '\n': case '\v': case '\f': case '\r': case ' ': case 0x85: case 0xA0: case 0x1680:
    case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000:
        return true;
    default:
        return r >= 0x2000 && r <= 0x200A;
    }
}

/* ---- argument error wording ---- */

static const char *const ordinal[] = { "first", "second", "third", "fourth" };

static const char *sig_type_word(tick_vtype_t t)
{
    return t == S ? "string" : t == I ? "int" : t == R ? "regex" : tick_vtype_name(t);
}

static bool accepted_at(const tick_fn_t *f, unsigned n, unsigned i, tick_vtype_t t)
{
    for (unsigned k = 0; k < f->n_sigs; k++)
        if (f->sigs[k].n == n && f->sigs[k].args[i] == t)
            return true;
    return false;
}

static tick_vtype_t first_sig_type(const tick_fn_t *f, unsigned n, unsigned i)
{
    for (unsigned k = 0; k < f->n_sigs; k++)
        if (f->sigs[k].n == n)
            return f->sigs[k].args[i];
    return TICK_V_INVALID;
}

static void arg_error(const tick_fn_t *f, const tick_vtype_t *types, unsigned n, char *emsg)
{
    unsigned i = 0;
    while (i < n && (types[i] == TICK_V_INVALID || accepted_at(f, n, i, types[i])))
        i++;
    if (strcmp(f->name, "duration") == 0 && n == 1 && (types[0] == I || types[0] == F)) {
        snprintf(emsg, EMSG_LEN, "duration expects unit argument for int and float values");
        return;
    }
    if (f->style == FS_IF) {
        if (types[0] != TICK_V_INVALID && types[0] != B)
            snprintf(emsg, EMSG_LEN, "first argument to if must be a condition with type of bool - got %s",
                     tick_vtype_goname(types[0]));
        else
            snprintf(emsg, EMSG_LEN, "Different return types are not supported - second argument is %s and third argument is %s",
                     tick_vtype_goname(types[1]), tick_vtype_goname(types[2]));
        return;
    }
    if (i == n) { /* each argument fits some signature, the combination does not */
        if (strcmp(f->name, "duration") == 0 && n == 1)
            snprintf(emsg, EMSG_LEN, "duration expects unit argument for int and float values");
        else if (strcmp(f->name, "duration") == 0)
            snprintf(emsg, EMSG_LEN, "invalid duration unit type: %s", tick_vtype_goname(types[1]));
        else
            snprintf(emsg, EMSG_LEN, "%s cannot take these argument types", f->name);
        return;
    }
    const char *got = tick_vtype_goname(types[i]);
    tick_vtype_t want = first_sig_type(f, n, i);
    switch (f->style) {
    case FS_MATH:
        snprintf(emsg, EMSG_LEN, "cannot pass %s to %s, must be %s", got, f->name, want == I ? "int64" : "float64");
        break;
    case FS_MATHIF:
        snprintf(emsg, EMSG_LEN, "cannot pass %s to %s as %s arg, must be %s", got, f->name, ordinal[i],
                 want == I ? "int64" : "float64");
        break;
    case FS_STR:
        snprintf(emsg, EMSG_LEN, "cannot pass %s as %s arg to %s, must be %s", got, ordinal[i], f->name, sig_type_word(want));
        break;
    case FS_CONV:
        if (strcmp(f->name, "duration") == 0 && i == 1)
            snprintf(emsg, EMSG_LEN, "invalid duration unit type: %s", got);
        else
            snprintf(emsg, EMSG_LEN, "cannot convert %s to %s", got, f->what);
        break;
    case FS_TIME:
        snprintf(emsg, EMSG_LEN, "cannot convert %s to time.Time", got);
        break;
    case FS_FLOAT:
        snprintf(emsg, EMSG_LEN, "value is not a float");
        break;
    default:
        snprintf(emsg, EMSG_LEN, "cannot pass %s as %s arg to %s", got, ordinal[i], f->name);
        break;
    }
}

int fn_check(const tick_fn_t *f, const tick_vtype_t *types, unsigned n, tick_vtype_t *ret, char *emsg)
{
    if (n < f->min_args || n > f->max_args) {
        snprintf(emsg, EMSG_LEN, "%s", f->count_msg);
        return -1;
    }
    bool found = false;
    for (unsigned k = 0; k < f->n_sigs; k++) {
        const fn_sig_t *s = &f->sigs[k];
        unsigned i = 0;
        if (s->n != n)
            continue;
        while (i < n && (types[i] == TICK_V_INVALID || types[i] == s->args[i]))
            i++;
        if (i < n)
            continue;
        if (!found)
            *ret = s->ret;
        else if (*ret != s->ret)
            *ret = TICK_V_INVALID;
        found = true;
    }
    if (!found)
        arg_error(f, types, n, emsg);
    return found ? 0 : -1;
}

/* ---- conversions ---- */

static int go_parse_bool(fa_str_t s, bool *out)
{
    static const char *const t[] = { "1", "t", "T", "TRUE", "true", "True" };
    static const char *const f[] = { "0", "f", "F", "FALSE", "false", "False" };
    for (int i = 0; i < 6; i++) {
        if (fa_str_eq_c(s, t[i]))
            return *out = true, 0;
        if (fa_str_eq_c(s, f[i]))
            return *out = false, 0;
    }
    return -1;
}

static int fn_bool(fn_call_t *c)
{
    const tick_value_t *a = &c->argv[0];
    char num[40];
    bool b;
    switch (a->type) {
    case B:
        *c->out = *a;
        return 0;
    case S:
        if (go_parse_bool(a->s, &b) != 0) {
            snprintf(c->emsg, EMSG_LEN, "strconv.ParseBool: parsing \"%.*s\": invalid syntax", (int)(a->s.len > 100 ? 100 : a->s.len), a->s.ptr);
            return -1;
        }
        *c->out = tick_bool(b);
        return 0;
    default:
        if ((a->type == I && (a->i == 0 || a->i == 1)) || (a->type == F && (a->f == 0 || a->f == 1))) {
            *c->out = tick_bool(a->type == I ? a->i == 1 : a->f == 1);
            return 0;
        }
        tick_value_format(num, sizeof num, a);
        snprintf(c->emsg, EMSG_LEN, "cannot convert %s to boolean", num);
        return -1;
    }
}

static int copy_cstr(fa_str_t s, char *buf, size_t len)
{
    if (s.len >= len)
        return -1;
    if (s.len)
        memcpy(buf, s.ptr, s.len);
    buf[s.len] = '\0';
    return 0;
}

static int fn_int(fn_call_t *c)
{
    const tick_value_t *a = &c->argv[0];
    char buf[64], *end;
    switch (a->type) {
    case F:
        *c->out = tick_int(vm_f2i(a->f));
        return 0;
    case B:
        *c->out = tick_int(a->b);
        return 0;
    case S:
        errno = 0;
        if (copy_cstr(a->s, buf, sizeof buf) == 0 && a->s.len > 0 && buf[0] != ' ' && buf[0] != '\t' &&
            buf[0] != '\n' && ((void)(*c->out = tick_int(strtoll(buf, &end, 10))), *end == '\0') && errno == 0)
            return 0;
        snprintf(c->emsg, EMSG_LEN, "strconv.ParseInt: parsing \"%.*s\": %s", (int)(a->s.len > 100 ? 100 : a->s.len),
                 a->s.ptr, errno == ERANGE ? "value out of range" : "invalid syntax");
        return -1;
    default: /* int, duration */
        *c->out = tick_int(a->i);
        return 0;
    }
}

static int fn_float(fn_call_t *c)
{
    const tick_value_t *a = &c->argv[0];
    char buf[400], *end;
    switch (a->type) {
    case I:
        *c->out = tick_float((double)a->i);
        return 0;
    case B:
        *c->out = tick_float(a->b ? 1 : 0);
        return 0;
    case S:
        errno = 0;
        if (copy_cstr(a->s, buf, sizeof buf) == 0 && a->s.len > 0 && (buf[0] == '-' || buf[0] == '+' || buf[0] == '.' ||
                                                                       (buf[0] >= '0' && buf[0] <= '9') || buf[0] == 'i' ||
                                                                       buf[0] == 'I' || buf[0] == 'n' || buf[0] == 'N')) {
            double v = strtod(buf, &end);
            if (*end == '\0' && (errno == 0 || fabs(v) < 1)) {
                *c->out = tick_float(v);
                return 0;
            }
        }
        snprintf(c->emsg, EMSG_LEN, "strconv.ParseFloat: parsing \"%.*s\": %s", (int)(a->s.len > 100 ? 100 : a->s.len),
                 a->s.ptr, errno == ERANGE ? "value out of range" : "invalid syntax");
        return -1;
    default:
        *c->out = *a;
        return 0;
    }
}

static int fn_string(fn_call_t *c)
{
    const tick_value_t *a = &c->argv[0];
    char buf[400];
    if (a->type == S) {
        *c->out = *a;
        return 0;
    }
    int n = tick_value_format(buf, sizeof buf, a);
    char *p = vm_scratch(c->scratch, (size_t)n, c->emsg);
    if (p == NULL)
        return -1;
    memcpy(p, buf, (size_t)n);
    *c->out = tick_string(fa_str(p, (size_t)n));
    return 0;
}

static int fn_duration(fn_call_t *c)
{
    const tick_value_t *a = &c->argv[0];
    int64_t d;
    switch (a->type) {
    case D:
        *c->out = *a;
        return 0;
    case I:
        *c->out = tick_duration((int64_t)((uint64_t)a->i * (uint64_t)c->argv[1].i));
        return 0;
    case F:
        *c->out = tick_duration(vm_f2i(a->f * (double)c->argv[1].i));
        return 0;
    default: /* string */
        if (fa_duration_parse(a->s, FA_DUR_INFLUXQL_PARSE, &d) != 0) {
            snprintf(c->emsg, EMSG_LEN, "invalid duration string \"%.*s\"", (int)(a->s.len > 100 ? 100 : a->s.len), a->s.ptr);
            return -1;
        }
        *c->out = tick_duration(d);
        return 0;
    }
}

/* ---- math ---- */


static double go_logb(double x)
{
    if (x == 0)
        return -INFINITY;
    if (isinf(x))
        return INFINITY;
    if (isnan(x))
        return x;
    return logb(x);
}

static double go_pow10(int64_t n)
{
    if (n < -323)
        return 0;
    if (n > 308)
        return INFINITY;
    return pow(10, (double)n);
}

/* Go's math.Min/Max: NaN wins, and -0 < +0 */
static double go_max(double a, double b)
{
    if (isinf(a) && a > 0) return a;
    if (isinf(b) && b > 0) return b;
    if (isnan(a) || isnan(b)) return NAN;
    if (a == 0 && b == 0) return signbit(a) ? b : a;
    return a > b ? a : b;
}

static double go_min(double a, double b)
{
    if (isinf(a) && a < 0) return a;
    if (isinf(b) && b < 0) return b;
    if (isnan(a) || isnan(b)) return NAN;
    if (a == 0 && b == 0) return signbit(a) ? a : b;
    return a < b ? a : b;
}

static double go_gamma(double x) { return tgamma(x); }

#define MATH1(fname, cfn) \
    static int fn_m_##fname(fn_call_t *c) { *c->out = tick_float(cfn(c->argv[0].f)); return 0; }
#define MATH2(fname, cfn) \
    static int fn_m_##fname(fn_call_t *c) { *c->out = tick_float(cfn(c->argv[0].f, c->argv[1].f)); return 0; }
MATH1(abs, fabs) MATH1(acos, acos) MATH1(acosh, acosh) MATH1(asin, asin) MATH1(asinh, asinh) MATH1(atan, atan)
MATH1(atanh, atanh) MATH1(cbrt, cbrt) MATH1(ceil, ceil) MATH1(cos, cos) MATH1(cosh, cosh) MATH1(erf, erf)
MATH1(erfc, erfc) MATH1(exp, exp) MATH1(exp2, exp2) MATH1(expm1, expm1) MATH1(floor, floor) MATH1(gamma, go_gamma)
MATH1(j0, j0) MATH1(j1, j1) MATH1(log, log) MATH1(log10, log10) MATH1(log1p, log1p) MATH1(log2, log2)
MATH1(logb, go_logb) MATH1(sin, sin) MATH1(sinh, sinh) MATH1(sqrt, sqrt) MATH1(tan, tan) MATH1(tanh, tanh)
MATH1(trunc, trunc) MATH1(y0, y0) MATH1(y1, y1)
MATH2(atan2, atan2) MATH2(hypot, hypot) MATH2(max, go_max) MATH2(min, go_min) MATH2(mod, fmod) MATH2(pow, pow)

static int fn_pow10(fn_call_t *c)
{
    *c->out = tick_float(go_pow10(c->argv[0].i));
    return 0;
}

static int fn_jn(fn_call_t *c)
{
    *c->out = tick_float(jn((int)c->argv[0].i, c->argv[1].f));
    return 0;
}

static int fn_yn(fn_call_t *c)
{
    *c->out = tick_float(yn((int)c->argv[0].i, c->argv[1].f));
    return 0;
}

/* ---- strings ---- */

#define A0 (c->argv[0].s)
#define A1 (c->argv[1].s)

static int fn_str_contains(fn_call_t *c) { *c->out = tick_bool(memfind(A0, A1) != NULL); return 0; }
static int fn_str_contains_any(fn_call_t *c) { *c->out = tick_bool(index_any(A0, A1, false) >= 0); return 0; }
static int fn_str_count(fn_call_t *c) { *c->out = tick_int(str_count(A0, A1)); return 0; }
static int fn_str_has_prefix(fn_call_t *c)
{
    *c->out = tick_bool(A0.len >= A1.len && (A1.len == 0 || memcmp(A0.ptr, A1.ptr, A1.len) == 0));
    return 0;
}
static int fn_str_has_suffix(fn_call_t *c)
{
    *c->out = tick_bool(A0.len >= A1.len && (A1.len == 0 || memcmp(A0.ptr + A0.len - A1.len, A1.ptr, A1.len) == 0));
    return 0;
}
static int fn_str_index(fn_call_t *c) { *c->out = tick_int(str_index(A0, A1)); return 0; }
static int fn_str_index_any(fn_call_t *c) { *c->out = tick_int(index_any(A0, A1, false)); return 0; }
static int fn_str_last_index(fn_call_t *c) { *c->out = tick_int(str_last_index(A0, A1)); return 0; }
static int fn_str_last_index_any(fn_call_t *c) { *c->out = tick_int(index_any(A0, A1, true)); return 0; }
static int fn_str_length(fn_call_t *c) { *c->out = tick_int((int64_t)rune_count(A0)); return 0; }

static int map_case(fn_call_t *c, uint32_t (*map)(uint32_t))
{
    fa_str_t s = A0;
    char *p = vm_scratch(c->scratch, s.len * 3, c->emsg); /* an invalid byte becomes U+FFFD: 3 bytes */
    size_t o = 0, w;
    if (p == NULL)
        return -1;
    for (size_t i = 0; i < s.len; i += w) {
        uint32_t r = utf8_decode((const unsigned char *)s.ptr + i, s.len - i, &w);
        o += utf8_encode(map(r), p + o);
    }
    *c->out = tick_string(fa_str(p, o));
    return 0;
}

static int fn_str_to_lower(fn_call_t *c) { return map_case(c, to_lower); }
static int fn_str_to_upper(fn_call_t *c) { return map_case(c, to_upper); }

static fa_str_t trim_left_set(fa_str_t s, fa_str_t set, bool space)
{
    size_t w;
    while (s.len > 0) {
        uint32_t r = utf8_decode((const unsigned char *)s.ptr, s.len, &w);
        if (!(space ? is_space(r) : rune_in(r, set)))
            break;
        s = fa_str(s.ptr + w, s.len - w);
    }
    return s;
}

/* the start of the last rune of s (s non-empty) */
static size_t last_rune(fa_str_t s, uint32_t *r)
{
    size_t start = s.len - 1, w;
    while (start > 0 && s.len - start < 4 && ((unsigned char)s.ptr[start] & 0xC0) == 0x80)
        start--;
    *r = utf8_decode((const unsigned char *)s.ptr + start, s.len - start, &w);
    if (start + w != s.len) { /* not a full rune: the last byte alone is invalid */
        *r = 0xFFFD;
        start = s.len - 1;
    }
    return start;
}

static fa_str_t trim_right_set(fa_str_t s, fa_str_t set, bool space)
{
    while (s.len > 0) {
        uint32_t r;
        size_t start = last_rune(s, &r);
        if (!(space ? is_space(r) : rune_in(r, set)))
            break;
        s.len = start;
    }
    return s;
}

static int fn_str_trim(fn_call_t *c) { *c->out = tick_string(trim_right_set(trim_left_set(A0, A1, false), A1, false)); return 0; }
static int fn_str_trim_left(fn_call_t *c) { *c->out = tick_string(trim_left_set(A0, A1, false)); return 0; }
static int fn_str_trim_right(fn_call_t *c) { *c->out = tick_string(trim_right_set(A0, A1, false)); return 0; }
static int fn_str_trim_space(fn_call_t *c)
{
    *c->out = tick_string(trim_right_set(trim_left_set(A0, A1, true), A1, true));
    return 0;
}
static int fn_str_trim_prefix(fn_call_t *c)
{
    fa_str_t s = A0;
    if (s.len >= A1.len && A1.len > 0 && memcmp(s.ptr, A1.ptr, A1.len) == 0)
        s = fa_str(s.ptr + A1.len, s.len - A1.len);
    *c->out = tick_string(s);
    return 0;
}
static int fn_str_trim_suffix(fn_call_t *c)
{
    fa_str_t s = A0;
    if (s.len >= A1.len && A1.len > 0 && memcmp(s.ptr + s.len - A1.len, A1.ptr, A1.len) == 0)
        s.len -= A1.len;
    *c->out = tick_string(s);
    return 0;
}

/* strings.Replace(s, old, new, n) */
static int fn_str_replace(fn_call_t *c)
{
    fa_str_t s = A0, old = A1, repl = c->argv[2].s;
    int64_t n = c->argv[3].i, m;
    if (fa_str_eq(old, repl) || n == 0 || (m = str_count(s, old)) == 0) {
        *c->out = tick_string(s);
        return 0;
    }
    if (n < 0 || m < n)
        n = m;
    size_t cap = s.len + (size_t)n * repl.len, o = 0, start = 0, w;
    char *p = vm_scratch(c->scratch, cap, c->emsg);
    if (p == NULL)
        return -1;
    for (int64_t i = 0; i < n; i++) {
        size_t j = start;
        if (old.len == 0) {
            if (i > 0 && start < s.len) {
                utf8_decode((const unsigned char *)s.ptr + start, s.len - start, &w);
                j += w;
            }
        } else {
            j += (size_t)str_index(fa_str(s.ptr + start, s.len - start), old);
        }
        memcpy(p + o, s.ptr + start, j - start);
        o += j - start;
        if (repl.len)
            memcpy(p + o, repl.ptr, repl.len);
        o += repl.len;
        start = j + old.len;
    }
    if (start < s.len)
        memcpy(p + o, s.ptr + start, s.len - start);
    o += s.len > start ? s.len - start : 0;
    *c->out = tick_string(fa_str(p, o));
    return 0;
}

static int fn_str_substring(fn_call_t *c)
{
    fa_str_t s = A0;
    int64_t start = c->argv[1].i, stop = c->argv[2].i;
    if (start < 0 || stop < 0) {
        snprintf(c->emsg, EMSG_LEN, "found negative index for strSubstring: %" PRId64, start < 0 ? start : stop);
        return -1;
    }
    if ((uint64_t)stop > s.len) {
        snprintf(c->emsg, EMSG_LEN, "stop index too large for string in strSubstring: %" PRId64, stop);
        return -1;
    }
    if (start > stop) {
        snprintf(c->emsg, EMSG_LEN, "slice bounds out of range [%" PRId64 ":%" PRId64 "]", start, stop);
        return -1;
    }
    *c->out = tick_string(fa_str(s.ptr + start, (size_t)(stop - start)));
    return 0;
}

/* ---- regexReplace: Go's ReplaceAllString with $1, ${1}, $name, ${name} and $$ ---- */

static int buf_put(char **p, size_t *o, size_t *cap, fa_arena_t *scratch, const char *src, size_t n, char *emsg)
{
    if (*o + n > *cap) {
        size_t ncap = (*cap + n) * 2;
        char *np = vm_scratch(scratch, ncap, emsg);
        if (np == NULL)
            return -1;
        if (*o)
            memcpy(np, *p, *o);
        *p = np;
        *cap = ncap;
    }
    if (n)
        memcpy(*p + *o, src, n);
    *o += n;
    return 0;
}

static bool is_name_char(char ch)
{
    return ch == '_' || (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

/* group number for a template name: all digits = number, else a named group; -1 = none */
static int group_of(const tick_regex_t *re, const char *name, size_t n)
{
    char tmp[64];
    bool digits = true;
    int g = 0;
    for (size_t i = 0; i < n; i++) {
        digits = digits && name[i] >= '0' && name[i] <= '9';
        if (digits && g < 100000)
            g = g * 10 + (name[i] - '0');
    }
    if (digits)
        return g;
    if (n >= sizeof tmp)
        return -1;
    memcpy(tmp, name, n);
    tmp[n] = '\0';
    int r = pcre2_substring_number_from_name(re->code, (PCRE2_SPTR)tmp);
    return r < 0 ? -1 : r;
}

static int expand(const tick_regex_t *re, fa_str_t subj, fa_str_t tmpl, const PCRE2_SIZE *ov, uint32_t nov,
                  char **p, size_t *o, size_t *cap, fa_arena_t *scratch, char *emsg)
{
    for (size_t i = 0; i < tmpl.len;) {
        const char *t = tmpl.ptr;
        size_t j = i;
        while (j < tmpl.len && t[j] != '$')
            j++;
        if (buf_put(p, o, cap, scratch, t + i, j - i, emsg) != 0)
            return -1;
        if (j >= tmpl.len)
            break;
        i = j + 1;
        size_t ns, ne;
        if (i < tmpl.len && t[i] == '$') {
            if (buf_put(p, o, cap, scratch, "$", 1, emsg) != 0)
                return -1;
            i++;
            continue;
        }
        if (i < tmpl.len && t[i] == '{') {
            ns = i + 1;
            ne = ns;
            while (ne < tmpl.len && is_name_char(t[ne]))
                ne++;
            if (ne == ns || ne >= tmpl.len || t[ne] != '}') { /* malformed: keep the $ */
                if (buf_put(p, o, cap, scratch, "$", 1, emsg) != 0)
                    return -1;
                continue;
            }
            i = ne + 1;
        } else {
            ns = ne = i;
            while (ne < tmpl.len && is_name_char(t[ne]))
                ne++;
            if (ne == ns) {
                if (buf_put(p, o, cap, scratch, "$", 1, emsg) != 0)
                    return -1;
                continue;
            }
            i = ne;
        }
        int g = group_of(re, t + ns, ne - ns);
        if (g >= 0 && (uint32_t)g < nov && ov[2 * g] != PCRE2_UNSET &&
            buf_put(p, o, cap, scratch, subj.ptr + ov[2 * g], ov[2 * g + 1] - ov[2 * g], emsg) != 0)
            return -1;
    }
    return 0;
}

static int fn_regex_replace(fn_call_t *c)
{
    const tick_regex_t *re = c->argv[0].re;
    fa_str_t subj = c->argv[1].s, tmpl = c->argv[2].s;
    PCRE2_SPTR sp = (PCRE2_SPTR)(subj.ptr ? subj.ptr : "");
    size_t cap = subj.len + 16, o = 0, pos = 0, last_end = 0;
    bool any_prev = false;
    char *p = vm_scratch(c->scratch, cap, c->emsg);
    if (p == NULL)
        return -1;
    while (pos <= subj.len) {
        int rc = pcre2_match(re->code, sp, subj.len, pos, 0, re->md, NULL);
        if (rc < 0)
            break;
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(re->md);
        uint32_t nov = pcre2_get_ovector_count(re->md);
        size_t ms = ov[0], me = ov[1];
        if (!(ms == me && any_prev && ms == last_end)) { /* Go ignores an empty match right after a match */
            if (buf_put(&p, &o, &cap, c->scratch, subj.ptr + last_end, ms - last_end, c->emsg) != 0 ||
                expand(re, subj, tmpl, ov, nov, &p, &o, &cap, c->scratch, c->emsg) != 0)
                return -1;
            last_end = me;
            any_prev = true;
        }
        if (me > ms) {
            pos = me;
        } else { /* empty match: step one rune */
            size_t w = 1;
            if (ms < subj.len)
                utf8_decode((const unsigned char *)subj.ptr + ms, subj.len - ms, &w);
            pos = ms + w;
        }
    }
    if (buf_put(&p, &o, &cap, c->scratch, subj.ptr + last_end, subj.len - last_end, c->emsg) != 0)
        return -1;
    *c->out = tick_string(fa_str(p, o));
    return 0;
}

/* ---- time (UTC) ---- */

static int64_t floor_div(int64_t a, int64_t b) { return a / b - (a % b != 0 && ((a < 0) != (b < 0))); }

static void civil(int64_t ns, int64_t *y, int *mon, int *day, int *hour, int *min, int *wday)
{
    int64_t secs = floor_div(ns, 1000000000LL);
    int64_t days = floor_div(secs, 86400), rem = secs - days * 86400;
    *hour = (int)(rem / 3600);
    *min = (int)(rem % 3600 / 60);
    *wday = (int)((days % 7 + 11) % 7); /* 1970-01-01 was a Thursday */
    int64_t z = days + 719468, era = floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *day = (int)(doy - (153 * mp + 2) / 5 + 1);
    *mon = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*mon <= 2);
}

enum { TF_MINUTE, TF_HOUR, TF_WEEKDAY, TF_DAY, TF_MONTH, TF_YEAR };

static int time_part(fn_call_t *c, int part)
{
    int64_t y;
    int mon, day, hour, min, wday;
    civil(c->argv[0].i, &y, &mon, &day, &hour, &min, &wday);
    int64_t v = part == TF_MINUTE ? min : part == TF_HOUR ? hour : part == TF_WEEKDAY ? wday
              : part == TF_DAY ? day : part == TF_MONTH ? mon : y;
    *c->out = tick_int(v);
    return 0;
}

static int fn_minute(fn_call_t *c) { return time_part(c, TF_MINUTE); }
static int fn_hour(fn_call_t *c) { return time_part(c, TF_HOUR); }
static int fn_weekday(fn_call_t *c) { return time_part(c, TF_WEEKDAY); }
static int fn_day(fn_call_t *c) { return time_part(c, TF_DAY); }
static int fn_month(fn_call_t *c) { return time_part(c, TF_MONTH); }
static int fn_year(fn_call_t *c) { return time_part(c, TF_YEAR); }
static int fn_unix_nano(fn_call_t *c) { *c->out = tick_int(c->argv[0].i); return 0; }
static int fn_now(fn_call_t *c) { *c->out = tick_time(c->ctx ? c->ctx->now : 0); return 0; }

/* ---- other ---- */

static int fn_is_present(fn_call_t *c) { *c->out = tick_bool(c->argv[0].type != M); return 0; }

static int fn_if(fn_call_t *c)
{
    *c->out = c->argv[0].b ? c->argv[1] : c->argv[2];
    return 0;
}

/* go-humanize Bytes: SI units, one decimal below 10 */
static int fn_human_bytes(fn_call_t *c)
{
    static const char *const sizes[] = { "B", "kB", "MB", "GB", "TB", "PB", "EB" };
    const tick_value_t *a = &c->argv[0];
    uint64_t s = a->type == I ? (uint64_t)a->i : (a->f >= 0 && a->f < 18446744073709551616.0) ? (uint64_t)a->f
                                                                                          : (uint64_t)vm_f2i(a->f);
    char buf[40];
    int n;
    if (s < 10) {
        n = snprintf(buf, sizeof buf, "%" PRIu64 " B", s);
    } else {
        double e = floor(log((double)s) / log(1000.0));
        double val = floor((double)s / pow(1000.0, e) * 10 + 0.5) / 10;
        n = snprintf(buf, sizeof buf, val < 10 ? "%.1f %s" : "%.0f %s", val, sizes[(int)e]);
    }
    char *p = vm_scratch(c->scratch, (size_t)n, c->emsg);
    if (p == NULL)
        return -1;
    memcpy(p, buf, (size_t)n);
    *c->out = tick_string(fa_str(p, (size_t)n));
    return 0;
}

/* ---- stateful ---- */

struct sigma_state { double mean, m2, n; };
struct spread_state { double min, max; };

static void sigma_init(void *st) { *(struct sigma_state *)st = (struct sigma_state){ 0, 0, 0 }; }
static void count_init(void *st) { *(int64_t *)st = 0; }
static void spread_init(void *st) { *(struct spread_state *)st = (struct spread_state){ INFINITY, -INFINITY }; }

static int fn_sigma(fn_call_t *c)
{
    struct sigma_state *s = c->state;
    double x = c->argv[0].f;
    s->n++;
    double delta = x - s->mean;
    s->mean += delta / s->n;
    s->m2 += delta * (x - s->mean);
    double variance = s->m2 / (s->n - 1);
    *c->out = tick_float(s->n < 2 || variance == 0 ? 0 : fabs(x - s->mean) / sqrt(variance));
    return 0;
}

static int fn_count(fn_call_t *c)
{
    int64_t *n = c->state;
    *c->out = tick_int(++*n);
    return 0;
}

static int fn_spread(fn_call_t *c)
{
    struct spread_state *s = c->state;
    double x = c->argv[0].f;
    if (x < s->min)
        s->min = x;
    if (x > s->max)
        s->max = x;
    *c->out = tick_float(s->max - s->min);
    return 0;
}

/* ---- the table ---- */

static const fn_sig_t sig_f_f[] = { { 1, { F }, F } };
static const fn_sig_t sig_ff_f[] = { { 2, { F, F }, F } };
static const fn_sig_t sig_i_f[] = { { 1, { I }, F } };
static const fn_sig_t sig_if_f[] = { { 2, { I, F }, F } };
static const fn_sig_t sig_ss_b[] = { { 2, { S, S }, B } };
static const fn_sig_t sig_ss_i[] = { { 2, { S, S }, I } };
static const fn_sig_t sig_ss_s[] = { { 2, { S, S }, S } };
static const fn_sig_t sig_s_s[] = { { 1, { S }, S } };
static const fn_sig_t sig_s_i[] = { { 1, { S }, I } };
static const fn_sig_t sig_sssi_s[] = { { 4, { S, S, S, I }, S } };
static const fn_sig_t sig_sii_s[] = { { 3, { S, I, I }, S } };
static const fn_sig_t sig_rss_s[] = { { 3, { R, S, S }, S } };
static const fn_sig_t sig_t_i[] = { { 1, { T }, I } };
static const fn_sig_t sig_none_t[] = { { 0, { 0 }, T } };
static const fn_sig_t sig_none_i[] = { { 0, { 0 }, I } };
static const fn_sig_t sig_bool[] = { { 1, { B }, B }, { 1, { S }, B }, { 1, { I }, B }, { 1, { F }, B } };
static const fn_sig_t sig_int[] = { { 1, { B }, I }, { 1, { S }, I }, { 1, { I }, I }, { 1, { F }, I }, { 1, { D }, I } };
static const fn_sig_t sig_float[] = { { 1, { B }, F }, { 1, { S }, F }, { 1, { I }, F }, { 1, { F }, F } };
static const fn_sig_t sig_string[] = { { 1, { B }, S }, { 1, { S }, S }, { 1, { I }, S }, { 1, { F }, S }, { 1, { D }, S } };
static const fn_sig_t sig_duration[] = { { 1, { D }, D }, { 1, { S }, D }, { 2, { I, D }, D }, { 2, { F, D }, D },
                                         { 2, { S, D }, D }, { 2, { D, D }, D } };
static const fn_sig_t sig_present[] = { { 1, { M }, B }, { 1, { B }, B }, { 1, { S }, B }, { 1, { I }, B },
                                        { 1, { F }, B }, { 1, { T }, B }, { 1, { D }, B } };
static const fn_sig_t sig_human[] = { { 1, { F }, S }, { 1, { I }, S } };
static const fn_sig_t sig_if[] = { { 3, { B, F, F }, F }, { 3, { B, I, I }, I }, { 3, { B, S, S }, S },
                                   { 3, { B, B, B }, B }, { 3, { B, R, R }, R }, { 3, { B, T, T }, T },
                                   { 3, { B, D, D }, D } };

#define NSIG(a) (uint8_t)(sizeof a / sizeof a[0]), 
#define M1(n) { #n, 1, 1, #n " expects exactly one argument", sig_f_f, 1, FS_MATH, NULL, fn_m_##n, 0, NULL, false }
#define M2(n) { #n, 2, 2, #n " expects exactly two arguments", sig_ff_f, 1, FS_MATH, NULL, fn_m_##n, 0, NULL, false }
#define S2(n, sig, f) { #n, 2, 2, #n " expects exactly two arguments", sig, 1, FS_STR, NULL, f, 0, NULL, false }
#define S1(n, sig, f) { #n, 1, 1, #n " expects exactly one argument", sig, 1, FS_STR, NULL, f, 0, NULL, false }
#define TF(n, f) { #n, 1, 1, #n " expects exactly one argument", sig_t_i, 1, FS_TIME, NULL, f, 0, NULL, false }
#define CONV(n, sig, what, f) { #n, 1, 1, #n " expects exactly one argument", sig, NSIG(sig) FS_CONV, what, f, 0, NULL, false }

static const tick_fn_t fns[] = {
    CONV(bool, sig_bool, "boolean", fn_bool),
    CONV(int, sig_int, "integer", fn_int),
    CONV(float, sig_float, "float", fn_float),
    CONV(string, sig_string, "string", fn_string),
    { "duration", 1, 2, "duration expects one or two arguments duration(value, unit) where unit is optional depending on the type of value.",
      sig_duration, NSIG(sig_duration) FS_CONV, "duration", fn_duration, 0, NULL, false },
    M1(abs), M1(acos), M1(acosh), M1(asin), M1(asinh), M1(atan), M2(atan2), M1(atanh), M1(cbrt), M1(ceil), M1(cos),
    M1(cosh), M1(erf), M1(erfc), M1(exp), M1(exp2), M1(expm1), M1(floor), M1(gamma), M2(hypot), M1(j0), M1(j1),
    { "jn", 2, 2, "jn expects exactly two arguments", sig_if_f, 1, FS_MATHIF, NULL, fn_jn, 0, NULL, false },
    M1(log), M1(log10), M1(log1p), M1(log2), M1(logb), M2(max), M2(min), M2(mod), M2(pow),
    { "pow10", 1, 1, "pow10 expects exactly one argument", sig_i_f, 1, FS_MATH, NULL, fn_pow10, 0, NULL, false },
    M1(sin), M1(sinh), M1(sqrt), M1(tan), M1(tanh), M1(trunc), M1(y0), M1(y1),
    { "yn", 2, 2, "yn expects exactly two arguments", sig_if_f, 1, FS_MATHIF, NULL, fn_yn, 0, NULL, false },
    S2(strContains, sig_ss_b, fn_str_contains),
    S2(strContainsAny, sig_ss_b, fn_str_contains_any),
    S2(strCount, sig_ss_i, fn_str_count),
    S2(strHasPrefix, sig_ss_b, fn_str_has_prefix),
    S2(strHasSuffix, sig_ss_b, fn_str_has_suffix),
    S2(strIndex, sig_ss_i, fn_str_index),
    S2(strIndexAny, sig_ss_i, fn_str_index_any),
    S2(strLastIndex, sig_ss_i, fn_str_last_index),
    S2(strLastIndexAny, sig_ss_i, fn_str_last_index_any),
    S1(strLength, sig_s_i, fn_str_length),
    { "strReplace", 4, 4, "strReplace expects exactly four arguments", sig_sssi_s, 1, FS_STR, NULL, fn_str_replace, 0, NULL, false },
    { "strSubstring", 3, 3, "strSubstring expects exactly three arguments", sig_sii_s, 1, FS_STR, NULL, fn_str_substring, 0, NULL, false },
    S1(strToLower, sig_s_s, fn_str_to_lower),
    S1(strToUpper, sig_s_s, fn_str_to_upper),
    S2(strTrim, sig_ss_s, fn_str_trim),
    S2(strTrimLeft, sig_ss_s, fn_str_trim_left),
    S2(strTrimPrefix, sig_ss_s, fn_str_trim_prefix),
    S2(strTrimRight, sig_ss_s, fn_str_trim_right),
    S1(strTrimSpace, sig_s_s, fn_str_trim_space),
    S2(strTrimSuffix, sig_ss_s, fn_str_trim_suffix),
    { "regexReplace", 3, 3, "regexReplace expects exactly three arguments", sig_rss_s, 1, FS_STR, NULL, fn_regex_replace, 0, NULL, false },
    TF(unixNano, fn_unix_nano), TF(minute, fn_minute), TF(hour, fn_hour), TF(weekday, fn_weekday), TF(day, fn_day),
    TF(month, fn_month), TF(year, fn_year),
    { "now", 0, 0, "now expects no arguments", sig_none_t, 1, FS_ANY, NULL, fn_now, 0, NULL, true },
    { "isPresent", 1, 1, "isPresent expects exactly one argument", sig_present, NSIG(sig_present) FS_ANY, NULL, fn_is_present, 0, NULL, false },
    { "humanBytes", 1, 1, "humanBytes expects exactly one argument", sig_human, NSIG(sig_human) FS_CONV, "humanBytes", fn_human_bytes, 0, NULL, false },
    { "if", 3, 3, "if expects exactly three arguments", sig_if, NSIG(sig_if) FS_IF, NULL, fn_if, 0, NULL, false },
    { "sigma", 1, 1, "sigma expects exactly one argument", sig_f_f, 1, FS_FLOAT, NULL, fn_sigma, sizeof(struct sigma_state), sigma_init, false },
    { "count", 0, 0, "count expects no arguments", sig_none_i, 1, FS_ANY, NULL, fn_count, sizeof(int64_t), count_init, false },
    { "spread", 1, 1, "spread expects exactly one argument", sig_f_f, 1, FS_FLOAT, NULL, fn_spread, sizeof(struct spread_state), spread_init, false },
};

const tick_fn_t *fn_lookup(fa_str_t name, uint32_t *index)
{
    for (uint32_t i = 0; i < sizeof fns / sizeof fns[0]; i++)
        if (fa_str_eq_c(name, fns[i].name)) {
            *index = i;
            return &fns[i];
        }
    return NULL;
}

const tick_fn_t *fn_by_index(uint32_t index)
{
    return index < sizeof fns / sizeof fns[0] ? &fns[index] : NULL;
}
