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

/* The view's rows from a block b with seq, time_ns and the value matrices as arrays (versions 3 and 4
 * give it those), unioned with version 1's rows. */
#define POINTS_VIEW_TAIL \
    "cross join lateral (\n" \
    "  select q.seq, q.time_ns, f.fields\n" \
    "  from unnest(b.seq, b.time_ns) with ordinality as q(seq, time_ns, i)\n" \
    "  left join (\n" \
    "    select x.i, ('{' || string_agg(x.kv, ',') || '}')::jsonb as fields\n" \
    "    from (\n" \
    "      select (u.e - 1) % cardinality(b.seq) + 1 as i,\n" \
    "             to_json(b.fkeys[(u.e - 1) / cardinality(b.seq) + 1])::text || ':' || farad.float_json(u.v) as kv\n" \
    "        from unnest(b.fval) with ordinality as u(v, e) where u.v is not null\n" \
    "      union all\n" \
    "      select (u.e - 1) % cardinality(b.seq) + 1,\n" \
    "             to_json(b.ikeys[(u.e - 1) / cardinality(b.seq) + 1])::text || ':' || u.v::text\n" \
    "        from unnest(b.ival) with ordinality as u(v, e) where u.v is not null\n" \
    "      union all\n" \
    "      select (u.e - 1) % cardinality(b.seq) + 1,\n" \
    "             to_json(b.ukeys[(u.e - 1) / cardinality(b.seq) + 1])::text || ':'\n" \
    "             || (case when u.v < 0 then u.v::numeric + 18446744073709551616 else u.v::numeric end)::text\n" \
    "        from unnest(b.uval) with ordinality as u(v, e) where u.v is not null\n" \
    "      union all\n" \
    "      select (u.e - 1) % cardinality(b.seq) + 1,\n" \
    "             to_json(b.skeys[(u.e - 1) / cardinality(b.seq) + 1])::text || ':' || to_json(u.v)::text\n" \
    "        from unnest(b.sval) with ordinality as u(v, e) where u.v is not null\n" \
    "      union all\n" \
    "      select (u.e - 1) % cardinality(b.seq) + 1,\n" \
    "             to_json(b.bkeys[(u.e - 1) / cardinality(b.seq) + 1])::text || ':' || u.v::text\n" \
    "        from unnest(b.bval) with ordinality as u(v, e) where u.v is not null\n" \
    "    ) x group by x.i\n" \
    "  ) f on f.i = q.i\n" \
    ") p\n" \
    "union all\n" \
    "select recording_id, seq, time, time_ns, db, rp, measurement, tags, fields, batch_seq, batch_group, query_node\n" \
    "from farad.recording_points_v1;\n"

/* 3: recorded points as columnar blocks (recorder/blocks_*.c): one row per (segment, series, batch)
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
    POINTS_VIEW_TAIL;

/* 4: a block's numbers packed into bytea instead of arrays: seq and time_ns as n big-endian int8s,
 * fval / ival / uval as the [key][point] matrix of big-endian float8s / int8s, bval of one byte
 * each, the matrices followed by a presence bitmap (bit i = byte i / 8, bit i % 8 from the least
 * significant, as get_bit numbers them; set = present) when some values are absent. Binary COPY
 * then moves each column with one copy, where arrays cost a send/receive call and a length word
 * per element (the largest part of PostgreSQL's CPU in a replay, bench/RESULTS.md) and 50% more
 * bytes. Keys and string values stay text[]. farad.unpack_* turn the columns back into arrays
 * (the view uses them; so can users' SQL), farad.pack_* convert version 3's rows. */
