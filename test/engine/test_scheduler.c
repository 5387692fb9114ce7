/* test/engine/test_scheduler.c - the batch scheduler with a real task master and a fake query
 * client: runs on time, answers reach the task on its engine thread, a hanging query times out as
 * an error while the schedule goes on and overlapping runs are skipped, a task removed while its
 * query runs. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

#include "engine/batchquery.h"
#include "engine/ingest.h"
#include "engine/scheduler.h"
#include "engine/taskmaster.h"

struct fake_req {
    eng_qdone_fn done;
    void *ctx;
    int64_t deadline;
    bool used;
};

struct fake {
    eng_qclient_t c;
    bool hang;                 /* never answer: every query times out */
    struct fake_req reqs[16];
    atomic_int starts, answered, timed_out;
    atomic_bool woken;
    char last_q[512];
    pthread_mutex_t mu;        /* last_q */
};

static int64_t mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int fake_start(void *ud, const char *q, fa_str_t cluster, int64_t timeout_ns, eng_qdone_fn done, void *ctx, char *err,
                      size_t errlen)
{
    struct fake *f = ud;
    for (int i = 0; i < 16; i++)
        if (!f->reqs[i].used) {
            f->reqs[i] = (struct fake_req){ done, ctx, f->hang ? mono() + timeout_ns : 0, true };
            atomic_fetch_add(&f->starts, 1);
            pthread_mutex_lock(&f->mu);
            snprintf(f->last_q, sizeof f->last_q, "%s", q);
            pthread_mutex_unlock(&f->mu);
            return 0;
        }
    snprintf(err, errlen, "fake: too many queries");
    return -1;
}

static const char answer[] = "{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"m\",\"tags\":{\"host\":\"a\"},"
                             "\"columns\":[\"time\",\"v\"],\"values\":[[1641081600000000000,2.5]]}]}]}";

static int complete_due(struct fake *f)
{
    int n = 0;
    for (int i = 0; i < 16; i++) {
        struct fake_req *r = &f->reqs[i];
        if (!r->used)
            continue;
        if (!f->hang) {
            r->used = false;
            atomic_fetch_add(&f->answered, 1);
            r->done(r->ctx, fa_str_c(answer), NULL);
            n++;
        } else if (mono() >= r->deadline) {
            r->used = false;
            atomic_fetch_add(&f->timed_out, 1);
            r->done(r->ctx, FA_STR_NULL, "no answer within 250 ms (timeout)");
            n++;
        }
    }
    return n;
}

static void fake_poll(void *ud, int64_t timeout_ns)
{
    struct fake *f = ud;
    int64_t end = mono() + timeout_ns;
    while (complete_due(f) == 0 && mono() < end && !atomic_exchange(&f->woken, false)) {
        struct timespec ts = { 0, 1000000 };
        nanosleep(&ts, NULL);
    }
}

static void fake_wakeup(void *ud) { atomic_store(&((struct fake *)ud)->woken, true); }
static void fake_free(void *ud) { (void)ud; }

/* the env: log() lines counted */
static atomic_int log_lines;
static char last_log[512];
static void on_output(void *ud, eng_node_t *n, fa_str_t kind, fa_str_t text)
{
    if (fa_str_eq_c(kind, "log")) {
        snprintf(last_log, sizeof last_log, "%.*s", (int)text.len, text.ptr);
        atomic_fetch_add(&log_lines, 1);
    }
}
static const eng_env_t env = { .output = on_output };

static eng_ingest_t *g;
static eng_tm_t *tm;
static eng_sched_t *sched;
static struct fake fake;

static eng_task_t *start_all(const char *script, bool hang, int64_t timeout_ns)
{
    char err[256];
    memset(&fake, 0, sizeof fake);
    pthread_mutex_init(&fake.mu, NULL);
    fake.hang = hang;
    fake.c = (eng_qclient_t){ .ud = &fake, .start = fake_start, .poll = fake_poll, .wakeup = fake_wakeup, .free = fake_free };
    atomic_store(&log_lines, 0);
    g = eng_ingest_new(1, 64);
    eng_tm_opts_t o = { .threads = 1, .queue_size = 16, .backlog = 4 };
    tm = eng_tm_new(g, &o, err, sizeof err);
    cr_assert_not_null(tm, "%s", err);
    cr_assert_eq(eng_ingest_start(g), 0);
    cr_assert_eq(eng_tm_start(tm), 0);
    eng_task_t *t;
    tick_err_t terr;
    cr_assert_eq(eng_task_new("b", script, strlen(script), NULL, 0, &env, &t, &terr), 0, "%s", terr.msg);
    cr_assert_eq(eng_tm_add(tm, t, NULL, err, sizeof err), 0, "%s", err);
    eng_sched_opts_t so = { .timeout_ns = timeout_ns };
    sched = eng_sched_new(tm, &fake.c, &so, err, sizeof err);
    cr_assert_not_null(sched, "%s", err);
    cr_assert_eq(eng_sched_start(sched), 0);
    return t;
}

