/* recorder/blocks_decode.c - a segment's block rows decoded into points (schema version 4,
 * SCHEMA.md): the rows of one segment are kept until its points are handed out, a slot per seq
 * says which block and which column holds that point. Strings are copied into the caller's batch
 * arena, names, tags, series keys and field keys once per block and batch. The rows come from the
 * server: anything malformed is refused with an error, never read past. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "recorder/blocks_int.h"

/* The columns' names, for errors. */
static const char *const col_names[N_COLS] = { "seg", "seg_n", "db", "rp", "measurement", "tags", "batch_seq",
                                               "batch_group", "query_node", "seq", "time_ns", "fkeys", "fval",
                                               "ikeys", "ival", "ukeys", "uval", "skeys", "sval", "bkeys", "bval" };

/* Decodes column c, an array datum at p of n bytes (n < 0: NULL, out->el stays NULL); el gets
 * the element positions (in the arena), each within the datum. 0, or -1 with why. */
static int parse_arr(fa_arena_t *a, int c, const char *p, int32_t n, rec_arr_t *out, char *why, size_t whylen)
{
    memset(out, 0, sizeof *out);
    if (n < 0)
        return 0;
    if (n < 12) {
        snprintf(why, whylen, "%s: an array of %d bytes, shorter than its header", col_names[c], (int)n);
        return -1;
    }
    uint32_t ndim = get_be32(p);
    if (ndim == 0) {
        out->d1 = 0;
        out->d2 = 1;
        out->el = FA_NEW(a, const char *, 1);
        return 0;
    }
    if (ndim > 2 || (size_t)n < 12 + 8 * (size_t)ndim) {
        snprintf(why, whylen, "%s: an array of %" PRIu32 " dimensions in %d bytes", col_names[c], ndim, (int)n);
        return -1;
    }
    const char *q = p + 12 + 8 * ndim, *end = p + n;
    out->d1 = get_be32(p + 12);
    out->d2 = ndim == 2 ? get_be32(p + 20) : 1;
    uint64_t ne = (uint64_t)out->d1 * out->d2;
    if (ne > (uint64_t)(end - q) / 4) { /* each element takes 4 bytes at least */
        snprintf(why, whylen, "%s: %" PRIu32 " x %" PRIu32 " elements in %d bytes", col_names[c], out->d1, out->d2,
                 (int)n);
        return -1;
    }
    out->el = FA_NEW(a, const char *, ne ? ne : 1);
    for (size_t i = 0; i < ne; i++) {
        int32_t l = end - q < 4 ? -2 : (int32_t)get_be32(q);
        if (l < -1 || (l > 0 && l > end - q - 4)) {
            snprintf(why, whylen, "%s: element %zu of %d bytes at byte %td of %d", col_names[c], i, (int)l, q - p,
                     (int)n);
            return -1;
        }
        out->el[i] = q;
        q += 4 + (l > 0 ? l : 0);
    }
    if (q != end) {
        snprintf(why, whylen, "%s: %td bytes after the array's elements", col_names[c], end - q);
        return -1;
    }
    return 0;
}

static int32_t el_len(const char *e) { return (int32_t)get_be32(e); }

/* jsonb's key order: shorter first, then bytewise. */
static int jsonb_cmp(fa_str_t a, fa_str_t b)
{
    if (a.len != b.len)
        return a.len < b.len ? -1 : 1;
    return a.len ? memcmp(a.ptr, b.ptr, a.len) : 0;
}

static fa_str_t key_of(const rec_rblock_t *b, uint32_t o)
{
    const char *e = b->keys[o >> 24].el[o & 0xffffff];
    return fa_str(e + 4, (size_t)(el_len(e) > 0 ? el_len(e) : 0));
}

/* Copies s, NUL-terminated, to *at and advances it. */
static fa_str_t put_str(char **at, fa_str_t s)
{
    char *d = *at;
    if (s.len)
        memcpy(d, s.ptr, s.len);
    d[s.len] = '\0';
    *at += s.len + 1;
    return fa_str(d, s.len);
}

/* Reads packed column c (schema version 4) of l bytes: nv values of w bytes, then optionally a
 * presence bitmap. 0, or -1 with why when its length fits neither. */
