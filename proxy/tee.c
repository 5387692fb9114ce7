/* proxy/tee.c - the filter, and the batch free list fed back by the ingest thread's return ring. */
#include "proxy/tee.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void pattern_free(struct proxy_tee_pattern *p)
{
    free(p->db);
    free(p->rp);
}

int proxy_tee_filter_init(proxy_tee_filter_t *f, const char *list, const char *default_rp, char *err, size_t errlen)
{
    memset(f, 0, sizeof(*f));
    f->default_rp = strdup(default_rp != NULL && *default_rp ? default_rp : "autogen");
    const char *p = list != NULL ? list : "";
    size_t cap = 1;
    for (const char *q = p; *q; q++)
        cap += *q == ',';
    f->patterns = calloc(cap, sizeof(*f->patterns));
    if (f->patterns == NULL || f->default_rp == NULL)
        goto Nomem;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        while (len && (*p == ' ' || *p == '\t'))
            p++, len--;
        while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (len == 1 && *p == '*') {
            f->all = true;
        } else if (len != 0) {
            const char *dot = memchr(p, '.', len);
            if (dot == NULL || dot == p || dot == p + len - 1) {
                snprintf(err, errlen, "tee.dbrps: \"%.*s\" is not db.rp, db.* or *", (int)len, p);
                proxy_tee_filter_deinit(f);
                return -1;
            }
            struct proxy_tee_pattern *pat = &f->patterns[f->n++];
            pat->db = strndup(p, (size_t)(dot - p));
            size_t rplen = len - (size_t)(dot - p) - 1;
            bool any_rp = rplen == 1 && dot[1] == '*';
            pat->rp = any_rp ? NULL : strndup(dot + 1, rplen);
            if (pat->db == NULL || (!any_rp && pat->rp == NULL))
                goto Nomem;
        }
        p = end ? end + 1 : p + len;
        if (!end)
            break;
    }
    return 0;
Nomem:
    snprintf(err, errlen, "tee.dbrps: out of memory");
    proxy_tee_filter_deinit(f);
    return -1;
}

void proxy_tee_filter_deinit(proxy_tee_filter_t *f)
{
    for (unsigned i = 0; i < f->n; i++)
        pattern_free(&f->patterns[i]);
    free(f->patterns);
    free(f->default_rp);
    memset(f, 0, sizeof(*f));
}

bool proxy_tee_filter_match(const proxy_tee_filter_t *f, fa_str_t db, fa_str_t rp)
{
    if (f->all)
        return true;
    for (unsigned i = 0; i < f->n; i++) {
        const struct proxy_tee_pattern *p = &f->patterns[i];
        if (fa_str_eq_c(db, p->db) && (p->rp == NULL || fa_str_eq_c(rp, p->rp)))
            return true;
    }
    return false;
}

bool proxy_tee_wanted(const proxy_tee_filter_t *f, eng_ingest_t *ingest, fa_str_t db, fa_str_t rp)
{
    return proxy_tee_filter_match(f, db, rp) || (ingest != NULL && eng_ingest_wants(ingest, db, rp));
}

void proxy_tee_init(proxy_tee_t *t, eng_ingest_port_t *port, eng_statmap_t *stats, unsigned ring_slots, size_t batch_limit)
{
    memset(t, 0, sizeof(*t));
    t->port = port;
    t->stats = stats;
    t->max_owned = ring_slots - 1;
    t->batch_limit = batch_limit;
}

void proxy_tee_deinit(proxy_tee_t *t)
{
    while (t->free != NULL) {
        eng_batch_t *b = t->free;
        t->free = b->_next;
        eng_batch_deinit(b);
        free(b);
    }
}

eng_batch_t *proxy_tee_get(proxy_tee_t *t)
{
    eng_batch_t *b;
    while ((b = eng_ring_spsc_pop(&t->port->back)) != NULL) {
        b->_next = t->free;
        t->free = b;
    }
    if ((b = t->free) != NULL) {
        t->free = b->_next;
        b->_next = NULL;
        return b;
    }
    if (t->owned >= t->max_owned || (b = malloc(sizeof(*b))) == NULL)
        return NULL;
    eng_batch_init(b, 2 << 20, t->batch_limit); /* a 1,000-line Telegraf body and its points fit one chunk, kept across resets */
    t->owned++;
    return b;
}

void proxy_tee_put(proxy_tee_t *t, eng_batch_t *b)
{
    eng_batch_reset(b);
    b->_next = t->free;
    t->free = b;
}

bool proxy_tee_send(proxy_tee_t *t, eng_batch_t *b)
{
    if (eng_ingest_push(t->port, b))
        return true;
    proxy_tee_count_drop(t, b->db, b->rp, b->n);
    return false;
}

void proxy_tee_count_drop(proxy_tee_t *t, fa_str_t db, fa_str_t rp, uint32_t points)
{
    fa_str_t key[2] = { db, rp };
    eng_statrow_t *r = eng_statmap_get(t->stats, key, 2);
    eng_statrow_add(r, ENG_DBRP_BATCHES_DROPPED, 1);
    eng_statrow_add(r, ENG_DBRP_POINTS_DROPPED, points);
}

void proxy_tee_count_parse_errors(proxy_tee_t *t, fa_str_t db, fa_str_t rp, uint32_t lines)
{
    fa_str_t key[2] = { db, rp };
    eng_statrow_add(eng_statmap_get(t->stats, key, 2), ENG_DBRP_PARSE_ERRORS, lines);
}
