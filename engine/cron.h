/* engine/cron.h - cron expressions as a query node's .cron() takes them (the syntax of the
 * gorhill/cronexpr library Kapacitor uses), evaluated in UTC.
 *
 * Fields, separated by blanks:
 *   5 fields: minute hour day-of-month month day-of-week          (second 0, any year)
 *   6 fields: minute hour day-of-month month day-of-week year     (second 0)
 *   7 fields: second minute hour day-of-month month day-of-week year
 * Each field is a list (`,`) of `*`, `N`, `N-M`, each optionally `/STEP`; `?` means `*` in the
 * day fields; months take JAN..DEC, days of week SUN..SAT (0 or 7 is Sunday), case-insensitive.
 * Years run from 1970 to 2099. Also @yearly (@annually), @monthly, @weekly, @daily (@midnight),
 * @hourly. When both day fields are restricted a day matching either one matches (classic cron).
 * Not supported (an error, not a silent mismatch): `L`, `W` and `#`. */
#ifndef ENGINE_CRON_H
#define ENGINE_CRON_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/str.h"

enum { ENG_CRON_YEAR_MIN = 1970, ENG_CRON_YEAR_MAX = 2099 };

/** A parsed expression: one bit per allowed value. */
typedef struct eng_cron {
    uint64_t sec, min;          /* bits 0..59 */
    uint32_t hour;              /* bits 0..23 */
    uint32_t dom;               /* bits 1..31 */
    uint16_t month;             /* bits 1..12 */
    uint8_t dow;                /* bits 0..6, Sunday = 0 */
    bool dom_any, dow_any;      /* the field was `*` or `?` */
    uint64_t year[3];           /* bit (y - ENG_CRON_YEAR_MIN) */
} eng_cron_t;

/** Parses expr. Returns 0, or -1 with err (what and which field) and *err_off (the byte offset of
 * the offending field in expr). */
int eng_cron_parse(fa_str_t expr, eng_cron_t *out, char *err, size_t errlen, size_t *err_off);
/** The first time strictly after `after` (ns since the Unix epoch, UTC) the expression matches,
 * on a whole second; -1 when there is none before the end of ENG_CRON_YEAR_MAX. */
int64_t eng_cron_next(const eng_cron_t *c, int64_t after);
#endif
