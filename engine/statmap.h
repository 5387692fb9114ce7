/* engine/statmap.h - fixed-capacity, lock-free map from a short key to a row of atomic counters.
 * Any thread may add keys and bump counters; readers iterate without locks. It never resizes:
 * keys past the capacity share one overflow row, so memory stays bounded whatever the input. */
#ifndef ENGINE_STATMAP_H
#define ENGINE_STATMAP_H
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "base/str.h"

enum { ENG_STATMAP_MAX_COUNTERS = 8 };

typedef struct eng_statkey {
    uint32_t len;
    char bytes[]; /* parts joined by NUL bytes */
} eng_statkey_t;

typedef struct eng_statrow {
    _Atomic(eng_statkey_t *) key; /* published once by CAS; NULL = free slot */
    atomic_uint_fast64_t v[ENG_STATMAP_MAX_COUNTERS];
} eng_statrow_t;

typedef struct eng_statmap {
    eng_statrow_t *_rows;
    uint32_t _cap;         /* power of two */
    eng_statrow_t overflow; /* key "" */
    uint32_t n_counters;
} eng_statmap_t;

/** cap: power of two. Returns 0 or FA_ENOMEM / FA_EINVAL. */
int eng_statmap_init(eng_statmap_t *m, uint32_t cap, uint32_t n_counters);
void eng_statmap_deinit(eng_statmap_t *m);
/** The row for the key made of `n` parts (joined with NUL bytes), added if new. Never NULL:
 * when the map is full (or a copy of the key cannot be allocated) the overflow row. */
eng_statrow_t *eng_statmap_get(eng_statmap_t *m, const fa_str_t *parts, unsigned n);
static inline void eng_statrow_add(eng_statrow_t *r, unsigned i, uint64_t n)
{
    atomic_fetch_add_explicit(&r->v[i], n, memory_order_relaxed);
}
static inline uint64_t eng_statrow_load(const eng_statrow_t *r, unsigned i)
{
    return atomic_load_explicit(&r->v[i], memory_order_relaxed);
}
/** Splits a row's key into parts; returns how many (at most max). */
unsigned eng_statrow_parts(const eng_statrow_t *r, fa_str_t *parts, unsigned max);
/** Calls fn for every row in use (slot order; the overflow row last if it was used). */
void eng_statmap_each(eng_statmap_t *m, void (*fn)(void *arg, const eng_statrow_t *r), void *arg);
#endif
