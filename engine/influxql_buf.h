/* engine/influxql_buf.h - memory for the nodes that keep per-group state (window, groupBy,
 * InfluxQL functions, derivative): a slab of fixed-size per-group records (addressed by the
 * dense index eng_gidx in groupmap.h gives each group), and a point buffer made of fixed-size
 * blocks shared through a node-wide free list, so a window flush gives its blocks back instead
 * of freeing them. */
#ifndef ENGINE_INFLUXQL_BUF_H
#define ENGINE_INFLUXQL_BUF_H
#include <stddef.h>
#include <stdint.h>

#include "engine/groupmap.h"
#include "engine/point.h"

/** Fixed-size records addressed by index; chunks of 4096 records, never moved. */
typedef struct eng_slab {
    char **_chunks;
    uint32_t _n_chunks;
    uint32_t n;          /* records handed out */
    size_t size;         /* bytes per record (rounded up to 8) */
} eng_slab_t;

void eng_slab_init(eng_slab_t *s, size_t record_size);
void eng_slab_deinit(eng_slab_t *s);
/** Appends a zeroed record and returns its index. Aborts only on malloc failure. */
uint32_t eng_slab_add(eng_slab_t *s);
/** Forgets every record (n = 0), keeping the chunks for reuse. */
static inline void eng_slab_clear(eng_slab_t *s) { s->n = 0; }
/** Record i (i < n). */
static inline void *eng_slab_at(const eng_slab_t *s, uint32_t i)
{
    return s->_chunks[i >> 12] + (size_t)(i & 4095) * s->size;
}
/** Heap bytes held. */
size_t eng_slab_bytes(const eng_slab_t *s);

struct eng_blk;

/** A node's block allocator: fixed-size blocks kept on a free list (bounded) for reuse. */
typedef struct eng_blkpool {
    struct eng_blk *_free;
    uint32_t _n_free;
    uint32_t max_free;   /* free blocks kept for reuse; more are given back to malloc */
    size_t blk_size;     /* payload bytes of a standard block */
    size_t bytes;        /* heap bytes held by blocks (in use and free) */
} eng_blkpool_t;

void eng_blkpool_init(eng_blkpool_t *p, size_t blk_size, uint32_t max_free);
void eng_blkpool_deinit(eng_blkpool_t *p);

/** Deep copies of points in arrival order, packed into blocks of a pool. 24 bytes when empty. */
typedef struct eng_ptbuf {
    struct eng_blk *_head, *_tail;
    uint32_t _head_off;  /* offset of the oldest record in _head */
    uint32_t n;          /* points held */
} eng_ptbuf_t;

/** Appends a deep copy of p (name, key, tags, fields, strings). Aborts only on malloc failure. */
void eng_ptbuf_push(eng_ptbuf_t *b, eng_blkpool_t *pool, const eng_point_t *p);
/** The oldest point, or NULL when empty. */
const eng_point_t *eng_ptbuf_first(const eng_ptbuf_t *b);
/** Drops the oldest point; a block left empty goes back to the pool. */
void eng_ptbuf_pop(eng_ptbuf_t *b, eng_blkpool_t *pool);
/** Drops every point. */
void eng_ptbuf_clear(eng_ptbuf_t *b, eng_blkpool_t *pool);
/** Shallow copies of the points, oldest first, into out[0..n). Valid until the next pop/clear. */
void eng_ptbuf_collect(const eng_ptbuf_t *b, eng_point_t *out);
#endif
