/* engine/node_httppost.c - httpPost(url...): POSTs each point (or batch) as Kapacitor's result
 * row JSON plus one newline to every url, with header(k, v) (a Content-Type header replaces
 * application/json), timeout (default 10s) and captureResponse (a non-2xx answer's body is
 * logged). Points are passed on at once. The POSTs run on a worker thread of the node, fed by a
 * bounded queue: a full queue drops the post and counts it (`posts_dropped`); a hung endpoint
 * never delays the task.
 * endpoint(name): the url named in the httppost.endpoints config key (env->httppost_endpoints),
 * resolved when the task starts; as in Kapacitor, one endpoint and no url, or urls only.
 * codeField(name): as in Kapacitor (whether or not captureResponse is set), the point (each
 * point of a batch) is passed on with field `name` = the POST's status (an int; 0 when the
 * request failed; with several urls, the last one's). The task thread never waits for it: the
 * node holds a copy of the point until the worker has the answer and passes it on, in order, at
 * its next point or advance(). A point whose post is dropped (full queue) is passed on at once,
 * without the field. */
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/log.h"
#include "engine/nodes.h"
#include "engine/nodeutil.h"
#include "engine/props.h"

enum { POST_QUEUE = 1024 };

struct post_job {
    fa_buf_t body;
    struct post_job *next;
    /* codeField: the point or batch to pass on once answered, copied into arena */
    fa_arena_t arena;
    bool is_rows;
    eng_pt_t pt;
    eng_rows_t rows;
    long status;
};

struct hp_state {
    char **urls;
    uint32_t n_urls;
    struct curl_slist *headers;
    long timeout_ms;
    bool capture;
    pthread_t th;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct post_job *head, *tail, *free_list; /* guarded by mu */
    struct post_job *done, *done_tail;        /* codeField: answered, in order; guarded by mu */
    fa_str_t code_field;                      /* "" = none */
    uint32_t n_jobs;                          /* allocated */
    bool stop;
    char name[40];
};

static const char *const hp_counters[] = { "posts_sent", "posts_failed", "posts_dropped", NULL };

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
    fa_buf_t *b = ud;
    if (b->len < 4096)
        fa_buf_append(b, p, size * n);
    return size * n;
}

static long hp_send(eng_node_t *n, CURL *c, const fa_buf_t *body)
{
    struct hp_state *s = n->state;
    long last = 0;
    for (uint32_t i = 0; i < s->n_urls; i++) {
        fa_buf_t resp = FA_BUF_INIT;
        curl_easy_reset(c);
        curl_easy_setopt(c, CURLOPT_URL, s->urls[i]);
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body->ptr ? body->ptr : "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->len);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, s->headers);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, s->timeout_ms);
        CURLcode rc = curl_easy_perform(c);
        long status = 0;
        if (rc == CURLE_OK)
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        if (status >= 200 && status < 300) {
            atomic_fetch_add_explicit(&n->stats.own[0], 1, memory_order_relaxed);
        } else {
            atomic_fetch_add_explicit(&n->stats.own[1], 1, memory_order_relaxed);
            atomic_fetch_add_explicit(&n->stats.errors, 1, memory_order_relaxed);
            if (rc != CURLE_OK)
                FA_LOG(FA_WARN, "task %s node %s: POST %s: %s", n->task->id, s->name, s->urls[i], curl_easy_strerror(rc));
            else if (s->capture)
                FA_LOG(FA_WARN, "task %s node %s: POST %s: status %ld: %.*s", n->task->id, s->name, s->urls[i], status,
                       (int)resp.len, resp.ptr ? resp.ptr : "");
            else
                FA_LOG(FA_WARN, "task %s node %s: POST %s: status %ld", n->task->id, s->name, s->urls[i], status);
        }
        fa_buf_deinit(&resp);
        last = status;
    }
    return last;
}

static void *hp_main(void *arg)
{
    eng_node_t *n = arg;
    struct hp_state *s = n->state;
    CURL *c = curl_easy_init();
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (s->head == NULL && !s->stop)
            pthread_cond_wait(&s->cv, &s->mu);
        struct post_job *j = s->head;
        if (j == NULL)
            break;
        s->head = j->next;
        if (s->head == NULL)
            s->tail = NULL;
        pthread_mutex_unlock(&s->mu);
        j->status = c != NULL ? hp_send(n, c, &j->body) : 0;
        pthread_mutex_lock(&s->mu);
        if (s->code_field.len != 0) {
            j->next = NULL;
            if (s->done_tail != NULL)
                s->done_tail->next = j;
            else
                s->done = j;
            s->done_tail = j;
        } else {
            j->next = s->free_list;
            s->free_list = j;
        }
    }
    pthread_mutex_unlock(&s->mu);
    curl_easy_cleanup(c);
    return NULL;
}

