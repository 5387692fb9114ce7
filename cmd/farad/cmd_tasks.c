/* cmd/farad/cmd_tasks.c - define, define-template, enable, disable, reload, delete, list, show,
 * show-template: the kapacitor CLI's task and template commands, request for request.
 *
 *   define     GET the task; POST /tasks when that fails, else PATCH only the given fields;
 *              then, for an enabled task and without -no-reload, PATCH disabled and enabled.
 *   enable...  list each pattern (fields=link, pages of 100) and PATCH each link's href.
 *   delete     list each pattern (fields=link) and DELETE each href until a short page.
 *   list/show  print the tables and blocks laid out like the kapacitor CLI. */
#include "cmd/farad/cli.h"
#include "cmd/farad/cmds.h"

#include <stdlib.h>
#include <string.h>

#define MAX_DBRPS 256
#define MAX_PAGES 100000 /* bound on list pages for one pattern */

static const long OK_200[] = { 200, 0 };
static const long OK_204[] = { 204, 0 };

/* ---- dbrps ---- */

typedef struct dbrps {
    int n;
    char *db[MAX_DBRPS], *rp[MAX_DBRPS];
} dbrps_t;

/* A quoted part "..." with \" escapes: the unescaped text, and the length consumed. */
static char *quoted(const char *s, size_t *used)
{
    fa_buf_t b = FA_BUF_INIT;
    size_t i = 1;
    for (; s[i] && s[i] != '"'; i++) {
        if (s[i] == '\\' && s[i + 1] == '"')
            i++;
        fa_buf_append(&b, s + i, 1);
    }
    *used = s[i] == '"' ? i + 1 : i;
    char *out = strdup(fa_buf_cstr(&b));
    fa_buf_deinit(&b);
    return out;
}

/* `-dbrp db.rp` or `"db"."rp"` (Kapacitor's dbrps.Set) */
static int dbrp_set(void *dst, const char *v, char *msg, size_t n)
{
    dbrps_t *d = dst;
    size_t used;
    char *db, *rp;

    if (*v == '\0')
        return snprintf(msg, n, "dbrp cannot be empty"), -1;
    if (d->n == MAX_DBRPS)
        return snprintf(msg, n, "more than %d dbrps", MAX_DBRPS), -1;
    if (*v == '"') {
        db = quoted(v, &used);
    } else {
        const char *dot = strchr(v, '.');
        if (dot == NULL)
            return snprintf(msg, n, "does not contain a '.', it must be in the form \"dbname\".\"rpname\" where the "
                                    "quotes are optional."),
                   -1;
        used = (size_t)(dot - v);
        db = strndup(v, used);
    }
    if (v[used] != '.' || v[used + 1] == '\0') {
        free(db);
        return snprintf(msg, n, "dbrp must specify retention policy, do you have a missing or extra '.'?"), -1;
    }
    v += used + 1;
    rp = *v == '"' ? quoted(v, &used) : strdup(v);
    d->db[d->n] = db;
    d->rp[d->n++] = rp;
    return 0;
}

static void dbrps_free(dbrps_t *d)
{
    for (int i = 0; i < d->n; i++) {
        free(d->db[i]);
        free(d->rp[i]);
    }
    d->n = 0;
}

static void write_dbrps(cli_jw_t *w, const dbrps_t *d)
{
    cli_jw_key(w, "dbrps");
    cli_jw_arr(w);
    for (int i = 0; i < d->n; i++) {
        cli_jw_obj(w);
        cli_jw_key(w, "db");
        cli_jw_str(w, d->db[i]);
        cli_jw_key(w, "rp");
        cli_jw_str(w, d->rp[i]);
        cli_jw_end(w, '}');
    }
    cli_jw_end(w, ']');
}

/* Go's fmt of []DBRP: ["db"."rp" "db2"."rp2"] */
static void print_dbrps(fa_buf_t *b, const json_t *arr)
{
    fa_buf_append_c(b, "[");
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const json_t *d = json_array_get(arr, i);
        if (i)
            fa_buf_append_c(b, " ");
        cli_go_quote(b, cli_jstr(d, "db"));
        fa_buf_append_c(b, ".");
        cli_go_quote(b, cli_jstr(d, "rp"));
    }
    fa_buf_append_c(b, "]");
}

static int type_set(void *dst, const char *v, char *msg, size_t n)
{
    if (strcmp(v, "stream") != 0 && strcmp(v, "batch") != 0)
        return snprintf(msg, n, "must be stream or batch"), -1;
    *(const char **)dst = v;
    return 0;
}

/* ---- requests shared by the commands ---- */

