/* engine/batchquery_http.c - the batch scheduler's InfluxQL client: libcurl multi, driven by the
 * scheduler thread alone (start, poll and free run there; wakeup may come from anywhere). */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"
#include "engine/scheduler.h"

enum { MAX_BODY = 64 << 20 };

struct http_req {
    struct http_req *prev, *next; /* in flight */
    CURL *easy;
    fa_buf_t body;
    eng_qdone_fn done;
    void *ctx;
    int64_t timeout_ms;
    char errbuf[CURL_ERROR_SIZE];
};

struct http_client {
    eng_qclient_t c;     /* first: c.ud is this struct */
    CURLM *multi;
    char *url, *userpwd;
    struct http_req *reqs; /* in flight */
};

static void unlink_req(struct http_client *c, struct http_req *r)
{
    if (r->prev != NULL)
        r->prev->next = r->next;
    else
        c->reqs = r->next;
    if (r->next != NULL)
        r->next->prev = r->prev;
    curl_multi_remove_handle(c->multi, r->easy);
    curl_easy_cleanup(r->easy);
    fa_buf_deinit(&r->body);
    free(r);
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    struct http_req *r = ud;
    return fa_buf_append(&r->body, p, size * n) == 0 ? size * n : 0;
}

static int http_start(void *ud, const char *q, fa_str_t cluster, int64_t timeout_ns, eng_qdone_fn done, void *ctx, char *err,
                      size_t errlen)
{
    struct http_client *c = ud;
    struct http_req *r = calloc(1, sizeof(*r));
    CURL *easy = curl_easy_init();
    char *esc = easy != NULL ? curl_easy_escape(easy, q, 0) : NULL;
    if (r == NULL || esc == NULL) {
        snprintf(err, errlen, "out of memory for the query request");
        curl_free(esc);
        if (easy != NULL)
            curl_easy_cleanup(easy);
        free(r);
        return -1;
    }
    fa_buf_t url = FA_BUF_INIT;
    fa_buf_appendf(&url, "%s/query?epoch=ns&q=%s", c->url, esc);
    curl_free(esc);
    r->easy = easy;
    r->body.limit = MAX_BODY;
    r->done = done;
    r->ctx = ctx;
    r->timeout_ms = timeout_ns / 1000000 > 0 ? timeout_ns / 1000000 : 1;
    curl_easy_setopt(easy, CURLOPT_URL, fa_buf_cstr(&url));
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long)r->timeout_ms);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, r);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, r->errbuf);
    curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "");
    if (c->userpwd != NULL) {
        curl_easy_setopt(easy, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
        curl_easy_setopt(easy, CURLOPT_USERPWD, c->userpwd);
    }
    fa_buf_deinit(&url); /* curl copies the URL */
    (void)cluster;       /* one upstream: .cluster() names are accepted and all go there */
    CURLMcode mc = curl_multi_add_handle(c->multi, easy);
    if (mc != CURLM_OK) {
        snprintf(err, errlen, "cannot start the query: %s", curl_multi_strerror(mc));
        curl_easy_cleanup(easy);
        free(r);
        return -1;
    }
    r->next = c->reqs;
    if (c->reqs != NULL)
        c->reqs->prev = r;
    c->reqs = r;
    return 0;
}

static void finish(struct http_client *c, CURL *easy, CURLcode res)
{
    struct http_req *r = NULL;
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&r);
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    char err[400];
    fa_str_t body = fa_str(r->body.ptr, r->body.len);
    if (res == CURLE_OPERATION_TIMEDOUT) {
        snprintf(err, sizeof err, "no answer within %lld ms (timeout)", (long long)r->timeout_ms);
        r->done(r->ctx, body, err);
    } else if (res != CURLE_OK) {
        snprintf(err, sizeof err, "%s", r->errbuf[0] ? r->errbuf : curl_easy_strerror(res));
        r->done(r->ctx, body, err);
    } else if (status != 200) {
        size_t n = body.len < 200 ? body.len : 200;
        while (n > 0 && (body.ptr[n - 1] == '\n' || body.ptr[n - 1] == '\r'))
            n--;
        snprintf(err, sizeof err, "upstream answered HTTP %ld: %.*s", status, (int)n, body.ptr ? body.ptr : "");
        r->done(r->ctx, body, err);
    } else {
        r->done(r->ctx, body, NULL);
    }
    unlink_req(c, r);
}

static void drain(struct http_client *c)
{
    int running, left;
    curl_multi_perform(c->multi, &running);
    CURLMsg *m;
    while ((m = curl_multi_info_read(c->multi, &left)) != NULL)
        if (m->msg == CURLMSG_DONE)
            finish(c, m->easy_handle, m->data.result);
}

static void http_poll(void *ud, int64_t timeout_ns)
{
    struct http_client *c = ud;
    drain(c);
    int ms = (int)(timeout_ns / 1000000);
    curl_multi_poll(c->multi, NULL, 0, ms > 0 ? ms : 0, NULL);
    drain(c);
}

static void http_wakeup(void *ud) { curl_multi_wakeup(((struct http_client *)ud)->multi); }

static void http_free(void *ud)
{
    struct http_client *c = ud;
    if (c->multi != NULL) {
        while (c->reqs != NULL)
            unlink_req(c, c->reqs);
        curl_multi_cleanup(c->multi);
    }
    free(c->url);
    free(c->userpwd);
    free(c);
}

eng_qclient_t *eng_qclient_http_new(const char *url, const char *user, const char *password, char *err, size_t errlen)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct http_client *c = calloc(1, sizeof(*c));
    if (c == NULL || (c->multi = curl_multi_init()) == NULL || (c->url = strdup(url)) == NULL) {
        snprintf(err, errlen, "batch queries: out of memory for the client of %s", url);
        if (c != NULL)
            http_free(c);
        return NULL;
    }
    size_t n = strlen(c->url);
    while (n > 0 && c->url[n - 1] == '/')
        c->url[--n] = 0;
    if (user != NULL && *user) {
        size_t len = strlen(user) + strlen(password ? password : "") + 2;
        if ((c->userpwd = malloc(len)) != NULL)
            snprintf(c->userpwd, len, "%s:%s", user, password ? password : "");
    }
    c->c = (eng_qclient_t){ .ud = c, .start = http_start, .poll = http_poll, .wakeup = http_wakeup, .free = http_free };
    return &c->c;
}
