/* engine/loaddir.c - reads Kapacitor's [load] directory into eng_load_t (defs.h). Runs on a thread
 * that may block (main at start and on SIGHUP); the API thread applies the result. YAML task files
 * are turned into the same JSON tree as .json ones (libyaml's document API; plain scalars that
 * look like numbers, booleans or null get those types, as YAML 1.1 says). */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "base/log.h"
#include "engine/defs.h"

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    fa_buf_t b = FA_BUF_INIT;
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && b.len < (16u << 20))
        fa_buf_append(&b, chunk, n);
    fclose(f);
    char *s = strndup(b.ptr ? b.ptr : "", b.len);
    *len = b.len;
    fa_buf_deinit(&b);
    return s;
}

static json_t *yaml_scalar(const yaml_node_t *n)
{
    const char *s = (const char *)n->data.scalar.value;
    size_t len = n->data.scalar.length;
    if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return json_stringn(s, len);
    if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 || strcmp(s, "TRUE") == 0)
        return json_true();
    if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0 || strcmp(s, "FALSE") == 0)
        return json_false();
    if (len == 0 || strcmp(s, "null") == 0 || strcmp(s, "~") == 0)
        return json_null();
    char *end;
    errno = 0;
    long long i = strtoll(s, &end, 10);
    if (*end == '\0' && errno == 0)
        return json_integer(i);
    double d = strtod(s, &end);
    if (*end == '\0')
        return json_real(d);
    return json_stringn(s, len);
}

static json_t *yaml_to_json(yaml_document_t *doc, yaml_node_t *n, int depth)
{
    if (n == NULL || depth > 32)
        return json_null();
    switch (n->type) {
    case YAML_SCALAR_NODE: return yaml_scalar(n);
    case YAML_SEQUENCE_NODE: {
        json_t *a = json_array();
        for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++)
            json_array_append_new(a, yaml_to_json(doc, yaml_document_get_node(doc, *it), depth + 1));
        return a;
    }
    case YAML_MAPPING_NODE: {
        json_t *o = json_object();
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
            yaml_node_t *k = yaml_document_get_node(doc, p->key);
            if (k == NULL || k->type != YAML_SCALAR_NODE)
                continue;
            json_object_set_new(o, (const char *)k->data.scalar.value,
                                yaml_to_json(doc, yaml_document_get_node(doc, p->value), depth + 1));
        }
        return o;
    }
    default: return json_null();
    }
}

static json_t *parse_yaml(const char *text, size_t len, char *err, size_t errlen)
{
    yaml_parser_t p;
    yaml_document_t doc;
    yaml_parser_initialize(&p);
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    json_t *j = NULL;
    if (!yaml_parser_load(&p, &doc)) {
        snprintf(err, errlen, "line %zu: %s", p.problem_mark.line + 1, p.problem ? p.problem : "invalid YAML");
    } else {
        j = yaml_to_json(&doc, yaml_document_get_root_node(&doc), 0);
        yaml_document_delete(&doc);
    }
    yaml_parser_delete(&p);
    return j;
}

/* A template task from a JSON tree; 0 or -1 with err. */
static int task_from_tree(json_t *j, eng_load_task_t *t, char *err, size_t errlen)
{
    if (!json_is_object(j)) {
        snprintf(err, errlen, "expected a mapping with template-id, dbrps and vars");
        return -1;
    }
    const char *id = json_string_value(json_object_get(j, "id"));
    const char *tid = json_string_value(json_object_get(j, "template-id"));
    if (tid == NULL)
        tid = json_string_value(json_object_get(j, "template_id"));
    if (tid == NULL || *tid == '\0') {
        snprintf(err, errlen, "missing template-id");
        return -1;
    }
    if (id != NULL && *id) {
        free(t->id);
        t->id = strdup(id);
    }
    t->template_id = strdup(tid);
    json_t *dbrps = json_object_get(j, "dbrps");
    size_t n = json_is_array(dbrps) ? json_array_size(dbrps) : 0;
    t->dbrps = calloc(n ? n : 1, sizeof(*t->dbrps));
    for (size_t i = 0; i < n; i++) {
        json_t *it = json_array_get(dbrps, i);
        const char *db = json_string_value(json_object_get(it, "db")), *rp = json_string_value(json_object_get(it, "rp"));
        if (db == NULL || rp == NULL) {
            snprintf(err, errlen, "dbrps item %zu: needs db and rp", i);
            return -1;
        }
        t->dbrps[t->n_dbrps++] = (eng_dbrp_t){ fa_str_c(strdup(db)), fa_str_c(strdup(rp)) };
    }
    json_t *vars = json_object_get(j, "vars");
    if (json_is_object(vars))
        t->vars = json_dumps(vars, JSON_COMPACT | JSON_PRESERVE_ORDER);
    return 0;
}

