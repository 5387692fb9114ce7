/* test/recorder/test_blocks.c - the block reader without PostgreSQL: rows built here (or made by
 * rec_blocks_encode) fed to rec_blocks_open_mem, the reader's in-memory source; a malformed row
 * must be refused with an error naming what is wrong, never read past. */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "recorder/blocks_int.h"

/* ---- building rows column by column ---- */

typedef struct row {
    fa_buf_t b;
} row_t;

static void put_be32(fa_buf_t *b, uint32_t v)
{
    char c[4];
    be32(c, v);
    cr_assert_eq(fa_buf_append(b, c, 4), 0);
}

static void put_be64(fa_buf_t *b, uint64_t v)
{
    char c[8];
    be64(c, v);
    cr_assert_eq(fa_buf_append(b, c, 8), 0);
}

/* A column: its length, then its bytes. */
static void col(fa_buf_t *b, const void *p, int32_t len)
{
    put_be32(b, (uint32_t)len);
    if (len > 0)
        cr_assert_eq(fa_buf_append(b, p, (size_t)len), 0);
}

static void col_null(fa_buf_t *b) { put_be32(b, UINT32_MAX); }

static void col_i64(fa_buf_t *b, int64_t v)
{
    put_be32(b, 8);
    put_be64(b, (uint64_t)v);
}

static void col_i32(fa_buf_t *b, int32_t v)
{
    put_be32(b, 4);
    put_be32(b, (uint32_t)v);
}

static void col_str(fa_buf_t *b, const char *s) { col(b, s, (int32_t)strlen(s)); }

/* np int8s from v0 on, step 1 (seq) */
static void col_i64s(fa_buf_t *b, uint32_t np, int64_t v0)
{
    put_be32(b, np * 8);
    for (uint32_t i = 0; i < np; i++)
        put_be64(b, (uint64_t)(v0 + i));
}

/* A one-dimensional text[] of the keys. */
static void col_keys(fa_buf_t *b, const char *const *keys, uint32_t n)
{
    fa_buf_t a = { 0 };
    put_be32(&a, 1);
    put_be32(&a, 0);
    put_be32(&a, REC_OID_TEXT);
    put_be32(&a, n);
    put_be32(&a, 1);
    for (uint32_t i = 0; i < n; i++)
        col_str(&a, keys[i]);
    col(b, a.ptr, (int32_t)a.len);
    fa_buf_deinit(&a);
}

/* What a row holds: a float column of nk keys x np points, with `fval_extra` bytes more or less
 * than the values take (a presence bitmap, or a wrong length). */
typedef struct spec {
    int16_t n_cols;
    int64_t seg, seq0;
    int32_t seg_n;
    uint32_t np, nk;
    int fval_extra;
    const char *tags;
} spec_t;

static const spec_t good = { N_COLS, 100, 100, 8, 3, 2, 0, "{\"host\": \"a\"}" };

static void make_row(const spec_t *s, fa_buf_t *b)
{
    static const char *const keys[] = { "v", "value", "x" };
    char cnt[2];
    fa_buf_clear(b);
    be16(cnt, (uint16_t)s->n_cols);
    cr_assert_eq(fa_buf_append(b, cnt, 2), 0);
    col_i64(b, s->seg);
    col_i32(b, s->seg_n);
    col_str(b, "db");
    col_str(b, "autogen");
    col_str(b, "cpu");
    char tags[128];
    tags[0] = 1; /* jsonb's version */
    snprintf(tags + 1, sizeof tags - 1, "%s", s->tags);
    col(b, tags, (int32_t)strlen(s->tags) + 1);
    col_null(b); /* batch_seq, batch_group, query_node */
    col_null(b);
    col_null(b);
    col_i64s(b, s->np, s->seq0);
    col_i64s(b, s->np, 1600000000000000000);
    col_keys(b, keys, s->nk);
    int32_t fl = (int32_t)(s->nk * s->np * 8) + s->fval_extra;
    put_be32(b, (uint32_t)fl);
    for (int32_t i = 0; i < fl; i++) { /* value k x np + j = 1.5 * (k * np + j), bitmap bytes all set */
        char c = (char)0xff;
        if (i < (int32_t)(s->nk * s->np * 8) && i % 8 == 0) {
            double d = 1.5 * (i / 8);
            uint64_t u;
            memcpy(&u, &d, 8);
            char be[8];
            be64(be, u);
            cr_assert_eq(fa_buf_append(b, be, 8), 0);
            i += 7;
            continue;
        }
        cr_assert_eq(fa_buf_append(b, &c, 1), 0);
    }
    for (int t = 1; t < N_TYPES; t++) { /* no other type */
        col_null(b);
        col_null(b);
    }
}

