/* proxy/api_changes.c - the task API's changes on the API thread: create, update and delete of
 * tasks and templates, the store's definitions loaded at start, and load directories.
 *
 * Changes wait in a FIFO and run one at a time: the definition is prepared (validated and
 * compiled) against the registry (engine/defs.h) as it is then, handed to the store (when there
 * is one), and committed when the store's answer comes back through the loop's multithread
 * queue; only then is the HTTP request answered. The registry and the store therefore see
 * changes in the same order. A client that went away meanwhile does not stop the change: the
 * store has it, so the registry takes it too. The HTTP side is api_tasks.c. */
#include "proxy/api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

enum op_kind {
    OP_TASK_PUT = API_TASK_PUT,
    OP_TASK_DELETE = API_TASK_DELETE,
    OP_TMPL_PUT = API_TMPL_PUT,
    OP_TMPL_DELETE = API_TMPL_DELETE,
    OP_LOAD_ALL,
    OP_LOAD_DIR,
    OP_STORE_ONLY
};

struct guard {
    api_op_t *op; /* NULL once answered */
};

struct api_op {
    h2o_multithread_message_t msg; /* first: the receiver gets it back */
    api_op_t *next;
    enum op_kind kind;
    bool started;             /* handed to the store: the next message about it is the answer */
    proxy_api_t *api;
    h2o_req_t *req;           /* NULL when the client left or no client (load) */
    struct guard *guard;
    bool create;              /* POST (else PATCH) */
    char id[256];             /* the resource in the path (PATCH, DELETE) */
    json_t *body;
    /* prepared */
    eng_tdef_t *tdef;
    eng_tmpl_t *tmpl;
    eng_tdef_t **tasks;
    uint32_t n_tasks;
    eng_load_t *load;
    /* the store's answer */
    int rc;
    char err[400];
    int64_t created, modified, last_enabled;
    eng_tdef_t **l_tasks;
    uint32_t l_n_tasks;
    eng_tmpl_t **l_tmpls;
    uint32_t l_n_tmpls;
};

static void run_next(proxy_api_t *api);
static void fail_op(api_op_t *op, int status, const char *msg);

static void send_script_error(h2o_req_t *req, const char *msg, uint32_t line, uint32_t col)
{
    json_t *o = json_pack("{s:s}", "error", msg);
    if (line != 0) {
        json_object_set_new(o, "line", json_integer(line));
        json_object_set_new(o, "char", json_integer(col));
    }
    api_send_json(req, 400, o);
}

/* ---- the op queue ---- */

static void guard_dispose(void *p)
{
    struct guard *g = p;
    if (g->op != NULL)
        g->op->req = NULL;
}

static api_op_t *op_new(proxy_api_t *api, h2o_req_t *req, enum op_kind kind)
{
    api_op_t *op = calloc(1, sizeof(*op));
    op->api = api;
    op->kind = kind;
    op->req = req;
    if (req != NULL) {
        op->guard = h2o_mem_alloc_shared(&req->pool, sizeof(*op->guard), guard_dispose);
        op->guard->op = op;
    }
    return op;
}

static void op_free(api_op_t *op)
{
    if (op->req != NULL && op->guard != NULL)
        op->guard->op = NULL;
    json_decref(op->body);
    eng_tdef_free(op->tdef);
    eng_tmpl_free(op->tmpl);
    for (uint32_t i = 0; i < op->n_tasks; i++)
        eng_tdef_free(op->tasks[i]);
    free(op->tasks);
    for (uint32_t i = 0; i < op->l_n_tasks; i++)
        eng_tdef_free(op->l_tasks[i]);
    free(op->l_tasks);
    for (uint32_t i = 0; i < op->l_n_tmpls; i++)
        eng_tmpl_free(op->l_tmpls[i]);
    free(op->l_tmpls);
    eng_load_free(op->load);
    free(op);
}

/* The op is answered (or its client left): detach it from the request. */
static h2o_req_t *op_req(api_op_t *op)
{
    h2o_req_t *req = op->req;
    if (req != NULL && op->guard != NULL)
        op->guard->op = NULL;
    op->req = NULL;
    return req;
}

