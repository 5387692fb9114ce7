/* cmd/farad/cli_fmt.c - times, durations, sizes and values printed as the kapacitor CLI (Go)
 * prints them: RFC 3339 in and out, time.RFC822, time.Duration.String, go-humanize Bytes, %q, %v. */
#include "cmd/farad/cli.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

/* Days since 1970-01-01 of a proleptic Gregorian date (valid for year 1 too). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int digits(const char **p, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++, (*p)++) {
        if (**p < '0' || **p > '9')
            return -1;
        v = v * 10 + (**p - '0');
    }
    return v;
}

int cli_time_parse(const char *s, cli_time_t *t)
{
    const char *p = s;
    int y = digits(&p, 4), mo, d, h, mi, se;
    if (y < 0 || *p++ != '-' || (mo = digits(&p, 2)) < 1 || mo > 12 || *p++ != '-' || (d = digits(&p, 2)) < 1 ||
        d > 31 || (*p != 'T' && *p != 't') || (++p, (h = digits(&p, 2)) < 0) || h > 23 || *p++ != ':' ||
        (mi = digits(&p, 2)) < 0 || mi > 59 || *p++ != ':' || (se = digits(&p, 2)) < 0 || se > 60)
        return -1;
    int32_t ns = 0;
    if (*p == '.') {
        int n = 0;
        for (p++; *p >= '0' && *p <= '9'; p++, n++)
            if (n < 9)
                ns = ns * 10 + (*p - '0');
        if (n == 0)
            return -1;
        for (; n < 9; n++)
            ns *= 10;
    }
    int32_t off = 0;
    bool zulu = false;
    if (*p == 'Z' || *p == 'z') {
        zulu = true;
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p++ == '-' ? -1 : 1, oh, om;
        if ((oh = digits(&p, 2)) < 0 || *p++ != ':' || (om = digits(&p, 2)) < 0)
            return -1;
        off = sign * (oh * 3600 + om * 60);
    } else {
        return -1;
    }
    if (*p != '\0')
        return -1;
    t->sec = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - off;
    t->nsec = ns;
    t->off = off;
    t->zulu = zulu;
    return 0;
}

/* Wall-clock fields of t in its own offset. */
static void fields(const cli_time_t *t, int64_t *y, int *mo, int *d, int *h, int *mi, int *s)
{
    int64_t local = t->sec + t->off;
    int64_t days = local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
    int64_t rem = local - days * 86400;
    civil_from_days(days, y, mo, d);
    *h = (int)(rem / 3600);
    *mi = (int)(rem % 3600 / 60);
    *s = (int)(rem % 60);
}

void cli_time_rfc3339(const cli_time_t *t, char *out, size_t n)
{
    int64_t y;
    int mo, d, h, mi, s;
    char frac[16] = "", zone[16] = "Z";
    fields(t, &y, &mo, &d, &h, &mi, &s);
    if (t->nsec != 0) {
        snprintf(frac, sizeof frac, ".%09d", (int)t->nsec);
        for (size_t l = strlen(frac); frac[l - 1] == '0'; l--)
            frac[l - 1] = '\0';
    }
    if (!t->zulu && t->off != 0) {
        int a = t->off < 0 ? -t->off : t->off;
        snprintf(zone, sizeof zone, "%c%02d:%02d", t->off < 0 ? '-' : '+', a / 3600, a % 3600 / 60);
    }
    snprintf(out, n, "%04lld-%02d-%02dT%02d:%02d:%02d%s%s", (long long)y, mo, d, h, mi, s, frac, zone);
}

void cli_time_rfc822(const cli_time_t *t, char *out, size_t n)
{
    int64_t y;
    int mo, d, h, mi, s;
    char zone[16] = "UTC";
    fields(t, &y, &mo, &d, &h, &mi, &s);
    if (!t->zulu && t->off != 0) {
        int a = t->off < 0 ? -t->off : t->off;
        snprintf(zone, sizeof zone, "%c%02d%02d", t->off < 0 ? '-' : '+', a / 3600, a % 3600 / 60);
    }
    snprintf(out, n, "%02d %s %02d %02d:%02d %s", d, months[mo - 1], (int)(((y % 100) + 100) % 100), h, mi, zone);
}

void cli_time_rfc822_local(const cli_time_t *t, char *out, size_t n)
{
    time_t sec = (time_t)t->sec;
    struct tm tm;
    if (localtime_r(&sec, &tm) == NULL || strftime(out, n, "%d %b %y %H:%M %Z", &tm) == 0)
        cli_time_rfc822(t, out, n);
}

cli_time_t cli_time_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (cli_time_t){ .sec = ts.tv_sec, .nsec = (int32_t)ts.tv_nsec, .off = 0, .zulu = true };
}

