#!/usr/bin/env bash
# The demo: the compiler core end to end on example models, then the lifecycle on
# Fashion-MNIST as a pipeline (examples/fashion-mnist.yaml: import, train, quantize,
# compile for the M4, evaluate on the emulated board, HTML report), then the fleet
# scenario (scripts/fleet-demo.sh, docs/fleet-scenario.md): the model deployed over the
# air to emulated boards through a gateway agent and a local MQTT broker, fleet operations
# (scripts/fleet-ops-demo.sh), and splitting (docs/split.md): the int8 model's cuts across
# MCU -> gateway -> cloud and a cascade of a tiny MLP and the CNN. It generates the
# MLPerf Tiny DS-CNN keyword-spotting architecture (seeded weights) as ONNX,
# and, when ../shared/models is present, also takes the published int8 TFLite
# model; each is profiled, compiled to C, verified bit-exact against the
# reference interpreter on the host and on an emulated Cortex-M4 (QEMU),
# profiled on that board and exported. Results land in out/demo/.
set -euo pipefail
BUILD="${1:-build}"
TML="$BUILD/tinymlaas"
OUT="out/demo"
rm -rf "$OUT"
mkdir -p "$OUT"

step() { printf '\n==> %s\n' "$*"; }

step "Generate the DS-CNN keyword-spotting architecture as ONNX"
"$TML" zoo ds_cnn_kws -o "$OUT/ds_cnn_kws.onnx"

models=("$OUT/ds_cnn_kws.onnx")
if [ -f ../shared/models/kws_ref_model.tflite ]; then
  models+=(../shared/models/kws_ref_model.tflite)
else
  echo "(../shared/models is absent: the published int8 model is left out)"
fi

for m in "${models[@]}"; do
  name=$(basename "${m%.*}")
  step "Profile $name: MACs, weights, arena plan"
  "$TML" profile "$m" | tee "$OUT/$name.profile.txt" | tail -5
  "$TML" profile "$m" --json > "$OUT/$name.profile.json"
  step "Compile $name to C99 and build the host test executable"
  "$TML" compile "$m" --target host -o "$OUT/${name}_c" --name "$(echo "$name" | tr -c 'a-zA-Z0-9_\n' '_')" \
    > "$OUT/$name.compile.txt"
  head -3 "$OUT/$name.compile.txt"
  step "Verify $name: generated C vs reference interpreter, 100 random inputs"
  "$TML" verify "$m" --inputs 100 | tee "$OUT/$name.verify.txt"
  step "Run $name on an emulated Cortex-M4 (QEMU): bit-exactness and exact instruction counts"
  "$TML" verify "$m" --target cortex-m4 --inputs 20 | tee "$OUT/$name.verify-cortex-m4.txt"
  "$TML" profile "$m" --target cortex-m4 > "$OUT/$name.profile-cortex-m4.txt"
  tail -5 "$OUT/$name.profile-cortex-m4.txt"
  step "Export $name to ONNX"
  "$TML" export "$m" -o "$OUT/$name.exported.onnx"
done

# The lifecycle on real data, as a pipeline: examples/fashion-mnist.yaml imports Fashion-MNIST
# (Debian's dataset-fashion-mnist) into a fresh workspace, trains a tiny CNN, quantizes it,
# builds it for the Cortex-M4 and evaluates 1000 test images on the emulated board.
WS="$OUT/workspace"
step "Run the lifecycle pipeline examples/fashion-mnist.yaml (workspace $WS)"
"$TML" run examples/fashion-mnist.yaml --workspace "$WS" | tee "$OUT/pipeline.txt"
step "Run it again: every step comes from the cache"
start=$(date +%s%N)
"$TML" run examples/fashion-mnist.yaml --workspace "$WS" | tee "$OUT/pipeline-again.txt" | tail -2
echo "second run: $(( ($(date +%s%N) - start) / 1000000 )) ms"
step "Lineage of the int8 model: from the dataset version to the on-device evaluation"
int8=$(sed -n 's/^  int8.model = //p' "$OUT/pipeline.txt")
"$TML" lineage "$int8" --workspace "$WS" | tee "$OUT/lineage.txt"
report=$(sed -n 's/^report: //p' "$OUT/pipeline.txt")

# The fleet (docs/fleet-scenario.md): version 2 of the model, then three emulated boards,
# a gateway agent and a local broker; deployments, refusals, a power cut, lineage.
step "Version 2 of the model: examples/fashion-mnist-v2.yaml (percentile calibration)"
"$TML" run examples/fashion-mnist-v2.yaml --workspace "$WS" --no-report | tee "$OUT/pipeline-v2.txt" | tail -2
v2=$(sed -n 's/^  int8.model = //p' "$OUT/pipeline-v2.txt")
data=$(sed -n 's/^  data.dataset = //p' "$OUT/pipeline.txt")
bash scripts/fleet-demo.sh "$BUILD" "$OUT" "$WS" "$int8" "$v2" "$data"
# Fleet operations (docs/fleet-scenario.md, part 2): four boards and a gateway; staged
# rollouts, a shadow halt and rollback, drift -> capture -> retrain -> v4.
v2_float=$(sed -n 's/^  float.model = //p' "$OUT/pipeline-v2.txt")
bash scripts/fleet-ops-demo.sh "$BUILD" "$OUT" "$WS" "$int8" "$v2" "$v2_float" "$data"

