/* cmd/farad/cli_json.c - request bodies written as Go's encoding/json writes them, Kapacitor's
 * vars object, and a YAML reader for `define -file task.yaml`. */
#include "cmd/farad/cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* ---- writer ---- */

void cli_jw_init(cli_jw_t *w, fa_buf_t *b)
{
    w->b = b;
    w->depth = 0;
    w->comma[0] = false;
}

/* A comma before a value unless it follows a key or opens its container. */
static void before_value(cli_jw_t *w)
{
    if (w->comma[w->depth])
        fa_buf_append(w->b, ",", 1);
    w->comma[w->depth] = true;
}

static void jw_open(cli_jw_t *w, char c)
{
    before_value(w);
    fa_buf_append(w->b, &c, 1);
    if (w->depth + 1 < (int)(sizeof w->comma / sizeof w->comma[0]))
        w->depth++;
    w->comma[w->depth] = false;
}

void cli_jw_obj(cli_jw_t *w) { jw_open(w, '{'); }
void cli_jw_arr(cli_jw_t *w) { jw_open(w, '['); }

void cli_jw_end(cli_jw_t *w, char close)
{
    if (w->depth > 0)
        w->depth--;
    fa_buf_append(w->b, &close, 1);
}

static void put_string(fa_buf_t *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    fa_buf_append(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char c = *p;
        if (c == '"' || c == '\\') {
            char e[2] = { '\\', (char)c };
            fa_buf_append(b, e, 2);
        } else if (c == '\n') {
            fa_buf_append(b, "\\n", 2);
        } else if (c == '\r') {
            fa_buf_append(b, "\\r", 2);
        } else if (c == '\t') {
            fa_buf_append(b, "\\t", 2);
        } else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
            char e[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
            fa_buf_append(b, e, 6);
        } else if (c == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9)) {
            fa_buf_append_c(b, p[2] == 0xa8 ? "\\u2028" : "\\u2029");
            p += 2;
        } else {
            fa_buf_append(b, p, 1);
        }
    }
    fa_buf_append(b, "\"", 1);
}

void cli_jw_key(cli_jw_t *w, const char *k)
{
    before_value(w);
    put_string(w->b, k);
    fa_buf_append(w->b, ":", 1);
    w->comma[w->depth] = false; /* the value follows without a comma */
}

void cli_jw_str(cli_jw_t *w, const char *s)
{
    before_value(w);
    put_string(w->b, s);
}

void cli_jw_int(cli_jw_t *w, long long v)
{
    before_value(w);
    fa_buf_appendf(w->b, "%lld", v);
}

void cli_jw_bool(cli_jw_t *w, bool v)
{
    before_value(w);
    fa_buf_append_c(w->b, v ? "true" : "false");
}

void cli_jw_null(cli_jw_t *w)
{
    before_value(w);
    fa_buf_append_c(w->b, "null");
}

void cli_jw_raw(cli_jw_t *w, const char *json, size_t len)
{
    before_value(w);
    fa_buf_append(w->b, json, len);
}

static int cmp_keys(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

/* The keys of an object, sorted bytewise (Go marshals maps so). Caller frees. */
static const char **sorted_keys(const json_t *o, size_t *n)
{
    const char *k;
    const json_t *v;
    size_t i = 0;
    const char **keys = calloc(json_object_size(o) + 1, sizeof *keys);
    if (keys == NULL)
        abort();
    json_object_foreach((json_t *)o, k, v)
    {
        (void)v;
        keys[i++] = k;
    }
    qsort(keys, i, sizeof *keys, cmp_keys);
    *n = i;
    return keys;
}

void cli_jw_value(cli_jw_t *w, const json_t *v)
{
    char num[64];
    size_t n, i;

    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char **keys = sorted_keys(v, &n);
        cli_jw_obj(w);
        for (i = 0; i < n; i++) {
            cli_jw_key(w, keys[i]);
            cli_jw_value(w, json_object_get(v, keys[i]));
        }
        cli_jw_end(w, '}');
        free(keys);
        break;
    }
    case JSON_ARRAY:
        cli_jw_arr(w);
        for (i = 0; i < json_array_size(v); i++)
            cli_jw_value(w, json_array_get(v, i));
        cli_jw_end(w, ']');
        break;
    case JSON_STRING:
        cli_jw_str(w, json_string_value(v));
        break;
    case JSON_INTEGER:
        cli_jw_int(w, json_integer_value(v));
        break;
    case JSON_REAL:
        cli_go_float_json(num, sizeof num, json_real_value(v));
        before_value(w);
        fa_buf_append_c(w->b, num);
        break;
    case JSON_TRUE:
    case JSON_FALSE:
        cli_jw_bool(w, json_is_true(v));
        break;
    default:
        cli_jw_null(w);
    }
}