/* GET /tasks/{id} as the client does (attributes DOT, formatted script, replay-id). */
static int get_task(const char *id, const char *replay, json_t **out, cli_err_t *err)
{
    fa_buf_t href = FA_BUF_INIT, q = FA_BUF_INIT;
    cli_link(&href, CLI_API "/tasks", id);
    cli_query_add(&q, "dot-view", "attributes");
    cli_query_add(&q, "replay-id", replay);
    cli_query_add(&q, "script-format", "formatted");
    int rc = cli_request("GET", fa_buf_cstr(&href), fa_buf_cstr(&q), NULL, OK_200, out, err);
    fa_buf_deinit(&href);
    fa_buf_deinit(&q);
    return rc;
}

static int get_template(const char *id, json_t **out, cli_err_t *err)
{
    fa_buf_t href = FA_BUF_INIT;
    cli_link(&href, CLI_API "/templates", id);
    int rc = cli_request("GET", fa_buf_cstr(&href), "script-format=formatted", NULL, OK_200, out, err);
    fa_buf_deinit(&href);
    return rc;
}

/* One page of GET /{kind}?fields=...&limit&offset&pattern with the kind's extra options.
 * *items borrows from *root (caller json_decref(root)). */
static int list_page(const char *kind, const char *pattern, const char *const *fields, int offset, json_t **root,
                     json_t **items, cli_err_t *err)
{
    fa_buf_t path = FA_BUF_INIT, q = FA_BUF_INIT;
    char num[32];
    bool tasks = strcmp(kind, "tasks") == 0, templates = strcmp(kind, "templates") == 0;

    fa_buf_appendf(&path, CLI_API "/%s", kind);
    if (tasks)
        cli_query_add(&q, "dot-view", "attributes");
    for (int i = 0; fields[i]; i++)
        cli_query_add(&q, "fields", fields[i]);
    snprintf(num, sizeof num, "%d", CLI_LIST_LIMIT);
    cli_query_add(&q, "limit", num);
    snprintf(num, sizeof num, "%d", offset);
    cli_query_add(&q, "offset", num);
    cli_query_add(&q, "pattern", pattern);
    if (tasks)
        cli_query_add(&q, "replay-id", "");
    if (tasks || templates)
        cli_query_add(&q, "script-format", "formatted");
    int rc = cli_request("GET", fa_buf_cstr(&path), fa_buf_cstr(&q), NULL, OK_200, root, err);
    fa_buf_deinit(&path);
    fa_buf_deinit(&q);
    if (rc != 0)
        return -1;
    *items = json_object_get(*root, kind);
    if (*items == NULL || json_is_null(*items))
        *items = json_array(), json_object_set_new(*root, kind, *items);
    if (!json_is_array(*items)) {
        json_decref(*root);
        return cli_errf(err, "failed to decode JSON: GET %s: \"%s\" is not a list", fa_buf_cstr(&path), kind);
    }
    return 0;
}

static int patch_status(const char *href, const char *status, cli_err_t *err)
{
    fa_buf_t body = FA_BUF_INIT;
    cli_jw_t w;
    cli_jw_init(&w, &body);
    cli_jw_obj(&w);
    cli_jw_key(&w, "status");
    cli_jw_str(&w, status);
    cli_jw_end(&w, '}');
    cli_jw_finish(&w);
    int rc = cli_request("PATCH", href, NULL, &body, OK_200, NULL, err);
    fa_buf_deinit(&body);
    return rc;
}

/* ---- define ---- */

static struct {
    const char *tick, *type, *template_id, *vars, *file;
    bool no_reload;
    dbrps_t dbrps;
} df;

static const cli_flag_t define_flags[] = {
    { "dbrp", CLI_FLAG_FUNC, &df.dbrps, dbrp_set,
      "A database and retention policy pair of the form \"db\".\"rp\" the quotes are optional. The flag can be "
      "specified multiple times." },
    { "file", CLI_FLAG_STR, &df.file, NULL,
      "Optional path to a YAML or JSON template task file. If id is given in the task file, it must match the Task "
      "id given on the command line." },
    { "no-reload", CLI_FLAG_BOOL, &df.no_reload, NULL, "Do not reload the task even if it is enabled" },
    { "template", CLI_FLAG_STR, &df.template_id, NULL, "Optional template ID" },
    { "tick", CLI_FLAG_STR, &df.tick, NULL, "Path to the TICKscript" },
    { "type", CLI_FLAG_FUNC, &df.type, type_set, "The task type (stream|batch)" },
    { "vars", CLI_FLAG_STR, &df.vars, NULL, "Optional path to a JSON vars file" },
    { NULL, 0, NULL, NULL, NULL },
};

void cmd_define_usage(void)
{
    fputs("Usage: farad define <task ID> [options]\n\n"
          "\tCreate or update a task.\n\n"
          "\tA task is defined via a TICKscript that defines the data processing pipeline of the task.\n\n"
          "\tIf an option is absent it will be left unmodified.\n\n"
          "\tIf the task is enabled then it will be reloaded unless -no-reload is specified.\n\n"
          "For example:\n\n"
          "\t\t$ farad define my_task -tick path/to/TICKscript -type stream -dbrp mydb.myrp\n\n"
          "\tNOTE: you must specify all 'dbrp' flags you desire if you wish to modify them.\n\n"
          "Options:\n\n",
          stderr);
    cli_flags_print(define_flags);
}