# Splitting (docs/split.md): the int8 model across the example chain MCU -> gateway ->
# cloud, each layer measured on the emulated Cortex-M4 and timed on this host.
step "Split the int8 model across examples/chains/mcu-gateway-cloud.yaml (best 15 of all cuts)"
"$TML" split "$int8" --chain examples/chains/mcu-gateway-cloud.yaml --out "$OUT/split" \
  --work-dir "$OUT/split/work" --top 15 | tee "$OUT/split.txt"
"$TML" split "$int8" --chain examples/chains/mcu-gateway-cloud.yaml --objective device-energy \
  --out "$OUT/split-device-energy" --top 5 | tee "$OUT/split-device-energy.txt"
step "A cascade: a tiny MLP on the emulated M4 answers when sure, the pipeline's CNN in the cloud takes the rest"
fm=$(sed -n 's/^  data.dataset = //p' "$OUT/pipeline.txt")
float=$(sed -n 's/^  float.model = //p' "$OUT/pipeline.txt")
"$TML" train --model examples/models/tiny_mlp.yaml --data "$fm" -o "$OUT/tiny_mlp.onnx" \
  --epochs 2 --batch 128 --lr 0.003 --workspace "$WS" | tail -1
"$TML" quantize "$OUT/tiny_mlp.onnx" --calibration "$fm@train" -o "$OUT/tiny_mlp_int8.onnx" \
  --workspace "$WS" > "$OUT/tiny_mlp_int8.txt"
echo "quantized: $OUT/tiny_mlp_int8.onnx (per-layer SQNR in $OUT/tiny_mlp_int8.txt)"
"$TML" split --cascade "$OUT/tiny_mlp_int8.onnx" "$float" --chain examples/chains/mcu-gateway-cloud.yaml \
  --data "$fm@test" --samples 1000 --workspace "$WS" | tee "$OUT/cascade.txt"

# Keywords on raw audio (docs/frontends.md): espeak-ng voices, the MLPerf KWS front end
# carried by the model, int8 on the emulated Cortex-M4 fed raw samples.
step "Keyword spotting: examples/keywords.yaml (synthesized speech, DS-CNN behind the MFCC front end)"
"$TML" run examples/keywords.yaml --workspace "$WS" | tee "$OUT/keywords.txt" | tail -12
kws=$(sed -n 's/^  int8.model = //p' "$OUT/keywords.txt")
"$TML" frontend show "$kws" | tee "$OUT/keywords-frontend.txt"
"$TML" verify "$kws" --target cortex-m4 --inputs 3 | tee "$OUT/keywords.verify-cortex-m4.txt"
kwdata=$(sed -n 's/^  data.dataset = //p' "$OUT/keywords.txt")
step "Streaming on the emulated Cortex-M4: the test voices' clips in a row, as from a microphone"
"$TML" stream "$kws" --data "$kwdata@test" --words 40 --target cortex-m4 --workspace "$WS" \
  | tee "$OUT/keywords-stream.txt" | tail -4

cat <<TXT

Demo finished. Look at:
  $report
                         the pipeline's report: training curves, confusion matrix, per-layer
                         SQNR, per-layer instructions on the Cortex-M4, fit verdict, lineage
  $OUT/pipeline.txt      the pipeline's outputs; $OUT/lineage.txt the int8 model's lineage
  $OUT/split.txt         the int8 model's cuts across MCU -> gateway -> cloud (per-node time,
                         link bytes and time, energy); $OUT/split/ the sub-models, partition.json;
                         $OUT/cascade.txt accuracy / offload / latency / energy per threshold
  $OUT/keywords.txt      keyword spotting from synthesized voices: accuracy on held-out voices
                         (host and emulated Cortex-M4, which computes the MFCCs itself);
                         $OUT/keywords-stream.txt the board's detections on a stream, scored
  $OUT/fleet/            the fleet scenario: registry listings, deployments and refusals,
                         devices' lineage (show-m4-1.txt), agent, boards and broker logs
  $OUT/fleet-ops/        fleet operations: staged rollouts (rollout-v2.txt), the shadow halt
                         (rollout-v3.txt), drift and its alert, v4's lineage to the samples
  $OUT/*.profile.txt     per-layer MACs, weight bytes, arena offsets, totals
  $OUT/*.verify*.txt     bit-exactness of the generated C (host and emulated Cortex-M4)
  $OUT/*-cortex-m4.txt   instructions per layer, flash, RAM and fit on the Cortex-M4 board
  $OUT/*_c/              generated C: model header, schedule, weights, kernels
  $OUT/*.exported.onnx   the models as ONNX (open them in any ONNX viewer)
  $OUT/workspace/        the workspace: meta.db (datasets, runs, steps, artifacts), blobs/,
                         artifacts/ (models, firmware), reports/
The dashboard on the demo's workspace (datasets, training curves, squeeze, compile, lineage,
the fleet, rollouts and drift):
  $TML serve --workspace $WS --no-auth
  then open http://127.0.0.1:8080/ (Ctrl-C stops it)
More: build/tinymlaas run examples/sweep-cortex-m4.yaml (3 models x 2 squeeze configs on the
Cortex-M4: results table, Pareto front, which model fits and which is best).
TXT
