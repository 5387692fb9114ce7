/*
 * bench/loadgen.c - load generator for InfluxDB 1.x POST /write over keep-alive HTTP/1.1.
 *
 * Builds a set of Telegraf-shaped bodies once (cpu, mem, disk, diskio, net, system, processes,
 * swap: realistic tags, float/integer/string fields, explicit ns timestamps, optionally a share
 * of lines without a timestamp), optionally gzips them once, then keeps M connections busy
 * (one request in flight per connection, no pipelining) at full speed or at a target rate.
 * Latency is measured from the first byte sent to the last byte of the response.
 *
 *   loadgen -port P [-host 127.0.0.1] [-db bench] [-rp autogen] [-conns 8] [-threads 1]
 *           [-lines 1000] [-bodies 16] [-gzip] [-gzip-level 6] [-notime-pct 0]
 *           [-rate REQ_PER_S] [-duration 5] [-requests N] [-expect 204] [-hosts-offset 0] [-grace 10]
 *   loadgen -out FILE [-out-mb 100] [-lines 1000] [-notime-pct 0]   (body file, no network)
 *
 * Prints a human summary on stderr and one machine line on stdout:
 *   RESULT requests=.. lines=.. secs=.. rps=.. lines_per_s=.. mb_per_s=.. wire_mb_per_s=.. p50_us=.. p90_us=..
 *          p99_us=.. max_us=.. status_<code>=.. errors=.. late=..
 * Exits 1 when any status other than -expect arrived, or on a connection error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "base/str.h"
#include "bench/bench_http.h"

#define MAX_THREADS 8
#define MAX_CONNS 4096
#define RBUF_SIZE 16384
#define HIST_SUB 64            /* sub-buckets per power of two: about 1.6% resolution */
#define HIST_BUCKETS (48 * HIST_SUB)

/* ---- options ---- */

struct opts {
    const char *host, *db, *rp, *out;
    int port, conns, threads, lines, nbodies, gzip_level, notime_pct, expect, hosts_offset;
    bool gzip;
    double rate, duration, out_mb, grace;
    long requests;
};

static struct opts O = {
    .host = "127.0.0.1", .db = "bench", .rp = "autogen", .conns = 8, .threads = 1, .lines = 1000,
    .nbodies = 16, .gzip_level = 6, .expect = 204, .duration = 5, .out_mb = 100, .grace = 10,
};

/* ---- a deterministic generator of Telegraf-shaped lines ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

static double frand(double lo, double hi) { return lo + (hi - lo) * (double)(rng() >> 11) / 9007199254740992.0; }
static long irand(long lo, long hi) { return lo + (long)(rng() % (uint64_t)(hi - lo + 1)); }

/* One body under construction: the share of lines left without a timestamp is decided here. */
struct gen {
    fa_buf_t *b;
    int64_t ts;
    int lines, max_lines;
};

/* Ends a line: timestamp (unless this one is picked to go without) and newline. */
static void gen_end(struct gen *g)
{
    if (O.notime_pct > 0 && irand(0, 99) < O.notime_pct)
        fa_buf_append(g->b, "\n", 1);
    else
        fa_buf_appendf(g->b, " %lld\n", (long long)g->ts);
    g->lines++;
}

static bool gen_full(const struct gen *g) { return g->lines >= g->max_lines; }

static void gen_cpu(struct gen *g, const char *tags)
{
    for (int c = -1; c < 4 && !gen_full(g); c++) {
        double user = frand(0, 60), sys = frand(0, 15), iow = frand(0, 3), idle = 100 - user - sys - iow;
        char name[16];
        if (c < 0)
            snprintf(name, sizeof name, "cpu-total");
        else
            snprintf(name, sizeof name, "cpu%d", c);
        fa_buf_appendf(g->b,
                       "cpu,cpu=%s,%s usage_guest=0,usage_guest_nice=0,usage_idle=%.15g,usage_iowait=%.15g,"
                       "usage_irq=0,usage_nice=0,usage_softirq=%.15g,usage_steal=0,usage_system=%.15g,"
                       "usage_user=%.15g",
                       name, tags, idle, iow, frand(0, 1), sys, user);
        gen_end(g);
    }
}

