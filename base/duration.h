/* base/duration.h - durations as int64_t nanoseconds: one parser for the dialects farad reads,
 * Go's time.Duration.String() and influxql.FormatDuration for writing them.
 *
 * Dialects (the unit spellings each accepts; every other syntax rule is a flag below):
 *   FA_DUR_GO        ns us µs μs ms s m h        time.ParseDuration; a bare "0"; '+' as a sign
 *   FA_DUR_INFLUXQL  ns u µ ms s m h d w         influxql.ParseDuration: TICKscript literals and
 *                                                duration(), the kapacitor CLI ("µ" alone; "us"
 *                                                and "µs" are not units there)
 *   FA_DUR_API       ns us µs u ms s m h d w     the recorder's "past" and vars JSON of the task
 *                                                API, `farad test -idle-flush`
 *   FA_DUR_CONF      ms s m h                    farad.yml values (kept in ms)
 * A term is digits, with FA_DUR_FRAC optionally '.' digits (either side may be empty, not both),
 * then a unit; terms are summed ("1h30m"). Units match longest first ("ms" before "m"). */
#ifndef BASE_DURATION_H
#define BASE_DURATION_H
#include <stddef.h>
#include <stdint.h>
#include "base/str.h"

enum {
    FA_DUR_GO = 0,
    FA_DUR_INFLUXQL = 1,
    FA_DUR_API = 2,
    FA_DUR_CONF = 3,
    FA_DUR_DIALECT = 3,      /* mask of the dialect bits */
    FA_DUR_SIGN = 1 << 2,    /* a leading '-' (with FA_DUR_GO also '+'); "-0s" is 0 */
    FA_DUR_FRAC = 1 << 3,    /* decimal fractions: "1.5s", ".5s", "1.s"; digits past the 18th are ignored */
    FA_DUR_SINGLE = 1 << 4,  /* exactly one term: "90m" but not "1h30m" */
    FA_DUR_BARE_MS = 1 << 5, /* digits alone count as milliseconds ("250") */
    /** Go's time.ParseDuration as it is. */
    FA_DUR_GO_PARSE = FA_DUR_GO | FA_DUR_SIGN | FA_DUR_FRAC,
    /** influxql.ParseDuration as it is (TICKscript's duration(), the kapacitor CLI). */
    FA_DUR_INFLUXQL_PARSE = FA_DUR_INFLUXQL | FA_DUR_SIGN,
};

/** Room for any text the formatters write, NUL included ("-2562047h47m16.854775808s"). */
#define FA_DURATION_LEN 32

/** Parses all of s as flags say into *ns. 0; FA_EINVAL when the text is not a duration of that
 * dialect; FA_ERANGE when it is but falls outside int64_t ns (the sum of its terms counts, and a
 * negative one may reach INT64_MIN). *ns is only written on success. */
int fa_duration_parse(fa_str_t s, unsigned flags, int64_t *ns);
/** Go's time.Duration.String(): "0s", "850ns", "1.5µs", "2.25ms", "1m30s", "2h0m0s",
 * "-2562047h47m16.854775808s". Writes at most len bytes, NUL-terminated when len != 0; returns
 * the full text's length (less than FA_DURATION_LEN), as snprintf does. */
size_t fa_duration_format(char *out, size_t len, int64_t ns);
/** influxql.FormatDuration: "0s", else the count of the largest unit of w d h m s ms u ns that
 * divides ns ("90s", "-3d", "1500u"). Writes and returns as fa_duration_format. */
size_t fa_duration_format_influxql(char *out, size_t len, int64_t ns);
/** fa_duration_format appended to b: 0, or FA_ENOMEM / FA_E2BIG from the buffer. */
int fa_duration_append(fa_buf_t *b, int64_t ns);
#endif
