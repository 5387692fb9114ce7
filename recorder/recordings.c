/* recorder/recordings.c - recording metadata in farad.recordings (the points are COPYed by copy.c).
 *
 * A recording is created "running"; its owner updates progress, counts and finally the status
 * (finished, or failed with an error: lost points or a PostgreSQL error). Deleting one deletes
 * its points in the same transaction (recording_points has no foreign key, see migrate.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "recorder/internal.h"

#define REC_COLS                                                                                                      \
    "id, type, coalesce(task, ''), coalesce(query, ''), status, error, progress, size, point_count,"                  \
    " (extract(epoch from created) * 1000000)::bigint, coalesce((extract(epoch from finished) * 1000000)::bigint, 0)"

static const char *status_name(rec_status_t s)
{
    return s == REC_FINISHED ? "finished" : s == REC_FAILED ? "failed" : "running";
}

static void read_recording(rec_req_t *req, PGresult *res, int row, rec_recording_t *r)
{
    const char *st = PQgetvalue(res, row, 4);

    r->id = rec_dup_col(req, res, row, 0);
    r->type = rec_dup_col(req, res, row, 1);
    r->task = rec_dup_col(req, res, row, 2);
    r->query = rec_dup_col(req, res, row, 3);
    r->status = strcmp(st, "finished") == 0 ? REC_FINISHED : strcmp(st, "failed") == 0 ? REC_FAILED : REC_RUNNING;
    r->error = rec_dup_col(req, res, row, 5);
    r->progress = strtod(PQgetvalue(res, row, 6), NULL);
    r->size = strtoll(PQgetvalue(res, row, 7), NULL, 10);
    r->n_points = strtoll(PQgetvalue(res, row, 8), NULL, 10);
    r->created = strtoll(PQgetvalue(res, row, 9), NULL, 10) * 1000;
    r->finished = strtoll(PQgetvalue(res, row, 10), NULL, 10) * 1000;
}

/* One row back into out.recording, or FA_ENOENT/FA_EEXIST naming the id. */
static void one_row(rec_req_t *req, PGresult *res, const char *id, int rc_if_none, const char *none_text)
{
    if (res == NULL)
        return;
    if (PQntuples(res) == 0) {
        rec_req_fail(req, rc_if_none, "recording %s %s", id, none_text);
    } else {
        read_recording(req, res, 0, &req->out.recording);
        req->rc = FA_OK;
    }
    PQclear(res);
}

static void recording_put(PGconn *pg, rec_req_t *req)
{
    const rec_recording_t *r = &req->in.recording;
    const char *params[4] = { rec_param(req, r->id), rec_param(req, r->type), rec_param(req, r->task),
                              rec_param(req, r->query) };
    PGresult *res = rec_run(pg, req,
                            "insert into farad.recordings (id, type, task, query) values ($1, $2, nullif($3, ''),"
                            " nullif($4, '')) on conflict (id) do nothing returning " REC_COLS,
                            4, params, "creating a recording");
    one_row(req, res, params[0], FA_EEXIST, "already exists");
}

static void recording_update(PGconn *pg, rec_req_t *req)
{
    const rec_recording_t *r = &req->in.recording;
    char progress[32], size[24], n[24];
    const char *params[6] = { rec_param(req, r->id), status_name(r->status), rec_param(req, r->error), progress, size, n };

    snprintf(progress, sizeof progress, "%.6f", r->progress);
    snprintf(size, sizeof size, "%lld", (long long)r->size);
    snprintf(n, sizeof n, "%lld", (long long)r->n_points);
    PGresult *res = rec_run(pg, req,
                            "update farad.recordings set status = $2, error = $3, progress = $4, size = $5,"
                            " point_count = $6, finished = case when $2 = 'running' then null"
                            " else coalesce(finished, now()) end where id = $1 returning " REC_COLS,
                            6, params, "updating a recording");
    one_row(req, res, params[0], FA_ENOENT, "does not exist");
}

static void recording_get(PGconn *pg, rec_req_t *req)
{
    const char *params[1] = { rec_param(req, req->in.id) };
    PGresult *res = rec_run(pg, req, "select " REC_COLS " from farad.recordings where id = $1", 1, params,
                            "reading a recording");

    one_row(req, res, params[0], FA_ENOENT, "does not exist");
}

static void recording_list(PGconn *pg, rec_req_t *req)
{
    fa_buf_t re = FA_BUF_INIT;
    char off[16], lim[16];
    const char *params[3];

    rec_glob_to_regex(req->in.list.pattern, &re);
    snprintf(off, sizeof off, "%u", req->in.list.offset);
    snprintf(lim, sizeof lim, "%u", req->in.list.limit ? req->in.list.limit : 100);
    params[0] = fa_buf_cstr(&re);
    params[1] = off;
    params[2] = lim;
    PGresult *res = rec_run(pg, req,
                            "select " REC_COLS " from farad.recordings where ($1 = '' or id ~ $1)"
                            " order by created desc, id offset $2 limit $3",
                            3, params, "listing recordings");
    fa_buf_deinit(&re);
    if (res == NULL)
        return;
    uint32_t n = (uint32_t)PQntuples(res);
    req->out.recordings.items = n ? FA_NEW(&req->arena, rec_recording_t, n) : NULL;
    for (uint32_t i = 0; i < n; i++)
        read_recording(req, res, (int)i, &req->out.recordings.items[i]);
    req->out.recordings.n = n;
    req->rc = FA_OK;
    PQclear(res);
}

static void recording_delete(PGconn *pg, rec_req_t *req)
{
    const char *params[1] = { rec_param(req, req->in.id) };
    PGresult *res = rec_run(pg, req,
                            "with p as (delete from farad.recording_points where recording_id = $1)"
                            " delete from farad.recordings where id = $1",
                            1, params, "deleting a recording");

    if (res == NULL)
        return;
    req->out.n_rows = strtoull(PQcmdTuples(res), NULL, 10);
    req->rc = FA_OK;
    PQclear(res);
}

void rec_exec_recordings(PGconn *pg, rec_req_t *req)
{
    req->rc = FA_EPG;
    switch (req->op) {
    case REC_OP_RECORDING_PUT: recording_put(pg, req); break;
    case REC_OP_RECORDING_UPDATE: recording_update(pg, req); break;
    case REC_OP_RECORDING_GET: recording_get(pg, req); break;
    case REC_OP_RECORDING_LIST: recording_list(pg, req); break;
    case REC_OP_RECORDING_DELETE: recording_delete(pg, req); break;
    default: rec_req_fail(req, FA_EINVAL, "recorder: request %d is not a recording request", (int)req->op); break;
    }
}
