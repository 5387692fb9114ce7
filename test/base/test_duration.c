/* test/base/test_duration.c - base/duration.c: each dialect's units and flags, overflow at both
 * ends of int64_t, Go's Duration.String() and influxql.FormatDuration, and format -> parse. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "base/conf.h"
#include "base/duration.h"
#include "base/err.h"

#define SEC INT64_C(1000000000)

static int parse(const char *s, unsigned flags, int64_t *ns)
{
    return fa_duration_parse(fa_str_c(s), flags, ns);
}

/* Each text parses under flags to want. */
static void expect_ns(unsigned flags, const char *s, int64_t want)
{
    int64_t ns = 12345;
    int rc = parse(s, flags, &ns);
    cr_assert_eq(rc, 0, "\"%s\" (flags %#x): rc %d", s, flags, rc);
    cr_assert_eq(ns, want, "\"%s\" (flags %#x): %lld, want %lld", s, flags, (long long)ns, (long long)want);
}

static void expect_rc(unsigned flags, const char *s, int want_rc)
{
    int64_t ns = 12345;
    int rc = parse(s, flags, &ns);
    cr_assert_eq(rc, want_rc, "\"%s\" (flags %#x): rc %d, want %d", s, flags, rc, want_rc);
    cr_assert_eq(ns, 12345, "\"%s\": *ns written on failure", s);
}

