/* proxy/gzip.h - bounded gunzip of request bodies (for the tee only; bodies go upstream as sent). */
#ifndef PROXY_GZIP_H
#define PROXY_GZIP_H
#include <stddef.h>

#include "base/str.h"

/** Decompresses a gzip stream (one or more members) into out (cleared first). Returns 0,
 * FA_E2BIG when the output would pass `limit` bytes, or FA_EINVAL for a corrupt stream. */
int proxy_gunzip(const void *in, size_t len, fa_buf_t *out, size_t limit);
#endif
