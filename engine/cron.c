/* engine/cron.c - cron expression parser and next-match search (UTC). */
#include "engine/cron.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

enum { F_SEC, F_MIN, F_HOUR, F_DOM, F_MONTH, F_DOW, F_YEAR };

struct field_spec {
    const char *name;
    int lo, hi;
    const char *const *names; /* names[i] is value lo + i, or NULL */
};

static const char *const month_names[] = { "JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                           "JUL", "AUG", "SEP", "OCT", "NOV", "DEC", NULL };
static const char *const dow_names[] = { "SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", NULL };

static const struct field_spec specs[] = {
    [F_SEC] = { "second", 0, 59, NULL },       [F_MIN] = { "minute", 0, 59, NULL },
    [F_HOUR] = { "hour", 0, 23, NULL },        [F_DOM] = { "day of month", 1, 31, NULL },
    [F_MONTH] = { "month", 1, 12, month_names }, [F_DOW] = { "day of week", 0, 7, dow_names },
    [F_YEAR] = { "year", ENG_CRON_YEAR_MIN, ENG_CRON_YEAR_MAX, NULL },
};

struct parse {
    const char *p, *end;
    int field;
    char *err;
    size_t errlen;
};

static int fail(struct parse *ps, const char *fmt, const char *tok, size_t len)
{
    char what[64];
    snprintf(what, sizeof what, "%.*s", (int)(len > 40 ? 40 : len), tok);
    char msg[160];
    snprintf(msg, sizeof msg, fmt, what);
    snprintf(ps->err, ps->errlen, "cron %s field: %s", specs[ps->field].name, msg);
    return -1;
}

/* A number or a name at ps->p; advances. */
static int read_value(struct parse *ps, int *out)
{
    const struct field_spec *s = &specs[ps->field];
    const char *start = ps->p;
    if (ps->p < ps->end && isdigit((unsigned char)*ps->p)) {
        long v = 0;
        while (ps->p < ps->end && isdigit((unsigned char)*ps->p) && v < 100000)
            v = v * 10 + (*ps->p++ - '0');
        if (v < s->lo || v > s->hi) {
            char msg[80];
            snprintf(msg, sizeof msg, "%%s is out of range %d-%d", s->lo, s->hi);
            return fail(ps, msg, start, (size_t)(ps->p - start));
        }
        *out = (int)v;
        return 0;
    }
    while (ps->p < ps->end && isalpha((unsigned char)*ps->p))
        ps->p++;
    size_t len = (size_t)(ps->p - start);
    for (int i = 0; s->names != NULL && len == 3 && s->names[i] != NULL; i++)
        if (strncasecmp(start, s->names[i], 3) == 0) {
            *out = s->lo + i;
            return 0;
        }
    if (len == 1 && (*start == 'L' || *start == 'W' || *start == 'l' || *start == 'w'))
        return fail(ps, "'%s' is not supported", start, 1);
    if (len == 0)
        return fail(ps, "unexpected '%s'", start, ps->p < ps->end ? 1 : 0);
    return fail(ps, "unknown value '%s'", start, len);
}

static void set_bits(uint64_t *bits, int lo, int from, int to, int step)
{
    for (int v = from; v <= to; v += step)
        bits[(v - lo) / 64] |= 1ull << ((v - lo) % 64);
}

/* One field: a comma list of items, into bits (relative to the field's lo). *any: it was * or ?. */
static int parse_field(struct parse *ps, uint64_t bits[3], bool *any)
{
    const struct field_spec *s = &specs[ps->field];
    *any = false;
    for (;;) {
        int from = s->lo, to = s->hi, step = 1;
        bool star = false;
        if (ps->p < ps->end && (*ps->p == '*' || (*ps->p == '?' && (ps->field == F_DOM || ps->field == F_DOW)))) {
            ps->p++;
            star = true;
        } else {
            if (read_value(ps, &from) != 0)
                return -1;
            to = from;
            if (ps->p < ps->end && *ps->p == '-') {
                ps->p++;
                if (read_value(ps, &to) != 0)
                    return -1;
                if (to < from)
                    return fail(ps, "range ends before it starts at '%s'", ps->p - 1, 1);
            }
        }
        if (ps->p < ps->end && *ps->p == '/') {
            const char *at = ++ps->p;
            long v = 0;
            while (ps->p < ps->end && isdigit((unsigned char)*ps->p) && v < 100000)
                v = v * 10 + (*ps->p++ - '0');
            if (ps->p == at || v == 0)
                return fail(ps, "bad step '%s'", at, ps->p > at ? (size_t)(ps->p - at) : ps->p < ps->end);
            step = (int)v;
            if (!star && to == from)
                to = s->hi; /* N/S: from N to the end */
        }
        if (star && step == 1)
            *any = true;
        set_bits(bits, s->lo, from, to, step);
        if (ps->p < ps->end && (*ps->p == '#'))
            return fail(ps, "'%s' is not supported", ps->p, 1);
        if (ps->p >= ps->end)
            return 0;
        if (*ps->p != ',')
            return fail(ps, "unexpected '%s'", ps->p, 1);
        ps->p++;
    }
}

static const struct {
    const char *name, *expr;
} macros[] = {
    { "@yearly", "0 0 0 1 1 * *" }, { "@annually", "0 0 0 1 1 * *" }, { "@monthly", "0 0 0 1 * * *" },
    { "@weekly", "0 0 0 * * 0 *" }, { "@daily", "0 0 0 * * * *" },    { "@midnight", "0 0 0 * * * *" },
    { "@hourly", "0 0 * * * * *" },
};

int eng_cron_parse(fa_str_t expr, eng_cron_t *out, char *err, size_t errlen, size_t *err_off)
{
    const char *p = expr.ptr, *end = expr.ptr + expr.len;
    while (p < end && isspace((unsigned char)*p))
        p++;
    while (end > p && isspace((unsigned char)end[-1]))
        end--;
    if (p < end && *p == '@') {
        for (size_t i = 0; i < sizeof macros / sizeof macros[0]; i++)
            if ((size_t)(end - p) == strlen(macros[i].name) && strncasecmp(p, macros[i].name, (size_t)(end - p)) == 0)
                return eng_cron_parse(fa_str_c(macros[i].expr), out, err, errlen, err_off);
        *err_off = (size_t)(p - expr.ptr);
        snprintf(err, errlen, "cron: unknown macro '%.*s'", (int)(end - p), p);
        return -1;
    }
    const char *f[8];
    size_t flen[8];
    int n = 0;
    while (p < end) {
        if (n == 7)
            break;
        f[n] = p;
        while (p < end && !isspace((unsigned char)*p))
            p++;
        flen[n] = (size_t)(p - f[n]);
        n++;
        while (p < end && isspace((unsigned char)*p))
            p++;
    }
    if (n < 5 || n > 7 || p < end) {
        *err_off = 0;
        snprintf(err, errlen, "cron: %s fields in '%.*s': want 5, 6 or 7", p < end ? "more than 7" : "too few",
                 (int)expr.len, expr.ptr);
        return -1;
    }
    /* which field each written field is */
    static const int map5[] = { F_MIN, F_HOUR, F_DOM, F_MONTH, F_DOW };
    static const int map6[] = { F_MIN, F_HOUR, F_DOM, F_MONTH, F_DOW, F_YEAR };
    static const int map7[] = { F_SEC, F_MIN, F_HOUR, F_DOM, F_MONTH, F_DOW, F_YEAR };
    const int *map = n == 5 ? map5 : n == 6 ? map6 : map7;
    uint64_t bits[7][3];
    bool any[7] = { false };
    memset(bits, 0, sizeof bits);
    bits[F_SEC][0] = 1; /* second 0 unless given */
    set_bits(bits[F_YEAR], ENG_CRON_YEAR_MIN, ENG_CRON_YEAR_MIN, ENG_CRON_YEAR_MAX, 1);
    any[F_YEAR] = true;
    for (int i = 0; i < n; i++) {
        struct parse ps = { f[i], f[i] + flen[i], map[i], err, errlen };
        memset(bits[map[i]], 0, sizeof bits[0]);
        if (parse_field(&ps, bits[map[i]], &any[map[i]]) != 0) {
            *err_off = (size_t)(f[i] - expr.ptr);
            return -1;
        }
    }
    memset(out, 0, sizeof(*out));
    out->sec = bits[F_SEC][0];
    out->min = bits[F_MIN][0];
    out->hour = (uint32_t)bits[F_HOUR][0];
    out->dom = (uint32_t)(bits[F_DOM][0] << 1);
    out->month = (uint16_t)(bits[F_MONTH][0] << 1);
    uint64_t dow = bits[F_DOW][0];
    out->dow = (uint8_t)((dow | (dow >> 7)) & 0x7f); /* 7 is Sunday too */
    out->dom_any = any[F_DOM];
    out->dow_any = any[F_DOW];
    memcpy(out->year, bits[F_YEAR], sizeof out->year);
    return 0;
}

static bool year_ok(const eng_cron_t *c, int y)
{
    if (y < ENG_CRON_YEAR_MIN || y > ENG_CRON_YEAR_MAX)
        return false;
    int b = y - ENG_CRON_YEAR_MIN;
    return (c->year[b / 64] >> (b % 64)) & 1;
}

static bool day_ok(const eng_cron_t *c, const struct tm *tm)
{
    bool dom = (c->dom >> tm->tm_mday) & 1, dow = (c->dow >> tm->tm_wday) & 1;
    if (c->dom_any && c->dow_any)
        return true;
    if (c->dom_any)
        return dow;
    if (c->dow_any)
        return dom;
    return dom || dow;
}

int64_t eng_cron_next(const eng_cron_t *c, int64_t after)
{
    int64_t s = after >= 0 ? after / 1000000000 : -((-after + 999999999) / 1000000000);
    time_t t = (time_t)s + 1;
    struct tm tm;
    gmtime_r(&t, &tm);
    /* each step moves to the start of the next candidate unit: bounded by the calendar */
    for (int guard = 0; guard < 1000000; guard++) {
        if (tm.tm_year + 1900 > ENG_CRON_YEAR_MAX)
            return -1;
        if (!year_ok(c, tm.tm_year + 1900)) {
            tm = (struct tm){ .tm_year = tm.tm_year + 1, .tm_mday = 1 };
        } else if (!((c->month >> (tm.tm_mon + 1)) & 1)) {
            tm = (struct tm){ .tm_year = tm.tm_year, .tm_mon = tm.tm_mon + 1, .tm_mday = 1 };
        } else if (!day_ok(c, &tm)) {
            tm = (struct tm){ .tm_year = tm.tm_year, .tm_mon = tm.tm_mon, .tm_mday = tm.tm_mday + 1 };
        } else if (!((c->hour >> tm.tm_hour) & 1)) {
            tm = (struct tm){ .tm_year = tm.tm_year, .tm_mon = tm.tm_mon, .tm_mday = tm.tm_mday, .tm_hour = tm.tm_hour + 1 };
        } else if (!((c->min >> tm.tm_min) & 1)) {
            tm.tm_min++;
            tm.tm_sec = 0;
        } else if (!((c->sec >> tm.tm_sec) & 1)) {
            tm.tm_sec++;
        } else {
            return (int64_t)timegm(&tm) * 1000000000;
        }
        t = timegm(&tm); /* normalizes (and sets tm_wday) */
        gmtime_r(&t, &tm);
    }
    return -1;
}
