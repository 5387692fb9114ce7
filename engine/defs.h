/* engine/defs.h - the registry of task and template definitions behind the task API, and the
 * interface of the store that keeps them (PostgreSQL in recorder/defstore.c, or none).
 *
 * The registry is owned by one thread (the API's event loop; main before that loop starts). It
 * validates and compiles a definition before anything is stored (eng_defs_task_prepare), and
 * applies it once the store said yes (eng_defs_task_commit): enabling starts the compiled task in
 * the task master, disabling removes it. Pure engine code: no I/O, no locks.
 *
 * Times are ns since the Unix epoch; 0 = never (Kapacitor's 0001-01-01T00:00:00Z). */
#ifndef ENGINE_DEFS_H
#define ENGINE_DEFS_H
#include <stdbool.h>
#include <stdint.h>

#include "engine/taskmaster.h"

typedef struct eng_defs eng_defs_t;

/** A task definition. All strings are NUL-terminated heap copies owned by the definition. */
typedef struct eng_tdef {
    char *id;
    char *template_id;        /* "" = not built from a template */
    tick_edge_t type;         /* TICK_EDGE_STREAM or TICK_EDGE_BATCH, from the script's root */
    eng_dbrp_t *dbrps;        /* given in the body or by the script's dbrp lines */
    uint32_t n_dbrps;
    bool dbrps_in_script;     /* they came from dbrp lines */
    char *script;             /* as given (for a template task: the template's script) */
    char *formatted;          /* canonical form of the script that runs (template vars applied) */
    char *vars;               /* Kapacitor's vars JSON object as given, "" = none */
    bool enabled;
    bool from_file;           /* defined by the load directory */
    int64_t created, modified, last_enabled;
    char *error;              /* why it could not start, "" = none */
    eng_task_t *running;      /* owned by the task master while enabled and started; NULL otherwise */
    eng_task_t *_compiled;    /* prepared, not yet started */
    uint64_t _seq;            /* creation order, for "newest first" */
    bool restart;             /* commit restarts it when it runs (template change, changed file) */
} eng_tdef_t;

/** A template definition. */
typedef struct eng_tmpl {
    char *id;
    tick_edge_t type;
    char *script;
    char *formatted;
    int64_t created, modified;
    uint64_t _seq;
    tick_ast_t *_ast;         /* parsed script, in _arena */
    fa_arena_t _arena;
} eng_tmpl_t;

/** What a create or update of a task gives. NULL / -1 members mean "not given": keep the current
 * value (update) or use the default (create). */
typedef struct eng_tdef_in {
    const char *id;
    const char *type;         /* "stream" | "batch": must match the script */
    const char *script;
    const char *template_id;
    const char *vars;         /* JSON object text */
    const eng_dbrp_t *dbrps;
    int32_t n_dbrps;          /* -1 = not given */
    int status;               /* -1 = not given, 0 = disabled, 1 = enabled */
    bool from_file;
} eng_tdef_in_t;

/** A registry over task master `tm`; tasks it starts use env and opts (which must outlive it). */
eng_defs_t *eng_defs_new(eng_tm_t *tm, const eng_env_t *env, const eng_task_opts_t *opts);
/** Frees the definitions (running tasks stay with the task master, which frees them). */
void eng_defs_free(eng_defs_t *d);

/** Whether `id` matches Kapacitor's ^[-\._\p{L}0-9]+$. */
bool eng_defs_valid_id(const eng_defs_t *d, const char *id);
/** Kapacitor's glob (`*`, `?`, `[a-z]`, `\` escapes); an empty pattern matches everything. */
bool eng_defs_glob(const char *pattern, const char *s);

/* ---- tasks ---- */

/** The task `id`, or NULL. */
eng_tdef_t *eng_defs_task(const eng_defs_t *d, const char *id);
/** Tasks whose id matches `pattern`, newest first, from `offset`, at most `max` into out[]; returns
 * how many were written. */
uint32_t eng_defs_tasks(const eng_defs_t *d, const char *pattern, uint32_t offset, eng_tdef_t **out, uint32_t max);
/** Counts tasks and enabled (running) tasks. */
void eng_defs_counts(const eng_defs_t *d, uint32_t *n_tasks, uint32_t *n_enabled);

/** Builds a new definition from `base` (NULL = create) and `in`: checks the id, the script (or the
 * template and vars), the dbrps and the type, and compiles the task. Nothing is changed in the
 * registry. 0 with *out (commit it or free it with eng_tdef_free), or -1 with err in Kapacitor's
 * words ("invalid TICKscript: line 3 char 5: ...", "must specify dbrp", "no template exists") and,
 * for script errors, *line and *col (1-based; 0 when the error has no place). */
int eng_defs_task_prepare(eng_defs_t *d, const eng_tdef_t *base, const eng_tdef_in_t *in, int64_t now,
                          eng_tdef_t **out, char *err, size_t errlen, uint32_t *line, uint32_t *col);
/** Puts a prepared definition in the registry in place of the one with its id. Starts it when it
 * is enabled and was not running, stops it when it is disabled (Kapacitor restarts a task only on
 * a status change, or when def->restart is set). A start failure is kept in def->error. */
void eng_defs_task_commit(eng_defs_t *d, eng_tdef_t *def);
/** Removes the task (stopping it). 0 or FA_ENOENT. */
int eng_defs_task_remove(eng_defs_t *d, const char *id);
/** Frees a definition that is not in the registry. */
void eng_tdef_free(eng_tdef_t *t);

/* ---- templates ---- */

eng_tmpl_t *eng_defs_template(const eng_defs_t *d, const char *id);
uint32_t eng_defs_templates(const eng_defs_t *d, const char *pattern, uint32_t offset, eng_tmpl_t **out, uint32_t max);
/** Builds a template from `base` (NULL = create), checking its script as a template, and redefines
 * every task built from it (all or nothing): 0 with *out and the new task definitions in
 * *tasks[*n_tasks] (heap array; commit or free each, then free the array), or -1 with err. */
