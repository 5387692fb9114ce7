/* engine/vars.h - template vars in Kapacitor's JSON form -> tick_var_t for tick_template_apply.
 *   {"x": {"type": "float", "value": 1.5}, "d": {"type": "duration", "value": "10s"},
 *    "f": {"type": "lambda", "value": "\"v\" > 1"}, "l": {"type": "list", "value": [{"type": "string", "value": "host"}]},
 *    "s": {"type": "star"}} */
#ifndef ENGINE_VARS_H
#define ENGINE_VARS_H
#include <stddef.h>

#include "base/arena.h"
#include "tick/tick.h"

/** Parses the vars object; the vars and their texts live in `a`. Returns 0, or -1 with err
 * ("invalid var type \"x\" for var v", "var v: value must be a number", "invalid JSON: ..."). */
int eng_vars_from_json(const char *json, size_t len, fa_arena_t *a, tick_var_t **out, size_t *n, char *err, size_t errlen);
#endif