static const char header[19] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0";

/* Reads all points of the messages; returns the points read, or -1 with err. */
static long read_msgs(const fa_str_t *msgs, uint32_t n, char *err, size_t errlen, eng_batch_t *keep)
{
    rec_blocks_rd_t *rd;
    eng_batch_t b;
    rec_read_out_t out;
    long total = 0;
    cr_assert_eq(rec_blocks_open_mem(msgs, n, 0, -1, &rd, err, errlen), 0);
    eng_batch_init(&b, 4096, 0);
    for (int i = 0; i < 100; i++) {
        int rc = rec_blocks_next(rd, 0, &b, &out, err, errlen);
        if (rc != 0) {
            total = -1;
            break;
        }
        if (out.eof)
            break;
        total += out.n;
        if (keep != NULL)
            for (uint32_t j = 0; j < b.n; j++)
                eng_point_copy(&keep->arena, eng_batch_add(keep), &b.points[j]);
    }
    eng_batch_deinit(&b);
    rec_blocks_close(rd);
    return total;
}

/* Reads one row (header first); returns read_msgs's result. */
static long read_row(const fa_buf_t *row, char *err, size_t errlen)
{
    fa_str_t msgs[2] = { fa_str(header, 19), fa_str(row->ptr, row->len) };
    return read_msgs(msgs, 2, err, errlen, NULL);
}

Test(blocks_read, good_row)
{
    fa_buf_t b = { 0 };
    char err[512] = "";
    eng_batch_t got;
    make_row(&good, &b);
    fa_str_t msgs[3] = { fa_str(header, 19), fa_str(b.ptr, b.len), fa_str("\377\377", 2) };
    eng_batch_init(&got, 4096, 0);
    cr_assert_eq(read_msgs(msgs, 3, err, sizeof err, &got), 3, "%s", err);
    cr_assert_eq(got.n, 3);
    for (uint32_t j = 0; j < 3; j++) {
        const eng_point_t *p = &got.points[j];
        cr_assert(fa_str_eq_c(p->name, "cpu") && p->n_tags == 1 && fa_str_eq_c(p->tags[0].value, "a"));
        cr_assert_eq(p->time, 1600000000000000000 + j);
        cr_assert_eq(p->n_fields, 2);
        cr_assert(fa_str_eq_c(p->fields[0].key, "v") && fa_str_eq_c(p->fields[1].key, "value"));
        cr_assert(p->fields[0].v.type == ENG_FLOAT && p->fields[0].v.f == 1.5 * j);
        cr_assert(p->fields[1].v.f == 1.5 * (3 + j));
    }
    eng_batch_deinit(&got);
    fa_buf_deinit(&b);
}