enum { MAX_WAITING = 1024 }; /* changes waiting behind the one the store works on */

static void enqueue(proxy_api_t *api, api_op_t *op)
{
    if (api->n_waiting >= MAX_WAITING && op->req != NULL) {
        fail_op(op, 503, "too many task API changes waiting for the store: try again");
        op_free(op);
        return;
    }
    api->n_waiting++;
    if (api->tail != NULL)
        api->tail->next = op;
    else
        api->head = op;
    api->tail = op;
    if (api->busy == NULL)
        run_next(api);
}

/* store thread: copy the answer into the op and post it to the API loop */
static void on_store_done(void *arg, eng_store_result_t *res)
{
    api_op_t *op = arg;
    op->rc = res->rc;
    snprintf(op->err, sizeof op->err, "%s", res->rc != 0 && res->err ? res->err : "");
    op->created = res->created;
    op->modified = res->modified;
    op->last_enabled = res->last_enabled;
    op->l_tasks = res->tasks;
    op->l_n_tasks = res->n_tasks;
    op->l_tmpls = res->templates;
    op->l_n_tmpls = res->n_templates;
    res->tasks = NULL;
    res->templates = NULL;
    h2o_multithread_send_message(&op->api->receiver, &op->msg);
}

static int store_status(int rc) { return rc == FA_EAGAIN ? 503 : rc == FA_ENOENT ? 404 : rc == FA_EEXIST ? 400 : 500; }

static void fail_op(api_op_t *op, int status, const char *msg)
{
    h2o_req_t *req = op_req(op);
    if (req != NULL)
        api_send_error(req, status, msg);
    else
        FA_LOG(FA_WARN, "task API: %s", msg);
}

/* ---- tasks: from JSON to a definition ---- */

static int body_str(json_t *body, const char *key, const char **out, char *err, size_t errlen)
{
    json_t *v = json_object_get(body, key);
    *out = NULL;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_string(v)) {
        snprintf(err, errlen, "invalid field %s: must be a string", key);
        return -1;
    }
    *out = json_string_value(v);
    return 0;
}

static int body_dbrps(json_t *body, eng_dbrp_t *dbrps, int32_t *n, char *err, size_t errlen)
{
    json_t *a = json_object_get(body, "dbrps");
    *n = -1;
    if (a == NULL || json_is_null(a))
        return 0;
    if (!json_is_array(a) || json_array_size(a) > 64) {
        snprintf(err, errlen, "invalid field dbrps: must be a list of at most 64 {\"db\", \"rp\"} objects");
        return -1;
    }
    size_t i;
    json_t *it;
    json_array_foreach(a, i, it)
    {
        json_t *db = json_object_get(it, "db"), *rp = json_object_get(it, "rp");
        if (!json_is_string(db) || !json_is_string(rp) || json_string_length(db) == 0) {
            snprintf(err, errlen, "invalid field dbrps: item %zu must be {\"db\": \"...\", \"rp\": \"...\"}", i);
            return -1;
        }
        dbrps[i] = (eng_dbrp_t){ fa_str(json_string_value(db), json_string_length(db)),
                                 fa_str(json_string_value(rp), json_string_length(rp)) };
    }
    *n = (int32_t)json_array_size(a);
    return 0;
}

static void random_id(char *out, size_t len)
{
    unsigned char r[16];
    if (getrandom(r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r)
        for (size_t i = 0; i < sizeof r; i++)
            r[i] = (unsigned char)rand();
    r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
    r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
    snprintf(out, len, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4],
             r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14], r[15]);
}

