/* cmd/farad/cli_flag.c - flags as Go's flag package reads them (the kapacitor CLI uses it), except
 * that flags may also follow positional arguments ("--" ends the flags). */
#include "cmd/farad/cli.h"

#include <string.h>

static const cli_flag_t *find(const cli_flag_t *flags, const char *name, size_t len)
{
    for (; flags->name != NULL; flags++)
        if (strlen(flags->name) == len && strncmp(flags->name, name, len) == 0)
            return flags;
    return NULL;
}

static int parse_bool(const char *s, bool *out)
{
    static const char *const t[] = { "1", "t", "T", "true", "TRUE", "True", NULL };
    static const char *const f[] = { "0", "f", "F", "false", "FALSE", "False", NULL };
    for (int i = 0; t[i]; i++) {
        if (strcmp(s, t[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcmp(s, f[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return -1;
}

static int bad(void (*usage)(void), const char *fmt, const char *a, const char *b, const char *c)
{
    fprintf(stderr, fmt, a, b, c);
    fputc('\n', stderr);
    if (usage != NULL)
        usage();
    return CLI_EXIT_ARGS;
}

/* One flag at args[*i]; advances *i past a separate value. Returns -1 or an exit code. */
static int one(const cli_flag_t *flags, int n, char **args, int *i, void (*usage)(void))
{
    const char *a = args[*i] + 1;
    if (*a == '-')
        a++;
    const char *eq = strchr(a, '=');
    size_t len = eq ? (size_t)(eq - a) : strlen(a);
    const cli_flag_t *f = find(flags, a, len);
    char msg[512];

    if (f == NULL) {
        if ((len == 1 && *a == 'h') || (len == 4 && strncmp(a, "help", 4) == 0)) {
            if (usage != NULL)
                usage();
            return CLI_EXIT_OK;
        }
        snprintf(msg, sizeof msg, "%.*s", (int)len, a);
        return bad(usage, "flag provided but not defined: -%s%s%s", msg, "", "");
    }
    if (f->kind == CLI_FLAG_BOOL) {
        bool v = true;
        if (eq != NULL && parse_bool(eq + 1, &v) != 0)
            return bad(usage, "invalid boolean value \"%s\" for -%s: parse error%s", eq + 1, f->name, "");
        *(bool *)f->dst = v;
        return -1;
    }
    const char *val = eq ? eq + 1 : NULL;
    if (val == NULL) {
        if (*i + 1 >= n)
            return bad(usage, "flag needs an argument: -%s%s%s", f->name, "", "");
        val = args[++*i];
    }
    if (f->kind == CLI_FLAG_STR) {
        *(const char **)f->dst = val;
        return -1;
    }
    if (f->set(f->dst, val, msg, sizeof msg) != 0)
        return bad(usage, "invalid value \"%s\" for flag -%s: %s", val, f->name, msg);
    return -1;
}

int cli_flags_parse(const cli_flag_t *flags, int n, char **args, int *npos, void (*usage)(void))
{
    int pos = 0, i;
    for (i = 0; i < n; i++) {
        const char *a = args[i];
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (a[0] != '-' || a[1] == '\0') {
            args[pos++] = args[i];
            continue;
        }
        int rc = one(flags, n, args, &i, usage);
        if (rc >= 0)
            return rc;
    }
    for (; i < n; i++)
        args[pos++] = args[i];
    *npos = pos;
    return -1;
}

void cli_flags_print(const cli_flag_t *flags)
{
    for (; flags->name != NULL; flags++) {
        if (flags->kind == CLI_FLAG_BOOL)
            fprintf(stderr, "  -%s\n", flags->name);
        else
            fprintf(stderr, "  -%s string\n", flags->name);
        fprintf(stderr, "    \t%s\n", flags->help ? flags->help : "");
    }
}
