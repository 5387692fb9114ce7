/* engine/runner.c - the offline runner's core and the line-protocol writer. */
#include "engine/runner.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"

/* Escapes `s` with a backslash before each byte in `special`. */
static int append_escaped(fa_buf_t *out, fa_str_t s, const char *special)
{
    size_t from = 0;
    for (size_t i = 0; i < s.len; i++) {
        if (strchr(special, s.ptr[i]) == NULL || s.ptr[i] == '\0')
            continue;
        if (fa_buf_append(out, s.ptr + from, i - from) != 0 || fa_buf_append(out, "\\", 1) != 0)
            return FA_ENOMEM;
        from = i;
    }
    return fa_buf_append(out, s.ptr + from, s.len - from);
}

/* The shortest decimal digits that read back as f (f > 0, finite); *exp10 is the exponent of the
 * first digit. Returns the number of digits. */
static int shortest_digits(double f, char digits[24], int *exp10)
{
    char tmp[40];
    for (int prec = 0; prec < 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*e", prec, f);
        if (strtod(tmp, NULL) == f || prec == 16) {
            int nd = 0;
            char *p = tmp;
            for (; *p != 'e'; p++)
                if (*p >= '0' && *p <= '9')
                    digits[nd++] = *p;
            *exp10 = atoi(p + 1);
            while (nd > 1 && digits[nd - 1] == '0')
                nd--;
            return nd;
        }
    }
    return 0; /* not reached */
}

int eng_lp_format_float(fa_buf_t *out, double f)
{
    if (isnan(f))
        return fa_buf_append_c(out, "NaN");
    if (isinf(f))
        return fa_buf_append_c(out, f > 0 ? "+Inf" : "-Inf");
    if (signbit(f) && fa_buf_append(out, "-", 1) != 0)
        return FA_ENOMEM;
    f = fabs(f);
    if (f == 0)
        return fa_buf_append(out, "0", 1);
    char digits[24];
    int e, nd = shortest_digits(f, digits, &e), rc = 0;
    if (e >= 0) {
        for (int i = 0; i <= e && rc == 0; i++)
            rc = fa_buf_append(out, i < nd ? &digits[i] : "0", 1);
        if (nd > e + 1 && rc == 0)
            rc = fa_buf_append(out, ".", 1) || fa_buf_append(out, digits + e + 1, (size_t)(nd - e - 1));
    } else {
        rc = fa_buf_append(out, "0.", 2);
        for (int i = 0; i < -e - 1 && rc == 0; i++)
            rc = fa_buf_append(out, "0", 1);
        if (rc == 0)
            rc = fa_buf_append(out, digits, (size_t)nd);
    }
    return rc ? FA_ENOMEM : 0;
}

static int append_value(fa_buf_t *out, const eng_value_t *v)
{
    switch (v->type) {
    case ENG_FLOAT: return eng_lp_format_float(out, v->f);
    case ENG_INT: return fa_buf_appendf(out, "%" PRId64 "i", v->i);
    case ENG_UINT: return fa_buf_appendf(out, "%" PRIu64 "u", v->u);
    case ENG_BOOL: return fa_buf_append_c(out, v->b ? "true" : "false");
    case ENG_STRING:
        if (fa_buf_append(out, "\"", 1) != 0 || append_escaped(out, v->s, "\"\\") != 0)
            return FA_ENOMEM;
        return fa_buf_append(out, "\"", 1);
    }
    return 0;
}

int eng_lp_format_point(fa_buf_t *out, const eng_point_t *p)
{
    int rc = append_escaped(out, p->name, ", ");
    for (uint32_t i = 0; i < p->n_tags && rc == 0; i++) {
        rc = fa_buf_append(out, ",", 1) || append_escaped(out, p->tags[i].key, ",= ") || fa_buf_append(out, "=", 1) ||
             append_escaped(out, p->tags[i].value, ",= ");
    }
    for (uint32_t i = 0; i < p->n_fields && rc == 0; i++) {
        rc = fa_buf_append(out, i == 0 ? " " : ",", 1) || append_escaped(out, p->fields[i].key, ",= ") ||
             fa_buf_append(out, "=", 1) || append_value(out, &p->fields[i].v);
    }
    if (rc == 0)
        rc = fa_buf_appendf(out, " %" PRId64, p->time);
    return rc ? FA_ENOMEM : 0;
}
