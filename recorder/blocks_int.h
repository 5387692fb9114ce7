/* recorder/blocks_int.h - what the block files share (blocks_stage.c, blocks_encode.c,
 * blocks_read.c, blocks_decode.c), and the in-memory reader for tests and fuzzing. Not for other
 * folders, nor for the recorder's other files (they use blocks.h). */
#ifndef RECORDER_BLOCKS_INT_H
#define RECORDER_BLOCKS_INT_H
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "recorder/blocks.h"

/** Record kinds of a stage (blocks_stage.c describes the records). */
enum { REC_SRC_REC = 'S', REC_PT_REC = 'P' };
/** The value types in the order a block stores their columns. */
enum { T_FLOAT, T_INT, T_UINT, T_STRING, T_BOOL, N_TYPES };
/** PostgreSQL's oid of text, the element type of the key and string arrays. */
enum { REC_OID_TEXT = 25 };

/** The columns rec_blocks_open selects, in order: scalars, then arrays (seq, time_ns, then keys
 * and values per type). */
enum { C_SEG, C_SEG_N, C_DB, C_RP, C_M, C_TAGS, C_BSEQ, C_GROUP, C_NODE, C_SEQ, C_TIME, C_KEYS0,
       N_COLS = C_KEYS0 + 2 * N_TYPES };
/** The columns rec_blocks_encode writes (the table's order, COPY FROM). */
enum { REC_ENC_COLS = 25 };

/* ---- byte order: host order in a stage, big-endian in COPY data ---- */

