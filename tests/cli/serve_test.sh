#!/usr/bin/env bash
# The control plane as processes: `token create`, `serve` (queue only), two `worker`
# processes; the first is killed (-9) while it runs a job, the second takes the job
# over when the lease runs out and finishes it. Usage: serve_test.sh TINYMLAAS
set -u
TML="$1"
WORK=$(mktemp -d)
pids=()
trap 'kill -9 "${pids[@]}" 2>/dev/null; rm -rf "$WORK"' EXIT
pass=0; fail=0
check() {  # check NAME CONDITION-COMMAND...
  local name="$1"; shift
  if "$@"; then pass=$((pass + 1)); echo "ok   $name"; else fail=$((fail + 1)); echo "FAIL $name"; fi
}
FM=/usr/share/datasets/fashion-mnist
WS="$WORK/ws"
TOKEN=$("$TML" token create ci --workspace "$WS" 2> /dev/null)
check "token create prints a 64-hex token" grep -Eq '^[0-9a-f]{64}$' <<< "$TOKEN"
"$TML" serve --no-auth --host 0.0.0.0 --port 0 --workspace "$WS" 2> "$WORK/err.txt"; rc=$?
check "--no-auth is refused off loopback" test "$rc" -ne 0
check "the refusal says why" grep -q "loopback" "$WORK/err.txt"
"$TML" data import fm --workspace "$WS" --idx "$FM/t10k-images-idx3-ubyte.gz" \
  "$FM/t10k-labels-idx1-ubyte.gz" > /dev/null 2>&1
"$TML" serve --port 0 --workers 0 --workspace "$WS" > "$WORK/serve.txt" 2>&1 &
pids+=($!)
for _ in $(seq 50); do grep -q "^serving" "$WORK/serve.txt" && break; sleep 0.1; done
PORT=$(sed -n 's|^serving http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$WORK/serve.txt")
check "serve reports its port" test -n "$PORT"
api() { curl -s -H "Authorization: Bearer $TOKEN" "$@"; }
job=$(api -H 'Content-Type: application/json' -d '{"kind": "train", "params":
  {"spec": "'"$(dirname "$0")"'/../../examples/models/tiny_cnn.yaml", "data": "fm", "epochs": 4, "batch": 64}}' \
  "http://127.0.0.1:$PORT/api/jobs")
check "a job is queued" grep -q '"status":"queued"' <<< "$job"
"$TML" worker --lease 2 --workspace "$WS" 2> "$WORK/w1.txt" &
w1=$!; pids+=($w1)
for _ in $(seq 100); do api "http://127.0.0.1:$PORT/api/jobs/1" | grep -q '"status":"running"' && break; sleep 0.1; done
sleep 1
kill -9 "$w1"
check "the first worker had the job" grep -q "job 1 (train): running" "$WORK/w1.txt"
"$TML" worker --lease 2 --workspace "$WS" 2> "$WORK/w2.txt" &
pids+=($!)
for _ in $(seq 300); do api "http://127.0.0.1:$PORT/api/jobs/1" | grep -q '"status":"done"' && break; sleep 0.2; done
final=$(api "http://127.0.0.1:$PORT/api/jobs/1")
check "the second worker finished the killed worker's job" grep -q '"status":"done"' <<< "$final"
check "it was the second attempt" grep -q '"attempts":2' <<< "$final"
check "the job's events say it was queued again" grep -q "stopped renewing its lease; queued again" \
  <(api "http://127.0.0.1:$PORT/api/jobs/1/events")
check "the job's events carry the epochs" grep -q '"type":"epoch"' \
  <(api "http://127.0.0.1:$PORT/api/jobs/1/events")
check "the result names the training run" grep -q '"run"' <<< "$final"
echo "serve: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
