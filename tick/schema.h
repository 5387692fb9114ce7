/* tick/schema.h - the declarative table of TICKscript node types and their properties
 * (internal to tick/). One row per node type; one row per property. check.c reads only this.
 *
 * Argument signatures are strings of space-separated slots; each slot is a set of type
 * letters, optionally followed by '?' (optional) or '*' (zero or more; last slot only):
 *   s string  i int  f float (an int is accepted)  b bool  r regex  d duration  l lambda
 *   L list    S star n node (a var holding a pipeline node)   a any literal
 * e.g. "f d l?" = float, duration, optional lambda; "sS*" = any number of strings or stars.
 * A single list argument given where a variadic slot is expected stands for its items.
 */
#ifndef TICK_SCHEMA_H
#define TICK_SCHEMA_H
#include <stdbool.h>
#include "tick/tick.h"

/** A property method `.name(args)`. `handler` names the handler spec the call switches to
 *  (alert handlers such as .slack()), NULL for a plain property. */
typedef struct tick_prop_spec {
    const char *name;
    const char *sig;
    const struct tick_node_spec *handler;
} tick_prop_spec_t;

/** What a node gives its children. */
enum {
    TICK_PROV_NONE = TICK_EDGE_NONE,
    TICK_PROV_STREAM = TICK_EDGE_STREAM,
    TICK_PROV_BATCH = TICK_EDGE_BATCH,
    TICK_PROV_SAME = 4,  /* the kind its parent gives */
};

/** Node flags. */
enum {
    TICK_NF_SOURCE = 1,    /* stream, batch: a chain head, not a `|` method */
    TICK_NF_INFLUXQL = 2,  /* gets .as() and .usePointTimes() */
    TICK_NF_HANDLER = 4,   /* an alert handler object, not a node */
    TICK_NF_MULTI = 8,     /* join/union: node arguments become extra parents */
    TICK_NF_NOCHAIN = 16,  /* not a `|` method of ordinary nodes (from, query, queryFlux) */
};

typedef struct tick_node_spec {
    const char *name;            /* method name: "window" */
    const char *desc;            /* Kapacitor's node name stem: "window", "influxdb_out" */
    const char *go_type;         /* for error texts: "*pipeline.WindowNode" */
    const char *sig;             /* arguments of the creating call */
    unsigned wants;              /* tick_edge_t mask accepted from the parent */
    unsigned provides;           /* TICK_PROV_* */
    unsigned flags;              /* TICK_NF_* */
    const char *parent_only;     /* when set, the only parent type allowed ("stream") */
    const tick_prop_spec_t *props; /* terminated by a row with name NULL */
    const char *const *required; /* property names that must be called, NULL-terminated; or NULL */
} tick_node_spec_t;

/** Node type made by `|name(...)` (or a source by name); NULL when unknown. */
const tick_node_spec_t *tick_schema_node(fa_str_t name);
/** Property of node spec s (with the properties every node has); NULL when unknown. */
const tick_prop_spec_t *tick_schema_prop(const tick_node_spec_t *s, fa_str_t name);
/** Every node spec, for tests: *n gets the count. */
const tick_node_spec_t *tick_schema_nodes(size_t *n);
#endif
