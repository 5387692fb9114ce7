#!/usr/bin/env bash
# A private PostgreSQL 15 cluster under one directory, for the quick start and the tests.
#
#     scripts/pg.sh start DIR    initdb (first time), start, create database "farad"; prints the DSN
#     scripts/pg.sh stop DIR     fast shutdown (no-op when not running)
#     scripts/pg.sh status DIR   exit 0 when running
#     scripts/pg.sh dsn DIR      prints the DSN
#
# The cluster listens on a unix socket in DIR only (no TCP). PostgreSQL refuses to run as root:
# as root, the server runs as the user `postgres` (or `farad-pg`, created here when `postgres` does
# not exist) and DIR is given to that user; DIR's parent must be reachable by it (e.g. under /tmp).
# Environment: FARAD_PG_BIN (default /usr/lib/postgresql/15/bin), FARAD_PG_FAST=1 turns fsync off
# (tests and benchmarks only: a crash may then lose the cluster).
set -euo pipefail

usage() { echo "usage: $0 start|stop|status|dsn DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
cmd=$1
dir=$2
bin=${FARAD_PG_BIN:-/usr/lib/postgresql/15/bin}
port=5432
db=farad

case "$dir" in /*) ;; *) dir=$PWD/$dir ;; esac
data=$dir/data
dsn="host=$dir port=$port user=postgres dbname=$db"

die() { echo "pg.sh: $*" >&2; exit 1; }

# the user the server runs as, and a prefix that runs a command as that user
run_as=()
pg_user=$(id -un)
if [ "$(id -u)" -eq 0 ]; then
  pg_user=postgres
  if ! id -u "$pg_user" >/dev/null 2>&1; then
    pg_user=farad-pg
    id -u "$pg_user" >/dev/null 2>&1 ||
      useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$pg_user" ||
      die "cannot create the unprivileged user $pg_user"
  fi
  run_as=(runuser -u "$pg_user" --)
fi
as_pg() { "${run_as[@]}" "$@"; }

running() { [ -f "$data/PG_VERSION" ] && as_pg "$bin/pg_ctl" status -D "$data" >/dev/null 2>&1; }

start() {
  [ -x "$bin/initdb" ] || die "no PostgreSQL at $bin (run scripts/install-deps.sh, or set FARAD_PG_BIN)"
  # the socket path must fit in sun_path (107 bytes)
  [ ${#dir} -le 90 ] || die "$dir is too long for a unix socket path (at most 90 characters)"
  mkdir -p "$dir"
  if [ "$(id -u)" -eq 0 ]; then
    chown "$pg_user": "$dir"
    chmod 0700 "$dir"
    as_pg test -w "$dir" ||
      die "user $pg_user cannot reach $dir: a parent directory is not searchable by it (use a directory under /tmp, or chmod o+x the parents)"
  fi
  if running; then
    echo "$dsn"
    return
  fi
  if [ ! -f "$data/PG_VERSION" ]; then
    as_pg "$bin/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync \
      >"$dir/initdb.log" 2>&1 || { tail -n 20 "$dir/initdb.log" >&2; die "initdb failed in $data (log $dir/initdb.log)"; }
    {
      echo "# written by scripts/pg.sh: unix socket only"
      echo "listen_addresses = ''"
      echo "unix_socket_directories = '$dir'"
      echo "port = $port"
      echo "max_connections = 40"
      echo "shared_buffers = 128MB"
      echo "max_wal_size = 1GB"
      echo "logging_collector = off"
      if [ "${FARAD_PG_FAST:-0}" = 1 ]; then
        echo "fsync = off"
        echo "synchronous_commit = off"
        echo "full_page_writes = off"
      fi
    } >>"$data/postgresql.conf"
  fi
  as_pg "$bin/pg_ctl" start -D "$data" -l "$dir/postgres.log" -w -t 60 >/dev/null ||
    { tail -n 20 "$dir/postgres.log" >&2; die "PostgreSQL did not start in $data (log $dir/postgres.log)"; }
  if ! "$bin/psql" -X -q -At -h "$dir" -p $port -U postgres -d postgres \
      -c "select 1 from pg_database where datname = '$db'" | grep -q 1; then
    "$bin/createdb" -h "$dir" -p $port -U postgres "$db" || die "cannot create database $db in $dir"
  fi
  echo "$dsn"
}

stop() {
  [ -f "$data/PG_VERSION" ] || return 0
  if running; then
    as_pg "$bin/pg_ctl" stop -D "$data" -m fast -w -t 60 >/dev/null || die "PostgreSQL in $data did not stop"
  fi
}

case "$cmd" in
start) start ;;
stop) stop ;;
status) running ;;
dsn) echo "$dsn" ;;
*) usage ;;
esac