/* The parsed task file of -file: {id, template-id, dbrps, vars}. */
static json_t *load_task_file(const char *path, cli_err_t *err)
{
    fa_buf_t text = FA_BUF_INIT;
    json_t *doc = NULL;
    const char *ext = strrchr(path, '.');

    if (ext == NULL || (strcmp(ext, ".yaml") != 0 && strcmp(ext, ".yml") != 0 && strcmp(ext, ".json") != 0)) {
        cli_errf(err, "bad file extension. Must be YAML or JSON");
        return NULL;
    }
    if (cli_read_file(path, &text, err) != 0)
        goto Exit;
    if (strcmp(ext, ".json") == 0) {
        json_error_t je;
        doc = json_loadb(text.ptr ? text.ptr : "", text.len, 0, &je);
        if (doc == NULL)
            cli_errf(err, "failed to unmarshal json task vars file \"%s\": %s at line %d column %d", path, je.text,
                     je.line, je.column);
    } else {
        doc = cli_yaml_load(text.ptr ? text.ptr : "", text.len, path, err);
    }
    if (doc != NULL && !json_is_object(doc)) {
        json_decref(doc);
        doc = NULL;
        cli_errf(err, "failed to unmarshal task vars file \"%s\": not an object", path);
    }
Exit:
    fa_buf_deinit(&text);
    return doc;
}

/* dbrps of a task file: [{db, rp}] or ["db.rp"] */
static int file_dbrps(const json_t *arr, dbrps_t *d, const char *path, cli_err_t *err)
{
    char msg[256];
    if (arr == NULL || json_is_null(arr))
        return 0;
    if (!json_is_array(arr))
        return cli_errf(err, "invalid task file %s: dbrps must be a list", path);
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const json_t *x = json_array_get(arr, i);
        if (json_is_string(x)) {
            if (dbrp_set(d, json_string_value(x), msg, sizeof msg) != 0)
                return cli_errf(err, "invalid task file %s: dbrp %s: %s", path, json_string_value(x), msg);
        } else if (json_is_object(x) && d->n < MAX_DBRPS) {
            d->db[d->n] = strdup(cli_jstr(x, "db"));
            d->rp[d->n++] = strdup(cli_jstr(x, "rp"));
        } else {
            return cli_errf(err, "invalid task file %s: a dbrp must be {db, rp} or \"db.rp\"", path);
        }
    }
    return 0;
}

/* The body of POST (create) or PATCH (update) from the flags or the task file. */
static int define_body(const char *id, bool create, const json_t *file, const char *script, const fa_buf_t *vars,
                       fa_buf_t *body, cli_err_t *err)
{
    cli_jw_t w;
    dbrps_t fd = { 0 };
    const dbrps_t *d = &df.dbrps;
    const char *tmpl = df.template_id;

    cli_jw_init(&w, body);
    cli_jw_obj(&w);
    if (file != NULL) {
        if (file_dbrps(json_object_get(file, "dbrps"), &fd, df.file, err) != 0) {
            dbrps_free(&fd);
            return -1;
        }
        d = &fd;
        tmpl = cli_jstr(file, "template-id");
    }
    if (create || file != NULL) {
        cli_jw_key(&w, "id");
        cli_jw_str(&w, id);
    }
    if (tmpl != NULL && *tmpl) {
        cli_jw_key(&w, "template-id");
        cli_jw_str(&w, tmpl);
    }
    if (file == NULL && df.type != NULL) {
        cli_jw_key(&w, "type");
        cli_jw_str(&w, df.type);
    }
    if (d->n > 0)
        write_dbrps(&w, d);
    if (script != NULL && *script) {
        cli_jw_key(&w, "script");
        cli_jw_str(&w, script);
    }
    if (create) {
        cli_jw_key(&w, "status");
        cli_jw_str(&w, "disabled");
    }
    if (vars->len > 0) {
        cli_jw_key(&w, "vars");
        cli_jw_raw(&w, vars->ptr, vars->len);
    }
    cli_jw_end(&w, '}');
    cli_jw_finish(&w);
    dbrps_free(&fd);
    return 0;
}