/* Prepares op->tdef from the body; answers the request and returns -1 on a bad request. */
static int prepare_task(api_op_t *op)
{
    proxy_api_t *api = op->api;
    char err[600], uuid[40], *vars = NULL;
    uint32_t line = 0, col = 0;
    eng_dbrp_t dbrps[64];
    eng_tdef_in_t in = { .status = -1, .n_dbrps = -1 };
    const char *status = NULL;
    const eng_tdef_t *base = NULL;
    int rc = -1;
    if (body_str(op->body, "id", &in.id, err, sizeof err) != 0 || body_str(op->body, "type", &in.type, err, sizeof err) != 0 ||
        body_str(op->body, "script", &in.script, err, sizeof err) != 0 ||
        body_str(op->body, "template-id", &in.template_id, err, sizeof err) != 0 ||
        body_str(op->body, "status", &status, err, sizeof err) != 0 ||
        body_dbrps(op->body, dbrps, &in.n_dbrps, err, sizeof err) != 0)
        goto Bad;
    in.dbrps = dbrps;
    if (in.id != NULL && *in.id == '\0')
        in.id = NULL;
    if (in.template_id != NULL && *in.template_id == '\0' && op->create)
        in.template_id = NULL;
    if (in.script != NULL && *in.script == '\0' && !op->create)
        in.script = NULL;
    if (in.type != NULL && strcmp(in.type, "stream") != 0 && strcmp(in.type, "batch") != 0) {
        snprintf(err, sizeof err, "unknown task type %s", in.type);
        goto Bad;
    }
    if (status != NULL) {
        if (strcmp(status, "enabled") == 0)
            in.status = 1;
        else if (strcmp(status, "disabled") == 0)
            in.status = 0;
        else {
            snprintf(err, sizeof err, "invalid status \"%s\": use enabled or disabled", status);
            goto Bad;
        }
    }
    json_t *v = json_object_get(op->body, "vars");
    if (v != NULL && !json_is_null(v)) {
        if (!json_is_object(v)) {
            snprintf(err, sizeof err, "invalid field vars: must be an object");
            goto Bad;
        }
        vars = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
        in.vars = vars;
    }
    if (op->create) {
        if (in.id == NULL) {
            random_id(uuid, sizeof uuid);
            in.id = uuid;
        } else if (eng_defs_task(api->defs, in.id) != NULL) {
            snprintf(err, sizeof err, "task %s already exists", in.id);
            goto Bad;
        }
    } else {
        base = eng_defs_task(api->defs, op->id);
        if (base == NULL) {
            fail_op(op, 404, "no task exists");
            goto Exit;
        }
        if (in.id != NULL && strcmp(in.id, op->id) != 0 && eng_defs_task(api->defs, in.id) != NULL) {
            snprintf(err, sizeof err, "task %s already exists", in.id);
            goto Bad;
        }
    }
    if (eng_defs_task_prepare(api->defs, base, &in, proxy_now_ns(), &op->tdef, err, sizeof err, &line, &col) != 0)
        goto Bad;
    rc = 0;
    goto Exit;
Bad: {
    h2o_req_t *req = op_req(op);
    if (req != NULL)
        send_script_error(req, err, line, col);
}
Exit:
    free(vars);
    return rc;
}

static void answer_task(api_op_t *op, const char *id)
{
    h2o_req_t *req = op_req(op);
    eng_tdef_t *t = eng_defs_task(op->api->defs, id);
    if (req != NULL && t != NULL)
        api_send_json(req, 200, api_task_json(op->api, t, NULL));
    else if (req != NULL)
        api_send_error(req, 500, "the task vanished while it was being saved");
}

static void commit_task(api_op_t *op)
{
    proxy_api_t *api = op->api;
    eng_tdef_t *t = op->tdef;
    op->tdef = NULL;
    if (api->store != NULL && op->rc == 0 && op->created != 0) {
        t->created = op->created;
        t->modified = op->modified;
        t->last_enabled = op->last_enabled;
    }
    if (!op->create && strcmp(op->id, t->id) != 0) /* renamed */
        eng_defs_task_remove(api->defs, op->id);
    char id[256];
    snprintf(id, sizeof id, "%s", t->id);
    eng_defs_task_commit(api->defs, t);
    answer_task(op, id);
}

/* ---- templates ---- */

