/* engine/influxql_buf.c - slab and block-packed point buffer. */
#include "engine/influxql_buf.h"

#include <stdlib.h>
#include <string.h>

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (p == NULL)
        abort();
    return p;
}

/* ---- slab ------------------------------------------------------------------------------ */

void eng_slab_init(eng_slab_t *s, size_t record_size)
{
    memset(s, 0, sizeof(*s));
    s->size = (record_size + 7) & ~(size_t)7;
}

void eng_slab_deinit(eng_slab_t *s)
{
    for (uint32_t i = 0; i < s->_n_chunks; i++)
        free(s->_chunks[i]);
    free(s->_chunks);
    memset(s, 0, sizeof(*s));
}

uint32_t eng_slab_add(eng_slab_t *s)
{
    if ((s->n >> 12) == s->_n_chunks) {
        char **c = realloc(s->_chunks, sizeof(char *) * (s->_n_chunks + 1));
        if (c == NULL)
            abort();
        s->_chunks = c;
        s->_chunks[s->_n_chunks++] = xmalloc(s->size * 4096);
    }
    uint32_t i = s->n++;
    memset(eng_slab_at(s, i), 0, s->size);
    return i;
}

size_t eng_slab_bytes(const eng_slab_t *s) { return (size_t)s->_n_chunks * (s->size * 4096 + sizeof(char *)); }

/* ---- blocks and point buffers ---------------------------------------------------------- */

struct eng_blk {
    struct eng_blk *next;
    uint32_t used, cap;
    _Alignas(8) char data[];
};

/* a record: its size, then the point, its tags, its fields, then the strings */
typedef struct rec {
    uint64_t size;
    eng_point_t p;
} rec_t;

void eng_blkpool_init(eng_blkpool_t *p, size_t blk_size, uint32_t max_free)
{
    memset(p, 0, sizeof(*p));
    p->blk_size = (blk_size + 7) & ~(size_t)7;
    p->max_free = max_free;
}

void eng_blkpool_deinit(eng_blkpool_t *p)
{
    while (p->_free != NULL) {
        struct eng_blk *b = p->_free;
        p->_free = b->next;
        free(b);
    }
    p->_n_free = 0;
}

static struct eng_blk *blk_get(eng_blkpool_t *p, size_t need)
{
    struct eng_blk *b;
    if (need <= p->blk_size && p->_free != NULL) {
        b = p->_free;
        p->_free = b->next;
        p->_n_free--;
    } else {
        size_t cap = need <= p->blk_size ? p->blk_size : need;
        b = xmalloc(sizeof(*b) + cap);
        b->cap = (uint32_t)cap;
        p->bytes += sizeof(*b) + cap;
    }
    b->next = NULL;
    b->used = 0;
    return b;
}

static void blk_put(eng_blkpool_t *p, struct eng_blk *b)
{
    if (b->cap == p->blk_size && p->_n_free < p->max_free) {
        b->next = p->_free;
        p->_free = b;
        p->_n_free++;
        return;
    }
    p->bytes -= sizeof(*b) + b->cap;
    free(b);
}

static size_t str_need(fa_str_t s) { return s.len; }

static size_t rec_need(const eng_point_t *p)
{
    size_t n = sizeof(rec_t) + sizeof(eng_tag_t) * p->n_tags + sizeof(eng_field_t) * p->n_fields;
    n += str_need(p->name) + str_need(p->key);
    for (uint32_t i = 0; i < p->n_tags; i++)
        n += str_need(p->tags[i].key) + str_need(p->tags[i].value);
    for (uint32_t i = 0; i < p->n_fields; i++)
        n += str_need(p->fields[i].key) + (p->fields[i].v.type == ENG_STRING ? str_need(p->fields[i].v.s) : 0);
    return (n + 7) & ~(size_t)7;
}

static fa_str_t put_str(char **cur, fa_str_t s)
{
    if (s.len == 0)
        return FA_STR_LIT("");
    memcpy(*cur, s.ptr, s.len);
    fa_str_t out = fa_str(*cur, s.len);
    *cur += s.len;
    return out;
}

static void rec_write(rec_t *r, size_t size, const eng_point_t *src)
{
    r->size = size;
    eng_point_t *d = &r->p;
    *d = *src;
    char *cur = (char *)(r + 1);
    d->tags = src->n_tags ? (eng_tag_t *)cur : NULL;
    cur += sizeof(eng_tag_t) * src->n_tags;
    d->fields = src->n_fields ? (eng_field_t *)cur : NULL;
    cur += sizeof(eng_field_t) * src->n_fields;
    d->name = put_str(&cur, src->name);
    d->key = put_str(&cur, src->key);
    for (uint32_t i = 0; i < src->n_tags; i++) {
        d->tags[i].key = put_str(&cur, src->tags[i].key);
        d->tags[i].value = put_str(&cur, src->tags[i].value);
    }
    for (uint32_t i = 0; i < src->n_fields; i++) {
        d->fields[i] = src->fields[i];
        d->fields[i].key = put_str(&cur, src->fields[i].key);
        if (src->fields[i].v.type == ENG_STRING)
            d->fields[i].v.s = put_str(&cur, src->fields[i].v.s);
    }
}

void eng_ptbuf_push(eng_ptbuf_t *b, eng_blkpool_t *pool, const eng_point_t *p)
{
    size_t need = rec_need(p);
    struct eng_blk *t = b->_tail;
    if (t == NULL || t->cap - t->used < need) {
        struct eng_blk *nb = blk_get(pool, need);
        if (t == NULL) {
            b->_head = nb;
            b->_head_off = 0;
        } else {
            t->next = nb;
        }
        b->_tail = t = nb;
    }
    rec_write((rec_t *)(t->data + t->used), need, p);
    t->used += (uint32_t)need;
    b->n++;
}

const eng_point_t *eng_ptbuf_first(const eng_ptbuf_t *b)
{
    return b->n ? &((const rec_t *)(b->_head->data + b->_head_off))->p : NULL;
}

void eng_ptbuf_pop(eng_ptbuf_t *b, eng_blkpool_t *pool)
{
    if (b->n == 0)
        return;
    const rec_t *r = (const rec_t *)(b->_head->data + b->_head_off);
    b->_head_off += (uint32_t)r->size;
    b->n--;
    if (b->_head_off == b->_head->used) {
        struct eng_blk *h = b->_head;
        b->_head = h->next;
        b->_head_off = 0;
        if (b->_head == NULL)
            b->_tail = NULL;
        blk_put(pool, h);
    }
}

void eng_ptbuf_clear(eng_ptbuf_t *b, eng_blkpool_t *pool)
{
    while (b->_head != NULL) {
        struct eng_blk *h = b->_head;
        b->_head = h->next;
        blk_put(pool, h);
    }
    b->_tail = NULL;
    b->_head_off = 0;
    b->n = 0;
}

void eng_ptbuf_collect(const eng_ptbuf_t *b, eng_point_t *out)
{
    uint32_t k = 0;
    for (const struct eng_blk *blk = b->_head; blk != NULL; blk = blk->next)
        for (uint32_t off = blk == b->_head ? b->_head_off : 0; off < blk->used;) {
            const rec_t *r = (const rec_t *)(blk->data + off);
            out[k++] = r->p;
            off += (uint32_t)r->size;
        }
}
