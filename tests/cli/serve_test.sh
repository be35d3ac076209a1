#!/usr/bin/env bash
# The control plane as processes, on SQLite and on PostgreSQL (a throwaway server on
# loopback): `token create`, `serve`, `worker` processes sharing one queue.
# - A worker is killed (-9) while it runs a job: the other takes the job over when the
#   lease runs out and finishes it.
# - A running job is cancelled through the API: it ends as cancelled within seconds.
# - SIGTERM to a worker, then to a serve with an in-process worker, each in the middle of
#   a job: the process exits promptly and the job goes back to the queue.
# Usage: serve_test.sh TINYMLAAS
set -u
TML="$1"
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=pg_server.sh
source "$HERE/pg_server.sh"
WORK=$(mktemp -d)
pids=()
trap 'kill -9 "${pids[@]}" 2>/dev/null; wait 2>/dev/null; pg_stop; rm -rf "$WORK"' EXIT
pass=0; fail=0
check() {  # check NAME CONDITION-COMMAND...
  local name="$1"; shift
  if "$@"; then pass=$((pass + 1)); echo "ok   $name"; else fail=$((fail + 1)); echo "FAIL $name"; fi
}
FM=/usr/share/datasets/fashion-mnist
SPEC="$HERE/../../examples/models/tiny_cnn.yaml"
# The first 2000 of Fashion-MNIST's test samples as IDX files: epochs of a second or two.
subset_idx() {  # subset_idx SRC DST HEADER_BYTES SAMPLE_BYTES
  { zcat "$1" | head -c 4; printf '\x00\x00\x07\xd0'
    zcat "$1" | tail -c +9 | head -c $(( $3 - 8 + 2000 * $4 )); } > "$2"
}
subset_idx "$FM/t10k-images-idx3-ubyte.gz" "$WORK/images-idx3-ubyte" 16 784
subset_idx "$FM/t10k-labels-idx1-ubyte.gz" "$WORK/labels-idx1-ubyte" 8 1

# Starts `serve` with the given options; sets PORT, returns its pid in SERVE_PID.
start_serve() {  # start_serve LOG OPTIONS...
  local log="$1"; shift
  "$TML" serve --port 0 --workspace "$WS" --lease 2 "$@" > "$log" 2>&1 &
  SERVE_PID=$!; pids+=("$SERVE_PID")
  for _ in $(seq 100); do grep -q "^serving" "$log" && break; sleep 0.1; done
  PORT=$(sed -n 's|^serving http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$log")
}
api() { curl -s -H "Authorization: Bearer $TOKEN" "$@"; }
job() { api "http://127.0.0.1:$PORT/api/jobs/$1"; }
wait_status() {  # wait_status JOB STATUS SECONDS
  for _ in $(seq $(($3 * 5))); do job "$1" | grep -q "\"status\":\"$2\"" && return 0; sleep 0.2; done
  return 1
}
# Waits until the job's events include one of the type (training has begun its epochs).
wait_event() {  # wait_event JOB TYPE SECONDS
  for _ in $(seq $(($3 * 5))); do
    api "http://127.0.0.1:$PORT/api/jobs/$1/events" | grep -q "\"type\":\"$2\"" && return 0
    sleep 0.2
  done
  return 1
}
submit_train() {  # submit_train EPOCHS: prints the job id
  api -H 'Content-Type: application/json' -d '{"kind": "train", "params":
    {"spec": "'"$SPEC"'", "data": "fm", "epochs": '"$1"', "batch": 64}}' \
    "http://127.0.0.1:$PORT/api/jobs" | sed -n 's/.*"id":\([0-9]*\).*/\1/p'
}
exits_within() {  # exits_within PID SECONDS
  for _ in $(seq $(($2 * 10))); do kill -0 "$1" 2> /dev/null || return 0; sleep 0.1; done
  return 1
}

