/* engine/lp.c - InfluxDB 1.x line protocol -> one eng_batch_t.
 *
 * The body is copied once into the batch arena (plus a '\n' sentinel); names, keys and values are
 * slices of that copy, and only elements that hold a backslash are unescaped into new arena bytes.
 *
 * Two paths per line:
 *  - parse_fast() takes lines with no backslash at all and no '"' after the first space (nearly
 *    every Telegraf line). It recognizes exactly the valid ones and gives up, with no visible side
 *    effect, on anything unusual (errors included), leaving those to the careful path.
 *  - The careful path mirrors InfluxDB 1.8's models/points.go function for function (scanLine,
 *    scanKey, scanFields, scanNumber, scanBoolean, scanTime, walkFields, FieldIterator), so what
 *    is accepted, the values and every error text match the real server, quirks included:
 *      * identifiers treat a byte as escaped when the byte before it is a backslash (not pairwise);
 *      * scanLine keeps a '\n' that follows a backslash or sits inside a quoted field value;
 *      * tags are sorted by their escaped keys for the series key; duplicates found after that;
 *      * fields are read back the way FieldIterator reads them: key up to the first '=' not after
 *        a backslash, value up to the first unquoted ','; field keys unescape \, \" \space \=.
 * The fuzz driver checks that both paths agree on every line the fast one accepts. */
#include "engine/lp.h"

#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define MAX_KEY_LEN 65535
#define MIN_NANO (INT64_MIN + 2)
#define MAX_NANO (INT64_MAX - 1)
#define FAST_MAX_LINE 60000 /* longer lines take the careful path, which checks key lengths */
#define SCRATCH_TAGS 32
#define SCRATCH_FIELDS 64

/* Byte classes for the fast path's scanning loops: a loop stops at any byte of its class. '\n'
 * (end of line, or the sentinel after the body) and '\\' (give up) stop every loop. */
enum { C_MEAS = 1, C_TAG = 2, C_FKEY = 4, C_WS = 8 };
static const uint8_t cls[256] = {
    ['\n'] = C_MEAS | C_TAG | C_FKEY,
    [','] = C_MEAS | C_TAG | C_FKEY,
    [' '] = C_MEAS | C_TAG | C_FKEY | C_WS,
    ['\\'] = C_MEAS | C_TAG | C_FKEY,
    ['='] = C_TAG | C_FKEY,
    ['"'] = C_FKEY,
    ['\t'] = C_WS,
    [0] = C_WS,
};

/* Which escaped bytes an element unescapes (PROTOCOLS.md §2). */
enum { U_COMMA = 1, U_SPACE = 2, U_EQ = 4, U_QUOTE = 8 };
#define U_MEAS (U_COMMA | U_SPACE)
#define U_TAG (U_COMMA | U_SPACE | U_EQ)
#define U_FKEY (U_COMMA | U_SPACE | U_EQ | U_QUOTE)

static const double pow10_exact[23] = { 1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                        1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                        1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22 };

/* What went wrong in a line, as InfluxDB words it. */
enum lp_ecode { E_TEXT, E_INT_RANGE, E_UINT_RANGE, E_TS_SYNTAX, E_TS_RANGE, E_MAX_KEY, E_FIELD_KEY };
typedef struct lp_err {
    enum lp_ecode code;
    const char *text; /* E_TEXT */
    fa_str_t arg;     /* the number or key the message quotes */
    size_t num;       /* E_MAX_KEY: the length found */
    size_t pos;       /* offset in the line where it was found */
} lp_err_t;

typedef struct parser {
    eng_batch_t *b;
    const eng_lp_opts_t *o;
    eng_lp_result_t *r;
    char *buf; /* arena copy of the body, then PAD bytes of '\n' */
    size_t len;
    int64_t mult;
    eng_tag_t *tags; /* scratch for the line being parsed (escaped spans, then unescaped) */
    uint32_t n_tags, cap_tags;
    eng_field_t *fields;
    uint32_t n_fields, cap_fields;
    char *region; /* tags and fields of every point, sized from the body's count of '=' */
    size_t region_left;
    uint32_t cap_stamps;
    uint32_t max_errors, n_kept;
    size_t elen; /* bytes used in r->errors */
    bool oom;
} parser_t;

/* ---------------------------------------------------------------- small helpers */

static bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\0'; }

static size_t skip_ws(const char *s, size_t n, size_t i)
{
    while (i < n && is_ws(s[i]))
        i++;
    return i;
}

static bool fail(lp_err_t *err, const char *text, size_t pos)
{
    err->code = E_TEXT;
    err->text = text;
    err->pos = pos;
    return false;
}

static bool fail_arg(lp_err_t *err, enum lp_ecode code, fa_str_t arg, size_t pos)
{
    err->code = code;
    err->arg = arg;
    err->pos = pos;
    return false;
}

static bool grow(parser_t *p, void **arr, uint32_t *cap, size_t elsize, uint32_t n)
{
    uint32_t ncap = *cap * 2;
    void *a = fa_arena_try_alloc(&p->b->arena, elsize * ncap, _Alignof(max_align_t));
    if (a == NULL) {
        p->oom = true;
        return false;
    }
    memcpy(a, *arr, elsize * n);
    *arr = a;
    *cap = ncap;
    return true;
}

static eng_tag_t *push_tag(parser_t *p)
{
    if (p->n_tags == p->cap_tags && !grow(p, (void **)&p->tags, &p->cap_tags, sizeof(eng_tag_t), p->n_tags))
        return NULL;
    return &p->tags[p->n_tags++];
}

static eng_field_t *push_field(parser_t *p)
{
    if (p->n_fields == p->cap_fields &&
        !grow(p, (void **)&p->fields, &p->cap_fields, sizeof(eng_field_t), p->n_fields))
        return NULL;
    return &p->fields[p->n_fields++];
}

static int tag_cmp(const void *a, const void *b)
{
    return fa_str_cmp(((const eng_tag_t *)a)->key, ((const eng_tag_t *)b)->key);
}

/* Sorts the scratch tags by key; returns false when two keys are equal. */
static bool sort_tags(eng_tag_t *t, uint32_t n)
{
    if (n <= 16) {
        for (uint32_t i = 1; i < n; i++) {
            eng_tag_t x = t[i];
            uint32_t j = i;
            for (; j > 0 && fa_str_cmp(x.key, t[j - 1].key) < 0; j--)
                t[j] = t[j - 1];
            t[j] = x;
        }
    } else {
        qsort(t, n, sizeof(*t), tag_cmp);
    }
    for (uint32_t i = 1; i < n; i++)
        if (fa_str_eq(t[i - 1].key, t[i].key))
            return false;
    return true;
}

