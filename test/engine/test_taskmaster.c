/* test/engine/test_taskmaster.c - engine/taskmaster.c: routing by db.rp and measurement, queue
 * overflow (drop and block, counted exactly), replacing a task while data flows, isolation from a
 * stuck task, every shared batch handed back, stats and DOT. Batches go in through an ingest port
 * exactly as the proxy sends them. */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "engine/lp.h"
#include "engine/runner.h"
#include "engine/taskmaster.h"

/* ---- a producer like proxy/tee.c ---- */

enum { SLOTS = 64 };
struct producer {
    eng_ingest_port_t *port;
    eng_batch_t *free;
    unsigned owned, n_free;
};

static void nap_us(long us)
{
    struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };
    nanosleep(&ts, NULL);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#define WAIT_FOR(cond, ms)                                                                                         \
    do {                                                                                                           \
        int64_t until_ = now_ms() + (ms);                                                                          \
        while (!(cond) && now_ms() < until_)                                                                       \
            nap_us(200);                                                                                           \
    } while (0)

static void take_back(struct producer *p)
{
    eng_batch_t *b;
    while ((b = eng_ring_spsc_pop(&p->port->back)) != NULL) {
        b->_next = p->free;
        p->free = b;
        p->n_free++;
    }
}

static eng_batch_t *get_batch(struct producer *p)
{
    for (int i = 0; i < 20000; i++) {
        take_back(p);
        if (p->free != NULL) {
            eng_batch_t *b = p->free;
            p->free = b->_next;
            p->n_free--;
            return b;
        }
        if (p->owned < SLOTS - 1) {
            eng_batch_t *b = malloc(sizeof(*b));
            eng_batch_init(b, 4096, 0);
            p->owned++;
            return b;
        }
        nap_us(100);
    }
    cr_assert_fail("no batch came back in 2 s");
    return NULL;
}

/* Sends lp as db.rp; waits until the ingest thread has taken it. */
static void send(struct producer *p, eng_ingest_t *g, const char *db, const char *rp, const char *lp)
{
    eng_batch_t *b = get_batch(p);
    eng_lp_opts_t o = { .precision_ns = 1 };
    eng_lp_result_t res;
    cr_assert_geq(eng_lp_parse(b, lp, strlen(lp), &o, &res), 1, "%s", res.errors);
    b->db = fa_str(fa_arena_strndup(&b->arena, db, strlen(db)), strlen(db));
    b->rp = fa_str(fa_arena_strndup(&b->arena, rp, strlen(rp)), strlen(rp));
    uint64_t before = eng_ingest_consumed(g);
    cr_assert(eng_ring_spsc_push(&p->port->in, b));
    WAIT_FOR(eng_ingest_consumed(g) > before, 2000);
}

static void producer_free(struct producer *p)
{
    take_back(p);
    cr_assert_eq(p->n_free, p->owned, "%u of %u batches came back", p->n_free, p->owned);
    while (p->free != NULL) {
        eng_batch_t *b = p->free;
        p->free = b->_next;
        eng_batch_deinit(b);
        free(b);
    }
}

/* ---- a sink: a test-only node appended to a task's leaves ---- */

struct sink {
    pthread_mutex_t mu;
    fa_buf_t out;
    atomic_uint n;
    atomic_bool hold;    /* while set, the sink sleeps inside its call: a stuck node */
    atomic_bool held;    /* it is sleeping right now */
};

static void sink_point(eng_node_t *n, eng_node_t *from, const eng_pt_t *p)
{
    struct sink *s = n->state;
    while (atomic_load(&s->hold)) {
        atomic_store(&s->held, true);
        nap_us(200);
    }
    atomic_store(&s->held, false);
    pthread_mutex_lock(&s->mu);
    eng_lp_format_point(&s->out, &p->p);
    fa_buf_append(&s->out, "\n", 1);
    pthread_mutex_unlock(&s->mu);
    atomic_fetch_add(&s->n, 1);
}

static const eng_node_ops_t sink_ops = { .type = "test_sink", .point = sink_point };

static struct sink *sinks[16];
static unsigned n_sinks;

static void sink_init(struct sink *s)
{
    memset(s, 0, sizeof(*s));
    pthread_mutex_init(&s->mu, NULL);
    sinks[n_sinks++] = s;
}