static int prepare_template(api_op_t *op)
{
    proxy_api_t *api = op->api;
    char err[600], uuid[40];
    uint32_t line = 0, col = 0;
    const char *id, *type, *script;
    if (body_str(op->body, "id", &id, err, sizeof err) != 0 || body_str(op->body, "type", &type, err, sizeof err) != 0 ||
        body_str(op->body, "script", &script, err, sizeof err) != 0)
        goto Bad;
    if (id != NULL && *id == '\0')
        id = NULL;
    const eng_tmpl_t *base = NULL;
    if (op->create) {
        if (id == NULL) {
            random_id(uuid, sizeof uuid);
            id = uuid;
        } else if (eng_defs_template(api->defs, id) != NULL) {
            snprintf(err, sizeof err, "template %s already exists", id);
            goto Bad;
        }
    } else {
        base = eng_defs_template(api->defs, op->id);
        if (base == NULL) {
            fail_op(op, 404, "no template exists");
            return -1;
        }
        if (id == NULL)
            id = op->id;
        else if (strcmp(id, op->id) != 0 && eng_defs_template(api->defs, id) != NULL) {
            snprintf(err, sizeof err, "template %s already exists", id);
            goto Bad;
        }
    }
    if (type != NULL && strcmp(type, "stream") != 0 && strcmp(type, "batch") != 0) {
        snprintf(err, sizeof err, "unknown template type %s", type);
        goto Bad;
    }
    if (script != NULL && *script == '\0')
        script = NULL;
    if (eng_defs_template_prepare(api->defs, base, id, type, script, proxy_now_ns(), &op->tmpl, &op->tasks, &op->n_tasks,
                                  err, sizeof err, &line, &col) != 0)
        goto Bad;
    return 0;
Bad: {
    h2o_req_t *req = op_req(op);
    if (req != NULL)
        send_script_error(req, err, line, col);
}
    return -1;
}

static void commit_template(api_op_t *op)
{
    proxy_api_t *api = op->api;
    eng_tmpl_t *t = op->tmpl;
    op->tmpl = NULL;
    if (api->store != NULL && op->rc == 0 && op->created != 0) {
        t->created = op->created;
        t->modified = op->modified;
    }
    if (!op->create && strcmp(op->id, t->id) != 0)
        eng_defs_template_remove(api->defs, op->id);
    char id[256];
    snprintf(id, sizeof id, "%s", t->id);
    eng_defs_template_commit(api->defs, t);
    for (uint32_t i = 0; i < op->n_tasks; i++) {
        eng_defs_task_commit(api->defs, op->tasks[i]);
        op->tasks[i] = NULL;
    }
    op->n_tasks = 0;
    h2o_req_t *req = op_req(op);
    eng_tmpl_t *now = eng_defs_template(api->defs, id);
    if (req != NULL && now != NULL)
        api_send_json(req, 200, api_template_json(api, now, NULL));
}

/* ---- load directory ---- */

static void store_log_done(void *arg, eng_store_result_t *res)
{
    if (res->rc != 0)
        FA_LOG(FA_WARN, "load: storing %s: %s", (const char *)arg, res->err ? res->err : "failed");
    free(arg);
}

static void store_task(proxy_api_t *api, const eng_tdef_t *t)
{
    if (api->store == NULL)
        return;
    char *id = strdup(t->id);
    if (api->store->task_put(api->store->ud, t, ENG_PUT_UPSERT, store_log_done, id) != 0) {
        FA_LOG(FA_WARN, "load: storing task %s: the store is busy", t->id);
        free(id);
    }
}

/* Applies a load directory: templates, then tasks (enabled, marked as from files); tasks loaded
 * from files before and now gone are removed (as Kapacitor's load service does). */
