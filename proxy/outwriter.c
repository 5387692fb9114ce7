/* proxy/outwriter.c - influxDBOut's writer: bounded chunk queue (mutex + condition: producers are
 * task threads, the consumer is one writer thread that may block on the network), libcurl POSTs
 * to the upstream's /write, retries with backoff, CREATE DATABASE for .create(). */
#include "proxy/outwriter.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "engine/nodes.h"
#include "engine/runner.h"

enum {
    MAX_CHUNKS = 256,              /* queued chunks; a full queue drops */
    MAX_BODY = 4 << 20,            /* bytes per POST when batching chunks */
    MAX_ATTEMPTS = 5,              /* per POST, while running */
    BACKOFF_MS = 100,              /* doubled after each failed attempt */
    MAX_CREATED = 64,              /* databases remembered as created */
};

struct chunk {
    char db[128], rp[128], consistency[32];
    bool create;
    uint32_t n_points;
    fa_buf_t body;
    struct chunk *next;
};

struct proxy_outwriter {
    const fa_conf_t *conf;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv, idle_cv;
    struct chunk *head, *tail, *free_list; /* guarded by mu */
    uint32_t n_chunks;                     /* allocated, queued or in use; guarded by mu */
    bool stop, busy;
    proxy_outwriter_stats_t st;            /* guarded by mu */
    CURL *curl;                            /* writer thread only */
    char created[MAX_CREATED][128];        /* writer thread only */
    uint32_t n_created;
    fa_buf_t url, body;                    /* writer thread only */
};

static void copy_c(char *dst, size_t cap, fa_str_t s)
{
    size_t n = s.len < cap - 1 ? s.len : cap - 1;
    if (n)
        memcpy(dst, s.ptr, n);
    dst[n] = 0;
}

void proxy_outwriter_write(proxy_outwriter_t *w, eng_node_t *n, fa_str_t db, fa_str_t rp, const eng_point_t *pts,
                           uint32_t n_pts)
{
    pthread_mutex_lock(&w->mu);
    struct chunk *c = w->free_list;
    if (c != NULL)
        w->free_list = c->next;
    else if (w->n_chunks < MAX_CHUNKS && (c = calloc(1, sizeof *c)) != NULL)
        w->n_chunks++;
    if (c == NULL) {
        w->st.points_dropped += n_pts;
        pthread_mutex_unlock(&w->mu);
        FA_LOG(FA_WARN, "influxDBOut writer: queue full (%d chunks), dropped %u points for %.*s", MAX_CHUNKS, n_pts,
               (int)db.len, db.ptr ? db.ptr : "");
        return;
    }
    pthread_mutex_unlock(&w->mu);
    /* formatted outside the lock: other task threads are not held up */
    const eng_influxdbout_opts_t *o = n != NULL ? eng_influxdbout_opts(n) : NULL;
    copy_c(c->db, sizeof c->db, db);
    copy_c(c->rp, sizeof c->rp, rp);
    copy_c(c->consistency, sizeof c->consistency, o != NULL ? o->consistency : FA_STR_NULL);
    c->create = o != NULL && o->create;
    c->n_points = n_pts;
    c->next = NULL;
    fa_buf_clear(&c->body);
    for (uint32_t i = 0; i < n_pts; i++) {
        eng_lp_format_point(&c->body, &pts[i]);
        fa_buf_append(&c->body, "\n", 1);
    }
    pthread_mutex_lock(&w->mu);
    if (w->tail != NULL)
        w->tail->next = c;
    else
        w->head = c;
    w->tail = c;
    w->st.points_queued += n_pts;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

void proxy_outwriter_write_points(void *ud, eng_node_t *n, fa_str_t db, fa_str_t rp, const eng_point_t *pts,
                                  uint32_t n_pts)
{
    proxy_outwriter_write(ud, n, db, rp, pts, n_pts);
}

void proxy_outwriter_env(proxy_outwriter_t *w, eng_env_t *env)
{
    env->write_points = proxy_outwriter_write_points;
    if (env->ud == NULL)
        env->ud = w;
}

static size_t discard(char *p, size_t size, size_t n, void *ud) { return size * n; }

/* one POST; the HTTP status, or 0 when the connection failed */
static long post(proxy_outwriter_t *w, const char *url, const char *body, size_t len, const char *ctype)
{
    CURL *c = w->curl;
    curl_easy_reset(c);
    struct curl_slist *hdr = curl_slist_append(NULL, ctype);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(w->conf->upstream_timeout_ms ? w->conf->upstream_timeout_ms : 30000));
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)(w->conf->upstream_connect_timeout_ms ? w->conf->upstream_connect_timeout_ms : 5000));
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    else
        FA_LOG(FA_WARN, "influxDBOut writer: POST %s: %s", url, curl_easy_strerror(rc));
    curl_slist_free_all(hdr);
    return status;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static bool stopping(proxy_outwriter_t *w)
{
    pthread_mutex_lock(&w->mu);
    bool s = w->stop;
    pthread_mutex_unlock(&w->mu);
    return s;
}

