/* test/engine/test_lp.c - engine/lp.c: every vector of PROTOCOLS.md §2, plus precision, stamps,
 * arena limit, error bounding and positions. Each vector runs through both parser paths (the fast
 * one and the careful one) and must give the same exact result on each. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/lp.h"

#define NOW INT64_C(1700000000123456789)

static eng_batch_t b;
static eng_lp_opts_t opts;
static eng_lp_result_t res;

static void setup(void)
{
    eng_batch_init(&b, 4096, 0);
    opts = (eng_lp_opts_t){ .precision_ns = 1, .now = NOW };
}
static void teardown(void) { eng_batch_deinit(&b); }
TestSuite(lp, .init = setup, .fini = teardown);

/* Runs the block once per parser path. */
#define EACH_PATH for (int careful_ = 0; careful_ < 2; careful_++) if ((opts._careful_only = careful_), 1)

static int parse_n(const char *s, size_t n)
{
    eng_batch_reset(&b);
    return eng_lp_parse(&b, s, n, &opts, &res);
}
static int parse(const char *s) { return parse_n(s, strlen(s)); }

/* Parses a one-point body and returns the point. */
static const eng_point_t *parse1(const char *s)
{
    int rc = parse(s);
    cr_assert_eq(rc, 1, "[%s path] '%s': %d points, errors: %s", opts._careful_only ? "careful" : "fast", s, rc,
                 res.errors);
    cr_assert_eq(res.n_bad, 0);
    cr_assert_eq(b.n, 1);
    return &b.points[0];
}

#define assert_slice(sl, lit)                                                                                      \
    do {                                                                                                           \
        fa_str_t s_ = (sl);                                                                                        \
        cr_assert(fa_str_eq(s_, fa_str((lit), sizeof(lit) - 1)), "[%s path] expected '%s', got '%.*s'",          \
                  opts._careful_only ? "careful" : "fast", (lit), (int)s_.len, s_.ptr ? s_.ptr : "");              \
    } while (0)

/* One bad line: no point, and exactly InfluxDB's text. */
static void expect_err(const char *line, const char *why)
{
    char want[1024];
    int rc = parse(line);
    snprintf(want, sizeof want, "unable to parse '%s': %s", line, why);
    cr_assert_eq(rc, 0, "'%s' gave %d points", line, rc);
    cr_assert_eq(res.n_bad, 1, "'%s': %u bad lines", line, res.n_bad);
    cr_assert_str_eq(res.errors, want, "[%s path]", opts._careful_only ? "careful" : "fast");
    cr_assert_eq(res.first_bad_line, 1);
    cr_assert_geq(res.first_bad_col, 1);
}

static void assert_tag(const eng_point_t *pt, uint32_t i, const char *k, const char *v)
{
    cr_assert_lt(i, pt->n_tags);
    cr_assert(fa_str_eq_c(pt->tags[i].key, k), "tag %u key '%.*s' != '%s'", i, (int)pt->tags[i].key.len,
              pt->tags[i].key.ptr, k);
    cr_assert(fa_str_eq_c(pt->tags[i].value, v), "tag %u value '%.*s' != '%s'", i, (int)pt->tags[i].value.len,
              pt->tags[i].value.ptr, v);
}

static const eng_value_t *field(const eng_point_t *pt, uint32_t i, const char *key, eng_ftype_t type)
{
    cr_assert_lt(i, pt->n_fields);
    cr_assert(fa_str_eq_c(pt->fields[i].key, key), "field %u key '%.*s' != '%s'", i, (int)pt->fields[i].key.len,
              pt->fields[i].key.ptr, key);
    cr_assert_eq(pt->fields[i].v.type, type, "field %s type %d != %d", key, pt->fields[i].v.type, type);
    return &pt->fields[i].v;
}

static void assert_float(const eng_point_t *pt, uint32_t i, const char *key, double want)
{
    double got = field(pt, i, key, ENG_FLOAT)->f;
    cr_assert(memcmp(&got, &want, sizeof got) == 0, "field %s: %.17g != %.17g", key, got, want);
}

/* ---------------------------------------------------------------- PROTOCOLS.md §2 vectors */

Test(lp, v01_float_default_time)
{
    EACH_PATH {
        const eng_point_t *pt = parse1("cpu value=1");
        assert_slice(pt->name, "cpu");
        assert_slice(pt->key, "cpu");
        cr_assert_eq(pt->n_tags, 0);
        cr_assert_eq(pt->n_fields, 1);
        assert_float(pt, 0, "value", 1.0);
        cr_assert_eq(pt->time, NOW);
    }
}

Test(lp, v02_int_and_timestamp)
{
    EACH_PATH {
        const eng_point_t *pt = parse1("cpu,host=a,region=b value=1i 1000");
        assert_slice(pt->key, "cpu,host=a,region=b");
        cr_assert_eq(pt->n_tags, 2);
        assert_tag(pt, 0, "host", "a");
        assert_tag(pt, 1, "region", "b");
        cr_assert_eq(field(pt, 0, "value", ENG_INT)->i, 1);
        cr_assert_eq(pt->time, 1000);
    }
}

