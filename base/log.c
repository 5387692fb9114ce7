/* base/log.c - a small fixed table of call sites for rate limiting; lines go out in one write(). */
#include "base/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

int fa_log_level = FA_INFO;
static int log_fd = 2;

enum { SITES = 256, BURST = 20 };

/* One slot per hashed call site; collisions only make the limit a little stricter. */
static struct site {
    _Atomic int64_t second;
    atomic_int count;
    atomic_int suppressed;
} sites[SITES];

static const char *const names[] = { "error", "warn", "info", "debug" };

const char *fa_log_level_name(int lvl)
{
    return lvl >= 0 && lvl <= FA_DEBUG ? names[lvl] : "?";
}

int fa_log_level_parse(const char *name, int *out)
{
    for (int i = 0; i <= FA_DEBUG; i++)
        if (strcasecmp(name, names[i]) == 0) {
            *out = i;
            return 0;
        }
    if (strcasecmp(name, "warning") == 0) {
        *out = FA_WARN;
        return 0;
    }
    return -1;
}

void fa_log_set_fd(int fd) { log_fd = fd; }

/* Appends msg to buf[n..cap) as the inside of a logfmt quoted value: '"' and '\\' get a
 * backslash, control bytes become \n, \t or \xNN, so one message is always one line.
 * Stops before an escape that would not fit. Returns the new length. */
static size_t escape(char *buf, size_t n, size_t cap, const char *msg, size_t len)
{
    static const char hex[] = "0123456789abcdef";

    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)msg[i];
        char e[4];
        size_t k = 0;
        if (c == '"' || c == '\\')
            e[k++] = '\\', e[k++] = (char)c;
        else if (c == '\n')
            e[k++] = '\\', e[k++] = 'n';
        else if (c == '\t')
            e[k++] = '\\', e[k++] = 't';
        else if (c < 0x20 || c == 0x7f)
            e[k++] = '\\', e[k++] = 'x', e[k++] = hex[c >> 4], e[k++] = hex[c & 15];
        else
            e[k++] = (char)c;
        if (n + k > cap)
            break;
        memcpy(buf + n, e, k);
        n += k;
    }
    return n;
}

void fa_log_emit(fa_log_level_t lvl, const char *file, int line, const char *fmt, ...)
{
    int saved = errno;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);

    uintptr_t h = ((uintptr_t)file * 31u + (unsigned)line) % SITES;
    struct site *s = &sites[h];
    int64_t now = ts.tv_sec, was = atomic_load(&s->second);
    int dropped = 0;
    if (was != now && atomic_compare_exchange_strong(&s->second, &was, now)) {
        atomic_store(&s->count, 0);
        dropped = atomic_exchange(&s->suppressed, 0);
    }
    if (atomic_fetch_add(&s->count, 1) >= BURST) {
        atomic_fetch_add(&s->suppressed, 1);
        errno = saved;
        return;
    }

    char buf[2048], msg[1536];
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    const char *base = strrchr(file, '/');
    int n = snprintf(buf, sizeof buf - 512, "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ lvl=%s src=%.200s:%d msg=\"",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     ts.tv_nsec / 1000000, fa_log_level_name(lvl), base ? base + 1 : file, line);
    if (n < 0 || (size_t)n >= sizeof buf - 512)
        n = 0;
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    size_t len = m < 0 ? 0 : (size_t)m < sizeof msg ? (size_t)m : sizeof msg - 1;
    n = (int)escape(buf, (size_t)n, sizeof buf - 64, msg, len);
    if (dropped > 0)
        n += snprintf(buf + n, sizeof buf - (size_t)n, "\" suppressed=%d\n", dropped);
    else
        n += snprintf(buf + n, sizeof buf - (size_t)n, "\"\n");
    ssize_t w = write(log_fd, buf, (size_t)n);
    (void)w;
    errno = saved;
}
