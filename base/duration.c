/* base/duration.c - parsing: a term loop over an unsigned magnitude that is checked against the
 * int64_t range before each step, so overflow is an error and never wraps; fractions are scaled
 * exactly in 128 bits (Go goes through float64 and may come out 1ns lower). Formatting: Go's
 * Duration.String() built left to right from the magnitude, so INT64_MIN needs no special case. */
#include "base/duration.h"

#include <inttypes.h>
#include <stdio.h>

#include "base/err.h"

#define D_GO (1u << FA_DUR_GO)
#define D_IQL (1u << FA_DUR_INFLUXQL)
#define D_API (1u << FA_DUR_API)
#define D_CONF (1u << FA_DUR_CONF)

static const struct unit {
    const char *name;
    uint8_t len;
    uint8_t dialects; /* D_* bits of the dialects that spell it this way */
    uint64_t ns;
} units[] = {
    { "ns", 2, D_GO | D_IQL | D_API, 1 },
    { "us", 2, D_GO | D_API, 1000 },
    { "\xc2\xb5s", 3, D_GO | D_API, 1000 }, /* µs, U+00B5 MICRO SIGN */
    { "\xce\xbcs", 3, D_GO, 1000 },         /* μs, U+03BC GREEK SMALL LETTER MU */
    { "\xc2\xb5", 2, D_IQL, 1000 },         /* µ alone, as InfluxQL and TICKscript write it */
    { "u", 1, D_IQL | D_API, 1000 },
    { "ms", 2, D_GO | D_IQL | D_API | D_CONF, 1000000 },
    { "s", 1, D_GO | D_IQL | D_API | D_CONF, 1000000000 },
    { "m", 1, D_GO | D_IQL | D_API | D_CONF, 60000000000 },
    { "h", 1, D_GO | D_IQL | D_API | D_CONF, 3600000000000 },
    { "d", 1, D_IQL | D_API, 86400000000000 },
    { "w", 1, D_IQL | D_API, 604800000000000 },
};

/* The longest unit of the dialect at p: its ns, advancing *p; 0 when there is none. */
static uint64_t match_unit(const char **p, const char *end, unsigned dialect)
{
    const struct unit *best = NULL;

    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        const struct unit *u = &units[i];
        if ((u->dialects & (1u << dialect)) && (size_t)(end - *p) >= u->len && memcmp(*p, u->name, u->len) == 0 &&
            (best == NULL || u->len > best->len))
            best = u;
    }
    if (best == NULL)
        return 0;
    *p += best->len;
    return best->ns;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Digits at *p into *v while it stays <= limit: the count read, or -1 past the limit. */
static int leading_int(const char **p, const char *end, uint64_t limit, uint64_t *v)
{
    int n = 0;

    for (*v = 0; *p < end && is_digit(**p); (*p)++, n++) {
        unsigned d = (unsigned)(**p - '0');
        if (*v > (limit - d) / 10)
            return -1;
        *v = *v * 10 + d;
    }
    return n;
}

/* '.' digits at *p: up to 18 of them into *f over *scale, the rest skipped. The count read. */
static int leading_fraction(const char **p, const char *end, uint64_t *f, uint64_t *scale)
{
    int n = 0;

    *f = 0;
    *scale = 1;
    for (; *p < end && is_digit(**p); (*p)++, n++)
        if (n < 18) {
            *f = *f * 10 + (uint64_t)(**p - '0');
            *scale *= 10;
        }
    return n;
}

/* One term at *p (digits, fraction, unit) added to *total, which must stay <= limit. */
static int parse_term(const char **p, const char *end, unsigned flags, uint64_t limit, uint64_t *total)
{
    uint64_t v, f = 0, scale = 1, unit;
    int n_int, n_frac = 0;

    if ((n_int = leading_int(p, end, limit, &v)) < 0)
        return FA_ERANGE;
    if ((flags & FA_DUR_FRAC) && *p < end && **p == '.') {
        (*p)++;
        n_frac = leading_fraction(p, end, &f, &scale);
    }
    if (n_int == 0 && n_frac == 0)
        return FA_EINVAL;
    if ((unit = match_unit(p, end, flags & FA_DUR_DIALECT)) == 0)
        return FA_EINVAL;
    if (v > limit / unit)
        return FA_ERANGE;
    v = v * unit + (uint64_t)((unsigned __int128)f * unit / scale);
    if (v > limit || *total > limit - v)
        return FA_ERANGE;
    *total += v;
    return 0;
}