Test(lp, v03_tags_sorted_into_key)
{
    EACH_PATH {
        const eng_point_t *pt = parse1("cpu,region=b,host=a value=1 1");
        assert_slice(pt->name, "cpu");
        assert_slice(pt->key, "cpu,host=a,region=b");
        assert_tag(pt, 0, "host", "a");
        assert_tag(pt, 1, "region", "b");
        cr_assert_eq(pt->time, 1);
    }
}

Test(lp, v04_duplicate_tags)
{
    EACH_PATH expect_err("cpu,host=a,host=b value=1", "duplicate tags");
}

Test(lp, v05_duplicate_tags_after_sort)
{
    EACH_PATH expect_err("cpu,b=2,a=1,b=3 value=1", "duplicate tags");
}

Test(lp, v06_duplicate_fields_kept)
{
    EACH_PATH {
        const eng_point_t *pt = parse1("cpu value=1,value=2 1");
        cr_assert_eq(pt->n_fields, 2);
        assert_float(pt, 0, "value", 1.0);
        assert_float(pt, 1, "value", 2.0);
        cr_assert_eq(eng_point_field(pt, FA_STR_LIT("value"))->v.f, 2.0); /* the last one wins */
    }
}

Test(lp, v07_escaped_comma_in_measurement)
{
    EACH_PATH {
        const eng_point_t *pt = parse1("cpu\\,01,host=a value=1");
        assert_slice(pt->name, "cpu,01");
        assert_slice(pt->key, "cpu\\,01,host=a");
        assert_tag(pt, 0, "host", "a");
    }
}

Test(lp, v08_escaped_space_in_measurement)
{
    EACH_PATH {
        const eng_point_t *pt = parse1("cpu\\ load value=1");
        assert_slice(pt->name, "cpu load");
        assert_slice(pt->key, "cpu\\ load");
    }
}

Test(lp, v09_bare_equals_in_measurement)
{
    EACH_PATH assert_slice(parse1("cpu=load value=1")->name, "cpu=load");
}

Test(lp, v10_escapes_in_tag)
{
    EACH_PATH {
        const eng_point_t *pt = parse1("cpu,ho\\ st=a\\,b\\=c value=1");
        assert_tag(pt, 0, "ho st", "a,b=c");
        assert_slice(pt->key, "cpu,ho\\ st=a\\,b\\=c");
    }
}

Test(lp, v11_invalid_tag_format)
{
    EACH_PATH expect_err("cpu,host=a=b value=1", "invalid tag format");
}

Test(lp, v12_missing_tag_value)
{
    EACH_PATH expect_err("cpu,host= value=1", "missing tag value");
}

Test(lp, v13_missing_tag_key)
{
    EACH_PATH {
        expect_err("cpu,=a value=1", "missing tag key");
        expect_err("cpu, value=1", "missing tag key");
    }
}

Test(lp, v14_missing_fields)
{
    EACH_PATH expect_err("cpu", "missing fields");
}

Test(lp, v15_trailing_space_no_fields)
{
    EACH_PATH expect_err("cpu ", "invalid field format");
}

Test(lp, v16_missing_measurement)
{
    EACH_PATH expect_err(",host=a value=1", "missing measurement");
}

Test(lp, v17_missing_field_value)
{
    EACH_PATH expect_err("cpu value=", "missing field value");
}

Test(lp, v18_missing_field_key)
{
    EACH_PATH expect_err("cpu =1", "missing field key");
}

Test(lp, v19_invalid_field_format)
{
    EACH_PATH {
        expect_err("cpu value=1,", "invalid field format");
        expect_err("cpu value=1,b", "invalid field format");
    }
}

Test(lp, v20_string_escapes)
{
    EACH_PATH {
        const eng_point_t *pt = parse1("cpu value=\"hello \\\"world\\\" \\\\ ok\"");
        assert_slice(field(pt, 0, "value", ENG_STRING)->s, "hello \"world\" \\ ok");
        cr_assert_eq(pt->time, NOW);
    }
}

Test(lp, v21_string_with_separators)
{
    EACH_PATH assert_slice(field(parse1("cpu value=\"a,b c=d\""), 0, "value", ENG_STRING)->s, "a,b c=d");
}

Test(lp, v22_unbalanced_quotes)
{
    EACH_PATH expect_err("cpu value=\"unterminated", "unbalanced quotes");
}

Test(lp, v23_ten_bools)
{
    static const char *const keys[] = { "a", "b", "c", "d", "e", "f", "g", "h", "i", "j" };
    EACH_PATH {
        const eng_point_t *pt = parse1("cpu a=t,b=T,c=true,d=True,e=TRUE,f=f,g=F,h=false,i=False,j=FALSE");
        cr_assert_eq(pt->n_fields, 10);
        for (uint32_t i = 0; i < 10; i++)
            cr_assert_eq(field(pt, i, keys[i], ENG_BOOL)->b, i < 5, "field %s", keys[i]);
    }
}

