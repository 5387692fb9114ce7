/* recorder/blocks_read.c - reading a recording's blocks: one binary COPY (select ... order by seg,
 * part) TO STDOUT, its messages received (ahead, while points are handed out: rec_blocks_pump) and
 * given row by row to the decoder (blocks_decode.c); or the same messages from memory
 * (rec_blocks_open_mem, for tests and fuzzing). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "recorder/blocks_int.h"

int rec_blocks_open(PGconn *pg, fa_str_t recording_id, int64_t from_seq, int64_t to_seq, rec_blocks_rd_t **out,
                    char *err, size_t errlen)
{
    rec_blocks_rd_t *rd = calloc(1, sizeof *rd);
    char *lit = NULL;
    char sql[1024];
    if (rd == NULL || (rd->id_copy = strndup(recording_id.ptr ? recording_id.ptr : "", recording_id.len)) == NULL) {
        free(rd);
        snprintf(err, errlen, "reading recording %.*s: out of memory", (int)recording_id.len, recording_id.ptr);
        return FA_ENOMEM;
    }
    rd->pg = pg;
    rd->id = fa_str(rd->id_copy, recording_id.len);
    rd->from = from_seq;
    rd->to = to_seq;
    /* below glibc's mmap threshold (fa_tune_malloc: 32 MiB), so that the chunks come from the heap and
     * go back to it, and the next segment or replay reuses them without page faults */
    fa_arena_init(&rd->arena, 8u << 20, 0);
    lit = PQescapeLiteral(pg, rd->id_copy, strlen(rd->id_copy));
    if (lit == NULL) {
        rec_blocks_pg_err(pg, "reading a recording", err, errlen);
        rec_blocks_close(rd);
        return FA_EPG;
    }
    char upper[64] = "";
    if (to_seq >= 0)
        snprintf(upper, sizeof upper, " and seg < %" PRId64, to_seq);
    snprintf(sql, sizeof sql,
             "copy (select seg, seg_n, db, rp, measurement, tags, batch_seq, batch_group, query_node, seq, time_ns,"
             " fkeys, fval, ikeys, ival, ukeys, uval, skeys, sval, bkeys, bval from farad.recording_blocks"
             " where recording_id = %s and seg > %" PRId64 " and seg + seg_n > %" PRId64 "%s order by seg, part)"
             " to stdout (format binary)",
             lit, from_seq - REC_SEGMENT_MAX, from_seq, upper);
    PQfreemem(lit);
    /* the primary key's order is the order wanted: without this the planner may pick a bitmap scan
     * and sort the whole recording (spilling to disk past work_mem); reset by rec_blocks_close */
    PGresult *res = PQexec(pg, "set enable_sort = off");
    bool set_ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    if (!set_ok) {
        char what[400];
        snprintf(what, sizeof what, "reading recording %s: set enable_sort", rd->id_copy);
        rec_blocks_pg_err(pg, what, err, errlen);
        rec_blocks_close(rd);
        return FA_EPG;
    }
    rd->sort_off = true;
    res = PQexec(pg, sql);
    if (PQresultStatus(res) != PGRES_COPY_OUT) {
        char what[400];
        snprintf(what, sizeof what, "reading recording %s", rd->id_copy);
        rec_blocks_pg_err(pg, what, err, errlen);
        PQclear(res);
        rec_blocks_close(rd);
        return FA_EPG;
    }
    PQclear(res);
    rd->copying = true;
    *out = rd;
    return FA_OK;
}

void rec_blocks_msg_free(const rec_blocks_rd_t *rd, char *m)
{
    if (rd->pg == NULL)
        free(m);
    else
        PQfreemem(m);
}

void rec_blocks_free_rows(rec_blocks_rd_t *rd)
{
    for (uint32_t i = 0; i < rd->n_rows; i++)
        rec_blocks_msg_free(rd, rd->rows[i]);
    rd->n_rows = 0;
}

void rec_blocks_close(rec_blocks_rd_t *rd)
{
    if (rd == NULL)
        return;
    if (rd->copying) {
        /* the rest is read and dropped, not cancelled: a cancel request is asynchronous and could
         * hit the connection's next statement instead */
        char *row;
        int n;
        while (!rd->q_end && (n = PQgetCopyData(rd->pg, &row, 0)) > 0)
            PQfreemem(row);
        PGresult *res;
        while ((res = PQgetResult(rd->pg)) != NULL)
            PQclear(res);
    }
    if (rd->sort_off)
        PQclear(PQexec(rd->pg, "reset enable_sort"));
    rec_blocks_free_rows(rd);
    for (uint32_t i = rd->q_head; i < rd->q_n; i++)
        rec_blocks_msg_free(rd, rd->q[i].p);
    free(rd->q);
    rec_blocks_msg_free(rd, rd->next_row);
    free(rd->rows);
    free(rd->blocks);
    free(rd->slots);
    fa_arena_deinit(&rd->arena);
    free(rd->id_copy);
    free(rd);
}

