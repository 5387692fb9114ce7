/* engine/task.c - builds a task's DAG from its checked pipeline and pushes points through it. */
#include "engine/task.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void set_err(tick_err_t *err, int code, tick_pos_t pos, const char *fmt, ...)
{
    va_list ap;
    memset(err, 0, sizeof(*err));
    err->code = code;
    err->pos = pos;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
}

static int build_nodes(eng_task_t *t, tick_err_t *err)
{
    tick_pipeline_t *pipe = t->pipe;
    t->n_nodes = pipe->n;
    t->nodes = FA_NEW(&t->arena, eng_node_t, pipe->n);
    memset(t->nodes, 0, sizeof(eng_node_t) * pipe->n);
    for (uint32_t i = 0; i < pipe->n; i++) {
        const tick_pnode_t *pn = pipe->nodes[i];
        eng_node_t *n = &t->nodes[i];
        n->spec = pn;
        n->task = t;
        n->id = pn->id;
        tick_pnode_name(pn, n->name, sizeof n->name);
        n->ops = eng_node_ops_find(pn->type);
        if (n->ops == NULL) {
            set_err(err, TICK_EUNDEF, pn->pos, "node %s is not supported by farad yet", pn->type);
            return -1;
        }
        n->parents = pn->nparents ? FA_NEW(&t->arena, eng_node_t *, pn->nparents) : NULL;
        n->children = pn->nchildren ? FA_NEW(&t->arena, eng_node_t *, pn->nchildren) : NULL;
        n->n_parents = pn->nparents;
        n->n_children = pn->nchildren;
        for (uint32_t k = 0; k < pn->nparents; k++)
            n->parents[k] = &t->nodes[pn->parents[k]->id];
        for (uint32_t k = 0; k < pn->nchildren; k++)
            n->children[k] = &t->nodes[pn->children[k]->id];
        if (n->ops->state_size != 0) {
            n->state = fa_arena_alloc(&t->arena, n->ops->state_size, _Alignof(max_align_t));
            memset(n->state, 0, n->ops->state_size);
        }
    }
    t->deferred = FA_NEW(&t->arena, eng_node_t *, pipe->n ? pipe->n : 1);
    /* init in creation order: a node may look at its parents' state */
    for (uint32_t i = 0; i < t->n_nodes; i++) {
        eng_node_t *n = &t->nodes[i];
        if (n->ops->init != NULL && n->ops->init(n, err) != 0)
            return -1;
    }
    return 0;
}

int eng_task_new(const char *id, const char *script, size_t len, const eng_dbrp_t *dbrps, uint32_t n_dbrps,
                 const eng_env_t *env, eng_task_t **out, tick_err_t *err)
{
    eng_task_t *t = calloc(1, sizeof(*t));
    if (t == NULL) {
        set_err(err, TICK_ELIMIT, (tick_pos_t){ 0 }, "out of memory");
        return -1;
    }
    snprintf(t->id, sizeof t->id, "%s", id);
    fa_arena_init(&t->arena, 16384, 0);
    fa_arena_init(&t->scratch, 16384, 64 << 20);
    t->env = env;
    t->script = fa_arena_strndup(&t->arena, script, len);
    if (tick_parse(t->script, len, &t->arena, &t->ast, err) != 0 || tick_check(t->ast, 0, &t->arena, &t->pipe, err) != 0)
        goto Error;
    if (n_dbrps != 0 && t->pipe->ndbrp != 0) {
        set_err(err, TICK_ETYPE, (tick_pos_t){ 0 }, "cannot specify dbrp in both implicitly and explicitly");
        goto Error;
    }
    if (n_dbrps == 0) {
        n_dbrps = t->pipe->ndbrp;
        t->dbrps = FA_NEW(&t->arena, eng_dbrp_t, n_dbrps ? n_dbrps : 1);
        for (uint32_t i = 0; i < n_dbrps; i++)
            t->dbrps[i] = (eng_dbrp_t){ t->pipe->dbrp_db[i], t->pipe->dbrp_rp[i] };
    } else {
        t->dbrps = FA_NEW(&t->arena, eng_dbrp_t, n_dbrps);
        for (uint32_t i = 0; i < n_dbrps; i++)
            t->dbrps[i] = (eng_dbrp_t){ fa_str(fa_arena_strndup(&t->arena, dbrps[i].db.ptr, dbrps[i].db.len), dbrps[i].db.len),
                                        fa_str(fa_arena_strndup(&t->arena, dbrps[i].rp.ptr, dbrps[i].rp.len), dbrps[i].rp.len) };
    }
    t->n_dbrps = n_dbrps;
    if (build_nodes(t, err) != 0)
        goto Error;
    for (uint32_t i = 0; i < t->n_nodes; i++) {
        int64_t w = t->nodes[i].ops->wall_tick != NULL ? t->nodes[i].ops->wall_tick(&t->nodes[i]) : 0;
        if (w > 0 && (t->wall_tick_ns == 0 || w < t->wall_tick_ns))
            t->wall_tick_ns = w;
    }
    *out = t;
    return 0;
Error:
    eng_task_free(t);
    return -1;
}