/* Renders the vars of -vars (or the task file) into `out`; empty when there are none. */
static int define_vars(const json_t *file, fa_buf_t *out, cli_err_t *err)
{
    json_t *vars = NULL;
    int rc = -1;
    cli_jw_t w;

    if (file != NULL) {
        vars = json_incref(json_object_get(file, "vars"));
    } else if (df.vars != NULL) {
        fa_buf_t text = FA_BUF_INIT;
        json_error_t je;
        if (cli_read_file(df.vars, &text, err) != 0) {
            fa_buf_deinit(&text);
            return -1;
        }
        vars = json_loadb(text.ptr ? text.ptr : "", text.len, 0, &je);
        fa_buf_deinit(&text);
        if (vars == NULL)
            return cli_errf(err, "invalid JSON in file %s: %s at line %d column %d", df.vars, je.text, je.line,
                            je.column);
    }
    if (vars == NULL || json_is_null(vars) || (json_is_object(vars) && json_object_size(vars) == 0)) {
        rc = 0;
        goto Exit;
    }
    cli_jw_init(&w, out);
    if (cli_vars_write(&w, vars, err) != 0) {
        cli_err_wrap(err, "invalid JSON in file %s", file != NULL ? df.file : df.vars);
        fa_buf_clear(out);
        goto Exit;
    }
    rc = 0;
Exit:
    json_decref(vars);
    return rc;
}

/* Reads the local inputs (script, vars, task file) before any request, as the kapacitor CLI does. */
static int define_inputs(const char *id, fa_buf_t *script, fa_buf_t *vars, json_t **file, cli_err_t *err)
{
    if (df.tick != NULL && cli_read_file(df.tick, script, err) != 0)
        return -1;
    if (df.file != NULL) {
        if ((*file = load_task_file(df.file, err)) == NULL)
            return -1;
        const char *fid = cli_jstr(*file, "id");
        if (*fid && strcmp(fid, id) != 0)
            return cli_errf(err, "Task id given on command line does not match id in %s", df.file);
    }
    return define_vars(*file, vars, err);
}

int cmd_define(int argc, char **argv)
{
    fa_buf_t script = FA_BUF_INIT, vars = FA_BUF_INIT, body = FA_BUF_INIT, href = FA_BUF_INIT;
    json_t *file = NULL, *task = NULL;
    cli_err_t err;
    int npos, rc;

    memset(&df, 0, sizeof df);
    if ((rc = cli_flags_parse(define_flags, argc - 1, argv + 1, &npos, cmd_define_usage)) >= 0) {
        dbrps_free(&df.dbrps);
        return rc;
    }
    if (npos != 1) {
        fprintf(stderr, "Must provide a task ID.\n");
        cmd_define_usage();
        rc = CLI_EXIT_ARGS;
        goto Exit;
    }
    const char *id = argv[1];
    rc = CLI_EXIT_FAIL;
    if (define_inputs(id, &script, &vars, &file, &err) != 0)
        goto Error;
    cli_link(&href, CLI_API "/tasks", id);
    cli_err_t ignored;
    bool exists = get_task(id, "", &task, &ignored) == 0 && *cli_jstr(task, "id");
    bool enabled = exists && strcmp(cli_jstr(task, "status"), "enabled") == 0;
    if (define_body(id, !exists, file, df.tick ? fa_buf_cstr(&script) : NULL, &vars, &body, &err) != 0)
        goto Error;
    if (exists ? cli_request("PATCH", fa_buf_cstr(&href), NULL, &body, OK_200, NULL, &err)
               : cli_request("POST", CLI_API "/tasks", NULL, &body, OK_200, NULL, &err))
        goto Error;
    if (!df.no_reload && enabled &&
        (patch_status(fa_buf_cstr(&href), "disabled", &err) != 0 || patch_status(fa_buf_cstr(&href), "enabled", &err) != 0))
        goto Error;
    rc = CLI_EXIT_OK;
    goto Exit;
Error:
    cli_fail(&err);
Exit:
    json_decref(task);
    json_decref(file);
    dbrps_free(&df.dbrps);
    fa_buf_deinit(&script);
    fa_buf_deinit(&vars);
    fa_buf_deinit(&body);
    fa_buf_deinit(&href);
    return rc;
}

/* ---- define-template ---- */

static struct {
    const char *tick, *type;
} dt;

static const cli_flag_t define_template_flags[] = {
    { "tick", CLI_FLAG_STR, &dt.tick, NULL, "Path to the TICKscript" },
    { "type", CLI_FLAG_FUNC, &dt.type, type_set, "The template type (stream|batch)" },
    { NULL, 0, NULL, NULL, NULL },
};

void cmd_define_template_usage(void)
{
    fputs("Usage: farad define-template <template ID> [options]\n\n"
          "\tCreate or update a template.\n\n"
          "\tIf an option is absent it will be left unmodified.\n\n"
          "\tNOTE: Updating a template will reload all associated tasks.\n\n"
          "Options:\n\n",
          stderr);
    cli_flags_print(define_template_flags);
}

