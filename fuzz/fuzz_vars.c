/* fuzz/fuzz_vars.c - libFuzzer: template vars in Kapacitor's JSON form (eng_vars_from_json), as
 * POST /tasks and `farad define -vars` send them. Refusals are expected and must say why. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/vars.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 16384)
        return 0;
    char *src = malloc(size ? size : 1);
    memcpy(src, data, size);
    fa_arena_t a;
    fa_arena_init(&a, 4096, 4 << 20);
    tick_var_t *vars = NULL;
    size_t n = 0;
    char err[256] = "";
    if (eng_vars_from_json(src, size, &a, &vars, &n, err, sizeof err) != 0 && err[0] == '\0')
        abort(); /* a refusal without a reason */
    fa_arena_deinit(&a);
    free(src);
    return 0;
}
