/* recorder/internal.h - shared between the recorder's files; not for other folders. */
#ifndef RECORDER_INTERNAL_H
#define RECORDER_INTERNAL_H
#include "recorder/store.h"

/** Runs a task or template request on pg (store thread); fills req->rc, req->err and req->out. */
void rec_exec_definitions(PGconn *pg, rec_req_t *req);
/** Runs a recording request on pg (store thread). */
void rec_exec_recordings(PGconn *pg, rec_req_t *req);
/** Shared by the definition and recording files: see tasks.c. */
PGresult *rec_run(PGconn *pg, rec_req_t *req, const char *sql, int n, const char *const *params, const char *what);
const char *rec_param(rec_req_t *req, fa_str_t s);
/** Runs a `delete ... where id = $1` with req->in.id; the rows deleted in req->out.n_rows. */
void rec_delete_by_id(PGconn *pg, rec_req_t *req, const char *sql, const char *what);
fa_str_t rec_dup_col(rec_req_t *req, PGresult *res, int row, int c);
/** Sets req->rc and formats req->err; returns rc. */
int rec_req_fail(rec_req_t *req, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/** Kapacitor's glob (filepath.Match: `*`, `?`, `[...]`, `\` escapes) as an anchored PostgreSQL
 * regular expression, NUL-terminated in out; "" for an empty pattern (= everything). */
int rec_glob_to_regex(fa_str_t glob, fa_buf_t *out);
/** Appends s as a JSON string (quotes, escapes; bad UTF-8 and NUL become U+FFFD). */
int rec_json_str(fa_buf_t *out, fa_str_t s);
#endif
