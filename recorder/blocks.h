/* recorder/blocks.h - a recording's points as columnar blocks in farad.recording_blocks (schema
 * versions 3 and 4, SCHEMA.md): staged row-wise (cheap, on any thread), transposed into one block per
 * (segment, series, batch) and written with binary COPY; read back with binary COPY and decoded
 * straight into points. For the recorder's files, benchmarks and tests; not for other folders. */
#ifndef RECORDER_BLOCKS_H
#define RECORDER_BLOCKS_H
#include <stdint.h>

#include <libpq-fe.h>

#include "recorder/store.h"

/** Points staged row-wise in one buffer, in the order they will be numbered: a compact binary
 * record per point, plus a source record (db, rp, batch) whenever the source changes. Owned by
 * one thread at a time. */
typedef struct rec_stage {
    fa_buf_t buf;            /* records; buf.limit bounds it (0 = no bound) */
    uint32_t n;              /* points staged */
    size_t src_at;           /* offset of the last source record; SIZE_MAX = none yet */
} rec_stage_t;

/** An empty stage holding at most `limit` bytes (0 = no bound). */
void rec_stage_init(rec_stage_t *st, size_t limit);
/** Appends point p from db.rp with m's batch_seq, group and query_node (m's other fields are
 * ignored). 0, or FA_E2BIG (past the limit, or a string longer than 4 GiB) / FA_ENOMEM: nothing of
 * p is staged. No allocation once the buffer has grown to its working size. */
int rec_stage_point(rec_stage_t *st, const rec_copy_meta_t *m, fa_str_t db, fa_str_t rp, const eng_point_t *p);
/** Forgets the staged points (keeps the memory). */
void rec_stage_clear(rec_stage_t *st);
void rec_stage_deinit(rec_stage_t *st);

/** Points per segment at most: a segment is a run of consecutive seqs whose blocks are written,
 * and read back, together. */
enum { REC_SEGMENT_MAX = 1 << 18 };

/** Binary COPY data (header, rows, trailer) of st's points as blocks of recording_id, numbered
 * from first_seq, into out (cleared first); *n_rows gets the number of blocks. Strings that are not
 * valid UTF-8 (or hold NUL) get U+FFFD in place of the bad bytes. 0 or FA_ENOMEM / FA_E2BIG /
 * FA_EINVAL (a malformed stage). */
int rec_blocks_encode(const rec_stage_t *st, fa_str_t recording_id, int64_t first_seq, fa_buf_t *out,
                      uint32_t *n_rows);
/** COPYs data made by rec_blocks_encode into farad.recording_blocks (autocommit). 0, or FA_EPG
 * with err filled. */
int rec_blocks_copy(PGconn *pg, const fa_buf_t *data, char *err, size_t errlen);

/** A reader of a recording's blocks in seq order (one binary COPY TO over its connection). */
typedef struct rec_blocks_rd rec_blocks_rd_t;

/** Starts reading recording_id's points with from_seq <= seq < to_seq (to_seq < 0: no end) on pg,
 * which is busy until rec_blocks_close. 0, or FA_EPG / FA_ENOMEM with err filled. */
int rec_blocks_open(PGconn *pg, fa_str_t recording_id, int64_t from_seq, int64_t to_seq, rec_blocks_rd_t **out,
                    char *err, size_t errlen);
/** The next points, at most max (0 = 8192), into b (reset first), in seq order: one db.rp and one
 * batch per call, as rec_read_points. out->eof once no point is left (then b is empty). Tags
 * sorted, fields ordered as jsonb orders keys. FA_OK, or FA_EPG / FA_EPARSE / FA_ENOMEM with err. */
int rec_blocks_next(rec_blocks_rd_t *rd, uint32_t max, eng_batch_t *b, rec_read_out_t *out, char *err, size_t errlen);
/** Ends the read (what was not read is received and dropped) and frees the reader; pg is free
 * again. */
void rec_blocks_close(rec_blocks_rd_t *rd);

/** Parses a flat jsonb object of strings (jsonb's text output) into pt's tags, sorted, with
 * name and the escaped series key, all in arena a (copy.c). 0, or -1 when it is not one. */
int rec_parse_tags(fa_arena_t *a, fa_str_t json, fa_str_t name, eng_point_t *pt);
/** Length of the valid UTF-8 sequence at p (1..4), or 0 when the bytes there are not one (copy.c). */
size_t rec_utf8_seq(const unsigned char *p, size_t n);
#endif
