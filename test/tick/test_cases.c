/* test/tick/test_cases.c - the golden corpus: every test/tick/cases/NAME.tick is rendered
 * (case_render.h) and compared with NAME.expect; valid scripts must also format idempotently. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "test/tick/case_render.h"
#include "tick/schema.h"

#define CASES_DIR FARAD_SOURCE_DIR "/test/tick/cases"

struct tick_case {
    char name[96];
};

static void free_cases(struct criterion_test_params *p) { cr_free(p->params); }

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct tick_case *)a)->name, ((const struct tick_case *)b)->name);
}

ParameterizedTestParameters(tick_cases, golden)
{
    size_t n = 0, cap = 256;
    struct tick_case *cases = cr_malloc(sizeof *cases * cap);
    DIR *d = opendir(CASES_DIR);
    struct dirent *de;

    while (d && (de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len < 6 || strcmp(de->d_name + len - 5, ".tick") != 0 || len - 5 >= sizeof cases->name || n == cap)
            continue;
        snprintf(cases[n].name, sizeof cases[n].name, "%.*s", (int)(len - 5), de->d_name);
        n++;
    }
    if (d)
        closedir(d);
    qsort(cases, n, sizeof *cases, by_name);
    return cr_make_param_array(struct tick_case, cases, n, free_cases);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;

    cr_assert_not_null(f, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* format(parse(format(x))) == format(x) */
static void assert_idempotent(const char *name, const char *src, size_t len)
{
    fa_arena_t a;
    tick_ast_t *ast;
    tick_err_t err;
    fa_buf_t once = FA_BUF_INIT, twice = FA_BUF_INIT;

    fa_arena_init(&a, 8192, 0);
    if (tick_parse(src, len, &a, &ast, &err) == 0) {
        cr_assert_eq(tick_format(ast, &once), 0);
        cr_assert_eq(tick_parse(once.ptr, once.len, &a, &ast, &err), 0, "%s: formatted text does not parse: %s", name, err.msg);
        cr_assert_eq(tick_format(ast, &twice), 0);
        cr_assert_str_eq(fa_buf_cstr(&twice), fa_buf_cstr(&once), "%s: formatting is not idempotent", name);
    }
    fa_buf_deinit(&once);
    fa_buf_deinit(&twice);
    fa_arena_deinit(&a);
}

ParameterizedTest(struct tick_case *c, tick_cases, golden)
{
    char path[512];
    size_t slen, elen;
    fa_buf_t got = FA_BUF_INIT;

    snprintf(path, sizeof path, "%s/%s.tick", CASES_DIR, c->name);
    char *src = slurp(path, &slen);
    snprintf(path, sizeof path, "%s/%s.expect", CASES_DIR, c->name);
    char *exp = slurp(path, &elen);
    cr_assert_eq(case_render(src, slen, &got), 0, "%s: rendering failed", c->name);
    cr_assert_str_eq(fa_buf_cstr(&got), exp, "%s: output differs from %s.expect", c->name, c->name);
    assert_idempotent(c->name, src, slen);
    fa_buf_deinit(&got);
    free(src);
    free(exp);
}

/* The corpus is big enough and names every node type of the schema at least once. */
Test(tick_cases, corpus_covers_every_node_type)
{
    DIR *d = opendir(CASES_DIR);
    struct dirent *de;
    size_t ncases = 0, nspecs;
    fa_buf_t all = FA_BUF_INIT;

    cr_assert_not_null(d);
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name), n;
        char path[512];
        if (len < 6 || strcmp(de->d_name + len - 5, ".tick") != 0)
            continue;
        ncases++;
        snprintf(path, sizeof path, "%s/%s", CASES_DIR, de->d_name);
        char *src = slurp(path, &n);
        fa_buf_append(&all, src, n);
        free(src);
    }
    closedir(d);
    cr_assert_geq(ncases, 80);
    const char *text = fa_buf_cstr(&all);
    const tick_node_spec_t *specs = tick_schema_nodes(&nspecs);
    cr_assert_gt(nspecs, 50);
    for (size_t i = 0; i < nspecs; i++) {
        char pat[64];
        if (specs[i].flags & TICK_NF_SOURCE)
            snprintf(pat, sizeof pat, "%s\n", specs[i].name);
        else
            snprintf(pat, sizeof pat, "|%s(", specs[i].name);
        cr_expect_not_null(strstr(text, pat), "no corpus case uses %s", pat);
    }
    cr_expect_not_null(strstr(text, "@"), "no corpus case calls a UDF");
    fa_buf_deinit(&all);
}
