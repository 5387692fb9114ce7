/* fuzz/fuzz_query_answer.c - libFuzzer: InfluxDB's JSON answer to a batch query, as the query node
 * turns it into batches (eng_query_parse), grouped by a tag and the measurement. Any input may be
 * refused with an error; none may crash or read out of bounds, and every batch it returns must be
 * well formed (rows within bounds, names set). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/batchquery.h"
#include "engine/group.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    char *src = malloc(size ? size : 1);
    memcpy(src, data, size);
    fa_arena_t a;
    fa_arena_init(&a, 4096, 8 << 20);
    static const char query[] = "SELECT mean(\"v\") AS v FROM \"db\".\"rp\".\"cpu\" WHERE \"host\" = 'a'";
    eng_query_t q;
    memset(&q, 0, sizeof q);
    char err[256];
    size_t off;
    if (eng_query_split(fa_str(query, sizeof query - 1), &q, &a, err, sizeof err, &off) != 0)
        abort();
    fa_str_t tags[1] = { FA_STR_LIT("host") };
    q.group_tags = tags;
    q.n_group_tags = 1;
    q.by_name = size % 2 == 1;
    q.group_time = size % 3 == 0 ? 60000000000LL : 0;
    const eng_dims_t *dims = eng_dims_new(&a, tags, 1, q.by_name);
    eng_rows_t *rows = NULL;
    uint32_t n = 0;
    if (eng_query_parse(fa_str(src, size), &q, dims, 1678887990000000000LL, &a, &rows, &n, err, sizeof err) == 0) {
        for (uint32_t i = 0; i < n; i++)
            for (uint32_t k = 0; k < rows[i].n; k++)
                if (rows[i].points[k].n_fields > 0 && rows[i].points[k].fields == NULL)
                    abort();
    }
    fa_arena_deinit(&a);
    free(src);
    return 0;
}
