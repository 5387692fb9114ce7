/* fuzz/fuzz_influxql.c - libFuzzer: the batch query node's InfluxQL reader. The input is split into
 * head, condition and tail with its FROM sources (eng_query_split); what splits is rewritten for
 * a run (eng_query_text), as every scheduled query is. Split errors are expected outcomes, and
 * their offset must lie inside the input. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/batchquery.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 8192)
        return 0;
    char *src = malloc(size ? size : 1); /* a copy, so reads past the end are caught */
    memcpy(src, data, size);
    fa_arena_t a;
    fa_arena_init(&a, 4096, 1 << 20);
    eng_query_t q;
    memset(&q, 0, sizeof q);
    char err[256];
    size_t off = 0;
    if (eng_query_split(fa_str(src, size), &q, &a, err, sizeof err, &off) == 0) {
        q.period = 60000000000LL;
        q.every = 60000000000LL;
        q.group_time = size % 2 ? 10000000000LL : 0;
        fa_buf_t text = FA_BUF_INIT;
        if (eng_query_text(&q, 1678887930000000000LL, 1678887990000000000LL, &text) == 0 && text.ptr[text.len] != '\0')
            abort(); /* the text is NUL-terminated */
        fa_buf_deinit(&text);
    } else if (off > size) {
        abort();
    }
    fa_arena_deinit(&a);
    free(src);
    return 0;
}