static int packed_col(int c, const char *p, int32_t l, uint64_t nk, uint64_t np, size_t w, const char **vals,
                      const char **bits, char *why, size_t whylen)
{
    uint64_t nv = nk * np; /* < 2^24 x 2^28: no overflow, nor below */
    *vals = p;
    *bits = NULL;
    if ((uint64_t)l == nv * w)
        return 0;
    if ((uint64_t)l != nv * w + (nv + 7) / 8) {
        snprintf(why, whylen,
                 "%s: %d bytes for %" PRIu64 " keys x %" PRIu64 " points of %zu bytes (%" PRIu64
                 " without a presence bitmap, %" PRIu64 " with)",
                 col_names[c], (int)l, nk, np, w, nv * w, nv * w + (nv + 7) / 8);
        return -1;
    }
    *bits = p + nv * w;
    return 0;
}

/* Splits the row into its columns: raw / raw_len (NULL / -1 = SQL NULL), and b's scalars. 0, or -1
 * with why. */
static int split_row(const char *row, int len, const char **raw, int32_t *raw_len, rec_rblock_t *b, char *why,
                     size_t whylen)
{
    const char *p = row, *end = row + len;
    int n_cols = len < 2 ? -1 : (int16_t)((unsigned char)p[0] << 8 | (unsigned char)p[1]);
    if (n_cols != N_COLS) {
        snprintf(why, whylen, "%d columns, not %d", n_cols, N_COLS);
        return -1;
    }
    p += 2;
    for (int c = 0; c < N_COLS; c++) {
        int32_t l = end - p < 4 ? INT32_MIN : (int32_t)get_be32(p);
        if (l == INT32_MIN || l < -1 || l > end - p - 4) {
            if (l == INT32_MIN)
                snprintf(why, whylen, "%s: the row ends at byte %d before the column's length", col_names[c], len);
            else
                snprintf(why, whylen, "%s: %d bytes at byte %td of a row of %d", col_names[c], (int)l, p + 4 - row,
                         len);
            return -1;
        }
        p += 4;
        raw[c] = l < 0 ? NULL : p;
        raw_len[c] = l;
        if (c < C_SEQ)
            b->col[c] = l < 0 ? (fa_str_t){ 0 } : fa_str(p, (size_t)l);
        p += l > 0 ? l : 0;
    }
    if (p != end) {
        snprintf(why, whylen, "%td bytes after the last column", end - p);
        return -1;
    }
    const char *bad = b->col[C_SEG].len != 8 ? "seg: not an int8"
                    : b->col[C_SEG_N].len != 4 ? "seg_n: not an int4"
                    : raw[C_SEQ] == NULL || raw_len[C_SEQ] % 8 != 0 ? "seq: NULL or not a whole number of int8s"
                    : raw[C_TIME] == NULL || raw_len[C_TIME] != raw_len[C_SEQ] ? "time_ns: NULL or not one int8 per seq"
                    : b->col[C_TAGS].len < 1 ? "tags: NULL or empty"
                    : b->col[C_BSEQ].ptr != NULL && b->col[C_BSEQ].len != 8 ? "batch_seq: not an int8"
                    : b->col[C_NODE].ptr != NULL && b->col[C_NODE].len != 4 ? "query_node: not an int4"
                    : NULL;
    if (bad != NULL) {
        snprintf(why, whylen, "%s", bad);
        return -1;
    }
    return 0;
}

/* Type t's keys and values of the block (columns C_KEYS0 + 2t and the next). 0, or -1 with why. */
static int decode_type(fa_arena_t *a, int t, const char *const *raw, const int32_t *raw_len, rec_rblock_t *b,
                       char *why, size_t whylen)
{
    int kc = C_KEYS0 + 2 * t, vc = kc + 1;
    if (parse_arr(a, kc, raw[kc], raw_len[kc], &b->keys[t], why, whylen) != 0)
        return -1;
    if (b->keys[t].el == NULL)
        return 0;
    uint32_t nk = b->keys[t].d1, np = b->np;
    if (b->keys[t].d2 != 1 || nk >= 1u << 24) {
        snprintf(why, whylen, "%s: %" PRIu32 " x %" PRIu32 " keys, not a list of fewer than 2^24", col_names[kc], nk,
                 b->keys[t].d2);
        return -1;
    }
    for (uint32_t k = 0; k < nk; k++)
        if (el_len(b->keys[t].el[k]) < 0) {
            snprintf(why, whylen, "%s: key %" PRIu32 " is NULL", col_names[kc], k);
            return -1;
        }
    if (raw[vc] == NULL) {
        snprintf(why, whylen, "%s: NULL for %" PRIu32 " keys", col_names[vc], nk);
        return -1;
    }
    if (t != T_STRING)
        return packed_col(vc, raw[vc], raw_len[vc], nk, np, t == T_BOOL ? 1 : 8, &b->num[t], &b->bits[t], why,
                          whylen);
    if (parse_arr(a, vc, raw[vc], raw_len[vc], &b->strs, why, whylen) != 0)
        return -1;
    if (b->strs.d1 != nk || (nk && b->strs.d2 != np)) {
        snprintf(why, whylen, "%s: %" PRIu32 " x %" PRIu32 " strings for %" PRIu32 " keys x %" PRIu32 " points",
                 col_names[vc], b->strs.d1, b->strs.d2, nk, np);
        return -1;
    }
    return 0;
}

