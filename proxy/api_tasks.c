/* proxy/api_tasks.c - the HTTP side of Kapacitor's task API on the API thread: tasks,
 * templates, httpOut endpoints, loglevel, /:routes, and the JSON responses every API handler
 * sends.
 *
 * Reads are answered from the registry (engine/defs.h) at once; changes (POST, PATCH, DELETE)
 * are queued by api_queue_change (api_changes.c), which answers them once they ran. */
#include "proxy/api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/nodes.h"

/* ---- responses ---- */

void api_add_headers(h2o_req_t *req)
{
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-kapacitor-version"), 0, "X-Kapacitor-Version",
                          H2O_STRLIT("farad-" FARAD_VERSION));
}

static const char *reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Request Entity Too Large";
    case 503: return "Service Unavailable";
    default: return "Internal Server Error";
    }
}

void api_send_json(h2o_req_t *req, int status, json_t *doc)
{
    char *s = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(doc);
    size_t n = s ? strlen(s) : 0;
    h2o_iovec_t body = h2o_strdup(&req->pool, s ? s : "", n);
    free(s);
    req->res.status = status;
    req->res.reason = reason(status);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, H2O_STRLIT("application/json"));
    api_add_headers(req);
    h2o_send_inline(req, body.base, body.len);
}

void api_send_error(h2o_req_t *req, int status, const char *msg)
{
    api_send_json(req, status, json_pack("{s:s}", "error", msg));
}

void api_send_no_content(h2o_req_t *req)
{
    req->res.status = 204;
    req->res.reason = "No Content";
    api_add_headers(req);
    h2o_send_inline(req, NULL, 0);
}

/* ---- handlers ---- */

/* "/kapacitor/v1/tasks/ID/rest" -> the part after `what` ("ID/rest"), or NULL */
static h2o_iovec_t path_rest(h2o_req_t *req, const char *what)
{
    h2o_iovec_t p = req->path_normalized;
    const char *pfx[] = { "/kapacitor/v1/", "/kapacitor/v1preview/" };
    for (int i = 0; i < 2; i++) {
        size_t n = strlen(pfx[i]), w = strlen(what);
        if (p.len >= n + w && memcmp(p.base, pfx[i], n) == 0 && memcmp(p.base + n, what, w) == 0) {
            h2o_iovec_t r = h2o_iovec_init(p.base + n + w, p.len - n - w);
            while (r.len && r.base[0] == '/')
                r.base++, r.len--;
            while (r.len && r.base[r.len - 1] == '/')
                r.len--;
            return r;
        }
    }
    return h2o_iovec_init("", 0);
}

static bool is_method(h2o_req_t *req, const char *m) { return h2o_memis(req->method.base, req->method.len, m, strlen(m)); }

/* The body as JSON; answers 413/400 itself and returns NULL. */
static json_t *read_body(h2o_req_t *req)
{
    proxy_thread_t *t = proxy_thread_of(req);
    uint64_t max = t->server->conf->api_max_body;
    char msg[300];
    if (req->entity.len > max) {
        snprintf(msg, sizeof msg, "request body too large: %zu bytes, api.max_body is %llu", req->entity.len,
                 (unsigned long long)max);
        api_send_error(req, 413, msg);
        return NULL;
    }
    json_error_t je;
    json_t *j = json_loadb(req->entity.base ? req->entity.base : "", req->entity.len, 0, &je);
    if (j == NULL) {
        snprintf(msg, sizeof msg, "invalid JSON: %s at line %d column %d", je.text, je.line, je.column);
        api_send_error(req, 400, msg);
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        api_send_error(req, 400, "invalid JSON: the body must be an object");
        return NULL;
    }
    return j;
}

/* Every value of a repeatable query parameter. */
static void view_from_query(h2o_req_t *req, api_view_t *v)
{
    memset(v, 0, sizeof(*v));
    if (req->query_at == SIZE_MAX)
        return;
    const char *p = req->path.base + req->query_at + 1, *end = req->path.base + req->path.len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p)), *stop = amp ? amp : end;
        h2o_iovec_t val;
        h2o_iovec_t one = h2o_iovec_init(p, (size_t)(stop - p));
        if (proxy_form_param(&req->pool, one, "fields", &val) == 0 && val.len && v->n_fields < 32) {
            char *s = h2o_mem_alloc_pool(&req->pool, val.len + 1);
            memcpy(s, val.base, val.len);
            s[val.len] = '\0';
            v->fields[v->n_fields++] = s;
        }
        p = stop + 1;
    }
}

