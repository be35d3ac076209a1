# A throwaway PostgreSQL server on loopback for the process tests (source this file).
# pg_start: initdb in a temporary directory (as the `postgres` user when run as root),
# start on a free port; returns 1 with PG_WHY set when PostgreSQL is not available.
# pg_new_db NAME: prints the URL of a new, empty database. pg_stop: stop and remove.
pg_start() {
  PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2> /dev/null | sort -V | tail -1)
  if [ -z "$PG_BIN" ] || [ ! -x "$PG_BIN/initdb" ]; then
    PG_WHY="PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb)"
    return 1
  fi
  PG_DIR=$(mktemp -d /tmp/tml-pg-XXXXXX)
  PG_AS=()
  if [ "$(id -u)" = 0 ]; then
    chown postgres: "$PG_DIR" || { PG_WHY="running as root and there is no postgres user"; return 1; }
    PG_AS=(runuser -u postgres --)
  fi
  if ! "${PG_AS[@]}" "$PG_BIN/initdb" -D "$PG_DIR/data" -A trust -U postgres --no-sync -E UTF8 \
    > "$PG_DIR/initdb.log" 2>&1; then
    PG_WHY="initdb failed: $(tail -3 "$PG_DIR/initdb.log")"
    return 1
  fi
  for _ in 1 2 3 4 5; do
    PG_PORT=$((20000 + RANDOM % 30000))
    if "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w -o \
      "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off" start > /dev/null 2>&1; then
      return 0
    fi
  done
  PG_WHY="pg_ctl start failed: $(tail -3 "$PG_DIR/log")"
  return 1
}

pg_new_db() {
  "$PG_BIN/psql" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -c "CREATE DATABASE $1" \
    > /dev/null && echo "postgresql://postgres@127.0.0.1:$PG_PORT/$1"
}

pg_stop() {
  [ -n "${PG_DIR:-}" ] || return 0
  "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop > /dev/null 2>&1
  rm -rf "$PG_DIR"
  PG_DIR=""
}
