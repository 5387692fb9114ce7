/* recorder/tasks.c - task and template definitions in farad.tasks and farad.templates.
 *
 * Every statement is one PQexecParams with text parameters, run on the store thread. Times come
 * back as integer µs since the epoch (extract(epoch ...) is exact numeric since PostgreSQL 14)
 * and are given to callers in ns. dbrps are stored as Kapacitor writes them,
 * [{"db": "...", "rp": "..."}], and read back with jansson (not a hot path). */
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "recorder/internal.h"

#define TASK_COLS                                                                                                     \
    "id, type, dbrps::text, script, vars::text, coalesce(template_id, ''), status, loaded_from_file,"                 \
    " (extract(epoch from created) * 1000000)::bigint, (extract(epoch from modified) * 1000000)::bigint,"             \
    " coalesce((extract(epoch from last_enabled) * 1000000)::bigint, 0)"
#define TEMPLATE_COLS                                                                                                 \
    "id, type, script, vars::text, (extract(epoch from created) * 1000000)::bigint,"                                  \
    " (extract(epoch from modified) * 1000000)::bigint"

/* ---- helpers ---- */

int rec_req_fail(rec_req_t *req, int rc, const char *fmt, ...)
{
    va_list ap;

    req->rc = rc;
    va_start(ap, fmt);
    vsnprintf(req->err, sizeof req->err, fmt, ap);
    va_end(ap);
    /* libpq messages end with a newline */
    size_t n = strlen(req->err);
    while (n > 0 && (req->err[n - 1] == '\n' || req->err[n - 1] == ' '))
        req->err[--n] = '\0';
    return rc;
}

int rec_json_str(fa_buf_t *out, fa_str_t s)
{
    static const char hex[] = "0123456789abcdef";
    int rc = fa_buf_append(out, "\"", 1);

    for (size_t i = 0; i < s.len && rc == 0; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        if (c == '"' || c == '\\') {
            char e[2] = { '\\', (char)c };
            rc = fa_buf_append(out, e, 2);
        } else if (c == 0) {
            rc = fa_buf_append(out, "\xEF\xBF\xBD", 3);
        } else if (c < 0x20) {
            char e[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
            rc = fa_buf_append(out, e, 6);
        } else {
            rc = fa_buf_append(out, &s.ptr[i], 1); /* PostgreSQL rejects bad UTF-8 with a message */
        }
    }
    return rc != 0 ? rc : fa_buf_append(out, "\"", 1);
}

int rec_glob_to_regex(fa_str_t g, fa_buf_t *out)
{
    int rc = 0;

    fa_buf_clear(out);
    if (g.len == 0) {
        fa_buf_cstr(out);
        return 0;
    }
    rc = fa_buf_append(out, "^", 1);
    for (size_t i = 0; i < g.len && rc == 0; i++) {
        char c = g.ptr[i];
        if (c == '*') {
            rc = fa_buf_append_c(out, ".*");
        } else if (c == '?') {
            rc = fa_buf_append(out, ".", 1);
        } else if (c == '[' && memchr(g.ptr + i + 1, ']', g.len - i - 1) != NULL) {
            size_t j = i + 1;
            rc = fa_buf_append(out, "[", 1);
            if (j < g.len && (g.ptr[j] == '^' || g.ptr[j] == '!')) {
                rc = rc ? rc : fa_buf_append(out, "^", 1);
                j++;
            }
            for (; j < g.len && g.ptr[j] != ']' && rc == 0; j++) {
                if (g.ptr[j] == '\\' && j + 1 < g.len)
                    j++;
                if (g.ptr[j] == '\\' || g.ptr[j] == '[')
                    rc = fa_buf_append(out, "\\", 1);
                rc = rc ? rc : fa_buf_append(out, &g.ptr[j], 1);
            }
            rc = rc ? rc : fa_buf_append(out, "]", 1);
            i = j;
        } else {
            if (c == '\\' && i + 1 < g.len)
                c = g.ptr[++i];
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || (c & 0x80)))
                rc = fa_buf_append(out, "\\", 1);
            rc = rc ? rc : fa_buf_append(out, &c, 1);
        }
    }
    rc = rc ? rc : fa_buf_append(out, "$", 1);
    fa_buf_cstr(out);
    return rc;
}

