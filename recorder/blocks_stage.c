/* recorder/blocks_stage.c - staging points row-wise for the block encoder (rec_stage_*).
 *
 * Each point becomes one record in a byte buffer, host byte order:
 *   source: 'S' i64 batch_seq, i32 query_node, u32 len(db), u32 len(rp), u32 len(group), db, rp, group
 *   point:  'P' u32 len(rest), i64 time, u32 len(series), series, u32 n_fields, fields
 *           series = u32 len(name), name, u32 n_tags, (u32 len, key, u32 len, value)...
 *           field  = u8 type, u32 len, key, value (8 bytes for float/int/uint, 1 for bool, u32 len
 *                    + bytes for a string)
 * A source record precedes the first point and every point whose db, rp or batch differs. */
#include <string.h>

#include "base/err.h"
#include "recorder/blocks_int.h"

/* ---- staging ---- */

void rec_stage_init(rec_stage_t *st, size_t limit)
{
    memset(st, 0, sizeof *st);
    st->buf.limit = limit;
    st->src_at = SIZE_MAX;
}

void rec_stage_clear(rec_stage_t *st)
{
    fa_buf_clear(&st->buf);
    st->n = 0;
    st->src_at = SIZE_MAX;
}

void rec_stage_deinit(rec_stage_t *st)
{
    fa_buf_deinit(&st->buf);
    st->n = 0;
}

static char *wr32(char *p, uint32_t v)
{
    memcpy(p, &v, 4);
    return p + 4;
}

static char *wr64(char *p, int64_t v)
{
    memcpy(p, &v, 8);
    return p + 8;
}

static char *wrstr(char *p, fa_str_t s)
{
    p = wr32(p, (uint32_t)s.len);
    if (s.len)
        memcpy(p, s.ptr, s.len);
    return p + s.len;
}

/* Whether the last source record says db, rp and m's batch. */
static bool same_src(const rec_stage_t *st, const rec_copy_meta_t *m, fa_str_t db, fa_str_t rp)
{
    if (st->src_at == SIZE_MAX)
        return false;
    const char *p = st->buf.ptr + st->src_at + 1;
    int64_t bs = rd64(p);
    int32_t node = (int32_t)rd32(p + 8);
    uint32_t dl = rd32(p + 12), rl = rd32(p + 16), gl = rd32(p + 20);
    const char *s = p + 24;
    int64_t mbs = m->batch_seq < 0 ? -1 : m->batch_seq;
    if (bs != mbs || dl != db.len || rl != rp.len || memcmp(s, db.ptr, dl) != 0 || memcmp(s + dl, rp.ptr, rl) != 0)
        return false;
    return mbs < 0 || (node == m->query_node && gl == m->group.len && memcmp(s + dl + rl, m->group.ptr, gl) == 0);
}

static bool too_long(size_t n) { return n > UINT32_MAX / 2; }

int rec_stage_point(rec_stage_t *st, const rec_copy_meta_t *m, fa_str_t db, fa_str_t rp, const eng_point_t *p)
{
    bool src = !same_src(st, m, db, rp);
    fa_str_t group = m->batch_seq >= 0 ? m->group : (fa_str_t){ 0 };
    size_t src_len = src ? 1 + 24 + db.len + rp.len + group.len : 0;
    size_t series = 8 + p->name.len;
    for (uint32_t i = 0; i < p->n_tags; i++)
        series += 8 + p->tags[i].key.len + p->tags[i].value.len;
    size_t body = 8 + 4 + series + 4;
    for (uint32_t i = 0; i < p->n_fields; i++) {
        const eng_field_t *f = &p->fields[i];
        body += 5 + f->key.len + (f->v.type == ENG_BOOL ? 1 : f->v.type == ENG_STRING ? 4 + f->v.s.len : 8);
    }
    if (too_long(body) || too_long(src_len))
        return FA_E2BIG;
    int rc = fa_buf_reserve(&st->buf, src_len + 5 + body);
    if (rc != 0)
        return rc;
    char *w = st->buf.ptr + st->buf.len;
    if (src) {
        st->src_at = st->buf.len;
        *w++ = REC_SRC_REC;
        w = wr64(w, m->batch_seq < 0 ? -1 : m->batch_seq);
        w = wr32(w, (uint32_t)(m->batch_seq < 0 ? 0 : m->query_node));
        w = wr32(w, (uint32_t)db.len);
        w = wr32(w, (uint32_t)rp.len);
        w = wr32(w, (uint32_t)group.len);
        memcpy(w, db.ptr, db.len);
        w += db.len;
        memcpy(w, rp.ptr, rp.len);
        w += rp.len;
        if (group.len)
            memcpy(w, group.ptr, group.len);
        w += group.len;
    }
    *w++ = REC_PT_REC;
    w = wr32(w, (uint32_t)body);
    w = wr64(w, p->time);
    w = wr32(w, (uint32_t)series);
    w = wrstr(w, p->name);
    w = wr32(w, p->n_tags);
    for (uint32_t i = 0; i < p->n_tags; i++) {
        w = wrstr(w, p->tags[i].key);
        w = wrstr(w, p->tags[i].value);
    }
    w = wr32(w, p->n_fields);
    for (uint32_t i = 0; i < p->n_fields; i++) {
        const eng_field_t *f = &p->fields[i];
        *w++ = (char)f->v.type;
        w = wrstr(w, f->key);
        switch (f->v.type) {
        case ENG_FLOAT: memcpy(w, &f->v.f, 8); w += 8; break;
        case ENG_INT: w = wr64(w, f->v.i); break;
        case ENG_UINT: w = wr64(w, (int64_t)f->v.u); break;
        case ENG_BOOL: *w++ = f->v.b ? 1 : 0; break;
        case ENG_STRING: w = wrstr(w, f->v.s); break;
        }
    }
    st->buf.len = (size_t)(w - st->buf.ptr);
    st->n++;
    return 0;
}
