/* test/base/test_arena.c - base/arena.c: alignment, big allocations, the limit, reset, strndup. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "base/arena.h"

static fa_arena_t arena;
static void teardown(void) { fa_arena_deinit(&arena); }
TestSuite(arena, .fini = teardown);

Test(arena, alignment_is_honoured)
{
    static const size_t aligns[] = { 1, 2, 4, 8, 16, 32, 64, 4096 };

    fa_arena_init(&arena, 1024, 0);
    for (int round = 0; round < 50; round++)
        for (size_t i = 0; i < sizeof aligns / sizeof aligns[0]; i++) {
            size_t n = (size_t)round * 3 + 1;
            unsigned char *p = fa_arena_alloc(&arena, n, aligns[i]);
            cr_assert_eq((uintptr_t)p % aligns[i], 0, "align %zu gave %p", aligns[i], (void *)p);
            memset(p, 0xab, n); /* ASan build: the bytes are ours */
        }
    /* align 0 means 1 */
    cr_assert_not_null(fa_arena_alloc(&arena, 3, 0));
    double *d = FA_NEW(&arena, double, 4);
    cr_assert_eq((uintptr_t)d % _Alignof(double), 0);
}

Test(arena, cache_line_alignment_shares_a_chunk)
{
    /* 64-byte aligned requests in a 4 KiB chunk fit in one chunk: check by filling from two
     * allocations that must be near each other */
    fa_arena_init(&arena, 4096, 0);
    char *a = fa_arena_alloc(&arena, 8, 64);
    char *b = fa_arena_alloc(&arena, 8, 64);
    cr_assert_eq((uintptr_t)a % 64, 0);
    cr_assert_eq((uintptr_t)b % 64, 0);
    cr_assert_eq(b - a, 64, "second cache-line allocation went to a new chunk (%td apart)", b - a);
}

Test(arena, allocations_do_not_overlap)
{
    enum { N = 500 };
    unsigned char *ptrs[N];
    size_t sizes[N];

    fa_arena_init(&arena, 512, 0);
    for (int i = 0; i < N; i++) {
        sizes[i] = (size_t)(i * 37 % 700) + 1; /* some larger than a chunk */
        ptrs[i] = fa_arena_alloc(&arena, sizes[i], 8);
        memset(ptrs[i], i & 0xff, sizes[i]);
    }
    for (int i = 0; i < N; i++)
        for (size_t j = 0; j < sizes[i]; j++)
            cr_assert_eq(ptrs[i][j], (unsigned char)(i & 0xff), "allocation %d byte %zu overwritten", i, j);
}

Test(arena, big_allocation_gets_its_own_chunk_and_keeps_room)
{
    fa_arena_init(&arena, 1024, 0);
    char *small1 = fa_arena_alloc(&arena, 16, 8);
    char *big = fa_arena_alloc(&arena, 1 << 20, 16);
    char *small2 = fa_arena_alloc(&arena, 16, 8);
    cr_assert_eq((uintptr_t)big % 16, 0);
    memset(big, 1, 1 << 20);
    /* the big one slid under the current chunk, so the next small one follows the first */
    cr_assert_eq(small2 - small1, 16);
    cr_assert_eq(fa_arena_used(&arena), 32 + (1 << 20));
}

Test(arena, limit_with_try_alloc)
{
    fa_arena_init(&arena, 256, 1000);
    void *p = fa_arena_try_alloc(&arena, 600, 1);
    cr_assert_not_null(p);
    cr_assert_null(fa_arena_try_alloc(&arena, 401, 1), "went past the limit");
    cr_assert_not_null(fa_arena_try_alloc(&arena, 400, 1), "refused exactly up to the limit");
    cr_assert_eq(fa_arena_used(&arena), 1000);
    cr_assert_null(fa_arena_try_alloc(&arena, 1, 1));
    cr_assert_null(fa_arena_try_alloc(&arena, SIZE_MAX, 1), "SIZE_MAX wrapped the limit check");
    /* fa_arena_alloc ignores the limit */
    cr_assert_not_null(fa_arena_alloc(&arena, 100, 1));
    cr_assert_eq(fa_arena_used(&arena), 1100);
}

Test(arena, try_alloc_refuses_sizes_that_would_wrap)
{
    fa_arena_init(&arena, 256, 0);
    cr_assert_null(fa_arena_try_alloc(&arena, SIZE_MAX - 8, 16));
    cr_assert_null(fa_arena_try_alloc(&arena, SIZE_MAX, 1));
}

Test(arena, reset_keeps_memory_usable)
{
    fa_arena_init(&arena, 1024, 4096);
    for (int round = 0; round < 20; round++) {
        size_t total = 0;
        for (int i = 0; i < 10; i++) {
            char *p = fa_arena_try_alloc(&arena, 300, 8);
            cr_assert_not_null(p, "round %d alloc %d", round, i);
            memset(p, round, 300);
            total += 300;
        }
        cr_assert_null(fa_arena_try_alloc(&arena, 4096 - total + 1, 1));
        cr_assert_eq(fa_arena_used(&arena), total);
        fa_arena_reset(&arena);
        cr_assert_eq(fa_arena_used(&arena), 0);
    }
    /* after a reset with a big chunk in the list, allocation still works */
    (void)fa_arena_alloc(&arena, 1 << 16, 8);
    fa_arena_reset(&arena);
    char *p = fa_arena_alloc(&arena, 100, 8);
    memset(p, 7, 100);
    cr_assert_eq(p[99], 7);
}

Test(arena, strndup_copies_and_terminates)
{
    fa_arena_init(&arena, 256, 0);
    const char src[] = "measurement,tag=1";
    char *s = fa_arena_strndup(&arena, src, 11);
    cr_assert_str_eq(s, "measurement");
    cr_assert_neq(s, src);
    char *e = fa_arena_strndup(&arena, NULL, 0);
    cr_assert_str_eq(e, "");
    char big[1000];
    memset(big, 'x', sizeof big);
    char *b = fa_arena_strndup(&arena, big, sizeof big);
    cr_assert_eq(strlen(b), sizeof big);
}

Test(arena, deinit_then_init_again)
{
    fa_arena_init(&arena, 256, 0);
    (void)fa_arena_alloc(&arena, 100, 8);
    fa_arena_deinit(&arena);
    cr_assert_eq(fa_arena_used(&arena), 0);
    fa_arena_init(&arena, 256, 0);
    cr_assert_not_null(fa_arena_alloc(&arena, 10, 1));
}
