/* fuzz/fuzz_cron.c - libFuzzer: cron expressions as .cron() takes them (eng_cron_parse), then the
 * next few matches (eng_cron_next), which must strictly increase and fall on whole seconds. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/cron.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1024)
        return 0;
    char *src = malloc(size ? size : 1);
    memcpy(src, data, size);
    eng_cron_t c;
    char err[256];
    size_t off = 0;
    if (eng_cron_parse(fa_str(src, size), &c, err, sizeof err, &off) == 0) {
        int64_t t = 1678887930123456789LL;
        for (int i = 0; i < 4; i++) {
            int64_t next = eng_cron_next(&c, t);
            if (next < 0)
                break;
            if (next <= t || next % 1000000000 != 0)
                abort();
            t = next;
        }
    } else if (off > size) {
        abort();
    }
    free(src);
    return 0;
}
