/* test/engine/test_cron.c - cron parsing and next-match times (exact UTC timestamps). */
#include <criterion/criterion.h>
#include <stdint.h>

#include "engine/cron.h"

static int64_t next_of(const char *expr, int64_t after)
{
    eng_cron_t c;
    char err[200];
    size_t off = 99;
    cr_assert_eq(eng_cron_parse(fa_str_c(expr), &c, err, sizeof err, &off), 0, "%s: %s", expr, err);
    return eng_cron_next(&c, after);
}

static void parse_fails(const char *expr, const char *msg, size_t want_off)
{
    eng_cron_t c;
    char err[200] = "";
    size_t off = 99;
    cr_assert_eq(eng_cron_parse(fa_str_c(expr), &c, err, sizeof err, &off), -1, "%s parsed", expr);
    cr_assert_str_eq(err, msg);
    cr_assert_eq(off, want_off, "%s: offset %zu", expr, off);
}

Test(cron, five_fields_step_minutes)
{
    /* 2022-01-02T00:05:30Z -> 00:15:00 */
    cr_assert_eq(next_of("*/15 * * * *", 1641081930000000000), 1641082500000000000);
    /* exactly on a match: strictly after */
    cr_assert_eq(next_of("*/15 * * * *", 1641082500000000000), 1641082500000000000 + 15 * 60000000000LL);
}

Test(cron, weekdays_by_name)
{
    /* Saturday 2022-01-01T10:00Z -> Monday 2022-01-03T09:00Z */
    cr_assert_eq(next_of("0 9 * * MON-FRI", 1641031200000000000), 1641200400000000000);
    cr_assert_eq(next_of("0 9 * * 1-5", 1641031200000000000), 1641200400000000000);
}

Test(cron, seven_fields_have_seconds)
{
    /* 2022-01-02T00:00:05Z -> 00:00:10 */
    cr_assert_eq(next_of("*/10 * * * * * *", 1641081605000000000), 1641081610000000000);
    /* a time inside a second counts as that second */
    cr_assert_eq(next_of("*/10 * * * * * *", 1641081609999999999), 1641081610000000000);
}

Test(cron, six_fields_end_with_year)
{
    /* Feb 29 of 2024 only, from 2022-01-01 */
    cr_assert_eq(next_of("0 0 29 2 * 2024", 1641031200000000000), 1709164800000000000);
    cr_assert_eq(next_of("0 0 29 2 * 2023", 1641031200000000000), -1); /* no Feb 29 in 2023 */
    cr_assert_eq(next_of("0 0 1 1 * 2000", 1641031200000000000), -1);
}

Test(cron, both_day_fields_match_either)
{
    /* the 13th or a Friday: Friday 2022-01-07 comes first */
    cr_assert_eq(next_of("0 0 13 * FRI", 1641031200000000000), 1641513600000000000);
    /* day of month alone: the 13th (a Thursday) */
    cr_assert_eq(next_of("0 0 13 * ?", 1641031200000000000), 1642032000000000000);
    /* 7 means Sunday as 0 does: Sunday 2022-01-02 */
    cr_assert_eq(next_of("0 0 * * 7", 1641031200000000000), 1641081600000000000);
}

Test(cron, macros_and_year_rollover)
{
    /* 2022-01-31T12:00Z -> 2022-02-01 */
    cr_assert_eq(next_of("@monthly", 1643630400000000000), 1643673600000000000);
    /* 2022-12-31T23:59:59Z -> 2023-01-01 */
    cr_assert_eq(next_of("@daily", 1672531199000000000), 1672531200000000000);
    cr_assert_eq(next_of("@hourly", 1672531199000000000), 1672531200000000000);
    cr_assert_eq(next_of("0 0 0 1 1 * *", 1672531199000000000), 1672531200000000000);
}

Test(cron, lists_ranges_and_steps)
{
    /* minutes 5,20-22,50/5: after 00:22:00 comes 00:50:00, then 00:55:00 */
    int64_t base = 1641081600000000000; /* 2022-01-02T00:00Z */
    cr_assert_eq(next_of("5,20-22,50/5 * * * *", base + 22 * 60000000000LL), base + 50 * 60000000000LL);
    cr_assert_eq(next_of("5,20-22,50/5 * * * *", base + 50 * 60000000000LL), base + 55 * 60000000000LL);
    cr_assert_eq(next_of("5,20-22,50/5 * * * *", base + 55 * 60000000000LL), base + 65 * 60000000000LL);
}

Test(cron, errors_name_the_field)
{
    parse_fails("61 * * * *", "cron minute field: 61 is out of range 0-59", 0);
    parse_fails("0 0 L * *", "cron day of month field: 'L' is not supported", 4);
    parse_fails("0 0 * * 5#3", "cron day of week field: '#' is not supported", 8);
    parse_fails("0 0 * FOO *", "cron month field: unknown value 'FOO'", 6);
    parse_fails("0 0 */0 * *", "cron day of month field: bad step '0'", 4);
    parse_fails("0 10-5 * * *", "cron hour field: range ends before it starts at '5'", 2);
    parse_fails("* * *", "cron: too few fields in '* * *': want 5, 6 or 7", 0);
    parse_fails("* * * * * * * *", "cron: more than 7 fields in '* * * * * * * *': want 5, 6 or 7", 0);
    parse_fails("@often", "cron: unknown macro '@often'", 0);
}