static void apply_load(proxy_api_t *api, const eng_load_t *l)
{
    char err[600];
    uint32_t line, col;
    int64_t now = proxy_now_ns();
    unsigned ok = 0, bad = 0;
    for (uint32_t i = 0; i < l->n_templates; i++) {
        const eng_load_task_t *f = &l->templates[i];
        eng_tmpl_t *t;
        eng_tdef_t **tasks;
        uint32_t n;
        const eng_tmpl_t *base = eng_defs_template(api->defs, f->id);
        if (eng_defs_template_prepare(api->defs, base, f->id, NULL, f->script, now, &t, &tasks, &n, err, sizeof err, &line,
                                      &col) != 0) {
            FA_LOG(FA_ERROR, "load: %s: %s", f->path, err);
            bad++;
            continue;
        }
        if (api->store != NULL) {
            char *id = strdup(f->id);
            if (api->store->template_put(api->store->ud, t, ENG_PUT_UPSERT, tasks, n, store_log_done, id) != 0)
                free(id);
        }
        eng_defs_template_commit(api->defs, t);
        for (uint32_t k = 0; k < n; k++)
            eng_defs_task_commit(api->defs, tasks[k]);
        free(tasks);
        ok++;
    }
    for (uint32_t i = 0; i < l->n_tasks; i++) {
        const eng_load_task_t *f = &l->tasks[i];
        eng_tdef_in_t in = { .id = f->id, .script = f->script, .template_id = f->template_id, .vars = f->vars,
                             .dbrps = f->dbrps, .n_dbrps = f->n_dbrps ? (int32_t)f->n_dbrps : -1, .status = 1,
                             .from_file = true };
        const eng_tdef_t *base = eng_defs_task(api->defs, f->id);
        eng_tdef_t *t;
        /* a file's definition replaces what was there: start from scratch, keep the created time */
        if (eng_defs_task_prepare(api->defs, NULL, &in, now, &t, err, sizeof err, &line, &col) != 0) {
            FA_LOG(FA_ERROR, "load: %s: %s", f->path, err);
            bad++;
            continue;
        }
        if (base != NULL) {
            t->created = base->created;
            if (base->enabled)
                t->last_enabled = base->last_enabled;
            /* a changed file restarts its task */
            t->restart = strcmp(base->formatted ? base->formatted : "", t->formatted) != 0 ||
                         strcmp(base->vars, t->vars) != 0 || strcmp(base->template_id, t->template_id) != 0;
        }
        store_task(api, t);
        eng_defs_task_commit(api->defs, t);
        const eng_tdef_t *now_t = eng_defs_task(api->defs, f->id);
        if (now_t != NULL && now_t->running != NULL)
            FA_LOG(FA_INFO, "load: task %s started from %s", f->id, f->path);
        else if (now_t != NULL && *now_t->error)
            FA_LOG(FA_ERROR, "load: %s: %s", f->path, now_t->error);
        ok++;
    }
    /* file tasks whose file is gone */
    eng_tdef_t *all[1024];
    uint32_t n = eng_defs_tasks(api->defs, "", 0, all, 1024);
    for (uint32_t i = 0; i < n; i++) {
        if (!all[i]->from_file)
            continue;
        bool found = false;
        for (uint32_t k = 0; k < l->n_tasks && !found; k++)
            found = strcmp(l->tasks[k].id, all[i]->id) == 0;
        if (found)
            continue;
        FA_LOG(FA_INFO, "load: task %s: its file is gone, deleted", all[i]->id);
        if (api->store != NULL) {
            char *id = strdup(all[i]->id);
            if (api->store->task_delete(api->store->ud, id, store_log_done, id) != 0)
                free(id);
        }
        eng_defs_task_remove(api->defs, all[i]->id);
    }
    FA_LOG(FA_INFO, "load: %s: %u definitions applied, %u failed", l->dir, ok, bad);
}

/* ---- running ops ---- */

static void retry_load(h2o_timeout_entry_t *e)
{
    proxy_api_t *api = (proxy_api_t *)((char *)e - offsetof(proxy_api_t, retry));
    enqueue(api, op_new(api, NULL, OP_LOAD_ALL));
}