Test(lp, v24_invalid_boolean)
{
    EACH_PATH {
        expect_err("cpu value=tRUE", "invalid boolean");
        expect_err("cpu value=yes", "invalid boolean");
        expect_err("cpu value=+1", "invalid boolean");
        expect_err("cpu value=inf", "invalid boolean");
    }
}

Test(lp, v25_invalid_number)
{
    EACH_PATH {
        expect_err("cpu value=1.5i", "invalid number");
        expect_err("cpu value=1.1.1", "invalid number");
        expect_err("cpu value=NaN", "invalid number");
        expect_err("cpu value=0x10", "invalid number");
        expect_err("cpu value=-", "invalid number");
    }
}

Test(lp, v26_int_max)
{
    EACH_PATH cr_assert_eq(field(parse1("cpu value=9223372036854775807i"), 0, "value", ENG_INT)->i, INT64_MAX);
}

Test(lp, v27_int_overflow)
{
    EACH_PATH expect_err("cpu value=9223372036854775808i",
                         "unable to parse integer 9223372036854775808: strconv.ParseInt: parsing "
                         "\"9223372036854775808\": value out of range");
}

Test(lp, v28_int_min_and_odd_forms)
{
    EACH_PATH {
        cr_assert_eq(field(parse1("cpu value=-9223372036854775808i"), 0, "value", ENG_INT)->i, INT64_MIN);
        cr_assert_eq(field(parse1("cpu value=-0i"), 0, "value", ENG_INT)->i, 0);
        cr_assert_eq(field(parse1("cpu value=01i"), 0, "value", ENG_INT)->i, 1);
    }
}

Test(lp, v29_uint_rejected_by_default)
{
    EACH_PATH expect_err("cpu value=1u", "invalid number");
}

Test(lp, v30_float_forms)
{
    EACH_PATH {
        const eng_point_t *pt = parse1("cpu a=1e3,b=1E+3,c=-1.5e-3,d=.5,e=1.,f=-0");
        cr_assert_eq(pt->n_fields, 6);
        assert_float(pt, 0, "a", 1000.0);
        assert_float(pt, 1, "b", 1000.0);
        assert_float(pt, 2, "c", -0.0015);
        assert_float(pt, 3, "d", 0.5);
        assert_float(pt, 4, "e", 1.0);
        assert_float(pt, 5, "f", -0.0);
        cr_assert(signbit(pt->fields[5].v.f));
    }
}

Test(lp, v31_invalid_float)
{
    EACH_PATH {
        expect_err("cpu value=1e", "invalid float");
        expect_err("cpu value=1e400", "invalid float");
    }
}

Test(lp, v32_bad_timestamp)
{
    EACH_PATH {
        expect_err("cpu value=1 abc", "bad timestamp");
        expect_err("cpu value=1 1.5", "bad timestamp");
    }
}

Test(lp, v33_negative_timestamp)
{
    EACH_PATH cr_assert_eq(parse1("cpu value=1 -1")->time, -1);
}

Test(lp, v34_point_is_invalid)
{
    EACH_PATH expect_err("cpu value=1 1 extra", "point is invalid");
}

Test(lp, v35_leading_and_trailing_spaces)
{
    EACH_PATH {
        cr_assert_eq(parse1("cpu value=1 1   ")->time, 1);
        const eng_point_t *pt = parse1("  cpu value=1 5");
        assert_slice(pt->name, "cpu");
        assert_slice(pt->key, "cpu");
        cr_assert_eq(pt->time, 5);
    }
}

Test(lp, v36_time_outside_range)
{
    EACH_PATH expect_err("cpu value=1 9223372036854775807",
                         "time outside range -9223372036854775806 - 9223372036854775806");
}

Test(lp, v37_precision_seconds)
{
    opts.precision_ns = 1000000000;
    EACH_PATH cr_assert_eq(parse1("cpu value=1 1600000000")->time, INT64_C(1600000000000000000));
}

Test(lp, v38_precision_hours_overflow)
{
    opts.precision_ns = INT64_C(3600000000000);
    EACH_PATH expect_err("cpu value=1 9000000", "time outside range -9223372036854775806 - 9223372036854775806");
}

Test(lp, v39_cr_after_timestamp)
{
    EACH_PATH expect_err("cpu value=1 1\r", "bad timestamp");
}

Test(lp, v40_cr_after_value)
{
    EACH_PATH expect_err("cpu value=1\r", "invalid number");
}

Test(lp, v41_escaped_space_eats_separator)
{
    EACH_PATH expect_err("cpu,host=a\\ value=1", "invalid tag format");
}

Test(lp, v42_field_key_escapes)
{
    EACH_PATH {
        const eng_point_t *pt = parse1("cpu fi\\ eld=1,fi\\,x=2,fi\\=y=3,fi\\\"q=4");
        cr_assert_eq(pt->n_fields, 4);
        assert_float(pt, 0, "fi eld", 1);
        assert_float(pt, 1, "fi,x", 2);
        assert_float(pt, 2, "fi=y", 3);
        assert_float(pt, 3, "fi\"q", 4);
    }
}

