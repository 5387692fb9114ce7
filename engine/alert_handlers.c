/* engine/alert_handlers.c - handler lanes, worker threads, and the four handler kinds.
 *
 * One mutex guards every lane and the ready list; it is held only to push or pop a pointer.
 * A job is one malloc (header + JSON bytes) per event and handler: alert events are rare next to
 * points, and the copy lets the task free its scratch at once. */
#include "engine/alert_handlers.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"
#include "base/log.h"

extern char **environ;

struct job {
    size_t len;
    char json[]; /* len bytes + NUL */
};

struct eng_alert_handler {
    eng_handler_kind_t kind;
    eng_alert_svc_t *svc;
    char *target;
    char **argv; /* exec: program, args..., NULL */
    uint32_t argc;
    struct curl_slist *headers;
    int mode, insecure;
    int64_t timeout_ns;
    eng_handler_stats_t stats;
    /* guarded by svc->mu */
    struct job **lane; /* ring of svc lane_cap */
    uint32_t head, count;
    uint32_t refs;     /* creator + queued or in-flight jobs */
    bool busy, ready;  /* a worker has it; it is on the ready list */
    struct eng_alert_handler *next_ready;
};

struct eng_alert_svc {
    eng_alert_svc_conf_t conf;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    eng_alert_handler_t *ready_head, *ready_tail;
    bool stop;
    pthread_t *threads;
    uint32_t n_threads;
};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* milliseconds left until deadline (at least 0) */
static int ms_left(int64_t deadline)
{
    int64_t left = deadline - now_ns();
    return left <= 0 ? 0 : (int)((left + 999999) / 1000000);
}

/* ---- the handler kinds --------------------------------------------------------------------- */

static int run_log(eng_alert_handler_t *h, const struct job *j)
{
    int fd = open(h->target, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, h->mode ? h->mode : 0600);
    if (fd < 0) {
        FA_LOG(FA_WARN, "alert log handler: cannot open \"%s\": %s", h->target, strerror(errno));
        return -1;
    }
    struct iovec iov[2] = { { (void *)j->json, j->len }, { "\n", 1 } };
    ssize_t n = writev(fd, iov, 2); /* one append: lines of concurrent writers never interleave */
    int rc = n == (ssize_t)(j->len + 1) ? 0 : -1;
    if (rc != 0)
        FA_LOG(FA_WARN, "alert log handler: cannot write \"%s\": %s", h->target, n < 0 ? strerror(errno) : "short write");
    close(fd);
    return rc;
}

/* writes all of buf to a non-blocking fd before the deadline: 0, -1 error, -2 timeout */
static int write_all(int fd, const char *buf, size_t len, int64_t deadline, bool sock)
{
    size_t off = 0;
    while (off < len) {
        ssize_t n = sock ? send(fd, buf + off, len - off, MSG_NOSIGNAL) : write(fd, buf + off, len - off);
        if (n > 0) {
            off += (size_t)n;
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            return -1;
        struct pollfd pfd = { .fd = fd, .events = POLLOUT };
        int left = ms_left(deadline);
        if (left == 0 || poll(&pfd, 1, left) == 0)
            return -2;
    }
    return 0;
}

static int split_addr(const char *addr, char *host, size_t hn, const char **port)
{
    const char *colon = strrchr(addr, ':');
    if (colon == NULL || colon == addr)
        return -1;
    const char *h = addr;
    size_t len = (size_t)(colon - addr);
    if (h[0] == '[' && len >= 2 && h[len - 1] == ']') {
        h++;
        len -= 2;
    }
    if (len >= hn)
        return -1;
    memcpy(host, h, len);
    host[len] = 0;
    *port = colon + 1;
    return 0;
}

static int connect_before(const char *addr, int64_t deadline)
{
    char host[256];
    const char *port;
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
    if (split_addr(addr, host, sizeof host, &port) != 0 || getaddrinfo(host, port, &hints, &res) != 0)
        return -1;
    int fd = -1, rc = -1;
    for (struct addrinfo *ai = res; ai != NULL && rc == -1; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0)
            continue;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            rc = 0;
            break;
        }
        if (errno == EINPROGRESS) {
            struct pollfd pfd = { .fd = fd, .events = POLLOUT };
            int err = 0;
            socklen_t el = sizeof err;
            int left = ms_left(deadline);
            if (left > 0 && poll(&pfd, 1, left) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err == 0) {
                rc = 0;
                break;
            }
            if (ms_left(deadline) == 0)
                rc = -2;
        }
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return rc == 0 ? fd : rc;
}

