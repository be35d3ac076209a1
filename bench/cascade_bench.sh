#!/usr/bin/env bash
# Cascade on Fashion-MNIST (`make bench-cascade`): tiny_mlp (int8) on the emulated
# Cortex-M4 answers when its top score reaches the threshold, tiny_cnn (float) in the
# cloud takes the rest, over examples/chains/mcu-gateway-cloud.yaml, on 2,000 test images.
# Usage: cascade_bench.sh BUILD_DIR [WORKSPACE]
set -euo pipefail
BUILD=${1:-build}
WS=${2:-$(mktemp -d)/ws}
TML="$BUILD/tinymlaas"
"$TML" run bench/cascade-fashion.yaml --workspace "$WS" --no-report > "$WS.pipeline.txt"
small=$(sed -n 's/^  small.model = //p' "$WS.pipeline.txt")
big=$(sed -n 's/^  big.model = //p' "$WS.pipeline.txt")
data=$(sed -n 's/^  data.dataset = //p' "$WS.pipeline.txt")
"$TML" split --cascade "$small" "$big" --chain examples/chains/mcu-gateway-cloud.yaml \
  --data "$data@test" --samples 2000 --workspace "$WS" \
  --thresholds 0,0.3,0.5,0.6,0.7,0.8,0.9,0.95,0.99,1.01
