/* bench/bench_http.h - tiny HTTP/1.1 helpers shared by loadgen.c and nullserver.c (bench only). */
#ifndef BENCH_HTTP_H
#define BENCH_HTTP_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

/** Incremental skipper for a chunked body (sizes, data, extensions and trailers). */
typedef struct bh_chunked {
    int state;     /* one of the BH_CK_* values below */
    uint64_t left; /* data bytes left in the current chunk, or the size being read */
    int ndigits;   /* hex digits seen in the size line */
} bh_chunked_t;

enum { BH_CK_SIZE, BH_CK_EXT, BH_CK_DATA, BH_CK_DATA_CR, BH_CK_DATA_LF, BH_CK_TRAIL, BH_CK_TRAIL_LINE, BH_CK_DONE };

/** Starts a new chunked body. */
static inline void bh_chunked_init(bh_chunked_t *c) { *c = (bh_chunked_t){ BH_CK_SIZE, 0, 0 }; }

/** Ends a size line: zero size goes to the trailers, else to the data. -1 = no digits. */
static inline int bh_chunked_size_done(bh_chunked_t *c)
{
    if (c->ndigits == 0)
        return -1;
    c->state = c->left == 0 ? BH_CK_TRAIL : BH_CK_DATA;
    return 0;
}

/** One byte of the framing (not data). Returns 0, or -1 on malformed framing. */
static inline int bh_chunked_byte(bh_chunked_t *c, char ch)
{
    int v;

    switch (c->state) {
    case BH_CK_SIZE:
        if (ch == '\r')
            return 0;
        if (ch == '\n')
            return bh_chunked_size_done(c);
        if (ch == ';' || ch == ' ' || ch == '\t') {
            c->state = BH_CK_EXT;
            return 0;
        }
        v = (ch >= '0' && ch <= '9') ? ch - '0' : (ch | 0x20) >= 'a' && (ch | 0x20) <= 'f' ? (ch | 0x20) - 'a' + 10 : -1;
        if (v < 0 || c->ndigits >= 15)
            return -1;
        c->left = c->left * 16 + (uint64_t)v;
        c->ndigits++;
        return 0;
    case BH_CK_EXT:
        return ch == '\n' ? bh_chunked_size_done(c) : 0;
    case BH_CK_DATA_CR:
        if (ch == '\r') {
            c->state = BH_CK_DATA_LF;
            return 0;
        }
        __attribute__((fallthrough)); /* a bare LF is tolerated */
    case BH_CK_DATA_LF:
        if (ch != '\n')
            return -1;
        c->state = BH_CK_SIZE;
        c->left = 0;
        c->ndigits = 0;
        return 0;
    case BH_CK_TRAIL:
        if (ch == '\n')
            c->state = BH_CK_DONE;
        else if (ch != '\r')
            c->state = BH_CK_TRAIL_LINE;
        return 0;
    case BH_CK_TRAIL_LINE:
        if (ch == '\n')
            c->state = BH_CK_TRAIL;
        return 0;
    default:
        return -1;
    }
}

/**
 * Consumes up to n bytes of a chunked body. Returns the bytes consumed (stops right after the
 * body when it ends, so pipelined bytes stay), or -1 on malformed framing. *done = body ended.
 */
static inline long bh_chunked_skip(bh_chunked_t *c, const char *p, size_t n, bool *done)
{
    size_t i = 0;

    while (i < n && c->state != BH_CK_DONE) {
        if (c->state == BH_CK_DATA) {
            size_t take = n - i < c->left ? n - i : (size_t)c->left;
            i += take;
            c->left -= take;
            if (c->left == 0)
                c->state = BH_CK_DATA_CR;
            continue;
        }
        if (bh_chunked_byte(c, p[i++]) != 0)
            return -1;
    }
    *done = c->state == BH_CK_DONE;
    return (long)i;
}

/** What the head of a request or response says about its body and connection. */
typedef struct bh_head {
    size_t head_len;   /* bytes up to and including the blank line */
    int64_t clen;      /* Content-Length, -1 when absent */
    bool chunked;      /* Transfer-Encoding: chunked */
    bool close;        /* Connection: close, or HTTP/1.0 without keep-alive */
    bool expect_100;   /* Expect: 100-continue */
    const char *line;  /* first line (not terminated) */
    size_t line_len;
} bh_head_t;

/** Case-insensitive compare of a header name. */
static inline bool bh_name_is(const char *p, size_t n, const char *name)
{
    return strlen(name) == n && strncasecmp(p, name, n) == 0;
}

/** Does the value contain the token, case-insensitively? */
static inline bool bh_value_has(const char *v, size_t n, const char *tok)
{
    size_t t = strlen(tok);
    for (size_t i = 0; i + t <= n; i++)
        if (strncasecmp(v + i, tok, t) == 0)
            return true;
    return false;
}

/** Applies one header line to h. Returns -1 on a malformed Content-Length. */
static inline int bh_head_field(bh_head_t *h, const char *p, size_t n)
{
    const char *colon = memchr(p, ':', n);
    size_t nl, vl;
    const char *v;

    if (colon == NULL)
        return 0;
    nl = (size_t)(colon - p);
    v = colon + 1;
    vl = n - nl - 1;
    while (vl > 0 && (*v == ' ' || *v == '\t'))
        v++, vl--;
    if (bh_name_is(p, nl, "content-length")) {
        int64_t x = 0;
        if (vl == 0 || vl > 18)
            return -1;
        for (size_t i = 0; i < vl; i++) {
            if (v[i] < '0' || v[i] > '9')
                return -1;
            x = x * 10 + (v[i] - '0');
        }
        h->clen = x;
    } else if (bh_name_is(p, nl, "transfer-encoding")) {
        h->chunked = bh_value_has(v, vl, "chunked");
    } else if (bh_name_is(p, nl, "connection")) {
        if (bh_value_has(v, vl, "close"))
            h->close = true;
        else if (bh_value_has(v, vl, "keep-alive"))
            h->close = false;
    } else if (bh_name_is(p, nl, "expect")) {
        h->expect_100 = bh_value_has(v, vl, "100-continue");
    }
    return 0;
}

/**
 * Parses a head from buf[0..n). Returns 1 with *h filled when the head is complete, 0 when more
 * bytes are needed, -1 when it is malformed.
 */
static inline int bh_head_parse(const char *buf, size_t n, bh_head_t *h)
{
    const char *end = memmem(buf, n, "\r\n\r\n", 4);
    const char *p, *eol;

    if (end == NULL)
        return 0;
    *h = (bh_head_t){ .head_len = (size_t)(end - buf) + 4, .clen = -1 };
    eol = memmem(buf, (size_t)(end - buf) + 2, "\r\n", 2);
    h->line = buf;
    h->line_len = (size_t)(eol - buf);
    if (bh_value_has(buf, h->line_len, "HTTP/1.0"))
        h->close = true;
    for (p = eol + 2; p < end + 2; p = eol + 2) {
        eol = memmem(p, (size_t)(end + 2 - p), "\r\n", 2);
        if (bh_head_field(h, p, (size_t)(eol - p)) != 0)
            return -1;
    }
    return 1;
}
#endif
