/* engine/replay.h - the record and replay service as the API sees it (issue 6).
 *
 * The proxy's API loop must not include recorder headers (libpq), so it reaches recordings and
 * replays through this small interface: it hands over one HTTP call (method, the path below
 * /kapacitor/v1/, the query string and the JSON body) and gets back, later and on another
 * thread, the HTTP status and the JSON body to send (Kapacitor's shapes: KAPACITOR.md §1).
 * recorder/record.c implements it; cmd/faradd/main.c wires it into the proxy.
 *
 * The service also needs to find a task's TICKscript and dbrps by id (record stream|batch,
 * replays): eng_rr_lookup_fn, given by whoever owns the task definitions. */
#ifndef ENGINE_REPLAY_H
#define ENGINE_REPLAY_H
#include <stdint.h>

#include "base/arena.h"
#include "base/str.h"
#include "engine/task.h"

/** One API call for /kapacitor/v1/recordings... or /kapacitor/v1/replays... */
typedef struct eng_rr_call {
    const char *method;   /* "GET", "POST", "DELETE" */
    fa_str_t path;        /* below /kapacitor/v1/, no query: "recordings/stream", "replays/ID" */
    fa_str_t query;       /* the raw query string (without '?'), for lists: pattern, offset, limit, fields */
    fa_str_t body;        /* the request body (JSON) */
} eng_rr_call_t;

/** The answer to a call: HTTP status and a JSON body. Runs on a service thread, once. */
typedef void (*eng_rr_done_fn)(void *arg, int status, const char *body, size_t len);

/** The service. `call` copies what it needs before returning: 0 = accepted (done will be called
 * exactly once, from another thread), or a negative FA_E* (FA_EAGAIN: its queue is full, answer
 * 503) and done is not called. */
typedef struct eng_rr_svc {
    void *ud;
    int (*call)(void *ud, const eng_rr_call_t *c, eng_rr_done_fn done, void *arg);
} eng_rr_svc_t;

/** Finds task `id`: its script and dbrps copied into arena `a`. 0, or FA_ENOENT. Called on the
 * service's threads: it must be thread-safe. */
typedef int (*eng_rr_lookup_fn)(void *ud, const char *id, fa_arena_t *a, const char **script, eng_dbrp_t **dbrps,
                                uint32_t *n_dbrps);
#endif
