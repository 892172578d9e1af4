#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The test servers: a PostgreSQL primary + streaming replica and a MariaDB server, private, on 127.0.0.1 only.
#
#   tests/support/servers.sh start      install what is missing (Debian packages), start all three (idempotent)
#   tests/support/servers.sh stop       stop all three and remove their folder (succeeds if nothing runs)
#   eval "$(tests/support/servers.sh env)"   export SWITCHBOARD_TEST_* (URLs, data dirs, pid file, socket)
#   tests/support/servers.sh status     what runs (exit 0 only if all three run)
#   For fault tests (bounded, keep the data):
#   tests/support/servers.sh restart-pg [primary|replica|all] [fast|smart|immediate]   default: primary fast
#   tests/support/servers.sh stop-pg|start-pg [primary|replica|all] [mode]             default: primary
#   tests/support/servers.sh restart-mysql|stop-mysql [term|kill]                       default: term (clean)
#   tests/support/servers.sh start-mysql
#
# Settings (environment): SWITCHBOARD_SERVERS_DIR (/tmp/switchboard-servers), SWITCHBOARD_PG_PORT (54320),
# SWITCHBOARD_PG_REPLICA_PORT (54321), SWITCHBOARD_MYSQL_PORT (33060), SWITCHBOARD_PG_BIN (newest
# /usr/lib/postgresql/*/bin), SWITCHBOARD_SERVERS_TIMEOUT (60 s per server start). `start` records the
# ports in the folder; later calls naming the folder use them unless the environment sets others.
# Run as root, the servers run as the `postgres` and `mysql` OS users; run as another user, as that user.
# Test-only settings: trust authentication for 127.0.0.1 on PostgreSQL, fsync off, small buffers.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
project=$(cd "$here/../.." && pwd)
self="$here/$(basename "${BASH_SOURCE[0]}")"
cd /   # the servers' OS users may not be allowed into the caller's directory

# Client settings from the caller's environment must not redirect our admin connections.
for v in $(compgen -e); do
  case $v in PG* | MYSQL_HOST | MYSQL_TCP_PORT | MYSQL_UNIX_PORT | MYSQL_PWD) unset "$v" ;; esac
done

dir=${SWITCHBOARD_SERVERS_DIR:-/tmp/switchboard-servers}
dir=${dir%/}
# `start` records the ports in the folder, so a later call that names only the folder (a fault test
# restarting its servers) acts on that instance's ports. The environment still wins, then the defaults.
ports_file="$dir/ports"
recorded_port() {
  local v=
  [ -r "$ports_file" ] && v=$(sed -n "s/^$1=\([0-9]\{1,5\}\)\$/\1/p" "$ports_file" 2>/dev/null | head -n 1) || v=
  echo "$v"
}
pg_port=${SWITCHBOARD_PG_PORT:-$(recorded_port pg_port)}
pg_port=${pg_port:-54320}
pg_replica_port=${SWITCHBOARD_PG_REPLICA_PORT:-$(recorded_port pg_replica_port)}
pg_replica_port=${pg_replica_port:-54321}
my_port=${SWITCHBOARD_MYSQL_PORT:-$(recorded_port my_port)}
my_port=${my_port:-33060}
wait_s=${SWITCHBOARD_SERVERS_TIMEOUT:-60}
replication_wait_s=30

db_user=switchboard
db_password=sb-test-pw
db_name=switchboard
pg_url="postgresql://$db_user:$db_password@127.0.0.1:$pg_port/$db_name"
pg_replica_url="postgresql://$db_user:$db_password@127.0.0.1:$pg_replica_port/$db_name"
my_url="mysql://$db_user:$db_password@127.0.0.1:$my_port/$db_name"
# MariaDB: `switchboard` is a plain application account (+ PROCESS). It may KILL its own sessions without
# any privilege. CONNECTION ADMIN (or SUPER) would give it the reserved connection beyond max_connections
# and skip init_connect and max_user_connections (observed on 10.11), so tests would not see what an
# application sees. Tests that must KILL another account's session, or SET GLOBAL read_only (needs
# READ_ONLY ADMIN, which also exempts from read_only) or max_connections, use the admin account.
my_admin=switchboard_admin
my_admin_url="mysql://$my_admin:$db_password@127.0.0.1:$my_port/$db_name"

