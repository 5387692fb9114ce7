/* tick/value.h - typed values of TICKscript lambda expressions and Kapacitor's operator rules. */
#ifndef TICK_VALUE_H
#define TICK_VALUE_H
#include <stdbool.h>
#include <stdint.h>

#include "base/str.h"
#include "tick/ast.h" /* tick_op_t */

/** Value types. The order is fixed: tables in tick/expr_ops.c are indexed by it. */
typedef enum tick_vtype {
    TICK_V_INVALID = 0, /* at compile time: "not known until the point arrives" */
    TICK_V_FLOAT,
    TICK_V_INT,
    TICK_V_STRING,
    TICK_V_BOOL,
    TICK_V_REGEX,
    TICK_V_TIME,     /* ns since the Unix epoch, UTC */
    TICK_V_DURATION, /* ns */
    TICK_V_MISSING,  /* a reference the point does not carry */
    TICK_V_COUNT_
} tick_vtype_t;

/** A compiled regular expression (pcre2, JIT where available). Lives as long as its expression. */
typedef struct tick_regex tick_regex_t;

/** A value: 24 bytes, copied freely. Strings are slices into the point, the expression or scratch. */
typedef struct tick_value {
    tick_vtype_t type;
    union {
        double f;
        int64_t i;  /* int, and ns for time and duration */
        bool b;
        fa_str_t s; /* UTF-8, not NUL-terminated */
        const tick_regex_t *re;
    };
} tick_value_t;

static inline tick_value_t tick_float(double f) { return (tick_value_t){ .type = TICK_V_FLOAT, .f = f }; }
static inline tick_value_t tick_int(int64_t i) { return (tick_value_t){ .type = TICK_V_INT, .i = i }; }
static inline tick_value_t tick_bool(bool b) { return (tick_value_t){ .type = TICK_V_BOOL, .b = b }; }
static inline tick_value_t tick_string(fa_str_t s) { return (tick_value_t){ .type = TICK_V_STRING, .s = s }; }
static inline tick_value_t tick_duration(int64_t ns) { return (tick_value_t){ .type = TICK_V_DURATION, .i = ns }; }
static inline tick_value_t tick_time(int64_t ns) { return (tick_value_t){ .type = TICK_V_TIME, .i = ns }; }
static inline tick_value_t tick_missing(void) { return (tick_value_t){ .type = TICK_V_MISSING }; }

/** Kapacitor's name of a type in messages: "float", "int", "string", "boolean", "regex", "time",
 * "duration", "missing"; "invalid type" otherwise. */
const char *tick_vtype_name(tick_vtype_t t);
/** The Go type name Kapacitor prints with %T: "float64", "int64", "string", "bool",
 * "*regexp.Regexp", "time.Time", "time.Duration", "*ast.Missing". */
const char *tick_vtype_goname(tick_vtype_t t);

/** Result type of `l op r` under Kapacitor's rules (plus time +/- duration, time - time and time
 * comparisons, which farad adds); TICK_V_INVALID when the combination is refused. */
tick_vtype_t tick_op_result(tick_op_t op, tick_vtype_t l, tick_vtype_t r);
/** Result type of a unary operator; TICK_V_INVALID when refused. */
tick_vtype_t tick_unop_result(tick_op_t op, tick_vtype_t t);
/** true when `t` is the left or right operand of `op` in at least one allowed combination. */
bool tick_op_accepts(tick_op_t op, tick_vtype_t t);

/** Formats the error Kapacitor gives for a refused combination into buf (always NUL-terminated):
 * "mismatched type to binary operator. got float / int. see bool(), int(), float(), string(), duration()"
 * or "invalid math operator % for type float". */
void tick_op_type_error(char *buf, size_t len, tick_op_t op, tick_vtype_t l, tick_vtype_t r);

/** Writes `v` as Kapacitor's string() would (floats shortest round-trip without exponent,
 * durations as influxql: "90s" -> "90s", "1h30m" -> "90m"). Returns the length (snprintf rules). */
int tick_value_format(char *buf, size_t len, const tick_value_t *v);
#endif