Test(duration, go_parse_accepts_what_time_parseduration_does)
{
    const unsigned g = FA_DUR_GO_PARSE;
    expect_ns(g, "0", 0);
    expect_ns(g, "-0", 0);
    expect_ns(g, "+0", 0);
    expect_ns(g, "-0s", 0);
    expect_ns(g, "1h30m", 90 * 60 * SEC);
    expect_ns(g, "1.5s", SEC + SEC / 2);
    expect_ns(g, ".5s", SEC / 2);
    expect_ns(g, "1.s", SEC);
    expect_ns(g, "-2m", -120 * SEC);
    expect_ns(g, "+2m", 120 * SEC);
    expect_ns(g, "1.000000001s", SEC + 1);
    expect_ns(g, "1h2m3.5s", 3723 * SEC + SEC / 2);
    expect_ns(g, "10ns", 10);
    expect_ns(g, "10us", 10000);
    expect_ns(g, "10\xc2\xb5s", 10000);
    expect_ns(g, "10\xce\xbcs", 10000);
    expect_ns(g, "1.5ms", 1500000);
    expect_ns(g, "0.1h", 360 * SEC);
    expect_ns(g, "1m.5s", 60 * SEC + SEC / 2);
    /* digits past the 18th of a fraction are ignored */
    expect_ns(g, "1.0000000000000000009999s", SEC);
    expect_ns(g, "2562047h47m16.854775807s", INT64_MAX);
    expect_ns(g, "-2562047h47m16.854775808s", INT64_MIN);
    expect_ns(g, "9223372036854775807ns", INT64_MAX);
    expect_ns(g, "-9223372036854775808ns", INT64_MIN);
    const char *bad[] = { "", "-", "+", "1", "s", ".s", "-.s", "1d", "1w", "1u", "1\xc2\xb5", "1 s", " 1s", "1s ",
                          "1S", "1sec", "1hs", "1..5s", "1h30", "--1s", "0x", "00" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_rc(g, bad[i], FA_EINVAL);
}

Test(duration, overflow_is_erange_at_both_ends)
{
    const unsigned g = FA_DUR_GO_PARSE;
    expect_rc(g, "9223372036854775808ns", FA_ERANGE);
    expect_rc(g, "-9223372036854775809ns", FA_ERANGE);
    expect_rc(g, "2562047h47m16.854775808s", FA_ERANGE);
    expect_rc(g, "2562048h", FA_ERANGE);
    expect_rc(g, "99999999999999999999999s", FA_ERANGE);
    expect_rc(g, "2562047h2562047h", FA_ERANGE);
    expect_rc(g, "9223372036854775807ns1ns", FA_ERANGE);
    expect_rc(FA_DUR_INFLUXQL | FA_DUR_SIGN, "15250w1w", FA_ERANGE);
    expect_rc(FA_DUR_INFLUXQL | FA_DUR_SIGN, "100000000000h", FA_ERANGE);
    expect_rc(FA_DUR_API, "9223372036854775808ns", FA_ERANGE);
    expect_rc(FA_DUR_CONF | FA_DUR_BARE_MS, "9223372036855", FA_ERANGE);
    expect_rc(FA_DUR_CONF | FA_DUR_BARE_MS, "99999999999999999999999", FA_ERANGE);
    expect_ns(FA_DUR_CONF | FA_DUR_BARE_MS, "9223372036854", INT64_C(9223372036854) * 1000000);
    expect_ns(FA_DUR_INFLUXQL, "15250w", INT64_C(15250) * 604800 * SEC);
}

Test(duration, influxql_units_are_u_and_micro_sign_alone)
{
    const unsigned q = FA_DUR_INFLUXQL | FA_DUR_SIGN;
    expect_ns(q, "10u", 10000);
    expect_ns(q, "10\xc2\xb5", 10000);
    expect_ns(q, "3d", 3 * 86400 * SEC);
    expect_ns(q, "2w", 14 * 86400 * SEC);
    expect_ns(q, "1h30m", 90 * 60 * SEC);
    expect_ns(q, "-5s", -5 * SEC);
    expect_ns(q, "5ns", 5);
    expect_ns(q, "1ms1m", 60 * SEC + 1000000);
    /* influxql.ParseDuration reads "us" and "µs" as u and µ followed by a term without digits */
    expect_rc(q, "10us", FA_EINVAL);
    expect_rc(q, "10\xc2\xb5s", FA_EINVAL);
    expect_rc(q, "1.5s", FA_EINVAL);
    expect_rc(q, "0", FA_EINVAL);
    expect_rc(q, "+5s", FA_EINVAL);
    expect_rc(FA_DUR_INFLUXQL, "-5s", FA_EINVAL);
}

Test(duration, api_units_take_us_and_micro_s)
{
    const unsigned a = FA_DUR_API;
    expect_ns(a, "10us", 10000);
    expect_ns(a, "10\xc2\xb5s", 10000);
    expect_ns(a, "10u", 10000);
    expect_ns(a, "1w2d3h", (9 * 24 + 3) * 3600 * SEC);
    expect_ns(a, "500ms", SEC / 2);
    expect_rc(a, "10\xc2\xb5", FA_EINVAL);
    expect_rc(a, "10\xce\xbcs", FA_EINVAL);
    expect_rc(a, "-5s", FA_EINVAL);
    expect_ns(a | FA_DUR_SIGN, "-5s", -5 * SEC);
    expect_rc(a, "1.5s", FA_EINVAL);
    expect_ns(a | FA_DUR_FRAC | FA_DUR_SINGLE, "1.5s", SEC + SEC / 2);
    expect_ns(a | FA_DUR_FRAC | FA_DUR_SINGLE, "0.5d", 43200 * SEC);
    expect_rc(a | FA_DUR_FRAC | FA_DUR_SINGLE, "1m30s", FA_EINVAL);
}

Test(duration, conf_units_and_bare_milliseconds)
{
    const unsigned c = FA_DUR_CONF | FA_DUR_BARE_MS;
    expect_ns(c, "250", 250 * 1000000);
    expect_ns(c, "0", 0);
    expect_ns(c, "1h30m", 90 * 60 * SEC);
    expect_ns(c, "100ms", SEC / 10);
    const char *bad[] = { "10 parsecs", "1h30", "1d", "s", "", "1ns", "1us", "1u", "-1s", "1.5s", "250 " };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_rc(c, bad[i], FA_EINVAL);
    expect_rc(FA_DUR_CONF, "250", FA_EINVAL);
}

Test(duration, parse_reads_only_the_slice)
{
    int64_t ns;
    cr_assert_eq(fa_duration_parse(fa_str("10s5m", 3), FA_DUR_GO_PARSE, &ns), 0);
    cr_assert_eq(ns, 10 * SEC);
    cr_assert_eq(fa_duration_parse(fa_str("1ms", 2), FA_DUR_GO_PARSE, &ns), 0);
    cr_assert_eq(ns, 60 * SEC);
}

Test(duration, go_string)
{
    static const struct {
        int64_t ns;
        const char *s;
    } cases[] = {
        { 0, "0s" },
        { 1, "1ns" },
        { -1, "-1ns" },
        { 999, "999ns" },
        { 1000, "1\xc2\xb5s" },
        { 1500, "1.5\xc2\xb5s" },
        { 1001001, "1.001001ms" },
        { 12000000, "12ms" },
        { 999999999, "999.999999ms" },
        { SEC, "1s" },
        { SEC + 1, "1.000000001s" },
        { 90 * SEC, "1m30s" },
        { 60 * SEC, "1m0s" },
        { 3600 * SEC, "1h0m0s" },
        { 7200 * SEC, "2h0m0s" },
        { 3723 * SEC + SEC / 2, "1h2m3.5s" },
        { -(3723 * SEC + SEC / 2), "-1h2m3.5s" },
        { INT64_MAX, "2562047h47m16.854775807s" },
        { INT64_MIN, "-2562047h47m16.854775808s" },
    };
    char out[FA_DURATION_LEN];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = fa_duration_format(out, sizeof out, cases[i].ns);
        cr_assert_str_eq(out, cases[i].s, "%lld", (long long)cases[i].ns);
        cr_assert_eq(n, strlen(cases[i].s));
    }
}