static char *param_str(h2o_req_t *req, const char *name, const char *def)
{
    h2o_iovec_t v;
    if (proxy_query_param(req, name, &v) != 0)
        return (char *)def;
    char *s = h2o_mem_alloc_pool(&req->pool, v.len + 1);
    memcpy(s, v.base, v.len);
    s[v.len] = '\0';
    return s;
}

/* view, offset, limit from the query; answers 400 itself */
static int list_params(h2o_req_t *req, api_view_t *v, uint32_t *offset, uint32_t *limit)
{
    view_from_query(req, v);
    const char *o = param_str(req, "offset", "0"), *l = param_str(req, "limit", "100");
    char *end;
    long long ov = strtoll(o, &end, 10);
    if (*o == '\0' || *end || ov < 0) {
        api_send_error(req, 400, "invalid offset: must be a non-negative integer");
        return -1;
    }
    long long lv = strtoll(l, &end, 10);
    if (*l == '\0' || *end || lv < 0) {
        api_send_error(req, 400, "invalid limit: must be a non-negative integer");
        return -1;
    }
    *offset = (uint32_t)(ov > 1000000 ? 1000000 : ov);
    *limit = (uint32_t)(lv > 100000 ? 100000 : lv == 0 ? 100 : lv);
    return 0;
}

/* dot-view and script-format; answers 400 itself */
static int format_params(h2o_req_t *req, api_view_t *v)
{
    const char *dv = param_str(req, "dot-view", "attributes"), *sf = param_str(req, "script-format", "formatted");
    if (strcmp(dv, "attributes") != 0 && strcmp(dv, "labels") != 0 && *dv) {
        api_send_error(req, 400, "invalid dot-view parameter: use attributes or labels");
        return -1;
    }
    if (strcmp(sf, "formatted") != 0 && strcmp(sf, "raw") != 0 && *sf) {
        api_send_error(req, 400, "invalid script-format parameter: use formatted or raw");
        return -1;
    }
    v->dot_labels = strcmp(dv, "labels") == 0;
    v->raw_script = strcmp(sf, "raw") == 0;
    return 0;
}

static proxy_api_t *api_of(h2o_req_t *req) { return proxy_thread_of(req)->server->api; }

static void list_tasks(h2o_req_t *req, proxy_api_t *api)
{
    api_view_t v;
    uint32_t offset, limit;
    if (list_params(req, &v, &offset, &limit) != 0 || format_params(req, &v) != 0)
        return;
    eng_tdef_t **out = malloc(sizeof(*out) * limit);
    uint32_t n = eng_defs_tasks(api->defs, param_str(req, "pattern", ""), offset, out, limit);
    json_t *a = json_array();
    for (uint32_t i = 0; i < n; i++)
        json_array_append_new(a, api_task_json(api, out[i], &v));
    free(out);
    api_send_json(req, 200, json_pack("{s:o}", "tasks", a));
}

static void list_templates(h2o_req_t *req, proxy_api_t *api)
{
    api_view_t v;
    uint32_t offset, limit;
    if (list_params(req, &v, &offset, &limit) != 0 || format_params(req, &v) != 0)
        return;
    eng_tmpl_t **out = malloc(sizeof(*out) * limit);
    uint32_t n = eng_defs_templates(api->defs, param_str(req, "pattern", ""), offset, out, limit);
    json_t *a = json_array();
    for (uint32_t i = 0; i < n; i++)
        json_array_append_new(a, api_template_json(api, out[i], &v));
    free(out);
    api_send_json(req, 200, json_pack("{s:o}", "templates", a));
}