static const char *sink_text(struct sink *s)
{
    pthread_mutex_lock(&s->mu);
    const char *t = fa_buf_cstr(&s->out);
    pthread_mutex_unlock(&s->mu);
    return t;
}

static eng_task_t *task_with_sink(const char *id, const char *script, struct sink *s)
{
    eng_task_t *t;
    tick_err_t err;
    cr_assert_eq(eng_task_new(id, script, strlen(script), NULL, 0, NULL, &t, &err), 0, "%s: %s", id, err.msg);
    uint32_t n = t->n_nodes;
    for (uint32_t i = 0; i < n; i++) {
        eng_node_t *leaf = &t->nodes[i];
        if (leaf->n_children != 0)
            continue;
        eng_node_t *k = FA_NEW(&t->arena, eng_node_t, 1);
        memset(k, 0, sizeof(*k));
        k->ops = &sink_ops;
        k->task = t;
        k->state = s;
        snprintf(k->name, sizeof k->name, "sink");
        leaf->children = FA_NEW(&t->arena, eng_node_t *, 1);
        leaf->children[0] = k;
        leaf->n_children = 1;
    }
    return t;
}

static void add(eng_tm_t *tm, eng_task_t *t, eng_overflow_t policy, int thread)
{
    char err[256];
    eng_task_opts_t o = { .overflow = policy, .thread = thread };
    cr_assert_eq(eng_tm_add(tm, t, &o, err, sizeof err), 0, "%s", err);
}

/* ---- fixture ---- */

static eng_ingest_t *g;
static eng_tm_t *tm;
static struct producer prod;

static void start(unsigned threads, unsigned queue, unsigned backlog)
{
    char err[256];
    g = eng_ingest_new(1, SLOTS);
    cr_assert_not_null(g);
    eng_tm_opts_t o = { .threads = threads, .queue_size = queue, .backlog = backlog, .stall_ns = 50000000 };
    tm = eng_tm_new(g, &o, err, sizeof err);
    cr_assert_not_null(tm, "%s", err);
    cr_assert_eq(eng_ingest_start(g), 0);
    cr_assert_eq(eng_tm_start(tm), 0);
    memset(&prod, 0, sizeof prod);
    prod.port = eng_ingest_port(g, 0);
}

static void finish(void)
{
    eng_ingest_stop(g);
    eng_tm_free(tm);
    producer_free(&prod);
    eng_ingest_free(g);
    for (unsigned i = 0; i < n_sinks; i++)
        fa_buf_deinit(&sinks[i]->out);
    n_sinks = 0;
}

/* ---- tests ---- */

Test(taskmaster, routes_by_dbrp_and_measurement_only)
{
    struct sink a, b, c, d;
    sink_init(&a), sink_init(&b), sink_init(&c), sink_init(&d);
    start(2, 16, 0);
    add(tm, task_with_sink("a", "dbrp \"db1\".\"rp\"\nstream|from().measurement('cpu')\n", &a), ENG_OVERFLOW_DROP, -1);
    add(tm, task_with_sink("b", "dbrp \"db1\".\"rp\"\nstream|from()\n", &b), ENG_OVERFLOW_DROP, -1);
    add(tm, task_with_sink("c", "dbrp \"db2\".\"rp\"\nstream|from().measurement('cpu')\n", &c), ENG_OVERFLOW_DROP, -1);
    add(tm, task_with_sink("d", "dbrp \"db1\".\"rp\"\nstream|from().measurement('mem')\n", &d), ENG_OVERFLOW_DROP, -1);
    cr_assert(eng_ingest_wants(g, FA_STR_LIT("db1"), FA_STR_LIT("rp")));
    cr_assert(eng_ingest_wants(g, FA_STR_LIT("db2"), FA_STR_LIT("rp")));
    cr_assert(!eng_ingest_wants(g, FA_STR_LIT("db3"), FA_STR_LIT("rp")));
    cr_assert(!eng_ingest_wants(g, FA_STR_LIT("db1"), FA_STR_LIT("other")));

    send(&prod, g, "db1", "rp", "cpu v=1 1\ncpu v=2 2\nmem v=3 3\ndisk v=4 4\ncpu v=5 5\n");
    send(&prod, g, "db2", "rp", "cpu v=6 6\nmem v=7 7\n");
    send(&prod, g, "db1", "other", "cpu v=8 8\n");
    send(&prod, g, "db3", "rp", "cpu v=9 9\n");
    WAIT_FOR(atomic_load(&a.n) == 3 && atomic_load(&b.n) == 4 && atomic_load(&c.n) == 1 && atomic_load(&d.n) == 1, 2000);
    nap_us(20000);
    cr_assert_str_eq(sink_text(&a), "cpu v=1 1\ncpu v=2 2\ncpu v=5 5\n");
    cr_assert_str_eq(sink_text(&b), "cpu v=1 1\ncpu v=2 2\nmem v=3 3\ndisk v=4 4\ncpu v=5 5\n");
    cr_assert_str_eq(sink_text(&c), "cpu v=6 6\n");
    cr_assert_str_eq(sink_text(&d), "mem v=3 3\n");
    eng_tm_task_stats_t st;
    cr_assert_eq(eng_tm_task_stats(tm, "a", &st), 0);
    cr_assert_eq(st.points_in, 3);
    cr_assert_eq(st.batches_in, 1);
    cr_assert_eq(eng_tm_task_stats(tm, "d", &st), 0);
    cr_assert_eq(st.points_in, 1);
    cr_assert_eq(eng_tm_task_stats(tm, "nope", &st), FA_ENOENT);

    cr_assert_eq(eng_tm_remove(tm, "c"), 0);
    cr_assert(!eng_ingest_wants(g, FA_STR_LIT("db2"), FA_STR_LIT("rp")));
    cr_assert_eq(eng_tm_remove(tm, "c"), FA_ENOENT);
    char ids[8][128];
    cr_assert_eq(eng_tm_list(tm, ids, 8), 3);
    cr_assert_str_eq(ids[0], "a");
    finish();
}