Test(duration, format_truncates_like_snprintf)
{
    char out[5] = "xxxx";
    cr_assert_eq(fa_duration_format(out, sizeof out, 90 * SEC), 5);
    cr_assert_str_eq(out, "1m30");
    cr_assert_eq(fa_duration_format(out, 0, 90 * SEC), 5);
    cr_assert_str_eq(out, "1m30");
    cr_assert_eq(fa_duration_format_influxql(out, 3, 90 * SEC), 3);
    cr_assert_str_eq(out, "90");
}

Test(duration, influxql_format_takes_the_largest_dividing_unit)
{
    static const struct {
        int64_t ns;
        const char *s;
    } cases[] = {
        { 0, "0s" },         { 14 * 86400 * SEC, "2w" }, { 3 * 86400 * SEC, "3d" }, { -7200 * SEC, "-2h" },
        { 90 * SEC, "90s" }, { 1500000000, "1500ms" },  { 1500, "1500ns" },       { 2000, "2u" },
        { INT64_MIN, "-9223372036854775808ns" },
    };
    char out[FA_DURATION_LEN];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fa_duration_format_influxql(out, sizeof out, cases[i].ns);
        cr_assert_str_eq(out, cases[i].s);
    }
}

Test(duration, append_to_buffer)
{
    fa_buf_t b = FA_BUF_INIT;
    cr_assert_eq(fa_duration_append(&b, 1500), 0);
    cr_assert_eq(fa_buf_append_c(&b, " "), 0);
    cr_assert_eq(fa_duration_append(&b, INT64_MIN), 0);
    cr_assert_str_eq(fa_buf_cstr(&b), "1.5\xc2\xb5s -2562047h47m16.854775808s");
    fa_buf_deinit(&b);
    b.limit = 4;
    cr_assert_eq(fa_duration_append(&b, 90 * SEC), FA_E2BIG);
    fa_buf_deinit(&b);
}

/* Go's String() reads back under Go's parser, and InfluxQL's under InfluxQL's, for values spread
 * over the whole range (a fixed LCG, so a failure repeats). */
Test(duration, format_then_parse_round_trips)
{
    uint64_t x = 0x9e3779b97f4a7c15u;
    char out[FA_DURATION_LEN];
    for (int i = 0; i < 20000; i++) {
        x = x * 6364136223846793005u + 1442695040888963407u;
        int64_t ns = (int64_t)(x >> (i % 64)), back = 0;
        if (i & 1)
            ns = (int64_t)((uint64_t)0 - (uint64_t)ns);
        fa_duration_format(out, sizeof out, ns);
        cr_assert_eq(parse(out, FA_DUR_GO_PARSE, &back), 0, "%s", out);
        cr_assert_eq(back, ns, "%s", out);
        fa_duration_format_influxql(out, sizeof out, ns);
        cr_assert_eq(parse(out, FA_DUR_INFLUXQL | FA_DUR_SIGN, &back), 0, "%s", out);
        cr_assert_eq(back, ns, "%s", out);
    }
}

/* farad.yml durations go through FA_DUR_CONF | FA_DUR_BARE_MS into ms; past the int64_t ns range
 * they saturate, so the message is the key's maximum, not a wrapped or truncated value. */
Test(duration, conf_values_through_the_parser)
{
    fa_conf_t c;
    char err[256] = "";

    fa_conf_init(&c);
    cr_assert_eq(fa_conf_set(&c, "upstream.timeout", "250", NULL, err, sizeof err), 0, "%s", err);
    cr_assert_eq(c.upstream_timeout_ms, 250);
    cr_assert_eq(fa_conf_set(&c, "upstream.timeout", "1m30s", NULL, err, sizeof err), 0, "%s", err);
    cr_assert_eq(c.upstream_timeout_ms, 90000);
    cr_assert_eq(fa_conf_set(&c, "upstream.timeout", "9999999999999h", NULL, err, sizeof err), -1);
    cr_assert_str_eq(err, "upstream.timeout: 9999999999999h is above the maximum 1h");
    cr_assert_eq(fa_conf_set(&c, "upstream.timeout", "1500us", NULL, err, sizeof err), -1);
    cr_assert_str_eq(err, "upstream.timeout: invalid duration \"1500us\"");
    cr_assert_eq(c.upstream_timeout_ms, 90000);
    fa_conf_deinit(&c);
}