/* order[] before o in jsonb's key order, ties by type and index (as the insertion below keeps them). */
static int order_cmp(const void *x, const void *y, void *ctx)
{
    const rec_rblock_t *b = ctx;
    uint32_t o1 = *(const uint32_t *)x, o2 = *(const uint32_t *)y;
    int c = jsonb_cmp(key_of(b, o1), key_of(b, o2));
    return c ? c : o1 < o2 ? -1 : o1 > o2;
}

/* The block's field keys in jsonb's order into b->order (n of them): insertion for the usual few,
 * qsort past that (a garbled row's many keys must not take quadratic time). */
static void sort_keys(rec_rblock_t *b, uint32_t n)
{
    for (int t = 0; t < N_TYPES; t++)
        for (uint32_t k = 0; b->keys[t].el != NULL && k < b->keys[t].d1; k++) {
            uint32_t o = (uint32_t)t << 24 | k, i = b->n_order++;
            while (n <= 32 && i > 0 && jsonb_cmp(key_of(b, b->order[i - 1]), key_of(b, o)) > 0) {
                b->order[i] = b->order[i - 1];
                i--;
            }
            b->order[i] = o;
        }
    if (n > 32)
        qsort_r(b->order, n, sizeof *b->order, order_cmp, b);
}

/* Decodes block idx of the segment, row of len bytes, into b (its arrays in rd's arena). 0, or -1
 * with why. */