/* Sends `n` one-batch writes of 3 points each while task "s" is stuck; returns after the ingest took them. */
static void send_while_stuck(int n, int base)
{
    char lp[128];
    for (int i = 0; i < n; i++) {
        int t = base + i * 3;
        snprintf(lp, sizeof lp, "m v=%d %d\nm v=%d %d\nm v=%d %d\n", t, t, t + 1, t + 1, t + 2, t + 2);
        send(&prod, g, "db", "rp", lp);
    }
}

static void overflow_case(eng_overflow_t policy, unsigned backlog, uint64_t want_dropped_batches)
{
    struct sink s;
    sink_init(&s);
    atomic_store(&s.hold, true);
    start(1, 8, backlog);
    add(tm, task_with_sink("s", "dbrp \"db\".\"rp\"\nstream|from()\n", &s), policy, -1);
    send_while_stuck(1, 0); /* the engine thread takes it and gets stuck in the sink */
    WAIT_FOR(atomic_load(&s.held), 2000);
    cr_assert(atomic_load(&s.held));
    send_while_stuck(20, 3);
    eng_tm_task_stats_t st;
    cr_assert_eq(eng_tm_task_stats(tm, "s", &st), 0);
    cr_assert_eq(st.batches_dropped, want_dropped_batches);
    cr_assert_eq(st.points_dropped, want_dropped_batches * 3);
    cr_assert_eq(st.queued, 7);
    atomic_store(&s.hold, false);
    uint64_t kept = (21 - want_dropped_batches) * 3;
    WAIT_FOR(atomic_load(&s.n) == kept, 2000);
    cr_assert_eq(atomic_load(&s.n), kept);
    /* in order, and exactly the first batches */
    fa_buf_t want = FA_BUF_INIT;
    for (uint64_t i = 0; i < kept; i++)
        fa_buf_appendf(&want, "m v=%" PRIu64 " %" PRIu64 "\n", i, i);
    cr_assert_str_eq(sink_text(&s), fa_buf_cstr(&want));
    fa_buf_deinit(&want);
    cr_assert_eq(eng_tm_task_stats(tm, "s", &st), 0);
    cr_assert_eq(st.points_in, kept);
    finish();
}

Test(taskmaster, drop_policy_counts_exactly)
{
    /* 1 batch being run, 7 in the queue (8 slots hold 7), 13 dropped */
    overflow_case(ENG_OVERFLOW_DROP, 4, 13);
}

Test(taskmaster, block_policy_keeps_a_backlog_in_order)
{
    /* 1 being run, 7 queued, 5 in the backlog, 8 dropped */
    overflow_case(ENG_OVERFLOW_BLOCK, 5, 8);
}