static void gen_mem(struct gen *g, const char *tags)
{
    long total = 16L << 30, used = irand(1L << 30, 15L << 30), avail = total - used;
    if (gen_full(g))
        return;
    fa_buf_appendf(g->b,
                   "mem,%s active=%ldi,available=%ldi,available_percent=%.15g,buffered=%ldi,cached=%ldi,"
                   "free=%ldi,inactive=%ldi,total=%ldi,used=%ldi,used_percent=%.15g",
                   tags, irand(1L << 30, 8L << 30), avail, 100.0 * (double)avail / (double)total,
                   irand(1 << 20, 1 << 28), irand(1L << 28, 4L << 30), irand(1 << 28, 1L << 31),
                   irand(1 << 28, 1L << 31), total, used, 100.0 * (double)used / (double)total);
    gen_end(g);
}

static void gen_disk(struct gen *g, const char *tags)
{
    static const char *const dev[] = { "nvme0n1p1", "nvme0n1p2" }, *const path[] = { "/", "/var/lib" };
    const char *host = strstr(tags, ",host="); /* tags = "dc=..,host=..": device sorts between */
    int dc_len = (int)(host - tags);
    for (int d = 0; d < 2 && !gen_full(g); d++) {
        long total = 500L << 30, used = irand(10L << 30, 450L << 30);
        fa_buf_appendf(g->b,
                       "disk,%.*s,device=%s,fstype=ext4%s,mode=rw,path=%s free=%ldi,inodes_free=%ldi,"
                       "inodes_total=32768000i,inodes_used=%ldi,total=%ldi,used=%ldi,used_percent=%.15g",
                       dc_len, tags, dev[d], host, path[d], total - used, irand(1000000, 32000000), irand(100000, 3000000),
                       total, used, 100.0 * (double)used / (double)total);
        gen_end(g);
    }
    for (int d = 0; d < 2 && !gen_full(g); d++) {
        fa_buf_appendf(g->b,
                       "diskio,%s,name=%s io_time=%ldi,iops_in_progress=0i,merged_reads=%ldi,"
                       "merged_writes=%ldi,read_bytes=%ldi,read_time=%ldi,reads=%ldi,weighted_io_time=%ldi,"
                       "write_bytes=%ldi,write_time=%ldi,writes=%ldi",
                       tags, d ? "nvme0n1p2" : "nvme0n1", irand(1e6, 1e9), irand(0, 1e6), irand(0, 1e7),
                       irand(1e9, 1e12), irand(1e5, 1e8), irand(1e5, 1e8), irand(1e6, 1e9), irand(1e9, 1e12),
                       irand(1e5, 1e8), irand(1e5, 1e8));
        gen_end(g);
    }
}

static void gen_net(struct gen *g, const char *tags)
{
    static const char *const ifs[] = { "eth0", "eth1" };
    for (int i = 0; i < 2 && !gen_full(g); i++) {
        fa_buf_appendf(g->b,
                       "net,%s,interface=%s bytes_recv=%ldi,bytes_sent=%ldi,drop_in=%ldi,drop_out=0i,err_in=0i,"
                       "err_out=0i,packets_recv=%ldi,packets_sent=%ldi",
                       tags, ifs[i], irand(1e9, 1e13), irand(1e9, 1e13), irand(0, 1000), irand(1e6, 1e10),
                       irand(1e6, 1e10));
        gen_end(g);
    }
}

static void gen_system(struct gen *g, const char *tags)
{
    long up = irand(3600, 90L * 86400);
    if (!gen_full(g)) {
        fa_buf_appendf(g->b, "system,%s load1=%.2f,load15=%.2f,load5=%.2f,n_cpus=4i,n_users=%ldi", tags,
                       frand(0, 4), frand(0, 4), frand(0, 4), irand(0, 5));
        gen_end(g);
    }
    if (!gen_full(g)) {
        fa_buf_appendf(g->b, "system,%s uptime=%ldi", tags, up);
        gen_end(g);
    }
    if (!gen_full(g)) {
        fa_buf_appendf(g->b, "system,%s uptime_format=\"%ld days, %2ld:%02ld\"", tags, up / 86400,
                       up % 86400 / 3600, up % 3600 / 60);
        gen_end(g);
    }
}