static int decode_row(rec_blocks_rd_t *rd, const char *row, int len, uint32_t idx, rec_rblock_t *b, char *why,
                      size_t whylen)
{
    const char *raw[N_COLS];
    int32_t raw_len[N_COLS];
    memset(b, 0, sizeof *b);
    if (split_row(row, len, raw, raw_len, b, why, whylen) != 0)
        return -1;
    uint32_t np = b->np = (uint32_t)raw_len[C_SEQ] / 8;
    b->seq = raw[C_SEQ];
    b->time = raw[C_TIME];
    b->batch_seq = b->col[C_BSEQ].ptr != NULL ? (int64_t)get_be64(b->col[C_BSEQ].ptr) : -1;
    b->node = b->col[C_NODE].ptr != NULL ? (int32_t)get_be32(b->col[C_NODE].ptr) : 0;
    uint32_t n_order = 0;
    for (int t = 0; t < N_TYPES; t++) {
        if (decode_type(&rd->arena, t, raw, raw_len, b, why, whylen) != 0)
            return -1;
        n_order += b->keys[t].el != NULL ? b->keys[t].d1 : 0;
    }
    b->order = FA_NEW(&rd->arena, uint32_t, n_order ? n_order : 1);
    sort_keys(b, n_order);
    b->fkeys = FA_NEW(&rd->arena, fa_str_t, n_order ? n_order : 1);
    b->seg_fkeys = FA_NEW(&rd->arena, fa_str_t, n_order ? n_order : 1);
    fa_str_t tags = b->col[C_TAGS];
    if (rec_parse_tags(&rd->arena, fa_str(tags.ptr + 1, tags.len - 1), b->col[C_M], &b->seg_pt) != 0) {
        snprintf(why, whylen, "tags: not a jsonb object of strings");
        return -1;
    }
    b->str_bytes = b->seg_pt.name.len + b->seg_pt.key.len + 2; /* each string NUL-terminated, as dup's */
    for (uint32_t i = 0; i < b->seg_pt.n_tags; i++)
        b->str_bytes += b->seg_pt.tags[i].key.len + b->seg_pt.tags[i].value.len + 2;
    for (uint32_t i = 0; i < n_order; i++) {
        b->seg_fkeys[i] = key_of(b, b->order[i]);
        b->str_bytes += b->seg_fkeys[i].len + 1;
    }
    /* laid out together, so that a chunk copies them with one memcpy */
    char *at = b->strs_copy = fa_arena_alloc(&rd->arena, b->str_bytes, 1);
    b->seg_pt.name = put_str(&at, b->seg_pt.name);
    b->seg_pt.key = put_str(&at, b->seg_pt.key);
    for (uint32_t i = 0; i < b->seg_pt.n_tags; i++) {
        b->seg_pt.tags[i].key = put_str(&at, b->seg_pt.tags[i].key);
        b->seg_pt.tags[i].value = put_str(&at, b->seg_pt.tags[i].value);
    }
    for (uint32_t i = 0; i < n_order; i++)
        b->seg_fkeys[i] = put_str(&at, b->seg_fkeys[i]);
    b->stride = (16 + 8 * (size_t)n_order + n_order + 7) & ~(size_t)7;
    b->rows = fa_arena_alloc(&rd->arena, b->stride * (np ? np : 1), 8);
    for (uint32_t j = 0; j < np; j++) {
        uint64_t t = get_be64(b->time + 8 * (size_t)j);
        memcpy(b->rows + b->stride * j, &t, 8);
        memcpy(b->rows + b->stride * j + 8, &idx, 4);
    }
    for (uint32_t i = 0; i < n_order; i++) {
        int t = (int)(b->order[i] >> 24);
        size_t k0 = (size_t)(b->order[i] & 0xffffff) * np; /* the key's first value */
        char *r = b->rows + 16 + 8 * (size_t)i, *pr = b->rows + 16 + 8 * (size_t)n_order + i;
        for (uint32_t j = 0; j < np; j++, r += b->stride, pr += b->stride) {
            size_t v = k0 + j;
            uint64_t bits = 0;
            if (t == T_STRING) {
                const char *e = b->strs.el[v];
                *pr = el_len(e) >= 0;
                memcpy(&bits, &e, sizeof e);
            } else {
                *pr = b->bits[t] == NULL || (b->bits[t][v >> 3] >> (v & 7) & 1);
                bits = t == T_BOOL ? b->num[t][v] != 0 : get_be64(b->num[t] + 8 * v);
            }
            memcpy(r, &bits, 8);
        }
    }
    return 0;
}

static bool same_source(const rec_rblock_t *a, const rec_rblock_t *b);

/* Numbers the blocks' sources, in one pass: a block of the same db, rp and batch as the block
 * before it gets that block's id, any other a new one. A stage starts a source record whenever the
 * source changes and a segment's blocks follow first appearance, so the blocks of one source
 * record lie next to each other: two points next to each other in seq order come from blocks of
 * one id exactly when their sources are equal. (Equal sources further apart get two ids, which
 * never meet in one chunk. Comparing each block with all before it, as this did, was quadratic in
 * a segment of many small batches.) */
static void number_sources(rec_blocks_rd_t *rd)
{
    uint32_t n_src = 0;
    for (uint32_t b = 0; b < rd->n_rows; b++) {
        rec_rblock_t *bk = &rd->blocks[b];
        bk->src = b > 0 && same_source(&rd->blocks[b - 1], bk) ? rd->blocks[b - 1].src : n_src++;
    }
}

/* Whether the segment's blocks agree on its size, and it is one a reader can number: 0, or -1 with
 * err. */