int cmd_define_template(int argc, char **argv)
{
    fa_buf_t script = FA_BUF_INIT, body = FA_BUF_INIT, href = FA_BUF_INIT;
    json_t *tmpl = NULL;
    cli_err_t err, ignored;
    cli_jw_t w;
    int npos, rc;

    memset(&dt, 0, sizeof dt);
    if ((rc = cli_flags_parse(define_template_flags, argc - 1, argv + 1, &npos, cmd_define_template_usage)) >= 0)
        return rc;
    if (npos != 1) {
        fprintf(stderr, "Must provide a template ID.\n");
        cmd_define_template_usage();
        return CLI_EXIT_ARGS;
    }
    const char *id = argv[1];
    rc = CLI_EXIT_FAIL;
    if (dt.tick != NULL && cli_read_file(dt.tick, &script, &err) != 0)
        goto Error;
    bool exists = get_template(id, &tmpl, &ignored) == 0 && *cli_jstr(tmpl, "id");
    cli_jw_init(&w, &body);
    cli_jw_obj(&w);
    if (!exists) {
        cli_jw_key(&w, "id");
        cli_jw_str(&w, id);
    }
    if (dt.type != NULL) {
        cli_jw_key(&w, "type");
        cli_jw_str(&w, dt.type);
    }
    if (script.len > 0) {
        cli_jw_key(&w, "script");
        cli_jw_str(&w, fa_buf_cstr(&script));
    }
    cli_jw_end(&w, '}');
    cli_jw_finish(&w);
    cli_link(&href, CLI_API "/templates", id);
    if (exists ? cli_request("PATCH", fa_buf_cstr(&href), NULL, &body, OK_200, NULL, &err)
               : cli_request("POST", CLI_API "/templates", NULL, &body, OK_200, NULL, &err))
        goto Error;
    rc = CLI_EXIT_OK;
    goto Exit;
Error:
    cli_fail(&err);
Exit:
    json_decref(tmpl);
    fa_buf_deinit(&script);
    fa_buf_deinit(&body);
    fa_buf_deinit(&href);
    return rc;
}

/* ---- enable, disable, reload ---- */

static const char *const FIELDS_LINK[] = { "link", NULL };

/* PATCHes status on every task matching each pattern. Returns 0 or -1 with err. */
static int set_status(int n, char **patterns, const char *status, const char *verb, cli_err_t *err)
{
    for (int i = 0; i < n; i++) {
        for (int page = 0, offset = 0; page < MAX_PAGES; page++, offset += CLI_LIST_LIMIT) {
            json_t *root, *items;
            if (list_page("tasks", patterns[i], FIELDS_LINK, offset, &root, &items, err) != 0) {
                cli_err_wrap(err, "listing tasks");
                return -1;
            }
            size_t count = json_array_size(items);
            for (size_t k = 0; k < count; k++) {
                const json_t *t = json_array_get(items, k);
                const char *href = cli_jstr(json_object_get(t, "link"), "href");
                if (patch_status(href, status, err) != 0) {
                    cli_err_wrap(err, "%s task %s", verb, cli_jstr(t, "id"));
                    json_decref(root);
                    return -1;
                }
            }
            json_decref(root);
            if (count != CLI_LIST_LIMIT)
                break;
        }
    }
    return 0;
}

static int status_cmd(int argc, char **argv, void (*usage)(void), bool disable, bool enable)
{
    cli_err_t err;
    if (argc < 2) {
        fprintf(stderr, "Must pass at least one task ID\n");
        usage();
        return CLI_EXIT_ARGS;
    }
    if (disable && set_status(argc - 1, argv + 1, "disabled", "disabling", &err) != 0)
        return cli_fail(&err);
    if (enable && set_status(argc - 1, argv + 1, "enabled", "enabling", &err) != 0)
        return cli_fail(&err);
    return CLI_EXIT_OK;
}

void cmd_enable_usage(void)
{
    fputs("Usage: farad enable [task ID...]\n\n\tEnable and start a task running from the live data.\n\n"
          "For example:\n\n\t\t$ farad enable cpu_alert\n\n\tOr, you can enable by glob:\n\n\t\t$ farad enable *_alert\n",
          stderr);
}

void cmd_disable_usage(void)
{
    fputs("Usage: farad disable [task ID...]\n\n\tDisable and stop a task running.\n\n"
          "For example:\n\n\t\t$ farad disable cpu_alert\n\n\tOr, you can disable by glob:\n\n\t\t$ farad disable *_alert\n",
          stderr);
}

void cmd_reload_usage(void)
{
    fputs("Usage: farad reload [task ID...]\n\n\tDisable then enable a running task.\n\n"
          "For example:\n\n\t\t$ farad reload cpu_alert\n\n\tOr, you can reload by glob:\n\n\t\t$ farad reload *_alert\n",
          stderr);
}

int cmd_enable(int argc, char **argv) { return status_cmd(argc, argv, cmd_enable_usage, false, true); }
int cmd_disable(int argc, char **argv) { return status_cmd(argc, argv, cmd_disable_usage, true, false); }
int cmd_reload(int argc, char **argv) { return status_cmd(argc, argv, cmd_reload_usage, true, true); }

/* ---- delete ---- */

static bool known_kind(const char *k)
{
    return strcmp(k, "tasks") == 0 || strcmp(k, "templates") == 0 || strcmp(k, "recordings") == 0 ||
           strcmp(k, "replays") == 0;
}

