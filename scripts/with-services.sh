#!/usr/bin/env bash
# Usage: scripts/with-services.sh CMD [ARGS...]
#
# Starts throw-away PostgreSQL, Redis and Mosquitto servers in a fresh temporary directory,
# listening on 127.0.0.1 on free ports (never the system services), exports
#
#   CRMOS_TEST_PG_URL=postgresql://postgres@127.0.0.1:PORT/crmos_test   (trust auth)
#   CRMOS_TEST_REDIS_URL=redis://127.0.0.1:PORT/0
#   CRMOS_TEST_MQTT_URL=mqtt://127.0.0.1:PORT
#
# runs CMD, then always stops every server and removes the directory (also when CMD fails
# or the script is interrupted). Exits with CMD's exit status.
#
# PostgreSQL refuses to run as root: when run as root the cluster runs as the `postgres`
# system user (or `nobody` if that user does not exist) via runuser.
#
# Knobs (environment):
#   CRMOS_SERVICES_TIMEOUT   seconds to wait for each server to become ready (default 60)
#   CRMOS_TEST_PG_FSYNC      fsync/synchronous_commit for the test cluster: off (default) or on
set -euo pipefail

die() {
  echo "with-services: $*" >&2
  exit 1
}

(($# > 0)) || die "usage: $0 CMD [ARGS...]"

timeout_s="${CRMOS_SERVICES_TIMEOUT:-60}"
pg_fsync="${CRMOS_TEST_PG_FSYNC:-off}"
[[ "$pg_fsync" == on || "$pg_fsync" == off ]] || die "CRMOS_TEST_PG_FSYNC must be 'on' or 'off'"

# ---------------------------------------------------------------------------------------------
# Locate binaries (fail loudly, naming the Debian package).
# ---------------------------------------------------------------------------------------------
find_bin() { # NAME -> path on stdout (PATH, then the sbin directories)
  local name="$1" d
  if command -v "$name" >/dev/null 2>&1; then
    command -v "$name"
    return 0
  fi
  for d in /usr/sbin /usr/local/sbin /sbin; do
    [[ -x "$d/$name" ]] && { echo "$d/$name"; return 0; }
  done
  return 1
}

pg_bin=""
while IFS= read -r d; do
  if [[ -x "$d/initdb" && -x "$d/pg_ctl" && -x "$d/postgres" && -x "$d/pg_isready" ]]; then
    pg_bin="$d" # sorted ascending: the newest version wins
  fi
done < <(compgen -G '/usr/lib/postgresql/*/bin' | sort -V)
[[ -n "$pg_bin" ]] ||
  die "PostgreSQL server binaries not found in /usr/lib/postgresql/*/bin." \
    "Install the Debian package 'postgresql' (scripts/install-system-deps.sh as root)."

redis_server="$(find_bin redis-server)" ||
  die "redis-server not found. Install the Debian package 'redis-server'."
redis_cli="$(find_bin redis-cli)" ||
  die "redis-cli not found. Install the Debian package 'redis-tools' (comes with 'redis-server')."
mosquitto="$(find_bin mosquitto)" ||
  die "mosquitto not found. Install the Debian package 'mosquitto'."
python="$(find_bin python3)" || die "python3 not found. Install the Debian package 'python3'."

# ---------------------------------------------------------------------------------------------
# Temp dir, users, cleanup.
# ---------------------------------------------------------------------------------------------
pg_user="" # OS user that runs postgres; empty = the current user
if [[ "$(id -u)" -eq 0 ]]; then
  if id -u postgres >/dev/null 2>&1; then
    pg_user=postgres
  elif id -u nobody >/dev/null 2>&1; then
    pg_user=nobody
  else
    die "running as root, but neither a 'postgres' nor a 'nobody' user exists to run PostgreSQL"
  fi
  command -v runuser >/dev/null 2>&1 || die "runuser not found (Debian package 'util-linux')"
  tmp_base=/tmp # must be reachable by $pg_user; root's $TMPDIR may not be
else
  tmp_base="${TMPDIR:-/tmp}"
fi

as_pg() { # run a command as the PostgreSQL OS user
  if [[ -n "$pg_user" ]]; then
    runuser -u "$pg_user" -- "$@"
  else
    "$@"
  fi
}

tmp="$(mktemp -d "$tmp_base/crmos-services.XXXXXX")"
pg_data="$tmp/pg/data"
pg_sock="$tmp/pg"
redis_pid=""
mosq_pid=""
child_pid=""
pg_started=0
cleaned=0

cleanup() {
  ((cleaned)) && return 0
  cleaned=1
  set +e
  if ((pg_started)); then
    as_pg "$pg_bin/pg_ctl" -D "$pg_data" -m immediate -w -t 30 stop >/dev/null 2>&1 ||
      echo "with-services: warning: pg_ctl stop failed" >&2
  fi
  local pid
  for pid in $redis_pid $mosq_pid; do
    kill -TERM "$pid" 2>/dev/null
  done
  for pid in $redis_pid $mosq_pid; do
    # wait (bounded) for our own children, then force
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.05
    done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  rm -rf "$tmp"
}

on_signal() { # SIG EXIT_CODE
  trap - INT TERM
  if [[ -n "$child_pid" ]]; then
    kill "-$1" "$child_pid" 2>/dev/null
    wait "$child_pid" 2>/dev/null
  fi
  cleanup
  exit "$2"
}

trap cleanup EXIT
trap 'on_signal INT 130' INT
trap 'on_signal TERM 143' TERM

fail_with_log() { # MESSAGE LOGFILE
  echo "with-services: $1" >&2
  if [[ -s "$2" ]]; then
    echo "---- $2 (last 30 lines) ----" >&2
    tail -n 30 "$2" >&2
    echo "----" >&2
  fi
  exit 1
}

# wait_ready DESCRIPTION LOGFILE PID_OR_EMPTY CMD...: poll CMD until it succeeds, the
# deadline passes, or the server process dies.
wait_ready() {
  local desc="$1" log="$2" pid="$3"
  shift 3
  local deadline=$((SECONDS + timeout_s))
  until "$@" >/dev/null 2>&1; do
    if [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null; then
      fail_with_log "$desc exited during start-up" "$log"
    fi
    ((SECONDS < deadline)) || fail_with_log "$desc not ready after ${timeout_s}s" "$log"
    sleep 0.05
  done
}

# Three distinct free loopback ports (all sockets held open until all are chosen).
read -r pg_port redis_port mqtt_port < <(
  "$python" - <<'PY'
import socket
socks = []
for _ in range(3):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(*(s.getsockname()[1] for s in socks))
for s in socks:
    s.close()
PY
)

mkdir -p "$tmp/pg" "$tmp/redis" "$tmp/mosquitto"
if [[ -n "$pg_user" ]]; then
  chown -R "$pg_user:" "$tmp"
  chmod 0711 "$tmp"
fi

# ---------------------------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------------------------
pg_log="$tmp/pg/server.log"
init_log="$tmp/pg/initdb.log"
as_pg "$pg_bin/initdb" -D "$pg_data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
  --no-sync >"$init_log" 2>&1 ||
  as_pg "$pg_bin/initdb" -D "$pg_data" -U postgres --auth=trust -E UTF8 --locale=C \
    --no-sync >"$init_log" 2>&1 ||
  fail_with_log "initdb failed" "$init_log"

cat >>"$pg_data/postgresql.conf" <<EOF

# crmos throw-away test cluster (scripts/with-services.sh)
listen_addresses = '127.0.0.1'
port = $pg_port
unix_socket_directories = '$pg_sock'
max_connections = 200
fsync = $pg_fsync
synchronous_commit = $pg_fsync
full_page_writes = $pg_fsync
log_min_messages = warning
EOF

as_pg "$pg_bin/pg_ctl" -D "$pg_data" -l "$pg_log" -W start >/dev/null 2>&1 ||
  fail_with_log "pg_ctl start failed" "$pg_log"
pg_started=1
pg_alive() { [[ -f "$pg_data/postmaster.pid" ]] || [[ ! -s "$pg_log" ]] || ! grep -q FATAL "$pg_log"; }
deadline=$((SECONDS + timeout_s))
until "$pg_bin/pg_isready" -q -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres; do
  pg_alive || fail_with_log "PostgreSQL exited during start-up" "$pg_log"
  ((SECONDS < deadline)) || fail_with_log "PostgreSQL not ready after ${timeout_s}s" "$pg_log"
  sleep 0.05
done
"$pg_bin/createdb" -h 127.0.0.1 -p "$pg_port" -U postgres crmos_test ||
  fail_with_log "createdb crmos_test failed" "$pg_log"

# ---------------------------------------------------------------------------------------------
# Redis
# ---------------------------------------------------------------------------------------------
redis_log="$tmp/redis/server.log"
"$redis_server" --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
  --dir "$tmp/redis" --daemonize no --protected-mode no --logfile '' \
  </dev/null >"$redis_log" 2>&1 &
redis_pid=$!
redis_ping() { [[ "$("$redis_cli" -h 127.0.0.1 -p "$redis_port" ping 2>/dev/null)" == PONG ]]; }
wait_ready "redis-server" "$redis_log" "$redis_pid" redis_ping

# ---------------------------------------------------------------------------------------------
# Mosquitto
# ---------------------------------------------------------------------------------------------
mosq_conf="$tmp/mosquitto/mosquitto.conf"
mosq_log="$tmp/mosquitto/server.log"
cat >"$mosq_conf" <<EOF
listener $mqtt_port 127.0.0.1
allow_anonymous true
persistence false
log_dest stderr
EOF
"$mosquitto" -c "$mosq_conf" </dev/null >"$mosq_log" 2>&1 &
mosq_pid=$!
tcp_open() { # PORT
  "$python" -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.5).close()' "$1"
}
wait_ready "mosquitto" "$mosq_log" "$mosq_pid" tcp_open "$mqtt_port"

# ---------------------------------------------------------------------------------------------
# Run the command
# ---------------------------------------------------------------------------------------------
export CRMOS_TEST_PG_URL="postgresql://postgres@127.0.0.1:$pg_port/crmos_test"
export CRMOS_TEST_REDIS_URL="redis://127.0.0.1:$redis_port/0"
export CRMOS_TEST_MQTT_URL="mqtt://127.0.0.1:$mqtt_port"

# Run in the background (so INT/TERM traps fire at once and are forwarded), keeping stdin.
set +e
"$@" <&0 &
child_pid=$!
wait "$child_pid"
rc=$?
child_pid=""
set -e
exit "$rc"