static bool tags_sorted(const eng_tag_t *t, uint32_t n)
{
    for (uint32_t i = 1; i < n; i++) {
        unsigned char a = (unsigned char)t[i - 1].key.ptr[0], c = (unsigned char)t[i].key.ptr[0];
        if (a > c || (a == c && fa_str_cmp(t[i - 1].key, t[i].key) >= 0)) /* keys are never empty */
            return false;
    }
    return true;
}

/* ---------------------------------------------------------------- numbers */

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;
static void c_locale_init(void) { c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0); }

/* strtod on [s, e), which must lie in the writable body copy: the byte at e is swapped for a NUL
 * for the call. True when every byte was used and the result is finite (Go's ParseFloat turns
 * underflow into 0 without an error, and so does this). */
static bool float_strtod(char *s, char *e, double *out)
{
    char save = *e, *end;
    double x;

    pthread_once(&c_locale_once, c_locale_init);
    *e = '\0';
    x = c_locale ? strtod_l(s, &end, c_locale) : strtod(s, &end);
    *e = save;
    if (end != e || isinf(x))
        return false;
    *out = x;
    return true;
}

/* 5^k for k <= 27: the largest power of five below 2^63. */
static const uint64_t pow5[28] = {
    UINT64_C(1), UINT64_C(5), UINT64_C(25), UINT64_C(125), UINT64_C(625), UINT64_C(3125), UINT64_C(15625),
    UINT64_C(78125), UINT64_C(390625), UINT64_C(1953125), UINT64_C(9765625), UINT64_C(48828125),
    UINT64_C(244140625), UINT64_C(1220703125), UINT64_C(6103515625), UINT64_C(30517578125),
    UINT64_C(152587890625), UINT64_C(762939453125), UINT64_C(3814697265625), UINT64_C(19073486328125),
    UINT64_C(95367431640625), UINT64_C(476837158203125), UINT64_C(2384185791015625),
    UINT64_C(11920928955078125), UINT64_C(59604644775390625), UINT64_C(298023223705078125),
    UINT64_C(1490116119384765625), UINT64_C(7450580596923828125),
};

/* n (> 0) * 2^e rounded to 53 bits, half to even; `sticky`: the true value is a little above n. */
static double round_to_double(unsigned __int128 n, int e, bool sticky)
{
    int bits = 128 - (n >> 64 ? __builtin_clzll((uint64_t)(n >> 64)) : 64 + __builtin_clzll((uint64_t)n));
    uint64_t m;
    union { uint64_t u; double d; } p2;

    if (bits <= 53) {
        m = (uint64_t)n;
    } else {
        int shift = bits - 53;
        unsigned __int128 rem = n & (((unsigned __int128)1 << shift) - 1), half = (unsigned __int128)1 << (shift - 1);
        m = (uint64_t)(n >> shift);
        if (rem > half || (rem == half && (sticky || (m & 1))))
            m++; /* may become 2^53: still exact */
        e += shift;
    }
    p2.u = (uint64_t)(1023 + e) << 52; /* callers keep e inside the normal range */
    return (double)m * p2.d;
}

/* m * 10^q exactly rounded, for m < 10^19 and |q| <= 27, with integer arithmetic only:
 * q >= 0: m * 5^q is an exact 128-bit product; q < 0: (m << s) / 5^-q with its remainder as the
 * sticky bit. Clinger's one-operation path first when m fits in 53 bits and |q| <= 22. */
static bool decimal_to_double(uint64_t m, int q, bool neg, double *out)
{
    double x;

    if (m == 0) {
        x = 0.0;
    } else if (m <= (UINT64_C(1) << 53) && q >= -22 && q <= 22) {
        x = q < 0 ? (double)m / pow10_exact[-q] : (double)m * pow10_exact[q];
    } else if (q >= 0 && q <= 27) {
        x = round_to_double((unsigned __int128)m * pow5[q], q, false);
    } else if (q < 0 && q >= -27) {
        int lz = __builtin_clzll(m);
        unsigned __int128 num = (unsigned __int128)(m << lz) << 64;
        unsigned __int128 quo = num / pow5[-q];
        x = round_to_double(quo, -64 - lz + q, num - quo * pow5[-q] != 0);
    } else {
        return false;
    }
    *out = neg ? -x : x;
    return true;
}

/* Go's ParseFloat for [s, e): exact integer paths for up to 19 digits, strtod otherwise. */
static bool parse_float(char *s, char *e, double *out)
{
    const char *q = s;
    bool neg = *q == '-';
    uint64_t m = 0;
    size_t nd = 0, nf = 0;

    q += neg;
    for (; q < e && (unsigned)(*q - '0') < 10; q++, nd++)
        m = m * 10 + (unsigned)(*q - '0');
    if (q < e && *q == '.')
        for (q++; q < e && (unsigned)(*q - '0') < 10; q++, nf++)
            m = m * 10 + (unsigned)(*q - '0');
    if (q == e && nd + nf > 0 && nd + nf <= 19 && decimal_to_double(m, -(int)nf, neg, out))
        return true;
    return float_strtod(s, e, out);
}

/* Go's ParseInt/ParseUint on `-?[0-9]+` (no '-' when !is_signed). 0, 1 = syntax, 2 = range. */
static int parse_int(const char *s, size_t n, bool is_signed, uint64_t *out)
{
    bool neg = n > 0 && s[0] == '-' && is_signed;
    size_t i = neg;
    uint64_t u = 0, lim = !is_signed ? UINT64_MAX : neg ? (UINT64_C(1) << 63) : (uint64_t)INT64_MAX;

    if (i == n)
        return 1;
    for (; i < n; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (d > 9)
            return 1;
        if (u > (lim - d) / 10)
            return 2;
        u = u * 10 + d;
    }
    *out = neg ? (uint64_t)0 - u : u;
    return 0;
}

/* SafeCalcTime: false when ts * mult overflows or falls outside InfluxDB's range. */
static bool calc_time(int64_t ts, int64_t mult, int64_t *out)
{
    int64_t t;
    if (__builtin_mul_overflow(ts, mult, &t) || t < MIN_NANO || t > MAX_NANO)
        return false;
    *out = t;
    return true;
}