marker="$dir/.switchboard-servers"       # only a folder holding this file is ever wiped
pg_dir="$dir/pg"                          # owned by the postgres OS user; also the unix socket directory
pg_primary="$pg_dir/primary"
pg_replica="$pg_dir/replica"
my_dir="$dir/mysql"                       # owned by the mysql OS user
my_cnf="$my_dir/my.cnf"
my_data="$my_dir/data"
my_sock="$my_dir/mariadb.sock"
my_pidfile="$my_dir/mariadb.pid"
my_log="$my_dir/mariadb.log"

if [ "$(id -u)" -eq 0 ]; then
  pg_os_user=postgres
  my_os_user=mysql
else
  pg_os_user=$(id -un)
  my_os_user=$pg_os_user
fi
my_socket_user=$(id -un)   # mariadb-install-db's unix_socket account: root, or the invoking user

pg_bin=${SWITCHBOARD_PG_BIN:-}
detect_pg_bin() {
  if [ -z "$pg_bin" ]; then
    pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  fi
}
detect_pg_bin

say() { echo "servers: $*"; }
die() {
  echo "servers: ERROR: $*" >&2
  exit 1
}

# as_user <os user> <command...>: run as that user (exec, no lingering parent), clean environment.
as_user() {
  local u=$1
  shift
  if [ "$(id -u)" -eq 0 ]; then
    setpriv --reuid="$u" --regid="$u" --init-groups --reset-env -- "$@"
  else
    "$@"
  fi
}
as_pg() { as_user "$pg_os_user" "$@"; }
as_my() { as_user "$my_os_user" "$@"; }

