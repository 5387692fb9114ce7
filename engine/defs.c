/* engine/defs.c - the registry of task and template definitions (see defs.h).
 *
 * Definitions sit in two small arrays searched by id: a registry holds hundreds of tasks, not
 * millions, and every change compiles a TICKscript, which costs far more than the search.
 * prepare() builds a complete new definition next to the old one and compiles it; commit() swaps
 * it in. So a failed change never leaves a half-changed definition behind. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "engine/defs.h"

#include <inttypes.h>
#include <jansson.h>
#include <pcre2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"
#include "engine/vars.h"

struct eng_defs {
    eng_tm_t *tm;
    const eng_env_t *env;
    const eng_task_opts_t *opts;
    eng_tdef_t **tasks;
    uint32_t n_tasks, cap_tasks;
    eng_tmpl_t **tmpls;
    uint32_t n_tmpls, cap_tmpls;
    uint64_t seq;
    pcre2_code *id_re; /* Kapacitor's ID rule */
};

static char *xstrdup(const char *s) { return strdup(s ? s : ""); }

eng_defs_t *eng_defs_new(eng_tm_t *tm, const eng_env_t *env, const eng_task_opts_t *opts)
{
    eng_defs_t *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return NULL;
    d->tm = tm;
    d->env = env;
    d->opts = opts;
    int ec;
    PCRE2_SIZE eo;
    d->id_re = pcre2_compile((PCRE2_SPTR) "^[-\\._\\p{L}0-9]+$", PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP, &ec,
                             &eo, NULL);
    return d;
}

void eng_defs_free(eng_defs_t *d)
{
    if (d == NULL)
        return;
    for (uint32_t i = 0; i < d->n_tasks; i++) {
        d->tasks[i]->running = NULL; /* the task master frees it */
        eng_tdef_free(d->tasks[i]);
    }
    for (uint32_t i = 0; i < d->n_tmpls; i++)
        eng_tmpl_free(d->tmpls[i]);
    free(d->tasks);
    free(d->tmpls);
    pcre2_code_free(d->id_re);
    free(d);
}

bool eng_defs_valid_id(const eng_defs_t *d, const char *id)
{
    if (d->id_re == NULL)
        return false;
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(d->id_re, NULL);
    int rc = pcre2_match(d->id_re, (PCRE2_SPTR)id, strlen(id), 0, 0, md, NULL);
    pcre2_match_data_free(md);
    return rc > 0;
}

static bool glob_match(const char *p, const char *s)
{
    for (; *p; p++, s++) {
        switch (*p) {
        case '*':
            for (const char *t = s;; t++) {
                if (glob_match(p + 1, t))
                    return true;
                if (*t == '\0')
                    return false;
            }
        case '?':
            if (*s == '\0')
                return false;
            break;
        case '[': {
            const char *q = p + 1;
            bool neg = *q == '^' || *q == '!', hit = false;
            if (neg)
                q++;
            for (; *q && *q != ']'; q++) {
                if (q[1] == '-' && q[2] && q[2] != ']') {
                    hit |= *s >= q[0] && *s <= q[2];
                    q += 2;
                } else
                    hit |= *s == *q;
            }
            if (*q != ']' || *s == '\0' || hit == neg)
                return false;
            p = q;
            break;
        }
        case '\\':
            if (p[1])
                p++;
            /* fall through */
        default:
            if (*s != *p)
                return false;
        }
    }
    return *s == '\0';
}

bool eng_defs_glob(const char *pattern, const char *s) { return *pattern == '\0' || glob_match(pattern, s); }

/* ---- definitions ---- */

void eng_tdef_free(eng_tdef_t *t)
{
    if (t == NULL)
        return;
    free(t->id);
    free(t->template_id);
    for (uint32_t i = 0; i < t->n_dbrps; i++) {
        free((char *)t->dbrps[i].db.ptr);
        free((char *)t->dbrps[i].rp.ptr);
    }
    free(t->dbrps);
    free(t->script);
    free(t->formatted);
    free(t->vars);
    free(t->error);
    if (t->_compiled != NULL)
        eng_task_free(t->_compiled);
    free(t);
}

void eng_tmpl_free(eng_tmpl_t *t)
{
    if (t == NULL)
        return;
    free(t->id);
    free(t->script);
    free(t->formatted);
    fa_arena_deinit(&t->_arena);
    free(t);
}

