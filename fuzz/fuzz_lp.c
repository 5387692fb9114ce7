/* fuzz/fuzz_lp.c - libFuzzer driver for engine/lp.c.
 * Byte 0 picks options (uint, stamps, precision, arena limit); the rest is the body. Checks:
 * - invariants: points whole, tags strictly sorted by key, >= 1 field, stamps ascending and inside
 *   the body, n_points == points added, n_points + n_bad <= lines, errors text bounded, no stamp
 *   in a body eng_lp_all_stamped says yes to;
 * - the fast path against the careful one: with no arena limit both must give the same points,
 *   values (bit for bit), keys, errors and stamps.
 * lp.c is included (not linked) so that it is built with the fuzzer's coverage instrumentation. */
#include "engine/lp.c"

#include <stdio.h>
#include <stdlib.h>

/* assert() is compiled out in release builds; this is not */
#define assert(x)                                                                                  \
    do {                                                                                           \
        if (!(x)) {                                                                                \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #x);                 \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static void check_point(const eng_point_t *pt)
{
    assert(pt->name.len > 0 && pt->key.len >= pt->name.len);
    assert(pt->n_fields >= 1);
    for (uint32_t i = 1; i < pt->n_tags; i++)
        assert(fa_str_cmp(pt->tags[i - 1].key, pt->tags[i].key) < 0);
    for (uint32_t i = 0; i < pt->n_tags; i++)
        assert(pt->tags[i].key.len > 0 && pt->tags[i].value.len > 0);
    for (uint32_t i = 0; i < pt->n_fields; i++)
        assert(pt->fields[i].v.type <= ENG_BOOL);
    assert(pt->time >= MIN_NANO && pt->time <= MAX_NANO);
}

static bool value_eq(const eng_value_t *a, const eng_value_t *b)
{
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case ENG_FLOAT:
        return memcmp(&a->f, &b->f, sizeof a->f) == 0;
    case ENG_INT:
    case ENG_UINT:
        return a->u == b->u;
    case ENG_STRING:
        return fa_str_eq(a->s, b->s);
    case ENG_BOOL:
        return a->b == b->b;
    }
    return false;
}

static void check_same(const eng_point_t *a, const eng_point_t *b)
{
    assert(fa_str_eq(a->name, b->name) && fa_str_eq(a->key, b->key) && a->time == b->time);
    assert(a->n_tags == b->n_tags && a->n_fields == b->n_fields);
    for (uint32_t i = 0; i < a->n_tags; i++)
        assert(fa_str_eq(a->tags[i].key, b->tags[i].key) && fa_str_eq(a->tags[i].value, b->tags[i].value));
    for (uint32_t i = 0; i < a->n_fields; i++)
        assert(fa_str_eq(a->fields[i].key, b->fields[i].key) && value_eq(&a->fields[i].v, &b->fields[i].v));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int64_t mults[4] = { 1, 1000, 1000000000, INT64_C(3600000000000) };
    static eng_lp_result_t r1, r2;
    eng_batch_t b1, b2;
    eng_lp_opts_t o = { 0 };
    const char *body;
    size_t len, lines = 1;
    uint8_t sel;
    int rc;

    if (size == 0)
        return 0;
    sel = data[0];
    body = (const char *)data + 1;
    len = size - 1;
    for (size_t i = 0; i < len; i++)
        lines += body[i] == '\n';
    o.allow_uint = sel & 1;
    o.want_stamps = sel & 2;
    o.precision_ns = mults[(sel >> 2) & 3];
    o.now = 1600000000;
    o.max_errors = (sel >> 4) & 3;
    /* half the runs get a small limit so that the arena limit paths run */
    eng_batch_init(&b1, 256, (sel & 0x40) ? 256 + len * ((sel >> 7) + 2) : 0);
    rc = eng_lp_parse(&b1, body, len, &o, &r1);
    assert(rc == (r1.out_of_memory && r1.n_points == 0 ? -1 : (int)r1.n_points));
    assert(r1.n_points == b1.n);
    assert(r1.n_points + r1.n_bad <= lines);
    assert(strlen(r1.errors) < sizeof r1.errors);
    assert((r1.n_bad == 0) == (r1.errors[0] == '\0' && r1.first_bad_line == 0));
    assert(!o.want_stamps ? r1.n_stamps == 0 : r1.n_stamps <= r1.n_points);
    for (uint32_t i = 0; i < r1.n_stamps; i++)
        assert(r1.stamps[i].offset <= len && (i == 0 || r1.stamps[i - 1].offset < r1.stamps[i].offset));
    for (uint32_t i = 0; i < b1.n; i++)
        check_point(&b1.points[i]);
    /* a body the proxy forwards before parsing (eng_lp_all_stamped) must need no stamp */
    if (o.want_stamps && !r1.out_of_memory && eng_lp_all_stamped(body, len))
        assert(r1.n_stamps == 0);

    if (!r1.out_of_memory) { /* the fast path must agree with the careful one */
        o._careful_only = true;
        eng_batch_init(&b2, 256, 0);
        eng_lp_parse(&b2, body, len, &o, &r2);
        assert(r2.n_points == r1.n_points && r2.n_bad == r1.n_bad && r2.n_stamps == r1.n_stamps);
        assert(strcmp(r1.errors, r2.errors) == 0);
        assert(r1.first_bad_line == r2.first_bad_line && r1.first_bad_col == r2.first_bad_col);
        for (uint32_t i = 0; i < b1.n; i++)
            check_same(&b1.points[i], &b2.points[i]);
        for (uint32_t i = 0; i < r1.n_stamps; i++)
            assert(r1.stamps[i].offset == r2.stamps[i].offset);
        eng_batch_deinit(&b2);
    }
    eng_batch_deinit(&b1);
    return 0;
}
