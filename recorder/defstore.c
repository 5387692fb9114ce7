/* recorder/defstore.c - eng_defstore_t over rec_store_t: each op becomes one store request whose
 * completion (on the store thread) is turned into an eng_store_result_t. load_all chains two
 * requests: the templates, then the tasks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "recorder/defstore.h"

struct call {
    rec_store_t *store;
    eng_store_done_fn done;
    void *arg;
    eng_tmpl_t **tmpls; /* load_all: the templates read first */
    uint32_t n_tmpls;
};

static fa_str_t cstr(const char *s) { return fa_str_c(s ? s : ""); }

static void to_rec_task(rec_req_t *req, rec_task_t *dst, const eng_tdef_t *t)
{
    rec_task_t src = { .id = cstr(t->id),
                       .type = fa_str_c(t->type == TICK_EDGE_BATCH ? "batch" : "stream"),
                       .script = cstr(t->script),
                       .vars = fa_str_c(t->vars && *t->vars ? t->vars : "{}"),
                       .template_id = cstr(t->template_id),
                       .status = t->enabled ? REC_TASK_ENABLED : REC_TASK_DISABLED,
                       .loaded_from_file = t->from_file };
    rec_dbrp_t dbrps[64];
    src.n_dbrps = t->n_dbrps > 64 ? 64 : t->n_dbrps;
    for (uint32_t i = 0; i < src.n_dbrps; i++)
        dbrps[i] = (rec_dbrp_t){ t->dbrps[i].db, t->dbrps[i].rp };
    src.dbrps = dbrps;
    rec_req_copy_task(req, dst, &src);
}

static char *dup_str(fa_str_t s) { return strndup(s.ptr ? s.ptr : "", s.len); }

static void finish(struct call *c, rec_req_t *req, eng_store_result_t *res)
{
    c->done(c->arg, res);
    free(c);
    rec_req_free(req);
}

static void on_done(void *ud, rec_req_t *req)
{
    struct call *c = ud;
    eng_store_result_t res = { .rc = req->rc, .err = req->err };
    if (req->rc == FA_OK) {
        if (req->op == REC_OP_TASK_PUT || req->op == REC_OP_TASK_SET_STATUS) {
            res.created = req->out.task.created;
            res.modified = req->out.task.modified;
            res.last_enabled = req->out.task.last_enabled;
        } else if (req->op == REC_OP_TEMPLATE_PUT) {
            res.created = req->out.template.created;
            res.modified = req->out.template.modified;
        }
    }
    finish(c, req, &res);
}

static int submit(struct call *c, rec_req_t *req)
{
    int rc = rec_store_submit_mpsc(c->store, req);
    if (rc != 0) {
        rec_req_free(req);
        free(c);
    }
    return rc;
}

static struct call *call_new(void *ud, eng_store_done_fn done, void *arg)
{
    struct call *c = calloc(1, sizeof(*c));
    c->store = ud;
    c->done = done;
    c->arg = arg;
    return c;
}

static int task_put(void *ud, const eng_tdef_t *t, eng_put_mode_t mode, eng_store_done_fn done, void *arg)
{
    struct call *c = call_new(ud, done, arg);
    rec_req_t *req = rec_req_new(REC_OP_TASK_PUT, on_done, c);
    to_rec_task(req, &req->in.task_put.task, t);
    req->in.task_put.mode = mode == ENG_PUT_CREATE ? REC_PUT_CREATE : mode == ENG_PUT_UPDATE ? REC_PUT_UPDATE : REC_PUT_UPSERT;
    return submit(c, req);
}

static int by_id(void *ud, rec_op_t op, const char *id, eng_store_done_fn done, void *arg)
{
    struct call *c = call_new(ud, done, arg);
    rec_req_t *req = rec_req_new(op, on_done, c);
    req->in.id = rec_req_strdup(req, fa_str_c(id));
    return submit(c, req);
}

static int task_delete(void *ud, const char *id, eng_store_done_fn done, void *arg)
{
    return by_id(ud, REC_OP_TASK_DELETE, id, done, arg);
}

static int template_delete(void *ud, const char *id, eng_store_done_fn done, void *arg)
{
    return by_id(ud, REC_OP_TEMPLATE_DELETE, id, done, arg);
}

static int task_set_status(void *ud, const char *id, bool enabled, eng_store_done_fn done, void *arg)
{
    struct call *c = call_new(ud, done, arg);
    rec_req_t *req = rec_req_new(REC_OP_TASK_SET_STATUS, on_done, c);
    req->in.set_status.id = rec_req_strdup(req, fa_str_c(id));
    req->in.set_status.status = enabled ? REC_TASK_ENABLED : REC_TASK_DISABLED;
    return submit(c, req);
}