Test(lp, v43_quotes_in_identifiers_are_literal)
{
    EACH_PATH {
        assert_slice(parse1("\"cpu\" value=1")->name, "\"cpu\"");
        const eng_point_t *pt = parse1("cpu,host=\"a\" value=1");
        assert_tag(pt, 0, "host", "\"a\"");
        assert_slice(pt->key, "cpu,host=\"a\"");
    }
}

Test(lp, v44_other_backslashes_stay)
{
    EACH_PATH {
        const eng_point_t *pt = parse1("c\\pu,t\\ag=v\\al value=1");
        assert_slice(pt->name, "c\\pu");
        assert_tag(pt, 0, "t\\ag", "v\\al");
    }
}

Test(lp, v45_string_backslash_and_empty)
{
    EACH_PATH {
        assert_slice(field(parse1("cpu value=\"a\\b\""), 0, "value", ENG_STRING)->s, "a\\b");
        assert_slice(field(parse1("cpu value=\"\""), 0, "value", ENG_STRING)->s, "");
    }
}

Test(lp, v46_string_ending_in_backslash)
{
    EACH_PATH assert_slice(field(parse1("cpu value=\"ends\\\\\""), 0, "value", ENG_STRING)->s, "ends\\");
}

Test(lp, v47_tab_is_not_a_separator)
{
    EACH_PATH expect_err("cpu\tvalue=1", "missing fields");
}

Test(lp, v48_tab_before_timestamp)
{
    EACH_PATH expect_err("cpu value=1\t1", "invalid number");
}

Test(lp, v49_runs_of_spaces)
{
    EACH_PATH {
        const eng_point_t *pt = parse1("cpu,host=a  value=1");
        assert_slice(pt->key, "cpu,host=a");
        assert_float(pt, 0, "value", 1);
        cr_assert_eq(parse1("cpu value=1  2")->time, 2);
    }
}

Test(lp, v50_space_before_comma)
{
    EACH_PATH expect_err("cpu value=\"x\" ,other=1", "bad timestamp");
}

Test(lp, v51_utf8)
{
    EACH_PATH {
        const eng_point_t *pt = parse1("温度,城市=北京 值=1");
        assert_slice(pt->name, "温度");
        assert_tag(pt, 0, "城市", "北京");
        assert_float(pt, 0, "值", 1);
    }
}

Test(lp, v52_time_named_field_and_tag_parse)
{
    EACH_PATH {
        assert_float(parse1("cpu time=1"), 0, "time", 1);
        assert_tag(parse1("cpu,time=x value=1"), 0, "time", "x");
    }
}

Test(lp, v53_comments_and_blank_lines)
{
    EACH_PATH {
        const eng_point_t *pt = parse1("# c\n\n  # c2\ncpu value=1 1\n\n");
        cr_assert_eq(pt->time, 1);
        cr_assert_eq(res.errors[0], '\0');
    }
}

Test(lp, v54_partial_write_text)
{
    static const char body[] = "cpu value=1 1\nbad line\ncpu value=2 2\ncpu value= 3\n";
    EACH_PATH {
        cr_assert_eq(parse(body), 2);
        cr_assert_eq(res.n_points, 2);
        cr_assert_eq(res.n_bad, 2);
        cr_assert_str_eq(res.errors, "unable to parse 'bad line': invalid field format\n"
                                     "unable to parse 'cpu value= 3': missing field value");
        cr_assert_eq(b.points[0].time, 1);
        cr_assert_eq(b.points[1].time, 2);
        assert_float(&b.points[1], 0, "value", 2);
        cr_assert_eq(res.first_bad_line, 2);
        cr_assert_eq(res.first_bad_col, 9); /* scanFields ran off the end of "bad line" */
        cr_assert_eq(b.n_errors, 2);
    }
}

Test(lp, v55_multiline_string)
{
    EACH_PATH {
        const eng_point_t *pt = parse1("cpu value=\"multi\nline\" 1");
        assert_slice(field(pt, 0, "value", ENG_STRING)->s, "multi\nline");
        cr_assert_eq(pt->time, 1);
    }
}

Test(lp, v56_empty_bodies)
{
    EACH_PATH {
        cr_assert_eq(parse(""), 0);
        cr_assert_eq(res.n_bad, 0);
        cr_assert_eq(parse("\n\n"), 0);
        cr_assert_eq(res.n_bad, 0);
        cr_assert_eq(b.n, 0);
    }
}

/* ---------------------------------------------------------------- beyond the vectors */

Test(lp, precision_scales_every_unit)
{
    static const struct { const char *name; int64_t mult; } units[] = {
        { "", 1 }, { "n", 1 }, { "ns", 1 }, { "u", 1000 }, { "ms", 1000000 },
        { "s", 1000000000 }, { "m", INT64_C(60000000000) }, { "h", INT64_C(3600000000000) },
    };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        int64_t mult = 0;
        cr_assert_eq(eng_lp_precision(fa_str_c(units[i].name), false, &mult), 0, "%s", units[i].name);
        cr_assert_eq(mult, units[i].mult, "%s", units[i].name);
        opts.precision_ns = mult;
        opts.now = 7;
        EACH_PATH {
            cr_assert_eq(parse1("cpu value=1 -3")->time, -3 * mult, "%s", units[i].name);
            cr_assert_eq(parse1("cpu value=1")->time, 7 * mult, "now with %s", units[i].name);
        }
    }
}

