/* test/proxy/test_tee.c - proxy/tee.h: the db.rp filter and the bounded batch pool. */
#include <criterion/criterion.h>
#include <unistd.h>

#include "proxy/tee.h"

Test(tee_filter, patterns_match)
{
    proxy_tee_filter_t f;
    char err[200];
    cr_assert_eq(proxy_tee_filter_init(&f, "telegraf.autogen, metrics.*", "", err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(f.default_rp, "autogen");
    cr_assert(proxy_tee_filter_match(&f, FA_STR_LIT("telegraf"), FA_STR_LIT("autogen")));
    cr_assert_not(proxy_tee_filter_match(&f, FA_STR_LIT("telegraf"), FA_STR_LIT("weekly")));
    cr_assert(proxy_tee_filter_match(&f, FA_STR_LIT("metrics"), FA_STR_LIT("weekly")));
    cr_assert_not(proxy_tee_filter_match(&f, FA_STR_LIT("other"), FA_STR_LIT("autogen")));
    proxy_tee_filter_deinit(&f);

    cr_assert_eq(proxy_tee_filter_init(&f, "*", "rp1", err, sizeof err), 0);
    cr_assert(proxy_tee_filter_match(&f, FA_STR_LIT("anything"), FA_STR_LIT("rp1")));
    proxy_tee_filter_deinit(&f);

    cr_assert_eq(proxy_tee_filter_init(&f, "", NULL, err, sizeof err), 0);
    cr_assert_not(proxy_tee_filter_match(&f, FA_STR_LIT("telegraf"), FA_STR_LIT("autogen")));
    proxy_tee_filter_deinit(&f);
}

Test(tee_filter, bad_pattern_is_named)
{
    proxy_tee_filter_t f;
    char err[200];
    cr_assert_eq(proxy_tee_filter_init(&f, "telegraf.autogen,telegraf", "", err, sizeof err), -1);
    cr_assert_str_eq(err, "tee.dbrps: \"telegraf\" is not db.rp, db.* or *");
    cr_assert_eq(proxy_tee_filter_init(&f, ".rp", "", err, sizeof err), -1);
    cr_assert_str_eq(err, "tee.dbrps: \".rp\" is not db.rp, db.* or *");
}

Test(tee_pool, never_owns_more_than_the_ring_holds)
{
    eng_ingest_t *g = eng_ingest_new(1, 4);
    cr_assert_not_null(g);
    proxy_tee_t t;
    proxy_tee_init(&t, eng_ingest_port(g, 0), eng_ingest_dbrp_stats(g), 4, 1 << 20);
    eng_batch_t *b[4];
    for (int i = 0; i < 3; i++)
        cr_assert_not_null(b[i] = proxy_tee_get(&t));
    cr_assert_null(proxy_tee_get(&t), "a 4-slot ring holds 3: the 4th batch is refused");
    for (int i = 0; i < 3; i++) {
        b[i]->db = FA_STR_LIT("db");
        b[i]->rp = FA_STR_LIT("rp");
        cr_assert(proxy_tee_send(&t, b[i]));
    }
    /* the ingest thread is not running: nothing comes back, nothing new may be allocated */
    cr_assert_null(proxy_tee_get(&t));
    cr_assert_eq(eng_ingest_start(g), 0);
    eng_batch_t *again = NULL;
    for (int spin = 0; spin < 2000 && again == NULL; spin++) {
        again = proxy_tee_get(&t);
        if (again == NULL)
            usleep(1000);
    }
    cr_assert_not_null(again, "consumed batches come back for reuse");
    proxy_tee_put(&t, again);
    eng_ingest_stop(g);
    fa_str_t key[2] = { FA_STR_LIT("db"), FA_STR_LIT("rp") };
    cr_assert_eq(eng_statrow_load(eng_statmap_get(eng_ingest_dbrp_stats(g), key, 2), ENG_DBRP_BATCHES), 3);
    proxy_tee_deinit(&t);
    eng_ingest_free(g);
}

Test(tee_pool, full_ring_counts_a_drop)
{
    eng_ingest_t *g = eng_ingest_new(1, 4);
    proxy_tee_t t;
    proxy_tee_init(&t, eng_ingest_port(g, 0), eng_ingest_dbrp_stats(g), 8, 1 << 20); /* pool larger than the ring */
    int sent = 0, dropped = 0;
    for (int i = 0; i < 5; i++) {
        eng_batch_t *b = proxy_tee_get(&t);
        cr_assert_not_null(b);
        b->db = FA_STR_LIT("db");
        b->rp = FA_STR_LIT("rp");
        eng_batch_add(b);
        eng_batch_add(b);
        if (proxy_tee_send(&t, b))
            sent++;
        else {
            dropped++;
            proxy_tee_put(&t, b);
        }
    }
    cr_assert_eq(sent, 3);
    cr_assert_eq(dropped, 2);
    fa_str_t key[2] = { FA_STR_LIT("db"), FA_STR_LIT("rp") };
    eng_statrow_t *r = eng_statmap_get(eng_ingest_dbrp_stats(g), key, 2);
    cr_assert_eq(eng_statrow_load(r, ENG_DBRP_BATCHES_DROPPED), 2);
    cr_assert_eq(eng_statrow_load(r, ENG_DBRP_POINTS_DROPPED), 4);
    proxy_tee_deinit(&t);
    eng_ingest_free(g);
}
