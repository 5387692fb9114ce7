/* test/engine/test_ring.c - engine/ring.h: bounds, order, and a producer/consumer pair of threads. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdint.h>

#include "engine/ring.h"

Test(ring, rejects_bad_sizes)
{
    eng_ring_spsc_t r;
    cr_assert_neq(eng_ring_spsc_init(&r, "x", 3), 0);
    cr_assert_neq(eng_ring_spsc_init(&r, "x", 2), 0);
    cr_assert_neq(eng_ring_spsc_init(&r, "x", 100), 0);
}

Test(ring, full_ring_refuses_and_counts)
{
    eng_ring_spsc_t r;
    cr_assert_eq(eng_ring_spsc_init(&r, "t", 8), 0);
    for (uintptr_t i = 1; i <= 7; i++)
        cr_assert(eng_ring_spsc_push(&r, (void *)i), "push %zu", (size_t)i);
    cr_assert_not(eng_ring_spsc_push(&r, (void *)8));
    cr_assert_not(eng_ring_spsc_push(&r, (void *)9));
    cr_assert_eq(atomic_load(&r.n_refused), 2);
    cr_assert_eq(eng_ring_spsc_size(&r), 7);
    for (uintptr_t i = 1; i <= 7; i++)
        cr_assert_eq((uintptr_t)eng_ring_spsc_pop(&r), i);
    cr_assert_null(eng_ring_spsc_pop(&r));
    eng_ring_spsc_deinit(&r);
}

enum { N = 300000 };
static eng_ring_spsc_t shared;

static void *producer(void *arg)
{
    uintptr_t refused = 0;
    for (uintptr_t i = 1; i <= N;) {
        if (eng_ring_spsc_push(&shared, (void *)i))
            i++;
        else
            refused++;
    }
    return (void *)refused;
}

Test(ring, two_threads_keep_order_and_lose_nothing, .timeout = 60)
{
    cr_assert_eq(eng_ring_spsc_init(&shared, "pc", 1024), 0);
    pthread_t t;
    pthread_create(&t, NULL, producer, NULL);
    uintptr_t expect = 1;
    while (expect <= N) {
        void *p = eng_ring_spsc_pop(&shared);
        if (p == NULL)
            continue;
        cr_assert_eq((uintptr_t)p, expect, "got %zu, expected %zu", (size_t)(uintptr_t)p, (size_t)expect);
        expect++;
    }
    void *refused;
    pthread_join(t, &refused);
    cr_assert_eq((uintptr_t)refused, atomic_load(&shared.n_refused));
    cr_assert_null(eng_ring_spsc_pop(&shared));
    eng_ring_spsc_deinit(&shared);
}
