/* engine/ingest.h - the engine's ingest side: one thread that takes parsed batches from every
 * producer (proxy event loops, later the subscription endpoint) through SPSC rings, counts them,
 * hands each to a router (the task master) and, once the router is done with it, back to its
 * producer for reuse. It is the only thread that pushes to the producers' back rings. It also
 * keeps the set of db.rp some consumer wants, which producers ask before parsing a write. */
#ifndef ENGINE_INGEST_H
#define ENGINE_INGEST_H
#include <stdbool.h>
#include <stdint.h>

#include "base/str.h"
#include "engine/point.h"
#include "engine/ring.h"
#include "engine/statmap.h"

/* counters of a db.rp row in eng_ingest_t.dbrp */
enum {
    ENG_DBRP_POINTS,          /* points received by the ingest thread */
    ENG_DBRP_BATCHES,
    ENG_DBRP_BYTES,           /* decoded body bytes the points were parsed from */
    ENG_DBRP_BATCHES_DROPPED, /* the producer's ring was full, or no batch was free */
    ENG_DBRP_POINTS_DROPPED,
    ENG_DBRP_PARSE_ERRORS,    /* lines that failed to parse */
    ENG_DBRP_N
};

/** One producer's pair of rings. The producer owns `in`'s push side and `back`'s pop side. */
typedef struct eng_ingest_port {
    eng_ring_spsc_t in;   /* producer -> ingest: eng_batch_t * */
    eng_ring_spsc_t back; /* ingest -> producer: consumed batches, reset, for reuse */
    char name[32];
} eng_ingest_port_t;

typedef struct eng_ingest eng_ingest_t;

/** n_ports producers, rings of ring_slots each (power of two). NULL on failure. */
eng_ingest_t *eng_ingest_new(unsigned n_ports, unsigned ring_slots);
/** Starts the ingest thread. 0 or a negative FA_E* code. */
int eng_ingest_start(eng_ingest_t *g);
/** Stops the thread after it has drained what is in the rings; joins it. */
void eng_ingest_stop(eng_ingest_t *g);
/** Frees everything, including batches still in the rings. Call after stop. */
void eng_ingest_free(eng_ingest_t *g);
eng_ingest_port_t *eng_ingest_port(eng_ingest_t *g, unsigned i);

/** Counters per db.rp (any thread may bump them: producers count drops and parse errors). */
eng_statmap_t *eng_ingest_dbrp_stats(eng_ingest_t *g);
/** Points per db.rp.measurement (written by the ingest thread only): key parts db, rp, measurement. */
eng_statmap_t *eng_ingest_measurement_stats(eng_ingest_t *g);
/** Total batches the ingest thread has consumed (for tests and benchmarks waiting on a drain). */
uint64_t eng_ingest_consumed(eng_ingest_t *g);

/** Where consumed batches go. Both callbacks run on the ingest thread. */
typedef struct eng_ingest_router {
    void *ctx;
    /** Takes batch b that came from port `port`. Returns true when the router keeps it: it then
     * hands it back later with eng_ingest_give_back; false = the ingest returns it right away. */
    bool (*route)(void *ctx, eng_ingest_t *g, eng_batch_t *b, unsigned port);
    /** Called on every turn of the ingest loop: returns finished batches (eng_ingest_give_back),
     * retries held work. Returns how much it did (0 = idle, so the thread may back off). */
    unsigned (*poll)(void *ctx, eng_ingest_t *g);
} eng_ingest_router_t;

/** Installs the router (NULL = none: batches are counted and returned). Call before start. */
void eng_ingest_set_router(eng_ingest_t *g, const eng_ingest_router_t *r);
/** Resets b and gives it back to its producer's `back` ring. The ingest thread only (or any one
 * thread while the ingest thread is not running). */
void eng_ingest_give_back(eng_ingest_t *g, eng_batch_t *b, unsigned port);
/** Runs fn(arg) on the ingest thread between two batches and waits for it (directly when the thread
 * is not running). For changes to state only the ingest thread reads (the routing index). Callers
 * are serialized. */
void eng_ingest_sync(eng_ingest_t *g, void (*fn)(void *arg), void *arg);

/** Any thread, lock-free and cheap: whether some consumer registered db.rp (eng_ingest_want).
 * Producers ask it before parsing a write for the tee. */
bool eng_ingest_wants(eng_ingest_t *g, fa_str_t db, fa_str_t rp);
/** Adds delta (+1 when a task that wants db.rp starts, -1 when it stops) to db.rp's registrations.
 * Callers are serialized (the task master's lock). db and rp are at most 255 bytes each; at most
 * ENG_INGEST_MAX_DBRPS distinct pairs (past that every db.rp counts as wanted, and it is logged). */
void eng_ingest_want(eng_ingest_t *g, fa_str_t db, fa_str_t rp, int delta);
enum { ENG_INGEST_MAX_DBRPS = 1024 };
#endif
