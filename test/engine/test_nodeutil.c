/* test/engine/test_nodeutil.c - engine/nodeutil.h: the per-group sets of points of one time
 * (eng_tset_*) that combine and flatten buffer in. The node they report to is a real one, taken
 * from a harness task, so the cardinality stat and the error count are the node's own. */
#include <criterion/criterion.h>

#include "engine/nodeutil.h"
#include "test/engine/harness.h"

static eng_harness_t h;
static eng_node_t *node;
static eng_gmap_t sets;

static void init(void)
{
    cr_assert_eq(eng_harness_new(&h, "stream|from()|flatten().on('port')\n", "db", "rp"), 0, "%s", h.err.msg);
    node = eng_harness_node(&h, "flatten2");
    cr_assert_not_null(node);
    eng_gmap_init(&sets, sizeof(eng_tset_t *));
}

static void fini(void)
{
    eng_tsets_deinit(&sets);
    eng_harness_free(&h);
}

TestSuite(nodeutil_tset, .init = init, .fini = fini);

/* a point named `name` with one tag port=<port> and one field v=<v> at time t, strings on the stack */
struct pt {
    char name[16], port[16];
    eng_tag_t tag;
    eng_field_t field;
    eng_point_t p;
};

static void make_pt(struct pt *x, const char *name, const char *port, double v, int64_t t)
{
    snprintf(x->name, sizeof x->name, "%s", name);
    snprintf(x->port, sizeof x->port, "%s", port);
    x->tag = (eng_tag_t){ FA_STR_LIT("port"), fa_str_c(x->port) };
    x->field = (eng_field_t){ FA_STR_LIT("v"), { .type = ENG_FLOAT, .f = v } };
    x->p = (eng_point_t){ .name = fa_str_c(x->name), .tags = &x->tag, .n_tags = 1, .fields = &x->field, .n_fields = 1, .time = t };
}

Test(nodeutil_tset, get_creates_once_per_group_and_counts_groups)
{
    eng_tset_t *a = eng_tset_get(node, &sets, 7, 100);
    cr_assert_not_null(a);
    cr_assert_eq(a->time, 100);
    cr_assert_eq(a->n, 0);
    cr_assert_eq(atomic_load(&node->stats.cardinality), 1);
    a->time = 150;
    cr_assert_eq(eng_tset_get(node, &sets, 7, 999), a, "the same group gives the same set");
    cr_assert_eq(a->time, 150, "an existing set keeps its time");
    eng_tset_t *b = eng_tset_get(node, &sets, 0, 5); /* 0 is a group id like any other */
    cr_assert_not_null(b);
    cr_assert_neq(a, b);
    cr_assert_eq(b->time, 5);
    cr_assert_eq(atomic_load(&node->stats.cardinality), 2);
    cr_assert_eq(atomic_load(&node->stats.errors), 0);
}

Test(nodeutil_tset, push_copies_points_and_grows_clear_forgets_them)
{
    eng_tset_t *s = eng_tset_get(node, &sets, 1, 0);
    struct pt x;
    for (int i = 0; i < 20; i++) { /* past the first capacity (8) twice */
        char port[16];
        snprintf(port, sizeof port, "p%d", i);
        make_pt(&x, "net", port, i, 1000 + i);
        cr_assert(eng_tset_push(node, s, &x.p));
        memset(x.port, 'X', sizeof x.port - 1); /* the copy must not point at the caller's strings */
    }
    cr_assert_eq(s->n, 20);
    cr_assert_geq(s->cap, 20);
    for (uint32_t i = 0; i < s->n; i++) {
        char want[16];
        snprintf(want, sizeof want, "p%u", i);
        cr_assert(fa_str_eq(eng_point_tag(&s->pts[i], FA_STR_LIT("port")), fa_str_c(want)), "point %u", i);
        cr_assert_eq(s->pts[i].fields[0].v.f, (double)i);
        cr_assert_eq(s->pts[i].time, 1000 + (int64_t)i);
        cr_assert(fa_str_eq(s->pts[i].name, FA_STR_LIT("net")));
    }
    eng_tset_clear(s);
    cr_assert_eq(s->n, 0);
    make_pt(&x, "disk", "p9", 9, 5);
    cr_assert(eng_tset_push(node, s, &x.p));
    cr_assert_eq(s->n, 1);
    cr_assert(fa_str_eq(s->pts[0].name, FA_STR_LIT("disk")));
}

static char flushed[256];

static void record_flush(eng_node_t *n, eng_tset_t *s, uint64_t group, const eng_dims_t *dims)
{
    cr_assert_eq(n, node);
    cr_assert_eq(dims, s->dims, "flush gets the set's own dims");
    size_t len = strlen(flushed);
    snprintf(flushed + len, sizeof flushed - len, "%" PRIu64 ":%" PRId64 ":%u ", group, s->time, s->n);
    eng_tset_clear(s);
}

Test(nodeutil_tset, flush_before_visits_non_empty_older_sets_in_group_order)
{
    static const eng_dims_t dims = { 0 };
    struct pt x;
    make_pt(&x, "net", "80", 1, 0);
    /* group: time, points */
    const struct { uint64_t group; int64_t time; int n; } g[] = { { 30, 10, 2 }, { 10, 50, 1 }, { 20, 20, 0 }, { 40, 49, 1 } };
    for (int i = 0; i < 4; i++) {
        eng_tset_t *s = eng_tset_get(node, &sets, g[i].group, g[i].time);
        s->dims = i == 0 ? &dims : NULL;
        for (int j = 0; j < g[i].n; j++)
            cr_assert(eng_tset_push(node, s, &x.p));
    }
    flushed[0] = 0;
    eng_tsets_flush_before(node, &sets, 50, record_flush);
    /* 10 is not older than 50, 20 is empty */
    cr_assert_str_eq(flushed, "30:10:2 40:49:1 ");
    flushed[0] = 0;
    eng_tsets_flush_before(node, &sets, 51, record_flush);
    cr_assert_str_eq(flushed, "10:50:1 ", "the others were cleared by the first flush");
}