/* Bytes of COPY data held ahead at most. */
enum { Q_MAX_BYTES = 16u << 20 };

void rec_blocks_pump(rec_blocks_rd_t *rd)
{
    if (!rd->copying || rd->end || rd->q_end || rd->q_bytes > Q_MAX_BYTES || !PQconsumeInput(rd->pg))
        return;
    for (;;) {
        if (rd->q_n == rd->q_cap) {
            if (rd->q_head > 0) { /* move the rest to the front */
                memmove(rd->q, rd->q + rd->q_head, (rd->q_n - rd->q_head) * sizeof *rd->q);
                rd->q_n -= rd->q_head;
                rd->q_head = 0;
            }
            if (rd->q_n == rd->q_cap) {
                uint32_t cap = rd->q_cap ? rd->q_cap * 2 : 256;
                rec_qmsg_t *q = realloc(rd->q, cap * sizeof *q);
                if (q == NULL)
                    return; /* read later, waiting */
                rd->q = q;
                rd->q_cap = cap;
            }
        }
        char *m;
        int n = PQgetCopyData(rd->pg, &m, 1);
        if (n == -1)
            rd->q_end = true;
        if (n <= 0) /* none yet, the end, or an error (met again by the waiting read) */
            return;
        rd->q[rd->q_n++] = (rec_qmsg_t){ m, n };
        rd->q_bytes += (size_t)n;
    }
}

/* The next COPY message as PQgetCopyData (waiting), the queued ones first. */
static int fetch(rec_blocks_rd_t *rd, char **m)
{
    if (rd->q_head < rd->q_n) {
        rec_qmsg_t q = rd->q[rd->q_head++];
        rd->q_bytes -= (size_t)q.n;
        *m = q.p;
        return q.n;
    }
    rd->q_head = rd->q_n = 0;
    if (rd->q_end) {
        rd->q_end = false;
        return -1;
    }
    if (rd->pg == NULL) { /* in memory: a copy, as libpq's is the caller's to change and free */
        if (rd->msg_at == rd->n_msgs || rd->msgs[rd->msg_at].len > INT32_MAX)
            return -1;
        fa_str_t s = rd->msgs[rd->msg_at++];
        *m = malloc(s.len ? s.len : 1);
        if (*m == NULL)
            return -2;
        if (s.len)
            memcpy(*m, s.ptr, s.len);
        return (int)s.len;
    }
    return PQgetCopyData(rd->pg, m, 0);
}

/* The end of the COPY: its result. 0, or -1 with err. */
static int copy_end(rec_blocks_rd_t *rd, char *err, size_t errlen)
{
    rd->end = true;
    if (rd->pg == NULL)
        return 0;
    PGresult *res = PQgetResult(rd->pg);
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok) {
        char what[400];
        snprintf(what, sizeof what, "reading recording %s", rd->id_copy);
        rec_blocks_pg_err(rd->pg, what, err, errlen);
    }
    PQclear(res);
    while ((res = PQgetResult(rd->pg)) != NULL)
        PQclear(res);
    rd->copying = false;
    return ok ? 0 : -1;
}

/* Skips the binary COPY header at the front of message m of *l bytes (it may hold the first row
 * too: that is moved to the front). 0, or -1 with err. */
static int skip_header(rec_blocks_rd_t *rd, char *m, int *l, char *err, size_t errlen)
{
    if (*l < 19 || memcmp(m, "PGCOPY\n\377\r\n\0", 11) != 0) {
        snprintf(err, errlen, "reading recording %s: not a binary COPY header", rd->id_copy);
        return -1;
    }
    uint32_t ext = get_be32(m + 15);
    if (ext > (uint32_t)(*l - 19)) {
        snprintf(err, errlen, "reading recording %s: COPY header extension of %" PRIu32 " bytes past its %d",
                 rd->id_copy, ext, *l - 19);
        return -1;
    }
    rd->header_done = true;
    *l -= 19 + (int)ext;
    memmove(m, m + 19 + ext, (size_t)*l);
    return 0;
}

int rec_blocks_read_row(rec_blocks_rd_t *rd, char **row, int *len, char *err, size_t errlen)
{
    for (;;) {
        *row = NULL;
        if (rd->end)
            return 0;
        char *m;
        int l = fetch(rd, &m);
        if (l == -1)
            return copy_end(rd, err, errlen);
        if (l < 0 && rd->pg == NULL) {
            snprintf(err, errlen, "reading recording %s: out of memory", rd->id_copy);
            return -1;
        }
        if (l < 0) {
            char what[400];
            snprintf(what, sizeof what, "reading recording %s", rd->id_copy);
            rec_blocks_pg_err(rd->pg, what, err, errlen);
            return -1;
        }
        if (!rd->header_done && skip_header(rd, m, &l, err, errlen) != 0) {
            rec_blocks_msg_free(rd, m);
            return -1;
        }
        /* the header alone, or the trailer (the end follows) */
        if (l == 0 || (l == 2 && (unsigned char)m[0] == 0xff && (unsigned char)m[1] == 0xff)) {
            rec_blocks_msg_free(rd, m);
            continue;
        }
        *row = m;
        *len = l;
        return 0;
    }
}