void eng_task_free(eng_task_t *t)
{
    if (t == NULL)
        return;
    for (uint32_t i = 0; i < t->n_nodes; i++)
        if (t->nodes[i].ops != NULL && t->nodes[i].ops->deinit != NULL)
            t->nodes[i].ops->deinit(&t->nodes[i]);
    fa_arena_deinit(&t->scratch);
    fa_arena_deinit(&t->arena);
    free(t);
}

bool eng_task_wants(const eng_task_t *t, fa_str_t db, fa_str_t rp)
{
    for (uint32_t i = 0; i < t->n_dbrps; i++)
        if (fa_str_eq(t->dbrps[i].db, db) && fa_str_eq(t->dbrps[i].rp, rp))
            return true;
    return false;
}

/* Node counters have one writer, the task's thread (a task runs on one thread at a time), and
 * readers elsewhere: a relaxed load and store, no locked add. */
static inline uint64_t bump(atomic_uint_fast64_t *c)
{
    uint64_t v = atomic_load_explicit(c, memory_order_relaxed);
    atomic_store_explicit(c, v + 1, memory_order_relaxed);
    return v;
}

void eng_task_defer(eng_node_t *n)
{
    eng_task_t *t = n->task;
    for (uint32_t i = 0; i < t->n_deferred; i++)
        if (t->deferred[i] == n)
            return;
    if (t->n_deferred < t->n_nodes)
        t->deferred[t->n_deferred++] = n;
}

static void run_deferred(eng_task_t *t)
{
    /* a node deferred by a deferred call (not one already in the list) runs in this loop too */
    for (uint32_t i = 0; i < t->n_deferred; i++)
        if (t->deferred[i]->ops->deferred != NULL)
            t->deferred[i]->ops->deferred(t->deferred[i]);
    t->n_deferred = 0;
}

void eng_task_point(eng_task_t *t, fa_str_t db, fa_str_t rp, const eng_point_t *p)
{
    if (!eng_task_wants(t, db, rp))
        return;
    bump(&t->points_in);
    if (p->time > t->now)
        t->now = p->time;
    eng_node_t *src = &t->nodes[0];
    eng_pt_t pt = { .p = *p, .group = 0, .dims = NULL };
    bump(&src->stats.collected);
    t->cur_db = db;
    t->cur_rp = rp;
    if (src->ops->point != NULL)
        src->ops->point(src, NULL, &pt);
    if (t->n_deferred != 0)
        run_deferred(t);
    fa_arena_reset(&t->scratch);
}

void eng_task_advance(eng_task_t *t, int64_t now)
{
    if (now > t->now)
        t->now = now;
    for (uint32_t i = 0; i < t->n_nodes; i++)
        if (t->nodes[i].ops->advance != NULL)
            t->nodes[i].ops->advance(&t->nodes[i], now);
    fa_arena_reset(&t->scratch);
}

void eng_task_tick(eng_task_t *t, int64_t now)
{
    for (uint32_t i = 0; i < t->n_nodes; i++)
        if (t->nodes[i].ops->wall_tick != NULL && t->nodes[i].ops->advance != NULL)
            t->nodes[i].ops->advance(&t->nodes[i], now);
    fa_arena_reset(&t->scratch);
}

void eng_emit_point(eng_node_t *n, const eng_pt_t *p)
{
    bump(&n->stats.emitted);
    for (uint32_t i = 0; i < n->n_children; i++) {
        eng_node_t *c = n->children[i];
        if (c->ops->point == NULL)
            continue;
        uint64_t k = bump(&c->stats.collected);
        if (k % ENG_EXEC_SAMPLE != 0) {
            c->ops->point(c, n, p);
            continue;
        }
        uint64_t t0 = mono_ns();
        c->ops->point(c, n, p);
        atomic_fetch_add_explicit(&c->stats.exec_ns, mono_ns() - t0, memory_order_relaxed);
        atomic_fetch_add_explicit(&c->stats.exec_samples, 1, memory_order_relaxed);
    }
}

void eng_emit_rows(eng_node_t *n, const eng_rows_t *b)
{
    bump(&n->stats.emitted);
    for (uint32_t i = 0; i < n->n_children; i++) {
        eng_node_t *c = n->children[i];
        if (c->ops->rows == NULL)
            continue;
        uint64_t k = bump(&c->stats.collected);
        if (k % ENG_EXEC_SAMPLE != 0) {
            c->ops->rows(c, n, b);
            continue;
        }
        uint64_t t0 = mono_ns();
        c->ops->rows(c, n, b);
        atomic_fetch_add_explicit(&c->stats.exec_ns, mono_ns() - t0, memory_order_relaxed);
        atomic_fetch_add_explicit(&c->stats.exec_samples, 1, memory_order_relaxed);
    }
}

void eng_node_error(eng_node_t *n, const char *fmt, ...)
{
    char msg[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    atomic_fetch_add_explicit(&n->stats.errors, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&n->task->errors, 1, memory_order_relaxed);
    FA_LOG(FA_WARN, "task %s node %s: %s", n->task->id, n->name, msg);
}

const tick_call_t *eng_node_prop(const eng_node_t *n, const char *name) { return tick_pnode_prop(n->spec, name); }
