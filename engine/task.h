/* engine/task.h - a running task: its DAG of nodes, built from a checked TICKscript pipeline,
 * and the node interface every node type implements.
 *
 * A task runs on one thread. Data is pushed down synchronously, node by node, in creation order
 * (which is topological): nothing inside a task waits on anything, so nothing can deadlock.
 * What a node receives is valid only during the call; a node that keeps data (windows, joins,
 * last values) copies it into memory it owns. Output a node builds for its children goes into
 * the task's scratch arena, reset once the input point has gone all the way down. */
#ifndef ENGINE_TASK_H
#define ENGINE_TASK_H
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/str.h"
#include "engine/point.h"
#include "tick/expr.h"
#include "tick/tick.h"

typedef struct eng_task eng_task_t;
typedef struct eng_node eng_node_t;
typedef struct eng_env eng_env_t;

/** The tags a group is made of (groupBy), shared by every point of the group. */
typedef struct eng_dims {
    fa_str_t *tags; /* sorted */
    uint32_t n;
    bool by_name;   /* the measurement is part of the group */
} eng_dims_t;

/** A point in flight: the parsed point plus its group. Nodes make new ones in the scratch arena. */
typedef struct eng_pt {
    eng_point_t p;           /* name, tags (sorted), fields, time */
    uint64_t group;          /* hash of (name if by_name, dims' tag values); 0 = no grouping */
    const eng_dims_t *dims;  /* NULL = no dims */
} eng_pt_t;

/** A batch on a batch edge (Kapacitor's BatchMessage): one group's points over a window or query. */
typedef struct eng_rows {
    fa_str_t name;
    uint64_t group;
    const eng_dims_t *dims;
    eng_tag_t *tags;         /* the group's tags */
    uint32_t n_tags;
    int64_t tmax;            /* the batch's time: window end or query stop */
    eng_point_t *points;     /* time order */
    uint32_t n;
} eng_rows_t;

/** Counters every node has (Kapacitor's node stats) plus up to 8 of its own. Written by the task
 * thread, read by the API thread. */
typedef struct eng_node_stats {
    atomic_uint_fast64_t collected, emitted, errors, cardinality;
    /* exec time is sampled (one call in ENG_EXEC_SAMPLE, as Kapacitor samples its timings):
     * avg_exec_time_ns = exec_ns / exec_samples */
    atomic_uint_fast64_t exec_ns, exec_samples;
    atomic_uint_fast64_t own[8];
} eng_node_stats_t;

enum { ENG_EXEC_SAMPLE = 16 };

/** A node type. Every callback runs on the task's thread. */
typedef struct eng_node_ops {
    const char *type;            /* TICKscript method name: "window" */
    size_t state_size;           /* bytes of n->state, zeroed before init */
    /** Reads the node's properties (n->spec), compiles its lambdas into the task arena.
     * Returns 0, or -1 with err filled (with the property's line and char where it has one). */
    int (*init)(eng_node_t *n, tick_err_t *err);
    /** A point from parent `from` (stream edge). */
    void (*point)(eng_node_t *n, eng_node_t *from, const eng_pt_t *p);
    /** A batch from parent `from` (batch edge). */
    void (*rows)(eng_node_t *n, eng_node_t *from, const eng_rows_t *b);
    /** Time moved on with no data for this node (idle flush, end of a replay): flush what is due
     * at `now` (ns). Optional. */
    void (*advance)(eng_node_t *n, int64_t now);
    /** Frees what the task arena cannot (regexes, handler queues). Optional. */
    void (*deinit)(eng_node_t *n);
    /** Runs once the input point during which the node called eng_task_defer(n) went all the way
     * down, before the scratch reset: nothing holds scratch data then, so the node may call its
     * descendants' advance() (barrier). Optional. */
    void (*deferred)(eng_node_t *n);
    const char *const *counters; /* names of n->stats.own[i], NULL-terminated; or NULL */
    /** Nodes that also tick on the wall clock, as Kapacitor's stats() does: the interval after
     * which a live task that got no data calls eng_task_tick (0 = none). Optional. */
    int64_t (*wall_tick)(const eng_node_t *n);
} eng_node_ops_t;

struct eng_node {
    const eng_node_ops_t *ops;
    const tick_pnode_t *spec;    /* the checked pipeline node: type, properties, position */
    eng_task_t *task;
    uint32_t id;                 /* creation order */
    char name[40];               /* Kapacitor's node name: "window2" */
    eng_node_t **parents, **children;
    uint32_t n_parents, n_children;
    eng_node_stats_t stats;
    void *state;                 /* ops->state_size bytes in the task arena */
};