static int run_tcp(eng_alert_handler_t *h, const struct job *j, int64_t deadline)
{
    int fd = connect_before(h->target, deadline);
    if (fd < 0) {
        FA_LOG(FA_WARN, "alert tcp handler: cannot connect to %s%s", h->target, fd == -2 ? ": timeout" : "");
        return fd;
    }
    int rc = write_all(fd, j->json, j->len, deadline, true);
    if (rc == 0)
        rc = write_all(fd, "\n\n", 2, deadline, true);
    if (rc != 0)
        FA_LOG(FA_WARN, "alert tcp handler: cannot send to %s%s", h->target, rc == -2 ? ": timeout" : "");
    close(fd);
    return rc;
}

static size_t discard(char *p, size_t size, size_t n, void *ud) { return size * n; }

static int run_post(eng_alert_handler_t *h, const struct job *j, int64_t deadline)
{
    CURL *c = curl_easy_init();
    if (c == NULL)
        return -1;
    /* the body is the JSON plus a newline (Go's json.Encoder); j->json has room for it */
    ((char *)j->json)[j->len] = '\n';
    long ms = ms_left(deadline);
    curl_easy_setopt(c, CURLOPT_URL, h->target);
    char *body = (char *)j->json;
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)j->len + 1);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h->headers);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, ms > 0 ? ms : 1L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    if (h->insecure) {
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    CURLcode cc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    ((char *)j->json)[j->len] = '\0';
    if (cc != CURLE_OK) {
        FA_LOG(FA_WARN, "alert post handler: POST %s failed: %s", h->target, curl_easy_strerror(cc));
        return cc == CURLE_OPERATION_TIMEDOUT ? -2 : -1;
    }
    if (status < 200 || status > 299) {
        FA_LOG(FA_WARN, "alert post handler: POST %s answered %ld", h->target, status);
        return -1;
    }
    return 0;
}

static pid_t spawn_exec(eng_alert_handler_t *h, int *in_fd)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0)
        return -1;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t none, dfl;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[0], 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    posix_spawnattr_init(&at);
    sigemptyset(&none);
    sigemptyset(&dfl);
    sigaddset(&dfl, SIGPIPE);
    posix_spawnattr_setsigmask(&at, &none); /* workers block SIGPIPE; the child must not */
    posix_spawnattr_setsigdefault(&at, &dfl);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t pid;
    int rc = posix_spawnp(&pid, h->argv[0], &fa, &at, h->argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    close(p[0]);
    if (rc != 0) {
        close(p[1]);
        FA_LOG(FA_WARN, "alert exec handler: cannot run \"%s\": %s", h->argv[0], strerror(rc));
        return -1;
    }
    fcntl(p[1], F_SETFL, O_NONBLOCK);
    *in_fd = p[1];
    return pid;
}

static int run_exec(eng_alert_handler_t *h, const struct job *j, int64_t deadline)
{
    int fd;
    pid_t pid = spawn_exec(h, &fd);
    if (pid < 0)
        return -1;
    ((char *)j->json)[j->len] = '\n';
    int rc = write_all(fd, j->json, j->len + 1, deadline, false);
    ((char *)j->json)[j->len] = '\0';
    close(fd);
    int status = 0;
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            break;
        if (w < 0 && errno != EINTR)
            return -1;
        if (ms_left(deadline) == 0) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            FA_LOG(FA_WARN, "alert exec handler: \"%s\" killed after its timeout", h->argv[0]);
            return -2;
        }
        struct timespec ts = { 0, 2000000 };
        nanosleep(&ts, NULL);
    }
    if (rc == 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
        FA_LOG(FA_WARN, "alert exec handler: \"%s\" exited with status %d", h->argv[0], status);
        rc = -1;
    }
    return rc == -2 ? -2 : rc != 0 ? -1 : 0;
}

