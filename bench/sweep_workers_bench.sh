#!/usr/bin/env bash
# A six-cell sweep (one model x three squeeze configs x two boards) submitted as one
# pipeline job to `serve` on PostgreSQL, run by one and then by two `tinymlaas worker`
# processes: the cells are jobs of their own, so a second worker takes half of them.
# Each run starts from an empty workspace and database (nothing cached). Prints the
# wall time of each and the ratio.
# Usage: bench/sweep_workers_bench.sh BUILD_DIR
set -euo pipefail
TML="$(cd "$1" && pwd)/tinymlaas"
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../tests/cli/pg_server.sh
source "$ROOT/tests/cli/pg_server.sh"
WORK=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; pg_stop; rm -rf "$WORK"' EXIT
pg_start || { echo "bench needs PostgreSQL: $PG_WHY"; exit 1; }
FM=/usr/share/datasets/fashion-mnist
YAML=$(cat <<Y
name: six-cells
steps:
  - name: data
    component: dataset
    with: {dataset: fm, idx: [$FM/t10k-images-idx3-ubyte.gz, $FM/t10k-labels-idx1-ubyte.gz]}
sweep:
  data: "\${data.dataset}"
  models: [$ROOT/examples/models/tiny_cnn.yaml]
  train: {epochs: 1, max_steps: 50, batch: 64}
  squeeze: [{name: minmax}, {name: mse, method: mse}, {name: pct, method: percentile}]
  targets: [cortex-m4, cortex-m7]
  samples: 200
  on_device: true
Y
)
BODY=$(python3 -c 'import json,sys; print(json.dumps({"kind": "pipeline", "params": {"yaml": sys.argv[1]}}))' "$YAML")

run() {  # run WORKERS: prints the seconds from submission to the end of the job
  local n="$1" ws="$WORK/ws$1" log="$WORK/serve$1.txt"
  export TINYMLAAS_DB; TINYMLAAS_DB=$(pg_new_db "sweep$n")
  local token; token=$("$TML" token create bench --workspace "$ws" 2> /dev/null)
  "$TML" serve --port 0 --workspace "$ws" --workers 0 > "$log" 2>&1 &
  local serve=$!; pids+=("$serve")
  for _ in $(seq 100); do grep -q "^serving" "$log" && break; sleep 0.1; done
  local port; port=$(sed -n 's|^serving http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$log")
  local workers=()
  for i in $(seq "$n"); do
    "$TML" worker --workspace "$ws" 2> "$WORK/worker$n-$i.txt" &
    workers+=($!); pids+=($!)
  done
  local t0; t0=$(date +%s%N)
  local id; id=$(curl -s -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d "$BODY" "http://127.0.0.1:$port/api/jobs" | sed -n 's/.*"id":\([0-9]*\).*/\1/p')
  local status=""
  for _ in $(seq 6000); do
    status=$(curl -s -H "Authorization: Bearer $token" "http://127.0.0.1:$port/api/jobs/$id" |
      sed -n 's/.*"status":"\([a-z]*\)".*/\1/p')
    [ "$status" = done ] || [ "$status" = failed ] && break
    sleep 0.2
  done
  local secs; secs=$(python3 -c "print(f'{($(date +%s%N) - $t0) / 1e9:.1f}')")
  [ "$status" = done ] || { echo "the sweep job ended $status"; tail -20 "$WORK"/worker"$n"-*.txt; exit 1; }
  for i in $(seq "$n"); do
    echo "  worker $i ran $(grep -c ': running$' "$WORK/worker$n-$i.txt") jobs" >&2
  done
  kill "${workers[@]}" "$serve"; wait "${workers[@]}" "$serve" 2> /dev/null || true
  echo "$secs"
}

echo "six-cell sweep (tiny_cnn x {minmax, mse, percentile} x {cortex-m4, cortex-m7}), PostgreSQL"
one=$(run 1); echo "1 worker:  $one s"
two=$(run 2); echo "2 workers: $two s"
python3 -c "print(f'speed-up with a second worker: {$one / $two:.2f}x')"
