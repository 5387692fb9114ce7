/* recorder/migrate.c - the schema as versioned migrations, applied at connect in one transaction.
 *
 * farad.schema_version holds one row per applied migration. rec_migrate takes a transaction-level
 * advisory lock (two faradd starting together apply each migration once), reads the highest
 * version and applies the newer ones in order, then commits: all or nothing. A migration is never
 * edited once released; a change is a new entry at the end of `migrations`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recorder/store.h"

typedef struct migration {
    int version;
    const char *what;
    const char *sql;
} migration_t;

/* 1: tasks, templates, recordings and their points, replays and their outputs.
 * recording_points has no foreign key to recordings: a per-row check would slow COPY down;
 * deleting a recording deletes its points in the same transaction. Its text columns compare
 * bytewise (collate "C"): as InfluxDB orders names, and about 20% less CPU per COPYed row than
 * the database's locale in the index comparisons. */
static const char m1_sql[] =
    "create table farad.templates (\n"
    "  id text primary key,\n"
    "  type text not null check (type in ('stream', 'batch')),\n"
    "  script text not null,\n"
    "  vars jsonb not null default '{}',\n"
    "  created timestamptz not null default now(),\n"
    "  modified timestamptz not null default now()\n"
    ");\n"
    "create table farad.tasks (\n"
    "  id text primary key,\n"
    "  type text not null check (type in ('stream', 'batch')),\n"
    "  dbrps jsonb not null default '[]',\n"
    "  script text not null,\n"
    "  vars jsonb not null default '{}',\n"
    "  template_id text,\n"
    "  status text not null default 'disabled' check (status in ('enabled', 'disabled')),\n"
    "  loaded_from_file boolean not null default false,\n"
    "  created timestamptz not null default now(),\n"
    "  modified timestamptz not null default now(),\n"
    "  last_enabled timestamptz\n"
    ");\n"
    "create index tasks_template_id on farad.tasks (template_id);\n"
    "create table farad.recordings (\n"
    "  id text primary key,\n"
    "  type text not null check (type in ('stream', 'batch')),\n"
    "  task text,\n"
    "  query text,\n"
    "  status text not null default 'running' check (status in ('running', 'finished', 'failed')),\n"
    "  error text not null default '',\n"
    "  progress double precision not null default 0,\n"
    "  size bigint not null default 0,\n"
    "  point_count bigint not null default 0,\n"
    "  created timestamptz not null default now(),\n"
    "  finished timestamptz\n"
    ");\n"
    "create table farad.recording_points (\n"
    "  recording_id text collate \"C\" not null,\n"
    "  seq bigint not null,\n"
    "  time timestamptz not null,\n"
    "  time_ns bigint not null,\n"
    "  db text collate \"C\" not null,\n"
    "  rp text collate \"C\" not null,\n"
    "  measurement text collate \"C\" not null,\n"
    "  tags jsonb not null,\n"
    "  fields jsonb not null,\n"
    "  batch_seq bigint,\n"
    "  batch_group text collate \"C\",\n"
    "  query_node integer,\n"
    "  primary key (recording_id, seq)\n"
    ");\n"
    "create index recording_points_measurement_time\n"
    "  on farad.recording_points (recording_id, measurement, time);\n"
    "create table farad.replays (\n"
    "  id text primary key,\n"
    "  task text not null,\n"
    "  recording text,\n"
    "  clock text not null default 'fast' check (clock in ('fast', 'real')),\n"
    "  recording_time boolean not null default false,\n"
    "  status text not null default 'running' check (status in ('running', 'finished', 'failed')),\n"
    "  progress double precision not null default 0,\n"
    "  error text not null default '',\n"
    "  stats jsonb,\n"
    "  created timestamptz not null default now(),\n"
    "  finished timestamptz\n"
    ");\n"
    "create table farad.replay_outputs (\n"
    "  replay_id text collate \"C\" not null,\n"
    "  seq bigint not null,\n"
    "  kind text not null check (kind in ('point', 'alert')),\n"
    "  time timestamptz not null,\n"
    "  payload jsonb not null,\n"
    "  primary key (replay_id, seq)\n"
    ");\n";

/* 2: the batches of batch recordings: one row per batch a query node produced, with the bounds
 * of its query run and its tmax (a batch's time, which its points alone do not give back). */