/* POST with retries on 5xx and connection errors; the final status */
static long post_retry(proxy_outwriter_t *w, const char *url, const char *body, size_t len, const char *ctype)
{
    long status = 0, wait = BACKOFF_MS;
    for (int attempt = 0;; attempt++) {
        status = post(w, url, body, len, ctype);
        pthread_mutex_lock(&w->mu);
        w->st.requests++;
        pthread_mutex_unlock(&w->mu);
        if ((status >= 200 && status < 500) || attempt + 1 >= MAX_ATTEMPTS || stopping(w))
            return status;
        pthread_mutex_lock(&w->mu);
        w->st.retries++;
        pthread_mutex_unlock(&w->mu);
        sleep_ms(wait);
        wait *= 2;
    }
}

static void append_escaped(fa_buf_t *b, CURL *c, const char *s)
{
    char *e = curl_easy_escape(c, s, 0);
    fa_buf_append_c(b, e != NULL ? e : "");
    curl_free(e);
}

static void create_db(proxy_outwriter_t *w, const char *db)
{
    for (uint32_t i = 0; i < w->n_created; i++)
        if (strcmp(w->created[i], db) == 0)
            return;
    fa_buf_t q = FA_BUF_INIT;
    fa_buf_append_c(&q, "q=");
    fa_buf_t stmt = FA_BUF_INIT;
    fa_buf_append_c(&stmt, "CREATE DATABASE \"");
    for (const char *p = db; *p; p++) {
        if (*p == '"' || *p == '\\')
            fa_buf_append(&stmt, "\\", 1);
        fa_buf_append(&stmt, p, 1);
    }
    fa_buf_append_c(&stmt, "\"");
    append_escaped(&q, w->curl, fa_buf_cstr(&stmt));
    fa_buf_clear(&w->url);
    fa_buf_appendf(&w->url, "%s/query", w->conf->upstream_url);
    long status = post_retry(w, fa_buf_cstr(&w->url), q.ptr, q.len, "Content-Type: application/x-www-form-urlencoded");
    if (status >= 200 && status < 300) {
        if (w->n_created < MAX_CREATED)
            snprintf(w->created[w->n_created++], sizeof w->created[0], "%s", db);
        pthread_mutex_lock(&w->mu);
        w->st.databases_created++;
        pthread_mutex_unlock(&w->mu);
    } else {
        FA_LOG(FA_WARN, "influxDBOut writer: CREATE DATABASE \"%s\" at %s: status %ld", db, w->conf->upstream_url, status);
    }
    fa_buf_deinit(&q);
    fa_buf_deinit(&stmt);
}

static bool same_target(const struct chunk *a, const struct chunk *b)
{
    return strcmp(a->db, b->db) == 0 && strcmp(a->rp, b->rp) == 0 && strcmp(a->consistency, b->consistency) == 0;
}

/* takes the head chunk and those after it for the same target (up to MAX_BODY); NULL = none */
static struct chunk *take(proxy_outwriter_t *w)
{
    struct chunk *first = w->head;
    if (first == NULL)
        return NULL;
    struct chunk *last = first;
    size_t bytes = first->body.len;
    while (last->next != NULL && same_target(first, last->next) && bytes + last->next->body.len <= MAX_BODY) {
        last = last->next;
        bytes += last->body.len;
    }
    w->head = last->next;
    if (w->head == NULL)
        w->tail = NULL;
    last->next = NULL;
    return first;
}

