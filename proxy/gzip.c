/* proxy/gzip.c - zlib inflate with a hard output bound: InfluxDB checks only the compressed
 * size, so a small body could otherwise expand without limit (PROTOCOLS.md, fact 3). */
#include "proxy/gzip.h"

#include <stdint.h>
#include <zlib.h>

#include "base/err.h"

int proxy_gunzip(const void *in, size_t len, fa_buf_t *out, size_t limit)
{
    z_stream z = { 0 };
    int rc = FA_OK;

    fa_buf_clear(out);
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
        return FA_ENOMEM;
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)(len > UINT32_MAX ? UINT32_MAX : len);
    for (;;) {
        size_t room = len * 4 < 65536 ? 65536 : len * 4;
        if (limit != 0 && out->len + room > limit)
            room = limit > out->len ? limit - out->len : 0;
        if (room == 0) {
            rc = FA_E2BIG;
            break;
        }
        if (room > UINT32_MAX)
            room = UINT32_MAX;
        if (fa_buf_reserve(out, room) != 0) {
            rc = FA_ENOMEM;
            break;
        }
        z.next_out = (Bytef *)out->ptr + out->len;
        z.avail_out = (uInt)room;
        int zr = inflate(&z, Z_NO_FLUSH);
        out->len += room - z.avail_out;
        if (zr == Z_STREAM_END) {
            if (z.avail_in == 0)
                break;
            /* concatenated gzip members, as Go's reader accepts */
            if (inflateReset(&z) != Z_OK) {
                rc = FA_EINVAL;
                break;
            }
            continue;
        }
        if (zr == Z_BUF_ERROR && z.avail_out != 0) {
            rc = FA_EINVAL; /* truncated input */
            break;
        }
        if (zr != Z_OK && zr != Z_BUF_ERROR) {
            rc = FA_EINVAL;
            break;
        }
    }
    inflateEnd(&z);
    return rc;
}