Test(lp, precision_names_v1_and_v2)
{
    int64_t m = 0;
    cr_assert_eq(eng_lp_precision(FA_STR_LIT("us"), false, &m), -1);
    cr_assert_eq(eng_lp_precision(FA_STR_LIT("x"), false, &m), -1);
    cr_assert_eq(eng_lp_precision(FA_STR_LIT("us"), true, &m), 0);
    cr_assert_eq(m, 1000);
    cr_assert_eq(eng_lp_precision(FA_STR_LIT("ns"), true, &m), 0);
    cr_assert_eq(m, 1);
    cr_assert_eq(eng_lp_precision(FA_STR_LIT("s"), true, &m), 0);
    cr_assert_eq(m, 1000000000);
    cr_assert_eq(eng_lp_precision(FA_STR_LIT("u"), true, &m), -1);
    cr_assert_eq(eng_lp_precision(FA_STR_LIT("h"), true, &m), -1);
    cr_assert_eq(eng_lp_precision(FA_STR_LIT("n"), true, &m), -1);
}

Test(lp, precision_edge_of_range)
{
    opts.precision_ns = 1;
    EACH_PATH {
        cr_assert_eq(parse1("cpu value=1 9223372036854775806")->time, INT64_MAX - 1);
        cr_assert_eq(parse1("cpu value=1 -9223372036854775806")->time, INT64_MIN + 2);
        expect_err("cpu value=1 -9223372036854775807",
                   "time outside range -9223372036854775806 - 9223372036854775806");
        expect_err("cpu value=1 9223372036854775808",
                   "strconv.ParseInt: parsing \"9223372036854775808\": value out of range");
        expect_err("cpu value=1 -", "strconv.ParseInt: parsing \"-\": invalid syntax");
    }
    opts.precision_ns = 1000;
    EACH_PATH {
        cr_assert_eq(parse1("cpu value=1 9223372036854775")->time, INT64_C(9223372036854775000));
        expect_err("cpu value=1 9223372036854776", "time outside range -9223372036854775806 - 9223372036854775806");
    }
}

Test(lp, uint_when_allowed)
{
    opts.allow_uint = true;
    EACH_PATH {
        cr_assert_eq(field(parse1("cpu value=18446744073709551615u"), 0, "value", ENG_UINT)->u, UINT64_MAX);
        expect_err("cpu value=-1u", "invalid number");
        expect_err("cpu value=18446744073709551616u",
                   "unable to parse unsigned 18446744073709551616: strconv.ParseUint: parsing "
                   "\"18446744073709551616\": value out of range");
    }
}

Test(lp, stamps_mark_lines_without_timestamp)
{
    static const char body[] = "cpu value=1\ncpu value=2 5\n  mem,host=a free=3i   \nbad\ndisk x=\"s\"\ncpu v=1 \t\n";
    opts.want_stamps = true;
    opts.now = 42;
    opts.precision_ns = 1000;
    EACH_PATH {
        cr_assert_eq(parse(body), 5);
        cr_assert_eq(res.n_bad, 1);
        cr_assert_eq(res.n_stamps, 4);
        /* "cpu value=1" ends at 11; "  mem,host=a free=3i" ends before its trailing spaces */
        cr_assert_eq(res.stamps[0].offset, 11);
        cr_assert_eq(res.stamps[1].offset, strstr(body, "3i") - body + 2);
        cr_assert_eq(res.stamps[2].offset, strstr(body, "\"s\"") - body + 3);
        /* a tab trails the last line: the stamp goes at the end of that line instead */
        cr_assert_eq(res.stamps[3].offset, sizeof body - 2);
        cr_assert_eq(b.points[0].time, 42000);
        cr_assert_eq(b.points[1].time, 5000);
        cr_assert_eq(b.points[2].time, 42000);
    }
}

Test(lp, stamps_make_a_body_that_parses_the_same)
{
    static const char body[] = "a x=1\nb x=2 7\nc x=3  \nd x=\"q q\"\ne x=1 \t \n";
    char out[256];
    size_t o = 0, prev = 0;
    opts.want_stamps = true;
    opts.now = 99;
    cr_assert_eq(parse(body), 5);
    for (uint32_t i = 0; i < res.n_stamps; i++) {
        memcpy(out + o, body + prev, res.stamps[i].offset - prev);
        o += res.stamps[i].offset - prev;
        o += (size_t)sprintf(out + o, " 99");
        prev = res.stamps[i].offset;
    }
    memcpy(out + o, body + prev, sizeof body - 1 - prev);
    o += sizeof body - 1 - prev;
    opts.want_stamps = false;
    opts.now = 1; /* every line must now carry 99 itself */
    cr_assert_eq(parse_n(out, o), 5, "stamped body: %.*s / %s", (int)o, out, res.errors);
    for (uint32_t i = 0; i < 5; i++)
        cr_assert_eq(b.points[i].time, i == 1 ? 7 : 99, "line %u of %.*s", i, (int)o, out);
}