/* The url of endpoint `name` in env's "name=url,name2=url2", or a NULL slice. */
static fa_str_t endpoint_url(const eng_env_t *env, fa_str_t name)
{
    const char *s = env != NULL ? env->httppost_endpoints : NULL;
    while (s != NULL && *s != 0) {
        size_t item = strcspn(s, ","), eq = strcspn(s, "=,");
        if (eq < item && eq == name.len && memcmp(s, name.ptr, eq) == 0)
            return fa_str(s + eq + 1, item - eq - 1);
        s += item + (s[item] == ',');
    }
    return FA_STR_NULL;
}

static int hp_init(eng_node_t *n, tick_err_t *err)
{
    struct hp_state *s = n->state;
    fa_arena_t *a = &n->task->arena;
    memset(err, 0, sizeof(*err));
    err->code = TICK_ETYPE;
    err->pos = n->spec->pos;
    snprintf(s->name, sizeof s->name, "%s", n->name);
    fa_str_t *urls, url;
    s->n_urls = eng_call_strs(n, &urls);
    if (eng_prop_set(n, "endpoint")) {
        fa_str_t name = eng_prop_str(n, "endpoint", FA_STR_NULL);
        err->pos = eng_node_prop(n, "endpoint")->pos;
        if (s->n_urls != 0) {
            snprintf(err->msg, sizeof err->msg, "httpPost: only one of url and endpoint can be specified");
            return -1;
        }
        url = endpoint_url(n->task->env, name);
        if (url.ptr == NULL) {
            snprintf(err->msg, sizeof err->msg, "httpPost: endpoint \"%.*s\" is not in the httppost.endpoints configuration",
                     (int)name.len, name.ptr);
            return -1;
        }
        urls = &url;
        s->n_urls = 1;
    }
    s->code_field = eng_prop_str(n, "codeField", FA_STR_NULL);
    if (s->n_urls == 0) {
        snprintf(err->msg, sizeof err->msg, "httpPost: no url given");
        return -1;
    }
    s->urls = FA_NEW(a, char *, s->n_urls);
    for (uint32_t i = 0; i < s->n_urls; i++)
        s->urls[i] = fa_arena_strndup(a, urls[i].ptr, urls[i].len);
    const tick_call_t *c[64];
    uint32_t nh = eng_prop_calls(n, "header", c, 64);
    bool ctype = false;
    for (uint32_t i = 0; i < nh; i++) {
        fa_str_t k = eng_expr_str(c[i]->args[0]), v = eng_expr_str(c[i]->args[1]);
        char line[512];
        snprintf(line, sizeof line, "%.*s: %.*s", (int)k.len, k.ptr, (int)v.len, v.ptr);
        ctype |= k.len == 12 && strncasecmp(k.ptr, "Content-Type", 12) == 0;
        s->headers = curl_slist_append(s->headers, line);
    }
    if (!ctype)
        s->headers = curl_slist_append(s->headers, "Content-Type: application/json");
    s->headers = curl_slist_append(s->headers, "Expect:");
    s->timeout_ms = (long)(eng_prop_dur(n, "timeout", 10000000000LL) / 1000000);
    if (s->timeout_ms <= 0)
        s->timeout_ms = 10000;
    s->capture = eng_prop_set(n, "captureResponse");
    curl_global_init(CURL_GLOBAL_DEFAULT);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    if (pthread_create(&s->th, NULL, hp_main, n) != 0) {
        snprintf(err->msg, sizeof err->msg, "httpPost: cannot start its worker thread");
        return -1;
    }
    s->started = true;
    return 0;
}

