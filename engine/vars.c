/* engine/vars.c - Kapacitor's vars JSON turned into the literal texts tick/template.c reads. */
#include "engine/vars.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "base/str.h"

static const struct { const char *name; tick_type_t type; } types[] = {
    { "int", TICK_T_INT },       { "float", TICK_T_FLOAT },   { "bool", TICK_T_BOOL },   { "string", TICK_T_STRING },
    { "regex", TICK_T_REGEX },   { "duration", TICK_T_DURATION }, { "lambda", TICK_T_LAMBDA }, { "list", TICK_T_LIST },
    { "star", TICK_T_STAR },
};

/* ns -> the largest TICKscript unit that divides it ("90s" -> "90s", 1500000000 -> "1500ms") */
static void duration_text(int64_t ns, fa_buf_t *b)
{
    static const struct { const char *u; int64_t ns; } units[] = {
        { "w", 604800000000000 }, { "d", 86400000000000 }, { "h", 3600000000000 }, { "m", 60000000000 },
        { "s", 1000000000 },      { "ms", 1000000 },       { "u", 1000 },
    };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (ns % units[i].ns == 0) {
            fa_buf_appendf(b, "%" PRId64 "%s", ns / units[i].ns, units[i].u);
            return;
        }
    fa_buf_appendf(b, "%" PRId64 "u", ns / 1000); /* TICKscript has no ns literal */
}

/* A TICKscript single-quoted string literal. */
static void quote(const char *s, fa_buf_t *b)
{
    fa_buf_append(b, "'", 1);
    for (; *s; s++) {
        if (*s == '\'' || *s == '\\')
            fa_buf_append(b, "\\", 1);
        fa_buf_append(b, s, 1);
    }
    fa_buf_append(b, "'", 1);
}

static int value_text(const char *name, tick_type_t type, json_t *v, fa_buf_t *b, char *err, size_t errlen)
{
    switch (type) {
    case TICK_T_INT:
        if (!json_is_integer(v))
            goto Bad;
        fa_buf_appendf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return 0;
    case TICK_T_FLOAT:
        if (!json_is_number(v))
            goto Bad;
        fa_buf_appendf(b, "%.17g", json_number_value(v));
        return 0;
    case TICK_T_BOOL:
        if (!json_is_boolean(v))
            goto Bad;
        fa_buf_append_c(b, json_is_true(v) ? "true" : "false");
        return 0;
    case TICK_T_STRING:
    case TICK_T_REGEX:
    case TICK_T_LAMBDA:
        if (!json_is_string(v))
            goto Bad;
        fa_buf_append(b, json_string_value(v), json_string_length(v));
        return 0;
    case TICK_T_DURATION:
        if (json_is_integer(v))
            duration_text(json_integer_value(v), b);
        else if (json_is_string(v))
            fa_buf_append(b, json_string_value(v), json_string_length(v));
        else
            goto Bad;
        return 0;
    case TICK_T_STAR: return 0;
    case TICK_T_LIST: {
        if (!json_is_array(v))
            goto Bad;
        fa_buf_append(b, "[", 1);
        size_t i;
        json_t *item;
        json_array_foreach(v, i, item) {
            const char *t = json_string_value(json_object_get(item, "type"));
            json_t *iv = json_object_get(item, "value");
            if (i != 0)
                fa_buf_append(b, ", ", 2);
            if (t != NULL && strcmp(t, "star") == 0)
                fa_buf_append(b, "*", 1);
            else if (t != NULL && strcmp(t, "string") == 0 && json_is_string(iv))
                quote(json_string_value(iv), b);
            else {
                snprintf(err, errlen, "var %s: list items must be strings or stars", name);
                return -1;
            }
        }
        fa_buf_append(b, "]", 1);
        return 0;
    }
    default: break;
    }
Bad:
    snprintf(err, errlen, "invalid value for var %s of type %s", name, tick_type_str(type));
    return -1;
}

int eng_vars_from_json(const char *json, size_t len, fa_arena_t *a, tick_var_t **out, size_t *n, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *root = json_loadb(json, len, 0, &jerr);
    int rc = -1;
    fa_buf_t text = FA_BUF_INIT;
    if (root == NULL) {
        snprintf(err, errlen, "invalid JSON: %s at line %d column %d", jerr.text, jerr.line, jerr.column);
        return -1;
    }
    if (!json_is_object(root)) {
        snprintf(err, errlen, "vars must be a JSON object");
        goto Exit;
    }
    size_t count = json_object_size(root), i = 0;
    tick_var_t *vars = FA_NEW(a, tick_var_t, count ? count : 1);
    const char *name;
    json_t *var;
    json_object_foreach(root, name, var) {
        const char *tname = json_string_value(json_object_get(var, "type"));
        tick_type_t type = TICK_T_NONE;
        for (size_t k = 0; tname != NULL && k < sizeof types / sizeof types[0]; k++)
            if (strcmp(types[k].name, tname) == 0)
                type = types[k].type;
        if (type == TICK_T_NONE) {
            snprintf(err, errlen, "invalid var type \"%s\" for var %s", tname ? tname : "", name);
            goto Exit;
        }
        fa_buf_clear(&text);
        if (value_text(name, type, json_object_get(var, "value"), &text, err, errlen) != 0)
            goto Exit;
        vars[i].name = fa_arena_strndup(a, name, strlen(name));
        vars[i].type = type;
        vars[i].value = fa_arena_strndup(a, fa_buf_cstr(&text), text.len);
        i++;
    }
    *out = vars;
    *n = i;
    rc = 0;
Exit:
    fa_buf_deinit(&text);
    json_decref(root);
    return rc;
}
