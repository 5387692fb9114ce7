/* proxy/outwriter.h - the daemon's writer for influxDBOut: points a task hands over are turned
 * into line protocol on the task's thread, queued (bounded: a full queue drops and counts), and a
 * writer thread POSTs them with libcurl to the upstream's /write (never through the tee, so
 * nothing loops), batching consecutive chunks for the same db.rp, retrying 5xx and connection
 * errors with backoff, and sending CREATE DATABASE first for nodes with .create(). */
#ifndef PROXY_OUTWRITER_H
#define PROXY_OUTWRITER_H
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"
#include "engine/task.h"

typedef struct proxy_outwriter proxy_outwriter_t;

/** Counters, read with proxy_outwriter_stats from any thread. */
typedef struct proxy_outwriter_stats {
    uint64_t points_queued, points_written, points_dropped; /* dropped: queue full or refused (4xx) */
    uint64_t requests, retries, errors, databases_created;
} proxy_outwriter_stats_t;

/** Starts the writer thread for conf->upstream_url (conf must outlive it). NULL with err filled. */
proxy_outwriter_t *proxy_outwriter_new(const fa_conf_t *conf, char *err, size_t errlen);
/** Queues points for db.rp (any thread; node n's influxDBOut options apply). Never blocks on the
 * network: when the queue is full the points are dropped and counted. */
void proxy_outwriter_write(proxy_outwriter_t *w, eng_node_t *n, fa_str_t db, fa_str_t rp, const eng_point_t *pts,
                           uint32_t n_pts);
/** An eng_env_t.write_points callback: `ud` is the proxy_outwriter_t. */
void proxy_outwriter_write_points(void *ud, eng_node_t *n, fa_str_t db, fa_str_t rp, const eng_point_t *pts,
                                  uint32_t n_pts);
/** Sets env->write_points (and env->ud when it is NULL) to this writer. */
void proxy_outwriter_env(proxy_outwriter_t *w, eng_env_t *env);
/** Waits (at most timeout_ms) until everything queued so far was sent or given up. 0 or FA_EAGAIN. */
int proxy_outwriter_flush(proxy_outwriter_t *w, uint64_t timeout_ms);
void proxy_outwriter_stats(proxy_outwriter_t *w, proxy_outwriter_stats_t *out);
/** Sends what is queued (one attempt each), stops the thread and frees the writer. */
void proxy_outwriter_free(proxy_outwriter_t *w);
#endif