Test(blocks_read, bitmap_says_which_are_present)
{
    spec_t s = good;
    s.fval_extra = 1; /* 6 values: bitmap of one byte */
    fa_buf_t b = { 0 };
    char err[512] = "";
    make_row(&s, &b);
    /* the bitmap is the byte before the ten NULL columns (4 bytes each) */
    b.ptr[b.len - 8 * 4 - 1] = 0x05; /* v at points 0 and 2 present; value absent everywhere */
    eng_batch_t got;
    eng_batch_init(&got, 4096, 0);
    fa_str_t msgs[2] = { fa_str(header, 19), fa_str(b.ptr, b.len) };
    cr_assert_eq(read_msgs(msgs, 2, err, sizeof err, &got), 3, "%s", err);
    cr_assert_eq(got.points[0].n_fields, 1);
    cr_assert_eq(got.points[1].n_fields, 0);
    cr_assert_eq(got.points[2].n_fields, 1);
    cr_assert(got.points[2].fields[0].v.f == 3.0);
    eng_batch_deinit(&got);
    fa_buf_deinit(&b);
}

/* The row read must fail with an error holding `want`. */
static void refused(const fa_buf_t *row, const char *want)
{
    char err[512] = "";
    cr_assert_eq(read_row(row, err, sizeof err), -1, "read a malformed row (wanted: %s)", want);
    cr_assert(strstr(err, want) != NULL, "error \"%s\" does not say \"%s\"", err, want);
}

Test(blocks_read, truncated_row)
{
    fa_buf_t b = { 0 };
    make_row(&good, &b);
    size_t full = b.len;
    b.len = full - 3; /* inside bval's length */
    refused(&b, "bval: the row ends at byte");
    b.len = full - 45; /* inside fval's values */
    refused(&b, "fval:");
    b.len = 10;
    refused(&b, "too short for its seg");
    fa_buf_deinit(&b);
}

Test(blocks_read, wrong_column_count)
{
    spec_t s = good;
    s.n_cols = N_COLS - 1;
    fa_buf_t b = { 0 };
    make_row(&s, &b);
    refused(&b, "20 columns, not 21");
    fa_buf_deinit(&b);
}

Test(blocks_read, value_matrix_not_keys_by_points)
{
    spec_t s = good;
    s.fval_extra = -8; /* one value short */
    fa_buf_t b = { 0 };
    make_row(&s, &b);
    refused(&b, "fval: 40 bytes for 2 keys x 3 points of 8 bytes (48 without a presence bitmap, 49 with)");
    s.fval_extra = 2; /* a bitmap one byte too long */
    make_row(&s, &b);
    refused(&b, "fval: 50 bytes for 2 keys x 3 points");
    fa_buf_deinit(&b);
}

Test(blocks_read, bitmap_too_short)
{
    spec_t s = good;
    s.np = 5; /* 10 values: a 2-byte bitmap */
    s.seg_n = 8;
    s.fval_extra = 1;
    fa_buf_t b = { 0 };
    make_row(&s, &b);
    refused(&b, "fval: 81 bytes for 2 keys x 5 points of 8 bytes (80 without a presence bitmap, 82 with)");
    fa_buf_deinit(&b);
}

Test(blocks_read, seq_outside_its_segment)
{
    spec_t s = good;
    s.seq0 = good.seg + 6; /* seqs 106..108 in a segment of 8 from 100 */
    fa_buf_t b = { 0 };
    make_row(&s, &b);
    refused(&b, "segment 100 block 0: seq 108 outside the segment");
    s.seq0 = good.seg - 1;
    make_row(&s, &b);
    refused(&b, "seq 99 outside the segment");
    fa_buf_deinit(&b);
}

Test(blocks_read, segment_past_int64)
{
    spec_t s = good;
    s.seg = INT64_MAX - 2;
    s.seq0 = s.seg;
    s.np = 1;
    fa_buf_t b = { 0 };
    make_row(&s, &b);
    refused(&b, "of 8 points (at most");
    fa_buf_deinit(&b);
}

Test(blocks_read, empty_segment_is_no_points)
{
    spec_t s = good;
    s.seg_n = 0;
    s.np = 0;
    fa_buf_t b = { 0 };
    char err[512] = "";
    make_row(&s, &b);
    cr_assert_eq(read_row(&b, err, sizeof err), 0, "%s", err);
    fa_buf_deinit(&b);
}

