/* engine/point.h - the data model every folder shares: point, batch (one write request's points).
 * Points point into their batch's arena, so one pointer moves a whole batch between threads. */
#ifndef ENGINE_POINT_H
#define ENGINE_POINT_H
#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/str.h"

typedef enum eng_ftype {
    ENG_FLOAT = 0,
    ENG_INT,
    ENG_UINT, /* parsed only when eng_lp_opts_t.allow_uint; stock InfluxDB 1.x OSS rejects it */
    ENG_STRING,
    ENG_BOOL,
} eng_ftype_t;

typedef struct eng_value {
    eng_ftype_t type;
    union {
        double f;
        int64_t i;
        uint64_t u;
        bool b;
        fa_str_t s; /* unescaped */
    };
} eng_value_t;

typedef struct eng_field {
    fa_str_t key; /* unescaped */
    eng_value_t v;
} eng_field_t;

typedef struct eng_tag {
    fa_str_t key, value; /* unescaped */
} eng_tag_t;

typedef struct eng_point {
    fa_str_t name;       /* measurement, unescaped */
    eng_tag_t *tags;     /* sorted by key, bytewise; no duplicate keys */
    eng_field_t *fields; /* in line order; duplicates kept as InfluxDB's parser keeps them */
    uint32_t n_tags, n_fields;
    int64_t time;        /* ns since the Unix epoch */
    fa_str_t key;        /* escaped series key as written ("cpu,host=a,region=b", tags sorted) */
} eng_point_t;

/** One write request's points, plus where they came from. Owned by one thread at a time. */
typedef struct eng_batch {
    fa_arena_t arena;     /* points, tags, fields, copied strings */
    fa_str_t db, rp;      /* rp is never empty once the batch leaves the proxy */
    eng_point_t *points;  /* arena array of `cap` */
    uint32_t n, cap;
    uint64_t bytes;       /* body bytes this batch was parsed from (decompressed) */
    uint32_t n_errors;    /* lines that failed to parse */
    int64_t received;     /* ns, wall clock when the request arrived */
    struct eng_batch *_next; /* free-list link for the owning pool */
} eng_batch_t;

/** arena_chunk: first chunk size; arena_limit: 0 = none (the parser then bounds memory). */
void eng_batch_init(eng_batch_t *b, size_t arena_chunk, size_t arena_limit);
/** Drops the points and resets the arena, keeping its first chunk for reuse. */
void eng_batch_reset(eng_batch_t *b);
void eng_batch_deinit(eng_batch_t *b);
/** Appends a point slot (zeroed) and returns it; NULL past the arena limit. */
eng_point_t *eng_batch_add(eng_batch_t *b);

/** Deep-copies src into dst with every string, tag and field in arena `a` (for nodes that keep
 * points past the call that gave them). Aborts only on malloc failure. */
void eng_point_copy(fa_arena_t *a, eng_point_t *dst, const eng_point_t *src);

/** A field by key, or NULL. Linear: points have few fields. */
const eng_field_t *eng_point_field(const eng_point_t *p, fa_str_t key);
/** A tag value by key, or a NULL slice. Binary search over the sorted tags. */
fa_str_t eng_point_tag(const eng_point_t *p, fa_str_t key);
#endif