static int template_put(void *ud, const eng_tmpl_t *t, eng_put_mode_t mode, eng_tdef_t *const *tasks, uint32_t n_tasks,
                        eng_store_done_fn done, void *arg)
{
    struct call *c = call_new(ud, done, arg);
    rec_req_t *req = rec_req_new(REC_OP_TEMPLATE_PUT, on_done, c);
    rec_template_t src = { .id = cstr(t->id), .type = fa_str_c(t->type == TICK_EDGE_BATCH ? "batch" : "stream"),
                           .script = cstr(t->script), .vars = fa_str_c("{}") };
    rec_req_copy_template(req, &req->in.template_put.tmpl, &src);
    req->in.template_put.mode = mode == ENG_PUT_CREATE ? REC_PUT_CREATE : mode == ENG_PUT_UPDATE ? REC_PUT_UPDATE : REC_PUT_UPSERT;
    req->in.template_put.tasks = n_tasks ? FA_NEW(&req->arena, rec_task_t, n_tasks) : NULL;
    for (uint32_t i = 0; i < n_tasks; i++)
        to_rec_task(req, &req->in.template_put.tasks[i], tasks[i]);
    req->in.template_put.n_tasks = n_tasks;
    return submit(c, req);
}

/* load_all, second step: the tasks */
static void on_tasks(void *ud, rec_req_t *req)
{
    struct call *c = ud;
    eng_store_result_t res = { .rc = req->rc, .err = req->err };
    if (req->rc == FA_OK) {
        uint32_t n = req->out.tasks.n;
        res.tasks = calloc(n ? n : 1, sizeof(*res.tasks));
        for (uint32_t i = 0; i < n; i++) {
            const rec_task_t *r = &req->out.tasks.items[i];
            eng_dbrp_t dbrps[64];
            uint32_t nd = r->n_dbrps > 64 ? 64 : r->n_dbrps;
            for (uint32_t k = 0; k < nd; k++)
                dbrps[k] = (eng_dbrp_t){ r->dbrps[k].db, r->dbrps[k].rp };
            char *id = dup_str(r->id), *type = dup_str(r->type), *script = dup_str(r->script), *vars = dup_str(r->vars),
                 *tid = dup_str(r->template_id);
            res.tasks[res.n_tasks++] = eng_tdef_from_store(id, type, dbrps, nd, script, vars, tid,
                                                           r->status == REC_TASK_ENABLED, r->loaded_from_file, r->created,
                                                           r->modified, r->last_enabled);
            free(id), free(type), free(script), free(vars), free(tid);
        }
        res.templates = c->tmpls;
        res.n_templates = c->n_tmpls;
        c->tmpls = NULL;
    }
    for (uint32_t i = 0; c->tmpls != NULL && i < c->n_tmpls; i++)
        eng_tmpl_free(c->tmpls[i]);
    free(c->tmpls);
    eng_tdef_t **tasks = res.tasks;
    eng_tmpl_t **tmpls = res.templates;
    uint32_t nt = res.n_tasks, nm = res.n_templates;
    c->done(c->arg, &res);
    /* what the callback did not take */
    if (res.tasks != NULL && res.tasks == tasks) {
        for (uint32_t i = 0; i < nt; i++)
            eng_tdef_free(tasks[i]);
        free(tasks);
    }
    if (res.templates != NULL && res.templates == tmpls) {
        for (uint32_t i = 0; i < nm; i++)
            eng_tmpl_free(tmpls[i]);
        free(tmpls);
    }
    free(c);
    rec_req_free(req);
}

/* load_all, first step: the templates */
static void on_templates(void *ud, rec_req_t *req)
{
    struct call *c = ud;
    if (req->rc != FA_OK) {
        eng_store_result_t res = { .rc = req->rc, .err = req->err };
        finish(c, req, &res);
        return;
    }
    uint32_t n = req->out.templates.n;
    c->tmpls = calloc(n ? n : 1, sizeof(*c->tmpls));
    for (uint32_t i = 0; i < n; i++) {
        const rec_template_t *r = &req->out.templates.items[i];
        char *id = dup_str(r->id), *type = dup_str(r->type), *script = dup_str(r->script);
        eng_tmpl_t *t = eng_tmpl_from_store(id, type, script, r->created, r->modified);
        if (t != NULL)
            c->tmpls[c->n_tmpls++] = t;
        free(id), free(type), free(script);
    }
    rec_req_free(req);
    rec_req_t *next = rec_req_new(REC_OP_TASK_LIST, on_tasks, c);
    next->in.list.limit = 1000000;
    int rc = rec_store_submit_mpsc(c->store, next);
    if (rc != 0) {
        next->rc = rc;
        snprintf(next->err, sizeof next->err, "the store's queue is full");
        on_tasks(c, next);
    }
}

static int load_all(void *ud, eng_store_done_fn done, void *arg)
{
    struct call *c = call_new(ud, done, arg);
    rec_req_t *req = rec_req_new(REC_OP_TEMPLATE_LIST, on_templates, c);
    req->in.list.limit = 1000000;
    return submit(c, req);
}

void rec_defstore_init(eng_defstore_t *ds, rec_store_t *store)
{
    *ds = (eng_defstore_t){ .ud = store,
                            .task_put = task_put,
                            .task_delete = task_delete,
                            .task_set_status = task_set_status,
                            .template_put = template_put,
                            .template_delete = template_delete,
                            .load_all = load_all };
}
