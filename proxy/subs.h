/* proxy/subs.h - the subscription manager: farad as an InfluxDB subscription target (issue 7).
 *
 * One thread of its own links farad to the upstream InfluxDB: SHOW DATABASES, SHOW RETENTION
 * POLICIES ON each, SHOW SUBSCRIPTIONS, then CREATE SUBSCRIPTION "<name>" ON "<db>"."<rp>"
 * DESTINATIONS <mode> '<advertised url>' where ours is missing, DROP + CREATE where ours points
 * elsewhere, DROP where the filter excludes the db.rp. It runs at start (retrying with backoff
 * while the upstream is absent; farad serves meanwhile), every subs.sync_interval and when asked
 * (POST /kapacitor/v1/subscriptions, which also drops dead farad-* subscriptions of other
 * instances). On a clean stop it drops its own subscriptions (subs.drop_on_stop), within 5s.
 * Blocking HTTP (libcurl) happens on this thread only, never in an event loop.
 *
 * The rule for a db.rp reached both ways (proxy write and subscription push): once the manager
 * has decided to link a db.rp (before CREATE SUBSCRIPTION is sent) the proxy no longer tees it,
 * and before the first completed sync it tees no db.rp the filter selects: a point is counted
 * at most once. See docs/ARCHITECTURE.md, "Subscriptions". */
#ifndef PROXY_SUBS_H
#define PROXY_SUBS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"

typedef struct proxy_subs proxy_subs_t;

/** Counters for /debug/vars (monotonic but num_subscriptions, a gauge). */
typedef struct proxy_subs_stats {
    uint64_t num_subscriptions; /* ours on the upstream after the last sync */
    uint64_t syncs;             /* completed syncs */
    uint64_t links;             /* CREATE SUBSCRIPTION statements that succeeded (repairs included) */
    uint64_t repairs;           /* ours re-created because the destination or mode was wrong */
    uint64_t drops;             /* ours dropped: excluded db.rp, and on stop */
    uint64_t stale_dropped;     /* other instances' dead farad-* subscriptions dropped */
    uint64_t errors;            /* failed requests or statements */
    bool linked;                /* the last sync completed */
} proxy_subs_stats_t;

/** Reads the configuration (subs.*, upstream.url, data_dir), makes or reads the persisted id in
 * data_dir/subs.id when subs.name is empty, and works out the advertised URL (api_port = the port
 * the API listener really bound). NULL with `err` filled ("subs: cannot write ./var/subs.id: ..."). */
proxy_subs_t *proxy_subs_new(const fa_conf_t *conf, int api_port, char *err, size_t errlen);
/** Starts the manager thread; the first sync starts at once. 0 or a negative FA_E* code. */
int proxy_subs_start(proxy_subs_t *s);
/** Stops the thread (an HTTP request in flight is cut short) and, with subs.drop_on_stop, drops
 * our subscriptions, giving up after 5s. Joins the thread. Idempotent. */
void proxy_subs_stop(proxy_subs_t *s);
/** After stop. NULL is fine. */
void proxy_subs_free(proxy_subs_t *s);

/** Any thread: asks for a sync as soon as possible; with drop_stale it also drops other
 * instances' farad-* subscriptions whose destinations do not answer /ping. */
void proxy_subs_request_sync(proxy_subs_t *s, bool drop_stale);
/** Any thread, lock-free: whether points written to db.rp reach farad by subscription, so the
 * proxy must not tee them. A db.rp the filter selects but not yet linked gives false and asks
 * for an early sync (at most one per second). */
bool proxy_subs_covers(proxy_subs_t *s, fa_str_t db, fa_str_t rp);
/** Any thread: a snapshot of the counters. */
void proxy_subs_get_stats(const proxy_subs_t *s, proxy_subs_stats_t *out);
/** The subscription name ("farad-<id>") and the advertised URL; constant after new. */
const char *proxy_subs_name(const proxy_subs_t *s);
const char *proxy_subs_url(const proxy_subs_t *s);
#endif