void cmd_delete_usage(void)
{
    fputs("Usage: farad delete (tasks|templates|recordings|replays) [ID or pattern]...\n\n"
          "\tDelete tasks, templates, recordings or replays.\n\n"
          "\tIf a task is enabled it will be disabled and then deleted.\n\n"
          "For example:\n\n\t\t$ farad delete tasks my_task\n\n\tOr you can delete items by glob:\n\n"
          "\t\t$ farad delete tasks *_alert\n",
          stderr);
}

/* Deletes every item matching pattern: list a page, delete it, until a short page. */
static int delete_pattern(const char *kind, const char *pattern, cli_err_t *err)
{
    for (int page = 0; page < MAX_PAGES; page++) {
        json_t *root, *items;
        if (list_page(kind, pattern, FIELDS_LINK, 0, &root, &items, err) != 0)
            return -1;
        size_t count = json_array_size(items);
        for (size_t k = 0; k < count; k++) {
            const char *href = cli_jstr(json_object_get(json_array_get(items, k), "link"), "href");
            if (cli_request("DELETE", href, NULL, NULL, OK_204, NULL, err) != 0) {
                json_decref(root);
                return -1;
            }
        }
        json_decref(root);
        if (count != CLI_LIST_LIMIT)
            return 0;
    }
    return 0;
}

int cmd_delete(int argc, char **argv)
{
    cli_err_t err;
    if (argc < 3) {
        fprintf(stderr, "Must pass at least one ID\n");
        cmd_delete_usage();
        return CLI_EXIT_ARGS;
    }
    if (!known_kind(argv[1])) {
        cli_errf(&err, "cannot delete '%s' did you mean 'tasks', 'templates', 'recordings' or 'replays'?", argv[1]);
        return cli_fail(&err);
    }
    for (int i = 2; i < argc; i++)
        if (delete_pattern(argv[1], argv[i], &err) != 0)
            return cli_fail(&err);
    return CLI_EXIT_OK;
}

/* ---- list ---- */

void cmd_list_usage(void)
{
    fputs("Usage: farad list (tasks|templates|recordings|replays) [ID or pattern]...\n\n"
          "\tList tasks, templates, recordings or replays and their current state.\n\n"
          "\tIf no ID or pattern is given then all items will be listed.\n",
          stderr);
}

/* Every item of `kind` matching any pattern (one list per pattern, in pages), into `all`. */
static int collect(const char *kind, int n, char **patterns, const char *const *fields, json_t *all, cli_err_t *err)
{
    static char *match_all[] = { "" };
    if (n == 0) {
        n = 1;
        patterns = match_all;
    }
    for (int i = 0; i < n; i++) {
        for (int page = 0, offset = 0; page < MAX_PAGES; page++, offset += CLI_LIST_LIMIT) {
            json_t *root, *items;
            if (list_page(kind, patterns[i], fields, offset, &root, &items, err) != 0)
                return -1;
            json_array_extend(all, items);
            size_t count = json_array_size(items);
            json_decref(root);
            if (count != CLI_LIST_LIMIT)
                break;
        }
    }
    return 0;
}

static int cmp_id(const void *a, const void *b)
{
    return strcmp(cli_jstr(*(json_t *const *)a, "id"), cli_jstr(*(json_t *const *)b, "id"));
}

/* The items sorted by id (Go's sort.Sort: not stable, but ids are unique). Caller frees. */
static json_t **sorted_by_id(json_t *all, size_t *n)
{
    *n = json_array_size(all);
    json_t **v = calloc(*n + 1, sizeof *v);
    if (v == NULL)
        abort();
    for (size_t i = 0; i < *n; i++)
        v[i] = json_array_get(all, i);
    qsort(v, *n, sizeof *v, cmp_id);
    return v;
}

static int width_of(json_t *all, const char *key, int min)
{
    for (size_t i = 0; i < json_array_size(all); i++) {
        int l = (int)strlen(cli_jstr(json_array_get(all, i), key));
        if (l > min)
            min = l;
    }
    return min;
}

static void list_tasks_print(json_t *all)
{
    size_t n;
    int w = width_of(all, "id", 2) + 1;
    json_t **v = sorted_by_id(all, &n);
    printf("%-*s%-10s%-10s%-10s%s\n", w, "ID", "Type", "Status", "Executing", "Databases and Retention Policies");
    for (size_t i = 0; i < n; i++) {
        fa_buf_t d = FA_BUF_INIT;
        print_dbrps(&d, json_object_get(v[i], "dbrps"));
        printf("%-*s%-10s%-10s%-10s%s\n", w, cli_jstr(v[i], "id"), cli_jstr(v[i], "type"), cli_jstr(v[i], "status"),
               cli_jbool(v[i], "executing") ? "true" : "false", fa_buf_cstr(&d));
        fa_buf_deinit(&d);
    }
    free(v);
}

