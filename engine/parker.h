/* engine/parker.h - lets a polling thread sleep when it has nothing to do, and be woken by the
 * threads that give it work, at the cost of one eventfd write only while it sleeps (a relaxed
 * load otherwise). Producers publish work first (a ring push), then call eng_parker_wake. */
#ifndef ENGINE_PARKER_H
#define ENGINE_PARKER_H
#include <poll.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

typedef struct eng_parker {
    atomic_bool parked; /* the owner is about to sleep, or sleeps */
    int fd;             /* eventfd; -1 before init */
} eng_parker_t;

/** 0, or -1 (errno) when no eventfd could be made. */
static inline int eng_parker_init(eng_parker_t *p)
{
    atomic_init(&p->parked, false);
    p->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    return p->fd < 0 ? -1 : 0;
}

static inline void eng_parker_deinit(eng_parker_t *p)
{
    if (p->fd >= 0)
        close(p->fd);
    p->fd = -1;
}

/** Any thread, after publishing work for the owner. */
static inline void eng_parker_wake(eng_parker_t *p)
{
    /* pairs with the fence in eng_parker_park: either the owner sees the work, or we see it parked */
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&p->parked, memory_order_relaxed)) {
        uint64_t one = 1;
        ssize_t w = write(p->fd, &one, sizeof one);
        (void)w;
    }
}

/** Owner only: marks itself parked, calls `poll_work` once more (it returns how much it did), and
 * sleeps up to timeout_ms unless that found work or a wake came. */
static inline void eng_parker_park(eng_parker_t *p, unsigned (*poll_work)(void *), void *arg, int timeout_ms)
{
    atomic_store_explicit(&p->parked, true, memory_order_relaxed);
    atomic_thread_fence(memory_order_seq_cst);
    if (poll_work(arg) == 0) {
        struct pollfd pfd = { .fd = p->fd, .events = POLLIN };
        poll(&pfd, 1, timeout_ms);
    }
    atomic_store_explicit(&p->parked, false, memory_order_relaxed);
    uint64_t n;
    ssize_t r = read(p->fd, &n, sizeof n);
    (void)r;
}
#endif
