/* cmd/farad/test.c - `farad test`: runs a TICKscript on a file of line protocol, offline, and prints
 * what the task emits in time order: points at the end of the pipeline (and influxDBOut's) as line
 * protocol, alert events as JSON, log()/httpOut output as their text. One line each, on stdout. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/duration.h"
#include "base/str.h"
#include "cmd/farad/farad.h"
#include "engine/lp.h"
#include "engine/runner.h"

static void usage(FILE *f)
{
    fputs("usage: farad test -tick FILE -data FILE [-dbrp DB.RP] [-precision n|u|ms|s|m|h] [-real-clock]\n"
          "                  [-idle-flush DURATION]\n"
          "  -tick FILE         the TICKscript (its dbrp lines, if any, say which data it reads)\n"
          "  -data FILE         line protocol; points are fed in time order (stable for equal times)\n"
          "  -dbrp DB.RP        the database and retention policy the data was written to\n"
          "                     (default: the script's first dbrp)\n"
          "  -precision P       of the data's timestamps (default n)\n"
          "  -real-clock        wait between points as long as their times differ\n"
          "  -idle-flush D      let data time pass every D (10s, 1m ...) in gaps longer than D, and\n"
          "                     once after the last point: windows and deadman fire as with the\n"
          "                     daemon's idle flush\n",
          f);
}

/* Reads a whole file; NULL with a message on stderr. */
static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "farad test: cannot open %s: %s\n", path, strerror(errno));
        return NULL;
    }
    fa_buf_t b = FA_BUF_INIT;
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (fa_buf_append(&b, chunk, n) != 0) {
            fprintf(stderr, "farad test: %s: out of memory\n", path);
            fclose(f);
            fa_buf_deinit(&b);
            return NULL;
        }
    bool bad = ferror(f);
    fclose(f);
    if (bad) {
        fprintf(stderr, "farad test: cannot read %s\n", path);
        fa_buf_deinit(&b);
        return NULL;
    }
    fa_buf_cstr(&b);
    *len = b.len;
    return b.ptr != NULL ? b.ptr : calloc(1, 1);
}

static void print_line(void *ud, eng_node_t *n, fa_str_t kind, fa_str_t text)
{
    fwrite(text.ptr, 1, text.len, stdout);
    fputc('\n', stdout);
}

struct args {
    const char *tick, *data, *dbrp, *precision;
    bool real_clock;
    int64_t idle_flush;
};

static int parse_args(int argc, char **argv, struct args *a)
{
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i] + (argv[i][0] == '-' && argv[i][1] == '-');
        if (strcmp(f, "-h") == 0 || strcmp(f, "-help") == 0) {
            usage(stdout);
            exit(0);
        }
        if (strcmp(f, "-real-clock") == 0) {
            a->real_clock = true;
            continue;
        }
        const char **dst = strcmp(f, "-tick") == 0 ? &a->tick
                         : strcmp(f, "-data") == 0 ? &a->data
                         : strcmp(f, "-dbrp") == 0 ? &a->dbrp
                         : strcmp(f, "-precision") == 0 ? &a->precision : NULL;
        bool idle = strcmp(f, "-idle-flush") == 0;
        if ((dst == NULL && !idle) || i + 1 >= argc) {
            fprintf(stderr, "farad test: %s: %s\n", argv[i], dst == NULL && !idle ? "unknown flag" : "needs a value");
            usage(stderr);
            return -1;
        }
        /* one term, fractions allowed: "10s", "1.5m", "1500us", "1d" */
        if (idle && (fa_duration_parse(fa_str_c(argv[i + 1]), FA_DUR_API | FA_DUR_FRAC | FA_DUR_SINGLE, &a->idle_flush) != 0
                     || a->idle_flush <= 0)) {
            fprintf(stderr, "farad test: -idle-flush: \"%s\" is not a positive duration (10s, 1m, 500ms)\n", argv[i + 1]);
            return -1;
        }
        if (dst != NULL)
            *dst = argv[i + 1];
        i++;
    }
    if (a->tick == NULL || a->data == NULL) {
        fprintf(stderr, "farad test: -tick and -data are required\n");
        usage(stderr);
        return -1;
    }
    return 0;
}

int farad_test_main(int argc, char **argv)
{
    struct args a = { 0 };
    if (parse_args(argc, argv, &a) != 0)
        return 2;
    eng_dbrp_t dbrp = { 0 };
    if (a.dbrp != NULL) {
        const char *dot = strchr(a.dbrp, '.');
        if (dot == NULL || dot == a.dbrp || dot[1] == '\0') {
            fprintf(stderr, "farad test: -dbrp: \"%s\" is not DB.RP\n", a.dbrp);
            return 2;
        }
        dbrp = (eng_dbrp_t){ fa_str(a.dbrp, (size_t)(dot - a.dbrp)), fa_str_c(dot + 1) };
    }
    eng_lp_opts_t lo = { .precision_ns = 1 };
    if (a.precision != NULL && eng_lp_precision(fa_str_c(a.precision), false, &lo.precision_ns) != 0) {
        fprintf(stderr, "farad test: -precision: \"%s\" is not n, u, ms, s, m or h\n", a.precision);
        return 2;
    }
    size_t script_len, data_len;
    char *script = read_file(a.tick, &script_len), *data = script ? read_file(a.data, &data_len) : NULL;
    int rc = 1;
    eng_runner_t r;
    eng_batch_t b;
    eng_batch_init(&b, 1 << 20, 0);
    if (script == NULL || data == NULL)
        goto Exit;
    /* the task's id is the file name without its directory and .tick */
    char id[128];
    const char *base = strrchr(a.tick, '/') ? strrchr(a.tick, '/') + 1 : a.tick;
    snprintf(id, sizeof id, "%.*s", (int)(strstr(base, ".tick") ? (size_t)(strstr(base, ".tick") - base) : strlen(base)), base);
    tick_err_t err;
    if (eng_runner_init(&r, id, script, script_len, &dbrp, a.dbrp ? 1 : 0, print_line, NULL, &err) != 0) {
        fprintf(stderr, "farad test: %s:%d:%d: %s\n", a.tick, err.pos.line, err.pos.col, err.msg);
        goto Exit;
    }
    if (a.dbrp == NULL && r.task->n_dbrps == 0) {
        fprintf(stderr, "farad test: %s has no dbrp line: give -dbrp DB.RP\n", a.tick);
        eng_runner_deinit(&r);
        goto Exit;
    }
    eng_lp_result_t res;
    eng_lp_parse(&b, data, data_len, &lo, &res);
    if (res.n_bad != 0)
        fprintf(stderr, "farad test: %s: %u bad lines skipped, first at line %u:\n%s\n", a.data, res.n_bad,
                res.first_bad_line, res.errors);
    eng_runner_opts_t ro = { .db = dbrp.db, .rp = dbrp.rp, .real_clock = a.real_clock, .idle_flush_ns = a.idle_flush };
    eng_runner_run(&r, b.points, b.n, &ro);
    fflush(stdout);
    eng_runner_deinit(&r);
    rc = 0;
Exit:
    eng_batch_deinit(&b);
    free(script);
    free(data);
    return rc;
}
