/* test/engine/test_groupmap.c - engine/groupmap.h: eng_gidx (group id -> dense index) and eng_gmap
 * (group id -> value, insertion order) on top of it. */
#include <criterion/criterion.h>

#include "engine/groupmap.h"

/* keys that are not small consecutive numbers: 0, then a spread of large ones */
static uint64_t key_of(uint32_t i) { return i == 0 ? 0 : (uint64_t)i * 0x9e3779b97f4a7c15ull; }

Test(groupmap, gidx_put_get_grow_and_clear)
{
    eng_gidx_t m;
    eng_gidx_init(&m);
    cr_assert_eq(eng_gidx_get(&m, 0), ENG_GIDX_NONE);
    size_t first = eng_gidx_bytes(&m);
    cr_assert_gt(first, 0);
    for (uint32_t i = 0; i < 5000; i++)
        eng_gidx_put(&m, key_of(i), i * 3);
    cr_assert_eq(m.n, 5000);
    for (uint32_t i = 0; i < 5000; i++)
        cr_assert_eq(eng_gidx_get(&m, key_of(i)), i * 3, "key %u", i);
    cr_assert_eq(eng_gidx_get(&m, 12345), ENG_GIDX_NONE);
    size_t grown = eng_gidx_bytes(&m);
    cr_assert_geq(grown, 2 * 5000 * (sizeof(uint64_t) + sizeof(uint32_t)), "load at most 1/2");
    eng_gidx_clear(&m);
    cr_assert_eq(m.n, 0);
    cr_assert_eq(eng_gidx_bytes(&m), grown, "clear keeps the memory");
    for (uint32_t i = 0; i < 5000; i++)
        cr_assert_eq(eng_gidx_get(&m, key_of(i)), ENG_GIDX_NONE);
    eng_gidx_put(&m, 7, 1);
    cr_assert_eq(eng_gidx_get(&m, 7), 1);
    eng_gidx_deinit(&m);
    cr_assert_eq(eng_gidx_bytes(&m), 0);
}

Test(groupmap, gidx_try_put_on_a_zeroed_map)
{
    eng_gidx_t m = { 0 };
    cr_assert_eq(eng_gidx_bytes(&m), 0);
    eng_gidx_clear(&m); /* no memory yet: nothing to do */
    cr_assert_eq(eng_gidx_try_put(&m, 0, 42), 0);
    cr_assert_eq(eng_gidx_try_put(&m, 1, 43), 0);
    cr_assert_eq(eng_gidx_get(&m, 0), 42);
    cr_assert_eq(eng_gidx_get(&m, 1), 43);
    cr_assert_eq(m.n, 2);
    eng_gidx_deinit(&m);
}

struct val {
    uint64_t key;
    uint32_t hits;
};

Test(groupmap, gmap_creates_zeroed_values_once_in_insertion_order)
{
    eng_gmap_t m;
    eng_gmap_init(&m, sizeof(struct val));
    cr_assert_null(eng_gmap_find(&m, 0));
    bool created = false;
    /* insert in a scrambled order, so insertion order is not key order nor hash order */
    enum { N = 3000 };
    for (uint32_t j = 0; j < N; j++) {
        uint32_t i = (j * 7919u) % N;
        struct val *v = eng_gmap_get(&m, key_of(i), &created);
        cr_assert_not_null(v);
        cr_assert(created, "key %u is new", i);
        cr_assert_eq(v->key, 0, "a new value is zeroed");
        cr_assert_eq(v->hits, 0);
        v->key = key_of(i);
        v->hits = 1;
    }
    cr_assert_eq(m.n, N);
    for (uint32_t i = 0; i < N; i++) {
        struct val *v = eng_gmap_get(&m, key_of(i), &created);
        cr_assert(!created);
        cr_assert_eq(v->key, key_of(i), "values keep their contents when the table grows");
        v->hits++;
        cr_assert_eq(eng_gmap_find(&m, key_of(i)), v);
    }
    cr_assert_null(eng_gmap_find(&m, 12345));
    for (uint32_t j = 0; j < N; j++) {
        uint32_t i = (j * 7919u) % N;
        const struct val *v = eng_gmap_at(&m, j);
        cr_assert_eq(eng_gmap_key_at(&m, j), key_of(i), "place %u", j);
        cr_assert_eq(v->key, key_of(i));
        cr_assert_eq(v->hits, 2);
    }
    cr_assert_eq(m.n, N, "lookups created nothing");
    eng_gmap_get(&m, 99, NULL); /* created may be NULL */
    cr_assert_eq(m.n, N + 1);
    eng_gmap_deinit(&m);
    cr_assert_eq(m.n, 0);
    eng_gmap_deinit(&m); /* twice, or never used: fine */
}