/** Services a task uses to reach the world: the daemon, `farad test` and replays each provide
 * their own (a replay can capture outputs instead of firing them). Any member may be NULL. */
struct eng_env {
    void *ud;
    /** influxDBOut: points to write upstream, through the engine's own client. */
    void (*write_points)(void *ud, eng_node_t *n, fa_str_t db, fa_str_t rp, const eng_point_t *pts, uint32_t n_pts);
    /** alert: one event as Kapacitor's handler JSON, for the handlers the node lists. */
    void (*alert_event)(void *ud, eng_node_t *n, fa_str_t json);
    /** log(), httpOut(): a line of output, or the latest httpOut result (JSON). */
    void (*output)(void *ud, eng_node_t *n, fa_str_t kind, fa_str_t text);
    /** alert: the handler service (engine/alert_handlers.h) that runs the node's .log(), .post(),
     * .tcp() and .exec() off the task thread. NULL = handlers are not fired (farad test, replays
     * that capture): events then only reach alert_event. Outlives every task using it. */
    struct eng_alert_svc *alert_svc;
    /** httpPost().endpoint(name): Kapacitor's [[httppost]] as "name=url,name2=url2" (config key
     * httppost.endpoints); NULL or "" = none. Read when a task starts. */
    const char *httppost_endpoints;
};

typedef struct eng_dbrp { fa_str_t db, rp; } eng_dbrp_t;

struct eng_task {
    char id[128];
    fa_arena_t arena;            /* AST, pipeline, nodes, compiled lambdas, constants */
    fa_arena_t scratch;          /* per input point; reset after it went through */
    const char *script;          /* copy, in the arena */
    tick_ast_t *ast;
    tick_pipeline_t *pipe;
    eng_node_t *nodes;           /* n_nodes, creation order; nodes[0] is stream or batch */
    uint32_t n_nodes;
    eng_dbrp_t *dbrps;
    uint32_t n_dbrps;
    const eng_env_t *env;
    int64_t now;                 /* the task's time: largest point time seen (data time) */
    int64_t wall_tick_ns;        /* smallest ops->wall_tick of its nodes; 0 = none */
    fa_str_t cur_db, cur_rp;     /* db.rp of the point being pushed (the source filters by it) */
    atomic_uint_fast64_t points_in, errors;
    eng_node_t **deferred;       /* eng_task_defer: nodes to run after the current point (n_nodes) */
    uint32_t n_deferred;
};

/** Parses, checks and compiles a task. `dbrps` come from the script's dbrp statements when
 * n_dbrps is 0. Returns 0, or -1 with err (the script's line and char). */
int eng_task_new(const char *id, const char *script, size_t len, const eng_dbrp_t *dbrps, uint32_t n_dbrps,
                 const eng_env_t *env, eng_task_t **out, tick_err_t *err);
void eng_task_free(eng_task_t *t);
/** Runs one point of db.rp through the task (the source node filters by db.rp). */
void eng_task_point(eng_task_t *t, fa_str_t db, fa_str_t rp, const eng_point_t *p);
/** Lets time pass without data: every node's advance(now). */
void eng_task_advance(eng_task_t *t, int64_t now);
/** Wall-clock time passed with no data (a live task idle for wall_tick_ns): advance(now) of the
 * nodes that tick on the wall clock only, so a deadman fires when every series stopped. */
void eng_task_tick(eng_task_t *t, int64_t now);
/** Whether the task wants points of db.rp at all. */
bool eng_task_wants(const eng_task_t *t, fa_str_t db, fa_str_t rp);

/* --- for node implementations --- */

/** Sends p to every child of n, counting `emitted`. */
void eng_emit_point(eng_node_t *n, const eng_pt_t *p);
/** Sends b to every child of n, counting `emitted`. */
void eng_emit_rows(eng_node_t *n, const eng_rows_t *b);
/** Asks for n->ops->deferred(n) once the current input point went all the way down (once per
 * point however often it is called). */
void eng_task_defer(eng_node_t *n);
/** Counts an error on n and logs it (rate-limited) with the node's name. */
void eng_node_error(eng_node_t *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** The last call of property `name` on n, or NULL. */
const tick_call_t *eng_node_prop(const eng_node_t *n, const char *name);
/** The node type's ops by TICKscript method name, or NULL (engine/nodes.c holds the table). */
const eng_node_ops_t *eng_node_ops_find(const char *type);
#endif