Test(lp, arena_limit_stops_cleanly)
{
    char body[64 * 40];
    size_t n = 0;
    for (int i = 0; i < 64; i++)
        n += (size_t)sprintf(body + n, "cpu,host=h%02d value=%d %d\n", i, i, i);
    EACH_PATH {
        eng_batch_deinit(&b);
        eng_batch_init(&b, 1024, 6000);
        int rc = parse_n(body, n);
        cr_assert(res.out_of_memory);
        cr_assert_gt(rc, 0);
        cr_assert_lt(rc, 64);
        cr_assert_eq((uint32_t)rc, b.n);
        cr_assert_eq(res.n_points, b.n);
        for (uint32_t i = 0; i < b.n; i++) { /* every point that was added is whole */
            cr_assert_eq(b.points[i].time, i);
            cr_assert_eq(b.points[i].n_fields, 1);
            cr_assert_eq(b.points[i].fields[0].v.f, (double)i);
        }
        cr_assert_leq(fa_arena_used(&b.arena), 6000);
        /* a limit below the body itself: nothing parsed */
        eng_batch_deinit(&b);
        eng_batch_init(&b, 1024, 100);
        cr_assert_eq(parse_n(body, n), -1);
        cr_assert(res.out_of_memory);
        cr_assert_eq(b.n, 0);
    }
}

Test(lp, error_lines_are_bounded)
{
    char body[4000];
    size_t n = 0;
    for (int i = 0; i < 50; i++)
        n += (size_t)sprintf(body + n, "bad%d\n", i);
    opts.max_errors = 3;
    EACH_PATH {
        cr_assert_eq(parse_n(body, n), 0);
        cr_assert_eq(res.n_bad, 50);
        cr_assert_str_eq(res.errors, "unable to parse 'bad0': missing fields\n"
                                     "unable to parse 'bad1': missing fields\n"
                                     "unable to parse 'bad2': missing fields");
    }
    opts.max_errors = 0; /* default 10 */
    EACH_PATH {
        parse_n(body, n);
        size_t lines = 1;
        for (const char *q = res.errors; (q = strchr(q, '\n')) != NULL; q++)
            lines++;
        cr_assert_eq(lines, 10);
    }
}

Test(lp, error_text_cut_at_buffer_end)
{
    size_t n = 10000;
    char *body = malloc(n + 1);
    memset(body, 'x', n);
    body[n] = '\0';
    EACH_PATH {
        cr_assert_eq(parse_n(body, n), 0);
        cr_assert_eq(res.n_bad, 1);
        cr_assert_eq(strlen(res.errors), sizeof res.errors - 1);
        cr_assert(strncmp(res.errors, "unable to parse 'xxxx", 21) == 0);
    }
    free(body);
}

Test(lp, first_error_line_and_column)
{
    EACH_PATH {
        cr_assert_eq(parse("cpu value=1\n\n# c\nmem,host=a v=1 1 x\ncpu v=\n"), 1);
        cr_assert_eq(res.n_bad, 2);
        cr_assert_eq(res.first_bad_line, 4);
        cr_assert_eq(res.first_bad_col, 18); /* the 'x' after the timestamp */
        cr_assert_eq(parse("  cpu,host=a=b v=1"), 0);
        cr_assert_eq(res.first_bad_line, 1);
        cr_assert_eq(res.first_bad_col, 13); /* the second '=' */
    }
}

Test(lp, mixed_body_keeps_good_points)
{
    static const char body[] = "cpu,host=a v=1 1\ncpu,host=b v=tru 2\r\ncpu,host=c v=3i 3\n"
                               "mem,host=d used=4i,free=5.5,ok=true,s=\"x y\" 4";
    EACH_PATH {
        cr_assert_eq(parse(body), 3);
        cr_assert_eq(res.n_bad, 1);
        cr_assert_str_eq(res.errors, "unable to parse 'cpu,host=b v=tru 2\r': invalid boolean");
        assert_slice(b.points[1].key, "cpu,host=c");
        assert_slice(b.points[2].key, "mem,host=d");
        cr_assert_eq(b.points[2].n_fields, 4);
        cr_assert_eq(field(&b.points[2], 0, "used", ENG_INT)->i, 4);
        assert_float(&b.points[2], 1, "free", 5.5);
        cr_assert(field(&b.points[2], 2, "ok", ENG_BOOL)->b);
        assert_slice(field(&b.points[2], 3, "s", ENG_STRING)->s, "x y");
    }
}

