/* fuzz/fuzz_template.c - libFuzzer: Go text/template and html/template as alert .id(), .message()
 * and .details() take them (eng_tmpl_parse), rendered against fixed alert data of each kind
 * (eng_tmpl_render). Parse and render errors are expected outcomes and must point inside the
 * template (line >= 1). The first byte picks the mode and data kind. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 4096)
        return 0;
    uint8_t sel = data[0];
    data++, size--;
    char *src = malloc(size ? size : 1);
    memcpy(src, data, size);
    fa_arena_t a, scratch;
    fa_arena_init(&a, 4096, 1 << 20);
    fa_arena_init(&scratch, 4096, 4 << 20);
    eng_tmpl_err_t err;
    eng_tmpl_t *t = eng_tmpl_parse(&a, fa_str(src, size), sel & 1 ? ENG_TMPL_HTML : ENG_TMPL_TEXT, &err);
    if (t == NULL) {
        if (err.line < 1)
            abort();
    } else {
        eng_tag_t tags[2] = { { FA_STR_LIT("host"), FA_STR_LIT("web<1>") }, { FA_STR_LIT("region"), FA_STR_LIT("eu \"w\"") } };
        eng_field_t fields[4] = { { FA_STR_LIT("usage"), { .type = ENG_FLOAT, .f = 97.5 } },
                                  { FA_STR_LIT("n"), { .type = ENG_INT, .i = -3 } },
                                  { FA_STR_LIT("s"), { .type = ENG_STRING, .s = FA_STR_LIT("a&b") } },
                                  { FA_STR_LIT("ok"), { .type = ENG_BOOL, .b = true } } };
        eng_tmpl_data_t d = { .kind = (eng_tmpl_kind_t)((sel >> 1) % 3), .name = FA_STR_LIT("cpu"),
                              .task_name = FA_STR_LIT("t"), .group = FA_STR_LIT("host=web<1>"), .tags = tags,
                              .n_tags = 2, .hostname = FA_STR_LIT("localhost"), .id = FA_STR_LIT("cpu:host=web<1>"),
                              .level = FA_STR_LIT("CRITICAL"), .message = FA_STR_LIT("m"), .fields = fields,
                              .n_fields = 4, .time = 1678887930000000000LL, .duration = 90000000000LL };
        fa_buf_t out = FA_BUF_INIT;
        if (eng_tmpl_render(t, &d, &scratch, &out, &err) != 0 && err.line < 1)
            abort();
        fa_buf_deinit(&out);
    }
    fa_arena_deinit(&scratch);
    fa_arena_deinit(&a);
    free(src);
    return 0;
}
