/* proxy/api.h - the task API's state on the API thread (api_tasks.c) and the JSON shapes
 * (api_json.c). Internal to proxy/. */
#ifndef PROXY_API_H
#define PROXY_API_H
#include <jansson.h>
#include <stdbool.h>

#include "engine/defs.h"
#include "proxy/internal.h"

typedef struct api_op api_op_t;

/** Owned by the API thread once it runs (main sets it up before). */
typedef struct proxy_api {
    proxy_server_t *server;
    eng_tm_t *tm;
    eng_defs_t *defs;
    const eng_defstore_t *store;   /* NULL = definitions in memory only */
    h2o_multithread_queue_t *queue; /* store completions and load requests come back through it */
    h2o_multithread_receiver_t receiver;
    api_op_t *head, *tail;         /* mutations wait here, one runs at a time */
    api_op_t *busy;                /* the one waiting for the store */
    unsigned n_waiting;            /* ops in head..tail (bounded) */
    bool loaded;                   /* the store's definitions are in the registry */
    eng_load_t *pending_load;      /* a load directory waiting for them */
    char load_err[320];            /* why they are not (yet) */
    h2o_timeout_t retry_timeout;
    h2o_timeout_entry_t retry;
} proxy_api_t;

/** Fields and formats a GET asked for. */
typedef struct api_view {
    const char *fields[32];
    unsigned n_fields;             /* 0 = all */
    bool raw_script;               /* script-format=raw */
    bool dot_labels;               /* dot-view=labels */
} api_view_t;

/** Whether the view includes `field` (id and link always come). */
bool api_view_wants(const api_view_t *v, const char *field);
/** Go's RFC 3339 with nanoseconds (trailing zeros trimmed); 0 -> 0001-01-01T00:00:00Z. */
json_t *api_time_json(int64_t ns);
/** "10s", "1h30m", "500ms", "3d": 0 and ns, or -1. */
int api_parse_duration(const char *s, int64_t *out);
/** A vars JSON text in Kapacitor's output shape (durations in ns, star values {"typeOf":"star"}). */
json_t *api_vars_json(const char *vars);
/** The task object; v NULL = every field. */
json_t *api_task_json(proxy_api_t *api, const eng_tdef_t *t, const api_view_t *v);
json_t *api_template_json(proxy_api_t *api, const eng_tmpl_t *t, const api_view_t *v);

/** Creates the API state on the API thread's loop (queue and receiver); sets s->api. 0 or -1. */
int proxy_api_init(proxy_server_t *s, h2o_loop_t *loop);
/** Frees the API state once its thread is joined and the store is gone. */
void proxy_api_free(proxy_server_t *s);
/** Registers the task API routes (tasks, templates, loglevel, /:routes) under both prefixes. */
void proxy_api_tasks_register(proxy_server_t *s, h2o_hostconf_t *host);
/** Sends a Kapacitor JSON response with X-Kapacitor-Version; takes `doc`. */
void api_send_json(h2o_req_t *req, int status, json_t *doc);
/** {"error": msg} with status. */
void api_send_error(h2o_req_t *req, int status, const char *msg);
/** Adds X-Kapacitor-Version. */
void api_add_headers(h2o_req_t *req);
#endif