static int name_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static bool ends_with(const char *s, const char *suf, size_t *stem)
{
    size_t n = strlen(s), k = strlen(suf);
    if (n <= k || strcmp(s + n - k, suf) != 0)
        return false;
    *stem = n - k;
    return true;
}

/* File names in dir, sorted; NULL-terminated array, or NULL when dir cannot be read. */
static char **list_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return NULL;
    char **names = calloc(1, sizeof(*names));
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL && n < 100000;) {
        if (e->d_name[0] == '.')
            continue;
        names = realloc(names, sizeof(*names) * (n + 2));
        names[n++] = strdup(e->d_name);
        names[n] = NULL;
    }
    closedir(d);
    qsort(names, n, sizeof(*names), name_cmp);
    return names;
}

static eng_load_task_t *push(eng_load_task_t **arr, uint32_t *n)
{
    *arr = realloc(*arr, sizeof(**arr) * (*n + 1));
    eng_load_task_t *t = &(*arr)[(*n)++];
    memset(t, 0, sizeof(*t));
    return t;
}

static void task_clear(eng_load_task_t *t)
{
    free(t->id);
    free(t->path);
    free(t->script);
    free(t->template_id);
    free(t->vars);
    for (uint32_t i = 0; i < t->n_dbrps; i++) {
        free((char *)t->dbrps[i].db.ptr);
        free((char *)t->dbrps[i].rp.ptr);
    }
    free(t->dbrps);
}

static void read_templates(eng_load_t *l, const char *dir)
{
    char sub[4096];
    snprintf(sub, sizeof sub, "%s/templates", dir);
    char **names = list_dir(sub);
    for (size_t i = 0; names != NULL && names[i] != NULL; i++) {
        size_t stem, len;
        if (ends_with(names[i], ".tick", &stem)) {
            char path[8192];
            snprintf(path, sizeof path, "%s/%s", sub, names[i]);
            char *text = read_file(path, &len);
            if (text == NULL) {
                FA_LOG(FA_ERROR, "load: %s: %s", path, strerror(errno));
            } else {
                eng_load_task_t *t = push(&l->templates, &l->n_templates);
                t->id = strndup(names[i], stem);
                t->path = strdup(path);
                t->script = text;
            }
        }
        free(names[i]);
    }
    free(names);
}

static void read_tasks(eng_load_t *l, const char *sub, char **names)
{
    for (size_t i = 0; names[i] != NULL; i++) {
        size_t stem, len;
        bool tick = ends_with(names[i], ".tick", &stem), json = !tick && ends_with(names[i], ".json", &stem);
        bool yaml = !tick && !json && (ends_with(names[i], ".yaml", &stem) || ends_with(names[i], ".yml", &stem));
        if (!tick && !json && !yaml)
            continue;
        char path[8192], err[300];
        snprintf(path, sizeof path, "%s/%s", sub, names[i]);
        char *text = read_file(path, &len);
        if (text == NULL) {
            FA_LOG(FA_ERROR, "load: %s: %s", path, strerror(errno));
            continue;
        }
        eng_load_task_t *t = push(&l->tasks, &l->n_tasks);
        t->id = strndup(names[i], stem);
        t->path = strdup(path);
        if (tick) {
            t->script = text;
            continue;
        }
        json_t *j;
        if (json) {
            json_error_t je;
            j = json_loadb(text, len, 0, &je);
            if (j == NULL)
                snprintf(err, sizeof err, "line %d column %d: %s", je.line, je.column, je.text);
        } else
            j = parse_yaml(text, len, err, sizeof err);
        free(text);
        if (j == NULL || task_from_tree(j, t, err, sizeof err) != 0) {
            FA_LOG(FA_ERROR, "load: %s: %s", path, err);
            task_clear(t);
            l->n_tasks--;
        }
        json_decref(j);
    }
}

eng_load_t *eng_load_read(const char *dir, char *err, size_t errlen)
{
    char sub[4096];
    snprintf(sub, sizeof sub, "%s/tasks", dir);
    char **names = list_dir(sub);
    if (names == NULL) {
        char top[4096];
        snprintf(top, sizeof top, "%s/templates", dir);
        DIR *d = opendir(top);
        if (d == NULL) {
            snprintf(err, errlen, "load.dir: cannot read %s: %s", sub, strerror(errno));
            return NULL;
        }
        closedir(d);
    }
    eng_load_t *l = calloc(1, sizeof(*l));
    l->dir = strdup(dir);
    read_templates(l, dir);
    if (names != NULL) {
        read_tasks(l, sub, names);
        for (size_t i = 0; names[i] != NULL; i++)
            free(names[i]);
        free(names);
    }
    return l;
}

void eng_load_free(eng_load_t *l)
{
    if (l == NULL)
        return;
    for (uint32_t i = 0; i < l->n_templates; i++)
        task_clear(&l->templates[i]);
    for (uint32_t i = 0; i < l->n_tasks; i++)
        task_clear(&l->tasks[i]);
    free(l->templates);
    free(l->tasks);
    free(l->dir);
    free(l);
}