/* queues one body; built into a pooled job outside the lock. false: dropped (queue full) */
static bool hp_queue(eng_node_t *n, const eng_pt_t *p, const eng_rows_t *b)
{
    struct hp_state *s = n->state;
    pthread_mutex_lock(&s->mu);
    struct post_job *j = s->free_list;
    if (j != NULL)
        s->free_list = j->next;
    else if (s->n_jobs < POST_QUEUE && (j = calloc(1, sizeof *j)) != NULL)
        s->n_jobs++;
    pthread_mutex_unlock(&s->mu);
    if (j == NULL) {
        atomic_fetch_add_explicit(&n->stats.own[2], 1, memory_order_relaxed);
        return false;
    }
    fa_buf_clear(&j->body);
    if (s->code_field.len != 0) {
        if (j->arena._chunk_size == 0)
            fa_arena_init(&j->arena, 4096, 0);
        fa_arena_reset(&j->arena);
        j->is_rows = p == NULL;
        if (p != NULL) {
            j->pt = *p;
            eng_point_copy(&j->arena, &j->pt.p, &p->p);
        } else {
            eng_rows_copy(&j->arena, &j->rows, b);
        }
    }
    if (p != NULL)
        eng_json_row_point(&j->body, &p->p);
    else
        eng_json_row_rows(&j->body, b);
    fa_buf_append(&j->body, "\n", 1);
    j->next = NULL;
    pthread_mutex_lock(&s->mu);
    if (s->tail != NULL)
        s->tail->next = j;
    else
        s->head = j;
    s->tail = j;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return true;
}

/* p with field code_field = status (replacing one of that name), in scratch */
static void with_code(eng_node_t *n, const eng_point_t *p, long status, eng_point_t *out)
{
    struct hp_state *s = n->state;
    eng_field_t *f = FA_NEW(&n->task->scratch, eng_field_t, p->n_fields + 1);
    uint32_t k = 0;
    for (uint32_t i = 0; i < p->n_fields; i++)
        if (!fa_str_eq(p->fields[i].key, s->code_field))
            f[k++] = p->fields[i];
    f[k++] = (eng_field_t){ s->code_field, { .type = ENG_INT, .i = status } };
    *out = *p;
    out->fields = f;
    out->n_fields = k;
}

/* codeField: passes on, in order, what the worker has answered */
static void hp_drain(eng_node_t *n)
{
    struct hp_state *s = n->state;
    if (s->code_field.len == 0)
        return;
    pthread_mutex_lock(&s->mu);
    struct post_job *j = s->done;
    s->done = s->done_tail = NULL;
    pthread_mutex_unlock(&s->mu);
    while (j != NULL) {
        struct post_job *next = j->next;
        if (j->is_rows) {
            eng_rows_t r = j->rows;
            r.points = FA_NEW(&n->task->scratch, eng_point_t, r.n ? r.n : 1);
            for (uint32_t i = 0; i < r.n; i++)
                with_code(n, &j->rows.points[i], j->status, &r.points[i]);
            eng_emit_rows(n, &r);
        } else {
            eng_pt_t p = j->pt;
            with_code(n, &j->pt.p, j->status, &p.p);
            eng_emit_point(n, &p);
        }
        pthread_mutex_lock(&s->mu);
        j->next = s->free_list;
        s->free_list = j;
        pthread_mutex_unlock(&s->mu);
        j = next;
    }
}

static void hp_point(eng_node_t *n, eng_node_t *from, const eng_pt_t *p)
{
    struct hp_state *s = n->state;
    hp_drain(n);
    if (!hp_queue(n, p, NULL) || s->code_field.len == 0)
        eng_emit_point(n, p);
}

static void hp_rows(eng_node_t *n, eng_node_t *from, const eng_rows_t *b)
{
    struct hp_state *s = n->state;
    hp_drain(n);
    if (!hp_queue(n, NULL, b) || s->code_field.len == 0)
        eng_emit_rows(n, b);
}

static void hp_advance(eng_node_t *n, int64_t now) { hp_drain(n); }

static void free_jobs(struct post_job *j)
{
    for (struct post_job *next; j != NULL; j = next) {
        next = j->next;
        fa_buf_deinit(&j->body);
        if (j->arena._chunk_size != 0)
            fa_arena_deinit(&j->arena);
        free(j);
    }
}

static void hp_deinit(eng_node_t *n)
{
    struct hp_state *s = n->state;
    if (s->started) {
        pthread_mutex_lock(&s->mu);
        s->stop = true;
        pthread_cond_signal(&s->cv);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->th, NULL); /* what is queued is sent first (each POST bounded by timeout) */
        free_jobs(s->free_list);
        free_jobs(s->done);
        pthread_cond_destroy(&s->cv);
        pthread_mutex_destroy(&s->mu);
    }
    curl_slist_free_all(s->headers);
}

const eng_node_ops_t eng_node_httpPost = { .type = "httpPost",
                                           .state_size = sizeof(struct hp_state),
                                           .init = hp_init,
                                           .point = hp_point,
                                           .rows = hp_rows,
                                           .advance = hp_advance,
                                           .deinit = hp_deinit,
                                           .counters = hp_counters };