static void run_job(eng_alert_handler_t *h, const struct job *j)
{
    int64_t deadline = now_ns() + (h->timeout_ns > 0 ? h->timeout_ns : h->svc->conf.timeout_ns);
    int rc = -1;
    switch (h->kind) {
    case ENG_HANDLER_LOG: rc = run_log(h, j); break;
    case ENG_HANDLER_POST: rc = run_post(h, j, deadline); break;
    case ENG_HANDLER_TCP: rc = run_tcp(h, j, deadline); break;
    case ENG_HANDLER_EXEC: rc = run_exec(h, j, deadline); break;
    }
    if (rc == 0) {
        atomic_fetch_add(&h->stats.delivered, 1);
        return;
    }
    atomic_fetch_add(&h->stats.failed, 1);
    if (rc == -2)
        atomic_fetch_add(&h->stats.timeouts, 1);
}

/* ---- lanes and workers --------------------------------------------------------------------- */

static void handler_destroy(eng_alert_handler_t *h)
{
    for (uint32_t i = 0; i < h->argc; i++)
        free(h->argv[i]);
    free(h->argv);
    curl_slist_free_all(h->headers);
    free(h->lane);
    free(h->target);
    free(h);
}

/* with mu held */
static void push_ready(eng_alert_svc_t *s, eng_alert_handler_t *h)
{
    h->ready = true;
    h->next_ready = NULL;
    if (s->ready_tail)
        s->ready_tail->next_ready = h;
    else
        s->ready_head = h;
    s->ready_tail = h;
    pthread_cond_signal(&s->cv);
}

