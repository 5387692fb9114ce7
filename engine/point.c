/* engine/point.c - batch lifecycle and point look-ups. */
#include "engine/point.h"

#include <string.h>

void eng_batch_init(eng_batch_t *b, size_t arena_chunk, size_t arena_limit)
{
    memset(b, 0, sizeof(*b));
    fa_arena_init(&b->arena, arena_chunk, arena_limit);
}

void eng_batch_reset(eng_batch_t *b)
{
    fa_arena_reset(&b->arena);
    b->db = b->rp = FA_STR_NULL;
    b->points = NULL;
    b->n = b->cap = 0;
    b->bytes = 0;
    b->n_errors = 0;
    b->received = 0;
}

void eng_batch_deinit(eng_batch_t *b)
{
    fa_arena_deinit(&b->arena);
    b->points = NULL;
    b->n = b->cap = 0;
}

eng_point_t *eng_batch_add(eng_batch_t *b)
{
    if (b->n == b->cap) {
        uint32_t cap = b->cap ? b->cap * 2 : 64;
        eng_point_t *p = fa_arena_try_alloc(&b->arena, sizeof(*p) * cap, _Alignof(eng_point_t));
        if (p == NULL)
            return NULL;
        if (b->n != 0)
            memcpy(p, b->points, sizeof(*p) * b->n);
        b->points = p;
        b->cap = cap;
    }
    eng_point_t *p = &b->points[b->n++];
    memset(p, 0, sizeof(*p));
    return p;
}

const eng_field_t *eng_point_field(const eng_point_t *p, fa_str_t key)
{
    for (uint32_t i = p->n_fields; i-- > 0;) /* the last duplicate wins, as in storage */
        if (fa_str_eq(p->fields[i].key, key))
            return &p->fields[i];
    return NULL;
}

fa_str_t eng_point_tag(const eng_point_t *p, fa_str_t key)
{
    uint32_t lo = 0, hi = p->n_tags;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        int c = fa_str_cmp(p->tags[mid].key, key);
        if (c == 0)
            return p->tags[mid].value;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return FA_STR_NULL;
}

static fa_str_t copy_str(fa_arena_t *a, fa_str_t s)
{
    return s.len ? fa_str(fa_arena_strndup(a, s.ptr, s.len), s.len) : FA_STR_LIT("");
}

void eng_point_copy(fa_arena_t *a, eng_point_t *dst, const eng_point_t *src)
{
    *dst = *src;
    dst->name = copy_str(a, src->name);
    dst->key = copy_str(a, src->key);
    dst->tags = src->n_tags ? FA_NEW(a, eng_tag_t, src->n_tags) : NULL;
    for (uint32_t i = 0; i < src->n_tags; i++)
        dst->tags[i] = (eng_tag_t){ copy_str(a, src->tags[i].key), copy_str(a, src->tags[i].value) };
    dst->fields = src->n_fields ? FA_NEW(a, eng_field_t, src->n_fields) : NULL;
    for (uint32_t i = 0; i < src->n_fields; i++) {
        dst->fields[i] = src->fields[i];
        dst->fields[i].key = copy_str(a, src->fields[i].key);
        if (src->fields[i].v.type == ENG_STRING)
            dst->fields[i].v.s = copy_str(a, src->fields[i].v.s);
    }
}