/* An op the store answered: finish it on the loop. */
static void finish(api_op_t *op)
{
    proxy_api_t *api = op->api;
    if (op->kind == OP_LOAD_ALL) {
        if (op->rc != 0) {
            snprintf(api->load_err, sizeof api->load_err, "definitions not loaded from PostgreSQL yet: %.250s", op->err);
            FA_LOG(FA_WARN, "%s; retrying in 1s", api->load_err);
            if (!h2o_timeout_is_linked(&api->retry))
                h2o_timeout_link(api->server->threads[api->server->n_threads].loop, &api->retry_timeout, &api->retry);
            return;
        }
        unsigned started = eng_defs_restore(api->defs, op->l_tmpls, op->l_n_tmpls, op->l_tasks, op->l_n_tasks);
        FA_LOG(FA_INFO, "store: %u templates and %u tasks loaded, %u started", op->l_n_tmpls, op->l_n_tasks, started);
        free(op->l_tmpls);
        free(op->l_tasks);
        op->l_tmpls = NULL;
        op->l_tasks = NULL;
        op->l_n_tmpls = op->l_n_tasks = 0;
        api->loaded = true;
        api->load_err[0] = '\0';
        if (api->pending_load != NULL) {
            apply_load(api, api->pending_load);
            eng_load_free(api->pending_load);
            api->pending_load = NULL;
        }
        return;
    }
    if (op->rc != 0) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", op->err[0] ? op->err : fa_strerror(op->rc));
        fail_op(op, store_status(op->rc), msg);
        return;
    }
    switch (op->kind) {
    case OP_TASK_PUT: commit_task(op); break;
    case OP_TMPL_PUT: commit_template(op); break;
    case OP_TASK_DELETE: {
        eng_defs_task_remove(api->defs, op->id);
        h2o_req_t *req = op_req(op);
        if (req != NULL)
            api_send_no_content(req);
        break;
    }
    case OP_TMPL_DELETE: {
        eng_defs_template_remove(api->defs, op->id);
        h2o_req_t *req = op_req(op);
        if (req != NULL)
            api_send_no_content(req);
        break;
    }
    default: break;
    }
}

/* Starts op: prepares it, then either hands it to the store (returns true: wait) or finishes it. */
static bool start_op(api_op_t *op)
{
    proxy_api_t *api = op->api;
    const eng_defstore_t *st = api->store;
    int rc = 0;
    op->started = true;
    if (op->kind == OP_LOAD_ALL) {
        if (st->load_all(st->ud, on_store_done, op) == 0)
            return true;
        op->rc = FA_EAGAIN;
        snprintf(op->err, sizeof op->err, "the store refused the request");
        finish(op);
        return false;
    }
    if (op->kind == OP_LOAD_DIR) {
        if (!api->loaded) { /* applied once the store's definitions are in */
            FA_LOG(FA_INFO, "load: %s: applied once the store's definitions are loaded", op->load->dir);
            eng_load_free(api->pending_load);
            api->pending_load = op->load;
            op->load = NULL;
            return false;
        }
        apply_load(api, op->load);
        return false;
    }
    if (st != NULL && !api->loaded) {
        fail_op(op, 503, api->load_err[0] ? api->load_err : "definitions not loaded from PostgreSQL yet");
        return false;
    }
    switch (op->kind) {
    case OP_TASK_PUT:
        if (prepare_task(op) != 0)
            return false;
        if (st == NULL)
            break;
        rc = st->task_put(st->ud, op->tdef, op->create ? ENG_PUT_CREATE : ENG_PUT_UPSERT, on_store_done, op);
        if (rc == 0 && !op->create && strcmp(op->id, op->tdef->id) != 0) {
            /* a rename: the old row goes too (a second op, answered by nobody) */
            api_op_t *del = op_new(api, NULL, OP_STORE_ONLY);
            if (st->task_delete(st->ud, op->id, on_store_done, del) != 0)
                op_free(del);
        }
        break;
    case OP_TASK_DELETE:
        if (eng_defs_task(api->defs, op->id) == NULL || st == NULL)
            break;
        rc = st->task_delete(st->ud, op->id, on_store_done, op);
        break;
    case OP_TMPL_PUT:
        if (prepare_template(op) != 0)
            return false;
        if (st == NULL)
            break;
        rc = st->template_put(st->ud, op->tmpl, op->create ? ENG_PUT_CREATE : ENG_PUT_UPSERT, op->tasks, op->n_tasks,
                              on_store_done, op);
        break;
    case OP_TMPL_DELETE:
        if (eng_defs_template(api->defs, op->id) == NULL || st == NULL)
            break;
        rc = st->template_delete(st->ud, op->id, on_store_done, op);
        break;
    default: return false;
    }
    if (st == NULL || rc != 0 || (op->kind == OP_TASK_DELETE && eng_defs_task(api->defs, op->id) == NULL) ||
        (op->kind == OP_TMPL_DELETE && eng_defs_template(api->defs, op->id) == NULL)) {
        if (rc != 0) {
            op->rc = rc;
            snprintf(op->err, sizeof op->err, "the PostgreSQL store is busy (%s): try again", fa_strerror(rc));
        }
        finish(op);
        return false;
    }
    return true;
}