static void *worker(void *arg)
{
    eng_alert_svc_t *s = arg;
    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, NULL);
    pthread_mutex_lock(&s->mu);
    while (!s->stop) {
        eng_alert_handler_t *h = s->ready_head;
        if (h == NULL) {
            pthread_cond_wait(&s->cv, &s->mu);
            continue;
        }
        s->ready_head = h->next_ready;
        if (s->ready_head == NULL)
            s->ready_tail = NULL;
        h->ready = false;
        struct job *j = h->lane[h->head];
        h->head = (h->head + 1) % s->conf.lane_cap;
        h->count--;
        h->busy = true;
        pthread_mutex_unlock(&s->mu);
        run_job(h, j);
        free(j);
        pthread_mutex_lock(&s->mu);
        h->busy = false;
        if (--h->refs == 0)
            handler_destroy(h);
        else if (h->count > 0)
            push_ready(s, h);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

eng_alert_svc_t *eng_alert_svc_new(const eng_alert_svc_conf_t *conf)
{
    pthread_once(&curl_once, curl_init);
    eng_alert_svc_t *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    if (conf != NULL)
        s->conf = *conf;
    if (s->conf.workers == 0)
        s->conf.workers = 2;
    if (s->conf.lane_cap == 0)
        s->conf.lane_cap = 256;
    if (s->conf.timeout_ns <= 0)
        s->conf.timeout_ns = 10 * 1000000000ll;
    if (s->conf.hostname == NULL)
        s->conf.hostname = "localhost";
    if (s->conf.cluster_id == NULL)
        s->conf.cluster_id = "";
    if (s->conf.server_id == NULL)
        s->conf.server_id = "";
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->threads = calloc(s->conf.workers, sizeof(pthread_t));
    for (uint32_t i = 0; s->threads != NULL && i < s->conf.workers; i++) {
        if (pthread_create(&s->threads[i], NULL, worker, s) != 0)
            break;
        s->n_threads++;
    }
    if (s->n_threads == 0) {
        FA_LOG(FA_ERROR, "alert handler service: cannot start worker threads");
        eng_alert_svc_free(s);
        return NULL;
    }
    return s;
}

void eng_alert_svc_free(eng_alert_svc_t *s)
{
    if (s == NULL)
        return;
    pthread_mutex_lock(&s->mu);
    s->stop = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    for (uint32_t i = 0; i < s->n_threads; i++)
        pthread_join(s->threads[i], NULL);
    /* what is still queued is dropped; handlers whose creator is gone are freed */
    for (eng_alert_handler_t *h = s->ready_head, *next; h != NULL; h = next) {
        next = h->next_ready;
        while (h->count > 0) {
            free(h->lane[h->head]);
            h->head = (h->head + 1) % s->conf.lane_cap;
            h->count--;
            h->refs--;
            atomic_fetch_add(&h->stats.dropped, 1);
        }
        if (h->refs == 0)
            handler_destroy(h);
    }
    free(s->threads);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

const eng_alert_svc_conf_t *eng_alert_svc_conf(const eng_alert_svc_t *s) { return &s->conf; }

static char *dup_str(fa_str_t s)
{
    char *d = malloc(s.len + 1);
    if (d == NULL)
        abort();
    if (s.len)
        memcpy(d, s.ptr, s.len);
    d[s.len] = 0;
    return d;
}

eng_alert_handler_t *eng_alert_handler_new(eng_alert_svc_t *s, eng_handler_kind_t kind, fa_str_t target,
                                           int64_t timeout_ns)
{
    eng_alert_handler_t *h = calloc(1, sizeof(*h));
    if (h == NULL)
        abort();
    h->kind = kind;
    h->svc = s;
    h->target = dup_str(target);
    h->timeout_ns = timeout_ns;
    h->refs = 1;
    h->lane = calloc(s->conf.lane_cap, sizeof(*h->lane));
    if (h->lane == NULL)
        abort();
    if (kind == ENG_HANDLER_POST) /* user headers never replace it (see eng_alert_handler_header) */
        h->headers = curl_slist_append(NULL, "Content-Type: application/json");
    if (kind == ENG_HANDLER_EXEC) {
        h->argv = calloc(2, sizeof(char *));
        h->argv[h->argc++] = dup_str(target);
    }
    return h;
}

void eng_alert_handler_header(eng_alert_handler_t *h, fa_str_t key, fa_str_t value)
{
    if (key.len == 12 && strncasecmp(key.ptr, "Content-Type", 12) == 0)
        return;
    char *line = malloc(key.len + value.len + 3);
    if (line == NULL)
        abort();
    snprintf(line, key.len + value.len + 3, "%.*s: %.*s", (int)key.len, key.ptr, (int)value.len, value.ptr);
    h->headers = curl_slist_append(h->headers, line);
    free(line);
}

void eng_alert_handler_arg(eng_alert_handler_t *h, fa_str_t arg)
{
    char **v = realloc(h->argv, (h->argc + 2) * sizeof(char *));
    if (v == NULL)
        abort();
    h->argv = v;
    h->argv[h->argc++] = dup_str(arg);
    h->argv[h->argc] = NULL;
}

void eng_alert_handler_set_mode(eng_alert_handler_t *h, int mode) { h->mode = mode; }
void eng_alert_handler_set_insecure(eng_alert_handler_t *h, int insecure) { h->insecure = insecure; }

int eng_alert_handler_submit(eng_alert_handler_t *h, fa_str_t json)
{
    eng_alert_svc_t *s = h->svc;
    struct job *j = malloc(sizeof(*j) + json.len + 1);
    if (j == NULL) {
        atomic_fetch_add(&h->stats.dropped, 1);
        return FA_ENOMEM;
    }
    j->len = json.len;
    memcpy(j->json, json.ptr, json.len);
    j->json[json.len] = 0;
    pthread_mutex_lock(&s->mu);
    if (s->stop || h->count == s->conf.lane_cap) {
        pthread_mutex_unlock(&s->mu);
        free(j);
        atomic_fetch_add(&h->stats.dropped, 1);
        return FA_EAGAIN;
    }
    h->lane[(h->head + h->count) % s->conf.lane_cap] = j;
    h->count++;
    h->refs++;
    if (!h->busy && !h->ready)
        push_ready(s, h);
    pthread_mutex_unlock(&s->mu);
    atomic_fetch_add(&h->stats.queued, 1);
    return 0;
}

const eng_handler_stats_t *eng_alert_handler_stats(const eng_alert_handler_t *h) { return &h->stats; }

void eng_alert_handler_release(eng_alert_handler_t *h)
{
    if (h == NULL)
        return;
    eng_alert_svc_t *s = h->svc;
    pthread_mutex_lock(&s->mu);
    if (--h->refs == 0)
        handler_destroy(h);
    pthread_mutex_unlock(&s->mu);
}
