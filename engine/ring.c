/* engine/ring.c - ring storage. */
#include "engine/ring.h"

#include <stdlib.h>

#include "base/err.h"

int eng_ring_spsc_init(eng_ring_spsc_t *r, const char *name, unsigned slots)
{
    if (slots < 4 || (slots & (slots - 1)) != 0)
        return FA_EINVAL;
    r->_slots = calloc(slots, sizeof(*r->_slots));
    if (r->_slots == NULL)
        return FA_ENOMEM;
    ck_ring_init(&r->_ring, slots);
    r->name = name;
    atomic_init(&r->n_refused, 0);
    return 0;
}

void eng_ring_spsc_deinit(eng_ring_spsc_t *r)
{
    free(r->_slots);
    r->_slots = NULL;
}