static int check_segment(const rec_blocks_rd_t *rd, int64_t seg, uint32_t seg_n, char *err, size_t errlen)
{
    if (seg_n > REC_SEGMENT_MAX || seg > INT64_MAX - (int64_t)seg_n) {
        snprintf(err, errlen,
                 "reading recording %s: segment %" PRId64 " of %" PRIu32 " points (at most %d, ending by 2^63)",
                 rd->id_copy, seg, seg_n, REC_SEGMENT_MAX);
        return -1;
    }
    if (rd->seg_read && seg < rd->seg + (int64_t)rd->seg_n) {
        snprintf(err, errlen, "reading recording %s: segment %" PRId64 " after segment %" PRId64 " of %" PRIu32
                 " points", rd->id_copy, seg, rd->seg, rd->seg_n);
        return -1;
    }
    for (uint32_t b = 1; b < rd->n_rows; b++) {
        uint32_t n = get_be32(rd->blocks[b].col[C_SEG_N].ptr);
        if (n != seg_n) {
            snprintf(err, errlen, "reading recording %s: segment %" PRId64 " block %" PRIu32 ": seg_n %" PRIu32
                     ", block 0 says %" PRIu32, rd->id_copy, seg, b, n, seg_n);
            return -1;
        }
    }
    return 0;
}

/* Reads the next segment's rows and lays out its slots. 0, 1 at the end, -1 with err. */
static int load_segment(rec_blocks_rd_t *rd, char *err, size_t errlen)
{
    rec_blocks_free_rows(rd);
    fa_arena_reset(&rd->arena);
    int64_t seg = INT64_MIN;
    for (;;) {
        char *row = rd->next_row;
        int len = rd->next_len;
        rd->next_row = NULL;
        if (row == NULL && rec_blocks_read_row(rd, &row, &len, err, errlen) != 0)
            return -1;
        if (row == NULL)
            break;
        if (len < 14) { /* the column count, seg's length and seg */
            rec_blocks_msg_free(rd, row);
            snprintf(err, errlen, "reading recording %s: a block row of %d bytes, too short for its seg", rd->id_copy,
                     len);
            return -1;
        }
        int64_t s = (int64_t)get_be64(row + 6);
        if (seg != INT64_MIN && s != seg) {
            rd->next_row = row;
            rd->next_len = len;
            break;
        }
        seg = s;
        if (rd->n_rows == rd->cap_rows) {
            uint32_t cap = rd->cap_rows ? rd->cap_rows * 2 : 64;
            char **r = realloc(rd->rows, cap * sizeof *r);
            rec_rblock_t *b = realloc(rd->blocks, cap * sizeof *b);
            if (r != NULL)
                rd->rows = r;
            if (b != NULL)
                rd->blocks = b;
            if (r == NULL || b == NULL) {
                rec_blocks_msg_free(rd, row);
                snprintf(err, errlen, "reading recording %s: out of memory", rd->id_copy);
                return -1;
            }
            rd->cap_rows = cap;
        }
        rd->rows[rd->n_rows] = row;
        char why[200];
        if (decode_row(rd, row, len, rd->n_rows, &rd->blocks[rd->n_rows], why, sizeof why) != 0) {
            snprintf(err, errlen, "reading recording %s: segment %" PRId64 " block %" PRIu32 ": %s", rd->id_copy, s,
                     rd->n_rows, why);
            rd->n_rows++;
            return -1;
        }
        if ((++rd->n_rows & 7) == 0)
            rec_blocks_pump(rd);
    }
    if (rd->n_rows == 0)
        return 1;
    uint32_t seg_n = (uint32_t)get_be32(rd->blocks[0].col[C_SEG_N].ptr);
    if (check_segment(rd, seg, seg_n, err, errlen) != 0)
        return -1;
    uint32_t need = seg_n ? seg_n : 1;
    if (need > rd->cap_slots) { /* kept across segments: no fresh pages to fault in each time */
        free(rd->slots);
        rd->cap_slots = need > 4096 ? need : 4096;
        rd->slots = malloc(rd->cap_slots * sizeof *rd->slots);
        if (rd->slots == NULL) {
            rd->cap_slots = 0;
            snprintf(err, errlen, "reading recording %s: out of memory", rd->id_copy);
            return -1;
        }
    }
    memset(rd->slots, 0, need * sizeof *rd->slots);
    for (uint32_t b = 0; b < rd->n_rows; b++) {
        const rec_rblock_t *bk = &rd->blocks[b];
        char *rows = bk->rows;
        size_t stride = bk->stride;
        for (uint32_t j = 0; j < bk->np; j++) {
            int64_t s = (int64_t)get_be64(bk->seq + 8 * (size_t)j);
            uint64_t at = (uint64_t)s - (uint64_t)seg; /* no overflow; s < seg wraps past seg_n */
            if (s < seg || at >= seg_n || rd->slots[at] != NULL) {
                snprintf(err, errlen, "reading recording %s: segment %" PRId64 " block %" PRIu32 ": seq %" PRId64 " %s",
                         rd->id_copy, seg, b, s, s < seg || at >= seg_n ? "outside the segment" : "given twice");
                return -1;
            }
            if (s >= rd->from && (rd->to < 0 || s < rd->to))
                rd->slots[at] = rows + stride * j;
        }
    }
    number_sources(rd);
    rd->seg_read = true;
    rd->seg = seg;
    rd->seg_n = seg_n;
    rd->pos = 0;
    return 0;
}