static void send_chunks(proxy_outwriter_t *w, struct chunk *list)
{
    uint32_t n_points = 0;
    bool create = false;
    fa_buf_clear(&w->body);
    for (struct chunk *c = list; c != NULL; c = c->next) {
        fa_buf_append(&w->body, c->body.ptr, c->body.len);
        n_points += c->n_points;
        create |= c->create;
    }
    if (create)
        create_db(w, list->db);
    fa_buf_clear(&w->url);
    fa_buf_appendf(&w->url, "%s/write?precision=ns&db=", w->conf->upstream_url);
    append_escaped(&w->url, w->curl, list->db);
    if (list->rp[0]) {
        fa_buf_append_c(&w->url, "&rp=");
        append_escaped(&w->url, w->curl, list->rp);
    }
    if (list->consistency[0]) {
        fa_buf_append_c(&w->url, "&consistency=");
        append_escaped(&w->url, w->curl, list->consistency);
    }
    long status = post_retry(w, fa_buf_cstr(&w->url), w->body.ptr ? w->body.ptr : "", w->body.len,
                             "Content-Type: text/plain; charset=utf-8");
    pthread_mutex_lock(&w->mu);
    if (status >= 200 && status < 300) {
        w->st.points_written += n_points;
    } else {
        w->st.points_dropped += n_points;
        w->st.errors++;
    }
    pthread_mutex_unlock(&w->mu);
    if (status < 200 || status >= 300)
        FA_LOG(FA_WARN, "influxDBOut writer: %u points to %s.%s at %s not written: status %ld", n_points, list->db,
               list->rp, w->conf->upstream_url, status);
}

static void *writer_main(void *arg)
{
    proxy_outwriter_t *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (w->head == NULL && !w->stop)
            pthread_cond_wait(&w->cv, &w->mu);
        struct chunk *list = take(w);
        if (list == NULL) /* stop and nothing left */
            break;
        w->busy = true;
        pthread_mutex_unlock(&w->mu);
        send_chunks(w, list);
        pthread_mutex_lock(&w->mu);
        while (list != NULL) {
            struct chunk *next = list->next;
            list->next = w->free_list;
            w->free_list = list;
            list = next;
        }
        w->busy = false;
        pthread_cond_broadcast(&w->idle_cv);
    }
    pthread_cond_broadcast(&w->idle_cv);
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

proxy_outwriter_t *proxy_outwriter_new(const fa_conf_t *conf, char *err, size_t errlen)
{
    if (conf->upstream_url == NULL || conf->upstream_url[0] == 0) {
        snprintf(err, errlen, "influxDBOut writer: upstream.url is not set");
        return NULL;
    }
    proxy_outwriter_t *w = calloc(1, sizeof *w);
    if (w == NULL) {
        snprintf(err, errlen, "influxDBOut writer: out of memory");
        return NULL;
    }
    w->conf = conf;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if ((w->curl = curl_easy_init()) == NULL) {
        snprintf(err, errlen, "influxDBOut writer: curl_easy_init failed");
        free(w);
        return NULL;
    }
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    pthread_cond_init(&w->idle_cv, NULL);
    if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
        snprintf(err, errlen, "influxDBOut writer: cannot start its thread");
        curl_easy_cleanup(w->curl);
        free(w);
        return NULL;
    }
    return w;
}

int proxy_outwriter_flush(proxy_outwriter_t *w, uint64_t timeout_ms)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += (time_t)(timeout_ms / 1000);
    dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    int rc = 0;
    pthread_mutex_lock(&w->mu);
    while ((w->head != NULL || w->busy) && rc == 0)
        if (pthread_cond_timedwait(&w->idle_cv, &w->mu, &dl) != 0)
            rc = FA_EAGAIN;
    pthread_mutex_unlock(&w->mu);
    return rc;
}

void proxy_outwriter_stats(proxy_outwriter_t *w, proxy_outwriter_stats_t *out)
{
    pthread_mutex_lock(&w->mu);
    *out = w->st;
    pthread_mutex_unlock(&w->mu);
}

void proxy_outwriter_free(proxy_outwriter_t *w)
{
    if (w == NULL)
        return;
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    for (struct chunk *c = w->free_list, *next; c != NULL; c = next) {
        next = c->next;
        fa_buf_deinit(&c->body);
        free(c);
    }
    curl_easy_cleanup(w->curl);
    fa_buf_deinit(&w->url);
    fa_buf_deinit(&w->body);
    pthread_cond_destroy(&w->cv);
    pthread_cond_destroy(&w->idle_cv);
    pthread_mutex_destroy(&w->mu);
    free(w);
}
