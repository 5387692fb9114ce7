/* cmd/farad/cmd_misc.c - stats general|ingress, vars, level, version, help. */
#include "cmd/farad/cli.h"
#include "cmd/farad/cmds.h"

#include <stdlib.h>
#include <string.h>

#ifndef FARAD_VERSION
#define FARAD_VERSION "dev"
#endif
#ifndef FARAD_GIT_BRANCH
#define FARAD_GIT_BRANCH "unknown"
#endif
#ifndef FARAD_GIT_COMMIT
#define FARAD_GIT_COMMIT "unknown"
#endif

static const long OK_200[] = { 200, 0 };
static const long OK_204[] = { 204, 0 };

/* ---- stats ---- */

void cmd_stats_usage(void)
{
    fputs("Usage: farad stats <general|ingress>\n\n"
          "\tPrint stats about a certain aspect of farad.\n\n"
          "\tgeneral - Display summary stats about farad.\n"
          "\tingress - Display stats about the data farad is receiving by database, retention policy and measurement.\n",
          stderr);
}

static void stats_general(const json_t *v)
{
    printf("%-30s%-30s\n", "ClusterID:", cli_jstr(v, "cluster_id"));
    printf("%-30s%-30s\n", "ServerID:", cli_jstr(v, "server_id"));
    printf("%-30s%-30s\n", "Host:", cli_jstr(v, "host"));
    printf("%-30s%-30lld\n", "Tasks:", cli_jint(v, "num_tasks"));
    printf("%-30s%-30lld\n", "Enabled Tasks:", cli_jint(v, "num_enabled_tasks"));
    printf("%-30s%-30lld\n", "Subscriptions:", cli_jint(v, "num_subscriptions"));
    printf("%-30s%-30s\n", "Platform:", cli_jstr(v, "platform"));
    printf("%-30s%-30s\n", "Version:", cli_jstr(v, "version"));
}

typedef struct ingress {
    const char *db, *rp, *m;
    long long points;
} ingress_t;

static int cmp_ingress(const void *a, const void *b)
{
    const ingress_t *x = a, *y = b;
    int c = strcmp(x->db, y->db);
    if (c == 0)
        c = strcmp(x->rp, y->rp);
    return c != 0 ? c : strcmp(x->m, y->m);
}

static int imax(int a, int b) { return a > b ? a : b; }

/* The ingress stats of the main task master, sorted by db, rp, measurement. */
static void stats_ingress(const json_t *v)
{
    const json_t *stats = json_object_get(v, "kapacitor"), *s;
    const char *key;
    size_t n = 0;
    int wdb = 8, wrp = 16, wm = 11;
    ingress_t *rows = calloc(json_object_size(stats) + 1, sizeof *rows);
    if (rows == NULL)
        abort();
    json_object_foreach((json_t *)stats, key, s)
    {
        const json_t *tags = json_object_get(s, "tags");
        if (strcmp(cli_jstr(s, "name"), "ingress") != 0 || strcmp(cli_jstr(tags, "task_master"), "main") != 0)
            continue;
        ingress_t *r = &rows[n++];
        r->db = cli_jstr(tags, "database");
        r->rp = cli_jstr(tags, "retention_policy");
        r->m = cli_jstr(tags, "measurement");
        r->points = cli_jint(json_object_get(s, "values"), "points_received");
        wdb = imax(wdb, (int)strlen(r->db));
        wrp = imax(wrp, (int)strlen(r->rp));
        wm = imax(wm, (int)strlen(r->m));
    }
    qsort(rows, n, sizeof *rows, cmp_ingress);
    wdb++, wrp++, wm++;
    printf("%-*s%-*s%-*s%s\n", wdb, "Database", wrp, "Retention Policy", wm, "Measurement", "Points Received");
    for (size_t i = 0; i < n; i++)
        printf("%-*s%-*s%-*s%15lld\n", wdb, rows[i].db, wrp, rows[i].rp, wm, rows[i].m, rows[i].points);
    free(rows);
}

int cmd_stats(int argc, char **argv)
{
    json_t *v;
    cli_err_t err;

    if (argc != 2) {
        cmd_stats_usage();
        cli_errf(&err, "must provide a stats category");
        return cli_fail(&err);
    }
    if (strcmp(argv[1], "general") != 0 && strcmp(argv[1], "ingress") != 0) {
        cmd_stats_usage();
        cli_errf(&err, "unknown stats category \"%s\", expected general or ingress", argv[1]);
        return cli_fail(&err);
    }
    if (cli_request("GET", CLI_API "/debug/vars", NULL, NULL, OK_200, &v, &err) != 0)
        return cli_fail(&err);
    if (strcmp(argv[1], "general") == 0)
        stats_general(v);
    else
        stats_ingress(v);
    json_decref(v);
    return CLI_EXIT_OK;
}

/* ---- vars ---- */

void cmd_vars_usage(void) { fputs("Usage: farad vars\n\n\tPrint debug vars in JSON format.\n", stderr); }

int cmd_vars(int argc, char **argv)
{
    fa_buf_t body = FA_BUF_INIT;
    cli_err_t err;
    if (cli_get_raw(CLI_API "/debug/vars", &body, &err) != 0) {
        fa_buf_deinit(&body);
        return cli_fail(&err);
    }
    fwrite(body.ptr ? body.ptr : "", 1, body.len, stdout);
    fa_buf_deinit(&body);
    return CLI_EXIT_OK;
}

/* ---- level ---- */

void cmd_level_usage(void)
{
    fputs("Usage: farad level (debug|info|error)\n\n\tSets the logging level on the faradd server.\n", stderr);
}

int cmd_level(int argc, char **argv)
{
    fa_buf_t body = FA_BUF_INIT;
    cli_err_t err;
    cli_jw_t w;

    if (argc < 2) {
        fprintf(stderr, "Must pass a log level\n");
        cmd_level_usage();
        return CLI_EXIT_ARGS;
    }
    cli_jw_init(&w, &body);
    cli_jw_obj(&w);
    cli_jw_key(&w, "level");
    cli_jw_str(&w, argv[1]);
    cli_jw_end(&w, '}');
    cli_jw_finish(&w);
    int rc = cli_request("POST", CLI_API "/loglevel", NULL, &body, OK_204, NULL, &err);
    fa_buf_deinit(&body);
    return rc == 0 ? CLI_EXIT_OK : cli_fail(&err);
}

/* ---- version, help ---- */

void cmd_version_usage(void) { fputs("Usage: farad version\n\n\tPrint version info.\n", stderr); }

int cmd_version(int argc, char **argv)
{
    printf("farad OSS %s (git: %s %s)\n", FARAD_VERSION, FARAD_GIT_BRANCH, FARAD_GIT_COMMIT);
    return CLI_EXIT_OK;
}

void cmd_help_usage(void) { fputs("Usage: farad help [command]\n\n", stderr); }

int cmd_help(int argc, char **argv)
{
    if (argc == 2) {
        const farad_cmd_t *c = farad_cmd_find(argv[1]);
        if (c == NULL) {
            fprintf(stderr, "Unknown command %s\n", argv[1]);
            farad_usage();
            return CLI_EXIT_USAGE;
        }
        if (c->usage != NULL)
            c->usage();
        else
            fprintf(stderr, "Usage: farad %s\n\n\t%s\n", c->name, c->summary);
        return CLI_EXIT_OK;
    }
    cmd_help_usage();
    farad_usage();
    return CLI_EXIT_USAGE;
}