/* The ten spellings InfluxDB's scanBoolean accepts. */
static bool match_bool(const char *s, size_t n, bool *v)
{
    switch (n) {
    case 1:
        if (s[0] == 't' || s[0] == 'T' || s[0] == 'f' || s[0] == 'F') {
            *v = s[0] == 't' || s[0] == 'T';
            return true;
        }
        return false;
    case 4:
        *v = true;
        return memcmp(s, "true", 4) == 0 || memcmp(s, "True", 4) == 0 || memcmp(s, "TRUE", 4) == 0;
    case 5:
        *v = false;
        return memcmp(s, "false", 5) == 0 || memcmp(s, "False", 5) == 0 || memcmp(s, "FALSE", 5) == 0;
    default:
        return false;
    }
}

/* ---------------------------------------------------------------- output */

static bool push_stamp(parser_t *p, size_t off)
{
    eng_lp_result_t *r = p->r;
    if (r->n_stamps == p->cap_stamps) {
        uint32_t ncap = p->cap_stamps ? p->cap_stamps * 2 : 64;
        eng_lp_stamp_t *a = fa_arena_try_alloc(&p->b->arena, sizeof(*a) * ncap, _Alignof(eng_lp_stamp_t));
        if (a == NULL)
            return false;
        if (r->n_stamps)
            memcpy(a, r->stamps, sizeof(*a) * r->n_stamps);
        r->stamps = a;
        p->cap_stamps = ncap;
    }
    r->stamps[r->n_stamps++].offset = (uint32_t)off;
    return true;
}

/* Appends a point whose tags and fields are in `tags` and `fields`: already in the region when
 * `in_region` (the region cursor then moves past them), else copied there or into new arena
 * bytes. Returns 0, or -1 at the arena limit (the batch is then as it was before the call).
 * stamp_at: body offset for " <now>", or SIZE_MAX. */
static int emit_point(parser_t *p, fa_str_t name, fa_str_t key, int64_t time, size_t stamp_at, eng_tag_t *tags,
                      uint32_t nt, eng_field_t *fields, uint32_t nf, bool in_region)
{
    eng_batch_t *b = p->b;
    size_t tb = sizeof(eng_tag_t) * nt, fb = sizeof(eng_field_t) * nf;
    eng_point_t *pt = b->n < b->cap ? &b->points[b->n++] : eng_batch_add(b);
    char *mem;

    if (pt == NULL)
        return -1;
    if (in_region) {
        mem = p->region;
    } else if (p->region != NULL && tb + fb <= p->region_left) {
        mem = p->region;
        if (tb)
            memcpy(mem, tags, tb);
        memcpy(mem + tb, fields, fb);
    } else if ((mem = fa_arena_try_alloc(&b->arena, tb + fb, _Alignof(eng_field_t))) != NULL) {
        if (tb)
            memcpy(mem, tags, tb);
        memcpy(mem + tb, fields, fb);
    }
    if (mem == NULL || (stamp_at != SIZE_MAX && !push_stamp(p, stamp_at))) {
        b->n--;
        return -1;
    }
    if (mem == p->region) {
        p->region += tb + fb;
        p->region_left -= tb + fb;
    }
    pt->name = name;
    pt->key = key;
    pt->time = time;
    pt->n_tags = nt;
    pt->n_fields = nf;
    pt->tags = (eng_tag_t *)mem;
    pt->fields = (eng_field_t *)(mem + tb);
    p->r->n_points++;
    return 0;
}

/* Where " <now>" goes for a line without a timestamp: right after the last field value when only
 * spaces follow it, else (tabs or NULs there) at the end of the line, after that whitespace, so
 * InfluxDB reads the inserted number as the timestamp either way. */
static size_t stamp_offset(const char *s, size_t fe, size_t n)
{
    for (size_t i = fe; i < n; i++)
        if (s[i] != ' ')
            return n;
    return fe;
}

static void err_put(parser_t *p, const char *s, size_t n)
{
    size_t room = sizeof(p->r->errors) - 1 - p->elen;
    if (n > room)
        n = room;
    memcpy(p->r->errors + p->elen, s, n);
    p->elen += n;
    p->r->errors[p->elen] = '\0';
}

static void err_put_c(parser_t *p, const char *s) { err_put(p, s, strlen(s)); }

static void err_render(parser_t *p, const lp_err_t *err)
{
    char num[64];
    switch (err->code) {
    case E_TEXT:
        err_put_c(p, err->text);
        break;
    case E_INT_RANGE:
    case E_UINT_RANGE:
        err_put_c(p, err->code == E_INT_RANGE ? "unable to parse integer " : "unable to parse unsigned ");
        err_put(p, err->arg.ptr, err->arg.len);
        err_put_c(p, err->code == E_INT_RANGE ? ": strconv.ParseInt: parsing \"" : ": strconv.ParseUint: parsing \"");
        err_put(p, err->arg.ptr, err->arg.len);
        err_put_c(p, "\": value out of range");
        break;
    case E_TS_SYNTAX:
    case E_TS_RANGE:
        err_put_c(p, "strconv.ParseInt: parsing \"");
        err_put(p, err->arg.ptr, err->arg.len);
        err_put_c(p, err->code == E_TS_SYNTAX ? "\": invalid syntax" : "\": value out of range");
        break;
    case E_MAX_KEY:
        snprintf(num, sizeof num, "max key length exceeded: %zu > %d", err->num, MAX_KEY_LEN);
        err_put_c(p, num);
        break;
    case E_FIELD_KEY:
        err_put_c(p, "invalid value: field-key=");
        err_put(p, err->arg.ptr, err->arg.len);
        break;
    }
}

/* Counts a bad line [s, s+n) and keeps its text while fewer than max_errors are kept. */
static void report(parser_t *p, const char *s, size_t n, const lp_err_t *err)
{
    eng_lp_result_t *r = p->r;

    if (r->n_bad++ == 0) {
        size_t at = (size_t)(s - p->buf) + err->pos, line = 1, bol = 0;
        for (const char *q = p->buf, *end = p->buf + at; (q = memchr(q, '\n', (size_t)(end - q))) != NULL; q++) {
            line++;
            bol = (size_t)(q - p->buf) + 1;
        }
        r->first_bad_line = (uint32_t)line;
        r->first_bad_col = (uint32_t)(at - bol + 1);
    }
    if (p->n_kept >= p->max_errors)
        return;
    if (p->n_kept++ > 0)
        err_put(p, "\n", 1);
    err_put_c(p, "unable to parse '");
    err_put(p, s, n);
    err_put_c(p, "': ");
    err_render(p, err);
}

/* ---------------------------------------------------------------- fast path */

/* The body copy is followed by PAD bytes of '\n', so the digit loop may read 8-byte words
 * starting anywhere up to the sentinel. */