scenario() {  # scenario NAME (TINYMLAAS_DB set for PostgreSQL)
  local b="$1"
  WS="$WORK/$b"
  TOKEN=$("$TML" token create ci --workspace "$WS" 2> /dev/null)
  check "$b: token create prints a 64-hex token" grep -Eq '^[0-9a-f]{64}$' <<< "$TOKEN"
  "$TML" data import fm --workspace "$WS" --idx "$WORK/images-idx3-ubyte" \
    "$WORK/labels-idx1-ubyte" > /dev/null 2>&1
  start_serve "$WORK/$b-serve.txt" --workers 0
  check "$b: serve reports its port" test -n "$PORT"
  # A worker killed mid-job: the second worker takes the job over and finishes it.
  local j1; j1=$(submit_train 8)
  check "$b: a job is queued" grep -q '"status":"queued"' <(job "$j1")
  "$TML" worker --lease 2 --workspace "$WS" 2> "$WORK/$b-w1.txt" &
  local w1=$!; pids+=("$w1")
  check "$b: the first worker starts the job" wait_status "$j1" running 60
  check "$b: the job reports its first epoch" wait_event "$j1" epoch 120
  kill -9 "$w1"
  wait "$w1" 2> /dev/null
  check "$b: the first worker had the job" grep -q "job $j1 (train): running" "$WORK/$b-w1.txt"
  "$TML" worker --lease 2 --workspace "$WS" 2> "$WORK/$b-w2.txt" &
  local w2=$!; pids+=("$w2")
  wait_status "$j1" done 300
  local final; final=$(job "$j1")
  check "$b: the second worker finished the killed worker's job" grep -q '"status":"done"' <<< "$final"
  check "$b: it was the second attempt" grep -q '"attempts":2' <<< "$final"
  check "$b: the job's events say it was queued again" grep -q "stopped renewing its lease; queued again" \
    <(api "http://127.0.0.1:$PORT/api/jobs/$j1/events")
  check "$b: the job's events carry the epochs" grep -q '"type":"epoch"' \
    <(api "http://127.0.0.1:$PORT/api/jobs/$j1/events")
  check "$b: the result names the training run" grep -q '"run"' <<< "$final"
  # Cancel a running job through the API.
  local j2; j2=$(submit_train 40)
  wait_status "$j2" running 60
  wait_event "$j2" epoch 120
  api -X POST -d '' "http://127.0.0.1:$PORT/api/jobs/$j2/cancel" > /dev/null
  check "$b: a cancelled running job ends as cancelled within 30 s" wait_status "$j2" cancelled 30
  check "$b: a POST without a length is told what to send" grep -q "send a Content-Length header" \
    <(api -X POST "http://127.0.0.1:$PORT/api/jobs/$j2/cancel")
  check "$b: the worker says so" grep -q "job $j2 (train): cancelled" "$WORK/$b-w2.txt"
  # SIGTERM to the worker in the middle of a job: it exits promptly, the job is queued.
  local j3; j3=$(submit_train 40)
  wait_status "$j3" running 60
  wait_event "$j3" epoch 120
  kill -TERM "$w2"
  check "$b: a worker stops within 10 s of SIGTERM, mid-job" exits_within "$w2" 10
  check "$b: its job is queued again, the attempt not spent" \
    grep -q '"attempts":0,.*"status":"queued"\|"status":"queued".*"attempts":0' <(job "$j3")
  # SIGTERM to a serve with an in-process worker that runs the job: the same.
  local api_port=$PORT
  start_serve "$WORK/$b-serve2.txt" --workers 1
  local s2=$SERVE_PID
  PORT=$api_port
  wait_status "$j3" running 60
  # Its second run's events: wait for an epoch after the "queued again" event.
  for _ in $(seq 600); do
    api "http://127.0.0.1:$PORT/api/jobs/$j3/events" | tr '{' '\n' | sed -n '/queued again/,$p' |
      grep -q '"type":"epoch"' && break
    sleep 0.2
  done
  kill -TERM "$s2"
  check "$b: serve stops within 10 s of SIGTERM while its worker runs a job" exits_within "$s2" 10
  check "$b: the job is queued again" wait_status "$j3" queued 5
  check "$b: its events say why" grep -q "stopped; queued again" \
    <(api "http://127.0.0.1:$PORT/api/jobs/$j3/events")
  api -X POST -d '' "http://127.0.0.1:$PORT/api/jobs/$j3/cancel" > /dev/null
  check "$b: a queued job is cancelled at once" wait_status "$j3" cancelled 5
  kill -TERM "$SERVE_PID" 2> /dev/null
}

TOKEN=$("$TML" token create ci --workspace "$WORK/refusal" 2> /dev/null)
"$TML" serve --no-auth --host 0.0.0.0 --port 0 --workspace "$WORK/refusal" 2> "$WORK/err.txt"; rc=$?
check "--no-auth is refused off loopback" test "$rc" -ne 0
check "the refusal says why" grep -q "loopback" "$WORK/err.txt"

scenario sqlite
if pg_start; then
  TINYMLAAS_DB=$(pg_new_db tml_serve_test)
  export TINYMLAAS_DB
  check "a PostgreSQL database for the process test" test -n "$TINYMLAAS_DB"
  scenario postgres
  unset TINYMLAAS_DB
else
  echo "skip postgres: $PG_WHY"
fi
echo "serve: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