Test(blocks_read, array_claims_more_elements_than_bytes)
{
    fa_buf_t b = { 0 };
    make_row(&good, &b);
    /* fkeys: after 2 + seg 12 + seg_n 8 + "db" 6 + "autogen" 11 + "cpu" 7 + tags + 3 NULLs + seq, time */
    size_t at = 2 + 12 + 8 + 6 + 11 + 7 + 4 + 1 + strlen(good.tags) + 12 + 2 * (4 + 24);
    cr_assert_eq(get_be32(b.ptr + at + 4), 1); /* ndim */
    be32(b.ptr + at + 4 + 12, 1u << 30);     /* d1 */
    refused(&b, "fkeys: 1073741824 x 1 elements in");
    be32(b.ptr + at + 4 + 12, 2);
    be32(b.ptr + at + 4 + 20, 1000); /* the first key's length */
    refused(&b, "fkeys: element 0 of 1000 bytes");
    fa_buf_deinit(&b);
}

Test(blocks_read, header_extension_past_the_message)
{
    char h[19];
    memcpy(h, header, 19);
    be32(h + 15, 100);
    fa_str_t msgs[1] = { fa_str(h, 19) };
    char err[512] = "";
    cr_assert_eq(read_msgs(msgs, 1, err, sizeof err, NULL), -1);
    cr_assert(strstr(err, "COPY header extension of 100 bytes past its 0") != NULL, "%s", err);
}

Test(blocks_read, seg_n_differs_between_blocks)
{
    fa_buf_t a = { 0 }, b = { 0 };
    spec_t s = good;
    make_row(&s, &a);
    s.seg_n = 9;
    s.seq0 = good.seq0 + 3;
    make_row(&s, &b);
    fa_str_t msgs[3] = { fa_str(header, 19), fa_str(a.ptr, a.len), fa_str(b.ptr, b.len) };
    char err[512] = "";
    cr_assert_eq(read_msgs(msgs, 3, err, sizeof err, NULL), -1);
    cr_assert(strstr(err, "segment 100 block 1: seg_n 9, block 0 says 8") != NULL, "%s", err);
    fa_buf_deinit(&a);
    fa_buf_deinit(&b);
}

/* ---- the encoder's data read back ---- */

