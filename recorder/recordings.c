/* recorder/recordings.c - recording and replay metadata in farad.recordings and farad.replays
 * (points and captured outputs are COPYed by copy.c).
 *
 * A recording is created "running"; its owner updates progress, counts and finally the status
 * (finished, or failed with an error: lost points or a PostgreSQL error). Deleting one deletes
 * its points in the same transaction (recording_points has no foreign key, see migrate.c).
 * Replays work the same way, with their captured outputs. */
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

/* One page of a listing: ids matching the glob pattern, newest first (Kapacitor's order). NULL
 * when the query failed (req says why). */
static PGresult *list_page(PGconn *pg, rec_req_t *req, const char *sql_head, const char *what)
{
    fa_buf_t re = FA_BUF_INIT, sql = FA_BUF_INIT;
    char off[16], lim[16];
    const char *params[3];

    rec_glob_to_regex(req->in.list.pattern, &re);
    snprintf(off, sizeof off, "%u", req->in.list.offset);
    snprintf(lim, sizeof lim, "%u", req->in.list.limit ? req->in.list.limit : 100);
    params[0] = fa_buf_cstr(&re);
    params[1] = off;
    params[2] = lim;
    fa_buf_appendf(&sql, "%s where ($1 = '' or id ~ $1) order by created desc, id offset $2 limit $3", sql_head);
    PGresult *res = rec_run(pg, req, fa_buf_cstr(&sql), 3, params, what);
    fa_buf_deinit(&re);
    fa_buf_deinit(&sql);
    return res;
}

static void recording_list(PGconn *pg, rec_req_t *req)
{
    PGresult *res = list_page(pg, req, "select " REC_COLS " from farad.recordings", "listing recordings");
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
    rec_delete_by_id(pg, req,
                 "with p as (delete from farad.recording_blocks where recording_id = $1),"
                 " v as (delete from farad.recording_points_v1 where recording_id = $1)"
                 " delete from farad.recordings where id = $1",
                 "deleting a recording");
}

/* ---- replays ---- */

#define REPLAY_COLS                                                                                                   \
    "id, task, coalesce(recording, ''), clock, recording_time, status, progress, error, coalesce(stats::text, ''),"   \
    " (extract(epoch from created) * 1000000)::bigint, coalesce((extract(epoch from finished) * 1000000)::bigint, 0)"

static void read_replay(rec_req_t *req, PGresult *res, int row, rec_replay_t *r)
{
    const char *st = PQgetvalue(res, row, 5);

    r->id = rec_dup_col(req, res, row, 0);
    r->task = rec_dup_col(req, res, row, 1);
    r->recording = rec_dup_col(req, res, row, 2);
    r->clock = rec_dup_col(req, res, row, 3);
    r->recording_time = PQgetvalue(res, row, 4)[0] == 't';
    r->status = strcmp(st, "finished") == 0 ? REC_FINISHED : strcmp(st, "failed") == 0 ? REC_FAILED : REC_RUNNING;
    r->progress = strtod(PQgetvalue(res, row, 6), NULL);
    r->error = rec_dup_col(req, res, row, 7);
    r->stats = rec_dup_col(req, res, row, 8);
    r->created = strtoll(PQgetvalue(res, row, 9), NULL, 10) * 1000;
    r->finished = strtoll(PQgetvalue(res, row, 10), NULL, 10) * 1000;
}

static void replay_row(rec_req_t *req, PGresult *res, const char *id, int rc_if_none, const char *none_text)
{
    if (res == NULL)
        return;
    if (PQntuples(res) == 0) {
        rec_req_fail(req, rc_if_none, "replay %s %s", id, none_text);
    } else {
        read_replay(req, res, 0, &req->out.replay);
        req->rc = FA_OK;
    }
    PQclear(res);
}

static void replay_put(PGconn *pg, rec_req_t *req)
{
    const rec_replay_t *r = &req->in.replay;
    const char *params[5] = { rec_param(req, r->id), rec_param(req, r->task), rec_param(req, r->recording),
                              r->clock.len ? rec_param(req, r->clock) : "fast", r->recording_time ? "true" : "false" };
    PGresult *res = rec_run(pg, req,
                            "insert into farad.replays (id, task, recording, clock, recording_time) values"
                            " ($1, $2, nullif($3, ''), $4, $5::boolean) on conflict (id) do nothing returning " REPLAY_COLS,
                            5, params, "creating a replay");
    replay_row(req, res, params[0], FA_EEXIST, "already exists");
}

static void replay_update(PGconn *pg, rec_req_t *req)
{
    const rec_replay_t *r = &req->in.replay;
    char progress[32];
    const char *params[5] = { rec_param(req, r->id), status_name(r->status), rec_param(req, r->error), progress,
                              rec_param(req, r->stats) };

    snprintf(progress, sizeof progress, "%.6f", r->progress);
    PGresult *res = rec_run(pg, req,
                            "update farad.replays set status = $2, error = $3, progress = $4,"
                            " stats = nullif($5, '')::jsonb, finished = case when $2 = 'running' then null"
                            " else coalesce(finished, now()) end where id = $1 returning " REPLAY_COLS,
                            5, params, "updating a replay");
    replay_row(req, res, params[0], FA_ENOENT, "does not exist");
}

static void replay_get(PGconn *pg, rec_req_t *req)
{
    const char *params[1] = { rec_param(req, req->in.id) };
    PGresult *res = rec_run(pg, req, "select " REPLAY_COLS " from farad.replays where id = $1", 1, params,
                            "reading a replay");
    replay_row(req, res, params[0], FA_ENOENT, "does not exist");
}

static void replay_list(PGconn *pg, rec_req_t *req)
{
    PGresult *res = list_page(pg, req, "select " REPLAY_COLS " from farad.replays", "listing replays");
    if (res == NULL)
        return;
    uint32_t n = (uint32_t)PQntuples(res);
    req->out.replays.items = n ? FA_NEW(&req->arena, rec_replay_t, n) : NULL;
    for (uint32_t i = 0; i < n; i++)
        read_replay(req, res, (int)i, &req->out.replays.items[i]);
    req->out.replays.n = n;
    req->rc = FA_OK;
    PQclear(res);
}

static void replay_delete(PGconn *pg, rec_req_t *req)
{
    rec_delete_by_id(pg, req,
                 "with o as (delete from farad.replay_outputs where replay_id = $1)"
                 " delete from farad.replays where id = $1",
                 "deleting a replay");
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
    case REC_OP_REPLAY_PUT: replay_put(pg, req); break;
    case REC_OP_REPLAY_UPDATE: replay_update(pg, req); break;
    case REC_OP_REPLAY_GET: replay_get(pg, req); break;
    case REC_OP_REPLAY_LIST: replay_list(pg, req); break;
    case REC_OP_REPLAY_DELETE: replay_delete(pg, req); break;
    default:
        rec_req_fail(req, FA_EINVAL, "recorder: request %d is not a recording or replay request", (int)req->op);
        break;
    }
}
