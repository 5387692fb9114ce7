/* engine/statmap.c - open addressing, linear probing; a slot is claimed by CAS on its key. */
#include "engine/statmap.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "base/err.h"

int eng_statmap_init(eng_statmap_t *m, uint32_t cap, uint32_t n_counters)
{
    if (cap < 2 || (cap & (cap - 1)) != 0 || n_counters > ENG_STATMAP_MAX_COUNTERS)
        return FA_EINVAL;
    m->_rows = calloc(cap, sizeof(*m->_rows));
    if (m->_rows == NULL)
        return FA_ENOMEM;
    m->_cap = cap;
    m->n_counters = n_counters;
    memset(&m->overflow, 0, sizeof(m->overflow));
    return 0;
}

void eng_statmap_deinit(eng_statmap_t *m)
{
    for (uint32_t i = 0; i < m->_cap; i++)
        free(atomic_load(&m->_rows[i].key));
    free(m->_rows);
    m->_rows = NULL;
}

static size_t join(char *out, const fa_str_t *parts, unsigned n)
{
    size_t len = 0;
    for (unsigned i = 0; i < n; i++) {
        if (i != 0)
            out[len++] = '\0';
        memcpy(out + len, parts[i].ptr, parts[i].len);
        len += parts[i].len;
    }
    return len;
}

eng_statrow_t *eng_statmap_get(eng_statmap_t *m, const fa_str_t *parts, unsigned n)
{
    size_t len = n ? n - 1 : 0;
    for (unsigned i = 0; i < n; i++)
        len += parts[i].len;
    char small[512], *key = len <= sizeof small ? small : malloc(len);
    if (key == NULL)
        return &m->overflow;
    join(key, parts, n);
    uint64_t h = XXH3_64bits(key, len);
    eng_statrow_t *row = &m->overflow;
    eng_statkey_t *copy = NULL;

    for (uint32_t probe = 0; probe < m->_cap; probe++) {
        eng_statrow_t *r = &m->_rows[(h + probe) & (m->_cap - 1)];
        eng_statkey_t *k = atomic_load_explicit(&r->key, memory_order_acquire);
        if (k == NULL) {
            if (copy == NULL) {
                if ((copy = malloc(sizeof(*copy) + len + 1)) == NULL)
                    break;
                copy->len = (uint32_t)len;
                memcpy(copy->bytes, key, len);
                copy->bytes[len] = '\0';
            }
            if (atomic_compare_exchange_strong_explicit(&r->key, &k, copy, memory_order_acq_rel, memory_order_acquire)) {
                copy = NULL;
                row = r;
                break;
            }
            /* lost the race: k now holds the winner's key; fall through and compare */
        }
        if (k->len == len && memcmp(k->bytes, key, len) == 0) {
            row = r;
            break;
        }
    }
    free(copy);
    if (key != small)
        free(key);
    return row;
}

unsigned eng_statrow_parts(const eng_statrow_t *r, fa_str_t *parts, unsigned max)
{
    const eng_statkey_t *k = atomic_load_explicit(&r->key, memory_order_acquire);
    if (k == NULL || max == 0)
        return 0;
    unsigned n = 0;
    const char *p = k->bytes, *end = k->bytes + k->len;
    while (n < max) {
        const char *z = memchr(p, '\0', (size_t)(end - p));
        if (z == NULL)
            z = end;
        parts[n++] = fa_str(p, (size_t)(z - p));
        if (z == end)
            break;
        p = z + 1;
    }
    return n;
}

void eng_statmap_each(eng_statmap_t *m, void (*fn)(void *arg, const eng_statrow_t *r), void *arg)
{
    for (uint32_t i = 0; i < m->_cap; i++)
        if (atomic_load_explicit(&m->_rows[i].key, memory_order_acquire) != NULL)
            fn(arg, &m->_rows[i]);
    bool used = false;
    for (uint32_t i = 0; i < m->n_counters; i++)
        used |= eng_statrow_load(&m->overflow, i) != 0;
    if (used)
        fn(arg, &m->overflow);
}
