/*
 * bench/nullserver.c - a null InfluxDB upstream for the proxy benchmarks.
 *
 * Answers every request with 204 (GET|HEAD /ping too), except /query which gets 200 and
 * {"results":[{"statement_id":0}]}. Keep-alive and pipelining, Content-Length and chunked
 * request bodies are read and discarded, Expect: 100-continue is honoured. One epoll loop per
 * thread, each with its own SO_REUSEPORT listener on the same port, so the kernel spreads
 * connections across threads.
 *
 *   nullserver [-bind 127.0.0.1:PORT] [-threads N] [-port-file FILE] [-duration S]
 *
 * PORT 0 picks a free port; the chosen port is printed on stdout ("listening on HOST:PORT")
 * and written to -port-file when given. SIGINT/SIGTERM (or -duration) stop it and print the
 * request count.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench_http.h"

#define RBUF_SIZE (128 * 1024) /* a request head must fit; bodies stream through */
#define WBUF_SIZE (16 * 1024)
#define MAX_THREADS 64
#define MAX_EVENTS 256

static const char RESP_204[] = "HTTP/1.1 204 No Content\r\n"
                               "Content-Type: application/json\r\n"
                               "Request-Id: 00000000-0000-0000-0000-000000000000\r\n"
                               "X-Influxdb-Build: OSS\r\n"
                               "X-Influxdb-Version: 1.6.7-null\r\n"
                               "\r\n";
static const char RESP_QUERY[] = "HTTP/1.1 200 OK\r\n"
                                 "Content-Type: application/json\r\n"
                                 "Request-Id: 00000000-0000-0000-0000-000000000000\r\n"
                                 "X-Influxdb-Build: OSS\r\n"
                                 "X-Influxdb-Version: 1.6.7-null\r\n"
                                 "Content-Length: 33\r\n"
                                 "\r\n"
                                 "{\"results\":[{\"statement_id\":0}]}";
static const char RESP_400[] = "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"
                               "Content-Length: 30\r\nConnection: close\r\n\r\n"
                               "{\"error\":\"malformed request\"}\n";
static const char RESP_100[] = "HTTP/1.1 100 Continue\r\n\r\n";

enum { ST_HEAD, ST_BODY, ST_CHUNKED };

struct conn {
    struct conn *prev, *next; /* the worker's list, so that every connection is freed at exit */
    int fd;
    int state;
    uint64_t left;            /* Content-Length bytes still to discard */
    bh_chunked_t chunked;
    bool close_after;         /* close once the output is flushed */
    bool is_query, is_head_method;
    size_t rlen;
    size_t wlen, woff;
    char wbuf[WBUF_SIZE];
    char rbuf[RBUF_SIZE];
};

struct worker {
    pthread_t tid;
    struct conn *conns;
    int lfd, ep;
    uint64_t n_requests, n_bytes;
};

static atomic_bool stop_flag;
static struct sockaddr_in bind_addr;

static void on_signal(int sig) { (void)sig; atomic_store(&stop_flag, true); }

static int set_nonblock(int fd) { return fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

/* A listener bound to bind_addr with SO_REUSEPORT; fills the port back when it was 0. */
static int open_listener(void)
{
    int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);
    socklen_t sl = sizeof bind_addr;

    if (fd < 0) {
        perror("nullserver: socket");
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&bind_addr, sizeof bind_addr) != 0 || listen(fd, 1024) != 0) {
        fprintf(stderr, "nullserver: cannot listen on %s:%u: %s\n", inet_ntoa(bind_addr.sin_addr),
                ntohs(bind_addr.sin_port), strerror(errno));
        close(fd);
        return -1;
    }
    getsockname(fd, (struct sockaddr *)&bind_addr, &sl);
    set_nonblock(fd);
    return fd;
}

/* Queues a response; false when the output buffer has no room (the caller stops parsing). */
static bool queue_out(struct conn *c, const char *p, size_t n)
{
    if (c->wlen + n > sizeof c->wbuf)
        return false;
    memcpy(c->wbuf + c->wlen, p, n);
    c->wlen += n;
    return true;
}

/* Writes what it can. Returns -1 when the connection is dead. */
static int flush_out(struct conn *c)
{
    while (c->woff < c->wlen) {
        ssize_t w = write(c->fd, c->wbuf + c->woff, c->wlen - c->woff);
        if (w < 0)
            return errno == EAGAIN ? 0 : -1;
        c->woff += (size_t)w;
    }
    c->woff = c->wlen = 0;
    return 0;
}