static void set_dbrps(eng_tdef_t *t, const eng_dbrp_t *src, uint32_t n)
{
    eng_dbrp_t *old = t->dbrps;
    uint32_t n_old = t->n_dbrps;
    t->dbrps = calloc(n ? n : 1, sizeof(*t->dbrps));
    for (uint32_t i = 0; i < n; i++)
        t->dbrps[i] = (eng_dbrp_t){ fa_str(strndup(src[i].db.ptr ? src[i].db.ptr : "", src[i].db.len), src[i].db.len),
                                    fa_str(strndup(src[i].rp.ptr ? src[i].rp.ptr : "", src[i].rp.len), src[i].rp.len) };
    t->n_dbrps = n;
    for (uint32_t i = 0; i < n_old; i++) {
        free((char *)old[i].db.ptr);
        free((char *)old[i].rp.ptr);
    }
    free(old);
}

static eng_tdef_t *tdef_clone(const eng_tdef_t *b)
{
    eng_tdef_t *t = calloc(1, sizeof(*t));
    t->id = xstrdup(b->id);
    t->template_id = xstrdup(b->template_id);
    t->type = b->type;
    set_dbrps(t, b->dbrps, b->n_dbrps);
    t->dbrps_in_script = b->dbrps_in_script;
    t->script = xstrdup(b->script);
    t->formatted = xstrdup(b->formatted);
    t->vars = xstrdup(b->vars);
    t->enabled = b->enabled;
    t->from_file = b->from_file;
    t->created = b->created;
    t->modified = b->modified;
    t->last_enabled = b->last_enabled;
    t->error = xstrdup("");
    t->_seq = b->_seq;
    return t;
}