Test(lp, many_tags_and_fields_grow_scratch)
{
    char body[16000];
    size_t n = (size_t)sprintf(body, "m");
    for (int i = 99; i >= 0; i--)
        n += (size_t)sprintf(body + n, ",t%02d=v%d", i, i);
    body[n++] = ' ';
    for (int i = 0; i < 200; i++)
        n += (size_t)sprintf(body + n, "%sf%d=%di", i ? "," : "", i, i);
    EACH_PATH {
        const eng_point_t *pt = parse1(body);
        cr_assert_eq(pt->n_tags, 100);
        cr_assert_eq(pt->n_fields, 200);
        for (uint32_t i = 0; i < 100; i++) {
            char k[8], v[8];
            sprintf(k, "t%02u", i);
            sprintf(v, "v%u", i);
            assert_tag(pt, i, k, v);
        }
        cr_assert_eq(pt->fields[199].v.i, 199);
        cr_assert(strncmp(pt->key.ptr, "m,t00=v0,t01=v1,", 16) == 0);
        cr_assert_eq(pt->key.len, (size_t)(strchr(body, ' ') - body));
        cr_assert_eq(fa_str_cmp(eng_point_tag(pt, FA_STR_LIT("t42")), FA_STR_LIT("v42")), 0);
    }
}

Test(lp, floats_match_strtod)
{
    static const char *const nums[] = {
        "0.1", "98.0", "0.3", "1.7976931348623157e308", "2.2250738585072014e-308", "4.9e-324", "1e-400",
        "123456789012345678", "0.000000000000000000000000000001", "9007199254740993", "9007199254740992.5",
        "3.141592653589793238462643383279", "1234567890123456789012345678901234567890", "-12.5e2", "5.",
        "0.0000001234", ("17976931348623157" "0000000000000000000000000000000000000000000000000000000000000000000"),
    };
    char line[512];
    EACH_PATH {
        for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
            snprintf(line, sizeof line, "m v=%s", nums[i]);
            const eng_point_t *pt = parse1(line);
            double want = strtod(nums[i], NULL);
            cr_assert(memcmp(&pt->fields[0].v.f, &want, sizeof want) == 0, "%s: %.17g != %.17g", nums[i],
                      pt->fields[0].v.f, want);
        }
        srand(7);
        for (int i = 0; i < 2000; i++) { /* random short decimals through the exact fast path */
            snprintf(line, sizeof line, "m v=%d.%0*d", rand() % 100000, 1 + rand() % 9, rand() % 1000000);
            const eng_point_t *pt = parse1(line);
            double want = strtod(line + 4, NULL);
            cr_assert(memcmp(&pt->fields[0].v.f, &want, sizeof want) == 0, "%s", line);
        }
    }
}

Test(lp, influx_quirks)
{
    EACH_PATH {
        /* a backslash before the newline joins two lines (scanLine skips the escaped byte) */
        cr_assert_eq(parse("cpu,host=a\\\nb v=1 1\ncpu v=2 2"), 2);
        assert_tag(&b.points[0], 0, "host", "a\\\nb");
        /* a tag value may start with '=' (scanTagsValue checks only later bytes) */
        assert_tag(parse1("cpu,host==x v=1"), 0, "host", "=x");
        /* series key sorted by escaped keys, tag array by unescaped keys */
        const eng_point_t *pt = parse1("m,a!=1,a\\ b=2 v=1");
        assert_slice(pt->key, "m,a!=1,a\\ b=2");
        assert_tag(pt, 0, "a b", "2");
        assert_tag(pt, 1, "a!", "1");
        /* the measurement treats a byte after any backslash as escaped, then unescapes "\\ " */
        pt = parse1("a\\\\ b v=1");
        assert_slice(pt->name, "a\\ b");
        assert_slice(pt->key, "a\\\\ b");
        /* a string value may go on after its closing quote */
        assert_slice(field(parse1("m v=\"abc\"xyz"), 0, "v", ENG_STRING)->s, "abc\"xy");
        /* a comment that opens a quote swallows the following line */
        cr_assert_eq(parse("# a b=\"x\ncpu v=1\"\ncpu v=3 3"), 1);
        cr_assert_eq(b.points[0].time, 3);
        expect_err("cpu v=1 \t1x", "bad timestamp");
        cr_assert_eq(parse1("cpu v=1 \t1")->time, 1);
        expect_err("m a=1,=2", "missing field key");
        expect_err("m a=1ia", "invalid number");
        expect_err("m a=.", "invalid number");
        expect_err("m a=1e5.5", "invalid float");
        expect_err("m a=nope", "invalid number");
    }
}

Test(lp, crlf_everywhere_fails_like_influxdb)
{
    EACH_PATH {
        cr_assert_eq(parse("cpu value=1 1\r\ncpu value=2\r\n"), 0);
        cr_assert_str_eq(res.errors, "unable to parse 'cpu value=1 1\r': bad timestamp\n"
                                     "unable to parse 'cpu value=2\r': invalid number");
    }
}