static void gen_misc(struct gen *g, const char *tags)
{
    long sleeping = irand(100, 400), running = irand(0, 8);
    if (!gen_full(g)) {
        fa_buf_appendf(g->b,
                       "processes,%s blocked=0i,dead=0i,idle=%ldi,paging=0i,running=%ldi,sleeping=%ldi,"
                       "stopped=0i,total=%ldi,total_threads=%ldi,unknown=0i,zombies=0i",
                       tags, irand(0, 50), running, sleeping, running + sleeping, irand(400, 2000));
        gen_end(g);
    }
    if (!gen_full(g)) {
        long total = 4L << 30, used = irand(0, 1L << 30);
        fa_buf_appendf(g->b, "swap,%s free=%ldi,in=%ldi,out=%ldi,total=%ldi,used=%ldi,used_percent=%.15g", tags,
                       total - used, irand(0, 1e6), irand(0, 1e6), total, used, 100.0 * (double)used / (double)total);
        gen_end(g);
    }
}

/* Appends `lines` lines for consecutive hosts starting at host number h0, all at time ts. */
static void gen_body(fa_buf_t *b, int lines, int h0, int64_t ts)
{
    struct gen g = { b, ts, 0, lines };
    static const char *const dcs[] = { "eu-west-1a", "eu-west-1b", "us-east-1a", "us-east-1c" };

    for (int h = h0; !gen_full(&g); h++) {
        char tags[128]; /* Telegraf sorts tags: dc < host < role; measurement tags are merged by hand */
        snprintf(tags, sizeof tags, "dc=%s,host=web-%05d.prod.example.com", dcs[h % 4], h);
        gen_cpu(&g, tags);
        gen_mem(&g, tags);
        gen_disk(&g, tags);
        gen_net(&g, tags);
        gen_system(&g, tags);
        gen_misc(&g, tags);
    }
}

/* Hosts per body: 17 lines per host. */
static int hosts_per_body(int lines) { return (lines + 16) / 17; }

/* ---- requests ---- */

/* One prebuilt request: head and body in one buffer. */
struct req {
    char *data;
    size_t len, body_len, raw_len; /* raw_len: line-protocol bytes before gzip */
    int lines;
};

static struct req *reqs;