/* The request is complete: queue its response. */
static void finish_request(struct worker *w, struct conn *c)
{
    if (c->is_query && !c->is_head_method)
        queue_out(c, RESP_QUERY, sizeof RESP_QUERY - 1);
    else
        queue_out(c, RESP_204, sizeof RESP_204 - 1);
    w->n_requests++;
    c->state = ST_HEAD;
}

/* Parses a request head at rbuf+*off. Returns 1 progressed, 0 need more, -1 malformed. */
static int take_head(struct worker *w, struct conn *c, size_t *off)
{
    bh_head_t h;
    int r = bh_head_parse(c->rbuf + *off, c->rlen - *off, &h);
    const char *sp;

    if (r <= 0)
        return r;
    sp = memchr(h.line, ' ', h.line_len);
    if (sp == NULL)
        return -1;
    c->is_head_method = (size_t)(sp - h.line) == 4 && memcmp(h.line, "HEAD", 4) == 0;
    c->is_query = h.line_len - (size_t)(sp + 1 - h.line) >= 6 && memcmp(sp + 1, "/query", 6) == 0;
    c->close_after = h.close;
    *off += h.head_len;
    if (h.expect_100 && (h.chunked || h.clen > 0))
        queue_out(c, RESP_100, sizeof RESP_100 - 1);
    if (h.chunked) {
        bh_chunked_init(&c->chunked);
        c->state = ST_CHUNKED;
    } else if (h.clen > 0) {
        c->left = (uint64_t)h.clen;
        c->state = ST_BODY;
    } else {
        finish_request(w, c);
    }
    return 1;
}

/* Consumes what it can of the buffered bytes (stops when the output buffer is nearly full).
 * Returns the bytes consumed, or -1 on a malformed request (after queueing a 400). */
static long process(struct worker *w, struct conn *c)
{
    size_t off = 0;

    while (off < c->rlen && !c->close_after && c->wlen + 512 <= sizeof c->wbuf) {
        if (c->state == ST_HEAD) {
            int r = take_head(w, c, &off);
            if (r == 0)
                break;
            if (r < 0)
                goto Bad;
        } else if (c->state == ST_BODY) {
            size_t take = c->rlen - off < c->left ? c->rlen - off : (size_t)c->left;
            off += take;
            c->left -= take;
            if (c->left == 0)
                finish_request(w, c);
        } else {
            bool done = false;
            long n = bh_chunked_skip(&c->chunked, c->rbuf + off, c->rlen - off, &done);
            if (n < 0)
                goto Bad;
            off += (size_t)n;
            if (done)
                finish_request(w, c);
        }
    }
    memmove(c->rbuf, c->rbuf + off, c->rlen - off);
    c->rlen -= off;
    if (c->state == ST_HEAD && c->rlen == sizeof c->rbuf)
        goto Bad; /* head larger than the buffer */
    return (long)off;
Bad:
    c->wlen = c->woff = 0;
    queue_out(c, RESP_400, sizeof RESP_400 - 1);
    c->close_after = true;
    return -1;
}

static void close_conn(struct worker *w, struct conn *c)
{
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        w->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    epoll_ctl(w->ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c);
}