int rec_blocks_open_mem(const fa_str_t *msgs, uint32_t n, int64_t from_seq, int64_t to_seq, rec_blocks_rd_t **out,
                        char *err, size_t errlen)
{
    rec_blocks_rd_t *rd = calloc(1, sizeof *rd);
    if (rd == NULL || (rd->id_copy = strdup("(in memory)")) == NULL) {
        free(rd);
        snprintf(err, errlen, "reading recording (in memory): out of memory");
        return FA_ENOMEM;
    }
    rd->id = fa_str(rd->id_copy, strlen(rd->id_copy));
    rd->msgs = msgs;
    rd->n_msgs = n;
    rd->from = from_seq;
    rd->to = to_seq;
    fa_arena_init(&rd->arena, 64u << 10, 0);
    *out = rd;
    return FA_OK;
}

/* The columns of rec_blocks_encode's rows that rec_blocks_open selects, in its order. */
static const uint8_t read_cols[N_COLS] = { 1, 2, 4, 5, 6, 7, 8, 9, 10, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24 };

/* One row of rec_blocks_encode's data at p (end: the data's end) as the row COPY TO sends, into
 * out; *next gets the following row. 0 or FA_EINVAL / FA_ENOMEM. */
static int row_as_read(const char *p, const char *end, fa_buf_t *out, const char **next)
{
    const char *at[REC_ENC_COLS];
    uint32_t len[REC_ENC_COLS];
    p += 2;
    for (int c = 0; c < REC_ENC_COLS; c++) {
        if (end - p < 4)
            return FA_EINVAL;
        int32_t l = (int32_t)get_be32(p);
        at[c] = p;
        len[c] = 4 + (l > 0 ? (uint32_t)l : 0);
        if (l < -1 || len[c] > (size_t)(end - p))
            return FA_EINVAL;
        p += len[c];
    }
    char cnt[2];
    be16(cnt, N_COLS);
    int rc = fa_buf_append(out, cnt, 2);
    for (int c = 0; c < N_COLS && rc == 0; c++)
        rc = fa_buf_append(out, at[read_cols[c]], len[read_cols[c]]);
    *next = p;
    return rc;
}

/* Whether the 2 bytes at p are the binary COPY trailer (a field count of -1). */
static bool is_trailer(const char *p) { return (unsigned char)p[0] == 0xff && (unsigned char)p[1] == 0xff; }

int rec_blocks_as_read(const fa_buf_t *in, fa_buf_t *out, fa_str_t **msgs, uint32_t *n)
{
    const char *p = in->ptr, *end = in->ptr + in->len;
    size_t *starts = NULL, cap = 0, k = 0;
    int rc = 0;
    *msgs = NULL;
    *n = 0;
    fa_buf_clear(out);
    if (in->len < 19 || memcmp(p, "PGCOPY\n\377\r\n\0", 11) != 0 || get_be32(p + 15) > in->len - 19)
        return FA_EINVAL;
    p += 19 + get_be32(p + 15);
    for (bool last = false; rc == 0 && !last;) {
        if (k == cap) {
            cap = cap ? cap * 2 : 64;
            size_t *e = realloc(starts, cap * sizeof *e);
            if (e == NULL) {
                rc = FA_ENOMEM;
                break;
            }
            starts = e;
        }
        starts[k++] = out->len;
        if (k == 1) { /* the header, as its own message, without extension */
            static const char hdr[19] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0";
            rc = fa_buf_append(out, hdr, 19);
        } else if (end - p < 2) {
            rc = FA_EINVAL;
        } else if (is_trailer(p)) {
            rc = end - p == 2 ? fa_buf_append(out, p, 2) : FA_EINVAL;
            last = true;
        } else if (((unsigned char)p[0] << 8 | (unsigned char)p[1]) == REC_ENC_COLS) {
            rc = row_as_read(p, end, out, &p);
        } else {
            rc = FA_EINVAL;
        }
    }
    if (rc == 0 && (*msgs = malloc(k * sizeof **msgs)) == NULL)
        rc = FA_ENOMEM;
    for (size_t i = 0; rc == 0 && i < k; i++)
        (*msgs)[i] = fa_str(out->ptr + starts[i], (i + 1 < k ? starts[i + 1] : out->len) - starts[i]);
    *n = rc == 0 ? (uint32_t)k : 0;
    free(starts);
    return rc;
}
