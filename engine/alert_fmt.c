/* engine/alert_fmt.c - Go's number, string, time and duration text forms (see alert_fmt.h). */
#include "engine/alert_fmt.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* Shortest decimal digits of v > 0 that read back as v: digits (no dot, no trailing zeros)
 * and dp, the position of the decimal point (v = 0.d1d2... * 10^dp). */
static int shortest_digits(double v, char digs[24], int *dp)
{
    char buf[40];
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, sizeof buf, "%.*e", p - 1, v);
        if (p == 17 || strtod(buf, NULL) == v)
            break;
    }
    int nd = 0;
    const char *s = buf;
    for (; *s != 'e'; s++)
        if (*s >= '0' && *s <= '9')
            digs[nd++] = *s;
    int exp = atoi(s + 1);
    while (nd > 1 && digs[nd - 1] == '0')
        nd--;
    digs[nd] = '\0';
    *dp = exp + 1;
    return nd;
}

/* d[.ddd]e±XX with at least two exponent digits (strconv's %e) */
static int append_e(fa_buf_t *b, const char *digs, int nd, int dp)
{
    int rc = fa_buf_append(b, digs, 1);
    if (rc == 0 && nd > 1) {
        rc = fa_buf_append(b, ".", 1);
        if (rc == 0)
            rc = fa_buf_append(b, digs + 1, (size_t)nd - 1);
    }
    int exp = dp - 1;
    return rc != 0 ? rc : fa_buf_appendf(b, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
}

/* plain decimal (strconv's %f with the shortest digits) */
static int append_f(fa_buf_t *b, const char *digs, int nd, int dp)
{
    int rc = 0;
    if (dp <= 0) {
        rc = fa_buf_append(b, "0.", 2);
        for (int i = 0; rc == 0 && i < -dp; i++)
            rc = fa_buf_append(b, "0", 1);
        return rc != 0 ? rc : fa_buf_append(b, digs, (size_t)nd);
    }
    if (dp >= nd) {
        rc = fa_buf_append(b, digs, (size_t)nd);
        for (int i = nd; rc == 0 && i < dp; i++)
            rc = fa_buf_append(b, "0", 1);
        return rc;
    }
    rc = fa_buf_append(b, digs, (size_t)dp);
    if (rc == 0)
        rc = fa_buf_append(b, ".", 1);
    return rc != 0 ? rc : fa_buf_append(b, digs + dp, (size_t)(nd - dp));
}

int eng_fmt_go_float(fa_buf_t *b, double v)
{
    if (isnan(v))
        return fa_buf_append_c(b, "NaN");
    if (isinf(v))
        return fa_buf_append_c(b, v > 0 ? "+Inf" : "-Inf");
    if (signbit(v)) {
        int rc = fa_buf_append(b, "-", 1);
        if (rc != 0)
            return rc;
        v = -v;
    }
    if (v == 0)
        return fa_buf_append(b, "0", 1);
    char digs[24];
    int dp, nd = shortest_digits(v, digs, &dp);
    int exp = dp - 1;
    return exp < -4 || exp >= 6 ? append_e(b, digs, nd, dp) : append_f(b, digs, nd, dp);
}

int eng_fmt_json_float(fa_buf_t *b, double v)
{
    if (isnan(v) || isinf(v))
        return fa_buf_append_c(b, "null");
    if (signbit(v)) {
        int rc = fa_buf_append(b, "-", 1);
        if (rc != 0)
            return rc;
        v = -v;
    }
    if (v == 0)
        return fa_buf_append(b, "0", 1);
    char digs[24];
    int dp, nd = shortest_digits(v, digs, &dp);
    if (v < 1e-6 || v >= 1e21) {
        /* encoding/json trims e-07 to e-7 */
        int exp = dp - 1, rc = fa_buf_append(b, digs, 1);
        if (rc == 0 && nd > 1)
            rc = fa_buf_appendf(b, ".%.*s", nd - 1, digs + 1);
        return rc != 0 ? rc : fa_buf_appendf(b, "e%c%d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    }
    return append_f(b, digs, nd, dp);
}

/* one UTF-8 sequence at s (n bytes left): its length, or 0 when invalid */
static size_t utf8_len(const unsigned char *s, size_t n, uint32_t *cp)
{
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    size_t len = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;
    if (len == 0 || s[0] > 0xf4 || len > n)
        return 0;
    uint32_t c = s[0] & (0x7f >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3f);
    }
    if ((len == 3 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) || (len == 4 && (c < 0x10000 || c > 0x10ffff)))
        return 0;
    *cp = c;
    return len;
}

int eng_fmt_json_str(fa_buf_t *b, fa_str_t s)
{
    if (s.ptr == NULL)
        s = FA_STR_LIT("");
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s.ptr;
    int rc = fa_buf_append(b, "\"", 1);
    size_t start = 0, i = 0;
    while (rc == 0 && i < s.len) {
        unsigned char c = p[i];
        uint32_t cp = 0;
        size_t len = 1;
        const char *esc = NULL;
        char u[7];
        if (c >= 0x80) {
            len = utf8_len(p + i, s.len - i, &cp);
            if (len == 0) {
                esc = "\\ufffd";
                len = 1;
            } else if (cp == 0x2028 || cp == 0x2029) {
                esc = cp == 0x2028 ? "\\u2028" : "\\u2029";
            }
        } else if (c == '"') {
            esc = "\\\"";
        } else if (c == '\\') {
            esc = "\\\\";
        } else if (c == '\n') {
            esc = "\\n";
        } else if (c == '\r') {
            esc = "\\r";
        } else if (c == '\t') {
            esc = "\\t";
        } else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
            u[0] = '\\', u[1] = 'u', u[2] = '0', u[3] = '0', u[4] = hex[c >> 4], u[5] = hex[c & 15], u[6] = 0;
            esc = u;
        }
        if (esc != NULL) {
            rc = fa_buf_append(b, s.ptr + start, i - start);
            if (rc == 0)
                rc = fa_buf_append_c(b, esc);
            start = i + len;
        }
        i += len;
    }
    if (rc == 0)
        rc = fa_buf_append(b, s.ptr + start, s.len - start);
    return rc != 0 ? rc : fa_buf_append(b, "\"", 1);
}

static void split_time(int64_t ns, struct tm *tm, int64_t *frac)
{
    int64_t sec = ns / 1000000000, f = ns % 1000000000;
    if (f < 0) {
        f += 1000000000;
        sec--;
    }
    time_t t = (time_t)sec;
    gmtime_r(&t, tm);
    *frac = f;
}

/* ".25" for 250000000 ns, "" for 0 */
static int append_frac(fa_buf_t *b, int64_t frac)
{
    if (frac == 0)
        return 0;
    char d[10];
    snprintf(d, sizeof d, "%09" PRId64, frac);
    int n = 9;
    while (d[n - 1] == '0')
        n--;
    return fa_buf_appendf(b, ".%.*s", n, d);
}

int eng_fmt_rfc3339(fa_buf_t *b, int64_t ns)
{
    struct tm tm;
    int64_t frac;
    split_time(ns, &tm, &frac);
    int rc = fa_buf_appendf(b, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                            tm.tm_min, tm.tm_sec);
    if (rc == 0)
        rc = append_frac(b, frac);
    return rc != 0 ? rc : fa_buf_append(b, "Z", 1);
}

int eng_fmt_go_time(fa_buf_t *b, int64_t ns)
{
    struct tm tm;
    int64_t frac;
    split_time(ns, &tm, &frac);
    int rc = fa_buf_appendf(b, "%04d-%02d-%02d %02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                            tm.tm_min, tm.tm_sec);
    if (rc == 0)
        rc = append_frac(b, frac);
    return rc != 0 ? rc : fa_buf_append_c(b, " +0000 UTC");
}

int eng_fmt_html(fa_buf_t *b, fa_str_t s)
{
    if (s.ptr == NULL)
        return 0;
    size_t start = 0;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < s.len; i++) {
        const char *esc;
        switch (s.ptr[i]) {
        case '"': esc = "&#34;"; break;
        case '\'': esc = "&#39;"; break;
        case '&': esc = "&amp;"; break;
        case '+': esc = "&#43;"; break;
        case '<': esc = "&lt;"; break;
        case '>': esc = "&gt;"; break;
        case '\0': esc = "\xef\xbf\xbd"; break;
        default: continue;
        }
        rc = fa_buf_append(b, s.ptr + start, i - start);
        if (rc == 0)
            rc = fa_buf_append_c(b, esc);
        start = i + 1;
    }
    return rc != 0 ? rc : fa_buf_append(b, s.ptr + start, s.len - start);
}