void cli_jw_finish(cli_jw_t *w) { fa_buf_append(w->b, "\n", 1); }

/* ---- Go float formatting ---- */

/* The shortest %.*e that reads back as v: digits in m (no dot), decimal exponent in *exp. */
static void shortest(double v, char *m, size_t n, int *exp)
{
    char buf[64];
    for (int p = 0; p < 17; p++) {
        snprintf(buf, sizeof buf, "%.*e", p, v);
        if (strtod(buf, NULL) == v || p == 16)
            break;
    }
    char *e = strchr(buf, 'e');
    *exp = atoi(e + 1);
    size_t j = 0;
    for (char *p = buf; p < e && j + 1 < n; p++)
        if (*p >= '0' && *p <= '9')
            m[j++] = *p;
    m[j] = '\0';
    while (j > 1 && m[j - 1] == '0') /* %.*e may pad with zeros at p == 16 */
        m[--j] = '\0';
}

/* digits d.ddd × 10^exp as Go's %e: mantissa, then e±XX with at least two digits */
static void fmt_e(char *out, size_t n, bool neg, const char *m, int exp, bool json)
{
    size_t nd = strlen(m);
    int ae = exp < 0 ? -exp : exp;
    snprintf(out, n, "%s%c%s%.*s%c%c%s%d", neg ? "-" : "", m[0], nd > 1 ? "." : "", (int)(nd - 1), m + 1, 'e',
             exp < 0 ? '-' : '+', (!json && ae < 10) ? "0" : "", ae);
}

static void fmt_f(char *out, size_t n, bool neg, const char *m, int exp)
{
    size_t nd = strlen(m), o = 0;
    char buf[400];
    if (neg)
        buf[o++] = '-';
    if (exp < 0) {
        buf[o++] = '0';
        buf[o++] = '.';
        for (int i = -1; i > exp; i--)
            buf[o++] = '0';
        for (size_t i = 0; i < nd; i++)
            buf[o++] = m[i];
    } else {
        for (int i = 0; i <= exp; i++)
            buf[o++] = (size_t)i < nd ? m[i] : '0';
        if ((size_t)exp + 1 < nd) {
            buf[o++] = '.';
            for (size_t i = (size_t)exp + 1; i < nd; i++)
                buf[o++] = m[i];
        }
    }
    buf[o] = '\0';
    snprintf(out, n, "%s", buf);
}

