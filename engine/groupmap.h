/* engine/groupmap.h - the engine's one hash table from a group id to per-group state, in two
 * shapes: eng_gidx maps a group id to a dense index (the window, groupBy, InfluxQL and derivative
 * nodes keep their records in a slab by that index: influxql_buf.h); eng_gmap keeps values of a
 * fixed size itself, in the order the groups first appeared, on top of an eng_gidx (the eval,
 * state, output, stats, combine, flatten and barrier nodes). No delete: groups live as long as
 * their node, as in Kapacitor. Internal to engine/. */
#ifndef ENGINE_GROUPMAP_H
#define ENGINE_GROUPMAP_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ENG_GIDX_NONE UINT32_MAX

/** Open-addressing map from a group id (any value, 0 included) to a dense index; load at most 1/2.
 * Keys and values are two arrays: 12 bytes a slot, and a lookup's two loads go out together. */
typedef struct eng_gidx {
    uint64_t *_keys;
    uint32_t *_vals;     /* ENG_GIDX_NONE = empty slot */
    uint32_t _mask;
    uint32_t n;          /* entries */
} eng_gidx_t;

/** Allocates the first 16 slots. Aborts only on malloc failure. */
void eng_gidx_init(eng_gidx_t *m);
/** Frees the slots; m is left zeroed. */
void eng_gidx_deinit(eng_gidx_t *m);
/** The index stored for key, or ENG_GIDX_NONE. m must have been initialized. */
uint32_t eng_gidx_get(const eng_gidx_t *m, uint64_t key);
/** Stores key -> val (key must not be present yet). Aborts only on malloc failure. */
void eng_gidx_put(eng_gidx_t *m, uint64_t key, uint32_t val);
/** As eng_gidx_put, and on a zeroed (never initialized) m too; FA_ENOMEM (m unchanged) instead of
 * aborting. */
int eng_gidx_try_put(eng_gidx_t *m, uint64_t key, uint32_t val);
/** Removes every entry, keeping the table's memory. */
void eng_gidx_clear(eng_gidx_t *m);
/** Heap bytes held. */
size_t eng_gidx_bytes(const eng_gidx_t *m);

/** Per-group values of a fixed size, kept in insertion order (the order groups first appeared).
 * Grows by doubling (amortized, not per point). Values move when the table grows. */
typedef struct eng_gmap {
    eng_gidx_t _idx;  /* group id -> value index; no memory until the first value */
    uint32_t n;       /* values */
    uint32_t _vcap;
    size_t val_size;
    char *_vals;      /* n * val_size, insertion order */
    uint64_t *_vkeys; /* key of each value */
} eng_gmap_t;

/** An empty map of values of val_size bytes; no memory until the first value. */
void eng_gmap_init(eng_gmap_t *m, size_t val_size);
/** Frees the table (not what its values point to); a zeroed m is fine too. */
void eng_gmap_deinit(eng_gmap_t *m);
/** The value of `key`, created zeroed (and *created set) when new; NULL only on malloc failure.
 * The pointer is valid until the next eng_gmap_get that creates a value. */
void *eng_gmap_get(eng_gmap_t *m, uint64_t key, bool *created);
/** The value of `key`, or NULL. */
void *eng_gmap_find(const eng_gmap_t *m, uint64_t key);
/** The i-th value in insertion order (i < n), and its key. */
static inline void *eng_gmap_at(const eng_gmap_t *m, uint32_t i) { return m->_vals + (size_t)i * m->val_size; }
static inline uint64_t eng_gmap_key_at(const eng_gmap_t *m, uint32_t i) { return m->_vkeys[i]; }
#endif