#define PAD 32

/* First byte at or after q that belongs to `mask` (a '\n' always does, so this stops). A 16-byte
 * SSE2 version of this loop measured slower here: Telegraf's elements are mostly short. */
static inline unsigned char *scan_to(unsigned char *q, uint8_t mask)
{
    while (!(cls[*q] & mask))
        q++;
    return q;
}

/* Eight ASCII digits at once (SWAR): the word as read on a little-endian machine. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define HAVE_SWAR 1
static inline uint64_t load8(const unsigned char *q)
{
    uint64_t v;
    memcpy(&v, q, 8);
    return v;
}

/* Every byte is '0'..'9': its high nibble is 3 before and after adding 6. */
static inline bool all_digits8(uint64_t v)
{
    return ((v & UINT64_C(0xF0F0F0F0F0F0F0F0)) |
            (((v + UINT64_C(0x0606060606060606)) & UINT64_C(0xF0F0F0F0F0F0F0F0)) >> 4)) ==
           UINT64_C(0x3333333333333333);
}

/* The value of eight digits: pairs, then quads, then the whole, by multiply-and-shift. */
static inline uint32_t digits8(uint64_t v)
{
    v -= UINT64_C(0x3030303030303030);
    v = v * 10 + (v >> 8);
    v = (((v & UINT64_C(0x000000FF000000FF)) * UINT64_C(0x000F424000000064)) +
         (((v >> 16) & UINT64_C(0x000000FF000000FF)) * UINT64_C(0x0000271000000001))) >> 32;
    return (uint32_t)v;
}
#endif

/* Accumulates the run of digits at q into *m (wrapping past 19 digits: callers count them). */
static inline unsigned char *read_digits(unsigned char *q, uint64_t *m)
{
    uint64_t x = *m;
#ifdef HAVE_SWAR
    for (uint64_t w; all_digits8(w = load8(q)); q += 8)
        x = x * 100000000 + digits8(w);
#endif
    for (; (unsigned)(*q - '0') < 10; q++)
        x = x * 10 + (unsigned)(*q - '0');
    *m = x;
    return q;
}

static bool is_term(unsigned char c) { return c == ',' || c == ' ' || c == '\n'; }

/* `-?[0-9]+i` (at most 18 digits) or `-?[0-9]*\.?[0-9]*` with a digit; NULL for anything else. */
static unsigned char *fast_number(unsigned char *q, eng_value_t *v)
{
    unsigned char *s = q, *d;
    bool neg = *q == '-';
    uint64_t m = 0;
    size_t ni, nf = 0;

    q += neg;
    d = q;
    q = read_digits(q, &m);
    ni = (size_t)(q - d);
    if (*q == 'i') {
        if (ni == 0 || ni > 18 || !is_term(q[1]))
            return NULL;
        v->type = ENG_INT;
        v->i = neg ? -(int64_t)m : (int64_t)m;
        return q + 1;
    }
    if (*q == '.') {
        d = ++q;
        q = read_digits(q, &m);
        nf = (size_t)(q - d);
    }
    if (ni + nf == 0 || !is_term(*q))
        return NULL;
    v->type = ENG_FLOAT;
    if (ni + nf <= 19 && nf <= 22 && m <= (UINT64_C(1) << 53)) {
        double x = (double)m / pow10_exact[nf];
        v->f = neg ? -x : x;
    } else if (!(ni + nf <= 19 && decimal_to_double(m, -(int)nf, neg, &v->f)) &&
               !float_strtod((char *)s, (char *)q, &v->f)) {
        return NULL;
    }
    return q;
}

/* Tries a line [s, e) whose last byte is followed by '\n'. 1 = point added, 0 = not a line for
 * this path (nothing added), -1 = arena limit. */
static int parse_fast(parser_t *p, char *line, char *end)
{
    unsigned char *s = (unsigned char *)line, *e = (unsigned char *)end, *q, *tags_end, *fe;
    fa_str_t name, key;
    int64_t time;
    size_t stamp_at = SIZE_MAX;
    eng_tag_t *tags;
    eng_field_t *fields;
    uint32_t nt = 0, nf = 0, tcap, fcap;

    if (e - s > FAST_MAX_LINE || *s == ',' || *s == '\\')
        return 0;
    q = scan_to(s + 1, C_MEAS);
    if (*q != ',' && *q != ' ')
        return 0;
    name = fa_str(line, (size_t)(q - s));
    /* tags, then fields, go straight into the region when there is one (the '=' count bounds
     * it), else into the scratch arrays; either way nothing is kept unless the line is good */
    tags = p->region ? (eng_tag_t *)p->region : p->tags;
    tcap = p->region ? UINT32_MAX : p->cap_tags;
    while (*q == ',') {
        unsigned char *k = q + 1, *ke, *v;
        eng_tag_t *t;
        if (cls[*k] & C_TAG)
            return 0;
        q = scan_to(k + 1, C_TAG);
        if (*q != '=')
            return 0;
        ke = q;
        v = q + 1;
        if (*v == ',' || *v == ' ' || *v == '\n' || *v == '\\')
            return 0;
        q = scan_to(v + 1, C_TAG);
        if (*q != ',' && *q != ' ')
            return 0;
        if (nt == tcap)
            return 0;
        t = &tags[nt++];
        t->key = fa_str((const char *)k, (size_t)(ke - k));
        t->value = fa_str((const char *)v, (size_t)(q - v));
    }
    tags_end = q;
    while (cls[*q] & C_WS)
        q++;
    fields = p->region ? (eng_field_t *)(p->region + sizeof(eng_tag_t) * nt) : p->fields;
    fcap = p->region ? UINT32_MAX : p->cap_fields;
    for (;;) {
        unsigned char *k = q, c;
        eng_field_t *f;
        q = scan_to(q, C_FKEY);
        if (*q != '=' || q == k || nf == fcap)
            return 0;
        f = &fields[nf++];
        f->key = fa_str((const char *)k, (size_t)(q - k));
        c = *++q;
        if ((unsigned)(c - '0') < 10 || c == '-' || c == '.') {
            if ((q = fast_number(q, &f->v)) == NULL)
                return 0;
        } else if (c == 't' || c == 'f' || c == 'T' || c == 'F') {
            unsigned char *vs = q;
            while (!is_term(*q))
                q++;
            f->v.type = ENG_BOOL;
            if (!match_bool((const char *)vs, (size_t)(q - vs), &f->v.b))
                return 0;
        } else {
            return 0;
        }
        if (*q != ',')
            break;
        q++;
    }
    fe = q;
    while (cls[*q] & C_WS)
        q++;
    if (*q == '\n') {
        time = (int64_t)((uint64_t)p->o->now * (uint64_t)p->mult);
        if (p->o->want_stamps)
            stamp_at = stamp_offset(line, (size_t)(fe - s), (size_t)(e - s)) + (size_t)(line - p->buf);
    } else {
        unsigned char *t = q;
        uint64_t u = 0;
        bool neg = *q == '-';
        q = read_digits(q + neg, &u);
        if (q == t + neg || q - (t + neg) > 19 || u > (uint64_t)INT64_MAX)
            return 0;
        while (*q == ' ')
            q++;
        if (*q != '\n' || !calc_time(neg ? -(int64_t)u : (int64_t)u, p->mult, &time))
            return 0;
    }
    if (tags_sorted(tags, nt)) {
        key = fa_str(line, (size_t)(tags_end - s));
    } else {
        size_t klen = (size_t)(tags_end - s), o;
        char *kb;
        if (!sort_tags(tags, nt))
            return 0;
        if ((kb = fa_arena_try_alloc(&p->b->arena, klen, 1)) == NULL)
            return -1;
        memcpy(kb, name.ptr, name.len);
        o = name.len;
        for (uint32_t i = 0; i < nt; i++) {
            const eng_tag_t *t = &tags[i];
            kb[o++] = ',';
            memcpy(kb + o, t->key.ptr, t->key.len);
            o += t->key.len;
            kb[o++] = '=';
            memcpy(kb + o, t->value.ptr, t->value.len);
            o += t->value.len;
        }
        key = fa_str(kb, o);
    }
    return emit_point(p, name, key, time, stamp_at, tags, nt, fields, nf, p->region != NULL) == 0 ? 1 : -1;
}