int fa_duration_parse(fa_str_t s, unsigned flags, int64_t *ns)
{
    const char *p = s.ptr, *end = s.ptr + s.len;
    unsigned dialect = flags & FA_DUR_DIALECT;
    uint64_t total = 0, limit;
    bool neg = false;
    int rc;

    if (s.len == 0)
        return FA_EINVAL;
    if (*p == '-' || (*p == '+' && dialect == FA_DUR_GO)) {
        if (!(flags & FA_DUR_SIGN))
            return FA_EINVAL;
        neg = *p++ == '-';
    }
    limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    if (p == end)
        return FA_EINVAL;
    if (dialect == FA_DUR_GO && end - p == 1 && *p == '0') {
        *ns = 0;
        return 0;
    }
    if (flags & FA_DUR_BARE_MS) {
        const char *q = p;
        uint64_t ms;
        int n = leading_int(&q, end, UINT64_MAX, &ms);
        if (n > 0 && q == end) {
            if (ms > limit / 1000000)
                return FA_ERANGE;
            total = ms * 1000000;
            p = end;
        }
    }
    for (int terms = 0; p < end; terms++) {
        if (terms != 0 && (flags & FA_DUR_SINGLE))
            return FA_EINVAL;
        if ((rc = parse_term(&p, end, flags, limit, &total)) != 0)
            return rc;
    }
    *ns = !neg || total == 0 ? (int64_t)total : -(int64_t)(total - 1) - 1;
    return 0;
}

/* ---- formatting ---- */

/* v / 10^digits with the fraction's trailing zeros trimmed, then unit, at out[n]. The new n. */
static size_t put_scaled(char *out, size_t n, uint64_t v, int digits, const char *unit)
{
    uint64_t scale = 1;

    for (int i = 0; i < digits; i++)
        scale *= 10;
    n += (size_t)sprintf(out + n, "%" PRIu64, v / scale);
    if (v % scale != 0) {
        int w = sprintf(out + n, ".%0*" PRIu64, digits, v % scale);
        while (out[n + (size_t)w - 1] == '0')
            w--;
        n += (size_t)w;
    }
    return n + (size_t)sprintf(out + n, "%s", unit);
}

/* tmp (n bytes) into out as snprintf would; returns n. */
static size_t emit(char *out, size_t len, const char *tmp, size_t n)
{
    if (len != 0) {
        size_t k = n < len ? n : len - 1;
        memcpy(out, tmp, k);
        out[k] = '\0';
    }
    return n;
}

/* Go's Duration.String() into tmp (FA_DURATION_LEN bytes): the length. */
static size_t go_string(char *tmp, int64_t ns)
{
    uint64_t u = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;
    size_t n = 0;

    if (u == 0)
        return (size_t)sprintf(tmp, "0s");
    if (ns < 0)
        tmp[n++] = '-';
    if (u < 1000)
        return n + (size_t)sprintf(tmp + n, "%" PRIu64 "ns", u);
    if (u < 1000000)
        return put_scaled(tmp, n, u, 3, "\xc2\xb5s");
    if (u < 1000000000)
        return put_scaled(tmp, n, u, 6, "ms");
    uint64_t h = u / 3600000000000, m = u / 60000000000 % 60;
    if (h != 0)
        n += (size_t)sprintf(tmp + n, "%" PRIu64 "h%" PRIu64 "m", h, m);
    else if (m != 0)
        n += (size_t)sprintf(tmp + n, "%" PRIu64 "m", m);
    return put_scaled(tmp, n, u % 60000000000, 9, "s");
}

size_t fa_duration_format(char *out, size_t len, int64_t ns)
{
    char tmp[FA_DURATION_LEN];

    return emit(out, len, tmp, go_string(tmp, ns));
}

size_t fa_duration_format_influxql(char *out, size_t len, int64_t ns)
{
    static const struct {
        int64_t ns;
        const char *unit;
    } iql[] = { { 604800000000000, "w" }, { 86400000000000, "d" }, { 3600000000000, "h" }, { 60000000000, "m" },
                { 1000000000, "s" },      { 1000000, "ms" },       { 1000, "u" },          { 1, "ns" } };
    char tmp[FA_DURATION_LEN];
    size_t i = 0;

    if (ns == 0)
        return emit(out, len, "0s", 2);
    while (ns % iql[i].ns != 0)
        i++;
    return emit(out, len, tmp, (size_t)sprintf(tmp, "%" PRId64 "%s", ns / iql[i].ns, iql[i].unit));
}

int fa_duration_append(fa_buf_t *b, int64_t ns)
{
    char tmp[FA_DURATION_LEN];

    return fa_buf_append(b, tmp, go_string(tmp, ns));
}
