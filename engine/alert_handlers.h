/* engine/alert_handlers.h - the alert handler service: log, post, tcp and exec handlers run on
 * worker threads, never on a task's thread.
 *
 * Each handler (one `.log()`, `.post()`, `.tcp()` or `.exec()` of an alert node) has its own
 * bounded lane of pending events. Workers take lanes from a ready list, one event at a time, and
 * a lane is never worked on by two workers at once: events of one handler go out in order, and
 * a handler that hangs (an endpoint that never answers, a program that never exits) holds at
 * most one worker, until its timeout, while the other lanes keep flowing. A full lane drops the
 * event and counts it; submitting never blocks (one short mutex section).
 *
 * Lifetimes: an alert node creates its handlers at task start (eng_alert_handler_new) and
 * releases them in deinit; a handler is freed once released and drained. Free every task using
 * a service before the service. Stopping waits for in-flight events (bounded by their timeout)
 * and drops what is still queued. */
#ifndef ENGINE_ALERT_HANDLERS_H
#define ENGINE_ALERT_HANDLERS_H
#include <stdatomic.h>
#include <stdint.h>

#include "base/str.h"

typedef struct eng_alert_svc eng_alert_svc_t;
typedef struct eng_alert_handler eng_alert_handler_t;

/** Service settings (0 = the default in brackets). */
typedef struct eng_alert_svc_conf {
    uint32_t workers;       /* worker threads [2] */
    uint32_t lane_cap;      /* pending events per handler [256] */
    int64_t timeout_ns;     /* per event, for handlers without their own timeout [10s] */
    const char *hostname;   /* ServerInfo.Hostname in templates ["localhost", Kapacitor's default] */
    const char *cluster_id; /* ServerInfo.ClusterID [""] */
    const char *server_id;  /* ServerInfo.ServerID [""] */
} eng_alert_svc_conf_t;

typedef enum eng_handler_kind {
    ENG_HANDLER_LOG,  /* JSON line appended to a file */
    ENG_HANDLER_POST, /* HTTP POST of the JSON (libcurl) */
    ENG_HANDLER_TCP,  /* JSON and two newlines over a new TCP connection */
    ENG_HANDLER_EXEC, /* a program with the JSON on its stdin, arguments passed literally */
} eng_handler_kind_t;

/** Counters of one handler; written by workers and the submitting thread, read by anyone. */
typedef struct eng_handler_stats {
    atomic_uint_fast64_t queued;    /* accepted by submit */
    atomic_uint_fast64_t dropped;   /* refused: lane full or service stopping */
    atomic_uint_fast64_t delivered; /* the handler succeeded */
    atomic_uint_fast64_t failed;    /* error, bad status, non-zero exit, or timeout */
    atomic_uint_fast64_t timeouts;  /* of which timeouts */
} eng_handler_stats_t;

/** Starts the workers. Returns NULL when threads cannot be started. */
eng_alert_svc_t *eng_alert_svc_new(const eng_alert_svc_conf_t *conf);
/** Stops the workers (waiting for in-flight events) and frees the service. */
void eng_alert_svc_free(eng_alert_svc_t *s);
/** The settings in effect (defaults filled in). */
const eng_alert_svc_conf_t *eng_alert_svc_conf(const eng_alert_svc_t *s);

/** A handler of `kind` with its target: file path (log), URL (post), host:port (tcp) or program
 * (exec). Strings are copied. timeout_ns 0 = the service's. */
eng_alert_handler_t *eng_alert_handler_new(eng_alert_svc_t *s, eng_handler_kind_t kind, fa_str_t target,
                                           int64_t timeout_ns);
/** post: adds a header (Content-Type is ignored: application/json always wins, as in Kapacitor). */
void eng_alert_handler_header(eng_alert_handler_t *h, fa_str_t key, fa_str_t value);
/** exec: appends an argument (passed literally, no template rendering). */
void eng_alert_handler_arg(eng_alert_handler_t *h, fa_str_t arg);
/** log: file mode for a created file [0600]. post: skip TLS verification. */
void eng_alert_handler_set_mode(eng_alert_handler_t *h, int mode);
void eng_alert_handler_set_insecure(eng_alert_handler_t *h, int insecure);
/** Queues one event (the event JSON, no trailing newline; copied). Returns 0, or FA_EAGAIN when
 * the lane is full (the event is dropped and counted). Never blocks. */
int eng_alert_handler_submit(eng_alert_handler_t *h, fa_str_t json);
/** The handler's counters. */
const eng_handler_stats_t *eng_alert_handler_stats(const eng_alert_handler_t *h);
/** Gives up the creator's reference; the handler is freed once its lane has drained. */
void eng_alert_handler_release(eng_alert_handler_t *h);
#endif
