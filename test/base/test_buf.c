/* test/base/test_buf.c - base/buf.c: append, appendf, the limit, cstr. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "base/err.h"
#include "base/str.h"

static fa_buf_t buf;
static void setup(void) { buf = FA_BUF_INIT; }
static void teardown(void) { fa_buf_deinit(&buf); }
TestSuite(buf, .init = setup, .fini = teardown);

Test(buf, empty_cstr)
{
    cr_assert_str_eq(fa_buf_cstr(&buf), "");
    cr_assert_eq(buf.len, 0);
}

Test(buf, append_grows)
{
    char expect[10000];
    for (int i = 0; i < 1000; i++) {
        cr_assert_eq(fa_buf_append(&buf, "0123456789", 10), 0);
        memcpy(expect + i * 10, "0123456789", 10);
    }
    cr_assert_eq(buf.len, 10000);
    cr_assert_gt(buf.cap, buf.len, "no spare byte for the NUL");
    cr_assert(memcmp(buf.ptr, expect, sizeof expect) == 0);
    cr_assert_eq(strlen(fa_buf_cstr(&buf)), 10000);
    cr_assert_eq(fa_buf_append(&buf, NULL, 0), 0);
    cr_assert_eq(buf.len, 10000);
    cr_assert_eq(fa_buf_append_str(&buf, FA_STR_LIT("ab")), 0);
    cr_assert_eq(fa_buf_append_c(&buf, "cd"), 0);
    cr_assert_str_eq(fa_buf_cstr(&buf) + 10000, "abcd");
}

Test(buf, appendf_short_and_long)
{
    cr_assert_eq(fa_buf_appendf(&buf, "%s=%d", "n", 42), 0);
    cr_assert_str_eq(fa_buf_cstr(&buf), "n=42");
    /* longer than appendf's stack buffer */
    char long_s[3001];
    for (int i = 0; i < 3000; i++)
        long_s[i] = (char)('a' + i % 26);
    long_s[3000] = '\0';
    cr_assert_eq(fa_buf_appendf(&buf, "[%s]%d", long_s, 7), 0);
    cr_assert_eq(buf.len, 4 + 1 + 3000 + 1 + 1);
    const char *s = fa_buf_cstr(&buf);
    cr_assert(strncmp(s, "n=42[", 5) == 0);
    cr_assert(memcmp(s + 5, long_s, 3000) == 0);
    cr_assert_str_eq(s + 5 + 3000, "]7");
}

Test(buf, limit_gives_e2big)
{
    buf.limit = 100;
    cr_assert_eq(fa_buf_append(&buf, "0123456789", 10), 0);
    for (int i = 0; i < 8; i++)
        cr_assert_eq(fa_buf_append(&buf, "0123456789", 10), 0);
    cr_assert_eq(buf.len, 90);
    cr_assert_eq(fa_buf_append(&buf, "01234567890", 11), FA_E2BIG);
    cr_assert_eq(buf.len, 90, "a refused append changed the buffer");
    cr_assert_eq(fa_buf_append(&buf, "0123456789", 10), 0, "refused exactly up to the limit");
    cr_assert_eq(fa_buf_append(&buf, "x", 1), FA_E2BIG);
    cr_assert_eq(buf.len, 100);
    cr_assert_eq(strlen(fa_buf_cstr(&buf)), 100);
}

Test(buf, limit_holds_when_capacity_has_room)
{
    /* 65 bytes double the capacity to 128: the spare room must not let the buffer pass 70 */
    buf.limit = 70;
    char data[70];
    memset(data, 'x', sizeof data);
    cr_assert_eq(fa_buf_append(&buf, data, 65), 0);
    cr_assert_geq(buf.cap, 100);
    cr_assert_eq(fa_buf_append(&buf, data, 10), FA_E2BIG);
    cr_assert_eq(fa_buf_appendf(&buf, "%s", "0123456789"), FA_E2BIG);
    cr_assert_eq(buf.len, 65);
}

Test(buf, appendf_respects_limit)
{
    buf.limit = 300;
    char s[400];
    memset(s, 'y', sizeof s - 1);
    s[sizeof s - 1] = '\0';
    cr_assert_eq(fa_buf_appendf(&buf, "%s", s), FA_E2BIG);
    cr_assert_eq(buf.len, 0);
    cr_assert_eq(fa_buf_appendf(&buf, "%.300s", s), 0);
    cr_assert_eq(buf.len, 300);
}

Test(buf, huge_reserve_fails_instead_of_wrapping)
{
    cr_assert_eq(fa_buf_append(&buf, "abc", 3), 0);
    cr_assert_neq(fa_buf_reserve(&buf, SIZE_MAX - 1), 0);
    cr_assert_neq(fa_buf_reserve(&buf, SIZE_MAX), 0);
    cr_assert_eq(buf.len, 3);
}

Test(buf, clear_and_deinit_keep_limit)
{
    buf.limit = 50;
    cr_assert_eq(fa_buf_append_c(&buf, "hello"), 0);
    fa_buf_clear(&buf);
    cr_assert_str_eq(fa_buf_cstr(&buf), "");
    fa_buf_deinit(&buf);
    cr_assert_null(buf.ptr);
    cr_assert_eq(buf.limit, 50);
}