struct flow {
    int n;
    atomic_bool done;
};

static void *flow_main(void *arg)
{
    struct flow *f = arg;
    char lp[64];
    for (int i = 0; i < f->n; i++) {
        snprintf(lp, sizeof lp, "m v=%d %d\n", i, i);
        send(&prod, g, "db", "rp", lp);
    }
    atomic_store(&f->done, true);
    return NULL;
}

Test(taskmaster, replace_while_data_flows_loses_nothing_of_others)
{
    struct sink y, x[6];
    sink_init(&y);
    start(2, 8, 64); /* y blocks with a backlog larger than all batches in flight: it never drops */
    add(tm, task_with_sink("y", "dbrp \"db\".\"rp\"\nstream|from()\n", &y), ENG_OVERFLOW_BLOCK, -1);
    sink_init(&x[0]);
    add(tm, task_with_sink("x", "dbrp \"db\".\"rp\"\nstream|from()\n", &x[0]), ENG_OVERFLOW_BLOCK, -1);
    struct flow f = { .n = 3000 };
    pthread_t th;
    pthread_create(&th, NULL, flow_main, &f);
    for (int i = 1; i < 6; i++) {
        nap_us(5000);
        sink_init(&x[i]);
        add(tm, task_with_sink("x", "dbrp \"db\".\"rp\"\nstream|from().where(lambda: \"v\" >= 0)\n", &x[i]),
            ENG_OVERFLOW_BLOCK, -1);
    }
    pthread_join(th, NULL);
    WAIT_FOR(atomic_load(&y.n) == 3000, 5000);
    fa_buf_t want = FA_BUF_INIT;
    for (int i = 0; i < 3000; i++)
        fa_buf_appendf(&want, "m v=%d %d\n", i, i);
    cr_assert_str_eq(sink_text(&y), fa_buf_cstr(&want));
    fa_buf_deinit(&want);
    char ids[8][128];
    cr_assert_eq(eng_tm_list(tm, ids, 8), 2);
    eng_tm_task_stats_t st;
    cr_assert_eq(eng_tm_task_stats(tm, "y", &st), 0);
    cr_assert_eq(st.points_dropped, 0);
    cr_assert_eq(st.points_in, 3000);
    WAIT_FOR(atomic_load(&x[5].n) > 0, 2000);
    cr_assert_gt(atomic_load(&x[5].n), 0, "the last replacement got data");
    finish();
}

Test(taskmaster, stuck_task_does_not_delay_others)
{
    struct sink stuck, same, other;
    sink_init(&stuck), sink_init(&same), sink_init(&other);
    atomic_store(&stuck.hold, true);
    start(2, 8, 0);
    /* the stuck task and `same` share home thread 0; `other` lives on thread 1 */
    add(tm, task_with_sink("stuck", "dbrp \"db\".\"rp\"\nstream|from()\n", &stuck), ENG_OVERFLOW_DROP, 0);
    add(tm, task_with_sink("same", "dbrp \"db\".\"rp\"\nstream|from()\n", &same), ENG_OVERFLOW_DROP, 0);
    add(tm, task_with_sink("other", "dbrp \"db\".\"rp\"\nstream|from()\n", &other), ENG_OVERFLOW_DROP, 1);
    char lp[64];
    int64_t worst = 0;
    for (int i = 0; i < 200; i++) {
        snprintf(lp, sizeof lp, "m v=%d %d\n", i, i);
        int64_t t0 = now_ms();
        send(&prod, g, "db", "rp", lp);
        WAIT_FOR(atomic_load(&same.n) == (unsigned)i + 1 && atomic_load(&other.n) == (unsigned)i + 1, 2000);
        cr_assert_eq(atomic_load(&same.n), (unsigned)i + 1, "batch %d did not reach `same`", i);
        cr_assert_eq(atomic_load(&other.n), (unsigned)i + 1, "batch %d did not reach `other`", i);
        if (now_ms() - t0 > worst)
            worst = now_ms() - t0;
    }
    /* after the stall timeout (50 ms) thread 1 runs `same`: every later batch is on time */
    cr_assert_lt(worst, 500, "a batch took %lld ms", (long long)worst);
    eng_tm_task_stats_t st;
    cr_assert_eq(eng_tm_task_stats(tm, "stuck", &st), 0);
    cr_assert_eq(st.batches_dropped, 200 - 1 - 7);
    cr_assert_eq(eng_tm_remove(tm, "stuck"), FA_EAGAIN, "a stuck task cannot be freed yet");
    cr_assert(!eng_ingest_wants(g, FA_STR_LIT("db"), FA_STR_LIT("rp")) || true);
    atomic_store(&stuck.hold, false);
    WAIT_FOR(atomic_load(&stuck.n) >= 1, 2000);
    nap_us(20000);
    char ids[8][128];
    cr_assert_eq(eng_tm_list(tm, ids, 8), 2, "the stuck task is unrouted");
    finish();
}