cli_time_t cli_time_add(cli_time_t t, int64_t ns)
{
    int64_t total = (int64_t)t.nsec + ns % 1000000000;
    t.sec += ns / 1000000000 + (total >= 1000000000 ? 1 : total < 0 ? -1 : 0);
    t.nsec = (int32_t)(total >= 1000000000 ? total - 1000000000 : total < 0 ? total + 1000000000 : total);
    return t;
}

void cli_humanize_bytes(uint64_t s, char *out, size_t n)
{
    static const char *const sizes[] = { "B", "kB", "MB", "GB", "TB", "PB", "EB" };
    if (s < 10) {
        snprintf(out, n, "%llu B", (unsigned long long)s);
        return;
    }
    int e = 0;
    double div = 1;
    while (e < 6 && (double)s >= div * 1000) {
        div *= 1000;
        e++;
    }
    double val = (double)(long long)((double)s / div * 10 + 0.5) / 10;
    snprintf(out, n, val < 10 ? "%.1f %s" : "%.0f %s", val, sizes[e]);
}

/* ---- values ---- */

void cli_go_quote(fa_buf_t *b, const char *s)
{
    fa_buf_append(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fa_buf_appendf(b, "\\%c", *p);
        else if (*p == '\n')
            fa_buf_append_c(b, "\\n");
        else if (*p == '\t')
            fa_buf_append_c(b, "\\t");
        else if (*p == '\r')
            fa_buf_append_c(b, "\\r");
        else if (*p < 0x20 || *p == 0x7f)
            fa_buf_appendf(b, "\\x%02x", *p);
        else
            fa_buf_append(b, p, 1);
    }
    fa_buf_append(b, "\"", 1);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

/* Go's %v of a decoded interface{} */
static void go_v(fa_buf_t *b, const json_t *v)
{
    char num[64];
    size_t i;
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *k, **keys = calloc(json_object_size(v) + 1, sizeof *keys);
        const json_t *x;
        size_t n = 0;
        if (keys == NULL)
            abort();
        json_object_foreach((json_t *)v, k, x)
        {
            (void)x;
            keys[n++] = k;
        }
        qsort(keys, n, sizeof *keys, cmp_str);
        fa_buf_append_c(b, "map[");
        for (i = 0; i < n; i++) {
            fa_buf_appendf(b, "%s%s:", i ? " " : "", keys[i]);
            go_v(b, json_object_get(v, keys[i]));
        }
        fa_buf_append_c(b, "]");
        free(keys);
        break;
    }
    case JSON_ARRAY:
        fa_buf_append_c(b, "[");
        for (i = 0; i < json_array_size(v); i++) {
            if (i)
                fa_buf_append_c(b, " ");
            go_v(b, json_array_get(v, i));
        }
        fa_buf_append_c(b, "]");
        break;
    case JSON_STRING:
        fa_buf_append_c(b, json_string_value(v));
        break;
    case JSON_INTEGER:
        fa_buf_appendf(b, "%lld", (long long)json_integer_value(v));
        break;
    case JSON_REAL:
        cli_go_float_v(num, sizeof num, json_real_value(v));
        fa_buf_append_c(b, num);
        break;
    case JSON_TRUE:
        fa_buf_append_c(b, "true");
        break;
    case JSON_FALSE:
        fa_buf_append_c(b, "false");
        break;
    default:
        fa_buf_append_c(b, "<nil>");
    }
}

void cli_var_value(fa_buf_t *b, const char *type, const json_t *v, bool required_marker)
{
    char s[64];
    if (v == NULL || json_is_null(v)) {
        fa_buf_append_c(b, required_marker ? "<required>" : "<nil>");
        return;
    }
    if (strcmp(type, "duration") == 0 && (json_is_integer(v) || json_is_string(v))) {
        int64_t ns = json_is_integer(v) ? json_integer_value(v) : 0;
        if (json_is_string(v) && fa_duration_parse(fa_str_c(json_string_value(v)), FA_DUR_INFLUXQL_PARSE, &ns) != 0) {
            fa_buf_append_c(b, json_string_value(v));
            return;
        }
        fa_duration_format(s, sizeof s, ns);
        fa_buf_append_c(b, s);
        return;
    }
    if (strcmp(type, "float") == 0 && json_is_number(v)) {
        cli_go_float_v(s, sizeof s, json_number_value(v));
        fa_buf_append_c(b, s);
        return;
    }
    if (strcmp(type, "list") == 0 && json_is_array(v)) {
        fa_buf_append_c(b, "[");
        for (size_t i = 0; i < json_array_size(v); i++) {
            const json_t *item = json_array_get(v, i);
            if (i)
                fa_buf_append_c(b, ", ");
            if (strcmp(cli_jstr(item, "type"), "star") == 0)
                fa_buf_append_c(b, "*");
            else
                go_v(b, json_object_get(item, "value"));
        }
        fa_buf_append_c(b, "]");
        return;
    }
    go_v(b, v);
}