/* ---------------------------------------------------------------- careful path (points.go) */

/* scanLine: end of the line starting at i (a '\n' that is escaped or quoted belongs to it). */
static size_t scan_line(const char *buf, size_t len, size_t i)
{
    bool quoted = false, fields = false;
    size_t equals = 0, commas = 0;

    while (i < len) {
        char c = buf[i];
        if (c == '\\' && i + 2 < len) {
            i += 2;
            continue;
        }
        if (c == ' ')
            fields = true;
        if (fields) {
            if (!quoted && c == '=') {
                i++;
                equals++;
                continue;
            } else if (!quoted && c == ',') {
                i++;
                commas++;
                continue;
            } else if (c == '"' && equals > commas) {
                i++;
                quoted = !quoted;
                continue;
            }
        }
        if (c == '\n' && !quoted)
            break;
        i++;
    }
    return i;
}

/* scanKey: measurement and tags of s[0..n). On success *pos is the space before the fields,
 * *mend the end of the measurement, and p->tags holds escaped spans in line order. */
static bool scan_key(parser_t *p, const char *s, size_t n, size_t *pos, size_t *mend, lp_err_t *err)
{
    size_t i = 0;
    bool tags;

    if (n == 0 || s[0] == ',')
        return fail(err, "missing measurement", 0);
    for (;;) { /* scanMeasurement */
        if (++i >= n)
            return fail(err, "missing fields", i);
        if (s[i - 1] == '\\')
            continue;
        if (s[i] == ',' || s[i] == ' ')
            break;
    }
    *mend = i;
    tags = s[i] == ',';
    p->n_tags = 0;
    while (tags) {
        size_t ks = ++i, ke, vs;
        eng_tag_t *t;
        if (i >= n || s[i] == ' ' || s[i] == ',' || s[i] == '=') /* scanTagsKey */
            return fail(err, "missing tag key", i);
        for (;;) {
            if (++i >= n || ((s[i] == ' ' || s[i] == ',') && s[i - 1] != '\\'))
                return fail(err, "missing tag value", i);
            if (s[i] == '=' && s[i - 1] != '\\')
                break;
        }
        ke = i++;
        vs = i;
        if (i >= n || s[i] == ',' || s[i] == ' ') /* scanTagsValue */
            return fail(err, "missing tag value", i);
        for (;;) {
            if (++i >= n)
                return fail(err, "missing fields", i);
            if (s[i - 1] == '\\')
                continue;
            if (s[i] == '=')
                return fail(err, "invalid tag format", i);
            if (s[i] == ',' || s[i] == ' ')
                break;
        }
        tags = s[i] == ',';
        if ((t = push_tag(p)) == NULL)
            return false;
        t->key = fa_str(s + ks, ke - ks);
        t->value = fa_str(s + vs, i - vs);
    }
    *pos = i;
    return true;
}

/* scanNumber from s[i]; *out is where it stopped. */
static bool scan_number(parser_t *p, const char *s, size_t n, size_t i, size_t *out, lp_err_t *err)
{
    size_t start = i, digits;
    bool is_int = false, is_uint = false, decimal = false, sci = false;
    uint64_t u;

    if (i < n && s[i] == '-' && ++i == n)
        return fail(err, "invalid number", i);
    for (; i < n; i++) {
        char c = s[i];
        if (c == ',' || c == ' ')
            break;
        if ((c == 'i' || c == 'u') && i > start && !(is_int || is_uint)) {
            is_int = c == 'i';
            is_uint = c == 'u';
            continue;
        }
        if (c == '.') {
            if (decimal)
                return fail(err, "invalid number", i);
            decimal = true;
        }
        if (i > start && (c == 'e' || c == 'E')) {
            sci = true;
            continue;
        }
        if ((c == '+' || c == '-') && (s[i - 1] == 'e' || s[i - 1] == 'E'))
            continue;
        if (i + 2 < n && (c == 'N' || c == 'n'))
            return fail(err, "invalid number", i);
        if (!((unsigned)(c - '0') < 10 || c == '.'))
            return fail(err, "invalid number", i);
    }
    *out = i;
    if ((is_int || is_uint) && (decimal || sci))
        return fail(err, "invalid number", i);
    digits = i - start - is_int - decimal - (s[start] == '-');
    if (digits == 0)
        return fail(err, "invalid number", i);
    if (is_int) {
        if (s[i - 1] != 'i')
            return fail(err, "invalid number", i);
        if (i - 1 - start >= 19 && parse_int(s + start, i - 1 - start, true, &u) != 0)
            return fail_arg(err, E_INT_RANGE, fa_str(s + start, i - 1 - start), i);
    } else if (is_uint) {
        if (!p->o->allow_uint || s[i - 1] != 'u' || s[start] == '-')
            return fail(err, "invalid number", i);
        if (i - 1 - start >= 20 && parse_int(s + start, i - 1 - start, false, &u) != 0)
            return fail_arg(err, E_UINT_RANGE, fa_str(s + start, i - 1 - start), i);
    } else if (sci || i - start >= 25) {
        double f;
        if (!parse_float((char *)s + start, (char *)s + i, &f))
            return fail(err, "invalid float", i);
    }
    return true;
}