static int cmp_cstr(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

static void list_templates_print(json_t *all)
{
    size_t n;
    int w = width_of(all, "id", 2) + 1;
    json_t **v = sorted_by_id(all, &n);
    printf("%-*s%-10s%-40s\n", w, "ID", "Type", "Vars");
    for (size_t i = 0; i < n; i++) {
        const json_t *vars = json_object_get(v[i], "vars");
        const char *k, **names = calloc(json_object_size(vars) + 1, sizeof *names);
        json_t *x;
        size_t nn = 0;
        fa_buf_t joined = FA_BUF_INIT;
        if (names == NULL)
            abort();
        json_object_foreach((json_t *)vars, k, x)
        {
            (void)x;
            names[nn++] = k;
        }
        qsort(names, nn, sizeof *names, cmp_cstr);
        for (size_t j = 0; j < nn; j++)
            fa_buf_appendf(&joined, "%s%s", j ? "," : "", names[j]);
        printf("%-*s%-10s%-40s\n", w, cli_jstr(v[i], "id"), cli_jstr(v[i], "type"), fa_buf_cstr(&joined));
        fa_buf_deinit(&joined);
        free(names);
    }
    free(v);
}

static void local_date(const json_t *o, char *out, size_t n)
{
    cli_time_t t;
    if (cli_time_parse(cli_jstr(o, "date"), &t) == 0)
        cli_time_rfc822_local(&t, out, n);
    else
        snprintf(out, n, "%s", cli_jstr(o, "date"));
}

static void list_recordings_print(json_t *all)
{
    int w = width_of(all, "id", 2) + 1;
    char size[32], date[64];
    printf("%-*s%-8s%-10s%-10s%-23s\n", w, "ID", "Type", "Status", "Size", "Date");
    for (size_t i = 0; i < json_array_size(all); i++) { /* the server's order: newest first */
        const json_t *r = json_array_get(all, i);
        long long sz = cli_jint(r, "size");
        cli_humanize_bytes(sz < 0 ? 0 : (uint64_t)sz, size, sizeof size);
        local_date(r, date, sizeof date);
        printf("%-*s%-8s%-10s%-10s%-23s\n", w, cli_jstr(r, "id"), cli_jstr(r, "type"), cli_jstr(r, "status"), size, date);
    }
}

static void list_replays_print(json_t *all)
{
    int wi = width_of(all, "id", 2) + 1, wt = width_of(all, "task", 4) + 1, wr = width_of(all, "recording", 9) + 1;
    char date[64];
    printf("%-*s%-*s%-*s%-9s%-8s%-23s\n", wi, "ID", wt, "Task", wr, "Recording", "Status", "Clock", "Date");
    for (size_t i = 0; i < json_array_size(all); i++) {
        const json_t *r = json_array_get(all, i);
        local_date(r, date, sizeof date);
        printf("%-*s%-*s%-*s%-9s%-8s%-23s\n", wi, cli_jstr(r, "id"), wt, cli_jstr(r, "task"), wr,
               cli_jstr(r, "recording"), cli_jstr(r, "status"), cli_jstr(r, "clock"), date);
    }
}

int cmd_list(int argc, char **argv)
{
    static const char *const f_tasks[] = { "type", "status", "executing", "dbrps", NULL };
    static const char *const f_templates[] = { "type", "vars", NULL };
    static const char *const f_recordings[] = { "type", "size", "date", "status", NULL };
    static const char *const f_replays[] = { "task", "recording", "status", "clock", "date", NULL };
    cli_err_t err;

    if (argc < 2) {
        fprintf(stderr, "Must specify 'tasks', 'templates', 'recordings' or 'replays'\n");
        cmd_list_usage();
        return CLI_EXIT_ARGS;
    }
    const char *kind = argv[1];
    const char *const *fields = strcmp(kind, "tasks") == 0       ? f_tasks
                                : strcmp(kind, "templates") == 0 ? f_templates
                                : strcmp(kind, "recordings") == 0 ? f_recordings
                                : strcmp(kind, "replays") == 0   ? f_replays
                                                                 : NULL;
    if (fields == NULL) {
        cli_errf(&err, "cannot list '%s' did you mean 'tasks', 'templates', 'recordings' or 'replays'?", kind);
        return cli_fail(&err);
    }
    json_t *all = json_array();
    if (collect(kind, argc - 2, argv + 2, fields, all, &err) != 0) {
        json_decref(all);
        return cli_fail(&err);
    }
    if (fields == f_tasks)
        list_tasks_print(all);
    else if (fields == f_templates)
        list_templates_print(all);
    else if (fields == f_recordings)
        list_recordings_print(all);
    else
        list_replays_print(all);
    json_decref(all);
    return CLI_EXIT_OK;
}

/* ---- show, show-template ---- */

static void print_time(const char *label, const json_t *o, const char *key)
{
    cli_time_t t;
    char s[64];
    const char *v = cli_jstr(o, key);
    if (!*v)
        v = "0001-01-01T00:00:00Z"; /* Go's zero time */
    if (cli_time_parse(v, &t) == 0)
        cli_time_rfc822(&t, s, sizeof s);
    else
        snprintf(s, sizeof s, "%s", v);
    printf("%s %s\n", label, s);
}

/* The vars table of show (tasks: Name Type Value) and show-template (+ Description). */
static void print_vars(const json_t *vars, bool tmpl)
{
    const char *k, **names = calloc(json_object_size(vars) + 1, sizeof *names);
    json_t *x;
    size_t n = 0;
    if (names == NULL)
        abort();
    json_object_foreach((json_t *)vars, k, x)
    {
        (void)x;
        names[n++] = k;
    }
    qsort(names, n, sizeof *names, cmp_cstr);
    if (tmpl)
        printf("%-30s%-10s%-40s%-40s\n", "Name", "Type", "Default Value", "Description");
    else
        printf("%-30s%-10s%-40s\n", "Name", "Type", "Value");
    for (size_t i = 0; i < n; i++) {
        const json_t *v = json_object_get(vars, names[i]);
        fa_buf_t val = FA_BUF_INIT;
        cli_var_value(&val, cli_jstr(v, "type"), json_object_get(v, "value"), tmpl);
        if (tmpl)
            printf("%-30s%-10s%-40s%-40s\n", names[i], cli_jstr(v, "type"), fa_buf_cstr(&val), cli_jstr(v, "description"));
        else
            printf("%-30s%-10s%-40s\n", names[i], cli_jstr(v, "type"), fa_buf_cstr(&val));
        fa_buf_deinit(&val);
    }
    free(names);
}

static const char *show_replay;
static const cli_flag_t show_flags[] = {
    { "replay", CLI_FLAG_STR, &show_replay, NULL,
      "Optional replay ID. If set the task information is in the context of the running replay." },
    { NULL, 0, NULL, NULL, NULL },
};

void cmd_show_usage(void)
{
    fputs("Usage: farad show [-replay] [task ID]\n\n\tShow details about a specific task.\n\nOptions:\n", stderr);
    cli_flags_print(show_flags);
}

int cmd_show(int argc, char **argv)
{
    json_t *t;
    cli_err_t err;
    int npos, rc;

    show_replay = "";
    if ((rc = cli_flags_parse(show_flags, argc - 1, argv + 1, &npos, cmd_show_usage)) >= 0)
        return rc;
    if (npos != 1) {
        fprintf(stderr, "Must specify one task ID\n");
        cmd_show_usage();
        return CLI_EXIT_ARGS;
    }
    if (get_task(argv[1], show_replay, &t, &err) != 0)
        return cli_fail(&err);
    fa_buf_t d = FA_BUF_INIT;
    print_dbrps(&d, json_object_get(t, "dbrps"));
    printf("ID: %s\n", cli_jstr(t, "id"));
    printf("Error: %s\n", cli_jstr(t, "error"));
    printf("Template: %s\n", cli_jstr(t, "template-id"));
    printf("Type: %s\n", cli_jstr(t, "type"));
    printf("Status: %s\n", cli_jstr(t, "status"));
    printf("Executing: %s\n", cli_jbool(t, "executing") ? "true" : "false");
    print_time("Created:", t, "created");
    print_time("Modified:", t, "modified");
    print_time("LastEnabled:", t, "last-enabled");
    printf("Databases Retention Policies: %s\n", fa_buf_cstr(&d));
    printf("TICKscript:\n%s\n", cli_jstr(t, "script"));
    const json_t *vars = json_object_get(t, "vars");
    if (json_object_size(vars) > 0) {
        printf("Vars:\n");
        print_vars(vars, false);
    }
    printf("DOT:\n%s\n", cli_jstr(t, "dot"));
    fa_buf_deinit(&d);
    json_decref(t);
    return CLI_EXIT_OK;
}

void cmd_show_template_usage(void)
{
    fputs("Usage: farad show-template [template ID]\n\n\tShow details about a specific template.\n", stderr);
}

int cmd_show_template(int argc, char **argv)
{
    json_t *t;
    cli_err_t err;

    if (argc != 2) {
        fprintf(stderr, "Must specify one template ID\n");
        cmd_show_template_usage();
        return CLI_EXIT_ARGS;
    }
    if (get_template(argv[1], &t, &err) != 0)
        return cli_fail(&err);
    printf("ID: %s\n", cli_jstr(t, "id"));
    printf("Error: %s\n", cli_jstr(t, "error"));
    printf("Type: %s\n", cli_jstr(t, "type"));
    print_time("Created:", t, "created");
    print_time("Modified:", t, "modified");
    printf("TICKscript:\n%s\n", cli_jstr(t, "script"));
    printf("Vars:\n");
    print_vars(json_object_get(t, "vars"), true);
    printf("DOT:\n%s\n", cli_jstr(t, "dot"));
    json_decref(t);
    return CLI_EXIT_OK;
}
