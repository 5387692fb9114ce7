/* engine/lp.h - InfluxDB 1.x line-protocol parser: a body becomes one eng_batch_t.
 * Lives in engine/ (not proxy/) so the recorder and replay can parse line protocol too. */
#ifndef ENGINE_LP_H
#define ENGINE_LP_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/point.h"

typedef struct eng_lp_opts {
    int64_t precision_ns; /* multiplier for timestamps: 1 (n), 1000 (u), 1e6 (ms), 1e9 (s), 60e9 (m), 3600e9 (h) */
    int64_t now;          /* default time for lines without one, already in `precision` units */
    bool allow_uint;      /* accept `1u` (InfluxDB OSS 1.x rejects it: off by default) */
    uint32_t max_errors;  /* how many error lines to keep in `errors` text (0 = 10) */
    bool want_stamps;     /* record where lines without a timestamp end (for stamping the forwarded body) */
    bool _careful_only;   /* tests and fuzzing: skip the fast path, parse every line the careful way */
} eng_lp_opts_t;

/** Where a line without a timestamp ends: the forwarded body gets " <now>" inserted at `offset`
 * (with the same precision parameter), and InfluxDB then reads <now> as that line's timestamp. */
typedef struct eng_lp_stamp {
    uint32_t offset; /* body offset just after the last field value, before trailing spaces; when
                      * tabs or NULs trail the line, its end (before the '\n') instead */
} eng_lp_stamp_t;

typedef struct eng_lp_result {
    uint32_t n_points, n_bad;    /* good points appended to the batch; lines rejected */
    uint32_t first_bad_line;     /* 1-based line number of the first bad line (0 = none) */
    uint32_t first_bad_col;      /* 1-based column (byte) where the first error was found */
    char errors[4096];           /* InfluxDB's text: "unable to parse '<line>': <why>" joined by '\n';
                                  * the first max_errors lines, cut at the buffer's end */
    eng_lp_stamp_t *stamps;      /* arena array, when opts.want_stamps; ascending offsets */
    uint32_t n_stamps;
    bool out_of_memory;          /* the batch arena limit was reached: later lines were not parsed */
} eng_lp_result_t;

/** Parses `len` bytes (< 4 GiB). Good lines become points in `b` (the body is copied once into
 * b->arena and points slice it), bad ones are counted and described in res->errors, exactly as
 * InfluxDB 1.x words them. At the arena limit parsing stops (res->out_of_memory) and the points
 * so far stay. Adds len to b->bytes and the bad lines to b->n_errors. Returns the number of good
 * points, or -1 when the arena limit was hit before any point could be added. */
int eng_lp_parse(eng_batch_t *b, const char *body, size_t len, const eng_lp_opts_t *opts, eng_lp_result_t *res);

/** Whether every line of the body visibly ends with a timestamp (so nothing would be stamped):
 * a cheap scan, conservative: false when unsure (trailing blanks, an escaped space before the
 * last number, an odd number of unescaped quotes on a line, as a string spanning lines has).
 * Blank lines and comments need no timestamp. */
bool eng_lp_all_stamped(const char *body, size_t len);

/** Precision name -> ns multiplier: "" and "n"/"ns" -> 1, "u" -> 1e3, "ms" -> 1e6, "s", "m", "h".
 * `v2` accepts InfluxDB 2's names instead (ns, us, ms, s). Returns 0, or -1 for an invalid one. */
int eng_lp_precision(fa_str_t name, bool v2, int64_t *mult);
#endif
