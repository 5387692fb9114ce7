/* test/engine/test_statmap.c - engine/statmap.h: keys, counters, overflow, concurrent adds. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>

#include "engine/statmap.h"

Test(statmap, same_key_same_row_and_parts_round_trip)
{
    eng_statmap_t m;
    cr_assert_eq(eng_statmap_init(&m, 16, 2), 0);
    fa_str_t k1[2] = { FA_STR_LIT("db"), FA_STR_LIT("autogen") };
    fa_str_t k2[2] = { FA_STR_LIT("dba"), FA_STR_LIT("utogen") };
    eng_statrow_t *a = eng_statmap_get(&m, k1, 2), *b = eng_statmap_get(&m, k2, 2);
    cr_assert_neq(a, b, "parts are separated, \"db\"+\"autogen\" is not \"dba\"+\"utogen\"");
    cr_assert_eq(eng_statmap_get(&m, k1, 2), a);
    eng_statrow_add(a, 1, 5);
    eng_statrow_add(a, 1, 2);
    cr_assert_eq(eng_statrow_load(a, 1), 7);
    cr_assert_eq(eng_statrow_load(a, 0), 0);
    fa_str_t parts[3];
    cr_assert_eq(eng_statrow_parts(a, parts, 3), 2);
    cr_assert(fa_str_eq_c(parts[0], "db") && fa_str_eq_c(parts[1], "autogen"));
    eng_statmap_deinit(&m);
}

static void count_rows(void *arg, const eng_statrow_t *r) { (*(int *)arg)++; }

Test(statmap, full_map_uses_the_overflow_row)
{
    eng_statmap_t m;
    cr_assert_eq(eng_statmap_init(&m, 4, 1), 0);
    char name[16];
    eng_statrow_t *last = NULL;
    for (int i = 0; i < 6; i++) {
        snprintf(name, sizeof name, "m%d", i);
        fa_str_t k = fa_str_c(name);
        last = eng_statmap_get(&m, &k, 1);
        eng_statrow_add(last, 0, 1);
    }
    cr_assert_eq(last, &m.overflow);
    cr_assert_eq(eng_statrow_load(&m.overflow, 0), 2);
    int rows = 0;
    eng_statmap_each(&m, count_rows, &rows);
    cr_assert_eq(rows, 5, "4 keyed rows and the overflow row, got %d", rows);
    eng_statmap_deinit(&m);
}

static eng_statmap_t shared;

static void *adder(void *arg)
{
    char name[16];
    for (int round = 0; round < 2000; round++)
        for (int i = 0; i < 50; i++) {
            snprintf(name, sizeof name, "key%d", i);
            fa_str_t k = fa_str_c(name);
            eng_statrow_add(eng_statmap_get(&shared, &k, 1), 0, 1);
        }
    return NULL;
}

Test(statmap, concurrent_adders_agree_on_rows, .timeout = 60)
{
    cr_assert_eq(eng_statmap_init(&shared, 128, 1), 0);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, adder, NULL);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    int rows = 0;
    eng_statmap_each(&shared, count_rows, &rows);
    cr_assert_eq(rows, 50);
    char name[16];
    for (int i = 0; i < 50; i++) {
        snprintf(name, sizeof name, "key%d", i);
        fa_str_t k = fa_str_c(name);
        cr_assert_eq(eng_statrow_load(eng_statmap_get(&shared, &k, 1), 0), 4 * 2000);
    }
    eng_statmap_deinit(&shared);
}