static bool same_source(const rec_rblock_t *a, const rec_rblock_t *b)
{
    return a == b || (fa_str_eq(a->col[C_DB], b->col[C_DB]) && fa_str_eq(a->col[C_RP], b->col[C_RP]) &&
                      a->batch_seq == b->batch_seq &&
                      (a->batch_seq < 0 || (a->node == b->node && fa_str_eq(a->col[C_GROUP], b->col[C_GROUP]))));
}

static fa_str_t dup(fa_arena_t *a, fa_str_t s) { return fa_str(fa_arena_strndup(a, s.ptr ? s.ptr : "", s.len), s.len); }

/* s, a string in from, at the same place in to (a copy of from). */
static fa_str_t rebase(fa_str_t s, const char *from, char *to) { return fa_str(to + (s.ptr - from), s.len); }

/* The block's name, tags, series key and field keys into the batch's arena, once per batch: copies
 * of what the segment parsed, its strings with one memcpy. */
static int block_into(rec_blocks_rd_t *rd, rec_rblock_t *b, eng_batch_t *out)
{
    if (b->gen == rd->gen)
        return 0;
    const eng_point_t *sp = &b->seg_pt;
    char *at = fa_arena_try_alloc(&out->arena, b->str_bytes, 1);
    eng_tag_t *tags = sp->n_tags ? fa_arena_try_alloc(&out->arena, sizeof *tags * sp->n_tags, _Alignof(eng_tag_t))
                                 : NULL;
    if (at == NULL || (sp->n_tags && tags == NULL))
        return FA_ENOMEM;
    b->gen = rd->gen;
    memcpy(at, b->strs_copy, b->str_bytes);
    b->name = rebase(sp->name, b->strs_copy, at);
    b->key = rebase(sp->key, b->strs_copy, at);
    for (uint32_t i = 0; i < sp->n_tags; i++)
        tags[i] = (eng_tag_t){ rebase(sp->tags[i].key, b->strs_copy, at), rebase(sp->tags[i].value, b->strs_copy, at) };
    b->tags = tags;
    b->n_tags = sp->n_tags;
    for (uint32_t i = 0; i < b->n_order; i++)
        b->fkeys[i] = rebase(b->seg_fkeys[i], b->strs_copy, at);
    return 0;
}

/* The index of the block a point's row belongs to. */
static uint32_t row_block(const char *row)
{
    uint32_t idx;
    memcpy(&idx, row + 8, 4);
    return idx;
}

static int point_into(const rec_rblock_t *b, const char *row, eng_batch_t *out)
{
    eng_point_t *pt = eng_batch_add(out);
    if (pt == NULL)
        return FA_ENOMEM;
    const char *present = row + 16 + 8 * (size_t)b->n_order;
    pt->name = b->name;
    pt->tags = b->tags;
    pt->n_tags = b->n_tags;
    pt->key = b->key;
    memcpy(&pt->time, row, 8);
    uint32_t nf = 0;
    for (uint32_t i = 0; i < b->n_order; i++)
        nf += (uint32_t)present[i];
    eng_field_t *f = nf ? fa_arena_try_alloc(&out->arena, sizeof *f * nf, _Alignof(eng_field_t)) : NULL;
    if (nf && f == NULL)
        return FA_ENOMEM;
    pt->fields = f;
    for (uint32_t i = 0; i < b->n_order; i++) {
        if (!present[i])
            continue;
        uint64_t bits;
        memcpy(&bits, row + 16 + 8 * (size_t)i, 8);
        eng_value_t v;
        switch ((int)(b->order[i] >> 24)) {
        case T_FLOAT: v.type = ENG_FLOAT; memcpy(&v.f, &bits, 8); break;
        case T_INT: v.type = ENG_INT; v.i = (int64_t)bits; break;
        case T_UINT: v.type = ENG_UINT; v.u = bits; break;
        case T_BOOL: v.type = ENG_BOOL; v.b = bits != 0; break;
        default: {
            const char *e;
            memcpy(&e, &bits, sizeof e);
            v.type = ENG_STRING;
            v.s = dup(&out->arena, fa_str(e + 4, (size_t)el_len(e)));
            break;
        }
        }
        f[pt->n_fields++] = (eng_field_t){ b->fkeys[i], v };
    }
    return 0;
}