void cli_go_float_v(char *out, size_t n, double v)
{
    char m[32];
    int exp;
    if (isnan(v) || isinf(v)) {
        snprintf(out, n, "%s", isnan(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf");
        return;
    }
    if (v == 0) {
        snprintf(out, n, "%s", signbit(v) ? "-0" : "0");
        return;
    }
    shortest(fabs(v), m, sizeof m, &exp);
    if (exp < -4 || exp >= 6) /* strconv 'g' with the shortest precision */
        fmt_e(out, n, v < 0, m, exp, false);
    else
        fmt_f(out, n, v < 0, m, exp);
}

void cli_go_float_json(char *out, size_t n, double v)
{
    char m[32];
    int exp;
    double a = fabs(v);
    if (v == 0 || isnan(v) || isinf(v)) {
        snprintf(out, n, "0");
        return;
    }
    shortest(a, m, sizeof m, &exp);
    if (a < 1e-6 || a >= 1e21)
        fmt_e(out, n, v < 0, m, exp, true);
    else
        fmt_f(out, n, v < 0, m, exp);
}

/* ---- Kapacitor's vars object ---- */

static const char *const var_types[] = { "bool", "int", "float", "string", "regex", "duration", "lambda", "list", "star", NULL };

static bool known_type(const char *t)
{
    for (int i = 0; var_types[i]; i++)
        if (strcmp(t, var_types[i]) == 0)
            return true;
    return false;
}

/* The value of one var, converted as Kapacitor's client.Vars decoding does. */
static int var_value(cli_jw_t *w, const char *name, const char *type, const json_t *v, cli_err_t *err)
{
    if (v == NULL || json_is_null(v)) {
        cli_jw_null(w);
        return 0;
    }
    if (strcmp(type, "duration") == 0) {
        int64_t ns;
        if (json_is_integer(v)) {
            cli_jw_int(w, json_integer_value(v));
            return 0;
        }
        if (!json_is_string(v))
            return cli_errf(err, "invalid var %s: expected int or string value", name);
        if (fa_duration_parse(fa_str_c(json_string_value(v)), FA_DUR_INFLUXQL_PARSE, &ns) != 0)
            return cli_errf(err, "invalid duration string for var %s: invalid duration %s", name, json_string_value(v));
        cli_jw_int(w, ns);
        return 0;
    }
    if (strcmp(type, "int") == 0) {
        if (!json_is_integer(v))
            return cli_errf(err, "invalid var %s: expected int value", name);
        cli_jw_int(w, json_integer_value(v));
        return 0;
    }
    if (strcmp(type, "float") == 0) {
        if (!json_is_number(v))
            return cli_errf(err, "invalid var %s: expected float value", name);
        cli_jw_value(w, v);
        return 0;
    }
    if (strcmp(type, "list") == 0) {
        size_t i;
        if (!json_is_array(v))
            return cli_errf(err, "invalid var %s: expected list of vars", name);
        cli_jw_arr(w);
        for (i = 0; i < json_array_size(v); i++) {
            const json_t *item = json_array_get(v, i);
            const json_t *it = json_object_get(item, "type");
            if (!json_is_object(item))
                return cli_errf(err, "invalid var %s: expected list of vars", name);
            if (!json_is_string(it))
                return cli_errf(err, "invalid var %s: expected list type key in object", name);
            if (!known_type(json_string_value(it)))
                return cli_errf(err, "unknown VarType %s", json_string_value(it));
            if (json_object_get(item, "value") == NULL)
                return cli_errf(err, "invalid var %s: expected list value key in object", name);
            cli_jw_obj(w);
            cli_jw_key(w, "type");
            cli_jw_str(w, json_string_value(it));
            cli_jw_key(w, "value");
            cli_jw_value(w, json_object_get(item, "value"));
            cli_jw_key(w, "description");
            cli_jw_str(w, cli_jstr(item, "description"));
            cli_jw_end(w, '}');
        }
        cli_jw_end(w, ']');
        return 0;
    }
    cli_jw_value(w, v);
    return 0;
}

int cli_vars_write(cli_jw_t *w, const json_t *vars, cli_err_t *err)
{
    size_t n, i;
    char num[64];

    if (!json_is_object(vars))
        return cli_errf(err, "vars must be a JSON object of {\"type\", \"value\"} objects");
    const char **keys = sorted_keys(vars, &n);
    cli_jw_obj(w);
    for (i = 0; i < n; i++) {
        const json_t *var = json_object_get(vars, keys[i]);
        const char *type = cli_jstr(var, "type");
        if (!json_is_object(var) || !known_type(type)) {
            if (!json_is_object(var))
                cli_errf(err, "invalid var %s: expected an object with type and value", keys[i]);
            else
                cli_errf(err, "invalid var %s: unknown VarType %s", keys[i], *type ? type : "(missing)");
            free(keys);
            return -1;
        }
        cli_jw_key(w, keys[i]);
        cli_jw_obj(w);
        cli_jw_key(w, "type");
        cli_jw_str(w, type);
        cli_jw_key(w, "value");
        const json_t *v = json_object_get(var, "value");
        if (strcmp(type, "float") == 0 && json_is_integer(v)) { /* 90 read as float64 stays 90 */
            cli_go_float_json(num, sizeof num, (double)json_integer_value(v));
            before_value(w);
            fa_buf_append_c(w->b, num);
        } else if (var_value(w, keys[i], type, v, err) != 0) {
            free(keys);
            return -1;
        }
        cli_jw_key(w, "description");
        cli_jw_str(w, cli_jstr(var, "description"));
        cli_jw_end(w, '}');
    }
    cli_jw_end(w, '}');
    free(keys);
    return 0;
}

/* ---- YAML to JSON ---- */

typedef struct yreader {
    yaml_parser_t p;
    const char *what;
    cli_err_t *err;
} yreader_t;

static json_t *y_node(yreader_t *r, yaml_event_t *ev);

static int y_next(yreader_t *r, yaml_event_t *ev)
{
    if (!yaml_parser_parse(&r->p, ev))
        return cli_errf(r->err, "failed to unmarshal yaml file %s: line %zu: %s", r->what,
                        r->p.problem_mark.line + 1, r->p.problem ? r->p.problem : "syntax error");
    return 0;
}

static json_t *y_scalar(const yaml_event_t *ev)
{
    const char *s = (const char *)ev->data.scalar.value;
    char *end;
    if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return json_string(s);
    if (*s == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0)
        return json_null();
    if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0)
        return json_true();
    if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0)
        return json_false();
    long long i = strtoll(s, &end, 10);
    if (*end == '\0')
        return json_integer(i);
    double d = strtod(s, &end);
    if (*end == '\0' && strspn(s, "+-0123456789.eE") == strlen(s))
        return json_real(d);
    return json_string(s);
}

