/* base/arena.h - bump allocator with no per-object free: one arena per lifetime (STYLE b4). */
#ifndef BASE_ARENA_H
#define BASE_ARENA_H
#include <stddef.h>

struct fa_arena_chunk;

typedef struct fa_arena {
    struct fa_arena_chunk *_head; /* newest chunk first; the last one is kept on reset */
    size_t _used;                 /* bytes used in _head */
    size_t _chunk_size;           /* default size of a new chunk */
    size_t _total;                /* bytes handed out since init/reset, for the limit */
    size_t limit;                 /* 0 = unlimited */
} fa_arena_t;

/** chunk_size: bytes per chunk (larger requests get a chunk of their own). limit: 0 = none. */
void fa_arena_init(fa_arena_t *a, size_t chunk_size, size_t limit);
/** Aborts only when malloc fails; ignores the limit (for data the caller already bounded). */
void *fa_arena_alloc(fa_arena_t *a, size_t n, size_t align);
/** NULL when the limit would be passed or malloc fails: the caller reports the overflow. */
void *fa_arena_try_alloc(fa_arena_t *a, size_t n, size_t align) __attribute__((warn_unused_result));
/** Copies n bytes and a NUL terminator. Aborts only on malloc failure. */
char *fa_arena_strndup(fa_arena_t *a, const char *s, size_t n);
/** Frees every chunk but the first, which is kept for reuse. */
void fa_arena_reset(fa_arena_t *a);
void fa_arena_deinit(fa_arena_t *a);
/** Bytes handed out since init or the last reset. */
static inline size_t fa_arena_used(const fa_arena_t *a) { return a->_total; }

#define FA_NEW(a, T, n) ((T *)fa_arena_alloc((a), sizeof(T) * (n), _Alignof(T)))
#endif
