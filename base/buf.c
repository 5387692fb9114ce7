/* base/buf.c - fa_buf_t: doubling growth, hard limit. */
#include "base/err.h"
#include "base/str.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int fa_buf_reserve(fa_buf_t *b, size_t extra)
{
    /* the limit first: room left over from doubling must not let the buffer pass it */
    if (extra > SIZE_MAX / 2 - b->len || (b->limit != 0 && b->len + extra > b->limit))
        return FA_E2BIG;
    if (b->len + extra + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *p = realloc(b->ptr, cap);
    if (p == NULL)
        return FA_ENOMEM;
    b->ptr = p;
    b->cap = cap;
    return 0;
}

int fa_buf_append(fa_buf_t *b, const void *p, size_t n)
{
    int rc = fa_buf_reserve(b, n);
    if (rc != 0)
        return rc;
    if (n != 0)
        memcpy(b->ptr + b->len, p, n);
    b->len += n;
    return 0;
}

int fa_buf_appendf(fa_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    char small[256];

    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return FA_EINVAL;
    if ((size_t)n < sizeof small)
        return fa_buf_append(b, small, (size_t)n);
    int rc = fa_buf_reserve(b, (size_t)n);
    if (rc != 0)
        return rc;
    va_start(ap, fmt);
    vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

const char *fa_buf_cstr(fa_buf_t *b)
{
    if (b->ptr == NULL)
        return "";
    b->ptr[b->len] = '\0';
    return b->ptr;
}

void fa_buf_deinit(fa_buf_t *b)
{
    free(b->ptr);
    *b = (fa_buf_t){ .limit = b->limit };
}