/* rc for a failed statement: bad input (22xxx data exceptions: bad JSON, bad regex) is
 * FA_EINVAL, a check constraint (23514, e.g. type 'foo') too; the rest FA_EPG. */
static int pg_rc(PGresult *res)
{
    const char *st = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    if (st != NULL && (strncmp(st, "22", 2) == 0 || strcmp(st, "23514") == 0))
        return FA_EINVAL;
    return FA_EPG;
}

fa_str_t rec_dup_col(rec_req_t *req, PGresult *res, int row, int c)
{
    return rec_req_strdup(req, fa_str(PQgetvalue(res, row, c), (size_t)PQgetlength(res, row, c)));
}

static int64_t us_col_ns(PGresult *res, int row, int c)
{
    return strtoll(PQgetvalue(res, row, c), NULL, 10) * 1000;
}

static const char *status_name(rec_task_status_t s)
{
    return s == REC_TASK_ENABLED ? "enabled" : "disabled";
}

/* dbrps JSON text -> array in the request arena; -1 when it is not the expected shape */
static int parse_dbrps(rec_req_t *req, const char *text, rec_task_t *t)
{
    json_error_t jerr;
    json_t *a = json_loads(text, 0, &jerr);
    int rc = -1;

    if (a == NULL || !json_is_array(a))
        goto Exit;
    t->n_dbrps = (uint32_t)json_array_size(a);
    t->dbrps = t->n_dbrps ? FA_NEW(&req->arena, rec_dbrp_t, t->n_dbrps) : NULL;
    for (uint32_t i = 0; i < t->n_dbrps; i++) {
        json_t *o = json_array_get(a, i);
        json_t *db = json_object_get(o, "db"), *rp = json_object_get(o, "rp");
        if (!json_is_string(db) || !json_is_string(rp))
            goto Exit;
        t->dbrps[i].db = rec_req_strdup(req, fa_str(json_string_value(db), json_string_length(db)));
        t->dbrps[i].rp = rec_req_strdup(req, fa_str(json_string_value(rp), json_string_length(rp)));
    }
    rc = 0;
Exit:
    json_decref(a);
    return rc;
}

static int read_task(rec_req_t *req, PGresult *res, int row, rec_task_t *t)
{
    memset(t, 0, sizeof *t);
    t->id = rec_dup_col(req, res, row, 0);
    t->type = rec_dup_col(req, res, row, 1);
    if (parse_dbrps(req, PQgetvalue(res, row, 2), t) != 0)
        return rec_req_fail(req, FA_EPG, "task %s: dbrps in farad.tasks are not [{\"db\",\"rp\"}]: %s",
                            PQgetvalue(res, row, 0), PQgetvalue(res, row, 2));
    t->script = rec_dup_col(req, res, row, 3);
    t->vars = rec_dup_col(req, res, row, 4);
    t->template_id = rec_dup_col(req, res, row, 5);
    t->status = strcmp(PQgetvalue(res, row, 6), "enabled") == 0 ? REC_TASK_ENABLED : REC_TASK_DISABLED;
    t->loaded_from_file = PQgetvalue(res, row, 7)[0] == 't';
    t->created = us_col_ns(res, row, 8);
    t->modified = us_col_ns(res, row, 9);
    t->last_enabled = us_col_ns(res, row, 10);
    return 0;
}

static void read_template(rec_req_t *req, PGresult *res, int row, rec_template_t *t)
{
    t->id = rec_dup_col(req, res, row, 0);
    t->type = rec_dup_col(req, res, row, 1);
    t->script = rec_dup_col(req, res, row, 2);
    t->vars = rec_dup_col(req, res, row, 3);
    t->created = us_col_ns(res, row, 4);
    t->modified = us_col_ns(res, row, 5);
}

/* A slice as a NUL-terminated parameter in the request arena. */
const char *rec_param(rec_req_t *req, fa_str_t s)
{
    return fa_arena_strndup(&req->arena, s.ptr ? s.ptr : "", s.len);
}

static const char *vars_param(rec_req_t *req, fa_str_t vars)
{
    return vars.len ? rec_param(req, vars) : "{}";
}

