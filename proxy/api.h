/* proxy/api.h - the task API's state on the API thread: its HTTP side (api_tasks.c), its queue of
 * changes (api_changes.c) and the JSON shapes (api_json.c). Internal to proxy/. */
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
/** A vars JSON text in Kapacitor's output shape (durations in ns, star values {"typeOf":"star"}). */
json_t *api_vars_json(const char *vars);
/** The task object; v NULL = every field. */
json_t *api_task_json(proxy_api_t *api, const eng_tdef_t *t, const api_view_t *v);
json_t *api_template_json(proxy_api_t *api, const eng_tmpl_t *t, const api_view_t *v);

/** A change a request asks for. */
typedef enum api_change { API_TASK_PUT, API_TASK_DELETE, API_TMPL_PUT, API_TMPL_DELETE } api_change_t;

/** Queues a change of req (api_changes.c), answered once it ran, changes running one at a time in
 * the order they came. A PUT takes `body` and creates the task or template (POST) when id is
 * NULL, else updates id (PATCH); a DELETE removes id (body NULL). */
void api_queue_change(proxy_api_t *api, h2o_req_t *req, api_change_t what, const char *id, json_t *body);

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
/** 204 with X-Kapacitor-Version and no body. */
void api_send_no_content(h2o_req_t *req);
/** Adds X-Kapacitor-Version. */
void api_add_headers(h2o_req_t *req);
#endif
