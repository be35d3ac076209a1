#!/usr/bin/env bash
# Start-up cost of the command line tool: median wall time of --help, inspect, profile
# and an unchanged (fully cached) pipeline re-run, each run N times (default 11).
# Usage: bench/startup_bench.sh BUILD_DIR [N]
set -euo pipefail
TML="$1/tinymlaas"; N="${2:-11}"
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
MODEL="$ROOT/../shared/models/kws_ref_model.tflite"
[ -f "$MODEL" ] || { "$TML" zoo ds_cnn_kws --int8 -o "$WORK/kws.onnx" > /dev/null; MODEL="$WORK/kws.onnx"; }
FM=/usr/share/datasets/fashion-mnist
cat > "$WORK/pipe.yaml" <<YAML
name: startup
steps:
  - name: data
    component: dataset
    with: {dataset: fm, idx: [$FM/t10k-images-idx3-ubyte.gz, $FM/t10k-labels-idx1-ubyte.gz]}
  - name: float
    component: train
    with: {spec: $ROOT/examples/models/tiny_cnn.yaml, data: "\${data.dataset}", epochs: 1, max_steps: 10}
  - name: int8
    component: quantize
    with: {model: "\${float.model}", calibration: "\${data.dataset}", samples: 50}
  - name: fw
    component: compile
    with: {model: "\${int8.model}", target: cortex-m4}
  - name: acc
    component: evaluate
    with: {model: "\${int8.model}", data: "\${data.dataset}@test", samples: 200}
YAML
"$TML" run "$WORK/pipe.yaml" --workspace "$WORK/ws" > /dev/null 2>&1

median_ms() {  # median_ms COMMAND...: runs it N times, prints the median in ms
  local times=()
  for _ in $(seq "$N"); do
    local t0; t0=$(date +%s%N)
    "$@" > /dev/null 2>&1
    times+=($(( ($(date +%s%N) - t0) / 1000 )))
  done
  printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (N + 1) / 2 ))p" | awk '{printf "%.1f", $1 / 1000}'
}
printf '%-34s %10s\n' "command ($N runs)" "median ms"
printf '%-34s %10s\n' "tinymlaas --help" "$(median_ms "$TML" --help)"
printf '%-34s %10s\n' "tinymlaas inspect $(basename "$MODEL")" "$(median_ms "$TML" inspect "$MODEL")"
printf '%-34s %10s\n' "tinymlaas profile $(basename "$MODEL")" "$(median_ms "$TML" profile "$MODEL")"
printf '%-34s %10s\n' "tinymlaas run (5 steps, all cached)" \
  "$(median_ms "$TML" run "$WORK/pipe.yaml" --workspace "$WORK/ws")"