# alive <pid>: the process exists and is not a zombie.
alive() {
  local pid=$1 state
  [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || return 1
  state=$(sed -E 's/^[0-9]+ \(.*\) (.).*/\1/' "/proc/$pid/stat" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ]
}

# port_open <port>: something listens on TCP <port> (any address). Read from /proc/net/tcp{,6} rather
# than by connecting, which MariaDB would log as an aborted connection.
port_open() {
  if [ -r /proc/net/tcp ]; then
    awk -v p=":$(printf '%04X' "$1")" '$4 == "0A" && substr($2, length($2) - 4) == p { f = 1 } END { exit !f }' \
      /proc/net/tcp /proc/net/tcp6 2>/dev/null
  else
    timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
  fi
}

log_tail() {
  local f=$1
  echo "----- last lines of $f" >&2
  tail -n 30 "$f" >&2 2>/dev/null || echo "(no log)" >&2
  echo "-----" >&2
}

# ---------------------------------------------------------------- PostgreSQL

pg_data_of() { if [ "$1" = replica ]; then echo "$pg_replica"; else echo "$pg_primary"; fi; }
pg_port_of() { if [ "$1" = replica ]; then echo "$pg_replica_port"; else echo "$pg_port"; fi; }
pg_pid() { head -n 1 "$1/postmaster.pid" 2>/dev/null || true; }
pg_alive() { alive "$(pg_pid "$1")"; }
pg_ready() { timeout 5 "$pg_bin/pg_isready" -q -h 127.0.0.1 -p "$1" -U postgres -d postgres -t 3 >/dev/null 2>&1; }
pg_running() { [ -n "$pg_bin" ] && pg_alive "$(pg_data_of "$1")" && pg_ready "$(pg_port_of "$1")"; }

# pg_sql <which> <database> <psql args...>: as the bootstrap superuser `postgres`, over the unix socket.
pg_sql() {
  local which=$1 db=$2
  shift 2
  PGCONNECT_TIMEOUT=5 timeout 30 "$pg_bin/psql" -X -q -At -v ON_ERROR_STOP=1 \
    -h "$pg_dir" -p "$(pg_port_of "$which")" -U postgres -d "$db" "$@"
}

# pg_start <which>: start an existing data directory and wait until it accepts connections.
pg_start() {
  local which=$1 data port log
  data=$(pg_data_of "$which")
  port=$(pg_port_of "$which")
  log="$pg_dir/$which.log"
  [ -f "$data/PG_VERSION" ] || die "PostgreSQL $which: no data directory at $data (run: $self start)"
  if pg_running "$which"; then return 0; fi
  port_open "$port" && die "PostgreSQL $which: port $port on 127.0.0.1 is taken by another program"
  as_pg "$pg_bin/pg_ctl" -D "$data" -l "$log" -W -s start </dev/null >/dev/null 9>&- ||
    { log_tail "$log"; die "PostgreSQL $which: pg_ctl start failed"; }
  local start=$SECONDS
  until pg_ready "$port"; do
    if [ $((SECONDS - start)) -ge 2 ] && ! pg_alive "$data"; then
      log_tail "$log"
      die "PostgreSQL $which exited during startup (log: $log)"
    fi
    if [ $((SECONDS - start)) -ge "$wait_s" ]; then
      log_tail "$log"
      die "PostgreSQL $which did not accept connections on 127.0.0.1:$port within $wait_s s (log: $log)"
    fi
    sleep 0.2
  done
}

# pg_stop <which> [smart|fast|immediate]: bounded; escalates to immediate, then SIGKILL.
pg_stop() {
  local which=$1 mode=${2:-fast} data pid
  data=$(pg_data_of "$which")
  pid=$(pg_pid "$data")
  alive "$pid" || return 0
  if [ -n "$pg_bin" ] && as_pg "$pg_bin/pg_ctl" -D "$data" -m "$mode" -w -t 30 -s stop >/dev/null 2>&1; then
    return 0
  fi
  [ "$mode" = immediate ] || as_pg "$pg_bin/pg_ctl" -D "$data" -m immediate -w -t 15 -s stop >/dev/null 2>&1 || true
  if alive "$pid"; then
    kill -KILL "$pid" 2>/dev/null || true
    local start=$SECONDS
    while alive "$pid" && [ $((SECONDS - start)) -lt 10 ]; do sleep 0.2; done
  fi
  alive "$pid" && die "PostgreSQL $which (pid $pid) did not stop"
  return 0
}

pg_write_config() {
  cat >>"$pg_primary/postgresql.conf" <<EOF

# ---- switchboard test server (tests/support/servers.sh); the replica appends its port below
listen_addresses = '127.0.0.1'
port = $pg_port
unix_socket_directories = '$pg_dir'
unix_socket_permissions = 0700
max_connections = 100
shared_buffers = 64MB
wal_level = replica
max_wal_senders = 10
max_replication_slots = 10
wal_keep_size = 256MB
hot_standby = on
wal_retrieve_retry_interval = 1s
fsync = off
synchronous_commit = off
lc_messages = 'C'
timezone = 'UTC'
log_timezone = 'UTC'
log_line_prefix = '%m [%p] %q%u@%d '
EOF
  cat >"$pg_primary/pg_hba.conf" <<'EOF'
# switchboard test server: trust, on the private unix socket and 127.0.0.1 only
local   all          all                  trust
host    all          all    127.0.0.1/32  trust
local   replication  all                  trust
host    replication  all    127.0.0.1/32  trust
EOF
}

pg_create() {
  local t0=$SECONDS locale=C.UTF-8
  locale -a 2>/dev/null | grep -qix 'c\.utf-\?8' || locale=C
  as_pg "$pg_bin/initdb" -D "$pg_primary" -U postgres -A trust -E UTF8 --locale="$locale" --no-sync \
    >"$pg_dir/initdb.log" 2>&1 || { log_tail "$pg_dir/initdb.log"; die "PostgreSQL: initdb failed"; }
  pg_write_config
  pg_start primary
  pg_sql primary postgres >/dev/null <<EOF || die "PostgreSQL: could not create role and database $db_name"
CREATE ROLE $db_user LOGIN SUPERUSER PASSWORD '$db_password';
CREATE DATABASE $db_name OWNER $db_user;
EOF
  say "PostgreSQL primary up on 127.0.0.1:$pg_port ($((SECONDS - t0)) s)"

  t0=$SECONDS
  as_pg timeout 120 "$pg_bin/pg_basebackup" -D "$pg_replica" -R -X stream -c fast -N \
    -d "host=127.0.0.1 port=$pg_port user=postgres application_name=switchboard_replica" \
    >"$pg_dir/basebackup.log" 2>&1 || { log_tail "$pg_dir/basebackup.log"; die "PostgreSQL: pg_basebackup failed"; }
  cat >>"$pg_replica/postgresql.conf" <<EOF
# ---- switchboard replica: its own port (later settings win)
port = $pg_replica_port
EOF
  pg_start replica
  [ "$(pg_sql replica postgres -c 'SELECT pg_is_in_recovery()')" = t ] ||
    die "PostgreSQL replica on port $pg_replica_port is not in recovery (not a standby)"

  # Really replicates: a row written on the primary shows up on the replica.
  local token="probe-$$-$RANDOM"
  pg_sql primary "$db_name" >/dev/null <<EOF || die "PostgreSQL: could not write the replication probe"
CREATE TABLE switchboard_servers_probe (token text NOT NULL);
INSERT INTO switchboard_servers_probe VALUES ('$token');
EOF
  local start=$SECONDS
  until [ "$(pg_sql replica "$db_name" -c "SELECT to_regclass('public.switchboard_servers_probe') IS NOT NULL" 2>/dev/null)" = t ] &&
    [ "$(pg_sql replica "$db_name" -c "SELECT count(*) FROM switchboard_servers_probe WHERE token = '$token'" 2>/dev/null)" = 1 ]; do
    if [ $((SECONDS - start)) -ge "$replication_wait_s" ]; then
      log_tail "$pg_dir/replica.log"
      die "PostgreSQL replica did not receive a row written on the primary within $replication_wait_s s"
    fi
    sleep 0.2
  done
  pg_sql primary "$db_name" -c 'DROP TABLE switchboard_servers_probe' >/dev/null
  say "PostgreSQL replica up on 127.0.0.1:$pg_replica_port, streaming from the primary ($((SECONDS - t0)) s)"
}

# ---------------------------------------------------------------- MariaDB

my_pid() { head -n 1 "$my_pidfile" 2>/dev/null || true; }
my_ping() {
  timeout 5 mariadb-admin --no-defaults --protocol=socket --socket="$my_sock" -u "$my_socket_user" \
    --connect-timeout=3 ping >/dev/null 2>&1
}
my_running() { alive "$(my_pid)" && my_ping && port_open "$my_port"; }

my_sql() {
  timeout 30 mariadb --no-defaults --protocol=socket --socket="$my_sock" -u "$my_socket_user" \
    --connect-timeout=5 --batch --skip-column-names "$@"
}

# my_start: start an existing data directory and wait until it answers (socket ping + TCP port).
my_start() {
  [ -d "$my_data/mysql" ] || die "MariaDB: no data directory at $my_data (run: $self start)"
  if my_running; then return 0; fi
  port_open "$my_port" && die "MariaDB: port $my_port on 127.0.0.1 is taken by another program"
  rm -f "$my_pidfile"
  # setsid: its own session, so the caller's Ctrl-C or exit does not reach it; setpriv execs (no
  # lingering parent); 9>&-: the server must not inherit our lock.
  local runas=()
  [ "$(id -u)" -ne 0 ] || runas=(setpriv --reuid="$my_os_user" --regid="$my_os_user" --init-groups --reset-env --)
  setsid "${runas[@]}" /usr/sbin/mariadbd --defaults-file="$my_cnf" </dev/null >>"$my_dir/mariadbd.out" 2>&1 9>&- &
  local launcher=$! start=$SECONDS
  until my_ping && port_open "$my_port"; do
    if [ $((SECONDS - start)) -ge 2 ] && ! alive "$(my_pid)" && ! alive "$launcher"; then
      log_tail "$my_log"
      die "MariaDB exited during startup (log: $my_log)"
    fi
    if [ $((SECONDS - start)) -ge "$wait_s" ]; then
      log_tail "$my_log"
      die "MariaDB did not answer on 127.0.0.1:$my_port within $wait_s s (log: $my_log)"
    fi
    sleep 0.2
  done
}

# my_stop [term|kill]: term is MariaDB's clean shutdown; bounded, then SIGKILL.
my_stop() {
  local how=${1:-term} pid
  pid=$(my_pid)
  alive "$pid" || return 0
  if [ "$how" = kill ]; then kill -KILL "$pid" 2>/dev/null || true; else kill -TERM "$pid" 2>/dev/null || true; fi
  local start=$SECONDS
  while alive "$pid" && [ $((SECONDS - start)) -lt 30 ]; do sleep 0.2; done
  if alive "$pid"; then
    kill -KILL "$pid" 2>/dev/null || true
    start=$SECONDS
    while alive "$pid" && [ $((SECONDS - start)) -lt 10 ]; do sleep 0.2; done
  fi
  alive "$pid" && die "MariaDB (pid $pid) did not stop"
  return 0
}

my_create() {
  local t0=$SECONDS
  cat >"$my_cnf" <<EOF
# switchboard test server (tests/support/servers.sh)
[client-server]
port = $my_port
socket = $my_sock

[mysqld]
datadir = $my_data
pid-file = $my_pidfile
log-error = $my_log
tmpdir = $my_dir/tmp
bind-address = 127.0.0.1
skip-name-resolve
max_connections = 200
character-set-server = utf8mb4
collation-server = utf8mb4_general_ci
default-time-zone = '+00:00'
lc-messages = en_US
performance_schema = OFF
innodb_buffer_pool_size = 64M
innodb_log_file_size = 32M
innodb_flush_log_at_trx_commit = 0
EOF
  chmod 0644 "$my_cnf"
  as_my mkdir -p "$my_dir/tmp"
  as_my /usr/bin/mariadb-install-db --defaults-file="$my_cnf" --datadir="$my_data" \
    --auth-root-authentication-method=socket --auth-root-socket-user="$my_socket_user" \
    --skip-test-db --skip-name-resolve \
    >"$my_dir/install-db.log" 2>&1 || { log_tail "$my_dir/install-db.log"; die "MariaDB: mariadb-install-db failed"; }
  my_start
  my_sql <<EOF || die "MariaDB: could not create user and database $db_name"
CREATE DATABASE $db_name CHARACTER SET utf8mb4;
CREATE USER '$db_user'@'127.0.0.1' IDENTIFIED BY '$db_password';
CREATE USER '$db_user'@'localhost' IDENTIFIED BY '$db_password';
GRANT ALL PRIVILEGES ON $db_name.* TO '$db_user'@'127.0.0.1', '$db_user'@'localhost';
GRANT PROCESS ON *.* TO '$db_user'@'127.0.0.1', '$db_user'@'localhost';
CREATE USER '$my_admin'@'127.0.0.1' IDENTIFIED BY '$db_password';
CREATE USER '$my_admin'@'localhost' IDENTIFIED BY '$db_password';
GRANT ALL PRIVILEGES ON *.* TO '$my_admin'@'127.0.0.1', '$my_admin'@'localhost';
EOF
  say "MariaDB up on 127.0.0.1:$my_port ($((SECONDS - t0)) s)"
}

# ---------------------------------------------------------------- the folder

# Processes of ours whose folder is gone or whose pid file was lost: postgres/mariadbd started with a
# path inside $dir on their command line. Nothing else is touched.
sweep_orphans() {
  local p exe cmd pids=()
  for p in /proc/[0-9]*; do
    exe=$(readlink "$p/exe" 2>/dev/null) || continue
    case ${exe##*/} in postgres | mariadbd) ;; *) continue ;; esac
    cmd=$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null) || continue
    case $cmd in *" -D $dir/"* | *"--defaults-file=$dir/"*) pids+=("${p#/proc/}") ;; esac
  done
  [ ${#pids[@]} -eq 0 ] && return 0
  say "stopping leftover servers of $dir: pids ${pids[*]}"
  kill -INT "${pids[@]}" 2>/dev/null || true   # postgres: fast shutdown; mariadbd: ignored
  kill -TERM "${pids[@]}" 2>/dev/null || true
  local start=$SECONDS q
  for q in "${pids[@]}"; do
    while alive "$q" && [ $((SECONDS - start)) -lt 30 ]; do sleep 0.2; done
    alive "$q" && kill -KILL "$q" 2>/dev/null || true
  done
  return 0
}

# ours_or_absent: the folder is absent, empty, or made by this script; anything else is never touched.
ours_or_absent() {
  [ -e "$dir" ] || return 0
  [ -d "$dir" ] || die "$dir exists and is not a directory (set SWITCHBOARD_SERVERS_DIR)"
  if [ -n "$(ls -A "$dir")" ] && [ ! -f "$marker" ]; then
    die "$dir is not empty and was not made by this script; not touching it (set SWITCHBOARD_SERVERS_DIR)"
  fi
}

wipe_dir() {
  ours_or_absent
  rm -rf "$dir"
}

record_ports() {
  printf 'pg_port=%s\npg_replica_port=%s\nmy_port=%s\n' "$pg_port" "$pg_replica_port" "$my_port" >"$ports_file"
}

make_dirs() {
  mkdir -p "$dir"
  chmod 0755 "$dir"            # traversable by the postgres and mysql users
  touch "$marker"
  record_ports
  mkdir -p "$pg_dir" "$my_dir"
  chown "$pg_os_user:" "$pg_dir"
  chown "$my_os_user:" "$my_dir"
  chmod 0700 "$pg_dir"
  chmod 0750 "$my_dir"
}

stop_all() {
  pg_stop replica fast
  pg_stop primary fast
  my_stop term
  sweep_orphans
}

all_running() { [ -f "$marker" ] && pg_running primary && pg_running replica && my_running; }

# lock: one start/stop/restart at a time (bounded wait).
lock() {
  local lockfile="$dir.lock"
  if { exec 9>>"$lockfile"; } 2>/dev/null; then
    flock -w 180 9 || die "another servers.sh holds $lockfile for more than 180 s"
  fi
}

install_packages() {
  # shellcheck source=../../scripts/deps.sh
  source "$project/scripts/deps.sh"
  local p missing=()
  for p in "${switchboard_server_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  # Keep the distribution's own service instances (5432, 3306) from starting during the install.
  local policy=/usr/sbin/policy-rc.d made=
  if [ "$(id -u)" -eq 0 ] && [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 0755 "$policy" && made=1
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  local rc=0
  switchboard_install_missing "${missing[@]}" || rc=$?
  if [ -n "$made" ]; then rm -f "$policy"; trap - EXIT; fi
  [ "$rc" -eq 0 ] || die "installing ${missing[*]} failed"
  pg_bin=${SWITCHBOARD_PG_BIN:-}
  detect_pg_bin
}

# ---------------------------------------------------------------- commands

print_urls() {
  echo "  PostgreSQL primary  $pg_url"
  echo "  PostgreSQL replica  $pg_replica_url"
  echo "  MariaDB             $my_url"
  echo "  MariaDB (admin)     $my_admin_url"
  echo "  use them: eval \"\$($self env)\""
}

cmd_start() {
  lock
  install_packages
  [ -n "$pg_bin" ] && [ -x "$pg_bin/initdb" ] ||
    die "no PostgreSQL server binaries (looked for /usr/lib/postgresql/*/bin/initdb; set SWITCHBOARD_PG_BIN)"
  command -v mariadb-install-db >/dev/null && [ -x /usr/sbin/mariadbd ] || die "no MariaDB server (mariadb-server)"
  case $dir in /*) ;; *) die "SWITCHBOARD_SERVERS_DIR must be an absolute path: $dir" ;; esac
  [ $((${#dir} + 24)) -lt 104 ] || die "SWITCHBOARD_SERVERS_DIR is too long for unix socket paths: $dir"

  if all_running; then
    record_ports   # just checked: all three answer on these ports
    say "already running in $dir"
    print_urls
    return 0
  fi
  local t0=$SECONDS
  ours_or_absent
  if [ -e "$dir" ]; then
    say "cleaning up $dir (servers not all running)"
    stop_all
  else
    sweep_orphans
  fi
  wipe_dir
  local p
  for p in "$pg_port" "$pg_replica_port" "$my_port"; do
    port_open "$p" && die "port $p on 127.0.0.1 is taken by another program; free it or set SWITCHBOARD_*_PORT"
  done
  make_dirs
  pg_create
  my_create
  say "all up in $((SECONDS - t0)) s; folder $dir, logs $pg_dir/*.log and $my_log"
  print_urls
}

cmd_stop() {
  lock
  local t0=$SECONDS
  ours_or_absent
  stop_all
  wipe_dir
  say "stopped ($((SECONDS - t0)) s)"
}

cmd_env() {
  local q
  for q in \
    SWITCHBOARD_TEST_PG_URL="$pg_url" \
    SWITCHBOARD_TEST_PG_REPLICA_URL="$pg_replica_url" \
    SWITCHBOARD_TEST_MYSQL_URL="$my_url" \
    SWITCHBOARD_TEST_MYSQL_ADMIN_URL="$my_admin_url" \
    SWITCHBOARD_TEST_SERVERS_DIR="$dir" \
    SWITCHBOARD_TEST_SERVERS_SCRIPT="$self" \
    SWITCHBOARD_TEST_PG_BIN="$pg_bin" \
    SWITCHBOARD_TEST_PG_DATA="$pg_primary" \
    SWITCHBOARD_TEST_PG_REPLICA_DATA="$pg_replica" \
    SWITCHBOARD_TEST_MYSQL_PIDFILE="$my_pidfile" \
    SWITCHBOARD_TEST_MYSQL_SOCKET="$my_sock"; do
    printf 'export %s=%q\n' "${q%%=*}" "${q#*=}"
  done
  [ -f "$marker" ] || echo "servers: note: not started (run: $self start)" >&2
}

cmd_status() {
  local ok=0 which pid
  echo "switchboard test servers in $dir"
  for which in primary replica; do
    pid=$(pg_pid "$(pg_data_of "$which")")
    if pg_running "$which"; then
      local rec
      rec=$(pg_sql "$which" postgres -c 'SELECT pg_is_in_recovery()' 2>/dev/null || echo '?')
      case $rec in t) rec="standby (in recovery)" ;; f) rec="read-write" ;; esac
      printf '  %-20s 127.0.0.1:%-6s running, pid %s, %s\n' "PostgreSQL $which" "$(pg_port_of "$which")" "$pid" "$rec"
    else
      printf '  %-20s 127.0.0.1:%-6s not running\n' "PostgreSQL $which" "$(pg_port_of "$which")"
      ok=1
    fi
  done
  if my_running; then
    printf '  %-20s 127.0.0.1:%-6s running, pid %s\n' MariaDB "$my_port" "$(my_pid)"
  else
    printf '  %-20s 127.0.0.1:%-6s not running\n' MariaDB "$my_port"
    ok=1
  fi
  return $ok
}

main() {
  local cmd=${1:-}
  [ $# -gt 0 ] && shift
  case $cmd in
    start) cmd_start ;;
    stop) cmd_stop ;;
    env) cmd_env ;;
    status) cmd_status ;;
    restart-pg | stop-pg | start-pg)
      local w targets mode=${2:-fast} t0=$SECONDS
      case ${1:-primary} in
        primary | replica) targets=${1:-primary} ;;
        all) targets="primary replica" ;;
        *) die "expected primary, replica or all, got: $1" ;;
      esac
      case $mode in smart | fast | immediate) ;; *) die "expected smart, fast or immediate, got: $mode" ;; esac
      lock
      for w in $targets; do
        [ "$cmd" = start-pg ] || pg_stop "$w" "$mode"
        [ "$cmd" = stop-pg ] || pg_start "$w"
      done
      say "$cmd ${1:-primary} done ($((SECONDS - t0)) s)"
      ;;
    restart-mysql | stop-mysql | start-mysql)
      lock
      local how=${1:-term} t0=$SECONDS
      case $how in term | kill) ;; *) die "expected term or kill, got: $how" ;; esac
      [ "$cmd" = start-mysql ] || my_stop "$how"
      [ "$cmd" = stop-mysql ] || my_start
      say "$cmd done ($((SECONDS - t0)) s)"
      ;;
    *)
      sed -n '3,20p' "$self" | sed 's/^# \{0,1\}//' >&2
      exit 2
      ;;
  esac
}

main "$@"
