/* engine/nodeutil.h - small pieces the eval/state/output/multi-parent nodes share: the per-group
 * table (eng_gmap, from groupmap.h), per-group sets of points of one time, a FIFO of copied
 * points and batches, property calls repeated on a node (.field(..).field(..)), and Kapacitor's
 * JSON and time text. Internal to engine/node_*.c. */
#ifndef ENGINE_NODEUTIL_H
#define ENGINE_NODEUTIL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/str.h"
#include "engine/groupmap.h"
#include "engine/task.h"

/** The buffered points of one group that share one (rounded) time, as combine and flatten keep
 * them: copies in the set's own arena, all dropped at once by eng_tset_clear. */
typedef struct eng_tset {
    int64_t time;           /* the set's time */
    const eng_dims_t *dims; /* of the group's last point (task arena) */
    eng_point_t *pts;       /* n copies, grown by doubling */
    uint32_t n, cap;
    fa_arena_t arena;
} eng_tset_t;

/** The set of `group` in m (an eng_gmap_t of eng_tset_t *, made with eng_gmap_init(m,
 * sizeof(eng_tset_t *))), created empty with `time` when new (n's cardinality stat then set to
 * the number of groups); NULL, with an error counted on n, when out of memory. */
eng_tset_t *eng_tset_get(eng_node_t *n, eng_gmap_t *m, uint64_t group, int64_t time);
/** Appends a copy of p (strings into the set's arena); false, with an error counted on n, when out
 * of memory. */
bool eng_tset_push(eng_node_t *n, eng_tset_t *s, const eng_point_t *p);
/** Forgets the set's points and resets its arena (the copies are no longer valid). */
void eng_tset_clear(eng_tset_t *s);
/** Calls flush(n, set, group, set->dims) on every non-empty set of m older than now, in the
 * order the groups first appeared. */
void eng_tsets_flush_before(eng_node_t *n, eng_gmap_t *m, int64_t now,
                            void (*flush)(eng_node_t *, eng_tset_t *, uint64_t, const eng_dims_t *));
/** Frees every set of m, then m. */
void eng_tsets_deinit(eng_gmap_t *m);

/** One point or one batch waiting in a node (union, join, barrier), deep-copied. */
typedef struct eng_qitem {
    int64_t time;       /* point time, or the batch's tmax */
    uint32_t from;      /* parent index */
    bool is_rows;
    eng_pt_t pt;
    eng_rows_t rows;
} eng_qitem_t;

/** A FIFO of copied items. Copies go into one of two arenas; when the live one passes
 * `compact_bytes`, the items still queued are moved to the other and the first is reset, so
 * memory stays proportional to what is queued. */
typedef struct eng_ptq {
    fa_arena_t _a[2];
    int _cur;
    eng_qitem_t *_items; /* ring of _cap */
    uint32_t _head, n, _cap;
    size_t compact_bytes;
} eng_ptq_t;

void eng_ptq_init(eng_ptq_t *q, size_t compact_bytes);
void eng_ptq_deinit(eng_ptq_t *q);
/** Appends a deep copy of p (or b when p is NULL) from parent `from`. */
void eng_ptq_push(eng_ptq_t *q, uint32_t from, const eng_pt_t *p, const eng_rows_t *b);
/** The i-th queued item (0 = oldest). */
static inline eng_qitem_t *eng_ptq_at(eng_ptq_t *q, uint32_t i) { return &q->_items[(q->_head + i) & (q->_cap - 1)]; }
/** Drops the oldest item; its memory stays valid until the next push. */
void eng_ptq_pop(eng_ptq_t *q);
/** Copies b (its points, tags and strings) into arena a. */
void eng_rows_copy(fa_arena_t *a, eng_rows_t *dst, const eng_rows_t *src);

/** Every call of property `name` on n, in script order, into calls (at most max); the count. */
uint32_t eng_prop_calls(const eng_node_t *n, const char *name, const tick_call_t **calls, uint32_t max);

/** Go's encoding/json float (plain decimals; exponent below 1e-6 or from 1e21), null for NaN/Inf. */
int eng_json_float(fa_buf_t *b, double v);
/** A JSON string as Go writes it: <, >, & as \u003c \u003e \u0026. */
int eng_json_str(fa_buf_t *b, fa_str_t s);
/** A field value as JSON. */
int eng_json_value(fa_buf_t *b, const eng_value_t *v);
/** RFC 3339 UTC with nanoseconds, trailing zeros trimmed: 2022-02-02T02:02:14.25Z. */
int eng_rfc3339(fa_buf_t *b, int64_t ns);
/** A float as plain decimals, never an exponent, shortest form that reads back (log lines). */
int eng_plain_float(fa_buf_t *b, double v);
/** Kapacitor's result row of one point (stream: all tags) or one batch: {"name","tags",
 * "columns":["time",sorted fields (and, for a batch, tags not in the group)],"values":[...]}. */
int eng_json_row_point(fa_buf_t *b, const eng_point_t *p);
int eng_json_row_rows(fa_buf_t *b, const eng_rows_t *r);

/** t rounded down to a multiple of d counted from Go's zero time (year 1), as Go's Truncate. */
int64_t eng_go_truncate(int64_t t, int64_t d);
/** t rounded to the nearest multiple of d (halves up) from Go's zero time, as Go's Round. */
int64_t eng_go_round(int64_t t, int64_t d);
#endif