static void fail(char *err, size_t errlen, uint32_t *line, uint32_t *col, const tick_err_t *te, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static void fail(char *err, size_t errlen, uint32_t *line, uint32_t *col, const tick_err_t *te, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    if (line != NULL)
        *line = te ? te->pos.line : 0;
    if (col != NULL)
        *col = te ? te->pos.col : 0;
}

static void script_error(char *err, size_t errlen, uint32_t *line, uint32_t *col, const tick_err_t *te)
{
    char buf[400];
    fail(err, errlen, line, col, te, "invalid TICKscript: %s", tick_err_kapacitor(te, buf, sizeof buf));
}

static char *format_ast(const tick_ast_t *ast)
{
    fa_buf_t b = FA_BUF_INIT;
    if (tick_format(ast, &b) != 0) {
        fa_buf_deinit(&b);
        return NULL;
    }
    char *s = strdup(fa_buf_cstr(&b));
    fa_buf_deinit(&b);
    return s;
}

eng_tmpl_t *eng_defs_template(const eng_defs_t *d, const char *id)
{
    for (uint32_t i = 0; i < d->n_tmpls; i++)
        if (strcmp(d->tmpls[i]->id, id) == 0)
            return d->tmpls[i];
    return NULL;
}

eng_tdef_t *eng_defs_task(const eng_defs_t *d, const char *id)
{
    for (uint32_t i = 0; i < d->n_tasks; i++)
        if (strcmp(d->tasks[i]->id, id) == 0)
            return d->tasks[i];
    return NULL;
}

/* The script that runs: the task's own, or its template's, with its vars applied (formatted). */
static int run_script(const eng_tdef_t *t, const eng_tmpl_t *tm, fa_arena_t *a, char **text, char *err, size_t errlen,
                      uint32_t *line, uint32_t *col)
{
    if (tm == NULL && *t->vars == '\0') {
        *text = fa_arena_strndup(a, t->script, strlen(t->script));
        return 0;
    }
    tick_var_t *vars = NULL;
    size_t n = 0;
    char why[256];
    tick_err_t te;
    if (*t->vars && eng_vars_from_json(t->vars, strlen(t->vars), a, &vars, &n, why, sizeof why) != 0) {
        fail(err, errlen, line, col, NULL, "invalid vars: %s", why);
        return -1;
    }
    const tick_ast_t *src = tm ? tm->_ast : NULL;
    if (src == NULL) {
        tick_ast_t *parsed;
        if (tick_parse(t->script, strlen(t->script), a, &parsed, &te) != 0) {
            script_error(err, errlen, line, col, &te);
            return -1;
        }
        src = parsed;
    }
    tick_ast_t *ast;
    if (tick_template_apply(src, vars, n, a, &ast, &te) != 0) {
        script_error(err, errlen, line, col, &te);
        return -1;
    }
    char *s = format_ast(ast);
    if (s == NULL) {
        fail(err, errlen, line, col, NULL, "task %s: cannot format the script with its vars", t->id);
        return -1;
    }
    *text = fa_arena_strndup(a, s, strlen(s));
    free(s);
    return 0;
}

/* Compiles t (script or template + vars) into t->_compiled; sets type, formatted, dbrps. */
static int build(eng_defs_t *d, eng_tdef_t *t, const eng_tmpl_t *tm, const char *want_type, char *err, size_t errlen,
                 uint32_t *line, uint32_t *col)
{
    fa_arena_t a;
    fa_arena_init(&a, 8192, 0);
    int rc = -1;
    char *text;
    tick_ast_t *ast;
    tick_err_t te;
    if (run_script(t, tm, &a, &text, err, errlen, line, col) != 0)
        goto Exit;
    /* the script as given, in canonical form */
    if (tm != NULL) {
        free(t->formatted);
        t->formatted = xstrdup(tm->formatted);
    } else {
        if (tick_parse(t->script, strlen(t->script), &a, &ast, &te) != 0) {
            script_error(err, errlen, line, col, &te);
            goto Exit;
        }
        free(t->formatted);
        t->formatted = format_ast(ast);
        if (t->formatted == NULL)
            t->formatted = xstrdup(t->script);
    }
    eng_task_t *task;
    const eng_dbrp_t *dbrps = t->dbrps_in_script ? NULL : t->dbrps;
    uint32_t n_dbrps = t->dbrps_in_script ? 0 : t->n_dbrps;
    if (eng_task_new(t->id, text, strlen(text), dbrps, n_dbrps, d->env, &task, &te) != 0) {
        if (te.pos.line == 0 && strstr(te.msg, "dbrp") != NULL)
            fail(err, errlen, line, col, NULL, "%s", te.msg);
        else
            script_error(err, errlen, line, col, &te);
        goto Exit;
    }
    if (task->n_dbrps == 0) {
        eng_task_free(task);
        fail(err, errlen, line, col, NULL, "must specify dbrp");
        goto Exit;
    }
    tick_edge_t kind = task->pipe->kind;
    if (want_type != NULL && *want_type && strcmp(want_type, kind == TICK_EDGE_BATCH ? "batch" : "stream") != 0) {
        if (strcmp(want_type, "stream") != 0 && strcmp(want_type, "batch") != 0)
            fail(err, errlen, line, col, NULL, "unknown task type %s", want_type);
        else
            fail(err, errlen, line, col, NULL, "invalid TICKscript: task type %s does not match the script, which is a %s task",
                 want_type, kind == TICK_EDGE_BATCH ? "batch" : "stream");
        eng_task_free(task);
        goto Exit;
    }
    t->type = kind;
    if (n_dbrps == 0) {
        set_dbrps(t, task->dbrps, task->n_dbrps);
        t->dbrps_in_script = true;
    }
    if (t->_compiled != NULL)
        eng_task_free(t->_compiled);
    t->_compiled = task;
    rc = 0;
Exit:
    fa_arena_deinit(&a);
    return rc;
}

int eng_defs_task_prepare(eng_defs_t *d, const eng_tdef_t *base, const eng_tdef_in_t *in, int64_t now,
                          eng_tdef_t **out, char *err, size_t errlen, uint32_t *line, uint32_t *col)
{
    if (line)
        *line = 0;
    if (col)
        *col = 0;
    const char *id = in->id ? in->id : base ? base->id : NULL;
    if (id == NULL || !eng_defs_valid_id(d, id) || strlen(id) >= sizeof(((eng_task_t *)0)->id)) {
        fail(err, errlen, line, col, NULL, "task ID must contain only letters, numbers, '-', '.' and '_'. \"%s\"",
             id ? id : "");
        return -1;
    }
    eng_tdef_t *t;
    if (base != NULL) {
        t = tdef_clone(base);
        free(t->id);
        t->id = xstrdup(id);
    } else {
        t = calloc(1, sizeof(*t));
        t->id = xstrdup(id);
        t->template_id = xstrdup("");
        t->script = xstrdup("");
        t->vars = xstrdup("");
        t->error = xstrdup("");
        t->dbrps = calloc(1, sizeof(*t->dbrps));
        t->created = now;
        t->_seq = ++d->seq;
    }
    t->from_file = in->from_file || (base && base->from_file && !in->script);
    if (in->template_id) {
        free(t->template_id);
        t->template_id = xstrdup(in->template_id);
    }
    if (in->script) {
        if (in->template_id == NULL && *t->template_id) { /* a script given to a template task: plain task now */
            free(t->template_id);
            t->template_id = xstrdup("");
        }
        free(t->script);
        t->script = xstrdup(in->script);
        if (t->dbrps_in_script && in->n_dbrps < 0)
            set_dbrps(t, NULL, 0);
        t->dbrps_in_script = false;
    }
    if (in->vars) {
        free(t->vars);
        t->vars = xstrdup(in->vars);
    }
    if (in->n_dbrps >= 0) {
        set_dbrps(t, in->dbrps, (uint32_t)in->n_dbrps);
        t->dbrps_in_script = false;
    }
    bool was_enabled = base && base->enabled;
    if (in->status >= 0)
        t->enabled = in->status == 1;
    if (t->enabled && !was_enabled)
        t->last_enabled = now;
    t->modified = now;
    free(t->error);
    t->error = xstrdup("");

    const eng_tmpl_t *tm = NULL;
    if (*t->template_id) {
        if (in->script != NULL && in->template_id != NULL) {
            fail(err, errlen, line, col, NULL, "cannot specify both a template-id and a TICKscript");
            goto Error;
        }
        tm = eng_defs_template(d, t->template_id);
        if (tm == NULL) {
            /* an orphan can still be disabled or deleted, never enabled */
            if (base != NULL && !t->enabled && in->script == NULL && in->vars == NULL && in->template_id == NULL) {
                *out = t;
                return 0;
            }
            fail(err, errlen, line, col, NULL, "no template exists with ID %s", t->template_id);
            goto Error;
        }
        free(t->script);
        t->script = xstrdup(tm->script);
    } else if (*t->script == '\0') {
        fail(err, errlen, line, col, NULL, "must provide TICKscript");
        goto Error;
    }
    if (build(d, t, tm, in->type, err, errlen, line, col) != 0)
        goto Error;
    *out = t;
    return 0;
Error:
    eng_tdef_free(t);
    return -1;
}

static void add_task(eng_defs_t *d, eng_tdef_t *t)
{
    if (d->n_tasks == d->cap_tasks) {
        d->cap_tasks = d->cap_tasks ? d->cap_tasks * 2 : 16;
        d->tasks = realloc(d->tasks, sizeof(*d->tasks) * d->cap_tasks);
    }
    d->tasks[d->n_tasks++] = t;
}

static void start(eng_defs_t *d, eng_tdef_t *t)
{
    char why[256];
    if (t->_compiled == NULL) {
        uint32_t l, c;
        if (build(d, t, *t->template_id ? eng_defs_template(d, t->template_id) : NULL, NULL, why, sizeof why, &l, &c) !=
            0) {
            free(t->error);
            t->error = xstrdup(why);
            return;
        }
    }
    eng_task_t *task = t->_compiled;
    t->_compiled = NULL;
    if (eng_tm_add(d->tm, task, d->opts, why, sizeof why) != 0) {
        free(t->error);
        t->error = xstrdup(why);
        FA_LOG(FA_ERROR, "task %s: cannot start: %s", t->id, why);
        return;
    }
    t->running = task;
}

static void stop(eng_defs_t *d, eng_tdef_t *t)
{
    if (t->running == NULL)
        return;
    int rc = eng_tm_remove(d->tm, t->id);
    if (rc != 0 && rc != FA_ENOENT)
        FA_LOG(FA_WARN, "task %s: stopping: %s", t->id, fa_strerror(rc));
    t->running = NULL;
}

void eng_defs_task_commit(eng_defs_t *d, eng_tdef_t *t)
{
    eng_tdef_t *old = NULL;
    uint32_t at = d->n_tasks;
    for (uint32_t i = 0; i < d->n_tasks; i++)
        if (strcmp(d->tasks[i]->id, t->id) == 0) {
            old = d->tasks[i];
            at = i;
        }
    if (old != NULL) {
        t->_seq = old->_seq;
        if (old->running != NULL && t->enabled && !t->restart) {
            t->running = old->running; /* no restart without a status change (Kapacitor's rule) */
            old->running = NULL;
        } else if (old->running != NULL)
            stop(d, old);
    }
    if (t->enabled && t->running == NULL)
        start(d, t);
    t->restart = false;
    if (t->_compiled != NULL) {
        eng_task_free(t->_compiled);
        t->_compiled = NULL;
    }
    if (old != NULL) {
        d->tasks[at] = t;
        eng_tdef_free(old);
    } else
        add_task(d, t);
}

int eng_defs_task_remove(eng_defs_t *d, const char *id)
{
    for (uint32_t i = 0; i < d->n_tasks; i++)
        if (strcmp(d->tasks[i]->id, id) == 0) {
            eng_tdef_t *t = d->tasks[i];
            stop(d, t);
            memmove(&d->tasks[i], &d->tasks[i + 1], sizeof(*d->tasks) * (d->n_tasks - i - 1));
            d->n_tasks--;
            eng_tdef_free(t);
            return 0;
        }
    return FA_ENOENT;
}

/* A task or template as listings see it. */
struct listed {
    int64_t created;
    uint64_t seq;
    const char *id;
    void *def;
};

/* newest first: created descending, then the order they came in */
static int newest_first(const void *a, const void *b)
{
    const struct listed *x = a, *y = b;
    if (x->created != y->created)
        return x->created > y->created ? -1 : 1;
    return x->seq > y->seq ? -1 : x->seq < y->seq;
}

/* Sorts all[0..n) newest first, then keeps at its start those whose id matches pattern (all when
 * NULL or ""), from the offset-th on, at most max; returns how many. */
static uint32_t listing(struct listed *all, uint32_t n, const char *pattern, uint32_t offset, uint32_t max)
{
    qsort(all, n, sizeof(*all), newest_first);
    uint32_t k = 0, skipped = 0;
    for (uint32_t i = 0; i < n && k < max; i++) {
        if (pattern != NULL && *pattern && !eng_defs_glob(pattern, all[i].id))
            continue;
        if (skipped++ < offset)
            continue;
        all[k++] = all[i];
    }
    return k;
}

uint32_t eng_defs_tasks(const eng_defs_t *d, const char *pattern, uint32_t offset, eng_tdef_t **out, uint32_t max)
{
    if (d->n_tasks == 0)
        return 0;
    struct listed *all = malloc(sizeof(*all) * d->n_tasks);
    for (uint32_t i = 0; i < d->n_tasks; i++)
        all[i] = (struct listed){ d->tasks[i]->created, d->tasks[i]->_seq, d->tasks[i]->id, d->tasks[i] };
    uint32_t n = listing(all, d->n_tasks, pattern, offset, max);
    for (uint32_t i = 0; i < n; i++)
        out[i] = all[i].def;
    free(all);
    return n;
}

void eng_defs_counts(const eng_defs_t *d, uint32_t *n_tasks, uint32_t *n_enabled)
{
    uint32_t e = 0;
    for (uint32_t i = 0; i < d->n_tasks; i++)
        e += d->tasks[i]->running != NULL;
    *n_tasks = d->n_tasks;
    *n_enabled = e;
}

/* ---- templates ---- */

static eng_tmpl_t *tmpl_parse(const char *id, const char *script, const char *want_type, char *err, size_t errlen,
                              uint32_t *line, uint32_t *col)
{
    eng_tmpl_t *t = calloc(1, sizeof(*t));
    t->id = xstrdup(id);
    t->script = xstrdup(script);
    fa_arena_init(&t->_arena, 8192, 0);
    tick_err_t te;
    tick_pipeline_t *pipe;
    fa_arena_t check;
    fa_arena_init(&check, 8192, 0);
    tick_ast_t *copy;
    if (tick_parse(t->script, strlen(t->script), &t->_arena, &t->_ast, &te) != 0) {
        script_error(err, errlen, line, col, &te);
        goto Error;
    }
    /* tick_check changes the AST in place: check a second parse */
    if (tick_parse(t->script, strlen(t->script), &check, &copy, &te) != 0 ||
        tick_check(copy, TICK_CHECK_TEMPLATE, &check, &pipe, &te) != 0) {
        script_error(err, errlen, line, col, &te);
        goto Error;
    }
    t->type = pipe->kind;
    if (want_type != NULL && *want_type && strcmp(want_type, t->type == TICK_EDGE_BATCH ? "batch" : "stream") != 0) {
        if (strcmp(want_type, "stream") != 0 && strcmp(want_type, "batch") != 0)
            fail(err, errlen, line, col, NULL, "unknown template type %s", want_type);
        else
            fail(err, errlen, line, col, NULL, "invalid TICKscript: template type %s does not match the script, which is a %s template",
                 want_type, t->type == TICK_EDGE_BATCH ? "batch" : "stream");
        goto Error;
    }
    t->formatted = format_ast(t->_ast);
    if (t->formatted == NULL)
        t->formatted = xstrdup(t->script);
    fa_arena_deinit(&check);
    return t;
Error:
    fa_arena_deinit(&check);
    eng_tmpl_free(t);
    return NULL;
}

int eng_defs_template_prepare(eng_defs_t *d, const eng_tmpl_t *base, const char *id, const char *type,
                              const char *script, int64_t now, eng_tmpl_t **out, eng_tdef_t ***tasks,
                              uint32_t *n_tasks, char *err, size_t errlen, uint32_t *line, uint32_t *col)
{
    if (line)
        *line = 0;
    if (col)
        *col = 0;
    *tasks = NULL;
    *n_tasks = 0;
    if (id == NULL || !eng_defs_valid_id(d, id)) {
        fail(err, errlen, line, col, NULL, "template ID must contain only letters, numbers, '-', '.' and '_'. \"%s\"",
             id ? id : "");
        return -1;
    }
    if (script == NULL)
        script = base ? base->script : NULL;
    if (script == NULL || *script == '\0') {
        fail(err, errlen, line, col, NULL, "must provide TICKscript");
        return -1;
    }
    eng_tmpl_t *t = tmpl_parse(id, script, type, err, errlen, line, col);
    if (t == NULL)
        return -1;
    t->created = base ? base->created : now;
    t->modified = now;
    t->_seq = base ? base->_seq : ++d->seq;
    /* redefine the tasks built from it (from the old id on a rename), all or nothing */
    const char *from = base ? base->id : id;
    eng_tdef_t **list = calloc(d->n_tasks ? d->n_tasks : 1, sizeof(*list));
    uint32_t n = 0;
    for (uint32_t i = 0; i < d->n_tasks; i++) {
        const eng_tdef_t *old = d->tasks[i];
        if (strcmp(old->template_id, from) != 0)
            continue;
        eng_tdef_t *nt = tdef_clone(old);
        free(nt->template_id);
        nt->template_id = xstrdup(id);
        free(nt->script);
        nt->script = xstrdup(t->script);
        nt->modified = now;
        nt->restart = true; /* a running task picks up the new template */
        char why[512];
        if (build(d, nt, t, NULL, why, sizeof why, line, col) != 0) {
            fail(err, errlen, NULL, NULL, NULL, "error reloading associated task %s: %s", old->id, why);
            eng_tdef_free(nt);
            for (uint32_t k = 0; k < n; k++)
                eng_tdef_free(list[k]);
            free(list);
            eng_tmpl_free(t);
            return -1;
        }
        list[n++] = nt;
    }
    *out = t;
    *tasks = list;
    *n_tasks = n;
    return 0;
}

void eng_defs_template_commit(eng_defs_t *d, eng_tmpl_t *t)
{
    for (uint32_t i = 0; i < d->n_tmpls; i++)
        if (d->tmpls[i]->_seq == t->_seq || strcmp(d->tmpls[i]->id, t->id) == 0) {
            eng_tmpl_free(d->tmpls[i]);
            d->tmpls[i] = t;
            return;
        }
    if (d->n_tmpls == d->cap_tmpls) {
        d->cap_tmpls = d->cap_tmpls ? d->cap_tmpls * 2 : 16;
        d->tmpls = realloc(d->tmpls, sizeof(*d->tmpls) * d->cap_tmpls);
    }
    d->tmpls[d->n_tmpls++] = t;
}

int eng_defs_template_remove(eng_defs_t *d, const char *id)
{
    for (uint32_t i = 0; i < d->n_tmpls; i++)
        if (strcmp(d->tmpls[i]->id, id) == 0) {
            eng_tmpl_free(d->tmpls[i]);
            memmove(&d->tmpls[i], &d->tmpls[i + 1], sizeof(*d->tmpls) * (d->n_tmpls - i - 1));
            d->n_tmpls--;
            return 0;
        }
    return FA_ENOENT;
}

uint32_t eng_defs_templates(const eng_defs_t *d, const char *pattern, uint32_t offset, eng_tmpl_t **out, uint32_t max)
{
    if (d->n_tmpls == 0)
        return 0;
    struct listed *all = malloc(sizeof(*all) * d->n_tmpls);
    for (uint32_t i = 0; i < d->n_tmpls; i++)
        all[i] = (struct listed){ d->tmpls[i]->created, d->tmpls[i]->_seq, d->tmpls[i]->id, d->tmpls[i] };
    uint32_t n = listing(all, d->n_tmpls, pattern, offset, max);
    for (uint32_t i = 0; i < n; i++)
        out[i] = all[i].def;
    free(all);
    return n;
}

/* "// comment" lines before a var: its description */
static json_t *description(const tick_comment_t *c)
{
    fa_buf_t b = FA_BUF_INIT;
    for (uint32_t i = 0; c != NULL && i < c->n; i++) {
        fa_str_t l = c->lines[i];
        while (l.len && (*l.ptr == ' ' || *l.ptr == '\t'))
            l.ptr++, l.len--;
        while (l.len && (l.ptr[l.len - 1] == ' ' || l.ptr[l.len - 1] == '\r'))
            l.len--;
        if (b.len)
            fa_buf_append(&b, " ", 1);
        fa_buf_append_str(&b, l);
    }
    json_t *s = json_stringn(b.ptr ? b.ptr : "", b.len);
    fa_buf_deinit(&b);
    return s;
}

static json_t *expr_text(tick_expr_t *e)
{
    tick_stmt_t st = { .kind = TICK_ST_EXPR, .value = e };
    tick_ast_t one = { .stmts = &st, .n = 1 };
    fa_buf_t b = FA_BUF_INIT;
    tick_format(&one, &b);
    fa_str_t s = fa_str(b.ptr ? b.ptr : "", b.len);
    while (s.len && (s.ptr[s.len - 1] == '\n' || s.ptr[s.len - 1] == ' '))
        s.len--;
    if (s.len >= 7 && memcmp(s.ptr, "lambda:", 7) == 0) {
        s.ptr += 7, s.len -= 7;
        while (s.len && *s.ptr == ' ')
            s.ptr++, s.len--;
    }
    json_t *j = json_stringn(s.ptr, s.len);
    fa_buf_deinit(&b);
    return j;
}

static json_t *var_value(tick_expr_t *e, const char **type)
{
    switch (e->kind) {
    case TICK_EX_INT: *type = "int"; return json_integer(e->v.i);
    case TICK_EX_FLOAT: *type = "float"; return json_real(e->v.f);
    case TICK_EX_BOOL: *type = "bool"; return json_boolean(e->v.b);
    case TICK_EX_DURATION: *type = "duration"; return json_integer(e->v.dur_ns);
    case TICK_EX_STRING: *type = "string"; return json_stringn(e->v.str.ptr, e->v.str.len);
    case TICK_EX_REGEX: *type = "regex"; return json_stringn(e->v.str.ptr, e->v.str.len);
    case TICK_EX_STAR: *type = "star"; return json_pack("{s:s}", "typeOf", "star");
    case TICK_EX_LAMBDA: *type = "lambda"; return expr_text(e->v.lambda.body);
    case TICK_EX_LIST: {
        *type = "list";
        json_t *a = json_array();
        for (uint32_t i = 0; i < e->v.list.n; i++) {
            const char *it;
            json_t *v = var_value(e->v.list.items[i], &it);
            json_array_append_new(a, json_pack("{s:s,s:o}", "type", it, "value", v));
        }
        return a;
    }
    default: *type = "string"; return expr_text(e);
    }
}

int eng_tmpl_vars_json(const eng_tmpl_t *t, fa_buf_t *out)
{
    json_t *o = json_object();
    for (uint32_t i = 0; t->_ast != NULL && i < t->_ast->n; i++) {
        tick_stmt_t *s = &t->_ast->stmts[i];
        if (s->kind != TICK_ST_VAR && s->kind != TICK_ST_VAR_TYPE)
            continue;
        if (s->kind == TICK_ST_VAR && s->value != NULL && s->value->kind == TICK_EX_CHAIN)
            continue; /* a pipeline var is not a template var */
        const char *type = tick_type_str(s->type);
        json_t *v = s->kind == TICK_ST_VAR ? var_value(s->value, &type) : json_null();
        char *name = strndup(s->name.ptr, s->name.len);
        json_object_set_new(o, name, json_pack("{s:s,s:o,s:o}", "type", type, "value", v, "description",
                                               description(s->comment)));
        free(name);
    }
    char *txt = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    int rc = txt ? fa_buf_append_c(out, txt) : FA_ENOMEM;
    free(txt);
    return rc;
}

/* ---- DOT ---- */

int eng_tdef_dot(eng_defs_t *d, const eng_tdef_t *t, fa_buf_t *out)
{
    if (t->running != NULL && eng_tm_dot(d->tm, t->id, out) == 0)
        return 0;
    fa_arena_t a;
    fa_arena_init(&a, 8192, 0);
    char *text, err[256];
    uint32_t l, c;
    tick_ast_t *ast;
    tick_pipeline_t *pipe;
    tick_err_t te;
    const eng_tmpl_t *tm = *t->template_id ? eng_defs_template(d, t->template_id) : NULL;
    int rc = -1;
    if ((*t->template_id && tm == NULL) || run_script(t, tm, &a, &text, err, sizeof err, &l, &c) != 0)
        goto Exit;
    if (tick_parse(text, strlen(text), &a, &ast, &te) != 0 || tick_check(ast, 0, &a, &pipe, &te) != 0)
        goto Exit;
    rc = tick_dot(pipe, t->id, NULL, NULL, out);
Exit:
    fa_arena_deinit(&a);
    return rc;
}

/* ---- restoring what the store kept ---- */

eng_tdef_t *eng_tdef_from_store(const char *id, const char *type, const eng_dbrp_t *dbrps, uint32_t n_dbrps,
                                const char *script, const char *vars, const char *template_id, bool enabled,
                                bool from_file, int64_t created, int64_t modified, int64_t last_enabled)
{
    eng_tdef_t *t = calloc(1, sizeof(*t));
    t->id = xstrdup(id);
    t->template_id = xstrdup(template_id);
    t->type = type && strcmp(type, "batch") == 0 ? TICK_EDGE_BATCH : TICK_EDGE_STREAM;
    set_dbrps(t, dbrps, n_dbrps);
    t->script = xstrdup(script);
    t->formatted = xstrdup(script);
    t->vars = xstrdup(vars && strcmp(vars, "{}") != 0 ? vars : "");
    t->enabled = enabled;
    t->from_file = from_file;
    t->created = created;
    t->modified = modified;
    t->last_enabled = last_enabled;
    t->error = xstrdup("");
    return t;
}

eng_tmpl_t *eng_tmpl_from_store(const char *id, const char *type, const char *script, int64_t created, int64_t modified)
{
    char err[512];
    uint32_t l, c;
    eng_tmpl_t *t = tmpl_parse(id, script, type, err, sizeof err, &l, &c);
    if (t == NULL) {
        FA_LOG(FA_ERROR, "template %s from the store: %s", id, err);
        return NULL;
    }
    t->created = created;
    t->modified = modified;
    return t;
}

unsigned eng_defs_restore(eng_defs_t *d, eng_tmpl_t **tmpls, uint32_t n_tmpls, eng_tdef_t **tasks, uint32_t n_tasks)
{
    unsigned started = 0;
    for (uint32_t i = 0; i < n_tmpls; i++)
        if (tmpls[i] != NULL) {
            tmpls[i]->_seq = ++d->seq;
            eng_defs_template_commit(d, tmpls[i]);
        }
    for (uint32_t i = 0; i < n_tasks; i++) {
        eng_tdef_t *t = tasks[i];
        char err[512];
        uint32_t l, c;
        t->_seq = ++d->seq;
        /* the stored dbrps are what ran; a script with dbrp lines gave them */
        t->dbrps_in_script = false;
        const eng_tmpl_t *tm = *t->template_id ? eng_defs_template(d, t->template_id) : NULL;
        if (*t->template_id && tm == NULL) {
            free(t->error);
            t->error = xstrdup("template does not exist");
        } else if (build(d, t, tm, NULL, err, sizeof err, &l, &c) != 0) {
            /* dbrp lines and stored dbrps both: compile with the script's */
            t->dbrps_in_script = true;
            if (build(d, t, tm, NULL, err, sizeof err, &l, &c) != 0) {
                free(t->error);
                t->error = xstrdup(err);
                FA_LOG(FA_ERROR, "task %s from the store: %s", t->id, err);
            }
        }
        bool en = t->enabled;
        if (t->_compiled == NULL)
            t->enabled = false; /* nothing to start; keep it listed with its error */
        eng_defs_task_commit(d, t);
        t->enabled = en;
        started += t->running != NULL;
    }
    return started;
}