static const char m4_sql[] =
    "create function farad.presence(a anyarray) returns bytea language sql immutable strict parallel safe as $$\n"
    "  select case when bool_or(q.absent) then string_agg(set_byte('\\x00'::bytea, 0, q.bits), ''::bytea order by q.j)\n"
    "              else ''::bytea end\n"
    "  from (select (u.i - 1) / 8 as j, bool_or(u.v is null) as absent,\n"
    "               sum(case when u.v is null then 0 else 1 << ((u.i - 1) % 8)::integer end)::integer as bits\n"
    "        from unnest(a) with ordinality as u(v, i) group by 1) q $$;\n"
    "create function farad.pack_int8(a bigint[]) returns bytea language sql immutable strict parallel safe as $$\n"
    "  select coalesce(string_agg(coalesce(int8send(u.v), '\\x0000000000000000'::bytea), ''::bytea order by u.i),\n"
    "                  ''::bytea) || farad.presence(a)\n"
    "  from unnest(a) with ordinality as u(v, i) $$;\n"
    "create function farad.pack_float8(a double precision[]) returns bytea language sql immutable strict\n"
    "  parallel safe as $$\n"
    "  select coalesce(string_agg(coalesce(float8send(u.v), '\\x0000000000000000'::bytea), ''::bytea order by u.i),\n"
    "                  ''::bytea) || farad.presence(a)\n"
    "  from unnest(a) with ordinality as u(v, i) $$;\n"
    "create function farad.pack_bool(a boolean[]) returns bytea language sql immutable strict parallel safe as $$\n"
    "  select coalesce(string_agg(coalesce(boolsend(u.v), '\\x00'::bytea), ''::bytea order by u.i), ''::bytea)\n"
    "         || farad.presence(a)\n"
    "  from unnest(a) with ordinality as u(v, i) $$;\n"
    /* the bits of an IEEE double as the double (exact: a power of two times an integer below 2^53);
     * one expression and not strict, so that PostgreSQL inlines it */
    "create function farad.float8_of_bits(u bigint) returns double precision language sql immutable\n"
    "  parallel safe as $$\n"
    "  select case when (u >> 52) & 2047 = 2047\n"
    "              then case when u & 4503599627370495 <> 0 then 'NaN'::float8 when u < 0 then '-Infinity'::float8\n"
    "                        else 'Infinity'::float8 end\n"
    "              when (u >> 52) & 2047 = 0\n"
    "              then (case when u < 0 then -1::float8 else 1::float8 end) * (u & 4503599627370495)::float8\n"
    "                   * power(2::float8, -1074)\n"
    "              else (case when u < 0 then -1::float8 else 1::float8 end)\n"
    "                   * ((u & 4503599627370495) + 4503599627370496)::float8 * power(2::float8, ((u >> 52) & 2047) - 1075)\n"
    "         end $$;\n"
    "create function farad.unpack_int8(b bytea, n integer) returns bigint[] language sql immutable strict\n"
    "  parallel safe as $$\n"
    "  select coalesce(array_agg(case when length(b) > 8 * n and get_bit(b, 64 * n + i) = 0 then null\n"
    "      else ('x' || encode(substring(b from 8 * i + 1 for 8), 'hex'))::bit(64)::bigint end order by i), '{}')\n"
    "  from generate_series(0, n - 1) as i $$;\n"
    "create function farad.unpack_float8(b bytea, n integer) returns double precision[] language sql immutable\n"
    "  strict parallel safe as $$\n"
    "  select coalesce(array_agg(case when length(b) > 8 * n and get_bit(b, 64 * n + q.i) = 0 then null\n"
    "                                 else farad.float8_of_bits(q.u) end order by q.i), '{}')\n"
    "  from (select i, ('x' || encode(substring(b from 8 * i + 1 for 8), 'hex'))::bit(64)::bigint as u\n"
    "        from generate_series(0, n - 1) as i) q $$;\n"
    "create function farad.unpack_bool(b bytea, n integer) returns boolean[] language sql immutable strict\n"
    "  parallel safe as $$\n"
    "  select coalesce(array_agg(case when length(b) > n and get_bit(b, 8 * n + i) = 0 then null\n"
    "      else get_byte(b, i) <> 0 end order by i), '{}')\n"
    "  from generate_series(0, n - 1) as i $$;\n"
    "drop view farad.recording_points;\n"
    "alter table farad.recording_blocks\n"
    "  alter seq type bytea using farad.pack_int8(seq),\n"
    "  alter time_ns type bytea using farad.pack_int8(time_ns),\n"
    "  alter fval type bytea using farad.pack_float8(fval),\n"
    "  alter ival type bytea using farad.pack_int8(ival),\n"
    "  alter uval type bytea using farad.pack_int8(uval),\n"
    "  alter bval type bytea using farad.pack_bool(bval);\n"
    "alter table farad.recording_blocks alter seq set storage external, alter time_ns set storage external,\n"
    "  alter fval set storage external, alter ival set storage external, alter uval set storage external,\n"
    "  alter bval set storage external;\n"
    /* version 3's view over the columns unpacked once per block (a lateral subquery that is not
     * flattened: OFFSET 0), the filters on recording_blocks' columns still down at its scan */
    "create view farad.recording_points as\n"
    "select k.recording_id, p.seq, farad.ns_time(p.time_ns) as time, p.time_ns, k.db, k.rp, k.measurement,\n"
    "       k.tags, coalesce(p.fields, '{}'::jsonb) as fields, k.batch_seq, k.batch_group, k.query_node\n"
    "from farad.recording_blocks k\n"
    "cross join lateral (\n"
    "  select farad.unpack_int8(k.seq, length(k.seq) / 8) as seq, farad.unpack_int8(k.time_ns, length(k.seq) / 8) as time_ns,\n"
    "         k.fkeys, farad.unpack_float8(k.fval, cardinality(k.fkeys) * (length(k.seq) / 8)) as fval,\n"
    "         k.ikeys, farad.unpack_int8(k.ival, cardinality(k.ikeys) * (length(k.seq) / 8)) as ival,\n"
    "         k.ukeys, farad.unpack_int8(k.uval, cardinality(k.ukeys) * (length(k.seq) / 8)) as uval,\n"
    "         k.skeys, k.sval,\n"
    "         k.bkeys, farad.unpack_bool(k.bval, cardinality(k.bkeys) * (length(k.seq) / 8)) as bval\n"
    "  offset 0\n"
    ") b\n"
    POINTS_VIEW_TAIL;

static const migration_t migrations[] = {
    { 1, "tasks, templates, recordings, recording_points, replays, replay_outputs", m1_sql },
    { 2, "recording_batches", m2_sql },
    { 3, "recording_blocks (columnar points), recording_points a view", m3_sql },
    { 4, "recording_blocks: numbers packed into bytea", m4_sql },
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
