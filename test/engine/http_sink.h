/* test/engine/http_sink.h - a loopback HTTP/1.1 receiver for tests: one thread accepts
 * connections on 127.0.0.1 (free port), reads each request (Content-Length bodies), records the
 * request line, headers and body, and answers with the next status of a script (then 204). */
#ifndef TEST_ENGINE_HTTP_SINK_H
#define TEST_ENGINE_HTTP_SINK_H
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct http_sink {
    int fd, port;
    pthread_t th;
    atomic_bool stop;
    pthread_mutex_t mu;
    char log[65536]; /* "<request line>\n<body>\n" per request, guarded by mu */
    size_t log_len;
    int statuses[16], n_statuses; /* answered in order, then 204 */
    atomic_int n_requests;
} http_sink_t;

static void http_sink_serve_(http_sink_t *s, int c)
{
    char buf[65536];
    size_t len = 0;
    for (;;) {
        char *end = memmem(buf, len, "\r\n\r\n", 4);
        if (end != NULL) {
            size_t head = (size_t)(end - buf) + 4, clen = 0;
            char *cl = memmem(buf, head, "Content-Length:", 15);
            if (cl == NULL)
                cl = memmem(buf, head, "content-length:", 15);
            if (cl != NULL)
                clen = strtoul(cl + 15, NULL, 10);
            if (len >= head + clen) {
                int i = atomic_fetch_add(&s->n_requests, 1);
                int status = i < s->n_statuses ? s->statuses[i] : 204;
                pthread_mutex_lock(&s->mu);
                char *eol = memmem(buf, head, "\r\n", 2);
                s->log_len += (size_t)snprintf(s->log + s->log_len, sizeof s->log - s->log_len, "%.*s\n%.*s\n",
                                               (int)(eol - buf), buf, (int)clen, buf + head);
                if (s->log_len >= sizeof s->log)
                    s->log_len = sizeof s->log - 1;
                pthread_mutex_unlock(&s->mu);
                char resp[128];
                int n = snprintf(resp, sizeof resp, "HTTP/1.1 %d X\r\nContent-Length: 2\r\n\r\nok", status);
                if (write(c, resp, (size_t)n) != n)
                    return;
                memmove(buf, buf + head + clen, len - head - clen);
                len -= head + clen;
                continue;
            }
        }
        struct pollfd p = { c, POLLIN, 0 };
        if (atomic_load(&s->stop) || poll(&p, 1, 50) < 0)
            return;
        if (!(p.revents & POLLIN))
            continue;
        ssize_t r = read(c, buf + len, sizeof buf - len);
        if (r <= 0)
            return;
        len += (size_t)r;
    }
}

static void *http_sink_main_(void *arg)
{
    http_sink_t *s = arg;
    while (!atomic_load(&s->stop)) {
        struct pollfd p = { s->fd, POLLIN, 0 };
        if (poll(&p, 1, 50) <= 0)
            continue;
        int c = accept(s->fd, NULL, NULL);
        if (c < 0)
            continue;
        http_sink_serve_(s, c);
        close(c);
    }
    return NULL;
}

/** Starts the receiver; statuses (n of them) are answered first. 0 or -1. */
static inline int http_sink_start(http_sink_t *s, const int *statuses, int n)
{
    memset(s, 0, sizeof(*s));
    pthread_mutex_init(&s->mu, NULL);
    for (int i = 0; i < n && i < 16; i++)
        s->statuses[s->n_statuses++] = statuses[i];
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t al = sizeof a;
    if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(s->fd, 16) != 0 ||
        getsockname(s->fd, (struct sockaddr *)&a, &al) != 0)
        return -1;
    s->port = ntohs(a.sin_port);
    return pthread_create(&s->th, NULL, http_sink_main_, s) == 0 ? 0 : -1;
}

/** Waits (at most ~5 s) until n requests were answered. */
static inline int http_sink_wait(http_sink_t *s, int n)
{
    for (int i = 0; i < 500 && atomic_load(&s->n_requests) < n; i++)
        usleep(10000);
    return atomic_load(&s->n_requests);
}

static inline void http_sink_stop(http_sink_t *s)
{
    atomic_store(&s->stop, true);
    pthread_join(s->th, NULL);
    close(s->fd);
    pthread_mutex_destroy(&s->mu);
}
#endif
