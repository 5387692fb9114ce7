/* base/str.h - string slices for everything parsed, and a growable byte buffer. */
#ifndef BASE_STR_H
#define BASE_STR_H
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/** A slice: not NUL-terminated, not owned. */
typedef struct fa_str {
    const char *ptr;
    size_t len;
} fa_str_t;

#define FA_STR_LIT(s) ((fa_str_t){ (s), sizeof(s) - 1 })
#define FA_STR_NULL ((fa_str_t){ NULL, 0 })

static inline fa_str_t fa_str(const char *p, size_t n) { return (fa_str_t){ p, n }; }
static inline fa_str_t fa_str_c(const char *s) { return (fa_str_t){ s, s ? strlen(s) : 0 }; }
static inline bool fa_str_eq(fa_str_t a, fa_str_t b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}
static inline bool fa_str_eq_c(fa_str_t a, const char *s) { return fa_str_eq(a, fa_str_c(s)); }
/** Bytewise order, shorter first on a common prefix (InfluxDB's tag sort). */
static inline int fa_str_cmp(fa_str_t a, fa_str_t b)
{
    size_t n = a.len < b.len ? a.len : b.len;
    int c = n ? memcmp(a.ptr, b.ptr, n) : 0;
    return c != 0 ? c : (a.len < b.len ? -1 : a.len > b.len);
}

/** Growable buffer, heap-owned. `limit` 0 = unlimited; appends past it fail with FA_E2BIG. */
typedef struct fa_buf {
    char *ptr;
    size_t len, cap;
    size_t limit;
} fa_buf_t;

#define FA_BUF_INIT ((fa_buf_t){ NULL, 0, 0, 0 })

/** 0 or FA_ENOMEM / FA_E2BIG. Keeps one spare byte so fa_buf_cstr never reallocates. */
int fa_buf_reserve(fa_buf_t *b, size_t extra);
int fa_buf_append(fa_buf_t *b, const void *p, size_t n);
int fa_buf_appendf(fa_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline int fa_buf_append_str(fa_buf_t *b, fa_str_t s) { return fa_buf_append(b, s.ptr, s.len); }
static inline int fa_buf_append_c(fa_buf_t *b, const char *s) { return fa_buf_append(b, s, strlen(s)); }
/** NUL-terminates in place (the reserve guarantees room) and returns ptr ("" when empty). */
const char *fa_buf_cstr(fa_buf_t *b);
static inline void fa_buf_clear(fa_buf_t *b) { b->len = 0; }
void fa_buf_deinit(fa_buf_t *b);
#endif