static void get_task(h2o_req_t *req, proxy_api_t *api, const char *id)
{
    api_view_t v = { 0 };
    if (format_params(req, &v) != 0)
        return;
    if (*param_str(req, "replay-id", "")) {
        api_send_error(req, 404, "no replay exists with that id");
        return;
    }
    eng_tdef_t *t = eng_defs_task(api->defs, id);
    if (t == NULL)
        api_send_error(req, 404, "no task exists");
    else
        api_send_json(req, 200, api_task_json(api, t, &v));
}

static void get_template(h2o_req_t *req, proxy_api_t *api, const char *id)
{
    api_view_t v = { 0 };
    if (format_params(req, &v) != 0)
        return;
    eng_tmpl_t *t = eng_defs_template(api->defs, id);
    if (t == NULL)
        api_send_error(req, 404, "no template exists");
    else
        api_send_json(req, 200, api_template_json(api, t, &v));
}

static void httpout(h2o_req_t *req, proxy_api_t *api, const char *id, const char *name)
{
    eng_tdef_t *t = eng_defs_task(api->defs, id);
    if (t == NULL) {
        api_send_error(req, 404, "no task exists");
        return;
    }
    const eng_node_t *n = t->running ? eng_httpout_find(t->running, fa_str_c(name)) : NULL;
    if (n == NULL) {
        char msg[400];
        snprintf(msg, sizeof msg, "task %s has no httpOut endpoint %s%s", id, name, t->running ? "" : " (it is not running)");
        api_send_error(req, 404, msg);
        return;
    }
    fa_buf_t b = FA_BUF_INIT;
    eng_httpout_read(n, &b);
    h2o_iovec_t body = h2o_strdup(&req->pool, b.ptr ? b.ptr : "", b.len);
    fa_buf_deinit(&b);
    req->res.status = 200;
    req->res.reason = "OK";
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, H2O_STRLIT("application/json"));
    api_add_headers(req);
    h2o_send_inline(req, body.base, body.len);
}

static char *iov_str(h2o_req_t *req, h2o_iovec_t v)
{
    char *s = h2o_mem_alloc_pool(&req->pool, v.len + 1);
    memcpy(s, v.base, v.len);
    s[v.len] = '\0';
    return s;
}

/* GET or POST on /tasks or /templates */
static void on_collection(h2o_req_t *req, proxy_api_t *api, bool tmpl)
{
    if (is_method(req, "GET")) {
        if (tmpl)
            list_templates(req, api);
        else
            list_tasks(req, api);
    } else if (is_method(req, "POST")) {
        json_t *body = read_body(req);
        if (body != NULL)
            api_queue_change(api, req, tmpl ? API_TMPL_PUT : API_TASK_PUT, NULL, body);
    } else
        api_send_error(req, 405, tmpl ? "method not allowed: use GET or POST on /templates"
                                      : "method not allowed: use GET or POST on /tasks");
}

/* GET, PATCH or DELETE on /tasks/ID or /templates/ID */
static void on_item(h2o_req_t *req, proxy_api_t *api, bool tmpl, const char *id)
{
    if (is_method(req, "GET")) {
        if (tmpl)
            get_template(req, api, id);
        else
            get_task(req, api, id);
    } else if (is_method(req, "PATCH")) {
        json_t *body = read_body(req);
        if (body != NULL)
            api_queue_change(api, req, tmpl ? API_TMPL_PUT : API_TASK_PUT, id, body);
    } else if (is_method(req, "DELETE"))
        api_queue_change(api, req, tmpl ? API_TMPL_DELETE : API_TASK_DELETE, id, NULL);
    else
        api_send_error(req, 405, tmpl ? "method not allowed: use GET, PATCH or DELETE on /templates/ID"
                                      : "method not allowed: use GET, PATCH or DELETE on /tasks/ID");
}

static int on_tasks(h2o_handler_t *self, h2o_req_t *req)
{
    proxy_api_t *api = api_of(req);
    h2o_iovec_t rest = path_rest(req, "tasks");
    const char *slash = memchr(rest.base, '/', rest.len);
    if (rest.len == 0) {
        on_collection(req, api, false);
        return 0;
    }
    if (rest.len >= 256) {
        api_send_error(req, 404, "no task exists");
        return 0;
    }
    if (slash != NULL) {
        if (!is_method(req, "GET")) {
            api_send_error(req, 405, "method not allowed: httpOut endpoints answer GET");
            return 0;
        }
        char *id = iov_str(req, h2o_iovec_init(rest.base, (size_t)(slash - rest.base)));
        char *name = iov_str(req, h2o_iovec_init(slash + 1, rest.len - (size_t)(slash + 1 - rest.base)));
        httpout(req, api, id, name);
        return 0;
    }
    on_item(req, api, false, iov_str(req, rest));
    return 0;
}