static void stop_all(void)
{
    eng_sched_free(sched);
    eng_ingest_stop(g);
    eng_tm_free(tm);
    eng_ingest_free(g);
}

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
    nanosleep(&ts, NULL);
}

Test(scheduler, runs_on_time_and_feeds_the_task, .timeout = 10)
{
    eng_task_t *t = start_all("dbrp \"db\".\"rp\"\n"
                              "batch|query('SELECT v FROM \"db\".\"rp\".m GROUP BY x').period(1s).every(100ms).groupBy('host')|log()\n",
                              false, 1000000000);
    sleep_ms(560);
    eng_sched_stats_t st;
    eng_sched_stats(sched, &st);
    int starts = atomic_load(&fake.starts);
    cr_assert(starts >= 4 && starts <= 6, "%d queries in 560 ms at every(100ms)", starts);
    cr_assert_eq(st.nodes, 1);
    cr_assert_eq(st.failed, 0);
    sleep_ms(20); /* the last answer reaches the task */
    eng_node_t *q = &t->nodes[1];
    uint64_t batches = atomic_load(&q->stats.own[ENG_QUERY_BATCHES]);
    cr_assert(batches >= (uint64_t)starts - 1 && batches <= (uint64_t)starts, "%lu batches for %d queries", (unsigned long)batches, starts);
    cr_assert(atomic_load(&log_lines) >= starts - 1);
    cr_assert_str_eq(last_log, "lvl=info msg=point prefix=\"\" name=m group=\"host=a\" dimension_0=host tag_host=a field_v=2.5 "
                               "time=2022-01-02T00:00:00Z",
                     "log line: %s", last_log);
    pthread_mutex_lock(&fake.mu);
    static const char prefix[] = "SELECT v FROM \"db\".\"rp\".m WHERE time >= '";
    cr_assert(strncmp(fake.last_q, prefix, sizeof prefix - 1) == 0, "%s", fake.last_q);
    cr_assert(strstr(fake.last_q, "' GROUP BY \"host\"") != NULL, "%s", fake.last_q);
    pthread_mutex_unlock(&fake.mu);
    stop_all();
}

Test(scheduler, hanging_query_times_out_and_overlapping_runs_are_skipped, .timeout = 10)
{
    eng_task_t *t = start_all("dbrp \"db\".\"rp\"\nbatch|query('SELECT v FROM \"db\".\"rp\".m').period(1s).every(100ms)|log()\n",
                              true, 250000000);
    sleep_ms(1080);
    eng_sched_stats_t st;
    eng_sched_stats(sched, &st);
    /* ticks at 100, 200, ... 1000 ms: a query starts at 100 (times out at 350), 200 and 300 are
     * skipped, 400 starts (650), 500 and 600 skipped, 700 starts (950), 800 and 900 skipped, 1000 starts */
    cr_assert(st.runs >= 3 && st.runs <= 5, "%lu runs", (unsigned long)st.runs);
    cr_assert(st.skipped >= 4 && st.skipped <= 8, "%lu skipped", (unsigned long)st.skipped);
    cr_assert(st.failed >= 2, "%lu failed", (unsigned long)st.failed);
    sleep_ms(20);
    eng_node_t *q = &t->nodes[1];
    cr_assert_eq(atomic_load(&q->stats.own[ENG_QUERY_ERRORS]), st.failed);
    cr_assert_eq(atomic_load(&q->stats.errors), st.failed);
    /* skips are told to the task with the next finished query */
    cr_assert(atomic_load(&q->stats.own[ENG_QUERY_SKIPPED]) >= 2);
    cr_assert_eq(atomic_load(&log_lines), 0);
    stop_all();
}

Test(scheduler, task_removed_while_its_query_runs, .timeout = 10)
{
    start_all("dbrp \"db\".\"rp\"\nbatch|query('SELECT v FROM \"db\".\"rp\".m').period(1s).every(50ms)|log()\n", true,
              200000000);
    sleep_ms(80);
    cr_assert_eq(atomic_load(&fake.starts), 1);
    cr_assert_eq(eng_tm_remove(tm, "b"), 0);
    eng_sched_stats_t st;
    eng_sched_stats(sched, &st);
    cr_assert_eq(st.nodes, 0);
    sleep_ms(300); /* the hung query times out for a task that is gone */
    eng_sched_stats(sched, &st);
    cr_assert_eq(atomic_load(&fake.starts), 1, "no run after the task went away");
    cr_assert_eq(atomic_load(&fake.timed_out), 1);
    stop_all();
}
