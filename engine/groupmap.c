/* engine/groupmap.c - group id -> index (eng_gidx) and group id -> value in insertion order (eng_gmap). */
#include "engine/groupmap.h"

#include <stdlib.h>
#include <string.h>

#include "base/err.h"

/* ---- group id -> index ----------------------------------------------------------------- */

static uint32_t slot_of(uint64_t key, uint32_t mask)
{
    key ^= key >> 29;
    key *= 0xbf58476d1ce4e5b9ull;
    key ^= key >> 32;
    return (uint32_t)key & mask;
}

/* cap empty slots; m is left as it was when malloc fails */
static int gidx_alloc(eng_gidx_t *m, uint32_t cap)
{
    uint64_t *keys = malloc(sizeof(*keys) * cap);
    uint32_t *vals = malloc(sizeof(*vals) * cap);
    if (keys == NULL || vals == NULL) {
        free(keys);
        free(vals);
        return FA_ENOMEM;
    }
    for (uint32_t i = 0; i < cap; i++)
        vals[i] = ENG_GIDX_NONE;
    m->_keys = keys;
    m->_vals = vals;
    m->_mask = cap - 1;
    return 0;
}

void eng_gidx_init(eng_gidx_t *m)
{
    memset(m, 0, sizeof(*m));
    if (gidx_alloc(m, 16) != 0)
        abort();
}

void eng_gidx_deinit(eng_gidx_t *m)
{
    free(m->_keys);
    free(m->_vals);
    memset(m, 0, sizeof(*m));
}

uint32_t eng_gidx_get(const eng_gidx_t *m, uint64_t key)
{
    for (uint32_t i = slot_of(key, m->_mask);; i = (i + 1) & m->_mask) {
        uint32_t v = m->_vals[i];
        if (v == ENG_GIDX_NONE)
            return ENG_GIDX_NONE;
        if (m->_keys[i] == key)
            return v;
    }
}

static void put_slot(eng_gidx_t *m, uint64_t key, uint32_t val)
{
    uint32_t i = slot_of(key, m->_mask);
    while (m->_vals[i] != ENG_GIDX_NONE)
        i = (i + 1) & m->_mask;
    m->_keys[i] = key;
    m->_vals[i] = val;
}

int eng_gidx_try_put(eng_gidx_t *m, uint64_t key, uint32_t val)
{
    if (m->_vals == NULL) {
        if (gidx_alloc(m, 16) != 0)
            return FA_ENOMEM;
    } else if ((m->n + 1) * 2 > m->_mask + 1) { /* keep the load at most 1/2 */
        uint64_t *old_keys = m->_keys;
        uint32_t *old_vals = m->_vals, cap = m->_mask + 1;
        if (gidx_alloc(m, cap * 2) != 0)
            return FA_ENOMEM;
        for (uint32_t i = 0; i < cap; i++)
            if (old_vals[i] != ENG_GIDX_NONE)
                put_slot(m, old_keys[i], old_vals[i]);
        free(old_keys);
        free(old_vals);
    }
    put_slot(m, key, val);
    m->n++;
    return 0;
}

void eng_gidx_put(eng_gidx_t *m, uint64_t key, uint32_t val)
{
    if (eng_gidx_try_put(m, key, val) != 0)
        abort();
}

void eng_gidx_clear(eng_gidx_t *m)
{
    for (uint32_t i = 0; m->_vals != NULL && i <= m->_mask; i++)
        m->_vals[i] = ENG_GIDX_NONE;
    m->n = 0;
}

size_t eng_gidx_bytes(const eng_gidx_t *m)
{
    return m->_vals != NULL ? (size_t)(m->_mask + 1) * (sizeof(*m->_keys) + sizeof(*m->_vals)) : 0;
}

/* ---- group id -> value, in insertion order ---------------------------------------------- */

void eng_gmap_init(eng_gmap_t *m, size_t val_size)
{
    memset(m, 0, sizeof(*m));
    m->val_size = val_size;
}

void eng_gmap_deinit(eng_gmap_t *m)
{
    eng_gidx_deinit(&m->_idx);
    free(m->_vals);
    free(m->_vkeys);
    memset(m, 0, sizeof(*m));
}

void *eng_gmap_find(const eng_gmap_t *m, uint64_t key)
{
    if (m->n == 0)
        return NULL;
    uint32_t i = eng_gidx_get(&m->_idx, key);
    return i == ENG_GIDX_NONE ? NULL : eng_gmap_at(m, i);
}

void *eng_gmap_get(eng_gmap_t *m, uint64_t key, bool *created)
{
    void *v = eng_gmap_find(m, key);
    if (created != NULL)
        *created = v == NULL;
    if (v != NULL)
        return v;
    if (m->n == m->_vcap) {
        uint32_t cap = m->_vcap ? m->_vcap * 2 : 8;
        char *vals = realloc(m->_vals, cap * m->val_size);
        if (vals == NULL)
            return NULL;
        m->_vals = vals;
        uint64_t *vk = realloc(m->_vkeys, cap * sizeof *vk);
        if (vk == NULL)
            return NULL;
        m->_vkeys = vk;
        m->_vcap = cap;
    }
    if (eng_gidx_try_put(&m->_idx, key, m->n) != 0)
        return NULL;
    m->_vkeys[m->n] = key;
    v = eng_gmap_at(m, m->n);
    memset(v, 0, m->val_size);
    m->n++;
    return v;
}