static json_t *y_mapping(yreader_t *r)
{
    json_t *o = json_object();
    yaml_event_t ev;
    for (;;) {
        if (y_next(r, &ev) != 0)
            goto Error;
        if (ev.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&ev);
            return o;
        }
        if (ev.type != YAML_SCALAR_EVENT) {
            yaml_event_delete(&ev);
            cli_errf(r->err, "failed to unmarshal yaml file %s: keys must be scalars", r->what);
            goto Error;
        }
        char *key = strdup((const char *)ev.data.scalar.value);
        yaml_event_delete(&ev);
        if (y_next(r, &ev) != 0) {
            free(key);
            goto Error;
        }
        json_t *v = y_node(r, &ev);
        if (v == NULL) {
            free(key);
            goto Error;
        }
        json_object_set_new(o, key, v);
        free(key);
    }
Error:
    json_decref(o);
    return NULL;
}

static json_t *y_sequence(yreader_t *r)
{
    json_t *a = json_array();
    yaml_event_t ev;
    for (;;) {
        if (y_next(r, &ev) != 0)
            goto Error;
        if (ev.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&ev);
            return a;
        }
        json_t *v = y_node(r, &ev);
        if (v == NULL)
            goto Error;
        json_array_append_new(a, v);
    }
Error:
    json_decref(a);
    return NULL;
}

/* Consumes the node that starts with *ev (and deletes ev). */
static json_t *y_node(yreader_t *r, yaml_event_t *ev)
{
    json_t *v = NULL;
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        v = y_scalar(ev);
        break;
    case YAML_MAPPING_START_EVENT:
        v = y_mapping(r);
        break;
    case YAML_SEQUENCE_START_EVENT:
        v = y_sequence(r);
        break;
    default:
        cli_errf(r->err, "failed to unmarshal yaml file %s: line %zu: aliases are not supported", r->what,
                 ev->start_mark.line + 1);
    }
    yaml_event_delete(ev);
    return v;
}

json_t *cli_yaml_load(const char *text, size_t len, const char *what, cli_err_t *err)
{
    yreader_t r = { .what = what, .err = err };
    yaml_event_t ev;
    json_t *doc = NULL;

    yaml_parser_initialize(&r.p);
    yaml_parser_set_input_string(&r.p, (const unsigned char *)text, len);
    for (int guard = 0; guard < 4 && doc == NULL; guard++) { /* stream start, document start, node */
        if (y_next(&r, &ev) != 0)
            goto Exit;
        if (ev.type == YAML_STREAM_START_EVENT || ev.type == YAML_DOCUMENT_START_EVENT) {
            yaml_event_delete(&ev);
            continue;
        }
        if (ev.type == YAML_STREAM_END_EVENT || ev.type == YAML_DOCUMENT_END_EVENT) {
            yaml_event_delete(&ev);
            doc = json_object(); /* an empty file is an empty mapping */
            break;
        }
        if ((doc = y_node(&r, &ev)) == NULL)
            goto Exit;
    }
Exit:
    yaml_parser_delete(&r.p);
    return doc;
}