/* scanBoolean from s[i]. */
static bool scan_boolean(const char *s, size_t n, size_t i, size_t *out, lp_err_t *err)
{
    size_t start = i;
    bool v;

    if (i < n && s[i] != 't' && s[i] != 'f' && s[i] != 'T' && s[i] != 'F')
        return fail(err, "invalid boolean", i);
    for (i++; i < n && s[i] != ',' && s[i] != ' '; i++)
        ;
    *out = i;
    if (!match_bool(s + start, i - start, &v))
        return fail(err, "invalid boolean", i);
    return true;
}

/* scanFields from s[i] (the space after the key): [*fs, *fe) is the fields section. */
static bool scan_fields(parser_t *p, const char *s, size_t n, size_t i, size_t *fs, size_t *fe, lp_err_t *err)
{
    size_t equals = 0, commas = 0;
    bool quoted = false;

    i = *fs = skip_ws(s, n, i);
    while (i < n) {
        char c = s[i];
        if (c == '\\' && i + 1 < n) {
            i += 2;
            continue;
        }
        if (c == '"' && equals > commas) {
            quoted = !quoted;
            i++;
            continue;
        }
        if (c == '=' && !quoted) {
            char d;
            equals++;
            if ((s[i - 1] == ' ' || s[i - 1] == ',') && s[i - 2] != '\\')
                return fail(err, "missing field key", i);
            if (i + 1 >= n || (d = s[i + 1]) == ',' || d == ' ')
                return fail(err, "missing field value", i);
            if ((unsigned)(d - '0') < 10 || d == '.' || d == '-' || d == 'N' || d == 'n') {
                if (!scan_number(p, s, n, i + 1, &i, err))
                    return false;
                continue;
            }
            if (d != '"') {
                if (!scan_boolean(s, n, i + 1, &i, err))
                    return false;
                continue;
            }
        }
        if (c == ',' && !quoted)
            commas++;
        if (c == ' ' && !quoted)
            break;
        i++;
    }
    *fe = i;
    if (quoted)
        return fail(err, "unbalanced quotes", i);
    if (equals == 0 || commas != equals - 1)
        return fail(err, "invalid field format", i);
    return true;
}

/* Copies `in` without the backslash of each escaped byte listed in `set` (char by char, as
 * InfluxDB's unescapers do); `in` itself when it holds no backslash. */
static bool unescape(parser_t *p, fa_str_t in, unsigned set, fa_str_t *out)
{
    char *o;
    size_t n = 0;

    if (in.len == 0 || memchr(in.ptr, '\\', in.len) == NULL) {
        *out = in;
        return true;
    }
    if ((o = fa_arena_try_alloc(&p->b->arena, in.len, 1)) == NULL) {
        p->oom = true;
        return false;
    }
    for (size_t i = 0; i < in.len; i++) {
        char c = in.ptr[i];
        if (c == '\\' && i + 1 < in.len) {
            char d = in.ptr[i + 1];
            if ((d == ',' && (set & U_COMMA)) || (d == ' ' && (set & U_SPACE)) || (d == '=' && (set & U_EQ)) ||
                (d == '"' && (set & U_QUOTE))) {
                o[n++] = d;
                i++;
                continue;
            }
        }
        o[n++] = c;
    }
    *out = fa_str(o, n);
    return true;
}

/* A string field's content: `\\` and `\"` unescaped pairwise. */
static bool unescape_string(parser_t *p, fa_str_t in, fa_str_t *out)
{
    char *o;
    size_t n = 0;

    if (in.len == 0 || memchr(in.ptr, '\\', in.len) == NULL) {
        *out = in;
        return true;
    }
    if ((o = fa_arena_try_alloc(&p->b->arena, in.len, 1)) == NULL) {
        p->oom = true;
        return false;
    }
    for (size_t i = 0; i < in.len; i++) {
        if (in.ptr[i] == '\\' && i + 1 < in.len && (in.ptr[i + 1] == '\\' || in.ptr[i + 1] == '"'))
            i++;
        o[n++] = in.ptr[i];
    }
    *out = fa_str(o, n);
    return true;
}

/* A field value as FieldIterator types it. False when it does not decode (only reachable with
 * escapes that make the iterator and scanFields disagree). */
static bool decode_value(parser_t *p, fa_str_t v, eng_value_t *out)
{
    static const char *const spellings[] = { "1", "t", "T", "TRUE", "true", "True",
                                             "0", "f", "F", "FALSE", "false", "False" };
    char c = v.ptr[0], last = v.ptr[v.len - 1];
    uint64_t u;

    if (c == '"') {
        out->type = ENG_STRING;
        return unescape_string(p, v.len >= 2 ? fa_str(v.ptr + 1, v.len - 2) : fa_str(v.ptr, 0), &out->s);
    }
    if (c == '\0' || strchr("0123456789-.nNiIu", c) == NULL) { /* strconv.ParseBool */
        out->type = ENG_BOOL;
        for (size_t i = 0; i < sizeof spellings / sizeof spellings[0]; i++) {
            if (fa_str_eq_c(v, spellings[i])) {
                out->b = i < 6;
                return true;
            }
        }
        return false;
    }
    if (last == 'i' || (last == 'u' && p->o->allow_uint)) {
        bool sig = last == 'i';
        if (parse_int(v.ptr, v.len - 1, sig, &u) != 0)
            return false;
        out->type = sig ? ENG_INT : ENG_UINT;
        out->u = u;
        return true;
    }
    out->type = ENG_FLOAT;
    return parse_float((char *)v.ptr, (char *)v.ptr + v.len, &out->f);
}

/* walkFields + FieldIterator over [fs, fe): key length checks, then keys and values decoded into
 * p->fields. *bad is set when some value does not decode. */