static int gzip_body(const fa_buf_t *in, fa_buf_t *out)
{
    z_stream z = { 0 };
    uLong bound;

    if (deflateInit2(&z, O.gzip_level, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    bound = deflateBound(&z, in->len) + 64;
    if (fa_buf_reserve(out, bound) != 0)
        return -1;
    z.next_in = (Bytef *)in->ptr;
    z.avail_in = (uInt)in->len;
    z.next_out = (Bytef *)out->ptr + out->len;
    z.avail_out = (uInt)bound;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END) {
        deflateEnd(&z);
        return -1;
    }
    out->len += z.total_out;
    deflateEnd(&z);
    return 0;
}

static int build_requests(void)
{
    int64_t t0 = (int64_t)time(NULL) / 10 * 10 * 1000000000ll - 3600ll * 1000000000ll;

    reqs = calloc((size_t)O.nbodies, sizeof *reqs);
    for (int i = 0; i < O.nbodies; i++) {
        fa_buf_t body = FA_BUF_INIT, z = FA_BUF_INIT, all = FA_BUF_INIT;
        const fa_buf_t *send;
        gen_body(&body, O.lines, O.hosts_offset + i * hosts_per_body(O.lines), t0 + i * 10000000000ll);
        send = &body;
        if (O.gzip) {
            if (gzip_body(&body, &z) != 0) {
                fprintf(stderr, "loadgen: gzip of body %d (%zu bytes) failed\n", i, body.len);
                return -1;
            }
            send = &z;
        }
        fa_buf_appendf(&all,
                       "POST /write?db=%s&rp=%s&precision=ns HTTP/1.1\r\nHost: %s:%d\r\n"
                       "User-Agent: farad-loadgen\r\nContent-Type: text/plain; charset=utf-8\r\n%s"
                       "Content-Length: %zu\r\n\r\n",
                       O.db, O.rp, O.host, O.port, O.gzip ? "Content-Encoding: gzip\r\n" : "", send->len);
        fa_buf_append(&all, send->ptr, send->len);
        reqs[i] = (struct req){ all.ptr, all.len, send->len, body.len, O.lines };
        fa_buf_deinit(&body);
        fa_buf_deinit(&z);
    }
    return 0;
}

/* ---- latency histogram (log-linear) ---- */

struct hist {
    uint64_t n[HIST_BUCKETS];
    uint64_t count, max;
};

static int hist_index(uint64_t v)
{
    int msb;
    if (v < HIST_SUB * 2)
        return (int)v;
    msb = 63 - __builtin_clzll(v);
    int idx = (msb - 5) * HIST_SUB + (int)((v >> (msb - 6)) - HIST_SUB);
    return idx < HIST_BUCKETS ? idx : HIST_BUCKETS - 1;
}

/* Lower bound of a bucket (inverse of hist_index). */
static uint64_t hist_value(int idx)
{
    int msb;
    if (idx < HIST_SUB * 2)
        return (uint64_t)idx;
    msb = idx / HIST_SUB + 5;
    return (uint64_t)(idx % HIST_SUB + HIST_SUB) << (msb - 6);
}

static void hist_add(struct hist *h, uint64_t v)
{
    h->n[hist_index(v)]++;
    h->count++;
    if (v > h->max)
        h->max = v;
}

static uint64_t hist_pct(const struct hist *h, double p)
{
    uint64_t want = (uint64_t)ceil(p / 100.0 * (double)h->count), seen = 0;
    if (h->count == 0)
        return 0;
    for (int i = 0; i < HIST_BUCKETS; i++) {
        seen += h->n[i];
        if (seen >= want && h->n[i] > 0) {
            uint64_t v = hist_value(i) + (hist_value(i + 1) - hist_value(i)) / 2; /* bucket middle */
            return v > h->max ? h->max : v;
        }
    }
    return h->max;
}

/* ---- connections and worker threads ---- */

enum { C_IDLE, C_SENDING, C_RECEIVING, C_DEAD };

struct conn {
    int fd, state;
    const struct req *req;
    size_t sent;
    uint64_t t_send;
    bh_head_t head;    /* head.line points into rbuf: only valid while parsing */
    bool have_head;
    bool until_close;  /* no Content-Length and not chunked: the body ends at EOF */
    int status;
    uint64_t body_left;
    bh_chunked_t chunked;
    size_t rlen;
    char rbuf[RBUF_SIZE];
};

struct worker {
    pthread_t tid;
    int id, ep, nconns;
    struct conn *conns;
    double rate;       /* req/s for this thread, 0 = max */
    long budget;       /* requests this thread may start, -1 = unlimited */
    uint64_t started, done, ok, lines, raw_bytes, wire_bytes, errors, late;
    uint64_t status[600];
    uint64_t t_first, t_last;
    struct hist hist;
    int next_req;
};

static struct sockaddr_in target;
static volatile sig_atomic_t interrupted;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void on_signal(int sig) { (void)sig; interrupted = 1; }

static pthread_barrier_t start_barrier;
static uint64_t t_start;

/* Connects (blocking, once per connection), then switches to non-blocking and edge-triggered. */
static int conn_open(struct worker *w, struct conn *c)
{
    int one = 1;
    struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLET, .data.ptr = c };

    c->state = C_DEAD;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&target, sizeof target) != 0) {
        fprintf(stderr, "loadgen: connect to %s:%d failed: %s\n", O.host, O.port, strerror(errno));
        if (c->fd >= 0)
            close(c->fd);
        c->fd = -1;
        return -1;
    }
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
    c->state = C_IDLE;
    c->rlen = 0;
    return epoll_ctl(w->ep, EPOLL_CTL_ADD, c->fd, &ev);
}