/* Runs sql; on failure fills req (what: "storing task cpu") and returns NULL. */
PGresult *rec_run(PGconn *pg, rec_req_t *req, const char *sql, int n, const char *const *params, const char *what)
{
    PGresult *res = PQexecParams(pg, sql, n, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);

    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
        return res;
    rec_req_fail(req, pg_rc(res), "%s: %s", what, PQerrorMessage(pg));
    PQclear(res);
    return NULL;
}

void rec_delete_by_id(PGconn *pg, rec_req_t *req, const char *sql, const char *what)
{
    const char *params[1] = { rec_param(req, req->in.id) };
    PGresult *res = rec_run(pg, req, sql, 1, params, what);

    if (res == NULL)
        return;
    req->out.n_rows = strtoull(PQcmdTuples(res), NULL, 10);
    req->rc = FA_OK;
    PQclear(res);
}

static int exec_simple(PGconn *pg, rec_req_t *req, const char *sql)
{
    PGresult *res = rec_run(pg, req, sql, 0, NULL, sql);
    PQclear(res);
    return res ? 0 : -1;
}

/* ---- tasks ---- */

static void task_put_one(PGconn *pg, rec_req_t *req, const rec_task_t *t, rec_put_mode_t mode, rec_task_t *out)
{
    static const char upsert[] =
        "insert into farad.tasks as t (id, type, dbrps, script, vars, template_id, status, loaded_from_file,"
        " last_enabled) values ($1, $2, $3::jsonb, $4, $5::jsonb, nullif($6, ''), $7, $8::boolean,"
        " case when $7 = 'enabled' then now() end)"
        " on conflict (id) do update set type = excluded.type, dbrps = excluded.dbrps, script = excluded.script,"
        " vars = excluded.vars, template_id = excluded.template_id, status = excluded.status,"
        " loaded_from_file = excluded.loaded_from_file, modified = now(),"
        " last_enabled = case when excluded.status = 'enabled' and t.status <> 'enabled' then now()"
        " else t.last_enabled end returning " TASK_COLS;
    static const char create[] =
        "insert into farad.tasks (id, type, dbrps, script, vars, template_id, status, loaded_from_file,"
        " last_enabled) values ($1, $2, $3::jsonb, $4, $5::jsonb, nullif($6, ''), $7, $8::boolean,"
        " case when $7 = 'enabled' then now() end) on conflict (id) do nothing returning " TASK_COLS;
    static const char update[] =
        "update farad.tasks t set type = $2, dbrps = $3::jsonb, script = $4, vars = $5::jsonb,"
        " template_id = nullif($6, ''), status = $7, loaded_from_file = $8::boolean, modified = now(),"
        " last_enabled = case when $7 = 'enabled' and t.status <> 'enabled' then now() else t.last_enabled end"
        " where id = $1 returning " TASK_COLS;
    fa_buf_t dbrps = FA_BUF_INIT;
    char what[200];
    int rc = fa_buf_append(&dbrps, "[", 1);

    for (uint32_t i = 0; i < t->n_dbrps && rc == 0; i++) {
        rc = fa_buf_append_c(&dbrps, i ? ",{\"db\":" : "{\"db\":");
        rc = rc ? rc : rec_json_str(&dbrps, t->dbrps[i].db);
        rc = rc ? rc : fa_buf_append_c(&dbrps, ",\"rp\":");
        rc = rc ? rc : rec_json_str(&dbrps, t->dbrps[i].rp);
        rc = rc ? rc : fa_buf_append(&dbrps, "}", 1);
    }
    rc = rc ? rc : fa_buf_append(&dbrps, "]", 1);
    if (rc != 0) {
        rec_req_fail(req, rc, "storing task %.*s: %s", (int)t->id.len, t->id.ptr, fa_strerror(rc));
        goto Exit;
    }
    const char *params[8] = { rec_param(req, t->id),       rec_param(req, t->type),          fa_buf_cstr(&dbrps),
                              rec_param(req, t->script),   vars_param(req, t->vars),     rec_param(req, t->template_id),
                              status_name(t->status), t->loaded_from_file ? "true" : "false" };
    snprintf(what, sizeof what, "storing task %.*s", (int)(t->id.len > 120 ? 120 : t->id.len), t->id.ptr);
    PGresult *res = rec_run(pg, req, mode == REC_PUT_CREATE ? create : mode == REC_PUT_UPDATE ? update : upsert, 8, params,
                        what);
    if (res == NULL)
        goto Exit;
    if (PQntuples(res) == 0)
        rec_req_fail(req, mode == REC_PUT_CREATE ? FA_EEXIST : FA_ENOENT, "task %s %s", params[0],
                     mode == REC_PUT_CREATE ? "already exists" : "does not exist");
    else if (read_task(req, res, 0, out) == 0)
        req->rc = FA_OK;
    PQclear(res);
Exit:
    fa_buf_deinit(&dbrps);
}