int rec_blocks_next(rec_blocks_rd_t *rd, uint32_t max, eng_batch_t *b, rec_read_out_t *out, char *err, size_t errlen)
{
    if (max == 0)
        max = 8192;
    eng_batch_reset(b);
    /* the chunk's points in one array (up to 65536; eng_batch_add grows it past that): no doubling
     * and copying as it fills */
    uint32_t cap = max < 65536 ? max : 65536;
    b->points = fa_arena_try_alloc(&b->arena, sizeof *b->points * cap, _Alignof(eng_point_t));
    if (b->points == NULL) {
        snprintf(err, errlen, "reading recording %s: out of memory for %u points", rd->id_copy, cap);
        return FA_ENOMEM;
    }
    b->cap = cap;
    memset(out, 0, sizeof *out);
    out->batch_seq = -1;
    out->next_seq = rd->from;
    rd->gen++;
    rec_rblock_t *first = NULL;
    int64_t first_seg = rd->seg;
    for (;;) {
        while (rd->pos < rd->seg_n && b->n < max) {
            char *row = rd->slots[rd->pos];
            if (row == NULL) {
                rd->pos++;
                continue;
            }
            rec_rblock_t *bk = &rd->blocks[row_block(row)];
            /* seq order hops between series: fetch the rows of later points ahead, and the blocks
             * of nearer ones (their rows, fetched earlier, say which) */
            if (rd->pos + 16 < rd->seg_n && rd->slots[rd->pos + 16] != NULL) {
                __builtin_prefetch(rd->slots[rd->pos + 16]);
                __builtin_prefetch(rd->slots[rd->pos + 16] + 64);
            }
            if (rd->pos + 8 < rd->seg_n && rd->slots[rd->pos + 8] != NULL) {
                const char *b2 = (const char *)&rd->blocks[row_block(rd->slots[rd->pos + 8])];
                __builtin_prefetch(b2);
                __builtin_prefetch(b2 + 64);
            }
            if (first == NULL) {
                first = bk;
                first_seg = rd->seg;
                b->db = dup(&b->arena, bk->col[C_DB]);
                b->rp = dup(&b->arena, bk->col[C_RP]);
                out->batch_seq = bk->batch_seq;
                if (bk->batch_seq >= 0) {
                    out->group = dup(&b->arena, bk->col[C_GROUP]);
                    out->query_node = bk->node;
                }
            } else if (first_seg != rd->seg) { /* a new segment: its source ids are its own */
                bool same = fa_str_eq(bk->col[C_DB], b->db) && fa_str_eq(bk->col[C_RP], b->rp) &&
                            bk->batch_seq == out->batch_seq &&
                            (bk->batch_seq < 0 ||
                             (bk->node == out->query_node && fa_str_eq(bk->col[C_GROUP], out->group)));
                if (!same)
                    goto Done;
                first = bk;
            } else if (first->src != bk->src) {
                goto Done;
            }
            first_seg = rd->seg;
            int rc = block_into(rd, bk, b);
            rc = rc ? rc : point_into(bk, row, b);
            if (rc != 0) {
                snprintf(err, errlen, "reading recording %s: seq %" PRId64 ": %s", rd->id_copy, rd->seg + rd->pos,
                         rc == FA_ENOMEM ? "out of memory" : "a malformed block");
                return rc;
            }
            out->next_seq = rd->seg + rd->pos + 1;
            if ((++rd->pos & 1023) == 0)
                rec_blocks_pump(rd);
        }
        if (b->n >= max)
            break;
        int rc = load_segment(rd, err, errlen);
        if (rc < 0)
            return FA_EPG;
        if (rc > 0)
            break;
    }
Done:
    out->n = b->n;
    out->eof = b->n == 0;
    if (b->n == 0)
        out->next_seq = rd->seg + rd->seg_n;
    return FA_OK;
}
