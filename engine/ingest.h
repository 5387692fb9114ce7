/* engine/ingest.h - the engine's ingest side: one thread that takes parsed batches from every
 * producer (proxy event loops, later the subscription endpoint) through SPSC rings, counts them,
 * and hands consumed batches back for reuse. Later it routes points to tasks. */
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
#endif