static void task_get(PGconn *pg, rec_req_t *req)
{
    const char *params[1] = { rec_param(req, req->in.id) };
    PGresult *res = rec_run(pg, req, "select " TASK_COLS " from farad.tasks where id = $1", 1, params, "reading a task");

    if (res == NULL)
        return;
    if (PQntuples(res) == 0)
        rec_req_fail(req, FA_ENOENT, "no task %s", params[0]);
    else if (read_task(req, res, 0, &req->out.task) == 0)
        req->rc = FA_OK;
    PQclear(res);
}

static void list_params(rec_req_t *req, fa_buf_t *re, char off[16], char lim[16], const char *params[3])
{
    rec_glob_to_regex(req->in.list.pattern, re);
    snprintf(off, 16, "%u", req->in.list.offset);
    snprintf(lim, 16, "%u", req->in.list.limit ? req->in.list.limit : 100);
    params[0] = fa_buf_cstr(re);
    params[1] = off;
    params[2] = lim;
}

static void task_list(PGconn *pg, rec_req_t *req)
{
    fa_buf_t re = FA_BUF_INIT;
    char off[16], lim[16];
    const char *params[3];

    list_params(req, &re, off, lim, params);
    PGresult *res = rec_run(pg, req,
                        "select " TASK_COLS " from farad.tasks where ($1 = '' or id ~ $1) order by id offset $2 limit $3",
                        3, params, "listing tasks");
    fa_buf_deinit(&re);
    if (res == NULL)
        return;
    uint32_t n = (uint32_t)PQntuples(res);
    req->out.tasks.items = n ? FA_NEW(&req->arena, rec_task_t, n) : NULL;
    req->out.tasks.n = 0;
    req->rc = FA_OK;
    for (uint32_t i = 0; i < n && req->rc == FA_OK; i++)
        if (read_task(req, res, (int)i, &req->out.tasks.items[i]) == 0)
            req->out.tasks.n++;
    PQclear(res);
}

static void task_set_status(PGconn *pg, rec_req_t *req)
{
    const char *params[2] = { rec_param(req, req->in.set_status.id), status_name(req->in.set_status.status) };
    PGresult *res = rec_run(pg, req,
                        "update farad.tasks set status = $2, modified = now(), last_enabled = case when $2 = 'enabled'"
                        " then now() else last_enabled end where id = $1 returning " TASK_COLS,
                        2, params, "setting a task's status");

    if (res == NULL)
        return;
    if (PQntuples(res) == 0)
        rec_req_fail(req, FA_ENOENT, "no task %s", params[0]);
    else if (read_task(req, res, 0, &req->out.task) == 0)
        req->rc = FA_OK;
    PQclear(res);
}

/* ---- templates ---- */

static void template_put_one(PGconn *pg, rec_req_t *req)
{
    static const char upsert[] =
        "insert into farad.templates as t (id, type, script, vars) values ($1, $2, $3, $4::jsonb)"
        " on conflict (id) do update set type = excluded.type, script = excluded.script, vars = excluded.vars,"
        " modified = now() returning " TEMPLATE_COLS;
    static const char create[] = "insert into farad.templates (id, type, script, vars) values ($1, $2, $3, $4::jsonb)"
                                 " on conflict (id) do nothing returning " TEMPLATE_COLS;
    static const char update[] = "update farad.templates set type = $2, script = $3, vars = $4::jsonb, modified = now()"
                                 " where id = $1 returning " TEMPLATE_COLS;
    const rec_template_t *t = &req->in.template_put.tmpl;
    rec_put_mode_t mode = req->in.template_put.mode;
    const char *params[4] = { rec_param(req, t->id), rec_param(req, t->type), rec_param(req, t->script), vars_param(req, t->vars) };
    PGresult *res = rec_run(pg, req, mode == REC_PUT_CREATE ? create : mode == REC_PUT_UPDATE ? update : upsert, 4, params,
                        "storing a template");

    if (res == NULL)
        return;
    if (PQntuples(res) == 0) {
        rec_req_fail(req, mode == REC_PUT_CREATE ? FA_EEXIST : FA_ENOENT, "template %s %s", params[0],
                     mode == REC_PUT_CREATE ? "already exists" : "does not exist");
    } else {
        read_template(req, res, 0, &req->out.template);
        req->rc = FA_OK;
    }
    PQclear(res);
}

