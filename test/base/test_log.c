/* test/base/test_log.c - base/log.c: level names, one write() per line, rate limiting.
 * Lines go to a datagram socket pair, so each recv() returns exactly one write(); on a connected
 * pair only the send buffer (about 200 KB) bounds the queue, so these few lines never block. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"

static int sv[2] = { -1, -1 };

static void setup(void)
{
    cr_assert_eq(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
    fa_log_set_fd(sv[1]);
    fa_log_level = FA_INFO;
}

static void teardown(void)
{
    fa_log_set_fd(2);
    close(sv[0]);
    close(sv[1]);
}

TestSuite(log, .init = setup, .fini = teardown);

/* Reads every write() waiting on the socket; each must be exactly one line. */
static int read_writes(char lines[][2048], int max)
{
    int n = 0;

    for (;;) {
        char tmp[4096];
        ssize_t r = recv(sv[0], tmp, sizeof tmp, MSG_DONTWAIT);
        if (r < 0) {
            cr_assert(errno == EAGAIN || errno == EWOULDBLOCK, "recv: %s", strerror(errno));
            return n;
        }
        cr_assert_gt(r, 0);
        cr_assert_lt(r, 2048);
        cr_assert_eq(tmp[r - 1], '\n', "a write() did not end a line");
        cr_assert_null(memchr(tmp, '\n', (size_t)r - 1), "a write() held more than one line");
        if (n < max) {
            memcpy(lines[n], tmp, (size_t)r);
            lines[n][r] = '\0';
        }
        n++;
    }
}

/* Sleeps until just after the next second starts (the rate limit counts per wall-clock second). */
static void wait_next_second(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct timespec d = { 0, 1000000000L - ts.tv_nsec + 2000000L };
    if (d.tv_nsec >= 1000000000L) {
        d.tv_sec = 1;
        d.tv_nsec -= 1000000000L;
    }
    nanosleep(&d, NULL);
}

/* One call site for every rate-limited line. */
static void emit(int i) { FA_LOG(FA_ERROR, "upstream refused write %d", i); }

Test(log, level_names_parse)
{
    static const char *const names[] = { "error", "warn", "info", "debug" };
    int lvl = -1;

    for (int i = 0; i <= FA_DEBUG; i++) {
        cr_assert_str_eq(fa_log_level_name(i), names[i]);
        cr_assert_eq(fa_log_level_parse(names[i], &lvl), 0);
        cr_assert_eq(lvl, i);
    }
    cr_assert_eq(fa_log_level_parse("warning", &lvl), 0);
    cr_assert_eq(lvl, FA_WARN);
    cr_assert_eq(fa_log_level_parse("DEBUG", &lvl), 0);
    cr_assert_eq(lvl, FA_DEBUG);
    lvl = 77;
    cr_assert_eq(fa_log_level_parse("verbose", &lvl), -1);
    cr_assert_eq(fa_log_level_parse("", &lvl), -1);
    cr_assert_eq(lvl, 77, "a failed parse wrote the level");
    cr_assert_str_eq(fa_log_level_name(-1), "?");
    cr_assert_str_eq(fa_log_level_name(4), "?");
}

Test(log, line_format)
{
    char lines[4][2048];

    FA_LOG(FA_WARN, "listening on %s", ":8086");
    cr_assert_eq(read_writes(lines, 4), 1);
    cr_assert(strncmp(lines[0], "ts=", 3) == 0, "%s", lines[0]);
    cr_assert_not_null(strstr(lines[0], " lvl=warn src=test_log.c:"), "%s", lines[0]);
    size_t len = strlen(lines[0]);
    const char *tail = " msg=\"listening on :8086\"\n";
    cr_assert(len > strlen(tail) && strcmp(lines[0] + len - strlen(tail), tail) == 0, "%s", lines[0]);
}

Test(log, level_filters)
{
    char lines[4][2048];

    FA_LOG(FA_DEBUG, "not shown");
    cr_assert_eq(read_writes(lines, 4), 0);
    fa_log_level = FA_DEBUG;
    FA_LOG(FA_DEBUG, "shown");
    cr_assert_eq(read_writes(lines, 4), 1);
    cr_assert_not_null(strstr(lines[0], "lvl=debug"));
}

Test(log, newlines_and_quotes_stay_on_one_line)
{
    char lines[4][2048];

    FA_LOG(FA_ERROR, "bad line %s", "cpu \"x\"\nmem\\1\t");
    cr_assert_eq(read_writes(lines, 4), 1); /* read_writes checks one line per write */
    cr_assert_not_null(strstr(lines[0], "msg=\"bad line cpu \\\"x\\\"\\nmem\\\\1\\t\"\n"), "%s", lines[0]);
}

Test(log, long_message_is_truncated_into_one_line)
{
    char lines[2][2048];
    char big[5000];

    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    FA_LOG(FA_ERROR, "%s", big);
    cr_assert_eq(read_writes(lines, 2), 1);
    cr_assert_gt(strlen(lines[0]), 1000);
    cr_assert(strcmp(lines[0] + strlen(lines[0]) - 3, "z\"\n") == 0, "%s", lines[0]);
}

Test(log, errno_is_kept)
{
    char lines[2][2048];

    errno = ERANGE;
    FA_LOG(FA_ERROR, "x");
    cr_assert_eq(errno, ERANGE);
    read_writes(lines, 2);
}

Test(log, repeated_lines_are_rate_limited, .timeout = 10)
{
    char lines[100][2048];

    wait_next_second();
    for (int i = 0; i < 100; i++)
        emit(i);
    int got = read_writes(lines, 100);
    cr_assert_gt(got, 0);
    cr_assert_leq(got, 20, "%d of 100 lines got through in one second", got);
    for (int i = 0; i < got; i++) {
        char want[64];
        snprintf(want, sizeof want, "msg=\"upstream refused write %d\"\n", i);
        cr_assert_not_null(strstr(lines[i], want), "line %d: %s", i, lines[i]);
    }
    /* a different call site is not limited by this one */
    FA_LOG(FA_ERROR, "other site");
    cr_assert_eq(read_writes(lines, 100), 1);

    wait_next_second();
    emit(100);
    cr_assert_eq(read_writes(lines, 100), 1);
    char want[64];
    snprintf(want, sizeof want, "msg=\"upstream refused write 100\" suppressed=%d\n", 100 - got);
    cr_assert_not_null(strstr(lines[0], want), "%s", lines[0]);
    /* the count was reported once */
    emit(101);
    cr_assert_eq(read_writes(lines, 100), 1);
    cr_assert_null(strstr(lines[0], "suppressed="), "%s", lines[0]);
}
