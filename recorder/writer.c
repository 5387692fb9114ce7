/* recorder/writer.c - a recording's points on their way into farad.recording_blocks: staged
 * row-wise as they are added, transposed into columnar blocks and COPYed (binary) at a flush. */
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "recorder/rr.h"

void rr_writer_init(rr_writer_t *w, const char *id)
{
    memset(w, 0, sizeof *w);
    snprintf(w->id, sizeof w->id, "%s", id);
    rec_stage_init(&w->stage, 0);
}

int rr_writer_add(rr_writer_t *w, const rec_copy_meta_t *m, const eng_batch_t *b)
{
    size_t len = w->stage.buf.len, src_at = w->stage.src_at;
    uint32_t n = w->stage.n;
    for (uint32_t i = 0; i < b->n; i++) {
        int rc = rec_stage_point(&w->stage, m, b->db, b->rp, &b->points[i]);
        if (rc != 0) { /* nothing of b */
            w->stage.buf.len = len;
            w->stage.src_at = src_at;
            w->stage.n = n;
            return rc;
        }
    }
    w->next_seq += b->n;
    w->pending += b->n;
    return 0;
}

size_t rr_writer_buffered(const rr_writer_t *w) { return w->stage.buf.len; }

int rr_write_stage(PGconn *pg, const char *id, const rec_stage_t *st, int64_t first_seq, fa_buf_t *scratch,
                   char *err, size_t errlen)
{
    uint32_t rows;
    if (st->n == 0)
        return 0;
    int rc = rec_blocks_encode(st, fa_str_c(id), first_seq, scratch, &rows);
    if (rc != 0) {
        snprintf(err, errlen, "recording %s: encoding %u points as blocks: %s", id, st->n, fa_strerror(rc));
        return -1;
    }
    return rec_blocks_copy(pg, scratch, err, errlen) == FA_OK ? 0 : -1;
}

int rr_writer_flush(rr_writer_t *w, PGconn *pg, char *err, size_t errlen)
{
    if (w->stage.n == 0)
        return 0;
    if (rr_write_stage(pg, w->id, &w->stage, w->next_seq - w->pending, &w->copy, err, errlen) != 0)
        return -1;
    w->points += w->pending;
    w->bytes += (int64_t)w->copy.len;
    w->pending = 0;
    rec_stage_clear(&w->stage);
    if (w->copy.cap > (64u << 20))
        fa_buf_deinit(&w->copy);
    return 0;
}

void rr_writer_deinit(rr_writer_t *w)
{
    rec_stage_deinit(&w->stage);
    fa_buf_deinit(&w->copy);
}
