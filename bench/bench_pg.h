/* bench/bench_pg.h - the PostgreSQL a benchmark runs against (bench only): $FARAD_BENCH_PG_DSN,
 * or else a private cluster under /tmp started with scripts/pg.sh (FARAD_PG_FAST=1: fsync off),
 * stopped and removed when the process exits, also after a failure (atexit: die() paths leave no
 * server running). */
#ifndef BENCH_PG_H
#define BENCH_PG_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char bench_pg_dir[64]; /* the private cluster's directory; "" = none */

static void bench_pg_stop(void)
{
    if (bench_pg_dir[0] == '\0')
        return;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "bash %s/scripts/pg.sh stop %s >/dev/null && rm -rf %s", FARAD_SOURCE_DIR, bench_pg_dir,
             bench_pg_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not stop/remove the benchmark's PostgreSQL in %s\n", bench_pg_dir);
    bench_pg_dir[0] = '\0';
}

/** The DSN to use (in dsn, len bytes): the environment's, or a new private cluster's. Exits with a
 * message when the cluster does not start. */
static const char *bench_pg_start(char *dsn, size_t len)
{
    const char *env = getenv("FARAD_BENCH_PG_DSN");
    if (env != NULL && env[0] != '\0') {
        snprintf(dsn, len, "%s", env);
        return dsn;
    }
    snprintf(bench_pg_dir, sizeof bench_pg_dir, "/tmp/farad-bench-pg-XXXXXX");
    if (mkdtemp(bench_pg_dir) == NULL) {
        fprintf(stderr, "mkdtemp %s failed\n", bench_pg_dir);
        exit(1);
    }
    atexit(bench_pg_stop);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "FARAD_PG_FAST=1 bash %s/scripts/pg.sh start %s", FARAD_SOURCE_DIR, bench_pg_dir);
    FILE *p = popen(cmd, "r");
    if (p == NULL || fgets(dsn, (int)len, p) == NULL) {
        if (p != NULL)
            pclose(p);
        fprintf(stderr, "%s: no DSN printed\n", cmd);
        exit(1); /* bench_pg_stop removes what was started */
    }
    pclose(p);
    dsn[strcspn(dsn, "\n")] = '\0';
    return dsn;
}
#endif