Test(blocks_round_trip, points_come_back)
{
    rec_stage_t st;
    eng_tag_t tags[2] = { { FA_STR_LIT("host"), FA_STR_LIT("a") }, { FA_STR_LIT("z"), FA_STR_LIT("q\"\\") } };
    eng_field_t f1[3] = { { FA_STR_LIT("value"), { .type = ENG_FLOAT, .f = -0.0 } },
                          { FA_STR_LIT("s"), { .type = ENG_STRING, .s = FA_STR_LIT("hi") } },
                          { FA_STR_LIT("n"), { .type = ENG_UINT, .u = UINT64_MAX } } };
    eng_field_t f2[2] = { { FA_STR_LIT("b"), { .type = ENG_BOOL, .b = true } },
                          { FA_STR_LIT("value"), { .type = ENG_INT, .i = -7 } } };
    eng_point_t p1 = { .name = FA_STR_LIT("cpu"), .tags = tags, .n_tags = 2, .fields = f1, .n_fields = 3, .time = 5 };
    eng_point_t p2 = { .name = FA_STR_LIT("cpu"), .tags = tags, .n_tags = 2, .fields = f2, .n_fields = 2, .time = -3 };
    rec_copy_meta_t m = { .batch_seq = -1 };
    rec_stage_init(&st, 0);
    cr_assert_eq(rec_stage_point(&st, &m, fa_str_c("db"), fa_str_c("rp"), &p1), 0);
    cr_assert_eq(rec_stage_point(&st, &m, fa_str_c("db"), fa_str_c("rp"), &p2), 0);
    fa_buf_t enc = { 0 }, rows = { 0 };
    uint32_t n_rows, n_msgs;
    fa_str_t *msgs;
    cr_assert_eq(rec_blocks_encode(&st, fa_str_c("r1"), 0, &enc, &n_rows), 0);
    cr_assert_eq(n_rows, 1);
    cr_assert_eq(rec_blocks_as_read(&enc, &rows, &msgs, &n_msgs), 0);
    cr_assert_eq(n_msgs, 3);
    eng_batch_t got;
    char err[512] = "";
    eng_batch_init(&got, 4096, 0);
    cr_assert_eq(read_msgs(msgs, n_msgs, err, sizeof err, &got), 2, "%s", err);
    const eng_point_t *a = &got.points[0], *b = &got.points[1];
    cr_assert(a->time == 5 && b->time == -3);
    cr_assert(fa_str_eq_c(a->key, "cpu,host=a,z=q\"\\"), "key %.*s", (int)a->key.len, a->key.ptr);
    cr_assert(fa_str_eq_c(a->tags[1].value, "q\"\\"));
    /* jsonb's order: shorter keys first */
    cr_assert_eq(a->n_fields, 3);
    cr_assert(fa_str_eq_c(a->fields[0].key, "n") && a->fields[0].v.type == ENG_UINT && a->fields[0].v.u == UINT64_MAX);
    cr_assert(fa_str_eq_c(a->fields[1].key, "s") && fa_str_eq_c(a->fields[1].v.s, "hi"));
    cr_assert(a->fields[2].v.type == ENG_FLOAT && memcmp(&a->fields[2].v.f, &(double){ -0.0 }, 8) == 0);
    cr_assert_eq(b->n_fields, 2);
    cr_assert(fa_str_eq_c(b->fields[0].key, "b") && b->fields[0].v.type == ENG_BOOL && b->fields[0].v.b);
    cr_assert(fa_str_eq_c(b->fields[1].key, "value") && b->fields[1].v.type == ENG_INT && b->fields[1].v.i == -7);
    eng_batch_deinit(&got);
    free(msgs);
    fa_buf_deinit(&rows);
    fa_buf_deinit(&enc);
    rec_stage_deinit(&st);
}

Test(blocks_read, segments_overlap)
{
    fa_buf_t a = { 0 }, b = { 0 };
    spec_t s = good;
    make_row(&s, &a);
    s.seg = s.seq0 = good.seg + 4; /* inside the first segment's seqs */
    make_row(&s, &b);
    fa_str_t msgs[3] = { fa_str(header, 19), fa_str(a.ptr, a.len), fa_str(b.ptr, b.len) };
    char err[512] = "";
    cr_assert_eq(read_msgs(msgs, 3, err, sizeof err, NULL), -1);
    cr_assert(strstr(err, "segment 104 after segment 100 of 8 points") != NULL, "%s", err);
    s.seg = s.seq0 = good.seg + 8; /* right after it: fine */
    make_row(&s, &b);
    msgs[2] = fa_str(b.ptr, b.len);
    cr_assert_eq(read_msgs(msgs, 3, err, sizeof err, NULL), 6, "%s", err);
    fa_buf_deinit(&a);
    fa_buf_deinit(&b);
}

/* Encodes the points (stream source db.rp) and reads them back into got. */
static void round_trip(const eng_point_t *pts, uint32_t n, eng_batch_t *got)
{
    rec_stage_t st;
    rec_copy_meta_t m = { .batch_seq = -1 };
    rec_stage_init(&st, 0);
    for (uint32_t i = 0; i < n; i++)
        cr_assert_eq(rec_stage_point(&st, &m, fa_str_c("db"), fa_str_c("rp"), &pts[i]), 0);
    fa_buf_t enc = { 0 }, rows = { 0 };
    uint32_t n_rows, n_msgs;
    fa_str_t *msgs;
    char err[512] = "";
    cr_assert_eq(rec_blocks_encode(&st, fa_str_c("r1"), 0, &enc, &n_rows), 0);
    cr_assert_eq(rec_blocks_as_read(&enc, &rows, &msgs, &n_msgs), 0);
    cr_assert_eq(read_msgs(msgs, n_msgs, err, sizeof err, got), (long)n, "%s", err);
    free(msgs);
    fa_buf_deinit(&rows);
    fa_buf_deinit(&enc);
    rec_stage_deinit(&st);
}

