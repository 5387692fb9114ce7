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

/* Decodes an array datum at p of n bytes; el gets the element positions (in the arena). */
static int parse_arr(fa_arena_t *a, const char *p, int32_t n, rec_arr_t *out)
{
    memset(out, 0, sizeof *out);
    if (n < 0)
        return 0;
    if (n < 12)
        return -1;
    uint32_t ndim = get_be32(p);
    if (ndim == 0) {
        out->d1 = 0;
        out->d2 = 1;
        out->el = FA_NEW(a, const char *, 1);
        return 0;
    }
    if (ndim > 2 || (size_t)n < 12 + 8 * ndim)
        return -1;
    out->d1 = get_be32(p + 12);
    out->d2 = ndim == 2 ? get_be32(p + 20) : 1;
    size_t ne = (size_t)out->d1 * out->d2;
    out->el = FA_NEW(a, const char *, ne ? ne : 1);
    const char *q = p + 12 + 8 * ndim, *end = p + n;
    for (size_t i = 0; i < ne; i++) {
        if (end - q < 4)
            return -1;
        int32_t l = (int32_t)get_be32(q);
        out->el[i] = q;
        q += 4 + (l > 0 ? l : 0);
        if (q > end)
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

/* Reads a packed column (schema version 4): nv values of w bytes, then optionally a presence
 * bitmap. 0, or -1 when its length fits neither. */
static int packed_col(const char *p, int32_t l, size_t nv, size_t w, const char **vals, const char **bits)
{
    *vals = p;
    *bits = NULL;
    if ((size_t)l == nv * w)
        return 0;
    if ((size_t)l != nv * w + (nv + 7) / 8)
        return -1;
    *bits = p + nv * w;
    return 0;
}

static int decode_row(rec_blocks_rd_t *rd, const char *row, int len, uint32_t idx, rec_rblock_t *b)
{
    const char *p = row, *end = row + len;
    const char *raw[N_COLS];
    int32_t raw_len[N_COLS];
    if (len < 2 || (int16_t)((unsigned char)p[0] << 8 | (unsigned char)p[1]) != N_COLS)
        return -1;
    p += 2;
    memset(b, 0, sizeof *b);
    for (int c = 0; c < N_COLS; c++) {
        if (end - p < 4)
            return -1;
        int32_t l = (int32_t)get_be32(p);
        p += 4;
        if (l > end - p)
            return -1;
        raw[c] = l < 0 ? NULL : p;
        raw_len[c] = l;
        if (c < C_SEQ)
            b->col[c] = l < 0 ? (fa_str_t){ 0 } : fa_str(p, (size_t)l);
        p += l > 0 ? l : 0;
    }
    if (b->col[C_SEG].len != 8 || b->col[C_SEG_N].len != 4 || raw[C_SEQ] == NULL || raw[C_TIME] == NULL ||
        raw_len[C_SEQ] % 8 != 0 || raw_len[C_TIME] != raw_len[C_SEQ] || b->col[C_TAGS].len < 1)
        return -1;
    uint32_t np = b->np = (uint32_t)raw_len[C_SEQ] / 8;
    b->seq = raw[C_SEQ];
    b->time = raw[C_TIME];
    b->batch_seq = b->col[C_BSEQ].ptr != NULL && b->col[C_BSEQ].len == 8 ? (int64_t)get_be64(b->col[C_BSEQ].ptr) : -1;
    b->node = b->col[C_NODE].ptr != NULL && b->col[C_NODE].len == 4 ? (int32_t)get_be32(b->col[C_NODE].ptr) : 0;
    uint32_t n_order = 0;
    for (int t = 0; t < N_TYPES; t++) {
        int kc = C_KEYS0 + 2 * t, vc = kc + 1;
        if (parse_arr(&rd->arena, raw[kc], raw_len[kc], &b->keys[t]) != 0)
            return -1;
        if (b->keys[t].el == NULL)
            continue;
        size_t nk = b->keys[t].d1;
        if (raw[vc] == NULL || b->keys[t].d2 != 1)
            return -1;
        if (t == T_STRING) {
            if (parse_arr(&rd->arena, raw[vc], raw_len[vc], &b->strs) != 0 || b->strs.d1 != nk ||
                (nk && b->strs.d2 != np))
                return -1;
        } else if (packed_col(raw[vc], raw_len[vc], nk * np, t == T_BOOL ? 1 : 8, &b->num[t], &b->bits[t]) != 0) {
            return -1;
        }
        n_order += (uint32_t)nk;
    }
    b->order = FA_NEW(&rd->arena, uint32_t, n_order ? n_order : 1);
    for (int t = 0; t < N_TYPES; t++)
        for (uint32_t k = 0; b->keys[t].el != NULL && k < b->keys[t].d1; k++) {
            uint32_t o = (uint32_t)t << 24 | k, i = b->n_order++;
            while (i > 0 && jsonb_cmp(key_of(b, b->order[i - 1]), key_of(b, o)) > 0) {
                b->order[i] = b->order[i - 1];
                i--;
            }
            b->order[i] = o;
        }
    b->fkeys = FA_NEW(&rd->arena, fa_str_t, n_order ? n_order : 1);
    b->seg_fkeys = FA_NEW(&rd->arena, fa_str_t, n_order ? n_order : 1);
    fa_str_t tags = b->col[C_TAGS];
    if (rec_parse_tags(&rd->arena, fa_str(tags.ptr + 1, tags.len - 1), b->col[C_M], &b->seg_pt) != 0)
        return -1;
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

/* Numbers the blocks' sources: equal ids = the same db, rp and batch. */
static void number_sources(rec_blocks_rd_t *rd)
{
    uint32_t n_src = 0;
    for (uint32_t b = 0; b < rd->n_rows; b++) {
        rec_rblock_t *bk = &rd->blocks[b];
        if (b > 0 && same_source(&rd->blocks[b - 1], bk)) {
            bk->src = rd->blocks[b - 1].src;
            continue;
        }
        bk->src = n_src;
        for (uint32_t k = 0; k < b; k++)
            if (same_source(&rd->blocks[k], bk)) {
                bk->src = rd->blocks[k].src;
                break;
            }
        if (bk->src == n_src)
            n_src++;
    }
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
        if (len < 14) {
            rec_blocks_msg_free(rd, row);
            snprintf(err, errlen, "reading recording %s: a short block row", rd->id_copy);
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
        if (decode_row(rd, row, len, rd->n_rows, &rd->blocks[rd->n_rows]) != 0) {
            rd->n_rows++;
            snprintf(err, errlen, "reading recording %s: segment %" PRId64 ": a malformed block", rd->id_copy, s);
            return -1;
        }
        if ((++rd->n_rows & 7) == 0)
            rec_blocks_pump(rd);
    }
    if (rd->n_rows == 0)
        return 1;
    uint32_t seg_n = (uint32_t)get_be32(rd->blocks[0].col[C_SEG_N].ptr);
    if (seg_n > REC_SEGMENT_MAX) {
        snprintf(err, errlen, "reading recording %s: segment %" PRId64 " of %u points", rd->id_copy, seg, seg_n);
        return -1;
    }
    if (seg_n > rd->cap_slots) { /* kept across segments: no fresh pages to fault in each time */
        free(rd->slots);
        rd->cap_slots = seg_n > 4096 ? seg_n : 4096;
        rd->slots = malloc(rd->cap_slots * sizeof *rd->slots);
        if (rd->slots == NULL) {
            rd->cap_slots = 0;
            snprintf(err, errlen, "reading recording %s: out of memory", rd->id_copy);
            return -1;
        }
    }
    memset(rd->slots, 0, (seg_n ? seg_n : 1) * sizeof *rd->slots);
    for (uint32_t b = 0; b < rd->n_rows; b++) {
        const rec_rblock_t *bk = &rd->blocks[b];
        char *rows = bk->rows;
        size_t stride = bk->stride;
        for (uint32_t j = 0; j < bk->np; j++) {
            int64_t s = (int64_t)get_be64(bk->seq + 8 * (size_t)j);
            if (s < seg || s - seg >= seg_n || rd->slots[s - seg] != NULL) {
                snprintf(err, errlen, "reading recording %s: seq %" PRId64 " outside segment %" PRId64 " or twice",
                         rd->id_copy, s, seg);
                return -1;
            }
            if (s >= rd->from && (rd->to < 0 || s < rd->to))
                rd->slots[s - seg] = rows + stride * j;
        }
    }
    number_sources(rd);
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
