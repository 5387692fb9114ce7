/* engine/ring.h - bounded pointer ring between exactly one producer and one consumer thread. */
#ifndef ENGINE_RING_H
#define ENGINE_RING_H
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <ck_ring.h>

typedef struct eng_ring_spsc {
    ck_ring_t _ring;
    ck_ring_buffer_t *_slots;
    const char *name;                /* shows up in stats and logs */
    atomic_uint_fast64_t n_refused;  /* pushes refused because the ring was full */
} eng_ring_spsc_t;

/** slots: power of two, at least 4; holds slots-1 items. Returns 0 or FA_ENOMEM / FA_EINVAL. */
int eng_ring_spsc_init(eng_ring_spsc_t *r, const char *name, unsigned slots);
void eng_ring_spsc_deinit(eng_ring_spsc_t *r);
/** Producer only. false = full: the caller sheds load; never spin. */
static inline bool eng_ring_spsc_push(eng_ring_spsc_t *r, void *item);
/** Consumer only. NULL = empty. */
static inline void *eng_ring_spsc_pop(eng_ring_spsc_t *r);
/** Either side: items in the ring right now (a snapshot). */
static inline unsigned eng_ring_spsc_size(eng_ring_spsc_t *r);

/* inline definitions */
static inline bool eng_ring_spsc_push(eng_ring_spsc_t *r, void *item)
{
    if (ck_ring_enqueue_spsc(&r->_ring, r->_slots, item))
        return true;
    atomic_fetch_add_explicit(&r->n_refused, 1, memory_order_relaxed);
    return false;
}

static inline void *eng_ring_spsc_pop(eng_ring_spsc_t *r)
{
    void *item;
    return ck_ring_dequeue_spsc(&r->_ring, r->_slots, &item) ? item : NULL;
}

static inline unsigned eng_ring_spsc_size(eng_ring_spsc_t *r) { return ck_ring_size(&r->_ring); }
#endif
