/* test/proxy/test_gzip.c - proxy/gzip.h: round trip, concatenated members, bound, corruption. */
#include <criterion/criterion.h>
#include <string.h>
#include <zlib.h>

#include "base/err.h"
#include "proxy/gzip.h"

static size_t gz(const char *in, size_t len, unsigned char *out, size_t cap)
{
    z_stream z = { 0 };
    cr_assert_eq(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)len;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    cr_assert_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
    size_t n = cap - z.avail_out;
    deflateEnd(&z);
    return n;
}

Test(gzip, round_trip_and_members)
{
    static const char a[] = "cpu value=1 1\n", b[] = "mem used=2i 2\n";
    unsigned char buf[512];
    size_t n = gz(a, strlen(a), buf, sizeof buf);
    n += gz(b, strlen(b), buf + n, sizeof buf - n);
    fa_buf_t out = FA_BUF_INIT;
    cr_assert_eq(proxy_gunzip(buf, n, &out, 0), 0);
    cr_assert_eq(out.len, strlen(a) + strlen(b));
    cr_assert_eq(memcmp(out.ptr, "cpu value=1 1\nmem used=2i 2\n", out.len), 0);
    fa_buf_deinit(&out);
}

Test(gzip, output_bound_and_corruption)
{
    static char big[200000];
    memset(big, 'x', sizeof big);
    static unsigned char buf[300000];
    size_t n = gz(big, sizeof big, buf, sizeof buf);
    fa_buf_t out = FA_BUF_INIT;
    cr_assert_eq(proxy_gunzip(buf, n, &out, 100000), FA_E2BIG, "a 200 kB body is over a 100 kB bound");
    cr_assert_eq(proxy_gunzip(buf, n, &out, 300000), 0);
    cr_assert_eq(out.len, sizeof big);
    cr_assert_eq(proxy_gunzip(buf, n / 2, &out, 0), FA_EINVAL, "truncated");
    cr_assert_eq(proxy_gunzip("cpu value=1", 11, &out, 0), FA_EINVAL, "not gzip at all");
    fa_buf_deinit(&out);
}