/* Readable or writable: read one buffer, answer, flush. */
static void on_conn(struct worker *w, struct conn *c, uint32_t events)
{
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        if (c->rlen < sizeof c->rbuf && c->wlen + 512 <= sizeof c->wbuf && !c->close_after) {
            ssize_t n = read(c->fd, c->rbuf + c->rlen, sizeof c->rbuf - c->rlen);
            if (n == 0 || (n < 0 && errno != EAGAIN)) {
                close_conn(w, c);
                return;
            }
            if (n > 0) {
                c->rlen += (size_t)n;
                w->n_bytes += (uint64_t)n;
            }
        }
    }
    for (;;) { /* pipelined requests may need several rounds when responses fill wbuf */
        long used = process(w, c);
        if (flush_out(c) != 0 || (c->close_after && c->wlen == 0)) {
            close_conn(w, c);
            return;
        }
        if (used <= 0 || c->wlen != 0 || c->rlen == 0)
            break;
    }
    struct epoll_event ev = { .events = c->wlen ? EPOLLOUT : EPOLLIN, .data.ptr = c };
    epoll_ctl(w->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void on_accept(struct worker *w)
{
    for (;;) {
        int one = 1, fd = accept4(w->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        struct conn *c;
        if (fd < 0)
            return;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        c = malloc(sizeof *c);
        if (c == NULL) {
            close(fd);
            continue;
        }
        c->fd = fd;
        c->state = ST_HEAD;
        c->rlen = c->wlen = c->woff = 0;
        c->close_after = false;
        c->prev = NULL;
        c->next = w->conns;
        if (w->conns != NULL)
            w->conns->prev = c;
        w->conns = c;
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
        epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &ev);
    }
}

static void *run_worker(void *arg)
{
    struct worker *w = arg;
    struct epoll_event evs[MAX_EVENTS];
    struct epoll_event lev = { .events = EPOLLIN, .data.ptr = NULL };

    epoll_ctl(w->ep, EPOLL_CTL_ADD, w->lfd, &lev);
    while (!atomic_load(&stop_flag)) {
        int n = epoll_wait(w->ep, evs, MAX_EVENTS, 100);
        for (int i = 0; i < n; i++) {
            if (evs[i].data.ptr == NULL)
                on_accept(w);
            else
                on_conn(w, evs[i].data.ptr, evs[i].events);
        }
    }
    while (w->conns != NULL)
        close_conn(w, w->conns);
    close(w->lfd);
    close(w->ep);
    return NULL;
}

static int parse_bind(const char *s)
{
    char host[64];
    const char *colon = strrchr(s, ':');
    size_t hl;

    if (colon == NULL || (hl = (size_t)(colon - s)) >= sizeof host) {
        fprintf(stderr, "nullserver: -bind %s: expected HOST:PORT\n", s);
        return -1;
    }
    memcpy(host, s, hl);
    host[hl] = '\0';
    bind_addr.sin_family = AF_INET;
    bind_addr.sin_port = htons((uint16_t)atoi(colon + 1));
    if (inet_pton(AF_INET, host, &bind_addr.sin_addr) != 1) {
        fprintf(stderr, "nullserver: -bind %s: host must be an IPv4 address\n", s);
        return -1;
    }
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: nullserver [-bind 127.0.0.1:PORT] [-threads N] [-port-file FILE] [-duration S]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    static struct worker workers[MAX_THREADS];
    const char *bind_s = "127.0.0.1:0", *port_file = NULL;
    int nthreads = 1;
    double duration = 0;
    uint64_t total = 0, bytes = 0;

    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc)
            usage();
        if (strcmp(argv[i], "-bind") == 0)
            bind_s = argv[++i];
        else if (strcmp(argv[i], "-threads") == 0)
            nthreads = atoi(argv[++i]);
        else if (strcmp(argv[i], "-port-file") == 0)
            port_file = argv[++i];
        else if (strcmp(argv[i], "-duration") == 0)
            duration = atof(argv[++i]);
        else
            usage();
    }
    if (nthreads < 1 || nthreads > MAX_THREADS) {
        fprintf(stderr, "nullserver: -threads %d: must be 1..%d\n", nthreads, MAX_THREADS);
        return 2;
    }
    if (parse_bind(bind_s) != 0)
        return 2;
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    for (int t = 0; t < nthreads; t++) {
        if ((workers[t].lfd = open_listener()) < 0)
            return 1;
        workers[t].ep = epoll_create1(EPOLL_CLOEXEC);
    }
    printf("listening on %s:%u threads=%d\n", inet_ntoa(bind_addr.sin_addr), ntohs(bind_addr.sin_port), nthreads);
    fflush(stdout);
    if (port_file != NULL) {
        FILE *f = fopen(port_file, "w");
        if (f == NULL) {
            fprintf(stderr, "nullserver: cannot write -port-file %s: %s\n", port_file, strerror(errno));
            return 1;
        }
        fprintf(f, "%u\n", ntohs(bind_addr.sin_port));
        fclose(f);
    }
    for (int t = 0; t < nthreads; t++)
        pthread_create(&workers[t].tid, NULL, run_worker, &workers[t]);
    if (duration > 0) {
        struct timespec ts = { (time_t)duration, (long)((duration - (time_t)duration) * 1e9) };
        while (nanosleep(&ts, &ts) != 0 && !atomic_load(&stop_flag))
            ;
        atomic_store(&stop_flag, true);
    }
    for (int t = 0; t < nthreads; t++) {
        pthread_join(workers[t].tid, NULL);
        total += workers[t].n_requests;
        bytes += workers[t].n_bytes;
    }
    fprintf(stderr, "nullserver: %llu requests, %llu bytes received\n", (unsigned long long)total,
            (unsigned long long)bytes);
    return 0;
}
