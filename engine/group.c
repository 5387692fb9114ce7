/* engine/group.c - group ids with xxhash over the group's defining values. */
#include "engine/group.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

uint64_t eng_group_id(const eng_point_t *p, const eng_dims_t *dims)
{
    if (dims == NULL || (dims->n == 0 && !dims->by_name))
        return 0;
    /* chained: each part seeds the next, and its length is mixed in, so "ab"+"c" != "a"+"bc" */
    uint64_t h = 0x9e3779b97f4a7c15ull;
    if (dims->by_name)
        h = XXH3_64bits_withSeed(p->name.ptr, p->name.len, h) ^ p->name.len;
    for (uint32_t i = 0; i < dims->n; i++) {
        fa_str_t v = eng_point_tag(p, dims->tags[i]);
        h = XXH3_64bits_withSeed(v.ptr ? v.ptr : "", v.len, h) + v.len * 0x100000001b3ull;
    }
    return h != 0 ? h : 1;
}

static int cmp_str(const void *a, const void *b) { return fa_str_cmp(*(const fa_str_t *)a, *(const fa_str_t *)b); }

eng_dims_t *eng_dims_new(fa_arena_t *a, const fa_str_t *tags, uint32_t n, bool by_name)
{
    eng_dims_t *d = FA_NEW(a, eng_dims_t, 1);
    d->tags = n ? FA_NEW(a, fa_str_t, n) : NULL;
    d->n = 0;
    d->by_name = by_name;
    if (n != 0) {
        memcpy(d->tags, tags, n * sizeof(*tags));
        qsort(d->tags, n, sizeof(*tags), cmp_str);
        for (uint32_t i = 0; i < n; i++)
            if (d->n == 0 || !fa_str_eq(d->tags[d->n - 1], d->tags[i]))
                d->tags[d->n++] = d->tags[i];
    }
    return d;
}

fa_str_t eng_group_string(const eng_point_t *p, const eng_dims_t *dims, fa_buf_t *buf)
{
    fa_buf_clear(buf);
    if (dims == NULL)
        return fa_str(fa_buf_cstr(buf), 0);
    if (dims->by_name) {
        fa_buf_append_str(buf, p->name);
        fa_buf_append(buf, ",", 1);
    }
    for (uint32_t i = 0; i < dims->n; i++) {
        if (i != 0)
            fa_buf_append(buf, ",", 1);
        fa_buf_append_str(buf, dims->tags[i]);
        fa_buf_append(buf, "=", 1);
        fa_buf_append_str(buf, eng_point_tag(p, dims->tags[i]));
    }
    return fa_str(fa_buf_cstr(buf), buf->len);
}