static const char m2_sql[] =
    "create table farad.recording_batches (\n"
    "  recording_id text not null references farad.recordings (id) on delete cascade,\n"
    "  batch_seq bigint not null,\n"
    "  query_node integer not null,\n"
    "  batch_group text collate \"C\" not null,\n"
    "  measurement text collate \"C\" not null,\n"
    "  start_ns bigint not null,\n"
    "  stop_ns bigint not null,\n"
    "  tmax_ns bigint not null,\n"
    "  points integer not null,\n"
    "  primary key (recording_id, batch_seq)\n"
    ");\n";

static const migration_t migrations[] = {
    { 1, "tasks, templates, recordings, recording_points, replays, replay_outputs", m1_sql },
    { 2, "recording_batches", m2_sql },
};
enum { N_MIGRATIONS = sizeof migrations / sizeof migrations[0] };

/* an arbitrary constant: the key of the advisory lock that serializes migrations */
static const char lock_sql[] = "select pg_advisory_xact_lock(7046976190418120001)";

int rec_schema_version_latest(void)
{
    return migrations[N_MIGRATIONS - 1].version;
}

/* Runs one statement that returns no rows (or a row to ignore); 0, or -1 with err filled. */
static int exec_ok(PGconn *pg, const char *sql, const char *what, char *err, size_t errlen)
{
    PGresult *res = PQexec(pg, sql);
    ExecStatusType st = PQresultStatus(res);
    int rc = 0;

    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        snprintf(err, errlen, "schema migration: %s: %s", what, PQerrorMessage(pg));
        rc = -1;
    }
    PQclear(res);
    return rc;
}

static int current_version(PGconn *pg, char *err, size_t errlen)
{
    PGresult *res = PQexec(pg, "select coalesce(max(version), 0) from farad.schema_version");
    int v = -1;

    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
        v = atoi(PQgetvalue(res, 0, 0));
    else
        snprintf(err, errlen, "schema migration: reading farad.schema_version: %s", PQerrorMessage(pg));
    PQclear(res);
    return v;
}

static int apply(PGconn *pg, const migration_t *m, char *err, size_t errlen)
{
    char what[96];
    char version[16];
    const char *params[2] = { version, m->what };

    snprintf(what, sizeof what, "migration %d", m->version);
    if (exec_ok(pg, m->sql, what, err, errlen) != 0)
        return -1;
    snprintf(version, sizeof version, "%d", m->version);
    PGresult *res = PQexecParams(pg, "insert into farad.schema_version (version, description) values ($1, $2)",
                                 2, NULL, params, NULL, NULL, 0);
    int rc = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : -1;
    if (rc != 0)
        snprintf(err, errlen, "schema migration: recording version %d: %s", m->version, PQerrorMessage(pg));
    PQclear(res);
    return rc;
}

int rec_migrate(PGconn *pg, char *err, size_t errlen)
{
    static const char setup_sql[] =
        "create schema if not exists farad;\n"
        "create table if not exists farad.schema_version (\n"
        "  version integer primary key,\n"
        "  description text not null,\n"
        "  applied timestamptz not null default now()\n"
        ")";
    int v;

    if (exec_ok(pg, "begin", "begin", err, errlen) != 0)
        return -1;
    /* no "already exists, skipping" notices on every connect */
    if (exec_ok(pg, "set local client_min_messages = warning", "quiet notices", err, errlen) != 0)
        goto Fail;
    /* the lock first: a concurrent instance may be creating the schema right now */
    if (exec_ok(pg, lock_sql, "advisory lock", err, errlen) != 0 ||
        exec_ok(pg, setup_sql, "schema farad", err, errlen) != 0 || (v = current_version(pg, err, errlen)) < 0)
        goto Fail;
    for (int i = 0; i < N_MIGRATIONS; i++) {
        if (migrations[i].version <= v)
            continue;
        if (apply(pg, &migrations[i], err, errlen) != 0)
            goto Fail;
        v = migrations[i].version;
    }
    if (exec_ok(pg, "commit", "commit", err, errlen) != 0)
        return -1;
    return v;
Fail:
    PQclear(PQexec(pg, "rollback"));
    return -1;
}
