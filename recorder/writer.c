/* recorder/writer.c - a recording's points on their way into farad.recording_points. */
#include <string.h>

#include "base/err.h"
#include "recorder/rr.h"

void rr_writer_init(rr_writer_t *w, const char *id)
{
    memset(w, 0, sizeof *w);
    snprintf(w->id, sizeof w->id, "%s", id);
}

int rr_writer_add(rr_writer_t *w, const rec_copy_meta_t *m, const eng_batch_t *b)
{
    rec_copy_meta_t mm = *m;
    mm.recording_id = fa_str_c(w->id);
    mm.first_seq = w->next_seq;
    int rc = rec_encode_points(&w->buf, &mm, b);
    if (rc != 0)
        return rc;
    w->next_seq += b->n;
    w->pending += b->n;
    return 0;
}

size_t rr_writer_buffered(const rr_writer_t *w) { return w->buf.len; }

int rr_writer_flush(rr_writer_t *w, PGconn *pg, char *err, size_t errlen)
{
    if (w->buf.len == 0)
        return 0;
    if (rr_copy_text(pg, w->buf.ptr, w->buf.len, err, errlen) != 0)
        return -1;
    w->points += w->pending;
    w->bytes += (int64_t)w->buf.len;
    w->pending = 0;
    fa_buf_clear(&w->buf);
    return 0;
}

void rr_writer_deinit(rr_writer_t *w) { fa_buf_deinit(&w->buf); }
