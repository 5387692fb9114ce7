/* engine/alert_fmt.h - Go's text forms of values, as Kapacitor prints them (KAPACITOR.md §11):
 * fmt's %v for floats (exponent from 1e6 up), encoding/json numbers and strings (<, >, &
 * escaped), RFC 3339 times with trimmed nanoseconds, time.Time.String(), time.Duration.String()
 * and html/template's escaper. Every function appends to a fa_buf_t and returns 0 or FA_E*. */
#ifndef ENGINE_ALERT_FMT_H
#define ENGINE_ALERT_FMT_H
#include <stdbool.h>
#include <stdint.h>

#include "base/duration.h"
#include "base/str.h"

/** Go's %v (and %g) of a float64: shortest digits that read back exactly, in %e form when the
 * decimal exponent is below -4 or at least 6 (1e-05, 1e+06, 1.23456785e+07); +Inf, -Inf, NaN. */
int eng_fmt_go_float(fa_buf_t *b, double v);
/** encoding/json's float64: plain decimals, %e only below 1e-6 or from 1e21 (1.5e-7, 1e+21).
 * NaN and infinities (which Go refuses to marshal) are written as null. */
int eng_fmt_json_float(fa_buf_t *b, double v);
/** A JSON string literal as encoding/json writes it (with HTML escaping of <, >, &, and
 * U+2028/U+2029 escaped; invalid UTF-8 becomes \ufffd). */
int eng_fmt_json_str(fa_buf_t *b, fa_str_t s);
/** RFC 3339 in UTC with nanoseconds, trailing zeros trimmed: 2022-02-02T02:02:14.25Z. */
int eng_fmt_rfc3339(fa_buf_t *b, int64_t ns);
/** Go's time.Time.String() of a UTC time: 2022-02-02 02:02:14.25 +0000 UTC. */
int eng_fmt_go_time(fa_buf_t *b, int64_t ns);
/** Go's time.Duration.String(): 0s, 1.5µs, 12ms, 1m30s, 2h0m0s (fa_duration_append, under the
 * eng_fmt_go_* name the other Go formatters here share). */
static inline int eng_fmt_go_duration(fa_buf_t *b, int64_t ns) { return fa_duration_append(b, ns); }
/** html/template's escaper for text: " ' & + < > and NUL. */
int eng_fmt_html(fa_buf_t *b, fa_str_t s);
#endif