int eng_defs_template_prepare(eng_defs_t *d, const eng_tmpl_t *base, const char *id, const char *type,
                              const char *script, int64_t now, eng_tmpl_t **out, eng_tdef_t ***tasks,
                              uint32_t *n_tasks, char *err, size_t errlen, uint32_t *line, uint32_t *col);
/** Puts a prepared template in the registry (its tasks are committed one by one by the caller). */
void eng_defs_template_commit(eng_defs_t *d, eng_tmpl_t *t);
/** Removes a template; its tasks keep their template-id and can no longer be enabled. */
int eng_defs_template_remove(eng_defs_t *d, const char *id);
void eng_tmpl_free(eng_tmpl_t *t);
/** Kapacitor's template vars: {"name": {"type", "value", "description"}} with placeholders'
 * value null, durations in ns, stars {"typeOf":"star"}; appended to out as JSON. */
int eng_tmpl_vars_json(const eng_tmpl_t *t, fa_buf_t *out);

/** DOT of a definition: with node stats when running, from the script otherwise. */
int eng_tdef_dot(eng_defs_t *d, const eng_tdef_t *t, fa_buf_t *out);

/* ---- the store (persistence) ---- */

typedef enum eng_put_mode { ENG_PUT_UPSERT = 0, ENG_PUT_CREATE, ENG_PUT_UPDATE } eng_put_mode_t;

/** What a store operation gives back to its completion callback. Pointers are valid only during
 * the callback. */
typedef struct eng_store_result {
    int rc;                     /* 0; FA_EAGAIN = store unavailable (503); FA_ENOENT; FA_EEXIST; other */
    const char *err;            /* when rc != 0: what failed and why */
    int64_t created, modified, last_enabled; /* of the task or template put */
    /* load_all: definitions as stored (the callback takes ownership of the array and its items) */
    eng_tdef_t **tasks;
    uint32_t n_tasks;
    eng_tmpl_t **templates;
    uint32_t n_templates;
} eng_store_result_t;

/** Called once per accepted operation, possibly on another thread. */
typedef void (*eng_store_done_fn)(void *arg, eng_store_result_t *res);

/** Persistence of definitions. Every op copies what it needs before returning; it returns 0 when
 * accepted (done will be called once) or a negative FA_E* when refused at once (done is not
 * called; FA_EAGAIN = queue full). */
typedef struct eng_defstore {
    void *ud;
    int (*task_put)(void *ud, const eng_tdef_t *t, eng_put_mode_t mode, eng_store_done_fn done, void *arg);
    int (*task_delete)(void *ud, const char *id, eng_store_done_fn done, void *arg);
    int (*task_set_status)(void *ud, const char *id, bool enabled, eng_store_done_fn done, void *arg);
    /** The template and its redefined tasks in one transaction. */
    int (*template_put)(void *ud, const eng_tmpl_t *t, eng_put_mode_t mode, eng_tdef_t *const *tasks,
                        uint32_t n_tasks, eng_store_done_fn done, void *arg);
    int (*template_delete)(void *ud, const char *id, eng_store_done_fn done, void *arg);
    /** Every template and task (tasks built from the stored script and vars, not compiled). */
    int (*load_all)(void *ud, eng_store_done_fn done, void *arg);
} eng_defstore_t;

/** Makes a definition from stored fields (load_all): nothing compiled; eng_defs_restore compiles. */
eng_tdef_t *eng_tdef_from_store(const char *id, const char *type, const eng_dbrp_t *dbrps, uint32_t n_dbrps,
                                const char *script, const char *vars, const char *template_id, bool enabled,
                                bool from_file, int64_t created, int64_t modified, int64_t last_enabled);
/** Makes a template from stored fields (parsed here; NULL when the script no longer parses). */
eng_tmpl_t *eng_tmpl_from_store(const char *id, const char *type, const char *script, int64_t created,
                                int64_t modified);
/** Puts loaded definitions in the registry (templates first), compiles the tasks and starts the
 * enabled ones; a task that no longer compiles stays, disabled in effect, with its error. Takes
 * ownership of the items. Returns how many tasks started. */
unsigned eng_defs_restore(eng_defs_t *d, eng_tmpl_t **tmpls, uint32_t n_tmpls, eng_tdef_t **tasks, uint32_t n_tasks);
/* ---- the load directory (Kapacitor's [load]) ---- */

/** One task file: DIR/tasks/ID.tick (script with dbrp lines) or ID.yaml|yml|json (template-id,
 * dbrps, vars; an `id` inside wins over the file name). Strings are heap copies. */
typedef struct eng_load_task {
    char *id, *path;
    char *script;             /* NULL for a template task */
    char *template_id;        /* NULL for a .tick task */
    char *vars;               /* JSON object text, NULL = none */
    eng_dbrp_t *dbrps;
    uint32_t n_dbrps;
} eng_load_task_t;

/** What a load directory holds, read on a thread that may block (main). */
typedef struct eng_load {
    char *dir;
    eng_load_task_t *templates; /* DIR/templates/ID.tick: id, path, script */
    uint32_t n_templates;
    eng_load_task_t *tasks;
    uint32_t n_tasks;
} eng_load_t;

/** Reads DIR/templates/\*.tick and DIR/tasks/\*.{tick,yaml,yml,json} in name order. A file that
 * cannot be read or parsed is logged with its path and skipped. NULL with err when DIR cannot be
 * read at all. */
eng_load_t *eng_load_read(const char *dir, char *err, size_t errlen);
void eng_load_free(eng_load_t *l);
#endif
