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

/* 3: recorded points as columnar blocks (recorder/blocks.c): one row per (segment, series, batch)
 * with the points' seqs, times and field values in arrays, written and read with binary COPY.
 * The version-1 table stays, renamed recording_points_v1 (its recordings replay from it), and
 * farad.recording_points becomes a view over both with version 1's columns and values: one row
 * per point, fields as typed jsonb (floats keep a fraction: farad.float_json writes them as the
 * version-1 encoder did). Arrays are stored uncompressed (storage external) and rows stay inline up
 * to a page (toast_tuple_target): pglz and out-of-line TOAST rows would cost more CPU than the
 * disk they save. */
static const char m3_sql[] =
    "alter table farad.recording_points rename to recording_points_v1;\n"
    "alter index farad.recording_points_pkey rename to recording_points_v1_pkey;\n"
    "alter index farad.recording_points_measurement_time rename to recording_points_v1_measurement_time;\n"
    "create table farad.recording_blocks (\n"
    "  recording_id text collate \"C\" not null,\n"
    "  seg bigint not null,\n"
    "  seg_n integer not null,\n"
    "  part integer not null,\n"
    "  db text collate \"C\" not null,\n"
    "  rp text collate \"C\" not null,\n"
    "  measurement text collate \"C\" not null,\n"
    "  tags jsonb not null,\n"
    "  batch_seq bigint,\n"
    "  batch_group text collate \"C\",\n"
    "  query_node integer,\n"
    "  min_time timestamptz not null,\n"
    "  max_time timestamptz not null,\n"
    "  seq bigint[] not null,\n"
    "  time_ns bigint[] not null,\n"
    "  fkeys text[], fval double precision[],\n"
    "  ikeys text[], ival bigint[],\n"
    "  ukeys text[], uval bigint[],\n"
    "  skeys text[], sval text[],\n"
    "  bkeys text[], bval boolean[],\n"
    "  primary key (recording_id, seg, part)\n"
    ") with (toast_tuple_target = 8160);\n"
    "alter table farad.recording_blocks alter seq set storage external, alter time_ns set storage external,\n"
    "  alter fval set storage external, alter ival set storage external, alter uval set storage external,\n"
    "  alter sval set storage external, alter bval set storage external;\n"
    "create index recording_blocks_measurement_time\n"
    "  on farad.recording_blocks (recording_id, measurement, min_time);\n"
    /* ns since the epoch as timestamptz, rounded down to the µs (exact: float8 holds the seconds) */
    "create function farad.ns_time(ns bigint) returns timestamptz language sql immutable strict parallel safe as $$\n"
    "  select timestamptz '1970-01-01 00:00:00+00'\n"
    "    + ((ns - ((ns % 1000000000) + 1000000000) % 1000000000) / 1000000000) * interval '1 second'\n"
    "    + (((ns % 1000000000) + 1000000000) % 1000000000 / 1000) * interval '1 microsecond' $$;\n"
    /* a float as JSON text, as version 1 wrote it: 15, 16 or 17 digits, the fewest that read back,
     * always a fraction; from 1e15 on the exact decimal expansion with one decimal (printf's %.1f) */
    "create function farad.float_text(v double precision) returns text language plpgsql immutable strict\n"
    "  parallel safe set extra_float_digits = 0 as $$\n"
    "declare t text; m double precision; e integer := 0; n numeric;\n"
    "begin\n"
    "  if v = 'NaN'::float8 or v = 'Infinity'::float8 or v = '-Infinity'::float8 then return 'null'; end if;\n"
    "  if abs(v) < 1e15 then\n"
    "    if v = trunc(v) then\n"
    "      if v = 0 and v::text = '-0' then return '-0.0'; end if;\n"
    "      return (v::bigint)::text || '.0';\n"
    "    end if;\n"
    /* printf's %.15g (float8out with extra_float_digits 0), else %.16g, else %.17g: the first
     * that reads back; %.Ng as %.(N-1)e without trailing zeros, which jsonb reads the same */
    "    t := v::text;\n"
    "    if t::float8 <> v then\n"
    "      t := regexp_replace(btrim(to_char(v, '9.999999999999999EEEE')), '\\.?0*(e.*)$', '\\1');\n"
    "      if t::float8 <> v then\n"
    "        t := regexp_replace(btrim(to_char(v, '9.9999999999999999EEEE')), '\\.?0*(e.*)$', '\\1');\n"
    "      end if;\n"
    "    end if;\n"
    "    if strpos(t, '.') = 0 and strpos(t, 'e') = 0 then t := t || '.0'; end if;\n"
    "    return t;\n"
    "  end if;\n"
    "  if abs(v) < 9007199254740992 then\n"
    "    return (trunc(v)::bigint)::text || '.'\n"
    "      || (array['0','1','2','4','5','6','8','9'])[(abs(v - trunc(v)) * 8)::integer + 1];\n"
    "  end if;\n"
    "  m := abs(v);\n"
    "  while m >= 9007199254740992 loop m := m / 2; e := e + 1; end loop;\n"
    "  n := (m::bigint)::numeric;\n"
    "  for i in 1..e loop n := n * 2; end loop;\n"
    "  if v < 0 then n := -n; end if;\n"
    "  return n::text || '.0';\n"
    "end $$;\n"
    "create function farad.float_json(v double precision) returns text language sql immutable strict\n"
    "  parallel safe as $$\n"
    "  select case when abs(v) < 1e15 and v = trunc(v) and v <> 0 then (v::bigint)::text || '.0'\n"
    "              else farad.float_text(v) end $$;\n"
    "create view farad.recording_points as\n"
    "select b.recording_id, p.seq, farad.ns_time(p.time_ns) as time, p.time_ns, b.db, b.rp, b.measurement,\n"
    "       b.tags, coalesce(p.fields, '{}'::jsonb) as fields, b.batch_seq, b.batch_group, b.query_node\n"
    "from farad.recording_blocks b\n"
    "cross join lateral (\n"
    "  select q.seq, q.time_ns, f.fields\n"
    "  from unnest(b.seq, b.time_ns) with ordinality as q(seq, time_ns, i)\n"
    "  left join (\n"
    "    select x.i, ('{' || string_agg(x.kv, ',') || '}')::jsonb as fields\n"
    "    from (\n"
    "      select (u.e - 1) % cardinality(b.seq) + 1 as i,\n"
    "             to_json(b.fkeys[(u.e - 1) / cardinality(b.seq) + 1])::text || ':' || farad.float_json(u.v) as kv\n"
    "        from unnest(b.fval) with ordinality as u(v, e) where u.v is not null\n"
    "      union all\n"
    "      select (u.e - 1) % cardinality(b.seq) + 1,\n"
    "             to_json(b.ikeys[(u.e - 1) / cardinality(b.seq) + 1])::text || ':' || u.v::text\n"
    "        from unnest(b.ival) with ordinality as u(v, e) where u.v is not null\n"
    "      union all\n"
    "      select (u.e - 1) % cardinality(b.seq) + 1,\n"
    "             to_json(b.ukeys[(u.e - 1) / cardinality(b.seq) + 1])::text || ':'\n"
    "             || (case when u.v < 0 then u.v::numeric + 18446744073709551616 else u.v::numeric end)::text\n"
    "        from unnest(b.uval) with ordinality as u(v, e) where u.v is not null\n"
    "      union all\n"
    "      select (u.e - 1) % cardinality(b.seq) + 1,\n"
    "             to_json(b.skeys[(u.e - 1) / cardinality(b.seq) + 1])::text || ':' || to_json(u.v)::text\n"
    "        from unnest(b.sval) with ordinality as u(v, e) where u.v is not null\n"
    "      union all\n"
    "      select (u.e - 1) % cardinality(b.seq) + 1,\n"
    "             to_json(b.bkeys[(u.e - 1) / cardinality(b.seq) + 1])::text || ':' || u.v::text\n"
    "        from unnest(b.bval) with ordinality as u(v, e) where u.v is not null\n"
    "    ) x group by x.i\n"
    "  ) f on f.i = q.i\n"
    ") p\n"
    "union all\n"
    "select recording_id, seq, time, time_ns, db, rp, measurement, tags, fields, batch_seq, batch_group, query_node\n"
    "from farad.recording_points_v1;\n";

static const migration_t migrations[] = {
    { 1, "tasks, templates, recordings, recording_points, replays, replay_outputs", m1_sql },
    { 2, "recording_batches", m2_sql },
    { 3, "recording_blocks (columnar points), recording_points a view", m3_sql },
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
    return rec_migrate_to(pg, rec_schema_version_latest(), err, errlen);
}

int rec_migrate_to(PGconn *pg, int target, char *err, size_t errlen)
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
        if (migrations[i].version <= v || migrations[i].version > target)
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
