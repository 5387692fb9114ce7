/* proxy/tee.h - which writes are parsed and teed (the filter), and each event loop's pool of
 * batches travelling to the ingest thread and back. */
#ifndef PROXY_TEE_H
#define PROXY_TEE_H
#include <stdbool.h>
#include <stddef.h>

#include "base/str.h"
#include "engine/engine.h"

/** The db.rp patterns some consumer wants: "db.rp", "db.*" or "*". Read-only once built;
 * later issues swap in a new one when tasks and recordings register. */
typedef struct proxy_tee_filter {
    struct proxy_tee_pattern { char *db, *rp; } *patterns; /* rp NULL = any */
    unsigned n;
    bool all;
    char *default_rp; /* the rp a write without one is counted under */
} proxy_tee_filter_t;

/** Parses a comma-separated list. 0, or -1 with err ("tee.dbrps: \"telegraf\" is not db.rp, db.* or *"). */
int proxy_tee_filter_init(proxy_tee_filter_t *f, const char *list, const char *default_rp, char *err, size_t errlen);
void proxy_tee_filter_deinit(proxy_tee_filter_t *f);
/** Whether writes to db.rp are wanted (rp already defaulted). */
bool proxy_tee_filter_match(const proxy_tee_filter_t *f, fa_str_t db, fa_str_t rp);
/** The tee's question: the configured list, or some running task (the ingest's wanted set, lock-free). */
bool proxy_tee_wanted(const proxy_tee_filter_t *f, eng_ingest_t *ingest, fa_str_t db, fa_str_t rp);

/** One event loop's side of the tee. Owned by that loop's thread. */
typedef struct proxy_tee {
    eng_ingest_port_t *port;
    eng_statmap_t *stats;      /* per db.rp counters, shared with the ingest thread */
    eng_batch_t *free;         /* reset batches ready for reuse */
    unsigned owned, max_owned; /* batches this loop has allocated; never more than the ring holds */
    size_t batch_limit;        /* arena limit of one batch */
} proxy_tee_t;

void proxy_tee_init(proxy_tee_t *t, eng_ingest_port_t *port, eng_statmap_t *stats, unsigned ring_slots, size_t batch_limit);
/** Frees the batches on the free list (the ingest frees those still in its rings). */
void proxy_tee_deinit(proxy_tee_t *t);
/** A reset batch, or NULL when all this loop may own are in flight (the caller drops the tee copy). */
eng_batch_t *proxy_tee_get(proxy_tee_t *t);
/** Gives a batch that was not sent back to the free list. */
void proxy_tee_put(proxy_tee_t *t, eng_batch_t *b);
/** Hands b to the ingest thread; on a full ring counts the drop and keeps b. After a true return
 * the caller never touches b again. */
bool proxy_tee_send(proxy_tee_t *t, eng_batch_t *b);
/** Counts a dropped tee copy (no free batch, ring full, decoded body too large). */
void proxy_tee_count_drop(proxy_tee_t *t, fa_str_t db, fa_str_t rp, uint32_t points);
void proxy_tee_count_parse_errors(proxy_tee_t *t, fa_str_t db, fa_str_t rp, uint32_t lines);
#endif
