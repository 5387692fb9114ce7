/* engine/runner.h - the offline runner: feeds a time-sorted stream of points to one task and
 * collects what it emits (points at the end of the pipeline, alert events, log/httpOut output)
 * as text lines in time order. `farad test` prints them; a later issue's replay uses the same core.
 * Also the line-protocol writer every text capture uses. */
#ifndef ENGINE_RUNNER_H
#define ENGINE_RUNNER_H
#include <stdbool.h>
#include <stdint.h>

#include "base/str.h"
#include "engine/point.h"
#include "engine/task.h"

/** Appends p as one line of InfluxDB line protocol (no newline): escaped name, tags and field
 * keys, floats in shortest round-trip decimal form without exponent (Go's 'f', -1), integers with
 * `i`, unsigned with `u`, strings quoted with `"` and `\` escaped, time in ns. 0 or FA_ENOMEM. */
int eng_lp_format_point(fa_buf_t *out, const eng_point_t *p);
/** Appends a float as InfluxDB writes it in line protocol (shortest round-trip, no exponent). */
int eng_lp_format_float(fa_buf_t *out, double f);
#endif