Test(blocks_round_trip, many_keys_in_jsonb_order)
{
    /* 60 keys of every type, lengths 1..3, given in a scrambled order */
    enum { N = 60 };
    static char names[N][4];
    eng_field_t f[N];
    for (int i = 0; i < N; i++) {
        int k = (i * 37) % N; /* a permutation */
        int len = 1 + k % 3;
        memset(names[i], 'a' + k / 3, (size_t)len);
        f[i].key = fa_str(names[i], (size_t)len);
        f[i].v.type = (eng_ftype_t)(k % 5);
        f[i].v.u = (uint64_t)k;
        if (f[i].v.type == ENG_STRING)
            f[i].v.s = f[i].key;
        else if (f[i].v.type == ENG_BOOL)
            f[i].v.b = k & 1;
    }
    eng_point_t p = { .name = FA_STR_LIT("m"), .fields = f, .n_fields = N, .time = 1 };
    eng_batch_t got;
    eng_batch_init(&got, 4096, 0);
    round_trip(&p, 1, &got);
    const eng_point_t *q = &got.points[0];
    cr_assert_eq(q->n_fields, N);
    for (uint32_t i = 1; i < N; i++) {
        fa_str_t a = q->fields[i - 1].key, b = q->fields[i].key;
        cr_assert(a.len < b.len || (a.len == b.len && memcmp(a.ptr, b.ptr, a.len) < 0), "field %u out of order", i);
    }
    for (uint32_t i = 0; i < N; i++) { /* each key's value is the one given */
        const eng_field_t *g = &q->fields[i];
        int k = (g->key.ptr[0] - 'a') * 3 + (int)g->key.len - 1;
        cr_assert_eq(g->v.type, (eng_ftype_t)(k % 5), "key %.*s", (int)g->key.len, g->key.ptr);
        if (g->v.type == ENG_STRING)
            cr_assert(fa_str_eq(g->v.s, g->key));
        else if (g->v.type == ENG_BOOL)
            cr_assert_eq(g->v.b, (bool)(k & 1));
        else
            cr_assert_eq(g->v.u, (uint64_t)k);
    }
    eng_batch_deinit(&got);
}

Test(blocks_read, seq_given_twice)
{
    fa_buf_t a = { 0 }, b = { 0 };
    spec_t s = good;
    make_row(&s, &a); /* seqs 100..102 */
    s.seq0 = good.seq0 + 2; /* 102..104 in the same segment */
    make_row(&s, &b);
    fa_str_t msgs[3] = { fa_str(header, 19), fa_str(a.ptr, a.len), fa_str(b.ptr, b.len) };
    char err[512] = "";
    cr_assert_eq(read_msgs(msgs, 3, err, sizeof err, NULL), -1);
    cr_assert(strstr(err, "segment 100 block 1: seq 102 given twice") != NULL, "%s", err);
    fa_buf_deinit(&a);
    fa_buf_deinit(&b);
}

/* Stages one point of series host=h<host> per entry, each with its source (db; batch_seq < 0: a
 * stream), encodes them as one segment and reads them back chunk by chunk: "db/batch_seq:n" per
 * chunk into out. */