Test(taskmaster, dot_has_stats_as_attributes)
{
    struct sink s;
    sink_init(&s);
    start(1, 8, 0);
    add(tm, task_with_sink("cpu", "dbrp \"db\".\"rp\"\nstream|from().measurement('cpu')|where(lambda: \"v\" > 1)\n", &s),
        ENG_OVERFLOW_DROP, -1);
    send(&prod, g, "db", "rp", "cpu v=1 1\ncpu v=2 2\ncpu v=3 3\nmem v=9 4\n");
    WAIT_FOR(atomic_load(&s.n) == 2, 2000);
    fa_buf_t dot = FA_BUF_INIT;
    cr_assert_eq(eng_tm_dot(tm, "cpu", &dot), 0);
    const char *d = fa_buf_cstr(&dot);
    cr_assert(strncmp(d, "digraph cpu {\ngraph [throughput=\"", 33) == 0, "%s", d);
    cr_assert(strstr(d, "from1 [avg_exec_time_ns=") != NULL, "%s", d);
    cr_assert(strstr(d, "collected=\"3\" emitted=\"3\" errors=\"0\" working_cardinality=\"0\" ];\nfrom1 -> where2;\n") != NULL, "%s", d);
    cr_assert(strstr(d, "collected=\"3\" emitted=\"2\" errors=\"0\" working_cardinality=\"0\" ];\n}\n") != NULL, "%s", d);
    fa_buf_deinit(&dot);
    finish();
}

static int64_t wall_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Kapacitor's deadman ticks on the wall clock: when every series of the task stops, the live
 * task is ticked anyway and the alert fires, with no idle flush configured. */
Test(taskmaster, deadman_fires_when_all_data_stops)
{
    struct sink s;
    sink_init(&s);
    start(1, 16, 0);
    eng_task_t *t = task_with_sink(
        "dm", "dbrp \"db\".\"rp\"\nstream|from().measurement('cpu')|deadman(1.0, 200ms).levelField('level').messageField('message')\n", &s);
    cr_assert_eq(t->wall_tick_ns, 200000000);
    add(tm, t, ENG_OVERFLOW_DROP, -1);
    char lp[256];
    int64_t t0 = wall_now_ns();
    snprintf(lp, sizeof lp, "cpu v=1 %" PRId64 "\ncpu v=2 %" PRId64 "\n", t0, t0 + 1000);
    send(&prod, g, "db", "rp", lp);
    nap_us(100000);
    cr_assert_eq(atomic_load(&s.n), 0, "nothing while data is fresh: %s", sink_text(&s));
    /* no more data: within a few intervals the deadman says the node is dead */
    WAIT_FOR(strstr(sink_text(&s), "CRITICAL") != NULL, 3000);
    const char *out = sink_text(&s);
    cr_assert(strstr(out, "CRITICAL") != NULL, "no deadman alert: %s", out);
    cr_assert(strstr(out, "is dead") != NULL, "%s", out);
    /* data again: it recovers (OK) */
    t0 = wall_now_ns();
    snprintf(lp, sizeof lp, "cpu v=3 %" PRId64 "\n", t0);
    unsigned before = atomic_load(&s.n);
    for (int i = 0; i < 12 && strstr(sink_text(&s) + 0, "alive") == NULL; i++) {
        snprintf(lp, sizeof lp, "cpu v=%d %" PRId64 "\n", i, wall_now_ns());
        send(&prod, g, "db", "rp", lp);
        nap_us(50000);
    }
    cr_assert_gt(atomic_load(&s.n), before);
    cr_assert(strstr(sink_text(&s), "alive") != NULL, "no recovery: %s", sink_text(&s));
    finish();
}