static bool walk_fields(parser_t *p, const char *s, size_t fs, size_t fe, size_t keylen, bool *bad, lp_err_t *err)
{
    size_t j = fs;

    p->n_fields = 0;
    while (j < fe) {
        size_t k = j, v;
        bool quoted = false;
        eng_field_t *f;
        while (k < fe && !(s[k] == '=' && (k == j || s[k - 1] != '\\')))
            k++;
        if (k + 2 > fe)
            return fail_arg(err, E_FIELD_KEY, fa_str(s + j, k - j), k);
        if (keylen + 4 + (k - j) > MAX_KEY_LEN) {
            err->num = keylen + 4 + (k - j);
            return fail_arg(err, E_MAX_KEY, FA_STR_NULL, j);
        }
        for (v = k + 1; v < fe; v++) { /* scanFieldValue */
            if (s[v] == '\\' && v + 1 < fe && (s[v + 1] == '"' || s[v + 1] == '\\'))
                v++;
            else if (s[v] == '"')
                quoted = !quoted;
            else if (s[v] == ',' && !quoted)
                break;
        }
        if (v > k + 1) { /* an empty value is FieldIterator's Empty type: skipped */
            if ((f = push_field(p)) == NULL)
                return false;
            if (!unescape(p, fa_str(s + j, k - j), U_FKEY, &f->key))
                return false;
            if (!decode_value(p, fa_str(s + k + 1, v - k - 1), &f->v)) {
                if (p->oom)
                    return false;
                *bad = true;
            }
        }
        j = v < fe ? v + 1 : v;
    }
    return true;
}

/* scanTime and what parsePoint does with it. *has_ts false = no timestamp. */
static bool scan_time(parser_t *p, const char *s, size_t n, size_t i, bool *has_ts, int64_t *time, lp_err_t *err)
{
    size_t t0 = i = skip_ws(s, n, i);
    uint64_t u;
    int rc;

    for (; i < n && s[i] != '\n' && s[i] != ' '; i++)
        if (!(i == t0 && s[i] == '-') && (unsigned)(s[i] - '0') > 9)
            return fail(err, "bad timestamp", i);
    *has_ts = i > t0;
    if (!*has_ts)
        return true;
    if ((rc = parse_int(s + t0, i - t0, true, &u)) != 0)
        return fail_arg(err, rc == 1 ? E_TS_SYNTAX : E_TS_RANGE, fa_str(s + t0, i - t0), t0);
    if (!calc_time((int64_t)u, p->mult, time))
        return fail(err, "time outside range -9223372036854775806 - 9223372036854775806", t0);
    for (; i < n; i++)
        if (s[i] != ' ')
            return fail(err, "point is invalid", i);
    return true;
}

/* Builds the escaped series key (tags sorted by escaped key) and the unescaped name and tags. */
static bool finish_key(parser_t *p, const char *s, size_t mend, size_t kend, fa_str_t *name, fa_str_t *key,
                       lp_err_t *err)
{
    bool esc = false;

    if (tags_sorted(p->tags, p->n_tags)) {
        *key = fa_str(s, kend);
    } else {
        char *kb;
        size_t o = mend;
        if (!sort_tags(p->tags, p->n_tags))
            return fail(err, "duplicate tags", kend);
        if ((kb = fa_arena_try_alloc(&p->b->arena, kend, 1)) == NULL)
            return (p->oom = true, false);
        memcpy(kb, s, mend);
        for (uint32_t i = 0; i < p->n_tags; i++) {
            const eng_tag_t *t = &p->tags[i];
            kb[o++] = ',';
            memcpy(kb + o, t->key.ptr, t->key.len);
            o += t->key.len;
            kb[o++] = '=';
            memcpy(kb + o, t->value.ptr, t->value.len);
            o += t->value.len;
        }
        *key = fa_str(kb, o);
    }
    if (kend > MAX_KEY_LEN) {
        err->num = kend;
        return fail_arg(err, E_MAX_KEY, FA_STR_NULL, kend);
    }
    if (!unescape(p, fa_str(s, mend), U_MEAS, name))
        return false;
    for (uint32_t i = 0; i < p->n_tags; i++) {
        eng_tag_t *t = &p->tags[i];
        esc |= memchr(t->key.ptr, '\\', t->key.len) != NULL;
        if (!unescape(p, t->key, U_TAG, &t->key) || !unescape(p, t->value, U_TAG, &t->value))
            return false;
    }
    if (esc)
        sort_tags(p->tags, p->n_tags); /* by unescaped key now; unescaping keeps keys distinct */
    return true;
}

/* One line [s, s+n) by the careful path: a point, or a reported error. -1 = arena limit. */
static int parse_careful(parser_t *p, const char *s, size_t n)
{
    size_t i, mend, fs, fe;
    fa_str_t name, key;
    bool has_ts = false, bad = false;
    int64_t time = 0;
    size_t stamp_at = SIZE_MAX;
    lp_err_t err = { 0 };

    if (!scan_key(p, s, n, &i, &mend, &err) || !finish_key(p, s, mend, i, &name, &key, &err) ||
        !scan_fields(p, s, n, i, &fs, &fe, &err) || !walk_fields(p, s, fs, fe, i, &bad, &err) ||
        !scan_time(p, s, n, fe, &has_ts, &time, &err)) {
        if (p->oom)
            return -1;
        report(p, s, n, &err);
        return 0;
    }
    if (bad || p->n_fields == 0) {
        report(p, s, n, (fail(&err, bad ? "invalid number" : "missing fields", fs), &err));
        return 0;
    }
    if (!has_ts) {
        time = (int64_t)((uint64_t)p->o->now * (uint64_t)p->mult);
        if (p->o->want_stamps && skip_ws(s, n, fe) == n)
            stamp_at = stamp_offset(s, fe, n) + (size_t)(s - p->buf);
    }
    return emit_point(p, name, key, time, stamp_at, p->tags, p->n_tags, p->fields, p->n_fields, false);
}

/* ---------------------------------------------------------------- driver */

/* One line starting at body offset ls; returns the offset of its '\n' (or len), or SIZE_MAX at
 * the arena limit. */
static size_t parse_line(parser_t *p, size_t ls)
{
    char *buf = p->buf;
    char *nl = memchr(buf + ls, '\n', p->len - ls);
    size_t e = nl ? (size_t)(nl - buf) : p->len;
    size_t s = skip_ws(buf, e, ls);
    int rc;

    if (s == e)
        return e;
    /* scanLine starts looking at quotes after the first space of the line, leading ones included:
     * the fast path knows only the case where that space ends the measurement or tags */
    if (buf[s] != '#' && !p->o->_careful_only &&
        (s == ls || memchr(buf + ls, ' ', s - ls) == NULL || memchr(buf + s, '"', e - s) == NULL)) {
        rc = parse_fast(p, buf + s, buf + e);
        if (rc != 0)
            return rc > 0 ? e : SIZE_MAX;
    }
    e = scan_line(buf, p->len, ls);
    if (buf[s] == '#')
        return e;
    if (e > s && buf[e - 1] == '\n')
        e--;
    return parse_careful(p, buf + s, e - s) < 0 ? SIZE_MAX : e;
}