static void run_next(proxy_api_t *api)
{
    while (api->busy == NULL && api->head != NULL) {
        api_op_t *op = api->head;
        api->n_waiting--;
        api->head = op->next;
        if (api->head == NULL)
            api->tail = NULL;
        op->next = NULL;
        if (start_op(op)) {
            api->busy = op;
            return;
        }
        op_free(op);
    }
}

static void on_messages(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    proxy_api_t *api = (proxy_api_t *)((char *)receiver - offsetof(proxy_api_t, receiver));
    while (!h2o_linklist_is_empty(messages)) {
        h2o_multithread_message_t *m = H2O_STRUCT_FROM_MEMBER(h2o_multithread_message_t, link, messages->next);
        h2o_linklist_unlink(&m->link);
        api_op_t *op = (api_op_t *)m;
        if (op->kind == OP_STORE_ONLY) {
            if (op->rc != 0)
                FA_LOG(FA_WARN, "store: %s", op->err);
            op_free(op);
            continue;
        }
        if (!op->started) { /* from main (load requests): queue it behind the others */
            enqueue(api, op);
            continue;
        }
        finish(op);
        if (api->busy == op)
            api->busy = NULL;
        op_free(op);
        run_next(api);
    }
}
void api_queue_change(proxy_api_t *api, h2o_req_t *req, api_change_t what, const char *id, json_t *body)
{
    api_op_t *op = op_new(api, req, (enum op_kind)what);
    op->create = id == NULL;
    op->body = body;
    if (id != NULL)
        snprintf(op->id, sizeof op->id, "%s", id);
    enqueue(api, op);
}

/* ---- set-up (main thread) ---- */

void proxy_server_set_defs(proxy_server_t *s, eng_tm_t *tm, eng_defs_t *defs, const eng_defstore_t *store)
{
    proxy_api_t *api = s->api;
    api->tm = tm;
    api->defs = defs;
    api->store = store;
    api->loaded = store == NULL;
    if (store != NULL)
        h2o_multithread_send_message(&api->receiver, &op_new(api, NULL, OP_LOAD_ALL)->msg);
}

void proxy_server_load(proxy_server_t *s, eng_load_t *l)
{
    api_op_t *op = op_new(s->api, NULL, OP_LOAD_DIR);
    op->load = l;
    h2o_multithread_send_message(&s->api->receiver, &op->msg);
}

int proxy_api_init(proxy_server_t *s, h2o_loop_t *loop)
{
    proxy_api_t *api = calloc(1, sizeof(*api));
    if (api == NULL)
        return -1;
    api->server = s;
    api->loaded = true;
    api->queue = h2o_multithread_create_queue(loop);
    h2o_multithread_register_receiver(api->queue, &api->receiver, on_messages);
    h2o_timeout_init(loop, &api->retry_timeout, 1000);
    api->retry.cb = retry_load;
    s->api = api;
    return 0;
}

void proxy_api_free(proxy_server_t *s)
{
    proxy_api_t *api = s->api;
    if (api == NULL)
        return;
    /* the API thread is joined and the store is gone: answers still queued are dropped (their
     * clients are gone with the loop), and so are changes not yet started */
    bool busy_seen = false;
    while (!h2o_linklist_is_empty(&api->receiver._messages)) {
        h2o_multithread_message_t *m =
            H2O_STRUCT_FROM_MEMBER(h2o_multithread_message_t, link, api->receiver._messages.next);
        h2o_linklist_unlink(&m->link);
        api_op_t *op = (api_op_t *)m;
        busy_seen |= op == api->busy;
        op->req = NULL;
        op_free(op);
    }
    h2o_multithread_unregister_receiver(api->queue, &api->receiver); /* wants no message left */
    if (api->busy != NULL && !busy_seen)
        FA_LOG(FA_WARN, "task API: a change was still with the store at shutdown");
    while (api->head != NULL) {
        api_op_t *op = api->head;
        api->head = op->next;
        op->req = NULL;
        op_free(op);
    }
    eng_load_free(api->pending_load);
    free(api);
    s->api = NULL;
}