/** A host-order u32 / i64 of a stage. */
static inline uint32_t rd32(const char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static inline int64_t rd64(const char *p)
{
    int64_t v;
    memcpy(&v, p, 8);
    return v;
}

/** Writes v big-endian at p; returns the byte after it. */
static inline char *be16(char *p, uint16_t v)
{
    p[0] = (char)(v >> 8);
    p[1] = (char)v;
    return p + 2;
}

static inline char *be32(char *p, uint32_t v)
{
    p[0] = (char)(v >> 24);
    p[1] = (char)(v >> 16);
    p[2] = (char)(v >> 8);
    p[3] = (char)v;
    return p + 4;
}

static inline char *be64(char *p, uint64_t v)
{
    p = be32(p, (uint32_t)(v >> 32));
    return be32(p, (uint32_t)v);
}

/** The big-endian value at p. */
static inline uint32_t get_be32(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;
    return (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3];
}

static inline uint64_t get_be64(const char *p) { return (uint64_t)get_be32(p) << 32 | get_be32(p + 4); }

/** libpq's message after "what: ", on one line, into err (blocks_encode.c). */
void rec_blocks_pg_err(PGconn *pg, const char *what, char *err, size_t errlen);

/* ---- the reader (blocks_read.c: messages; blocks_decode.c: rows into points) ---- */

/** An array column decoded: dims and, per element, where its int32 length is (el NULL: no column). */
typedef struct rec_arr {
    uint32_t d1, d2;         /* d2 = 1 for one dimension */
    const char **el;
} rec_arr_t;

/** One block (row) of the segment being read, decoded. */
typedef struct rec_rblock {
    /* read per point (replay order hops between blocks: these fit the first two cache lines,
     * which are fetched ahead) */
    uint32_t *order;         /* the field keys in jsonb's order: type << 24 | index */
    uint32_t n_order;
    uint32_t src;            /* blocks of one db, rp and batch share it */
    uint64_t gen;            /* the batch whose arena holds the copies below */
    fa_str_t name, key;      /* copies in the current batch's arena */
    eng_tag_t *tags;
    uint32_t n_tags;
    fa_str_t *fkeys;         /* per entry of order */
    /* the points row-major, for replay order across blocks without a cache miss per column: per
     * point `stride` bytes = time, the block's index (4 bytes, then 4 of padding), the value bits
     * per entry of order (a string: its element), then a presence byte per entry */
    char *rows;
    size_t stride;
    fa_str_t col[C_KEYS0];   /* scalar columns (ptr NULL = SQL NULL) */
    const char *seq, *time;  /* np big-endian int8s each */
    uint32_t np;             /* points */
    rec_arr_t keys[N_TYPES], strs; /* keys per type; the string values' [key][point] text[] */
    const char *num[N_TYPES]; /* numbers: the packed [key][point] values (NULL: none of the type) */
    const char *bits[N_TYPES]; /* their presence bitmap, NULL = all present */
    int64_t batch_seq;
    int32_t node;
    /* name, tags, series key and field keys parsed once per segment (in the segment's arena) */
    eng_point_t seg_pt;
    fa_str_t *seg_fkeys;     /* per entry of order */
    char *strs_copy;         /* all those strings, NUL-terminated, one after another */
    size_t str_bytes;        /* their bytes */
} rec_rblock_t;

/** A COPY message received ahead. */
typedef struct rec_qmsg {
    char *p;
    int n;
} rec_qmsg_t;

struct rec_blocks_rd {
    PGconn *pg;              /* NULL when reading messages in memory (rec_blocks_open_mem) */
    const fa_str_t *msgs;    /* those messages */
    uint32_t n_msgs, msg_at;
    bool copying, header_done, end;
    bool sort_off;           /* enable_sort was turned off for the read */
    fa_str_t id;
    char *id_copy;
    int64_t from, to;
    char *next_row;          /* a row of the following segment, read ahead */
    /* COPY messages received while points are handed out, so that the backend keeps sending
     * (its socket would fill and stall it otherwise): taken before reading more */
    rec_qmsg_t *q;
    uint32_t q_head, q_n, q_cap;
    size_t q_bytes;
    bool q_end;              /* the end of the COPY (-1) was received after them */
    int next_len;
    char **rows;
    uint32_t n_rows, cap_rows;
    rec_rblock_t *blocks;
    fa_arena_t arena;        /* the segment's decoding */
    char **slots;            /* per seq of the segment: its point's row, NULL = none */
    uint32_t cap_slots;
    int64_t seg;
    uint32_t seg_n, pos;
    bool seg_read;           /* a segment was read: the next must start at seg + seg_n or later */
    uint64_t gen;
};

/** The next COPY row (header skipped) into *row / *len, NULL at the end; -1 with err on error. */
int rec_blocks_read_row(rec_blocks_rd_t *rd, char **row, int *len, char *err, size_t errlen);
/** Receives the COPY messages that have arrived, without waiting, into the queue. */
void rec_blocks_pump(rec_blocks_rd_t *rd);
/** Frees a message rec_blocks_read_row gave (PQfreemem, or free for the in-memory reader). */
void rec_blocks_msg_free(const rec_blocks_rd_t *rd, char *m);
/** Frees the segment's rows. */
void rec_blocks_free_rows(rec_blocks_rd_t *rd);

/** A reader, as rec_blocks_open's, of the COPY TO messages msgs[0..n) (the binary header first, one
 * message per row, optionally the trailer): what a server would send, without one. msgs must outlive
 * the reader; rec_blocks_next and rec_blocks_close work as on a connection. 0, or FA_ENOMEM. */
int rec_blocks_open_mem(const fa_str_t *msgs, uint32_t n, int64_t from_seq, int64_t to_seq, rec_blocks_rd_t **out,
                        char *err, size_t errlen);
/** For tests and fuzzing: the COPY TO messages that rec_blocks_open would receive for data made
 * by rec_blocks_encode (the columns it selects, in its order; header and trailer messages
 * included), into out, and *msgs (malloc'd, pointing into out; free it) / *n. 0, FA_EINVAL (not
 * such data) or FA_ENOMEM. */
int rec_blocks_as_read(const fa_buf_t *in, fa_buf_t *out, fa_str_t **msgs, uint32_t *n);
#endif