static void chunks_of(const char *const *dbs, const int64_t *batches, const int *hosts, uint32_t n, fa_buf_t *out)
{
    rec_stage_t st;
    rec_stage_init(&st, 0);
    fa_arena_t a;
    fa_arena_init(&a, 4096, 0);
    for (uint32_t i = 0; i < n; i++) {
        eng_point_t p = { 0 };
        char host[16];
        snprintf(host, sizeof host, "h%d", hosts[i]);
        eng_tag_t *tag = FA_NEW(&a, eng_tag_t, 1);
        *tag = (eng_tag_t){ fa_str_c("host"), fa_str(fa_arena_strndup(&a, host, strlen(host)), strlen(host)) };
        eng_field_t *f = FA_NEW(&a, eng_field_t, 1);
        *f = (eng_field_t){ fa_str_c("v"), { .type = ENG_INT, .i = (int64_t)i } };
        p.name = fa_str_c("m");
        p.tags = tag;
        p.n_tags = 1;
        p.fields = f;
        p.n_fields = 1;
        p.time = (int64_t)i;
        rec_copy_meta_t m = { .batch_seq = batches[i], .group = fa_str_c("g"), .query_node = 0 };
        cr_assert_eq(rec_stage_point(&st, &m, fa_str_c(dbs[i]), fa_str_c("rp"), &p), 0);
    }
    fa_buf_t enc = { 0 }, rows = { 0 };
    uint32_t n_rows, n_msgs;
    fa_str_t *msgs;
    char err[512] = "";
    cr_assert_eq(rec_blocks_encode(&st, fa_str_c("r1"), 0, &enc, &n_rows), 0);
    cr_assert_eq(rec_blocks_as_read(&enc, &rows, &msgs, &n_msgs), 0);
    rec_blocks_rd_t *rd;
    eng_batch_t b;
    rec_read_out_t ro;
    cr_assert_eq(rec_blocks_open_mem(msgs, n_msgs, 0, -1, &rd, err, sizeof err), 0);
    eng_batch_init(&b, 4096, 0);
    fa_buf_clear(out);
    for (uint32_t i = 0; i <= n; i++) {
        cr_assert_eq(rec_blocks_next(rd, 0, &b, &ro, err, sizeof err), 0, "%s", err);
        if (ro.eof)
            break;
        fa_buf_appendf(out, "%.*s/%" PRId64 ":%u ", (int)b.db.len, b.db.ptr, ro.batch_seq, b.n);
    }
    eng_batch_deinit(&b);
    rec_blocks_close(rd);
    free(msgs);
    fa_buf_deinit(&rows);
    fa_buf_deinit(&enc);
    rec_stage_deinit(&st);
    fa_arena_deinit(&a);
}

Test(blocks_read, chunks_follow_the_sources)
{
    fa_buf_t out = { 0 };
    /* the third block's source is the first's, not the one before it; its point and the first
     * block's next one make one chunk */
    static const char *const dbs[] = { "db1", "db2", "db1", "db1" };
    static const int64_t stream[] = { -1, -1, -1, -1 };
    static const int hosts[] = { 1, 1, 2, 1 };
    chunks_of(dbs, stream, hosts, 4, &out);
    cr_assert_str_eq(fa_buf_cstr(&out), "db1/-1:1 db2/-1:1 db1/-1:2 ");
    /* a source per block (a batch recording of many small batches), and one coming back */
    enum { N = 3000 };
    const char **many_dbs = calloc(N, sizeof *many_dbs);
    int64_t *batches = calloc(N, sizeof *batches);
    int *many_hosts = calloc(N, sizeof *many_hosts);
    for (uint32_t i = 0; i < N; i++) {
        many_dbs[i] = "db";
        batches[i] = i < N - 1 ? (int64_t)i : 0; /* the last point: batch 0 again, another series */
        many_hosts[i] = i < N - 1 ? 1 : 2;
    }
    chunks_of(many_dbs, batches, many_hosts, N, &out);
    fa_buf_t want = { 0 };
    for (uint32_t i = 0; i < N - 1; i++)
        fa_buf_appendf(&want, "db/%u:1 ", i);
    fa_buf_appendf(&want, "db/0:1 ");
    cr_assert_str_eq(fa_buf_cstr(&out), fa_buf_cstr(&want));
    free(many_dbs);
    free(batches);
    free(many_hosts);
    fa_buf_deinit(&want);
    fa_buf_deinit(&out);
}
