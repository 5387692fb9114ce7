/* proxy/proxy.h - the HTTP front end: the InfluxDB-compatible proxy listener (N event loops that
 * forward to the upstream InfluxDB and tee parsed writes to the engine) and the API listener. */
#ifndef PROXY_PROXY_H
#define PROXY_PROXY_H
#include <stddef.h>

#include "base/base.h"
#include "engine/defs.h"
#include "engine/engine.h"
#include "engine/replay.h"

typedef struct proxy_server proxy_server_t;

/** Binds both listeners and prepares one event loop per proxy thread. `conf` and `ingest` must
 * outlive the server. NULL with `err` filled ("proxy.bind: cannot listen on :8086: Address in use"). */
proxy_server_t *proxy_server_new(const fa_conf_t *conf, eng_ingest_t *ingest, char *err, size_t errlen);
/** How many producer ports of the ingest the server needs (one per proxy thread + the API thread). */
unsigned proxy_server_ports_needed(const fa_conf_t *conf);
/** Starts the event-loop threads. 0 or a negative FA_E* code. */
int proxy_server_start(proxy_server_t *s);
/** Stops accepting, lets requests in flight finish (bounded), joins the threads. */
void proxy_server_stop(proxy_server_t *s);
void proxy_server_free(proxy_server_t *s);
/** Gives the task API its registry, task master and store (NULL = definitions in memory only).
 * Call before proxy_server_start: the registry then belongs to the API thread. With a store, the
 * API thread loads the stored definitions first (retrying while PostgreSQL is down) and answers
 * 503 to changes until then. */
void proxy_server_set_defs(proxy_server_t *s, eng_tm_t *tm, eng_defs_t *defs, const eng_defstore_t *store);
/** Any thread: hands a load directory read by eng_load_read to the API thread, which applies it
 * (and frees it). */
void proxy_server_load(proxy_server_t *s, eng_load_t *l);
/** The port a listener really bound (useful with port 0). */
int proxy_server_proxy_port(const proxy_server_t *s);
int proxy_server_api_port(const proxy_server_t *s);
/** Serves /kapacitor/v1/recordings and /replays through svc (must outlive the server); call
 * before start. Without it those routes answer 503. */
void proxy_server_set_rr(proxy_server_t *s, const eng_rr_svc_t *svc);
#endif