static void conn_close(struct worker *w, struct conn *c)
{
    if (c->fd >= 0) {
        epoll_ctl(w->ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    c->fd = -1;
    c->state = C_DEAD;
}

/* Writes until done or EAGAIN. Returns -1 when the connection failed. */
static int conn_send(struct conn *c)
{
    while (c->sent < c->req->len) {
        ssize_t n = write(c->fd, c->req->data + c->sent, c->req->len - c->sent);
        if (n < 0)
            return errno == EAGAIN ? 0 : -1;
        c->sent += (size_t)n;
    }
    c->state = C_RECEIVING;
    c->have_head = false;
    c->rlen = 0;
    return 0;
}

static int conn_start(struct worker *w, struct conn *c, uint64_t now)
{
    c->req = &reqs[w->next_req++ % O.nbodies];
    c->sent = 0;
    c->t_send = now;
    c->state = C_SENDING;
    w->started++;
    return conn_send(c);
}

/* A full response arrived. */
static void conn_done(struct worker *w, struct conn *c)
{
    uint64_t t = now_ns();
    int st = c->status;

    w->status[st > 0 && st < 600 ? st : 0]++;
    w->done++;
    hist_add(&w->hist, t - c->t_send);
    w->t_last = t;
    w->wire_bytes += c->req->body_len;
    if (st == O.expect) {
        w->ok++;
        w->lines += (uint64_t)c->req->lines;
        w->raw_bytes += c->req->raw_len;
    }
    c->state = C_IDLE;
}

/* Consumes buffered response bytes. Returns 1 when the response is complete, 0 for more, -1 bad. */
static int conn_parse(struct conn *c)
{
    size_t off = 0;
    int rc = 0;

    while (!c->have_head) {
        int r = bh_head_parse(c->rbuf + off, c->rlen - off, &c->head);
        if (r <= 0) {
            if (r < 0 || (off == 0 && c->rlen == sizeof c->rbuf))
                return -1;
            goto Keep;
        }
        off += c->head.head_len;
        if (c->head.line_len >= 10 && c->head.line[9] == '1')
            continue; /* 100 Continue: an interim response */
        c->have_head = true;
        c->status = c->head.line_len >= 12 ? atoi(c->head.line + 9) : 0;
        bool no_body = c->status == 204 || c->status == 304;
        if (c->head.chunked)
            bh_chunked_init(&c->chunked);
        c->until_close = !no_body && !c->head.chunked && c->head.clen < 0;
        c->body_left = (no_body || c->head.chunked || c->head.clen < 0) ? 0 : (uint64_t)c->head.clen;
    }
    if (c->until_close) {
        off = c->rlen; /* discard: the body ends when the server closes */
        goto Keep;
    }
    if (c->head.chunked) {
        bool done = false;
        long n = bh_chunked_skip(&c->chunked, c->rbuf + off, c->rlen - off, &done);
        if (n < 0)
            return -1;
        off += (size_t)n;
        rc = done;
    } else {
        size_t take = c->rlen - off < c->body_left ? c->rlen - off : (size_t)c->body_left;
        off += take;
        c->body_left -= take;
        rc = c->body_left == 0;
    }
Keep:
    memmove(c->rbuf, c->rbuf + off, c->rlen - off);
    c->rlen -= off;
    return rc;
}

/* Reads until EAGAIN. Returns 1 when a response completed, 0 for more, -1 on failure. */
static int conn_recv(struct conn *c)
{
    for (;;) {
        ssize_t n = read(c->fd, c->rbuf + c->rlen, sizeof c->rbuf - c->rlen);
        if (n == 0)
            return c->have_head && c->until_close ? 1 : -1;
        if (n < 0)
            return errno == EAGAIN ? 0 : -1;
        c->rlen += (size_t)n;
        int r = conn_parse(c);
        if (r != 0)
            return r;
    }
}

/* Handles an epoll event; a failed connection is counted, closed and reopened. */
static void on_event(struct worker *w, struct conn *c, uint32_t ev)
{
    int r = 0;

    if (c->state == C_SENDING && (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
        r = conn_send(c);
    if (r == 0 && c->state == C_RECEIVING && (ev & (EPOLLIN | EPOLLERR | EPOLLHUP))) {
        r = conn_recv(c);
        if (r == 1) {
            conn_done(w, c);
            r = c->head.close || c->until_close ? 2 : 0;
        }
    } else if (r == 0 && c->state == C_IDLE && (ev & (EPOLLIN | EPOLLERR | EPOLLHUP))) {
        char tmp[256];
        ssize_t n = read(c->fd, tmp, sizeof tmp);
        if (n == 0 || (n < 0 && errno != EAGAIN))
            r = 2; /* the server closed an idle keep-alive connection: reconnect, not an error */
    }
    if (r == 0)
        return;
    if (r < 0) {
        w->errors++;
        if (w->errors <= 3)
            fprintf(stderr, "loadgen: connection failed while %s a request (%s)\n",
                    c->state == C_SENDING ? "sending" : "awaiting the response to", strerror(errno));
    }
    conn_close(w, c);
    conn_open(w, c);
}

/* Starts requests on idle connections: all of them at max speed, or those due at a rate. */
static void issue(struct worker *w, uint64_t now, uint64_t *next_due, uint64_t interval)
{
    for (int i = 0; i < w->nconns; i++) {
        struct conn *c = &w->conns[i];
        if (c->state != C_IDLE)
            continue;
        if (w->budget >= 0 && (long)w->started >= w->budget)
            return;
        if (interval) {
            if (*next_due > now)
                return;
            if (now - *next_due > 1000000)
                w->late++;
            *next_due += interval;
        }
        if (conn_start(w, c, now) != 0) {
            w->errors++;
            conn_close(w, c);
            conn_open(w, c);
        }
    }
}

static int in_flight(const struct worker *w)
{
    int n = 0;
    for (int i = 0; i < w->nconns; i++)
        n += w->conns[i].state == C_SENDING || w->conns[i].state == C_RECEIVING;
    return n;
}

static void *run_worker(void *arg)
{
    struct worker *w = arg;
    struct epoll_event evs[256];
    uint64_t interval = w->rate > 0 ? (uint64_t)(1e9 / w->rate) : 0, next_due, t_end;

    for (int i = 0; i < w->nconns; i++)
        if (conn_open(w, &w->conns[i]) != 0)
            w->errors++;
    pthread_barrier_wait(&start_barrier);
    next_due = t_start + (uint64_t)w->id * (interval / (unsigned)O.threads);
    t_end = t_start + (uint64_t)(O.duration * 1e9);
    for (;;) {
        uint64_t now = now_ns();
        bool issuing = !interrupted && now < t_end && (w->budget < 0 || (long)w->started < w->budget);
        if (issuing)
            issue(w, now, &next_due, interval);
        else if (in_flight(w) == 0 || now > t_end + (uint64_t)(O.grace * 1e9))
            break;
        uint64_t wait = 100000000;
        if (issuing && interval && next_due > now && next_due - now < wait)
            wait = next_due - now;
        else if (issuing && interval && next_due <= now)
            wait = 0;
        struct timespec ts = { (time_t)(wait / 1000000000ull), (long)(wait % 1000000000ull) };
        int n = epoll_pwait2(w->ep, evs, 256, &ts, NULL);
        for (int i = 0; i < n; i++)
            on_event(w, evs[i].data.ptr, evs[i].events);
    }
    w->errors += (uint64_t)in_flight(w); /* no response within -grace seconds of the end */
    return NULL;
}

/* ---- body file mode (input for the parser benchmark) ---- */

static int write_file(void)
{
    FILE *f = fopen(O.out, "w");
    fa_buf_t b = FA_BUF_INIT;
    uint64_t want = (uint64_t)(O.out_mb * 1e6), bytes = 0, lines = 0;
    int64_t ts = (int64_t)time(NULL) / 10 * 10 * 1000000000ll - 86400ll * 1000000000ll;

    if (f == NULL) {
        fprintf(stderr, "loadgen: cannot open -out %s: %s\n", O.out, strerror(errno));
        return 1;
    }
    for (int i = 0; bytes < want; i++) {
        fa_buf_clear(&b);
        gen_body(&b, O.lines, O.hosts_offset + (i % 64) * hosts_per_body(O.lines), ts + i * 10000000000ll);
        if (fwrite(b.ptr, 1, b.len, f) != b.len) {
            fprintf(stderr, "loadgen: write to %s failed: %s\n", O.out, strerror(errno));
            fclose(f);
            return 1;
        }
        bytes += b.len;
        lines += (uint64_t)O.lines;
    }
    fa_buf_deinit(&b);
    if (fclose(f) != 0) {
        fprintf(stderr, "loadgen: close of %s failed: %s\n", O.out, strerror(errno));
        return 1;
    }
    fprintf(stderr, "loadgen: wrote %llu lines, %llu bytes to %s\n", (unsigned long long)lines,
            (unsigned long long)bytes, O.out);
    printf("RESULT file=%s lines=%llu bytes=%llu\n", O.out, (unsigned long long)lines, (unsigned long long)bytes);
    return 0;
}

/* ---- report ---- */

static int report(struct worker *ws, uint64_t t_end)
{
    static struct worker sum; /* totals; the histogram is large */
    double secs;
    bool bad = false;

    for (int t = 0; t < O.threads; t++) {
        struct worker *w = &ws[t];
        sum.done += w->done, sum.ok += w->ok, sum.lines += w->lines, sum.raw_bytes += w->raw_bytes;
        sum.wire_bytes += w->wire_bytes, sum.errors += w->errors, sum.late += w->late;
        for (int i = 0; i < 600; i++)
            sum.status[i] += w->status[i];
        for (int i = 0; i < HIST_BUCKETS; i++)
            sum.hist.n[i] += w->hist.n[i];
        sum.hist.count += w->hist.count;
        if (w->hist.max > sum.hist.max)
            sum.hist.max = w->hist.max;
    }
    secs = (double)(t_end - t_start) / 1e9;
    if (secs <= 0)
        secs = 1e-9;
    double body_kb = (double)reqs[0].raw_len / 1e3, wire_kb = (double)reqs[0].body_len / 1e3;
    fprintf(stderr,
            "loadgen: %s:%d db=%s rp=%s conns=%d threads=%d lines/body=%d body=%.1f kB%s rate=%s\n"
            "  %llu requests in %.2f s: %.0f req/s, %.0f lines/s, %.1f MB/s line protocol, %.1f MB/s on the wire\n"
            "  latency p50 %.0f us, p90 %.0f us, p99 %.0f us, max %.0f us; errors %llu, late sends %llu\n  status:",
            O.host, O.port, O.db, O.rp, O.conns, O.threads, O.lines, body_kb, O.gzip ? " gzip" : "",
            O.rate > 0 ? "target" : "max", (unsigned long long)sum.done, secs,
            (double)sum.done / secs, (double)sum.lines / secs, (double)sum.raw_bytes / secs / 1e6,
            (double)sum.wire_bytes / secs / 1e6, (double)hist_pct(&sum.hist, 50) / 1e3,
            (double)hist_pct(&sum.hist, 90) / 1e3, (double)hist_pct(&sum.hist, 99) / 1e3,
            (double)sum.hist.max / 1e3, (unsigned long long)sum.errors, (unsigned long long)sum.late);
    printf("RESULT requests=%llu lines=%llu secs=%.3f rps=%.1f lines_per_s=%.0f mb_per_s=%.2f wire_mb_per_s=%.2f "
           "p50_us=%.1f p90_us=%.1f p99_us=%.1f max_us=%.1f errors=%llu late=%llu body_bytes=%zu wire_bytes=%zu",
           (unsigned long long)sum.done, (unsigned long long)sum.lines, secs, (double)sum.done / secs,
           (double)sum.lines / secs,
           (double)sum.raw_bytes / secs / 1e6, (double)sum.wire_bytes / secs / 1e6,
           (double)hist_pct(&sum.hist, 50) / 1e3, (double)hist_pct(&sum.hist, 90) / 1e3,
           (double)hist_pct(&sum.hist, 99) / 1e3, (double)sum.hist.max / 1e3, (unsigned long long)sum.errors,
           (unsigned long long)sum.late, reqs[0].raw_len, reqs[0].body_len);
    for (int i = 0; i < 600; i++) {
        if (sum.status[i] == 0)
            continue;
        fprintf(stderr, " %d x%llu", i, (unsigned long long)sum.status[i]);
        printf(" status_%d=%llu", i, (unsigned long long)sum.status[i]);
        if (i != O.expect)
            bad = true;
    }
    fprintf(stderr, "\n");
    printf("\n");
    if (wire_kb != body_kb)
        fprintf(stderr, "  gzip: %.1f kB -> %.1f kB per body\n", body_kb, wire_kb);
    if (bad || sum.errors > 0 || sum.done == 0) {
        fprintf(stderr, "loadgen: FAILED: %s\n", sum.done == 0 ? "no response at all"
                                                 : bad         ? "a status other than the expected one arrived"
                                                               : "connection errors");
        return 1;
    }
    return 0;
}

/* ---- main ---- */

static void usage(void)
{
    fprintf(stderr,
            "usage: loadgen -port P [-host 127.0.0.1] [-db bench] [-rp autogen] [-conns 8] [-threads 1]\n"
            "               [-lines 1000] [-bodies 16] [-gzip] [-gzip-level 6] [-notime-pct 0]\n"
            "               [-rate REQ_PER_S] [-duration 5] [-requests N] [-expect 204] [-hosts-offset 0]\n"
            "               [-grace 10: seconds to wait for responses in flight after -duration]\n"
            "       loadgen -out FILE [-out-mb 100] [-lines 1000] [-notime-pct 0]\n");
    exit(2);
}

static void parse_args(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "-gzip") == 0) {
            O.gzip = true;
            continue;
        }
        if (v == NULL)
            usage();
        i++;
        if (strcmp(a, "-host") == 0) O.host = v;
        else if (strcmp(a, "-port") == 0) O.port = atoi(v);
        else if (strcmp(a, "-db") == 0) O.db = v;
        else if (strcmp(a, "-rp") == 0) O.rp = v;
        else if (strcmp(a, "-conns") == 0) O.conns = atoi(v);
        else if (strcmp(a, "-threads") == 0) O.threads = atoi(v);
        else if (strcmp(a, "-lines") == 0) O.lines = atoi(v);
        else if (strcmp(a, "-bodies") == 0) O.nbodies = atoi(v);
        else if (strcmp(a, "-gzip-level") == 0) O.gzip_level = atoi(v);
        else if (strcmp(a, "-notime-pct") == 0) O.notime_pct = atoi(v);
        else if (strcmp(a, "-rate") == 0) O.rate = atof(v);
        else if (strcmp(a, "-duration") == 0) O.duration = atof(v);
        else if (strcmp(a, "-grace") == 0) O.grace = atof(v);
        else if (strcmp(a, "-requests") == 0) O.requests = atol(v);
        else if (strcmp(a, "-expect") == 0) O.expect = atoi(v);
        else if (strcmp(a, "-hosts-offset") == 0) O.hosts_offset = atoi(v);
        else if (strcmp(a, "-out") == 0) O.out = v;
        else if (strcmp(a, "-out-mb") == 0) O.out_mb = atof(v);
        else usage();
    }
    if (O.lines < 1 || O.nbodies < 1 || O.notime_pct < 0 || O.notime_pct > 100 || O.duration <= 0 ||
        O.threads < 1 || O.threads > MAX_THREADS || O.conns < O.threads || O.conns > MAX_CONNS ||
        O.gzip_level < 1 || O.gzip_level > 9) {
        fprintf(stderr, "loadgen: an option is out of range (lines>=1, bodies>=1, notime-pct 0..100, "
                        "duration>0, threads 1..%d, conns threads..%d, gzip-level 1..9)\n", MAX_THREADS, MAX_CONNS);
        exit(2);
    }
    if (O.out == NULL && O.port <= 0) {
        fprintf(stderr, "loadgen: -port is required (or -out FILE for the body file mode)\n");
        exit(2);
    }
}

int main(int argc, char **argv)
{
    static struct worker ws[MAX_THREADS];
    uint64_t t_end = 0;

    parse_args(argc, argv);
    if (O.out != NULL)
        return write_file();
    target.sin_family = AF_INET;
    target.sin_port = htons((uint16_t)O.port);
    if (inet_pton(AF_INET, O.host, &target.sin_addr) != 1) {
        fprintf(stderr, "loadgen: -host %s: must be an IPv4 address\n", O.host);
        return 2;
    }
    if (build_requests() != 0)
        return 1;
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    pthread_barrier_init(&start_barrier, NULL, (unsigned)O.threads + 1);
    for (int t = 0; t < O.threads; t++) {
        struct worker *w = &ws[t];
        w->id = t;
        w->ep = epoll_create1(EPOLL_CLOEXEC);
        w->nconns = O.conns / O.threads + (t < O.conns % O.threads);
        w->conns = calloc((size_t)w->nconns, sizeof *w->conns);
        w->rate = O.rate / O.threads;
        w->budget = O.requests > 0 ? O.requests / O.threads + (t < O.requests % O.threads) : -1;
        pthread_create(&w->tid, NULL, run_worker, w);
    }
    t_start = now_ns(); /* published to the workers by the barrier */
    pthread_barrier_wait(&start_barrier);
    for (int t = 0; t < O.threads; t++) {
        pthread_join(ws[t].tid, NULL);
        if (ws[t].t_last > t_end)
            t_end = ws[t].t_last;
    }
    return report(ws, t_end ? t_end : now_ns());
}
