/* tick/tick.h - TICKscript front end: parse, apply template vars, check against the node schema,
 * format canonically, draw as GraphViz DOT. Pure C: no threads, no I/O.
 *
 *   tick_parse()          script text -> tick_ast_t (ast.h)
 *   tick_template_apply() template AST + vars -> task AST (placeholders given values)
 *   tick_check()          AST -> tick_pipeline_t (nodes in creation order, edges, properties);
 *                         resolves var names inside lambdas; the lambdas are then ready for
 *                         the expression compiler (compile.c)
 *   tick_format()         AST -> canonical text (Kapacitor's script-format=formatted)
 *   tick_dot()            pipeline -> DOT text, with a hook for per-node attributes
 *   tick_ast_dump()       AST -> S-expression text for golden tests
 */
#ifndef TICK_TICK_H
#define TICK_TICK_H
#include <stddef.h>
#include "base/arena.h"
#include "base/str.h"
#include "tick/ast.h"

/* ---------------------------------------------------------------------------------------- */
/* Parsing                                                                                   */

/** Parses a whole script. Returns 0, or -1 with *err filled (the first error wins).
 *  The AST lives in `a` and points into `src`, which must outlive it. When `a` has a limit
 *  and it is reached, fails with TICK_ELIMIT. */
int tick_parse(const char *src, size_t len, fa_arena_t *a, tick_ast_t **out, tick_err_t *err);

/** Parses one lambda expression (the text after `lambda:`), e.g. a template var's value.
 *  Returns 0 or -1 with *err filled. */
int tick_parse_lambda(const char *src, size_t len, fa_arena_t *a, tick_expr_t **out, tick_err_t *err);

/** Renders an error the way Kapacitor prints it: "parser: unexpected ..." for syntax errors,
 *  "line N char M: msg" for errors with a place, msg alone otherwise. Returns buf. */
const char *tick_err_kapacitor(const tick_err_t *err, char *buf, size_t n);

/** Renders "line:col: msg" (plus " (hint)" when there is one): the corpus' golden error form. */
const char *tick_err_short(const tick_err_t *err, char *buf, size_t n);

/* ---------------------------------------------------------------------------------------- */
/* Template vars                                                                             */

/** One template var value. `value` is text in TICKscript literal syntax for the type:
 *  int "10", float "0.5", bool "true"/"false" (or TRUE/FALSE), string the raw text (no quotes),
 *  regex the pattern (no slashes), duration "10s", lambda the expression ("\"v\" > 1"),
 *  list a TICKscript list ("['host', 'dc']"), star anything. */
typedef struct tick_var {
    const char *name;
    tick_type_t type;
    const char *value;
} tick_var_t;

/** Gives values to a template's placeholders (`var x float`) and overrides declared vars
 *  (`var x = 5`) of the same type. Errors, in Kapacitor's words: `missing value for var "x".`
 *  and `invalid type supplied for x, got T exp U`. A var not declared in the script is an
 *  error too. The result lives in `a`; `tmpl` is not changed. */
int tick_template_apply(const tick_ast_t *tmpl, const tick_var_t *vars, size_t nvars,
                        fa_arena_t *a, tick_ast_t **out, tick_err_t *err);

/* ---------------------------------------------------------------------------------------- */
/* Checked pipeline                                                                          */

/** Edge kinds: what a node wants from its parent and what it gives its children. */
typedef enum tick_edge {
    TICK_EDGE_NONE = 0,
    TICK_EDGE_STREAM = 1,
    TICK_EDGE_BATCH = 2,
    TICK_EDGE_ANY = 3,   /* wants: either kind */
} tick_edge_t;

struct tick_node_spec; /* one row of the schema table (schema.h) */

/** A pipeline node, made by `stream`, `batch`, `|name()` or `@name()`. */
typedef struct tick_pnode {
    uint32_t id;                          /* creation order from 0: stream0, from1, window2 */
    const char *type;                     /* "stream", "from", "window", ... or the UDF name */
    const struct tick_node_spec *spec;    /* NULL for a UDF */
    tick_edge_t wants, provides;
    const tick_call_t *call;              /* the step that made it; NULL for stream/batch */
    tick_pos_t pos;
    const tick_call_t **props;            /* property calls in script order (nprops) */
    uint32_t nprops, _props_cap;
    struct tick_pnode **parents;          /* first parent, then join/union args (nparents) */
    uint32_t nparents;
    struct tick_pnode **children;         /* in creation order (nchildren) */
    uint32_t nchildren, _children_cap;
    struct tick_pnode *watch;             /* stats: the node whose counters it emits */
} tick_pnode_t;

/** What tick_check() produces. Lives in the arena given to tick_check(). */
typedef struct tick_pipeline {
    tick_pnode_t **nodes;                 /* every node in creation order (n) */
    uint32_t n;
    tick_edge_t kind;                     /* TICK_EDGE_STREAM or TICK_EDGE_BATCH task */
    const tick_ast_t *ast;
    fa_str_t *dbrp_db, *dbrp_rp;          /* dbrp statements in order (ndbrp) */
    uint32_t ndbrp;
} tick_pipeline_t;

/** tick_check flags. */
enum {
    TICK_CHECK_TEMPLATE = 1, /* placeholders (`var x type`) are allowed and typed only */
};

/** Checks a script against the node schema and builds its pipeline. Fails (-1, *err) on an
 *  unknown node, property or function, wrong argument count or type, a missing required
 *  property, an undefined var, wrong chaining (a batch-only node on a stream, ...), or a
 *  placeholder without a value unless TICK_CHECK_TEMPLATE. Replaces var names inside lambdas
 *  by their values (the AST is changed in place). */
int tick_check(tick_ast_t *ast, unsigned flags, fa_arena_t *a, tick_pipeline_t **out,
               tick_err_t *err);

/** Last call of property `name` on node n, or NULL. */
const tick_call_t *tick_pnode_prop(const tick_pnode_t *n, const char *name);

/** Writes "stream0", "from1", ... (Kapacitor's node names) into buf; returns buf. */
const char *tick_pnode_name(const tick_pnode_t *n, char *buf, size_t len);

/* ---------------------------------------------------------------------------------------- */
/* Output                                                                                    */

/** Canonical text (Kapacitor's script-format=formatted). Formatting the output again gives
 *  the same text. Returns 0 or FA_ENOMEM / FA_E2BIG. */
int tick_format(const tick_ast_t *ast, fa_buf_t *out);

/** Hook for per-node attributes in DOT (e.g. stats): append ` key="value"` pairs to `out`
 *  for node n. Return 0, or non-zero to abort. */
typedef int (*tick_dot_attr_fn)(void *ctx, const tick_pnode_t *n, fa_buf_t *out);

/** The pipeline as `digraph name { ... }` with Kapacitor's node names. hook may be NULL. */
int tick_dot(const tick_pipeline_t *p, const char *name, tick_dot_attr_fn hook, void *ctx,
             fa_buf_t *out);

/** One-line-per-statement S-expression dump of the AST, stable for golden files. */
int tick_ast_dump(const tick_ast_t *ast, fa_buf_t *out);
/** S-expression of one expression (same format as in tick_ast_dump). */
int tick_expr_dump(const tick_expr_t *e, fa_buf_t *out);
#endif