Test(lp, leading_space_makes_quotes_count)
{
    /* scanLine saw the leading space, so the '"' in the measurement opens a quote: one line */
    static const char body[] = " i^cv=\" cv=02\n\nx v=1 1\n";
    EACH_PATH {
        cr_assert_eq(parse(body), 0);
        cr_assert_eq(res.n_bad, 1);
        cr_assert_str_eq(res.errors, "unable to parse 'i^cv=\" cv=02\n\nx v=1 1': invalid number");
    }
}

/* 17-19 digit decimals (what Telegraf prints for ratios) go through exact integer arithmetic:
 * compare 100,000 random ones, ties included, bit for bit with strtod. */
Test(lp, long_decimals_match_strtod, .timeout = 60)
{
    static const char *const ties[] = {
        "9007199254740993", "9007199254740995", "18014398509481986", "18014398509481990",
        "9007199254740993.0", "900719925474099.30", "9223372036854775808", "9999999999999999999",
        "0.9999999999999999999", "1.000000000000000111", "1.0000000000000001110", "4503599627370497.5",
        "0.000000000000000000000000001", "1234567890123456789e-27",
    };
    size_t cap = 20000 * 32, n;
    char *body = malloc(cap), num[40];
    unsigned long long seed = 12345;
    EACH_PATH {
        for (size_t i = 0; i < sizeof ties / sizeof ties[0]; i++) {
            snprintf(num, sizeof num, "m v=%s", ties[i]);
            double want = strtod(ties[i], NULL), got = parse1(num)->fields[0].v.f;
            cr_assert(memcmp(&got, &want, sizeof got) == 0, "%s: %.17g != %.17g", ties[i], got, want);
        }
        for (int round = 0; round < 5; round++) {
            n = 0;
            for (int l = 0; l < 20000; l++) {
                int nd = 15 + (int)(seed % 5), dot, k = 0;
                char digits[24];
                for (int d = 0; d < nd; d++) {
                    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
                    digits[d] = (char)('0' + (seed >> 33) % 10);
                }
                dot = (int)((seed >> 40) % (unsigned)(nd + 1));
                n += (size_t)sprintf(body + n, "m v=");
                for (int d = 0; d < nd; d++) {
                    if (d == dot)
                        num[k++] = '.';
                    num[k++] = digits[d];
                }
                num[k] = '\0';
                n += (size_t)sprintf(body + n, "%s\n", num);
            }
            cr_assert_eq(parse_n(body, n), 20000, "%s", res.errors);
            const char *line = body;
            for (uint32_t i = 0; i < b.n; i++) {
                double want = strtod(line + 4, NULL), got = b.points[i].fields[0].v.f;
                cr_assert(memcmp(&got, &want, sizeof got) == 0, "%.*s: %.17g != %.17g",
                          (int)(strchr(line, '\n') - line), line, got, want);
                line = strchr(line, '\n') + 1;
            }
        }
    }
    free(body);
}

/* eng_lp_all_stamped: true only when no line would be stamped; conservative when unsure. */
Test(lp, all_stamped_is_conservative)
{
#define STAMPED(s) eng_lp_all_stamped(s, sizeof(s) - 1)
    cr_assert(STAMPED(""));
    cr_assert(STAMPED("cpu,host=a v=1 1700000000000000000\n"));
    cr_assert(STAMPED("cpu v=1 1\r\nmem v=2 -5\n\n# comment\n   \ncpu v=3 3"));
    cr_assert(STAMPED("sys uptime_format=\"1 day, 3:02\",n=1i 1700000000\n"));
    cr_assert(STAMPED("m s=\"a \\\"q\\\" b\" 12\n"));
    cr_assert(!STAMPED("cpu v=1\n"));
    cr_assert(!STAMPED("cpu v=1 1\ncpu v=2\n"));
    cr_assert(!STAMPED("cpu v=12i\n"));
    cr_assert(!STAMPED("cpu v=1 1 \n"));                 /* trailing blank: unsure */
    cr_assert(!STAMPED("cpu v=\"x\"\n"));
    cr_assert(!STAMPED("cpu,k=a\\ 1 v=\"x 12\n\" 3\n")); /* a string spanning lines */
    cr_assert(!STAMPED("cpu k\\ 12\n"));                 /* an escaped space before the number */
    cr_assert(!STAMPED("12\n"));
#undef STAMPED
    /* agrees with the parser on every shape it says yes to: nothing stamped */
    static const char *const bodies[] = { "cpu v=1 1\nmem v=2 -5\n# c\n", "sys s=\"1 day, 3:02\",n=1i 1700000000\n" };
    for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++) {
        eng_batch_t bb;
        eng_batch_init(&bb, 4096, 0);
        eng_lp_opts_t o = { .precision_ns = 1, .now = 99, .want_stamps = true };
        eng_lp_result_t r;
        cr_assert(eng_lp_all_stamped(bodies[i], strlen(bodies[i])));
        cr_assert_gt(eng_lp_parse(&bb, bodies[i], strlen(bodies[i]), &o, &r), 0);
        cr_assert_eq(r.n_stamps, 0, "%s", bodies[i]);
        cr_assert_eq(r.n_bad, 0, "%s", r.errors);
        eng_batch_deinit(&bb);
    }
}
