/* engine/group.h - group keys: which tags (and whether the measurement) make a group. */
#ifndef ENGINE_GROUP_H
#define ENGINE_GROUP_H
#include "engine/task.h"

/** The group id of p under dims: a hash of the measurement (when by_name) and the values of the
 * dims' tags (a missing tag counts as empty). 0 when dims is NULL or empty and not by_name. */
uint64_t eng_group_id(const eng_point_t *p, const eng_dims_t *dims);
/** Builds dims in the task arena from tag names (sorted, duplicates removed). */
eng_dims_t *eng_dims_new(fa_arena_t *a, const fa_str_t *tags, uint32_t n, bool by_name);
/** Kapacitor's group string "host=a,region=b" (with "name," first when by_name), into buf. */
fa_str_t eng_group_string(const eng_point_t *p, const eng_dims_t *dims, fa_buf_t *buf);
#endif
