/* base/arena.c - chunks are malloc'ed, linked newest first; reset keeps the oldest one. */
#include "base/arena.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fa_arena_chunk {
    struct fa_arena_chunk *next;
    size_t size;
    _Alignas(max_align_t) unsigned char data[];
};

void fa_arena_init(fa_arena_t *a, size_t chunk_size, size_t limit)
{
    a->_head = NULL;
    a->_used = 0;
    a->_chunk_size = chunk_size < 256 ? 256 : chunk_size;
    a->_total = 0;
    a->limit = limit;
}

static struct fa_arena_chunk *chunk_new(size_t size)
{
    struct fa_arena_chunk *c = malloc(sizeof(*c) + size);
    if (c == NULL)
        return NULL;
    c->next = NULL;
    c->size = size;
    return c;
}

static void *alloc(fa_arena_t *a, size_t n, size_t align)
{
    if (align == 0)
        align = 1;
    if (n > SIZE_MAX / 2 - align - sizeof(struct fa_arena_chunk))
        return NULL; /* n + align would wrap and hand out a chunk smaller than n */
    if (a->_head != NULL) {
        /* align the address, not the offset: an align above the chunk's own alignment (a
         * 64-byte cache line) must not force a fresh chunk on every call */
        uintptr_t base = (uintptr_t)a->_head->data;
        size_t off = (size_t)(((base + a->_used + align - 1) & ~(uintptr_t)(align - 1)) - base);
        if (off <= a->_head->size && n <= a->_head->size - off) {
            a->_used = off + n;
            a->_total += n;
            return a->_head->data + off;
        }
    }
    size_t want = n + align;
    size_t size = want > a->_chunk_size ? want : a->_chunk_size;
    struct fa_arena_chunk *c = chunk_new(size);
    if (c == NULL)
        return NULL;
    uintptr_t base = (uintptr_t)c->data;
    size_t off = (size_t)(((base + align - 1) & ~(uintptr_t)(align - 1)) - base);
    if (a->_head != NULL && size > a->_chunk_size && a->_head->size - a->_used > a->_chunk_size / 4) {
        /* a big one-off request: slide it under the current chunk so its free room stays usable */
        c->next = a->_head->next;
        a->_head->next = c;
    } else {
        c->next = a->_head;
        a->_head = c;
        a->_used = off + n;
    }
    a->_total += n;
    return c->data + off;
}

void *fa_arena_alloc(fa_arena_t *a, size_t n, size_t align)
{
    void *p = alloc(a, n, align);
    if (p == NULL) {
        fputs("farad: out of memory in arena\n", stderr);
        abort();
    }
    return p;
}

void *fa_arena_try_alloc(fa_arena_t *a, size_t n, size_t align)
{
    if (a->limit != 0 && (n > a->limit || a->_total > a->limit - n))
        return NULL;
    return alloc(a, n, align);
}

char *fa_arena_strndup(fa_arena_t *a, const char *s, size_t n)
{
    char *p = fa_arena_alloc(a, n + 1, 1);
    if (n != 0)
        memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void fa_arena_reset(fa_arena_t *a)
{
    struct fa_arena_chunk *c = a->_head, *keep = NULL;
    while (c != NULL) {
        struct fa_arena_chunk *next = c->next;
        if (next == NULL && c->size <= a->_chunk_size * 4)
            keep = c;
        else
            free(c);
        c = next;
    }
    if (keep != NULL)
        keep->next = NULL;
    a->_head = keep;
    a->_used = 0;
    a->_total = 0;
}

void fa_arena_deinit(fa_arena_t *a)
{
    struct fa_arena_chunk *c = a->_head;
    while (c != NULL) {
        struct fa_arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    a->_head = NULL;
    a->_used = a->_total = 0;
}