/* Counts the bytes equal to '\n' and '=' in [s, s+n). */
static void count_lines_eqs(const char *s, size_t n, size_t *nl, size_t *eq)
{
    size_t i = 0, a = 0, c = 0;
#ifdef __SSE2__
    /* per-byte counters (0 - cmpeq = +1), folded into 64-bit sums before they can wrap */
    const __m128i vnl = _mm_set1_epi8('\n'), veq = _mm_set1_epi8('='), zero = _mm_setzero_si128();
    while (i + 16 <= n) {
        __m128i ca = zero, cc = zero, sa, sc;
        for (int k = 0; k < 255 && i + 16 <= n; k++, i += 16) {
            __m128i x = _mm_loadu_si128((const __m128i *)(s + i));
            ca = _mm_sub_epi8(ca, _mm_cmpeq_epi8(x, vnl));
            cc = _mm_sub_epi8(cc, _mm_cmpeq_epi8(x, veq));
        }
        sa = _mm_sad_epu8(ca, zero);
        sc = _mm_sad_epu8(cc, zero);
        a += (size_t)_mm_cvtsi128_si64(sa) + (size_t)_mm_cvtsi128_si64(_mm_unpackhi_epi64(sa, sa));
        c += (size_t)_mm_cvtsi128_si64(sc) + (size_t)_mm_cvtsi128_si64(_mm_unpackhi_epi64(sc, sc));
    }
#endif
    for (; i < n; i++) {
        a += s[i] == '\n';
        c += s[i] == '=';
    }
    *nl = a;
    *eq = c;
}

/* Sizes the batch's point array for every line of the body and the region for every '=' (each
 * tag and field has its own), so that the hot path neither grows arrays nor calls the arena.
 * Under an arena limit either may not fit: the parser then allocates per point. */
static void reserve(parser_t *p)
{
    eng_batch_t *b = p->b;
    size_t lines, eqs, want;

    count_lines_eqs(p->buf, p->len, &lines, &eqs);
    want = (size_t)b->n + lines + 1;
    if (want > b->cap && want < UINT32_MAX) {
        eng_point_t *a = fa_arena_try_alloc(&b->arena, sizeof(*a) * want, _Alignof(eng_point_t));
        if (a != NULL) {
            if (b->n)
                memcpy(a, b->points, sizeof(*a) * b->n);
            b->points = a;
            b->cap = (uint32_t)want;
        }
    }
    if (eqs > 0 && (p->region = fa_arena_try_alloc(&b->arena, sizeof(eng_field_t) * eqs, _Alignof(eng_field_t))))
        p->region_left = sizeof(eng_field_t) * eqs;
}

int eng_lp_parse(eng_batch_t *b, const char *body, size_t len, const eng_lp_opts_t *opts, eng_lp_result_t *res)
{
    eng_tag_t tags0[SCRATCH_TAGS];
    eng_field_t fields0[SCRATCH_FIELDS];
    parser_t p = {
        .b = b, .o = opts, .r = res, .len = len,
        .mult = opts->precision_ns > 0 ? opts->precision_ns : 1,
        .tags = tags0, .cap_tags = SCRATCH_TAGS,
        .fields = fields0, .cap_fields = SCRATCH_FIELDS,
        .max_errors = opts->max_errors ? opts->max_errors : 10,
    };

    res->n_points = res->n_bad = res->first_bad_line = res->first_bad_col = res->n_stamps = 0;
    res->errors[0] = '\0';
    res->stamps = NULL;
    res->out_of_memory = false;
    b->bytes += len;
    if (len == 0)
        return 0;
    if (len >= UINT32_MAX || (p.buf = fa_arena_try_alloc(&b->arena, len + PAD, 1)) == NULL) {
        res->out_of_memory = true;
        return -1;
    }
    memcpy(p.buf, body, len);
    memset(p.buf + len, '\n', PAD);
    reserve(&p);
    for (size_t pos = 0; pos < len; pos++) {
        pos = parse_line(&p, pos);
        if (pos == SIZE_MAX) {
            res->out_of_memory = true;
            break;
        }
    }
    b->n_errors += res->n_bad;
    if (res->out_of_memory && res->n_points == 0)
        return -1;
    return (int)res->n_points;
}

int eng_lp_precision(fa_str_t name, bool v2, int64_t *mult)
{
    static const struct { const char *name; int64_t mult; bool v1, v2; } units[] = {
        { "", 1, true, true },
        { "n", 1, true, false },
        { "ns", 1, true, true },
        { "u", 1000, true, false },
        { "us", 1000, false, true },
        { "ms", 1000000, true, true },
        { "s", 1000000000, true, true },
        { "m", INT64_C(60000000000), true, false },
        { "h", INT64_C(3600000000000), true, false },
    };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if ((v2 ? units[i].v2 : units[i].v1) && fa_str_eq_c(name, units[i].name)) {
            *mult = units[i].mult;
            return 0;
        }
    }
    return -1;
}

/* ---- the stamped check ------------------------------------------------------------------------- */

/* Whether body[b, e) (one '\n'-delimited segment, '\r' removed) needs no stamp. */
static bool segment_stamped(const char *s, size_t b, size_t e)
{
    while (b < e && (s[b] == ' ' || s[b] == '\t'))
        b++;
    if (b == e || s[b] == '#')
        return true;
    size_t d = e;
    while (d > b && s[d - 1] >= '0' && s[d - 1] <= '9')
        d--;
    if (d == e)
        return false;
    if (d > b && s[d - 1] == '-')
        d--;
    if (d < b + 2 || s[d - 1] != ' ' || s[d - 2] == '\\')
        return false;
    unsigned quotes = 0;
    for (const char *q = memchr(s + b, '"', d - b); q != NULL; q = memchr(q + 1, '"', (size_t)(s + d - q - 1)))
        quotes += q == s + b || q[-1] != '\\';
    return quotes % 2 == 0;
}

bool eng_lp_all_stamped(const char *body, size_t len)
{
    for (size_t i = 0; i < len;) {
        const char *nl = memchr(body + i, '\n', len - i);
        size_t end = nl != NULL ? (size_t)(nl - body) : len, e = end;
        if (e > i && body[e - 1] == '\r')
            e--;
        if (!segment_stamped(body, i, e))
            return false;
        i = end + 1;
    }
    return true;
}