static int on_templates(h2o_handler_t *self, h2o_req_t *req)
{
    proxy_api_t *api = api_of(req);
    h2o_iovec_t rest = path_rest(req, "templates");
    if (rest.len == 0)
        on_collection(req, api, true);
    else if (rest.len >= 256 || memchr(rest.base, '/', rest.len) != NULL)
        api_send_error(req, 404, "no template exists");
    else
        on_item(req, api, true, iov_str(req, rest));
    return 0;
}

static int on_loglevel(h2o_handler_t *self, h2o_req_t *req)
{
    if (!is_method(req, "POST")) {
        api_send_error(req, 405, "method not allowed: use POST on /loglevel");
        return 0;
    }
    json_t *body = read_body(req);
    if (body == NULL)
        return 0;
    const char *lvl = json_string_value(json_object_get(body, "level"));
    int level;
    char msg[200];
    if (lvl == NULL || fa_log_level_parse(lvl, &level) != 0) {
        snprintf(msg, sizeof msg, "invalid log level %s%s%s: use debug, info, warn or error", lvl ? "\"" : "",
                 lvl ? lvl : "(none)", lvl ? "\"" : "");
        api_send_error(req, 400, msg);
    } else {
        fa_log_level = level;
        FA_LOG(FA_INFO, "log level set to %s", fa_log_level_name(level));
        api_send_no_content(req);
    }
    json_decref(body);
    return 0;
}

static const char *const routes[][2] = {
    { "GET", "/kapacitor/v1/ping" },           { "HEAD", "/kapacitor/v1/ping" },
    { "POST", "/kapacitor/v1/write" },         { "POST", "/write" },
    { "GET", "/kapacitor/v1/tasks" },          { "POST", "/kapacitor/v1/tasks" },
    { "GET", "/kapacitor/v1/tasks/:id" },      { "PATCH", "/kapacitor/v1/tasks/:id" },
    { "DELETE", "/kapacitor/v1/tasks/:id" },   { "GET", "/kapacitor/v1/tasks/:id/:endpoint" },
    { "GET", "/kapacitor/v1/templates" },      { "POST", "/kapacitor/v1/templates" },
    { "GET", "/kapacitor/v1/templates/:id" },  { "PATCH", "/kapacitor/v1/templates/:id" },
    { "DELETE", "/kapacitor/v1/templates/:id" }, { "GET", "/kapacitor/v1/debug/vars" },
    { "POST", "/kapacitor/v1/loglevel" },      { "GET", "/kapacitor/v1/:routes" },
};

static int on_routes(h2o_handler_t *self, h2o_req_t *req)
{
    json_t *o = json_object();
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        char key[128];
        snprintf(key, sizeof key, "%s %s", routes[i][0], routes[i][1]);
        json_object_set_new(o, key, json_pack("{s:s,s:s}", "method", routes[i][0], "pattern", routes[i][1]));
    }
    api_send_json(req, 200, o);
    return 0;
}

void proxy_api_tasks_register(proxy_server_t *s, h2o_hostconf_t *host)
{
    static const char *const pfx[] = { "/kapacitor/v1", "/kapacitor/v1preview" };
    for (int i = 0; i < 2; i++) {
        char p[64];
        snprintf(p, sizeof p, "%s/tasks", pfx[i]);
        proxy_route(host, p, on_tasks);
        snprintf(p, sizeof p, "%s/templates", pfx[i]);
        proxy_route(host, p, on_templates);
        snprintf(p, sizeof p, "%s/loglevel", pfx[i]);
        proxy_route(host, p, on_loglevel);
        snprintf(p, sizeof p, "%s/:routes", pfx[i]);
        proxy_route(host, p, on_routes);
    }
}