/* The template and the tasks built from it in one transaction: all or nothing. */
static void template_put(PGconn *pg, rec_req_t *req)
{
    if (req->in.template_put.n_tasks == 0) {
        template_put_one(pg, req);
        return;
    }
    if (exec_simple(pg, req, "begin") != 0)
        return;
    template_put_one(pg, req);
    for (uint32_t i = 0; i < req->in.template_put.n_tasks && req->rc == FA_OK; i++) {
        rec_task_t ignored;
        req->rc = FA_EPG;
        task_put_one(pg, req, &req->in.template_put.tasks[i], REC_PUT_UPSERT, &ignored);
    }
    if (req->rc == FA_OK) {
        if (exec_simple(pg, req, "commit") != 0)
            return;
    } else {
        PQclear(PQexec(pg, "rollback"));
    }
}

static void template_get(PGconn *pg, rec_req_t *req)
{
    const char *params[1] = { rec_param(req, req->in.id) };
    PGresult *res = rec_run(pg, req, "select " TEMPLATE_COLS " from farad.templates where id = $1", 1, params,
                        "reading a template");

    if (res == NULL)
        return;
    if (PQntuples(res) == 0) {
        rec_req_fail(req, FA_ENOENT, "no template %s", params[0]);
    } else {
        read_template(req, res, 0, &req->out.template);
        req->rc = FA_OK;
    }
    PQclear(res);
}

static void template_list(PGconn *pg, rec_req_t *req)
{
    fa_buf_t re = FA_BUF_INIT;
    char off[16], lim[16];
    const char *params[3];

    list_params(req, &re, off, lim, params);
    PGresult *res = rec_run(pg, req,
                        "select " TEMPLATE_COLS " from farad.templates where ($1 = '' or id ~ $1) order by id"
                        " offset $2 limit $3",
                        3, params, "listing templates");
    fa_buf_deinit(&re);
    if (res == NULL)
        return;
    uint32_t n = (uint32_t)PQntuples(res);
    req->out.templates.items = n ? FA_NEW(&req->arena, rec_template_t, n) : NULL;
    for (uint32_t i = 0; i < n; i++)
        read_template(req, res, (int)i, &req->out.templates.items[i]);
    req->out.templates.n = n;
    req->rc = FA_OK;
    PQclear(res);
}

void rec_exec_definitions(PGconn *pg, rec_req_t *req)
{
    req->rc = FA_EPG;
    switch (req->op) {
    case REC_OP_TASK_PUT:
        task_put_one(pg, req, &req->in.task_put.task, req->in.task_put.mode, &req->out.task);
        break;
    case REC_OP_TASK_GET: task_get(pg, req); break;
    case REC_OP_TASK_LIST: task_list(pg, req); break;
    case REC_OP_TASK_DELETE: rec_delete_by_id(pg, req, "delete from farad.tasks where id = $1", "deleting a task"); break;
    case REC_OP_TASK_SET_STATUS: task_set_status(pg, req); break;
    case REC_OP_TEMPLATE_PUT: template_put(pg, req); break;
    case REC_OP_TEMPLATE_GET: template_get(pg, req); break;
    case REC_OP_TEMPLATE_LIST: template_list(pg, req); break;
    case REC_OP_TEMPLATE_DELETE:
        rec_delete_by_id(pg, req, "delete from farad.templates where id = $1", "deleting a template");
        break;
    default: rec_req_fail(req, FA_EINVAL, "recorder: request %d is not a definition request", (int)req->op); break;
    }
}
